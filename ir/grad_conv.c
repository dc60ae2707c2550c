/* grad_conv.c — gradient rules of the anchors: conv2d and linear.  Autodiff
 * runs before fusion, so a conv here has at most a bias: no input scale, no
 * epilogue (the rules refuse them rather than differentiate them wrongly). */
#include <string.h>

#include "ir/grad.h"

static int plain(const NcNode *n, NcError *e) {
    if (n->attrs.has_in_scale || n->attrs.nepi)
        return nc_errorf(e, "%s: a fused %s has no gradient rule (differentiate before fusion)", n->scope,
                         nc_op_info(n->op)->name);
    return 0;
}

int nc_grad_conv2d(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (plain(&n, e)) return -1;
    if (dy[0] < 0) return 0;
    NcAttrs a = n.attrs;
    a.has_bias = 0;
    if (needs[0]) {
        nc_grad_sizes(&a, nc_val(g, n.inputs[0]));
        int in[2] = {dy[0], n.inputs[1]};
        if ((dx[0] = nc_grad_emit(g, NC_OP_CONV2D_GRAD_INPUT, 2, in, &a, n.scope, 0, e)) < 0) return -1;
    }
    if (needs[1]) {
        nc_grad_sizes(&a, nc_val(g, n.inputs[1]));
        int in[2] = {dy[0], n.inputs[0]};
        if ((dx[1] = nc_grad_emit(g, NC_OP_CONV2D_GRAD_WEIGHT, 2, in, &a, n.scope, 0, e)) < 0) return -1;
    }
    if (n.attrs.has_bias && needs[2]) {
        /* [N, O, H, W] -> [1, O, 1, 1] -> [O] */
        const int64_t O = nc_val(g, n.inputs[2])->shape[0];
        NcAttrs s = nc_attrs_default();
        s.nsizes = 4, s.sizes[0] = 1, s.sizes[1] = O, s.sizes[2] = 1, s.sizes[3] = 1;
        int r = nc_grad_emit(g, NC_OP_SUM_TO, 1, &dy[0], &s, n.scope, 0, e);
        if (r < 0) return -1;
        s.nsizes = 1, s.sizes[0] = O;
        if ((dx[2] = nc_grad_emit(g, NC_OP_RESHAPE, 1, &r, &s, n.scope, 0, e)) < 0) return -1;
    }
    return 0;
}

int nc_grad_linear(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e) {
    const NcNode n = g->nodes.data[ni];
    if (plain(&n, e)) return -1;
    if (dy[0] < 0) return 0;
    NcAttrs a = nc_attrs_default();
    if (needs[0]) {
        int in[2] = {dy[0], n.inputs[1]};
        if ((dx[0] = nc_grad_emit(g, NC_OP_LINEAR_GRAD_INPUT, 2, in, &a, n.scope, 0, e)) < 0) return -1;
    }
    if (needs[1]) {
        int in[2] = {dy[0], n.inputs[0]};
        if ((dx[1] = nc_grad_emit(g, NC_OP_LINEAR_GRAD_WEIGHT, 2, in, &a, n.scope, 0, e)) < 0) return -1;
    }
    if (n.attrs.has_bias && needs[2]) {
        nc_grad_sizes(&a, nc_val(g, n.inputs[2]));
        if ((dx[2] = nc_grad_emit(g, NC_OP_SUM_TO, 1, &dy[0], &a, n.scope, 0, e)) < 0) return -1;
    }
    return 0;
}
