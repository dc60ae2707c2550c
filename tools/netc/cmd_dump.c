/* netc dump — the graph IR as text. */
#include <string.h>

#include "codegen/cpu/cg_layout.h"
#include "tools/netc/cli.h"

static const char *help = "usage: netc dump FILE.nn [options]\n\n"
                          "Elaborates the description at one resolution, verifies the graph and prints "
                          "it.\n\noptions:\n" CLI_MODEL_OPTIONS_HELP CLI_PASS_OPTIONS_HELP;

int cmd_dump(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    CliModel m = {0};
    for (int i = 1; i < argc; i++) {
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("dump: unknown option '%s' (see netc dump --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    /* the CPU backend's layout pass with the host's choices, as compile would run it */
    const int layout =
        m.dump_after && (!strcmp(m.dump_after, "assign_layout") || !strcmp(m.dump_after, "assign_dtype") ||
                         !strcmp(m.dump_after, "epilogue_inplace") || !strcmp(m.dump_after, "all"));
    NcLayoutHooks hooks = {0};
    char *pipeline = NULL;
    NcError e;
    if (layout) {
        if (nc_cg_layout_hooks(&hooks, NULL, NULL, &e)) {
            cli_error("%s", e.msg);
            return NC_EXIT_FAIL;
        }
        m.passes = pipeline = nc_pipeline_with_layout(m.passes);
        m.layout = &hooks;
    }
    NcGraph *g = cli_load(&m, 0);
    if (layout) nc_cg_layout_hooks_free(&hooks);
    free(pipeline);
    if (!g) return NC_EXIT_BADINPUT;
    if (!m.dump_after) nc_graph_print(g, stdout);
    nc_graph_free(g);
    return 0;
}
