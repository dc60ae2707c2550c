/* cu_loss.c — cross-entropy on soft targets and its gradient. */
#include <math.h>

#include "codegen/cuda/cu_loss.h"

#define CE_BLOCK 128

/* --- forward: one block, a row per thread at a time ------------------------ */

static void ce_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuCrossEntropy *c = ctx;
    LLVMBuilderRef b = k->m->b;
    const int L = nc_cu_red_levels(CE_BLOCK);
    if (phase == 0) {
        LLVMValueRef total = nc_cu_var(k, 0), r, j;
        CgbLoop rows = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->n), CE_BLOCK, &r);
        LLVMValueRef row = nc_cu_mulc(k, r, c->k);
        LLVMValueRef mx = nc_cu_var(k, -INFINITY), se = nc_cu_var(k, 0), st = nc_cu_var(k, 0), stz = nc_cu_var(k, 0);
        CgbLoop l1 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
        nc_cu_set(k, mx, nc_cu_max(k, nc_cu_get(k, mx), nc_cu_load(k, k->params[0], nc_cu_add(k, row, j))));
        nc_cu_loop_end(k, &l1);
        LLVMValueRef m = nc_cu_get(k, mx);
        CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
        LLVMValueRef z = nc_cu_load(k, k->params[0], nc_cu_add(k, row, j)),
                     t = nc_cu_load(k, k->params[2], nc_cu_add(k, row, j));
        LLVMValueRef zm = LLVMBuildFSub(b, z, m, "");
        nc_cu_set(k, se, nc_cu_fadd(k, nc_cu_get(k, se), nc_cu_exp(k, zm)));
        nc_cu_set(k, st, nc_cu_fadd(k, nc_cu_get(k, st), t));
        nc_cu_set(k, stz, nc_cu_fadd(k, nc_cu_get(k, stz), nc_cu_fmul(k, t, zm)));
        nc_cu_loop_end(k, &l2);
        /* sum_k -t (z - m - log s) = log(s) sum t - sum t (z - m) */
        LLVMValueRef loss =
            LLVMBuildFSub(b, nc_cu_fmul(k, nc_cu_log(k, nc_cu_get(k, se)), nc_cu_get(k, st)), nc_cu_get(k, stz), "");
        nc_cu_set(k, total, nc_cu_fadd(k, nc_cu_get(k, total), loss));
        nc_cu_loop_end(k, &rows);
        LLVMValueRef v = nc_cu_get(k, total);
        nc_cu_red_put(k, CE_BLOCK, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, CE_BLOCK, 1, phase - 1, 0, CE_BLOCK);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef mean = nc_cu_fmul(k, nc_cu_red_result(k, CE_BLOCK, 0), nc_cu_f32(k, 1.0 / (double)c->n));
        nc_cu_store(k, mean, k->params[1], nc_cu_i64(k, 0));
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_cross_entropy_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = 1,
                    .block = CE_BLOCK,
                    .smem_floats = CE_BLOCK + 1,
                    .nphases = 2 + nc_cu_red_levels(CE_BLOCK),
                    .body = ce_body,
                    .ctx = k};
}

/* --- gradient: a block per row -------------------------------------------- */

/* Phases: 0 max partials; 1..L tree (smem[2B]); L+1 partials of sum exp(z -
 * max) and sum t; L+2..2L+1 both trees (smem[2B + 1], smem[2B + 2]); 2L+2
 * dz. */
static void ce_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuCrossEntropy *c = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t B = nc_cu_red_block(c->k), out = 2 * B;
    const int L = nc_cu_red_levels(B);
    LLVMValueRef row = nc_cu_mulc(k, k->bid, c->k), j;
    if (phase == 0) {
        LLVMValueRef mx = nc_cu_var(k, -INFINITY);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->k), B, &j);
        nc_cu_set(k, mx, nc_cu_max(k, nc_cu_get(k, mx), nc_cu_load(k, k->params[2], nc_cu_add(k, row, j))));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v = nc_cu_get(k, mx);
        nc_cu_red_put(k, B, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 1, out);
    else if (phase == L + 1) {
        LLVMValueRef m = nc_cu_red_result(k, out, 0), se = nc_cu_var(k, 0), st = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->k), B, &j);
        LLVMValueRef z = nc_cu_load(k, k->params[2], nc_cu_add(k, row, j));
        nc_cu_set(k, se, nc_cu_fadd(k, nc_cu_get(k, se), nc_cu_exp(k, LLVMBuildFSub(b, z, m, ""))));
        nc_cu_set(k, st, nc_cu_fadd(k, nc_cu_get(k, st), nc_cu_load(k, k->params[3], nc_cu_add(k, row, j))));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v[2] = {nc_cu_get(k, se), nc_cu_get(k, st)};
        nc_cu_red_put(k, B, 2, v);
    } else if (phase <= 2 * L + 1)
        nc_cu_red_level(k, B, 2, phase - L - 2, 0, out + 1);
    else {
        LLVMValueRef m = nc_cu_red_result(k, out, 0);
        /* scale = dloss / N; p = exp(z - m) / s */
        LLVMValueRef scale =
            nc_cu_fmul(k, nc_cu_load(k, k->params[0], nc_cu_i64(k, 0)), nc_cu_f32(k, 1.0 / (double)c->n));
        LLVMValueRef inv = LLVMBuildFDiv(b, nc_cu_f32(k, 1), nc_cu_red_result(k, out, 1), "");
        LLVMValueRef st = nc_cu_red_result(k, out, 2);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->k), B, &j);
        LLVMValueRef at = nc_cu_add(k, row, j);
        LLVMValueRef p = nc_cu_fmul(k, nc_cu_exp(k, LLVMBuildFSub(b, nc_cu_load(k, k->params[2], at), m, "")), inv);
        LLVMValueRef g = LLVMBuildFSub(b, nc_cu_fmul(k, p, st), nc_cu_load(k, k->params[3], at), "");
        nc_cu_store(k, nc_cu_fmul(k, g, scale), k->params[1], at);
        nc_cu_loop_end(k, &l);
    }
}

void nc_cu_cross_entropy_grad_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k) {
    const int64_t B = nc_cu_red_block(k->k);
    *d = (NcCuDesc){.name = name,
                    .nparams = 4,
                    .grid = k->n,
                    .block = B,
                    .smem_floats = 2 * B + 3,
                    .nphases = 3 + 2 * nc_cu_red_levels(B),
                    .body = ce_grad_body,
                    .ctx = k};
}
