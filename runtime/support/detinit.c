/* detinit.c — see detinit.h for the contract.  Bit-exactness with numpy needs
 * every double operation done separately and rounded (no FMA contraction):
 * CMakeLists.txt compiles this file with -ffp-contract=off, and clang also
 * gets the standard pragma below.  x86-64/aarch64 double arithmetic is IEEE. */
#include "runtime/support/detinit.h"

#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define DET_FNV_OFFSET 0xcbf29ce484222325ULL
#define DET_FNV_PRIME  0x100000001b3ULL
#define DET_GOLDEN     0x9E3779B97F4A7C15ULL

uint64_t nc_det_fnv1a64(const char *name) {
    uint64_t h = DET_FNV_OFFSET;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= (uint64_t)*p;
        h *= DET_FNV_PRIME;
    }
    return h;
}

uint64_t nc_det_mix(uint64_t x) {
    uint64_t z = x + DET_GOLDEN;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double nc_det_uniform(uint64_t key, uint64_t i) {
    uint64_t h = nc_det_mix(key + i * DET_GOLDEN);
    double v = (double)(h >> 40) * 0x1p-24;
    v = v * 2.0;
    return v - 1.0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int nc_det_is_skipped(const char *name) { return ends_with(name, "num_batches_tracked"); }

enum { RULE_SCALE, RULE_ONE_PLUS };

/* dst[i] = (float)(a * v) for RULE_SCALE, (float)(1.0 + a * v) for RULE_ONE_PLUS. */
static void fill(uint64_t key, int rule, double a, float *dst, int64_t n) {
    if (rule == RULE_SCALE) {
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (int64_t i = 0; i < n; i++) {
            double v = nc_det_uniform(key, (uint64_t)i);
            double r = v * a;
            dst[i] = (float)r;
        }
    } else {
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (int64_t i = 0; i < n; i++) {
            double v = nc_det_uniform(key, (uint64_t)i);
            double t = a * v;
            double r = 1.0 + t;
            dst[i] = (float)r;
        }
    }
}

void nc_det_fill_param(const char *name, int ndim, const int64_t *shape, float *dst) {
    if (nc_det_is_skipped(name)) return;
    int64_t n = 1, fan_in = 1;
    for (int d = 0; d < ndim; d++) {
        n *= shape[d];
        if (d >= 1) fan_in *= shape[d];
    }
    uint64_t key = nc_det_fnv1a64(name);
    if (ndim >= 2) {
        double q = 3.0 / (double)fan_in;
        fill(key, RULE_SCALE, sqrt(q), dst, n);
    } else if (ends_with(name, ".running_var") || ends_with(name, ".weight")) {
        fill(key, RULE_ONE_PLUS, 0.2, dst, n);
    } else {
        /* .running_mean, .bias and anything else */
        fill(key, RULE_SCALE, 0.1, dst, n);
    }
}

void nc_det_fill_input(float *dst, size_t n) {
    uint64_t key = nc_det_fnv1a64("input");
    int64_t m = (int64_t)n;
#pragma omp parallel for schedule(static) if (m >= 65536)
    for (int64_t i = 0; i < m; i++) dst[i] = (float)nc_det_uniform(key, (uint64_t)i);
}
