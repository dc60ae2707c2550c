/* test_cg_nhwc_conv.c — the NHWC direct convolution against the reference
 * convolution (NCHW, ir/ref_conv.c, with its input scale and epilogue):
 * depthwise 3x3 / 5x5 at stride 1 and 2 with symmetric and asymmetric
 * padding, ragged channel counts; grouped (RegNetY's 24 channels per group)
 * and regular convs (stems with 3 input channels, 7x7/2, 1x1/2); batch 1 and
 * 3; bias, activations, residual add, per-channel mul and the input scale.
 * x (and a same-shape epilogue operand) are permuted to NHWC for the kernel,
 * y back; x and the packed weights end at an unreadable page, y is fenced
 * by canaries, and the tiles run across threads and again in reverse.
 * Depthwise again with bf16 activations (x and y stored bf16, as
 * passes/assign_dtype.c stores them under --precision bf16, where the host
 * has AVX512-BF16 or AMX-BF16, the targets that get them): x exact in bf16, y checked to 2^-7 of the largest (its own
 * rounding; x read as f32 faults or is an error of order 1). */
#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "codegen/cpu/cg_precision.h"
#include "tests/codegen/cg_test.h"

static int cases;

typedef struct Case {
    int64_t n, c, h, w, o;
    int kh, kw, sh, sw, pt, pl, pb, pr, groups;
    int bias, in_scale;
    /* letters in order: r relu, s silu, g sigmoid, c clamp(0,6), a add (same shape), m mul (per channel),
     * A add per channel */
    const char *epi;
    int P, NV; /* forced register block, 0: the plan's */
    int bf16;  /* x and y stored bf16 */
} Case;

static void check(const NcCgTarget *t, Case k) {
    NcError e;
    char what[256];
    snprintf(what, sizeof what,
             "n%lld c%lld %lldx%lld o%lld k%dx%d s%d,%d pad %d,%d,%d,%d g%d bias %d scale %d epi '%s' block %dx%d%s",
             (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.o, k.kh, k.kw, k.sh, k.sw,
             k.pt, k.pl, k.pb, k.pr, k.groups, k.bias, k.in_scale, k.epi, k.P, k.NV, k.bf16 ? " bf16" : "");
    const int64_t oh = (k.h + k.pt + k.pb - k.kh) / k.sh + 1, ow = (k.w + k.pl + k.pr - k.kw) / k.sw + 1;
    NcGraph *g = nc_graph_new("nhwc");
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = k.kh, a.kernel[1] = k.kw, a.stride[0] = k.sh, a.stride[1] = k.sw, a.groups = k.groups;
    a.pad[0] = k.pt, a.pad[1] = k.pl, a.pad[2] = k.pb, a.pad[3] = k.pr;
    int ni = cgt_conv_graph(g, k.n, k.c, k.h, k.w, k.o, a, k.bias, k.in_scale, k.epi, &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    if (ni < 0) {
        nc_graph_free(g);
        return;
    }
    const NcNode *nd = &g->nodes.data[ni];
    if (k.bf16) { /* x exact in bf16 */
        NcValue *xv = nc_val(g, nd->inputs[0]);
        xv->dtype = nc_val(g, nd->outputs[0])->dtype = NC_BF16;
        xv->data = cgt_random(nc_numel(xv));
        for (int64_t i = 0; i < nc_numel(xv); i++) {
            const uint32_t u = (uint32_t)nc_bf16_round(xv->data[i]) << 16;
            memcpy(&xv->data[i], &u, 4);
        }
    }
    const char *why = NULL;
    NcNhwcConvPlan p;
    int ok = nc_cg_nhwc_conv_plan(&p, g, nd, t, &why);
    CHECK_MSG(ok, "%s: refused: %s", what, why);
    if (ok && k.P) {
        ok = nc_cg_nhwc_conv_set_block(&p, t, k.P, k.NV);
        CHECK_MSG(ok, "%s: block refused", what);
    }
    NcCgJit *jit = ok ? nc_cg_jit_new(&e) : NULL;
    if (!jit) {
        nc_graph_free(g);
        return;
    }
    NcCgModule m;
    nc_cg_module_init(&m, t, "nhwc");
    NcCgKernel kern = {0};
    nc_cg_nhwc_conv_emit(&m, g, nd, &p, "conv", &kern);
    const int64_t *st = kern.tiles, scratch = kern.scratch, wtiles = kern.wprep_tiles, wfloats = kern.wfloats;
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "conv", &e);
    NcTileFn wfn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "conv_wprep", &e);
    CHECK(scratch == 0 && st[1] == 0 && st[2] == 0);
    if (fn && wfn) {
        const float *in[NC_MAXIN];
        float *owned[NC_MAXIN] = {0}, *xg, *packed;
        float *want = cgt_nhwc_conv_setup(g, nd, wfn, wtiles, wfloats, in, owned, &xg, &packed);
        const int64_t ny = k.n * k.o * oh * ow, nx = k.n * k.c * k.h * k.w;
        if (k.bf16) { /* x as bf16 (exact), in place at the end of its guarded buffer: over-reads still fault */
            uint16_t *h = nc_malloc((size_t)nx * sizeof(uint16_t));
            nc_bf16_round_n(xg, h, nx);
            memcpy((char *)xg + nx * 4 - nx * 2, h, (size_t)nx * 2);
            in[0] = (const float *)(const void *)((char *)xg + nx * 4 - nx * 2);
            free(h);
        }
        const int64_t ybytes = ny * (k.bf16 ? 2 : 4);
        const double tol = k.bf16 ? 1.0 / 128 : 1e-5;
        float *ybuf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *y = ybuf + 64,
              *got = nc_malloc((size_t)ny * sizeof(float)), *yf = nc_malloc((size_t)ny * sizeof(float));
        for (int64_t i = 0; i < ny + 128; i++) ybuf[i] = 42.0f;
        float *out[2] = {y, NULL};
        for (int pass = 0; pass < 2; pass++) {
            if (!pass) {
                cgt_run(fn, in, out, st[0]);
            } else { /* tiles in reverse, uneven ranges */
                memset(y, 0, (size_t)ybytes);
                for (int64_t t1 = st[0]; t1 > 0;) {
                    int64_t t0 = t1 > 3 ? t1 - 3 : 0;
                    fn(in, out, t0, t1);
                    t1 = t0;
                }
            }
            for (int64_t i = 0; i < ny; i++) {
                uint16_t h;
                memcpy(&h, (const char *)y + 2 * i, 2);
                const uint32_t u = (uint32_t)h << 16;
                if (k.bf16)
                    memcpy(&yf[i], &u, 4);
                else
                    yf[i] = y[i];
            }
            cgt_to_nchw(yf, got, k.n, k.o, oh * ow);
            double err;
            CHECK_MSG(cgt_close(got, want, ny, tol, &err), "%s%s: relative error %g", what,
                      pass ? " (tiles reversed)" : "", err);
            int canaries = 1;
            for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f;
            for (int64_t i = ybytes; i < (ny + 64) * 4; i++)
                canaries &= ((unsigned char *)y)[i] == ((unsigned char *)ybuf)[i % 4];
            CHECK_MSG(canaries, "%s: wrote outside the output", what);
        }
        free(yf);
        for (int i = 0; i < nd->ninputs; i++) free(owned[i]);
        cgt_guarded_free(xg, nx), cgt_guarded_free(packed, wfloats);
        free(ybuf), free(got), free(want);
        cases++;
    } else {
        CHECK_MSG(0, "%s: %s", what, e.msg);
    }
    nc_cg_jit_free(jit);
    nc_graph_free(g); /* and every value's data */
}

static Case dw(int64_t n, int64_t c, int64_t h, int64_t w, int k, int s, int pt, int pl, int pb, int pr) {
    Case x;
    memset(&x, 0, sizeof x);
    x.n = n, x.c = c, x.h = h, x.w = w, x.o = c, x.kh = x.kw = k, x.sh = x.sw = s, x.groups = (int)c;
    x.pt = pt, x.pl = pl, x.pb = pb, x.pr = pr, x.epi = "";
    return x;
}

static Case conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int k, int s, int pad, int groups) {
    Case x = dw(n, c, h, w, k, s, pad, pad, pad, pad);
    x.o = o, x.groups = groups;
    return x;
}

int main(void) {
    NcError e;
    NcCgTarget t;
    cgt_host_target(&t);
    /* depthwise: windows, strides, paddings (symmetric and TF "same"), channels */
    static const int64_t chans[] = {8, 13, 24, 96};
    for (int ci = 0; ci < 4; ci++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++) {
                const int h = k == 3 ? 7 : 11, w = k == 3 ? 9 : 13;
                Case c = dw(1 + (ci == 1) * 2, chans[ci], h, w, k, s, k / 2, k / 2, k / 2, k / 2);
                c.bias = (ci + k + s) % 2;
                check(&t, c);
                /* asymmetric: TF same at stride 2 pads less at the top / left */
                Case d = dw(1, chans[ci], h + 1, w - 1, k, s, k / 2 - 1 + (s == 1), k / 2 - 1, k / 2, k / 2 + (s == 1));
                d.bias = 1, d.epi = ci % 2 ? "s" : "r";
                check(&t, d);
            }
    /* depthwise planes wider than the register block, all epilogues, SE scale */
    {
        Case c = dw(2, 40, 20, 29, 3, 1, 1, 1, 1, 1);
        c.bias = 1, c.in_scale = 1, c.epi = "sam";
        check(&t, c);
        c = dw(1, 37, 17, 31, 5, 2, 1, 1, 2, 2), c.bias = 1, c.epi = "gAc";
        check(&t, c);
        c = dw(3, 16, 8, 8, 3, 2, 0, 0, 1, 1), c.in_scale = 1, c.epi = "rm";
        check(&t, c);
        c = dw(1, 24, 5, 3, 5, 1, 2, 2, 2, 2); /* window wider than the row */
        check(&t, c);
        if (nc_cg_bf16_target(&t) != NC_BF16_NONE) { /* bf16 activations: EfficientNet's depthwise convs */
            c = dw(2, 40, 20, 29, 3, 1, 1, 1, 1, 1), c.bias = 1, c.in_scale = 1, c.epi = "sam", c.bf16 = 1;
            check(&t, c);
            c = dw(1, 37, 17, 31, 5, 2, 1, 1, 2, 2), c.bias = 1, c.epi = "s", c.bf16 = 1;
            check(&t, c);
            c = dw(3, 96, 9, 7, 3, 2, 0, 0, 1, 1), c.epi = "r", c.bf16 = 1;
            check(&t, c);
        }
        /* other register blocks */
        static const int blocks[][2] = {{4, 2}, {6, 2}, {12, 1}, {1, 1}, {3, 4}};
        for (int i = 0; i < 5; i++) {
            c = dw(2, 45, 13, 23, 3 + 2 * (i % 2), 1 + i % 2, 1 + i % 2, 1, 1 + i % 2, 1), c.bias = 1,
            c.in_scale = i % 2, c.epi = "sa";
            c.P = blocks[i][0], c.NV = blocks[i][1];
            check(&t, c);
        }
    }
    /* grouped: RegNetY's 24 / 48 channels per group, in the target's vectors and (AVX-512) in 8-float ones,
     * which Zen 4 takes for 24 (cg_nhwc_conv.c's ymm_pays): both forms on every AVX-512 host */
    for (int vw = 16; vw >= 8; vw -= 8) {
        setenv("NETC_CG_GROUPED_VW", vw == 8 ? "8" : "16", 1);
        for (int s = 1; s <= 2; s++)
            for (int n = 1; n <= 3; n += 2) {
                Case c = conv(n, 48, 9, 11, 48, 3, s, 1, 2);
                c.bias = n == 1, c.epi = s == 1 ? "r" : "sa";
                check(&t, c);
                c = conv(1, 96, 7, 7, 96, 3, s, 1, 2);
                c.bias = 1, c.in_scale = s == 2, c.epi = "m";
                check(&t, c);
                c = conv(n, 72, 10, 13, 72, 3, s, 1, 3);
                c.in_scale = 1, c.epi = "ra";
                check(&t, c);
                c = conv(n, 144, 8, 15, 144, 3, s, 1, 2); /* 72 a group (RegNetY-032): 9 ymm, or 4.5 zmm */
                c.bias = 1, c.epi = "s";
                check(&t, c);
            }
        static const int blocks[][2] = {{1, 1}, {3, 4}, {12, 1}, {5, 2}, {9, 3}};
        for (int i = 0; i < 5; i++) {
            Case c = conv(1, 48, 9, 10, 48, 3, 1 + i % 2, 1, 2);
            c.bias = 1, c.epi = "s", c.P = blocks[i][0], c.NV = blocks[i][1];
            if (vw == 16 && i == 4) continue; /* 27 zmm accumulators: over 28 only where emulated */
            check(&t, c);
        }
        if (t.vw == 16 && t.bregs >= 32) { /* which vectors the plan took */
            NcGraph *g = nc_graph_new("vw");
            NcAttrs a = nc_attrs_default();
            a.kernel[0] = a.kernel[1] = 3, a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1, a.groups = 2;
            const int ni = cgt_conv_graph(g, 1, 48, 9, 9, 48, a, 1, 0, "r", &e);
            NcNhwcConvPlan p;
            const char *why = NULL;
            CHECK(ni >= 0 && nc_cg_nhwc_conv_plan(&p, g, &g->nodes.data[ni], &t, &why) && p.vw == vw);
            nc_graph_free(g);
        }
    }
    unsetenv("NETC_CG_GROUPED_VW");
    /* weights over 384 KB: tiles ordered group first */
    {
        Case c = conv(2, 384, 5, 6, 384, 3, 1, 1, 2);
        c.bias = 1, c.epi = "ra";
        check(&t, c);
        c = conv(3, 480, 7, 5, 480, 3, 2, 1, 4), c.in_scale = 1, c.epi = "m";
        check(&t, c);
    }
    /* odd groups: OG not a multiple of the vector, CG small */
    {
        Case c = conv(2, 26, 8, 9, 39, 3, 1, 1, 13); /* CG 2, OG 3 */
        c.bias = 1, c.epi = "s";
        check(&t, c);
        c = conv(1, 30, 9, 7, 20, 3, 2, 1, 2); /* CG 15, OG 10 */
        c.in_scale = 1, c.epi = "A";
        check(&t, c);
        c = conv(1, 10, 6, 6, 70, 3, 1, 1, 1), c.bias = 1; /* ragged tail block */
        check(&t, c);
    }
    /* regular: stems (C = 3), 7x7/2, 1x1 stride 2, plain 3x3 */
    {
        Case c = conv(1, 3, 33, 31, 32, 3, 2, 1, 1);
        c.bias = 1, c.epi = "s";
        check(&t, c);
        c = conv(2, 3, 24, 22, 16, 3, 2, 1, 1), c.pt = 0, c.pl = 0; /* TF same at stride 2 */
        check(&t, c);
        c = conv(1, 3, 29, 30, 64, 7, 2, 3, 1), c.bias = 1, c.epi = "r";
        check(&t, c);
        c = conv(3, 64, 9, 9, 128, 1, 2, 0, 1), c.bias = 1, c.epi = "a";
        check(&t, c);
        c = conv(1, 24, 7, 9, 40, 1, 2, 0, 1), c.in_scale = 1;
        check(&t, c);
        c = conv(1, 13, 11, 10, 24, 3, 1, 1, 1), c.bias = 1, c.epi = "ra";
        check(&t, c);
    }
    /* a random sweep */
    for (int i = 0; i < 24; i++) {
        const int k = (int)cgt_int(1, 3) * 2 - 1, s = (int)cgt_int(1, 2);
        const int groups = (int)cgt_int(1, 4);
        const int dwise = i % 2;
        const int64_t cpg = cgt_int(1, 20), h = cgt_int(k, 15), w = cgt_int(k, 15);
        Case c = dwise ? dw(cgt_int(1, 2), cgt_int(1, 50), h, w, k, s, 0, 0, 0, 0)
                       : conv(cgt_int(1, 2), cpg * groups, h, w, cgt_int(1, 12) * groups, k, s, 0, groups);
        c.pt = (int)cgt_int(0, k / 2), c.pl = (int)cgt_int(0, k / 2), c.pb = (int)cgt_int(0, k / 2),
        c.pr = (int)cgt_int(0, k / 2);
        c.bias = (int)cgt_int(0, 1), c.in_scale = (int)cgt_int(0, 1);
        static const char *epis[] = {"", "r", "s", "a", "m", "sm", "ra", "A"};
        c.epi = epis[cgt_int(0, 7)];
        check(&t, c);
    }
    /* refusals */
    {
        NcGraph *g = nc_graph_new("bad");
        int64_t xs[4] = {1, 8, 9, 9}, ws[4] = {8, 8, 3, 3};
        int ins[2] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e)};
        NcAttrs a = nc_attrs_default();
        a.kernel[0] = a.kernel[1] = 3, a.dilation[0] = a.dilation[1] = 2;
        int ni = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &a, "conv", &e);
        CHECK_MSG(ni >= 0, "%s", e.msg);
        NcNhwcConvPlan p;
        const char *why = NULL;
        if (ni >= 0)
            CHECK(!nc_cg_nhwc_conv_plan(&p, g, &g->nodes.data[ni], &t, &why) && why && strstr(why, "dilation"));
        nc_graph_free(g);
    }
    printf("%d kernels checked\n", cases);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
