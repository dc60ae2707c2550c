/* verify.c — the graph invariant, checked after elaboration and after every
 * pass: values defined before use, shapes re-derivable by the op's own rule,
 * producers consistent, parameter names unique. */
#include <string.h>

#include "ir/ops.h"

int nc_graph_verify(const NcGraph *g, NcError *e) {
    int nv = g->values.len;
    char *defined = nc_calloc((size_t)nv + 1, 1);
    int rc = -1;
    for (int i = 0; i < nv; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->id != i) {
            nc_errorf(e, "value %d has id %d", i, v->id);
            goto out;
        }
        if (v->ndim < 0 || v->ndim > NC_MAXDIM) {
            nc_errorf(e, "value %%%d has rank %d", i, v->ndim);
            goto out;
        }
        for (int d = 0; d < v->ndim; d++)
            if (v->shape[d] < 1) {
                nc_errorf(e, "value %%%d has a non-positive dimension", i);
                goto out;
            }
        if (v->kind != NC_VAL_NODE) defined[i] = 1;
        if (v->kind == NC_VAL_PARAM && (!v->name || nc_graph_find_param(g, v->name) != i)) {
            nc_errorf(e, "parameter %%%d ('%s') is not uniquely named", i, v->name ? v->name : "");
            goto out;
        }
    }
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        if (n->op < 0 || n->op >= NC_OP_COUNT) {
            nc_errorf(e, "node %d has a bad op", ni);
            goto out;
        }
        const NcOpInfo *info = nc_op_info(n->op);
        if (n->ninputs < info->min_inputs || n->ninputs > info->max_inputs) {
            nc_errorf(e, "node %d (%s) has %d inputs", ni, info->name, n->ninputs);
            goto out;
        }
        const NcValue *in[NC_MAXIN];
        for (int j = 0; j < n->ninputs; j++) {
            int id = n->inputs[j];
            if (id < 0 || id >= nv || !defined[id]) {
                nc_errorf(e, "node %d (%s) uses value %%%d before it is defined", ni, info->name, id);
                goto out;
            }
            in[j] = &g->values.data[id];
        }
        int ond[NC_MAXOUT];
        int64_t os[NC_MAXOUT][NC_MAXDIM];
        memset(os, 0, sizeof os);
        int nout = info->shape(in, n->ninputs, &n->attrs, ond, os, e);
        if (nout < 0) {
            nc_error_prefix(e, "node %d (%s, %s)", ni, info->name, n->scope);
            goto out;
        }
        if (nout != n->noutputs) {
            nc_errorf(e, "node %d (%s) has %d outputs, its rule gives %d", ni, info->name, n->noutputs, nout);
            goto out;
        }
        for (int j = 0; j < nout; j++) {
            int id = n->outputs[j];
            if (id < 0 || id >= nv || defined[id]) {
                nc_errorf(e, "node %d (%s) redefines value %%%d", ni, info->name, id);
                goto out;
            }
            const NcValue *v = &g->values.data[id];
            if (v->kind != NC_VAL_NODE || v->producer != ni || v->ndim != ond[j] ||
                memcmp(v->shape, os[j], (size_t)ond[j] * sizeof(int64_t)) != 0) {
                nc_errorf(e, "node %d (%s): output %%%d disagrees with the op's shape rule", ni, info->name, id);
                goto out;
            }
            defined[id] = 1;
        }
    }
    for (int i = 0; i < g->outputs.len; i++) {
        int id = g->outputs.data[i];
        if (id < 0 || id >= nv || !defined[id]) {
            nc_errorf(e, "graph output %%%d is never defined", id);
            goto out;
        }
    }
    rc = 0;
out:
    free(defined);
    return rc;
}
