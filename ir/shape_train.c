/* shape_train.c — shape rules of the training ops, each with what the op
 * computes.  Gradient ops take the forward node's attributes unchanged and,
 * where their output's shape cannot be derived from their inputs, the shape of
 * the forward input in `sizes`; every rule re-derives the forward shape from
 * it, so a gradient node that does not fit its forward node is refused. */
#include <string.h>

#include "ir/ops.h"

#define SHP(i) (in[i]->shape)

static int same_shape(const NcValue *a, const NcValue *b, const char *what, NcError *e) {
    if (nc_shape_eq(a, b)) return 0;
    char b0[96], b1[96];
    return nc_errorf(e, "%s: shapes %s and %s differ", what, nc_shape_str(a->ndim, a->shape, b0, sizeof b0),
                     nc_shape_str(b->ndim, b->shape, b1, sizeof b1));
}

static int channel_vec(const NcValue *v, int64_t c, const char *what, NcError *e) {
    if (v->ndim == 1 && v->shape[0] == c) return 0;
    return nc_errorf(e, "%s must have shape [%lld]", what, (long long)c);
}

/* A value of the shape in a->sizes, as the forward input of a gradient op. */
static int sizes_value(const NcAttrs *a, NcValue *v, NcError *e) {
    memset(v, 0, sizeof *v);
    if (a->nsizes < 1 || a->nsizes > NC_MAXDIM || !nc_shape_fits(a->nsizes, a->sizes))
        return nc_errorf(e, "sizes do not make a shape");
    for (int i = 0; i < a->nsizes; i++)
        if (a->sizes[i] < 1) return nc_errorf(e, "sizes do not make a shape");
    v->ndim = a->nsizes;
    memcpy(v->shape, a->sizes, (size_t)a->nsizes * sizeof(int64_t));
    return 0;
}

static int out_is(const NcValue *v, int *ond, int64_t (*os)[NC_MAXDIM], int k) {
    ond[k] = v->ndim;
    memcpy(os[k], v->shape, sizeof os[k]);
    return k + 1;
}

/* batch_norm_train(x, weight, bias, running_mean, running_var) -> y, mean, var:
 * batch statistics over every axis but 1 (var biased, as the normalisation
 * uses), y = (x - mean) / sqrt(var + eps) * weight + bias.  The running
 * statistics are read by nobody here: the training program updates them from
 * mean and var after the step (momentum 0.1, var made unbiased). */
NC_SHAPE_FN(nc_shape_batch_norm_train) {
    if (in[0]->ndim < 2) return nc_errorf(e, "batch_norm_train input needs a channel axis");
    for (int i = 1; i < 5; i++)
        if (channel_vec(in[i], SHP(0)[1], "batch_norm_train parameters", e)) return -1;
    if (nc_numel(in[0]) / SHP(0)[1] < 2)
        return nc_errorf(e, "batch_norm_train needs more than one value per channel (batch statistics of %lld)",
                         (long long)(nc_numel(in[0]) / SHP(0)[1]));
    if (!(a->eps > 0)) return nc_errorf(e, "batch_norm eps must be positive");
    if (a->nepi < 0 || a->nepi > 1 || (a->nepi == 1 && a->epi[0].kind != NC_EPI_RELU && a->epi[0].kind != NC_EPI_CLAMP))
        return nc_errorf(e, "batch_norm_train's epilogue: at most one step, relu or clamp (passes/fuse_bn_act.c)");
    out_is(in[0], ond, os, 0);
    ond[1] = ond[2] = 1;
    os[1][0] = os[2][0] = SHP(0)[1];
    return 3;
}

/* dropout(x, seed) -> x * mask, mask 0 or 1 / (1 - p), drawn per element or,
 * with per_sample, per index of axis 0 (timm's drop-path); seed is the step's
 * two 32-bit words (an NC_I32 [2] input), the draw nc_dropout_bits. */
NC_SHAPE_FN(nc_shape_dropout) {
    if (in[1]->ndim != 1 || SHP(1)[0] != 2) return nc_errorf(e, "dropout seed must have shape [2]");
    if (!(a->p >= 0 && a->p < 1)) return nc_errorf(e, "dropout probability %g is not in [0, 1)", (double)a->p);
    return out_is(in[0], ond, os, 0);
}

/* cross_entropy(logits [N, K], target [N, K][, class weight [K]]) -> loss [1],
 * the kinds of NcLossKind (ir.h). */
NC_SHAPE_FN(nc_shape_cross_entropy) {
    if (in[0]->ndim != 2) return nc_errorf(e, "cross_entropy logits must be [N, classes]");
    if (same_shape(in[0], in[1], "cross_entropy logits and target", e)) return -1;
    if (a->loss < NC_LOSS_SOFT || a->loss > NC_LOSS_FOCAL) return nc_errorf(e, "unknown loss kind %d", a->loss);
    if ((a->loss == NC_LOSS_WEIGHTED) != (nin == 3))
        return nc_errorf(e, "cross_entropy takes class weights with the weighted loss, and only then");
    if (nin == 3 && channel_vec(in[2], SHP(0)[1], "cross_entropy class weights", e)) return -1;
    if (!(a->p >= 0 && a->p <= 1) || !(a->gamma >= 0 && a->gamma <= 100))
        return nc_errorf(e, "cross_entropy: smoothing %g or gamma %g out of range", (double)a->p, (double)a->gamma);
    ond[0] = 1, os[0][0] = 1;
    return 1;
}

/* cross_entropy_grad(dloss [1], logits, target[, weight]) -> dlogits */
NC_SHAPE_FN(nc_shape_cross_entropy_grad) {
    if (in[0]->ndim != 1 || SHP(0)[0] != 1) return nc_errorf(e, "cross_entropy_grad: dloss must be [1]");
    int od[1];
    int64_t o[1][NC_MAXDIM];
    if (nc_shape_cross_entropy(in + 1, nin - 1, a, od, o, e) < 0) return -1;
    return out_is(in[1], ond, os, 0);
}

/* zeros() -> a tensor of shape sizes, every element 0 (the gradient of an
 * output nobody reads, where a gradient op needs one). */
NC_SHAPE_FN(nc_shape_sizes) {
    NcValue v;
    if (sizes_value(a, &v, e)) return -1;
    return out_is(&v, ond, os, 0);
}

/* sum_to(x) -> shape sizes: x summed over the axes that broadcast from that
 * shape to x's (NumPy rules, right-aligned) — the gradient of a broadcast. */
NC_SHAPE_FN(nc_shape_sum_to) {
    NcValue v;
    if (sizes_value(a, &v, e)) return -1;
    if (v.ndim > in[0]->ndim) return nc_errorf(e, "sum_to: cannot reduce to more dimensions");
    for (int i = 0; i < v.ndim; i++) {
        int64_t d = v.shape[v.ndim - 1 - i], x = SHP(0)[in[0]->ndim - 1 - i];
        if (d != x && d != 1)
            return nc_errorf(e, "sum_to: %lld does not broadcast to %lld", (long long)d, (long long)x);
    }
    return out_is(&v, ond, os, 0);
}

/* act_grad(dy, x) -> dy * act'(x), act the forward's (relu, clamp lo..hi,
 * silu, sigmoid; PyTorch's rules at the kinks: relu passes where x > 0,
 * clamp where lo < x < hi); softmax_grad(dy, y) -> y (dy - sum(dy y)) along
 * axis; radix_softmax_grad likewise per radix group (or y (1 - y) dy at
 * radix 1, a sigmoid) — all of these keep dy's shape. */
NC_SHAPE_FN(nc_shape_pair) {
    if (same_shape(in[0], in[1], "gradient and forward value", e)) return -1;
    return out_is(in[0], ond, os, 0);
}

/* the activations act_grad (and a batch norm's gradient with one fused in) differentiate */
static int has_grad_rule(int act) {
    return act == NC_EPI_RELU || act == NC_EPI_CLAMP || act == NC_EPI_SILU || act == NC_EPI_SIGMOID;
}

NC_SHAPE_FN(nc_shape_act_grad) {
    if (!has_grad_rule(a->act))
        return nc_errorf(e, "act_grad: %d is not an activation (relu, clamp, silu, sigmoid)", a->act);
    return nc_shape_pair(in, nin, a, ond, os, e);
}

NC_SHAPE_FN(nc_shape_softmax_grad) {
    if (a->axis < 0 || a->axis >= in[0]->ndim)
        return nc_errorf(e, "softmax_grad axis %d out of range for %d dimensions", a->axis, in[0]->ndim);
    return nc_shape_pair(in, nin, a, ond, os, e);
}

NC_SHAPE_FN(nc_shape_radix_softmax_grad) {
    const int64_t per = in[0]->ndim >= 1 && SHP(0)[0] > 0 ? nc_numel(in[0]) / SHP(0)[0] : 0;
    if (a->radix < 1 || a->cardinality < 1 || !per || per % ((int64_t)a->radix * a->cardinality))
        return nc_errorf(e, "radix_softmax_grad: radix %d x cardinality %d must divide the %lld features per sample",
                         a->radix, a->cardinality, (long long)per);
    return nc_shape_pair(in, nin, a, ond, os, e);
}

/* The forward convolution a gradient op undoes, run through conv2d's own
 * shape rule: x and w are its input and weight (one of them the gradient's
 * sizes), and dy must have the shape that convolution outputs. */
static int conv_grad_fits(const NcValue *dy, const NcValue *x, const NcValue *w, const NcAttrs *a, const char *what,
                          NcError *e) {
    const NcValue *fin[2] = {x, w};
    NcAttrs fa = *a;
    fa.has_bias = fa.has_in_scale = fa.nepi = 0;
    int od[1];
    int64_t o[1][NC_MAXDIM];
    if (nc_shape_conv2d(fin, 2, &fa, od, o, e) < 0) return -1;
    NcValue y = {.ndim = od[0]};
    memcpy(y.shape, o[0], sizeof y.shape);
    return same_shape(dy, &y, what, e);
}

/* conv2d_grad_input(dy, weight) -> dx of the shape in sizes: the
 * convolution's transpose (every kind conv2d has: groups, stride, dilation,
 * asymmetric padding). */
NC_SHAPE_FN(nc_shape_conv2d_grad_input) {
    NcValue x;
    if (sizes_value(a, &x, e) || conv_grad_fits(in[0], &x, in[1], a, "conv2d_grad_input: dy and the conv's output", e))
        return -1;
    return out_is(&x, ond, os, 0);
}

/* conv2d_grad_weight(dy, x) -> dweight of the shape in sizes. */
NC_SHAPE_FN(nc_shape_conv2d_grad_weight) {
    NcValue w;
    if (sizes_value(a, &w, e) || conv_grad_fits(in[0], in[1], &w, a, "conv2d_grad_weight: dy and the conv's output", e))
        return -1;
    return out_is(&w, ond, os, 0);
}

/* linear_grad_input(dy [N, O], weight [O, K]) -> dy weight [N, K] */
NC_SHAPE_FN(nc_shape_linear_grad_input) {
    if (in[0]->ndim != 2 || in[1]->ndim != 2 || SHP(0)[1] != SHP(1)[0])
        return nc_errorf(e, "linear_grad_input: dy [N, O] and weight [O, K] do not fit");
    ond[0] = 2, os[0][0] = SHP(0)[0], os[0][1] = SHP(1)[1];
    return 1;
}

/* linear_grad_weight(dy [N, O], x [N, K]) -> dy^T x [O, K] */
NC_SHAPE_FN(nc_shape_linear_grad_weight) {
    if (in[0]->ndim != 2 || in[1]->ndim != 2 || SHP(0)[0] != SHP(1)[0])
        return nc_errorf(e, "linear_grad_weight: dy [N, O] and x [N, K] do not fit");
    ond[0] = 2, os[0][0] = SHP(0)[1], os[0][1] = SHP(1)[1];
    return 1;
}

/* batch_norm_train_grad(dy, x, weight, mean, var[, z]) -> dx, dweight, dbias,
 * with the batch statistics the forward computed.  With z (the activation's
 * input, passes/fuse_bn_act_grad.c), dy is the gradient of act(z) and the
 * batch norm's own output gradient is act_grad(dy, z) (attrs act, lo, hi). */
NC_SHAPE_FN(nc_shape_batch_norm_train_grad) {
    if (same_shape(in[0], in[1], "batch_norm_train_grad dy and x", e)) return -1;
    if (nin == 6) {
        if (same_shape(in[0], in[5], "batch_norm_train_grad dy and the activation's input", e)) return -1;
        if (!has_grad_rule(a->act))
            return nc_errorf(e, "batch_norm_train_grad: %d is not an activation (relu, clamp, silu, sigmoid)", a->act);
    }
    if (in[0]->ndim < 2) return nc_errorf(e, "batch_norm_train_grad input needs a channel axis");
    if (!(a->eps > 0)) return nc_errorf(e, "batch_norm eps must be positive");
    for (int i = 2; i < 5; i++)
        if (channel_vec(in[i], SHP(0)[1], "batch_norm_train_grad parameters", e)) return -1;
    out_is(in[0], ond, os, 0);
    ond[1] = ond[2] = 1;
    os[1][0] = os[2][0] = SHP(0)[1];
    return 3;
}

static int pool_fits(const NcValue *dy, const NcValue *x, const NcAttrs *a, const char *op, NcError *e) {
    int od[1];
    int64_t o[1][NC_MAXDIM];
    const NcValue *fin[1] = {x};
    if (nc_shape_pool2d(fin, 1, a, od, o, e) < 0) return -1;
    NcValue y = {.ndim = od[0]};
    memcpy(y.shape, o[0], sizeof y.shape);
    return same_shape(dy, &y, op, e);
}

/* max_pool2d_grad(dy, x) -> dx: each window's dy to the first of its maxima
 * in row-major order (PyTorch's; a NaN is the maximum). */
NC_SHAPE_FN(nc_shape_max_pool2d_grad) {
    if (pool_fits(in[0], in[1], a, "max_pool2d_grad: dy and the pool's output", e)) return -1;
    return out_is(in[1], ond, os, 0);
}

/* avg_pool2d_grad(dy) -> dx of the shape in sizes: dy / divisor spread over
 * each window (the forward's divisor rule). */
NC_SHAPE_FN(nc_shape_avg_pool2d_grad) {
    NcValue x;
    if (sizes_value(a, &x, e) || pool_fits(in[0], &x, a, "avg_pool2d_grad: dy and the pool's output", e)) return -1;
    return out_is(&x, ond, os, 0);
}

/* global_avg_pool_grad(dy [N, C, 1, 1]) -> dx [N, C, H, W] (sizes) = dy / HW */
NC_SHAPE_FN(nc_shape_global_avg_pool_grad) {
    NcValue x;
    if (sizes_value(a, &x, e)) return -1;
    if (x.ndim != 4 || in[0]->ndim != 4 || SHP(0)[0] != x.shape[0] || SHP(0)[1] != x.shape[1] || SHP(0)[2] != 1 ||
        SHP(0)[3] != 1)
        return nc_errorf(e, "global_avg_pool_grad: dy must be [N, C, 1, 1] of the input [N, C, H, W]");
    return out_is(&x, ond, os, 0);
}

/* radix_gap_grad(dy [N, C, 1, 1]) -> dx [N, R C, H, W] (sizes) = dy / HW in
 * every branch */
NC_SHAPE_FN(nc_shape_radix_gap_grad) {
    NcValue x;
    if (sizes_value(a, &x, e)) return -1;
    if (x.ndim != 4 || a->radix < 1 || x.shape[1] % a->radix || in[0]->ndim != 4 || SHP(0)[0] != x.shape[0] ||
        SHP(0)[1] * a->radix != x.shape[1] || SHP(0)[2] != 1 || SHP(0)[3] != 1)
        return nc_errorf(e, "radix_gap_grad: dy does not fit the input's shape and radix %d", a->radix);
    return out_is(&x, ond, os, 0);
}

/* radix_combine_grad(dy [N, C, H, W], x [N, R C, H, W], attn) -> dx, dattn:
 * dx[n, rC + c] = dy[n, c] attn[n, rC + c], dattn[n, rC + c] = sum over the
 * plane of dy[n, c] x[n, rC + c]. */
NC_SHAPE_FN(nc_shape_radix_combine_grad) {
    const int64_t R = a->radix;
    if (in[1]->ndim != 4 || R < 1 || SHP(1)[1] % R || in[0]->ndim != 4 || SHP(0)[0] != SHP(1)[0] ||
        SHP(0)[1] * R != SHP(1)[1] || SHP(0)[2] != SHP(1)[2] || SHP(0)[3] != SHP(1)[3] ||
        nc_numel(in[2]) != SHP(1)[0] * SHP(1)[1])
        return nc_errorf(e, "radix_combine_grad: dy, x and attention do not fit radix %d", a->radix);
    out_is(in[1], ond, os, 0);
    return out_is(in[2], ond, os, 1);
}
