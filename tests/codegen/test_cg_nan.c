/* test_cg_nan.c — generated activations pass NaN through as PyTorch does
 * (torch.relu(nan), clamp(nan, 0, 6), silu(nan), sigmoid(nan) are nan), and
 * give the right values elsewhere: ReLU, ReLU6, SiLU and sigmoid as fused
 * epilogues (cgb_activation_n), which every generated conv, GEMM and
 * elementwise kernel applies its activation through. */
#include <math.h>

#include "tests/codegen/cg_test.h"

enum { N = 11 };
static const float input[N] = {NAN, -1.5f, 0.0f, 2.5f, 7.0f, -INFINITY, INFINITY, -NAN, 5.99f, -0.0f, NAN};

/* y = act(x) over N floats: whole vectors, then the ragged rest. */
static void emit_act(NcCgModule *m, int kind) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, "act");
    LLVMValueRef x = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    for (int i = 0; i < N; i += m->vw) {
        const int lanes = N - i < m->vw ? N - i : m->vw;
        LLVMValueRef p = cgb_gep(m, x, cgb_i64(m, i)), q = cgb_gep(m, y, cgb_i64(m, i));
        LLVMValueRef v = lanes == m->vw ? cgb_load(m, p) : cgb_load_n(m, p, lanes);
        cgb_activation_n(m, kind, 0.0f, 6.0f, &v, 1);
        if (lanes == m->vw)
            cgb_store(m, v, q);
        else
            cgb_store_n(m, v, q, lanes);
    }
    LLVMBuildRetVoid(m->b);
}

/* The kernel for `kind` run once on `in`, into out. */
static int run(const NcCgTarget *t, int kind, const float *const *in, float *out) {
    NcError e;
    NcCgJit *jit = nc_cg_jit_new(&e);
    CHECK_MSG(jit != NULL, "%s", e.msg);
    if (!jit) return -1;
    NcCgModule m;
    nc_cg_module_init(&m, t, "nan");
    emit_act(&m, kind);
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "act", &e);
    CHECK_MSG(fn != NULL, "%s", e.msg);
    float *const outs[1] = {out};
    if (fn) fn(in, outs, 0, 1);
    nc_cg_jit_free(jit);
    return fn ? 0 : -1;
}

int main(void) {
    NcError e;
    NcCgTarget t;
    CHECK_MSG(nc_cg_target_init(&t, NULL, NULL, &e) == 0, "%s", e.msg);
    const float *in[1] = {input};
    for (int kind = NC_EPI_RELU; kind <= NC_EPI_SIGMOID; kind++) {
        float y[N];
        if (run(&t, kind, in, y)) continue;
        static const char *const names[] = {"relu", "relu6", "silu", "sigmoid"};
        for (int i = 0; i < N; i++) {
            const double x = input[i], sig = 1.0 / (1.0 + exp(-x));
            const double want = isnan(x) ? x
                                : kind == NC_EPI_SILU
                                    ? (isinf(x) && x < 0 ? NAN : x * sig) /* torch: silu(-inf) is nan */
                                : kind == NC_EPI_SIGMOID        ? sig
                                : x < 0                         ? 0.0
                                : kind == NC_EPI_CLAMP && x > 6 ? 6.0
                                                                : x;
            const int ok = isnan(want) ? isnan(y[i])
                                       : y[i] == want || fabs(y[i] - want) <= 1e-5 * (fabs(want) > 1 ? fabs(want) : 1);
            CHECK_MSG(ok, "%s(%g) = %g, expected %g", names[kind], x, (double)y[i], want);
        }
    }
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
