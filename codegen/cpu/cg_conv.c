/* cg_conv.c — direct convolution kernels as LLVM IR.
 *
 * Layout NCHW, vectors along the output row: a tile is `ocb` output channels
 * x `rb` output rows; inside it, chunks of nv x VW outputs (VW = the vector
 * width in floats) of each row keep ocb x rb x nv accumulators in registers
 * across the whole reduction over input channels and the kernel window.  Per
 * step that is rb x nv vector loads of input, ocb broadcast weights and
 * ocb x rb x nv FMAs; cg_conv_supported picks (ocb, rb, nv) per conv by a
 * small cost model (lanes used, FMA latency, loads).  Stacking rows (rb > 1)
 * with nv = 1 keeps 7- and 14-wide rows from wasting lanes, and gives
 * depthwise convs (ocb = 1) enough independent accumulators.  Rows past the
 * end of a ragged last row group recompute the last row and are not stored.
 * NCHW was chosen over NHWC because timm's tensors, the interpreter and the
 * planner are NCHW.
 *
 * Stride 2 reads a polyphase input (runtime/kernels.h NC_KERNEL_POLYPHASE:
 * every padded row split into its even and odd columns), so every load is
 * contiguous.  The padded / scaled / split input is made by a generated prep
 * function (cg_emit_conv_prep, one tile per plane) the runtime runs first.
 *
 * Loop counters and accumulators live in allocas; mem2reg/SROA in the O3
 * pipeline turn them into registers.  Constant trip counts everywhere: the
 * shapes are static.  The partial last chunk of a row is stored under a
 * mask; its loads read the slack the runtime guarantees (runtime/kernels.h). */
#include <string.h>

#include "codegen/cpu/cg_internal.h"
#include "ir/ops.h"

#define MAXOCB 8

static LLVMValueRef i64c(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }


static LLVMValueRef gep(Cg *cg, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(cg->b, cg->f32, base, &idx, 1, "");
}

static LLVMValueRef load_vec(Cg *cg, LLVMValueRef ptr) {
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->vec, ptr, "");
    LLVMSetAlignment(v, 4);
    return v;
}

static LLVMValueRef splat(Cg *cg, LLVMValueRef scalar) {
    LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(cg->vec), scalar, i64c(cg, 0), "");
    LLVMValueRef zero = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(cg->ctx), (unsigned)cg->vw));
    return LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(cg->vec), zero, "");
}

static LLVMValueRef epilogue(Cg *cg, const NcAttrs *a, LLVMValueRef v, LLVMValueRef extra, LLVMValueRef n,
                             LLVMValueRef oc, LLVMValueRef yoff, const int *extra_kind, int first_extra) {
    for (int s = 0; s < a->nepi; s++) {
        const NcEpilogue *ep = &a->epi[s];
        switch (ep->kind) {
        case NC_EPI_RELU:
        case NC_EPI_CLAMP:
        case NC_EPI_SILU:
        case NC_EPI_SIGMOID: v = cgb_activation(cg->m, ep->kind, ep->lo, ep->hi, v); break;
        case NC_EPI_ADD:
        case NC_EPI_MUL: {
            int k = ep->input - first_extra;
            LLVMValueRef kk = i64c(cg, k);
            LLVMValueRef p = LLVMBuildLoad2(cg->b, cg->ptr, LLVMBuildGEP2(cg->b, cg->ptr, extra, &kk, 1, ""), "");
            LLVMValueRef o;
            if (extra_kind[k] == 0) { /* same shape as the output */
                o = load_vec(cg, gep(cg, p, yoff));
            } else { /* [N, O, 1, 1]: one value per output channel */
                LLVMValueRef idx = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, n, i64c(cg, cg->cur_o), ""), oc, "");
                o = splat(cg, LLVMBuildLoad2(cg->b, cg->f32, gep(cg, p, idx), ""));
            }
            v = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(cg->b, v, o, "") : LLVMBuildFMul(cg->b, v, o, "");
            break;
        }
        }
    }
    return v;
}

int cg_conv_supported(const NcGraph *g, const NcNode *nd, int vw, CgConvBlock *blk, const char **why) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilation", 0;
    if (a->stride[0] != a->stride[1] || a->stride[0] > 2) return *why = "stride other than 1 or 2", 0;
    /* epilogue operands: same shape as the output, or one value per channel */
    for (int s = 0; s < a->nepi; s++) {
        if (a->epi[s].kind != NC_EPI_ADD && a->epi[s].kind != NC_EPI_MUL) continue;
        const NcValue *o = nc_val(g, nd->inputs[a->epi[s].input]);
        int same = nc_shape_eq(o, y);
        int per_channel = o->ndim == 4 && o->shape[0] == y->shape[0] && o->shape[1] == y->shape[1] && o->shape[2] == 1 && o->shape[3] == 1;
        if (!same && !per_channel) return *why = "an epilogue operand that broadcasts otherwise", 0;
        if (same && o->kind != NC_VAL_NODE) return *why = "a residual that is not an intermediate (no read slack)", 0;
    }
    /* The register block: ocb output channels x rb output rows x nv vectors
     * along the row, ocb * rb * nv accumulators.  Per (input channel, kh, kw)
     * step it loads rb * nv input vectors (twice that at stride 2) and ocb
     * weights, and issues ocb * rb * nv FMAs, each on its own accumulator.
     * Model of a step on a 2-FMA-port core with a 4-cycle FMA latency and 2
     * vector loads per cycle: max(acc / 2, 4, loads / 2) cycles for acc x
     * (lanes used) useful FMAs.  Small rows (7, 14) want nv = 1 and rows
     * stacked instead (rb), depthwise convs (ocb = 1) want rb * nv >= 8. */
    const int64_t og = w->shape[0] / a->groups, OH = cg_conv_flat(g, nd) ? 1 : y->shape[2];
    const int64_t OW = cg_conv_flat(g, nd) ? y->shape[2] * y->shape[3] : y->shape[3];
    static const int ocbs[] = {8, 6, 4, 3, 2, 1};
    double best = -1;
    for (int i = 0; i < 6; i++) {
        if (og % ocbs[i]) continue;
        for (int rb = 1; rb <= 8 && rb <= OH; rb++) {
            const double rutil = (double)OH / (double)((OH + rb - 1) / rb * rb); /* a ragged last row group */
            for (int nv = 1; nv <= 3; nv++) {
                const int ocb = ocbs[i], acc = ocb * rb * nv, loads = rb * nv + ocb;
                if (acc > 12 || ocb > MAXOCB) continue;
                const int64_t ch = (int64_t)nv * vw, chunks = (OW + ch - 1) / ch;
                const double util = rutil * (double)OW / (double)(chunks * ch);
                double t = acc / 2.0;
                if (t < 4) t = 4; /* (a margin, 5, to favour 12 accumulators measured 5-15% slower on resnet50) */
                if (loads / 2.0 > t) t = loads / 2.0;
                const double score = acc * util / (2 * t) + 0.001 * acc; /* ties: more accumulators */
                if (score > best) best = score, blk->ocb = ocb, blk->rb = rb, blk->nv = nv;
            }
        }
    }
    return 1;
}

int64_t cg_conv_rows(const NcGraph *g, const NcNode *nd, int vw, const CgConvBlock *blk) {
    const NcValue *y = nc_val(g, nd->outputs[0]);
    if (!cg_conv_flat(g, nd)) return (y->shape[2] + blk->rb - 1) / blk->rb;
    const int64_t ch = (int64_t)blk->nv * vw, nchunks = (y->shape[2] * y->shape[3] + ch - 1) / ch;
    const int64_t sb = cg_conv_block(nc_val(g, nd->inputs[1])->shape[1], nchunks, (int)ch);
    return (nchunks + sb - 1) / sb;
}

/* A 1x1 stride-1 conv without padding reads and writes whole planes: one
 * row of H x W outputs uses the vector lanes far better than 7 rows of 7. */
int cg_conv_flat(const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *w = nc_val(g, nd->inputs[1]);
    return w->shape[2] == 1 && w->shape[3] == 1 && a->stride[0] == 1 && a->stride[1] == 1 && !a->pad[0] && !a->pad[1] &&
           !a->pad[2] && !a->pad[3];
}

int cg_conv_polyphase(const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    return a->stride[0] == 2 && a->stride[1] == 2 && !cg_conv_flat(g, nd);
}

/* Chunks per spatial block of a flattened plane: the block's input (all its
 * channels) should stay in L2 while every channel block is computed on it. */
int64_t cg_conv_block(int64_t cg_in, int64_t nchunks, int chunk_floats) {
    int64_t sb = (128 * 1024) / (cg_in * chunk_floats * (int64_t)sizeof(float));
    return sb < 1 ? 1 : sb > nchunks ? nchunks : sb;
}

/* Emits `name` for one conv node. */
void cg_emit_conv(Cg *cg, const NcGraph *g, const NcNode *nd, const char *name, const CgConvBlock *blk) {
    const int ocb = blk->ocb, RB = blk->rb, NV = blk->nv;
    const NcAttrs *a = &nd->attrs;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    const int flat = cg_conv_flat(g, nd);
    const int64_t N = x->shape[0], C = x->shape[1], H = flat ? 1 : x->shape[2], W = flat ? x->shape[2] * x->shape[3] : x->shape[3];
    const int64_t O = w->shape[0], CG = w->shape[1], KH = w->shape[2], KW = w->shape[3];
    const int64_t OH = flat ? 1 : y->shape[2], OW = flat ? y->shape[2] * y->shape[3] : y->shape[3], G = a->groups, OG = O / G;
    const int64_t Hp = H + a->pad[0] + a->pad[2], Wp0 = W + a->pad[1] + a->pad[3];
    /* stride 2: the runtime splits every padded row into its even and odd
     * columns (NC_KERNEL_POLYPHASE), Wh = ceil(Wp / 2) each, so input column
     * 2 * ow + kw is (kw & 1) * Wh + ow + kw / 2 — contiguous in ow */
    const int poly = cg_conv_polyphase(g, nd);
    const int64_t Wh = (Wp0 + 1) / 2, Wp = poly ? 2 * Wh : Wp0, cs = poly ? 1 : a->stride[0]; /* row pitch, column step */
    const int s = a->stride[0], VW = cg->vw, CH = NV * VW; /* outputs per chunk (of each of RB rows) */
    const int64_t nob = O / ocb, nchunks = (OW + CH - 1) / CH;
    const int64_t sb = cg_conv_block(CG, nchunks, CH);
    (void)N;
    cg->cur_o = O;
    int extra_kind[NC_MAX_EPI] = {0};
    const int first_extra = nc_epi_first_input(a);
    for (int st = 0; st < a->nepi; st++)
        if (a->epi[st].kind == NC_EPI_ADD || a->epi[st].kind == NC_EPI_MUL)
            extra_kind[a->epi[st].input - first_extra] = !nc_shape_eq(nc_val(g, nd->inputs[a->epi[st].input]), y);

    LLVMTypeRef params[7] = {cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->i64, cg->i64};
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(cg->ctx), params, 7, 0));
    LLVMValueRef xp = LLVMGetParam(fn, 0), wp = LLVMGetParam(fn, 1), bp = LLVMGetParam(fn, 2), extra = LLVMGetParam(fn, 3),
                 yp = LLVMGetParam(fn, 4);
    for (int i = 0; i < 5; i++) LLVMAddAttributeAtIndex(fn, (unsigned)(i + 1), cg->noalias), LLVMAddAttributeAtIndex(fn, (unsigned)(i + 1), cg->nocapture);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(cg->b, entry);
    cg->m->fn = fn, cg->m->entry = entry; /* the loops and allocas of cg_build.h build into this function */

    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(cg->m, LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), 1, &t);
    /* t = (n * rows + row) * nob + ob: the channel block varies fastest, so
     * consecutive tiles on one thread reuse the same input rows from cache.
     * row is an output row, or for a flattened plane a block of sb chunks. */
    const int64_t rows = flat ? (nchunks + sb - 1) / sb : (OH + RB - 1) / RB;
    LLVMValueRef ob = LLVMBuildSRem(cg->b, t, i64c(cg, nob), "ob");
    LLVMValueRef r = LLVMBuildSDiv(cg->b, t, i64c(cg, nob), "");
    LLVMValueRef row = LLVMBuildSRem(cg->b, r, i64c(cg, rows), "row");
    LLVMValueRef n = LLVMBuildSDiv(cg->b, r, i64c(cg, rows), "n");
    LLVMValueRef oh = flat ? i64c(cg, 0) : LLVMBuildMul(cg->b, row, i64c(cg, RB), "oh"); /* the first of RB rows */
    /* Rows of a ragged last group past OH recompute row OH - 1 (so nothing
     * is read out of bounds) and are not stored. */
    LLVMValueRef ohq[12], valid[12], xq[12];
    for (int q = 0; q < RB; q++) {
        LLVMValueRef rq = LLVMBuildAdd(cg->b, oh, i64c(cg, q), "");
        valid[q] = LLVMBuildICmp(cg->b, LLVMIntSLT, rq, i64c(cg, OH), "");
        ohq[q] = LLVMBuildSelect(cg->b, valid[q], rq, i64c(cg, OH - 1), "");
        xq[q] = LLVMBuildMul(cg->b, LLVMBuildSub(cg->b, ohq[q], oh, ""), i64c(cg, s * Wp), "");
    }
    LLVMValueRef oc0 = LLVMBuildMul(cg->b, ob, i64c(cg, ocb), "oc0");
    LLVMValueRef grp = LLVMBuildSDiv(cg->b, oc0, i64c(cg, OG), "g");
    /* input plane of channel 0 of this group, row oh * s */
    LLVMValueRef xplane0 = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, n, i64c(cg, C), ""),
                                                            LLVMBuildMul(cg->b, grp, i64c(cg, CG), ""), ""),
                                        i64c(cg, Hp * Wp), "");
    LLVMValueRef xrow0 = LLVMBuildAdd(cg->b, xplane0, LLVMBuildMul(cg->b, oh, i64c(cg, s * Wp), ""), "");
    LLVMValueRef acc[MAXOCB][12][3];
    for (int b = 0; b < ocb; b++)
        for (int q = 0; q < RB; q++)
            for (int v = 0; v < NV; v++) acc[b][q][v] = cgb_var(cg->m, cg->vec);

    LLVMValueRef chunk;
    LLVMValueRef c_begin = flat ? LLVMBuildMul(cg->b, row, i64c(cg, sb), "") : i64c(cg, 0);
    LLVMValueRef c_end = flat ? LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMBuildAdd(cg->b, c_begin, i64c(cg, sb), ""), i64c(cg, nchunks), ""),
                                                LLVMBuildAdd(cg->b, c_begin, i64c(cg, sb), ""), i64c(cg, nchunks), "")
                              : i64c(cg, nchunks);
    CgbLoop lc = cgb_loop_begin(cg->m, c_begin, c_end, 1, &chunk);
    LLVMValueRef ow0 = LLVMBuildMul(cg->b, chunk, i64c(cg, CH), "ow0");
    for (int b = 0; b < ocb; b++) {
        LLVMValueRef init = LLVMConstNull(cg->vec);
        if (a->has_bias) {
            LLVMValueRef bi = LLVMBuildAdd(cg->b, oc0, i64c(cg, b), "");
            init = splat(cg, LLVMBuildLoad2(cg->b, cg->f32, gep(cg, bp, bi), ""));
        }
        for (int q = 0; q < RB; q++)
            for (int v = 0; v < NV; v++) LLVMBuildStore(cg->b, init, acc[b][q][v]);
    }
    LLVMValueRef c, kh;
    CgbLoop lcc = cgb_loop_begin(cg->m, i64c(cg, 0), i64c(cg, CG), 1, &c);
    LLVMValueRef xc = LLVMBuildAdd(cg->b, xrow0, LLVMBuildMul(cg->b, c, i64c(cg, Hp * Wp), ""), "");
    LLVMValueRef xcol = LLVMBuildAdd(cg->b, xc, LLVMBuildMul(cg->b, ow0, i64c(cg, cs), ""), "");
    /* weights of output channel oc0 + b at (c, kh, kw): ((oc0 + b) * CG + c) * KH * KW + kh * KW + kw */
    LLVMValueRef wbase = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, oc0, i64c(cg, CG), ""), c, ""),
                                      i64c(cg, KH * KW), "");
    CgbLoop lkh = cgb_loop_begin(cg->m, i64c(cg, 0), i64c(cg, KH), 1, &kh);
    LLVMValueRef xrow = LLVMBuildAdd(cg->b, xcol, LLVMBuildMul(cg->b, kh, i64c(cg, Wp), ""), "");
    LLVMValueRef wrow = LLVMBuildAdd(cg->b, wbase, LLVMBuildMul(cg->b, kh, i64c(cg, KW), ""), "");
    for (int64_t kw = 0; kw < KW; kw++) { /* the window's width is unrolled */
        LLVMValueRef xv[12][3];
        for (int q = 0; q < RB; q++)
            for (int v = 0; v < NV; v++) {
                const int64_t col = poly ? (kw & 1) * Wh + kw / 2 + (int64_t)v * VW : kw + (int64_t)v * VW * s;
                LLVMValueRef p = gep(cg, xp, LLVMBuildAdd(cg->b, LLVMBuildAdd(cg->b, xrow, xq[q], ""), i64c(cg, col), ""));
                xv[q][v] = load_vec(cg, p);
            }
        for (int b = 0; b < ocb; b++) {
            LLVMValueRef wi = LLVMBuildAdd(cg->b, wrow, i64c(cg, kw + (int64_t)b * CG * KH * KW), "");
            LLVMValueRef wv = splat(cg, LLVMBuildLoad2(cg->b, cg->f32, gep(cg, wp, wi), ""));
            for (int q = 0; q < RB; q++)
                for (int v = 0; v < NV; v++) {
                    LLVMValueRef cur = LLVMBuildLoad2(cg->b, cg->vec, acc[b][q][v], "");
                    LLVMBuildStore(cg->b, cg_call(cg, "llvm.fma", wv, xv[q][v], cur), acc[b][q][v]);
                }
        }
    }
    cgb_loop_end(cg->m, &lkh);
    cgb_loop_end(cg->m, &lcc);
    /* epilogue and store: y[((n * O + oc) * OH + oh) * OW + ow] */
    LLVMValueRef remaining = LLVMBuildSub(cg->b, i64c(cg, OW), ow0, "");
    for (int b = 0; b < ocb; b++) {
        LLVMValueRef oc = LLVMBuildAdd(cg->b, oc0, i64c(cg, b), "");
        LLVMValueRef plane = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, n, i64c(cg, O), ""), oc, ""), i64c(cg, OH), "");
        for (int q = 0; q < RB; q++)
        for (int v = 0; v < NV; v++) {
            LLVMValueRef yrow = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, plane, ohq[q], ""), i64c(cg, OW), "");
            LLVMValueRef off = LLVMBuildAdd(cg->b, yrow, LLVMBuildAdd(cg->b, ow0, i64c(cg, (int64_t)v * VW), ""), "");
            LLVMValueRef val = LLVMBuildLoad2(cg->b, cg->vec, acc[b][q][v], "");
            val = epilogue(cg, a, val, extra, n, oc, off, extra_kind, first_extra);
            /* lanes v*VW + i < remaining are real outputs */
            LLVMValueRef lane[32];
            for (int i = 0; i < VW; i++) lane[i] = i64c(cg, (int64_t)v * VW + i);
            LLVMValueRef mask = LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(lane, (unsigned)VW), cg_splat_i64(cg, remaining), "");
            if (!flat) /* and nothing of a row past OH */
                mask = LLVMBuildAnd(cg->b, mask, LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(lane, (unsigned)VW),
                                                                cg_splat_i64(cg, LLVMBuildSelect(cg->b, valid[q], remaining, i64c(cg, 0), "")), ""), "");
            cgb_store_mask(cg->m, val, gep(cg, yp, off), mask);
        }
    }
    cgb_loop_end(cg->m, &lc);
    cgb_loop_end(cg->m, &lt);
    LLVMBuildRetVoid(cg->b);
}

/* The input of a direct conv as the kernel reads it (runtime/kernels.h):
 * zero-padded, scaled per channel when the node is input-scaled, and at
 * stride 2 split into even and odd columns.  One tile per (n, c) plane:
 * in[] the node's inputs, out[0] the [N, C, Hp, Wp'] buffer. */
void cg_emit_conv_prep(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int64_t H = x->shape[2], W = x->shape[3];
    const int pt = a->pad[0], pl = a->pad[1], pb = a->pad[2], pr = a->pad[3];
    const int poly = cg_conv_polyphase(g, nd), vw = m->vw;
    const int64_t Hp = H + pt + pb, Wp0 = W + pl + pr, Wh = (Wp0 + 1) / 2, Wp = poly ? 2 * Wh : Wp0;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef xp = cgb_arg_ptr(m, in, 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef scale = a->has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(a)) : NULL;
    /* stride 2: each padded row is assembled here first, zeros around it */
    const int64_t rb_len = Wp0 + 2 * vw + 2;
    LLVMValueRef rowbuf = poly ? cgb_var(m, LLVMArrayType2(m->f32, (uint64_t)rb_len)) : NULL;
    if (poly)
        for (int64_t j = 0; j < rb_len; j += vw) cgb_store_n(m, cgb_zero(m), cgb_gep(m, rowbuf, cgb_i64(m, j)), (int)(rb_len - j < vw ? rb_len - j : vw));
    LLVMValueRef t, r, j;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef sv = scale ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, scale, t), "")) : NULL;
    LLVMValueRef src0 = LLVMBuildNSWMul(b, t, cgb_i64(m, H * W), ""), dst0 = LLVMBuildNSWMul(b, t, cgb_i64(m, Hp * Wp), "");
    /* zero rows above and below */
    for (int part = 0; part < 2; part++) {
        const int64_t r0 = part ? pt + H : 0, r1 = part ? Hp : pt;
        if (r1 <= r0) continue;
        LLVMValueRef base = LLVMBuildNSWAdd(b, dst0, cgb_i64(m, r0 * Wp), "");
        const int64_t len = (r1 - r0) * Wp, full = len / vw * vw;
        if (full) {
            CgbLoop lz = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), vw, &j);
            cgb_store(m, cgb_zero(m), cgb_gep(m, dst, LLVMBuildNSWAdd(b, base, j, "")));
            cgb_loop_end(m, &lz);
        }
        if (len > full) cgb_store_n(m, cgb_zero(m), cgb_gep(m, dst, LLVMBuildNSWAdd(b, base, cgb_i64(m, full), "")), (int)(len - full));
    }
    CgbLoop lr = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, H), 1, &r);
    LLVMValueRef src = LLVMBuildNSWAdd(b, src0, LLVMBuildNSWMul(b, r, cgb_i64(m, W), ""), "");
    LLVMValueRef drow = LLVMBuildNSWAdd(b, dst0, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, r, cgb_i64(m, pt), ""), cgb_i64(m, Wp), ""), "");
    /* the row's W values (scaled) go to out + pl: dst's row, or rowbuf */
    LLVMValueRef out = poly ? cgb_gep(m, rowbuf, cgb_i64(m, pl)) : cgb_gep(m, dst, LLVMBuildNSWAdd(b, drow, cgb_i64(m, pl), ""));
    const int64_t full = W / vw * vw;
    for (int part = 0; part < 2; part++) {
        const int lanes = part ? (int)(W - full) : full ? vw : 0;
        if (!lanes) continue;
        LLVMValueRef jj = NULL;
        CgbLoop lj;
        memset(&lj, 0, sizeof lj);
        if (!part) lj = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), vw, &jj);
        else jj = cgb_i64(m, full);
        LLVMValueRef v = cgb_load_n(m, cgb_gep(m, xp, LLVMBuildNSWAdd(b, src, jj, "")), lanes);
        if (sv) v = LLVMBuildFMul(b, v, sv, "");
        cgb_store_n(m, v, cgb_gep(m, out, jj), lanes);
        if (!part) cgb_loop_end(m, &lj);
    }
    if (!poly) { /* the side padding, in dst's row */
        for (int i = 0; i < pl; i++) LLVMBuildStore(b, cgb_f32(m, 0.0), cgb_gep(m, dst, LLVMBuildNSWAdd(b, drow, cgb_i64(m, i), "")));
        for (int i = 0; i < pr; i++)
            LLVMBuildStore(b, cgb_f32(m, 0.0), cgb_gep(m, dst, LLVMBuildNSWAdd(b, drow, cgb_i64(m, pl + W + i), "")));
    } else { /* even columns to drow[0, Wh), odd to drow[Wh, 2 Wh) */
        LLVMValueRef ev[32], od[32];
        for (int i = 0; i < vw; i++) ev[i] = LLVMConstInt(m->i32, (unsigned long long)(2 * i), 0), od[i] = LLVMConstInt(m->i32, (unsigned long long)(2 * i + 1), 0);
        LLVMValueRef evm = LLVMConstVector(ev, (unsigned)vw), odm = LLVMConstVector(od, (unsigned)vw);
        for (int64_t i = 0; i < Wh; i += vw) { /* Wh is small (<= 115 at 224): unrolled */
            const int n = (int)(Wh - i < vw ? Wh - i : vw);
            LLVMValueRef lo = cgb_load(m, cgb_gep(m, rowbuf, cgb_i64(m, 2 * i))), hi = cgb_load(m, cgb_gep(m, rowbuf, cgb_i64(m, 2 * i + vw)));
            cgb_store_n(m, LLVMBuildShuffleVector(b, lo, hi, evm, ""), cgb_gep(m, dst, LLVMBuildNSWAdd(b, drow, cgb_i64(m, i), "")), n);
            cgb_store_n(m, LLVMBuildShuffleVector(b, lo, hi, odm, ""), cgb_gep(m, dst, LLVMBuildNSWAdd(b, drow, cgb_i64(m, Wh + i), "")), n);
        }
    }
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}
