/* ref_grad_pool.c — reference gradients of the reductions: batch norm on
 * batch statistics, the pools (the windows, argmax and divisors exactly as
 * ref_pool.c's forward), the softmaxes (from their output, as PyTorch's
 * backward) and ResNeSt's radix ops (ref_shape.c's layouts). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ir/ops.h"

/* Per channel, with the batch statistics the forward computed (M values per
 * channel, xhat = (x - mean) invstd):
 *   dbias = sum dy, dweight = sum dy xhat,
 *   dx = weight invstd / M (M dy - sum dy - xhat sum dy xhat);
 * with a sixth input z, dy here is act_grad(dy, z) (an activation's gradient
 * fused in: passes/fuse_bn_act_grad.c), rounded to float as act_grad's. */
void nc_ref_batch_norm_train_grad(const NcKernelArgs *k) {
    const NcValue *xv = k->in_v[1];
    const NcAttrs *a = &k->node->attrs;
    const int64_t N = xv->shape[0], C = xv->shape[1], S = nc_numel(xv) / (N * C);
    const double M = (double)(N * S), eps = a->eps;
    const float *dyin = k->in[0], *x = k->in[1], *w = k->in[2], *mean = k->in[3], *var = k->in[4];
    const float *z = k->node->ninputs == 6 ? k->in[5] : NULL;
    float *dx = k->out[0], *dw = k->out[1], *db = k->out[2];
#define DY(j) (z ? nc_ref_act_grad_one(a, dyin[j], z[j]) : dyin[j])
#pragma omp parallel for schedule(dynamic)
    for (int64_t c = 0; c < C; c++) {
        const double mu = mean[c], inv = 1.0 / sqrt((double)var[c] + eps);
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                const int64_t j = (n * C + c) * S + i;
                const double dy = DY(j);
                sdy += dy;
                sdyx += dy * ((x[j] - mu) * inv);
            }
        const double f = w[c] * inv / M;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                const int64_t j = (n * C + c) * S + i;
                dx[j] = (float)(f * (M * DY(j) - sdy - (x[j] - mu) * inv * sdyx));
            }
        dw[c] = (float)sdyx;
        db[c] = (float)sdy;
    }
#undef DY
}

/* Window (oh, ow) of a pool, as ref_pool.c's forward: rows h0..h1-1 and
 * columns w0..w1-1 inside the image, and the divisor the average uses
 * (count_include_pad counts padding, never the ceil_mode overhang). */
typedef struct {
    int64_t h0, h1, w0, w1;
    double divisor;
} Window;

static Window window(const NcAttrs *a, int64_t H, int64_t W, int64_t oh, int64_t ow) {
    Window r;
    r.h0 = oh * a->stride[0] - a->pad[0], r.w0 = ow * a->stride[1] - a->pad[1];
    r.h1 = r.h0 + a->kernel[0] < H + a->pad[2] ? r.h0 + a->kernel[0] : H + a->pad[2];
    r.w1 = r.w0 + a->kernel[1] < W + a->pad[3] ? r.w0 + a->kernel[1] : W + a->pad[3];
    const int64_t padded = (r.h1 - r.h0) * (r.w1 - r.w0);
    if (r.h0 < 0) r.h0 = 0;
    if (r.w0 < 0) r.w0 = 0;
    if (r.h1 > H) r.h1 = H;
    if (r.w1 > W) r.w1 = W;
    r.divisor = (double)(a->count_include_pad ? padded : (r.h1 - r.h0) * (r.w1 - r.w0));
    return r;
}

/* Each window's dy goes to the element the forward picked: the forward's
 * comparison (v > max || isnan(v), from -DBL_MAX) replayed, so the first of
 * equal maxima in row-major order, a NaN over any number (the last NaN, as
 * PyTorch's CPU kernel); a window of -inf only sends it to its first element,
 * PyTorch's initial index.  Windows overlap: +=. */
void nc_ref_max_pool2d_grad(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *ys = k->in_v[0]->shape, *xs = k->in_v[1]->shape;
    const int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
#pragma omp parallel for
    for (int64_t p = 0; p < NC; p++) {
        const float *xp = k->in[1] + p * H * W, *dyp = k->in[0] + p * OH * OW;
        double *acc = nc_calloc((size_t)(H * W), sizeof(double));
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const Window r = window(a, H, W, oh, ow);
                double m = -DBL_MAX;
                int64_t best = r.h0 * W + r.w0;
                for (int64_t ih = r.h0; ih < r.h1; ih++)
                    for (int64_t iw = r.w0; iw < r.w1; iw++) {
                        const double v = xp[ih * W + iw];
                        if (v > m || isnan(v)) m = v, best = ih * W + iw;
                    }
                acc[best] += dyp[oh * OW + ow];
            }
        float *dxp = k->out[0] + p * H * W;
        for (int64_t i = 0; i < H * W; i++) dxp[i] = (float)acc[i];
        free(acc);
    }
}

/* Each window's dy / divisor to every element of it inside the image. */
void nc_ref_avg_pool2d_grad(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *ys = k->in_v[0]->shape, *xs = k->out_v[0]->shape;
    const int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
#pragma omp parallel for
    for (int64_t p = 0; p < NC; p++) {
        const float *dyp = k->in[0] + p * OH * OW;
        double *acc = nc_calloc((size_t)(H * W), sizeof(double));
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const Window r = window(a, H, W, oh, ow);
                const double g = dyp[oh * OW + ow] / r.divisor;
                for (int64_t ih = r.h0; ih < r.h1; ih++)
                    for (int64_t iw = r.w0; iw < r.w1; iw++) acc[ih * W + iw] += g;
            }
        float *dxp = k->out[0] + p * H * W;
        for (int64_t i = 0; i < H * W; i++) dxp[i] = (float)acc[i];
        free(acc);
    }
}

/* dx[n, c, h, w] = dy[n, c] / HW */
void nc_ref_global_avg_pool_grad(const NcKernelArgs *k) {
    const int64_t *xs = k->out_v[0]->shape;
    const int64_t NC = xs[0] * xs[1], S = xs[2] * xs[3];
#pragma omp parallel for
    for (int64_t p = 0; p < NC; p++) {
        const float g = (float)(k->in[0][p] / (double)S);
        for (int64_t i = 0; i < S; i++) k->out[0][p * S + i] = g;
    }
}

/* dx = y (dy - sum dy y) along one softmax, its elements `stride` apart in y
 * and dy and `dx_stride` apart in dx. */
static void softmax_grad_strided(const float *dy, const float *y, float *dx, int64_t len, int64_t stride,
                                 int64_t dx_stride) {
    double dot = 0;
    for (int64_t i = 0; i < len; i++) dot += (double)dy[i * stride] * y[i * stride];
    for (int64_t i = 0; i < len; i++) dx[i * dx_stride] = (float)(y[i * stride] * (dy[i * stride] - dot));
}

void nc_ref_softmax_grad(const NcKernelArgs *k) {
    const NcValue *v = k->in_v[0];
    const int axis = k->node->attrs.axis;
    int64_t outer = 1, inner = 1, len = v->shape[axis];
    for (int d = 0; d < axis; d++) outer *= v->shape[d];
    for (int d = axis + 1; d < v->ndim; d++) inner *= v->shape[d];
#pragma omp parallel for collapse(2)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t off = o * len * inner + i;
            softmax_grad_strided(k->in[0] + off, k->in[1] + off, k->out[0] + off, len, inner, inner);
        }
}

/* dy and y radix-major per sample ([radix, card, rest], the forward's
 * output), dx in the forward input's order ([card, radix, rest]); radix 1 is
 * the sigmoid's dy y (1 - y), both orders then being one. */
void nc_ref_radix_softmax_grad(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t N = k->in_v[0]->shape[0], per = nc_numel(k->in_v[0]) / N;
    const int64_t R = a->radix, CARD = a->cardinality, rest = per / (R * CARD);
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        const float *dy = k->in[0] + n * per, *y = k->in[1] + n * per;
        float *dx = k->out[0] + n * per;
        if (R == 1) {
            for (int64_t i = 0; i < per; i++) dx[i] = (float)((double)dy[i] * y[i] * (1.0 - y[i]));
            continue;
        }
        for (int64_t c = 0; c < CARD; c++)
            for (int64_t i = 0; i < rest; i++)
                softmax_grad_strided(dy + c * rest + i, y + c * rest + i, dx + c * R * rest + i, R, CARD * rest, rest);
    }
}

/* dx[n, r C + c, h, w] = dy[n, c] / HW in every branch r */
void nc_ref_radix_gap_grad(const NcKernelArgs *k) {
    const int64_t *xs = k->out_v[0]->shape;
    const int64_t R = k->node->attrs.radix, N = xs[0], C = xs[1] / R, HW = xs[2] * xs[3];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++)
        for (int64_t rc = 0; rc < R * C; rc++) {
            const float g = (float)(k->in[0][n * C + rc % C] / (double)HW);
            for (int64_t i = 0; i < HW; i++) k->out[0][(n * R * C + rc) * HW + i] = g;
        }
}

/* dx[n, r C + c] = dy[n, c] attn[n, r C + c] (per element of the plane),
 * dattn[n, r C + c] = sum over the plane of dy[n, c] x[n, r C + c]. */
void nc_ref_radix_combine_grad(const NcKernelArgs *k) {
    const int64_t *xs = k->in_v[1]->shape;
    const int64_t R = k->node->attrs.radix, N = xs[0], C = xs[1] / R, HW = xs[2] * xs[3];
    const float *dy = k->in[0], *x = k->in[1], *attn = k->in[2];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++)
        for (int64_t rc = 0; rc < R * C; rc++) {
            const float *dyp = dy + (n * C + rc % C) * HW, *xp = x + (n * R * C + rc) * HW;
            float *dxp = k->out[0] + (n * R * C + rc) * HW;
            const float at = attn[n * R * C + rc];
            double acc = 0;
            for (int64_t i = 0; i < HW; i++) {
                dxp[i] = dyp[i] * at;
                acc += (double)dyp[i] * xp[i];
            }
            k->out[1][n * R * C + rc] = (float)acc;
        }
}
