/* decode.h — JPEG and PNG files to 8-bit RGB, the way PIL's
 * Image.open(f).convert("RGB") after ImageOps.exif_transpose sees them.
 *
 * The format is found from the content (JPEG: FF D8 FF; PNG: its 8-byte
 * signature), never from the file name. JPEG goes through libjpeg-turbo
 * (baseline, progressive, arithmetic; 1 component = grey, 3 = YCbCr or RGB,
 * 4 = CMYK or YCCK, converted to RGB with PIL's rule: every 4-component
 * JPEG is taken as Adobe-inverted CMYK, as PIL does, then R = k - k*(255-c)/255
 * with PIL's rounding). PNG goes through libpng (any
 * bit depth and colour type, interlaced or not): 16-bit samples keep their
 * high byte, 16-bit grey without alpha is clipped to 255 (PIL's I;16 -> RGB),
 * palette indices past the palette are black, alpha and tRNS are dropped,
 * gamma and ICC profiles are ignored (PIL ignores them too).
 *
 * The EXIF orientation (JPEG APP1 "Exif", PNG eXIf or an ImageMagick "Raw
 * profile type exif" text chunk; failing that, tiff:Orientation in the XMP
 * packet) is applied as ImageOps.exif_transpose does: 2 mirror, 3 rotate
 * 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
 * counter-clockwise; other values leave the image as stored.
 *
 * Errors name the file and the problem: empty, truncated, corrupt, not an
 * image, unsupported kind of JPEG/PNG, too many pixels (width * height over
 * the limit, checked from the header before anything is allocated), and, for
 * nc_image_read, files that cannot be opened or read (a directory, no
 * permission). A premature end of data is an error, as in PIL without
 * LOAD_TRUNCATED_IMAGES. Thread-safe: no global state.
 */
#ifndef NETC_IMAGE_DECODE_H
#define NETC_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/support/base.h"

/* Default decompression-bomb limit: width * height above it is refused. */
#define NC_IMAGE_MAX_PIXELS_DEFAULT 100000000LL

enum { NC_IMAGE_JPEG = 1, NC_IMAGE_PNG = 2 };

typedef struct {
    int width, height; /* after the EXIF orientation is applied */
    uint8_t *rgb;      /* height * width * 3 bytes, rows top to bottom, RGB */
    int format;        /* NC_IMAGE_JPEG or NC_IMAGE_PNG */
    int orientation;   /* the EXIF orientation found (1 when none) */
} NcImage;

/* Decode an image held in memory. `name` is used in messages (NULL: "image").
 * max_pixels <= 0 means NC_IMAGE_MAX_PIXELS_DEFAULT. On failure *out is
 * zeroed. */
int nc_image_decode(const uint8_t *data, size_t len, const char *name, int64_t max_pixels, NcImage *out, NcError *e);

/* Read and decode a file. */
int nc_image_read(const char *path, int64_t max_pixels, NcImage *out, NcError *e);

/* Only the header: the format and the stored size (before orientation). */
int nc_image_probe(const uint8_t *data, size_t len, const char *name, int *format, int *width, int *height, NcError *e);

/* Free the pixels; *img is zeroed (safe twice). */
void nc_image_free(NcImage *img);

/* Read a whole file for the image decoder: regular files only, at most 2 GiB;
 * errors say "cannot open", "is a directory", "empty file", ... */
int nc_image_read_bytes(const char *path, uint8_t **data, size_t *len, NcError *e);

/* Parse a TIFF-structured EXIF block (with or without the "Exif\0\0"
 * prefix) and return the Orientation tag of IFD0 as PIL reads it, or 0 when
 * there is none / the block is unreadable. Exposed for tests and fuzzing. */
int nc_exif_orientation(const uint8_t *data, size_t len);

#endif
