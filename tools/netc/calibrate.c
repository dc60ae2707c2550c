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

#include "ir/interp.h"
#include "ir/ops.h"
#include "runtime/image/decode.h"
#include "runtime/image/transform.h"

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

/* min / max of x (times scale[n][c] when scale is set) into lo, hi */
static void range_of(const NcValue *xv, const float *x, const float *scale, float *lo, float *hi) {
    const int64_t N = xv->shape[0], C = xv->shape[1], HW = nc_numel(xv) / (N * C);
    const int nhwc = nc_is_nhwc(xv);
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < C * HW; i++) {
            const int64_t c = nhwc ? i % C : i / HW;
            float v = x[n * C * HW + i];
            if (scale) v *= scale[n * C + c];
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
}

/* Runs graph g over the images, recording the ranges of its wanted nodes into lo, hi. */
static int measure(NcGraph *g, char **files, int nfiles, float *lo, float *hi, NcError *e) {
    const NcValue *in = nc_val(g, g->inputs.data[0]);
    const int64_t B = in->shape[0], H = in->shape[2], W = in->shape[3], per = 3 * H * W;
    NcTransform t = nc_transform_default((int)H, (int)W);
    t.crop_pct = g->pre.crop_pct, t.interp = g->pre.interp ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
    memcpy(t.mean, g->pre.mean, sizeof t.mean);
    memcpy(t.std, g->pre.std, sizeof t.std);
    /* the values to see: made outputs of the graph for the runs (restored after), each once (at[v]: its
     * index among the outputs) */
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
    float *x = nc_malloc((size_t)(B * per) * sizeof(float));
    float **outs = nc_calloc((size_t)g->outputs.len, sizeof(float *));
    int rc = 0;
    for (int f0 = 0; f0 < nfiles && !rc; f0 += (int)B) {
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
        const float *ins[1] = {x};
        if (!rc && nc_interp_run(g, ins, outs, NULL, e)) rc = NC_EXIT_FAIL;
        for (int ni = 0; ni < g->nodes.len && !rc; ni++) {
            const NcNode *nd = &g->nodes.data[ni];
            if (!wanted(g, nd)) continue;
            const float *sc = nd->attrs.has_in_scale ? outs[at[nd->inputs[nc_in_scale_input(&nd->attrs)]]] : NULL;
            range_of(nc_val(g, nd->inputs[0]), outs[at[nd->inputs[0]]], sc, &lo[ni], &hi[ni]);
        }
        for (int i = 0; i < g->outputs.len; i++) free(outs[i]), outs[i] = NULL;
    }
    g->outputs.len = nout;
    free(at);
    free(outs);
    free(x);
    return rc;
}

/* The weight name of conv node ni, or NULL. */
static const char *weight_name(const NcGraph *g, int ni) {
    const NcNode *nd = &g->nodes.data[ni];
    return nd->ninputs > 1 && nc_val(g, nd->inputs[1])->kind == NC_VAL_PARAM ? nc_val(g, nd->inputs[1])->name : NULL;
}

int nc_calibrate(const char *dir, NcGraph *const *cal, NcGraph *const *graphs, const int *member_of, int n,
                 NcCalibration *c, NcError *e) {
    memset(c, 0, sizeof *c);
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
        rc = measure(cal[k], files, nfiles, clo[k], chi[k], e);
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
