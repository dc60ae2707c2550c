/* test_cg_nhwc_wino.c — the NHWC Winograd convolution (F(4x4, 3x3) and
 * F(2x2, 3x3)) against the reference convolution (NCHW, ir/ref_conv.c, with
 * its input scale and epilogue): odd plane sizes (ragged edge tiles), pads
 * 0, 1, 2 (and asymmetric), channels 8 to 64 and ragged, groups 1 and 2-14 of
 * 24 channels, batch 1 and 3, bias, activations, residual add, per-channel
 * mul and the input scale.  x (and a same-shape epilogue operand) are
 * permuted to NHWC for the kernel, y back; x, the transformed filters and the
 * scratch end at an unreadable page, y is fenced by canaries, and the stages'
 * tiles run across threads and again in reverse.  Tolerance: 1e-4 relative
 * to max |y| (Winograd rounding); the worst error seen is printed. */
#include "codegen/cpu/cg_nhwc_wino.h"
#include "tests/codegen/cg_test.h"

static int cases;
static double worst[5]; /* by mt */

typedef struct Case {
    int64_t n, c, h, w, o;
    int pt, pl, pb, pr, groups, mt;
    int bias, in_scale;
    const char *
        epi; /* r relu, s silu, g sigmoid, c clamp(0,0.5), a add (same shape), m mul (per channel), A add per channel */
} Case;

static void check(const NcCgTarget *t, Case k) {
    NcError e;
    char what[256];
    snprintf(what, sizeof what, "F%d n%lld c%lld %lldx%lld o%lld pad %d,%d,%d,%d g%d bias %d scale %d epi '%s'", k.mt,
             (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.o, k.pt, k.pl, k.pb, k.pr,
             k.groups, k.bias, k.in_scale, k.epi);
    const int64_t oh = k.h + k.pt + k.pb - 2, ow = k.w + k.pl + k.pr - 2;
    NcGraph *g = nc_graph_new("wino");
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 3, a.groups = k.groups;
    a.pad[0] = k.pt, a.pad[1] = k.pl, a.pad[2] = k.pb, a.pad[3] = k.pr;
    int ni = cgt_conv_graph(g, k.n, k.c, k.h, k.w, k.o, a, k.bias, k.in_scale, k.epi, &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    if (ni < 0) {
        nc_graph_free(g);
        return;
    }
    const NcNode *nd = &g->nodes.data[ni];
    const char *why = NULL;
    NcNhwcWinoPlan p;
    int ok = nc_cg_nhwc_wino_plan(&p, g, nd, t, k.mt, &why);
    CHECK_MSG(ok, "%s: refused: %s", what, why);
    NcCgJit *jit = ok ? nc_cg_jit_new(&e) : NULL;
    if (!jit) {
        nc_graph_free(g);
        return;
    }
    NcCgModule m;
    nc_cg_module_init(&m, t, "wino");
    NcCgKernel kern = {0};
    nc_cg_nhwc_wino_emit(&m, g, nd, &p, "conv", &kern);
    const int64_t *st = kern.tiles, scratch = kern.scratch, wtiles = kern.wprep_tiles, wfloats = kern.wfloats;
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn[3] = {0}, wfn = NULL;
    static const char *names[3] = {"conv_in", "conv_gemm", "conv_out"};
    for (int s = 0; s < 3 && !rc; s++) fn[s] = (NcTileFn)nc_cg_jit_lookup(jit, names[s], &e);
    if (!rc) wfn = (NcTileFn)nc_cg_jit_lookup(jit, "conv_wprep", &e);
    if (fn[0] && fn[1] && fn[2] && wfn) {
        const float *in[NC_MAXIN];
        float *owned[NC_MAXIN] = {0}, *xg, *packed;
        float *want = cgt_nhwc_conv_setup(g, nd, wfn, wtiles, wfloats, in, owned, &xg, &packed);
        const int64_t ny = k.n * k.o * oh * ow, nx = k.n * k.c * k.h * k.w;
        float *sc = cgt_guarded(scratch);
        float *ybuf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *y = ybuf + 64,
              *got = nc_malloc((size_t)ny * sizeof(float));
        for (int64_t i = 0; i < ny + 128; i++) ybuf[i] = 42.0f;
        float *out[2] = {y, sc};
        for (int s = 0; s < 3; s++) cgt_run(fn[s], in, out, st[s]);
        cgt_to_nchw(y, got, k.n, k.o, oh * ow);
        double err;
        CHECK_MSG(cgt_close(got, want, ny, 1e-4, &err), "%s: relative error %g", what, err);
        if (err > worst[k.mt]) worst[k.mt] = err;
        int canaries = 1;
        for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f && y[ny + i] == 42.0f;
        CHECK_MSG(canaries, "%s: wrote outside the output", what);
        /* every stage's tiles in reverse, uneven ranges, scratch refilled */
        memset(y, 0, (size_t)ny * sizeof(float));
        for (int64_t i = 0; i < scratch; i++) sc[i] = NAN;
        for (int s = 0; s < 3; s++)
            for (int64_t t1 = st[s]; t1 > 0;) {
                int64_t t0 = t1 > 3 ? t1 - 3 : 0;
                fn[s](in, out, t0, t1);
                t1 = t0;
            }
        cgt_to_nchw(y, got, k.n, k.o, oh * ow);
        CHECK_MSG(cgt_close(got, want, ny, 1e-4, &err), "%s (tiles reversed): relative error %g", what, err);
        for (int i = 0; i < nd->ninputs; i++) free(owned[i]);
        cgt_guarded_free(xg, nx), cgt_guarded_free(packed, wfloats), cgt_guarded_free(sc, scratch);
        free(ybuf), free(got), free(want);
        cases++;
    } else {
        CHECK_MSG(0, "%s: %s", what, e.msg);
    }
    nc_cg_jit_free(jit);
    nc_graph_free(g);
}

static Case conv(int mt, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int pad, int groups) {
    Case x;
    memset(&x, 0, sizeof x);
    x.mt = mt, x.n = n, x.c = c, x.h = h, x.w = w, x.o = o, x.groups = groups;
    x.pt = x.pl = x.pb = x.pr = pad, x.epi = "";
    return x;
}

static int refused(const NcCgTarget *t, int64_t c, int64_t o, int groups, int stride, int pad, int mt,
                   const char *expect) {
    NcError e;
    NcGraph *g = nc_graph_new("bad");
    int64_t xs[4] = {1, c, 9, 9}, ws[4] = {o, c / groups, 3, 3};
    int ins[2] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e)};
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 3, a.groups = groups, a.stride[0] = a.stride[1] = stride;
    for (int i = 0; i < 4; i++) a.pad[i] = pad;
    int ni = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &a, "conv", &e);
    int ok = 0;
    if (ni >= 0) {
        NcNhwcWinoPlan p;
        const char *why = NULL;
        ok = !nc_cg_nhwc_wino_plan(&p, g, &g->nodes.data[ni], t, mt, &why) && why && strstr(why, expect);
        if (!ok) fprintf(stderr, "expected refusal '%s', got '%s'\n", expect, why ? why : "(accepted)");
    }
    nc_graph_free(g);
    return ok;
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    for (int mt = 4; mt >= 2; mt -= 2) {
        /* plane sizes: ragged tiles at the right and bottom */
        static const int64_t hw[][2] = {{7, 7}, {9, 11}, {14, 14}, {13, 17}, {56, 56}, {3, 3}, {1, 5}};
        for (int i = 0; i < 7; i++) {
            Case c = conv(mt, 1, 16, hw[i][0], hw[i][1], 16, 1, 1);
            c.bias = i % 2, c.epi = i % 3 == 0 ? "r" : "";
            check(&t, c);
        }
        /* channels: 8, 24, 64, ragged in and out (40 = 5 vectors, 13, 20) */
        static const int64_t ch[][2] = {{8, 8}, {24, 24}, {64, 64}, {16, 40}, {13, 20}, {40, 9}, {64, 128}};
        for (int i = 0; i < 7; i++) {
            Case c = conv(mt, 1 + 2 * (i % 2), ch[i][0], 9 + i % 3, 11 - i % 2, ch[i][1], 1, 1);
            c.bias = 1, c.epi = i % 2 ? "ra" : "s";
            check(&t, c);
        }
        /* pads 0 and 2, asymmetric */
        {
            Case c = conv(mt, 1, 16, 13, 17, 24, 0, 1);
            c.bias = 1;
            check(&t, c);
            c = conv(mt, 3, 16, 9, 11, 16, 2, 1), c.epi = "a";
            check(&t, c);
            c = conv(mt, 1, 24, 10, 9, 16, 1, 1), c.pt = 0, c.pl = 2, c.pb = 2, c.pr = 0, c.bias = 1, c.epi = "g";
            check(&t, c);
            c = conv(mt, 2, 8, 6, 15, 8, 1, 1), c.pt = 2, c.pl = 0, c.pb = 1, c.pr = 1, c.epi = "c";
            check(&t, c);
        }
        /* grouped: RegNetY's 24 channels per group, groups 2 to 14 */
        static const int grp[] = {2, 3, 5, 14};
        for (int i = 0; i < 4; i++) {
            Case c = conv(mt, 1 + 2 * (i % 2), 24 * grp[i], 7 + 2 * i, 14 - i, 24 * grp[i], 1, grp[i]);
            c.bias = 1, c.epi = i % 2 ? "ra" : "r", c.in_scale = i == 2;
            check(&t, c);
        }
        {
            Case c = conv(mt, 1, 48, 14, 14, 96, 1, 2); /* OG 48 */
            c.bias = 1, c.epi = "m";
            check(&t, c);
            c = conv(mt, 2, 26, 9, 9, 20, 0, 2); /* CG 13, OG 10: ragged vectors in groups */
            c.in_scale = 1, c.epi = "A";
            check(&t, c);
        }
        /* epilogues and the input scale, batch 3 */
        {
            Case c = conv(mt, 3, 32, 13, 17, 32, 1, 1);
            c.bias = 1, c.in_scale = 1, c.epi = "ram";
            check(&t, c);
            c = conv(mt, 3, 24, 14, 14, 40, 1, 1), c.in_scale = 1, c.epi = "sA";
            check(&t, c);
        }
    }
    /* a random sweep */
    for (int i = 0; i < 16; i++) {
        const int groups = (int)cgt_int(1, 3), mt = i % 2 ? 2 : 4;
        Case c = conv(mt, cgt_int(1, 2), cgt_int(8, 20) * groups, cgt_int(1, 15), cgt_int(1, 15),
                      cgt_int(8, 20) * groups, 0, groups);
        c.pt = (int)cgt_int(0, 2), c.pl = (int)cgt_int(0, 2), c.pb = (int)cgt_int(0, 2), c.pr = (int)cgt_int(0, 2);
        if (c.h + c.pt + c.pb < 3) c.pb = c.pt = 2;
        if (c.w + c.pl + c.pr < 3) c.pl = c.pr = 2;
        c.bias = (int)cgt_int(0, 1), c.in_scale = (int)cgt_int(0, 1);
        static const char *epis[] = {"", "r", "s", "a", "m", "sm", "ra", "A"};
        c.epi = epis[cgt_int(0, 7)];
        check(&t, c);
    }
    /* refusals */
    CHECK(refused(&t, 16, 16, 1, 2, 1, 4, "strided"));
    CHECK(refused(&t, 16, 16, 16, 1, 1, 4, "fewer than 8"));
    CHECK(refused(&t, 24, 24, 6, 1, 1, 2, "fewer than 8"));
    CHECK(refused(&t, 16, 16, 1, 1, 3, 4, "padding"));
    CHECK(refused(&t, 16, 16, 1, 1, 1, 3, "tile"));
    printf("%d kernels checked; worst relative error F4 %.3g, F2 %.3g\n", cases, worst[4], worst[2]);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
