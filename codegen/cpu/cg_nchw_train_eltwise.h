/* cg_nchw_train_eltwise.h — the training step's memory-bound ops on NCHW
 * values (NcCgOptions.train):
 *
 *   relu, clamp, silu, sigmoid; add and mul of two operands of the output's
 *   shape, or one of them one value per (image, channel) [N, C, 1, 1] of a
 *   4-d output (a tile per plane, the value splat): "nchw elementwise"
 *   act_grad (dy * act'(x), the reference's kink and NaN rules): "nchw act-grad"
 *   batch_norm_train: "nchw batch-norm"; batch_norm_train_grad: "nchw batch-norm grad"
 *
 * The elementwise kernels run over chunks of TRAIN_ELT_CHUNK floats (a tile
 * each, the last one ragged under a mask) or, with a per-channel operand,
 * over planes.  The batch norms are one tile per channel, each a reduction
 * over the channel's N planes (contiguous plane by plane) into double vector
 * accumulators, then the apply pass over the same planes (in cache): the
 * statistics and the apply are computed in double, in the reference's order
 * of operations, so only the order of the sums differs.  silu, sigmoid and
 * their gradients use cgb_exp (about 1 ulp); the gradients' products are in
 * double.  No epilogue steps (the training graph is not fused). */
#ifndef NETC_CG_NCHW_TRAIN_ELTWISE_H
#define NETC_CG_NCHW_TRAIN_ELTWISE_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef enum NcTrainEltKind { NC_TELT_MAP, NC_TELT_ACT_GRAD, NC_TELT_BN, NC_TELT_BN_GRAD } NcTrainEltKind;

typedef struct NcTrainEltPlan {
    NcTrainEltKind kind;
    int64_t numel;   /* elements of the output (map) or of x (batch norms) */
    int64_t N, C, S; /* batch norms and per-channel maps: images, channels, plane */
    int per_plane;   /* map: a tile per plane (a per-channel operand) */
    int64_t chunk;   /* map: floats per tile otherwise */
    int64_t tiles;
} NcTrainEltPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_elt_plan(NcTrainEltPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>` (one stage) into k. */
void nc_cg_train_elt_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcTrainEltPlan *p,
                          const char *prefix, NcCgKernel *k);

#endif
