/* cg_nchw_train_gconv.h — the training step's grouped and depthwise NCHW
 * convolutions (conv2d, conv2d_grad_input, conv2d_grad_weight with groups >
 * 1: ResNeSt's radix 3x3, RegNet's group-width 3x3, EfficientNet's depthwise
 * 3x3/5x5 with TF "same" padding) as direct loops, one stage:
 *
 *   conv2d               tile (n, o): y's plane zeroed, then for each input
 *                        channel of o's group and each tap, y's rows += w x's
 *   conv2d_grad_input    tile (n, c): dx's plane zeroed, then for each output
 *                        channel of c's group and each tap, dx's rows += w dy's
 *   conv2d_grad_weight   tile (o, cc): each tap's sum over (n, oh) of the dot
 *                        of dy's row with x's (a vector accumulator)
 *
 * Taps are unrolled at compile time with the output range each reads inside
 * the input (no padding test in the loops); a row of stride 1 runs in
 * vectors, a strided row in scalars (LLVM's vectoriser may take those).
 * Every tile writes only its own plane or filter, so the tiles run on any
 * threads.  Float accumulation (the reference accumulates in double).  The
 * plan takes any groups > 1, but the strategy table (cg_module.c) offers
 * cg_nchw_train.h's per-group GEMM first, which takes groups of at least 4
 * output channels and a reduction of at least 4 (ResNeSt's radix conv,
 * RegNet's group-width convs): what reaches these loops is depthwise convs
 * (EfficientNet's, TF "same" padding) and the narrowest groups.  Not taken:
 * groups 1, biases, input scales, epilogues. */
#ifndef NETC_CG_NCHW_TRAIN_GCONV_H
#define NETC_CG_NCHW_TRAIN_GCONV_H

#include "codegen/cpu/cg_kernel.h"
#include "codegen/cpu/cg_nchw_train.h"
#include "ir/ir.h"

typedef struct NcTrainGconvPlan {
    NcTrainConvKind kind;
    int64_t N, C, H, W, O, CG, OG, KH, KW, OH, OW;
    int sh, sw, pt, pl, dh, dw;
    int64_t tiles;
} NcTrainGconvPlan;

/* Can node nd (conv2d or one of its gradients on NCHW values, groups > 1)
 * run this way?  Fills the plan, or returns 0 with *why. */
int nc_cg_train_gconv_plan(NcTrainGconvPlan *p, const NcGraph *g, const NcNode *nd, const char **why);

/* Emits `<prefix>_gconv`, the kernel's one stage, into k. */
void nc_cg_train_gconv_emit(NcCgModule *m, const NcTrainGconvPlan *p, const char *prefix, NcCgKernel *k);

#endif
