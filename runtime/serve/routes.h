/* routes.h — what each URL means: the KServe v2 REST API (health, metadata,
 * infer), the image routes (classify, features) and /metrics. */
#ifndef NETC_SERVE_ROUTES_H
#define NETC_SERVE_ROUTES_H

#include "runtime/serve/http.h"

/* Headers are in: find the route, check the method, the model and the token.
 * Returns 1 when it answered already (an error, or a GET), 0 when the body is
 * to be read and route_body called. */
int route_start(Req *r, const char *url, const char *method);
/* The whole body is in: answer, or queue a job (http_wait_for). */
void route_body(Req *r);
/* The job is done: answer from its outputs. */
void route_finish(Req *r);
/* Frees what route_body left in r->work. */
void route_free(Req *r);

#endif
