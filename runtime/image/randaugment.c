/* randaugment.c — timm's RandAugment (see randaugment.h): its op table, its
 * level functions, the draws, and each op with PIL's arithmetic (ImageOps'
 * lookup tables, ImageEnhance's blends, the SMOOTH filter of Sharpness,
 * geometry.c's affine transforms). */
#include "runtime/image/randaugment.h"

#include <math.h>
#include <string.h>

#include "runtime/image/geometry.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- the ops ---------------------------------------------------------- */

static void apply_lut(uint8_t *hwc, size_t n, uint8_t lut[3][256]) {
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) hwc[3 * i + c] = lut[c][hwc[3 * i + c]];
}

static void histograms(const uint8_t *hwc, size_t n, int64_t hist[3][256]) {
    memset(hist, 0, sizeof(int64_t) * 3 * 256);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) hist[c][hwc[3 * i + c]]++;
}

/* ImageOps.autocontrast(cutoff=0): each channel stretched from its lowest to its highest value */
static void op_autocontrast(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    size_t n = (size_t)w * h;
    int64_t hist[3][256];
    uint8_t lut[3][256];
    histograms(hwc, n, hist);
    for (int c = 0; c < 3; c++) {
        int lo = 0, hi = 255;
        while (lo < 255 && !hist[c][lo]) lo++;
        while (hi > 0 && !hist[c][hi]) hi--;
        for (int i = 0; i < 256; i++) {
            if (hi <= lo) {
                lut[c][i] = (uint8_t)i;
                continue;
            }
            double scale = 255.0 / (hi - lo), offset = -lo * scale;
            int v = (int)(i * scale + offset); /* Python's int(): toward zero */
            lut[c][i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    apply_lut(hwc, n, lut);
}

/* ImageOps.equalize: each channel's cumulative histogram, in steps of
 * (pixels - count of the last value) // 256 */
static void op_equalize(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    size_t n = (size_t)w * h;
    int64_t hist[3][256];
    uint8_t lut[3][256];
    histograms(hwc, n, hist);
    for (int c = 0; c < 3; c++) {
        int64_t total = 0, last = 0;
        int used = 0;
        for (int i = 0; i < 256; i++)
            if (hist[c][i]) total += hist[c][i], last = hist[c][i], used++;
        int64_t step = used <= 1 ? 0 : (total - last) / 256;
        int64_t acc = step / 2;
        for (int i = 0; i < 256; i++) {
            int64_t v = step ? acc / step : i;
            lut[c][i] = (uint8_t)(v > 255 ? 255 : v);
            acc += hist[c][i];
        }
    }
    apply_lut(hwc, n, lut);
}

static void op_invert(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    for (size_t i = 0; i < 3 * (size_t)w * h; i++) hwc[i] = (uint8_t)(255 - hwc[i]);
}

static void op_posterize(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    int bits = (int)arg;
    if (bits >= 8) return;
    uint8_t mask = (uint8_t)(bits <= 0 ? 0 : ~((1 << (8 - bits)) - 1));
    for (size_t i = 0; i < 3 * (size_t)w * h; i++) hwc[i] &= mask;
}

/* ImageOps.solarize: values at or above the threshold inverted */
static void op_solarize(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    int t = (int)arg;
    for (size_t i = 0; i < 3 * (size_t)w * h; i++)
        if (hwc[i] >= t) hwc[i] = (uint8_t)(255 - hwc[i]);
}

/* timm's solarize_add: values below 128 raised by arg, capped at 255 */
static void op_solarize_add(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    int add = (int)arg;
    for (size_t i = 0; i < 3 * (size_t)w * h; i++)
        if (hwc[i] < 128) hwc[i] = (uint8_t)(hwc[i] + add > 255 ? 255 : hwc[i] + add);
}

static void op_color(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    nc_aug_jitter(hwc, w, h, NC_JIT_SATURATION, arg);
}
static void op_contrast(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    nc_aug_jitter(hwc, w, h, NC_JIT_CONTRAST, arg);
}
static void op_brightness(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    nc_aug_jitter(hwc, w, h, NC_JIT_BRIGHTNESS, arg);
}

/* ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3x3, 1 1 1 / 1 5 1 / 1 1 1, over 13, in float32,
 * rounded; the border rows and columns copied) */
static void op_sharpness(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    size_t n = (size_t)w * h, row = 3 * (size_t)w;
    uint8_t *sm = nc_malloc(3 * n);
    memcpy(sm, hwc, 3 * n);
    float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0.0f;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        s = s + (float)hwc[(size_t)(y + dy) * row + 3 * (size_t)(x + dx) + c] *
                                    (dy == 0 && dx == 0 ? k5 : k1);
                float v = floorf(s + 0.5f);
                sm[(size_t)y * row + 3 * (size_t)x + c] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v);
            }
    float alpha = (float)arg;
    for (size_t i = 0; i < 3 * n; i++) {
        float t = (float)sm[i] + alpha * (float)(hwc[i] - sm[i]); /* Image.blend(smoothed, image, factor) */
        hwc[i] = t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
    }
    free(sm);
}

static void affine(uint8_t *hwc, int w, int h, const double m[6], int filter, const uint8_t *fill) {
    uint8_t *t = nc_malloc(3 * (size_t)w * h);
    nc_pil_affine(hwc, w, h, m, filter, fill, t);
    memcpy(hwc, t, 3 * (size_t)w * h);
    free(t);
}

static void op_rotate(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    uint8_t *t = nc_malloc(3 * (size_t)w * h);
    nc_pil_rotate(hwc, w, h, arg, filter, fill, t);
    memcpy(hwc, t, 3 * (size_t)w * h);
    free(t);
}

static void op_shear_x(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    double m[6] = {1, arg, 0, 0, 1, 0};
    affine(hwc, w, h, m, filter, fill);
}
static void op_shear_y(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    double m[6] = {1, 0, 0, arg, 1, 0};
    affine(hwc, w, h, m, filter, fill);
}
/* translate_x_rel: pixels = pct * width */
static void op_translate_x(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    double m[6] = {1, 0, arg * w, 0, 1, 0};
    affine(hwc, w, h, m, filter, fill);
}
static void op_translate_y(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill) {
    double m[6] = {1, 0, 0, 0, 1, arg * h};
    affine(hwc, w, h, m, filter, fill);
}

/* ---- timm's level functions (magnitude 0..10 to the op's argument) ---------- */

static double negate(double v, NcAugRng *r) { return nc_aug_uniform(r) > 0.5 ? -v : v; } /* _randomly_negate */

static double lv_none(double m, int inc, NcAugRng *r) { return 0; }
static double lv_rotate(double m, int inc, NcAugRng *r) { return negate((m / 10.0) * 30.0, r); }
static double lv_posterize(double m, int inc, NcAugRng *r) {
    int bits = (int)((m / 10.0) * 4);
    return inc ? 4 - bits : bits;
}
static double lv_solarize(double m, int inc, NcAugRng *r) {
    int t = (int)((m / 10.0) * 256);
    return inc ? 256 - t : t;
}
static double lv_solarize_add(double m, int inc, NcAugRng *r) { return (int)((m / 10.0) * 110); }
static double lv_enhance(double m, int inc, NcAugRng *r) {
    if (!inc) return (m / 10.0) * 1.8 + 0.1;
    double v = 1.0 + negate((m / 10.0) * 0.9, r);
    return v > 0.1 ? v : 0.1;
}
static double lv_shear(double m, int inc, NcAugRng *r) { return negate((m / 10.0) * 0.3, r); }
static double lv_translate(double m, int inc, NcAugRng *r) { return negate((m / 10.0) * 0.45, r); }

typedef struct {
    const char *name, *inc_name;
    double (*level)(double m, int inc, NcAugRng *r);
    void (*apply)(uint8_t *hwc, int w, int h, double arg, int filter, const uint8_t *fill);
    int geometric; /* resamples: draws its filter */
} RaOp;

/* timm's _RAND_TRANSFORMS / _RAND_INCREASING_TRANSFORMS, in its order */
static const RaOp OPS[NC_RA_NOPS] = {
    {"AutoContrast", "AutoContrast", lv_none, op_autocontrast, 0},
    {"Equalize", "Equalize", lv_none, op_equalize, 0},
    {"Invert", "Invert", lv_none, op_invert, 0},
    {"Rotate", "Rotate", lv_rotate, op_rotate, 1},
    {"Posterize", "PosterizeIncreasing", lv_posterize, op_posterize, 0},
    {"Solarize", "SolarizeIncreasing", lv_solarize, op_solarize, 0},
    {"SolarizeAdd", "SolarizeAdd", lv_solarize_add, op_solarize_add, 0},
    {"Color", "ColorIncreasing", lv_enhance, op_color, 0},
    {"Contrast", "ContrastIncreasing", lv_enhance, op_contrast, 0},
    {"Brightness", "BrightnessIncreasing", lv_enhance, op_brightness, 0},
    {"Sharpness", "SharpnessIncreasing", lv_enhance, op_sharpness, 0},
    {"ShearX", "ShearX", lv_shear, op_shear_x, 1},
    {"ShearY", "ShearY", lv_shear, op_shear_y, 1},
    {"TranslateXRel", "TranslateXRel", lv_translate, op_translate_x, 1},
    {"TranslateYRel", "TranslateYRel", lv_translate, op_translate_y, 1},
};

const char *nc_randaug_op_name(int op, int inc) {
    return op < 0 || op >= NC_RA_NOPS ? "?" : inc ? OPS[op].inc_name : OPS[op].name;
}

void nc_randaug_op(int op, int inc, double arg, int filter, const uint8_t fill[3], uint8_t *hwc, int w, int h) {
    OPS[op].apply(hwc, w, h, arg, filter, fill);
}

/* ---- config, draws ---------------------------------------------------- */

int nc_randaug_parse(const char *item, NcRandAug *ra, NcError *e) {
    *ra = (NcRandAug){.on = 1, .n = 2, .m = 10, .mmax = 10, .p = 0.5};
    if (strncmp(item, "rand-", 5) != 0) return nc_errorf(e, "'%s': a RandAugment config starts with rand-", item);
    char *s = nc_strdup(item + 5), *save = NULL;
    int have_m = 0;
    for (char *part = strtok_r(s, "-", &save); part; part = strtok_r(NULL, "-", &save)) {
        size_t kl = strcspn(part, "0123456789.");
        char *end;
        double v = strtod(part + kl, &end);
        int isinf_val = strcmp(part, "mstdinf") == 0;
        if (!isinf_val && (end == part + kl || *end || !isfinite(v))) {
            nc_errorf(e, "'%s': malformed part '%s' (expected m9, mstd0.5, inc1, n2, mmax10 or p0.5)", item, part);
            free(s); /* after the message: part points into s */
            return -1;
        }
        int ok = 1;
        if (kl == 1 && part[0] == 'm')
            ok = v == floor(v) && v >= 0, ra->m = v, have_m = 1; /* timm: int(val) */
        else if (kl == 4 && !strncmp(part, "mstd", 4))
            ok = isinf_val || v >= 0, ra->mstd = isinf_val ? INFINITY : v;
        else if (kl == 4 && !strncmp(part, "mmax", 4))
            ok = v > 0, ra->mmax = v;
        else if (kl == 3 && !strncmp(part, "inc", 3))
            ok = v == floor(v), ra->inc = v != 0;
        else if (kl == 1 && part[0] == 'n')
            ok = v == floor(v) && v >= 1 && v <= NC_RA_MAX_LAYERS, ra->n = (int)v;
        else if (kl == 1 && part[0] == 'p')
            ok = v >= 0 && v <= 1, ra->p = v;
        else {
            nc_errorf(e, "'%s': unsupported part '%s' (m, mstd, mmax, inc, n, p are; timm's w and t are not)", item,
                      part);
            free(s); /* after the message: part points into s */
            return -1;
        }
        if (!ok) {
            nc_errorf(e, "'%s': '%s' out of range (n 1..%d, p in [0, 1], m an integer >= 0)", item, part,
                      NC_RA_MAX_LAYERS);
            free(s); /* after the message: part points into s */
            return -1;
        }
    }
    free(s);
    if (!have_m) return nc_errorf(e, "'%s': no magnitude (rand-m9...)", item);
    return 0;
}

void nc_randaug_draw(const NcRandAug *ra, int interp, NcAugRng *r, NcAugDraws *d) {
    d->ra_n = ra->n;
    for (int k = 0; k < ra->n; k++) { /* np.random.choice(ops, n): with replacement */
        int op = (int)floor(nc_aug_uniform(r) * NC_RA_NOPS);
        d->ra_op[k] = op < NC_RA_NOPS ? op : NC_RA_NOPS - 1;
    }
    for (int k = 0; k < ra->n; k++) { /* AugmentOp.__call__ */
        const RaOp *op = &OPS[d->ra_op[k]];
        d->ra_on[k] = !(ra->p < 1.0 && nc_aug_uniform(r) > ra->p);
        if (!d->ra_on[k]) continue;
        double mag = ra->m;
        if (ra->mstd == INFINITY)
            mag = nc_aug_uniform(r) * ra->m;
        else if (ra->mstd > 0)
            mag = ra->m + ra->mstd * nc_aug_normal(r); /* random.gauss */
        mag = fmax(0.0, fmin(mag, ra->mmax));
        d->ra_arg[k] = op->level(mag, ra->inc, r);
        d->ra_filter[k] = interp == NC_INTERP_BICUBIC ? NC_PIL_BICUBIC : NC_PIL_BILINEAR;
        if (op->geometric && interp == 2) /* timm's random.choice of (BILINEAR, BICUBIC) per call */
            d->ra_filter[k] = nc_aug_uniform(r) < 0.5 ? NC_PIL_BILINEAR : NC_PIL_BICUBIC;
    }
}

void nc_randaug_apply(const NcRandAug *ra, const NcAugDraws *d, const uint8_t fill[3], uint8_t *hwc, int w, int h) {
    for (int k = 0; k < d->ra_n; k++)
        if (d->ra_on[k]) OPS[d->ra_op[k]].apply(hwc, w, h, d->ra_arg[k], d->ra_filter[k], fill);
}
