/* fuzz_bundle.c — libFuzzer target for the compiled-bundle reader that every
 * netc program runs at start (runtime/bundle.c): any bytes must be either a
 * bundle whose every table, offset and node was validated, or a clean error.
 * (Included by tests/unit/test_fuzz_regress.c with NC_FUZZ_NO_MAIN.) */
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle.h"

static void fuzz_bundle_one(const uint8_t *data, size_t size) {
    /* the reader expects 64-byte aligned memory, as the linker places it */
    void *buf = aligned_alloc(64, (size + 64) / 64 * 64);
    if (!buf) return;
    if (size) memcpy(buf, data, size);
    NcBundle b;
    NcError e;
    e.msg[0] = 0;
    if (nc_bundle_open(buf, size, NULL, &b, &e) == 0)
        nc_bundle_close(&b);
    else if (!e.msg[0])
        abort();
    free(buf);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_bundle_one)
#endif
