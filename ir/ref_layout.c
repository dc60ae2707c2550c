/* ref_layout.c — activation layouts for the reference kernels.
 *
 * A 4-D value keeps its logical shape [N, C, H, W] whatever its layout; with
 * NC_LAYOUT_NHWC its bytes are ordered [N, H, W, C].  The relayout op copies
 * a value into the other order; nc_ref_run lets every other reference
 * kernel, written for NCHW, run on NHWC operands by converting them into
 * temporaries first (and its NHWC outputs back after). */
#include <string.h>

#include "ir/ops.h"

/* dst = src permuted: to_nhwc ? NCHW -> NHWC : NHWC -> NCHW */
static void permute(const NcValue *v, const float *src, float *dst, int to_nhwc) {
    const int64_t N = v->shape[0], C = v->shape[1], HW = v->shape[2] * v->shape[3];
    for (int64_t n = 0; n < N; n++) {
        const float *s = src + n * C * HW;
        float *d = dst + n * C * HW;
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < HW; p++) {
                if (to_nhwc)
                    d[p * C + c] = s[c * HW + p];
                else
                    d[c * HW + p] = s[p * C + c];
            }
    }
}

void nc_ref_relayout(const NcKernelArgs *k) {
    const NcValue *x = k->in_v[0], *y = k->out_v[0];
    const size_t bytes = (size_t)nc_numel(x) * sizeof(float);
    if (nc_is_nhwc(x) == nc_is_nhwc(y)) {
        if (k->out[0] != k->in[0]) memmove(k->out[0], k->in[0], bytes);
        return;
    }
    permute(x, k->in[0], k->out[0], nc_is_nhwc(y));
}

void nc_ref_run(const NcKernelArgs *k) {
    const NcNode *n = k->node;
    const NcOpInfo *info = nc_op_info(n->op);
    int any = 0;
    for (int j = 0; j < n->ninputs; j++) any |= nc_is_nhwc(k->in_v[j]);
    for (int j = 0; j < n->noutputs; j++) any |= nc_is_nhwc(k->out_v[j]);
    if (n->op == NC_OP_RELAYOUT || !any) {
        info->ref(k);
        return;
    }
    /* the same node on NCHW copies of its NHWC operands */
    NcKernelArgs c = *k;
    NcValue vin[NC_MAXIN], vout[NC_MAXOUT];
    float *tin[NC_MAXIN] = {0}, *tout[NC_MAXOUT] = {0};
    for (int j = 0; j < n->ninputs; j++) {
        if (!nc_is_nhwc(k->in_v[j])) continue;
        vin[j] = *k->in_v[j], vin[j].layout = NC_LAYOUT_NCHW;
        tin[j] = nc_malloc((size_t)nc_numel(&vin[j]) * sizeof(float));
        permute(&vin[j], k->in[j], tin[j], 0);
        c.in_v[j] = &vin[j], c.in[j] = tin[j];
    }
    for (int j = 0; j < n->noutputs; j++) {
        if (!nc_is_nhwc(k->out_v[j])) continue;
        vout[j] = *k->out_v[j], vout[j].layout = NC_LAYOUT_NCHW;
        tout[j] = nc_malloc((size_t)nc_numel(&vout[j]) * sizeof(float));
        c.out_v[j] = &vout[j], c.out[j] = tout[j];
    }
    info->ref(&c);
    for (int j = 0; j < n->noutputs; j++)
        if (tout[j]) permute(&vout[j], tout[j], k->out[j], 1), free(tout[j]);
    for (int j = 0; j < n->ninputs; j++) free(tin[j]);
}
