/* peak.c — the CPU's fp32 FMA peak as a plain loop reaches it: independent
 * vector FMA chains (enough to cover latency x throughput), per thread, all
 * threads at once.  Built with -O3 -march=native; prints GFLOP/s. */
#include <omp.h>
#include <stdio.h>
#include <time.h>

#ifdef __AVX512F__
#define W 16
#else
#define W 8
#endif
typedef float vf __attribute__((vector_size(W * 4)));

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const long iters = 50000000;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
            vf x = {0}, y = {0};
            for (int i = 0; i < W; i++) x[i] = 1.0f + 1e-7f * i, y[i] = 1e-8f;
            /* 12 independent chains in registers: covers FMA latency x 2 pipes */
            vf a0 = y, a1 = y * 2, a2 = y * 3, a3 = y * 4, a4 = y * 5, a5 = y * 6;
            vf a6 = y * 7, a7 = y * 8, a8 = y * 9, a9 = y * 10, a10 = y * 11, a11 = y * 12;
            for (long it = 0; it < iters; it++) {
                a0 = a0 * x + y, a1 = a1 * x + y, a2 = a2 * x + y, a3 = a3 * x + y;
                a4 = a4 * x + y, a5 = a5 * x + y, a6 = a6 * x + y, a7 = a7 * x + y;
                a8 = a8 * x + y, a9 = a9 * x + y, a10 = a10 * x + y, a11 = a11 * x + y;
            }
            vf t = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
            sink += t[0];
        }
        double dt = now() - t0;
        double gflops = (double)omp_get_max_threads() * iters * 12 * W * 2 / dt / 1e9;
        if (gflops > best) best = gflops;
        if (sink == 12345.0f) puts("");
    }
    printf("%.1f GFLOP/s (%d threads, %d-float vectors)\n", best, omp_get_max_threads(), W);
    return 0;
}
