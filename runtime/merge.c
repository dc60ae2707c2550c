#include "runtime/merge.h"

#include <math.h>
#include <stdlib.h>

void nc_softmax(float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (x[i] = expf(x[i] - mx));
    for (int i = 0; i < n; i++) x[i] = (float)(x[i] / sum);
}

int nc_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

const char *nc_merge_name(NcMergeKind k) {
    static const char *names[] = {"mean", "median", "vote", "weighted"};
    return k >= NC_MERGE_MEAN && k <= NC_MERGE_WEIGHTED ? names[k] : "?";
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void vote(const float *const *x, int m, int n, float *out) {
    for (int c = 0; c < n; c++) out[c] = 0;
    int most = 0;
    for (int i = 0; i < m; i++) {
        int c = nc_argmax(x[i], n);
        out[c] += 1;
        most = out[c] > most ? (int)out[c] : most;
    }
    int tied = 0;
    for (int c = 0; c < n; c++) tied += out[c] == most;
    if (tied > 1) {
        int win = -1;
        float best = -INFINITY;
        for (int i = 0; i < m; i++) {
            int c = nc_argmax(x[i], n);
            if (out[c] == most && (win < 0 || x[i][c] > best)) win = c, best = x[i][c];
        }
        out[win] += 0.5f;
    }
    for (int c = 0; c < n; c++) out[c] /= (float)m;
}

void nc_merge(NcMergeKind kind, const float *const *x, const float *weights, int m, int n, float *out, float *scratch) {
    switch (kind) {
    case NC_MERGE_VOTE: vote(x, m, n, out); return;
    case NC_MERGE_MEDIAN:
        for (int c = 0; c < n; c++) {
            for (int i = 0; i < m; i++) scratch[i] = x[i][c];
            qsort(scratch, (size_t)m, sizeof *scratch, cmp_float);
            out[c] = m % 2 ? scratch[m / 2] : 0.5f * (scratch[m / 2 - 1] + scratch[m / 2]);
        }
        return;
    case NC_MERGE_WEIGHTED:
    case NC_MERGE_MEAN: {
        double wsum = 0;
        for (int i = 0; i < m; i++) wsum += kind == NC_MERGE_WEIGHTED ? weights[i] : 1.0;
        for (int c = 0; c < n; c++) {
            double s = 0;
            for (int i = 0; i < m; i++) s += (kind == NC_MERGE_WEIGHTED ? weights[i] : 1.0) * x[i][c];
            out[c] = (float)(s / wsum);
        }
        return;
    }
    }
}
