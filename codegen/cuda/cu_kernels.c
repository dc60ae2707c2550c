/* cu_kernels.c — elementwise chains, row mean (global average pool), softmax. */
#include <math.h>

#include "codegen/cuda/cu_kernels.h"

#define EW_BLOCK   256
#define ROW_BLOCK  128 /* a power of two: the tree halves it */
#define ROW_LEVELS 7   /* log2(ROW_BLOCK) */

/* --- elementwise chain: one thread per element -------------------------- */

LLVMValueRef nc_cu_ew_step(NcCuBuilder *k, const NcCuEwStep *s, LLVMValueRef v, LLVMValueRef i, LLVMValueRef ch,
                           LLVMValueRef nch) {
    LLVMBuilderRef b = k->m->b;
    switch (s->kind) {
    case NC_CU_EW_SCALE_SHIFT:
        return LLVMBuildFAdd(b, LLVMBuildFMul(b, v, nc_cu_load(k, k->params[s->a], ch), ""),
                             nc_cu_load(k, k->params[s->b], ch), "");
    case NC_CU_EW_RELU: /* x < 0 ? 0 : x, so that NaN comes through as in the reference */
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, nc_cu_f32(k, 0), ""), nc_cu_f32(k, 0), v, "");
    case NC_CU_EW_CLAMP: {
        LLVMValueRef lo = nc_cu_f32(k, s->lo), hi = nc_cu_f32(k, s->hi);
        v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, hi, ""), hi, v, "");
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, lo, ""), lo, v, "");
    }
    case NC_CU_EW_SILU:
    case NC_CU_EW_SIGMOID: {
        LLVMValueRef den = LLVMBuildFAdd(b, nc_cu_f32(k, 1), nc_cu_exp(k, LLVMBuildFNeg(b, v, "")), "");
        return LLVMBuildFDiv(b, s->kind == NC_CU_EW_SILU ? v : nc_cu_f32(k, 1), den, "");
    }
    case NC_CU_EW_ADD: return LLVMBuildFAdd(b, v, nc_cu_load(k, k->params[s->a], i), "");
    case NC_CU_EW_BIAS: return LLVMBuildFAdd(b, v, nc_cu_load(k, k->params[s->a], ch), "");
    case NC_CU_EW_MUL: return LLVMBuildFMul(b, v, nc_cu_load(k, k->params[s->a], i), "");
    case NC_CU_EW_CHANNEL_MUL: return LLVMBuildFMul(b, v, nc_cu_load(k, k->params[s->a], nch), "");
    case NC_CU_EW_CHANNEL_MUL_SIGMOID: {
        LLVMValueRef z = nc_cu_load(k, k->params[s->a], nch);
        LLVMValueRef den = LLVMBuildFAdd(b, nc_cu_f32(k, 1), nc_cu_exp(k, LLVMBuildFNeg(b, z, "")), "");
        return LLVMBuildFDiv(b, v, den, "");
    }
    }
    return v;
}

static void ew_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuEltwise *e = ctx;
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef i = LLVMBuildAdd(b, LLVMBuildMul(b, k->bid, nc_cu_i64(k, EW_BLOCK), ""), k->tid, "");
    CgbIf in = nc_cu_if_begin(k, LLVMBuildICmp(b, LLVMIntSLT, i, nc_cu_i64(k, e->n * e->c * e->hw), ""));
    LLVMValueRef nch = LLVMBuildSDiv(b, i, nc_cu_i64(k, e->hw), "");
    LLVMValueRef ch = LLVMBuildSRem(b, nch, nc_cu_i64(k, e->c), "");
    LLVMValueRef v = nc_cu_load(k, k->params[0], i);
    for (int s = 0; s < e->nsteps; s++) v = nc_cu_ew_step(k, &e->step[s], v, i, ch, nch);
    nc_cu_store(k, v, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_eltwise_desc(NcCuDesc *d, const char *name, const NcCuEltwise *k) {
    const int64_t total = k->n * k->c * k->hw;
    *d = (NcCuDesc){.name = name,
                    .nparams = k->nparams,
                    .grid = (total + EW_BLOCK - 1) / EW_BLOCK,
                    .block = EW_BLOCK,
                    .nphases = 1,
                    .body = ew_body,
                    .ctx = k};
}

/* --- row reductions: partials, then a tree in shared memory -------------- */

typedef enum { RED_SUM, RED_MAX } RedOp;

static LLVMValueRef red(NcCuBuilder *k, RedOp op, LLVMValueRef a, LLVMValueRef b) {
    return op == RED_MAX ? nc_cu_max(k, a, b) : LLVMBuildFAdd(k->m->b, a, b, "");
}

/* smem[tid] = op over x[row, tid::block] of f(x) (f: identity, or exp(x - m)
 * with m = smem[ROW_BLOCK], the max found by the phases before). */
static void partial(NcCuBuilder *k, RedOp op, int exp_minus_max, int64_t len) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef acc = nc_cu_var(k, op == RED_MAX ? -INFINITY : 0.0);
    LLVMValueRef x = cgb_gep(k->m, k->params[0], LLVMBuildMul(b, k->bid, nc_cu_i64(k, len), ""));
    LLVMValueRef mx = exp_minus_max ? nc_cu_load(k, k->smem, nc_cu_i64(k, ROW_BLOCK)) : NULL;
    LLVMValueRef j;
    CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, len), ROW_BLOCK, &j);
    LLVMValueRef v = nc_cu_load(k, x, j);
    if (mx) v = nc_cu_exp(k, LLVMBuildFSub(b, v, mx, ""));
    LLVMBuildStore(b, red(k, op, LLVMBuildLoad2(b, k->m->f32, acc, ""), v), acc);
    nc_cu_loop_end(k, &l);
    nc_cu_store(k, LLVMBuildLoad2(b, k->m->f32, acc, ""), k->smem, k->tid);
}

/* Tree level `level` (0 first): threads below s = ROW_BLOCK >> (level + 1)
 * fold smem[tid + s] into smem[tid]; at the last level thread 0 writes the
 * result to smem[slot] (slots past the scratch, so that the next phase's
 * partials do not overwrite it). */
static void tree(NcCuBuilder *k, RedOp op, int level, int64_t slot) {
    LLVMBuilderRef b = k->m->b;
    const int64_t s = ROW_BLOCK >> (level + 1);
    CgbIf c = nc_cu_if_begin(k, LLVMBuildICmp(b, LLVMIntSLT, k->tid, nc_cu_i64(k, s), ""));
    LLVMValueRef v = red(k, op, nc_cu_load(k, k->smem, k->tid),
                         nc_cu_load(k, k->smem, LLVMBuildAdd(b, k->tid, nc_cu_i64(k, s), "")));
    nc_cu_store(k, v, k->smem, s == 1 ? nc_cu_i64(k, slot) : k->tid);
    nc_cu_if_end(k, &c);
}

static void row_mean_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuRowMean *r = ctx;
    if (phase == 0) {
        partial(k, RED_SUM, 0, r->len);
        return;
    }
    tree(k, RED_SUM, phase - 1, ROW_BLOCK);
    if (phase == ROW_LEVELS) { /* thread 0 wrote the sum: the mean out */
        LLVMBuilderRef b = k->m->b;
        CgbIf c = nc_cu_if_begin(k, LLVMBuildICmp(b, LLVMIntEQ, k->tid, nc_cu_i64(k, 0), ""));
        LLVMValueRef sum = nc_cu_load(k, k->smem, nc_cu_i64(k, ROW_BLOCK));
        nc_cu_store(k, LLVMBuildFMul(b, sum, nc_cu_f32(k, 1.0 / (double)r->len), ""), k->params[1], k->bid);
        nc_cu_if_end(k, &c);
    }
}

void nc_cu_row_mean_desc(NcCuDesc *d, const char *name, const NcCuRowMean *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = k->rows,
                    .block = ROW_BLOCK,
                    .smem_floats = ROW_BLOCK + 1,
                    .nphases = 1 + ROW_LEVELS,
                    .body = row_mean_body,
                    .ctx = k};
}

/* Phases: 0 max partials; 1..L tree (max into smem[B]); L+1 sum-of-exp
 * partials; L+2..2L+1 tree (sum into smem[B+1]); 2L+2 the output. */
static void softmax_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuSoftmax *r = ctx;
    LLVMBuilderRef b = k->m->b;
    const int L = ROW_LEVELS;
    if (phase <= 2 * L + 1) {
        if (phase == 0 || phase == L + 1)
            partial(k, phase ? RED_SUM : RED_MAX, phase != 0, r->len);
        else
            tree(k, phase <= L ? RED_MAX : RED_SUM, phase <= L ? phase - 1 : phase - L - 2,
                 phase <= L ? ROW_BLOCK : ROW_BLOCK + 1);
        return;
    }
    LLVMValueRef mx = nc_cu_load(k, k->smem, nc_cu_i64(k, ROW_BLOCK));
    LLVMValueRef inv = LLVMBuildFDiv(b, nc_cu_f32(k, 1), nc_cu_load(k, k->smem, nc_cu_i64(k, ROW_BLOCK + 1)), "");
    LLVMValueRef off = LLVMBuildMul(b, k->bid, nc_cu_i64(k, r->len), "");
    LLVMValueRef x = cgb_gep(k->m, k->params[0], off), y = cgb_gep(k->m, k->params[1], off), j;
    CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, r->len), ROW_BLOCK, &j);
    nc_cu_store(k, LLVMBuildFMul(b, nc_cu_exp(k, LLVMBuildFSub(b, nc_cu_load(k, x, j), mx, "")), inv, ""), y, j);
    nc_cu_loop_end(k, &l);
}

void nc_cu_softmax_desc(NcCuDesc *d, const char *name, const NcCuSoftmax *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = k->rows,
                    .block = ROW_BLOCK,
                    .smem_floats = ROW_BLOCK + 2,
                    .nphases = 2 * ROW_LEVELS + 3,
                    .body = softmax_body,
                    .ctx = k};
}
