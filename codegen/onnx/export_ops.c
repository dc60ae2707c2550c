/* export_ops.c — the per-op table of the exporter: each IR op (a row keyed by
 * the op table's NcOpKind) onto the ONNX nodes that compute the same values
 * with the same roundings where ONNX allows (a fused epilogue is written as
 * the ops it stands for, in its order).  Every form is one that ONNX Runtime
 * and netc's importer both read: pads inside Conv / pools, constant shapes,
 * split sizes and clip bounds as initializers.  An op without a row (the
 * layout and training ops) is an error naming it and its layer. */
#include <string.h>

#include "codegen/onnx/export_int.h"

typedef int (*ExFn)(Ex *X, const NcNode *n);

static const char *in_name(Ex *X, const NcNode *n, int k) { return ex_name(X, n->inputs[k]); }
static const char *out_name(Ex *X, const NcNode *n, int k) { return ex_name(X, n->outputs[k]); }

/* out = act(x): one elementwise step (an activation op, or an epilogue step). */
static void act_step(Ex *X, NcEpiKind kind, float lo, float hi, const char *x, const char *operand, const char *out) {
    switch (kind) {
    case NC_EPI_RELU: ex_node1(X, "Relu", x, out); break;
    case NC_EPI_CLAMP: {
        const char *in[3] = {x, ex_const_f32(X, "min", lo), ex_const_f32(X, "max", hi)};
        ex_node(X, "Clip", 3, in, 1, &out);
        break;
    }
    case NC_EPI_SILU: { /* ONNX 17 has no SiLU: x * sigmoid(x), as torch.onnx writes it */
        const char *s = ex_tmp(X, "sigmoid");
        ex_node1(X, "Sigmoid", x, s);
        const char *in[2] = {x, s};
        ex_node(X, "Mul", 2, in, 1, &out);
        break;
    }
    case NC_EPI_SIGMOID: ex_node1(X, "Sigmoid", x, out); break;
    case NC_EPI_ADD:
    case NC_EPI_MUL: {
        const char *in[2] = {x, operand};
        ex_node(X, kind == NC_EPI_ADD ? "Add" : "Mul", 2, in, 1, &out);
        break;
    }
    }
}

/* The anchor's result is in `y` (a temporary when there are steps); the steps write the node's output. */
static void epilogue(Ex *X, const NcNode *n, const char *y) {
    const NcAttrs *a = &n->attrs;
    for (int s = 0; s < a->nepi; s++) {
        const NcEpilogue *ep = &a->epi[s];
        const char *dst = s == a->nepi - 1 ? out_name(X, n, 0) : ex_tmp(X, nc_epi_name(ep->kind));
        const char *operand = ep->kind == NC_EPI_ADD || ep->kind == NC_EPI_MUL ? in_name(X, n, ep->input) : NULL;
        act_step(X, ep->kind, ep->lo, ep->hi, y, operand, dst);
        y = dst;
    }
}

/* Where an anchor writes: the output itself, or a temporary its epilogue reads. */
static const char *anchor_out(Ex *X, const NcNode *n, const char *what) {
    return n->attrs.nepi ? ex_tmp(X, what) : out_name(X, n, 0);
}

static void window(Ex *X, Onnx__NodeProto *o, const int *kernel, const NcAttrs *a) {
    const int64_t k[2] = {kernel[0], kernel[1]}, s[2] = {a->stride[0], a->stride[1]};
    /* ONNX's pads are [x1_begin, x2_begin, x1_end, x2_end]: the IR's [top, left, bottom, right] */
    const int64_t p[4] = {a->pad[0], a->pad[1], a->pad[2], a->pad[3]};
    ex_attr_ints(X, o, "kernel_shape", 2, k);
    ex_attr_ints(X, o, "strides", 2, s);
    ex_attr_ints(X, o, "pads", 4, p);
}

static int ex_conv2d(Ex *X, const NcNode *n) {
    const NcAttrs *a = &n->attrs;
    const NcValue *w = nc_val(X->g, n->inputs[1]);
    const char *x = in_name(X, n, 0);
    if (a->has_in_scale) { /* the squeeze-excite gate fused into the conv that reads the scaled input */
        const char *scaled = ex_tmp(X, "scaled");
        const char *in[2] = {x, in_name(X, n, nc_in_scale_input(a))};
        ex_node(X, "Mul", 2, in, 1, &scaled);
        x = scaled;
    }
    const char *in[3] = {x, in_name(X, n, 1), a->has_bias ? in_name(X, n, 2) : NULL};
    const char *y = anchor_out(X, n, "conv");
    Onnx__NodeProto *o = ex_node(X, "Conv", a->has_bias ? 3 : 2, in, 1, &y);
    const int kernel[2] = {(int)w->shape[2], (int)w->shape[3]};
    window(X, o, kernel, a);
    const int64_t d[2] = {a->dilation[0], a->dilation[1]};
    ex_attr_ints(X, o, "dilations", 2, d);
    ex_attr_int(X, o, "group", a->groups);
    epilogue(X, n, y);
    return 0;
}

static int ex_linear(Ex *X, const NcNode *n) {
    const NcAttrs *a = &n->attrs;
    const char *in[3] = {in_name(X, n, 0), in_name(X, n, 1), a->has_bias ? in_name(X, n, 2) : NULL};
    const char *y = anchor_out(X, n, "gemm");
    Onnx__NodeProto *o = ex_node(X, "Gemm", a->has_bias ? 3 : 2, in, 1, &y); /* the weight stays [out, in] */
    ex_attr_int(X, o, "transB", 1);
    epilogue(X, n, y);
    return 0;
}

static int ex_batch_norm(Ex *X, const NcNode *n) {
    const char *in[5];
    for (int k = 0; k < 5; k++) in[k] = in_name(X, n, k); /* x, weight, bias, running_mean, running_var */
    const char *y = out_name(X, n, 0);
    ex_attr_float(X, ex_node(X, "BatchNormalization", 5, in, 1, &y), "epsilon", n->attrs.eps);
    return 0;
}

static int ex_activation(Ex *X, const NcNode *n) {
    static const NcEpiKind kind[NC_OP_COUNT] = {[NC_OP_RELU] = NC_EPI_RELU,
                                                [NC_OP_CLAMP] = NC_EPI_CLAMP,
                                                [NC_OP_SILU] = NC_EPI_SILU,
                                                [NC_OP_SIGMOID] = NC_EPI_SIGMOID};
    act_step(X, kind[n->op], n->attrs.lo, n->attrs.hi, in_name(X, n, 0), NULL, out_name(X, n, 0));
    return 0;
}

/* add / mul: NumPy broadcasting, as ONNX's; then the steps elementwise fusion attached */
static int ex_binary(Ex *X, const NcNode *n) {
    const char *in[2] = {in_name(X, n, 0), in_name(X, n, 1)};
    const char *y = anchor_out(X, n, n->op == NC_OP_ADD ? "add" : "mul");
    ex_node(X, n->op == NC_OP_ADD ? "Add" : "Mul", 2, in, 1, &y);
    epilogue(X, n, y);
    return 0;
}

/* The ONNX output size of a window along one axis (floor mode unless ceil). */
static int64_t onnx_window_out(int64_t x, int k, int s, int p0, int p1, int ceil_mode) {
    int64_t span = x + p0 + p1 - k;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

static int ex_pool(Ex *X, const NcNode *n) {
    const NcAttrs *a = &n->attrs;
    const NcValue *x = nc_val(X->g, n->inputs[0]), *y = nc_val(X->g, n->outputs[0]);
    /* ceil_mode only where it changes the output size: PyTorch's rule (no window starting in the right padding)
     * and ONNX's differ otherwise, while the windows that exist are the same */
    int ceil_mode = 0;
    for (int d = 0; d < 2; d++)
        if (onnx_window_out(x->shape[2 + d], a->kernel[d], a->stride[d], a->pad[d], a->pad[d + 2], 0) !=
            y->shape[2 + d])
            ceil_mode = 1;
    for (int d = 0; ceil_mode && d < 2; d++)
        if (onnx_window_out(x->shape[2 + d], a->kernel[d], a->stride[d], a->pad[d], a->pad[d + 2], 1) !=
            y->shape[2 + d])
            return nc_errorf(X->e,
                             "layer '%s': %s with ceil_mode has an output size ONNX's pools do not give (a last "
                             "window starting in the padding)",
                             n->scope ? n->scope : "?", nc_op_info(n->op)->name);
    const char *out = out_name(X, n, 0);
    Onnx__NodeProto *o = ex_node1(X, n->op == NC_OP_MAX_POOL2D ? "MaxPool" : "AveragePool", in_name(X, n, 0), out);
    window(X, o, a->kernel, a);
    if (ceil_mode) ex_attr_int(X, o, "ceil_mode", 1);
    if (n->op == NC_OP_AVG_POOL2D) ex_attr_int(X, o, "count_include_pad", a->count_include_pad);
    return 0;
}

static int ex_global_pool(Ex *X, const NcNode *n) {
    ex_node1(X, n->op == NC_OP_GLOBAL_AVG_POOL ? "GlobalAveragePool" : "GlobalMaxPool", in_name(X, n, 0),
             out_name(X, n, 0));
    return 0;
}

static int ex_softmax(Ex *X, const NcNode *n) {
    ex_attr_int(X, ex_node1(X, "Softmax", in_name(X, n, 0), out_name(X, n, 0)), "axis", n->attrs.axis);
    return 0;
}

/* timm's RadixSoftmax: per image [card, radix, rest] viewed, radix and card swapped, softmax over radix
 * ([radix, card, rest] out); radix 1 is a sigmoid.  With cardinality 1 (every timm ResNeSt) the swap moves
 * nothing and no Transpose is written. */
static int ex_radix_softmax(Ex *X, const NcNode *n) {
    const NcAttrs *a = &n->attrs;
    const NcValue *x = nc_val(X->g, n->inputs[0]);
    const int R = a->radix;
    if (R == 1) {
        ex_node1(X, "Sigmoid", in_name(X, n, 0), out_name(X, n, 0));
        return 0;
    }
    const int64_t N = x->shape[0], card = a->cardinality, rest = nc_numel(x) / N / R / card;
    const int64_t shape[4] = {N, card, R, rest}, perm[4] = {0, 2, 1, 3};
    const char *v = ex_reshape(X, in_name(X, n, 0), 4, shape, NULL), *sm = ex_tmp(X, "softmax");
    if (!v) return -1;
    if (card > 1) {
        const char *t = ex_tmp(X, "swapped");
        ex_attr_ints(X, ex_node1(X, "Transpose", v, t), "perm", 4, perm);
        v = t;
    }
    ex_attr_int(X, ex_node1(X, "Softmax", v, sm), "axis", card > 1 ? 1 : 2);
    return ex_reshape(X, sm, x->ndim, x->shape, out_name(X, n, 0)) ? 0 : -1;
}

/* The R radix branches of x ([N, R*C, ...], radix-major) summed in branch order into out: Split, then Adds. */
static void branch_sum(Ex *X, const char *x, int R, int64_t C, const char *out) {
    if (R == 1) {
        ex_node1(X, "Identity", x, out);
        return;
    }
    const char **parts = ex_alloc(X, (size_t)R * sizeof *parts);
    int64_t *sizes = ex_alloc(X, (size_t)R * sizeof *sizes);
    for (int r = 0; r < R; r++) parts[r] = ex_tmp(X, "branch"), sizes[r] = C;
    const char *in[2] = {x, ex_const_i64(X, "split", R, sizes)};
    ex_attr_int(X, ex_node(X, "Split", 2, in, R, parts), "axis", 1);
    const char *acc = parts[0];
    for (int r = 1; r < R; r++) {
        const char *dst = r == R - 1 ? out : ex_tmp(X, "sum");
        const char *add[2] = {acc, parts[r]};
        ex_node(X, "Add", 2, add, 1, &dst);
        acc = dst;
    }
}

/* timm's SplitAttn pooling: the branches summed, then the mean over the plane */
static int ex_radix_gap(Ex *X, const NcNode *n) {
    const NcValue *x = nc_val(X->g, n->inputs[0]);
    const int R = n->attrs.radix;
    const char *src = in_name(X, n, 0);
    if (R > 1) {
        const char *sum = ex_tmp(X, "sum");
        branch_sum(X, src, R, x->shape[1] / R, sum);
        src = sum;
    }
    ex_node1(X, "GlobalAveragePool", src, out_name(X, n, 0));
    return 0;
}

/* ... and its output: each branch times its attention, summed in branch order */
static int ex_radix_combine(Ex *X, const NcNode *n) {
    const NcValue *x = nc_val(X->g, n->inputs[0]), *att = nc_val(X->g, n->inputs[1]);
    const int R = n->attrs.radix;
    const char *a = in_name(X, n, 1);
    const int64_t ashape[4] = {x->shape[0], x->shape[1], 1, 1};
    if (att->ndim != 4 || memcmp(att->shape, ashape, sizeof ashape)) a = ex_reshape(X, a, 4, ashape, NULL);
    if (!a) return -1;
    const char *prod = R > 1 ? ex_tmp(X, "weighted") : out_name(X, n, 0);
    const char *in[2] = {in_name(X, n, 0), a};
    ex_node(X, "Mul", 2, in, 1, &prod);
    if (R > 1) branch_sum(X, prod, R, x->shape[1] / R, out_name(X, n, 0));
    return 0;
}

static int ex_concat(Ex *X, const NcNode *n) {
    const char **in = ex_alloc(X, (size_t)n->ninputs * sizeof *in);
    for (int k = 0; k < n->ninputs; k++) in[k] = in_name(X, n, k);
    const char *out = out_name(X, n, 0);
    ex_attr_int(X, ex_node(X, "Concat", n->ninputs, in, 1, &out), "axis", n->attrs.axis);
    return 0;
}

static int ex_split(Ex *X, const NcNode *n) {
    const char *in[2] = {in_name(X, n, 0), ex_const_i64(X, "split", n->attrs.nsizes, n->attrs.sizes)};
    const char *out[NC_MAXOUT];
    for (int k = 0; k < n->noutputs; k++) out[k] = out_name(X, n, k);
    ex_attr_int(X, ex_node(X, "Split", 2, in, n->noutputs, out), "axis", n->attrs.axis);
    return 0;
}

static int ex_reshape_op(Ex *X, const NcNode *n) {
    if (X->dynamic_batch && nc_val(X->g, n->inputs[0])->shape[0] != X->batch)
        return nc_errorf(X->e,
                         "layer '%s': a reshape of a tensor whose first axis is not the batch; export without "
                         "--dynamic-batch",
                         n->scope ? n->scope : "?");
    return ex_reshape(X, in_name(X, n, 0), n->attrs.nsizes, n->attrs.sizes, out_name(X, n, 0)) ? 0 : -1;
}

/* transpose (from an imported ONNX model): its permutation */
static int ex_transpose(Ex *X, const NcNode *n) {
    ex_attr_ints(X, ex_node1(X, "Transpose", in_name(X, n, 0), out_name(X, n, 0)), "perm", n->attrs.nsizes,
                 n->attrs.sizes);
    return 0;
}

/* The fused SE gate written back as its ops: mean over the plane, 1x1 conv, act, 1x1 conv, sigmoid. */
static int ex_squeeze_excite(Ex *X, const NcNode *n) {
    const char *pooled = ex_tmp(X, "pooled"), *h = ex_tmp(X, "reduce"), *ha = ex_tmp(X, "act"),
               *z = ex_tmp(X, "expand");
    ex_node1(X, "GlobalAveragePool", in_name(X, n, 0), pooled);
    const char *c1[3] = {pooled, in_name(X, n, 1), in_name(X, n, 2)};
    ex_node(X, "Conv", 3, c1, 1, &h);
    act_step(X, n->attrs.epi[0].kind, 0, 0, h, NULL, ha);
    const char *c2[3] = {ha, in_name(X, n, 3), in_name(X, n, 4)};
    ex_node(X, "Conv", 3, c2, 1, &z);
    ex_node1(X, "Sigmoid", z, out_name(X, n, 0));
    return 0;
}

/* The table: which ONNX ops each IR op becomes (for the reader), and the function writing them. */
static const struct {
    const char *onnx;
    ExFn fn;
} table[NC_OP_COUNT] = {
    [NC_OP_CONV2D] = {"Conv (+ Mul input scale, + epilogue ops)", ex_conv2d},
    [NC_OP_BATCH_NORM] = {"BatchNormalization", ex_batch_norm},
    [NC_OP_LINEAR] = {"Gemm transB=1 (+ epilogue ops)", ex_linear},
    [NC_OP_RELU] = {"Relu", ex_activation},
    [NC_OP_CLAMP] = {"Clip", ex_activation},
    [NC_OP_SILU] = {"Sigmoid, Mul", ex_activation},
    [NC_OP_SIGMOID] = {"Sigmoid", ex_activation},
    [NC_OP_ADD] = {"Add (+ epilogue ops)", ex_binary},
    [NC_OP_MUL] = {"Mul (+ epilogue ops)", ex_binary},
    [NC_OP_MAX_POOL2D] = {"MaxPool", ex_pool},
    [NC_OP_AVG_POOL2D] = {"AveragePool", ex_pool},
    [NC_OP_GLOBAL_AVG_POOL] = {"GlobalAveragePool", ex_global_pool},
    [NC_OP_GLOBAL_MAX_POOL] = {"GlobalMaxPool", ex_global_pool},
    [NC_OP_SOFTMAX] = {"Softmax", ex_softmax},
    [NC_OP_RADIX_SOFTMAX] = {"Reshape, (Transpose,) Softmax, Reshape; Sigmoid for radix 1", ex_radix_softmax},
    [NC_OP_CONCAT] = {"Concat", ex_concat},
    [NC_OP_SPLIT] = {"Split", ex_split},
    [NC_OP_RESHAPE] = {"Reshape", ex_reshape_op},
    [NC_OP_SQUEEZE_EXCITE] = {"GlobalAveragePool, Conv, Relu | Sigmoid*Mul, Conv, Sigmoid", ex_squeeze_excite},
    [NC_OP_RADIX_GAP] = {"Split, Add, GlobalAveragePool", ex_radix_gap},
    [NC_OP_RADIX_COMBINE] = {"(Reshape,) Mul, Split, Add", ex_radix_combine},
    [NC_OP_TRANSPOSE] = {"Transpose", ex_transpose},
};

void nc_onnx_export_describe(FILE *out) {
    for (int op = 0; op < NC_OP_COUNT; op++)
        fprintf(out, "  %-22s %s\n", nc_op_info((NcOpKind)op)->name, table[op].fn ? table[op].onnx : "(no ONNX form)");
}

int ex_export_node(Ex *X) {
    const NcNode *n = X->node;
    if (!table[n->op].fn)
        return nc_errorf(X->e,
                         "layer '%s': op '%s' has no ONNX form (only inference graphs before the layout pass "
                         "are exported)",
                         n->scope ? n->scope : "?", nc_op_info(n->op)->name);
    return table[n->op].fn(X, n);
}
