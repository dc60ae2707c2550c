/* dev_step.h — one step of a device program (dev_program.h) issued to a
 * device: a launch, a GEMM or a conv over its resolved operands. */
#ifndef NETC_DEV_STEP_H
#define NETC_DEV_STEP_H

#include "runtime/device/dev_program.h"

/* params: the step's operands as device addresses (ref[0..nparams)). */
int nc_dev_step_issue(NcDevice *d, const NcDevStep *s, const NcDevKernel *kernels, float *const *params, NcError *e);

#endif
