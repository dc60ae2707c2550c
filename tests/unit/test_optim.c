/* test_optim.c — the optimizers, schedules and gradient clipping of
 * runtime/train against torch and timm (tests/fixtures/optim, made by
 * tools/make_optim_fixtures.py).
 *
 * Each run of the fixture is replayed from the same initial parameters and
 * gradients: update n runs at nc_schedule_lr(n), which must be the rate torch
 * ran it at (≤ 1e-9 relative), and after every update each tensor must be
 * within 1e-5 of torch's, measured as max|c - t| / max(max|t|, 1e-6) over
 * the tensor; torch's state after the last update likewise.  timm's
 * schedules, sampled past their ends, ≤ 1e-9 relative; clip_grad_norm_'s
 * total ≤ 1e-6 relative (torch sums in float32).  The worst figures are
 * printed. */
#include <string.h>

#include "check.h"
#include "runtime/support/npy.h"
#include "runtime/train/optim.h"
#include "runtime/train/schedule.h"

#define FIX      NETC_FIXTURES_DIR "/optim/"
#define MAXP     8
#define MAXS     16
#define MAXR     8
#define STEPS    20
#define CANARY   4
#define TOL_P    1e-5
#define TOL_LR   1e-9
#define TOL_NORM 1e-6

typedef struct {
    char name[64];
    int ndim, decay;
    int64_t off, numel;
} Param;

typedef struct {
    char name[64];
    NcSchedule s;
} Sched;

typedef struct {
    char name[64];
    NcOptConfig c;
    int sched;
    double max_norm, used[STEPS], norm[STEPS];
    int64_t state[MAXP]; /* torch's state floats per tensor */
} Run;

static Param params[MAXP];
static Sched scheds[MAXS];
static Run runs[MAXR];
static int np_, ns_, nr_;
static int64_t P;
static double worst_lr;

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 0 ? fabs(b) : 1e-300); }

static int find_sched(const char *name) {
    for (int i = 0; i < ns_; i++)
        if (!strcmp(scheds[i].name, name)) return i;
    return -1;
}

static Run *find_run(const char *name) {
    for (int i = 0; i < nr_; i++)
        if (!strcmp(runs[i].name, name)) return &runs[i];
    return NULL;
}

static int find_param(const char *name) {
    for (int i = 0; i < np_; i++)
        if (!strcmp(params[i].name, name)) return i;
    return -1;
}

/* one line of optim.tsv, split at tabs into f[0..n) */
static void line(char **f, int n) {
    const char *k = f[0];
    if (!strcmp(k, "param") && n == 7 && np_ < MAXP) {
        Param *p = &params[np_++];
        snprintf(p->name, sizeof p->name, "%s", f[1]);
        p->ndim = atoi(f[2]), p->off = atoll(f[4]), p->numel = atoll(f[5]), p->decay = atoi(f[6]);
        CHECK(p->off == P);
        P += p->numel;
        /* the groups timm made for the fixture follow the rule */
        CHECK_MSG(nc_opt_no_decay(p->name, p->ndim) == !p->decay, "%s", p->name);
    } else if (!strcmp(k, "sched") && n == 11 && ns_ < MAXS) {
        Sched *s = &scheds[ns_++];
        snprintf(s->name, sizeof s->name, "%s", f[1]);
        s->s.kind = !strcmp(f[2], "cosine") ? NC_SCHED_COSINE
                    : !strcmp(f[2], "step") ? NC_SCHED_STEP
                                            : NC_SCHED_CONSTANT;
        s->s.base_lr = atof(f[3]), s->s.warmup_t = atoll(f[4]), s->s.warmup_lr_init = atof(f[5]);
        s->s.warmup_prefix = atoi(f[6]), s->s.min_lr = atof(f[7]), s->s.t_initial = atoll(f[8]);
        s->s.decay_t = atof(f[9]), s->s.decay_rate = atof(f[10]);
        NcError e;
        CHECK_MSG(nc_schedule_check(&s->s, &e) == 0, "%s: %s", s->name, e.msg);
    } else if (!strcmp(k, "lr") && n == 4) {
        int s = find_sched(f[1]);
        CHECK_MSG(s >= 0, "lr of unknown schedule %s", f[1]);
        if (s < 0) return;
        double want = atof(f[3]), got = nc_schedule_lr(&scheds[s].s, atoll(f[2]));
        CHECK_MSG(rel(got, want) <= TOL_LR, "%s t=%s: %.17g, timm %.17g", f[1], f[2], got, want);
        if (rel(got, want) > worst_lr) worst_lr = rel(got, want);
    } else if (!strcmp(k, "run") && n == 12 && nr_ < MAXR) {
        Run *r = &runs[nr_++];
        snprintf(r->name, sizeof r->name, "%s", f[1]);
        r->c = nc_opt_defaults(!strcmp(f[2], "adamw") ? NC_OPT_ADAMW : NC_OPT_SGD);
        r->sched = find_sched(f[3]);
        CHECK(r->sched >= 0);
        r->c.momentum = atof(f[4]), r->c.dampening = atof(f[5]), r->c.nesterov = atoi(f[6]);
        r->c.weight_decay = atof(f[7]);
        if (r->c.kind == NC_OPT_ADAMW) r->c.beta1 = atof(f[8]), r->c.beta2 = atof(f[9]), r->c.eps = atof(f[10]);
        r->max_norm = atof(f[11]);
        NcError e;
        CHECK_MSG(nc_opt_check(&r->c, &e) == 0, "%s: %s", r->name, e.msg);
    } else if ((!strcmp(k, "used") || !strcmp(k, "norm")) && n == 4) {
        Run *r = find_run(f[1]);
        int t = atoi(f[2]);
        CHECK(r && t >= 0 && t < STEPS);
        if (r && t >= 0 && t < STEPS) (k[0] == 'u' ? r->used : r->norm)[t] = atof(f[3]);
    } else if (!strcmp(k, "state") && n == 4) {
        Run *r = find_run(f[1]);
        int p = find_param(f[2]);
        CHECK(r && p >= 0);
        if (r && p >= 0) r->state[p] = atoll(f[3]);
    } else if (!strcmp(k, "decay") && n == 4) {
        CHECK_MSG(nc_opt_no_decay(f[1], atoi(f[2])) == !atoi(f[3]), "%s, %s dims: timm says decay %s", f[1], f[2],
                  f[3]);
    } else if (!strcmp(k, "default") && n == 10) {
        NcOptConfig d = nc_opt_defaults(!strcmp(f[1], "adamw") ? NC_OPT_ADAMW : NC_OPT_SGD);
        const double got[] = {d.lr, d.momentum, d.dampening, d.nesterov, d.weight_decay, d.beta1, d.beta2, d.eps};
        for (int i = 0; i < 8; i++)
            if (strcmp(f[2 + i], "-"))
                CHECK_MSG(got[i] == atof(f[2 + i]), "%s default %d: %g vs timm %s", f[1], i, got[i], f[2 + i]);
    } else {
        CHECK_MSG(0, "unexpected line '%s' of %d fields", k, n);
    }
}

static void load_tsv(void) {
    char *text;
    size_t len;
    NcError e;
    if (nc_read_file(FIX "optim.tsv", &text, &len, &e) != 0) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    for (char *s = text; s && *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        if (*s != '#' && *s) {
            char *f[16];
            int n = 0;
            for (char *t = s; t && n < 16; t = t ? t + 1 : NULL) {
                f[n++] = t;
                if ((t = strchr(t, '\t'))) *t = 0;
            }
            line(f, n);
        }
        s = nl ? nl + 1 : NULL;
    }
    free(text);
}

static int load(const char *name, NcNpy *a, int64_t rows, int64_t cols) {
    char path[512];
    NcError e;
    snprintf(path, sizeof path, FIX "%s", name);
    int ok = nc_npy_read(path, a, &e) == 0;
    CHECK_MSG(ok, "%s", e.msg);
    if (ok) CHECK_MSG(a->numel == rows * cols, "%s: %lld values", name, (long long)a->numel);
    return ok && a->numel == rows * cols;
}

/* max|a - b| / max(max|b|, 1e-6) over n values; *exact counts equal bits */
static double tensor_err(const float *a, const float *b, int64_t n, int64_t *exact) {
    double diff = 0, mag = 1e-6;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        mag = fmax(mag, fabs((double)b[i]));
        *exact += memcmp(&a[i], &b[i], sizeof(float)) == 0;
    }
    return diff / mag;
}

static void replay(const Run *r) {
    NcNpy hist, grads, want_state = {0};
    if (!load(r->max_norm ? "grads_clip.npy" : "grads.npy", &grads, STEPS, P)) return;
    char name[128];
    snprintf(name, sizeof name, "params_%s.npy", r->name);
    if (!load(name, &hist, STEPS + 1, P)) {
        nc_npy_free(&grads);
        return;
    }
    /* each tensor's state, then CANARY floats nothing may touch */
    int64_t soff[MAXP], stotal = 0, want_total = 0;
    for (int k = 0; k < np_; k++) {
        soff[k] = stotal;
        stotal += nc_opt_state_floats(r->c.kind, params[k].numel) + CANARY;
        if (r->c.kind == NC_OPT_ADAMW || r->c.momentum != 0)
            CHECK_MSG(nc_opt_state_floats(r->c.kind, params[k].numel) == r->state[k], "%s %s: torch keeps %lld",
                      r->name, params[k].name, (long long)r->state[k]);
        want_total += r->state[k];
    }
    float *p = nc_malloc((size_t)P * sizeof(float)), *g = nc_malloc((size_t)P * sizeof(float));
    float *state = nc_calloc((size_t)stotal, sizeof(float));
    for (int k = 0; k < np_; k++)
        for (int i = 0; i < CANARY; i++) state[soff[k] + nc_opt_state_floats(r->c.kind, params[k].numel) + i] = 1234.5f;
    memcpy(p, hist.data, (size_t)P * sizeof(float));

    double worst = 0, worst_norm = 0;
    int64_t exact = 0;
    for (int n = 0; n < STEPS; n++) {
        const double lr = nc_schedule_lr(&scheds[r->sched].s, n);
        CHECK_MSG(rel(lr, r->used[n]) <= TOL_LR, "%s update %d: lr %.17g, torch ran %.17g", r->name, n, lr, r->used[n]);
        worst_lr = fmax(worst_lr, rel(lr, r->used[n]));
        memcpy(g, grads.data + (int64_t)n * P, (size_t)P * sizeof(float));
        if (r->max_norm) {
            float *gp[MAXP];
            int64_t numel[MAXP];
            for (int k = 0; k < np_; k++) gp[k] = g + params[k].off, numel[k] = params[k].numel;
            const double total = nc_clip_grad_norm(gp, numel, np_, r->max_norm);
            CHECK_MSG(rel(total, r->norm[n]) <= TOL_NORM, "%s update %d: norm %.9g, torch %.9g", r->name, n, total,
                      r->norm[n]);
            worst_norm = fmax(worst_norm, rel(total, r->norm[n]));
        }
        for (int k = 0; k < np_; k++) {
            const Param *q = &params[k];
            nc_opt_step(&r->c, lr, p + q->off, g + q->off, state + soff[k], q->numel, n + 1,
                        !nc_opt_no_decay(q->name, q->ndim));
        }
        const float *want = hist.data + (int64_t)(n + 1) * P;
        for (int k = 0; k < np_; k++) {
            const Param *q = &params[k];
            double err = tensor_err(p + q->off, want + q->off, q->numel, &exact);
            CHECK_MSG(err <= TOL_P, "%s update %d %s: %.3g of max|torch|", r->name, n, q->name, err);
            worst = fmax(worst, err);
        }
    }
    for (int k = 0; k < np_; k++)
        for (int i = 0; i < CANARY; i++)
            CHECK_MSG(state[soff[k] + nc_opt_state_floats(r->c.kind, params[k].numel) + i] == 1234.5f,
                      "%s: state written past %s's", r->name, params[k].name);
    printf("%-20s params ≤ %.2g of max|torch| (%lld of %lld values bit-exact)", r->name, worst, (long long)exact,
           (long long)(STEPS * P));
    if (r->max_norm) printf(", total norm ≤ %.2g relative", worst_norm);
    /* torch's state after the last update, tensor by tensor in optim.h's layout */
    if (want_total) {
        snprintf(name, sizeof name, "state_%s.npy", r->name);
        if (load(name, &want_state, 1, want_total)) {
            double serr = 0;
            int64_t sexact = 0, w = 0;
            for (int k = 0; k < np_; k++) {
                double err = tensor_err(state + soff[k], want_state.data + w, r->state[k], &sexact);
                CHECK_MSG(err <= TOL_P, "%s state of %s: %.3g of max|torch|", r->name, params[k].name, err);
                serr = fmax(serr, err), w += r->state[k];
            }
            printf(", state ≤ %.2g", serr);
        }
    }
    printf("\n");
    free(p), free(g), free(state);
    nc_npy_free(&hist), nc_npy_free(&grads), nc_npy_free(&want_state);
}

/* what the fixture does not reach: refusals, non-finite norms, state that
 * need not be initialised */
static void edges(void) {
    NcError e;
    NcOptConfig c = nc_opt_defaults(NC_OPT_SGD);
    CHECK(nc_opt_check(&c, &e) == 0);
    c.lr = -0.1;
    CHECK(nc_opt_check(&c, &e) < 0 && strstr(e.msg, "lr -0.1"));
    c = nc_opt_defaults(NC_OPT_SGD), c.momentum = 0;
    CHECK(nc_opt_check(&c, &e) < 0 && strstr(e.msg, "Nesterov"));
    c = nc_opt_defaults(NC_OPT_ADAMW), c.beta2 = 1.0;
    CHECK(nc_opt_check(&c, &e) < 0 && strstr(e.msg, "beta2 1"));
    c = nc_opt_defaults(NC_OPT_ADAMW), c.weight_decay = NAN;
    CHECK(nc_opt_check(&c, &e) < 0 && strstr(e.msg, "weight decay"));
    CHECK(nc_opt_state_floats(NC_OPT_SGD, 7) == 7 && nc_opt_state_floats(NC_OPT_ADAMW, 7) == 14);

    NcSchedule s = {.kind = NC_SCHED_COSINE, .base_lr = 0.1, .t_initial = 0};
    CHECK(nc_schedule_check(&s, &e) < 0 && strstr(e.msg, "cosine schedule of 0 updates"));
    s = (NcSchedule){.kind = NC_SCHED_STEP, .base_lr = 0.1, .decay_t = 0, .decay_rate = 0.1};
    CHECK(nc_schedule_check(&s, &e) < 0 && strstr(e.msg, "decay interval 0"));
    s = (NcSchedule){.kind = NC_SCHED_CONSTANT, .base_lr = 0.1, .warmup_t = -1};
    CHECK(nc_schedule_check(&s, &e) < 0 && strstr(e.msg, "warm-up of -1"));
    s.warmup_t = 0;
    CHECK(nc_schedule_check(&s, &e) == 0 && nc_schedule_lr(&s, 0) == 0.1 && nc_schedule_lr(&s, 1000000) == 0.1);

    /* a non-finite total is returned and the gradients left for the caller */
    float a[3] = {1, 2, 3}, b[2] = {INFINITY, 1}, *gp[2] = {a, b};
    int64_t numel[2] = {3, 2};
    CHECK(isinf(nc_clip_grad_norm(gp, numel, 2, 1.0)) && a[0] == 1 && a[2] == 3 && b[1] == 1);
    b[0] = NAN;
    CHECK(isnan(nc_clip_grad_norm(gp, numel, 2, 1.0)) && a[0] == 1 && b[1] == 1);
    /* under max_norm nothing changes; an empty set has norm 0 */
    b[0] = 0;
    CHECK_NEAR(nc_clip_grad_norm(gp, numel, 2, 10.0), sqrt(15.0), 1e-12);
    CHECK(a[0] == 1 && a[1] == 2 && a[2] == 3 && b[1] == 1);
    CHECK(nc_clip_grad_norm(gp, numel, 0, 1.0) == 0);

    /* SGD's first step takes the buffer from the gradient, whatever the
     * state held */
    float p[2] = {1, 2}, grad[2] = {0.5f, -0.5f}, buf[2] = {NAN, NAN};
    c = nc_opt_defaults(NC_OPT_SGD);
    nc_opt_step(&c, 0.1, p, grad, buf, 2, 1, 1);
    CHECK(buf[0] == 0.5f && buf[1] == -0.5f && isfinite(p[0]) && isfinite(p[1]));
}

int main(void) {
    load_tsv();
    CHECK(np_ == 5 && ns_ >= 6 && nr_ == 6 && P == 155);
    for (int i = 0; i < nr_; i++) replay(&runs[i]);
    printf("schedules and rates   ≤ %.2g relative to timm\n", worst_lr);
    edges();
    TEST_MAIN_END();
}
