/* test_cuda_streams.c — the device layer's overlap (device.h: pinned host
 * memory, the copy stream, events, async copies) in the emulator and, where
 * libcuda.so.1 opens, through device_cuda.c (CI: the stand-in of
 * tests/cuda/fake_cuda.c; a GPU where there is one).  An upload on the copy
 * stream, a GEMM on the compute stream that waits for its event and reads what
 * was uploaded, an async download, the host reading after the download's
 * event: the right values.  Then the same with the wait left out, and with the
 * host's synchronisation left out: the emulator and the stand-in hold a copy
 * back until something waits for it, so both must read the old bytes — a
 * missing wait is caught by a wrong answer, not passed by luck.  (Not on a
 * real GPU, where the copy may or may not have run.) */
#include <stdio.h>
#include <string.h>

#include "runtime/device/device.h"

static int passed, failed;
#define CHECK(c, ...)                                                                                                  \
    do {                                                                                                               \
        if (c)                                                                                                         \
            passed++;                                                                                                  \
        else {                                                                                                         \
            failed++;                                                                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                                \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
        }                                                                                                              \
    } while (0)

enum { N = 1000 };

/* One round: h_in's values up (copy stream), c = 1 . b on the compute stream (a 1 x N x 1 GEMM), c down
 * into h_out; wait: the compute stream waits for the upload's event; sync: the host for the download's.
 * Returns how many of the N outputs equal round's values. */
static int round_trip(NcDevice *d, int round, int wait, int sync, float *h_in, float *h_out, float *one, float *b,
                      float *c, void *up, void *down) {
    NcError e;
    for (int i = 0; i < N; i++) h_in[i] = (float)(round * N + i), h_out[i] = -1;
    int ok = !nc_dev_copy_async(d, NC_DEV_COPY, NC_DEV_H2D, b, h_in, N * 4, &e) &&
             !nc_dev_event_record(d, up, NC_DEV_COPY, &e) &&
             (!wait || !nc_dev_stream_wait(d, NC_DEV_COMPUTE, up, &e)) && !nc_dev_gemm(d, 1, N, 1, one, b, c, &e) &&
             !nc_dev_copy_async(d, NC_DEV_COMPUTE, NC_DEV_D2H, h_out, c, N * 4, &e) &&
             !nc_dev_event_record(d, down, NC_DEV_COMPUTE, &e) && (!sync || !nc_dev_event_sync(d, down, &e));
    CHECK(ok, "%s: round %d: %s", nc_dev_name(d), round, e.msg);
    int same = 0;
    for (int i = 0; i < N; i++) same += h_out[i] == (float)(round * N + i);
    if (!sync && nc_dev_event_sync(d, down, &e)) CHECK(0, "%s", e.msg); /* finish before the buffers are reused */
    if (!wait && nc_dev_sync(d, &e)) CHECK(0, "%s", e.msg);
    return same;
}

static void run(NcDevice *d, int strict) {
    NcError e;
    CHECK(nc_dev_has_streams(d), "%s has no streams", nc_dev_name(d));
    if (!nc_dev_has_streams(d)) return;
    float *h_in = NULL, *h_out = NULL, *one = NULL, *b = NULL, *c = NULL;
    void *up = NULL, *down = NULL;
    const float f1 = 1;
    CHECK(!nc_dev_host_alloc(d, (void **)&h_in, N * 4, &e) && !nc_dev_host_alloc(d, (void **)&h_out, N * 4, &e) &&
              !nc_dev_alloc(d, (void **)&one, 4, &e) && !nc_dev_alloc(d, (void **)&b, N * 4, &e) &&
              !nc_dev_alloc(d, (void **)&c, N * 4, &e) && !nc_dev_upload(d, one, &f1, 4, &e) &&
              !nc_dev_event_create(d, &up, &e) && !nc_dev_event_create(d, &down, &e),
          "%s: setting up: %s", nc_dev_name(d), e.msg);
    CHECK(round_trip(d, 1, 1, 1, h_in, h_out, one, b, c, up, down) == N, "%s: waited for: wrong values", d->name);
    CHECK(round_trip(d, 2, 1, 1, h_in, h_out, one, b, c, up, down) == N, "%s: again: wrong values", d->name);
    if (strict) {
        /* no wait: the GEMM runs before the upload and reads round 2's values */
        CHECK(round_trip(d, 3, 0, 1, h_in, h_out, one, b, c, up, down) == 0, "%s: a missing stream wait was not caught",
              d->name);
        /* no host synchronisation: the host reads h_out before the download */
        CHECK(round_trip(d, 4, 1, 0, h_in, h_out, one, b, c, up, down) == 0,
              "%s: a missing event synchronisation was not caught", d->name);
        CHECK(round_trip(d, 5, 1, 1, h_in, h_out, one, b, c, up, down) == N, "%s: after: wrong values", d->name);
    }
    CHECK(!nc_dev_sync(d, &e), "%s", e.msg);
    nc_dev_event_free(d, up), nc_dev_event_free(d, down);
    nc_dev_free(d, one), nc_dev_free(d, b), nc_dev_free(d, c);
    nc_dev_host_free(d, h_in), nc_dev_host_free(d, h_out);
}

int main(void) {
    NcError e;
    NcDevice *emu = nc_dev_open("emulate", &e);
    run(emu, 1);
    nc_dev_close(emu);
    NcDevice *gpu = nc_dev_open("cuda", &e);
    if (gpu) {
        const int fake = !strncmp(nc_dev_name(gpu), "fake GPU", 8);
        printf("%s%s\n", nc_dev_name(gpu), fake ? ": the missing waits must be caught" : ": the right order only");
        run(gpu, fake);
        nc_dev_close(gpu);
    } else {
        printf("no CUDA device here: %s\n", e.msg);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
