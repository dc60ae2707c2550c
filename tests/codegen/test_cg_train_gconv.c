/* test_cg_train_gconv.c — the training step's grouped and depthwise NCHW
 * convolution kernels (cg_nchw_train_gconv.h: conv2d, conv2d_grad_input,
 * conv2d_grad_weight with groups > 1) against the reference kernels
 * (ir/ref_conv.c's nc_ref_conv2d, ir/ref_grad_conv.c's gradients): depthwise
 * 3x3 and 5x5 at stride 1 and 2 with TF "same" (asymmetric) padding,
 * ResNeSt's radix conv (2 groups), RegNet's group-width convs, channel
 * multipliers (O = 2 C), dilation, odd sizes, batch 1-3; the depthwise
 * rows on planes 7 to 112 wide, on AVX-512 and (where the host has it) again
 * at AVX2's 8-float vectors (haswell).  Every operand ends
 * at an unreadable page, the output is fenced by canaries, and the stage runs
 * across threads, then again tile by tile in reverse over a NaN-filled output
 * (so every output element must be written).  Tolerance: 1e-4 relative to
 * max |reference| (float against double accumulation). */
#include "codegen/cpu/cg_nchw_train_gconv.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst[3];
static const char *kind_name[3] = {"conv2d", "conv2d_grad_input", "conv2d_grad_weight"};

typedef struct Case {
    int64_t n, c, h, w, o;
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
} Case;

/* The three nodes of one conv in g: y = conv2d(x, w), dx = conv2d_grad_input(dy, w),
 * dw = conv2d_grad_weight(dy, x); returns the first node's index or -1. */
static int graph(NcGraph *g, const Case *k, NcError *e) {
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = k->kh, a.kernel[1] = k->kw, a.stride[0] = k->sh, a.stride[1] = k->sw;
    a.pad[0] = k->pt, a.pad[1] = k->pl, a.pad[2] = k->pb, a.pad[3] = k->pr, a.dilation[0] = k->dh,
    a.dilation[1] = k->dw;
    a.groups = k->groups;
    int64_t xs[4] = {k->n, k->c, k->h, k->w}, ws[4] = {k->o, k->c / k->groups, k->kh, k->kw};
    const int x = nc_graph_add_input(g, "x", 4, xs), w = nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, e);
    int ins[2] = {x, w};
    const int fwd = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &a, "conv", e);
    if (fwd < 0) return -1;
    const NcValue *y = nc_val(g, g->nodes.data[fwd].outputs[0]);
    const int dy = nc_graph_add_input(g, "dy", 4, y->shape);
    a.nsizes = 4;
    memcpy(a.sizes, xs, sizeof xs);
    ins[0] = dy, ins[1] = w;
    if (nc_graph_add_node(g, NC_OP_CONV2D_GRAD_INPUT, 2, ins, &a, "grad_input", e) < 0) return -1;
    memcpy(a.sizes, ws, sizeof ws);
    ins[0] = dy, ins[1] = x;
    if (nc_graph_add_node(g, NC_OP_CONV2D_GRAD_WEIGHT, 2, ins, &a, "grad_weight", e) < 0) return -1;
    return fwd;
}

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_gconv_emit(m, p, "k", k); }

static void check_node(const NcCgTarget *t, NcGraph *g, const NcNode *nd, float *const *data, const char *what0) {
    char what[320];
    NcTrainGconvPlan p;
    const char *why = NULL;
    const int ok = nc_cg_train_gconv_plan(&p, g, nd, &why);
    snprintf(what, sizeof what, "%s %s", ok ? kind_name[p.kind] : "?", what0);
    CHECK_MSG(ok, "%s: refused: %s", what, why);
    if (!ok) return;
    const double err = cgt_check_train_kernel(t, g, nd, data, emit, &p, 1e-4, what);
    if (err > worst[p.kind]) worst[p.kind] = err;
    cases += err >= 0;
}

static void check(const NcCgTarget *t, Case k) {
    NcError e;
    char what[256];
    snprintf(what, sizeof what, "n%lld c%lld %lldx%lld o%lld g%d k%dx%d s%d,%d pad %d,%d,%d,%d dil %d,%d",
             (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.o, k.groups, k.kh, k.kw, k.sh,
             k.sw, k.pt, k.pl, k.pb, k.pr, k.dh, k.dw);
    NcGraph *g = nc_graph_new("train_conv");
    const int first = graph(g, &k, &e);
    CHECK_MSG(first >= 0, "%s: %s", what, e.msg);
    if (first < 0) {
        nc_graph_free(g);
        return;
    }
    /* x, w and dy random, each ending at an unreadable page */
    float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
    for (int i = 0; i < g->values.len; i++)
        if (g->values.data[i].kind != NC_VAL_NODE) data[i] = cgt_guarded(nc_numel(&g->values.data[i]));
    for (int j = 0; j < 3; j++) check_node(t, g, &g->nodes.data[first + j], data, what);
    for (int i = 0; i < g->values.len; i++)
        if (data[i]) cgt_guarded_free(data[i], nc_numel(&g->values.data[i]));
    free(data);
    nc_graph_free(g);
}

static Case conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int groups, int k, int s, int pad, int dil) {
    Case x;
    memset(&x, 0, sizeof x);
    x.n = n, x.c = c, x.h = h, x.w = w, x.o = o, x.kh = x.kw = k, x.sh = x.sw = s, x.dh = x.dw = dil;
    x.pt = x.pl = x.pb = x.pr = pad, x.groups = groups;
    return x;
}

/* TF "same" padding of a k-wide window at stride s over len: the extra on the bottom/right */
static void tf_same(int64_t len, int k, int s, int *lo, int *hi) {
    const int64_t out = (len + s - 1) / s, need = (out - 1) * s + k - len, tot = need > 0 ? need : 0;
    *lo = (int)(tot / 2), *hi = (int)(tot - tot / 2);
}

static void depthwise_same(const NcCgTarget *t, int64_t n, int64_t c, int64_t h, int64_t w, int k, int s) {
    Case a = conv(n, c, h, w, c, (int)c, k, s, 0, 1);
    tf_same(h, k, s, &a.pt, &a.pb);
    tf_same(w, k, s, &a.pl, &a.pr);
    check(t, a);
}

/* The register-blocked rows (every depthwise shape EfficientNet has and
 * more): 3x3 and 5x5, stride 1 and 2, symmetric and TF "same" padding, on
 * planes 7 to 112 wide and odd sizes (rows off the vector width, a masked
 * tail, several vectors per row, interior rows in blocks and border rows). */
static void rows_cases(const NcCgTarget *t, int full) {
    static const int64_t sizes[] = {7, 14, 28, 56, 112, 9, 13, 19, 33, 41};
    const int ns = full ? 10 : 6;
    for (int i = 0; i < ns; i++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++) {
                const int64_t w = sizes[i], h = w > 28 ? 11 + i : w;
                depthwise_same(t, 1 + (i % 2), 3, h, w, k, s);
                check(t, conv(1, 2, w, h, 2, 2, k, s, k / 2, 1)); /* symmetric, transposed plane */
            }
    Case a = conv(2, 4, 15, 23, 4, 4, 3, 2, 1, 1); /* strides differing by axis */
    a.sw = 1;
    check(t, a);
    a.sh = 1, a.sw = 2;
    check(t, a);
    a.sh = a.sw = 3; /* stride 3: the columns' loops */
    check(t, a);
    check(t, conv(1, 6, 13, 14, 6, 6, 3, 2, 2, 2)); /* dilation 2, stride 2 */
    Case b = conv(1, 3, 17, 18, 3, 3, 5, 2, 0, 1);  /* lopsided padding */
    b.pt = 4, b.pb = 0, b.pl = 0, b.pr = 3;
    check(t, b);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    rows_cases(&t, 1);
    if (t.vw == 16) { /* the same at AVX2's 8-float vectors, a subset of this host's ISA */
        NcError e;
        NcCgTarget t2;
        if (nc_cg_target_init(&t2, "haswell", NULL, &e) == 0) {
            printf("also: %s, %d-float vectors\n", t2.cpu, t2.vw);
            CHECK(t2.vw == 8);
            rows_cases(&t2, 0);
            check(&t2, conv(2, 8, 12, 13, 16, 4, 3, 1, 1, 1));
            check(&t2, conv(1, 24, 9, 9, 24, 3, 3, 2, 1, 1));
            nc_cg_target_free(&t2);
        }
    }
    for (int n = 1; n <= 3; n += 2) {
        check(&t, conv(n, 12, 9, 11, 12, 12, 3, 1, 1, 1));  /* depthwise 3x3 s1 */
        check(&t, conv(n, 10, 13, 12, 10, 10, 3, 2, 1, 1)); /* depthwise 3x3 s2 */
        check(&t, conv(n, 7, 11, 10, 7, 7, 5, 1, 2, 1));    /* depthwise 5x5 s1 */
        check(&t, conv(n, 8, 12, 13, 16, 4, 3, 1, 1, 1));   /* 2 in, 4 out per group */
        check(&t, conv(n, 16, 10, 9, 16, 2, 3, 1, 1, 1));   /* ResNeSt's radix conv: 2 groups */
        check(&t, conv(n, 24, 9, 9, 24, 3, 3, 2, 1, 1));    /* RegNet's group width 8, stride 2 */
        check(&t, conv(n, 6, 12, 11, 6, 3, 3, 1, 2, 2));    /* dilation 2 */
        check(&t, conv(n, 6, 11, 12, 9, 3, 1, 2, 0, 1));    /* 1x1 stride 2, grouped */
    }
    /* EfficientNet's depthwise with TF "same" padding (asymmetric at stride 2) */
    depthwise_same(&t, 2, 9, 14, 14, 3, 2);
    depthwise_same(&t, 2, 5, 15, 17, 5, 2);
    depthwise_same(&t, 1, 6, 17, 20, 5, 1);
    depthwise_same(&t, 3, 4, 7, 7, 3, 1);
    /* wide rows (several vectors and a tail) and a 2x2 plane */
    check(&t, conv(2, 8, 6, 37, 8, 8, 3, 1, 1, 1));
    check(&t, conv(2, 8, 2, 2, 8, 4, 3, 1, 1, 1));
    /* a window wider than the input: taps that read padding alone */
    check(&t, conv(1, 4, 3, 3, 4, 4, 5, 1, 2, 1));
    /* groups 1 is the dense GEMM's (cg_nchw_train.h) */
    {
        NcError e;
        NcGraph *g = nc_graph_new("dense");
        int64_t xs[4] = {1, 8, 6, 6}, ws[4] = {8, 8, 3, 3};
        int ins[2] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e)};
        NcAttrs at = nc_attrs_default();
        at.kernel[0] = at.kernel[1] = 3;
        const int ni = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &at, "conv", &e);
        CHECK(ni >= 0);
        NcTrainGconvPlan p;
        const char *why = NULL;
        CHECK(ni >= 0 && !nc_cg_train_gconv_plan(&p, g, &g->nodes.data[ni], &why) && why && strstr(why, "not grouped"));
        nc_graph_free(g);
    }
    printf("%d kernels checked; worst relative error: conv2d %.2g, grad_input %.2g, grad_weight %.2g (bound 1e-4)\n",
           cases, worst[0], worst[1], worst[2]);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
