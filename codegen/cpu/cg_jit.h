/* cg_jit.h — running generated kernels in-process, for tests and benchmarks.
 *
 * The JIT links the very object code the AOT path writes: a module is
 * optimised and compiled by the same target machine to an object in memory
 * (nc_cg_module_emit_buffer), which ORC's LLJIT then links.  So a kernel that
 * passes its JIT test is bit for bit the kernel `netc compile` embeds. */
#ifndef NETC_CG_JIT_H
#define NETC_CG_JIT_H

#include "codegen/cpu/cg_build.h"

typedef struct NcCgJit NcCgJit;

NcCgJit *nc_cg_jit_new(NcError *e); /* NULL on failure */
void nc_cg_jit_free(NcCgJit *j);    /* frees the code of every module added */
/* Compiles m (optimising it first if needed) and links it.  m stays the
 * caller's: dispose it whenever; the code lives as long as the JIT. */
int nc_cg_jit_add(NcCgJit *j, NcCgModule *m, NcError *e);
/* Links an object file written by nc_cg_module_emit_object (or by
 * nc_cg_emit_object): the AOT path's own output, run in-process. */
int nc_cg_jit_add_object(NcCgJit *j, const char *path, NcError *e);
/* Address of a function of an added module, or NULL with a message. */
void *nc_cg_jit_lookup(NcCgJit *j, const char *name, NcError *e);

#endif
