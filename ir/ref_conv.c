/* ref_conv.c — reference convolution and linear layers.
 *
 * These are the oracle for every fast kernel, so they are written to be
 * obviously right: direct loops, a double accumulator per output element, and
 * OpenMP only over independent output channels.  Speed is not a goal. */
#include <string.h>

#include "ir/ops.h"

void nc_ref_conv2d(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *xs = k->in_v[0]->shape, *ws = k->in_v[1]->shape, *ys = k->out_v[0]->shape;
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t O = ws[0], CG = ws[1], KH = ws[2], KW = ws[3];
    const int64_t OH = ys[2], OW = ys[3];
    const int64_t G = a->groups, OG = O / G;
    const int sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    const int pt = a->pad[0], pl = a->pad[1];
    const float *x = k->in[0], *w = k->in[1], *bias = k->node->attrs.has_bias ? k->in[2] : NULL;
    const float *scale = a->has_in_scale ? k->in[nc_in_scale_input(a)] : NULL;
    float *y = k->out[0];

#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t n = 0; n < N; n++) {
        for (int64_t o = 0; o < O; o++) {
            double *acc = nc_malloc((size_t)OW * sizeof(double));
            const int64_t g = o / OG;
            for (int64_t oh = 0; oh < OH; oh++) {
                for (int64_t ow = 0; ow < OW; ow++) acc[ow] = bias ? bias[o] : 0.0;
                for (int64_t c = 0; c < CG; c++) {
                    const float *xc = x + ((n * C) + g * CG + c) * H * W;
                    /* a fused input scale rounds like the separate multiply it replaces */
                    const float s = scale ? scale[n * C + g * CG + c] : 1.0f;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        const int64_t ih = oh * sh - pt + kh * dh;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const double wv = w[((o * CG + c) * KH + kh) * KW + kw];
                            for (int64_t ow = 0; ow < OW; ow++) {
                                const int64_t iw = ow * sw - pl + kw * dw;
                                if (iw >= 0 && iw < W) acc[ow] += wv * (scale ? xc[ih * W + iw] * s : xc[ih * W + iw]);
                            }
                        }
                    }
                }
                float *yrow = y + ((n * O + o) * OH + oh) * OW;
                for (int64_t ow = 0; ow < OW; ow++) yrow[ow] = (float)acc[ow];
            }
            free(acc);
        }
    }
    nc_epilogue_apply(k);
}

void nc_ref_linear(const NcKernelArgs *k) {
    const int64_t N = k->in_v[0]->shape[0], K = k->in_v[0]->shape[1], O = k->in_v[1]->shape[0];
    const float *x = k->in[0], *w = k->in[1], *bias = k->node->attrs.has_bias ? k->in[2] : NULL;
    float *y = k->out[0];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int64_t i = 0; i < K; i++) acc += (double)x[n * K + i] * w[o * K + i];
            y[n * O + o] = (float)acc;
        }
    nc_epilogue_apply(k);
}
