/* nhwc_wino_bench.c — times the NHWC Winograd convolution (codegen/cpu/
 * cg_nhwc_wino.c, F(4x4, 3x3) and F(2x2, 3x3)) against the NHWC direct
 * convolution (cg_nhwc_conv.c) on resnet50's 3x3 stride-1 convs and
 * regnety_016's grouped 3x3 stride-1 convs (24 channels per group) at 224.
 * Not a test: it times.
 *
 *   nhwc_wino_bench [--threads 1,2] [--reps 7] [--only SUBSTRING] [--batch B] [--stages]
 *
 * Bias + ReLU fused.  The three kernels are timed interleaved (one sample of
 * each in turn, so drift on a shared machine hits them alike); a sample is
 * as many back-to-back calls (OpenMP parallel for, dynamic, one tile at a
 * time, the stages in one parallel region with barriers between them, as
 * the runtime does) as fill ~10 ms.  Median ms, and
 * effective GFLOP/s = the direct conv's 2 x multiply-adds / time.  --stages:
 * also each Winograd stage's share (1 thread) and the cost models' figures. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "codegen/cpu/cg_nhwc_wino.h"
#include "ir/ops.h"

typedef struct Shape {
    const char *name;
    int64_t c, hw, groups;
    int batch8;
} Shape;

static const Shape shapes[] = {
    {"resnet50 64ch 56", 64, 56, 1, 0},          {"resnet50 128ch 28", 128, 28, 1, 0},
    {"resnet50 256ch 14", 256, 14, 1, 0},        {"resnet50 512ch 7", 512, 7, 1, 0},
    {"regnety016 48ch 56 G2", 48, 56, 2, 1},     {"regnety016 120ch 28 G5", 120, 28, 5, 1},
    {"regnety016 336ch 14 G14", 336, 14, 14, 1}, {"regnety016 888ch 7 G37", 888, 7, 37, 1},
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct K {
    const char *label;
    int ok;
    NcTileFn st[3];
    int64_t tiles[3];
    float *w, *sc;
} K;

/* One call: the stages in one parallel region, a barrier between them (as
 * the runtime runs a staged kernel). */
static void call(const K *k, const float *const *in, float *const *out, int th) {
#pragma omp parallel num_threads(th)
    for (int s = 0; s < 3; s++) {
        if (!k->st[s]) continue;
        NcTileFn f = k->st[s];
        const int64_t n = k->tiles[s];
#pragma omp for schedule(dynamic)
        for (int64_t t = 0; t < n; t++) f(in, out, t, t + 1);
    }
}

static void stage_call(const K *k, int s, const float *const *in, float *const *out) {
    for (int64_t t = 0; t < k->tiles[s]; t++) k->st[s](in, out, t, t + 1);
}

static int show_stages;

static void bench(const NcCgTarget *t, const Shape *s, int64_t batch, const int *threads, int nthreads, int reps) {
    NcError e;
    NcGraph *g = nc_graph_new("bench");
    const int64_t C = s->c, H = s->hw;
    int64_t xs[4] = {batch, C, H, H}, ws[4] = {C, C / s->groups, 3, 3}, bs[1] = {C};
    int ins[3] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e),
                  nc_graph_add_param(g, "b", NC_PARAM_BIAS, 1, bs, &e)};
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 3, a.groups = (int)s->groups, a.has_bias = 1;
    for (int i = 0; i < 4; i++) a.pad[i] = 1;
    a.nepi = 1, a.epi[0].kind = NC_EPI_RELU;
    int ni = nc_graph_add_node(g, NC_OP_CONV2D, 3, ins, &a, "conv", &e);
    if (ni < 0) {
        fprintf(stderr, "%s: %s\n", s->name, e.msg);
        exit(1);
    }
    const NcNode *nd = &g->nodes.data[ni];
    NcNhwcConvPlan dp;
    NcNhwcWinoPlan wp[2];
    const char *why;
    K k[3];
    memset(k, 0, sizeof k);
    k[0].label = "direct", k[1].label = "F4", k[2].label = "F2";
    NcCgJit *jit = nc_cg_jit_new(&e);
    NcCgModule m;
    nc_cg_module_init(&m, t, "bench");
    NcCgKernel kern[3];
    memset(kern, 0, sizeof kern);
    int64_t scratch[3] = {0}, wtiles[3] = {0}, wfloats[3] = {0};
    k[0].ok = nc_cg_nhwc_conv_plan(&dp, g, nd, t, &why);
    if (k[0].ok) nc_cg_nhwc_conv_emit(&m, g, nd, &dp, "d", &kern[0]);
    for (int i = 0; i < 2; i++) {
        k[1 + i].ok = nc_cg_nhwc_wino_plan(&wp[i], g, nd, t, i ? 2 : 4, &why);
        if (!k[1 + i].ok)
            printf("  F%d refused: %s\n", i ? 2 : 4, why);
        else
            nc_cg_nhwc_wino_emit(&m, g, nd, &wp[i], i ? "f2" : "f4", &kern[1 + i]);
    }
    for (int i = 0; i < 3; i++) {
        memcpy(k[i].tiles, kern[i].tiles, sizeof k[i].tiles);
        scratch[i] = kern[i].scratch, wtiles[i] = kern[i].wprep_tiles, wfloats[i] = kern[i].wfloats;
    }
    if (getenv("WINO_ASM")) {
        char *err = NULL;
        if (nc_cg_module_optimize(&m, &e) ||
            LLVMTargetMachineEmitToFile(t->tm, m.mod, getenv("WINO_ASM"), LLVMAssemblyFile, &err))
            fprintf(stderr, "asm: %s\n", err ? err : e.msg);
        if (err) LLVMDisposeMessage(err);
    }
    if (!jit || nc_cg_jit_add(jit, &m, &e)) {
        fprintf(stderr, "%s: %s\n", s->name, e.msg);
        exit(1);
    }
    nc_cg_module_dispose(&m);
    static const char *pre[3] = {"d", "f4", "f2"};
    NcTileFn wfn[3] = {0};
    for (int i = 0; i < 3; i++) {
        if (!k[i].ok) continue;
        char nm[64];
        if (i == 0) {
            k[0].st[0] = (NcTileFn)nc_cg_jit_lookup(jit, "d", &e);
        } else {
            static const char *sfx[3] = {"_in", "_gemm", "_out"};
            for (int q = 0; q < 3; q++)
                snprintf(nm, sizeof nm, "%s%s", pre[i], sfx[q]), k[i].st[q] = (NcTileFn)nc_cg_jit_lookup(jit, nm, &e);
        }
        snprintf(nm, sizeof nm, "%s_wprep", pre[i]);
        wfn[i] = (NcTileFn)nc_cg_jit_lookup(jit, nm, &e);
    }
    const int64_t nx = batch * C * H * H, ny = nx, nw = C * (C / s->groups) * 9;
    float *x = nc_malloc((size_t)nx * sizeof(float)), *w = nc_malloc((size_t)nw * sizeof(float)),
          *bias = nc_malloc((size_t)C * sizeof(float));
    float *y = nc_malloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < nw; i++) w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < C; i++) bias[i] = 0.01f * (float)i;
    for (int i = 0; i < 3; i++) {
        if (!k[i].ok) continue;
        k[i].w = nc_malloc((size_t)wfloats[i] * sizeof(float));
        k[i].sc = nc_malloc((size_t)(scratch[i] ? scratch[i] : 1) * sizeof(float));
        const float *in[3] = {x, w, bias};
        float *wout[1] = {k[i].w};
        for (int64_t q = 0; q < wtiles[i]; q++) wfn[i](in, wout, q, q + 1);
    }
    const double flops = 2.0 * (double)ny * (double)(C / s->groups) * 9;
    printf("%-24s b%-2lld", s->name, (long long)batch);
    if (show_stages)
        printf(" [cost/direct MACs: F4 %.2f F2 %.2f]", k[1].ok ? nc_cg_nhwc_wino_cost(&wp[0]) / (flops / 2) : 0,
               k[2].ok ? nc_cg_nhwc_wino_cost(&wp[1]) / (flops / 2) : 0);
    for (int ti = 0; ti < nthreads; ti++) {
        const int th = threads[ti];
        int calls[3] = {0};
        for (int i = 0; i < 3; i++) {
            if (!k[i].ok) continue;
            const float *in[3] = {x, k[i].w, bias};
            float *out[2] = {y, k[i].sc};
            for (int r = 0; r < 2; r++) call(&k[i], in, out, th);
            double t0 = nc_now();
            call(&k[i], in, out, th);
            double tc = nc_now() - t0;
            calls[i] = (int)(0.01 / (tc > 1e-7 ? tc : 1e-7));
            if (calls[i] < 1) calls[i] = 1;
        }
        double v[3][64];
        const int nr = reps < 64 ? reps : 64;
        for (int r = 0; r < nr; r++)
            for (int i = 0; i < 3; i++) {
                if (!k[i].ok) continue;
                const float *in[3] = {x, k[i].w, bias};
                float *out[2] = {y, k[i].sc};
                double t0 = nc_now();
                for (int c = 0; c < calls[i]; c++) call(&k[i], in, out, th);
                v[i][r] = (nc_now() - t0) / calls[i];
            }
        printf(" | %dT", th);
        for (int i = 0; i < 3; i++) {
            if (!k[i].ok) continue;
            qsort(v[i], (size_t)nr, sizeof(double), cmp_double);
            printf(" %s %.3f ms %.0f GF/s", k[i].label, v[i][nr / 2] * 1e3, flops / v[i][nr / 2] / 1e9);
        }
    }
    printf("\n");
    if (show_stages)
        for (int i = 1; i < 3; i++) {
            if (!k[i].ok) continue;
            const float *in[3] = {x, k[i].w, bias};
            float *out[2] = {y, k[i].sc};
            double sv[3];
            for (int q = 0; q < 3; q++) {
                double best = 1e9;
                for (int r = 0; r < 5; r++) {
                    double t0 = nc_now();
                    stage_call(&k[i], q, in, out);
                    double d = nc_now() - t0;
                    if (d < best) best = d;
                }
                sv[q] = best;
            }
            const NcNhwcWinoPlan *p = &wp[i - 1];
            const double pmacs = (double)p->npos * p->G * p->CG * p->OG * p->T;
            printf("    %s 1T stages (best of 5): in %.3f gemm %.3f (%.0f GF/s) out %.3f ms; T %lld, tiles "
                   "%lld/%lld/%lld, U %.1f MB\n",
                   k[i].label, sv[0] * 1e3, sv[1] * 1e3, 2 * pmacs / sv[1] / 1e9, sv[2] * 1e3, (long long)p->T,
                   (long long)k[i].tiles[0], (long long)k[i].tiles[1], (long long)k[i].tiles[2], wfloats[i] * 4e-6);
        }
    fflush(stdout);
    for (int i = 0; i < 3; i++) free(k[i].w), free(k[i].sc);
    free(x), free(w), free(bias), free(y);
    nc_cg_jit_free(jit);
    nc_graph_free(g);
}

int main(int argc, char **argv) {
    int threads[8] = {1, 2}, nthreads = 2, reps = 7;
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
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            only_batch = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--stages")) {
            show_stages = 1;
        } else {
            fprintf(stderr, "usage: %s [--threads 1,2] [--reps 7] [--only SUBSTRING] [--batch B] [--stages]\n",
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
    printf("host: %s, %d-float vectors; bias + ReLU fused; medians, GF/s = direct conv's 2 x MACs / time\n", t.cpu,
           t.vw);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        if (only && !strstr(shapes[i].name, only)) continue;
        if (!only_batch || only_batch == 1) bench(&t, &shapes[i], 1, threads, nthreads, reps);
        if (shapes[i].batch8 && (!only_batch || only_batch == 8)) bench(&t, &shapes[i], 8, threads, nthreads, reps);
    }
    nc_cg_target_free(&t);
    return 0;
}
