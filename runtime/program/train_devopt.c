/* train_devopt.c — train's optimizer on the device (issue 19): the weights,
 * gradients and optimizer state stay in device memory between steps.
 *
 * A step downloads its loss, logits and batch statistics (dev_exec.c); the
 * gradient norm is a device reduction whose NC_DEV_OPT_GRID double partials
 * come back; the host decides (a non-finite loss, norm or batch statistic
 * skips the step, as on the host path), fills each trained tensor's slot
 * (runtime/device/dev_optim_slot.h: optim.c's scalars), uploads the slots and
 * launches SGD or AdamW once per tensor; the running statistics, updated on
 * the host from the downloaded batch statistics as before, go back to the
 * device's weights (a few floats per channel).  The weights and the state
 * come back to the host only when it needs them (a checkpoint), and go to
 * the device once, at the start (after --init or --resume). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/device/dev_optim_slot.h"
#include "runtime/program/dev_exec.h"
#include "runtime/program/train.h"

struct TrainDevOpt {
    const NcBundle *b;
    NcDevice *dev;
    const NcDevKernel *sgd, *adamw, *sqnorm;
    int n;
    float **param, **grad; /* per trained tensor: device addresses */
    int64_t *numel, *state_at, opt_floats;
    float *state, *slots, *norm_slots; /* device: the optimizer state, the step's slots, the norm's slots */
    double *partials;                  /* device: NC_DEV_OPT_GRID doubles */
    float *host_slots;
    int graphs;     /* the launches replayed as graphs (below) */
    void *graph[2]; /* the norm's launches, the update's */
    int64_t runs[2];
};

/* A step's launches are the same every step but for what the slots hold (read when the kernels run): on a
 * device with graphs they are issued as they are the first time (the kernels load), captured as one graph the
 * second, and replayed from then on — one submission instead of one per tensor (322 a step for resnet50).
 * NETC_NO_GRAPHS=1 issues them every time, as dev_exec.c its steps. */
static int launches(TrainDevOpt *d, int which, NcOptKind kind, NcError *e);

static int run_launches(TrainDevOpt *d, int which, NcOptKind kind, NcError *e) {
    if (!d->graphs) return launches(d, which, kind, e);
    if (d->graph[which]) return nc_dev_graph_launch(d->dev, d->graph[which], e);
    if (d->runs[which]++ == 0) return launches(d, which, kind, e);
    if (nc_dev_graph_begin(d->dev, e)) return -1;
    const int bad = launches(d, which, kind, e);
    NcError end;
    if (nc_dev_graph_end(d->dev, &d->graph[which], bad ? &end : e) || bad) return -1;
    return nc_dev_graph_launch(d->dev, d->graph[which], e);
}

int train_devopt_open(TrainDevOpt **out, const NcBundle *b, int ps, int n, const int32_t *param, const int32_t *grad,
                      const int64_t *numel, const int64_t *state_at, int64_t opt_floats, NcError *e) {
    *out = NULL;
    NcDevice *dev = nc_dev_exec_device(b);
    const char *host = getenv("NETC_DEV_HOST_OPTIM");
    if (!dev || (host && *host && strcmp(host, "0"))) return 0; /* the host's optimizer */
    TrainDevOpt *d = nc_calloc(1, sizeof *d);
    d->b = b, d->dev = dev, d->n = n, d->opt_floats = opt_floats;
    const char *no_graphs = getenv("NETC_NO_GRAPHS");
    d->graphs = nc_dev_has_graphs(dev) && !(no_graphs && *no_graphs && strcmp(no_graphs, "0"));
    d->sgd = nc_dev_exec_kernel(NC_DEV_OPT_SGD), d->adamw = nc_dev_exec_kernel(NC_DEV_OPT_ADAMW);
    d->sqnorm = nc_dev_exec_kernel(NC_DEV_OPT_SQNORM);
    if (!d->sgd || !d->adamw || !d->sqnorm) { /* compiled before the device optimizer: the host's */
        free(d);
        return 0;
    }
    d->param = nc_calloc((size_t)n + 1, sizeof(float *));
    d->grad = nc_calloc((size_t)n + 1, sizeof(float *));
    d->numel = nc_calloc((size_t)n + 1, sizeof(int64_t));
    d->state_at = nc_calloc((size_t)n + 1, sizeof(int64_t));
    d->host_slots = nc_calloc((size_t)n * NC_DEV_OPT_SLOT + 1, sizeof(float));
    for (int k = 0; k < n; k++) {
        d->param[k] = nc_dev_exec_value(b, ps, param[k]), d->grad[k] = nc_dev_exec_value(b, ps, grad[k]);
        d->numel[k] = numel[k], d->state_at[k] = state_at[k];
    }
    const size_t slot_bytes = (size_t)(n ? n : 1) * NC_DEV_OPT_SLOT * sizeof(float);
    if (nc_dev_alloc(dev, (void **)&d->state, (size_t)(opt_floats ? opt_floats : 1) * sizeof(float), e) ||
        nc_dev_alloc(dev, (void **)&d->slots, slot_bytes, e) ||
        nc_dev_alloc(dev, (void **)&d->norm_slots, slot_bytes, e) ||
        nc_dev_alloc(dev, (void **)&d->partials, NC_DEV_OPT_GRID * sizeof(double), e)) {
        train_devopt_close(d);
        return nc_error_prefix(e, "the optimizer's state on %s", nc_dev_name(dev)), -1;
    }
    /* the norm's slots never change: once */
    for (int k = 0; k < n; k++) nc_dev_opt_norm_slot(numel[k], k == 0, d->host_slots + (int64_t)k * NC_DEV_OPT_SLOT);
    if (n && nc_dev_upload(dev, d->norm_slots, d->host_slots, (size_t)n * NC_DEV_OPT_SLOT * sizeof(float), e)) {
        train_devopt_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

void train_devopt_close(TrainDevOpt *d) {
    if (!d) return;
    nc_dev_graph_free(d->dev, d->graph[0]), nc_dev_graph_free(d->dev, d->graph[1]);
    nc_dev_free(d->dev, d->state), nc_dev_free(d->dev, d->slots), nc_dev_free(d->dev, d->norm_slots);
    nc_dev_free(d->dev, d->partials);
    free(d->param), free(d->grad), free(d->numel), free(d->state_at), free(d->host_slots);
    free(d);
}

int train_devopt_upload(TrainDevOpt *d, const float *opt_state, NcError *e) {
    if (nc_dev_exec_upload_weights(d->b, e)) return -1;
    return nc_dev_upload(d->dev, d->state, opt_state, (size_t)d->opt_floats * sizeof(float), e);
}

/* which 0: the squared norm of every gradient into the partials; 1: the update of every tensor. */
static int launches(TrainDevOpt *d, int which, NcOptKind kind, NcError *e) {
    for (int k = 0; k < d->n; k++) {
        float *st = d->state + d->state_at[k];
        float *norm[3] = {d->grad[k], d->norm_slots + (int64_t)k * NC_DEV_OPT_SLOT, (float *)d->partials};
        float *slot = d->slots + (int64_t)k * NC_DEV_OPT_SLOT;
        float *sgd[4] = {d->param[k], d->grad[k], st, slot};
        float *adamw[5] = {d->param[k], d->grad[k], st, st + d->numel[k], slot};
        const int bad = which == 0           ? nc_dev_launch(d->dev, d->sqnorm, norm, e)
                        : kind == NC_OPT_SGD ? nc_dev_launch(d->dev, d->sgd, sgd, e)
                                             : nc_dev_launch(d->dev, d->adamw, adamw, e);
        if (bad) return -1;
    }
    return 0;
}

int train_devopt_grad_norm(TrainDevOpt *d, double *total, NcError *e) {
    *total = 0;
    if (!d->n) return 0;
    if (run_launches(d, 0, NC_OPT_SGD, e)) return -1;
    double part[NC_DEV_OPT_GRID], sum = 0;
    if (nc_dev_download(d->dev, part, d->partials, sizeof part, e)) return -1;
    for (int i = 0; i < NC_DEV_OPT_GRID; i++) sum += part[i];
    *total = sqrt(sum);
    return 0;
}

int train_devopt_step(TrainDevOpt *d, const NcOptConfig *c, double lr, int64_t step, const int *decay, float coef,
                      NcError *e) {
    if (!d->n) return 0;
    for (int k = 0; k < d->n; k++)
        nc_dev_opt_slot(c, lr, step, decay[k], d->numel[k], coef, d->host_slots + (int64_t)k * NC_DEV_OPT_SLOT);
    if (nc_dev_upload(d->dev, d->slots, d->host_slots, (size_t)d->n * NC_DEV_OPT_SLOT * sizeof(float), e)) return -1;
    return run_launches(d, 1, c->kind, e);
}

int train_devopt_put(TrainDevOpt *d, int ps, int32_t v, const float *host, int64_t numel, NcError *e) {
    return nc_dev_upload(d->dev, nc_dev_exec_value(d->b, ps, v), host, (size_t)numel * sizeof(float), e);
}

int train_devopt_download(TrainDevOpt *d, float *const *params, float *opt_state, NcError *e) {
    for (int k = 0; k < d->n; k++)
        if (nc_dev_download(d->dev, params[k], d->param[k], (size_t)d->numel[k] * sizeof(float), e)) return -1;
    return nc_dev_download(d->dev, opt_state, d->state, (size_t)d->opt_floats * sizeof(float), e);
}
