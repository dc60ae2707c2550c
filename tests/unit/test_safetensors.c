/* test_safetensors.c — reader validation (every malformed case, crafted
 * byte by byte), dtype conversion, the writer, and files written by the real
 * `safetensors` package (tests/fixtures/io, see tools/make_io_fixtures.py). */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/support/safetensors.h"
#include "runtime/support/npy.h"

#define FIX NETC_FIXTURES_DIR "/io/"

/* A file image: 8-byte little-endian header length, the header, the data. */
static uint8_t *image(const char *header, const void *data, size_t dlen, size_t *len) {
    size_t n = strlen(header);
    uint8_t *b = malloc(8 + n + dlen + 1);
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)((uint64_t)n >> (8 * k));
    memcpy(b + 8, header, n);
    if (dlen) memcpy(b + 8 + n, data, dlen);
    *len = 8 + n + dlen;
    return b;
}

static int parse(const char *header, const void *data, size_t dlen, NcSafetensors *st, NcError *e) {
    size_t len;
    uint8_t *b = image(header, data, dlen, &len);
    int rc = nc_st_parse(b, len, "t.safetensors", st, e);
    /* Keep the buffer alive while st refers to it: hand it to st. */
    if (rc == 0)
        st->owned = b;
    else
        free(b);
    return rc;
}

/* The file is rejected with a message that names it and contains `want`. */
static void bad(const char *header, size_t dlen, const char *want) {
    static const uint8_t zeros[256];
    NcSafetensors st;
    NcError e = {{0}};
    int rc = parse(header, zeros, dlen, &st, &e);
    CHECK_MSG(rc == -1, "accepted header %s", header);
    CHECK_MSG(strncmp(e.msg, "t.safetensors: ", 15) == 0, "no file name: %s", e.msg);
    CHECK_MSG(strstr(e.msg, want) != NULL, "for %s: wanted '%s' in: %s", header, want, e.msg);
    CHECK(st.tensors == NULL && st.ntensors == 0 && st.path == NULL); /* zeroed on failure */
}

static void bad_bytes(const uint8_t *b, size_t len, const char *want) {
    NcSafetensors st;
    NcError e = {{0}};
    CHECK(nc_st_parse(b, len, "t.safetensors", &st, &e) == -1);
    CHECK_MSG(strstr(e.msg, want) != NULL, "wanted '%s' in: %s", want, e.msg);
}

static void test_valid(void) {
    float vals[6] = {1, 2, 3, 4, 5, 6};
    NcSafetensors st;
    NcError e = {{0}};
    int rc =
        parse("{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
              " \"a\" : {\"shape\":[2,2],\"data_offsets\":[0,16],\"dtype\":\"F32\",\"extra\":1}}   ",
              vals, 24, &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc != 0) return;
    CHECK(st.ntensors == 2 && st.nmeta == 1);
    CHECK(strcmp(nc_st_meta(&st, "format"), "pt") == 0 && nc_st_meta(&st, "x") == NULL);
    const NcStTensor *a = nc_st_find(&st, "a"), *b = nc_st_find(&st, "b");
    CHECK(a && b && nc_st_find(&st, "c") == NULL);
    CHECK(st.tensors[0].name == b->name); /* header order */
    CHECK(a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 2 && a->numel == 4 && a->dtype == NC_ST_F32);
    float out[4];
    CHECK(nc_st_read_f32(&st, a, out, &e) == 0 && out[0] == 1 && out[3] == 4);
    CHECK(nc_st_read_f32(&st, b, out, &e) == 0 && out[0] == 5 && out[1] == 6);
    nc_st_close(&st);
    nc_st_close(&st); /* twice is fine */

    /* No tensors at all; 0-d and empty tensors; a zero-size tensor between two. */
    CHECK(parse("{}", NULL, 0, &st, &e) == 0 && st.ntensors == 0);
    nc_st_close(&st);
    rc = parse("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
               "\"z\":{\"dtype\":\"F16\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
               "\"u\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
               vals, 8, &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        CHECK(nc_st_find(&st, "s")->numel == 1 && nc_st_find(&st, "s")->ndim == 0);
        CHECK(nc_st_find(&st, "z")->numel == 0);
        CHECK(nc_st_read_f32(&st, nc_st_find(&st, "z"), out, &e) == 0);
        CHECK(nc_st_read_f32(&st, nc_st_find(&st, "u"), out, &e) == -1);
        CHECK_MSG(strstr(e.msg, "t.safetensors: tensor 'u' has dtype U8; only F32, F16, BF16 and F64") != NULL, "%s",
                  e.msg);
        nc_st_close(&st);
    }
    /* Packed 4-bit: two elements per byte. */
    CHECK(parse("{\"p\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", vals, 2, &st, &e) == 0);
    nc_st_close(&st);
}

static void test_malformed(void) {
    uint8_t b[64] = {0};
    /* shorter than the 8-byte length */
    for (size_t n = 0; n < 8; n++) bad_bytes(b, n, "a safetensors file starts with an 8-byte header length");
    /* header length beyond the file, and absurd */
    b[0] = 20;
    memcpy(b + 8, "{}", 2);
    bad_bytes(b, 10, "header length 20 runs past the end of the file (10 bytes");
    memset(b, 0xff, 8);
    bad_bytes(b, 10, "header length 18446744073709551615 is over the 100000000-byte limit");
    memset(b, 0, 8);
    b[3] = 0x06; /* 100663296 */
    bad_bytes(b, 10, "over the 100000000-byte limit");

    bad("", 0, "JSON header: invalid JSON at byte 0: expected a value");
    bad("{\"a\":", 0, "JSON header: invalid JSON at byte 5");
    bad("[]", 0, "JSON header is an array, expected an object");
    bad("{}\x01", 0, "unexpected byte 0x01");
    bad("{\"a\":1}", 0, "tensor 'a': entry is a number, expected an object");
    bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing \"dtype\"");
    bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing \"shape\"");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing \"data_offsets\"");
    bad("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': \"dtype\" is a number");
    bad("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': unknown dtype \"F33\"");
    bad("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"f32\"");
    bad("{\"a\":{\"dtype\":\"F32\\u0000\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"F32\\x00\"");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "tensor 'a': \"shape\" is a number");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a': shape[0] is not a non-negative integer");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1.0],\"data_offsets\":[0,4]}}", 4, "shape[1] is not a non-negative");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e2],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a': shape has 9 dimensions; at most 8");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a': shape [4294967296, 4294967296] has too many elements");
    /* numel fits in 63 bits, but numel * 64 bits does not */
    bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[3074457345618258602,3],\"data_offsets\":[0,4]}}", 4,
        "byte size overflows");
    /* the wrap-around that a multiplication without checks would let through:
     * 2^61 * 8 bytes = 2^64 = 0 mod 2^64 */
    bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0, "overflows");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
        "tensor 'a': \"data_offsets\" must be [begin, end]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "must be [begin, end]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"0\":4}}}", 4, "must be [begin, end]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "must be [begin, end]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4, "must be [begin, end]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
        "tensor 'a': data_offsets [4, 0] has begin after end");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
        "tensor 'a': data_offsets [0, 8] run past the end of the data section (4 bytes");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a': data_offsets [0, 4] hold 4 bytes, but shape [2] of F32 needs 8");
    bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape [3] of BF16 needs 6");
    bad("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
        "tensor 'a': 3 elements of F4 do not fill a whole number of bytes");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        8, "duplicate key \"a\"");
    bad("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
        "tensor 'a\\x00b': name contains a NUL character");
    /* layout: gaps, overlaps, trailing bytes */
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
        "tensor 'a': data_offsets [4, 8] leave bytes 0..4 of the data section unused");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        12, "tensor 'b': data_offsets [8, 12] leave bytes 4..8");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        8, "tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
        "the data section has 6 bytes but the tensors end at byte 4");
    bad("{}", 3, "no tensors, but 3 bytes follow the header");
    /* __metadata__ */
    bad("{\"__metadata__\":[1]}", 0, "\"__metadata__\" is an array, expected an object of strings");
    bad("{\"__metadata__\":{\"k\":1}}", 0, "\"__metadata__\" entry 'k' is a number, expected a string");
    /* long, unprintable names are shortened in messages, not copied whole */
    char hdr[1200];
    char name[700];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,4]}}", name);
    bad(hdr, 4, "...': unknown dtype");
}

/* Independent reference for binary16: arithmetic in double, not bit moves. */
static double half_ref(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v;
    if (exp == 0)
        v = ldexp(man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexp(1024 + man, exp - 25);
    return sign ? -v : v;
}

static void test_conversion(void) {
    /* Every F16 and BF16 bit pattern, in one file. */
    size_t n = 65536;
    uint16_t *h = malloc(2 * n * 2);
    for (size_t k = 0; k < n; k++) h[k] = h[n + k] = (uint16_t)k;
    NcSafetensors st;
    NcError e = {{0}};
    int rc = parse("{\"h\":{\"dtype\":\"F16\",\"shape\":[256,256],\"data_offsets\":[0,131072]},"
                   "\"b\":{\"dtype\":\"BF16\",\"shape\":[65536],\"data_offsets\":[131072,262144]}}",
                   h, 4 * n, &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    float *f = malloc(n * sizeof *f);
    if (rc == 0 && nc_st_read_f32(&st, nc_st_find(&st, "h"), f, &e) == 0) {
        int wrong = 0;
        for (size_t k = 0; k < n; k++) {
            double r = half_ref((uint16_t)k);
            uint32_t bits;
            memcpy(&bits, &f[k], 4);
            if (isnan(r) ? !(isnan(f[k]) && (bits & 0x1FFF) == 0 && ((bits >> 13) & 0x3FF) == (k & 0x3FF))
                         : ((double)f[k] != r || !signbit(f[k]) != !signbit(r)))
                wrong++;
        }
        CHECK_MSG(wrong == 0, "%d F16 values converted wrongly", wrong);
        CHECK(f[0x0001] == 0x1p-24f);        /* smallest subnormal */
        CHECK(f[0x03FF] == 1023 * 0x1p-24f); /* largest subnormal */
        CHECK(f[0x0400] == 0x1p-14f);        /* smallest normal */
        CHECK(f[0x7BFF] == 65504.0f);
        CHECK(isinf(f[0x7C00]) && f[0x7C00] > 0 && isinf(f[0xFC00]) && f[0xFC00] < 0);
        CHECK(isnan(f[0x7E00]) && signbit(f[0x8000]) && f[0x8000] == 0);
    }
    if (rc == 0 && nc_st_read_f32(&st, nc_st_find(&st, "b"), f, &e) == 0) {
        int wrong = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t bits;
            memcpy(&bits, &f[k], 4);
            wrong += bits != (uint32_t)k << 16;
        }
        CHECK_MSG(wrong == 0, "%d BF16 values converted wrongly", wrong);
        CHECK(f[0x0001] == 0x1p-133f && f[0x3F80] == 1.0f && isinf(f[0x7F80]) && isnan(f[0x7FC0]));
    }
    nc_st_close(&st);
    free(f);
    free(h);

    /* F64: rounds to nearest; finite values beyond f32 are an error. */
    double d[4] = {0.1, -1e-300, 3.4028234663852886e38, 1e39};
    rc = parse("{\"ok\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
               "\"big\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]}}",
               d, sizeof d, &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        float g[3];
        CHECK(nc_st_read_f32(&st, nc_st_find(&st, "ok"), g, &e) == 0);
        CHECK(g[0] == 0.1f && g[1] == 0 && signbit(g[1]) && g[2] == 3.4028234663852886e38f);
        CHECK(nc_st_read_f32(&st, nc_st_find(&st, "big"), g, &e) == -1);
        CHECK_MSG(strstr(e.msg, "tensor 'big': F64 value 1e+39 at index 0 is outside the f32 range"), "%s", e.msg);
        nc_st_close(&st);
    }
}

static void test_writer(void) {
    char path[] = "/tmp/netc_test_st_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    float a[6] = {1.5f, -0.0f, NAN, INFINITY, 1e-45f, 3};
    float s[1] = {42};
    const char *names[3] = {"conv1.weight", "s \"q\" \xc3\xa9", "empty"};
    int ndims[3] = {2, 0, 1};
    int64_t sa[2] = {2, 3}, se[1] = {0};
    const int64_t *shapes[3] = {sa, NULL, se};
    const float *data[3] = {a, s, NULL};
    NcError e = {{0}};
    CHECK_MSG(nc_st_write_f32(path, 3, names, ndims, shapes, data, &e) == 0, "%s", e.msg);
    NcSafetensors st;
    int rc = nc_st_open(path, &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        CHECK(st.ntensors == 3 && st.data_start % 8 == 0 && strcmp(st.path, path) == 0);
        CHECK(st.data[st.data_start - 1] == ' ' || st.data[st.data_start - 1] == '}');
        const NcStTensor *t = nc_st_find(&st, "conv1.weight");
        float out[6];
        CHECK(t && t->ndim == 2 && t->shape[1] == 3 && t->begin % 4 == 0);
        CHECK(t && nc_st_read_f32(&st, t, out, &e) == 0 && memcmp(out, a, sizeof a) == 0); /* bit-exact, NaN too */
        t = nc_st_find(&st, names[1]);
        CHECK(t && t->ndim == 0 && nc_st_read_f32(&st, t, out, &e) == 0 && out[0] == 42);
        t = nc_st_find(&st, "empty");
        CHECK(t && t->numel == 0 && t->begin == t->end);
        nc_st_close(&st);
    }

    /* Writer errors leave no file behind and name the problem. */
    const char *dup[2] = {"x", "x"};
    int nd[2] = {1, 1};
    int64_t one[1] = {1};
    const int64_t *sh2[2] = {one, one};
    const float *d2[2] = {s, s};
    remove(path);
    CHECK(nc_st_write_f32(path, 2, dup, nd, sh2, d2, &e) == -1 && strstr(e.msg, "'x' appears twice"));
    CHECK(access(path, F_OK) != 0);
    const char *meta[1] = {"__metadata__"};
    CHECK(nc_st_write_f32(path, 1, meta, nd, sh2, d2, &e) == -1 && strstr(e.msg, "reserved"));
    const char *badutf[1] = {"a\xff"};
    CHECK(nc_st_write_f32(path, 1, badutf, nd, sh2, d2, &e) == -1 && strstr(e.msg, "not valid UTF-8"));
    int nine[1] = {9};
    CHECK(nc_st_write_f32(path, 1, names, nine, sh2, d2, &e) == -1 && strstr(e.msg, "9 dimensions"));
    int64_t neg[1] = {-2};
    const int64_t *shn[1] = {neg};
    CHECK(nc_st_write_f32(path, 1, names, nd, shn, d2, &e) == -1 && strstr(e.msg, "bad dimension -2"));
    CHECK(access(path, F_OK) != 0);
    CHECK(nc_st_write_f32("/nonexistent-dir/x.safetensors", 1, names, nd, sh2, d2, &e) == -1 &&
          strstr(e.msg, "/nonexistent-dir/x.safetensors"));
    /* Zero tensors is a valid (if dull) file. */
    CHECK(nc_st_write_f32(path, 0, NULL, NULL, NULL, NULL, &e) == 0);
    CHECK(nc_st_open(path, &st, &e) == 0 && st.ntensors == 0);
    nc_st_close(&st);
    remove(path);

    CHECK(nc_st_open("/nonexistent-dir/y.safetensors", &st, &e) == -1 && strstr(e.msg, "y.safetensors: cannot open"));
}

/* Tensor `name` of the fixture equals the f32 array numpy wrote, bit for bit. */
static void same_as_npy(const NcSafetensors *st, const char *name, const char *npy) {
    NcNpy ref;
    NcError e = {{0}};
    const NcStTensor *t = nc_st_find(st, name);
    CHECK_MSG(t != NULL, "no tensor %s", name);
    if (!t) return;
    if (nc_npy_read(npy, &ref, &e) != 0) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    CHECK(ref.ndim == t->ndim && ref.numel == t->numel);
    for (int k = 0; k < t->ndim && k < ref.ndim; k++) CHECK(ref.shape[k] == t->shape[k]);
    float *f = malloc((size_t)t->numel * sizeof *f + 1);
    CHECK_MSG(nc_st_read_f32(st, t, f, &e) == 0, "%s", e.msg);
    if (ref.numel == t->numel)
        CHECK_MSG(memcmp(f, ref.data, (size_t)t->numel * 4) == 0, "tensor %s differs from %s", name, npy);
    free(f);
    nc_npy_free(&ref);
}

static void test_reference_files(void) {
    NcSafetensors st;
    NcError e = {{0}};
    int rc = nc_st_open(FIX "mixed.safetensors", &st, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc != 0) return;
    CHECK(st.ntensors == 7);
    CHECK(nc_st_meta(&st, "format") && strcmp(nc_st_meta(&st, "format"), "np") == 0);
    CHECK(nc_st_find(&st, "f16")->dtype == NC_ST_F16 && nc_st_find(&st, "bf16")->dtype == NC_ST_BF16);
    same_as_npy(&st, "f32", FIX "mixed_f32.npy");
    same_as_npy(&st, "f16", FIX "mixed_f16.npy");
    same_as_npy(&st, "bf16", FIX "mixed_bf16.npy");
    same_as_npy(&st, "f64", FIX "mixed_f64.npy");
    same_as_npy(&st, "scalar", FIX "mixed_scalar.npy");
    float f[6];
    CHECK(nc_st_read_f32(&st, nc_st_find(&st, "ints"), f, &e) == -1);
    CHECK_MSG(strstr(e.msg, "mixed.safetensors: tensor 'ints' has dtype I32") != NULL, "%s", e.msg);
    CHECK(nc_st_find(&st, "empty")->numel == 0 && nc_st_read_f32(&st, nc_st_find(&st, "empty"), f, &e) == 0);
    nc_st_close(&st);

    /* Every truncation of a real file is rejected cleanly. */
    char *buf;
    size_t len;
    if (nc_read_file(FIX "mixed.safetensors", &buf, &len, &e) == 0) {
        int accepted = 0;
        for (size_t n = 0; n < len; n++) {
            uint8_t *copy = malloc(n + 1);
            memcpy(copy, buf, n);
            if (nc_st_parse(copy, n, "cut", &st, &e) == 0) {
                accepted++;
                nc_st_close(&st);
            }
            free(copy);
        }
        CHECK_MSG(accepted == 0, "%d truncations accepted", accepted);
        free(buf);
    }
}

int main(void) {
    CHECK(strcmp(nc_st_dtype_name(NC_ST_BF16), "BF16") == 0 && nc_st_dtype_bits(NC_ST_F4) == 4);
    CHECK(strcmp(nc_st_dtype_name((NcStDtype)99), "?") == 0);
    test_valid();
    test_malformed();
    test_conversion();
    test_writer();
    test_reference_files();
    TEST_MAIN_END();
}
