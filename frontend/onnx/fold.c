/* fold.c — evaluating ops whose inputs are all constants, as the shape
 * arithmetic torch.onnx.export writes (Shape -> Gather -> Unsqueeze -> Concat
 * -> Reshape) needs: broadcasting arithmetic, gather, concat, slice, cast and
 * the shape computations Reshape / Flatten / Unsqueeze / Squeeze share with
 * their runtime forms. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "frontend/onnx/onnx_fold.h"

static double get(const OxTensor *t, int64_t k) { return t->is_int ? (double)t->i[k] : t->f[k]; }

int ox_norm_axis(Ox *X, int64_t axis, int ndim) {
    if (axis < -ndim || axis >= (ndim ? ndim : 1))
        ox_fail(X, "axis %lld is out of range for %d dimensions", (long long)axis, ndim);
    return (int)(axis < 0 ? axis + ndim : axis);
}

void ox_broadcast_shape(Ox *X, int na, const int64_t *a, int nb, const int64_t *b, int *nd, int64_t *out) {
    *nd = na > nb ? na : nb;
    for (int d = 0; d < *nd; d++) {
        int64_t x = d - (*nd - na) >= 0 ? a[d - (*nd - na)] : 1, y = d - (*nd - nb) >= 0 ? b[d - (*nd - nb)] : 1;
        if (x != y && x != 1 && y != 1)
            ox_fail(X, "shapes do not broadcast (%lld against %lld)", (long long)x, (long long)y);
        out[d] = x == 1 ? y : x;
    }
}

/* The flat index into t of output element k of shape (nd, shape), t right-aligned and broadcast. */
static int64_t bindex(const OxTensor *t, int nd, const int64_t *shape, int64_t k) {
    int64_t idx = 0, stride = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t c = k % shape[d];
        k /= shape[d];
        int td = d - (nd - t->ndim);
        if (td < 0) break;
        if (t->shape[td] != 1) idx += c * stride;
        stride *= t->shape[td];
    }
    return idx;
}

void ox_fold_binary(Ox *X, OxBinary op, const OxTensor *a, const OxTensor *b, OxTensor *out) {
    int nd;
    int64_t shape[NC_MAXDIM];
    ox_broadcast_shape(X, a->ndim, a->shape, b->ndim, b->shape, &nd, shape);
    const int is_int = a->is_int && b->is_int;
    ox_tensor_new(X, out, is_int, nd, shape);
    for (int64_t k = 0; k < out->n; k++) {
        double x = get(a, bindex(a, nd, shape, k)), y = get(b, bindex(b, nd, shape, k));
        if (is_int) {
            int64_t p = (int64_t)x, q = (int64_t)y, r = 0;
            int over = 0;
            if (op == OX_ADD) over = __builtin_add_overflow(p, q, &r);
            if (op == OX_SUB) over = __builtin_sub_overflow(p, q, &r);
            if (op == OX_MUL) over = __builtin_mul_overflow(p, q, &r);
            if (op == OX_DIV) {
                if (!q || (p == INT64_MIN && q == -1)) ox_fail(X, "integer division by zero or overflow");
                r = p / q;
            }
            if (op == OX_MAX) r = p > q ? p : q;
            if (op == OX_MIN) r = p < q ? p : q;
            if (over) ox_fail(X, "integer overflow in constant arithmetic");
            out->i[k] = r;
        } else {
            double r = op == OX_ADD ? x + y : op == OX_SUB ? x - y : op == OX_MUL ? x * y : op == OX_DIV ? x / y : 0;
            if (op == OX_MAX) r = isnan(x) || isnan(y) ? NAN : x > y ? x : y;
            if (op == OX_MIN) r = isnan(x) || isnan(y) ? NAN : x < y ? x : y;
            out->f[k] = (float)r;
        }
    }
}

/* a float to int64 as a cast truncates; out of range (or NaN) is an error, not undefined behaviour */
static int64_t to_i64(Ox *X, double v) {
    if (!(v > -9.2e18 && v < 9.2e18)) ox_fail(X, "the constant %g does not fit an int64", v);
    return (int64_t)v;
}

void ox_fold_cast(Ox *X, const OxTensor *a, int to_int, OxTensor *out) {
    ox_tensor_new(X, out, to_int, a->ndim, a->shape);
    for (int64_t k = 0; k < a->n; k++) {
        if (to_int)
            out->i[k] = a->is_int ? a->i[k] : to_i64(X, a->f[k]);
        else
            out->f[k] = (float)get(a, k);
    }
}

void ox_fold_gather(Ox *X, const OxTensor *data, const OxTensor *idx, int axis, OxTensor *out) {
    if (!idx->is_int) ox_fail(X, "Gather indices must be integers");
    if (data->ndim + idx->ndim - 1 > NC_MAXDIM) ox_fail(X, "Gather result has too many dimensions");
    int64_t shape[NC_MAXDIM];
    int nd = 0;
    for (int d = 0; d < axis; d++) shape[nd++] = data->shape[d];
    for (int d = 0; d < idx->ndim; d++) shape[nd++] = idx->shape[d];
    for (int d = axis + 1; d < data->ndim; d++) shape[nd++] = data->shape[d];
    ox_tensor_new(X, out, data->is_int, nd, shape);
    int64_t outer = 1, inner = 1, len = data->shape[axis];
    for (int d = 0; d < axis; d++) outer *= data->shape[d];
    for (int d = axis + 1; d < data->ndim; d++) inner *= data->shape[d];
    for (int64_t o = 0, k = 0; o < outer; o++)
        for (int64_t j = 0; j < idx->n; j++) {
            int64_t i = idx->i[j] < 0 ? idx->i[j] + len : idx->i[j];
            if (i < 0 || i >= len)
                ox_fail(X, "Gather index %lld is out of range for %lld", (long long)idx->i[j], (long long)len);
            for (int64_t r = 0; r < inner; r++, k++) {
                int64_t from = (o * len + i) * inner + r;
                if (out->is_int)
                    out->i[k] = data->i[from];
                else
                    out->f[k] = data->f[from];
            }
        }
}

void ox_fold_concat(Ox *X, const OxTensor *const *in, int n, int axis, OxTensor *out) {
    int64_t shape[NC_MAXDIM];
    memcpy(shape, in[0]->shape, sizeof shape);
    shape[axis] = 0;
    int is_int = 1;
    for (int k = 0; k < n; k++) {
        if (in[k]->ndim != in[0]->ndim) ox_fail(X, "Concat inputs differ in rank");
        for (int d = 0; d < in[0]->ndim; d++)
            if (d != axis && in[k]->shape[d] != in[0]->shape[d]) ox_fail(X, "Concat inputs differ outside the axis");
        shape[axis] += in[k]->shape[axis];
        is_int &= in[k]->is_int;
    }
    ox_tensor_new(X, out, is_int, in[0]->ndim, shape);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= shape[d];
    for (int d = axis + 1; d < in[0]->ndim; d++) inner *= shape[d];
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int j = 0; j < n; j++) {
            int64_t m = in[j]->shape[axis] * inner;
            for (int64_t r = 0; r < m; r++, k++) {
                double v = get(in[j], o * m + r);
                if (is_int)
                    out->i[k] = (int64_t)v;
                else
                    out->f[k] = (float)v;
            }
        }
}

void ox_fold_slice(Ox *X, const OxTensor *data, const int64_t *starts, const int64_t *ends, const int64_t *axes,
                   const int64_t *steps, int n, OxTensor *out) {
    int64_t lo[NC_MAXDIM], step[NC_MAXDIM], shape[NC_MAXDIM];
    for (int d = 0; d < data->ndim; d++) lo[d] = 0, step[d] = 1, shape[d] = data->shape[d];
    for (int k = 0; k < n; k++) {
        int d = ox_norm_axis(X, axes[k], data->ndim);
        int64_t len = data->shape[d], s = steps[k];
        if (s == 0 || s < -(1ll << 40) || s > (1ll << 40)) ox_fail(X, "Slice with a step of %lld", (long long)s);
        /* ONNX's clamping: [0, len] for a positive step; [0, len - 1] and [-1, len - 1] for a negative one
         * (torch.onnx.export reverses lists of pads with step -1) */
        int64_t b = starts[k] < 0 ? starts[k] + len : starts[k], e = ends[k] < 0 ? ends[k] + len : ends[k];
        if (starts[k] < -(1ll << 62)) b = -1;
        if (ends[k] < -(1ll << 62)) e = -1;
        if (s > 0) {
            b = b < 0 ? 0 : b > len ? len : b;
            e = e < 0 ? 0 : e > len ? len : e;
            shape[d] = e > b ? (e - b + s - 1) / s : 0;
        } else {
            b = b < 0 ? 0 : b > len - 1 ? len - 1 : b;
            e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
            shape[d] = b > e ? (b - e + (-s) - 1) / (-s) : 0;
        }
        lo[d] = b, step[d] = s;
    }
    ox_tensor_new(X, out, data->is_int, data->ndim, shape);
    for (int64_t k = 0; k < out->n; k++) {
        int64_t rem = k, from = 0, stride = 1;
        for (int d = data->ndim - 1; d >= 0; d--) {
            int64_t c = rem % shape[d];
            rem /= shape[d];
            from += (lo[d] + c * step[d]) * stride;
            stride *= data->shape[d];
        }
        if (out->is_int)
            out->i[k] = data->i[from];
        else
            out->f[k] = data->f[from];
    }
}

int ox_reshape_sizes(Ox *X, int nd, const int64_t *in, const OxTensor *spec, int allowzero, int64_t *out) {
    if (!spec->is_int || spec->ndim != 1) ox_fail(X, "the shape must be a 1-d integer tensor");
    if (spec->n > NC_MAXDIM) ox_fail(X, "a shape of %lld dimensions (at most %d)", (long long)spec->n, NC_MAXDIM);
    int64_t total = 1, known = 1;
    int infer = -1;
    for (int d = 0; d < nd; d++) total *= in[d];
    for (int d = 0; d < spec->n; d++) {
        int64_t v = spec->i[d];
        if (v == 0 && !allowzero) {
            if (d >= nd) ox_fail(X, "shape entry %d is 0 (copy) but the input has %d dimensions", d, nd);
            v = in[d];
        }
        if (v == -1) {
            if (infer >= 0) ox_fail(X, "the shape has two -1 entries");
            infer = d;
            v = 1;
        } else if (v < 0 || v > NC_MAX_NUMEL) {
            ox_fail(X, "shape entry %lld is not a size", (long long)spec->i[d]);
        }
        out[d] = v;
        if (v && known > NC_MAX_NUMEL / v) ox_fail(X, "the shape is too large");
        known *= v;
    }
    if (infer >= 0) {
        if (!known || total % known) ox_fail(X, "cannot infer the -1 of the shape");
        out[infer] = total / known;
        known = total;
    }
    if (known != total) ox_fail(X, "cannot reshape %lld elements into %lld", (long long)total, (long long)known);
    return (int)spec->n;
}

void ox_fold_transpose(Ox *X, const OxTensor *a, const int *perm, OxTensor *out) {
    int64_t shape[NC_MAXDIM], stride[NC_MAXDIM], s = 1;
    for (int d = a->ndim - 1; d >= 0; d--) stride[d] = s, s *= a->shape[d];
    for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[perm[d]];
    ox_tensor_new(X, out, a->is_int, a->ndim, shape);
    for (int64_t k = 0; k < out->n; k++) {
        int64_t rem = k, from = 0;
        for (int d = a->ndim - 1; d >= 0; d--) {
            from += (rem % shape[d]) * stride[perm[d]];
            rem /= shape[d];
        }
        if (out->is_int)
            out->i[k] = a->i[from];
        else
            out->f[k] = a->f[from];
    }
}

void ox_fold_unary(Ox *X, OxUnary op, const OxTensor *a, OxTensor *out) {
    ox_tensor_new(X, out, a->is_int, a->ndim, a->shape);
    for (int64_t k = 0; k < a->n; k++) {
        if (a->is_int) {
            int64_t v = a->i[k];
            if (op == OX_NEG && v == INT64_MIN) ox_fail(X, "integer overflow in constant arithmetic");
            out->i[k] = op == OX_NEG ? -v : v; /* ceil and floor of an integer are itself */
        } else {
            float v = a->f[k];
            out->f[k] = op == OX_CEIL ? ceilf(v) : op == OX_FLOOR ? floorf(v) : -v;
        }
    }
}

void ox_fold_clip(Ox *X, const OxTensor *a, double lo, double hi, OxTensor *out) {
    ox_tensor_new(X, out, a->is_int, a->ndim, a->shape);
    for (int64_t k = 0; k < a->n; k++) {
        double v = get(a, k);
        v = v < lo ? lo : v > hi ? hi : v;
        if (a->is_int)
            out->i[k] = to_i64(X, v);
        else
            out->f[k] = (float)v;
    }
}
