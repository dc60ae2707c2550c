/* grad_eltwise.c — gradient rules of the per-element ops (activations,
 * broadcasting add and mul, dropout) and of batch norm in training mode. */
#include "ir/grad.h"

static int unfused(const NcNode *n, NcError *e) {
    if (n->attrs.nepi || n->ninputs != 2)
        return nc_errorf(e, "%s: a fused %s has no gradient rule (differentiate before fusion)", n->scope,
                         nc_op_info(n->op)->name);
    return 0;
}

int nc_grad_act(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    NcAttrs a = nc_attrs_default();
    a.act = n.op == NC_OP_RELU    ? NC_EPI_RELU
            : n.op == NC_OP_CLAMP ? NC_EPI_CLAMP
            : n.op == NC_OP_SILU  ? NC_EPI_SILU
                                  : NC_EPI_SIGMOID;
    a.lo = n.attrs.lo, a.hi = n.attrs.hi;
    int in[2] = {dy[0], n.inputs[0]};
    return (dx[0] = nc_grad_emit(g, NC_OP_ACT_GRAD, 2, in, &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

int nc_grad_add(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (unfused(&n, e)) return -1;
    for (int j = 0; j < 2 && dy[0] >= 0; j++)
        if (needs[j] && (dx[j] = nc_grad_reduce_to(g, dy[0], n.inputs[j], n.scope, e)) < 0) return -1;
    return 0;
}

int nc_grad_mul(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (unfused(&n, e)) return -1;
    NcAttrs a = nc_attrs_default();
    for (int j = 0; j < 2 && dy[0] >= 0; j++) {
        if (!needs[j]) continue;
        int in[2] = {dy[0], n.inputs[1 - j]};
        int prod = nc_grad_emit(g, NC_OP_MUL, 2, in, &a, n.scope, 0, e);
        if (prod < 0 || (dx[j] = nc_grad_reduce_to(g, prod, n.inputs[j], n.scope, e)) < 0) return -1;
    }
    return 0;
}

/* The mask is a function of (seed, salt, index): the same op on dy applies it. */
int nc_grad_dropout(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    int in[2] = {dy[0], n.inputs[1]};
    return (dx[0] = nc_grad_emit(g, NC_OP_DROPOUT, 2, in, &n.attrs, n.scope, 0, e)) < 0 ? -1 : 0;
}

/* Only y has a gradient: the batch statistics feed the running estimates,
 * outside the graph. */
int nc_grad_batch_norm_train(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0) return 0;
    if (n.attrs.nepi) return nc_errorf(e, "%s: a batch norm with a fused activation has no gradient rule", n.scope);
    int in[5] = {dy[0], n.inputs[0], n.inputs[1], n.outputs[1], n.outputs[2]};
    if (nc_grad_emit(g, NC_OP_BATCH_NORM_TRAIN_GRAD, 5, in, &n.attrs, n.scope, 0, e) < 0) return -1;
    const NcNode *b = &g->nodes.data[nc_grad_last(g)];
    for (int j = 0; j < 3; j++)
        if (needs[j]) dx[j] = b->outputs[j];
    return 0;
}
