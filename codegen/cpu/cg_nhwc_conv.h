/* cg_nhwc_conv.h — direct convolution of activations stored NHWC (physically
 * [N, H, W, C]; the IR shapes stay the logical [N, C, H, W]).
 *
 * Two register blocks, both of P output pixels (along the output row) x NV
 * vectors along channels:
 *
 *   depthwise (groups == C == O): the vectors run along the channels, every
 *     tap is P vector loads of x (stride 1: neighbouring pixels share them,
 *     P + KW - 1 distinct per kernel row) times one weight vector;
 *   grouped and regular (groups 1): the vectors run along the output channels
 *     of one group; every (kh, kw, input channel) is NV weight vector loads
 *     and P broadcasts of x.
 *
 * The weights are repacked when the program loads (kernels.h's wprep) as
 * [G][KH][KW][CG][OGp] (OGp: OG rounded up to whole vectors, zero-filled;
 * depthwise is the case G = 1, CG = 1, OG = C), so a tap's weight vectors are
 * contiguous and need no masks.
 *
 * There is no padded copy of the input: per output row the valid kernel
 * rows are a run-time range; along the row, pixel blocks whose windows lie
 * inside the row run in a loop without tests, and the few blocks at either
 * end are unrolled with compile-time valid kernel-column ranges per pixel.
 * A ragged channel tail is one more vector with masked loads and stores.
 *
 * One stage; tile = (image, output row, group, chunk of channel blocks).
 * Bias, an input scale (the SE gate: folded into the weight vector for
 * depthwise, into the broadcast otherwise) and the fused epilogue
 * (activations, same-shape or per-(image, channel) add / mul, operands NHWC
 * like y) are applied before the store. */
#ifndef NETC_CG_NHWC_CONV_H
#define NETC_CG_NHWC_CONV_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcNhwcConvPlan {
    int64_t N, C, H, W, O, OH, OW, G, CG, OG;
    int KH, KW, sh, sw, pt, pl, pb, pr;
    int dw;         /* depthwise: vectors along channels, x loaded as vectors */
    int P, NV;      /* register block: output pixels x vectors */
    int g_outer;    /* tile order: groups outside rows, within an image (consecutive tiles share the group's weights) */
    int pix_outer;  /* loop order within a row: pixel blocks outside channel blocks (else inside) */
    int64_t VG, VO; /* vector groups and channels along vectors per group (depthwise: 1, C; else G, OG) */
    int64_t OGp;    /* VO rounded up to whole vectors: the packed weights' innermost stride */
    int64_t nfb;    /* blocks of NV whole vectors per group */
    int tail_full;  /* after them: a tail block of tail_full whole vectors */
    int tail_lanes; /* ... and one vector of tail_lanes lanes (0: none) */
    int64_t nblk;   /* channel blocks per group (nfb + the tail block, if any) */
    int64_t bpc, nch; /* channel blocks per chunk, chunks per group */
    int64_t tiles;    /* N x OH x VG x nch */
    int vw;           /* floats per vector of this kernel: the target's, or 8 (ymm_pays) */
} NcNhwcConvPlan;

/* Can this conv node run as an NHWC direct convolution?  Fills the plan or returns 0 with *why. */
int nc_cg_nhwc_conv_plan(NcNhwcConvPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why);
/* Emits the kernel's stage and its weight transform (runtime/kernels.h) into k. */
void nc_cg_nhwc_conv_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcConvPlan *p, const char *name,
                          NcCgKernel *k);

/* Overrides the register block (p, nv > 0) and recomputes the plan's
 * blocking; for tests and the benchmark.  Returns 0 if it does not fit. */
int nc_cg_nhwc_conv_set_block(NcNhwcConvPlan *p, const NcCgTarget *t, int P, int NV);

#endif
