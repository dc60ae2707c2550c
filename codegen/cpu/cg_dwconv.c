/* cg_dwconv.c — the depthwise convolution kernel (cg_dwconv.h says what it
 * computes and why it is shaped this way).
 *
 * Within a tile, row blocks of R output rows; a row block that reads no
 * padding row and is whole takes the unguarded copy of the code, others the
 * guarded one (each input row under an `if`, each output row's store too).
 * (Pointing the padding rows at a constant row of zeros instead, one copy
 * of the code with a select per row, measured 10% to 60% slower: the rows'
 * pointers are then unrelated, one register each.)
 * Along the row, chunks of NV vectors: the interior chunks in a loop, the
 * few at either end (those whose loads would cross the row's ends, and a
 * partial last one) unrolled with compile-time lane masks. */
#include <string.h>

#include "codegen/cpu/cg_dwconv.h"
#include "ir/ops.h"

#define MAXR 8
#define MAXNV 2
#define MAXK 11
#define MAXVW 16

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int nc_cg_dw_plan(NcDwPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why) {
    const NcAttrs *a = &nd->attrs;
    memset(p, 0, sizeof *p);
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return *why = "not 2-d", 0;
    const int64_t C = x->shape[1];
    if (a->groups != C || w->shape[0] != C || w->shape[1] != 1 || y->shape[1] != C) return *why = "not depthwise", 0;
    if (w->layout != NC_LAYOUT_NCHW) return *why = "filter packed for another kernel", 0;
    if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilation", 0;
    if (a->stride[0] != a->stride[1] || a->stride[0] < 1 || a->stride[0] > 2) return *why = "stride other than 1 or 2", 0;
    if (w->shape[2] > MAXK || w->shape[3] > MAXK) return *why = "window over 11", 0;
    if (a->pad[0] < 0 || a->pad[1] < 0 || a->pad[2] < 0 || a->pad[3] < 0) return *why = "negative padding", 0;
    if (t->vw > MAXVW || t->vw % 4) return *why = "vector width", 0;
    for (int s = 0; s < a->nepi; s++) {
        if (a->epi[s].kind != NC_EPI_ADD && a->epi[s].kind != NC_EPI_MUL) continue;
        const NcValue *o = nc_val(g, nd->inputs[a->epi[s].input]);
        const int per_channel = o->ndim == 4 && o->shape[0] == y->shape[0] && o->shape[1] == C && o->shape[2] == 1 && o->shape[3] == 1;
        if (!nc_shape_eq(o, y) && !per_channel) return *why = "an epilogue operand that broadcasts otherwise", 0;
    }
    if (a->has_in_scale) {
        const NcValue *sc = nc_val(g, nd->inputs[nc_in_scale_input(a)]);
        if (nc_numel(sc) != x->shape[0] * C) return *why = "an input scale that is not per (image, channel)", 0;
    }
    p->N = x->shape[0], p->C = C, p->H = x->shape[2], p->W = x->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
    p->KH = (int)w->shape[2], p->KW = (int)w->shape[3], p->s = a->stride[0], p->pt = a->pad[0], p->pl = a->pad[1];
    /* Register block.  Rows as well as vectors, so each input vector feeds
     * several output rows (stride 1: up to KH of them).  Measured on
     * efficientnet_b0 (AVX2, 16 registers, the 9 or 25 weights mostly
     * memory operands): 3 rows x 2 vectors is fastest wherever a row fills
     * two vectors (13% to 25% faster than 4 x 1 or 8 x 1); narrower rows
     * (7 wide) take one vector and up to 8 rows, the whole 7 x 7 plane in
     * one block. */
    p->NV = y->shape[3] >= 2 * t->vw - 4 ? 2 : 1;
    p->R = p->NV == 2 ? 3 : 8;
    if (p->R > p->OH) p->R = (int)p->OH;
    /* Tiles: whole planes where there are enough of them (a plane's input
     * stays in cache), else bands of rows so that 2+ threads have work. */
    const int64_t blocks = ceil_div(p->OH, p->R), planes = p->N * C;
    int64_t bands = planes >= 128 ? 1 : ceil_div(128, planes);
    if (bands > blocks) bands = blocks;
    p->band = ceil_div(blocks, bands) * p->R;
    p->bands = ceil_div(p->OH, p->band);
    p->tiles = planes * p->bands;
    return 1;
}

/* ---- emission ------------------------------------------------------------ */

typedef struct Dw {
    NcCgModule *m;
    const NcDwPlan *p;
    const NcAttrs *a;
    LLVMValueRef xplane, yplane;
    LLVMValueRef wv[MAXK][MAXK];              /* the tile's weights, broadcast (times the input scale) */
    LLVMValueRef bias;                        /* broadcast, or NULL */
    LLVMValueRef epi[NC_MAX_EPI];             /* same shape: the operand's plane; per channel: its value, broadcast */
    int epi_pc[NC_MAX_EPI];
    LLVMValueRef acc[MAXR][MAXNV];            /* allocas */
    LLVMValueRef evm, odm, unperm;            /* stride 2: even / odd lanes of two vectors, and the inverse order */
    int CH, RI;                               /* outputs per chunk; input rows per row block */
    int sweep;                                /* the epilogue as a pass of its own (see row_block) */
} Dw;

static LLVMValueRef i32c(NcCgModule *m, int v) { return LLVMConstInt(m->i32, (unsigned long long)v, 0); }

/* p + i (floats) that may point outside the plane: only masked loads use it */
static LLVMValueRef gep_any(NcCgModule *m, LLVMValueRef p, int64_t i) {
    LLVMValueRef ii = cgb_i64(m, i);
    return LLVMBuildGEP2(m->b, m->f32, p, &ii, 1, "");
}

/* A vector of row[col + l], lanes with col + l outside [0, W) zero; col is a
 * compile-time column when known (row_col NULL), else the runtime row_col is
 * added and the whole vector must lie inside the row. */
static LLVMValueRef load_cols(Dw *d, LLVMValueRef row, LLVMValueRef rt_col, int64_t col) {
    NcCgModule *m = d->m;
    if (rt_col) return cgb_load(m, cgb_gep(m, row, LLVMBuildNSWAdd(m->b, rt_col, cgb_i64(m, col), "")));
    int inside = 0;
    LLVMValueRef bits[MAXVW];
    for (int l = 0; l < m->vw; l++) {
        const int ok = col + l >= 0 && col + l < d->p->W;
        inside += ok;
        bits[l] = LLVMConstInt(m->i1, (unsigned long long)ok, 0);
    }
    if (!inside) return cgb_zero(m);
    if (inside == m->vw) return cgb_load(m, gep_any(m, row, col));
    const char *name = "llvm.masked.load";
    LLVMTypeRef over[2] = {m->vec, m->ptr};
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, over, 2);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, over, 2);
    LLVMValueRef args[4] = {gep_any(m, row, col), i32c(m, 4), LLVMConstVector(bits, (unsigned)m->vw), cgb_zero(m)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

/* Does chunk j load only inside the row, and store a whole chunk? */
static int chunk_interior(const NcDwPlan *p, int CH, int vw, int64_t j) {
    const int64_t ow0 = j * CH;
    if (ow0 + CH > p->OW) return 0;
    const int64_t lo = ow0 * p->s - p->pl;
    /* stride 1: the last lane of the last vector at the last kw; stride 2:
     * the second vector of the last pair */
    const int64_t hi = p->s == 1 ? lo + CH - 1 + p->KW - 1 : lo + 2 * ((p->KW - 1) / 2) + 2 * CH - 1;
    (void)vw;
    return lo >= 0 && hi <= p->W - 1;
}

/* The conv's fused epilogue on the n lanes of output at plane offset off. */
static LLVMValueRef epilogue(Dw *d, LLVMValueRef val, LLVMValueRef off, int n) {
    NcCgModule *m = d->m;
    for (int k = 0; k < d->a->nepi; k++) {
        const NcEpilogue *ep = &d->a->epi[k];
        if (ep->kind != NC_EPI_ADD && ep->kind != NC_EPI_MUL) {
            val = cgb_activation(m, ep->kind, ep->lo, ep->hi, val);
            continue;
        }
        LLVMValueRef o = d->epi_pc[k] ? d->epi[k] : cgb_load_n(m, cgb_gep(m, d->epi[k], off), n);
        val = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(m->b, val, o, "") : LLVMBuildFMul(m->b, val, o, "");
    }
    return val;
}

/* The epilogue over len outputs stored (with the bias) from plane offset
 * off on: a pass over a row block still in L1. */
static void sweep(Dw *d, LLVMValueRef off, int64_t len) {
    NcCgModule *m = d->m;
    const int vw = m->vw;
    const int64_t full = len / vw * vw;
    if (full) {
        LLVMValueRef i;
        CgbLoop l = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), vw, &i);
        LLVMValueRef o = LLVMBuildNSWAdd(m->b, off, i, "");
        cgb_store(m, epilogue(d, cgb_load(m, cgb_gep(m, d->yplane, o)), o, vw), cgb_gep(m, d->yplane, o));
        cgb_loop_end(m, &l);
    }
    if (len > full) {
        LLVMValueRef o = LLVMBuildNSWAdd(m->b, off, cgb_i64(m, full), "");
        const int n = (int)(len - full);
        cgb_store_n(m, epilogue(d, cgb_load_n(m, cgb_gep(m, d->yplane, o), n), o, n), cgb_gep(m, d->yplane, o), n);
    }
}

/* One chunk of NV vectors of R output rows: ow0 at runtime (rt_ow0, an
 * interior chunk) or the constant ow0c (an edge chunk).  xrow[i] are the
 * input rows' pointers, in_ok / out_ok (guarded blocks) their validity and
 * the output rows'; yoff the first output row's offset in the plane. */
static void chunk(Dw *d, LLVMValueRef rt_ow0, int64_t ow0c, LLVMValueRef *xrow, LLVMValueRef *in_ok, LLVMValueRef *out_ok,
                  LLVMValueRef yoff) {
    NcCgModule *m = d->m;
    LLVMBuilderRef b = m->b;
    const NcDwPlan *p = d->p;
    const int vw = m->vw, s = p->s;
    LLVMValueRef rt_col = rt_ow0 ? (s == 1 ? rt_ow0 : LLVMBuildNSWMul(b, rt_ow0, cgb_i64(m, 2), "")) : NULL;
    const int64_t col0 = (rt_ow0 ? 0 : ow0c * s) - p->pl;
    for (int r = 0; r < p->R; r++)
        for (int v = 0; v < p->NV; v++) LLVMBuildStore(b, d->bias ? d->bias : cgb_zero(m), d->acc[r][v]);
    for (int i = 0; i < d->RI; i++) {
        /* output rows r with 0 <= i - r s < KH read this input row */
        int any = 0;
        for (int r = 0; r < p->R; r++) any |= i - r * s >= 0 && i - r * s < p->KH;
        if (!any) continue;
        CgbIf c;
        if (in_ok) c = cgb_if_begin(m, in_ok[i]);
        for (int v = 0; v < p->NV; v++) {
            if (!rt_ow0 && ow0c + (int64_t)v * vw >= p->OW) continue; /* no output of this vector is stored */
            LLVMValueRef xin[MAXK];
            const int64_t cv = col0 + (int64_t)v * vw * s;
            if (s == 1) {
                for (int kw = 0; kw < p->KW; kw++) xin[kw] = load_cols(d, xrow[i], rt_col, cv + kw);
            } else {
                for (int q = 0; 2 * q < p->KW; q++) {
                    LLVMValueRef lo = load_cols(d, xrow[i], rt_col, cv + 2 * q), hi = load_cols(d, xrow[i], rt_col, cv + 2 * q + vw);
                    xin[2 * q] = LLVMBuildShuffleVector(b, lo, hi, d->evm, "");
                    if (2 * q + 1 < p->KW) xin[2 * q + 1] = LLVMBuildShuffleVector(b, lo, hi, d->odm, "");
                }
            }
            for (int r = 0; r < p->R; r++) {
                const int kh = i - r * s;
                if (kh < 0 || kh >= p->KH) continue;
                LLVMValueRef acc = LLVMBuildLoad2(b, m->vec, d->acc[r][v], "");
                for (int kw = 0; kw < p->KW; kw++) acc = cgb_fma(m, xin[kw], d->wv[kh][kw], acc);
                LLVMBuildStore(b, acc, d->acc[r][v]);
            }
        }
        if (in_ok) cgb_if_end(m, &c);
    }
    /* bias is in; the epilogue, then the store */
    for (int r = 0; r < p->R; r++) {
        CgbIf c;
        if (out_ok) c = cgb_if_begin(m, out_ok[r]);
        for (int v = 0; v < p->NV; v++) {
            const int64_t lanes = rt_ow0 ? vw : p->OW - ow0c - (int64_t)v * vw;
            if (lanes <= 0) continue;
            LLVMValueRef val = LLVMBuildLoad2(b, m->vec, d->acc[r][v], "");
            if (d->unperm) val = LLVMBuildShuffleVector(b, val, LLVMGetPoison(m->vec), d->unperm, "");
            LLVMValueRef off = LLVMBuildNSWAdd(b, yoff, cgb_i64(m, (int64_t)r * p->OW + (rt_ow0 ? 0 : ow0c) + (int64_t)v * vw), "");
            if (rt_ow0) off = LLVMBuildNSWAdd(b, off, rt_ow0, "");
            const int n = (int)(lanes < vw ? lanes : vw);
            if (!d->sweep) val = epilogue(d, val, off, n);
            cgb_store_n(m, val, cgb_gep(m, d->yplane, off), n);
        }
        if (out_ok) cgb_if_end(m, &c);
    }
}

/* A row block at output row oh0 (guarded: some of its input rows are
 * padding, or some of its output rows past the band). */
static void row_block(Dw *d, LLVMValueRef oh0, LLVMValueRef oh_end, int guarded) {
    NcCgModule *m = d->m;
    LLVMBuilderRef b = m->b;
    const NcDwPlan *p = d->p;
    const int64_t nch = ceil_div(p->OW, d->CH);
    LLVMValueRef ih0 = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, oh0, cgb_i64(m, p->s), ""), cgb_i64(m, p->pt), "");
    LLVMValueRef xrow[MAXR * 2 + MAXK], in_ok[MAXR * 2 + MAXK], out_ok[MAXR];
    for (int i = 0; i < d->RI; i++) {
        LLVMValueRef ih = LLVMBuildNSWAdd(b, ih0, cgb_i64(m, i), "");
        if (guarded) {
            /* 0 <= ih < H as one unsigned compare; the pointer clamped into the plane */
            in_ok[i] = LLVMBuildICmp(b, LLVMIntULT, ih, cgb_i64(m, p->H), "");
            ih = LLVMBuildSelect(b, in_ok[i], ih, cgb_i64(m, 0), "");
        }
        xrow[i] = cgb_gep(m, d->xplane, LLVMBuildNSWMul(b, ih, cgb_i64(m, p->W), ""));
    }
    for (int r = 0; guarded && r < p->R; r++)
        out_ok[r] = LLVMBuildICmp(b, LLVMIntSLT, LLVMBuildNSWAdd(b, oh0, cgb_i64(m, r), ""), oh_end, "");
    LLVMValueRef yoff = LLVMBuildNSWMul(b, oh0, cgb_i64(m, p->OW), "");
    int64_t jl = 0, jr;
    while (jl < nch && !chunk_interior(p, d->CH, m->vw, jl)) jl++;
    for (jr = jl; jr < nch && chunk_interior(p, d->CH, m->vw, jr);) jr++;
    for (int64_t j = 0; j < jl; j++) chunk(d, NULL, j * d->CH, xrow, guarded ? in_ok : NULL, guarded ? out_ok : NULL, yoff);
    if (jr > jl) {
        LLVMValueRef ow0;
        CgbLoop l = cgb_loop_begin(m, cgb_i64(m, jl * d->CH), cgb_i64(m, jr * d->CH), d->CH, &ow0);
        chunk(d, ow0, 0, xrow, guarded ? in_ok : NULL, guarded ? out_ok : NULL, yoff);
        cgb_loop_end(m, &l);
    }
    for (int64_t j = jr; j < nch; j++) chunk(d, NULL, j * d->CH, xrow, guarded ? in_ok : NULL, guarded ? out_ok : NULL, yoff);
    if (!d->sweep) return;
    if (!guarded) {
        sweep(d, yoff, p->R * p->OW);
        return;
    }
    for (int r = 0; r < p->R; r++) {
        CgbIf c = cgb_if_begin(m, out_ok[r]);
        sweep(d, LLVMBuildNSWAdd(b, yoff, cgb_i64(m, (int64_t)r * p->OW), ""), p->OW);
        cgb_if_end(m, &c);
    }
}

void nc_cg_dw_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcDwPlan *p, const char *name) {
    LLVMBuilderRef b = m->b;
    const NcAttrs *a = &nd->attrs;
    const int vw = m->vw;
    Dw d;
    memset(&d, 0, sizeof d);
    d.m = m, d.p = p, d.a = a, d.CH = p->NV * vw, d.RI = (p->R - 1) * p->s + p->KH;
    /* Rows wider than two vectors (28+ at AVX2) run the epilogue as a pass
     * of its own over each row block (in L1): the accumulation loop then
     * keeps its registers, 10% to 40% faster on efficientnet_b0's 28- to
     * 112-wide planes with SiLU; narrower planes were 10% to 40% slower so. */
    d.sweep = a->nepi > 0 && p->OW > 2 * vw;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), w = cgb_arg_ptr(m, in, 1), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef bias = a->has_bias ? cgb_arg_ptr(m, in, 2) : NULL;
    LLVMValueRef scale = a->has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(a)) : NULL;
    LLVMValueRef epi[NC_MAX_EPI] = {0};
    const NcValue *yv = nc_val(g, nd->outputs[0]);
    for (int k = 0; k < a->nepi; k++)
        if (a->epi[k].kind == NC_EPI_ADD || a->epi[k].kind == NC_EPI_MUL) {
            epi[k] = cgb_arg_ptr(m, in, a->epi[k].input);
            d.epi_pc[k] = !nc_shape_eq(nc_val(g, nd->inputs[a->epi[k].input]), yv);
        }
    if (p->s == 2) {
        /* shufps's in-lane pattern: 128-bit lane j of the result holds
         * lo[4j], lo[4j+2], hi[4j], hi[4j+2] — even outputs 2j, 2j+1,
         * vw/2+2j, vw/2+2j+1 — one instruction where a true deinterleave
         * takes two; unperm puts the outputs back in order once, at the end */
        LLVMValueRef ev[MAXVW], od[MAXVW], inv[MAXVW];
        int identity = 1;
        for (int lane = 0; lane < vw; lane++) {
            const int j = lane / 4, q = lane % 4;
            const int src = (q < 2 ? 4 * j : vw + 4 * j) + 2 * (q & 1);
            ev[lane] = i32c(m, src), od[lane] = i32c(m, src + 1);
            const int e = (q < 2 ? 2 * j : vw / 2 + 2 * j) + (q & 1);
            inv[e] = i32c(m, lane);
            identity &= e == lane;
        }
        d.evm = LLVMConstVector(ev, (unsigned)vw), d.odm = LLVMConstVector(od, (unsigned)vw);
        d.unperm = identity ? NULL : LLVMConstVector(inv, (unsigned)vw);
    }
    for (int r = 0; r < p->R; r++)
        for (int v = 0; v < p->NV; v++) d.acc[r][v] = cgb_var(m, m->vec);

    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* t = plane * bands + band, plane = n * C + c */
    LLVMValueRef band = LLVMBuildSRem(b, t, cgb_i64(m, p->bands), "band");
    LLVMValueRef plane = LLVMBuildSDiv(b, t, cgb_i64(m, p->bands), "plane");
    LLVMValueRef c = LLVMBuildSRem(b, plane, cgb_i64(m, p->C), "c");
    d.xplane = cgb_gep(m, x, LLVMBuildNSWMul(b, plane, cgb_i64(m, p->H * p->W), ""));
    d.yplane = cgb_gep(m, y, LLVMBuildNSWMul(b, plane, cgb_i64(m, p->OH * p->OW), ""));
    LLVMValueRef sc = scale ? LLVMBuildLoad2(b, m->f32, cgb_gep(m, scale, plane), "") : NULL;
    LLVMValueRef wc = cgb_gep(m, w, LLVMBuildNSWMul(b, c, cgb_i64(m, (int64_t)p->KH * p->KW), ""));
    for (int kh = 0; kh < p->KH; kh++)
        for (int kw = 0; kw < p->KW; kw++) {
            LLVMValueRef wk = LLVMBuildLoad2(b, m->f32, cgb_gep(m, wc, cgb_i64(m, (int64_t)kh * p->KW + kw)), "");
            if (sc) wk = LLVMBuildFMul(b, wk, sc, ""); /* (s x) * w == x * (s w): the SE gate folded into the weights */
            d.wv[kh][kw] = cgb_splat(m, wk);
        }
    d.bias = bias ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, bias, c), "")) : NULL;
    for (int k = 0; k < a->nepi; k++) {
        if (!epi[k]) continue;
        d.epi[k] = d.epi_pc[k] ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, epi[k], plane), ""))
                               : cgb_gep(m, epi[k], LLVMBuildNSWMul(b, plane, cgb_i64(m, p->OH * p->OW), ""));
    }
    LLVMValueRef oh_start = LLVMBuildNSWMul(b, band, cgb_i64(m, p->band), "");
    LLVMValueRef oh_end = LLVMBuildNSWAdd(b, oh_start, cgb_i64(m, p->band), "");
    oh_end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, oh_end, cgb_i64(m, p->OH), ""), oh_end, cgb_i64(m, p->OH), "oh_end");
    LLVMValueRef oh0;
    CgbLoop lr = cgb_loop_begin(m, oh_start, oh_end, p->R, &oh0);
    /* unguarded: every input row inside the plane, every output row inside the band */
    LLVMValueRef ih0 = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, oh0, cgb_i64(m, p->s), ""), cgb_i64(m, p->pt), "");
    LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, ih0, cgb_i64(m, 0), ""),
                                   LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNSWAdd(b, ih0, cgb_i64(m, d.RI), ""), cgb_i64(m, p->H), ""), "");
    ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNSWAdd(b, oh0, cgb_i64(m, p->R), ""), oh_end, ""), "");
    CgbIf ci = cgb_if_begin(m, ok);
    row_block(&d, oh0, oh_end, 0);
    cgb_if_else(m, &ci);
    row_block(&d, oh0, oh_end, 1);
    cgb_if_end(m, &ci);
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}
