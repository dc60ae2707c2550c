/* cu_optim.h — the optimizer on the device: SGD (momentum, dampening,
 * Nesterov, weight decay) and AdamW as runtime/train/optim.c computes them,
 * and the squared gradient norm clip_grad_norm_ needs, described once for
 * both lowerings (cu_kernel.h).
 *
 * Bit for bit what optim.c computes: the same float operations in the same
 * order, fmaf (llvm.fma: fma.rn.f32 on the GPU, vfmadd or libm's fmaf on the
 * CPU, both exactly rounded) where optim.c calls fmaf and a plain multiply
 * and add (mul.rn / add.rn: never fused) where it does not, correctly rounded
 * sqrt and division; every scalar is the float optim.c rounds it to, made on
 * the host (runtime/program/dev_optim.c) and read from the tensor's slot
 * (runtime/device/dev_optim.h gives the layout, the grid and the names).
 * The squared norm sums exact double squares, in another order than
 * optim.c's sequential loop: equal to its total up to double rounding. */
#ifndef NETC_CU_OPTIM_H
#define NETC_CU_OPTIM_H

#include "codegen/cuda/cu_index.h"
#include "runtime/device/dev_optim.h"

/* No parameters: one kernel each serves every tensor (params: see dev_optim.h). */
void nc_cu_opt_sgd_desc(NcCuDesc *d, const char *name, const void *unused);
void nc_cu_opt_adamw_desc(NcCuDesc *d, const char *name, const void *unused);
void nc_cu_opt_sqnorm_desc(NcCuDesc *d, const char *name, const void *unused);

#endif
