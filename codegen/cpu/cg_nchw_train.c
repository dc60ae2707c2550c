/* cg_nchw_train.c — the training step's NCHW convolutions as run-time
 * packing + the packed GEMM (cg_nchw_train.h). */
#include "codegen/cpu/cg_nchw_train.h"

#include <string.h>

#include "codegen/cpu/cg_relayout.h"
#include "ir/ops.h"

/* ---- planning ---------------------------------------------------------- */

static NcTconvIndex index_of(int64_t d0, int64_t d1, int64_t d2, int64_t s0, int64_t s1, int64_t s2) {
    NcTconvIndex r;
    memset(&r, 0, sizeof r);
    r.d0 = d0, r.d1 = d1, r.d2 = d2, r.s0 = s0, r.s1 = s1, r.s2 = s2;
    return r;
}

/* x's window taps (c, kh, kw) and output positions (n, oh, ow) */
static NcTconvIndex window(const NcTrainConvPlan *p) {
    NcTconvIndex r = index_of(p->Cg, p->KH, p->KW, p->H * p->W, p->dh * p->W, p->dw);
    r.o0 = -(int64_t)p->pt * p->W - p->pl, r.h1 = p->dh, r.h0 = -p->pt, r.w2 = p->dw, r.w0 = -p->pl;
    return r;
}
static NcTconvIndex positions(const NcTrainConvPlan *p) {
    NcTconvIndex r = index_of(p->N, p->OH, p->OW, p->C * p->H * p->W, p->sh * p->W, p->sw);
    r.h1 = p->sh, r.w2 = p->sw;
    return r;
}

/* How many consecutive indices from a multiple of the result lie one after
 * another in the source. */
static int64_t run_length(const NcTconvIndex *x) {
    const int64_t d[3] = {x->d2, x->d1, x->d0}, s[3] = {x->s2, x->s1, x->s0};
    int64_t run = 1;
    for (int l = 0; l < 3; l++) {
        if (d[l] == 1) continue;
        if (s[l] != run) break;
        run *= d[l];
    }
    return run;
}

static int64_t align16(int64_t v) { return cgb_round_up(v, 16); }

int nc_cg_train_conv_operands(const NcGraph *g, const NcNode *nd, NcTrainConvKind *kind, const NcValue **x,
                              const NcValue **w, const NcValue **y, const char **why) {
    switch (nd->op) {
    case NC_OP_CONV2D:
        *kind = NC_TCONV_FORWARD;
        *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
        return 1;
    case NC_OP_CONV2D_GRAD_INPUT: /* (dY, W) -> dX */
        *kind = NC_TCONV_GRAD_INPUT;
        *y = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *x = nc_val(g, nd->outputs[0]);
        return 1;
    case NC_OP_CONV2D_GRAD_WEIGHT: /* (dY, X) -> dW */
        *kind = NC_TCONV_GRAD_WEIGHT;
        *y = nc_val(g, nd->inputs[0]), *x = nc_val(g, nd->inputs[1]), *w = nc_val(g, nd->outputs[0]);
        return 1;
    default: return *why = "not a conv", 0;
    }
}

/* An index whose (i1, i2) lie at i1 d2 + i2 in the source (stride 1 across, rows as long as the index's), on
 * planes of at least vw: vw consecutive indices span at most two of its d0 (cg_nchw_train.h's linear). */
static int linear_index(const NcTconvIndex *x, int vw) { return x->s2 == 1 && x->s1 == x->d2 && x->d1 * x->d2 >= vw; }

int nc_cg_train_conv_plan(NcTrainConvPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                          const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    const NcValue *x, *w, *y;
    const int bias = nd->op == NC_OP_CONV2D && a->has_bias;
    if (nd->noutputs != 1 || nd->ninputs != 2 + bias) return *why = "operands", 0;
    if (!nc_cg_train_conv_operands(g, nd, &p->kind, &x, &w, &y, why)) return 0;
    if ((a->has_bias && !bias) || a->has_in_scale || a->nepi) return *why = "input scale or epilogue", 0;
    if (a->groups < 1) return *why = "groups", 0;
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return *why = "not 4-d", 0;
    if (x->layout != NC_LAYOUT_NCHW || w->layout != NC_LAYOUT_NCHW || y->layout != NC_LAYOUT_NCHW)
        return *why = "not NCHW", 0;
    if (nc_numel(x) >= INT32_MAX || nc_numel(y) >= INT32_MAX) return *why = "too large for 32-bit indices", 0;
    p->N = x->shape[0], p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
    p->O = w->shape[0], p->KH = w->shape[2], p->KW = w->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
    p->G = a->groups, p->Cg = p->C / p->G, p->Og = p->O / p->G;
    if (p->C % p->G || p->O % p->G || w->shape[1] != p->Cg || y->shape[0] != p->N || y->shape[1] != p->O)
        return *why = "shapes", 0;
    p->bias = bias;
    p->sh = a->stride[0], p->sw = a->stride[1], p->dh = a->dilation[0], p->dw = a->dilation[1];
    p->pt = a->pad[0], p->pl = a->pad[1];
    if (p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1) return *why = "stride or dilation", 0;
    p->P = p->OH * p->OW, p->CK = p->Cg * p->KH * p->KW;
    /* a group's GEMM of fewer rows than a register block wastes most of its FMAs */
    if (p->G > 1 && (p->Og < 4 || p->CK < 4)) return *why = "depthwise or narrow groups", 0;
    int pad = a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3];
    p->op_kind = p->kind;
    const int64_t ft = (p->KH - 1) * p->dh - p->pt, fl = (p->KW - 1) * p->dw - p->pl;
    if (p->kind == NC_TCONV_GRAD_INPUT && p->sh == 1 && p->sw == 1 && ft >= 0 && fl >= 0 &&
        nc_cg_train_fused_fwd(p->N, p->G, p->H * p->W, p->Og * p->KH * p->KW, p->Cg, t->vw, &p->ipt, &p->cw,
                              &p->nblk)) {
        /* dX[c][ih][iw] = sum over o, kh, kw of dY[o][ih + pt - kh dh][iw + pl - kw dw] W[o][c][kh][kw]: with kh'
         * = KH-1-kh that is a conv2d of dY over the window kh' dh - ((KH-1) dh - pt), padding dY with zeros (with
         * groups, group g's channels of dX from its channels of dY) */
        int64_t tmp;
#define SWAP_(a_, b_) (tmp = (a_), (a_) = (b_), (b_) = tmp)
        SWAP_(p->C, p->O), SWAP_(p->H, p->OH), SWAP_(p->W, p->OW), SWAP_(p->Cg, p->Og);
#undef SWAP_
        p->pt = (int)ft, p->pl = (int)fl;
        p->P = p->OH * p->OW, p->CK = p->Cg * p->KH * p->KW;
        p->kind = NC_TCONV_FORWARD, p->flip = 1;
        pad = p->KH > 1 || p->KW > 1 || pad; /* (KH-1) dh - pt and the rest: zero only for an unpadded 1x1 */
    }
    if (p->kind == NC_TCONV_GRAD_INPUT && nc_cg_train_phases(p, t)) return 1; /* strided: cg_nchw_train_fused.c */
    if (p->kind == NC_TCONV_FORWARD) {
        nc_cg_train_fused_fwd(p->N, p->G, p->P, p->CK, p->Og, t->vw, &p->ipt, &p->cw, &p->nblk);
        p->ckb = p->CK / p->nblk;
    }
    if (p->kind == NC_TCONV_GRAD_WEIGHT) nc_cg_train_fused_gw(p, t->vw);
    p->fused = p->ipt > 0 || p->cw > 0;
    if (nc_cg_train_conv_plan_rest(p, t, pad, why)) return 1;
    if (!p->fused || p->kind != NC_TCONV_GRAD_WEIGHT) return 0;
    /* a fused weight gradient's GEMM the target cannot plan: the unfused kernel */
    p->fused = 0, p->ipt = p->cw = p->ckb = p->nblk = p->gw_t = 0;
    memset(&p->pack, 0, sizeof p->pack);
    return nc_cg_train_conv_plan_rest(p, t, pad, why);
}

int nc_cg_train_conv_plan_rest(NcTrainConvPlan *p, const NcCgTarget *t, int pad, const char **why) {
    p->direct = p->KH == 1 && p->KW == 1 && p->sh == 1 && p->sw == 1 && !pad;
    const int64_t NP = p->N * p->P;

    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = p->G, s.b_per_image = p->G > 1;
    NcTconvPack *k = &p->pack;
    switch (p->kind) {
    case NC_TCONV_FORWARD: /* Y' = W . cols */
        s.hw = p->Og, s.cin = p->CK, s.cout = NP;
        k->row = window(p), k->col = positions(p), k->check = pad;
        break;
    case NC_TCONV_GRAD_INPUT: /* dcols = W^T . dY' */
        s.hw = p->CK, s.cin = p->Og, s.cout = NP;
        k->row = index_of(p->Og, 1, 1, p->P, 0, 0);
        k->col = index_of(p->N, p->OH, p->OW, p->O * p->P, p->OW, 1);
        break;
    case NC_TCONV_GRAD_WEIGHT: /* dW = dY' . cols^T */
        s.hw = p->Og, s.cin = NP, s.cout = p->CK;
        k->row = positions(p), k->col = window(p), k->check = pad;
        break;
    }
    k->hb = p->H, k->wb = p->W;
    p->src_group = p->kind == NC_TCONV_GRAD_INPUT ? p->Og * p->P : p->Cg * p->H * p->W;
    NcError e;
    if (p->fused) {
        if (nc_cg_train_fused_gemm(p, t)) return *why = "no GEMM plan", 0;
    } else if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) {
        return *why = "no GEMM plan", 0;
    }
    /* conv2d and conv2d_grad_input of several images whose planes are whole panels: the GEMM writes them
     * NCHW, [N][rows][P] (cg_gemm.h's col_image), and no copy follows */
    if (!p->fused && p->G == 1 && p->N > 1 && p->kind != NC_TCONV_GRAD_WEIGHT && p->P % p->gemm.nr == 0) {
        s.col_image = p->P;
        if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) return *why = "no GEMM plan", 0;
    }
    const int nchw_c = p->N == 1 || s.col_image;
    const int has_c = p->kind == NC_TCONV_FORWARD ? !nchw_c : p->kind == NC_TCONV_GRAD_INPUT && (!p->direct || !nchw_c);
    const int64_t run = run_length(&k->col);
    k->contiguous = !k->check && run % t->vw == 0 ? run : 0;
    k->rowwise = !k->contiguous && k->col.s2 == 1 && (k->col.w2 == 1 || !k->check) && k->col.d2 % t->vw == 0;
    /* B's rows are positions: vw of them (an output row's, stride 1) one after another in the source, and
     * the panel at most 128 columns (the per-column offsets are kept in registers) */
    k->transposed = !k->contiguous && !k->rowwise && p->kind == NC_TCONV_GRAD_WEIGHT && k->row.s2 == 1 &&
                    k->row.w2 == 1 && k->row.d2 % t->vw == 0 && p->gemm.nr <= 128;
    /* instead of the gather, for columns of positions off the vector width (28, 14, 7).  Not for
     * conv2d_grad_weight's rows (positions): the same loads, transposed in registers as pack_panel_t does, with
     * h, w and the image per lane, measured 0.3-1.1x the gather's speed there (bench/train_pack_bench.c) */
    k->linear = !k->contiguous && !k->rowwise && !k->transposed && p->kind != NC_TCONV_GRAD_WEIGHT &&
                linear_index(&k->col, t->vw);
    if (k->linear) {
        const int64_t plane = k->col.d1 * k->col.d2;
        /* vectors start at multiples of vw within panels of nr columns */
        k->straddle = plane % t->vw || p->gemm.nr % t->vw;
        k->img_skip = k->col.s0 - plane;
    }
    if (p->fused) return 1; /* its scratch planned with its GEMMs */
    const int64_t panels = cgb_ceil_div(p->gemm.N, p->gemm.nr), K = p->gemm.K;
    int64_t chunks = cgb_ceil_div(64, panels);
    if (chunks > cgb_ceil_div(K, 64)) chunks = cgb_ceil_div(K, 64);
    if (chunks < 1) chunks = 1;
    k->kchunk = cgb_ceil_div(K, chunks);
    if (k->transposed) k->kchunk = cgb_round_up(k->kchunk, t->vw); /* whole blocks of vw rows (K is a multiple) */
    k->chunks = cgb_ceil_div(K, k->kchunk), k->tiles = panels * k->chunks;

    p->off_b = 0, p->off_a = p->off_c = -1;
    int64_t end = align16(p->gemm.packed_floats);
    if (p->kind == NC_TCONV_GRAD_INPUT) {
        p->off_a = end, end += align16(p->CK * p->O);
        p->a_tiles = p->G * cgb_ceil_div(p->Og, 64) * cgb_ceil_div(p->CK, 64); /* emit_transpose's TB x TB blocks */
    } else if (p->kind == NC_TCONV_GRAD_WEIGHT && p->N > 1) {
        p->off_a = end, end += align16(p->O * NP);
        p->a_tiles = p->N * p->O;
    }
    if (has_c) {
        p->off_c = end, end += align16(p->G * p->gemm.M * p->gemm.N);
        p->last_tiles = p->N * (p->kind == NC_TCONV_FORWARD ? p->O : p->C);
    } else if (p->bias) {
        p->last_tiles = p->N * p->O; /* the bias added over out[0] in place */
    }
    p->scratch = end;
    return 1;
}

/* ---- emission ---------------------------------------------------------- */

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }
static LLVMValueRef sdivc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildSDiv(m->b, a, I(m, c), ""); }
static LLVMValueRef sremc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildSRem(m->b, a, I(m, c), ""); }
static LLVMValueRef min64(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static LLVMValueRef max64(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* <vw x i32> helpers */
static LLVMTypeRef ivec(NcCgModule *m) { return LLVMVectorType(m->i32, (unsigned)m->vw); }
static LLVMValueRef isplat_c(NcCgModule *m, int64_t v) {
    LLVMValueRef e[64];
    for (int i = 0; i < m->vw; i++) e[i] = LLVMConstInt(m->i32, (unsigned long long)v, 1);
    return LLVMConstVector(e, (unsigned)m->vw);
}
static LLVMValueRef isplat(NcCgModule *m, LLVMValueRef s64) {
    LLVMValueRef s = LLVMBuildTrunc(m->b, s64, m->i32, "");
    LLVMValueRef v = LLVMBuildInsertElement(m->b, LLVMGetPoison(ivec(m)), s, cgb_i64(m, 0), "");
    return LLVMBuildShuffleVector(m->b, v, LLVMGetPoison(ivec(m)), LLVMConstNull(ivec(m)), "");
}
static LLVMValueRef iota(NcCgModule *m) {
    LLVMValueRef e[64];
    for (int i = 0; i < m->vw; i++) e[i] = LLVMConstInt(m->i32, (unsigned long long)i, 0);
    return LLVMConstVector(e, (unsigned)m->vw);
}
static LLVMValueRef lanes_below(NcCgModule *m, int n) {
    LLVMValueRef e[64];
    for (int i = 0; i < m->vw; i++) e[i] = LLVMConstInt(m->i1, i < n, 0);
    return LLVMConstVector(e, (unsigned)m->vw);
}

/* index i (scalar i64, or a vector of i32 when vec) -> (offset, h, w) */
static void decompose(NcCgModule *m, const NcTconvIndex *x, LLVMValueRef i, int vec, LLVMValueRef *off, LLVMValueRef *h,
                      LLVMValueRef *w) {
    LLVMBuilderRef b = m->b;
#define C_(v) (vec ? isplat_c(m, v) : I(m, v))
    LLVMValueRef i2 = x->d2 == 1 ? C_(0) : LLVMBuildURem(b, i, C_(x->d2), "");
    LLVMValueRef r = x->d2 == 1 ? i : LLVMBuildUDiv(b, i, C_(x->d2), "");
    LLVMValueRef i1 = x->d1 == 1 ? C_(0) : LLVMBuildURem(b, r, C_(x->d1), "");
    LLVMValueRef i0 = x->d1 == 1 ? r : LLVMBuildUDiv(b, r, C_(x->d1), "");
    *off = LLVMBuildAdd(b, LLVMBuildAdd(b, LLVMBuildMul(b, i0, C_(x->s0), ""), LLVMBuildMul(b, i1, C_(x->s1), ""), ""),
                        LLVMBuildAdd(b, LLVMBuildMul(b, i2, C_(x->s2), ""), C_(x->o0), ""), "");
    *h = LLVMBuildAdd(b, LLVMBuildMul(b, i1, C_(x->h1), ""), C_(x->h0), "");
    *w = LLVMBuildAdd(b, LLVMBuildMul(b, i2, C_(x->w2), ""), C_(x->w0), "");
#undef C_
}

static void pack_panel_t(NcCgModule *m, const NcTrainConvPlan *p, LLVMValueRef src, LLVMValueRef panel, LLVMValueRef c0,
                         int64_t wq, LLVMValueRef k0, LLVMValueRef k1, LLVMValueRef kbase);
void nc_cg_train_pack_panel(NcCgModule *m, const NcTrainConvPlan *p, LLVMValueRef src, LLVMValueRef panel,
                            LLVMValueRef c0, int64_t wq, LLVMValueRef k0, LLVMValueRef k1, LLVMValueRef kbase) {
    LLVMBuilderRef b = m->b;
    const NcTconvPack *pk = &p->pack;
    if (pk->transposed) {
        pack_panel_t(m, p, src, panel, c0, wq, k0, k1, kbase);
        return;
    }
    const int vw = m->vw, nvq = (int)cgb_ceil_div(wq, vw);
    LLVMValueRef off[8], hv[8], wv[8], lane_ok[8], first[8];
    int lanes[8];
    NC_CHECK(nvq <= 8);
    for (int v = 0; v < nvq; v++) {
        lanes[v] = (int)(wq - (int64_t)v * vw < vw ? wq - (int64_t)v * vw : vw);
        LLVMValueRef col0 = add(m, c0, I(m, (int64_t)v * vw));
        if (pk->contiguous || pk->rowwise) {
            decompose(m, &pk->col, col0, 0, &off[v], &hv[v], &wv[v]);
        } else {
            LLVMValueRef cols = LLVMBuildAdd(b, isplat(m, col0), iota(m), "");
            decompose(m, &pk->col, cols, 1, &off[v], &hv[v], &wv[v]);
        }
        lane_ok[v] = lanes_below(m, lanes[v]);
        if (pk->linear) { /* lane 0's offset; the lanes still in lane 0's image */
            LLVMValueRef h0, w0;
            decompose(m, &pk->col, col0, 0, &off[v], &h0, &w0);
            const int64_t plane = pk->col.d1 * pk->col.d2;
            LLVMValueRef left = LLVMBuildSub(b, I(m, plane), sremc(m, col0, plane), "");
            first[v] = LLVMBuildICmp(b, LLVMIntULT, iota(m), isplat(m, left), "");
        }
    }
    LLVMValueRef kk;
    CgbLoop lk = cgb_loop_begin(m, k0, k1, 1, &kk);
    LLVMValueRef ko, kh, kw;
    decompose(m, &pk->row, kk, 0, &ko, &kh, &kw);
    LLVMValueRef row = cgb_gep(m, panel, mulc(m, LLVMBuildNSWSub(b, kk, kbase, ""), wq));
    const int scalar = pk->contiguous || pk->rowwise;
    LLVMValueRef skip = I(m, pk->img_skip);
    LLVMValueRef kov = scalar ? NULL : isplat(m, ko), khv = NULL, kwv = NULL;
    if (pk->check && !scalar) khv = isplat(m, kh), kwv = isplat(m, kw);
    for (int v = 0; v < nvq; v++) {
        LLVMValueRef val;
        if (pk->contiguous) {
            val = cgb_load_n(m, cgb_gep(m, src, LLVMBuildAdd(b, ko, off[v], "")), lanes[v]);
        } else if (pk->rowwise) { /* one source row: a load under the padding's mask */
            LLVMValueRef mask = lane_ok[v];
            if (pk->check) {
                LLVMValueRef hh = isplat(m, LLVMBuildAdd(b, hv[v], kh, ""));
                LLVMValueRef ww = LLVMBuildAdd(b, isplat(m, LLVMBuildAdd(b, wv[v], kw, "")), iota(m), "");
                mask = LLVMBuildAnd(b, mask, LLVMBuildICmp(b, LLVMIntULT, hh, isplat_c(m, pk->hb), ""), "");
                mask = LLVMBuildAnd(b, mask, LLVMBuildICmp(b, LLVMIntULT, ww, isplat_c(m, pk->wb), ""), "");
            }
            /* not inbounds: a masked-off lane's address may lie before src */
            LLVMValueRef i = LLVMBuildAdd(b, ko, off[v], "");
            val = cgb_load_mask(m, LLVMBuildGEP2(b, m->f32, src, &i, 1, ""), mask);
        } else {
            LLVMValueRef mask = lane_ok[v];
            if (pk->check) {
                LLVMValueRef hh = LLVMBuildAdd(b, hv[v], khv, ""), ww = LLVMBuildAdd(b, wv[v], kwv, "");
                mask = LLVMBuildAnd(b, mask, LLVMBuildICmp(b, LLVMIntULT, hh, isplat_c(m, pk->hb), ""), "");
                mask = LLVMBuildAnd(b, mask, LLVMBuildICmp(b, LLVMIntULT, ww, isplat_c(m, pk->wb), ""), "");
            }
            if (pk->linear) { /* one masked load per image the vector's positions lie in (not inbounds: a masked-off
                                 lane's address may lie before src) */
                LLVMValueRef i = LLVMBuildAdd(b, ko, off[v], "");
                val = cgb_load_mask(m, LLVMBuildGEP2(b, m->f32, src, &i, 1, ""),
                                    pk->straddle ? LLVMBuildAnd(b, mask, first[v], "") : mask);
                if (pk->straddle) {
                    LLVMValueRef i2 = LLVMBuildAdd(b, i, skip, "");
                    LLVMValueRef m2 = LLVMBuildAnd(b, mask, LLVMBuildNot(b, first[v], ""), "");
                    val = LLVMBuildSelect(b, first[v], val,
                                          cgb_load_mask(m, LLVMBuildGEP2(b, m->f32, src, &i2, 1, ""), m2), "");
                }
            } else {
                val = cgb_gather(m, src, LLVMBuildAdd(b, off[v], kov, ""), mask);
            }
        }
        cgb_store_n(m, val, cgb_gep(m, row, I(m, (int64_t)v * vw)), lanes[v]);
    }
    cgb_loop_end(m, &lk);
}

/* The same for pk->transposed (conv2d_grad_weight: rows are positions, k0
 * and k1 multiples of vw, every vw rows one output row's, stride 1): per
 * block of vw rows, each of the panel's columns (a window tap) is one load
 * along the source row (masked where the tap reads padding), and each vw x
 * vw block of them is transposed in registers into vw rows of B — where a
 * gather per vector of columns took most of this stage's time. */
static void pack_panel_t(NcCgModule *m, const NcTrainConvPlan *p, LLVMValueRef src, LLVMValueRef panel, LLVMValueRef c0,
                         int64_t wq, LLVMValueRef k0, LLVMValueRef k1, LLVMValueRef kbase) {
    LLVMBuilderRef b = m->b;
    const NcTconvPack *pk = &p->pack;
    const int vw = m->vw, nblk = (int)cgb_ceil_div(wq, vw);
    LLVMValueRef coff[128], ch[128], cw[128];
    NC_CHECK(wq <= 128);
    for (int j = 0; j < wq; j++) decompose(m, &pk->col, add(m, c0, I(m, j)), 0, &coff[j], &ch[j], &cw[j]);
    LLVMValueRef kk;
    CgbLoop lk = cgb_loop_begin(m, k0, k1, vw, &kk);
    LLVMValueRef ko, rh, rw;
    decompose(m, &pk->row, kk, 0, &ko, &rh, &rw);
    LLVMValueRef rwv = pk->check ? LLVMBuildAdd(b, isplat(m, rw), iota(m), "") : NULL;
    LLVMValueRef none = LLVMConstNull(LLVMVectorType(m->i1, (unsigned)vw));
    for (int jb = 0; jb < nblk; jb++) {
        const int lanes = (int)(wq - (int64_t)jb * vw < vw ? wq - (int64_t)jb * vw : vw);
        LLVMValueRef r[64];
        for (int jj = 0; jj < vw; jj++) {
            if (jj >= lanes) {
                r[jj] = cgb_zero(m);
                continue;
            }
            const int j = jb * vw + jj;
            LLVMValueRef i = LLVMBuildAdd(b, ko, coff[j], "");
            if (!pk->check) {
                r[jj] = cgb_load_n(m, cgb_gep(m, src, i), vw);
                continue;
            }
            LLVMValueRef hok = LLVMBuildICmp(b, LLVMIntULT, LLVMBuildAdd(b, rh, ch[j], ""), I(m, pk->hb), "");
            LLVMValueRef ww = LLVMBuildAdd(b, rwv, isplat(m, cw[j]), "");
            LLVMValueRef mask =
                LLVMBuildSelect(b, hok, LLVMBuildICmp(b, LLVMIntULT, ww, isplat_c(m, pk->wb), ""), none, "");
            /* not inbounds: a masked-off lane's address may lie before src */
            r[jj] = cgb_load_mask(m, LLVMBuildGEP2(b, m->f32, src, &i, 1, ""), mask);
        }
        nc_cg_transpose_regs(m, r);
        for (int l = 0; l < vw; l++) {
            LLVMValueRef row = mulc(m, LLVMBuildAdd(b, LLVMBuildNSWSub(b, kk, kbase, ""), I(m, l), ""), wq);
            cgb_store_n(m, r[l], cgb_gep(m, panel, add(m, row, I(m, (int64_t)jb * vw))), lanes);
        }
    }
    cgb_loop_end(m, &lk);
}

/* in[0] the source, out[0] the packed B; tile = panel x chunk */
static LLVMValueRef emit_pack_b(NcCgModule *m, const NcTrainConvPlan *p, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    const NcTconvPack *pk = &p->pack;
    const int64_t N = p->gemm.N, nr = p->gemm.nr, nfull = N / nr, tail = N % nr;
    LLVMValueRef tg, src0 = src, dst0 = dst;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &tg);
    LLVMValueRef t = tg;
    if (p->G > 1) { /* tile = (group, panel x chunk) */
        LLVMValueRef g = sdivc(m, tg, pk->tiles);
        t = sremc(m, tg, pk->tiles);
        src = cgb_gep(m, src0, mulc(m, g, p->src_group)), dst = cgb_gep(m, dst0, mulc(m, g, N * p->gemm.K));
    }
    LLVMValueRef q = sdivc(m, t, pk->chunks), k0 = mulc(m, sremc(m, t, pk->chunks), pk->kchunk);
    LLVMValueRef k1 = min64(m, add(m, k0, I(m, pk->kchunk)), I(m, p->gemm.K));
    LLVMValueRef panel = cgb_gep(m, dst, mulc(m, q, p->gemm.K * nr)), c0 = mulc(m, q, nr);
    if (nfull && tail) {
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSLT, q, I(m, nfull), ""));
        nc_cg_train_pack_panel(m, p, src, panel, c0, nr, k0, k1, I(m, 0));
        cgb_if_else(m, &c);
        nc_cg_train_pack_panel(m, p, src, panel, c0, tail, k0, k1, I(m, 0));
        cgb_if_end(m, &c);
    } else {
        nc_cg_train_pack_panel(m, p, src, panel, c0, nfull ? nr : tail, k0, k1, I(m, 0));
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    return fn;
}

/* in[0] = W (R x S, row-major), out[0] = W^T (S x R); tile = a block of TB x
 * TB (16 KB each way, in L1), walked in vw x vw register transposes: every
 * line of W read once and every line of W^T written whole (a tile of vw
 * columns of W read each line of a large W several times, from memory). */
#define TB 64
static void transpose_cols(NcCgModule *m, LLVMValueRef src, LLVMValueRef dst, int64_t R, int64_t S, LLVMValueRef j,
                           int lanes, LLVMValueRef o0, LLVMValueRef o1, LLVMValueRef last_rb) {
    const int vw = m->vw, rtail = (int)(R % vw);
    LLVMValueRef o;
    CgbLoop lo = cgb_loop_begin(m, o0, o1, vw, &o);
    nc_cg_transpose_block(m, src, add(m, mulc(m, o, S), j), S, dst, add(m, mulc(m, j, R), o), R, vw, lanes);
    cgb_loop_end(m, &lo);
    if (rtail) {
        CgbIf c = cgb_if_begin(m, last_rb);
        const int64_t rf = R / vw * vw;
        nc_cg_transpose_block(m, src, add(m, I(m, rf * S), j), S, dst, add(m, mulc(m, j, R), I(m, rf)), R, rtail,
                              lanes);
        cgb_if_end(m, &c);
    }
}

/* G such transposes one after another (a grouped conv's W: group g's R x S
 * block at g R S, its transpose at the same offset); tile = (group, block) */
static LLVMValueRef emit_transpose(NcCgModule *m, int64_t G, int64_t R, int64_t S, const char *name) {
    const int vw = m->vw;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    const int64_t nrb = cgb_ceil_div(R, TB), nsb = cgb_ceil_div(S, TB), rfull = R / vw * vw, sfull = S / vw * vw;
    const int stail = (int)(S % vw);
    LLVMValueRef tg, src0 = src, dst0 = dst;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &tg);
    LLVMValueRef t = tg;
    if (G > 1) {
        LLVMValueRef go = mulc(m, sdivc(m, tg, nrb * nsb), R * S);
        t = sremc(m, tg, nrb * nsb), src = cgb_gep(m, src0, go), dst = cgb_gep(m, dst0, go);
    }
    LLVMValueRef rb = sdivc(m, t, nsb), sb = sremc(m, t, nsb);
    LLVMValueRef o0 = mulc(m, rb, TB), o1 = min64(m, add(m, o0, I(m, TB)), I(m, rfull));
    LLVMValueRef j0 = mulc(m, sb, TB), j1 = min64(m, add(m, j0, I(m, TB)), I(m, sfull));
    LLVMValueRef last_rb = LLVMBuildICmp(b, LLVMIntEQ, rb, I(m, nrb - 1), "");
    LLVMValueRef j;
    CgbLoop lj = cgb_loop_begin(m, j0, j1, vw, &j);
    transpose_cols(m, src, dst, R, S, j, vw, o0, o1, last_rb);
    cgb_loop_end(m, &lj);
    if (stail) {
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntEQ, sb, I(m, nsb - 1), ""));
        transpose_cols(m, src, dst, R, S, I(m, sfull), stail, o0, o1, last_rb);
        cgb_if_end(m, &c);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
    return fn;
}

/* in[0] -> out[0], tile t = (a, b) of A x B: len floats from a sa + b sb to a
 * da + b db; with bias, in[1][b] added to each (b is the output channel; in[0]
 * may be out[0], the rows added in place) */
static LLVMValueRef emit_copy_rows(NcCgModule *m, int64_t B, int64_t len, int64_t sa, int64_t sb, int64_t da,
                                   int64_t db, int bias, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef bp = bias ? cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1) : NULL;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef a = sdivc(m, t, B), bb = sremc(m, t, B);
    LLVMValueRef so = add(m, mulc(m, a, sa), mulc(m, bb, sb)), d = add(m, mulc(m, a, da), mulc(m, bb, db));
    if (bias) {
        LLVMValueRef bv = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, bp, bb), "");
        cgb_copy_floats_bias(m, cgb_gep(m, dst, d), cgb_gep(m, src, so), cgb_splat(m, bv), len);
    } else {
        cgb_copy_floats(m, cgb_gep(m, dst, d), cgb_gep(m, src, so), NULL, len);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    return fn;
}

/* floor(a / b), b > 0 */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* in[0] = dcols [CK][N*P], out[0] = dx; tile t = (n, c): the plane zeroed,
 * then every tap's rows added where they came from */
static LLVMValueRef emit_col2im(NcCgModule *m, const NcTrainConvPlan *p, const char *name) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    const int64_t NP = p->N * p->P, KK = p->KH * p->KW;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = sdivc(m, t, p->C), c = sremc(m, t, p->C);
    LLVMValueRef plane = cgb_gep(m, dst, mulc(m, t, p->H * p->W));
    cgb_copy_floats(m, plane, NULL, NULL, p->H * p->W);
    /* dcols [CK][N*P], or [N][CK][P] (column images) */
    const int64_t rs = p->gemm.s.col_image ? p->P : NP, is = p->gemm.s.col_image ? p->CK * p->P : p->P;
    LLVMValueRef rows = cgb_gep(m, src, add(m, mulc(m, c, KK * rs), mulc(m, n, is)));
    for (int64_t kh = 0; kh < p->KH; kh++)
        for (int64_t kw = 0; kw < p->KW; kw++) {
            /* oh: 0 <= oh sh - pt + kh dh < H; ow likewise */
            const int64_t bh = kh * p->dh - p->pt, bw = kw * p->dw - p->pl;
            int64_t oh0 = floor_div(-bh + p->sh - 1, p->sh), oh1 = floor_div(p->H - 1 - bh, p->sh) + 1;
            int64_t ow0 = floor_div(-bw + p->sw - 1, p->sw), ow1 = floor_div(p->W - 1 - bw, p->sw) + 1;
            oh0 = oh0 < 0 ? 0 : oh0, ow0 = ow0 < 0 ? 0 : ow0;
            oh1 = oh1 > p->OH ? p->OH : oh1, ow1 = ow1 > p->OW ? p->OW : ow1;
            if (oh0 >= oh1 || ow0 >= ow1) continue;
            LLVMValueRef row = cgb_gep(m, rows, I(m, (kh * p->KW + kw) * rs));
            LLVMValueRef oh;
            CgbLoop lh = cgb_loop_begin(m, I(m, oh0), I(m, oh1), 1, &oh);
            LLVMValueRef ih = add(m, mulc(m, oh, p->sh), I(m, bh));
            LLVMValueRef d0 = cgb_gep(m, plane, add(m, mulc(m, ih, p->W), I(m, ow0 * p->sw + bw)));
            LLVMValueRef s0 = cgb_gep(m, row, add(m, mulc(m, oh, p->OW), I(m, ow0)));
            if (p->sw == 1) {
                cgb_add_floats(m, d0, s0, ow1 - ow0);
            } else {
                LLVMValueRef i;
                CgbLoop li = cgb_loop_begin(m, I(m, 0), I(m, ow1 - ow0), 1, &i);
                LLVMValueRef dp = cgb_gep(m, d0, mulc(m, i, p->sw));
                LLVMValueRef v = LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, dp, ""),
                                               LLVMBuildLoad2(b, m->f32, cgb_gep(m, s0, i), ""), "");
                LLVMBuildStore(b, v, dp);
                cgb_loop_end(m, &li);
            }
            cgb_loop_end(m, &lh);
        }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
    return fn;
}

static LLVMValueRef scratch_at(NcCgModule *m, LLVMValueRef scratch, int64_t off) {
    return cgb_gep(m, scratch, I(m, off));
}

void nc_cg_train_conv_emit(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k) {
    if (p->fused) {
        nc_cg_train_fused_emit(m, p, prefix, k);
        return;
    }
    char name[128];
    const int64_t NP = p->N * p->P;
    /* the helpers, each a tile function in[0] -> out[0] */
    snprintf(name, sizeof name, "%s_packb", prefix);
    LLVMValueRef packb = emit_pack_b(m, p, name), afn = NULL, post = NULL;
    if (p->kind == NC_TCONV_GRAD_INPUT) {
        snprintf(name, sizeof name, "%s_wt", prefix);
        afn = emit_transpose(m, p->G, p->Og, p->CK, name);
    } else if (p->off_a >= 0) { /* dY [N][O][P] -> [O][N][P] */
        snprintf(name, sizeof name, "%s_dy", prefix);
        afn = emit_copy_rows(m, p->O, p->P, p->O * p->P, p->P, p->P, NP, 0, name);
    }
    if (p->last_tiles) {
        snprintf(name, sizeof name, "%s_post", prefix);
        if (p->kind == NC_TCONV_GRAD_INPUT && !p->direct)
            post = emit_col2im(m, p, name);
        else if (p->off_c < 0) /* the bias over out[0] [N][O][P], in place */
            post = emit_copy_rows(m, p->O, p->P, p->O * p->P, p->P, p->O * p->P, p->P, 1, name);
        else { /* [R][N][P] -> [N][R][P] */
            const int64_t R = p->kind == NC_TCONV_FORWARD ? p->O : p->C;
            post = emit_copy_rows(m, R, p->P, p->P, NP, R * p->P, p->P, p->bias, name);
        }
    }
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, &p->gemm, name);
    LLVMValueRef mm = LLVMGetNamedFunction(m->mod, name);

    /* stage 1: B's panels, then W^T or dY' */
    snprintf(name, sizeof name, "%s_pack", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1), t0 = LLVMGetParam(fn, 2),
                 t1 = LLVMGetParam(fn, 3);
    LLVMValueRef scratch = cgb_arg_ptr(m, out, 1);
    const int src_b = p->kind == NC_TCONV_GRAD_WEIGHT ? 1 : 0;
    LLVMValueRef pin[1] = {cgb_arg_ptr(m, in, src_b)}, pout[1] = {scratch_at(m, scratch, p->off_b)};
    LLVMValueRef PT = I(m, p->G * p->pack.tiles);
    cgb_call_tile(m, packb, pin, 1, pout, 1, min64(m, t0, PT), min64(m, t1, PT));
    if (afn) {
        LLVMValueRef ain[1] = {cgb_arg_ptr(m, in, p->kind == NC_TCONV_GRAD_INPUT ? 1 : 0)};
        LLVMValueRef aout[1] = {scratch_at(m, scratch, p->off_a)};
        cgb_call_tile(m, afn, ain, 1, aout, 1, LLVMBuildNSWSub(m->b, max64(m, t0, PT), PT, ""),
                      LLVMBuildNSWSub(m->b, max64(m, t1, PT), PT, ""));
    }
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->G * p->pack.tiles + p->a_tiles;

    /* stage 2: the GEMM */
    snprintf(name, sizeof name, "%s_gemm", prefix);
    fn = nc_cg_begin_tile_fn(m, name);
    in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    scratch = cgb_arg_ptr(m, out, 1);
    LLVMValueRef a =
        p->off_a >= 0 ? scratch_at(m, scratch, p->off_a) : cgb_arg_ptr(m, in, p->kind == NC_TCONV_GRAD_WEIGHT ? 0 : 1);
    LLVMValueRef gin[2] = {a, scratch_at(m, scratch, p->off_b)};
    LLVMValueRef gout[1] = {p->off_c >= 0 ? scratch_at(m, scratch, p->off_c) : cgb_arg_ptr(m, out, 0)};
    cgb_call_tile(m, mm, gin, 2, gout, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    LLVMBuildRetVoid(m->b);
    k->stage[1] = fn, k->tiles[1] = p->gemm.tiles;

    /* stage 3: back to NCHW, or col2im */
    if (post) {
        snprintf(name, sizeof name, "%s_back", prefix);
        fn = nc_cg_begin_tile_fn(m, name);
        in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
        scratch = cgb_arg_ptr(m, out, 1);
        LLVMValueRef qin[2] = {p->off_c >= 0 ? scratch_at(m, scratch, p->off_c) : cgb_arg_ptr(m, out, 0),
                               p->bias ? cgb_arg_ptr(m, in, 2) : NULL};
        LLVMValueRef qout[1] = {cgb_arg_ptr(m, out, 0)};
        cgb_call_tile(m, post, qin, 1 + p->bias, qout, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
        LLVMBuildRetVoid(m->b);
        k->stage[2] = fn, k->tiles[2] = p->last_tiles;
    }
    k->scratch = p->scratch;
}
