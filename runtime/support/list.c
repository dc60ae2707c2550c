#include "runtime/support/list.h"

#include <string.h>

char **nc_list_split(const char *s, int *n, NcError *e) {
    *n = 0;
    if (!*s) {
        nc_errorf(e, "'': an empty list");
        return NULL;
    }
    int count = 1;
    for (const char *p = s; *p; p++) count += *p == ',';
    const size_t len = strlen(s);
    /* the pointers, then a copy of s cut at its commas */
    char **items = nc_malloc((size_t)(count + 1) * sizeof(char *) + len + 1);
    char *text = (char *)(items + count + 1);
    memcpy(text, s, len + 1);
    for (int k = 0; k < count; k++) {
        char *comma = strchr(text, ',');
        if (comma) *comma = 0;
        if (!*text) {
            free(items);
            nc_errorf(e, "'%s': item %d of %d is empty", s, k + 1, count);
            return NULL;
        }
        items[k] = text;
        text = comma ? comma + 1 : text + strlen(text);
    }
    items[count] = NULL;
    *n = count;
    return items;
}

/* A side: decimal digits only (no sign, no spaces), 1..65536. */
static int side(const char *s, const char *end, int *out) {
    if (s == end || end - s > 6) return -1;
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = 10 * v + (*p - '0');
    }
    if (v < 1 || v > 65536) return -1;
    *out = (int)v;
    return 0;
}

int nc_parse_res(const char *s, NcRes *r, NcError *e) {
    const char *x = strchr(s, 'x'), *end = s + strlen(s);
    int ok = x ? !side(s, x, &r->h) && !side(x + 1, end, &r->w) : !side(s, end, &r->h);
    if (!ok) return nc_errorf(e, "'%s': expected a size such as 224 or 256x192 (height x width, each 1 to 65536)", s);
    if (!x) r->w = r->h;
    return 0;
}

int nc_parse_res_list(const char *s, NcRes *out, int max, NcError *e) {
    int n;
    char **items = nc_list_split(s, &n, e);
    if (!items) return -1;
    int rc = n > max ? nc_errorf(e, "'%s': at most %d sizes", s, max) : 0;
    for (int i = 0; i < n && !rc; i++) {
        if (nc_parse_res(items[i], &out[i], e)) {
            rc = n > 1 ? nc_error_prefix(e, "'%s'", s) : -1;
            break;
        }
        for (int j = 0; j < i && !rc; j++)
            if (out[j].h == out[i].h && out[j].w == out[i].w)
                rc = nc_errorf(e, "'%s': %dx%d is given twice", s, out[i].h, out[i].w);
    }
    free(items);
    return rc ? -1 : n;
}
