/* nhwc_conv_bench.c — times the NHWC direct convolution (codegen/cpu/
 * cg_nhwc_conv.c) on efficientnet_b0's depthwise convs and regnety_016's
 * grouped 3x3 convs at 224, and the 3->32 3x3/2 stem.  Not a test: it times.
 *
 *   nhwc_conv_bench [--threads 1,2] [--reps 7] [--block P,NV] [--only SUBSTRING] [--batch B]
 *                   [--shape C,HW,O,K,S,G]   (one custom shape instead of the list)
 *                  [--noepi] (bias only, no fused activation)  [--asm FILE] (the last kernel's assembly)
 *                  [--clock cpu]  (time by the process's CPU time over the threads, not the wall clock:
 *                  on a shared machine, time spent descheduled is not counted; spin-waiting is)
 *
 * Each figure is the median over --reps samples, a sample being as many
 * back-to-back calls of the kernel over all its tiles (OpenMP parallel for,
 * dynamic, one tile at a time; the runtime deals contiguous shares instead,
 * which matters between kernels, not within one) as fill ~20 ms, after
 * a warm-up; operands stay in cache between calls as far as they fit.
 * GFLOP/s = 2 x multiply-adds / time. */
#include <omp.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "ir/ops.h"

static int cpu_clock, clock_threads = 1; /* --clock cpu */

static double now_s(void) {
    if (!cpu_clock) return nc_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec) / clock_threads;
}

typedef struct Shape {
    const char *name;
    int64_t c, hw, o;
    int k, s, groups, batch8; /* batch8: also at batch 8 */
} Shape;

static const Shape shapes[] = {
    /* efficientnet_b0 depthwise (TF-free timm padding: k/2 symmetric) */
    {"effb0 dw 96ch 112 3x3/2", 96, 112, 96, 3, 2, 96, 0},
    {"effb0 dw 144ch 56 3x3/1", 144, 56, 144, 3, 1, 144, 0},
    {"effb0 dw 144ch 56 5x5/2", 144, 56, 144, 5, 2, 144, 0},
    {"effb0 dw 240ch 28 5x5/1", 240, 28, 240, 5, 1, 240, 0},
    {"effb0 dw 240ch 28 3x3/2", 240, 28, 240, 3, 2, 240, 0},
    {"effb0 dw 480ch 14 3x3/1", 480, 14, 480, 3, 1, 480, 0},
    {"effb0 dw 672ch 14 5x5/1", 672, 14, 672, 5, 1, 672, 0},
    {"effb0 dw 672ch 14 5x5/2", 672, 14, 672, 5, 2, 672, 0},
    {"effb0 dw 1152ch 7 5x5/1", 1152, 7, 1152, 5, 1, 1152, 0},
    /* regnety_016 grouped 3x3 (24 channels per group) */
    {"regnety016 48ch 112 s2 G2", 48, 112, 48, 3, 2, 2, 1},
    {"regnety016 120ch 56 s2 G5", 120, 56, 120, 3, 2, 5, 1},
    {"regnety016 336ch 28 s2 G14", 336, 28, 336, 3, 2, 14, 1},
    {"regnety016 336ch 14 s1 G14", 336, 14, 336, 3, 1, 14, 1},
    {"regnety016 888ch 14 s2 G37", 888, 14, 888, 3, 2, 37, 1},
    {"regnety016 888ch 7 s1 G37", 888, 7, 888, 3, 1, 37, 1},
    /* stem */
    {"stem 3->32 224 3x3/2", 3, 224, 32, 3, 2, 1, 0},
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(NcTileFn fn, const float *const *in, float *const *out, int64_t tiles, int threads) {
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int64_t t = 0; t < tiles; t++) fn(in, out, t, t + 1);
}

static const char *asm_path; /* --asm FILE: the last kernel's assembly */
static int no_epi;           /* --noepi: bias only */

static void bench(const NcCgTarget *t, const Shape *s, int64_t batch, const int *threads, int nthreads, int reps, int P,
                  int NV) {
    NcError e;
    const int pad = s->k / 2;
    const int64_t oh = (s->hw + 2 * pad - s->k) / s->s + 1;
    NcGraph *g = nc_graph_new("bench");
    int64_t xs[4] = {batch, s->c, s->hw, s->hw}, ws[4] = {s->o, s->c / s->groups, s->k, s->k}, bs[1] = {s->o};
    int ins[3] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e),
                  nc_graph_add_param(g, "b", NC_PARAM_BIAS, 1, bs, &e)};
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = s->k, a.stride[0] = a.stride[1] = s->s, a.groups = s->groups, a.has_bias = 1;
    for (int i = 0; i < 4; i++) a.pad[i] = pad;
    /* what the models fuse: SiLU (EfficientNet), ReLU (RegNetY) */
    a.nepi = !no_epi, a.epi[0].kind = s->groups == s->c ? NC_EPI_SILU : NC_EPI_RELU;
    int ni = nc_graph_add_node(g, NC_OP_CONV2D, 3, ins, &a, "conv", &e);
    if (ni < 0) {
        fprintf(stderr, "%s: %s\n", s->name, e.msg);
        exit(1);
    }
    const NcNode *nd = &g->nodes.data[ni];
    NcNhwcConvPlan p;
    const char *why;
    if (!nc_cg_nhwc_conv_plan(&p, g, nd, t, &why)) {
        printf("%-28s refused: %s\n", s->name, why);
        nc_graph_free(g);
        return;
    }
    if (P && !nc_cg_nhwc_conv_set_block(&p, t, P, NV)) printf("(block %dx%d refused)\n", P, NV);
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, t, "bench");
    NcCgKernel kern = {0};
    nc_cg_nhwc_conv_emit(&m, g, nd, &p, "conv", &kern);
    const int64_t wtiles = kern.wprep_tiles, wfloats = kern.wfloats;
    if (asm_path) {
        char *err = NULL;
        if (nc_cg_module_optimize(&m, &e) ||
            LLVMTargetMachineEmitToFile(t->tm, m.mod, (char *)asm_path, LLVMAssemblyFile, &err))
            fprintf(stderr, "--asm: %s\n", err ? err : e.msg);
        if (err) LLVMDisposeMessage(err);
    }
    if (!jit || nc_cg_jit_add(jit, &m, &e)) {
        fprintf(stderr, "%s: %s\n", s->name, e.msg);
        exit(1);
    }
    nc_cg_module_dispose(&m);
    NcTileFn fn = (NcTileFn)nc_cg_jit_lookup(jit, "conv", &e), wfn = (NcTileFn)nc_cg_jit_lookup(jit, "conv_wprep", &e);
    const int64_t nx = batch * s->c * s->hw * s->hw, ny = batch * s->o * oh * oh,
                  nw = s->o * (s->c / s->groups) * s->k * s->k;
    float *x = nc_malloc((size_t)nx * sizeof(float)), *w = nc_malloc((size_t)nw * sizeof(float)),
          *bias = nc_malloc((size_t)s->o * sizeof(float));
    float *packed = nc_malloc((size_t)wfloats * sizeof(float)), *y = nc_malloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < nw; i++) w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < s->o; i++) bias[i] = 0.01f * (float)i;
    const float *in[3] = {x, w, bias};
    float *wout[1] = {packed};
    run(wfn, in, wout, wtiles, 1);
    in[1] = packed;
    float *out[2] = {y, NULL};
    const double flops = 2.0 * (double)ny * (double)(s->c / s->groups) * s->k * s->k;
    printf("%-28s b%lld  P%d NV%d tiles %-5lld", s->name, (long long)batch, p.P, p.NV, (long long)p.tiles);
    for (int ti = 0; ti < nthreads; ti++) {
        const int th = threads[ti];
        clock_threads = th;
        double tcall = 0;
        for (int i = 0; i < 3; i++) run(fn, in, out, p.tiles, th); /* warm-up */
        /* calls per sample: ~20 ms */
        double t0 = now_s();
        run(fn, in, out, p.tiles, th);
        tcall = now_s() - t0;
        int calls = (int)(0.02 / (tcall > 1e-7 ? tcall : 1e-7));
        if (calls < 1) calls = 1;
        double v[64];
        for (int r = 0; r < reps && r < 64; r++) {
            t0 = now_s();
            for (int c = 0; c < calls; c++) run(fn, in, out, p.tiles, th);
            v[r] = (now_s() - t0) / calls;
        }
        const int nr = reps < 64 ? reps : 64;
        qsort(v, (size_t)nr, sizeof *v, cmp_double);
        const double med = v[nr / 2];
        /* the best sample too: on a shared machine the median drifts */
        printf("  %dT %7.3f ms %5.1f GF/s (best %7.3f)", th, med * 1e3, flops / med / 1e9, v[0] * 1e3);
    }
    printf("\n");
    fflush(stdout);
    free(x), free(w), free(bias), free(packed), free(y);
    nc_cg_jit_free(jit);
    nc_graph_free(g);
}

int main(int argc, char **argv) {
    Shape custom = {"custom", 0, 0, 0, 0, 0, 0, 0};
    int have_custom = 0;
    int threads[8] = {1, 2}, nthreads = 2, reps = 7, P = 0, NV = 0;
    int64_t only_batch = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nthreads = 0;
            for (char *q = argv[++i]; *q && nthreads < 8;) {
                threads[nthreads++] = (int)strtol(q, &q, 10);
                if (*q == ',') q++;
            }
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--block") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d,%d", &P, &NV) != 2) P = NV = 0;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--asm") && i + 1 < argc) {
            asm_path = argv[++i];
        } else if (!strcmp(argv[i], "--clock") && i + 1 < argc) {
            cpu_clock = !strcmp(argv[++i], "cpu");
        } else if (!strcmp(argv[i], "--noepi")) {
            no_epi = 1;
        } else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            long long c, hw, o;
            if (sscanf(argv[++i], "%lld,%lld,%lld,%d,%d,%d", &c, &hw, &o, &custom.k, &custom.s, &custom.groups) != 6) {
                fprintf(stderr, "--shape C,HW,O,K,S,G\n");
                return 2;
            }
            custom.c = c, custom.hw = hw, custom.o = o, custom.batch8 = 1, have_custom = 1;
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            only_batch = atoll(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--threads 1,2] [--reps 7] [--block P,NV] [--only SUBSTRING] [--batch B] [--shape "
                    "C,HW,O,K,S,G]\n",
                    argv[0]);
            return 2;
        }
    }
    NcError e;
    NcCgTarget t;
    if (nc_cg_target_init(&t, NULL, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("host: %s, %d-float vectors; bias + SiLU (depthwise) / ReLU fused\n", t.cpu, t.vw);
    const Shape *list = have_custom ? &custom : shapes;
    const size_t nlist = have_custom ? 1 : sizeof shapes / sizeof shapes[0];
    for (size_t i = 0; i < nlist; i++) {
        if (only && !strstr(list[i].name, only)) continue;
        if (!only_batch || only_batch == 1) bench(&t, &list[i], 1, threads, nthreads, reps, P, NV);
        if (list[i].batch8 && (!only_batch || only_batch == 8)) bench(&t, &list[i], 8, threads, nthreads, reps, P, NV);
    }
    nc_cg_target_free(&t);
    return 0;
}
