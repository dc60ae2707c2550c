/* device_cudnn.c — cuDNN's convolutions through dlopen (device_cudnn.h): the
 * forward, and the training step's input and weight gradients.
 *
 * NCHW f32 tensors as netc's device arena holds them, cross-correlation (what
 * a conv2d layer computes), groups through cudnnSetConvolutionGroupCount.
 * Math: CUDNN_FMA_MATH (exact f32, no TF32 rounding, which cuDNN's default
 * math would allow on Ampere and later) unless the program asked for TF32;
 * with bf16 tensors (--precision bf16) cuDNN's default math (tensor cores),
 * f32 accumulation, y rounded to bf16 (its PSEUDO_BFLOAT16 configuration).
 * Each shape's algorithm is the fastest that cudnnFindConvolution*AlgorithmEx
 * measures within the fixed workspace, allocated once so that a captured
 * conv allocates nothing; for the gradients, the fastest deterministic one
 * (netc's training steps give the same bits run after run: no algorithm that
 * sums with atomics, as cuDNN's backward-filter algorithms 0 and 3 do).  No fused bias or activation: netc's epilogue
 * kernel follows (cudnnConvolutionBiasActivationForward has relu only, and its
 * rounding of z differs from netc's chain). */
#include "runtime/device/device_cudnn.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device/dl_sym.h"

#define WORKSPACE_BYTES ((size_t)256 << 20)
#define NALGOS          8 /* cuDNN 9: 8 forward, 6 backward-data and 7 backward-filter algorithms */

typedef void *Desc;
typedef struct Perf { /* cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: one layout */
    int algo, status;
    float time;
    size_t memory;
    int determinism, math, reserved[3];
} Perf;

typedef int (*Find)(void *, Desc, const void *, Desc, const void *, Desc, Desc, void *, int, int *, Perf *, void *,
                    size_t);
typedef int (*Run)(void *, const void *, Desc, const void *, Desc, const void *, Desc, int, void *, size_t,
                   const void *, Desc, void *);

/* A prepared shape. */
typedef struct Shape {
    NcDevConv c;
    Desc x, w, y, conv;
    int algo;
    size_t ws;
    struct Shape *next;
} Shape;

struct NcCudnn {
    NcDevice *dev;
    void *lib, *handle, *workspace;
    Shape *shapes;
    int (*cudnnCreate)(void **);
    int (*cudnnDestroy)(void *);
    int (*cudnnSetStream)(void *, void *);
    const char *(*cudnnGetErrorString)(int);
    int (*cudnnCreateTensorDescriptor)(Desc *);
    int (*cudnnSetTensor4dDescriptor)(Desc, int, int, int, int, int, int);
    int (*cudnnDestroyTensorDescriptor)(Desc);
    int (*cudnnCreateFilterDescriptor)(Desc *);
    int (*cudnnSetFilter4dDescriptor)(Desc, int, int, int, int, int, int);
    int (*cudnnDestroyFilterDescriptor)(Desc);
    int (*cudnnCreateConvolutionDescriptor)(Desc *);
    int (*cudnnSetConvolution2dDescriptor)(Desc, int, int, int, int, int, int, int, int);
    int (*cudnnSetConvolutionGroupCount)(Desc, int);
    int (*cudnnSetConvolutionMathType)(Desc, int);
    int (*cudnnDestroyConvolutionDescriptor)(Desc);
    int (*cudnnGetConvolution2dForwardOutputDim)(Desc, Desc, Desc, int *, int *, int *, int *);
    /* per NcDevConvKind, one signature: (handle, [alpha,] the two operands' descriptors and addresses, the conv,
     * [algorithm, workspace, beta,] the result's): cudnnConvolutionForward, ...BackwardData, ...BackwardFilter */
    Find find[3];
    Run run[3];
};

/* cudnn_graph.h's and cudnn_ops.h's values (checked against them: tests/cuda/abi/) */
enum {
    NCHW = 0,
    FLOAT = 0,
    BFLOAT16 = 9,
    CROSS_CORRELATION = 1,
    DEFAULT_MATH = 0,
    TENSOR_OP_MATH = 1,
    TENSOR_OP_MATH_CONVERT = 2,
    FMA_MATH = 3,
    DETERMINISTIC = 1
};

static const char *const find_name[3] = {"cudnnFindConvolutionForwardAlgorithmEx",
                                         "cudnnFindConvolutionBackwardDataAlgorithmEx",
                                         "cudnnFindConvolutionBackwardFilterAlgorithmEx"};
static const char *const run_name[3] = {"cudnnConvolutionForward", "cudnnConvolutionBackwardData",
                                        "cudnnConvolutionBackwardFilter"};
static const char *const kind_name[3] = {"forward", "backward-data", "backward-filter"};

static int fail(NcCudnn *cd, NcError *e, const char *what, int status) {
    const char *s = cd->cudnnGetErrorString ? cd->cudnnGetErrorString(status) : NULL;
    return nc_errorf(e, "cuDNN: %s failed: %s (status %d)", what, s ? s : "unknown", status);
}
#define DNN(cd, e, call)                                                                                               \
    do {                                                                                                               \
        const int r_ = (cd)->call;                                                                                     \
        if (r_) return fail((cd), (e), #call, r_);                                                                     \
    } while (0)

static void shape_free(NcCudnn *cd, Shape *s) {
    if (s->x) cd->cudnnDestroyTensorDescriptor(s->x);
    if (s->y) cd->cudnnDestroyTensorDescriptor(s->y);
    if (s->w) cd->cudnnDestroyFilterDescriptor(s->w);
    if (s->conv) cd->cudnnDestroyConvolutionDescriptor(s->conv);
    free(s);
}

void nc_cudnn_close(NcCudnn *cd) {
    if (!cd) return;
    for (Shape *s = cd->shapes, *next; s; s = next) next = s->next, shape_free(cd, s);
    if (cd->handle) cd->cudnnDestroy(cd->handle);
    nc_dev_free(cd->dev, cd->workspace);
    if (cd->lib) dlclose(cd->lib);
    free(cd);
}

#define SYM(f) {offsetof(NcCudnn, f), #f}
static const NcDlSym dnn_syms[] = {
    SYM(cudnnCreate),
    SYM(cudnnDestroy),
    SYM(cudnnSetStream),
    SYM(cudnnGetErrorString),
    SYM(cudnnCreateTensorDescriptor),
    SYM(cudnnSetTensor4dDescriptor),
    SYM(cudnnDestroyTensorDescriptor),
    SYM(cudnnCreateFilterDescriptor),
    SYM(cudnnSetFilter4dDescriptor),
    SYM(cudnnDestroyFilterDescriptor),
    SYM(cudnnCreateConvolutionDescriptor),
    SYM(cudnnSetConvolution2dDescriptor),
    SYM(cudnnSetConvolutionGroupCount),
    SYM(cudnnSetConvolutionMathType),
    SYM(cudnnDestroyConvolutionDescriptor),
    SYM(cudnnGetConvolution2dForwardOutputDim),
#undef SYM
    {offsetof(NcCudnn, find[0]), "cudnnFindConvolutionForwardAlgorithmEx"},
    {offsetof(NcCudnn, find[1]), "cudnnFindConvolutionBackwardDataAlgorithmEx"},
    {offsetof(NcCudnn, find[2]), "cudnnFindConvolutionBackwardFilterAlgorithmEx"},
    {offsetof(NcCudnn, run[0]), "cudnnConvolutionForward"},
    {offsetof(NcCudnn, run[1]), "cudnnConvolutionBackwardData"},
    {offsetof(NcCudnn, run[2]), "cudnnConvolutionBackwardFilter"},
};

/* The library and its entry points (no GPU needed yet). */
static int load(NcCudnn *cd, const char *name, NcError *e) {
    if (!(cd->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
        const char *why = dlerror();
        return nc_errorf(e, "cuDNN (%s) cannot be loaded (%s)", name, why ? why : "dlopen failed");
    }
    const char *missing = nc_dl_resolve(cd->lib, cd, dnn_syms, sizeof dnn_syms / sizeof dnn_syms[0]);
    return missing ? nc_errorf(e, "cuDNN (%s) has no %s", name, missing) : 0;
}

NcCudnn *nc_cudnn_open(NcDevice *d, void *stream, NcError *e) {
    NcCudnn *cd = nc_calloc(1, sizeof *cd);
    cd->dev = d;
    const char *name = getenv("NETC_CUDNN_LIB");
    if (!name || !*name) name = "libcudnn.so.9";
    if (load(cd, name, e)) goto fail;
    int r = cd->cudnnCreate(&cd->handle);
    if (r) {
        cd->handle = NULL;
        fail(cd, e, "cudnnCreate", r);
        goto fail;
    }
    if ((r = cd->cudnnSetStream(cd->handle, stream)) != 0) {
        fail(cd, e, "cudnnSetStream", r);
        goto fail;
    }
    if (nc_dev_alloc(d, &cd->workspace, WORKSPACE_BYTES, e)) goto fail;
    return cd;
fail:
    nc_cudnn_close(cd);
    return NULL;
}

static Shape *find(NcCudnn *cd, const NcDevConv *c) {
    for (Shape *s = cd->shapes; s; s = s->next)
        if (!memcmp(&s->c, c, sizeof *c)) return s;
    return NULL;
}

static int describe(NcCudnn *cd, Shape *s, NcError *e) {
    const NcDevConv *c = &s->c;
    if (c->n > 2147483647 || c->c * c->h * c->w > 2147483647 || c->k * c->p * c->q > 2147483647)
        return nc_errorf(e, "cuDNN: conv over 32-bit sizes");
    DNN(cd, e, cudnnCreateTensorDescriptor(&s->x));
    DNN(cd, e, cudnnCreateTensorDescriptor(&s->y));
    DNN(cd, e, cudnnCreateFilterDescriptor(&s->w));
    DNN(cd, e, cudnnCreateConvolutionDescriptor(&s->conv));
    const int type = c->bf16 ? BFLOAT16 : FLOAT; /* bf16 tensors, f32 compute: PSEUDO_BFLOAT16_CONFIG */
    DNN(cd, e, cudnnSetTensor4dDescriptor(s->x, NCHW, type, (int)c->n, (int)c->c, (int)c->h, (int)c->w));
    DNN(cd, e, cudnnSetFilter4dDescriptor(s->w, type, NCHW, (int)c->k, (int)(c->c / c->groups), (int)c->r, (int)c->s));
    DNN(cd, e,
        cudnnSetConvolution2dDescriptor(s->conv, c->pad[0], c->pad[1], c->stride[0], c->stride[1], c->dilation[0],
                                        c->dilation[1], CROSS_CORRELATION, FLOAT));
    DNN(cd, e, cudnnSetConvolutionGroupCount(s->conv, c->groups));
    DNN(cd, e, cudnnSetConvolutionMathType(s->conv, c->tf32 || c->bf16 ? DEFAULT_MATH : FMA_MATH));
    int n, k, p, q;
    DNN(cd, e, cudnnGetConvolution2dForwardOutputDim(s->conv, s->x, s->w, &n, &k, &p, &q));
    if (n != c->n || k != c->k || p != c->p || q != c->q)
        return nc_errorf(e, "cuDNN: the conv's output is %dx%dx%dx%d, netc planned %lldx%lldx%lldx%lld", n, k, p, q,
                         (long long)c->n, (long long)c->k, (long long)c->p, (long long)c->q);
    DNN(cd, e, cudnnSetTensor4dDescriptor(s->y, NCHW, type, n, k, p, q));
    return 0;
}

/* The call's operands in cuDNN's order for the conv's kind: the two it reads, then the one it writes (the
 * forward x, w -> y; backward-data w, dy -> dx; backward-filter x, dy -> dw). */
static void operands(const Shape *s, float *x, float *w, float *y, Desc d[3], void *p[3]) {
    static const int order[3][3] = {{0, 1, 2}, {1, 2, 0}, {0, 2, 1}}; /* indices into (x, w, y) */
    const Desc all[3] = {s->x, s->w, s->y};
    void *ptr[3] = {x, w, y};
    for (int i = 0; i < 3; i++) d[i] = all[order[s->c.kind][i]], p[i] = ptr[order[s->c.kind][i]];
}

int nc_cudnn_prepare(NcCudnn *cd, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    if (find(cd, c)) return 0;
    if (c->kind < NC_DEV_CONV_FWD || c->kind > NC_DEV_CONV_BWD_FILTER)
        return nc_errorf(e, "cuDNN: a conv of kind %d (internal error)", c->kind);
    Shape *s = nc_calloc(1, sizeof *s);
    s->c = *c;
    Perf perf[NALGOS];
    int found = 0;
    if (describe(cd, s, e)) goto fail;
    Desc d[3];
    void *p[3];
    operands(s, x, w, y, d, p);
    const int r = cd->find[c->kind](cd->handle, d[0], p[0], d[1], p[1], s->conv, d[2], p[2], NALGOS, &found, perf,
                                    cd->workspace, WORKSPACE_BYTES);
    if (r) {
        fail(cd, e, find_name[c->kind], r);
        goto fail;
    }
    /* fastest first; the first that ran within the workspace, for f32 without tensor-op math (TF32), and for a
     * gradient deterministic */
    int i = 0;
    while (i < found &&
           (perf[i].status || perf[i].memory > WORKSPACE_BYTES ||
            (!c->tf32 && !c->bf16 && (perf[i].math == TENSOR_OP_MATH || perf[i].math == TENSOR_OP_MATH_CONVERT)) ||
            (c->kind != NC_DEV_CONV_FWD && perf[i].determinism != DETERMINISTIC)))
        i++;
    if (i == found) {
        nc_errorf(e, "cuDNN: no %s%s algorithm for this conv within %zu MB of workspace",
                  c->kind ? "deterministic " : "", kind_name[c->kind], WORKSPACE_BYTES >> 20);
        goto fail;
    }
    s->algo = perf[i].algo, s->ws = perf[i].memory;
    /* TF32 or bf16: the math the algorithm was timed with (NVIDIA's advice); f32 keeps FMA */
    if ((c->tf32 || c->bf16) && cd->cudnnSetConvolutionMathType(s->conv, perf[i].math)) {
        nc_errorf(e, "cuDNN: cudnnSetConvolutionMathType(%d) failed", perf[i].math);
        goto fail;
    }
    s->next = cd->shapes, cd->shapes = s;
    return 0;
fail:
    shape_free(cd, s);
    return -1;
}

int nc_cudnn_conv(NcCudnn *cd, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    const Shape *s = find(cd, c);
    if (!s) return nc_errorf(e, "cuDNN: a conv run before it was prepared (internal error)");
    const float one = 1, zero = 0;
    Desc d[3];
    void *p[3];
    operands(s, x, w, y, d, p);
    const int r = cd->run[c->kind](cd->handle, &one, d[0], p[0], d[1], p[1], s->conv, s->algo, cd->workspace, s->ws,
                                   &zero, d[2], p[2]);
    return r ? fail(cd, e, run_name[c->kind], r) : 0;
}
