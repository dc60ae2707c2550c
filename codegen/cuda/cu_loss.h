/* cu_loss.h — the training loss on the GPU, described once for both lowerings
 * (cu_kernel.h): cross-entropy on soft targets (ir/ref_train.c's
 * NC_LOSS_SOFT: timm's SoftTargetCrossEntropy; label smoothing, Mixup and
 * CutMix live in the targets) and its gradient.  The weighted and focal
 * losses are not here yet (the reference kernels run them). */
#ifndef NETC_CU_LOSS_H
#define NETC_CU_LOSS_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuCrossEntropy {
    int64_t n, k; /* logits and targets [N, K] */
} NcCuCrossEntropy;

/* params: 0 = logits, 1 = loss [1], 2 = targets: the mean over rows of
 * sum_k -t[k] log softmax(z)[k].  One block: each thread whole rows (a
 * row's max, sum of exp, then lse sum t - sum t z), the rows' losses summed
 * by a tree. */
void nc_cu_cross_entropy_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k);
/* params: 0 = dloss [1], 1 = dlogits [N, K], 2 = logits, 3 = targets:
 * dz = dloss (softmax(z) sum t - t) / N.  A block per row: the max, then
 * the sums of exp(z - max) and of t side by side, by trees. */
void nc_cu_cross_entropy_grad_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k);

#endif
