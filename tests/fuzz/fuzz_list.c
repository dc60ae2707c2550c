/* fuzz_list.c — libFuzzer target: the image list files of `classify --list`
 * and `eval --list` (runtime/program/files.c) on arbitrary bytes; every entry it
 * accepts has a path under the root and a label in range.  Replayed by
 * tests/unit/test_fuzz_regress.c (included with NC_FUZZ_NO_MAIN). */
#include "tests/fuzz/fuzz_main.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/program/files.c"

static void fuzz_list_one(const uint8_t *data, size_t size) {
    char path[] = "/tmp/netc_fuzz_list_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    if (write(fd, data, size) != (ssize_t)size) size = 0;
    close(fd);
    for (int need = 0; need < 2; need++) {
        FileList l;
        memset(&l, 0, sizeof l);
        NcError e;
        e.msg[0] = 0;
        int rc = files_add_list(&l, path, "/root", need, 7, &e);
        if (rc && !e.msg[0]) abort();
        for (int i = 0; i < l.path.len; i++) {
            if (!l.path.data[i] || (l.path.data[i][0] != '/') || l.label.data[i] < -1 || l.label.data[i] >= 7) abort();
            if (need && l.label.data[i] < 0) abort();
        }
        files_free(&l);
    }
    unlink(path);
}

#ifndef NC_FUZZ_NO_MAIN
NC_FUZZ_MAIN(fuzz_list_one)
#endif
