/* embed.c — a program that links a model compiled with --emit obj: the
 * generated header gives the sizes, the caller owns the arena, the runtime
 * library runs it.  Prints the logits' argmax and checksum for the test. */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/bundle.h"
#include "runtime/support/detinit.h"
#include "tiny.h"

int main(void) {
    NcBundle b;
    NcError e;
    if (nc_bundle_open(netc_bundle, (size_t)(netc_bundle_end - netc_bundle), NULL, &b, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    static float x[NETC_tiny_P0_BATCH * 3 * NETC_tiny_P0_HEIGHT * NETC_tiny_P0_WIDTH];
    static float y[NETC_tiny_P0_OUTPUT_FLOATS];
    static _Alignas(NETC_tiny_P0_ALIGN) unsigned char arena[NETC_tiny_P0_ARENA_BYTES + 64];
    nc_det_fill_input(x, sizeof x / sizeof *x);
    nc_bundle_run(&b, 0, x, y, arena);
    for (int i = 0; i < NETC_tiny_P0_OUTPUT_FLOATS; i++) printf("%.9g\n", (double)y[i]);
    nc_bundle_close(&b);
    return 0;
}
