/* fuse_se.c — squeeze-excitation fusion, after fuse_epilogue has put the
 * activations into the two 1x1 convs:
 *
 *   g = conv(conv(global_avg_pool(x)) then act) then sigmoid;   y = x * g
 *     -> g = squeeze_excite(x, w1, b1, w2, b2)                  (one op, act kept)
 *   and when y's only reader is a convolution:
 *   conv(y, W) -> conv(x, W) input-scaled by g                   (the multiply disappears:
 *                                                                 x is read once, not three times)
 */
#include <string.h>

#include "ir/ops.h"
#include "passes/pass.h"

/* The node producing v if it is an op of kind `op` read only by one node. */
static NcNode *single_producer(NcGraph *g, const int *readers, int v, NcOpKind op) {
    const NcValue *val = nc_val(g, v);
    if (val->kind != NC_VAL_NODE || readers[v] != 1) return NULL;
    NcNode *n = &g->nodes.data[val->producer];
    return n->op == op ? n : NULL;
}

static int is_1x1_fc(const NcGraph *g, const NcNode *c) {
    const NcValue *w = nc_val(g, c->inputs[1]);
    return c->attrs.has_bias && !c->attrs.has_in_scale && c->attrs.groups == 1 && w->shape[2] == 1 &&
           w->shape[3] == 1 && c->attrs.stride[0] == 1 && c->attrs.stride[1] == 1 && !c->attrs.pad[0] &&
           !c->attrs.pad[1] && !c->attrs.pad[2] && !c->attrs.pad[3] && c->attrs.nepi == 1;
}

int nc_pass_fuse_se(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    int *readers = nc_reader_counts(g);
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    for (int mi = 0; mi < g->nodes.len; mi++) {
        NcNode *m = &g->nodes.data[mi];
        if (m->op != NC_OP_MUL) continue;
        for (int side = 0; side < 2; side++) {
            const int x = m->inputs[side], gate = m->inputs[1 - side];
            NcNode *fc2 = single_producer(g, readers, gate, NC_OP_CONV2D);
            if (!fc2 || !is_1x1_fc(g, fc2) || fc2->attrs.epi[0].kind != NC_EPI_SIGMOID) continue;
            NcNode *fc1 = single_producer(g, readers, fc2->inputs[0], NC_OP_CONV2D);
            if (!fc1 || !is_1x1_fc(g, fc1) ||
                (fc1->attrs.epi[0].kind != NC_EPI_RELU && fc1->attrs.epi[0].kind != NC_EPI_SILU)) {
                if (ctx->explain) fprintf(ctx->explain, "fuse_se: %s: not an SE gate (first conv)\n", fc2->scope);
                continue;
            }
            NcNode *pool = single_producer(g, readers, fc1->inputs[0], NC_OP_GLOBAL_AVG_POOL);
            if (!pool || pool->inputs[0] != x) {
                if (ctx->explain)
                    fprintf(ctx->explain, "fuse_se: %s: not an SE gate (no pool of the scaled tensor)\n", fc2->scope);
                continue;
            }
            /* the SE op takes fc2's place in the schedule, producing its output */
            NcNode se;
            memset(&se, 0, sizeof se);
            se.op = NC_OP_SQUEEZE_EXCITE;
            se.ninputs = 5;
            se.inputs[0] = x, se.inputs[1] = fc1->inputs[1], se.inputs[2] = fc1->inputs[2];
            se.inputs[3] = fc2->inputs[1], se.inputs[4] = fc2->inputs[2];
            se.noutputs = 1;
            se.outputs[0] = fc2->outputs[0];
            se.attrs = nc_attrs_default();
            se.attrs.nepi = 1;
            se.attrs.epi[0] = fc1->attrs.epi[0];
            char *scope = nc_strdup(fc2->scope);
            char *dot = strrchr(scope, '.'); /* "s1.b1.se.fc2" -> "s1.b1.se" */
            if (dot) *dot = 0;
            dead[fc1 - g->nodes.data] = dead[pool - g->nodes.data] = 1;
            free(fc2->scope);
            *fc2 = se;
            fc2->scope = scope;
            ctx->rewrites++;
            /* fold the multiply into its single reader when that is a convolution */
            int y = m->outputs[0], ri = -1;
            for (int k = mi + 1; k < g->nodes.len && readers[y] == 1; k++)
                for (int j = 0; j < g->nodes.data[k].ninputs; j++)
                    if (g->nodes.data[k].inputs[j] == y) ri = k;
            NcNode *c = ri >= 0 ? &g->nodes.data[ri] : NULL;
            const char *why = !c                       ? "the scaled tensor has several readers"
                              : c->op != NC_OP_CONV2D  ? "its reader is not a convolution"
                              : c->inputs[0] != y      ? "it is not the convolution's input"
                              : c->attrs.has_in_scale  ? "the convolution is already input-scaled"
                              : c->ninputs == NC_MAXIN ? "too many inputs"
                                                       : NULL;
            if (why) {
                if (ctx->explain) fprintf(ctx->explain, "fuse_se: %s: multiply kept: %s\n", m->scope, why);
                break;
            }
            /* insert the scale input after the bias, before any epilogue inputs */
            const int at = nc_in_scale_input(&c->attrs);
            for (int j = c->ninputs; j > at; j--) c->inputs[j] = c->inputs[j - 1];
            c->inputs[at] = gate;
            c->ninputs++;
            for (int s = 0; s < c->attrs.nepi; s++)
                if (c->attrs.epi[s].kind == NC_EPI_ADD || c->attrs.epi[s].kind == NC_EPI_MUL) c->attrs.epi[s].input++;
            c->attrs.has_in_scale = 1;
            c->inputs[0] = x;
            dead[mi] = 1;
            ctx->rewrites++;
            break;
        }
    }
    nc_graph_compact(g, dead);
    free(dead);
    free(readers);
    return 0;
}
