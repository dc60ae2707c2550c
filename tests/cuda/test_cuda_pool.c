/* test_cuda_pool.c — codegen/cuda/cu_pool.h's windowed max / average pools
 * and their gradients against ir/'s nc_ref_max_pool2d, nc_ref_avg_pool2d and
 * their gradients, through the device emulator (cu_test.h): symmetric, TF
 * "same" (asymmetric) and ceil_mode windows, count_include_pad both ways,
 * odd sizes, ties in max windows (the argmax's first-of-equals rule) and NaN
 * (which wins a max window, and takes its gradient); the global max pool
 * against nc_ref_global_max_pool. */
#include "codegen/cuda/cu_pool.h"
#include "tests/cuda/cu_test.h"

typedef struct {
    int64_t n, c, h, w;
    int k, s, pt, pl, pb, pr, ceil, include_pad;
} Pool;

/* PyTorch's output size: floor or ceil, a last window starting in the
 * right padding dropped. */
static int64_t out_size(int64_t in, int k, int s, int p0, int p1, int ceil) {
    const int64_t span = in + p0 + p1 - k;
    int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (o - 1) * s >= in + p0) o--;
    return o;
}

typedef struct {
    NcAttrs a;
    NcValue x, y;
    NcCuPool p;
    int64_t nx, ny;
} Geo;

static Geo geo(const Pool *q, int is_max) {
    Geo r;
    r.a = nc_attrs_default();
    r.a.kernel[0] = r.a.kernel[1] = q->k, r.a.stride[0] = r.a.stride[1] = q->s;
    r.a.pad[0] = q->pt, r.a.pad[1] = q->pl, r.a.pad[2] = q->pb, r.a.pad[3] = q->pr;
    r.a.ceil_mode = q->ceil, r.a.count_include_pad = q->include_pad;
    const int64_t xs[4] = {q->n, q->c, q->h, q->w},
                  ys[4] = {q->n, q->c, out_size(q->h, q->k, q->s, q->pt, q->pb, q->ceil),
                           out_size(q->w, q->k, q->s, q->pl, q->pr, q->ceil)};
    r.x = cut_value(4, xs), r.y = cut_value(4, ys);
    r.nx = nc_numel(&r.x), r.ny = nc_numel(&r.y);
    r.p = (NcCuPool){.g = nc_cu_win(&r.a, xs, ys), .is_max = is_max, .count_include_pad = q->include_pad};
    return r;
}

/* x with ties: values on a grid of 1/4, so that max windows hold equal maxima. */
static float *tied(int64_t n) {
    float *x = cgt_random(n);
    for (int64_t i = 0; i < n; i++) x[i] = roundf(x[i] * 4) / 4;
    return x;
}

static void pool_case(const char *name, const Pool *q, int is_max) {
    Geo g = geo(q, is_max);
    float *x = tied(g.nx), *dy = cgt_random(g.ny);
    float *want = nc_malloc((size_t)g.ny * 4), *want_dx = nc_malloc((size_t)g.nx * 4);
    const NcValue *xv[1] = {&g.x}, *yv[1] = {&g.y}, *gv[2] = {&g.y, &g.x};
    const float *in[1] = {x}, *gin[2] = {dy, x};
    cut_ref(is_max ? nc_ref_max_pool2d : nc_ref_avg_pool2d, &g.a, 1, xv, in, 1, yv, &want);
    cut_ref(is_max ? nc_ref_max_pool2d_grad : nc_ref_avg_pool2d_grad, &g.a, is_max ? 2 : 1, gv, gin, 1, xv, &want_dx);
    NcCuDesc d;
    nc_cu_pool_desc(&d, name, &g.p);
    float *p[2] = {x, NULL};
    const int64_t s[2] = {g.nx, g.ny};
    cut_check1(&d, p, s, want);
    char nm[64];
    snprintf(nm, sizeof nm, "%s_grad", name);
    nc_cu_pool_grad_desc(&d, nm, &g.p);
    float *pg[3] = {dy, NULL, x};
    const int64_t sg[3] = {g.ny, g.nx, g.nx};
    cut_check1(&d, pg, sg, want_dx);
    free(x), free(dy), free(want), free(want_dx);
}

/* NaN in max windows: the forward's NaN positions equal the reference's and
 * the rest match; the gradient (finite) goes where the reference sends it. */
static void nan_case(void) {
    const Pool q = {1, 2, 7, 6, 3, 2, 1, 1, 1, 1, 0, 1};
    Geo g = geo(&q, 1);
    float *x = tied(g.nx), *dy = cgt_random(g.ny);
    x[3] = NAN, x[9] = NAN, x[10] = NAN, x[g.nx - 1] = NAN;
    float *want = nc_malloc((size_t)g.ny * 4), *want_dx = nc_malloc((size_t)g.nx * 4);
    const NcValue *xv[1] = {&g.x}, *yv[1] = {&g.y}, *gv[2] = {&g.y, &g.x};
    const float *in[1] = {x}, *gin[2] = {dy, x};
    cut_ref(nc_ref_max_pool2d, &g.a, 1, xv, in, 1, yv, &want);
    cut_ref(nc_ref_max_pool2d_grad, &g.a, 2, gv, gin, 1, xv, &want_dx);
    NcCuDesc d;
    nc_cu_pool_desc(&d, "maxpool_nan", &g.p);
    NcDevKernel k = cut_kernel(&d);
    NcDevice *dev = cut_devs[0];
    float *dp[2] = {cut_up(dev, x, g.nx), cut_up(dev, NULL, g.ny)}, *got = nc_malloc((size_t)g.ny * 4);
    cut_launch(dev, &k, dp);
    NcError e;
    CHECK(nc_dev_download(dev, got, dp[1], (size_t)g.ny * 4, &e) == 0);
    int nans = 0, same = 1;
    for (int64_t i = 0; i < g.ny; i++) {
        nans += isnan(want[i]) != 0;
        same &= isnan(got[i]) ? isnan(want[i]) != 0 : got[i] == want[i];
    }
    CHECK_MSG(same && nans > 0, "maxpool_nan: NaN positions or values differ (%d NaN in the reference)", nans);
    printf("  maxpool_nan: %d NaN outputs, the same as the reference's\n", nans);
    nc_dev_free(dev, dp[0]), nc_dev_free(dev, dp[1]);
    free((char *)k.ptx), free(got);
    nc_cu_pool_grad_desc(&d, "maxpool_nan_grad", &g.p);
    float *pg[3] = {dy, NULL, x};
    const int64_t sg[3] = {g.ny, g.nx, g.nx};
    cut_check1(&d, pg, sg, want_dx);
    free(x), free(dy), free(want), free(want_dx);
}

/* The global max pool against nc_ref_global_max_pool (a NaN among numbers
 * loses, as there). */
static void global_max_case(const char *name, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t xs[4] = {n, c, h, w}, ys[4] = {n, c, 1, 1};
    NcValue xv = cut_value(4, xs), yv = cut_value(4, ys);
    float *x = cgt_random(n * c * h * w), *want = nc_malloc((size_t)(n * c) * 4);
    x[5] = NAN;
    NcAttrs a = nc_attrs_default();
    const NcValue *iv[1] = {&xv}, *ov[1] = {&yv};
    const float *in[1] = {x};
    cut_ref(nc_ref_global_max_pool, &a, 1, iv, in, 1, ov, &want);
    NcCuRowMax k = {n * c, h * w};
    NcCuDesc d;
    nc_cu_global_max_pool_desc(&d, name, &k);
    float *p[2] = {x, NULL};
    const int64_t s[2] = {n * c * h * w, n * c};
    cut_check1(&d, p, s, want);
    free(x), free(want);
}

int main(void) {
    cut_init();
    /*                    n  c   h   w  k  s pt pl pb pr ceil include_pad */
    const Pool stem = {2, 3, 13, 11, 3, 2, 1, 1, 1, 1, 0, 1}; /* ResNet's max pool */
    const Pool tf = {1, 4, 8, 10, 3, 2, 0, 0, 1, 1, 0, 0};    /* TF "same", even sizes */
    const Pool s1 = {2, 3, 9, 7, 3, 1, 1, 1, 1, 1, 0, 1};     /* 3x3 stride 1, padding counted */
    const Pool s1x = {2, 3, 9, 7, 3, 1, 1, 1, 1, 1, 0, 0};    /* ... not counted */
    const Pool down = {2, 5, 7, 9, 2, 2, 0, 0, 0, 0, 1, 0};   /* ResNet-D's avg_down: ceil, no pad */
    const Pool ceilp = {1, 3, 10, 7, 3, 2, 1, 1, 1, 1, 1, 1}; /* ceil with padding counted: overhang not */
    const Pool big = {1, 2, 15, 16, 5, 3, 2, 1, 2, 3, 0, 1};  /* 5x5 stride 3, four different pads */
    pool_case("maxpool_stem", &stem, 1);
    pool_case("maxpool_tf", &tf, 1);
    pool_case("maxpool_ceil", &ceilp, 1);
    pool_case("maxpool_big", &big, 1);
    pool_case("avgpool_s1_incl", &s1, 0);
    pool_case("avgpool_s1_excl", &s1x, 0);
    pool_case("avgpool_tf", &tf, 0);
    pool_case("avgpool_down", &down, 0);
    pool_case("avgpool_ceil", &ceilp, 0);
    pool_case("avgpool_big", &big, 0);
    nan_case();
    const Pool tiny = {2, 3, 1, 1, 3, 2, 1, 1, 1, 1, 0, 0}; /* a 1x1 image, the window mostly padding */
    const Pool tinyp = {2, 3, 1, 2, 3, 2, 1, 1, 1, 1, 1, 1};
    pool_case("maxpool_tiny", &tiny, 1);
    pool_case("avgpool_tiny_excl", &tiny, 0);
    pool_case("avgpool_tiny_incl", &tinyp, 0);
    global_max_case("global_max", 2, 5, 7, 7);
    global_max_case("global_max_long", 1, 3, 30, 31);
    cut_done();
    TEST_MAIN_END();
}
