/* dev_exec.c — a device program's run: the inputs uploaded, the steps run in
 * order over the device arena (the bundle's planned layout), the output and
 * the pooled features downloaded (a training step: its loss, logits and
 * batch statistics, and its gradients unless train's optimizer runs on the
 * device (dev_optim.h), each where the CPU program leaves it in the host
 * arena). */
#include "runtime/program/dev_exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/ops.h"
#include "runtime/device/dev_conv_tactic.h"
#include "runtime/device/dev_step.h"

/* Present when the program was linked with codegen/cuda's object (dev_program.h). */
extern const NcDevKernel netc_dev_kernels[] __attribute__((weak));
extern const int32_t netc_dev_nkernels __attribute__((weak));
extern const NcDevProgram netc_dev_programs[] __attribute__((weak));
extern const int32_t netc_dev_nprograms __attribute__((weak));
extern const char netc_dev_default[] __attribute__((weak));
extern const char netc_dev_arch[] __attribute__((weak));
extern const float netc_dev_consts[] __attribute__((weak));
extern const int64_t netc_dev_nconsts __attribute__((weak));

typedef struct DevProg {
    void *arena, *scratch, *input; /* device memory, made at the program's first run */
    void *stored;                  /* the init steps' copies (an inference program's bf16 weights) */
    float **init_params;           /* per init step, NC_DEV_MAXPARAMS device addresses */
    int64_t in_off[9];             /* input i's bytes at input + in_off[i] .. in_off[i + 1] */
    float **params;                /* per step, NC_DEV_MAXPARAMS device addresses */
    const char **kind;             /* per node: the strategy of its steps ("view": none) */
    void *graph;                   /* the steps captured as one graph (at the second run), or NULL */
    int64_t runs;
    int64_t issued, init_issued; /* steps the last run issued (0: a graph replayed); init steps so far */
    int32_t *form; /* per conv with two forms, the one that runs (dev_conv_tactic.h), chosen at the first run */
} DevProg;

typedef struct DevExec {
    NcDevice *dev;
    void *weights, *consts; /* device copies, uploaded once */
    DevProg prog[NC_BUNDLE_MAX_PROGRAMS];
    NcBundleExec exec;
    char describe[320];
    struct DevExec *shadow; /* NETC_DEV_BISECT: the same steps in the emulator, compared after each node */
    double bisect_tol;
    int keep_on_device;    /* bench: no download of a training step's arena */
    int keep_grads;        /* train with the optimizer on the device: a step downloads no gradients */
    int graphs;            /* the device replays captured graphs (NETC_NO_GRAPHS=1: each step issued, every run) */
    int is_shadow;         /* NETC_DEV_BISECT's emulator: runs the steps the device runs, chooses nothing */
    const char *kind_name; /* "cuda" or "emulate" */
    int bisect_bad, bisect_nodes;
} DevExec;

int nc_dev_exec_compiled(void) { return netc_dev_programs != NULL && &netc_dev_nprograms != NULL; }

static const char *who = "program"; /* for messages: the program's name */

/* A device failing mid-run (a launch, a copy): the run cannot go on. */
static void fail(const char *what, const NcError *e) {
    fprintf(stderr, "%s: device error in %s: %s\n", who, what, e->msg);
    exit(NC_EXIT_FAIL);
}

static char *resolve(const DevExec *x, const NcBundle *b, int p, const NcDevRef *r) {
    const DevProg *dp = &x->prog[p];
    if (r->space == NC_DEV_REF_SCRATCH) return (char *)dp->scratch + r->offset;
    if (r->space == NC_DEV_REF_CONST) return (char *)x->consts + r->offset;
    if (r->space == NC_DEV_REF_STORED) return (char *)dp->stored + r->offset;
    const NcProgram *pr = &b->programs[p];
    if (r->value < 0 || (uint32_t)r->value >= pr->h->nvalues) {
        fprintf(stderr, "%s: internal error: a device step names value %d of %u\n", who, r->value, pr->h->nvalues);
        exit(NC_EXIT_FAIL);
    }
    const NcBundleValue *v = &pr->values[r->value];
    if (v->kind == NC_VAL_NODE) return (char *)dp->arena + v->offset + r->offset;
    if (v->kind == NC_VAL_PARAM) return (char *)x->weights + v->offset + r->offset;
    for (uint32_t i = 0; i < pr->h->ninputs; i++)
        if (pr->h->inputs[i] == r->value) return (char *)dp->input + dp->in_off[i] + r->offset;
    fprintf(stderr, "%s: internal error: a device step names value %d, not an input\n", who, r->value);
    exit(NC_EXIT_FAIL);
}

/* Each node's strategy, from the steps (no device needed). */
static void prepare_kinds(DevExec *x, const NcBundle *b, int p) {
    DevProg *dp = &x->prog[p];
    if (dp->kind) return;
    const NcProgramHeader *h = b->programs[p].h;
    const NcDevProgram *dv = &netc_dev_programs[p];
    dp->kind = nc_calloc(h->nnodes + 1, sizeof(char *));
    for (uint32_t n = 0; n < h->nnodes; n++) dp->kind[n] = "view";
    for (int64_t s = dv->nsteps - 1; s >= 0; s--)
        if (dv->steps[s].node >= 0 && (uint32_t)dv->steps[s].node < h->nnodes)
            dp->kind[dv->steps[s].node] = dv->steps[s].what;
}

/* Does step st run (a step of a conv's form that was not chosen does not)? */
static int step_runs(const DevProg *dp, const NcDevStep *st) {
    return st->tactic < 1 || (dp->form && dp->form[st->tactic - 1] == st->form) || (!dp->form && !st->form);
}

/* The conv tactic cache beside the program (NETC_CONV_TACTIC_CACHE names another file). */
static char *tactic_cache_path(void) {
    const char *env = getenv("NETC_CONV_TACTIC_CACHE");
    if (env && *env) return nc_strdup(env);
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
    if (n <= 0) return NULL;
    exe[n] = 0;
    return nc_sprintf("%s.tactics", exe);
}

/* Each conv's form (cuDNN's or netc's kernels), timed on the device or read from the cache; the strategy
 * names of the convs that run as cuDNN's follow. */
static void choose_tactics(DevExec *x, int p) {
    DevProg *dp = &x->prog[p];
    const NcDevProgram *dv = &netc_dev_programs[p];
    const int32_t n = nc_dev_conv_tactic_count(dv);
    dp->form = nc_calloc((size_t)n + 1, sizeof(int32_t));
    if (!n || x->is_shadow) return;
    char *cache = tactic_cache_path();
    const NcDevTactics t = {.dev = x->dev,
                            .prog = dv,
                            .index = p,
                            .kernels = netc_dev_kernels,
                            .params = dp->params,
                            .cache = cache,
                            .default_mode = strcmp(x->kind_name, "cuda") ? "gemm" : "auto",
                            .who = who};
    NcError e;
    if (nc_dev_conv_tactics_choose(&t, dp->form, &e)) {
        fprintf(stderr, "%s: %s\n", who, e.msg);
        exit(NC_EXIT_FAIL);
    }
    free(cache);
    for (int64_t s = 0; s < dv->nsteps; s++)
        if (dv->steps[s].tactic > 0 && step_runs(dp, &dv->steps[s])) dp->kind[dv->steps[s].node] = dv->steps[s].what;
}

/* Program p's init steps (dev_program.h): its stored copies made from the
 * weights on the device, at its first run and whenever the weights are
 * uploaded again — never inside a run, so never inside a captured graph. */
static int run_init(DevExec *x, int p, NcError *e) {
    DevProg *dp = &x->prog[p];
    const NcDevProgram *dv = &netc_dev_programs[p];
    if (!dp->init_params) return 0;
    for (int64_t s = 0; s < dv->ninit; s++)
        if (nc_dev_step_issue(x->dev, &dv->init[s], netc_dev_kernels, &dp->init_params[s * NC_DEV_MAXPARAMS], e))
            return -1;
    dp->init_issued += dv->ninit;
    return dv->ninit ? nc_dev_sync(x->dev, e) : 0;
}

/* Device memory and resolved step operands for program p, at its first run. */
static void prepare(DevExec *x, const NcBundle *b, int p) {
    DevProg *dp = &x->prog[p];
    if (dp->params) return;
    if (!x->dev) {
        fprintf(stderr, "%s: internal error: a run without a device\n", who);
        exit(NC_EXIT_FAIL);
    }
    const NcProgramHeader *h = b->programs[p].h;
    const NcDevProgram *dv = &netc_dev_programs[p];
    NcError e;
    /* the inputs (image, and a training step's targets, dloss, seed: 4-byte elements) one after another */
    for (uint32_t i = 0; i < h->ninputs; i++)
        dp->in_off[i + 1] = dp->in_off[i] + (nc_numel(&b->programs[p].vals[h->inputs[i]]) * 4 + 255) / 256 * 256;
    if (nc_dev_alloc(x->dev, &dp->arena, (size_t)h->arena_bytes, &e) ||
        nc_dev_alloc(x->dev, &dp->scratch, (size_t)dv->scratch_bytes, &e) ||
        nc_dev_alloc(x->dev, &dp->input, (size_t)dp->in_off[h->ninputs], &e) ||
        nc_dev_alloc(x->dev, &dp->stored, (size_t)dv->stored_bytes, &e))
        fail("allocating the arena", &e);
    dp->init_params = nc_calloc((size_t)dv->ninit * NC_DEV_MAXPARAMS + 1, sizeof(float *));
    for (int64_t s = 0; s < dv->ninit; s++)
        for (int j = 0; j < dv->init[s].nparams; j++)
            dp->init_params[s * NC_DEV_MAXPARAMS + j] = (float *)resolve(x, b, p, &dv->init[s].ref[j]);
    if (run_init(x, p, &e)) fail("converting the weights", &e);
    dp->params = nc_calloc((size_t)dv->nsteps * NC_DEV_MAXPARAMS + 1, sizeof(float *));
    for (int64_t s = 0; s < dv->nsteps; s++)
        for (int j = 0; j < dv->steps[s].nparams; j++)
            dp->params[s * NC_DEV_MAXPARAMS + j] = (float *)resolve(x, b, p, &dv->steps[s].ref[j]);
    prepare_kinds(x, b, p);
    choose_tactics(x, p);
}

/* Value v of program p (an intermediate in the arena) from the device into the host arena at its offset;
 * -1 (absent) and parameters (the host's copy is the truth) are skipped. */
static int download_value(DevExec *x, const NcProgram *pr, int p, void *arena, int32_t v, NcError *e) {
    if (v < 0 || (uint32_t)v >= pr->h->nvalues || pr->values[v].kind != NC_VAL_NODE) return 0;
    const int64_t off = pr->values[v].offset;
    return nc_dev_download(x->dev, (char *)arena + off, (char *)x->prog[p].arena + off,
                           (size_t)nc_numel(&pr->vals[v]) * 4, e);
}

/* NETC_DEV_BISECT=TOL: every step also runs in the emulator (the kernels' CPU
 * lowering, cuBLAS replaced by the plain GEMM); after the last step of each
 * node, the node's outputs are downloaded from both and compared (max |gpu -
 * emulator| / max |emulator|).  A node over TOL is reported and the GPU's copy
 * overwritten with the emulator's, so that every kernel that goes wrong is
 * found in one run rather than only the first.  A debugging aid for a GPU. */
static void bisect_step(DevExec *x, const NcBundle *b, int p, int64_t s) {
    DevExec *sh = x->shadow;
    const NcDevProgram *dv = &netc_dev_programs[p];
    const NcDevStep *st = &dv->steps[s];
    NcError e;
    float *const *a = &sh->prog[p].params[s * NC_DEV_MAXPARAMS];
    if (nc_dev_step_issue(sh->dev, st, netc_dev_kernels, a, &e)) fail("the emulator's step", &e);
    for (int64_t q = s + 1; q < dv->nsteps && dv->steps[q].node == st->node; q++)
        if (step_runs(&x->prog[p], &dv->steps[q])) return; /* the node's last step compares */
    if (st->node < 0 || (uint32_t)st->node >= b->programs[p].h->nnodes) return;
    const NcProgram *pr = &b->programs[p];
    const NcBundleNode *nd = &pr->nodes[st->node];
    if (nc_dev_sync(x->dev, &e)) fail(st->what, &e);
    for (int o = 0; o < nd->noutputs; o++) {
        const int32_t v = nd->outputs[o];
        if (v < 0 || (uint32_t)v >= pr->h->nvalues || pr->values[v].kind != NC_VAL_NODE) continue;
        const size_t n = (size_t)nc_numel(&pr->vals[v]);
        float *g = nc_malloc(n * 4 + 4), *r = nc_malloc(n * 4 + 4);
        char *gd = (char *)x->prog[p].arena + pr->values[v].offset;
        char *rd = (char *)sh->prog[p].arena + pr->values[v].offset;
        if (nc_dev_download(x->dev, g, gd, n * 4, &e) || nc_dev_download(sh->dev, r, rd, n * 4, &e))
            fail("downloading for NETC_DEV_BISECT", &e);
        double diff = 0, mag = 0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            const double d = fabs((double)g[i] - r[i]);
            if (d > diff || (isnan(d) && !isnan(diff))) diff = d, at = i;
            if (fabs(r[i]) > mag) mag = fabs(r[i]);
        }
        const double rel = diff / (mag > 1e-30 ? mag : 1e-30);
        x->bisect_nodes++;
        if (!(rel <= x->bisect_tol)) {
            x->bisect_bad++;
            if (x->bisect_bad <= 60)
                fprintf(
                    stderr,
                    "%s: NETC_DEV_BISECT: node %d (%s, %s, step %lld '%s', kernel %s) output %d: max |gpu - emulator| "
                    "%.3g / max |emulator| %.3g = %.3g at %zu of %zu (gpu %g, emulator %g)\n",
                    who, st->node, nc_op_info((NcOpKind)nd->op)->name, pr->scopes[st->node], (long long)s, st->what,
                    st->kind == NC_DEV_STEP_GEMM   ? (st->gemm.epilogue ? "cuBLAS(Lt)" : "cuBLAS")
                    : st->kind == NC_DEV_STEP_CONV ? "cuDNN"
                                                   : netc_dev_kernels[st->kernel].name,
                    o, diff, mag, rel, at, n, g[at], r[at]);
            if (nc_dev_upload(x->dev, gd, r, n * 4, &e)) fail("NETC_DEV_BISECT's repair", &e);
        }
        free(g), free(r);
    }
}

/* Program p's steps on the compute stream, its inputs in place: the first run
 * issues each step (kernels load, cuBLAS starts); the second captures them as
 * a graph, and every run after replays it: one submission instead of one per
 * kernel.  Profiles and bisection issue each step, every run.  Returns with
 * the work issued, not finished. */
static void compute(DevExec *x, const NcBundle *b, int p, double *per_node) {
    DevProg *dp = &x->prog[p];
    const NcDevProgram *dv = &netc_dev_programs[p];
    DevExec *sh = x->shadow;
    NcError e;
    const int use_graph = x->graphs && !per_node && !sh;
    dp->issued = 0;
    if (use_graph && dp->graph) {
        if (nc_dev_graph_launch(x->dev, dp->graph, &e)) fail("launching the graph", &e);
    } else {
        const int capture = use_graph && dp->runs > 0;
        if (capture && nc_dev_graph_begin(x->dev, &e)) fail("capturing the graph", &e);
        for (int64_t s = 0; s < dv->nsteps; s++) {
            const NcDevStep *st = &dv->steps[s];
            if (!step_runs(dp, st)) continue; /* the other form of a conv */
            float *const *a = &dp->params[s * NC_DEV_MAXPARAMS];
            const double t0 = per_node ? nc_now() : 0;
            if (nc_dev_step_issue(x->dev, st, netc_dev_kernels, a, &e)) fail(st->what, &e);
            dp->issued++;
            if (per_node) { /* each kernel timed alone: the device finishes it first */
                if (nc_dev_sync(x->dev, &e)) fail(st->what, &e);
                per_node[st->node] += nc_now() - t0;
            }
            if (sh) bisect_step(x, b, p, s);
        }
        if (capture && (nc_dev_graph_end(x->dev, &dp->graph, &e) || nc_dev_graph_launch(x->dev, dp->graph, &e)))
            fail("capturing the graph", &e);
    }
    dp->runs++;
    if (sh)
        fprintf(stderr, "%s: NETC_DEV_BISECT: %d of %d nodes differ from the emulator by more than %g\n", who,
                x->bisect_bad, x->bisect_nodes, x->bisect_tol);
}

static void collect(DevExec *x, const NcBundle *b, int p, float *output, void *arena);

static void run(void *ctx, const NcBundle *b, int p, const float *const *inputs, float *output, void *arena,
                double *per_node) {
    DevExec *x = ctx;
    prepare(x, b, p);
    DevProg *dp = &x->prog[p];
    const NcProgram *pr = &b->programs[p];
    const NcProgramHeader *h = pr->h;
    NcError e;
    for (uint32_t i = 0; i < h->ninputs; i++)
        if (nc_dev_upload(x->dev, (char *)dp->input + dp->in_off[i], inputs[i],
                          (size_t)nc_numel(&pr->vals[h->inputs[i]]) * 4, &e))
            fail("uploading the inputs", &e);
    DevExec *sh = x->shadow;
    if (sh) {
        prepare(sh, b, p);
        for (uint32_t i = 0; i < h->ninputs; i++)
            if (nc_dev_upload(sh->dev, (char *)sh->prog[p].input + sh->prog[p].in_off[i], inputs[i],
                              (size_t)nc_numel(&pr->vals[h->inputs[i]]) * 4, &e))
                fail("uploading the inputs to the emulator", &e);
    }
    compute(x, b, p, per_node);
    collect(x, b, p, output, arena);
}

/* After a run's steps were issued: wait for them and download what the run gives (run()'s tail). */
static void collect(DevExec *x, const NcBundle *b, int p, float *output, void *arena) {
    DevProg *dp = &x->prog[p];
    const NcProgram *pr = &b->programs[p];
    const NcProgramHeader *h = pr->h;
    NcError e;
    if (nc_dev_sync(x->dev, &e)) fail("finishing the run", &e);
    const NcBundleValue *ov = &pr->values[h->outputs[0]];
    if (output && nc_dev_download(x->dev, output, (char *)dp->arena + ov->offset,
                                  (size_t)nc_numel(&pr->vals[h->outputs[0]]) * 4, &e))
        fail("downloading the output", &e);
    if (arena && pr->train && !x->keep_on_device) { /* a training step: its loss, logits, gradients, batch statistics */
        const NcTrainHeader *t = pr->train;
        if (download_value(x, pr, p, arena, t->loss, &e) || download_value(x, pr, p, arena, t->logits, &e))
            fail("downloading the step", &e);
        for (uint32_t i = 0; i < t->nparams && !x->keep_grads; i++)
            if (download_value(x, pr, p, arena, pr->tparams[i].grad, &e)) fail("downloading the gradients", &e);
        for (uint32_t i = 0; i < t->nbn; i++)
            if (download_value(x, pr, p, arena, pr->tbns[i].batch_mean, &e) ||
                download_value(x, pr, p, arena, pr->tbns[i].batch_var, &e))
                fail("downloading the batch statistics", &e);
    } else if (arena) {
        /* the output where the CPU program leaves it too: train's validation reads the logits from the arena */
        if (!output && download_value(x, pr, p, arena, h->outputs[0], &e)) fail("downloading the output", &e);
        if (h->features < 0) return;
        const NcBundleValue *fv = &pr->values[h->features];
        if (nc_dev_download(x->dev, (char *)arena + fv->offset, (char *)dp->arena + fv->offset,
                            (size_t)nc_numel(&pr->vals[h->features]) * 4, &e))
            fail("downloading the features", &e);
    }
}

static const char *kind(void *ctx, const NcBundle *b, int p, uint32_t node) {
    DevExec *x = ctx;
    prepare_kinds(x, b, p);
    return x->prog[p].kind[node];
}

/* "PTX and cubins for sm_90" (assembled when compiled: no JIT at the first run on such a GPU), or PTX alone. */
static void gpu_code(char *buf, size_t n) {
    int32_t with = 0, all = netc_dev_nkernels;
    for (int32_t k = 0; k < all; k++) with += netc_dev_kernels[k].cubin != NULL;
    if (with == all)
        snprintf(buf, n, "PTX and cubins for %s", netc_dev_arch);
    else if (!with)
        snprintf(buf, n, "PTX for %s, no cubins", netc_dev_arch);
    else
        snprintf(buf, n, "PTX for %s, cubins for %d of %d kernels", netc_dev_arch, (int)with, (int)all);
}

static int attach(NcBundle *b, const char *prog, const char *device, int tables_only, NcError *e) {
    who = prog;
    if (!nc_dev_exec_compiled()) {
        if (!device) return 0;
        nc_errorf(e, "--device %s: this program runs on the CPU (compile it with netc compile --target cuda)", device);
        return NC_EXIT_BADINPUT;
    }
    const char *kind_name = device ? device : netc_dev_default;
    if (strcmp(kind_name, "emulate") && strcmp(kind_name, "cuda")) {
        nc_errorf(e, "--device '%s': expected emulate (the CPU emulator) or cuda (the GPU)", kind_name);
        return NC_EXIT_BADINPUT;
    }
    if (netc_dev_nprograms != b->nprograms) {
        nc_errorf(e, "the device steps are for %d programs, the bundle has %d", netc_dev_nprograms, b->nprograms);
        return NC_EXIT_BADINPUT;
    }
    for (int p = 0; p < b->nprograms; p++)
        if (b->programs[p].h->ninputs > 8) {
            nc_errorf(e, "program %d has %u inputs: at most 8", p, b->programs[p].h->ninputs);
            return NC_EXIT_BADINPUT;
        }
    DevExec *x = nc_calloc(1, sizeof *x);
    char code[96];
    gpu_code(code, sizeof code);
    if (tables_only) { /* info: what runs where, without a device */
        snprintf(x->describe, sizeof x->describe,
                 "GPU kernels (%s, and their CPU lowering for --device emulate); opens %s by default", code,
                 netc_dev_default);
        x->exec = (NcBundleExec){.ctx = x, .run = run, .kind = kind};
        b->exec = &x->exec;
        return 0;
    }
    if (!(x->dev = nc_dev_open(kind_name, e))) {
        free(x);
        if (!strcmp(kind_name, "cuda") && !device) { /* say how to run the program anyway */
            NcError why = *e;
            nc_errorf(e, "%s (this program: --device emulate runs its GPU kernels' CPU lowering)", why.msg);
        }
        return NC_EXIT_FAIL;
    }
    const size_t nconsts = (size_t)(netc_dev_nconsts > 0 ? netc_dev_nconsts : 1);
    if (nc_dev_alloc(x->dev, &x->weights, (size_t)b->h->weights_bytes, e) ||
        nc_dev_upload(x->dev, x->weights, b->weights, (size_t)b->h->weights_bytes, e) ||
        nc_dev_alloc(x->dev, &x->consts, nconsts * sizeof(float), e) ||
        nc_dev_upload(x->dev, x->consts, netc_dev_consts, nconsts * sizeof(float), e)) {
        nc_error_prefix(e, "uploading the weights to %s", nc_dev_name(x->dev));
        nc_dev_close(x->dev);
        free(x);
        return NC_EXIT_FAIL;
    }
    const char *bisect = getenv("NETC_DEV_BISECT");
    if (bisect && *bisect && strcmp(kind_name, "emulate")) { /* the same program in the emulator beside it */
        const NcBundleExec *mine = b->exec;
        if (attach(b, prog, "emulate", 0, e)) {
            nc_dev_close(x->dev);
            free(x);
            return NC_EXIT_FAIL;
        }
        x->shadow = b->exec->ctx;
        x->shadow->is_shadow = 1;
        b->exec = mine;
        x->bisect_tol = atof(bisect) > 0 ? atof(bisect) : 1e-4;
    }
    x->kind_name = kind_name;
    nc_dev_exec_register_conv_reference();
    const char *no_graphs = getenv("NETC_NO_GRAPHS");
    x->graphs = nc_dev_has_graphs(x->dev) && !(no_graphs && *no_graphs && strcmp(no_graphs, "0"));
    snprintf(x->describe, sizeof x->describe, "%s (%s), running on %s (--device %s)",
             strcmp(kind_name, "cuda") ? "emulated GPU" : "GPU", code, nc_dev_name(x->dev), kind_name);
    x->exec = (NcBundleExec){.ctx = x, .run = run, .kind = kind};
    b->exec = &x->exec;
    return 0;
}

int nc_dev_exec_attach(NcBundle *b, const char *prog, const char *device, NcError *e) {
    return attach(b, prog, device, 0, e);
}

int nc_dev_exec_attach_tables(NcBundle *b, const char *prog, NcError *e) { return attach(b, prog, NULL, 1, e); }

void nc_dev_exec_detach(NcBundle *b) {
    if (!b->exec) return;
    DevExec *x = b->exec->ctx;
    for (int p = 0; p < NC_BUNDLE_MAX_PROGRAMS && x->dev; p++) {
        DevProg *dp = &x->prog[p];
        nc_dev_free(x->dev, dp->arena);
        nc_dev_free(x->dev, dp->scratch);
        nc_dev_free(x->dev, dp->input);
        nc_dev_free(x->dev, dp->stored);
        nc_dev_graph_free(x->dev, dp->graph);
        free(dp->params);
        free(dp->init_params);
        free(dp->form);
    }
    for (int p = 0; p < NC_BUNDLE_MAX_PROGRAMS; p++) free(x->prog[p].kind);
    if (x->dev) {
        nc_dev_free(x->dev, x->weights);
        nc_dev_free(x->dev, x->consts);
        nc_dev_close(x->dev);
    }
    free(x);
    b->exec = NULL;
}

int nc_dev_exec_upload_weights(const NcBundle *b, NcError *e) {
    if (!b->exec || b->exec->run != run) return 0;
    DevExec *x = b->exec->ctx;
    if (!x->dev) return 0;
    if (nc_dev_upload(x->dev, x->weights, b->weights, (size_t)b->h->weights_bytes, e)) return -1;
    for (int p = 0; p < b->nprograms; p++) /* the stored copies follow the weights */
        if (run_init(x, p, e)) return -1;
    return 0;
}

void nc_dev_exec_keep_on_device(const NcBundle *b) {
    if (b->exec && b->exec->run == run) ((DevExec *)b->exec->ctx)->keep_on_device = 1;
}

const char *nc_dev_exec_describe(const NcBundle *b) {
    static char s[160];
    if (b->exec) return ((DevExec *)b->exec->ctx)->describe;
    if (!nc_dev_exec_compiled()) return NULL;
    snprintf(s, sizeof s, "GPU kernels (PTX for %s, and their CPU lowering for --device emulate); opens %s by default",
             netc_dev_arch, netc_dev_default);
    return s;
}

NcDevice *nc_dev_exec_device(const NcBundle *b) {
    return b->exec && b->exec->run == run ? ((DevExec *)b->exec->ctx)->dev : NULL;
}

void *nc_dev_exec_value(const NcBundle *b, int p, int32_t v) {
    DevExec *x = b->exec->ctx;
    prepare(x, b, p);
    const NcDevRef r = {NC_DEV_REF_VALUE, v, 0};
    return resolve(x, b, p, &r);
}

const NcDevKernel *nc_dev_exec_kernel(const char *name) {
    for (int32_t k = 0; nc_dev_exec_compiled() && k < netc_dev_nkernels; k++)
        if (!strcmp(netc_dev_kernels[k].name, name)) return &netc_dev_kernels[k];
    return NULL;
}

void nc_dev_exec_keep_grads(const NcBundle *b) {
    if (b->exec && b->exec->run == run) ((DevExec *)b->exec->ctx)->keep_grads = 1;
}

int nc_dev_exec_steps(const NcBundle *b, int p, int64_t *per_run, int64_t *at_load) {
    if (!b->exec || b->exec->run != run) return 0;
    const DevProg *dp = &((DevExec *)b->exec->ctx)->prog[p];
    *per_run = dp->issued, *at_load = dp->init_issued;
    return 1;
}

/* Overlapped runs (dev_exec.h): two slots, each a pinned input and output on the host, a staging buffer on
 * the device and three events.  A run's input goes up on the copy stream into its slot's staging buffer; the
 * compute stream waits for that upload, copies the staging buffer into the program's input (on the device:
 * so that the next upload never writes what the running graph reads) and runs the program (its graph); its
 * output and features come down on the compute stream, behind the run, into the slot's pinned output. */
struct NcDevPipe {
    DevExec *x;
    const NcBundle *b;
    size_t out_bytes;
    float *host_in[2], *host_out[2];
    void *stage[2];
    void *up[2], *used[2], *done[2]; /* upload finished; staging buffer copied; output downloaded */
};

/* Where the pipes (NcDevPipe, NcDevTrainPipe) apply: the bundle's exec is this file's, on a device, with no
 * NETC_DEV_BISECT shadow to compare after each node, the device has streams, and NETC_DEV_OVERLAP is not 0.
 * That exec, else NULL (the runs go one at a time). */
static DevExec *overlap_exec(const NcBundle *b) {
    if (!b->exec || b->exec->run != run) return NULL;
    DevExec *x = b->exec->ctx;
    const char *env = getenv("NETC_DEV_OVERLAP");
    if (!x->dev || x->shadow || !nc_dev_has_streams(x->dev) || (env && !strcmp(env, "0"))) return NULL;
    return x;
}

NcDevPipe *nc_dev_pipe_open(const NcBundle *b) {
    DevExec *x = overlap_exec(b);
    if (!x) return NULL;
    size_t in_bytes = 0, out_bytes = 0;
    for (int p = 0; p < b->nprograms; p++) {
        const NcProgram *pr = &b->programs[p];
        if (pr->train || pr->h->ninputs != 1) continue;
        const size_t in = (size_t)nc_numel(&pr->vals[pr->h->inputs[0]]) * 4;
        size_t out = (size_t)nc_numel(&pr->vals[pr->h->outputs[0]]) * 4;
        if (pr->h->features >= 0) out += (size_t)nc_numel(&pr->vals[pr->h->features]) * 4;
        in_bytes = in > in_bytes ? in : in_bytes, out_bytes = out > out_bytes ? out : out_bytes;
    }
    if (!in_bytes) return NULL;
    NcDevPipe *q = nc_calloc(1, sizeof *q);
    q->x = x, q->b = b, q->out_bytes = out_bytes;
    NcError e;
    for (int s = 0; s < 2; s++)
        if (nc_dev_host_alloc(x->dev, (void **)&q->host_in[s], in_bytes, &e) ||
            nc_dev_host_alloc(x->dev, (void **)&q->host_out[s], out_bytes, &e) ||
            nc_dev_alloc(x->dev, &q->stage[s], in_bytes, &e) || nc_dev_event_create(x->dev, &q->up[s], &e) ||
            nc_dev_event_create(x->dev, &q->used[s], &e) || nc_dev_event_create(x->dev, &q->done[s], &e))
            fail("setting up the overlapped runs (NETC_DEV_OVERLAP=0 runs without)", &e);
    return q;
}

void nc_dev_pipe_close(NcDevPipe *q) {
    if (!q) return;
    NcDevice *d = q->x->dev;
    NcError e;
    if (nc_dev_sync(d, &e)) fail("finishing the overlapped runs", &e);
    for (int s = 0; s < 2; s++) {
        nc_dev_host_free(d, q->host_in[s]), nc_dev_host_free(d, q->host_out[s]);
        nc_dev_free(d, q->stage[s]);
        nc_dev_event_free(d, q->up[s]), nc_dev_event_free(d, q->used[s]), nc_dev_event_free(d, q->done[s]);
    }
    free(q);
}

float *nc_dev_pipe_input(NcDevPipe *q, int slot) {
    NcError e;
    if (nc_dev_event_sync(q->x->dev, q->up[slot], &e)) fail("waiting for an upload", &e);
    return q->host_in[slot];
}

void nc_dev_pipe_submit(NcDevPipe *q, int p, int slot) {
    DevExec *x = q->x;
    const NcBundle *b = q->b;
    prepare(x, b, p);
    DevProg *dp = &x->prog[p];
    const NcProgram *pr = &b->programs[p];
    const NcProgramHeader *h = pr->h;
    NcDevice *d = x->dev;
    NcError e;
    const size_t in = (size_t)nc_numel(&pr->vals[h->inputs[0]]) * 4;
    if (h->ninputs != 1) fail("an overlapped run", (nc_errorf(&e, "a program of %u inputs", h->ninputs), &e));
    if (nc_dev_stream_wait(d, NC_DEV_COPY, q->used[slot], &e) ||
        nc_dev_copy_async(d, NC_DEV_COPY, NC_DEV_H2D, q->stage[slot], q->host_in[slot], in, &e) ||
        nc_dev_event_record(d, q->up[slot], NC_DEV_COPY, &e) ||
        nc_dev_stream_wait(d, NC_DEV_COMPUTE, q->up[slot], &e) ||
        nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_D2D, dp->input, q->stage[slot], in, &e) ||
        nc_dev_event_record(d, q->used[slot], NC_DEV_COMPUTE, &e))
        fail("uploading the inputs", &e);
    compute(x, b, p, NULL);
    const size_t out = (size_t)nc_numel(&pr->vals[h->outputs[0]]) * 4;
    const char *arena = dp->arena;
    if (nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_D2H, q->host_out[slot], arena + pr->values[h->outputs[0]].offset,
                          out, &e) ||
        (h->features >= 0 &&
         nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_D2H, (char *)q->host_out[slot] + out,
                           arena + pr->values[h->features].offset, (size_t)nc_numel(&pr->vals[h->features]) * 4, &e)) ||
        nc_dev_event_record(d, q->done[slot], NC_DEV_COMPUTE, &e))
        fail("downloading the output", &e);
}

void nc_dev_pipe_finish(NcDevPipe *q, int p, int slot, float *output, void *arena) {
    const NcProgram *pr = &q->b->programs[p];
    const NcProgramHeader *h = pr->h;
    NcError e;
    if (nc_dev_event_sync(q->x->dev, q->done[slot], &e)) fail("finishing the run", &e);
    const size_t out = (size_t)nc_numel(&pr->vals[h->outputs[0]]) * 4;
    if (output) memcpy(output, q->host_out[slot], out);
    if (arena && !output) memcpy((char *)arena + pr->values[h->outputs[0]].offset, q->host_out[slot], out);
    if (arena && h->features >= 0)
        memcpy((char *)arena + pr->values[h->features].offset, (char *)q->host_out[slot] + out,
               (size_t)nc_numel(&pr->vals[h->features]) * 4);
}

/* The training step's feed (dev_exec.h): two slots, each a pinned copy of input 0 on the host, a staging buffer
 * on the device and two events, as NcDevPipe's inputs; the other inputs (targets, seed) are small and go up
 * synchronously when the step is submitted. */
struct NcDevTrainPipe {
    DevExec *x;
    const NcBundle *b;
    int p;
    size_t in_bytes, small_bytes;
    float *host_in[2];
    char *host_small[2]; /* inputs 1.. (targets, seed) of the step that reads the slot */
    void *stage[2];
    void *up[2], *used[2]; /* upload finished; staging buffer copied into the program's input */
};

NcDevTrainPipe *nc_dev_train_pipe_open(const NcBundle *b, int p) {
    DevExec *x = overlap_exec(b);
    if (!x) return NULL;
    const NcProgram *pr = &b->programs[p];
    if (!pr->train || pr->h->ninputs < 1) return NULL;
    NcDevTrainPipe *q = nc_calloc(1, sizeof *q);
    q->x = x, q->b = b, q->p = p, q->in_bytes = (size_t)nc_numel(&pr->vals[pr->h->inputs[0]]) * 4;
    for (uint32_t i = 1; i < pr->h->ninputs; i++) q->small_bytes += (size_t)nc_numel(&pr->vals[pr->h->inputs[i]]) * 4;
    NcError e;
    for (int s = 0; s < 2; s++)
        if (nc_dev_host_alloc(x->dev, (void **)&q->host_in[s], q->in_bytes, &e) ||
            nc_dev_host_alloc(x->dev, (void **)&q->host_small[s], q->small_bytes ? q->small_bytes : 4, &e) ||
            nc_dev_alloc(x->dev, &q->stage[s], q->in_bytes, &e) || nc_dev_event_create(x->dev, &q->up[s], &e) ||
            nc_dev_event_create(x->dev, &q->used[s], &e))
            fail("setting up the overlapped training feed (NETC_DEV_OVERLAP=0 trains without)", &e);
    return q;
}

void nc_dev_train_pipe_close(NcDevTrainPipe *q) {
    if (!q) return;
    NcDevice *d = q->x->dev;
    NcError e;
    if (nc_dev_sync(d, &e)) fail("finishing the overlapped training feed", &e);
    for (int s = 0; s < 2; s++) {
        nc_dev_host_free(d, q->host_in[s]), nc_dev_host_free(d, q->host_small[s]), nc_dev_free(d, q->stage[s]);
        nc_dev_event_free(d, q->up[s]), nc_dev_event_free(d, q->used[s]);
    }
    free(q);
}

float *nc_dev_train_pipe_input(NcDevTrainPipe *q, int slot) {
    NcError e;
    if (nc_dev_event_sync(q->x->dev, q->up[slot], &e)) fail("waiting for an upload", &e);
    return q->host_in[slot];
}

void nc_dev_train_pipe_upload(NcDevTrainPipe *q, int slot) {
    NcDevice *d = q->x->dev;
    NcError e;
    if (nc_dev_stream_wait(d, NC_DEV_COPY, q->used[slot], &e) ||
        nc_dev_copy_async(d, NC_DEV_COPY, NC_DEV_H2D, q->stage[slot], q->host_in[slot], q->in_bytes, &e) ||
        nc_dev_event_record(d, q->up[slot], NC_DEV_COPY, &e))
        fail("uploading a batch", &e);
}

void nc_dev_train_pipe_submit(NcDevTrainPipe *q, int slot, const float *const *inputs) {
    DevExec *x = q->x;
    const NcBundle *b = q->b;
    const int p = q->p;
    prepare(x, b, p);
    DevProg *dp = &x->prog[p];
    const NcProgram *pr = &b->programs[p];
    const NcProgramHeader *h = pr->h;
    NcDevice *d = x->dev;
    NcError e;
    /* the small inputs through the slot's pinned buffer, on the compute stream (a synchronous copy would wait
     * for the copy stream too): the step that last read this buffer has finished (nc_dev_train_pipe_finish) */
    char *small = q->host_small[slot];
    for (uint32_t i = 1; i < h->ninputs; i++) {
        const size_t n = (size_t)nc_numel(&pr->vals[h->inputs[i]]) * 4;
        memcpy(small, inputs[i], n);
        if (nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_H2D, (char *)dp->input + dp->in_off[i], small, n, &e))
            fail("uploading the inputs", &e);
        small += n;
    }
    if (nc_dev_stream_wait(d, NC_DEV_COMPUTE, q->up[slot], &e) ||
        nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_D2D, (char *)dp->input + dp->in_off[0], q->stage[slot], q->in_bytes,
                          &e) ||
        nc_dev_event_record(d, q->used[slot], NC_DEV_COMPUTE, &e))
        fail("uploading the inputs", &e);
    compute(x, b, p, NULL);
}

void nc_dev_train_pipe_finish(NcDevTrainPipe *q, void *arena) { collect(q->x, q->b, q->p, NULL, arena); }
