/* abi_cuda.c — runtime/device/device_cuda.c compiled with its checks after it (abi_check.h says how): its
 * copies of cuda.h's and cuBLAS's declarations against the real ones, and its dlsym tables against the real
 * libraries. */
/* the file's own names for cuda.h's types, renamed: cuda.h declares the real ones below */
#define CUresult    nc_CUresult
#define CUdevice    nc_CUdevice
#define CUcontext   nc_CUcontext
#define CUmodule    nc_CUmodule
#define CUfunction  nc_CUfunction
#define CUstream    nc_CUstream
#define CUgraph     nc_CUgraph
#define CUgraphExec nc_CUgraphExec
#define CUdeviceptr nc_CUdeviceptr
#include "runtime/device/device_cuda.c"
#undef CUresult
#undef CUdevice
#undef CUcontext
#undef CUmodule
#undef CUfunction
#undef CUstream
#undef CUgraph
#undef CUgraphExec
#undef CUdeviceptr

#include <cublas_v2.h>
#include <cuda.h>

#include "tests/cuda/abi/abi_check.h"

/* the types the file's declarations use */
NC_ABI_SAME_KIND(nc_CUresult, CUresult);
NC_ABI_SAME_KIND(nc_CUdevice, CUdevice);
NC_ABI_SAME_KIND(nc_CUdeviceptr, CUdeviceptr);
NC_ABI_SAME_KIND(nc_CUcontext, CUcontext);
NC_ABI_SAME_KIND(nc_CUmodule, CUmodule);
NC_ABI_SAME_KIND(nc_CUfunction, CUfunction);
NC_ABI_SAME_KIND(nc_CUstream, CUstream);
NC_ABI_SAME_KIND(nc_CUgraph, CUgraph);
NC_ABI_SAME_KIND(nc_CUgraphExec, CUgraphExec);
_Static_assert(sizeof(CUdeviceptr) == sizeof(void *), "device_cuda.c casts device pointers through uintptr_t");

/* the values it passes, and the statuses it reads as success (0) */
#define NC_ABI_CONSTANTS(X)                                                                                            \
    X(STREAM_DEFAULT, CU_STREAM_DEFAULT)                                                                               \
    X(CAPTURE_MODE_GLOBAL, CU_STREAM_CAPTURE_MODE_GLOBAL)                                                              \
    X(EVENT_DEFAULT, CU_EVENT_DEFAULT)                                                                                 \
    X(EVENT_BLOCKING_SYNC, CU_EVENT_BLOCKING_SYNC)                                                                     \
    X(EVENT_DISABLE_TIMING, CU_EVENT_DISABLE_TIMING)                                                                   \
    X(EVENT_WAIT_DEFAULT, CU_EVENT_WAIT_DEFAULT)                                                                       \
    X(0, CUDA_SUCCESS)                                                                                                 \
    X(OP_N, CUBLAS_OP_N)                                                                                               \
    X(OP_T, CUBLAS_OP_T)                                                                                               \
    X(DEFAULT_MATH, CUBLAS_DEFAULT_MATH)                                                                               \
    X(TF32_TENSOR_OP_MATH, CUBLAS_TF32_TENSOR_OP_MATH)                                                                 \
    X(R_32F, CUDA_R_32F)                                                                                               \
    X(R_16BF, CUDA_R_16BF)                                                                                             \
    X(COMPUTE_32F, CUBLAS_COMPUTE_32F)                                                                                 \
    X(GEMM_DEFAULT, CUBLAS_GEMM_DEFAULT)                                                                               \
    X(0, CUBLAS_STATUS_SUCCESS)
NC_ABI_CONSTANTS(NC_ABI_CONST)

/* every member the file's tables dlsym into */
#define NC_ABI_FNS(X)                                                                                                  \
    X(cuInit, cuInit, nc_CUresult, (unsigned a), (a))                                                                  \
    X(cuDeviceGetCount, cuDeviceGetCount, nc_CUresult, (int *a), (a))                                                  \
    X(cuDeviceGet, cuDeviceGet, nc_CUresult, (nc_CUdevice * a, int b), (a, b))                                         \
    X(cuDeviceGetName, cuDeviceGetName, nc_CUresult, (char *a, int b, nc_CUdevice c), (a, b, c))                       \
    X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, nc_CUresult, (nc_CUcontext * a, nc_CUdevice b),              \
      (NC_ABI_AS(a, nc_CUcontext *, CUcontext *), b))                                                                  \
    X(cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease, nc_CUresult, (nc_CUdevice a), (a))                         \
    X(cuCtxSetCurrent, cuCtxSetCurrent, nc_CUresult, (nc_CUcontext a), (a))                                            \
    X(cuCtxSynchronize, cuCtxSynchronize, nc_CUresult, (void), ())                                                     \
    X(cuMemAlloc, cuMemAlloc, nc_CUresult, (nc_CUdeviceptr * a, size_t b), (a, b))                                     \
    X(cuMemFree, cuMemFree, nc_CUresult, (nc_CUdeviceptr a), (a))                                                      \
    X(cuMemcpyHtoD, cuMemcpyHtoD, nc_CUresult, (nc_CUdeviceptr a, const void *b, size_t c), (a, b, c))                 \
    X(cuMemcpyDtoH, cuMemcpyDtoH, nc_CUresult, (void *a, nc_CUdeviceptr b, size_t c), (a, b, c))                       \
    X(cuModuleLoadData, cuModuleLoadData, nc_CUresult, (nc_CUmodule * a, const void *b),                               \
      (NC_ABI_AS(a, nc_CUmodule *, CUmodule *), b))                                                                    \
    X(cuModuleUnload, cuModuleUnload, nc_CUresult, (nc_CUmodule a), (a))                                               \
    X(cuModuleGetFunction, cuModuleGetFunction, nc_CUresult, (nc_CUfunction * a, nc_CUmodule b, const char *c),        \
      (NC_ABI_AS(a, nc_CUfunction *, CUfunction *), b, c))                                                             \
    X(cuLaunchKernel, cuLaunchKernel, nc_CUresult,                                                                     \
      (nc_CUfunction a, unsigned b, unsigned c, unsigned d, unsigned e, unsigned f, unsigned g, unsigned h,            \
       nc_CUstream i, void **j, void **k),                                                                             \
      (a, b, c, d, e, f, g, h, i, j, k))                                                                               \
    X(cuGetErrorString, cuGetErrorString, nc_CUresult, (nc_CUresult a, const char **b), (a, b))                        \
    X(cuStreamCreate, cuStreamCreate, nc_CUresult, (nc_CUstream * a, unsigned b),                                      \
      (NC_ABI_AS(a, nc_CUstream *, CUstream *), b))                                                                    \
    X(cuStreamDestroy, cuStreamDestroy, nc_CUresult, (nc_CUstream a), (a))                                             \
    X(cuStreamBeginCapture, cuStreamBeginCapture, nc_CUresult, (nc_CUstream a, int b), (a, b))                         \
    X(cuStreamEndCapture, cuStreamEndCapture, nc_CUresult, (nc_CUstream a, nc_CUgraph * b),                            \
      (a, NC_ABI_AS(b, nc_CUgraph *, CUgraph *)))                                                                      \
    X(cuGraphInstantiate, cuGraphInstantiate, nc_CUresult, (nc_CUgraphExec * a, nc_CUgraph b, unsigned long long c),   \
      (NC_ABI_AS(a, nc_CUgraphExec *, CUgraphExec *), b, c))                                                           \
    X(cuGraphLaunch, cuGraphLaunch, nc_CUresult, (nc_CUgraphExec a, nc_CUstream b), (a, b))                            \
    X(cuGraphExecDestroy, cuGraphExecDestroy, nc_CUresult, (nc_CUgraphExec a), (a))                                    \
    X(cuGraphDestroy, cuGraphDestroy, nc_CUresult, (nc_CUgraph a), (a))                                                \
    X(cuEventCreate, cuEventCreate, nc_CUresult, (void **a, unsigned b), (NC_ABI_AS(a, void **, CUevent *), b))        \
    X(cuEventRecord, cuEventRecord, nc_CUresult, (void *a, nc_CUstream b), (a, b))                                     \
    X(cuEventSynchronize, cuEventSynchronize, nc_CUresult, (void *a), (a))                                             \
    X(cuEventElapsedTime, cuEventElapsedTime, nc_CUresult, (float *a, void *b, void *c), (a, b, c))                    \
    X(cuEventDestroy, cuEventDestroy, nc_CUresult, (void *a), (a))                                                     \
    X(cuMemHostAlloc, cuMemHostAlloc, nc_CUresult, (void **a, size_t b, unsigned c), (a, b, c))                        \
    X(cuMemFreeHost, cuMemFreeHost, nc_CUresult, (void *a), (a))                                                       \
    X(cuMemcpyHtoDAsync, cuMemcpyHtoDAsync, nc_CUresult, (nc_CUdeviceptr a, const void *b, size_t c, nc_CUstream d),   \
      (a, b, c, d))                                                                                                    \
    X(cuMemcpyDtoHAsync, cuMemcpyDtoHAsync, nc_CUresult, (void *a, nc_CUdeviceptr b, size_t c, nc_CUstream d),         \
      (a, b, c, d))                                                                                                    \
    X(cuMemcpyDtoDAsync, cuMemcpyDtoDAsync, nc_CUresult,                                                               \
      (nc_CUdeviceptr a, nc_CUdeviceptr b, size_t c, nc_CUstream d), (a, b, c, d))                                     \
    X(cuStreamWaitEvent, cuStreamWaitEvent, nc_CUresult, (nc_CUstream a, void *b, unsigned c), (a, b, c))              \
    X(cublasCreate, cublasCreate, int, (void **a), (NC_ABI_AS(a, void **, cublasHandle_t *)))                          \
    X(cublasDestroy, cublasDestroy, int, (void *a), (a))                                                               \
    X(cublasSetMathMode, cublasSetMathMode, int, (void *a, int b), (a, b))                                             \
    X(cublasSetStream, cublasSetStream, int, (void *a, nc_CUstream b), (a, b))                                         \
    X(cublasSetWorkspace, cublasSetWorkspace, int, (void *a, void *b, size_t c), (a, b, c))                            \
    X(cublasSgemm, cublasSgemm, int,                                                                                   \
      (void *a, int b, int c, int d, int e, int f, const float *g, const float *h, int i, const float *j, int k,       \
       const float *l, float *m, int n),                                                                               \
      (a, b, c, d, e, f, g, h, i, j, k, l, m, n))                                                                      \
    X(cublasSgemmStridedBatched, cublasSgemmStridedBatched, int,                                                       \
      (void *a, int b, int c, int d, int e, int f, const float *g, const float *h, int i, long long j, const float *k, \
       int l, long long m, const float *n, float *o, int p, long long q, int r),                                       \
      (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r))                                                          \
    X(cublasGemmEx, cublasGemmEx, int,                                                                                 \
      (void *a, int b, int c, int d, int e, int f, const void *g, const void *h, int i, int j, const void *k, int l,   \
       int m, const void *n, void *o, int p, int q, int r, int s),                                                     \
      (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s))                                                       \
    X(cublasGemmStridedBatchedEx, cublasGemmStridedBatchedEx, int,                                                     \
      (void *a, int b, int c, int d, int e, int f, const void *g, const void *h, int i, int j, long long k,            \
       const void *l, int m, int n, long long o, const void *p, void *q, int r, int s, long long t, int u, int v,      \
       int w),                                                                                                         \
      (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w))

NC_ABI_CHECKED_BEGIN
NC_ABI_FNS(NC_ABI_WRAP)
NC_ABI_CHECKED_END
static const char *const nc_abi_names[] = {NC_ABI_FNS(NC_ABI_NAME)};

/* cuda.h's and cublas_v2.h's macros over the members' names (cuMemAlloc is cuMemAlloc_v2) */
#undef cuDevicePrimaryCtxRelease
#undef cuMemAlloc
#undef cuMemFree
#undef cuMemcpyHtoD
#undef cuMemcpyDtoH
#undef cuLaunchKernel
#undef cuStreamDestroy
#undef cuStreamBeginCapture
#undef cuStreamEndCapture
#undef cuGraphInstantiate
#undef cuGraphLaunch
#undef cuEventRecord
#undef cuEventElapsedTime
#undef cuEventDestroy
#undef cuMemcpyHtoDAsync
#undef cuMemcpyDtoHAsync
#undef cuMemcpyDtoDAsync
#undef cuStreamWaitEvent
#undef cublasCreate
#undef cublasDestroy
#undef cublasSetStream
#undef cublasSetWorkspace
#undef cublasSgemm
#define NC_ABI_STRUCT Cuda
NC_ABI_FNS(NC_ABI_TYPE)
static const size_t nc_abi_offsets[] = {NC_ABI_FNS(NC_ABI_OFFSET)};

/* The tables against the checked members; then the driver's (a stub is enough: tables only) and cuBLAS's
 * libraries loaded by the file's own resolve() and cublas_load(), every optional set present.  Without a GPU
 * nothing further: cublasCreate needs one. */
int nc_abi_cuda(const char *driver, const char *cublas) {
    const NcDlSym *tables[] = {driver_syms, event_syms, overlap_syms, cublas_syms, cublas_bf16_syms};
    const size_t sizes[] = {NSYMS(driver_syms), NSYMS(event_syms), NSYMS(overlap_syms), NSYMS(cublas_syms),
                            NSYMS(cublas_bf16_syms)};
    const size_t n = 0 NC_ABI_FNS(NC_ABI_COUNT), nconst = 0 NC_ABI_CONSTANTS(NC_ABI_COUNT);
    int bad = nc_abi_match("device_cuda.c", tables, sizes, NSYMS(tables), nc_abi_offsets, nc_abi_names, n);
    printf("device_cuda.c: %zu entry points' signatures and %zu constants checked against cuda.h %d and cuBLAS "
           "%d.%d.%d at compile time; its dlsym tables against them: %s\n",
           n, nconst, CUDA_VERSION, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH, bad ? "FAIL" : "ok");
    NcError e;
    if (driver) {
        Cuda c;
        memset(&c, 0, sizeof c);
        if (!(c.lib = dlopen(driver, RTLD_NOW | RTLD_LOCAL)))
            printf("FAIL device_cuda.c: %s does not load: %s\n", driver, dlerror()), bad++;
        else if (resolve(&c, &e))
            printf("FAIL device_cuda.c: %s\n", e.msg), bad++;
        else if (!c.cuEventCreate || !c.cuStreamWaitEvent)
            printf("FAIL device_cuda.c: %s lacks an entry point of the events' or the overlap's\n", driver), bad++;
        else if ((void *)c.cuEventElapsedTime != dlsym(c.lib, "cuEventElapsedTime_v2"))
            printf("FAIL device_cuda.c: resolve() did not take %s's cuEventElapsedTime_v2\n", driver), bad++;
        else
            printf("device_cuda.c: %s has all %zu of its driver entry points\n", driver,
                   NSYMS(driver_syms) + NSYMS(event_syms) + NSYMS(overlap_syms));
        if (c.lib) dlclose(c.lib);
    }
    if (cublas) {
        Cuda c;
        memset(&c, 0, sizeof c);
        if (cublas_load(&c, &cublas, 1, &e))
            printf("FAIL device_cuda.c: %s\n", e.msg), bad++;
        else if (!c.cublasGemmEx)
            printf("FAIL device_cuda.c: %s has no cublasGemmEx / cublasGemmStridedBatchedEx\n", cublas), bad++;
        else
            printf("device_cuda.c: %s has all %zu of its cuBLAS entry points\n", cublas,
                   NSYMS(cublas_syms) + NSYMS(cublas_bf16_syms));
        if (c.blas_lib) dlclose(c.blas_lib);
    }
    return bad;
}
