/* device_emu.c — the CPU emulator: host memory, kernels' CPU lowerings, a
 * plain GEMM, the reference convolution; two streams whose async copies are
 * held back until an event or a synchronisation needs them. */
#include <string.h>

#include "runtime/device/device.h"

/* The streams (overlap): an async copy is queued on its stream, not run; so is
 * a wait for an event.  A stream's queue runs, in order, when the host
 * synchronises (the device, or an event recorded after it), when another
 * stream waits for an event recorded after it, and — the compute stream's —
 * before each launch, GEMM or conv, which run at once.  So a copy nothing
 * waited for has not happened yet: a kernel or the host reading its
 * destination sees the old bytes, as on a GPU where the copy is still under way. */
typedef struct EmuOp {
    void *dst;
    const void *src;
    size_t bytes;    /* a copy; 0: a wait */
    int wait_stream; /* a wait's event: its stream and mark */
    int64_t wait_mark;
} EmuOp;
typedef struct EmuStream {
    EmuOp *q;
    int64_t n, cap, done, base; /* queued, run (of q); base: ops retired before q[0] */
} EmuStream;
typedef struct EmuEvent {
    int stream; /* -1: never recorded (complete) */
    int64_t mark;
} EmuEvent;
typedef struct Emu {
    EmuStream s[2];
} Emu;

static Emu *emu(NcDevice *d) { return d->impl; }

/* Runs stream si's queue up to its op number `upto` (base-relative count). */
static void flush_to(Emu *m, int si, int64_t upto) {
    EmuStream *s = &m->s[si];
    while (s->base + s->done < upto && s->done < s->n) {
        const EmuOp op = s->q[s->done++];
        if (op.bytes)
            memcpy(op.dst, op.src, op.bytes);
        else
            flush_to(m, op.wait_stream, op.wait_mark);
    }
    if (s->done == s->n) s->base += s->n, s->n = s->done = 0;
}
static void flush(Emu *m, int si) { flush_to(m, si, INT64_MAX); }
static void flush_all(Emu *m) { flush(m, NC_DEV_COPY), flush(m, NC_DEV_COMPUTE), flush(m, NC_DEV_COPY); }

static void enqueue(Emu *m, int si, EmuOp op) {
    EmuStream *s = &m->s[si];
    if (s->n == s->cap) s->q = nc_realloc(s->q, (size_t)(s->cap = s->cap ? 2 * s->cap : 16) * sizeof *s->q);
    s->q[s->n++] = op;
}

static void emu_close(NcDevice *d) {
    Emu *m = emu(d);
    flush_all(m);
    free(m->s[0].q), free(m->s[1].q), free(m);
    free(d);
}

static int emu_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    (void)d, (void)e;
    *p = nc_calloc(bytes ? bytes : 1, 1);
    return 0;
}

static void emu_free(NcDevice *d, void *p) {
    (void)d;
    free(p);
}

/* A synchronous copy waits for both streams first, as CUDA's does for blocking streams. */
static int emu_copy(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    (void)e;
    flush_all(emu(d));
    memcpy(dst, src, bytes);
    return 0;
}

static int emu_launch(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e) {
    flush(emu(d), NC_DEV_COMPUTE);
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
    (void)e;
    flush(emu(d), NC_DEV_COMPUTE);
    if (!g->bf16) return emu_gemm_f32(g, a, b, c);
    float *wa = bf16_widened((const uint16_t *)a, g->batch, g->stride_a, g->m * g->k);
    float *wb = bf16_widened((const uint16_t *)b, g->batch, g->stride_b, g->k * g->n);
    const int rc = emu_gemm_f32(g, wa, wb, c);
    free(wa), free(wb);
    return rc;
}

/* The epilogue as netc's elementwise kernel applies it after the plain GEMM
 * (codegen/cuda/cu_kernels.c: a float add of the bias, relu as x < 0 ? 0 : x),
 * so that a fused step gives the bits of the unfused pair. */
static int emu_gemm_epi(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                        NcError *e) {
    if (emu_gemm(d, g, a, b, c, e)) return -1;
    const int relu = g->epilogue == NC_DEV_EPI_BIAS_RELU;
    for (int64_t q = 0; q < g->batch; q++)
        for (int64_t i = 0; i < g->m; i++) {
            float *ci = c + q * g->stride_c + i * g->n;
            for (int64_t j = 0; j < g->n; j++) {
                float v = ci[j] + bias[g->bias_rows ? i : j];
                if (relu) v = v < 0 ? 0 : v;
                ci[j] = v;
            }
        }
    return 0;
}

static int emu_sync(NcDevice *d, NcError *e) {
    (void)e;
    flush_all(emu(d));
    return 0;
}

/* Convolutions (what cuDNN runs on a GPU): the interpreter's reference conv,
 * registered by the program, exact to double accumulation like the GEMM. */
static int emu_conv_available(NcDevice *d, NcError *e) {
    (void)d;
    return nc_dev_conv_reference() ? 0 : nc_errorf(e, "the emulator has no reference convolution (not a program)");
}

static int emu_conv_prepare(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    (void)c, (void)x, (void)w, (void)y;
    return emu_conv_available(d, e);
}

static int emu_conv(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    if (emu_conv_available(d, e)) return -1;
    flush(emu(d), NC_DEV_COMPUTE);
    nc_dev_conv_reference()(c, x, w, y);
    return 0;
}

/* Pinned memory is plain host memory. */
static int emu_host_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    (void)d;
    return (*p = nc_aligned_alloc(bytes ? bytes : 1)) ? 0 : nc_errorf(e, "out of host memory (%zu bytes)", bytes);
}
static void emu_host_free(NcDevice *d, void *p) {
    (void)d;
    free(p);
}

static int emu_copy_async(NcDevice *d, int stream, int dir, void *dst, const void *src, size_t bytes, NcError *e) {
    (void)dir, (void)e;
    enqueue(emu(d), stream, (EmuOp){.dst = dst, .src = src, .bytes = bytes});
    return 0;
}

static int emu_event_create(NcDevice *d, void **ev, NcError *e) {
    (void)d, (void)e;
    EmuEvent *x = nc_calloc(1, sizeof *x);
    x->stream = -1;
    *ev = x;
    return 0;
}
static void emu_event_free(NcDevice *d, void *ev) {
    (void)d;
    free(ev);
}
static int emu_event_record(NcDevice *d, void *ev, int stream, NcError *e) {
    (void)e;
    const EmuStream *s = &emu(d)->s[stream];
    *(EmuEvent *)ev = (EmuEvent){stream, s->base + s->n};
    return 0;
}
static int emu_stream_wait(NcDevice *d, int stream, void *ev, NcError *e) {
    (void)e;
    const EmuEvent *x = ev;
    if (x->stream >= 0 && x->stream != stream)
        enqueue(emu(d), stream, (EmuOp){.wait_stream = x->stream, .wait_mark = x->mark});
    return 0;
}
static int emu_event_sync(NcDevice *d, void *ev, NcError *e) {
    (void)e;
    const EmuEvent *x = ev;
    if (x->stream >= 0) flush_to(emu(d), x->stream, x->mark);
    return 0;
}

/* no graphs: each step runs as issued; no timing events: timed by the host's clock */
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
                                 .conv = emu_conv,
                                 .host_alloc = emu_host_alloc,
                                 .host_free = emu_host_free,
                                 .copy_async = emu_copy_async,
                                 .event_create = emu_event_create,
                                 .event_free = emu_event_free,
                                 .event_record = emu_event_record,
                                 .stream_wait = emu_stream_wait,
                                 .event_sync = emu_event_sync,
                                 .gemm_epi = emu_gemm_epi};

NcDevice *nc_dev_open_emulator(NcError *e) {
    (void)e;
    NcDevice *d = nc_calloc(1, sizeof *d);
    d->ops = &emu_ops;
    d->impl = nc_calloc(1, sizeof(Emu));
    snprintf(d->name, sizeof d->name, "CPU emulator");
    return d;
}
