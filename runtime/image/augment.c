/* augment.c — training augmentations (see augment.h): the spec parser, the
 * parameter draws as torchvision / timm make them, and each operation with
 * PIL's arithmetic (resampling from transform.c; rotation as PIL's affine
 * transform with nearest neighbour; colour as ImageEnhance's blends and PIL's
 * HSV conversion). The float expressions are PIL's, in its order and widths,
 * so they must not be contracted into FMAs. */
#include "runtime/image/augment.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/image/geometry.h"
#include "runtime/image/randaugment.h"
#include "runtime/support/list.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

enum { SIZE_CENTER, SIZE_RRC, SIZE_CROP };
enum { ERASE_CONST, ERASE_RAND, ERASE_PIXEL };
#define INTERP_RANDOM 2
#define PI            3.14159265358979323846 /* Python's math.pi, the double nearest pi */

struct NcAugment {
    int out_h, out_w;
    int size_mode, resize; /* resize: torchvision Resize(N) first, 0 none */
    int pad[4];            /* RandomCrop(padding=): left, top, right, bottom, zeros */
    double scale[2], ratio[2];
    int interp; /* NcInterp, or INTERP_RANDOM */
    double hflip, vflip;
    int rotate;        /* RandomRotation on */
    double degrees[2]; /* its angle range */
    int rotate_filter; /* NC_PIL_NEAREST (torchvision's default), NC_PIL_BILINEAR or NC_PIL_BICUBIC */
    uint8_t fill[3];
    int jit_on[4];
    double jit[4][2]; /* per NC_JIT_*: the range factors are drawn from */
    float mean[3], std[3];
    double erase_p;
    int erase_mode;
    NcRandAug ra;
    double mean_d[3]; /* mean as written: timm's RandAugment fill is round(255 mean) of the Python float */
};

/* ---- randomness -------------------------------------------------------- */

NcAugRng nc_aug_rng(uint64_t seed) {
    NcAugRng r = {.state = seed};
    return r;
}

double nc_aug_uniform(NcAugRng *r) {
    if (r->fixed) {
        if (r->used >= r->n) NC_FATAL("augment: the %d given uniforms ran out", r->n);
        return r->fixed[r->used++];
    }
    /* splitmix64: every state gives a well-mixed output, so per-sample seeds
     * that differ in one bit give unrelated draws */
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

double nc_aug_normal(NcAugRng *r) {
    double u1 = nc_aug_uniform(r), u2 = nc_aug_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * PI * u2);
}

static double uniform_ab(NcAugRng *r, double a, double b) { return a + nc_aug_uniform(r) * (b - a); }

/* torch.randint(lo, hi): hi exclusive */
static int randint(NcAugRng *r, int lo, int hi) {
    int v = lo + (int)floor(nc_aug_uniform(r) * (double)(hi - lo));
    return v < hi ? v : hi - 1;
}

/* ---- parameter draws --------------------------------------------------- */

void nc_aug_rrc_box(int W, int H, const double scale[2], const double ratio[2], NcAugRng *r, int *x, int *y, int *w,
                    int *h) {
    double area = (double)W * H, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int t = 0; t < 10; t++) {
        double target = area * uniform_ab(r, scale[0], scale[1]);
        double aspect = exp(uniform_ab(r, lr0, lr1));
        int cw = (int)nearbyint(sqrt(target * aspect)); /* int(round(...)): half to even */
        int ch = (int)nearbyint(sqrt(target / aspect));
        if (0 < cw && cw <= W && 0 < ch && ch <= H) {
            *y = randint(r, 0, H - ch + 1);
            *x = randint(r, 0, W - cw + 1);
            *w = cw;
            *h = ch;
            return;
        }
    }
    /* torchvision's fallback: the centre crop closest to the ratio range */
    double in_ratio = (double)W / (double)H, rmin = fmin(ratio[0], ratio[1]), rmax = fmax(ratio[0], ratio[1]);
    int cw = W, ch = H;
    if (in_ratio < rmin)
        ch = (int)nearbyint(cw / rmin);
    else if (in_ratio > rmax)
        cw = (int)nearbyint(ch * rmax);
    *y = (H - ch) / 2;
    *x = (W - cw) / 2;
    *w = cw;
    *h = ch;
}

/* timm RandomErasing._erase with count 1, min_area 0.02, max_area 1/3,
 * aspect 0.3 to 1/0.3 (log-uniform); random.randint is inclusive. */
void nc_aug_erase_box(int W, int H, NcAugRng *r, int *x, int *y, int *w, int *h) {
    double area = (double)W * H, la0 = log(0.3), la1 = log(1.0 / 0.3);
    *x = *y = *w = *h = 0;
    for (int t = 0; t < 10; t++) {
        double target = uniform_ab(r, 0.02, 1.0 / 3.0) * area / 1;
        double aspect = exp(uniform_ab(r, la0, la1));
        int eh = (int)nearbyint(sqrt(target * aspect));
        int ew = (int)nearbyint(sqrt(target / aspect));
        if (ew < W && eh < H) {
            *y = randint(r, 0, H - eh + 1);
            *x = randint(r, 0, W - ew + 1);
            *w = ew;
            *h = eh;
            return;
        }
    }
}

static void resized_size(int resize, int W, int H, int *RW, int *RH) {
    if (resize <= 0) {
        *RW = W;
        *RH = H;
        return;
    }
    /* torchvision Resize(int): shorter side to N, the longer int(N * long / short) */
    int s = W <= H ? W : H, l = W <= H ? H : W;
    int nl = (int)((double)((int64_t)resize * l) / s);
    *RW = W <= H ? resize : nl;
    *RH = W <= H ? nl : resize;
}

void nc_augment_draw(const NcAugment *a, int in_w, int in_h, NcAugRng *r, NcAugDraws *d) {
    memset(d, 0, sizeof *d);
    d->interp = a->interp == INTERP_RANDOM ? NC_INTERP_BILINEAR : (NcInterp)a->interp;
    if (a->size_mode == SIZE_RRC) {
        nc_aug_rrc_box(in_w, in_h, a->scale, a->ratio, r, &d->box_x, &d->box_y, &d->box_w, &d->box_h);
    } else if (a->size_mode == SIZE_CROP) {
        int RW, RH;
        resized_size(a->resize, in_w, in_h, &RW, &RH);
        RW += a->pad[0] + a->pad[2];
        RH += a->pad[1] + a->pad[3];
        /* RandomCrop(pad_if_needed=True): a side still too small after `padding` is padded by the
         * deficit on both ends */
        int PW = RW < a->out_w ? RW + 2 * (a->out_w - RW) : RW, PH = RH < a->out_h ? RH + 2 * (a->out_h - RH) : RH;
        d->box_y = randint(r, 0, PH - a->out_h + 1);
        d->box_x = randint(r, 0, PW - a->out_w + 1);
    }
    /* timm's random interpolation is picked per resize: none without one */
    if (a->interp == INTERP_RANDOM && (a->size_mode == SIZE_RRC || a->resize > 0))
        d->interp = nc_aug_uniform(r) < 0.5 ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
    if (a->hflip > 0) d->hflip = nc_aug_uniform(r) < a->hflip;
    if (a->vflip > 0) d->vflip = nc_aug_uniform(r) < a->vflip;
    if (a->rotate) d->angle = uniform_ab(r, a->degrees[0], a->degrees[1]);
    if (a->ra.on) nc_randaug_draw(&a->ra, a->interp, r, d);
    if (a->jit_on[0] || a->jit_on[1] || a->jit_on[2] || a->jit_on[3]) {
        /* ColorJitter.get_params: torch.randperm(4), then each factor in order b, c, s, h */
        int perm[4] = {0, 1, 2, 3};
        for (int i = 3; i > 0; i--) {
            int j = randint(r, 0, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int k = 0; k < 4; k++)
            if (a->jit_on[k]) d->factor[k] = uniform_ab(r, a->jit[k][0], a->jit[k][1]);
        for (int i = 0; i < 4; i++)
            if (a->jit_on[perm[i]]) d->order[d->njitter++] = perm[i];
    }
    if (a->erase_p > 0 && !(nc_aug_uniform(r) > a->erase_p)) {
        nc_aug_erase_box(a->out_w, a->out_h, r, &d->erase_x, &d->erase_y, &d->erase_w, &d->erase_h);
        d->erase_seed = (uint64_t)(nc_aug_uniform(r) * 0x1.0p53);
    }
}

/* ---- operations -------------------------------------------------------- */

void nc_aug_rotate(const uint8_t *src, int w, int h, double angle, const uint8_t fill[3], uint8_t *dst) {
    nc_pil_rotate(src, w, h, angle, NC_PIL_NEAREST, fill, dst); /* torchvision's default interpolation */
}

/* PIL's "L": ITU-R 601-2 luma in 16-bit fixed point */
static inline int luma(const uint8_t *p) { return (p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16; }

/* Image.blend(degenerate, image, alpha): degenerate + alpha * (image -
 * degenerate) in float, clipped, truncated */
static inline uint8_t blend(int deg, int v, float alpha) {
    float t = (float)deg + alpha * (float)(v - deg);
    return t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
}

/* PIL's RGB -> HSV (colorsys's formulas, hue and saturation scaled to 0..255) */
static void rgb_to_hsv(const uint8_t *p, uint8_t *q) {
    int r = p[0], g = p[1], b = p[2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b), minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    q[2] = (uint8_t)maxc;
    if (maxc == minc) {
        q[0] = q[1] = 0;
        return;
    }
    float cr = (float)(maxc - minc);
    float s = cr / (float)maxc;
    float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
    float hh;
    if (r == maxc)
        hh = bc - gc;
    else if (g == maxc)
        hh = (float)(2.0 + rc - bc);
    else
        hh = (float)(4.0 + gc - rc);
    /* fmod(hh / 6.0 + 1.0, 1.0): the argument is in (0.8, 1.9), where subtracting 1 is exact and fmod's call is
     * the slowest part of the conversion */
    double h1 = hh / 6.0 + 1.0;
    hh = (float)(h1 >= 1.0 ? h1 - 1.0 : h1);
    int ih = (int)(hh * 255.0), is = (int)(s * 255.0);
    q[0] = (uint8_t)(ih < 0 ? 0 : ih > 255 ? 255 : ih);
    q[1] = (uint8_t)(is < 0 ? 0 : is > 255 ? 255 : is);
}

static inline uint8_t clip8i(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* C's round() (halves away from zero) for 0 <= x < 2^31, without the libm call: x - (int)x is exact there */
static inline int round_pos(double x) {
    int r = (int)x;
    return x - r >= 0.5 ? r + 1 : r;
}

/* PIL's HSV -> RGB */
static void hsv_to_rgb(const uint8_t *q, uint8_t *p) {
    int h = q[0], s = q[1], v = q[2];
    if (s == 0) {
        p[0] = p[1] = p[2] = (uint8_t)v;
        return;
    }
    int i = (int)((float)h * 6.0 / 255.0); /* floor of a value >= 0 */
    float f = (float)((float)h * 6.0 / 255.0 - (float)i);
    float fs = (float)((float)s / 255.0);
    uint8_t up = clip8i(round_pos((float)v * (1.0 - fs)));
    uint8_t uq = clip8i(round_pos((float)v * (1.0 - fs * f)));
    uint8_t ut = clip8i(round_pos((float)v * (1.0 - fs * (1.0 - f))));
    uint8_t uv = (uint8_t)v;
    switch (i % 6) {
    case 0: p[0] = uv, p[1] = ut, p[2] = up; break;
    case 1: p[0] = uq, p[1] = uv, p[2] = up; break;
    case 2: p[0] = up, p[1] = uv, p[2] = ut; break;
    case 3: p[0] = up, p[1] = uq, p[2] = uv; break;
    case 4: p[0] = ut, p[1] = up, p[2] = uv; break;
    default: p[0] = uv, p[1] = up, p[2] = uq; break;
    }
}

void nc_aug_jitter(uint8_t *hwc, int w, int h, int op, double factor) {
    size_t n = (size_t)w * h;
    float alpha = (float)factor;   /* ImageEnhance passes the factor to Image.blend as a C float */
    if (op == NC_JIT_BRIGHTNESS) { /* ImageEnhance.Brightness: blend with black */
        for (size_t i = 0; i < 3 * n; i++) hwc[i] = blend(0, hwc[i], alpha);
    } else if (op == NC_JIT_CONTRAST) { /* ImageEnhance.Contrast: blend with the mean grey, int(mean + 0.5) */
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) sum += luma(hwc + 3 * i);
        int mean = (int)((double)sum / (double)n + 0.5);
        for (size_t i = 0; i < 3 * n; i++) hwc[i] = blend(mean, hwc[i], alpha);
    } else if (op == NC_JIT_SATURATION) { /* ImageEnhance.Color: blend with the pixel's own grey */
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = hwc + 3 * i;
            int l = luma(p);
            for (int c = 0; c < 3; c++) p[c] = blend(l, p[c], alpha);
        }
    } else { /* torchvision adjust_hue: H of PIL's HSV plus np.int8(hue * 255), wrapping */
        uint8_t shift = (uint8_t)(int8_t)(int)(factor * 255);
        for (size_t i = 0; i < n; i++) {
            uint8_t q[3];
            rgb_to_hsv(hwc + 3 * i, q);
            q[0] = (uint8_t)(q[0] + shift);
            hsv_to_rgb(q, hwc + 3 * i);
        }
    }
}

/* Resize img to RW x RH (PIL) and write the out_w x out_h window whose top-left
 * is resized pixel (ox, oy); zeros outside the resized image. */
static int resize_window(const NcImage *img, int RW, int RH, NcInterp interp, int ox, int oy, int out_w, int out_h,
                         uint8_t *out, NcError *e) {
    if (nc_image_resize_check(img->width, img->height, RW, RH, interp, e) != 0) return -1;
    int x0 = ox < 0 ? 0 : ox, x1 = ox + out_w > RW ? RW : ox + out_w;
    int y0 = oy < 0 ? 0 : oy, y1 = oy + out_h > RH ? RH : oy + out_h;
    size_t stride = 3 * (size_t)out_w;
    if (x0 > ox || y0 > oy || x1 < ox + out_w || y1 < oy + out_h) memset(out, 0, stride * (size_t)out_h);
    if (x1 > x0 && y1 > y0)
        nc_image_resample_region(img, RW, RH, interp, x0, x1, y0, y1,
                                 out + (size_t)(y0 - oy) * stride + 3 * (size_t)(x0 - ox), stride);
    return 0;
}

static int round_half_even_div2(int d) { return d % 2 == 0 || (d / 2) % 2 == 0 ? d / 2 : d / 2 + 1; }

int nc_augment_apply_u8(const NcAugment *a, const NcImage *img, const NcAugDraws *d, uint8_t *out, NcError *e) {
    if (!img || !img->rgb || img->width < 1 || img->height < 1) return nc_errorf(e, "augment: empty image");
    int OW = a->out_w, OH = a->out_h;
    if (a->size_mode == SIZE_RRC) {
        /* F.resized_crop: PIL crop of the box, then resize of the crop alone */
        if (d->box_w < 1 || d->box_h < 1 || d->box_x < 0 || d->box_y < 0 || d->box_x + d->box_w > img->width ||
            d->box_y + d->box_h > img->height)
            return nc_errorf(e, "augment: crop box %dx%d+%d+%d outside the %dx%d image", d->box_w, d->box_h, d->box_x,
                             d->box_y, img->width, img->height);
        NcImage c = {.width = d->box_w, .height = d->box_h};
        c.rgb = nc_malloc((size_t)c.width * c.height * 3);
        for (int y = 0; y < c.height; y++)
            memcpy(c.rgb + (size_t)y * c.width * 3, img->rgb + ((size_t)(y + d->box_y) * img->width + d->box_x) * 3,
                   (size_t)c.width * 3);
        int rc = resize_window(&c, OW, OH, d->interp, 0, 0, OW, OH, out, e);
        free(c.rgb);
        if (rc != 0) return -1;
    } else {
        int RW, RH, ox, oy;
        resized_size(a->resize, img->width, img->height, &RW, &RH);
        if (a->size_mode == SIZE_CROP) {
            int PW = RW + a->pad[0] + a->pad[2], PH = RH + a->pad[1] + a->pad[3];
            ox = d->box_x - a->pad[0] - (PW < OW ? OW - PW : 0);
            oy = d->box_y - a->pad[1] - (PH < OH ? OH - PH : 0);
        } else { /* torchvision CenterCrop: pad (zeros) where smaller, top = int(round((h - H) / 2.0)) */
            int pl = OW > RW ? (OW - RW) / 2 : 0, pr = OW > RW ? (OW - RW + 1) / 2 : 0;
            int pt = OH > RH ? (OH - RH) / 2 : 0, pb = OH > RH ? (OH - RH + 1) / 2 : 0;
            ox = round_half_even_div2(RW + pl + pr - OW) - pl;
            oy = round_half_even_div2(RH + pt + pb - OH) - pt;
        }
        if (resize_window(img, RW, RH, d->interp, ox, oy, OW, OH, out, e) != 0) return -1;
    }
    size_t row = 3 * (size_t)OW;
    if (d->hflip)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW / 2; x++) {
                uint8_t t[3], *p = out + y * row + 3 * (size_t)x, *q = out + y * row + 3 * (size_t)(OW - 1 - x);
                memcpy(t, p, 3), memcpy(p, q, 3), memcpy(q, t, 3);
            }
    if (d->vflip) {
        uint8_t *t = nc_malloc(row);
        for (int y = 0; y < OH / 2; y++) {
            memcpy(t, out + y * row, row);
            memcpy(out + y * row, out + (OH - 1 - y) * row, row);
            memcpy(out + (OH - 1 - y) * row, t, row);
        }
        free(t);
    }
    if (d->angle != 0) {
        uint8_t *t = nc_malloc(row * OH);
        nc_pil_rotate(out, OW, OH, d->angle, a->rotate_filter, a->fill, t);
        memcpy(out, t, row * OH);
        free(t);
    }
    if (a->ra.on) {
        uint8_t fill[3]; /* timm's img_mean: min(255, round(255 * mean)) */
        for (int c = 0; c < 3; c++) {
            double v = nearbyint(255 * a->mean_d[c]);
            fill[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        nc_randaug_apply(&a->ra, d, fill, out, OW, OH);
    }
    for (int k = 0; k < d->njitter; k++) nc_aug_jitter(out, OW, OH, d->order[k], d->factor[d->order[k]]);
    return 0;
}

void nc_augment_finish(const NcAugment *a, const uint8_t *hwc, const NcAugDraws *d, float *out) {
    NcTransform t = {.height = a->out_h, .width = a->out_w};
    memcpy(t.mean, a->mean, sizeof t.mean);
    memcpy(t.std, a->std, sizeof t.std);
    nc_image_normalize(hwc, &t, out);
    if (d->erase_w <= 0) return;
    /* timm erases the normalised tensor: zeros (the mean), or standard normal values per channel or per pixel */
    NcAugRng r = nc_aug_rng(d->erase_seed);
    size_t plane = (size_t)a->out_h * a->out_w;
    for (int c = 0; c < 3; c++) {
        float v = a->erase_mode == ERASE_RAND ? (float)nc_aug_normal(&r) : 0.0f;
        for (int y = d->erase_y; y < d->erase_y + d->erase_h; y++)
            for (int x = d->erase_x; x < d->erase_x + d->erase_w; x++)
                out[c * plane + (size_t)y * a->out_w + x] = a->erase_mode == ERASE_PIXEL ? (float)nc_aug_normal(&r) : v;
    }
}

int nc_augment_apply(const NcAugment *a, const NcImage *img, uint64_t seed, float *out_chw, NcError *e) {
    if (!img || !img->rgb || img->width < 1 || img->height < 1) return nc_errorf(e, "augment: empty image");
    NcAugRng r = nc_aug_rng(seed);
    NcAugDraws d;
    nc_augment_draw(a, img->width, img->height, &r, &d);
    uint8_t *hwc = nc_malloc((size_t)a->out_h * a->out_w * 3);
    int rc = nc_augment_apply_u8(a, img, &d, hwc, e);
    if (rc == 0) nc_augment_finish(a, hwc, &d, out_chw);
    free(hwc);
    return rc;
}

/* ---- the spec ---------------------------------------------------------- */

/* Up to max numbers separated by ':'; returns how many, -1 when malformed. */
static int parse_nums(const char *s, double *v, int max) {
    int n = 0;
    while (s && *s) {
        char *end;
        if (n == max) return -1;
        v[n] = strtod(s, &end);
        if (end == s || !isfinite(v[n]) || (*end && *end != ':')) return -1;
        n++;
        s = *end == ':' ? end + 1 : end;
        if (end[0] == ':' && !*s) return -1;
    }
    return n;
}

static const char *const KEYS[] = {"rrc",    "scale",  "ratio",         "resize", "crop", "interp", "hflip",
                                   "vflip",  "rotate", "fill",          "jitter", "mean", "std",    "erase",
                                   "reprob", "remode", "rotate_interp", "pad",    NULL};
/* timm's train argument names for the same items */
static const char *const ALIASES[][2] = {{"color_jitter", "jitter"}, {"train_interpolation", "interp"}, {NULL, NULL}};

static int parse_item(NcAugment *a, const char *item, unsigned *seen, NcError *e) {
    char key[32];
    const char *eq = strchr(item, '='), *val = eq ? eq + 1 : NULL;
    size_t kl = eq ? (size_t)(eq - item) : strlen(item);
    const char *aa = strncmp(item, "aa=", 3) == 0 ? item + 3 : item; /* timm's --aa */
    if (strncmp(aa, "rand-", 5) == 0) {
        if (a->ra.on) return nc_errorf(e, "'%s': RandAugment given twice", item);
        return nc_randaug_parse(aa, &a->ra, e);
    }
    if (kl >= sizeof key) return nc_errorf(e, "'%s': unknown item", item);
    memcpy(key, item, kl);
    key[kl] = 0;
    for (int i = 0; ALIASES[i][0]; i++)
        if (strcmp(key, ALIASES[i][0]) == 0) strcpy(key, ALIASES[i][1]);
    int k = 0;
    while (KEYS[k] && strcmp(KEYS[k], key) != 0) k++;
    if (!KEYS[k])
        return nc_errorf(
            e,
            "'%s': unknown item (expected rrc, scale, ratio, resize, crop, pad, interp, hflip, vflip, "
            "rotate, rotate_interp, fill, jitter, mean, std, erase, reprob, remode, rand-..., aa=rand-...)",
            item);
    if (*seen & (1u << k)) return nc_errorf(e, "'%s': %s given twice", item, key);
    *seen |= 1u << k;
    if (eq && !*val) return nc_errorf(e, "'%s': empty value", item);
    double v[4];
    int n = val ? parse_nums(val, v, 4) : 0;
    const char *s = key;
    if (strcmp(s, "interp") == 0) {
        if (!val) return nc_errorf(e, "'%s': expected interp=bilinear, bicubic or random", item);
        if (strcmp(val, "random") == 0) {
            a->interp = INTERP_RANDOM;
            return 0;
        }
        NcInterp i;
        if (nc_interp_parse(val, &i, e) != 0) return nc_error_prefix(e, "'%s'", item);
        a->interp = i;
        return 0;
    }
    if (strcmp(s, "rotate_interp") == 0) {
        a->rotate_filter = !val                       ? -1
                           : !strcmp(val, "nearest")  ? NC_PIL_NEAREST
                           : !strcmp(val, "bilinear") ? NC_PIL_BILINEAR
                           : !strcmp(val, "bicubic")  ? NC_PIL_BICUBIC
                                                      : -1;
        if (a->rotate_filter < 0)
            return nc_errorf(e, "'%s': expected rotate_interp=nearest, bilinear or bicubic", item);
        return 0;
    }
    if (strcmp(s, "remode") == 0 || (strcmp(s, "erase") == 0 && val && strchr(val, ':'))) {
        const char *m = strcmp(s, "remode") == 0 ? val : strchr(val, ':') + 1;
        if (!m) return nc_errorf(e, "'%s': expected remode=const, rand or pixel", item);
        if (*seen & (1u << 15) && strcmp(s, "erase") == 0) return nc_errorf(e, "'%s': erase mode given twice", item);
        *seen |= 1u << 15;
        a->erase_mode = strcmp(m, "const") == 0   ? ERASE_CONST
                        : strcmp(m, "rand") == 0  ? ERASE_RAND
                        : strcmp(m, "pixel") == 0 ? ERASE_PIXEL
                                                  : -1;
        if (a->erase_mode < 0) return nc_errorf(e, "'%s': erase mode must be const, rand or pixel", item);
        if (strcmp(s, "remode") == 0) return 0;
    }
    if (strcmp(s, "reprob") == 0 || strcmp(s, "erase") == 0) { /* one probability, by either name */
        if (*seen & (1u << 13) && *seen & (1u << 14)) return nc_errorf(e, "'%s': erase and reprob both given", item);
    }
    if (strcmp(s, "erase") == 0 && val) {
        const char *colon = strchr(val, ':');
        if (colon) {
            char *p = nc_strndup(val, (size_t)(colon - val));
            n = parse_nums(p, v, 1);
            free(p);
        }
    }
    if (n < 0) return nc_errorf(e, "'%s': malformed number list", item);
#define WANT(lo, hi, msg)                                                                                              \
    do {                                                                                                               \
        if (n < (lo) || n > (hi)) return nc_errorf(e, "'%s': %s", item, msg);                                          \
    } while (0)
    if (strcmp(s, "rrc") == 0 || strcmp(s, "scale") == 0 || strcmp(s, "ratio") == 0) {
        if (a->size_mode == SIZE_CROP) return nc_errorf(e, "'%s': rrc and crop exclude each other", item);
        a->size_mode = SIZE_RRC;
        double *dst = strcmp(s, "ratio") == 0 ? a->ratio : a->scale;
        if (strcmp(s, "rrc") == 0) {
            if (n != 0 && n != 2 && n != 4)
                return nc_errorf(e, "'%s': expected rrc, rrc=S0:S1 or rrc=S0:S1:R0:R1", item);
            if (n == 4) a->ratio[0] = v[2], a->ratio[1] = v[3];
        } else {
            WANT(2, 2, "expected two values, LOW:HIGH");
        }
        if (n >= 2) dst[0] = v[0], dst[1] = v[1];
        if (!(a->scale[0] > 0 && a->scale[0] <= a->scale[1] && a->scale[1] <= 1))
            return nc_errorf(e, "'%s': scale must satisfy 0 < S0 <= S1 <= 1", item);
        if (!(a->ratio[0] > 0 && a->ratio[0] <= a->ratio[1]))
            return nc_errorf(e, "'%s': ratio must satisfy 0 < R0 <= R1", item);
    } else if (strcmp(s, "resize") == 0) {
        WANT(1, 1, "expected resize=N");
        if (!(v[0] >= 1 && v[0] <= 65535 && v[0] == floor(v[0])))
            return nc_errorf(e, "'%s': the size must be an integer in 1..65535", item);
        a->resize = (int)v[0];
    } else if (strcmp(s, "crop") == 0) {
        WANT(0, 1, "expected crop or crop=N");
        if (a->size_mode == SIZE_RRC) return nc_errorf(e, "'%s': rrc and crop exclude each other", item);
        if (n == 1 && (v[0] != a->out_h || v[0] != a->out_w))
            return nc_errorf(e, "'%s': the crop must be the model's input size, %dx%d", item, a->out_h, a->out_w);
        a->size_mode = SIZE_CROP;
    } else if (strcmp(s, "pad") == 0) {
        /* torchvision's padding: P on every side, LR:TB, or L:T:R:B */
        if (n != 1 && n != 2 && n != 4) return nc_errorf(e, "'%s': expected pad=P, pad=LR:TB or pad=L:T:R:B", item);
        for (int j = 0; j < n; j++)
            if (!(v[j] >= 0 && v[j] <= 4096 && v[j] == floor(v[j])))
                return nc_errorf(e, "'%s': padding must be integers in 0..4096", item);
        for (int j = 0; j < 4; j++) a->pad[j] = (int)v[n == 1 ? 0 : n == 2 ? j % 2 : j];
    } else if (strcmp(s, "hflip") == 0 || strcmp(s, "vflip") == 0) {
        WANT(0, 1, "expected a probability");
        double p = n ? v[0] : 0.5;
        if (!(p >= 0 && p <= 1)) return nc_errorf(e, "'%s': the probability must be in [0, 1]", item);
        *(s[0] == 'h' ? &a->hflip : &a->vflip) = p;
    } else if (strcmp(s, "rotate") == 0) {
        WANT(1, 2, "expected rotate=DEGREES or rotate=MIN:MAX");
        if (n == 1 && !(v[0] >= 0 && v[0] <= 360)) return nc_errorf(e, "'%s': degrees must be in [0, 360]", item);
        if (n == 2 && !(v[0] <= v[1] && v[0] >= -360 && v[1] <= 360))
            return nc_errorf(e, "'%s': expected MIN <= MAX within [-360, 360]", item);
        /* torchvision: a number d is the range (-d, d) */
        a->degrees[0] = n == 1 ? -v[0] : v[0];
        a->degrees[1] = n == 1 ? v[0] : v[1];
        a->rotate = a->degrees[0] != 0 || a->degrees[1] != 0;
    } else if (strcmp(s, "fill") == 0) {
        if (n != 1 && n != 3) return nc_errorf(e, "'%s': expected fill=V or fill=R:G:B", item);
        for (int c = 0; c < 3; c++) {
            double f = v[n == 3 ? c : 0];
            if (!(f >= 0 && f <= 255 && f == floor(f)))
                return nc_errorf(e, "'%s': fill values must be integers in 0..255", item);
            a->fill[c] = (uint8_t)f;
        }
    } else if (strcmp(s, "jitter") == 0) {
        if (n != 1 && n != 3 && n != 4) return nc_errorf(e, "'%s': expected jitter=X, B:C:S or B:C:S:H", item);
        for (int j = 0; j < 4; j++) {
            double x = j < n ? v[j] : (n == 1 && j < 3 ? v[0] : 0);
            if (j < 3 && !(x >= 0)) return nc_errorf(e, "'%s': brightness, contrast, saturation must be >= 0", item);
            if (j == 3 && !(x >= 0 && x <= 0.5)) return nc_errorf(e, "'%s': hue must be in [0, 0.5]", item);
            /* torchvision: x -> [max(0, 1 - x), 1 + x]; hue -> [-x, x]; 0 means the op is off */
            a->jit_on[j] = x > 0;
            a->jit[j][0] = j == 3 ? -x : fmax(0.0, 1 - x);
            a->jit[j][1] = j == 3 ? x : 1 + x;
        }
    } else if (strcmp(s, "mean") == 0 || strcmp(s, "std") == 0) {
        WANT(3, 3, "expected three values, R:G:B");
        for (int c = 0; c < 3; c++) {
            if (s[0] == 's' && !(fabs(v[c]) >= 1e-3)) return nc_errorf(e, "'%s': std must be at least 0.001", item);
            (s[0] == 'm' ? a->mean : a->std)[c] = (float)v[c];
            if (s[0] == 'm') a->mean_d[c] = v[c];
        }
    } else if (strcmp(s, "erase") == 0 || strcmp(s, "reprob") == 0) {
        WANT(1, 1, "expected erase=P, erase=P:MODE or reprob=P");
        if (!(v[0] >= 0 && v[0] <= 1)) return nc_errorf(e, "'%s': the probability must be in [0, 1]", item);
        a->erase_p = v[0];
    }
#undef WANT
    return 0;
}

int nc_augment_parse(const char *spec, int out_h, int out_w, NcAugment **out, NcError *e) {
    *out = NULL;
    if (out_h < 1 || out_w < 1 || out_h > 65535 || out_w > 65535)
        return nc_errorf(e, "--aug: output size %dx%d out of range", out_h, out_w);
    NcAugment *a = nc_calloc(1, sizeof *a);
    *a = (NcAugment){.out_h = out_h,
                     .out_w = out_w,
                     .scale = {0.08, 1.0},
                     .ratio = {3.0 / 4.0, 4.0 / 3.0},
                     .interp = NC_INTERP_BILINEAR,
                     .mean = {0.485f, 0.456f, 0.406f},
                     .std = {0.229f, 0.224f, 0.225f},
                     .mean_d = {0.485, 0.456, 0.406}};
    int n = 0;
    char **items = spec && *spec ? nc_list_split(spec, &n, e) : NULL;
    if (spec && *spec && !items) {
        free(a);
        return nc_error_prefix(e, "--aug '%s'", spec);
    }
    unsigned seen = 0;
    for (int i = 0; i < n; i++)
        if (parse_item(a, items[i], &seen, e) != 0) {
            free(items);
            free(a);
            return nc_error_prefix(e, "--aug");
        }
    free(items);
    if ((a->pad[0] | a->pad[1] | a->pad[2] | a->pad[3]) && a->size_mode != SIZE_CROP) {
        free(a);
        return nc_errorf(e, "--aug: pad= pads the random crop: it needs crop");
    }
    *out = a;
    return 0;
}

void nc_augment_free(NcAugment *a) { free(a); }

char *nc_augment_describe(const NcAugment *a) {
    char buf[1024];
    int len = 0;
#define ADD(...) len += snprintf(buf + len, sizeof buf - (size_t)len, __VA_ARGS__)
    const char *interp = a->interp == INTERP_RANDOM ? "random" : nc_interp_name((NcInterp)a->interp);
    if (a->size_mode == SIZE_RRC)
        ADD("RandomResizedCrop(%dx%d, scale=(%g, %g), ratio=(%g, %g), %s)", a->out_h, a->out_w, a->scale[0],
            a->scale[1], a->ratio[0], a->ratio[1], interp);
    else {
        if (a->resize > 0) ADD("Resize(%d, %s), ", a->resize, interp);
        ADD("%s(%dx%d", a->size_mode == SIZE_CROP ? "RandomCrop" : "CenterCrop", a->out_h, a->out_w);
        if (a->pad[0] | a->pad[1] | a->pad[2] | a->pad[3])
            ADD(", padding=(%d, %d, %d, %d)", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
        ADD(")");
    }
    if (a->hflip > 0) ADD(", RandomHorizontalFlip(%g)", a->hflip);
    if (a->vflip > 0) ADD(", RandomVerticalFlip(%g)", a->vflip);
    if (a->rotate)
        ADD(", RandomRotation((%g, %g), %s, fill=(%d, %d, %d))", a->degrees[0], a->degrees[1],
            a->rotate_filter == NC_PIL_BICUBIC    ? "bicubic"
            : a->rotate_filter == NC_PIL_BILINEAR ? "bilinear"
                                                  : "nearest",
            a->fill[0], a->fill[1], a->fill[2]);
    if (a->ra.on)
        ADD(", RandAugment(m=%g, mstd=%g, n=%d, p=%g, mmax=%g%s)", a->ra.m, a->ra.mstd, a->ra.n, a->ra.p, a->ra.mmax,
            a->ra.inc ? ", increasing" : "");
    if (a->jit_on[0] || a->jit_on[1] || a->jit_on[2] || a->jit_on[3])
        ADD(", ColorJitter(%g, %g, %g, %g)", a->jit_on[0] ? a->jit[0][1] - 1 : 0, a->jit_on[1] ? a->jit[1][1] - 1 : 0,
            a->jit_on[2] ? a->jit[2][1] - 1 : 0, a->jit[3][1]);
    ADD(", Normalize((%g, %g, %g), (%g, %g, %g))", a->mean[0], a->mean[1], a->mean[2], a->std[0], a->std[1], a->std[2]);
    if (a->erase_p > 0)
        ADD(", RandomErasing(%g, mode=%s)", a->erase_p,
            a->erase_mode == ERASE_RAND    ? "rand"
            : a->erase_mode == ERASE_PIXEL ? "pixel"
                                           : "const");
#undef ADD
    return nc_strdup(buf);
}

const char *nc_augment_help(void) {
    return "  --aug SPEC: comma-separated items, applied in timm's training order:\n"
           "    rrc[=S0:S1[:R0:R1]] | resize=N,crop[=N]   RandomResizedCrop | Resize + RandomCrop (else CenterCrop)\n"
           "    pad=P|LR:TB|L:T:R:B                       RandomCrop's padding (zeros), e.g. crop,pad=4\n"
           "    interp=bilinear|bicubic|random            resampling filter (timm's random: either, per sample)\n"
           "    hflip[=P] vflip[=P]                       RandomHorizontalFlip / RandomVerticalFlip (P 0.5)\n"
           "    rotate=D|MIN:MAX fill=V|R:G:B rotate_interp=nearest|bilinear|bicubic   RandomRotation\n"
           "    jitter=X|B:C:S[:H]                        ColorJitter (X: timm's color_jitter)\n"
           "    rand-m9-mstd0.5[-inc1][-n2][-p0.5]        timm's RandAugment\n"
           "    mean=R:G:B std=R:G:B                      Normalize (ImageNet's by default)\n"
           "    erase=P[:const|rand|pixel]                timm's RandomErasing\n"
           "    e.g. resize=512,crop=448,hflip=0.5,rotate=15,jitter=0.4:0.4:0.4:0.1,erase=0.25\n";
}
