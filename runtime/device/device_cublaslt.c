/* device_cublaslt.c — a GEMM with its bias (+ relu) epilogue through
 * cuBLASLt's cublasLtMatmul (device_cublaslt.h).  Not yet run on a GPU.
 *
 * cuBLASLt broadcasts the bias along the rows of D (one value per row, the
 * same for every column), so the row-major product C [m, n] is described two
 * ways, whichever puts the bias's index on D's rows:
 *  - bias per column of C (a linear layer's outputs, n): column-major as
 *    device_cuda.c's cuBLAS calls, C^T = op(B)^T . A^T with B first — D is
 *    n x m, column-major, leading dimension n;
 *  - bias per row of C (a conv's output channels, m): every layout
 *    CUBLASLT_ORDER_ROW, A [m, k] . op(B) = D [m, n] as netc stores them.
 * f32 with CUBLAS_COMPUTE_32F (no TF32, as cuBLAS's default math), TF32 with
 * CUBLAS_COMPUTE_32F_FAST_TF32 where the step asks, bf16 A and B (CUDA_R_16BF)
 * with f32 accumulation, C, D and bias.  Per shape (and operands' alignment)
 * the descriptors, the layouts and the algorithm cublasLtMatmulAlgoGetHeuristic
 * gives first within the workspace are made once and kept; the workspace is
 * allocated once, at open, so that a captured matmul allocates nothing.  A
 * shape cuBLASLt has no algorithm for is refused (1): the caller then runs the
 * plain GEMM and netc's elementwise kernel. */
#include "runtime/device/device_cublaslt.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device/dl_sym.h"

#define WORKSPACE_BYTES ((size_t)32 << 20)

typedef void *Desc;
typedef struct Algo { /* cublasLtMatmulAlgo_t */
    uint64_t data[8];
} Algo;
typedef struct Heuristic { /* cublasLtMatmulHeuristicResult_t */
    Algo algo;
    size_t workspace;
    int state;
    float waves;
    int reserved[4];
} Heuristic;

/* cublasLt.h's, cublas_api.h's and library_types.h's values (checked against them: tests/cuda/abi/) */
enum {
    R_32F = 0,
    R_16BF = 14,
    COMPUTE_32F = 68,
    COMPUTE_32F_FAST_TF32 = 77,
    OP_N = 0,
    OP_T = 1,
    ORDER_COL = 0,
    ORDER_ROW = 1,
    LAYOUT_ORDER = 1,
    LAYOUT_BATCH_COUNT = 5,
    LAYOUT_BATCH_OFFSET = 6,
    DESC_TRANSA = 3,
    DESC_TRANSB = 4,
    DESC_EPILOGUE = 7,
    DESC_BIAS_POINTER = 8,
    DESC_BIAS_DATA_TYPE = 26,
    EPILOGUE_BIAS = 4,
    EPILOGUE_RELU_BIAS = 6,
    PREF_MAX_WORKSPACE_BYTES = 1,
    PREF_MIN_ALIGNMENT_A = 5, /* B, C, D: 6, 7, 8 */
    STATUS_NOT_SUPPORTED = 15,
};

/* One shape: the step's GEMM and its operands' alignments (bytes, at most 256). */
typedef struct Shape {
    NcDevGemm g;
    uint32_t align[4]; /* a, b, c, bias */
    Desc op, la, lb, lc;
    Algo algo;
    int refused;
    struct Shape *next;
} Shape;

struct NcCublasLt {
    NcDevice *dev;
    void *lib, *handle, *workspace, *stream;
    Shape *shapes;
    int64_t fused, refused;
    int noticed; /* a refusal was reported */
    int (*cublasLtCreate)(void **);
    int (*cublasLtDestroy)(void *);
    int (*cublasLtMatmulDescCreate)(Desc *, int, int);
    int (*cublasLtMatmulDescDestroy)(Desc);
    int (*cublasLtMatmulDescSetAttribute)(Desc, int, const void *, size_t);
    int (*cublasLtMatrixLayoutCreate)(Desc *, int, uint64_t, uint64_t, int64_t);
    int (*cublasLtMatrixLayoutDestroy)(Desc);
    int (*cublasLtMatrixLayoutSetAttribute)(Desc, int, const void *, size_t);
    int (*cublasLtMatmulPreferenceCreate)(Desc *);
    int (*cublasLtMatmulPreferenceDestroy)(Desc);
    int (*cublasLtMatmulPreferenceSetAttribute)(Desc, int, const void *, size_t);
    int (*cublasLtMatmulAlgoGetHeuristic)(void *, Desc, Desc, Desc, Desc, Desc, Desc, int, Heuristic *, int *);
    int (*cublasLtMatmul)(void *, Desc, const void *, const void *, Desc, const void *, Desc, const void *,
                          const void *, Desc, void *, Desc, const Algo *, void *, size_t, void *);
};

static void shape_free(NcCublasLt *lt, Shape *s) {
    if (s->op) lt->cublasLtMatmulDescDestroy(s->op);
    if (s->la) lt->cublasLtMatrixLayoutDestroy(s->la);
    if (s->lb) lt->cublasLtMatrixLayoutDestroy(s->lb);
    if (s->lc) lt->cublasLtMatrixLayoutDestroy(s->lc);
    free(s);
}

void nc_cublaslt_close(NcCublasLt *lt) {
    if (!lt) return;
    for (Shape *s = lt->shapes, *next; s; s = next) next = s->next, shape_free(lt, s);
    if (lt->handle) lt->cublasLtDestroy(lt->handle);
    nc_dev_free(lt->dev, lt->workspace);
    if (lt->lib) dlclose(lt->lib);
    free(lt);
}

#define SYM(f) {offsetof(NcCublasLt, f), #f}
static const NcDlSym lt_syms[] = {
    SYM(cublasLtCreate),
    SYM(cublasLtDestroy),
    SYM(cublasLtMatmulDescCreate),
    SYM(cublasLtMatmulDescDestroy),
    SYM(cublasLtMatmulDescSetAttribute),
    SYM(cublasLtMatrixLayoutCreate),
    SYM(cublasLtMatrixLayoutDestroy),
    SYM(cublasLtMatrixLayoutSetAttribute),
    SYM(cublasLtMatmulPreferenceCreate),
    SYM(cublasLtMatmulPreferenceDestroy),
    SYM(cublasLtMatmulPreferenceSetAttribute),
    SYM(cublasLtMatmulAlgoGetHeuristic),
    SYM(cublasLtMatmul),
};
#undef SYM

/* The first of names that loads, and its entry points (no GPU needed yet). */
static int load(NcCublasLt *lt, const char *const *names, size_t n, NcError *e) {
    for (size_t i = 0; i < n && !lt->lib; i++) lt->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lt->lib) return nc_errorf(e, "cuBLASLt (libcublasLt.so.13 / .12) cannot be loaded");
    const char *missing = nc_dl_resolve(lt->lib, lt, lt_syms, sizeof lt_syms / sizeof lt_syms[0]);
    return missing ? nc_errorf(e, "cuBLASLt: no %s in its library", missing) : 0;
}

NcCublasLt *nc_cublaslt_open(NcDevice *d, void *stream, NcError *e) {
    NcCublasLt *lt = nc_calloc(1, sizeof *lt);
    lt->dev = d, lt->stream = stream;
    const char *names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "/usr/local/cuda/lib64/libcublasLt.so.13",
                           "/usr/local/cuda/lib64/libcublasLt.so.12"};
    if (load(lt, names, sizeof names / sizeof names[0], e)) goto fail;
    int r = lt->cublasLtCreate(&lt->handle);
    if (r) {
        lt->handle = NULL;
        nc_errorf(e, "cuBLASLt: cublasLtCreate failed (status %d)", r);
        goto fail;
    }
    if (nc_dev_alloc(d, &lt->workspace, WORKSPACE_BYTES, e)) goto fail;
    return lt;
fail:
    nc_cublaslt_close(lt);
    return NULL;
}

/* The largest power of two (at most 256) that divides the address. */
static uint32_t alignment(const void *p) {
    const uintptr_t u = (uintptr_t)p;
    uint32_t a = 256;
    while (a > 1 && u % a) a /= 2;
    return a;
}

/* A layout: rows x cols at leading dimension ld, in `order`, batch strided. */
static int layout(NcCublasLt *lt, Desc *l, int type, int64_t rows, int64_t cols, int64_t ld, int32_t order,
                  const NcDevGemm *g, int64_t stride) {
    const int32_t batch = (int32_t)g->batch;
    int r = lt->cublasLtMatrixLayoutCreate(l, type, (uint64_t)rows, (uint64_t)cols, ld);
    if (r) return *l = NULL, r;
    if ((r = lt->cublasLtMatrixLayoutSetAttribute(*l, LAYOUT_ORDER, &order, sizeof order))) return r;
    if (batch > 1 && ((r = lt->cublasLtMatrixLayoutSetAttribute(*l, LAYOUT_BATCH_COUNT, &batch, sizeof batch)) ||
                      (r = lt->cublasLtMatrixLayoutSetAttribute(*l, LAYOUT_BATCH_OFFSET, &stride, sizeof stride))))
        return r;
    return 0;
}

/* The shape's descriptors and algorithm: 0, or a status (the shape refused). */
static int setup(NcCublasLt *lt, Shape *s, const float *bias, const char **what) {
    const NcDevGemm *g = &s->g;
    const int ab = g->bf16 ? R_16BF : R_32F, tb = g->trans_b ? OP_T : OP_N;
    const int64_t m = g->m, n = g->n, k = g->k;
    int r;
    *what = "cublasLtMatmulDescCreate";
    if ((r = lt->cublasLtMatmulDescCreate(&s->op, g->tf32 && !g->bf16 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F, R_32F)))
        return s->op = NULL, r;
    const int32_t ta = g->bias_rows ? OP_N : tb, tbb = g->bias_rows ? tb : OP_N, bias_type = R_32F;
    const uint32_t epi = g->epilogue == NC_DEV_EPI_BIAS_RELU ? EPILOGUE_RELU_BIAS : EPILOGUE_BIAS;
    *what = "cublasLtMatmulDescSetAttribute";
    if ((r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_TRANSA, &ta, sizeof ta)) ||
        (r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_TRANSB, &tbb, sizeof tbb)) ||
        (r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_EPILOGUE, &epi, sizeof epi)) ||
        (r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type)) ||
        (r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_BIAS_POINTER, &bias, sizeof bias)))
        return r;
    *what = "cublasLtMatrixLayoutCreate";
    if (g->bias_rows) { /* row-major as stored: D [m, n], bias per row */
        if ((r = layout(lt, &s->la, ab, m, k, k, ORDER_ROW, g, g->stride_a)) ||
            (r = layout(lt, &s->lb, ab, g->trans_b ? n : k, g->trans_b ? k : n, g->trans_b ? k : n, ORDER_ROW, g,
                        g->stride_b)) ||
            (r = layout(lt, &s->lc, R_32F, m, n, n, ORDER_ROW, g, g->stride_c)))
            return r;
    } else { /* column-major, B first: D = C^T [n, m], bias per row of D = per column of C */
        if ((r = layout(lt, &s->la, ab, g->trans_b ? k : n, g->trans_b ? n : k, g->trans_b ? k : n, ORDER_COL, g,
                        g->stride_b)) ||
            (r = layout(lt, &s->lb, ab, k, m, k, ORDER_COL, g, g->stride_a)) ||
            (r = layout(lt, &s->lc, R_32F, n, m, n, ORDER_COL, g, g->stride_c)))
            return r;
    }
    Desc pref = NULL;
    *what = "cublasLtMatmulPreferenceCreate";
    if ((r = lt->cublasLtMatmulPreferenceCreate(&pref))) return r;
    const uint64_t ws = WORKSPACE_BYTES;
    /* the operands' real alignments, so that no algorithm needing more is chosen (the default assumes 256) */
    const uint32_t al[4] = {s->align[g->bias_rows ? 0 : 1], s->align[g->bias_rows ? 1 : 0], s->align[2], s->align[2]};
    *what = "cublasLtMatmulPreferenceSetAttribute";
    r = lt->cublasLtMatmulPreferenceSetAttribute(pref, PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    for (int i = 0; i < 4 && !r; i++)
        r = lt->cublasLtMatmulPreferenceSetAttribute(pref, PREF_MIN_ALIGNMENT_A + i, &al[i], sizeof al[i]);
    Heuristic h;
    memset(&h, 0, sizeof h);
    int count = 0;
    if (!r) {
        *what = "cublasLtMatmulAlgoGetHeuristic";
        r = lt->cublasLtMatmulAlgoGetHeuristic(lt->handle, s->op, s->la, s->lb, s->lc, s->lc, pref, 1, &h, &count);
        if (!r && (count < 1 || h.state)) r = count < 1 ? STATUS_NOT_SUPPORTED : h.state;
    }
    lt->cublasLtMatmulPreferenceDestroy(pref);
    if (!r) s->algo = h.algo;
    return r;
}

/* A shape refused: the first with a notice, each with NETC_CUDA_VERBOSE. */
static void refuse(NcCublasLt *lt, Shape *s, const char *what, int status) {
    const NcDevGemm *g = &s->g;
    const int verbose = getenv("NETC_CUDA_VERBOSE") != NULL;
    s->refused = 1;
    if (lt->noticed && !verbose) return;
    fprintf(stderr,
            "cuBLASLt: %s refused GEMM %lldx%lldx%lld (batch %lld, bias per %s, status %d): its epilogue runs as a "
            "separate kernel%s\n",
            what, (long long)g->m, (long long)g->n, (long long)g->k, (long long)g->batch,
            g->bias_rows ? "row" : "column", status, verbose ? "" : " (NETC_CUDA_VERBOSE=1 lists every such GEMM)");
    lt->noticed = 1;
}

int nc_cublaslt_gemm(NcCublasLt *lt, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                     int capturing, NcError *e) {
    if (g->m > 2147483647 || g->n > 2147483647 || g->k > 2147483647 || g->batch > 2147483647) return 1;
    const uint32_t align[4] = {alignment(a), alignment(b), alignment(c), alignment(bias)};
    Shape *s = lt->shapes;
    for (; s && (memcmp(&s->g, g, sizeof *g) || memcmp(s->align, align, sizeof align)); s = s->next) {}
    if (!s) {
        if (capturing) return lt->refused++, 1; /* set up outside captures only (the first run issues every step) */
        s = nc_calloc(1, sizeof *s);
        s->g = *g;
        memcpy(s->align, align, sizeof align);
        const char *what = "";
        const int r = setup(lt, s, bias, &what);
        if (r) {
            refuse(lt, s, what, r);
            if (s->op) lt->cublasLtMatmulDescDestroy(s->op), s->op = NULL;
        }
        s->next = lt->shapes, lt->shapes = s;
    }
    if (s->refused) return lt->refused++, 1;
    /* this call's bias (a shape's steps share its descriptor; the pointer's alignment is the key's) */
    int r = lt->cublasLtMatmulDescSetAttribute(s->op, DESC_BIAS_POINTER, &bias, sizeof bias);
    const float one = 1, zero = 0;
    const void *A = g->bias_rows ? (const void *)a : (const void *)b,
               *B = g->bias_rows ? (const void *)b : (const void *)a;
    if (!r)
        r = lt->cublasLtMatmul(lt->handle, s->op, &one, A, s->la, B, s->lb, &zero, c, s->lc, c, s->lc, &s->algo,
                               lt->workspace, WORKSPACE_BYTES, lt->stream);
    if (r) { /* from now on this shape runs unfused */
        refuse(lt, s, "cublasLtMatmul", r);
        return lt->refused++, 1;
    }
    lt->fused++;
    return 0;
}

void nc_cublaslt_counts(const NcCublasLt *lt, int64_t *fused, int64_t *refused) {
    *fused = lt ? lt->fused : 0, *refused = lt ? lt->refused : 0;
}
