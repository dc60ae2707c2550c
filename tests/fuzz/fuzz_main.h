/* fuzz_main.h — libFuzzer's entry point around a target's one-input function.
 * A target ends with
 *
 *   #ifndef NC_FUZZ_NO_MAIN
 *   NC_FUZZ_MAIN(fuzz_x_one)
 *   #endif
 *
 * so that tests/unit/test_fuzz_regress.c can include it (with NC_FUZZ_NO_MAIN)
 * and replay the corpus through fuzz_x_one. */
#ifndef NETC_FUZZ_MAIN_H
#define NETC_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

#define NC_FUZZ_MAIN(one)                                                                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                                      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                                                     \
        one(data, size);                                                                                               \
        return 0;                                                                                                      \
    }

#endif
