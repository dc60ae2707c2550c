/* decode.c — JPEG (libjpeg-turbo) and PNG (libpng) to 8-bit RGB with
 * PIL's conversions and EXIF orientation; see decode.h.
 *
 * Both libraries report fatal errors through a callback that must not
 * return; ours longjmp back to the decoder. Everything that has to survive
 * the jump lives in a context struct owned by the caller of the function
 * that calls setjmp, so no automatic variable is read after a longjmp. */
#include "runtime/image/decode.h"

#include <limits.h>
#include <setjmp.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "runtime/support/file_in.h"

/* A progressive JPEG can hold any number of scans, each a full pass over the
 * coefficients: a small file could keep the decoder busy for minutes.
 * libjpeg-turbo's own tools stop at 500; real encoders write about 10. */
#define NC_JPEG_MAX_SCANS 1000

static const char *name_or_default(const char *name) { return name ? name : "image"; }

/* ------------------------------------------------------------------------ */
/* EXIF                                                                      */

static uint32_t rd16(const uint8_t *p, int be) { return be ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0]; }
static uint32_t rd32(const uint8_t *p, int be) {
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Mirrors PIL's Exif.load + ImageFileDirectory_v2.load (Pillow 13) as far as
 * IFD0 tag 274 goes: the first entry of a tag wins, unsupported types are
 * skipped, out-of-line data must fit the block and the running total of
 * out-of-line sizes must not exceed the block's length, a short read ends
 * the directory. The value is the first of the entry's values, compared with
 * the integers 1..8 numerically (so SHORT 6, LONG 6, FLOAT 6.0 and RATIONAL
 * 12/2 all mean 6; BYTE, ASCII and UNDEFINED values never match in PIL).
 * Returns 0: no orientation tag; 1..8: the orientation; 1 also when the tag
 * is there with a value that is not one of 1..8 (PIL then leaves the image
 * alone and does not look at the XMP packet). */
int nc_exif_orientation(const uint8_t *data, size_t len) {
    for (int k = 0; k < 2 && len >= 6 && memcmp(data, "Exif\0\0", 6) == 0; k++) {
        data += 6;
        len -= 6;
    }
    if (len < 8) return 0;
    int be;
    if (memcmp(data, "MM\0*", 4) == 0 || memcmp(data, "MM*\0", 4) == 0)
        be = 1;
    else if (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "II\0*", 4) == 0)
        be = 0;
    else
        return 0; /* not TIFF (PIL raises), or BigTIFF (not seen in EXIF) */
    uint64_t pos = rd32(data + 4, be);
    if (pos + 2 > len) return 0;
    uint32_t count = rd16(data + pos, be);
    pos += 2;
    uint64_t total = 0;
    uint8_t *seen = nc_calloc(65536 / 8, 1);
    int result = 0;
    for (uint32_t i = 0; i < count; i++, pos += 12) {
        if (pos + 12 > len) break;
        const uint8_t *ent = data + pos;
        uint32_t tag = rd16(ent, be), typ = rd16(ent + 2, be), n = rd32(ent + 4, be);
        if (seen[tag >> 3] & (1u << (tag & 7))) continue;
        int unit;
        switch (typ) {
        case 1:
        case 2:
        case 6:
        case 7: unit = 1; break;
        case 3:
        case 8: unit = 2; break;
        case 4:
        case 9:
        case 11:
        case 13: unit = 4; break;
        case 5:
        case 10:
        case 12:
        case 16: unit = 8; break;
        default: continue; /* unsupported type: skipped, not recorded */
        }
        uint64_t size = (uint64_t)n * (uint64_t)unit;
        const uint8_t *v;
        if (size > 4) {
            uint64_t off = rd32(ent + 8, be);
            total += size;
            if (total > len) continue;
            if (off > len || size > len - off) continue; /* short read */
            v = data + off;
        } else {
            v = ent + 8;
        }
        if (size == 0) continue;
        seen[tag >> 3] |= (uint8_t)(1u << (tag & 7));
        if (tag != 274) continue;
        /* The tag is present: PIL will not consult XMP, whatever the value. */
        double num = -1, den = 1;
        switch (typ) {
        case 3: num = rd16(v, be); break;
        case 8: num = (int16_t)rd16(v, be); break;
        case 4:
        case 13: num = rd32(v, be); break;
        case 9: num = (int32_t)rd32(v, be); break;
        case 6: num = (int8_t)v[0]; break;
        case 16:
            num = be ? rd32(v + 4, be) + 4294967296.0 * rd32(v, be) : rd32(v, be) + 4294967296.0 * rd32(v + 4, be);
            break;
        case 5:
            num = rd32(v, be);
            den = rd32(v + 4, be);
            break;
        case 10:
            num = (int32_t)rd32(v, be);
            den = (int32_t)rd32(v + 4, be);
            break;
        case 11: {
            uint32_t b = rd32(v, be);
            float f;
            memcpy(&f, &b, 4);
            num = f;
            break;
        }
        case 12: {
            uint64_t b =
                be ? (uint64_t)rd32(v, be) << 32 | rd32(v + 4, be) : (uint64_t)rd32(v + 4, be) << 32 | rd32(v, be);
            memcpy(&num, &b, 8);
            break;
        }
        default: break; /* BYTE, ASCII, UNDEFINED: bytes or str in PIL, never equal to an int */
        }
        result = 1;
        if (den != 0) {
            for (int o = 1; o <= 8; o++)
                if (num == (double)o * den) result = o;
        }
        break;
    }
    free(seen);
    return result;
}

/* PIL's fallback: re.search(rb'tiff:Orientation(="|>)([0-9])', xmp): the
 * first match decides. Returns 0 when there is none. */
static int xmp_orientation(const uint8_t *x, size_t len) {
    static const char key[] = "tiff:Orientation";
    size_t k = sizeof key - 1;
    for (size_t i = 0; i + k + 2 < len + 1 && len >= k + 2; i++) {
        if (memcmp(x + i, key, k) != 0) continue;
        size_t j = i + k;
        if (j < len && x[j] == '>')
            j += 1;
        else if (j + 1 < len && x[j] == '=' && x[j + 1] == '"')
            j += 2;
        else
            continue;
        if (j < len && x[j] >= '0' && x[j] <= '9') {
            int o = x[j] - '0';
            return o >= 1 && o <= 8 ? o : 1; /* 0 and 9: found, but PIL has no transpose for them */
        }
    }
    return 0;
}

/* Apply an orientation (2..8) to an RGB image; returns a new buffer and the
 * new size, or NULL for 1 / unknown values (nothing to do). */
static uint8_t *orient(const uint8_t *in, int w, int h, int o, int *ow, int *oh) {
    if (o < 2 || o > 8) return NULL;
    int swap = o >= 5;
    int W = swap ? h : w, H = swap ? w : h;
    uint8_t *out = nc_malloc((size_t)W * (size_t)H * 3);
    for (int y = 0; y < H; y++) {
        uint8_t *dst = out + (size_t)y * W * 3;
        for (int x = 0; x < W; x++) {
            int sx, sy; /* source pixel of output (x, y) */
            switch (o) {
            case 2:
                sx = w - 1 - x;
                sy = y;
                break; /* FLIP_LEFT_RIGHT */
            case 3:
                sx = w - 1 - x;
                sy = h - 1 - y;
                break; /* ROTATE_180 */
            case 4:
                sx = x;
                sy = h - 1 - y;
                break; /* FLIP_TOP_BOTTOM */
            case 5:
                sx = y;
                sy = x;
                break; /* TRANSPOSE */
            case 6:
                sx = y;
                sy = h - 1 - x;
                break; /* ROTATE_270 (90 clockwise) */
            case 7:
                sx = w - 1 - y;
                sy = h - 1 - x;
                break; /* TRANSVERSE */
            default:
                sx = w - 1 - y;
                sy = x;
                break; /* 8: ROTATE_90 (counter-clockwise) */
            }
            const uint8_t *src = in + ((size_t)sy * w + sx) * 3;
            dst[3 * x] = src[0];
            dst[3 * x + 1] = src[1];
            dst[3 * x + 2] = src[2];
        }
    }
    *ow = W;
    *oh = H;
    return out;
}

static int check_pixels(const char *name, const char *fmt, uint64_t w, uint64_t h, int64_t max_pixels, NcError *e) {
    if (w == 0 || h == 0)
        return nc_errorf(e, "%s: corrupt %s: image size %llu x %llu", name, fmt, (unsigned long long)w,
                         (unsigned long long)h);
    if (w * h > (uint64_t)max_pixels)
        return nc_errorf(e,
                         "%s: %llu x %llu pixels (%.1f MP) exceeds the limit of %.1f MP (decompression-bomb guard; "
                         "raise the pixel limit to decode it)",
                         name, (unsigned long long)w, (unsigned long long)h, (double)(w * h) / 1e6,
                         (double)max_pixels / 1e6);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* JPEG                                                                      */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} JpegErr;

typedef struct {
    const uint8_t *data;
    size_t len;
    int64_t max_pixels;
    int header_only;
    /* results */
    uint8_t *rgb;
    uint8_t *row; /* CMYK row */
    int width, height, orientation;
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    struct jpeg_progress_mgr progress;
    int created;
    char fail[NC_ERRMAX];
} JpegCtx;

static void jpeg_err_exit(j_common_ptr c) {
    JpegErr *j = (JpegErr *)c->err;
    char buf[JMSG_LENGTH_MAX];
    (*c->err->format_message)(c, buf);
    snprintf(j->msg, sizeof j->msg, "corrupt JPEG: %s", buf);
    longjmp(j->jb, 1);
}

static void jpeg_emit(j_common_ptr c, int level) {
    JpegErr *j = (JpegErr *)c->err;
    /* Warnings (level -1) about corrupt data are what PIL ignores too; the one
     * exception is running out of data, which PIL reports as "image file is
     * truncated" unless LOAD_TRUNCATED_IMAGES is set. */
    if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(j->msg, sizeof j->msg, "truncated JPEG (premature end of data)");
        longjmp(j->jb, 1);
    }
    if (level == -1) c->err->num_warnings++;
}

static void jpeg_quiet(j_common_ptr c) { (void)c; }

static void jpeg_progress(j_common_ptr c) {
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (c->is_decompressor && d->input_scan_number > NC_JPEG_MAX_SCANS) {
        JpegErr *j = (JpegErr *)c->err;
        snprintf(j->msg, sizeof j->msg, "corrupt JPEG: more than %d scans", NC_JPEG_MAX_SCANS);
        longjmp(j->jb, 1);
    }
}

static int jpeg_orientation(j_decompress_ptr d) {
    /* PIL: the first APP1 "Exif\0\0" segment, later ones appended without
     * their prefix; XMP (the last APP1 with the Adobe XMP id) only when EXIF
     * has no orientation tag. */
    static const char xmp_id[] = "http://ns.adobe.com/xap/1.0/";
    size_t exif_len = 0, nexif = 0;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            exif_len += nexif++ ? m->data_length - 6 : m->data_length;
        }
    int o = 0;
    if (nexif) {
        uint8_t *buf = nc_malloc(exif_len);
        size_t at = 0;
        int first = 1;
        for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
            if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
                size_t skip = first ? 0 : 6;
                memcpy(buf + at, m->data + skip, m->data_length - skip);
                at += m->data_length - skip;
                first = 0;
            }
        o = nc_exif_orientation(buf, exif_len);
        free(buf);
    }
    if (o == 0) {
        const uint8_t *x = NULL;
        size_t xl = 0;
        for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
            if (m->marker == JPEG_APP0 + 1 && m->data_length >= sizeof xmp_id &&
                memcmp(m->data, xmp_id, sizeof xmp_id) == 0) { /* id including its NUL */
                x = m->data + sizeof xmp_id;
                xl = m->data_length - sizeof xmp_id;
            }
        if (x) o = xmp_orientation(x, xl);
    }
    return o ? o : 1;
}

/* PIL's CMYK;I unpacker (Adobe polarity) followed by cmyk2rgb. */
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}
static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, int w) {
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        int nk = in[3]; /* 255 - (255 - k) */
        for (int c = 0; c < 3; c++) {
            int v = nk - muldiv255(255 - in[c], nk);
            out[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

static int jpeg_run(JpegCtx *c) {
    j_decompress_ptr d = &c->cinfo;
    if (setjmp(c->err.jb)) return -1;
    jpeg_create_decompress(d);
    c->created = 1;
    c->progress.progress_monitor = jpeg_progress;
    d->progress = &c->progress;
    jpeg_mem_src(d, c->data, (unsigned long)c->len);
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(d, TRUE);
    c->width = (int)d->image_width;
    c->height = (int)d->image_height;
    if (d->num_components != 1 && d->num_components != 3 && d->num_components != 4) {
        snprintf(c->fail, sizeof c->fail, "unsupported JPEG: %d colour components (PIL reads 1, 3 or 4)",
                 d->num_components);
        return -1;
    }
    if (c->header_only) return 0;
    NcError pe;
    if (check_pixels("", "JPEG", d->image_width, d->image_height, c->max_pixels, &pe) != 0) {
        snprintf(c->fail, sizeof c->fail, "%s", pe.msg + 2); /* drop the ": " of the empty name */
        return -1;
    }
    c->orientation = jpeg_orientation(d);
    d->out_color_space = d->num_components == 1 ? JCS_GRAYSCALE : d->num_components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_start_decompress(d);
    int w = (int)d->output_width, h = (int)d->output_height;
    if (w != c->width || h != c->height || d->output_components != d->num_components) {
        snprintf(c->fail, sizeof c->fail, "corrupt JPEG: unexpected output size");
        return -1;
    }
    c->rgb = nc_malloc((size_t)w * (size_t)h * 3);
    if (d->output_components == 4) c->row = nc_malloc((size_t)w * 4);
    while (d->output_scanline < d->output_height) {
        uint8_t *dst = c->rgb + (size_t)d->output_scanline * w * 3;
        JSAMPROW r = d->output_components == 4 ? c->row : dst;
        if (jpeg_read_scanlines(d, &r, 1) != 1) {
            snprintf(c->fail, sizeof c->fail, "truncated JPEG (premature end of data)");
            return -1;
        }
        if (d->output_components == 1) {
            for (int x = w - 1; x >= 0; x--) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = dst[x];
        } else if (d->output_components == 4) {
            cmyk_row_to_rgb(c->row, dst, w);
        }
    }
    jpeg_finish_decompress(d);
    return 0;
}

/* A decoded image handed over: its pixels now belong to out (orientation 0, no tag, is 1). */
static void image_done(NcImage *out, int width, int height, uint8_t *rgb, int format, int orientation) {
    out->width = width;
    out->height = height;
    out->rgb = rgb;
    out->format = format;
    out->orientation = orientation ? orientation : 1;
}

static int decode_jpeg(const uint8_t *data, size_t len, const char *name, int64_t max_pixels, int header_only,
                       NcImage *out, NcError *e) {
    JpegCtx *c = nc_calloc(1, sizeof *c);
    c->data = data;
    c->len = len;
    c->max_pixels = max_pixels;
    c->header_only = header_only;
    c->cinfo.err = jpeg_std_error(&c->err.pub);
    c->err.pub.error_exit = jpeg_err_exit;
    c->err.pub.emit_message = jpeg_emit;
    c->err.pub.output_message = jpeg_quiet;
    int rc = jpeg_run(c);
    if (c->created) jpeg_destroy_decompress(&c->cinfo);
    free(c->row);
    if (rc != 0) {
        nc_errorf(e, "%s: %s", name, c->fail[0] ? c->fail : c->err.msg);
        free(c->rgb);
        free(c);
        return -1;
    }
    image_done(out, c->width, c->height, c->rgb, NC_IMAGE_JPEG, c->orientation);
    free(c);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    int64_t max_pixels;
    png_structp png;
    png_infop info;
    int truncated, image_done, over_limit;
    uint8_t *rgb, *raw;
    int width, height, orientation;
    char msg[NC_ERRMAX];
} PngCtx;

static void png_err(png_structp png, png_const_charp msg) {
    PngCtx *c = png_get_error_ptr(png);
    if (!c->msg[0]) snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_cb(png_structp png, png_bytep out, size_t n) {
    PngCtx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        c->truncated = 1;
        png_error(png, "premature end of data");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* ImageMagick's "Raw profile type exif": "\nexif\n  LENGTH\nHEX...". PIL takes
 * the lines after the third newline, joined, through bytes.fromhex (which
 * skips whitespace between bytes). Returns 0 if the hex is not valid. */
static int raw_profile_orientation(const char *t, size_t len) {
    size_t i = 0;
    for (int nl = 0; nl < 3; i++) {
        if (i >= len) return 0;
        if (t[i] == '\n') nl++;
    }
    uint8_t *buf = nc_malloc(len / 2 + 1);
    size_t n = 0;
    int ok = 1;
    while (i < len) {
        int ch = (unsigned char)t[i];
        if (ch == '\n' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f') {
            i++;
            continue;
        }
        int a = hexval(ch), b = i + 1 < len ? hexval((unsigned char)t[i + 1]) : -1;
        if (a < 0 || b < 0) {
            ok = 0;
            break;
        }
        buf[n++] = (uint8_t)(a << 4 | b);
        i += 2;
    }
    int o = ok ? nc_exif_orientation(buf, n) : 0;
    free(buf);
    return o;
}

/* The last eXIf chunk of the file, found by walking the chunks ourselves:
 * libpng drops an eXIf that starts with "Exif\0\0" (Pillow writes those, and
 * strips the prefix when reading), and PIL takes the last one. */
static int png_find_exif(const uint8_t *d, size_t len, const uint8_t **exif, size_t *exif_len) {
    size_t pos = 8;
    int found = 0;
    while (len - pos >= 12) {
        uint32_t n = rd32(d + pos, 1);
        const uint8_t *type = d + pos + 4;
        if (n > len - pos - 12) break;
        if (memcmp(type, "eXIf", 4) == 0) {
            *exif = d + pos + 8;
            *exif_len = n;
            found = 1;
        }
        if (memcmp(type, "IEND", 4) == 0) break;
        pos += 12 + (size_t)n;
    }
    return found;
}

static int png_orientation(PngCtx *c) {
    int o = 0;
    const uint8_t *exif = NULL;
    size_t nexif = 0;
    int have_exif = png_find_exif(c->data, c->len, &exif, &nexif);
    if (have_exif) o = nc_exif_orientation(exif, nexif);
    png_textp text = NULL;
    int ntext = 0;
    png_get_text(c->png, c->info, &text, &ntext);
    int raw = -1, xmp = -1; /* PIL keeps the last chunk of each key */
    for (int i = 0; i < ntext; i++) {
        if (strcmp(text[i].key, "Raw profile type exif") == 0) raw = i;
        if (strcmp(text[i].key, "XML:com.adobe.xmp") == 0) xmp = i;
    }
    if (!have_exif && raw >= 0) {
        size_t l = text[raw].compression > 0 ? text[raw].itxt_length : text[raw].text_length;
        o = raw_profile_orientation(text[raw].text, l);
    }
    if (o == 0 && xmp >= 0) {
        size_t l = text[xmp].compression > 0 ? text[xmp].itxt_length : text[xmp].text_length;
        o = xmp_orientation((const uint8_t *)text[xmp].text, l);
    }
    return o ? o : 1;
}

static int png_run(PngCtx *c) {
    png_structp png = c->png;
    png_infop info = c->info;
    if (setjmp(png_jmpbuf(png))) return -1;
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX); /* our pixel limit decides */
    png_set_read_fn(png, c, png_read_cb);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    c->width = (int)w;
    c->height = (int)h;
    NcError pe;
    if (check_pixels("", "PNG", w, h, c->max_pixels, &pe) != 0) {
        snprintf(c->msg, sizeof c->msg, "%s", pe.msg + 2);
        c->over_limit = 1;
        return -1;
    }
    int grey16 = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (depth == 16 && !grey16) png_set_strip_16(png); /* PIL's ;16B unpackers keep the high byte */
    if (depth < 8) {
        if (ctype == PNG_COLOR_TYPE_PALETTE)
            png_set_packing(png);
        else
            png_set_expand_gray_1_2_4_to_8(png); /* PIL: 1 -> 0/255, L;2 -> v*0x55, L;4 -> v*0x11 */
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int channels = png_get_channels(png, info);
    size_t want = (size_t)w * (size_t)channels * (grey16 ? 2 : 1);
    if (rowbytes != want) png_error(png, "unexpected row size");
    uint8_t pal[256 * 3];
    memset(pal, 0, sizeof pal); /* PIL: entries past the palette are black */
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        png_colorp plte = NULL;
        int np = 0;
        if (!png_get_PLTE(png, info, &plte, &np) || !plte) png_error(png, "palette image without a palette");
        for (int i = 0; i < np && i < 256; i++) {
            pal[3 * i] = plte[i].red;
            pal[3 * i + 1] = plte[i].green;
            pal[3 * i + 2] = plte[i].blue;
        }
    }
    c->rgb = nc_malloc((size_t)w * (size_t)h * 3);
    /* Interlaced images need the whole image in memory between passes. */
    size_t rows_held = passes > 1 ? h : 1;
    c->raw = nc_malloc(rowbytes * rows_held);
    if (passes > 1)
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(png, c->raw + rowbytes * y, NULL);
    for (png_uint_32 y = 0; y < h; y++) {
        uint8_t *src = c->raw;
        if (passes > 1)
            src = c->raw + rowbytes * y;
        else
            png_read_row(png, src, NULL);
        uint8_t *dst = c->rgb + (size_t)y * w * 3;
        if (ctype == PNG_COLOR_TYPE_PALETTE) {
            for (png_uint_32 x = 0; x < w; x++) memcpy(dst + 3 * x, pal + 3 * src[x], 3);
        } else if (grey16) {
            for (png_uint_32 x = 0; x < w; x++) { /* PIL's I;16 -> RGB: clip to 255 */
                unsigned v = (unsigned)src[2 * x] << 8 | src[2 * x + 1];
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = (uint8_t)(v > 255 ? 255 : v);
            }
        } else if (channels <= 2) { /* grey, grey + alpha */
            for (png_uint_32 x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[channels * x];
        } else if (channels == 3) {
            memcpy(dst, src, (size_t)w * 3);
        } else { /* RGBA: alpha dropped */
            for (png_uint_32 x = 0; x < w; x++) memcpy(dst + 3 * x, src + 4 * x, 3);
        }
    }
    c->image_done = 1;
    /* Chunks after the image data (eXIf and text may be there). PIL stops at
     * a damaged or missing tail without complaint, and so do we. */
    png_read_end(png, info);
    return 0;
}

/* libpng allocates a chunk's declared length before reading it (1.6.39 does
 * so for tEXt without any limit), so a 100-byte file can ask for 2 GB. The
 * bytes libpng sees end where the first chunk that claims more than the rest
 * of the file begins: it then stops there as on any truncated file (an error
 * before the image data is complete, a tail ignored after it, as in PIL), and
 * no chunk it allocates is larger than the file. */
static size_t png_usable_length(const uint8_t *d, size_t len) {
    size_t pos = 8;
    while (len > pos && len - pos >= 8) {
        uint32_t n = rd32(d + pos, 1);
        if (n > len - pos - 8 || len - pos - 8 - n < 4) return pos;
        if (memcmp(d + pos + 4, "IEND", 4) == 0) return len;
        pos += 12 + (size_t)n;
    }
    return len;
}

/* IHDR must be the first chunk: its size is checked against the limit before
 * libpng reads anything else (and a probe needs nothing more). */
static int png_ihdr(const uint8_t *d, size_t len, uint32_t *w, uint32_t *h) {
    if (len < 8 + 8 + 13 + 4 || memcmp(d + 12, "IHDR", 4) != 0 || rd32(d + 8, 1) != 13) return -1;
    if (crc32(crc32(0L, Z_NULL, 0), d + 12, 4 + 13) != rd32(d + 29, 1)) return -1; /* libpng will say so */
    *w = rd32(d + 16, 1);
    *h = rd32(d + 20, 1);
    return 0;
}

static int decode_png(const uint8_t *data, size_t len, const char *name, int64_t max_pixels, int header_only,
                      NcImage *out, NcError *e) {
    uint32_t hw, hh;
    if (png_ihdr(data, len, &hw, &hh) == 0) {
        if (header_only) {
            if (hw == 0 || hh == 0 || hw > PNG_UINT_31_MAX || hh > PNG_UINT_31_MAX)
                return nc_errorf(e, "%s: corrupt PNG: image size %u x %u", name, hw, hh);
            out->width = (int)hw;
            out->height = (int)hh;
            return 0;
        }
        if (check_pixels(name, "PNG", hw, hh, max_pixels, e) != 0) return -1;
    } else if (header_only) {
        return nc_errorf(e, "%s: %s", name,
                         len < 33 ? "truncated PNG (premature end of data)" : "corrupt PNG: no valid IHDR chunk first");
    }
    PngCtx *c = nc_calloc(1, sizeof *c);
    c->data = data;
    c->len = png_usable_length(data, len);
    c->max_pixels = max_pixels;
    c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_err, png_warn);
    if (!c->png) NC_FATAL("png_create_read_struct failed");
    c->info = png_create_info_struct(c->png);
    if (!c->info) NC_FATAL("png_create_info_struct failed");
    int rc = png_run(c);
    if (rc != 0 && c->image_done == 1) rc = 0; /* only the tail after the pixels was bad */
    if (rc == 0) c->orientation = png_orientation(c);
    png_destroy_read_struct(&c->png, &c->info, NULL);
    free(c->raw);
    if (rc != 0) {
        if (c->truncated)
            nc_errorf(e, "%s: truncated PNG (premature end of data)", name);
        else if (c->over_limit)
            nc_errorf(e, "%s: %s", name, c->msg);
        else
            nc_errorf(e, "%s: corrupt PNG: %s", name, c->msg[0] ? c->msg : "unknown error");
        free(c->rgb);
        free(c);
        return -1;
    }
    image_done(out, c->width, c->height, c->rgb, NC_IMAGE_PNG, c->orientation);
    free(c);
    return 0;
}

/* ------------------------------------------------------------------------ */

static const char *sniff_other(const uint8_t *d, size_t n) {
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "a GIF image";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return "a WebP image";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return "a TIFF image";
    if (n >= 2 && memcmp(d, "BM", 2) == 0) return "a BMP image";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0) return "an AVIF image";
        if (memcmp(d + 8, "hei", 3) == 0 || memcmp(d + 8, "mif1", 4) == 0) return "a HEIF image";
        return "an ISO media file";
    }
    if (n >= 12 && memcmp(d, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0) return "a JPEG 2000 image";
    if (n >= 5 && memcmp(d, "%PDF-", 5) == 0) return "a PDF document";
    if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) return "a damaged JPEG (no marker after SOI)";
    return NULL;
}

static int is_jpeg(const uint8_t *d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }
static int is_png(const uint8_t *d, size_t n) { return n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0; }

static int not_an_image(const uint8_t *d, size_t n, const char *name, NcError *e) {
    if (n == 0) return nc_errorf(e, "%s: empty file (0 bytes), not an image", name);
    const char *other = sniff_other(d, n);
    if (other) return nc_errorf(e, "%s: not a JPEG or PNG image: %s", name, other);
    /* never the bytes themselves: the file may be anything (a list entry
     * pointing at /etc/passwd), and messages end up in logs and JSON */
    return nc_errorf(e, "%s: not a JPEG or PNG image (%zu bytes, no JPEG or PNG signature at the start)", name, n);
}

int nc_image_probe(const uint8_t *data, size_t len, const char *name, int *format, int *width, int *height,
                   NcError *e) {
    name = name_or_default(name);
    NcImage img = {0};
    int rc;
    if (is_jpeg(data, len)) {
        rc = decode_jpeg(data, len, name, 0, 1, &img, e);
        if (format) *format = NC_IMAGE_JPEG;
    } else if (is_png(data, len)) {
        rc = decode_png(data, len, name, 0, 1, &img, e);
        if (format) *format = NC_IMAGE_PNG;
    } else {
        return not_an_image(data, len, name, e);
    }
    if (rc != 0) return -1;
    if (width) *width = img.width;
    if (height) *height = img.height;
    return 0;
}

int nc_image_decode(const uint8_t *data, size_t len, const char *name, int64_t max_pixels, NcImage *out, NcError *e) {
    memset(out, 0, sizeof *out);
    name = name_or_default(name);
    if (max_pixels <= 0) max_pixels = NC_IMAGE_MAX_PIXELS_DEFAULT;
    NcImage img = {0};
    int rc;
    if (is_jpeg(data, len))
        rc = decode_jpeg(data, len, name, max_pixels, 0, &img, e);
    else if (is_png(data, len))
        rc = decode_png(data, len, name, max_pixels, 0, &img, e);
    else
        return not_an_image(data, len, name, e);
    if (rc != 0) return -1;
    int ow, oh;
    uint8_t *t = orient(img.rgb, img.width, img.height, img.orientation, &ow, &oh);
    if (t) {
        free(img.rgb);
        img.rgb = t;
        img.width = ow;
        img.height = oh;
    }
    *out = img;
    return 0;
}

int nc_image_read_bytes(const char *path, uint8_t **data, size_t *len, NcError *e) {
    return nc_read_file_max(path, NC_LIMIT_IMAGE, "an image file", (char **)data, len, e);
}

int nc_image_read(const char *path, int64_t max_pixels, NcImage *out, NcError *e) {
    memset(out, 0, sizeof *out);
    uint8_t *data;
    size_t len;
    if (nc_image_read_bytes(path, &data, &len, e) != 0) return -1;
    int rc = nc_image_decode(data, len, path, max_pixels, out, e);
    free(data);
    return rc;
}

void nc_image_free(NcImage *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
