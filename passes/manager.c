/* manager.c — the pass list and the pass manager. */
#include <string.h>

#include "passes/pass.h"
#include "runtime/support/list.h"

/* The default pipeline, then the passes that need a backend's hooks. */
static const NcPass passes[] = {
    {"fold_constants", "compute nodes that read only weights at compile time", nc_pass_fold_constants},
    {"fold_bn", "fold inference BatchNorm into the preceding convolution", nc_pass_fold_bn},
    {"fuse_epilogue", "fuse activations, residual adds and scales into conv/linear epilogues", nc_pass_fuse_epilogue},
    {"fuse_se", "fuse squeeze-excitation into one op, and its channel scale into the next convolution",
     nc_pass_fuse_se},
    {"fuse_eltwise", "fuse chains of elementwise ops that start at an add or mul into one node", nc_pass_fuse_eltwise},
    {"dce", "remove nodes whose results are never used", nc_pass_dce},
    {"assign_layout", "store activations NHWC where the backend says it pays, relayouts at the edges",
     nc_pass_assign_layout},
    {"assign_dtype", "store an activation in its kernels' reduced precision (bf16) where every reader takes it",
     nc_pass_assign_dtype},
    {"epilogue_inplace", "let a conv store its output over its residual where its kernel reads each element first",
     nc_pass_epilogue_inplace},
    {"fuse_bn_act_grad", "fuse a training step's activation gradient into the batch-norm gradient before it",
     nc_pass_fuse_bn_act_grad},
    {"fuse_bn_act", "fuse a training step's relu or clamp into the batch norm before it (after fuse_bn_act_grad)",
     nc_pass_fuse_bn_act},
};
enum { NDEFAULT = 6 };

const NcPass *nc_passes(int *count) {
    *count = NDEFAULT;
    return passes;
}

const NcPass *nc_pass_find(const char *name) {
    for (size_t i = 0; i < sizeof passes / sizeof *passes; i++)
        if (!strcmp(passes[i].name, name)) return &passes[i];
    return NULL;
}

static int run_one(NcGraph *g, const NcPass *p, const NcPassRun *run, NcError *e) {
    NcPassCtx ctx = {run->explain, 0, run->layout};
    double t0 = nc_now();
    if (p->run(g, &ctx, e)) return nc_error_prefix(e, "pass %s", p->name);
    if (nc_graph_verify(g, e))
        return nc_error_prefix(e, "internal error: the graph does not verify after pass %s", p->name);
    if (run->explain)
        fprintf(run->explain, "pass %s: %d rewrites, %d nodes left (%.1f ms)\n", p->name, ctx.rewrites, g->nodes.len,
                1e3 * (nc_now() - t0));
    if (run->dump_after && run->dump_out && (!strcmp(run->dump_after, p->name) || !strcmp(run->dump_after, "all"))) {
        fprintf(run->dump_out, "# after %s\n", p->name);
        nc_graph_print(g, run->dump_out);
    }
    return 0;
}

int nc_run_pipeline(NcGraph *g, const char *pipeline, const NcPassRun *run, NcError *e) {
    const NcPassRun quiet = {0};
    if (!run) run = &quiet;
    if (!pipeline) pipeline = "default";
    if (!strcmp(pipeline, "none")) return 0;
    int n;
    char **items = nc_list_split(pipeline, &n, e);
    if (!items) return nc_error_prefix(e, "the list of passes");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (!strcmp(items[i], "default")) {
            for (int k = 0; k < NDEFAULT && !rc; k++) rc = run_one(g, &passes[k], run, e);
            continue;
        }
        const NcPass *p = nc_pass_find(items[i]);
        if (!p)
            rc = nc_errorf(e, "unknown pass '%s' (netc dump --help lists them)", items[i]);
        else
            rc = run_one(g, p, run, e);
    }
    free(items);
    return rc;
}

int nc_run_passes(NcGraph *g, const char *pipeline, const char *dump_after, FILE *dump_out, FILE *explain, NcError *e) {
    const NcPassRun run = {dump_after, dump_out, explain, NULL};
    return nc_run_pipeline(g, pipeline, &run, e);
}
