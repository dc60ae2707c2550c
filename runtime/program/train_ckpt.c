/* train_ckpt.c — checkpoints a person and timm can read, and the resume
 * state beside each.
 *
 * A checkpoint is OUT/ckpt-<step>.safetensors: every parameter and BN
 * statistic as F32 under its timm name, each BN's num_batches_tracked as I64
 * (timm's state_dict, so load_state_dict(strict=True) takes it), and
 * metadata (step, epoch).  Its resume state is OUT/state-<step>.bin:
 *
 *   StateHeader (magic "NETCTRST", version) | optimizer state, f32
 *
 * naming the checkpoint's size and checksum, so a pair that does not belong
 * together is never resumed from.  Both are written atomically, checkpoint
 * first; old pairs are removed state first.  Whatever instant a run is
 * killed, every pair on disk is whole, and --resume takes the newest. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/program/train.h"
#include "runtime/support/file_in.h"
#include "runtime/support/file_out.h"
#include "runtime/support/json.h"
#include "runtime/support/safetensors.h"

#define STATE_MAGIC   "NETCTRST"
#define STATE_VERSION 1

typedef struct StateHeader {
    char magic[8];
    uint32_t version, opt_kind;
    uint64_t model_id;
    int64_t step, epoch, batch, images_seen, images_skipped, nan_skips;
    uint64_t seed;
    double best_top1;
    int64_t best_step;
    int64_t opt_floats;
    uint64_t ckpt_bytes, ckpt_checksum, state_checksum;
} StateHeader;

typedef struct Buf {
    char *p;
    size_t len, cap;
} Buf;

static void put(Buf *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 4096;
        b->p = nc_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static int64_t numel_of(const TrainTensors *t, int i) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim[i]; d++) n *= t->shape[i][d];
    return n;
}

/* The whole safetensors image of the tensors (F32), the num_batches_tracked
 * (I64, = tracked) and the metadata. */
static Buf safetensors_image(const TrainTensors *t, int64_t tracked, const TrainState *s) {
    Buf h = {0}, d = {0};
    char num[160];
    snprintf(num, sizeof num,
             "{\"__metadata__\":{\"format\":\"pt\",\"step\":\"%" PRId64 "\",\"epoch\":\"%" PRId64 "\"}", s->step,
             s->epoch);
    puts_(&h, num);
    for (int i = 0; i < t->n + t->nbn; i++) {
        const int is_f = i < t->n;
        const char *name = is_f ? t->name[i] : t->bn_tracked[i - t->n];
        char *q = nc_json_quote(name, strlen(name));
        puts_(&h, ",");
        puts_(&h, q);
        free(q);
        const size_t begin = d.len;
        if (is_f) {
            put(&d, t->data[i], (size_t)numel_of(t, i) * sizeof(float));
            puts_(&h, ":{\"dtype\":\"F32\",\"shape\":[");
            for (int k = 0; k < t->ndim[i]; k++) {
                snprintf(num, sizeof num, "%s%" PRId64, k ? "," : "", t->shape[i][k]);
                puts_(&h, num);
            }
        } else {
            put(&d, &tracked, sizeof tracked);
            puts_(&h, ":{\"dtype\":\"I64\",\"shape\":[");
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", begin, d.len);
        puts_(&h, num);
    }
    puts_(&h, "}");
    while (h.len % 8) puts_(&h, " ");
    Buf img = {0};
    const uint64_t hl = h.len;
    put(&img, &hl, 8);
    put(&img, h.p, h.len);
    put(&img, d.p, d.len);
    free(h.p);
    free(d.p);
    return img;
}

static int write_whole(const char *path, const void *data, size_t len, NcError *e) {
    NcOut o;
    if (nc_out_begin(&o, path, 0, e)) return -1;
    if (nc_out_write(&o, data, len, e)) {
        nc_out_abort(&o);
        return -1;
    }
    return nc_out_commit(&o, e);
}

/* the steps of the complete-looking state files in dir, newest first */
static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}
static int state_steps(const char *dir, int64_t **steps) {
    NC_VEC(int64_t) v = {0};
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        long long st;
        char tail[8];
        if (sscanf(de->d_name, "state-%lld.bi%1s", &st, tail) == 2 && !strcmp(tail, "n") && st >= 0)
            nc_vec_push(&v, (int64_t)st);
    }
    if (d) closedir(d);
    if (v.len) qsort(v.data, (size_t)v.len, sizeof(int64_t), cmp_desc);
    *steps = v.data;
    return v.len;
}

/* What killed writes leave: a checkpoint whose state was never written (a
 * kill between the two), and the hidden temporaries of file_out.c
 * (".ckpt-N.safetensors.<random>.tmp").  Neither is ever resumed from;
 * both go, except the pair being written now. */
static void remove_orphans(const char *dir, int64_t now) {
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        const char *nm = de->d_name;
        const size_t len = strlen(nm);
        long long st;
        char *path = NULL;
        if (nm[0] == '.' && (!strncmp(nm, ".ckpt-", 6) || !strncmp(nm, ".state-", 7)) && len > 4 &&
            !strcmp(nm + len - 4, ".tmp")) {
            path = nc_sprintf("%s/%s", dir, nm);
        } else if (sscanf(nm, "ckpt-%lld.safetensors", &st) == 1 && st != now &&
                   !strcmp(nm + len - strlen(".safetensors"), ".safetensors")) {
            char *state = nc_sprintf("%s/state-%08lld.bin", dir, st);
            if (access(state, F_OK)) path = nc_sprintf("%s/%s", dir, nm);
            free(state);
        }
        if (path) unlink(path);
        free(path);
    }
    if (d) closedir(d);
}

int train_save(const char *dir, const TrainTensors *t, const TrainState *s, const NcOptConfig *opt,
               const float *opt_state, int64_t opt_floats, uint64_t model_id, int keep, NcError *e) {
    char *cpath = nc_sprintf("%s/ckpt-%08" PRId64 ".safetensors", dir, s->step);
    char *spath = nc_sprintf("%s/state-%08" PRId64 ".bin", dir, s->step);
    Buf img = safetensors_image(t, s->step, s);
    StateHeader h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, STATE_MAGIC, 8);
    h.version = STATE_VERSION, h.opt_kind = (uint32_t)opt->kind, h.model_id = model_id;
    h.step = s->step, h.epoch = s->epoch, h.batch = s->batch;
    h.images_seen = s->images_seen, h.images_skipped = s->images_skipped, h.nan_skips = s->nan_skips;
    h.seed = s->seed, h.best_top1 = s->best_top1, h.best_step = s->best_step;
    h.opt_floats = opt_floats;
    h.ckpt_bytes = img.len, h.ckpt_checksum = nc_bundle_checksum(img.p, img.len);
    h.state_checksum = nc_bundle_checksum(opt_state, (size_t)opt_floats * sizeof(float));
    Buf st = {0};
    put(&st, &h, sizeof h);
    put(&st, opt_state, (size_t)opt_floats * sizeof(float));
    int rc = write_whole(cpath, img.p, img.len, e) || write_whole(spath, st.p, st.len, e) ? -1 : 0;
    free(img.p);
    free(st.p);
    free(cpath);
    free(spath);
    if (rc) return -1;
    int64_t *steps;
    const int n = state_steps(dir, &steps);
    remove_orphans(dir, s->step);
    for (int i = keep; i < n; i++) { /* the state first: a checkpoint without one is never resumed from */
        char *a = nc_sprintf("%s/state-%08" PRId64 ".bin", dir, steps[i]);
        char *b = nc_sprintf("%s/ckpt-%08" PRId64 ".safetensors", dir, steps[i]);
        unlink(a);
        unlink(b);
        free(a);
        free(b);
    }
    free(steps);
    return 0;
}

int train_save_best(const char *dir, const TrainTensors *t, const TrainState *s, NcError *e) {
    char *path = nc_sprintf("%s/best.safetensors", dir);
    Buf img = safetensors_image(t, s->step, s);
    int rc = write_whole(path, img.p, img.len, e);
    free(img.p);
    free(path);
    return rc;
}

/* Every tensor of t from st by name (shape checked); with nclasses > 0 a
 * tensor whose first dimension is the class count may differ (a new
 * classifier) and keeps its values. */
static int read_tensors(const NcSafetensors *st, const TrainTensors *t, int nclasses, FILE *report, NcError *e) {
    for (int i = 0; i < t->n; i++) {
        const NcStTensor *x = nc_st_find(st, t->name[i]);
        if (!x) return nc_errorf(e, "%s: no tensor '%s'", st->path, t->name[i]);
        int same = x->ndim == t->ndim[i];
        for (int d = 0; same && d < x->ndim; d++) same = x->shape[d] == t->shape[i][d];
        if (!same) {
            if (nclasses > 0 && t->ndim[i] >= 1 && t->shape[i][0] == nclasses && x->ndim == t->ndim[i]) {
                if (report)
                    fprintf(report, "note: %s: '%s' is for %lld classes; re-initialised for %d\n", st->path, t->name[i],
                            (long long)x->shape[0], nclasses);
                continue;
            }
            return nc_errorf(e, "%s: tensor '%s' has another shape than the model's", st->path, t->name[i]);
        }
        if (nc_st_read_f32(st, x, t->data[i], e)) return -1;
        for (int64_t k = 0, n = numel_of(t, i); k < n; k++)
            if (!isfinite(t->data[i][k]))
                return nc_errorf(e, "%s: tensor '%s' holds a NaN or infinity at %lld", st->path, t->name[i],
                                 (long long)k);
    }
    return 0;
}

int train_init_from(const char *path, const TrainTensors *t, int nclasses, FILE *report, NcError *e) {
    NcSafetensors st;
    if (nc_st_open(path, &st, e)) return -1;
    int rc = read_tensors(&st, t, nclasses, report, e);
    for (int i = 0; i < st.ntensors && !rc; i++) { /* strict, as load_state_dict: nothing unexpected */
        const char *nm = st.tensors[i].name;
        const char *tail = strrchr(nm, '.');
        if (tail && !strcmp(tail, ".num_batches_tracked")) continue;
        int known = 0;
        for (int k = 0; k < t->n && !known; k++) known = !strcmp(t->name[k], nm);
        if (!known) rc = nc_errorf(e, "%s: tensor '%s' is not a parameter of this model", path, nm);
    }
    nc_st_close(&st);
    return rc;
}

/* One pair: its state header, optimizer state and checkpoint, all checked. */
static int resume_pair(const char *dir, int64_t step, const TrainTensors *t, TrainState *s, NcOptKind kind,
                       float *opt_state, int64_t opt_floats, uint64_t model_id, NcError *e) {
    char *spath = nc_sprintf("%s/state-%08" PRId64 ".bin", dir, step);
    char *cpath = nc_sprintf("%s/ckpt-%08" PRId64 ".safetensors", dir, step);
    char *data = NULL;
    size_t len = 0;
    /* the file is exactly its header and the optimizer's floats (checked below); a text file's limit
     * would refuse every model whose momentum passes 64 MiB (resnet18's is 89 MiB) */
    StateHeader h;
    int rc = nc_read_file_max(spath, sizeof h + (uint64_t)opt_floats * sizeof(float), "this model's training state",
                              &data, &len, e);
    if (!rc && len < sizeof h) rc = nc_errorf(e, "%s: truncated", spath);
    if (!rc) memcpy(&h, data, sizeof h);
    if (!rc && (memcmp(h.magic, STATE_MAGIC, 8) || h.version != STATE_VERSION))
        rc = nc_errorf(e, "%s: not a netc training state (version %d)", spath, STATE_VERSION);
    if (!rc && (h.model_id != model_id || h.opt_kind != (uint32_t)kind || h.opt_floats != opt_floats))
        rc = nc_errorf(e, "%s: from another model or optimizer than this program's", spath);
    if (!rc && (len != sizeof h + (size_t)opt_floats * sizeof(float) ||
                nc_bundle_checksum(data + sizeof h, len - sizeof h) != h.state_checksum))
        rc = nc_errorf(e, "%s: corrupt (size or checksum)", spath);
    NcSafetensors st;
    memset(&st, 0, sizeof st);
    if (!rc && nc_st_open(cpath, &st, e)) rc = -1;
    if (!rc && (st.size != h.ckpt_bytes || nc_bundle_checksum(st.data, st.size) != h.ckpt_checksum))
        rc = nc_errorf(e, "%s: not the checkpoint its state was written with", cpath);
    if (!rc) rc = read_tensors(&st, t, 0, NULL, e);
    if (!rc) {
        memcpy(opt_state, data + sizeof h, (size_t)opt_floats * sizeof(float));
        s->step = h.step, s->epoch = h.epoch, s->batch = h.batch;
        s->images_seen = h.images_seen, s->images_skipped = h.images_skipped, s->nan_skips = h.nan_skips;
        s->seed = h.seed, s->best_top1 = h.best_top1, s->best_step = h.best_step;
    }
    nc_st_close(&st);
    free(data);
    free(spath);
    free(cpath);
    return rc;
}

int train_resume(const char *dir, const TrainTensors *t, TrainState *s, NcOptKind kind, float *opt_state,
                 int64_t opt_floats, uint64_t model_id, NcError *e) {
    int64_t *steps;
    const int n = state_steps(dir, &steps);
    int rc = n ? -1 : nc_errorf(e, "%s: no checkpoint to resume from", dir);
    for (int i = 0; i < n && rc; i++) {
        NcError why;
        rc = resume_pair(dir, steps[i], t, s, kind, opt_state, opt_floats, model_id, &why);
        if (rc && i == 0) *e = why; /* the newest pair's reason, if none works */
        if (rc) fprintf(stderr, "warning: not resuming from step %lld: %s\n", (long long)steps[i], why.msg);
    }
    free(steps);
    return rc;
}
