/* test_fold_constants.c — constant folding on a graph built by hand (the
 * shipped descriptions have nothing to fold once BN is folded): weights ->
 * relu -> mul -> (with the input) add.  The two weight-only nodes must become
 * one parameter, and the interpreter must give the same output before and
 * after. */
#include <string.h>

#include "check.h"
#include "ir/ops.h"
#include "passes/pass.h"
#include "ir/interp.h"

int main(void) {
    NcError e;
    NcGraph *g = nc_graph_new("fold");
    int64_t s[4] = {1, 3, 4, 5};
    int x = nc_graph_add_input(g, "x", 4, s);
    int a = nc_graph_add_param(g, "a", NC_PARAM_WEIGHT, 4, s, &e);
    int b = nc_graph_add_param(g, "b", NC_PARAM_WEIGHT, 4, s, &e);
    for (int id = a; id <= b; id++) {
        NcValue *v = nc_val(g, id);
        v->data = nc_malloc(60 * sizeof(float));
        for (int i = 0; i < 60; i++) v->data[i] = (float)((i * 7 + id * 3) % 11) - 5.0f;
    }
    NcAttrs at = nc_attrs_default();
    int n1 = nc_graph_add_node(g, NC_OP_RELU, 1, &a, &at, "w.relu", &e);
    int r = g->nodes.data[n1].outputs[0];
    int in2[2] = {r, b};
    int n2 = nc_graph_add_node(g, NC_OP_MUL, 2, in2, &at, "w.mul", &e);
    int m = g->nodes.data[n2].outputs[0];
    int in3[2] = {x, m};
    int n3 = nc_graph_add_node(g, NC_OP_ADD, 2, in3, &at, "out", &e);
    CHECK(n1 >= 0 && n2 >= 0 && n3 >= 0);
    nc_vec_push(&g->outputs, g->nodes.data[n3].outputs[0]);
    CHECK_MSG(nc_graph_verify(g, &e) == 0, "%s", e.msg);

    float xin[60];
    for (int i = 0; i < 60; i++) xin[i] = 0.25f * (float)(i % 9) - 1.0f;
    const float *ins[1] = {xin};
    float *before[1] = {NULL}, *after[1] = {NULL};
    CHECK_MSG(nc_interp_run(g, ins, before, NULL, &e) == 0, "%s", e.msg);
    CHECK_MSG(nc_run_passes(g, "fold_constants,dce", NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(g->nodes.len == 1 && g->nodes.data[0].op == NC_OP_ADD);
    int folded = nc_graph_find_param(g, "w.mul.folded0");
    CHECK(folded >= 0 && nc_val(g, folded)->data != NULL);
    CHECK(nc_graph_find_param(g, "a") < 0 && nc_graph_find_param(g, "b") < 0); /* no longer read */
    CHECK_MSG(nc_interp_run(g, ins, after, NULL, &e) == 0, "%s", e.msg);
    int same = before[0] && after[0];
    for (int i = 0; same && i < 60; i++) same = before[0][i] == after[0][i];
    CHECK(same);
    free(before[0]);
    free(after[0]);
    nc_graph_free(g);

    /* unbound weights: nothing folds (and nothing breaks) */
    NcGraph *h = nc_graph_new("unbound");
    int hx = nc_graph_add_input(h, "x", 4, s), ha = nc_graph_add_param(h, "a", NC_PARAM_WEIGHT, 4, s, &e);
    int hn = nc_graph_add_node(h, NC_OP_RELU, 1, &ha, &at, "w.relu", &e);
    int hin[2] = {hx, h->nodes.data[hn].outputs[0]};
    int ho = nc_graph_add_node(h, NC_OP_ADD, 2, hin, &at, "out", &e);
    nc_vec_push(&h->outputs, h->nodes.data[ho].outputs[0]);
    CHECK(nc_run_passes(h, "fold_constants", NULL, NULL, NULL, &e) == 0 && h->nodes.len == 2);
    nc_graph_free(h);
    TEST_MAIN_END();
}
