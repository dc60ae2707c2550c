/* netc compile — a description in, a standalone program out.
 *
 *   elaborate (per resolution) -> bind weights -> passes -> memory plan
 *   -> bundle (programs + shared weights) -> object (.incbin) -> link with
 *   the runtime (libnetc_rt.a, libnetc_app.a from netc's own directory).
 *
 * Kernels: convolutions, linear layers, pools, SE gates and broadcast
 * add / mul run LLVM-generated kernels (codegen/cpu, an object linked into the
 * program and found through the `netc_kernels` table; 1x1 convs and linear
 * layers as GEMMs over weights repacked before the bundle is written, see
 * netc_emit); the other ops still run the op table's reference kernels. */
#include <string.h>

#include "tools/netc/cli.h"
#include "tools/netc/emit.h"

static const char *help =
    "usage: netc compile FILE.nn (--weights W.safetensors | --init det) -o OUT [options]\n\n"
    "Compiles the model into a standalone program OUT (commands: run, bench, info; OUT --help).\n\n"
    "options:\n"
    "  --res R[,R...]   one program per resolution, sharing one copy of the weights (default 224)\n"
    "  --batch N        the largest batch the program takes (default 1)\n"
    "  --model NAME, --set NAME=VALUE, --weights W, --init det   as for netc run\n"
    "  --passes P       passes to run (default: default)\n"
    "  --weights-external  keep the weights in OUT.weights beside the program\n"
    "  --labels FILE    class names, one per line in class order, for classify's output\n"
    "  --cpu NAME       generate code for this LLVM CPU (default: the host's, e.g. znver3)\n"
    "  --no-codegen     run every op with the reference kernels (for comparison)\n"
    "  --winograd MODE  3x3 stride-1 convs by Winograd: auto (default: F(4x4,3x3) or F(2x2,3x3)\n"
    "                   where the cost model says it pays), on (F(4x4) wherever legal), f2\n"
    "                   (F(2x2) wherever legal), off\n"
    "  --im2col on|off  stride-2 convs by im2col + GEMM (default on) or the direct kernel\n"
    "  --layout MODE    activations NHWC where the cost model says it pays (auto, default) or\n"
    "                   wherever an NHWC kernel exists (nhwc; NCHW runs the reference); --explain\n"
    "                   says why per node and region, --dump-after assign_layout shows the IR\n"
    "  --verbose        say which kernels were generated\n"
    "  --emit KIND      exe (default), obj (OUT.o + OUT.h to link into another program, with\n"
    "                   libnetc_rt.a), or bundle (the bundle file alone)\n";

int cmd_compile(int argc, char **argv) {
    if (cli_help_requested(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    CliModel m;
    memset(&m, 0, sizeof m);
    const char *out = NULL, *emit = "exe", *res_list = "224", *labels_path = NULL;
    int external = 0, codegen = 1;
    NcCgOptions cgo;
    memset(&cgo, 0, sizeof cgo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-o") || !strcmp(a, "--emit") || !strcmp(a, "--res")) && i + 1 >= argc) {
            cli_error("%s needs a value", a);
            return NC_EXIT_BADINPUT;
        }
        if (!strcmp(a, "-o")) { out = argv[++i]; continue; }
        if (!strcmp(a, "--emit")) { emit = argv[++i]; continue; }
        if (!strcmp(a, "--res")) { res_list = argv[++i]; continue; }
        if (!strcmp(a, "--weights-external")) { external = 1; continue; }
        if (!strcmp(a, "--labels")) {
            if (i + 1 >= argc) {
                cli_error("--labels needs a file");
                return NC_EXIT_BADINPUT;
            }
            labels_path = argv[++i];
            continue;
        }
        if (!strcmp(a, "--no-codegen")) { codegen = 0; continue; }
        if (!strcmp(a, "--verbose")) { cgo.verbose = 1; continue; }
        if (!strcmp(a, "--winograd")) {
            if (i + 1 >= argc || netc_parse_winograd(argv[++i], &cgo.winograd)) {
                cli_error("--winograd needs auto, on, f2 or off");
                return NC_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(a, "--im2col")) {
            if (i + 1 >= argc || netc_parse_onoff(argv[++i], &cgo.im2col)) {
                cli_error("--im2col needs on or off");
                return NC_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(a, "--layout")) {
            if (i + 1 >= argc || netc_parse_layout(argv[++i], &cgo.layout)) {
                cli_error("--layout needs auto or nhwc (the NCHW generated kernels were retired)");
                return NC_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(a, "--cpu")) {
            if (i + 1 >= argc) {
                cli_error("--cpu needs a value");
                return NC_EXIT_BADINPUT;
            }
            cgo.cpu = argv[++i];
            continue;
        }
        int r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("compile: unknown option '%s' (see netc compile --help)", a);
            return NC_EXIT_BADINPUT;
        }
    }
    if (!out) {
        cli_error("compile: say where to write with -o OUT");
        return NC_EXIT_BADINPUT;
    }
    if (strcmp(emit, "exe") && strcmp(emit, "obj") && strcmp(emit, "bundle")) {
        cli_error("--emit '%s': expected exe, obj or bundle", emit);
        return NC_EXIT_BADINPUT;
    }
    if (!m.passes) m.passes = "default";
    /* one graph per resolution */
    NcGraph *graphs[16] = {0};
    NcPlan plans[16];
    memset(plans, 0, sizeof plans);
    int n = 0, rc = 0;
    char *list = nc_strdup(res_list);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        if (n == 16) {
            cli_error("--res: at most 16 resolutions");
            rc = NC_EXIT_BADINPUT;
            break;
        }
        if (cli_parse_res(tok, &m.opt.height, &m.opt.width)) {
            cli_error("--res '%s': expected sizes such as 448,512 or 256x192", tok);
            rc = NC_EXIT_BADINPUT;
            break;
        }
        graphs[n] = cli_load(&m, 1);
        if (!graphs[n]) {
            rc = NC_EXIT_BADINPUT;
            break;
        }
        n++;
    }
    free(list);
    if (!rc) rc = netc_layout(graphs, n, &cgo, codegen, m.dump_after, m.explain);
    for (int i = 0; i < n && !rc; i++) {
        NcError e;
        if (nc_plan_memory(graphs[i], &plans[i], NULL, &e)) {
            fprintf(stderr, "netc: %s\n", e.msg);
            rc = NC_EXIT_FAIL;
        }
    }
    if (!rc) {
        NcBundleSpec spec;
        memset(&spec, 0, sizeof spec);
        spec.name = graphs[0]->name, spec.nmembers = 1, spec.weight[0] = 1;
        char *labels = NULL;
        if (netc_read_labels(labels_path, &labels)) rc = NC_EXIT_BADINPUT;
        spec.labels = labels, spec.labels_path = labels_path;
        EmitJob job = {out, emit, external, codegen, cgo};
        if (!rc) rc = netc_emit(&job, &spec, graphs, plans, n);
        free(labels);
    }
    if (!rc) {
        fprintf(stderr, "netc: compiled %s (%d resolution%s, batch %d) into %s%s\n", graphs[0]->name, n, n > 1 ? "s" : "",
                m.opt.batch ? m.opt.batch : 1, out, external ? " + .weights" : "");
    }
    for (int i = 0; i < n; i++) {
        nc_plan_free(&plans[i]);
        nc_graph_free(graphs[i]);
    }
    return rc;
}
