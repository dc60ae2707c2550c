/* cu_emit.h — the kernels object of a program made by `netc compile --target
 * cuda`: every graph lowered (cu_lower.h), every kernel built twice — PTX
 * through LLVM's NVPTX target for the `cuda` device, and its CPU lowering
 * compiled for this host for the `emulate` device — and the tables of
 * runtime/device/dev_program.h that the program's runtime reads. */
#ifndef NETC_CU_EMIT_H
#define NETC_CU_EMIT_H

#include "codegen/cuda/cu_lower.h"

typedef struct NcCuOptions {
    const char *sm;      /* the GPU architecture, "sm_90" (NULL: sm_90) */
    int emulate;         /* the program opens the CPU emulator unless told --device cuda */
    int verbose;         /* each node's strategy and the kernel count on stderr */
    const char *ptx_dir; /* also write each kernel's PTX to ptx_dir/<name>.ptx (for ptxas), or NULL */
    int tf32;            /* --precision tf32: the GEMMs may use TF32 tensor cores */
    int bf16;            /* --precision bf16: the GEMMs' operands rounded to bf16 (cublasGemmEx), f32 accumulation */
} NcCuOptions;

/* Is `sm` an architecture the PTX is made for ("sm_70" ... "sm_90a")?  Else
 * 0, with the known ones in *known. */
int nc_cu_arch_known(const char *sm, const char **known);

/* Writes the object to `path`.  Returns the number of distinct kernels, or
 * -1 with the message in e (a node no rule lowers names itself). */
int nc_cu_emit_object(const char *path, NcGraph *const *graphs, const NcPlan *plans, int n, const NcCuOptions *o,
                      NcError *e);

#endif
