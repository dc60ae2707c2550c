/* tokenize.c — the .nn lexer.  Newlines end statements except inside (...)
 * and [...]; `#` starts a comment; strings take \n \t \" \\ escapes. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "frontend/ast.h"

struct NcInterner {
    NcArena *arena;
    const char **slots;
    size_t cap, len;
};

NcInterner *nc_interner_new(NcArena *a) {
    NcInterner *in = nc_arena_alloc(a, sizeof *in);
    in->arena = a;
    in->cap = 1024;
    in->slots = nc_arena_alloc(a, in->cap * sizeof(char *));
    return in;
}

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

const char *nc_intern(NcInterner *in, const char *s, size_t n) {
    if (2 * (in->len + 1) > in->cap) { /* grow: rehash into a table twice the size */
        size_t cap = in->cap * 2;
        const char **slots = nc_arena_alloc(in->arena, cap * sizeof(char *));
        for (size_t i = 0; i < in->cap; i++) {
            const char *t = in->slots[i];
            if (!t) continue;
            size_t j = hash_str(t, strlen(t)) & (cap - 1);
            while (slots[j]) j = (j + 1) & (cap - 1);
            slots[j] = t;
        }
        in->slots = slots;
        in->cap = cap;
    }
    size_t j = hash_str(s, n) & (in->cap - 1);
    for (; in->slots[j]; j = (j + 1) & (in->cap - 1))
        if (strncmp(in->slots[j], s, n) == 0 && in->slots[j][n] == 0) return in->slots[j];
    in->slots[j] = nc_arena_strndup(in->arena, s, n);
    in->len++;
    return in->slots[j];
}

static const char *keywords[] = {"def",  "model",  "return", "if", "elif", "else", "for",   "in",
                                 "with", "import", "and",    "or", "not",  "true", "false", "none"};

/* Longest first, so "//" wins over "/". */
static const char *puncts[] = {"**", "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}",
                               ",",  ":",  ";",  "=",  "+",  "-",  "*", "/", "%", "<", ">", "."};

typedef struct Lexer {
    const NcSource *src;
    NcArena *arena;
    NcInterner *in;
    const char *p;
    int line;
    const char *bol;
    NC_VEC(NcToken) toks;
    NcError *e;
} Lexer;

static NcLoc here(Lexer *L, const char *p) {
    NcLoc loc = {L->src, L->line, (int)(p - L->bol) + 1, p};
    return loc;
}

static void push(Lexer *L, NcTokKind k, const char *start, const char *text) {
    NcToken t;
    memset(&t, 0, sizeof t);
    t.kind = k;
    t.text = text;
    t.loc = here(L, start);
    nc_vec_push(&L->toks, t);
}

static int lex_number(Lexer *L) {
    const char *start = L->p, *q = L->p;
    int is_float = 0;
    while (isdigit((unsigned char)*q) || *q == '_') q++;
    if (*q == '.' && isdigit((unsigned char)q[1])) {
        is_float = 1;
        q++;
        while (isdigit((unsigned char)*q)) q++;
    }
    if (*q == 'e' || *q == 'E') {
        const char *r = q + 1;
        if (*r == '+' || *r == '-') r++;
        if (isdigit((unsigned char)*r)) {
            is_float = 1;
            q = r;
            while (isdigit((unsigned char)*q)) q++;
        }
    }
    if (isalpha((unsigned char)*q) || *q == '_')
        return nc_error_at(L->e, here(L, start), "malformed number '%.*s'", (int)(q - start + 1), start);
    char buf[128];
    int n = 0;
    for (const char *r = start; r < q && n < 127; r++)
        if (*r != '_') buf[n++] = *r;
    buf[n] = 0;
    push(L, is_float ? TK_FLOAT : TK_INT, start, NULL);
    NcToken *t = &L->toks.data[L->toks.len - 1];
    errno = 0;
    if (is_float) {
        t->fval = strtod(buf, NULL);
    } else {
        t->ival = strtoll(buf, NULL, 10);
        if (errno == ERANGE) return nc_error_at(L->e, t->loc, "integer literal %s is too large", buf);
    }
    L->p = q;
    return 0;
}

static int lex_string(Lexer *L) {
    const char *start = L->p;
    const char *q = L->p + 1;
    const char *eol = q;
    while (*eol && *eol != '\n') eol++;
    char *buf = nc_arena_alloc(L->arena, (size_t)(eol - q) + 1), *w = buf;
    while (*q != '"') {
        if (*q == 0 || *q == '\n') return nc_error_at(L->e, here(L, start), "unterminated string");
        if (*q == '\\') {
            q++;
            switch (*q) {
            case 'n': *w++ = '\n'; break;
            case 't': *w++ = '\t'; break;
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            default: return nc_error_at(L->e, here(L, q - 1), "unknown escape '\\%c' in string", *q ? *q : '0');
            }
            q++;
            continue;
        }
        *w++ = *q++;
    }
    push(L, TK_STR, start, buf);
    L->p = q + 1;
    return 0;
}

int nc_tokenize(const NcSource *src, NcArena *a, NcInterner *in, NcTokens *out, NcError *e) {
    Lexer L;
    memset(&L, 0, sizeof L);
    L.src = src, L.arena = a, L.in = in, L.p = src->text, L.line = 1, L.bol = src->text, L.e = e;
    int depth = 0; /* of ( and [: newlines inside them do not end statements */
    int rc = 0;
    while (!rc && *L.p) {
        const char *p = L.p;
        if (p >= src->text + src->len) break; /* an embedded NUL ends the text */
        if (*p == '\n') {
            if (depth == 0 && L.toks.len && L.toks.data[L.toks.len - 1].kind != TK_NEWLINE)
                push(&L, TK_NEWLINE, p, "\\n");
            L.p++;
            L.line++;
            L.bol = L.p;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            L.p++;
            continue;
        }
        if (*p == '#') {
            while (*L.p && *L.p != '\n') L.p++;
            continue;
        }
        if (isdigit((unsigned char)*p)) {
            rc = lex_number(&L);
            continue;
        }
        if (*p == '"') {
            rc = lex_string(&L);
            continue;
        }
        if (isalpha((unsigned char)*p) || *p == '_') {
            const char *q = p;
            while (isalnum((unsigned char)*q) || *q == '_') q++;
            const char *name = nc_intern(in, p, (size_t)(q - p));
            NcTokKind k = TK_IDENT;
            for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
                if (strcmp(name, keywords[i]) == 0) k = TK_KEYWORD;
            push(&L, k, p, name);
            L.p = q;
            continue;
        }
        int matched = 0;
        for (size_t i = 0; i < sizeof puncts / sizeof *puncts && !matched; i++) {
            size_t n = strlen(puncts[i]);
            if (strncmp(p, puncts[i], n) != 0) continue;
            matched = 1;
            if (*p == '(' || *p == '[') depth++;
            if ((*p == ')' || *p == ']') && depth > 0) depth--;
            if (*p == ';')
                push(&L, TK_NEWLINE, p, ";");
            else
                push(&L, TK_PUNCT, p, puncts[i]);
            L.p += n;
        }
        if (!matched) {
            if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
                rc = nc_error_at(e, here(&L, p), "unexpected character '%c'", *p);
            else
                rc = nc_error_at(e, here(&L, p), "unexpected byte 0x%02x", (unsigned char)*p);
        }
    }
    if (rc) {
        free(L.toks.data);
        return -1;
    }
    push(&L, TK_NEWLINE, L.p, "\\n");
    push(&L, TK_EOF, L.p, "end of file");
    /* Hand the tokens over in arena memory so the caller frees nothing. */
    out->len = L.toks.len;
    out->tok = nc_arena_alloc(a, (size_t)L.toks.len * sizeof(NcToken));
    memcpy(out->tok, L.toks.data, (size_t)L.toks.len * sizeof(NcToken));
    free(L.toks.data);
    return 0;
}
