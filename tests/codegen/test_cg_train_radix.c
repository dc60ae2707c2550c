/* test_cg_train_radix.c — the training step's split-attention kernels (cg_nchw_train_radix.h: radix_gap,
 * radix_combine and their gradients) against the op table's reference kernels (ir/ref_shape.c,
 * ir/ref_grad_pool.c): radix 1, 2, 3 and 4, channel counts off the vector width, planes 1x1, 2x2, 7x7, 13x9
 * and 56x56 (ResNeSt's first stage), batch 1 and 3.  Inputs end at an unreadable page, outputs are fenced by
 * canaries, the tiles run across threads, then in reverse over NaN-filled outputs (tests/codegen/
 * cg_train_test.h).  Bounds: radix_combine and radix_gap_grad bit for bit (the same roundings in the same
 * order); radix_gap and radix_combine_grad's attention gradient 1e-6 of the largest |value| (double sums in
 * another order).  A radix above the kernels' unrolling must be refused (the reference takes it). */
#include "codegen/cpu/cg_nchw_train_radix.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst[2]; /* bit-for-bit kinds, summing kinds */

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_radix_emit(m, p, "k", k); }

static int add_node(NcGraph *g, NcOpKind op, int nin, const int *ins, const NcAttrs *a) {
    NcError e;
    const int r = nc_graph_add_node(g, op, nin, ins, a, nc_op_info(op)->name, &e);
    CHECK_MSG(r >= 0, "%s: %s", nc_op_info(op)->name, r < 0 ? e.msg : "");
    return r;
}

static void check(const NcCgTarget *t, int64_t N, int R, int64_t C, int64_t H, int64_t W) {
    char what[128];
    snprintf(what, sizeof what, "%s: N %lld radix %d C %lld %lldx%lld", t->cpu, (long long)N, R, (long long)C,
             (long long)H, (long long)W);
    NcGraph *g = nc_graph_new("train_radix");
    const int64_t xs[4] = {N, R * C, H, W}, ys[4] = {N, C, H, W}, as[4] = {N, R * C, 1, 1}, gs[4] = {N, C, 1, 1};
    const int x = nc_graph_add_input(g, "x", 4, xs), att = nc_graph_add_input(g, "attn", 4, as);
    const int dy = nc_graph_add_input(g, "dy", 4, ys), dg = nc_graph_add_input(g, "dgap", 4, gs);
    NcAttrs a = nc_attrs_default();
    a.radix = R, a.cardinality = 1;
    const int gap = add_node(g, NC_OP_RADIX_GAP, 1, &x, &a);
    const int comb_in[2] = {x, att};
    const int comb = add_node(g, NC_OP_RADIX_COMBINE, 2, comb_in, &a);
    a.nsizes = 4;
    for (int i = 0; i < 4; i++) a.sizes[i] = xs[i];
    const int gap_grad = add_node(g, NC_OP_RADIX_GAP_GRAD, 1, &dg, &a);
    const int cg_in[3] = {dy, x, att};
    const int comb_grad = add_node(g, NC_OP_RADIX_COMBINE_GRAD, 3, cg_in, &a);
    if (gap < 0 || comb < 0 || gap_grad < 0 || comb_grad < 0) {
        nc_graph_free(g);
        return;
    }
    float **data = cgt_values_new(g);
    const int nodes[4] = {gap, comb, gap_grad, comb_grad};
    for (int j = 0; j < 4; j++) {
        const NcNode *nd = &g->nodes.data[nodes[j]];
        const int exact = nd->op == NC_OP_RADIX_COMBINE || nd->op == NC_OP_RADIX_GAP_GRAD;
        char w[192];
        snprintf(w, sizeof w, "%s %s", nc_op_info(nd->op)->name, what);
        NcTrainRadixPlan p;
        const int ok = nc_cg_train_radix_plan(&p, g, nd);
        CHECK_MSG(ok, "%s: refused", w);
        const double err = ok ? cgt_check_train_kernel(t, g, nd, data, emit, &p, exact ? 0 : 1e-6, w) : -1;
        if (err > worst[!exact]) worst[!exact] = err;
        cases += err >= 0;
    }
    cgt_values_free(g, data);
    nc_graph_free(g);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    static const int64_t planes[5][2] = {{1, 1}, {2, 2}, {7, 7}, {13, 9}, {56, 56}};
    for (int R = 1; R <= 4; R++)
        for (int pl = 0; pl < 5; pl++) {
            check(&t, pl == 4 ? 2 : 3, R, pl == 4 ? 6 : 17, planes[pl][0], planes[pl][1]);
            if (pl < 4) check(&t, 1, R, 5, planes[pl][0], planes[pl][1]);
        }
    if (t.vw == 16) { /* AVX2's 8-float vectors too, a subset of this host's ISA */
        NcCgTarget t2;
        NcError e;
        if (nc_cg_target_init(&t2, "haswell", NULL, &e) == 0) {
            check(&t2, 3, 2, 17, 13, 9);
            check(&t2, 2, 2, 6, 56, 56);
            nc_cg_target_free(&t2);
        }
    }
    /* radix 9: past the unrolling, left to the reference */
    NcGraph *g = nc_graph_new("train_radix");
    const int64_t xs[4] = {1, 18, 3, 3};
    const int x = nc_graph_add_input(g, "x", 4, xs);
    NcAttrs a = nc_attrs_default();
    a.radix = 9, a.cardinality = 1;
    const int ni = add_node(g, NC_OP_RADIX_GAP, 1, &x, &a);
    NcTrainRadixPlan p;
    CHECK_MSG(ni >= 0 && !nc_cg_train_radix_plan(&p, g, &g->nodes.data[ni]), "radix 9 taken");
    nc_graph_free(g);
    printf("%d kernels checked; worst relative error: bit-for-bit kinds %.2g (bound 0), sums %.2g (bound 1e-6)\n",
           cases, worst[0], worst[1]);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
