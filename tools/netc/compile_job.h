/* compile_job.h — the one compile pipeline of `netc compile` and `netc
 * ensemble`: a job lists its members (description, weights, resolutions),
 * the target's options and the output; nc_compile runs
 *
 *   per member: read its weights file once
 *     per resolution: elaborate -> bind weights -> passes (the default ones,
 *                     then assign_layout with the CPU backend's hooks) -> plan
 *   bundle (+ kernels, + link: emit.h)
 *
 * A single model is an ensemble of one. */
#ifndef NETC_COMPILE_JOB_H
#define NETC_COMPILE_JOB_H

#include "codegen/bundle_writer.h"
#include "codegen/cpu/cg.h"
#include "frontend/nn.h"
#include "runtime/support/list.h"

typedef enum NcEmitKind {
    NC_EMIT_EXE = 0, /* a standalone program */
    NC_EMIT_OBJ,     /* OUT.o + OUT.h, to link into another program with libnetc_rt.a */
    NC_EMIT_BUNDLE,  /* the bundle file alone */
} NcEmitKind;

typedef struct NcJobMember {
    const char *path;        /* the description (.nn) */
    const char *model;       /* which model of it; NULL = the last one */
    const char *const *sets; /* keyword overrides, "NAME=VALUE" */
    int nsets;
    const char *weights; /* a safetensors file (timm names); NULL = the deterministic initialiser, or for an ONNX
                          * file its initializers (unless init_det) */
    int init_det;
    NcRes res[NC_BUNDLE_MAX_PROGRAMS];
    int nres;
} NcJobMember;

typedef struct NcCompileJob {
    NcJobMember member[NC_BUNDLE_MAX_MEMBERS];
    int nmembers;
    int batch;              /* the largest batch each program takes; 0 = 1 */
    const char *passes;     /* run before assign_layout; NULL = "default" */
    const char *dump_after; /* print the IR to dump_out after this pass ("all": every pass) */
    FILE *dump_out;
    FILE *explain;  /* what each pass did and why; NULL = quiet */
    int no_codegen; /* reference kernels only, and no layout pass */
    NcCgOptions cgo;
    /* --target cuda[:sm_NN]: GPU kernels (codegen/cuda/), activations NCHW (no layout pass); --emulate: the
     * program opens the CPU emulator by default */
    int cuda;
    const char *cuda_sm; /* NULL: sm_90 */
    int emulate;
    int tf32;            /* --precision tf32 (GPU): cuBLAS's GEMMs may round their operands to TF32 */
    int gpu_bf16;        /* --precision bf16 with --target cuda: the GEMMs' operands bf16 (cgo.precision stays f32) */
    const char *ptx_dir; /* --ptx DIR: every kernel's PTX written there too */
    NcEmitKind emit;
    const char *out;
    int external;            /* weights in OUT.weights beside the program */
    const char *labels_path; /* class names, one per line; NULL = none */
    /* how the members' answers merge (one member: merge is moot) */
    const char *name; /* the program's; NULL = the members' names joined by '+' */
    NcMergeKind merge;
    float weight[NC_BUNDLE_MAX_MEMBERS]; /* NC_MERGE_WEIGHTED; otherwise ignored */
    int on_probs;
    const NcTrainSpec *train; /* a training step (passes/autodiff.h) instead of inference: one model, one resolution */
    const char *calibrate;    /* --precision int8: the folder of calibration images (calibrate.h) */
} NcCompileJob;

/* A model file into a graph: FILE.onnx through the ONNX importer (its parameters bound to the file's
 * initializers), anything else through the .nn elaborator. */
NcGraph *nc_load_model(const char *path, const NcElabOptions *opt, NcError *e);

/* What was made, for the caller's message. */
typedef struct NcCompileInfo {
    char name[128]; /* the program's name */
    int nprograms;
} NcCompileInfo;

/* Returns 0, or NC_EXIT_BADINPUT / NC_EXIT_FAIL with the message in e (the
 * file and the problem); on failure nothing is left behind.  info may be NULL. */
int nc_compile(const NcCompileJob *job, NcCompileInfo *info, NcError *e);

/* The pipeline compile runs: passes (NULL = "default"), then assign_layout.
 * Caller frees. */
char *nc_pipeline_with_layout(const char *passes);

#endif
