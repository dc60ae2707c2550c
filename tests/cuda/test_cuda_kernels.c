/* test_cuda_kernels.c — every kernel of codegen/cuda/ from its one
 * description: the NVPTX lowering assembled by ptxas for sm_90 (skipped, with
 * a message, where the toolkit is absent), the CPU lowering run through the
 * device layer's emulator against the reference kernels (ir/), and — where a
 * GPU and its driver are present — the PTX run on the GPU against the same
 * references.  Without a GPU, opening the "cuda" device must fail with a
 * message that says so. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codegen/cuda/cu_kernels.h"
#include "runtime/device/device.h"
#include "tests/codegen/cg_test.h"

static NcCgTarget host, gpu;
static NcCgJit *jit;
static NcDevice *emu, *cuda;
static char ptxas[512];

static void find_ptxas(void) {
    const char *env = getenv("PTXAS");
    const char *cands[] = {env, "/usr/local/cuda/bin/ptxas", "/usr/bin/ptxas"};
    for (size_t i = 0; i < 3; i++)
        if (cands[i] && access(cands[i], X_OK) == 0) {
            snprintf(ptxas, sizeof ptxas, "%s", cands[i]);
            return;
        }
    FILE *p = popen("command -v ptxas", "r");
    if (p && fgets(ptxas, sizeof ptxas, p)) ptxas[strcspn(ptxas, "\n")] = 0;
    if (p) pclose(p);
}

/* ptxas -arch=sm_90 on the text: 0 when it assembles (or ptxas is absent). */
static int assemble(const char *name, const char *ptx) {
    if (!ptxas[0]) return 0;
    char path[] = "/tmp/netc_cuda_ptx_XXXXXX", cmd[1200];
    const int fd = mkstemp(path);
    NC_CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(ptx, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' -arch=sm_90 -o /dev/null '%s'", ptxas, path);
    const int rc = system(cmd);
    if (rc)
        fprintf(stderr, "%s: ptxas rejected the PTX (kept in %s)\n", name, path);
    else
        unlink(path);
    return rc;
}

/* With NETC_CUDA_DUMP=DIR set: the kernel's PTX, launch shape, parameters
 * and expected output written to DIR for tests/gpu/run_dumped.c, which runs
 * them on a GPU machine that has the driver but not LLVM. */
static void dump(const NcCuDesc *d, const char *ptx, float **params, const int64_t *sizes, const float *want,
                 int64_t nout) {
    const char *dir = getenv("NETC_CUDA_DUMP");
    if (!dir || !ptx) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.ptx", dir, d->name);
    FILE *f = fopen(path, "w");
    NC_CHECK(f);
    fputs(ptx, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.bin", dir, d->name);
    f = fopen(path, "wb");
    NC_CHECK(f);
    /* grid, block, nparams, nout, sizes[], then each parameter, then want */
    const int64_t head[4] = {d->grid, d->block, d->nparams, nout};
    fwrite(head, sizeof head, 1, f);
    fwrite(sizes, sizeof *sizes, (size_t)d->nparams, f);
    for (int i = 0; i < d->nparams; i++) fwrite(params[i], sizeof(float), (size_t)sizes[i], f);
    fwrite(want, sizeof(float), (size_t)nout, f);
    NC_CHECK(fclose(f) == 0);
    snprintf(path, sizeof path, "%s/kernels.txt", dir);
    f = fopen(path, "a");
    NC_CHECK(f);
    fprintf(f, "%s\n", d->name);
    fclose(f);
}

/* Builds d both ways; runs it on every device with the host data params[]
 * (sizes[] floats each), and compares param 1 with want (nout floats). */
/* d lowered both ways: its PTX (checked by ptxas) and its JIT-compiled CPU
 * lowering, as a device kernel (ptx to free). */
static NcDevKernel make_kernel(const NcCuDesc *d) {
    NcError e;
    NcCgModule gm, cm;
    nc_cg_module_init(&gm, &gpu, d->name);
    CHECK(nc_cu_build_gpu(&gm, d, &e) == 0);
    char *ptx = nc_cu_module_ptx(&gm, &e);
    CHECK_MSG(ptx != NULL, "%s", e.msg);
    nc_cg_module_dispose(&gm);
    if (ptx) {
        CHECK_MSG(strstr(ptx, ".entry") && assemble(d->name, ptx) == 0, "%s: PTX does not assemble", d->name);
        /* the phases are separated by barriers, shared memory is the GPU's */
        CHECK_MSG((d->nphases > 1) == (strstr(ptx, "bar.sync") != NULL), "%s: barriers", d->name);
        CHECK_MSG((d->smem_floats > 0) == (strstr(ptx, ".shared") != NULL), "%s: shared memory", d->name);
    }
    nc_cg_module_init(&cm, &host, d->name);
    CHECK(nc_cu_build_cpu(&cm, d, &e) == 0);
    CHECK_MSG(nc_cg_jit_add(jit, &cm, &e) == 0, "%s", e.msg);
    nc_cg_module_dispose(&cm);
    NcDevKernel k = {.name = d->name, .ptx = ptx, .grid = d->grid, .block = d->block, .nparams = d->nparams};
    k.cpu = (NcCuCpuFn)nc_cg_jit_lookup(jit, d->name, &e);
    CHECK(k.cpu != NULL);
    return k;
}

static void check_kernel(const NcCuDesc *d, float **params, const int64_t *sizes, const float *want, int64_t nout) {
    NcError e;
    NcDevKernel k = make_kernel(d);
    char *ptx = (char *)k.ptx;
    dump(d, ptx, params, sizes, want, nout);
    NcDevice *devs[2] = {emu, cuda};
    float *got = nc_malloc((size_t)nout * sizeof(float));
    for (int di = 0; di < 2; di++) {
        NcDevice *dev = devs[di];
        if (!dev || (!k.cpu && di == 0) || (!ptx && di == 1)) continue;
        float *dp[NC_CU_MAXPARAMS];
        for (int i = 0; i < d->nparams; i++) {
            CHECK(nc_dev_alloc(dev, (void **)&dp[i], (size_t)sizes[i] * sizeof(float), &e) == 0);
            CHECK(nc_dev_upload(dev, dp[i], params[i], (size_t)sizes[i] * sizeof(float), &e) == 0);
        }
        CHECK_MSG(nc_dev_launch(dev, &k, dp, &e) == 0 && nc_dev_sync(dev, &e) == 0, "%s", e.msg);
        memset(got, 0xff, (size_t)nout * sizeof(float));
        CHECK(nc_dev_download(dev, got, dp[1], (size_t)nout * sizeof(float), &e) == 0);
        double err;
        CHECK_MSG(cgt_close(got, want, nout, 1e-5, &err), "%s on %s: relative error %g", d->name, nc_dev_name(dev),
                  err);
        printf("%-24s %-14s grid %5lld x %4lld, %2d phases: max error %.2g\n", d->name, nc_dev_name(dev),
               (long long)d->grid, (long long)d->block, d->nphases, err);
        for (int i = 0; i < d->nparams; i++) nc_dev_free(dev, dp[i]);
    }
    free(got);
    free(ptx);
}

static NcValue value(int ndim, int64_t a, int64_t b, int64_t c, int64_t d) {
    NcValue v = cgt_value(a, b, c, d);
    v.ndim = ndim;
    return v;
}

/* One reference kernel on hand-made values. */
static void ref(NcRefFn fn, const NcAttrs *a, const NcValue *const *iv, const float *const *in, int nin,
                const NcValue *ov, float *out) {
    NcNode node;
    memset(&node, 0, sizeof node);
    node.attrs = *a;
    NcKernelArgs k;
    memset(&k, 0, sizeof k);
    k.node = &node;
    for (int i = 0; i < nin; i++) k.in_v[i] = iv[i], k.in[i] = in[i];
    k.out_v[0] = ov, k.out[0] = out;
    fn(&k);
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
    NcValue xv = value(4, n, c, h, w), cv = value(1, c, 0, 0, 0);
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
    float *params[5] = {x, nc_calloc((size_t)total, 4), sc, sh, res};
    const int64_t sizes[5] = {total, total, c, c, total};
    check_kernel(&d, params, sizes, tmp, total);
    free(params[1]), free(x), free(res), free(gam), free(bet), free(mean), free(var), free(sc), free(sh), free(want),
        free(tmp);
}

static void row_case(const char *name, int64_t rows, int64_t len, int softmax) {
    float *x = cgt_random(rows * len), *want = nc_malloc((size_t)(rows * len) * 4);
    for (int64_t i = 0; i < rows * len; i++) x[i] *= 8;
    NcAttrs a = nc_attrs_default();
    NcCuRowMean r = {rows, len};
    NcCuDesc d;
    int64_t nout;
    if (softmax) {
        NcValue v = value(2, rows, len, 0, 0);
        a.axis = 1;
        const NcValue *iv[1] = {&v};
        const float *in[1] = {x};
        ref(nc_ref_softmax, &a, iv, in, 1, &v, want);
        nc_cu_softmax_desc(&d, name, &r);
        nout = rows * len;
    } else { /* global average pool over [1, rows, 1, len] */
        NcValue v = value(4, 1, rows, 1, len), o = value(4, 1, rows, 1, 1);
        const NcValue *iv[1] = {&v};
        const float *in[1] = {x};
        ref(nc_ref_global_avg_pool, &a, iv, in, 1, &o, want);
        nc_cu_row_mean_desc(&d, name, &r);
        nout = rows;
    }
    float *params[2] = {x, nc_calloc((size_t)nout, 4)};
    const int64_t sizes[2] = {rows * len, nout};
    check_kernel(&d, params, sizes, want, nout);
    free(params[1]), free(x), free(want);
}

/* The emulator's GEMM against nc_ref_linear (y = x . w^T). */
static void gemm_case(int64_t m, int64_t n, int64_t k) {
    float *x = cgt_random(m * k), *w = cgt_random(n * k), *bt = nc_malloc((size_t)(k * n) * 4);
    float *want = nc_malloc((size_t)(m * n) * 4), *got = nc_malloc((size_t)(m * n) * 4);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) bt[j * n + i] = w[i * k + j];
    NcValue xv = value(2, m, k, 0, 0), wv = value(2, n, k, 0, 0), yv = value(2, m, n, 0, 0);
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
    NcValue yv = value(4, n, o, h, w), ov = value(1, o, 0, 0, 0), fv = value(4, n, o, 1, 1), f2 = value(2, n, o, 0, 0),
            wv = value(2, classes, o, 0, 0), lv = value(2, n, classes, 0, 0);
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
    NcDevKernel ke = make_kernel(&ed), kg = make_kernel(&gd), ks = make_kernel(&sd);
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
    cgt_host_target(&host);
    if (nc_cu_target_init(&gpu, "sm_90", &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    jit = nc_cg_jit_new(&e);
    NC_CHECK(jit);
    find_ptxas();
    if (ptxas[0])
        printf("ptxas: %s\n", ptxas);
    else
        printf("SKIPPED the ptxas checks: no ptxas (PATH, /usr/local/cuda/bin, $PTXAS): PTX is generated, not "
               "assembled\n");
    emu = nc_dev_open("emulate", &e);
    CHECK(emu != NULL);
    CHECK(nc_dev_open("tpu", &e) == NULL && strstr(e.msg, "unknown device 'tpu'"));
    cuda = nc_dev_open("cuda", &e);
    if (cuda)
        printf("GPU: %s — the kernels run there too\n", nc_dev_name(cuda));
    else {
        printf("no GPU here: %s\n", e.msg);
        CHECK_MSG(!strncmp(e.msg, "cannot use a GPU: ", 18), "unclear error: %s", e.msg);
    }

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

    nc_dev_close(cuda);
    nc_dev_close(emu);
    nc_cg_jit_free(jit);
    nc_cu_target_free(&gpu);
    nc_cg_target_free(&host);
    TEST_MAIN_END();
}
