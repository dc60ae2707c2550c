/* ops.c — the op table and the shape rules.  Shape errors say which size is
 * wrong and why; the caller adds the layer name and the source position. */
#include "ir/ops.h"

#include <string.h>

#define SHP(i) (in[i]->shape)

static int expect_rank(const NcValue *const *in, int i, int rank, const char *what, NcError *e) {
    if (in[i]->ndim != rank) {
        char b[96];
        return nc_errorf(e, "%s must have %d dimensions, got %s", what, rank,
                         nc_shape_str(in[i]->ndim, in[i]->shape, b, sizeof b));
    }
    return 0;
}

/* Output size of a sliding window along one axis, PyTorch's rule (ceil mode
 * drops a last window that would start in the right padding). */
static int64_t window_out(int64_t x, int k, int s, int d, int pad0, int pad1, int ceil_mode) {
    int64_t span = x + pad0 + pad1 - (int64_t)d * (k - 1) - 1;
    if (span < 0) return 0;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= x + pad0) out--;
    return out;
}

static int spatial_out(const NcValue *x, const NcAttrs *a, int kh, int kw, int64_t *oh, int64_t *ow, NcError *e) {
    if (a->stride[0] < 1 || a->stride[1] < 1 || a->dilation[0] < 1 || a->dilation[1] < 1)
        return nc_errorf(e, "stride and dilation must be positive, got stride %dx%d dilation %dx%d", a->stride[0],
                         a->stride[1], a->dilation[0], a->dilation[1]);
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0) return nc_errorf(e, "padding must not be negative, got %d", a->pad[i]);
    *oh = window_out(x->shape[2], kh, a->stride[0], a->dilation[0], a->pad[0], a->pad[2], a->ceil_mode);
    *ow = window_out(x->shape[3], kw, a->stride[1], a->dilation[1], a->pad[1], a->pad[3], a->ceil_mode);
    if (*oh < 1 || *ow < 1)
        return nc_errorf(e,
                         "input of %lldx%lld is too small: a %dx%d window with stride %d, padding "
                         "(%d,%d,%d,%d) gives an output of %lldx%lld",
                         (long long)x->shape[2], (long long)x->shape[3], kh, kw, a->stride[0], a->pad[0], a->pad[1],
                         a->pad[2], a->pad[3], (long long)*oh, (long long)*ow);
    return 0;
}

int nc_shape_conv2d(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                    NcError *e) {
    if (expect_rank(in, 0, 4, "conv2d input", e) || expect_rank(in, 1, 4, "conv2d weight", e)) return -1;
    int64_t c = SHP(0)[1], o = SHP(1)[0], g = a->groups;
    if (g < 1 || c % g || o % g)
        return nc_errorf(e, "groups=%lld must divide the input channels (%lld) and output channels (%lld)",
                         (long long)g, (long long)c, (long long)o);
    if (SHP(1)[1] != c / g)
        return nc_errorf(e, "weight expects %lld input channels per group, input has %lld/%lld", (long long)SHP(1)[1],
                         (long long)c, (long long)g);
    if (a->has_bias && (nin < 3 || in[2]->ndim != 1 || SHP(2)[0] != o))
        return nc_errorf(e, "bias must have shape [%lld]", (long long)o);
    if (a->has_in_scale) {
        int si = nc_in_scale_input(a);
        if (si >= nin || in[si]->ndim != 4 || SHP(si)[0] != SHP(0)[0] || SHP(si)[1] != c || SHP(si)[2] != 1 ||
            SHP(si)[3] != 1)
            return nc_errorf(e, "conv2d input scale must have shape [%lld, %lld, 1, 1]", (long long)SHP(0)[0],
                             (long long)c);
    }
    if (SHP(1)[2] > (1 << 20) || SHP(1)[3] > (1 << 20))
        return nc_errorf(e, "kernel of %lldx%lld is too large", (long long)SHP(1)[2], (long long)SHP(1)[3]);
    int64_t oh, ow;
    if (spatial_out(in[0], a, (int)SHP(1)[2], (int)SHP(1)[3], &oh, &ow, e)) return -1;
    ond[0] = 4;
    os[0][0] = SHP(0)[0], os[0][1] = o, os[0][2] = oh, os[0][3] = ow;
    if (nc_epilogue_check(in, nin, a, nc_epi_first_input(a), 4, os[0], e)) return -1;
    return 1;
}

static double macs_conv2d(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return (double)nc_numel(out[0]) * (double)(in[1]->shape[1] * in[1]->shape[2] * in[1]->shape[3]);
}
/* The gradients do the forward's multiply-adds once more each: every element of dy meets a filter's
 * CG KH KW taps (conv2d_grad_input(dy, w), conv2d_grad_weight(dy, x) -> dw [O, CG, KH, KW]). */
static double macs_conv2d_grad_input(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return (double)nc_numel(in[0]) * (double)(in[1]->shape[1] * in[1]->shape[2] * in[1]->shape[3]);
}
static double macs_conv2d_grad_weight(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return (double)nc_numel(in[0]) * (double)(out[0]->shape[1] * out[0]->shape[2] * out[0]->shape[3]);
}
/* linear_grad_input(dy [N, O], w) -> [N, K]; linear_grad_weight(dy [N, O], x) -> [O, K] */
static double macs_linear_grad(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return (double)nc_numel(in[0]) * (double)out[0]->shape[1];
}

static int shape_linear(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                        NcError *e) {
    if (expect_rank(in, 0, 2, "linear input", e) || expect_rank(in, 1, 2, "linear weight", e)) return -1;
    if (SHP(0)[1] != SHP(1)[1])
        return nc_errorf(e, "input has %lld features, weight expects %lld", (long long)SHP(0)[1], (long long)SHP(1)[1]);
    if (a->has_bias && (nin < 3 || in[2]->ndim != 1 || SHP(2)[0] != SHP(1)[0]))
        return nc_errorf(e, "bias must have shape [%lld]", (long long)SHP(1)[0]);
    ond[0] = 2;
    os[0][0] = SHP(0)[0], os[0][1] = SHP(1)[0];
    if (nc_epilogue_check(in, nin, a, nc_epi_first_input(a), 2, os[0], e)) return -1;
    return 1;
}

static double macs_linear(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return (double)nc_numel(out[0]) * (double)in[1]->shape[1];
}

static int shape_batch_norm(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                            NcError *e) {
    if (in[0]->ndim < 2) return nc_errorf(e, "batch_norm input needs a channel axis");
    for (int i = 1; i < 5; i++)
        if (in[i]->ndim != 1 || SHP(i)[0] != SHP(0)[1])
            return nc_errorf(e, "batch_norm parameters must have shape [%lld]", (long long)SHP(0)[1]);
    if (!(a->eps > 0)) return nc_errorf(e, "batch_norm eps must be positive");
    ond[0] = in[0]->ndim;
    memcpy(os[0], SHP(0), sizeof os[0]);
    return 1;
}

static int shape_same(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                      NcError *e) {
    ond[0] = in[0]->ndim;
    memcpy(os[0], SHP(0), sizeof os[0]);
    return 1;
}

/* NumPy broadcasting, right-aligned. */
static int shape_broadcast(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                           NcError *e) {
    int nd = in[0]->ndim > in[1]->ndim ? in[0]->ndim : in[1]->ndim;
    for (int i = 0; i < nd; i++) {
        int i0 = i - (nd - in[0]->ndim), i1 = i - (nd - in[1]->ndim);
        int64_t d0 = i0 >= 0 ? SHP(0)[i0] : 1, d1 = i1 >= 0 ? SHP(1)[i1] : 1;
        if (d0 != d1 && d0 != 1 && d1 != 1) {
            char b0[96], b1[96];
            return nc_errorf(e, "shapes %s and %s do not broadcast", nc_shape_str(in[0]->ndim, SHP(0), b0, sizeof b0),
                             nc_shape_str(in[1]->ndim, SHP(1), b1, sizeof b1));
        }
        os[0][i] = d0 == 1 ? d1 : d0;
    }
    ond[0] = nd;
    return 1;
}

/* add / mul: two broadcasting operands, then (after elementwise-chain
 * fusion) epilogue steps whose operands follow them. */
static int shape_binary(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                        NcError *e) {
    if (shape_broadcast(in, 2, a, ond, os, e) < 0) return -1;
    if (nc_epilogue_check(in, nin, a, 2, ond[0], os[0], e)) return -1;
    return 1;
}

int nc_shape_pool2d(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                    NcError *e) {
    if (expect_rank(in, 0, 4, "pool input", e)) return -1;
    if (a->kernel[0] < 1 || a->kernel[1] < 1)
        return nc_errorf(e, "pool kernel must be positive, got %dx%d", a->kernel[0], a->kernel[1]);
    if (2 * (int64_t)a->pad[0] > a->kernel[0] || 2 * (int64_t)a->pad[1] > a->kernel[1])
        return nc_errorf(e, "pool padding (%d,%d) must be at most half the kernel (%dx%d)", a->pad[0], a->pad[1],
                         a->kernel[0], a->kernel[1]);
    int64_t oh, ow;
    if (spatial_out(in[0], a, a->kernel[0], a->kernel[1], &oh, &ow, e)) return -1;
    ond[0] = 4;
    os[0][0] = SHP(0)[0], os[0][1] = SHP(0)[1], os[0][2] = oh, os[0][3] = ow;
    return 1;
}

static int shape_global_pool(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                             NcError *e) {
    if (expect_rank(in, 0, 4, "global pool input", e)) return -1;
    ond[0] = 4;
    os[0][0] = SHP(0)[0], os[0][1] = SHP(0)[1], os[0][2] = 1, os[0][3] = 1;
    return 1;
}

static int shape_softmax(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                         NcError *e) {
    if (a->axis < 0 || a->axis >= in[0]->ndim)
        return nc_errorf(e, "softmax axis %d out of range for %d dimensions", a->axis, in[0]->ndim);
    return shape_same(in, nin, a, ond, os, e);
}

static int shape_radix_softmax(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                               NcError *e) {
    int64_t per = nc_numel(in[0]) / SHP(0)[0];
    if (a->radix < 1 || a->cardinality < 1 || per % ((int64_t)a->radix * a->cardinality))
        return nc_errorf(e, "radix %d x cardinality %d must divide the %lld features per sample", a->radix,
                         a->cardinality, (long long)per);
    return shape_same(in, nin, a, ond, os, e);
}

/* ResNeSt's split attention without its splits: x is [N, R*C, H, W], R
 * radix branches of C channels, radix-major (timm's SplitAttn). */
static int radix_channels(const NcValue *x, const NcAttrs *a, const char *op, int64_t *C, NcError *e) {
    if (x->ndim != 4) return nc_errorf(e, "%s wants a 4-d input, not %d-d", op, x->ndim);
    if (a->radix < 1 || x->shape[1] % a->radix)
        return nc_errorf(e, "%s: radix %d must divide the %lld channels", op, a->radix, (long long)x->shape[1]);
    *C = x->shape[1] / a->radix;
    return 0;
}

/* radix_gap: [N, R*C, H, W] -> [N, C, 1, 1], the mean over the plane of the branches' sum */
static int shape_radix_gap(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                           NcError *e) {
    int64_t C = 0;
    if (radix_channels(in[0], a, "radix_gap", &C, e)) return -1;
    ond[0] = 4, os[0][0] = SHP(0)[0], os[0][1] = C, os[0][2] = os[0][3] = 1;
    return 1;
}

/* radix_combine: x [N, R*C, H, W], attention a [N, R*C, 1, 1] -> [N, C, H, W],
 * the branches weighted by their attention and summed */
static int shape_radix_combine(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                               NcError *e) {
    int64_t C = 0;
    if (radix_channels(in[0], a, "radix_combine", &C, e)) return -1;
    if (nc_numel(in[1]) != SHP(0)[0] * SHP(0)[1])
        return nc_errorf(
            e, "radix_combine: the attention has %lld values, not one per (image, channel) of the input (%lld)",
            (long long)nc_numel(in[1]), (long long)(SHP(0)[0] * SHP(0)[1]));
    ond[0] = 4, os[0][0] = SHP(0)[0], os[0][1] = C, os[0][2] = SHP(0)[2], os[0][3] = SHP(0)[3];
    return 1;
}

static int shape_concat(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                        NcError *e) {
    int nd = in[0]->ndim, ax = a->axis;
    if (ax < 0 || ax >= nd) return nc_errorf(e, "concat axis %d out of range", ax);
    memcpy(os[0], SHP(0), sizeof os[0]);
    for (int i = 1; i < nin; i++) {
        if (in[i]->ndim != nd) return nc_errorf(e, "concat inputs differ in rank");
        for (int d = 0; d < nd; d++)
            if (d != ax && SHP(i)[d] != SHP(0)[d]) {
                char b0[96], b1[96];
                return nc_errorf(e, "concat inputs %s and %s differ outside axis %d",
                                 nc_shape_str(nd, SHP(0), b0, sizeof b0), nc_shape_str(nd, SHP(i), b1, sizeof b1), ax);
            }
        os[0][ax] += SHP(i)[ax];
    }
    ond[0] = nd;
    return 1;
}

static int shape_split(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                       NcError *e) {
    int nd = in[0]->ndim, ax = a->axis;
    if (ax < 0 || ax >= nd) return nc_errorf(e, "split axis %d out of range", ax);
    if (a->nsizes < 1 || a->nsizes > NC_MAXOUT) return nc_errorf(e, "split into %d parts", a->nsizes);
    int64_t sum = 0;
    for (int i = 0; i < a->nsizes; i++) {
        if (a->sizes[i] < 1 || a->sizes[i] > SHP(0)[ax])
            return nc_errorf(e, "split sizes must be in 1..%lld", (long long)SHP(0)[ax]);
        sum += a->sizes[i];
        ond[i] = nd;
        memcpy(os[i], SHP(0), sizeof os[i]);
        os[i][ax] = a->sizes[i];
    }
    if (sum != SHP(0)[ax])
        return nc_errorf(e, "split sizes add up to %lld but axis %d has %lld", (long long)sum, ax,
                         (long long)SHP(0)[ax]);
    return a->nsizes;
}

static int shape_reshape(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                         NcError *e) {
    int ok = a->nsizes >= 1 && a->nsizes <= NC_MAXDIM && nc_shape_fits(a->nsizes, a->sizes);
    int64_t n = 1;
    for (int i = 0; ok && i < a->nsizes; i++) ok = a->sizes[i] >= 1, n *= a->sizes[i];
    if (!ok || n != nc_numel(in[0])) {
        char b0[96], b1[96];
        return nc_errorf(e, "cannot reshape %s into %s", nc_shape_str(in[0]->ndim, SHP(0), b0, sizeof b0),
                         nc_shape_str(a->nsizes, a->sizes, b1, sizeof b1));
    }
    ond[0] = a->nsizes;
    memcpy(os[0], a->sizes, (size_t)a->nsizes * sizeof(int64_t));
    return 1;
}

/* transpose(x): out.shape[d] = x.shape[perm[d]], perm in sizes (ONNX's Transpose,
 * numpy's transpose(perm)); the importer's channel shuffles and transA. */
static int shape_transpose(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                           NcError *e) {
    int seen[NC_MAXDIM] = {0}, ok = a->nsizes == in[0]->ndim;
    for (int d = 0; ok && d < a->nsizes; d++) {
        ok = a->sizes[d] >= 0 && a->sizes[d] < a->nsizes && !seen[a->sizes[d]];
        if (ok) seen[a->sizes[d]] = 1;
    }
    if (!ok) {
        char b0[96], b1[96];
        return nc_errorf(e, "transpose of %s needs a permutation of its %d axes, got %s",
                         nc_shape_str(in[0]->ndim, SHP(0), b0, sizeof b0), in[0]->ndim,
                         nc_shape_str(a->nsizes, a->sizes, b1, sizeof b1));
    }
    ond[0] = a->nsizes;
    for (int d = 0; d < a->nsizes; d++) os[0][d] = SHP(0)[a->sizes[d]];
    return 1;
}

/* squeeze_excite(x, w1, b1, w2, b2): the SE gate
 * sigmoid(fc2(act(fc1(mean_hw(x))))) as one op, act = epi[0] (relu or silu). */
static int shape_squeeze_excite(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                                NcError *e) {
    if (expect_rank(in, 0, 4, "squeeze_excite input", e)) return -1;
    int64_t c = SHP(0)[1], r = SHP(1)[0];
    if (in[1]->ndim != 4 || SHP(1)[1] != c || SHP(1)[2] != 1 || SHP(1)[3] != 1 || in[2]->ndim != 1 || SHP(2)[0] != r ||
        in[3]->ndim != 4 || SHP(3)[0] != c || SHP(3)[1] != r || SHP(3)[2] != 1 || SHP(3)[3] != 1 || in[4]->ndim != 1 ||
        SHP(4)[0] != c)
        return nc_errorf(e, "squeeze_excite parameters do not fit %lld channels", (long long)c);
    if (a->nepi != 1 || (a->epi[0].kind != NC_EPI_RELU && a->epi[0].kind != NC_EPI_SILU))
        return nc_errorf(e, "squeeze_excite needs one activation (relu or silu)");
    ond[0] = 4;
    os[0][0] = SHP(0)[0], os[0][1] = c, os[0][2] = 1, os[0][3] = 1;
    return 1;
}

static double macs_squeeze_excite(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a) {
    return 2.0 * (double)in[0]->shape[0] * (double)nc_numel(in[1]);
}

#define WIN        (NC_ATTR_KERNEL | NC_ATTR_STRIDE | NC_ATTR_PAD)
#define CONV_ATTRS (WIN | NC_ATTR_DILATION | NC_ATTR_GROUPS)
#define RADIX      NC_ATTR_RADIX
#define TRAIN      NC_ATTR_TRAIN
#define OPAQUE     NC_FUSE_OPAQUE
static const NcOpInfo op_table[NC_OP_COUNT] = {
    /* each row: name, min and max inputs, fusion class, attribute fields, shape rule, reference kernel, MACs,
     * gradient rule */
    [NC_OP_CONV2D] = {"conv2d", 2, 3 + NC_MAX_EPI, NC_FUSE_ANCHOR, CONV_ATTRS | NC_ATTR_EPILOGUE, nc_shape_conv2d,
                      nc_ref_conv2d, macs_conv2d, nc_grad_conv2d},
    [NC_OP_BATCH_NORM] = {"batch_norm", 5, 5, NC_FUSE_BROADCAST, NC_ATTR_EPS, shape_batch_norm, nc_ref_batch_norm, NULL,
                          NULL},
    [NC_OP_LINEAR] = {"linear", 2, 3 + NC_MAX_EPI, NC_FUSE_ANCHOR, NC_ATTR_EPILOGUE, shape_linear, nc_ref_linear,
                      macs_linear, nc_grad_linear},
    [NC_OP_RELU] = {"relu", 1, 1, NC_FUSE_ELEMWISE, 0, shape_same, nc_ref_relu, NULL, nc_grad_act},
    [NC_OP_CLAMP] = {"clamp", 1, 1, NC_FUSE_ELEMWISE, NC_ATTR_CLAMP, shape_same, nc_ref_clamp, NULL, nc_grad_act},
    [NC_OP_SILU] = {"silu", 1, 1, NC_FUSE_ELEMWISE, 0, shape_same, nc_ref_silu, NULL, nc_grad_act},
    [NC_OP_SIGMOID] = {"sigmoid", 1, 1, NC_FUSE_ELEMWISE, 0, shape_same, nc_ref_sigmoid, NULL, nc_grad_act},
    [NC_OP_ADD] = {"add", 2, NC_MAXIN, NC_FUSE_BROADCAST, NC_ATTR_EPILOGUE, shape_binary, nc_ref_add, NULL,
                   nc_grad_add},
    [NC_OP_MUL] = {"mul", 2, NC_MAXIN, NC_FUSE_BROADCAST, NC_ATTR_EPILOGUE, shape_binary, nc_ref_mul, NULL,
                   nc_grad_mul},
    [NC_OP_MAX_POOL2D] = {"max_pool2d", 1, 1, NC_FUSE_REDUCTION, WIN | NC_ATTR_CEIL, nc_shape_pool2d, nc_ref_max_pool2d,
                          NULL, nc_grad_pool2d},
    [NC_OP_AVG_POOL2D] = {"avg_pool2d", 1, 1, NC_FUSE_REDUCTION, WIN | NC_ATTR_CEIL | NC_ATTR_INCLUDE_PAD,
                          nc_shape_pool2d, nc_ref_avg_pool2d, NULL, nc_grad_pool2d},
    [NC_OP_GLOBAL_AVG_POOL] = {"global_avg_pool", 1, 1, NC_FUSE_REDUCTION, 0, shape_global_pool, nc_ref_global_avg_pool,
                               NULL, nc_grad_global_avg_pool},
    [NC_OP_GLOBAL_MAX_POOL] = {"global_max_pool", 1, 1, NC_FUSE_REDUCTION, 0, shape_global_pool, nc_ref_global_max_pool,
                               NULL, NULL},
    [NC_OP_SOFTMAX] = {"softmax", 1, 1, NC_FUSE_REDUCTION, NC_ATTR_AXIS, shape_softmax, nc_ref_softmax, NULL,
                       nc_grad_softmax},
    [NC_OP_RADIX_SOFTMAX] = {"radix_softmax", 1, 1, NC_FUSE_REDUCTION, RADIX, shape_radix_softmax, nc_ref_radix_softmax,
                             NULL, nc_grad_softmax},
    [NC_OP_CONCAT] = {"concat", 1, NC_MAXIN, NC_FUSE_INJECTIVE, NC_ATTR_AXIS, shape_concat, nc_ref_concat, NULL,
                      nc_grad_concat},
    [NC_OP_SPLIT] = {"split", 1, 1, NC_FUSE_INJECTIVE, NC_ATTR_AXIS | NC_ATTR_SIZES, shape_split, nc_ref_split, NULL,
                     nc_grad_split},
    [NC_OP_SQUEEZE_EXCITE] = {"squeeze_excite", 5, 5, OPAQUE, NC_ATTR_EPILOGUE, shape_squeeze_excite,
                              nc_ref_squeeze_excite, macs_squeeze_excite, NULL},
    [NC_OP_RESHAPE] = {"reshape", 1, 1, NC_FUSE_INJECTIVE, NC_ATTR_SIZES, shape_reshape, nc_ref_reshape, NULL,
                       nc_grad_reshape},
    [NC_OP_RELAYOUT] = {"relayout", 1, 1, NC_FUSE_INJECTIVE, 0, shape_same, nc_ref_relayout, NULL, NULL},
    [NC_OP_RADIX_GAP] = {"radix_gap", 1, 1, OPAQUE, RADIX, shape_radix_gap, nc_ref_radix_gap, NULL, nc_grad_radix_gap},
    [NC_OP_RADIX_COMBINE] = {"radix_combine", 2, 2, OPAQUE, RADIX, shape_radix_combine, nc_ref_radix_combine, NULL,
                             nc_grad_radix_combine},
    /* training (shape_train.c says what each computes) */
    [NC_OP_BATCH_NORM_TRAIN] = {"batch_norm_train", 5, 5, OPAQUE, NC_ATTR_EPS | NC_ATTR_EPILOGUE,
                                nc_shape_batch_norm_train, nc_ref_batch_norm_train, NULL, nc_grad_batch_norm_train},
    [NC_OP_DROPOUT] = {"dropout", 2, 2, OPAQUE, TRAIN, nc_shape_dropout, nc_ref_dropout, NULL, nc_grad_dropout},
    [NC_OP_CROSS_ENTROPY] = {"cross_entropy", 2, 3, OPAQUE, TRAIN, nc_shape_cross_entropy, nc_ref_cross_entropy, NULL,
                             nc_grad_cross_entropy},
    [NC_OP_ZEROS] = {"zeros", 0, 0, OPAQUE, NC_ATTR_SIZES, nc_shape_sizes, nc_ref_zeros, NULL, NULL},
    [NC_OP_SUM_TO] = {"sum_to", 1, 1, OPAQUE, NC_ATTR_SIZES, nc_shape_sum_to, nc_ref_sum_to, NULL, NULL},
    [NC_OP_ACT_GRAD] = {"act_grad", 2, 2, OPAQUE, NC_ATTR_CLAMP | NC_ATTR_ACT, nc_shape_act_grad, nc_ref_act_grad, NULL,
                        NULL},
    [NC_OP_CONV2D_GRAD_INPUT] = {"conv2d_grad_input", 2, 2, OPAQUE, CONV_ATTRS | NC_ATTR_SIZES,
                                 nc_shape_conv2d_grad_input, nc_ref_conv2d_grad_input, macs_conv2d_grad_input, NULL},
    [NC_OP_CONV2D_GRAD_WEIGHT] = {"conv2d_grad_weight", 2, 2, OPAQUE, CONV_ATTRS | NC_ATTR_SIZES,
                                  nc_shape_conv2d_grad_weight, nc_ref_conv2d_grad_weight, macs_conv2d_grad_weight,
                                  NULL},
    [NC_OP_LINEAR_GRAD_INPUT] = {"linear_grad_input", 2, 2, OPAQUE, 0, nc_shape_linear_grad_input,
                                 nc_ref_linear_grad_input, macs_linear_grad, NULL},
    [NC_OP_LINEAR_GRAD_WEIGHT] = {"linear_grad_weight", 2, 2, OPAQUE, 0, nc_shape_linear_grad_weight,
                                  nc_ref_linear_grad_weight, macs_linear_grad, NULL},
    [NC_OP_BATCH_NORM_TRAIN_GRAD] = {"batch_norm_train_grad", 5, 6, OPAQUE, NC_ATTR_EPS, nc_shape_batch_norm_train_grad,
                                     nc_ref_batch_norm_train_grad, NULL, NULL},
    [NC_OP_MAX_POOL2D_GRAD] = {"max_pool2d_grad", 2, 2, OPAQUE, WIN | NC_ATTR_CEIL, nc_shape_max_pool2d_grad,
                               nc_ref_max_pool2d_grad, NULL, NULL},
    [NC_OP_AVG_POOL2D_GRAD] = {"avg_pool2d_grad", 1, 1, OPAQUE,
                               WIN | NC_ATTR_CEIL | NC_ATTR_INCLUDE_PAD | NC_ATTR_SIZES, nc_shape_avg_pool2d_grad,
                               nc_ref_avg_pool2d_grad, NULL, NULL},
    [NC_OP_GLOBAL_AVG_POOL_GRAD] = {"global_avg_pool_grad", 1, 1, OPAQUE, NC_ATTR_SIZES, nc_shape_global_avg_pool_grad,
                                    nc_ref_global_avg_pool_grad, NULL, NULL},
    [NC_OP_SOFTMAX_GRAD] = {"softmax_grad", 2, 2, OPAQUE, NC_ATTR_AXIS, nc_shape_softmax_grad, nc_ref_softmax_grad,
                            NULL, NULL},
    [NC_OP_RADIX_SOFTMAX_GRAD] = {"radix_softmax_grad", 2, 2, OPAQUE, RADIX, nc_shape_radix_softmax_grad,
                                  nc_ref_radix_softmax_grad, NULL, NULL},
    [NC_OP_RADIX_GAP_GRAD] = {"radix_gap_grad", 1, 1, OPAQUE, RADIX | NC_ATTR_SIZES, nc_shape_radix_gap_grad,
                              nc_ref_radix_gap_grad, NULL, NULL},
    [NC_OP_RADIX_COMBINE_GRAD] = {"radix_combine_grad", 3, 3, OPAQUE, RADIX, nc_shape_radix_combine_grad,
                                  nc_ref_radix_combine_grad, NULL, NULL},
    [NC_OP_CROSS_ENTROPY_GRAD] = {"cross_entropy_grad", 3, 4, OPAQUE, TRAIN, nc_shape_cross_entropy_grad,
                                  nc_ref_cross_entropy_grad, NULL, NULL},
    /* opaque: a permutation is not a view, so no pass may alias or fuse through it */
    [NC_OP_TRANSPOSE] = {"transpose", 1, 1, OPAQUE, NC_ATTR_SIZES, shape_transpose, nc_ref_transpose, NULL, NULL},
};

const NcOpInfo *nc_op_info(NcOpKind op) {
    NC_CHECK(op >= 0 && op < NC_OP_COUNT);
    return &op_table[op];
}

const char *nc_fusion_name(NcFusionClass c) {
    static const char *names[] = {"elemwise", "broadcast", "injective", "reduction", "anchor", "opaque"};
    return names[c];
}
