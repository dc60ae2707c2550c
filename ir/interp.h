/* interp.h — the reference interpreter: runs any graph, node by node, with the
 * op table's reference kernels.  It is the oracle for every compiled kernel. */
#ifndef NETC_INTERP_H
#define NETC_INTERP_H

#include "ir/ir.h"

typedef struct NcInterpStats {
    double seconds;
    size_t peak_bytes; /* largest sum of live intermediate buffers */
} NcInterpStats;

/* inputs[i] feeds g->inputs[i]; outputs[i] receives a malloc'd buffer for
 * g->outputs[i] (caller frees).  Every parameter must have data. */
int nc_interp_run(const NcGraph *g, const float *const *inputs, float **outputs, NcInterpStats *stats, NcError *e);

/* The same, with every intermediate at its planned offset in one arena of
 * plan->arena_bytes (runs in-place ops in place): checks a memory plan. */
struct NcPlan;
int nc_interp_run_planned(const NcGraph *g, const struct NcPlan *plan, const float *const *inputs, float **outputs,
                          NcInterpStats *stats, NcError *e);

#endif
