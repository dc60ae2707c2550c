/* device_emu.c — the CPU emulator: host memory, kernels' CPU lowerings, a
 * plain GEMM, the reference convolution. */
#include <string.h>

#include "runtime/device/device.h"

static void emu_close(NcDevice *d) { free(d); }

static int emu_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    (void)d, (void)e;
    *p = nc_calloc(bytes ? bytes : 1, 1);
    return 0;
}

static void emu_free(NcDevice *d, void *p) {
    (void)d;
    free(p);
}

static int emu_copy(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    (void)d, (void)e;
    memcpy(dst, src, bytes);
    return 0;
}

static int emu_launch(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e) {
    (void)d;
    if (!k->cpu) return nc_errorf(e, "kernel %s has no CPU lowering to emulate", k->name);
    k->cpu(params);
    return 0;
}

/* bf16 x bf16 -> f32 (--precision bf16): what cublasGemmEx is asked for, the
 * operands widened exactly (bf16 is f32's top half) into f32 copies and run
 * through the f32 GEMM below (double accumulation: at least as exact as the
 * GPU's f32 accumulation), so the two cannot drift apart. */
static float *bf16_widened(const uint16_t *h, int64_t batch, int64_t stride, int64_t span) {
    const int64_t n = (batch - 1) * stride + span;
    float *f = nc_malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)h[i] << 16;
        memcpy(&f[i], &u, 4);
    }
    return f;
}

/* The GEMM oracle-style: double accumulation, (product, row) pairs in
 * parallel — unless the work is small (a grouped conv's GEMM per group, SE's
 * fc), where waking the threads costs more than the loop.  B transposed is
 * read as dot products along its rows. */
static int emu_gemm_f32(const NcDevGemm *g, const float *a, const float *b, float *c) {
    const int64_t m = g->m, n = g->n, k = g->k;
    const int big = (double)g->batch * (double)m * (double)n * (double)k > 1e6;
#pragma omp parallel for collapse(2) schedule(dynamic) if (big)
    for (int64_t q = 0; q < g->batch; q++)
        for (int64_t i = 0; i < m; i++) {
            const float *ai = a + q * g->stride_a + i * k, *bq = b + q * g->stride_b;
            float *ci = c + q * g->stride_c + i * n;
            if (g->trans_b) {
                for (int64_t j = 0; j < n; j++) {
                    double acc = 0;
                    for (int64_t p = 0; p < k; p++) acc += (double)ai[p] * bq[j * k + p];
                    ci[j] = (float)(g->accumulate ? acc + ci[j] : acc);
                }
                continue;
            }
            double *row = nc_calloc((size_t)n, sizeof(double));
            for (int64_t p = 0; p < k; p++) {
                const double av = ai[p];
                const float *bp = bq + p * n;
                for (int64_t j = 0; j < n; j++) row[j] += av * bp[j];
            }
            for (int64_t j = 0; j < n; j++) ci[j] = (float)(g->accumulate ? row[j] + ci[j] : row[j]);
            free(row);
        }
    return 0;
}

static int emu_gemm(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, NcError *e) {
    (void)d, (void)e;
    if (!g->bf16) return emu_gemm_f32(g, a, b, c);
    float *wa = bf16_widened((const uint16_t *)a, g->batch, g->stride_a, g->m * g->k);
    float *wb = bf16_widened((const uint16_t *)b, g->batch, g->stride_b, g->k * g->n);
    const int rc = emu_gemm_f32(g, wa, wb, c);
    free(wa), free(wb);
    return rc;
}

static int emu_sync(NcDevice *d, NcError *e) {
    (void)d, (void)e;
    return 0;
}

/* Convolutions (what cuDNN runs on a GPU): the interpreter's reference conv,
 * registered by the program, exact to double accumulation like the GEMM. */
static int emu_conv_available(NcDevice *d, NcError *e) {
    (void)d;
    return nc_dev_conv_reference() ? 0 : nc_errorf(e, "the emulator has no reference convolution (not a program)");
}

static int emu_conv_prepare(NcDevice *d, const NcDevConv *c, const float *x, const float *w, float *y, NcError *e) {
    (void)c, (void)x, (void)w, (void)y;
    return emu_conv_available(d, e);
}

static int emu_conv(NcDevice *d, const NcDevConv *c, const float *x, const float *w, float *y, NcError *e) {
    if (emu_conv_available(d, e)) return -1;
    nc_dev_conv_reference()(c, x, w, y);
    return 0;
}

/* no graphs: each step runs as issued; no events: timed by the host's clock */
static const NcDevOps emu_ops = {.close = emu_close,
                                 .alloc = emu_alloc,
                                 .free = emu_free,
                                 .upload = emu_copy,
                                 .download = emu_copy,
                                 .launch = emu_launch,
                                 .gemm = emu_gemm,
                                 .sync = emu_sync,
                                 .conv_available = emu_conv_available,
                                 .conv_prepare = emu_conv_prepare,
                                 .conv = emu_conv};

NcDevice *nc_dev_open_emulator(NcError *e) {
    (void)e;
    NcDevice *d = nc_calloc(1, sizeof *d);
    d->ops = &emu_ops;
    snprintf(d->name, sizeof d->name, "CPU emulator");
    return d;
}
