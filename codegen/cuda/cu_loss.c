/* cu_loss.c — cross-entropy (soft, weighted, focal) and its gradient. */
#include <math.h>

#include "codegen/cuda/cu_loss.h"

#define CE_BLOCK 128

static int soft(const NcCuCrossEntropy *c) {
    return c->loss == NC_LOSS_SOFT || (c->loss == NC_LOSS_FOCAL && c->gamma == 0);
}

/* --- one row, by one thread ------------------------------------------------ */

typedef struct {
    LLVMValueRef row, m, ls; /* the row's offset, max, log of sum exp(z - max) */
} Row;

/* max and log-sum-exp of row r (logits in params[zp]) */
static Row row_stats(NcCuBuilder *k, const NcCuCrossEntropy *c, int zp, LLVMValueRef r) {
    LLVMBuilderRef b = k->m->b;
    Row w;
    w.row = nc_cu_mulc(k, r, c->k);
    LLVMValueRef mx = nc_cu_var(k, -INFINITY), se = nc_cu_var(k, 0), j;
    CgbLoop l1 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
    nc_cu_set(k, mx, nc_cu_max(k, nc_cu_get(k, mx), nc_cu_load(k, k->params[zp], nc_cu_add(k, w.row, j))));
    nc_cu_loop_end(k, &l1);
    w.m = nc_cu_get(k, mx);
    CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
    LLVMValueRef z = nc_cu_load(k, k->params[zp], nc_cu_add(k, w.row, j));
    nc_cu_set(k, se, nc_cu_fadd(k, nc_cu_get(k, se), nc_cu_exp(k, LLVMBuildFSub(b, z, w.m, ""))));
    nc_cu_loop_end(k, &l2);
    w.ls = nc_cu_log(k, nc_cu_get(k, se));
    return w;
}

/* log p_j = z_j - max - log s */
static LLVMValueRef logp(NcCuBuilder *k, const Row *w, int zp, LLVMValueRef j) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef z = nc_cu_load(k, k->params[zp], nc_cu_add(k, w->row, j));
    return LLVMBuildFSub(b, LLVMBuildFSub(b, z, w->m, ""), w->ls, "");
}

/* The label of a one-hot row: its first maximum. */
static LLVMValueRef row_label(NcCuBuilder *k, const NcCuCrossEntropy *c, int tp, LLVMValueRef row) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef best = nc_cu_var(k, -INFINITY), y = nc_cu_ivar(k, 0), j;
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
    LLVMValueRef t = nc_cu_load(k, k->params[tp], nc_cu_add(k, row, j));
    LLVMValueRef gt = LLVMBuildFCmp(b, LLVMRealOGT, t, nc_cu_get(k, best), "");
    nc_cu_set(k, best, LLVMBuildSelect(b, gt, t, nc_cu_get(k, best), ""));
    nc_cu_set(k, y, LLVMBuildSelect(b, gt, j, nc_cu_get(k, y), ""));
    nc_cu_loop_end(k, &l);
    return nc_cu_get(k, y);
}

/* q^gamma for q = 1 - p in [0, 1], gamma > 0: exp(gamma log q), 0 at q = 0. */
static LLVMValueRef powq(NcCuBuilder *k, LLVMValueRef q, double gamma) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef pos = LLVMBuildFCmp(b, LLVMRealOGT, q, nc_cu_f32(k, 0), "");
    LLVMValueRef safe = LLVMBuildSelect(b, pos, q, nc_cu_f32(k, 1), "");
    LLVMValueRef v = nc_cu_exp(k, nc_cu_fmul(k, nc_cu_f32(k, gamma), nc_cu_log(k, safe)));
    return LLVMBuildSelect(b, pos, v, nc_cu_f32(k, 0), "");
}

/* --- forward: one block, a row per thread at a time ------------------------ */

/* Row r's loss numerator and denominator (ref_train.c's row_loss). */
static void row_loss(NcCuBuilder *k, const NcCuCrossEntropy *c, LLVMValueRef r, LLVMValueRef *num, LLVMValueRef *den) {
    LLVMBuilderRef b = k->m->b;
    const Row w = row_stats(k, c, 0, r);
    LLVMValueRef acc = nc_cu_var(k, 0), j;
    *den = nc_cu_f32(k, 1);
    if (c->loss == NC_LOSS_WEIGHTED) { /* (1 - s) w_y (-lp_y) + s / K sum_j w_j (-lp_j) */
        LLVMValueRef y = row_label(k, c, 2, w.row);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
        nc_cu_set(
            k, acc,
            LLVMBuildFSub(b, nc_cu_get(k, acc), nc_cu_fmul(k, nc_cu_load(k, k->params[3], j), logp(k, &w, 0, j)), ""));
        nc_cu_loop_end(k, &l);
        LLVMValueRef wy = nc_cu_load(k, k->params[3], y);
        LLVMValueRef hard = nc_cu_fmul(k, nc_cu_fmul(k, nc_cu_f32(k, 1.0 - (double)c->smoothing), wy),
                                       LLVMBuildFNeg(b, logp(k, &w, 0, y), ""));
        *num = nc_cu_fadd(k, hard, nc_cu_fmul(k, nc_cu_f32(k, (double)c->smoothing / (double)c->k), nc_cu_get(k, acc)));
        *den = wy;
        return;
    }
    /* soft: sum_j -t_j lp_j; focal: sum_j -t_j (1 - p_j)^gamma lp_j */
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
    LLVMValueRef lp = logp(k, &w, 0, j), t = nc_cu_load(k, k->params[2], nc_cu_add(k, w.row, j));
    LLVMValueRef term = nc_cu_fmul(k, t, lp);
    if (!soft(c))
        term = nc_cu_fmul(k, term, powq(k, LLVMBuildFSub(b, nc_cu_f32(k, 1), nc_cu_exp(k, lp), ""), c->gamma));
    nc_cu_set(k, acc, LLVMBuildFSub(b, nc_cu_get(k, acc), term, ""));
    nc_cu_loop_end(k, &l);
    *num = nc_cu_get(k, acc);
}

static void ce_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuCrossEntropy *c = ctx;
    LLVMBuilderRef b = k->m->b;
    const int L = nc_cu_red_levels(CE_BLOCK);
    if (phase == 0) {
        LLVMValueRef tn = nc_cu_var(k, 0), td = nc_cu_var(k, 0), r, num, den;
        CgbLoop rows = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->n), CE_BLOCK, &r);
        row_loss(k, c, r, &num, &den);
        nc_cu_set(k, tn, nc_cu_fadd(k, nc_cu_get(k, tn), num));
        nc_cu_set(k, td, nc_cu_fadd(k, nc_cu_get(k, td), den));
        nc_cu_loop_end(k, &rows);
        LLVMValueRef v[2] = {nc_cu_get(k, tn), nc_cu_get(k, td)};
        nc_cu_red_put(k, CE_BLOCK, 2, v);
    } else if (phase <= L)
        nc_cu_red_level(k, CE_BLOCK, 2, phase - 1, 0, 2 * CE_BLOCK);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef loss =
            LLVMBuildFDiv(b, nc_cu_red_result(k, 2 * CE_BLOCK, 0), nc_cu_red_result(k, 2 * CE_BLOCK, 1), "");
        nc_cu_store(k, loss, k->params[1], nc_cu_i64(k, 0));
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_cross_entropy_desc(NcCuDesc *d, const char *name, const NcCuCrossEntropy *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = k->loss == NC_LOSS_WEIGHTED ? 4 : 3,
                    .grid = 1,
                    .block = CE_BLOCK,
                    .smem_floats = 2 * CE_BLOCK + 2,
                    .nphases = 2 + nc_cu_red_levels(CE_BLOCK),
                    .body = ce_body,
                    .ctx = k};
}

/* --- gradient of the weighted and focal losses: one block, rows by thread -- */

/* Phases: 0 partials of the denominator (weighted: sum of w[label], else N);
 * 1..L tree (smem[B]); L+1 each thread its rows' dz. */
static void ce_grad_rows_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuCrossEntropy *c = ctx;
    LLVMBuilderRef b = k->m->b;
    const int L = nc_cu_red_levels(CE_BLOCK);
    LLVMValueRef r, j;
    if (phase == 0) {
        LLVMValueRef den = nc_cu_var(k, 0);
        CgbLoop rows = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->n), CE_BLOCK, &r);
        LLVMValueRef v = c->loss == NC_LOSS_WEIGHTED
                             ? nc_cu_load(k, k->params[4], row_label(k, c, 3, nc_cu_mulc(k, r, c->k)))
                             : nc_cu_f32(k, 1);
        nc_cu_set(k, den, nc_cu_fadd(k, nc_cu_get(k, den), v));
        nc_cu_loop_end(k, &rows);
        LLVMValueRef v0 = nc_cu_get(k, den);
        nc_cu_red_put(k, CE_BLOCK, 1, &v0);
        return;
    }
    if (phase <= L) {
        nc_cu_red_level(k, CE_BLOCK, 1, phase - 1, 0, CE_BLOCK);
        return;
    }
    LLVMValueRef scale =
        LLVMBuildFDiv(b, nc_cu_load(k, k->params[0], nc_cu_i64(k, 0)), nc_cu_red_result(k, CE_BLOCK, 0), "");
    LLVMValueRef one = nc_cu_f32(k, 1), zero = nc_cu_f32(k, 0), wsum = NULL;
    if (c->loss == NC_LOSS_WEIGHTED) {
        LLVMValueRef ws = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
        nc_cu_set(k, ws, nc_cu_fadd(k, nc_cu_get(k, ws), nc_cu_load(k, k->params[4], j)));
        nc_cu_loop_end(k, &l);
        wsum = nc_cu_get(k, ws);
    }
    CgbLoop rows = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, c->n), CE_BLOCK, &r);
    const Row w = row_stats(k, c, 2, r);
    if (c->loss == NC_LOSS_WEIGHTED) {
        /* (1 - s) w_y (p_i - [i = y]) + s / K (p_i sum_j w_j - w_i) */
        LLVMValueRef y = row_label(k, c, 3, w.row);
        LLVMValueRef hard = nc_cu_fmul(k, nc_cu_f32(k, 1.0 - (double)c->smoothing), nc_cu_load(k, k->params[4], y));
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
        LLVMValueRef p = nc_cu_exp(k, logp(k, &w, 2, j));
        LLVMValueRef py =
            LLVMBuildFSub(b, p, LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, j, y, ""), one, zero, ""), "");
        LLVMValueRef sm = LLVMBuildFSub(b, nc_cu_fmul(k, p, wsum), nc_cu_load(k, k->params[4], j), "");
        LLVMValueRef g = nc_cu_fadd(k, nc_cu_fmul(k, hard, py),
                                    nc_cu_fmul(k, nc_cu_f32(k, (double)c->smoothing / (double)c->k), sm));
        nc_cu_store(k, nc_cu_fmul(k, g, scale), k->params[1], nc_cu_add(k, w.row, j));
        nc_cu_loop_end(k, &l);
    } else {
        /* g_j = gamma q^(gamma-1) p lp - q^gamma (the first term 0 at q = 0);
         * dz_i = t_i g_i - p_i sum_j t_j g_j */
        LLVMValueRef g[2], p[2], tg = nc_cu_var(k, 0);
        CgbLoop ls[2];
        for (int pass = 0; pass < 2; pass++) {
            ls[pass] = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, c->k), 1, &j);
            LLVMValueRef lp = logp(k, &w, 2, j);
            p[pass] = nc_cu_exp(k, lp);
            LLVMValueRef q = LLVMBuildFSub(b, one, p[pass], "");
            LLVMValueRef first = nc_cu_fmul(k, nc_cu_fmul(k, nc_cu_f32(k, c->gamma), powq(k, q, c->gamma - 1.0)),
                                            nc_cu_fmul(k, p[pass], lp));
            first = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, q, zero, ""), zero, first, "");
            g[pass] = LLVMBuildFSub(b, first, powq(k, q, c->gamma), "");
            LLVMValueRef t = nc_cu_load(k, k->params[3], nc_cu_add(k, w.row, j));
            if (pass == 0)
                nc_cu_set(k, tg, nc_cu_fadd(k, nc_cu_get(k, tg), nc_cu_fmul(k, t, g[0])));
            else {
                LLVMValueRef d = LLVMBuildFSub(b, nc_cu_fmul(k, t, g[1]), nc_cu_fmul(k, p[1], nc_cu_get(k, tg)), "");
                nc_cu_store(k, nc_cu_fmul(k, d, scale), k->params[1], nc_cu_add(k, w.row, j));
            }
            nc_cu_loop_end(k, &ls[pass]);
        }
    }
    nc_cu_loop_end(k, &rows);
}

/* --- gradient of the soft loss: a block per row -------------------------------------------- */

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
    if (!soft(k)) {
        *d = (NcCuDesc){.name = name,
                        .nparams = k->loss == NC_LOSS_WEIGHTED ? 5 : 4,
                        .grid = 1,
                        .block = CE_BLOCK,
                        .smem_floats = CE_BLOCK + 1,
                        .nphases = 2 + nc_cu_red_levels(CE_BLOCK),
                        .body = ce_grad_rows_body,
                        .ctx = k};
        return;
    }
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
