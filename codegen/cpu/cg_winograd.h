/* cg_winograd.h — 3x3, stride-1 convolutions by Winograd's F(4x4, 3x3) and
 * F(2x2, 3x3) (the latter for small planes, where 4x4 tiles waste lanes).
 *
 * Each 4x4 block of outputs ("tile") of a channel is A^T [U . V] A, where
 * V = B^T d B is the tile's 6x6 input patch transformed, and U = G g G^T the
 * 3x3 filter transformed (at compile time).  Summed over input channels,
 * the 36 positions of the 6x6 transform domain become 36 independent matrix
 * products (per group): M[pos] (O x T) = U[pos] (O x C) . V[pos] (C x T),
 * T = tiles of all images.  That is 36 multiplies per 16 outputs instead of
 * 9 x 16: 4x fewer FMAs, paid for by the two transforms and by 4x larger
 * filters.  (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015; the points 0, +-1, +-2, +-1/2 of their F(4x4, 3x3).
 * F(2x2, 3x3): 16 multiplies per 4 outputs, 2.25x fewer.)
 *
 * The filters are transformed when the program loads (kernels.h's wprep),
 * so the file keeps them 3x3.  Three stages (runtime/kernels.h's staged
 * kernel, one parallel region):
 *
 *   1. input transform, one tile per (image, input channel):
 *      x -> V[pos][c][t] (scratch), zero padding by masked gathers
 *   2. the 36 (or 16) x G products: cg_gemm.c's NCHW GEMM with per-image weights
 *      (images = positions x groups), V -> M[pos][o][t] (scratch)
 *   3. output transform, one tile per (image, output channel):
 *      M -> y, with the bias and the conv's fused epilogue
 *
 * Lanes of the transforms run along tiles (vw consecutive tiles of one
 * image), so every shape vectorises the same way.
 *
 * Accuracy: F(4x4, 3x3)'s transforms scale values by up to 8 x 5 (A^T and
 * B^T entries); measured against the interpreter on every model (tests/codegen)
 * the outputs stay well inside the 1e-4 relative tolerance. */
#ifndef NETC_CG_WINOGRAD_H
#define NETC_CG_WINOGRAD_H

#include "codegen/cpu/cg_gemm.h"
#include "ir/ir.h"

typedef struct NcWinoPlan {
    int mt, alpha, npos;        /* output tile mt x mt (4 or 2), input patch alpha = mt + 2, alpha^2 positions */
    int64_t N, C, O, G, CG, OG; /* images, channels, groups, channels per group */
    int64_t H, W, OH, OW;
    int pt, pl;                 /* top and left padding */
    int64_t TH, TW, TPI, T;     /* tile rows and columns of an image, tiles per image, all tiles */
    NcGemmPlan gemm;            /* the npos x G products */
    int64_t v_floats, m_floats; /* scratch: V, then M (the transformed filters: gemm.packed_floats) */
} NcWinoPlan;

/* Can node nd (a conv2d) run as F(mt x mt, 3x3), mt 4 or 2?  (A filter
 * already transformed fixes mt; pass 0 to take it from there.)  Fills the
 * plan when it can; otherwise returns 0 with *why set. */
int nc_cg_wino_plan(NcWinoPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int mt, const char **why);

/* The cost model (cg_module.c chooses): multiply-adds the products issue,
 * their columns rounded up to the GEMM's register block — so on a 7 x 7 plane
 * at batch 1, F(4x4)'s 4 tiles cost as much as 16 would — plus the
 * transforms' measured cost per tile and channel (which is what rules out
 * narrow groups: RegNetY's 24 channels per group ran no faster); and the
 * direct convolution's multiply-adds. */
double nc_cg_wino_cost(const NcWinoPlan *p);
double nc_cg_wino_direct_cost(const NcWinoPlan *p);

/* Emits the three stage functions `<prefix>_in`, `<prefix>_gemm`,
 * `<prefix>_out` (tile functions with runtime/kernels.h's staged-kernel
 * arguments) and returns them in fns[3], their tile counts in tiles[3]; and
 * `<prefix>_wprep`, the filter transform the program runs as it loads
 * (kernels.h's wprep: one tile per output channel, gemm.packed_floats out), so
 * the file keeps 3x3 filters — F(4x4)'s are 4x larger. */
void nc_cg_wino_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcWinoPlan *p, const char *prefix,
                     LLVMValueRef fns[3], int64_t tiles[3], LLVMValueRef *wprep);

#endif
