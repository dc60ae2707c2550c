/* test_cg_gemm.c — the GEMM / 1x1-convolution kernels against the reference
 * convolution (NHWC activations): with and without bias and ReLU, sizes that are
 * and are not multiples of the vector width and of every block, batch > 1,
 * the default blocking and forced tiny blocks (several reduction passes,
 * many row and column blocks), tiles run in any order across threads; an SE
 * input scale, and A packed per tile (spec.pack_a) at shapes ragged in every
 * block. */
#include "codegen/cpu/cg_gemm.h"
#include "tests/codegen/cg_test.h"

static int cases;

/* NCHW [n, c, hw] <-> NHWC [n, hw, c]: the reference is NCHW */
static void transpose(const float *src, float *dst, int64_t n, int64_t rows, int64_t cols) {
    for (int64_t b = 0; b < n; b++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) dst[(b * cols + c) * rows + r] = src[(b * rows + r) * cols + c];
}

/* via_object: through the AOT path — an object file, linked by the JIT */
static void check_via(const NcCgTarget *t, NcGemmSpec s, int via_object) {
    NcError e;
    NcGemmPlan p;
    char what[200];
    snprintf(
        what, sizeof what,
        "batch %lld, %lld -> %lld, hw %lld, bias %d relu %d, block %dx%d kc %lld mc %lld nc %lld, scale %d pack %d",
        (long long)s.batch, (long long)s.cin, (long long)s.cout, (long long)s.hw, s.bias, s.relu, s.mr, s.nv,
        (long long)s.kc, (long long)s.mc, (long long)s.nc, s.in_scale, s.pack_a);
    if (s.in_scale) s.in_scale = 3; /* in[3]: one scale per (image, input channel) */
    int rc = nc_cg_gemm_plan(&p, &s, t, &e);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    if (rc) return;
    NcCgJit *jit = nc_cg_jit_new(&e);
    CHECK_MSG(jit != NULL, "%s", e.msg);
    if (!jit) return;
    NcCgModule m;
    nc_cg_module_init(&m, t, "gemm");
    nc_cg_gemm_emit(&m, &p, "gemm");
    if (via_object) {
        char path[] = "/tmp/netc_test_gemm_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd >= 0) close(fd);
        rc = nc_cg_module_emit_object(&m, path, &e);
        if (!rc) rc = nc_cg_jit_add_object(jit, path, &e);
        unlink(path);
    } else {
        rc = nc_cg_jit_add(jit, &m, &e);
    }
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "gemm", &e);
    if (fn) {
        const int64_t n = s.batch, C = s.cin, O = s.cout, hw = s.hw;
        float *x = cgt_guarded(n * C * hw), *w = cgt_random(O * C), *bias = s.bias ? cgt_guarded(O) : NULL;
        float *want = nc_malloc((size_t)(n * O * hw) * sizeof(float));
        /* the output is surrounded by canaries: masked tails write nothing outside */
        float *ybuf = nc_malloc((size_t)(n * O * hw + 2 * 64) * sizeof(float)), *y = ybuf + 64;
        for (int64_t i = 0; i < n * O * hw + 128; i++) ybuf[i] = 42.0f;
        float *packed = cgt_guarded(p.packed_floats);
        nc_cg_gemm_pack(&p, w, packed);
        float *scale = s.in_scale ? cgt_guarded(n * C) : NULL, *xs = x;
        if (scale) { /* the reference convolves the scaled input */
            xs = nc_malloc((size_t)(n * C * hw) * sizeof(float));
            for (int64_t i = 0; i < n * C * hw; i++) xs[i] = x[i] * scale[i / hw];
        }
        cgt_ref_conv(xs, w, bias, want, n, C, 1, hw, O, 1, 1, 1, 0, 1, s.relu);
        if (xs != x) free(xs);
        float *xin = cgt_guarded(n * C * hw), *tmp = nc_malloc((size_t)(n * O * hw) * sizeof(float)), *got = tmp;
        transpose(x, xin, n, C, hw);
        const float *in[4] = {xin, packed, bias, scale};
        float *out[1] = {y};
        cgt_run(fn, in, out, p.tiles);
        transpose(y, tmp, n, hw, O);
        double err;
        CHECK_MSG(cgt_close(got, want, n * O * hw, 1e-5, &err), "%s: relative error %g", what, err);
        int canaries = 1;
        for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f && y[n * O * hw + i] == 42.0f;
        CHECK_MSG(canaries, "%s: wrote outside the output", what);
        /* the same tiles in reverse, in uneven ranges: the result may not depend on the order */
        memset(y, 0, (size_t)(n * O * hw) * sizeof(float));
        for (int64_t t1 = p.tiles; t1 > 0;) {
            int64_t t0 = t1 > 3 ? t1 - 3 : 0;
            fn(in, out, t0, t1);
            t1 = t0;
        }
        transpose(y, tmp, n, hw, O);
        CHECK_MSG(cgt_close(got, want, n * O * hw, 1e-5, &err), "%s (tiles reversed): relative error %g", what, err);
        cgt_guarded_free(xin, n * C * hw), cgt_guarded_free(scale, n * C);
        cgt_guarded_free(x, n * C * hw), cgt_guarded_free(bias, O), cgt_guarded_free(packed, p.packed_floats);
        free(tmp), free(w), free(want), free(ybuf);
        cases++;
    } else {
        CHECK_MSG(0, "%s: %s", what, e.msg);
    }
    nc_cg_jit_free(jit);
}

static void check(const NcCgTarget *t, NcGemmSpec s) { check_via(t, s, 0); }

/* Kernels for other CPUs compile (they cannot run here): the AVX-512 ones
 * really use zmm registers — also on Intel parts LLVM tunes for 256-bit
 * vectors — and every one uses FMA. */
static void check_cross(const char *cpu, const char *reg) {
    NcError e;
    NcCgTarget t;
    int rc = nc_cg_target_init(&t, cpu, NULL, &e);
    CHECK_MSG(rc == 0, "%s: %s", cpu, e.msg);
    if (rc) return;
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = 1, s.cin = 70, s.cout = 45, s.hw = 33, s.bias = 1, s.relu = 1;
    NcGemmPlan p;
    CHECK_MSG(nc_cg_gemm_plan(&p, &s, &t, &e) == 0, "%s: %s", cpu, e.msg);
    NcCgModule m;
    nc_cg_module_init(&m, &t, "cross");
    nc_cg_gemm_emit(&m, &p, "gemm");
    CHECK_MSG(nc_cg_module_optimize(&m, &e) == 0, "%s: %s", cpu, e.msg);
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    CHECK_MSG(!LLVMTargetMachineEmitToMemoryBuffer(t.tm, m.mod, LLVMAssemblyFile, &err, &buf), "%s: %s", cpu, err);
    if (buf) {
        size_t n = LLVMGetBufferSize(buf);
        char *asm_text = nc_strndup(LLVMGetBufferStart(buf), n);
        CHECK_MSG(strstr(asm_text, reg) != NULL, "%s: no %s registers in the kernel", cpu, reg);
        CHECK_MSG(strstr(asm_text, "vfmadd") != NULL, "%s: no FMA in the kernel", cpu);
        free(asm_text);
        LLVMDisposeMemoryBuffer(buf);
    }
    if (err) LLVMDisposeMessage(err);
    nc_cg_module_dispose(&m);
    nc_cg_target_free(&t);
}

static NcGemmSpec spec(int64_t batch, int64_t cin, int64_t cout, int64_t hw, int bias, int relu) {
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = batch, s.cin = cin, s.cout = cout, s.hw = hw, s.bias = bias, s.relu = relu;
    return s;
}

static int plan_for(const char *cpu, const char *blocking, int64_t cin, int64_t cout, int64_t hw, NcCgTarget *t,
                    NcGemmPlan *p) {
    NcError e;
    if (nc_cg_target_init(t, cpu, NULL, &e) || (blocking && nc_cg_target_block_as(t, blocking, &e))) {
        CHECK_MSG(0, "%s: %s", cpu, e.msg);
        return -1;
    }
    const NcGemmSpec sp = spec(1, cin, cout, hw, 1, 1);
    const int rc = nc_cg_gemm_plan(p, &sp, t, &e);
    CHECK_MSG(rc == 0, "%s: %s", cpu, e.msg);
    if (rc) nc_cg_target_free(t);
    return rc;
}

/* AVX2 keeps the blocks measured on Zen 3: 6 x 16, kc 256 (evened), no
 * prefetch. */
static void avx2_plan_is(const char *cpu, int64_t cin, int64_t cout, int64_t hw, int64_t kc) {
    NcCgTarget t;
    NcGemmPlan p;
    if (plan_for(cpu, NULL, cin, cout, hw, &t, &p)) return;
    CHECK_MSG(p.s.mr == 6 && p.nr == 16 && p.s.kc == kc && p.s.pf < 0, "%s %lld -> %lld: %dx%d kc %lld pf %d", cpu,
              (long long)cin, (long long)cout, p.s.mr, p.nr, (long long)p.s.kc, p.s.pf);
    nc_cg_target_free(&t);
}

/* AVX-512 (cg_gemm.c's block_avx512): a block of 20-28 accumulators that
 * fits the 32 registers with B's vectors and a broadcast; at most 7 rows
 * when K is a multiple of 1024 (the rows alias in L1); kc within 16 KB of
 * B or 64; the A prefetch; at least as many tiles as 8 threads need or the
 * AVX2 plan makes; and AVX-512's blocks emulated on an AVX2 CPU are the
 * same plan in floats. */
static void avx512_plan_ok(const char *cpu, int64_t cin, int64_t cout, int64_t hw) {
    NcCgTarget t, te, t2;
    NcGemmPlan p, pe, p2;
    if (plan_for(cpu, NULL, cin, cout, hw, &t, &p)) return;
    const int nvb = (int)(p.nr / 16), acc = p.s.mr * nvb;
    char what[160];
    snprintf(what, sizeof what, "%s %lld -> %lld @ %lld: %dx%d kc %lld pf %d, %lld tiles", cpu, (long long)cin,
             (long long)cout, (long long)hw, p.s.mr, p.nr, (long long)p.s.kc, p.s.pf, (long long)p.tiles);
    printf("plan %s\n", what);
    CHECK_MSG(p.nr % 16 == 0 && acc >= 20 && acc <= 28 && acc + nvb + 1 <= 32, "%s: register block", what);
    CHECK_MSG(cin % 1024 || p.s.mr <= 7, "%s: over 7 rows with K a multiple of 1024", what);
    CHECK_MSG(p.s.kc <= 64 || p.s.kc * p.nr * 4 <= 16 * 1024 || p.nkb == 1, "%s: kc", what);
    CHECK_MSG(p.s.pf > 0, "%s: no prefetch", what);
    if (!plan_for("haswell", NULL, cin, cout, hw, &t2, &p2)) {
        CHECK_MSG(p.tiles >= (p2.tiles < 8 ? p2.tiles : 8), "%s: fewer tiles than 8 or AVX2's %lld", what,
                  (long long)p2.tiles);
        nc_cg_target_free(&t2);
    }
    /* 4x96 costs more on Intel's CPUs (cg_gemm.c's block_avx512): AVX-512's blocks emulated on an Intel AVX2 CPU
     * are the Intel plan */
    const int amd = !strncmp(cpu, "znver", 5);
    if (!amd && !plan_for("haswell", "avx512", cin, cout, hw, &te, &pe)) {
        CHECK_MSG(pe.s.mr == p.s.mr && pe.nr == p.nr && pe.s.kc == p.s.kc && pe.s.mc == p.s.mc && pe.s.nc == p.s.nc &&
                      pe.tiles == p.tiles && pe.s.pf == p.s.pf,
                  "%s: emulated on haswell %dx%d kc %lld mc %lld nc %lld", what, pe.s.mr, pe.nr, (long long)pe.s.kc,
                  (long long)pe.s.mc, (long long)pe.s.nc);
        nc_cg_target_free(&te);
    }
    nc_cg_target_free(&t);
}

/* A is packed by default only for an input scale with 3 or more vectors a panel, on AVX-512's
 * blocks (cg_gemm.c's pack_pays); never on AVX2's. */
static void pack_default_is(const char *cpu, int64_t cin, int64_t cout, int64_t hw, int in_scale, int want) {
    NcCgTarget t;
    NcGemmPlan p;
    NcError e;
    if (nc_cg_target_init(&t, cpu, NULL, &e)) return;
    NcGemmSpec s = spec(1, cin, cout, hw, 1, 0);
    s.in_scale = in_scale;
    const int rc = nc_cg_gemm_plan(&p, &s, &t, &e);
    CHECK_MSG(rc == 0 && (p.s.pack_a > 0) == want, "%s %lld -> %lld @ %lld scale %d: pack_a %d, want %d", cpu,
              (long long)cin, (long long)cout, (long long)hw, in_scale, p.s.pack_a, want);
    nc_cg_target_free(&t);
}

/* B is prefetched ahead by default with 1 MB of weights or more and 2 row panels or more a block, on
 * AVX-512's blocks (cg_gemm.c's prefetch_b_pays); never on AVX2's. */
static void pf_b_default_is(const char *cpu, int64_t batch, int64_t cin, int64_t cout, int64_t hw, int want) {
    NcCgTarget t;
    NcGemmPlan p;
    NcError e;
    if (nc_cg_target_init(&t, cpu, NULL, &e)) return;
    const NcGemmSpec s = spec(batch, cin, cout, hw, 1, 0);
    const int rc = nc_cg_gemm_plan(&p, &s, &t, &e);
    CHECK_MSG(rc == 0 && (p.s.pf_b > 0) == want, "%s %lld x %lld -> %lld @ %lld: pf_b %d, want %d", cpu,
              (long long)batch, (long long)cin, (long long)cout, (long long)hw, p.s.pf_b, want);
    nc_cg_target_free(&t);
}

static void check_plans(void) {
    if (getenv("NETC_CG_BLOCKING")) return; /* the names below are the CPUs' own ISAs */
    pf_b_default_is("sapphirerapids", 1, 2048, 512, 49, 1);
    pf_b_default_is("sapphirerapids", 1, 512, 128, 784, 0);
    pf_b_default_is("sapphirerapids", 1, 2048, 1000, 1, 0);
    pf_b_default_is("znver3", 1, 2048, 512, 49, 0);
    pack_default_is("sapphirerapids", 480, 80, 196, 1, 1);
    pack_default_is("sapphirerapids", 480, 80, 196, 0, 0);
    pack_default_is("sapphirerapids", 96, 24, 3136, 1, 0);
    pack_default_is("sapphirerapids", 240, 80, 784, 1, 1);
    pack_default_is("znver3", 480, 80, 196, 1, 0);
    avx2_plan_is("haswell", 512, 128, 784, 256);
    avx2_plan_is("znver3", 64, 256, 3136, 64);
    avx2_plan_is("znver3", 2048, 512, 49, 256);
    static const int64_t shapes[][3] = {{64, 256, 3136},  {256, 64, 3136},  {512, 128, 784}, {128, 512, 784},
                                        {1024, 256, 196}, {256, 1024, 196}, {2048, 512, 49}, {512, 2048, 49},
                                        {256, 32, 196},   {1024, 40, 196},  {96, 24, 3136},  {1152, 320, 49}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        avx512_plan_ok("znver4", shapes[i][0], shapes[i][1], shapes[i][2]);
        avx512_plan_ok("sapphirerapids", shapes[i][0], shapes[i][1], shapes[i][2]);
    }
    { /* a shape 4x96 was measured on: Zen 4 takes it (1 point faster there), the Xeon 6x64 (2-5 faster) */
        NcCgTarget t;
        NcGemmPlan p;
        if (!plan_for("znver4", NULL, 128, 512, 784, &t, &p)) {
            CHECK_MSG(p.s.mr == 4 && p.nr == 96, "znver4 128 -> 512 @ 784: %dx%d", p.s.mr, p.nr);
            nc_cg_target_free(&t);
        }
        if (!plan_for("sapphirerapids", NULL, 128, 512, 784, &t, &p)) {
            CHECK_MSG(p.s.mr != 4, "sapphirerapids 128 -> 512 @ 784: %dx%d", p.s.mr, p.nr);
            nc_cg_target_free(&t);
        }
    }
}

int main(void) {
    NcError e;
    NcCgTarget t;
    cgt_host_target(&t);
    /* batch, cin, cout, hw: edges, resnet-like, and odd */
    static const int64_t shapes[][4] = {
        {1, 1, 1, 1},     {1, 3, 5, 7},     {2, 17, 13, 29},   {1, 64, 64, 56},   {3, 37, 70, 50},
        {1, 300, 19, 45}, {2, 600, 33, 11}, {1, 256, 64, 196}, {1, 512, 130, 49}, {2, 64, 256, 100},
        {1, 16, 48, 8},   {4, 9, 23, 1},    {1, 1030, 7, 17},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int bias = 0; bias < 2; bias++)
            check(&t, spec(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], bias, (int)(i % 3 != 1)));
    /* forced small blocks: several reduction passes (first / middle / last
     * peeled), several row and column blocks with ragged ends, other
     * register blocks */
    static const int blocks[][5] = {
        {6, 2, 7, 6, 16}, {4, 1, 5, 8, 8}, {3, 3, 64, 9, 24}, {1, 1, 1, 1, 8}, {5, 2, 16, 10, 48}};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        NcGemmSpec s = spec(2, 45, 29, 37, 1, (int)(i % 2));
        s.mr = blocks[i][0], s.nv = blocks[i][1], s.kc = blocks[i][2], s.mc = blocks[i][3], s.nc = blocks[i][4];
        check(&t, s);
    }
    /* a random sweep */
    for (int i = 0; i < 16; i++) {
        NcGemmSpec s = spec(cgt_int(1, 3), cgt_int(1, 300), cgt_int(1, 80), cgt_int(1, 150), (int)cgt_int(0, 1),
                            (int)cgt_int(0, 1));
        if (i % 3 == 0) s.kc = cgt_int(1, 64), s.mc = cgt_int(1, 40), s.nc = cgt_int(1, 64);
        check(&t, s);
    }
    /* an SE input scale, A packed and B prefetched ahead (forced on and off): M, K and N ragged against
     * every block (a block of one ragged row panel, of one full one and a ragged one) —
     * several reduction passes (the last shorter), row blocks whose last panel is short, column
     * blocks with a masked last vector — one image or per-image GEMMs */
    static const int packs[][9] = {
        /* batch, cin, cout, hw, mr, nv, kc, mc, nc (0: the plan's) */
        {1, 45, 29, 37, 6, 2, 7, 13, 16},  {2, 70, 37, 29, 5, 2, 16, 11, 24}, {3, 33, 50, 23, 4, 1, 10, 9, 16},
        {1, 300, 130, 49, 0, 0, 0, 0, 0},  {2, 131, 97, 61, 0, 0, 0, 0, 0},   {2, 17, 13, 5, 3, 1, 64, 4, 8},
        {1, 40, 37, 36, 6, 1, 16, 12, 16}, {1, 20, 37, 3, 6, 1, 16, 6, 16},   {1, 20, 37, 7, 6, 2, 8, 6, 32},
    };
    for (size_t i = 0; i < sizeof packs / sizeof packs[0]; i++)
        for (int v = 0; v < 4; v++) {
            NcGemmSpec s = spec(packs[i][0], packs[i][1], packs[i][2], packs[i][3], (int)(i % 2), v < 2);
            s.in_scale = v % 2, s.pack_a = v < 2 ? 1 : -1, s.pf_b = v == 1 || v == 2 ? 1 : -1;
            s.mr = packs[i][4], s.nv = packs[i][5], s.kc = packs[i][6], s.mc = packs[i][7], s.nc = packs[i][8];
            check(&t, s);
        }
    /* the object file path gives the same kernel */
    check_via(&t, spec(2, 70, 37, 29, 1, 1), 1);
    check_cross("znver4", "zmm");
    check_cross("skylake-avx512", "zmm");
    check_cross("sapphirerapids", "zmm");
    check_cross("haswell", "ymm");
    check_plans();
    /* plans that cannot work are refused */
    NcGemmPlan p;
    NcGemmSpec bad = spec(1, 8, 8, 8, 0, 0);
    bad.mr = 16, bad.nv = 8;
    CHECK(nc_cg_gemm_plan(&p, &bad, &t, &e) == -1 && strstr(e.msg, "register"));
    bad = spec(1, 0, 8, 8, 0, 0);
    CHECK(nc_cg_gemm_plan(&p, &bad, &t, &e) == -1);
    printf("%d kernels checked\n", cases);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
