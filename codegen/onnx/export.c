/* export.c — the ONNX model around the nodes export_ops.c makes: names,
 * initializers (the parameters under their IR names, raw little-endian
 * float32), the graph's input and outputs with their shapes, opset and
 * metadata, and the atomic write. */
#include <stdarg.h>
#include <string.h>

#include "codegen/onnx/export_int.h"
#include "runtime/support/file_out.h"

void *ex_alloc(Ex *X, size_t n) {
    void *p = nc_calloc(1, n ? n : 1);
    nc_vec_push(&X->owned, p);
    return p;
}

char *ex_strdup(Ex *X, const char *s) {
    char *p = nc_strdup(s);
    nc_vec_push(&X->owned, p);
    return p;
}

char *ex_sprintf(Ex *X, const char *fmt, ...) {
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = ex_alloc(X, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return p;
}

static const char *scope_of(Ex *X) { return X->node && X->node->scope && X->node->scope[0] ? X->node->scope : "node"; }

const char *ex_name(Ex *X, int id) {
    if (X->vname[id]) return X->vname[id];
    const NcValue *v = nc_val(X->g, id);
    if (v->kind == NC_VAL_PARAM) X->used[id] = 1;
    /* parameters and the input keep their names; a '/' (never in a timm name) keeps the others apart from them */
    if (v->name)
        X->vname[id] = ex_strdup(X, v->name);
    else
        X->vname[id] = ex_sprintf(X, "%s/%d", scope_of(X), id);
    return X->vname[id];
}

const char *ex_tmp(Ex *X, const char *what) { return ex_sprintf(X, "%s/%s_%d", scope_of(X), what, X->ntmp++); }

#define MAX_NODE_ATTRS 8

Onnx__NodeProto *ex_node(Ex *X, const char *op_type, int nin, const char *const *in, int nout, const char *const *out) {
    Onnx__NodeProto *n = ex_alloc(X, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = ex_strdup(X, op_type);
    n->name = ex_sprintf(X, "%s/%s_%d", scope_of(X), op_type, X->nodes.len);
    n->n_input = (size_t)nin;
    n->input = ex_alloc(X, (size_t)nin * sizeof *n->input);
    for (int k = 0; k < nin; k++) n->input[k] = ex_strdup(X, in[k] ? in[k] : "");
    n->n_output = (size_t)nout;
    n->output = ex_alloc(X, (size_t)nout * sizeof *n->output);
    for (int k = 0; k < nout; k++) n->output[k] = ex_strdup(X, out[k]);
    n->attribute = ex_alloc(X, MAX_NODE_ATTRS * sizeof *n->attribute);
    nc_vec_push(&X->nodes, n);
    return n;
}

Onnx__NodeProto *ex_node1(Ex *X, const char *op_type, const char *in, const char *out) {
    return ex_node(X, op_type, 1, &in, 1, &out);
}

static Onnx__AttributeProto *new_attr(Ex *X, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    NC_CHECK(n->n_attribute < MAX_NODE_ATTRS);
    Onnx__AttributeProto *a = ex_alloc(X, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = ex_strdup(X, name);
    a->has_type = 1, a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

void ex_attr_int(Ex *X, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = new_attr(X, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1, a->i = v;
}

void ex_attr_float(Ex *X, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = new_attr(X, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = v;
}

void ex_attr_ints(Ex *X, Onnx__NodeProto *n, const char *name, int count, const int64_t *v) {
    Onnx__AttributeProto *a = new_attr(X, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = ex_alloc(X, (size_t)count * sizeof *a->ints);
    memcpy(a->ints, v, (size_t)count * sizeof *v);
}

static Onnx__TensorProto *new_init(Ex *X, const char *name, int type, int ndim, const int64_t *dims) {
    Onnx__TensorProto *t = ex_alloc(X, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = ex_strdup(X, name);
    t->has_data_type = 1, t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = ex_alloc(X, (size_t)ndim * sizeof *t->dims);
    if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof *dims); /* a scalar has no dims (NULL) */
    nc_vec_push(&X->inits, t);
    return t;
}

const char *ex_const_i64(Ex *X, const char *what, int n, const int64_t *v) {
    const char *name = ex_tmp(X, what);
    const int64_t dim = n;
    Onnx__TensorProto *t = new_init(X, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &dim);
    t->n_int64_data = (size_t)n;
    t->int64_data = ex_alloc(X, (size_t)n * sizeof *t->int64_data);
    memcpy(t->int64_data, v, (size_t)n * sizeof *v);
    return name;
}

const char *ex_const_f32(Ex *X, const char *what, float v) {
    const char *name = ex_tmp(X, what);
    Onnx__TensorProto *t = new_init(X, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL);
    t->n_float_data = 1;
    t->float_data = ex_alloc(X, sizeof *t->float_data);
    t->float_data[0] = v;
    return name;
}

const char *ex_reshape(Ex *X, const char *x, int nd, const int64_t *shape, const char *out) {
    int64_t s[NC_MAXDIM];
    memcpy(s, shape, (size_t)nd * sizeof *s);
    if (X->dynamic_batch) {
        if (shape[0] != X->batch) {
            char b[96];
            nc_errorf(X->e,
                      "layer '%s': a reshape to %s does not keep the batch axis (%lld); export without --dynamic-batch",
                      X->node && X->node->scope ? X->node->scope : "?", nc_shape_str(nd, shape, b, sizeof b),
                      (long long)X->batch);
            return NULL;
        }
        s[0] = 0; /* ONNX Reshape: copy the input's */
    }
    const char *in[2] = {x, ex_const_i64(X, "shape", nd, s)};
    if (!out) out = ex_tmp(X, "reshaped");
    ex_node(X, "Reshape", 2, in, 1, &out);
    return out;
}

/* A parameter as an initializer: its bytes are the IR's own (raw_data points at them, nothing is copied). */
static int param_init(Ex *X, int id) {
    const NcValue *v = nc_val(X->g, id);
    if (!v->data) return nc_errorf(X->e, "parameter '%s' has no data (weights not bound)", v->name);
    if (v->dtype != NC_F32 || (v->layout != NC_LAYOUT_NCHW && v->layout != NC_LAYOUT_ROWMAJOR))
        return nc_errorf(X->e, "parameter '%s' is not plain float32 (repacked by a backend?)", v->name);
    Onnx__TensorProto *t = new_init(X, v->name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, v->ndim, v->shape);
    t->has_raw_data = 1;
    t->raw_data.len = (size_t)nc_numel(v) * sizeof(float);
    t->raw_data.data = (uint8_t *)v->data;
    return 0;
}

static Onnx__ValueInfoProto *value_info(Ex *X, int id) {
    const NcValue *v = nc_val(X->g, id);
    Onnx__ValueInfoProto *vi = ex_alloc(X, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = ex_strdup(X, ex_name(X, id));
    Onnx__TypeProto *tp = ex_alloc(X, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(X, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *sh = ex_alloc(X, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)v->ndim;
    sh->dim = ex_alloc(X, (size_t)v->ndim * sizeof *sh->dim);
    for (int d = 0; d < v->ndim; d++) {
        Onnx__TensorShapeProto__Dimension *dim = ex_alloc(X, sizeof *dim);
        onnx__tensor_shape_proto__dimension__init(dim);
        if (d == 0 && X->dynamic_batch)
            dim->dim_param = ex_strdup(X, "N");
        else
            dim->has_dim_value = 1, dim->dim_value = v->shape[d];
        sh->dim[d] = dim;
    }
    tt->shape = sh;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static Onnx__StringStringEntryProto *meta(Ex *X, const char *key, const char *value) {
    Onnx__StringStringEntryProto *m = ex_alloc(X, sizeof *m);
    onnx__string_string_entry_proto__init(m);
    m->key = ex_strdup(X, key);
    m->value = ex_strdup(X, value);
    return m;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* ONNX values are defined once: the names made here ("SCOPE/what_K") cannot meet a timm name, but an imported
 * model's parameter names are anyone's, so every defined name is checked. */
static int check_unique(Ex *X) {
    NC_VEC(const char *) names = {0};
    nc_vec_push(&names, ex_name(X, X->g->inputs.data[0]));
    for (int k = 0; k < X->inits.len; k++) nc_vec_push(&names, X->inits.data[k]->name);
    for (int k = 0; k < X->nodes.len; k++)
        for (size_t j = 0; j < X->nodes.data[k]->n_output; j++) nc_vec_push(&names, X->nodes.data[k]->output[j]);
    qsort(names.data, (size_t)names.len, sizeof *names.data, cmp_str);
    int rc = 0;
    for (int k = 1; k < names.len && !rc; k++)
        if (!strcmp(names.data[k - 1], names.data[k]))
            rc = nc_errorf(X->e, "the name '%s' would be defined twice (rename the parameter)", names.data[k]);
    free(names.data);
    return rc;
}

/* The whole model as messages in X; *model points into X. */
static int build(Ex *X, Onnx__ModelProto **model) {
    const NcGraph *g = X->g;
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1) return nc_errorf(X->e, "ONNX raw data is little-endian; this host is not");
    if (g->train_step) return nc_errorf(X->e, "a training step has no ONNX form; export the model itself");
    NcError verr;
    if (nc_graph_verify(g, &verr)) return nc_errorf(X->e, "the graph does not verify: %s", verr.msg);
    if (g->inputs.len != 1)
        return nc_errorf(X->e, "the graph has %d inputs; ONNX export takes one image input", g->inputs.len);
    X->batch = nc_val(g, g->inputs.data[0])->shape[0];
    for (int k = 0; k < g->outputs.len; k++) {
        const int id = g->outputs.data[k];
        if (nc_val(g, id)->kind != NC_VAL_NODE) return nc_errorf(X->e, "graph output %d is not computed by a node", k);
        if (X->dynamic_batch && nc_val(g, id)->shape[0] != X->batch)
            return nc_errorf(X->e, "graph output %d does not have the batch axis first; export without --dynamic-batch",
                             k);
        if (!X->vname[id]) X->vname[id] = g->outputs.len == 1 ? ex_strdup(X, "output") : ex_sprintf(X, "output_%d", k);
    }
    for (int i = 0; i < g->nodes.len; i++) {
        X->node = &g->nodes.data[i], X->node_index = i;
        if (ex_export_node(X)) return -1;
    }
    X->node = NULL;
    for (int id = 0; id < g->values.len; id++)
        if (X->used[id] && param_init(X, id)) return -1;
    if (check_unique(X)) return -1;

    Onnx__GraphProto *gp = ex_alloc(X, sizeof *gp);
    onnx__graph_proto__init(gp);
    gp->name = ex_strdup(X, g->name ? g->name : "netc");
    gp->n_node = (size_t)X->nodes.len, gp->node = X->nodes.data;
    gp->n_initializer = (size_t)X->inits.len, gp->initializer = X->inits.data;
    gp->n_input = 1;
    gp->input = ex_alloc(X, sizeof *gp->input);
    gp->input[0] = value_info(X, g->inputs.data[0]);
    gp->n_output = (size_t)g->outputs.len;
    gp->output = ex_alloc(X, (size_t)g->outputs.len * sizeof *gp->output);
    for (int k = 0; k < g->outputs.len; k++) gp->output[k] = value_info(X, g->outputs.data[k]);

    Onnx__ModelProto *m = ex_alloc(X, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1, m->ir_version = 8; /* the IR version of opset 17 (ONNX 1.12) */
    m->producer_name = ex_strdup(X, "netc");
    Onnx__OperatorSetIdProto *os = ex_alloc(X, sizeof *os);
    onnx__operator_set_id_proto__init(os);
    os->domain = ex_strdup(X, "");
    os->has_version = 1, os->version = NC_ONNX_EXPORT_OPSET;
    m->n_opset_import = 1;
    m->opset_import = ex_alloc(X, sizeof *m->opset_import);
    m->opset_import[0] = os;
    m->graph = gp;
    /* timm's eval transform, which frontend/onnx reads back (an ONNX file has no other place for it) */
    const NcPreprocess p = g->pre.set ? g->pre : nc_preprocess_default();
    m->n_metadata_props = 4;
    m->metadata_props = ex_alloc(X, 4 * sizeof *m->metadata_props);
    m->metadata_props[0] = meta(X, "preprocess.crop_pct", ex_sprintf(X, "%.9g", p.crop_pct));
    m->metadata_props[1] = meta(X, "preprocess.interpolation", p.interp ? "bilinear" : "bicubic");
    m->metadata_props[2] = meta(X, "preprocess.mean", ex_sprintf(X, "%.9g,%.9g,%.9g", p.mean[0], p.mean[1], p.mean[2]));
    m->metadata_props[3] = meta(X, "preprocess.std", ex_sprintf(X, "%.9g,%.9g,%.9g", p.std[0], p.std[1], p.std[2]));
    if (protobuf_c_message_get_packed_size(&m->base) > (size_t)INT32_MAX)
        return nc_errorf(X->e,
                         "the model is %.2f GB; an ONNX protobuf holds at most 2 GiB (netc does not write "
                         "external data yet)",
                         (double)protobuf_c_message_get_packed_size(&m->base) / 1e9);
    *model = m;
    return 0;
}

static Ex *ex_new(const NcGraph *g, const NcOnnxExportOptions *opt, NcError *e) {
    Ex *X = nc_calloc(1, sizeof *X);
    X->g = g, X->e = e;
    X->dynamic_batch = opt && opt->dynamic_batch;
    X->vname = nc_calloc((size_t)g->values.len + 1, sizeof *X->vname);
    X->used = nc_calloc((size_t)g->values.len + 1, 1);
    return X;
}

static void ex_free(Ex *X) {
    for (int k = 0; k < X->owned.len; k++) free(X->owned.data[k]);
    free(X->owned.data);
    free(X->nodes.data);
    free(X->inits.data);
    free(X->vname);
    free(X->used);
    free(X);
}

int nc_onnx_export_mem(const NcGraph *g, const NcOnnxExportOptions *opt, uint8_t **data, size_t *len, NcError *e) {
    Ex *X = ex_new(g, opt, e);
    Onnx__ModelProto *m = NULL;
    int rc = build(X, &m);
    if (!rc) {
        *len = protobuf_c_message_get_packed_size(&m->base);
        *data = nc_malloc(*len ? *len : 1);
        protobuf_c_message_pack(&m->base, *data);
    }
    ex_free(X);
    return rc;
}

/* protobuf-c's streaming packer into an NcOut, through a buffer (it appends a tag or a varint at a time); the
 * parameters' bytes go straight through. */
typedef struct OutBuf {
    ProtobufCBuffer base;
    NcOut *out;
    NcError *e;
    int failed;
    size_t n;
    uint8_t buf[1 << 16];
} OutBuf;

static void flush(OutBuf *b) {
    if (!b->failed && b->n && nc_out_write(b->out, b->buf, b->n, b->e)) b->failed = 1;
    b->n = 0;
}

static void append(ProtobufCBuffer *pb, size_t len, const uint8_t *data) {
    OutBuf *b = (OutBuf *)pb;
    if (b->n + len > sizeof b->buf) flush(b);
    if (len > sizeof b->buf) {
        if (!b->failed && nc_out_write(b->out, data, len, b->e)) b->failed = 1;
        return;
    }
    memcpy(b->buf + b->n, data, len);
    b->n += len;
}

int nc_onnx_export(const NcGraph *g, const char *path, const NcOnnxExportOptions *opt, NcError *e) {
    Ex *X = ex_new(g, opt, e);
    Onnx__ModelProto *m = NULL;
    int rc = build(X, &m);
    if (rc) {
        nc_error_prefix(e, "%s", path);
    } else {
        NcOut out;
        rc = nc_out_begin(&out, path, 0, e) ? -2 : 0;
        if (!rc) {
            OutBuf *b = nc_calloc(1, sizeof *b);
            b->base.append = append;
            b->out = &out, b->e = e;
            protobuf_c_message_pack_to_buffer(&m->base, &b->base);
            flush(b);
            rc = b->failed || nc_out_commit(&out, e) ? -2 : 0;
            if (b->failed) nc_out_abort(&out);
            free(b);
        }
    }
    ex_free(X);
    return rc;
}
