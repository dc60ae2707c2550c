/* arena.h — bump allocation for everything the frontend makes (tokens, AST,
 * language values): freed at once when elaboration ends, which is also what
 * makes error unwinding (longjmp) leak-free. */
#ifndef NETC_ARENA_H
#define NETC_ARENA_H
#include <stddef.h>

typedef struct NcArenaChunk NcArenaChunk;
typedef struct NcArena {
    NcArenaChunk *head;
    size_t total; /* bytes of all chunks */
    /* A budget: with limit > 0, an allocation that would take total past it
     * calls over(ctx) instead, which must not return (the elaborator's
     * longjmp), so a description cannot take all of the machine's memory. */
    size_t limit;
    void (*over)(void *ctx);
    void *ctx;
} NcArena;

void *nc_arena_alloc(NcArena *a, size_t n); /* zeroed, 16-byte aligned */
char *nc_arena_strndup(NcArena *a, const char *s, size_t n);
char *nc_arena_strdup(NcArena *a, const char *s);
char *nc_arena_sprintf(NcArena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nc_arena_free(NcArena *a);
#endif
