/* manager.c — the pass list and the pass manager. */
#include <string.h>

#include "passes/pass.h"

static const NcPass passes[] = {
    {"fold_constants", "compute nodes that read only weights at compile time", nc_pass_fold_constants},
    {"fold_bn", "fold inference BatchNorm into the preceding convolution", nc_pass_fold_bn},
    {"fuse_epilogue", "fuse activations, residual adds and scales into conv/linear epilogues", nc_pass_fuse_epilogue},
    {"fuse_se", "fuse squeeze-excitation into one op, and its channel scale into the next convolution", nc_pass_fuse_se},
    {"fuse_eltwise", "fuse chains of elementwise ops that start at an add or mul into one node", nc_pass_fuse_eltwise},
    {"dce", "remove nodes whose results are never used", nc_pass_dce},
};

const NcPass *nc_passes(int *count) {
    *count = (int)(sizeof passes / sizeof *passes);
    return passes;
}

const NcPass *nc_pass_find(const char *name) {
    for (size_t i = 0; i < sizeof passes / sizeof *passes; i++)
        if (!strcmp(passes[i].name, name)) return &passes[i];
    return NULL;
}

static int run_one(NcGraph *g, const NcPass *p, const char *dump_after, FILE *dump_out, FILE *explain, NcError *e) {
    NcPassCtx ctx = {explain, 0};
    double t0 = nc_now();
    if (p->run(g, &ctx, e)) return nc_error_prefix(e, "pass %s", p->name);
    if (nc_graph_verify(g, e)) return nc_error_prefix(e, "internal error: the graph does not verify after pass %s", p->name);
    if (explain) fprintf(explain, "pass %s: %d rewrites, %d nodes left (%.1f ms)\n", p->name, ctx.rewrites, g->nodes.len,
                         1e3 * (nc_now() - t0));
    if (dump_after && dump_out && (!strcmp(dump_after, p->name) || !strcmp(dump_after, "all"))) {
        fprintf(dump_out, "# after %s\n", p->name);
        nc_graph_print(g, dump_out);
    }
    return 0;
}

int nc_run_passes(NcGraph *g, const char *pipeline, const char *dump_after, FILE *dump_out, FILE *explain,
                  NcError *e) {
    if (!pipeline || !strcmp(pipeline, "default")) {
        for (size_t i = 0; i < sizeof passes / sizeof *passes; i++)
            if (run_one(g, &passes[i], dump_after, dump_out, explain, e)) return -1;
        return 0;
    }
    if (!strcmp(pipeline, "none")) return 0;
    char *list = nc_strdup(pipeline);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        const NcPass *p = nc_pass_find(tok);
        if (!p) rc = nc_errorf(e, "unknown pass '%s' (netc dump --help lists them)", tok);
        else rc = run_one(g, p, dump_after, dump_out, explain, e);
    }
    free(list);
    return rc;
}
