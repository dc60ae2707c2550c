/* cli.h — what the netc subcommands share: the model options every command
 * takes (FILE.nn --res --batch --model --set) and loading a model with them. */
#ifndef NETC_CLI_H
#define NETC_CLI_H

#include "frontend/nn.h"
#include "tools/netc/compile_job.h"

typedef struct CliModel {
    const char *path;
    NcElabOptions opt;
    const char *sets[64];
    const char *weights; /* safetensors path, or NULL */
    int init_det;
    int res_given;
    const char *passes;          /* pipeline, NULL = none */
    const char *dump_after;      /* print the IR after this pass ("all": after each) */
    int explain;                 /* say on stderr why candidates were not rewritten */
    int options_ended;           /* "--" seen: what follows is not an option */
    const NcLayoutHooks *layout; /* a backend's, for a pipeline with assign_layout */
} CliModel;

/* Consumes argv[*i] (and its value) if it is a model option; returns 1 if it
 * did, 0 if not, -1 on a bad value (message printed). */
int cli_model_option(CliModel *m, int argc, char **argv, int *i);
/* Elaborate (and with want_weights, bind weights).  NULL on error, message printed. */
NcGraph *cli_load(CliModel *m, int want_weights);
/* With want_weights: exactly one of --weights and --init det was given?  -1
 * if not (message printed). */
int cli_check_weights(const CliModel *m);
/* Consumes argv[*i] (and its value) if it is an option compile and ensemble
 * share (compile_options.c: -o, --emit, --batch, --passes, --labels, the
 * target's modes); 1 if it did, 0 if not, -1 on a bad value (message printed). */
int cli_compile_option(NcCompileJob *job, int argc, char **argv, int *i);
int cli_parse_batch(const char *s, int *batch);
/* --precision and --calibrate agree with each other and the job (message printed, -1, if not). */
int cli_check_precision(NcCompileJob *job);
/* The options of a training step (train_options.c): --train, --loss, --focal-gamma, --label-smoothing,
 * --freeze-features, --drop-rate, --drop-path-rate (the last two set the model's drop_rate, drop_path_rate). */
typedef struct CliTrain {
    int on;
    NcTrainSpec spec;
    char sets[2][48];
    int nsets;
} CliTrain;
int cli_train_option(CliTrain *t, CliModel *m, int argc, char **argv, int *i);
/* --help or -h before any "--": prints help to stdout and returns 1. */
int cli_help(int argc, char **argv, const char *help);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CLI_MODEL_OPTIONS_HELP                                                                                         \
    "  --res R          input resolution: 224, or HxW such as 256x192 (default 224)\n"                                 \
    "  --batch N        batch size (default 1)\n"                                                                      \
    "  --model NAME     which model of FILE (default: the last one)\n"                                                 \
    "  --set NAME=VAL   override a keyword parameter of the model (e.g. classes=200)\n"

#define CLI_PASS_OPTIONS_HELP                                                                                          \
    "  --passes P       run passes: 'default' (all: fold_constants,fold_bn,fuse_epilogue,fuse_se,fuse_eltwise,dce), "  \
    "'none' or a list\n"                                                                                               \
    "  --dump-after P   print the IR after pass P ('all': after every pass; 'assign_layout': after\n"                  \
    "                   the CPU backend's layout pass, which compile runs after the others)\n"                         \
    "  --explain        say why a candidate was not fused/folded, and what each pass did\n"

#define CLI_WEIGHT_OPTIONS_HELP                                                                                        \
    "  --weights W      load parameters from a safetensors file (timm names)\n"                                        \
    "  --init det       fill parameters with the deterministic initialiser\n"

int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_ensemble(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
