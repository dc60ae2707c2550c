#include "frontend/source.h"

#include <stdarg.h>
#include <string.h>

int nc_verror_at(NcError *e, NcLoc loc, const char *fmt, va_list ap) {
    if (!e) return -1;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!loc.src) return nc_errorf(e, "%s", msg);
    const char *text = loc.src->text, *p = loc.pos ? loc.pos : text;
    const char *bol = p, *eol = p;
    while (bol > text && bol[-1] != '\n') bol--;
    while (*eol && *eol != '\n') eol++;
    int n = (int)(eol - bol);
    if (n > 200) n = 200;
    char gutter[16];
    int gw = snprintf(gutter, sizeof gutter, "%d", loc.line);
    /* The caret follows tabs in the source line so it lands under the column. */
    char pad[256];
    int k = 0;
    for (const char *q = bol; q < p && k < (int)sizeof pad - 1 && q < bol + n; q++) pad[k++] = *q == '\t' ? '\t' : ' ';
    pad[k] = 0;
    return nc_errorf(e, "%s:%d:%d: error: %s\n %s | %.*s\n %*s | %s^", loc.src->path, loc.line, loc.col, msg, gutter, n,
                     bol, gw, "", pad);
}

int nc_error_at(NcError *e, NcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nc_verror_at(e, loc, fmt, ap);
    va_end(ap);
    return -1;
}

void nc_note_at(NcError *e, NcLoc loc, const char *fmt, ...) {
    if (!e || !loc.src) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t used = strlen(e->msg);
    if (used + 2 >= sizeof e->msg) return;
    snprintf(e->msg + used, sizeof e->msg - used, "\n%s:%d:%d: note: %s", loc.src->path, loc.line, loc.col, msg);
}
