/* cg_nhwc_conv.c — the NHWC direct convolution (cg_nhwc_conv.h says what it
 * computes and why it is shaped this way).
 *
 * A tile is one output row of one image, one group, and a chunk of channel
 * blocks.  Within it: for each channel block (NV vectors; a runtime loop over
 * the whole blocks, then the compile-time tail block), the row's pixel blocks
 * (P pixels: a runtime loop over the interior ones, the border ones
 * unrolled), each accumulating over the row's valid kernel rows (a runtime
 * range), the kernel columns (unrolled, only those inside the input for each
 * pixel) and, grouped, the group's input channels.  Channel blocks outside
 * pixel blocks: a block's weights (KH x KW x CG x NV vectors) stay in L1
 * while the whole row streams past them. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_nhwc_conv.h"
#include "ir/ops.h"

#define MAXP         16
#define MAXNV        8 /* AVX-512's 3-vector blocks emulated in 8-float vectors: 6 */
#define MAXK         11
#define TARGET_TILES 96 /* enough for 16 threads to share out evenly */
#define CUNROLL      8  /* a group's input channels unrolled up to this many (the stems' 3) */

/* The channel blocking and the tiles that follow from P, NV. */
static void blocking(NcNhwcConvPlan *p, int vw) {
    const int64_t fv = p->VO / vw;
    p->OGp = cgb_ceil_div(p->VO, vw) * vw;
    p->nfb = fv / p->NV;
    p->tail_full = (int)(fv % p->NV);
    p->tail_lanes = (int)(p->VO % vw);
    p->nblk = p->nfb + (p->tail_full || p->tail_lanes ? 1 : 0);
    /* Split a group's channel blocks into chunks only as far as needed for
     * TARGET_TILES tiles: a chunk re-reads its input rows. */
    const int64_t rows = p->N * p->OH * p->VG;
    int64_t want = cgb_ceil_div(TARGET_TILES, rows);
    if (want > p->nblk) want = p->nblk;
    if (want < 1) want = 1;
    p->bpc = cgb_ceil_div(p->nblk, want);
    p->nch = cgb_ceil_div(p->nblk, p->bpc);
    p->tiles = rows * p->nch;
}

/* Accumulators a register block may hold, in the blocking's vectors
 * (cg_target.h): the rest of the registers hold weights, x and a broadcast. */
static int max_acc(const NcCgTarget *t) { return t->bregs - 4; }

int nc_cg_nhwc_conv_set_block(NcNhwcConvPlan *p, const NcCgTarget *t, int P, int NV) {
    const int vw = p->vw ? p->vw : t->vw, bvw = vw != t->vw ? vw : t->bvw; /* ymm_pays' plans keep their vectors */
    if (P < 1 || P > MAXP || NV < 1 || NV > MAXNV || P * cgb_ceil_div((int64_t)NV * vw, bvw) > max_acc(t)) return 0;
    p->P = P, p->NV = NV;
    blocking(p, vw);
    return 1;
}

/* Do 8-float vectors (ymm, AVX-512VL's 32 of them) pay for a grouped conv on this AVX-512 target?  Where
 * a group's channels are a multiple of 8 but not of 16 (RegNetY's 24 and 72) a zmm block leaves a quarter
 * or more of its lanes masked (24 = 16 + a half vector: at most 75% of the peak); on Zen 4 a zmm FMA issues
 * as two halves, so ymm FMAs (two a cycle) reach the same peak with every lane used.  Intel's AVX-512
 * servers have two full-width FMA units (ymm: half their peak), Zen 5 full-width ones too: Zen 4 only.
 * NETC_CG_GROUPED_VW=8 / 16 forces either (tests, A/B). */
static int ymm_pays(const NcCgTarget *t, int64_t VO, int dw) {
    if (dw || t->vw != 16 || t->bregs < 32 || VO % 8 || VO % 16 == 0) return 0;
    const char *env = getenv("NETC_CG_GROUPED_VW");
    if (env && *env) return atoi(env) == 8;
    return t->cpu && !strcmp(t->cpu, "znver4");
}

int nc_cg_nhwc_conv_plan(NcNhwcConvPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why) {
    const NcAttrs *a = &nd->attrs;
    memset(p, 0, sizeof *p);
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1 || nd->ninputs < 2) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return *why = "not 2-d", 0;
    const int bf16_act = x->dtype == NC_BF16 || y->dtype == NC_BF16; /* depthwise only, below */
    if ((x->dtype != NC_F32 && x->dtype != NC_BF16) || (y->dtype != NC_F32 && y->dtype != NC_BF16))
        return *why = "not float32 or bf16", 0;
    if (w->layout != NC_LAYOUT_NCHW) return *why = "filter packed for another kernel", 0;
    const int64_t C = x->shape[1], O = y->shape[1], G = a->groups;
    if (G < 1 || C % G || O % G || w->shape[0] != O || w->shape[1] != C / G)
        return *why = "groups do not divide the channels", 0;
    if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilation", 0;
    if (a->stride[0] < 1 || a->stride[1] < 1) return *why = "stride below 1", 0;
    if (w->shape[2] > MAXK || w->shape[3] > MAXK) return *why = "window over 11", 0;
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0) return *why = "negative padding", 0;
    if (t->vw > 16 || t->vw < 4) return *why = "vector width", 0;
    if (y->shape[0] != x->shape[0] || y->shape[2] < 1 || y->shape[3] < 1) return *why = "empty output", 0;
    if (!cgb_epi_operands_ok(g, nd)) return *why = "an epilogue operand that broadcasts otherwise", 0;
    if (a->has_in_scale && nc_numel(nc_val(g, nd->inputs[nc_in_scale_input(a)])) != x->shape[0] * C)
        return *why = "an input scale that is not per (image, channel)", 0;
    p->N = x->shape[0], p->C = C, p->H = x->shape[2], p->W = x->shape[3], p->O = O, p->OH = y->shape[2],
    p->OW = y->shape[3];
    p->G = G, p->CG = C / G, p->OG = O / G;
    p->KH = (int)w->shape[2], p->KW = (int)w->shape[3], p->sh = a->stride[0], p->sw = a->stride[1];
    p->pt = a->pad[0], p->pl = a->pad[1], p->pb = a->pad[2], p->pr = a->pad[3];
    /* the output size the padding implies: anything else is not this conv */
    if ((p->H + p->pt + p->pb - p->KH) / p->sh + 1 != p->OH || (p->W + p->pl + p->pr - p->KW) / p->sw + 1 != p->OW)
        return *why = "output size does not match the padding", 0;
    p->dw = G == C && G == O;
    if (bf16_act && !p->dw) return *why = "bf16 activations (the depthwise kernel alone reads and writes them)", 0;
    p->VG = p->dw ? 1 : G, p->VO = p->dw ? C : p->OG;
    NcCgTarget t8;
    if (ymm_pays(t, p->VO, p->dw)) { /* this kernel's vectors and blocks: 8 floats, 32 registers */
        t8 = *t;
        t8.vw = t8.bvw = 8;
        t = &t8;
    }
    p->vw = t->vw;
    /* Register block, chosen for the blocking ISA (cg_target.h) in its
     * vectors, then counted in the target's own.  AVX2 (16 registers, at
     * most 12 accumulators): depthwise 8 pixels x 1 vector — at stride 1
     * the pixels' windows overlap, so a kernel row is P + KW - 1 vector
     * loads, KW weight loads and P x KW FMAs.  Grouped: the output-channel
     * vectors of the group, 3 (24, 72 channels...) x 4 pixels or 2 x 6: per
     * (kh, kw, c) NV weight loads and P broadcasts feed P x NV FMAs.
     * AVX-512 (32 registers, at most 28 accumulators; chosen, not yet
     * measured on such a host): 14 pixels x 1 or 2 vectors, 7 x 3 — 14 and
     * 7 divide the 112..7 rows of the four model families, and a longer
     * depthwise block shares more of each kernel row's loads. */
    const int64_t ogv = cgb_ceil_div(p->VO, t->vw), ogvb = cgb_ceil_div(p->VO, t->bvw);
    const int wide = t->bregs >= 32;
    int NVb;
    if (p->dw)
        NVb = 1, p->P = wide ? 14 : 8, p->pix_outer = 1;
    else if (wide && p->CG <= 4)
        /* AVX-512 stems (3 input channels, 3x3 or 7x7 stride 2): few pixels
         * by up to 4 vectors — measured on a Sapphire Rapids-class Xeon (1
         * thread, CPU time, bench/RESULTS.md) 3->64 7x7/2 14 x 2: 62-76
         * GFLOP/s, 5 x 4: 115-144; 3->32 3x3/2 14 x 2: 57-111, 6 x 2:
         * 114-150 — the grouped convs' 14 x 2 stays best with many
         * input channels */
        NVb = ogvb < 4 ? (int)ogvb : 4, p->P = NVb >= 4 ? 5 : 6;
    else if (ogvb == 1)
        NVb = 1, p->P = wide ? 14 : 12;
    else if (ogvb == 2 || (ogvb % 3 && ogvb % 2 == 0))
        NVb = 2, p->P = wide ? 14 : 6;
    else
        NVb = 3, p->P = wide ? 7 : 4;
    p->NV = (int)(NVb * t->bvw / t->vw);
    if (p->NV > ogv && !p->dw) p->NV = (int)ogv; /* emulated: no more vectors than the group has */
    if (p->P > p->OW) p->P = (int)p->OW;
    /* Tile order.  Groups outside rows when the packed weights outgrow
     * about 3/4 of a 512 KB L2: consecutive tiles then share one group's
     * weights.  Image by image, its groups taking turns: every group sweeping
     * every image read the input from memory once per group.  With smaller
     * weights, rows outermost: consecutive tiles share the input rows' lines.
     * (Measured on RegNetY-016's grouped convs: bench/RESULTS.md, session 6.) */
    const int64_t wbytes = p->G * p->KH * p->KW * p->CG * ogv * t->vw * 4;
    p->g_outer = !p->dw && p->G > 1 && wbytes > (384 << 10);
    blocking(p, t->vw);
    return 1;
}

/* ---- emission ------------------------------------------------------------ */

typedef struct E {
    NcCgModule *m;
    const NcNhwcConvPlan *p;
    const NcAttrs *a;
    int64_t PCG; /* input channels per group in the packed weights (depthwise 1) */
    LLVMValueRef w, bias, scale, epi[NC_MAX_EPI];
    int epi_pc[NC_MAX_EPI]; /* operand k is per (image, channel) */
    /* the tile's */
    LLVMValueRef n, g, xn, yrow, eprow[NC_MAX_EPI], ih0, kh_lo, kh_hi;
    LLVMValueRef b0, b1, last_chunk; /* the chunk's whole channel blocks [b0, b1); is it the last */
    LLVMValueRef acc[MAXP][MAXNV];   /* allocas */
    int xbf, ybf; /* depthwise: x / y stored bf16 (NcValue.dtype, passes/assign_dtype.c), computed in f32 */
} E;

/* A pixel block: P pixels from ow0 (at run time: rt_ow0, all interior; or
 * the constant ow0), each with its valid kernel columns [kwlo, kwhi). */
typedef struct Px {
    LLVMValueRef rt_ow0;
    int64_t ow0;
    int np;
    int kwlo[MAXP], kwhi[MAXP];
} Px;

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef addc(NcCgModule *m, LLVMValueRef a, int64_t c) {
    return c ? LLVMBuildNSWAdd(m->b, a, I(m, c), "") : a;
}
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildNSWMul(m->b, a, I(m, c), "");
}

/* p + i floats, where p itself may point outside the buffer (a border
 * block's base column is negative): not inbounds */
static LLVMValueRef gep_any(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildGEP2(m->b, m->f32, p, &i, 1, "");
}
/* the same into x, whose elements are bf16 where e->xbf */
static LLVMValueRef xgep_any(const E *e, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildGEP2(e->m->b, e->xbf ? LLVMInt16TypeInContext(e->m->ctx) : e->m->f32, p, &i, 1, "");
}

static LLVMValueRef acc_get(E *e, int p, int v) { return LLVMBuildLoad2(e->m->b, e->m->vec, e->acc[p][v], ""); }
static void acc_set(E *e, int p, int v, LLVMValueRef x) { LLVMBuildStore(e->m->b, x, e->acc[p][v]); }

/* The fused epilogue on k vectors val[j] of n[j] lanes, output channel
 * ob[j].. at y offset yoff[j] (in the row), step by step across them
 * (cgb_activation_n: their SiLU chains overlap). */
static void epilogue_n(E *e, LLVMValueRef *val, const LLVMValueRef *yoff, const LLVMValueRef *ob, const int *n, int k) {
    NcCgModule *m = e->m;
    for (int s = 0; s < e->a->nepi; s++) {
        const NcEpilogue *ep = &e->a->epi[s];
        if (ep->kind != NC_EPI_ADD && ep->kind != NC_EPI_MUL) {
            cgb_activation_n(m, ep->kind, ep->lo, ep->hi, val, k);
            continue;
        }
        for (int j = 0; j < k; j++) {
            LLVMValueRef o = e->epi_pc[s]
                                 ? cgb_load_n(m, cgb_gep(m, e->epi[s], add(m, mulc(m, e->n, e->p->O), ob[j])), n[j])
                                 : cgb_load_n(m, cgb_gep(m, e->eprow[s], yoff[j]), n[j]);
            val[j] = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(m->b, val[j], o, "") : LLVMBuildFMul(m->b, val[j], o, "");
        }
    }
}

/* Depthwise: one kernel column kw of kernel row (xr, wr) for every pixel
 * whose window has it; xr points at the row's channel ob (and, for a runtime
 * block, at its first pixel's first column). */
static void taps_dw(E *e, const Px *px, LLVMValueRef xr, LLVMValueRef wr, int kw, int nvec, const int *lanes,
                    LLVMValueRef *sv) {
    NcCgModule *m = e->m;
    const NcNhwcConvPlan *p = e->p;
    const int vw = m->vw;
    const int64_t base = px->rt_ow0 ? 0 : px->ow0 * p->sw - p->pl;
    for (int v = 0; v < nvec; v++) {
        LLVMValueRef wv = cgb_load(m, cgb_gep(m, wr, I(m, (int64_t)kw * p->OGp + (int64_t)v * vw)));
        if (sv) wv = LLVMBuildFMul(m->b, wv, sv[v], ""); /* (s x) w == x (s w): the SE gate folded into the weight */
        for (int q = 0; q < px->np; q++) {
            if (kw < px->kwlo[q] || kw >= px->kwhi[q]) continue;
            LLVMValueRef xv =
                cgb_load_act(m, xgep_any(e, xr, I(m, (base + (int64_t)q * p->sw + kw) * p->C + (int64_t)v * vw)),
                             I(m, 0), lanes[v], e->xbf);
            acc_set(e, q, v, cgb_fma(m, xv, wv, acc_get(e, q, v)));
        }
    }
}

/* Grouped: input channel c (constant cc, or rt_c) of kernel column kw;
 * xr points at the row's group (and a runtime block's first column), wr at
 * the kernel row's weights of this channel block, sc at the image's and
 * group's input scales (or NULL). */
static void taps_grouped(E *e, const Px *px, LLVMValueRef xr, LLVMValueRef wr, LLVMValueRef sc, int kw,
                         LLVMValueRef rt_c, int64_t cc, int nvec) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcConvPlan *p = e->p;
    const int vw = m->vw;
    const int64_t base = px->rt_ow0 ? 0 : px->ow0 * p->sw - p->pl;
    LLVMValueRef c = rt_c ? rt_c : I(m, cc);
    LLVMValueRef wc = gep_any(m, wr, add(m, mulc(m, c, p->OGp), I(m, (int64_t)kw * p->CG * p->OGp)));
    LLVMValueRef wv[MAXNV];
    for (int v = 0; v < nvec; v++) wv[v] = cgb_load(m, cgb_gep(m, wc, I(m, (int64_t)v * vw)));
    LLVMValueRef s = sc ? LLVMBuildLoad2(b, m->f32, cgb_gep(m, sc, c), "") : NULL;
    LLVMValueRef xc = gep_any(m, xr, c);
    for (int q = 0; q < px->np; q++) {
        if (kw < px->kwlo[q] || kw >= px->kwhi[q]) continue;
        LLVMValueRef xs = LLVMBuildLoad2(b, m->f32, gep_any(m, xc, I(m, (base + (int64_t)q * p->sw + kw) * p->C)), "");
        if (s) xs = LLVMBuildFMul(b, xs, s, "");
        LLVMValueRef xb = cgb_splat(m, xs);
        for (int v = 0; v < nvec; v++) acc_set(e, q, v, cgb_fma(m, xb, wv[v], acc_get(e, q, v)));
    }
}

/* Prefetches this kernel row's input for the next pixel block: its P x sw
 * new columns' span floats from xr's channel on.  The hardware prefetchers
 * miss this pattern (runs of a few lines, C floats apart): at batch 8, where
 * x outgrows L2, RegNetY's grouped convs ran much slower per FLOP than
 * at batch 1 without it.  (A prefetch of an address past the row or the
 * buffer does not fault.) */
static void prefetch_next(E *e, LLVMValueRef xr, int64_t span) {
    NcCgModule *m = e->m;
    const NcNhwcConvPlan *p = e->p;
    const int64_t first =
        (int64_t)p->P * p->sw + (p->KW > p->sw ? p->KW - p->sw : 0); /* the next block's first new column */
    for (int64_t i = 0; i < (int64_t)p->P * p->sw; i++)
        for (int64_t c = 0; c < span + 16; c += 16) { /* every 64-byte line of the span, wherever it starts */
            cgb_prefetch(m, xgep_any(e, xr, I(m, (first + i) * p->C + (c < span ? c : span - 1))));
            if (c >= span) break;
        }
}

/* One register block: pixel block px x channel block (oo: the block's first
 * channel within the group's VO, nvec vectors, the last one last_lanes wide
 * if that is nonzero), accumulated, finished and stored. */
static void block(E *e, const Px *px, LLVMValueRef oo, int nvec, int last_lanes) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcConvPlan *p = e->p;
    const int vw = m->vw;
    int lanes[MAXNV];
    for (int v = 0; v < nvec; v++) lanes[v] = v == nvec - 1 && last_lanes ? last_lanes : vw;
    LLVMValueRef ob = add(m, mulc(m, e->g, p->VO), oo); /* output channel */
    for (int v = 0; v < nvec; v++) {
        LLVMValueRef init =
            e->bias ? cgb_load_n(m, cgb_gep(m, e->bias, addc(m, ob, (int64_t)v * vw)), lanes[v]) : cgb_zero(m);
        for (int q = 0; q < px->np; q++) acc_set(e, q, v, init);
    }
    LLVMValueRef sv[MAXNV], sc = NULL;
    if (e->scale && p->dw)
        for (int v = 0; v < nvec; v++)
            sv[v] = cgb_load_n(m, cgb_gep(m, e->scale, addc(m, add(m, mulc(m, e->n, p->C), ob), (int64_t)v * vw)),
                               lanes[v]);
    if (e->scale && !p->dw) sc = cgb_gep(m, e->scale, add(m, mulc(m, e->n, p->C), mulc(m, e->g, p->CG)));
    const int64_t KK = (int64_t)p->KH * p->KW;
    /* the group's packed weights at this channel block */
    LLVMValueRef wg = cgb_gep(m, e->w, add(m, mulc(m, e->g, KK * e->PCG * p->OGp), oo));
    int kwmin = p->KW, kwmax = 0;
    for (int q = 0; q < px->np; q++) {
        if (px->kwlo[q] < kwmin) kwmin = px->kwlo[q];
        if (px->kwhi[q] > kwmax) kwmax = px->kwhi[q];
    }
    LLVMValueRef kh;
    CgbLoop lk = cgb_loop_begin(m, e->kh_lo, e->kh_hi, 1, &kh);
    {
        LLVMValueRef xr = cgb_gep_act(m, e->xn, mulc(m, add(m, e->ih0, kh), p->W * p->C), e->xbf);
        xr = cgb_gep_act(m, xr, p->dw ? ob : mulc(m, e->g, p->CG), e->xbf);
        if (px->rt_ow0) xr = xgep_any(e, xr, mulc(m, addc(m, mulc(m, px->rt_ow0, p->sw), -p->pl), p->C));
        if (px->rt_ow0) prefetch_next(e, xr, p->dw ? (int64_t)nvec * vw : p->CG);
        LLVMValueRef wr = cgb_gep(m, wg, mulc(m, kh, (int64_t)p->KW * e->PCG * p->OGp));
        for (int kw = kwmin; kw < kwmax; kw++) {
            if (p->dw) {
                taps_dw(e, px, xr, wr, kw, nvec, lanes, e->scale ? sv : NULL);
            } else if (p->CG <= CUNROLL) {
                for (int64_t c = 0; c < p->CG; c++) taps_grouped(e, px, xr, wr, sc, kw, NULL, c, nvec);
            } else {
                LLVMValueRef c;
                CgbLoop lc = cgb_loop_begin(m, I(m, 0), I(m, p->CG), 1, &c);
                taps_grouped(e, px, xr, wr, sc, kw, c, 0, nvec);
                cgb_loop_end(m, &lc);
            }
        }
    }
    cgb_loop_end(m, &lk);
    for (int g0 = 0; g0 < px->np * nvec; g0 += CGB_MAX_INTERLEAVE) {
        const int k = px->np * nvec - g0 < CGB_MAX_INTERLEAVE ? px->np * nvec - g0 : CGB_MAX_INTERLEAVE;
        LLVMValueRef val[CGB_MAX_INTERLEAVE], yoff[CGB_MAX_INTERLEAVE], och[CGB_MAX_INTERLEAVE];
        int n[CGB_MAX_INTERLEAVE];
        for (int j = 0; j < k; j++) {
            const int q = (g0 + j) / nvec, v = (g0 + j) % nvec;
            LLVMValueRef ow = px->rt_ow0 ? addc(m, px->rt_ow0, q) : I(m, px->ow0 + q);
            och[j] = addc(m, ob, (int64_t)v * vw), yoff[j] = add(m, mulc(m, ow, p->O), och[j]);
            val[j] = acc_get(e, q, v), n[j] = lanes[v];
        }
        epilogue_n(e, val, yoff, och, n, k);
        for (int j = 0; j < k; j++) cgb_store_act(m, val[j], e->yrow, yoff[j], n[j], e->ybf);
    }
    (void)b;
}

/* Is pixel block j (P pixels from j P) whole, with every window inside the row? */
static int interior(const NcNhwcConvPlan *p, int64_t j) {
    const int64_t ow0 = j * p->P;
    if (ow0 + p->P > p->OW) return 0;
    return ow0 * p->sw - p->pl >= 0 && (ow0 + p->P - 1) * p->sw - p->pl + p->KW - 1 <= p->W - 1;
}

static Px const_block(const NcNhwcConvPlan *p, int64_t j) {
    Px px;
    memset(&px, 0, sizeof px);
    px.ow0 = j * p->P;
    px.np = (int)(p->OW - px.ow0 < p->P ? p->OW - px.ow0 : p->P);
    for (int q = 0; q < px.np; q++) {
        const int64_t iw0 = (px.ow0 + q) * p->sw - p->pl;
        int64_t lo = -iw0, hi = p->W - iw0;
        if (lo < 0) lo = 0;
        if (hi > p->KW) hi = p->KW;
        if (hi < lo) hi = lo;
        px.kwlo[q] = (int)lo, px.kwhi[q] = (int)hi;
    }
    return px;
}

/* Every channel block of the tile's chunk for pixel block px: a loop over
 * the whole blocks, then (last chunk) the tail block. */
static void chans(E *e, const Px *px) {
    NcCgModule *m = e->m;
    const NcNhwcConvPlan *p = e->p;
    LLVMValueRef blk;
    CgbLoop lb = cgb_loop_begin(m, e->b0, e->b1, 1, &blk);
    block(e, px, mulc(m, blk, (int64_t)p->NV * m->vw), p->NV, 0);
    cgb_loop_end(m, &lb);
    if (p->nblk > p->nfb) {
        CgbIf ci = cgb_if_begin(m, e->last_chunk);
        block(e, px, I(m, p->nfb * p->NV * m->vw), p->tail_full + (p->tail_lanes ? 1 : 0), p->tail_lanes);
        cgb_if_end(m, &ci);
    }
}

/* The whole output row: for one channel block (oo, nvec, last_lanes), or
 * (oo NULL) for every channel block of the chunk inside each pixel block. */
static void row(E *e, LLVMValueRef oo, int nvec, int last_lanes) {
    NcCgModule *m = e->m;
    const NcNhwcConvPlan *p = e->p;
    const int64_t nbk = cgb_ceil_div(p->OW, p->P);
    int64_t jl = 0, jr;
    while (jl < nbk && !interior(p, jl)) jl++;
    for (jr = jl; jr < nbk && interior(p, jr);) jr++;
    for (int64_t j = 0; j < jl; j++) {
        Px px = const_block(p, j);
        if (oo)
            block(e, &px, oo, nvec, last_lanes);
        else
            chans(e, &px);
    }
    if (jr > jl) {
        Px px;
        memset(&px, 0, sizeof px);
        px.np = p->P;
        for (int q = 0; q < p->P; q++) px.kwlo[q] = 0, px.kwhi[q] = p->KW;
        CgbLoop l = cgb_loop_begin(m, I(m, jl * p->P), I(m, jr * p->P), p->P, &px.rt_ow0);
        if (oo)
            block(e, &px, oo, nvec, last_lanes);
        else
            chans(e, &px);
        cgb_loop_end(m, &l);
    }
    for (int64_t j = jr; j < nbk; j++) {
        Px px = const_block(p, j);
        if (oo)
            block(e, &px, oo, nvec, last_lanes);
        else
            chans(e, &px);
    }
}

/* wprep: tile t = (group, packed output channel og < OGp); the weights
 * [G][VO][PCG][KH][KW] go to [G][KH][KW][PCG][OGp], zeros for og >= VO. */
static void emit_wprep(NcCgModule *m, const NcNhwcConvPlan *p, int64_t PCG, const char *name) {
    LLVMBuilderRef b = m->b;
    const int64_t KK = (int64_t)p->KH * p->KW;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef w = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t, k, c;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef g = LLVMBuildSDiv(b, t, I(m, p->OGp), ""), og = LLVMBuildSRem(b, t, I(m, p->OGp), "");
    LLVMValueRef real = LLVMBuildICmp(b, LLVMIntSLT, og, I(m, p->VO), "");
    LLVMValueRef ogc =
        LLVMBuildSelect(b, real, og, I(m, p->VO - 1), ""); /* a padding lane reads a real one, then stores 0 */
    LLVMValueRef src = cgb_gep(m, w, mulc(m, add(m, mulc(m, g, p->VO), ogc), PCG * KK));
    LLVMValueRef dg = cgb_gep(m, dst, add(m, mulc(m, g, KK * PCG * p->OGp), og));
    CgbLoop lk = cgb_loop_begin(m, I(m, 0), I(m, KK), 1, &k);
    CgbLoop lc = cgb_loop_begin(m, I(m, 0), I(m, PCG), 1, &c);
    LLVMValueRef v = LLVMBuildLoad2(b, m->f32, cgb_gep(m, src, add(m, mulc(m, c, KK), k)), "");
    v = LLVMBuildSelect(b, real, v, cgb_f32(m, 0), "");
    LLVMBuildStore(b, v, cgb_gep(m, dg, mulc(m, add(m, mulc(m, k, PCG), c), p->OGp)));
    cgb_loop_end(m, &lc);
    cgb_loop_end(m, &lk);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

static void emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcConvPlan *p, const char *name,
                 NcCgKernel *kern);

void nc_cg_nhwc_conv_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcConvPlan *p, const char *name,
                          NcCgKernel *kern) {
    const int mvw = m->vw;
    LLVMTypeRef mvec = m->vec;
    if (p->vw && p->vw != m->vw) { /* ymm_pays: emitted in the plan's vectors, the module's restored below */
        m->vw = p->vw, m->vec = LLVMVectorType(m->f32, (unsigned)p->vw);
        kern->isa = "avx512-ymm";
    }
    emit(m, g, nd, p, name, kern);
    m->vw = mvw, m->vec = mvec;
}

static void emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcConvPlan *p, const char *name,
                 NcCgKernel *kern) {
    LLVMBuilderRef b = m->b;
    const NcAttrs *a = &nd->attrs;
    const int vw = m->vw;
    E e;
    memset(&e, 0, sizeof e);
    e.m = m, e.p = p, e.a = a, e.PCG = p->dw ? 1 : p->CG;

    char wname[256];
    snprintf(wname, sizeof wname, "%s_wprep", name);
    emit_wprep(m, p, e.PCG, wname);
    kern->wprep = LLVMGetNamedFunction(m->mod, wname);
    kern->wprep_tiles = p->VG * p->OGp;
    kern->wfloats = p->VG * (int64_t)p->KH * p->KW * e.PCG * p->OGp;

    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    e.w = cgb_arg_ptr(m, in, 1);
    e.bias = a->has_bias ? cgb_arg_ptr(m, in, 2) : NULL;
    e.scale = a->has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(a)) : NULL;
    const NcValue *yv = nc_val(g, nd->outputs[0]);
    /* bf16 activations: the depthwise kernel alone (assign_dtype's hooks offer it no other) */
    e.xbf = p->dw && nc_val(g, nd->inputs[0])->dtype == NC_BF16, e.ybf = p->dw && yv->dtype == NC_BF16;
    NC_CHECK(p->dw || (nc_val(g, nd->inputs[0])->dtype == NC_F32 && yv->dtype == NC_F32));
    for (int k = 0; k < a->nepi; k++)
        if (a->epi[k].kind == NC_EPI_ADD || a->epi[k].kind == NC_EPI_MUL) {
            e.epi[k] = cgb_arg_ptr(m, in, a->epi[k].input);
            e.epi_pc[k] = !nc_shape_eq(nc_val(g, nd->inputs[a->epi[k].input]), yv);
        }
    for (int q = 0; q < p->P; q++)
        for (int v = 0; v < p->NV; v++) e.acc[q][v] = cgb_var(m, m->vec);

    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* t = ((n OH + oh) VG + g) nch + chunk, or with g_outer ((n G + g) OH + oh) nch + chunk */
    LLVMValueRef chunk = LLVMBuildSRem(b, t, I(m, p->nch), "chunk"), r = LLVMBuildSDiv(b, t, I(m, p->nch), "");
    LLVMValueRef nr;
    if (p->g_outer) { /* r = (n G + g) OH + oh */
        LLVMValueRef ng = LLVMBuildSDiv(b, r, I(m, p->OH), "");
        e.g = LLVMBuildSRem(b, ng, I(m, p->G), "g");
        nr = add(m, mulc(m, LLVMBuildSDiv(b, ng, I(m, p->G), ""), p->OH), LLVMBuildSRem(b, r, I(m, p->OH), ""));
    } else {
        e.g = LLVMBuildSRem(b, r, I(m, p->VG), "g");
        nr = LLVMBuildSDiv(b, r, I(m, p->VG), "");
    }
    LLVMValueRef oh = LLVMBuildSRem(b, nr, I(m, p->OH), "oh");
    e.n = LLVMBuildSDiv(b, nr, I(m, p->OH), "n");
    e.xn = cgb_gep_act(m, x, mulc(m, e.n, p->H * p->W * p->C), e.xbf);
    LLVMValueRef rowoff = mulc(m, nr, p->OW * p->O); /* nr = n OH + oh */
    e.yrow = cgb_gep_act(m, y, rowoff, e.ybf);
    for (int k = 0; k < a->nepi; k++)
        if (e.epi[k] && !e.epi_pc[k]) e.eprow[k] = cgb_gep(m, e.epi[k], rowoff);
    /* the valid kernel rows: 0 <= ih0 + kh < H */
    e.ih0 = addc(m, mulc(m, oh, p->sh), -p->pt);
    LLVMValueRef neg = LLVMBuildNeg(b, e.ih0, "");
    e.kh_lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, neg, I(m, 0), ""), neg, I(m, 0), "kh_lo");
    LLVMValueRef hi = LLVMBuildNSWSub(b, I(m, p->H), e.ih0, "");
    e.kh_hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, hi, I(m, p->KH), ""), hi, I(m, p->KH), "kh_hi");

    /* this chunk's whole channel blocks, then (last chunk) the tail block */
    e.b0 = mulc(m, chunk, p->bpc), e.b1 = addc(m, e.b0, p->bpc);
    e.b1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, e.b1, I(m, p->nfb), ""), e.b1, I(m, p->nfb), "");
    e.last_chunk = LLVMBuildICmp(b, LLVMIntEQ, chunk, I(m, p->nch - 1), "");
    if (p->pix_outer) {
        row(&e, NULL, 0, 0);
    } else {
        LLVMValueRef blk;
        CgbLoop lb = cgb_loop_begin(m, e.b0, e.b1, 1, &blk);
        row(&e, mulc(m, blk, (int64_t)p->NV * vw), p->NV, 0);
        cgb_loop_end(m, &lb);
        if (p->nblk > p->nfb) {
            CgbIf ci = cgb_if_begin(m, e.last_chunk);
            row(&e, I(m, p->nfb * p->NV * vw), p->tail_full + (p->tail_lanes ? 1 : 0), p->tail_lanes);
            cgb_if_end(m, &ci);
        }
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);

    kern->stage[0] = fn, kern->tiles[0] = p->tiles;
}
