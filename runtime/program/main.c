/* main.c — the command line of every program `netc compile` makes.  The
 * model itself is the bundle linked in as netc_bundle[] (or next to the
 * program with --emit bundle); weights are inside it or, when compiled with
 * --weights-external, in PROGRAM.weights beside the executable. */
#include <limits.h>
#include <omp.h>
#include <string.h>
#include <unistd.h>

#include "ir/ops.h"
#include "runtime/program/dev_exec.h"
#include "runtime/program/engine.h"
#include "runtime/program/images.h"
#include "runtime/program/omp_wait.h"
#include "runtime/program/train.h"
#include "runtime/bundle.h"
#include "runtime/merge.h"
#include "runtime/support/detinit.h"
#include "runtime/support/json.h"
#include "runtime/support/list.h"
#include "runtime/support/npy.h"
#include "runtime/support/topk.h"

/* runtime/serve/serve.h: the layer above, in the same libnetc_app.a (included there, declared here so that
 * includes keep pointing down the layers) */
int cmd_serve(const NcBundle *b, const char *prog, int argc, char **argv);

extern const unsigned char netc_bundle[];
extern const unsigned char netc_bundle_end[];

static const char *prog = "model";

/* Each command's lines of the usage text: `PROG COMMAND --help` prints its own. */
static const struct {
    const char *name, *text;
} COMMANDS[] = {
    {"classify", "  classify IMAGES... [options]   top-k classes of JPEG/PNG files (directories are walked)\n"
                 "         --res R[,R]   resolutions to run (default: every compiled one)\n"
                 "         --merge sum|mean   how a model's resolutions merge their logits (default sum)\n"
                 "         --tta flip    average each view with its mirror image\n"
                 "         --pseudo-labels OUT --min-prob P   also write 'path label' lines (train --data's\n"
                 "         format, absolute paths) of the images whose top probability is at least P\n"
                 "         --top K (default 5), --labels FILE (class names; default: compiled in),\n"
                 "         --json (JSON Lines), --list FILE (paths, one per line), --decode-threads N\n"
                 "         (threads decoding and preprocessing images; default: one per core),\n"
                 "         --logits: scores before the softmax (a single model's logits: resolutions summed,\n"
                 "         flip views averaged; an ensemble's merged values)\n"
                 "         --max-pixels N (refuse larger images; default 100000000), --timing (time spent\n"
                 "         computing vs waiting for decode + preprocess, on stderr)\n"
                 "         --crop-pct X, --interpolation bicubic|bilinear, --mean A,B,C, --std A,B,C: override\n"
                 "         the models' preprocessing (default: each model's timm pretrained_cfg, see info)\n"},
    {"features", "  features IMAGES... -o OUT.npy [--res, --tta, --member K]   pooled penultimate features,\n"
                 "         [N, F] float32, of the images that decoded; their paths in OUT.txt, one a line\n"
                 "         (a backslash, newline or carriage return in a path written \\\\, \\n, \\r)\n"},
    {"eval", "  eval   --list LIST [--root DIR] [--res, --merge, --tta, --json]   top-1/top-5 and\n"
             "         per-class accuracy; LIST lines are 'path label' (relative to LIST's folder);\n"
             "         --confusion OUT.svg draws the confusion matrix\n"},
    {"run", "  run    --input X.npy [--output Y.npy] [--top K]   run on an NCHW float32 batch\n"
            "  run    --train --input X.npy --labels L,L,.. --output G.safetensors [--label-smoothing S]\n"
            "         one training step, no update: loss, logits, every gradient by timm name\n"},
    {"bench", "  bench  [--batch N] [--iters K] [--warmup W] [--per-kernel] [--res R] [--json] [--train]\n"
              "         latency and throughput (median); --per-kernel times every fused kernel: the IR\n"
              "         ops it covers, its strategy, ISA and precision, ms, GFLOP/s and share of the FMA\n"
              "         peak (measured);\n"
              "         --train times the training step, and with --per-kernel its time by op, forward\n"
              "         and backward; --overlap (a --target cuda program): runs back to back, each\n"
              "         upload from pinned memory on a copy stream behind the run before\n"},
    {"serve", "  serve  [--host H] [--port P] [--max-batch B] [--max-delay-ms D] [--queue Q] [...]   an Open\n"
              "         Inference Protocol (KServe v2) HTTP server: infer, classify, features, /metrics\n"
              "         (serve --help lists the options)\n"},
    {"info", "  info   [--kernels]   resolutions, batch, arena and weight sizes, the CPU and ISA the kernels\n"
             "         were generated for, each program's kernels by strategy, ISA and precision;\n"
             "         --kernels lists every node's\n"},
    {"train", "  train  --data LIST|DIR --out DIR [...]   train (a program compiled with netc compile\n"
              "         --train; train --help lists the options)\n"},
};

static void usage(FILE *out, const NcBundle *b) {
    fprintf(out, "usage: %s COMMAND [options]   — %s, compiled by netc\n\ncommands:\n", prog,
            b && b->h ? b->h->model : "a model");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) fputs(COMMANDS[i].text, out);
    fprintf(out, "\n"
                 "options for all: --weights FILE (for a model compiled with --weights-external;\n"
                 "default: the executable's path + .weights), --threads N (threads computing the model,\n"
                 "OpenMP's; default: OMP_NUM_THREADS, else one per core), --device emulate|cuda (a program\n"
                 "compiled with --target cuda: its GPU kernels on the GPU, or their CPU lowering in the\n"
                 "emulator; default: as compiled, cuda unless --emulate)\n"
                 "-- ends the options: every argument after it is a file\n"
                 "exit status: 0 success, 1 some image failed or a folder could not be walked (each is\n"
                 "reported; the rest are done; NaN or infinite scores fail that image), 2 bad input\n");
}

/* `PROG COMMAND --help`: that command's lines and the options all commands take; 0 when there was no
 * --help before a "--". */
static int command_help(const char *cmd, int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: %s %s\n", prog, cmd);
            for (size_t k = 0; k < sizeof COMMANDS / sizeof COMMANDS[0]; k++)
                if (!strcmp(COMMANDS[k].name, cmd)) fputs(COMMANDS[k].text, stdout);
            printf("options for all: --weights FILE, --threads N, --device KIND (%s --help says more)\n", prog);
            return 1;
        }
    return 0;
}

static int find_program(const NcBundle *b, int h, int w) {
    for (int i = 0; i < b->nprograms; i++) /* a training step is not one to run on images */
        if (!b->programs[i].train && b->programs[i].h->height == h && b->programs[i].h->width == w) return i;
    return -1;
}

/* Runs `n` images through program p in chunks of its compiled batch (the
 * last chunk padded with zeros). */
static void run_images(const NcBundle *b, int p, const float *x, int64_t n, float *y, void *arena) {
    const NcProgramHeader *h = b->programs[p].h;
    const NcValue *ov = &b->programs[p].vals[h->outputs[0]];
    const int64_t in_per = 3LL * h->height * h->width, out_per = nc_numel(ov) / h->batch;
    float *xb = nc_calloc((size_t)(in_per * h->batch), sizeof(float));
    float *yb = nc_malloc((size_t)(out_per * h->batch) * sizeof(float));
    for (int64_t i = 0; i < n; i += h->batch) {
        int64_t m = n - i < h->batch ? n - i : h->batch;
        memset(xb, 0, (size_t)(in_per * h->batch) * sizeof(float));
        memcpy(xb, x + i * in_per, (size_t)(in_per * m) * sizeof(float));
        nc_bundle_run(b, p, xb, yb, arena);
        memcpy(y + i * out_per, yb, (size_t)(out_per * m) * sizeof(float));
    }
    free(xb);
    free(yb);
}

static int cmd_run(const NcBundle *b, int argc, char **argv, void **arena) {
    const char *in = NULL, *out = NULL;
    int top = 5;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--input"))
            in = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--output"))
            out = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--top"))
            top = atoi(argv[++i]);
        else {
            fprintf(stderr, "%s run: unknown or incomplete option '%s'\n", prog, argv[i]);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "%s run: --input X.npy is required\n", prog);
        return 2;
    }
    NcNpy x;
    NcError e;
    if (nc_npy_read(in, &x, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return 2;
    }
    int p = x.ndim == 4 && x.shape[1] == 3 && x.shape[2] <= 65536 && x.shape[3] <= 65536
                ? find_program(b, (int)x.shape[2], (int)x.shape[3])
                : -1;
    if (p < 0) {
        char s[128];
        fprintf(stderr, "%s: %s: input has shape %s; this program takes [N, 3, H, W] at", prog, in,
                nc_shape_str(x.ndim, x.shape, s, sizeof s));
        for (int i = 0; i < b->nprograms; i++)
            fprintf(stderr, "%s %dx%d", i ? "," : "", b->programs[i].h->height, b->programs[i].h->width);
        fprintf(stderr, "\n");
        nc_npy_free(&x);
        return 2;
    }
    const NcProgramHeader *h = b->programs[p].h;
    if (x.shape[0] > h->batch) {
        fprintf(stderr, "%s: %s: batch %lld is over the compiled maximum of %d\n", prog, in, (long long)x.shape[0],
                h->batch);
        nc_npy_free(&x);
        return 2;
    }
    const NcValue *ov = &b->programs[p].vals[h->outputs[0]];
    int64_t n = x.shape[0], per = nc_numel(ov) / h->batch;
    float *y = nc_malloc((size_t)(n * per) * sizeof(float));
    arena[p] = arena[p] ? arena[p] : nc_aligned_alloc((size_t)h->arena_bytes);
    double t0 = nc_now();
    run_images(b, p, x.data, n, y, arena[p]);
    double dt = nc_now() - t0;
    int rc = 0;
    int64_t shape[2] = {n, per};
    if (out && nc_npy_write_f32(out, 2, shape, y, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        rc = 2;
    }
    nc_print_topk(stdout, y, n, per, top);
    fprintf(stderr, "%lld images at %dx%d in %.3f s\n", (long long)n, h->height, h->width, dt);
    free(y);
    nc_npy_free(&x);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The IR ops a node's kernel covers: the op, "*se" when it scales its input
 * by an SE gate, then its fused epilogue steps ("conv2d*se+add+relu"); a
 * squeeze_excite's one step is its hidden activation, and a batch norm's
 * gradient names the activation whose gradient it took in
 * ("batch_norm_train_grad(silu)", passes/fuse_bn_act_grad.c). */
static void describe_ops(const NcBundleNode *nd, const NcOpInfo *info, char *buf, size_t size) {
    const NcAttrs *a = &nd->attrs;
    size_t n = (size_t)snprintf(buf, size, "%s%s", info->name, a->has_in_scale ? "*se" : "");
    if (nd->op == NC_OP_SQUEEZE_EXCITE && a->nepi == 1) {
        snprintf(buf + n, size - n, "(%s)", nc_epi_name(a->epi[0].kind));
        return;
    }
    if (nd->op == NC_OP_BATCH_NORM_TRAIN_GRAD && nd->ninputs == 6) {
        snprintf(buf + n, size - n, "(%s)", nc_epi_name((NcEpiKind)a->act));
        return;
    }
    for (int k = 0; k < a->nepi && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "+%s", nc_epi_name(a->epi[k].kind));
}

/* The step's inputs after the image: targets (the first class), dloss 1,
 * class weights 1, a fixed dropout seed. */
static const float **step_inputs(const NcProgram *pr, const float *x) {
    const NcTrainHeader *t = pr->train;
    const float **in = nc_calloc(8, sizeof(float *));
    const int64_t nt = nc_numel(&pr->vals[t->target]), K = pr->vals[t->target].shape[1];
    float *target = nc_calloc((size_t)nt, sizeof(float));
    for (int64_t i = 0; i < nt; i += K) target[i] = 1;
    float *ones = nc_malloc((size_t)K * sizeof(float));
    for (int64_t k = 0; k < K; k++) ones[k] = 1;
    static uint32_t seed[2] = {1, 2};
    int k = 0;
    in[k++] = x, in[k++] = target, in[k++] = ones;
    if (t->class_weight >= 0) in[k++] = ones;
    if (t->seed >= 0) in[k++] = (const float *)seed;
    return in;
}

/* The step's time by op, forward and backward apart (the ops after the loss). */
static void train_op_shares(const NcProgram *pr, const double *per_node, int iters, int json) {
    double by_op[NC_OP_COUNT][2] = {{0}}, total = 0;
    int past_loss = 0;
    for (uint32_t i = 0; i < pr->h->nnodes; i++) {
        const int op = pr->nodes[i].op;
        by_op[op][past_loss] += per_node[i];
        total += per_node[i];
        past_loss |= op == NC_OP_CROSS_ENTROPY;
    }
    if (json)
        printf(", \"ops\": [");
    else
        printf("%-24s %-9s %10s %7s\n", "op", "pass", "ms/step", "time");
    int first = 1;
    for (int op = 0; op < NC_OP_COUNT; op++)
        for (int d = 0; d < 2; d++) {
            if (by_op[op][d] <= 0) continue;
            const double ms = 1e3 * by_op[op][d] / iters, share = total > 0 ? by_op[op][d] / total : 0;
            if (json) {
                printf("%s{\"op\": \"%s\", \"pass\": \"%s\", \"ms\": %.4f, \"time_share\": %.5f}", first ? "" : ", ",
                       nc_op_info((NcOpKind)op)->name, d ? "backward" : "forward", ms, share);
                first = 0;
            } else {
                printf("%-24s %-9s %10.3f %6.1f%%\n", nc_op_info((NcOpKind)op)->name, d ? "backward" : "forward", ms,
                       100 * share);
            }
        }
    if (json) printf("]");
}

/* bench --overlap: runs back to back through dev_exec's pipe (the input copied into a slot's pinned memory and
 * uploaded on the copy stream while the run before computes, as classify's batches are); t[i]: the time from
 * one run's end to the next's (the first: from the start), i.e. the time a run adds to a stream of them. */
static int bench_overlap(const NcBundle *b, int p, const float *x, float *y, void *ar, int warmup, int iters,
                         double *t) {
    NcDevPipe *q = nc_dev_pipe_open(b);
    if (!q) return -1;
    const NcProgram *pr = &b->programs[p];
    const size_t in = (size_t)nc_numel(&pr->vals[pr->h->inputs[0]]) * sizeof(float);
    for (int i = 0; i < warmup; i++) { /* the first runs (kernels loaded, the graph captured), one at a time */
        memcpy(nc_dev_pipe_input(q, 0), x, in);
        nc_dev_pipe_submit(q, p, 0);
        nc_dev_pipe_finish(q, p, 0, y, ar);
    }
    double last = nc_now();
    memcpy(nc_dev_pipe_input(q, 0), x, in);
    nc_dev_pipe_submit(q, p, 0);
    for (int i = 0; i < iters; i++) {
        if (i + 1 < iters) {
            memcpy(nc_dev_pipe_input(q, (i + 1) & 1), x, in);
            nc_dev_pipe_submit(q, p, (i + 1) & 1);
        }
        nc_dev_pipe_finish(q, p, i & 1, y, ar);
        const double now = nc_now();
        t[i] = now - last, last = now;
    }
    nc_dev_pipe_close(q);
    return 0;
}

static int cmd_bench(const NcBundle *b, int argc, char **argv, void **arena) {
    int p = 0, iters = 10, warmup = 2, per_kernel = 0, json = 0, train = 0, overlap = 0;
    int64_t n = -1;
    while (p + 1 < b->nprograms && b->programs[p].train) p++; /* the first inference program */
    for (int i = 0; i < argc; i++) {
        NcRes r;
        if (!strcmp(argv[i], "--train")) {
            for (p = 0; p < b->nprograms && !b->programs[p].train; p++) continue;
            if (p == b->nprograms) {
                fprintf(stderr, "%s bench: --train: this program was not compiled with netc compile --train\n", prog);
                return 2;
            }
            train = 1;
        } else if (i + 1 < argc && !strcmp(argv[i], "--batch"))
            n = atoll(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters"))
            iters = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--warmup"))
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--per-kernel"))
            per_kernel = 1;
        else if (!strcmp(argv[i], "--overlap"))
            overlap = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--res") && !nc_parse_res(argv[i + 1], &r, NULL) &&
                 (p = find_program(b, r.h, r.w)) >= 0)
            i++;
        else {
            fprintf(stderr, "%s bench: unknown, incomplete or unavailable option '%s'\n", prog, argv[i]);
            return 2;
        }
    }
    const NcProgram *pr = &b->programs[p];
    const NcProgramHeader *h = pr->h;
    if (n < 0) n = h->batch;
    if (n < 1 || n > h->batch || iters < 1 || warmup < 0) {
        fprintf(stderr, "%s bench: batch must be 1..%d (the compiled maximum), iters >= 1\n", prog, h->batch);
        return 2;
    }
    const int64_t in_n = (int64_t)h->batch * 3 * h->height * h->width;
    float *x = nc_malloc((size_t)in_n * sizeof(float));
    nc_det_fill_input(x, (size_t)in_n);
    float *y = nc_malloc((size_t)nc_numel(&pr->vals[h->outputs[0]]) * sizeof(float));
    void *ar = nc_aligned_alloc((size_t)h->arena_bytes);
    double *t = nc_malloc((size_t)iters * sizeof(double));
    double *per_node = nc_calloc(h->nnodes + 1, sizeof(double));
    const float **ins = train ? step_inputs(pr, x) : NULL;
    if (train) nc_dev_exec_keep_on_device(b); /* a device's step: the loss and gradients stay there */
    if (train && n != h->batch) {
        fprintf(stderr, "%s bench: --train runs the compiled batch (%d)\n", prog, h->batch);
        return 2;
    }
    if (overlap && (train || per_kernel)) {
        fprintf(stderr, "%s bench: --overlap times inference runs (not with --train or --per-kernel)\n", prog);
        return 2;
    }
    if (overlap && bench_overlap(b, p, x, y, ar, warmup, iters, t)) {
        fprintf(stderr,
                "%s bench: --overlap needs a program compiled with --target cuda on a device with streams "
                "(and NETC_DEV_OVERLAP not 0)\n",
                prog);
        return 2;
    }
    for (int i = 0; i < (overlap ? 0 : warmup + iters); i++) {
        double t0 = nc_now();
        double *prof = per_kernel && i >= warmup ? per_node : NULL;
        if (train)
            nc_bundle_run_inputs(b, p, ins, ar, prof);
        else if (prof)
            nc_bundle_run_profiled(b, p, x, y, ar, prof);
        else
            nc_bundle_run(b, p, x, y, ar);
        if (i >= warmup) t[i - warmup] = nc_now() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    double med = t[iters / 2];
    const double peak = per_kernel ? nc_bundle_peak_gflops() : 0;
    if (json) {
        printf("{\"model\": ");
        nc_json_put_str(stdout, b->h->model);
        printf(", \"height\": %d, \"width\": %d, \"batch\": %d, \"images\": %lld, \"threads\": %d, \"runs\": %d, "
               "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"images_per_s\": %.2f",
               h->height, h->width, h->batch, (long long)n, omp_get_max_threads(), iters, 1e3 * med, 1e3 * t[0],
               1e3 * t[iters - 1], n / med);
    } else {
        printf("%s at %dx%d, batch %d (compiled), %lld images requested: median %.3f ms over %d runs "
               "(min %.3f, max %.3f), %.1f images/s\n",
               b->h->model, h->height, h->width, h->batch, (long long)n, 1e3 * med, iters, 1e3 * t[0],
               1e3 * t[iters - 1], n / med);
    }
    if (overlap) {
        if (json)
            printf(", \"overlap\": true");
        else
            printf("(runs back to back, each upload overlapped with the run before: the time each adds)\n");
    }
    if (train) {
        if (json)
            printf(", \"train\": true");
        else
            printf("(the training step: forward, loss and backward; the optimizer update is not included)\n");
        if (per_kernel) train_op_shares(pr, per_node, iters, json);
    }
    if (per_kernel) {
        double total = 0;
        for (uint32_t i = 0; i < h->nnodes; i++) total += per_node[i];
        if (json)
            printf(", \"peak_gflops\": %.2f, \"kernels\": [", peak);
        else {
            if (peak > 0)
                printf("fp32 FMA peak: %.1f GFLOP/s on %d threads (the program's own FMA loop)\n", peak,
                       omp_get_max_threads());
            printf("%-5s %-24s %-20s %-11s %-4s %-30s %8s %6s %8s %6s %s\n", "#", "ops", "kernel", "isa", "prec",
                   "layer", "ms/run", "time", "GFLOP/s", "peak", "act in>out");
        }
        for (uint32_t i = 0; i < h->nnodes; i++) {
            const NcBundleNode *nd = &pr->nodes[i];
            const NcOpInfo *info = nc_op_info((NcOpKind)nd->op);
            double flops = 0;
            if (info->macs) {
                const NcValue *in[NC_MAXIN], *out[NC_MAXOUT];
                for (int j = 0; j < nd->ninputs; j++) in[j] = &pr->vals[nd->inputs[j]];
                for (int j = 0; j < nd->noutputs; j++) out[j] = &pr->vals[nd->outputs[j]];
                flops = 2 * info->macs(in, out, &nd->attrs);
            }
            const double ms = 1e3 * per_node[i] / iters, gf = ms > 0 ? flops / (ms * 1e-3) / 1e9 : 0;
            const double share = total > 0 ? per_node[i] / total : 0;
            char ops[96];
            describe_ops(nd, info, ops, sizeof ops);
            if (json) {
                printf("%s{\"index\": %u, \"ops\": ", i ? ", " : "", i);
                nc_json_put_str(stdout, ops);
                printf(", \"kernel\": ");
                nc_json_put_str(stdout, nc_bundle_kernel_kind(b, p, i));
                printf(", \"isa\": ");
                nc_json_put_str(stdout, nc_bundle_kernel_isa(b, p, i));
                printf(", \"precision\": ");
                nc_json_put_str(stdout, nc_bundle_kernel_precision(b, p, i));
                printf(", \"act\": ");
                nc_json_put_str(stdout, nc_bundle_kernel_act(b, p, i));
                printf(", \"layer\": ");
                nc_json_put_str(stdout, pr->scopes[i]);
                printf(", \"ms\": %.5f, \"time_share\": %.5f, \"gflops\": %.3f", ms, share, gf);
                if (peak > 0 && flops > 0) printf(", \"peak_share\": %.4f", gf / peak);
                printf("}");
                continue;
            }
            char pshare[16] = "-";
            if (peak > 0 && flops > 0) snprintf(pshare, sizeof pshare, "%.0f%%", 100 * gf / peak);
            printf("%-5u %-24.24s %-20.20s %-11.11s %-4.4s %-30.30s %8.3f %5.1f%% %8.2f %6s %s\n", i, ops,
                   nc_bundle_kernel_kind(b, p, i), nc_bundle_kernel_isa(b, p, i), nc_bundle_kernel_precision(b, p, i),
                   pr->scopes[i], ms, 100 * share, gf, pshare, nc_bundle_kernel_act(b, p, i));
        }
        if (json) printf("]");
        int64_t per_run, at_load;
        if (nc_dev_exec_steps(b, p, &per_run, &at_load)) {
            if (json)
                printf(", \"device_steps_per_run\": %lld, \"device_steps_at_load\": %lld", (long long)per_run,
                       (long long)at_load);
            else
                printf("device steps: %lld per run (launches, GEMMs, convs), %lld at load (bf16 weights stored once)\n",
                       (long long)per_run, (long long)at_load);
        }
    }
    if (json) printf("}\n");
    free(t);
    free(per_node);
    free(x);
    free(y);
    free(ar);
    if (ins) free((void *)ins[1]), free((void *)ins[2]), free(ins);
    (void)arena;
    return 0;
}

/* Program p's kernels counted by (strategy, ISA, precision), one line, or
 * (list) one line per node: index, ops, strategy, ISA, precision, layer. */
static void info_kernels(const NcBundle *b, int p, int list) {
    const NcProgram *pr = &b->programs[p];
    if (list) {
        printf("    %-5s %-24s %-20s %-11s %-4s %-9s %s\n", "#", "ops", "kernel", "isa", "prec", "act", "layer");
        for (uint32_t i = 0; i < pr->h->nnodes; i++) {
            char ops[96];
            describe_ops(&pr->nodes[i], nc_op_info((NcOpKind)pr->nodes[i].op), ops, sizeof ops);
            printf("    %-5u %-24.24s %-20.20s %-11.11s %-4.4s %-9s %s\n", i, ops, nc_bundle_kernel_kind(b, p, i),
                   nc_bundle_kernel_isa(b, p, i), nc_bundle_kernel_precision(b, p, i), nc_bundle_kernel_act(b, p, i),
                   pr->scopes[i]);
        }
        return;
    }
    /* intermediates stored bf16 (passes/assign_dtype.c), and their share of the bytes */
    int nbf = 0, nact = 0;
    int64_t bytes_bf = 0, bytes = 0;
    for (uint32_t i = 0; i < pr->h->nvalues; i++) {
        const NcValue *v = &pr->vals[i];
        if (v->kind != NC_VAL_NODE) continue;
        nact++, bytes += nc_act_bytes(v);
        if (v->dtype == NC_BF16) nbf++, bytes_bf += nc_act_bytes(v);
    }
    if (nbf)
        printf("    activations: %d of %d intermediates stored bf16 (%.1f of %.1f MB)\n", nbf, nact, bytes_bf / 1e6,
               bytes / 1e6);
    enum { MAXK = 64 };
    const char *kind[MAXK], *isa[MAXK], *prec[MAXK];
    int count[MAXK], nk = 0;
    for (uint32_t i = 0; i < pr->h->nnodes; i++) {
        const char *k = nc_bundle_kernel_kind(b, p, i), *a = nc_bundle_kernel_isa(b, p, i),
                   *q = nc_bundle_kernel_precision(b, p, i);
        int j = 0;
        while (j < nk && (strcmp(kind[j], k) || strcmp(isa[j], a) || strcmp(prec[j], q))) j++;
        if (j == nk && nk == MAXK) continue;
        if (j == nk) kind[nk] = k, isa[nk] = a, prec[nk] = q, count[nk++] = 0;
        count[j]++;
    }
    printf("    kernels:");
    for (int j = 0; j < nk; j++)
        printf("%s %d %s (%s%s%s)", j ? "," : "", count[j], kind[j], strcmp(isa[j], "-") ? isa[j] : "",
               strcmp(isa[j], "-") ? " " : "", prec[j]);
    printf("\n");
}

static int cmd_info(const NcBundle *b, int argc, char **argv) {
    int list = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kernels"))
            list = 1;
        else {
            fprintf(stderr, "%s info: unknown option '%s' (info [--kernels])\n", prog, argv[i]);
            return 2;
        }
    }
    const NcBundleHeader *bh = b->h;
    const char *dev = nc_dev_exec_describe(b);
    printf("%s: %u model%s, %d classes%s, %d program%s, weights %.1f MB (%s)\n", bh->model, bh->nmembers,
           bh->nmembers > 1 ? "s" : "", bh->nclasses, b->labels ? " (names compiled in)" : "", b->nprograms,
           b->nprograms > 1 ? "s" : "", bh->weights_bytes / 1e6, bh->weights_offset ? "embedded" : "external");
    if (dev) printf("device: %s\n", dev);
    if (bh->nmembers > 1)
        printf("ensemble merge: %s on %s\n", nc_merge_name((NcMergeKind)bh->merge),
               bh->on_probs ? "probabilities" : "logits");
    for (uint32_t m = 0; m < bh->nmembers; m++) {
        const NcBundleMember *mb = &bh->members[m];
        printf("model %u: %s", m + 1, mb->name);
        if (bh->merge == NC_MERGE_WEIGHTED && bh->nmembers > 1) printf(" (weight %g)", mb->weight);
        printf(", %d features; preprocess crop_pct %g, %s, mean (%g, %g, %g), std (%g, %g, %g)\n", mb->nfeatures,
               mb->crop_pct, mb->interp ? "bilinear" : "bicubic", mb->mean[0], mb->mean[1], mb->mean[2], mb->std[0],
               mb->std[1], mb->std[2]);
        for (int i = 0; i < b->nprograms; i++) {
            const NcProgramHeader *h = b->programs[i].h;
            if (h->member != (int32_t)m) continue;
            printf("  %dx%d batch %d: %u kernels, arena %.2f MB%s\n", h->height, h->width, h->batch, h->nnodes,
                   h->arena_bytes / 1e6, b->programs[i].train ? " (the training step)" : "");
            info_kernels(b, i, list);
        }
    }
    /* "CPU ISA WIDTH BLOCKING" (runtime/kernels.h's netc_target) */
    const char *target = nc_bundle_target();
    char cpu[64], isa[16], blocking[16];
    int vw;
    if (target && sscanf(target, "%63s %15s %d %15s", cpu, isa, &vw, blocking) == 4)
        printf("kernels generated for %s: %s, %d-float vectors, register and cache blocks for %s%s\n", cpu, isa, vw,
               blocking, strcmp(isa, blocking) ? " (emulated: NETC_CG_BLOCKING)" : "");
    else
        printf("no generated kernels: every node runs the reference kernels\n");
    return 0;
}

int main(int argc, char **argv) {
    prog = argc > 0 ? argv[0] : "model";
    nc_set_program_name(prog);
    nc_omp_wait_policy(argv); /* OpenMP's wait policy, every command: may restart the program (omp_wait.c) */
    const char *weights = NULL, *device = NULL;
    /* --weights FILE, --device KIND and --threads N apply to every command: taken out here */
    char *skip = nc_calloc((size_t)argc + 1, 1);
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--")) break; /* what follows is files, whatever they are called */
        if (!strcmp(argv[i], "--weights")) weights = argv[i + 1], skip[i] = skip[i + 1] = 1;
        if (!strcmp(argv[i], "--device")) device = argv[i + 1], skip[i] = skip[i + 1] = 1;
        if (strcmp(argv[i], "--threads")) continue;
        char *end;
        const long v = strtol(argv[i + 1], &end, 10);
        if (end == argv[i + 1] || *end || v < 1 || v > 4096) {
            fprintf(stderr, "%s: --threads '%s': expected a positive integer (threads computing the model)\n", prog,
                    argv[i + 1]);
            free(skip);
            return 2;
        }
        omp_set_num_threads((int)v);
        skip[i] = skip[i + 1] = 1;
    }
    char exe_weights[PATH_MAX + 16];
    if (!weights) {
        ssize_t n = readlink("/proc/self/exe", exe_weights, PATH_MAX);
        if (n > 0) {
            exe_weights[n] = 0;
            strcat(exe_weights, ".weights");
            weights = exe_weights;
        }
    }
    NcBundle b;
    NcError e;
    if (nc_bundle_open(netc_bundle, (size_t)(netc_bundle_end - netc_bundle), weights, &b, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        free(skip);
        return 2;
    }
    char **args = nc_malloc((size_t)(argc + 1) * sizeof(char *));
    int nargs = 0;
    for (int i = 0; i < argc; i++)
        if (!skip[i]) args[nargs++] = argv[i];
    free(skip);
    /* a program compiled for a device runs through it (help and info need none, unless asked) */
    int no_run = nargs < 2 || !strcmp(args[1], "info") || !strcmp(args[1], "help");
    for (int i = 1; i < nargs && !no_run && strcmp(args[i], "--"); i++)
        no_run = !strcmp(args[i], "--help") || !strcmp(args[i], "-h");
    int rc = no_run && !device ? nc_dev_exec_attach_tables(&b, prog, &e) : nc_dev_exec_attach(&b, prog, device, &e);
    if (rc) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        free(args);
        nc_bundle_close(&b);
        return rc;
    }
    void *arena[NC_BUNDLE_MAX_PROGRAMS] = {0};
    if (nargs < 2 || !strcmp(args[1], "--help") || !strcmp(args[1], "-h") || !strcmp(args[1], "help")) {
        usage(nargs < 2 ? stderr : stdout, &b);
        rc = nargs < 2 ? 2 : 0;
    } else if (strcmp(args[1], "train") != 0 && strcmp(args[1], "serve") != 0 &&
               command_help(args[1], nargs - 2, args + 2)) {
        rc = 0; /* train and serve have option lists of their own */
    } else if (!strcmp(args[1], "run")) {
        int step = 0;
        for (int i = 2; i < nargs; i++) step |= !strcmp(args[i], "--train");
        rc = step ? cmd_train_run(&b, prog, nargs - 2, args + 2) : cmd_run(&b, nargs - 2, args + 2, arena);
    } else if (!strcmp(args[1], "bench")) {
        rc = cmd_bench(&b, nargs - 2, args + 2, arena);
    } else if (!strcmp(args[1], "classify")) {
        rc = cmd_classify(&b, prog, nargs - 2, args + 2);
    } else if (!strcmp(args[1], "features")) {
        rc = cmd_features(&b, prog, nargs - 2, args + 2);
    } else if (!strcmp(args[1], "eval")) {
        rc = cmd_eval(&b, prog, nargs - 2, args + 2);
    } else if (!strcmp(args[1], "train")) {
        rc = cmd_train(&b, prog, nargs - 2, args + 2);
    } else if (!strcmp(args[1], "serve")) {
        rc = cmd_serve(&b, prog, nargs - 2, args + 2);
    } else if (!strcmp(args[1], "info")) {
        rc = cmd_info(&b, nargs - 2, args + 2);
    } else {
        fprintf(stderr, "%s: unknown command '%s' (--help lists them)\n", prog, args[1]);
        rc = 2;
    }
    for (int i = 0; i < NC_BUNDLE_MAX_PROGRAMS; i++) free(arena[i]);
    free(args);
    nc_dev_exec_detach(&b);
    nc_bundle_close(&b);
    return rc;
}
