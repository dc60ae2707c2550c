/* device_cuda.c — the CUDA driver API through dlopen("libcuda.so.1").
 *
 * netc links nothing of CUDA: the driver is looked up at run time, so the
 * compiler and its programs build and run on machines without it, and
 * opening this device there fails with a message that begins "cannot use a
 * GPU: " and says why (no driver library, cuInit's error, no device).
 * Kernels are loaded once each and cached: from the cubin ptxas made when
 * the program was compiled, where the GPU is of that architecture, else from
 * the PTX (the driver JIT-compiles it for the GPU present).  All work goes to one stream of the
 * device's own (a blocking one: the synchronous copies on the legacy stream
 * order themselves with it), so that it can be captured as a CUDA graph; a
 * second one carries async copies from pinned memory (overlap, device.h), where
 * the driver has what that needs. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device/device.h"
#include "runtime/device/device_cublaslt.h"
#include "runtime/device/device_cudnn.h"
#include "runtime/device/dl_sym.h"

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUgraph;
typedef void *CUgraphExec;
typedef unsigned long long CUdeviceptr;

/* cuda.h's, cublas_api.h's and library_types.h's values (checked against them: tests/cuda/abi/) */
enum {
    STREAM_DEFAULT = 0,       /* CU_STREAM_DEFAULT: blocking, ordered with the legacy stream */
    CAPTURE_MODE_GLOBAL = 0,  /* CU_STREAM_CAPTURE_MODE_GLOBAL */
    EVENT_DEFAULT = 0,        /* CU_EVENT_DEFAULT */
    EVENT_BLOCKING_SYNC = 1,  /* CU_EVENT_BLOCKING_SYNC */
    EVENT_DISABLE_TIMING = 2, /* CU_EVENT_DISABLE_TIMING */
    EVENT_WAIT_DEFAULT = 0,   /* CU_EVENT_WAIT_DEFAULT */
    OP_N = 0,                 /* CUBLAS_OP_N */
    OP_T = 1,                 /* CUBLAS_OP_T */
    DEFAULT_MATH = 0,         /* CUBLAS_DEFAULT_MATH */
    TF32_TENSOR_OP_MATH = 3,  /* CUBLAS_TF32_TENSOR_OP_MATH */
    R_32F = 0,                /* CUDA_R_32F */
    R_16BF = 14,              /* CUDA_R_16BF */
    COMPUTE_32F = 68,         /* CUBLAS_COMPUTE_32F */
    GEMM_DEFAULT = -1,        /* CUBLAS_GEMM_DEFAULT */
};

/* A loaded kernel, keyed by copies of its name and PTX text (a caller's
 * buffers may be freed and reused for another kernel at the same address). */
typedef struct Loaded {
    char *ptx, *name;
    CUmodule mod;
    CUfunction fn;
    struct Loaded *next;
} Loaded;

typedef int (*CublasSgemm)(void *, int, int, int, int, int, const float *, const float *, int, const float *, int,
                           const float *, float *, int);
typedef int (*CublasSgemmStrided)(void *, int, int, int, int, int, const float *, const float *, int, long long,
                                  const float *, int, long long, const float *, float *, int, long long, int);

/* cublasGemmEx / cublasGemmStridedBatchedEx, for bf16 operands (--precision bf16) */
typedef int (*CublasGemmEx)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int,
                            int, const void *, void *, int, int, int, int);
typedef int (*CublasGemmStridedEx)(void *, int, int, int, int, int, const void *, const void *, int, int, long long,
                                   const void *, int, int, long long, const void *, void *, int, int, long long, int,
                                   int, int);

typedef struct Cuda {
    void *lib, *blas_lib, *blas; /* the driver; cuBLAS and its handle (at the first GEMM) */
    CublasGemmEx cublasGemmEx;   /* NULL where this cuBLAS lacks them: a bf16 GEMM then fails saying so */
    CublasGemmStridedEx cublasGemmStridedBatchedEx;
    CublasSgemm cublasSgemm;
    CublasSgemmStrided cublasSgemmStridedBatched;
    int (*cublasCreate)(void **);
    int (*cublasDestroy)(void *);
    int (*cublasSetMathMode)(void *, int);
    int (*cublasSetStream)(void *, CUstream);
    int (*cublasSetWorkspace)(void *, void *, size_t);
    int math;              /* cuBLAS's math mode now: 0 default (f32), 3 TF32 tensor ops */
    CUdeviceptr workspace; /* cuBLAS's, fixed: no allocation inside a graph's capture */
    NcCudnn *dnn;          /* cuDNN, opened at the first conv question; NULL where it could not be */
    int dnn_tried;         /* ... and the reason kept, asked once */
    char dnn_why[256];
    NcCublasLt *lt; /* cuBLASLt, opened at the first GEMM with an epilogue; NULL where it could not be */
    int lt_tried;
    void *ev[2]; /* the timer's events (NULL where the driver lacks them: the host's clock) */
    CUdevice dev;
    CUcontext ctx;
    CUstream stream;
    int capturing;
    Loaded *loaded;
    int cubin_refused;        /* a cubin did not load (a GPU of another architecture): PTX from then on */
    int from_cubin, from_ptx; /* kernels loaded each way (NETC_CUDA_VERBOSE says at close) */
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDeviceGetCount)(int *);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDeviceGetName)(char *, int, CUdevice);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
    CUresult (*cuCtxSetCurrent)(CUcontext);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
    CUresult (*cuMemFree)(CUdeviceptr);
    CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*cuModuleLoadData)(CUmodule *, const void *);
    CUresult (*cuModuleUnload)(CUmodule);
    CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                               CUstream, void **, void **);
    CUresult (*cuGetErrorString)(CUresult, const char **);
    CUresult (*cuStreamCreate)(CUstream *, unsigned);
    CUresult (*cuStreamDestroy)(CUstream);
    CUresult (*cuStreamBeginCapture)(CUstream, int);
    CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
    CUresult (*cuGraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
    CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
    CUresult (*cuGraphExecDestroy)(CUgraphExec);
    CUresult (*cuGraphDestroy)(CUgraph);
    CUresult (*cuEventCreate)(void **, unsigned); /* optional: timing convs' forms */
    CUresult (*cuEventRecord)(void *, CUstream);
    CUresult (*cuEventSynchronize)(void *);
    CUresult (*cuEventElapsedTime)(float *, void *, void *);
    CUresult (*cuEventDestroy)(void *);
    CUstream copy; /* overlap: the copy stream (NULL: no streams), and what it needs (optional, all or none) */
    CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
    CUresult (*cuMemFreeHost)(void *);
    CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*cuStreamWaitEvent)(CUstream, void *, unsigned);
} Cuda;

static int cu_fail(Cuda *c, NcError *e, const char *what, CUresult r) {
    const char *s = NULL;
    if (c->cuGetErrorString) c->cuGetErrorString(r, &s);
    return nc_errorf(e, "CUDA: %s failed: %s (error %d)", what, s ? s : "unknown error", r);
}
#define CU(c, e, call)                                                                                                 \
    do {                                                                                                               \
        CUresult r_ = (c)->call;                                                                                       \
        if (r_) return cu_fail((c), (e), #call, r_);                                                                   \
    } while (0)

static Cuda *cuda(NcDevice *d) { return d->impl; }

static void cuda_close(NcDevice *d) {
    Cuda *c = cuda(d);
    if (getenv("NETC_CUDA_VERBOSE"))
        fprintf(stderr, "cuda: %d kernels loaded from cubins, %d compiled from PTX by the driver\n", c->from_cubin,
                c->from_ptx);
    for (Loaded *l = c->loaded, *next; l; l = next) {
        next = l->next;
        c->cuModuleUnload(l->mod);
        free(l->ptx), free(l->name), free(l);
    }
    nc_cudnn_close(c->dnn);
    if (c->lt && getenv("NETC_CUDA_VERBOSE")) {
        int64_t fused, refused;
        nc_cublaslt_counts(c->lt, &fused, &refused);
        fprintf(stderr, "cuda: %lld GEMMs with their epilogue through cuBLASLt, %lld refused by it\n", (long long)fused,
                (long long)refused);
    }
    nc_cublaslt_close(c->lt);
    for (int i = 0; i < 2; i++)
        if (c->ev[i]) c->cuEventDestroy(c->ev[i]);
    if (c->blas) c->cublasDestroy(c->blas);
    if (c->blas_lib) dlclose(c->blas_lib);
    if (c->workspace) c->cuMemFree(c->workspace);
    if (c->copy) c->cuStreamDestroy(c->copy);
    if (c->stream) c->cuStreamDestroy(c->stream);
    if (c->ctx) c->cuDevicePrimaryCtxRelease(c->dev);
    if (c->lib) dlclose(c->lib);
    free(c);
    free(d);
}

static int cuda_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    CUdeviceptr q = 0;
    CU(cuda(d), e, cuMemAlloc(&q, bytes ? bytes : 1));
    *p = (void *)(uintptr_t)q;
    return 0;
}

static void cuda_free(NcDevice *d, void *p) { cuda(d)->cuMemFree((CUdeviceptr)(uintptr_t)p); }

static int cuda_upload(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    CU(cuda(d), e, cuMemcpyHtoD((CUdeviceptr)(uintptr_t)dst, src, bytes));
    return 0;
}

static int cuda_download(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    CU(cuda(d), e, cuMemcpyDtoH(dst, (CUdeviceptr)(uintptr_t)src, bytes));
    return 0;
}

static int load(Cuda *c, const NcDevKernel *k, CUfunction *fn, NcError *e) {
    for (Loaded *l = c->loaded; l; l = l->next)
        if (!strcmp(l->name, k->name) && !strcmp(l->ptx, k->ptx)) return *fn = l->fn, 0;
    Loaded *l = nc_calloc(1, sizeof *l);
    /* the cubin where the GPU takes it (no JIT at the first run), else the driver compiles the PTX; a cubin
     * is for one compute capability, so the first refusal sends every later kernel to the PTX directly */
    CUresult r = 1;
    if (k->cubin && !c->cubin_refused) {
        r = c->cuModuleLoadData(&l->mod, k->cubin);
        if (r)
            c->cubin_refused = 1;
        else
            c->from_cubin++;
    }
    if (r && !(r = c->cuModuleLoadData(&l->mod, k->ptx))) c->from_ptx++;
    if (!r && (r = c->cuModuleGetFunction(&l->fn, l->mod, k->name)) != 0) c->cuModuleUnload(l->mod);
    if (r) {
        free(l);
        return cu_fail(c, e, k->name, r);
    }
    l->ptx = nc_strdup(k->ptx), l->name = nc_strdup(k->name), l->next = c->loaded, c->loaded = l;
    *fn = l->fn;
    return 0;
}

static int cuda_launch(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e) {
    Cuda *c = cuda(d);
    if (!k->ptx) return nc_errorf(e, "kernel %s has no PTX to run on the GPU", k->name);
    CUfunction fn = NULL;
    if (load(c, k, &fn, e)) return -1;
    void *args[16];
    if (k->nparams > 16) return nc_errorf(e, "kernel %s: more than 16 parameters", k->name);
    for (int i = 0; i < k->nparams; i++) args[i] = (void *)&params[i];
    CU(c, e, cuLaunchKernel(fn, (unsigned)k->grid, 1, 1, (unsigned)k->block, 1, 1, 0, c->stream, args, NULL));
    return 0;
}

/* cuBLAS's entry points; the bf16 pair optional (a bf16 GEMM fails saying so where this cuBLAS lacks them) */
#define SYM(field, name) {offsetof(Cuda, field), name}
static const NcDlSym cublas_syms[] = {
    SYM(cublasCreate, "cublasCreate_v2"),
    SYM(cublasDestroy, "cublasDestroy_v2"),
    SYM(cublasSetMathMode, "cublasSetMathMode"),
    SYM(cublasSetStream, "cublasSetStream_v2"),
    SYM(cublasSetWorkspace, "cublasSetWorkspace_v2"),
    SYM(cublasSgemm, "cublasSgemm_v2"),
    SYM(cublasSgemmStridedBatched, "cublasSgemmStridedBatched"),
};
static const NcDlSym cublas_bf16_syms[] = {
    SYM(cublasGemmEx, "cublasGemmEx"),
    SYM(cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx"),
};
#define NSYMS(t) (sizeof t / sizeof t[0])

/* The first of names that loads, and its entry points. */
static int cublas_load(Cuda *c, const char *const *names, size_t n, NcError *e) {
    for (size_t i = 0; i < n && !c->blas_lib; i++) c->blas_lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!c->blas_lib) return nc_errorf(e, "GEMM on the GPU needs cuBLAS: libcublas.so.13 / .12 not found");
    const char *missing = nc_dl_resolve(c->blas_lib, c, cublas_syms, NSYMS(cublas_syms));
    if (missing) {
        dlclose(c->blas_lib), c->blas_lib = NULL;
        return nc_errorf(e, "cuBLAS: its library has no %s", missing);
    }
    if (nc_dl_resolve(c->blas_lib, c, cublas_bf16_syms, NSYMS(cublas_bf16_syms)))
        c->cublasGemmEx = NULL, c->cublasGemmStridedBatchedEx = NULL;
    return 0;
}

/* cuBLAS, opened at the first GEMM (a stand-in until cuBLASLt with its
 * epilogues): row-major C = A . B is column-major C^T = B^T . A^T, so B and A
 * go in swapped, untransposed.  cuBLAS's default math mode keeps f32 (no TF32). */
static int cublas_open(Cuda *c, NcError *e) {
    if (c->blas) return 0;
    const char *names[] = {"libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
                           "/usr/local/cuda/lib64/libcublas.so.12"};
    if (!c->blas_lib && cublas_load(c, names, NSYMS(names), e)) return -1;
    if (c->capturing) return nc_errorf(e, "cuBLAS: first used inside a graph's capture (internal error)");
    int r = c->cublasCreate(&c->blas);
    if (r) return c->blas = NULL, nc_errorf(e, "cuBLAS: cublasCreate failed (status %d)", r);
    /* its workspace given, so that a captured GEMM allocates nothing (NVIDIA's advice for graphs) */
    const size_t ws = (size_t)32 << 20;
    CU(c, e, cuMemAlloc(&c->workspace, ws));
    if ((r = c->cublasSetStream(c->blas, c->stream)) != 0 ||
        (r = c->cublasSetWorkspace(c->blas, (void *)(uintptr_t)c->workspace, ws)))
        return nc_errorf(e, "cuBLAS: setting its stream and workspace failed (status %d)", r);
    return 0;
}

/* bf16 operands, f32 accumulation and output: cublasGemmEx with A and B
 * CUDA_R_16BF, C CUDA_R_32F, CUBLAS_COMPUTE_32F, the default algorithm
 * (tensor cores where they apply); operands as cuda_gemm's. */
static int gemm_bf16(Cuda *cu, const NcDevGemm *g, const void *a, const void *b, float *c, const float *beta,
                     NcError *e) {
    if (!cu->cublasGemmEx || !cu->cublasGemmStridedBatchedEx)
        return nc_errorf(e, "cuBLAS: this libcublas has no cublasGemmEx / cublasGemmStridedBatchedEx (needed by "
                            "--precision bf16)");
    const float one = 1;
    const int m = (int)g->m, n = (int)g->n, k = (int)g->k, tb = g->trans_b ? OP_T : OP_N;
    const int r = g->batch == 1
                      ? cu->cublasGemmEx(cu->blas, tb, OP_N, n, m, k, &one, b, R_16BF, tb ? k : n, a, R_16BF, k, beta,
                                         c, R_32F, n, COMPUTE_32F, GEMM_DEFAULT)
                      : cu->cublasGemmStridedBatchedEx(cu->blas, tb, OP_N, n, m, k, &one, b, R_16BF, tb ? k : n,
                                                       g->stride_b, a, R_16BF, k, g->stride_a, beta, c, R_32F, n,
                                                       g->stride_c, (int)g->batch, COMPUTE_32F, GEMM_DEFAULT);
    return r ? nc_errorf(e, "cuBLAS: cublasGemmEx (bf16) failed (status %d)", r) : 0;
}

/* Row-major C = A . op(B) is column-major C^T = op(B)^T . A^T: B first.  B
 * stored [k, n] is column-major n x k with leading dimension n (no
 * transpose); stored [n, k] (trans_b) it is k x n with leading dimension k,
 * transposed. */
static int cuda_gemm(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, NcError *e) {
    Cuda *cu = cuda(d);
    if (cublas_open(cu, e)) return -1;
    if (g->m > 2147483647 || g->n > 2147483647 || g->k > 2147483647 || g->batch > 2147483647)
        return nc_errorf(e, "cuBLAS: GEMM %lldx%lldx%lld is over its 32-bit sizes", (long long)g->m, (long long)g->n,
                         (long long)g->k);
    const float one = 1, zero = 0, *beta = g->accumulate ? &one : &zero;
    const int math = g->tf32 ? TF32_TENSOR_OP_MATH : DEFAULT_MATH;
    if (math != cu->math) {
        const int r = cu->cublasSetMathMode(cu->blas, math);
        if (r) return nc_errorf(e, "cuBLAS: cublasSetMathMode(%d) failed (status %d)", math, r);
        cu->math = math;
    }
    const int m = (int)g->m, n = (int)g->n, k = (int)g->k, tb = g->trans_b ? OP_T : OP_N;
    if (g->bf16) return gemm_bf16(cu, g, a, b, c, beta, e);
    const int r = g->batch == 1
                      ? cu->cublasSgemm(cu->blas, tb, OP_N, n, m, k, &one, b, tb ? k : n, a, k, beta, c, n)
                      : cu->cublasSgemmStridedBatched(cu->blas, tb, OP_N, n, m, k, &one, b, tb ? k : n, g->stride_b, a,
                                                      k, g->stride_a, beta, c, n, g->stride_c, (int)g->batch);
    return r ? nc_errorf(e, "cuBLAS: cublasSgemm failed (status %d)", r) : 0;
}

/* A GEMM with its bias (+ relu) epilogue through cuBLASLt (device_cublaslt.c), opened at the first (with cuBLAS,
 * whose plain GEMM the unfused form needs, so that neither opens inside a capture); without it, 1: the step runs
 * the plain GEMM and its elementwise kernel, after a one-line notice. */
static int cuda_gemm_epi(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                         NcError *e) {
    Cuda *cu = cuda(d);
    if (cublas_open(cu, e)) return -1;
    if (!cu->lt_tried) {
        NcError why;
        cu->lt_tried = 1;
        if (cu->capturing) return nc_errorf(e, "cuBLASLt: first used inside a graph's capture (internal error)");
        if (!(cu->lt = nc_cublaslt_open(d, cu->stream, &why)))
            fprintf(stderr, "cuda: %s: GEMM epilogues run as separate kernels\n", why.msg);
    }
    return cu->lt ? nc_cublaslt_gemm(cu->lt, g, a, b, c, bias, cu->capturing, e) : 1;
}

static int cuda_sync(NcDevice *d, NcError *e) {
    CU(cuda(d), e, cuCtxSynchronize());
    return 0;
}

/* Capture in the global mode: any unsafe call (an allocation, a synchronous
 * copy) while capturing fails rather than being silently left out. */
static int cuda_graph_begin(NcDevice *d, NcError *e) {
    Cuda *c = cuda(d);
    CU(c, e, cuStreamBeginCapture(c->stream, CAPTURE_MODE_GLOBAL));
    c->capturing = 1;
    return 0;
}

static int cuda_graph_end(NcDevice *d, void **graph, NcError *e) {
    Cuda *c = cuda(d);
    CUgraph g = NULL;
    CUgraphExec x = NULL;
    c->capturing = 0;
    CU(c, e, cuStreamEndCapture(c->stream, &g));
    const CUresult r = c->cuGraphInstantiate(&x, g, 0);
    c->cuGraphDestroy(g);
    if (r) return cu_fail(c, e, "cuGraphInstantiate", r);
    *graph = x;
    return 0;
}

static int cuda_graph_launch(NcDevice *d, void *graph, NcError *e) {
    Cuda *c = cuda(d);
    CU(c, e, cuGraphLaunch(graph, c->stream));
    return 0;
}

static void cuda_graph_free(NcDevice *d, void *graph) { cuda(d)->cuGraphExecDestroy(graph); }

/* cuDNN (device_cudnn.h), loaded at the first question; where it cannot be, the reason is the answer every time. */
static int cuda_conv_available(NcDevice *d, NcError *e) {
    Cuda *c = cuda(d);
    if (!c->dnn_tried) {
        NcError why;
        c->dnn_tried = 1;
        if (c->capturing) return nc_errorf(e, "cuDNN: first asked for inside a graph's capture (internal error)");
        if (!(c->dnn = nc_cudnn_open(d, c->stream, &why))) snprintf(c->dnn_why, sizeof c->dnn_why, "%.250s", why.msg);
    }
    return c->dnn ? 0 : nc_errorf(e, "%s", c->dnn_why);
}

static int cuda_conv_prepare(NcDevice *d, const NcDevConv *cv, float *x, float *w, float *y, NcError *e) {
    if (cuda_conv_available(d, e)) return -1;
    if (cuda(d)->capturing) return nc_errorf(e, "cuDNN: a conv prepared inside a graph's capture (internal error)");
    return nc_cudnn_prepare(cuda(d)->dnn, cv, x, w, y, e);
}

static int cuda_conv(NcDevice *d, const NcDevConv *cv, float *x, float *w, float *y, NcError *e) {
    if (cuda_conv_available(d, e)) return -1;
    return nc_cudnn_conv(cuda(d)->dnn, cv, x, w, y, e);
}

/* The GPU's own clock: events recorded on the stream around the work. */
static int cuda_timer_start(NcDevice *d, NcError *e) {
    Cuda *c = cuda(d);
    if (!c->cuEventCreate) { /* a driver without events: the host's clock around a synchronisation */
        if (cuda_sync(d, e)) return -1;
        d->timer_t0 = nc_now();
        return 0;
    }
    for (int i = 0; i < 2; i++)
        if (!c->ev[i]) CU(c, e, cuEventCreate(&c->ev[i], EVENT_DEFAULT));
    CU(c, e, cuEventRecord(c->ev[0], c->stream));
    return 0;
}

static int cuda_timer_stop(NcDevice *d, double *ms, NcError *e) {
    Cuda *c = cuda(d);
    if (!c->cuEventCreate) {
        if (cuda_sync(d, e)) return -1;
        *ms = (nc_now() - d->timer_t0) * 1e3;
        return 0;
    }
    float t = 0;
    CU(c, e, cuEventRecord(c->ev[1], c->stream));
    CU(c, e, cuEventSynchronize(c->ev[1]));
    CU(c, e, cuEventElapsedTime(&t, c->ev[0], c->ev[1]));
    *ms = t;
    return 0;
}

/* Overlap (device.h): pinned memory, async copies on either stream, events without timing that the host
 * waits for by blocking (not spinning: the decoding threads want the cores). */
static int cuda_host_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    CU(cuda(d), e, cuMemHostAlloc(p, bytes ? bytes : 1, 0));
    return 0;
}
static void cuda_host_free(NcDevice *d, void *p) { cuda(d)->cuMemFreeHost(p); }
static CUstream on(Cuda *c, int stream) { return stream == NC_DEV_COPY ? c->copy : c->stream; }
static int cuda_copy_async(NcDevice *d, int stream, int dir, void *dst, const void *src, size_t bytes, NcError *e) {
    Cuda *c = cuda(d);
    const CUdeviceptr to = (CUdeviceptr)(uintptr_t)dst, from = (CUdeviceptr)(uintptr_t)src;
    if (dir == NC_DEV_H2D) CU(c, e, cuMemcpyHtoDAsync(to, src, bytes, on(c, stream)));
    if (dir == NC_DEV_D2H) CU(c, e, cuMemcpyDtoHAsync(dst, from, bytes, on(c, stream)));
    if (dir == NC_DEV_D2D) CU(c, e, cuMemcpyDtoDAsync(to, from, bytes, on(c, stream)));
    return 0;
}
static int cuda_event_create(NcDevice *d, void **ev, NcError *e) {
    CU(cuda(d), e, cuEventCreate(ev, EVENT_BLOCKING_SYNC | EVENT_DISABLE_TIMING));
    return 0;
}
static void cuda_event_free(NcDevice *d, void *ev) { cuda(d)->cuEventDestroy(ev); }
static int cuda_event_record(NcDevice *d, void *ev, int stream, NcError *e) {
    Cuda *c = cuda(d);
    CU(c, e, cuEventRecord(ev, on(c, stream)));
    return 0;
}
static int cuda_stream_wait(NcDevice *d, int stream, void *ev, NcError *e) {
    Cuda *c = cuda(d);
    CU(c, e, cuStreamWaitEvent(on(c, stream), ev, EVENT_WAIT_DEFAULT));
    return 0;
}
static int cuda_event_sync(NcDevice *d, void *ev, NcError *e) {
    CU(cuda(d), e, cuEventSynchronize(ev));
    return 0;
}

static const NcDevOps cuda_ops = {.close = cuda_close,
                                  .alloc = cuda_alloc,
                                  .free = cuda_free,
                                  .upload = cuda_upload,
                                  .download = cuda_download,
                                  .launch = cuda_launch,
                                  .gemm = cuda_gemm,
                                  .sync = cuda_sync,
                                  .graph_begin = cuda_graph_begin,
                                  .graph_end = cuda_graph_end,
                                  .graph_launch = cuda_graph_launch,
                                  .graph_free = cuda_graph_free,
                                  .conv_available = cuda_conv_available,
                                  .conv_prepare = cuda_conv_prepare,
                                  .conv = cuda_conv,
                                  .timer_start = cuda_timer_start,
                                  .timer_stop = cuda_timer_stop,
                                  .gemm_epi = cuda_gemm_epi};

/* The driver's entry points: those every use needs, the events (timing convs' forms: all or none, a stand-in
 * driver without them times by the host's clock), and the overlap's (pinned memory, async copies, stream waits:
 * all or none, with the events). */
static const NcDlSym driver_syms[] = {
    SYM(cuInit, "cuInit"),
    SYM(cuDeviceGetCount, "cuDeviceGetCount"),
    SYM(cuDeviceGet, "cuDeviceGet"),
    SYM(cuDeviceGetName, "cuDeviceGetName"),
    SYM(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
    SYM(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
    SYM(cuCtxSetCurrent, "cuCtxSetCurrent"),
    SYM(cuCtxSynchronize, "cuCtxSynchronize"),
    SYM(cuMemAlloc, "cuMemAlloc_v2"),
    SYM(cuMemFree, "cuMemFree_v2"),
    SYM(cuMemcpyHtoD, "cuMemcpyHtoD_v2"),
    SYM(cuMemcpyDtoH, "cuMemcpyDtoH_v2"),
    SYM(cuModuleLoadData, "cuModuleLoadData"),
    SYM(cuModuleUnload, "cuModuleUnload"),
    SYM(cuModuleGetFunction, "cuModuleGetFunction"),
    SYM(cuLaunchKernel, "cuLaunchKernel"),
    SYM(cuGetErrorString, "cuGetErrorString"),
    SYM(cuStreamCreate, "cuStreamCreate"),
    SYM(cuStreamDestroy, "cuStreamDestroy_v2"),
    SYM(cuStreamBeginCapture, "cuStreamBeginCapture_v2"),
    SYM(cuStreamEndCapture, "cuStreamEndCapture"),
    SYM(cuGraphInstantiate, "cuGraphInstantiateWithFlags"),
    SYM(cuGraphLaunch, "cuGraphLaunch"),
    SYM(cuGraphExecDestroy, "cuGraphExecDestroy"),
    SYM(cuGraphDestroy, "cuGraphDestroy"),
};
static const NcDlSym event_syms[] = {
    SYM(cuEventCreate, "cuEventCreate"),
    SYM(cuEventRecord, "cuEventRecord"),
    SYM(cuEventSynchronize, "cuEventSynchronize"),
    SYM(cuEventDestroy, "cuEventDestroy_v2"),
    SYM(cuEventElapsedTime, "cuEventElapsedTime_v2"), /* last: elapsed_v1 below */
};
/* cuda.h names cuEventElapsedTime_v2 since CUDA 12.8 (the same signature); a driver older has only the first */
static const NcDlSym elapsed_v1[] = {SYM(cuEventElapsedTime, "cuEventElapsedTime")};
static const NcDlSym overlap_syms[] = {
    SYM(cuMemHostAlloc, "cuMemHostAlloc"),          SYM(cuMemFreeHost, "cuMemFreeHost"),
    SYM(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"), SYM(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
    SYM(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"), SYM(cuStreamWaitEvent, "cuStreamWaitEvent"),
};
#undef SYM

/* An optional set: all of t's entry points, or none (0). */
static int resolve_all_or_none(Cuda *c, const NcDlSym *t, size_t n) {
    const char *missing = nc_dl_resolve(c->lib, c, t, n);
    if (missing == event_syms[NSYMS(event_syms) - 1].name) missing = nc_dl_resolve(c->lib, c, elapsed_v1, 1);
    if (!missing) return 1;
    for (size_t i = 0; i < n; i++) memset((char *)c + t[i].offset, 0, sizeof(void (*)(void)));
    return 0;
}

static int resolve(Cuda *c, NcError *e) {
    const char *missing = nc_dl_resolve(c->lib, c, driver_syms, NSYMS(driver_syms));
    if (missing)
        return nc_errorf(e, "cannot use a GPU: the CUDA driver (libcuda.so.1) has no %s: driver too old?", missing);
    if (resolve_all_or_none(c, event_syms, NSYMS(event_syms)))
        resolve_all_or_none(c, overlap_syms, NSYMS(overlap_syms));
    return 0;
}

NcDevice *nc_dev_open_cuda(NcError *e) {
    Cuda *c = nc_calloc(1, sizeof *c);
    NcDevice *d = nc_calloc(1, sizeof *d);
    d->ops = &cuda_ops, d->impl = c;
    int n = 0;
    CUresult r;
    c->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        const char *why = dlerror();
        nc_errorf(e, "cannot use a GPU: NVIDIA's driver library libcuda.so.1 is not installed here (%s)",
                  why ? why : "dlopen failed");
        goto fail;
    }
    if (resolve(c, e)) goto fail;
    if ((r = c->cuInit(0)) != 0) {
        const char *s = NULL;
        c->cuGetErrorString(r, &s);
        nc_errorf(e, "cannot use a GPU: cuInit failed: %s (error %d): no GPU, or a driver that does not match it",
                  s ? s : "unknown error", r);
        goto fail;
    }
    if ((r = c->cuDeviceGetCount(&n)) != 0 || n < 1) {
        nc_errorf(e, "cannot use a GPU: the CUDA driver sees no GPU");
        goto fail;
    }
    if ((r = c->cuDeviceGet(&c->dev, 0)) != 0 || (r = c->cuDeviceGetName(d->name, sizeof d->name, c->dev)) != 0 ||
        (r = c->cuDevicePrimaryCtxRetain(&c->ctx, c->dev)) != 0 || (r = c->cuCtxSetCurrent(c->ctx)) != 0 ||
        (r = c->cuStreamCreate(&c->stream, STREAM_DEFAULT)) != 0) {
        cu_fail(c, e, "opening GPU 0", r);
        goto fail;
    }
    /* overlap where the driver has it: the copy stream, and the table with the stream entries */
    static NcDevOps with_streams;
    if (c->cuStreamWaitEvent && !c->cuStreamCreate(&c->copy, STREAM_DEFAULT)) {
        with_streams = cuda_ops;
        with_streams.host_alloc = cuda_host_alloc, with_streams.host_free = cuda_host_free;
        with_streams.copy_async = cuda_copy_async, with_streams.event_create = cuda_event_create;
        with_streams.event_free = cuda_event_free, with_streams.event_record = cuda_event_record;
        with_streams.stream_wait = cuda_stream_wait, with_streams.event_sync = cuda_event_sync;
        d->ops = &with_streams;
    }
    /* NETC_CUDA_JIT=1: the PTX even where a cubin would load (to compare the two, or to rule the cubins out) */
    c->cubin_refused = getenv("NETC_CUDA_JIT") && !strcmp(getenv("NETC_CUDA_JIT"), "1");
    return d;
fail:
    cuda_close(d);
    return NULL;
}
