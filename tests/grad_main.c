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

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: netc_grad_check MODEL.nn FIXTURE.safetensors [TOLERANCE]\n");
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
    NcTrainSpec spec = {NC_LOSS_SOFT, 0, 0, 0};
    NcTrainInfo info;
    if (nc_autodiff(g, &spec, &info, NULL, &e) || nc_graph_verify(g, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    /* inputs: the deterministic image, smoothed one-hot targets, dloss = 1 */
    const int64_t nx = (int64_t)N * 3 * H * W;
    float *x = nc_malloc((size_t)nx * sizeof(float)), *target = nc_calloc((size_t)N * K, sizeof(float)), one = 1;
    nc_det_fill_input(x, (size_t)nx);
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
    printf("%s %dx%d batch %d, %d classes: forward + backward %d nodes in %.2f s\n", g->name, H, W, N, K,
           g->nodes.len, stats.seconds);
    compare("loss", out[0], &st, "loss", 1, tol);
    compare("logits", out[1], &st, "logits", (int64_t)N * K, tol);
    int ngrads = 0;
    for (int i = 0; i < st.ntensors; i++) {
        const char *nm = st.tensors[i].name;
        if (strncmp(nm, "grad/", 5)) continue;
        int k = 0;
        while (k < info.nparams && strcmp(info.param[k], nm + 5)) k++;
        if (k == info.nparams) {
            printf("FAIL %s: not a trained parameter of netc's graph\n", nm);
            failed++;
            continue;
        }
        compare(nm, out[2 + k], &st, nm, st.tensors[i].numel, tol);
        ngrads++;
    }
    /* the running statistics after the step, as the training program updates them */
    for (int i = 0; i < info.nbn; i++) {
        const char *rm = info.bn[2 * i];
        const size_t base = strlen(rm) - strlen(".running_mean");
        char *fm = nc_sprintf("running_mean/%.*s", (int)base, rm), *fv = nc_sprintf("running_var/%.*s", (int)base, rm);
        if (nc_st_find(&st, fm)) {
            const NcValue *pm = nc_val(g, nc_graph_find_param(g, rm));
            const NcValue *pv = nc_val(g, nc_graph_find_param(g, info.bn[2 * i + 1]));
            const float *bm = out[2 + info.nparams + 2 * i], *bv = out[3 + info.nparams + 2 * i];
            const int64_t C = nc_numel(pm);
            float *um = nc_malloc((size_t)C * sizeof(float)), *uv = nc_malloc((size_t)C * sizeof(float));
            /* values per channel: the BN input's numel / C */
            int64_t cnt = 0;
            for (int ni = 0; ni < g->nodes.len && !cnt; ni++) {
                const NcNode *nd = &g->nodes.data[ni];
                if (nd->op == NC_OP_BATCH_NORM_TRAIN && nd->inputs[3] == pm->id)
                    cnt = nc_numel(nc_val(g, nd->inputs[0])) / C;
            }
            for (int64_t c = 0; c < C; c++) {
                um[c] = (float)(0.1 * bm[c] + 0.9 * pm->data[c]);
                uv[c] = (float)(0.1 * (bv[c] * (double)cnt / (double)(cnt - 1)) + 0.9 * pv->data[c]);
            }
            compare(fm, um, &st, fm, C, tol);
            compare(fv, uv, &st, fv, C, tol);
            free(um);
            free(uv);
        }
        free(fm);
        free(fv);
    }
    if (ngrads < 5) {
        printf("FAIL the fixture holds %d gradients (at least 5 expected)\n", ngrads);
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    for (int i = 0; i < g->outputs.len; i++) free(out[i]);
    free(out);
    free(x);
    free(target);
    free(set);
    nc_train_info_free(&info);
    nc_graph_free(g);
    nc_st_close(&st);
    return failed != 0;
}
