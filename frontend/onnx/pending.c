/* pending.c — ops deferred until their reader is known.
 *
 * Pad: TF-"SAME" exports (timm's tf_ models, Conv2dSameExport) put a constant
 * Pad before a conv or pool; folding it into that op's own padding is exact
 * (zeros before a conv or an average that counts the padding, -inf before a
 * max) and costs nothing.  Where it cannot fold, the Pad becomes a real op: a
 * depthwise 1x1 conv of weight 1 with the padding (x * 1 is exact), shifted
 * by the pad value when it is not 0.
 *
 * Sigmoid: PyTorch's SiLU exports as Mul(x, Sigmoid(x)); recognised here it
 * becomes the IR's silu, which the passes fuse into the conv before it. */
#include <math.h>
#include <string.h>

#include "frontend/onnx/onnx_int.h"

static int scalar_param(Ox *X, const char *name, const char *suffix, float v, int nd) {
    OxTensor t;
    const int64_t ones[NC_MAXDIM] = {1, 1, 1, 1, 1, 1};
    ox_tensor_new(X, &t, 0, nd, ones);
    t.f[0] = v;
    return ox_param_from(X, name, suffix, &t, NC_PARAM_WEIGHT);
}

static const char *node_name(const Onnx__NodeProto *n) { return n->name && n->name[0] ? n->name : n->output[0]; }

static int make_pad(Ox *X, OxSym *s) {
    const float v = s->pad_value;
    if (!isfinite(v))
        ox_fail(X,
                "pads with %g, which netc folds only into the MaxPool right after it (here '%s' is read by another op)",
                v, s->name);
    const NcValue *xv = ox_val(X, s->src);
    const int64_t c = xv->shape[1];
    const char *base = node_name(X->node);
    NcAttrs a = nc_attrs_default();
    int x = s->src;
    if (v != 0) {
        int in[2] = {x, scalar_param(X, base, ".shift", -v, 4)};
        x = ox_node1(X, NC_OP_ADD, 2, in, &a);
    }
    OxTensor w;
    const int64_t wshape[4] = {c, 1, 1, 1};
    ox_tensor_new(X, &w, 0, 4, wshape);
    for (int64_t k = 0; k < c; k++) w.f[k] = 1;
    int in[2] = {x, ox_param_from(X, base, ".ones", &w, NC_PARAM_WEIGHT)};
    a.groups = (int)c;
    memcpy(a.pad, s->pad, sizeof a.pad);
    x = ox_node1(X, NC_OP_CONV2D, 2, in, &a);
    if (v != 0) {
        a = nc_attrs_default();
        int in2[2] = {x, scalar_param(X, base, ".unshift", v, 4)};
        x = ox_node1(X, NC_OP_ADD, 2, in2, &a);
    }
    return x;
}

void ox_materialise(Ox *X, OxSym *s) {
    const Onnx__NodeProto *reader = X->node;
    const int reader_index = X->node_index;
    /* the op is the Pad's or Sigmoid's: its node names the nodes made and any error */
    X->node = s->pend_node, X->node_index = s->pend_index;
    int id;
    if (s->pend == OX_PEND_PAD) {
        id = make_pad(X, s);
    } else {
        NcAttrs a = nc_attrs_default();
        id = ox_node1(X, NC_OP_SIGMOID, 1, &s->src, &a);
    }
    X->node = reader, X->node_index = reader_index;
    s->kind = OX_RUNTIME, s->id = id;
}

static OxSym *pending(Ox *X, OxPendOp op, int src) {
    OxSym *s = ox_define_output(X, 0);
    s->kind = OX_PENDING, s->pend = op, s->src = src;
    s->pend_node = X->node, s->pend_index = X->node_index;
    return s;
}

void ox_op_pad(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"mode", NULL});
    const char *mode = ox_attr_str(X, "mode", "constant");
    if (strcmp(mode, "constant"))
        ox_fail(X, "mode '%s' is not supported (netc pads with a constant; reflect, edge and wrap are not implemented)",
                mode);
    OxSym *s = ox_input(X, 0);
    if (s->kind != OX_RUNTIME) ox_fail(X, "a Pad of a constant is not supported");
    const NcValue *v = ox_val(X, s->id);
    const int nd = v->ndim;
    const OxTensor *p = ox_const_input(X, 1, "pads");
    int axes[NC_MAXDIM], na = nd;
    for (int d = 0; d < nd; d++) axes[d] = d;
    if (ox_has_input(X, 3)) {
        const OxTensor *t = ox_const_input(X, 3, "axes");
        if (!t->is_int || t->n < 1 || t->n > nd) ox_fail(X, "axes must be 1 to %d integers", nd);
        na = (int)t->n;
        for (int k = 0; k < na; k++) {
            if (t->i[k] < -nd || t->i[k] >= nd) ox_fail(X, "axis %lld is out of range", (long long)t->i[k]);
            axes[k] = (int)(t->i[k] < 0 ? t->i[k] + nd : t->i[k]);
        }
    }
    if (!p->is_int || p->n != 2 * na) ox_fail(X, "pads must be %d integers (a begin and an end per axis)", 2 * na);
    int64_t begin[NC_MAXDIM] = {0}, end[NC_MAXDIM] = {0};
    for (int k = 0; k < na; k++) begin[axes[k]] += p->i[k], end[axes[k]] += p->i[na + k];
    int any = 0;
    for (int d = 0; d < nd; d++) {
        if (begin[d] < 0 || end[d] < 0) ox_fail(X, "negative pads (cropping) are not supported");
        if ((begin[d] || end[d]) && (nd != 4 || d < 2))
            ox_fail(X, "padding axis %d of a %d-d tensor: netc pads only H and W of [N, C, H, W]", d, nd);
        if (begin[d] > 1 << 16 || end[d] > 1 << 16) ox_fail(X, "a pad over 65536 is not supported");
        any |= begin[d] || end[d];
    }
    float value = 0;
    if (ox_has_input(X, 2)) {
        const OxTensor *t = ox_const_input(X, 2, "constant_value");
        if (t->n != 1) ox_fail(X, "constant_value must be a scalar");
        value = t->is_int ? (float)t->i[0] : t->f[0];
        if (isnan(value)) ox_fail(X, "a NaN constant_value is not supported");
    }
    if (!any) {
        int id = s->id;
        ox_set_runtime(X, 0, id);
        return;
    }
    OxSym *o = pending(X, OX_PEND_PAD, s->id);
    o->pad[0] = (int)begin[2], o->pad[1] = (int)begin[3], o->pad[2] = (int)end[2], o->pad[3] = (int)end[3];
    o->pad_value = value;
}

int ox_padded_input(Ox *X, int k, int pad[4], float *value) {
    OxSym *s = ox_input_raw(X, k);
    memset(pad, 0, 4 * sizeof *pad);
    *value = 0;
    if (s->kind == OX_PENDING && s->pend == OX_PEND_PAD) {
        memcpy(pad, s->pad, 4 * sizeof *pad);
        *value = s->pad_value;
        return s->src;
    }
    return ox_runtime_input(X, k);
}

void ox_op_sigmoid(Ox *X) {
    ox_attrs_only(X, (const char *const[]){NULL});
    OxSym *s = ox_input(X, 0);
    if (s->kind == OX_RUNTIME) {
        pending(X, OX_PEND_SIGMOID, s->id);
        return;
    }
    int x = ox_runtime_input(X, 0);
    NcAttrs a = nc_attrs_default();
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_SIGMOID, 1, &x, &a));
}

int ox_try_silu(Ox *X) {
    if (X->node->n_input != 2) return -1;
    for (int k = 0; k < 2; k++) {
        OxSym *g = ox_input_raw(X, k), *x = ox_input_raw(X, 1 - k);
        if (g->kind == OX_PENDING && g->pend == OX_PEND_SIGMOID && x->kind == OX_RUNTIME && g->src == x->id) {
            NcAttrs a = nc_attrs_default();
            int id = x->id;
            return ox_node1(X, NC_OP_SILU, 1, &id, &a);
        }
    }
    return -1;
}
