/* ref_grad_conv.c — reference gradients of the anchors: the convolution's
 * input and weight gradients (every kind nc_ref_conv2d runs: groups,
 * depthwise, stride, dilation, asymmetric padding) and the linear layer's.
 * Each walks the forward's loops and sends every product back to where it
 * came from, one double accumulator per output element; OpenMP only over
 * independent outputs (an input plane, a filter). */
#include <string.h>

#include "ir/ops.h"

/* The outputs [*lo, *hi) of a row (or column) of n whose tap at offset off
 * (k d - pad) reads inside the input's extent: 0 <= o s + off < len. */
static void tap_range(int64_t n, int64_t len, int s, int64_t off, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = len - off <= 0 ? 0 : (len - off - 1) / s + 1;
    *lo = l;
    *hi = h < n ? h : n;
}

/* dx[n, c] = sum over the conv's outputs (n, o, oh, ow) that read
 * x[n, c, ih, iw] of dy[n, o, oh, ow] w[o, c - g CG, kh, kw]: the forward's
 * index map ih = oh sh - pt + kh dh, iw = ow sw - pl + kw dw, scattered into
 * the plane of (n, c), which only that iteration writes.  Rows and columns no
 * window reads (stride, bottom-right remainder) stay 0. */
void nc_ref_conv2d_grad_input(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *ys = k->in_v[0]->shape, *ws = k->in_v[1]->shape, *xs = k->out_v[0]->shape;
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t O = ws[0], CG = ws[1], KH = ws[2], KW = ws[3], OH = ys[2], OW = ys[3];
    const int64_t OG = O / a->groups;
    const int sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    const int pt = a->pad[0], pl = a->pad[1];
    const float *dy = k->in[0], *w = k->in[1];
    float *dx = k->out[0];
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double *acc = nc_calloc((size_t)(H * W), sizeof(double));
            const int64_t g = c / CG, cc = c % CG;
            for (int64_t o = g * OG; o < (g + 1) * OG; o++)
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const double wv = w[((o * CG + cc) * KH + kh) * KW + kw];
                        int64_t oh0, oh1, ow0, ow1;
                        tap_range(OH, H, sh, kh * dh - pt, &oh0, &oh1);
                        tap_range(OW, W, sw, kw * dw - pl, &ow0, &ow1);
                        for (int64_t oh = oh0; oh < oh1; oh++) {
                            const int64_t row = (oh * sh - pt + kh * dh) * W + kw * dw - pl;
                            const float *dyr = dy + ((n * O + o) * OH + oh) * OW;
                            for (int64_t ow = ow0; ow < ow1; ow++) acc[row + ow * sw] += wv * dyr[ow];
                        }
                    }
            float *dxp = dx + (n * C + c) * H * W;
            for (int64_t i = 0; i < H * W; i++) dxp[i] = (float)acc[i];
            free(acc);
        }
}

/* dw[o, cc, kh, kw] = sum over n, oh, ow of dy[n, o, oh, ow] x[n, g CG + cc, ih, iw]
 * (the forward's index map; taps that read padding add nothing). */
void nc_ref_conv2d_grad_weight(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *ys = k->in_v[0]->shape, *xs = k->in_v[1]->shape, *ws = k->out_v[0]->shape;
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t O = ws[0], CG = ws[1], KH = ws[2], KW = ws[3], OH = ys[2], OW = ys[3];
    const int64_t OG = O / a->groups;
    const int sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    const int pt = a->pad[0], pl = a->pad[1];
    const float *dy = k->in[0], *x = k->in[1];
    float *dwt = k->out[0];
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t o = 0; o < O; o++)
        for (int64_t cc = 0; cc < CG; cc++) {
            const int64_t c = o / OG * CG + cc;
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    double acc = 0;
                    int64_t oh0, oh1, ow0, ow1;
                    tap_range(OH, H, sh, kh * dh - pt, &oh0, &oh1);
                    tap_range(OW, W, sw, kw * dw - pl, &ow0, &ow1);
                    for (int64_t n = 0; n < N; n++)
                        for (int64_t oh = oh0; oh < oh1; oh++) {
                            const int64_t row = ((n * C + c) * H + oh * sh - pt + kh * dh) * W + kw * dw - pl;
                            const float *dyr = dy + ((n * O + o) * OH + oh) * OW;
                            for (int64_t ow = ow0; ow < ow1; ow++) acc += (double)dyr[ow] * x[row + ow * sw];
                        }
                    dwt[((o * CG + cc) * KH + kh) * KW + kw] = (float)acc;
                }
        }
}

/* dx [N, K] = dy [N, O] weight [O, K] */
void nc_ref_linear_grad_input(const NcKernelArgs *k) {
    const int64_t N = k->in_v[0]->shape[0], O = k->in_v[0]->shape[1], K = k->in_v[1]->shape[1];
    const float *dy = k->in[0], *w = k->in[1];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < K; i++) {
            double acc = 0;
            for (int64_t o = 0; o < O; o++) acc += (double)dy[n * O + o] * w[o * K + i];
            k->out[0][n * K + i] = (float)acc;
        }
}

/* dweight [O, K] = dy^T [O, N] x [N, K] */
void nc_ref_linear_grad_weight(const NcKernelArgs *k) {
    const int64_t N = k->in_v[0]->shape[0], O = k->in_v[0]->shape[1], K = k->in_v[1]->shape[1];
    const float *dy = k->in[0], *x = k->in[1];
#pragma omp parallel for collapse(2)
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < K; i++) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += (double)dy[n * O + o] * x[n * K + i];
            k->out[0][o * K + i] = (float)acc;
        }
}
