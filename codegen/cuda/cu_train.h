/* cu_train.h — the training step's reductions and elementwise gradients on
 * the GPU, described once for both lowerings (cu_kernel.h), computing what
 * ir/ref_train.c and ir/ref_grad_pool.c compute:
 *  - batch norm on batch statistics, forward (mean and biased variance per
 *    channel, two passes) and backward (dx, dweight, dbias);
 *  - act_grad: dy * act'(x) for relu, clamp, silu, sigmoid;
 *  - sum_to: the sum of a tensor onto a shape it broadcasts from (bias and
 *    channel-scale gradients);
 *  - dropout (and so its gradient, the same mask on dy) with the reference's
 *    random draws, bit for bit;
 *  - zeros (a fill).
 * Softmax's gradient is cu_softmax.h's. */
#ifndef NETC_CU_TRAIN_H
#define NETC_CU_TRAIN_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuBnTrain {
    int64_t n, c, s; /* x [N, C, S] (S = H W) */
    float eps;
} NcCuBnTrain;
/* params: 0 = x, 1 = y, 2 = weight [C], 3 = bias [C], 4 = mean [C] (out),
 * 5 = var [C] (out, biased).  One block per channel: the sum (partials +
 * tree), the squared deviations from the mean (partials + tree), then y. */
void nc_cu_bn_train_desc(NcCuDesc *d, const char *name, const NcCuBnTrain *k);
/* params: 0 = dy, 1 = dx, 2 = x, 3 = weight, 4 = mean, 5 = var (the forward's
 * outputs), 6 = dweight [C] (out), 7 = dbias [C] (out).  One block per
 * channel: sum dy and sum dy xhat in one pass (two trees side by side), then
 * dx = weight invstd / M (M dy - sum dy - xhat sum dy xhat). */
void nc_cu_bn_train_grad_desc(NcCuDesc *d, const char *name, const NcCuBnTrain *k);

typedef struct NcCuActGrad {
    int64_t n;
    int act; /* an NcEpiKind: NC_EPI_RELU, NC_EPI_CLAMP (lo, hi), NC_EPI_SILU, NC_EPI_SIGMOID */
    float lo, hi;
} NcCuActGrad;
/* params: 0 = dy, 1 = dx, 2 = x (the activation's input).  One thread per
 * element; relu and clamp as PyTorch's threshold / hardtanh backward (a NaN x
 * passes dy). */
void nc_cu_act_grad_desc(NcCuDesc *d, const char *name, const NcCuActGrad *k);

#define NC_CU_SUMTO_MAXDIM 6
typedef struct NcCuSumTo {
    int nd, ond;                        /* x's and y's ranks, ond <= nd */
    int64_t xshape[NC_CU_SUMTO_MAXDIM]; /* outermost first */
    int64_t yshape[NC_CU_SUMTO_MAXDIM]; /* right-aligned against x; 1 or x's size per axis */
} NcCuSumTo;
/* params: 0 = x, 1 = y.  When x's innermost axis is kept (a bias over [N, K]:
 * columns), one thread per output summing its column, coalesced across
 * threads; otherwise one block per output (a [C] bias over [N, C, H, W], a
 * channel scale's [N, C, 1, 1]), partial sums along the contiguous reduced
 * axes and a tree. */
void nc_cu_sum_to_desc(NcCuDesc *d, const char *name, const NcCuSumTo *k);

typedef struct NcCuDropout {
    int64_t n, per; /* elements; per sample (n / batch) */
    float p;        /* drop probability, in [0, 1) */
    uint32_t salt;  /* the node's stream (attrs.salt) */
    int per_sample; /* one draw per sample (drop-path) instead of per element */
} NcCuDropout;
/* params: 0 = x, 1 = y, 2 = seed (the I32 [2] value's two words, as stored).
 * y = x * (keep ? 1 / (1 - p) : 0), keep = nc_dropout_bits(seed, salt,
 * draw) < (1 - p) 2^32 (ir/ops.h's splitmix64 in 64-bit integer code), so
 * the same elements as the reference are dropped.  One thread per element. */
void nc_cu_dropout_desc(NcCuDesc *d, const char *name, const NcCuDropout *k);

/* zeros: n floats set to 0 — a split's unused part's gradient, a parameter's
 * the loss does not reach (ir/grad_shape.c, passes/autodiff.c).  params:
 * 0 = y (the one parameter: nothing is read).  One thread per element.  A
 * kernel rather than a device memset: it is captured into the program's CUDA
 * graph like every other step, and runs in the emulator through the same CPU
 * lowering. */
typedef struct NcCuZeros {
    int64_t n;
} NcCuZeros;
void nc_cu_zeros_desc(NcCuDesc *d, const char *name, const NcCuZeros *k);

/* A batch norm in eval mode as a per-channel scale and shift made when the
 * program runs, from the parameters as they are then: a training bundle's
 * inference program (train's validation) reads weights and running
 * statistics the optimizer changes every step, so they cannot be folded at
 * compile time as an inference program's are.  scale = gamma / sqrt(var +
 * eps), shift = beta - mean scale, in double and rounded as cu_lower.c folds
 * them at compile time.  params: 0 = gamma, 1 = out [2 c] (scale, then
 * shift), 2 = beta, 3 = running mean, 4 = running var.  One thread per
 * channel.  eps in double so that the struct has no padding (requests are
 * compared byte for byte). */
typedef struct NcCuBnFold {
    int64_t c;
    double eps;
} NcCuBnFold;
void nc_cu_bn_fold_desc(NcCuDesc *d, const char *name, const NcCuBnFold *k);

#endif
