/* json.h — a small, strict JSON (RFC 8259) parser, and the one writer of
 * every JSON netc and its programs print.
 *
 * Used for safetensors headers and other metadata files that come from
 * outside, so it is strict rather than forgiving: no comments, no trailing
 * commas, no NaN/Infinity, valid UTF-8 only, no lone surrogates, no duplicate
 * object keys, and a nesting limit so hostile input cannot exhaust the stack.
 * Errors give the byte offset and what was expected there.
 *
 * The tree is read-only after parsing; free it with nc_json_free().
 */
#ifndef NETC_JSON_H
#define NETC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/support/base.h"

/* Deeper nesting than this is rejected (real headers nest 3 levels). */
#define NC_JSON_MAX_DEPTH 64

typedef enum {
    NC_JSON_NULL,
    NC_JSON_BOOL,
    NC_JSON_NUMBER,
    NC_JSON_STRING,
    NC_JSON_ARRAY,
    NC_JSON_OBJECT,
} NcJsonType;

typedef struct NcJson NcJson;
typedef struct NcJsonMember NcJsonMember;

struct NcJson {
    NcJsonType type;
    int boolean;           /* BOOL: 0 or 1 */
    int is_int;            /* NUMBER: written without fraction or exponent and fits int64 */
    int n;                 /* ARRAY: number of items; OBJECT: number of members */
    int64_t i;             /* NUMBER: exact value when is_int */
    double d;              /* NUMBER: nearest double, always set */
    char *s;               /* STRING: UTF-8, NUL-terminated */
    size_t slen;           /* STRING: length in bytes; may be > strlen(s) if it holds \u0000 */
    NcJson *items;         /* ARRAY */
    NcJsonMember *members; /* OBJECT, in input order */
    size_t offset;         /* byte offset of the value's first character, for messages */
};

struct NcJsonMember {
    char *key;         /* UTF-8, NUL-terminated */
    size_t keylen;     /* may be > strlen(key) if the key holds \u0000 */
    size_t key_offset; /* byte offset of the key's opening quote */
    NcJson value;
};

/* Parse `len` bytes of `text` (need not be NUL-terminated). The whole input
 * must be one value, optionally surrounded by whitespace. On success *out is
 * a new tree. On failure the message starts with `name` (e.g. the file name
 * and "header") and gives the byte offset relative to `text`. */
int nc_json_parse(const char *text, size_t len, const char *name, NcJson **out, NcError *e);

/* Free a tree from nc_json_parse (NULL is fine). */
void nc_json_free(NcJson *j);

/* The value of member `key` of an object, or NULL if `j` is not an object or
 * has no such member. Keys holding \u0000 never match. */
const NcJson *nc_json_get(const NcJson *j, const char *key);

/* "null", "boolean", "number", "string", "array", "object" — for messages. */
const char *nc_json_type_name(NcJsonType t);

/* The `len` bytes at `s` as a JSON string literal, quotes included, in a new
 * NUL-terminated string; NULL if they are not valid UTF-8. Writers use this
 * so that what netc writes, netc (and every strict reader) can read back. */
char *nc_json_quote(const char *s, size_t len);

/* The writer.  Everything netc prints as JSON goes through these two, so
 * that it is always valid: file names are bytes, not always UTF-8, and a
 * model can compute NaN.
 *
 * Writes the NUL-terminated s as a JSON string literal: quotes, backslashes
 * and control bytes escaped, each byte that is not part of valid UTF-8 as
 * \ufffd (the replacement character). */
void nc_json_put_str(FILE *f, const char *s);

/* Writes v with the printf format `fmt` (one double, e.g. "%.6g"), or null
 * when v is NaN or infinite (JSON has no such numbers); returns 1 when it
 * wrote null, so the caller can say why. */
int nc_json_put_num(FILE *f, const char *fmt, double v);

/* Write a short printable form of the `len` bytes at `s` into dst (always
 * NUL-terminated): non-printable bytes become \xNN, and long strings are cut
 * with "...". For putting untrusted names into error messages. */
void nc_json_snip(char *dst, size_t cap, const char *s, size_t len);

#endif
