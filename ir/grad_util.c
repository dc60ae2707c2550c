/* grad_util.c — helpers of the gradient rules. */
#include "ir/grad.h"

#include <string.h>

int nc_grad_emit(NcGraph *g, NcOpKind op, int nin, const int *in, const NcAttrs *a, const char *scope, int out,
                 NcError *e) {
    int ni = nc_graph_add_node(g, op, nin, in, a, scope, e);
    if (ni < 0) {
        char why[NC_ERRMAX];
        snprintf(why, sizeof why, "%s", e ? e->msg : "");
        return nc_errorf(e, "%s (a gradient in %s): %s", nc_op_info(op)->name, scope, why);
    }
    return g->nodes.data[ni].outputs[out];
}

void nc_grad_sizes(NcAttrs *a, const NcValue *v) {
    a->nsizes = v->ndim;
    memcpy(a->sizes, v->shape, (size_t)v->ndim * sizeof(int64_t));
}

int nc_grad_reduce_to(NcGraph *g, int dy, int to, const char *scope, NcError *e) {
    if (nc_shape_eq(nc_val(g, dy), nc_val(g, to))) return dy;
    NcAttrs a = nc_attrs_default();
    nc_grad_sizes(&a, nc_val(g, to));
    return nc_grad_emit(g, NC_OP_SUM_TO, 1, &dy, &a, scope, 0, e);
}
