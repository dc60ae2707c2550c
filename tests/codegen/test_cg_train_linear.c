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
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst;

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_linear_emit(m, p, "k", k); }

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    const NcNode *nd = &g->nodes.data[ni];
    char what[256];
    snprintf(what, sizeof what, "%s%s %s", nc_op_info(nd->op)->name, nd->attrs.has_bias ? " (bias)" : "", what0);
    NcTrainLinearPlan p;
    const int ok = nc_cg_train_linear_plan(&p, g, nd);
    CHECK_MSG(ok, "%s: refused", what);
    const double err = ok ? cgt_check_train_kernel(t, g, nd, data, emit, &p, 1e-4, what) : -1;
    if (err > worst) worst = err;
    cases += err >= 0;
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
    float **data = cgt_values_new(g);
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    cgt_values_free(g, data);
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
