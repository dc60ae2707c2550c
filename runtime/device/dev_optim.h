/* dev_optim.h — the optimizer's kernels on the device (issue 19): what
 * codegen/cuda/cu_optim.c generates into every `--target cuda` training
 * program and runtime/program/dev_optim.c launches, so that weights,
 * gradients and optimizer state stay on the device between steps.
 *
 * Kernels take float pointers only and have static grids, but the optimizer
 * is chosen when `train` runs and every tensor has its own size: so there is
 * one kernel per rule, not per tensor, each a grid-stride loop over a
 * tensor's n elements, and everything that varies (n, the learning rate and
 * the other scalars, rounded to float on the host exactly as
 * runtime/train/optim.c rounds them) comes in a slot of NC_DEV_OPT_SLOT
 * floats the host uploads each step, one slot per trained tensor.  n is two
 * 32-bit words (its bits, not a float); a flag is 0.0f or 1.0f. */
#ifndef NETC_DEV_OPTIM_H
#define NETC_DEV_OPTIM_H

/* The kernels' names in netc_dev_kernels (dev_program.h). */
#define NC_DEV_OPT_SGD    "ncopt_sgd"
#define NC_DEV_OPT_ADAMW  "ncopt_adamw"
#define NC_DEV_OPT_SQNORM "ncopt_sqnorm"

/* Blocks and threads of every optimizer kernel: two blocks of 256 per SM of
 * an H200 (132 SMs), each thread a strided share of the tensor; few enough
 * that the emulator's loop over all threads stays cheap for small tensors. */
#define NC_DEV_OPT_GRID  264
#define NC_DEV_OPT_BLOCK 256

#define NC_DEV_OPT_SLOT 16 /* floats of one tensor's slot (64 bytes) */

/* Slot words.  Every kernel: n, and the clip coefficient its gradient is
 * multiplied by first (1.0f without clipping: an exact multiply). */
enum {
    NC_DEV_OPT_N_LO,
    NC_DEV_OPT_N_HI,
    NC_DEV_OPT_COEF,
    /* SGD (params: param, grad, momentum buffer, slot) */
    NC_DEV_OPT_SGD_WD = 3,  /* weight decay */
    NC_DEV_OPT_SGD_MOM,     /* momentum */
    NC_DEV_OPT_SGD_KEEP,    /* 1 - dampening */
    NC_DEV_OPT_SGD_NEG_LR,  /* -lr */
    NC_DEV_OPT_SGD_USE_WD,  /* flag: decay && weight decay != 0 */
    NC_DEV_OPT_SGD_USE_MOM, /* flag: momentum != 0 */
    NC_DEV_OPT_SGD_FIRST,   /* flag: step 1 (the buffer starts as the gradient) */
    NC_DEV_OPT_SGD_NESTEROV,
    /* AdamW (params: param, grad, exp_avg, exp_avg_sq, slot) */
    NC_DEV_OPT_ADAM_SHRINK = 3, /* 1 - lr wd, or 1 */
    NC_DEV_OPT_ADAM_LERP_W,     /* lerp's weight from the nearer end */
    NC_DEV_OPT_ADAM_SMALL_W,    /* flag: 1 - beta1 < 1/2 (lerp from m) */
    NC_DEV_OPT_ADAM_A2,         /* 1 - beta2 */
    NC_DEV_OPT_ADAM_B2,         /* beta2 */
    NC_DEV_OPT_ADAM_BC2_SQRT,   /* sqrt(1 - beta2^step), from double */
    NC_DEV_OPT_ADAM_EPS,
    NC_DEV_OPT_ADAM_NEG_STEP, /* -lr / (1 - beta1^step), from double */
    /* the squared norm (params: grad, slot, NC_DEV_OPT_GRID doubles of partial sums) */
    NC_DEV_OPT_NORM_FIRST = 3, /* flag: the first tensor (the partials are set, not added to) */
};

#endif
