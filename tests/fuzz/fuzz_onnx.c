/* fuzz_onnx.c — libFuzzer target for the ONNX importer (frontend/onnx/): the
 * protobuf parse, tensors (raw, typed, external), the symbol table and every
 * op mapping, at 16x16, batch 1.  External data is read relative to a scratch
 * folder holding one 4 KB file, w.bin, so inputs can reach the reader and the
 * checks that keep paths inside the folder.  Every input must end in a
 * verified graph or a clean error with a message.  (Included by
 * tests/unit/test_fuzz_regress.c with NC_FUZZ_NO_MAIN.) */
#ifndef FUZZ_ONNX_C
#define FUZZ_ONNX_C
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"

/* The scratch folder, made once per process. */
static const char *fuzz_onnx_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/netc-fuzz-onnx-XXXXXX");
        if (!mkdtemp(dir)) abort();
        char path[96];
        snprintf(path, sizeof path, "%s/w.bin", dir);
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        static float w[1024];
        for (int i = 0; i < 1024; i++) w[i] = (float)(i % 7) * 0.125f;
        fwrite(w, sizeof w, 1, f);
        fclose(f);
    }
    return dir;
}

__attribute__((unused)) static void fuzz_onnx_one(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return;
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = opt.width = 16;
    opt.batch = 1;
    opt.memory_limit = 64 << 20; /* computed constants (ConstantOfShape, folds): a budget, not an OOM */
    NcError e;
    e.msg[0] = 0;
    NcGraph *g = nc_onnx_import_mem("fuzz.onnx", data, size, fuzz_onnx_dir(), &opt, &e);
    if (g) {
        if (nc_graph_verify(g, &e)) abort(); /* an accepted graph must verify */
        for (int i = 0; i < g->values.len; i++)
            if (g->values.data[i].kind == NC_VAL_PARAM && !g->values.data[i].data) abort(); /* every weight bound */
        nc_graph_free(g);
    } else if (!e.msg[0]) {
        abort(); /* every failure has a message */
    }
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_onnx_one)
#endif
#endif
