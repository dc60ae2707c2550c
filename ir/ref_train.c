/* ref_train.c — reference kernels of the forward ops only a training graph
 * has (batch norm on batch statistics, dropout, the losses) and of the small
 * gradient helpers (zeros, sum_to, act_grad, the loss's gradient).  What each
 * op computes is said beside its shape rule in shape_train.c; like every
 * reference kernel these are plain loops with double accumulators, OpenMP
 * only over independent outputs. */
#include <math.h>
#include <string.h>

#include "ir/ops.h"

/* Per channel over [N, C, rest]: mean and biased variance in double (two
 * passes), then y = (x - mean) / sqrt(var + eps) * weight + bias, then the
 * epilogue's relu or clamp if one is fused in. */
void nc_ref_batch_norm_train(const NcKernelArgs *k) {
    const NcValue *xv = k->in_v[0];
    const int64_t N = xv->shape[0], C = xv->shape[1], S = nc_numel(xv) / (N * C);
    const double M = (double)(N * S), eps = k->node->attrs.eps;
    const float *x = k->in[0], *w = k->in[1], *b = k->in[2];
    float *y = k->out[0], *mean_out = k->out[1], *var_out = k->out[2];
#pragma omp parallel for schedule(dynamic)
    for (int64_t c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) sum += x[(n * C + c) * S + i];
        const double mean = sum / M;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                const double d = x[(n * C + c) * S + i] - mean;
                sq += d * d;
            }
        const double var = sq / M, inv = 1.0 / sqrt(var + eps);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                const int64_t j = (n * C + c) * S + i;
                y[j] = (float)((x[j] - mean) * inv * w[c] + b[c]);
            }
        mean_out[c] = (float)mean;
        var_out[c] = (float)var;
    }
    nc_epilogue_apply(k); /* a fused relu or clamp (passes/fuse_bn_act.c), on y as stored */
}

/* y = x * mask, mask 0 or 1 / (1 - p) as PyTorch forms it (the keep
 * probability as a float, then 1.0f / keep in float), so that kept values
 * round as PyTorch's x * mask do and dropped ones are x * 0 (a NaN or an
 * infinity stays NaN, -x gives -0, as in PyTorch). */
void nc_ref_dropout(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const NcValue *xv = k->in_v[0];
    const int64_t n = nc_numel(xv), per = n / xv->shape[0]; /* elements per sample */
    const float *x = k->in[0];
    float *y = k->out[0];
    if (a->p == 0) {
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        return;
    }
    uint32_t seed[2];
    memcpy(seed, k->in[1], sizeof seed); /* an NC_I32 [2] value: two 32-bit words */
    const double th = (1.0 - (double)a->p) * 4294967296.0;
    const uint32_t threshold = th >= 4294967295.0 ? UINT32_MAX : (uint32_t)th;
    const float mask = 1.0f / (float)(1.0 - (double)a->p);
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) {
        const uint64_t draw = (uint64_t)(a->per_sample ? i / per : i);
        const int keep = nc_dropout_bits(seed[0], seed[1], a->salt, draw) < threshold;
        y[i] = x[i] * (keep ? mask : 0.0f);
    }
}

/* Row n of the logits: log-softmax in double, stable (max subtracted). */
static void log_softmax_row(const float *z, int64_t K, double *lp) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < K; j++) m = fmax(m, z[j]);
    for (int64_t j = 0; j < K; j++) s += exp(z[j] - m);
    const double lse = m + log(s);
    for (int64_t j = 0; j < K; j++) lp[j] = z[j] - lse;
}

/* The hard label of a one-hot target row: its first maximum. */
static int64_t row_label(const float *t, int64_t K) {
    int64_t y = 0;
    for (int64_t j = 1; j < K; j++)
        if (t[j] > t[y]) y = j;
    return y;
}

/* The loss's pieces: per row its numerator (loss[n]) and, for the weighted
 * loss, its weight w[y_n] (denominator terms); the total is their sum over
 * rows, divided by N (soft, focal) or by the summed weights (weighted). */
static double row_loss(const NcAttrs *a, const float *z, const float *t, const float *wt, int64_t K, double *lp,
                       double *den) {
    log_softmax_row(z, K, lp);
    double l = 0;
    if (a->loss == NC_LOSS_WEIGHTED) {
        const int64_t y = row_label(t, K);
        const double s = a->p;
        double smooth = 0;
        for (int64_t j = 0; j < K; j++) smooth += wt[j] * -lp[j];
        l = (1 - s) * wt[y] * -lp[y] + s / (double)K * smooth;
        *den = wt[y];
    } else {
        const double gamma = a->loss == NC_LOSS_FOCAL ? a->gamma : 0.0;
        for (int64_t j = 0; j < K; j++) {
            const double q = -expm1(lp[j]); /* 1 - p_j */
            l += -(double)t[j] * (gamma == 0 ? 1.0 : pow(q, gamma)) * lp[j];
        }
        *den = 1;
    }
    return l;
}

void nc_ref_cross_entropy(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t N = k->in_v[0]->shape[0], K = k->in_v[0]->shape[1];
    const float *wt = a->loss == NC_LOSS_WEIGHTED ? k->in[2] : NULL;
    double *num = nc_malloc((size_t)N * sizeof(double)), *den = nc_malloc((size_t)N * sizeof(double));
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        double *lp = nc_malloc((size_t)K * sizeof(double));
        num[n] = row_loss(a, k->in[0] + n * K, k->in[1] + n * K, wt, K, lp, &den[n]);
        free(lp);
    }
    double sn = 0, sd = 0; /* summed in row order, whatever the threads */
    for (int64_t n = 0; n < N; n++) sn += num[n], sd += den[n];
    k->out[0][0] = (float)(sn / sd);
    free(num);
    free(den);
}

/* d loss / d z, times dloss[0].  With p = softmax(z), d(-log p_j)/dz_i =
 * p_i - [i = j]:
 *   soft      (p_i sum_j t_j - t_i) / N
 *   weighted  ((1-s) w_y (p_i - [i = y]) + s/K (p_i sum_j w_j - w_i)) / sum_n w_{y_n}
 *   focal     (t_i g_i - p_i sum_j t_j g_j) / N, g_j = d f_j / d log p_j for
 *             f_j = -(1 - p_j)^gamma log p_j: gamma (1-p_j)^(gamma-1) p_j log p_j - (1-p_j)^gamma */
void nc_ref_cross_entropy_grad(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t N = k->in_v[1]->shape[0], K = k->in_v[1]->shape[1];
    const float *z = k->in[1], *t = k->in[2], *wt = a->loss == NC_LOSS_WEIGHTED ? k->in[3] : NULL;
    float *dz = k->out[0];
    double den = N;
    if (wt) {
        den = 0;
        for (int64_t n = 0; n < N; n++) den += wt[row_label(t + n * K, K)];
    }
    const double scale = k->in[0][0] / den;
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        const float *zr = z + n * K, *tr = t + n * K;
        double *lp = nc_malloc((size_t)K * sizeof(double)), *gr = nc_malloc((size_t)K * sizeof(double));
        log_softmax_row(zr, K, lp);
        if (wt) {
            const int64_t y = row_label(tr, K);
            const double s = a->p;
            double wsum = 0;
            for (int64_t j = 0; j < K; j++) wsum += wt[j];
            for (int64_t i = 0; i < K; i++) {
                const double p = exp(lp[i]);
                gr[i] = (1 - s) * wt[y] * (p - (i == y)) + s / (double)K * (p * wsum - wt[i]);
            }
        } else {
            const double gamma = a->loss == NC_LOSS_FOCAL ? a->gamma : 0.0;
            double tg = 0;
            for (int64_t j = 0; j < K; j++) {
                const double p = exp(lp[j]), q = -expm1(lp[j]);
                /* at q = 0 the first term's limit is 0 for every gamma > 0 */
                const double first = gamma == 0 || q == 0 ? 0.0 : gamma * pow(q, gamma - 1) * p * lp[j];
                gr[j] = first - (gamma == 0 ? 1.0 : pow(q, gamma));
                tg += tr[j] * gr[j];
            }
            for (int64_t i = 0; i < K; i++) gr[i] = tr[i] * gr[i] - exp(lp[i]) * tg;
        }
        for (int64_t i = 0; i < K; i++) dz[n * K + i] = (float)(gr[i] * scale);
        free(lp);
        free(gr);
    }
}

void nc_ref_zeros(const NcKernelArgs *k) { memset(k->out[0], 0, (size_t)nc_numel(k->out_v[0]) * sizeof(float)); }

/* Each output element sums the input elements that broadcast from it: the
 * input's axes split into kept ones (the output has the same size there,
 * right-aligned) and reduced ones (missing from the output, or 1 there). */
void nc_ref_sum_to(const NcKernelArgs *k) {
    const NcValue *xv = k->in_v[0], *ov = k->out_v[0];
    const int nd = xv->ndim, lead = xv->ndim - ov->ndim;
    int keep[NC_MAXDIM];
    int64_t stride[NC_MAXDIM], s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        keep[d] = d >= lead && ov->shape[d - lead] == xv->shape[d];
        stride[d] = s;
        s *= xv->shape[d];
    }
    const int64_t nout = nc_numel(ov), nred = nc_numel(xv) / nout;
    const float *x = k->in[0];
#pragma omp parallel for
    for (int64_t o = 0; o < nout; o++) {
        int64_t base = 0, rem = o;
        for (int d = nd - 1; d >= 0; d--)
            if (keep[d]) base += rem % xv->shape[d] * stride[d], rem /= xv->shape[d];
        double acc = 0;
        for (int64_t r = 0; r < nred; r++) {
            int64_t off = base, rr = r;
            for (int d = nd - 1; d >= 0; d--)
                if (!keep[d]) off += rr % xv->shape[d] * stride[d], rr /= xv->shape[d];
            acc += x[off];
        }
        k->out[0][o] = (float)acc;
    }
}

/* dy * act'(x), PyTorch's backward rules: threshold_backward for relu
 * (x <= 0 ? 0 : dy) and hardtanh_backward for clamp ((x <= lo || x >= hi) ?
 * 0 : dy), so a NaN x passes dy; silu and sigmoid from s = sigmoid(x) in
 * double. */
float nc_ref_act_grad_one(const NcAttrs *a, float dy, float x) {
    const double g = dy, v = x;
    switch ((NcEpiKind)a->act) {
    case NC_EPI_RELU: return v <= 0 ? 0.0f : dy;
    case NC_EPI_CLAMP: return v <= a->lo || v >= a->hi ? 0.0f : dy;
    case NC_EPI_SILU: {
        const double s = 1.0 / (1.0 + exp(-v));
        return (float)(g * s * (1.0 + v * (1.0 - s)));
    }
    case NC_EPI_SIGMOID: {
        const double s = 1.0 / (1.0 + exp(-v));
        return (float)(g * s * (1.0 - s));
    }
    default: NC_FATAL("act_grad: activation %d has no gradient here", a->act);
    }
}

void nc_ref_act_grad(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t n = nc_numel(k->in_v[0]);
    const float *dy = k->in[0], *x = k->in[1];
    float *dx = k->out[0];
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++) dx[i] = nc_ref_act_grad_one(a, dy[i], x[i]);
}
