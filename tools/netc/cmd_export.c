/* netc export — a model as an ONNX file (codegen/onnx/). */
#include <string.h>

#include "codegen/onnx/onnx_export.h"
#include "frontend/onnx/onnx.h"
#include "tools/netc/cli.h"

static const char *help =
    "usage: netc export FILE.nn (--weights W.safetensors | --init det) --onnx OUT.onnx [options]\n"
    "       netc export FILE.onnx [--weights W | --init det] --onnx OUT.onnx [options]\n\n"
    "Writes the model, elaborated at one resolution and batch, as an ONNX file (opset 17) that ONNX\n"
    "Runtime and netc read: initializers named as the parameters (timm's state_dict keys), shapes\n"
    "fixed (the batch too, unless --dynamic-batch), TensorFlow-style 'same' padding as explicit\n"
    "pads, timm's eval transform in the metadata (preprocess.*). By default the graph before any\n"
    "pass (BatchNormalization nodes kept); with --fold after the default passes (BN folded into conv\n"
    "weights and biases named NAME#bn, fused epilogues and squeeze-excite gates written back as\n"
    "their ONNX ops).\n\n"
    "options:\n" CLI_MODEL_OPTIONS_HELP CLI_WEIGHT_OPTIONS_HELP
    "  --onnx OUT.onnx  where to write (required; a temporary file, renamed once complete)\n"
    "  --fold           export after the default passes (fold_bn, fusions) instead of before\n"
    "  --dynamic-batch  the batch axis symbolic ('N'): one file for any batch (default: --batch, fixed)\n"
    "  --passes P       export after these passes instead (see netc dump --help)\n"
    "  --ops            list which ONNX ops each of netc's ops becomes, and exit\n";

int cmd_export(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    if (argc == 2 && !strcmp(argv[1], "--ops")) { /* the exporter's op table */
        nc_onnx_export_describe(stdout);
        return 0;
    }
    CliModel m = {0};
    const char *out = NULL;
    int fold = 0;
    NcOnnxExportOptions xo = {0};
    for (int i = 1; i < argc; i++) {
        if (!m.options_ended && !strcmp(argv[i], "--onnx")) {
            if (i + 1 >= argc) {
                cli_error("--onnx needs a file name");
                return NC_EXIT_BADINPUT;
            }
            out = argv[++i];
            continue;
        }
        if (!m.options_ended && !strcmp(argv[i], "--fold")) {
            fold = 1;
            continue;
        }
        if (!m.options_ended && !strcmp(argv[i], "--dynamic-batch")) {
            xo.dynamic_batch = 1;
            continue;
        }
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("export: unknown option '%s' (see netc export --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    if (!out) {
        cli_error("export: say where to write with --onnx OUT.onnx");
        return NC_EXIT_BADINPUT;
    }
    if (fold && m.passes) {
        cli_error("export: --fold and --passes exclude each other (--fold is --passes default)");
        return NC_EXIT_BADINPUT;
    }
    if (m.dump_after) {
        cli_error("export: --dump-after belongs to netc dump");
        return NC_EXIT_BADINPUT;
    }
    if (fold) m.passes = "default";
    NcGraph *g = cli_load(&m, 1);
    if (!g) return NC_EXIT_BADINPUT;
    NcError e;
    int rc = nc_onnx_export(g, out, &xo, &e);
    if (rc) fprintf(stderr, "netc: %s\n", e.msg);
    nc_graph_free(g);
    return rc == -2 ? NC_EXIT_FAIL : rc ? NC_EXIT_BADINPUT : 0;
}
