/* netc run — the reference interpreter from the command line. */
#include <string.h>

#include "passes/pass.h"
#include "runtime/support/detinit.h"
#include "ir/interp.h"
#include "runtime/support/npy.h"
#include "runtime/support/topk.h"
#include "tools/netc/cli.h"

static const char *help = "usage: netc run FILE.nn (--weights W.safetensors | --init det) [options]\n"
                          "       netc run FILE.onnx [--weights W | --init det] [options]\n\n"
                          "Runs the model with the reference interpreter (plain f32 loops, the oracle for every\n"
                          "compiled kernel) and prints the top-5 logits of each image and the time taken.\n\n"
                          "options:\n" CLI_MODEL_OPTIONS_HELP CLI_WEIGHT_OPTIONS_HELP CLI_PASS_OPTIONS_HELP
                          "  --plan           run with the memory plan: every intermediate in one arena, in-place ops\n"
                          "  --input X.npy    NCHW f32 input; its shape sets --res and --batch unless they are given\n"
                          "                   (default: the deterministic input recipe 'det:input')\n"
                          "  --output Y.npy   write the logits (written to a temporary file, then renamed)\n"
                          "  --save-input X.npy  also write the input that was used (e.g. the deterministic one)\n"
                          "  --top K          how many classes to print per image (default 5, 0 for none)\n";

int cmd_run(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    CliModel m = {0};
    const char *in_path = NULL, *out_path = NULL, *save_input = NULL;
    int top = 5, batch_given = 0, use_plan = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--input") || !strcmp(a, "--output") || !strcmp(a, "--top") || !strcmp(a, "--save-input")) &&
            i + 1 >= argc) {
            cli_error("%s needs a value", a);
            return NC_EXIT_BADINPUT;
        }
        if (!strcmp(a, "--input")) {
            in_path = argv[++i];
            continue;
        }
        if (!strcmp(a, "--output")) {
            out_path = argv[++i];
            continue;
        }
        if (!strcmp(a, "--save-input")) {
            save_input = argv[++i];
            continue;
        }
        if (!strcmp(a, "--top")) {
            char *end;
            top = (int)strtol(argv[++i], &end, 10);
            if (*end || top < 0) {
                cli_error("--top '%s': expected a count", argv[i]);
                return NC_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(a, "--plan")) {
            use_plan = 1;
            continue;
        }
        if (!strcmp(a, "--batch")) batch_given = 1;
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("run: unknown option '%s' (see netc run --help)", a);
            return NC_EXIT_BADINPUT;
        }
    }
    NcNpy x;
    memset(&x, 0, sizeof x);
    NcError e;
    if (in_path) {
        if (nc_npy_read(in_path, &x, &e)) {
            fprintf(stderr, "netc: %s\n", e.msg);
            return NC_EXIT_BADINPUT;
        }
        /* channels: the model's own (an ONNX model may take other than 3); checked against it below */
        if (x.ndim != 4 || x.shape[1] < 1 || x.shape[1] > 4096 || x.shape[0] > 65536 || x.shape[2] > 65536 ||
            x.shape[3] > 65536) {
            char b[128];
            cli_error("%s: input must be [batch, channels, height, width], got %s", in_path,
                      nc_shape_str(x.ndim, x.shape, b, sizeof b));
            nc_npy_free(&x);
            return NC_EXIT_BADINPUT;
        }
        if (!m.res_given) m.opt.height = (int)x.shape[2], m.opt.width = (int)x.shape[3];
        if (!batch_given) m.opt.batch = (int)x.shape[0];
    }
    NcGraph *g = cli_load(&m, 1);
    if (!g) {
        nc_npy_free(&x);
        return NC_EXIT_BADINPUT;
    }
    const NcValue *iv = nc_val(g, g->inputs.data[0]);
    float *input;
    if (in_path) {
        int same = x.ndim == iv->ndim;
        for (int d = 0; same && d < iv->ndim; d++) same = x.shape[d] == iv->shape[d];
        if (!same) {
            char a[128], b[128];
            cli_error("%s: input has shape %s but the model is compiled for %s", in_path,
                      nc_shape_str(x.ndim, x.shape, a, sizeof a), nc_shape_str(iv->ndim, iv->shape, b, sizeof b));
            nc_npy_free(&x);
            nc_graph_free(g);
            return NC_EXIT_BADINPUT;
        }
        input = x.data;
    } else {
        input = nc_malloc((size_t)nc_numel(iv) * sizeof(float));
        nc_det_fill_input(input, (size_t)nc_numel(iv));
    }
    if (save_input && nc_npy_write_f32(save_input, iv->ndim, iv->shape, input, &e)) {
        fprintf(stderr, "netc: %s\n", e.msg);
        if (in_path)
            nc_npy_free(&x);
        else
            free(input);
        nc_graph_free(g);
        return NC_EXIT_BADINPUT;
    }
    float *out = NULL;
    NcInterpStats st;
    const float *ins[1] = {input};
    NcPlan plan;
    memset(&plan, 0, sizeof plan);
    if (use_plan && nc_plan_memory(g, &plan, m.explain ? stderr : NULL, &e)) {
        fprintf(stderr, "netc: %s\n", e.msg);
        nc_graph_free(g);
        return NC_EXIT_FAIL;
    }
    int failed = use_plan ? nc_interp_run_planned(g, &plan, ins, &out, &st, &e) : nc_interp_run(g, ins, &out, &st, &e);
    nc_plan_free(&plan);
    if (failed) {
        fprintf(stderr, "netc: %s\n", e.msg);
        nc_graph_free(g);
        return NC_EXIT_FAIL;
    }
    const NcValue *ov = nc_val(g, g->outputs.data[0]);
    int rc = 0;
    if (out_path && nc_npy_write_f32(out_path, ov->ndim, ov->shape, out, &e)) {
        fprintf(stderr, "netc: %s\n", e.msg);
        rc = NC_EXIT_BADINPUT;
    }
    int64_t n = ov->shape[0], per = nc_numel(ov) / n;
    nc_print_topk(stdout, out, n, per, top);
    printf("%s at %dx%d, batch %d: %.3f s in the reference interpreter (peak intermediates %.1f MB)\n", g->name,
           m.opt.height, m.opt.width, m.opt.batch, st.seconds, (double)st.peak_bytes / 1e6);
    free(out);
    if (in_path)
        nc_npy_free(&x);
    else
        free(input);
    nc_graph_free(g);
    return rc;
}
