/* netc weights — write a model's parameters to safetensors. */
#include <string.h>

#include "ir/weights.h"
#include "tools/netc/cli.h"

static const char *help =
    "usage: netc weights FILE.nn (--init det | --weights IN.safetensors) -o OUT.safetensors [options]\n\n"
    "Writes every parameter of the model, by its timm name, as F32 safetensors. With --init det\n"
    "this is the deterministic initialiser's output; with --weights it checks and converts a file.\n\n"
    "options:\n" CLI_MODEL_OPTIONS_HELP CLI_WEIGHT_OPTIONS_HELP "  -o FILE          where to write (required)\n";

int cmd_weights(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    CliModel m = {0};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                cli_error("-o needs a file name");
                return NC_EXIT_BADINPUT;
            }
            out = argv[++i];
            continue;
        }
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("weights: unknown option '%s' (see netc weights --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    if (!out) {
        cli_error("weights: say where to write with -o FILE");
        return NC_EXIT_BADINPUT;
    }
    NcGraph *g = cli_load(&m, 1);
    if (!g) return NC_EXIT_BADINPUT;
    NcError e;
    int rc = nc_weights_save(g, out, &e);
    if (rc) fprintf(stderr, "netc: %s\n", e.msg);
    nc_graph_free(g);
    return rc ? NC_EXIT_BADINPUT : 0;
}
