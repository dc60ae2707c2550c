/* bench_util.h — what the kernel benchmarks share: a clock that can read the
 * process's CPU time instead of wall time (on a machine loaded by other jobs,
 * wall time mostly measures preemption), reproducible operands, medians.
 * Header-only: each benchmark is one C file and this. */
#ifndef NETC_BENCH_UTIL_H
#define NETC_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/support/base.h"

/* seconds: wall time, or with cpu_time the CPU time of all the process's threads */
static inline double bench_now(int cpu_time) {
    if (!cpu_time) return nc_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* n floats uniform in [-1, 1), the same every run (xorshift64*) */
static inline float *bench_random_floats(int64_t n) {
    float *p = nc_malloc((size_t)n * sizeof(float));
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (int64_t i = 0; i < n; i++) {
        r ^= r >> 12, r ^= r << 25, r ^= r >> 27;
        p[i] = (float)((double)((r * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    return p;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the median of v[0..n) (sorts v) */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

#endif
