/* graph.c — building graphs: values, parameters, nodes. */
#include <string.h>

#include "ir/ops.h"

NcGraph *nc_graph_new(const char *name) {
    NcGraph *g = nc_calloc(1, sizeof *g);
    g->name = nc_strdup(name ? name : "graph");
    g->pre = nc_preprocess_default();
    return g;
}

NcPreprocess nc_preprocess_default(void) {
    NcPreprocess p = {0, 0.875f, 0, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    return p;
}

void nc_graph_free(NcGraph *g) {
    if (!g) return;
    for (int i = 0; i < g->values.len; i++) {
        free(g->values.data[i].name);
        free(g->values.data[i].data);
    }
    for (int i = 0; i < g->nodes.len; i++) free(g->nodes.data[i].scope);
    free(g->values.data);
    free(g->nodes.data);
    free(g->inputs.data);
    free(g->outputs.data);
    free(g->name);
    free(g);
}

int64_t nc_numel(const NcValue *v) {
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->shape[i];
    return n;
}

int nc_shape_eq(const NcValue *a, const NcValue *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *nc_shape_str(int ndim, const int64_t *shape, char *buf, size_t len) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
    return buf;
}

static int new_value(NcGraph *g, NcValKind kind, int ndim, const int64_t *shape) {
    NcValue v = {0};
    v.id = g->values.len;
    v.kind = kind;
    v.ndim = ndim;
    memcpy(v.shape, shape, (size_t)ndim * sizeof *shape);
    v.dtype = NC_F32;
    v.layout = ndim == 4 ? NC_LAYOUT_NCHW : NC_LAYOUT_ROWMAJOR;
    v.producer = -1;
    nc_vec_push(&g->values, v);
    return v.id;
}

int nc_graph_add_input(NcGraph *g, const char *name, int ndim, const int64_t *shape) {
    int id = new_value(g, NC_VAL_INPUT, ndim, shape);
    g->values.data[id].name = nc_strdup(name);
    nc_vec_push(&g->inputs, id);
    return id;
}

int nc_graph_find_param(const NcGraph *g, const char *name) {
    /* Linear: graphs have at most a few thousand parameters and this runs at
     * elaboration and load time only. */
    for (int i = 0; i < g->values.len; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind == NC_VAL_PARAM && strcmp(v->name, name) == 0) return i;
    }
    return -1;
}

int nc_shape_fits(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n) || n > NC_MAX_NUMEL) return 0;
    return 1;
}

int nc_graph_add_param(NcGraph *g, const char *name, NcParamRole role, int ndim, const int64_t *shape, NcError *e) {
    if (!nc_shape_fits(ndim, shape)) {
        char b[160];
        return nc_errorf(e, "parameter '%s' of shape %s is too large", name, nc_shape_str(ndim, shape, b, sizeof b));
    }
    if (nc_graph_find_param(g, name) >= 0)
        return nc_errorf(e, "parameter '%s' is defined twice (two layers under one name?)", name);
    int id = new_value(g, NC_VAL_PARAM, ndim, shape);
    g->values.data[id].name = nc_strdup(name);
    g->values.data[id].role = role;
    return id;
}

NcAttrs nc_attrs_default(void) {
    NcAttrs a;
    memset(&a, 0, sizeof a);
    a.kernel[0] = a.kernel[1] = 1;
    a.stride[0] = a.stride[1] = 1;
    a.dilation[0] = a.dilation[1] = 1;
    a.groups = 1;
    a.count_include_pad = 1;
    a.axis = 1;
    a.radix = a.cardinality = 1;
    a.eps = 1e-5f;
    return a;
}

int nc_graph_add_node(NcGraph *g, NcOpKind op, int ninputs, const int *inputs, const NcAttrs *attrs, const char *scope,
                      NcError *e) {
    const NcOpInfo *info = nc_op_info(op);
    if (ninputs < info->min_inputs || ninputs > info->max_inputs)
        return nc_errorf(e, "%s takes %d to %d inputs, got %d", info->name, info->min_inputs, info->max_inputs,
                         ninputs);
    const NcValue *in[NC_MAXIN];
    for (int i = 0; i < ninputs; i++) {
        NC_CHECK(inputs[i] >= 0 && inputs[i] < g->values.len);
        in[i] = &g->values.data[inputs[i]];
    }
    int ond[NC_MAXOUT];
    int64_t os[NC_MAXOUT][NC_MAXDIM];
    memset(os, 0, sizeof os);
    int nout = info->shape(in, ninputs, attrs, ond, os, e);
    if (nout < 0) return -1;
    for (int i = 0; i < nout; i++)
        if (!nc_shape_fits(ond[i], os[i])) {
            char b[160];
            return nc_errorf(e, "output %s is too large", nc_shape_str(ond[i], os[i], b, sizeof b));
        }
    if (g->nodes.len >= NC_MAX_NODES) return nc_errorf(e, "graph has more than %d nodes", NC_MAX_NODES);
    NcNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.attrs = *attrs;
    n.ninputs = ninputs;
    memcpy(n.inputs, inputs, (size_t)ninputs * sizeof *inputs);
    n.noutputs = nout;
    n.scope = nc_strdup(scope ? scope : "");
    int idx = g->nodes.len;
    for (int i = 0; i < nout; i++) {
        n.outputs[i] = new_value(g, NC_VAL_NODE, ond[i], os[i]);
        g->values.data[n.outputs[i]].producer = idx;
    }
    nc_vec_push(&g->nodes, n);
    return idx;
}

int64_t nc_graph_param_count(const NcGraph *g) {
    int64_t n = 0;
    for (int i = 0; i < g->values.len; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind == NC_VAL_PARAM && v->role != NC_PARAM_BN_MEAN && v->role != NC_PARAM_BN_VAR) n += nc_numel(v);
    }
    return n;
}

double nc_graph_macs(const NcGraph *g) {
    double macs = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const NcNode *n = &g->nodes.data[i];
        const NcOpInfo *info = nc_op_info(n->op);
        if (!info->macs) continue;
        const NcValue *in[NC_MAXIN], *out[NC_MAXOUT];
        for (int j = 0; j < n->ninputs; j++) in[j] = &g->values.data[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++) out[j] = &g->values.data[n->outputs[j]];
        macs += info->macs(in, out, &n->attrs);
    }
    return macs;
}

int nc_graph_retype_node(NcGraph *g, int ni, NcOpKind op, NcError *e) {
    NcNode *n = &g->nodes.data[ni];
    const NcOpInfo *info = nc_op_info(op);
    if (n->ninputs < info->min_inputs || n->ninputs > info->max_inputs)
        return nc_errorf(e, "%s takes %d to %d inputs, not %d", info->name, info->min_inputs, info->max_inputs,
                         n->ninputs);
    const NcValue *in[NC_MAXIN];
    for (int i = 0; i < n->ninputs; i++) in[i] = &g->values.data[n->inputs[i]];
    int ond[NC_MAXOUT];
    int64_t os[NC_MAXOUT][NC_MAXDIM];
    memset(os, 0, sizeof os);
    int nout = info->shape(in, n->ninputs, &n->attrs, ond, os, e);
    if (nout < 0) return -1;
    if (nout < n->noutputs) return nc_errorf(e, "%s has fewer outputs than %s", info->name, nc_op_info(n->op)->name);
    for (int i = 0; i < n->noutputs; i++) {
        const NcValue *v = &g->values.data[n->outputs[i]];
        if (v->ndim != ond[i] || memcmp(v->shape, os[i], (size_t)ond[i] * sizeof(int64_t)))
            return nc_errorf(e, "%s's output %d would change shape", info->name, i);
    }
    n->op = op;
    for (int i = n->noutputs; i < nout; i++) {
        int id = new_value(g, NC_VAL_NODE, ond[i], os[i]);
        g->values.data[id].producer = ni;
        g->nodes.data[ni].outputs[i] = id;
    }
    g->nodes.data[ni].noutputs = nout;
    return 0;
}
