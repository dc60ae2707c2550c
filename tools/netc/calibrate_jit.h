/* calibrate_jit.h — int8 calibration at the compiled program's speed: the
 * calibration graph's f32 kernels generated for the host (codegen/cpu, as
 * `netc compile` makes them), linked in-process by the JIT (cg_jit.h) and
 * run node by node over the graph's planned arena, the op table's reference
 * kernels wherever no kernel was generated — as a compiled program runs
 * (runtime/bundle.c).  Before each node runs, a callback sees its inputs:
 * calibrate.c reads the ranges of the conv inputs it wants there, before
 * their arena slots are reused. */
#ifndef NETC_CALIBRATE_JIT_H
#define NETC_CALIBRATE_JIT_H

#include "codegen/cpu/cg.h"

typedef struct NcCalJit NcCalJit;

/* Generates and links g's kernels.  NULL with the reason in e when g cannot
 * run this way: *touched = 0 when that was found before anything changed
 * (an activation not f32, a host the code generator does not know, no JIT),
 * so the reference interpreter can still run g; 1 when it failed later, with
 * g's weights already packed in place for the kernels (g then serves nothing
 * else: the caller fails).  On success too g's weights are packed.  The
 * kernels are f32, for the host CPU, with cgo's --winograd and --im2col. */
NcCalJit *nc_cal_jit_new(NcGraph *g, const NcPlan *plan, const NcCgOptions *cgo, int *touched, NcError *e);

/* Called before node ni runs, with the buffers of its inputs (as they lie:
 * NHWC where the layout pass chose it). */
typedef void (*NcCalVisit)(void *ctx, int ni, const float *const *in);

/* One run of g over input (g's input 0, NCHW, its batch), visit before every node. */
void nc_cal_jit_run(NcCalJit *j, const float *input, NcCalVisit visit, void *ctx);
void nc_cal_jit_free(NcCalJit *j);

#endif
