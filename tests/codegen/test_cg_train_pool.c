/* test_cg_train_pool.c — the training step's windowed pools
 * (cg_nchw_train_pool.h: max_pool2d, avg_pool2d, max_pool2d_grad,
 * avg_pool2d_grad on NCHW planes) against the op table's reference kernels
 * (ir/ref_pool.c, ir/ref_grad_pool.c): ResNet's 3x3/2 max pool, ResNet-D's
 * 2x2/2 ceil_mode average pool without the padding counted, ResNeSt's 3x3/2
 * average pool with it, TF "same" padding (bottom / right only), stride 1,
 * windows larger than the image, planes of 1x1 up to 21x43 (rows with
 * whole vectors of interior windows).  The max pools'
 * inputs are rounded to quarters (ties in most windows: the first maximum
 * must take the gradient) and one case holds NaNs and -inf (a window of
 * -inf only, a NaN beside numbers).  Inputs end at an unreadable page,
 * outputs are fenced by canaries; the tiles run across threads, then in
 * reverse in uneven ranges over NaN-filled outputs.  Bounds: the forward max
 * bit for bit (NaN where the reference has NaN), everything else max |got -
 * want| <= 1e-5 max |want| (the gradients accumulate in float, the
 * reference in double); the worst error is printed. */
#include "codegen/cpu/cg_nchw_train_pool.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst;

static void emit(NcCgModule *m, void *p, NcCgKernel *k) { nc_cg_train_pool_emit(m, p, "k", k); }

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    const NcNode *nd = &g->nodes.data[ni];
    char what[256];
    snprintf(what, sizeof what, "%s %s", nc_op_info(nd->op)->name, what0);
    NcTrainPoolPlan p;
    const int ok = nc_cg_train_pool_plan(&p, g, nd);
    CHECK_MSG(ok, "%s: refused", what);
    const double tol = nd->op == NC_OP_MAX_POOL2D ? 0 : 1e-5; /* the forward max: bit for bit */
    const double err = ok ? cgt_check_train_kernel(t, g, nd, data, emit, &p, tol, what) : -1;
    if (err > worst) worst = err;
    cases += err >= 0;
}

static int add_node(NcGraph *g, NcOpKind op, int nin, const int *ins, const NcAttrs *a) {
    NcError e;
    const int r = nc_graph_add_node(g, op, nin, ins, a, nc_op_info(op)->name, &e);
    CHECK_MSG(r >= 0, "%s: %s", nc_op_info(op)->name, r < 0 ? e.msg : "");
    return r;
}

/* kind 0: random; 1: quarters (ties); 2: quarters with NaNs and -inf */
static void check_pool(const NcCgTarget *t, int is_max, int64_t N, int64_t C, int64_t H, int64_t W, int kh, int kw,
                       int sh, int sw, int pt, int pl, int pb, int pr, int ceil_mode, int include_pad, int kind) {
    char what[160];
    snprintf(what, sizeof what, "[%lld, %lld, %lld, %lld] %dx%d/%dx%d pad %d,%d,%d,%d%s%s%s", (long long)N,
             (long long)C, (long long)H, (long long)W, kh, kw, sh, sw, pt, pl, pb, pr, ceil_mode ? " ceil" : "",
             include_pad ? " count-pad" : "",
             kind == 2 ? " NaN/-inf"
             : kind    ? " ties"
                       : "");
    NcGraph *g = nc_graph_new("train_pool");
    const int64_t xs[4] = {N, C, H, W};
    const int x = nc_graph_add_input(g, "x", 4, xs);
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = kh, a.kernel[1] = kw, a.stride[0] = sh, a.stride[1] = sw;
    a.pad[0] = pt, a.pad[1] = pl, a.pad[2] = pb, a.pad[3] = pr, a.ceil_mode = ceil_mode;
    a.count_include_pad = include_pad;
    const int f = add_node(g, is_max ? NC_OP_MAX_POOL2D : NC_OP_AVG_POOL2D, 1, &x, &a);
    if (f < 0) {
        nc_graph_free(g);
        return;
    }
    const NcValue *yv = nc_val(g, g->nodes.data[f].outputs[0]);
    const int64_t ys[4] = {yv->shape[0], yv->shape[1], yv->shape[2], yv->shape[3]};
    const int dy = nc_graph_add_input(g, "dy", 4, ys);
    if (is_max) {
        const int ins[2] = {dy, x};
        add_node(g, NC_OP_MAX_POOL2D_GRAD, 2, ins, &a);
    } else {
        a.nsizes = 4;
        for (int i = 0; i < 4; i++) a.sizes[i] = xs[i];
        add_node(g, NC_OP_AVG_POOL2D_GRAD, 1, &dy, &a);
    }
    float **data = cgt_values_new(g);
    const int64_t nx = nc_numel(nc_val(g, x));
    if (kind)
        for (int64_t i = 0; i < nx; i++) data[x][i] = roundf(data[x][i] * 4) / 4;
    if (kind == 2) {
        for (int64_t i = 0; i < nx; i += 7) data[x][i] = NAN;
        for (int64_t i = 0; i < H * W && i < nx; i++) data[x][i] = -INFINITY; /* the first plane: -inf */
        for (int64_t i = 3; i < nx; i += 11) data[x][i] = -INFINITY;
    }
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    cgt_values_free(g, data);
    nc_graph_free(g);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    /* ResNet's stem pool, even and odd planes, with ties and with NaN / -inf */
    check_pool(&t, 1, 2, 3, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1);
    check_pool(&t, 1, 1, 5, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0);
    check_pool(&t, 1, 2, 3, 12, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 2);
    check_pool(&t, 1, 1, 2, 23, 17, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1); /* stride 1 */
    check_pool(&t, 1, 1, 3, 9, 9, 2, 2, 2, 2, 0, 0, 0, 0, 1, 0, 1);   /* ceil_mode overhang */
    check_pool(&t, 1, 1, 2, 10, 11, 3, 3, 2, 2, 0, 0, 1, 1, 0, 0, 1); /* TF "same": bottom / right */
    check_pool(&t, 1, 1, 2, 3, 3, 5, 5, 1, 1, 2, 2, 2, 2, 0, 0, 1);   /* windows larger than the image */
    check_pool(&t, 1, 3, 1, 1, 1, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0);   /* a 1x1 plane */
    check_pool(&t, 1, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 2);
    /* rows with whole vectors of interior windows (the gradient's argmax in vectors), stride 2 and 1 */
    check_pool(&t, 1, 1, 2, 20, 40, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1);
    check_pool(&t, 1, 1, 2, 21, 43, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 2);
    check_pool(&t, 1, 1, 2, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 2); /* 2x2, NaN / -inf */
    /* ResNet-D's downsample, ResNeSt's avd, padding counted or not, odd planes */
    check_pool(&t, 0, 2, 3, 9, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 0, 0);
    check_pool(&t, 0, 2, 3, 16, 16, 2, 2, 2, 2, 0, 0, 0, 0, 1, 0, 0);
    check_pool(&t, 0, 1, 4, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0);
    check_pool(&t, 0, 1, 4, 15, 13, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0);
    check_pool(&t, 0, 1, 3, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0);   /* ceil with padding counted */
    check_pool(&t, 0, 1, 2, 23, 17, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1, 0); /* stride 1 */
    check_pool(&t, 0, 1, 2, 10, 11, 3, 3, 2, 2, 0, 0, 1, 1, 0, 1, 0); /* TF "same" */
    check_pool(&t, 0, 1, 2, 3, 3, 5, 5, 1, 1, 2, 2, 2, 2, 0, 0, 0);   /* windows larger than the image */
    check_pool(&t, 0, 3, 1, 1, 1, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0);   /* a 1x1 plane */
    printf("%d kernels checked; worst relative error %.2g (bound 1e-5)\n", cases, worst);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
