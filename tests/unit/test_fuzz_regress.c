/* test_fuzz_regress.c — replays the fuzz corpora (tests/fuzz/corpus/<target>/)
 * and every input a fuzzer ever crashed on (tests/fuzz/regress/<target>/)
 * through the same code the fuzz targets run, so the ordinary (sanitizer)
 * test suite keeps them fixed without needing clang or libFuzzer. Each input
 * goes through every target: any input must be handled cleanly by any
 * parser. The targets abort() if a parser breaks an invariant. */
#include <dirent.h>
#include <string.h>

#include "check.h"

#define NC_FUZZ_NO_MAIN
#include "../fuzz/fuzz_bundle.c"
#include "../fuzz/fuzz_image.c"
#include "../fuzz/fuzz_json.c"
#include "../fuzz/fuzz_list.c"
#include "../fuzz/fuzz_nn.c"
#include "../fuzz/fuzz_elab.c" /* after fuzz_nn.c, whose helper it uses */
#include "../fuzz/fuzz_npy.c"
#include "../fuzz/fuzz_onnx.c"
#include "../fuzz/fuzz_safetensors.c"
#include "../fuzz/fuzz_serve.c"

static const char *const targets[] = {"fuzz_safetensors", "fuzz_npy",   "fuzz_json", "fuzz_nn",    "fuzz_elab",
                                      "fuzz_bundle",      "fuzz_image", "fuzz_list", "fuzz_serve", "fuzz_onnx"};

/* Replay every file in dir; returns how many there were (0 if no dir). */
static int replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue; /* ".", "..", and README-like dotfiles */
        char *path = nc_sprintf("%s/%s", dir, ent->d_name);
        char *buf;
        size_t len;
        NcError e;
        if (nc_read_file(path, &buf, &len, &e) == 0) {
            fuzz_safetensors_one((const uint8_t *)buf, len);
            fuzz_npy_one((const uint8_t *)buf, len);
            fuzz_json_one((const uint8_t *)buf, len);
            fuzz_nn_one((const uint8_t *)buf, len);
            fuzz_elab_one((const uint8_t *)buf, len);
            fuzz_bundle_one((const uint8_t *)buf, len);
            fuzz_image_one((const uint8_t *)buf, len);
            fuzz_list_one((const uint8_t *)buf, len);
            fuzz_serve_one((const uint8_t *)buf, len);
            fuzz_onnx_one((const uint8_t *)buf, len);
            free(buf);
            n++;
        } else {
            CHECK_MSG(0, "%s", e.msg);
        }
        free(path);
    }
    closedir(d);
    return n;
}

int main(void) {
    int regress = 0;
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
        char *corpus = nc_sprintf("%s/tests/fuzz/corpus/%s", NETC_SOURCE_DIR, targets[t]);
        char *past = nc_sprintf("%s/tests/fuzz/regress/%s", NETC_SOURCE_DIR, targets[t]);
        int n = replay_dir(corpus);
        CHECK_MSG(n > 0, "no seed corpus in %s", corpus);
        regress += replay_dir(past);
        printf("%s: %d corpus inputs replayed\n", targets[t], n);
        free(corpus);
        free(past);
    }
    printf("%d past crash inputs replayed\n", regress);
    /* A few edge inputs that need no file. */
    fuzz_safetensors_one((const uint8_t *)"", 0);
    fuzz_npy_one((const uint8_t *)"", 0);
    fuzz_json_one((const uint8_t *)"", 0);
    fuzz_nn_one((const uint8_t *)"", 0);
    fuzz_elab_one((const uint8_t *)"", 0);
    fuzz_bundle_one((const uint8_t *)"", 0);
    fuzz_image_one((const uint8_t *)"", 0);
    fuzz_list_one((const uint8_t *)"", 0);
    fuzz_serve_one((const uint8_t *)"", 0);
    fuzz_onnx_one((const uint8_t *)"", 0);
    CHECK(1);
    TEST_MAIN_END();
}
