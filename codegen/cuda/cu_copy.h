/* cu_copy.h — one strided copy for every relayout on the GPU, described once
 * for both lowerings (cu_kernel.h): a box of up to NC_CU_COPY_MAXDIM
 * dimensions read from one buffer with its strides and written to another
 * with theirs, times a scale.  Concat is one copy per input into its slice
 * of the output, split one per output, transpose one copy with permuted
 * strides, and a stride of 0 broadcasts (the gradients of global average
 * pooling and of radix_gap: dy / HW over the plane). */
#ifndef NETC_CU_COPY_H
#define NETC_CU_COPY_H

#include "codegen/cuda/cu_index.h"

#define NC_CU_COPY_MAXDIM 6

typedef struct NcCuCopy {
    int nd;
    int64_t dims[NC_CU_COPY_MAXDIM]; /* the box, outermost first */
    int64_t src_off, src_stride[NC_CU_COPY_MAXDIM];
    int64_t dst_off, dst_stride[NC_CU_COPY_MAXDIM];
    float scale; /* dst = src * scale; exactly 1 is a plain copy */
} NcCuCopy;

/* params: 0 = src, 1 = dst.  One thread per element of the box, in its order
 * (the innermost dimension fastest: coalesced where that stride is 1). */
void nc_cu_copy_desc(NcCuDesc *d, const char *name, const NcCuCopy *k);

/* The copies of the data-movement ops, shapes outermost first:
 *  - a tensor of `shape` into (to_big 1: concat) or out of (0: split) its
 *    slice [off, off + shape[axis]) along `axis` of a tensor whose `axis`
 *    has big_len elements, the other dimensions equal;
 *  - x of `shape` transposed: output axis d is x's axis perm[d];
 *  - a broadcast: src [rows] to dst [rows, len], dst[r, i] = src[r] * scale. */
void nc_cu_copy_slice(NcCuCopy *c, int nd, const int64_t *shape, int axis, int64_t big_len, int64_t off, int to_big);
void nc_cu_copy_transpose(NcCuCopy *c, int nd, const int64_t *shape, const int64_t *perm);
void nc_cu_copy_broadcast(NcCuCopy *c, int64_t rows, int64_t len, float scale);

#endif
