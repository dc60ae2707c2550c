/* auth.h — the bearer token of --token-file, compared in constant time. */
#ifndef NETC_SERVE_AUTH_H
#define NETC_SERVE_AUTH_H

#include <stddef.h>

#include "runtime/support/base.h"

typedef struct Token {
    char *value; /* NULL: no token required */
    size_t len;
} Token;

/* Reads the token from `path` (one line; surrounding whitespace dropped; at
 * least 16 bytes, printable ASCII without spaces). */
int token_load(Token *t, const char *path, NcError *e);
void token_free(Token *t);

/* 1 when the Authorization header value `header` (NULL when absent) is
 * "Bearer <token>"; the comparison takes the same time wherever the first
 * difference is, so response times do not reveal a prefix of the token. */
int token_check(const Token *t, const char *header);

#endif
