/* test_onnx_export.c — the exporter's API on graphs built by hand: a small
 * network exported and imported back runs as the original (interpreter,
 * bit for bit where the ops are the same), its file written atomically; and
 * every refusal (an op without an ONNX form, unbound weights, a training
 * step, an unwritable or linked target) is an error naming the problem that
 * leaves the target as it was. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/onnx/onnx_export.h"
#include "frontend/onnx/onnx.h"
#include "ir/interp.h"
#include "ir/ops.h"
#include "ir/weights.h"
#include "runtime/support/detinit.h"
#include "tests/unit/check.h"

static int param(NcGraph *g, const char *name, NcParamRole role, int nd, const int64_t *shape) {
    NcError e;
    int id = nc_graph_add_param(g, name, role, nd, shape, &e);
    NC_CHECK(id >= 0);
    return id;
}

static int node1(NcGraph *g, NcOpKind op, int nin, const int *in, const NcAttrs *a, const char *scope) {
    NcError e;
    int ni = nc_graph_add_node(g, op, nin, in, a, scope, &e);
    if (ni < 0) NC_FATAL("%s", e.msg);
    return g->nodes.data[ni].outputs[0];
}

/* conv (asymmetric pads) -> relu6 -> avg pool -> SE-like mul -> global pool -> flatten -> linear */
static NcGraph *small_net(void) {
    NcGraph *g = nc_graph_new("small");
    const int64_t xs[4] = {2, 3, 9, 7}, ws[4] = {4, 3, 3, 3}, bs[1] = {4}, fw[2] = {5, 4}, fb[1] = {5};
    int x = nc_graph_add_input(g, "input", 4, xs);
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 3, a.stride[0] = a.stride[1] = 2;
    a.pad[0] = 0, a.pad[1] = 1, a.pad[2] = 1, a.pad[3] = 1; /* TF "same": the odd pixel at the end */
    a.has_bias = 1;
    int in[3] = {x, param(g, "conv.weight", NC_PARAM_WEIGHT, 4, ws), param(g, "conv.bias", NC_PARAM_BIAS, 1, bs)};
    int y = node1(g, NC_OP_CONV2D, 3, in, &a, "conv");
    a = nc_attrs_default();
    a.lo = 0, a.hi = 6;
    y = node1(g, NC_OP_CLAMP, 1, &y, &a, "act");
    a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 2, a.stride[0] = a.stride[1] = 2, a.ceil_mode = 1, a.count_include_pad = 0;
    y = node1(g, NC_OP_AVG_POOL2D, 1, &y, &a, "pool");
    a = nc_attrs_default();
    int s = node1(g, NC_OP_GLOBAL_AVG_POOL, 1, &y, &a, "gate");
    s = node1(g, NC_OP_SIGMOID, 1, &s, &a, "gate");
    int m[2] = {y, s};
    y = node1(g, NC_OP_MUL, 2, m, &a, "scale");
    y = node1(g, NC_OP_GLOBAL_AVG_POOL, 1, &y, &a, "head");
    a.nsizes = 2, a.sizes[0] = 2, a.sizes[1] = 4;
    y = node1(g, NC_OP_RESHAPE, 1, &y, &a, "head");
    a = nc_attrs_default();
    a.has_bias = 1;
    int l[3] = {y, param(g, "fc.weight", NC_PARAM_WEIGHT, 2, fw), param(g, "fc.bias", NC_PARAM_BIAS, 1, fb)};
    y = node1(g, NC_OP_LINEAR, 3, l, &a, "fc");
    nc_vec_push(&g->outputs, y);
    return g;
}

static float *run(const NcGraph *g) {
    const NcValue *iv = nc_val(g, g->inputs.data[0]);
    float *x = nc_malloc((size_t)nc_numel(iv) * sizeof(float)), *y = NULL;
    nc_det_fill_input(x, (size_t)nc_numel(iv));
    const float *ins[1] = {x};
    NcError e;
    if (nc_interp_run(g, ins, &y, NULL, &e)) NC_FATAL("%s", e.msg);
    free(x);
    return y;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *d = nc_malloc(*len + 1);
    *len = fread(d, 1, *len, f);
    fclose(f);
    d[*len] = 0;
    return d;
}

static void test_round_trip(const char *dir) {
    NcGraph *g = small_net();
    nc_weights_init_det(g);
    /* a model's own eval transform travels in the metadata */
    g->pre = (NcPreprocess){
        .set = 1, .crop_pct = 0.95f, .interp = 1, .mean = {0.5f, 0.25f, 0.125f}, .std = {0.2f, 0.3f, 0.4f}};
    uint8_t *bytes = NULL;
    size_t len = 0;
    NcError e;
    CHECK_MSG(nc_onnx_export_mem(g, NULL, &bytes, &len, &e) == 0, "%s", e.msg);
    NcElabOptions opt = {0};
    opt.height = 9, opt.width = 7, opt.batch = 2;
    NcGraph *back = nc_onnx_import_mem("small.onnx", bytes, len, NULL, &opt, &e);
    CHECK_MSG(back != NULL, "%s", e.msg);
    if (back) {
        /* the parameters came back under their names, with their values */
        for (int id = 0; id < g->values.len; id++) {
            const NcValue *v = nc_val(g, id);
            if (v->kind != NC_VAL_PARAM) continue;
            int b = nc_graph_find_param(back, v->name);
            CHECK_MSG(b >= 0, "parameter %s", v->name);
            if (b >= 0) CHECK(!memcmp(v->data, nc_val(back, b)->data, (size_t)nc_numel(v) * sizeof(float)));
        }
        const NcPreprocess *p = &back->pre;
        CHECK(p->set && p->crop_pct == 0.95f && p->interp == 1);
        CHECK(!memcmp(p->mean, g->pre.mean, sizeof p->mean) && !memcmp(p->std, g->pre.std, sizeof p->std));
        float *y0 = run(g), *y1 = run(back);
        int same = 1;
        for (int i = 0; i < 10; i++) same &= y0[i] == y1[i];
        CHECK_MSG(same, "re-imported output differs: %g vs %g", y0[0], y1[0]);
        free(y0), free(y1);
        nc_graph_free(back);
    }
    /* the file: the same bytes, written whole */
    char *path = nc_sprintf("%s/small.onnx", dir);
    CHECK_MSG(nc_onnx_export(g, path, NULL, &e) == 0, "%s", e.msg);
    size_t flen = 0;
    char *file = slurp(path, &flen);
    CHECK(file && flen == len && !memcmp(file, bytes, len));
    free(file);
    unlink(path);
    free(path);
    free(bytes);
    nc_graph_free(g);
}

/* An error must leave an existing target as it was and name the problem. */
static void expect_refusal(const NcGraph *g, const char *path, int want_rc, const char *want_msg) {
    FILE *f = fopen(path, "wb");
    if (f) fputs("old", f), fclose(f);
    NcError e = {{0}};
    int rc = nc_onnx_export(g, path, NULL, &e);
    CHECK_MSG(rc == want_rc, "rc %d, want %d (%s)", rc, want_rc, e.msg);
    CHECK_MSG(strstr(e.msg, want_msg) != NULL, "message '%s' lacks '%s'", e.msg, want_msg);
    CHECK_MSG(strstr(e.msg, path) != NULL, "message '%s' does not name %s", e.msg, path);
    size_t len = 0;
    char *d = slurp(path, &len);
    CHECK_MSG(d && !strcmp(d, "old"), "%s was changed", path);
    free(d);
    unlink(path);
}

/* --dynamic-batch: the file runs at another batch (netc's import at batch 3 against the graph elaborated at 3), and a
 * reshape that mixes the batch axis into others is refused naming its layer. */
static void test_dynamic_batch(const char *dir) {
    NcGraph *g = small_net();
    nc_weights_init_det(g);
    const NcOnnxExportOptions dyn = {.dynamic_batch = 1};
    uint8_t *bytes = NULL;
    size_t len = 0;
    NcError e;
    CHECK_MSG(nc_onnx_export_mem(g, &dyn, &bytes, &len, &e) == 0, "%s", e.msg);
    NcElabOptions opt = {0};
    opt.height = 9, opt.width = 7, opt.batch = 3;
    NcGraph *back = nc_onnx_import_mem("small.onnx", bytes, len, NULL, &opt, &e);
    CHECK_MSG(back != NULL, "%s", e.msg);
    if (back) {
        CHECK(nc_val(back, back->inputs.data[0])->shape[0] == 3);
        CHECK(nc_val(back, back->outputs.data[0])->shape[0] == 3);
        nc_graph_free(back);
    }
    free(bytes);
    /* logits [2, 5] -> [1, 10] -> [2, 5]: the first reshape folds the batch away */
    NcAttrs a = nc_attrs_default();
    a.nsizes = 2, a.sizes[0] = 1, a.sizes[1] = 10;
    int y = node1(g, NC_OP_RESHAPE, 1, &g->outputs.data[0], &a, "mixed");
    a.sizes[0] = 2, a.sizes[1] = 5;
    g->outputs.data[0] = node1(g, NC_OP_RESHAPE, 1, &y, &a, "unmixed");
    char *path = nc_sprintf("%s/dynamic.onnx", dir);
    FILE *f = fopen(path, "wb");
    if (f) fputs("old", f), fclose(f);
    CHECK(nc_onnx_export(g, path, &dyn, &e) == -1);
    CHECK_MSG(strstr(e.msg, "layer 'mixed'") && strstr(e.msg, "batch"), "%s", e.msg);
    size_t flen = 0;
    char *d = slurp(path, &flen);
    CHECK(d && !strcmp(d, "old"));
    free(d);
    CHECK_MSG(nc_onnx_export(g, path, NULL, &e) == 0, "%s", e.msg); /* a fixed batch is fine */
    unlink(path);
    free(path);
    nc_graph_free(g);
}

static void test_refusals(const char *dir) {
    char *path = nc_sprintf("%s/refused.onnx", dir);
    NcGraph *g = small_net(); /* no weights bound */
    expect_refusal(g, path, -1, "parameter 'conv.weight' has no data");
    nc_weights_init_det(g);
    g->train_step = 1;
    expect_refusal(g, path, -1, "training step");
    g->train_step = 0;
    /* an op with no ONNX form (a layout change) names the op and the layer */
    NcAttrs a = nc_attrs_default();
    int out = g->outputs.data[0];
    int r = node1(g, NC_OP_RELAYOUT, 1, &out, &a, "head.relayout");
    g->outputs.data[0] = r;
    expect_refusal(g, path, -1, "layer 'head.relayout': op 'relayout' has no ONNX form");
    g->outputs.data[0] = out;
    free(g->nodes.data[--g->nodes.len].scope);
    /* a parameter (an imported model's names are anyone's) named as the graph's output */
    int fcb = nc_graph_find_param(g, "fc.bias");
    char *saved = nc_val(g, fcb)->name;
    nc_val(g, fcb)->name = "output";
    expect_refusal(g, path, -1, "the name 'output' would be defined twice");
    nc_val(g, fcb)->name = saved;
    /* a folder that does not exist: the write fails, nothing is left */
    NcError e = {{0}};
    char *nodir = nc_sprintf("%s/no/such/folder/x.onnx", dir);
    CHECK(nc_onnx_export(g, nodir, NULL, &e) == -2);
    CHECK_MSG(strstr(e.msg, nodir) != NULL, "%s", e.msg);
    free(nodir);
    /* a symbolic link is not written through */
    char *target = nc_sprintf("%s/target", dir), *link = nc_sprintf("%s/link.onnx", dir);
    FILE *f = fopen(target, "wb");
    if (f) fputs("keep", f), fclose(f);
    CHECK(symlink(target, link) == 0);
    CHECK(nc_onnx_export(g, link, NULL, &e) == -2);
    CHECK_MSG(strstr(e.msg, "link") != NULL, "%s", e.msg);
    size_t len = 0;
    char *d = slurp(target, &len);
    CHECK(d && !strcmp(d, "keep"));
    free(d);
    unlink(link), unlink(target);
    free(link), free(target);
    /* nothing but the target's own files was left in the folder */
    nc_graph_free(g);
    free(path);
}

/* Every op an inference graph can hold has a row in the exporter's table: only the layout change and the training
 * ops (their gradients, losses, dropout) may lack one, so an op added to ir/ops.def fails here until it has one. */
static void test_table_covers_inference_ops(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    nc_onnx_export_describe(f);
    fclose(f);
    static const char *const exempt[] = {"relayout", "batch_norm_train", "dropout", "cross_entropy",
                                         "zeros",    "sum_to",           "act_grad"};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64] = "";
        sscanf(line, "%63s", name);
        int ok = !strstr(line, "(no ONNX form)") || strstr(name, "_grad");
        for (size_t k = 0; k < sizeof exempt / sizeof *exempt; k++) ok |= !strcmp(name, exempt[k]);
        CHECK_MSG(ok, "op '%s' has no ONNX form in codegen/onnx/export_ops.c", name);
    }
    free(text);
}

int main(void) {
    char dir[] = "/tmp/netc_onnx_export_XXXXXX";
    NC_CHECK(mkdtemp(dir));
    test_table_covers_inference_ops();
    test_round_trip(dir);
    test_dynamic_batch(dir);
    test_refusals(dir);
    CHECK_MSG(rmdir(dir) == 0, "%s is not empty: a temporary was left behind", dir);
    TEST_MAIN_END();
}
