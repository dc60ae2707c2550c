/* cu_pool.h — max and average pooling with windows on NCHW tensors, and
 * their gradients, described once for both lowerings (cu_kernel.h).  The
 * windows, divisors and argmax are ir/ref_pool.c's (PyTorch's): padding on
 * four sides (TF "same" is asymmetric), ceil_mode through the output size,
 * count_include_pad counting padding but never the ceil_mode overhang, a NaN
 * in a max window winning.  The global average pool is cu_kernels.h's row
 * mean; the global max pool is here. */
#ifndef NETC_CU_POOL_H
#define NETC_CU_POOL_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuPool {
    NcCuWin g; /* dilation is not read: pool windows are dense */
    int is_max;
    int count_include_pad; /* average: divide by the window with its padding */
} NcCuPool;

/* params: 0 = x [N, C, H, W], 1 = y [N, C, OH, OW].  One thread per output. */
void nc_cu_pool_desc(NcCuDesc *d, const char *name, const NcCuPool *k);
/* params: 0 = dy [N, C, OH, OW], 1 = dx [N, C, H, W], 2 = x (max only: the
 * argmax is recomputed, so the forward stores nothing else).  One thread per
 * dx element gathering the windows that contain it: no atomics, and the
 * same sum whatever the order of blocks. */
void nc_cu_pool_grad_desc(NcCuDesc *d, const char *name, const NcCuPool *k);

/* The global max pool: params 0 = x [rows, len], 1 = y [rows] (rows = N C,
 * len = H W), the reference's rule (a NaN never wins).  A block per row:
 * strided partial maxima, a tree. */
typedef struct NcCuRowMax {
    int64_t rows, len;
} NcCuRowMax;
void nc_cu_global_max_pool_desc(NcCuDesc *d, const char *name, const NcCuRowMax *k);

#endif
