/* test_passes.c — every pass and the memory plan against the reference
 * interpreter on the unoptimised graph: the passes may change rounding
 * (BN folding) but not results beyond 1e-5 of max|y|; a planned run (one
 * arena, in-place ops) must equal the unplanned run of the same graph bit
 * for bit; and no two values alive at the same time may share bytes.  On a
 * training step, fuse_bn_act_grad and fuse_bn_act must leave every output
 * (loss, gradients, batch statistics) as it was, bit for bit. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "frontend/nn.h"
#include "passes/autodiff.h"
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

static int count_nodes(const NcGraph *g, NcOpKind op, int ninputs) {
    int n = 0;
    for (int i = 0; i < g->nodes.len; i++)
        n += g->nodes.data[i].op == op && (!ninputs || g->nodes.data[i].ninputs == ninputs);
    return n;
}

/* A model's training step (autodiff) run by the interpreter before and after
 * fuse_bn_act_grad and fuse_bn_act: every output equal bit for bit (the
 * reference rounds the fused activation gradient as act_grad stores it, and
 * relu's and clamp's gradients ask the same of their output as of their
 * input), `want` activation gradients fused, the rest (a residual branch's,
 * SE's) left, `want_fwd` relus or clamps fused into their batch norms. */
static void check_bn_act(const char *model, int h, int w, int batch, int want, int want_fwd) {
    NcGraph *g[2];
    float **out[2];
    for (int k = 0; k < 2; k++) {
        g[k] = load(model, h, w, batch);
        CHECK(g[k] != NULL);
        if (!g[k]) return;
        NcTrainSpec spec = {NC_LOSS_SOFT, 0, 0, 0};
        NcTrainInfo info;
        NcError e;
        int rc = nc_autodiff(g[k], &spec, &info, NULL, &e);
        CHECK_MSG(rc == 0, "%s: %s", model, rc ? e.msg : "");
        if (rc) return;
        nc_train_info_free(&info);
        const int acts = count_nodes(g[k], NC_OP_ACT_GRAD, 0);
        if (k) {
            const int fwd_acts = count_nodes(g[k], NC_OP_RELU, 0) + count_nodes(g[k], NC_OP_CLAMP, 0);
            rc = nc_run_passes(g[k], "fuse_bn_act_grad,fuse_bn_act,dce", NULL, NULL, NULL, &e);
            CHECK_MSG(rc == 0, "%s: %s", model, rc ? e.msg : "");
            const int fused = count_nodes(g[k], NC_OP_BATCH_NORM_TRAIN_GRAD, 6);
            CHECK_MSG(fused == want && acts - count_nodes(g[k], NC_OP_ACT_GRAD, 0) == want,
                      "%s: %d of %d activation gradients fused (want %d)", model, fused, acts, want);
            int fwd = 0;
            for (int i = 0; i < g[k]->nodes.len; i++) {
                const NcNode *n = &g[k]->nodes.data[i];
                fwd += (n->op == NC_OP_BATCH_NORM_TRAIN || n->op == NC_OP_ADD) && n->attrs.nepi == 1;
            }
            const int left = count_nodes(g[k], NC_OP_RELU, 0) + count_nodes(g[k], NC_OP_CLAMP, 0);
            CHECK_MSG(fwd == want_fwd && fwd_acts - left == want_fwd, "%s: %d of %d relus / clamps fused (want %d)",
                      model, fwd, fwd_acts, want_fwd);
        }
        float **ins = nc_calloc((size_t)g[k]->inputs.len, sizeof(float *));
        for (int i = 0; i < g[k]->inputs.len; i++) {
            const size_t n = (size_t)nc_numel(nc_val(g[k], g[k]->inputs.data[i]));
            ins[i] = nc_malloc(n * sizeof(float));
            nc_det_fill_input(ins[i], n);
        }
        out[k] = nc_calloc((size_t)g[k]->outputs.len, sizeof(float *));
        rc = nc_interp_run(g[k], (const float *const *)ins, out[k], NULL, &e);
        CHECK_MSG(rc == 0, "%s: %s", model, rc ? e.msg : "");
        for (int i = 0; i < g[k]->inputs.len; i++) free(ins[i]);
        free(ins);
    }
    int differ = 0;
    CHECK(g[0]->outputs.len == g[1]->outputs.len);
    for (int i = 0; i < g[0]->outputs.len && i < g[1]->outputs.len; i++) {
        const int64_t n = nc_numel(nc_val(g[0], g[0]->outputs.data[i]));
        differ += !out[0][i] || !out[1][i] || memcmp(out[0][i], out[1][i], (size_t)n * sizeof(float)) != 0;
        free(out[0][i]), free(out[1][i]);
    }
    CHECK_MSG(differ == 0, "%s: %d of %d outputs of the step changed by fuse_bn_act_grad", model, differ,
              g[0]->outputs.len);
    printf("fuse_bn_act_grad, fuse_bn_act: %s: %d activation gradients and %d activations fused, %d outputs equal "
           "bit for bit\n",
           model, want, want_fwd, g[0]->outputs.len);
    free(out[0]), free(out[1]);
    nc_graph_free(g[0]), nc_graph_free(g[1]);
}

int main(void) {
    check_bn_act("resnet50", 32, 32, 2, 33, 49); /* 33 after batch norms, 16 after the residual adds */
    check_bn_act("efficientnet_b0", 32, 32, 2, 33, 0);
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
