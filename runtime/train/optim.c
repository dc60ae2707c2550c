/* optim.c — SGD and AdamW as torch computes them on the CPU, clip_grad_norm_.
 *
 * Every scalar torch multiplies a float tensor by is first rounded to float
 * (a Python number becomes the tensor's dtype), so the scalars below are
 * computed in double, as Python does, and rounded once before the loop.
 * Where torch's AVX2 kernels use a fused multiply-add (add with alpha, lerp,
 * addcmul) the loop calls fmaf, so each element rounds where torch's does;
 * this file is built with -ffp-contract=off so the compiler fuses nothing
 * else. */
#include "runtime/train/optim.h"

#include <math.h>
#include <string.h>

/* fmaf is a libm call unless the compiler may use the FMA instruction: on
 * x86-64 the loops are built twice, the copy for CPUs with FMA chosen at load
 * time (the same bits either way: fmaf is exactly rounded) */
#if defined(__x86_64__) && defined(__linux__)
#define FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define FMA_CLONES
#endif
/* elements are independent: threads change nothing but the time */
#define PARALLEL_MIN 65536

NcOptConfig nc_opt_defaults(NcOptKind kind) {
    NcOptConfig c = {.kind = kind, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    if (kind == NC_OPT_SGD) c.momentum = 0.9, c.nesterov = 1;
    return c;
}

int nc_opt_check(const NcOptConfig *c, NcError *e) {
    const struct {
        const char *name;
        double v, hi; /* valid: 0 <= v < hi */
    } f[] = {{"lr", c->lr, INFINITY},
             {"momentum", c->momentum, INFINITY},
             {"dampening", c->dampening, INFINITY},
             {"weight decay", c->weight_decay, INFINITY},
             {"beta1", c->beta1, 1.0},
             {"beta2", c->beta2, 1.0},
             {"eps", c->eps, INFINITY}};
    if (c->kind != NC_OPT_SGD && c->kind != NC_OPT_ADAMW) return nc_errorf(e, "unknown optimizer kind %d", c->kind);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!(f[i].v >= 0 && f[i].v < f[i].hi))
            return nc_errorf(e, "%s %g is out of range (0 <= %s < %g)", f[i].name, f[i].v, f[i].name, f[i].hi);
    if (c->kind == NC_OPT_SGD && c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        return nc_errorf(e, "Nesterov momentum needs momentum > 0 and dampening 0");
    return 0;
}

int64_t nc_opt_state_floats(NcOptKind kind, int64_t numel) { return kind == NC_OPT_ADAMW ? 2 * numel : numel; }

/* torch.optim.sgd._single_tensor_sgd: d = g + wd*p; buf = d at the first
 * step, else momentum*buf + (1-dampening)*d; d = nesterov ? d + momentum*buf
 * : buf; p -= lr*d. */
FMA_CLONES static void sgd(const NcOptConfig *c, double lr, float *p, const float *g, float *buf, int64_t n,
                           int64_t step, int decay) {
    const float wd = (float)c->weight_decay, mom = (float)c->momentum, keep = (float)(1 - c->dampening);
    const float neg_lr = (float)-lr;
    const int use_wd = decay && c->weight_decay != 0, use_mom = c->momentum != 0;
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float d = use_wd ? fmaf(p[i], wd, g[i]) : g[i];
        if (use_mom) {
            buf[i] = step == 1 ? d : fmaf(d, keep, buf[i] * mom);
            d = c->nesterov ? fmaf(buf[i], mom, d) : buf[i];
        }
        p[i] = fmaf(d, neg_lr, p[i]);
    }
}

/* torch.optim.adam._single_tensor_adam with decoupled weight decay (AdamW),
 * amsgrad off: p *= 1 - lr*wd; m = lerp(m, g, 1-beta1); v = beta2*v +
 * (1-beta2)*g*g; p += -lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). */
FMA_CLONES static void adamw(const NcOptConfig *c, double lr, float *p, const float *g, float *m, float *v, int64_t n,
                             int64_t step, int decay) {
    /* the bias corrections in double, as Python computes them from torch's
     * step (a float32 tensor, exact below 2^24 steps) */
    const double bc1 = 1 - pow(c->beta1, (double)step), bc2 = 1 - pow(c->beta2, (double)step);
    /* no decay is a multiply by 1, which changes no value and keeps the loop
     * free of branches (it vectorises) */
    const float shrink = decay && c->weight_decay != 0 ? (float)(1 - lr * c->weight_decay) : 1.0f;
    const float w = (float)(1 - c->beta1), b2 = (float)c->beta2, a2 = (float)(1 - c->beta2);
    const float bc2_sqrt = (float)pow(bc2, 0.5), eps = (float)c->eps, neg_step = (float)-(lr / bc1);
    /* torch's lerp starts from the nearer end: m + w*(g-m) for a weight under
     * 1/2, else g - (1-w)*(g-m) */
    const int small_w = fabsf(w) < 0.5f;
    const float lerp_w = small_w ? w : w - 1.0f;
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        p[i] *= shrink;
        m[i] = fmaf(g[i] - m[i], lerp_w, small_w ? m[i] : g[i]);
        v[i] = fmaf(a2 * g[i], g[i], v[i] * b2);
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] += neg_step * m[i] / denom;
    }
}

void nc_opt_step(const NcOptConfig *c, double lr, float *param, const float *grad, float *state, int64_t numel,
                 int64_t step, int decay) {
    NC_CHECK(step >= 1);
    if (c->kind == NC_OPT_SGD)
        sgd(c, lr, param, grad, state, numel, step, decay);
    else
        adamw(c, lr, param, grad, state, state + numel, numel, step, decay);
}

int nc_opt_no_decay(const char *name, int ndim) {
    size_t n = strlen(name);
    return ndim <= 1 || (n >= 5 && strcmp(name + n - 5, ".bias") == 0);
}

double nc_clip_grad_norm(float *const *grads, const int64_t *numel, int n, double max_norm) {
    /* torch takes the norm of the per-tensor norms; the sum of squares in
     * double is that, without float32's rounding or overflow */
    double sum = 0;
    for (int t = 0; t < n; t++)
        for (int64_t i = 0; i < numel[t]; i++) sum += (double)grads[t][i] * grads[t][i];
    const double total = sqrt(sum);
    if (!isfinite(total)) return total;
    /* torch: clamp(max_norm / (total + 1e-6), max=1) on a float32 tensor,
     * where a number divided by a tensor is the tensor's reciprocal times it */
    const float coef = (1.0f / ((float)total + 1e-6f)) * (float)max_norm;
    if (coef < 1.0f)
        for (int t = 0; t < n; t++)
            for (int64_t i = 0; i < numel[t]; i++) grads[t][i] *= coef;
    return total;
}
