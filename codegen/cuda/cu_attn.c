/* cu_attn.c — split attention: radix pooling, radix softmax, the radix-weighted
 * sum, and their gradients; squeeze-excitation's gate. */
#include <math.h>

#include "codegen/cuda/cu_attn.h"

#define MAXRADIX 16

/* --- radix softmax: one thread per (n, card, rest) ----------------------- */

/* The element's per-sample offsets: x[c R rest + r rest + i] (input order),
 * y[r card rest + c rest + i] (radix-major). */
static void radix_offsets(NcCuBuilder *k, const NcCuRadixSoftmax *s, LLVMValueRef i, LLVMValueRef *xo,
                          LLVMValueRef *yo) {
    const int64_t R = s->radix, per = R * s->card * s->rest;
    LLVMValueRef x[3];
    const int64_t dims[3] = {s->n, s->card, s->rest};
    nc_cu_unflatten(k, i, 3, dims, x);
    LLVMValueRef base = nc_cu_mulc(k, x[0], per);
    for (int64_t r = 0; r < R; r++) {
        xo[r] = nc_cu_add(k, base, nc_cu_addc(k, nc_cu_mad(k, x[1], R * s->rest, x[2]), r * s->rest));
        yo[r] = nc_cu_add(k, base, nc_cu_addc(k, nc_cu_mad(k, x[1], s->rest, x[2]), r * s->card * s->rest));
    }
}

static void radix_softmax_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuRadixSoftmax *s = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, s->n * s->card * s->rest, &in);
    LLVMValueRef xo[MAXRADIX], yo[MAXRADIX], v[MAXRADIX];
    radix_offsets(k, s, i, xo, yo);
    const int R = (int)s->radix;
    if (R == 1)
        nc_cu_store(k, nc_cu_sigmoid(k, nc_cu_load(k, k->params[0], xo[0])), k->params[1], yo[0]);
    else {
        LLVMValueRef m = nc_cu_f32(k, -INFINITY), sum = nc_cu_f32(k, 0);
        for (int r = 0; r < R; r++) v[r] = nc_cu_load(k, k->params[0], xo[r]), m = nc_cu_max(k, m, v[r]);
        for (int r = 0; r < R; r++) v[r] = nc_cu_exp(k, LLVMBuildFSub(b, v[r], m, "")), sum = nc_cu_fadd(k, sum, v[r]);
        LLVMValueRef inv = LLVMBuildFDiv(b, nc_cu_f32(k, 1), sum, "");
        for (int r = 0; r < R; r++) nc_cu_store(k, nc_cu_fmul(k, v[r], inv), k->params[1], yo[r]);
    }
    nc_cu_if_end(k, &in);
}

void nc_cu_radix_softmax_desc(NcCuDesc *d, const char *name, const NcCuRadixSoftmax *k) {
    NC_CHECK(k->radix >= 1 && k->radix <= MAXRADIX);
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(k->n * k->card * k->rest),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = radix_softmax_body,
                    .ctx = k};
}

/* dx = y (dy - sum_r dy y) over the radix; radix 1: dy y (1 - y). */
static void radix_softmax_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuRadixSoftmax *s = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, s->n * s->card * s->rest, &in);
    LLVMValueRef xo[MAXRADIX], yo[MAXRADIX], dy[MAXRADIX], y[MAXRADIX];
    radix_offsets(k, s, i, xo, yo);
    const int R = (int)s->radix;
    LLVMValueRef dot = nc_cu_f32(k, 0);
    for (int r = 0; r < R; r++) {
        dy[r] = nc_cu_load(k, k->params[0], yo[r]), y[r] = nc_cu_load(k, k->params[2], yo[r]);
        dot = nc_cu_fadd(k, dot, nc_cu_fmul(k, dy[r], y[r]));
    }
    if (R == 1)
        nc_cu_store(k, nc_cu_fmul(k, dot, LLVMBuildFSub(b, nc_cu_f32(k, 1), y[0], "")), k->params[1], xo[0]);
    else
        for (int r = 0; r < R; r++)
            nc_cu_store(k, nc_cu_fmul(k, y[r], LLVMBuildFSub(b, dy[r], dot, "")), k->params[1], xo[r]);
    nc_cu_if_end(k, &in);
}

void nc_cu_radix_softmax_grad_desc(NcCuDesc *d, const char *name, const NcCuRadixSoftmax *k) {
    nc_cu_radix_softmax_desc(d, name, k);
    d->nparams = 3;
    d->body = radix_softmax_grad_body;
}

/* --- radix gap: one block per (n, c) ------------------------------------ */

static int64_t plane_block(const NcCuSplitAttn *s) { return nc_cu_red_block(s->hw); }

static void radix_gap_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuSplitAttn *s = ctx;
    const int64_t B = plane_block(s);
    const int L = nc_cu_red_levels(B);
    if (phase == 0) {
        LLVMValueRef n = nc_cu_divc(k, k->bid, s->c), c = nc_cu_remc(k, k->bid, s->c), j;
        LLVMValueRef acc = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, s->hw), B, &j);
        LLVMValueRef sum = NULL;
        for (int64_t r = 0; r < s->radix; r++) { /* branches summed first, as timm's x.sum(dim=1) */
            LLVMValueRef plane = nc_cu_add(k, nc_cu_mulc(k, n, s->radix * s->c), nc_cu_addc(k, c, r * s->c));
            LLVMValueRef v = nc_cu_load(k, k->params[0], nc_cu_mad(k, plane, s->hw, j));
            sum = sum ? nc_cu_fadd(k, sum, v) : v;
        }
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), sum));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, B);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef mean = nc_cu_fmul(k, nc_cu_red_result(k, B, 0), nc_cu_f32(k, 1.0 / (double)s->hw));
        nc_cu_store(k, mean, k->params[1], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_radix_gap_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k) {
    const int64_t B = plane_block(k);
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = k->n * k->c,
                    .block = B,
                    .smem_floats = B + 1,
                    .nphases = 2 + nc_cu_red_levels(B),
                    .body = radix_gap_body,
                    .ctx = k};
}

/* --- radix combine: one thread per output ------------------------------- */

static void radix_combine_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuSplitAttn *s = ctx;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, s->n * s->c * s->hw, &in), x[3];
    const int64_t dims[3] = {s->n, s->c, s->hw};
    nc_cu_unflatten(k, i, 3, dims, x);
    LLVMValueRef sum = NULL;
    for (int64_t r = 0; r < s->radix; r++) {
        LLVMValueRef row = nc_cu_add(k, nc_cu_mulc(k, x[0], s->radix * s->c), nc_cu_addc(k, x[1], r * s->c));
        LLVMValueRef p = nc_cu_fmul(k, nc_cu_load(k, k->params[0], nc_cu_mad(k, row, s->hw, x[2])),
                                    nc_cu_load(k, k->params[2], row));
        sum = sum ? nc_cu_fadd(k, sum, p) : p;
    }
    nc_cu_store(k, sum, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_radix_combine_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = nc_cu_ew_grid(k->n * k->c * k->hw),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = radix_combine_body,
                    .ctx = k};
}

/* Block (n, r C + c): dx over its plane = dy[n, c] attn, and the plane's sum
 * of dy x into dattn. */
static void radix_combine_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuSplitAttn *s = ctx;
    const int64_t B = plane_block(s), RC = s->radix * s->c;
    const int L = nc_cu_red_levels(B);
    if (phase == 0) {
        LLVMValueRef n = nc_cu_divc(k, k->bid, RC), c = nc_cu_remc(k, nc_cu_remc(k, k->bid, RC), s->c), j;
        LLVMValueRef dyp = nc_cu_mulc(k, nc_cu_mad(k, n, s->c, c), s->hw), xp = nc_cu_mulc(k, k->bid, s->hw);
        LLVMValueRef at = nc_cu_load(k, k->params[3], k->bid), acc = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, s->hw), B, &j);
        LLVMValueRef dy = nc_cu_load(k, k->params[0], nc_cu_add(k, dyp, j));
        nc_cu_store(k, nc_cu_fmul(k, dy, at), k->params[1], nc_cu_add(k, xp, j));
        LLVMValueRef xv = nc_cu_load(k, k->params[2], nc_cu_add(k, xp, j));
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), nc_cu_fmul(k, dy, xv)));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, B);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        nc_cu_store(k, nc_cu_red_result(k, B, 0), k->params[4], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_radix_combine_grad_desc(NcCuDesc *d, const char *name, const NcCuSplitAttn *k) {
    const int64_t B = plane_block(k);
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = k->n * k->radix * k->c,
                    .block = B,
                    .smem_floats = B + 1,
                    .nphases = 2 + nc_cu_red_levels(B),
                    .body = radix_combine_grad_body,
                    .ctx = k};
}

/* --- SE gate: one block per sample ------------------------------------------ */

#define SE_BLOCK 256

/* Phases: 0 pooled[n] into smem[0, C); 1 hidden into smem[C, C + R); 2 the
 * gates. */
static void se_gate_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuSeGate *s = ctx;
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef i, j;
    if (phase == 0) {
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, s->c), SE_BLOCK, &i);
        nc_cu_store(k, nc_cu_load(k, k->params[0], nc_cu_mad(k, k->bid, s->c, i)), k->smem, i);
        nc_cu_loop_end(k, &l);
        return;
    }
    const int64_t len = phase == 1 ? s->c : s->r, outs = phase == 1 ? s->r : s->c, in0 = phase == 1 ? 0 : s->c;
    LLVMValueRef w = k->params[phase == 1 ? 2 : 4], bias = k->params[phase == 1 ? 3 : 5];
    CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, outs), SE_BLOCK, &i);
    LLVMValueRef acc = nc_cu_var(k, 0), row = nc_cu_mulc(k, i, len);
    CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, len), 1, &j);
    LLVMValueRef p =
        nc_cu_fmul(k, nc_cu_load(k, w, nc_cu_add(k, row, j)), nc_cu_load(k, k->smem, nc_cu_addc(k, j, in0)));
    nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), p));
    nc_cu_loop_end(k, &l2);
    LLVMValueRef v = nc_cu_fadd(k, nc_cu_get(k, acc), nc_cu_load(k, bias, i));
    if (phase == 1) {
        if (s->act == NC_EPI_SILU)
            v = nc_cu_fmul(k, v, nc_cu_sigmoid(k, v));
        else /* relu, NaN through as the reference */
            v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, nc_cu_f32(k, 0), ""), nc_cu_f32(k, 0), v, "");
        nc_cu_store(k, v, k->smem, nc_cu_addc(k, i, s->c));
    } else
        nc_cu_store(k, nc_cu_sigmoid(k, v), k->params[1], nc_cu_mad(k, k->bid, s->c, i));
    nc_cu_loop_end(k, &l);
}

void nc_cu_se_gate_desc(NcCuDesc *d, const char *name, const NcCuSeGate *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 6,
                    .grid = k->n,
                    .block = SE_BLOCK,
                    .smem_floats = k->c + k->r,
                    .nphases = 3,
                    .body = se_gate_body,
                    .ctx = k};
}
