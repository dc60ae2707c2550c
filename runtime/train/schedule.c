/* schedule.c — timm's cosine and step learning-rate schedules, per update.
 *
 * Each formula is timm's Python expression in the same order, in double, so
 * the rates agree to the last bit or nearly (the test allows 1e-9). */
#include "runtime/train/schedule.h"

#include <math.h>

#define PI 3.141592653589793 /* math.pi */

int nc_schedule_check(const NcSchedule *s, NcError *e) {
    if (s->kind != NC_SCHED_CONSTANT && s->kind != NC_SCHED_COSINE && s->kind != NC_SCHED_STEP)
        return nc_errorf(e, "unknown schedule kind %d", s->kind);
    if (!isfinite(s->base_lr) || !isfinite(s->warmup_lr_init) || !isfinite(s->min_lr) || !isfinite(s->decay_rate))
        return nc_errorf(e, "a learning-rate schedule's numbers must be finite");
    if (s->warmup_t < 0) return nc_errorf(e, "warm-up of %lld updates: must be >= 0", (long long)s->warmup_t);
    if (s->kind == NC_SCHED_COSINE && s->t_initial <= 0)
        return nc_errorf(e, "cosine schedule of %lld updates: must be > 0", (long long)s->t_initial);
    if (s->kind == NC_SCHED_COSINE && !(s->min_lr >= 0))
        return nc_errorf(e, "cosine schedule's minimum rate %g: must be >= 0", s->min_lr);
    if (s->kind == NC_SCHED_STEP && !(s->decay_t > 0 && isfinite(s->decay_t)))
        return nc_errorf(e, "step schedule's decay interval %g: must be > 0", s->decay_t);
    return 0;
}

/* Python's float floor division (CPython float_floor_div) for x >= 0, y > 0:
 * exact where floor(x / y) could round the quotient up to the next integer. */
static double py_floordiv(double x, double y) {
    const double mod = fmod(x, y), div = (x - mod) / y;
    double q = floor(div);
    if (div - q > 0.5) q += 1.0;
    return q;
}

double nc_schedule_lr(const NcSchedule *s, int64_t t) {
    if (t < s->warmup_t) {
        const double step = (s->base_lr - s->warmup_lr_init) / (double)s->warmup_t;
        return s->warmup_lr_init + (double)t * step;
    }
    if (s->warmup_prefix) t -= s->warmup_t;
    switch (s->kind) {
    case NC_SCHED_COSINE: {
        /* cycle i = t // t_initial; only the first (cycle_limit 1) is a cosine */
        if (t >= s->t_initial) return s->min_lr;
        return s->min_lr + 0.5 * (s->base_lr - s->min_lr) * (1 + cos(PI * (double)t / (double)s->t_initial));
    }
    case NC_SCHED_STEP: return s->base_lr * pow(s->decay_rate, py_floordiv((double)t, s->decay_t));
    case NC_SCHED_CONSTANT: break;
    }
    return s->base_lr;
}
