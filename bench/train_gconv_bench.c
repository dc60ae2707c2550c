/* train_gconv_bench.c — times the training step's depthwise / narrow-group
 * NCHW convolution kernels (codegen/cpu/cg_nchw_train_gconv.c: conv2d,
 * conv2d_grad_input, conv2d_grad_weight) against the reference kernels they
 * replace (ir/ref_conv.c, ir/ref_grad_conv.c) on efficientnet_b0's depthwise
 * convs at 224 (--res scales the planes).  Not a test: it times.
 *
 *   train_gconv_bench [--threads 2] [--reps 5] [--batch 4] [--res 224] [--cpu]
 *
 * Each figure is the median of --reps calls over all the kernel's tiles
 * (OpenMP parallel for, dynamic) after one warm-up; the reference runs with
 * the same OpenMP threads.  Both get the same random operands.  --cpu times
 * the process's CPU time (all threads) instead of wall time: on a machine
 * loaded by other jobs, wall time mostly measures preemption. */
#include <omp.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_nchw_train_gconv.h"
#include "ir/ops.h"

typedef struct Shape {
    const char *name;
    int64_t c, hw; /* hw at 224 */
    int k, s;
} Shape;

static const Shape shapes[] = {
    {"b0 stage1 dw3x3 32ch", 32, 112, 3, 1},    {"b0 stage2 dw3x3/2 96ch", 96, 112, 3, 2},
    {"b0 stage3 dw5x5/2 144ch", 144, 56, 5, 2}, {"b0 stage4 dw3x3 480ch", 480, 14, 3, 1},
    {"b0 stage5 dw5x5 672ch", 672, 14, 5, 1},   {"b0 stage7 dw5x5 1152ch", 1152, 7, 5, 1},
};

static int use_cpu_time;

static double now(void) { return bench_now(use_cpu_time); }

/* One node of g: reference and generated, median ms of each (-1: failed) */
static void time_node(const NcCgTarget *t, NcGraph *g, const NcNode *nd, float **data, int reps, double *ref_ms,
                      double *gen_ms) {
    NcError e;
    NcTrainGconvPlan p;
    const char *why;
    *ref_ms = *gen_ms = -1;
    if (!nc_cg_train_gconv_plan(&p, g, nd, &why)) return;
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) ka.in_v[i] = nc_val(g, nd->inputs[i]), ka.in[i] = data[nd->inputs[i]];
    ka.out_v[0] = nc_val(g, nd->outputs[0]), ka.out[0] = data[nd->outputs[0]];
    double v[64];
    nc_op_info(nd->op)->ref(&ka);
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        nc_op_info(nd->op)->ref(&ka);
        v[r] = (now() - t0) * 1e3;
    }
    *ref_ms = bench_median(v, reps);
    NcCgJit *jit = nc_cg_jit_new(&e);
    if (!jit) return;
    NcCgModule m;
    nc_cg_module_init(&m, t, "train_gconv");
    NcCgKernel kern;
    memset(&kern, 0, sizeof kern);
    nc_cg_train_gconv_emit(&m, &p, "k", &kern);
    const int64_t tiles = kern.tiles[0];
    const int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "k_gconv", &e);
    if (fn) {
        const float *in[2] = {ka.in[0], ka.in[1]};
        float *out[2] = {ka.out[0], NULL};
        for (int r = -1; r < reps; r++) {
            const double t0 = now();
#pragma omp parallel for schedule(dynamic)
            for (int64_t i = 0; i < tiles; i++) fn(in, out, i, i + 1);
            if (r >= 0) v[r] = (now() - t0) * 1e3;
        }
        *gen_ms = bench_median(v, reps);
    }
    nc_cg_jit_free(jit);
}

int main(int argc, char **argv) {
    int threads = 2, reps = 5;
    int64_t batch = 4, res = 224;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--cpu"))
            use_cpu_time = 1;
        else if (!strcmp(argv[i], "--res") && i + 1 < argc)
            res = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads 2] [--reps 5] [--batch 4] [--res 224] [--cpu]\n", argv[0]);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (threads < 1 || reps < 1 || reps > 64 || batch < 1 || res < 32) {
        fprintf(stderr, "%s: --threads, --batch >= 1, --reps 1-64, --res >= 32\n", argv[0]);
        return 2;
    }
    omp_set_num_threads(threads);
    NcError e;
    NcCgTarget t;
    if (nc_cg_target_init(&t, NULL, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("host: %s, %d threads, batch %lld, res %lld; %s ms: reference / generated (ratio)\n", t.cpu, threads,
           (long long)batch, (long long)res, use_cpu_time ? "CPU" : "wall");
    static const char *kinds[3] = {"conv2d", "grad_input", "grad_weight"};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const Shape *s = &shapes[si];
        const int64_t hw = s->hw * res / 224 < 1 ? 1 : s->hw * res / 224;
        NcGraph *g = nc_graph_new("bench");
        NcAttrs a = nc_attrs_default();
        a.kernel[0] = a.kernel[1] = s->k, a.stride[0] = a.stride[1] = s->s, a.groups = (int)s->c;
        a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = s->k / 2;
        int64_t xs[4] = {batch, s->c, hw, hw}, ws[4] = {s->c, 1, s->k, s->k};
        int ins[2] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e)};
        const int x = ins[0], w = ins[1];
        const int fwd = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &a, "conv", &e);
        NC_CHECK(fwd >= 0);
        const int dy = nc_graph_add_input(g, "dy", 4, nc_val(g, g->nodes.data[fwd].outputs[0])->shape);
        a.nsizes = 4;
        memcpy(a.sizes, xs, sizeof xs);
        ins[0] = dy, ins[1] = w;
        NC_CHECK(nc_graph_add_node(g, NC_OP_CONV2D_GRAD_INPUT, 2, ins, &a, "gi", &e) >= 0);
        memcpy(a.sizes, ws, sizeof ws);
        ins[0] = dy, ins[1] = x;
        NC_CHECK(nc_graph_add_node(g, NC_OP_CONV2D_GRAD_WEIGHT, 2, ins, &a, "gw", &e) >= 0);
        float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
        for (int i = 0; i < g->values.len; i++) data[i] = bench_random_floats(nc_numel(&g->values.data[i]));
        printf("%-26s %4lldx%-4lld", s->name, (long long)hw, (long long)hw);
        for (int j = 0; j < 3; j++) {
            double r, q;
            time_node(&t, g, &g->nodes.data[fwd + j], data, reps, &r, &q);
            printf("  %s %.2f / %.2f (%.1fx)", kinds[j], r, q, q > 0 ? r / q : 0.0);
        }
        printf("\n");
        fflush(stdout);
        for (int i = 0; i < g->values.len; i++) free(data[i]);
        free(data);
        nc_graph_free(g);
    }
    nc_cg_target_free(&t);
    return 0;
}
