/* fuzz_nn.c — libFuzzer target for the .nn frontend: tokenizer, parser and
 * elaborator on arbitrary text, at a small resolution, imports disabled (so
 * an input cannot make it read files), with a 64 MB memory budget (so inputs
 * that build ever longer lists reach the budget's error in milliseconds, not
 * the fuzzer's RSS limit).  Every input must end in a verified graph or a
 * clean error.  (Included by tests/unit/test_fuzz_regress.c with
 * NC_FUZZ_NO_MAIN.) */
#ifndef FUZZ_NN_C
#define FUZZ_NN_C
#include "tests/fuzz/fuzz_main.h"
#include <string.h>

#include "frontend/nn.h"

/* Elaborates text at 32x32 within memory_limit bytes; aborts on a broken promise. */
static void fuzz_nn_text(const char *text, size_t size, size_t memory_limit) {
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = opt.width = 32;
    opt.batch = 1;
    opt.no_imports = 1;
    opt.memory_limit = memory_limit;
    NcError e;
    e.msg[0] = 0;
    NcGraph *g = nc_nn_elaborate_text("fuzz.nn", text, size, NULL, &opt, &e);
    if (g) {
        if (nc_graph_verify(g, &e)) abort(); /* an accepted graph must verify */
        nc_graph_free(g);
    } else if (!e.msg[0]) {
        abort(); /* every failure has a message */
    }
}

/* unused where fuzz_elab.c includes this file for fuzz_nn_text */
__attribute__((unused)) static void fuzz_nn_one(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return;
    fuzz_nn_text((const char *)data, size, (size_t)64 << 20);
}
#endif

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_nn_one)
#endif
