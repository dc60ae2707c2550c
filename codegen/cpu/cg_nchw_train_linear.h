/* cg_nchw_train_linear.h — the training step's linear layer (NcCgOptions.train):
 *
 *   linear (x [N, K], weight [O, K], bias [O] or none, no epilogue): "train linear"
 *   linear_grad_input (dy [N, O], weight [O, K]) -> dx [N, K]: "train linear grad-input"
 *   linear_grad_weight (dy [N, O], x [N, K]) -> dw [O, K]: "train linear grad-weight"
 *
 * Direct loops in float vectors along the contiguous K axis, read as the
 * parameters are stored (they change every step, so nothing is packed):
 * the forward and the weight gradient a tile per output row o (the row of
 * W, or of dW, stays in L1 over the N images); the input gradient a tile per
 * chunk of TRAIN_LINEAR_CHUNK columns of dx, accumulated over o in place
 * (each W row read once).  The sums are float (the reference's are double):
 * the unit test bounds the difference at 1e-4 of the largest output. */
#ifndef NETC_CG_NCHW_TRAIN_LINEAR_H
#define NETC_CG_NCHW_TRAIN_LINEAR_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcTrainLinearPlan {
    int op;          /* NC_OP_LINEAR, NC_OP_LINEAR_GRAD_INPUT or NC_OP_LINEAR_GRAD_WEIGHT */
    int64_t N, K, O; /* images, input features, output features */
    int bias;        /* linear: a bias input */
    int64_t chunk;   /* linear_grad_input: columns of dx per tile */
    int64_t tiles;
} NcTrainLinearPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_linear_plan(NcTrainLinearPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>` (one stage) into k. */
void nc_cg_train_linear_emit(NcCgModule *m, const NcTrainLinearPlan *p, const char *prefix, NcCgKernel *k);

#endif
