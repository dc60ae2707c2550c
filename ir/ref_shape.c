/* ref_shape.c — reference softmaxes and data movement. */
#include <math.h>
#include <string.h>

#include "ir/ops.h"

/* Sizes before, along and after an axis. */
static void split_axis(const NcValue *v, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = 1, *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= v->shape[d];
    for (int d = axis + 1; d < v->ndim; d++) *inner *= v->shape[d];
    *len = v->shape[axis];
}

static void softmax_strided(const float *x, float *y, int64_t len, int64_t stride_in, int64_t stride_out) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < len; i++) m = fmax(m, x[i * stride_in]);
    for (int64_t i = 0; i < len; i++) s += exp(x[i * stride_in] - m);
    for (int64_t i = 0; i < len; i++) y[i * stride_out] = (float)(exp(x[i * stride_in] - m) / s);
}

void nc_ref_softmax(const NcKernelArgs *k) {
    int64_t outer, len, inner;
    split_axis(k->in_v[0], k->node->attrs.axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            softmax_strided(k->in[0] + o * len * inner + i, k->out[0] + o * len * inner + i, len, inner, inner);
}

/* timm's RadixSoftmax: per sample, view the features as [card, radix, rest],
 * softmax over radix, and write them radix-major ([radix, card, rest]); with
 * radix 1 it is a sigmoid. */
void nc_ref_radix_softmax(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    const int64_t N = k->in_v[0]->shape[0], per = nc_numel(k->in_v[0]) / N;
    const int64_t R = a->radix, CARD = a->cardinality, rest = per / (R * CARD);
    for (int64_t n = 0; n < N; n++) {
        const float *x = k->in[0] + n * per;
        float *y = k->out[0] + n * per;
        if (R == 1) {
            for (int64_t i = 0; i < per; i++) y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
            continue;
        }
        for (int64_t c = 0; c < CARD; c++)
            for (int64_t i = 0; i < rest; i++)
                softmax_strided(x + c * R * rest + i, y + c * rest + i, R, rest, CARD * rest);
    }
}

/* timm's SplitAttn pooling: the R branches summed per element, then the mean
 * over the plane (in that order, as timm's x.sum(dim=1).mean((2, 3))). */
void nc_ref_radix_gap(const NcKernelArgs *k) {
    const NcValue *x = k->in_v[0];
    const int64_t R = k->node->attrs.radix, N = x->shape[0], C = x->shape[1] / R, HW = x->shape[2] * x->shape[3];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double acc = 0;
            for (int64_t i = 0; i < HW; i++) {
                float s = 0;
                for (int64_t r = 0; r < R; r++) s += k->in[0][((n * R + r) * C + c) * HW + i];
                acc += s;
            }
            k->out[0][n * C + c] = (float)(acc / (double)HW);
        }
}

/* ... and its output: out[n, c] = sum over r of x[n, r C + c] * a[n, r C + c],
 * each product rounded, summed in branch order (timm's (x * attn).sum(dim=1)). */
void nc_ref_radix_combine(const NcKernelArgs *k) {
    const NcValue *x = k->in_v[0];
    const int64_t R = k->node->attrs.radix, N = x->shape[0], C = x->shape[1] / R, HW = x->shape[2] * x->shape[3];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            float *y = k->out[0] + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) {
                float s = 0;
                for (int64_t r = 0; r < R; r++) {
                    const float p = k->in[0][((n * R + r) * C + c) * HW + i] * k->in[1][(n * R + r) * C + c];
                    s = r ? s + p : p;
                }
                y[i] = s;
            }
        }
}

void nc_ref_concat(const NcKernelArgs *k) {
    const NcNode *n = k->node;
    int64_t outer, len, inner;
    split_axis(k->out_v[0], n->attrs.axis, &outer, &len, &inner);
    int64_t off = 0;
    for (int j = 0; j < n->ninputs; j++) {
        int64_t jo, jl, ji;
        split_axis(k->in_v[j], n->attrs.axis, &jo, &jl, &ji);
        for (int64_t o = 0; o < outer; o++)
            memcpy(k->out[0] + (o * len + off) * inner, k->in[j] + o * jl * inner,
                   (size_t)(jl * inner) * sizeof(float));
        off += jl;
    }
}

int nc_split_in_place(const NcKernelArgs *k) {
    const NcNode *n = k->node;
    const NcValue *x = k->in_v[0];
    int64_t inner = 1, off = 0;
    for (int d = 0; d < n->attrs.axis; d++)
        if (x->shape[d] != 1) return 0;
    for (int d = n->attrs.axis + 1; d < x->ndim; d++) inner *= x->shape[d];
    for (int j = 0; j < n->noutputs; j++) {
        if (k->out[j] != k->in[0] + off) return 0;
        off += n->attrs.sizes[j] * inner;
    }
    return 1;
}

void nc_ref_split(const NcKernelArgs *k) {
    const NcNode *n = k->node;
    int64_t outer, len, inner;
    split_axis(k->in_v[0], n->attrs.axis, &outer, &len, &inner);
    int64_t off = 0;
    for (int j = 0; j < n->noutputs; j++) {
        const int64_t jl = n->attrs.sizes[j];
        for (int64_t o = 0; o < outer; o++)
            memcpy(k->out[j] + o * jl * inner, k->in[0] + (o * len + off) * inner,
                   (size_t)(jl * inner) * sizeof(float));
        off += jl;
    }
}

void nc_ref_reshape(const NcKernelArgs *k) {
    memcpy(k->out[0], k->in[0], (size_t)nc_numel(k->in_v[0]) * sizeof(float));
}

/* out[i0..ik] = x[...] with out's axis d being x's axis perm[d]: walk the
 * output in order, stepping x's offset by the permuted strides. */
void nc_ref_transpose(const NcKernelArgs *k) {
    const NcValue *x = k->in_v[0];
    const int nd = x->ndim;
    const int64_t *perm = k->node->attrs.sizes;
    int64_t xstride[NC_MAXDIM], step[NC_MAXDIM], oshape[NC_MAXDIM], idx[NC_MAXDIM] = {0};
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) xstride[d] = s, s *= x->shape[d];
    for (int d = 0; d < nd; d++) step[d] = xstride[perm[d]], oshape[d] = x->shape[perm[d]];
    const int64_t n = nc_numel(x);
    int64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        k->out[0][i] = k->in[0][off];
        for (int d = nd - 1; d >= 0; d--) {
            off += step[d];
            if (++idx[d] < oshape[d]) break;
            off -= step[d] * oshape[d];
            idx[d] = 0;
        }
    }
}
