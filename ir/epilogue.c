/* epilogue.c — the elementwise steps a fusion pass attaches to a conv or
 * linear node, and their reference application: after the whole output is
 * computed, each element goes through the steps in order.  (A fast kernel
 * applies them in registers before the store; this is what it is checked
 * against.) */
#include <math.h>

#include "ir/ops.h"

const char *nc_epi_name(NcEpiKind kind) {
    static const char *names[] = {"relu", "clamp", "silu", "sigmoid", "add", "mul"};
    return names[kind];
}

int nc_epilogue_check(const NcValue *const *in, int nin, const NcAttrs *a, int first_extra, int out_ndim,
                      const int64_t *out_shape, NcError *e) {
    if (a->nepi < 0 || a->nepi > NC_MAX_EPI) return nc_errorf(e, "%d epilogue steps (at most %d)", a->nepi, NC_MAX_EPI);
    int extra = 0;
    for (int s = 0; s < a->nepi; s++) {
        const NcEpilogue *ep = &a->epi[s];
        if (ep->kind < NC_EPI_RELU || ep->kind > NC_EPI_MUL) return nc_errorf(e, "unknown epilogue step %d", ep->kind);
        if (ep->kind != NC_EPI_ADD && ep->kind != NC_EPI_MUL) continue;
        extra++;
        if (ep->input < first_extra || ep->input >= nin)
            return nc_errorf(e, "epilogue step %s reads input %d of %d", nc_epi_name(ep->kind), ep->input, nin);
        const NcValue *v = in[ep->input];
        if (v->ndim != out_ndim)
            return nc_errorf(e, "epilogue input %d has rank %d, output %d", ep->input, v->ndim, out_ndim);
        for (int d = 0; d < out_ndim; d++)
            if (v->shape[d] != out_shape[d] && v->shape[d] != 1)
                return nc_errorf(e, "epilogue input %d does not broadcast to the output", ep->input);
    }
    if (nin != first_extra + extra)
        return nc_errorf(e, "node has %d inputs, its epilogue uses %d", nin, first_extra + extra);
    return 0;
}

void nc_epilogue_apply(const NcKernelArgs *k) {
    const NcAttrs *a = &k->node->attrs;
    if (!a->nepi) return;
    const NcValue *ov = k->out_v[0];
    const int nd = ov->ndim;
    const int64_t total = nc_numel(ov);
    int64_t st[NC_MAX_EPI][NC_MAXDIM];
    for (int s = 0; s < a->nepi; s++) {
        if (a->epi[s].kind != NC_EPI_ADD && a->epi[s].kind != NC_EPI_MUL) continue;
        const NcValue *v = k->in_v[a->epi[s].input];
        int64_t stride = 1;
        for (int d = nd - 1; d >= 0; d--) {
            st[s][d] = v->shape[d] == 1 ? 0 : stride;
            stride *= v->shape[d];
        }
    }
    float *y = k->out[0];
#pragma omp parallel for
    for (int64_t i = 0; i < total; i++) {
        double x = y[i];
        for (int s = 0; s < a->nepi; s++) {
            const NcEpilogue *ep = &a->epi[s];
            switch (ep->kind) {
            case NC_EPI_RELU: x = x < 0 ? 0 : x; break; /* NaN stays NaN, as in PyTorch */
            case NC_EPI_CLAMP: x = x < ep->lo ? ep->lo : (x > ep->hi ? ep->hi : x); break;
            case NC_EPI_SILU: x = x / (1.0 + exp(-x)); break;
            case NC_EPI_SIGMOID: x = 1.0 / (1.0 + exp(-x)); break;
            case NC_EPI_ADD:
            case NC_EPI_MUL: {
                int64_t rem = i, j = 0;
                for (int d = nd - 1; d >= 0; d--) {
                    j += (rem % ov->shape[d]) * st[s][d];
                    rem /= ov->shape[d];
                }
                /* round like the unfused pair of ops would: each op stores f32 */
                const float other = k->in[ep->input][j];
                x = ep->kind == NC_EPI_ADD ? (double)((float)x + other) : (double)((float)x * other);
                break;
            }
            }
            x = (float)x;
        }
        y[i] = (float)x;
    }
}
