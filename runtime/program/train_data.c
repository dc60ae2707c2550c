/* train_data.c — a training set and its order per epoch. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/program/train.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ImageFolder: the sub-folders, sorted, are the classes. */
static int load_folder(FileList *l, const char *dir, int nclasses, NcError *e) {
    DIR *d = opendir(dir);
    if (!d) return nc_errorf(e, "%s: cannot read the folder", dir);
    NC_VEC(char *) classes = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char *p = nc_sprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            nc_vec_push(&classes, p);
        else
            free(p);
    }
    closedir(d);
    int rc = 0;
    if (classes.len != nclasses)
        rc = nc_errorf(e, "%s: %d class folders, but the model has %d classes", dir, classes.len, nclasses);
    if (classes.len) qsort(classes.data, (size_t)classes.len, sizeof(char *), cmp_str);
    for (int c = 0; c < classes.len && !rc; c++) {
        const int before = l->path.len;
        files_add(l, classes.data[c]);
        for (int i = before; i < l->path.len; i++) l->label.data[i] = c;
    }
    for (int c = 0; c < classes.len; c++) free(classes.data[c]);
    free(classes.data);
    return rc;
}

int train_data_load(FileList *l, const char *spec, const char *root, int nclasses, NcError *e) {
    struct stat st;
    if (stat(spec, &st) != 0) return nc_errorf(e, "%s: no such list file or folder", spec);
    int rc = S_ISDIR(st.st_mode) ? load_folder(l, spec, nclasses, e) : files_add_list(l, spec, root, 1, nclasses, e);
    if (!rc && !l->path.len) rc = nc_errorf(e, "%s: no images", spec);
    for (int i = 0; i < l->skipped.len && !rc; i++) fprintf(stderr, "warning: %s\n", l->skipped.data[i]);
    return rc;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void train_epoch_order(int64_t *order, int64_t n, uint64_t seed, int64_t epoch) {
    uint64_t x = seed * 0x2545F4914F6CDD1Dull + (uint64_t)epoch;
    for (int64_t i = 0; i < n; i++) order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates; the modulo bias of 2^64 / n is nil in practice */
        int64_t j = (int64_t)(splitmix(&x) % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j], order[j] = t;
    }
}

int train_sampler_parse(const char *s, TrainSampler *out) {
    static const char *const names[] = {"shuffle", "sequential", "balanced-sqrt", "balanced-inv"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) return *out = (TrainSampler)i, 0;
    return -1;
}

/* Class-balanced: n draws with replacement, image j with probability
 * proportional to count(label j)^-1/2 (square root: classes drawn in
 * proportion to the square root of their size) or count^-1 (inverse: every
 * class equally often) — the re-sampling of the decoupled classifier
 * re-training (Kang et al. 2020). */
static void balanced_order(int64_t *order, int64_t n, const int *labels, int K, double power, uint64_t *x) {
    int64_t *count = nc_calloc((size_t)K, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) count[labels[i]]++;
    double *cum = nc_malloc((size_t)n * sizeof(double)), total = 0;
    for (int64_t i = 0; i < n; i++) cum[i] = total += pow((double)count[labels[i]], -power);
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(splitmix(x) >> 11) * 0x1.0p-53 * total;
        int64_t lo = 0, hi = n - 1; /* the first cum[j] > u */
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

void train_sampler_order(TrainSampler k, int64_t *order, int64_t n, const int *labels, int K, uint64_t seed,
                         int64_t epoch) {
    if (k == TRAIN_SAMPLER_SHUFFLE) return train_epoch_order(order, n, seed, epoch);
    if (k == TRAIN_SAMPLER_SEQUENTIAL) {
        for (int64_t i = 0; i < n; i++) order[i] = i;
        return;
    }
    uint64_t x = seed * 0x2545F4914F6CDD1Dull + (uint64_t)epoch + 0x5851F42D4C957F2Dull;
    balanced_order(order, n, labels, K, k == TRAIN_SAMPLER_BALANCED_SQRT ? 0.5 : 1.0, &x);
}
