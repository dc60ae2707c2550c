/* grad_main.c — netc's training step against PyTorch autograd in float64
 * (the llm.c test_gpt2 pattern, for gradients).
 *
 *   netc_grad_check MODEL.nn FIXTURE.safetensors [TOLERANCE]
 *
 * The fixture (tools/make_grad_fixtures.py) says in its metadata the size,
 * batch, class count, labels and label smoothing it was made with, and any
 * BN scales it changed after the deterministic initialiser; this program
 * elaborates the model the same way in training mode, differentiates it
 * (passes/autodiff.c), runs the step in the reference interpreter on the
 * deterministic input and compares the loss, the logits, every gradient the
 * fixture holds and the BN running statistics after the step, each by
 * ||netc - torch|| / ||torch|| <= TOLERANCE (default 1e-4). */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/nn.h"
#include "ir/interp.h"
#include "ir/weights.h"
#include "passes/autodiff.h"
#include "passes/pass.h"
#include "runtime/support/detinit.h"
#include "runtime/support/npy.h"
#include "runtime/support/safetensors.h"

static int failed, passed;

static const char *meta(const NcSafetensors *st, const char *key) {
    const char *v = nc_st_meta(st, key);
    if (!v) {
        fprintf(stderr, "%s: no metadata '%s'\n", st->path, key);
        exit(1);
    }
    return v;
}

/* ||a - b|| / ||b|| over n values, b the fixture's */
static void compare(const char *what, const float *a, const NcSafetensors *st, const char *name, int64_t n,
                    double tol) {
    const NcStTensor *t = nc_st_find(st, name);
    NcError e;
    if (!t || t->numel != n) {
        printf("FAIL %s: the fixture has no '%s' of %lld values\n", what, name, (long long)n);
        failed++;
        return;
    }
    float *b = nc_malloc((size_t)n * sizeof(float));
    if (nc_st_read_f32(st, t, b, &e)) {
        printf("FAIL %s: %s\n", what, e.msg);
        failed++;
        free(b);
        return;
    }
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    const double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    const int ok = rel <= tol;
    printf("%s %-48s %9lld values, |torch| %.4g, relative error %.2e (bound %.0e)\n", ok ? "ok  " : "FAIL", what,
           (long long)n, sqrt(den), rel, tol);
    ok ? passed++ : failed++;
    free(b);
}

/* The fixture's BN scales: every parameter whose name matches the glob
 * gamma_scaled (e.g. "layer*.bn3.weight") multiplied by gamma_scale after
 * the deterministic initialiser, as the fixture's were; their count must be
 * the fixture's. */
static void scale_params(NcGraph *g, const NcSafetensors *st) {
    const double f = atof(meta(st, "gamma_scale"));
    const char *glob = meta(st, "gamma_scaled");
    const int want = atoi(meta(st, "gamma_scaled_count"));
    int n = 0;
    for (int i = 0; i < g->values.len && strcmp(glob, "-"); i++) {
        NcValue *v = &g->values.data[i];
        if (v->kind != NC_VAL_PARAM || fnmatch(glob, v->name, 0)) continue;
        for (int64_t k = 0; k < nc_numel(v); k++) v->data[k] = (float)(v->data[k] * f);
        n++;
    }
    if (n != want) {
        fprintf(stderr, "%s: gamma_scaled '%s' matches %d parameters here, %d in the fixture\n", st->path, glob, n,
                want);
        exit(1);
    }
}

/* netc's side: named results to compare with the fixture's tensors */
typedef struct Results {
    int n;
    char *name[4096];
    float *data[4096];
    int64_t numel[4096];
} Results;

static void add(Results *r, const char *name, const float *data, int64_t n) {
    if (r->n == 4096) return;
    r->name[r->n] = nc_strdup(name);
    r->data[r->n] = nc_malloc((size_t)n * sizeof(float));
    memcpy(r->data[r->n], data, (size_t)n * sizeof(float));
    r->numel[r->n++] = n;
}

/* Every fixture tensor (loss, logits, grad/, running_mean/, running_var/)
 * against netc's result of that name. */
static void compare_all(const Results *r, const NcSafetensors *st, double tol) {
    int ngrads = 0;
    for (int i = 0; i < st->ntensors; i++) {
        const char *nm = st->tensors[i].name;
        int k = 0;
        while (k < r->n && strcmp(r->name[k], nm)) k++;
        if (k == r->n) {
            printf("FAIL %s: netc has no such result (not a trained parameter or batch norm?)\n", nm);
            failed++;
            continue;
        }
        if (r->numel[k] != st->tensors[i].numel) {
            printf("FAIL %s: %lld values in netc, %lld in the fixture\n", nm, (long long)r->numel[k],
                   (long long)st->tensors[i].numel);
            failed++;
            continue;
        }
        compare(nm, r->data[k], st, nm, r->numel[k], tol);
        ngrads += !strncmp(nm, "grad/", 5);
    }
    if (ngrads < 5) {
        printf("FAIL the fixture holds %d gradients (at least 5 expected)\n", ngrads);
        failed++;
    }
}

/* The interpreter's step: loss, logits, gradients, and the running
 * statistics updated as the training program updates them. */
static void interp_results(NcGraph *g, const NcTrainInfo *info, float **out, int N, int K, Results *r) {
    add(r, "loss", out[0], 1);
    add(r, "logits", out[1], (int64_t)N * K);
    for (int k = 0; k < info->nparams; k++) {
        char *nm = nc_sprintf("grad/%s", info->param[k]);
        add(r, nm, out[2 + k], nc_numel(nc_val(g, nc_graph_find_param(g, info->param[k]))));
        free(nm);
    }
    for (int i = 0; i < info->nbn; i++) {
        const char *rm = info->bn[2 * i];
        const int base = (int)(strlen(rm) - strlen(".running_mean"));
        const NcValue *pm = nc_val(g, nc_graph_find_param(g, rm));
        const NcValue *pv = nc_val(g, nc_graph_find_param(g, info->bn[2 * i + 1]));
        const float *bm = out[2 + info->nparams + 2 * i], *bv = out[3 + info->nparams + 2 * i];
        const int64_t C = nc_numel(pm);
        int64_t cnt = 0; /* values per channel: the BN input's numel / C */
        for (int ni = 0; ni < g->nodes.len && !cnt; ni++) {
            const NcNode *nd = &g->nodes.data[ni];
            if (nd->op == NC_OP_BATCH_NORM_TRAIN && nd->inputs[3] == pm->id)
                cnt = nc_numel(nc_val(g, nd->inputs[0])) / C;
        }
        float *um = nc_malloc((size_t)C * sizeof(float)), *uv = nc_malloc((size_t)C * sizeof(float));
        for (int64_t c = 0; c < C; c++) {
            um[c] = (float)(0.1 * bm[c] + 0.9 * pm->data[c]);
            uv[c] = (float)(0.1 * (bv[c] * (double)cnt / (double)(cnt - 1)) + 0.9 * pv->data[c]);
        }
        char *fm = nc_sprintf("running_mean/%.*s", base, rm), *fv = nc_sprintf("running_var/%.*s", base, rm);
        add(r, fm, um, C);
        add(r, fv, uv, C);
        free(fm), free(fv), free(um), free(uv);
    }
}

/* A compiled program's `run --train` output. */
static int file_results(const char *path, Results *r) {
    NcSafetensors g;
    NcError e;
    if (nc_st_open(path, &g, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    for (int i = 0; i < g.ntensors; i++) {
        float *d = nc_malloc((size_t)g.tensors[i].numel * sizeof(float));
        if (nc_st_read_f32(&g, &g.tensors[i], d, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return -1;
        }
        add(r, g.tensors[i].name, d, g.tensors[i].numel);
        free(d);
    }
    nc_st_close(&g);
    return 0;
}

int main(int argc, char **argv) {
    const char *save_dir = NULL, *compare_file = NULL;
    if (argc > 2 && !strcmp(argv[1], "--save-inputs")) save_dir = argv[2], argc -= 2, argv += 2;
    if (argc > 2 && !strcmp(argv[1], "--compare")) compare_file = argv[2], argc -= 2, argv += 2;
    if (argc < 3) {
        fprintf(stderr, "usage: netc_grad_check [--save-inputs DIR | --compare G.safetensors] MODEL.nn "
                        "FIXTURE.safetensors [TOLERANCE]\n");
        return 2;
    }
    const double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    NcError e;
    NcSafetensors st;
    if (nc_st_open(argv[2], &st, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    const int H = atoi(meta(&st, "H")), W = atoi(meta(&st, "W")), N = atoi(meta(&st, "batch"));
    const int K = atoi(meta(&st, "classes"));
    const double smoothing = atof(meta(&st, "smoothing"));
    char *set = nc_sprintf("classes=%d", K);
    const char *sets[1] = {set};
    NcElabOptions opt = {.height = H, .width = W, .batch = N, .nset = 1, .set = sets, .train = 1};
    NcGraph *g = nc_nn_elaborate(argv[1], &opt, &e);
    if (!g) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    nc_weights_init_det(g);
    scale_params(g, &st);
    const int64_t nx = (int64_t)N * 3 * H * W;
    float *x = nc_malloc((size_t)nx * sizeof(float));
    nc_det_fill_input(x, (size_t)nx);
    Results res = {0};
    int rc = 0;
    if (save_dir) { /* what a compiled program needs to make the same step */
        char *wp = nc_sprintf("%s/weights.safetensors", save_dir), *xp = nc_sprintf("%s/input.npy", save_dir);
        int64_t xs[4] = {N, 3, H, W};
        if (nc_weights_save(g, wp, &e) || nc_npy_write_f32(xp, 4, xs, x, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            rc = 1;
        } else {
            printf("%dx%d %d %d %s %s\n", H, W, N, K, meta(&st, "labels"), meta(&st, "smoothing"));
        }
        free(wp), free(xp);
    } else if (compare_file) {
        if (file_results(compare_file, &res)) rc = 1;
        printf("%s %dx%d batch %d, %d classes: the compiled step's results in %s\n", g->name, H, W, N, K, compare_file);
    } else {
        NcTrainSpec spec = {NC_LOSS_SOFT, 0, 0, 0};
        NcTrainInfo info;
        if (nc_autodiff(g, &spec, &info, NULL, &e) || nc_graph_verify(g, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        /* inputs: the deterministic image, smoothed one-hot targets, dloss = 1 */
        float *target = nc_calloc((size_t)N * K, sizeof(float)), one = 1;
        const char *lab = meta(&st, "labels");
        for (int n = 0; n < N; n++) {
            const int y = atoi(lab);
            for (int k = 0; k < K; k++) target[n * K + k] = (float)((k == y ? 1 - smoothing : 0) + smoothing / K);
            lab = strchr(lab, ',') ? strchr(lab, ',') + 1 : lab;
        }
        const float *ins[3] = {x, target, &one};
        float **out = nc_calloc((size_t)g->outputs.len, sizeof(float *));
        NcInterpStats stats;
        if (nc_interp_run(g, ins, out, &stats, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        printf("%s %dx%d batch %d, %d classes: forward + backward %d nodes in %.2f s (interpreter)\n", g->name, H, W, N,
               K, g->nodes.len, stats.seconds);
        interp_results(g, &info, out, N, K, &res);
        for (int i = 0; i < g->outputs.len; i++) free(out[i]);
        free(out);
        free(target);
        nc_train_info_free(&info);
    }
    if (!rc && !save_dir) {
        compare_all(&res, &st, tol);
        printf("%d passed, %d failed\n", passed, failed);
        rc = failed != 0;
    }
    for (int i = 0; i < res.n; i++) free(res.name[i]), free(res.data[i]);
    free(x);
    free(set);
    nc_graph_free(g);
    nc_st_close(&st);
    return rc;
}
