/* dce.c — dead-code elimination: nodes none of whose outputs reach a graph
 * output, and the parameters only they read. */
#include "passes/pass.h"

int nc_pass_dce(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    char *live = nc_calloc((size_t)g->values.len + 1, 1);
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    for (int i = 0; i < g->outputs.len; i++) live[g->outputs.data[i]] = 1;
    for (int ni = g->nodes.len - 1; ni >= 0; ni--) {
        const NcNode *n = &g->nodes.data[ni];
        int used = 0;
        for (int j = 0; j < n->noutputs; j++) used |= live[n->outputs[j]];
        if (!used) {
            dead[ni] = 1;
            ctx->rewrites++;
            if (ctx->explain) fprintf(ctx->explain, "dce: removed a node of %s (its result is never used)\n", n->scope);
            continue;
        }
        for (int j = 0; j < n->ninputs; j++) live[n->inputs[j]] = 1;
    }
    nc_graph_compact(g, dead);
    free(dead);
    free(live);
    return 0;
}
