/* train_pack_bench.c — times stage 1 of the training step's NCHW convolutions (codegen/cpu/cg_nchw_train.c:
 * packing the GEMM's B from x or dY) on planes off the vector width — models/fmnist_resnet.nn's convs at 28x28,
 * batch 128 — two ways: as planned (conv2d's and conv2d_grad_input's pack.linear: one or two masked loads
 * per vector of positions) and with pack.linear turned off (a gather per vector, as before it).  Not a test: it times.
 *
 *   train_pack_bench [--threads 2] [--reps 7] [--batch 128] [--cpu]
 *
 * The two variants run alternately, rep by rep, after one warm-up each; the figures are the median and the
 * minimum over --reps of one call over all the stage's tiles (OpenMP parallel for, dynamic); on a loaded
 * machine the minimum is the one least disturbed.  --cpu: the process's CPU time (all
 * threads) instead of wall time — on a machine loaded by other jobs, wall time mostly measures preemption. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_nchw_train.h"
#include "ir/ops.h"

typedef struct Shape {
    const char *name;
    int64_t c, o, hw;
    int k, s, pad;
} Shape;

/* fmnist_resnet's convs of stride 1 (their planes' positions are linear) and a strided one (its dY is) */
static const Shape shapes[] = {
    {"stem 3x3 3->24 28x28", 3, 24, 28, 3, 1, 1},         {"layer1 3x3 32->32 14x14", 32, 32, 14, 3, 1, 1},
    {"layer2 3x3 64->64 7x7", 64, 64, 7, 3, 1, 1},        {"layer3 3x3 128->128 4x4", 128, 128, 4, 3, 1, 1},
    {"layer2.0 3x3/2 32->64 14x14", 32, 64, 14, 3, 2, 1},
};

static int use_cpu_time;

static double now(void) { return bench_now(use_cpu_time); }

/* stage 1 of node nd, planned (variant 0) and with pack.linear off (1): JIT-compiled into fn[]; 0 on failure,
 * -1 where the node's kernel is fused (no packing stage) */
static int build(const NcCgTarget *t, NcGraph *g, const NcNode *nd, NcCgJit *jit, NcTileFn fn[2], int64_t tiles[2],
                 int64_t scratch[2], int *linear) {
    NcError e;
    for (int v = 0; v < 2; v++) {
        NcTrainConvPlan p;
        const char *why;
        if (!nc_cg_train_conv_plan(&p, g, nd, t, &why)) return 0;
        if (p.fused || p.flip) return -1; /* one stage (cg_nchw_train_fused.c): no packing of its own to time */
        *linear = p.pack.linear;
        if (v == 1 && p.pack.linear) p.pack.linear = p.pack.transposed = p.pack.straddle = 0;
        char prefix[16];
        snprintf(prefix, sizeof prefix, "v%d", v);
        NcCgModule m;
        nc_cg_module_init(&m, t, prefix);
        NcCgKernel kern;
        memset(&kern, 0, sizeof kern);
        nc_cg_train_conv_emit(&m, &p, prefix, &kern);
        tiles[v] = kern.tiles[0], scratch[v] = kern.scratch;
        if (nc_cg_jit_add(jit, &m, &e)) {
            nc_cg_module_dispose(&m);
            return 0;
        }
        nc_cg_module_dispose(&m);
        char name[32];
        snprintf(name, sizeof name, "v%d_pack", v);
        if (!(fn[v] = (NcTileFn)nc_cg_jit_lookup(jit, name, &e))) return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    int threads = 2, reps = 7;
    int64_t batch = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--cpu"))
            use_cpu_time = 1;
        else {
            fprintf(stderr, "usage: %s [--threads 2] [--reps 7] [--batch 128] [--cpu]\n", argv[0]);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (threads < 1 || reps < 1 || reps > 64 || batch < 1) {
        fprintf(stderr, "%s: --threads, --batch >= 1, --reps 1-64\n", argv[0]);
        return 2;
    }
    omp_set_num_threads(threads);
    NcError e;
    NcCgTarget t;
    if (nc_cg_target_init(&t, NULL, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    static const char *kinds[3] = {"conv2d", "grad_input", "grad_weight"};
    printf("%s (%s), %d threads, batch %lld, %s ms, median of %d\n", t.cpu, t.isa, threads, (long long)batch,
           use_cpu_time ? "CPU" : "wall", reps);
    printf("%-30s %-12s %7s %10s %10s %7s %10s %10s %7s\n", "conv", "kind", "linear", "planned", "gather", "ratio",
           "min", "min", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const Shape *sh = &shapes[s];
        NcGraph *g = nc_graph_new("pack");
        NcAttrs a = nc_attrs_default();
        a.kernel[0] = a.kernel[1] = sh->k, a.stride[0] = a.stride[1] = sh->s;
        a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = sh->pad;
        int64_t xs[4] = {batch, sh->c, sh->hw, sh->hw}, ws[4] = {sh->o, sh->c, sh->k, sh->k};
        const int x = nc_graph_add_input(g, "x", 4, xs), w = nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e);
        int ins[2] = {x, w};
        const int fwd = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &a, "conv", &e);
        const int dy = nc_graph_add_input(g, "dy", 4, nc_val(g, g->nodes.data[fwd].outputs[0])->shape);
        a.nsizes = 4;
        memcpy(a.sizes, xs, sizeof xs);
        ins[0] = dy, ins[1] = w;
        nc_graph_add_node(g, NC_OP_CONV2D_GRAD_INPUT, 2, ins, &a, "gi", &e);
        memcpy(a.sizes, ws, sizeof ws);
        ins[0] = dy, ins[1] = x;
        nc_graph_add_node(g, NC_OP_CONV2D_GRAD_WEIGHT, 2, ins, &a, "gw", &e);
        float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
        for (int i = 0; i < g->values.len; i++) data[i] = bench_random_floats(nc_numel(&g->values.data[i]));
        for (int k = 0; k < 3; k++) {
            const NcNode *nd = &g->nodes.data[fwd + k];
            NcCgJit *jit = nc_cg_jit_new(&e);
            NcTileFn fn[2];
            int64_t tiles[2], scratch[2];
            int linear = 0;
            const int built = jit ? build(&t, g, nd, jit, fn, tiles, scratch, &linear) : 0;
            if (built <= 0) {
                printf("%-30s %-12s %s\n", sh->name, kinds[k], built < 0 ? "fused: no packing stage" : "failed");
                if (jit) nc_cg_jit_free(jit);
                continue;
            }
            const float *in[3] = {data[nd->inputs[0]], data[nd->inputs[1]], NULL};
            float *sc[2] = {bench_random_floats(scratch[0]), bench_random_floats(scratch[1])};
            double ms[2][64];
            for (int r = -1; r < reps; r++)
                for (int v = 0; v < 2; v++) {
                    float *out[2] = {data[nd->outputs[0]], sc[v]};
                    const double t0 = now();
#pragma omp parallel for schedule(dynamic)
                    for (int64_t i = 0; i < tiles[v]; i++) fn[v](in, out, i, i + 1);
                    if (r >= 0) ms[v][r] = (now() - t0) * 1e3;
                }
            const double m0 = bench_median(ms[0], reps), m1 = bench_median(ms[1], reps);
            printf("%-30s %-12s %7s %10.3f %10.3f %7.2f %10.3f %10.3f %7.2f\n", sh->name, kinds[k],
                   linear ? "yes" : "no", m0, m1, m1 / m0, ms[0][0], ms[1][0], ms[1][0] / ms[0][0]);
            free(sc[0]), free(sc[1]);
            nc_cg_jit_free(jit);
        }
        for (int i = 0; i < g->values.len; i++) free(data[i]);
        free(data);
        nc_graph_free(g);
    }
    nc_cg_target_free(&t);
    return 0;
}
