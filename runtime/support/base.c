#define _POSIX_C_SOURCE 200809L
#include "runtime/support/base.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

int nc_errorf(NcError *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int nc_error_prefix(NcError *e, const char *fmt, ...) {
    if (!e) return -1;
    char pre[NC_ERRMAX], old[NC_ERRMAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof e->msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = 0;
    return -1;
}

void nc_fatal(const char *file, int line, const char *fmt, ...) {
    fprintf(stderr, "netc: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static const char *program_name = "netc";

void nc_set_program_name(const char *name) { program_name = name; }

/* Not a bug but the machine's limit: a message the user can act on, and
 * exit 1 (a failure while running) rather than abort()'s 134. */
void nc_out_of_memory(double bytes) {
    fprintf(stderr,
            "%s: out of memory: could not allocate %.0f bytes (%.1f MB); a smaller batch, resolution or "
            "fewer threads need less\n",
            program_name, bytes, bytes / 1e6);
    exit(1);
}

void *nc_malloc_(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) nc_out_of_memory((double)n);
    return p;
}
void *nc_calloc_(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) nc_out_of_memory((double)count * (double)size);
    return p;
}
void *nc_aligned_alloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (!p) nc_out_of_memory((double)n);
    return p;
}
void *nc_realloc_(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) nc_out_of_memory((double)n);
    return q;
}
char *nc_strdup_(const char *s, const char *file, int line) {
    size_t n = strlen(s);
    char *p = nc_malloc_(n + 1, file, line);
    memcpy(p, s, n + 1);
    return p;
}
char *nc_strndup(const char *s, size_t n) {
    char *p = nc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
char *nc_sprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = nc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

double nc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
