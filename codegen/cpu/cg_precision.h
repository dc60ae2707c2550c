/* cg_precision.h — weights in reduced precision for the GEMM-shaped kernels
 * (netc compile --precision bf16 | int8).
 *
 * bf16: the f32 panels nc_cg_gemm_pack makes, each value rounded to the
 * nearest bf16 (ties to even): half the bytes, the same layout; the GEMM
 * widens them as it loads (cg_gemm.h, spec.wtype).
 *
 * int8: one blob per GEMM, stored in place of the f32 parameter
 * (NcValue.nbytes), read by the int8 GEMM (cg_gemm_i8.h):
 *
 *   [0, 64)                    float act_inv_scale, act_zero: the activation's
 *                              quantisation, u8 = clamp(rint(x * inv + zero), 0, 255)
 *   [b_off, b_off + Np * K4)   s8 weights in panels of NC_I8_NR columns: panel q,
 *                              group g of 4 reduction steps, column j, byte b =
 *                              wq[q * NC_I8_NR + j][4 g + b] (0 past N or K)
 *   [scale_off, + 4 Np)        float colscale[n] = s_x * s_w[n]
 *   [corr_off, + 4 Np)         float colcorr[n] = -s_x * s_w[n] * zero * sum_k wq[n][k]
 *
 * so that y[m][n] = colscale[n] * sum_k u8[m][k] wq[n][k] + colcorr[n] ~ sum_k x[m][k] w[n][k].
 * Weights: symmetric per output channel, s_w[n] = max_k |w[n][k]| / 63 — 7
 * bits, not 8: AVX2's vpmaddubsw adds two u8 x s8 products into a
 * saturating i16, and 2 x 255 x 63 = 32130 cannot saturate, where 8-bit
 * weights (2 x 255 x 127) could, silently.  Activations: per tensor,
 * asymmetric u8, the range [min(lo, 0), max(hi, 0)] from calibration (0 is
 * exactly representable: im2col's zero padding stays exact). */
#ifndef NETC_CG_PRECISION_H
#define NETC_CG_PRECISION_H

#include <stdint.h>

#define NC_I8_NR     16 /* columns per weight panel: two vectors of 8 i32 accumulators */
#define NC_I8_WMAX   63 /* the weights' largest magnitude (7 bits, see above) */
#define NC_I8_HEADER 64

typedef struct NcI8Layout {
    int64_t N, K, K4, Np; /* columns, reduction, K rounded up to 4 (or kalign), N rounded up to NC_I8_NR */
    int64_t b_off, scale_off, corr_off, bytes;
} NcI8Layout;

void nc_i8_layout(NcI8Layout *l, int64_t N, int64_t K);
/* The same with K rounded up to kalign (a multiple of 4): 64 for AMX tiles, whose A rows and B tiles
 * hold 64 bytes of the reduction (the padding's weights are zero). */
void nc_i8_layout_k(NcI8Layout *l, int64_t N, int64_t K, int64_t kalign);

/* Grouped: G groups of Ng columns, each padded to whole panels (their zero weights give zero columns), so
 * that group g's panels start at panel g x ceil(Ng / NC_I8_NR); w is G x Ng rows of K.  The layout's N is
 * G x Ng rounded up that way. */
void nc_i8_layout_groups(NcI8Layout *l, int64_t G, int64_t Ng, int64_t K, int64_t kalign);
void nc_i8_pack_groups(const NcI8Layout *l, int64_t G, int64_t Ng, const float *w, float lo, float hi,
                       unsigned char *blob);

/* The activation quantisation of a calibrated range: *inv = 1 / s_x, *zero in [0, 255]. */
void nc_i8_act_params(float lo, float hi, float *scale, float *inv, float *zero);

/* Quantises and packs w (N x K, row-major) with the activation range [lo, hi]
 * into blob[0 .. l->bytes). */
void nc_i8_pack(const NcI8Layout *l, const float *w, float lo, float hi, unsigned char *blob);

/* The nearest bf16 to f (ties to even; NaN stays a quiet NaN). */
uint16_t nc_bf16_round(float f);
/* n floats to bf16 (dst must not overlap src). */
void nc_bf16_round_n(const float *src, uint16_t *dst, int64_t n);

#endif
