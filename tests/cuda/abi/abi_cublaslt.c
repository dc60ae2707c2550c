/* abi_cublaslt.c — runtime/device/device_cublaslt.c compiled with its checks after it (abi_check.h says how):
 * its copies of cublasLt.h's declarations against the real ones, its dlsym table against the real
 * library, and its own setup() run there up to the call that needs a GPU. */
#include "runtime/device/device_cublaslt.c"

#include <cublasLt.h>

#include "tests/cuda/abi/abi_check.h"

#define NC_ABI_CONSTANTS(X)                                                                                            \
    X(R_32F, CUDA_R_32F)                                                                                               \
    X(R_16BF, CUDA_R_16BF)                                                                                             \
    X(COMPUTE_32F, CUBLAS_COMPUTE_32F)                                                                                 \
    X(COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_32F_FAST_TF32)                                                             \
    X(OP_N, CUBLAS_OP_N)                                                                                               \
    X(OP_T, CUBLAS_OP_T)                                                                                               \
    X(ORDER_COL, CUBLASLT_ORDER_COL)                                                                                   \
    X(ORDER_ROW, CUBLASLT_ORDER_ROW)                                                                                   \
    X(LAYOUT_ORDER, CUBLASLT_MATRIX_LAYOUT_ORDER)                                                                      \
    X(LAYOUT_BATCH_COUNT, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT)                                                          \
    X(LAYOUT_BATCH_OFFSET, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET)                                                \
    X(DESC_TRANSA, CUBLASLT_MATMUL_DESC_TRANSA)                                                                        \
    X(DESC_TRANSB, CUBLASLT_MATMUL_DESC_TRANSB)                                                                        \
    X(DESC_EPILOGUE, CUBLASLT_MATMUL_DESC_EPILOGUE)                                                                    \
    X(DESC_BIAS_POINTER, CUBLASLT_MATMUL_DESC_BIAS_POINTER)                                                            \
    X(DESC_BIAS_DATA_TYPE, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE)                                                        \
    X(EPILOGUE_BIAS, CUBLASLT_EPILOGUE_BIAS)                                                                           \
    X(EPILOGUE_RELU_BIAS, CUBLASLT_EPILOGUE_RELU_BIAS)                                                                 \
    X(PREF_MAX_WORKSPACE_BYTES, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)                                              \
    X(PREF_MIN_ALIGNMENT_A, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES)                                                \
    X(PREF_MIN_ALIGNMENT_A + 1, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES)                                            \
    X(PREF_MIN_ALIGNMENT_A + 2, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES)                                            \
    X(PREF_MIN_ALIGNMENT_A + 3, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES)                                            \
    X(STATUS_NOT_SUPPORTED, CUBLAS_STATUS_NOT_SUPPORTED)                                                               \
    X(0, CUBLAS_STATUS_SUCCESS)
NC_ABI_CONSTANTS(NC_ABI_CONST)

/* the structs it reads or passes through */
NC_ABI_LAYOUT(Algo, cublasLtMatmulAlgo_t);
NC_ABI_LAYOUT(Heuristic, cublasLtMatmulHeuristicResult_t);
NC_ABI_FIELD(Heuristic, algo, cublasLtMatmulHeuristicResult_t, algo);
NC_ABI_FIELD(Heuristic, workspace, cublasLtMatmulHeuristicResult_t, workspaceSize);
NC_ABI_FIELD(Heuristic, state, cublasLtMatmulHeuristicResult_t, state);
NC_ABI_FIELD(Heuristic, waves, cublasLtMatmulHeuristicResult_t, wavesCount);
#define NC_ABI_NLAYOUTS 6 /* the two sizes and alignments, the four members' offsets and kinds */

#define NC_ABI_FNS(X)                                                                                                  \
    X(cublasLtCreate, cublasLtCreate, int, (void **a), (NC_ABI_AS(a, void **, cublasLtHandle_t *)))                    \
    X(cublasLtDestroy, cublasLtDestroy, int, (void *a), (a))                                                           \
    X(cublasLtMatmulDescCreate, cublasLtMatmulDescCreate, int, (Desc * a, int b, int c),                               \
      (NC_ABI_AS(a, Desc *, cublasLtMatmulDesc_t *), b, c))                                                            \
    X(cublasLtMatmulDescDestroy, cublasLtMatmulDescDestroy, int, (Desc a), (a))                                        \
    X(cublasLtMatmulDescSetAttribute, cublasLtMatmulDescSetAttribute, int, (Desc a, int b, const void *c, size_t d),   \
      (a, b, c, d))                                                                                                    \
    X(cublasLtMatrixLayoutCreate, cublasLtMatrixLayoutCreate, int,                                                     \
      (Desc * a, int b, uint64_t c, uint64_t d, int64_t e),                                                            \
      (NC_ABI_AS(a, Desc *, cublasLtMatrixLayout_t *), b, c, d, e))                                                    \
    X(cublasLtMatrixLayoutDestroy, cublasLtMatrixLayoutDestroy, int, (Desc a), (a))                                    \
    X(cublasLtMatrixLayoutSetAttribute, cublasLtMatrixLayoutSetAttribute, int,                                         \
      (Desc a, int b, const void *c, size_t d), (a, b, c, d))                                                          \
    X(cublasLtMatmulPreferenceCreate, cublasLtMatmulPreferenceCreate, int, (Desc * a),                                 \
      (NC_ABI_AS(a, Desc *, cublasLtMatmulPreference_t *)))                                                            \
    X(cublasLtMatmulPreferenceDestroy, cublasLtMatmulPreferenceDestroy, int, (Desc a), (a))                            \
    X(cublasLtMatmulPreferenceSetAttribute, cublasLtMatmulPreferenceSetAttribute, int,                                 \
      (Desc a, int b, const void *c, size_t d), (a, b, c, d))                                                          \
    X(cublasLtMatmulAlgoGetHeuristic, cublasLtMatmulAlgoGetHeuristic, int,                                             \
      (void *a, Desc b, Desc c, Desc d, Desc e, Desc f, Desc g, int h, Heuristic *i, int *j),                          \
      (a, b, c, d, e, f, g, h, NC_ABI_AS(i, Heuristic *, cublasLtMatmulHeuristicResult_t *), j))                       \
    X(cublasLtMatmul, cublasLtMatmul, int,                                                                             \
      (void *a, Desc b, const void *c, const void *d, Desc e, const void *f, Desc g, const void *h, const void *i,     \
       Desc j, void *k, Desc l, const Algo *m, void *n, size_t o, void *p),                                            \
      (a, b, c, d, e, f, g, h, i, j, k, l, NC_ABI_AS(m, const Algo *, const cublasLtMatmulAlgo_t *), n, o, p))

NC_ABI_CHECKED_BEGIN
NC_ABI_FNS(NC_ABI_WRAP)
NC_ABI_CHECKED_END
static const char *const nc_abi_names[] = {NC_ABI_FNS(NC_ABI_NAME)};
#define NC_ABI_STRUCT NcCublasLt
NC_ABI_FNS(NC_ABI_TYPE)
static const size_t nc_abi_offsets[] = {NC_ABI_FNS(NC_ABI_OFFSET)};

/* An attribute the library must refuse (a wrong size), so that its accepting setup()'s means something. */
static int nc_abi_refused(const char *what, int status) {
    if (status == CUBLAS_STATUS_INVALID_VALUE) return 0;
    printf("FAIL device_cublaslt.c: cuBLASLt took %s (status %d): its checks of attributes are not what this test "
           "relies on\n",
           what, status);
    return 1;
}

/* The table against the checked members; the library loaded by the file's load(); then setup() for GEMMs of
 * every form the runtime issues (bias per row and per column, B transposed or not, batched, relu, f32, TF32,
 * bf16, operands aligned and not): every descriptor, layout and preference created and every attribute set
 * as the runtime sets them, each required to succeed — cuBLASLt refuses an attribute id it does not know or a
 * value of the wrong size (checked first, below) — up to cublasLtMatmulAlgoGetHeuristic, which needs a handle
 * (a GPU): with none it must answer CUBLAS_STATUS_NOT_INITIALIZED. */
int nc_abi_cublaslt(const char *lib) {
    const NcDlSym *tables[] = {lt_syms};
    const size_t sizes[] = {sizeof lt_syms / sizeof lt_syms[0]};
    const size_t n = 0 NC_ABI_FNS(NC_ABI_COUNT), nconst = 0 NC_ABI_CONSTANTS(NC_ABI_COUNT);
    int bad = nc_abi_match("device_cublaslt.c", tables, sizes, 1, nc_abi_offsets, nc_abi_names, n);
    printf("device_cublaslt.c: %zu entry points' signatures, %zu constants and %d layout facts checked against "
           "cublasLt.h %d.%d.%d at compile time; its dlsym table against them: %s\n",
           n, nconst, NC_ABI_NLAYOUTS, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH, bad ? "FAIL" : "ok");
    if (!lib) return bad;
    NcCublasLt *lt = nc_calloc(1, sizeof *lt);
    NcError e;
    if (load(lt, &lib, 1, &e)) {
        printf("FAIL device_cublaslt.c: %s\n", e.msg);
        free(lt);
        return bad + 1;
    }
    printf("device_cublaslt.c: %s has all %zu of its entry points\n", lib, sizes[0]);
    /* the library's own checks, which setup()'s success below stands on */
    Desc op = NULL, layout = NULL, pref = NULL;
    const uint64_t u64 = 8;
    const int32_t i32 = 1;
    if (lt->cublasLtMatmulDescCreate(&op, COMPUTE_32F, R_32F) ||
        lt->cublasLtMatrixLayoutCreate(&layout, R_32F, 4, 4, 4) || lt->cublasLtMatmulPreferenceCreate(&pref)) {
        printf("FAIL device_cublaslt.c: creating a descriptor failed without a GPU\n");
        bad++;
    } else {
        bad += nc_abi_refused("an epilogue of 8 bytes",
                              lt->cublasLtMatmulDescSetAttribute(op, DESC_EPILOGUE, &u64, sizeof u64));
        bad += nc_abi_refused("attribute 9999", lt->cublasLtMatmulDescSetAttribute(op, 9999, &i32, sizeof i32));
        bad += nc_abi_refused("a batch offset of 4 bytes",
                              lt->cublasLtMatrixLayoutSetAttribute(layout, LAYOUT_BATCH_OFFSET, &i32, sizeof i32));
        bad += nc_abi_refused("an alignment of 8 bytes",
                              lt->cublasLtMatmulPreferenceSetAttribute(pref, PREF_MIN_ALIGNMENT_A, &u64, sizeof u64));
    }
    if (op) lt->cublasLtMatmulDescDestroy(op);
    if (layout) lt->cublasLtMatrixLayoutDestroy(layout);
    if (pref) lt->cublasLtMatmulPreferenceDestroy(pref);
    int shapes = 0;
    const float *bias = (const float *)(uintptr_t)0x7f0000001000; /* never read: an attribute's value */
    for (int form = 0; form < 48; form++) {
        Shape *s = nc_calloc(1, sizeof *s);
        NcDevGemm *g = &s->g;
        g->bias_rows = form & 1, g->trans_b = form >> 1 & 1, g->batch = form & 4 ? 3 : 1;
        g->epilogue = form & 8 ? NC_DEV_EPI_BIAS_RELU : NC_DEV_EPI_BIAS;
        g->tf32 = form / 16 == 1, g->bf16 = form / 16 == 2;
        g->m = 64, g->n = 40, g->k = 24;
        g->stride_a = g->batch > 1 ? g->m * g->k : 0, g->stride_b = g->batch > 1 ? g->k * g->n : 0;
        g->stride_c = g->batch > 1 ? g->m * g->n : 0;
        const uint32_t align[2][4] = {{256, 256, 256, 256}, {4, 16, 8, 4}};
        memcpy(s->align, align[form / 2 % 2], sizeof s->align);
        const char *what = "";
        const int r = setup(lt, s, bias, &what);
        if (strcmp(what, "cublasLtMatmulAlgoGetHeuristic") || r != CUBLAS_STATUS_NOT_INITIALIZED) {
            printf("FAIL device_cublaslt.c: GEMM form %d (bias per %s, trans_b %d, batch %lld, %s, %s): %s gave "
                   "status %d%s\n",
                   form, g->bias_rows ? "row" : "column", g->trans_b, (long long)g->batch,
                   g->epilogue == NC_DEV_EPI_BIAS_RELU ? "relu" : "bias",
                   g->bf16   ? "bf16"
                   : g->tf32 ? "tf32"
                             : "f32",
                   what, r, r ? "" : " (a handle without a GPU?)");
            bad++;
        } else
            shapes++;
        shape_free(lt, s);
    }
    printf("device_cublaslt.c: setup() for %d of 48 GEMM forms: every descriptor, layout, preference and attribute "
           "accepted by %s, up to cublasLtMatmulAlgoGetHeuristic (a GPU's)\n",
           shapes, lib);
    nc_cublaslt_close(lt);
    return bad;
}
