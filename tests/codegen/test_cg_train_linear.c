/* test_cg_train_linear.c — the training step's linear kernels
 * (cg_nchw_train_linear.h: linear with and without a bias, linear_grad_input,
 * linear_grad_weight) against the op table's reference kernels
 * (ir/ref_conv.c, ir/ref_grad_conv.c): sizes that are not multiples of the
 * vector width or of the grad-input chunk, one image, the Fashion-MNIST
 * network's head (128 images, 128 -> 10) and ResNet-50's (8 images,
 * 2048 -> 1000).  Inputs end at an unreadable page, outputs are fenced by
 * canaries; the tiles run across threads, then in reverse in uneven ranges
 * over NaN-filled outputs.  Bound: max |got - want| <= 1e-4 max |want|
 * (the kernels sum in float, the reference in double); the worst error is
 * printed. */
#include "codegen/cpu/cg_nchw_train_linear.h"
#include "tests/codegen/cg_test.h"

static int cases;
static double worst;

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    NcError e;
    const NcNode *nd = &g->nodes.data[ni];
    char what[256];
    snprintf(what, sizeof what, "%s%s %s", nc_op_info(nd->op)->name, nd->attrs.has_bias ? " (bias)" : "", what0);
    NcTrainLinearPlan p;
    const int ok = nc_cg_train_linear_plan(&p, g, nd);
    CHECK_MSG(ok, "%s: refused", what);
    NcCgJit *jit = ok ? nc_cg_jit_new(&e) : NULL;
    if (!jit) return;
    NcCgModule m;
    nc_cg_module_init(&m, t, "train_linear");
    NcCgKernel kern;
    memset(&kern, 0, sizeof kern);
    nc_cg_train_linear_emit(&m, &p, "k", &kern);
    const int64_t tiles = kern.tiles[0];
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "k", &e);
    if (!fn) {
        CHECK_MSG(0, "%s: %s", what, e.msg);
        nc_cg_jit_free(jit);
        return;
    }
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) ka.in_v[i] = nc_val(g, nd->inputs[i]), ka.in[i] = data[nd->inputs[i]];
    ka.out_v[0] = nc_val(g, nd->outputs[0]);
    const int64_t ny = nc_numel(ka.out_v[0]);
    float *want = ka.out[0] = nc_malloc((size_t)ny * sizeof(float));
    float *buf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *out[2] = {buf + 64, NULL};
    for (int64_t i = 0; i < ny + 128; i++) buf[i] = 42.0f;
    nc_op_info(nd->op)->ref(&ka);
    for (int pass = 0; pass < 2; pass++) {
        if (!pass)
            cgt_run(fn, ka.in, out, tiles);
        else {
            for (int64_t i = 0; i < ny; i++) out[0][i] = NAN;
            for (int64_t t1 = tiles; t1 > 0;) {
                const int64_t t0 = t1 > 3 ? t1 - 3 : 0;
                fn(ka.in, out, t0, t1);
                t1 = t0;
            }
        }
        double mx = 0, err = 0;
        for (int64_t i = 0; i < ny; i++) {
            if (fabs(want[i]) > mx) mx = fabs(want[i]);
            const double d = isnan(out[0][i]) ? INFINITY : fabs((double)out[0][i] - want[i]);
            if (d > err) err = d;
        }
        err = mx > 0 ? err / mx : err;
        CHECK_MSG(err <= 1e-4, "%s%s: relative error %g", what, pass ? " (tiles reversed)" : "", err);
        if (err > worst) worst = err;
        int canaries = 1;
        for (int i = 0; i < 64; i++) canaries &= buf[i] == 42.0f && out[0][ny + i] == 42.0f;
        CHECK_MSG(canaries, "%s: wrote outside its output", what);
    }
    free(want);
    free(buf);
    cases++;
    nc_cg_jit_free(jit);
}

static int add_node(NcGraph *g, NcOpKind op, int nin, const int *ins, const NcAttrs *a) {
    NcError e;
    const int r = nc_graph_add_node(g, op, nin, ins, a, nc_op_info(op)->name, &e);
    CHECK_MSG(r >= 0, "%s: %s", nc_op_info(op)->name, r < 0 ? e.msg : "");
    return r;
}

static void check_sizes(const NcCgTarget *t, int64_t N, int64_t K, int64_t O) {
    char what[96];
    snprintf(what, sizeof what, "N %lld, K %lld, O %lld", (long long)N, (long long)K, (long long)O);
    NcGraph *g = nc_graph_new("train_linear");
    const int64_t xs[2] = {N, K}, ws[2] = {O, K}, bs[1] = {O}, ys[2] = {N, O};
    const int x = nc_graph_add_input(g, "x", 2, xs), w = nc_graph_add_input(g, "w", 2, ws);
    const int b = nc_graph_add_input(g, "b", 1, bs), dy = nc_graph_add_input(g, "dy", 2, ys);
    NcAttrs a = nc_attrs_default();
    int ins[3] = {x, w, b};
    add_node(g, NC_OP_LINEAR, 2, ins, &a);
    a.has_bias = 1;
    add_node(g, NC_OP_LINEAR, 3, ins, &a);
    a = nc_attrs_default();
    ins[0] = dy, ins[1] = w;
    add_node(g, NC_OP_LINEAR_GRAD_INPUT, 2, ins, &a);
    ins[0] = dy, ins[1] = x;
    add_node(g, NC_OP_LINEAR_GRAD_WEIGHT, 2, ins, &a);
    float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
    for (int i = 0; i < g->values.len; i++)
        if (g->values.data[i].kind != NC_VAL_NODE) data[i] = cgt_guarded(nc_numel(&g->values.data[i]));
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    for (int i = 0; i < g->values.len; i++)
        if (data[i]) cgt_guarded_free(data[i], nc_numel(&g->values.data[i]));
    free(data);
    nc_graph_free(g);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    check_sizes(&t, 1, 1, 1);
    check_sizes(&t, 1, 5, 3);
    check_sizes(&t, 3, 37, 10);
    check_sizes(&t, 2, 130, 7);     /* grad-input: two whole chunks and a ragged one */
    check_sizes(&t, 5, 64, 17);     /* grad-input: exactly one chunk */
    check_sizes(&t, 128, 128, 10);  /* tests/fmnist's head */
    check_sizes(&t, 8, 2048, 1000); /* ResNet-50's */
    printf("%d kernels checked; worst relative error %.2g (bound 1e-4)\n", cases, worst);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
