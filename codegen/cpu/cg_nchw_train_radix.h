/* cg_nchw_train_radix.h — the training step's split-attention ops (ResNeSt's radix branches) on NCHW values
 * (NcCgOptions.train), R branches of C channels radix-major ([N, R C, H, W], HW = H W):
 *
 *   radix_gap           x [N, R C, H, W] -> [N, C, 1, 1]: the branches summed per element (in float, in
 *                       branch order, as the reference), the plane's sum in double vectors, / HW: a tile per (n, c)
 *   radix_combine       (x, attn [N, R C, ...]) -> [N, C, H, W]: sum over r of x attn, each product rounded
 *                       and summed in branch order (no fused multiply-add): bit for bit the reference; a tile
 *                       per (n, c)
 *   radix_gap_grad      dy [N, C, 1, 1] -> dx = dy / HW (in double, rounded once) over every branch's plane:
 *                       bit for bit; a tile per (n, r C + c)
 *   radix_combine_grad  (dy, x, attn) -> dx = dy attn (bit for bit), dattn = the plane's sum of dy x (the
 *                       products exact in double, summed in double vectors): a tile per (n, r C + c)
 *
 * The references (ir/ref_shape.c, ir/ref_grad_pool.c) ran one thread and a scalar loop for the forward two:
 * resnest50d's step at 224, batch 16 spent 90 ms of 3.7 s in them. */
#ifndef NETC_CG_NCHW_TRAIN_RADIX_H
#define NETC_CG_NCHW_TRAIN_RADIX_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcTrainRadixPlan {
    NcOpKind op;
    int64_t N, R, C, HW;
    int64_t tiles;
} NcTrainRadixPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_radix_plan(NcTrainRadixPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>` (one stage) into k. */
void nc_cg_train_radix_emit(NcCgModule *m, const NcTrainRadixPlan *p, const char *prefix, NcCgKernel *k);

#endif
