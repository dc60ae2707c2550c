/* dev_step.c — issuing one device step (dev_step.h). */
#include "runtime/device/dev_step.h"

int nc_dev_step_issue(NcDevice *d, const NcDevStep *s, const NcDevKernel *kernels, float *const *params, NcError *e) {
    switch (s->kind) {
    case NC_DEV_STEP_GEMM: return nc_dev_gemm_ex(d, &s->gemm, params[0], params[1], params[2], e);
    case NC_DEV_STEP_CONV: return nc_dev_conv(d, &s->conv, params[0], params[1], params[2], e);
    default: return nc_dev_launch(d, &kernels[s->kernel], params, e);
    }
}
