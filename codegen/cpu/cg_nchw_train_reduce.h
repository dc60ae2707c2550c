/* cg_nchw_train_reduce.h — the training step's plane and row reductions on
 * NCHW values (NcCgOptions.train):
 *
 *   global_avg_pool [N, C, H, W] -> [N, C, 1, 1]: "train reduce" (a tile per plane)
 *   global_avg_pool_grad: dy / HW broadcast over each plane: "train reduce"
 *   sum_to (the gradient of a broadcast) where the axes kept come before the
 *   axes summed ([N, C, H, W] -> [N, C, 1, 1], an SE gate's gradient: a tile
 *   per plane) or after them ([N, O] -> [O], [N, C, 1, 1] -> [1, C, 1, 1], a
 *   bias's gradient: a tile per chunk of TRAIN_REDUCE_CHUNK columns, summed
 *   down the rows): "train reduce"
 *
 * Axes of size 1 are ignored in that test; other sum_to patterns stay on the
 * reference.  The sums are in double vectors (the reference's are double
 * too; only the order differs). */
#ifndef NETC_CG_NCHW_TRAIN_REDUCE_H
#define NETC_CG_NCHW_TRAIN_REDUCE_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef enum NcTrainRedKind { NC_TRED_PLANES, NC_TRED_ROWS, NC_TRED_BROADCAST } NcTrainRedKind;

typedef struct NcTrainRedPlan {
    NcTrainRedKind kind;
    int64_t P, S;  /* planes: P outputs, each the sum of S contiguous floats; broadcast: P planes of S */
    int64_t R, Q;  /* rows: Q outputs, each the sum down R rows of Q floats */
    double scale;  /* planes, broadcast: 1 / S for the average pool and its gradient, else 1 */
    int64_t chunk; /* rows: columns per tile */
    int64_t tiles;
} NcTrainRedPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_red_plan(NcTrainRedPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>` (one stage) into k. */
void nc_cg_train_red_emit(NcCgModule *m, const NcTrainRedPlan *p, const char *prefix, NcCgKernel *k);

#endif
