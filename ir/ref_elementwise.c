/* ref_elementwise.c — reference kernels for per-element ops, computed in
 * double and rounded once. */
#include <math.h>
#include <string.h>

#include "ir/ops.h"

void nc_ref_batch_norm(const NcKernelArgs *k) {
    const NcValue *xv = k->in_v[0];
    const int64_t N = xv->shape[0], C = xv->shape[1], S = nc_numel(xv) / (N * C);
    const float *x = k->in[0], *gamma = k->in[1], *beta = k->in[2], *mean = k->in[3], *var = k->in[4];
    const double eps = k->node->attrs.eps;
    float *y = k->out[0];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const double inv = 1.0 / sqrt((double)var[c] + eps);
            const float *xp = x + (n * C + c) * S;
            float *yp = y + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) yp[i] = (float)(((double)xp[i] - mean[c]) * inv * gamma[c] + beta[c]);
        }
}

#define UNARY(fn, expr)                                                                                                \
    void fn(const NcKernelArgs *k) {                                                                                   \
        const int64_t n = nc_numel(k->in_v[0]);                                                                        \
        const float *xp = k->in[0];                                                                                    \
        float *yp = k->out[0];                                                                                         \
        const NcAttrs *a = &k->node->attrs;                                                                            \
        (void)a;                                                                                                       \
        _Pragma("omp parallel for") for (int64_t i = 0; i < n; i++) {                                                  \
            const double x = xp[i];                                                                                    \
            yp[i] = (float)(expr);                                                                                     \
        }                                                                                                              \
    }

/* Written so that NaN falls through every comparison and comes out, as in
 * PyTorch (torch.relu(nan) and clamp(nan) are nan). */
UNARY(nc_ref_relu, x < 0 ? 0.0 : x)
UNARY(nc_ref_clamp, x < a->lo ? (double)a->lo : (x > a->hi ? (double)a->hi : x))
UNARY(nc_ref_sigmoid, 1.0 / (1.0 + exp(-x)))
UNARY(nc_ref_silu, x / (1.0 + exp(-x)))

/* Binary ops with NumPy broadcasting: walk the output index and map it into
 * each operand with stride 0 along broadcast axes. */
static void broadcast_binary(const NcKernelArgs *k, int is_mul) {
    const NcValue *ov = k->out_v[0];
    const int nd = ov->ndim;
    int64_t st[2][NC_MAXDIM];
    for (int t = 0; t < 2; t++) {
        const NcValue *v = k->in_v[t];
        int64_t s = 1;
        for (int d = nd - 1; d >= 0; d--) {
            const int vd = d - (nd - v->ndim);
            const int64_t dim = vd >= 0 ? v->shape[vd] : 1;
            st[t][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    const int64_t total = nc_numel(ov);
    const float *a = k->in[0], *b = k->in[1];
    float *y = k->out[0];
#pragma omp parallel for
    for (int64_t i = 0; i < total; i++) {
        int64_t rem = i, ia = 0, ib = 0;
        for (int d = nd - 1; d >= 0; d--) {
            const int64_t idx = rem % ov->shape[d];
            rem /= ov->shape[d];
            ia += idx * st[0][d];
            ib += idx * st[1][d];
        }
        y[i] = is_mul ? a[ia] * b[ib] : a[ia] + b[ib];
    }
}

/* After elementwise-chain fusion an add or mul carries epilogue steps. */
void nc_ref_add(const NcKernelArgs *k) {
    broadcast_binary(k, 0);
    nc_epilogue_apply(k);
}
void nc_ref_mul(const NcKernelArgs *k) {
    broadcast_binary(k, 1);
    nc_epilogue_apply(k);
}
