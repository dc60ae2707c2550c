/* fold_constants.c — constant folding: a node all of whose inputs are bound
 * parameters is run once at compile time (with its op's reference kernel)
 * and its outputs become parameters, named after the node's layer
 * ("<scope>.folded<k>").  The descriptions netc ships compute nothing from
 * weights alone once BN is folded, but graphs from other frontends (ONNX
 * exporters emit reshapes, transposes and arithmetic on initialisers) do. */
#include <string.h>

#include "ir/ops.h"
#include "passes/pass.h"

static int foldable(const NcGraph *g, const NcNode *n, const char **why) {
    for (int j = 0; j < n->ninputs; j++) {
        const NcValue *v = nc_val(g, n->inputs[j]);
        if (v->kind != NC_VAL_PARAM) return 0; /* not a candidate: reads activations */
        if (!v->data) {
            *why = "its parameters are not bound yet";
            return -1;
        }
    }
    for (int j = 0; j < n->noutputs; j++)
        for (int k = 0; k < g->outputs.len; k++)
            if (g->outputs.data[k] == n->outputs[j]) {
                *why = "its result is a graph output";
                return -1;
            }
    return 1;
}

int nc_pass_fold_constants(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    for (int ni = 0; ni < g->nodes.len; ni++) {
        NcNode *n = &g->nodes.data[ni];
        const char *why = NULL;
        int f = foldable(g, n, &why);
        if (f < 0 && ctx->explain) fprintf(ctx->explain, "fold_constants: %s: not folded: %s\n", n->scope, why);
        if (f <= 0) continue;
        NcKernelArgs k;
        memset(&k, 0, sizeof k);
        k.node = n;
        for (int j = 0; j < n->ninputs; j++)
            k.in_v[j] = nc_val(g, n->inputs[j]), k.in[j] = nc_val(g, n->inputs[j])->data;
        for (int j = 0; j < n->noutputs; j++) {
            NcValue *o = nc_val(g, n->outputs[j]);
            o->data = nc_malloc((size_t)nc_numel(o) * sizeof(float));
            k.out_v[j] = o, k.out[j] = o->data;
        }
        nc_ref_run(&k);
        /* the outputs become parameters; later nodes may fold in turn */
        for (int j = 0; j < n->noutputs; j++) {
            NcValue *o = nc_val(g, n->outputs[j]);
            o->kind = NC_VAL_PARAM, o->producer = -1, o->role = NC_PARAM_WEIGHT;
            free(o->name);
            o->name = nc_sprintf("%s.folded%d", n->scope, j);
        }
        dead[ni] = 1;
        ctx->rewrites++;
        if (ctx->explain)
            fprintf(ctx->explain, "fold_constants: %s: %s computed at compile time\n", n->scope,
                    nc_op_info(n->op)->name);
    }
    if (ctx->rewrites) nc_graph_compact(g, dead);
    free(dead);
    (void)e;
    return 0;
}
