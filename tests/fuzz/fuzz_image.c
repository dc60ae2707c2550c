/* fuzz_image.c — libFuzzer target: the image pipeline on arbitrary bytes.
 * nc_image_decode (JPEG through libjpeg-turbo, PNG through libpng, the EXIF /
 * XMP orientation parsers, PIL's colour conversions) with a 1 MP limit so
 * that inputs stay fast, then timm's eval transform at two small sizes (one
 * non-square bilinear, one padding: crop_pct > 1). Also nc_exif_orientation
 * directly on the input and nc_image_probe, which must agree with the
 * decoder. Invariants (abort() if broken): a failure leaves the image empty
 * and carries a message naming the input; a success has a size within the
 * limit, every pixel readable, and every output value one of the 256 that
 * normalisation can produce for its channel. A PNG input is decoded twice:
 * as it is, and with every chunk CRC recomputed, so that mutations inside
 * chunks reach libpng's parsers instead of stopping at the CRC check.
 * Replayed by
 * tests/unit/test_fuzz_regress.c (included with NC_FUZZ_NO_MAIN). */
#include "tests/fuzz/fuzz_main.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/image/transform.h"

#define FUZZ_IMAGE_MAX_PIXELS (1 << 20)

static void fuzz_image_check_transform(const NcImage *img, const NcTransform *t) {
    NcError e;
    size_t n = (size_t)t->height * t->width;
    float *out = malloc(sizeof(float) * 3 * n);
    if (!out) abort();
    if (nc_image_transform(img, t, out, &e) != 0) abort(); /* valid image, valid transform: must work */
    for (int c = 0; c < 3; c++) {
        float lo = (0.0f - t->mean[c]) / t->std[c], hi = (1.0f - t->mean[c]) / t->std[c];
        for (size_t i = 0; i < n; i++) {
            float v = out[c * n + i];
            if (!(v >= lo && v <= hi)) abort();
        }
    }
    free(out);
}

static void fuzz_image_decode_one(const uint8_t *data, size_t size) {
    int o = nc_exif_orientation(data, size);
    if (o < 0 || o > 8) abort();

    NcImage img;
    NcError e;
    e.msg[0] = 0;
    int fmt = 0, pw = 0, ph = 0;
    NcError pe;
    int probed = nc_image_probe(data, size, "fuzz.img", &fmt, &pw, &ph, &pe) == 0;
    if (nc_image_decode(data, size, "fuzz.img", FUZZ_IMAGE_MAX_PIXELS, &img, &e) != 0) {
        if (e.msg[0] == 0 || strncmp(e.msg, "fuzz.img: ", 10) != 0) abort();
        if (img.rgb != NULL || img.width != 0 || img.height != 0) abort();
        return;
    }
    if (img.width < 1 || img.height < 1 || (int64_t)img.width * img.height > FUZZ_IMAGE_MAX_PIXELS) abort();
    if (img.orientation < 1 || img.orientation > 8 || !img.rgb) abort();
    if (img.format != NC_IMAGE_JPEG && img.format != NC_IMAGE_PNG) abort();
    /* the probe reads the same header */
    if (!probed || fmt != img.format) abort();
    int swapped = img.orientation >= 5;
    if ((swapped ? ph : pw) != img.width || (swapped ? pw : ph) != img.height) abort();
    volatile unsigned sink = 0;
    size_t bytes = (size_t)img.width * img.height * 3;
    for (size_t k = 0; k < bytes; k++) sink += img.rgb[k]; /* every pixel readable */
    (void)sink;

    NcTransform t = nc_transform_default(16, 16);
    fuzz_image_check_transform(&img, &t);
    t = nc_transform_default(9, 20);
    t.interp = NC_INTERP_BILINEAR;
    t.crop_pct = 1.3;
    fuzz_image_check_transform(&img, &t);
    nc_image_free(&img);
}

/* Copy of a PNG with the CRC of every complete chunk recomputed, or NULL. */
static uint8_t *fuzz_png_fix_crcs(const uint8_t *data, size_t size) {
    if (size < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8) != 0) return NULL;
    uint8_t *d = malloc(size);
    if (!d) abort();
    memcpy(d, data, size);
    size_t pos = 8;
    while (size - pos >= 12) {
        uint32_t n = (uint32_t)d[pos] << 24 | (uint32_t)d[pos + 1] << 16 | (uint32_t)d[pos + 2] << 8 | d[pos + 3];
        if (n > size - pos - 12) break;
        uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), d + pos + 4, 4 + n);
        uint8_t *q = d + pos + 8 + n;
        q[0] = (uint8_t)(c >> 24), q[1] = (uint8_t)(c >> 16), q[2] = (uint8_t)(c >> 8), q[3] = (uint8_t)c;
        pos += 12 + (size_t)n;
    }
    return d;
}

static void fuzz_image_one(const uint8_t *data, size_t size) {
    fuzz_image_decode_one(data, size);
    uint8_t *fixed = fuzz_png_fix_crcs(data, size);
    if (fixed) {
        fuzz_image_decode_one(fixed, size);
        free(fixed);
    }
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_image_one)
#endif
