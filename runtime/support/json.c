/* json.c — strict JSON parser; see json.h for the rules it enforces. */
#include "runtime/support/json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    const char *name;
    NcError *e;
} Parser;

/* What sits at `pos`, for "expected X, found Y" messages. */
static void describe_at(const Parser *P, size_t pos, char *buf, size_t cap) {
    if (pos >= P->len) {
        snprintf(buf, cap, "end of input");
        return;
    }
    unsigned char c = P->p[pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
}

static int fail_at(Parser *P, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(Parser *P, size_t pos, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nc_errorf(P->e, "%s: invalid JSON at byte %zu: %s", P->name, pos, what);
}

/* "expected <what>, found <the byte at pos>" */
static int expected(Parser *P, const char *what) {
    char found[32];
    describe_at(P, P->pos, found, sizeof found);
    return fail_at(P, P->pos, "expected %s, found %s", what, found);
}

static void skip_ws(Parser *P) {
    while (P->pos < P->len) {
        unsigned char c = P->p[P->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        P->pos++;
    }
}

void nc_json_snip(char *dst, size_t cap, const char *s, size_t len) {
    if (cap == 0) return;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[8];
        if (c >= 0x20 && c != 0x7f && c != '\\')
            piece[0] = (char)c, piece[1] = 0;
        else
            snprintf(piece, sizeof piece, "\\x%02x", c);
        size_t pl = strlen(piece);
        if (o + pl + 4 >= cap) { /* keep room for "..." and the NUL */
            if (o + 4 <= cap) memcpy(dst + o, "...", 3), o += 3;
            break;
        }
        memcpy(dst + o, piece, pl);
        o += pl;
    }
    dst[o < cap ? o : cap - 1] = 0;
}

/* ---- strings ----------------------------------------------------------- */

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(unsigned cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes
 * available), or 0 if it is invalid: overlong forms, encoded surrogates and
 * code points above U+10FFFF are all rejected (Unicode table 3-7). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < need) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < need; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return need;
}

/* At P->pos is the opening quote. On success *out is a new NUL-terminated
 * string and pos is just past the closing quote. */
static int parse_string(Parser *P, char **out, size_t *outlen) {
    size_t start = ++P->pos, end = start;
    /* First find the closing quote, so one allocation of the raw length is
     * enough: every escape decodes to no more bytes than it occupies. */
    while (end < P->len && P->p[end] != '"') end += (P->p[end] == '\\') ? 2 : 1;
    if (end >= P->len) return fail_at(P, start - 1, "unterminated string");
    char *buf = nc_malloc(end - start + 1);
    size_t o = 0, i = start;
    while (i < end) {
        unsigned char c = P->p[i];
        if (c < 0x20) {
            free(buf);
            return fail_at(P, i, "control character 0x%02x in string (must be escaped)", c);
        }
        if (c != '\\') {
            size_t k = utf8_seq(P->p + i, end - i);
            if (k == 0) {
                free(buf);
                return fail_at(P, i, "invalid UTF-8 byte 0x%02x in string", c);
            }
            memcpy(buf + o, P->p + i, k);
            o += k, i += k;
            continue;
        }
        unsigned char x = P->p[i + 1]; /* i+1 < end: the scan skipped 2 */
        const char *simple = strchr("\"\\/bfnrt", x);
        if (x && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            buf[o++] = map[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        if (x != 'u') {
            free(buf);
            size_t save = P->pos;
            P->pos = i + 1;
            expected(P, "one of \" \\ / b f n r t u after backslash");
            P->pos = save;
            return -1;
        }
        unsigned cp;
        if (end - i < 6 || hex4(P->p + i + 2, &cp) != 0) {
            free(buf);
            return fail_at(P, i, "\\u must be followed by 4 hex digits");
        }
        i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return fail_at(P, i - 6, "lone low surrogate \\u%04X", cp);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (end - i < 6 || P->p[i] != '\\' || P->p[i + 1] != 'u' || hex4(P->p + i + 2, &lo) != 0 || lo < 0xDC00 ||
                lo > 0xDFFF) {
                free(buf);
                return fail_at(P, i - 6, "high surrogate \\u%04X not followed by a low surrogate \\uDC00-\\uDFFF", cp);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        o += put_utf8(cp, buf + o);
    }
    buf[o] = 0;
    *out = buf;
    *outlen = o;
    P->pos = end + 1;
    return 0;
}

/* The `len` bytes at u as a JSON string literal, quotes included, into out
 * (room for 6 * len + 3 bytes).  Invalid UTF-8 is replaced by U+FFFD, a byte
 * at a time, when `replace`; otherwise it fails.  Returns the length written,
 * or SIZE_MAX on failure. */
static size_t escape(const unsigned char *u, size_t len, char *out, int replace) {
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\', out[o++] = (char)c, i++;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
            i++;
        } else {
            size_t k = utf8_seq(u + i, len - i);
            if (k == 0 && !replace) return SIZE_MAX;
            if (k == 0) {
                memcpy(out + o, "\\ufffd", 6), o += 6, i++;
                continue;
            }
            memcpy(out + o, u + i, k);
            o += k, i += k;
        }
    }
    out[o++] = '"';
    out[o] = 0;
    return o;
}

char *nc_json_quote(const char *s, size_t len) {
    if (len > (SIZE_MAX - 3) / 6) return NULL;
    char *out = nc_malloc(6 * len + 3); /* worst case: every byte as \u00XX */
    if (escape((const unsigned char *)s, len, out, 0) == SIZE_MAX) {
        free(out);
        return NULL;
    }
    return out;
}

void nc_json_put_str(FILE *f, const char *s) {
    const size_t len = strlen(s);
    char small[256], *out = 6 * len + 3 <= sizeof small ? small : nc_malloc(6 * len + 3);
    fwrite(out, 1, escape((const unsigned char *)s, len, out, 1), f);
    if (out != small) free(out);
}

int nc_json_put_num(FILE *f, const char *fmt, double v) {
    if (!isfinite(v)) {
        fputs("null", f);
        return 1;
    }
    fprintf(f, fmt, v);
    return 0;
}

/* ---- numbers ----------------------------------------------------------- */

static int is_digit(const Parser *P, size_t i) { return i < P->len && P->p[i] >= '0' && P->p[i] <= '9'; }

static int parse_number(Parser *P, NcJson *v) {
    size_t start = P->pos, i = start;
    int neg = 0, integral = 1;
    if (P->p[i] == '-') neg = 1, i++;
    if (!is_digit(P, i)) {
        P->pos = i;
        return expected(P, "a digit");
    }
    if (P->p[i] == '0' && is_digit(P, i + 1)) return fail_at(P, i, "numbers must not have leading zeros");
    /* Accumulate the integer part as a negative number so INT64_MIN fits. */
    int64_t acc = 0;
    int overflow = 0;
    while (is_digit(P, i)) {
        int d = P->p[i] - '0';
        if (acc < (INT64_MIN + d) / 10) overflow = 1;
        if (!overflow) acc = acc * 10 - d;
        i++;
    }
    if (i < P->len && P->p[i] == '.') {
        integral = 0;
        i++;
        if (!is_digit(P, i)) {
            P->pos = i;
            return expected(P, "a digit after the decimal point");
        }
        while (is_digit(P, i)) i++;
    }
    if (i < P->len && (P->p[i] == 'e' || P->p[i] == 'E')) {
        integral = 0;
        i++;
        if (i < P->len && (P->p[i] == '+' || P->p[i] == '-')) i++;
        if (!is_digit(P, i)) {
            P->pos = i;
            return expected(P, "a digit in the exponent");
        }
        while (is_digit(P, i)) i++;
    }
    if (integral && !overflow && (neg || acc != INT64_MIN)) {
        v->is_int = 1;
        v->i = neg ? acc : -acc;
    }
    /* strtod needs a NUL-terminated copy. The grammar checked above is a
     * subset of what strtod accepts in the C locale, which netc never
     * changes, so it consumes exactly these bytes. */
    size_t n = i - start;
    char small[64], *tmp = n < sizeof small ? small : nc_malloc(n + 1);
    memcpy(tmp, P->p + start, n);
    tmp[n] = 0;
    v->d = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    if (isinf(v->d)) return fail_at(P, start, "number out of range");
    v->type = NC_JSON_NUMBER;
    P->pos = i;
    return 0;
}

/* ---- values ------------------------------------------------------------ */

static int parse_value(Parser *P, NcJson *v, int depth);

static void free_value(NcJson *v) {
    switch (v->type) {
    case NC_JSON_STRING: free(v->s); break;
    case NC_JSON_ARRAY:
        for (int k = 0; k < v->n; k++) free_value(&v->items[k]);
        free(v->items);
        break;
    case NC_JSON_OBJECT:
        for (int k = 0; k < v->n; k++) {
            free(v->members[k].key);
            free_value(&v->members[k].value);
        }
        free(v->members);
        break;
    default: break;
    }
}

static int too_many(Parser *P, int n) {
    if (n < INT_MAX / 2) return 0;
    fail_at(P, P->pos, "too many items in one array or object");
    return 1;
}

static int parse_array(Parser *P, NcJson *v, int depth) {
    v->type = NC_JSON_ARRAY;
    int cap = 0;
    P->pos++; /* '[' */
    skip_ws(P);
    if (P->pos < P->len && P->p[P->pos] == ']') {
        P->pos++;
        return 0;
    }
    for (;;) {
        if (too_many(P, v->n)) return -1;
        if (v->n == cap) {
            cap = cap ? 2 * cap : 4;
            v->items = nc_realloc(v->items, (size_t)cap * sizeof *v->items);
        }
        NcJson *item = &v->items[v->n++];
        memset(item, 0, sizeof *item); /* freeable even if parsing it fails */
        if (parse_value(P, item, depth + 1) != 0) return -1;
        skip_ws(P);
        if (P->pos < P->len && P->p[P->pos] == ',') {
            P->pos++;
            continue;
        }
        if (P->pos < P->len && P->p[P->pos] == ']') {
            P->pos++;
            return 0;
        }
        return expected(P, "',' or ']' after an array item");
    }
}

static int cmp_member_key(const void *a, const void *b) {
    const NcJsonMember *x = *(const NcJsonMember *const *)a, *y = *(const NcJsonMember *const *)b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
    return x < y ? -1 : x > y; /* equal keys: input order, so we report the later one */
}

/* Sorting pointers keeps this O(n log n) for headers with many tensors. */
static int check_duplicates(Parser *P, const NcJson *v) {
    if (v->n < 2) return 0;
    const NcJsonMember **idx = nc_malloc((size_t)v->n * sizeof *idx);
    for (int k = 0; k < v->n; k++) idx[k] = &v->members[k];
    qsort(idx, (size_t)v->n, sizeof *idx, cmp_member_key);
    int rc = 0;
    for (int k = 1; k < v->n; k++) {
        if (idx[k]->keylen == idx[k - 1]->keylen && memcmp(idx[k]->key, idx[k - 1]->key, idx[k]->keylen) == 0) {
            char snip[128];
            nc_json_snip(snip, sizeof snip, idx[k]->key, idx[k]->keylen);
            rc = fail_at(P, idx[k]->key_offset, "duplicate key \"%s\"", snip);
            break;
        }
    }
    free(idx);
    return rc;
}

static int parse_object(Parser *P, NcJson *v, int depth) {
    v->type = NC_JSON_OBJECT;
    int cap = 0;
    P->pos++; /* '{' */
    skip_ws(P);
    if (P->pos < P->len && P->p[P->pos] == '}') {
        P->pos++;
        return 0;
    }
    for (;;) {
        if (too_many(P, v->n)) return -1;
        if (P->pos >= P->len || P->p[P->pos] != '"')
            return expected(P, v->n == 0 ? "a string key or '}'" : "a string key after ','");
        if (v->n == cap) {
            cap = cap ? 2 * cap : 4;
            v->members = nc_realloc(v->members, (size_t)cap * sizeof *v->members);
        }
        NcJsonMember *m = &v->members[v->n];
        memset(m, 0, sizeof *m);
        m->key_offset = P->pos;
        if (parse_string(P, &m->key, &m->keylen) != 0) return -1;
        v->n++; /* the key is owned now; the value is zeroed, so freeable */
        skip_ws(P);
        if (P->pos >= P->len || P->p[P->pos] != ':') return expected(P, "':' after an object key");
        P->pos++;
        skip_ws(P);
        if (parse_value(P, &m->value, depth + 1) != 0) return -1;
        skip_ws(P);
        if (P->pos < P->len && P->p[P->pos] == ',') {
            P->pos++;
            skip_ws(P);
            continue;
        }
        if (P->pos < P->len && P->p[P->pos] == '}') {
            P->pos++;
            return check_duplicates(P, v);
        }
        return expected(P, "',' or '}' after an object member");
    }
}

static int literal(Parser *P, const char *word) {
    size_t n = strlen(word);
    if (P->len - P->pos < n || memcmp(P->p + P->pos, word, n) != 0)
        return fail_at(P, P->pos, "invalid literal (expected '%s')", word);
    P->pos += n;
    return 0;
}

#define ANY_VALUE "a value (object, array, string, number, true, false or null)"

static int parse_value(Parser *P, NcJson *v, int depth) {
    skip_ws(P);
    v->offset = P->pos;
    if (P->pos >= P->len) return expected(P, ANY_VALUE);
    unsigned char c = P->p[P->pos];
    if ((c == '[' || c == '{') && depth >= NC_JSON_MAX_DEPTH)
        return fail_at(P, P->pos, "nesting deeper than %d levels", NC_JSON_MAX_DEPTH);
    switch (c) {
    case '{': return parse_object(P, v, depth);
    case '[': return parse_array(P, v, depth);
    case '"':
        if (parse_string(P, &v->s, &v->slen) != 0) return -1;
        v->type = NC_JSON_STRING;
        return 0;
    case 't':
    case 'f':
        if (literal(P, c == 't' ? "true" : "false") != 0) return -1;
        v->type = NC_JSON_BOOL;
        v->boolean = c == 't';
        return 0;
    case 'n': v->type = NC_JSON_NULL; return literal(P, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(P, v);
        return expected(P, ANY_VALUE);
    }
}

int nc_json_parse(const char *text, size_t len, const char *name, NcJson **out, NcError *e) {
    Parser P = {(const unsigned char *)text, len, 0, name ? name : "JSON", e};
    NcJson *root = nc_calloc(1, sizeof *root);
    *out = NULL;
    if (parse_value(&P, root, 0) != 0) {
        nc_json_free(root);
        return -1;
    }
    skip_ws(&P);
    if (P.pos < P.len) {
        char found[32];
        describe_at(&P, P.pos, found, sizeof found);
        fail_at(&P, P.pos, "unexpected %s after the end of the value", found);
        nc_json_free(root);
        return -1;
    }
    *out = root;
    return 0;
}

void nc_json_free(NcJson *j) {
    if (!j) return;
    free_value(j);
    free(j);
}

const NcJson *nc_json_get(const NcJson *j, const char *key) {
    if (!j || j->type != NC_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (int k = 0; k < j->n; k++)
        if (j->members[k].keylen == n && memcmp(j->members[k].key, key, n) == 0) return &j->members[k].value;
    return NULL;
}

const char *nc_json_type_name(NcJsonType t) {
    switch (t) {
    case NC_JSON_NULL: return "null";
    case NC_JSON_BOOL: return "boolean";
    case NC_JSON_NUMBER: return "number";
    case NC_JSON_STRING: return "string";
    case NC_JSON_ARRAY: return "array";
    case NC_JSON_OBJECT: return "object";
    }
    return "?";
}
