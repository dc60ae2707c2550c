/* transform.c — timm's eval transform with Pillow's resampling, bit for
 * bit; see transform.h. The resampling code follows Pillow 13's
 * src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
 * _ImagingResample{Horizontal,Vertical}_8bpc, ImagingResampleInner): the
 * coefficient arithmetic is the same double-precision expressions in the same
 * order, so it must not be contracted into FMAs (gcc's ISO C mode does not;
 * clang needs the pragma). */
#include "runtime/image/transform.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS (32 - 8 - 2)

NcTransform nc_transform_default(int height, int width) {
    NcTransform t = {
        .height = height,
        .width = width,
        .crop_pct = 0.875,
        .interp = NC_INTERP_BICUBIC,
        .mean = {0.485f, 0.456f, 0.406f},
        .std = {0.229f, 0.224f, 0.225f},
    };
    return t;
}

int nc_interp_parse(const char *s, NcInterp *out, NcError *e) {
    if (strcmp(s, "bicubic") == 0) {
        *out = NC_INTERP_BICUBIC;
        return 0;
    }
    if (strcmp(s, "bilinear") == 0) {
        *out = NC_INTERP_BILINEAR;
        return 0;
    }
    return nc_errorf(e, "unknown interpolation '%s' (expected bicubic or bilinear)", s);
}

const char *nc_interp_name(NcInterp i) { return i == NC_INTERP_BILINEAR ? "bilinear" : "bicubic"; }

static double crop_pct_of(const NcTransform *t) { return t->crop_pct > 0 ? t->crop_pct : 0.875; }

int nc_transform_check(const NcTransform *t, NcError *e) {
    if (t->height < 1 || t->width < 1 || t->height > 65535 || t->width > 65535)
        return nc_errorf(e, "image transform: size %dx%d out of range", t->height, t->width);
    double cp = crop_pct_of(t);
    /* timm's crop_pct are 0.8 to 1.15; one near 0 asks for a resize past any
     * size (past int64 at 1e-30), so the range stops well short of it. */
    if (!(cp >= 0.05 && cp <= 4.0)) return nc_errorf(e, "image transform: crop_pct %g out of range [0.05, 4]", cp);
    if (floor(t->height / cp) < 1 || floor(t->width / cp) < 1)
        return nc_errorf(e, "image transform: crop_pct %g leaves nothing to resize to", cp);
    if (t->interp != NC_INTERP_BICUBIC && t->interp != NC_INTERP_BILINEAR)
        return nc_errorf(e, "image transform: unknown interpolation %d", (int)t->interp);
    /* Pixels are divided by std: a tiny one (1e-38) overflows them to inf and the network's output to NaN. */
    for (int c = 0; c < 3; c++)
        if (!isfinite(t->mean[c]) || !isfinite(t->std[c]) || !(fabsf(t->std[c]) >= 1e-3f))
            return nc_errorf(e, "image transform: mean/std of channel %d must be finite, std at least 0.001 (got %g)",
                             c, (double)t->std[c]);
    return 0;
}

static void resize_size64(const NcTransform *t, int in_w, int in_h, int64_t *out_w, int64_t *out_h) {
    double cp = crop_pct_of(t);
    /* math.floor(x / crop_pct) per dimension */
    int64_t sh = (int64_t)floor(t->height / cp), sw = (int64_t)floor(t->width / cp);
    if (sh == sw) {
        /* torchvision Resize(int): shorter side to sh, the longer int(sh * long / short) */
        int shortside = in_w <= in_h ? in_w : in_h, longside = in_w <= in_h ? in_h : in_w;
        int64_t nl = (int64_t)((double)(sh * longside) / shortside);
        *out_w = in_w <= in_h ? sh : nl;
        *out_h = in_w <= in_h ? nl : sh;
    } else {
        /* timm ResizeKeepRatio(longest=0): ratio = min(h/th, w/tw); round(x / ratio) */
        double rh = (double)in_h / (double)sh, rw = (double)in_w / (double)sw;
        double ratio = rh < rw ? rh : rw;
        *out_h = (int64_t)nearbyint((double)in_h / ratio); /* round half to even, as Python's round */
        *out_w = (int64_t)nearbyint((double)in_w / ratio);
    }
}

/* Pillow's precompute_coeffs refuses (MemoryError) when outSize * ksize
 * doubles exceed INT_MAX bytes; so do we, and on sizes past int. */
static int resize_fits(int64_t in, int64_t out, NcInterp interp) {
    if (out < 1 || out > (1 << 30)) return 0;
    double fs = (double)in / (double)out;
    if (fs < 1.0) fs = 1.0;
    double ksize = ceil((interp == NC_INTERP_BILINEAR ? 1.0 : 2.0) * fs) * 2 + 1;
    return (double)out * ksize * 8 <= (double)INT32_MAX;
}

int nc_image_resize_check(int in_w, int in_h, int64_t w, int64_t h, NcInterp interp, NcError *e) {
    if (in_w < 1 || in_h < 1) return nc_errorf(e, "image transform: empty image");
    if ((w != in_w && !resize_fits(in_w, w, interp)) || (h != in_h && !resize_fits(in_h, h, interp)) || w < 1 || h < 1)
        return nc_errorf(e,
                         "image transform: cannot resize %d x %d to %lld x %lld (aspect ratio too extreme; PIL "
                         "refuses it too)",
                         in_w, in_h, (long long)w, (long long)h);
    return 0;
}

int nc_transform_resize_size(const NcTransform *t, int in_w, int in_h, int *out_w, int *out_h, NcError *e) {
    if (nc_transform_check(t, e) != 0) return -1;
    if (in_w < 1 || in_h < 1) return nc_errorf(e, "image transform: empty image");
    int64_t w, h;
    resize_size64(t, in_w, in_h, &w, &h);
    int need_w = w != in_w, need_h = h != in_h;
    if ((need_w && !resize_fits(in_w, w, t->interp)) || (need_h && !resize_fits(in_h, h, t->interp)) || w < 1 || h < 1)
        return nc_errorf(e,
                         "image transform: cannot resize %d x %d to %lld x %lld (aspect ratio too extreme; PIL refuses "
                         "it too)",
                         in_w, in_h, (long long)w, (long long)h);
    *out_w = (int)w;
    *out_h = (int)h;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Pillow's resampling                                                       */

static double bicubic_filter(double x) {
#define a -0.5
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
#undef a
}

static double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

typedef struct {
    int lo, hi; /* output indices [lo, hi) */
    int ksize;
    int *bounds; /* per output index: xmin, count */
    int32_t *kk; /* per output index: ksize fixed-point coefficients */
} Coeffs;

/* precompute_coeffs + normalize_coeffs_8bpc for outputs lo..hi-1 of a
 * resize from in_size to out_size (box 0..in_size). */
static void coeffs_make(Coeffs *c, int in_size, int out_size, int lo, int hi, NcInterp interp) {
    double (*filter)(double) = interp == NC_INTERP_BILINEAR ? bilinear_filter : bicubic_filter;
    double fsupport = interp == NC_INTERP_BILINEAR ? 1.0 : 2.0;
    float in0 = 0.0f, in1 = (float)in_size;
    double scale, filterscale;
    filterscale = scale = (double)(in1 - in0) / out_size;
    if (filterscale < 1.0) filterscale = 1.0;
    double support = fsupport * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    c->lo = lo;
    c->hi = hi;
    c->ksize = ksize;
    int n = hi - lo;
    c->bounds = nc_malloc(sizeof(int) * 2 * (size_t)(n > 0 ? n : 1));
    c->kk = nc_malloc(sizeof(int32_t) * (size_t)ksize * (size_t)(n > 0 ? n : 1));
    double *k = nc_malloc(sizeof(double) * (size_t)ksize);
    double inv_filterscale = 1.0 / filterscale;
    for (int xx = lo; xx < hi; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        int x;
        for (x = 0; x < xmax; x++) {
            double w = filter((x + xmin - center + 0.5) * inv_filterscale);
            k[x] = w;
            ww += w;
        }
        if (ww != 0.0)
            for (x = 0; x < xmax; x++) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        int32_t *kq = c->kk + (size_t)(xx - lo) * ksize;
        for (x = 0; x < ksize; x++)
            kq[x] = k[x] < 0 ? (int)(-0.5 + k[x] * (1 << PRECISION_BITS)) : (int)(0.5 + k[x] * (1 << PRECISION_BITS));
        c->bounds[2 * (xx - lo)] = xmin;
        c->bounds[2 * (xx - lo) + 1] = xmax;
    }
    free(k);
}

static void coeffs_free(Coeffs *c) {
    free(c->bounds);
    free(c->kk);
}

static inline uint8_t clip8(int32_t ss) {
    int32_t v = ss >> PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Both passes spend their time multiplying 8-bit samples by 22-bit
 * coefficients and summing in int32. Integer sums do not depend on the order
 * of their terms, so any arrangement of the loops gives Pillow's bits: the
 * portable code and the AVX2 code below (chosen at run time) are tested to
 * agree exactly.
 *
 * The horizontal pass works on 8 rows at a time, interleaved so that one
 * input column of the 8 rows (24 bytes) is contiguous and one coefficient
 * multiplies all 24 samples. The vertical pass keeps 32 samples of a row in
 * registers over all its taps. */
#define HR         8
#define HL         (3 * HR)
#define ROUND_INIT (1 << (PRECISION_BITS - 1))

static int simd_enabled = 1;
void nc_image_set_simd(int enabled) { simd_enabled = enabled; }

/* Input columns [lo, hi) that outputs c->lo..c->hi-1 read. */
static void coeffs_span(const Coeffs *c, int *lo, int *hi) {
    int n = c->hi - c->lo;
    *lo = c->bounds[0];
    *hi = *lo;
    for (int i = 0; i < n; i++) {
        if (c->bounds[2 * i] < *lo) *lo = c->bounds[2 * i];
        if (c->bounds[2 * i] + c->bounds[2 * i + 1] > *hi) *hi = c->bounds[2 * i] + c->bounds[2 * i + 1];
    }
}

/* Rows y0..y0+rr-1 of src, columns [lo, lo + width), interleaved into blk.
 * A pixel moves as one 4-byte copy whose fourth byte the next row's copy (or
 * the next column's first) overwrites; the last column, whose fourth byte
 * may lie past the image, moves as 3 bytes. blk has HL bytes of slack. */
static void interleave(const uint8_t *src, size_t src_stride, int src_x0, int y0, int rr, int lo, int width,
                       uint8_t *blk) {
    const uint8_t *in[HR];
    for (int r = 0; r < rr; r++) in[r] = src + (size_t)(y0 + r) * src_stride + 3 * (size_t)(lo - src_x0);
    int x = 0;
    for (; x + 1 < width; x++) {
        uint8_t *b = blk + (size_t)x * HL;
        for (int r = 0; r < rr; r++) memcpy(b + 3 * r, in[r] + 3 * x, 4);
    }
    for (; x < width; x++)
        for (int r = 0; r < rr; r++) memcpy(blk + (size_t)x * HL + 3 * r, in[r] + 3 * x, 3);
}

/* One output column of 8 interleaved rows: 24 sums, clipped to px. */
static void h_one_generic(const uint8_t *p, const int32_t *k, int cnt, uint8_t *px) {
    int32_t acc[HL];
    for (int j = 0; j < HL; j++) acc[j] = ROUND_INIT;
    for (int x = 0; x < cnt; x++) {
        int32_t kx = k[x];
        const uint8_t *q = p + (size_t)x * HL;
        for (int j = 0; j < HL; j++) acc[j] += q[j] * kx;
    }
    for (int j = 0; j < HL; j++) px[j] = clip8(acc[j]);
}

/* One output row of the vertical pass over m samples. */
static void v_row_generic(const uint8_t *in0, size_t stride, const int32_t *k, int cnt, int m, uint8_t *out,
                          int32_t *acc) {
    for (int x = 0; x < m; x++) acc[x] = ROUND_INIT;
    for (int y = 0; y < cnt; y++) {
        const uint8_t *in = in0 + (size_t)y * stride;
        int32_t ky = k[y];
        for (int x = 0; x < m; x++) acc[x] += in[x] * ky;
    }
    for (int x = 0; x < m; x++) out[x] = clip8(acc[x]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NC_HAVE_AVX2_PATH 1

/* 8 sums >> 22, saturated to 0..255 (the two packus clamp), as 8 bytes */
__attribute__((target("avx2"))) static inline void store8_avx2(uint8_t *dst, __m256i a) {
    a = _mm256_srai_epi32(a, PRECISION_BITS);
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    _mm_storel_epi64((__m128i *)dst, _mm_packus_epi16(w, w));
}

__attribute__((target("avx2"))) static inline __m256i load8_avx2(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

__attribute__((target("avx2"))) static void h_one_avx2(const uint8_t *p, const int32_t *k, int cnt, uint8_t *px) {
    __m256i a0 = _mm256_set1_epi32(ROUND_INIT), a1 = a0, a2 = a0;
    for (int x = 0; x < cnt; x++) {
        __m256i kx = _mm256_set1_epi32(k[x]);
        const uint8_t *q = p + (size_t)x * HL;
        a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(load8_avx2(q), kx));
        a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(load8_avx2(q + 8), kx));
        a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(load8_avx2(q + 16), kx));
    }
    store8_avx2(px, a0);
    store8_avx2(px + 8, a1);
    store8_avx2(px + 16, a2);
}

__attribute__((target("avx2"))) static void v_row_avx2(const uint8_t *in0, size_t stride, const int32_t *k, int cnt,
                                                       int m, uint8_t *out) {
    int x = 0;
    for (; x + 32 <= m; x += 32) {
        __m256i a0 = _mm256_set1_epi32(ROUND_INIT), a1 = a0, a2 = a0, a3 = a0;
        const uint8_t *in = in0 + x;
        for (int y = 0; y < cnt; y++, in += stride) {
            __m256i ky = _mm256_set1_epi32(k[y]);
            a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(load8_avx2(in), ky));
            a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(load8_avx2(in + 8), ky));
            a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(load8_avx2(in + 16), ky));
            a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(load8_avx2(in + 24), ky));
        }
        store8_avx2(out + x, a0);
        store8_avx2(out + x + 8, a1);
        store8_avx2(out + x + 16, a2);
        store8_avx2(out + x + 24, a3);
    }
    for (; x < m; x++) {
        int32_t ss = ROUND_INIT;
        const uint8_t *in = in0 + x;
        for (int y = 0; y < cnt; y++, in += stride) ss += *in * k[y];
        out[x] = clip8(ss);
    }
}

static int use_avx2(void) { return simd_enabled && __builtin_cpu_supports("avx2"); }
#else
static int use_avx2(void) { return 0; }
#endif

/* Horizontal pass: `rows` rows of src (stride src_stride; src's first pixel
 * is input column src_x0); output columns c->lo..c->hi-1 into dst (stride
 * dst_stride). */
static void pass_h(const uint8_t *src, size_t src_stride, int src_x0, int rows, const Coeffs *c, uint8_t *dst,
                   size_t dst_stride) {
    int n = c->hi - c->lo;
    if (n <= 0 || rows <= 0) return;
    int lo, hi;
    coeffs_span(c, &lo, &hi);
    int width = hi - lo;
    int avx2 = use_avx2();
    uint8_t *blk = nc_calloc((size_t)(width > 0 ? width : 1) + 1, HL);
    for (int y0 = 0; y0 < rows; y0 += HR) {
        int rr = rows - y0 < HR ? rows - y0 : HR;
        interleave(src, src_stride, src_x0, y0, rr, lo, width, blk);
        for (int i = 0; i < n; i++) {
            const uint8_t *p = blk + (size_t)(c->bounds[2 * i] - lo) * HL;
            const int32_t *k = c->kk + (size_t)i * c->ksize;
            uint8_t px[HL];
#ifdef NC_HAVE_AVX2_PATH
            if (avx2)
                h_one_avx2(p, k, c->bounds[2 * i + 1], px);
            else
#endif
                h_one_generic(p, k, c->bounds[2 * i + 1], px);
            for (int r = 0; r < rr; r++) memcpy(dst + (size_t)(y0 + r) * dst_stride + 3 * (size_t)i, px + 3 * r, 3);
        }
    }
    (void)avx2;
    free(blk);
}

/* Vertical pass: output rows c->lo..c->hi-1, each `cols` RGB pixels wide,
 * from src whose first row is input row src_y0. */
static void pass_v(const uint8_t *src, size_t src_stride, int src_y0, int cols, const Coeffs *c, uint8_t *dst,
                   size_t dst_stride) {
    int n = c->hi - c->lo;
    int m = 3 * cols;
    int avx2 = use_avx2();
    int32_t *acc = avx2 ? NULL : nc_malloc(sizeof(int32_t) * (size_t)(m > 0 ? m : 1));
    for (int i = 0; i < n; i++) {
        const uint8_t *in0 = src + (size_t)(c->bounds[2 * i] - src_y0) * src_stride;
        const int32_t *k = c->kk + (size_t)i * c->ksize;
        uint8_t *out = dst + (size_t)i * dst_stride;
#ifdef NC_HAVE_AVX2_PATH
        if (avx2)
            v_row_avx2(in0, src_stride, k, c->bounds[2 * i + 1], m, out);
        else
#endif
            v_row_generic(in0, src_stride, k, c->bounds[2 * i + 1], m, out, acc);
    }
    free(acc);
}

/* Resize img (W0 x H0) to RW x RH as PIL would, but produce only the columns
 * [x0, x1) and rows [y0, y1) of the result, into dst (stride dst_stride). */
void nc_image_resample_region(const NcImage *img, int RW, int RH, NcInterp interp, int x0, int x1, int y0, int y1,
                              uint8_t *dst, size_t dst_stride) {
    int W0 = img->width, H0 = img->height;
    size_t in_stride = (size_t)W0 * 3;
    int need_h = RW != W0, need_v = RH != H0;
    int cols = x1 - x0, rows = y1 - y0;
    if (cols <= 0 || rows <= 0) return;
    if (!need_h && !need_v) {
        for (int y = y0; y < y1; y++)
            memcpy(dst + (size_t)(y - y0) * dst_stride, img->rgb + y * in_stride + 3 * (size_t)x0, 3 * (size_t)cols);
        return;
    }
    Coeffs ch = {0}, cv = {0};
    if (need_h) coeffs_make(&ch, W0, RW, x0, x1, interp);
    if (need_v) coeffs_make(&cv, H0, RH, y0, y1, interp);
    if (need_h && !need_v) {
        pass_h(img->rgb + (size_t)y0 * in_stride, in_stride, 0, rows, &ch, dst, dst_stride);
    } else if (need_v && !need_h) {
        pass_v(img->rgb + 3 * (size_t)x0, in_stride, 0, cols, &cv, dst, dst_stride);
    } else {
        int horizontal_first = !((H0 - RH) > 0 && (H0 - RH) > (W0 - RW) * 2);
        if (horizontal_first) {
            /* input rows the needed output rows read */
            int r0 = cv.bounds[0], r1 = 0;
            for (int i = 0; i < rows; i++) {
                if (cv.bounds[2 * i] < r0) r0 = cv.bounds[2 * i];
                if (cv.bounds[2 * i] + cv.bounds[2 * i + 1] > r1) r1 = cv.bounds[2 * i] + cv.bounds[2 * i + 1];
            }
            if (r1 < r0) r1 = r0;
            size_t ts = 3 * (size_t)cols;
            uint8_t *tmp = nc_malloc(ts * (size_t)(r1 - r0 > 0 ? r1 - r0 : 1));
            pass_h(img->rgb + (size_t)r0 * in_stride, in_stride, 0, r1 - r0, &ch, tmp, ts);
            pass_v(tmp, ts, r0, cols, &cv, dst, dst_stride);
            free(tmp);
        } else {
            /* input columns the needed output columns read */
            int c0 = ch.bounds[0], c1 = 0;
            for (int i = 0; i < cols; i++) {
                if (ch.bounds[2 * i] < c0) c0 = ch.bounds[2 * i];
                if (ch.bounds[2 * i] + ch.bounds[2 * i + 1] > c1) c1 = ch.bounds[2 * i] + ch.bounds[2 * i + 1];
            }
            if (c1 < c0) c1 = c0;
            int tc = c1 - c0 > 0 ? c1 - c0 : 1;
            size_t ts = 3 * (size_t)tc;
            uint8_t *tmp = nc_malloc(ts * (size_t)rows);
            pass_v(img->rgb + 3 * (size_t)c0, in_stride, 0, c1 - c0, &cv, tmp, ts);
            pass_h(tmp, ts, c0, rows, &ch, dst, dst_stride);
            free(tmp);
        }
    }
    if (need_h) coeffs_free(&ch);
    if (need_v) coeffs_free(&cv);
}

/* int(round(d / 2.0)) for d >= 0: Python rounds halves to even. */
static int round_half_even_div2(int d) {
    int lo = d / 2;
    if (d % 2 == 0) return lo;
    return lo % 2 == 0 ? lo : lo + 1;
}

int nc_image_transform_u8(const NcImage *img, const NcTransform *t, uint8_t *out, NcError *e) {
    if (nc_transform_check(t, e) != 0) return -1;
    if (!img || !img->rgb || img->width < 1 || img->height < 1) return nc_errorf(e, "image transform: empty image");
    int RW, RH;
    if (nc_transform_resize_size(t, img->width, img->height, &RW, &RH, e) != 0) return -1;
    int CW = t->width, CH = t->height;
    /* torchvision CenterCrop: pad (zeros) where the image is smaller, then crop */
    int pl = CW > RW ? (CW - RW) / 2 : 0, pr = CW > RW ? (CW - RW + 1) / 2 : 0;
    int pt = CH > RH ? (CH - RH) / 2 : 0, pb = CH > RH ? (CH - RH + 1) / 2 : 0;
    int PW = RW + pl + pr, PH = RH + pt + pb;
    int top = round_half_even_div2(PH - CH), left = round_half_even_div2(PW - CW);
    /* crop pixel (x, y) is resized pixel (x + left - pl, y + top - pt) */
    int ox = left - pl, oy = top - pt;
    int x0 = ox < 0 ? 0 : ox, x1 = ox + CW > RW ? RW : ox + CW;
    int y0 = oy < 0 ? 0 : oy, y1 = oy + CH > RH ? RH : oy + CH;
    size_t stride = 3 * (size_t)CW;
    if (x0 > ox || y0 > oy || x1 < ox + CW || y1 < oy + CH) memset(out, 0, stride * (size_t)CH);
    if (x1 > x0 && y1 > y0)
        nc_image_resample_region(img, RW, RH, t->interp, x0, x1, y0, y1,
                                 out + (size_t)(y0 - oy) * stride + 3 * (size_t)(x0 - ox), stride);
    return 0;
}

void nc_image_normalize(const uint8_t *hwc, const NcTransform *t, float *out) {
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)v / 255.0f; /* torch: img.float().div(255) */
            x = x - t->mean[c];          /* Normalize: tensor.sub_(mean).div_(std) */
            lut[c][v] = x / t->std[c];
        }
    size_t n = (size_t)t->height * (size_t)t->width;
    float *r = out, *g = out + n, *b = out + 2 * n;
    for (size_t i = 0; i < n; i++) {
        r[i] = lut[0][hwc[3 * i]];
        g[i] = lut[1][hwc[3 * i + 1]];
        b[i] = lut[2][hwc[3 * i + 2]];
    }
}

int nc_image_transform(const NcImage *img, const NcTransform *t, float *out, NcError *e) {
    if (nc_transform_check(t, e) != 0) return -1;
    uint8_t *tmp = nc_malloc((size_t)t->height * (size_t)t->width * 3);
    int rc = nc_image_transform_u8(img, t, tmp, e);
    if (rc == 0) nc_image_normalize(tmp, t, out);
    free(tmp);
    return rc;
}
