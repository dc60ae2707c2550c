/* cg_layout.h — the layout pass (passes/assign_layout.c) with the CPU
 * backend's hooks: which nodes run NHWC, by a cost model (cg_layout.c). */
#ifndef NETC_CG_LAYOUT_H
#define NETC_CG_LAYOUT_H

#include "codegen/cpu/cg.h"

/* Assigns layouts to the activations of graphs[0..n) — one model at several
 * resolutions: graphs[0] decides by opt->layout (0 auto, 1 NHWC wherever a
 * kernel exists; -1, all NCHW, is an error), the others follow it node for node —
 * inserting relayout nodes (*relayouts in all); explains graphs[0]'s
 * decisions to explain. */
int nc_cg_assign_layout(NcGraph *const *graphs, int n, const NcCgOptions *opt, FILE *explain, int *relayouts, NcError *e);

#endif
