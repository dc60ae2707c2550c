/* test_cg_amx_gemm.c — the bf16 convolution on AMX tiles and on AVX512-BF16
 * (cg_amx_gemm.h) against the reference convolution (ir/ref_conv.c).
 *
 * The data are made exact in bf16 — x and the weights rounded to bf16
 * before the reference sees them, SE scales powers of two — so that the
 * kernel's own conversions lose nothing and the products are exact in f32:
 * what is left is f32 summation in another order, checked to 1e-5 of the
 * largest output (a conversion, a tile or a pair read from the wrong place
 * is an error of order 1).  Shapes: 1x1 (whole and ragged panels, M and K
 * not multiples of 16 or 32), strided 1x1, 3x3 stride 1 and 2 with padding,
 * a 7x7 stem, an SE-scaled 1x1, grouped convs (2 and 5 groups), epilogues (bias, ReLU, SiLU, a residual,
 * per-channel products); tiles run across threads and again in reverse
 * order in uneven ranges, y fenced by canaries; each both fused (one
 * stage, A made on the stack) and in two stages (A in the scratch), and
 * each again with bf16 activations (the input, the output and a residual
 * stored bf16, as passes/assign_dtype.c stores them between these kernels):
 * the output then checked to 2^-7 of the largest (its own rounding is at
 * most 2^-8 of a value; a bf16 tensor read as f32, or written as f32, is
 * an error of order 1 or a fault).  Each instruction set runs where the
 * host has it: AMX needs AMX-BF16 ("skipped: no AMX" elsewhere),
 * AVX512-BF16 runs on any CPU that has that (the AMX hosts included); on
 * other hosts only the kernels' compilation for Sapphire Rapids and Cooper
 * Lake is checked. */
#include "codegen/cpu/cg_amx.h"
#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_precision.h"
#include "runtime/support/amx.h"
#include "tests/codegen/cg_test.h"

static int cases;

typedef struct Case {
    int64_t n, c, h, w, o;
    int k, s, pad, groups;
    int bias, in_scale;
    const char *epi; /* cgt_conv_graph's letters */
} Case;

static float bf16_exact(float f) {
    uint32_t u = (uint32_t)nc_bf16_round(f) << 16;
    memcpy(&f, &u, 4);
    return f;
}

/* the kernel's output as f32: as it lies, or widened from bf16 */
static void y_f32(const float *y, float *dst, int64_t n, int bf16) {
    for (int64_t i = 0; i < n; i++) {
        if (!bf16) {
            dst[i] = y[i];
            continue;
        }
        uint16_t h;
        memcpy(&h, (const char *)y + 2 * i, 2);
        const uint32_t u = (uint32_t)h << 16;
        memcpy(&dst[i], &u, 4);
    }
}

static uint16_t *to_bf16(const float *src, int64_t n) {
    uint16_t *h = nc_malloc((size_t)(n ? n : 1) * sizeof(uint16_t));
    nc_bf16_round_n(src, h, n);
    return h;
}

/* The direct form (cg_amx_gemm.h) the AMX plan must take for case k: a 1x1 stride-1 conv on bf16 input
 * (one group, no SE scale, whole k-steps), a KxK or strided conv with 16 or more channels a group (its
 * padded input in stride x stride phase planes); 0 none. */
static int direct_expected(const Case *k, int io) {
    if (k->k == 1 && k->s == 1) return io && k->groups == 1 && !k->in_scale && k->c % 32 == 0;
    return k->c / k->groups >= 16 ? 2 : 0;
}

/* Plans and emits case k for `kind` in `mode` (0: two stages, 1: fused, 2 and 3: direct, panels outer or
 * micro-blocks outer — skipped where the case has no direct form), its activations f32 or bf16 (io); with
 * run, checks it against the reference. */
static void check(const NcCgTarget *t, int kind, Case k, int run, int mode, int io) {
    const int fused = mode == 1 || mode == 3, direct = mode >= 2 ? direct_expected(&k, io) : 0;
    if (mode >= 2 && (!direct || kind != NC_BF16_AMX)) return;
    NcError e;
    char what[256];
    snprintf(what, sizeof what, "%s%s%s%s: n%lld c%lld %lldx%lld o%lld k%d s%d pad %d g%d bias %d scale %d epi '%s'",
             kind == NC_BF16_AMX ? "amx" : "avx512-bf16", fused ? " fused" : "", direct ? " direct" : "",
             io ? " bf16 io" : "", (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.o, k.k,
             k.s, k.pad, k.groups, k.bias, k.in_scale, k.epi);
    NcGraph *g = nc_graph_new("bf16");
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = k.k, a.stride[0] = a.stride[1] = k.s;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = k.pad, a.groups = k.groups;
    const int ni = cgt_conv_graph(g, k.n, k.c, k.h, k.w, k.o, a, k.bias, k.in_scale, k.epi, &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    if (ni < 0) {
        nc_graph_free(g);
        return;
    }
    const NcNode *nd = &g->nodes.data[ni];
    NcValue *xv = nc_val(g, nd->inputs[0]), *yv = nc_val(g, nd->outputs[0]);
    xv->layout = NC_LAYOUT_NHWC, yv->layout = NC_LAYOUT_NHWC;
    if (io) { /* the input, output and whole-tensor operands stored bf16 */
        xv->dtype = yv->dtype = NC_BF16;
        for (int i = nc_epi_first_input(&nd->attrs); i < nd->ninputs; i++)
            if (nc_shape_eq(nc_val(g, nd->inputs[i]), yv)) nc_val(g, nd->inputs[i])->dtype = NC_BF16;
    }
    NcBf16Plan p;
    const char *why = "";
    const int ok = nc_cg_bf16_plan(&p, g, nd, t, kind, &why);
    CHECK_MSG(ok && p.kind == kind && p.x_bf16 == io && p.y_bf16 == io, "%s: refused: %s", what, why);
    if (!ok) {
        nc_graph_free(g);
        return;
    }
    if (direct) {
        CHECK(!nc_cg_bf16_set_direct(&p, 3 - direct, fused));
        CHECK(nc_cg_bf16_set_direct(&p, direct, fused) && p.direct == direct && p.fused == fused);
    } else {
        nc_cg_bf16_set_fused(&p, fused);
        CHECK(!p.direct);
    }
    NcCgModule m;
    nc_cg_module_init(&m, t, "bf16");
    NcCgKernel kern = {0};
    nc_cg_bf16_emit(&m, &p, "conv", &kern);
    const int nstages = (fused && !direct) || direct == 1 ? 1 : 2;
    CHECK(nstages == 1 ? kern.stage[0] && !kern.stage[1] && !kern.scratch
                       : kern.stage[0] && kern.stage[1] && !kern.stage[2] && kern.scratch * 4 >= p.a_bytes);
    NcCgJit *jit = nc_cg_jit_new(&e);
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn cols = rc || nstages == 1 ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, direct ? "conv_pad" : "conv_cols", &e);
    NcTileFn mm = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "conv_mm", &e);
    NcTileFn stages[2] = {nstages == 1 ? mm : cols, mm};
    if (!run || !stages[0] || !mm) {
        CHECK_MSG(!run || (stages[0] && mm), "%s: %s", what, e.msg);
        nc_cg_jit_free(jit);
        nc_graph_free(g);
        cases += !run;
        return;
    }
    /* operands: exact in bf16 where the kernel converts them */
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) {
        NcValue *v = nc_val(g, nd->inputs[i]);
        v->data = cgt_random(nc_numel(v));
        if (i <= 1 || (io && v->dtype == NC_BF16))
            for (int64_t j = 0; j < nc_numel(v); j++) v->data[j] = bf16_exact(v->data[j]);
        if (k.in_scale && i == nc_in_scale_input(&nd->attrs))
            for (int64_t j = 0; j < nc_numel(v); j++)
                v->data[j] = ldexpf(v->data[j] < 0 ? -1.0f : 1.0f, (int)(j % 5) - 2);
        ka.in_v[i] = v, ka.in[i] = v->data;
    }
    const int64_t ny = nc_numel(yv), nx = nc_numel(xv), hw = yv->shape[2] * yv->shape[3];
    float *want = nc_malloc((size_t)ny * sizeof(float));
    ka.out_v[0] = yv, ka.out[0] = want;
    nc_ref_conv2d(&ka);
    const float *in[NC_MAXIN];
    float *owned[NC_MAXIN] = {0};
    /* x ends at an unreadable page, f32 or bf16 */
    const int64_t xfloats = io ? cgb_ceil_div(nx, 2) : nx;
    float *xg = cgt_guarded(xfloats);
    in[0] = xg;
    if (!io) {
        cgt_to_nhwc(ka.in[0], xg, k.n, k.c, k.h * k.w);
    } else {
        float *xn = nc_malloc((size_t)nx * sizeof(float));
        cgt_to_nhwc(ka.in[0], xn, k.n, k.c, k.h * k.w);
        uint16_t *h = to_bf16(xn, nx);
        memcpy((char *)xg + xfloats * 4 - nx * 2, h, (size_t)nx * 2);
        in[0] = (const float *)(const void *)((char *)xg + xfloats * 4 - nx * 2);
        free(h), free(xn);
    }
    for (int i = 1; i < nd->ninputs; i++) {
        in[i] = ka.in[i];
        if (i >= nc_epi_first_input(&nd->attrs) && nc_shape_eq(ka.in_v[i], yv)) {
            owned[i] = nc_malloc((size_t)ny * sizeof(float));
            cgt_to_nhwc(ka.in[i], owned[i], k.n, k.o, hw);
            if (io) {
                uint16_t *h = to_bf16(owned[i], ny);
                free(owned[i]);
                owned[i] = (float *)(void *)h;
            }
            in[i] = owned[i];
        }
    }
    const int64_t blob_floats = cgb_ceil_div(p.blob_bytes, 4);
    float *blob = cgt_guarded(blob_floats);
    nc_cg_bf16_pack(&p, ka.in[1], (uint16_t *)(void *)((char *)blob + blob_floats * 4 - p.blob_bytes));
    in[1] = (const float *)(const void *)((char *)blob + blob_floats * 4 - p.blob_bytes);
    float *scratch = cgt_guarded(kern.scratch);
    /* y (ny f32, or ny bf16) between canaries */
    const int64_t ybytes = ny * (io ? 2 : 4);
    float *ybuf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *y = ybuf + 64;
    float *got = nc_malloc((size_t)ny * sizeof(float)), *yf = nc_malloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < ny + 128; i++) ybuf[i] = 42.0f;
    float *out[2] = {y, scratch};
    const double tol = io ? 1.0 / 128 : 1e-5; /* bf16 output: its own rounding is at most 2^-8 of a value */
    for (int st = 0; st < nstages; st++) cgt_run(stages[st], in, out, kern.tiles[st]);
    y_f32(y, yf, ny, io);
    cgt_to_nchw(yf, got, k.n, k.o, hw);
    double err;
    CHECK_MSG(cgt_close(got, want, ny, tol, &err), "%s: relative error %g", what, err);
    int canaries = 1;
    for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f;
    for (int64_t i = ybytes; i < (ny + 64) * 4; i++)
        canaries &= ((unsigned char *)y)[i] == ((unsigned char *)ybuf)[i % 4];
    CHECK_MSG(canaries, "%s: wrote outside the output", what);
    /* tiles in reverse, uneven ranges */
    memset(y, 0, (size_t)ybytes);
    for (int st = 0; st < nstages; st++)
        for (int64_t t1 = kern.tiles[st]; t1 > 0;) {
            const int64_t t0 = t1 > 3 ? t1 - 3 : 0;
            stages[st](in, out, t0, t1);
            t1 = t0;
        }
    y_f32(y, yf, ny, io);
    cgt_to_nchw(yf, got, k.n, k.o, hw);
    CHECK_MSG(cgt_close(got, want, ny, tol, &err), "%s (tiles reversed): relative error %g", what, err);
    printf("%s: %lld tiles, relative error %.2e\n", what, (long long)kern.tiles[nstages - 1], err);
    for (int i = 0; i < nd->ninputs; i++) free(owned[i]);
    cgt_guarded_free(xg, xfloats), cgt_guarded_free(blob, blob_floats), cgt_guarded_free(scratch, kern.scratch);
    free(ybuf), free(got), free(yf), free(want);
    nc_cg_jit_free(jit);
    nc_graph_free(g);
    cases++;
}

static Case conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int k, int s, int pad) {
    Case x;
    memset(&x, 0, sizeof x);
    x.n = n, x.c = c, x.h = h, x.w = w, x.o = o, x.k = k, x.s = s, x.pad = pad, x.groups = 1, x.epi = "";
    return x;
}

static void all_cases(const NcCgTarget *t, int kind, int run) {
    Case cs[40];
    int n = 0;
    cs[n++] = conv(1, 64, 7, 9, 64, 1, 1, 0);   /* whole panels, M 63 */
    cs[n++] = conv(2, 40, 5, 5, 70, 1, 1, 0);   /* K 40 (padded to 64), N 70: a ragged panel of 6 */
    cs[n++] = conv(1, 3, 3, 3, 1, 1, 1, 0);     /* one output channel, M 9 */
    cs[n++] = conv(2, 96, 11, 10, 48, 1, 2, 0); /* strided 1x1 */
    cs[n++] = conv(1, 32, 9, 8, 40, 3, 1, 1);   /* 3x3 stride 1, padded */
    cs[n++] = conv(2, 24, 13, 12, 33, 3, 2, 1); /* 3x3 stride 2 */
    cs[n++] = conv(1, 3, 20, 18, 64, 7, 2, 3);  /* a stem: K 147 */
    cs[n++] = conv(3, 256, 4, 4, 130, 1, 1, 0); /* K 256, ragged N, M 48 */
    cs[n] = conv(2, 48, 6, 7, 64, 1, 1, 0);     /* bias, ReLU */
    cs[n].bias = 1, cs[n++].epi = "r";
    cs[n] = conv(2, 72, 5, 6, 50, 1, 1, 0); /* an SE-scaled input, SiLU */
    cs[n].in_scale = 1, cs[n].bias = 1, cs[n++].epi = "s";
    cs[n] = conv(2, 64, 7, 7, 96, 1, 1, 0); /* a residual after ReLU, as a bottleneck's conv3 */
    cs[n].bias = 1, cs[n++].epi = "ra";
    cs[n] = conv(2, 20, 6, 5, 36, 3, 1, 1); /* per (image, channel) operands, clamp, sigmoid */
    cs[n].epi = "mcAg";
    cs[n++].bias = 1;
    cs[n] = conv(2, 64, 6, 6, 64, 3, 1, 1); /* grouped: ResNeSt's radix 2 */
    cs[n].groups = 2, cs[n].bias = 1, cs[n++].epi = "r";
    cs[n] = conv(1, 120, 9, 9, 120, 3, 2, 1); /* RegNet's 24-channel groups, 5 of them */
    cs[n++].groups = 5;
    cs[n] = conv(2, 48, 5, 4, 70, 1, 1, 0); /* 2 groups of 35 outputs (ragged panels), SE-scaled, a residual */
    cs[n].groups = 2, cs[n].in_scale = 1, cs[n++].epi = "a";
    /* direct (AMX): 1x1s with a ragged last micro-block of 11 rows, and the padded planes' shapes: */
    cs[n] = conv(3, 96, 5, 5, 40, 1, 1, 0); /* M 75, ragged N, a residual */
    cs[n].bias = 1, cs[n++].epi = "ra";
    cs[n] = conv(3, 64, 14, 14, 80, 3, 1, 1); /* 3 images of 14 x 16 grid rows, a residual */
    cs[n].bias = 1, cs[n++].epi = "ra";
    cs[n++] = conv(2, 40, 9, 7, 32, 5, 1, 2);  /* 5x5, 40 channels padded to 64 a tap */
    cs[n++] = conv(2, 48, 8, 10, 64, 3, 1, 0); /* no padding: the grid is the input's width */
    cs[n++] = conv(1, 16, 10, 9, 24, 7, 1, 3); /* 7x7 stride 1 */
    cs[n] = conv(2, 32, 6, 6, 48, 3, 1, 1);    /* an SE-scaled 3x3: the scales applied in the pad stage */
    cs[n].in_scale = 1, cs[n].bias = 1, cs[n++].epi = "s";
    cs[n] = conv(1, 120, 7, 7, 120, 3, 1, 1); /* RegNet's 24-channel groups, stride 1 */
    cs[n++].groups = 5;
    cs[n++] = conv(2, 32, 12, 11, 40, 3, 2, 1); /* 3x3 stride 2, odd width: 4 phase planes */
    cs[n] = conv(3, 64, 14, 14, 64, 3, 2, 1);   /* resnet50's layer 2-4 conv2: stride 2, a residual */
    cs[n].bias = 1, cs[n++].epi = "ra";
    cs[n++] = conv(2, 48, 9, 8, 32, 1, 2, 0);   /* a strided 1x1 (downsample): one phase plane of 4 */
    cs[n++] = conv(1, 24, 11, 13, 16, 5, 3, 2); /* 5x5 stride 3: 3 x 3 phase planes */
    cs[n] = conv(1, 32, 65, 65, 256, 1, 1, 0);  /* a residual over 2 MB: fused direct's epilogue wide */
    cs[n].bias = 1, cs[n++].epi = "ra";
    cs[n] = conv(1, 32, 6, 6, 530, 1, 1, 0); /* N 530: fused direct's epilogue panel by panel (not wide) */
    cs[n].bias = 1, cs[n++].epi = "ra";
    for (int i = 0; i < n; i++)
        for (int mode = 0; mode < 4; mode++)
            for (int io = 0; io < 2; io++) check(t, kind, cs[i], run, mode, io);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    const int has = nc_cg_bf16_target(&t);
    NcError e;
    if (has >= NC_BF16_AMX && nc_amx_cpu_has_bf16()) {
        if (nc_amx_enable(&e))
            CHECK_MSG(0, "%s", e.msg);
        else
            all_cases(&t, NC_BF16_AMX, 1);
    } else {
        printf("skipped: no AMX (the AMX kernels were compiled for sapphirerapids, not run)\n");
    }
    if (has >= NC_BF16_AVX512)
        all_cases(&t, NC_BF16_AVX512, 1);
    else
        printf("skipped: no AVX512-BF16 (its kernels were compiled for cooperlake, not run)\n");
    /* the kernels compile for other CPUs whatever the host */
    static const char *const cross[] = {"sapphirerapids", "cooperlake"};
    for (int i = 0; i < 2; i++) {
        NcCgTarget c;
        if (nc_cg_target_init(&c, cross[i], NULL, &e)) {
            CHECK_MSG(0, "%s", e.msg);
            continue;
        }
        Case k = conv(2, 40, 5, 5, 70, 3, 1, 1);
        k.bias = 1, k.epi = "s";
        for (int mode = 0; mode < 4; mode++) check(&c, i ? NC_BF16_AVX512 : NC_BF16_AMX, k, 0, mode, mode & 1);
        nc_cg_target_free(&c);
    }
    printf("%d kernels checked\n", cases);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
