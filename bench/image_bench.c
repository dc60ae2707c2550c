/* image_bench.c — decode + timm eval transform throughput of netc's image
 * pipeline (runtime/image/loader.h). Not a test; bench/image_pipeline.py
 * builds it against a netc build's libnetc_core.a and compares it with PIL +
 * timm.
 *
 *   image_bench [--res 448] [--crop 0.875] [--interp bicubic] [--threads N]
 *               [--batch 16] [--repeat 7] FILE...
 *
 * Each repeat pushes every file through the loader in batches, double
 * buffered the way an inference loop would use it (batch k+1 is submitted
 * before batch k is waited for), and times the whole pass. Prints the median
 * images/s, then (one thread, no loader) the median share of time spent
 * decoding vs transforming. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "runtime/image/loader.h"

int main(int argc, char **argv) {
    int res = 448, threads = 1, batch = 16, repeat = 7;
    double crop = 0.875;
    const char *interp = "bicubic";
    int nfiles = 0;
    const char **files = nc_malloc(sizeof(char *) * (size_t)argc);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--res") && i + 1 < argc)
            res = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crop") && i + 1 < argc)
            crop = atof(argv[++i]);
        else if (!strcmp(argv[i], "--interp") && i + 1 < argc)
            interp = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else
            files[nfiles++] = argv[i];
    }
    if (nfiles == 0 || batch < 1 || repeat < 1) {
        fprintf(
            stderr,
            "usage: image_bench [--res R] [--crop C] [--interp I] [--threads N] [--batch B] [--repeat K] FILE...\n");
        return 2;
    }
    NcError e;
    NcTransform t = nc_transform_default(res, res);
    t.crop_pct = crop;
    if (nc_interp_parse(interp, &t.interp, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    NcImageLoader *l;
    if (nc_image_loader_open(&l, threads, 1, &t, 0, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    size_t per = (size_t)3 * res * res;
    float *buf[2] = {nc_malloc(sizeof(float) * per * batch), nc_malloc(sizeof(float) * per * batch)};
    NcImageResult *resu[2] = {nc_calloc((size_t)batch, sizeof(NcImageResult)),
                              nc_calloc((size_t)batch, sizeof(NcImageResult))};
    double *times = nc_malloc(sizeof(double) * (size_t)(repeat + 1));
    int failed = 0;
    for (int r = 0; r <= repeat; r++) { /* repeat 0 warms the page cache */
        double t0 = nc_now();
        int cur = 0, start = 0;
        int n0 = nfiles < batch ? nfiles : batch;
        NcImageBatch *pending = nc_image_loader_submit(l, files, n0, &buf[0], resu[0]);
        while (pending) {
            int n = start + batch <= nfiles ? batch : nfiles - start;
            failed += nc_image_batch_wait(pending);
            pending = NULL;
            int next = start + n;
            if (next < nfiles) {
                int nn = next + batch <= nfiles ? batch : nfiles - next;
                pending = nc_image_loader_submit(l, files + next, nn, &buf[cur ^ 1], resu[cur ^ 1]);
            }
            /* the consumer would compute on buf[cur] here */
            volatile float sink = buf[cur][0] + buf[cur][per * (size_t)(n - 1)];
            (void)sink;
            start = next;
            cur ^= 1;
        }
        times[r] = nc_now() - t0;
    }
    nc_image_loader_close(l);
    if (failed) fprintf(stderr, "warning: %d file(s) failed\n", failed);
    double med = bench_median(times + 1, repeat);
    printf("netc threads=%d images=%d res=%d median_s=%.4f images_per_s=%.2f\n", threads, nfiles, res, med,
           nfiles / med);

    /* Stage split, one thread, sequential. */
    double *dec = nc_malloc(sizeof(double) * (size_t)repeat), *tra = nc_malloc(sizeof(double) * (size_t)repeat);
    for (int r = 0; r < repeat && threads == 1; r++) {
        dec[r] = tra[r] = 0;
        for (int i = 0; i < nfiles; i++) {
            NcImage img;
            double t0 = nc_now();
            if (nc_image_read(files[i], 0, &img, &e) != 0) continue;
            double t1 = nc_now();
            nc_image_transform(&img, &t, buf[0], &e);
            double t2 = nc_now();
            dec[r] += t1 - t0;
            tra[r] += t2 - t1;
            nc_image_free(&img);
        }
    }
    if (threads == 1) {
        double d = bench_median(dec, repeat), tr = bench_median(tra, repeat);
        printf("netc stages (1 thread): decode_s=%.4f transform_s=%.4f decode_share=%.3f\n", d, tr, d / (d + tr));
    }
    free(dec), free(tra), free(times), free(buf[0]), free(buf[1]), free(resu[0]), free(resu[1]), free(files);
    return failed ? 1 : 0;
}
