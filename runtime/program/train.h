/* train.h — the `train` command of a training program (netc compile
 * --train): its data, its checkpoints and its loop, one file each. */
#ifndef NETC_APP_TRAIN_H
#define NETC_APP_TRAIN_H

#include "runtime/bundle.h"
#include "runtime/image/loader.h"
#include "runtime/program/files.h"
#include "runtime/train/optim.h"
#include "runtime/train/sampler.h"
#include "runtime/train/schedule.h"

int cmd_train(NcBundle *b, const char *prog, int argc, char **argv);
/* run --train: one step on X.npy with the given labels, nothing updated but
 * the BN running statistics; loss, logits, grad/<name> of every trained
 * tensor and running_mean/<bn>, running_var/<bn> into a safetensors file. */
int cmd_train_run(NcBundle *b, const char *prog, int argc, char **argv);

/* ---- the optimizer on the device (train_devopt.c) ----------------------- */

/* On a device program (runtime/device/dev_optim.h): the weights, gradients
 * and optimizer state stay on the device; each call below does its part of a
 * step there.  open: NULL in *out (0 returned) where the optimizer runs on
 * the host: a CPU program, NETC_DEV_HOST_OPTIM=1 (the host's path, for
 * comparison), a program compiled without the optimizer's kernels.  n trained
 * tensors: their parameter and gradient value ids in program ps, sizes, and
 * offsets in the optimizer state of opt_floats floats (optim.h's layout). */
typedef struct TrainDevOpt TrainDevOpt;
int train_devopt_open(TrainDevOpt **out, const NcBundle *b, int ps, int n, const int32_t *param, const int32_t *grad,
                      const int64_t *numel, const int64_t *state_at, int64_t opt_floats, NcError *e);
void train_devopt_close(TrainDevOpt *d);
/* The host's whole weights and the optimizer state to the device (the start, after --init or --resume). */
int train_devopt_upload(TrainDevOpt *d, const float *opt_state, NcError *e);
/* The global gradient norm of the step's gradients (a device reduction; torch's norm of norms, in double). */
int train_devopt_grad_norm(TrainDevOpt *d, double *total, NcError *e);
/* One update of every trained tensor, its gradient times coef (nc_dev_opt_clip_coef). */
int train_devopt_step(TrainDevOpt *d, const NcOptConfig *c, double lr, int64_t step, const int *decay, float coef,
                      NcError *e);
/* Value v of program ps (a running statistic the host updated) to the device. */
int train_devopt_put(TrainDevOpt *d, int ps, int32_t v, const float *host, int64_t numel, NcError *e);
/* The trained tensors (into params[k], the host's copies) and the optimizer state from the device. */
int train_devopt_download(TrainDevOpt *d, float *const *params, float *opt_state, NcError *e);

/* ---- data (train_data.c) ------------------------------------------------ */

/* A labelled set: a list file of "path label" lines, or a folder with one
 * sub-folder per class (sorted by name: class 0, 1, ...), as torchvision's
 * ImageFolder reads it. */
int train_data_load(FileList *l, const char *spec, const char *root, int nclasses, NcError *e);

/* ---- the batches, ahead of the step (train_feed.c) ---------------------- */

/* The seeds of a run's random draws: one per (tag, a, b), e.g. an image's
 * augmentation from (epoch, position in the epoch), a batch's Mixup from
 * (epoch, batch). */
enum { TRAIN_SEED_AUGMENT, TRAIN_SEED_MIXUP };
uint64_t train_seed(uint64_t seed, uint64_t tag, int64_t a, int64_t b);

typedef struct TrainFeedSlot {
    float *x; /* B x 3 x H x W */
    int *labels;
    const char **paths;
    uint64_t *seeds;
    NcImageResult *res;
    NcImageBatch *pending; /* queued, not yet waited for */
    int64_t epoch, batch;
    int failed;
} TrainFeedSlot;

typedef struct TrainFeed {
    NcImageLoader *ld;
    const FileList *data;
    const NcAugment *aug; /* NULL: the loader's own (eval) transform */
    NcSampler sampler;
    int K, B, nslots, head;
    int64_t per, nb, epochs, pe, pb; /* (pe, pb): the next batch to queue */
    uint64_t seed;
    int64_t *order, order_epoch;
    TrainFeedSlot *slot, *last;
    double wait_seconds; /* time train_feed_next spent waiting for the workers */
} TrainFeed;

/* Queue the batches from (epoch, batch) on, prefetch + 1 at a time. */
void train_feed_open(TrainFeed *f, NcImageLoader *ld, const FileList *data, const NcAugment *aug, NcSampler sampler,
                     int K, int B, int64_t per, int64_t epochs, uint64_t seed, int prefetch, int64_t epoch,
                     int64_t batch);
/* The next batch, in order, once decoded (NULL after the last epoch). Its
 * buffers are the caller's until the next call (or train_feed_release). */
TrainFeedSlot *train_feed_next(TrainFeed *f);
/* Done with the batch train_feed_next gave: its buffer takes the next one. */
void train_feed_release(TrainFeed *f);
void train_feed_close(TrainFeed *f);

/* ---- checkpoints and the resume state (train_ckpt.c) -------------------- */

/* What a run is at a checkpoint, besides its parameters. */
typedef struct TrainState {
    int64_t step;         /* optimizer updates done */
    int64_t epoch, batch; /* the next batch to train: batch `batch` of epoch `epoch` */
    int64_t images_seen, images_skipped, nan_skips;
    uint64_t seed;
    double best_top1; /* the best validation top-1 so far, -1 none */
    int64_t best_step;
} TrainState;

/* The tensors a checkpoint holds: every parameter of the step program, by
 * timm name (BN statistics included), and each batch norm's
 * num_batches_tracked (int64, as timm's state_dict has it), so that
 * timm's load_state_dict(strict=True) takes the file as it is. */
typedef struct TrainTensors {
    int n;
    const char **name;
    int *ndim;
    const int64_t **shape;
    float **data;
    int nbn;
    char **bn_tracked; /* "<bn>.num_batches_tracked" */
} TrainTensors;

/* OUT/ckpt-<step>.safetensors, then OUT/state-<step>.bin (optimizer state,
 * TrainState, and the checkpoint's size and checksum), both atomic; then
 * removes all but the newest `keep` pairs.  A kill at any point leaves every
 * complete pair as it was. */
int train_save(const char *dir, const TrainTensors *t, const TrainState *s, const NcOptConfig *opt,
               const float *opt_state, int64_t opt_floats, uint64_t model_id, int keep, NcError *e);
/* Also writes OUT/best.safetensors (the parameters alone). */
int train_save_best(const char *dir, const TrainTensors *t, const TrainState *s, NcError *e);
/* The newest complete pair in dir into t's buffers, opt_state and s; -1 with
 * a message if there is none or it does not fit this program. */
int train_resume(const char *dir, const TrainTensors *t, TrainState *s, NcOptKind kind, float *opt_state,
                 int64_t opt_floats, uint64_t model_id, NcError *e);
/* --init CKPT: every parameter by name from a timm-named safetensors file; a
 * classifier of another class count (first dimension) keeps its values, and
 * is reported.  Anything else missing or mis-shaped is an error. */
int train_init_from(const char *path, const TrainTensors *t, int nclasses, FILE *report, NcError *e);

#endif
