/* test_cuda_gemm_epi.c — nc_dev_gemm_epi (a GEMM with its bias, or bias then
 * relu, fused: device.h) in the emulator and, where libcuda.so.1 opens,
 * through device_cuda.c and device_cublaslt.c (CI: the stand-ins of
 * tests/cuda/fake_cuda.c; a GPU where there is one), against the product
 * computed here: every combination of the bias per row / per column of C, B
 * read transposed or not, one product or a batch of 3 (A shared or not), bias
 * alone or with relu, f32 or bf16 operands, operands at their allocations'
 * addresses or one element past (the alignments the heuristic is told).  The
 * emulator and the stand-in sum in double like the reference, so they must
 * give its bits; a GPU (f32 sums) within 1e-5 of the
 * largest magnitude, and may refuse a shape (then reported, not failed).  The
 * stand-in must fuse every one (0). */
#include <math.h>
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

enum { M = 5, N = 7, K = 3, B = 3, SPAN = B * 64 };

static uint16_t to_bf16(float f) { /* round to nearest even (no NaN here) */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static float from_bf16(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* One case on device d: returns 1 where the device refused it (nothing to compare). */
static int one_case(NcDevice *d, int strict, int rows, int tb, int batch, int shared_a, int relu, int bf16, int off) {
    static float a[SPAN], b[SPAN], bias[16], want[SPAN], got[SPAN];
    static uint16_t a16[SPAN], b16[SPAN];
    const int es = bf16 ? 2 : 4;
    NcDevGemm g = {.m = M, .n = N, .k = K, .trans_b = tb, .batch = batch, .bf16 = bf16, .bias_rows = rows};
    g.epilogue = relu ? NC_DEV_EPI_BIAS_RELU : NC_DEV_EPI_BIAS;
    g.stride_a = shared_a ? 0 : M * K, g.stride_b = K * N, g.stride_c = M * N;
    for (int i = 0; i < SPAN; i++) {
        a[i] = (float)((i * 37 % 23) - 11) / 8, b[i] = (float)((i * 53 % 29) - 14) / 16;
        if (bf16) a16[i] = to_bf16(a[i]), b16[i] = to_bf16(b[i]), a[i] = from_bf16(a16[i]), b[i] = from_bf16(b16[i]);
    }
    for (int i = 0; i < 16; i++) bias[i] = (float)(i % 5) / 3 - 0.7f;
    for (int q = 0; q < batch; q++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double acc = 0;
                for (int p = 0; p < K; p++)
                    acc += (double)a[q * g.stride_a + i * K + p] * b[q * g.stride_b + (tb ? j * K + p : p * N + j)];
                float v = (float)acc + bias[rows ? i : j];
                want[q * g.stride_c + i * N + j] = relu && v < 0 ? 0 : v;
            }
    NcError e;
    char *da = NULL, *db = NULL, *dc = NULL, *dbias = NULL;
    int ok = !nc_dev_alloc(d, (void **)&da, SPAN * 4 + 64, &e) && !nc_dev_alloc(d, (void **)&db, SPAN * 4 + 64, &e) &&
             !nc_dev_alloc(d, (void **)&dc, SPAN * 4 + 64, &e) && !nc_dev_alloc(d, (void **)&dbias, 64 + 64, &e);
    /* off: every operand one element past its allocation (the alignments cuBLASLt's heuristic is told) */
    char *pa = da + off * es, *pb = db + off * es, *pc = dc + off * 4, *pbias = dbias + off * 4;
    ok = ok && !nc_dev_upload(d, pa, bf16 ? (void *)a16 : (void *)a, (size_t)SPAN * es, &e) &&
         !nc_dev_upload(d, pb, bf16 ? (void *)b16 : (void *)b, (size_t)SPAN * es, &e) &&
         !nc_dev_upload(d, pbias, bias, sizeof bias, &e);
    const int r = ok ? nc_dev_gemm_epi(d, &g, (float *)pa, (float *)pb, (float *)pc, (float *)pbias, &e) : -1;
    ok = ok && r >= 0 && !nc_dev_sync(d, &e) && !nc_dev_download(d, got, pc, (size_t)SPAN * 4, &e);
    char what[160];
    snprintf(what, sizeof what, "%s: bias per %s, B%s, batch %d%s, %s, %s, %s", nc_dev_name(d), rows ? "row" : "column",
             tb ? "^T" : "", batch, shared_a ? " (A shared)" : "", relu ? "bias+relu" : "bias", bf16 ? "bf16" : "f32",
             off ? "one element past its allocation" : "at its allocation");
    CHECK(ok, "%s: %s", what, r < 0 ? e.msg : "device error");
    CHECK(!strict || r == 0, "%s: not fused (%d)", what, r);
    if (ok && r == 0) {
        double worst = 0, big = 0;
        for (int i = 0; i < batch * M * N; i++) {
            worst = fmax(worst, fabs((double)got[i] - want[i]));
            big = fmax(big, fabs(want[i]));
        }
        CHECK(strict ? worst == 0 : worst <= 1e-5 * big, "%s: max |got - want| %g (max |want| %g)", what, worst, big);
    }
    nc_dev_free(d, da), nc_dev_free(d, db), nc_dev_free(d, dc), nc_dev_free(d, dbias);
    return r == 1;
}

static void run(NcDevice *d, int strict) {
    int refused = 0, cases = 0;
    for (int rows = 0; rows < 2; rows++)
        for (int tb = 0; tb < 2; tb++)
            for (int bt = 0; bt < 3; bt++) /* batch 1; batch 3; batch 3, A shared */
                for (int relu = 0; relu < 2; relu++)
                    for (int bf16 = 0; bf16 < 2; bf16++)
                        for (int off = 0; off < 2; off++, cases++)
                            refused += one_case(d, strict, rows, tb, bt ? B : 1, bt == 2, relu, bf16, off);
    printf("%s: %d cases, %d fused, %d refused by the device\n", nc_dev_name(d), cases, cases - refused, refused);
}

int main(void) {
    NcError e;
    NcDevice *emu = nc_dev_open("emulate", &e);
    run(emu, 1);
    nc_dev_close(emu);
    NcDevice *gpu = nc_dev_open("cuda", &e);
    if (gpu) {
        const int fake = !strncmp(nc_dev_name(gpu), "fake GPU", 8);
        run(gpu, fake);
        nc_dev_close(gpu);
    } else {
        printf("no CUDA device here: %s\n", e.msg);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
