/* cu_test.h — what the tests of codegen/cuda/'s kernels share: each kernel
 * lowered both ways from its one description (its PTX assembled by
 * `ptxas -arch=sm_90`, skipped with a message where the toolkit is absent;
 * barriers and shared memory present in the PTX exactly where the
 * description has them), its CPU lowering JIT-compiled and run through the
 * device layer's emulator — and on a GPU too where one and its driver are
 * present — on the host data, each output compared with the reference
 * kernels' (ir/) within 1e-5 of its largest magnitude; and a call of a
 * reference kernel on hand-made values.  With NETC_CUDA_DUMP=DIR, kernels
 * whose one output is parameter 1 are written there for tests/gpu/run_dumped.c
 * (tests/gpu/check_kernels.sh on a GPU machine without LLVM). */
#ifndef NETC_CU_TEST_H
#define NETC_CU_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codegen/cuda/cu_kernel.h"
#include "runtime/device/device.h"
#include "tests/codegen/cg_test.h"

static NcCgTarget cut_host, cut_gpu;
static NcCgJit *cut_jit;
static NcDevice *cut_devs[2]; /* the emulator, the GPU (NULL without one) */
static char cut_ptxas[512];
static int cut_nkernels;

static void cut_find_ptxas(void) {
    const char *env = getenv("PTXAS");
    const char *cands[] = {env, "/usr/local/cuda/bin/ptxas", "/usr/bin/ptxas"};
    for (size_t i = 0; i < 3; i++)
        if (cands[i] && access(cands[i], X_OK) == 0) {
            snprintf(cut_ptxas, sizeof cut_ptxas, "%s", cands[i]);
            return;
        }
    FILE *p = popen("command -v ptxas", "r");
    if (p && fgets(cut_ptxas, sizeof cut_ptxas, p)) cut_ptxas[strcspn(cut_ptxas, "\n")] = 0;
    if (p) pclose(p);
}

static void cut_init(void) {
    NcError e;
    cgt_host_target(&cut_host);
    if (nc_cu_target_init(&cut_gpu, "sm_90", &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    cut_jit = nc_cg_jit_new(&e);
    NC_CHECK(cut_jit);
    cut_find_ptxas();
    if (cut_ptxas[0])
        printf("ptxas: %s\n", cut_ptxas);
    else
        printf("SKIPPED the ptxas checks: no ptxas (PATH, /usr/local/cuda/bin, $PTXAS): PTX is generated, not "
               "assembled\n");
    cut_devs[0] = nc_dev_open("emulate", &e);
    NC_CHECK(cut_devs[0]);
    cut_devs[1] = nc_dev_open("cuda", &e);
    if (cut_devs[1])
        printf("GPU: %s — the kernels run there too\n", nc_dev_name(cut_devs[1]));
    else
        printf("no GPU here: %s\n", e.msg);
}

static void cut_done(void) {
    nc_dev_close(cut_devs[1]);
    nc_dev_close(cut_devs[0]);
    nc_cg_jit_free(cut_jit);
    nc_cu_target_free(&cut_gpu);
    nc_cg_target_free(&cut_host);
    printf("%d kernels\n", cut_nkernels);
}

/* ptxas -arch=sm_90 on the text: 0 when it assembles (or ptxas is absent). */
static int cut_assemble(const char *name, const char *ptx) {
    if (!cut_ptxas[0]) return 0;
    char path[] = "/tmp/netc_cuda_ptx_XXXXXX", cmd[1200];
    const int fd = mkstemp(path);
    NC_CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(ptx, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' -arch=sm_90 -o /dev/null '%s'", cut_ptxas, path);
    const int rc = system(cmd);
    if (rc)
        fprintf(stderr, "%s: ptxas rejected the PTX (kept in %s)\n", name, path);
    else
        unlink(path);
    return rc;
}

/* d lowered both ways: its PTX (checked by ptxas; to free) and its
 * JIT-compiled CPU lowering, as a device kernel. */
static NcDevKernel cut_kernel(const NcCuDesc *d) {
    NcError e;
    NcCgModule gm, cm;
    nc_cg_module_init(&gm, &cut_gpu, d->name);
    CHECK_MSG(nc_cu_build_gpu(&gm, d, &e) == 0, "%s", e.msg);
    char *ptx = nc_cu_module_ptx(&gm, &e);
    CHECK_MSG(ptx != NULL, "%s", e.msg);
    nc_cg_module_dispose(&gm);
    if (ptx) {
        CHECK_MSG(strstr(ptx, ".entry") && cut_assemble(d->name, ptx) == 0, "%s: PTX does not assemble", d->name);
        CHECK_MSG((d->nphases > 1) == (strstr(ptx, "bar.sync") != NULL), "%s: barriers", d->name);
        CHECK_MSG((d->smem_floats > 0) == (strstr(ptx, ".shared") != NULL), "%s: shared memory", d->name);
    }
    nc_cg_module_init(&cm, &cut_host, d->name);
    CHECK_MSG(nc_cu_build_cpu(&cm, d, &e) == 0, "%s", e.msg);
    CHECK_MSG(nc_cg_jit_add(cut_jit, &cm, &e) == 0, "%s", e.msg);
    nc_cg_module_dispose(&cm);
    NcDevKernel k = {.name = d->name, .ptx = ptx, .grid = d->grid, .block = d->block, .nparams = d->nparams};
    k.cpu = (NcCuCpuFn)nc_cg_jit_lookup(cut_jit, d->name, &e);
    CHECK(k.cpu != NULL);
    cut_nkernels++;
    return k;
}

/* n floats of NaN: an output buffer, so that an element a kernel forgets to
 * write fails the comparison. */
static float *cut_nans(int64_t n) {
    float *p = nc_malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

/* A device buffer holding host[0 .. n) (NaN where host is NULL). */
static float *cut_up(NcDevice *dev, const float *host, int64_t n) {
    NcError e;
    float *p, *nan = host ? NULL : cut_nans(n);
    CHECK_MSG(nc_dev_alloc(dev, (void **)&p, (size_t)(n ? n : 1) * 4, &e) == 0, "%s", e.msg);
    CHECK_MSG(nc_dev_upload(dev, p, host ? host : nan, (size_t)n * 4, &e) == 0, "%s", e.msg);
    free(nan);
    return p;
}

static void cut_launch(NcDevice *dev, const NcDevKernel *k, float **dp) {
    NcError e;
    CHECK_MSG(nc_dev_launch(dev, k, dp, &e) == 0 && nc_dev_sync(dev, &e) == 0, "%s: %s", k->name, e.msg);
}

/* dev's n floats at p against want: within 1e-5 of max|want|; prints the error. */
static double cut_expect(NcDevice *dev, const char *what, const float *p, const float *want, int64_t n) {
    NcError e;
    float *got = nc_malloc((size_t)(n ? n : 1) * 4);
    CHECK_MSG(nc_dev_download(dev, got, p, (size_t)n * 4, &e) == 0, "%s", e.msg);
    double err;
    CHECK_MSG(cgt_close(got, want, n, 1e-5, &err), "%s on %s: relative error %g", what, nc_dev_name(dev), err);
    printf("  %-30s %-14s max error %.2g\n", what, nc_dev_name(dev), err);
    free(got);
    return err;
}

static void cut_dump(const NcCuDesc *d, const char *ptx, float *const *params, const int64_t *sizes, const float *want,
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
    const int64_t head[4] = {d->grid, d->block, d->nparams, nout};
    fwrite(head, sizeof head, 1, f);
    fwrite(sizes, sizeof *sizes, (size_t)d->nparams, f);
    for (int i = 0; i < d->nparams; i++) {
        float *nan = params[i] ? NULL : cut_nans(sizes[i]);
        fwrite(params[i] ? params[i] : nan, sizeof(float), (size_t)sizes[i], f);
        free(nan);
    }
    fwrite(want, sizeof(float), (size_t)nout, f);
    NC_CHECK(fclose(f) == 0);
    snprintf(path, sizeof path, "%s/kernels.txt", dir);
    f = fopen(path, "a");
    NC_CHECK(f);
    fprintf(f, "%s\n", d->name);
    fclose(f);
}

/* One kernel on every device: parameter i holds params[i] (sizes[i] floats;
 * NULL: NaN, an output), and after the launch parameter outs[j] must equal
 * wants[j].  Returns the largest error on the emulator. */
static double cut_check(const NcCuDesc *d, float *const *params, const int64_t *sizes, int nout, const int *outs,
                        float *const *wants) {
    NcDevKernel k = cut_kernel(d);
    if (nout == 1 && outs[0] == 1) cut_dump(d, k.ptx, params, sizes, wants[0], sizes[1]);
    printf("%s: grid %lld x %lld, %d phases, %lld shared floats\n", d->name, (long long)d->grid, (long long)d->block,
           d->nphases, (long long)d->smem_floats);
    double worst = 0;
    for (int di = 0; di < 2; di++) {
        NcDevice *dev = cut_devs[di];
        if (!dev || (di == 1 && !k.ptx)) continue;
        float *dp[NC_CU_MAXPARAMS];
        for (int i = 0; i < d->nparams; i++) dp[i] = cut_up(dev, params[i], sizes[i]);
        cut_launch(dev, &k, dp);
        for (int j = 0; j < nout; j++) {
            char what[160];
            snprintf(what, sizeof what, "%s out %d", d->name, outs[j]);
            const double err = cut_expect(dev, what, dp[outs[j]], wants[j], sizes[outs[j]]);
            if (di == 0 && err > worst) worst = err;
        }
        for (int i = 0; i < d->nparams; i++) nc_dev_free(dev, dp[i]);
    }
    free((char *)k.ptx);
    return worst;
}

/* The common case: one output, parameter 1. */
static double cut_check1(const NcCuDesc *d, float *const *params, const int64_t *sizes, float *want) {
    const int outs[1] = {1};
    return cut_check(d, params, sizes, 1, outs, &want);
}

/* A value of the given rank and shape (unused sizes 0). */
static NcValue cut_value(int ndim, const int64_t *shape) {
    NcValue v;
    memset(&v, 0, sizeof v);
    v.ndim = ndim;
    for (int d = 0; d < ndim; d++) v.shape[d] = shape[d];
    return v;
}

/* Reference kernel fn on hand-made values. */
static void cut_ref(NcRefFn fn, const NcAttrs *a, int nin, const NcValue *const *iv, const float *const *in, int nout,
                    const NcValue *const *ov, float *const *out) {
    NcNode node;
    memset(&node, 0, sizeof node);
    node.attrs = *a;
    node.ninputs = nin, node.noutputs = nout;
    NcKernelArgs k;
    memset(&k, 0, sizeof k);
    k.node = &node;
    for (int i = 0; i < nin; i++) k.in_v[i] = iv[i], k.in[i] = in[i];
    for (int i = 0; i < nout; i++) k.out_v[i] = ov[i], k.out[i] = out[i];
    fn(&k);
}

#endif
