/* calibrate.h — --precision int8's calibration: the activation range each
 * GEMM-shaped conv reads, measured by the reference interpreter (ir/interp.h)
 * on a folder of images run through the model's eval transform. */
#ifndef NETC_CALIBRATE_H
#define NETC_CALIBRATE_H

#include "codegen/cpu/cg.h"

/* For every conv node of graphs[0..n) (planned, not yet packed): the min and
 * max over all the images of DIR (.jpg, .jpeg, .png, sorted by name; not
 * recursive) of its input — times its input scale (an SE gate) where it has
 * one — as measured on cal[member_of[i]], the member's first resolution
 * compiled at batch 1 (one image a run, whatever the programs' batch), the
 * nodes matched by weight name (a member's resolutions share one copy of the
 * weights, and the ranges are stored with them).  Returns 0, or
 * NC_EXIT_BADINPUT with a message naming the folder or image. */
int nc_calibrate(const char *dir, NcGraph *const *cal, NcGraph *const *graphs, const int *member_of, int n,
                 NcCalibration *c, NcError *e);
void nc_calibration_free(NcCalibration *c);

#endif
