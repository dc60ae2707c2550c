/* compile_options.c — the options netc compile and netc ensemble share: the
 * output, the passes and the CPU target's modes, parsed into the job. */
#include <string.h>

#include "codegen/cuda/cu_emit.h"
#include "tools/netc/cli.h"

typedef struct Word {
    const char *name;
    int value;
} Word;

static const Word winograd_words[] = {
    {"auto", NC_WINOGRAD_AUTO}, {"on", NC_WINOGRAD_ON}, {"f2", NC_WINOGRAD_F2}, {"off", NC_WINOGRAD_OFF}, {NULL, 0}};
static const Word switch_words[] = {{"on", NC_CG_ON}, {"off", NC_CG_OFF}, {NULL, 0}};
/* nchw is a word the layout pass knows; the CPU backend refuses it (its NCHW kernels were retired) */
static const Word layout_words[] = {
    {"auto", NC_LAYOUT_MODE_AUTO}, {"nhwc", NC_LAYOUT_MODE_NHWC}, {"nchw", NC_LAYOUT_MODE_NCHW}, {NULL, 0}};
static const Word precision_words[] = {{"f32", NC_PREC_F32}, {"bf16", NC_PREC_BF16}, {"int8", NC_PREC_INT8}, {NULL, 0}};
static const Word emit_words[] = {{"exe", NC_EMIT_EXE}, {"obj", NC_EMIT_OBJ}, {"bundle", NC_EMIT_BUNDLE}, {NULL, 0}};

/* val among words, into *out; else a message listing them. */
static int word(const char *opt, const char *val, const Word *words, int *out) {
    char all[128] = "";
    for (const Word *w = words; w->name; w++) {
        if (!strcmp(w->name, val)) {
            *out = w->value;
            return 0;
        }
        const char *sep = w == words ? "" : w[1].name ? ", " : " or ";
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", sep, w->name);
    }
    cli_error("%s '%s': expected %s", opt, val, all);
    return -1;
}

int cli_parse_batch(const char *s, int *batch) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 65536) {
        cli_error("--batch '%s': expected a positive integer", s);
        return -1;
    }
    *batch = (int)v;
    return 0;
}

/* --target cpu | cuda | cuda:sm_NN */
static int target(NcCompileJob *job, const char *val) {
    if (!strcmp(val, "cpu")) {
        job->cuda = 0;
        return 0;
    }
    if (strncmp(val, "cuda", 4) || (val[4] && val[4] != ':')) {
        cli_error("--target '%s': expected cpu, cuda or cuda:sm_NN (a GPU architecture, e.g. cuda:sm_90)", val);
        return -1;
    }
    const char *known;
    if (val[4] == ':' && !nc_cu_arch_known(val + 5, &known)) {
        cli_error("--target %s: unknown GPU architecture '%s' (known: %s)", val, val + 5, known);
        return -1;
    }
    job->cuda = 1, job->cuda_sm = val[4] ? val + 5 : NULL;
    return 0;
}

int cli_compile_option(NcCompileJob *job, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--emulate"))
        job->emulate = 1;
    else if (!strcmp(a, "--weights-external"))
        job->external = 1;
    else if (!strcmp(a, "--no-codegen"))
        job->no_codegen = 1;
    else if (!strcmp(a, "--verbose"))
        job->cgo.verbose = 1;
    else {
        static const char *const with_value[] = {"-o",      "--emit",      "--labels",    "--cpu",    "--passes",
                                                 "--batch", "--winograd",  "--im2col",    "--layout", "--target",
                                                 "--ptx",   "--precision", "--calibrate", NULL};
        int known = 0;
        for (int k = 0; with_value[k] && !known; k++) known = !strcmp(a, with_value[k]);
        if (!known) return 0;
        if (*i + 1 >= argc) {
            cli_error("%s needs a value", a);
            return -1;
        }
        const char *val = argv[++*i];
        int v = 0, bad = 0;
        if (!strcmp(a, "-o"))
            job->out = val;
        else if (!strcmp(a, "--labels"))
            job->labels_path = val;
        else if (!strcmp(a, "--cpu"))
            job->cgo.cpu = val;
        else if (!strcmp(a, "--passes"))
            job->passes = val;
        else if (!strcmp(a, "--target"))
            bad = target(job, val);
        else if (!strcmp(a, "--ptx"))
            job->ptx_dir = val;
        else if (!strcmp(a, "--batch"))
            bad = cli_parse_batch(val, &job->batch);
        else if (!strcmp(a, "--emit") && !(bad = word(a, val, emit_words, &v)))
            job->emit = (NcEmitKind)v;
        else if (!strcmp(a, "--winograd") && !(bad = word(a, val, winograd_words, &v)))
            job->cgo.winograd = (NcWinogradMode)v;
        else if (!strcmp(a, "--im2col") && !(bad = word(a, val, switch_words, &v)))
            job->cgo.im2col = (NcCgSwitch)v;
        else if (!strcmp(a, "--layout") && !(bad = word(a, val, layout_words, &v)))
            job->cgo.layout = (NcLayoutMode)v;
        else if (!strcmp(a, "--precision") && !strcmp(val, "tf32"))
            job->tf32 = 1, job->cgo.precision = NC_PREC_F32;
        else if (!strcmp(a, "--precision") && !(bad = word(a, val, precision_words, &v)))
            job->cgo.precision = (NcPrecision)v, job->tf32 = 0;
        else if (!strcmp(a, "--calibrate"))
            job->calibrate = val;
        if (bad) return -1;
    }
    return 1;
}

/* Checks the precision against the other options; --precision bf16 with
 * --target cuda becomes gpu_bf16 (the GEMMs' operands; the graph and its
 * passes stay f32, so cgo.precision goes back to f32). */
int cli_check_precision(NcCompileJob *job) {
    if (job->cuda && job->cgo.precision == NC_PREC_BF16) {
        if (job->no_codegen) {
            cli_error("--precision bf16 with --target cuda needs generated kernels (not with --no-codegen)");
            return -1;
        }
        job->gpu_bf16 = 1, job->cgo.precision = NC_PREC_F32;
        return 0;
    }
    if (job->tf32 && !job->cuda) {
        cli_error("--precision tf32 is for --target cuda (cuBLAS's GEMMs on TF32 tensor cores)");
        return -1;
    }
    if (job->cgo.precision == NC_PREC_INT8 && !job->calibrate) {
        cli_error("--precision int8 needs --calibrate DIR: a folder of images (.jpg, .jpeg, .png) to measure "
                  "the activations' ranges on");
        return -1;
    }
    if (job->calibrate && job->cgo.precision != NC_PREC_INT8) {
        cli_error("--calibrate goes with --precision int8");
        return -1;
    }
    if (job->cgo.precision != NC_PREC_F32 && (job->no_codegen || job->train || job->cuda)) {
        cli_error("--precision %s is for generated CPU inference kernels (not with %s)",
                  job->cgo.precision == NC_PREC_BF16 ? "bf16" : "int8",
                  job->train  ? "--train"
                  : job->cuda ? "--target cuda"
                              : "--no-codegen");
        return -1;
    }
    return 0;
}
