/* test_detinit.c — runtime/support/detinit.c against tests/fixtures/detinit.tsv, which
 * tools/make_fixtures.py writes with the numpy implementation (tools/detinit.py):
 * sampled float32 bit patterns and an exact whole-tensor checksum must match
 * bit for bit; the float64 sum must match to rounding. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/support/base.h"
#include "runtime/support/detinit.h"
#include "tests/unit/check.h"

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* sum_i bits(x[i]) * (2i+1) mod 2^64 — the "bitsum" column. */
static uint64_t bitsum(const float *x, int64_t n) {
    uint64_t s = 0;
    for (int64_t i = 0; i < n; i++) s += (uint64_t)bits_of(x[i]) * (uint64_t)(2 * i + 1);
    return s;
}

/* Split `line` at tabs in place; returns the number of fields. */
static int split_tabs(char *line, char **f, int maxf) {
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < maxf; p++)
        if (*p == '\t') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static void check_case(char **f) {
    const char *kind = f[0], *name = f[1];
    int64_t shape[8];
    int ndim = 0;
    if (strcmp(f[2], "-") != 0) {
        for (char *p = f[2]; *p;) {
            shape[ndim++] = strtoll(p, &p, 10);
            if (*p == ',') p++;
        }
    }
    int64_t n = strtoll(f[3], NULL, 10);
    int64_t prod = 1;
    for (int d = 0; d < ndim; d++) prod *= shape[d];
    CHECK_MSG(prod == n, "%s: numel %" PRId64 " vs shape product %" PRId64, name, n, prod);

    float *x = nc_malloc((size_t)n * sizeof(float));
    memset(x, 0xff, (size_t)n * sizeof(float));
    double t0 = nc_now();
    if (strcmp(kind, "input") == 0)
        nc_det_fill_input(x, (size_t)n);
    else
        nc_det_fill_param(name, ndim, shape, x);
    double dt = nc_now() - t0;
    if (n >= 1000000) printf("  %s: %" PRId64 " elements in %.2f ms\n", name, n, dt * 1e3);

    /* Sampled bit patterns. */
    for (char *p = f[6]; *p;) {
        int64_t idx = strtoll(p, &p, 10);
        CHECK(*p == ':');
        p++;
        uint32_t want = (uint32_t)strtoul(p, &p, 16);
        if (*p == ';') p++;
        CHECK_MSG(idx >= 0 && idx < n && bits_of(x[idx]) == want, "%s[%" PRId64 "]: got %08" PRIx32 " want %08" PRIx32,
                  name, idx, idx >= 0 && idx < n ? bits_of(x[idx]) : 0u, want);
    }
    /* Whole tensor, exact. */
    uint64_t want_bs = strtoull(f[5], NULL, 16), got_bs = bitsum(x, n);
    CHECK_MSG(got_bs == want_bs, "%s: bitsum %016" PRIx64 " want %016" PRIx64, name, got_bs, want_bs);
    /* Float64 sum (Python's is exactly rounded; ours is sequential). */
    double want_sum = strtod(f[4], NULL), sum = 0, asum = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        asum += fabs(x[i]);
    }
    CHECK_MSG(fabs(sum - want_sum) <= 1e-12 * asum + 1e-300, "%s: sum %.17g want %.17g", name, sum, want_sum);
    free(x);
}

int main(void) {
    /* Published FNV-1a 64 vectors and the first SplitMix64 output for seed 0. */
    CHECK(nc_det_fnv1a64("") == 0xcbf29ce484222325ULL);
    CHECK(nc_det_fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(nc_det_fnv1a64("foobar") == 0x85944171f73967e8ULL);
    CHECK(nc_det_mix(0) == 0xe220a8397b1dcdafULL);

    /* Range and granularity of u. */
    uint64_t key = nc_det_fnv1a64("range");
    double lo = 1, hi = -1;
    for (uint64_t i = 0; i < 100000; i++) {
        double v = nc_det_uniform(key, i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        CHECK_MSG(v == (double)(float)v, "u not exact in float at %" PRIu64, i);
        if (v < -1.0 || v >= 1.0) CHECK_MSG(0, "u out of range at %" PRIu64 ": %g", i, v);
    }
    CHECK(lo < -0.999 && hi > 0.999);

    /* num_batches_tracked is left alone. */
    CHECK(nc_det_is_skipped("layer1.0.bn1.num_batches_tracked"));
    CHECK(!nc_det_is_skipped("layer1.0.bn1.running_var"));
    float sentinel = 42.0f;
    nc_det_fill_param("bn1.num_batches_tracked", 0, NULL, &sentinel);
    CHECK(sentinel == 42.0f);

    /* Rule spot checks straight from the definition. */
    {
        int64_t shp[1] = {5};
        float g[5], m[5];
        nc_det_fill_param("x.bn.weight", 1, shp, g);
        nc_det_fill_param("x.bn.running_mean", 1, shp, m);
        uint64_t kg = nc_det_fnv1a64("x.bn.weight"), km = nc_det_fnv1a64("x.bn.running_mean");
        for (int i = 0; i < 5; i++) {
            CHECK(g[i] == (float)(1.0 + 0.2 * nc_det_uniform(kg, (uint64_t)i)));
            CHECK(m[i] == (float)(0.1 * nc_det_uniform(km, (uint64_t)i)));
        }
    }

    /* The fixture written by the numpy implementation. */
    NcError err;
    char *data;
    size_t len;
    int ncases = 0;
    if (nc_read_file(NETC_FIXTURES_DIR "/detinit.tsv", &data, &len, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == '#' || line[0] == 0) continue;
            char *f[8];
            int nf = split_tabs(line, f, 8);
            CHECK_MSG(nf == 7, "detinit.tsv: %d fields in a line, want 7", nf);
            if (nf != 7) continue;
            check_case(f);
            ncases++;
        }
        free(data);
    }
    CHECK_MSG(ncases >= 10, "detinit.tsv: only %d cases", ncases);
    TEST_MAIN_END();
}
