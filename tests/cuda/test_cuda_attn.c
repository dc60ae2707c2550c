/* test_cuda_attn.c — codegen/cuda/'s split attention (cu_attn.h), SE's
 * channel scale (cu_kernels.h's elementwise steps) and the strided copy
 * (cu_copy.h: concat, split, transpose, broadcast) against ir/'s reference
 * kernels (radix_gap, radix_softmax, radix_combine and their gradients; mul
 * with broadcasting, sigmoid; concat, split, transpose; the global average
 * pool's and radix_gap's gradients; squeeze_excite's gate), through the device emulator
 * (cu_test.h), on odd sizes. */
#include "codegen/cuda/cu_attn.h"
#include "codegen/cuda/cu_copy.h"
#include "codegen/cuda/cu_kernels.h"
#include "tests/cuda/cu_test.h"

static NcAttrs radix_attrs(int64_t radix, int64_t card) {
    NcAttrs a = nc_attrs_default();
    a.radix = (int)radix, a.cardinality = (int)card;
    return a;
}

static void radix_softmax_case(const char *name, int64_t n, int64_t radix, int64_t card, int64_t rest) {
    const int64_t per = radix * card * rest, total = n * per, shape[4] = {n, per, 1, 1};
    NcValue v = cut_value(4, shape);
    NcAttrs a = radix_attrs(radix, card);
    float *x = cgt_random(total), *dy = cgt_random(total), *y = nc_malloc((size_t)total * 4),
          *dx = nc_malloc((size_t)total * 4);
    for (int64_t i = 0; i < total; i++) x[i] *= 6;
    const NcValue *iv[2] = {&v, &v}, *ov[1] = {&v};
    const float *in[1] = {x}, *gin[2] = {dy, y};
    cut_ref(nc_ref_radix_softmax, &a, 1, iv, in, 1, ov, &y);
    cut_ref(nc_ref_radix_softmax_grad, &a, 2, iv, gin, 1, ov, &dx);
    NcCuRadixSoftmax k = {n, radix, card, rest};
    NcCuDesc d;
    nc_cu_radix_softmax_desc(&d, name, &k);
    float *p[2] = {x, NULL};
    const int64_t s[3] = {total, total, total};
    cut_check1(&d, p, s, y);
    char nm[64];
    snprintf(nm, sizeof nm, "%s_grad", name);
    nc_cu_radix_softmax_grad_desc(&d, nm, &k);
    float *pg[3] = {dy, NULL, y};
    cut_check1(&d, pg, s, dx);
    free(x), free(dy), free(y), free(dx);
}

/* radix_gap, radix_combine and their gradients on x [n, radix c, h, w]. */
static void split_attn_case(const char *name, int64_t n, int64_t radix, int64_t c, int64_t h, int64_t w) {
    const int64_t hw = h * w, nx = n * radix * c * hw, ny = n * c * hw, na = n * radix * c;
    const int64_t xs[4] = {n, radix * c, h, w}, ys[4] = {n, c, h, w}, gs[4] = {n, c, 1, 1},
                  as[4] = {n, radix * c, 1, 1};
    NcValue xv = cut_value(4, xs), yv = cut_value(4, ys), gv = cut_value(4, gs), av = cut_value(4, as);
    NcAttrs a = radix_attrs(radix, 1);
    float *x = cgt_random(nx), *attn = cgt_random(na), *dy = cgt_random(ny), *dg = cgt_random(n * c);
    float *gap = nc_malloc((size_t)(n * c) * 4), *y = nc_malloc((size_t)ny * 4), *dx = nc_malloc((size_t)nx * 4),
          *dattn = nc_malloc((size_t)na * 4), *dxg = nc_malloc((size_t)nx * 4);
    {
        const NcValue *iv[1] = {&xv}, *ov[1] = {&gv};
        const float *in[1] = {x};
        cut_ref(nc_ref_radix_gap, &a, 1, iv, in, 1, ov, &gap);
        const NcValue *giv[1] = {&gv}, *gov[1] = {&xv};
        const float *gin[1] = {dg};
        cut_ref(nc_ref_radix_gap_grad, &a, 1, giv, gin, 1, gov, &dxg);
        const NcValue *civ[2] = {&xv, &av}, *cov[1] = {&yv};
        const float *cin[2] = {x, attn};
        cut_ref(nc_ref_radix_combine, &a, 2, civ, cin, 1, cov, &y);
        const NcValue *div_[3] = {&yv, &xv, &av}, *dov[2] = {&xv, &av};
        const float *din[3] = {dy, x, attn};
        float *dout[2] = {dx, dattn};
        cut_ref(nc_ref_radix_combine_grad, &a, 3, div_, din, 2, dov, dout);
    }
    NcCuSplitAttn k = {n, radix, c, hw};
    NcCuDesc d;
    char nm[64];
    snprintf(nm, sizeof nm, "%s_gap", name);
    nc_cu_radix_gap_desc(&d, nm, &k);
    float *p0[2] = {x, NULL};
    const int64_t s0[2] = {nx, n * c};
    cut_check1(&d, p0, s0, gap);
    /* radix_gap's gradient: dy[n, c] / HW broadcast to [n, r, c, HW] */
    NcCuCopy bc = {.nd = 4,
                   .dims = {n, radix, c, hw},
                   .src_stride = {c, 0, 1, 0},
                   .dst_stride = {radix * c * hw, c * hw, hw, 1},
                   .scale = (float)(1.0 / (double)hw)};
    snprintf(nm, sizeof nm, "%s_gap_grad", name);
    nc_cu_copy_desc(&d, nm, &bc);
    float *pb[2] = {dg, NULL};
    const int64_t sb[2] = {n * c, nx};
    cut_check1(&d, pb, sb, dxg);
    snprintf(nm, sizeof nm, "%s_combine", name);
    nc_cu_radix_combine_desc(&d, nm, &k);
    float *p1[3] = {x, NULL, attn};
    const int64_t s1[3] = {nx, ny, na};
    cut_check1(&d, p1, s1, y);
    snprintf(nm, sizeof nm, "%s_combine_grad", name);
    nc_cu_radix_combine_grad_desc(&d, nm, &k);
    float *p2[5] = {dy, NULL, x, attn, NULL};
    const int64_t s2[5] = {ny, nx, nx, na, na};
    const int outs[2] = {1, 4};
    float *wants[2] = {dx, dattn};
    cut_check(&d, p2, s2, 2, outs, wants);
    free(x), free(attn), free(dy), free(dg), free(gap), free(y), free(dx), free(dattn), free(dxg);
}

/* SE's channel scale as an elementwise chain: x * s (s [N, C, 1, 1], ref
 * mul with broadcasting), x * sigmoid(z) (ref sigmoid, then mul), and the
 * same-shape product (a mul's gradient dy * x). */
static void channel_scale_case(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, int kind) {
    const int64_t hw = h * w, total = n * c * hw, xs[4] = {n, c, h, w}, ss[4] = {n, c, 1, 1};
    NcValue xv = cut_value(4, xs), sv = cut_value(4, ss);
    const int same = kind == NC_CU_EW_MUL;
    const int64_t ns = same ? total : n * c;
    float *x = cgt_random(total), *s = cgt_random(ns), *g = nc_malloc((size_t)ns * 4),
          *want = nc_malloc((size_t)total * 4);
    NcAttrs a = nc_attrs_default();
    for (int64_t i = 0; i < ns; i++) s[i] *= 5;
    memcpy(g, s, (size_t)ns * 4);
    if (kind == NC_CU_EW_CHANNEL_MUL_SIGMOID) {
        const NcValue *iv[1] = {&sv};
        const float *in[1] = {s};
        cut_ref(nc_ref_sigmoid, &a, 1, iv, in, 1, iv, &g);
    }
    const NcValue *iv[2] = {&xv, same ? &xv : &sv}, *ov[1] = {&xv};
    const float *in[2] = {x, g};
    cut_ref(nc_ref_mul, &a, 2, iv, in, 1, ov, &want);
    NcCuEltwise k = {.n = n, .c = c, .hw = hw, .nsteps = 1, .nparams = 3};
    k.step[0] = (NcCuEwStep){.kind = (NcCuEwKind)kind, .a = 2};
    NcCuDesc d;
    nc_cu_eltwise_desc(&d, name, &k);
    float *p[3] = {x, NULL, s};
    const int64_t sz[3] = {total, total, ns};
    cut_check1(&d, p, sz, want);
    free(x), free(s), free(g), free(want);
}

/* concat of three tensors along `axis` (one copy each into its slice), then
 * split back (one copy per output), against nc_ref_concat / nc_ref_split. */
static void concat_split_case(const char *name, const int64_t *shape, int axis, const int64_t *lens) {
    int64_t big[4], off = 0;
    memcpy(big, shape, sizeof big);
    big[axis] = lens[0] + lens[1] + lens[2];
    NcValue bv = cut_value(4, big), pv[3];
    float *part[3], *want = nc_malloc((size_t)nc_numel(&bv) * 4);
    const NcValue *piv[3];
    const float *pin[3];
    for (int j = 0; j < 3; j++) {
        int64_t s[4];
        memcpy(s, shape, sizeof s);
        s[axis] = lens[j];
        pv[j] = cut_value(4, s), part[j] = cgt_random(nc_numel(&pv[j])), piv[j] = &pv[j], pin[j] = part[j];
    }
    NcAttrs a = nc_attrs_default();
    a.axis = axis, a.nsizes = 3;
    for (int j = 0; j < 3; j++) a.sizes[j] = lens[j];
    const NcValue *bov[1] = {&bv};
    cut_ref(nc_ref_concat, &a, 3, piv, pin, 1, bov, &want);
    float *wsplit[3];
    for (int j = 0; j < 3; j++) wsplit[j] = nc_malloc((size_t)nc_numel(&pv[j]) * 4);
    {
        const float *in[1] = {want};
        cut_ref(nc_ref_split, &a, 1, bov, in, 3, piv, wsplit);
    }
    NcDevice *dev = cut_devs[0];
    float *dbig = cut_up(dev, NULL, nc_numel(&bv));
    for (int j = 0; j < 3; j++) {
        NcCuCopy c;
        nc_cu_copy_slice(&c, 4, pv[j].shape, axis, big[axis], off, 1);
        NcCuDesc d;
        char nm[64];
        snprintf(nm, sizeof nm, "%s_cat%d", name, j);
        nc_cu_copy_desc(&d, nm, &c);
        NcDevKernel k = cut_kernel(&d);
        float *p[2] = {cut_up(dev, part[j], nc_numel(&pv[j])), dbig};
        cut_launch(dev, &k, p);
        nc_dev_free(dev, p[0]);
        free((char *)k.ptx);
        off += lens[j];
    }
    char what[96];
    snprintf(what, sizeof what, "%s: concat", name);
    cut_expect(dev, what, dbig, want, nc_numel(&bv));
    off = 0;
    for (int j = 0; j < 3; j++) {
        NcCuCopy c;
        nc_cu_copy_slice(&c, 4, pv[j].shape, axis, big[axis], off, 0);
        NcCuDesc d;
        char nm[64];
        snprintf(nm, sizeof nm, "%s_split%d", name, j);
        nc_cu_copy_desc(&d, nm, &c);
        NcDevKernel k = cut_kernel(&d);
        float *p[2] = {dbig, cut_up(dev, NULL, nc_numel(&pv[j]))};
        cut_launch(dev, &k, p);
        snprintf(what, sizeof what, "%s: split %d", name, j);
        cut_expect(dev, what, p[1], wsplit[j], nc_numel(&pv[j]));
        nc_dev_free(dev, p[1]);
        free((char *)k.ptx);
        off += lens[j];
    }
    nc_dev_free(dev, dbig);
    for (int j = 0; j < 3; j++) free(part[j]), free(wsplit[j]);
    free(want);
}

static void transpose_case(const char *name, int nd, const int64_t *shape, const int64_t *perm) {
    NcValue xv = cut_value(nd, shape), yv;
    int64_t ys[6];
    for (int d = 0; d < nd; d++) ys[d] = shape[perm[d]];
    yv = cut_value(nd, ys);
    const int64_t total = nc_numel(&xv);
    float *x = cgt_random(total), *want = nc_malloc((size_t)total * 4);
    NcAttrs a = nc_attrs_default();
    a.nsizes = nd;
    for (int d = 0; d < nd; d++) a.sizes[d] = perm[d];
    const NcValue *iv[1] = {&xv}, *ov[1] = {&yv};
    const float *in[1] = {x};
    cut_ref(nc_ref_transpose, &a, 1, iv, in, 1, ov, &want);
    NcCuCopy c;
    nc_cu_copy_transpose(&c, nd, shape, perm);
    NcCuDesc d;
    nc_cu_copy_desc(&d, name, &c);
    float *p[2] = {x, NULL};
    const int64_t s[2] = {total, total};
    cut_check1(&d, p, s, want);
    free(x), free(want);
}

/* global_avg_pool_grad: dy [N, C] / HW broadcast over the plane. */
static void gap_grad_case(int64_t n, int64_t c, int64_t h, int64_t w) {
    const int64_t xs[4] = {n, c, h, w}, gs[4] = {n, c, 1, 1};
    NcValue xv = cut_value(4, xs), gv = cut_value(4, gs);
    float *dy = cgt_random(n * c), *want = nc_malloc((size_t)nc_numel(&xv) * 4);
    NcAttrs a = nc_attrs_default();
    const NcValue *iv[1] = {&gv}, *ov[1] = {&xv};
    const float *in[1] = {dy};
    cut_ref(nc_ref_global_avg_pool_grad, &a, 1, iv, in, 1, ov, &want);
    NcCuCopy bc;
    nc_cu_copy_broadcast(&bc, n * c, h * w, (float)(1.0 / (double)(h * w)));
    NcCuDesc d;
    nc_cu_copy_desc(&d, "gap_grad", &bc);
    float *p[2] = {dy, NULL};
    const int64_t s[2] = {n * c, nc_numel(&xv)};
    cut_check1(&d, p, s, want);
    free(dy), free(want);
}

/* SE's gate: the row mean (cu_kernels.h) then the gate kernel, against
 * nc_ref_squeeze_excite (mean, fc + act, fc + sigmoid in one reference). */
static void se_gate_case(const char *name, int64_t n, int64_t c, int64_t hw, int64_t r, int act) {
    const int64_t xs[4] = {n, c, hw, 1}, gs[4] = {n, c, 1, 1}, w1s[4] = {r, c, 1, 1}, rs[1] = {r},
                  w2s[4] = {c, r, 1, 1}, cs[1] = {c};
    NcValue xv = cut_value(4, xs), gv = cut_value(4, gs), w1v = cut_value(4, w1s), b1v = cut_value(1, rs),
            w2v = cut_value(4, w2s), b2v = cut_value(1, cs);
    NcAttrs a = nc_attrs_default();
    a.nepi = 1, a.epi[0].kind = (NcEpiKind)act;
    float *x = cgt_random(n * c * hw), *w1 = cgt_random(r * c), *b1 = cgt_random(r), *w2 = cgt_random(c * r),
          *b2 = cgt_random(c), *want = nc_malloc((size_t)(n * c) * 4);
    for (int64_t i = 0; i < n * c * hw; i++) x[i] = x[i] * 2 + 0.5f;
    const NcValue *iv[5] = {&xv, &w1v, &b1v, &w2v, &b2v}, *ov[1] = {&gv};
    const float *in[5] = {x, w1, b1, w2, b2};
    cut_ref(nc_ref_squeeze_excite, &a, 5, iv, in, 1, ov, &want);
    NcCuRowMean rm = {n * c, hw};
    NcCuSeGate k = {n, c, r, act};
    NcCuDesc dm, dg;
    char nm[64];
    snprintf(nm, sizeof nm, "%s_mean", name);
    nc_cu_row_mean_desc(&dm, nm, &rm);
    nc_cu_se_gate_desc(&dg, name, &k);
    NcDevKernel km = cut_kernel(&dm), kg = cut_kernel(&dg);
    printf("%s: grid %lld x %lld, %d phases, %lld shared floats\n", name, (long long)dg.grid, (long long)dg.block,
           dg.nphases, (long long)dg.smem_floats);
    NcDevice *dev = cut_devs[0];
    float *dx = cut_up(dev, x, n * c * hw), *pooled = cut_up(dev, NULL, n * c), *gate = cut_up(dev, NULL, n * c);
    float *p1[2] = {dx, pooled},
          *p2[6] = {
              pooled, gate, cut_up(dev, w1, r * c), cut_up(dev, b1, r), cut_up(dev, w2, c * r), cut_up(dev, b2, c)};
    cut_launch(dev, &km, p1);
    cut_launch(dev, &kg, p2);
    cut_expect(dev, name, gate, want, n * c);
    for (int i = 0; i < 6; i++) nc_dev_free(dev, p2[i]);
    nc_dev_free(dev, dx);
    free((char *)km.ptx), free((char *)kg.ptx);
    free(x), free(w1), free(b1), free(w2), free(b2), free(want);
}

int main(void) {
    cut_init();
    radix_softmax_case("rsoftmax_r2", 2, 2, 1, 12);  /* ResNeSt: radix 2, cardinality 1 */
    radix_softmax_case("rsoftmax_r4c2", 3, 4, 2, 5); /* radix 4, cardinality 2 */
    radix_softmax_case("rsoftmax_r1", 2, 1, 1, 7);   /* radix 1: a sigmoid */
    split_attn_case("splat_r2", 2, 2, 6, 7, 5);      /* planes shorter than a block */
    split_attn_case("splat_r4", 1, 4, 3, 13, 11);    /* planes longer than a block */
    split_attn_case("se_r1", 2, 1, 5, 9, 7);         /* radix 1: global pool, channel scale and its gradient */
    se_gate_case("se_gate_relu", 2, 24, 49, 6, NC_EPI_RELU);
    se_gate_case("se_gate_silu", 3, 300, 7, 20, NC_EPI_SILU); /* more channels than threads */
    channel_scale_case("se_scale", 2, 7, 5, 9, NC_CU_EW_CHANNEL_MUL);
    channel_scale_case("se_scale_sigmoid", 3, 5, 7, 7, NC_CU_EW_CHANNEL_MUL_SIGMOID);
    channel_scale_case("ew_mul", 2, 3, 6, 5, NC_CU_EW_MUL);
    const int64_t cs[4] = {2, 0, 5, 3}, lens[3] = {3, 5, 2};
    concat_split_case("chan", cs, 1, lens);
    const int64_t ws[4] = {2, 3, 4, 0}, wl[3] = {1, 6, 3};
    concat_split_case("width", ws, 3, wl);
    const int64_t t4[4] = {2, 5, 3, 7}, nhwc[4] = {0, 2, 3, 1};
    transpose_case("to_nhwc", 4, t4, nhwc);
    const int64_t t5[5] = {2, 3, 2, 4, 5}, shuf[5] = {0, 2, 1, 3, 4}; /* ShuffleNet's channel shuffle */
    transpose_case("shuffle", 5, t5, shuf);
    gap_grad_case(3, 5, 7, 9);
    cut_done();
    TEST_MAIN_END();
}
