/* test_cg_eltwise.c — the infrastructure end to end on the simplest kernel:
 * host target, module, O3, in-memory object, ORC JIT, tile ranges; a fused
 * bias + ReLU over odd plane sizes (ragged vector tails), in place and not. */
#include "tests/codegen/cg_test.h"
#include "codegen/cpu/cg_eltwise.h"

static void check_shape(NcCgJit *jit, const NcCgTarget *t, int64_t n, int64_t c, int64_t hw, int relu, int inplace) {
    NcError e;
    NcCgModule m;
    nc_cg_module_init(&m, t, "eltwise");
    nc_cg_emit_bias_relu(&m, "bias_relu", n, c, hw, relu);
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc) return;
    NcTileFn fn = (NcTileFn)nc_cg_jit_lookup(jit, "bias_relu", &e);
    CHECK_MSG(fn != NULL, "%s", e.msg);
    if (!fn) return;
    float *x = cgt_guarded(n * c * hw), *bias = cgt_guarded(c), *want = nc_malloc((size_t)(n * c * hw) * sizeof(float));
    float *y = inplace ? x : nc_malloc((size_t)(n * c * hw + 1) * sizeof(float));
    for (int64_t i = 0; i < n * c * hw; i++) {
        float v = x[i] + bias[(i / hw) % c];
        want[i] = relu && v < 0 ? 0 : v;
    }
    if (!inplace) y[n * c * hw] = 42.0f; /* a canary: masked tails write nothing past the end */
    const float *in[2] = {x, bias};
    float *out[1] = {y};
    /* two uneven ranges, as two threads might get them */
    fn(in, out, 0, n * c / 3);
    fn(in, out, n * c / 3, n * c);
    double err;
    CHECK_MSG(cgt_close(y, want, n * c * hw, 0, &err), "bias_relu %lldx%lldx%lld: error %g", (long long)n, (long long)c,
              (long long)hw, err);
    if (!inplace) CHECK(y[n * c * hw] == 42.0f);
    cgt_guarded_free(x, n * c * hw), cgt_guarded_free(bias, c), free(want);
    if (!inplace) free(y);
}

int main(void) {
    NcError e;
    NcCgTarget t;
    CHECK_MSG(nc_cg_target_init(&t, NULL, NULL, &e) == 0, "%s", e.msg);
    printf("host: %s (%s), %d-float vectors\n", t.cpu, t.triple, t.vw);
    CHECK(t.vw == 4 || t.vw == 8 || t.vw == 16);
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 3, 7}, {2, 5, 17}, {3, 4, 64}, {1, 64, 3136}, {2, 7, 49}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        /* one JIT per kernel: every module defines the same name */
        NcCgJit *jit = nc_cg_jit_new(&e);
        CHECK_MSG(jit != NULL, "%s", e.msg);
        if (!jit) break;
        check_shape(jit, &t, shapes[i][0], shapes[i][1], shapes[i][2], (int)(i % 2 == 0), (int)(i % 3 == 1));
        nc_cg_jit_free(jit);
    }
    /* the vector width follows the CPU asked for, whatever the host is */
    static const struct { const char *cpu; int vw; } cpus[] = {{"znver4", 16}, {"haswell", 8}, {"znver3", 8}, {"x86-64", 4}};
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
        NcCgTarget o;
        CHECK_MSG(nc_cg_target_init(&o, cpus[i].cpu, NULL, &e) == 0, "%s", e.msg);
        CHECK_MSG(o.vw == cpus[i].vw, "%s: %d-float vectors, expected %d", cpus[i].cpu, o.vw, cpus[i].vw);
        nc_cg_target_free(&o);
    }
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
