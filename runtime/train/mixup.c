/* mixup.c — timm.data.Mixup (see mixup.h): the draws, the box, the mixing of
 * images and of smoothed one-hot targets, with timm's float widths. */
#include "runtime/train/mixup.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/support/list.h"

NcMixup nc_mixup_default(int num_classes) {
    NcMixup m = {.mixup_alpha = 1.0,
                 .prob = 1.0,
                 .switch_prob = 0.5,
                 .mode = NC_MIX_BATCH,
                 .correct_lam = 1,
                 .label_smoothing = 0.1,
                 .num_classes = num_classes};
    return m;
}

int nc_mixup_check(const NcMixup *m, NcError *e) {
    if (!(m->mixup_alpha >= 0 && m->cutmix_alpha >= 0 && isfinite(m->mixup_alpha) && isfinite(m->cutmix_alpha)))
        return nc_errorf(e, "mixup: alphas must be finite and >= 0");
    if (!(m->mixup_alpha > 0 || m->cutmix_alpha > 0 || m->has_minmax))
        return nc_errorf(e, "mixup: one of mixup_alpha, cutmix_alpha must be positive (or cutmix_minmax given)");
    if (m->has_minmax &&
        !(m->cutmix_minmax[0] >= 0 && m->cutmix_minmax[0] < m->cutmix_minmax[1] && m->cutmix_minmax[1] <= 1))
        return nc_errorf(e, "mixup: cutmix_minmax must satisfy 0 <= min < max <= 1");
    if (!(m->prob >= 0 && m->prob <= 1 && m->switch_prob >= 0 && m->switch_prob <= 1))
        return nc_errorf(e, "mixup: prob and switch_prob must be in [0, 1]");
    if (!(m->label_smoothing >= 0 && m->label_smoothing < 1))
        return nc_errorf(e, "mixup: label_smoothing must be in [0, 1)");
    if (m->num_classes < 1) return nc_errorf(e, "mixup: num_classes must be at least 1");
    if (m->mode != NC_MIX_BATCH && m->mode != NC_MIX_PAIR && m->mode != NC_MIX_ELEM)
        return nc_errorf(e, "mixup: unknown mode %d", (int)m->mode);
    return 0;
}

int nc_mixup_parse(const char *spec, int num_classes, NcMixup *out, NcError *e) {
    NcMixup m = nc_mixup_default(num_classes);
    int n = 0;
    char **items = nc_list_split(spec, &n, e);
    if (!items) return nc_error_prefix(e, "--mixup '%s'", spec);
    for (int i = 0; i < n; i++) {
        const char *it = items[i], *eq = strchr(it, '=');
        if (!eq || !eq[1]) {
            nc_errorf(e, "--mixup: '%s': expected KEY=VALUE", it);
            free(items); /* it points into items: the message first */
            return -1;
        }
        size_t kl = (size_t)(eq - it);
        const char *v = eq + 1;
        char *end;
        double x = strtod(v, &end), y = 0;
        int num = end != v && !*end && isfinite(x), ok = 1;
#define KEY(s) (kl == strlen(s) && strncmp(it, s, kl) == 0)
        if (KEY("mixup"))
            ok = num, m.mixup_alpha = x;
        else if (KEY("cutmix"))
            ok = num, m.cutmix_alpha = x;
        else if (KEY("prob"))
            ok = num, m.prob = x;
        else if (KEY("switch_prob"))
            ok = num, m.switch_prob = x;
        else if (KEY("smoothing"))
            ok = num, m.label_smoothing = x;
        else if (KEY("correct_lam"))
            ok = num && (x == 0 || x == 1), m.correct_lam = x != 0;
        else if (KEY("mode"))
            ok = !strcmp(v, "batch") || !strcmp(v, "pair") || !strcmp(v, "elem"),
            m.mode = !strcmp(v, "pair")   ? NC_MIX_PAIR
                     : !strcmp(v, "elem") ? NC_MIX_ELEM
                                          : NC_MIX_BATCH;
        else if (KEY("cutmix_minmax")) {
            ok = *end == ':' && isfinite(x) && end != v;
            if (ok) {
                const char *s2 = end + 1;
                y = strtod(s2, &end);
                ok = end != s2 && !*end && isfinite(y);
            }
            m.has_minmax = 1, m.cutmix_minmax[0] = x, m.cutmix_minmax[1] = y;
        } else {
            nc_errorf(e,
                      "--mixup: '%s': unknown item (expected mixup, cutmix, cutmix_minmax, prob, switch_prob, mode, "
                      "correct_lam, smoothing)",
                      it);
            free(items);
            return -1;
        }
#undef KEY
        if (!ok) {
            nc_errorf(e, "--mixup: '%s': malformed value", it);
            free(items);
            return -1;
        }
    }
    free(items);
    if (nc_mixup_check(&m, e) != 0) return nc_error_prefix(e, "--mixup '%s'", spec);
    *out = m;
    return 0;
}

char *nc_mixup_describe(const NcMixup *m) {
    char minmax[64] = "None";
    if (m->has_minmax) snprintf(minmax, sizeof minmax, "(%g, %g)", m->cutmix_minmax[0], m->cutmix_minmax[1]);
    return nc_sprintf("Mixup(mixup_alpha=%g, cutmix_alpha=%g, cutmix_minmax=%s, prob=%g, switch_prob=%g, mode=%s, "
                      "correct_lam=%s, label_smoothing=%g, num_classes=%d)",
                      m->mixup_alpha, m->has_minmax ? 1.0 : m->cutmix_alpha, minmax, m->prob, m->switch_prob,
                      m->mode == NC_MIX_PAIR   ? "pair"
                      : m->mode == NC_MIX_ELEM ? "elem"
                                               : "batch",
                      m->correct_lam ? "True" : "False", m->label_smoothing, m->num_classes);
}

/* ---- randomness -------------------------------------------------------- */

double nc_mix_uniform(NcMixRng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double normal(NcMixRng *r) {
    double u1 = nc_mix_uniform(r), u2 = nc_mix_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

/* Gamma(a, 1): Marsaglia and Tsang's squeeze for a >= 1; for a < 1,
 * Gamma(a + 1) * U^(1/a) */
static double gamma_draw(NcMixRng *r, double a) {
    if (a < 1) {
        double u = nc_mix_uniform(r);
        return gamma_draw(r, a + 1) * pow(1.0 - u, 1.0 / a);
    }
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - nc_mix_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double nc_mix_beta(NcMixRng *r, double a, double b) {
    double x = gamma_draw(r, a), y = gamma_draw(r, b);
    return x + y > 0 ? x / (x + y) : (nc_mix_uniform(r) < a / (a + b) ? 1.0 : 0.0);
}

/* np.random.randint(lo, hi): hi exclusive; numpy refuses an empty range */
static int randint(NcMixRng *r, int lo, int hi, int *out) {
    if (hi <= lo) return -1;
    int v = lo + (int)floor(nc_mix_uniform(r) * (double)(hi - lo));
    *out = v < hi ? v : hi - 1;
    return 0;
}

/* ---- draws ------------------------------------------------------------- */

static int draw_box(const NcMixup *m, int h, int w, NcMixRng *r, NcMixDraw *d, NcError *e) {
    if (m->has_minmax) {
        int rc = randint(r, (int)(h * m->cutmix_minmax[0]), (int)(h * m->cutmix_minmax[1]), &d->ints[0]);
        rc |= randint(r, (int)(w * m->cutmix_minmax[0]), (int)(w * m->cutmix_minmax[1]), &d->ints[1]);
        if (rc == 0) rc |= randint(r, 0, h - d->ints[0], &d->ints[2]) | randint(r, 0, w - d->ints[1], &d->ints[3]);
        if (rc)
            return nc_errorf(e, "mixup: cutmix_minmax %g:%g leaves no box to draw in a %dx%d image",
                             m->cutmix_minmax[0], m->cutmix_minmax[1], h, w);
        return 0;
    }
    randint(r, 0, h, &d->ints[0]);
    randint(r, 0, w, &d->ints[1]);
    return 0;
}

int nc_mixup_draw(const NcMixup *m, int n, int h, int w, NcMixRng *r, NcMixDraw *draws, NcError *e) {
    double calpha = m->has_minmax ? 1.0 : m->cutmix_alpha; /* timm forces 1 with minmax */
    int count = m->mode == NC_MIX_BATCH ? 1 : m->mode == NC_MIX_PAIR ? n / 2 : n;
    for (int i = 0; i < count; i++) {
        NcMixDraw *d = &draws[i];
        memset(d, 0, sizeof *d);
        d->lam = 1.0;
        if (!(nc_mix_uniform(r) < m->prob)) continue;
        if (m->mixup_alpha > 0 && calpha > 0)
            d->cutmix = nc_mix_uniform(r) < m->switch_prob;
        else
            d->cutmix = m->mixup_alpha <= 0;
        double alpha = d->cutmix ? calpha : m->mixup_alpha;
        d->lam = nc_mix_beta(r, alpha, alpha);
        if (m->mode != NC_MIX_BATCH) d->lam = (float)d->lam; /* timm: lam_mix.astype(np.float32) */
        if (d->lam != 1.0 && d->cutmix && draw_box(m, h, w, r, d, e) != 0) return -1;
    }
    return count;
}

/* ---- mixing ------------------------------------------------------------ */

typedef struct {
    int yl, yh, xl, xh;
} Box;

/* cutmix_bbox_and_lam: the box, and lam corrected to the box's area. wide:
 * lam in float64 (timm's 'batch'), else numpy float32 arithmetic. */
static double cutmix_box(const NcMixup *m, int h, int w, const NcMixDraw *d, int wide, Box *b) {
    double lam = d->lam;
    if (m->has_minmax) {
        b->yl = d->ints[2], b->yh = d->ints[2] + d->ints[0];
        b->xl = d->ints[3], b->xh = d->ints[3] + d->ints[1];
    } else {
        int ch, cw;
        if (wide) {
            double ratio = sqrt(1 - lam);
            ch = (int)(h * ratio), cw = (int)(w * ratio);
        } else { /* np.sqrt(1 - np.float32) and int * np.float32 stay float32 */
            float ratio = sqrtf(1.0f - (float)lam);
            ch = (int)((float)h * ratio), cw = (int)((float)w * ratio);
        }
        int cy = d->ints[0], cx = d->ints[1];
#define CLIP(v, hi) ((v) < 0 ? 0 : (v) > (hi) ? (hi) : (v))
        /* timm 1.0's rand_bbox: [c - cut // 2, c + cut - cut // 2), so an odd cut keeps its size (older timm
         * cut cut // 2 on both sides, one row or column short) */
        b->yl = CLIP(cy - ch / 2, h), b->yh = CLIP(cy + ch - ch / 2, h);
        b->xl = CLIP(cx - cw / 2, w), b->xh = CLIP(cx + cw - cw / 2, w);
#undef CLIP
    }
    if (m->correct_lam || m->has_minmax) lam = 1.0 - (double)(b->yh - b->yl) * (b->xh - b->xl) / ((double)h * w);
    return lam;
}

/* Mix image dst (from its original a) with b (the pair's original). */
static void mix_one(float *dst, const float *a, const float *b, size_t len, float lf, float ml) {
    for (size_t k = 0; k < len; k++) dst[k] = a[k] * lf + b[k] * ml;
}

static void paste_box(float *dst, const float *src, int c, int h, int w, const Box *b) {
    for (int ch = 0; ch < c; ch++)
        for (int y = b->yl; y < b->yh; y++)
            memcpy(dst + ((size_t)ch * h + y) * w + b->xl, src + ((size_t)ch * h + y) * w + b->xl,
                   sizeof(float) * (size_t)(b->xh > b->xl ? b->xh - b->xl : 0));
}

int nc_mixup_apply_draws(const NcMixup *m, float *x, const int *labels, int n, int c, int h, int w,
                         const NcMixDraw *draws, float *soft, float *lam_out, NcError *e) {
    if (nc_mixup_check(m, e) != 0) return -1;
    if (n < 2 || n % 2) return nc_errorf(e, "mixup: the batch must be even (got %d), as timm asserts", n);
    if (c < 1 || h < 1 || w < 1) return nc_errorf(e, "mixup: empty images");
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= m->num_classes)
            return nc_errorf(e, "mixup: label %d of image %d outside [0, %d)", labels[i], i, m->num_classes);
    size_t len = (size_t)c * h * w;
    double *lam = nc_malloc(sizeof(double) * (size_t)n);
    float *ta = nc_malloc(sizeof(float) * len), *tb = nc_malloc(sizeof(float) * len);
    for (int i = 0; i < n / 2; i++) {
        int j = n - 1 - i;
        float *xi = x + (size_t)i * len, *xj = x + (size_t)j * len;
        memcpy(ta, xi, sizeof(float) * len); /* the originals: the pair reads them */
        memcpy(tb, xj, sizeof(float) * len);
        /* the draw of image i and of image j (the same one in 'batch' and 'pair' modes) */
        const NcMixDraw *di = m->mode == NC_MIX_BATCH ? draws : &draws[i];
        const NcMixDraw *dj = m->mode == NC_MIX_BATCH ? draws : m->mode == NC_MIX_PAIR ? &draws[i] : &draws[j];
        int wide = m->mode == NC_MIX_BATCH;
        for (int side = 0; side < 2; side++) {
            const NcMixDraw *d = side ? dj : di;
            float *dst = side ? xj : xi;
            const float *own = side ? tb : ta, *other = side ? ta : tb;
            double l = d->lam;
            if (l != 1.0) {
                if (d->cutmix) {
                    Box b;
                    l = cutmix_box(m, h, w, d, wide, &b);
                    paste_box(dst, other, c, h, w, &b);
                } else if (wide) { /* x.mul_(lam).add_(x.flip(0).mul_(1. - lam)): each scalar rounded to float */
                    mix_one(dst, own, other, len, (float)l, (float)(1.0 - l));
                } else { /* x[i] * lam + x_orig[j] * (1 - lam), numpy float32 lam */
                    mix_one(dst, own, other, len, (float)l, 1.0f - (float)l);
                }
            }
            lam[side ? j : i] = wide ? l : (double)(float)l; /* elem / pair keep lam in a float32 array */
        }
    }
    free(ta);
    free(tb);
    /* mixup_target: smoothed one-hots of the labels and of the flipped labels, lam y1 + (1 - lam) y2 */
    int K = m->num_classes;
    float off = (float)(m->label_smoothing / K), on = (float)(1.0 - m->label_smoothing + m->label_smoothing / K);
    for (int i = 0; i < n; i++) {
        float lf = (float)lam[i], ml = m->mode == NC_MIX_BATCH ? (float)(1.0 - lam[i]) : 1.0f - lf;
        float *t = soft + (size_t)i * K;
        for (int k = 0; k < K; k++) {
            float y1 = k == labels[i] ? on : off, y2 = k == labels[n - 1 - i] ? on : off;
            t[k] = y1 * lf + y2 * ml;
        }
        if (lam_out) lam_out[i] = lf;
    }
    free(lam);
    return 0;
}

int nc_mixup_apply(const NcMixup *m, float *images, const int *labels, int n, int c, int h, int w, uint64_t seed,
                   float *soft_targets, float *lam_out, NcError *e) {
    if (nc_mixup_check(m, e) != 0) return -1;
    if (n < 2 || n % 2) return nc_errorf(e, "mixup: the batch must be even (got %d), as timm asserts", n);
    NcMixRng r = {seed};
    NcMixDraw *d = nc_malloc(sizeof(NcMixDraw) * (size_t)n);
    int rc = nc_mixup_draw(m, n, h, w, &r, d, e) < 0
                 ? -1
                 : nc_mixup_apply_draws(m, images, labels, n, c, h, w, d, soft_targets, lam_out, e);
    free(d);
    return rc;
}
