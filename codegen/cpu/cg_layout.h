/* cg_layout.h — the layout pass (passes/assign_layout.c) with the CPU
 * backend's hooks: which nodes run NHWC, by a cost model (cg_layout.c). */
#ifndef NETC_CG_LAYOUT_H
#define NETC_CG_LAYOUT_H

#include "codegen/cpu/cg.h"

/* The CPU backend's hooks for the layout pass (NcPassRun.layout), deciding
 * by opt->layout (NULL: the defaults).  With lead set — the same model at
 * another resolution, already laid out — they follow lead node for node.
 * Free with nc_cg_layout_hooks_free. */
int nc_cg_layout_hooks(NcLayoutHooks *h, const NcCgOptions *opt, const NcGraph *lead, NcError *e);
void nc_cg_layout_hooks_free(NcLayoutHooks *h);

#endif
