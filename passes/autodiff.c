/* autodiff.c — reverse-mode differentiation over the IR (autodiff.h).
 *
 * Forward: batch norms to batch statistics, the loss after the logits.
 * Backward: nodes visited last to first; each node whose outputs received a
 * gradient asks its op's rule (the op table's grad column) for its inputs'
 * gradients, and a value read by several nodes sums what they send back (one
 * add per extra reader, in the order the readers are visited).  Only values
 * that depend on a trainable parameter get gradients, so with frozen
 * features the backward is the classifier's alone. */
#include "passes/autodiff.h"

#include <string.h>

#include "ir/ops.h"

static int fail_at(NcError *e, const NcNode *n, const char *what) {
    char why[NC_ERRMAX];
    snprintf(why, sizeof why, "%s", e->msg);
    return nc_errorf(e, "autodiff: %s (%s): %s", n->scope, nc_op_info(n->op)->name, what ? what : why);
}

/* The classifier: the linear layer that makes the logits (through reshapes). */
static int classifier_node(const NcGraph *g, int logits) {
    int v = logits;
    while (nc_val(g, v)->kind == NC_VAL_NODE) {
        const NcNode *n = &g->nodes.data[nc_val(g, v)->producer];
        if (n->op == NC_OP_LINEAR) return nc_val(g, v)->producer;
        if (n->op != NC_OP_RESHAPE) break;
        v = n->inputs[0];
    }
    return -1;
}

static int find_input(const NcGraph *g, const char *name) {
    for (int i = 0; i < g->inputs.len; i++)
        if (!strcmp(nc_val(g, g->inputs.data[i])->name, name)) return g->inputs.data[i];
    return -1;
}

/* grad[v] += d (a new add node when v already has one) */
static int accumulate(NcGraph *g, int *grad, int v, int d, const char *scope, NcError *e) {
    if (grad[v] < 0) return grad[v] = d, 0;
    int in[2] = {grad[v], d};
    NcAttrs a = nc_attrs_default();
    int ni = nc_graph_add_node(g, NC_OP_ADD, 2, in, &a, scope, e);
    if (ni < 0) return -1;
    grad[v] = g->nodes.data[ni].outputs[0];
    return 0;
}

static int backward(NcGraph *g, int nforward, const char *needs_v, int *grad, FILE *explain, NcError *e) {
    for (int ni = nforward - 1; ni >= 0; ni--) {
        const NcNode n = g->nodes.data[ni];
        int dy[NC_MAXOUT], needs[NC_MAXIN], dx[NC_MAXIN], any = 0, wanted = 0;
        for (int j = 0; j < n.noutputs; j++) any |= (dy[j] = grad[n.outputs[j]]) >= 0;
        for (int j = 0; j < n.ninputs; j++) wanted |= needs[j] = needs_v[n.inputs[j]], dx[j] = -1;
        if (!any || !wanted) continue;
        const NcOpInfo *info = nc_op_info(n.op);
        if (!info->grad) return fail_at(e, &n, "this op has no gradient rule");
        int before = g->nodes.len;
        if (info->grad(g, ni, dy, needs, dx, e)) return fail_at(e, &n, NULL);
        if (explain)
            fprintf(explain, "autodiff: %s (%s): %d gradient nodes\n", n.scope, info->name, g->nodes.len - before);
        for (int j = 0; j < n.ninputs; j++)
            if (needs[j] && dx[j] >= 0 && accumulate(g, grad, n.inputs[j], dx[j], n.scope, e)) return fail_at(e, &n, 0);
    }
    return 0;
}

int nc_autodiff(NcGraph *g, const NcTrainSpec *spec, NcTrainInfo *info, FILE *explain, NcError *e) {
    memset(info, 0, sizeof *info);
    if (g->outputs.len != 1 || nc_val(g, g->outputs.data[0])->ndim != 2)
        return nc_errorf(e, "autodiff: the model must have one output, the logits [N, classes]");
    const int logits = g->outputs.data[0], image = g->inputs.data[0], seed = find_input(g, "seed");
    const int64_t N = nc_val(g, logits)->shape[0], K = nc_val(g, logits)->shape[1];
    const int head = classifier_node(g, logits);
    if (spec->freeze_features && head < 0)
        return nc_errorf(e, "autodiff: --freeze-features needs a linear classifier making the logits");

    /* batch statistics, where the features train */
    for (int ni = 0; ni < g->nodes.len && !spec->freeze_features; ni++) {
        if (g->nodes.data[ni].op != NC_OP_BATCH_NORM) continue;
        if (nc_graph_retype_node(g, ni, NC_OP_BATCH_NORM_TRAIN, e)) return fail_at(e, &g->nodes.data[ni], NULL);
    }

    /* the loss */
    int64_t nk[2] = {N, K}, one = 1;
    const int target = nc_graph_add_input(g, "target", 2, nk);
    const int loss_grad = nc_graph_add_input(g, "loss_grad", 1, &one);
    const int weight = spec->loss == NC_LOSS_WEIGHTED ? nc_graph_add_input(g, "class_weight", 1, &K) : -1;
    NcAttrs la = nc_attrs_default();
    la.loss = spec->loss, la.p = spec->smoothing, la.gamma = spec->gamma;
    int lin[3] = {logits, target, weight};
    int lnode = nc_graph_add_node(g, NC_OP_CROSS_ENTROPY, weight >= 0 ? 3 : 2, lin, &la, "loss", e);
    if (lnode < 0) return nc_error_prefix(e, "autodiff: the loss");
    const int loss = g->nodes.data[lnode].outputs[0], nforward = g->nodes.len, nv = g->values.len;

    /* trainable: every weight and bias a node reads, or the classifier's;
     * needs_v: the values that depend on one */
    char *needs_v = nc_calloc((size_t)nv, 1);
    for (int ni = 0; ni < nforward; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        if (spec->freeze_features && ni != head) continue;
        for (int j = 0; j < n->ninputs; j++) {
            const NcValue *v = nc_val(g, n->inputs[j]);
            if (v->kind == NC_VAL_PARAM && (v->role == NC_PARAM_WEIGHT || v->role == NC_PARAM_BIAS)) needs_v[v->id] = 1;
        }
    }
    char *trainable = nc_malloc((size_t)nv);
    memcpy(trainable, needs_v, (size_t)nv);
    for (int ni = 0; ni < nforward; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        char d = 0;
        for (int j = 0; j < n->ninputs; j++) d |= needs_v[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++) needs_v[n->outputs[j]] = d;
    }

    /* backward: grad[v] is forward value v's gradient (rules read and
     * accumulate only forward values, so nv entries suffice) */
    int *grad = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nv; i++) grad[i] = -1;
    grad[loss] = loss_grad;
    int rc = backward(g, nforward, needs_v, grad, explain, e);

    /* outputs: loss, logits, the gradients, the batch statistics */
    if (!rc) {
        g->outputs.len = 0;
        g->train_step = 1;
        nc_vec_push(&g->outputs, loss);
        nc_vec_push(&g->outputs, logits);
        info->param = nc_calloc((size_t)nv, sizeof(char *));
        for (int v = 0; v < nv && !rc; v++) {
            if (!trainable[v]) continue;
            if (grad[v] < 0) { /* a parameter the loss does not depend on */
                NcAttrs z = nc_attrs_default();
                z.nsizes = nc_val(g, v)->ndim;
                memcpy(z.sizes, nc_val(g, v)->shape, sizeof(int64_t) * (size_t)z.nsizes);
                int zn = nc_graph_add_node(g, NC_OP_ZEROS, 0, NULL, &z, nc_val(g, v)->name, e);
                if (zn < 0) {
                    rc = -1;
                    break;
                }
                grad[v] = g->nodes.data[zn].outputs[0];
            }
            info->param[info->nparams++] = nc_strdup(nc_val(g, v)->name);
            nc_vec_push(&g->outputs, grad[v]);
        }
        info->bn = nc_calloc(2 * (size_t)nforward + 2, sizeof(char *));
        for (int ni = 0; ni < nforward && !rc; ni++) {
            const NcNode *n = &g->nodes.data[ni];
            if (n->op != NC_OP_BATCH_NORM_TRAIN) continue;
            info->bn[2 * info->nbn] = nc_strdup(nc_val(g, n->inputs[3])->name);
            info->bn[2 * info->nbn++ + 1] = nc_strdup(nc_val(g, n->inputs[4])->name);
            nc_vec_push(&g->outputs, n->outputs[1]);
            nc_vec_push(&g->outputs, n->outputs[2]);
        }
    }
    /* inputs in their documented order */
    if (!rc) {
        g->inputs.len = 0;
        nc_vec_push(&g->inputs, image);
        nc_vec_push(&g->inputs, target);
        nc_vec_push(&g->inputs, loss_grad);
        if (weight >= 0) nc_vec_push(&g->inputs, weight);
        if (seed >= 0) nc_vec_push(&g->inputs, seed);
        info->has_class_weight = weight >= 0;
        info->has_seed = seed >= 0;
        if (explain)
            fprintf(explain, "autodiff: %d forward nodes, %d gradient nodes, %d trainable tensors, %d batch norms\n",
                    nforward, g->nodes.len - nforward, info->nparams, info->nbn);
    }
    free(grad);
    free(needs_v);
    free(trainable);
    if (rc) nc_train_info_free(info);
    return rc;
}

void nc_train_info_free(NcTrainInfo *info) {
    for (int i = 0; i < info->nparams; i++) free(info->param[i]);
    for (int i = 0; i < 2 * info->nbn; i++) free(info->bn[i]);
    free(info->param);
    free(info->bn);
    memset(info, 0, sizeof *info);
}
