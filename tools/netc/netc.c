/* netc.c — the command-line driver: one program, one subcommand per job. */
#include <string.h>

#include "runtime/program/omp_wait.h"
#include "tools/netc/cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"info", cmd_info, "parameters, GMACs, activation memory and a per-stage table"},
    {"dump", cmd_dump, "print the graph IR of a model at a resolution"},
    {"run", cmd_run, "run a model with the reference interpreter (.npy in and out)"},
    {"compile", cmd_compile, "compile a model into a standalone program (or object + header)"},
    {"ensemble", cmd_ensemble, "compile several models into one program that merges their answers"},
    {"compare", cmd_compare, "compare two .npy files (max difference, relative to max|reference|)"},
    {"weights", cmd_weights, "write a model's parameters as safetensors (e.g. --init det)"},
    {"export", cmd_export, "write a model as an ONNX file (ONNX Runtime, other compilers)"},
};

static void usage(FILE *out) {
    fprintf(out,
            "netc %s — an ahead-of-time compiler for convolutional image classifiers\n\n"
            "usage: netc COMMAND [options]   (netc COMMAND --help for its options)\n\ncommands:\n",
            NETC_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].what);
    fprintf(out, "  %-9s %s\n", "version", "print the version");
    fprintf(out, "\nexit status: 0 success, 1 failure while running, 2 bad input (file, option, description)\n");
}

int netc_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? NC_EXIT_BADINPUT : NC_EXIT_OK;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("netc %s\n", NETC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (netc --help lists them)", argv[1]);
    return NC_EXIT_BADINPUT;
}

int main(int argc, char **argv) {
    /* int8 calibration runs kernels on every OpenMP thread, a parallel region each (calibrate_jit.h): with
     * libgomp's default spin, on a loaded machine, 4-8x slower than with a compiled program's bounded spin
     * (omp_wait.h; resnet50 at 224 on the loaded 2-core Xeon, 2 threads: 0.52-0.59 s an image against
     * 0.08-0.15) — so calibrating commands restart under it as programs do */
    for (int i = 2; i < argc && (!strcmp(argv[1], "compile") || !strcmp(argv[1], "ensemble")); i++)
        if (!strcmp(argv[i], "--calibrate")) {
            nc_omp_wait_policy(argv);
            break;
        }
    return netc_main(argc, argv);
}
