/* test_cuda_bf16.c — --precision bf16 on the GPU target: codegen/cuda/cu_bf16.h's
 * f32 -> bf16 kernel bit for bit against nc_bf16_round (codegen/cpu/cg_precision.h)
 * on hand-picked values (+-0, NaNs of both signs and several payloads, +-inf,
 * halfway cases both ways, values that round up into the next binade and up
 * to infinity, subnormals) and on random bit patterns, through the emulator
 * (and on a GPU where there is one); and the bf16 GEMM (NcDevGemm.bf16) the
 * same as the f32 GEMM on the operands widened back from bf16: bit for bit in
 * the emulator (both accumulate in double), within 1e-5 on a GPU. */
#include <math.h>

#include "codegen/cpu/cg_precision.h"
#include "codegen/cuda/cu_bf16.h"
#include "tests/cuda/cu_test.h"

static void (*const unused_helpers[])(void)
    __attribute__((unused)) = {(void (*)(void))cut_ref, (void (*)(void))cut_value, (void (*)(void))cut_check1};

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float widen(uint16_t h) { return from_bits((uint32_t)h << 16); }

/* The kernel over n values on dev: every output's bits nc_bf16_round's. */
static void convert_case(NcDevice *dev, const NcDevKernel *k, const float *x, int64_t n, const char *what) {
    NcError e;
    float *dx = cut_up(dev, x, n), *dy = cut_up(dev, NULL, (n + 1) / 2);
    float *dp[2] = {dx, dy};
    cut_launch(dev, k, dp);
    uint16_t *got = nc_malloc((size_t)n * 2);
    CHECK_MSG(nc_dev_download(dev, got, dy, (size_t)n * 2, &e) == 0, "%s", e.msg);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (got[i] != nc_bf16_round(x[i]) && bad++ < 5) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            printf("  %s[%lld]: 0x%08x -> 0x%04x, nc_bf16_round 0x%04x\n", what, (long long)i, u, got[i],
                   nc_bf16_round(x[i]));
        }
    CHECK_MSG(bad == 0, "%s on %s: %lld of %lld values differ from nc_bf16_round", what, nc_dev_name(dev),
              (long long)bad, (long long)n);
    if (!bad) printf("  %-30s %-14s %lld values bit-identical\n", what, nc_dev_name(dev), (long long)n);
    free(got), nc_dev_free(dev, dx), nc_dev_free(dev, dy);
}

/* C = A . op(B) with bf16 operands against the f32 GEMM of the widened ones. */
static void gemm_case(NcDevice *dev, int64_t m, int64_t n, int64_t k, int trans_b, int64_t batch, int accumulate) {
    NcError e;
    const int64_t na = batch * m * k, nb = batch * k * n, nc = batch * m * n;
    float *a = cgt_random(na), *b = cgt_random(nb), *c0 = cgt_random(nc), *aw = nc_malloc((size_t)na * 4);
    float *bw = nc_malloc((size_t)nb * 4);
    uint16_t *a16 = nc_malloc((size_t)na * 2), *b16 = nc_malloc((size_t)nb * 2);
    for (int64_t i = 0; i < na; i++) a16[i] = nc_bf16_round(a[i]), aw[i] = widen(a16[i]);
    for (int64_t i = 0; i < nb; i++) b16[i] = nc_bf16_round(b[i]), bw[i] = widen(b16[i]);
    NcDevGemm g = {.m = m, .n = n, .k = k, .trans_b = trans_b, .accumulate = accumulate, .batch = batch};
    g.stride_a = m * k, g.stride_b = k * n, g.stride_c = m * n;
    /* the f32 GEMM on the widened operands, in the emulator: the expected result */
    float *want = nc_malloc((size_t)nc * 4);
    memcpy(want, c0, (size_t)nc * 4);
    CHECK_MSG(nc_dev_gemm_ex(cut_devs[0], &g, aw, bw, want, &e) == 0, "%s", e.msg);
    float *da, *db, *dc = cut_up(dev, c0, nc);
    CHECK_MSG(nc_dev_alloc(dev, (void **)&da, (size_t)na * 2, &e) == 0 &&
                  nc_dev_alloc(dev, (void **)&db, (size_t)nb * 2, &e) == 0,
              "%s", e.msg);
    CHECK_MSG(nc_dev_upload(dev, da, a16, (size_t)na * 2, &e) == 0 &&
                  nc_dev_upload(dev, db, b16, (size_t)nb * 2, &e) == 0,
              "%s", e.msg);
    g.bf16 = 1;
    CHECK_MSG(nc_dev_gemm_ex(dev, &g, da, db, dc, &e) == 0 && nc_dev_sync(dev, &e) == 0, "%s", e.msg);
    char what[96];
    snprintf(what, sizeof what, "gemm %lldx%lldx%lld%s x%lld%s", (long long)m, (long long)n, (long long)k,
             trans_b ? " B^T" : "", (long long)batch, accumulate ? " +=" : "");
    if (dev == cut_devs[0]) {
        float *got = nc_malloc((size_t)nc * 4);
        CHECK_MSG(nc_dev_download(dev, got, dc, (size_t)nc * 4, &e) == 0, "%s", e.msg);
        CHECK_MSG(!memcmp(got, want, (size_t)nc * 4), "%s: the bf16 GEMM is not the f32 GEMM of its widened operands",
                  what);
        printf("  %-30s %-14s bit-identical\n", what, nc_dev_name(dev));
        free(got);
    } else {
        cut_expect(dev, what, dc, want, nc);
    }
    nc_dev_free(dev, da), nc_dev_free(dev, db), nc_dev_free(dev, dc);
    free(a), free(b), free(c0), free(aw), free(bw), free(a16), free(b16), free(want);
}

int main(void) {
    cut_init();
    const uint32_t special[] = {
        0x00000000u, 0x80000000u,              /* +-0 */
        0x7f800000u, 0xff800000u,              /* +-inf */
        0x7fc00000u, 0xffc00000u,              /* quiet NaNs */
        0x7f800001u, 0xff800001u, 0x7fa00000u, /* signalling NaNs: kept NaN (quieted), not rounded to inf */
        0x7fffffffu, 0xffffffffu,              /* NaNs whose rounding would carry past the exponent */
        0x3f808000u, 0x3f818000u,              /* halfway: to the even below, to the even above */
        0x3f808001u, 0x3f807fffu,              /* just above / below halfway */
        0x3fffffffu, 0x3fff8000u, 0xbfffffffu, /* round up into the next binade (2.0, -2.0) */
        0x7f7fffffu, 0xff7fffffu,              /* FLT_MAX: rounds up to +-inf */
        0x7f7f7fffu,                           /* just under the halfway to inf: stays finite */
        0x00000001u, 0x00008000u, 0x00018000u, 0x807fffffu, /* subnormals */
        0x3f800000u, 0xc0490fdbu,                           /* 1, -pi */
    };
    const int64_t ns = (int64_t)(sizeof special / sizeof *special);
    float sv[64];
    for (int64_t i = 0; i < ns; i++) sv[i] = from_bits(special[i]);
    /* random bit patterns: every exponent, NaNs and infinities included */
    const int64_t nr = 100003; /* odd: the last block partly idle, the last bf16 in half a word */
    float *rv = nc_malloc((size_t)nr * 4);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int64_t i = 0; i < nr; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        rv[i] = from_bits((uint32_t)s);
    }
    /* what the reference itself does with the cases the kernel must match */
    CHECK(nc_bf16_round(from_bits(0x3fffffffu)) == 0x4000 && nc_bf16_round(from_bits(0x7f7fffffu)) == 0x7f80);
    CHECK(nc_bf16_round(from_bits(0x3f808000u)) == 0x3f80 && nc_bf16_round(from_bits(0x3f818000u)) == 0x3f82);
    CHECK(isnan(widen(nc_bf16_round(from_bits(0x7f800001u)))) && nc_bf16_round(-0.0f) == 0x8000);
    NcCuDesc d;
    NcCuBf16 p = {.n = ns};
    nc_cu_bf16_desc(&d, "bf16_special", &p);
    NcDevKernel ks = cut_kernel(&d);
    NcCuBf16 q = {.n = nr};
    nc_cu_bf16_desc(&d, "bf16_random", &q);
    NcDevKernel kr = cut_kernel(&d);
    for (int di = 0; di < 2; di++) {
        NcDevice *dev = cut_devs[di];
        if (!dev) continue;
        convert_case(dev, &ks, sv, ns, "special values");
        convert_case(dev, &kr, rv, nr, "random bit patterns");
        gemm_case(dev, 7, 13, 29, 0, 1, 0);
        gemm_case(dev, 5, 11, 33, 1, 1, 0);
        gemm_case(dev, 6, 9, 17, 0, 3, 1);
        gemm_case(dev, 64, 70, 300, 1, 2, 0); /* big enough for the emulator's threads */
    }
    free(rv), free((char *)ks.ptx), free((char *)kr.ptx);
    cut_done();
    TEST_MAIN_END();
}
