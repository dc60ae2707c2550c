/* run_dumped.c DIR — runs the kernels test_cuda_kernels dumped (NETC_CUDA_DUMP=DIR: each kernel's
 * PTX, launch shape, parameters and the reference kernels' output) on the GPU through
 * runtime/device's CUDA driver layer, and compares (<= 1e-5 of max|want|).  For a GPU machine that
 * has the driver but not LLVM: it needs only runtime/device and runtime/support/base.c.
 * Exit 0 all match, 1 a mismatch or a CUDA error, 2 usage. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/device/device.h"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    const long len = ftell(f);
    rewind(f);
    char *s = nc_malloc((size_t)len + 1);
    *n = fread(s, 1, (size_t)len, f);
    s[*n] = 0;
    fclose(f);
    return s;
}

static int run_one(NcDevice *dev, const char *dir, const char *name) {
    char path[1024];
    size_t n;
    NcError e;
    snprintf(path, sizeof path, "%s/%s.ptx", dir, name);
    char *ptx = slurp(path, &n);
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    char *bin = slurp(path, &n);
    if (!ptx || !bin) return fprintf(stderr, "%s: cannot read its files in %s\n", name, dir), 1;
    const int64_t *head = (const int64_t *)bin, *sizes = head + 4;
    NcDevKernel k = {.name = name, .ptx = ptx, .grid = head[0], .block = head[1], .nparams = (int)head[2]};
    const int64_t nout = head[3];
    const float *data = (const float *)(sizes + k.nparams);
    float *dp[16] = {0};
    int bad = 0;
    for (int i = 0; i < k.nparams && !bad; i++) {
        bad = nc_dev_alloc(dev, (void **)&dp[i], (size_t)sizes[i] * 4, &e) ||
              nc_dev_upload(dev, dp[i], data, (size_t)sizes[i] * 4, &e);
        data += sizes[i];
    }
    float *got = nc_malloc((size_t)nout * 4);
    if (!bad)
        bad = nc_dev_launch(dev, &k, dp, &e) || nc_dev_sync(dev, &e) ||
              nc_dev_download(dev, got, dp[1], (size_t)nout * 4, &e);
    if (bad) {
        printf("%-24s FAILED: %s\n", name, e.msg);
    } else {
        double mx = 0, err = 0;
        for (int64_t i = 0; i < nout; i++) {
            if (fabs(data[i]) > mx) mx = fabs(data[i]);
            const double d = fabs((double)got[i] - data[i]);
            if (!(d <= err)) err = d;
        }
        const double rel = mx ? err / mx : err;
        bad = !(rel <= 1e-5);
        printf("%-24s %s grid %5lld x %4lld: max error %.2g %s\n", name, nc_dev_name(dev), (long long)k.grid,
               (long long)k.block, rel, bad ? "FAILED" : "ok");
    }
    for (int i = 0; i < k.nparams; i++) nc_dev_free(dev, dp[i]);
    free(got), free(ptx), free(bin);
    return bad;
}

/* DIR/gemm.bin (m, n, k, A, B, want), when there: the device's GEMM. */
static int run_gemm(NcDevice *dev, const char *dir) {
    char path[1024];
    size_t len;
    NcError e;
    snprintf(path, sizeof path, "%s/gemm.bin", dir);
    char *bin = slurp(path, &len);
    if (!bin) return 0;
    const int64_t *h = (const int64_t *)bin, m = h[0], n = h[1], k = h[2];
    const float *a = (const float *)(h + 3), *b = a + m * k, *want = b + k * n;
    float *da = NULL, *db = NULL, *dc = NULL, *got = nc_malloc((size_t)(m * n) * 4);
    int bad = nc_dev_alloc(dev, (void **)&da, (size_t)(m * k) * 4, &e) ||
              nc_dev_alloc(dev, (void **)&db, (size_t)(k * n) * 4, &e) ||
              nc_dev_alloc(dev, (void **)&dc, (size_t)(m * n) * 4, &e) ||
              nc_dev_upload(dev, da, a, (size_t)(m * k) * 4, &e) ||
              nc_dev_upload(dev, db, b, (size_t)(k * n) * 4, &e) || nc_dev_gemm(dev, m, n, k, da, db, dc, &e) ||
              nc_dev_sync(dev, &e) || nc_dev_download(dev, got, dc, (size_t)(m * n) * 4, &e);
    if (bad) {
        printf("gemm %lldx%lldx%lld FAILED: %s\n", (long long)m, (long long)n, (long long)k, e.msg);
    } else {
        double mx = 0, err = 0;
        for (int64_t i = 0; i < m * n; i++) {
            if (fabs(want[i]) > mx) mx = fabs(want[i]);
            const double d = fabs((double)got[i] - want[i]);
            if (!(d <= err)) err = d;
        }
        bad = !(err <= 1e-5 * (mx ? mx : 1));
        printf("gemm %lldx%lldx%lld on %s: max error %.2g %s\n", (long long)m, (long long)n, (long long)k,
               nc_dev_name(dev), mx ? err / mx : err, bad ? "FAILED" : "ok");
    }
    nc_dev_free(dev, da), nc_dev_free(dev, db), nc_dev_free(dev, dc);
    free(got), free(bin);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: run_dumped DIR   (DIR written by NETC_CUDA_DUMP=DIR test_cuda_kernels)\n");
        return 2;
    }
    NcError e;
    NcDevice *dev = nc_dev_open("cuda", &e);
    if (!dev) return fprintf(stderr, "%s\n", e.msg), 1;
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/kernels.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) return fprintf(stderr, "%s: cannot open\n", path), 2;
    int failed = 0, total = 0;
    while (fscanf(f, "%255s", name) == 1) failed += run_one(dev, argv[1], name), total++;
    fclose(f);
    printf("%d kernels on %s, %d failed\n", total, nc_dev_name(dev), failed);
    failed += run_gemm(dev, argv[1]);
    nc_dev_close(dev);
    return failed || !total;
}
