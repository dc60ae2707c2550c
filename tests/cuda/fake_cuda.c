/* fake_cuda.c — a stand-in for NVIDIA's driver (libcuda.so.1) and cuBLAS (libcublas.so.13) on machines
 * without a GPU, so that CI runs a `--target cuda` program through runtime/device/device_cuda.c itself:
 * its dlopen and entry points, device memory, copies, module loading, kernel launches with their
 * argument arrays, and its cuBLAS calls (the row-major -> column-major mapping, transposes, strided
 * batches).  Built twice (tests/cuda.cmake): as libcuda.so.1 (FAKE_DRIVER) and as libcublas.so.13.
 *
 * Device memory is host memory.  A launch runs the kernel's CPU lowering, which the program exports in
 * its netc_dev_kernels table (programs are linked with -rdynamic); the module's PTX must hold an
 * `.entry` of the launched name, and the launch shape must be the table's.  The GEMMs follow cuBLAS's
 * documented column-major definition, C = alpha op(A) op(B) + beta C, in double.  Nothing here runs
 * PTX: this checks the driver layer's calls, not the GPU code.
 *
 * Streams and graphs: work issued to a stream that is capturing (launches, and GEMMs on the stream
 * cuBLAS was given) is recorded, not run, and a graph launch runs the records in order, as CUDA does;
 * while any stream captures, the calls CUDA forbids in the global capture mode (allocation, synchronous
 * copies, synchronisation) fail.  cuBLAS reaches the recorder through the driver library's
 * fake_cuda_record; so does cuBLASLt (FAKE_CUBLASLT: libcublasLt.so.13, the third build).
 *
 * Overlap (runtime/device/device.h's streams): an async copy is queued on its stream, not run, and so is
 * every later piece of work on that stream (launches, GEMMs, convs, graph launches, waits, event marks),
 * which keeps each stream in order; a stream with nothing queued runs work at once, as before.  A queue
 * runs when the host synchronises (the context, an event recorded after the work, a synchronous copy or a
 * free) or when another stream waits for an event recorded after the work.  So an upload nothing waited for
 * has not happened: a kernel reading its destination reads the old bytes, and a missing wait shows as a
 * wrong answer rather than passing by luck.  Async copies must use pinned memory (cuMemHostAlloc) and are
 * refused inside a capture, as netc keeps them outside its graphs; so are event records and waits. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/device/device.h"

typedef unsigned long long CUdeviceptr;

#ifdef FAKE_DRIVER

/* the program's kernel table (netc_dev_kernels) holds these */
typedef NcDevKernel Kernel;

typedef struct Module {
    char *ptx;          /* a PTX module's text */
    const Kernel *from; /* a cubin's kernel (whose .entry it holds) */
} Module;

static int fail(const char *what) {
    fprintf(stderr, "fake libcuda: %s\n", what);
    return 1; /* CUDA_ERROR_INVALID_VALUE */
}

/* A recorded piece of work: run(arg) at replay; arg is the recorder's copy. */
typedef struct Op {
    void (*run)(void *arg);
    void *arg;
} Op;
typedef struct Graph {
    Op *ops;
    int n, cap;
} Graph;
typedef struct Stream {
    Graph *capture; /* the graph being recorded, or NULL */
    Graph queue;    /* work held back (overlap): queue.ops[done ..] not run yet */
    int done;
    long long base; /* ops retired before queue.ops[0]: a mark is base + index */
} Stream;
static int capturing; /* streams capturing now */
static Stream *streams[64];
static int nstreams;

static void push(Graph *g, void (*run)(void *), const void *arg, size_t size) {
    if (g->n == g->cap) g->ops = realloc(g->ops, (size_t)(g->cap = g->cap ? 2 * g->cap : 64) * sizeof *g->ops);
    g->ops[g->n].run = run;
    g->ops[g->n].arg = memcpy(malloc(size), arg, size);
    g->n++;
}
static int pending(const Stream *s) { return s && s->done < s->queue.n; }
static long long mark(const Stream *s) { return s->base + s->queue.n; }

/* Runs stream s's held-back work up to mark `upto`, in order. */
static void run_to(Stream *s, long long upto) {
    while (s->base + s->done < upto && s->done < s->queue.n) {
        const Op op = s->queue.ops[s->done++];
        op.run(op.arg);
        free(op.arg);
    }
    if (s->done == s->queue.n) s->base += s->queue.n, s->queue.n = s->done = 0;
}
static void run_all(void) {
    for (int more = 1; more;) {
        more = 0;
        for (int i = 0; i < nstreams; i++)
            if (pending(streams[i])) run_to(streams[i], mark(streams[i])), more = 1;
    }
}

/* Records run(arg) (arg's bytes copied) when stream captures, or queues it behind work held back on the
 * stream: 1; else 0, and the caller runs it now. */
int fake_cuda_record(void *stream, void (*run)(void *), const void *arg, size_t size) {
    Stream *s = stream;
    if (s && s->capture)
        push(s->capture, run, arg, size);
    else if (pending(s))
        push(&s->queue, run, arg, size);
    else
        return 0;
    return 1;
}

static int forbidden(const char *what) {
    if (!capturing) return 0;
    fprintf(stderr, "fake libcuda: %s while a stream captures (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED)\n", what);
    return 1;
}

int cuStreamCreate(void **s, unsigned flags) {
    if (flags || nstreams == 64) return fail("cuStreamCreate: flags, or too many streams");
    return *s = streams[nstreams++] = calloc(1, sizeof(Stream)), 0;
}
int cuStreamDestroy_v2(void *stream) {
    Stream *s = stream;
    run_to(s, mark(s));
    for (int i = 0; i < nstreams; i++)
        if (streams[i] == s) streams[i] = streams[--nstreams];
    free(s->queue.ops), free(s);
    return 0;
}
int cuStreamBeginCapture_v2(void *stream, int mode) {
    Stream *s = stream;
    if (!s || s->capture || mode != 0) return fail("cuStreamBeginCapture: no stream, already capturing, or not global");
    s->capture = calloc(1, sizeof(Graph));
    capturing++;
    return 0;
}
int cuStreamEndCapture(void *stream, void **graph) {
    Stream *s = stream;
    if (!s || !s->capture) return fail("cuStreamEndCapture: not capturing");
    *graph = s->capture, s->capture = NULL, capturing--;
    return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    if (flags || !graph) return fail("cuGraphInstantiate: flags or no graph");
    Graph *g = graph, *x = malloc(sizeof *x);
    *x = *g; /* the records move to the executable graph (instantiated once here) */
    g->ops = NULL, g->n = g->cap = 0;
    *exec = x;
    return 0;
}
int cuGraphDestroy(void *graph) {
    Graph *g = graph;
    for (int i = 0; i < g->n; i++) free(g->ops[i].arg);
    free(g->ops), free(g);
    return 0;
}
int cuGraphExecDestroy(void *exec) { return cuGraphDestroy(exec); }
static void run_graph(void *arg) {
    const Graph *x = *(Graph **)arg;
    for (int i = 0; i < x->n; i++) x->ops[i].run(x->ops[i].arg);
}
int cuGraphLaunch(void *exec, void *stream) {
    if (forbidden("cuGraphLaunch")) return 1;
    if (!fake_cuda_record(stream, run_graph, &exec, sizeof exec)) run_graph(&exec);
    return 0;
}

int cuInit(unsigned flags) { return flags ? fail("cuInit: flags") : 0; }
int cuDeviceGetCount(int *n) { return *n = 1, 0; }
int cuDeviceGet(int *d, int i) { return i ? fail("cuDeviceGet: no such device") : (*d = 0, 0); }
int cuDeviceGetName(char *s, int len, int d) {
    (void)d;
    snprintf(s, (size_t)len, "fake GPU (tests/cuda/fake_cuda.c: CPU lowerings)");
    return 0;
}
int cuDevicePrimaryCtxRetain(void **ctx, int d) { return (void)d, *ctx = (void *)1, 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { return (void)d, 0; }
int cuCtxSetCurrent(void *ctx) { return ctx ? 0 : fail("cuCtxSetCurrent: no context"); }
int cuCtxSynchronize(void) { return forbidden("cuCtxSynchronize") ? 1 : (run_all(), 0); }
int cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    if (forbidden("cuMemAlloc")) return 1;
    void *q = bytes ? calloc(1, bytes) : NULL;
    if (!q) return fail("cuMemAlloc: zero bytes or out of memory");
    *p = (CUdeviceptr)(uintptr_t)q;
    return 0;
}
/* a free, and a synchronous copy (the legacy stream), wait for the work of every (blocking) stream */
int cuMemFree_v2(CUdeviceptr p) { return run_all(), free((void *)(uintptr_t)p), 0; }
int cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
    return forbidden("cuMemcpyHtoD") ? 1 : (run_all(), memcpy((void *)(uintptr_t)dst, src, n), 0);
}
int cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
    return forbidden("cuMemcpyDtoH") ? 1 : (run_all(), memcpy(dst, (void *)(uintptr_t)src, n), 0);
}

/* Pinned host memory: remembered, so that an async copy from or to anything else is refused. */
static struct {
    char *p;
    size_t n;
} pinned[256];
static int npinned;
int cuMemHostAlloc(void **p, size_t bytes, unsigned flags) {
    if (forbidden("cuMemHostAlloc")) return 1;
    if (flags || !bytes || npinned == 256) return fail("cuMemHostAlloc: flags, zero bytes or too many");
    pinned[npinned].p = *p = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    pinned[npinned++].n = bytes;
    return 0;
}
int cuMemFreeHost(void *p) {
    run_all();
    for (int i = 0; i < npinned; i++)
        if (pinned[i].p == p) return free(p), pinned[i] = pinned[--npinned], 0;
    return fail("cuMemFreeHost: not pinned memory");
}
static int is_pinned(const void *p, size_t n) {
    for (int i = 0; i < npinned; i++)
        if ((const char *)p >= pinned[i].p && (const char *)p + n <= pinned[i].p + pinned[i].n) return 1;
    return 0;
}
typedef struct Copy {
    void *dst;
    const void *src;
    size_t n;
} Copy;
static void run_copy(void *arg) {
    const Copy *c = arg;
    memcpy(c->dst, c->src, c->n);
}
/* Always held back: the copy happens when something waits for it. */
static int copy_async(const char *what, void *dst, const void *src, size_t n, void *stream) {
    Stream *s = stream;
    if (!s) return fail("an async copy on the legacy stream (netc uses its own)");
    if (s->capture) return fail("an async copy inside a capture (netc keeps copies outside its graphs)");
    const Copy c = {dst, src, n};
    push(&s->queue, run_copy, &c, sizeof c);
    (void)what;
    return 0;
}
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *stream) {
    if (!is_pinned(src, n)) return fail("cuMemcpyHtoDAsync: from pageable host memory");
    return copy_async("cuMemcpyHtoDAsync", (void *)(uintptr_t)dst, src, n, stream);
}
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *stream) {
    if (!is_pinned(dst, n)) return fail("cuMemcpyDtoHAsync: to pageable host memory");
    return copy_async("cuMemcpyDtoHAsync", dst, (void *)(uintptr_t)src, n, stream);
}
int cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *stream) {
    return copy_async("cuMemcpyDtoDAsync", (void *)(uintptr_t)dst, (void *)(uintptr_t)src, n, stream);
}

/* Events: a stream and a mark in its queue; complete (with the host's time, for cuEventElapsedTime) once
 * the stream's work before the mark has run. */
typedef struct Event {
    Stream *s; /* NULL: never recorded */
    long long mark;
    double t;
    int complete, timing;
} Event;
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static void stamp(void *arg) {
    Event *e = *(Event **)arg;
    e->t = now(), e->complete = 1;
}
int cuEventCreate(void **ev, unsigned flags) {
    if (flags > 3) return fail("cuEventCreate: flags");
    Event *e = calloc(1, sizeof *e);
    e->complete = 1, e->timing = !(flags & 2); /* CU_EVENT_DISABLE_TIMING */
    return *ev = e, 0;
}
int cuEventDestroy_v2(void *ev) { return free(ev), 0; }
int cuEventRecord(void *ev, void *stream) {
    Event *e = ev;
    Stream *s = stream;
    if (!s || s->capture) return fail("cuEventRecord: on the legacy stream, or inside a capture");
    e->s = s, e->complete = 0;
    if (!fake_cuda_record(s, stamp, &e, sizeof e)) stamp(&e);
    e->mark = mark(s);
    return 0;
}
typedef struct Wait {
    Stream *s;
    long long mark;
} Wait;
static void run_wait(void *arg) {
    const Wait *w = arg;
    run_to(w->s, w->mark);
}
int cuStreamWaitEvent(void *stream, void *ev, unsigned flags) {
    const Event *e = ev;
    Stream *s = stream;
    if (!s || s->capture || flags) return fail("cuStreamWaitEvent: the legacy stream, inside a capture, or flags");
    if (!e->s || e->s == s) return 0; /* never recorded, or the stream's own order */
    const Wait w = {e->s, e->mark};
    if (!fake_cuda_record(s, run_wait, &w, sizeof w)) run_wait((void *)&w);
    return 0;
}
int cuEventSynchronize(void *ev) {
    const Event *e = ev;
    if (forbidden("cuEventSynchronize")) return 1;
    if (e->s) run_to(e->s, e->mark);
    return 0;
}
int cuEventElapsedTime(float *ms, void *a, void *b) {
    const Event *x = a, *y = b;
    if (!x->timing || !y->timing) return fail("cuEventElapsedTime: an event without timing");
    if (!x->complete || !y->complete) return 600; /* CUDA_ERROR_NOT_READY */
    *ms = (float)((y->t - x->t) * 1e3);
    return 0;
}
static const Kernel *kernels(int32_t *n) {
    const Kernel *table = dlsym(RTLD_DEFAULT, "netc_dev_kernels");
    const int32_t *count = dlsym(RTLD_DEFAULT, "netc_dev_nkernels");
    *n = count ? *count : 0;
    return table && count ? table : NULL;
}
/* A cubin is a CUDA ELF (e_machine 190, EM_CUDA), one of the program's own: it stands for its kernel.
 * FAKE_CUDA_ARCH=other refuses it as a GPU of another architecture does (CUDA_ERROR_NO_BINARY_FOR_GPU). */
static int load_cubin(Module *m, const unsigned char *image) {
    if (image[4] != 2 || image[18] + 256 * image[19] != 190) return fail("cuModuleLoadData: an ELF but not CUDA's");
    const char *arch = getenv("FAKE_CUDA_ARCH");
    if (arch && !strcmp(arch, "other")) return 209;
    int32_t n;
    const Kernel *table = kernels(&n);
    for (int32_t i = 0; table && i < n; i++)
        if (table[i].cubin == image) return m->from = &table[i], 0;
    return fail("cuModuleLoadData: a cubin that is not one of the program's");
}
int cuModuleLoadData(void **mod, const void *image) {
    const char *ptx = image;
    Module *m = calloc(1, sizeof *m);
    if (!memcmp(image, "\177ELF", 4)) {
        const int r = load_cubin(m, image);
        if (r) return free(m), r;
    } else if (!strstr(ptx, ".version") || !strstr(ptx, ".entry")) {
        return free(m), fail("cuModuleLoadData: not PTX");
    } else {
        m->ptx = strdup(ptx);
    }
    *mod = m;
    return 0;
}
int cuModuleUnload(void *mod) {
    Module *m = mod;
    free(m->ptx);
    free(m);
    return 0;
}
int cuModuleGetFunction(void **fn, void *mod, const char *name) {
    const Module *m = mod;
    char entry[256];
    snprintf(entry, sizeof entry, ".entry %s(", name);
    if (m->from ? strcmp(m->from->name, name) : !strstr(m->ptx, entry))
        return fail("cuModuleGetFunction: the module has no such .entry");
    int32_t n;
    const Kernel *table = kernels(&n);
    if (!table) return fail("cuModuleGetFunction: the program exports no netc_dev_kernels (-rdynamic)");
    for (int32_t i = 0; i < n; i++)
        if (!strcmp(table[i].name, name)) return *fn = (void *)&table[i], 0;
    return fail("cuModuleGetFunction: no kernel of that name in the program");
}
typedef struct Launch {
    const Kernel *k;
    float *params[16];
} Launch;
static void run_launch(void *arg) {
    Launch *l = arg;
    l->k->cpu(l->params);
}

int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned smem, void *stream, void **args, void **extra) {
    const Kernel *k = fn;
    if (gx != (unsigned)k->grid || bx != (unsigned)k->block || gy != 1 || gz != 1 || by != 1 || bz != 1 || extra)
        return fail("cuLaunchKernel: launch shape differs from the kernel's");
    (void)smem;
    Launch l = {.k = k};
    for (int i = 0; i < k->nparams && i < 16; i++)
        l.params[i] = *(float **)args[i]; /* the values, as CUDA copies them */
    if (!fake_cuda_record(stream, run_launch, &l, sizeof l)) run_launch(&l);
    return 0;
}
int cuGetErrorString(int r, const char **s) { return *s = r ? "fake error" : "no error", 0; }

#elif defined(FAKE_CUBLASLT)

/* cuBLASLt (libcublasLt.so.13): the calls runtime/device/device_cublaslt.c makes, with cublasLt.h's
 * documented semantics: D = epilogue(alpha op(A) op(B) + beta C) per batch instance, every layout COL
 * (element (r, c) at r + c ld) or ROW (r ld + c) order, the epilogue's bias one value per row of D, the same
 * for every column (CUBLASLT_EPILOGUE_BIAS), then max(x, 0) (RELU_BIAS).  Attributes are checked for their
 * sizes as the library checks them; the heuristic's algorithm remembers the alignments the preference
 * promised and the matmul refuses operands less aligned (a GPU's kernel would fault or read wrong).
 * FAKE_CUBLASLT_BREAK=bias-columns broadcasts the bias along D's columns instead (tests/cuda.cmake checks that
 * the forward then differs). */
#include <math.h>

enum { LT_OK = 0, LT_INVALID = 7, LT_NOT_SUPPORTED = 15 };
typedef struct LtLayout {
    uint32_t type;
    uint64_t rows, cols;
    int64_t ld, stride;
    int32_t order, batch;
} LtLayout;
typedef struct LtDesc {
    int32_t compute, scale, ta, tb, bias_type;
    uint32_t epi;
    const void *bias;
} LtDesc;
typedef struct LtPref {
    uint64_t ws;
    uint32_t align[4]; /* A, B, C, D */
} LtPref;
typedef struct LtHandle {
    int (*record)(void *stream, void (*run)(void *), const void *arg, size_t size); /* the driver's */
} LtHandle;
#define LT_MAGIC 0x6e6574634c74ull /* "netcLt": an algorithm this stand-in's heuristic gave */

static int lt_fail(const char *what, int status) {
    fprintf(stderr, "fake cuBLASLt: %s\n", what);
    return status;
}

int cublasLtCreate(void **h) {
    LtHandle *x = calloc(1, sizeof *x);
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    x->record = drv ? (int (*)(void *, void (*)(void *), const void *, size_t))dlsym(drv, "fake_cuda_record") : NULL;
    if (!x->record) return free(x), lt_fail("the fake driver is not loaded", 1);
    return *h = x, LT_OK;
}
int cublasLtDestroy(void *h) { return free(h), LT_OK; }

int cublasLtMatrixLayoutCreate(void **l, uint32_t type, uint64_t rows, uint64_t cols, int64_t ld) {
    LtLayout *x = calloc(1, sizeof *x);
    *x = (LtLayout){.type = type, .rows = rows, .cols = cols, .ld = ld, .batch = 1};
    return *l = x, LT_OK;
}
int cublasLtMatrixLayoutDestroy(void *l) { return free(l), LT_OK; }
int cublasLtMatrixLayoutSetAttribute(void *l, int attr, const void *buf, size_t size) {
    LtLayout *x = l;
    switch (attr) {
    case 1:
        return size == 4 ? (memcpy(&x->order, buf, 4), x->order == 0 || x->order == 1 ? LT_OK : LT_NOT_SUPPORTED)
                         : LT_INVALID;
    case 5: return size == 4 ? (memcpy(&x->batch, buf, 4), LT_OK) : LT_INVALID;
    case 6: return size == 8 ? (memcpy(&x->stride, buf, 8), LT_OK) : LT_INVALID;
    default: return lt_fail("cublasLtMatrixLayoutSetAttribute: an attribute the stand-in does not model", LT_INVALID);
    }
}

int cublasLtMatmulDescCreate(void **d, int compute, int scale) {
    LtDesc *x = calloc(1, sizeof *x);
    *x = (LtDesc){.compute = compute, .scale = scale, .epi = 1, .bias_type = -1};
    return *d = x, LT_OK;
}
int cublasLtMatmulDescDestroy(void *d) { return free(d), LT_OK; }
int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf, size_t size) {
    LtDesc *x = d;
    switch (attr) {
    case 3: return size == 4 ? (memcpy(&x->ta, buf, 4), LT_OK) : LT_INVALID;
    case 4: return size == 4 ? (memcpy(&x->tb, buf, 4), LT_OK) : LT_INVALID;
    case 7: return size == 4 ? (memcpy(&x->epi, buf, 4), LT_OK) : LT_INVALID;
    case 8: return size == sizeof(void *) ? (memcpy(&x->bias, buf, size), LT_OK) : LT_INVALID;
    case 26: return size == 4 ? (memcpy(&x->bias_type, buf, 4), LT_OK) : LT_INVALID;
    default: return lt_fail("cublasLtMatmulDescSetAttribute: an attribute the stand-in does not model", LT_INVALID);
    }
}

int cublasLtMatmulPreferenceCreate(void **p) {
    LtPref *x = calloc(1, sizeof *x);
    for (int i = 0; i < 4; i++) x->align[i] = 256; /* cuBLASLt's defaults */
    return *p = x, LT_OK;
}
int cublasLtMatmulPreferenceDestroy(void *p) { return free(p), LT_OK; }
int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf, size_t size) {
    LtPref *x = p;
    if (attr == 1) return size == 8 ? (memcpy(&x->ws, buf, 8), LT_OK) : LT_INVALID;
    if (attr >= 5 && attr <= 8) return size == 4 ? (memcpy(&x->align[attr - 5], buf, 4), LT_OK) : LT_INVALID;
    return lt_fail("cublasLtMatmulPreferenceSetAttribute: an attribute the stand-in does not model", LT_INVALID);
}

/* op(X)'s rows and columns */
static uint64_t op_rows(const LtLayout *l, int t) { return t ? l->cols : l->rows; }
static uint64_t op_cols(const LtLayout *l, int t) { return t ? l->rows : l->cols; }
static int lt_layout_ok(const LtLayout *l) { return l->ld >= (int64_t)(l->order ? l->cols : l->rows); }

/* What the stand-in runs: f32 or bf16 A and B, f32 C and D, f32 bias, compute 32F (or its TF32 form). */
static int lt_check(const LtDesc *d, const LtLayout *a, const LtLayout *b, const LtLayout *c, const LtLayout *dd) {
    if ((d->compute != 68 && d->compute != 77) || d->scale != 0) return lt_fail("compute or scale type", 15);
    if (a->type != b->type || (a->type != 0 && a->type != 14) || c->type != 0 || dd->type != 0)
        return lt_fail("matrix types", LT_NOT_SUPPORTED);
    if (d->epi != 1 && d->epi != 4 && d->epi != 6) return lt_fail("an epilogue not modelled", LT_NOT_SUPPORTED);
    if (d->bias_type != -1 && d->bias_type != 0) return lt_fail("bias type", LT_NOT_SUPPORTED);
    if (d->ta < 0 || d->ta > 1 || d->tb < 0 || d->tb > 1) return lt_fail("transposes", LT_INVALID);
    if (op_rows(a, d->ta) != dd->rows || op_cols(b, d->tb) != dd->cols || op_cols(a, d->ta) != op_rows(b, d->tb) ||
        c->rows != dd->rows || c->cols != dd->cols)
        return lt_fail("shapes do not chain (op(A) m x k, op(B) k x n, D m x n)", LT_INVALID);
    if (!lt_layout_ok(a) || !lt_layout_ok(b) || !lt_layout_ok(c) || !lt_layout_ok(dd))
        return lt_fail("a leading dimension too small for its order", LT_INVALID);
    if (a->batch != dd->batch || b->batch != dd->batch || c->batch != dd->batch)
        return lt_fail("batch counts differ", LT_INVALID);
    return LT_OK;
}

int cublasLtMatmulAlgoGetHeuristic(void *h, void *op, void *la, void *lb, void *lc, void *ld, void *pref, int want,
                                   uint64_t *results, int *count) {
    (void)h;
    const LtPref *p = pref;
    if (want < 1) return LT_INVALID;
    *count = 0;
    const int r = lt_check(op, la, lb, lc, ld);
    if (r) return r;
    if (p->ws < 1) return lt_fail("no workspace", LT_NOT_SUPPORTED);
    /* cublasLtMatmulHeuristicResult_t: the algorithm (8 x 64 bits), workspace size, state, waves, reserved */
    memset(results, 0, 96);
    results[0] = LT_MAGIC;
    for (int i = 0; i < 4; i++) results[1 + i] = p->align[i];
    *count = 1;
    return LT_OK;
}

typedef struct LtCall {
    LtDesc d; /* the descriptor's values at the call (its bias pointer too), as a captured kernel holds them */
    LtLayout a, b, c;
    float alpha, beta;
    const void *pa, *pb;
    float *pc, *pd;
    int break_bias;
} LtCall;

static double lt_elem(const LtLayout *l, const void *p, int64_t q, uint64_t r, uint64_t c) {
    const int64_t i = q * l->stride + (int64_t)(l->order ? r * (uint64_t)l->ld + c : r + c * (uint64_t)l->ld);
    if (l->type == 0) return ((const float *)p)[i];
    const uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static float *lt_at(const LtLayout *l, float *p, int64_t q, uint64_t r, uint64_t c) {
    return p + q * l->stride + (int64_t)(l->order ? r * (uint64_t)l->ld + c : r + c * (uint64_t)l->ld);
}

static void lt_run(void *arg) {
    const LtCall *x = arg;
    const uint64_t m = op_rows(&x->a, x->d.ta), n = op_cols(&x->b, x->d.tb), k = op_cols(&x->a, x->d.ta);
    const float *bias = x->d.bias;
    for (int64_t q = 0; q < x->c.batch; q++)
        for (uint64_t j = 0; j < n; j++)
            for (uint64_t i = 0; i < m; i++) {
                double acc = 0;
                for (uint64_t p = 0; p < k; p++)
                    acc += (x->d.ta ? lt_elem(&x->a, x->pa, q, p, i) : lt_elem(&x->a, x->pa, q, i, p)) *
                           (x->d.tb ? lt_elem(&x->b, x->pb, q, j, p) : lt_elem(&x->b, x->pb, q, p, j));
                float v = (float)(x->alpha * acc + (x->beta != 0 ? x->beta * *lt_at(&x->c, x->pc, q, i, j) : 0));
                if (x->d.epi & 4) v = v + bias[x->break_bias ? j % m : i];
                if (x->d.epi & 2) v = fmaxf(v, 0);
                *lt_at(&x->c, x->pd, q, i, j) = v;
            }
}

int cublasLtMatmul(void *h, void *op, const float *alpha, const void *a, void *la, const void *b, void *lb,
                   const float *beta, const void *c, void *lc, void *d, void *ld, const uint64_t *algo, void *ws,
                   size_t ws_bytes, void *stream) {
    const LtHandle *hd = h;
    const LtDesc *desc = op;
    int r = lt_check(op, la, lb, lc, ld);
    if (r) return r;
    if (!algo || algo[0] != LT_MAGIC) return lt_fail("cublasLtMatmul: not an algorithm of the heuristic", LT_INVALID);
    if (!ws || !ws_bytes) return lt_fail("cublasLtMatmul: no workspace", LT_INVALID);
    if (c != d || memcmp(lc, ld, sizeof(LtLayout))) return lt_fail("cublasLtMatmul: C is not D", LT_NOT_SUPPORTED);
    const void *ptr[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if ((uintptr_t)ptr[i] % algo[1 + i])
            return lt_fail("cublasLtMatmul: an operand less aligned than the preference promised", LT_INVALID);
    if ((desc->epi & 4) && (!desc->bias || (uintptr_t)desc->bias % 4))
        return lt_fail("cublasLtMatmul: no bias", LT_INVALID);
    const char *brk = getenv("FAKE_CUBLASLT_BREAK");
    LtCall x = {.d = *desc,
                .a = *(LtLayout *)la,
                .b = *(LtLayout *)lb,
                .c = *(LtLayout *)lc,
                .alpha = *alpha,
                .beta = *beta,
                .pa = a,
                .pb = b,
                .pc = (float *)c,
                .pd = d,
                .break_bias = brk && !strcmp(brk, "bias-columns")};
    if (!hd->record(stream, lt_run, &x, sizeof x)) lt_run(&x);
    return LT_OK;
}

#else /* cuBLAS */

typedef struct Handle {
    void *stream;
    int math;
    int (*record)(void *stream, void (*run)(void *), const void *arg, size_t size); /* the driver's */
} Handle;

int cublasCreate_v2(void **h) {
    Handle *x = calloc(1, sizeof *x);
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    x->record = drv ? (int (*)(void *, void (*)(void *), const void *, size_t))dlsym(drv, "fake_cuda_record") : NULL;
    if (!x->record) {
        fprintf(stderr, "fake cuBLAS: the fake driver is not loaded\n");
        free(x);
        return 1; /* CUBLAS_STATUS_NOT_INITIALIZED */
    }
    return *h = x, 0;
}
int cublasDestroy_v2(void *h) { return free(h), 0; }
int cublasSetStream_v2(void *h, void *stream) { return ((Handle *)h)->stream = stream, 0; }
int cublasSetWorkspace_v2(void *h, void *ws, size_t bytes) { return (void)h, ws && bytes ? 0 : 7; }
/* TF32 is accepted and not modelled: the products stay exact (in double) */
int cublasSetMathMode(void *h, int mode) { return mode == 0 || mode == 3 ? (((Handle *)h)->math = mode, 0) : 7; }

/* element i of an operand: f32, or bf16 (cublasGemmEx's CUDA_R_16BF) widened exactly */
static double elem(const void *p, size_t i, int bf16) {
    if (!bf16) return ((const float *)p)[i];
    const uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* column-major, op 0 = N, 1 = T */
static void gemm(int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b, int ldb,
                 float beta, float *c, int ldc, int bf16) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int p = 0; p < k; p++)
                acc += elem(a, ta ? p + (size_t)i * lda : i + (size_t)p * lda, bf16) *
                       elem(b, tb ? j + (size_t)p * ldb : p + (size_t)j * ldb, bf16);
            float *cij = &c[i + (size_t)j * ldc];
            *cij = (float)(alpha * acc + (beta != 0 ? beta * *cij : 0));
        }
}

static int check(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 1 || n < 1 || k < 1 || lda < (ta ? k : m) || ldb < (tb ? n : k) ||
        ldc < m) {
        fprintf(stderr, "fake cuBLAS: bad GEMM arguments\n");
        return 7; /* CUBLAS_STATUS_INVALID_VALUE */
    }
    return 0;
}

/* One call's arguments (the scalars by value, as a captured call holds them). */
typedef struct Call {
    int ta, tb, m, n, k, lda, ldb, ldc, batch;
    float alpha, beta;
    const void *a, *b;
    float *c;
    long long sa, sb, sc;
    int bf16; /* a and b bf16 (cublasGemmEx) */
} Call;
static void run_call(void *arg) {
    const Call *x = arg;
    const size_t es = x->bf16 ? 2 : 4;
    for (int q = 0; q < x->batch; q++)
        gemm(x->ta, x->tb, x->m, x->n, x->k, x->alpha, (const char *)x->a + q * x->sa * es, x->lda,
             (const char *)x->b + q * x->sb * es, x->ldb, x->beta, x->c + q * x->sc, x->ldc, x->bf16);
}
static int issue(void *h, const Call *x) {
    const int r = check(x->ta, x->tb, x->m, x->n, x->k, x->lda, x->ldb, x->ldc);
    const Handle *hd = h;
    if (!r && !hd->record(hd->stream, run_call, x, sizeof *x)) run_call((void *)x);
    return r;
}

int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                   const float *b, int ldb, const float *beta, float *c, int ldc) {
    const Call x = {ta, tb, m, n, k, lda, ldb, ldc, 1, *alpha, *beta, a, b, c, 0, 0, 0, 0};
    return issue(h, &x);
}

int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                              long long sa, const float *b, int ldb, long long sb, const float *beta, float *c, int ldc,
                              long long sc, int batch) {
    const Call x = {ta, tb, m, n, k, lda, ldb, ldc, batch, *alpha, *beta, a, b, c, sa, sb, sc, 0};
    return issue(h, &x);
}

/* The Ex forms only as netc calls them: A and B CUDA_R_16BF (14), C CUDA_R_32F (0), CUBLAS_COMPUTE_32F (68),
 * f32 scalars; anything else CUBLAS_STATUS_NOT_SUPPORTED (15). */
static int ex_types(int at, int bt, int ct, int compute) { return at == 14 && bt == 14 && ct == 0 && compute == 68; }

int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int at, int lda,
                 const void *b, int bt, int ldb, const float *beta, float *c, int ct, int ldc, int compute, int algo) {
    (void)algo;
    if (!ex_types(at, bt, ct, compute)) return 15;
    const Call x = {ta, tb, m, n, k, lda, ldb, ldc, 1, *alpha, *beta, a, b, c, 0, 0, 0, 1};
    return issue(h, &x);
}

int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int at,
                               int lda, long long sa, const void *b, int bt, int ldb, long long sb, const float *beta,
                               float *c, int ct, int ldc, long long sc, int batch, int compute, int algo) {
    (void)algo;
    if (!ex_types(at, bt, ct, compute)) return 15;
    const Call x = {ta, tb, m, n, k, lda, ldb, ldc, batch, *alpha, *beta, a, b, c, sa, sb, sc, 1};
    return issue(h, &x);
}

#endif
