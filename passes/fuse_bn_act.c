/* fuse_bn_act.c — a training step's relu or clamp into the batch norm or residual add before it.
 *
 * In the forward of bn -> relu the batch norm writes y, the relu reads it and writes a: two passes through
 * the tensor's memory for one (the same after a residual add).  The backward reads y only to ask where the
 * activation was flat (act_grad(dy, y), or the batch norm's gradient with it fused in: fuse_bn_act_grad.c),
 * and for relu and clamp that is the same question asked of a: a <= 0 exactly where y <= 0, a <= lo or
 * a >= hi exactly where y is, a NaN stays a NaN.  So the batch norm (or add) can write a alone (its
 * epilogue: one relu or clamp step) and every reader of y read a instead: y is never stored.  SiLU and
 * sigmoid are left: their gradients need y.
 *
 * The rewrite, for a batch_norm_train or a two-operand add B whose output y is read by one relu or clamp R
 * and otherwise only as the activation's input of act_grads or fused batch-norm gradients of the same
 * activation (and is no graph output): B takes R's step as its epilogue, R's readers read B's output, R is
 * dropped.  Runs after
 * autodiff and fuse_bn_act_grad, for CPU training programs (netc compile --train). */
#include "ir/ops.h"
#include "passes/pass.h"

/* Is node n, reading value y, a use of y as the activation's input of a gradient of act (relu / clamp)? */
static int flat_query(const NcNode *n, int y, const NcNode *act) {
    const int kind = act->op == NC_OP_RELU ? NC_EPI_RELU : NC_EPI_CLAMP;
    const int same =
        n->attrs.act == kind && (kind == NC_EPI_RELU || (n->attrs.lo == act->attrs.lo && n->attrs.hi == act->attrs.hi));
    for (int j = 0; j < n->ninputs; j++) {
        if (n->inputs[j] != y) continue;
        if (n->op == NC_OP_ACT_GRAD && j == 1 && same) continue;
        if (n->op == NC_OP_BATCH_NORM_TRAIN_GRAD && n->ninputs == 6 && j == 5 && same) continue;
        return 0;
    }
    return 1;
}

int nc_pass_fuse_bn_act(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    char *is_output = nc_calloc((size_t)g->values.len + 1, 1);
    for (int i = 0; i < g->outputs.len; i++) is_output[g->outputs.data[i]] = 1;
    for (int bi = 0; bi < g->nodes.len; bi++) {
        NcNode *b = &g->nodes.data[bi];
        if ((b->op != NC_OP_BATCH_NORM_TRAIN && !(b->op == NC_OP_ADD && b->ninputs == 2)) || b->attrs.nepi) continue;
        const int y = b->outputs[0];
        if (is_output[y]) continue;
        int act = -1, others_ok = 1;
        for (int ni = 0; ni < g->nodes.len; ni++) { /* the relu / clamp reading y */
            const NcNode *n = &g->nodes.data[ni];
            if (!dead[ni] && (n->op == NC_OP_RELU || n->op == NC_OP_CLAMP) && n->ninputs == 1 && n->inputs[0] == y &&
                !n->attrs.nepi && act < 0)
                act = ni;
        }
        if (act < 0) continue;
        const NcNode *r = &g->nodes.data[act];
        for (int ni = 0; ni < g->nodes.len && others_ok; ni++)
            if (ni != act && !dead[ni]) others_ok = flat_query(&g->nodes.data[ni], y, r);
        if (!others_ok) {
            if (ctx->explain)
                fprintf(ctx->explain,
                        "fuse_bn_act: %s %s: not fused: its output has readers other than the %s and its "
                        "gradient\n",
                        nc_op_info(b->op)->name, b->scope, nc_op_info(r->op)->name);
            continue;
        }
        b->attrs.nepi = 1;
        b->attrs.epi[0] = (NcEpilogue){.kind = r->op == NC_OP_RELU ? NC_EPI_RELU : NC_EPI_CLAMP};
        b->attrs.epi[0].lo = r->attrs.lo, b->attrs.epi[0].hi = r->attrs.hi;
        nc_replace_uses(g, r->outputs[0], y);
        dead[act] = 1;
        ctx->rewrites++;
        if (ctx->explain)
            fprintf(ctx->explain, "fuse_bn_act: %s %s: %s fused; its output before it is never stored\n",
                    nc_op_info(b->op)->name, b->scope, nc_op_info(r->op)->name);
    }
    nc_graph_compact(g, dead);
    free(is_output);
    free(dead);
    return 0;
}
