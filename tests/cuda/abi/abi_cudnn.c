/* abi_cudnn.c — runtime/device/device_cudnn.c compiled with its checks after it (abi_check.h says how):
 * its copies of cudnn.h's declarations against the real ones, its dlsym table against the real library, and its
 * own describe() run there. */
#include "runtime/device/device_cudnn.c"

#include <cudnn.h>

#include "tests/cuda/abi/abi_check.h"

/* cuDNN 9 marks the legacy convolution API deprecated (still there, and what the device file uses) */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define NC_ABI_CONSTANTS(X)                                                                                            \
    X(NCHW, CUDNN_TENSOR_NCHW)                                                                                         \
    X(FLOAT, CUDNN_DATA_FLOAT)                                                                                         \
    X(BFLOAT16, CUDNN_DATA_BFLOAT16)                                                                                   \
    X(CROSS_CORRELATION, CUDNN_CROSS_CORRELATION)                                                                      \
    X(DEFAULT_MATH, CUDNN_DEFAULT_MATH)                                                                                \
    X(TENSOR_OP_MATH, CUDNN_TENSOR_OP_MATH)                                                                            \
    X(TENSOR_OP_MATH_CONVERT, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)                                                   \
    X(FMA_MATH, CUDNN_FMA_MATH)                                                                                        \
    X(DETERMINISTIC, CUDNN_DETERMINISTIC)                                                                              \
    X(0, CUDNN_STATUS_SUCCESS)
NC_ABI_CONSTANTS(NC_ABI_CONST)
_Static_assert(NALGOS >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT && NALGOS >= CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT &&
                   NALGOS >= CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
               "NALGOS: fewer than cuDNN's algorithms of a kind");

/* Perf, one layout for the three kinds' results */
#define NC_ABI_PERF(real)                                                                                              \
    NC_ABI_LAYOUT(Perf, real);                                                                                         \
    NC_ABI_FIELD(Perf, algo, real, algo);                                                                              \
    NC_ABI_FIELD(Perf, status, real, status);                                                                          \
    NC_ABI_FIELD(Perf, time, real, time);                                                                              \
    NC_ABI_FIELD(Perf, memory, real, memory);                                                                          \
    NC_ABI_FIELD(Perf, determinism, real, determinism);                                                                \
    NC_ABI_FIELD(Perf, math, real, mathType)
NC_ABI_PERF(cudnnConvolutionFwdAlgoPerf_t);
NC_ABI_PERF(cudnnConvolutionBwdDataAlgoPerf_t);
NC_ABI_PERF(cudnnConvolutionBwdFilterAlgoPerf_t);
#define NC_ABI_NLAYOUTS 21 /* 3 x (size and alignment, 6 members' offsets and kinds) */

/* find[kind] and run[kind], in NcDevConvKind's order */
_Static_assert(NC_DEV_CONV_FWD == 0 && NC_DEV_CONV_BWD_DATA == 1 && NC_DEV_CONV_BWD_FILTER == 2, "NcDevConvKind");

#define NC_ABI_FIND(X, kind, api, perf)                                                                                \
    X(find[kind], api, int,                                                                                            \
      (void *a, Desc b, const void *c, Desc d, const void *e, Desc f, Desc g, void *h, int i, int *j, Perf *k,         \
       void *l, size_t m),                                                                                             \
      (a, b, c, d, e, f, g, h, i, j, NC_ABI_AS(k, Perf *, perf *), l, m))
#define NC_ABI_RUN(X, kind, api)                                                                                       \
    X(run[kind], api, int,                                                                                             \
      (void *a, const void *b, Desc c, const void *d, Desc e, const void *f, Desc g, int h, void *i, size_t j,         \
       const void *k, Desc l, void *m),                                                                                \
      (a, b, c, d, e, f, g, h, i, j, k, l, m))
#define NC_ABI_FNS(X)                                                                                                  \
    X(cudnnCreate, cudnnCreate, int, (void **a), (NC_ABI_AS(a, void **, cudnnHandle_t *)))                             \
    X(cudnnDestroy, cudnnDestroy, int, (void *a), (a))                                                                 \
    X(cudnnSetStream, cudnnSetStream, int, (void *a, void *b), (a, b))                                                 \
    X(cudnnGetErrorString, cudnnGetErrorString, const char *, (int a), (a))                                            \
    X(cudnnCreateTensorDescriptor, cudnnCreateTensorDescriptor, int, (Desc * a),                                       \
      (NC_ABI_AS(a, Desc *, cudnnTensorDescriptor_t *)))                                                               \
    X(cudnnSetTensor4dDescriptor, cudnnSetTensor4dDescriptor, int, (Desc a, int b, int c, int d, int e, int f, int g), \
      (a, b, c, d, e, f, g))                                                                                           \
    X(cudnnDestroyTensorDescriptor, cudnnDestroyTensorDescriptor, int, (Desc a), (a))                                  \
    X(cudnnCreateFilterDescriptor, cudnnCreateFilterDescriptor, int, (Desc * a),                                       \
      (NC_ABI_AS(a, Desc *, cudnnFilterDescriptor_t *)))                                                               \
    X(cudnnSetFilter4dDescriptor, cudnnSetFilter4dDescriptor, int, (Desc a, int b, int c, int d, int e, int f, int g), \
      (a, b, c, d, e, f, g))                                                                                           \
    X(cudnnDestroyFilterDescriptor, cudnnDestroyFilterDescriptor, int, (Desc a), (a))                                  \
    X(cudnnCreateConvolutionDescriptor, cudnnCreateConvolutionDescriptor, int, (Desc * a),                             \
      (NC_ABI_AS(a, Desc *, cudnnConvolutionDescriptor_t *)))                                                          \
    X(cudnnSetConvolution2dDescriptor, cudnnSetConvolution2dDescriptor, int,                                           \
      (Desc a, int b, int c, int d, int e, int f, int g, int h, int i), (a, b, c, d, e, f, g, h, i))                   \
    X(cudnnSetConvolutionGroupCount, cudnnSetConvolutionGroupCount, int, (Desc a, int b), (a, b))                      \
    X(cudnnSetConvolutionMathType, cudnnSetConvolutionMathType, int, (Desc a, int b), (a, b))                          \
    X(cudnnDestroyConvolutionDescriptor, cudnnDestroyConvolutionDescriptor, int, (Desc a), (a))                        \
    X(cudnnGetConvolution2dForwardOutputDim, cudnnGetConvolution2dForwardOutputDim, int,                               \
      (Desc a, Desc b, Desc c, int *d, int *e, int *f, int *g), (a, b, c, d, e, f, g))                                 \
    NC_ABI_FIND(X, 0, cudnnFindConvolutionForwardAlgorithmEx, cudnnConvolutionFwdAlgoPerf_t)                           \
    NC_ABI_FIND(X, 1, cudnnFindConvolutionBackwardDataAlgorithmEx, cudnnConvolutionBwdDataAlgoPerf_t)                  \
    NC_ABI_FIND(X, 2, cudnnFindConvolutionBackwardFilterAlgorithmEx, cudnnConvolutionBwdFilterAlgoPerf_t)              \
    NC_ABI_RUN(X, 0, cudnnConvolutionForward)                                                                          \
    NC_ABI_RUN(X, 1, cudnnConvolutionBackwardData)                                                                     \
    NC_ABI_RUN(X, 2, cudnnConvolutionBackwardFilter)

NC_ABI_CHECKED_BEGIN
NC_ABI_FNS(NC_ABI_WRAP)
NC_ABI_CHECKED_END
/* The descriptors' roles in each kind's calls, as operands() must order them (checked at run time below): the
 * forward reads x, w and writes y; backward-data reads w, dy (in y) and writes dx (in x); backward-filter reads
 * x, dy and writes dw.  Where a filter and a tensor descriptor trade places the header's types tell (the calls
 * below, with each role's descriptor type, do not build); x against y, both tensors, only its parameters'
 * names do (xDesc, dyDesc, dxDesc): read, not checked. */
enum { NC_ABI_X, NC_ABI_W, NC_ABI_Y };
static const int nc_abi_roles[3][3] = {
    {NC_ABI_X, NC_ABI_W, NC_ABI_Y}, {NC_ABI_W, NC_ABI_Y, NC_ABI_X}, {NC_ABI_X, NC_ABI_Y, NC_ABI_W}};
typedef cudnnTensorDescriptor_t NcAbiT;
typedef cudnnFilterDescriptor_t NcAbiF;
#define NC_ABI_ROLES(find, run, perf, a, b, c)                                                                         \
    _Static_assert(                                                                                                    \
        sizeof(find(NULL, (a)0, NULL, (b)0, NULL, NULL, (c)0, NULL, 1, NULL, (perf *)0, NULL, (size_t)0)) &&           \
            sizeof(run(NULL, NULL, (a)0, NULL, (b)0, NULL, NULL, 0, NULL, (size_t)0, NULL, (c)0, NULL)),               \
        #find ": the descriptors' roles");
NC_ABI_CHECKED_BEGIN
NC_ABI_ROLES(cudnnFindConvolutionForwardAlgorithmEx, cudnnConvolutionForward, cudnnConvolutionFwdAlgoPerf_t, NcAbiT,
             NcAbiF, NcAbiT)
NC_ABI_ROLES(cudnnFindConvolutionBackwardDataAlgorithmEx, cudnnConvolutionBackwardData,
             cudnnConvolutionBwdDataAlgoPerf_t, NcAbiF, NcAbiT, NcAbiT)
NC_ABI_ROLES(cudnnFindConvolutionBackwardFilterAlgorithmEx, cudnnConvolutionBackwardFilter,
             cudnnConvolutionBwdFilterAlgoPerf_t, NcAbiT, NcAbiT, NcAbiF)
NC_ABI_CHECKED_END

static const char *const nc_abi_names[] = {NC_ABI_FNS(NC_ABI_NAME)};
#define NC_ABI_STRUCT NcCudnn
NC_ABI_FNS(NC_ABI_TYPE)
static const size_t nc_abi_offsets[] = {NC_ABI_FNS(NC_ABI_OFFSET)};

/* The convolutions describe() is run on: dense, strided, padded, dilated, grouped, depthwise, 1x1, rectangular,
 * each in f32, TF32 and bf16 (for every kind the same descriptors: only the call differs). */
static const NcDevConv nc_abi_convs[] = {
    /* n, c, h, w, k, r, s, p, q; stride, pad, dilation, groups */
    {2, 3, 32, 32, 16, 3, 3, 32, 32, {1, 1}, {1, 1}, {1, 1}, 1, 0, 0, 0},
    {2, 16, 32, 32, 32, 3, 3, 16, 16, {2, 2}, {1, 1}, {1, 1}, 1, 0, 0, 0},
    {1, 8, 37, 29, 8, 3, 3, 33, 25, {1, 1}, {0, 0}, {2, 2}, 1, 0, 0, 0},
    {2, 32, 14, 14, 64, 3, 3, 14, 14, {1, 1}, {1, 1}, {1, 1}, 4, 0, 0, 0},
    {2, 24, 15, 15, 24, 5, 5, 8, 8, {2, 2}, {2, 2}, {1, 1}, 24, 0, 0, 0},
    {3, 64, 7, 7, 256, 1, 1, 7, 7, {1, 1}, {0, 0}, {1, 1}, 1, 0, 0, 0},
    {1, 3, 37, 29, 6, 7, 3, 19, 15, {2, 2}, {3, 1}, {1, 1}, 1, 0, 0, 0},
};
#define NC_ABI_NCONVS ((int)(sizeof nc_abi_convs / sizeof nc_abi_convs[0]))

/* The table against the checked members (and the names the messages give); the library loaded by the file's
 * load(); describe() for each conv above in f32, TF32 and bf16: the tensor, filter and convolution descriptors
 * created and set (group count, math type, bf16 data type), cudnnGetConvolution2dForwardOutputDim agreeing with
 * netc's plan, as the runtime does them — cuDNN refuses an unknown enum value (checked first, below).  Then a
 * conv whose planned output is wrong must be refused.  cudnnCreate needs a GPU: nothing that needs the handle
 * (the algorithm search, the convolutions) runs here. */
int nc_abi_cudnn(const char *lib) {
    const NcDlSym *tables[] = {dnn_syms};
    const size_t sizes[] = {sizeof dnn_syms / sizeof dnn_syms[0]};
    const size_t n = 0 NC_ABI_FNS(NC_ABI_COUNT), nconst = 0 NC_ABI_CONSTANTS(NC_ABI_COUNT);
    int bad = nc_abi_match("device_cudnn.c", tables, sizes, 1, nc_abi_offsets, nc_abi_names, n);
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < n; i++) {
            if (nc_abi_offsets[i] == offsetof(NcCudnn, find[k]) && strcmp(nc_abi_names[i], find_name[k]))
                printf("FAIL device_cudnn.c: find_name[%d] is %s, not %s\n", k, find_name[k], nc_abi_names[i]), bad++;
            if (nc_abi_offsets[i] == offsetof(NcCudnn, run[k]) && strcmp(nc_abi_names[i], run_name[k]))
                printf("FAIL device_cudnn.c: run_name[%d] is %s, not %s\n", k, run_name[k], nc_abi_names[i]), bad++;
        }
    /* operands() against the roles above, for each kind: descriptors and addresses */
    for (int k = 0; k < 3; k++) {
        Shape sh;
        memset(&sh, 0, sizeof sh);
        char xyz[3];
        sh.x = &xyz[NC_ABI_X], sh.w = &xyz[NC_ABI_W], sh.y = &xyz[NC_ABI_Y], sh.c.kind = k;
        float f[3];
        Desc d[3];
        void *p[3];
        operands(&sh, &f[NC_ABI_X], &f[NC_ABI_W], &f[NC_ABI_Y], d, p);
        for (int i = 0; i < 3; i++)
            if (d[i] != &xyz[nc_abi_roles[k][i]] || p[i] != &f[nc_abi_roles[k][i]])
                printf("FAIL device_cudnn.c: %s's operand %d is not the one cudnn_cnn.h's call takes there\n",
                       run_name[k], i),
                    bad++;
    }
    printf("device_cudnn.c: %zu entry points' signatures, %zu constants and %d layout facts checked against cudnn.h "
           "%d.%d.%d at compile time; its dlsym table against them: %s\n",
           n, nconst, NC_ABI_NLAYOUTS, CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL, bad ? "FAIL" : "ok");
    if (!lib) return bad;
    NcCudnn *cd = nc_calloc(1, sizeof *cd);
    NcError e;
    if (load(cd, lib, &e)) {
        printf("FAIL device_cudnn.c: %s\n", e.msg);
        nc_cudnn_close(cd);
        return bad + 1;
    }
    size_t (*version)(void) = NULL;
    *(void **)&version = dlsym(cd->lib, "cudnnGetVersion");
    printf("device_cudnn.c: %s (cuDNN %zu) has all %zu of its entry points\n", lib, version ? version() : 0, sizes[0]);
    /* cuDNN's own checks, which describe()'s success below stands on */
    Desc t = NULL;
    if (cd->cudnnCreateTensorDescriptor(&t) || cd->cudnnSetTensor4dDescriptor(t, NCHW, BFLOAT16, 1, 2, 3, 3) ||
        cd->cudnnSetTensor4dDescriptor(t, NCHW, 99, 1, 2, 3, 3) != CUDNN_STATUS_BAD_PARAM ||
        cd->cudnnSetTensor4dDescriptor(t, BFLOAT16, NCHW, 1, 2, 3, 3) != CUDNN_STATUS_BAD_PARAM)
        printf("FAIL device_cudnn.c: cuDNN did not refuse a tensor of data type 99, or of format 9\n"), bad++;
    if (t) cd->cudnnDestroyTensorDescriptor(t);
    int described = 0;
    for (int i = 0; i < NC_ABI_NCONVS * 3; i++) {
        Shape *s = nc_calloc(1, sizeof *s);
        s->c = nc_abi_convs[i / 3];
        s->c.tf32 = i % 3 == 1, s->c.bf16 = i % 3 == 2, s->c.kind = i % 3; /* the kind: not read by describe() */
        if (describe(cd, s, &e))
            printf("FAIL device_cudnn.c: conv %d (%s): %s\n", i / 3,
                   s->c.bf16   ? "bf16"
                   : s->c.tf32 ? "tf32"
                               : "f32",
                   e.msg),
                bad++;
        else
            described++;
        shape_free(cd, s);
    }
    printf("device_cudnn.c: describe() for %d of %d convs (dense, strided, padded, dilated, grouped, depthwise, 1x1, "
           "rectangular; f32, TF32, bf16): every descriptor accepted by %s, its output shape netc's\n",
           described, NC_ABI_NCONVS * 3, lib);
    Shape *s = nc_calloc(1, sizeof *s);
    s->c = nc_abi_convs[1], s->c.q++;
    if (!describe(cd, s, &e) || !strstr(e.msg, "netc planned"))
        printf("FAIL device_cudnn.c: a conv planned one column too wide was not refused\n"), bad++;
    shape_free(cd, s);
    nc_cudnn_close(cd);
    return bad;
}
