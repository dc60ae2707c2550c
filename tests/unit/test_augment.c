/* test_augment.c — the training augmentations (runtime/image/augment.h)
 * against torchvision, timm and PIL (tests/fixtures/aug/, written by
 * tools/make_aug_fixtures.py), and their random draws against their
 * definitions.
 *
 * 1. manifest.tsv: each deterministic stage with its draw fixed (resize +
 *    crop, resized crop, flips, rotation, the four jitter ops, jitter in a
 *    given order) on a photograph, compared byte for byte with PIL's output.
 * 2. rrc_params.txt, erase_params.txt: torchvision's RandomResizedCrop and
 *    timm's RandomErasing fed the same uniforms pick the same box (the tries,
 *    the rounding, the fallback).
 * 3. Distributions, with fixed seeds (so the outcome is fixed; the bounds are
 *    the 0.1% critical values): RandomResizedCrop's area fraction and log
 *    aspect (KS against uniform), crop offsets (chi-square), flip rates,
 *    rotation angles (KS), jitter factors and the 24 orders (chi-square),
 *    erase rate and timm's 'pixel' normals.
 * 4. Same seed, same bytes, also from 4 threads at once; different seeds differ.
 * 5. Malformed specs: each refused with a message naming the item.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "runtime/image/augment.h"
#include "runtime/image/geometry.h"
#include "runtime/image/randaugment.h"
#include "runtime/support/list.h"

#define FIX    NETC_FIXTURES_DIR "/aug"
#define PHOTOS NETC_SOURCE_DIR "/tests/photos"

static NcImage load(const char *dir, const char *name) {
    char *p = nc_sprintf("%s/%s", dir, name);
    NcImage im;
    NcError e;
    if (nc_image_read(p, 0, &im, &e) != 0) NC_FATAL("%s", e.msg);
    free(p);
    return im;
}

static NcImage crop_of(const NcImage *im, int x, int y, int w, int h) {
    NcImage c = {.width = w, .height = h, .rgb = nc_malloc((size_t)w * h * 3)};
    for (int r = 0; r < h; r++)
        memcpy(c.rgb + (size_t)r * w * 3, im->rgb + ((size_t)(y + r) * im->width + x) * 3, 3 * (size_t)w);
    return c;
}

/* "crop=29:3,hflip=1,angle=12.5,order=2:0:3:1,b=1.21,..." */
static void parse_draws(const char *s, NcAugDraws *d) {
    memset(d, 0, sizeof *d);
    d->interp = NC_INTERP_BILINEAR;
    int n;
    NcError e;
    char **items = nc_list_split(s, &n, &e);
    NC_CHECK(items);
    for (int i = 0; i < n; i++) {
        char *v = strchr(items[i], '=');
        NC_CHECK(v);
        *v++ = 0;
        const char *k = items[i];
        if (!strcmp(k, "crop"))
            NC_CHECK(sscanf(v, "%d:%d", &d->box_x, &d->box_y) == 2);
        else if (!strcmp(k, "rrc"))
            NC_CHECK(sscanf(v, "%d:%d:%d:%d", &d->box_x, &d->box_y, &d->box_w, &d->box_h) == 4);
        else if (!strcmp(k, "hflip"))
            d->hflip = atoi(v);
        else if (!strcmp(k, "vflip"))
            d->vflip = atoi(v);
        else if (!strcmp(k, "angle"))
            d->angle = strtod(v, NULL);
        else if (!strcmp(k, "order"))
            for (char *p = v; *p; p++)
                if (*p >= '0' && *p <= '3') d->order[d->njitter++] = *p - '0';
        if (strlen(k) == 1 && strchr("bcsh", k[0])) d->factor[strchr("bcsh", k[0]) - "bcsh"] = strtod(v, NULL);
    }
    free(items);
}

static void test_fixtures(void) {
    char *text;
    size_t len;
    NcError e;
    if (nc_read_file(FIX "/manifest.tsv", &text, &len, &e) != 0) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *f[5];
        int nf = 0;
        for (char *p = line; nf < 5; nf++) {
            f[nf] = p;
            char *t = strchr(p, '\t');
            if (!t) {
                nf++;
                break;
            }
            *t = 0;
            p = t + 1;
        }
        NC_CHECK(nf == 5);
        NcImage want = load(FIX, f[0]), photo = load(PHOTOS, f[1]), in = photo;
        int bx, by, bw, bh;
        if (strcmp(f[2], "-") != 0) {
            NC_CHECK(sscanf(f[2], "%d,%d,%d,%d", &bx, &by, &bw, &bh) == 4);
            in = crop_of(&photo, bx, by, bw, bh);
        }
        NcAugment *a;
        if (nc_augment_parse(f[3], want.height, want.width, &a, &e) != 0) NC_FATAL("%s: %s", f[0], e.msg);
        NcAugDraws d;
        if (strncmp(f[4], "u=", 2) == 0) { /* the uniforms timm's draws were given: drawn here from the same */
            double us[64];
            int nu = 0;
            for (char *p = f[4] + 2; *p && nu < 64;) {
                char *end;
                us[nu++] = strtod(p, &end);
                p = *end == ':' ? end + 1 : end;
            }
            NcAugRng r = {.fixed = us, .n = nu};
            nc_augment_draw(a, in.width, in.height, &r, &d);
            CHECK_MSG(r.used == nu, "%s: %d of %d uniforms used", f[0], r.used, nu);
        } else {
            parse_draws(f[4], &d);
            if (strstr(f[3], "bicubic")) d.interp = NC_INTERP_BICUBIC;
        }
        size_t n = (size_t)want.width * want.height * 3;
        uint8_t *got = nc_malloc(n);
        CHECK_MSG(nc_augment_apply_u8(a, &in, &d, got, &e) == 0, "%s: %s", f[0], e.msg);
        int diff = 0, maxd = 0;
        for (size_t i = 0; i < n; i++) {
            int dd = abs((int)got[i] - (int)want.rgb[i]);
            diff += dd != 0;
            maxd = dd > maxd ? dd : maxd;
        }
        CHECK_MSG(diff == 0, "%s (%s; %s): %d of %zu bytes differ from PIL's, by up to %d", f[0], f[3], f[4], diff, n,
                  maxd);
        lines++;
        free(got);
        nc_augment_free(a);
        if (in.rgb != photo.rgb) nc_image_free(&in);
        nc_image_free(&photo);
        nc_image_free(&want);
    }
    CHECK_MSG(lines >= 59, "only %d fixtures", lines);
    free(text);
}

/* "... u0,u1,... -> x y w h": the uniforms and the box at the end of a line */
static int parse_box_line(char *line, double *us, int *n, int box[4]) {
    char *arrow = strstr(line, " -> ");
    if (!arrow) return -1;
    *arrow = 0;
    NC_CHECK(sscanf(arrow + 4, "%d %d %d %d", &box[0], &box[1], &box[2], &box[3]) == 4);
    char *sp = strrchr(line, ' ');
    *n = 0;
    for (char *p = sp + 1; *p;) {
        char *end;
        us[(*n)++] = strtod(p, &end);
        p = *end == ',' ? end + 1 : end;
    }
    *sp = 0;
    return 0;
}

static void test_param_fixtures(void) {
    char *text;
    size_t len;
    NcError e;
    NC_CHECK(nc_read_file(FIX "/rrc_params.txt", &text, &len, &e) == 0);
    int cases = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        double us[64], scale[2], ratio[2];
        int n, box[4], W, H, x, y, w, h;
        NC_CHECK(parse_box_line(line, us, &n, box) == 0);
        NC_CHECK(sscanf(line, "%d %d %lf %lf %lf %lf", &W, &H, &scale[0], &scale[1], &ratio[0], &ratio[1]) == 6);
        NcAugRng r = {.fixed = us, .n = n};
        nc_aug_rrc_box(W, H, scale, ratio, &r, &x, &y, &w, &h);
        CHECK_MSG(x == box[0] && y == box[1] && w == box[2] && h == box[3] && r.used == n,
                  "rrc %dx%d: %d %d %d %d (%d uniforms) vs torchvision's %d %d %d %d (%d)", W, H, x, y, w, h, r.used,
                  box[0], box[1], box[2], box[3], n);
        cases++;
    }
    free(text);
    NC_CHECK(nc_read_file(FIX "/erase_params.txt", &text, &len, &e) == 0);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        double us[64];
        int n, box[4], W, H;
        NC_CHECK(parse_box_line(line, us, &n, box) == 0);
        NC_CHECK(sscanf(line, "%d %d", &W, &H) == 2);
        /* through the whole draw: the probability coin first, then the box; one more uniform seeds the values */
        NcAugment *a;
        NC_CHECK(nc_augment_parse("erase=0.5", H, W, &a, &e) == 0);
        us[n] = 0.5;
        NcAugRng r = {.fixed = us, .n = n + 1};
        NcAugDraws d;
        nc_augment_draw(a, 500, 400, &r, &d);
        CHECK_MSG(d.erase_x == box[0] && d.erase_y == box[1] && d.erase_w == box[2] && d.erase_h == box[3],
                  "erase %dx%d: %d %d %d %d vs timm's %d %d %d %d", W, H, d.erase_x, d.erase_y, d.erase_w, d.erase_h,
                  box[0], box[1], box[2], box[3]);
        nc_augment_free(a);
        cases++;
    }
    free(text);
    CHECK(cases == 12);
}

/* ---- 3. distributions --------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Kolmogorov-Smirnov distance of the samples from uniform on [lo, hi] */
static double ks_uniform(double *v, int n, double lo, double hi) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double dmax = 0;
    for (int i = 0; i < n; i++) {
        double f = (v[i] - lo) / (hi - lo);
        double d1 = fabs(f - (double)i / n), d2 = fabs(f - (double)(i + 1) / n);
        dmax = fmax(dmax, fmax(d1, d2));
    }
    return dmax;
}
#define KS_CRIT(n) (1.95 / sqrt((double)(n))) /* alpha = 0.001 */

static double chi2(const int *count, int bins, double expected) {
    double s = 0;
    for (int i = 0; i < bins; i++) s += (count[i] - expected) * (count[i] - expected) / expected;
    return s;
}

static NcAugment *parse_ok(const char *spec, int h, int w) {
    NcAugment *a;
    NcError e;
    if (nc_augment_parse(spec, h, w, &a, &e) != 0) NC_FATAL("%s", e.msg);
    return a;
}

static void test_distributions(void) {
    enum { N = 20000 };
    static double v1[N], v2[N];
    /* RandomResizedCrop on a large square image where every first try fits: area
     * fraction ~ U(scale), log(w/h) ~ U(log ratio) up to the rounding of w and h */
    NcAugment *a = parse_ok("rrc=0.08:0.5", 224, 224);
    int pos[10] = {0};
    for (int i = 0; i < N; i++) {
        NcAugRng r = nc_aug_rng(1000 + (uint64_t)i);
        NcAugDraws d;
        nc_augment_draw(a, 4000, 4000, &r, &d);
        v1[i] = (double)d.box_w * d.box_h / (4000.0 * 4000.0);
        v2[i] = log((double)d.box_w / d.box_h);
        pos[(int)(10.0 * d.box_x / (4000 - d.box_w + 1))]++;
    }
    double k1 = ks_uniform(v1, N, 0.08, 0.5), k2 = ks_uniform(v2, N, log(0.75), log(4.0 / 3.0));
    CHECK_MSG(k1 < KS_CRIT(N), "rrc area fraction: KS %g", k1);
    CHECK_MSG(k2 < KS_CRIT(N), "rrc log aspect: KS %g", k2);
    CHECK_MSG(chi2(pos, 10, N / 10.0) < 27.88, "rrc left offsets: chi2 %g", chi2(pos, 10, N / 10.0));
    /* the same statistics must fail for a wrong range: the test can tell */
    CHECK(ks_uniform(v1, N, 0.08, 0.6) > KS_CRIT(N));
    nc_augment_free(a);

    a = parse_ok("resize=80,crop=64,hflip=0.3,vflip,rotate=15,jitter=0.4:0.3:0.2:0.1,erase=0.25:pixel,interp=random",
                 64, 64);
    int top[17] = {0}, hf = 0, vf = 0, er = 0, bic = 0, perms[24] = {0};
    static double b[N], c[N], s[N], h[N];
    for (int i = 0; i < N; i++) {
        NcAugRng r = nc_aug_rng(77 * (uint64_t)i + 5);
        NcAugDraws d;
        nc_augment_draw(a, 120, 80, &r, &d); /* resized to 120x80: the crop's top is 0..16 */
        top[d.box_y]++;
        hf += d.hflip, vf += d.vflip, er += d.erase_w > 0, bic += d.interp == NC_INTERP_BICUBIC;
        v1[i] = d.angle;
        b[i] = d.factor[0], c[i] = d.factor[1], s[i] = d.factor[2], h[i] = d.factor[3];
        NC_CHECK(d.njitter == 4);
        int code = 0, used = 0; /* the permutation's rank in the Lehmer code */
        for (int k = 0; k < 4; k++) {
            int smaller = 0;
            for (int j = 0; j < d.order[k]; j++) smaller += !(used >> j & 1);
            used |= 1 << d.order[k];
            code = code * (4 - k) + smaller;
        }
        perms[code]++;
    }
    CHECK_MSG(chi2(top, 17, N / 17.0) < 39.25, "crop tops: chi2 %g", chi2(top, 17, N / 17.0)); /* 16 dof */
    double sd = sqrt(N * 0.25);
    CHECK_MSG(fabs(hf - 0.3 * N) < 4 * sqrt(N * 0.21), "hflip rate %g", (double)hf / N);
    CHECK_MSG(fabs(vf - 0.5 * N) < 4 * sd, "vflip rate %g", (double)vf / N);
    CHECK_MSG(fabs(bic - 0.5 * N) < 4 * sd, "bicubic rate %g", (double)bic / N);
    /* erase: the coin at 0.25, then (64x64) a box that fits at the first or a later try */
    CHECK_MSG(fabs(er - 0.25 * N) < 4 * sqrt(N * 0.1875), "erase rate %g", (double)er / N);
    CHECK_MSG(ks_uniform(v1, N, -15, 15) < KS_CRIT(N), "rotation angle KS %g", ks_uniform(v1, N, -15, 15));
    CHECK_MSG(ks_uniform(b, N, 0.6, 1.4) < KS_CRIT(N), "brightness KS");
    CHECK_MSG(ks_uniform(c, N, 0.7, 1.3) < KS_CRIT(N), "contrast KS");
    CHECK_MSG(ks_uniform(s, N, 0.8, 1.2) < KS_CRIT(N), "saturation KS");
    CHECK_MSG(ks_uniform(h, N, -0.1, 0.1) < KS_CRIT(N), "hue KS");
    CHECK_MSG(chi2(perms, 24, N / 24.0) < 49.73, "jitter orders: chi2 %g", chi2(perms, 24, N / 24.0)); /* 23 dof */

    /* RandomCrop(28, padding=4) on a 28x28 picture: left and top uniform over 0..8 of the 36x36 padded one */
    NcAugment *pa = parse_ok("crop,pad=4", 28, 28);
    int left9[9] = {0}, top9[9] = {0};
    for (int i = 0; i < N; i++) {
        NcAugRng r = nc_aug_rng(13 * (uint64_t)i + 3);
        NcAugDraws d;
        nc_augment_draw(pa, 28, 28, &r, &d);
        NC_CHECK(d.box_x >= 0 && d.box_x <= 8 && d.box_y >= 0 && d.box_y <= 8);
        left9[d.box_x]++, top9[d.box_y]++;
    }
    CHECK_MSG(chi2(left9, 9, N / 9.0) < 26.12, "padded crop lefts: chi2 %g", chi2(left9, 9, N / 9.0)); /* 8 dof */
    CHECK_MSG(chi2(top9, 9, N / 9.0) < 26.12, "padded crop tops: chi2 %g", chi2(top9, 9, N / 9.0));
    nc_augment_free(pa);

    /* RandAugment: ops uniform over timm's 15, each applied with probability p, magnitude gauss(m, mstd),
     * half of the signed levels negated, filters half bilinear */
    NcAugment *ra = parse_ok("rand-m9-mstd0.5-n2-p0.7,interp=random", 64, 64);
    int ops[NC_RA_NOPS] = {0}, on = 0, tot = 0, bil = 0, geo = 0, neg = 0, nrot = 0;
    double ms = 0, ms2 = 0;
    for (int i = 0; i < N; i++) {
        NcAugRng r = nc_aug_rng(31 * (uint64_t)i + 7);
        NcAugDraws d;
        nc_augment_draw(ra, 64, 64, &r, &d);
        for (int k = 0; k < d.ra_n; k++) {
            ops[d.ra_op[k]]++, tot++, on += d.ra_on[k];
            if (!d.ra_on[k]) continue;
            if (d.ra_op[k] == 3 || d.ra_op[k] >= 11) geo++, bil += d.ra_filter[k] == NC_PIL_BILINEAR;
            if (d.ra_op[k] == 3) { /* Rotate: (magnitude / 10) * 30 degrees, either sign */
                double mag = fabs(d.ra_arg[k]) / 3.0;
                ms += mag, ms2 += mag * mag, nrot++, neg += d.ra_arg[k] < 0;
            }
        }
    }
    CHECK_MSG(chi2(ops, NC_RA_NOPS, tot / (double)NC_RA_NOPS) < 36.12, "RandAugment ops: chi2 %g",
              chi2(ops, NC_RA_NOPS, tot / (double)NC_RA_NOPS)); /* 14 dof */
    CHECK_MSG(fabs(on - 0.7 * tot) < 4 * sqrt(tot * 0.21), "RandAugment op rate %g", (double)on / tot);
    CHECK_MSG(fabs(bil - 0.5 * geo) < 4 * sqrt(geo * 0.25), "RandAugment bilinear rate %g", (double)bil / geo);
    CHECK_MSG(fabs(neg - 0.5 * nrot) < 4 * sqrt(nrot * 0.25), "RandAugment negation rate %g", (double)neg / nrot);
    double mmean = ms / nrot, msd = sqrt(ms2 / nrot - mmean * mmean); /* N(9, 0.5) clipped at 10: sd a bit under */
    CHECK_MSG(fabs(mmean - 9) < 0.03 && msd > 0.45 && msd < 0.5, "RandAugment magnitude mean %g sd %g", mmean, msd);
    nc_augment_free(ra);

    /* 'pixel' erasing: standard normal values in the box */
    NcImage im = load(PHOTOS, "chelsea.png");
    float *out = nc_malloc(sizeof(float) * 3 * 64 * 64);
    double sum = 0, sum2 = 0;
    long cnt = 0;
    for (uint64_t seed = 0; cnt < 30000; seed++) {
        NcAugRng r = nc_aug_rng(seed);
        NcAugDraws d;
        nc_augment_draw(a, im.width, im.height, &r, &d);
        if (!d.erase_w) continue;
        NcError e;
        uint8_t hwc[64 * 64 * 3];
        NC_CHECK(nc_augment_apply_u8(a, &im, &d, hwc, &e) == 0);
        nc_augment_finish(a, hwc, &d, out);
        for (int ch = 0; ch < 3; ch++)
            for (int y = d.erase_y; y < d.erase_y + d.erase_h; y++)
                for (int x = d.erase_x; x < d.erase_x + d.erase_w; x++) {
                    double z = out[ch * 4096 + y * 64 + x];
                    sum += z, sum2 += z * z, cnt++;
                }
    }
    double mean = sum / cnt, var = sum2 / cnt - mean * mean;
    CHECK_MSG(fabs(mean) < 0.03 && fabs(var - 1) < 0.05, "pixel erase mean %g var %g", mean, var);
    free(out);
    nc_image_free(&im);
    nc_augment_free(a);
}

/* ---- 4. determinism ----------------------------------------------------- */

static const char *SEED_SPEC = "resize=512,crop=448,hflip=0.5,rotate=15,jitter=0.4:0.4:0.4:0.1,erase=0.25:pixel";
static NcImage det_img;
static NcAugment *det_aug;
static float *det_out[8];

static void *det_worker(void *arg) {
    int t = (int)(intptr_t)arg;
    for (int i = t; i < 8; i += 4) {
        NcError e;
        NC_CHECK(nc_augment_apply(det_aug, &det_img, 0xABCDull + (uint64_t)i, det_out[i], &e) == 0);
    }
    return NULL;
}

static void test_determinism(void) {
    det_img = load(PHOTOS, "coffee.jpg");
    det_aug = parse_ok(SEED_SPEC, 448, 448);
    size_t n = 3 * 448 * 448;
    float *ref[8];
    NcError e;
    for (int i = 0; i < 8; i++) {
        ref[i] = nc_malloc(n * sizeof(float));
        det_out[i] = nc_malloc(n * sizeof(float));
        NC_CHECK(nc_augment_apply(det_aug, &det_img, 0xABCDull + (uint64_t)i, ref[i], &e) == 0);
    }
    pthread_t th[4];
    for (int t = 0; t < 4; t++) pthread_create(&th[t], NULL, det_worker, (void *)(intptr_t)t);
    for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);
    int same = 0, distinct = 0, finite = 1;
    for (int i = 0; i < 8; i++) {
        same += memcmp(ref[i], det_out[i], n * sizeof(float)) == 0;
        for (int j = 0; j < i; j++) distinct += memcmp(ref[i], ref[j], n * sizeof(float)) != 0;
        for (size_t k = 0; k < n; k++) finite &= isfinite(ref[i][k]) != 0;
    }
    CHECK_MSG(same == 8, "only %d of 8 samples identical between sequential and 4 threads", same);
    /* RandAugment and timm's random interpolation draw from the seed too */
    NcAugment *ra = parse_ok("rrc,hflip,rand-m9-mstd0.5-inc1,interp=random,erase=0.25:pixel", 448, 448);
    NC_CHECK(nc_augment_apply(ra, &det_img, 99, det_out[0], &e) == 0);
    NC_CHECK(nc_augment_apply(ra, &det_img, 99, det_out[1], &e) == 0);
    NC_CHECK(nc_augment_apply(ra, &det_img, 100, det_out[2], &e) == 0);
    CHECK(memcmp(det_out[0], det_out[1], n * sizeof(float)) == 0 && memcmp(det_out[0], det_out[2], n * sizeof(float)));
    nc_augment_free(ra);
    CHECK_MSG(distinct == 28, "only %d of 28 pairs of seeds differ", distinct);
    CHECK(finite);
    for (int i = 0; i < 8; i++) free(ref[i]), free(det_out[i]);
    /* the description names every stage */
    char *desc = nc_augment_describe(det_aug);
    CHECK_MSG(strstr(desc, "Resize(512") && strstr(desc, "RandomCrop(448x448)") &&
                  strstr(desc, "RandomRotation((-15, 15), nearest") &&
                  strstr(desc, "ColorJitter(0.4, 0.4, 0.4, 0.1)") && strstr(desc, "RandomErasing(0.25, mode=pixel)"),
              "%s", desc);
    free(desc);
    CHECK(strstr(nc_augment_help(), "rand-m9-mstd0.5") && strstr(nc_augment_help(), "erase=P"));
    nc_augment_free(det_aug);
    nc_image_free(&det_img);
}

/* ---- 5. bad specs ------------------------------------------------------- */

static void test_bad_specs(void) {
    const char *bad[][2] = {
        {"hflip=2", "hflip=2"},
        {"jitter=0.4:x", "jitter=0.4:x"},
        {"jitter=0.1:0.1:0.1:0.7", "hue"},
        {"rotate=-3", "rotate=-3"},
        {"crop=100", "crop=100"},
        {"rrc,crop", "exclude"},
        {"erase=0.5:foo", "erase=0.5:foo"},
        {"bogus=1", "bogus=1"},
        {"hflip,hflip", "twice"},
        {"rand-x9", "rand-x9"},
        {"rand-m9-w0", "w0"},
        {"rand-m9-n0", "n0"},
        {"rand-mstd0.5", "magnitude"},
        {"rand-m9,rand-m5", "twice"},
        {"rotate=5:-5", "MIN <= MAX"},
        {"rotate_interp=box", "rotate_interp"},
        {"erase=0.5,reprob=0.3", "both"},
        {"erase=0.5:pixel,remode=rand", "remode"},
        {"aa=rand-q1", "q1"},
        {"rand-m9-p1.5", "p1.5"},
        {"scale=0.5:0.1", "scale"},
        {"resize=0", "resize=0"},
        {"interp=nearest", "interp=nearest"},
        {"std=1:0:1", "std"},
        {"hflip,,vflip", "--aug"},
        {"fill=1:2", "fill"},
        {"resize=", "empty"},
        {"jitter=0.4:", "jitter=0.4:"},
        {"pad=4", "needs crop"},
        {"crop,pad=-1", "pad=-1"},
        {"crop,pad=1:2:3", "pad=1:2:3"},
        {"crop,pad=1.5", "integers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NcAugment *a = (NcAugment *)1;
        NcError e = {{0}};
        int rc = nc_augment_parse(bad[i][0], 224, 224, &a, &e);
        CHECK_MSG(rc == -1 && a == NULL && strstr(e.msg, bad[i][1]) && strstr(e.msg, "--aug"), "'%s': rc %d, '%s'",
                  bad[i][0], rc, e.msg);
    }
    NcAugment *a;
    NcError e;
    CHECK(nc_augment_parse("", 224, 224, &a, &e) == 0);
    nc_augment_free(a);
    /* timm's train argument names say the same */
    a = parse_ok("rrc,color_jitter=0.4,reprob=0.25,remode=pixel,aa=rand-m9-mstd0.5-inc1,train_interpolation=random",
                 224, 224);
    char *d = nc_augment_describe(a);
    CHECK_MSG(strstr(d, "RandomResizedCrop(224x224, scale=(0.08, 1), ratio=(0.75, 1.33333), random)") &&
                  strstr(d, "ColorJitter(0.4, 0.4, 0.4, 0)") && strstr(d, "RandomErasing(0.25, mode=pixel)") &&
                  strstr(d, "RandAugment(m=9, mstd=0.5, n=2, p=0.5, mmax=10, increasing)"),
              "%s", d);
    free(d);
    nc_augment_free(a);
    a = parse_ok("crop,pad=1:2", 28, 28);
    d = nc_augment_describe(a);
    CHECK_MSG(strstr(d, "RandomCrop(28x28, padding=(1, 2, 1, 2))"), "%s", d);
    free(d);
    nc_augment_free(a);
}

/* Random specs from valid and broken pieces, odd output sizes, tiny and long thin pictures: parse must answer
 * (0 or a message), and what parses must apply without a fault (under ASan in CI). */
static void test_spec_soup(void) {
    static const char *const pieces[] = {"rrc",
                                         "rrc=0.01:0.02",
                                         "scale=1:1",
                                         "ratio=0.1:10",
                                         "resize=1",
                                         "resize=7",
                                         "crop",
                                         "crop=3",
                                         "pad=2",
                                         "pad=0:9",
                                         "interp=random",
                                         "interp=bicubic",
                                         "hflip",
                                         "vflip=1",
                                         "rotate=360",
                                         "rotate=-1:1",
                                         "fill=255",
                                         "rotate_interp=bicubic",
                                         "jitter=5",
                                         "jitter=0:0:0:0.5",
                                         "mean=1:1:1",
                                         "std=-1:1:0.001",
                                         "erase=1:pixel",
                                         "erase=1:rand",
                                         "reprob=1",
                                         "rand-m10-n8-p1-inc1",
                                         "rand-m0-mstdinf",
                                         "aa=rand-m30-mmax30",
                                         "hflip=",
                                         "rrc=1",
                                         "jitter=1:2",
                                         "crop=x",
                                         "=",
                                         "rand-",
                                         "erase=1:",
                                         "zz"};
    NcAugRng g = nc_aug_rng(2024);
    NcImage imgs[3] = {{.width = 3, .height = 2}, {.width = 1, .height = 1}, {.width = 97, .height = 2}};
    for (int i = 0; i < 3; i++) {
        size_t n = (size_t)imgs[i].width * imgs[i].height * 3;
        imgs[i].rgb = nc_malloc(n);
        for (size_t k = 0; k < n; k++) imgs[i].rgb[k] = (uint8_t)(k * 37 + 11);
    }
    int parsed = 0, refused = 0;
    for (int t = 0; t < 1500; t++) {
        char spec[512] = "";
        int np = 1 + (int)(nc_aug_uniform(&g) * 4);
        for (int k = 0; k < np; k++) {
            if (k) strcat(spec, ",");
            strcat(spec, pieces[(int)(nc_aug_uniform(&g) * (sizeof pieces / sizeof pieces[0]))]);
        }
        int oh = 1 + (int)(nc_aug_uniform(&g) * 5), ow = 1 + (int)(nc_aug_uniform(&g) * 5);
        NcAugment *a;
        NcError e = {{0}};
        if (nc_augment_parse(spec, oh, ow, &a, &e) != 0) {
            refused++;
            CHECK_MSG(e.msg[0] && strstr(e.msg, "--aug"), "'%s': no message", spec);
            continue;
        }
        parsed++;
        float *out = nc_malloc(sizeof(float) * 3 * (size_t)oh * ow);
        for (int i = 0; i < 3; i++) {
            int rc = nc_augment_apply(a, &imgs[i], (uint64_t)t, out, &e);
            int finite = 1;
            for (int k = 0; rc == 0 && k < 3 * oh * ow; k++) finite &= isfinite(out[k]) != 0;
            CHECK_MSG(finite, "'%s': non-finite output", spec);
        }
        free(out);
        nc_augment_free(a);
    }
    CHECK_MSG(parsed > 100 && refused > 100, "%d parsed, %d refused", parsed, refused);
    for (int i = 0; i < 3; i++) free(imgs[i].rgb);
}

int main(void) {
    test_fixtures();
    test_param_fixtures();
    test_distributions();
    test_determinism();
    test_bad_specs();
    test_spec_soup();
    TEST_MAIN_END();
}
