/* engine.h — images in, one answer per image out: every selected program
 * (member x resolution) runs over a chunk of preprocessed images, with flip
 * TTA; each member merges its views, then the members merge as the bundle
 * says (mean, median, vote, weighted; on logits or probabilities). */
#ifndef NETC_APP_ENGINE_H
#define NETC_APP_ENGINE_H

#include "runtime/bundle.h"
#include "runtime/image/transform.h"
#include "runtime/program/dev_exec.h"

typedef struct Engine {
    const NcBundle *b;
    int nsel, sel[NC_BUNDLE_MAX_PROGRAMS]; /* the programs that run, bundle order */
    int ntf, tf_of[NC_BUNDLE_MAX_PROGRAMS];
    NcTransform tf[NC_BUNDLE_MAX_PROGRAMS]; /* distinct preprocessings */
    int flip;                               /* --tta flip */
    int res_mean;                           /* views of a member: 0 sum (default), 1 mean */
    int logits;                             /* classify --logits: no softmax after the merge (one model: its logits) */
    int nclasses, nfeatures, feat_member;
    void *arena[NC_BUNDLE_MAX_PROGRAMS];
    float *x, *y;              /* one compiled batch of input / output */
    float *member_out;         /* scratch: one merged vector per member */
    NcDevPipe *pipe;           /* overlapped device runs (engine_overlap), or NULL */
    int slot;                  /* the pipe's slot the next run takes */
    int pending, pending_slot; /* the next chunk's first run, submitted by the last engine_run_next */
    const float *pending_in;
} Engine;

/* Run-time overrides of the models' preprocessing (0 / -1 / NULL: keep). */
typedef struct PreOverride {
    double crop_pct;
    int interp; /* -1, or NcInterp */
    const float *mean, *std;
} PreOverride;

/* res: NULL for every compiled resolution, else "448,512" (each must be
 * compiled; for an ensemble, each member runs those it has). */
int engine_open(Engine *en, const NcBundle *b, const char *res, int flip, int res_mean, const PreOverride *pre,
                NcError *e);
void engine_close(Engine *en);

/* in[t]: m images preprocessed with en->tf[t] (NCHW).  scores: m x nclasses
 * (probabilities, or vote shares for a vote ensemble; with en->logits the
 * merged values before the softmax: a single model's logits); features (may be
 * NULL): m x nfeatures of member feat_member, averaged over its views. */
void engine_run(Engine *en, float *const *in, int m, float *scores, float *features);

/* On a device program with streams (dev_exec.h's pipe; NETC_DEV_OVERLAP=0: not): engine_run's batches
 * overlapped — each batch's input prepared in pinned memory and uploaded while the device runs the one
 * before.  The same results, bit for bit. */
void engine_overlap(Engine *en);
/* engine_run, and, where next is not NULL, the chunk after this one started before this one's last batch
 * finishes: next(ctx, &in, &m) gives it (waiting for its decoding), and the following engine_run_next must
 * be called with that in and m. */
typedef void (*EngineNext)(void *ctx, float *const **in, int *m);
void engine_run_next(Engine *en, float *const *in, int m, float *scores, float *features, EngineNext next, void *ctx);

#endif
