/* test_cg_train_loss.c — the training step's soft-target cross-entropy and
 * its gradient (cg_nchw_train_loss.h) against the op table's reference
 * kernels (ir/ref_train.c): one-hot, label-smoothed and CutMix-like mixed
 * targets, 1 to 1000 classes, logits up to +-80 (exp overflows without the
 * maximum subtracted), a row holding a NaN, the focal loss of gamma 0 (the
 * same loss), and dloss other than 1.  Both compute in double in the same
 * order (the compiler may still contract a multiply-add in one of them), so
 * the bound is tight: max |got - want| <= 1e-6 max |want| (NaN where the
 * reference has NaN); the weighted loss and the focal loss of gamma > 0 must be
 * refused (they stay on the reference).  Inputs end at an unreadable page,
 * outputs are fenced by canaries; the rows run across threads, then in
 * reverse in uneven ranges over NaN-filled outputs. */
#include "codegen/cpu/cg_nchw_train_loss.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst;

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_loss_emit(m, p, "k", k); }

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    const NcNode *nd = &g->nodes.data[ni];
    char what[256];
    snprintf(what, sizeof what, "%s %s", nc_op_info(nd->op)->name, what0);
    NcTrainLossPlan p;
    const int ok = nc_cg_train_loss_plan(&p, g, nd);
    CHECK_MSG(ok, "%s: refused", what);
    const double err = ok ? cgt_check_train_kernel(t, g, nd, data, emit, &p, 1e-6, what) : -1;
    if (err > worst) worst = err;
    cases += err >= 0;
}

/* targets: 0 one-hot, 1 smoothed one-hot (0.1), 2 two classes mixed (CutMix's lam) and smoothed */
static void check_loss(const NcCgTarget *t, int64_t N, int64_t K, float zscale, int targets, int nan_row,
                       NcLossKind kind, float gamma, float dloss) {
    char what[160];
    snprintf(what, sizeof what, "[%lld, %lld] logits x%g, targets %d%s%s, dloss %g", (long long)N, (long long)K,
             (double)zscale, targets, nan_row ? ", a NaN" : "", kind == NC_LOSS_FOCAL ? ", focal gamma 0" : "",
             (double)dloss);
    NcGraph *g = nc_graph_new("train_loss");
    const int64_t zs[2] = {N, K}, ls[1] = {1};
    const int z = nc_graph_add_input(g, "z", 2, zs), tg = nc_graph_add_input(g, "t", 2, zs);
    const int dl = nc_graph_add_input(g, "dloss", 1, ls);
    NcAttrs a = nc_attrs_default();
    a.loss = kind, a.gamma = gamma;
    NcError e;
    const int ins[2] = {z, tg}, gins[3] = {dl, z, tg};
    int r = nc_graph_add_node(g, NC_OP_CROSS_ENTROPY, 2, ins, &a, "loss", &e);
    CHECK_MSG(r >= 0, "%s", r < 0 ? e.msg : "");
    r = r < 0 ? r : nc_graph_add_node(g, NC_OP_CROSS_ENTROPY_GRAD, 3, gins, &a, "dloss", &e);
    CHECK_MSG(r >= 0, "%s", r < 0 ? e.msg : "");
    float **data = cgt_values_new(g);
    for (int64_t i = 0; i < N * K; i++) data[z][i] *= zscale;
    for (int64_t n = 0; n < N; n++) {
        float *row = data[tg] + n * K;
        const float s = targets ? 0.1f : 0.0f, lam = targets == 2 ? 0.3f + 0.05f * (float)(n % 5) : 1.0f;
        for (int64_t k = 0; k < K; k++) row[k] = s / (float)K;
        row[(n * 7) % K] += (1 - s) * lam;
        row[(n * 13 + 1) % K] += (1 - s) * (1 - lam);
    }
    if (nan_row) data[z][(N / 2) * K + K / 3] = NAN;
    data[dl][0] = dloss;
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    cgt_values_free(g, data);
    nc_graph_free(g);
}

/* the weighted loss and focal gamma > 0: not this kernel's */
static void check_refused(NcLossKind kind, float gamma) {
    NcGraph *g = nc_graph_new("train_loss");
    const int64_t zs[2] = {4, 10}, ws[1] = {10};
    int ins[3] = {nc_graph_add_input(g, "z", 2, zs), nc_graph_add_input(g, "t", 2, zs), 0};
    if (kind == NC_LOSS_WEIGHTED) ins[2] = nc_graph_add_input(g, "w", 1, ws);
    NcAttrs a = nc_attrs_default();
    a.loss = kind, a.gamma = gamma;
    NcError e;
    const int r = nc_graph_add_node(g, NC_OP_CROSS_ENTROPY, kind == NC_LOSS_WEIGHTED ? 3 : 2, ins, &a, "loss", &e);
    CHECK_MSG(r >= 0, "%s", r < 0 ? e.msg : "");
    NcTrainLossPlan p;
    if (r >= 0) CHECK_MSG(!nc_cg_train_loss_plan(&p, g, &g->nodes.data[r]), "loss kind %d gamma %g taken", kind, gamma);
    nc_graph_free(g);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    check_loss(&t, 16, 1000, 4.0f, 2, 0, NC_LOSS_SOFT, 0, 1.0f); /* the benchmark's: CutMix + smoothing */
    check_loss(&t, 3, 10, 1.0f, 0, 0, NC_LOSS_SOFT, 0, 1.0f);
    check_loss(&t, 5, 7, 80.0f, 1, 0, NC_LOSS_SOFT, 0, 0.5f); /* exp(80) overflows float without the max */
    check_loss(&t, 1, 1, 1.0f, 0, 0, NC_LOSS_SOFT, 0, 1.0f);
    check_loss(&t, 4, 33, 2.0f, 1, 1, NC_LOSS_SOFT, 0, 1.0f); /* a NaN logit: its row and the loss NaN */
    check_loss(&t, 6, 19, 3.0f, 2, 0, NC_LOSS_FOCAL, 0, -2.0f);
    check_refused(NC_LOSS_WEIGHTED, 0);
    check_refused(NC_LOSS_FOCAL, 2.0f);
    printf("%d kernels checked; worst relative error %.2g (bound 1e-6)\n", cases, worst);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
