/* conformance_main.c — netc against timm (the llm.c test_gpt2 pattern).
 *
 *   netc_conformance logits MODEL.nn H W BATCH EXPECTED.npy
 *       runs the model through the reference interpreter with the
 *       deterministic weights and input, and passes when
 *       max|netc - timm| <= 1e-4 * max|timm|.
 *   netc_conformance info MODEL.nn PARAMS MACS_224 MACS_448
 *       passes when the parameter count equals timm's exactly and the MACs
 *       at 224 and 448 are within 1% of timm's hook count.
 * The expected values come from tools/make_fixtures.py (timm in float64). */
#include <math.h>
#include <string.h>

#include "frontend/nn.h"
#include "runtime/support/detinit.h"
#include "ir/interp.h"
#include "runtime/support/npy.h"
#include "ir/weights.h"

static NcGraph *load(const char *path, int h, int w, int batch) {
    NcElabOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.height = h, opt.width = w, opt.batch = batch;
    NcError e;
    NcGraph *g = nc_nn_elaborate(path, &opt, &e);
    if (!g) fprintf(stderr, "%s\n", e.msg);
    return g;
}

static int logits(char **argv) {
    int h = atoi(argv[3]), w = atoi(argv[4]), b = atoi(argv[5]);
    NcGraph *g = load(argv[2], h, w, b);
    if (!g) return 1;
    NcNpy want;
    NcError e;
    if (nc_npy_read(argv[6], &want, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    nc_weights_init_det(g);
    const NcValue *iv = nc_val(g, g->inputs.data[0]);
    float *x = nc_malloc((size_t)nc_numel(iv) * sizeof(float));
    nc_det_fill_input(x, (size_t)nc_numel(iv));
    float *y = NULL;
    NcInterpStats st;
    const float *ins[1] = {x};
    if (nc_interp_run(g, ins, &y, &st, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    const NcValue *ov = nc_val(g, g->outputs.data[0]);
    int failed = 0;
    if (nc_numel(ov) != want.numel) {
        fprintf(stderr, "output has %lld values, the fixture %lld\n", (long long)nc_numel(ov), (long long)want.numel);
        failed = 1;
    } else {
        double maxref = 0, maxerr = 0;
        int64_t worst = 0;
        for (int64_t i = 0; i < want.numel; i++) {
            maxref = fmax(maxref, fabs(want.data[i]));
            double d = fabs((double)y[i] - want.data[i]);
            if (d > maxerr || isnan(d)) maxerr = d, worst = i;
        }
        double rel = maxerr / maxref;
        failed = !(rel <= 1e-4);
        printf("%s %dx%d batch %d: max|timm| %.6g, max|netc - timm| %.3g (%.2e relative, bound 1e-4) at %lld: "
               "netc %.8g timm %.8g; %.2f s\n",
               g->name, h, w, b, maxref, maxerr, rel, (long long)worst, (double)y[worst], (double)want.data[worst],
               st.seconds);
    }
    printf("%d passed, %d failed\n", !failed, failed);
    free(x);
    free(y);
    nc_npy_free(&want);
    nc_graph_free(g);
    return failed;
}

static int info(char **argv) {
    long long want_params = atoll(argv[3]);
    double want_macs[2] = {atof(argv[4]), atof(argv[5])};
    int res[2] = {224, 448}, failed = 0, passed = 0;
    for (int r = 0; r < 2; r++) {
        NcGraph *g = load(argv[2], res[r], res[r], 1);
        if (!g) return 1;
        long long params = (long long)nc_graph_param_count(g);
        double macs = nc_graph_macs(g), rel = fabs(macs - want_macs[r]) / want_macs[r];
        int ok = params == want_params && rel <= 0.01;
        printf("%s at %d: params %lld (timm %lld), MACs %.0f (timm %.0f, %.3f%% apart)%s\n", g->name, res[r], params,
               want_params, macs, want_macs[r], 100 * rel, ok ? "" : "  <-- MISMATCH");
        ok ? passed++ : failed++;
        nc_graph_free(g);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

int main(int argc, char **argv) {
    if (argc == 7 && !strcmp(argv[1], "logits")) return logits(argv);
    if (argc == 6 && !strcmp(argv[1], "info")) return info(argv);
    fprintf(stderr, "usage: netc_conformance logits MODEL.nn H W BATCH EXPECTED.npy\n"
                    "       netc_conformance info MODEL.nn PARAMS MACS_224 MACS_448\n");
    return 2;
}
