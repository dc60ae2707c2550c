/* npy.h — NumPy .npy files (format versions 1.0, 2.0, 3.0) as f32 arrays.
 *
 * netc reads .npy for test inputs and reference outputs, so the reader takes
 * what numpy's np.save writes for float arrays: little-endian '<f4' (kept
 * exactly) or '<f8' (rounded to nearest f32; a finite value beyond the f32
 * range is an error), C order. Anything else — big-endian, Fortran order,
 * other dtypes — is rejected with a message naming the file. The data must be
 * exactly as long as the shape says. Little-endian host assumed.
 */
#ifndef NETC_NPY_H
#define NETC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/support/base.h"

#define NC_NPY_MAXDIM 8

typedef struct {
    int ndim;
    int64_t shape[NC_NPY_MAXDIM];
    int64_t numel; /* product of shape; 1 for a 0-d array */
    float *data;   /* numel floats, C order */
} NcNpy;

/* Read a whole .npy file. On failure *out is zeroed. */
int nc_npy_read(const char *path, NcNpy *out, NcError *e);

/* Parse a .npy image in memory (the data is copied); `path_for_messages` may
 * be NULL. On failure *out is zeroed. */
int nc_npy_parse(const uint8_t *buf, size_t len, const char *path_for_messages, NcNpy *out, NcError *e);

/* Write a '<f4' array atomically, in format 1.0 as np.save does, header
 * padded so the data starts 64-byte aligned. ndim is 0..8; shape may be NULL
 * when ndim is 0. */
int nc_npy_write_f32(const char *path, int ndim, const int64_t *shape, const float *data, NcError *e);

/* The bytes nc_npy_write_f32 writes, malloc'd (*size of them), for a caller
 * that writes them with other files (file_out.h); NULL on error (messages
 * name path). */
uint8_t *nc_npy_encode_f32(const char *path, int ndim, const int64_t *shape, const float *data, size_t *size,
                           NcError *e);

/* Free the data; *a is zeroed (safe twice). */
void nc_npy_free(NcNpy *a);

#endif
