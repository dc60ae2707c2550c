/* ref_se.c — the fused squeeze-excitation gate, computed step by step with
 * the same roundings as the ops it replaces (pool, conv + act, conv +
 * sigmoid), so the fusion changes no bits. */
#include <math.h>

#include "ir/ops.h"

void nc_ref_squeeze_excite(const NcKernelArgs *k) {
    const int64_t N = k->in_v[0]->shape[0], C = k->in_v[0]->shape[1], S = k->in_v[0]->shape[2] * k->in_v[0]->shape[3];
    const int64_t R = k->in_v[1]->shape[0];
    const float *x = k->in[0], *w1 = k->in[1], *b1 = k->in[2], *w2 = k->in[3], *b2 = k->in[4];
    const int silu = k->node->attrs.epi[0].kind == NC_EPI_SILU;
    float *gate = k->out[0];
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        float *pooled = nc_malloc((size_t)(C + R) * sizeof(float)), *hidden = pooled + C;
        for (int64_t c = 0; c < C; c++) {
            double acc = 0;
            for (int64_t i = 0; i < S; i++) acc += x[(n * C + c) * S + i];
            pooled[c] = (float)(acc / (double)S);
        }
        for (int64_t r = 0; r < R; r++) {
            double acc = b1[r];
            for (int64_t c = 0; c < C; c++) acc += (double)w1[r * C + c] * pooled[c];
            const double h = (float)acc;
            hidden[r] = (float)(silu ? h / (1.0 + exp(-h)) : (h > 0 ? h : 0.0));
        }
        for (int64_t c = 0; c < C; c++) {
            double acc = b2[c];
            for (int64_t r = 0; r < R; r++) acc += (double)w2[c * R + r] * hidden[r];
            const double z = (float)acc;
            gate[n * C + c] = (float)(1.0 / (1.0 + exp(-z)));
        }
        free(pooled);
    }
}
