/* http.c — a request's life on libmicrohttpd.  The daemon polls with epoll on
 * a small pool of threads; a request that needs the model is suspended
 * (MHD_suspend_connection) while its job waits and computes, so no HTTP thread
 * ever blocks on the model, a slow client or a slow decode.  A request is
 * answered once, logged once and counted once, when libmicrohttpd says it is
 * complete (or abandoned: the client went away, a timeout). */
#include "runtime/serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/serve/routes.h"
#include "runtime/support/json.h"

void http_reply(Req *r, int status, const char *content_type, char *body, size_t len, const char *const *extra) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) nc_out_of_memory((double)len);
    if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (int i = 0; extra && extra[i]; i += 2) MHD_add_response_header(resp, extra[i], extra[i + 1]);
    /* while draining, a keep-alive connection must not carry further requests */
    if (atomic_load(&r->s->draining)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (MHD_queue_response(r->conn, (unsigned)status, resp) != MHD_YES)
        fprintf(stderr, "%s serve: could not queue a %d response for %s\n", r->s->prog, status, r->url);
    MHD_destroy_response(resp);
    r->status = status;
    r->bytes_out = len;
}

void http_error(Req *r, int status, const char *fmt, ...) {
    char msg[NC_ERRMAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *q = nc_json_quote(msg, strlen(msg));
    if (!q) q = nc_strdup("\"(the message was not valid UTF-8)\"");
    char *body = nc_sprintf("{\"error\": %s}", q);
    free(q);
    free(r->error);
    r->error = nc_strdup(msg);
    const char *retry[] = {"Retry-After", "1", NULL};
    const char *auth[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer", NULL};
    const char *allow[] = {MHD_HTTP_HEADER_ALLOW, r->allow ? r->allow : "GET", NULL};
    http_reply(r, status, "application/json", body, strlen(body),
               status == 503   ? retry
               : status == 401 ? auth
               : status == 405 ? allow
                               : NULL);
}

static void job_done(Job *j) { http_resume(j->ctx); }

void http_resume(Req *r) { MHD_resume_connection(r->conn); }

int http_wait_for(Req *r, Job *j) {
    r->job = j;
    j->ctx = r;
    j->done = job_done;
    r->waiting = 1;
    /* suspended before the job is queued: the compute thread may finish it and resume at once */
    MHD_suspend_connection(r->conn);
    if (batcher_submit(r->s->batcher, j)) {
        r->rejected = 1;
        MHD_resume_connection(r->conn);
        return -1;
    }
    return 0;
}

const char *http_arg(Req *r, const char *key) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(Req *r, const char *key) { return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key); }

/* multipart/form-data: every part (file or field) is one image */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                               const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size) {
    Req *r = cls;
    if (off == 0) {
        if (r->parts.len >= 256) {
            r->parts_error = 2;
            return MHD_NO;
        }
        Part p = {nc_strdup(filename ? filename : key ? key : "part"), NULL, 0, 0};
        nc_vec_push(&r->parts, p);
    }
    if (!r->parts.len) return MHD_NO;
    Part *p = &r->parts.data[r->parts.len - 1];
    if (p->len + size > p->cap) {
        p->cap = (p->len + size) * 2;
        p->data = nc_realloc(p->data, p->cap);
    }
    if (size) memcpy(p->data + p->len, data, size);
    p->len += size;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    Server *s = cls;
    Req *r = *con_cls;
    if (!r) { /* the headers are in */
        r = nc_calloc(1, sizeof *r);
        r->s = s, r->conn = c, r->t0 = nc_now(), r->member = -1, r->route = ROUTE_UNKNOWN;
        r->method = nc_strdup(method), r->url = nc_strdup(url);
        *con_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        if (route_start(r, url, method)) return MHD_YES;
        const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->o.max_body) {
            http_error(r, 413, "the body has %s bytes; this server takes at most %lld (--max-body)", cl,
                       (long long)s->o.max_body);
            return MHD_YES;
        }
        const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        if ((r->route == ROUTE_CLASSIFY || r->route == ROUTE_FEATURES) && ct &&
            !strncasecmp(ct, "multipart/form-data", 19)) {
            r->pp = MHD_create_post_processor(c, 64 * 1024, on_part, r);
            if (!r->pp) http_error(r, 400, "Content-Type '%.200s': a multipart body needs a boundary", ct);
        }
        return MHD_YES;
    }
    if (r->status) { /* answered already: what is left of the body is dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        const size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* a client trickling its body still has to finish within 4 idle timeouts */
        if (nc_now() - r->t0 > 4.0 * s->o.timeout_s) return MHD_NO;
        if (r->too_big || r->len + n > (size_t)s->o.max_body) {
            r->too_big = 1;
        } else if (r->pp) {
            r->len += n;
            if (!r->parts_error && MHD_post_process(r->pp, upload_data, n) != MHD_YES && !r->parts_error)
                r->parts_error = 1;
        } else {
            if (r->len + n > r->cap) {
                r->cap = r->len + n > 2 * r->cap ? r->len + n : 2 * r->cap;
                r->body = nc_realloc(r->body, r->cap);
            }
            memcpy(r->body + r->len, upload_data, n);
            r->len += n;
        }
        return MHD_YES;
    }
    if (r->waiting) { /* resumed: the job is done, or was never queued */
        r->waiting = 0;
        if (r->rejected)
            http_error(r, 503, "%d requests are waiting for the model already (--queue); retry later", s->o.queue);
        else
            route_finish(r);
        return MHD_YES;
    }
    if (r->too_big) {
        http_error(r, 413, "the body is over %lld bytes (--max-body)", (long long)s->o.max_body);
        return MHD_YES;
    }
    route_body(r);
    return MHD_YES;
}

static const char *ended(enum MHD_RequestTerminationCode toe) {
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "the connection timed out";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "the client closed the connection";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "the server stopped";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "reading from the client failed";
    default: return "the connection failed";
    }
}

/* One JSON line on stderr, written with one write(2) so lines from several threads never mix. */
static void access_log(Req *r, int status, double seconds, const char *why) {
    char *line = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&line, &size);
    if (!f) return;
    char when[32], addr[INET6_ADDRSTRLEN] = "-";
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
    }
    fprintf(f, "{\"time\": \"%s\", \"remote\": \"%s\", \"method\": ", when, addr);
    nc_json_put_str(f, r->method);
    fputs(", \"path\": ", f);
    nc_json_put_str(f, r->url);
    fprintf(f, ", \"route\": \"%s\", \"status\": %d, \"ms\": %.3f, \"bytes_in\": %zu, \"bytes_out\": %zu",
            route_name(r->route), status, 1e3 * seconds, r->len, r->bytes_out);
    if (r->images) fprintf(f, ", \"images\": %d, \"batch\": %d", r->images, r->job ? r->job->batch_images : 0);
    if (r->error || why) fputs(", \"error\": ", f), nc_json_put_str(f, why ? why : r->error);
    fputs("}\n", f);
    fclose(f);
    if (write(2, line, size) < 0) { /* stderr is gone: nothing better to do */
    }
    free(line);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    Server *s = cls;
    Req *r = *con_cls;
    if (!r) return;
    const char *why = ended(toe);
    const int status = why ? 499 : r->status; /* nginx's code for "the client went away" */
    const double dt = nc_now() - r->t0;
    metrics_request(&s->metrics, r->route, status, dt);
    access_log(r, status, dt, why);
    route_free(r);
    if (r->pp) MHD_destroy_post_processor(r->pp);
    for (int i = 0; i < r->parts.len; i++) free(r->parts.data[i].name), free(r->parts.data[i].data);
    free(r->parts.data);
    free(r->body);
    free(r->method);
    free(r->url);
    free(r->error);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    const Server *s = cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    fprintf(stderr, "%s serve: libmicrohttpd: %s\n", s->prog, msg);
}

int http_start(Server *s, NcError *e) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC, hints.ai_socktype = SOCK_STREAM, hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", s->o.port);
    int gai = getaddrinfo(s->o.host, port, &hints, &ai);
    if (gai) return nc_errorf(e, "--host '%s': %s", s->o.host, gai_strerror(gai));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    size_t len;
    if (s->o.tls_cert) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            freeaddrinfo(ai);
            return nc_errorf(e, "--tls-cert: this libmicrohttpd was built without TLS");
        }
        if (nc_read_file(s->o.tls_cert, &cert, &len, e) || nc_read_file(s->o.tls_key, &key, &len, e)) {
            free(cert);
            freeaddrinfo(ai);
            return nc_error_prefix(e, "TLS");
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert}, {MHD_OPTION_HTTPS_MEM_KEY, 0, key}, {MHD_OPTION_END, 0, NULL}};
    errno = 0;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, /* first, to catch all */
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.http_threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)s->o.timeout_s, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_ARRAY, cert ? tls : tls + 2, MHD_OPTION_END);
    const int err = errno;
    freeaddrinfo(ai);
    free(cert);
    free(key);
    if (!s->daemon)
        return nc_errorf(e, "cannot listen on %s port %d%s%s", s->o.host, s->o.port, err ? ": " : "",
                         err ? strerror(err) : "");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "%s serve: listening on %s://%s%s%s:%d\n", s->prog, s->o.tls_cert ? "https" : "http",
            strchr(s->o.host, ':') ? "[" : "", s->o.host, strchr(s->o.host, ':') ? "]" : "", di ? di->port : s->o.port);
    return 0;
}

void http_drain_and_stop(Server *s, double seconds) {
    atomic_store(&s->draining, 1);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon); /* no new connections; the open ones finish */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    const double until = nc_now() + seconds;
    while ((atomic_load(&s->in_flight) > 0 || batcher_busy(s->batcher)) && nc_now() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->in_flight) > 0)
        fprintf(stderr, "%s serve: %d requests still in flight after %.0f s; stopping anyway\n", s->prog,
                atomic_load(&s->in_flight), seconds);
    batcher_close(s->batcher); /* runs what is queued, resuming its connections; later jobs are refused */
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    batcher_free(s->batcher);
    s->batcher = NULL;
}
