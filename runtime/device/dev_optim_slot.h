/* dev_optim_slot.h — filling the slots of the optimizer's device kernels
 * (dev_optim.h) from an optimizer's configuration, the host's half of
 * running runtime/train/optim.c's update on the device. */
#ifndef NETC_DEV_OPTIM_SLOT_H
#define NETC_DEV_OPTIM_SLOT_H

#include "runtime/device/dev_optim.h"
#include "runtime/train/optim.h"

/* The slot of one tensor of n elements for nc_opt_step(c, lr, ..., step,
 * decay) with the gradient times coef (nc_dev_opt_clip_coef). */
void nc_dev_opt_slot(const NcOptConfig *c, double lr, int64_t step, int decay, int64_t n, float coef, float *slot);
/* The squared-norm kernel's slot: the first tensor sets the partials. */
void nc_dev_opt_norm_slot(int64_t n, int first, float *slot);
/* The factor nc_clip_grad_norm scales the gradients by, given their total
 * norm: 1.0f where it does not scale them (not above max_norm, or not finite). */
float nc_dev_opt_clip_coef(double total, double max_norm);

#endif
