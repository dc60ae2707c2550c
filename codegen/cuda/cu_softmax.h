/* cu_softmax.h — softmax along an axis that is not the innermost, and
 * softmax's gradient along any axis, described once for both lowerings
 * (cu_kernel.h), as ir/ref_shape.c and ir/ref_grad_pool.c compute them.
 * (The softmax over rows, the innermost axis, is cu_kernels.h's.) */
#ifndef NETC_CU_SOFTMAX_H
#define NETC_CU_SOFTMAX_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuSoftmaxAxis {
    int64_t outer, len, inner; /* the softmax axis has len elements, inner apart */
} NcCuSoftmaxAxis;
typedef NcCuSoftmaxAxis NcCuSoftmaxGrad;

/* params: 0 = x, 1 = y.  One thread per (outer, inner): the max, the sum of
 * exp(x - max), the outputs, three passes along the axis, coalesced across
 * inner (any inner >= 1; rows are better served by cu_kernels.h's). */
void nc_cu_softmax_axis_desc(NcCuDesc *d, const char *name, const NcCuSoftmaxAxis *k);

/* params: 0 = dy, 1 = dx, 2 = y (softmax's output): dx = y (dy - sum dy y)
 * along the axis.  Rows (inner 1): a block per row, the dot by a tree; else
 * one thread per (outer, inner), coalesced across inner. */
void nc_cu_softmax_grad_desc(NcCuDesc *d, const char *name, const NcCuSoftmaxGrad *k);

#endif
