/* server.h — the state the parts of `serve` share: the options, the bundle,
 * the engine whose views every image request runs, the batcher, metrics and
 * the HTTP daemon.  One Server per process, made by cmd_serve (serve.c). */
#ifndef NETC_SERVE_SERVER_H
#define NETC_SERVE_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "runtime/program/engine.h"
#include "runtime/bundle.h"
#include "runtime/serve/auth.h"
#include "runtime/serve/metrics.h"

typedef struct Batcher Batcher;

typedef struct ServeOptions {
    const char *host, *token_file, *tls_cert, *tls_key;
    int port, http_threads, decode_threads, compute_threads;
    int max_batch;    /* images per run; 0: the compiled batch */
    int max_delay_ms; /* how long the first request of a batch waits for others */
    int queue;        /* requests waiting for compute; more get 503 */
    int timeout_s;    /* an idle connection is closed after this */
    int64_t max_body, max_pixels;
} ServeOptions;

typedef struct Server {
    const char *prog;
    ServeOptions o;
    const NcBundle *b;
    Engine base; /* every inference program; request views are copies of it (engine.h) */
    int batch;   /* the compiled batch of every inference program (the smallest) */
    Batcher *batcher;
    Metrics metrics;
    Token token;          /* empty: no --token-file */
    atomic_int draining;  /* SIGTERM: new requests get 503, in-flight ones finish */
    atomic_int in_flight; /* requests begun and not yet completed */
    struct MHD_Daemon *daemon;
} Server;

#endif
