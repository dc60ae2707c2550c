/* cg_nchw_train_loss.h — the training step's soft-target cross-entropy and
 * its gradient (NcCgOptions.train), for NC_LOSS_SOFT (and NC_LOSS_FOCAL of
 * gamma 0, the same loss):
 *
 *   cross_entropy(z [N, K], t [N, K]) -> [1]: "train loss", two stages —
 *     a tile per row n: its log-sum-exp and sum_k -t[n,k] (z[n,k] - lse) in
 *     double, into scratch; then one tile adding the rows in row order / N
 *   cross_entropy_grad(dloss [1], z, t) -> dz: "train loss grad", a tile per
 *     row: dz = (p sum_k t - t) dloss / N, p = softmax(z) in double
 *
 * ir/ref_train.c's arithmetic: double throughout (exp and log from libm,
 * the maximum subtracted first), the rows summed in their order whatever the
 * threads, so the loss matches the reference to the last bit but for the
 * order of each row's sums.  The class-weighted and focal (gamma > 0) losses
 * stay on the reference kernels. */
#ifndef NETC_CG_NCHW_TRAIN_LOSS_H
#define NETC_CG_NCHW_TRAIN_LOSS_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcTrainLossPlan {
    int grad;        /* cross_entropy_grad */
    int64_t N, K;    /* rows, classes */
    int64_t scratch; /* floats: N doubles (the forward's row losses) */
} NcTrainLossPlan;

/* Does node nd of a training graph have a kernel here?  Fills the plan. */
int nc_cg_train_loss_plan(NcTrainLossPlan *p, const NcGraph *g, const NcNode *nd);
/* Emits `<prefix>_rows` (and `<prefix>_sum`) into k. */
void nc_cg_train_loss_emit(NcCgModule *m, const NcTrainLossPlan *p, const char *prefix, NcCgKernel *k);

#endif
