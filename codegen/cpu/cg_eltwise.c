/* cg_eltwise.c — the memory-bound kernels on NHWC activations: whole
 * vectors along the channels, the ragged end under a lane mask (no reads or
 * writes past the tensor).  A value without a spatial extent ([N, C, 1, 1])
 * is the same bytes in either layout, so it takes the NHWC code too. */
#include "codegen/cpu/cg_eltwise.h"

#include <string.h>

#define RGAP_BLOCK 16 /* channels per tile of an NHWC radix_gap: a cache line */

/* NHWC, or no spatial extent: the kernels' layout */
static int nhwc_bytes(const NcValue *v) { return nc_is_nhwc(v) || v->ndim != 4 || v->shape[2] * v->shape[3] == 1; }

/* The node's tile count were its spatial operands NHWC (0: no kernel). */
static int64_t tiles_if_nhwc(const NcGraph *g, const NcNode *nd) {
    const int nhwc = nc_is_nhwc(nc_val(g, nd->inputs[0]));
    const NcValue *x0 = nc_val(g, nd->inputs[0]);
    /* squeeze_excite, global_avg_pool: one tile per image */
    if (nd->op == NC_OP_SQUEEZE_EXCITE && nd->noutputs == 1 && nd->attrs.nepi == 1 && x0->ndim == 4)
        return x0->shape[0];
    if (nd->op == NC_OP_GLOBAL_AVG_POOL && nd->noutputs == 1 && x0->ndim == 4) return x0->shape[0];
    if ((nd->op == NC_OP_MAX_POOL2D || nd->op == NC_OP_AVG_POOL2D) && nd->noutputs == 1 && x0->ndim == 4) {
        const NcValue *y = nc_val(g, nd->outputs[0]);
        return y->shape[0] * y->shape[2]; /* one tile per (image, output row) */
    }
    if (nd->op == NC_OP_RADIX_GAP || nd->op == NC_OP_RADIX_COMBINE) {
        const NcValue *x = nc_val(g, nd->inputs[0]);
        if (x->ndim != 4) return 0;
        const int64_t C = x->shape[1] / nd->attrs.radix;
        if (nd->op ==
            NC_OP_RADIX_GAP) /* one tile per (image, block of 16 channels): each reads its column of the plane */
            return x->shape[0] * ((C + RGAP_BLOCK - 1) / RGAP_BLOCK);
        return x->shape[0] * x->shape[2]; /* (image, row) */
    }
    if (nd->op ==
        NC_OP_SPLIT) { /* NHWC, along channels: one tile per (image, row); NCHW splits are views or the reference's */
        const NcValue *x = nc_val(g, nd->inputs[0]);
        if (!nhwc || x->ndim != 4 || nd->attrs.axis != 1) return 0;
        for (int j = 0; j < nd->noutputs; j++)
            if (!nc_is_nhwc(nc_val(g, nd->outputs[j]))) return 0;
        return x->shape[0] * x->shape[2];
    }
    if ((nd->op != NC_OP_ADD && nd->op != NC_OP_MUL) || nd->ninputs != 2 + nd->attrs.nepi || nd->noutputs != 1)
        return 0;
    const NcValue *y = nc_val(g, nd->outputs[0]), *a = nc_val(g, nd->inputs[0]), *b = nc_val(g, nd->inputs[1]);
    if (y->ndim != 4) return 0;
    const int sa = nc_shape_eq(a, y), sb = nc_shape_eq(b, y);
    if (!(sa && sb) && !(sa && cgb_per_channel(b, y)) && !(sb && cgb_per_channel(a, y))) return 0;
    /* elementwise-chain fusion's steps: + or * a whole or per-channel operand */
    for (int s = 0; s < nd->attrs.nepi; s++) {
        const NcEpilogue *ep = &nd->attrs.epi[s];
        const NcValue *o = nc_val(g, nd->inputs[ep->input]);
        if ((ep->kind != NC_EPI_ADD && ep->kind != NC_EPI_MUL) || !(nc_shape_eq(o, y) || cgb_per_channel(o, y)))
            return 0;
    }
    /* one tile per pixel: a row of channels */
    return y->shape[0] * y->shape[2] * y->shape[3];
}

int64_t nc_cg_eltwise_tiles(const NcGraph *g, const NcNode *nd) {
    /* NHWC only: a spatial NCHW operand runs the reference kernel */
    for (int j = 0; j < nd->ninputs + nd->noutputs; j++) {
        const NcValue *v = nc_val(g, j < nd->ninputs ? nd->inputs[j] : nd->outputs[j - nd->ninputs]);
        if (v->kind != NC_VAL_PARAM && !nhwc_bytes(v)) return 0;
    }
    return tiles_if_nhwc(g, nd);
}

int nc_cg_eltwise_nhwc_ok(const NcGraph *g, const NcNode *nd) {
    switch (nd->op) {
    case NC_OP_MAX_POOL2D:
    case NC_OP_AVG_POOL2D:
    case NC_OP_SQUEEZE_EXCITE:
    case NC_OP_GLOBAL_AVG_POOL:
    case NC_OP_ADD:
    case NC_OP_MUL: return tiles_if_nhwc(g, nd) > 0;
    case NC_OP_RADIX_GAP:
    case NC_OP_RADIX_COMBINE: return nc_val(g, nd->inputs[0])->ndim == 4;
    case NC_OP_SPLIT: { /* the pass asks before it marks the outputs NHWC: check the rest */
        const NcValue *x = nc_val(g, nd->inputs[0]);
        return x->ndim == 4 && nd->attrs.axis == 1;
    }
    default: return 0;
    }
}

/* The lanes of v added up (in order; once per reduction, so no matter). */
static LLVMValueRef hsum(NcCgModule *m, LLVMValueRef v) {
    LLVMValueRef r = LLVMBuildExtractElement(m->b, v, cgb_i64(m, 0), "");
    for (int i = 1; i < m->vw; i++) r = LLVMBuildFAdd(m->b, r, LLVMBuildExtractElement(m->b, v, cgb_i64(m, i), ""), "");
    return r;
}

/* sum of p[off + i] (* q[qoff + i] when q) over i < len, as a float: four
 * vector accumulators, then single vectors, then the ragged end masked. */
static LLVMValueRef emit_sum(NcCgModule *m, LLVMValueRef p, LLVMValueRef off, LLVMValueRef q, LLVMValueRef qoff,
                             int64_t len) {
    const int vw = m->vw, U = 4;
    LLVMValueRef acc[4];
    for (int u = 0; u < U; u++) {
        acc[u] = cgb_var(m, m->vec);
        LLVMBuildStore(m->b, cgb_zero(m), acc[u]);
    }
    const int64_t big = len / (U * vw) * (U * vw), full = len / vw * vw;
#define TERM(o, lanes)                                                                                                 \
    (q ? LLVMBuildFMul(m->b, cgb_load_n(m, cgb_gep(m, p, LLVMBuildNSWAdd(m->b, off, o, "")), lanes),                   \
                       cgb_load_n(m, cgb_gep(m, q, LLVMBuildNSWAdd(m->b, qoff, o, "")), lanes), "")                    \
       : cgb_load_n(m, cgb_gep(m, p, LLVMBuildNSWAdd(m->b, off, o, "")), lanes))
    LLVMValueRef i;
    if (big) {
        CgbLoop l = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, big), U * vw, &i);
        for (int u = 0; u < U; u++) {
            LLVMValueRef o = LLVMBuildNSWAdd(m->b, i, cgb_i64(m, u * vw), "");
            LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, m->vec, acc[u], ""), TERM(o, vw), ""),
                           acc[u]);
        }
        cgb_loop_end(m, &l);
    }
    for (int64_t j = big; j < full; j += vw) {
        LLVMValueRef o = cgb_i64(m, j);
        LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, m->vec, acc[0], ""), TERM(o, vw), ""), acc[0]);
    }
    if (len > full) {
        LLVMValueRef o = cgb_i64(m, full);
        LLVMBuildStore(m->b,
                       LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, m->vec, acc[1], ""), TERM(o, (int)(len - full)), ""),
                       acc[1]);
    }
#undef TERM
    LLVMValueRef v = LLVMBuildFAdd(
        m->b,
        LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, m->vec, acc[0], ""), LLVMBuildLoad2(m->b, m->vec, acc[1], ""), ""),
        LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, m->vec, acc[2], ""), LLVMBuildLoad2(m->b, m->vec, acc[3], ""), ""),
        "");
    return hsum(m, v);
}

/* NHWC: pooled[c] = mean over the S pixels of x[base + p * C + c], for every
 * c < C; blocks of 4 channel vectors kept in registers across the pixels,
 * the ragged channel tail under a mask; x stored f32 or bf16 (x_bf16),
 * summed in f32. */
static void emit_pool_nhwc_strided(NcCgModule *m, LLVMValueRef xp, int x_bf16, LLVMValueRef base, int64_t CB, int64_t C,
                                   int64_t S, LLVMValueRef pooled);
static void emit_pool_nhwc(NcCgModule *m, LLVMValueRef xp, int x_bf16, LLVMValueRef base, int64_t C, int64_t S,
                           LLVMValueRef pooled) {
    emit_pool_nhwc_strided(m, xp, x_bf16, base, C, C, S, pooled);
}

/* The same for the CB channels at base of pixels C values apart. */
static void emit_pool_nhwc_strided(NcCgModule *m, LLVMValueRef xp, int x_bf16, LLVMValueRef base, int64_t CB, int64_t C,
                                   int64_t S, LLVMValueRef pooled) {
    LLVMBuilderRef b = m->b;
    const int vw = m->vw, U = 4;
    LLVMValueRef acc[4], p;
    for (int u = 0; u < U; u++) acc[u] = cgb_var(m, m->vec);
    const LLVMValueRef inv = cgb_splat(m, cgb_f32(m, 1.0 / (double)S));
    for (int64_t c0 = 0; c0 < CB; c0 += (int64_t)U * vw) {
        int nv = 0, lanes[4];
        for (int u = 0; u < U && c0 + (int64_t)u * vw < CB; u++, nv++)
            lanes[u] = (int)(CB - c0 - u * vw < vw ? CB - c0 - u * vw : vw);
        for (int u = 0; u < nv; u++) LLVMBuildStore(b, cgb_zero(m), acc[u]);
        CgbLoop lp = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, S), 1, &p);
        LLVMValueRef row = LLVMBuildNSWAdd(
            b, base, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, p, cgb_i64(m, C), ""), cgb_i64(m, c0), ""), "");
        for (int u = 0; u < nv; u++) {
            LLVMValueRef v =
                cgb_load_act(m, xp, LLVMBuildNSWAdd(b, row, cgb_i64(m, (int64_t)u * vw), ""), lanes[u], x_bf16);
            LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->vec, acc[u], ""), v, ""), acc[u]);
        }
        cgb_loop_end(m, &lp);
        for (int u = 0; u < nv; u++)
            cgb_store_n(m, LLVMBuildFMul(b, LLVMBuildLoad2(b, m->vec, acc[u], ""), inv, ""),
                        cgb_gep(m, pooled, cgb_i64(m, c0 + (int64_t)u * vw)), lanes[u]);
    }
}

static LLVMValueRef scalar_act(NcCgModule *m, int kind, LLVMValueRef x) {
    return LLVMBuildExtractElement(m->b, cgb_activation(m, kind, 0, 0, cgb_splat(m, x)), cgb_i64(m, 0), "");
}

/* One of the SE gate's two small layers, rows [t0 rows, (t0 + 1) rows) of tile t0 .. t1 (the last fewer):
 * out[n][r] = act(w . x[n] + b)[r] for every image n, a weight row read once for all of them.  The first
 * layer: w1 (R x C) over the pooled values, its activation; the second: w2 (C x R) over the hidden ones,
 * sigmoid — the gate. */
static void emit_se_fc(NcCgModule *m, const char *name, int win, int64_t rows, int64_t len, int64_t per, int64_t N,
                       int act, int64_t x_slot, int64_t y_slot, int y_arg, NcCgKernel *k, int stage) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef w = cgb_arg_ptr(m, in, win), bias = cgb_arg_ptr(m, in, win + 1);
    LLVMValueRef x = cgb_gep(m, cgb_arg_ptr(m, out, 1), cgb_i64(m, x_slot));
    LLVMValueRef y = y_arg ? cgb_arg_ptr(m, out, 0) : cgb_gep(m, cgb_arg_ptr(m, out, 1), cgb_i64(m, y_slot));
    LLVMValueRef r, n;
    LLVMValueRef r0 = LLVMBuildNSWMul(b, LLVMGetParam(fn, 2), cgb_i64(m, per), "");
    LLVMValueRef r1 = LLVMBuildNSWMul(b, LLVMGetParam(fn, 3), cgb_i64(m, per), "");
    r1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, r1, cgb_i64(m, rows), ""), r1, cgb_i64(m, rows), "");
    CgbLoop lr = cgb_loop_begin(m, r0, r1, 1, &r);
    LLVMValueRef bias_r = LLVMBuildLoad2(b, m->f32, cgb_gep(m, bias, r), "");
    LLVMValueRef woff = LLVMBuildNSWMul(b, r, cgb_i64(m, len), "");
    CgbLoop ln = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, N), 1, &n);
    LLVMValueRef z = emit_sum(m, w, woff, x, LLVMBuildNSWMul(b, n, cgb_i64(m, len), ""), len);
    z = LLVMBuildFAdd(b, z, bias_r, "");
    LLVMBuildStore(b, scalar_act(m, act, z),
                   cgb_gep(m, y, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, n, cgb_i64(m, rows), ""), r, "")));
    cgb_loop_end(m, &ln);
    cgb_loop_end(m, &lr);
    LLVMBuildRetVoid(b);
    k->stage[stage] = fn, k->tiles[stage] = (rows + per - 1) / per;
}

/* squeeze_excite(x, w1, b1, w2, b2) -> gate [N, C, 1, 1] in three stages, so
 * that batch 1 uses every thread — the pooling, one tile per (image, block
 * of 4 channel vectors), into scratch (out[1]); then each of the two small
 * layers, one tile per block of its output rows, each weight row read once
 * for every image (one tile per image read all the weights once an image: at
 * batch 8 RegNetY's SE layers spent most of their time on those reads). */
int nc_cg_se_staged(const NcGraph *g, const NcNode *nd) {
    return nd->op == NC_OP_SQUEEZE_EXCITE && nc_cg_eltwise_tiles(g, nd) > 0;
}

void nc_cg_emit_se_staged(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name, NcCgKernel *k) {
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int64_t N = x->shape[0], C = x->shape[1], S = x->shape[2] * x->shape[3],
                  R = nc_val(g, nd->inputs[1])->shape[0];
    const int64_t blk = 4 * (int64_t)m->vw, nb = (C + blk - 1) / blk;
    const int xbf = x->dtype == NC_BF16;
    char sub[96];
    snprintf(sub, sizeof sub, "%s_pool", name);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, sub);
    LLVMValueRef xp = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), pooled = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(m->b, t, cgb_i64(m, nb), ""),
                 c0 = LLVMBuildNSWMul(m->b, LLVMBuildSRem(m->b, t, cgb_i64(m, nb), ""), cgb_i64(m, blk), "");
    /* the block's channels: blk, or the ragged rest in the last block */
    const int64_t last = C - (nb - 1) * blk;
    LLVMValueRef base = LLVMBuildNSWAdd(m->b, LLVMBuildNSWMul(m->b, n, cgb_i64(m, C * S), ""), c0, "");
    LLVMValueRef dst = cgb_gep(m, pooled, LLVMBuildNSWAdd(m->b, LLVMBuildNSWMul(m->b, n, cgb_i64(m, C), ""), c0, ""));
    if (last == blk) {
        emit_pool_nhwc_strided(m, xp, xbf, base, blk, C, S, dst);
    } else {
        CgbIf ci = cgb_if_begin(
            m, LLVMBuildICmp(m->b, LLVMIntEQ, LLVMBuildSRem(m->b, t, cgb_i64(m, nb), ""), cgb_i64(m, nb - 1), ""));
        emit_pool_nhwc_strided(m, xp, xbf, base, last, C, S, dst);
        if (nb > 1) {
            cgb_if_else(m, &ci);
            emit_pool_nhwc_strided(m, xp, xbf, base, blk, C, S, dst);
        }
        cgb_if_end(m, &ci);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = N * nb;

    /* the scratch: the pooled values (N x C), then the hidden ones (N x R) */
    snprintf(sub, sizeof sub, "%s_fc1", name);
    emit_se_fc(m, sub, 1, R, C, 4, N, nd->attrs.epi[0].kind, 0, N * C, 0, k, 1);
    snprintf(sub, sizeof sub, "%s_fc2", name);
    emit_se_fc(m, sub, 3, C, R, 16, N, NC_EPI_SIGMOID, N * C, 0, 1, k, 2);
    k->scratch = N * C + N * R;
}

/* global_avg_pool: one tile per image */
static void emit_gap(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int64_t S = x->shape[2] * x->shape[3];
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef xp = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    const int64_t C = x->shape[1];
    LLVMValueRef dst = cgb_gep(m, y, LLVMBuildNSWMul(m->b, t, cgb_i64(m, C), ""));
    emit_pool_nhwc(m, xp, x->dtype == NC_BF16, LLVMBuildNSWMul(m->b, t, cgb_i64(m, C * S), ""), C, S, dst);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
}

static LLVMValueRef smin(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static LLVMValueRef smax(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* One axis of a pool window at output index o: the window [start, end) in
 * input coordinates, count (its size clipped to the padded input: avg's
 * divisor with padding counted), and [lo, hi) (clipped to the input). */
typedef struct PoolAxis {
    LLVMValueRef start, end, count, lo, hi;
} PoolAxis;

static PoolAxis pool_axis(NcCgModule *m, LLVMValueRef o, int stride, int pad_lo, int pad_hi, int k, int64_t size) {
    LLVMBuilderRef b = m->b;
    PoolAxis x;
    x.start = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, o, cgb_i64(m, stride), ""), cgb_i64(m, pad_lo), "");
    x.end = LLVMBuildNSWAdd(b, x.start, cgb_i64(m, k), "");
    x.count = LLVMBuildNSWSub(b, smin(m, x.end, cgb_i64(m, size + pad_hi)), x.start, "");
    x.lo = smax(m, x.start, cgb_i64(m, 0)), x.hi = smin(m, x.end, cgb_i64(m, size));
    return x;
}

/* avg_pool2d's divisor for windows r x c */
static LLVMValueRef pool_divisor(NcCgModule *m, const NcAttrs *a, const PoolAxis *r, const PoolAxis *c) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef cnt = a->count_include_pad ? LLVMBuildNSWMul(b, r->count, c->count, "")
                                            : LLVMBuildNSWMul(b, LLVMBuildNSWSub(b, r->hi, r->lo, ""),
                                                              LLVMBuildNSWSub(b, c->hi, c->lo, ""), "");
    return LLVMBuildSIToFP(b, cnt, m->f32, "");
}

/* max_pool2d / avg_pool2d with PyTorch's window and divisor rules (as
 * ir/ref_pool.c) on NHWC: one tile per (image, output row); per output
 * pixel, the window's channel vectors (whole vectors, the ragged rest
 * masked) combined lane by lane — no scalar code.  x and y stored f32 or
 * bf16 (computed in f32: a bf16 max is exact, an average rounded once). */
static void emit_window_pool_nhwc(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    const NcAttrs *a = &nd->attrs;
    const int is_max = nd->op == NC_OP_MAX_POOL2D, vw = m->vw;
    const NcValue *x = nc_val(g, nd->inputs[0]), *y = nc_val(g, nd->outputs[0]);
    const int64_t C = x->shape[1], H = x->shape[2], W = x->shape[3], OH = y->shape[2], OW = y->shape[3];
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef xp = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), yp = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t, ow, ih, iw, c0;
    LLVMValueRef acc = cgb_var(m, m->vec);
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef oh = LLVMBuildSRem(b, t, cgb_i64(m, OH), ""), n = LLVMBuildSDiv(b, t, cgb_i64(m, OH), "");
    LLVMValueRef ximg = LLVMBuildNSWMul(b, n, cgb_i64(m, H * W * C), "");
    const PoolAxis ph = pool_axis(m, oh, a->stride[0], a->pad[0], a->pad[2], a->kernel[0], H);
    CgbLoop lw = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, OW), 1, &ow);
    const PoolAxis pw = pool_axis(m, ow, a->stride[1], a->pad[1], a->pad[3], a->kernel[1], W);
    LLVMValueRef div = is_max ? NULL : cgb_splat(m, pool_divisor(m, a, &ph, &pw));
    LLVMValueRef yoff =
        LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, t, cgb_i64(m, OW), ""), ow, ""), cgb_i64(m, C), "");
    const int64_t cfull = C / vw * vw;
    for (int part = 0; part < 2; part++) {
        const int lanes = part ? (int)(C - cfull) : vw;
        if (!lanes || (!part && !cfull)) continue;
        CgbLoop lc;
        memset(&lc, 0, sizeof lc);
        if (!part)
            lc = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, cfull), vw, &c0);
        else
            c0 = cgb_i64(m, cfull);
        LLVMBuildStore(b, is_max ? cgb_splat(m, LLVMConstReal(m->f32, -__builtin_inff())) : cgb_zero(m), acc);
        /* a window wholly inside the input (all but the border pixels): its taps at constant offsets, unrolled
         * (the loops below, their bounds computed per pixel, cost more than the loads: resnet50's stem pool
         * at batch 8, bf16, 1 thread: 1.91 -> 1.69 ms) */
        CgbIf inside = {0};
        const int unroll = a->kernel[0] * a->kernel[1] <= 16;
        if (unroll) {
            LLVMValueRef in_h = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, ph.lo, ph.start, ""),
                                             LLVMBuildICmp(b, LLVMIntEQ, ph.hi, ph.end, ""), "");
            LLVMValueRef in_w = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, pw.lo, pw.start, ""),
                                             LLVMBuildICmp(b, LLVMIntEQ, pw.hi, pw.end, ""), "");
            inside = cgb_if_begin(m, LLVMBuildAnd(b, in_h, in_w, ""));
            LLVMValueRef off0 =
                LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, ximg, LLVMBuildNSWMul(b, ph.start, cgb_i64(m, W * C), ""), ""),
                                LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, pw.start, cgb_i64(m, C), ""), c0, ""), "");
            LLVMValueRef r = NULL;
            for (int kh = 0; kh < a->kernel[0]; kh++)
                for (int kw = 0; kw < a->kernel[1]; kw++) {
                    LLVMValueRef v = cgb_load_act_bits(
                        m, xp, LLVMBuildNSWAdd(b, off0, cgb_i64(m, (kh * W + kw) * C), ""), lanes, x->dtype == NC_BF16);
                    if (!r) r = is_max ? cgb_splat(m, LLVMConstReal(m->f32, -__builtin_inff())) : cgb_zero(m);
                    r = is_max ? cgb_max_nan(m, v, r) : LLVMBuildFAdd(b, r, v, ""); /* as the loops: the same bits */
                }
            LLVMBuildStore(b, r, acc);
            cgb_if_else(m, &inside);
        }
        CgbLoop lh = cgb_loop_begin(m, ph.lo, ph.hi, 1, &ih);
        LLVMValueRef xrow = LLVMBuildNSWAdd(b, ximg, LLVMBuildNSWMul(b, ih, cgb_i64(m, W * C), ""), "");
        CgbLoop lww = cgb_loop_begin(m, pw.lo, pw.hi, 1, &iw);
        LLVMValueRef off =
            LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, xrow, LLVMBuildNSWMul(b, iw, cgb_i64(m, C), ""), ""), c0, "");
        LLVMValueRef v = cgb_load_act(m, xp, off, lanes, x->dtype == NC_BF16), cur = LLVMBuildLoad2(b, m->vec, acc, "");
        LLVMBuildStore(b, is_max ? cgb_max_nan(m, v, cur) : LLVMBuildFAdd(b, cur, v, ""), acc);
        cgb_loop_end(m, &lww);
        cgb_loop_end(m, &lh);
        if (unroll) cgb_if_end(m, &inside);
        LLVMValueRef r = LLVMBuildLoad2(b, m->vec, acc, "");
        if (div) r = LLVMBuildFDiv(b, r, div, "");
        cgb_store_act(m, r, yp, LLVMBuildNSWAdd(b, yoff, c0, ""), lanes, y->dtype == NC_BF16);
        if (!part) cgb_loop_end(m, &lc);
    }
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* NHWC split along channels: per pixel, each output's run of channels
 * copied from the input's row of C (in NCHW a split at batch 1 is a view,
 * in NHWC its pieces interleave). */
static void emit_split_nhwc(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    LLVMBuilderRef b = m->b;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int64_t C = x->shape[1], W = x->shape[3];
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), t, w;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    CgbLoop lw = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, W), 1, &w);
    LLVMValueRef pix = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, t, cgb_i64(m, W), ""), w, ""); /* t = n H + h */
    LLVMValueRef src = cgb_gep(m, in, LLVMBuildNSWMul(b, pix, cgb_i64(m, C), ""));
    int64_t off = 0;
    for (int j = 0; j < nd->noutputs; j++) {
        const int64_t cj = nd->attrs.sizes[j];
        LLVMValueRef dst =
            cgb_gep(m, cgb_arg_ptr(m, LLVMGetParam(fn, 1), j), LLVMBuildNSWMul(b, pix, cgb_i64(m, cj), ""));
        cgb_copy_floats(m, dst, cgb_gep(m, src, cgb_i64(m, off)), NULL, cj);
        off += cj;
    }
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* radix_combine's vector body: x's branch r of the vector at i lies at
 * x + i + r * step (step C within a pixel); x and y stored f32 or bf16. */
typedef struct RadixCtx {
    LLVMValueRef x, att, y; /* att: the pixel's image's per-channel attention */
    int64_t R, step;
    int x_bf16, y_bf16;
} RadixCtx;

static LLVMValueRef branch(NcCgModule *m, const RadixCtx *c, LLVMValueRef base, LLVMValueRef i, int64_t r, int lanes) {
    const int bf16 = base == c->x && c->x_bf16;
    return cgb_load_act(m, base, LLVMBuildNSWAdd(m->b, i, cgb_i64(m, r * c->step), ""), lanes, bf16);
}

/* y = the branches times their attention, summed in branch order (radix_combine) */
static void radix_combine_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const RadixCtx *c = vc;
    LLVMValueRef sum = NULL;
    for (int64_t r = 0; r < c->R; r++) {
        LLVMValueRef p = LLVMBuildFMul(m->b, branch(m, c, c->x, i, r, lanes), branch(m, c, c->att, i, r, lanes), "");
        sum = sum ? LLVMBuildFAdd(m->b, sum, p, "") : p;
    }
    cgb_store_act(m, sum, c->y, i, lanes, c->y_bf16);
}

/* radix_gap (ref_shape.c's nc_ref_radix_gap): per (image, channel block),
 * the R branches' values added per pixel, accumulated over the plane, then
 * divided.  A tile is RGAP_BLOCK channels, its vectors accumulated pixel by
 * pixel. */
static void emit_radix_gap(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    LLVMBuilderRef b = m->b;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int vw = m->vw;
    const int64_t R = nd->attrs.radix, RC = x->shape[1], C = RC / R, HW = x->shape[2] * x->shape[3];
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), out = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0), t, i;
    LLVMValueRef inv = cgb_splat(m, cgb_f32(m, 1.0 / (double)HW));
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    {
        const int64_t nb = (C + RGAP_BLOCK - 1) / RGAP_BLOCK;
        LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, nb), ""),
                     c0 = LLVMBuildNSWMul(b, LLVMBuildSRem(b, t, cgb_i64(m, nb), ""), cgb_i64(m, RGAP_BLOCK), "");
        const int xbf = x->dtype == NC_BF16;
        LLVMValueRef xn = cgb_gep_act(m, in, LLVMBuildNSWMul(b, n, cgb_i64(m, HW * RC), ""), xbf);
        LLVMValueRef last = LLVMBuildICmp(b, LLVMIntEQ, c0, cgb_i64(m, (nb - 1) * RGAP_BLOCK), "");
        /* the last block may be ragged: two variants, the ragged one masked */
        const int64_t tail = C - (nb - 1) * RGAP_BLOCK;
        for (int part = 0; part < 2; part++) {
            const int64_t width = part ? tail : RGAP_BLOCK;
            if (part == 0 && nb == 1 && tail != RGAP_BLOCK) continue;
            CgbIf ci = cgb_if_begin(m, part ? last : LLVMBuildNot(b, last, ""));
            const int nvec = (int)((width + vw - 1) / vw);
            LLVMValueRef acc[RGAP_BLOCK];
            for (int v = 0; v < nvec; v++) {
                acc[v] = cgb_var(m, m->vec);
                LLVMBuildStore(b, cgb_zero(m), acc[v]);
            }
            CgbLoop lp = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, HW), 1, &i);
            LLVMValueRef px =
                cgb_gep_act(m, xn, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, i, cgb_i64(m, RC), ""), c0, ""), xbf);
            for (int v = 0; v < nvec; v++) {
                const int lanes = (int)(width - v * vw < vw ? width - v * vw : vw);
                LLVMValueRef sum = NULL;
                for (int64_t r = 0; r < R; r++) {
                    LLVMValueRef val = cgb_load_act(m, px, cgb_i64(m, r * C + v * vw), lanes, xbf);
                    sum = sum ? LLVMBuildFAdd(b, sum, val, "") : val;
                }
                LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->vec, acc[v], ""), sum, ""), acc[v]);
            }
            cgb_loop_end(m, &lp);
            for (int v = 0; v < nvec; v++) {
                const int lanes = (int)(width - v * vw < vw ? width - v * vw : vw);
                LLVMValueRef r = LLVMBuildFMul(b, LLVMBuildLoad2(b, m->vec, acc[v], ""), inv, "");
                cgb_store_n(m, r,
                            cgb_gep(m, out,
                                    LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, n, cgb_i64(m, C), ""),
                                                    LLVMBuildNSWAdd(b, c0, cgb_i64(m, v * vw), ""), "")),
                            lanes);
            }
            cgb_if_end(m, &ci);
        }
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* radix_combine (nc_ref_radix_combine): y = sum over r of x[r C + c] *
 * a[n, r C + c], products rounded and added in branch order.  A tile is a
 * row of pixels, the channels in vectors. */
static void emit_radix_combine(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    LLVMBuilderRef b = m->b;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int64_t R = nd->attrs.radix, RC = x->shape[1], C = RC / R, H = x->shape[2], W = x->shape[3];
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), att = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1);
    LLVMValueRef out = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0), t, w;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    { /* t = n H + h */
        LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, H), "");
        LLVMValueRef an = cgb_gep(m, att, LLVMBuildNSWMul(b, n, cgb_i64(m, RC), ""));
        CgbLoop lw = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, W), 1, &w);
        LLVMValueRef pix = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, t, cgb_i64(m, W), ""), w, "");
        const int xbf = x->dtype == NC_BF16, ybf = nc_val(g, nd->outputs[0])->dtype == NC_BF16;
        RadixCtx rc = {cgb_gep_act(m, in, LLVMBuildNSWMul(b, pix, cgb_i64(m, RC), ""), xbf),
                       an,
                       cgb_gep_act(m, out, LLVMBuildNSWMul(b, pix, cgb_i64(m, C), ""), ybf),
                       R,
                       C,
                       xbf,
                       ybf};
        cgb_for_vectors(m, C, radix_combine_vec, &rc);
        cgb_loop_end(m, &lw);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

void nc_cg_emit_eltwise(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    switch (nd->op) {
    case NC_OP_RADIX_GAP: emit_radix_gap(m, g, nd, name); return;
    case NC_OP_RADIX_COMBINE: emit_radix_combine(m, g, nd, name); return;
    case NC_OP_SPLIT: emit_split_nhwc(m, g, nd, name); return;
    case NC_OP_MAX_POOL2D:
    case NC_OP_AVG_POOL2D: emit_window_pool_nhwc(m, g, nd, name); return;
    case NC_OP_GLOBAL_AVG_POOL: emit_gap(m, g, nd, name); return;
    default: break; /* add / mul, below */
    }
    const NcValue *y = nc_val(g, nd->outputs[0]);
    /* a tile is a row of the C channels of one pixel; a per-channel operand
     * is a vector per chunk of the row */
    const int64_t HW = y->shape[2] * y->shape[3], hw = y->shape[1];
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    const int nin = nd->ninputs;
    LLVMValueRef in[NC_MAXIN];
    int whole[NC_MAXIN];
    for (int i = 0; i < nin; i++) {
        in[i] = cgb_arg_ptr(m, LLVMGetParam(fn, 0), i);
        whole[i] = nc_shape_eq(nc_val(g, nd->inputs[i]), y);
    }
    LLVMValueRef out = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef chan0 = LLVMBuildNSWMul(m->b, LLVMBuildSDiv(m->b, t, cgb_i64(m, HW), ""), cgb_i64(m, hw), "");
    LLVMValueRef plane = LLVMBuildNSWMul(m->b, t, cgb_i64(m, hw), "");
    const int vw = m->vw;
    const int64_t nfull = hw / vw * vw;
    for (int part = 0; part < 2; part++) {
        /* whole vectors, then the ragged end under a mask */
        const int lanes = part ? (int)(hw - nfull) : nfull ? vw : 0;
        if (!lanes) continue;
        LLVMValueRef i = NULL;
        CgbLoop li;
        memset(&li, 0, sizeof li);
        if (!part)
            li = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, nfull), vw, &i);
        else
            i = cgb_i64(m, nfull);
        LLVMValueRef off = LLVMBuildNSWAdd(m->b, plane, i, "");
        LLVMValueRef v[NC_MAXIN];
        for (int k = 0; k < nin; k++)
            v[k] = cgb_load_n(m, cgb_gep(m, in[k], whole[k] ? off : LLVMBuildNSWAdd(m->b, chan0, i, "")), lanes);
        LLVMValueRef r =
            nd->op == NC_OP_ADD ? LLVMBuildFAdd(m->b, v[0], v[1], "") : LLVMBuildFMul(m->b, v[0], v[1], "");
        for (int s = 0; s < nd->attrs.nepi; s++) { /* each step rounds to f32, as the unfused ops would */
            LLVMValueRef o = v[nd->attrs.epi[s].input];
            r = nd->attrs.epi[s].kind == NC_EPI_ADD ? LLVMBuildFAdd(m->b, r, o, "") : LLVMBuildFMul(m->b, r, o, "");
        }
        cgb_store_n(m, r, cgb_gep(m, out, off), lanes);
        if (!part) cgb_loop_end(m, &li);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
}
