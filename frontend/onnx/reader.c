/* reader.c — TensorProtos into constants: typed fields, raw_data (little
 * endian, as ONNX stores it) and external data files, each checked against
 * its dims before a byte is used. */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_int.h"

/* counted: a constant the import computes (the file's own tensors are not counted against the limit) */
static void tensor_alloc(Ox *X, OxTensor *t, int is_int, int ndim, const int64_t *shape, int counted) {
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > NC_MAXDIM) ox_fail(X, "a tensor of %d dimensions (netc takes at most %d)", ndim, NC_MAXDIM);
    if (!nc_shape_fits(ndim, shape)) ox_fail(X, "a tensor's dimensions are negative or too large");
    t->is_int = is_int, t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->n = 1;
    for (int d = 0; d < ndim; d++) t->n *= shape[d];
    /* constants are read whole into memory: keep them below 4 GB */
    if (t->n > ((int64_t)1 << 29)) ox_fail(X, "a constant of %lld elements is too large", (long long)t->n);
    size_t bytes = (size_t)(t->n ? t->n : 1) * (is_int ? sizeof(int64_t) : sizeof(float));
    const uint64_t limit = X->opt->memory_limit ? X->opt->memory_limit : OX_MADE_LIMIT;
    if (counted && X->made_bytes + bytes > limit)
        ox_fail(X, "the constants computed while importing would take more than %llu MB",
                (unsigned long long)(limit >> 20));
    X->made_bytes += counted ? bytes : 0;
    void *p = ox_alloc(X, bytes);
    memset(p, 0, bytes);
    if (is_int)
        t->i = p;
    else
        t->f = p;
}

void ox_tensor_new(Ox *X, OxTensor *t, int is_int, int ndim, const int64_t *shape) {
    tensor_alloc(X, t, is_int, ndim, shape, 1);
}

/* The bytes of an external tensor: "location" relative to the model's folder,
 * which it must not leave (no absolute path, no "..", no symbolic link out). */
static uint8_t *external_bytes(Ox *X, const Onnx__TensorProto *t, size_t want) {
    const char *loc = NULL;
    int64_t offset = 0, length = -1;
    for (size_t k = 0; k < t->n_external_data; k++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[k];
        if (!kv->key || !kv->value) continue;
        char *end;
        if (!strcmp(kv->key, "location")) loc = kv->value;
        if (!strcmp(kv->key, "offset") && ((offset = strtoll(kv->value, &end, 10)) < 0 || *end))
            ox_fail(X, "tensor '%s': external data offset '%s' is not a non-negative integer", t->name, kv->value);
        if (!strcmp(kv->key, "length") && ((length = strtoll(kv->value, &end, 10)) < 0 || *end))
            ox_fail(X, "tensor '%s': external data length '%s' is not a non-negative integer", t->name, kv->value);
    }
    if (!loc || !loc[0]) ox_fail(X, "tensor '%s': external data without a location", t->name);
    if (!X->dir) ox_fail(X, "tensor '%s': external data ('%s') is not read here", t->name, loc);
    if (loc[0] == '/' || !strcmp(loc, "..") || !strncmp(loc, "../", 3) || strstr(loc, "/../") ||
        (strlen(loc) >= 3 && !strcmp(loc + strlen(loc) - 3, "/..")))
        ox_fail(X, "tensor '%s': external data path '%s' leaves the model's folder", t->name, loc);
    if (length >= 0 && (size_t)length != want)
        ox_fail(X, "tensor '%s': external data length %lld, its dims need %zu bytes", t->name, (long long)length, want);
    char *path = ox_alloc(X, strlen(X->dir) + strlen(loc) + 2);
    sprintf(path, "%s/%s", X->dir, loc);
    /* a symbolic link may still point out: compare the resolved paths */
    char *rdir = realpath(X->dir, NULL), *rpath = realpath(path, NULL);
    int inside = rdir && rpath && !strncmp(rpath, rdir, strlen(rdir)) && rpath[strlen(rdir)] == '/';
    free(rdir);
    free(rpath);
    if (!inside)
        ox_fail(X, "tensor '%s': external data file '%s' is missing or outside the model's folder", t->name, loc);
    FILE *f = fopen(path, "rb");
    if (!f) ox_fail(X, "tensor '%s': cannot open external data file '%s'", t->name, loc);
    /* the file must hold the bytes before any memory is given to them */
    off_t size = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
    uint8_t *buf = NULL;
    int ok = size >= 0 && (uint64_t)offset <= (uint64_t)size && want <= (uint64_t)size - (uint64_t)offset;
    if (ok) buf = ox_alloc(X, want ? want : 1);
    ok = ok && fseeko(f, (off_t)offset, SEEK_SET) == 0 && fread(buf, 1, want, f) == want;
    fclose(f);
    if (!ok)
        ox_fail(X, "tensor '%s': external data file '%s' has no %zu bytes at offset %lld", t->name, loc, want,
                (long long)offset);
    return buf;
}

static size_t elem_size(int dtype) {
    switch (dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 1;
    default: return 0;
    }
}

void ox_tensor_read(Ox *X, const Onnx__TensorProto *t, OxTensor *out) {
    const char *name = t->name ? t->name : "";
    int dtype = t->has_data_type ? t->data_type : 0;
    size_t es = elem_size(dtype);
    if (!es)
        ox_fail(X, "tensor '%s': data type %d is not supported (float, double, int8/32/64, uint8, bool are)", name,
                dtype);
    if (t->n_dims > NC_MAXDIM) ox_fail(X, "tensor '%s' has %zu dimensions (at most %d)", name, t->n_dims, NC_MAXDIM);
    int is_float = dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    for (size_t d = 0; d < t->n_dims; d++)
        if (t->dims[d] < 0) ox_fail(X, "tensor '%s' has a negative dimension", name);
    if (!nc_shape_fits((int)t->n_dims, t->dims)) ox_fail(X, "tensor '%s': its dimensions are too large", name);
    int64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) n *= t->dims[d];
    /* the data must be there before memory is given to it (a few bytes of dims must not cost gigabytes) */
    const int external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const size_t have = external || t->has_raw_data                      ? (external ? (size_t)n : t->raw_data.len / es)
                        : dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT  ? t->n_float_data
                        : dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                        : dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                                                                         : t->n_int32_data;
    if (!external && t->has_raw_data && t->raw_data.len != (size_t)n * es)
        ox_fail(X, "tensor '%s': raw_data holds %zu bytes, its dims need %lld", name, t->raw_data.len,
                (long long)n * (long long)es);
    if (have != (size_t)n)
        ox_fail(X, "tensor '%s': its data does not hold the %lld elements its dims say", name, (long long)n);
    const uint8_t *raw = NULL;
    if (external) {
        if ((uint64_t)n * es > ((uint64_t)1 << 31)) ox_fail(X, "tensor '%s': external data over 2 GB", name);
        raw = external_bytes(X, t, (size_t)n * es);
    } else if (t->has_raw_data) {
        raw = t->raw_data.data;
    }
    tensor_alloc(X, out, !is_float, (int)t->n_dims, t->dims, 0);
    for (int64_t k = 0; k < n; k++) {
        double v = 0;
        int64_t iv = 0;
        if (raw) {
            const uint8_t *p = raw + (size_t)k * es;
            /* ONNX's raw data is little endian, as is every host netc targets */
            if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
                float f;
                memcpy(&f, p, 4), v = f;
            } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
                memcpy(&v, p, 8);
            } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
                memcpy(&iv, p, 8);
            } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
                int32_t i32;
                memcpy(&i32, p, 4), iv = i32;
            } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8) {
                iv = (int8_t)p[0];
            } else {
                iv = p[0];
            }
        } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            if (t->n_float_data != (size_t)n) goto count;
            v = t->float_data[k];
        } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
            if (t->n_double_data != (size_t)n) goto count;
            v = t->double_data[k];
        } else if (dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
            if (t->n_int64_data != (size_t)n) goto count;
            iv = t->int64_data[k];
        } else {
            /* int32, int8, uint8 and bool live in int32_data */
            if (t->n_int32_data != (size_t)n) goto count;
            iv = t->int32_data[k];
        }
        if (is_float)
            out->f[k] = (float)v;
        else
            out->i[k] = iv;
    }
    return;
count:
    ox_fail(X, "tensor '%s': its data does not hold the %lld elements its dims say", name, (long long)n);
}
