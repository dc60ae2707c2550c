/* optim.h — the optimizers a training program steps its parameters with:
 * torch.optim.SGD and torch.optim.AdamW, with timm's rule for which tensors
 * get weight decay, and torch.nn.utils.clip_grad_norm_.
 *
 * Parameters, gradients and optimizer state are plain float arrays the caller
 * owns; nothing here allocates, so a training program carves every tensor's
 * state from one allocation and writes it to its resume file as it is.  The
 * arithmetic is torch's single-tensor (foreach=False) CPU implementation,
 * operation for operation and in float32, including where torch's vector
 * kernels fuse a multiply and an add (fmaf here): SGD reproduces torch's
 * parameters bit for bit, AdamW too but where torch's vectorised sqrt is off
 * by an ulp (tests/unit/test_optim.c measures it; README.md has the figures).
 */
#ifndef NETC_OPTIM_H
#define NETC_OPTIM_H

#include <stdint.h>

#include "runtime/support/base.h"

typedef enum { NC_OPT_SGD, NC_OPT_ADAMW } NcOptKind;

/* The hyperparameters of one optimizer (torch's names).  lr here is only the
 * configured base value: nc_opt_step takes the learning rate of each step,
 * which the schedule (schedule.h) gives. */
typedef struct NcOptConfig {
    NcOptKind kind;
    double lr;
    double momentum, dampening; /* SGD */
    int nesterov;               /* SGD */
    double weight_decay;        /* SGD: L2 added to the gradient; AdamW: decoupled, p *= 1 - lr * wd */
    double beta1, beta2, eps;   /* AdamW */
} NcOptConfig;

/* What timm.optim.create_optimizer_v2(model, "sgd" | "adamw") gives when only
 * the name is passed: torch's defaults (lr 1e-3, AdamW betas 0.9/0.999, eps
 * 1e-8), timm's momentum 0.9 with Nesterov for "sgd", and timm's weight decay
 * 0 (torch's AdamW alone would say 1e-2). */
NcOptConfig nc_opt_defaults(NcOptKind kind);

/* torch's constructor checks (lr, momentum, weight decay, eps >= 0; betas in
 * [0, 1); Nesterov needs momentum > 0 and dampening 0), plus finiteness. */
int nc_opt_check(const NcOptConfig *c, NcError *e);

/* Floats of state a tensor of numel elements needs: SGD its momentum buffer
 * (numel; unused when momentum is 0), AdamW exp_avg then exp_avg_sq (2 *
 * numel).  The layout is torch's state tensors, flattened, in that order. */
int64_t nc_opt_state_floats(NcOptKind kind, int64_t numel);

/* One optimizer step of one tensor: param -= update(grad, state), at learning
 * rate lr.  step is this tensor's 1-based update count (torch's state "step",
 * kept by the caller: one counter serves every tensor); step 1 starts the SGD
 * momentum buffer from the gradient and needs no initialised state, AdamW's
 * state must start zeroed.  decay 0 excludes the tensor from weight decay
 * (nc_opt_no_decay), as timm's parameter group with weight_decay 0 does.
 * grad is not changed.  A large tensor is shared among OpenMP threads; the
 * result does not depend on their number. */
void nc_opt_step(const NcOptConfig *c, double lr, float *param, const float *grad, float *state, int64_t numel,
                 int64_t step, int decay);

/* timm's param_groups_weight_decay rule: 1 (no weight decay) for a tensor of
 * at most one dimension (biases, norm scales and shifts) or a name ending in
 * ".bias". */
int nc_opt_no_decay(const char *name, int ndim);

/* torch.nn.utils.clip_grad_norm_ (norm 2): the total norm of n gradient
 * tensors taken together, and, when it exceeds max_norm, every gradient
 * scaled by max_norm / (total + 1e-6) (the coefficient in float32 as torch
 * computes it).  Returns the total norm, computed in double (torch sums in
 * float32; they agree to about 1e-7).  A NaN or infinite total is returned
 * with the gradients untouched, for the caller to skip the step (torch would
 * scale them by NaN or 0). */
double nc_clip_grad_norm(float *const *grads, const int64_t *numel, int n, double max_norm);

#endif
