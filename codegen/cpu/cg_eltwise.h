/* cg_eltwise.h — elementwise kernels over static shapes. */
#ifndef NETC_CG_ELTWISE_H
#define NETC_CG_ELTWISE_H

#include "codegen/cpu/cg_build.h"

/* y[n, c, i] = x[n, c, i] + bias[c], then max(., 0) when relu; x, y NCHW
 * [n, c, hw] with in[0] = x, in[1] = bias, out[0] = y.  One tile per (n, c)
 * plane: n * c tiles.  y may be x (in place). */
void nc_cg_emit_bias_relu(NcCgModule *m, const char *name, int64_t n, int64_t c, int64_t hw, int relu);

#endif
