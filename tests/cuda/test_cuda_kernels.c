/* test_cuda_kernels.c — every kernel of codegen/cuda/ from its one
 * description: the NVPTX lowering assembled by ptxas for sm_90 (skipped, with
 * a message, where the toolkit is absent), the CPU lowering run through the
 * device layer's emulator against the reference kernels (ir/), and — where a
 * GPU and its driver are present — the PTX run on the GPU against the same
 * references.  Without a GPU, opening the "cuda" device must fail with a
 * message that says so. */
#include "codegen/cuda/cu_kernels.h"
#include "tests/cuda/cu_test.h"

/* A value of rank ndim, shape (a, b, c, d) (unused sizes 0). */
#define VAL(ndim, a, b, c, d) cut_value(ndim, (const int64_t[4]){a, b, c, d})

/* One reference kernel, one output, on hand-made values. */
static void ref(NcRefFn fn, const NcAttrs *a, const NcValue *const *iv, const float *const *in, int nin,
                const NcValue *ov, float *out) {
    cut_ref(fn, a, nin, iv, in, 1, &ov, &out);
}

/* An epilogue chain: batch norm (folded to scale / shift for the kernel),
 * then `tail` (relu, relu6, silu, add + relu, sigmoid) — each step of the
 * reference run by its own ir/ kernel. */
typedef enum { T_RELU, T_RELU6, T_SILU, T_ADD_RELU, T_SIGMOID } Tail;

static void eltwise_case(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, Tail tail) {
    const int64_t hw = h * w, total = n * c * hw;
    float *x = cgt_random(total), *res = cgt_random(total), *gam = cgt_random(c), *bet = cgt_random(c),
          *mean = cgt_random(c), *var = cgt_random(c), *sc = nc_malloc((size_t)c * 4), *sh = nc_malloc((size_t)c * 4);
    for (int64_t i = 0; i < total; i++) x[i] *= 6; /* past relu6's and exp's knees */
    const double eps = (double)1e-5f;              /* as the reference reads attrs.eps */
    for (int64_t i = 0; i < c; i++) {
        var[i] = var[i] * 0.5f + 1.0f;
        const double inv = 1.0 / sqrt((double)var[i] + eps);
        sc[i] = (float)(inv * gam[i]), sh[i] = (float)(bet[i] - mean[i] * inv * gam[i]);
    }
    /* the reference */
    NcValue xv = VAL(4, n, c, h, w), cv = VAL(1, c, 0, 0, 0);
    NcAttrs a = nc_attrs_default();
    a.eps = (float)eps;
    float *want = nc_malloc((size_t)total * 4), *tmp = nc_malloc((size_t)total * 4);
    {
        const NcValue *iv[5] = {&xv, &cv, &cv, &cv, &cv};
        const float *in[5] = {x, gam, bet, mean, var};
        ref(nc_ref_batch_norm, &a, iv, in, 5, &xv, want);
    }
    const NcValue *iv1[2] = {&xv, &xv};
    NcCuEltwise k = {.n = n, .c = c, .hw = hw, .nparams = 4};
    k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_SCALE_SHIFT, .a = 2, .b = 3};
    if (tail == T_ADD_RELU) {
        const float *in[2] = {want, res};
        ref(nc_ref_add, &a, iv1, in, 2, &xv, tmp);
        memcpy(want, tmp, (size_t)total * 4);
        k.step[k.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_ADD, .a = 4};
        k.nparams = 5;
    }
    NcRefFn fn = tail == T_RELU6     ? nc_ref_clamp
                 : tail == T_SILU    ? nc_ref_silu
                 : tail == T_SIGMOID ? nc_ref_sigmoid
                                     : nc_ref_relu;
    a.lo = 0, a.hi = 6;
    const float *in[1] = {want};
    ref(fn, &a, iv1, in, 1, &xv, tmp);
    const NcCuEwKind kinds[] = {NC_CU_EW_RELU, NC_CU_EW_CLAMP, NC_CU_EW_SILU, NC_CU_EW_RELU, NC_CU_EW_SIGMOID};
    k.step[k.nsteps++] = (NcCuEwStep){.kind = kinds[tail], .lo = 0, .hi = 6};
    NcCuDesc d;
    nc_cu_eltwise_desc(&d, name, &k);
    float *params[5] = {x, NULL, sc, sh, res}; /* the output: NaN until written */
    const int64_t sizes[5] = {total, total, c, c, total};
    cut_check1(&d, params, sizes, tmp);
    free(x), free(res), free(gam), free(bet), free(mean), free(var), free(sc), free(sh), free(want), free(tmp);
}

static void row_case(const char *name, int64_t rows, int64_t len, int softmax) {
    float *x = cgt_random(rows * len), *want = nc_malloc((size_t)(rows * len) * 4);
    for (int64_t i = 0; i < rows * len; i++) x[i] *= 8;
    NcAttrs a = nc_attrs_default();
    NcCuRowMean r = {rows, len};
    NcCuDesc d;
    int64_t nout;
    if (softmax) {
        NcValue v = VAL(2, rows, len, 0, 0);
        a.axis = 1;
        const NcValue *iv[1] = {&v};
        const float *in[1] = {x};
        ref(nc_ref_softmax, &a, iv, in, 1, &v, want);
        nc_cu_softmax_desc(&d, name, &r);
        nout = rows * len;
    } else { /* global average pool over [1, rows, 1, len] */
        NcValue v = VAL(4, 1, rows, 1, len), o = VAL(4, 1, rows, 1, 1);
        const NcValue *iv[1] = {&v};
        const float *in[1] = {x};
        ref(nc_ref_global_avg_pool, &a, iv, in, 1, &o, want);
        nc_cu_row_mean_desc(&d, name, &r);
        nout = rows;
    }
    float *params[2] = {x, NULL};
    const int64_t sizes[2] = {rows * len, nout};
    cut_check1(&d, params, sizes, want);
    free(x), free(want);
}

/* The emulator's GEMM against nc_ref_linear (y = x . w^T). */
static void gemm_case(int64_t m, int64_t n, int64_t k) {
    NcDevice *emu = cut_devs[0], *cuda = cut_devs[1];
    float *x = cgt_random(m * k), *w = cgt_random(n * k), *bt = nc_malloc((size_t)(k * n) * 4);
    float *want = nc_malloc((size_t)(m * n) * 4), *got = nc_malloc((size_t)(m * n) * 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) bt[j * n + i] = w[i * k + j];
    NcValue xv = VAL(2, m, k, 0, 0), wv = VAL(2, n, k, 0, 0), yv = VAL(2, m, n, 0, 0);
    NcAttrs a = nc_attrs_default();
    const NcValue *iv[2] = {&xv, &wv};
    const float *in[2] = {x, w};
    ref(nc_ref_linear, &a, iv, in, 2, &yv, want);
    NcError e;
    CHECK(nc_dev_gemm(emu, m, n, k, x, bt, got, &e) == 0);
    double err;
    CHECK_MSG(cgt_close(got, want, m * n, 1e-5, &err), "emulated GEMM: relative error %g", err);
    printf("gemm %lldx%lldx%lld on the emulator: max error %.2g\n", (long long)m, (long long)n, (long long)k, err);
    const char *dir = getenv("NETC_CUDA_DUMP");
    if (dir) { /* m, n, k, A, B, want for tests/gpu/run_dumped.c */
        char path[1024];
        snprintf(path, sizeof path, "%s/gemm.bin", dir);
        FILE *f = fopen(path, "wb");
        NC_CHECK(f);
        const int64_t head[3] = {m, n, k};
        fwrite(head, sizeof head, 1, f);
        fwrite(x, 4, (size_t)(m * k), f), fwrite(bt, 4, (size_t)(k * n), f), fwrite(want, 4, (size_t)(m * n), f);
        NC_CHECK(fclose(f) == 0);
    }
    if (cuda) { /* cuBLAS on the GPU */
        float *da, *db, *dc;
        CHECK(nc_dev_alloc(cuda, (void **)&da, (size_t)(m * k) * 4, &e) == 0 &&
              nc_dev_alloc(cuda, (void **)&db, (size_t)(k * n) * 4, &e) == 0 &&
              nc_dev_alloc(cuda, (void **)&dc, (size_t)(m * n) * 4, &e) == 0);
        CHECK(nc_dev_upload(cuda, da, x, (size_t)(m * k) * 4, &e) == 0 &&
              nc_dev_upload(cuda, db, bt, (size_t)(k * n) * 4, &e) == 0);
        CHECK_MSG(nc_dev_gemm(cuda, m, n, k, da, db, dc, &e) == 0 && nc_dev_sync(cuda, &e) == 0, "%s", e.msg);
        CHECK(nc_dev_download(cuda, got, dc, (size_t)(m * n) * 4, &e) == 0);
        CHECK_MSG(cgt_close(got, want, m * n, 1e-5, &err), "GPU GEMM: relative error %g", err);
        printf("gemm on %s: max error %.2g\n", nc_dev_name(cuda), err);
        nc_dev_free(cuda, da), nc_dev_free(cuda, db), nc_dev_free(cuda, dc);
    }
    free(x), free(w), free(bt), free(want), free(got);
}

/* A classifier head through the device layer only, as a compiled program
 * would run it: 1x1 conv as GEMM per image (W [o, c] . x_n [c, hw]), BN +
 * relu (elementwise kernel), global average pool (row mean kernel), linear
 * as GEMM (feat [n, o] . Wl^T, transposed once as weight packing would),
 * softmax — against nc_ref_conv2d, batch_norm, relu, global_avg_pool, linear,
 * softmax.  On the emulator (the CUDA device has no GEMM yet). */
static void head_case(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t classes) {
    NcDevice *emu = cut_devs[0];
    const int64_t hw = h * w;
    float *x = cgt_random(n * c * hw), *wc = cgt_random(o * c), *wl = cgt_random(classes * o);
    float *gam = cgt_random(o), *bet = cgt_random(o), *mean = cgt_random(o), *var = cgt_random(o);
    float *sc = nc_malloc((size_t)o * 4), *sh = nc_malloc((size_t)o * 4), *wlt = nc_malloc((size_t)(o * classes) * 4);
    const double eps = (double)1e-5f;
    for (int64_t i = 0; i < o; i++) {
        var[i] = var[i] * 0.5f + 1.0f;
        const double inv = 1.0 / sqrt((double)var[i] + eps);
        sc[i] = (float)(inv * gam[i]), sh[i] = (float)(bet[i] - mean[i] * inv * gam[i]);
    }
    for (int64_t i = 0; i < classes; i++)
        for (int64_t j = 0; j < o; j++) wlt[j * classes + i] = wl[i * o + j];
    /* the reference chain */
    float *y = nc_malloc((size_t)(n * o * hw) * 4), *y2 = nc_malloc((size_t)(n * o * hw) * 4);
    float *feat = nc_malloc((size_t)(n * o) * 4), *logit = nc_malloc((size_t)(n * classes) * 4);
    float *want = nc_malloc((size_t)(n * classes) * 4);
    cgt_ref_conv(x, wc, NULL, y, n, c, h, w, o, 1, 1, 1, 0, 1, 0);
    NcAttrs a = nc_attrs_default();
    a.eps = (float)eps;
    NcValue yv = VAL(4, n, o, h, w), ov = VAL(1, o, 0, 0, 0), fv = VAL(4, n, o, 1, 1), f2 = VAL(2, n, o, 0, 0),
            wv = VAL(2, classes, o, 0, 0), lv = VAL(2, n, classes, 0, 0);
    {
        const NcValue *iv[5] = {&yv, &ov, &ov, &ov, &ov};
        const float *in[5] = {y, gam, bet, mean, var};
        ref(nc_ref_batch_norm, &a, iv, in, 5, &yv, y2);
        const float *in1[1] = {y2};
        ref(nc_ref_relu, &a, iv, in1, 1, &yv, y);
        const float *in2[1] = {y};
        ref(nc_ref_global_avg_pool, &a, iv, in2, 1, &fv, feat);
        const NcValue *lin[2] = {&f2, &wv};
        const float *in3[2] = {feat, wl};
        ref(nc_ref_linear, &a, lin, in3, 2, &lv, logit);
        a.axis = 1;
        const NcValue *sv[1] = {&lv};
        const float *in4[1] = {logit};
        ref(nc_ref_softmax, &a, sv, in4, 1, &lv, want);
    }
    /* the device chain */
    NcError e;
    NcCuEltwise ek = {.n = n, .c = o, .hw = hw, .nparams = 4};
    ek.step[ek.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_SCALE_SHIFT, .a = 2, .b = 3};
    ek.step[ek.nsteps++] = (NcCuEwStep){.kind = NC_CU_EW_RELU};
    NcCuRowMean gk = {n * o, hw}, sk = {n, classes};
    NcCuDesc ed, gd, sd;
    nc_cu_eltwise_desc(&ed, "head_bn_relu", &ek);
    nc_cu_row_mean_desc(&gd, "head_gap", &gk);
    nc_cu_softmax_desc(&sd, "head_softmax", &sk);
    NcDevKernel ke = cut_kernel(&ed), kg = cut_kernel(&gd), ks = cut_kernel(&sd);
    float *dx, *dwc, *dy, *dy2, *dsc, *dsh, *dfeat, *dwl, *dlog, *dprob;
    const struct {
        float **p;
        const float *src;
        int64_t n;
    } bufs[] = {{&dx, x, n * c * hw},
                {&dwc, wc, o * c},
                {&dy, NULL, n * o * hw},
                {&dy2, NULL, n * o * hw},
                {&dsc, sc, o},
                {&dsh, sh, o},
                {&dfeat, NULL, n * o},
                {&dwl, wlt, o * classes},
                {&dlog, NULL, n * classes},
                {&dprob, NULL, n * classes}};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        CHECK(nc_dev_alloc(emu, (void **)bufs[i].p, (size_t)bufs[i].n * 4, &e) == 0);
        if (bufs[i].src) CHECK(nc_dev_upload(emu, *bufs[i].p, bufs[i].src, (size_t)bufs[i].n * 4, &e) == 0);
    }
    for (int64_t b = 0; b < n; b++) CHECK(nc_dev_gemm(emu, o, hw, c, dwc, dx + b * c * hw, dy + b * o * hw, &e) == 0);
    float *pe[4] = {dy, dy2, dsc, dsh}, *pg[2] = {dy2, dfeat}, *ps[2] = {dlog, dprob};
    CHECK(nc_dev_launch(emu, &ke, pe, &e) == 0 && nc_dev_launch(emu, &kg, pg, &e) == 0);
    CHECK(nc_dev_gemm(emu, n, classes, o, dfeat, dwl, dlog, &e) == 0);
    CHECK(nc_dev_launch(emu, &ks, ps, &e) == 0 && nc_dev_sync(emu, &e) == 0);
    float *got = nc_malloc((size_t)(n * classes) * 4), *got_logit = nc_malloc((size_t)(n * classes) * 4);
    CHECK(nc_dev_download(emu, got, dprob, (size_t)(n * classes) * 4, &e) == 0);
    CHECK(nc_dev_download(emu, got_logit, dlog, (size_t)(n * classes) * 4, &e) == 0);
    double err, err_logit;
    CHECK_MSG(cgt_close(got_logit, logit, n * classes, 1e-5, &err_logit), "head logits: relative error %g", err_logit);
    CHECK_MSG(cgt_close(got, want, n * classes, 1e-5, &err), "head probabilities: relative error %g", err);
    printf("head %lldx%lldx%lldx%lld -> %lld -> %lld classes on the emulator: logits %.2g, probabilities %.2g\n",
           (long long)n, (long long)c, (long long)h, (long long)w, (long long)o, (long long)classes, err_logit, err);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nc_dev_free(emu, *bufs[i].p);
    free((char *)ke.ptx), free((char *)kg.ptx), free((char *)ks.ptx);
    free(x), free(wc), free(wl), free(gam), free(bet), free(mean), free(var), free(sc), free(sh), free(wlt), free(y),
        free(y2), free(feat), free(logit), free(want), free(got), free(got_logit);
}

int main(void) {
    NcError e;
    cut_init();
    CHECK(nc_dev_open("tpu", &e) == NULL && strstr(e.msg, "unknown device 'tpu'"));
    if (!cut_devs[1]) /* why not: a message that says so */
        CHECK_MSG(!nc_dev_open("cuda", &e) && !strncmp(e.msg, "cannot use a GPU: ", 18), "unclear error: %s", e.msg);

    eltwise_case("ew_bn_relu", 2, 3, 7, 5, T_RELU);
    eltwise_case("ew_bn_relu6", 1, 5, 9, 9, T_RELU6);
    eltwise_case("ew_bn_silu", 2, 16, 13, 11, T_SILU);
    eltwise_case("ew_bn_add_relu", 3, 4, 8, 8, T_ADD_RELU);
    eltwise_case("ew_bn_sigmoid", 1, 7, 1, 1, T_SIGMOID);
    row_case("gap_short", 6, 49, 0);  /* rows shorter than a block */
    row_case("gap_long", 5, 1000, 0); /* rows several blocks long */
    row_case("gap_one", 3, 1, 0);
    row_case("softmax_1000", 3, 1000, 1);
    row_case("softmax_7", 4, 7, 1);
    row_case("softmax_128", 2, 128, 1);
    gemm_case(7, 13, 29);
    gemm_case(64, 96, 200);
    head_case(2, 24, 7, 7, 40, 10);

    cut_done();
    TEST_MAIN_END();
}
