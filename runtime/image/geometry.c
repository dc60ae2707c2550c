/* geometry.c — PIL's rotate and affine transform (see geometry.h), found
 * to agree with Pillow 13 byte for byte by tests/unit/test_augment.c and its
 * fixtures. The double expressions are PIL's, in its order: no FMA contraction. */
#include "runtime/image/geometry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define PI 3.14159265358979323846 /* Python's math.pi, the double nearest pi */

static inline int clampi(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

/* PIL's cubic through four samples at offset d in [0, 1) (a = -1) */
static inline double cubic(double v1, double v2, double v3, double v4, double d) {
    double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
    return p1 + d * (p2 + d * (p3 + d * p4));
}

/* One output pixel of the filtered transform at input position (xin, yin). */
static void sample(const uint8_t *src, int w, int h, double xin, double yin, int filter, uint8_t *out) {
    xin -= 0.5;
    yin -= 0.5;
    int x = (int)floor(xin), y = (int)floor(yin);
    double dx = xin - x, dy = yin - y;
    size_t row = 3 * (size_t)w;
    for (int b = 0; b < 3; b++) {
        if (filter == NC_PIL_BILINEAR) {
            /* rows y and y + 1 (the second replaced by the first past the edge), columns clamped */
            int x0 = clampi(x, w - 1) * 3 + b, x1 = clampi(x + 1, w - 1) * 3 + b;
            const uint8_t *r0 = src + (size_t)clampi(y, h - 1) * row;
            double v1 = r0[x0] + (r0[x1] - r0[x0]) * dx, v2 = v1;
            if (y + 1 >= 0 && y + 1 < h) {
                const uint8_t *r1 = src + (size_t)(y + 1) * row;
                v2 = r1[x0] + (r1[x1] - r1[x0]) * dx;
            }
            out[b] = (uint8_t)(v1 + (v2 - v1) * dy);
        } else {
            int xs[4];
            for (int k = 0; k < 4; k++) xs[k] = clampi(x - 1 + k, w - 1) * 3 + b;
            double v[4];
            for (int k = 0; k < 4; k++) {
                int yy = y - 1 + k;
                if (k > 0 && !(yy >= 0 && yy < h)) { /* past the edge: the row before */
                    v[k] = v[k - 1];
                    continue;
                }
                const uint8_t *r = src + (size_t)clampi(yy, h - 1) * row;
                v[k] = cubic(r[xs[0]], r[xs[1]], r[xs[2]], r[xs[3]], dx);
            }
            double s = cubic(v[0], v[1], v[2], v[3], dy);
            out[b] = s <= 0.0 ? 0 : s >= 255.0 ? 255 : (uint8_t)s;
        }
    }
}

static void affine_filtered(const uint8_t *src, int w, int h, const double m[6], int filter, const uint8_t fill[3],
                            uint8_t *dst) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double xi = x + 0.5, yi = y + 0.5;
            double xin = m[0] * xi + m[1] * yi + m[2], yin = m[3] * xi + m[4] * yi + m[5];
            uint8_t *o = dst + 3 * ((size_t)y * w + x);
            if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h)
                memcpy(o, fill, 3);
            else
                sample(src, w, h, xin, yin, filter, o);
        }
}

/* Python's round(v, 15): the nearest 15-decimal value, correctly rounded
 * (printf and strtod are exact in glibc, as Python's dtoa is). */
static double round15(double v) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.15f", v);
    return strtod(buf, NULL);
}

void nc_pil_rotate(const uint8_t *src, int w, int h, double angle, int filter, const uint8_t fill[3], uint8_t *dst) {
    size_t n = (size_t)w * h;
    angle = fmod(angle, 360.0); /* Python's angle % 360.0: the sign of the divisor */
    if (angle < 0) angle += 360.0;
    if (angle == 0) {
        memcpy(dst, src, n * 3);
        return;
    }
    /* PIL's rotate takes exact transposes for these, not the affine map */
    if (angle == 180 || ((angle == 90 || angle == 270) && w == h)) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sx, sy;
                if (angle == 180)
                    sx = w - 1 - x, sy = h - 1 - y;
                else if (angle == 90) /* counter-clockwise */
                    sx = w - 1 - y, sy = x;
                else
                    sx = y, sy = h - 1 - x;
                memcpy(dst + 3 * ((size_t)y * w + x), src + 3 * ((size_t)sy * w + sx), 3);
            }
        return;
    }
    /* Image.rotate's inverse matrix about the centre (w/2, h/2) */
    double rad = -(angle * (PI / 180.0));
    double m[6] = {round15(cos(rad)), round15(sin(rad)), 0.0, round15(-sin(rad)), round15(cos(rad)), 0.0};
    double cx = w / 2.0, cy = h / 2.0;
    m[2] = m[0] * -cx + m[1] * -cy + m[2] + cx;
    m[5] = m[3] * -cx + m[4] * -cy + m[5] + cy;
    nc_pil_affine(src, w, h, m, filter, fill, dst);
}

void nc_pil_affine(const uint8_t *src, int w, int h, const double m[6], int filter, const uint8_t fill[3],
                   uint8_t *dst) {
    if (filter != NC_PIL_NEAREST) {
        affine_filtered(src, w, h, m, filter, fill, dst);
        return;
    }
    /* Pillow's nearest-neighbour affine: the centre of each output pixel mapped
     * in 16.16 fixed point (its path for every image that fits it: sizes under
     * 32768), the source pixel taken by flooring */
    int64_t a0 = (int64_t)floor(m[0] * 65536.0 + 0.5), a1 = (int64_t)floor(m[1] * 65536.0 + 0.5);
    int64_t a3 = (int64_t)floor(m[3] * 65536.0 + 0.5), a4 = (int64_t)floor(m[4] * 65536.0 + 0.5);
    int64_t a2 = (int64_t)floor((m[2] + m[1] * 0.5 + m[0] * 0.5) * 65536.0 + 0.5);
    int64_t a5 = (int64_t)floor((m[5] + m[4] * 0.5 + m[3] * 0.5) * 65536.0 + 0.5);
    for (int y = 0; y < h; y++) {
        int64_t xx = a2, yy = a5;
        for (int x = 0; x < w; x++) {
            int64_t xi = xx >> 16, yi = yy >> 16;
            const uint8_t *p = xi >= 0 && xi < w && yi >= 0 && yi < h ? src + 3 * ((size_t)yi * w + (size_t)xi) : fill;
            memcpy(dst + 3 * ((size_t)y * w + x), p, 3);
            xx += a0;
            yy += a3;
        }
        a2 += a1;
        a5 += a4;
    }
}
