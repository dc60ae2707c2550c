/* netc dump — the graph IR as text. */
#include <string.h>

#include "tools/netc/cli.h"
#include "tools/netc/emit.h"

static const char *help =
    "usage: netc dump FILE.nn [options]\n\n"
    "Elaborates the description at one resolution, verifies the graph and prints it.\n\noptions:\n" CLI_MODEL_OPTIONS_HELP CLI_PASS_OPTIONS_HELP;

int cmd_dump(int argc, char **argv) {
    if (cli_help_requested(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    CliModel m;
    memset(&m, 0, sizeof m);
    for (int i = 1; i < argc; i++) {
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("dump: unknown option '%s' (see netc dump --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    NcGraph *g = cli_load(&m, 0);
    if (!g) return NC_EXIT_BADINPUT;
    int rc = 0;
    if (m.dump_after && (!strcmp(m.dump_after, "assign_layout") || !strcmp(m.dump_after, "all"))) {
        NcCgOptions cgo; /* the host CPU's choices, as compile would make them */
        memset(&cgo, 0, sizeof cgo);
        rc = netc_layout(&g, 1, &cgo, 1, m.dump_after, m.explain);
    }
    if (!m.dump_after) nc_graph_print(g, stdout);
    nc_graph_free(g);
    return rc;
}
