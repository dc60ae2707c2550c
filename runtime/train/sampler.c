/* sampler.c — the epoch orders of sampler.h. */
#include "runtime/train/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = {"shuffle", "sequential", "balanced-sqrt", "balanced-inv"};

int nc_sampler_parse(const char *s, NcSampler *out, NcError *e) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, NAMES[i])) return *out = (NcSampler)i, 0;
    return nc_errorf(e, "--sampler '%s': expected shuffle, sequential, balanced-sqrt or balanced-inv", s);
}

const char *nc_sampler_name(NcSampler k) { return (unsigned)k < 4 ? NAMES[k] : "?"; }

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* the weight of one image of a class of `count` images */
static double image_weight(NcSampler k, int64_t count) {
    return k == NC_SAMPLER_BALANCED_SQRT  ? 1.0 / sqrt((double)count)
           : k == NC_SAMPLER_BALANCED_INV ? 1.0 / (double)count
                                          : 1.0;
}

static int64_t *class_counts(const int *labels, int64_t n, int K) {
    int64_t *count = nc_calloc((size_t)K, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) count[labels[i]]++;
    return count;
}

void nc_sampler_class_probs(NcSampler k, const int *labels, int64_t n, int K, double *p) {
    int64_t *count = class_counts(labels, n, K);
    double total = 0;
    for (int c = 0; c < K; c++) total += p[c] = count[c] ? (double)count[c] * image_weight(k, count[c]) : 0;
    for (int c = 0; c < K; c++) p[c] /= total;
    free(count);
}

void nc_sampler_order(NcSampler k, int64_t *order, int64_t n, const int *labels, int K, uint64_t seed, int64_t epoch) {
    /* (the shuffle's seeding is the one train_epoch_order always had: old runs resume unchanged) */
    uint64_t x = seed * 0x2545F4914F6CDD1Dull + (uint64_t)epoch;
    if (k == NC_SAMPLER_SHUFFLE || k == NC_SAMPLER_SEQUENTIAL) {
        for (int64_t i = 0; i < n; i++) order[i] = i;
        for (int64_t i = n - 1; i > 0 && k == NC_SAMPLER_SHUFFLE; i--) {
            /* Fisher-Yates; the modulo bias of 2^64 / n is nil in practice */
            int64_t j = (int64_t)(splitmix(&x) % (uint64_t)(i + 1));
            int64_t t = order[i];
            order[i] = order[j], order[j] = t;
        }
        return;
    }
    x += 0x5851F42D4C957F2Dull;
    int64_t *count = class_counts(labels, n, K);
    double *cum = nc_malloc((size_t)n * sizeof(double)), total = 0;
    for (int64_t i = 0; i < n; i++) cum[i] = total += image_weight(k, count[labels[i]]);
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(splitmix(&x) >> 11) * 0x1.0p-53 * total;
        int64_t lo = 0, hi = n - 1; /* the first image whose cumulative weight exceeds u */
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (cum[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        order[i] = lo;
    }
    free(cum);
    free(count);
}
