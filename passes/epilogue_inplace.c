/* epilogue_inplace.c — which convs may store their output over their residual.
 *
 * A bottleneck's last conv reads its residual (an epilogue add: fuse_epilogue.c) and writes a tensor of the
 * same shape, and the residual usually dies there.  Stored apart, the output costs the memory a second
 * stream and its cache lines a read before they are written (a write-allocate): at resnet50's layer 1 at
 * batch 8, 12.8 MB of bf16 each way on a memory-bound kernel.  Stored over the residual, the kernel reads
 * each element and writes it back in place.  That is only right for a kernel that reads each element of the
 * operand just before it writes the same element of the output and writes nothing of the output before
 * (not one that keeps partial sums in the output, nor the reference kernels, which compute the conv into
 * the output and add the operand afterwards): the backend says which (hooks->out_over).
 *
 * The pass marks the node (NcNode.out_over); the memory planner (plan_memory.c) then gives the output the
 * operand's storage where the operand's whole storage group dies at the node and shares nothing with the
 * node's other inputs.  It runs after assign_dtype (the two must have the same dtype); without the hook it
 * changes nothing. */
#include "ir/ops.h"
#include "passes/pass.h"

int nc_pass_epilogue_inplace(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    const NcLayoutHooks *h = ctx->layout;
    if (!h || !h->out_over) return 0;
    for (int ni = 0; ni < g->nodes.len; ni++) {
        NcNode *n = &g->nodes.data[ni];
        if (n->noutputs != 1 || nc_op_info(n->op)->fusion != NC_FUSE_ANCHOR) continue;
        const NcValue *y = nc_val(g, n->outputs[0]);
        for (int s = 0; s < n->attrs.nepi && !n->out_over; s++) {
            if (n->attrs.epi[s].kind != NC_EPI_ADD) continue;
            const int j = n->attrs.epi[s].input;
            const NcValue *o = nc_val(g, n->inputs[j]);
            if (o->kind != NC_VAL_NODE || !nc_shape_eq(o, y) || o->dtype != y->dtype || o->layout != y->layout)
                continue;
            if (!h->out_over(g, n, j, h->ctx)) {
                if (ctx->explain)
                    fprintf(ctx->explain, "epilogue_inplace: %s %s: apart: its kernel writes before it reads\n",
                            nc_op_info(n->op)->name, n->scope);
                continue;
            }
            n->out_over = j + 1;
            ctx->rewrites++;
            if (ctx->explain)
                fprintf(ctx->explain, "epilogue_inplace: %s %s: may store over its residual\n", nc_op_info(n->op)->name,
                        n->scope);
        }
    }
    return 0;
}
