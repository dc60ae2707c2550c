/* npy.c — see npy.h.
 *
 * The header is a Python dict literal, e.g.
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 224, 224), }
 * padded with spaces and ended by '\n'. We parse the small subset of Python
 * literal syntax that can appear there (strings, True/False, tuples of ints)
 * with any key order, whitespace and trailing commas, instead of matching
 * numpy's exact spelling, so files from other writers load too. */
#include "runtime/support/npy.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/support/file_in.h"

typedef struct {
    const uint8_t *p;
    size_t len, pos; /* within the header text */
    const char *path;
    NcError *e;
} Hdr;

static void skip_ws(Hdr *H) {
    while (H->pos < H->len) {
        uint8_t c = H->p[H->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') break;
        H->pos++;
    }
}

static int hfail(Hdr *H, const char *what) {
    char found[32];
    if (H->pos >= H->len)
        snprintf(found, sizeof found, "end of header");
    else if (H->p[H->pos] >= 0x20 && H->p[H->pos] < 0x7f)
        snprintf(found, sizeof found, "'%c'", H->p[H->pos]);
    else
        snprintf(found, sizeof found, "byte 0x%02x", H->p[H->pos]);
    return nc_errorf(H->e, "%s: bad .npy header at byte %zu of the header: expected %s, found %s", H->path, H->pos,
                     what, found);
}

static int peek(Hdr *H, char c) { return H->pos < H->len && H->p[H->pos] == (uint8_t)c; }

/* A quoted string without escapes (numpy never writes any). */
static int parse_str(Hdr *H, char *out, size_t cap) {
    if (!peek(H, '\'') && !peek(H, '"')) return hfail(H, "a quoted string");
    uint8_t q = H->p[H->pos++];
    size_t n = 0;
    while (H->pos < H->len && H->p[H->pos] != q) {
        uint8_t c = H->p[H->pos];
        if (c == '\\' || c == '\n') return hfail(H, "a plain string (no escapes or newlines)");
        if (n + 1 >= cap) return hfail(H, "a shorter string");
        out[n++] = (char)c;
        H->pos++;
    }
    if (H->pos >= H->len) return hfail(H, "a closing quote");
    H->pos++;
    out[n] = 0;
    return 0;
}

static int parse_word(Hdr *H, const char *w) {
    size_t n = strlen(w);
    if (H->len - H->pos < n || memcmp(H->p + H->pos, w, n) != 0) return -1;
    /* "Trueish" is not True */
    if (H->pos + n < H->len) {
        uint8_t c = H->p[H->pos + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return -1;
    }
    H->pos += n;
    return 0;
}

static int parse_bool(Hdr *H, int *out) {
    if (parse_word(H, "True") == 0)
        *out = 1;
    else if (parse_word(H, "False") == 0)
        *out = 0;
    else
        return hfail(H, "True or False");
    return 0;
}

/* "(2, 3)", "(3,)", "()", also "(3L,)" from Python 2 writers. "(3)" is the
 * integer 3 in Python, not a tuple, and numpy rejects it, so do we. */
static int parse_shape(Hdr *H, int *ndim, int64_t *shape) {
    if (!peek(H, '(')) return hfail(H, "a shape tuple such as (3, 4)");
    H->pos++;
    int n = 0, commas = 0;
    for (;;) {
        skip_ws(H);
        if (peek(H, ')')) break;
        if (n > commas) return hfail(H, "',' or ')' in the shape tuple");
        if (H->pos >= H->len || H->p[H->pos] < '0' || H->p[H->pos] > '9')
            return hfail(H, "a non-negative integer in the shape tuple");
        if (n == NC_NPY_MAXDIM)
            return nc_errorf(H->e, "%s: array has more than %d dimensions, which netc does not support", H->path,
                             NC_NPY_MAXDIM);
        int64_t v = 0;
        while (H->pos < H->len && H->p[H->pos] >= '0' && H->p[H->pos] <= '9') {
            int d = H->p[H->pos++] - '0';
            if (v > (INT64_MAX - d) / 10) return hfail(H, "a dimension that fits in 64 bits");
            v = v * 10 + d;
        }
        if (peek(H, 'L') || peek(H, 'l')) H->pos++;
        shape[n++] = v;
        skip_ws(H);
        if (peek(H, ',')) {
            H->pos++;
            commas++;
        }
    }
    if (n == 1 && commas == 0) return hfail(H, "a tuple: a 1-d shape is written (N,) with a comma");
    H->pos++;
    *ndim = n;
    return 0;
}

enum { DT_F4 = 1, DT_F8 = 2 };

static int check_descr(const char *path, const char *d, int *dt, NcError *e) {
    if (strcmp(d, "<f4") == 0)
        *dt = DT_F4;
    else if (strcmp(d, "<f8") == 0)
        *dt = DT_F8;
    else if (d[0] == '>' && (strcmp(d + 1, "f4") == 0 || strcmp(d + 1, "f8") == 0))
        return nc_errorf(e,
                         "%s: big-endian data ('%s') is not supported; save it as little-endian, e.g. "
                         "arr.astype('<f4')",
                         path, d);
    else
        return nc_errorf(e, "%s: dtype '%s' is not supported; netc reads '<f4' (float32) and '<f8' (float64)", path, d);
    return 0;
}

static void fmt_shape(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int k = 0; k < ndim && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, k ? ", " : "", shape[k]);
    if (o < cap) snprintf(buf + o, cap - o, ndim == 1 ? ",)" : ")");
}

static int parse_header(Hdr *H, int *dt, NcNpy *out) {
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0, fortran = 0;
    char descr[64];
    skip_ws(H);
    if (!peek(H, '{')) return hfail(H, "'{' starting the header dict");
    H->pos++;
    for (;;) {
        skip_ws(H);
        if (peek(H, '}')) break;
        char key[64];
        if (parse_str(H, key, sizeof key) != 0) return -1;
        skip_ws(H);
        if (!peek(H, ':')) return hfail(H, "':' after a key");
        H->pos++;
        skip_ws(H);
        int *seen = strcmp(key, "descr") == 0           ? &seen_descr
                    : strcmp(key, "fortran_order") == 0 ? &seen_fortran
                    : strcmp(key, "shape") == 0         ? &seen_shape
                                                        : NULL;
        if (!seen)
            return nc_errorf(H->e, "%s: unexpected key '%s' in the .npy header (expected descr, fortran_order, shape)",
                             H->path, key);
        if (*seen) return nc_errorf(H->e, "%s: key '%s' appears twice in the .npy header", H->path, key);
        *seen = 1;
        if (seen == &seen_descr) {
            if (peek(H, '['))
                return nc_errorf(H->e, "%s: structured dtypes are not supported; netc reads '<f4' and '<f8'", H->path);
            if (parse_str(H, descr, sizeof descr) != 0) return -1;
        } else if (seen == &seen_fortran) {
            if (parse_bool(H, &fortran) != 0) return -1;
        } else if (parse_shape(H, &out->ndim, out->shape) != 0)
            return -1;
        skip_ws(H);
        if (peek(H, ','))
            H->pos++;
        else if (!peek(H, '}'))
            return hfail(H, "',' or '}' after a value");
    }
    H->pos++;
    skip_ws(H);
    if (H->pos != H->len) return hfail(H, "only whitespace after the header dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return nc_errorf(H->e, "%s: the .npy header lacks '%s'", H->path,
                         !seen_descr     ? "descr"
                         : !seen_fortran ? "fortran_order"
                                         : "shape");
    if (check_descr(H->path, descr, dt, H->e) != 0) return -1;
    if (fortran)
        return nc_errorf(H->e,
                         "%s: Fortran-order arrays are not supported; save a C-order copy, e.g. "
                         "np.ascontiguousarray(arr)",
                         H->path);
    return 0;
}

int nc_npy_parse(const uint8_t *buf, size_t len, const char *path_for_messages, NcNpy *out, NcError *e) {
    const char *path = path_for_messages ? path_for_messages : "<memory>";
    memset(out, 0, sizeof *out);
    if (len < 6 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return nc_errorf(e, "%s: not a .npy file (it does not start with \"\\x93NUMPY\")", path);
    if (len < 10) return nc_errorf(e, "%s: file ends inside the .npy header", path);
    int major = buf[6], minor = buf[7];
    size_t hlen, hstart;
    if (major == 1 && minor == 0) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12) return nc_errorf(e, "%s: file ends inside the .npy header", path);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else
        return nc_errorf(e, "%s: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", path, major,
                         minor);
    if (hlen > len - hstart)
        return nc_errorf(e, "%s: the .npy header length %zu runs past the end of the file (%zu bytes)", path, hlen,
                         len);

    Hdr H = {buf + hstart, hlen, 0, path, e};
    int dt = 0;
    NcNpy a = {0};
    if (parse_header(&H, &dt, &a) != 0) return -1;

    char shs[256];
    fmt_shape(a.shape, a.ndim, shs, sizeof shs);
    size_t item = dt == DT_F4 ? 4 : 8;
    /* Checked: a hostile shape must not wrap around to a small size. */
    uint64_t numel = 1;
    int any_zero = 0;
    for (int k = 0; k < a.ndim; k++) any_zero |= a.shape[k] == 0;
    for (int k = 0; k < a.ndim && !any_zero; k++) {
        if (numel > (uint64_t)INT64_MAX / item / (uint64_t)a.shape[k])
            return nc_errorf(e, "%s: shape %s has too many elements", path, shs);
        numel *= (uint64_t)a.shape[k];
    }
    if (any_zero) numel = 0;
    uint64_t need = numel * item, have = (uint64_t)(len - hstart - hlen);
    const char *dname = dt == DT_F4 ? "<f4" : "<f8";
    if (have < need)
        return nc_errorf(
            e, "%s: data is truncated: shape %s of %s needs %" PRIu64 " bytes, only %" PRIu64 " follow the header",
            path, shs, dname, need, have);
    if (have > need)
        return nc_errorf(e,
                         "%s: %" PRIu64 " bytes follow the header, but shape %s of %s needs only %" PRIu64
                         " (extra data at the end)",
                         path, have, shs, dname, need);

    const uint8_t *p = buf + hstart + hlen;
    a.numel = (int64_t)numel;
    a.data = nc_malloc((size_t)numel * sizeof(float));
    if (dt == DT_F4) {
        if (numel) memcpy(a.data, p, (size_t)numel * 4);
    } else {
        for (size_t k = 0; k < (size_t)numel; k++) {
            double v;
            memcpy(&v, p + 8 * k, 8);
            if (isfinite(v) && fabs(v) >= 0x1.ffffffp127) { /* would round to inf */
                free(a.data);
                return nc_errorf(e, "%s: float64 value %g at index %zu is outside the float32 range", path, v, k);
            }
            a.data[k] = (float)v;
        }
    }
    *out = a;
    return 0;
}

int nc_npy_read(const char *path, NcNpy *out, NcError *e) {
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (nc_read_file_max(path, NC_LIMIT_NPY, "a .npy file", &buf, &len, e) != 0) return -1;
    int rc = nc_npy_parse((const uint8_t *)buf, len, path, out, e);
    free(buf);
    return rc;
}

uint8_t *nc_npy_encode_f32(const char *path, int ndim, const int64_t *shape, const float *data, size_t *out_size,
                           NcError *e) {
    if (ndim < 0 || ndim > NC_NPY_MAXDIM) {
        nc_errorf(e, "%s: cannot write a %d-dimensional array (0 to %d are supported)", path, ndim, NC_NPY_MAXDIM);
        return NULL;
    }
    uint64_t numel = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0) {
            nc_errorf(e, "%s: negative dimension %" PRId64 " in shape", path, shape[k]);
            return NULL;
        }
        if (shape[k] && numel > (uint64_t)(SIZE_MAX / 8) / (uint64_t)shape[k]) {
            nc_errorf(e, "%s: array too large to write", path);
            return NULL;
        }
        numel *= (uint64_t)shape[k];
    }
    if (numel && !data) {
        nc_errorf(e, "%s: no data to write", path);
        return NULL;
    }
    char dict[512], shs[256];
    fmt_shape(shape, ndim, shs, sizeof shs);
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shs);
    /* magic(6) + version(2) + length(2) + dict + spaces + '\n' is a multiple
     * of 64, as numpy writes it, so the data is aligned for mmap readers. */
    size_t hlen = (size_t)dl + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    size_t size = 10 + hlen + (size_t)numel * 4;
    uint8_t *file = nc_malloc(size);
    memcpy(file, "\x93NUMPY\x01\x00", 8);
    file[8] = (uint8_t)(hlen & 0xFF);
    file[9] = (uint8_t)(hlen >> 8);
    memcpy(file + 10, dict, (size_t)dl);
    memset(file + 10 + dl, ' ', hlen - (size_t)dl - 1);
    file[10 + hlen - 1] = '\n';
    if (numel) memcpy(file + 10 + hlen, data, (size_t)numel * 4);
    *out_size = size;
    return file;
}

int nc_npy_write_f32(const char *path, int ndim, const int64_t *shape, const float *data, NcError *e) {
    size_t size;
    uint8_t *file = nc_npy_encode_f32(path, ndim, shape, data, &size, e);
    if (!file) return -1;
    int rc = nc_write_file_atomic(path, file, size, e);
    free(file);
    return rc;
}

void nc_npy_free(NcNpy *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
