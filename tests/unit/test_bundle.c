/* test_bundle.c — the bundle reader: a bundle netc wrote opens; every
 * truncation of it and every single-byte corruption of its headers and
 * tables is refused with a message or still validates, never crashes; every
 * changed byte of its weights is refused by their checksum. */
#include <string.h>

#include "check.h"
#include "runtime/bundle.h"

int main(void) {
    char *path = nc_sprintf("%s/tests/fuzz/corpus/fuzz_bundle/tiny16.bundle", NETC_SOURCE_DIR);
    char *data;
    size_t len;
    NcError e;
    CHECK(nc_read_file(path, &data, &len, &e) == 0);
    unsigned char *buf = aligned_alloc(64, (len + 64) / 64 * 64);
    memcpy(buf, data, len);
    NcBundle b;
    CHECK_MSG(nc_bundle_open(buf, len, NULL, &b, &e) == 0, "%s", e.msg);
    CHECK(b.nprograms == 1 && b.programs[0].h->height == 16 && b.programs[0].h->batch == 1);
    nc_bundle_close(&b);
    int refused = 0;
    for (size_t n = 0; n < len; n += 7) refused += nc_bundle_open(buf, n, NULL, &b, &e) != 0;
    CHECK_MSG(refused == (int)((len + 6) / 7), "a truncated bundle was accepted");
    size_t weights_at = ((const NcBundleHeader *)buf)->weights_offset;
    int flips = 0, errors = 0;
    for (size_t i = 0; i < weights_at; i++) {
        unsigned char old = buf[i];
        buf[i] ^= 0xA5;
        if (nc_bundle_open(buf, len, NULL, &b, &e) == 0)
            nc_bundle_close(&b);
        else
            errors += e.msg[0] != 0;
        buf[i] = old;
        flips++;
    }
    printf("%d corruptions tried, %d refused with a message\n", flips, errors);
    CHECK(errors > 0);
    /* every changed byte of the embedded weights is caught by their checksum */
    const size_t wbytes = ((const NcBundleHeader *)buf)->weights_bytes;
    int caught = 0, tried = 0;
    for (size_t i = weights_at; i < weights_at + wbytes; i += 13, tried++) {
        buf[i] ^= 0x01;
        if (nc_bundle_open(buf, len, NULL, &b, &e) == 0)
            nc_bundle_close(&b);
        else
            caught += strstr(e.msg, "weights are corrupt") != NULL;
        buf[i] ^= 0x01;
    }
    CHECK_MSG(tried > 10 && caught == tried, "%d of %d changed weight bytes caught", caught, tried);
    /* a bundle of another version (an older netc's kernel table would be
     * misread) is refused, and the message says what to do */
    ((NcBundleHeader *)buf)->version = NC_BUNDLE_VERSION - 1;
    CHECK(nc_bundle_open(buf, len, NULL, &b, &e) != 0 && strstr(e.msg, "bundle version") &&
          strstr(e.msg, "compile the model again"));
    ((NcBundleHeader *)buf)->version = NC_BUNDLE_VERSION;
    memcpy(buf, "NOTABNDL", 8);
    CHECK(nc_bundle_open(buf, len, NULL, &b, &e) != 0 && strstr(e.msg, "not a netc bundle"));
    free(buf);
    free(data);
    free(path);
    TEST_MAIN_END();
}
