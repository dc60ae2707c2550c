/* http.h — the libmicrohttpd glue: a request's life (headers, body, a job
 * suspended on the batcher, the response), the access log, and the daemon's
 * start and drain.  routes.c decides what a request means. */
#ifndef NETC_SERVE_HTTP_H
#define NETC_SERVE_HTTP_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/serve/batcher.h"
#include "runtime/serve/server.h"

typedef struct Part {
    char *name; /* the part's filename, else its field name */
    uint8_t *data;
    size_t len, cap;
} Part;

typedef struct Req {
    Server *s;
    struct MHD_Connection *conn;
    double t0;
    Route route;
    char *method, *url;
    char model[128];
    int member; /* -1: the whole program (an ensemble's name); else that member */
    uint8_t *body;
    size_t len, cap;
    int too_big;
    struct MHD_PostProcessor *pp; /* multipart/form-data bodies (classify, features) */
    NC_VEC(Part) parts;
    int parts_error;
    int waiting;  /* suspended while its job computes */
    int rejected; /* the queue was full once suspended: answer 503 on resume */
    Job *job;
    void *work; /* the route's state while its job computes */
    int status;
    size_t bytes_out;
    int images;
    const char *allow; /* a 405's Allow header */
    char *error;       /* the message of an error answer, for the access log */
} Req;

/* Queue the response; `body` is malloc'd and taken over.  extra: NULL, or
 * pairs of header name and value ending with NULL. */
void http_reply(Req *r, int status, const char *content_type, char *body, size_t len, const char *const *extra);
/* {"error": "..."} with the status; the message goes to the access log too. */
void http_error(Req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Suspends the connection and queues the job; 0, or -1 after answering 503 (queue full). */
int http_wait_for(Req *r, Job *j);
/* Called by a job's `done` on the compute thread: the request's handler runs again. */
void http_resume(Req *r);
/* A query argument (NULL when absent). */
const char *http_arg(Req *r, const char *key);
const char *http_header(Req *r, const char *key);

/* Start listening (prints "PROG serve: listening on http://HOST:PORT" when ready). */
int http_start(Server *s, NcError *e);
/* Stop accepting connections; wait for requests in flight (at most `seconds`); stop. */
void http_drain_and_stop(Server *s, double seconds);

#endif
