/* cu_softmax.c — softmax along an inner axis, softmax's gradient. */
#include <math.h>

#include "codegen/cuda/cu_softmax.h"

/* --- softmax along an inner axis: one thread per (outer, inner) ------------ */

static void softmax_axis_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuSoftmaxAxis *s = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, s->outer * s->inner, &in), j;
    LLVMValueRef base = nc_cu_mad(k, nc_cu_divc(k, i, s->inner), s->len * s->inner, nc_cu_remc(k, i, s->inner));
    LLVMValueRef mx = nc_cu_var(k, -INFINITY), se = nc_cu_var(k, 0);
    CgbLoop l1 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, s->len), 1, &j);
    nc_cu_set(k, mx, nc_cu_max(k, nc_cu_get(k, mx), nc_cu_load(k, k->params[0], nc_cu_mad(k, j, s->inner, base))));
    nc_cu_loop_end(k, &l1);
    LLVMValueRef m = nc_cu_get(k, mx);
    CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, s->len), 1, &j);
    LLVMValueRef v = nc_cu_load(k, k->params[0], nc_cu_mad(k, j, s->inner, base));
    nc_cu_set(k, se, nc_cu_fadd(k, nc_cu_get(k, se), nc_cu_exp(k, LLVMBuildFSub(b, v, m, ""))));
    nc_cu_loop_end(k, &l2);
    LLVMValueRef inv = LLVMBuildFDiv(b, nc_cu_f32(k, 1), nc_cu_get(k, se), "");
    CgbLoop l3 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, s->len), 1, &j);
    LLVMValueRef at = nc_cu_mad(k, j, s->inner, base);
    LLVMValueRef e = nc_cu_exp(k, LLVMBuildFSub(b, nc_cu_load(k, k->params[0], at), m, ""));
    nc_cu_store(k, nc_cu_fmul(k, e, inv), k->params[1], at);
    nc_cu_loop_end(k, &l3);
    nc_cu_if_end(k, &in);
}

void nc_cu_softmax_axis_desc(NcCuDesc *d, const char *name, const NcCuSoftmaxAxis *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(k->outer * k->inner),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = softmax_axis_body,
                    .ctx = k};
}

/* --- softmax gradient ------------------------------------------------------ */

static void softmax_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuSoftmaxGrad *s = ctx;
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef j;
    if (s->inner > 1) { /* one thread per (outer, inner): two passes along the axis */
        CgbIf in;
        LLVMValueRef i = nc_cu_ew_index(k, s->outer * s->inner, &in);
        LLVMValueRef base = nc_cu_mad(k, nc_cu_divc(k, i, s->inner), s->len * s->inner, nc_cu_remc(k, i, s->inner));
        LLVMValueRef dot = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, s->len), 1, &j);
        LLVMValueRef at = nc_cu_mad(k, j, s->inner, base);
        nc_cu_set(k, dot,
                  nc_cu_fadd(k, nc_cu_get(k, dot),
                             nc_cu_fmul(k, nc_cu_load(k, k->params[0], at), nc_cu_load(k, k->params[2], at))));
        nc_cu_loop_end(k, &l);
        LLVMValueRef dv = nc_cu_get(k, dot);
        CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, s->len), 1, &j);
        at = nc_cu_mad(k, j, s->inner, base);
        LLVMValueRef g = LLVMBuildFSub(b, nc_cu_load(k, k->params[0], at), dv, "");
        nc_cu_store(k, nc_cu_fmul(k, nc_cu_load(k, k->params[2], at), g), k->params[1], at);
        nc_cu_loop_end(k, &l2);
        nc_cu_if_end(k, &in);
        return;
    }
    const int64_t B = nc_cu_red_block(s->len);
    const int L = nc_cu_red_levels(B);
    LLVMValueRef row = nc_cu_mulc(k, k->bid, s->len);
    if (phase == 0) {
        LLVMValueRef dot = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, s->len), B, &j);
        LLVMValueRef at = nc_cu_add(k, row, j);
        nc_cu_set(k, dot,
                  nc_cu_fadd(k, nc_cu_get(k, dot),
                             nc_cu_fmul(k, nc_cu_load(k, k->params[0], at), nc_cu_load(k, k->params[2], at))));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v = nc_cu_get(k, dot);
        nc_cu_red_put(k, B, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, B);
    else {
        LLVMValueRef dv = nc_cu_red_result(k, B, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, s->len), B, &j);
        LLVMValueRef at = nc_cu_add(k, row, j);
        LLVMValueRef g = LLVMBuildFSub(b, nc_cu_load(k, k->params[0], at), dv, "");
        nc_cu_store(k, nc_cu_fmul(k, nc_cu_load(k, k->params[2], at), g), k->params[1], at);
        nc_cu_loop_end(k, &l);
    }
}

void nc_cu_softmax_grad_desc(NcCuDesc *d, const char *name, const NcCuSoftmaxGrad *k) {
    *d = (NcCuDesc){.name = name, .nparams = 3, .nphases = 1, .body = softmax_grad_body, .ctx = k};
    if (k->inner > 1)
        d->grid = nc_cu_ew_grid(k->outer * k->inner), d->block = NC_CU_EW_BLOCK;
    else {
        const int64_t B = nc_cu_red_block(k->len);
        d->grid = k->outer, d->block = B, d->smem_floats = B + 1, d->nphases = 2 + nc_cu_red_levels(B);
    }
}
