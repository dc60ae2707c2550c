/* fake_cuda.c — a stand-in for NVIDIA's driver (libcuda.so.1) and cuBLAS (libcublas.so.13) on machines
 * without a GPU, so that CI runs a `--target cuda` program through runtime/device/device_cuda.c itself:
 * its dlopen and entry points, device memory, copies, module loading, kernel launches with their
 * argument arrays, and its cuBLAS calls (the row-major -> column-major mapping, transposes, strided
 * batches).  Built twice (tests/cuda.cmake): as libcuda.so.1 (FAKE_DRIVER) and as libcublas.so.13.
 *
 * Device memory is host memory.  A launch runs the kernel's CPU lowering, which the program exports in
 * its netc_dev_kernels table (programs are linked with -rdynamic); the module's PTX must hold an
 * `.entry` of the launched name, and the launch shape must be the table's.  The GEMMs follow cuBLAS's
 * documented column-major definition, C = alpha op(A) op(B) + beta C, in double.  Nothing here runs
 * PTX: this checks the driver layer's calls, not the GPU code. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long CUdeviceptr;

#ifdef FAKE_DRIVER

/* runtime/device/device.h's NcDevKernel, as the program's table holds it */
typedef struct Kernel {
    const char *name;
    const char *ptx;
    void (*cpu)(float *const *params);
    int64_t grid, block;
    int nparams;
} Kernel;

typedef struct Module {
    char *ptx;
} Module;

static int fail(const char *what) {
    fprintf(stderr, "fake libcuda: %s\n", what);
    return 1; /* CUDA_ERROR_INVALID_VALUE */
}

int cuInit(unsigned flags) { return flags ? fail("cuInit: flags") : 0; }
int cuDeviceGetCount(int *n) { return *n = 1, 0; }
int cuDeviceGet(int *d, int i) { return i ? fail("cuDeviceGet: no such device") : (*d = 0, 0); }
int cuDeviceGetName(char *s, int len, int d) {
    (void)d;
    snprintf(s, (size_t)len, "fake GPU (tests/cuda/fake_cuda.c: CPU lowerings)");
    return 0;
}
int cuDevicePrimaryCtxRetain(void **ctx, int d) { return (void)d, *ctx = (void *)1, 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { return (void)d, 0; }
int cuCtxSetCurrent(void *ctx) { return ctx ? 0 : fail("cuCtxSetCurrent: no context"); }
int cuCtxSynchronize(void) { return 0; }
int cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    void *q = bytes ? calloc(1, bytes) : NULL;
    if (!q) return fail("cuMemAlloc: zero bytes or out of memory");
    *p = (CUdeviceptr)(uintptr_t)q;
    return 0;
}
int cuMemFree_v2(CUdeviceptr p) { return free((void *)(uintptr_t)p), 0; }
int cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) { return memcpy((void *)(uintptr_t)dst, src, n), 0; }
int cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { return memcpy(dst, (void *)(uintptr_t)src, n), 0; }
int cuModuleLoadData(void **mod, const void *image) {
    const char *ptx = image;
    if (!strstr(ptx, ".version") || !strstr(ptx, ".entry")) return fail("cuModuleLoadData: not PTX");
    Module *m = calloc(1, sizeof *m);
    m->ptx = strdup(ptx);
    *mod = m;
    return 0;
}
int cuModuleUnload(void *mod) {
    Module *m = mod;
    free(m->ptx);
    free(m);
    return 0;
}
int cuModuleGetFunction(void **fn, void *mod, const char *name) {
    const Module *m = mod;
    char entry[256];
    snprintf(entry, sizeof entry, ".entry %s(", name);
    if (!strstr(m->ptx, entry)) return fail("cuModuleGetFunction: the module has no such .entry");
    const Kernel *table = dlsym(RTLD_DEFAULT, "netc_dev_kernels");
    const int32_t *n = dlsym(RTLD_DEFAULT, "netc_dev_nkernels");
    if (!table || !n) return fail("cuModuleGetFunction: the program exports no netc_dev_kernels (-rdynamic)");
    for (int32_t i = 0; i < *n; i++)
        if (!strcmp(table[i].name, name)) return *fn = (void *)&table[i], 0;
    return fail("cuModuleGetFunction: no kernel of that name in the program");
}
int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned smem, void *stream, void **args, void **extra) {
    const Kernel *k = fn;
    if (gx != (unsigned)k->grid || bx != (unsigned)k->block || gy != 1 || gz != 1 || by != 1 || bz != 1 || extra)
        return fail("cuLaunchKernel: launch shape differs from the kernel's");
    (void)smem, (void)stream;
    float *params[16];
    for (int i = 0; i < k->nparams && i < 16; i++) params[i] = *(float **)args[i];
    k->cpu(params);
    return 0;
}
int cuGetErrorString(int r, const char **s) { return *s = r ? "fake error" : "no error", 0; }

#else /* cuBLAS */

int cublasCreate_v2(void **h) { return *h = (void *)1, 0; }
int cublasDestroy_v2(void *h) { return (void)h, 0; }

/* column-major, op 0 = N, 1 = T */
static void gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int p = 0; p < k; p++)
                acc += (double)(ta ? a[p + (size_t)i * lda] : a[i + (size_t)p * lda]) *
                       (tb ? b[j + (size_t)p * ldb] : b[p + (size_t)j * ldb]);
            float *cij = &c[i + (size_t)j * ldc];
            *cij = (float)(alpha * acc + (beta != 0 ? beta * *cij : 0));
        }
}

static int check(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 1 || n < 1 || k < 1 || lda < (ta ? k : m) || ldb < (tb ? n : k) ||
        ldc < m) {
        fprintf(stderr, "fake cuBLAS: bad GEMM arguments\n");
        return 7; /* CUBLAS_STATUS_INVALID_VALUE */
    }
    return 0;
}

int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                   const float *b, int ldb, const float *beta, float *c, int ldc) {
    (void)h;
    const int r = check(ta, tb, m, n, k, lda, ldb, ldc);
    if (!r) gemm(ta, tb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
    return r;
}

int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                              long long sa, const float *b, int ldb, long long sb, const float *beta, float *c, int ldc,
                              long long sc, int batch) {
    (void)h;
    const int r = check(ta, tb, m, n, k, lda, ldb, ldc);
    for (int q = 0; q < batch && !r; q++)
        gemm(ta, tb, m, n, k, *alpha, a + q * sa, lda, b + q * sb, ldb, *beta, c + q * sc, ldc);
    return r;
}

#endif
