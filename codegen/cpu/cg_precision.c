/* cg_precision.c — bf16 rounding and the int8 weight blob (cg_precision.h). */
#include "codegen/cpu/cg_precision.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_build.h"

void nc_i8_layout(NcI8Layout *l, int64_t N, int64_t K) { nc_i8_layout_k(l, N, K, 4); }

void nc_i8_layout_k(NcI8Layout *l, int64_t N, int64_t K, int64_t kalign) {
    memset(l, 0, sizeof *l);
    l->N = N, l->K = K, l->K4 = cgb_round_up(K, kalign), l->Np = cgb_round_up(N, NC_I8_NR);
    l->b_off = NC_I8_HEADER;
    l->scale_off = cgb_round_up(l->b_off + l->Np * l->K4, 64);
    l->corr_off = l->scale_off + 4 * l->Np;
    l->bytes = l->corr_off + 4 * l->Np;
}

void nc_i8_layout_groups(NcI8Layout *l, int64_t G, int64_t Ng, int64_t K, int64_t kalign) {
    nc_i8_layout_k(l, G * cgb_round_up(Ng, NC_I8_NR), K, kalign);
}

void nc_i8_pack_groups(const NcI8Layout *l, int64_t G, int64_t Ng, const float *w, float lo, float hi,
                       unsigned char *blob) {
    const int64_t Npg = cgb_round_up(Ng, NC_I8_NR);
    if (Npg == Ng) {
        nc_i8_pack(l, w, lo, hi, blob);
        return;
    }
    float *wp = nc_malloc((size_t)(l->N * l->K) * sizeof(float));
    memset(wp, 0, (size_t)(l->N * l->K) * sizeof(float));
    for (int64_t g = 0; g < G; g++) memcpy(wp + g * Npg * l->K, w + g * Ng * l->K, (size_t)(Ng * l->K) * sizeof(float));
    nc_i8_pack(l, wp, lo, hi, blob);
    free(wp);
}

void nc_i8_act_params(float lo, float hi, float *scale, float *inv, float *zero) {
    if (!(lo < 0)) lo = 0; /* NaN too */
    if (!(hi > 0)) hi = 0;
    float s = (hi - lo) / 255.0f;
    if (!(s > 0) || !isfinite(s)) s = 1.0f;
    float z = nearbyintf(-lo / s);
    z = z < 0 ? 0 : z > 255 ? 255 : z;
    *scale = s, *inv = 1.0f / s, *zero = z;
}

void nc_i8_pack(const NcI8Layout *l, const float *w, float lo, float hi, unsigned char *blob) {
    memset(blob, 0, (size_t)l->bytes);
    float sx, inv, zero;
    nc_i8_act_params(lo, hi, &sx, &inv, &zero);
    memcpy(blob, &inv, 4);
    memcpy(blob + 4, &zero, 4);
    signed char *b = (signed char *)(blob + l->b_off);
    float *colscale = (float *)(blob + l->scale_off), *colcorr = (float *)(blob + l->corr_off);
    for (int64_t n = 0; n < l->N; n++) {
        const float *wn = w + n * l->K;
        float amax = 0;
        for (int64_t k = 0; k < l->K; k++) amax = fabsf(wn[k]) > amax ? fabsf(wn[k]) : amax;
        const float sw = amax > 0 ? amax / NC_I8_WMAX : 1.0f;
        const int64_t q = n / NC_I8_NR, j = n % NC_I8_NR;
        int64_t sum = 0;
        for (int64_t k = 0; k < l->K; k++) {
            float r = nearbyintf(wn[k] / sw);
            r = r < -NC_I8_WMAX ? -NC_I8_WMAX : r > NC_I8_WMAX ? NC_I8_WMAX : r;
            const int v = (int)r;
            b[q * l->K4 * NC_I8_NR + (k / 4) * NC_I8_NR * 4 + j * 4 + k % 4] = (signed char)v;
            sum += v;
        }
        colscale[n] = sx * sw;
        colcorr[n] = -(float)((double)sx * sw * zero * (double)sum);
    }
}

uint16_t nc_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* a quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void nc_bf16_round_n(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = nc_bf16_round(src[i]);
}
