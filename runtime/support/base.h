/* base.h — the few things every part of netc needs: checked allocation,
 * error values that carry a message, and fatal checks that carry file:line.
 *
 * Convention: a fallible function takes an `NcError *` last and returns 0 on
 * success, -1 on failure with the message filled in.  Messages name the file
 * and the problem ("weights.safetensors: tensor 'fc.weight': shape [10, 2]
 * does not match the model's [1000, 2048]"); callers add context, never
 * replace it.  Exit status 2 is bad input; 1 is a runtime failure.
 */
#ifndef NETC_BASE_H
#define NETC_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NC_ERRMAX 2048
typedef struct NcError {
    char msg[NC_ERRMAX];
} NcError;

/* Fill e->msg (if e is non-NULL) and return -1. */
int nc_errorf(NcError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "ctx: old message". Returns -1. */
int nc_error_prefix(NcError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fatal internal errors (bugs, out of memory): print file:line and abort(). */
_Noreturn void nc_fatal(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define NC_FATAL(...) nc_fatal(__FILE__, __LINE__, __VA_ARGS__)
#define NC_CHECK(cond)                                                                                                 \
    do {                                                                                                               \
        if (!(cond)) nc_fatal(__FILE__, __LINE__, "check failed: %s", #cond);                                          \
    } while (0)

/* Allocation failures print "PROGRAM: out of memory ..." and exit(1). */
_Noreturn void nc_out_of_memory(double bytes);
/* The name out-of-memory messages start with (default "netc"). */
void nc_set_program_name(const char *name);
/* n bytes, 64-byte aligned, with 64 bytes of slack after them (arenas). */
void *nc_aligned_alloc(size_t n);
void *nc_malloc_(size_t n, const char *file, int line);
void *nc_calloc_(size_t count, size_t size, const char *file, int line);
void *nc_realloc_(void *p, size_t n, const char *file, int line);
char *nc_strdup_(const char *s, const char *file, int line);
#define nc_malloc(n)     nc_malloc_((n), __FILE__, __LINE__)
#define nc_calloc(c, s)  nc_calloc_((c), (s), __FILE__, __LINE__)
#define nc_realloc(p, n) nc_realloc_((p), (n), __FILE__, __LINE__)
#define nc_strdup(s)     nc_strdup_((s), __FILE__, __LINE__)
char *nc_strndup(const char *s, size_t n);
char *nc_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* malloc'd */

/* Growable array of anything: `NC_VEC(int) v = {0}; nc_vec_push(&v, 3);` */
#define NC_VEC(T)                                                                                                      \
    struct {                                                                                                           \
        T *data;                                                                                                       \
        int len, cap;                                                                                                  \
    }
#define nc_vec_push(v, x)                                                                                              \
    do {                                                                                                               \
        if ((v)->len == (v)->cap) {                                                                                    \
            (v)->cap = (v)->cap ? 2 * (v)->cap : 8;                                                                    \
            (v)->data = nc_realloc((v)->data, (size_t)(v)->cap * sizeof(*(v)->data));                                  \
        }                                                                                                              \
        (v)->data[(v)->len++] = (x);                                                                                   \
    } while (0)

/* Whole-file read of a regular text file up to NC_LIMIT_TEXT (adds a NUL after
 * the data); FIFOs and devices are refused without blocking (file_in.h). */
int nc_read_file(const char *path, char **data, size_t *len, NcError *e);

/* Atomic write through a temporary made exclusively beside path, fsync'd and
 * renamed over it; a device is written in place, a link or FIFO refused
 * (file_out.h).  On any failure `path` is left untouched. */
int nc_write_file_atomic(const char *path, const void *data, size_t len, NcError *e);

/* Monotonic wall clock in seconds. */
double nc_now(void);

/* Exit codes, conventional. */
enum { NC_EXIT_OK = 0, NC_EXIT_FAIL = 1, NC_EXIT_BADINPUT = 2 };

#endif
