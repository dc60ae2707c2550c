/* cu_bn_split.h — batch norm on batch statistics (ir/ref_train.c,
 * ir/ref_grad_pool.c) with many blocks per channel, for the layers where
 * cu_train.h's one block per channel would leave most of a GPU idle (64
 * channels of 128 x 112 x 112 values: 64 blocks for 132 SMs, each thread
 * 6272 values in a row).  Each channel's N H W values are cut into chunks,
 * a block per (channel, chunk); a per-channel kernel combines the chunks;
 * an elementwise kernel applies.  Three launches each way, through scratch
 * buffers the caller allocates:
 *
 *   forward:  partials(x -> part)  finalize(part -> mean, var, scale)  apply(x -> y)
 *   backward: partials(dy, x -> part)  finalize(part -> dweight, dbias, coef)  apply(dy, x -> dx)
 *
 * The forward combines the chunks' means and squared deviations by Chan's
 * rule (no sum of squares: no cancellation when |mean| >> std). */
#ifndef NETC_CU_BN_SPLIT_H
#define NETC_CU_BN_SPLIT_H

#include "codegen/cuda/cu_train.h"

typedef struct NcCuBnSplit {
    NcCuBnTrain bn;
    int64_t chunk; /* values per block, 0: 4096 (16 per thread) */
} NcCuBnSplit;

/* Chunks per channel, and the floats of the partials' scratch (2 per chunk). */
int64_t nc_cu_bn_split_chunks(const NcCuBnSplit *k);
int64_t nc_cu_bn_split_scratch(const NcCuBnSplit *k);

/* params: 0 = x, 1 = part: per (c, chunk) its mean and the sum of squared
 * deviations from it.  A block per (c, chunk): two trees. */
void nc_cu_bn_split_partials_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);
/* params: 0 = part, 1 = mean [C] (out), 2 = weight, 3 = var [C] (out,
 * biased), 4 = scale [C] (out: weight / sqrt(var + eps)).  A thread per
 * channel. */
void nc_cu_bn_split_finalize_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);
/* params: 0 = x, 1 = y, 2 = mean, 3 = scale, 4 = bias: y = (x - mean) scale
 * + bias.  A thread per element. */
void nc_cu_bn_split_apply_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);

/* params: 0 = dy, 1 = part, 2 = x, 3 = mean, 4 = var: per (c, chunk) the
 * sums of dy and of dy xhat.  A block per (c, chunk). */
void nc_cu_bn_split_grad_partials_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);
/* params: 0 = part, 1 = dweight [C] (out), 2 = dbias [C] (out), 3 = weight,
 * 4 = var, 5 = coef [3 C] (out: the apply's per-channel a, b, c).  A thread
 * per channel. */
void nc_cu_bn_split_grad_finalize_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);
/* params: 0 = dy, 1 = dx, 2 = x, 3 = mean, 4 = coef: dx = a dy + b + c (x -
 * mean), i.e. weight invstd / M (M dy - sum dy - xhat sum dy xhat).  A
 * thread per element. */
void nc_cu_bn_split_grad_apply_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k);

#endif
