/* cu_bf16.h — f32 to bf16 on the GPU (--target cuda --precision bf16): a
 * GEMM's operands rounded for cublasGemmEx's bf16 inputs, described once for
 * both lowerings (cu_kernel.h).  Round to nearest even, a NaN stays a (quiet)
 * NaN: bit for bit codegen/cpu/cg_precision.h's nc_bf16_round. */
#ifndef NETC_CU_BF16_H
#define NETC_CU_BF16_H

#include "codegen/cuda/cu_index.h"

typedef struct NcCuBf16 {
    int64_t n; /* elements */
} NcCuBf16;

/* params: 0 = src (n floats), 1 = dst (n bf16: 2 bytes each).  One thread
 * per element. */
void nc_cu_bf16_desc(NcCuDesc *d, const char *name, const NcCuBf16 *k);
/* The other way, exactly (a bf16 conv's output, cuDNN's): params 0 = src (n
 * bf16), 1 = dst (n floats). */
void nc_cu_bf16_widen_desc(NcCuDesc *d, const char *name, const NcCuBf16 *k);

#endif
