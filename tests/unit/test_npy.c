/* test_npy.c — the .npy reader/writer: files numpy wrote (tests/fixtures/io,
 * see tools/make_io_fixtures.py), crafted headers in every legal spelling,
 * and every malformed case. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/support/npy.h"

#define FIX NETC_FIXTURES_DIR "/io/"

/* A .npy image: magic, version, header length, header text, data. */
static uint8_t *image(int major, int minor, const char *header, const void *data, size_t dlen, size_t *len) {
    size_t h = strlen(header), pre = major == 1 ? 10 : 12;
    uint8_t *b = malloc(pre + h + dlen + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major, b[7] = (uint8_t)minor;
    for (size_t k = 8; k < pre; k++) b[k] = (uint8_t)(h >> (8 * (k - 8)));
    memcpy(b + pre, header, h);
    if (dlen) memcpy(b + pre + h, data, dlen);
    *len = pre + h + dlen;
    return b;
}

static int parse(int major, const char *header, const void *data, size_t dlen, NcNpy *a, NcError *e) {
    size_t len;
    uint8_t *b = image(major, 0, header, data, dlen, &len);
    int rc = nc_npy_parse(b, len, "t.npy", a, e);
    free(b);
    return rc;
}

static const float vals[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void good(const char *header, size_t dlen, int ndim, int64_t d0, int64_t d1) {
    NcNpy a;
    NcError e = {{0}};
    int rc = parse(1, header, vals, dlen, &a, &e);
    CHECK_MSG(rc == 0, "%s: %s", header, e.msg);
    if (rc != 0) return;
    CHECK_MSG(a.ndim == ndim, "%s: ndim %d", header, a.ndim);
    if (ndim > 0) CHECK(a.shape[0] == d0);
    if (ndim > 1) CHECK(a.shape[1] == d1);
    CHECK(a.numel == (int64_t)dlen / 4);
    if (a.numel) CHECK(a.data[0] == 1 && a.data[a.numel - 1] == vals[a.numel - 1]);
    nc_npy_free(&a);
    nc_npy_free(&a);
}

static void bad_img(const uint8_t *b, size_t len, const char *want) {
    NcNpy a;
    NcError e = {{0}};
    CHECK_MSG(nc_npy_parse(b, len, "t.npy", &a, &e) == -1, "accepted (want %s)", want);
    CHECK_MSG(strncmp(e.msg, "t.npy: ", 7) == 0, "no file name: %s", e.msg);
    CHECK_MSG(strstr(e.msg, want) != NULL, "wanted '%s' in: %s", want, e.msg);
    CHECK(a.data == NULL && a.ndim == 0);
}

static void bad(const char *header, size_t dlen, const char *want) {
    size_t len;
    uint8_t *b = image(1, 0, header, vals, dlen, &len);
    bad_img(b, len, want);
    free(b);
}

static void test_headers(void) {
    good("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }    \n", 24, 2, 2, 3);
    good("{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}", 24, 1, 6, 0); /* any order, no trailing comma */
    good("{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,)}", 24, 2, 2, 3);
    good("  {  'descr' : '<f4' ,\n 'fortran_order' :False,'shape':(  2 ,\t3  ) , }", 24, 2, 2, 3);
    good("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, 0, 0, 0);
    good("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 0, 2, 0, 3);
    good("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L), }", 24, 2, 3, 2); /* Python 2 */

    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 12,
        "expected a tuple: a 1-d shape is written (N,) with a comma");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", 12, "expected a shape tuple");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", 12, "expected a shape tuple");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 12, "a non-negative integer in the shape");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3 4), }", 48, "',' or ')' in the shape tuple");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,,), }", 12, "a non-negative integer");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 12, "a non-negative integer");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 12, "fits in 64 bits");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "more than 8 dimensions");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 4, "too many elements");
    bad("{'descr': '<f4', 'fortran_order': False, }", 4, "lacks 'shape'");
    bad("{'descr': '<f4', 'shape': (1,), }", 4, "lacks 'fortran_order'");
    bad("{'fortran_order': False, 'shape': (1,), }", 4, "lacks 'descr'");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4,
        "unexpected key 'extra' in the .npy header");
    bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "key 'descr' appears twice");
    bad("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", 4, "expected True or False");
    bad("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, "expected True or False");
    bad("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", 4, "Fortran-order arrays are not supported");
    bad("{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}", 4, "big-endian data ('>f4') is not supported");
    bad("{'descr': '>f8', 'fortran_order': False, 'shape': (1,)}", 8, "big-endian");
    bad("{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}", 8,
        "dtype '<i8' is not supported; netc reads '<f4' (float32) and '<f8' (float64)");
    bad("{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", 1, "dtype '|u1' is not supported");
    bad("{'descr': '<f2', 'fortran_order': False, 'shape': (1,)}", 2, "dtype '<f2' is not supported");
    bad("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4, "structured dtypes are not supported");
    bad("{'descr': '<f4\\n', 'fortran_order': False, 'shape': (1,)}", 4, "no escapes");
    bad("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, "expected ',' or '}'");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
        "expected ',' or '}' after a value, found end of header");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, "only whitespace after the header dict");
    bad("{'descr' '<f4'}", 4, "expected ':' after a key");
    bad("{descr: '<f4'}", 4, "expected a quoted string, found 'd'");
    bad("", 0, "expected '{' starting the header dict, found end of header");
    bad("{'descr': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}", 0,
        "a shorter string");
    /* data length must match the shape exactly */
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
        "data is truncated: shape (2, 3) of <f4 needs 24 bytes, only 20 follow the header");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 24,
        "24 bytes follow the header, but shape (5,) of <f4 needs only 20 (extra data at the end)");
    bad("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 4, "shape () of <f8 needs 8 bytes, only 4");

    /* version 2.0 and 3.0 use a 4-byte header length */
    NcNpy a;
    NcError e = {{0}};
    CHECK(parse(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", vals, 16, &a, &e) == 0 && a.numel == 4);
    nc_npy_free(&a);
    CHECK(parse(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", vals, 16, &a, &e) == 0 && a.data[3] == 4);
    nc_npy_free(&a);
}

static void test_magic_and_lengths(void) {
    uint8_t b[16] = "\x93NUMPY\x01\x00";
    for (size_t n = 0; n < 6; n++) bad_img(b, n, "not a .npy file");
    for (size_t n = 6; n < 10; n++) bad_img(b, n, "file ends inside the .npy header");
    uint8_t x[16] = "\x93NUMPX\x01\x00\x00\x00";
    bad_img(x, 10, "not a .npy file");
    size_t len;
    uint8_t *img = image(4, 0, "{}", NULL, 0, &len);
    bad_img(img, len, ".npy format version 4.0 is not supported");
    free(img);
    img = image(1, 1, "{}", NULL, 0, &len);
    bad_img(img, len, "version 1.1 is not supported");
    free(img);
    img = image(2, 0, "{}", NULL, 0, &len);
    bad_img(img, 11, "file ends inside the .npy header");
    free(img);
    img = image(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", vals, 4, &len);
    bad_img(img, 30, "the .npy header length 55 runs past the end of the file (30 bytes)");
    free(img);

    /* f8: rounded to f32; finite values beyond the f32 range are an error */
    double d[3] = {0.1, -1e-300, 1e300};
    NcNpy a;
    NcError e = {{0}};
    CHECK(parse(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", d, 16, &a, &e) == 0);
    CHECK(a.data && a.data[0] == 0.1f && a.data[1] == 0 && signbit(a.data[1]));
    nc_npy_free(&a);
    CHECK(parse(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", d, 24, &a, &e) == -1);
    CHECK_MSG(strstr(e.msg, "t.npy: float64 value 1e+300 at index 2 is outside the float32 range"), "%s", e.msg);
    double inf[1] = {-INFINITY};
    CHECK(parse(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", inf, 8, &a, &e) == 0);
    CHECK(a.data && isinf(a.data[0]) && a.data[0] < 0);
    nc_npy_free(&a);
}

/* Read a fixture numpy wrote and compare with the values it holds. */
static void test_numpy_files(void) {
    NcNpy a;
    NcError e = {{0}};
    int rc = nc_npy_read(FIX "f64_2x3.npy", &a, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        const double want[6] = {0.1, -2.5, 1e-30, 3e38, -1e-300, 12345.678};
        CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
        for (int k = 0; k < 6; k++) CHECK_MSG(a.data[k] == (float)want[k], "f64 [%d]: %g", k, a.data[k]);
        nc_npy_free(&a);
    }
    rc = nc_npy_read(FIX "vec5.npy", &a, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        CHECK(a.ndim == 1 && a.shape[0] == 5 && a.data[0] == 1.5f && a.data[1] == -2 && isinf(a.data[3]));
        CHECK(a.data[4] == 1e-42f); /* subnormal kept */
        nc_npy_free(&a);
    }
    rc = nc_npy_read(FIX "mixed_scalar.npy", &a, &e);
    CHECK_MSG(rc == 0 && a.ndim == 0 && a.numel == 1 && a.data[0] == 7.25f, "%s", e.msg);
    nc_npy_free(&a);
    rc = nc_npy_read(FIX "empty_0x3.npy", &a, &e);
    CHECK_MSG(rc == 0 && a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.numel == 0, "%s", e.msg);
    nc_npy_free(&a);
    const char *vers[2] = {FIX "v2.npy", FIX "v3.npy"};
    for (int v = 0; v < 2; v++) {
        rc = nc_npy_read(vers[v], &a, &e);
        CHECK_MSG(rc == 0 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 2 && a.data[5] == 5, "%s", e.msg);
        nc_npy_free(&a);
    }
    CHECK(nc_npy_read(FIX "bad_fortran.npy", &a, &e) == -1 && strstr(e.msg, "bad_fortran.npy: Fortran-order"));
    CHECK(nc_npy_read(FIX "bad_bigendian.npy", &a, &e) == -1 && strstr(e.msg, "bad_bigendian.npy: big-endian"));
    CHECK(nc_npy_read(FIX "bad_int64.npy", &a, &e) == -1 && strstr(e.msg, "bad_int64.npy: dtype '<i8'"));
    CHECK(nc_npy_read(FIX "no-such-file.npy", &a, &e) == -1 && strstr(e.msg, "no-such-file.npy: cannot open"));
}

static int file_equals(const char *p, const char *q) {
    char *a, *b;
    size_t la, lb;
    NcError e;
    if (nc_read_file(p, &a, &la, &e) != 0) return 0;
    if (nc_read_file(q, &b, &lb, &e) != 0) {
        free(a);
        return 0;
    }
    int same = la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

static void test_writer(void) {
    char path[] = "/tmp/netc_test_npy_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    NcError e = {{0}};
    NcNpy a;
    int64_t sh[3] = {2, 2, 3};
    float v[12] = {1, -0.0f, NAN, INFINITY, 1e-45f, 6, 7, 8, 9, 10, 11, 12};
    CHECK_MSG(nc_npy_write_f32(path, 3, sh, v, &e) == 0, "%s", e.msg);
    int rc = nc_npy_read(path, &a, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc == 0) {
        CHECK(a.ndim == 3 && a.shape[2] == 3 && a.numel == 12 && memcmp(a.data, v, sizeof v) == 0);
        nc_npy_free(&a);
    }
    char *buf;
    size_t len;
    if (nc_read_file(path, &buf, &len, &e) == 0) {
        CHECK(len == 128 + 48 && buf[127] == '\n'); /* data 64-byte aligned, as numpy does */
        free(buf);
    }
    /* Byte-identical to what np.save wrote for the same arrays. */
    float s = 7.25f;
    CHECK(nc_npy_write_f32(path, 0, NULL, &s, &e) == 0);
    CHECK_MSG(file_equals(path, FIX "mixed_scalar.npy"), "0-d file differs from numpy's");
    float v5[5] = {1.5f, -2.0f, 0.0f, INFINITY, 1e-42f};
    int64_t five = 5;
    CHECK(nc_npy_write_f32(path, 1, &five, v5, &e) == 0);
    CHECK_MSG(file_equals(path, FIX "vec5.npy"), "1-d file differs from numpy's");
    int64_t z[2] = {0, 3};
    CHECK(nc_npy_write_f32(path, 2, z, NULL, &e) == 0);
    CHECK_MSG(file_equals(path, FIX "empty_0x3.npy"), "empty file differs from numpy's");

    int64_t neg[1] = {-1};
    CHECK(nc_npy_write_f32(path, 1, neg, v, &e) == -1 && strstr(e.msg, "negative dimension -1"));
    CHECK(nc_npy_write_f32(path, 9, sh, v, &e) == -1 && strstr(e.msg, "9-dimensional"));
    CHECK(nc_npy_write_f32(path, 1, sh, NULL, &e) == -1 && strstr(e.msg, "no data"));
    CHECK(nc_npy_write_f32("/nonexistent-dir/a.npy", 1, sh, v, &e) == -1 && strstr(e.msg, "/nonexistent-dir/a.npy"));
    remove(path);
}

int main(void) {
    test_headers();
    test_magic_and_lengths();
    test_numpy_files();
    test_writer();
    TEST_MAIN_END();
}
