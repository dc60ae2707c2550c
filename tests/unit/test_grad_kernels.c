/* test_grad_kernels.c — the training ops' reference kernels (ir/ref_train.c,
 * ir/ref_grad_*.c) against finite differences of the forward reference
 * kernels, each op run through the op table (shape rule, then nc_ref_run),
 * with the attributes the gradient rules (ir/grad_*.c) give it.
 *
 * For a forward op f and a random projection r of its output, L(x) = sum r f(x)
 * in double; the gradient op fed dy = r must give dL/dx.  The check compares
 * the whole gradient vector with a fourth-order central difference,
 * (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h, h = 2^-7 (2^-5 for the
 * losses, whose one float output rounds), on inputs that are multiples of
 * 2^-12 (so x +- h, x +- 2h are exact floats), and wants ||g - fd|| / ||fd||
 * below 1e-3.  Each figure is printed: 0 to 1e-6 for the ops linear in the
 * perturbed input, up to ~1e-4 elsewhere (the float rounding of the forward's
 * outputs; a wrong term shows as 1e-2 and more).  Data avoid the kinks
 * (relu at 0, clamp at its bounds, ties in a max pool window) by more than 2h.
 * The forward-only pieces (batch statistics, loss values, dropout's mask) are
 * checked against direct computations. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ir/ops.h"

#define FD_TOL 1e-3
static double fd_h = 1.0 / 128; /* a power of two */

typedef struct {
    int ndim;
    int64_t shape[NC_MAXDIM];
    float *data;
    NcDtype dtype;
} T;

static int64_t tnum(const T *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static T tzeros(int ndim, const int64_t *shape) {
    T t = {.ndim = ndim, .dtype = NC_F32};
    memcpy(t.shape, shape, (size_t)ndim * sizeof(int64_t));
    t.data = nc_calloc((size_t)tnum(&t), sizeof(float));
    return t;
}
#define DIMS(...)                                                                                                      \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }
#define ZEROS(...) tzeros(DIMS(__VA_ARGS__))

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double urand(void) { /* [0, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
/* A multiple of 2^-12 in [lo, hi). */
static float qrand(double lo, double hi) { return (float)(floor((lo + (hi - lo) * urand()) * 4096) / 4096); }
static T trand(T t, double lo, double hi) {
    for (int64_t i = 0; i < tnum(&t); i++) t.data[i] = qrand(lo, hi);
    return t;
}
#define RAND(lo, hi, ...) trand(ZEROS(__VA_ARGS__), lo, hi)

/* Runs op's reference kernel on `in` through the op table: the shape rule
 * makes the outputs (allocated here, freed by the caller).  Returns the
 * output count, or -1 (a failed check) when the shape rule refuses. */
static int run(NcOpKind op, const NcAttrs *a, int nin, const T *in, T *out) {
    const NcOpInfo *info = nc_op_info(op);
    NcValue vin[NC_MAXIN], vout[NC_MAXOUT];
    const NcValue *pin[NC_MAXIN];
    for (int j = 0; j < nin; j++) {
        memset(&vin[j], 0, sizeof vin[j]);
        vin[j].ndim = in[j].ndim, vin[j].dtype = in[j].dtype, vin[j].layout = NC_LAYOUT_NCHW;
        memcpy(vin[j].shape, in[j].shape, sizeof vin[j].shape);
        pin[j] = &vin[j];
    }
    int od[NC_MAXOUT];
    int64_t os[NC_MAXOUT][NC_MAXDIM];
    NcError e;
    const int nout = nin >= info->min_inputs && nin <= info->max_inputs ? info->shape(pin, nin, a, od, os, &e) : -1;
    CHECK_MSG(nout > 0, "%s: %s", info->name, nout < 0 ? e.msg : "no outputs");
    if (nout <= 0) return -1;
    NcNode node = {.op = op, .ninputs = nin, .noutputs = nout, .attrs = *a, .scope = (char *)"test"};
    NcKernelArgs k = {.node = &node};
    for (int j = 0; j < nin; j++) k.in_v[j] = &vin[j], k.in[j] = in[j].data;
    for (int j = 0; j < nout; j++) {
        memset(&vout[j], 0, sizeof vout[j]);
        vout[j].ndim = od[j], vout[j].layout = NC_LAYOUT_NCHW;
        memcpy(vout[j].shape, os[j], sizeof vout[j].shape);
        out[j] = tzeros(od[j], os[j]);
        for (int64_t i = 0; i < tnum(&out[j]); i++) out[j].data[i] = NAN; /* every element must be written */
        k.out_v[j] = &vout[j], k.out[j] = out[j].data;
    }
    nc_ref_run(&k);
    return nout;
}

static void tfree_n(T *t, int n) {
    for (int j = 0; j < n; j++) free(t[j].data), t[j].data = NULL;
}

/* The output of a one-output op (a failed check and zeros of `like`'s shape
 * when the shape rule refuses). */
static T run1(NcOpKind op, const NcAttrs *a, int nin, const T *in) {
    T out[NC_MAXOUT];
    const int n = run(op, a, nin, in, out);
    if (n < 0) return tzeros(1, (int64_t[]){1});
    tfree_n(out + 1, n - 1);
    return out[0];
}

static T random_like(const T *t, double lo, double hi) { return trand(tzeros(t->ndim, t->shape), lo, hi); }

/* L = sum r * output `oi` of op(in), in double. */
static double loss(NcOpKind op, const NcAttrs *a, int nin, const T *in, int oi, const T *r) {
    T out[NC_MAXOUT];
    const int n = run(op, a, nin, in, out);
    if (n < 0) return 0;
    double l = 0;
    for (int64_t i = 0; i < tnum(r); i++) l += (double)r->data[i] * out[oi].data[i];
    tfree_n(out, n);
    return l;
}

/* ||g - fd|| / ||fd|| for input `wi` of the forward op, printed and checked. */
static double fd_check(const char *what, NcOpKind op, const NcAttrs *a, int nin, T *in, int wi, int oi, const T *r,
                       const T *g) {
    const int64_t n = tnum(&in[wi]);
    CHECK_MSG(tnum(g) == n, "%s: gradient has %lld elements, input %lld", what, (long long)tnum(g), (long long)n);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n && tnum(g) == n; i++) {
        float *x = &in[wi].data[i];
        const float x0 = *x;
        double l[4];
        const double steps[4] = {fd_h, -fd_h, 2 * fd_h, -2 * fd_h};
        for (int s = 0; s < 4; s++) {
            *x = (float)(x0 + steps[s]);
            l[s] = loss(op, a, nin, in, oi, r);
        }
        *x = x0;
        const double fd = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12 * fd_h);
        num += (g->data[i] - fd) * (g->data[i] - fd);
        den += fd * fd;
    }
    const double rel = sqrt(num) / sqrt(den);
    printf("  %-46s rel err %.2e  (|fd| %.3g, %lld elements)\n", what, rel, sqrt(den), (long long)n);
    CHECK_MSG(den > 0 && rel < FD_TOL, "%s: relative error %g", what, rel);
    return rel;
}

/* ---- convolution and linear ---- */

static void conv_case(const char *name, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int groups,
                      int stride, int dil, int pt, int pl, int pb, int pr, int with_bias) {
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = kh, a.kernel[1] = kw, a.groups = groups, a.stride[0] = a.stride[1] = stride;
    a.dilation[0] = a.dilation[1] = dil;
    a.pad[0] = pt, a.pad[1] = pl, a.pad[2] = pb, a.pad[3] = pr;
    a.has_bias = with_bias;
    T in[3] = {RAND(-2, 2, 2, C, H, W), RAND(-1, 1, O, C / groups, kh, kw), RAND(-1, 1, O)};
    const int nin = with_bias ? 3 : 2;
    T y = run1(NC_OP_CONV2D, &a, nin, in);
    T r = random_like(&y, -1, 1);
    char what[96];

    NcAttrs ga = a; /* as nc_grad_conv2d emits them */
    ga.has_bias = 0;
    ga.nsizes = 4;
    memcpy(ga.sizes, in[0].shape, sizeof(int64_t) * 4);
    T dx = run1(NC_OP_CONV2D_GRAD_INPUT, &ga, 2, (T[]){r, in[1]});
    snprintf(what, sizeof what, "conv2d %s: input", name);
    fd_check(what, NC_OP_CONV2D, &a, nin, in, 0, 0, &r, &dx);

    memcpy(ga.sizes, in[1].shape, sizeof(int64_t) * 4);
    T dw = run1(NC_OP_CONV2D_GRAD_WEIGHT, &ga, 2, (T[]){r, in[0]});
    snprintf(what, sizeof what, "conv2d %s: weight", name);
    fd_check(what, NC_OP_CONV2D, &a, nin, in, 1, 0, &r, &dw);

    if (with_bias) { /* sum_to [1, O, 1, 1], then a reshape to [O] */
        NcAttrs s = nc_attrs_default();
        s.nsizes = 4, s.sizes[0] = 1, s.sizes[1] = O, s.sizes[2] = 1, s.sizes[3] = 1;
        T db = run1(NC_OP_SUM_TO, &s, 1, &r);
        db.ndim = 1, db.shape[0] = O;
        snprintf(what, sizeof what, "conv2d %s: bias (sum_to)", name);
        fd_check(what, NC_OP_CONV2D, &a, nin, in, 2, 0, &r, &db);
        free(db.data);
    }
    tfree_n(in, 3);
    free(y.data), free(r.data), free(dx.data), free(dw.data);
}

static void test_conv(void) {
    printf("conv2d\n");
    conv_case("dense 3x3 p1", 4, 6, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    conv_case("grouped (2)", 4, 6, 6, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 0);
    conv_case("depthwise", 4, 6, 6, 4, 3, 3, 4, 1, 1, 1, 1, 1, 1, 0);
    conv_case("depthwise x2", 3, 5, 6, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0);
    conv_case("stride 2", 3, 8, 7, 4, 3, 3, 1, 2, 1, 1, 1, 1, 1, 0);
    conv_case("stride 2, rows unread", 3, 8, 8, 4, 3, 3, 1, 2, 1, 0, 0, 0, 0, 0);
    conv_case("dilation 2", 3, 7, 8, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 0);
    conv_case("pad 0,1,1,2 stride 2", 3, 7, 8, 4, 3, 3, 1, 2, 1, 0, 1, 1, 2, 0);
    conv_case("3x2 kernel pad 1,0,2,1 dil 2", 2, 7, 6, 3, 3, 2, 1, 1, 2, 1, 0, 2, 1, 0);
    conv_case("1x1 stride 2", 4, 5, 5, 3, 1, 1, 1, 2, 1, 0, 0, 0, 0, 1);
    conv_case("grouped (2) stride 2 pad 1,1,0,0", 4, 7, 7, 8, 3, 3, 2, 2, 1, 1, 1, 0, 0, 0);
}

static void test_linear(void) {
    printf("linear\n");
    NcAttrs a = nc_attrs_default();
    a.has_bias = 1;
    T in[3] = {RAND(-2, 2, 3, 7), RAND(-1, 1, 5, 7), RAND(-1, 1, 5)};
    T y = run1(NC_OP_LINEAR, &a, 3, in);
    T r = random_like(&y, -1, 1);
    NcAttrs ga = nc_attrs_default();
    T dx = run1(NC_OP_LINEAR_GRAD_INPUT, &ga, 2, (T[]){r, in[1]});
    T dw = run1(NC_OP_LINEAR_GRAD_WEIGHT, &ga, 2, (T[]){r, in[0]});
    ga.nsizes = 1, ga.sizes[0] = 5;
    T db = run1(NC_OP_SUM_TO, &ga, 1, &r);
    fd_check("linear: input", NC_OP_LINEAR, &a, 3, in, 0, 0, &r, &dx);
    fd_check("linear: weight", NC_OP_LINEAR, &a, 3, in, 1, 0, &r, &dw);
    fd_check("linear: bias (sum_to)", NC_OP_LINEAR, &a, 3, in, 2, 0, &r, &db);
    tfree_n(in, 3);
    free(y.data), free(r.data), free(dx.data), free(dw.data), free(db.data);
}

/* ---- batch norm on batch statistics ---- */

static void test_batch_norm_train(void) {
    printf("batch_norm_train\n");
    const int64_t N = 3, C = 4, S = 6;
    NcAttrs a = nc_attrs_default();
    a.eps = 1e-3f;
    T in[5] = {RAND(-2, 2, N, C, 2, 3), RAND(0.5, 1.5, C), RAND(-1, 1, C), RAND(-1, 1, C), RAND(0.5, 2, C)};
    for (int64_t i = 0; i < tnum(&in[0]); i++) in[0].data[i] += (float)(i / S % C) * 0.5f; /* channel offsets */
    T out[3];
    CHECK(run(NC_OP_BATCH_NORM_TRAIN, &a, 5, in, out) == 3);
    for (int64_t c = 0; c < C; c++) { /* the batch statistics, directly */
        double s = 0, sq = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) s += in[0].data[(n * C + c) * S + i];
        const double mean = s / (N * S);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) sq += pow(in[0].data[(n * C + c) * S + i] - mean, 2);
        const double var = sq / (N * S), inv = 1 / sqrt(var + a.eps);
        CHECK_NEAR(out[1].data[c], mean, 1e-6 * (1 + fabs(mean)));
        CHECK_NEAR(out[2].data[c], var, 1e-6 * var);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                const int64_t j = (n * C + c) * S + i;
                CHECK_NEAR(out[0].data[j], (in[0].data[j] - mean) * inv * in[1].data[c] + in[2].data[c], 1e-5);
            }
    }
    T r = random_like(&out[0], -1, 1), g[3];
    CHECK(run(NC_OP_BATCH_NORM_TRAIN_GRAD, &a, 5, (T[]){r, in[0], in[1], out[1], out[2]}, g) == 3);
    fd_check("batch_norm_train: x (through mean and var)", NC_OP_BATCH_NORM_TRAIN, &a, 5, in, 0, 0, &r, &g[0]);
    fd_check("batch_norm_train: weight", NC_OP_BATCH_NORM_TRAIN, &a, 5, in, 1, 0, &r, &g[1]);
    fd_check("batch_norm_train: bias", NC_OP_BATCH_NORM_TRAIN, &a, 5, in, 2, 0, &r, &g[2]);
    tfree_n(in, 5), tfree_n(out, 3), tfree_n(g, 3), free(r.data);
}

/* ---- activations ---- */

/* x moved more than 2h + a margin away from `kink` */
static void avoid(T *t, double kink) {
    for (int64_t i = 0; i < tnum(t); i++)
        if (fabs(t->data[i] - kink) < 0.05) t->data[i] = (float)(kink + (t->data[i] < kink ? -0.0625 : 0.0625));
}

static void act_case(const char *name, NcOpKind op, NcEpiKind act, float lo, float hi) {
    NcAttrs a = nc_attrs_default();
    a.lo = lo, a.hi = hi;
    T x = RAND(-3, 8, 2, 3, 4, 5);
    avoid(&x, 0), avoid(&x, 6);
    T y = run1(op, &a, 1, &x);
    T r = random_like(&y, -1, 1);
    NcAttrs ga = nc_attrs_default(); /* as nc_grad_act emits it */
    ga.act = act, ga.lo = lo, ga.hi = hi;
    T dx = run1(NC_OP_ACT_GRAD, &ga, 2, (T[]){r, x});
    fd_check(name, op, &a, 1, &x, 0, 0, &r, &dx);
    free(x.data), free(y.data), free(r.data), free(dx.data);
}

static void test_act(void) {
    printf("act_grad\n");
    act_case("relu", NC_OP_RELU, NC_EPI_RELU, 0, 0);
    act_case("relu6 (clamp 0..6)", NC_OP_CLAMP, NC_EPI_CLAMP, 0, 6);
    act_case("silu", NC_OP_SILU, NC_EPI_SILU, 0, 0);
    act_case("sigmoid", NC_OP_SIGMOID, NC_EPI_SIGMOID, 0, 0);
    /* PyTorch's rules at the kinks: threshold_backward (x <= 0 ? 0 : dy) and
     * hardtanh_backward ((x <= lo || x >= hi) ? 0 : dy): NaN passes dy */
    T x = ZEROS(5), dy = ZEROS(5);
    const float xs[5] = {0.0f, -0.0f, NAN, 6.0f, 3.0f};
    for (int i = 0; i < 5; i++) x.data[i] = xs[i], dy.data[i] = 2.0f;
    NcAttrs ga = nc_attrs_default();
    ga.act = NC_EPI_RELU;
    T g = run1(NC_OP_ACT_GRAD, &ga, 2, (T[]){dy, x});
    CHECK(g.data[0] == 0 && g.data[1] == 0 && g.data[2] == 2 && g.data[3] == 2 && g.data[4] == 2);
    free(g.data);
    ga.act = NC_EPI_CLAMP, ga.lo = 0, ga.hi = 6;
    g = run1(NC_OP_ACT_GRAD, &ga, 2, (T[]){dy, x});
    CHECK(g.data[0] == 0 && g.data[1] == 0 && g.data[2] == 2 && g.data[3] == 0 && g.data[4] == 2);
    free(g.data), free(x.data), free(dy.data);
}

/* ---- pools ---- */

/* distinct values 1/16 apart (more than 4h), shuffled: no window has a tie
 * within the differences' steps */
static T distinct(int ndim, const int64_t *shape) {
    T t = tzeros(ndim, shape);
    const int64_t n = tnum(&t);
    for (int64_t i = 0; i < n; i++) t.data[i] = (float)(i - n / 2) / 16;
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)(urand() * (double)(i + 1));
        const float v = t.data[i];
        t.data[i] = t.data[j], t.data[j] = v;
    }
    return t;
}

static void pool_case(const char *name, int is_max, int64_t H, int64_t W, int k, int s, int pt, int pl, int pb, int pr,
                      int ceil_mode, int include_pad) {
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = k, a.stride[0] = a.stride[1] = s;
    a.pad[0] = pt, a.pad[1] = pl, a.pad[2] = pb, a.pad[3] = pr;
    a.ceil_mode = ceil_mode, a.count_include_pad = include_pad;
    T x = distinct(DIMS(2, 3, H, W));
    const NcOpKind op = is_max ? NC_OP_MAX_POOL2D : NC_OP_AVG_POOL2D;
    T y = run1(op, &a, 1, &x);
    T r = random_like(&y, -1, 1), dx;
    NcAttrs ga = a; /* as nc_grad_pool2d emits them */
    if (is_max) {
        dx = run1(NC_OP_MAX_POOL2D_GRAD, &ga, 2, (T[]){r, x});
    } else {
        ga.nsizes = 4;
        memcpy(ga.sizes, x.shape, sizeof(int64_t) * 4);
        dx = run1(NC_OP_AVG_POOL2D_GRAD, &ga, 1, &r);
    }
    char what[96];
    snprintf(what, sizeof what, "%s %s", is_max ? "max_pool2d" : "avg_pool2d", name);
    fd_check(what, op, &a, 1, &x, 0, 0, &r, &dx);
    free(x.data), free(y.data), free(r.data), free(dx.data);
}

/* max_pool2d_grad picks the forward's element: the first of equal maxima, a
 * NaN over numbers, the first element of a window of -inf. */
static void max_pool_picks(void) {
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = 2, a.stride[0] = a.stride[1] = 2;
    const float cases[4][4] = {
        {1, 3, 3, 0}, {1, NAN, 5, 0}, {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, {2, 1, 2, 2}};
    const int want[4] = {1, 1, 0, 0};
    for (int c = 0; c < 4; c++) {
        T x = ZEROS(1, 1, 2, 2), dy = ZEROS(1, 1, 1, 1);
        memcpy(x.data, cases[c], sizeof cases[c]);
        dy.data[0] = 1.5f;
        T dx = run1(NC_OP_MAX_POOL2D_GRAD, &a, 2, (T[]){dy, x});
        for (int i = 0; i < 4; i++) CHECK_MSG(dx.data[i] == (i == want[c] ? 1.5f : 0.0f), "case %d element %d", c, i);
        free(x.data), free(dy.data), free(dx.data);
    }
}

static void test_pools(void) {
    printf("pools\n");
    pool_case("3x3 s2 p1", 1, 8, 8, 3, 2, 1, 1, 1, 1, 0, 1);
    pool_case("3x3 s2 ceil", 1, 8, 8, 3, 2, 0, 0, 0, 0, 1, 1);
    pool_case("2x2 s2 ceil 7x7", 1, 7, 7, 2, 2, 0, 0, 0, 0, 1, 1);
    pool_case("3x3 s2 p1,1,0,0 ceil", 1, 8, 9, 3, 2, 1, 1, 0, 0, 1, 1);
    pool_case("3x3 s1 p1", 1, 5, 6, 3, 1, 1, 1, 1, 1, 0, 1);
    max_pool_picks();
    pool_case("3x3 s2 p1 ceil, count_include_pad", 0, 8, 8, 3, 2, 1, 1, 1, 1, 1, 1);
    pool_case("3x3 s2 p1 ceil, no count_include_pad", 0, 8, 8, 3, 2, 1, 1, 1, 1, 1, 0);
    pool_case("2x2 s2 ceil 7x7", 0, 7, 7, 2, 2, 0, 0, 0, 0, 1, 1);
    pool_case("3x3 s1 p1 no count_include_pad", 0, 5, 6, 3, 1, 1, 1, 1, 1, 0, 0);
    pool_case("3x3 s2 p1,1,0,0 ceil count_include_pad", 0, 8, 9, 3, 2, 1, 1, 0, 0, 1, 1);
    pool_case("2x2 s2 (timm's avg_down)", 0, 8, 6, 2, 2, 0, 0, 0, 0, 1, 0);

    NcAttrs a = nc_attrs_default();
    T x = RAND(-2, 2, 2, 3, 4, 5);
    T y = run1(NC_OP_GLOBAL_AVG_POOL, &a, 1, &x);
    T r = random_like(&y, -1, 1);
    a.nsizes = 4;
    memcpy(a.sizes, x.shape, sizeof(int64_t) * 4);
    T dx = run1(NC_OP_GLOBAL_AVG_POOL_GRAD, &a, 1, &r);
    fd_check("global_avg_pool", NC_OP_GLOBAL_AVG_POOL, &a, 1, &x, 0, 0, &r, &dx);
    free(x.data), free(y.data), free(r.data), free(dx.data);
}

/* ---- softmaxes and the radix ops ---- */

static void softmax_case(const char *what, NcOpKind op, NcOpKind grad, const NcAttrs *a, T x) {
    T y = run1(op, a, 1, &x);
    T r = random_like(&y, -1, 1);
    T dx = run1(grad, a, 2, (T[]){r, y});
    fd_check(what, op, a, 1, &x, 0, 0, &r, &dx);
    free(x.data), free(y.data), free(r.data), free(dx.data);
}

static void test_softmax(void) {
    printf("softmaxes\n");
    NcAttrs a = nc_attrs_default();
    a.axis = 1;
    softmax_case("softmax [3, 5] axis 1", NC_OP_SOFTMAX, NC_OP_SOFTMAX_GRAD, &a, RAND(-3, 3, 3, 5));
    softmax_case("softmax [2, 4, 3] axis 1", NC_OP_SOFTMAX, NC_OP_SOFTMAX_GRAD, &a, RAND(-3, 3, 2, 4, 3));
    a.axis = 0;
    softmax_case("softmax [4, 3] axis 0", NC_OP_SOFTMAX, NC_OP_SOFTMAX_GRAD, &a, RAND(-3, 3, 4, 3));
    const int rc[4][2] = {{2, 1}, {2, 2}, {1, 1}, {4, 2}};
    for (int i = 0; i < 4; i++) {
        a = nc_attrs_default();
        a.radix = rc[i][0], a.cardinality = rc[i][1];
        char what[96];
        snprintf(what, sizeof what, "radix_softmax radix %d cardinality %d", rc[i][0], rc[i][1]);
        softmax_case(what, NC_OP_RADIX_SOFTMAX, NC_OP_RADIX_SOFTMAX_GRAD, &a,
                     RAND(-3, 3, 2, (int64_t)rc[i][0] * rc[i][1] * 3, 1, 1));
    }
}

static void test_radix(void) {
    printf("radix ops\n");
    for (int R = 1; R <= 2; R++) {
        NcAttrs a = nc_attrs_default();
        a.radix = R;
        T x = RAND(-2, 2, 2, R * 3, 4, 3);
        T y = run1(NC_OP_RADIX_GAP, &a, 1, &x);
        T r = random_like(&y, -1, 1);
        NcAttrs ga = a;
        ga.nsizes = 4;
        memcpy(ga.sizes, x.shape, sizeof(int64_t) * 4);
        T dx = run1(NC_OP_RADIX_GAP_GRAD, &ga, 1, &r);
        fd_check(R == 1 ? "radix_gap radix 1" : "radix_gap radix 2", NC_OP_RADIX_GAP, &a, 1, &x, 0, 0, &r, &dx);
        free(x.data), free(y.data), free(r.data), free(dx.data);
    }
    NcAttrs a = nc_attrs_default();
    a.radix = 2;
    T in[2] = {RAND(-2, 2, 2, 6, 3, 4), RAND(0, 1, 2, 6, 1, 1)};
    T y = run1(NC_OP_RADIX_COMBINE, &a, 2, in);
    T r = random_like(&y, -1, 1), g[2];
    CHECK(run(NC_OP_RADIX_COMBINE_GRAD, &a, 3, (T[]){r, in[0], in[1]}, g) == 2);
    fd_check("radix_combine: x", NC_OP_RADIX_COMBINE, &a, 2, in, 0, 0, &r, &g[0]);
    fd_check("radix_combine: attention", NC_OP_RADIX_COMBINE, &a, 2, in, 1, 0, &r, &g[1]);
    tfree_n(in, 2), tfree_n(g, 2), free(y.data), free(r.data);
}

/* ---- the losses ---- */

/* The loss, straight from ir.h's formulas (softmax without the max trick:
 * the test's logits are small). */
static double direct_loss(const NcAttrs *a, const T *z, const T *t, const float *w) {
    const int64_t N = z->shape[0], K = z->shape[1];
    double num = 0, den = 0;
    for (int64_t n = 0; n < N; n++) {
        double s = 0, lp[16];
        for (int64_t k = 0; k < K; k++) s += exp(z->data[n * K + k]);
        for (int64_t k = 0; k < K; k++) lp[k] = log(exp(z->data[n * K + k]) / s);
        if (a->loss == NC_LOSS_WEIGHTED) {
            int64_t y = 0;
            for (int64_t k = 0; k < K; k++)
                if (t->data[n * K + k] == 1) y = k;
            double sm = 0;
            for (int64_t k = 0; k < K; k++) sm += w[k] * -lp[k];
            num += (1 - a->p) * w[y] * -lp[y] + a->p / K * sm;
            den += w[y];
        } else {
            for (int64_t k = 0; k < K; k++)
                num += -t->data[n * K + k] * pow(1 - exp(lp[k]), a->loss == NC_LOSS_FOCAL ? a->gamma : 0) * lp[k];
            den += 1;
        }
    }
    return num / den;
}

static void ce_case(const char *name, NcLossKind kind, float smoothing, float gamma, int onehot) {
    const int64_t N = 4, K = 5;
    NcAttrs a = nc_attrs_default();
    a.loss = kind, a.p = kind == NC_LOSS_WEIGHTED ? smoothing : 0, a.gamma = gamma;
    T in[3] = {RAND(-3, 3, N, K), ZEROS(N, K), RAND(0.25, 2, K)};
    for (int64_t n = 0; n < N; n++) { /* label n mod K, smoothed as timm's target (1 - s) onehot + s / K */
        const double s = onehot ? 0 : smoothing;
        for (int64_t k = 0; k < K; k++) in[1].data[n * K + k] = (float)((k == (n * 3) % K) * (1 - s) + s / K);
    }
    const int nin = kind == NC_LOSS_WEIGHTED ? 3 : 2;
    T l = run1(NC_OP_CROSS_ENTROPY, &a, nin, in);
    const double want = direct_loss(&a, &in[0], &in[1], in[2].data);
    CHECK_MSG(fabs(l.data[0] - want) <= 1e-6 * fabs(want), "%s: loss %.9g, directly %.9g", name, l.data[0], want);
    T dl = ZEROS(1);
    dl.data[0] = 0.75f;
    T dz = run1(NC_OP_CROSS_ENTROPY_GRAD, &a, nin + 1, (T[]){dl, in[0], in[1], in[2]});
    char what[96];
    snprintf(what, sizeof what, "cross_entropy %s", name);
    fd_check(what, NC_OP_CROSS_ENTROPY, &a, nin, in, 0, 0, &dl, &dz);
    tfree_n(in, 3), free(l.data), free(dl.data), free(dz.data);
}

static void test_cross_entropy(void) {
    printf("cross_entropy (h = 1/32)\n");
    fd_h = 1.0 / 32; /* the loss is one float: a wider step, less of its rounding */
    ce_case("soft, smoothed target 0.1", NC_LOSS_SOFT, 0.1f, 0, 0);
    ce_case("soft, one-hot", NC_LOSS_SOFT, 0, 0, 1);
    ce_case("weighted, one-hot", NC_LOSS_WEIGHTED, 0, 0, 1);
    ce_case("weighted, one-hot, smoothing 0.1", NC_LOSS_WEIGHTED, 0.1f, 0, 1);
    ce_case("focal gamma 2, smoothed target", NC_LOSS_FOCAL, 0.1f, 2, 0);
    ce_case("focal gamma 2, one-hot", NC_LOSS_FOCAL, 0, 2, 1);
    ce_case("focal gamma 0.5, smoothed target", NC_LOSS_FOCAL, 0.1f, 0.5f, 0);
    fd_h = 1.0 / 128;
}

/* ---- sum_to (the gradient of a broadcast add) and zeros ---- */

static void sum_to_case(const char *name, int nd, const int64_t *to) {
    NcAttrs a = nc_attrs_default();
    T in[2] = {RAND(-2, 2, 2, 3, 4, 5), trand(tzeros(nd, to), -2, 2)};
    T y = run1(NC_OP_ADD, &a, 2, in);
    T r = random_like(&y, -1, 1);
    NcAttrs s = nc_attrs_default();
    s.nsizes = nd;
    memcpy(s.sizes, to, (size_t)nd * sizeof(int64_t));
    T g = run1(NC_OP_SUM_TO, &s, 1, &r);
    char what[96];
    snprintf(what, sizeof what, "sum_to [2, 3, 4, 5] -> %s", name);
    fd_check(what, NC_OP_ADD, &a, 2, in, 1, 0, &r, &g);
    tfree_n(in, 2), free(y.data), free(r.data), free(g.data);
}

static void test_sum_to_zeros(void) {
    printf("sum_to, zeros\n");
    sum_to_case("[1, 3, 1, 1]", DIMS(1, 3, 1, 1));
    sum_to_case("[5]", DIMS(5));
    sum_to_case("[4, 1]", DIMS(4, 1));
    sum_to_case("[3, 1, 5]", DIMS(3, 1, 5));
    sum_to_case("[2, 3, 4, 5]", DIMS(2, 3, 4, 5));
    NcAttrs a = nc_attrs_default();
    a.nsizes = 3, a.sizes[0] = 2, a.sizes[1] = 3, a.sizes[2] = 4;
    T z = run1(NC_OP_ZEROS, &a, 0, NULL);
    CHECK(z.ndim == 3 && tnum(&z) == 24);
    int zero = 1;
    for (int64_t i = 0; i < tnum(&z); i++) zero &= z.data[i] == 0;
    CHECK(zero);
    free(z.data);
}

/* ---- dropout ---- */

static T seed_value(uint32_t s0, uint32_t s1) {
    T t = ZEROS(2);
    const uint32_t w[2] = {s0, s1};
    memcpy(t.data, w, sizeof w);
    t.dtype = NC_I32;
    return t;
}

static T dropout(T x, uint32_t s0, uint32_t s1, float p, uint32_t salt, int per_sample) {
    NcAttrs a = nc_attrs_default();
    a.p = p, a.salt = salt, a.per_sample = per_sample;
    T seed = seed_value(s0, s1);
    T y = run1(NC_OP_DROPOUT, &a, 2, (T[]){x, seed});
    free(seed.data);
    return y;
}

static int64_t differences(const T *a, const T *b) {
    int64_t d = 0;
    for (int64_t i = 0; i < tnum(a); i++) d += (a->data[i] == 0) != (b->data[i] == 0);
    return d;
}

static void test_dropout(void) {
    printf("dropout\n");
    const float p = 0.3f, scale = 1.0f / (float)(1.0 - (double)p);
    T x = RAND(0.5, 2, 200, 500);
    T y = dropout(x, 12345, 678, p, 7, 0);
    /* the draw as ops.h defines it, kept values as PyTorch's x * (1.0f / keep) */
    const uint32_t threshold = (uint32_t)((1.0 - (double)p) * 4294967296.0);
    int64_t kept = 0, exact = 1;
    for (int64_t i = 0; i < tnum(&x); i++) {
        const int keep = nc_dropout_bits(12345, 678, 7, (uint64_t)i) < threshold;
        kept += y.data[i] != 0;
        exact &= y.data[i] == (keep ? x.data[i] * scale : 0.0f);
    }
    const double frac = (double)kept / (double)tnum(&x); /* sd 0.0014 */
    printf("  per element: kept %.4f of %lld (1 - p = %.2f)\n", frac, (long long)tnum(&x), 1 - p);
    CHECK_MSG(fabs(frac - (1 - p)) < 0.01, "kept fraction %g", frac);
    CHECK(exact);
    T y2 = dropout(x, 12345, 678, p, 7, 0);
    CHECK(memcmp(y.data, y2.data, (size_t)tnum(&y) * sizeof(float)) == 0);
    T y3 = dropout(x, 12345, 678, p, 8, 0), y4 = dropout(x, 12346, 678, p, 7, 0);
    printf("  another salt changes %lld draws, another seed %lld\n", (long long)differences(&y, &y3),
           (long long)differences(&y, &y4));
    CHECK(differences(&y, &y3) > tnum(&x) / 4 && differences(&y, &y4) > tnum(&x) / 4);
    T y5 = dropout(x, 12345, 678, 0, 7, 0);
    CHECK(memcmp(x.data, y5.data, (size_t)tnum(&x) * sizeof(float)) == 0);
    free(y.data), free(y2.data), free(y3.data), free(y4.data), free(y5.data), free(x.data);

    /* drop-path: one draw per sample */
    x = RAND(0.5, 2, 4000, 2, 3, 1);
    y = dropout(x, 99, 1, 0.25f, 3, 1);
    int64_t samples_kept = 0, constant = 1;
    for (int64_t n = 0; n < 4000; n++) {
        const int k0 = y.data[n * 6] != 0;
        samples_kept += k0;
        constant &= k0 == (nc_dropout_bits(99, 1, 3, (uint64_t)n) < 3221225472u); /* 0.75 2^32 */
        for (int i = 1; i < 6; i++) constant &= (y.data[n * 6 + i] != 0) == k0;
    }
    printf("  per sample: kept %.4f of 4000 samples (1 - p = 0.75)\n", samples_kept / 4000.0);
    CHECK(constant);
    CHECK_MSG(fabs(samples_kept / 4000.0 - 0.75) < 0.035, "kept %lld samples", (long long)samples_kept);
    free(x.data), free(y.data);

    /* the gradient is the same op on dy (nc_grad_dropout) */
    NcAttrs a = nc_attrs_default();
    a.p = 0.4f, a.salt = 5;
    T in[2] = {RAND(-2, 2, 3, 4, 5), seed_value(1, 2)};
    T out = run1(NC_OP_DROPOUT, &a, 2, in);
    T r = random_like(&out, -1, 1);
    T g = run1(NC_OP_DROPOUT, &a, 2, (T[]){r, in[1]});
    fd_check("dropout p 0.4", NC_OP_DROPOUT, &a, 2, in, 0, 0, &r, &g);
    tfree_n(in, 2), free(out.data), free(r.data), free(g.data);
}

int main(void) {
    test_conv();
    test_linear();
    test_batch_norm_train();
    test_act();
    test_pools();
    test_softmax();
    test_radix();
    test_cross_entropy();
    test_sum_to_zeros();
    test_dropout();
    TEST_MAIN_END();
}
