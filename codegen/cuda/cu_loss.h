/* cu_loss.h — the training loss on the GPU, described once for both lowerings
 * (cu_kernel.h): cross-entropy of ir/ref_train.c, all three kinds —
 * NC_LOSS_SOFT (timm's SoftTargetCrossEntropy; label smoothing, Mixup and
 * CutMix live in the targets), NC_LOSS_WEIGHTED (torch's CrossEntropyLoss
 * with class weights and label smoothing on one-hot targets) and
 * NC_LOSS_FOCAL — and its gradient.  log and pow are float-only code
 * (cu_index.h's nc_cu_log, nc_cu_exp), the same on both targets. */
#ifndef NETC_CU_LOSS_H
#define NETC_CU_LOSS_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuCrossEntropy {
    int64_t n, k;    /* logits and targets [N, K] */
    int loss;        /* an NcLossKind */
    float smoothing; /* NC_LOSS_WEIGHTED: label smoothing (attrs.p) */
    float gamma;     /* NC_LOSS_FOCAL: (1 - p)^gamma; 0 is the soft loss */
} NcCuCrossEntropy;

/* params: 0 = logits, 1 = loss [1], 2 = targets, 3 = class weights [K]
 * (weighted only).  One block: each thread whole rows (max, sum of exp,
 * then the row's loss and its denominator: 1, or w[label] weighted), both
 * summed by trees; loss = their quotient. */
void nc_cu_cross_entropy_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k);
/* params: 0 = dloss [1], 1 = dlogits [N, K], 2 = logits, 3 = targets, 4 =
 * class weights (weighted only).  Soft (and focal with gamma 0): a block per
 * row, the max, then the sums of exp(z - max) and of t, by trees; dz =
 * dloss (softmax(z) sum t - t) / N.  Weighted and focal: one block, each
 * thread whole rows (the weighted loss's denominator, the sum of w[label]
 * over rows, by a tree first). */
void nc_cu_cross_entropy_grad_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k);

#endif
