/* gemm_bench.c — GFLOP/s of the generated GEMM / 1x1-conv kernels on
 * resnet50's 1x1 convolutions at 224 (batch 1), against the CPU's FMA peak
 * measured the same way (a generated loop of independent vector FMA chains,
 * same target machine and vector width).  Not a test: it times.
 *
 *   gemm_bench [--threads 1,2] [--reps 15]
 *              [--shape CIN,COUT,HW[,BATCH]] [--mr R --nv V --kc K --mc M --nc N --pf 1|-1] [--in-scale 1]
 *              [--pf-b 1|-1]   (the prefetch of B ahead: cg_gemm.h)
 *              [--pack-a 1|-1]   (A packed per tile and reduction block, or read where it lies: cg_gemm.h)
 *              [--batch B]   (the table's shapes at batch B; default 1)
 *              [--act relu|silu|none]   (the epilogue after the bias; default relu)
 *              [--obj FILE.o]   (also write the last kernel as an object, to read with objdump)
 *              [--blocking avx512]   (AVX-512's blocks in this host's vectors: cg_target.h)
 *              [--clock cpu]   (time by the process's CPU time over the threads instead of the wall
 *                 clock: on a machine shared with other jobs, time spent descheduled is not counted;
 *                 spin-waiting is)
 *              [--cpu NAME --asm FILE.s]   (plan and compile for another CPU, e.g. sapphirerapids or
 *                 znver4, and write the kernel's and the FMA peak loop's assembly instead of timing:
 *                 for llvm-mca, bench/mca_gemm.py)
 *
 * Each figure is the median over --reps samples of one kernel call over all
 * tiles (OpenMP parallel for, dynamic, one tile at a time; the runtime deals
 * contiguous shares instead, which matters between kernels, not within one),
 * after warm-up; operands stay in cache between calls, as in any
 * back-to-back measurement of one layer. */
#include <omp.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg.h"
#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_peak.h"
#include "runtime/kernels.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --clock cpu: seconds are the process's CPU time divided by the threads
 * that ran (time spent descheduled by other jobs is not counted) */
static int cpu_clock, clock_threads = 1;

static double now_s(void) {
    if (!cpu_clock) return nc_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec) / clock_threads;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double measure_peak(NcCgJit *jit, const NcCgTarget *t, int threads, int chains) {
    void (*peak)(int64_t, float *) = (void (*)(int64_t, float *))nc_cg_jit_lookup(jit, "peak", NULL);
    const int64_t iters = 20000000;
    clock_threads = threads;
    double best = 0; /* best of 10: the peak is what the core can do when nothing else runs */
    for (int rep = 0; rep < 10; rep++) {
        double t0 = now_s();
#pragma omp parallel num_threads(threads)
        {
            float sink[16];
            peak(iters, sink);
        }
        double g = (double)threads * (double)iters * chains * t->vw * 2 / (now_s() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* Median GFLOP/s of run(ctx) over reps samples of about 20 ms each. */
static double time_median(void (*run)(void *), void *ctx, double flops, int reps) {
    double t0 = now_s();
    int calls = 0;
    do {
        run(ctx);
        calls++;
    } while (now_s() - t0 < 0.02);
    double *g = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (int c = 0; c < calls; c++) run(ctx);
        g[r] = flops * calls / (now_s() - t0) / 1e9;
    }
    double med = median(g, reps);
    free(g);
    return med;
}

typedef struct GemmRun {
    NcTileFn fn;
    const float *const *in;
    float *const *out;
    int64_t tiles;
    int threads;
} GemmRun;

static void gemm_run(void *ctx) {
    const GemmRun *r = ctx;
#pragma omp parallel for schedule(dynamic) num_threads(r->threads)
    for (int64_t tile = 0; tile < r->tiles; tile++) r->fn(r->in, r->out, tile, tile + 1);
}

typedef struct Shape {
    int64_t cin, cout, h, w, batch;
    const char *where;
} Shape;

/* Median GFLOP/s of one shape; 0 on failure. */
static const char *obj_path;

/* Writes module m's assembly for t to path. */
static int write_asm(const NcCgTarget *t, NcCgModule *m, const char *path) {
    NcError e;
    char *err = NULL;
    if (nc_cg_module_optimize(m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    if (LLVMTargetMachineEmitToFile(t->tm, m->mod, (char *)path, LLVMAssemblyFile, &err)) {
        fprintf(stderr, "%s: %s\n", path, err);
        LLVMDisposeMessage(err);
        return -1;
    }
    return 0;
}

static const char *asm_path;

static double bench_gemm(const NcCgTarget *t, const NcGemmSpec *s, int threads, int reps, NcGemmPlan *plan_out) {
    NcError e;
    NcGemmPlan p;
    if (nc_cg_gemm_plan(&p, s, t, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 0;
    }
    *plan_out = p;
    if (asm_path) { /* another CPU's kernel: its assembly, and the FMA peak loop's beside it */
        NcCgModule m;
        nc_cg_module_init(&m, t, "gemm");
        nc_cg_gemm_emit(&m, &p, "gemm");
        nc_cg_emit_peak(&m, "peak", nc_cg_peak_chains(t));
        const int rc = write_asm(t, &m, asm_path);
        nc_cg_module_dispose(&m);
        return rc ? 0 : -1;
    }
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, t, "gemm");
    nc_cg_gemm_emit(&m, &p, "gemm");
    if (obj_path && nc_cg_module_emit_object(&m, obj_path, &e)) fprintf(stderr, "%s\n", e.msg);
    if (!jit || nc_cg_jit_add(jit, &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        nc_cg_module_dispose(&m);
        nc_cg_jit_free(jit);
        return 0;
    }
    nc_cg_module_dispose(&m);
    NcTileFn fn = (NcTileFn)nc_cg_jit_lookup(jit, "gemm", &e);
    const int64_t xs = s->batch * s->cin * s->hw, ys = s->batch * s->cout * s->hw;
    float *x = aligned_alloc(64, (size_t)(xs + 16) * 4), *w = malloc((size_t)(s->cout * s->cin) * 4);
    float *packed = aligned_alloc(64, (size_t)(p.packed_floats + 16) * 4), *bias = malloc((size_t)s->cout * 4);
    float *y = aligned_alloc(64, (size_t)(ys + 16) * 4);
    for (int64_t i = 0; i < xs; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (int64_t i = 0; i < s->cout * s->cin; i++) w[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    for (int64_t i = 0; i < s->cout; i++) bias[i] = 0.01f * (float)i;
    nc_cg_gemm_pack(&p, w, packed);
    float *scale = malloc((size_t)(s->batch * s->cin + 1) * 4); /* in[3]: an SE gate per (image, input channel) */
    for (int64_t i = 0; i < s->batch * s->cin; i++) scale[i] = 0.5f + 0.001f * (float)(i % 500);
    const float *in[4] = {x, packed, bias, scale};
    float *out[1] = {y};
    const double flops = 2.0 * (double)s->batch * (double)s->cin * (double)s->cout * (double)s->hw;
    GemmRun run = {fn, in, out, p.tiles, threads};
    clock_threads = threads;
    double med = time_median(gemm_run, &run, flops, reps);
    free(x), free(w), free(packed), free(bias), free(y), free(scale);
    nc_cg_jit_free(jit);
    return med;
}

int main(int argc, char **argv) {
    static const Shape resnet[] = {
        {64, 256, 56, 56, 1, "layer1 conv3"},   {256, 64, 56, 56, 1, "layer1 conv1"},
        {512, 128, 28, 28, 1, "layer2 conv1"},  {128, 512, 28, 28, 1, "layer2 conv3"},
        {1024, 256, 14, 14, 1, "layer3 conv1"}, {256, 1024, 14, 14, 1, "layer3 conv3"},
        {2048, 512, 7, 7, 1, "layer4 conv1"},   {512, 2048, 7, 7, 1, "layer4 conv3"},
    };
    Shape custom = {0, 0, 1, 0, 1, "custom"};
    int act = NC_EPI_RELU; /* -1: bias only */
    int threads_list[4] = {1, 2}, nthreads = 2, reps = 15;
    int64_t table_batch = 1;
    const char *cpu = NULL, *blocking = NULL;
    NcGemmSpec over;
    memset(&over, 0, sizeof over);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "usage: see the comment at the top of bench/gemm_bench.c\n");
            return 2;
        }
        i++;
        if (!strcmp(a, "--threads"))
            nthreads = sscanf(v, "%d,%d,%d,%d", &threads_list[0], &threads_list[1], &threads_list[2], &threads_list[3]);
        else if (!strcmp(a, "--reps"))
            reps = atoi(v);
        else if (!strcmp(a, "--shape"))
            sscanf(v, "%lld,%lld,%lld,%lld", (long long *)&custom.cin, (long long *)&custom.cout,
                   (long long *)&custom.w, (long long *)&custom.batch);
        else if (!strcmp(a, "--obj"))
            obj_path = v;
        else if (!strcmp(a, "--mr"))
            over.mr = atoi(v);
        else if (!strcmp(a, "--nv"))
            over.nv = atoi(v);
        else if (!strcmp(a, "--kc"))
            over.kc = atoll(v);
        else if (!strcmp(a, "--mc"))
            over.mc = atoll(v);
        else if (!strcmp(a, "--nc"))
            over.nc = atoll(v);
        else if (!strcmp(a, "--act"))
            act = !strcmp(v, "silu") ? NC_EPI_SILU : !strcmp(v, "none") ? -1 : NC_EPI_RELU;
        else if (!strcmp(a, "--in-scale"))
            over.in_scale = atoi(v) ? 3 : 0;
        else if (!strcmp(a, "--pf"))
            over.pf = atoi(v);
        else if (!strcmp(a, "--pf-b"))
            over.pf_b = atoi(v);
        else if (!strcmp(a, "--pack-a"))
            over.pack_a = atoi(v);
        else if (!strcmp(a, "--batch"))
            table_batch = atoll(v);
        else if (!strcmp(a, "--cpu"))
            cpu = v;
        else if (!strcmp(a, "--asm"))
            asm_path = v;
        else if (!strcmp(a, "--clock"))
            cpu_clock = !strcmp(v, "cpu");
        else if (!strcmp(a, "--blocking"))
            blocking = v;
        else {
            fprintf(stderr, "gemm_bench: unknown option %s\n", a);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    NcError e;
    NcCgTarget t;
    if (nc_cg_target_init(&t, cpu, NULL, &e) || (blocking && nc_cg_target_block_as(&t, blocking, &e))) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    if (cpu && !asm_path) {
        fprintf(stderr, "gemm_bench: --cpu compiles for another CPU: give --asm FILE.s (nothing is timed)\n");
        return 2;
    }
    if (asm_path) {
        if (!custom.cin) {
            fprintf(stderr, "gemm_bench: --asm writes one kernel: give --shape\n");
            return 2;
        }
        NcGemmSpec s = over;
        s.batch = custom.batch, s.cin = custom.cin, s.cout = custom.cout, s.hw = custom.h * custom.w;
        s.bias = 1, s.relu = act == NC_EPI_RELU;
        NcGemmPlan p;
        if (bench_gemm(&t, &s, 1, 1, &p) == 0) return 1;
        printf("CPU %s (%s, %d-float vectors, %d registers, blocks for %s): %dx%d (nv %d), kc %lld mc %lld nc %lld, "
               "tiles %lld, prefetch %s -> %s\n",
               t.cpu, t.isa, t.vw, t.nvregs, t.blocking, p.s.mr, p.nr, p.s.nv, (long long)p.s.kc, (long long)p.s.mc,
               (long long)p.s.nc, (long long)p.tiles, p.s.pf > 0 ? "on" : "off", asm_path);
        nc_cg_target_free(&t);
        return 0;
    }
    const int chains = nc_cg_peak_chains(&t);
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, &t, "peak");
    nc_cg_emit_peak(&m, "peak", chains);
    if (!jit || nc_cg_jit_add(jit, &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    nc_cg_module_dispose(&m);
    double peak[4];
    printf("CPU %s, %d-float vectors, %d vector registers, blocks for %s\n", t.cpu, t.vw, t.nvregs, t.blocking);
    for (int i = 0; i < nthreads; i++) {
        peak[i] = measure_peak(jit, &t, threads_list[i], chains);
        printf("FMA peak, %d thread%s: %.1f GFLOP/s\n", threads_list[i], threads_list[i] > 1 ? "s" : "", peak[i]);
    }
    nc_cg_jit_free(jit);

    const Shape *shapes = custom.cin ? &custom : resnet;
    const int nshapes = custom.cin ? 1 : (int)(sizeof resnet / sizeof resnet[0]);
    printf("\n%-13s %-6s %5s %5s %5s %-24s", "layer", "layout", "cin", "cout", "hw",
           "blocking (mr x nr, kc mc nc: tiles)");
    for (int i = 0; i < nthreads; i++) printf("  %dT GFLOP/s (%% peak)", threads_list[i]);
    printf("\n");
    for (int si = 0; si < nshapes; si++) {
        NcGemmSpec s = over;
        s.batch = custom.cin ? shapes[si].batch : table_batch, s.cin = shapes[si].cin, s.cout = shapes[si].cout;
        s.hw = shapes[si].h * shapes[si].w;
        s.bias = 1, s.relu = act == NC_EPI_RELU;
        if (act == NC_EPI_SILU) s.nepi = 1, s.epi[0].kind = NC_EPI_SILU;
        NcGemmPlan p;
        memset(&p, 0, sizeof p);
        double g[4];
        for (int i = 0; i < nthreads; i++) g[i] = bench_gemm(&t, &s, threads_list[i], reps, &p);
        char blk[64];
        snprintf(blk, sizeof blk, "%dx%d, %lld %lld %lld: %lld%s", p.s.mr, p.nr, (long long)p.s.kc, (long long)p.s.mc,
                 (long long)p.s.nc, (long long)p.tiles,
                 p.s.pack_a > 0 ? " packA"
                 : p.s.pf > 0   ? " pf"
                                : "");
        printf("%-13s %-6s %5lld %5lld %5lld %-36s", shapes[si].where, "NHWC", (long long)s.cin, (long long)s.cout,
               (long long)s.hw, blk);
        for (int i = 0; i < nthreads; i++) printf("  %7.1f (%3.0f%%)      ", g[i], 100 * g[i] / peak[i]);
        printf("\n");
        fflush(stdout);
    }
    nc_cg_target_free(&t);
    return 0;
}
