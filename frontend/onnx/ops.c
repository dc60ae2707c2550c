/* ops.c — the op mapping table: each ONNX op type onto the IR's ops, its
 * attributes checked (an attribute netc does not read is an error, never
 * ignored), constants folded where every input is one. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "frontend/onnx/onnx_fold.h"

typedef void (*OxHandler)(Ox *X);

static const NcValue *rt_val(Ox *X, int k, int *id) {
    *id = ox_runtime_input(X, k);
    return ox_val(X, *id);
}

static int need4(Ox *X, int k) {
    int id;
    const NcValue *v = rt_val(X, k, &id);
    if (v->ndim != 4)
        ox_fail(X, "input '%s' is %d-d; netc takes this op on 4-d [N, C, H, W] tensors", X->node->input[k], v->ndim);
    return id;
}

/* Only output 0 may be read: an op's optional extra outputs are not computed. */
static void one_output(Ox *X) {
    for (size_t k = 1; k < X->node->n_output; k++)
        if (X->node->output[k] && X->node->output[k][0])
            ox_fail(X, "output %zu ('%s') is not supported", k, X->node->output[k]);
}

static int clamp_int(Ox *X, int64_t v, int64_t lo, int64_t hi, const char *what) {
    if (v < lo || v > hi)
        ox_fail(X, "%s %lld is out of range [%lld, %lld]", what, (long long)v, (long long)lo, (long long)hi);
    return (int)v;
}

/* strides, dilations, pads or auto_pad of a 2-d window of kernel k. */
static void window_attrs(Ox *X, const NcValue *x, const int *k, NcAttrs *a) {
    int64_t v[4];
    int n;
    if ((n = ox_attr_ints(X, "strides", v, 2)) >= 0) {
        if (n != 2) ox_fail(X, "strides has %d values; netc takes 2-d windows", n);
        a->stride[0] = clamp_int(X, v[0], 1, 1 << 16, "stride"),
        a->stride[1] = clamp_int(X, v[1], 1, 1 << 16, "stride");
    }
    if ((n = ox_attr_ints(X, "dilations", v, 2)) >= 0) {
        if (n != 2) ox_fail(X, "dilations has %d values; netc takes 2-d windows", n);
        a->dilation[0] = clamp_int(X, v[0], 1, 1 << 16, "dilation");
        a->dilation[1] = clamp_int(X, v[1], 1, 1 << 16, "dilation");
    }
    const char *ap = ox_attr_str(X, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET")) {
        if ((n = ox_attr_ints(X, "pads", v, 4)) >= 0) {
            if (n != 4) ox_fail(X, "pads has %d values; netc takes 2-d windows (4 values)", n);
            /* ONNX: [top, left, bottom, right], as the IR */
            for (int i = 0; i < 4; i++) a->pad[i] = clamp_int(X, v[i], 0, 1 << 16, "pad");
        }
    } else if (!strcmp(ap, "VALID")) {
        memset(a->pad, 0, sizeof a->pad);
    } else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        /* output ceil(x / s); the odd pixel of padding at the end (UPPER) or the start (LOWER) */
        for (int d = 0; d < 2; d++) {
            int64_t xs = x->shape[2 + d], s = a->stride[d], out = (xs + s - 1) / s;
            int64_t total = (out - 1) * s + (int64_t)(k[d] - 1) * a->dilation[d] + 1 - xs;
            if (total < 0) total = 0;
            int64_t small = total / 2, big = total - small;
            int upper = !strcmp(ap, "SAME_UPPER");
            a->pad[d] = clamp_int(X, upper ? small : big, 0, 1 << 16, "pad");
            a->pad[d + 2] = clamp_int(X, upper ? big : small, 0, 1 << 16, "pad");
        }
    } else {
        ox_fail(X, "auto_pad '%s' is not known", ap);
    }
}

static void kernel_attr(Ox *X, int *k, const int64_t *wshape) {
    int64_t v[2];
    int n = ox_attr_ints(X, "kernel_shape", v, 2);
    if (n < 0 && !wshape) ox_fail(X, "kernel_shape is missing");
    if (n >= 0 && n != 2) ox_fail(X, "kernel_shape has %d values; netc takes 2-d windows", n);
    if (n < 0) v[0] = wshape[2], v[1] = wshape[3];
    if (wshape && (v[0] != wshape[2] || v[1] != wshape[3])) ox_fail(X, "kernel_shape differs from the weight's");
    k[0] = clamp_int(X, v[0], 1, 1 << 16, "kernel size"), k[1] = clamp_int(X, v[1], 1, 1 << 16, "kernel size");
}

static void op_conv(Ox *X) {
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
    ox_attrs_only(X, known);
    /* a zero Pad before it folds into its padding (not with auto_pad SAME, computed on the padded size) */
    int pp[4];
    float pv;
    int x = ox_padded_input(X, 0, pp, &pv);
    const char *ap = ox_attr_str(X, "auto_pad", "NOTSET");
    const int fold = pp[0] || pp[1] || pp[2] || pp[3];
    if (fold && (pv != 0 || (strcmp(ap, "NOTSET") && strcmp(ap, "VALID")))) x = ox_input(X, 0)->id;
    if (ox_val(X, x)->ndim != 4)
        ox_fail(X, "input '%s' is %d-d; netc takes this op on 4-d [N, C, H, W] tensors", X->node->input[0],
                ox_val(X, x)->ndim);
    OxSym *w = ox_input(X, 1);
    if (w->kind != OX_CONST) ox_fail(X, "the weight '%s' is computed at run time; netc needs it constant", w->name);
    if (w->c.ndim != 4) ox_fail(X, "a %d-d weight; netc takes 2-d convolutions (a 4-d weight)", w->c.ndim);
    NcAttrs a = nc_attrs_default();
    int k[2];
    kernel_attr(X, k, w->c.shape);
    a.kernel[0] = k[0], a.kernel[1] = k[1];
    a.groups = clamp_int(X, ox_attr_int(X, "group", 1), 1, 1 << 20, "group");
    window_attrs(X, ox_val(X, x), k, &a);
    if (fold && ox_input_raw(X, 0)->kind == OX_PENDING) /* still pending: folded */
        for (int i = 0; i < 4; i++) a.pad[i] = clamp_int(X, (int64_t)a.pad[i] + pp[i], 0, 1 << 16, "pad");
    int in[3] = {x, ox_param_of(X, w, NC_PARAM_WEIGHT), 0};
    int nin = 2;
    if (ox_has_input(X, 2)) {
        OxSym *b = ox_input(X, 2);
        if (b->kind != OX_CONST) ox_fail(X, "the bias '%s' is computed at run time", b->name);
        in[nin++] = ox_param_of(X, b, NC_PARAM_BIAS);
    }
    a.has_bias = nin == 3;
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_CONV2D, nin, in, &a));
}

static void pool(Ox *X, NcOpKind op) {
    static const char *const known_max[] = {"auto_pad", "ceil_mode",     "dilations", "kernel_shape",
                                            "pads",     "storage_order", "strides",   NULL};
    static const char *const known_avg[] = {"auto_pad",     "ceil_mode", "count_include_pad", "dilations",
                                            "kernel_shape", "pads",      "strides",           NULL};
    ox_attrs_only(X, op == NC_OP_MAX_POOL2D ? known_max : known_avg);
    one_output(X);
    int pp[4];
    float pv;
    int x = ox_padded_input(X, 0, pp, &pv);
    NcAttrs a = nc_attrs_default();
    kernel_attr(X, a.kernel, NULL);
    for (int again = 0; again < 2; again++) {
        if (ox_val(X, x)->ndim != 4)
            ox_fail(X, "input '%s' is %d-d; netc takes this op on 4-d [N, C, H, W] tensors", X->node->input[0],
                    ox_val(X, x)->ndim);
        window_attrs(X, ox_val(X, x), a.kernel, &a);
        a.ceil_mode = clamp_int(X, ox_attr_int(X, "ceil_mode", 0), 0, 1, "ceil_mode");
        /* ONNX's default excludes the padding from the average (PyTorch's includes it) */
        a.count_include_pad = clamp_int(X, ox_attr_int(X, "count_include_pad", 0), 0, 1, "count_include_pad");
        if (!(pp[0] || pp[1] || pp[2] || pp[3]) || ox_input_raw(X, 0)->kind != OX_PENDING) break;
        /* A Pad before it folds where that is exact: -inf before a max, zeros before an average that then
         * counts them (it must have counted its own padding too, or had none); not with ceil_mode (which
         * windows it drops depends on where the padding starts) or auto_pad SAME (computed on the padded size). */
        int own = a.pad[0] || a.pad[1] || a.pad[2] || a.pad[3], ok = !a.ceil_mode;
        ok &=
            !strcmp(ox_attr_str(X, "auto_pad", "NOTSET"), "NOTSET") || !strcmp(ox_attr_str(X, "auto_pad", ""), "VALID");
        ok &= op == NC_OP_MAX_POOL2D ? pv == -INFINITY : pv == 0 && (a.count_include_pad || !own);
        for (int i = 0; i < 4 && ok; i++) ok = 2 * (a.pad[i] + pp[i]) <= a.kernel[i % 2];
        if (ok) {
            for (int i = 0; i < 4; i++) a.pad[i] += pp[i];
            if (op == NC_OP_AVG_POOL2D) a.count_include_pad = 1;
            break;
        }
        x = ox_input(X, 0)->id; /* the Pad made real; the attributes again, on the padded size */
        a = nc_attrs_default();
        kernel_attr(X, a.kernel, NULL);
    }
    if (a.dilation[0] != 1 || a.dilation[1] != 1) ox_fail(X, "dilated pooling is not supported");
    if (ox_attr_int(X, "storage_order", 0)) ox_fail(X, "storage_order 1 is not supported");
    for (int i = 0; i < 4; i++)
        if (2 * a.pad[i] > a.kernel[i % 2])
            ox_fail(X, "padding %d on a side is more than half the %dx%d window (not supported)", a.pad[i], a.kernel[0],
                    a.kernel[1]);
    ox_set_runtime(X, 0, ox_node1(X, op, 1, &x, &a));
}
static void op_maxpool(Ox *X) { pool(X, NC_OP_MAX_POOL2D); }
static void op_avgpool(Ox *X) { pool(X, NC_OP_AVG_POOL2D); }

static void unary(Ox *X, NcOpKind op) {
    ox_attrs_only(X, (const char *const[]){NULL});
    int x = ox_runtime_input(X, 0);
    NcAttrs a = nc_attrs_default();
    ox_set_runtime(X, 0, ox_node1(X, op, 1, &x, &a));
}
static void op_relu(Ox *X) { unary(X, NC_OP_RELU); }
static void op_gap(Ox *X) {
    need4(X, 0);
    unary(X, NC_OP_GLOBAL_AVG_POOL);
}
static void op_gmp(Ox *X) {
    need4(X, 0);
    unary(X, NC_OP_GLOBAL_MAX_POOL);
}

static float scalar_input(Ox *X, int k, float dflt) {
    if (!ox_has_input(X, k)) return dflt;
    const OxTensor *t = ox_const_input(X, k, k == 1 ? "min" : "max");
    if (t->n != 1) ox_fail(X, "input %d must be a scalar", k);
    return t->is_int ? (float)t->i[0] : t->f[0];
}

static void op_clip(Ox *X) {
    ox_attrs_only(X, (const char *const[]){NULL});
    if (ox_input(X, 0)->kind == OX_CONST) {
        /* shape arithmetic (timm's TF padding: max(pad, 0)) */
        const OxTensor *t = &ox_input(X, 0)->c;
        double lo = -INFINITY, hi = INFINITY;
        for (int k = 1; k < 3; k++)
            if (ox_has_input(X, k)) {
                const OxTensor *b = ox_const_input(X, k, k == 1 ? "min" : "max");
                if (b->n != 1) ox_fail(X, "input %d must be a scalar", k);
                *(k == 1 ? &lo : &hi) = b->is_int ? (double)b->i[0] : b->f[0];
            }
        OxTensor out;
        ox_fold_clip(X, t, lo, hi, &out);
        ox_set_const(X, 0, &out);
        return;
    }
    int x = ox_runtime_input(X, 0);
    NcAttrs a = nc_attrs_default();
    a.lo = scalar_input(X, 1, -FLT_MAX), a.hi = scalar_input(X, 2, FLT_MAX);
    if (!(a.lo <= a.hi)) ox_fail(X, "min %g is above max %g", a.lo, a.hi);
    /* min 0 without max is a ReLU; min 0 max 6 is the IR's relu6 (clamp 0..6) */
    NcOpKind op = a.lo == 0 && a.hi == FLT_MAX ? NC_OP_RELU : NC_OP_CLAMP;
    ox_set_runtime(X, 0, ox_node1(X, op, 1, &x, &a));
}

/* A scalar constant as a parameter named after the node, of rank nd (all 1s): fused epilogue operands must
 * have the rank of what they apply to. */
static int scalar_param(Ox *X, const char *what, float v, int nd) {
    OxTensor t;
    const int64_t ones[NC_MAXDIM] = {1, 1, 1, 1, 1, 1};
    ox_tensor_new(X, &t, 0, nd < 1 ? 1 : nd, ones);
    t.f[0] = v;
    const char *base = X->node->name && X->node->name[0] ? X->node->name : X->node->output[0];
    return ox_param_from(X, base, what, &t, NC_PARAM_WEIGHT);
}

/* HardSigmoid: clamp(alpha x + beta, 0, 1); HardSwish: x times that with alpha 1/6, beta 1/2. */
static int hard_sigmoid(Ox *X, int x, float alpha, float beta) {
    NcAttrs a = nc_attrs_default();
    const int nd = ox_val(X, x)->ndim;
    int in[2] = {x, scalar_param(X, ".alpha", alpha, nd)};
    in[0] = ox_node1(X, NC_OP_MUL, 2, in, &a);
    in[1] = scalar_param(X, ".beta", beta, nd);
    int y = ox_node1(X, NC_OP_ADD, 2, in, &a);
    a.lo = 0, a.hi = 1;
    return ox_node1(X, NC_OP_CLAMP, 1, &y, &a);
}
static void op_hardsigmoid(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"alpha", "beta", NULL});
    int x = ox_runtime_input(X, 0);
    ox_set_runtime(X, 0, hard_sigmoid(X, x, ox_attr_float(X, "alpha", 0.2f), ox_attr_float(X, "beta", 0.5f)));
}
static void op_hardswish(Ox *X) {
    ox_attrs_only(X, (const char *const[]){NULL});
    int x = ox_runtime_input(X, 0);
    int in[2] = {x, hard_sigmoid(X, x, 1.0f / 6, 0.5f)};
    NcAttrs a = nc_attrs_default();
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_MUL, 2, in, &a));
}

/* A constant operand of add / mul as a parameter, with leading 1s up to rank nd
 * (so it broadcasts as a 4-d [1, C, 1, 1] does, the form the passes know). */
static int operand_param(Ox *X, OxSym *s, const OxTensor *t, const char *suffix, int nd) {
    if (!*suffix && t->ndim == nd) return ox_param_of(X, s, NC_PARAM_WEIGHT);
    OxTensor r = *t;
    if (t->ndim < nd) {
        r.ndim = nd;
        for (int d = 0; d < nd; d++) r.shape[d] = d < nd - t->ndim ? 1 : t->shape[d - (nd - t->ndim)];
    }
    return ox_param_from(X, s->name, suffix, &r, NC_PARAM_WEIGHT);
}

static void binary(Ox *X, OxBinary op) {
    ox_attrs_only(X, (const char *const[]){NULL});
    static const char *const names[] = {"Add", "Sub", "Mul", "Div"};
    int silu = op == OX_MUL ? ox_try_silu(X) : -1;
    if (silu >= 0) {
        ox_set_runtime(X, 0, silu);
        return;
    }
    OxSym *a = ox_input(X, 0), *b = ox_input(X, 1);
    if (a->kind == OX_CONST && b->kind == OX_CONST) {
        OxTensor out;
        ox_fold_binary(X, op, &a->c, &b->c, &out);
        ox_set_const(X, 0, &out);
        return;
    }
    NcAttrs at = nc_attrs_default();
    NcOpKind kind = op == OX_ADD || op == OX_SUB ? NC_OP_ADD : NC_OP_MUL;
    if (a->kind == OX_RUNTIME && b->kind == OX_RUNTIME) {
        if (op == OX_SUB || op == OX_DIV)
            ox_fail(X, "%s of two computed tensors is not supported (only with a constant operand)", names[op]);
        int in[2] = {a->id, b->id};
        ox_set_runtime(X, 0, ox_node1(X, kind, 2, in, &at));
        return;
    }
    OxSym *c = a->kind == OX_CONST ? a : b;
    const int x = a->kind == OX_RUNTIME ? a->id : b->id;
    const int nd = ox_val(X, x)->ndim;
    if (c->c.is_int) ox_fail(X, "an integer operand '%s' with a float tensor", c->name);
    if (c == a && op == OX_DIV) ox_fail(X, "a constant divided by a computed tensor is not supported");
    int out;
    if (c == a && op == OX_SUB) {
        /* c - x = x * -1 + c */
        int in[2] = {x, scalar_param(X, ".neg", -1.0f, nd)};
        in[0] = ox_node1(X, NC_OP_MUL, 2, in, &at);
        in[1] = operand_param(X, c, &c->c, "", nd);
        out = ox_node1(X, NC_OP_ADD, 2, in, &at);
    } else if (op == OX_SUB || op == OX_DIV) {
        /* x - c = x + (-c); x / c = x * (1 / c), the constant folded */
        OxTensor t;
        ox_tensor_new(X, &t, 0, c->c.ndim, c->c.shape);
        for (int64_t k = 0; k < t.n; k++) t.f[k] = op == OX_SUB ? -c->c.f[k] : 1.0f / c->c.f[k];
        int in[2] = {x, operand_param(X, c, &t, op == OX_SUB ? ":neg" : ":recip", nd)};
        out = ox_node1(X, kind, 2, in, &at);
    } else {
        int in[2] = {x, operand_param(X, c, &c->c, "", nd)};
        out = ox_node1(X, kind, 2, in, &at);
    }
    ox_set_runtime(X, 0, out);
}
static void op_add(Ox *X) { binary(X, OX_ADD); }
static void op_sub(Ox *X) { binary(X, OX_SUB); }
static void op_mul(Ox *X) { binary(X, OX_MUL); }
static void op_div(Ox *X) { binary(X, OX_DIV); }

static void op_batchnorm(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"epsilon", "momentum", "training_mode", NULL});
    if (ox_attr_int(X, "training_mode", 0)) ox_fail(X, "training_mode 1 is not supported (export in eval mode)");
    one_output(X);
    int x = ox_runtime_input(X, 0);
    static const NcParamRole roles[4] = {NC_PARAM_WEIGHT, NC_PARAM_BIAS, NC_PARAM_BN_MEAN, NC_PARAM_BN_VAR};
    static const char *const what[4] = {"scale", "bias", "mean", "var"};
    int in[5] = {x};
    for (int k = 1; k < 5; k++) {
        OxSym *s = ox_input(X, k);
        if (s->kind != OX_CONST) ox_fail(X, "the %s '%s' is computed at run time", what[k - 1], s->name);
        in[k] = ox_param_of(X, s, roles[k - 1]);
    }
    NcAttrs a = nc_attrs_default();
    a.eps = ox_attr_float(X, "epsilon", 1e-5f);
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_BATCH_NORM, 5, in, &a));
}

/* A transpose node, or nothing where the permutation moves only axes of size 1 (then a reshape). */
static int transpose_rt(Ox *X, int x, const int *perm) {
    const NcValue *v = ox_val(X, x);
    int64_t shape[NC_MAXDIM];
    int moved = 0, last = -1;
    for (int d = 0; d < v->ndim; d++) {
        shape[d] = v->shape[perm[d]];
        /* the order of the axes larger than 1 is what decides the bytes */
        if (v->shape[perm[d]] > 1) {
            moved |= perm[d] < last;
            last = perm[d];
        }
    }
    NcAttrs a = nc_attrs_default();
    a.nsizes = v->ndim;
    if (!moved) {
        for (int d = 0; d < v->ndim; d++) a.sizes[d] = shape[d];
        int same = 1;
        for (int d = 0; d < v->ndim; d++) same &= perm[d] == d;
        return same ? x : ox_node1(X, NC_OP_RESHAPE, 1, &x, &a);
    }
    for (int d = 0; d < v->ndim; d++) a.sizes[d] = perm[d];
    return ox_node1(X, NC_OP_TRANSPOSE, 1, &x, &a);
}

/* A constant as a float parameter derived from s: t transposed (2-d) and scaled. */
static int derived_2d(Ox *X, OxSym *s, int transpose, float scale, const char *suffix, NcParamRole role) {
    const OxTensor *c = &s->c;
    if (!transpose && scale == 1 && !*suffix) return ox_param_of(X, s, role);
    OxTensor t;
    int64_t shape[2] = {c->shape[transpose], c->shape[!transpose]};
    ox_tensor_new(X, &t, 0, 2, shape);
    for (int64_t i = 0; i < shape[0]; i++)
        for (int64_t j = 0; j < shape[1]; j++)
            t.f[i * shape[1] + j] = scale * (transpose ? c->f[j * shape[0] + i] : c->f[i * shape[1] + j]);
    return ox_param_from(X, s->name, suffix, &t, role);
}

/* y = alpha * op(x) op(W) + beta * C as a linear layer: the weight [N, K] (transposed from [K, N] where the op has
 * it that way round, scaled by alpha); C of [N] or [1, N] (or a scalar) its bias, of [M, N] or [M, 1] an add. */
static void linear(Ox *X, int x, OxSym *w, int transpose, float alpha, OxSym *bias, float beta) {
    if (ox_val(X, x)->ndim != 2) ox_fail(X, "a %d-d input; netc takes this op on [N, K] inputs", ox_val(X, x)->ndim);
    if (w->kind != OX_CONST) ox_fail(X, "the weight '%s' is computed at run time; netc needs it constant", w->name);
    if (w->c.ndim != 2) ox_fail(X, "a %d-d weight; netc needs a 2-d one", w->c.ndim);
    if (w->c.is_int) ox_fail(X, "an integer weight '%s'", w->name);
    /* the parameter keeps the initializer's name; alpha folded in gets a suffix (the data is not the file's) */
    int wid = derived_2d(X, w, transpose, alpha, alpha != 1 ? ":alpha" : "", NC_PARAM_WEIGHT);
    const int64_t m = ox_val(X, x)->shape[0], n = ox_val(X, wid)->shape[0];
    int in[3] = {x, wid, 0}, add = -1;
    NcAttrs a = nc_attrs_default();
    if (bias && beta != 0) {
        if (bias->kind != OX_CONST) ox_fail(X, "the bias '%s' is computed at run time", bias->name);
        OxTensor b = bias->c;
        if (b.is_int) ox_fail(X, "an integer bias '%s'", bias->name);
        int64_t bm = b.ndim == 2 ? b.shape[0] : 1, bn = b.ndim ? b.shape[b.ndim - 1] : 1;
        if (b.ndim > 2 || (bm != 1 && bm != m) || (bn != 1 && bn != n))
            ox_fail(X, "C '%s' does not broadcast to [%lld, %lld]", bias->name, (long long)m, (long long)n);
        const char *sfx = beta != 1 ? ":beta" : "";
        if (bm == 1) {
            /* one value per output: the linear layer's own bias */
            OxTensor t;
            ox_tensor_new(X, &t, 0, 1, &n);
            for (int64_t j = 0; j < n; j++) t.f[j] = beta * b.f[bn == 1 ? 0 : j];
            if (b.ndim == 1 && bn == n && beta == 1)
                in[2] = ox_param_of(X, bias, NC_PARAM_BIAS);
            else
                in[2] = ox_param_from(X, bias->name, bn != n ? ":expanded" : sfx, &t, NC_PARAM_BIAS);
            a.has_bias = 1;
        } else {
            OxTensor t = b;
            if (beta != 1) {
                ox_tensor_new(X, &t, 0, b.ndim, b.shape);
                for (int64_t k = 0; k < t.n; k++) t.f[k] = beta * b.f[k];
            }
            add = ox_param_from(X, bias->name, sfx, &t, NC_PARAM_WEIGHT);
        }
    }
    int y = ox_node1(X, NC_OP_LINEAR, a.has_bias ? 3 : 2, in, &a);
    if (add >= 0) {
        NcAttrs aa = nc_attrs_default();
        int in2[2] = {y, add};
        y = ox_node1(X, NC_OP_ADD, 2, in2, &aa);
    }
    ox_set_runtime(X, 0, y);
}

static void op_gemm(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"alpha", "beta", "transA", "transB", NULL});
    const float alpha = ox_attr_float(X, "alpha", 1), beta = ox_attr_float(X, "beta", 1);
    if (!isfinite(alpha) || !isfinite(beta)) ox_fail(X, "alpha and beta must be finite");
    const int64_t ta = ox_attr_int(X, "transA", 0), tb = ox_attr_int(X, "transB", 0);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) ox_fail(X, "transA and transB must be 0 or 1");
    if (ox_input(X, 0)->kind != OX_RUNTIME) ox_fail(X, "a constant A is not supported (netc needs B constant)");
    int x = ox_runtime_input(X, 0);
    if (ox_val(X, x)->ndim != 2) ox_fail(X, "A is %d-d; Gemm takes 2-d operands", ox_val(X, x)->ndim);
    if (ta) x = transpose_rt(X, x, (const int[]){1, 0});
    /* a linear layer's weight is [N, K]: B as given with transB=1, transposed with transB=0 */
    linear(X, x, ox_input(X, 1), !tb, alpha, ox_has_input(X, 2) ? ox_input(X, 2) : NULL, beta);
}

static void op_matmul(Ox *X) {
    ox_attrs_only(X, (const char *const[]){NULL});
    if (ox_input(X, 0)->kind != OX_RUNTIME) ox_fail(X, "a constant first operand is not supported");
    int x = ox_runtime_input(X, 0);
    linear(X, x, ox_input(X, 1), 1, 1, NULL, 1);
}

/* A reshape of a runtime tensor (nothing when the shape does not change), or of a constant. */
static void reshape_to(Ox *X, OxSym *s, int nd, const int64_t *shape) {
    if (s->kind == OX_CONST) {
        OxTensor t = s->c;
        t.ndim = nd;
        memcpy(t.shape, shape, (size_t)nd * sizeof *shape);
        ox_set_const(X, 0, &t);
        return;
    }
    const NcValue *v = ox_val(X, s->id);
    if (v->ndim == nd && !memcmp(v->shape, shape, (size_t)nd * sizeof *shape)) {
        int id = s->id;
        ox_set_runtime(X, 0, id);
        return;
    }
    if (nd < 1) ox_fail(X, "a reshape into a scalar is not supported");
    NcAttrs a = nc_attrs_default();
    a.nsizes = nd;
    for (int d = 0; d < nd; d++) {
        if (shape[d] < 1) ox_fail(X, "a reshape into an empty tensor is not supported");
        a.sizes[d] = shape[d];
    }
    int id = s->id;
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_RESHAPE, 1, &id, &a));
}

static const int64_t *sym_shape(Ox *X, OxSym *s, int *nd) {
    if (s->kind == OX_CONST) return *nd = s->c.ndim, s->c.shape;
    const NcValue *v = ox_val(X, s->id);
    *nd = v->ndim;
    return v->shape;
}

static void op_reshape(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"allowzero", NULL});
    OxSym *s = ox_input(X, 0);
    const OxTensor *spec = ox_const_input(X, 1, "the shape");
    int nd;
    const int64_t *in = sym_shape(X, s, &nd);
    int64_t out[NC_MAXDIM];
    int n = ox_reshape_sizes(X, nd, in, spec, (int)ox_attr_int(X, "allowzero", 0), out);
    reshape_to(X, s, n, out);
}

static void op_flatten(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"axis", NULL});
    OxSym *s = ox_input(X, 0);
    int nd;
    const int64_t *in = sym_shape(X, s, &nd);
    int64_t axis = ox_attr_int(X, "axis", 1);
    if (axis < -nd || axis > nd) ox_fail(X, "axis %lld is out of range", (long long)axis);
    if (axis < 0) axis += nd;
    int64_t out[2] = {1, 1};
    for (int d = 0; d < nd; d++) out[d >= axis] *= in[d];
    reshape_to(X, s, 2, out);
}

/* Unsqueeze / Squeeze: axes from the input (opset 13 on). */
static void squeeze(Ox *X, int un) {
    ox_attrs_only(X, (const char *const[]){NULL});
    OxSym *s = ox_input(X, 0);
    int nd;
    const int64_t *in = sym_shape(X, s, &nd);
    int64_t out[NC_MAXDIM];
    int no = 0;
    if (un) {
        const OxTensor *ax = ox_const_input(X, 1, "axes");
        int rank = nd + (int)ax->n, mark[NC_MAXDIM] = {0};
        if (rank > NC_MAXDIM || !ax->is_int) ox_fail(X, "bad axes");
        for (int64_t k = 0; k < ax->n; k++) {
            int d = ox_norm_axis(X, ax->i[k], rank);
            if (mark[d]) ox_fail(X, "axis %d is given twice", d);
            mark[d] = 1;
        }
        for (int d = 0, j = 0; d < rank; d++) out[no++] = mark[d] ? 1 : in[j++];
    } else {
        int mark[NC_MAXDIM] = {0};
        if (ox_has_input(X, 1)) {
            const OxTensor *ax = ox_const_input(X, 1, "axes");
            if (!ax->is_int) ox_fail(X, "bad axes");
            for (int64_t k = 0; k < ax->n; k++) {
                int d = ox_norm_axis(X, ax->i[k], nd);
                if (in[d] != 1) ox_fail(X, "axis %d has size %lld, not 1", d, (long long)in[d]);
                mark[d] = 1;
            }
        } else {
            for (int d = 0; d < nd; d++) mark[d] = in[d] == 1;
        }
        for (int d = 0; d < nd; d++)
            if (!mark[d]) out[no++] = in[d];
    }
    reshape_to(X, s, no, out);
}
static void op_unsqueeze(Ox *X) { squeeze(X, 1); }
static void op_squeeze(Ox *X) { squeeze(X, 0); }

static void op_softmax(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"axis", NULL});
    int x = ox_runtime_input(X, 0);
    NcAttrs a = nc_attrs_default();
    a.axis = ox_norm_axis(X, ox_attr_int(X, "axis", -1), ox_val(X, x)->ndim);
    ox_set_runtime(X, 0, ox_node1(X, NC_OP_SOFTMAX, 1, &x, &a));
}

static void op_concat(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"axis", NULL});
    int n = (int)X->node->n_input, all_const = 1;
    if (n < 1 || n > NC_MAX_NODES) ox_fail(X, "%d inputs", n);
    for (int k = 0; k < n; k++) all_const &= ox_is_const(X, k);
    int nd;
    sym_shape(X, ox_input(X, 0), &nd);
    if (!ox_attr(X, "axis")) ox_fail(X, "the axis attribute is missing");
    int axis = ox_norm_axis(X, ox_attr_int(X, "axis", 0), nd);
    if (all_const) {
        const OxTensor **in = ox_alloc(X, (size_t)n * sizeof *in);
        for (int k = 0; k < n; k++) in[k] = ox_const_input(X, k, "input");
        OxTensor out;
        ox_fold_concat(X, in, n, axis, &out);
        ox_set_const(X, 0, &out);
        return;
    }
    /* more inputs than a node takes (DenseNet's blocks): concats of concats, the first holding the first inputs */
    NcAttrs a = nc_attrs_default();
    a.axis = axis;
    int in[NC_MAXIN], m = 0;
    for (int k = 0; k < n; k++) {
        if (m == NC_MAXIN) {
            in[0] = ox_node1(X, NC_OP_CONCAT, m, in, &a);
            m = 1;
        }
        in[m++] = ox_runtime_input(X, k);
    }
    ox_set_runtime(X, 0, m == 1 ? in[0] : ox_node1(X, NC_OP_CONCAT, m, in, &a));
}

static void op_split(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"axis", "num_outputs", NULL});
    int x = ox_runtime_input(X, 0);
    const NcValue *v = ox_val(X, x);
    NcAttrs a = nc_attrs_default();
    a.axis = ox_norm_axis(X, ox_attr_int(X, "axis", 0), v->ndim);
    int nout = (int)X->node->n_output;
    if (nout < 1 || nout > NC_MAXOUT) ox_fail(X, "%d outputs (netc takes 1 to %d)", nout, NC_MAXOUT);
    int64_t len = v->shape[a.axis];
    if (ox_has_input(X, 1)) {
        const OxTensor *s = ox_const_input(X, 1, "split");
        if (!s->is_int || s->n != nout) ox_fail(X, "split must give %d integer sizes", nout);
        for (int k = 0; k < nout; k++) a.sizes[k] = s->i[k];
    } else {
        /* equal parts, the last smaller (opset 18's num_outputs rule; before it, equal) */
        int64_t part = (len + nout - 1) / nout;
        if (ox_attr(X, "num_outputs") && ox_attr_int(X, "num_outputs", 0) != nout)
            ox_fail(X, "num_outputs differs from the number of outputs");
        for (int k = 0; k < nout; k++) a.sizes[k] = k < nout - 1 ? part : len - part * (nout - 1);
    }
    a.nsizes = nout;
    int ni = ox_node(X, NC_OP_SPLIT, 1, &x, &a);
    int outs[NC_MAXOUT];
    memcpy(outs, X->g->nodes.data[ni].outputs, sizeof outs);
    for (int k = 0; k < nout; k++)
        if (X->node->output[k] && X->node->output[k][0]) ox_set_runtime(X, k, outs[k]);
}

/* Ceil, Floor, Neg, Max, Min: on constants only (the shape arithmetic of TF-style padding). */
static void const_unary(Ox *X, OxUnary op) {
    ox_attrs_only(X, (const char *const[]){NULL});
    OxTensor out;
    ox_fold_unary(X, op, ox_const_input(X, 0, "the input (netc evaluates this op on constants only)"), &out);
    ox_set_const(X, 0, &out);
}
static void op_ceil(Ox *X) { const_unary(X, OX_CEIL); }
static void op_floor(Ox *X) { const_unary(X, OX_FLOOR); }
static void op_neg(Ox *X) { const_unary(X, OX_NEG); }

static void const_minmax(Ox *X, OxBinary op) {
    ox_attrs_only(X, (const char *const[]){NULL});
    int n = (int)X->node->n_input;
    if (n < 1) ox_fail(X, "no inputs");
    OxTensor acc = *ox_const_input(X, 0, "input 0 (netc evaluates this op on constants only)");
    for (int k = 1; k < n; k++) {
        OxTensor out;
        ox_fold_binary(X, op, &acc, ox_const_input(X, k, "the input (netc evaluates this op on constants only)"), &out);
        acc = out;
    }
    ox_set_const(X, 0, &acc);
}
static void op_max(Ox *X) { const_minmax(X, OX_MAX); }
static void op_min(Ox *X) { const_minmax(X, OX_MIN); }

static void op_constant_of_shape(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"value", NULL});
    const OxTensor *sh = ox_const_input(X, 0, "the shape");
    if (!sh->is_int || sh->ndim != 1 || sh->n > NC_MAXDIM)
        ox_fail(X, "the shape must be 1-d integers (at most %d)", NC_MAXDIM);
    int64_t total = 1;
    for (int64_t k = 0; k < sh->n; k++) {
        if (sh->i[k] < 0 || sh->i[k] > NC_MAX_NUMEL) ox_fail(X, "shape entry %lld is not a size", (long long)sh->i[k]);
        if (sh->i[k] && total > NC_MAX_NUMEL / sh->i[k]) ox_fail(X, "the shape is too large");
        total *= sh->i[k];
    }
    OxTensor v;
    int is_int = 0;
    double val = 0;
    int64_t ival = 0;
    const Onnx__AttributeProto *at = ox_attr(X, "value");
    if (at) {
        if (!at->t) ox_fail(X, "value holds no tensor");
        ox_tensor_read(X, at->t, &v);
        if (v.n != 1) ox_fail(X, "value must hold one element");
        is_int = v.is_int, val = is_int ? 0 : v.f[0], ival = is_int ? v.i[0] : 0;
    }
    OxTensor out;
    ox_tensor_new(X, &out, is_int, (int)sh->n, sh->i);
    for (int64_t k = 0; k < out.n; k++) {
        if (is_int)
            out.i[k] = ival;
        else
            out.f[k] = (float)val;
    }
    ox_set_const(X, 0, &out);
}

static void op_transpose(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"perm", NULL});
    OxSym *s = ox_input(X, 0);
    int nd;
    sym_shape(X, s, &nd);
    int64_t p[NC_MAXDIM];
    int perm[NC_MAXDIM], seen[NC_MAXDIM] = {0};
    int n = ox_attr_ints(X, "perm", p, NC_MAXDIM);
    if (n < 0) {
        for (int d = 0; d < nd; d++) p[d] = nd - 1 - d; /* ONNX's default: the axes reversed */
        n = nd;
    }
    if (n != nd) ox_fail(X, "perm has %d values for a %d-d input", n, nd);
    for (int d = 0; d < nd; d++) {
        if (p[d] < 0 || p[d] >= nd || seen[p[d]]) ox_fail(X, "perm is not a permutation of 0..%d", nd - 1);
        seen[p[d]] = 1, perm[d] = (int)p[d];
    }
    if (s->kind == OX_CONST) {
        OxTensor out;
        ox_fold_transpose(X, &s->c, perm, &out);
        ox_set_const(X, 0, &out);
        return;
    }
    ox_set_runtime(X, 0, transpose_rt(X, s->id, perm));
}

static void op_identity(Ox *X) {
    OxSym *s = ox_input(X, 0);
    if (s->kind == OX_CONST) {
        OxTensor t = s->c;
        ox_set_const(X, 0, &t);
    } else {
        int id = s->id;
        ox_set_runtime(X, 0, id);
    }
}

static void op_dropout(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"seed", NULL});
    one_output(X);
    if (ox_has_input(X, 2)) {
        const OxTensor *t = ox_const_input(X, 2, "training_mode");
        if (t->n != 1 || (t->is_int ? t->i[0] : t->f[0] != 0)) ox_fail(X, "training_mode is not supported");
    }
    op_identity(X);
}

static void op_constant(Ox *X) {
    if (X->node->n_attribute != 1) ox_fail(X, "a Constant needs exactly one attribute");
    const Onnx__AttributeProto *at = X->node->attribute[0];
    const char *n = at->name ? at->name : "";
    OxTensor t;
    int64_t len;
    if (!strcmp(n, "value")) {
        if (!at->t) ox_fail(X, "value holds no tensor");
        ox_tensor_read(X, at->t, &t);
    } else if (!strcmp(n, "value_float")) {
        ox_tensor_new(X, &t, 0, 0, NULL), t.f[0] = at->f;
    } else if (!strcmp(n, "value_int")) {
        ox_tensor_new(X, &t, 1, 0, NULL), t.i[0] = at->i;
    } else if (!strcmp(n, "value_floats")) {
        len = (int64_t)at->n_floats;
        ox_tensor_new(X, &t, 0, 1, &len);
        for (int64_t k = 0; k < len; k++) t.f[k] = at->floats[k];
    } else if (!strcmp(n, "value_ints")) {
        len = (int64_t)at->n_ints;
        ox_tensor_new(X, &t, 1, 1, &len);
        for (int64_t k = 0; k < len; k++) t.i[k] = at->ints[k];
    } else {
        ox_fail(X, "attribute '%s' is not supported", n);
    }
    ox_set_const(X, 0, &t);
}

static void op_shape(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"start", "end", NULL});
    int nd;
    const int64_t *in = sym_shape(X, ox_input(X, 0), &nd);
    int64_t b = ox_attr_int(X, "start", 0), e = ox_attr_int(X, "end", nd);
    b = b < 0 ? b + nd : b, e = e < 0 ? e + nd : e;
    b = b < 0 ? 0 : b > nd ? nd : b, e = e < 0 ? 0 : e > nd ? nd : e;
    int64_t len = e > b ? e - b : 0;
    OxTensor t;
    ox_tensor_new(X, &t, 1, 1, &len);
    for (int64_t k = 0; k < len; k++) t.i[k] = in[b + k];
    ox_set_const(X, 0, &t);
}

static void op_gather(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"axis", NULL});
    const OxTensor *data = ox_const_input(X, 0, "the data");
    const OxTensor *idx = ox_const_input(X, 1, "the indices");
    if (!data->ndim) ox_fail(X, "Gather on a scalar");
    OxTensor out;
    ox_fold_gather(X, data, idx, ox_norm_axis(X, ox_attr_int(X, "axis", 0), data->ndim), &out);
    ox_set_const(X, 0, &out);
}

static void op_cast(Ox *X) {
    ox_attrs_only(X, (const char *const[]){"to", "saturate", NULL});
    int64_t to = ox_attr_int(X, "to", 0);
    int to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    if (!to_int && to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        ox_fail(X, "cast to type %lld is not supported", (long long)to);
    OxSym *s = ox_input(X, 0);
    if (s->kind == OX_RUNTIME) {
        if (to_int) ox_fail(X, "a cast of a computed tensor to integers is not supported");
        int id = s->id;
        ox_set_runtime(X, 0, id);
        return;
    }
    OxTensor out;
    ox_fold_cast(X, &s->c, to_int, &out);
    ox_set_const(X, 0, &out);
}

static void ints_of(Ox *X, int k, const char *what, int64_t *out, int n, int64_t dflt) {
    if (!ox_has_input(X, k)) {
        for (int j = 0; j < n; j++) out[j] = dflt < 0 ? j : dflt;
        return;
    }
    const OxTensor *t = ox_const_input(X, k, what);
    if (!t->is_int || t->n != n) ox_fail(X, "%s must be %d integers", what, n);
    memcpy(out, t->i, (size_t)n * sizeof *out);
}

/* Slice of a computed tensor with constant bounds and step 1 along one axis: the middle part of a split. */
static void slice_runtime(Ox *X, int x, const int64_t *starts, const int64_t *ends, const int64_t *axes,
                          const int64_t *steps, int n) {
    const NcValue *v = ox_val(X, x);
    int axis = -1;
    int64_t lo = 0, hi = 0;
    for (int k = 0; k < n; k++) {
        int d = ox_norm_axis(X, axes[k], v->ndim);
        int64_t len = v->shape[d];
        int64_t b = starts[k] < 0 ? starts[k] + len : starts[k], e = ends[k] < 0 ? ends[k] + len : ends[k];
        b = b < 0 ? 0 : b > len ? len : b;
        e = e < 0 ? 0 : e > len ? len : e;
        if (b == 0 && e == len && steps[k] == 1) continue; /* the whole axis */
        if (steps[k] != 1)
            ox_fail(X, "a step of %lld on a computed tensor (netc slices with step 1)", (long long)steps[k]);
        if (axis >= 0 && axis != d) ox_fail(X, "slicing a computed tensor along two axes is not supported");
        if (e <= b) ox_fail(X, "the slice of axis %d is empty", d);
        axis = d, lo = b, hi = e;
    }
    if (axis < 0) {
        ox_set_runtime(X, 0, x);
        return;
    }
    NcAttrs a = nc_attrs_default();
    a.axis = axis;
    const int64_t len = v->shape[axis];
    int part = 0;
    if (lo > 0) a.sizes[a.nsizes++] = lo, part = 1;
    a.sizes[a.nsizes++] = hi - lo;
    if (hi < len) a.sizes[a.nsizes++] = len - hi;
    int ni = ox_node(X, NC_OP_SPLIT, 1, &x, &a);
    ox_set_runtime(X, 0, X->g->nodes.data[ni].outputs[part]);
}

static void op_slice(Ox *X) {
    ox_attrs_only(X, (const char *const[]){NULL});
    OxSym *src = ox_input(X, 0);
    int nd;
    sym_shape(X, src, &nd);
    const OxTensor *st = ox_const_input(X, 1, "starts");
    if (!st->is_int || st->n > NC_MAXDIM) ox_fail(X, "bad starts");
    int n = (int)st->n;
    int64_t starts[NC_MAXDIM], ends[NC_MAXDIM], axes[NC_MAXDIM], steps[NC_MAXDIM];
    ints_of(X, 1, "starts", starts, n, 0);
    ints_of(X, 2, "ends", ends, n, 0);
    ints_of(X, 3, "axes", axes, n, -1);
    ints_of(X, 4, "steps", steps, n, 1);
    if (src->kind == OX_RUNTIME) {
        slice_runtime(X, src->id, starts, ends, axes, steps, n);
        return;
    }
    const OxTensor *data = &src->c;
    OxTensor out;
    ox_fold_slice(X, data, starts, ends, axes, steps, n, &out);
    ox_set_const(X, 0, &out);
}

/* ReduceMean / ReduceSum / ReduceMax.  Over H and W of a 4-d tensor: global average pooling (times H * W for a
 * sum) or global max pooling.  ReduceSum / ReduceMean over other axes (ResNeSt's sum over the radix axis of
 * [N, R, C, H, W]): a split of each such axis into its slices, added (times 1 / R for a mean); at most 16 per
 * axis.  Axes: an attribute, or an input (ReduceSum from opset 13, the others from 18). */
typedef enum { OX_RMEAN, OX_RSUM, OX_RMAX } OxReduce;
static void reduce(Ox *X, OxReduce kind) {
    ox_attrs_only(X, (const char *const[]){"axes", "keepdims", "noop_with_empty_axes", NULL});
    int x = ox_runtime_input(X, 0);
    const int nd = ox_val(X, x)->ndim;
    const int axes_input = kind == OX_RSUM || X->opset >= 18;
    int64_t axes[NC_MAXDIM];
    int n = axes_input ? -1 : ox_attr_ints(X, "axes", axes, NC_MAXDIM);
    if (axes_input && ox_attr(X, "axes")) ox_fail(X, "axes is an input from this opset on, not an attribute");
    if (axes_input && ox_has_input(X, 1)) {
        const OxTensor *t = ox_const_input(X, 1, "axes");
        if (!t->is_int || t->n > NC_MAXDIM) ox_fail(X, "bad axes");
        n = (int)t->n;
        memcpy(axes, t->i, (size_t)n * sizeof *axes);
    }
    if (n == 0 || n < 0) {
        if (ox_attr_int(X, "noop_with_empty_axes", 0)) ox_fail(X, "noop_with_empty_axes with no axes is not supported");
        ox_fail(X, "a reduction over every axis is not supported (give the axes)");
    }
    int mark[NC_MAXDIM] = {0}, spatial = nd == 4;
    for (int k = 0; k < n; k++) {
        int d = ox_norm_axis(X, axes[k], nd);
        if (mark[d]) ox_fail(X, "axis %d is given twice", d);
        mark[d] = 1;
    }
    for (int d = 0; d < nd; d++) spatial &= mark[d] == (d >= 2);
    NcAttrs a = nc_attrs_default();
    int y = x;
    if (spatial) {
        const NcValue *xv = ox_val(X, x);
        const int64_t hw = xv->shape[2] * xv->shape[3];
        y = ox_node1(X, kind == OX_RMAX ? NC_OP_GLOBAL_MAX_POOL : NC_OP_GLOBAL_AVG_POOL, 1, &x, &a);
        if (kind == OX_RSUM && hw != 1) {
            int in[2] = {y, scalar_param(X, ".hw", (float)hw, 4)};
            y = ox_node1(X, NC_OP_MUL, 2, in, &a);
        }
    } else {
        if (kind == OX_RMAX) ox_fail(X, "a maximum over axes other than H and W of a 4-d tensor is not supported");
        for (int d = 0; d < nd; d++) {
            const int64_t r = ox_val(X, y)->shape[d];
            if (!mark[d] || r == 1) continue;
            if (r > NC_MAXOUT)
                ox_fail(X, "a sum over axis %d of size %lld (netc sums at most %d slices)", d, (long long)r, NC_MAXOUT);
            NcAttrs sa = nc_attrs_default();
            sa.axis = d, sa.nsizes = (int)r;
            for (int k = 0; k < r; k++) sa.sizes[k] = 1;
            const int ni = ox_node(X, NC_OP_SPLIT, 1, &y, &sa);
            int parts[NC_MAXOUT];
            memcpy(parts, X->g->nodes.data[ni].outputs, sizeof parts);
            /* pairwise, as a tree: short chains for fuse_eltwise */
            for (int m = (int)r; m > 1; m = (m + 1) / 2)
                for (int k = 0; k < m / 2; k++) {
                    int in[2] = {parts[2 * k], parts[2 * k + 1]};
                    parts[k] = ox_node1(X, NC_OP_ADD, 2, in, &a);
                    if (m % 2 && k == m / 2 - 1) parts[k + 1] = parts[m - 1];
                }
            y = parts[0];
            if (kind == OX_RMEAN) {
                int in[2] = {y, scalar_param(X, ".inv", 1.0f / (float)r, nd)};
                y = ox_node1(X, NC_OP_MUL, 2, in, &a);
            }
        }
    }
    if (!ox_attr_int(X, "keepdims", 1)) {
        const NcValue *yv = ox_val(X, y);
        a = nc_attrs_default();
        for (int d = 0; d < nd; d++)
            if (!mark[d]) a.sizes[a.nsizes++] = yv->shape[d];
        if (!a.nsizes) ox_fail(X, "a reduction to a scalar is not supported");
        y = ox_node1(X, NC_OP_RESHAPE, 1, &y, &a);
    }
    ox_set_runtime(X, 0, y);
}
static void op_reducemean(Ox *X) { reduce(X, OX_RMEAN); }
static void op_reducesum(Ox *X) { reduce(X, OX_RSUM); }
static void op_reducemax(Ox *X) { reduce(X, OX_RMAX); }

static const struct {
    const char *type;
    OxHandler fn;
} table[] = {
    {"Conv", op_conv},
    {"BatchNormalization", op_batchnorm},
    {"Relu", op_relu},
    {"Clip", op_clip},
    {"Sigmoid", ox_op_sigmoid},
    {"HardSigmoid", op_hardsigmoid},
    {"HardSwish", op_hardswish},
    {"Add", op_add},
    {"Sub", op_sub},
    {"Mul", op_mul},
    {"Div", op_div},
    {"MaxPool", op_maxpool},
    {"AveragePool", op_avgpool},
    {"GlobalAveragePool", op_gap},
    {"GlobalMaxPool", op_gmp},
    {"ReduceMean", op_reducemean},
    {"ReduceSum", op_reducesum},
    {"ReduceMax", op_reducemax},
    {"Pad", ox_op_pad},
    {"Transpose", op_transpose},
    {"Ceil", op_ceil},
    {"Floor", op_floor},
    {"Neg", op_neg},
    {"Max", op_max},
    {"Min", op_min},
    {"ConstantOfShape", op_constant_of_shape},
    {"Gemm", op_gemm},
    {"MatMul", op_matmul},
    {"Flatten", op_flatten},
    {"Reshape", op_reshape},
    {"Softmax", op_softmax},
    {"Concat", op_concat},
    {"Split", op_split},
    {"Constant", op_constant},
    {"Identity", op_identity},
    {"Dropout", op_dropout},
    {"Shape", op_shape},
    {"Gather", op_gather},
    {"Unsqueeze", op_unsqueeze},
    {"Squeeze", op_squeeze},
    {"Cast", op_cast},
    {"Slice", op_slice},
};

void ox_import_node(Ox *X) {
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (!strcmp(table[k].type, X->node->op_type)) {
            if (X->node->n_output < 1) ox_fail(X, "a node without outputs");
            table[k].fn(X);
            return;
        }
    ox_fail(X, "op type '%s' is not supported", X->node->op_type);
}
