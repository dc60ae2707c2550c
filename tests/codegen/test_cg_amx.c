/* test_cg_amx.c — the AMX tile helpers (cg_amx.h) and the reduced-precision
 * feature queries:
 *
 *   which CPUs LLVM gives AMX and AVX512-BF16 (Sapphire Rapids both,
 *   Cooper Lake and Zen 4 AVX512-BF16 alone, Zen 3 and Skylake-AVX512
 *   neither) — checked on any host;
 *   a tile kernel (LDTILECFG, TILEZERO, TILELOADD, TDPBF16PS, TILESTORED,
 *   TILERELEASE) JIT-compiled and run against the same products in C, with
 *   the process's permission asked first (runtime/support/amx.h) — only
 *   where the CPU has AMX ("skipped: no AMX" elsewhere). */
#include "codegen/cpu/cg_amx.h"
#include "codegen/cpu/cg_precision.h"
#include "runtime/support/amx.h"
#include "tests/codegen/cg_test.h"

static void check_cpu(const char *cpu, int amx, int bf16) {
    NcCgTarget t;
    NcError e;
    if (nc_cg_target_init(&t, cpu, NULL, &e)) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    CHECK_MSG(nc_cg_target_amx_bf16(&t) == amx, "%s: AMX-BF16 %d", cpu, nc_cg_target_amx_bf16(&t));
    CHECK_MSG(nc_cg_target_amx_int8(&t) == amx, "%s: AMX-INT8 %d", cpu, nc_cg_target_amx_int8(&t));
    CHECK_MSG(nc_cg_target_avx512bf16(&t) == bf16, "%s: AVX512-BF16 %d", cpu, nc_cg_target_avx512bf16(&t));
    nc_cg_target_free(&t);
}

static float widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* C (16 x 16 f32, tmm0) = A (16 x 32 bf16, tmm4) . B (32 x 16, pairs: tmm6), twice over k (accumulating),
 * A's rows lda bf16 apart. */
static void check_tiles(const NcCgTarget *t) {
    NcCgModule m;
    nc_cg_module_init(&m, t, "amx");
    LLVMValueRef fn = nc_cg_begin_tile_fn(&m, "tiles");
    (void)fn;
    const int64_t lda = 80;
    const int rows[8] = {16, 0, 0, 0, 16, 0, 16, 0}, colsb[8] = {64, 0, 0, 0, 64, 0, 64, 0};
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef a = cgb_arg_ptr(&m, in, 0), b = cgb_arg_ptr(&m, in, 1), c = cgb_arg_ptr(&m, LLVMGetParam(fn, 1), 0);
    cg_amx_ldtilecfg(&m, cg_amx_config(&m, rows, colsb));
    cg_amx_zero(&m, 0);
    for (int s = 0; s < 2; s++) {
        cg_amx_load(&m, 4, cgb_gep(&m, a, cgb_i64(&m, s * 16)), lda * 2); /* 16 floats = 32 bf16 */
        cg_amx_load(&m, 6, cgb_gep(&m, b, cgb_i64(&m, s * 256)), 64);
        cg_amx_dp(&m, "llvm.x86.tdpbf16ps", 0, 4, 6);
    }
    cg_amx_store(&m, 0, c, 64);
    cg_amx_release(&m);
    LLVMBuildRetVoid(m.b);
    NcError e;
    NcCgJit *jit = nc_cg_jit_new(&e);
    CHECK_MSG(jit && !nc_cg_jit_add(jit, &m, &e), "%s", e.msg);
    NcTileFn f = (NcTileFn)nc_cg_jit_lookup(jit, "tiles", &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(f != NULL, "%s", e.msg);
    if (!f) return;
    static uint16_t A[16 * 80], B[2 * 16 * 32];
    static float C[256], want[256];
    float *x = cgt_random(16 * 80 + 1024);
    for (int i = 0; i < 16 * 80; i++) A[i] = nc_bf16_round(x[i]);
    for (int i = 0; i < 1024; i++) B[i] = nc_bf16_round(x[16 * 80 + i]);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            double s = 0;
            for (int k = 0; k < 64; k++) /* B: step k / 32, pair row (k % 32) / 2, column j, element k % 2 */
                s += (double)widen(A[i * lda + k]) * widen(B[(k / 32) * 512 + (k % 32) / 2 * 32 + j * 2 + k % 2]);
            want[i * 16 + j] = (float)s;
        }
    const float *ins[2] = {(const float *)(const void *)A, (const float *)(const void *)B};
    float *outs[1] = {C};
    f(ins, outs, 0, 1);
    double err;
    CHECK_MSG(cgt_close(C, want, 256, 1e-5, &err), "tile product: relative error %g", err);
    printf("tiles: TDPBF16PS against C, relative error %.2e\n", err);
    free(x);
    nc_cg_jit_free(jit);
}

int main(void) {
    check_cpu("sapphirerapids", 1, 1);
    check_cpu("cooperlake", 0, 1);
    check_cpu("znver4", 0, 1);
    check_cpu("znver3", 0, 0);
    check_cpu("skylake-avx512", 0, 0);
    NcCgTarget t;
    cgt_host_target(&t);
    NcError e;
    if (!nc_amx_cpu_has_bf16() || !nc_cg_target_amx_bf16(&t)) {
        printf("skipped: no AMX (the tile kernel was not run)\n");
    } else if (nc_amx_enable(&e)) {
        CHECK_MSG(0, "%s", e.msg);
    } else {
        check_tiles(&t);
    }
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
