#include "frontend/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/support/base.h"

struct NcArenaChunk {
    NcArenaChunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *nc_arena_alloc(NcArena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    NcArenaChunk *c = a->head;
    if (!c || c->used + n > c->cap) {
        size_t cap = n > (1 << 20) ? n : (1 << 20);
        if (a->limit && (cap > a->limit || a->total > a->limit - cap)) {
            a->over(a->ctx);
            abort(); /* over() must not return */
        }
        c = nc_malloc(sizeof *c + cap);
        a->total += cap;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *nc_arena_strndup(NcArena *a, const char *s, size_t n) {
    char *p = nc_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

char *nc_arena_strdup(NcArena *a, const char *s) { return nc_arena_strndup(a, s, strlen(s)); }

char *nc_arena_sprintf(NcArena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = nc_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void nc_arena_free(NcArena *a) {
    for (NcArenaChunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->total = 0;
}
