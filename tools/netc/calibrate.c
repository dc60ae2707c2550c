/* calibrate.c — activation ranges for --precision int8 (calibrate.h).
 *
 * The statistic is the plain minimum and maximum (not a percentile): with
 * the few images a calibration folder usually holds, a percentile of each
 * tensor is close to its maximum anyway, and the maximum never clips the
 * images it was measured on. */
#include "tools/netc/calibrate.h"

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/interp.h"
#include "ir/ops.h"
#include "runtime/image/decode.h"
#include "runtime/image/transform.h"
#include "tools/netc/calibrate_jit.h"

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The image files of dir, sorted; -1 with a message when it cannot be read or holds none. */
static int list_images(const char *dir, char ***out, int *n, NcError *e) {
    *out = NULL, *n = 0;
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return nc_errorf(e, "--calibrate %s: not a folder", dir);
    DIR *d = opendir(dir);
    if (!d) return nc_errorf(e, "--calibrate %s: cannot read the folder", dir);
    NC_VEC(char *) files = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || !is_image_name(de->d_name)) continue;
        char *path = nc_sprintf("%s/%s", dir, de->d_name);
        if (!stat(path, &st) && S_ISREG(st.st_mode))
            nc_vec_push(&files, path);
        else
            free(path);
    }
    closedir(d);
    if (!files.len) {
        free(files.data);
        return nc_errorf(e, "--calibrate %s: no images (.jpg, .jpeg, .png) in the folder to calibrate with", dir);
    }
    qsort(files.data, (size_t)files.len, sizeof(char *), by_name);
    *out = files.data, *n = files.len;
    return 0;
}

/* Is node nd one whose input range int8 wants (a conv with weights on an NHWC activation, or on one
 * without spatial extent: the same bytes in either layout)? */
static int wanted(const NcGraph *g, const NcNode *nd) {
    if (nd->op != NC_OP_CONV2D || nd->ninputs < 2 || nc_val(g, nd->inputs[1])->kind != NC_VAL_PARAM) return 0;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    return nc_is_nhwc(x) || (x->ndim == 4 && x->shape[2] * x->shape[3] == 1);
}

/* min / max of x (times scale[n][c] when scale is set) into lo, hi; by rows of one image's channel (NCHW)
 * or pixel (NHWC), on every thread: the order does not change a minimum or a maximum */
static void range_of(const NcValue *xv, const float *x, const float *scale, float *lo, float *hi) {
    const int64_t N = xv->shape[0], C = xv->shape[1], HW = nc_numel(xv) / (N * C);
    const int nhwc = nc_is_nhwc(xv);
    const int64_t per = nhwc ? HW : C, rows = N * per, len = nhwc ? C : HW;
    float l = *lo, h = *hi;
#pragma omp parallel for reduction(min : l) reduction(max : h) schedule(static) if (rows * len > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * len, *s = scale ? scale + r / per * C : NULL;
        float rl = l, rh = h;
        if (!s)
            for (int64_t i = 0; i < len; i++) rl = row[i] < rl ? row[i] : rl, rh = row[i] > rh ? row[i] : rh;
        else
            for (int64_t i = 0; i < len; i++) {
                const float v = row[i] * s[nhwc ? i : r % C];
                rl = v < rl ? v : rl, rh = v > rh ? v : rh;
            }
        l = rl < l ? rl : l, h = rh > h ? rh : h;
    }
    *lo = l, *hi = h;
}

/* The ranges of g's wanted nodes: before node ni runs, its inputs (calibrate_jit.h's visit). */
typedef struct Ranges {
    const NcGraph *g;
    float *lo, *hi;
} Ranges;

static void visit(void *ctx, int ni, const float *const *in) {
    const Ranges *r = ctx;
    const NcNode *nd = &r->g->nodes.data[ni];
    if (!wanted(r->g, nd)) return;
    const float *sc = nd->attrs.has_in_scale ? in[nc_in_scale_input(&nd->attrs)] : NULL;
    range_of(nc_val(r->g, nd->inputs[0]), in[0], sc, &r->lo[ni], &r->hi[ni]);
}

/* The reference interpreter over g, its wanted nodes' inputs made outputs of the graph for the run
 * (restored after), each once (at[v]: its index among the outputs). */
static int run_reference(NcGraph *g, const float *x, float *lo, float *hi, NcError *e) {
    const int nout = g->outputs.len;
    int *at = nc_malloc((size_t)(g->values.len + 1) * sizeof(int));
    for (int v = 0; v < g->values.len; v++) at[v] = -1;
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *nd = &g->nodes.data[ni];
        if (!wanted(g, nd)) continue;
        for (int k = 0; k < 1 + nd->attrs.has_in_scale; k++) {
            const int v = nd->inputs[k ? nc_in_scale_input(&nd->attrs) : 0];
            if (at[v] >= 0) continue;
            at[v] = g->outputs.len;
            nc_vec_push(&g->outputs, v);
        }
    }
    float **outs = nc_calloc((size_t)g->outputs.len, sizeof(float *));
    const float *ins[1] = {x};
    int rc = nc_interp_run(g, ins, outs, NULL, e) ? NC_EXIT_FAIL : 0;
    for (int ni = 0; ni < g->nodes.len && !rc; ni++) {
        const NcNode *nd = &g->nodes.data[ni];
        if (!wanted(g, nd)) continue;
        const float *sc = nd->attrs.has_in_scale ? outs[at[nd->inputs[nc_in_scale_input(&nd->attrs)]]] : NULL;
        range_of(nc_val(g, nd->inputs[0]), outs[at[nd->inputs[0]]], sc, &lo[ni], &hi[ni]);
    }
    for (int i = 0; i < g->outputs.len; i++) free(outs[i]);
    g->outputs.len = nout;
    free(at);
    free(outs);
    return rc;
}

/* Runs graph g (planned by plan) over the images, recording the ranges of its wanted nodes into lo, hi:
 * by its generated kernels (calibrate_jit.h), or with reference set, or where those cannot run here, by the
 * reference interpreter. */
static int measure(NcGraph *g, const NcPlan *plan, int reference, const NcCgOptions *cgo, char **files, int nfiles,
                   float *lo, float *hi, NcError *e) {
    const NcValue *in = nc_val(g, g->inputs.data[0]);
    const int64_t B = in->shape[0], H = in->shape[2], W = in->shape[3], per = 3 * H * W;
    NcTransform t = nc_transform_default((int)H, (int)W);
    t.crop_pct = g->pre.crop_pct, t.interp = g->pre.interp ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
    memcpy(t.mean, g->pre.mean, sizeof t.mean);
    memcpy(t.std, g->pre.std, sizeof t.std);
    NcCalJit *jit = NULL;
    const double t0 = nc_now();
    if (!reference) {
        int touched;
        NcError je;
        jit = nc_cal_jit_new(g, plan, cgo, &touched, &je);
        if (!jit && touched) {
            *e = je;
            nc_error_prefix(e, "--calibrate (NETC_CALIBRATE=reference measures with the reference interpreter)");
            return NC_EXIT_FAIL;
        }
        if (!jit)
            fprintf(stderr,
                    "netc: --calibrate: the generated kernels cannot run here (%s): measuring with the "
                    "reference interpreter, which is much slower\n",
                    je.msg);
    }
    const double t1 = nc_now();
    const int bar = isatty(2) && nfiles > 1;
    float *x = nc_malloc((size_t)(B * per) * sizeof(float));
    Ranges r = {g, lo, hi};
    int rc = 0;
    double reading = 0;
    for (int f0 = 0; f0 < nfiles && !rc; f0 += (int)B) {
        const double tr = nc_now();
        /* a last partial batch repeats its last image: ranges are unchanged by repeats */
        for (int64_t b = 0; b < B && !rc; b++) {
            const int f = f0 + (int)b < nfiles ? f0 + (int)b : nfiles - 1;
            NcImage img;
            if (nc_image_read(files[f], 0, &img, e) || nc_image_transform(&img, &t, x + b * per, e)) {
                nc_error_prefix(e, "--calibrate: %s", files[f]);
                rc = NC_EXIT_BADINPUT;
            }
            nc_image_free(&img);
        }
        if (rc) break;
        reading += nc_now() - tr;
        if (jit)
            nc_cal_jit_run(jit, x, visit, &r);
        else
            rc = run_reference(g, x, lo, hi, e);
        if (bar)
            fprintf(stderr, "\rcalibrate: %s: %d of %d images", g->name, f0 + (int)B < nfiles ? f0 + (int)B : nfiles,
                    nfiles);
    }
    if (bar) fprintf(stderr, "\n");
    if (cgo->verbose && !rc)
        fprintf(stderr, "calibrate: %s: %d images in %.2f s (%.3f s an image, %.3f s of it reading the image)%s\n",
                g->name, nfiles, nc_now() - t1, (nc_now() - t1) / nfiles, reading / nfiles,
                jit ? "" : " by the reference interpreter");
    if (cgo->verbose && jit) fprintf(stderr, "calibrate: %s: kernels generated in %.2f s\n", g->name, t1 - t0);
    nc_cal_jit_free(jit);
    free(x);
    return rc;
}

/* The weight name of conv node ni, or NULL. */
static const char *weight_name(const NcGraph *g, int ni) {
    const NcNode *nd = &g->nodes.data[ni];
    return nd->ninputs > 1 && nc_val(g, nd->inputs[1])->kind == NC_VAL_PARAM ? nc_val(g, nd->inputs[1])->name : NULL;
}

int nc_calibrate(const char *dir, NcGraph *const *cal, const NcPlan *cal_plan, NcGraph *const *graphs,
                 const int *member_of, int n, const NcCgOptions *cgo, NcCalibration *c, NcError *e) {
    memset(c, 0, sizeof *c);
    const char *how = getenv("NETC_CALIBRATE");
    if (how && *how && strcmp(how, "fast") && strcmp(how, "reference"))
        return nc_errorf(e, "NETC_CALIBRATE=%s: expected fast (the generated kernels, the default) or reference", how),
               NC_EXIT_BADINPUT;
    char **files;
    int nfiles;
    if (list_images(dir, &files, &nfiles, e)) return NC_EXIT_BADINPUT;
    int members = 0;
    for (int i = 0; i < n; i++) members = member_of[i] + 1 > members ? member_of[i] + 1 : members;
    float **clo = nc_calloc((size_t)members + 1, sizeof(float *)),
          **chi = nc_calloc((size_t)members + 1, sizeof(float *));
    int rc = 0;
    for (int k = 0; k < members && !rc; k++) {
        const NcGraph *g = cal[k];
        clo[k] = nc_malloc((size_t)(g->nodes.len + 1) * sizeof(float));
        chi[k] = nc_malloc((size_t)(g->nodes.len + 1) * sizeof(float));
        for (int ni = 0; ni < g->nodes.len; ni++) clo[k][ni] = INFINITY, chi[k][ni] = -INFINITY;
        rc = measure(cal[k], &cal_plan[k], how && !strcmp(how, "reference"), cgo, files, nfiles, clo[k], chi[k], e);
    }
    c->ngraphs = n;
    c->lo = nc_calloc((size_t)n, sizeof(float *));
    c->hi = nc_calloc((size_t)n, sizeof(float *));
    for (int gi = 0; gi < n && !rc; gi++) {
        const NcGraph *g = graphs[gi], *f = cal[member_of[gi]];
        c->lo[gi] = nc_malloc((size_t)(g->nodes.len + 1) * sizeof(float));
        c->hi[gi] = nc_malloc((size_t)(g->nodes.len + 1) * sizeof(float));
        for (int ni = 0; ni < g->nodes.len; ni++) {
            c->lo[gi][ni] = c->hi[gi][ni] = NAN;
            const char *w = wanted(g, &g->nodes.data[ni]) ? weight_name(g, ni) : NULL;
            for (int fi = 0; w && fi < f->nodes.len; fi++)
                if (wanted(f, &f->nodes.data[fi]) && !strcmp(weight_name(f, fi), w)) {
                    c->lo[gi][ni] = clo[member_of[gi]][fi], c->hi[gi][ni] = chi[member_of[gi]][fi];
                    break;
                }
        }
    }
    for (int k = 0; k < members; k++) free(clo[k]), free(chi[k]);
    free(clo), free(chi);
    for (int i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    if (rc) nc_calibration_free(c);
    return rc;
}

void nc_calibration_free(NcCalibration *c) {
    for (int i = 0; i < c->ngraphs; i++) {
        if (c->lo) free(c->lo[i]);
        if (c->hi) free(c->hi[i]);
    }
    free(c->lo);
    free(c->hi);
    memset(c, 0, sizeof *c);
}
