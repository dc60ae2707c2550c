#include "codegen/bundle_writer.h"

#include <string.h>

#include "ir/ops.h"
#include "runtime/bundle.h"
#include "runtime/kernels.h"

typedef struct Buf {
    unsigned char *p;
    size_t len, cap;
} Buf;

static size_t put(Buf *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap) b->cap = b->cap ? 2 * b->cap : 1 << 16;
        b->p = nc_realloc(b->p, b->cap);
    }
    size_t at = b->len;
    if (data)
        memcpy(b->p + at, data, n);
    else
        memset(b->p + at, 0, n);
    b->len += n;
    return at;
}
static void align(Buf *b, size_t a) {
    if (b->len % a) put(b, NULL, a - b->len % a);
}

/* Weights: every parameter once (by name), 64-byte aligned. */
typedef struct Weights {
    Buf blob;
    NC_VEC(const NcValue *) params;
    NC_VEC(int) member;
    NC_VEC(int64_t) offsets;
} Weights;

/* A member's programs at several resolutions share one copy of each parameter where its bytes are the
 * same; a filter packed for a different register block (AVX-512's panels are chosen per GEMM shape, so
 * per resolution: cg_gemm.c block_avx512) gets its own copy. */
static int64_t weight_offset(Weights *w, int member, const NcValue *v, NcError *e) {
    for (int i = 0; i < w->params.len; i++)
        if (w->member.data[i] == member && !strcmp(w->params.data[i]->name, v->name)) {
            if (!nc_shape_eq(w->params.data[i], v) || w->params.data[i]->dtype != v->dtype ||
                nc_param_bytes(w->params.data[i]) != nc_param_bytes(v))
                return nc_errorf(e, "parameter '%s' differs between resolutions", v->name);
            if (w->params.data[i]->data && v->data &&
                !memcmp(w->params.data[i]->data, v->data, (size_t)nc_param_bytes(v)))
                return w->offsets.data[i];
        }
    if (!v->data) return nc_errorf(e, "parameter '%s' has no data", v->name);
    align(&w->blob, 64);
    int64_t off = (int64_t)put(&w->blob, v->data, (size_t)nc_param_bytes(v)); /* bf16 / int8: fewer bytes */
    nc_vec_push(&w->params, v);
    nc_vec_push(&w->member, member);
    nc_vec_push(&w->offsets, off);
    return off;
}

int nc_graph_features(const NcGraph *g) {
    if (g->outputs.len < 1) return -1;
    const NcValue *out = nc_val(g, g->outputs.data[g->train_step ? 1 : 0]);
    if (out->producer < 0) return -1;
    const NcNode *nd = &g->nodes.data[out->producer];
    if (nd->op != NC_OP_LINEAR || nd->attrs.nepi) return -1;
    const NcValue *f = nc_val(g, nd->inputs[0]);
    return f->kind == NC_VAL_NODE && f->ndim == 2 ? f->id : -1;
}

/* The logits: a training step's second output, an inference program's first. */
static const NcValue *logits_of(const NcGraph *g, const NcBundleSpec *spec) {
    return nc_val(g, g->outputs.data[g->train_step ? 1 : 0]);
}

/* The member table: names, merge weights, preprocessing, sizes. */
static int fill_members(NcBundleHeader *bh, const NcBundleSpec *spec, NcGraph *const *graphs, int n, NcError *e) {
    if (spec->nmembers < 1 || spec->nmembers > NC_BUNDLE_MAX_MEMBERS)
        return nc_errorf(e, "%d models (1 to %d)", spec->nmembers, NC_BUNDLE_MAX_MEMBERS);
    bh->nmembers = (uint32_t)spec->nmembers;
    bh->merge = spec->merge, bh->on_probs = spec->on_probs;
    for (int m = 0; m < spec->nmembers; m++) {
        const NcGraph *g = NULL;
        for (int i = 0; i < n && !g; i++)
            if ((spec->member_of ? spec->member_of[i] : 0) == m) g = graphs[i];
        if (!g) return nc_errorf(e, "model %d has no resolution", m);
        NcBundleMember *mb = &bh->members[m];
        snprintf(mb->name, sizeof mb->name, "%s", spec->member_name[m] ? spec->member_name[m] : g->name);
        mb->weight = spec->weight[m];
        mb->crop_pct = g->pre.crop_pct, mb->interp = g->pre.interp;
        memcpy(mb->mean, g->pre.mean, sizeof mb->mean);
        memcpy(mb->std, g->pre.std, sizeof mb->std);
        const NcValue *out = logits_of(g, spec);
        mb->nclasses = (int32_t)(nc_numel(out) / out->shape[0]);
        int f = nc_graph_features(g);
        mb->nfeatures = f >= 0 ? (int32_t)nc_val(g, f)->shape[1] : 0;
        if (m == 0)
            bh->nclasses = mb->nclasses;
        else if (mb->nclasses != bh->nclasses)
            return nc_errorf(e, "model '%s' has %d classes, '%s' has %d: an ensemble's models must agree", mb->name,
                             mb->nclasses, bh->members[0].name, bh->nclasses);
    }
    for (int i = 0; i < n; i++) {
        const NcGraph *g = graphs[i];
        int m = spec->member_of ? spec->member_of[i] : 0;
        int f = nc_graph_features(g);
        if ((f >= 0 ? nc_val(g, f)->shape[1] : 0) != bh->members[m].nfeatures ||
            nc_numel(logits_of(g, spec)) / logits_of(g, spec)->shape[0] != bh->members[m].nclasses)
            return nc_errorf(e, "the resolutions of model '%s' disagree in their outputs", bh->members[m].name);
    }
    return 0;
}

/* Labels: one name per line (a trailing newline, CRLF and a UTF-8 BOM are
 * fine), exactly nclasses of them, none empty. */
static int put_labels(Buf *b, const char *text, int nclasses, NcError *e) {
    if (!strncmp(text, "\xEF\xBB\xBF", 3)) text += 3;
    int count = 0;
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        const char *next = nl ? nl + 1 : s + len;
        if (len && s[len - 1] == '\r') len--;
        if (!nl && !len) break;
        if (!len) return nc_errorf(e, "line %d is empty (one class name per line)", count + 1);
        if (memchr(s, 0, len)) return nc_errorf(e, "line %d holds a NUL byte", count + 1);
        if (++count > nclasses) break;
        put(b, s, len);
        put(b, "", 1);
        s = next;
    }
    if (count != nclasses)
        return nc_errorf(e, "%s%d names for a model of %d classes", count > nclasses ? "more than " : "",
                         count > nclasses ? nclasses : count, nclasses);
    return 0;
}

/* A training step's table (runtime/bundle.h NcTrainHeader), after the program's other tables. */
static int put_train(Buf *b, size_t ph_at, NcProgramHeader *ph, const NcGraph *g, const NcBundleSpec *spec,
                     const NcTrainInfo *ti, NcError *e) {
    const int ngrad = ti->nparams;
    if (g->outputs.len != 2 + ngrad + 2 * ti->nbn || g->inputs.len > 8)
        return nc_errorf(e, "internal error: the training graph's outputs do not match its description");
    align(b, 8);
    const size_t th_at = put(b, NULL, sizeof(NcTrainHeader));
    ph->train_offset = th_at - ph_at;
    NcTrainHeader th;
    memset(&th, 0, sizeof th);
    th.loss_kind = spec->train_spec->loss, th.smoothing = spec->train_spec->smoothing;
    th.gamma = spec->train_spec->gamma, th.freeze_features = spec->train_spec->freeze_features;
    th.loss = g->outputs.data[0], th.logits = g->outputs.data[1];
    th.target = g->inputs.data[1], th.loss_grad = g->inputs.data[2];
    th.class_weight = ti->has_class_weight ? g->inputs.data[3] : -1;
    th.seed = ti->has_seed ? g->inputs.data[3 + ti->has_class_weight] : -1;
    /* names: every parameter's, in value order */
    Buf names = {0};
    NC_VEC(NcTrainParam) params = {0};
    for (int v = 0; v < g->values.len; v++) {
        const NcValue *pv = nc_val(g, v);
        if (pv->kind != NC_VAL_PARAM) continue;
        NcTrainParam q = {v, -1, (uint32_t)names.len, 0};
        for (int i = 0; i < ngrad; i++)
            if (!strcmp(ti->param[i], pv->name)) q.grad = g->outputs.data[2 + i];
        put(&names, pv->name, strlen(pv->name) + 1);
        nc_vec_push(&params, q);
    }
    th.nparams = (uint32_t)params.len;
    align(b, 8);
    th.params_offset = b->len - th_at;
    put(b, params.data, (size_t)params.len * sizeof(NcTrainParam));
    align(b, 8);
    th.bns_offset = b->len - th_at;
    th.nbn = (uint32_t)ti->nbn;
    int rc = 0;
    for (int i = 0; i < ti->nbn && !rc; i++) {
        NcTrainBn q;
        memset(&q, 0, sizeof q);
        q.running_mean = nc_graph_find_param(g, ti->bn[2 * i]);
        q.running_var = nc_graph_find_param(g, ti->bn[2 * i + 1]);
        q.batch_mean = g->outputs.data[2 + ngrad + 2 * i], q.batch_var = g->outputs.data[3 + ngrad + 2 * i];
        const NcValue *bm = nc_val(g, q.batch_mean);
        const NcNode *bn = bm->producer >= 0 ? &g->nodes.data[bm->producer] : NULL;
        if (q.running_mean < 0 || q.running_var < 0 || !bn || bn->op != NC_OP_BATCH_NORM_TRAIN) {
            rc = nc_errorf(e, "internal error: batch norm '%s' lost in the training graph", ti->bn[2 * i]);
            break;
        }
        q.count = nc_numel(nc_val(g, bn->inputs[0])) / bm->shape[0];
        put(b, &q, sizeof q);
    }
    th.names_offset = b->len - th_at;
    th.names_bytes = names.len;
    put(b, names.p, names.len);
    memcpy(b->p + th_at, &th, sizeof th);
    free(names.p);
    free(params.data);
    return rc;
}

int nc_bundle_write(const char *path, const char *weights_path, const NcBundleSpec *spec, NcGraph *const *graphs,
                    const NcPlan *plans, int n, NcError *e) {
    if (n < 1 || n > NC_BUNDLE_MAX_PROGRAMS) return nc_errorf(e, "%d programs (1 to %d)", n, NC_BUNDLE_MAX_PROGRAMS);
    Buf b = {0};
    Weights w;
    memset(&w, 0, sizeof w);
    NcBundleHeader bh;
    memset(&bh, 0, sizeof bh);
    memcpy(bh.magic, NC_BUNDLE_MAGIC, 8);
    bh.version = NC_BUNDLE_VERSION;
    bh.nprograms = (uint32_t)n;
    snprintf(bh.model, sizeof bh.model, "%s", spec->name ? spec->name : graphs[0]->name);
    if (fill_members(&bh, spec, graphs, n, e)) return -1;
    put(&b, &bh, sizeof bh);
    int rc = 0;
    if (spec->labels) {
        bh.labels_offset = b.len;
        if (put_labels(&b, spec->labels, bh.nclasses, e)) {
            free(b.p);
            return nc_error_prefix(e, "%s", spec->labels_path ? spec->labels_path : "labels"), -1;
        }
        ((NcBundleHeader *)b.p)->labels_offset = bh.labels_offset;
        ((NcBundleHeader *)b.p)->labels_bytes = b.len - bh.labels_offset;
    }
    for (int gi = 0; gi < n && !rc; gi++) {
        const NcGraph *g = graphs[gi];
        const int member = spec->member_of ? spec->member_of[gi] : 0;
        const NcValue *in = nc_val(g, g->inputs.data[0]);
        align(&b, 64);
        size_t ph_at = put(&b, NULL, sizeof(NcProgramHeader));
        ((NcBundleHeader *)b.p)->program_offset[gi] = ph_at;
        NcProgramHeader ph;
        memset(&ph, 0, sizeof ph);
        ph.batch = (int32_t)in->shape[0], ph.height = (int32_t)in->shape[2], ph.width = (int32_t)in->shape[3];
        ph.member = member, ph.features = nc_graph_features(g);
        ph.nvalues = (uint32_t)g->values.len, ph.nnodes = (uint32_t)g->nodes.len;
        ph.ninputs = 1, ph.noutputs = (uint32_t)g->outputs.len;
        const int step = g->train_step;
        if (step && !spec->train) {
            rc = nc_errorf(e, "internal error: a training step without its description");
            break;
        } else if (step) {
            ph.ninputs = (uint32_t)g->inputs.len, ph.noutputs = 2;
            for (int i = 0; i < g->inputs.len && i < 8; i++) ph.inputs[i] = g->inputs.data[i];
            ph.outputs[0] = g->outputs.data[0], ph.outputs[1] = g->outputs.data[1];
        } else if (g->inputs.len != 1 || g->outputs.len > 4) {
            rc = nc_errorf(e, "a compiled program has one input and at most four outputs");
            break;
        } else {
            ph.inputs[0] = g->inputs.data[0];
            for (int i = 0; i < g->outputs.len; i++) ph.outputs[i] = g->outputs.data[i];
        }
        /* vector kernels may read NC_KERNEL_SLACK floats past a tensor (runtime/kernels.h) */
        ph.arena_bytes = (uint64_t)plans[gi].arena_bytes + NC_KERNEL_SLACK * sizeof(float);
        align(&b, 8);
        ph.values_offset = b.len - ph_at;
        for (int i = 0; i < g->values.len && !rc; i++) {
            const NcValue *v = nc_val(g, i);
            NcBundleValue bv;
            memset(&bv, 0, sizeof bv);
            bv.kind = v->kind, bv.ndim = v->ndim, bv.layout = nc_is_nhwc(v) ? NC_LAYOUT_NHWC : NC_LAYOUT_NCHW;
            if (v->kind == NC_VAL_PARAM) bv.dtype = v->dtype, bv.nbytes = v->nbytes;
            if (v->kind == NC_VAL_NODE) bv.dtype = v->dtype; /* a bf16 activation (passes/assign_dtype.c) */
            memcpy(bv.shape, v->shape, sizeof bv.shape);
            bv.offset = v->kind == NC_VAL_NODE    ? plans[gi].offset[i]
                        : v->kind == NC_VAL_PARAM ? weight_offset(&w, member, v, e)
                                                  : -1;
            if (v->kind == NC_VAL_PARAM && bv.offset < 0) rc = -1;
            put(&b, &bv, sizeof bv);
        }
        ph.nodes_offset = b.len - ph_at;
        for (int i = 0; i < g->nodes.len; i++) {
            const NcNode *nd = &g->nodes.data[i];
            NcBundleNode bn;
            memset(&bn, 0, sizeof bn);
            bn.op = nd->op, bn.ninputs = nd->ninputs, bn.noutputs = nd->noutputs, bn.attrs = nd->attrs;
            memcpy(bn.inputs, nd->inputs, sizeof bn.inputs);
            memcpy(bn.outputs, nd->outputs, sizeof bn.outputs);
            put(&b, &bn, sizeof bn);
        }
        ph.scopes_offset = b.len - ph_at;
        for (int i = 0; i < g->nodes.len; i++) put(&b, g->nodes.data[i].scope, strlen(g->nodes.data[i].scope) + 1);
        ph.scopes_bytes = b.len - ph_at - ph.scopes_offset;
        if (step && put_train(&b, ph_at, &ph, g, spec, &spec->train[gi], e)) rc = -1;
        memcpy(b.p + ph_at, &ph, sizeof ph);
    }
    if (!rc) {
        NcBundleHeader *h = (NcBundleHeader *)b.p;
        h->weights_bytes = w.blob.len;
        h->weights_checksum = nc_bundle_checksum(w.blob.p, w.blob.len);
        if (weights_path) {
            NcWeightsHeader wh;
            memset(&wh, 0, sizeof wh);
            memcpy(wh.magic, NC_WEIGHTS_MAGIC, 8);
            wh.version = NC_BUNDLE_VERSION, wh.bytes = w.blob.len, wh.checksum = h->weights_checksum;
            Buf wf = {0};
            put(&wf, &wh, sizeof wh);
            put(&wf, w.blob.p, w.blob.len);
            rc = nc_write_file_atomic(weights_path, wf.p, wf.len, e);
            free(wf.p);
        } else {
            align(&b, 64);
            h = (NcBundleHeader *)b.p;
            h->weights_offset = b.len;
            put(&b, w.blob.p, w.blob.len);
        }
    }
    if (!rc) rc = nc_write_file_atomic(path, b.p, b.len, e);
    free(b.p);
    free(w.blob.p);
    free(w.params.data);
    free(w.member.data);
    free(w.offsets.data);
    return rc;
}
