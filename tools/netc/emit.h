/* emit.h — the back half of nc_compile: planned graphs in, a program (or
 * object + header, or bundle) out. */
#ifndef NETC_EMIT_H
#define NETC_EMIT_H

#include "tools/netc/compile_job.h"

/* Writes the bundle, generates the kernels, links, as job says (out, emit,
 * external, no_codegen, cgo).  Nothing is left behind on failure (temporary
 * files are renamed into place last).  Returns 0 or an NC_EXIT_* code with
 * the message in e. */
int netc_emit(const NcCompileJob *job, const NcBundleSpec *spec, NcGraph *const *graphs, const NcPlan *plans, int n,
              NcError *e);

#endif
