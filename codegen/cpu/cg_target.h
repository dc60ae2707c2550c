/* cg_target.h — the machine generated kernels are built for.
 *
 * One NcCgTarget per compilation: the LLVM target machine for the host CPU
 * (LLVMGetHostCPUName / LLVMGetHostCPUFeatures) or for a named CPU (`--cpu`),
 * and what the kernel generators need to know about it: the vector width
 * they emit (<16 x float> with AVX-512, <8 x float> with AVX2), how many
 * vector registers a register-blocked microkernel may fill, and the ISA's
 * name for profiles.
 *
 * Register and cache blocks (cg_gemm.c, cg_nhwc_conv.c) are chosen for
 * `blocking`: normally the target's own ISA, bvw = vw floats per vector and
 * bregs = nvregs registers.  NETC_CG_BLOCKING=avx512 in the environment (or
 * nc_cg_target_block_as) makes an AVX2 target choose AVX-512's blocks — the
 * same tiles in floats (e.g. 14 x 32) built from twice as many 8-float
 * vectors, which LLVM spills: slow, but the plans, packing, ragged panels
 * and cache blocks of AVX-512 run and are tested on hosts without it. */
#ifndef NETC_CG_TARGET_H
#define NETC_CG_TARGET_H

#include <llvm-c/TargetMachine.h>

#include "runtime/support/base.h"

typedef struct NcCgTarget {
    char *triple, *cpu, *features; /* owned (LLVM messages or nc_strdup) */
    LLVMTargetMachineRef tm;       /* O3, PIC: objects link into executables and the JIT */
    int vw;                        /* floats per vector the kernels use: 16, 8 or 4 */
    int nvregs;                    /* vector registers: 32 with AVX-512, else 16 */
    const char *isa;               /* "avx512", "avx2" (ymm + FMA), "avx" or "sse": profiles' ISA column */
    const char *blocking;          /* the ISA the blocks are chosen for (isa unless emulated, see above) */
    int bvw, bregs;                /* its vector width and register count */
} NcCgTarget;

/* cpu NULL: the host CPU with the host's features.  cpu set, features NULL:
 * that CPU's default features.  A CPU name LLVM does not know is an error
 * whose message lists the CPUs it knows. */
int nc_cg_target_init(NcCgTarget *t, const char *cpu, const char *features, NcError *e);

void nc_cg_target_free(NcCgTarget *t);

/* Choose blocks as for `isa` ("avx512": 16-float vectors, 32 registers;
 * "avx2": the target's own when it is AVX2) with this target's vectors.
 * Only a wider ISA than the target's can be emulated (its tiles are whole
 * numbers of the narrower vectors).  -1 with a message otherwise. */
int nc_cg_target_block_as(NcCgTarget *t, const char *isa, NcError *e);

/* Function attributes every generated function carries: the CPU, its
 * features, and the vector width as both the minimum legal and the preferred
 * width.  (Clang marks its functions "min-legal-vector-width" so that Intel
 * parts LLVM tunes for 256-bit vectors keep to ymm; stating the width the
 * kernels were blocked for keeps LLVM's own vectorisers — epilogues, tails —
 * at that width too.) */
void nc_cg_target_attrs(const NcCgTarget *t, LLVMValueRef fn);

#endif
