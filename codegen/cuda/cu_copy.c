/* cu_copy.c — the strided copy and the relayouts built on it. */
#include <string.h>

#include "codegen/cuda/cu_copy.h"

static int64_t box_numel(const NcCuCopy *c) {
    int64_t n = 1;
    for (int d = 0; d < c->nd; d++) n *= c->dims[d];
    return n;
}

static void copy_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuCopy *c = ctx;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, box_numel(c), &in), idx[NC_CU_COPY_MAXDIM];
    nc_cu_unflatten(k, i, c->nd, c->dims, idx);
    LLVMValueRef src = nc_cu_i64(k, c->src_off), dst = nc_cu_i64(k, c->dst_off);
    for (int d = 0; d < c->nd; d++) {
        if (c->src_stride[d]) src = nc_cu_mad(k, idx[d], c->src_stride[d], src);
        if (c->dst_stride[d]) dst = nc_cu_mad(k, idx[d], c->dst_stride[d], dst);
    }
    LLVMValueRef v = nc_cu_load(k, k->params[0], src);
    if (c->scale != 1.0f) v = nc_cu_fmul(k, v, nc_cu_f32(k, c->scale));
    nc_cu_store(k, v, k->params[1], dst);
    nc_cu_if_end(k, &in);
}

void nc_cu_copy_desc(NcCuDesc *d, const char *name, const NcCuCopy *k) {
    NC_CHECK(k->nd >= 1 && k->nd <= NC_CU_COPY_MAXDIM);
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(box_numel(k)),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = copy_body,
                    .ctx = k};
}

/* Dense row-major strides of shape, with axis `axis` counted as len long. */
static int64_t dense(int nd, const int64_t *shape, int axis, int64_t len, int64_t *stride) {
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) stride[d] = s, s *= d == axis ? len : shape[d];
    return s;
}

void nc_cu_copy_slice(NcCuCopy *c, int nd, const int64_t *shape, int axis, int64_t big_len, int64_t off, int to_big) {
    memset(c, 0, sizeof *c);
    c->nd = nd, c->scale = 1.0f;
    memcpy(c->dims, shape, (size_t)nd * sizeof *shape);
    int64_t small[NC_CU_COPY_MAXDIM], big[NC_CU_COPY_MAXDIM];
    dense(nd, shape, -1, 0, small);
    dense(nd, shape, axis, big_len, big);
    memcpy(to_big ? c->src_stride : c->dst_stride, small, sizeof small);
    memcpy(to_big ? c->dst_stride : c->src_stride, big, sizeof big);
    *(to_big ? &c->dst_off : &c->src_off) = off * big[axis];
}

void nc_cu_copy_transpose(NcCuCopy *c, int nd, const int64_t *shape, const int64_t *perm) {
    memset(c, 0, sizeof *c);
    c->nd = nd, c->scale = 1.0f;
    int64_t xs[NC_CU_COPY_MAXDIM];
    dense(nd, shape, -1, 0, xs);
    for (int d = 0; d < nd; d++) c->dims[d] = shape[perm[d]], c->src_stride[d] = xs[perm[d]];
    dense(nd, c->dims, -1, 0, c->dst_stride);
}

void nc_cu_copy_broadcast(NcCuCopy *c, int64_t rows, int64_t len, float scale) {
    memset(c, 0, sizeof *c);
    c->nd = 2, c->scale = scale;
    c->dims[0] = rows, c->dims[1] = len;
    c->src_stride[0] = 1, c->src_stride[1] = 0;
    c->dst_stride[0] = len, c->dst_stride[1] = 1;
}
