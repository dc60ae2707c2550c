/* test_cuda_train.c — codegen/cuda/cu_train.h's kernels against ir/'s
 * reference kernels through the device emulator (cu_test.h): batch norm on
 * batch statistics (nc_ref_batch_norm_train: y, mean, biased variance) and
 * its gradient (nc_ref_batch_norm_train_grad: dx, dweight, dbias), one block
 * per channel and split over many (cu_bn_split.h), act_grad
 * for relu, relu6, silu and sigmoid (values on the kinks included), and
 * sum_to onto the shapes broadcast gradients reduce to, dropout (the same
 * elements dropped as nc_ref_dropout, per element and per sample), softmax
 * along an inner axis and its gradient along rows and along an inner axis, the
 * cross-entropy (soft, weighted, focal) and its gradient
 * (nc_ref_cross_entropy[_grad]), and zeros (nc_ref_zeros, over a NaN buffer). */
#include "codegen/cuda/cu_bn_split.h"
#include "codegen/cuda/cu_loss.h"
#include "codegen/cuda/cu_softmax.h"
#include "codegen/cuda/cu_train.h"
#include "tests/cuda/cu_test.h"

static void bn_case(const char *name, int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t xs[4] = {n, c, h, w}, cs[1] = {c}, total = n * c * h * w;
    NcValue xv = cut_value(4, xs), cv = cut_value(1, cs);
    NcAttrs a = nc_attrs_default();
    float *x = cgt_random(total), *wt = cgt_random(c), *b = cgt_random(c), *dy = cgt_random(total);
    for (int64_t i = 0; i < total; i++) x[i] = x[i] * 3 + 0.5f; /* a mean away from 0 */
    float *y = nc_malloc((size_t)total * 4), *mean = nc_malloc((size_t)c * 4), *var = nc_malloc((size_t)c * 4);
    float *dx = nc_malloc((size_t)total * 4), *dw = nc_malloc((size_t)c * 4), *db = nc_malloc((size_t)c * 4);
    {
        const NcValue *iv[3] = {&xv, &cv, &cv}, *ov[3] = {&xv, &cv, &cv};
        const float *in[3] = {x, wt, b};
        float *out[3] = {y, mean, var};
        cut_ref(nc_ref_batch_norm_train, &a, 3, iv, in, 3, ov, out);
        const NcValue *giv[5] = {&xv, &xv, &cv, &cv, &cv};
        const float *gin[5] = {dy, x, wt, mean, var};
        float *gout[3] = {dx, dw, db};
        cut_ref(nc_ref_batch_norm_train_grad, &a, 5, giv, gin, 3, ov, gout);
    }
    NcCuBnTrain k = {n, c, h * w, a.eps};
    NcCuDesc d;
    nc_cu_bn_train_desc(&d, name, &k);
    float *p[6] = {x, NULL, wt, b, NULL, NULL};
    const int64_t s[6] = {total, total, c, c, c, c};
    const int outs[3] = {1, 4, 5};
    float *wants[3] = {y, mean, var};
    cut_check(&d, p, s, 3, outs, wants);
    char nm[64];
    snprintf(nm, sizeof nm, "%s_grad", name);
    nc_cu_bn_train_grad_desc(&d, nm, &k);
    float *pg[8] = {dy, NULL, x, wt, mean, var, NULL, NULL};
    const int64_t sg[8] = {total, total, total, c, c, c, c, c};
    const int gouts[3] = {1, 6, 7};
    float *gwants[3] = {dx, dw, db};
    cut_check(&d, pg, sg, 3, gouts, gwants);
    free(x), free(wt), free(b), free(dy), free(y), free(mean), free(var), free(dx), free(dw), free(db);
}

/* The split batch norm (cu_bn_split.h): three kernels each way chained on
 * the emulator through scratch buffers, against the same references; chunks
 * of `chunk` values so that a channel spans several blocks, the last one
 * shorter; values far from 0 (mean 5) so that a sum of squares would lose
 * digits. */
static void bn_split_case(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t chunk) {
    const int64_t xs[4] = {n, c, h, w}, cs[1] = {c}, total = n * c * h * w;
    NcValue xv = cut_value(4, xs), cv = cut_value(1, cs);
    NcAttrs a = nc_attrs_default();
    float *x = cgt_random(total), *wt = cgt_random(c), *b = cgt_random(c), *dy = cgt_random(total);
    for (int64_t i = 0; i < total; i++) x[i] = x[i] * 2 + 5;
    float *y = nc_malloc((size_t)total * 4), *mean = nc_malloc((size_t)c * 4), *var = nc_malloc((size_t)c * 4);
    float *dx = nc_malloc((size_t)total * 4), *dw = nc_malloc((size_t)c * 4), *db = nc_malloc((size_t)c * 4);
    {
        const NcValue *iv[3] = {&xv, &cv, &cv}, *ov[3] = {&xv, &cv, &cv};
        const float *in[3] = {x, wt, b};
        float *out[3] = {y, mean, var};
        cut_ref(nc_ref_batch_norm_train, &a, 3, iv, in, 3, ov, out);
        const NcValue *giv[5] = {&xv, &xv, &cv, &cv, &cv};
        const float *gin[5] = {dy, x, wt, mean, var};
        float *gout[3] = {dx, dw, db};
        cut_ref(nc_ref_batch_norm_train_grad, &a, 5, giv, gin, 3, ov, gout);
    }
    NcCuBnSplit k = {{n, c, h * w, a.eps}, chunk};
    const int64_t G = nc_cu_bn_split_chunks(&k), ns = nc_cu_bn_split_scratch(&k);
    NcCuDesc d[6];
    char nm[6][64];
    const char *part[6] = {"partials", "finalize", "apply", "grad_partials", "grad_finalize", "grad_apply"};
    for (int i = 0; i < 6; i++) snprintf(nm[i], sizeof nm[i], "%s_%s", name, part[i]);
    nc_cu_bn_split_partials_desc(&d[0], nm[0], &k);
    nc_cu_bn_split_finalize_desc(&d[1], nm[1], &k);
    nc_cu_bn_split_apply_desc(&d[2], nm[2], &k);
    nc_cu_bn_split_grad_partials_desc(&d[3], nm[3], &k);
    nc_cu_bn_split_grad_finalize_desc(&d[4], nm[4], &k);
    nc_cu_bn_split_grad_apply_desc(&d[5], nm[5], &k);
    NcDevKernel kk[6];
    for (int i = 0; i < 6; i++) kk[i] = cut_kernel(&d[i]);
    printf("%s: %lld chunks of <= %lld per channel, %lld + %lld blocks\n", name, (long long)G, (long long)chunk,
           (long long)d[0].grid, (long long)d[3].grid);
    NcDevice *dev = cut_devs[0];
    float *X = cut_up(dev, x, total), *W = cut_up(dev, wt, c), *Bb = cut_up(dev, b, c), *DY = cut_up(dev, dy, total);
    float *P = cut_up(dev, NULL, ns), *MEAN = cut_up(dev, NULL, c), *VAR = cut_up(dev, NULL, c),
          *SC = cut_up(dev, NULL, c), *Y = cut_up(dev, NULL, total), *DW = cut_up(dev, NULL, c),
          *DB = cut_up(dev, NULL, c), *COEF = cut_up(dev, NULL, 3 * c), *DX = cut_up(dev, NULL, total);
    float *p0[2] = {X, P}, *p1[5] = {P, MEAN, W, VAR, SC}, *p2[5] = {X, Y, MEAN, SC, Bb};
    float *p3[5] = {DY, P, X, MEAN, VAR}, *p4[6] = {P, DW, DB, W, VAR, COEF}, *p5[5] = {DY, DX, X, MEAN, COEF};
    float **ps[6] = {p0, p1, p2, p3, p4, p5};
    for (int i = 0; i < 6; i++) cut_launch(dev, &kk[i], ps[i]);
    char what[96];
    const struct {
        const char *what;
        float *got, *want;
        int64_t n;
    } outs[6] = {{"y", Y, y, total},    {"mean", MEAN, mean, c}, {"var", VAR, var, c},
                 {"dx", DX, dx, total}, {"dweight", DW, dw, c},  {"dbias", DB, db, c}};
    for (int i = 0; i < 6; i++) {
        snprintf(what, sizeof what, "%s %s", name, outs[i].what);
        cut_expect(dev, what, outs[i].got, outs[i].want, outs[i].n);
    }
    float *bufs[13] = {X, W, Bb, DY, P, MEAN, VAR, SC, Y, DW, DB, COEF, DX};
    for (int i = 0; i < 13; i++) nc_dev_free(dev, bufs[i]);
    for (int i = 0; i < 6; i++) free((char *)kk[i].ptx);
    free(x), free(wt), free(b), free(dy), free(y), free(mean), free(var), free(dx), free(dw), free(db);
}

static void act_grad_case(const char *name, int act, int64_t n) {
    const int64_t shape[1] = {n};
    NcValue v = cut_value(1, shape);
    NcAttrs a = nc_attrs_default();
    a.act = act, a.lo = 0, a.hi = 6;
    float *x = cgt_random(n), *dy = cgt_random(n), *want = nc_malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] *= 9;
    x[0] = 0, x[1] = 6, x[2] = -0.0f, x[3] = 1e-30f; /* the kinks, exactly */
    const NcValue *iv[2] = {&v, &v};
    const float *in[2] = {dy, x};
    cut_ref(nc_ref_act_grad, &a, 2, iv, in, 1, iv, &want);
    NcCuActGrad k = {.n = n, .act = act, .lo = 0, .hi = 6};
    NcCuDesc d;
    nc_cu_act_grad_desc(&d, name, &k);
    float *p[3] = {dy, NULL, x};
    const int64_t s[3] = {n, n, n};
    cut_check1(&d, p, s, want);
    free(x), free(dy), free(want);
}

static void sum_to_case(const char *name, int nd, const int64_t *xs, int ond, const int64_t *ys) {
    NcValue xv = cut_value(nd, xs), yv = cut_value(ond, ys);
    const int64_t nx = nc_numel(&xv), ny = nc_numel(&yv);
    float *x = cgt_random(nx), *want = nc_malloc((size_t)ny * 4);
    NcAttrs a = nc_attrs_default();
    const NcValue *iv[1] = {&xv}, *ov[1] = {&yv};
    const float *in[1] = {x};
    cut_ref(nc_ref_sum_to, &a, 1, iv, in, 1, ov, &want);
    NcCuSumTo k = {.nd = nd, .ond = ond};
    memcpy(k.xshape, xs, (size_t)nd * 8);
    memcpy(k.yshape, ys, (size_t)ond * 8);
    NcCuDesc d;
    nc_cu_sum_to_desc(&d, name, &k);
    float *p[2] = {x, NULL};
    const int64_t s[2] = {nx, ny};
    cut_check1(&d, p, s, want);
    free(x), free(want);
}

static void dropout_case(const char *name, int64_t n, int64_t c, int64_t hw, float p, int per_sample) {
    const int64_t total = n * c * hw, xs[4] = {n, c, hw, 1}, ss[1] = {2};
    NcValue xv = cut_value(4, xs), sv = cut_value(1, ss);
    NcAttrs a = nc_attrs_default();
    a.p = p, a.salt = 0x5eed + (uint32_t)total, a.per_sample = per_sample;
    const uint32_t words[2] = {0x12345678u, 0x9abcdef0u};
    float seed[2], *x = cgt_random(total), *want = nc_malloc((size_t)total * 4);
    memcpy(seed, words, sizeof seed);
    const NcValue *iv[2] = {&xv, &sv}, *ov[1] = {&xv};
    const float *in[2] = {x, seed};
    cut_ref(nc_ref_dropout, &a, 2, iv, in, 1, ov, &want);
    int64_t dropped = 0;
    for (int64_t i = 0; i < total; i++) dropped += want[i] == 0;
    NcCuDropout k = {.n = total, .per = c * hw, .p = p, .salt = a.salt, .per_sample = per_sample};
    NcCuDesc d;
    nc_cu_dropout_desc(&d, name, &k);
    float *pp[3] = {x, NULL, seed};
    const int64_t sz[3] = {total, total, 2};
    cut_check1(&d, pp, sz, want);
    printf("  %s: %lld of %lld dropped\n", name, (long long)dropped, (long long)total);
    CHECK(p == 0 ? dropped == 0 : dropped > 0 && dropped < total);
    free(x), free(want);
}

/* softmax along an inner axis (nc_cu_softmax_axis_desc; rows are
 * test_cuda_kernels'), and softmax's gradient along rows or an inner axis. */
static void softmax_grad_case(const char *name, int64_t outer, int64_t len, int64_t inner) {
    const int64_t shape[3] = {outer, len, inner}, total = outer * len * inner;
    NcValue v = cut_value(3, shape);
    NcAttrs a = nc_attrs_default();
    a.axis = 1;
    float *x = cgt_random(total), *y = nc_malloc((size_t)total * 4), *dy = cgt_random(total),
          *want = nc_malloc((size_t)total * 4);
    for (int64_t i = 0; i < total; i++) x[i] *= 8;
    const NcValue *iv[2] = {&v, &v};
    const float *in[1] = {x}, *gin[2] = {dy, y};
    cut_ref(nc_ref_softmax, &a, 1, iv, in, 1, iv, &y);
    cut_ref(nc_ref_softmax_grad, &a, 2, iv, gin, 1, iv, &want);
    NcCuSoftmaxAxis k = {outer, len, inner};
    NcCuDesc d;
    char nm[64];
    const int64_t sz[3] = {total, total, total};
    if (inner > 1) {
        snprintf(nm, sizeof nm, "%s_fwd", name);
        nc_cu_softmax_axis_desc(&d, nm, &k);
        float *pf[2] = {x, NULL};
        cut_check1(&d, pf, sz, y);
    }
    nc_cu_softmax_grad_desc(&d, name, &k);
    float *p[3] = {dy, NULL, y};
    cut_check1(&d, p, sz, want);
    free(x), free(y), free(dy), free(want);
}

/* zeros: the one parameter (the output) starts NaN, so an element the grid
 * misses fails the comparison. */
static void zeros_case(const char *name, int64_t n) {
    const int64_t shape[1] = {n};
    NcValue v = cut_value(1, shape);
    NcAttrs a = nc_attrs_default();
    float *want = cut_nans(n);
    const NcValue *ov[1] = {&v};
    cut_ref(nc_ref_zeros, &a, 0, NULL, NULL, 1, ov, &want);
    const NcCuZeros k = {.n = n};
    NcCuDesc d;
    nc_cu_zeros_desc(&d, name, &k);
    float *p[1] = {NULL};
    const int64_t s[1] = {n};
    const int outs[1] = {0};
    cut_check(&d, p, s, 1, outs, &want);
    free(want);
}

/* The loss of `kind` (soft targets: rows of smoothed one-hots mixed in pairs,
 * what label smoothing and Mixup / CutMix give; weighted: one-hot rows, class
 * weights, smoothing 0.1; focal: soft targets, gamma) against
 * nc_ref_cross_entropy[_grad]. */
static void cross_entropy_case(const char *name, int64_t n, int64_t kk, int kind, float gamma) {
    const int64_t shape[2] = {n, kk}, one[1] = {1}, ks[1] = {kk}, total = n * kk;
    NcValue zv = cut_value(2, shape), lv = cut_value(1, one), wv = cut_value(1, ks);
    NcAttrs a = nc_attrs_default();
    a.loss = kind, a.gamma = gamma, a.p = kind == NC_LOSS_WEIGHTED ? 0.1f : 0;
    float *z = cgt_random(total), *t = nc_calloc((size_t)total, 4), *wt = cgt_random(kk), dl[1] = {0.75f}, loss[1],
          *want = nc_malloc((size_t)total * 4);
    for (int64_t i = 0; i < total; i++) z[i] *= 8;
    for (int64_t j = 0; j < kk; j++) wt[j] = wt[j] * 0.9f + 1.0f;
    for (int64_t r = 0; r < n; r++) {
        if (kind == NC_LOSS_WEIGHTED) {
            t[r * kk + cgt_int(0, kk - 1)] = 1;
            continue;
        }
        const float lam = 0.3f + 0.4f * (cgt_uniform() + 1) / 2, s = 0.1f;
        t[r * kk + cgt_int(0, kk - 1)] += lam * (1 - s), t[r * kk + cgt_int(0, kk - 1)] += (1 - lam) * (1 - s);
        for (int64_t j = 0; j < kk; j++) t[r * kk + j] += s / (float)kk;
    }
    const int weighted = kind == NC_LOSS_WEIGHTED;
    const NcValue *iv[3] = {&zv, &zv, &wv}, *lov[1] = {&lv}, *giv[4] = {&lv, &zv, &zv, &wv}, *gov[1] = {&zv};
    const float *in[3] = {z, t, wt}, *gin[4] = {dl, z, t, wt};
    float *lo[1] = {loss};
    cut_ref(nc_ref_cross_entropy, &a, 2 + weighted, iv, in, 1, lov, lo);
    cut_ref(nc_ref_cross_entropy_grad, &a, 3 + weighted, giv, gin, 1, gov, &want);
    NcCuCrossEntropy k = {n, kk, kind, a.p, gamma};
    NcCuDesc d;
    nc_cu_cross_entropy_desc(&d, name, &k);
    float *p[4] = {z, NULL, t, wt};
    const int64_t sz[4] = {total, 1, total, kk};
    cut_check1(&d, p, sz, loss);
    printf("  %s: loss %.6f\n", name, (double)loss[0]);
    char nm[64];
    snprintf(nm, sizeof nm, "%s_grad", name);
    nc_cu_cross_entropy_grad_desc(&d, nm, &k);
    float *pg[5] = {dl, NULL, z, t, wt};
    const int64_t sg[5] = {1, total, total, total, kk};
    cut_check1(&d, pg, sg, want);
    free(z), free(t), free(wt), free(want);
}

int main(void) {
    cut_init();
    bn_case("bn_train", 2, 5, 7, 9);
    bn_case("bn_train_1x1", 3, 4, 1, 1);           /* after a global pool: 3 values per channel */
    bn_case("bn_train_long", 4, 3, 40, 30);        /* 4800 values per channel: many per thread */
    bn_split_case("bn_split", 4, 3, 40, 30, 1000); /* 5 chunks of 960 per channel */
    bn_split_case("bn_split_odd", 3, 5, 7, 9, 50); /* 189 values: chunks of 48, the last 45 */
    bn_split_case("bn_split_one", 2, 4, 3, 3, 0);  /* one chunk per channel */
    act_grad_case("act_grad_relu", NC_EPI_RELU, 1000);
    act_grad_case("act_grad_relu6", NC_EPI_CLAMP, 777);
    act_grad_case("act_grad_silu", NC_EPI_SILU, 1001);
    act_grad_case("act_grad_sigmoid", NC_EPI_SIGMOID, 300);
    const int64_t x4[4] = {3, 5, 7, 9}, nc11[4] = {3, 5, 1, 1}, c11[4] = {1, 5, 1, 1}, c3[3] = {5, 1, 1},
                  hw[4] = {1, 1, 7, 9}, one[1] = {1};
    sum_to_case("sum_to_nc11", 4, x4, 4, nc11); /* an SE scale's gradient: rows of the plane */
    sum_to_case("sum_to_c11", 4, x4, 4, c11);   /* a per-channel bias: N and the plane */
    sum_to_case("sum_to_c", 4, x4, 3, c3);      /* the same, leading axis absent */
    sum_to_case("sum_to_hw", 4, x4, 4, hw);     /* innermost kept: one thread per output */
    sum_to_case("sum_to_all", 4, x4, 1, one);
    const int64_t nk[2] = {37, 10}, k1[1] = {10};
    sum_to_case("sum_to_bias", 2, nk, 1, k1); /* a linear bias over [N, K]: columns */
    dropout_case("dropout", 3, 5, 77, 0.3f, 0);
    dropout_case("drop_path", 16, 3, 5, 0.25f, 1);
    dropout_case("dropout_p0", 2, 3, 5, 0, 0);
    softmax_grad_case("softmax_grad_rows", 5, 1000, 1);
    softmax_grad_case("softmax_grad_inner", 3, 7, 11);
    softmax_grad_case("softmax_chan", 2, 10, 35); /* over the channels of [2, 10, 5, 7] */
    cross_entropy_case("xent", 37, 10, NC_LOSS_SOFT, 0);
    cross_entropy_case("xent_1000", 5, 1000, NC_LOSS_SOFT, 0);
    cross_entropy_case("xent_weighted", 37, 10, NC_LOSS_WEIGHTED, 0);
    cross_entropy_case("xent_weighted_300", 6, 300, NC_LOSS_WEIGHTED, 0);
    cross_entropy_case("xent_focal", 37, 10, NC_LOSS_FOCAL, 2.0f);
    cross_entropy_case("xent_focal_half", 9, 100, NC_LOSS_FOCAL, 0.5f);
    zeros_case("zeros", 1000);
    zeros_case("zeros_odd", 257); /* a last block of one thread */
    zeros_case("zeros_one", 1);
    cut_done();
    TEST_MAIN_END();
}
