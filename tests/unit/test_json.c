/* test_json.c — the strict JSON parser: values, escapes, numbers, and every
 * kind of malformed input with the offset its message names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/support/json.h"

static NcJson *ok(const char *text) {
    NcError e = {{0}};
    NcJson *j = NULL;
    int rc = nc_json_parse(text, strlen(text), "t.json", &j, &e);
    CHECK_MSG(rc == 0 && j, "parsing %s: %s", text, e.msg);
    return j;
}

/* Parsing `len` bytes of text fails, and the message names the source and
 * contains `want` (e.g. "at byte 3: expected"). */
static void bad_n(const char *text, size_t len, const char *want) {
    NcError e = {{0}};
    NcJson *j = (NcJson *)1;
    int rc = nc_json_parse(text, len, "t.json", &j, &e);
    CHECK_MSG(rc == -1 && j == NULL, "accepted: %.*s", (int)len, text);
    CHECK_MSG(strstr(e.msg, "t.json: ") == e.msg, "no source name: %s", e.msg);
    CHECK_MSG(strstr(e.msg, want) != NULL, "for %.*s: wanted '%s' in: %s", (int)len, text, want, e.msg);
}
static void bad(const char *text, const char *want) { bad_n(text, strlen(text), want); }

static void test_values(void) {
    NcJson *j = ok(" {\"b\": [1, -2.5, true, false, null], \"a\": {\"x\": \"y\"}, \"\": 0}\n");
    CHECK(j->type == NC_JSON_OBJECT && j->n == 3);
    /* key order is kept */
    CHECK(strcmp(j->members[0].key, "b") == 0 && strcmp(j->members[1].key, "a") == 0);
    CHECK(j->members[2].keylen == 0);
    const NcJson *b = nc_json_get(j, "b");
    CHECK(b && b->type == NC_JSON_ARRAY && b->n == 5);
    CHECK(b->items[0].type == NC_JSON_NUMBER && b->items[0].is_int && b->items[0].i == 1);
    CHECK(!b->items[1].is_int && b->items[1].d == -2.5);
    CHECK(b->items[2].type == NC_JSON_BOOL && b->items[2].boolean == 1);
    CHECK(b->items[3].type == NC_JSON_BOOL && b->items[3].boolean == 0);
    CHECK(b->items[4].type == NC_JSON_NULL);
    CHECK(b->offset == 7);
    const NcJson *x = nc_json_get(nc_json_get(j, "a"), "x");
    CHECK(x && x->type == NC_JSON_STRING && strcmp(x->s, "y") == 0 && x->slen == 1);
    CHECK(nc_json_get(j, "zz") == NULL);
    CHECK(nc_json_get(b, "b") == NULL); /* not an object */
    CHECK(nc_json_get(j, "")->is_int);
    nc_json_free(j);

    j = ok("[]");
    CHECK(j->type == NC_JSON_ARRAY && j->n == 0);
    nc_json_free(j);
    j = ok("{ }");
    CHECK(j->type == NC_JSON_OBJECT && j->n == 0);
    nc_json_free(j);
    j = ok("\"top\"");
    CHECK(j->type == NC_JSON_STRING && strcmp(j->s, "top") == 0);
    nc_json_free(j);
    nc_json_free(NULL);
}

static void test_strings(void) {
    NcJson *j = ok("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\", \"\\ud83d\\ude00\", "
                   "\"x\\u0000y\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
    CHECK(strcmp(j->items[0].s, "a\"b\\c/d\b\f\n\r\t") == 0);
    CHECK(strcmp(j->items[1].s, "A\xc3\xa9\xe2\x82\xac") == 0);
    CHECK(strcmp(j->items[2].s, "\xf0\x9f\x98\x80") == 0); /* U+1F600 from a surrogate pair */
    CHECK(j->items[3].slen == 3 && memcmp(j->items[3].s, "x\0y", 4) == 0);
    CHECK(strcmp(j->items[4].s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0); /* raw UTF-8 passes */
    nc_json_free(j);
    /* the highest code point, U+10FFFF */
    j = ok("\"\\udbff\\udfff\"");
    CHECK(strcmp(j->s, "\xf4\x8f\xbf\xbf") == 0);
    nc_json_free(j);

    bad("\"abc", "at byte 0: unterminated string");
    bad("\"ab\\\"", "unterminated string");
    bad("\"a\\x\"", "at byte 3: expected one of");
    bad("\"\\u12\"", "at byte 1: \\u must be followed by 4 hex digits");
    bad("\"\\u12g4\"", "4 hex digits");
    bad("\"\\ud800\"", "at byte 1: high surrogate \\uD800 not followed by a low surrogate");
    bad("\"\\ud800\\u0041\"", "not followed by a low surrogate");
    bad("\"\\udc00\"", "lone low surrogate");
    bad("\"a\tb\"", "at byte 2: control character 0x09");
    bad_n("\"a\0b\"", 5, "control character 0x00");
    bad("\"\xc0\x80\"", "invalid UTF-8 byte 0xc0");         /* overlong NUL */
    bad("\"\xe0\x80\xaf\"", "invalid UTF-8 byte 0xe0");     /* overlong '/' */
    bad("\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xed");     /* encoded surrogate */
    bad("\"\xf4\x90\x80\x80\"", "invalid UTF-8 byte 0xf4"); /* > U+10FFFF */
    bad("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
    bad("\"\xe2\x82\"", "invalid UTF-8");       /* truncated sequence */
    bad("\"\x80\"", "invalid UTF-8 byte 0x80"); /* stray continuation */
    bad("'single'", "at byte 0: expected a value");

    char *q = nc_json_quote("a\"b\\c\n\x01\xc3\xa9", 9);
    CHECK(q && strcmp(q, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"") == 0);
    j = ok(q);
    CHECK(j->slen == 9 && memcmp(j->s, "a\"b\\c\n\x01\xc3\xa9", 9) == 0);
    nc_json_free(j);
    free(q);
    CHECK(nc_json_quote("\xff", 1) == NULL);
    q = nc_json_quote("x\0y", 3);
    CHECK(q && strcmp(q, "\"x\\u0000y\"") == 0);
    free(q);

    char snip[16];
    nc_json_snip(snip, sizeof snip, "ab\ncd", 5);
    CHECK(strcmp(snip, "ab\\x0acd") == 0);
    nc_json_snip(snip, sizeof snip, "abcdefghijklmnopqrstuvwxyz", 26);
    CHECK(strlen(snip) < sizeof snip && strstr(snip, "...") != NULL);
}

static void test_numbers(void) {
    NcJson *j = ok("[0, -0, 123, -9223372036854775808, 9223372036854775807, 9223372036854775808, "
                   "1.5, 1e3, 1E-2, -0.0, 2.5e+1, 18446744073709551615]");
    CHECK(j->items[0].is_int && j->items[0].i == 0);
    CHECK(j->items[1].is_int && j->items[1].i == 0 && signbit(j->items[1].d));
    CHECK(j->items[2].is_int && j->items[2].i == 123 && j->items[2].d == 123.0);
    CHECK(j->items[3].is_int && j->items[3].i == INT64_MIN);
    CHECK(j->items[4].is_int && j->items[4].i == INT64_MAX);
    CHECK(!j->items[5].is_int && j->items[5].d == 9223372036854775808.0);
    CHECK(!j->items[6].is_int && j->items[6].d == 1.5);
    CHECK(!j->items[7].is_int && j->items[7].d == 1000.0); /* exponent: a double, even if integral */
    CHECK(j->items[8].d == 0.01);
    CHECK(!j->items[9].is_int && signbit(j->items[9].d));
    CHECK(j->items[10].d == 25.0);
    CHECK(!j->items[11].is_int && j->items[11].d == 18446744073709551615.0);
    nc_json_free(j);
    j = ok("-9223372036854775809");
    CHECK(!j->is_int && j->d < -9.2e18);
    nc_json_free(j);
    j = ok("1e-400"); /* underflow to zero is fine */
    CHECK(j->d == 0.0);
    nc_json_free(j);

    bad("01", "at byte 0: numbers must not have leading zeros");
    bad("-01", "at byte 1: numbers must not have leading zeros");
    bad("1.", "at byte 2: expected a digit after the decimal point, found end of input");
    bad("1.e5", "expected a digit after the decimal point, found 'e'");
    bad("-", "at byte 1: expected a digit");
    bad("-a", "expected a digit, found 'a'");
    bad("1e", "expected a digit in the exponent");
    bad("1e+", "expected a digit in the exponent");
    bad("+1", "at byte 0: expected a value");
    bad(".5", "expected a value");
    bad("1e999", "at byte 0: number out of range");
    bad("-1e999", "number out of range");
    bad("NaN", "expected a value");
    bad("Infinity", "expected a value");
    bad("0x10", "at byte 1: unexpected 'x' after the end of the value");
}

static void test_structure(void) {
    bad("", "at byte 0: expected a value (object, array, string, number, true, false or null), found end of input");
    bad("   ", "at byte 3: expected a value");
    bad("{", "at byte 1: expected a string key or '}', found end of input");
    bad("[", "at byte 1: expected a value");
    bad("[1", "at byte 2: expected ',' or ']' after an array item, found end of input");
    bad("[1,]", "at byte 3: expected a value");
    bad("[1 2]", "at byte 3: expected ',' or ']'");
    bad("{\"a\":1,}", "at byte 7: expected a string key after ','");
    bad("{\"a\" 1}", "at byte 5: expected ':' after an object key, found '1'");
    bad("{\"a\":}", "at byte 5: expected a value");
    bad("{\"a\":1 \"b\":2}", "at byte 7: expected ',' or '}' after an object member");
    bad("{a:1}", "at byte 1: expected a string key");
    bad("{1:1}", "expected a string key");
    bad("[1] x", "at byte 4: unexpected 'x' after the end of the value");
    bad("{} {}", "unexpected '{'");
    bad_n("{}\0", 3, "at byte 2: unexpected byte 0x00");
    bad("tru", "at byte 0: invalid literal (expected 'true')");
    bad("nul", "invalid literal (expected 'null')");
    bad("falsy", "invalid literal (expected 'false')");
    bad("truex", "at byte 4: unexpected 'x'");
    bad("[1] // c", "unexpected '/'");
    bad("\xef\xbb\xbf{}", "at byte 0: expected a value"); /* no BOM */
    bad("{\"a\":1,\"b\":2,\"a\":3}", "at byte 13: duplicate key \"a\"");
    bad("{\"k\":{\"x\":1,\"x\":1}}", "duplicate key \"x\"");

    /* Many keys: the duplicate check sorts, and still reports the later key. */
    char big[8192];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "{");
    for (int k = 0; k < 500; k++) o += (size_t)snprintf(big + o, sizeof big - o, "%s\"k%d\":%d", k ? "," : "", k, k);
    o += (size_t)snprintf(big + o, sizeof big - o, "}");
    NcJson *j = ok(big);
    CHECK(j->n == 500 && nc_json_get(j, "k499")->i == 499);
    nc_json_free(j);
    snprintf(big + o - 1, sizeof big - o + 1, ",\"k250\":0}");
    bad(big, "duplicate key \"k250\"");

    /* Depth: 64 nested containers are fine, 65 are not. */
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = 0;
    j = ok(deep);
    nc_json_free(j);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = 0;
    bad(deep, "at byte 64: nesting deeper than 64 levels");
    /* Unclosed deep nesting must not run away either. */
    memset(deep, '{', 150);
    deep[150] = 0;
    bad(deep, "expected a string key");
    char deep2[400];
    for (int k = 0; k < 100; k++) memcpy(deep2 + 4 * k, "{\"\":", 4);
    deep2[400 - 1] = 0;
    bad(deep2, "nesting deeper than 64 levels");

    /* Errors do not leak what was built so far (ASan checks this). */
    bad("{\"a\":[1,2,{\"b\":\"c\"}],\"d\":[\"e\",", "expected a value");
    bad("{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"\\q\"}", "expected one of");
}

/* What nc_json_put_str / nc_json_put_num print, as a string. */
static char *written(const char *str, const char *fmt, double v, int *nulled) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (str)
        nc_json_put_str(f, str);
    else
        *nulled = nc_json_put_num(f, fmt, v);
    fclose(f);
    return buf;
}

/* The writer: every string it prints parses back, whatever the bytes. */
static void test_writer(void) {
    int nulled = 0;
    char *w = written("a\"b\\c\n\x01\xc3\xa9", NULL, 0, NULL);
    CHECK(strcmp(w, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"") == 0);
    free(w);
    /* a file name in Latin-1, a lone continuation byte, a truncated sequence */
    w = written("caf\xe9-\x80-\xe2\x82", NULL, 0, NULL);
    CHECK_MSG(strcmp(w, "\"caf\\ufffd-\\ufffd-\\ufffd\\ufffd\"") == 0, "got %s", w);
    NcJson *j = ok(w);
    CHECK(j->type == NC_JSON_STRING && strcmp(j->s, "caf\xef\xbf\xbd-\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd") == 0);
    nc_json_free(j);
    free(w);
    char longname[1000];
    memset(longname, '\xff', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    w = written(longname, NULL, 0, NULL);
    CHECK(strlen(w) == 6 * 999 + 2);
    free(w);
    w = written(NULL, "%.6g", 0.25, &nulled);
    CHECK(strcmp(w, "0.25") == 0 && !nulled);
    free(w);
    const double bad_numbers[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        w = written(NULL, "%.6g", bad_numbers[i], &nulled);
        CHECK(strcmp(w, "null") == 0 && nulled);
        free(w);
    }
}

static void test_type_names(void) {
    CHECK(strcmp(nc_json_type_name(NC_JSON_OBJECT), "object") == 0);
    CHECK(strcmp(nc_json_type_name(NC_JSON_NUMBER), "number") == 0);
    /* A NULL name still gives a message with a prefix. */
    NcError e = {{0}};
    NcJson *j;
    CHECK(nc_json_parse("[", 1, NULL, &j, &e) == -1);
    CHECK(strncmp(e.msg, "JSON: ", 6) == 0);
    /* Input need not be NUL-terminated: only len bytes are read. */
    CHECK(nc_json_parse("[1]xyz", 3, "t", &j, &e) == 0 && j->n == 1);
    nc_json_free(j);
}

int main(void) {
    test_values();
    test_strings();
    test_numbers();
    test_structure();
    test_type_names();
    test_writer();
    TEST_MAIN_END();
}
