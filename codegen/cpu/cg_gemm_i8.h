/* cg_gemm_i8.h — the int8 GEMM: u8 activations x s8 weights, i32
 * accumulation, f32 epilogue (netc compile --precision int8).
 *
 * Two stages over the GEMM of cg_gemm.h's spec (M = batch * hw rows, K = cin,
 * N = cout; the weights an int8 blob, cg_precision.h):
 *
 *   quantise  f32 rows of A (the NHWC input, or im2col's columns) to u8 rows of
 *             K4 bytes in scratch, with the blob's activation scale and zero
 *             point (an SE input scale applied first, per image);
 *   gemm      per register block of mr rows x nv vectors of 8 columns, per group
 *             of 4 reduction steps: the 4 bytes of each row broadcast, times the
 *             packed weights by vpmaddubsw (u8 x s8 pairs into i16: no
 *             saturation with 7-bit weights) and vpmaddwd against ones (pairs of
 *             those into i32), added to the i32 accumulators; then per column
 *             acc * colscale + colcorr, and the f32 epilogue of the f32 GEMM
 *             (bias, ReLU, activations, residual and per-channel operands).
 *
 * The vectors are 8 lanes (ymm) on any target with AVX2, AVX-512 included
 * (a zmm variant, AVX512-VNNI's vpdpbusd and AVX-VNNI are not written: no
 * such host to run them on yet).  Without AVX2 — or with spec generic — the
 * same arithmetic is plain IR (widen, multiply, add pairs), which computes
 * the same integers: the tests run both and compare them bit for bit. */
#ifndef NETC_CG_GEMM_I8_H
#define NETC_CG_GEMM_I8_H

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"
#include "codegen/cpu/cg_precision.h"

typedef struct NcGemmI8Plan {
    NcGemmSpec s;
    NcI8Layout l;
    int mr, nv;       /* register block: mr rows x nv vectors of 8 columns (nv * 8 = NC_I8_NR) */
    int intrinsics;   /* AVX2's vpmaddubsw / vpmaddwd; 0: plain IR */
    int64_t M, N, K4; /* rows, columns, reduction in bytes per row of A */
    int64_t mc, pc;   /* rows and weight panels per tile */
    int64_t mblocks, nblocks, tiles;
    int64_t qrows, qtiles; /* the quantise stage: qrows rows a tile */
    int64_t a_bytes;       /* the u8 rows: M x K4 */
} NcGemmI8Plan;

/* s: as for nc_cg_gemm_plan (no b_per_image, col_image or blocking); generic: plain IR even with AVX2. */
int nc_cg_gemm_i8_plan(NcGemmI8Plan *p, const NcGemmSpec *s, const NcCgTarget *t, int generic, NcError *e);

/* The quantise stage `name`: rows of A from in[0] (scaled by in[s.in_scale] when set) or, with from_scratch,
 * from out[1] (f32, at float 0), to out[1] at byte a_off; in[1] is the blob. */
void nc_cg_gemm_i8_emit_quant(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int from_scratch, int64_t a_off);
/* The GEMM stage `name`: A at byte a_off of out[1], the blob in[1], bias in[2], epilogue operands as the
 * node's, y out[0]. */
void nc_cg_gemm_i8_emit_gemm(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int64_t a_off);

/* The whole kernel of a 1x1 conv or linear node: quantise + gemm (scratch: the u8 rows). */
void nc_cg_gemm_i8_emit(NcCgModule *m, const NcGemmI8Plan *p, const char *prefix, NcCgKernel *k);

#endif
