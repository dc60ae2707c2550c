/* safetensors.c — see safetensors.h. Tensor data is little-endian in the
 * file and is copied with memcpy, so this code assumes a little-endian host
 * (x86-64, AArch64); the header length is decoded byte by byte regardless. */
#include "runtime/support/safetensors.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/support/file_in.h"
#include "runtime/support/json.h"

static const struct {
    const char *name;
    int bits;
} dtype_info[NC_ST_NDTYPES] = {
    [NC_ST_F32] = {"F32", 32},        [NC_ST_F16] = {"F16", 16},        [NC_ST_BF16] = {"BF16", 16},
    [NC_ST_F64] = {"F64", 64},        [NC_ST_I64] = {"I64", 64},        [NC_ST_I32] = {"I32", 32},
    [NC_ST_I16] = {"I16", 16},        [NC_ST_I8] = {"I8", 8},           [NC_ST_U64] = {"U64", 64},
    [NC_ST_U32] = {"U32", 32},        [NC_ST_U16] = {"U16", 16},        [NC_ST_U8] = {"U8", 8},
    [NC_ST_BOOL] = {"BOOL", 8},       [NC_ST_F8_E5M2] = {"F8_E5M2", 8}, [NC_ST_F8_E4M3] = {"F8_E4M3", 8},
    [NC_ST_F8_E8M0] = {"F8_E8M0", 8}, [NC_ST_F6_E2M3] = {"F6_E2M3", 6}, [NC_ST_F6_E3M2] = {"F6_E3M2", 6},
    [NC_ST_F4] = {"F4", 4},           [NC_ST_C64] = {"C64", 64},
};

const char *nc_st_dtype_name(NcStDtype d) { return (unsigned)d < NC_ST_NDTYPES ? dtype_info[d].name : "?"; }
int nc_st_dtype_bits(NcStDtype d) { return (unsigned)d < NC_ST_NDTYPES ? dtype_info[d].bits : 0; }

/* "[2, 3]" into buf, for messages. */
static void fmt_shape(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < ndim && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, k ? ", " : "", shape[k]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* "an array", "a number": the type of a JSON value, for messages. */
static const char *a_type(const NcJson *v) {
    switch (v->type) {
    case NC_JSON_NULL: return "null";
    case NC_JSON_BOOL: return "a boolean";
    case NC_JSON_NUMBER: return "a number";
    case NC_JSON_STRING: return "a string";
    case NC_JSON_ARRAY: return "an array";
    case NC_JSON_OBJECT: return "an object";
    }
    return "?";
}

/* A JSON value that is an integer in [0, INT64_MAX]. */
static int get_uint(const NcJson *v, int64_t *out) {
    if (v->type != NC_JSON_NUMBER || !v->is_int || v->i < 0) return -1;
    *out = v->i;
    return 0;
}

/* ---- reading ----------------------------------------------------------- */

static int parse_tensor(const char *path, const NcJsonMember *m, uint64_t data_size, NcStTensor *t, NcError *e) {
    char nm[160];
    nc_json_snip(nm, sizeof nm, m->key, m->keylen);
    if (memchr(m->key, 0, m->keylen)) return nc_errorf(e, "%s: tensor '%s': name contains a NUL character", path, nm);
    t->name = nc_strdup(m->key);
    const NcJson *v = &m->value;
    if (v->type != NC_JSON_OBJECT)
        return nc_errorf(e, "%s: tensor '%s': entry is %s, expected an object with dtype, shape and data_offsets", path,
                         nm, a_type(v));

    const NcJson *dt = nc_json_get(v, "dtype");
    if (!dt) return nc_errorf(e, "%s: tensor '%s': missing \"dtype\"", path, nm);
    if (dt->type != NC_JSON_STRING)
        return nc_errorf(e, "%s: tensor '%s': \"dtype\" is %s, expected a string such as \"F32\"", path, nm,
                         a_type(dt));
    int d = 0;
    while (d < NC_ST_NDTYPES && !(strlen(dtype_info[d].name) == dt->slen && strcmp(dtype_info[d].name, dt->s) == 0))
        d++;
    if (d == NC_ST_NDTYPES) {
        char ds[64];
        nc_json_snip(ds, sizeof ds, dt->s, dt->slen);
        return nc_errorf(e, "%s: tensor '%s': unknown dtype \"%s\"", path, nm, ds);
    }
    t->dtype = (NcStDtype)d;

    const NcJson *sh = nc_json_get(v, "shape");
    if (!sh) return nc_errorf(e, "%s: tensor '%s': missing \"shape\"", path, nm);
    if (sh->type != NC_JSON_ARRAY)
        return nc_errorf(e, "%s: tensor '%s': \"shape\" is %s, expected an array of integers", path, nm, a_type(sh));
    if (sh->n > NC_ST_MAXDIM)
        return nc_errorf(e, "%s: tensor '%s': shape has %d dimensions; at most %d are supported", path, nm, sh->n,
                         NC_ST_MAXDIM);
    t->ndim = sh->n;
    int any_zero = 0;
    for (int k = 0; k < sh->n; k++) {
        if (get_uint(&sh->items[k], &t->shape[k]) != 0)
            return nc_errorf(e, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, nm, k);
        any_zero |= t->shape[k] == 0;
    }
    char shs[256];
    fmt_shape(t->shape, t->ndim, shs, sizeof shs);
    /* Checked multiplication: a hostile shape must not wrap around to a small
     * size that then passes the byte-length check. */
    int64_t numel = 1;
    for (int k = 0; k < t->ndim && !any_zero; k++) {
        if (numel > INT64_MAX / t->shape[k])
            return nc_errorf(e, "%s: tensor '%s': shape %s has too many elements (overflows 64 bits)", path, nm, shs);
        numel *= t->shape[k];
    }
    t->numel = any_zero ? 0 : numel;

    const NcJson *off = nc_json_get(v, "data_offsets");
    if (!off) return nc_errorf(e, "%s: tensor '%s': missing \"data_offsets\"", path, nm);
    int64_t b, en;
    if (off->type != NC_JSON_ARRAY || off->n != 2 || get_uint(&off->items[0], &b) != 0 ||
        get_uint(&off->items[1], &en) != 0)
        return nc_errorf(e, "%s: tensor '%s': \"data_offsets\" must be [begin, end] with two non-negative integers",
                         path, nm);
    t->begin = (uint64_t)b, t->end = (uint64_t)en;
    if (t->begin > t->end)
        return nc_errorf(e, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] has begin after end", path, nm,
                         t->begin, t->end);
    if (t->end > data_size)
        return nc_errorf(e,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                         "] run past the end of the data section (%" PRIu64 " bytes; file truncated?)",
                         path, nm, t->begin, t->end, data_size);
    uint64_t bits = (uint64_t)dtype_info[d].bits;
    if ((uint64_t)t->numel > UINT64_MAX / bits)
        return nc_errorf(e, "%s: tensor '%s': shape %s of %s is too large (byte size overflows)", path, nm, shs,
                         dtype_info[d].name);
    uint64_t nbits = (uint64_t)t->numel * bits;
    if (nbits % 8 != 0)
        return nc_errorf(e, "%s: tensor '%s': %" PRId64 " elements of %s do not fill a whole number of bytes", path, nm,
                         t->numel, dtype_info[d].name);
    if (t->end - t->begin != nbits / 8)
        return nc_errorf(e,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                         " bytes, but shape %s of %s needs %" PRIu64,
                         path, nm, t->begin, t->end, t->end - t->begin, shs, dtype_info[d].name, nbits / 8);
    return 0;
}

static int parse_metadata(const char *path, const NcJson *v, NcSafetensors *st, NcError *e) {
    if (v->type != NC_JSON_OBJECT)
        return nc_errorf(e, "%s: \"__metadata__\" is %s, expected an object of strings", path, a_type(v));
    st->meta_keys = nc_calloc((size_t)v->n, sizeof(char *));
    st->meta_values = nc_calloc((size_t)v->n, sizeof(char *));
    for (int k = 0; k < v->n; k++) {
        const NcJsonMember *m = &v->members[k];
        if (m->value.type != NC_JSON_STRING) {
            char nm[160];
            nc_json_snip(nm, sizeof nm, m->key, m->keylen);
            return nc_errorf(e, "%s: \"__metadata__\" entry '%s' is %s, expected a string", path, nm,
                             a_type(&m->value));
        }
        st->meta_keys[k] = nc_strdup(m->key);
        st->meta_values[k] = nc_strdup(m->value.s);
        st->nmeta = k + 1;
    }
    return 0;
}

static int cmp_by_offsets(const void *a, const void *b) {
    const NcStTensor *x = *(const NcStTensor *const *)a, *y = *(const NcStTensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The tensors must tile the data section exactly, as the format requires:
 * bytes that belong to no tensor, or to two, mean a corrupt (or crafted,
 * polyglot) file. */
static int check_layout(const NcSafetensors *st, uint64_t data_size, NcError *e) {
    if (st->ntensors == 0) {
        if (data_size != 0)
            return nc_errorf(e, "%s: no tensors, but %" PRIu64 " bytes follow the header", st->path, data_size);
        return 0;
    }
    const NcStTensor **idx = nc_malloc((size_t)st->ntensors * sizeof *idx);
    for (int k = 0; k < st->ntensors; k++) idx[k] = &st->tensors[k];
    qsort(idx, (size_t)st->ntensors, sizeof *idx, cmp_by_offsets);
    uint64_t pos = 0;
    const NcStTensor *prev = NULL;
    int rc = 0;
    for (int k = 0; k < st->ntensors && rc == 0; k++) {
        const NcStTensor *t = idx[k];
        char nm[160];
        if (t->begin != pos) nc_json_snip(nm, sizeof nm, t->name, strlen(t->name));
        if (t->begin > pos)
            rc = nc_errorf(e,
                           "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] leave bytes %" PRIu64 "..%" PRIu64
                           " of the data section unused (tensors must follow each other without gaps)",
                           st->path, nm, t->begin, t->end, pos, t->begin);
        else if (t->begin < pos) {
            char pn[160];
            nc_json_snip(pn, sizeof pn, prev->name, strlen(prev->name));
            rc = nc_errorf(e,
                           "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor '%s' [%" PRIu64
                           ", %" PRIu64 "]",
                           st->path, nm, t->begin, t->end, pn, prev->begin, prev->end);
        }
        pos = t->end;
        prev = t;
    }
    if (rc == 0 && pos != data_size)
        rc = nc_errorf(e,
                       "%s: the data section has %" PRIu64 " bytes but the tensors end at byte %" PRIu64
                       " (trailing bytes after the last tensor)",
                       st->path, data_size, pos);
    free(idx);
    return rc;
}

int nc_st_parse(const uint8_t *buf, size_t len, const char *path_for_messages, NcSafetensors *st, NcError *e) {
    memset(st, 0, sizeof *st);
    st->path = nc_strdup(path_for_messages ? path_for_messages : "<memory>");
    st->data = buf;
    st->size = len;
    const char *path = st->path;
    NcJson *root = NULL;
    char *jname = NULL;

    if (len < 8) {
        nc_errorf(e, "%s: file is only %zu bytes; a safetensors file starts with an 8-byte header length", path, len);
        goto fail;
    }
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--) n = n << 8 | buf[k];
    if (n > NC_ST_MAX_HEADER) {
        nc_errorf(e, "%s: header length %" PRIu64 " is over the %u-byte limit (not a safetensors file?)", path, n,
                  NC_ST_MAX_HEADER);
        goto fail;
    }
    if (n > len - 8) {
        nc_errorf(e, "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes; truncated?)", path, n,
                  len);
        goto fail;
    }
    st->data_start = 8 + (size_t)n;
    uint64_t data_size = (uint64_t)(len - st->data_start);

    jname = nc_sprintf("%s: JSON header", path);
    if (nc_json_parse((const char *)buf + 8, (size_t)n, jname, &root, e) != 0) goto fail;
    if (root->type != NC_JSON_OBJECT) {
        nc_errorf(e, "%s: JSON header is %s, expected an object", path, a_type(root));
        goto fail;
    }
    st->tensors = nc_calloc((size_t)root->n, sizeof *st->tensors);
    for (int k = 0; k < root->n; k++) {
        const NcJsonMember *m = &root->members[k];
        if (m->keylen == 12 && memcmp(m->key, "__metadata__", 12) == 0) {
            if (parse_metadata(path, &m->value, st, e) != 0) goto fail;
            continue;
        }
        /* Counted before it is filled, so close() frees a half-built name. */
        NcStTensor *t = &st->tensors[st->ntensors++];
        if (parse_tensor(path, m, data_size, t, e) != 0) goto fail;
    }
    if (check_layout(st, data_size, e) != 0) goto fail;
    nc_json_free(root);
    free(jname);
    return 0;

fail:
    nc_json_free(root);
    free(jname);
    nc_st_close(st);
    return -1;
}

int nc_st_open(const char *path, NcSafetensors *st, NcError *e) {
    char *buf;
    size_t len;
    memset(st, 0, sizeof *st);
    if (nc_read_file_max(path, NC_LIMIT_WEIGHTS, "a safetensors file", &buf, &len, e) != 0) return -1;
    if (nc_st_parse((const uint8_t *)buf, len, path, st, e) != 0) {
        free(buf);
        return -1;
    }
    st->owned = (uint8_t *)buf;
    return 0;
}

void nc_st_close(NcSafetensors *st) {
    if (!st) return;
    for (int k = 0; k < st->ntensors; k++) free(st->tensors[k].name);
    free(st->tensors);
    for (int k = 0; k < st->nmeta; k++) {
        free(st->meta_keys[k]);
        free(st->meta_values[k]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
    free(st->owned);
    memset(st, 0, sizeof *st);
}

const NcStTensor *nc_st_find(const NcSafetensors *st, const char *name) {
    for (int k = 0; k < st->ntensors; k++)
        if (strcmp(st->tensors[k].name, name) == 0) return &st->tensors[k];
    return NULL;
}

const char *nc_st_meta(const NcSafetensors *st, const char *key) {
    for (int k = 0; k < st->nmeta; k++)
        if (strcmp(st->meta_keys[k], key) == 0) return st->meta_values[k];
    return NULL;
}

/* ---- conversion to f32 ------------------------------------------------- */

static float bits_to_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* IEEE binary16 -> binary32 is exact: every half value is a float. */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float f = (float)man * 0x1p-24f;
        uint32_t b;
        memcpy(&b, &f, 4);
        return bits_to_f32(b | sign);
    }
    if (exp == 31) return bits_to_f32(sign | 0x7F800000u | man << 13); /* inf, NaN (payload kept) */
    return bits_to_f32(sign | (exp + 112) << 23 | man << 13);
}

int nc_st_read_f32(const NcSafetensors *st, const NcStTensor *t, float *dst, NcError *e) {
    /* Cheap insurance against a tensor from another (or a closed) file. */
    uint64_t want = (uint64_t)t->numel * (uint64_t)nc_st_dtype_bits(t->dtype) / 8;
    if (st->data_start > st->size || t->begin > t->end || t->end > st->size - st->data_start ||
        t->end - t->begin != want)
        return nc_errorf(e, "%s: tensor '%s' does not belong to this file", st->path ? st->path : "?",
                         t->name ? t->name : "?");
    const uint8_t *p = st->data + st->data_start + t->begin;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case NC_ST_F32: memcpy(dst, p, n * 4); return 0;
    case NC_ST_F16:
        for (size_t k = 0; k < n; k++) dst[k] = f16_to_f32((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        return 0;
    case NC_ST_BF16:
        for (size_t k = 0; k < n; k++) dst[k] = bits_to_f32((uint32_t)(p[2 * k] | p[2 * k + 1] << 8) << 16);
        return 0;
    case NC_ST_F64:
        for (size_t k = 0; k < n; k++) {
            double v;
            memcpy(&v, p + 8 * k, 8);
            if (isfinite(v) && fabs(v) >= 0x1.ffffffp127 /* rounds to inf */)
                return nc_errorf(e, "%s: tensor '%s': F64 value %g at index %zu is outside the f32 range", st->path,
                                 t->name, v, k);
            dst[k] = (float)v;
        }
        return 0;
    default:
        return nc_errorf(e, "%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 can be read as f32", st->path,
                         t->name, nc_st_dtype_name(t->dtype));
    }
}

/* ---- writing ----------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        b->p = nc_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int nc_st_write_f32(const char *path, int n, const char *const *names, const int *ndims, const int64_t *const *shapes,
                    const float *const *data, NcError *e) {
    if (n < 0) return nc_errorf(e, "%s: cannot write %d tensors", path, n);
    Buf h = {0};
    uint64_t *bytes = nc_calloc((size_t)n + 1, sizeof *bytes);
    uint64_t total = 0;
    int rc = -1;
    buf_str(&h, "{");
    for (int i = 0; i < n; i++) {
        const char *nm = names[i];
        if (!nm) {
            nc_errorf(e, "%s: tensor %d has no name", path, i);
            goto out;
        }
        char *q = nc_json_quote(nm, strlen(nm));
        if (!q || strcmp(nm, "__metadata__") == 0) {
            free(q);
            char sn[160];
            nc_json_snip(sn, sizeof sn, nm, strlen(nm));
            nc_errorf(e, "%s: tensor name '%s' is %s", path, sn,
                      q ? "reserved for the file's metadata" : "not valid UTF-8");
            goto out;
        }
        if (ndims[i] < 0 || ndims[i] > NC_ST_MAXDIM) {
            free(q);
            nc_errorf(e, "%s: tensor '%s': %d dimensions; 0 to %d are supported", path, nm, ndims[i], NC_ST_MAXDIM);
            goto out;
        }
        uint64_t numel = 1;
        for (int k = 0; k < ndims[i]; k++) {
            int64_t s = shapes[i][k];
            if (s < 0 || (s > 0 && numel > (UINT64_MAX / 4) / (uint64_t)s)) {
                free(q);
                nc_errorf(e, "%s: tensor '%s': bad dimension %" PRId64 " in shape", path, nm, s);
                goto out;
            }
            numel *= (uint64_t)s;
        }
        bytes[i] = numel * 4;
        if (bytes[i] && !data[i]) {
            free(q);
            nc_errorf(e, "%s: tensor '%s': no data", path, nm);
            goto out;
        }
        if (total > UINT64_MAX - bytes[i] || total + bytes[i] > (uint64_t)SIZE_MAX / 2) {
            free(q);
            nc_errorf(e, "%s: tensors too large to write", path);
            goto out;
        }
        char num[64];
        if (i) buf_str(&h, ",");
        buf_str(&h, q);
        free(q);
        buf_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int k = 0; k < ndims[i]; k++) {
            snprintf(num, sizeof num, "%s%" PRId64, k ? "," : "", shapes[i][k]);
            buf_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", total, total + bytes[i]);
        buf_str(&h, num);
        total += bytes[i];
    }
    buf_str(&h, "}");
    while (h.len % 8) buf_str(&h, " "); /* the data section starts 8-byte aligned */

    /* Distinct names: a duplicate would make the JSON header ambiguous. */
    if (n > 1) {
        const char **sorted = nc_malloc((size_t)n * sizeof *sorted);
        memcpy(sorted, names, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str_ptr);
        for (int i = 1; i < n; i++)
            if (strcmp(sorted[i], sorted[i - 1]) == 0) {
                char sn[160];
                nc_json_snip(sn, sizeof sn, sorted[i], strlen(sorted[i]));
                nc_errorf(e, "%s: tensor name '%s' appears twice", path, sn);
                free(sorted);
                goto out;
            }
        free(sorted);
    }

    size_t size = 8 + h.len + (size_t)total;
    uint8_t *file = nc_malloc(size);
    for (int k = 0; k < 8; k++) file[k] = (uint8_t)((uint64_t)h.len >> (8 * k));
    memcpy(file + 8, h.p, h.len);
    size_t o = 8 + h.len;
    for (int i = 0; i < n; i++) {
        if (bytes[i]) memcpy(file + o, data[i], (size_t)bytes[i]);
        o += (size_t)bytes[i];
    }
    rc = nc_write_file_atomic(path, file, size, e);
    free(file);
out:
    free(h.p);
    free(bytes);
    return rc;
}
