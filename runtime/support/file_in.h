/* file_in.h — opening the files netc reads so that a hostile name cannot hang
 * it or make it eat memory: a FIFO, a device or a directory given where a file
 * is meant is refused before a read can block ("x.npy: not a regular file (a
 * FIFO)"), and a regular file over the limit for its kind is refused by its
 * size before anything is allocated.  nc_read_file (base.h) is the text-file
 * case of nc_read_file_max. */
#ifndef NETC_FILE_IN_H
#define NETC_FILE_IN_H

#include <sys/types.h>

#include "runtime/support/base.h"

/* Upper bounds by kind of file, in bytes. */
#define NC_LIMIT_TEXT    ((uint64_t)64 << 20) /* .nn sources, class names */
#define NC_LIMIT_LIST    ((uint64_t)1 << 30)  /* eval / classify --list files */
#define NC_LIMIT_NPY     ((uint64_t)4 << 30)  /* .npy inputs and references */
#define NC_LIMIT_WEIGHTS ((uint64_t)16 << 30) /* .safetensors, PROGRAM.weights */
#define NC_LIMIT_IMAGE   ((uint64_t)2 << 30)  /* one JPEG or PNG */

/* "a FIFO", "a directory", "a character device", ... for a st_mode. */
const char *nc_file_kind(mode_t mode);

/* Opens path for reading: never blocks on open, refuses anything but a regular
 * file and a file over max_bytes (`what` names the kind in that message:
 * "an image").  On success *fd is a blocking, close-on-exec descriptor and
 * *size the file's size.  Messages start with the path. */
int nc_open_input(const char *path, uint64_t max_bytes, const char *what, int *fd, uint64_t *size, NcError *e);

/* Reads a whole file opened as above, adding a NUL after the data.  Reads at
 * most the size the file had when opened, so a file that grows cannot make
 * it read without end. */
int nc_read_file_max(const char *path, uint64_t max_bytes, const char *what, char **data, size_t *len, NcError *e);

#endif
