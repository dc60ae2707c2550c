/* builder.c — the ONNX graph into the IR: the file read and parsed, the
 * symbol table of value names, the input's static size, each node through the
 * op table (ops.c) in the file's order, the outputs, and the one place errors
 * unwind to.  ONNX requires nodes in topological order, so a node reading a
 * name nothing before it defines (a cycle included) is an error, not a
 * search. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_int.h"
#include "runtime/support/file_in.h"

#define OX_OPSET_MIN 13
#define OX_OPSET_MAX 21

void ox_fail(Ox *X, const char *fmt, ...) {
    char msg[sizeof X->e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (X->node) {
        const char *nm = X->node->name && X->node->name[0] ? X->node->name : NULL;
        char idx[32];
        snprintf(idx, sizeof idx, "#%d", X->node_index);
        nc_errorf(X->e, "%s: node '%s' (%s, opset %d): %s", X->file, nm ? nm : idx,
                  X->node->op_type ? X->node->op_type : "?", X->opset, msg);
    } else {
        nc_errorf(X->e, "%s: %s", X->file, msg);
    }
    longjmp(X->jb, 1);
}

void *ox_alloc(Ox *X, size_t n) {
    void *p = nc_malloc(n ? n : 1);
    nc_vec_push(&X->owned, p);
    return p;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void rehash(Ox *X) {
    free(X->hash);
    X->hcap = X->hcap ? X->hcap * 2 : 1024;
    X->hash = nc_malloc((size_t)X->hcap * sizeof *X->hash);
    for (int i = 0; i < X->hcap; i++) X->hash[i] = -1;
    for (int k = 0; k < X->syms.len; k++) {
        size_t h = hash_str(X->syms.data[k].name) & (size_t)(X->hcap - 1);
        while (X->hash[h] >= 0) h = (h + 1) & (size_t)(X->hcap - 1);
        X->hash[h] = k;
    }
}

OxSym *ox_lookup(Ox *X, const char *name) {
    if (!X->hcap) return NULL;
    size_t h = hash_str(name) & (size_t)(X->hcap - 1);
    for (; X->hash[h] >= 0; h = (h + 1) & (size_t)(X->hcap - 1))
        if (!strcmp(X->syms.data[X->hash[h]].name, name)) return &X->syms.data[X->hash[h]];
    return NULL;
}

/* Defines name; SSA: a second definition is an error. */
static OxSym *define(Ox *X, const char *name) {
    if (!name || !name[0]) ox_fail(X, "a value without a name");
    if (ox_lookup(X, name)) ox_fail(X, "value '%s' is defined twice", name);
    if (2 * (X->syms.len + 1) > X->hcap) rehash(X);
    OxSym s;
    memset(&s, 0, sizeof s);
    s.name = name, s.param = -1;
    nc_vec_push(&X->syms, s);
    size_t h = hash_str(name) & (size_t)(X->hcap - 1);
    while (X->hash[h] >= 0) h = (h + 1) & (size_t)(X->hcap - 1);
    X->hash[h] = X->syms.len - 1;
    return &X->syms.data[X->syms.len - 1];
}

int ox_has_input(Ox *X, int k) { return k < (int)X->node->n_input && X->node->input[k] && X->node->input[k][0]; }

OxSym *ox_input(Ox *X, int k) {
    OxSym *s = ox_input_raw(X, k);
    if (s->kind == OX_PENDING) ox_materialise(X, s);
    return s;
}

OxSym *ox_input_raw(Ox *X, int k) {
    if (!ox_has_input(X, k)) ox_fail(X, "input %d is missing", k);
    OxSym *s = ox_lookup(X, X->node->input[k]);
    if (!s)
        ox_fail(X,
                "reads '%s', which no earlier node, graph input or initializer defines (nodes out of order, or a "
                "cycle)",
                X->node->input[k]);
    return s;
}

int ox_is_const(Ox *X, int k) { return ox_input(X, k)->kind == OX_CONST; }

const OxTensor *ox_const_input(Ox *X, int k, const char *what) {
    OxSym *s = ox_input(X, k);
    if (s->kind != OX_CONST)
        ox_fail(X, "%s ('%s') is computed at run time; netc needs it constant (an initializer or a foldable chain)",
                what, s->name);
    return &s->c;
}

const NcValue *ox_val(Ox *X, int id) { return nc_val(X->g, id); }

int ox_param_from(Ox *X, const char *name, const char *suffix, const OxTensor *t, NcParamRole role) {
    if (t->is_int) ox_fail(X, "'%s' is an integer tensor where netc needs floats", name);
    for (int64_t k = 0; k < t->n; k++)
        if (!isfinite(t->f[k])) ox_fail(X, "'%s' holds a NaN or infinite value at index %lld", name, (long long)k);
    char *pname = nc_sprintf("%s%s", name, suffix);
    /* a name the graph has already (a derived constant made twice): numbered */
    for (int k = 2; nc_graph_find_param(X->g, pname) >= 0; k++) {
        free(pname);
        pname = nc_sprintf("%s%s#%d", name, suffix, k);
    }
    nc_vec_push(&X->owned, pname);
    int64_t shape1[1] = {1};
    int id = nc_graph_add_param(X->g, pname, role, t->ndim ? t->ndim : 1, t->ndim ? t->shape : shape1, X->e);
    if (id < 0) ox_fail(X, "%s", X->e->msg);
    NcValue *v = &X->g->values.data[id];
    v->data = nc_malloc((size_t)t->n * sizeof(float));
    memcpy(v->data, t->f, (size_t)t->n * sizeof(float));
    return id;
}

int ox_param_of(Ox *X, OxSym *s, NcParamRole role) {
    if (s->param < 0) s->param = ox_param_from(X, s->name, "", &s->c, role);
    return s->param;
}

int ox_runtime_input(Ox *X, int k) {
    OxSym *s = ox_input(X, k);
    return s->kind == OX_RUNTIME ? s->id : ox_param_of(X, s, NC_PARAM_WEIGHT);
}

OxSym *ox_define_output(Ox *X, int k) {
    if (k >= (int)X->node->n_output) ox_fail(X, "has no output %d", k);
    return define(X, X->node->output[k]);
}

void ox_set_runtime(Ox *X, int k, int id) {
    OxSym *s = ox_define_output(X, k);
    s->kind = OX_RUNTIME, s->id = id;
}

void ox_set_const(Ox *X, int k, const OxTensor *t) {
    OxSym *s = ox_define_output(X, k);
    s->kind = OX_CONST, s->c = *t;
}

int ox_node(Ox *X, NcOpKind op, int nin, const int *in, const NcAttrs *a) {
    const char *scope = X->node->name && X->node->name[0] ? X->node->name : X->node->output[0];
    int ni = nc_graph_add_node(X->g, op, nin, in, a, scope, X->e);
    if (ni < 0) ox_fail(X, "%s", X->e->msg);
    return ni;
}

int ox_node1(Ox *X, NcOpKind op, int nin, const int *in, const NcAttrs *a) {
    const int ni = ox_node(X, op, nin, in, a); /* before reading nodes.data, which adding a node moves */
    return X->g->nodes.data[ni].outputs[0];
}

const Onnx__AttributeProto *ox_attr(Ox *X, const char *name) {
    for (size_t k = 0; k < X->node->n_attribute; k++)
        if (X->node->attribute[k]->name && !strcmp(X->node->attribute[k]->name, name)) return X->node->attribute[k];
    return NULL;
}

int64_t ox_attr_int(Ox *X, const char *name, int64_t dflt) {
    const Onnx__AttributeProto *a = ox_attr(X, name);
    return a ? a->i : dflt;
}

float ox_attr_float(Ox *X, const char *name, float dflt) {
    const Onnx__AttributeProto *a = ox_attr(X, name);
    return a ? a->f : dflt;
}

int ox_attr_ints(Ox *X, const char *name, int64_t *out, int max) {
    const Onnx__AttributeProto *a = ox_attr(X, name);
    if (!a) return -1;
    if ((int64_t)a->n_ints > max) ox_fail(X, "attribute '%s' has %zu values (at most %d)", name, a->n_ints, max);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    return (int)a->n_ints;
}

const char *ox_attr_str(Ox *X, const char *name, const char *dflt) {
    const Onnx__AttributeProto *a = ox_attr(X, name);
    if (!a) return dflt;
    char *s = ox_alloc(X, a->s.len + 1);
    if (a->s.len) memcpy(s, a->s.data, a->s.len);
    s[a->s.len] = 0;
    return s;
}

void ox_attrs_only(Ox *X, const char *const *known) {
    for (size_t k = 0; k < X->node->n_attribute; k++) {
        const char *n = X->node->attribute[k]->name ? X->node->attribute[k]->name : "";
        int ok = 0;
        for (int j = 0; known[j] && !ok; j++) ok = !strcmp(known[j], n);
        if (!ok) ox_fail(X, "attribute '%s' is not supported", n);
    }
}

/* The input's dimension d: the file's, or where symbolic, --batch / --res. */
static int64_t input_dim(Ox *X, const Onnx__ValueInfoProto *vi, int d, int64_t want, const char *what) {
    const Onnx__TensorShapeProto *sh = vi->type->tensor_type->shape;
    const Onnx__TensorShapeProto__Dimension *dim = sh->dim[d];
    if (!dim->has_dim_value || dim->dim_value <= 0) return want;
    if (dim->dim_value != want)
        ox_fail(X,
                "input '%s' has a fixed %s of %lld; %s asks for %lld (give the file's, or export it with a "
                "symbolic %s)",
                vi->name, what, (long long)dim->dim_value, d == 0 ? "--batch" : "--res", (long long)want, what);
    return want;
}

static void add_input(Ox *X, const Onnx__ValueInfoProto *vi) {
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || !tp->tensor_type || !tp->tensor_type->shape)
        ox_fail(X, "input '%s' is not a tensor with a shape", vi->name ? vi->name : "");
    if (!tp->tensor_type->has_elem_type || tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        ox_fail(X, "input '%s' is not float32 (netc's programs take float images)", vi->name);
    if (tp->tensor_type->shape->n_dim != 4)
        ox_fail(X, "input '%s' has %zu dimensions; netc takes images [N, C, H, W]", vi->name,
                tp->tensor_type->shape->n_dim);
    int64_t shape[4];
    shape[0] = input_dim(X, vi, 0, X->opt->batch > 0 ? X->opt->batch : 1, "batch");
    const Onnx__TensorShapeProto__Dimension *c = tp->tensor_type->shape->dim[1];
    if (!c->has_dim_value || c->dim_value < 1 || c->dim_value > 4096)
        ox_fail(X, "input '%s' needs a fixed number of channels", vi->name);
    shape[1] = c->dim_value;
    shape[2] = input_dim(X, vi, 2, X->opt->height, "height");
    shape[3] = input_dim(X, vi, 3, X->opt->width, "width");
    OxSym *s = define(X, vi->name);
    s->kind = OX_RUNTIME;
    s->id = nc_graph_add_input(X->g, vi->name, 4, shape);
}

/* metadata_props "preprocess.crop_pct" / ".interpolation" / ".mean" / ".std":
 * timm's eval transform, which an ONNX file otherwise does not carry
 * (tools/export_onnx_models.py writes them); absent: timm's defaults. */
static void read_preprocess(Ox *X, const Onnx__ModelProto *m) {
    for (size_t k = 0; k < m->n_metadata_props; k++) {
        const char *key = m->metadata_props[k]->key, *val = m->metadata_props[k]->value;
        if (!key || !val || strncmp(key, "preprocess.", 11)) continue;
        key += 11;
        NcPreprocess *p = &X->g->pre;
        if (!strcmp(key, "crop_pct")) {
            char *end;
            double v = strtod(val, &end);
            if (*end || !(v > 0 && v <= 1)) ox_fail(X, "metadata preprocess.crop_pct '%s' is not in (0, 1]", val);
            p->crop_pct = (float)v, p->set = 1;
        } else if (!strcmp(key, "interpolation")) {
            if (strcmp(val, "bicubic") && strcmp(val, "bilinear"))
                ox_fail(X, "metadata preprocess.interpolation '%s': bicubic or bilinear", val);
            p->interp = !strcmp(val, "bilinear"), p->set = 1;
        } else if (!strcmp(key, "mean") || !strcmp(key, "std")) {
            float v[3];
            if (sscanf(val, "%f,%f,%f", &v[0], &v[1], &v[2]) != 3 ||
                (!strcmp(key, "std") && !(v[0] > 0 && v[1] > 0 && v[2] > 0)))
                ox_fail(X, "metadata preprocess.%s '%s': three numbers, comma-separated", key, val);
            memcpy(!strcmp(key, "mean") ? p->mean : p->std, v, sizeof v);
            p->set = 1;
        }
    }
}

static void import_model(Ox *X, const Onnx__ModelProto *m) {
    if (X->opt->model || X->opt->nset || X->opt->train)
        ox_fail(X, "--model, --set and training apply to .nn descriptions, not ONNX files");
    X->opset = -1;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[k];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
            X->opset = o->has_version ? (int)o->version : -1;
    }
    if (X->opset < OX_OPSET_MIN || X->opset > OX_OPSET_MAX)
        ox_fail(X, "opset %d: netc reads ONNX opsets %d to %d (re-export with opset_version=%d..%d)", X->opset,
                OX_OPSET_MIN, OX_OPSET_MAX, OX_OPSET_MIN, OX_OPSET_MAX);
    const Onnx__GraphProto *gp = m->graph;
    if (!gp) ox_fail(X, "no graph");
    if (gp->n_node > NC_MAX_NODES) ox_fail(X, "%zu nodes (at most %d)", gp->n_node, NC_MAX_NODES);
    read_preprocess(X, m);
    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *t = gp->initializer[k];
        OxSym *s = define(X, t->name);
        ox_tensor_read(X, t, &s->c);
        s->kind = OX_CONST, s->is_init = 1;
    }
    /* inputs that are not initializers (older exporters list those too) */
    for (size_t k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];
        if (!vi->name || !vi->name[0]) ox_fail(X, "a graph input without a name");
        OxSym *s = ox_lookup(X, vi->name);
        if (s && s->is_init) continue;
        if (X->g->inputs.len) ox_fail(X, "more than one graph input ('%s'); netc's models take one image", vi->name);
        add_input(X, vi);
    }
    if (!X->g->inputs.len) ox_fail(X, "no graph input");
    for (size_t k = 0; k < gp->n_node; k++) {
        X->node = gp->node[k], X->node_index = (int)k;
        if (X->node->domain && X->node->domain[0] && strcmp(X->node->domain, "ai.onnx"))
            ox_fail(X, "domain '%s' is not supported (only the default ONNX domain)", X->node->domain);
        if (!X->node->op_type) ox_fail(X, "a node without an op type");
        ox_import_node(X);
    }
    X->node = NULL;
    if (!gp->n_output) ox_fail(X, "no graph output");
    for (size_t k = 0; k < gp->n_output; k++) {
        const char *name = gp->output[k]->name ? gp->output[k]->name : "";
        OxSym *s = ox_lookup(X, name);
        if (!s) ox_fail(X, "graph output '%s' is never computed", name);
        if (s->kind == OX_PENDING) ox_materialise(X, s);
        if (s->kind != OX_RUNTIME || ox_val(X, s->id)->kind != NC_VAL_NODE)
            ox_fail(X, "graph output '%s' is a constant or the input itself, not computed from the image", name);
        nc_vec_push(&X->g->outputs, s->id);
    }
    NcError verr;
    if (nc_graph_verify(X->g, &verr)) ox_fail(X, "internal error, the graph does not verify: %s", verr.msg);
}

int nc_is_onnx_path(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return n > 5 && !strcmp(path + n - 5, ".onnx");
}

/* The model's name: the file's, without folder and extension. */
static char *model_name(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".onnx")) n -= 5;
    return nc_sprintf("%.*s", (int)n, b);
}

NcGraph *nc_onnx_import_mem(const char *name, const uint8_t *data, size_t len, const char *dir,
                            const NcElabOptions *opt, NcError *e) {
    Ox *X = nc_calloc(1, sizeof *X);
    X->file = name, X->dir = dir, X->opt = opt, X->e = e;
    char *gname = model_name(name);
    X->g = nc_graph_new(gname);
    free(gname);
    NcGraph *volatile g = NULL;
    if (!setjmp(X->jb)) {
        X->model = onnx__model_proto__unpack(NULL, len, data);
        if (!X->model) ox_fail(X, "not an ONNX model (the protobuf does not parse)");
        import_model(X, X->model);
        g = X->g;
        X->g = NULL;
    }
    if (X->model) onnx__model_proto__free_unpacked(X->model, NULL);
    nc_graph_free(X->g);
    for (int k = 0; k < X->owned.len; k++) free(X->owned.data[k]);
    free(X->owned.data);
    free(X->syms.data);
    free(X->hash);
    free(X);
    return g;
}

NcGraph *nc_onnx_import(const char *path, const NcElabOptions *opt, NcError *e) {
    char *data = NULL;
    size_t len = 0;
    /* a protobuf holds at most 2 GiB (larger models keep their weights as external data) */
    if (nc_read_file_max(path, (uint64_t)2 << 30, "an ONNX model", &data, &len, e)) return NULL;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? nc_sprintf("%.*s", (int)(slash - path), path) : nc_strdup(".");
    if (!dir[0]) {
        free(dir);
        dir = nc_strdup("/");
    }
    NcGraph *g = nc_onnx_import_mem(path, (const uint8_t *)data, len, dir, opt, e);
    free(dir);
    free(data);
    return g;
}
