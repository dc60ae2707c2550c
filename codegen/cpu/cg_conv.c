/* cg_conv.c — direct convolution kernels as LLVM IR.
 *
 * Layout NCHW, vectors along the output row: a tile is `ocb` output channels
 * x one output row; inside it, chunks of 2 x VW outputs (VW = the vector width
 * in floats) keep ocb x 2 accumulators in registers across the whole
 * reduction over input channels and the kernel window.  Per step that is 2
 * vector loads of input (4 with a stride-2 deinterleave), ocb broadcast
 * weights and 2 x ocb FMAs — enough arithmetic per load to be compute-bound
 * for ocb = 4..6.  NCHW was chosen over NHWC because timm's tensors, the
 * interpreter and the planner are NCHW, and every conv here has a long
 * output row (56..224 at 224 input) to vectorise along; 7x7 and 14x14 rows
 * waste lanes, which a later NCHWc layout pass would fix.
 *
 * Loop counters and accumulators live in allocas; mem2reg/SROA in the O3
 * pipeline turn them into registers.  Constant trip counts everywhere: the
 * shapes are static.  The partial last chunk of a row is stored under a
 * mask; its loads read the slack the runtime guarantees (runtime/kernels.h). */
#include <string.h>

#include "codegen/cpu/cg_internal.h"
#include "ir/ops.h"

#define MAXOCB 8

/* Loops: for (i = 0; i < n; i++) with the counter in an alloca. */
typedef struct Loop {
    LLVMValueRef var;
    LLVMBasicBlockRef cond, body, exit;
} Loop;

static LLVMValueRef i64c(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }

static Loop loop_begin(Cg *cg, LLVMValueRef start, LLVMValueRef end, LLVMValueRef *index) {
    Loop l;
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(cg->b));
    l.var = cg_alloca(cg, cg->i64);
    LLVMBuildStore(cg->b, start, l.var);
    l.cond = LLVMAppendBasicBlockInContext(cg->ctx, fn, "cond");
    l.body = LLVMAppendBasicBlockInContext(cg->ctx, fn, "body");
    l.exit = LLVMAppendBasicBlockInContext(cg->ctx, fn, "exit");
    LLVMBuildBr(cg->b, l.cond);
    LLVMPositionBuilderAtEnd(cg->b, l.cond);
    LLVMValueRef i = LLVMBuildLoad2(cg->b, cg->i64, l.var, "i");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, i, end, ""), l.body, l.exit);
    LLVMPositionBuilderAtEnd(cg->b, l.body);
    *index = i;
    return l;
}

static void loop_end(Cg *cg, Loop *l) {
    LLVMValueRef i = LLVMBuildLoad2(cg->b, cg->i64, l->var, "");
    LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, i, i64c(cg, 1), ""), l->var);
    LLVMBuildBr(cg->b, l->cond);
    LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

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

/* VW inputs at stride 2 from ptr: two loads, keep the even lanes. */
static LLVMValueRef load_stride2(Cg *cg, LLVMValueRef ptr) {
    LLVMValueRef a = load_vec(cg, ptr), b = load_vec(cg, gep(cg, ptr, i64c(cg, cg->vw)));
    LLVMValueRef idx[32];
    for (int i = 0; i < cg->vw; i++) idx[i] = LLVMConstInt(LLVMInt32TypeInContext(cg->ctx), (unsigned long long)(2 * i), 0);
    return LLVMBuildShuffleVector(cg->b, a, b, LLVMConstVector(idx, (unsigned)cg->vw), "");
}

static LLVMValueRef fconst(Cg *cg, double v) { return splat(cg, LLVMConstReal(cg->f32, v)); }

/* exp(x) in vector registers (llvm.exp would become one libm call per lane):
 * x = n ln2 + r with |r| <= ln2 / 2, exp(r) by Cephes' degree-6 polynomial,
 * 2^n built in the exponent bits.  About 1 ulp; inputs clamped to +-88. */
static LLVMValueRef vexp(Cg *cg, LLVMValueRef x) {
    LLVMBuilderRef b = cg->b;
    x = cg_call(cg, "llvm.minnum", x, fconst(cg, 88.0), NULL);
    x = cg_call(cg, "llvm.maxnum", x, fconst(cg, -88.0), NULL);
    LLVMValueRef n = cg_call(cg, "llvm.floor", cg_call(cg, "llvm.fma", x, fconst(cg, 1.44269504088896341), fconst(cg, 0.5)), NULL, NULL);
    LLVMValueRef r = cg_call(cg, "llvm.fma", n, fconst(cg, -0.693359375), x);
    r = cg_call(cg, "llvm.fma", n, fconst(cg, 2.12194440e-4), r);
    static const double c[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
    LLVMValueRef p = fconst(cg, c[0]);
    for (int i = 1; i < 6; i++) p = cg_call(cg, "llvm.fma", p, r, fconst(cg, c[i]));
    LLVMValueRef r2 = LLVMBuildFMul(b, r, r, "");
    p = cg_call(cg, "llvm.fma", p, r2, LLVMBuildFAdd(b, r, fconst(cg, 1.0), ""));
    LLVMTypeRef iv = LLVMVectorType(LLVMInt32TypeInContext(cg->ctx), (unsigned)cg->vw);
    LLVMValueRef ni = LLVMBuildFPToSI(b, n, iv, "");
    LLVMValueRef k127[32], k23[32];
    for (int i = 0; i < cg->vw; i++) {
        k127[i] = LLVMConstInt(LLVMInt32TypeInContext(cg->ctx), 127, 0);
        k23[i] = LLVMConstInt(LLVMInt32TypeInContext(cg->ctx), 23, 0);
    }
    LLVMValueRef pow2 = LLVMBuildShl(b, LLVMBuildAdd(b, ni, LLVMConstVector(k127, (unsigned)cg->vw), ""),
                                     LLVMConstVector(k23, (unsigned)cg->vw), "");
    return LLVMBuildFMul(b, p, LLVMBuildBitCast(b, pow2, cg->vec, ""), "");
}

static LLVMValueRef epilogue(Cg *cg, const NcAttrs *a, LLVMValueRef v, LLVMValueRef extra, LLVMValueRef n,
                             LLVMValueRef oc, LLVMValueRef yoff, const int *extra_kind, int first_extra) {
    for (int s = 0; s < a->nepi; s++) {
        const NcEpilogue *ep = &a->epi[s];
        switch (ep->kind) {
        case NC_EPI_RELU: v = cg_call(cg, "llvm.maxnum", v, LLVMConstNull(cg->vec), NULL); break;
        case NC_EPI_CLAMP:
            v = cg_call(cg, "llvm.maxnum", v, splat(cg, LLVMConstReal(cg->f32, ep->lo)), NULL);
            v = cg_call(cg, "llvm.minnum", v, splat(cg, LLVMConstReal(cg->f32, ep->hi)), NULL);
            break;
        case NC_EPI_SILU:
        case NC_EPI_SIGMOID: {
            LLVMValueRef one = splat(cg, LLVMConstReal(cg->f32, 1.0));
            LLVMValueRef ex = vexp(cg, LLVMBuildFNeg(cg->b, v, ""));
            LLVMValueRef sig = LLVMBuildFDiv(cg->b, one, LLVMBuildFAdd(cg->b, one, ex, ""), "");
            v = ep->kind == NC_EPI_SILU ? LLVMBuildFMul(cg->b, v, sig, "") : sig;
            break;
        }
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

int cg_conv_supported(const NcGraph *g, const NcNode *nd, int *ocb_out, const char **why) {
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
    const int64_t og = w->shape[0] / a->groups;
    static const int choices[] = {6, 4, 3, 2, 1};
    int ocb = 1;
    for (int i = 0; i < 5; i++)
        if (og % choices[i] == 0) {
            ocb = choices[i];
            break;
        }
    *ocb_out = ocb;
    return 1;
}

/* A 1x1 stride-1 conv without padding reads and writes whole planes: one
 * row of H x W outputs uses the vector lanes far better than 7 rows of 7. */
int cg_conv_flat(const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *w = nc_val(g, nd->inputs[1]);
    return w->shape[2] == 1 && w->shape[3] == 1 && a->stride[0] == 1 && a->stride[1] == 1 && !a->pad[0] && !a->pad[1] &&
           !a->pad[2] && !a->pad[3];
}

/* Chunks per spatial block of a flattened plane: the block's input (all its
 * channels) should stay in L2 while every channel block is computed on it. */
int64_t cg_conv_block(int64_t cg_in, int64_t nchunks, int chunk_floats) {
    int64_t sb = (128 * 1024) / (cg_in * chunk_floats * (int64_t)sizeof(float));
    return sb < 1 ? 1 : sb > nchunks ? nchunks : sb;
}

/* Emits `name` for one conv node. */
void cg_emit_conv(Cg *cg, const NcGraph *g, const NcNode *nd, const char *name, int ocb) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    const int flat = cg_conv_flat(g, nd);
    const int64_t N = x->shape[0], C = x->shape[1], H = flat ? 1 : x->shape[2], W = flat ? x->shape[2] * x->shape[3] : x->shape[3];
    const int64_t O = w->shape[0], CG = w->shape[1], KH = w->shape[2], KW = w->shape[3];
    const int64_t OH = flat ? 1 : y->shape[2], OW = flat ? y->shape[2] * y->shape[3] : y->shape[3], G = a->groups, OG = O / G;
    const int64_t Hp = H + a->pad[0] + a->pad[2], Wp = W + a->pad[1] + a->pad[3];
    const int s = a->stride[0], VW = cg->vw, CH = 2 * VW; /* outputs per chunk */
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
    cg->entry = entry;

    LLVMValueRef t;
    Loop lt = loop_begin(cg, LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), &t);
    /* t = (n * rows + row) * nob + ob: the channel block varies fastest, so
     * consecutive tiles on one thread reuse the same input rows from cache.
     * row is an output row, or for a flattened plane a block of sb chunks. */
    const int64_t rows = flat ? (nchunks + sb - 1) / sb : OH;
    LLVMValueRef ob = LLVMBuildSRem(cg->b, t, i64c(cg, nob), "ob");
    LLVMValueRef r = LLVMBuildSDiv(cg->b, t, i64c(cg, nob), "");
    LLVMValueRef row = LLVMBuildSRem(cg->b, r, i64c(cg, rows), "row");
    LLVMValueRef n = LLVMBuildSDiv(cg->b, r, i64c(cg, rows), "n");
    LLVMValueRef oh = flat ? i64c(cg, 0) : row;
    LLVMValueRef oc0 = LLVMBuildMul(cg->b, ob, i64c(cg, ocb), "oc0");
    LLVMValueRef grp = LLVMBuildSDiv(cg->b, oc0, i64c(cg, OG), "g");
    /* input plane of channel 0 of this group, row oh * s */
    LLVMValueRef xplane0 = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, n, i64c(cg, C), ""),
                                                            LLVMBuildMul(cg->b, grp, i64c(cg, CG), ""), ""),
                                        i64c(cg, Hp * Wp), "");
    LLVMValueRef xrow0 = LLVMBuildAdd(cg->b, xplane0, LLVMBuildMul(cg->b, oh, i64c(cg, s * Wp), ""), "");
    LLVMValueRef acc[MAXOCB][2];
    for (int b = 0; b < ocb; b++)
        for (int v = 0; v < 2; v++) acc[b][v] = cg_alloca(cg, cg->vec);

    LLVMValueRef chunk;
    LLVMValueRef c_begin = flat ? LLVMBuildMul(cg->b, row, i64c(cg, sb), "") : i64c(cg, 0);
    LLVMValueRef c_end = flat ? LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMBuildAdd(cg->b, c_begin, i64c(cg, sb), ""), i64c(cg, nchunks), ""),
                                                LLVMBuildAdd(cg->b, c_begin, i64c(cg, sb), ""), i64c(cg, nchunks), "")
                              : i64c(cg, nchunks);
    Loop lc = loop_begin(cg, c_begin, c_end, &chunk);
    LLVMValueRef ow0 = LLVMBuildMul(cg->b, chunk, i64c(cg, CH), "ow0");
    for (int b = 0; b < ocb; b++) {
        LLVMValueRef init = LLVMConstNull(cg->vec);
        if (a->has_bias) {
            LLVMValueRef bi = LLVMBuildAdd(cg->b, oc0, i64c(cg, b), "");
            init = splat(cg, LLVMBuildLoad2(cg->b, cg->f32, gep(cg, bp, bi), ""));
        }
        for (int v = 0; v < 2; v++) LLVMBuildStore(cg->b, init, acc[b][v]);
    }
    LLVMValueRef c, kh;
    Loop lcc = loop_begin(cg, i64c(cg, 0), i64c(cg, CG), &c);
    LLVMValueRef xc = LLVMBuildAdd(cg->b, xrow0, LLVMBuildMul(cg->b, c, i64c(cg, Hp * Wp), ""), "");
    LLVMValueRef xcol = LLVMBuildAdd(cg->b, xc, LLVMBuildMul(cg->b, ow0, i64c(cg, s), ""), "");
    /* weights of output channel oc0 + b at (c, kh, kw): ((oc0 + b) * CG + c) * KH * KW + kh * KW + kw */
    LLVMValueRef wbase = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, oc0, i64c(cg, CG), ""), c, ""),
                                      i64c(cg, KH * KW), "");
    Loop lkh = loop_begin(cg, i64c(cg, 0), i64c(cg, KH), &kh);
    LLVMValueRef xrow = LLVMBuildAdd(cg->b, xcol, LLVMBuildMul(cg->b, kh, i64c(cg, Wp), ""), "");
    LLVMValueRef wrow = LLVMBuildAdd(cg->b, wbase, LLVMBuildMul(cg->b, kh, i64c(cg, KW), ""), "");
    for (int64_t kw = 0; kw < KW; kw++) { /* the window's width is unrolled */
        LLVMValueRef xv[2];
        for (int v = 0; v < 2; v++) {
            LLVMValueRef p = gep(cg, xp, LLVMBuildAdd(cg->b, xrow, i64c(cg, kw + (int64_t)v * VW * s), ""));
            xv[v] = s == 1 ? load_vec(cg, p) : load_stride2(cg, p);
        }
        for (int b = 0; b < ocb; b++) {
            LLVMValueRef wi = LLVMBuildAdd(cg->b, wrow, i64c(cg, kw + (int64_t)b * CG * KH * KW), "");
            LLVMValueRef wv = splat(cg, LLVMBuildLoad2(cg->b, cg->f32, gep(cg, wp, wi), ""));
            for (int v = 0; v < 2; v++) {
                LLVMValueRef cur = LLVMBuildLoad2(cg->b, cg->vec, acc[b][v], "");
                LLVMBuildStore(cg->b, cg_call(cg, "llvm.fma", wv, xv[v], cur), acc[b][v]);
            }
        }
    }
    loop_end(cg, &lkh);
    loop_end(cg, &lcc);
    /* epilogue and store: y[((n * O + oc) * OH + oh) * OW + ow] */
    LLVMValueRef remaining = LLVMBuildSub(cg->b, i64c(cg, OW), ow0, "");
    for (int b = 0; b < ocb; b++) {
        LLVMValueRef oc = LLVMBuildAdd(cg->b, oc0, i64c(cg, b), "");
        LLVMValueRef yrow = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, n, i64c(cg, O), ""), oc, ""), i64c(cg, OH), ""), oh, ""),
                                         i64c(cg, OW), "");
        for (int v = 0; v < 2; v++) {
            LLVMValueRef off = LLVMBuildAdd(cg->b, yrow, LLVMBuildAdd(cg->b, ow0, i64c(cg, (int64_t)v * VW), ""), "");
            LLVMValueRef val = LLVMBuildLoad2(cg->b, cg->vec, acc[b][v], "");
            val = epilogue(cg, a, val, extra, n, oc, off, extra_kind, first_extra);
            /* lanes v*VW + i < remaining are real outputs */
            LLVMValueRef lane[32];
            for (int i = 0; i < VW; i++) lane[i] = i64c(cg, (int64_t)v * VW + i);
            LLVMValueRef mask = LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(lane, (unsigned)VW), cg_splat_i64(cg, remaining), "");
            cg_masked_store(cg, val, gep(cg, yp, off), mask);
        }
    }
    loop_end(cg, &lc);
    loop_end(cg, &lt);
    LLVMBuildRetVoid(cg->b);
}
