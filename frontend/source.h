/* source.h — source files and positions, and the one way the frontend
 * reports an error: file:line:col, the line, and a caret under the column. */
#ifndef NETC_SOURCE_H
#define NETC_SOURCE_H

#include "runtime/support/base.h"

typedef struct NcSource {
    const char *path; /* as given (for messages) */
    const char *text; /* NUL-terminated */
    size_t len;
} NcSource;

typedef struct NcLoc {
    const NcSource *src;
    int line, col; /* 1-based */
    const char *pos;
} NcLoc;

/* Writes "path:line:col: error: <msg>\n  N | source line\n    |   ^" into e. */
int nc_error_at(NcError *e, NcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int nc_verror_at(NcError *e, NcLoc loc, const char *fmt, va_list ap);
/* Appends "\npath:line:col: note: <msg>" (no source line) to e. */
void nc_note_at(NcError *e, NcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
