/* cg_target.h — the machine generated kernels are built for.
 *
 * One NcCgTarget per compilation: the LLVM target machine for the host CPU
 * (LLVMGetHostCPUName / LLVMGetHostCPUFeatures) or for a named CPU (`--cpu`),
 * and what the kernel generators need to know about it: the vector width
 * they emit (<16 x float> with AVX-512, <8 x float> with AVX2) and how many
 * vector registers a register-blocked microkernel may fill. */
#ifndef NETC_CG_TARGET_H
#define NETC_CG_TARGET_H

#include <llvm-c/TargetMachine.h>

#include "runtime/support/base.h"

typedef struct NcCgTarget {
    char *triple, *cpu, *features; /* owned (LLVM messages or nc_strdup) */
    LLVMTargetMachineRef tm;       /* O3, PIC: objects link into executables and the JIT */
    int vw;                        /* floats per vector the kernels use: 16, 8 or 4 */
    int nvregs;                    /* vector registers: 32 with AVX-512, else 16 */
} NcCgTarget;

/* cpu NULL: the host CPU with the host's features.  cpu set, features NULL:
 * that CPU's default features.  A CPU name LLVM does not know is an error
 * whose message lists the CPUs it knows. */
int nc_cg_target_init(NcCgTarget *t, const char *cpu, const char *features, NcError *e);

void nc_cg_target_free(NcCgTarget *t);

/* Function attributes every generated function carries: the CPU, its
 * features, and the vector width as both the minimum legal and the preferred
 * width.  (Clang marks its functions "min-legal-vector-width" so that Intel
 * parts LLVM tunes for 256-bit vectors keep to ymm; stating the width the
 * kernels were blocked for keeps LLVM's own vectorisers — epilogues, tails —
 * at that width too.) */
void nc_cg_target_attrs(const NcCgTarget *t, LLVMValueRef fn);

#endif
