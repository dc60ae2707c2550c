/* dev_step.c — issuing one device step (dev_step.h). */
#include "runtime/device/dev_step.h"

/* A GEMM with its epilogue fused where the device can (cuBLASLt, the
 * emulator); else the plain GEMM, then the epilogue as the elementwise kernel
 * the step names, over (C, C, bias). */
static int gemm_epilogue(NcDevice *d, const NcDevStep *s, const NcDevKernel *kernels, float *const *params,
                         NcError *e) {
    const int r = nc_dev_gemm_epi(d, &s->gemm, params[0], params[1], params[2], params[3], e);
    if (r <= 0) return r;
    NcDevGemm plain = s->gemm;
    plain.epilogue = NC_DEV_EPI_NONE;
    if (nc_dev_gemm_ex(d, &plain, params[0], params[1], params[2], e)) return -1;
    float *const ew[3] = {params[2], params[2], params[3]};
    return nc_dev_launch(d, &kernels[s->kernel], ew, e);
}

int nc_dev_step_issue(NcDevice *d, const NcDevStep *s, const NcDevKernel *kernels, float *const *params, NcError *e) {
    switch (s->kind) {
    case NC_DEV_STEP_GEMM:
        if (s->gemm.epilogue) return gemm_epilogue(d, s, kernels, params, e);
        return nc_dev_gemm_ex(d, &s->gemm, params[0], params[1], params[2], e);
    case NC_DEV_STEP_CONV: return nc_dev_conv(d, &s->conv, params[0], params[1], params[2], e);
    default: return nc_dev_launch(d, &kernels[s->kernel], params, e);
    }
}
