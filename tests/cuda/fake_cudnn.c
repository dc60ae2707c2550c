/* fake_cudnn.c — a stand-in for cuDNN (libcudnn.so.9) beside tests/cuda/fake_cuda.c's driver, so that CI runs
 * runtime/device/device_cudnn.c itself: its dlopen and entry points, the descriptors it sets (NCHW f32, the
 * filter's channels per group, pads, strides, dilations, groups, cross-correlation), the output size cuDNN
 * computes from them, the algorithm searches and the forward, backward-data and backward-filter calls with their
 * workspace, captured into graphs like the driver's work.  The conv is computed by the program's own reference
 * conv (netc_dev_conv_reference, runtime/program/dev_conv_ref.c, exported: programs are linked with -rdynamic)
 * from what the descriptors say, so a wrong field in them shows as a difference from the interpreter. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device/device.h"

typedef struct Tensor {
    int format, type, n, c, h, w; /* a filter: k, c, r, s */
} Tensor;
typedef struct Conv {
    int pad[2], stride[2], dil[2], mode, type, groups, math;
} Conv;
typedef struct Handle {
    void *stream;
    int (*record)(void *stream, void (*run)(void *), const void *arg, size_t size); /* the driver's */
} Handle;

static int bad(const char *what) {
    fprintf(stderr, "fake cuDNN: %s\n", what);
    return 3; /* CUDNN_STATUS_BAD_PARAM */
}

int cudnnCreate(void **h) {
    Handle *x = calloc(1, sizeof *x);
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    x->record = drv ? (int (*)(void *, void (*)(void *), const void *, size_t))dlsym(drv, "fake_cuda_record") : NULL;
    if (!x->record) return free(x), bad("the fake driver is not loaded");
    return *h = x, 0;
}
int cudnnDestroy(void *h) { return free(h), 0; }
int cudnnSetStream(void *h, void *s) { return ((Handle *)h)->stream = s, 0; }
const char *cudnnGetErrorString(int s) { return s ? "fake cuDNN error" : "CUDNN_STATUS_SUCCESS"; }

int cudnnCreateTensorDescriptor(void **d) { return *d = calloc(1, sizeof(Tensor)), 0; }
int cudnnDestroyTensorDescriptor(void *d) { return free(d), 0; }
int cudnnCreateFilterDescriptor(void **d) { return *d = calloc(1, sizeof(Tensor)), 0; }
int cudnnDestroyFilterDescriptor(void *d) { return free(d), 0; }
int cudnnCreateConvolutionDescriptor(void **d) { return *d = calloc(1, sizeof(Conv)), 0; }
int cudnnDestroyConvolutionDescriptor(void *d) { return free(d), 0; }

int cudnnSetTensor4dDescriptor(void *d, int format, int type, int n, int c, int h, int w) {
    if (format || (type && type != 9) || n < 1 || c < 1 || h < 1 || w < 1)
        return bad("cudnnSetTensor4dDescriptor: not NCHW f32 or bf16");
    return *(Tensor *)d = (Tensor){format, type, n, c, h, w}, 0;
}
int cudnnSetFilter4dDescriptor(void *d, int type, int format, int k, int c, int r, int s) {
    if (format || (type && type != 9) || k < 1 || c < 1 || r < 1 || s < 1)
        return bad("cudnnSetFilter4dDescriptor: not NCHW f32 or bf16");
    return *(Tensor *)d = (Tensor){format, type, k, c, r, s}, 0;
}
int cudnnSetConvolution2dDescriptor(void *d, int ph, int pw, int u, int v, int dh, int dw, int mode, int type) {
    if (ph < 0 || pw < 0 || u < 1 || v < 1 || dh < 1 || dw < 1 || type) return bad("cudnnSetConvolution2dDescriptor");
    Conv *c = d;
    *c = (Conv){{ph, pw}, {u, v}, {dh, dw}, mode, type, 1, 0};
    return 0;
}
int cudnnSetConvolutionGroupCount(void *d, int g) { return g < 1 ? bad("group count") : (((Conv *)d)->groups = g, 0); }
int cudnnSetConvolutionMathType(void *d, int m) { return m < 0 || m > 3 ? bad("math") : (((Conv *)d)->math = m, 0); }

/* cuDNN's documented output size */
static int out_dim(int in, int pad, int k, int stride, int dil) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

int cudnnGetConvolution2dForwardOutputDim(void *cv, void *xd, void *wd, int *n, int *c, int *h, int *w) {
    const Conv *d = cv;
    const Tensor *x = xd, *f = wd;
    if (x->c != f->c * d->groups) return bad("the filter's channels times the groups are not the input's");
    *n = x->n, *c = f->n, *h = out_dim(x->h, d->pad[0], f->h, d->stride[0], d->dil[0]);
    *w = out_dim(x->w, d->pad[1], f->w, d->stride[1], d->dil[1]);
    return 0;
}

typedef struct Perf {
    int algo, status;
    float time;
    size_t memory;
    int determinism, math, reserved[3];
} Perf;

/* One call: the descriptors' values (a captured call keeps them), the conv's kind and the operands. */
typedef struct Call {
    NcDevConv c;
    float *x, *w, *y;
} Call;
static void run_call(void *arg) {
    const Call *k = arg;
    void (*ref)(const NcDevConv *, float *, float *, float *) =
        (void (*)(const NcDevConv *, float *, float *, float *))dlsym(RTLD_DEFAULT, "netc_dev_conv_reference");
    if (!ref) {
        fprintf(stderr, "fake cuDNN: the program exports no netc_dev_conv_reference\n");
        abort();
    }
    ref(&k->c, k->x, k->w, k->y);
}

static int call_of(Call *k, void *xd, void *wd, void *cv, void *yd) {
    const Tensor *x = xd, *f = wd, *y = yd;
    const Conv *d = cv;
    if (d->mode != 1) return bad("not cross-correlation (what a conv layer computes)");
    if (x->type != f->type || x->type != y->type) return bad("x, w and y of different types (not a cuDNN config)");
    int n, c, h, w;
    if (cudnnGetConvolution2dForwardOutputDim(cv, xd, wd, &n, &c, &h, &w)) return 3;
    if (y->n != n || y->c != c || y->h != h || y->w != w) return bad("the output descriptor is not the conv's output");
    memset(k, 0, sizeof *k);
    k->c = (NcDevConv){.n = x->n, .c = x->c, .h = x->h, .w = x->w, .k = f->n, .r = f->h, .s = f->w, .p = h, .q = w};
    for (int i = 0; i < 2; i++) k->c.stride[i] = d->stride[i], k->c.pad[i] = d->pad[i], k->c.dilation[i] = d->dil[i];
    k->c.groups = d->groups, k->c.bf16 = x->type == 9; /* bf16 x, w, y, f32 compute: PSEUDO_BFLOAT16 */
    return 0;
}

/* Two "algorithms", the faster first: one wanting a workspace, one without; a gradient's faster one not
 * deterministic (as cuDNN's atomics-summing backward-filter algorithms are), which netc must pass over. */
static int find(int kind, void *xd, const void *x, void *wd, const void *w, void *cv, void *yd, const void *y, int want,
                int *found, Perf *perf, void *ws, size_t ws_bytes) {
    Call k;
    if (call_of(&k, xd, wd, cv, yd)) return 3;
    if (!x || !w || !y || !ws || want < 2) return bad("cudnnFind...AlgorithmEx: arguments");
    if (getenv("FAKE_CUDNN_VERBOSE")) fprintf(stderr, "fake cuDNN: algorithm search\n"); /* counted by tests */
    const int math = ((Conv *)cv)->math;
    perf[0] = (Perf){.algo = 1, .status = 0, .time = 1, .memory = ws_bytes / 2, .determinism = !kind, .math = math};
    perf[1] = (Perf){.algo = 0, .status = 0, .time = 2, .memory = 0, .determinism = 1, .math = math};
    *found = 2;
    return 0;
}

int cudnnFindConvolutionForwardAlgorithmEx(void *h, void *xd, const void *x, void *wd, const void *w, void *cv,
                                           void *yd, void *y, int want, int *found, Perf *perf, void *ws,
                                           size_t ws_bytes) {
    (void)h;
    return find(NC_DEV_CONV_FWD, xd, x, wd, w, cv, yd, y, want, found, perf, ws, ws_bytes);
}
int cudnnFindConvolutionBackwardDataAlgorithmEx(void *h, void *wd, const void *w, void *dyd, const void *dy, void *cv,
                                                void *dxd, void *dx, int want, int *found, Perf *perf, void *ws,
                                                size_t ws_bytes) {
    (void)h;
    return find(NC_DEV_CONV_BWD_DATA, dxd, dx, wd, w, cv, dyd, dy, want, found, perf, ws, ws_bytes);
}
int cudnnFindConvolutionBackwardFilterAlgorithmEx(void *h, void *xd, const void *x, void *dyd, const void *dy, void *cv,
                                                  void *dwd, void *dw, int want, int *found, Perf *perf, void *ws,
                                                  size_t ws_bytes) {
    (void)h;
    return find(NC_DEV_CONV_BWD_FILTER, xd, x, dwd, dw, cv, dyd, dy, want, found, perf, ws, ws_bytes);
}

/* The call of a conv of `kind` over the tensors x, w, y (descriptors and addresses), queued on the stream. */
static int run(void *h, int kind, const float *alpha, void *xd, float *x, void *wd, float *w, void *cv, int algo,
               void *ws, size_t ws_bytes, const float *beta, void *yd, float *y) {
    Call k;
    if (call_of(&k, xd, wd, cv, yd)) return 3;
    if (*alpha != 1 || *beta != 0) return bad("alpha 1, beta 0 expected");
    if (getenv("FAKE_CUDNN_FAIL")) return 9; /* CUDNN_STATUS_NOT_SUPPORTED: tests of the fallback */
    if (algo < 0 || algo > 1 || (algo == 1 && (!ws || !ws_bytes))) return bad("an algorithm without its workspace");
    if (kind && algo == 1) return bad("a gradient with the non-deterministic algorithm");
    k.c.kind = kind, k.x = x, k.w = w, k.y = y;
    const Handle *hd = h;
    if (!hd->record(hd->stream, run_call, &k, sizeof k)) run_call(&k);
    return 0;
}

int cudnnConvolutionForward(void *h, const float *alpha, void *xd, float *x, void *wd, float *w, void *cv, int algo,
                            void *ws, size_t ws_bytes, const float *beta, void *yd, float *y) {
    return run(h, NC_DEV_CONV_FWD, alpha, xd, x, wd, w, cv, algo, ws, ws_bytes, beta, yd, y);
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, void *wd, float *w, void *dyd, float *dy, void *cv,
                                 int algo, void *ws, size_t ws_bytes, const float *beta, void *dxd, float *dx) {
    return run(h, NC_DEV_CONV_BWD_DATA, alpha, dxd, dx, wd, w, cv, algo, ws, ws_bytes, beta, dyd, dy);
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, void *xd, float *x, void *dyd, float *dy, void *cv,
                                   int algo, void *ws, size_t ws_bytes, const float *beta, void *dwd, float *dw) {
    return run(h, NC_DEV_CONV_BWD_FILTER, alpha, xd, x, dwd, dw, cv, algo, ws, ws_bytes, beta, dyd, dy);
}
