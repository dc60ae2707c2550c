/* schedule.h — the learning rate of each update, as timm's schedulers give it
 * when stepped per update (t_in_epochs=False; timm's train.py calls
 * scheduler.step_update(num_updates) after each optimizer step, so update t,
 * counted from 0, runs at the rate for t).
 *
 * cosine: timm.scheduler.CosineLRScheduler with one cycle (cycle_limit 1,
 *         cycle_mul 1, k_decay 1, no noise): from base_lr down to min_lr over
 *         t_initial updates, then min_lr.
 * step:   timm.scheduler.StepLRScheduler: base_lr * decay_rate^floor(t / decay_t).
 * constant: base_lr (StepLRScheduler with decay_rate 1).
 *
 * Each may warm up: for t < warmup_t the rate rises linearly from
 * warmup_lr_init towards base_lr.  With warmup_prefix the schedule proper
 * starts after the warm-up (t - warmup_t); without it the warm-up overlays the
 * schedule's first warmup_t updates (timm's default for cosine; StepLRScheduler
 * defaults to warmup_prefix True). */
#ifndef NETC_SCHEDULE_H
#define NETC_SCHEDULE_H

#include <stdint.h>

#include "runtime/support/base.h"

typedef enum { NC_SCHED_CONSTANT, NC_SCHED_COSINE, NC_SCHED_STEP } NcSchedKind;

typedef struct NcSchedule {
    NcSchedKind kind;
    double base_lr;
    int64_t warmup_t; /* 0: no warm-up */
    double warmup_lr_init;
    int warmup_prefix;
    double min_lr;     /* cosine: lr_min */
    int64_t t_initial; /* cosine: updates the cosine lasts */
    double decay_t;    /* step: updates between decays (a float in timm: epochs * updates per epoch) */
    double decay_rate; /* step */
} NcSchedule;

/* timm's constructor checks: t_initial > 0, min_lr >= 0 (cosine), decay_t >
 * 0 (step), warmup_t >= 0, every number finite. */
int nc_schedule_check(const NcSchedule *s, NcError *e);

/* The learning rate of update t (t >= 0), in timm's double arithmetic. */
double nc_schedule_lr(const NcSchedule *s, int64_t t);

#endif
