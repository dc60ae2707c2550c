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

void *nc_malloc_(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) nc_fatal(file, line, "out of memory allocating %zu bytes", n);
    return p;
}
void *nc_calloc_(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) nc_fatal(file, line, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
void *nc_realloc_(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) nc_fatal(file, line, "out of memory reallocating %zu bytes", n);
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
