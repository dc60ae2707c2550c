/* auth.c — the bearer token.  A token shorter than 16 bytes is refused at
 * start: it could be guessed over the network. */
#include "runtime/serve/auth.h"

#include <string.h>

int token_load(Token *t, const char *path, NcError *e) {
    memset(t, 0, sizeof *t);
    char *text;
    size_t len;
    if (nc_read_file(path, &text, &len, e)) return nc_error_prefix(e, "--token-file");
    size_t a = 0, z = len;
    while (a < z && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == '\n')) a++;
    while (z > a && (text[z - 1] == ' ' || text[z - 1] == '\t' || text[z - 1] == '\r' || text[z - 1] == '\n')) z--;
    for (size_t i = a; i < z; i++)
        if (text[i] <= ' ' || text[i] > '~') {
            free(text);
            return nc_errorf(e, "--token-file %s: the token must be one line of printable ASCII without spaces", path);
        }
    if (z - a < 16) {
        free(text);
        return nc_errorf(e, "--token-file %s: the token has %zu bytes; at least 16 are needed", path, z - a);
    }
    t->value = nc_strndup(text + a, z - a);
    t->len = z - a;
    free(text);
    return 0;
}

void token_free(Token *t) {
    free(t->value);
    memset(t, 0, sizeof *t);
}

int token_check(const Token *t, const char *header) {
    if (!t->value) return 1;
    if (!header || strncmp(header, "Bearer ", 7)) return 0;
    const char *got = header + 7;
    const size_t glen = strlen(got);
    /* every byte of the expected token is read whatever `got` holds; volatile keeps the compiler from stopping early */
    volatile unsigned char diff = glen != t->len;
    for (size_t i = 0; i < t->len; i++) diff |= (unsigned char)(t->value[i] ^ (i < glen ? got[i] : 0));
    return diff == 0;
}
