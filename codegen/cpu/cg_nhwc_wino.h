/* cg_nhwc_wino.h — 3x3, stride-1 convolutions by Winograd's F(4x4, 3x3) and
 * F(2x2, 3x3) on activations stored NHWC (physically [N, H, W, C]; the IR
 * shapes stay the logical [N, C, H, W]).  The math is cg_wino_math.h's; the
 * lanes run along channels, so every transform reads
 * and writes whole contiguous channel vectors (no gathers, no shuffles) and
 * the products are NHWC GEMMs.
 *
 * Three stages (runtime/kernels.h's staged kernel), scratch = V then M:
 *
 *   1. input transform, tile = (image, tile row, chunk of channel vectors):
 *      per tile of the row and channel vector, the alpha x alpha patch of
 *      channel vectors (rows outside the image by a run-time select, columns
 *      by compile-time edge tiles), B^T d B in registers (times the input
 *      scale, which commutes with the transform), stored to
 *      V[pos][g][t][CG] — per (position, group) a T x CG row-major matrix;
 *   2. products: cg_gemm.c's NHWC GEMM with per-image B (b_per_image),
 *      images = npos x G: M[pos][g] (T x OG) = V[pos][g] (T x CG) . U[pos][g];
 *   3. output transform, tile = (image, tile row, chunk of output vectors):
 *      A^T M A per output channel vector, bias, the fused epilogue
 *      (activations; same-shape add / mul operands NHWC like y; per-(image,
 *      channel) [N, O, 1, 1] operands), stores clipped at ragged edges.
 *
 * U (G g G^T per output and input channel) is made when the program loads
 * (wprep, one tile per output channel) and packed per (position, group) as
 * nc_cg_gemm_pack packs an NHWC B: panels of nr output channels. */
#ifndef NETC_CG_NHWC_WINO_H
#define NETC_CG_NHWC_WINO_H

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcNhwcWinoPlan {
    int mt, alpha, npos;        /* output tile mt x mt (4 or 2), input patch alpha = mt + 2, alpha^2 positions */
    int64_t N, C, O, G, CG, OG; /* images, channels, groups, channels per group */
    int64_t H, W, OH, OW;
    int pt, pl;                  /* top and left padding */
    int64_t TH, TW, T;           /* tile rows and columns of an image, all tiles (N TH TW) */
    NcGemmPlan gemm;             /* the npos x G products */
    int64_t v_floats, m_floats;  /* scratch: V, then M */
    int64_t ivpg, ovpg;          /* channel vectors per group, in and out (the last one ragged if CG, OG % vw) */
    int64_t in_upc, in_chunks;   /* stage 1: (group, vector) units per chunk, chunks */
    int64_t out_upc, out_chunks; /* stage 3: the same for output channels */
    int64_t tiles_in, tiles_out;
} NcNhwcWinoPlan;

/* Can conv node nd (x and y stored NHWC, IR shapes logical [N, C, H, W]) run
 * as F(mt x mt, 3x3), mt 4 or 2?  Fills the plan or returns 0 with *why. */
int nc_cg_nhwc_wino_plan(NcNhwcWinoPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int mt,
                         const char **why);

/* Estimated cost in multiply-add units comparable to the direct conv's MACs
 * (products rounded to the register block + transforms), for the layout
 * cost model. */
double nc_cg_nhwc_wino_cost(const NcNhwcWinoPlan *p);

/* Emits `<name>_in`, `<name>_gemm` (and the GEMM `<name>_mm` it calls),
 * `<name>_out` and `<name>_wprep` into k: the stages, their tile counts, the
 * scratch floats, the filter transform, its tiles and output floats. */
void nc_cg_nhwc_wino_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcWinoPlan *p, const char *name,
                          NcCgKernel *k);

#endif
