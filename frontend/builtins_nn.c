/* builtins_nn.c — layers and tensor functions of the .nn language.  A layer
 * with parameters names them after the current name scope, exactly as
 * PyTorch's module tree would: `conv1: conv2d(x, 64, 1)` inside
 * `with layer1 { with 0 {...} }` makes layer1.0.conv1.weight. */
#include <string.h>

#include "frontend/elab.h"

static Val out0(Elab *E, int node) { return v_tensor(E->g->nodes.data[node].outputs[0]); }
static const NcValue *T(Elab *E, int id) { return nc_val(E->g, id); }

/* Padding of one axis. timm's default is symmetric ((s - 1) + d (k - 1)) / 2;
 * "same" is TensorFlow's: total = max((ceil(x / s) - 1) s + (k - 1) d + 1 - x, 0),
 * the smaller half first (top/left). */
static void axis_pad(int64_t x, int k, int s, int d, int *before, int *after, const char *mode) {
    if (mode && strcmp(mode, "same") == 0) {
        int64_t out = (x + s - 1) / s;
        int64_t total = (out - 1) * s + (int64_t)(k - 1) * d + 1 - x;
        if (total < 0) total = 0;
        *before = (int)(total / 2);
        *after = (int)(total - total / 2);
    } else if (mode && strcmp(mode, "valid") == 0) {
        *before = *after = 0;
    } else {
        *before = *after = ((s - 1) + d * (k - 1)) / 2;
    }
}

/* padding = none | "same" | "valid" | p | [ph, pw] | [top, left, bottom, right] */
static void parse_padding(Elab *E, NcLoc loc, Val v, const char *fn, const NcValue *x, const int *k, NcAttrs *a) {
    if (v.k == V_NONE || v.k == V_STR) {
        if (v.k == V_STR && strcmp(v.u.s, "same") && strcmp(v.u.s, "valid"))
            elab_error(E, loc, "%s: padding \"%s\" is not known (use a number, a list, \"same\" or \"valid\")", fn,
                       v.u.s);
        const char *mode = v.k == V_STR ? v.u.s : NULL;
        axis_pad(x->shape[2], k[0], a->stride[0], a->dilation[0], &a->pad[0], &a->pad[2], mode);
        axis_pad(x->shape[3], k[1], a->stride[1], a->dilation[1], &a->pad[1], &a->pad[3], mode);
        return;
    }
    if (v.k == V_LIST && v.u.l->n == 4) {
        arg_ints(E, loc, v, fn, "padding", 4, a->pad);
        return;
    }
    int p[2];
    arg_ints(E, loc, v, fn, "padding", 2, p);
    a->pad[0] = a->pad[2] = p[0];
    a->pad[1] = a->pad[3] = p[1];
}

static void need_rank(Elab *E, NcLoc loc, const NcValue *x, int rank, const char *fn) {
    if (x->ndim != rank) {
        char b[96];
        elab_error(E, loc, "%s: expects a %d-d tensor, got %s", fn, rank, nc_shape_str(x->ndim, x->shape, b, sizeof b));
    }
}

static int64_t positive(Elab *E, NcLoc loc, Val v, const char *fn, const char *param) {
    int64_t n = arg_int(E, loc, v, fn, param);
    if (n < 1 || n > (1 << 24))
        elab_error(E, loc, "%s: '%s' must be a positive size, got %lld", fn, param, (long long)n);
    return n;
}

/* conv2d(x, out, k, stride=1, padding=none, dilation=1, groups=1, bias=false) */
static Val b_conv2d(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "conv2d";
    int x = arg_tensor(E, loc, a[0], fn, "x");
    need_rank(E, loc, T(E, x), 4, fn);
    int64_t out = positive(E, loc, a[1], fn, "out");
    int64_t groups = positive(E, loc, a[6], fn, "groups");
    NcAttrs at = nc_attrs_default();
    arg_ints(E, loc, a[2], fn, "k", 2, at.kernel);
    arg_ints(E, loc, a[3], fn, "stride", 2, at.stride);
    arg_ints(E, loc, a[5], fn, "dilation", 2, at.dilation);
    if (at.kernel[0] < 1 || at.kernel[1] < 1 || at.stride[0] < 1 || at.stride[1] < 1 || at.dilation[0] < 1 ||
        at.dilation[1] < 1)
        elab_error(E, loc, "%s: kernel, stride and dilation must be positive", fn);
    parse_padding(E, loc, a[4], fn, T(E, x), at.kernel, &at);
    int64_t cin = T(E, x)->shape[1];
    if (cin % groups || out % groups)
        elab_error(
            E, loc,
            "in layer '%s': conv2d: groups=%lld must divide the input channels (%lld) and the output channels (%lld)",
            elab_scope_str(E), (long long)groups, (long long)cin, (long long)out);
    at.groups = (int)groups;
    int64_t wshape[4] = {out, cin / groups, at.kernel[0], at.kernel[1]};
    int in[3] = {x, elab_param(E, loc, fn, "weight", NC_PARAM_WEIGHT, 4, wshape), 0};
    int nin = 2;
    if (arg_bool(E, loc, a[7], fn, "bias")) in[nin++] = elab_param(E, loc, fn, "bias", NC_PARAM_BIAS, 1, &out);
    at.has_bias = nin == 3;
    return out0(E, elab_node(E, loc, NC_OP_CONV2D, nin, in, &at));
}

/* batch_norm(x, eps=1e-5): weight, bias, running_mean, running_var */
static Val b_batch_norm(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "batch_norm";
    int x = arg_tensor(E, loc, a[0], fn, "x");
    if (T(E, x)->ndim < 2) elab_error(E, loc, "%s: input needs a channel axis", fn);
    int64_t c = T(E, x)->shape[1];
    NcAttrs at = nc_attrs_default();
    double eps = arg_num(E, loc, a[1], fn, "eps");
    if (!(eps > 0 && eps < 1)) elab_error(E, loc, "%s: eps must be in (0, 1), got %g", fn, eps);
    at.eps = (float)eps;
    int in[5] = {x, elab_param(E, loc, fn, "weight", NC_PARAM_WEIGHT, 1, &c),
                 elab_param(E, loc, fn, "bias", NC_PARAM_BIAS, 1, &c),
                 elab_param(E, loc, fn, "running_mean", NC_PARAM_BN_MEAN, 1, &c),
                 elab_param(E, loc, fn, "running_var", NC_PARAM_BN_VAR, 1, &c)};
    return out0(E, elab_node(E, loc, NC_OP_BATCH_NORM, 5, in, &at));
}

/* linear(x, out, bias=true) on [N, features] */
static Val b_linear(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "linear";
    int x = arg_tensor(E, loc, a[0], fn, "x");
    need_rank(E, loc, T(E, x), 2, fn);
    int64_t out = positive(E, loc, a[1], fn, "out");
    int64_t wshape[2] = {out, T(E, x)->shape[1]};
    int in[3] = {x, elab_param(E, loc, fn, "weight", NC_PARAM_WEIGHT, 2, wshape), 0};
    int nin = 2;
    if (arg_bool(E, loc, a[2], fn, "bias")) in[nin++] = elab_param(E, loc, fn, "bias", NC_PARAM_BIAS, 1, &out);
    NcAttrs at = nc_attrs_default();
    at.has_bias = nin == 3;
    return out0(E, elab_node(E, loc, NC_OP_LINEAR, nin, in, &at));
}

static Val unary(Elab *E, NcLoc loc, Val *a, NcOpKind op, const char *fn) {
    int x = arg_tensor(E, loc, a[0], fn, "x");
    NcAttrs at = nc_attrs_default();
    if (op == NC_OP_CLAMP) at.lo = 0, at.hi = 6;
    return out0(E, elab_node(E, loc, op, 1, &x, &at));
}
static Val b_relu(Elab *E, NcLoc loc, Val *a) { return unary(E, loc, a, NC_OP_RELU, "relu"); }
static Val b_relu6(Elab *E, NcLoc loc, Val *a) { return unary(E, loc, a, NC_OP_CLAMP, "relu6"); }
static Val b_silu(Elab *E, NcLoc loc, Val *a) { return unary(E, loc, a, NC_OP_SILU, "silu"); }
static Val b_sigmoid(Elab *E, NcLoc loc, Val *a) { return unary(E, loc, a, NC_OP_SIGMOID, "sigmoid"); }
static Val b_global_avg_pool(Elab *E, NcLoc loc, Val *a) {
    return unary(E, loc, a, NC_OP_GLOBAL_AVG_POOL, "global_avg_pool");
}
static Val b_global_max_pool(Elab *E, NcLoc loc, Val *a) {
    return unary(E, loc, a, NC_OP_GLOBAL_MAX_POOL, "global_max_pool");
}

/* pool(x, k, stride=none (= k), padding=0, ceil=false[, include_pad=true]) */
static Val pool(Elab *E, NcLoc loc, Val *a, NcOpKind op, const char *fn) {
    int x = arg_tensor(E, loc, a[0], fn, "x");
    need_rank(E, loc, T(E, x), 4, fn);
    NcAttrs at = nc_attrs_default();
    arg_ints(E, loc, a[1], fn, "k", 2, at.kernel);
    if (a[2].k == V_NONE)
        memcpy(at.stride, at.kernel, sizeof at.stride);
    else
        arg_ints(E, loc, a[2], fn, "stride", 2, at.stride);
    if (at.kernel[0] < 1 || at.kernel[1] < 1 || at.stride[0] < 1 || at.stride[1] < 1)
        elab_error(E, loc, "%s: kernel and stride must be positive", fn);
    parse_padding(E, loc, a[3].k == V_NONE ? v_int(0) : a[3], fn, T(E, x), at.kernel, &at);
    at.ceil_mode = arg_bool(E, loc, a[4], fn, "ceil");
    if (op == NC_OP_AVG_POOL2D) at.count_include_pad = arg_bool(E, loc, a[5], fn, "include_pad");
    return out0(E, elab_node(E, loc, op, 1, &x, &at));
}
static Val b_max_pool2d(Elab *E, NcLoc loc, Val *a) { return pool(E, loc, a, NC_OP_MAX_POOL2D, "max_pool2d"); }
static Val b_avg_pool2d(Elab *E, NcLoc loc, Val *a) { return pool(E, loc, a, NC_OP_AVG_POOL2D, "avg_pool2d"); }

static int norm_axis(Elab *E, NcLoc loc, Val v, int ndim, const char *fn) {
    int64_t ax = arg_int(E, loc, v, fn, "axis");
    if (ax < 0) ax += ndim;
    if (ax < 0 || ax >= ndim)
        elab_error(E, loc, "%s: axis %lld is out of range for a %d-d tensor", fn,
                   (long long)arg_int(E, loc, v, fn, "axis"), ndim);
    return (int)ax;
}

/* softmax(x, axis=-1) */
static Val b_softmax(Elab *E, NcLoc loc, Val *a) {
    int x = arg_tensor(E, loc, a[0], "softmax", "x");
    NcAttrs at = nc_attrs_default();
    at.axis = norm_axis(E, loc, a[1], T(E, x)->ndim, "softmax");
    return out0(E, elab_node(E, loc, NC_OP_SOFTMAX, 1, &x, &at));
}

/* radix_softmax(x, radix, cardinality=1): timm's RadixSoftmax. */
static Val b_radix_softmax(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "radix_softmax";
    int x = arg_tensor(E, loc, a[0], fn, "x");
    NcAttrs at = nc_attrs_default();
    at.radix = (int)positive(E, loc, a[1], fn, "radix");
    at.cardinality = (int)positive(E, loc, a[2], fn, "cardinality");
    return out0(E, elab_node(E, loc, NC_OP_RADIX_SOFTMAX, 1, &x, &at));
}

/* radix_gap(x, radix), radix_combine(x, attn, radix): timm's SplitAttn
 * pooling (the branches' sum, averaged over the plane) and output (the
 * branches weighted by attn and summed), without splitting x. */
static Val b_radix_gap(Elab *E, NcLoc loc, Val *a) {
    int x = arg_tensor(E, loc, a[0], "radix_gap", "x");
    NcAttrs at = nc_attrs_default();
    at.radix = (int)positive(E, loc, a[1], "radix_gap", "radix");
    return out0(E, elab_node(E, loc, NC_OP_RADIX_GAP, 1, &x, &at));
}

static Val b_radix_combine(Elab *E, NcLoc loc, Val *a) {
    int in[2] = {arg_tensor(E, loc, a[0], "radix_combine", "x"), arg_tensor(E, loc, a[1], "radix_combine", "attn")};
    NcAttrs at = nc_attrs_default();
    at.radix = (int)positive(E, loc, a[2], "radix_combine", "radix");
    return out0(E, elab_node(E, loc, NC_OP_RADIX_COMBINE, 2, in, &at));
}

/* reshape(x, shape) with at most one -1 */
static Val reshape_to(Elab *E, NcLoc loc, int x, int n, const int64_t *dims, const char *fn) {
    NcAttrs at = nc_attrs_default();
    if (n < 1 || n > NC_MAXDIM) elab_error(E, loc, "%s: %d dimensions is not supported", fn, n);
    int64_t known = 1;
    int infer = -1;
    for (int i = 0; i < n; i++) {
        if (dims[i] == -1 && infer < 0)
            infer = i;
        else if (dims[i] < 1)
            elab_error(E, loc, "%s: dimension %lld is not valid", fn, (long long)dims[i]);
        else if (__builtin_mul_overflow(known, dims[i], &known))
            elab_error(E, loc, "%s: the shape's element count overflows (the tensor has %lld)", fn,
                       (long long)nc_numel(T(E, x)));
        at.sizes[i] = dims[i];
    }
    if (infer >= 0) at.sizes[infer] = known ? nc_numel(T(E, x)) / known : 0;
    at.nsizes = n;
    return out0(E, elab_node(E, loc, NC_OP_RESHAPE, 1, &x, &at));
}

static Val b_reshape(Elab *E, NcLoc loc, Val *a) {
    int x = arg_tensor(E, loc, a[0], "reshape", "x");
    if (a[1].k != V_LIST) elab_error(E, loc, "reshape: 'shape' must be a list");
    int64_t dims[NC_MAXDIM];
    int n = a[1].u.l->n;
    if (n < 1 || n > NC_MAXDIM) elab_error(E, loc, "reshape: %d dimensions is not supported", n);
    for (int i = 0; i < n; i++) dims[i] = arg_int(E, loc, a[1].u.l->items[i], "reshape", "shape");
    return reshape_to(E, loc, x, n, dims, "reshape");
}

/* flatten(x): [N, ...] -> [N, rest] */
static Val b_flatten(Elab *E, NcLoc loc, Val *a) {
    int x = arg_tensor(E, loc, a[0], "flatten", "x");
    int64_t dims[2] = {T(E, x)->shape[0], -1};
    return reshape_to(E, loc, x, 2, dims, "flatten");
}

/* concat(xs, axis=1) */
static Val b_concat(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k != V_LIST || a[0].u.l->n < 1) elab_error(E, loc, "concat: 'xs' must be a non-empty list of tensors");
    int n = a[0].u.l->n;
    if (n > NC_MAXIN) elab_error(E, loc, "concat: at most %d tensors at once", NC_MAXIN);
    int in[NC_MAXIN];
    for (int i = 0; i < n; i++) in[i] = arg_tensor(E, loc, a[0].u.l->items[i], "concat", "xs");
    NcAttrs at = nc_attrs_default();
    at.axis = norm_axis(E, loc, a[1], T(E, in[0])->ndim, "concat");
    return out0(E, elab_node(E, loc, NC_OP_CONCAT, n, in, &at));
}

/* split(x, parts, axis=1): parts is a count of equal chunks or a list of sizes */
static Val b_split(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "split";
    int x = arg_tensor(E, loc, a[0], fn, "x");
    NcAttrs at = nc_attrs_default();
    at.axis = norm_axis(E, loc, a[2], T(E, x)->ndim, fn);
    int64_t len = T(E, x)->shape[at.axis];
    if (a[1].k == V_LIST) {
        at.nsizes = a[1].u.l->n;
        if (at.nsizes < 1 || at.nsizes > NC_MAXOUT) elab_error(E, loc, "%s: 1 to %d parts", fn, NC_MAXOUT);
        for (int i = 0; i < at.nsizes; i++) at.sizes[i] = arg_int(E, loc, a[1].u.l->items[i], fn, "parts");
    } else {
        int64_t parts = positive(E, loc, a[1], fn, "parts");
        if (parts > NC_MAXOUT || len % parts)
            elab_error(E, loc, "%s: cannot split %lld into %lld equal parts", fn, (long long)len, (long long)parts);
        at.nsizes = (int)parts;
        for (int i = 0; i < parts; i++) at.sizes[i] = len / parts;
    }
    int node = elab_node(E, loc, NC_OP_SPLIT, 1, &x, &at);
    Val r = v_list(E, at.nsizes);
    for (int i = 0; i < at.nsizes; i++) r.u.l->items[i] = v_tensor(E->g->nodes.data[node].outputs[i]);
    return r;
}

static Val b_add(Elab *E, NcLoc loc, Val *a) {
    int in[2] = {arg_tensor(E, loc, a[0], "add", "a"), arg_tensor(E, loc, a[1], "add", "b")};
    NcAttrs at = nc_attrs_default();
    return out0(E, elab_node(E, loc, NC_OP_ADD, 2, in, &at));
}

static Val b_mul(Elab *E, NcLoc loc, Val *a) {
    int in[2] = {arg_tensor(E, loc, a[0], "mul", "a"), arg_tensor(E, loc, a[1], "mul", "b")};
    NcAttrs at = nc_attrs_default();
    return out0(E, elab_node(E, loc, NC_OP_MUL, 2, in, &at));
}

/* dropout(x, rate), drop_path(x, rate): in training, x times a mask drawn per
 * element (dropout) or per sample (drop_path: timm's stochastic depth), kept
 * values scaled by 1 / (1 - rate); otherwise, and at rate 0, x itself.  The
 * draws come from the step's seed, a graph input made on first use. */
static Val drop(Elab *E, NcLoc loc, Val *a, const char *fn, int per_sample) {
    int x = arg_tensor(E, loc, a[0], fn, "x");
    double p = arg_num(E, loc, a[1], fn, "rate");
    if (!(p >= 0 && p < 1)) elab_error(E, loc, "%s: rate must be in [0, 1), got %g", fn, p);
    if (!E->train || p == 0) return a[0];
    if (E->seed < 0) {
        int64_t two = 2;
        E->seed = nc_graph_add_input(E->g, "seed", 1, &two);
        E->g->values.data[E->seed].dtype = NC_I32;
    }
    NcAttrs at = nc_attrs_default();
    at.p = (float)p, at.per_sample = per_sample, at.salt = ++E->salts;
    int in[2] = {x, E->seed};
    return out0(E, elab_node(E, loc, NC_OP_DROPOUT, 2, in, &at));
}
static Val b_dropout(Elab *E, NcLoc loc, Val *a) { return drop(E, loc, a, "dropout", 0); }
static Val b_drop_path(Elab *E, NcLoc loc, Val *a) { return drop(E, loc, a, "drop_path", 1); }

/* scope(): the current name scope as a string (for messages in .nn code). */
/* preprocess(crop_pct, interpolation, mean, std): timm's pretrained_cfg for
 * the model, used by compiled programs that read image files. */
static void three(Elab *E, NcLoc loc, Val v, const char *param, float *out) {
    const char *fn = "preprocess";
    if (v.k != V_LIST || v.u.l->n != 3) elab_error(E, loc, "%s: '%s' must be a list of three numbers", fn, param);
    for (int i = 0; i < 3; i++) {
        double x = arg_num(E, loc, v.u.l->items[i], fn, param);
        if (!(x > -1e3 && x < 1e3)) elab_error(E, loc, "%s: '%s' has an implausible value %g", fn, param, x);
        out[i] = (float)x;
    }
}
static Val b_preprocess(Elab *E, NcLoc loc, Val *a) {
    const char *fn = "preprocess";
    NcPreprocess p = nc_preprocess_default();
    p.set = 1;
    if (a[0].k != V_NONE) {
        double c = arg_num(E, loc, a[0], fn, "crop_pct");
        /* A crop_pct near 0 asks for a resize to a side past any image's (timm's are 0.8 to 1). */
        if (!(c >= 0.05 && c <= 4)) elab_error(E, loc, "%s: crop_pct must be in [0.05, 4], got %g", fn, c);
        p.crop_pct = (float)c;
    }
    if (a[1].k != V_NONE) {
        if (a[1].k != V_STR) elab_error(E, loc, "%s: 'interpolation' must be a string", fn);
        if (!strcmp(a[1].u.s, "bicubic"))
            p.interp = 0;
        else if (!strcmp(a[1].u.s, "bilinear"))
            p.interp = 1;
        else
            elab_error(E, loc, "%s: interpolation '%s': expected \"bicubic\" or \"bilinear\"", fn, a[1].u.s);
    }
    if (a[2].k != V_NONE) three(E, loc, a[2], "mean", p.mean);
    if (a[3].k != V_NONE) three(E, loc, a[3], "std", p.std);
    /* Pixels are divided by std: a tiny one makes them overflow to inf, then NaN. */
    for (int i = 0; i < 3; i++)
        if (!(p.std[i] >= 1e-3f)) elab_error(E, loc, "%s: std must be at least 0.001, got %g", fn, (double)p.std[i]);
    E->g->pre = p;
    return v_none();
}

static Val b_scope(Elab *E, NcLoc loc, Val *a) { return v_str(elab_scope_str(E)); }

const Builtin nc_builtins_nn[] = {
    {"conv2d", "x, out, k, stride=1, padding=none, dilation=1, groups=1, bias=false", b_conv2d},
    {"batch_norm", "x, eps=1e-5", b_batch_norm},
    {"linear", "x, out, bias=true", b_linear},
    {"relu", "x", b_relu},
    {"relu6", "x", b_relu6},
    {"silu", "x", b_silu},
    {"sigmoid", "x", b_sigmoid},
    {"add", "a, b", b_add},
    {"mul", "a, b", b_mul},
    {"max_pool2d", "x, k, stride=none, padding=0, ceil=false", b_max_pool2d},
    {"avg_pool2d", "x, k, stride=none, padding=0, ceil=false, include_pad=true", b_avg_pool2d},
    {"global_avg_pool", "x", b_global_avg_pool},
    {"global_max_pool", "x", b_global_max_pool},
    {"softmax", "x, axis=-1", b_softmax},
    {"radix_softmax", "x, radix, cardinality=1", b_radix_softmax},
    {"radix_gap", "x, radix", b_radix_gap},
    {"radix_combine", "x, attn, radix", b_radix_combine},
    {"concat", "xs, axis=1", b_concat},
    {"split", "x, parts, axis=1", b_split},
    {"reshape", "x, shape", b_reshape},
    {"flatten", "x", b_flatten},
    {"dropout", "x, rate", b_dropout},
    {"drop_path", "x, rate", b_drop_path},
    {"scope", "", b_scope},
    {"preprocess", "crop_pct=none, interpolation=none, mean=none, std=none", b_preprocess},
    {NULL, NULL, NULL},
};

/* ---- the combined table --------------------------------------------- */

static int count_of(const Builtin *t) {
    int n = 0;
    while (t[n].name) n++;
    return n;
}

int elab_builtin_count(void) { return count_of(nc_builtins_math) + count_of(nc_builtins_nn); }

const Builtin *elab_builtin(int index) {
    int nm = count_of(nc_builtins_math);
    return index < nm ? &nc_builtins_math[index] : &nc_builtins_nn[index - nm];
}

int elab_find_builtin(const char *name) {
    int n = elab_builtin_count();
    for (int i = 0; i < n; i++)
        if (strcmp(elab_builtin(i)->name, name) == 0) return i;
    return -1;
}
