/* test_cuda_conv.c — codegen/cuda/cu_conv.h's kernels (and cu_copy.h's
 * transpose, which the GEMM-shaped paths need) against the reference
 * kernels of ir/, through the device emulator (cu_test.h):
 *  - forward by im2col + the device layer's GEMM, in each column layout
 *    (per image and group; the batch in one GEMM, then a transpose back to
 *    NCHW), against nc_ref_conv2d;
 *  - the input gradient by GEMM (dcol = W^T dy) + col2im, against
 *    nc_ref_conv2d_grad_input; the weight gradient by im2col (transposed) +
 *    one GEMM, against nc_ref_conv2d_grad_weight;
 *  - the direct (depthwise, grouped, channel multiplier) conv with its fused
 *    epilogue (and the tiled depthwise kernel), and its direct input and
 *    weight gradients (and the weight gradient split over chunks).
 * Strides, dilations, symmetric and TF-"same" (asymmetric) padding, odd
 * sizes. */
#include "codegen/cuda/cu_conv.h"
#include "codegen/cuda/cu_copy.h"
#include "tests/cuda/cu_test.h"

typedef struct {
    int64_t n, c, h, w, o;
    int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
} Conv;

static int64_t out_size(int64_t in, int k, int s, int d, int p0, int p1) {
    return (in + p0 + p1 - (int64_t)d * (k - 1) - 1) / s + 1;
}

/* The conv's attributes, values (x, w, bias [O], y) and window. */
typedef struct {
    NcAttrs a;
    NcValue x, w, b, y;
    NcCuWin g;
    int64_t nx, nw, ny, cg, og, K, P;
} Geo;

static Geo geo(const Conv *c) {
    Geo r;
    r.a = nc_attrs_default();
    r.a.kernel[0] = c->kh, r.a.kernel[1] = c->kw, r.a.stride[0] = c->sh, r.a.stride[1] = c->sw;
    r.a.dilation[0] = c->dh, r.a.dilation[1] = c->dw, r.a.groups = c->groups;
    r.a.pad[0] = c->pt, r.a.pad[1] = c->pl, r.a.pad[2] = c->pb, r.a.pad[3] = c->pr;
    r.cg = c->c / c->groups, r.og = c->o / c->groups;
    const int64_t oh = out_size(c->h, c->kh, c->sh, c->dh, c->pt, c->pb),
                  ow = out_size(c->w, c->kw, c->sw, c->dw, c->pl, c->pr);
    const int64_t xs[4] = {c->n, c->c, c->h, c->w}, ws[4] = {c->o, r.cg, c->kh, c->kw}, bs[1] = {c->o},
                  ys[4] = {c->n, c->o, oh, ow};
    r.x = cut_value(4, xs), r.w = cut_value(4, ws), r.b = cut_value(1, bs), r.y = cut_value(4, ys);
    r.g = nc_cu_win(&r.a, xs, ys);
    r.nx = nc_numel(&r.x), r.nw = nc_numel(&r.w), r.ny = nc_numel(&r.y);
    r.K = r.cg * c->kh * c->kw, r.P = oh * ow;
    return r;
}

static void ref_conv(const Geo *g, const float *x, const float *w, const float *bias, float *y) {
    NcAttrs a = g->a;
    a.has_bias = bias != NULL;
    const NcValue *iv[3] = {&g->x, &g->w, &g->b}, *ov[1] = {&g->y};
    const float *in[3] = {x, w, bias};
    cut_ref(nc_ref_conv2d, &a, bias ? 3 : 2, iv, in, 1, ov, &y);
}

static void ref_grad_input(const Geo *g, const float *dy, const float *w, float *dx) {
    const NcValue *iv[2] = {&g->y, &g->w}, *ov[1] = {&g->x};
    const float *in[2] = {dy, w};
    cut_ref(nc_ref_conv2d_grad_input, &g->a, 2, iv, in, 1, ov, &dx);
}

static void ref_grad_weight(const Geo *g, const float *dy, const float *x, float *dw) {
    const NcValue *iv[2] = {&g->y, &g->x}, *ov[1] = {&g->w};
    const float *in[2] = {dy, x};
    cut_ref(nc_ref_conv2d_grad_weight, &g->a, 2, iv, in, 1, ov, &dw);
}

/* rows x cols -> cols x rows, on the host (weight packing, done once) */
static float *host_t(const float *a, int64_t rows, int64_t cols) {
    float *t = nc_malloc((size_t)(rows * cols) * 4);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
    return t;
}

static NcDevice *emu(void) { return cut_devs[0]; }

static void gemm(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k) {
    NcError e;
    CHECK_MSG(nc_dev_gemm(emu(), m, n, k, a, b, c, &e) == 0, "%s", e.msg);
}

/* The forward by im2col + GEMM: NKP per image and group, or KNP (groups 1):
 * one GEMM into [O, N P], transposed back to [N, O, P] by a copy kernel. */
static void im2col_case(const char *name, const Conv *c, NcCuColLayout layout) {
    const Geo g = geo(c);
    float *x = cgt_random(g.nx), *w = cgt_random(g.nw), *want = nc_malloc((size_t)g.ny * 4);
    ref_conv(&g, x, w, NULL, want);
    NcCuIm2col ks[8];
    NcDevKernel kk[8];
    NC_CHECK(c->groups <= 8 && (layout == NC_CU_COL_NKP || c->groups == 1));
    for (int gi = 0; gi < c->groups; gi++) {
        ks[gi] = (NcCuIm2col){.g = g.g, .c0 = gi * g.cg, .cn = c->groups > 1 ? g.cg : 0, .layout = layout};
        NcCuDesc d;
        char nm[64];
        snprintf(nm, sizeof nm, "%s_g%d", name, gi);
        nc_cu_im2col_desc(&d, nm, &ks[gi]);
        kk[gi] = cut_kernel(&d);
    }
    const int64_t colsz = c->n * g.K * g.P;
    float *dx = cut_up(emu(), x, g.nx), *dw = cut_up(emu(), w, g.nw), *dy = cut_up(emu(), NULL, g.ny);
    float *dcol = cut_up(emu(), NULL, colsz);
    if (layout == NC_CU_COL_NKP) {
        for (int gi = 0; gi < c->groups; gi++) {
            float *p[2] = {dx, dcol};
            cut_launch(emu(), &kk[gi], p);
            for (int64_t n = 0; n < c->n; n++) /* y_n,g [OG, P] = W_g [OG, K] . col_n [K, P] */
                gemm(dw + gi * g.og * g.K, dcol + n * g.K * g.P, dy + (n * c->o + gi * g.og) * g.P, g.og, g.P, g.K);
        }
    } else {
        float *p[2] = {dx, dcol};
        cut_launch(emu(), &kk[0], p);
        float *ywide = cut_up(emu(), NULL, g.ny);
        gemm(dw, dcol, ywide, c->o, c->n * g.P, g.K);
        const int64_t shape[3] = {c->o, c->n, g.P}, perm[3] = {1, 0, 2};
        NcCuCopy t;
        nc_cu_copy_transpose(&t, 3, shape, perm);
        NcCuDesc d;
        char nm[64];
        snprintf(nm, sizeof nm, "%s_back", name);
        nc_cu_copy_desc(&d, nm, &t);
        NcDevKernel kt = cut_kernel(&d);
        float *q[2] = {ywide, dy};
        cut_launch(emu(), &kt, q);
        free((char *)kt.ptx);
        nc_dev_free(emu(), ywide);
    }
    char what[96];
    snprintf(what, sizeof what, "%s: im2col + GEMM", name);
    cut_expect(emu(), what, dy, want, g.ny);
    for (int gi = 0; gi < c->groups; gi++) free((char *)kk[gi].ptx);
    nc_dev_free(emu(), dx), nc_dev_free(emu(), dw), nc_dev_free(emu(), dy), nc_dev_free(emu(), dcol);
    free(x), free(w), free(want);
}

/* The input gradient: dcol = W_g^T dy (per image and group, NKP; or for the
 * batch, KNP, with dy transposed to [O, N P] first), then col2im. */
static void col2im_case(const char *name, const Conv *c, NcCuColLayout layout) {
    const Geo g = geo(c);
    float *dyh = cgt_random(g.ny), *w = cgt_random(g.nw), *want = nc_malloc((size_t)g.nx * 4);
    ref_grad_input(&g, dyh, w, want);
    NC_CHECK(c->groups <= 8 && (layout == NC_CU_COL_NKP || c->groups == 1));
    const int64_t colsz = c->n * g.K * g.P;
    float *dxd = cut_up(emu(), NULL, g.nx), *dyd = cut_up(emu(), dyh, g.ny), *dcol = cut_up(emu(), NULL, colsz);
    NcCuIm2col ks[8];
    for (int gi = 0; gi < c->groups; gi++) {
        /* W_g^T [K, OG], transposed once as weight packing would */
        float *wt = host_t(w + gi * g.og * g.K, g.og, g.K), *dwt = cut_up(emu(), wt, g.og * g.K);
        if (layout == NC_CU_COL_NKP)
            for (int64_t n = 0; n < c->n; n++)
                gemm(dwt, dyd + (n * c->o + gi * g.og) * g.P, dcol + n * g.K * g.P, g.K, g.P, g.og);
        else {
            const int64_t shape[3] = {c->n, c->o, g.P}, perm[3] = {1, 0, 2};
            NcCuCopy t;
            nc_cu_copy_transpose(&t, 3, shape, perm);
            NcCuDesc d;
            char nm[64];
            snprintf(nm, sizeof nm, "%s_dyt", name);
            nc_cu_copy_desc(&d, nm, &t);
            NcDevKernel kt = cut_kernel(&d);
            float *dyt = cut_up(emu(), NULL, g.ny), *q[2] = {dyd, dyt};
            cut_launch(emu(), &kt, q);
            gemm(dwt, dyt, dcol, g.K, c->n * g.P, c->o);
            free((char *)kt.ptx);
            nc_dev_free(emu(), dyt);
        }
        ks[gi] = (NcCuIm2col){.g = g.g, .c0 = gi * g.cg, .cn = c->groups > 1 ? g.cg : 0, .layout = layout};
        NcCuDesc d;
        char nm[64];
        snprintf(nm, sizeof nm, "%s_g%d", name, gi);
        nc_cu_col2im_desc(&d, nm, &ks[gi]);
        NcDevKernel kc = cut_kernel(&d);
        float *p[2] = {dcol, dxd};
        cut_launch(emu(), &kc, p);
        free((char *)kc.ptx);
        free(wt);
        nc_dev_free(emu(), dwt);
    }
    char what[96];
    snprintf(what, sizeof what, "%s: GEMM + col2im", name);
    cut_expect(emu(), what, dxd, want, g.nx);
    nc_dev_free(emu(), dxd), nc_dev_free(emu(), dyd), nc_dev_free(emu(), dcol);
    free(dyh), free(w), free(want);
}

/* The weight gradient: colT [N P, K] (im2col, NPK), dy' [O, N P] (a
 * transpose), dW = dy' colT in one GEMM (groups 1). */
/* The weight gradient: dy' [O, N P] (a transpose), then per group colT_g
 * [N P, K] (im2col, NPK, the group's channels) and dW_g = dy'_g colT_g, the
 * group's rows of dy' and of dW being contiguous. */
static void wgrad_gemm_case(const char *name, const Conv *c) {
    const Geo g = geo(c);
    float *dyh = cgt_random(g.ny), *x = cgt_random(g.nx), *want = nc_malloc((size_t)g.nw * 4);
    ref_grad_weight(&g, dyh, x, want);
    const int64_t shape[3] = {c->n, c->o, g.P}, perm[3] = {1, 0, 2};
    NcCuCopy t;
    nc_cu_copy_transpose(&t, 3, shape, perm);
    NcCuDesc d2;
    char n2[64];
    snprintf(n2, sizeof n2, "%s_dyt", name);
    nc_cu_copy_desc(&d2, n2, &t);
    NcDevKernel k2 = cut_kernel(&d2);
    float *xd = cut_up(emu(), x, g.nx), *dyd = cut_up(emu(), dyh, g.ny), *col = cut_up(emu(), NULL, c->n * g.P * g.K);
    float *dyt = cut_up(emu(), NULL, g.ny), *dwd = cut_up(emu(), NULL, g.nw);
    float *p2[2] = {dyd, dyt};
    cut_launch(emu(), &k2, p2);
    for (int gi = 0; gi < c->groups; gi++) {
        NcCuIm2col ic = {.g = g.g, .c0 = gi * g.cg, .cn = c->groups > 1 ? g.cg : 0, .layout = NC_CU_COL_NPK};
        NcCuDesc d1;
        char n1[64];
        snprintf(n1, sizeof n1, "%s_colT%d", name, gi);
        nc_cu_im2col_desc(&d1, n1, &ic);
        NcDevKernel k1 = cut_kernel(&d1);
        float *p1[2] = {xd, col};
        cut_launch(emu(), &k1, p1);
        gemm(dyt + gi * g.og * c->n * g.P, col, dwd + gi * g.og * g.K, g.og, g.K, c->n * g.P);
        free((char *)k1.ptx);
    }
    char what[96];
    snprintf(what, sizeof what, "%s: im2col^T + GEMM", name);
    cut_expect(emu(), what, dwd, want, g.nw);
    free((char *)k2.ptx);
    nc_dev_free(emu(), xd), nc_dev_free(emu(), dyd), nc_dev_free(emu(), col), nc_dev_free(emu(), dyt),
        nc_dev_free(emu(), dwd);
    free(dyh), free(x), free(want);
}

/* The direct conv with an epilogue: `tail` 0 bias + silu, 1 folded BN +
 * relu6, 2 BN + residual add + relu — each step's reference its own ir/
 * kernel. */
static void direct_case(const char *name, const Conv *c, int tail) {
    const Geo g = geo(c);
    const int64_t O = c->o;
    float *x = cgt_random(g.nx), *w = cgt_random(g.nw), *bias = cgt_random(O), *res = cgt_random(g.ny);
    float *gam = cgt_random(O), *bet = cgt_random(O), *mean = cgt_random(O), *var = cgt_random(O);
    float *sc = nc_malloc((size_t)O * 4), *sh = nc_malloc((size_t)O * 4);
    const double eps = (double)1e-5f;
    for (int64_t i = 0; i < O; i++) {
        var[i] = var[i] * 0.5f + 1.0f;
        const double inv = 1.0 / sqrt((double)var[i] + eps);
        sc[i] = (float)(inv * gam[i]), sh[i] = (float)(bet[i] - mean[i] * inv * gam[i]);
    }
    float *want = nc_malloc((size_t)g.ny * 4), *tmp = nc_malloc((size_t)g.ny * 4);
    NcAttrs a = nc_attrs_default();
    a.eps = (float)eps, a.lo = 0, a.hi = 6;
    const NcValue *yv[2] = {&g.y, &g.y};
    NcCuConv k = {.g = g.g, .o = O, .groups = c->groups, .nparams = 3};
    float *params[8] = {x, NULL, w};
    int64_t sizes[8] = {g.nx, g.ny, g.nw};
    if (tail == 0) {
        ref_conv(&g, x, w, bias, tmp);
        const float *in[1] = {tmp};
        cut_ref(nc_ref_silu, &a, 1, yv, in, 1, yv, &want);
        k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_BIAS, .a = 3};
        k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_SILU};
        params[3] = bias, sizes[3] = O, k.nparams = 4;
    } else {
        ref_conv(&g, x, w, NULL, want);
        const NcValue *bv[5] = {&g.y, &g.b, &g.b, &g.b, &g.b};
        const float *bin[5] = {want, gam, bet, mean, var};
        cut_ref(nc_ref_batch_norm, &a, 5, bv, bin, 1, yv, &tmp);
        k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_SCALE_SHIFT, .a = 3, .b = 4};
        params[3] = sc, params[4] = sh, sizes[3] = sizes[4] = O, k.nparams = 5;
        if (tail == 2) {
            const float *ain[2] = {tmp, res};
            cut_ref(nc_ref_add, &a, 2, yv, ain, 1, yv, &want);
            memcpy(tmp, want, (size_t)g.ny * 4);
            k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_ADD, .a = 5};
            params[5] = res, sizes[5] = g.ny, k.nparams = 6;
        }
        const float *in[1] = {tmp};
        cut_ref(tail == 1 ? nc_ref_clamp : nc_ref_relu, &a, 1, yv, in, 1, yv, &want);
        k.step[k.nsteps++] = (NcCuEwStep){.kind = tail == 1 ? NC_CU_EW_CLAMP : NC_CU_EW_RELU, .lo = 0, .hi = 6};
    }
    NcCuDesc d;
    nc_cu_conv_desc(&d, name, &k);
    cut_check1(&d, params, sizes, want);
    if (c->groups == c->c) { /* depthwise: the tiled kernel too */
        char nm[64];
        snprintf(nm, sizeof nm, "%s_tiled", name);
        nc_cu_dwconv_tiled_desc(&d, nm, &k);
        cut_check1(&d, params, sizes, want);
    }
    free(x), free(w), free(bias), free(res), free(gam), free(bet), free(mean), free(var), free(sc), free(sh),
        free(want), free(tmp);
}

static void direct_grad_case(const char *name, const Conv *c) {
    const Geo g = geo(c);
    float *dy = cgt_random(g.ny), *w = cgt_random(g.nw), *x = cgt_random(g.nx);
    float *want_dx = nc_malloc((size_t)g.nx * 4), *want_dw = nc_malloc((size_t)g.nw * 4);
    ref_grad_input(&g, dy, w, want_dx);
    ref_grad_weight(&g, dy, x, want_dw);
    NcCuConv k = {.g = g.g, .o = c->o, .groups = c->groups, .nparams = 3};
    NcCuDesc d;
    char nm[64];
    snprintf(nm, sizeof nm, "%s_dx", name);
    nc_cu_conv_grad_input_desc(&d, nm, &k);
    float *pi[3] = {dy, NULL, w};
    const int64_t si[3] = {g.ny, g.nx, g.nw};
    cut_check1(&d, pi, si, want_dx);
    snprintf(nm, sizeof nm, "%s_dw", name);
    nc_cu_conv_grad_weight_desc(&d, nm, &k);
    float *pw[3] = {dy, NULL, x};
    const int64_t sw[3] = {g.ny, g.nw, g.nx};
    cut_check1(&d, pw, sw, want_dw);
    /* the split form: chunks of 37 outputs (the last one shorter), two launches */
    NcCuWgradSplit ws = {k, 37};
    NcCuDesc d1, d2;
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s_dw_part", name), snprintf(n2, sizeof n2, "%s_dw_sum", name);
    nc_cu_wgrad_split_partials_desc(&d1, n1, &ws);
    nc_cu_wgrad_split_finalize_desc(&d2, n2, &ws);
    NcDevKernel k1 = cut_kernel(&d1), k2 = cut_kernel(&d2);
    NcDevice *dev = emu();
    float *ddy = cut_up(dev, dy, g.ny), *dxx = cut_up(dev, x, g.nx),
          *part = cut_up(dev, NULL, nc_cu_wgrad_split_scratch(&ws)), *ddw = cut_up(dev, NULL, g.nw);
    float *q1[3] = {ddy, part, dxx}, *q2[2] = {part, ddw};
    cut_launch(dev, &k1, q1);
    cut_launch(dev, &k2, q2);
    char what[96];
    snprintf(what, sizeof what, "%s_dw split in %lld chunks", name, (long long)nc_cu_wgrad_split_chunks(&ws));
    cut_expect(dev, what, ddw, want_dw, g.nw);
    nc_dev_free(dev, ddy), nc_dev_free(dev, dxx), nc_dev_free(dev, part), nc_dev_free(dev, ddw);
    free((char *)k1.ptx), free((char *)k2.ptx);
    free(dy), free(w), free(x), free(want_dx), free(want_dw);
}

int main(void) {
    cut_init();
    /*                           n  c   h   w   o  kh kw sh sw dh dw pt pl pb pr groups */
    const Conv c3 = {2, 5, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const Conv tf_s2 = {2, 4, 8, 10, 6, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1}; /* TF "same", even input, stride 2 */
    const Conv dil_g2 = {1, 6, 11, 7, 4, 5, 3, 1, 2, 2, 1, 4, 1, 4, 1, 2};
    const Conv stem = {1, 3, 13, 13, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1};
    const Conv rect = {3, 3, 5, 12, 5, 1, 3, 1, 3, 1, 1, 0, 2, 0, 0, 1}; /* 1x3, stride (1, 3), asymmetric */
    im2col_case("im2col_3x3", &c3, NC_CU_COL_NKP);
    im2col_case("im2col_tf_s2", &tf_s2, NC_CU_COL_KNP);
    im2col_case("im2col_dil_g2", &dil_g2, NC_CU_COL_NKP);
    im2col_case("im2col_stem", &stem, NC_CU_COL_NKP);
    im2col_case("im2col_rect", &rect, NC_CU_COL_KNP);
    col2im_case("col2im_3x3", &c3, NC_CU_COL_KNP);
    col2im_case("col2im_tf_s2", &tf_s2, NC_CU_COL_NKP);
    col2im_case("col2im_dil_g2", &dil_g2, NC_CU_COL_NKP);
    col2im_case("col2im_stem", &stem, NC_CU_COL_KNP);
    wgrad_gemm_case("wgrad_tf_s2", &tf_s2);
    wgrad_gemm_case("wgrad_rect", &rect);
    wgrad_gemm_case("wgrad_stem", &stem);
    wgrad_gemm_case("wgrad_dil_g2", &dil_g2);                          /* per group: the group's channels and rows */
    const Conv one = {2, 3, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* a 1x1 image: only the centre tap reads */
    im2col_case("im2col_one", &one, NC_CU_COL_NKP);
    col2im_case("col2im_one", &one, NC_CU_COL_KNP);
    wgrad_gemm_case("wgrad_one", &one);

    const Conv dw3 = {2, 12, 13, 11, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12};
    const Conv dw5_tf = {2, 8, 10, 9, 8, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 8}; /* TF "same" 5x5 stride 2 */
    const Conv dw_mult = {1, 4, 7, 9, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4}; /* multiplier 2, dilation 2 */
    const Conv grp = {2, 16, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4};    /* 4 groups of 4 -> 2 */
    const Conv grp_s2 = {1, 12, 9, 8, 12, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 3};
    direct_case("dw3_bn_relu6", &dw3, 1);
    direct_case("dw5_tf_bias_silu", &dw5_tf, 0);
    direct_case("dw_mult_bn_relu6", &dw_mult, 1);
    direct_case("grp_bn_add_relu", &grp, 2);
    direct_case("grp_s2_bias_silu", &grp_s2, 0);
    const Conv dw_wide = {1, 3, 20, 45, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3}; /* 45 columns: two tiles across */
    direct_case("dw_wide_bn_relu6", &dw_wide, 1);
    direct_grad_case("dw3", &dw3);
    direct_grad_case("dw5_tf", &dw5_tf);
    direct_grad_case("dw_mult", &dw_mult);
    direct_grad_case("grp", &grp);
    direct_grad_case("grp_s2", &grp_s2);
    direct_grad_case("stem", &stem);                                       /* a dense 7x7: 49 taps per weight block */
    const Conv dw_tiny = {3, 4, 1, 2, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4}; /* 1x2 input, stride 2: one output */
    direct_case("dw_tiny_bn_relu6", &dw_tiny, 1);
    direct_grad_case("dw_tiny", &dw_tiny);
    cut_done();
    TEST_MAIN_END();
}
