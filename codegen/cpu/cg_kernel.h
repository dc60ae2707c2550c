/* cg_kernel.h — what a kernel generator hands back: one NcCgKernel per
 * node, the compile-time form of runtime/kernels.h's NcKernelEntry, and the
 * one function that turns it into the entry's LLVM constant. */
#ifndef NETC_CG_KERNEL_H
#define NETC_CG_KERNEL_H

#include "codegen/cpu/cg_build.h"

/* A kernel of one to three stages (kernels.h): stage[s] a tile function of
 * the module over tiles[s] tiles (stage[1], stage[2] NULL when unused),
 * scratch floats passed between them, and the load-time weight transform
 * wprep (NULL: none) over wprep_tiles tiles into wfloats floats.  kind names
 * the strategy that made it, isa the instructions it was generated for
 * (NULL: the target's, cg_target.h: "avx512", "avx2", ...; a kernel using
 * more, e.g. AVX512-BF16 or VNNI, names them) and precision what its
 * arithmetic is done in (NULL: "f32"; a reduced-precision kernel sets it,
 * e.g. "bf16" or "int8"), all three for profiles. */
typedef struct NcCgKernel {
    LLVMValueRef stage[3];
    int64_t tiles[3];
    int64_t scratch;
    LLVMValueRef wprep;
    int64_t wprep_tiles, wfloats;
    const char *kind;
    const char *isa, *precision;
} NcCgKernel;

/* The LLVM struct type of an NcKernelEntry (cg_kernel.c checks it against
 * the C struct's size and offsets). */
LLVMTypeRef nc_cg_kernel_type(NcCgModule *m);
/* k as a constant of that type; k NULL: the all-null entry (the reference
 * kernel). */
LLVMValueRef nc_cg_kernel_const(NcCgModule *m, const NcCgKernel *k);
/* Adds the exported constant table `name` of n entries. */
void nc_cg_kernel_table(NcCgModule *m, const char *name, LLVMValueRef *entries, int64_t n);

#endif
