/* test_cg_gemm_lowp.c — the GEMM with reduced-precision weights
 * (cg_precision.h):
 *
 *   bf16: the f32 GEMM over bf16 panels against the reference convolution
 *     (ir/ref_conv.c) on the same weights rounded to bf16 by numpy's rule
 *     (checked here on known values: ties to even), ≤ 1e-5 — the widening
 *     loses nothing; ragged panels, several reduction blocks, an input scale;
 *   int8: quantise + int8 GEMM against the same integer arithmetic written
 *     out in C from the blob (activations quantised with fmaf + nearbyintf,
 *     i32 sums, fmaf dequantisation, bias, ReLU, a residual), ≤ 1e-5; every
 *     path the host has — AVX512-VNNI (zmm vpdpbusd), AVX-VNNI (ymm
 *     vpdpbusd), AVX2 (vpmaddubsw / vpmaddwd) — gives the plain-IR path's
 *     bits (a host without VNNI says which it skipped); and all within the
 *     quantisation's own error of the f32 reference (≤ 3% of max |y| on these random data), activations with
 *     and without negative values;
 *   kernels for other CPUs compile, with the instructions their features
 *   call for (Zen 3 / Zen 4 without VNNI: vpmaddubsw; Sapphire Rapids: zmm
 *   vpdpbusd; Alder Lake: ymm vpdpbusd). */
#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_gemm_i8.h"
#include "codegen/cpu/cg_nhwc_im2col.h"
#include "codegen/cpu/cg_precision.h"
#include "runtime/support/amx.h"
#include "tests/codegen/cg_test.h"

static int cases;
static int amx_allowed; /* the process has tile state (nc_amx_enable) */
static int bf16_ok;     /* the host converts to bf16 in one instruction: int8's bf16 activations (cg_layout.c) */

/* bf16 activations: v rounded to bf16 (ties to even) and widened back, in place; their bf16 bits */
static uint16_t *to_bf16(float *v, int64_t n) {
    uint16_t *h = nc_malloc((size_t)(n + 64) * sizeof(uint16_t));
    for (int64_t i = 0; i < n; i++) {
        h[i] = nc_bf16_round(v[i]);
        const uint32_t u = (uint32_t)h[i] << 16;
        memcpy(&v[i], &u, 4);
    }
    return h;
}
static void from_bf16(const uint16_t *h, float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)h[i] << 16;
        memcpy(&v[i], &u, 4);
    }
}
/* A bf16 output is the f32 one rounded once: within half a bf16 step of it — 8 significant bits, so at most
 * 2^-8 of |y| — plus the f32 kernel's own 1e-5. */
#define BF16_RTOL   (1.0 / 256 + 1e-5)
#define BF16_CANARY 0x4228 /* 42.0 */

static NcTileFn jit_fn(NcCgJit *jit, NcCgModule *m, const char *name) {
    NcError e;
    if (nc_cg_jit_add(jit, m, &e)) {
        CHECK_MSG(0, "%s", e.msg);
        return NULL;
    }
    NcTileFn fn = (NcTileFn)nc_cg_jit_lookup(jit, name, &e);
    CHECK_MSG(fn != NULL, "%s", e.msg);
    return fn;
}

static NcGemmSpec spec(int64_t batch, int64_t cin, int64_t cout, int64_t hw, int bias, int relu) {
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = batch, s.cin = cin, s.cout = cout, s.hw = hw, s.bias = bias, s.relu = relu;
    return s;
}

/* ---- bf16 ---------------------------------------------------------------- */

static void check_bf16(const NcCgTarget *t, NcGemmSpec s) {
    NcError e;
    NcGemmPlan p;
    s.wtype = NC_BF16;
    char what[160];
    snprintf(what, sizeof what, "bf16: batch %lld, %lld -> %lld, hw %lld, kc %lld, scale %d", (long long)s.batch,
             (long long)s.cin, (long long)s.cout, (long long)s.hw, (long long)s.kc, s.in_scale);
    if (nc_cg_gemm_plan(&p, &s, t, &e)) {
        CHECK_MSG(0, "%s: %s", what, e.msg);
        return;
    }
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, t, "bf16");
    nc_cg_gemm_emit(&m, &p, "gemm");
    NcTileFn fn = jit_fn(jit, &m, "gemm");
    nc_cg_module_dispose(&m);
    if (fn) {
        const int64_t n = s.batch, C = s.cin, O = s.cout, hw = s.hw;
        float *x = cgt_random(n * C * hw), *w = cgt_random(O * C), *bias = s.bias ? cgt_random(O) : NULL;
        float *scale = s.in_scale ? cgt_random(n * C) : NULL;
        /* the reference sees the weights as bf16 holds them */
        float *wr = nc_malloc((size_t)(O * C) * sizeof(float));
        for (int64_t i = 0; i < O * C; i++) {
            uint32_t u = (uint32_t)nc_bf16_round(w[i]) << 16;
            memcpy(&wr[i], &u, 4);
        }
        float *xs = nc_malloc((size_t)(n * C * hw) * sizeof(float));
        for (int64_t i = 0; i < n * C * hw; i++) xs[i] = scale ? x[i] * scale[i / hw] : x[i];
        float *want = nc_malloc((size_t)(n * O * hw) * sizeof(float)), *got = nc_malloc((size_t)(n * O * hw) * 4);
        cgt_ref_conv(xs, wr, bias, want, n, C, 1, hw, O, 1, 1, 1, 0, 1, s.relu);
        float *packed = nc_malloc((size_t)p.packed_floats * sizeof(float));
        nc_cg_gemm_pack(&p, w, packed);
        uint16_t *half = (uint16_t *)(void *)cgt_guarded((p.packed_floats + 1) / 2);
        nc_bf16_round_n(packed, half, p.packed_floats);
        float *xin = cgt_guarded(n * C * hw), *y = nc_malloc((size_t)(n * O * hw) * sizeof(float));
        cgt_to_nhwc(x, xin, n, C, hw);
        const float *in[4] = {xin, (const float *)(const void *)half, bias, scale};
        float *out[1] = {y};
        cgt_run(fn, in, out, p.tiles);
        cgt_to_nchw(y, got, n, O, hw);
        double err;
        CHECK_MSG(cgt_close(got, want, n * O * hw, 1e-5, &err), "%s: relative error %g", what, err);
        cgt_guarded_free(xin, n * C * hw), cgt_guarded_free((float *)(void *)half, (p.packed_floats + 1) / 2);
        free(x), free(w), free(bias), free(scale), free(wr), free(xs), free(want), free(got), free(packed), free(y);
        cases++;
    }
    nc_cg_jit_free(jit);
}

/* ---- int8 ---------------------------------------------------------------- */

/* The kernel's arithmetic in C, from the blob: y[m][n] (NHWC rows). */
static void ref_i8(const NcGemmSpec *s, const NcI8Layout *l, const unsigned char *blob, const float *xin,
                   const float *bias, const float *resid, const float *scale, float *y) {
    float inv, zero;
    memcpy(&inv, blob, 4);
    memcpy(&zero, blob + 4, 4);
    const signed char *b = (const signed char *)(blob + l->b_off);
    const float *cs = (const float *)(const void *)(blob + l->scale_off);
    const float *cc = (const float *)(const void *)(blob + l->corr_off);
    const int64_t M = s->batch * s->hw, K = s->cin, N = s->cout;
    int *xq = nc_malloc((size_t)K * sizeof(int));
    for (int64_t mi = 0; mi < M; mi++) {
        for (int64_t k = 0; k < K; k++) {
            /* an SE scale (one per image and input channel) multiplies first, as the separate op would */
            const float xv = scale ? xin[mi * K + k] * scale[mi / s->hw * K + k] : xin[mi * K + k];
            float v = nearbyintf(fmaf(xv, inv, zero));
            xq[k] = v < 0 ? 0 : v > 255 ? 255 : (int)v;
        }
        for (int64_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc +=
                    xq[k] * b[(n / NC_I8_NR) * l->K4 * NC_I8_NR + (k / 4) * NC_I8_NR * 4 + (n % NC_I8_NR) * 4 + k % 4];
            float r = fmaf((float)acc, cs[n], cc[n]);
            if (bias) r += bias[n];
            if (s->relu && r < 0) r = 0;
            if (resid) r += resid[mi * N + n];
            y[mi * N + n] = r;
        }
    }
    free(xq);
}

static const char *const isa_names[] = {"auto", "plain IR", "avx2", "avxvnni", "avx512vnni", "amx"};
#define NISA 6

/* Every int8 path the host has (plain IR, AVX2, AVX-VNNI, AVX512-VNNI, AMX) against the C arithmetic and each
 * other (AMX on a blob whose reduction is padded to 64: the same integers). */
static void check_i8(const NcCgTarget *t, NcGemmSpec s, int positive, int bf16, int fused) {
    NcError e;
    char what[192];
    if (bf16 && !bf16_ok) return;
    snprintf(what, sizeof what, "int8: batch %lld, %lld -> %lld, hw %lld, bias %d relu %d resid %d%s%s%s",
             (long long)s.batch, (long long)s.cin, (long long)s.cout, (long long)s.hw, s.bias, s.relu, s.nepi,
             positive ? ", x >= 0" : "", bf16 ? ", bf16 activations" : "", fused ? ", fused" : "");
    NcGemmI8Plan p[NISA];
    int have[NISA] = {0};
    NcTileFn q[NISA] = {NULL}, g[NISA] = {NULL};
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, t, "i8");
    for (int isa = NC_I8_PLAIN; isa < NISA; isa++) {
        if (isa == NC_I8_AMX && !amx_allowed) continue;
        if (nc_cg_gemm_i8_plan(&p[isa], &s, t, (NcI8Isa)isa, &e)) continue; /* the host lacks it */
        CHECK_MSG(p[isa].isa == (NcI8Isa)isa, "%s: asked for %s, planned %s", what, isa_names[isa],
                  isa_names[p[isa].isa]);
        have[isa] = 1;
        if (fused) nc_cg_gemm_i8_set_fused(&p[isa], 1); /* the rows quantised by the GEMM stage */
        if (bf16) {                                     /* x, y and the residual stored bf16 */
            p[isa].x_bf16 = p[isa].y_bf16 = 1;
            for (int i = 0; i < s.nepi; i++) p[isa].epi_bf16[i] = s.epi[i].kind == NC_EPI_ADD;
        }
        NcCgKernel k;
        memset(&k, 0, sizeof k);
        char pre[16];
        snprintf(pre, sizeof pre, "isa%d", isa);
        nc_cg_gemm_i8_emit(&m, &p[isa], pre, &k);
    }
    CHECK_MSG(have[NC_I8_PLAIN], "%s: no plain IR path", what);
    if (nc_cg_jit_add(jit, &m, &e)) CHECK_MSG(0, "%s: %s", what, e.msg);
    nc_cg_module_dispose(&m);
    int ok = 1;
    for (int isa = NC_I8_PLAIN; isa < NISA; isa++) {
        if (!have[isa]) continue;
        char qn[32], gn[32];
        snprintf(qn, sizeof qn, "isa%d_quant", isa), snprintf(gn, sizeof gn, "isa%d_i8mm", isa);
        q[isa] = fused ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, qn, &e);
        g[isa] = (NcTileFn)nc_cg_jit_lookup(jit, gn, &e);
        ok &= (fused || q[isa]) && g[isa];
    }
    CHECK_MSG(ok, "%s: a kernel is missing", what);
    if (ok) {
        const int64_t n = s.batch, C = s.cin, O = s.cout, hw = s.hw, M = n * hw;
        float *x = cgt_random(n * C * hw), *w = cgt_random(O * C), *bias = s.bias ? cgt_random(O) : NULL;
        if (positive)
            for (int64_t i = 0; i < n * C * hw; i++) x[i] = fabsf(x[i]) * 3;
        float *resid = s.nepi ? cgt_guarded(M * O) : NULL;
        float *scale = s.in_scale ? cgt_random(n * C) : NULL; /* in[s.in_scale] */
        float lo = 0, hi = 0;
        for (int64_t i = 0; i < n * C * hw; i++) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
        NcI8Layout l;
        nc_i8_layout(&l, O, C);
        CHECK(l.K4 == p[NC_I8_PLAIN].K4);
        unsigned char *blob = (unsigned char *)(void *)cgt_guarded((l.bytes + 3) / 4);
        nc_i8_pack(&l, w, lo, hi, blob);
        NcI8Layout l64;
        nc_i8_layout_k(&l64, O, C, nc_cg_i8_kalign_for(NC_I8_AMX, C));
        unsigned char *blob64 = (unsigned char *)(void *)cgt_guarded((l64.bytes + 3) / 4);
        nc_i8_pack(&l64, w, lo, hi, blob64);
        float *xin = cgt_guarded(n * C * hw);
        cgt_to_nhwc(x, xin, n, C, hw);
        /* bf16: the activations as bf16 holds them, for the kernels (x16, r16) and the arithmetic in C */
        uint16_t *x16 = bf16 ? to_bf16(xin, n * C * hw) : NULL, *r16 = bf16 && resid ? to_bf16(resid, M * O) : NULL;
        float *want = nc_malloc((size_t)(M * O) * sizeof(float)), *y[NISA] = {NULL};
        float *yw = nc_malloc((size_t)(M * O) * sizeof(float)); /* a bf16 output widened */
        ref_i8(&s, &l, blob, xin, bias, resid, scale, want);
        for (int k = NC_I8_PLAIN; k < NISA; k++) {
            if (!have[k]) continue;
            y[k] = nc_malloc((size_t)(M * O + 64) * sizeof(float));
            uint16_t *y16 = (uint16_t *)(void *)y[k];
            for (int64_t i = 0; i < M * O + 64; i++)
                if (bf16)
                    y16[i] = BF16_CANARY;
                else
                    y[k][i] = 42.0f;
            float *scratch = nc_malloc((size_t)(cgb_ceil_div(p[k].a_bytes, 4) + 64) * sizeof(float));
            CHECK(p[k].K4 == (k == NC_I8_AMX ? l64.K4 : l.K4));
            const unsigned char *bk = k == NC_I8_AMX ? blob64 : blob;
            const float *in[4] = {bf16 ? (const float *)(const void *)x16 : xin, (const float *)(const void *)bk, bias,
                                  r16 ? (const float *)(const void *)r16 : resid};
            if (scale) in[s.in_scale] = scale;
            float *out[2] = {y[k], scratch};
            if (q[k]) cgt_run(q[k], in, out, p[k].qtiles);
            cgt_run(g[k], in, out, p[k].tiles);
            double err;
            if (bf16) from_bf16(y16, yw, M * O);
            CHECK_MSG(cgt_close(bf16 ? yw : y[k], want, M * O, bf16 ? BF16_RTOL : 1e-5, &err),
                      "%s (%s): relative error %g", what, isa_names[k], err);
            int canary = 1;
            for (int i = 0; i < 64; i++) canary &= bf16 ? y16[M * O + i] == BF16_CANARY : y[k][M * O + i] == 42.0f;
            CHECK_MSG(canary, "%s (%s): wrote past the output", what, isa_names[k]);
            /* integer accumulation is exact and the epilogue the same instructions: the same bits */
            CHECK_MSG(!memcmp(y[k], y[NC_I8_PLAIN], (size_t)(M * O) * (bf16 ? 2 : 4)), "%s: %s and plain IR differ",
                      what, isa_names[k]);
            free(scratch);
        }
        /* against f32: the quantisation's error only (x at 8 bits per tensor, w at 7 per channel) */
        float *ref = nc_malloc((size_t)(M * O) * sizeof(float)), *got = nc_malloc((size_t)(M * O) * sizeof(float));
        cgt_ref_conv(x, w, bias, ref, n, C, 1, hw, O, 1, 1, 1, 0, 1, s.relu);
        if (bf16) from_bf16((const uint16_t *)(const void *)y[NC_I8_PLAIN], yw, M * O);
        cgt_to_nchw(bf16 ? yw : y[NC_I8_PLAIN], got, n, O, hw);
        if (resid) {
            float *rn = nc_malloc((size_t)(M * O) * sizeof(float));
            cgt_to_nchw(resid, rn, n, O, hw);
            for (int64_t i = 0; i < M * O; i++) ref[i] += rn[i];
            free(rn);
        }
        double err = 0;
        CHECK_MSG(scale || cgt_close(got, ref, M * O, 0.03, &err), "%s: %g of max |y| from f32", what, err);
        cgt_guarded_free(xin, n * C * hw), cgt_guarded_free((float *)(void *)blob, (l.bytes + 3) / 4);
        cgt_guarded_free((float *)(void *)blob64, (l64.bytes + 3) / 4);
        cgt_guarded_free(resid, M * O);
        for (int k = 0; k < NISA; k++) free(y[k]);
        free(x), free(w), free(bias), free(want), free(ref), free(got), free(yw), free(x16), free(r16), free(scale);
        cases++;
    }
    nc_cg_jit_free(jit);
}

/* ---- int8 im2col: the quantised input, byte columns, the int8 GEMM (cg_nhwc_im2col.h) ---------------- */

/* conv n x c x h x w -> o in grp groups, kxk window, stride st, padding pd; bias, an input scale, after ReLU a
 * residual (resid 1) or a per-(image, channel) factor (resid 2).  Against the arithmetic in C: each input value
 * quantised once (x times its scale, fmaf, nearbyintf), the padding the zero point, i32 sums over the blob's
 * weights in [O, KH, KW, C / grp] order (each group's columns from a whole panel), the f32 epilogue. */
static void check_im2col_i8(const NcCgTarget *t, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int k, int st,
                            int pd, int in_scale, int resid, int grp, int bf16) {
    NcError e;
    char what[192];
    if (bf16 && !bf16_ok) return;
    snprintf(what, sizeof what,
             "int8 im2col: n%lld c%lld %lldx%lld -> o%lld, %dx%d stride %d pad %d scale %d resid %d groups %d%s",
             (long long)n, (long long)c, (long long)h, (long long)w, (long long)o, k, k, st, pd, in_scale, resid, grp,
             bf16 ? ", bf16 activations" : "");
    NcGraph *g = nc_graph_new("i8");
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = k, a.stride[0] = a.stride[1] = st;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = pd;
    a.groups = grp;
    const int ni = cgt_conv_graph(g, n, c, h, w, o, a, 1, in_scale, resid == 2 ? "rm" : resid ? "ra" : "r", &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    const NcNode *nd = ni >= 0 ? &g->nodes.data[ni] : NULL;
    for (int i = 0; nd && i < nd->ninputs; i++) nc_val(g, nd->inputs[i])->layout = i == 0 ? NC_LAYOUT_NHWC : 0;
    NcNhwcIm2colPlan np;
    const char *why = "";
    const int taken = nd && nc_cg_nhwc_im2col_plan_i8(&np, g, nd, t, &why);
    /* stride-1 KxK windows only where the int8 GEMM has VNNI (else Winograd keeps them), */
    /* and a stem (reduction under 256, f32 direct) too */
    const int vnni = nc_cg_i8_isa(t) >= NC_I8_VNNI512;
    const int want_taken =
        grp > 1 ? k > 1 && ((st > 1 && c / grp * k * k >= 256) || vnni)
                : (st > 1 && (k == 1 || c * k * k >= 256 || vnni)) || (k == 1 && in_scale) || (k > 1 && vnni);
    CHECK_MSG(taken == want_taken, "%s: plan %s (%s)", what, taken ? "took it" : "refused", why);
    /* what VNNI hosts run, on every host: the kernel itself has every ISA's instructions */
    if (!taken && (!nd || !nc_cg_nhwc_im2col_plan_i8_as(&np, g, nd, t, 1, &why))) {
        nc_graph_free(g);
        return;
    }
    const int64_t Cg = c / grp, Og = o / grp, Npg = (Og + NC_I8_NR - 1) / NC_I8_NR * NC_I8_NR;
    const int64_t OH = np.OH, OW = np.OW, M = n * OH * OW, K = Cg * k * k, npix = n * h * w;
    float *x = cgt_random(npix * c), *wt = cgt_random(o * K), *bias = cgt_random(o);
    float *scale = in_scale ? cgt_random(n * c) : NULL;
    float *res = resid == 1 ? cgt_random(M * o) : resid == 2 ? cgt_random(n * o) : NULL;
    /* bf16: x and a whole residual as bf16 holds them (a per-channel factor stays f32) */
    uint16_t *x16 = bf16 ? to_bf16(x, npix * c) : NULL, *r16 = bf16 && resid == 1 ? to_bf16(res, M * o) : NULL;
    float *xs = nc_malloc((size_t)(npix * c) * sizeof(float)); /* NHWC, scaled */
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < npix * c; i++) {
        xs[i] = scale ? x[i] * scale[(i / (h * w * c)) * c + i % c] : x[i];
        lo = xs[i] < lo ? xs[i] : lo, hi = xs[i] > hi ? xs[i] : hi;
    }
    float *wr = nc_malloc((size_t)(o * K) * sizeof(float));
    nc_cg_nhwc_im2col_reorder(&np, wt, wr);
    /* a window's columns in the scratch, or made by the GEMM stage (fused: AMX's, and AVX2's so that every host
     * runs the fused loops; the other ISAs differ from AVX2's in the multiply-add alone) */
    for (int run = 0; run < 2 * (NC_I8_AMX + 1); run++) {
        const int isa = run / 2, fused = run % 2;
        NcGemmI8Plan q;
        if (isa < NC_I8_PLAIN || (fused && (k == 1 || (isa != NC_I8_AVX2 && isa != NC_I8_AMX))) ||
            (isa == NC_I8_AMX && !amx_allowed) || nc_cg_gemm_i8_plan_groups(&q, &np.gemm.s, grp, t, (NcI8Isa)isa, &e))
            continue;
        nc_cg_gemm_i8_set_fused(&q, fused);
        if (bf16) {
            q.x_bf16 = q.y_bf16 = 1;
            for (int i = 0; i < q.s.nepi; i++) q.epi_bf16[i] = q.s.epi[i].kind == NC_EPI_ADD && resid == 1;
        }
        NcI8Layout l;
        nc_i8_layout_groups(&l, grp, Og, K, nc_cg_i8_kalign_for((NcI8Isa)isa, K));
        CHECK_MSG(l.bytes == q.l.bytes, "%s: the plan's blob is not the packed one", what);
        unsigned char *blob = (unsigned char *)(void *)cgt_guarded((l.bytes + 3) / 4);
        nc_i8_pack_groups(&l, grp, Og, wr, lo, hi, blob);
        /* the reference, from the blob */
        float inv, zero;
        memcpy(&inv, blob, 4), memcpy(&zero, blob + 4, 4);
        const signed char *bw = (const signed char *)(blob + l.b_off);
        const float *cs = (const float *)(const void *)(blob + l.scale_off);
        const float *cc = (const float *)(const void *)(blob + l.corr_off);
        int *xq = nc_malloc((size_t)(npix * c) * sizeof(int));
        for (int64_t i = 0; i < npix * c; i++) {
            float v = nearbyintf(fmaf(xs[i], inv, zero));
            xq[i] = v < 0 ? 0 : v > 255 ? 255 : (int)v;
        }
        float *want = nc_malloc((size_t)(M * o) * sizeof(float));
        for (int64_t mi = 0; mi < M; mi++) {
            const int64_t b = mi / (OH * OW), oy = mi / OW % OH, ox = mi % OW;
            for (int64_t oc = 0; oc < o; oc++) {
                const int64_t gi = oc / Og, pc = gi * Npg + oc % Og; /* the blob's column */
                int32_t acc = 0;
                for (int64_t kk = 0; kk < K; kk++) {
                    const int64_t ci = gi * Cg + kk % Cg, kx = kk / Cg % k, ky = kk / Cg / k;
                    const int64_t iy = oy * st - pd + ky, ix = ox * st - pd + kx;
                    const int xv =
                        iy < 0 || iy >= h || ix < 0 || ix >= w ? (int)zero : xq[((b * h + iy) * w + ix) * c + ci];
                    acc +=
                        xv *
                        bw[(pc / NC_I8_NR) * l.K4 * NC_I8_NR + (kk / 4) * NC_I8_NR * 4 + (pc % NC_I8_NR) * 4 + kk % 4];
                }
                float r = fmaf((float)acc, cs[pc], cc[pc]) + bias[oc];
                r = r < 0 ? 0 : r;
                want[mi * o + oc] = resid == 1 ? r + res[mi * o + oc] : resid == 2 ? r * res[b * o + oc] : r;
            }
        }
        NcCgJit *jit = nc_cg_jit_new(&e);
        NcCgModule m;
        nc_cg_module_init(&m, t, "im2col_i8");
        NcCgKernel kern;
        memset(&kern, 0, sizeof kern);
        nc_cg_nhwc_im2col_emit_i8(&m, nd, &np, &q, "cv", &kern);
        const int strided_1x1 = k == 1 && st > 1; /* f32 columns first, then quantised */
        const char *names[3] = {strided_1x1 ? "cv_cols" : "cv_quant", strided_1x1 ? "cv_quant" : "cv_cols", "cv_i8mm"};
        const int nstages = fused ? 2 : 3;
        if (fused) names[1] = "cv_i8mm";
        const int64_t scratch = kern.scratch, tiles[3] = {kern.tiles[0], kern.tiles[1], kern.tiles[2]};
        int rc = nc_cg_jit_add(jit, &m, &e);
        nc_cg_module_dispose(&m);
        CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
        NcTileFn fn[3] = {NULL, NULL, NULL};
        for (int j = 0; j < nstages && !rc; j++) fn[j] = (NcTileFn)nc_cg_jit_lookup(jit, names[j], &e);
        if (fn[0] && fn[1] && (fused || fn[2])) {
            float *xg = cgt_guarded(npix * c);
            memcpy(xg, x, (size_t)(npix * c) * sizeof(float));
            float *y = nc_malloc((size_t)(M * o + 64) * sizeof(float)), *sc = nc_malloc((size_t)(scratch + 64) * 4);
            uint16_t *y16 = (uint16_t *)(void *)y;
            for (int64_t i = 0; i < M * o + 64; i++)
                if (bf16)
                    y16[i] = BF16_CANARY;
                else
                    y[i] = 42.0f;
            const float *in[NC_MAXIN] = {0};
            in[0] = bf16 ? (const float *)(const void *)x16 : xg, in[1] = (const float *)(const void *)blob;
            in[2] = bias;
            if (in_scale) in[nc_in_scale_input(&nd->attrs)] = scale;
            if (resid) in[nd->attrs.epi[1].input] = r16 ? (const float *)(const void *)r16 : res;
            float *out[2] = {y, sc};
            for (int j = 0; j < nstages; j++) cgt_run(fn[j], in, out, tiles[j]);
            double err;
            float *yw = bf16 ? nc_malloc((size_t)(M * o) * sizeof(float)) : NULL;
            if (bf16) from_bf16(y16, yw, M * o);
            CHECK_MSG(cgt_close(bf16 ? yw : y, want, M * o, bf16 ? BF16_RTOL : 1e-5, &err),
                      "%s (%s%s): relative error %g", what, isa_names[isa], fused ? ", fused" : "", err);
            free(yw);
            int canary = 1;
            for (int i = 0; i < 64; i++) canary &= bf16 ? y16[M * o + i] == BF16_CANARY : y[M * o + i] == 42.0f;
            CHECK_MSG(canary, "%s (%s%s): wrote past the output", what, isa_names[isa], fused ? ", fused" : "");
            cgt_guarded_free(xg, npix * c);
            free(y), free(sc);
            cases++;
        } else {
            CHECK_MSG(0, "%s (%s): %s", what, isa_names[isa], e.msg);
        }
        nc_cg_jit_free(jit);
        cgt_guarded_free((float *)(void *)blob, (l.bytes + 3) / 4);
        free(xq), free(want);
    }
    free(x), free(wt), free(bias), free(scale), free(res), free(xs), free(wr), free(x16), free(r16);
    nc_graph_free(g);
}

/* Kernels for CPUs that are not this one compile, and the int8 one uses the instructions the features call for
 * (want: an instruction and its register, or NULL). */
static void check_cross(const char *cpu, const char *features, const char *want1, const char *want2) {
    NcError e;
    NcCgTarget t;
    if (nc_cg_target_init(&t, cpu, features, &e)) {
        CHECK_MSG(0, "%s: %s", cpu, e.msg);
        return;
    }
    NcGemmSpec s = spec(1, 70, 45, 33, 1, 1);
    NcGemmI8Plan p;
    NcGemmPlan pb;
    NcCgModule m;
    nc_cg_module_init(&m, &t, "cross");
    CHECK(nc_cg_gemm_i8_plan(&p, &s, &t, 0, &e) == 0);
    NcCgKernel k;
    memset(&k, 0, sizeof k);
    nc_cg_gemm_i8_emit(&m, &p, "i8", &k);
    s.wtype = NC_BF16;
    CHECK(nc_cg_gemm_plan(&pb, &s, &t, &e) == 0);
    nc_cg_gemm_emit(&m, &pb, "bf16");
    CHECK_MSG(nc_cg_module_optimize(&m, &e) == 0, "%s: %s", cpu, e.msg);
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    CHECK_MSG(!LLVMTargetMachineEmitToMemoryBuffer(t.tm, m.mod, LLVMAssemblyFile, &err, &buf), "%s: %s", cpu, err);
    if (buf) {
        char *text = nc_strndup(LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
        CHECK_MSG(strstr(text, want1) && strstr(text, want2), "%s %s: no %s / %s", cpu, features, want1, want2);
        if (strcmp(want1, "vpmaddubsw"))
            CHECK_MSG(!strstr(text, "vpmaddubsw"), "%s %s: vpmaddubsw where %s was wanted", cpu, features, want1);
        free(text);
        LLVMDisposeMemoryBuffer(buf);
    }
    if (err) LLVMDisposeMessage(err);
    nc_cg_module_dispose(&m);
    nc_cg_target_free(&t);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    /* bf16 rounding: ties to even, as numpy / torch round to bf16 */
    CHECK(nc_bf16_round(1.0f) == 0x3f80);
    float f;
    uint32_t u = 0x3f808000u; /* 1 + 2^-8: a tie, rounds to even (down) */
    memcpy(&f, &u, 4);
    CHECK(nc_bf16_round(f) == 0x3f80);
    u = 0x3f818000u; /* a tie above an odd bf16: up */
    memcpy(&f, &u, 4);
    CHECK(nc_bf16_round(f) == 0x3f82);
    u = 0x3f808001u; /* just above a tie: up */
    memcpy(&f, &u, 4);
    CHECK(nc_bf16_round(f) == 0x3f81);
    NcError ae;
    amx_allowed = nc_cg_i8_best_isa(&t) >= NC_I8_AMX && nc_amx_enable(&ae) == 0;
    bf16_ok = nc_cg_bf16_target(&t) != NC_BF16_NONE;
    static const int64_t shapes[][4] = {{1, 1, 1, 1},     {1, 3, 5, 7},     {2, 17, 13, 29}, {1, 64, 64, 56},
                                        {3, 37, 70, 50},  {1, 300, 19, 45}, {2, 64, 256, 9}, {1, 512, 130, 49},
                                        {1, 1030, 7, 17}, {4, 9, 23, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        NcGemmSpec s = spec(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], (int)(i % 2), (int)(i % 3 != 1));
        check_bf16(&t, s);
        if (i % 3 == 0) {
            s.kc = 13, s.mc = 8, s.nc = 16; /* several reduction blocks, row and column blocks */
            check_bf16(&t, s);
        }
        s = spec(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], (int)(i % 2), (int)(i % 3 != 1));
        check_i8(&t, s, (int)(i % 2), 0, 0);
        if (i % 2) check_i8(&t, s, 1, 1, 0);
        if (i % 3 == 2) check_i8(&t, s, (int)(i % 2), (int)(i % 2), 1);
    }
    NcGemmSpec sc = spec(2, 40, 24, 30, 1, 0);
    sc.in_scale = 3; /* in[3]: one scale per (image, input channel) */
    check_bf16(&t, sc);
    /* a residual added after ReLU, as a bottleneck's conv3 */
    NcGemmSpec r = spec(2, 45, 70, 33, 1, 1);
    r.nepi = 1, r.epi[0].kind = NC_EPI_ADD, r.epi[0].input = 3;
    check_i8(&t, r, 1, 0, 0);
    check_i8(&t, r, 1, 1, 0);
    check_i8(&t, r, 1, 1, 1); /* fused: the rows quantised on the GEMM stage's stack */
    check_i8(&t, r, 1, 0, 1);
    NcGemmSpec si = spec(2, 100, 40, 300, 1, 0); /* an SE-scaled 1x1: the scale applied as the rows are quantised */
    si.in_scale = 3;
    check_i8(&t, si, 0, 0, 0);
    check_i8(&t, si, 0, 1, 1);
    check_i8(&t, si, 1, 0, 1);
    for (int i = 0; i < 6; i++)
        check_i8(&t, spec(cgt_int(1, 3), cgt_int(1, 200), cgt_int(1, 80), cgt_int(1, 120), 1, 0), 0, i % 2, i % 3 == 0);
    /* int8 im2col: 3x3 stride 1 and 2, a stem-like 7x7 stride 2, a strided 1x1, a 1x1 on a scaled input */
    check_im2col_i8(&t, 2, 32, 9, 11, 37, 3, 1, 1, 0, 1, 1, 0);
    check_im2col_i8(&t, 1, 40, 8, 8, 70, 3, 2, 1, 0, 0, 1, 0);
    check_im2col_i8(&t, 1, 8, 13, 10, 20, 7, 2, 3, 0, 0, 1, 0);
    check_im2col_i8(&t, 2, 3, 15, 14, 24, 7, 2, 3, 0, 0, 1, 0); /* resnet50's stem: on VNNI only */
    check_im2col_i8(&t, 2, 24, 7, 9, 33, 1, 2, 0, 0, 1, 1, 0);
    check_im2col_i8(&t, 2, 96, 5, 6, 64, 1, 1, 0, 1, 0, 1, 0);
    /* grouped (one GEMM per group): ResNeSt's radix 2 (32 channels a group, a residual), RegNetY's 24-wide groups
     * (columns in part of a panel; stride 2, an SE-like scale on the input; a per-channel factor), groups whose
     * reduction fits one AMX step (8 channels, 2x2) or is padded to 128 bytes (8 channels, 3x3), many row blocks */
    check_im2col_i8(&t, 2, 64, 6, 7, 64, 3, 1, 1, 0, 1, 2, 0);
    check_im2col_i8(&t, 1, 48, 9, 8, 48, 3, 2, 1, 1, 0, 2, 0);
    check_im2col_i8(&t, 2, 120, 5, 5, 120, 3, 1, 1, 0, 2, 5, 0);
    check_im2col_i8(&t, 1, 24, 6, 6, 39, 2, 1, 0, 0, 0, 3, 0);
    check_im2col_i8(&t, 1, 16, 7, 5, 16, 3, 1, 1, 0, 1, 2, 0);
    check_im2col_i8(&t, 2, 48, 20, 21, 96, 3, 1, 1, 0, 0, 2, 0);
    check_im2col_i8(&t, 1, 16, 7, 5, 16, 1, 2, 0, 0, 0, 2, 0); /* a grouped 1x1: refused (the f32 kernels) */
    /* bf16 activations (int8 on AVX512-BF16 hosts): a 3x3 with a residual, a strided 1x1 (its f32 copy widens
     * them), a scaled 1x1, a grouped 3x3 with a residual, a stride-2 one with a per-channel factor */
    check_im2col_i8(&t, 2, 32, 9, 11, 37, 3, 1, 1, 0, 1, 1, 1);
    check_im2col_i8(&t, 2, 24, 7, 9, 33, 1, 2, 0, 0, 1, 1, 1);
    check_im2col_i8(&t, 2, 96, 5, 6, 64, 1, 1, 0, 1, 0, 1, 1);
    check_im2col_i8(&t, 2, 64, 6, 7, 64, 3, 1, 1, 0, 1, 2, 1);
    check_im2col_i8(&t, 1, 48, 9, 8, 48, 3, 2, 1, 1, 2, 2, 1);
    /* AVX-512 without VNNI: the AVX2 instructions; AVX512-VNNI: zmm vpdpbusd; AVX-VNNI alone: ymm vpdpbusd */
    check_cross("znver4", "+avx2,+fma,+avx512f,+avx512bw,+avx512vl", "vpmaddubsw", "vpmaddwd");
    check_cross("sapphirerapids", "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni", "vpdpbusd", "zmm");
    check_cross("sapphirerapids", "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni,+amx-tile,+amx-int8", "tdpbusd",
                "ldtilecfg");
    check_cross("alderlake", "+avx2,+fma,+avxvnni", "vpdpbusd", "ymm");
    check_cross("znver3", "+avx2,+fma", "vpmaddubsw", "vpmaddwd");
    /* a CPU by name alone (`--cpu NAME`): the int8 instructions its name implies, not the plain kernels */
    check_cross("znver3", "", "vpmaddubsw", "vpmaddwd");
    check_cross("haswell", "", "vpmaddubsw", "vpmaddwd");
    check_cross("cascadelake", "", "vpdpbusd", "zmm");
    check_cross("alderlake", "", "vpdpbusd", "ymm");
    check_cross("sapphirerapids", "", "tdpbusd", "tmm");
    const NcI8Isa best = nc_cg_i8_best_isa(&t);
    printf("int8 paths run on this host: plain IR%s%s%s%s\n", best >= NC_I8_AVX2 ? ", avx2" : "",
           best >= NC_I8_AVXVNNI ? ", avxvnni" : "", best >= NC_I8_VNNI512 ? ", avx512vnni" : "",
           best >= NC_I8_AMX ? ", amx" : "");
    if (best < NC_I8_AMX) printf("amx kernels skipped: no AMX-INT8 on this host\n");
    if (best >= NC_I8_AMX && !amx_allowed) printf("amx kernels skipped: Linux refused the tile state\n");
    if (best < NC_I8_VNNI512) printf("avx512vnni kernels skipped: no VNNI (AVX512-VNNI) on this host\n");
    printf("%d kernels checked\n", cases);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
