/* cu_kernels.h — the first kernels described once for both lowerings
 * (cu_kernel.h): fused elementwise chains (conv / BN epilogues), the global
 * average pool (also SE's squeeze) and softmax over rows.  Each fills an
 * NcCuDesc whose ctx points into the caller's struct, which must outlive the
 * build. */
#ifndef NETC_CU_KERNELS_H
#define NETC_CU_KERNELS_H

#include "codegen/cuda/cu_kernel.h"

/* One step of an elementwise chain on an NCHW tensor. */
typedef enum NcCuEwKind {
    NC_CU_EW_SCALE_SHIFT, /* y = y * p[a][c] + p[b][c]: folded batch norm, per channel */
    NC_CU_EW_RELU,
    NC_CU_EW_CLAMP, /* clamp(lo, hi): relu6 is clamp(0, 6) */
    NC_CU_EW_SILU,
    NC_CU_EW_SIGMOID,
    NC_CU_EW_ADD,                 /* y = y + p[a][i]: residual add (same shape) */
    NC_CU_EW_BIAS,                /* y = y + p[a][c]: a conv's bias, per channel */
    NC_CU_EW_MUL,                 /* y = y * p[a][i] (same shape) */
    NC_CU_EW_CHANNEL_MUL,         /* y = y * p[a][n C + c]: SE's channel scale, [N, C, 1, 1] */
    NC_CU_EW_CHANNEL_MUL_SIGMOID, /* y = y * sigmoid(p[a][n C + c]): the scale from the excite conv's logits */
} NcCuEwKind;

#define NC_CU_EW_MAXSTEPS 8

typedef struct NcCuEwStep {
    NcCuEwKind kind;
    int a, b; /* parameter indices of the operands */
    float lo, hi;
} NcCuEwStep;

/* params: 0 = x (in), 1 = y (out), then the steps' operands. */
typedef struct NcCuEltwise {
    int64_t n, c, hw; /* n images of c channels of hw elements */
    int nsteps, nparams;
    NcCuEwStep step[NC_CU_EW_MAXSTEPS];
} NcCuEltwise;
void nc_cu_eltwise_desc(NcCuDesc *d, const char *name, const NcCuEltwise *k);
/* Step s on v, the value of element i of an [N, C, HW] tensor whose channel
 * is ch and (image, channel) row nch = i / HW: what a kernel ending in an
 * epilogue (cu_conv.c's direct convolutions) applies to its outputs. */
LLVMValueRef nc_cu_ew_step(NcCuBuilder *k, const NcCuEwStep *s, LLVMValueRef v, LLVMValueRef i, LLVMValueRef ch,
                           LLVMValueRef nch);

/* params: 0 = x [rows, len], 1 = y [rows]: the mean of each row (global
 * average pool with rows = N * C, len = H * W).  One block per row; each
 * thread sums a strided share, then a tree over shared memory, a barrier
 * between levels. */
typedef struct NcCuRowMean {
    int64_t rows, len;
} NcCuRowMean;
void nc_cu_row_mean_desc(NcCuDesc *d, const char *name, const NcCuRowMean *k);

/* params: 0 = x [rows, len], 1 = y [rows, len]: softmax over each row.  One
 * block per row: max (partials + tree), sum of exp (partials + tree), write. */
typedef NcCuRowMean NcCuSoftmax;
void nc_cu_softmax_desc(NcCuDesc *d, const char *name, const NcCuSoftmax *k);

#endif
