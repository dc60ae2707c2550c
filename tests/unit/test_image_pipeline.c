/* test_image_pipeline.c — the image pipeline against PIL + timm, and its bad
 * input handling.
 *
 * 1. Every line of tests/fixtures/images/manifest.tsv (written by
 *    tools/make_image_fixtures.py): decode the image, run timm's eval
 *    transform, compare with the tensor timm made; passes when every value is
 *    within 1/255 before normalisation (|diff| * std <= 1/255 + 1e-6). The
 *    pipeline is meant to be bit-exact; the report says how many values were.
 * 2. EXIF orientation parser, resize-size rules, the transform on odd sizes,
 *    the AVX2 resampling against the portable code (identical bytes).
 * 3. Bad input: truncated, corrupt, zero-byte, non-image, header claiming
 *    60000 x 60000 (JPEG and PNG), directory, missing and unreadable files —
 *    each refused with a message naming the file and the reason.
 * 4. The batch loader: a bad file reported on its own while the others are
 *    produced exactly as one at a time; double-buffered submission; several
 *    transforms from one decode.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "runtime/image/loader.h"
#include "runtime/support/npy.h"

#define FIX NETC_FIXTURES_DIR "/images"

static char tmpdir[256];

static char *tmp_path(const char *name) { return nc_sprintf("%s/%s", tmpdir, name); }

static void write_bytes(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    NC_CHECK(f);
    if (n) NC_CHECK(fwrite(d, 1, n, f) == n);
    fclose(f);
}

static uint8_t *read_fixture(const char *name, size_t *len) {
    char *p = nc_sprintf("%s/%s", FIX, name);
    uint8_t *d;
    NcError e;
    if (nc_image_read_bytes(p, &d, len, &e) != 0) NC_FATAL("%s", e.msg);
    free(p);
    return d;
}

static size_t find(const uint8_t *d, size_t n, const char *pat, size_t m) {
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(d + i, pat, m) == 0) return i;
    return (size_t)-1;
}

static uint32_t crc32_png(const uint8_t *d, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* ---- 1. fixtures ------------------------------------------------------- */

static void parse3(const char *s, float v[3]) {
    char *end;
    for (int c = 0; c < 3; c++) {
        v[c] = (float)strtod(s, &end);
        s = *end == ',' ? end + 1 : end;
    }
}

static void test_fixtures(void) {
    char *manifest;
    size_t mlen;
    NcError e;
    if (nc_read_file(FIX "/manifest.tsv", &manifest, &mlen, &e) != 0) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    int cases = 0;
    double worst = 0;
    long long exact = 0, total = 0;
    printf("fixture                                  size      max |netc - timm| (x 1/255, before normalisation)\n");
    for (char *line = strtok(manifest, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *f[8];
        int nf = 0;
        for (char *p = line; nf < 8;) {
            f[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = 0;
            p = t + 1;
        }
        if (nf != 8) {
            CHECK_MSG(0, "manifest line with %d fields", nf);
            continue;
        }
        NcTransform t = nc_transform_default(atoi(f[1]), atoi(f[2]));
        t.crop_pct = strtod(f[3], NULL);
        CHECK(nc_interp_parse(f[4], &t.interp, &e) == 0);
        parse3(f[5], t.mean);
        parse3(f[6], t.std);
        char *ipath = nc_sprintf("%s/%s", FIX, f[0]), *tpath = nc_sprintf("%s/%s", FIX, f[7]);
        NcImage img;
        NcNpy ref;
        if (nc_image_read(ipath, 0, &img, &e) != 0) {
            CHECK_MSG(0, "%s", e.msg);
        } else if (nc_npy_read(tpath, &ref, &e) != 0) {
            CHECK_MSG(0, "%s", e.msg);
            nc_image_free(&img);
        } else {
            size_t plane = (size_t)t.height * t.width;
            CHECK_MSG(ref.ndim == 4 && ref.shape[0] == 1 && ref.shape[1] == 3 && ref.shape[2] == t.height &&
                          ref.shape[3] == t.width,
                      "%s: unexpected shape", tpath);
            float *out = nc_malloc(sizeof(float) * 3 * plane), *out2 = nc_malloc(sizeof(float) * 3 * plane);
            CHECK_MSG(nc_image_transform(&img, &t, out, &e) == 0, "%s", e.msg);
            nc_image_set_simd(0);
            CHECK_MSG(nc_image_transform(&img, &t, out2, &e) == 0, "%s", e.msg);
            nc_image_set_simd(1);
            CHECK_MSG(memcmp(out, out2, sizeof(float) * 3 * plane) == 0, "%s: portable code differs", f[7]);
            free(out2);
            double maxerr = 0;
            long long same = 0;
            for (size_t i = 0; i < 3 * plane && (int64_t)i < ref.numel; i++) {
                double d = fabs((double)out[i] - (double)ref.data[i]) * t.std[i / plane];
                if (d > maxerr) maxerr = d;
                same += out[i] == ref.data[i];
            }
            CHECK_MSG(maxerr <= 1.0 / 255 + 1e-6, "%s: max error %.3g/255 over 1/255", f[7], maxerr * 255);
            printf("%-40s %3dx%-3d   %.3g   (%lld of %zu values bit-identical)\n", f[7], t.height, t.width,
                   maxerr * 255, same, 3 * plane);
            if (maxerr > worst) worst = maxerr;
            exact += same;
            total += (long long)(3 * plane);
            cases++;
            free(out);
            nc_npy_free(&ref);
            nc_image_free(&img);
        }
        free(ipath);
        free(tpath);
    }
    free(manifest);
    CHECK_MSG(cases >= 20, "only %d fixtures", cases);
    printf("%d fixtures: max error %.3g/255; %lld of %lld values bit-identical to timm\n", cases, worst * 255, exact,
           total);
}

/* ---- 2. parts ------------------------------------------------------------ */

/* A TIFF block: header + IFD0 with the given entries (12 bytes each). */
static size_t tiff(uint8_t *b, int be, int n, const uint16_t (*ent)[3], const uint32_t *val) {
    memcpy(b, be ? "MM\0*" : "II*\0", 4);
    uint32_t off = 8;
#define P16(p, v)                                                                                                      \
    (be ? ((p)[0] = (uint8_t)((v) >> 8), (p)[1] = (uint8_t)(v)) : ((p)[0] = (uint8_t)(v), (p)[1] = (uint8_t)((v) >> 8)))
#define P32(p, v)                                                                                                      \
    (be ? ((p)[0] = (uint8_t)((v) >> 24), (p)[1] = (uint8_t)((v) >> 16), (p)[2] = (uint8_t)((v) >> 8),                 \
           (p)[3] = (uint8_t)(v))                                                                                      \
        : ((p)[0] = (uint8_t)(v), (p)[1] = (uint8_t)((v) >> 8), (p)[2] = (uint8_t)((v) >> 16),                         \
           (p)[3] = (uint8_t)((v) >> 24)))
    P32(b + 4, off);
    P16(b + 8, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t *p = b + 10 + 12 * i;
        P16(p, ent[i][0]);
        P16(p + 2, ent[i][1]);
        P32(p + 4, (uint32_t)ent[i][2]);
        if (ent[i][1] == 3 && ent[i][2] == 1) {
            memset(p + 8, 0, 4);
            P16(p + 8, val[i]);
        } else {
            P32(p + 8, val[i]);
        }
    }
    P32(b + 10 + 12 * n, 0u);
    return 10 + 12 * (size_t)n + 4;
#undef P16
#undef P32
}

static void test_exif(void) {
    uint8_t b[512];
    for (int be = 0; be < 2; be++) {
        for (int o = 1; o <= 8; o++) {
            uint16_t ent[2][3] = {{0x010F, 2, 4}, {274, 3, 1}};
            uint32_t val[2] = {0, (uint32_t)o};
            size_t n = tiff(b, be, 2, ent, val);
            CHECK(nc_exif_orientation(b, n) == o);
            uint8_t pre[520];
            memcpy(pre, "Exif\0\0", 6);
            memcpy(pre + 6, b, n);
            CHECK(nc_exif_orientation(pre, n + 6) == o);
        }
        /* LONG type, count 1 */
        uint16_t e1[1][3] = {{274, 4, 1}};
        uint32_t v6[1] = {6};
        size_t n = tiff(b, be, 1, e1, v6);
        CHECK(nc_exif_orientation(b, n) == 6);
        /* the first entry of a tag wins */
        uint16_t e2[2][3] = {{274, 3, 1}, {274, 3, 1}};
        uint32_t v2[2] = {3, 8};
        n = tiff(b, be, 2, e2, v2);
        CHECK(nc_exif_orientation(b, n) == 3);
        /* present but not 1..8: PIL leaves the image alone (1), and skips XMP */
        uint32_t v9[1] = {9};
        uint16_t e3[1][3] = {{274, 3, 1}};
        n = tiff(b, be, 1, e3, v9);
        CHECK(nc_exif_orientation(b, n) == 1);
        /* ASCII and BYTE values are never equal to an int in PIL */
        uint16_t e4[1][3] = {{274, 1, 1}};
        n = tiff(b, be, 1, e4, v6);
        CHECK(nc_exif_orientation(b, n) == 1);
        /* count 0: no data, the tag is not recorded */
        uint16_t e5[1][3] = {{274, 3, 0}};
        n = tiff(b, be, 1, e5, v6);
        CHECK(nc_exif_orientation(b, n) == 0);
        /* out-of-line data past the end: skipped */
        uint16_t e6[1][3] = {{274, 3, 4}};
        uint32_t far[1] = {100000};
        n = tiff(b, be, 1, e6, far);
        CHECK(nc_exif_orientation(b, n) == 0);
        /* the IFD cut short: entries before the cut still count */
        uint16_t e7[2][3] = {{274, 3, 1}, {0x0110, 2, 3}};
        uint32_t v7[2] = {5, 0};
        n = tiff(b, be, 2, e7, v7);
        CHECK(nc_exif_orientation(b, 10 + 12 + 4) == 5);
    }
    CHECK(nc_exif_orientation((const uint8_t *)"", 0) == 0);
    CHECK(nc_exif_orientation((const uint8_t *)"Exif\0\0", 6) == 0);
    CHECK(nc_exif_orientation((const uint8_t *)"JUNKJUNKJUNK", 12) == 0);
    uint8_t bad[10] = {'I', 'I', '*', 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0}; /* IFD offset far away */
    CHECK(nc_exif_orientation(bad, sizeof bad) == 0);
}

static void test_resize_rules(void) {
    NcTransform t = nc_transform_default(224, 224);
    int w, h;
    NcError e;
    /* 224 / 0.875 = 256: shorter side 256, longer int(256 * 640 / 427) = 383 */
    CHECK(nc_transform_resize_size(&t, 640, 427, &w, &h, &e) == 0);
    CHECK(w == 383 && h == 256);
    CHECK(nc_transform_resize_size(&t, 427, 640, &w, &h, &e) == 0);
    CHECK(w == 256 && h == 383);
    t.crop_pct = 0.95; /* floor(224 / 0.95) = 235 */
    CHECK(nc_transform_resize_size(&t, 500, 500, &w, &h, &e) == 0);
    CHECK(w == 235 && h == 235);
    t = nc_transform_default(448, 448);
    t.crop_pct = 0; /* timm: crop_pct or 0.875 */
    CHECK(nc_transform_resize_size(&t, 1000, 800, &w, &h, &e) == 0);
    CHECK(w == 640 && h == 512);
    /* non-square: ResizeKeepRatio to (floor(64/.875), floor(96/.875)) = (73, 109) */
    t = nc_transform_default(64, 96);
    CHECK(nc_transform_resize_size(&t, 451, 300, &w, &h, &e) == 0);
    CHECK_MSG(w == 110 && h == 73, "%d x %d", w, h); /* ratio = min(300/73, 451/109) = 300/73 */
    /* a 1 x 10^8 image: the longer side would be 2.56e10 */
    t = nc_transform_default(224, 224);
    CHECK(nc_transform_resize_size(&t, 1, 100000000, &w, &h, &e) != 0 && strstr(e.msg, "aspect ratio"));
    t = nc_transform_default(0, 5);
    CHECK(nc_transform_check(&t, &e) != 0 && strstr(e.msg, "size"));
    t = nc_transform_default(5, 5);
    t.std[1] = 0;
    CHECK(nc_transform_check(&t, &e) != 0 && strstr(e.msg, "std"));
    t.std[1] = 1e-38f; /* pixels / 1e-38 overflow to inf: NaN out of the network */
    CHECK(nc_transform_check(&t, &e) != 0 && strstr(e.msg, "std"));
    t = nc_transform_default(224, 224);
    t.crop_pct = 1e-30; /* 224 / 1e-30 is past int64 */
    CHECK(nc_transform_check(&t, &e) != 0 && strstr(e.msg, "crop_pct"));
    CHECK(nc_transform_resize_size(&t, 640, 480, &w, &h, &e) != 0 && strstr(e.msg, "crop_pct"));
    t.crop_pct = 0.05; /* the smallest accepted */
    CHECK(nc_transform_check(&t, &e) == 0);
    NcInterp ip;
    CHECK(nc_interp_parse("lanczos", &ip, &e) != 0 && strstr(e.msg, "lanczos"));

    /* The transform on tiny and extreme images stays in range and is exact on
     * an identity: a 16x16 image at 16x16 with crop_pct 1 is a plain copy. */
    NcImage img = {.width = 16, .height = 16, .rgb = nc_malloc(16 * 16 * 3)};
    for (int i = 0; i < 16 * 16 * 3; i++) img.rgb[i] = (uint8_t)(i * 7);
    t = nc_transform_default(16, 16);
    t.crop_pct = 1.0;
    uint8_t out[16 * 16 * 3];
    CHECK(nc_image_transform_u8(&img, &t, out, &e) == 0);
    CHECK(memcmp(out, img.rgb, sizeof out) == 0);
    nc_image_free(&img);
    NcImage one = {.width = 1, .height = 1, .rgb = nc_malloc(3)};
    one.rgb[0] = 10, one.rgb[1] = 200, one.rgb[2] = 255;
    t = nc_transform_default(7, 5);
    uint8_t o2[7 * 5 * 3];
    CHECK(nc_image_transform_u8(&one, &t, o2, &e) == 0);
    for (int i = 0; i < 7 * 5; i++) CHECK(o2[3 * i] == 10 && o2[3 * i + 1] == 200 && o2[3 * i + 2] == 255);
    nc_image_free(&one);
}

/* The AVX2 and the portable resampling code give the same bytes, on sizes
 * that exercise every tail (rows not a multiple of 8, rows of samples not a
 * multiple of 32, up- and downscaling, both pass orders). */
static void test_simd_vs_portable(void) {
    static const int sizes[][2] = {{37, 23}, {300, 17}, {640, 427}, {9, 700}, {1, 1}, {1201, 93}, {250, 900}};
    static const int outs[][2] = {{16, 16}, {24, 40}, {224, 224}, {7, 33}, {64, 48}};
    uint64_t seed = 12345;
    NcError e;
    int compared = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        NcImage img = {.width = sizes[si][0], .height = sizes[si][1]};
        size_t nb = (size_t)img.width * img.height * 3;
        img.rgb = nc_malloc(nb);
        for (size_t i = 0; i < nb; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            img.rgb[i] = (uint8_t)(seed >> 56);
        }
        for (size_t oi = 0; oi < sizeof outs / sizeof *outs; oi++)
            for (int interp = 0; interp < 2; interp++) {
                NcTransform t = nc_transform_default(outs[oi][0], outs[oi][1]);
                t.interp = interp ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
                t.crop_pct = oi % 2 ? 1.0 : 0.875;
                size_t n = (size_t)t.height * t.width * 3;
                uint8_t *a = nc_malloc(n), *b = nc_malloc(n);
                nc_image_set_simd(1);
                CHECK(nc_image_transform_u8(&img, &t, a, &e) == 0);
                nc_image_set_simd(0);
                CHECK(nc_image_transform_u8(&img, &t, b, &e) == 0);
                nc_image_set_simd(1);
                CHECK_MSG(memcmp(a, b, n) == 0, "%dx%d -> %dx%d %s: SIMD and portable code differ", img.width,
                          img.height, t.height, t.width, nc_interp_name(t.interp));
                compared++;
                free(a);
                free(b);
            }
        nc_image_free(&img);
    }
    printf("SIMD and portable resampling agree on %d cases\n", compared);
}

/* ---- 3. bad input -------------------------------------------------------- */

static void expect_fail(const char *path, const char *what, int64_t max_pixels) {
    NcImage img;
    NcError e;
    e.msg[0] = 0;
    int rc = nc_image_read(path, max_pixels, &img, &e);
    CHECK_MSG(rc != 0, "%s: decoded, expected '%s'", path, what);
    CHECK_MSG(img.rgb == NULL && img.width == 0, "%s: output not cleared", path);
    CHECK_MSG(strncmp(e.msg, path, strlen(path)) == 0, "message does not name the file: %s", e.msg);
    CHECK_MSG(strstr(e.msg, what) != NULL, "expected '%s' in: %s", what, e.msg);
    printf("  refused: %s\n", e.msg);
}

static void test_bad_input(void) {
    size_t n;
    uint8_t *jpg = read_fixture("chelsea.jpg", &n);
    char *p;

    p = tmp_path("truncated.jpg");
    write_bytes(p, jpg, n / 2);
    expect_fail(p, "truncated JPEG", 0);
    free(p);
    p = tmp_path("no_eoi.jpg"); /* PIL: "image file is truncated" too */
    write_bytes(p, jpg, n - 2);
    expect_fail(p, "truncated JPEG", 0);
    free(p);
    size_t pn;
    uint8_t *prog = read_fixture("astronaut_progressive.jpg", &pn);
    p = tmp_path("truncated_progressive.jpg");
    write_bytes(p, prog, pn * 2 / 3);
    expect_fail(p, "truncated JPEG", 0);
    free(p);
    /* a progressive JPEG whose last scan is repeated 1100 times: each scan is
     * a pass over every coefficient, so the decoder stops at 1000 */
    size_t last = 0;
    for (size_t i = 0; i + 1 < pn; i++)
        if (prog[i] == 0xFF && prog[i + 1] == 0xDA) last = i;
    size_t scan = pn - 2 - last, big = last + 1100 * scan + 2;
    uint8_t *many = nc_malloc(big);
    memcpy(many, prog, last);
    for (int k = 0; k < 1100; k++) memcpy(many + last + (size_t)k * scan, prog + last, scan);
    memcpy(many + big - 2, "\xff\xd9", 2);
    p = tmp_path("many_scans.jpg");
    write_bytes(p, many, big);
    expect_fail(p, "more than 1000 scans", 0);
    free(p);
    free(many);
    free(prog);

    /* corrupt: a Huffman table of nonsense */
    uint8_t *bad = nc_malloc(n);
    memcpy(bad, jpg, n);
    size_t at = find(bad, n, "\xff\xc4", 2);
    NC_CHECK(at != (size_t)-1);
    memset(bad + at + 5, 0xFF, 16);
    p = tmp_path("corrupt_huffman.jpg");
    write_bytes(p, bad, n);
    expect_fail(p, "corrupt JPEG", 0);
    free(p);
    /* a header claiming 60000 x 60000, cut right after the scan header: the
     * limit refuses it before anything is decoded or allocated */
    memcpy(bad, jpg, n);
    at = find(bad, n, "\xff\xc0", 2);
    NC_CHECK(at != (size_t)-1);
    bad[at + 5] = 0xEA, bad[at + 6] = 0x60; /* height 60000 */
    bad[at + 7] = 0xEA, bad[at + 8] = 0x60; /* width 60000 */
    size_t sos = find(bad, n, "\xff\xda", 2);
    NC_CHECK(sos != (size_t)-1);
    size_t cut = sos + 2 + ((size_t)bad[sos + 2] << 8 | bad[sos + 3]) + 16;
    p = tmp_path("bomb.jpg");
    write_bytes(p, bad, cut);
    printf("  bomb.jpg is %zu bytes\n", cut);
    expect_fail(p, "exceeds the limit of 100.0 MP", 0);
    int fmt = 0, w = 0, h = 0;
    NcError e;
    CHECK(nc_image_probe(bad, cut, "bomb.jpg", &fmt, &w, &h, &e) == 0 && fmt == NC_IMAGE_JPEG && w == 60000 &&
          h == 60000);
    free(p);
    free(bad);
    /* the limit is configurable: chelsea is 451 x 300 = 135300 pixels */
    p = nc_sprintf("%s/chelsea.jpg", FIX);
    expect_fail(p, "exceeds the limit of 0.1 MP", 135299);
    NcImage img;
    CHECK(nc_image_read(p, 135300, &img, &e) == 0 && img.width == 451);
    nc_image_free(&img);
    free(p);

    size_t gn;
    uint8_t *png = read_fixture("chelsea_palette.png", &gn);
    p = tmp_path("truncated.png");
    write_bytes(p, png, gn / 2);
    expect_fail(p, "truncated PNG", 0);
    free(p);
    bad = nc_malloc(gn);
    memcpy(bad, png, gn);
    bad[20] ^= 1; /* IHDR height, CRC now wrong */
    p = tmp_path("corrupt_crc.png");
    write_bytes(p, bad, gn);
    expect_fail(p, "corrupt PNG: IHDR: CRC error", 0);
    free(p);
    memcpy(bad, png, gn);
    at = find(bad, gn, "IDAT", 4);
    bad[at + 8] ^= 0x55; /* compressed data */
    p = tmp_path("corrupt_idat.png");
    write_bytes(p, bad, gn);
    expect_fail(p, "corrupt PNG", 0);
    free(p);
    /* 60000 x 60000 PNG: IHDR patched, CRC recomputed, no image data at all */
    memcpy(bad, png, gn);
    bad[16] = 0, bad[17] = 0, bad[18] = 0xEA, bad[19] = 0x60;
    bad[20] = 0, bad[21] = 0, bad[22] = 0xEA, bad[23] = 0x60;
    uint32_t crc = crc32_png(bad + 12, 17);
    bad[29] = (uint8_t)(crc >> 24), bad[30] = (uint8_t)(crc >> 16), bad[31] = (uint8_t)(crc >> 8),
    bad[32] = (uint8_t)crc;
    p = tmp_path("bomb.png");
    write_bytes(p, bad, 33 + 12);
    expect_fail(p, "exceeds the limit", 0);
    CHECK(nc_image_probe(bad, 33, "bomb.png", &fmt, &w, &h, &e) == 0 && fmt == NC_IMAGE_PNG && w == 60000);
    free(p);
    free(bad);
    free(png);

    p = tmp_path("empty.jpg");
    write_bytes(p, "", 0);
    expect_fail(p, "empty file", 0);
    free(p);
    p = tmp_path("notes.jpg"); /* the name says JPEG; the content decides */
    write_bytes(p, "just some text\n", 15);
    expect_fail(p, "not a JPEG or PNG image", 0);
    free(p);
    { /* a message names the file and the reason, never what the file holds */
        p = tmp_path("passwd.jpg");
        write_bytes(p, "root:x:0:0:root:/root:/bin/sh\n", 31);
        NcImage im;
        NcError er = {{0}};
        CHECK(nc_image_read(p, 0, &im, &er) != 0);
        CHECK_MSG(!strstr(er.msg, "root:x") && !strstr(er.msg, "72 6f 6f 74"), "content in the message: %s", er.msg);
        free(p);
    }
    p = tmp_path("anim.png");
    write_bytes(p, "GIF89a\x01\0\x01\0\0\0\0;", 14);
    expect_fail(p, "a GIF image", 0);
    free(p);
    p = tmp_path("a_directory.jpg");
    mkdir(p, 0755);
    expect_fail(p, "is a directory", 0);
    rmdir(p);
    free(p);
    p = tmp_path("missing.jpg");
    expect_fail(p, "cannot open: No such file", 0);
    free(p);
    if (geteuid() != 0) {
        p = tmp_path("secret.jpg");
        write_bytes(p, jpg, n);
        chmod(p, 0);
        expect_fail(p, "cannot open: Permission denied", 0);
        remove(p);
        free(p);
    } else {
        printf("  (running as root: the permission test is skipped)\n");
    }
    free(jpg);
}

/* ---- 4. loader ----------------------------------------------------------- */

static void test_loader(void) {
    NcError e;
    char *trunc = tmp_path("loader_truncated.jpg"), *dir = tmp_path("loader_dir"), *text = tmp_path("loader_text.png");
    size_t n;
    uint8_t *jpg = read_fixture("coffee_422.jpg", &n);
    write_bytes(trunc, jpg, n / 3);
    free(jpg);
    mkdir(dir, 0755);
    write_bytes(text, "not an image", 12);
    char *good[4] = {nc_sprintf("%s/chelsea.jpg", FIX), nc_sprintf("%s/rocket_cmyk.jpg", FIX),
                     nc_sprintf("%s/astronaut_alpha.png", FIX), nc_sprintf("%s/chelsea_exif6.jpg", FIX)};
    const char *paths[7] = {good[0], trunc, good[1], dir, good[2], text, good[3]};
    const int expect_ok[7] = {1, 0, 1, 0, 1, 0, 1};
    const char *expect_msg[7] = {NULL, "truncated JPEG", NULL, "is a directory", NULL, "not a JPEG or PNG", NULL};
    NcTransform tr[2] = {nc_transform_default(32, 32), nc_transform_default(24, 40)};
    tr[1].interp = NC_INTERP_BILINEAR;
    tr[1].crop_pct = 1.0;
    size_t per0 = 3 * 32 * 32, per1 = 3 * 24 * 40;

    /* reference: one file at a time */
    float *ref0 = nc_calloc(7 * per0, sizeof(float)), *ref1 = nc_calloc(7 * per1, sizeof(float));
    for (int i = 0; i < 7; i++) {
        if (!expect_ok[i]) continue;
        NcImage img;
        CHECK(nc_image_read(paths[i], 0, &img, &e) == 0);
        CHECK(nc_image_transform(&img, &tr[0], ref0 + per0 * i, &e) == 0);
        CHECK(nc_image_transform(&img, &tr[1], ref1 + per1 * i, &e) == 0);
        nc_image_free(&img);
    }

    for (int threads = 1; threads <= 3; threads++) {
        NcImageLoader *l;
        CHECK(nc_image_loader_open(&l, threads, 2, tr, 0, &e) == 0);
        /* two batches in flight (double buffering), waited in order */
        float *a0 = nc_malloc(7 * per0 * sizeof(float)), *a1 = nc_malloc(7 * per1 * sizeof(float));
        float *b0 = nc_malloc(4 * per0 * sizeof(float)), *b1 = nc_malloc(4 * per1 * sizeof(float));
        for (size_t i = 0; i < 7 * per0; i++) a0[i] = NAN; /* failed slots must be zeroed */
        NcImageResult ra[7], rb[4];
        float *outa[2] = {a0, a1}, *outb[2] = {b0, b1};
        NcImageBatch *ba = nc_image_loader_submit(l, paths, 7, outa, ra);
        NcImageBatch *bb = nc_image_loader_submit(l, paths + 3, 4, outb, rb);
        int fa = nc_image_batch_wait(ba);
        int fb = nc_image_batch_wait(bb);
        CHECK_MSG(fa == 3 && fb == 2, "failed %d, %d", fa, fb);
        for (int i = 0; i < 7; i++) {
            CHECK_MSG(ra[i].ok == expect_ok[i], "%s: ok=%d", paths[i], ra[i].ok);
            if (expect_ok[i]) {
                CHECK(memcmp(a0 + per0 * i, ref0 + per0 * i, per0 * sizeof(float)) == 0);
                CHECK(memcmp(a1 + per1 * i, ref1 + per1 * i, per1 * sizeof(float)) == 0);
                CHECK(ra[i].width > 0 && ra[i].height > 0);
            } else {
                CHECK_MSG(strncmp(ra[i].err.msg, paths[i], strlen(paths[i])) == 0 &&
                              strstr(ra[i].err.msg, expect_msg[i]),
                          "%s", ra[i].err.msg);
                int zero = 1;
                for (size_t k = 0; k < per0; k++) zero &= a0[per0 * i + k] == 0.0f;
                CHECK(zero);
                if (threads == 1) printf("  loader reports: %s\n", ra[i].err.msg);
            }
        }
        for (int i = 0; i < 4; i++) {
            CHECK(rb[i].ok == expect_ok[i + 3]);
            if (rb[i].ok) CHECK(memcmp(b0 + per0 * i, ref0 + per0 * (i + 3), per0 * sizeof(float)) == 0);
        }
        CHECK_MSG(ra[6].width == 226 && ra[6].height == 150, "%d x %d", ra[6].width,
                  ra[6].height); /* exif6: stored 150 x 226, shown upright */
        /* an empty batch, and the synchronous form */
        CHECK(nc_image_loader_run(l, NULL, 0, NULL, NULL) == 0);
        CHECK(nc_image_loader_run(l, paths, 1, outa, ra) == 0 && ra[0].ok);
        nc_image_loader_close(l);
        free(a0), free(a1), free(b0), free(b1);
    }
    NcImageLoader *l;
    CHECK(nc_image_loader_open(&l, 0, 1, tr, 0, &e) != 0 && strstr(e.msg, "threads"));
    CHECK(nc_image_loader_open(&l, 2, 0, tr, 0, &e) != 0 && strstr(e.msg, "transforms"));
    free(ref0), free(ref1);
    rmdir(dir);
    remove(trunc);
    remove(text);
    free(trunc), free(dir), free(text);
    for (int i = 0; i < 4; i++) free(good[i]);
}

static void cleanup_tmp(void) {
    const char *names[] = {"truncated.jpg",
                           "no_eoi.jpg",
                           "truncated_progressive.jpg",
                           "corrupt_huffman.jpg",
                           "bomb.jpg",
                           "many_scans.jpg",
                           "truncated.png",
                           "corrupt_crc.png",
                           "corrupt_idat.png",
                           "bomb.png",
                           "empty.jpg",
                           "notes.jpg",
                           "anim.png"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *p = tmp_path(names[i]);
        remove(p);
        free(p);
    }
    rmdir(tmpdir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/netc_image_XXXXXX", base && base[0] ? base : "/tmp");
    NC_CHECK(mkdtemp(tmpdir) != NULL);
    test_fixtures();
    test_exif();
    test_resize_rules();
    test_simd_vs_portable();
    printf("bad input:\n");
    test_bad_input();
    test_loader();
    cleanup_tmp();
    TEST_MAIN_END();
}
