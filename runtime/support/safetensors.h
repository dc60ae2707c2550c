/* safetensors.h — reader and writer of the safetensors weight format.
 *
 * Layout: 8-byte little-endian header length N; N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the data section that follows the header), plus an optional
 * "__metadata__" string-to-string map; then the data section.
 *
 * The reader validates everything the reference implementation (the Rust
 * `safetensors` crate) validates, so a file it accepts is safe to index:
 * every tensor's bytes lie inside the data section, match numel * dtype size,
 * and the tensors tile the data section exactly (no gaps, no overlaps, no
 * trailing bytes). Data is little-endian; netc assumes a little-endian host.
 */
#ifndef NETC_SAFETENSORS_H
#define NETC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/support/base.h"

#define NC_ST_MAXDIM     8
/* Larger headers are rejected as corrupt, as the reference reader does. */
#define NC_ST_MAX_HEADER 100000000u

typedef enum {
    NC_ST_F32,
    NC_ST_F16,
    NC_ST_BF16,
    NC_ST_F64,
    NC_ST_I64,
    NC_ST_I32,
    NC_ST_I16,
    NC_ST_I8,
    NC_ST_U64,
    NC_ST_U32,
    NC_ST_U16,
    NC_ST_U8,
    NC_ST_BOOL,
    NC_ST_F8_E5M2,
    NC_ST_F8_E4M3,
    NC_ST_F8_E8M0,
    NC_ST_F6_E2M3, /* 6 bits, packed */
    NC_ST_F6_E3M2, /* 6 bits, packed */
    NC_ST_F4,      /* 4 bits, packed */
    NC_ST_C64,     /* complex of two f32 */
    NC_ST_NDTYPES
} NcStDtype;

typedef struct {
    char *name; /* never contains NUL (such names are rejected) */
    NcStDtype dtype;
    int ndim;
    int64_t shape[NC_ST_MAXDIM];
    int64_t numel;       /* product of shape; 1 for a 0-d tensor */
    uint64_t begin, end; /* byte offsets into the data section */
} NcStTensor;

typedef struct {
    char *path;          /* for messages */
    const uint8_t *data; /* the whole file */
    size_t size;
    size_t data_start;   /* 8 + header length: where the data section begins */
    NcStTensor *tensors; /* in header order */
    int ntensors;
    char **meta_keys, **meta_values; /* "__metadata__", in header order */
    int nmeta;
    uint8_t *owned; /* the buffer nc_st_open read, freed by nc_st_close */
} NcSafetensors;

/* Read and validate a whole file. */
int nc_st_open(const char *path, NcSafetensors *st, NcError *e);

/* Validate a file image in memory. `buf` is not copied: it must outlive st.
 * `path_for_messages` may be NULL. */
int nc_st_parse(const uint8_t *buf, size_t len, const char *path_for_messages, NcSafetensors *st, NcError *e);

/* The tensor called `name`, or NULL. */
const NcStTensor *nc_st_find(const NcSafetensors *st, const char *name);

/* The value of "__metadata__" key `key`, or NULL. */
const char *nc_st_meta(const NcSafetensors *st, const char *key);

/* Convert tensor t to f32 into dst (t->numel floats). F32, F16 and BF16 are
 * exact; F64 rounds to nearest, and a finite value beyond the f32 range is an
 * error. Any other dtype is an error naming the tensor and dtype. */
int nc_st_read_f32(const NcSafetensors *st, const NcStTensor *t, float *dst, NcError *e);

/* Free what nc_st_open / nc_st_parse allocated; st is zeroed (safe twice). */
void nc_st_close(NcSafetensors *st);

/* Write n F32 tensors atomically (temporary file + rename). The header is
 * padded with spaces to a multiple of 8, so the data section starts 8-byte
 * aligned; tensors follow each other without gaps, as the format requires
 * (gaps are rejected by the reference reader), and so each f32 tensor is
 * 4-byte aligned. Names must be distinct, valid UTF-8, without NUL and not
 * "__metadata__"; shapes[i] has ndims[i] (0..8) non-negative entries. */
int nc_st_write_f32(const char *path, int n, const char *const *names, const int *ndims, const int64_t *const *shapes,
                    const float *const *data, NcError *e);

const char *nc_st_dtype_name(NcStDtype d);
int nc_st_dtype_bits(NcStDtype d); /* bits per element */

#endif
