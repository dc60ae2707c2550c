/* test_sampler.c — the epoch orders of runtime/train/sampler.h against their
 * definitions: shuffle is a permutation with every position equally likely
 * (chi-square), sequential is the list order, the balanced samplers draw each
 * class with probability sqrt(n_c) / sum sqrt(n) or 1 / (classes present)
 * (chi-square over 100k draws, computed here from the counts) and the images of
 * a class uniformly; all of them the same for the same (seed, epoch) only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/train/sampler.h"

/* chi-square critical values at p = 0.001 */
static double chi_crit(int dof) { return dof == 4 ? 18.47 : dof == 7 ? 24.32 : dof == 99 ? 148.23 : 0; }

static double chi2(const int64_t *obs, const double *expect, int k) {
    double c = 0;
    for (int i = 0; i < k; i++) c += (obs[i] - expect[i]) * (obs[i] - expect[i]) / expect[i];
    return c;
}

static void test_shuffle(void) {
    enum { N = 8, E = 20000 };
    int64_t o[N], o2[N], pos0[N] = {0};
    int labels[N] = {0};
    int same_epoch_differs = 0, seed_differs = 0;
    for (int64_t e = 0; e < E; e++) {
        nc_sampler_order(NC_SAMPLER_SHUFFLE, o, N, labels, 1, 11, e);
        int seen[N] = {0}, perm = 1;
        for (int i = 0; i < N; i++) perm &= o[i] >= 0 && o[i] < N && !seen[o[i]]++;
        if (!perm) CHECK_MSG(perm, "epoch %lld: not a permutation", (long long)e);
        for (int i = 0; i < N; i++)
            if (o[i] == 0) pos0[i]++;
        nc_sampler_order(NC_SAMPLER_SHUFFLE, o2, N, labels, 1, 11, e);
        same_epoch_differs += memcmp(o, o2, sizeof o) != 0;
        nc_sampler_order(NC_SAMPLER_SHUFFLE, o2, N, labels, 1, 12, e);
        seed_differs += memcmp(o, o2, sizeof o) != 0;
    }
    CHECK_MSG(same_epoch_differs == 0, "%d epochs drew two orders", same_epoch_differs);
    CHECK_MSG(seed_differs > E * 0.99, "another seed gave the same order in %d of %d epochs", E - seed_differs, E);
    double expect[N];
    for (int i = 0; i < N; i++) expect[i] = E / (double)N;
    const double c = chi2(pos0, expect, N);
    printf("shuffle: image 0's position over %d epochs: chi2 %.2f (7 dof)\n", E, c);
    CHECK_MSG(c < chi_crit(7), "image 0's position is not uniform: chi2 %g", c);
    /* epochs differ */
    int64_t a[100], b[100];
    int lab[100] = {0};
    nc_sampler_order(NC_SAMPLER_SHUFFLE, a, 100, lab, 1, 3, 0);
    nc_sampler_order(NC_SAMPLER_SHUFFLE, b, 100, lab, 1, 3, 1);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

static void test_sequential(void) {
    int64_t o[50];
    int lab[50] = {0};
    nc_sampler_order(NC_SAMPLER_SEQUENTIAL, o, 50, lab, 1, 99, 7);
    int ok = 1;
    for (int i = 0; i < 50; i++) ok &= o[i] == i;
    CHECK(ok);
}

static void test_balanced(NcSampler k) {
    /* classes of 400, 100, 25, 4 and 1 images, and an empty one (5), interleaved */
    enum { K = 6, EP = 200 };
    const int count[K] = {400, 100, 25, 4, 1, 0};
    int n = 0;
    for (int c = 0; c < K; c++) n += count[c];
    int *labels = malloc(sizeof(int) * (size_t)n);
    for (int i = 0, c = 0, left[K]; i < n; i++) {
        if (i == 0) memcpy(left, count, sizeof left);
        while (!left[c]) c = (c + 1) % K;
        labels[i] = c, left[c]--, c = (c + 1) % K;
    }
    /* the definition: class c drawn with probability n_c w(n_c) / sum */
    double p[K], sum = 0;
    for (int c = 0; c < K; c++) sum += p[c] = count[c] ? (k == NC_SAMPLER_BALANCED_SQRT ? sqrt(count[c]) : 1.0) : 0;
    for (int c = 0; c < K; c++) p[c] /= sum;
    double q[K];
    nc_sampler_class_probs(k, labels, n, K, q);
    for (int c = 0; c < K; c++) CHECK_NEAR(q[c], p[c], 1e-12);
    int64_t *o = malloc(sizeof(int64_t) * (size_t)n), *o2 = malloc(sizeof(int64_t) * (size_t)n);
    int64_t cls[K] = {0}, *per = calloc((size_t)n, sizeof(int64_t));
    int bad = 0;
    for (int e = 0; e < EP; e++) {
        nc_sampler_order(k, o, n, labels, K, 5, e);
        for (int i = 0; i < n; i++) {
            bad += o[i] < 0 || o[i] >= n;
            if (o[i] >= 0 && o[i] < n) cls[labels[o[i]]]++, per[o[i]]++;
        }
        nc_sampler_order(k, o2, n, labels, K, 5, e);
        bad += memcmp(o, o2, sizeof(int64_t) * (size_t)n) != 0;
    }
    CHECK_MSG(bad == 0, "%d draws out of range or orders not reproducible", bad);
    CHECK_MSG(cls[5] == 0, "the empty class was drawn %lld times", (long long)cls[5]);
    const double draws = (double)n * EP;
    double expect[K];
    for (int c = 0; c < K; c++) expect[c] = p[c] * draws;
    const double c5 = chi2(cls, expect, 5);
    printf("%s: class counts", nc_sampler_name(k));
    for (int c = 0; c < K; c++) printf(" %lld (%.0f)", (long long)cls[c], expect[c]);
    printf(": chi2 %.2f (4 dof)\n", c5);
    CHECK_MSG(c5 < chi_crit(4), "%s: class frequencies off: chi2 %g", nc_sampler_name(k), c5);
    /* within class 1 (100 images): uniform */
    int64_t obs[100];
    double ex[100];
    for (int i = 0, j = 0; i < n; i++)
        if (labels[i] == 1) obs[j] = per[i], ex[j] = expect[1] / 100, j++;
    const double c1 = chi2(obs, ex, 100);
    printf("%s: class 1's images: chi2 %.2f (99 dof)\n", nc_sampler_name(k), c1);
    CHECK_MSG(c1 < chi_crit(99), "%s: class 1's images not uniform: chi2 %g", nc_sampler_name(k), c1);
    nc_sampler_order(k, o2, n, labels, K, 5, EP + 1);
    CHECK(memcmp(o, o2, sizeof(int64_t) * (size_t)n) != 0);
    free(labels), free(o), free(o2), free(per);
}

static void test_parse(void) {
    NcSampler k;
    NcError e;
    const char *names[] = {"shuffle", "sequential", "balanced-sqrt", "balanced-inv"};
    for (int i = 0; i < 4; i++) {
        CHECK(nc_sampler_parse(names[i], &k, &e) == 0 && (int)k == i);
        CHECK(!strcmp(nc_sampler_name(k), names[i]));
    }
    CHECK(nc_sampler_parse("balanced", &k, &e) != 0 && strstr(e.msg, "'balanced'") && strstr(e.msg, "balanced-inv"));
}

int main(void) {
    test_shuffle();
    test_sequential();
    test_balanced(NC_SAMPLER_BALANCED_SQRT);
    test_balanced(NC_SAMPLER_BALANCED_INV);
    test_parse();
    TEST_MAIN_END();
}
