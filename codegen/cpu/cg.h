/* cg.h — CPU code generation through the LLVM C API (LLVM 19).
 *
 * One LLVM module per compiled bundle: a kernel function for every node the
 * generator covers (today: every conv2d with dilation 1 and stride 1 or 2 —
 * direct convolution, register-blocked, vectorised for the host's vector
 * width), and a table `netc_kernels` with one entry per (program, node) that
 * the runtime consults before falling back to the op table's reference
 * kernel.  The module is optimised (default<O3>) for the target CPU and
 * written as an object file. */
#ifndef NETC_CG_H
#define NETC_CG_H

#include "passes/pass.h"

typedef struct NcCgOptions {
    const char *cpu;      /* LLVM CPU name; NULL = the host's */
    const char *features; /* LLVM feature string; NULL = the host's (or the CPU's defaults with cpu set) */
    int verbose;          /* print what was generated */
} NcCgOptions;

/* Writes the kernels of graphs[0..n) (with their memory plans) to an object
 * file.  Returns how many kernels it generated, or -1 with a message. */
int nc_cg_emit_object(const char *path, NcGraph *const *graphs, int n, const NcCgOptions *opt, NcError *e);

/* The host CPU and its vector width in floats (for messages and tests). */
const char *nc_cg_host_cpu(void);

#endif
