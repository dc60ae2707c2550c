/* test_cg_train_reduce.c — the training step's reductions
 * (cg_nchw_train_reduce.h: global_avg_pool, global_avg_pool_grad, sum_to to
 * [N, C, 1, 1] (an SE gate's gradient), to [1, C, 1, 1] from
 * [N, C, 1, 1] and to [O] from [N, O] (biases' gradients)) against the op
 * table's reference kernels (ir/ref_pool.c, ir/ref_grad_pool.c,
 * ir/ref_train.c): planes 1x1, 2x2, 7x7 and 13x9, channel counts that are
 * not multiples of 8, row reductions of one, several and a ragged chunk.
 * Inputs end at an unreadable page, outputs are fenced by canaries; the
 * tiles run across threads, then in reverse in uneven ranges over
 * NaN-filled outputs.  Bound: max |got - want| <= 1e-6 max |want| (the
 * kernels sum in double, as the references do, and round once: they agree
 * to an ulp or two; a mean off by 1e-5 relative passed the former 1e-4); the
 * worst error is printed.  A sum_to that keeps an axis between two summed
 * ones must be refused (the reference keeps it). */
#include "codegen/cpu/cg_nchw_train_reduce.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst;

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_red_emit(m, p, "k", k); }

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    const NcNode *nd = &g->nodes.data[ni];
    char what[256];
    snprintf(what, sizeof what, "%s %s", nc_op_info(nd->op)->name, what0);
    NcTrainRedPlan p;
    const int ok = nc_cg_train_red_plan(&p, g, nd);
    CHECK_MSG(ok, "%s: refused", what);
    const double err = ok ? cgt_check_train_kernel(t, g, nd, data, emit, &p, 1e-6, what) : -1;
    if (err > worst) worst = err;
    cases += err >= 0;
}

static int add_node(NcGraph *g, NcOpKind op, int nin, const int *ins, const NcAttrs *a) {
    NcError e;
    const int r = nc_graph_add_node(g, op, nin, ins, a, nc_op_info(op)->name, &e);
    CHECK_MSG(r >= 0, "%s: %s", nc_op_info(op)->name, r < 0 ? e.msg : "");
    return r;
}

static void set_sizes(NcAttrs *a, int nd, const int64_t *s) {
    *a = nc_attrs_default();
    a->nsizes = nd;
    for (int i = 0; i < nd; i++) a->sizes[i] = s[i];
}

static void check_all(NcGraph *g, const NcCgTarget *t, const char *what) {
    float **data = cgt_values_new(g);
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    cgt_values_free(g, data);
}

static void check_planes(const NcCgTarget *t, int64_t N, int64_t C, int64_t H, int64_t W) {
    char what[96];
    snprintf(what, sizeof what, "[%lld, %lld, %lld, %lld]", (long long)N, (long long)C, (long long)H, (long long)W);
    NcGraph *g = nc_graph_new("train_reduce");
    const int64_t xs[4] = {N, C, H, W}, ps[4] = {N, C, 1, 1}, cs[4] = {1, C, 1, 1};
    const int x = nc_graph_add_input(g, "x", 4, xs), pc = nc_graph_add_input(g, "pc", 4, ps);
    NcAttrs a = nc_attrs_default();
    add_node(g, NC_OP_GLOBAL_AVG_POOL, 1, &x, &a);
    set_sizes(&a, 4, xs);
    add_node(g, NC_OP_GLOBAL_AVG_POOL_GRAD, 1, &pc, &a);
    set_sizes(&a, 4, ps);
    add_node(g, NC_OP_SUM_TO, 1, &x, &a); /* an SE gate's gradient */
    set_sizes(&a, 4, cs);
    add_node(g, NC_OP_SUM_TO, 1, &pc, &a); /* a bias's gradient, [1, C, 1, 1] */
    check_all(g, t, what);
    nc_graph_free(g);
}

static void check_rows(const NcCgTarget *t, int64_t N, int64_t O) {
    char what[96];
    snprintf(what, sizeof what, "[%lld, %lld] -> [%lld]", (long long)N, (long long)O, (long long)O);
    NcGraph *g = nc_graph_new("train_reduce");
    const int64_t xs[2] = {N, O}, os[1] = {O};
    const int x = nc_graph_add_input(g, "x", 2, xs);
    NcAttrs a;
    set_sizes(&a, 1, os);
    add_node(g, NC_OP_SUM_TO, 1, &x, &a);
    check_all(g, t, what);
    nc_graph_free(g);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    static const int64_t planes[4][2] = {{1, 1}, {2, 2}, {7, 7}, {13, 9}};
    for (int n = 1; n <= 3; n += 2)
        for (int c = 5; c <= 19; c += 14)
            for (int pl = 0; pl < 4; pl++) check_planes(&t, n, c, planes[pl][0], planes[pl][1]);
    check_planes(&t, 2, 300, 1, 1); /* [1, 300, 1, 1]: a whole chunk and a ragged one */
    check_rows(&t, 1, 3);
    check_rows(&t, 8, 1000);
    check_rows(&t, 128, 10);
    check_rows(&t, 3, 256);
    /* a kept axis between summed ones: the reference's business */
    NcGraph *g = nc_graph_new("train_reduce");
    const int64_t xs[4] = {2, 3, 4, 5}, os[4] = {1, 3, 1, 1};
    const int x = nc_graph_add_input(g, "x", 4, xs);
    NcAttrs a;
    set_sizes(&a, 4, os);
    const int ni = add_node(g, NC_OP_SUM_TO, 1, &x, &a);
    NcTrainRedPlan p;
    (void)ni;
    CHECK_MSG(!nc_cg_train_red_plan(&p, g, &g->nodes.data[g->nodes.len - 1]), "sum_to [2,3,4,5] -> [1,3,1,1] taken");
    nc_graph_free(g);
    printf("%d kernels checked; worst relative error %.2g (bound 1e-6)\n", cases, worst);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
