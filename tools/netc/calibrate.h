/* calibrate.h — --precision int8's calibration: the activation range each
 * GEMM-shaped conv reads, measured on a folder of images run through the
 * model's eval transform, by the graph's generated f32 kernels run in-process
 * (calibrate_jit.h: as fast as the compiled program) or, with the environment's
 * NETC_CALIBRATE=reference or where those cannot run (a message says so), by
 * the reference interpreter (ir/interp.h: the oracle, ~200x slower).  The two
 * agree within float rounding (the kernels sum in another order). */
#ifndef NETC_CALIBRATE_H
#define NETC_CALIBRATE_H

#include "codegen/cpu/cg.h"

/* For every conv node of graphs[0..n) (planned, not yet packed): the min and
 * max over all the images of DIR (.jpg, .jpeg, .png, sorted by name; not
 * recursive) of its input — times its input scale (an SE gate) where it has
 * one — as measured on cal[member_of[i]], the member's first resolution
 * compiled at batch 1 and planned by cal_plan[member_of[i]] (one image a run,
 * whatever the programs' batch; cal's weights end packed for its kernels),
 * the nodes matched by weight name (a member's resolutions share one copy of
 * the weights, and the ranges are stored with them).  cgo: the job's options
 * (the kernels follow its --winograd and --im2col, for the host CPU; verbose:
 * the times on stderr).  Returns 0, or NC_EXIT_BADINPUT with a message naming the folder or
 * image (or a bad NETC_CALIBRATE), NC_EXIT_FAIL where the kernels failed. */
int nc_calibrate(const char *dir, NcGraph *const *cal, const NcPlan *cal_plan, NcGraph *const *graphs,
                 const int *member_of, int n, const NcCgOptions *cgo, NcCalibration *c, NcError *e);
void nc_calibration_free(NcCalibration *c);

#endif
