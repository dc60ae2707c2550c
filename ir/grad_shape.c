/* grad_shape.c — gradient rules of pools, softmaxes, the radix ops, data
 * movement and the loss. */
#include <string.h>

#include "ir/grad.h"

int nc_grad_pool2d(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    NcAttrs a = n.attrs;
    if (n.op == NC_OP_MAX_POOL2D) {
        int in[2] = {dy[0], n.inputs[0]};
        return (dx[0] = nc_grad_emit(g, NC_OP_MAX_POOL2D_GRAD, 2, in, &a, n.scope, 0, e)) < 0 ? -1 : 0;
    }
    nc_grad_sizes(&a, nc_val(g, n.inputs[0]));
    return (dx[0] = nc_grad_emit(g, NC_OP_AVG_POOL2D_GRAD, 1, &dy[0], &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

int nc_grad_global_avg_pool(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    NcAttrs a = nc_attrs_default();
    nc_grad_sizes(&a, nc_val(g, n.inputs[0]));
    return (dx[0] = nc_grad_emit(g, NC_OP_GLOBAL_AVG_POOL_GRAD, 1, &dy[0], &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

/* softmax and radix_softmax: from the output, as PyTorch's backward does */
int nc_grad_softmax(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    int in[2] = {dy[0], n.outputs[0]};
    NcOpKind op = n.op == NC_OP_SOFTMAX ? NC_OP_SOFTMAX_GRAD : NC_OP_RADIX_SOFTMAX_GRAD;
    return (dx[0] = nc_grad_emit(g, op, 2, in, &n.attrs, n.scope, 0, e)) < 0 ? -1 : 0;
}

int nc_grad_radix_gap(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    NcAttrs a = n.attrs;
    nc_grad_sizes(&a, nc_val(g, n.inputs[0]));
    return (dx[0] = nc_grad_emit(g, NC_OP_RADIX_GAP_GRAD, 1, &dy[0], &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

int nc_grad_radix_combine(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || (!needs[0] && !needs[1])) return 0;
    int in[3] = {dy[0], n.inputs[0], n.inputs[1]};
    if (nc_grad_emit(g, NC_OP_RADIX_COMBINE_GRAD, 3, in, &n.attrs, n.scope, 0, e) < 0) return -1;
    const NcNode *b = &g->nodes.data[nc_grad_last(g)];
    for (int j = 0; j < 2; j++)
        if (needs[j]) dx[j] = b->outputs[j];
    return 0;
}

int nc_grad_concat(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0) return 0;
    if (n.ninputs == 1) return needs[0] ? (dx[0] = dy[0], 0) : 0;
    NcAttrs a = n.attrs;
    a.nsizes = n.ninputs;
    for (int j = 0; j < n.ninputs; j++) a.sizes[j] = nc_val(g, n.inputs[j])->shape[n.attrs.axis];
    if (nc_grad_emit(g, NC_OP_SPLIT, 1, &dy[0], &a, n.scope, 0, e) < 0) return -1;
    const NcNode *s = &g->nodes.data[nc_grad_last(g)];
    for (int j = 0; j < n.ninputs; j++)
        if (needs[j]) dx[j] = s->outputs[j];
    return 0;
}

/* The parts nobody read get zeros, so that concat sees every part. */
int nc_grad_split(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (!needs[0]) return 0;
    int parts[NC_MAXOUT], any = 0;
    for (int j = 0; j < n.noutputs; j++) {
        any |= dy[j] >= 0;
        parts[j] = dy[j];
    }
    if (!any) return 0;
    for (int j = 0; j < n.noutputs; j++) {
        if (parts[j] >= 0) continue;
        NcAttrs z = nc_attrs_default();
        nc_grad_sizes(&z, nc_val(g, n.outputs[j]));
        if ((parts[j] = nc_grad_emit(g, NC_OP_ZEROS, 0, NULL, &z, n.scope, 0, e)) < 0) return -1;
    }
    if (n.noutputs == 1) return dx[0] = parts[0], 0;
    NcAttrs a = nc_attrs_default();
    a.axis = n.attrs.axis;
    return (dx[0] = nc_grad_emit(g, NC_OP_CONCAT, n.noutputs, parts, &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

int nc_grad_reshape(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    NcAttrs a = nc_attrs_default();
    nc_grad_sizes(&a, nc_val(g, n.inputs[0]));
    return (dx[0] = nc_grad_emit(g, NC_OP_RESHAPE, 1, &dy[0], &a, n.scope, 0, e)) < 0 ? -1 : 0;
}

/* Only the logits have a gradient (targets and class weights are data). */
int nc_grad_cross_entropy(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (dy[0] < 0 || !needs[0]) return 0;
    int in[4] = {dy[0], n.inputs[0], n.inputs[1], n.ninputs > 2 ? n.inputs[2] : -1};
    return (dx[0] = nc_grad_emit(g, NC_OP_CROSS_ENTROPY_GRAD, n.ninputs + 1, in, &n.attrs, n.scope, 0, e)) < 0 ? -1 : 0;
}
