/* dev_program.h — a compiled program's forward pass as device work: the
 * tables `netc compile --target cuda` links into a program
 * (codegen/cuda/cu_emit.c makes them, runtime/program/dev_exec.c runs them).
 *
 * The program's object exports, beside its bundle:
 *   const NcDevKernel netc_dev_kernels[];   every kernel: PTX and CPU lowering
 *   const int32_t netc_dev_nkernels;
 *   const NcDevProgram netc_dev_programs[]; one per bundle program, bundle order
 *   const int32_t netc_dev_nprograms;
 *   const char netc_dev_default[];          the device it opens by default:
 *                                           "emulate" (--emulate) or "cuda"
 *   const char netc_dev_arch[];             the GPU architecture ("sm_90")
 *   const float netc_dev_consts[];          parameters the compiler computed
 *   const int64_t netc_dev_nconsts;         (a batch norm's scale and shift)
 *
 * A program is a list of steps, each a kernel launch or a GEMM, in order.
 * Their operands are references: a value of the bundle program (a node's
 * bytes in the device arena, a parameter in the device copy of the weights,
 * the uploaded input), the program's device scratch, the constants, or the
 * program's stored copies (made by its init steps) — each at a byte offset.
 * The arena has the bundle's planned layout, so every value lies where the
 * memory planner put it.  Programs are linked with
 * -rdynamic, so that these symbols are in the dynamic symbol table: a
 * stand-in driver (tests/cuda/fake_cuda.c) runs the CPU lowerings where a
 * CI machine has no GPU. */
#ifndef NETC_DEV_PROGRAM_H
#define NETC_DEV_PROGRAM_H

#include "runtime/device/device.h"

/* NC_DEV_REF_STORED: the program's stored copies, made once by its `init`
 * steps (an inference program's weights rounded to bf16 with --precision
 * bf16), kept from one run to the next. */
typedef enum { NC_DEV_REF_VALUE, NC_DEV_REF_SCRATCH, NC_DEV_REF_CONST, NC_DEV_REF_STORED } NcDevRefSpace;

typedef struct NcDevRef {
    int32_t space;  /* NcDevRefSpace */
    int32_t value;  /* NC_DEV_REF_VALUE: the bundle program's value id */
    int64_t offset; /* bytes past the start of that value, the scratch or the constants */
} NcDevRef;

typedef enum { NC_DEV_STEP_LAUNCH, NC_DEV_STEP_GEMM, NC_DEV_STEP_CONV } NcDevStepKind;

/* A conv with two forms (tactics): im2col + GEMM steps, or one conv step
 * (cuDNN on a GPU); which runs is chosen when the program first runs
 * (runtime/device/dev_conv_tactic.h). */
typedef enum { NC_DEV_FORM_GEMM, NC_DEV_FORM_CUDNN, NC_DEV_NFORMS } NcDevForm;

#define NC_DEV_MAXPARAMS 8

typedef struct NcDevStep {
    int32_t kind;   /* NcDevStepKind */
    int32_t node;   /* the bundle node it computes (profiles) */
    int32_t kernel; /* launch: index into netc_dev_kernels; a GEMM with an epilogue: the elementwise kernel that
                       applies it over (C, C, bias) where the device does not fuse it (dev_step.c) */
    int32_t nparams;
    NcDevRef ref[NC_DEV_MAXPARAMS]; /* launch: its parameters; GEMM: A, B, C (and the bias, with an epilogue) */
    NcDevGemm gemm;
    char what[24];  /* "im2col", "gemm", "elementwise", ...: the step's strategy, for profiles */
    int32_t tactic; /* 0: runs every time; t > 0: only where the program's conv t - 1 runs in `form` */
    int32_t form;   /* NcDevForm */
    NcDevConv conv; /* NC_DEV_STEP_CONV: x, w, y are ref[0..2] */
} NcDevStep;

typedef struct NcDevProgram {
    const NcDevStep *steps;
    int64_t nsteps;
    int64_t scratch_bytes; /* device scratch beside the arena (im2col columns, a scaled input) */
    const NcDevStep *init; /* run once, when the weights are uploaded (before the first run and its graphs) */
    int64_t ninit;
    int64_t stored_bytes; /* device memory the init steps fill (NC_DEV_REF_STORED) */
} NcDevProgram;

#endif
