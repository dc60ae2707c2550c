/* train.c — `PROGRAM train`: the loop around the compiled step.
 *
 * Per batch: images decoded and transformed on the loader's threads (the
 * next batch while this one computes), targets made (label smoothing), the
 * step program run (forward, loss, backward), then — unless the loss or the
 * gradient norm is not finite — gradient clipping, the optimizer on every
 * trained tensor at the schedule's rate, and the batch norms' running
 * statistics.  Per epoch: validation with the inference program (BN running
 * statistics) on the same parameters, a checkpoint.  Everything a resumed
 * run needs is in the checkpoint pair (train_ckpt.c), and every random draw
 * derives from (seed, epoch) or (seed, step), so a resumed run continues
 * bit for bit as an uninterrupted one would have. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/image/augment.h"
#include "runtime/image/loader.h"
#include "runtime/device/dev_optim_slot.h"
#include "runtime/program/dev_exec.h"
#include "runtime/program/plots.h"
#include "runtime/program/train.h"
#include "runtime/train/mixup.h"
#include "runtime/support/json.h"
#include "runtime/support/npy.h"
#include "runtime/support/safetensors.h"
#include "runtime/support/file_in.h"

static const char *help =
    "usage: %s train --data LIST|DIR --out DIR [options]\n\n"
    "Trains the compiled model (netc compile --train) on labelled images: a list of 'path label'\n"
    "lines (relative to the list's folder, or --root), or a folder with one sub-folder per class.\n"
    "Images go through the model's eval transform (resize, center crop, normalise) unless --aug\n"
    "gives the training augmentations.\n\n"
    "  --val LIST|DIR      validation set: top-1/top-5 and loss after every epoch\n"
    "  --epochs N          (default 1)      --max-steps N   stop after N updates in all\n"
    "  --opt sgd|adamw     (default sgd)    --lr X (default 0.1 sgd, 0.001 adamw)\n"
    "  --momentum M        (0.9)            --nesterov      Nesterov momentum (SGD)\n"
    "  --wd X              weight decay (default 0; biases and norm parameters never decay)\n"
    "  --betas B1,B2       AdamW (0.9,0.999) --opt-eps X  AdamW (1e-8)\n"
    "  --sched cosine|step|constant  per update (default cosine)   --min-lr X (0)\n"
    "  --warmup-epochs E   linear warm-up (default 0 epochs) from --warmup-lr X (default 1e-5, timm's)\n"
    "  --decay-epochs E, --decay-rate R   step schedule (default 30, 0.1)\n"
    "  --label-smoothing S (default 0)      --clip-grad NORM  clip the global gradient norm\n"
    "  --class-weights FILE|inverse   weighted loss: K numbers, or inverse class frequency\n"
    "  --init CKPT         start from a timm-named safetensors file (a classifier of another class\n"
    "                      count is re-initialised)\n"
    "  --resume DIR        continue the run in DIR from its newest checkpoint\n"
    "  --keep N            checkpoints kept (default 2; best.safetensors besides)\n"
    "  --save-every N      also checkpoint every N updates\n"
    "  --seed S            (default 0)      --nan-limit K  stop after K non-finite losses in a row (5)\n"
    "  --aug SPEC          training augmentations, per image from (seed, epoch, position), normalised\n"
    "                      with the model's mean and std unless the spec gives them; timm's names\n"
    "                      add items: --hflip P --vflip P --color-jitter X --aa rand-m9-mstd0.5\n"
    "                      --reprob P --remode M --train-interpolation I --scale A B --ratio A B\n"
    "                      (see below)\n"
    "  --mixup SPEC|ALPHA  CutMix / Mixup per batch as timm's Mixup, e.g. mixup=0.8,cutmix=1.0,\n"
    "                      switch_prob=0.5,prob=1,mode=batch|pair|elem,correct_lam=1,smoothing=0.1\n"
    "                      (a number alone: mixup_alpha; smoothing defaults to --label-smoothing);\n"
    "                      timm's names: --cutmix A --cutmix-minmax A B --mixup-prob P\n"
    "                      --mixup-switch-prob P --mixup-mode M; the batch must be even\n"
    "  --sampler shuffle|sequential|balanced-sqrt|balanced-inv   each epoch's images (default\n"
    "                      shuffle; balanced: drawn with replacement, classes by sqrt or inverse\n"
    "                      frequency, for the decoupled classifier re-training)\n"
    "  --workers N         decode + augment threads (default 2; --decode-threads is the same)\n"
    "  --prefetch N        batches decoded ahead of the step (default 2)\n"
    "  --worker-nice N     the workers' nice value (default 10: the step's threads come first)\n"
    "  --root DIR          --quiet (no progress bar)  --smoothing S (= --label-smoothing)\n\n"
    "Writes DIR/metrics.jsonl (a line per update and per epoch), DIR/ckpt-<step>.safetensors\n"
    "(timm's state_dict names) with DIR/state-<step>.bin, and DIR/best.safetensors; pictures:\n"
    "DIR/curves.svg (loss, learning rate, validation accuracy; redrawn every epoch, the whole run\n"
    "after --resume), and with --val the last validation's DIR/per_class.json and DIR/confusion.svg.\n"
    "Exit status: 0 done, 1 stopped (non-finite losses, interrupted: resume with --resume), 2 bad input.\n\n%s";

typedef struct Opts {
    const char *data, *val, *root, *out, *resume, *init, *class_weights, *aug, *mixup;
    char *aug_extra, *mix_extra; /* items from timm's option names */
    int64_t epochs, max_steps, save_every;
    int keep, nan_limit, decode_threads, quiet, prefetch, worker_nice;
    NcSampler sampler;
    uint64_t seed;
    double lr, warmup_epochs, warmup_lr, min_lr, decay_epochs, decay_rate, smoothing, clip;
    NcOptConfig opt;
    NcSchedKind sched;
} Opts;

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static int num(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "train: %s '%s': expected a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse(Opts *o, const char *prog, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    o->epochs = 1, o->keep = 2, o->nan_limit = 5, o->lr = -1, o->warmup_lr = 1e-5, o->decay_epochs = 30;
    o->decay_rate = 0.1, o->sched = NC_SCHED_COSINE, o->opt = nc_opt_defaults(NC_OPT_SGD);
    o->prefetch = 2, o->worker_nice = 10;
    o->opt.nesterov = 0;
    int nesterov = 0, kind_set = 0;
    double momentum = 0.9, wd = 0, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf(help, prog, nc_augment_help());
            return 1;
        }
        if (!strcmp(a, "--nesterov")) {
            nesterov = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        /* timm's two-value options: --scale A B, --ratio A B (RandomResizedCrop), --cutmix-minmax A B */
        if (!strcmp(a, "--scale") || !strcmp(a, "--ratio") || !strcmp(a, "--cutmix-minmax")) {
            if (i + 2 >= argc) {
                fprintf(stderr, "train: %s takes two values (see train --help)\n", a);
                return -1;
            }
            char **extra = a[2] == 'c' ? &o->mix_extra : &o->aug_extra;
            char *t = nc_sprintf("%s%s%s=%s:%s", *extra ? *extra : "", *extra ? "," : "",
                                 a[2] == 's'   ? "scale"
                                 : a[2] == 'r' ? "ratio"
                                               : "cutmix_minmax",
                                 argv[i + 1], argv[i + 2]);
            free(*extra), *extra = t, i += 2;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "train: unknown option or missing value: '%s' (see train --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double x = 0;
        int bad = 0;
        /* timm's train.py names: each adds an item to the --aug or --mixup spec */
        static const char *const aug_alias[][2] = {{"--hflip", "hflip"},
                                                   {"--vflip", "vflip"},
                                                   {"--color-jitter", "color_jitter"},
                                                   {"--aa", "aa"},
                                                   {"--reprob", "reprob"},
                                                   {"--remode", "remode"},
                                                   {"--train-interpolation", "train_interpolation"}};
        static const char *const mix_alias[][2] = {{"--cutmix", "cutmix"},
                                                   {"--mixup-prob", "prob"},
                                                   {"--mixup-switch-prob", "switch_prob"},
                                                   {"--mixup-mode", "mode"}};
        int aliased = 0;
        for (size_t k = 0; k < sizeof aug_alias / sizeof *aug_alias && !aliased; k++)
            if (!strcmp(a, aug_alias[k][0])) {
                char *t = nc_sprintf("%s%s%s=%s", o->aug_extra ? o->aug_extra : "", o->aug_extra ? "," : "",
                                     aug_alias[k][1], v);
                free(o->aug_extra), o->aug_extra = t, aliased = 1;
            }
        for (size_t k = 0; k < sizeof mix_alias / sizeof *mix_alias && !aliased; k++)
            if (!strcmp(a, mix_alias[k][0])) {
                char *t = nc_sprintf("%s%s%s=%s", o->mix_extra ? o->mix_extra : "", o->mix_extra ? "," : "",
                                     mix_alias[k][1], v);
                free(o->mix_extra), o->mix_extra = t, aliased = 1;
            }
        if (aliased) continue;
        if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--aug"))
            o->aug = v;
        else if (!strcmp(a, "--mixup"))
            o->mixup = v;
        else if (!strcmp(a, "--sampler")) {
            NcError se;
            if (nc_sampler_parse(v, &o->sampler, &se)) bad = 1, fprintf(stderr, "train: %s\n", se.msg);
        } else if (!strcmp(a, "--prefetch"))
            bad = num(a, v, 1, 64, &x), o->prefetch = (int)x;
        else if (!strcmp(a, "--worker-nice"))
            bad = num(a, v, 0, 19, &x), o->worker_nice = (int)x;
        else if (!strcmp(a, "--val"))
            o->val = v;
        else if (!strcmp(a, "--root"))
            o->root = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--resume"))
            o->resume = v;
        else if (!strcmp(a, "--init"))
            o->init = v;
        else if (!strcmp(a, "--class-weights"))
            o->class_weights = v;
        else if (!strcmp(a, "--epochs"))
            bad = num(a, v, 1, 1e6, &x), o->epochs = (int64_t)x;
        else if (!strcmp(a, "--max-steps"))
            bad = num(a, v, 1, 1e12, &x), o->max_steps = (int64_t)x;
        else if (!strcmp(a, "--save-every"))
            bad = num(a, v, 1, 1e12, &x), o->save_every = (int64_t)x;
        else if (!strcmp(a, "--keep"))
            bad = num(a, v, 1, 1000, &x), o->keep = (int)x;
        else if (!strcmp(a, "--nan-limit"))
            bad = num(a, v, 1, 1e6, &x), o->nan_limit = (int)x;
        else if (!strcmp(a, "--decode-threads") || !strcmp(a, "--workers"))
            bad = num(a, v, 1, 256, &x), o->decode_threads = (int)x;
        else if (!strcmp(a, "--seed"))
            bad = num(a, v, 0, 4e18, &x), o->seed = (uint64_t)x;
        else if (!strcmp(a, "--lr"))
            bad = num(a, v, 0, 1e3, &o->lr);
        else if (!strcmp(a, "--min-lr"))
            bad = num(a, v, 0, 1e3, &o->min_lr);
        else if (!strcmp(a, "--warmup-epochs"))
            bad = num(a, v, 0, 1e6, &o->warmup_epochs);
        else if (!strcmp(a, "--warmup-lr"))
            bad = num(a, v, 0, 1e3, &o->warmup_lr);
        else if (!strcmp(a, "--decay-epochs"))
            bad = num(a, v, 1e-6, 1e6, &o->decay_epochs);
        else if (!strcmp(a, "--decay-rate"))
            bad = num(a, v, 0, 1, &o->decay_rate);
        else if (!strcmp(a, "--label-smoothing") || !strcmp(a, "--smoothing"))
            bad = num(a, v, 0, 1, &o->smoothing);
        else if (!strcmp(a, "--clip-grad"))
            bad = num(a, v, 1e-12, 1e12, &o->clip);
        else if (!strcmp(a, "--momentum"))
            bad = num(a, v, 0, 1, &momentum);
        else if (!strcmp(a, "--wd"))
            bad = num(a, v, 0, 10, &wd);
        else if (!strcmp(a, "--opt-eps"))
            bad = num(a, v, 0, 1, &eps);
        else if (!strcmp(a, "--betas")) {
            char *end;
            b1 = strtod(v, &end);
            b2 = *end == ',' ? strtod(end + 1, &end) : -1;
            if (*end || !(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) {
                fprintf(stderr, "train: --betas '%s': expected B1,B2 in [0, 1)\n", v);
                bad = 1;
            }
        } else if (!strcmp(a, "--opt")) {
            kind_set = 1;
            if (!strcmp(v, "sgd"))
                o->opt.kind = NC_OPT_SGD;
            else if (!strcmp(v, "adamw"))
                o->opt.kind = NC_OPT_ADAMW;
            else
                bad = 1, fprintf(stderr, "train: --opt '%s': expected sgd or adamw\n", v);
        } else if (!strcmp(a, "--sched")) {
            if (!strcmp(v, "cosine"))
                o->sched = NC_SCHED_COSINE;
            else if (!strcmp(v, "step"))
                o->sched = NC_SCHED_STEP;
            else if (!strcmp(v, "constant"))
                o->sched = NC_SCHED_CONSTANT;
            else
                bad = 1, fprintf(stderr, "train: --sched '%s': expected cosine, step or constant\n", v);
        } else {
            fprintf(stderr, "train: unknown option '%s' (see train --help)\n", a);
            return -1;
        }
        if (bad) return -1;
    }
    (void)kind_set;
    const NcOptKind kind = o->opt.kind;
    o->opt = nc_opt_defaults(kind);
    o->opt.momentum = kind == NC_OPT_SGD ? momentum : 0, o->opt.nesterov = nesterov, o->opt.weight_decay = wd;
    o->opt.beta1 = b1, o->opt.beta2 = b2, o->opt.eps = eps;
    if (o->lr < 0) o->lr = kind == NC_OPT_SGD ? 0.1 : 1e-3;
    o->opt.lr = o->lr;
    NcError e;
    if (nc_opt_check(&o->opt, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        return -1;
    }
    if (!o->data || !o->out) {
        fprintf(stderr, "train: --data and --out are required (see train --help)\n");
        return -1;
    }
    return 0;
}

/* ---- the run -------------------------------------------------------------- */

typedef struct Run {
    NcBundle *b;
    int ps, pe; /* the step program and the inference program */
    const NcProgram *P;
    const NcTrainHeader *th;
    int B, H, W, K;
    void *arena, *eval_arena;
    TrainTensors tt;
    int ntrain;
    int *train_of;     /* per trained tensor: its index in tt */
    float **grad;      /* per trained tensor, in the arena */
    int64_t *numel;    /* per trained tensor */
    int *decay;        /* per trained tensor */
    int64_t *state_at; /* per trained tensor: offset of its optimizer state */
    float *opt_state;
    int64_t opt_floats;
    uint64_t model_id;
    float *class_weight;
    float *target, loss_grad;
    uint32_t seed_words[2];
    FILE *metrics;
    NcAugment *aug; /* --aug, else NULL */
    NcMixup mix;
    int mixing;          /* --mixup given */
    int64_t *cm;         /* the last validation's confusion matrix, K x K */
    TrainDevOpt *devopt; /* the optimizer on the device (train_devopt.c), or NULL: here */
    int host_stale;      /* devopt: the host's trained tensors and state are behind the device's */
} Run;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return h;
}

static int find_programs(Run *r, NcError *e) {
    r->ps = r->pe = -1;
    for (int i = 0; i < r->b->nprograms; i++) {
        if (r->b->programs[i].train)
            r->ps = i;
        else if (r->pe < 0)
            r->pe = i;
    }
    if (r->ps < 0) return nc_errorf(e, "this program was not compiled for training (netc compile --train)");
    r->P = &r->b->programs[r->ps];
    r->th = r->P->train;
    r->B = r->P->h->batch, r->H = r->P->h->height, r->W = r->P->h->width, r->K = r->b->h->nclasses;
    return 0;
}

/* The tensors of a checkpoint, over the program's (writable) parameters. */
static void setup_tensors(Run *r) {
    nc_bundle_own_weights(r->b);
    const NcTrainHeader *t = r->th;
    TrainTensors *tt = &r->tt;
    tt->n = (int)t->nparams;
    tt->name = nc_calloc(t->nparams + 1, sizeof(char *));
    tt->ndim = nc_calloc(t->nparams + 1, sizeof(int));
    tt->shape = nc_calloc(t->nparams + 1, sizeof(int64_t *));
    tt->data = nc_calloc(t->nparams + 1, sizeof(float *));
    r->train_of = nc_calloc(t->nparams + 1, sizeof(int));
    r->grad = nc_calloc(t->nparams + 1, sizeof(float *));
    r->numel = nc_calloc(t->nparams + 1, sizeof(int64_t));
    r->decay = nc_calloc(t->nparams + 1, sizeof(int));
    r->state_at = nc_calloc(t->nparams + 1, sizeof(int64_t));
    r->model_id = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < t->nparams; i++) {
        const NcTrainParam *q = &r->P->tparams[i];
        const NcValue *v = &r->P->vals[q->value];
        tt->name[i] = r->P->tnames + q->name;
        tt->ndim[i] = v->ndim, tt->shape[i] = v->shape;
        tt->data[i] = nc_bundle_value(r->b, r->ps, q->value, r->arena);
        r->model_id = fnv(r->model_id, tt->name[i], strlen(tt->name[i]) + 1);
        r->model_id = fnv(r->model_id, v->shape, (size_t)v->ndim * sizeof(int64_t));
        if (q->grad < 0) continue;
        const int k = r->ntrain++;
        r->train_of[k] = (int)i;
        r->grad[k] = nc_bundle_value(r->b, r->ps, q->grad, r->arena);
        r->numel[k] = nc_numel(v);
        r->decay[k] = !nc_opt_no_decay(tt->name[i], v->ndim);
        r->state_at[k] = r->opt_floats;
        r->opt_floats += nc_opt_state_floats(NC_OPT_ADAMW, r->numel[k]); /* room for either optimizer */
    }
    /* num_batches_tracked of each batch norm: "<bn>.running_mean" less its tail.  Every batch norm's,
     * trained or not: with --freeze-features none is, and timm's state_dict still has them all. */
    tt->bn_tracked = nc_calloc(t->nparams + 1, sizeof(char *));
    static const char tail[] = ".running_mean";
    for (uint32_t k = 0; k < t->nparams; k++) {
        const char *rm = r->P->tnames + r->P->tparams[k].name;
        const size_t n = strlen(rm), m = sizeof tail - 1;
        if (n > m && !strcmp(rm + n - m, tail))
            tt->bn_tracked[tt->nbn++] = nc_sprintf("%.*s.num_batches_tracked", (int)(n - m), rm);
    }
    r->opt_state = nc_calloc((size_t)r->opt_floats + 1, sizeof(float));
}

static int load_class_weights(Run *r, const char *spec, const FileList *data, NcError *e) {
    r->class_weight = nc_calloc((size_t)r->K, sizeof(float));
    if (!strcmp(spec, "inverse")) { /* n / (K count_k), sklearn's "balanced" */
        int64_t *count = nc_calloc((size_t)r->K, sizeof(int64_t));
        for (int i = 0; i < data->label.len; i++) count[data->label.data[i]]++;
        for (int k = 0; k < r->K; k++)
            r->class_weight[k] = count[k] ? (float)((double)data->label.len / ((double)r->K * count[k])) : 0.0f;
        free(count);
        return 0;
    }
    char *text;
    size_t len;
    if (nc_read_file_max(spec, NC_LIMIT_LIST, "a class-weight file", &text, &len, e)) return -1;
    int n = 0, rc = 0;
    for (char *s = text, *end; !rc; s = end) {
        double v = strtod(s, &end);
        if (end == s) {
            while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t' || *end == ',') end++;
            if (!*end) break;
            rc = nc_errorf(e, "%s: expected numbers, one per class", spec);
        } else if (!(v >= 0 && v < 1e9) || n >= r->K) {
            rc = nc_errorf(e, "%s: %s", spec, n >= r->K ? "more weights than classes" : "a weight is not in [0, 1e9)");
        } else {
            r->class_weight[n++] = (float)v;
        }
    }
    if (!rc && n != r->K) rc = nc_errorf(e, "%s: %d weights for %d classes", spec, n, r->K);
    free(text);
    return rc;
}

static NcTransform transform_of(const NcBundle *b, const NcProgramHeader *h) {
    const NcBundleMember *m = &b->h->members[h->member];
    NcTransform t = nc_transform_default(h->height, h->width);
    t.crop_pct = m->crop_pct, t.interp = m->interp ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
    memcpy(t.mean, m->mean, sizeof t.mean);
    memcpy(t.std, m->std, sizeof t.std);
    return t;
}

/* The batch's targets: one-hot with label smoothing (the weighted loss takes
 * its smoothing itself, so its targets stay one-hot). */
static void make_targets(Run *r, const int *labels, double smoothing) {
    const double s = r->th->loss_kind == NC_LOSS_WEIGHTED ? 0 : smoothing;
    for (int i = 0; i < r->B; i++)
        for (int k = 0; k < r->K; k++) r->target[i * r->K + k] = (float)((k == labels[i] ? 1.0 - s : 0.0) + s / r->K);
}

static void update_bn_stats(Run *r);

/* A batch whose statistics overflowed would make the running estimates
 * infinite (and every later checkpoint useless): such a step is skipped like
 * a non-finite loss. */
static int bn_stats_finite(const Run *r) {
    for (uint32_t i = 0; i < r->th->nbn; i++) {
        const NcTrainBn *q = &r->P->tbns[i];
        const float *bm = nc_bundle_value(r->b, r->ps, q->batch_mean, r->arena);
        const float *bv = nc_bundle_value(r->b, r->ps, q->batch_var, r->arena);
        for (int64_t c = 0, C = nc_numel(&r->P->vals[q->batch_mean]); c < C; c++)
            if (!isfinite(bm[c]) || !isfinite(bv[c])) return 0;
    }
    return 1;
}

/* The update on the device (train_devopt.c): the same decisions as update()'s, the same bits. */
static int update_on_device(Run *r, const Opts *o, const NcSchedule *sched, TrainState *s, double *gnorm, double *lr,
                            int finite, NcError *e) {
    const double max_norm = o->clip > 0 ? o->clip : INFINITY;
    if (train_devopt_grad_norm(r->devopt, gnorm, e)) return -1;
    if (!finite || !isfinite(*gnorm)) return 1;
    *lr = nc_schedule_lr(sched, s->step);
    if (train_devopt_step(r->devopt, &o->opt, *lr, s->step + 1, r->decay, nc_dev_opt_clip_coef(*gnorm, max_norm), e))
        return -1;
    r->host_stale = 1;
    update_bn_stats(r);
    for (uint32_t i = 0; i < r->th->nbn; i++) { /* the running statistics, updated here, to the device's weights */
        const NcTrainBn *q = &r->P->tbns[i];
        const int64_t C = nc_numel(&r->P->vals[q->running_mean]);
        if (train_devopt_put(r->devopt, r->ps, q->running_mean, nc_bundle_value(r->b, r->ps, q->running_mean, r->arena),
                             C, e) ||
            train_devopt_put(r->devopt, r->ps, q->running_var, nc_bundle_value(r->b, r->ps, q->running_var, r->arena),
                             C, e))
            return -1;
    }
    s->step++;
    return 0;
}

/* One update from the step's gradients; 0, 1 when skipped (not finite), -1 when the device fails (e). */
static int update(Run *r, const Opts *o, const NcSchedule *sched, TrainState *s, double *loss, double *gnorm,
                  double *lr, NcError *e) {
    *loss = *nc_bundle_value(r->b, r->ps, r->th->loss, r->arena);
    if (r->devopt) return update_on_device(r, o, sched, s, gnorm, lr, isfinite(*loss) && bn_stats_finite(r), e);
    *gnorm = nc_clip_grad_norm(r->grad, r->numel, r->ntrain, o->clip > 0 ? o->clip : INFINITY);
    if (!isfinite(*loss) || !isfinite(*gnorm) || !bn_stats_finite(r)) return 1;
    *lr = nc_schedule_lr(sched, s->step);
    for (int k = 0; k < r->ntrain; k++)
        nc_opt_step(&o->opt, *lr, r->tt.data[r->train_of[k]], r->grad[k], r->opt_state + r->state_at[k], r->numel[k],
                    s->step + 1, r->decay[k]);
    update_bn_stats(r);
    s->step++;
    return 0;
}

/* The running statistics as PyTorch updates them: momentum 0.1, the
 * variance unbiased, in double. */
static void update_bn_stats(Run *r) {
    for (uint32_t i = 0; i < r->th->nbn; i++) {
        const NcTrainBn *q = &r->P->tbns[i];
        float *rm = nc_bundle_value(r->b, r->ps, q->running_mean, r->arena);
        float *rv = nc_bundle_value(r->b, r->ps, q->running_var, r->arena);
        const float *bm = nc_bundle_value(r->b, r->ps, q->batch_mean, r->arena);
        const float *bv = nc_bundle_value(r->b, r->ps, q->batch_var, r->arena);
        const int64_t C = nc_numel(&r->P->vals[q->running_mean]);
        const double m = 0.1, unbias = (double)q->count / (double)(q->count - 1);
        for (int64_t c = 0; c < C; c++) {
            rm[c] = (float)(m * bm[c] + (1 - m) * rm[c]);
            rv[c] = (float)(m * (bv[c] * unbias) + (1 - m) * rv[c]);
        }
    }
}

/* Top-1/top-5 and mean cross-entropy of the inference program on a set. */
static int validate(Run *r, const FileList *val, NcImageLoader *ld, double *top1, double *top5, double *vloss) {
    const NcProgramHeader *h = r->b->programs[r->pe].h;
    NcError de;
    /* a device's copy of the weights, as trained so far (already there when the optimizer runs on it) */
    if (!r->devopt && nc_dev_exec_upload_weights(r->b, &de)) {
        fprintf(stderr, "\ntrain: %s\n", de.msg);
        return -1;
    }
    const int64_t per = (int64_t)3 * h->height * h->width;
    float *x = nc_calloc((size_t)(per * h->batch), sizeof(float));
    NcImageResult *res = nc_calloc((size_t)(2 * h->batch), sizeof *res);
    int64_t n = 0, c1 = 0, c5 = 0;
    double lsum = 0;
    memset(r->cm, 0, (size_t)r->K * (size_t)r->K * sizeof(int64_t));
    /* on a device with streams, batch j + 1 decoded into pinned memory and uploaded while batch j runs (the
     * scores summed in the same order); else each batch in turn */
    NcDevPipe *q = nc_dev_pipe_open(r->b);
    const int64_t nbatches = (val->path.len + h->batch - 1) / h->batch;
    for (int64_t j = 0; j < nbatches + (q != NULL); j++) {
        if (q && j < nbatches) { /* queue batch j */
            const int64_t at = j * h->batch;
            const int m = (int)(val->path.len - at < h->batch ? val->path.len - at : h->batch);
            float *in = nc_dev_pipe_input(q, (int)(j & 1));
            memset(in, 0, (size_t)(per * h->batch) * sizeof(float));
            float *outs[1] = {in};
            nc_image_loader_run(ld, (const char *const *)val->path.data + at, m, outs, res + (j & 1) * h->batch);
            nc_dev_pipe_submit(q, r->pe, (int)(j & 1));
        }
        const int64_t kb = q ? j - 1 : j; /* the batch scored now */
        if (kb < 0) continue;
        const int64_t at = kb * h->batch;
        const int m = (int)(val->path.len - at < h->batch ? val->path.len - at : h->batch);
        const NcImageResult *kres = res + (kb & 1) * h->batch;
        if (q)
            nc_dev_pipe_finish(q, r->pe, (int)(kb & 1), NULL, r->eval_arena);
        else {
            memset(x, 0, (size_t)(per * h->batch) * sizeof(float));
            float *outs[1] = {x};
            nc_image_loader_run(ld, (const char *const *)val->path.data + at, m, outs, res + (kb & 1) * h->batch);
            const float *in[1] = {x};
            nc_bundle_run_inputs(r->b, r->pe, in, r->eval_arena, NULL);
        }
        const float *logits = nc_bundle_value(r->b, r->pe, (int)h->outputs[0], r->eval_arena);
        for (int i = 0; i < m; i++) {
            if (!kres[i].ok) continue;
            const float *z = logits + (int64_t)i * r->K;
            const int y = val->label.data[at + i];
            int rank = 0, top = 0;
            double mx = -INFINITY, se = 0;
            for (int k = 0; k < r->K; k++)
                rank += z[k] > z[y], mx = z[k] > mx ? z[k] : mx, top = z[k] > z[top] ? k : top;
            r->cm[(int64_t)y * r->K + top]++;
            for (int k = 0; k < r->K; k++) se += exp((double)z[k] - mx);
            lsum += log(se) + mx - z[y];
            c1 += rank < 1, c5 += rank < 5, n++;
        }
    }
    nc_dev_pipe_close(q);
    free(x);
    free(res);
    *top1 = n ? 100.0 * (double)c1 / (double)n : 0, *top5 = n ? 100.0 * (double)c5 / (double)n : 0;
    *vloss = n ? lsum / (double)n : 0;
    return 0;
}

static void progress(const Opts *o, const TrainState *s, int64_t nb, double loss, double lr, double ips, double wait,
                     double eta) {
    if (o->quiet || !isatty(2)) return;
    const int w = 24, done = nb ? (int)(w * (s->batch) / nb) : w;
    fprintf(stderr, "\repoch %lld/%lld [", (long long)s->epoch + 1, (long long)o->epochs);
    for (int i = 0; i < w; i++) fputc(i < done ? '#' : '.', stderr);
    fprintf(stderr, "] %lld/%lld loss %.4f lr %.3g %.1f img/s data wait %.0f%% ETA %dm%02ds ", (long long)s->batch,
            (long long)nb, loss, lr, ips, 100 * wait, (int)(eta / 60), (int)fmod(eta, 60));
}

/* DIR/curves.svg from the whole metrics.jsonl (so a resumed run's picture
 * covers the run from its start); after a validation, DIR/per_class.json and
 * DIR/confusion.svg too.  A picture that cannot be written is a warning. */
static void write_pictures(Run *r, const Opts *o, int64_t validated_epoch, double top1) {
    NcError e;
    char *m = nc_sprintf("%s/metrics.jsonl", o->out), *c = nc_sprintf("%s/curves.svg", o->out);
    if (r->metrics && plot_training_curves(m, c, &e)) fprintf(stderr, "warning: %s\n", e.msg);
    free(m), free(c);
    if (!validated_epoch) return;
    const char *const *names = (const char *const *)r->b->labels;
    char *j = nc_sprintf("%s/per_class.json", o->out), *svg = nc_sprintf("%s/confusion.svg", o->out);
    char *title = nc_sprintf("validation after epoch %lld: top-1 %.2f%%", (long long)validated_epoch, top1);
    if (write_per_class_json(r->cm, r->K, names, j, &e) || plot_confusion(r->cm, r->K, names, title, svg, &e))
        fprintf(stderr, "warning: %s\n", e.msg);
    free(j), free(svg), free(title);
}

/* The host's trained tensors and optimizer state as the device's (a checkpoint reads them). */
static int sync_host(Run *r, NcError *e) {
    if (!r->devopt || !r->host_stale) return 0;
    float **p = nc_calloc((size_t)r->ntrain + 1, sizeof(float *));
    for (int k = 0; k < r->ntrain; k++) p[k] = r->tt.data[r->train_of[k]];
    const int rc = train_devopt_download(r->devopt, p, r->opt_state, e);
    free(p);
    if (rc) return nc_error_prefix(e, "downloading the weights from the device");
    r->host_stale = 0;
    return 0;
}

static int save(Run *r, const Opts *o, const TrainState *s, NcError *e) {
    if (sync_host(r, e)) return -1;
    return train_save(o->out, &r->tt, s, &o->opt, r->opt_state, r->opt_floats, r->model_id, o->keep, e);
}

/* A batch ready for its step: from the feed, a failed image's place taken by a copy of one that decoded (the
 * step's shape is fixed), its targets made (mixup's draws seeded by (epoch, batch)); on a device with the
 * overlapped feed, copied into pipe slot `slot`'s pinned buffer and its upload queued.  What it skipped is
 * counted and said by the step that takes it (so a batch prepared ahead changes nothing the step before
 * writes). */
typedef struct PreparedBatch {
    TrainFeedSlot *sl; /* NULL: none */
    int64_t epoch, batch;
    const float *x; /* the images the step reads */
    int slot, bad;  /* bad: mixup failed (e) */
    NcError e;
} PreparedBatch;

static void prepare_batch(Run *r, const Opts *o, uint64_t seed, TrainFeed *feed, NcDevTrainPipe *pipe, int64_t epoch,
                          int64_t batch, int slot, PreparedBatch *pb) {
    TrainFeedSlot *sl = train_feed_next(feed);
    NC_CHECK(sl && sl->epoch == epoch && sl->batch == batch);
    const int64_t per = (int64_t)3 * r->H * r->W;
    float *x = sl->x;
    int *labels = sl->labels;
    const NcImageResult *res = sl->res;
    const int failed = sl->failed;
    pb->sl = sl, pb->epoch = epoch, pb->batch = batch, pb->x = x, pb->slot = slot, pb->bad = 0;
    if (failed == r->B) return;
    for (int i = 0, src = 0; i < r->B && failed; i++) {
        if (res[i].ok) continue;
        while (!res[src].ok) src++;
        memcpy(x + i * per, x + src * per, (size_t)per * sizeof(float));
        labels[i] = labels[src];
    }
    if (r->mixing) {
        const uint64_t ms = train_seed(seed, TRAIN_SEED_MIXUP, epoch, batch);
        if (nc_mixup_apply(&r->mix, x, labels, r->B, 3, r->H, r->W, ms, r->target, NULL, &pb->e)) {
            pb->bad = 1;
            return;
        }
    } else
        make_targets(r, labels, o->smoothing);
    if (pipe) {
        float *h = nc_dev_train_pipe_input(pipe, slot);
        memcpy(h, x, (size_t)(per * r->B) * sizeof(float));
        nc_dev_train_pipe_upload(pipe, slot);
        pb->x = h;
    }
}

static int train_loop(Run *r, const Opts *o, TrainState *s, const FileList *data, const FileList *val) {
    NcError e;
    const NcTransform tf = transform_of(r->b, r->P->h);
    NcImageLoader *ld = NULL;
    if (nc_image_loader_open(&ld, o->decode_threads ? o->decode_threads : 2, 1, &tf, 0, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        return 1;
    }
    nc_image_loader_set_nice(ld, o->worker_nice);
    const int64_t n = data->path.len, nb = n / r->B, per = (int64_t)3 * r->H * r->W;
    NcSchedule sched = {0};
    sched.kind = o->sched, sched.base_lr = o->lr, sched.min_lr = o->min_lr;
    sched.warmup_t = (int64_t)llround(o->warmup_epochs * (double)nb), sched.warmup_lr_init = o->warmup_lr;
    sched.t_initial = nb * o->epochs, sched.decay_t = o->decay_epochs * (double)nb, sched.decay_rate = o->decay_rate;
    if (o->sched == NC_SCHED_CONSTANT) sched.kind = NC_SCHED_STEP, sched.decay_rate = 1, sched.decay_t = 1;
    if (o->sched == NC_SCHED_STEP) sched.warmup_prefix = 1;
    if (nc_schedule_check(&sched, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        nc_image_loader_close(ld);
        return 2;
    }
    TrainFeed feed;
    train_feed_open(&feed, ld, data, r->aug, o->sampler, r->K, r->B, per, o->epochs, s->seed, o->prefetch, s->epoch,
                    s->batch);
    /* a device program's batches go up from pinned memory on the copy stream, each while the step before runs */
    NcDevTrainPipe *pipe = nc_dev_train_pipe_open(r->b, r->ps);
    if (pipe)
        fprintf(stderr, "train: each batch's upload overlaps the step before (pinned memory, a copy stream; "
                        "NETC_DEV_OVERLAP=0 uploads each in turn)\n");
    PreparedBatch ahead = {0};
    unsigned nslot = 0;
    const float *inputs[8] = {0};
    int rc = 0, streak = 0;
    double images_run = 0;
    const double start = nc_now();
    for (; s->epoch < o->epochs && !rc; s->epoch++, s->batch = 0) {
        double eloss = 0, estart = nc_now(), ewait = feed.wait_seconds;
        int64_t ecount = 0, eimages = 0;
        for (; s->batch < nb && !rc; s->batch++) {
            if (o->max_steps && s->step >= o->max_steps) break;
            if (stop_signal) {
                rc = 1;
                break;
            }
            /* this batch, unless the step before prepared it (below) */
            if (!(ahead.sl && ahead.epoch == s->epoch && ahead.batch == s->batch))
                prepare_batch(r, o, s->seed, &feed, pipe, s->epoch, s->batch, nslot++ & 1, &ahead);
            const PreparedBatch cur = ahead;
            ahead.sl = NULL;
            const float *x = cur.x;
            const NcImageResult *res = cur.sl->res;
            const int failed = cur.sl->failed;
            s->images_skipped += failed;
            for (int i = 0; i < r->B && failed; i++)
                if (!res[i].ok) fprintf(stderr, "\nwarning: skipped %s\n", res[i].err.msg);
            if (failed == r->B) continue;
            if (cur.bad) {
                fprintf(stderr, "\ntrain: %s\n", cur.e.msg);
                rc = 1;
                break;
            }
            r->seed_words[0] = (uint32_t)s->seed ^ 0x9E3779B9u, r->seed_words[1] = (uint32_t)s->step;
            int k = 0;
            inputs[k++] = x, inputs[k++] = r->target, inputs[k++] = &r->loss_grad;
            if (r->th->class_weight >= 0) inputs[k++] = r->class_weight;
            if (r->th->seed >= 0) inputs[k++] = (const float *)r->seed_words;
            /* a device with the optimizer here: its last update (with it there, the weights are there) */
            if (!r->devopt && nc_dev_exec_upload_weights(r->b, &e)) {
                fprintf(stderr, "\ntrain: %s\n", e.msg);
                rc = 1;
                break;
            }
            if (pipe) { /* the step queued; the next batch prepared and its upload queued meanwhile; the step's end */
                nc_dev_train_pipe_submit(pipe, cur.slot, inputs);
                if (s->batch + 1 < nb)
                    prepare_batch(r, o, s->seed, &feed, pipe, s->epoch, s->batch + 1, nslot++ & 1, &ahead);
                nc_dev_train_pipe_finish(pipe, r->arena);
            } else
                nc_bundle_run_inputs(r->b, r->ps, inputs, r->arena, NULL);
            s->images_seen += r->B;
            images_run += r->B, eimages += r->B;
            double loss, gnorm, lr = 0;
            const int skipped = update(r, o, &sched, s, &loss, &gnorm, &lr, &e);
            if (skipped < 0) {
                fprintf(stderr, "\ntrain: device error in the optimizer: %s\n", e.msg);
                rc = 1;
                break;
            }
            if (skipped) {
                s->nan_skips++;
                fprintf(stderr, "\nwarning: step %lld: loss %g, gradient norm %g: update skipped\n", (long long)s->step,
                        loss, gnorm);
                if (r->metrics)
                    fprintf(r->metrics, "{\"skipped_step\": %lld, \"epoch\": %lld}\n", (long long)s->step,
                            (long long)s->epoch);
                if (++streak >= o->nan_limit) {
                    fprintf(stderr, "train: %d non-finite losses in a row: stopped (the last checkpoint is intact)\n",
                            streak);
                    rc = 1;
                }
                continue;
            }
            streak = 0;
            eloss += loss, ecount++;
            /* over the whole run so far (this process): images per second of wall time, and the share of
             * it the step spent waiting for the workers; time_s and wait_s their seconds */
            const double wall = nc_now() - start, ips = images_run / (wall > 0 ? wall : 1);
            const double wait = wall > 0 ? feed.wait_seconds / wall : 0;
            const int64_t left = (o->epochs - s->epoch - 1) * nb + (nb - s->batch - 1);
            if (r->metrics) {
                fprintf(r->metrics, "{\"step\": %lld, \"epoch\": %lld, \"batch\": %lld, ", (long long)s->step,
                        (long long)s->epoch, (long long)s->batch);
                fprintf(r->metrics, "\"loss\": ");
                nc_json_put_num(r->metrics, "%.6g", loss);
                fprintf(r->metrics, ", \"lr\": %.6g, \"grad_norm\": ", lr);
                nc_json_put_num(r->metrics, "%.6g", gnorm);
                fprintf(r->metrics,
                        ", \"images_per_s\": %.2f, \"data_wait\": %.4f, \"time_s\": %.3f, \"wait_s\": %.3f, "
                        "\"skipped_images\": %lld}\n",
                        ips, wait, wall, feed.wait_seconds, (long long)s->images_skipped);
                fflush(r->metrics);
            }
            progress(o, s, nb, loss, lr, ips, wait, (double)left * r->B / (ips > 0 ? ips : 1));
            /* (not after an epoch's last batch: the epoch's own checkpoint, at the same update, follows; two
             * different files under one step would let a kill between a checkpoint and its state pair them
             * wrongly) */
            if (o->save_every && s->step % o->save_every == 0 && s->batch + 1 < nb) {
                TrainState at = *s;
                at.batch++;
                if (save(r, o, &at, &e)) fprintf(stderr, "\ntrain: %s\n", e.msg), rc = 1;
            }
        }
        if (rc || (o->max_steps && s->step >= o->max_steps && s->batch < nb)) break;
        /* the epoch is over: validate, checkpoint */
        train_feed_release(&feed); /* (the workers go on with the next epoch meanwhile) */
        const double esec = nc_now() - estart, ewaited = feed.wait_seconds - ewait;
        double top1 = -1, top5 = -1, vloss = 0;
        if (val && validate(r, val, ld, &top1, &top5, &vloss)) {
            rc = 1;
            break;
        }
        if (!o->quiet && isatty(2)) fputc('\n', stderr);
        fprintf(stderr, "epoch %lld: train loss %.4f, %.1f img/s, data wait %.1f%%", (long long)s->epoch + 1,
                ecount ? eloss / ecount : NAN, esec > 0 ? (double)eimages / esec : 0,
                esec > 0 ? 100 * ewaited / esec : 0);
        if (val) fprintf(stderr, ", val top-1 %.2f%% top-5 %.2f%% loss %.4f", top1, top5, vloss);
        fprintf(stderr, "\n");
        if (r->metrics) {
            fprintf(r->metrics, "{\"epoch_end\": %lld, \"step\": %lld, \"train_loss\": ", (long long)s->epoch + 1,
                    (long long)s->step);
            nc_json_put_num(r->metrics, "%.6g", ecount ? eloss / ecount : NAN);
            if (val)
                fprintf(r->metrics, ", \"val_top1\": %.4f, \"val_top5\": %.4f, \"val_loss\": %.6g", top1, top5, vloss);
            fprintf(r->metrics, ", \"images_per_s\": %.2f, \"data_wait\": %.4f", esec > 0 ? (double)eimages / esec : 0,
                    esec > 0 ? ewaited / esec : 0);
            fprintf(r->metrics, ", \"skipped_images\": %lld, \"nan_skips\": %lld}\n", (long long)s->images_skipped,
                    (long long)s->nan_skips);
            fflush(r->metrics);
        }
        write_pictures(r, o, val ? s->epoch + 1 : 0, top1);
        TrainState next = *s;
        next.epoch++, next.batch = 0;
        if (val && top1 > s->best_top1) {
            s->best_top1 = next.best_top1 = top1, s->best_step = next.best_step = s->step;
            if (sync_host(r, &e) || train_save_best(o->out, &r->tt, &next, &e))
                fprintf(stderr, "train: %s\n", e.msg), rc = 1;
        }
        if (!rc && save(r, o, &next, &e)) fprintf(stderr, "train: %s\n", e.msg), rc = 1;
    }
    /* stopped inside an epoch (--max-steps, a signal): a checkpoint where it stopped */
    if (s->epoch < o->epochs && (rc == 0 || stop_signal)) {
        if (save(r, o, s, &e)) fprintf(stderr, "train: %s\n", e.msg), rc = 1;
    }
    if (stop_signal) fprintf(stderr, "\ntrain: interrupted; continue with --resume %s\n", o->out);
    if (r->metrics) fflush(r->metrics), write_pictures(r, o, 0, 0);
    nc_dev_train_pipe_close(pipe);
    train_feed_close(&feed);
    nc_image_loader_close(ld);
    return rc;
}

/* Whether a comma-separated spec has an item KEY=... */
static int has_item(const char *spec, const char *key) {
    const size_t kl = strlen(key);
    for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, key, kl) && p[kl] == '=') return 1;
    return 0;
}

/* --aug and --mixup (with timm's option names' items) parsed before any
 * work: a bad spec is exit status 2. The augmentation normalises with the
 * model's mean and std unless the spec says otherwise; Mixup's label
 * smoothing is --label-smoothing unless the spec gives smoothing=. */
static int setup_augment(Run *r, Opts *o, NcError *e) {
    const NcBundleMember *m = &r->b->h->members[r->P->h->member];
    if (o->aug || o->aug_extra) {
        char *spec = nc_sprintf("%s%s%s", o->aug ? o->aug : "", o->aug && o->aug_extra ? "," : "",
                                o->aug_extra ? o->aug_extra : "");
        if (!has_item(spec, "mean")) {
            char *t = nc_sprintf("%s,mean=%.9g:%.9g:%.9g", spec, m->mean[0], m->mean[1], m->mean[2]);
            free(spec), spec = t;
        }
        if (!has_item(spec, "std")) {
            char *t = nc_sprintf("%s,std=%.9g:%.9g:%.9g", spec, m->std[0], m->std[1], m->std[2]);
            free(spec), spec = t;
        }
        const int bad = nc_augment_parse(spec, r->H, r->W, &r->aug, e);
        free(spec);
        if (bad) return -1;
        if (!o->quiet) {
            char *d = nc_augment_describe(r->aug);
            fprintf(stderr, "train: augmentation: %s\n", d);
            free(d);
        }
    }
    if (o->mixup || o->mix_extra) {
        char *end;
        const char *given = o->mixup ? o->mixup : "";
        char *spec = (strtod(given, &end), end != given && !*end) ? nc_sprintf("mixup=%s", given) : nc_strdup(given);
        if (o->mix_extra) {
            char *t = nc_sprintf("%s%s%s", spec, *spec ? "," : "", o->mix_extra);
            free(spec), spec = t;
        }
        const int bad = nc_mixup_parse(spec, r->K, &r->mix, e);
        if (!bad && !has_item(spec, "smoothing")) r->mix.label_smoothing = o->smoothing;
        free(spec);
        if (bad || nc_mixup_check(&r->mix, e)) return -1;
        if (r->B % 2)
            return nc_errorf(e, "--mixup pairs the images of a batch: the batch must be even (it is %d)", r->B);
        if (r->th->loss_kind == NC_LOSS_WEIGHTED)
            return nc_errorf(e, "--mixup needs soft targets: the weighted loss takes hard labels");
        r->mixing = 1;
        if (!o->quiet) {
            char *d = nc_mixup_describe(&r->mix);
            fprintf(stderr, "train: %s\n", d);
            free(d);
        }
    }
    return 0;
}

/* A resumed run repeats the updates after its checkpoint: their lines go
 * (each line's "step" says which update it follows), the rest stay. */
static void keep_metrics_until(const char *path, int64_t step) {
    char *text;
    size_t len;
    NcError e;
    /* (a text file's 64 MiB is 250 000 updates: an ImageNet-length run passes it) */
    if (nc_read_file_max(path, NC_LIMIT_LIST, "a metrics file", &text, &len, &e)) return;
    NC_VEC(char) kept = {0};
    for (char *line = text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        const char *at = strstr(line, "\"step\": ");
        if (at && (!nl || at < nl) && strtoll(at + 8, NULL, 10) > step) continue;
        for (char *c = line; c < (nl ? nl + 1 : line + strlen(line)); c++) nc_vec_push(&kept, *c);
    }
    nc_write_file_atomic(path, kept.data ? kept.data : "", (size_t)kept.len, &e);
    free(kept.data);
    free(text);
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char *p = nc_strdup(path);
    int rc = 0;
    for (char *s = p + 1; !rc; s++) {
        const char c = *s;
        if (c != '/' && c) continue;
        *s = 0;
        struct stat st;
        if (mkdir(p, 0777) && errno != EEXIST) rc = -1;
        if (!rc && (stat(p, &st) || !S_ISDIR(st.st_mode))) rc = -1, errno = ENOTDIR;
        *s = c;
        if (!c) break;
    }
    free(p);
    return rc;
}

/* The optimizer on the device where the program runs on one (train_devopt.c), the weights (after --init,
 * --resume) and the state uploaded once. */
static int open_devopt(Run *r, NcError *e) {
    int32_t *param = nc_calloc((size_t)r->ntrain + 1, sizeof(int32_t)), *grad = nc_calloc((size_t)r->ntrain + 1, 4);
    for (int k = 0; k < r->ntrain; k++)
        param[k] = r->P->tparams[r->train_of[k]].value, grad[k] = r->P->tparams[r->train_of[k]].grad;
    int rc =
        train_devopt_open(&r->devopt, r->b, r->ps, r->ntrain, param, grad, r->numel, r->state_at, r->opt_floats, e);
    free(param), free(grad);
    if (!rc && r->devopt) {
        nc_dev_exec_keep_grads(r->b);
        if (train_devopt_upload(r->devopt, r->opt_state, e)) rc = nc_error_prefix(e, "uploading the weights");
    }
    if (!rc && r->devopt) { /* what a step moves now, and what it moved with the optimizer here */
        int64_t grads = 0, stats = 0;
        for (int k = 0; k < r->ntrain; k++) grads += r->numel[k] * 4;
        for (uint32_t i = 0; i < r->th->nbn; i++) stats += 2 * nc_numel(&r->P->vals[r->P->tbns[i].running_mean]) * 4;
        const int64_t down = 4 + nc_numel(&r->P->vals[r->th->logits]) * 4 + stats + NC_DEV_OPT_GRID * 8;
        const int64_t up = (int64_t)r->ntrain * NC_DEV_OPT_SLOT * 4 + stats;
        fprintf(stderr,
                "train: the optimizer runs on the device: a step downloads %lld bytes (loss, logits, batch "
                "statistics, the gradient norm's partials) instead of %lld more (the gradients), and uploads "
                "%lld (the optimizer's scalars, the running statistics) instead of %lld (the weights), besides "
                "its inputs\n",
                (long long)down, (long long)grads, (long long)up, (long long)r->b->h->weights_bytes);
    }
    return rc;
}

int cmd_train(NcBundle *b, const char *prog, int argc, char **argv) {
    Opts o;
    int pr = parse(&o, prog, argc, argv);
    if (pr) return pr > 0 ? 0 : 2;
    Run r;
    memset(&r, 0, sizeof r);
    r.b = b;
    NcError e;
    FileList data = {0}, val = {0};
    int rc = 0;
    /* on a device the step runs there, and so does the optimizer (train_devopt.c): the weights and its state
     * go there once, before the first step; the running statistics are updated here from the downloaded
     * batch statistics and sent back.  With NETC_DEV_HOST_OPTIM=1 the optimizer runs here on the
     * downloaded gradients and the weights go back before each step (nc_dev_exec_upload_weights) */
    if (find_programs(&r, &e)) rc = 2;
    if (!rc && train_data_load(&data, o.data, o.root, r.K, &e)) rc = 2;
    if (!rc && o.val && train_data_load(&val, o.val, o.root, r.K, &e)) rc = 2;
    if (!rc && data.path.len < r.B)
        rc = 2, nc_errorf(&e, "%s: %d images, fewer than one batch of %d", o.data, data.path.len, r.B);
    if (!rc && (r.th->class_weight >= 0) != (o.class_weights != NULL))
        rc = 2,
        nc_errorf(&e, r.th->class_weight >= 0 ? "this program's loss is weighted: give --class-weights"
                                              : "--class-weights needs a program compiled with --loss weighted");
    if (!rc && r.th->loss_kind == NC_LOSS_WEIGHTED && o.smoothing > 0)
        rc = 2, nc_errorf(&e,
                          "the weighted loss takes its label smoothing at compile time (netc compile "
                          "--label-smoothing); this program's is %g",
                          (double)r.th->smoothing);
    if (!rc && o.class_weights && load_class_weights(&r, o.class_weights, &data, &e)) rc = 2;
    if (!rc && setup_augment(&r, &o, &e)) rc = 2;
    if (!rc) {
        r.arena = nc_aligned_alloc((size_t)r.P->h->arena_bytes);
        r.eval_arena = r.pe >= 0 ? nc_aligned_alloc((size_t)b->programs[r.pe].h->arena_bytes) : NULL;
        if (!r.arena || (r.pe >= 0 && !r.eval_arena))
            rc = 2, nc_errorf(&e, "out of memory for a %.1f MB arena", r.P->h->arena_bytes / 1e6);
    }
    if (!rc && o.val && r.pe < 0) rc = 2, nc_errorf(&e, "--val: this program has no inference program to validate");
    TrainState s = {0};
    s.seed = o.seed, s.best_top1 = -1;
    if (!rc) {
        setup_tensors(&r);
        r.target = nc_calloc((size_t)r.B * r.K, sizeof(float));
        r.cm = nc_calloc((size_t)r.K * (size_t)r.K, sizeof(int64_t));
        r.loss_grad = 1.0f;
        if (make_dirs(o.out)) rc = 2, nc_errorf(&e, "%s: cannot make the folder: %s", o.out, strerror(errno));
    }
    if (!rc && o.init && !o.resume && train_init_from(o.init, &r.tt, r.K, stderr, &e)) rc = 2;
    if (!rc && o.resume) {
        if (train_resume(o.resume, &r.tt, &s, o.opt.kind, r.opt_state, r.opt_floats, r.model_id, &e))
            rc = 2;
        else if (strcmp(o.resume, o.out))
            rc = 2,
            nc_errorf(&e, "--resume %s with --out %s: a resumed run continues in its own folder", o.resume, o.out);
        else
            fprintf(stderr, "train: resuming %s at update %lld (epoch %lld, batch %lld)\n", o.resume, (long long)s.step,
                    (long long)s.epoch + 1, (long long)s.batch);
    }
    if (!rc) {
        char *mp = nc_sprintf("%s/metrics.jsonl", o.out);
        if (o.resume) keep_metrics_until(mp, s.step);
        r.metrics = fopen(mp, o.resume ? "a" : "w");
        free(mp);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (open_devopt(&r, &e)) {
            fprintf(stderr, "%s train: %s\n", prog, e.msg);
            rc = 1;
        } else
            rc = train_loop(&r, &o, &s, &data, o.val ? &val : NULL);
        train_devopt_close(r.devopt);
        if (r.metrics) fclose(r.metrics);
    } else {
        fprintf(stderr, "%s train: %s\n", prog, e.msg);
    }
    files_free(&data);
    files_free(&val);
    free(r.arena);
    free(r.eval_arena);
    free(r.target);
    free(r.class_weight);
    free(r.opt_state);
    for (int i = 0; i < r.tt.nbn; i++) free(r.tt.bn_tracked[i]);
    free(r.tt.bn_tracked);
    free(r.tt.name);
    free(r.tt.ndim);
    free(r.tt.shape);
    free(r.tt.data);
    free(r.train_of);
    free(r.grad);
    free(r.numel);
    free(r.decay);
    free(r.state_at);
    nc_augment_free(r.aug);
    free(r.cm);
    free(o.aug_extra);
    free(o.mix_extra);
    return rc;
}

/* ---- run --train: one step on a tensor, its gradients out ---------------- */

int cmd_train_run(NcBundle *b, const char *prog, int argc, char **argv) {
    const char *in = NULL, *out = NULL, *labels = NULL;
    double smoothing = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--train")) continue;
        if (i + 1 < argc && !strcmp(argv[i], "--input"))
            in = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--output"))
            out = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--labels"))
            labels = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--label-smoothing")) {
            if (num(argv[i], argv[i + 1], 0, 1, &smoothing)) return 2;
            i++;
        } else {
            fprintf(stderr, "%s run --train: unknown or incomplete option '%s'\n", prog, argv[i]);
            return 2;
        }
    }
    Run r;
    memset(&r, 0, sizeof r);
    r.b = b;
    NcError e;
    NcNpy x = {0};
    int rc = 0, *lab = NULL;
    if (!in || !out || !labels) rc = 2, nc_errorf(&e, "--input X.npy, --labels L,L,... and --output OUT.safetensors");
    if (!rc && find_programs(&r, &e)) rc = 2;
    if (!rc && nc_npy_read(in, &x, &e)) rc = 2;
    if (!rc && (x.ndim != 4 || x.shape[0] != r.B || x.shape[1] != 3 || x.shape[2] != r.H || x.shape[3] != r.W))
        rc = 2, nc_errorf(&e, "%s: the step takes [%d, 3, %d, %d]", in, r.B, r.H, r.W);
    if (!rc) {
        lab = nc_calloc((size_t)r.B, sizeof(int));
        const char *p = labels;
        for (int i = 0; i < r.B && !rc; i++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v >= r.K || (i + 1 < r.B ? *end != ',' : *end != 0))
                rc = 2, nc_errorf(&e, "--labels '%s': %d class indices (0..%d), comma-separated", labels, r.B, r.K - 1);
            lab[i] = (int)v;
            p = end + 1;
        }
    }
    if (!rc && r.th->class_weight >= 0) rc = 2, nc_errorf(&e, "run --train: the weighted loss is not supported here");
    if (!rc) {
        r.arena = nc_aligned_alloc((size_t)r.P->h->arena_bytes);
        setup_tensors(&r);
        r.target = nc_calloc((size_t)r.B * r.K, sizeof(float));
        r.loss_grad = 1;
        make_targets(&r, lab, smoothing);
        const float *inputs[8] = {x.data, r.target, &r.loss_grad};
        r.seed_words[0] = 1, r.seed_words[1] = 0;
        if (r.th->seed >= 0) inputs[3] = (const float *)r.seed_words;
        nc_bundle_run_inputs(b, r.ps, inputs, r.arena, NULL);
        update_bn_stats(&r);
        /* loss, logits, every gradient, the running statistics after the step */
        const int n = 2 + r.ntrain + 2 * (int)r.th->nbn;
        const char **names = nc_calloc((size_t)n, sizeof(char *));
        int *ndims = nc_calloc((size_t)n, sizeof(int));
        const int64_t **shapes = nc_calloc((size_t)n, sizeof(int64_t *));
        const float **data = nc_calloc((size_t)n, sizeof(float *));
        int k = 0;
        const int ids[2] = {r.th->loss, r.th->logits};
        for (int j = 0; j < 2; j++, k++) {
            names[k] = nc_strdup(j ? "logits" : "loss");
            ndims[k] = r.P->vals[ids[j]].ndim, shapes[k] = r.P->vals[ids[j]].shape;
            data[k] = nc_bundle_value(b, r.ps, ids[j], r.arena);
        }
        for (int t = 0; t < r.ntrain; t++, k++) {
            const int i = r.train_of[t];
            names[k] = nc_sprintf("grad/%s", r.tt.name[i]);
            ndims[k] = r.tt.ndim[i], shapes[k] = r.tt.shape[i], data[k] = r.grad[t];
        }
        for (uint32_t i = 0; i < r.th->nbn; i++)
            for (int j = 0; j < 2; j++, k++) {
                const int v = j ? r.P->tbns[i].running_var : r.P->tbns[i].running_mean;
                const char *nm = r.tt.bn_tracked[i];
                const size_t base = strlen(nm) - strlen(".num_batches_tracked");
                names[k] = nc_sprintf("%s/%.*s", j ? "running_var" : "running_mean", (int)base, nm);
                ndims[k] = r.P->vals[v].ndim, shapes[k] = r.P->vals[v].shape;
                data[k] = nc_bundle_value(b, r.ps, v, r.arena);
            }
        if (nc_st_write_f32(out, n, names, ndims, shapes, data, &e))
            rc = 1;
        else
            printf("loss %.8g\n", (double)*data[0]);
        for (int j = 0; j < n; j++) free((void *)names[j]);
        free(names), free(ndims), free(shapes), free(data);
    }
    if (rc) fprintf(stderr, "%s run --train: %s\n", prog, e.msg);
    nc_npy_free(&x);
    free(lab);
    free(r.arena);
    free(r.target);
    free(r.opt_state);
    for (int i = 0; i < r.tt.nbn; i++) free(r.tt.bn_tracked[i]);
    free(r.tt.bn_tracked), free(r.tt.name), free(r.tt.ndim), free(r.tt.shape), free(r.tt.data);
    free(r.train_of), free(r.grad), free(r.numel), free(r.decay), free(r.state_at);
    return rc;
}
