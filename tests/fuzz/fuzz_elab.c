/* fuzz_elab.c — libFuzzer target for the .nn evaluator: the input is the body
 * of a model (statements, no braces needed around it) placed between a few
 * definitions and `return x`, so nearly every mutation reaches elaboration
 * instead of stopping at a syntax error, as most of fuzz_nn's do.  A 16 MB
 * memory budget makes list-growing loops fail fast.  The same promises as
 * fuzz_nn: a verified graph or a clean error.  (Included by
 * tests/unit/test_fuzz_regress.c with NC_FUZZ_NO_MAIN, after fuzz_nn.c.) */
#ifdef NC_FUZZ_NO_MAIN
#include "tests/fuzz/fuzz_main.h"
#include "fuzz_nn.c"
#else
#define NC_FUZZ_NO_MAIN
#include "fuzz_nn.c"
#undef NC_FUZZ_NO_MAIN
#endif

static void fuzz_elab_one(const uint8_t *data, size_t size) {
    static const char head[] = "def block(x, c, s = 1) {\n"
                               "    return relu(bn: batch_norm(conv: conv2d(x, c, 3, stride = s)))\n"
                               "}\n"
                               "def twice(f, v) { return f(f(v)) }\n"
                               "model m(x, k = 3, l = [1, 2, 3], s = \"a\") {\n";
    static const char tail[] = "\n    return x\n}\n";
    if (size > 1 << 14) return;
    size_t n = sizeof head - 1 + size + sizeof tail - 1;
    char *text = malloc(n + 1);
    if (!text) return;
    memcpy(text, head, sizeof head - 1);
    memcpy(text + sizeof head - 1, data, size);
    memcpy(text + sizeof head - 1 + size, tail, sizeof tail);
    fuzz_nn_text(text, n, (size_t)16 << 20);
    free(text);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_elab_one)
#endif
