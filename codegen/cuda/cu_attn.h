/* cu_attn.h — ResNeSt's split attention on the GPU, described once for both
 * lowerings (cu_kernel.h), with ir/ref_shape.c's layouts:
 *  - radix_gap: the R branches summed, then the mean over the plane (the
 *    attention's pooling);
 *  - radix_softmax: timm's RadixSoftmax, per sample x viewed [card, radix,
 *    rest], softmax over radix, written radix-major [radix, card, rest]
 *    (radix 1: a sigmoid);
 *  - radix_combine: out[n, c] = sum over r of x[n, r C + c] * attn[n, r C + c];
 * and their gradients (ir/ref_grad_pool.c); and squeeze-excitation's gate
 * after its pooling (the two small fully-connected layers in one kernel).
 * SE's channel scale is an elementwise step (cu_kernels.h:
 * NC_CU_EW_CHANNEL_MUL[_SIGMOID]); its gradient is radix_combine_grad with
 * radix 1 (dx = dy s, ds = the plane's sum of dy x). */
#ifndef NETC_CU_ATTN_H
#define NETC_CU_ATTN_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuRadixSoftmax {
    int64_t n, radix, card, rest; /* per sample radix * card * rest values */
} NcCuRadixSoftmax;
/* params: 0 = x, 1 = y.  One thread per (n, card, rest) softmax. */
void nc_cu_radix_softmax_desc(NcCuDesc *d, const char *name, const NcCuRadixSoftmax *k);
/* params: 0 = dy (radix-major, as y), 1 = dx (x's order), 2 = y. */
void nc_cu_radix_softmax_grad_desc(NcCuDesc *d, const char *name, const NcCuRadixSoftmax *k);

typedef struct NcCuSplitAttn {
    int64_t n, radix, c, hw; /* x [N, radix * C, HW] */
} NcCuSplitAttn;
/* params: 0 = x [N, R C, HW], 1 = y [N, C].  One block per (n, c): strided
 * partial sums, a tree in shared memory. */
void nc_cu_radix_gap_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k);
/* params: 0 = x [N, R C, HW], 1 = y [N, C, HW], 2 = attn [N, R C].  One thread
 * per output; products rounded and summed in branch order, as timm's. */
void nc_cu_radix_combine_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k);
/* params: 0 = dy [N, C, HW], 1 = dx [N, R C, HW], 2 = x, 3 = attn, 4 = dattn
 * [N, R C] (= sum over the plane of dy x).  One block per (n, r C + c): dx
 * written on the way, dattn by a tree.  (radix_gap's gradient, dy / HW
 * broadcast, is a cu_copy.h broadcast.) */
void nc_cu_radix_combine_grad_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k);

/* SE's gate from the pooled features (cu_kernels.h's row mean): gate[n] =
 * sigmoid(W2 act(W1 pooled[n] + b1) + b2), act relu or silu — what
 * ir/ref_se.c computes after its mean.  One block per sample: the pooled row
 * into shared memory, then each thread a share of the R hidden units (into
 * shared memory), then a share of the C gates: one launch instead of two
 * GEMMs of one row each and their epilogues. */
typedef struct NcCuSeGate {
    int64_t n, c, r; /* samples, channels, hidden units */
    int act;         /* NC_EPI_RELU or NC_EPI_SILU */
} NcCuSeGate;
/* params: 0 = pooled [N, C], 1 = gate [N, C], 2 = w1 [R, C], 3 = b1 [R],
 * 4 = w2 [C, R], 5 = b2 [C]. */
void nc_cu_se_gate_desc(NcCuDesc *d, const char *name, const NcCuSeGate *k);

#endif
