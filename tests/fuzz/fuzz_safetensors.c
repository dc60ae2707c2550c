/* fuzz_safetensors.c — libFuzzer target: nc_st_parse on arbitrary bytes, then
 * every accessor on what it accepted. Invariants a valid parse promises are
 * checked with abort(), so a violation shows up as a crash.
 *
 * tests/unit/test_fuzz_regress.c includes this file with NC_FUZZ_NO_MAIN to
 * replay the corpus and every past crash in the ordinary test suite. */
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>

#include "runtime/support/safetensors.h"

static void fuzz_safetensors_one(const uint8_t *data, size_t size) {
    NcSafetensors st;
    NcError e;
    e.msg[0] = 0;
    if (nc_st_parse(data, size, "fuzz.safetensors", &st, &e) != 0) {
        if (e.msg[0] == 0) abort(); /* every failure has a message */
        return;
    }
    uint64_t covered = 0;
    for (int k = 0; k < st.ntensors; k++) {
        const NcStTensor *t = &st.tensors[k];
        if (nc_st_find(&st, t->name) != t) abort(); /* names are unique */
        if (t->begin > t->end || t->end > size - st.data_start) abort();
        covered += t->end - t->begin;
        /* numel * dtype size equals the byte length, so this allocation is
         * bounded by the input size. */
        float *dst = malloc((size_t)t->numel * sizeof(float) + 1);
        NcError re;
        re.msg[0] = 0;
        if (nc_st_read_f32(&st, t, dst, &re) != 0 && re.msg[0] == 0) abort();
        free(dst);
    }
    if (covered != size - st.data_start) abort(); /* tensors tile the data */
    for (int k = 0; k < st.nmeta; k++)
        if (nc_st_meta(&st, st.meta_keys[k]) == NULL) abort();
    nc_st_close(&st);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_safetensors_one)
#endif
