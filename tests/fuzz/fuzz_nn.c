/* fuzz_nn.c — libFuzzer target for the .nn frontend: tokenizer, parser and
 * elaborator on arbitrary text, at a small resolution, imports disabled (so
 * an input cannot make it read files).  Every input must end in a graph or a
 * clean error. */
#include <string.h>

#include "frontend/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = opt.width = 32;
    opt.batch = 1;
    opt.no_imports = 1;
    NcError e;
    NcGraph *g = nc_nn_elaborate_text("fuzz.nn", (const char *)data, size, NULL, &opt, &e);
    if (g) {
        if (nc_graph_verify(g, &e)) __builtin_trap(); /* an accepted graph must verify */
        nc_graph_free(g);
    }
    return 0;
}
