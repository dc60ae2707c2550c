/* dev_optim.c — the slots of the optimizer's device kernels (dev_optim.h):
 * every scalar rounded to float here exactly as runtime/train/optim.c rounds
 * it (computed in double, as Python computes torch's hyperparameters, then
 * rounded once), so that the kernels' loops see optim.c's values.  Built with
 * -ffp-contract=off, as optim.c is: 1 - lr * wd must not become an fma. */
#include "runtime/device/dev_optim_slot.h"

#include <math.h>
#include <string.h>

static void put_n(float *slot, int64_t n) {
    const uint32_t w[2] = {(uint32_t)n, (uint32_t)((uint64_t)n >> 32)};
    memcpy(&slot[NC_DEV_OPT_N_LO], w, sizeof w);
}

void nc_dev_opt_slot(const NcOptConfig *c, double lr, int64_t step, int decay, int64_t n, float coef, float *slot) {
    memset(slot, 0, NC_DEV_OPT_SLOT * sizeof(float));
    put_n(slot, n);
    slot[NC_DEV_OPT_COEF] = coef;
    if (c->kind == NC_OPT_SGD) { /* optim.c's sgd() */
        slot[NC_DEV_OPT_SGD_WD] = (float)c->weight_decay;
        slot[NC_DEV_OPT_SGD_MOM] = (float)c->momentum;
        slot[NC_DEV_OPT_SGD_KEEP] = (float)(1 - c->dampening);
        slot[NC_DEV_OPT_SGD_NEG_LR] = (float)-lr;
        slot[NC_DEV_OPT_SGD_USE_WD] = decay && c->weight_decay != 0;
        slot[NC_DEV_OPT_SGD_USE_MOM] = c->momentum != 0;
        slot[NC_DEV_OPT_SGD_FIRST] = step == 1;
        slot[NC_DEV_OPT_SGD_NESTEROV] = c->nesterov != 0;
        return;
    }
    /* optim.c's adamw() */
    const double bc1 = 1 - pow(c->beta1, (double)step), bc2 = 1 - pow(c->beta2, (double)step);
    const float w = (float)(1 - c->beta1);
    const int small_w = fabsf(w) < 0.5f;
    slot[NC_DEV_OPT_ADAM_SHRINK] = decay && c->weight_decay != 0 ? (float)(1 - lr * c->weight_decay) : 1.0f;
    slot[NC_DEV_OPT_ADAM_LERP_W] = small_w ? w : w - 1.0f;
    slot[NC_DEV_OPT_ADAM_SMALL_W] = (float)small_w;
    slot[NC_DEV_OPT_ADAM_A2] = (float)(1 - c->beta2);
    slot[NC_DEV_OPT_ADAM_B2] = (float)c->beta2;
    slot[NC_DEV_OPT_ADAM_BC2_SQRT] = (float)pow(bc2, 0.5);
    slot[NC_DEV_OPT_ADAM_EPS] = (float)c->eps;
    slot[NC_DEV_OPT_ADAM_NEG_STEP] = (float)-(lr / bc1);
}

void nc_dev_opt_norm_slot(int64_t n, int first, float *slot) {
    memset(slot, 0, NC_DEV_OPT_SLOT * sizeof(float));
    put_n(slot, n);
    slot[NC_DEV_OPT_NORM_FIRST] = (float)(first != 0);
}

float nc_dev_opt_clip_coef(double total, double max_norm) {
    /* optim.c's nc_clip_grad_norm: 1.0f (an exact multiply) where it leaves the gradients alone */
    if (!isfinite(total)) return 1.0f;
    const float coef = (1.0f / ((float)total + 1e-6f)) * (float)max_norm;
    return coef < 1.0f ? coef : 1.0f;
}
