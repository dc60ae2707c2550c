/* cu_lower.h — a planned inference graph as device work (issue 19): every
 * node becomes kernel launches and GEMMs (runtime/device/dev_program.h) by
 * the first rule of cu_lower.c's table that takes it.
 *
 * The GPU target keeps every activation NCHW (no layout pass), which is
 * what a GEMM-shaped convolution wants: per image, W [O, C/G * KH * KW] .
 * col [C/G * KH * KW, OH * OW] = y [O, OH * OW] per group, the column matrix
 * made by an im2col kernel, or x itself for a 1x1 stride-1 convolution.  A
 * bias, a folded batch norm, activations, residual adds and SE scales run as
 * one elementwise kernel after the GEMM, in place on its output — a bias
 * alone or bias then relu goes into the GEMM step itself (NcDevGemm.epilogue:
 * cuBLASLt's epilogue on a GPU); a linear layer is a GEMM against its weights
 * transposed. */
#ifndef NETC_CU_LOWER_H
#define NETC_CU_LOWER_H

#include "codegen/cuda/cu_kernel.h"
#include "ir/plan.h"
#include "runtime/device/dev_program.h"

/* A description generator (cu_kernels.h, cu_conv.h, ...), called with the
 * parameter struct it takes. */
typedef void (*NcCuDescFn)(NcCuDesc *d, const char *name, const void *params);

/* A kernel the lowering asked for: its generator and a copy of its
 * parameters (plain data, compared byte for byte: equal requests share one
 * kernel, across the programs of a bundle too). */
typedef struct NcCuKernelReq {
    NcCuDescFn desc;
    void *params;
    size_t size;
    char name[32]; /* nck<index>: the PTX entry and the CPU function */
} NcCuKernelReq;

typedef struct NcCuProgram {
    NC_VEC(NcDevStep) steps;
    int64_t scratch_bytes;
    NC_VEC(NcDevStep) init; /* run once at load: the bf16 weights (dev_program.h's NC_DEV_REF_STORED) */
    int64_t stored_bytes;
    int32_t ntactics; /* convs with two forms so far (their steps' tactic, 1-based) */
} NcCuProgram;

typedef struct NcCuLowering {
    NC_VEC(NcCuKernelReq) kernels;
    NC_VEC(float) consts; /* netc_dev_consts: parameters computed here (a lone batch norm's scale and shift) */
    NC_VEC(NcCuProgram) progs;
    FILE *verbose;     /* each node's strategy, or NULL */
    int tf32;          /* every GEMM step may use TF32 tensor cores (--precision tf32) */
    int bf16;          /* every GEMM's operands rounded to bf16, f32 accumulation (--precision bf16) */
    int params_change; /* a bundle that trains: no parameter is folded into constants at compile time */
} NcCuLowering;

/* Appends graph g (planned as `plan` says, with its weights bound) as the
 * next program.  A node no rule takes is an error naming it and its layer. */
int nc_cu_lower(NcCuLowering *L, const NcGraph *g, const NcPlan *plan, NcError *e);
void nc_cu_lowering_free(NcCuLowering *L);

#endif
