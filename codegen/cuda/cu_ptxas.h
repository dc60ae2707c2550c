/* cu_ptxas.h — a kernel's PTX assembled ahead of time by the CUDA toolkit's
 * ptxas into a cubin for one architecture, so that a program on that GPU
 * loads machine code instead of having the driver JIT-compile every kernel
 * at its first run (about a second for a small model, more for large ones).
 * The PTX stays in the program beside the cubin: a GPU of another
 * architecture (a cubin for sm_90 runs on compute capability 9.0 alone)
 * gets it compiled by its driver, as before.
 *
 * ptxas is found as NETC_PTXAS says (a path, or "none": no cubins), else on
 * PATH, else under $CUDA_HOME/bin and /usr/local/cuda/bin.  netc builds and
 * compiles --target cuda without the toolkit: the programs then carry PTX
 * alone. */
#ifndef NETC_CU_PTXAS_H
#define NETC_CU_PTXAS_H

#include <stddef.h>

#include "runtime/support/base.h"

/* *exe: the ptxas to run (the caller's to free), or NULL with *why saying
 * why (not found, NETC_PTXAS=none).  -1 where NETC_PTXAS names no
 * executable. */
int nc_cu_ptxas_find(char **exe, const char **why, NcError *e);

/* Assembles `ptx` (the kernel `name`, for messages) for `sm` ("sm_90") with
 * the ptxas at `exe`; on success *cubin (malloc'd) and *len hold the ELF. */
int nc_cu_ptxas(const char *exe, const char *name, const char *ptx, const char *sm, unsigned char **cubin, size_t *len,
                NcError *e);

#endif
