/* cg_nchw_train_pool.h — the training step's windowed pools on NCHW values
 * (NcCgOptions.train), one stage, a tile per plane (n, c):
 *
 *   max_pool2d       y[o] = the window's maximum: "train pool"
 *   avg_pool2d       y[o] = the window's sum / its divisor: "train pool"
 *   max_pool2d_grad  dx's plane zeroed, then each window's dy added to the
 *                    element the forward picked (recomputed from x, the op's
 *                    second input: no argmax is stored): "train pool grad"
 *   avg_pool2d_grad  dx's plane zeroed, then each window's dy / divisor
 *                    added to every element of it: "train pool grad"
 *
 * Windows, divisors and the choice of the maximum are ir/ref_pool.c's and
 * ir/ref_grad_pool.c's: the window clamped to the image (ceil_mode's
 * overhang and the padding never read), count_include_pad counting the
 * padding but not the overhang, the maximum by `v > m || isnan(v)` in
 * row-major order from below every number (the first of equal maxima, a NaN
 * over any number; a window of -inf gives -inf and sends its gradient to its
 * first element).  The outputs whose windows lie wholly inside the image
 * along an axis (static ranges) run the window unrolled with no bounds; the
 * border rows and columns run the clamped window in loops; the max pool's
 * gradient takes the interior windows of a row vw at a time (stride 1 or 2
 * across), their maxima and argmaxes in vector selects (scalar, LLVM made
 * the float select a mispredicted branch: 4x slower), each lane's dy then
 * added in lane order.  Differences from
 * the reference: the gradients accumulate in float where the reference
 * accumulates in double (at most kh kw / (sh sw) rounded additions per
 * element, rounded to float anyway); the average's sum and divisor are in
 * double, as the reference's. */
#ifndef NETC_CG_NCHW_TRAIN_POOL_H
#define NETC_CG_NCHW_TRAIN_POOL_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef enum NcTrainPoolKind { NC_TPOOL_MAX, NC_TPOOL_AVG, NC_TPOOL_MAX_GRAD, NC_TPOOL_AVG_GRAD } NcTrainPoolKind;

typedef struct NcTrainPoolPlan {
    NcTrainPoolKind kind;
    int64_t H, W, OH, OW; /* the input's and the output's planes */
    int kh, kw, sh, sw, pt, pl, pb, pr, include_pad;
    int64_t oh0, oh1, ow0, ow1; /* outputs whose windows lie inside the image: rows [oh0, oh1), columns [ow0, ow1) */
    int64_t tiles;              /* planes: N * C */
} NcTrainPoolPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_pool_plan(NcTrainPoolPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>` (one stage) into k. */
void nc_cg_train_pool_emit(NcCgModule *m, const NcTrainPoolPlan *p, const char *prefix, NcCgKernel *k);

#endif
