/* test_passes.c — every pass and the memory plan against the reference
 * interpreter on the unoptimised graph: the passes may change rounding
 * (BN folding) but not results beyond 1e-5 of max|y|; a planned run (one
 * arena, in-place ops) must equal the unplanned run of the same graph bit
 * for bit; and no two values alive at the same time may share bytes. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "frontend/nn.h"
#include "passes/pass.h"
#include "runtime/support/detinit.h"
#include "ir/interp.h"
#include "ir/weights.h"

static NcGraph *load(const char *model, int h, int w, int batch) {
    char *path = nc_sprintf("%s/models/%s.nn", NETC_SOURCE_DIR, model);
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = h, opt.width = w, opt.batch = batch;
    NcError e;
    NcGraph *g = nc_nn_elaborate(path, &opt, &e);
    free(path);
    if (!g) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    nc_weights_init_det(g);
    return g;
}

static float *run(const NcGraph *g, const NcPlan *plan) {
    const NcValue *iv = nc_val(g, g->inputs.data[0]);
    float *x = nc_malloc((size_t)nc_numel(iv) * sizeof(float)), *y = NULL;
    nc_det_fill_input(x, (size_t)nc_numel(iv));
    const float *ins[1] = {x};
    NcError e;
    int rc = plan ? nc_interp_run_planned(g, plan, ins, &y, NULL, &e) : nc_interp_run(g, ins, &y, NULL, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    free(x);
    return y;
}

/* Independent check of a plan: values whose lifetimes overlap and that do
 * not share storage must not share bytes. */
static int plan_is_sound(const NcGraph *g, const NcPlan *p) {
    int nv = g->values.len, nn = g->nodes.len;
    int *last = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nv; i++) last[i] = nc_val(g, i)->producer;
    for (int ni = 0; ni < nn; ni++)
        for (int j = 0; j < g->nodes.data[ni].ninputs; j++) last[g->nodes.data[ni].inputs[j]] = ni;
    for (int i = 0; i < g->outputs.len; i++) last[g->outputs.data[i]] = nn;
    int ok = 1;
    for (int a = 0; a < nv && ok; a++) {
        const NcValue *va = nc_val(g, a);
        if (va->kind != NC_VAL_NODE) continue;
        if (p->offset[a] < 0 || p->offset[a] % 64 || p->offset[a] + nc_numel(va) * 4 > p->arena_bytes) ok = 0;
        for (int b = a + 1; b < nv && ok; b++) {
            const NcValue *vb = nc_val(g, b);
            if (vb->kind != NC_VAL_NODE || p->alias_of[a] == p->alias_of[b]) continue;
            int t = !(last[a] < vb->producer || last[b] < va->producer);
            int s =
                !(p->offset[a] + nc_numel(va) * 4 <= p->offset[b] || p->offset[b] + nc_numel(vb) * 4 <= p->offset[a]);
            if (t && s) {
                fprintf(stderr, "values %%%d and %%%d overlap in time and space\n", a, b);
                ok = 0;
            }
        }
    }
    free(last);
    return ok;
}

static void check_model(const char *model, int h, int w, int batch) {
    NcGraph *ref = load(model, h, w, batch), *opt = load(model, h, w, batch);
    if (!ref || !opt) {
        CHECK(0);
        return;
    }
    NcError e;
    int before = opt->nodes.len;
    CHECK_MSG(nc_run_passes(opt, "default", NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK_MSG(opt->nodes.len < before, "%s: passes left %d of %d nodes", model, opt->nodes.len, before);
    float *y0 = run(ref, NULL), *y1 = run(opt, NULL);
    const NcValue *ov = nc_val(ref, ref->outputs.data[0]);
    double maxref = 0, maxerr = 0;
    for (int64_t i = 0; i < nc_numel(ov); i++) {
        maxref = fmax(maxref, fabs(y0[i]));
        maxerr = fmax(maxerr, fabs((double)y0[i] - y1[i]));
    }
    CHECK_MSG(maxerr <= 1e-5 * maxref, "%s: passes changed the output by %g (max %g)", model, maxerr, maxref);
    printf("%s %dx%d b%d: %d -> %d nodes, max|diff| %.2e of max|y| %.3g\n", model, h, w, batch, before, opt->nodes.len,
           maxerr, maxref);
    /* plans of both graphs: sound, and bit-identical results */
    NcGraph *graphs[2] = {ref, opt};
    float *unplanned[2] = {y0, y1};
    for (int k = 0; k < 2; k++) {
        NcPlan plan;
        CHECK(nc_plan_memory(graphs[k], &plan, NULL, &e) == 0);
        CHECK_MSG(plan_is_sound(graphs[k], &plan), "%s: unsound plan", model);
        CHECK(plan.arena_bytes >= plan.peak_live && plan.arena_bytes <= plan.naive_bytes);
        float *yp = run(graphs[k], &plan);
        CHECK_MSG(memcmp(yp, unplanned[k], (size_t)nc_numel(ov) * sizeof(float)) == 0,
                  "%s: planned run differs (%s graph)", model, k ? "optimised" : "original");
        printf("  plan (%s): arena %lld B, naive %lld B, peak live %lld B, %d in place\n", k ? "optimised" : "original",
               (long long)plan.arena_bytes, (long long)plan.naive_bytes, (long long)plan.peak_live, plan.inplace);
        free(yp);
        nc_plan_free(&plan);
    }
    free(y0);
    free(y1);
    nc_graph_free(ref);
    nc_graph_free(opt);
}

static void check_each_pass_alone(void) {
    int n;
    const NcPass *p = nc_passes(&n);
    for (int i = 0; i < n; i++) {
        NcGraph *g = load("resnest26d", 64, 48, 1);
        NcError e;
        CHECK_MSG(nc_run_passes(g, p[i].name, NULL, NULL, NULL, &e) == 0, "%s: %s", p[i].name, e.msg);
        CHECK(nc_graph_verify(g, &e) == 0);
        nc_graph_free(g);
    }
    NcGraph *g = load("resnet50", 32, 32, 1);
    NcError e;
    CHECK(nc_run_passes(g, "fold_bn,nosuchpass", NULL, NULL, NULL, &e) != 0);
    CHECK(strstr(e.msg, "unknown pass 'nosuchpass'") != NULL);
    nc_graph_free(g);
}

/* fuse_eltwise on tests/codegen/op_zoo.nn: g * c + d, p0 * p1 + p1 + q and
 * k * gap(k) + k must each end as one mul carrying its adds (4 add steps in
 * all), no add node left. */
static void check_eltwise_chain(void) {
    char *path = nc_sprintf("%s/tests/codegen/op_zoo.nn", NETC_SOURCE_DIR);
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = 37, opt.width = 29, opt.batch = 1;
    NcError e;
    NcGraph *g = nc_nn_elaborate(path, &opt, &e);
    free(path);
    CHECK_MSG(g != NULL, "%s", e.msg);
    if (!g) return;
    nc_weights_init_det(g);
    CHECK_MSG(nc_run_passes(g, "default", NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    int fused = 0, steps = 0, adds = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const NcNode *n = &g->nodes.data[i];
        if (n->op == NC_OP_MUL && n->attrs.nepi && n->attrs.epi[0].kind == NC_EPI_ADD) {
            fused++;
            for (int k = 0; k < n->attrs.nepi; k++) steps += n->attrs.epi[k].kind == NC_EPI_ADD;
        }
        adds += n->op == NC_OP_ADD;
    }
    CHECK_MSG(fused == 3 && steps == 4 && adds == 0,
              "op_zoo: %d fused mul+add chains with %d add steps, %d adds left (want 3, 4, 0)", fused, steps, adds);
    nc_graph_free(g);
}

/* ResNeSt's split attention (models/lib/resnet.nn) pools and combines its
 * branches without splitting them: resnest26d has 8 blocks. */
static void check_split_attention(void) {
    NcGraph *g = load("resnest26d", 64, 64, 1);
    NcError e;
    CHECK_MSG(nc_run_passes(g, "default", NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    int gap = 0, combine = 0, splits = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        gap += g->nodes.data[i].op == NC_OP_RADIX_GAP;
        combine += g->nodes.data[i].op == NC_OP_RADIX_COMBINE;
        splits += g->nodes.data[i].op == NC_OP_SPLIT;
    }
    CHECK_MSG(gap == 8 && combine == 8 && splits == 0,
              "resnest26d: %d radix_gap, %d radix_combine, %d splits (want 8, 8, 0)", gap, combine, splits);
    nc_graph_free(g);
}

/* A conv marked by epilogue_inplace (NcNode.out_over, set here as the CPU backend's hook would) gets its
 * residual's storage where the residual dies there, and not where it is read later (here: made a graph
 * output) or where it is also the conv's input. */
static void check_out_over(void) {
    NcGraph *g = load("resnet50", 64, 64, 1);
    NcError e;
    CHECK_MSG(nc_run_passes(g, "default", NULL, NULL, NULL, &e) == 0, "%s", e.msg);
    int marked = 0, kept = -1, self = -1;
    for (int i = 0; i < g->nodes.len; i++) {
        NcNode *n = &g->nodes.data[i];
        for (int s = 0; s < n->attrs.nepi; s++)
            if (n->op == NC_OP_CONV2D && n->attrs.epi[s].kind == NC_EPI_ADD) n->out_over = n->attrs.epi[s].input + 1;
        if (!n->out_over) continue;
        if (marked++ == 1) { /* the second block's residual, read after the end: apart */
            kept = i;
            nc_vec_push(&g->outputs, n->inputs[n->out_over - 1]);
        }
    }
    /* a marked node whose operand is its own input: apart (the kernel reads the input after writing) */
    for (int i = 0; i < g->nodes.len && self < 0; i++) {
        NcNode *n = &g->nodes.data[i];
        if (n->op == NC_OP_CONV2D && !n->out_over && n->ninputs < NC_MAXIN && n->attrs.nepi < NC_MAX_EPI &&
            nc_shape_eq(nc_val(g, n->inputs[0]), nc_val(g, n->outputs[0]))) {
            const int j = n->ninputs++;
            n->inputs[j] = n->inputs[0];
            n->attrs.epi[n->attrs.nepi++] = (NcEpilogue){.kind = NC_EPI_ADD, .input = j};
            n->out_over = j + 1;
            self = i;
        }
    }
    CHECK_MSG(marked == 16 && self >= 0, "resnet50: %d convs with a residual (want 16), a same-shape conv %d", marked,
              self);
    NcPlan plan;
    CHECK(nc_plan_memory(g, &plan, NULL, &e) == 0);
    CHECK_MSG(plan_is_sound(g, &plan), "resnet50 with out_over: unsound plan");
    int over = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const NcNode *n = &g->nodes.data[i];
        if (!n->out_over) continue;
        const int same = plan.alias_of[n->outputs[0]] == plan.alias_of[n->inputs[n->out_over - 1]];
        over += same;
        CHECK_MSG(same == (i != kept && i != self), "%s: output %s its operand's storage", n->scope,
                  same ? "took" : "did not take");
    }
    CHECK_MSG(over == 15, "%d convs stored over their residual (want 15)", over);
    nc_plan_free(&plan);
    nc_graph_free(g);
}

int main(void) {
    check_out_over();
    check_eltwise_chain();
    check_split_attention();
    check_model("resnet50", 64, 64, 2);
    check_model("resnest26d", 64, 48, 1);
    check_model("regnety_016", 64, 64, 1);
    check_model("regnetx_016", 48, 64, 1);
    check_model("efficientnet_b0", 64, 64, 2);
    check_model("tf_efficientnet_b4", 67, 67, 1);
    check_each_pass_alone();
    TEST_MAIN_END();
}
