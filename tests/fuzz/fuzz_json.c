/* fuzz_json.c — libFuzzer target: nc_json_parse on arbitrary bytes. For what
 * it accepts, every string must survive nc_json_quote and parse back to the
 * same bytes. Replayed by tests/unit/test_fuzz_regress.c (included with
 * NC_FUZZ_NO_MAIN). */
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>

#include "runtime/support/json.h"

static void json_check_string(const char *s, size_t len) {
    char *q = nc_json_quote(s, len);
    if (!q) abort(); /* the parser only produces valid UTF-8 */
    NcJson *j;
    NcError e;
    if (nc_json_parse(q, strlen(q), "quoted", &j, &e) != 0) abort();
    if (j->type != NC_JSON_STRING || j->slen != len || memcmp(j->s, s, len) != 0) abort();
    nc_json_free(j);
    free(q);
}

static void json_walk(const NcJson *v, int depth) {
    if (depth > NC_JSON_MAX_DEPTH) abort();
    switch (v->type) {
    case NC_JSON_STRING: json_check_string(v->s, v->slen); break;
    case NC_JSON_ARRAY:
        for (int k = 0; k < v->n; k++) json_walk(&v->items[k], depth + 1);
        break;
    case NC_JSON_OBJECT:
        for (int k = 0; k < v->n; k++) {
            json_check_string(v->members[k].key, v->members[k].keylen);
            json_walk(&v->members[k].value, depth + 1);
        }
        break;
    case NC_JSON_NUMBER:
        if (v->is_int && (double)v->i != v->d) abort();
        break;
    default: break;
    }
}

static void fuzz_json_one(const uint8_t *data, size_t size) {
    NcJson *j = NULL;
    NcError e;
    e.msg[0] = 0;
    if (nc_json_parse((const char *)data, size, "fuzz.json", &j, &e) != 0) {
        if (e.msg[0] == 0 || j != NULL) abort();
        return;
    }
    json_walk(j, 0);
    nc_json_free(j);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_json_one)
#endif
