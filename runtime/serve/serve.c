/* serve.c — `serve`: options, start, and the signal that ends it.  SIGTERM,
 * SIGINT and SIGHUP are blocked in every thread and taken by sigwait here, so
 * no handler runs in the middle of libmicrohttpd or the model: the server
 * stops accepting, finishes what is in flight, and exits 0. */
#include "runtime/serve/serve.h"

#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runtime/serve/batcher.h"
#include "runtime/serve/http.h"
#include "runtime/serve/server.h"

static void usage(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s serve [options]   — an Open Inference Protocol (KServe v2) HTTP server\n"
            "  --host H           address to listen on (default 127.0.0.1: loopback only)\n"
            "  --port P           port (default 8000; 0: any free port, printed at start)\n"
            "  --threads N        threads computing the model (default: one per core)\n"
            "  --http-threads N   threads serving connections (default 4)\n"
            "  --decode-threads N threads decoding and preprocessing images (default: one per core)\n"
            "  --max-batch B      images run together, at most the compiled batch (default: the compiled batch)\n"
            "  --max-delay-ms D   how long a request waits for others to batch with (default 5)\n"
            "  --queue Q          requests waiting for the model; more get 503 + Retry-After (default 64)\n"
            "  --max-body BYTES   larger request bodies get 413 (default 67108864)\n"
            "  --max-pixels N     larger images are refused (default 100000000)\n"
            "  --timeout S        idle connections are closed after S seconds (default 30)\n"
            "  --drain-timeout S  on SIGTERM, how long in-flight requests may take (default 30)\n"
            "  --token-file F     require 'Authorization: Bearer TOKEN' (F holds the token) on all but the\n"
            "                     health routes\n"
            "  --tls-cert C --tls-key K   serve HTTPS (PEM files)\n"
            "routes: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/1][/ready],\n"
            "  /metrics (Prometheus); POST /v2/models/NAME/infer (v2 JSON or binary tensors),\n"
            "  /v2/models/NAME/classify and /features (a JPEG/PNG body, or multipart/form-data with\n"
            "  several; ?tta=flip&top=K&res=R,R&merge=sum|mean; features: &member=K)\n"
            "one JSON access-log line per request on stderr; SIGTERM drains and exits 0\n",
            prog);
}

static int int_opt(const char *prog, const char *name, const char *v, long long lo, long long hi, long long *out) {
    char *end;
    const long long x = strtoll(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "%s serve: %s '%s': expected an integer from %lld to %lld\n", prog, name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse(const char *prog, int argc, char **argv, ServeOptions *o, double *drain) {
    long long ncpu = sysconf(_SC_NPROCESSORS_ONLN), port = 8000, http = 4, decode = ncpu > 0 ? ncpu : 1, batch = 0;
    long long delay = 5, queue = 64, body = 64LL << 20, pixels = 0, timeout = 30, drain_s = 30;
    const struct {
        const char *name;
        long long lo, hi, *v;
    } ints[] = {{"--port", 0, 65535, &port},
                {"--http-threads", 1, 256, &http},
                {"--decode-threads", 1, NC_LOADER_MAX_THREADS, &decode},
                {"--max-batch", 1, 1 << 20, &batch},
                {"--max-delay-ms", 0, 60000, &delay},
                {"--queue", 1, 1 << 20, &queue},
                {"--max-body", 1024, 1LL << 34, &body},
                {"--max-pixels", 1, 1LL << 40, &pixels},
                {"--timeout", 1, 3600, &timeout},
                {"--drain-timeout", 0, 3600, &drain_s}};
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, prog);
            exit(0);
        }
        const char **str = !strcmp(a, "--host")         ? &o->host
                           : !strcmp(a, "--token-file") ? &o->token_file
                           : !strcmp(a, "--tls-cert")   ? &o->tls_cert
                           : !strcmp(a, "--tls-key")    ? &o->tls_key
                                                        : NULL;
        int k = 0;
        while (k < (int)(sizeof ints / sizeof ints[0]) && strcmp(a, ints[k].name)) k++;
        if (!v || (!str && k == (int)(sizeof ints / sizeof ints[0]))) {
            fprintf(stderr, "%s serve: unknown or incomplete option '%s' (%s serve --help)\n", prog, a, prog);
            return -1;
        }
        i++;
        if (str)
            *str = v;
        else if (int_opt(prog, a, v, ints[k].lo, ints[k].hi, ints[k].v))
            return -1;
    }
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "%s serve: --tls-cert and --tls-key go together\n", prog);
        return -1;
    }
    o->port = (int)port, o->http_threads = (int)http, o->decode_threads = (int)decode, o->max_batch = (int)batch;
    o->max_delay_ms = (int)delay, o->queue = (int)queue, o->max_body = body, o->max_pixels = pixels;
    o->timeout_s = (int)timeout;
    *drain = (double)drain_s;
    return 0;
}

int cmd_serve(const NcBundle *b, const char *prog, int argc, char **argv) {
    static Server s; /* one per process; the HTTP threads reach it through libmicrohttpd's closure */
    double drain;
    NcError e;
    memset(&s, 0, sizeof s);
    s.prog = prog, s.b = b;
    if (parse(prog, argc, argv, &s.o, &drain)) return 2;
    s.o.compute_threads = omp_get_max_threads();
    if (s.o.token_file && token_load(&s.token, s.o.token_file, &e)) {
        fprintf(stderr, "%s serve: %s\n", prog, e.msg);
        return 2;
    }
    if (engine_open(&s.base, b, NULL, 0, 0, NULL, &e)) {
        fprintf(stderr, "%s serve: %s\n", prog, e.msg);
        token_free(&s.token);
        return 2;
    }
    s.batch = 1 << 30;
    for (int i = 0; i < s.base.nsel; i++) {
        const int bt = b->programs[s.base.sel[i]].h->batch;
        s.batch = bt < s.batch ? bt : s.batch;
    }
    if (s.o.max_batch > s.batch) {
        fprintf(stderr, "%s serve: --max-batch %d is over the compiled batch of %d (netc compile --batch)\n", prog,
                s.o.max_batch, s.batch);
        engine_close(&s.base);
        token_free(&s.token);
        return 2;
    }
    if (!s.o.max_batch) s.o.max_batch = s.batch;
    /* blocked before any thread starts, so every thread inherits the mask and only sigwait sees them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-response is an error return, not a death */
    metrics_init(&s.metrics);
    int rc = 0;
    if (batcher_open(&s.batcher, &s, &e) || http_start(&s, &e)) {
        fprintf(stderr, "%s serve: %s\n", prog, e.msg);
        rc = 2;
        if (s.batcher) batcher_close(s.batcher), batcher_free(s.batcher);
    } else {
        fprintf(stderr,
                "%s serve: model '%s', batch up to %d, %d compute threads, %d decode threads, %d HTTP threads\n", prog,
                b->h->model, s.o.max_batch, s.o.compute_threads, s.o.decode_threads, s.o.http_threads);
        int sig = 0;
        sigwait(&stop, &sig);
        fprintf(stderr, "%s serve: %s: refusing new requests, finishing %d in flight\n", prog, strsignal(sig),
                atomic_load(&s.in_flight));
        http_drain_and_stop(&s, drain);
        fprintf(stderr, "%s serve: stopped\n", prog);
    }
    metrics_free(&s.metrics);
    engine_close(&s.base);
    token_free(&s.token);
    return rc;
}
