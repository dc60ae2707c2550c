/* batcher.h — dynamic batching.  Requests become jobs in one queue; one
 * compute thread owns the bundle and runs the jobs that share a key (the same
 * program for tensors; the same views for images) together, up to
 * --max-batch images, the first of them waiting at most --max-delay-ms for
 * company.  Images decode on the loader's threads from the moment their job
 * is queued, overlapped with whatever is computing. */
#ifndef NETC_SERVE_BATCHER_H
#define NETC_SERVE_BATCHER_H

#include <stdint.h>

#include "runtime/image/loader.h"
#include "runtime/program/engine.h"
#include "runtime/serve/server.h"

typedef enum JobKind { JOB_TENSOR, JOB_IMAGES } JobKind;

typedef struct Job {
    JobKind kind;
    uint64_t key; /* jobs run together only with the same kind and key */
    int n;        /* images */
    /* JOB_TENSOR: n NCHW images for `program`; out: n x classes logits, n x features (if the program has them) */
    int program;
    const float *x;
    float *logits, *features;
    /* JOB_IMAGES: n encoded images decoded into bufs[t] (the base engine's transforms), run through `view` */
    Engine view;
    const uint8_t *const *data;
    const size_t *lens;
    const char *const *names;
    float *bufs[NC_LOADER_MAX_TRANSFORMS];
    NcImageResult *results;
    float *scores, *feats; /* out: n x classes; n x view.nfeatures when feats is set */
    /* filled by the batcher */
    NcImageBatch *decode;
    double queued;
    int batch_images;           /* how many images ran in the job's batch */
    void (*done)(struct Job *); /* called on the compute thread when the outputs are written */
    void *ctx;
    struct Job *next;
} Job;

int batcher_open(Batcher **out, Server *s, NcError *e);
/* Queues the job; -1 when --queue jobs are already waiting (or the batcher stopped): answer 503. */
int batcher_submit(Batcher *bt, Job *j);
int batcher_depth(Batcher *bt);
/* 1 while a job is queued or computing. */
int batcher_busy(Batcher *bt);
/* Stops the compute thread once the queue is empty, and the loader; later
 * submissions get -1.  batcher_free once nothing can submit any more. */
void batcher_close(Batcher *bt);
void batcher_free(Batcher *bt);

#endif
