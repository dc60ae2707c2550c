/* autodiff.h — the training graph: a model's graph turned into one step of
 * training by reverse-mode differentiation over the IR.
 *
 * nc_autodiff takes the elaborated graph (before any fusion: it differentiates
 * the ops the description wrote), switches batch norm to batch statistics,
 * appends the loss on the model's output and, walking the nodes backwards,
 * each op's gradient rule (the op table's grad column, ir/grad_*.c).  After
 * it the graph's inputs are
 *     the image batch, target [N, K], loss_grad [1] (1.0, or a loss scale),
 *     [class_weight [K]] (NC_LOSS_WEIGHTED), [seed [2] (dropout, I32)]
 * in that order, and its outputs
 *     loss [1], logits [N, K], the gradient of each trainable parameter, then
 *     mean and var of each batch_norm_train — what the training program needs
 *     after the step (NcTrainInfo says which is which). */
#ifndef NETC_AUTODIFF_H
#define NETC_AUTODIFF_H

#include "ir/ir.h"

typedef struct NcTrainSpec {
    NcLossKind loss;
    float smoothing;     /* NC_LOSS_WEIGHTED: torch's label_smoothing (SOFT and FOCAL take it in the target) */
    float gamma;         /* NC_LOSS_FOCAL */
    int freeze_features; /* train only the classifier; the features run as in inference (BN running stats) */
} NcTrainSpec;

/* What the step's inputs and outputs are, by position (positions and names
 * survive later passes; value ids do not). */
typedef struct NcTrainInfo {
    int has_class_weight, has_seed;
    int nparams;
    char **param; /* names of the trainable parameters: output 2 + i is the gradient of param[i] */
    int nbn;
    char **bn; /* 2 nbn names, batch norm i's running_mean and running_var parameters: outputs 2 + nparams + 2 i
                  and + 1 are its batch mean and var, to update them with */
} NcTrainInfo;

int nc_autodiff(NcGraph *g, const NcTrainSpec *spec, NcTrainInfo *info, FILE *explain, NcError *e);
void nc_train_info_free(NcTrainInfo *info);

#endif
