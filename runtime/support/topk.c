#include "runtime/support/topk.h"

#include "runtime/support/base.h"

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
