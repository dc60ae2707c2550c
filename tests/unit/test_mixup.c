/* test_mixup.c — CutMix / Mixup (runtime/train/mixup.h) against timm.
 *
 * 1. tests/fixtures/aug/mixup.txt (tools/make_aug_fixtures.py): timm.data.Mixup
 *    on a [6, 2, 10, 12] batch with its (lam, use_cutmix) draws and
 *    np.random.randint's values fixed, in the modes batch, pair and elem, with
 *    cutmix_minmax, without correct_lam, with lam = 1: the mixed batch and the
 *    soft targets within 1e-6.
 * 2. Distributions with fixed seeds (0.1% critical values): lam against
 *    Beta(a, a) (KS against the closed-form CDFs for a = 0.5, 1, 2; mean and
 *    variance for 0.8), the switch and mix probabilities, the CutMix centre.
 * 3. Same seed, same batch; different seeds differ; bad input refused.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "runtime/support/npy.h"
#include "runtime/train/mixup.h"

#define FIX NETC_FIXTURES_DIR "/aug"

static NcNpy npy(const char *name) {
    char *p = nc_sprintf("%s/%s", FIX, name);
    NcNpy a;
    NcError e;
    if (nc_npy_read(p, &a, &e) != 0) NC_FATAL("%s", e.msg);
    free(p);
    return a;
}

static const char *field(const char *line, const char *key) {
    const char *p = strstr(line, key);
    NC_CHECK(p);
    return p + strlen(key);
}

static void test_fixtures(void) {
    char *text;
    size_t len;
    NcError e;
    NC_CHECK(nc_read_file(FIX "/mixup.txt", &text, &len, &e) == 0);
    NcNpy in = npy("mix_input.npy");
    NC_CHECK(in.ndim == 4);
    int n = (int)in.shape[0], c = (int)in.shape[1], h = (int)in.shape[2], w = (int)in.shape[3], K = 0;
    int labels[16];
    int cases = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            K = atoi(field(line, "num_classes="));
            const char *l = field(line, "labels ");
            for (int i = 0; i < n; i++) {
                char *end;
                labels[i] = (int)strtol(l, &end, 10);
                l = end + 1;
            }
            continue;
        }
        char name[64];
        NC_CHECK(sscanf(line, "%63s", name) == 1);
        NcMixup m = nc_mixup_default(K);
        const char *mode = field(line, "mode=");
        m.mode = !strncmp(mode, "pair", 4) ? NC_MIX_PAIR : !strncmp(mode, "elem", 4) ? NC_MIX_ELEM : NC_MIX_BATCH;
        m.mixup_alpha = strtod(field(line, "mixup_alpha="), NULL);
        m.cutmix_alpha = strtod(field(line, "cutmix_alpha="), NULL);
        m.label_smoothing = strtod(field(line, "smoothing="), NULL);
        m.correct_lam = atoi(field(line, "correct_lam="));
        const char *mm = field(line, "minmax=");
        if (*mm != '-') {
            m.has_minmax = 1;
            NC_CHECK(sscanf(mm, "%lf:%lf", &m.cutmix_minmax[0], &m.cutmix_minmax[1]) == 2);
        }
        int ints[64], nints = 0;
        const char *ip = field(line, "ints=");
        while (*ip && *ip != '-' && *ip != ' ') {
            char *end;
            ints[nints++] = (int)strtol(ip, &end, 10);
            ip = *end == ',' ? end + 1 : end;
        }
        NcMixDraw d[16];
        int nd = 0, used = 0;
        const char *dp = field(line, "draws=");
        while (*dp && *dp != ' ') {
            char *end;
            memset(&d[nd], 0, sizeof d[nd]);
            d[nd].lam = strtod(dp, &end);
            if (m.mode != NC_MIX_BATCH) d[nd].lam = (float)d[nd].lam; /* timm's per-element lams are float32 */
            d[nd].cutmix = (int)strtol(end + 1, &end, 10);
            if (d[nd].lam != 1.0 && d[nd].cutmix)
                for (int k = 0; k < (m.has_minmax ? 4 : 2); k++) d[nd].ints[k] = ints[used++];
            nd++;
            dp = *end == ',' ? end + 1 : end;
        }
        NC_CHECK(used == nints);
        float *x = nc_malloc(sizeof(float) * (size_t)in.numel), *t = nc_malloc(sizeof(float) * (size_t)n * K);
        float lam[16];
        memcpy(x, in.data, sizeof(float) * (size_t)in.numel);
        CHECK_MSG(nc_mixup_apply_draws(&m, x, labels, n, c, h, w, d, t, lam, &e) == 0, "%s: %s", name, e.msg);
        char *xn = nc_sprintf("mix_%s_x.npy", name), *tn = nc_sprintf("mix_%s_t.npy", name);
        NcNpy wx = npy(xn), wt = npy(tn);
        NC_CHECK(wx.numel == in.numel && wt.numel == (int64_t)n * K);
        double ex = 0, et = 0;
        for (int64_t i = 0; i < wx.numel; i++) ex = fmax(ex, fabs((double)x[i] - wx.data[i]));
        for (int64_t i = 0; i < wt.numel; i++) et = fmax(et, fabs((double)t[i] - wt.data[i]));
        CHECK_MSG(ex <= 1e-6 && et <= 1e-6, "%s: images %g, targets %g from timm's", name, ex, et);
        printf("%-24s images within %g, targets within %g of timm's\n", name, ex, et);
        /* lam_out is each image's own weight: the target's value at its label (no smoothing cases) */
        if (m.label_smoothing == 0)
            for (int i = 0; i < n; i++)
                if (labels[i] != labels[n - 1 - i]) CHECK_NEAR(lam[i], t[(size_t)i * K + labels[i]], 1e-6);
        free(xn), free(tn), free(x), free(t);
        nc_npy_free(&wx), nc_npy_free(&wt);
        cases++;
    }
    CHECK_MSG(cases == 9, "%d cases", cases);
    nc_npy_free(&in);
    free(text);
}

/* ---- 2. distributions --------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double ks(double *v, int n, double (*cdf)(double)) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double dmax = 0;
    for (int i = 0; i < n; i++) {
        double f = cdf(v[i]);
        dmax = fmax(dmax, fmax(fabs(f - (double)i / n), fabs(f - (double)(i + 1) / n)));
    }
    return dmax;
}
static double cdf_arcsine(double x) { return 2 / 3.14159265358979323846 * asin(sqrt(x)); } /* Beta(0.5, 0.5) */
static double cdf_uniform(double x) { return x; }                                          /* Beta(1, 1) */
static double cdf_beta22(double x) { return x * x * (3 - 2 * x); }                         /* Beta(2, 2) */
#define KS_CRIT(n) (1.95 / sqrt((double)(n)))

static void test_distributions(void) {
    enum { N = 20000 };
    static double v[N];
    double (*cdfs[3])(double) = {cdf_arcsine, cdf_uniform, cdf_beta22};
    double alphas[3] = {0.5, 1.0, 2.0};
    for (int k = 0; k < 3; k++) {
        /* through the whole draw: 'batch' mode, Mixup only, prob 1 */
        NcMixup m = nc_mixup_default(10);
        m.mixup_alpha = alphas[k];
        NcMixRng r = {42 + (uint64_t)k};
        for (int i = 0; i < N; i++) {
            NcMixDraw d;
            NcError e;
            NC_CHECK(nc_mixup_draw(&m, 8, 16, 16, &r, &d, &e) == 1);
            v[i] = d.lam;
        }
        double D = ks(v, N, cdfs[k]);
        CHECK_MSG(D < KS_CRIT(N), "lam ~ Beta(%g, %g): KS %g", alphas[k], alphas[k], D);
        /* and the test tells one Beta from another */
        CHECK(ks(v, N, cdfs[(k + 1) % 3]) > KS_CRIT(N));
    }
    NcMixRng r = {9};
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double b = nc_mix_beta(&r, 0.8, 0.8);
        s += b, s2 += b * b;
    }
    double mean = s / N, var = s2 / N - mean * mean; /* Beta(a, a): 1/2 and 1 / (4 (2a + 1)) */
    CHECK_MSG(fabs(mean - 0.5) < 0.01 && fabs(var - 1 / 10.4) < 0.004, "Beta(0.8): mean %g var %g", mean, var);

    /* switch_prob and prob, per element */
    NcMixup m = nc_mixup_default(10);
    m.mixup_alpha = 0.8, m.cutmix_alpha = 1.0, m.switch_prob = 0.3, m.prob = 0.6, m.mode = NC_MIX_ELEM;
    int mixed = 0, cut = 0, cy[16] = {0};
    static NcMixDraw d[N];
    NcError e;
    r.state = 123;
    NC_CHECK(nc_mixup_draw(&m, N, 16, 20, &r, d, &e) == N);
    for (int i = 0; i < N; i++) {
        mixed += d[i].lam != 1.0;
        cut += d[i].lam != 1.0 && d[i].cutmix;
        if (d[i].lam != 1.0 && d[i].cutmix) cy[d[i].ints[0]]++;
    }
    CHECK_MSG(fabs(mixed - 0.6 * N) < 4 * sqrt(N * 0.24), "mix prob %g", (double)mixed / N);
    CHECK_MSG(fabs(cut - 0.3 * mixed) < 4 * sqrt(mixed * 0.21), "switch prob %g", (double)cut / mixed);
    double chi = 0;
    for (int i = 0; i < 16; i++) chi += (cy[i] - cut / 16.0) * (cy[i] - cut / 16.0) / (cut / 16.0);
    CHECK_MSG(chi < 37.70, "cutmix centre rows: chi2 %g", chi); /* 15 dof */
}

/* ---- 3. determinism and bad input ---------------------------------------- */

static void test_determinism_and_errors(void) {
    enum { B = 8, C = 3, H = 24, W = 20, K = 7 };
    static float x0[B * C * H * W], x1[B * C * H * W], x2[B * C * H * W];
    float t1[B * K], t2[B * K], l1[B], l2[B];
    int labels[B] = {0, 1, 2, 3, 4, 5, 6, 0};
    for (int i = 0; i < B * C * H * W; i++) x0[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    NcMixup m;
    NcError e;
    NC_CHECK(nc_mixup_parse("mixup=0.8,cutmix=1.0,mode=elem,smoothing=0.1", K, &m, &e) == 0);
    CHECK(m.mode == NC_MIX_ELEM && m.mixup_alpha == 0.8 && m.cutmix_alpha == 1.0);
    char *desc = nc_mixup_describe(&m);
    CHECK_MSG(!strcmp(desc, "Mixup(mixup_alpha=0.8, cutmix_alpha=1, cutmix_minmax=None, prob=1, switch_prob=0.5, "
                            "mode=elem, correct_lam=True, label_smoothing=0.1, num_classes=7)"),
              "%s", desc);
    free(desc);
    memcpy(x1, x0, sizeof x0), memcpy(x2, x0, sizeof x0);
    CHECK(nc_mixup_apply(&m, x1, labels, B, C, H, W, 5, t1, l1, &e) == 0);
    CHECK(nc_mixup_apply(&m, x2, labels, B, C, H, W, 5, t2, l2, &e) == 0);
    CHECK(!memcmp(x1, x2, sizeof x1) && !memcmp(t1, t2, sizeof t1) && !memcmp(l1, l2, sizeof l1));
    memcpy(x2, x0, sizeof x0);
    CHECK(nc_mixup_apply(&m, x2, labels, B, C, H, W, 6, t2, l2, &e) == 0);
    CHECK(memcmp(x1, x2, sizeof x1) != 0);
    /* every soft target sums to 1 */
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += t1[i * K + k];
        CHECK_NEAR(s, 1.0, 1e-6);
    }
    CHECK(nc_mixup_apply(&m, x1, labels, 7, C, H, W, 5, t1, l1, &e) == -1 && strstr(e.msg, "even"));
    labels[3] = 7;
    CHECK(nc_mixup_apply(&m, x1, labels, B, C, H, W, 5, t1, l1, &e) == -1 && strstr(e.msg, "label 7"));
    const char *bad[][2] = {{"mixup=-1", "alphas"},       {"mixup=0", "positive"},
                            {"mode=foo", "mode=foo"},     {"cutmix_minmax=0.8:0.2", "cutmix_minmax"},
                            {"prob=1.5", "prob"},         {"smoothing=1", "label_smoothing"},
                            {"wat=1", "wat=1"},           {"mixup", "mixup"},
                            {"cutmix_minmax=0.2", "0.2"}, {"correct_lam=2", "correct_lam=2"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NcMixup mm;
        e.msg[0] = 0;
        CHECK_MSG(nc_mixup_parse(bad[i][0], K, &mm, &e) == -1 && strstr(e.msg, bad[i][1]), "'%s': '%s'", bad[i][0],
                  e.msg);
    }
    /* a minmax box that cannot be drawn: numpy's randint refuses, so does this */
    NC_CHECK(nc_mixup_parse("cutmix_minmax=0.5:0.55,mixup=0", K, &m, &e) == 0);
    CHECK(nc_mixup_apply(&m, x1, labels, B, C, 4, 4, 5, t1, l1, &e) == -1 && strstr(e.msg, "no box"));
}

int main(void) {
    test_fixtures();
    test_distributions();
    test_determinism_and_errors();
    TEST_MAIN_END();
}
