#include "runtime/support/topk.h"

#include <stdlib.h>

#include "runtime/support/base.h"

typedef struct Ranked {
    float score;
    int index;
} Ranked;

static int by_score(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void nc_rank_classes(const float *scores, int n, int k, int *order) {
    Ranked *r = nc_malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    for (int c = 0; c < n; c++) r[c].score = scores[c], r[c].index = c;
    qsort(r, (size_t)n, sizeof *r, by_score);
    for (int j = 0; j < k && j < n; j++) order[j] = r[j].index;
    free(r);
}

void nc_print_topk(FILE *out, const float *logits, int64_t n, int64_t per, int k) {
    if (k > per) k = (int)per;
    char *taken = nc_malloc((size_t)per);
    for (int64_t i = 0; i < n && k > 0; i++) {
        const float *row = logits + i * per;
        fprintf(out, "image %lld top-%d:", (long long)i, k);
        for (int64_t c = 0; c < per; c++) taken[c] = 0;
        for (int j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t c = 0; c < per; c++)
                if (!taken[c] && (best < 0 || row[c] > row[best])) best = c;
            taken[best] = 1;
            fprintf(out, "  %lld:%.5f", (long long)best, (double)row[best]);
        }
        fprintf(out, "\n");
    }
    free(taken);
}
