/* cu_kernel.h — one kernel description, two lowerings.
 *
 * A GPU kernel is described once, as an NcCuDesc: a 1-D grid of blocks, a
 * 1-D block of threads, `smem_floats` floats of shared memory per block, and a
 * per-thread body split into phases.  A barrier (__syncthreads) stands
 * between consecutive phases, and it is the only synchronisation there is.
 * The body is a callback that builds LLVM IR for one phase through the
 * builder below (thread and block index, parameters, shared memory, loops,
 * exp); it is called once per phase, so no LLVM value can cross a barrier:
 * whatever one phase hands to the next goes through shared memory.
 *
 * The same description lowers
 *  - to NVPTX (nc_cu_emit_ptx): a PTX kernel `name(float *p0, ..., float
 *    *pN-1)`, phases separated by bar.sync 0, shared memory an addrspace(3)
 *    array, tid / ctaid read from the special registers; text ptxas
 *    assembles for sm_90;
 *  - to the host CPU (nc_cu_build_cpu): `void name(float *const *params)`
 *    looping over the blocks, and inside each block over the phases in order,
 *    running all threads of one phase before the next (shared memory a stack
 *    array), which is what a barrier guarantees on the GPU — Triton's
 *    interpreter mode, compiled.
 * Every value and loop bound is static: shapes are known at compile time. */
#ifndef NETC_CU_KERNEL_H
#define NETC_CU_KERNEL_H

#include "codegen/cpu/cg_build.h"

typedef struct NcCuBuilder NcCuBuilder;
typedef void (*NcCuBody)(NcCuBuilder *k, int phase, const void *ctx);

#define NC_CU_MAXPARAMS 8

typedef struct NcCuDesc {
    const char *name;
    int nparams;         /* float pointers, in launch order */
    int64_t grid, block; /* blocks, threads per block (block <= 1024) */
    int64_t smem_floats; /* shared memory per block */
    int nphases;         /* barrier-separated phases, >= 1 */
    NcCuBody body;
    const void *ctx; /* the generator's parameters, handed to body */
} NcCuDesc;

/* --- the builder a body uses ------------------------------------------- */
struct NcCuBuilder {
    NcCgModule *m;                        /* the module; m->b is positioned where the body builds */
    int gpu;                              /* 1 while lowering to NVPTX, 0 for the CPU */
    LLVMValueRef tid, bid;                /* i64 thread and block index */
    LLVMValueRef params[NC_CU_MAXPARAMS]; /* float pointers (generic) */
    LLVMValueRef smem;                    /* float pointer (generic) */
    const NcCuDesc *d;
};

LLVMValueRef nc_cu_i64(NcCuBuilder *k, int64_t v);
LLVMValueRef nc_cu_f32(NcCuBuilder *k, double v);
/* p[i] (p a float pointer, i an i64) */
LLVMValueRef nc_cu_load(NcCuBuilder *k, LLVMValueRef p, LLVMValueRef i);
void nc_cu_store(NcCuBuilder *k, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i);
/* expf(x) in float arithmetic only (no libm, no NVPTX intrinsic): the same
 * instructions on both targets, within a few ulp over [-87, 88]. */
LLVMValueRef nc_cu_exp(NcCuBuilder *k, LLVMValueRef x);
LLVMValueRef nc_cu_max(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef nc_cu_min(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
/* A float stack slot (a register after mem2reg) for a loop's accumulator. */
LLVMValueRef nc_cu_var(NcCuBuilder *k, double init);
/* for (i = begin; i < end; i += step) — counted loops of the body. */
CgbLoop nc_cu_loop_begin(NcCuBuilder *k, LLVMValueRef begin, LLVMValueRef end, int64_t step, LLVMValueRef *i);
void nc_cu_loop_end(NcCuBuilder *k, CgbLoop *l);
CgbIf nc_cu_if_begin(NcCuBuilder *k, LLVMValueRef cond);
void nc_cu_if_end(NcCuBuilder *k, CgbIf *c);

/* --- the two lowerings --------------------------------------------------- */

/* The NVPTX target machine for `sm` ("sm_90"), in an NcCgTarget so that
 * NcCgModule's init and O3 pipeline serve both targets. */
int nc_cu_target_init(NcCgTarget *t, const char *sm, NcError *e);
void nc_cu_target_free(NcCgTarget *t);

/* Adds d's PTX kernel to m (an NVPTX module); nc_cu_module_ptx then
 * optimises the module and returns its PTX text (malloc'd, NUL-ended). */
int nc_cu_build_gpu(NcCgModule *m, const NcCuDesc *d, NcError *e);
char *nc_cu_module_ptx(NcCgModule *m, NcError *e);

/* Adds d's CPU lowering `void name(float *const *params)` to m (a host
 * module, JIT or AOT). */
int nc_cu_build_cpu(NcCgModule *m, const NcCuDesc *d, NcError *e);
typedef void (*NcCuCpuFn)(float *const *params);

#endif
