/* bundle.c — opening a compiled bundle (validating every byte that could
 * send a kernel out of bounds) and running its programs. */
#define _DEFAULT_SOURCE /* madvise */
#include "runtime/bundle.h"

#include <omp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ir/ops.h"
#include "runtime/kernels.h"
#include "runtime/support/amx.h"
#include "runtime/support/file_in.h"

/* Present when the program was linked with generated kernels (codegen/cpu). */
extern const NcKernelEntry netc_kernels[] __attribute__((weak));
extern void netc_peak(int64_t rounds, float *sink) __attribute__((weak));
extern const int64_t netc_peak_flops __attribute__((weak));
extern const char netc_target[] __attribute__((weak));

/* The node record carries NcAttrs as plain bytes: a change of its layout must
 * come with a new NC_BUNDLE_VERSION (and this size). */
_Static_assert(sizeof(NcBundleNode) == 456, "NcBundleNode changed: bump NC_BUNDLE_VERSION and this size");

/* FNV-1a's step on four interleaved 8-byte lanes, folded together with the
 * tail bytes and the length: byte-at-a-time FNV-1a is a chain of dependent
 * multiplies, four chains run at memory speed, which a check at every start
 * can afford (bench/RESULTS.md).  Each step is a
 * bijection of the lane, so any one changed word always changes the sum. */
#define CHECKSUM_PRIME 0x100000001b3ull
#define CHECKSUM_LANES {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full}

/* n: a multiple of 32. */
static void checksum_lanes(uint64_t lane[4], const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        for (int k = 0; k < 4; k++) lane[k] = (lane[k] ^ w[k]) * CHECKSUM_PRIME;
    }
}

/* The sum of `len` bytes whose whole 32-byte blocks went into lane: the rest
 * (under 32 bytes) at tail. */
static uint64_t checksum_finish(const uint64_t lane[4], const unsigned char *tail, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 8; b++) h = (h ^ (unsigned char)(lane[k] >> 8 * b)) * CHECKSUM_PRIME;
    for (size_t i = 0; i < len % 32; i++) h = (h ^ tail[i]) * CHECKSUM_PRIME;
    return (h ^ (uint64_t)len) * CHECKSUM_PRIME;
}

uint64_t nc_bundle_checksum(const void *data, size_t len) {
    uint64_t lane[4] = CHECKSUM_LANES;
    checksum_lanes(lane, data, len / 32 * 32);
    return checksum_finish(lane, (const unsigned char *)data + len / 32 * 32, len);
}

/* Is [off, off + n) inside [0, len)? Overflow-safe. */
static int inside(uint64_t off, uint64_t n, uint64_t len) { return off <= len && n <= len - off; }

static int load_weights(const char *path, const NcBundleHeader *h, NcBundle *b, NcError *e) {
    if (!path) return nc_errorf(e, "the bundle keeps its weights in a separate file; none was given");
    int fd;
    uint64_t size;
    NcError why;
    if (nc_open_input(path, NC_LIMIT_WEIGHTS, "a weights file", &fd, &size, &why)) {
        size_t n = strlen(path);
        return nc_errorf(e, "%s: cannot open the weights file (compiled with --weights-external): %s", path,
                         strncmp(why.msg, path, n) ? why.msg : why.msg + n + 2);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return nc_errorf(e, "%s: cannot open the weights file: out of memory", path);
    }
    NcWeightsHeader wh;
    int rc = 0;
    if (fread(&wh, sizeof wh, 1, f) != 1 || memcmp(wh.magic, NC_WEIGHTS_MAGIC, 8))
        rc = nc_errorf(e, "%s: not a netc weights file", path);
    else if (wh.version != NC_BUNDLE_VERSION)
        rc = nc_errorf(e, "%s: weights file version %u, this program reads %u: compile the model again with this netc",
                       path, wh.version, NC_BUNDLE_VERSION);
    else if (wh.bytes != h->weights_bytes || wh.checksum != h->weights_checksum)
        rc = nc_errorf(e, "%s: these weights belong to another compiled model", path);
    else if (size - sizeof wh < wh.bytes)
        rc = nc_errorf(e, "%s: truncated weights file", path);
    if (!rc) {
        b->owned_weights = aligned_alloc(64, (size_t)((wh.bytes + 63) / 64 * 64 + 64));
        if (!b->owned_weights)
            rc = nc_errorf(e, "%s: out of memory for %llu bytes of weights", path, (unsigned long long)wh.bytes);
        else if (fread(b->owned_weights, 1, (size_t)wh.bytes, f) != wh.bytes)
            rc = nc_errorf(e, "%s: truncated weights file", path);
        else if (fgetc(f) != EOF)
            rc = nc_errorf(e, "%s: bytes after the %llu bytes of weights (not the file netc wrote)", path,
                           (unsigned long long)wh.bytes);
        else if (nc_bundle_checksum(b->owned_weights, (size_t)wh.bytes) != wh.checksum)
            rc = nc_errorf(e, "%s: weights are corrupt (checksum mismatch)", path);
    }
    fclose(f);
    b->weights = b->owned_weights;
    return rc;
}

static int value_is(const NcProgram *p, int32_t id, NcValKind kind) {
    return id >= 0 && (uint32_t)id < p->h->nvalues && p->vals[id].kind == kind;
}

/* A training step's table: every id of the right kind, every gradient shaped
 * like its parameter, every name terminated inside the names. */
static int open_train(const NcProgramHeader *h, uint64_t rest, NcProgram *p, NcError *e) {
    if (h->train_offset % 8 || !inside(h->train_offset, sizeof(NcTrainHeader), rest))
        return nc_errorf(e, "training table out of bounds");
    const NcTrainHeader *t = (const NcTrainHeader *)((const unsigned char *)h + h->train_offset);
    const uint64_t trest = rest - h->train_offset;
    if (t->nparams > 1000000 || t->nbn > 1000000 || t->params_offset % 8 || t->bns_offset % 8 ||
        !inside(t->params_offset, (uint64_t)t->nparams * sizeof(NcTrainParam), trest) ||
        !inside(t->bns_offset, (uint64_t)t->nbn * sizeof(NcTrainBn), trest) ||
        !inside(t->names_offset, t->names_bytes, trest) || !t->names_bytes)
        return nc_errorf(e, "training table out of bounds");
    p->train = t;
    p->tparams = (const NcTrainParam *)((const unsigned char *)t + t->params_offset);
    p->tbns = (const NcTrainBn *)((const unsigned char *)t + t->bns_offset);
    p->tnames = (const char *)t + t->names_offset;
    if (t->loss_kind < NC_LOSS_SOFT || t->loss_kind > NC_LOSS_FOCAL || !value_is(p, t->loss, NC_VAL_NODE) ||
        !value_is(p, t->logits, NC_VAL_NODE) || !value_is(p, t->target, NC_VAL_INPUT) ||
        !value_is(p, t->loss_grad, NC_VAL_INPUT) ||
        (t->class_weight != -1 && !value_is(p, t->class_weight, NC_VAL_INPUT)) ||
        (t->seed != -1 && !value_is(p, t->seed, NC_VAL_INPUT)) || p->vals[t->loss].ndim != 1 ||
        p->vals[t->loss].shape[0] != 1 || p->tnames[t->names_bytes - 1])
        return nc_errorf(e, "training table: bad inputs or outputs");
    for (uint32_t i = 0; i < t->nparams; i++) {
        const NcTrainParam *q = &p->tparams[i];
        if (!value_is(p, q->value, NC_VAL_PARAM) || q->name >= t->names_bytes ||
            (q->grad != -1 &&
             (!value_is(p, q->grad, NC_VAL_NODE) || !nc_shape_eq(&p->vals[q->grad], &p->vals[q->value]))))
            return nc_errorf(e, "training table: parameter %u is malformed", i);
    }
    for (uint32_t i = 0; i < t->nbn; i++) {
        const NcTrainBn *q = &p->tbns[i];
        if (!value_is(p, q->running_mean, NC_VAL_PARAM) || !value_is(p, q->running_var, NC_VAL_PARAM) ||
            !value_is(p, q->batch_mean, NC_VAL_NODE) || !value_is(p, q->batch_var, NC_VAL_NODE) || q->count < 2 ||
            nc_numel(&p->vals[q->running_mean]) != nc_numel(&p->vals[q->batch_mean]) ||
            nc_numel(&p->vals[q->running_var]) != nc_numel(&p->vals[q->batch_var]) ||
            nc_numel(&p->vals[q->running_mean]) != nc_numel(&p->vals[q->running_var]))
            return nc_errorf(e, "training table: batch norm %u is malformed", i);
    }
    return 0;
}

static int open_program(const unsigned char *base, size_t len, uint64_t off, const NcBundleHeader *bh, NcProgram *p,
                        NcError *e) {
    if (off % 8 || !inside(off, sizeof(NcProgramHeader), len)) return nc_errorf(e, "program header out of bounds");
    const NcProgramHeader *h = (const NcProgramHeader *)(base + off);
    p->h = h;
    const uint64_t rest = len - off;
    if (h->nvalues > 10000000 || h->nnodes > NC_MAX_NODES || h->ninputs < 1 || h->ninputs > 8 || h->noutputs < 1 ||
        h->noutputs > 4 || (h->ninputs > 1 && !h->train_offset))
        return nc_errorf(e, "implausible program sizes");
    if (h->values_offset % 8 || h->nodes_offset % 8 ||
        !inside(h->values_offset, (uint64_t)h->nvalues * sizeof(NcBundleValue), rest) ||
        !inside(h->nodes_offset, (uint64_t)h->nnodes * sizeof(NcBundleNode), rest) ||
        !inside(h->scopes_offset, h->scopes_bytes, rest))
        return nc_errorf(e, "program tables out of bounds");
    p->values = (const NcBundleValue *)((const unsigned char *)h + h->values_offset);
    p->nodes = (const NcBundleNode *)((const unsigned char *)h + h->nodes_offset);
    p->vals = nc_calloc(h->nvalues + 1, sizeof(NcValue));
    p->scopes = nc_calloc(h->nnodes + 1, sizeof(char *));
    for (uint32_t i = 0; i < h->nvalues; i++) {
        const NcBundleValue *bv = &p->values[i];
        NcValue *v = &p->vals[i];
        if (bv->kind < NC_VAL_INPUT || bv->kind > NC_VAL_NODE || bv->ndim < 1 || bv->ndim > NC_MAXDIM)
            return nc_errorf(e, "value %u: bad kind or rank", i);
        v->id = (int)i, v->kind = bv->kind, v->ndim = bv->ndim, v->producer = -1;
        if (bv->layout == NC_LAYOUT_NHWC && (bv->ndim != 4 || bv->kind != NC_VAL_NODE))
            return nc_errorf(e, "value %u: only a 4-D intermediate can be NHWC", i);
        v->layout = bv->layout == NC_LAYOUT_NHWC ? NC_LAYOUT_NHWC : NC_LAYOUT_NCHW;
        memcpy(v->shape, bv->shape, sizeof v->shape);
        if (!nc_shape_fits(v->ndim, v->shape)) return nc_errorf(e, "value %u: bad shape", i);
        for (int d = 0; d < v->ndim; d++)
            if (v->shape[d] < 1) return nc_errorf(e, "value %u: bad shape", i);
        uint64_t bytes = (uint64_t)nc_numel(v) * 4;
        /* reduced precision: a parameter (bf16, int8 blobs) or an activation between generated kernels (bf16) */
        const int act_bf16 = bv->kind == NC_VAL_NODE && bv->dtype == NC_BF16 && !bv->nbytes;
        if (bv->dtype != NC_F32 && !act_bf16 &&
            (bv->kind != NC_VAL_PARAM || (bv->dtype != NC_BF16 && bv->dtype != NC_I8) || bv->nbytes < 0 ||
             bv->nbytes > (int64_t)bytes + (1 << 20)))
            return nc_errorf(e, "value %u: bad dtype or size", i);
        if (bv->kind == NC_VAL_PARAM) {
            v->dtype = (NcDtype)bv->dtype, v->nbytes = bv->nbytes;
            bytes = (uint64_t)nc_param_bytes(v);
        }
        if (act_bf16) v->dtype = NC_BF16, bytes = (uint64_t)nc_act_bytes(v);
        if (bv->kind == NC_VAL_NODE &&
            (bv->offset < 0 || bv->offset % 4 || !inside((uint64_t)bv->offset, bytes, h->arena_bytes)))
            return nc_errorf(e, "value %u lies outside the arena", i);
        if (bv->kind == NC_VAL_PARAM &&
            (bv->offset < 0 || bv->offset % 4 || !inside((uint64_t)bv->offset, bytes, bh->weights_bytes)))
            return nc_errorf(e, "parameter %u lies outside the weights", i);
    }
    const int64_t ishape[4] = {h->batch, 3, h->height, h->width};
    for (uint32_t i = 0; i < h->ninputs + h->noutputs; i++) {
        int id = i < h->ninputs ? h->inputs[i] : h->outputs[i - h->ninputs];
        if (id < 0 || (uint32_t)id >= h->nvalues) return nc_errorf(e, "program input/output out of range");
    }
    const NcValue *iv = &p->vals[h->inputs[0]];
    if (iv->kind != NC_VAL_INPUT || iv->ndim != 4 || memcmp(iv->shape, ishape, sizeof ishape))
        return nc_errorf(e, "program input does not match its size");
    if (h->member < 0 || (uint32_t)h->member >= bh->nmembers) return nc_errorf(e, "member index out of range");
    const NcBundleMember *mb = &bh->members[h->member];
    for (uint32_t i = 1; i < h->ninputs; i++)
        if (p->vals[h->inputs[i]].kind != NC_VAL_INPUT) return nc_errorf(e, "program input %u is not an input", i);
    if (h->train_offset && open_train(h, rest, p, e)) return -1;
    const NcValue *ov = &p->vals[p->train ? p->train->logits : h->outputs[0]];
    if (ov->kind != NC_VAL_NODE || ov->dtype != NC_F32 || ov->shape[0] != h->batch ||
        nc_numel(ov) / h->batch != mb->nclasses)
        return nc_errorf(e, "program output is not [batch, %d classes]", mb->nclasses);
    if (h->features != -1) {
        const NcValue *fv = h->features >= 0 && (uint32_t)h->features < h->nvalues ? &p->vals[h->features] : NULL;
        if (!fv || fv->kind != NC_VAL_NODE || fv->dtype != NC_F32 || fv->ndim != 2 || fv->shape[0] != h->batch ||
            fv->shape[1] != mb->nfeatures)
            return nc_errorf(e, "program features are not [batch, %d]", mb->nfeatures);
    }
    /* every node must pass its op's own shape rule on these values */
    const char *s = (const char *)h + h->scopes_offset, *end = s + h->scopes_bytes;
    for (uint32_t ni = 0; ni < h->nnodes; ni++) {
        const NcBundleNode *n = &p->nodes[ni];
        if (n->op < 0 || n->op >= NC_OP_COUNT || n->ninputs < nc_op_info((NcOpKind)n->op)->min_inputs ||
            n->ninputs > NC_MAXIN || n->noutputs < 1 || n->noutputs > NC_MAXOUT)
            return nc_errorf(e, "node %u: bad op or arity", ni);
        const NcValue *in[NC_MAXIN];
        for (int j = 0; j < n->ninputs + n->noutputs; j++) {
            int id = j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs];
            if (id < 0 || (uint32_t)id >= h->nvalues) return nc_errorf(e, "node %u: value out of range", ni);
            if (j < n->ninputs)
                in[j] = &p->vals[id];
            else if (p->vals[id].kind != NC_VAL_NODE)
                return nc_errorf(e, "node %u writes a non-intermediate", ni);
        }
        const NcOpInfo *info = nc_op_info((NcOpKind)n->op);
        int ond[NC_MAXOUT];
        int64_t os[NC_MAXOUT][NC_MAXDIM];
        memset(os, 0, sizeof os);
        NcError se;
        if (n->ninputs < info->min_inputs || n->ninputs > info->max_inputs ||
            info->shape(in, n->ninputs, &n->attrs, ond, os, &se) != n->noutputs)
            return nc_errorf(e, "node %u (%s) is inconsistent", ni, info->name);
        for (int j = 0; j < n->noutputs; j++) {
            const NcValue *o = &p->vals[n->outputs[j]];
            if (o->ndim != ond[j] || memcmp(o->shape, os[j], (size_t)ond[j] * sizeof(int64_t)))
                return nc_errorf(e, "node %u (%s): output shape disagrees with the op", ni, info->name);
        }
        const char *z = memchr(s, 0, (size_t)(end - s));
        if (!z) return nc_errorf(e, "scope strings truncated");
        p->scopes[ni] = s;
        s = z + 1;
    }
    return 0;
}

/* Reused between runs: a fresh malloc of tens of MB per run would be a fresh
 * mmap, and page faults would cost as much as the convolution. */
struct NcScratch {
    float *data;
    size_t cap;
};

/* Weights the generated kernels want transformed (kernels.h wprep), once per
 * stored tensor: programs at several resolutions read one copy. */
static void prepare_weights(NcBundle *b) {
    const NcKernelEntry *kernels = netc_kernels;
    if (!kernels) return;
    int cap = 0;
    const float **src = NULL;
    for (int pi = 0; pi < b->nprograms; kernels += b->programs[pi].h->nnodes, pi++) {
        NcProgram *p = &b->programs[pi];
        p->wprepped = nc_calloc(p->h->nnodes + 1, sizeof(float *));
        for (uint32_t ni = 0; ni < p->h->nnodes; ni++) {
            const NcKernelEntry *k = &kernels[ni];
            const NcBundleNode *n = &p->nodes[ni];
            if (!k->wprep || n->ninputs < 2) continue;
            const float *w = (const float *)(b->weights + p->values[n->inputs[1]].offset);
            /* the same stored weights under the same transform (another
             * resolution's program) share one buffer */
            for (int q = 0; q < b->nprepped && !p->wprepped[ni]; q++)
                if (src[q] == w && b->prepped_by[q] == (void *)k->wprep) p->wprepped[ni] = b->prepped[q];
            if (p->wprepped[ni]) continue;
            if (b->nprepped == cap) {
                cap = cap ? 2 * cap : 16;
                b->prepped = realloc(b->prepped, (size_t)cap * sizeof *b->prepped);
                b->prepped_by = realloc(b->prepped_by, (size_t)cap * sizeof *b->prepped_by);
                src = realloc(src, (size_t)cap * sizeof *src);
                NC_CHECK(b->prepped && b->prepped_by && src);
            }
            float *buf = nc_malloc((size_t)k->wfloats * sizeof(float));
            const float *in[NC_MAXIN] = {NULL, w};
            float *out[1] = {buf};
            const int64_t tiles = k->wprep_tiles;
#pragma omp parallel for schedule(dynamic)
            for (int64_t t = 0; t < tiles; t++) k->wprep(in, out, t, t + 1);
            src[b->nprepped] = w;
            b->prepped_by[b->nprepped] = (void *)k->wprep;
            b->prepped[b->nprepped++] = buf;
            p->wprepped[ni] = buf;
            /* Nothing reads the stored filter again: when it lies in the
             * program's own mapped file, hand its whole pages back (they
             * would be read again from the file if ever touched). */
            if (!b->owned_weights) {
                const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = ((uintptr_t)w + page - 1) / page * page;
                const uintptr_t hi =
                    ((uintptr_t)w + (uintptr_t)nc_numel(&p->vals[n->inputs[1]]) * sizeof(float)) / page * page;
                if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
            }
        }
    }
    free(src);
}

/* The weights inside the program against their checksum.  Reading them maps
 * every page in; in a compiled program (kernels linked, the bundle in its
 * own read-only file mapping, as prepare_weights assumes) each stretch is
 * handed back once summed, so that neither the peak nor the lasting memory
 * grows by the weights' size: pages of the file come back from the page
 * cache when a kernel touches them.  Elsewhere (a bundle read into memory)
 * dropping pages would lose them. */
static int verify_embedded(const NcBundle *b, NcError *e) {
    const unsigned char *p = b->weights;
    const size_t len = (size_t)b->h->weights_bytes, whole = len / 32 * 32;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), stretch = 256 * page;
    uint64_t lane[4] = CHECKSUM_LANES;
    for (size_t at = 0; at < whole;) {
        /* stretches end on page boundaries (multiples of 32 after the 64-aligned start) */
        const uintptr_t from = (uintptr_t)(p + at), to = (from + stretch) / page * page;
        const size_t n = to - from < whole - at ? (size_t)(to - from) : whole - at;
        checksum_lanes(lane, p + at, n);
        const uintptr_t lo = (from + page - 1) / page * page, hi = (from + n) / page * page;
        if (netc_kernels && hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        at += n;
    }
    if (checksum_finish(lane, p + whole, len) != b->h->weights_checksum)
        return nc_errorf(e, "embedded weights are corrupt (checksum mismatch): the program was changed after netc "
                            "compiled it");
    return 0;
}

int nc_bundle_open(const void *data, size_t len, const char *weights_path, NcBundle *b, NcError *e) {
    memset(b, 0, sizeof *b);
    const unsigned char *base = data;
    if (len < sizeof(NcBundleHeader) || memcmp(base, NC_BUNDLE_MAGIC, 8)) return nc_errorf(e, "not a netc bundle");
    const NcBundleHeader *h = data;
    if (h->version != NC_BUNDLE_VERSION)
        return nc_errorf(e, "bundle version %u, this runtime reads version %u: compile the model again with this netc",
                         h->version, NC_BUNDLE_VERSION);
    if (h->nprograms < 1 || h->nprograms > NC_BUNDLE_MAX_PROGRAMS)
        return nc_errorf(e, "bundle has %u programs", h->nprograms);
    if (memchr(h->model, 0, sizeof h->model) == NULL) return nc_errorf(e, "bundle model name is not terminated");
    if (h->nmembers < 1 || h->nmembers > NC_BUNDLE_MAX_MEMBERS || h->merge < NC_MERGE_MEAN ||
        h->merge > NC_MERGE_WEIGHTED || h->nclasses < 1 || h->nclasses > 10000000)
        return nc_errorf(e, "bundle has a bad member table");
    for (uint32_t i = 0; i < h->nmembers; i++) {
        const NcBundleMember *m = &h->members[i];
        if (!memchr(m->name, 0, sizeof m->name) || m->nclasses != h->nclasses || m->nfeatures < 0 ||
            !(m->crop_pct >= 0.05 && m->crop_pct <= 4) || (m->interp != 0 && m->interp != 1) ||
            !(m->weight >= 0 && m->weight < 1e6))
            return nc_errorf(e, "bundle member %u is malformed", i);
        for (int c = 0; c < 3; c++)
            if (!(m->std[c] > 0 && m->std[c] < 1e3) || !(m->mean[c] > -1e3 && m->mean[c] < 1e3))
                return nc_errorf(e, "bundle member %u has bad mean/std", i);
    }
    b->h = h;
    b->nprograms = (int)h->nprograms;
    b->scratch = nc_calloc(1, sizeof *b->scratch);
    int rc = 0;
    if (h->labels_offset) {
        /* nclasses NUL-terminated names, back to back, nothing after */
        int ok = inside(h->labels_offset, h->labels_bytes, len);
        if (!ok) rc = nc_errorf(e, "labels out of bounds");
        const char *s = ok ? (const char *)base + h->labels_offset : NULL, *end = ok ? s + h->labels_bytes : NULL;
        b->labels = nc_calloc((size_t)h->nclasses, sizeof(char *));
        for (int32_t i = 0; i < h->nclasses && ok && !rc; i++) {
            const char *z = memchr(s, 0, (size_t)(end - s));
            if (!z)
                rc = nc_errorf(e, "labels truncated (%d of %d names)", i, h->nclasses);
            else
                b->labels[i] = s, s = z + 1;
        }
        if (!rc && s != end) rc = nc_errorf(e, "labels: more names than the %d classes", h->nclasses);
    }
    if (rc) {
    } else if (h->weights_offset) {
        if (h->weights_offset % 64 || !inside(h->weights_offset, h->weights_bytes, len))
            rc = nc_errorf(e, "weights out of bounds");
        else
            b->weights = base + h->weights_offset;
    } else {
        rc = load_weights(weights_path, h, b, e);
    }
    for (int i = 0; i < b->nprograms && !rc; i++) {
        rc = open_program(base, len, h->program_offset[i], h, &b->programs[i], e);
        if (rc) nc_error_prefix(e, "program %d", i);
    }
    for (uint32_t m = 0; m < h->nmembers && !rc; m++) {
        int has = 0;
        for (int i = 0; i < b->nprograms; i++) has |= b->programs[i].h->member == (int32_t)m;
        if (!has) rc = nc_errorf(e, "bundle member %u has no program", m);
    }
    /* a parameter in bf16 or int8 is read by its generated kernel alone: the reference kernels take f32 */
    const NcKernelEntry *kernels = netc_kernels;
    for (int pi = 0; pi < b->nprograms && !rc; kernels = kernels ? kernels + b->programs[pi].h->nnodes : NULL, pi++)
        for (uint32_t ni = 0; ni < b->programs[pi].h->nnodes && !rc; ni++) {
            const NcBundleNode *n = &b->programs[pi].nodes[ni];
            for (int j = 0; j < n->ninputs + n->noutputs && !rc; j++)
                if (b->programs[pi].vals[j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs]].dtype != NC_F32 &&
                    (!kernels || !kernels[ni].stage[0]))
                    rc = nc_errorf(e, "program %d node %u: a reduced-precision value without its generated kernel", pi,
                                   ni);
        }
    /* kernels using AMX tiles need the process's permission first (runtime/support/amx.h) */
    kernels = netc_kernels;
    for (int pi = 0; pi < b->nprograms && !rc && kernels; kernels += b->programs[pi].h->nnodes, pi++)
        for (uint32_t ni = 0; ni < b->programs[pi].h->nnodes && !rc; ni++)
            if (kernels[ni].stage[0] && kernels[ni].isa && strstr(kernels[ni].isa, "amx")) {
                rc = nc_amx_enable(e);
                break;
            }
    /* last, so that a fuzzed header still reaches every table's checks */
    if (!rc && h->weights_offset) rc = verify_embedded(b, e);
    if (!rc) prepare_weights(b);
    if (rc) nc_bundle_close(b);
    return rc;
}

void nc_bundle_close(NcBundle *b) {
    for (int i = 0; i < NC_BUNDLE_MAX_PROGRAMS; i++) {
        free(b->programs[i].vals);
        free(b->programs[i].scopes);
        free(b->programs[i].wprepped);
    }
    for (int i = 0; i < b->nprepped; i++) free(b->prepped[i]);
    free(b->prepped);
    free(b->prepped_by);
    free(b->owned_weights);
    free(b->labels);
    if (b->scratch) free(b->scratch->data);
    free(b->scratch);
    memset(b, 0, sizeof *b);
}

/* The bundle's scratch (kept between runs) grown to at least `need` floats;
 * what it held is not kept. */
static void reserve(float **scratch, size_t *cap, size_t need) {
    if (need <= *cap) return;
    free(*scratch);
    *scratch = nc_malloc(need * sizeof(float));
    *cap = need;
}

/* Tile scheduling.  A kernel's tiles run in 64 chunks (fewer for small
 * kernels); thread k of T first takes the chunks of the k-th contiguous
 * share, front to back, then whatever is left of the others' shares.  As
 * every kernel's tiles run in the same order over its output (image, row,
 * channel block), thread k writes roughly the same region of each
 * activation that it reads of the previous one, from its own core's L2,
 * where schedule(dynamic) dealt chunks to whichever thread was free; the
 * stealing keeps the balance dynamic scheduling gave on a shared machine
 * where one thread may be descheduled. */
#define SCHED_MAX_SHARES 64

typedef struct TileSched {
    int64_t tiles, chunk;
    int shares;
    int64_t next[SCHED_MAX_SHARES], end[SCHED_MAX_SHARES]; /* chunk indices per share */
} TileSched;

static void sched_init(TileSched *s, int64_t tiles) {
    const int64_t chunks_wanted = 64;
    s->tiles = tiles;
    s->chunk = tiles / chunks_wanted > 0 ? tiles / chunks_wanted : 1;
    const int64_t nchunks = (tiles + s->chunk - 1) / s->chunk;
    int t = omp_get_max_threads();
    s->shares = t < 1 ? 1 : t > SCHED_MAX_SHARES ? SCHED_MAX_SHARES : t;
    for (int k = 0; k < s->shares; k++) s->next[k] = nchunks * k / s->shares, s->end[k] = nchunks * (k + 1) / s->shares;
}

/* The next tile range [*t0, *t1) for the calling thread; *cur (start at 0)
 * is how many shares it has exhausted.  Returns 0 when none is left. */
static int sched_next(TileSched *s, int *cur, int64_t *t0, int64_t *t1) {
    const int me = omp_get_thread_num();
    for (; *cur < s->shares; (*cur)++) {
        const int sh = (me + *cur) % s->shares;
        if (__atomic_load_n(&s->next[sh], __ATOMIC_RELAXED) >= s->end[sh]) continue;
        const int64_t c = __atomic_fetch_add(&s->next[sh], 1, __ATOMIC_RELAXED);
        if (c >= s->end[sh]) continue;
        *t0 = c * s->chunk;
        *t1 = *t0 + s->chunk < s->tiles ? *t0 + s->chunk : s->tiles;
        return 1;
    }
    return 0;
}

/* A generated kernel (kernels.h): one parallel region, a barrier between
 * stages. */
static void run_generated(const NcKernelEntry *k, const NcProgram *p, uint32_t ni, const NcBundleNode *n,
                          float *const *buf, float **scratch, size_t *cap) {
    if (k->scratch) reserve(scratch, cap, (size_t)k->scratch + NC_KERNEL_SLACK);
    const float *in[NC_MAXIN];
    float *out[NC_MAXOUT + 1];
    for (int j = 0; j < n->ninputs; j++) in[j] = buf[n->inputs[j]];
    for (int j = 0; j < n->noutputs; j++) out[j] = buf[n->outputs[j]];
    out[n->noutputs] = *scratch;
    if (p->wprepped && p->wprepped[ni]) in[1] = p->wprepped[ni];
    TileSched sc[3];
    int nstages = 0;
    while (nstages < 3 && k->stage[nstages]) sched_init(&sc[nstages], k->tiles[nstages]), nstages++;
#pragma omp parallel
    for (int s = 0; s < nstages; s++) {
        int cur = 0;
        for (int64_t t0, t1; sched_next(&sc[s], &cur, &t0, &t1);) k->stage[s](in, out, t0, t1);
        if (s + 1 < nstages) {
#pragma omp barrier
        }
    }
}

static void run_nodes(const NcBundle *b, int pi, const float *const *inputs, void *arena, double *per_node,
                      float **buf);

static void run(const NcBundle *b, int pi, const float *input, float *output, void *arena, double *per_node) {
    if (b->exec) {
        b->exec->run(b->exec->ctx, b, pi, &input, output, arena, per_node);
        return;
    }
    const NcProgram *p = &b->programs[pi];
    float **buf = nc_malloc((size_t)p->h->nvalues * sizeof(float *));
    run_nodes(b, pi, &input, arena, per_node, buf);
    const NcValue *ov = &p->vals[p->h->outputs[0]];
    memcpy(output, buf[ov->id], (size_t)nc_numel(ov) * sizeof(float));
    free(buf);
}

void nc_bundle_run_inputs(const NcBundle *b, int pi, const float *const *inputs, void *arena, double *per_node) {
    if (b->exec) {
        b->exec->run(b->exec->ctx, b, pi, inputs, NULL, arena, per_node);
        return;
    }
    float **buf = nc_malloc((size_t)b->programs[pi].h->nvalues * sizeof(float *));
    run_nodes(b, pi, inputs, arena, per_node, buf);
    free(buf);
}

float *nc_bundle_value(const NcBundle *b, int pi, int v, void *arena) {
    const NcBundleValue *bv = &b->programs[pi].values[v];
    NC_CHECK(bv->kind != NC_VAL_INPUT);
    return bv->kind == NC_VAL_NODE ? (float *)((char *)arena + bv->offset) : (float *)(b->weights + bv->offset);
}

unsigned char *nc_bundle_own_weights(NcBundle *b) {
    if (!b->owned_weights) {
        b->owned_weights = aligned_alloc(64, (size_t)((b->h->weights_bytes + 63) / 64 * 64 + 64));
        if (!b->owned_weights)
            NC_FATAL("out of memory for %llu bytes of weights", (unsigned long long)b->h->weights_bytes);
        memcpy(b->owned_weights, b->weights, (size_t)b->h->weights_bytes);
        b->weights = b->owned_weights;
    }
    return b->owned_weights;
}

/* buf[v]: where value v lies (inputs where the caller's pointers say). */
static void run_nodes(const NcBundle *b, int pi, const float *const *inputs, void *arena, double *per_node,
                      float **buf) {
    const NcProgram *p = &b->programs[pi];
    const NcProgramHeader *h = p->h;
    const NcKernelEntry *kernels = netc_kernels;
    if (kernels)
        for (int i = 0; i < pi; i++) kernels += b->programs[i].h->nnodes;
    float *scratch = b->scratch->data;
    size_t cap = b->scratch->cap;
    for (uint32_t i = 0; i < h->nvalues; i++) {
        const NcBundleValue *v = &p->values[i];
        buf[i] = v->kind == NC_VAL_NODE    ? (float *)((char *)arena + v->offset)
                 : v->kind == NC_VAL_PARAM ? (float *)(b->weights + v->offset)
                                           : NULL;
    }
    for (uint32_t i = 0; i < h->ninputs; i++) buf[h->inputs[i]] = (float *)inputs[i];
    for (uint32_t ni = 0; ni < h->nnodes; ni++) {
        const NcBundleNode *n = &p->nodes[ni];
        NcNode node;
        memset(&node, 0, sizeof node);
        node.op = (NcOpKind)n->op, node.ninputs = n->ninputs, node.noutputs = n->noutputs, node.attrs = n->attrs;
        memcpy(node.inputs, n->inputs, sizeof node.inputs);
        memcpy(node.outputs, n->outputs, sizeof node.outputs);
        NcKernelArgs k;
        memset(&k, 0, sizeof k);
        k.node = &node;
        for (int j = 0; j < n->ninputs; j++) k.in_v[j] = &p->vals[n->inputs[j]], k.in[j] = buf[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++) k.out_v[j] = &p->vals[n->outputs[j]], k.out[j] = buf[n->outputs[j]];
        if (n->op == NC_OP_RESHAPE && k.out[0] == k.in[0]) continue; /* a planned view */
        if (n->op == NC_OP_SPLIT && nc_split_in_place(&k)) continue; /* its pieces are views too */
        double t0 = per_node ? nc_now() : 0;
        if (kernels && kernels[ni].stage[0])
            run_generated(&kernels[ni], p, ni, n, buf, &scratch, &cap);
        else
            nc_ref_run(&k);
        if (per_node) per_node[ni] += nc_now() - t0;
    }
    b->scratch->data = scratch;
    b->scratch->cap = cap;
}

const float *nc_bundle_features(const NcBundle *b, int p, const void *arena) {
    const NcProgramHeader *h = b->programs[p].h;
    if (h->features < 0) return NULL;
    return (const float *)((const char *)arena + b->programs[p].values[h->features].offset);
}

void nc_bundle_run(const NcBundle *b, int p, const float *input, float *output, void *arena) {
    run(b, p, input, output, arena, NULL);
}

void nc_bundle_run_profiled(const NcBundle *b, int p, const float *input, float *output, void *arena,
                            double *per_node) {
    run(b, p, input, output, arena, per_node);
}

/* Node `node`'s generated kernel, NULL where a reference kernel runs
 * (*view: nothing runs, a reshape planned in place). */
static const NcKernelEntry *kernel_of(const NcBundle *b, int pi, uint32_t node, int *view) {
    const NcBundleNode *n = &b->programs[pi].nodes[node];
    const NcBundleValue *v = b->programs[pi].values;
    *view = n->op == NC_OP_RESHAPE && v[n->inputs[0]].kind == NC_VAL_NODE &&
            v[n->outputs[0]].offset == v[n->inputs[0]].offset;
    if (*view || !netc_kernels) return NULL;
    const NcKernelEntry *k = netc_kernels;
    for (int i = 0; i < pi; i++) k += b->programs[i].h->nnodes;
    k += node;
    return k->stage[0] ? k : NULL;
}

const char *nc_bundle_kernel_kind(const NcBundle *b, int pi, uint32_t node) {
    int view;
    const NcKernelEntry *k = kernel_of(b, pi, node, &view);
    if (view) return "view"; /* planned in place: nothing runs */
    if (b->exec) return b->exec->kind(b->exec->ctx, b, pi, node);
    if (!k) return "reference";
    return k->kind ? k->kind : "generated";
}

const char *nc_bundle_kernel_isa(const NcBundle *b, int pi, uint32_t node) {
    int view;
    const NcKernelEntry *k = kernel_of(b, pi, node, &view);
    if (b->exec && !view) return "device"; /* a device's executor runs it (--target cuda) */
    return k && k->isa ? k->isa : "-";
}

const char *nc_bundle_kernel_precision(const NcBundle *b, int pi, uint32_t node) {
    int view;
    const NcKernelEntry *k = kernel_of(b, pi, node, &view);
    return view ? "-" : k && k->precision ? k->precision : "f32";
}

const char *nc_bundle_kernel_act(const NcBundle *b, int pi, uint32_t node) {
    static const char *const names[2][2] = {{"f32>f32", "f32>bf16"}, {"bf16>f32", "bf16>bf16"}};
    const NcBundleNode *n = &b->programs[pi].nodes[node];
    const NcValue *v = b->programs[pi].vals;
    return names[v[n->inputs[0]].dtype == NC_BF16][v[n->outputs[0]].dtype == NC_BF16];
}

const char *nc_bundle_target(void) { return netc_target; /* NULL when the program has none (weak) */ }

double nc_bundle_peak_gflops(void) {
    if (!netc_peak || !&netc_peak_flops) return 0;
    const int64_t rounds = 2000000;
    double best = 0; /* best of 10: the peak is what the cores do when nothing else runs */
    for (int rep = 0; rep < 10; rep++) {
        double t0 = nc_now();
        int threads = 1;
#pragma omp parallel
        {
            float sink[16];
            netc_peak(rounds, sink);
#pragma omp single
            threads = omp_get_num_threads();
        }
        const double g = (double)threads * (double)rounds * (double)netc_peak_flops / (nc_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}
