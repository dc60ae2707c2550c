/* ref_pool.c — reference pooling, with PyTorch's exact window and divisor
 * rules (ceil_mode windows that start in the right padding are dropped by the
 * shape rule; count_include_pad counts padding but not the ceil overhang). */
#include <float.h>
#include <math.h>

#include "ir/ops.h"

static void pool2d(const NcKernelArgs *k, int is_max) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t *xs = k->in_v[0]->shape, *ys = k->out_v[0]->shape;
    const int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
    const int kh = a->kernel[0], kw = a->kernel[1], sh = a->stride[0], sw = a->stride[1];
    const int pt = a->pad[0], pl = a->pad[1], pb = a->pad[2], pr = a->pad[3];
    const float *x = k->in[0];
    float *y = k->out[0];
#pragma omp parallel for
    for (int64_t p = 0; p < NC; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0 = oh * sh - pt, w0 = ow * sw - pl;
                int64_t h1 = h0 + kh < H + pb ? h0 + kh : H + pb;
                int64_t w1 = w0 + kw < W + pr ? w0 + kw : W + pr;
                const int64_t padded_count = (h1 - h0) * (w1 - w0);
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                if (h1 > H) h1 = H;
                if (w1 > W) w1 = W;
                double acc = is_max ? -DBL_MAX : 0.0;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        const double v = xp[ih * W + iw];
                        if (is_max)
                            acc = v > acc || isnan(v) ? v : acc; /* NaN wins, as in PyTorch */
                        else
                            acc += v;
                    }
                if (!is_max) acc /= (double)(a->count_include_pad ? padded_count : (h1 - h0) * (w1 - w0));
                y[(p * OH + oh) * OW + ow] = (float)acc;
            }
    }
}

void nc_ref_max_pool2d(const NcKernelArgs *k) { pool2d(k, 1); }
void nc_ref_avg_pool2d(const NcKernelArgs *k) { pool2d(k, 0); }

static void global_pool(const NcKernelArgs *k, int is_max) {
    const int64_t *xs = k->in_v[0]->shape;
    const int64_t NC = xs[0] * xs[1], S = xs[2] * xs[3];
    const float *x = k->in[0];
    float *y = k->out[0];
#pragma omp parallel for
    for (int64_t p = 0; p < NC; p++) {
        double acc = is_max ? -DBL_MAX : 0.0;
        for (int64_t i = 0; i < S; i++) {
            const double v = x[p * S + i];
            if (is_max)
                acc = v > acc ? v : acc;
            else
                acc += v;
        }
        y[p] = (float)(is_max ? acc : acc / (double)S);
    }
}

void nc_ref_global_avg_pool(const NcKernelArgs *k) { global_pool(k, 0); }
void nc_ref_global_max_pool(const NcKernelArgs *k) { global_pool(k, 1); }
