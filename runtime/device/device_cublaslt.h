/* device_cublaslt.h — GEMMs with a bias (+ relu) epilogue through cuBLASLt
 * for the CUDA device (device_cuda.c), reached through
 * dlopen("libcublasLt.so.13" / ".12") like cuBLAS, so that netc neither builds
 * nor runs against it.  Not yet run on a GPU: written from cublasLt.h and
 * NVIDIA's documentation, tested on tests/cuda/fake_cuda.c's stand-in. */
#ifndef NETC_DEVICE_CUBLASLT_H
#define NETC_DEVICE_CUBLASLT_H

#include "runtime/device/device.h"

typedef struct NcCublasLt NcCublasLt;

/* cuBLASLt on device d's stream (a CUstream), with its own fixed workspace;
 * NULL with the reason where the library cannot be loaded or started. */
NcCublasLt *nc_cublaslt_open(NcDevice *d, void *stream, NcError *e);
void nc_cublaslt_close(NcCublasLt *lt);
/* nc_dev_gemm_epi's contract: 0 done; 1 cuBLASLt does not take this shape
 * (no algorithm, or its matmul failed: the first such with a notice), and
 * from then on never runs it.  A shape's descriptors and algorithm are made at its first
 * call, which must not be inside a graph's capture (capturing: 1 there, and
 * an unprepared shape is then refused, 1). */
int nc_cublaslt_gemm(NcCublasLt *lt, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                     int capturing, NcError *e);
/* GEMMs run fused, and shapes refused, so far. */
void nc_cublaslt_counts(const NcCublasLt *lt, int64_t *fused, int64_t *refused);

#endif
