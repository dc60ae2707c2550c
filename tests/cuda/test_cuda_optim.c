/* test_cuda_optim.c — codegen/cuda/cu_optim.h's optimizer kernels against
 * runtime/train/optim.c through the device emulator (cu_test.h), bit for
 * bit: SGD with Nesterov momentum and weight decay, with dampening and no
 * Nesterov, plain SGD, AdamW with lerp from either end, each over several
 * steps (SGD's first step starts the momentum buffer), on tensors with and
 * without weight decay, exact zeros and -0.0f among the gradients (a weight
 * decay of 0 must leave them as they are), a clipped gradient, and sizes
 * from 1 element to more than the grid's threads (the grid-stride loop goes
 * round).  And the squared norm against nc_clip_grad_norm's double sum: equal
 * up to double rounding (another summation order). */
#include <math.h>

#include "codegen/cuda/cu_optim.h"
#include "runtime/device/dev_optim_slot.h"
#include "tests/cuda/cu_test.h"

/* cu_test.h's helpers for reference kernels: this test's reference is optim.c */
static void (*const unused_helpers[])(void)
    __attribute__((unused)) = {(void (*)(void))cut_ref, (void (*)(void))cut_value, (void (*)(void))cut_check1};

static NcDevKernel k_sgd, k_adamw, k_sqnorm;

/* Gradients with zeros, -0.0f and a few large values. */
static float *grads(int64_t n, unsigned salt) {
    float *g = cgt_random(n);
    for (int64_t i = 0; i < n; i++) {
        const unsigned h = (unsigned)(i * 2654435761u) ^ salt;
        if (h % 17 == 0) g[i] = 0.0f;
        if (h % 19 == 0) g[i] = -0.0f;
        if (h % 101 == 0) g[i] *= 1000;
    }
    return g;
}

static float *dev_copy(NcDevice *dev, const float *host, int64_t n) { return cut_up(dev, host, n); }

/* nsteps updates of one tensor both ways; every float of the parameter and
 * the state must have the same bits. */
static void opt_case(const char *what, const NcOptConfig *c, int64_t n, int decay, int nsteps, double clip) {
    NcDevice *dev = cut_devs[0];
    NcError e;
    const int64_t ns = nc_opt_state_floats(c->kind, n);
    float *p = cgt_random(n), *state = nc_calloc((size_t)ns, sizeof(float));
    float *dp = dev_copy(dev, p, n), *dstate = dev_copy(dev, state, ns), *dslot = cut_up(dev, NULL, NC_DEV_OPT_SLOT);
    float *dg = cut_up(dev, NULL, n);
    int64_t bad_p = 0, bad_s = 0;
    for (int s = 1; s <= nsteps; s++) {
        float *g = grads(n, (unsigned)s * 977u);
        const double lr = c->lr * (1.0 - 0.1 * s); /* a schedule: another rate each step */
        CHECK_MSG(nc_dev_upload(dev, dg, g, (size_t)n * 4, &e) == 0, "%s", e.msg);
        /* the host: clip_grad_norm_ (when asked), then the step */
        float *gh = nc_malloc((size_t)n * 4);
        memcpy(gh, g, (size_t)n * 4);
        float *list[1] = {gh};
        const double total = nc_clip_grad_norm(list, &n, 1, clip > 0 ? clip : INFINITY);
        nc_opt_step(c, lr, p, gh, state, n, s, decay);
        /* the device: the same step from the unclipped gradient and the coefficient */
        float slot[NC_DEV_OPT_SLOT];
        nc_dev_opt_slot(c, lr, s, decay, n, nc_dev_opt_clip_coef(total, clip > 0 ? clip : INFINITY), slot);
        CHECK_MSG(nc_dev_upload(dev, dslot, slot, sizeof slot, &e) == 0, "%s", e.msg);
        float *sgd_args[4] = {dp, dg, dstate, dslot}, *adam_args[5] = {dp, dg, dstate, dstate + n, dslot};
        cut_launch(dev, c->kind == NC_OPT_SGD ? &k_sgd : &k_adamw, c->kind == NC_OPT_SGD ? sgd_args : adam_args);
        free(g), free(gh);
    }
    float *gp = nc_malloc((size_t)n * 4), *gs = nc_malloc((size_t)ns * 4);
    CHECK_MSG(nc_dev_download(dev, gp, dp, (size_t)n * 4, &e) == 0 &&
                  nc_dev_download(dev, gs, dstate, (size_t)ns * 4, &e) == 0,
              "%s", e.msg);
    for (int64_t i = 0; i < n; i++) bad_p += memcmp(&gp[i], &p[i], 4) != 0;
    for (int64_t i = 0; i < ns; i++) bad_s += memcmp(&gs[i], &state[i], 4) != 0;
    CHECK_MSG(bad_p == 0 && bad_s == 0, "%s: %lld of %lld parameters and %lld of %lld state floats differ from optim.c",
              what, (long long)bad_p, (long long)n, (long long)bad_s, (long long)ns);
    printf("  %-44s n %-7lld %d steps: parameters and state bit-identical to optim.c\n", what, (long long)n, nsteps);
    nc_dev_free(dev, dp), nc_dev_free(dev, dstate), nc_dev_free(dev, dslot), nc_dev_free(dev, dg);
    free(p), free(state), free(gp), free(gs);
}

/* The squared norm of several tensors into one set of partials, summed on the host. */
static void sqnorm_case(void) {
    NcDevice *dev = cut_devs[0];
    NcError e;
    const int64_t n[3] = {70001, 5, 1000};
    float *g[3], *dg[3], *dslot[3];
    for (int t = 0; t < 3; t++) {
        g[t] = grads(n[t], 31u * (unsigned)t);
        dg[t] = dev_copy(dev, g[t], n[t]);
        float slot[NC_DEV_OPT_SLOT];
        nc_dev_opt_norm_slot(n[t], t == 0, slot);
        dslot[t] = dev_copy(dev, slot, NC_DEV_OPT_SLOT);
    }
    double *partial = nc_malloc(NC_DEV_OPT_GRID * sizeof(double)), *dpart;
    CHECK_MSG(nc_dev_alloc(dev, (void **)&dpart, NC_DEV_OPT_GRID * sizeof(double), &e) == 0, "%s", e.msg);
    for (int round = 0; round < 2; round++) /* twice: the first tensor resets the partials */
        for (int t = 0; t < 3; t++) {
            float *args[3] = {dg[t], dslot[t], (float *)dpart};
            cut_launch(dev, &k_sqnorm, args);
        }
    CHECK_MSG(nc_dev_download(dev, partial, dpart, NC_DEV_OPT_GRID * sizeof(double), &e) == 0, "%s", e.msg);
    double sum = 0;
    for (int b = 0; b < NC_DEV_OPT_GRID; b++) sum += partial[b];
    const double host = nc_clip_grad_norm(g, n, 3, INFINITY), dev_total = sqrt(sum);
    const double rel = fabs(dev_total - host) / host;
    CHECK_MSG(rel < 1e-13, "squared norm: device %.17g, host %.17g", dev_total, host);
    printf("  %-44s device %.17g host %.17g (relative %.2g)\n", "gradient norm of 3 tensors", dev_total, host, rel);
    for (int t = 0; t < 3; t++) nc_dev_free(dev, dg[t]), nc_dev_free(dev, dslot[t]), free(g[t]);
    nc_dev_free(dev, dpart);
    free(partial);
}

int main(void) {
    cut_init();
    NcCuDesc d;
    nc_cu_opt_sgd_desc(&d, NC_DEV_OPT_SGD, NULL);
    k_sgd = cut_kernel(&d);
    nc_cu_opt_adamw_desc(&d, NC_DEV_OPT_ADAMW, NULL);
    k_adamw = cut_kernel(&d);
    nc_cu_opt_sqnorm_desc(&d, NC_DEV_OPT_SQNORM, NULL);
    k_sqnorm = cut_kernel(&d);
    /* both kernels are exact only if nothing fuses a multiply and an add that optim.c keeps apart */
    CHECK_MSG(strstr(k_sgd.ptx, "fma.rn.f32") && !strstr(k_adamw.ptx, "mul.f32") && !strstr(k_adamw.ptx, "add.f32"),
              "the PTX rounds where optim.c does (fma.rn where it calls fmaf, mul.rn / add.rn elsewhere)");
    NcOptConfig sgd = nc_opt_defaults(NC_OPT_SGD); /* timm's: momentum 0.9, Nesterov */
    sgd.lr = 0.1, sgd.weight_decay = 1e-4;
    const int64_t sizes[4] = {1, 257, 4099, 70001}; /* 70001: past the grid's 67584 threads */
    for (int i = 0; i < 4; i++)
        for (int decay = 0; decay < 2; decay++) {
            char what[96];
            snprintf(what, sizeof what, "sgd nesterov wd 1e-4%s", decay ? "" : " (no decay)");
            opt_case(what, &sgd, sizes[i], decay, 3, 0);
        }
    NcOptConfig damp = sgd;
    damp.nesterov = 0, damp.dampening = 0.1, damp.weight_decay = 0.05, damp.momentum = 0.8;
    opt_case("sgd momentum 0.8 dampening 0.1 wd 0.05", &damp, 4099, 1, 3, 0);
    opt_case("sgd clipped to norm 1", &damp, 4099, 1, 2, 1.0);
    NcOptConfig plain = nc_opt_defaults(NC_OPT_SGD);
    plain.momentum = 0, plain.nesterov = 0, plain.lr = 0.5;
    opt_case("sgd no momentum", &plain, 257, 1, 2, 0);
    NcOptConfig adamw = nc_opt_defaults(NC_OPT_ADAMW);
    adamw.weight_decay = 0.05;
    for (int i = 0; i < 4; i++) opt_case("adamw wd 0.05", &adamw, sizes[i], 1, 3, 0);
    opt_case("adamw wd 0.05 (no decay)", &adamw, 4099, 0, 3, 0);
    opt_case("adamw clipped to norm 0.5", &adamw, 4099, 1, 3, 0.5);
    NcOptConfig wide = adamw;
    wide.beta1 = 0.3, wide.beta2 = 0.9, wide.eps = 1e-6; /* 1 - beta1 >= 1/2: lerp from g */
    opt_case("adamw beta1 0.3 beta2 0.9", &wide, 4099, 1, 3, 0);
    sqnorm_case();
    free((char *)k_sgd.ptx), free((char *)k_adamw.ptx), free((char *)k_sqnorm.ptx);
    cut_done();
    TEST_MAIN_END();
}
