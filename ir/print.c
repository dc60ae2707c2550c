/* print.c — the text form of a graph, one line per node:
 *   %12 = conv2d(%11, @layer1.0.conv1.weight) k=1x1 s=1x1 pad=0,0,0,0  -> [1, 64, 56, 56]   # layer1.0.conv1
 */
#include "ir/ops.h"

static void print_ref(const NcGraph *g, FILE *out, int id) {
    const NcValue *v = &g->values.data[id];
    if (v->kind == NC_VAL_PARAM)
        fprintf(out, "@%s", v->name);
    else
        fprintf(out, "%%%d", id);
}

static void print_attrs(const NcNode *n, FILE *out) {
    const NcAttrs *a = &n->attrs;
    unsigned m = nc_op_info(n->op)->attrs;
    if (n->op == NC_OP_BATCH_NORM_TRAIN_GRAD && n->ninputs == 6) /* an activation's gradient fused in */
        m |= NC_ATTR_ACT | (n->attrs.act == NC_EPI_CLAMP ? NC_ATTR_CLAMP : 0);
    if (m & NC_ATTR_KERNEL) fprintf(out, " k=%dx%d", a->kernel[0], a->kernel[1]);
    if (m & NC_ATTR_STRIDE) fprintf(out, " s=%dx%d", a->stride[0], a->stride[1]);
    if ((m & NC_ATTR_DILATION) && (a->dilation[0] != 1 || a->dilation[1] != 1))
        fprintf(out, " d=%dx%d", a->dilation[0], a->dilation[1]);
    if (m & NC_ATTR_PAD) fprintf(out, " pad=%d,%d,%d,%d", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
    if (a->has_in_scale) fprintf(out, " input-scaled");
    if ((m & NC_ATTR_GROUPS) && a->groups != 1) fprintf(out, " groups=%d", a->groups);
    if ((m & NC_ATTR_CEIL) && a->ceil_mode) fprintf(out, " ceil");
    if ((m & NC_ATTR_INCLUDE_PAD) && !a->count_include_pad) fprintf(out, " exclude_pad");
    if (m & NC_ATTR_AXIS) fprintf(out, " axis=%d", a->axis);
    if (m & NC_ATTR_RADIX) fprintf(out, " radix=%d card=%d", a->radix, a->cardinality);
    if (m & NC_ATTR_EPS) fprintf(out, " eps=%g", (double)a->eps);
    if (m & NC_ATTR_CLAMP) fprintf(out, " lo=%g hi=%g", (double)a->lo, (double)a->hi);
    if ((m & NC_ATTR_EPILOGUE) && a->nepi) {
        fprintf(out, " then");
        for (int i = 0; i < a->nepi; i++) {
            fprintf(out, i ? ",%s" : " %s", nc_epi_name(a->epi[i].kind));
            if (a->epi[i].kind == NC_EPI_ADD || a->epi[i].kind == NC_EPI_MUL) fprintf(out, "(in%d)", a->epi[i].input);
        }
    }
    if (m & NC_ATTR_ACT) fprintf(out, " act=%s", nc_epi_name((NcEpiKind)a->act));
    if (m & NC_ATTR_TRAIN) {
        static const char *loss[] = {"soft", "weighted", "focal"};
        if (a->loss >= 0 && a->loss <= NC_LOSS_FOCAL && (a->loss || a->p || a->gamma))
            fprintf(out, " loss=%s", loss[a->loss]);
        if (a->p) fprintf(out, " p=%g", (double)a->p);
        if (a->gamma) fprintf(out, " gamma=%g", (double)a->gamma);
        if (a->salt) fprintf(out, " salt=%u", a->salt);
        if (a->per_sample) fprintf(out, " per_sample");
    }
    if (m & NC_ATTR_SIZES) {
        fprintf(out, " sizes=");
        for (int i = 0; i < a->nsizes; i++) fprintf(out, i ? ",%lld" : "%lld", (long long)a->sizes[i]);
    }
}

void nc_graph_print(const NcGraph *g, FILE *out) {
    char buf[128];
    fprintf(out, "graph %s {\n", g->name);
    for (int i = 0; i < g->inputs.len; i++) {
        const NcValue *v = &g->values.data[g->inputs.data[i]];
        fprintf(out, "  input %%%d \"%s\" f32 %s\n", v->id, v->name, nc_shape_str(v->ndim, v->shape, buf, sizeof buf));
    }
    int nparams = 0;
    for (int i = 0; i < g->values.len; i++) nparams += g->values.data[i].kind == NC_VAL_PARAM;
    fprintf(out, "  # %d parameter tensors, %lld parameters\n", nparams, (long long)nc_graph_param_count(g));
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        fprintf(out, "  ");
        for (int j = 0; j < n->noutputs; j++) fprintf(out, j ? ", %%%d" : "%%%d", n->outputs[j]);
        fprintf(out, " = %s(", nc_op_info(n->op)->name);
        for (int j = 0; j < n->ninputs; j++) {
            if (j) fprintf(out, ", ");
            print_ref(g, out, n->inputs[j]);
        }
        fprintf(out, ")");
        print_attrs(n, out);
        const NcValue *o = &g->values.data[n->outputs[0]];
        fprintf(out, " -> %s", nc_shape_str(o->ndim, o->shape, buf, sizeof buf));
        if (o->ndim == 4 && o->layout == NC_LAYOUT_NHWC) fprintf(out, " nhwc");
        if (o->dtype == NC_BF16) fprintf(out, " bf16"); /* stored bf16 (passes/assign_dtype.c) */
        if (n->noutputs > 1) fprintf(out, " x%d", n->noutputs);
        /* may take its operand's storage (passes/epilogue_inplace.c) */
        if (n->out_over > 0 && n->out_over <= n->ninputs) fprintf(out, " over %%%d", n->inputs[n->out_over - 1]);
        if (n->scope && n->scope[0]) fprintf(out, "  # %s", n->scope);
        fprintf(out, "\n");
    }
    fprintf(out, "  return");
    for (int i = 0; i < g->outputs.len; i++) fprintf(out, i ? ", %%%d" : " %%%d", g->outputs.data[i]);
    fprintf(out, "\n}\n");
}
