/* fuzz_npy.c — libFuzzer target: nc_npy_parse on arbitrary bytes; what it
 * accepts must be self-consistent. Replayed by tests/unit/test_fuzz_regress.c
 * (included with NC_FUZZ_NO_MAIN). */
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>

#include "runtime/support/npy.h"

static void fuzz_npy_one(const uint8_t *data, size_t size) {
    NcNpy a;
    NcError e;
    e.msg[0] = 0;
    if (nc_npy_parse(data, size, "fuzz.npy", &a, &e) != 0) {
        if (e.msg[0] == 0 || a.data != NULL) abort();
        return;
    }
    int64_t n = 1;
    for (int k = 0; k < a.ndim; k++) n *= a.shape[k];
    if (a.ndim < 0 || a.ndim > NC_NPY_MAXDIM || n != a.numel || !a.data) abort();
    if ((uint64_t)a.numel * 4 > size) abort(); /* at least 4 input bytes per value */
    volatile float sink = 0;
    for (int64_t k = 0; k < a.numel; k++) sink += a.data[k]; /* every value readable */
    (void)sink;
    nc_npy_free(&a);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_npy_one)
#endif
