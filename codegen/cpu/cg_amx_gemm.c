/* cg_amx_gemm.c — the bf16 GEMM on AMX tiles or AVX512-BF16, its columns
 * stage and its weight packing (cg_amx_gemm.h says what they compute).
 *
 * Loops of a GEMM tile (mc rows x nc columns):
 *
 *   for q in the tile's 32-column panels:   B's Kp x 32 panel (Kp x 64 bytes) stays in L1 / L2
 *     for p in its row micro-blocks (mr):   the tile's mc x Kp bf16 of A stay in L2
 *       micro-block over all of K, accumulators never leave the tiles / registers
 *       epilogue (f32) from the stack buffer to y */
#include "codegen/cpu/cg_amx_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_amx.h"
#include "codegen/cpu/cg_internal.h"
#include "codegen/cpu/cg_precision.h"
#include "ir/ops.h"

#define NR       32 /* columns per panel: two 16-column tiles / vectors */
#define MR512    12 /* AVX512-BF16 rows per micro-block: 24 accumulators + 2 B + a broadcast */
/* direct, fused: a micro-block's accumulators for all its panels at most (bytes, on the stack), so that its
 * epilogue reads the residual and writes the output row by row in order (the hardware prefetcher follows
 * that; panel by panel, a 64-byte line of each of 32 rows, it did not: layer 1's 1x1s with a residual
 * stalled on the residual's loads) */
#define WIDE_MAX (32 * 1024) /* N 256; at N 512 (layer2's conv3) 64 KB wide measured 1.2x the columns, 1.1x not */

/* ---- planning ---------------------------------------------------------- */

int nc_cg_bf16_target(const NcCgTarget *t) {
    if (t->vw != 16) return NC_BF16_NONE;
    if (nc_cg_target_amx_bf16(t)) return NC_BF16_AMX;
    if (nc_cg_target_avx512bf16(t)) return NC_BF16_AVX512;
    return NC_BF16_NONE;
}

/* the spec's epilogue: the conv's bias, its steps, which + / * operands are per (image, channel) */
static void conv_epilogue(NcGemmSpec *s, const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *y = nc_val(g, nd->outputs[0]);
    s->bias = a->has_bias, s->nepi = a->nepi;
    for (int i = 0; i < a->nepi; i++) {
        s->epi[i] = a->epi[i];
        if (a->epi[i].kind == NC_EPI_ADD || a->epi[i].kind == NC_EPI_MUL)
            s->epi_per_channel[i] = cgb_per_channel(nc_val(g, nd->inputs[a->epi[i].input]), y);
    }
    if (a->has_in_scale) s->in_scale = nc_in_scale_input(a);
}

/* Tiles: at least 32 where the GEMM has enough micro-blocks, so that dynamic
 * scheduling balances threads; few rows and many weights (7x7 and 14x14
 * planes at batch 1) split the columns only, each weight panel streamed
 * once. */
static void plan_tiles(NcBf16Plan *p) {
    const int64_t mr = p->mr, nmb = p->Mp / mr, npanel = p->Np / NR;
    int64_t mcb = nmb, ncb = npanel; /* micro-blocks and panels per tile */
    if (p->fused) { /* every column in each tile: rows only, at least 16 tiles where there are rows enough */
        mcb = cgb_ceil_div(nmb, 16);
        p->mc = mcb * mr, p->nc = p->Np, p->mblocks = cgb_ceil_div(nmb, mcb), p->nblocks = 1;
        p->tiles = p->G * p->mblocks;
        return;
    }
    /* A's block in half of a 2 MB L2 */
    const int64_t fit = (1024 * 1024) / (p->Kp * 2 * mr);
    if (mcb > fit) mcb = fit < 1 ? 1 : fit;
    /* more weights than rows of A (late layers at small batches: resnet50's layer 4 at batch 1 has 49 rows
     * and 0.5-4.7 MB of weights): split the columns only, so that each weight panel is streamed from memory
     * once, against all the rows */
    const int rows_fit = (p->M * p->Kp * 2 <= 256 * 1024 && p->N > p->M) || p->Np > p->Mp;
    for (;;) {
        const int64_t tiles = cgb_ceil_div(nmb, mcb) * cgb_ceil_div(npanel, ncb);
        if (tiles >= 32) break;
        const int split_m = mcb >= 2 && !(p->Np > p->Mp), split_n = ncb >= 2;
        if (rows_fit && split_n)
            ncb = cgb_ceil_div(ncb, 2);
        else if (split_m && (!split_n || mcb >= ncb))
            mcb = cgb_ceil_div(mcb, 2);
        else if (split_n)
            ncb = cgb_ceil_div(ncb, 2);
        else
            break;
    }
    mcb = cgb_ceil_div(nmb, cgb_ceil_div(nmb, mcb)), ncb = cgb_ceil_div(npanel, cgb_ceil_div(npanel, ncb));
    p->mc = mcb * mr, p->nc = ncb * NR;
    p->mblocks = cgb_ceil_div(nmb, mcb), p->nblocks = cgb_ceil_div(npanel, ncb);
    p->tiles = p->G * p->mblocks * p->nblocks;
}

/* The direct form the conv can take (cg_amx_gemm.h), 0 where none: AMX.  A 1x1 stride-1 conv reads its
 * input as it lies, so it must be bf16, unscaled, one group, C whole k-steps (a ragged last step would read
 * the next pixel's channels, past the end at the last; those keep the columns).  A KxK or strided conv
 * pads each group's channels to 32 in its planes, so few channels a group waste the tiles (the stem's 3). */
static int direct_form(const NcBf16Plan *p) {
    if (p->kind != NC_BF16_AMX) return 0;
    if (p->KH == 1 && p->KW == 1 && p->sh == 1 && p->sw == 1)
        return p->x_bf16 && !p->s.in_scale && p->G == 1 && p->C % 32 == 0 && !p->pt && !p->pl && p->OH == p->H &&
               p->OW == p->W;
    return p->Cg >= 16 ? 2 : 0;
}

/* The GEMM's sizes for the columns (direct 0) or a direct form: Kp, Np, Mp, the scratch, the weights. */
static void plan_gemm(NcBf16Plan *p, int direct) {
    p->direct = direct;
    p->Cgs = direct == 2 ? cgb_round_up(p->Cg, 32) : p->Cg, p->Cs = p->G * p->Cgs;
    p->Kp = direct == 2 ? p->KH * p->KW * p->Cgs : cgb_round_up(p->K, 32), p->Np = cgb_round_up(p->N, NR);
    p->Mp = cgb_round_up(p->M, p->mr), p->a_bytes = direct ? 0 : p->G * p->Mp * p->Kp * 2;
    p->Hp = p->Wp = p->mbi = 0, p->ph = p->pw = 1;
    if (direct == 2) {
        /* the phase planes: (a, b) holds padded pixels (sh i + a, sw j + b), Hp x Wp of them, so that tap
         * (kh, kw) of output (oh, ow) is pixel (oh + kh / sh, ow + kw / sw) of plane (kh % sh, kw % sw) —
         * stride 1 within a plane.  Output (oh, ow) is grid row oh Wp + ow of its image, computed for
         * ow < Wp (the (KW - 1) / sw columns past OW not stored); the micro-blocks of an image end up to 31
         * rows past its grid, and the last tap reads (KH - 1) / sh rows and (KW - 1) / sw pixels further:
         * slack after the last image's planes */
        p->ph = p->sh < p->KH ? p->sh : p->KH, p->pw = p->sw < p->KW ? p->sw : p->KW;
        p->Hp = p->OH + (p->KH - 1) / p->sh, p->Wp = p->OW + (p->KW - 1) / p->sw;
        p->mbi = cgb_ceil_div(p->OH * p->Wp, p->mr), p->Mp = p->s.batch * p->mbi * p->mr;
        const int64_t slack = p->mbi * p->mr - p->OH * p->Wp + (p->KW - 1) / p->sw;
        p->a_bytes = (p->s.batch * p->ph * p->pw * p->Hp * p->Wp + slack) * p->Cs * 2;
    }
    p->blob_bytes = p->G * p->Np * p->Kp * 2;
}

int nc_cg_bf16_plan(NcBf16Plan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int kind,
                    const char **why) {
    memset(p, 0, sizeof *p);
    const int has = nc_cg_bf16_target(t);
    if (!has) return *why = "no AMX-BF16 or AVX512-BF16 on the target", 0;
    if (!kind) kind = has;
    if (kind > has) return *why = "no AMX-BF16 on the target", 0;
    p->kind = kind;
    if (nd->noutputs != 1 || nd->ninputs < 2) return *why = "not a conv or linear layer", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (w->kind != NC_VAL_PARAM) return *why = "weights not a parameter", 0;
    const NcAttrs *a = &nd->attrs;
    if (nd->op == NC_OP_CONV2D) {
        if (w->ndim != 4 || a->groups < 1 || x->shape[1] % a->groups || w->shape[0] % a->groups)
            return *why = "weights", 0;
        if (a->groups > 1 && x->shape[1] / a->groups < 8) return *why = "fewer than 8 channels a group (depthwise)", 0;
        if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilated", 0;
        if (!nc_is_nhwc(x) && x->shape[2] * x->shape[3] > 1) return *why = "input not NHWC", 0;
        if (!cgb_epi_operands_ok(g, nd)) return *why = "epilogue operand of another shape", 0;
        /* vdpbf16ps does twice an FMA's multiply-adds, Winograd F(4x4, 3x3) a quarter of im2col's: without
         * AMX the dense 3x3 stride-1 convs stay with the f32 Winograd kernels (resnet50 measured 0.82x f32 with
         * them here).  Grouped ones have no Winograd form: the f32 grouped kernel reached 57% of the FMA peak
         * on regnety_016 (AMD Zen 4), so they take the bf16 columns; so do convs of fewer than 64 input
         * channels, whose Winograd GEMMs are too short to carry its transforms (ResNeSt's deep stem on Zen 4,
         * 5 rounds of bench --per-kernel: 32->32 at 112x112 F4 0.65 ms, columns 0.56; 32->64 1.11, 1.07) */
        p->prefer_f32 = kind == NC_BF16_AVX512 && a->groups == 1 && w->shape[2] == 3 && w->shape[3] == 3 &&
                        a->stride[0] == 1 && a->stride[1] == 1 && x->shape[1] >= 64;
        p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
        p->KH = w->shape[2], p->KW = w->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
        p->sh = a->stride[0], p->sw = a->stride[1], p->pt = a->pad[0], p->pl = a->pad[1];
        conv_epilogue(&p->s, g, nd);
        p->G = a->groups, p->Cg = p->C / p->G, p->O = w->shape[0];
        p->s.batch = x->shape[0], p->s.cin = p->Cg * p->KH * p->KW, p->s.cout = p->O / p->G, p->s.hw = p->OH * p->OW;
    } else if (nd->op == NC_OP_LINEAR) {
        if (!cg_gemm_candidate(g, nd, &p->s, 1)) return *why = "not a GEMM", 0;
        p->C = p->Cg = p->s.cin, p->H = p->W = p->OH = p->OW = p->KH = p->KW = 1, p->sh = p->sw = 1;
        p->G = 1, p->O = p->s.cout;
    } else {
        return *why = "not a conv or linear layer", 0;
    }
    if (p->s.batch < 1 || p->s.cin < 1 || p->s.cout < 1 || p->s.hw < 1) return *why = "empty", 0;
    p->x_bf16 = x->dtype == NC_BF16, p->y_bf16 = y->dtype == NC_BF16;
    for (int i = 0; i < p->s.nepi; i++)
        p->epi_bf16[i] = (p->s.epi[i].kind == NC_EPI_ADD || p->s.epi[i].kind == NC_EPI_MUL) &&
                         nc_val(g, nd->inputs[p->s.epi[i].input])->dtype == NC_BF16;
    p->s.wtype = NC_BF16;
    p->mr = kind == NC_BF16_AMX ? 32 : MR512;
    p->M = p->s.batch * p->s.hw, p->N = p->s.cout, p->K = p->s.cin;
    plan_gemm(p, 0);
    const char *env = getenv("NETC_CG_AMX_DIRECT"); /* 0: the columns for every conv (A/B) */
    const int direct = env && !strcmp(env, "0") ? 0 : direct_form(p);
    const int64_t rows = p->Mp; /* the columns' */
    plan_gemm(p, direct);
    /* a KxK's padded grid computes Wp - OW more a row and ends each image on a whole micro-block: where that
     * is over a fifth more rows than the columns' (resnet50's 7 x 7 layer 4 at batch 8: 1.31x, measured
     * 1.05-1.08x slower than im2col) the columns stay; 56 x 56 is 1.04x, 14 x 14 1.14x, 7 x 7 at batch 1 1x */
    /* strided convs keep the columns: their phase planes measured slower (resnet50 batch 8: layer2.0's 3x3
     * stride 2 1.87 -> 2.82 ms, its strided 1x1 1.34 -> 1.96; layer3.0's 3x3 2.82 -> 2.72), the fused
     * columns are in tile order in L1 where the planes' taps spread over four planes and the im2col of a
     * stride 2 is 2.25x its input, not 9x.  Fused (each micro-block against every panel) where the weights
     * stay in L2, as for the columns. */
    if (direct && (direct == 1 || (p->Mp * 5 <= rows * 6 && p->sh == 1 && p->sw == 1)))
        return nc_cg_bf16_set_direct(p, direct, p->blob_bytes / p->G <= 512 * 1024 && p->Mp / p->mr >= 8);
    plan_gemm(p, 0);
    nc_cg_bf16_set_fused(p,
                         p->blob_bytes / p->G <= 512 * 1024 && p->mr * p->Kp * 2 <= 160 * 1024 && p->Mp / p->mr >= 8);
    return 1;
}

void nc_cg_bf16_set_fused(NcBf16Plan *p, int fused) {
    if (p->direct) plan_gemm(p, 0);
    p->fused = fused;
    plan_tiles(p);
}

int nc_cg_bf16_set_direct(NcBf16Plan *p, int direct, int fused) {
    if (direct && direct != direct_form(p)) return 0;
    plan_gemm(p, direct);
    p->fused = fused;
    plan_tiles(p);
    return 1;
}

void nc_cg_bf16_pack(const NcBf16Plan *p, const float *w, uint16_t *blob) {
    const int64_t KK = p->KH * p->KW, S = p->Kp / 32, kstride = p->direct == 2 ? p->Cgs : p->Cg;
    memset(blob, 0, (size_t)p->blob_bytes);
    for (int64_t og = 0; og < p->O; og++)
        for (int64_t c = 0; c < p->Cg; c++)
            for (int64_t tap = 0; tap < KK; tap++) {
                const int64_t grp = og / p->N, o = og % p->N;
                const int64_t k = tap * kstride + c; /* the columns' order: tap by tap, channels within */
                const int64_t q = o / NR, t = (o % NR) / 16, j = o % 16, s = k / 32, r = (k % 32) / 2, e = k % 2;
                blob[grp * p->Np * p->Kp + ((q * S + s) * 2 + t) * 512 + r * 32 + j * 2 + e] =
                    nc_bf16_round(w[(og * p->Cg + c) * KK + tap]);
            }
}

/* ---- emission ---------------------------------------------------------- */

typedef struct B16 {
    NcCgModule *m;
    const NcBf16Plan *p;
    LLVMTypeRef bf, vbf, i16;               /* bfloat, <16 x bfloat>, i16 */
    LLVMValueRef a, blob, y, buf;           /* buf: the micro-block's accumulators, mr x 32 f32 */
    LLVMValueRef x, scale, apanel;          /* fused: the input, its SE scales, the stack panel of A (mr x Kp bf16) */
    LLVMValueRef rowbuf;                    /* AMX: one row of A as it is made (row_place) */
    LLVMValueRef grp, bgrp, agrp, col_base; /* the tile's group: its weights, its A (unfused), its first column */
    LLVMValueRef bias, epi[NC_MAX_EPI];
    LLVMValueRef plane, img; /* direct: A's source (x, or the padded planes); direct 2: the micro-block's image */
    int64_t bufw;            /* buf's row: NR floats, or (wide) Np: a micro-block's accumulators for all panels */
    int wide, lag;           /* lag: buf twice, panel q's accumulators stored in one half while q - 1's epilogue
                                reads the other */
    LLVMValueRef mbuf, ebuf; /* where micro_direct stores, where the epilogue reads (buf, or a half of it) */
    int b_stream;            /* load B with the no-reuse hint (load_b) */
    int a_rows;              /* AMX, fused: the stack panel of A row by row (Kp apart), not in tile order */
} B16;

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef addc(NcCgModule *m, LLVMValueRef a, int64_t c) { return add(m, a, I(m, c)); }
/* &p[i] for bf16 p */
static LLVMValueRef hgep(B16 *g, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildInBoundsGEP2(g->m->b, g->i16, p, &i, 1, "");
}

static LLVMValueRef intrinsic(NcCgModule *m, const char *name, LLVMTypeRef *over, int nover, LLVMTypeRef *fty) {
    const unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    *fty = LLVMIntrinsicGetType(m->ctx, id, over, (size_t)nover);
    return LLVMGetIntrinsicDeclaration(m->mod, id, over, (size_t)nover);
}

static LLVMValueRef lane_mask(NcCgModule *m, int lanes) {
    LLVMValueRef bits[16];
    for (int l = 0; l < 16; l++) bits[l] = LLVMConstInt(m->i1, l < lanes, 0);
    return LLVMConstVector(bits, 16);
}
/* 16 bf16 at p, the first `lanes` of them (the rest 0, not read) */
static LLVMValueRef load_bf(B16 *g, LLVMValueRef p, int lanes) {
    NcCgModule *m = g->m;
    if (lanes >= 16) {
        LLVMValueRef v = LLVMBuildLoad2(m->b, g->vbf, p, "");
        LLVMSetAlignment(v, 2);
        return v;
    }
    LLVMTypeRef over[2] = {g->vbf, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.load", over, 2, &fty);
    LLVMValueRef args[4] = {p, LLVMConstInt(m->i32, 2, 0), lane_mask(m, lanes), LLVMConstNull(g->vbf)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}
static void store_bf(B16 *g, LLVMValueRef h, LLVMValueRef p, int lanes) {
    NcCgModule *m = g->m;
    if (lanes >= 16) {
        LLVMSetAlignment(LLVMBuildStore(m->b, h, p), 2);
        return;
    }
    LLVMTypeRef over[2] = {g->vbf, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.store", over, 2, &fty);
    LLVMValueRef args[4] = {h, p, LLVMConstInt(m->i32, 2, 0), lane_mask(m, lanes)};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}
/* 16 f32 from an activation stored f32 or bf16 (widened: exact) at element i of p */
static LLVMValueRef load_act(B16 *g, LLVMValueRef p, LLVMValueRef i, int bf16, int lanes) {
    if (!bf16) return cgb_load_n(g->m, cgb_gep(g->m, p, i), lanes);
    return LLVMBuildFPExt(g->m->b, load_bf(g, hgep(g, p, i), lanes), g->m->vec, "");
}

/* n values of src (f32, or bf16 with src_bf16; times scale) as bf16 at dst, or zeros where src is NULL: one
 * vector.  A bf16 source without a scale is copied as it lies. */
typedef struct Cvt {
    B16 *g;
    LLVMValueRef dst, src, scale;
    int src_bf16;
} Cvt;
static void cvt_vec(NcCgModule *m, void *ctx, LLVMValueRef i, int lanes) {
    Cvt *c = ctx;
    LLVMValueRef h;
    if (c->src && c->src_bf16 && !c->scale) {
        h = load_bf(c->g, hgep(c->g, c->src, i), lanes);
    } else {
        LLVMValueRef v = cgb_zero(m);
        if (c->src) {
            v = load_act(c->g, c->src, i, c->src_bf16, lanes);
            if (c->scale) v = LLVMBuildFMul(m->b, v, cgb_load_n(m, cgb_gep(m, c->scale, i), lanes), "");
        }
        h = LLVMBuildFPTrunc(m->b, v, c->g->vbf, "");
    }
    store_bf(c->g, h, hgep(c->g, c->dst, i), lanes);
}
static void cvt(B16 *g, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef scale, int64_t n) {
    Cvt c = {g, dst, src, scale, g->p->x_bf16};
    cgb_for_vectors(g->m, n, cvt_vec, &c);
}
/* &x[i] of the input activation, f32 or bf16 */
static LLVMValueRef xgep(B16 *g, LLVMValueRef x, LLVMValueRef i) {
    return g->p->x_bf16 ? hgep(g, x, i) : cgb_gep(g->m, x, i);
}

/* Row (n, oh, ow) of A at `row` (Kp bf16): the window's taps over the input image at xn (its SE scales at sn,
 * or NULL), zeros in the padding and after K. */
static void emit_row(B16 *g, LLVMValueRef row, LLVMValueRef xn, LLVMValueRef sn, LLVMValueRef oh, LLVMValueRef ow) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef kh, kw;
    LLVMValueRef ih0 = addc(m, mulc(m, oh, p->sh), -p->pt), iw0 = addc(m, mulc(m, ow, p->sw), -p->pl);
    if (p->KH == 1 && p->KW == 1 && !p->pt && !p->pl && p->sh == 1 && p->sw == 1) { /* a 1x1: the input row */
        cvt(g, row, xgep(g, xn, mulc(m, add(m, mulc(m, oh, p->W), ow), p->C)), sn, p->Cg);
    } else {
        CgbLoop lh = cgb_loop_begin(m, I(m, 0), I(m, p->KH), 1, &kh);
        LLVMValueRef ih = add(m, ih0, kh);
        LLVMValueRef hok = LLVMBuildICmp(b, LLVMIntULT, ih, I(m, p->H), ""); /* unsigned: row -1 is out */
        /* A window row wholly inside the input (no SE scale): its KW taps are KW x C contiguous floats in
         * NHWC, one copy — a stem's 7 taps of 3 channels are 21 floats, not 7 masked copies of 3 */
        CgbIf whole = {0};
        const int rows_whole = p->KW > 1 && !sn && p->G == 1;
        if (rows_whole) {
            LLVMValueRef in_w = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, iw0, I(m, 0), ""),
                                             LLVMBuildICmp(b, LLVMIntSLE, iw0, I(m, p->W - p->KW), ""), "");
            whole = cgb_if_begin(m, LLVMBuildAnd(b, hok, in_w, ""));
            cvt(g, hgep(g, row, mulc(m, kh, p->KW * p->C)), xgep(g, xn, mulc(m, add(m, mulc(m, ih, p->W), iw0), p->C)),
                NULL, p->KW * p->C);
            cgb_if_else(m, &whole);
        }
        CgbLoop lk = cgb_loop_begin(m, I(m, 0), I(m, p->KW), 1, &kw);
        LLVMValueRef iw = add(m, iw0, kw);
        LLVMValueRef ok = LLVMBuildAnd(b, hok, LLVMBuildICmp(b, LLVMIntULT, iw, I(m, p->W), ""), "");
        LLVMValueRef dst = hgep(g, row, mulc(m, add(m, mulc(m, kh, p->KW), kw), p->Cg));
        CgbIf c = cgb_if_begin(m, ok);
        cvt(g, dst, xgep(g, xn, mulc(m, add(m, mulc(m, ih, p->W), iw), p->C)), sn, p->Cg);
        cgb_if_else(m, &c);
        cvt(g, dst, NULL, NULL, p->Cg);
        cgb_if_end(m, &c);
        cgb_loop_end(m, &lk);
        if (rows_whole) cgb_if_end(m, &whole);
        cgb_loop_end(m, &lh);
    }
    if (p->Kp > p->K) { /* zeros after K: the weights there are zero, but 0 x NaN is not */
        LLVMTypeRef vz = LLVMVectorType(g->i16, (unsigned)(p->Kp - p->K));
        LLVMSetAlignment(LLVMBuildStore(b, LLVMConstNull(vz), hgep(g, row, I(m, p->K))), 2);
    }
}

/* Row r of A (from a 0-based block) written at `base`: contiguous Kp bf16 (AVX512-BF16), or for AMX in
 * tile order — 16-row groups, each k-step of 32 values of its 16 rows 1 KB contiguous, so that a tile
 * loads 16 lines of one stream (16 rows Kp x 2 bytes apart are 16 streams, more than the L2 prefetcher
 * follows with the weights' beside them).  AMX rows are made in g->rowbuf, then copied a k-step at a time. */
static LLVMValueRef row_dst(B16 *g, LLVMValueRef base, LLVMValueRef r) {
    return g->p->kind == NC_BF16_AMX && !g->a_rows ? g->rowbuf : hgep(g, base, mulc(g->m, r, g->p->Kp));
}
static void row_place(B16 *g, LLVMValueRef base, LLVMValueRef r) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    if (p->kind != NC_BF16_AMX || g->a_rows) return;
    LLVMBuilderRef b = m->b;
    const int64_t S = p->Kp / 32;
    LLVMTypeRef v32 = LLVMVectorType(g->i16, 32);
    LLVMValueRef blk = LLVMBuildUDiv(b, r, I(m, 16), ""), rr = LLVMBuildURem(b, r, I(m, 16), "");
    LLVMValueRef dst0 = hgep(g, base, add(m, mulc(m, blk, S * 512), mulc(m, rr, 32))), k;
    CgbLoop lk = cgb_loop_begin(m, I(m, 0), I(m, S), 1, &k);
    LLVMValueRef v = LLVMBuildLoad2(b, v32, hgep(g, g->rowbuf, mulc(m, k, 32)), "");
    LLVMSetAlignment(v, 64);
    LLVMSetAlignment(LLVMBuildStore(b, v, hgep(g, dst0, mulc(m, k, 512))), 2);
    cgb_loop_end(m, &lk);
}
static void alloc_rowbuf(B16 *g) {
    if (g->p->kind != NC_BF16_AMX || g->a_rows) return;
    g->rowbuf = cgb_var(g->m, LLVMArrayType(g->i16, (unsigned)g->p->Kp));
    LLVMSetAlignment(g->rowbuf, 64);
}

/* image n's input and SE scales, from group grp's first channel */
static LLVMValueRef image_x(B16 *g, LLVMValueRef n, LLVMValueRef grp) {
    NcCgModule *m = g->m;
    return xgep(g, g->x, add(m, mulc(m, n, g->p->H * g->p->W * g->p->C), mulc(m, grp, g->p->Cg)));
}
static LLVMValueRef image_scale(B16 *g, LLVMValueRef n, LLVMValueRef grp) {
    NcCgModule *m = g->m;
    return g->scale ? cgb_gep(m, g->scale, add(m, mulc(m, n, g->p->C), mulc(m, grp, g->p->Cg))) : NULL;
}

/* Stage 1 (unfused): tile (n, oh) -> rows (n, oh, 0 .. OW) of A in the scratch. */
static void emit_cols(B16 *g, const char *name) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef cols = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    g->x = cgb_arg_ptr(m, in, 0), g->scale = p->s.in_scale ? cgb_arg_ptr(m, in, p->s.in_scale) : NULL;
    alloc_rowbuf(g);
    LLVMValueRef t, ow;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    const int64_t per = p->s.batch * p->OH; /* tiles of a group */
    LLVMValueRef grp = LLVMBuildSDiv(b, t, I(m, per), ""), tt = LLVMBuildSRem(b, t, I(m, per), "");
    LLVMValueRef n = LLVMBuildSDiv(b, tt, I(m, p->OH), ""), oh = LLVMBuildSRem(b, tt, I(m, p->OH), "");
    LLVMValueRef xn = image_x(g, n, grp), sn = image_scale(g, n, grp),
                 base = hgep(g, cols, mulc(m, grp, p->Mp * p->Kp));
    CgbLoop lw = cgb_loop_begin(m, I(m, 0), I(m, p->OW), 1, &ow);
    LLVMValueRef r = add(m, mulc(m, tt, p->OW), ow);
    emit_row(g, row_dst(g, base, r), xn, sn, oh, ow);
    row_place(g, base, r);
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* Fused: rows [row0, row0 + valid) of A into the stack panel g->apanel. */
static void build_panel(B16 *g, LLVMValueRef row0, LLVMValueRef valid) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef r;
    CgbLoop lr = cgb_loop_begin(m, I(m, 0), valid, 1, &r);
    LLVMValueRef row = add(m, row0, r), hw = I(m, p->OH * p->OW);
    LLVMValueRef n = LLVMBuildSDiv(b, row, hw, ""), pix = LLVMBuildSRem(b, row, hw, "");
    LLVMValueRef oh = LLVMBuildSDiv(b, pix, I(m, p->OW), ""), ow = LLVMBuildSRem(b, pix, I(m, p->OW), "");
    emit_row(g, row_dst(g, g->apanel, r), image_x(g, n, g->grp), image_scale(g, n, g->grp), oh, ow);
    row_place(g, g->apanel, r);
    cgb_loop_end(m, &lr);
}

/* Output row `row`'s columns col0 + [0, 16 nv) (the last vector `lanes` wide) from the accumulators at src. */
static void epilogue_cols(B16 *g, LLVMValueRef row, LLVMValueRef src, LLVMValueRef col0, int nv, int lanes) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef bias[2] = {NULL, NULL};
    for (int v = 0; v < nv && g->bias; v++)
        bias[v] = cgb_load_n(m, cgb_gep(m, g->bias, addc(m, col0, v * 16)), v == nv - 1 ? lanes : 16);
    LLVMValueRef yoff = add(m, mulc(m, row, p->O), col0), r[2];
    for (int v = 0; v < nv; v++) {
        r[v] = cgb_load(m, cgb_gep(m, src, I(m, v * 16)));
        if (bias[v]) r[v] = LLVMBuildFAdd(b, r[v], bias[v], "");
        if (p->s.relu) r[v] = cgb_max(m, r[v], cgb_zero(m));
    }
    for (int s = 0; s < p->s.nepi; s++) {
        const NcEpilogue *ep = &p->s.epi[s];
        if (!g->epi[s]) {
            cgb_activation_n(m, ep->kind, ep->lo, ep->hi, r, nv);
            continue;
        }
        LLVMValueRef base = yoff;
        if (p->s.epi_per_channel[s]) /* one value per (image, channel) */
            base = add(m, mulc(m, LLVMBuildSDiv(b, row, I(m, p->s.hw), ""), p->O), col0);
        for (int v = 0; v < nv; v++) {
            LLVMValueRef o = load_act(g, g->epi[s], addc(m, base, v * 16), p->epi_bf16[s], v == nv - 1 ? lanes : 16);
            r[v] = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(b, r[v], o, "") : LLVMBuildFMul(b, r[v], o, "");
        }
    }
    for (int v = 0; v < nv; v++) {
        const int n = v == nv - 1 ? lanes : 16;
        if (p->y_bf16) /* rounded once, after the whole epilogue */
            store_bf(g, LLVMBuildFPTrunc(b, r[v], g->vbf, ""), hgep(g, g->y, addc(m, yoff, v * 16)), n);
        else
            cgb_store_n(m, r[v], cgb_gep(m, g->y, addc(m, yoff, v * 16)), n);
    }
}

/* The ragged last panel's vectors (nv) and the last one's lanes: ntail columns (0: a whole panel, 2 x 16). */
static void tail_vectors(int64_t ntail, int *nv, int *lanes) {
    *nv = ntail ? (int)cgb_ceil_div(ntail, 16) : 2;
    *lanes = ntail ? (int)(ntail - (*nv - 1) * 16) : 16;
}

/* fn for every column panel q of the GEMM: the whole ones in a loop, then the ragged last one (N % 32
 * columns) with its vectors and lanes */
typedef void (*PanelFn)(B16 *g, LLVMValueRef q, int nv, int lanes, void *ctx);
static void each_panel(B16 *g, PanelFn fn, void *ctx) {
    NcCgModule *m = g->m;
    const int64_t npanel = g->p->Np / NR, ntail = g->p->N % NR;
    LLVMValueRef q;
    CgbLoop lq = cgb_loop_begin(m, I(m, 0), I(m, npanel - (ntail ? 1 : 0)), 1, &q);
    fn(g, q, 2, 16, ctx);
    cgb_loop_end(m, &lq);
    if (ntail) {
        int nv, lanes;
        tail_vectors(ntail, &nv, &lanes);
        fn(g, I(m, npanel - 1), nv, lanes, ctx);
    }
}

/* each_panel's bodies: a row's epilogue over every panel (wide), a micro-block's tiles and epilogue */
typedef struct PanelCtx {
    LLVMValueRef row, src, col0; /* wide epilogue: the output row, its accumulators, the group's first column */
    LLVMValueRef a0, pi, row0, valid;
} PanelCtx;
static void wide_cols(B16 *g, LLVMValueRef q, int nv, int lanes, void *ctx) {
    const PanelCtx *c = ctx;
    epilogue_cols(g, c->row, cgb_gep(g->m, c->src, mulc(g->m, q, NR)), add(g->m, c->col0, mulc(g->m, q, NR)), nv,
                  lanes);
}

/* The epilogue of a micro-block: rows [0, valid) of buf (row0 onwards of y), columns col0 + [0, 16 nv), the
 * last vector `lanes` wide; wide (g->wide), all the GEMM's columns (col0 the group's first), row by row. */
static void epilogue(B16 *g, LLVMValueRef row0, LLVMValueRef valid, LLVMValueRef col0, int nv, int lanes) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef i;
    CgbLoop li = cgb_loop_begin(m, I(m, 0), valid, 1, &i);
    LLVMValueRef row = add(m, row0, i), src = cgb_gep(m, g->ebuf, mulc(m, i, g->bufw));
    CgbIf stored = {0};
    if (p->direct == 2) { /* row0: a row of image g->img's padded grid, (oh, ow) = divmod(row, Wp), ow < OW stored */
        LLVMValueRef oh = LLVMBuildUDiv(b, row, I(m, p->Wp), ""), ow = LLVMBuildURem(b, row, I(m, p->Wp), "");
        stored = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntULT, ow, I(m, p->OW), ""));
        row = add(m, mulc(m, g->img, p->OH * p->OW), add(m, mulc(m, oh, p->OW), ow));
    }
    if (g->wide) { /* the row's residual and output lines in order, for the hardware prefetcher */
        PanelCtx c = {.row = row, .src = src, .col0 = col0};
        each_panel(g, wide_cols, &c);
    } else {
        epilogue_cols(g, row, src, col0, nv, lanes);
    }
    if (p->direct == 2) cgb_if_end(m, &stored);
    cgb_loop_end(m, &li);
}

/* A B tile (16 rows of 64 bytes) of the weights, with the no-reuse hint (tileloaddt1) where emit_mm chose it */
static void load_b(B16 *g, int tile, LLVMValueRef p) {
    (g->b_stream ? cg_amx_load_t1 : cg_amx_load)(g->m, tile, p, 64);
}

/* AMX: 32 rows (row0 ..) x panel q into buf: tmm0-3 the accumulators (rows 0-15 / 16-31 x columns 0-15 /
 * 16-31), tmm4-5 A, tmm6-7 B. */
static void micro_amx(B16 *g, LLVMValueRef a0, LLVMValueRef q) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    for (int c = 0; c < 4; c++) cg_amx_zero(m, c);
    LLVMValueRef b0 = hgep(g, g->bgrp, mulc(m, q, p->Kp * NR));
    LLVMValueRef s;
    CgbLoop ls = cgb_loop_begin(m, I(m, 0), I(m, p->Kp / 32), 1, &s);
    /* A in tile order (row_place): rows 0-15 of step s at a0 + 512 s, rows 16-31 a group (Kp x 16) later;
     * or row by row (a_rows): rows Kp apart, step s at a0 + 32 s */
    LLVMValueRef as = hgep(g, a0, mulc(m, s, g->a_rows ? 32 : 512)), bs = hgep(g, b0, mulc(m, s, 1024));
    const int64_t astride = g->a_rows ? p->Kp * 2 : 64;
    cg_amx_load(m, 4, as, astride);
    cg_amx_load(m, 5, hgep(g, as, I(m, 16 * p->Kp)), astride);
    load_b(g, 6, bs);
    load_b(g, 7, hgep(g, bs, I(m, 512)));
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 0, 4, 6);
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 1, 4, 7);
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 2, 5, 6);
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 3, 5, 7);
    cgb_loop_end(m, &ls);
    for (int c = 0; c < 4; c++)
        cg_amx_store(m, c, cgb_gep(m, g->buf, I(m, (c / 2) * 16 * g->bufw + (c % 2) * 16)), g->bufw * 4);
}

/* ---- Direct (AMX): A's tiles loaded from the activation -----------------
 *
 * A 1x1 stride-1 conv's A is its input: row r (a pixel) is C bf16 at x + r C, so a tile is 16 consecutive
 * pixels, 64 bytes (32 channels) of each, tileloadd's stride C x 2 bytes — nothing copied.  A KxK stride-1
 * conv computes its outputs on the padded grid of its input's zero-padded copy (the pad stage: each image
 * Hp x Wp pixels of Cs channels, group g's at g Cgs, zeros past Cg): grid row r = oh Wp + ow, and tap
 * (kh, kw) of rows r .. r + 15 is the 16 pixels from r + kh Wp + kw, one tile per tap and k-step (the
 * weights tap by tap, Cgs a tap).  The grid's Wp - OW last columns of each row are computed and not stored
 * (the epilogue), a 3x3 on 56 x 56 computes 3.6% more than it keeps; the columns (im2col) were 9x the input.
 * Rows of a micro-block past its image's grid read the next image's plane or the slack, and are not stored.
 * Stride s: the padded input as s x s phase planes, (a, b) holding padded pixels (s i + a, s j + b), so that
 * tap (kh, kw) is plane (kh % s, kw % s) at (kh / s, kw / s) — stride 1 again within a plane.
 * A 1x1's last micro-block where M is not a multiple of 32 loads only its rows: a tile configuration of
 * that many rows for the block (its tile loads would read past x). */

static LLVMValueRef valid_rows(B16 *g, LLVMValueRef row0);

/* rows (32, or fewer with a configuration of that many loaded) from a0, a pixel Cs bf16, x panel q into buf */
static void micro_direct(B16 *g, LLVMValueRef a0, LLVMValueRef q, int rows) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    const int hi = rows > 16; /* rows 16-31: tmm2-3 and tmm5 */
    const int64_t St = p->Cgs / 32, rs = p->Cs;
    for (int c = 0; c < (hi ? 4 : 2); c++) cg_amx_zero(m, c);
    LLVMValueRef b0 = hgep(g, g->bgrp, mulc(m, q, p->Kp * NR)), kh, kw, s;
    CgbLoop lh = cgb_loop_begin(m, I(m, 0), I(m, p->KH), 1, &kh);
    CgbLoop lw = cgb_loop_begin(m, I(m, 0), I(m, p->KW), 1, &kw);
    /* plane (kh % sh, kw % sw), pixel (kh / sh, kw / sw) of it */
    LLVMValueRef plane =
        add(m, mulc(m, LLVMBuildURem(m->b, kh, I(m, p->sh), ""), p->pw), LLVMBuildURem(m->b, kw, I(m, p->sw), ""));
    LLVMValueRef pix =
        add(m, mulc(m, LLVMBuildUDiv(m->b, kh, I(m, p->sh), ""), p->Wp), LLVMBuildUDiv(m->b, kw, I(m, p->sw), ""));
    LLVMValueRef at = hgep(g, a0, mulc(m, add(m, mulc(m, plane, p->Hp * p->Wp), pix), rs));
    LLVMValueRef bt = hgep(g, b0, mulc(m, add(m, mulc(m, kh, p->KW), kw), St * 1024));
    CgbLoop ls = cgb_loop_begin(m, I(m, 0), I(m, St), 1, &s);
    LLVMValueRef as = hgep(g, at, mulc(m, s, 32)), bs = hgep(g, bt, mulc(m, s, 1024));
    cg_amx_load(m, 4, as, rs * 2);
    if (hi) cg_amx_load(m, 5, hgep(g, as, I(m, 16 * rs)), rs * 2);
    load_b(g, 6, bs);
    load_b(g, 7, hgep(g, bs, I(m, 512)));
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 0, 4, 6);
    cg_amx_dp(m, "llvm.x86.tdpbf16ps", 1, 4, 7);
    if (hi) {
        cg_amx_dp(m, "llvm.x86.tdpbf16ps", 2, 5, 6);
        cg_amx_dp(m, "llvm.x86.tdpbf16ps", 3, 5, 7);
    }
    cgb_loop_end(m, &ls);
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lh);
    LLVMValueRef dst = g->wide ? cgb_gep(m, g->buf, mulc(m, q, NR)) : g->mbuf; /* wide: panel q's columns */
    for (int c = 0; c < (hi ? 4 : 2); c++)
        cg_amx_store(m, c, cgb_gep(m, dst, I(m, (c / 2) * 16 * g->bufw + (c % 2) * 16)), g->bufw * 4);
}

/* The tile configuration of micro-blocks of `rows` rows (1 .. 32): tmm0-1 and tmm4 the first 16, tmm2-3
 * and tmm5 the rest (unused where none), tmm6-7 B. */
static LLVMValueRef direct_config(NcCgModule *m, int rows) {
    const int r1 = rows < 16 ? rows : 16, r2 = rows - r1;
    const int tr[8] = {r1, r1, r2, r2, r1, r2, 16, 16};
    int cb[8];
    for (int i = 0; i < 8; i++) cb[i] = tr[i] ? 64 : 0;
    return cg_amx_config(m, tr, cb);
}

/* Direct micro-block pi: its A (a0), its first row (direct 2: of image g->img's grid, g->img set), its rows
 * that exist. */
static void direct_block(B16 *g, LLVMValueRef pi, LLVMValueRef *a0, LLVMValueRef *row0, LLVMValueRef *valid) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    if (p->direct == 2) { /* image n, grid rows r0 .. r0 + 31 */
        g->img = LLVMBuildSDiv(b, pi, I(m, p->mbi), "");
        LLVMValueRef r0 = mulc(m, LLVMBuildSRem(b, pi, I(m, p->mbi), ""), p->mr);
        *a0 = hgep(g, g->plane,
                   add(m, mulc(m, add(m, mulc(m, g->img, p->ph * p->pw * p->Hp * p->Wp), r0), p->Cs),
                       mulc(m, g->grp, p->Cgs)));
        LLVMValueRef left = LLVMBuildNSWSub(b, I(m, p->OH * p->Wp), r0, "");
        *row0 = r0;
        *valid = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, left, I(m, p->mr), ""), left, I(m, p->mr), "");
    } else {
        *row0 = mulc(m, pi, p->mr), *a0 = hgep(g, g->plane, mulc(m, *row0, p->Cs)), *valid = valid_rows(g, *row0);
    }
}

/* Micro-block pi (A at a0) x panel q into buf. */
static void direct_micro(B16 *g, LLVMValueRef pi, LLVMValueRef a0, LLVMValueRef q) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    const int tail = p->direct == 1 ? (int)(p->M % p->mr) : 0;
    if (!tail) {
        micro_direct(g, a0, q, 32);
        return;
    }
    /* a 1x1's last micro-block: its rows alone */
    CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntEQ, pi, I(m, p->Mp / p->mr - 1), ""));
    cg_amx_ldtilecfg(m, direct_config(m, tail));
    micro_direct(g, a0, q, tail);
    cg_amx_ldtilecfg(m, direct_config(m, 32));
    cgb_if_else(m, &c);
    micro_direct(g, a0, q, 32);
    cgb_if_end(m, &c);
}

/* Direct: the row micro-blocks [p0, p0 + count) of panel q, nv vectors of columns, the last `lanes` wide. */
static void rows_direct(B16 *g, LLVMValueRef q, LLVMValueRef p0, LLVMValueRef count, int nv, int lanes) {
    NcCgModule *m = g->m;
    LLVMValueRef pi, a0, row0, valid;
    CgbLoop lp = cgb_loop_begin(m, p0, add(m, p0, count), 1, &pi);
    direct_block(g, pi, &a0, &row0, &valid);
    direct_micro(g, pi, a0, q);
    epilogue(g, row0, valid, add(m, g->col_base, mulc(m, q, NR)), nv, lanes);
    cgb_loop_end(m, &lp);
}

/* each_panel's body for a direct micro-block: its tiles against panel q, and (not wide) their epilogue */
static void direct_panel(B16 *g, LLVMValueRef q, int nv, int lanes, void *ctx) {
    const PanelCtx *c = ctx;
    direct_micro(g, c->pi, c->a0, q);
    if (!g->wide) epilogue(g, c->row0, c->valid, add(g->m, g->col_base, mulc(g->m, q, NR)), nv, lanes);
}

/* Direct, fused: the row micro-blocks [p0, p0 + count), each against every column panel (its A stays in
 * L1 while the weights stream from L2); wide, one epilogue a micro-block, after all its panels. */
static void rows_direct_fused(B16 *g, LLVMValueRef p0, LLVMValueRef count) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    const int64_t npanel = p->Np / NR, ntail = p->N % NR;
    LLVMValueRef pi, q, a0, row0, valid;
    CgbLoop lp = cgb_loop_begin(m, p0, add(m, p0, count), 1, &pi);
    direct_block(g, pi, &a0, &row0, &valid);
    if (g->lag) { /* panel q's tiles issued, then panel q - 1's epilogue, which runs beside them */
        int nv, lanes;
        tail_vectors(ntail, &nv, &lanes);
        CgbLoop lq = cgb_loop_begin(m, I(m, 0), I(m, npanel), 1, &q);
        g->mbuf = cgb_gep(m, g->buf, mulc(m, LLVMBuildAnd(m->b, q, I(m, 1), ""), p->mr * NR));
        direct_micro(g, pi, a0, q);
        CgbIf prev = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSGT, q, I(m, 0), ""));
        LLVMValueRef q1 = addc(m, q, -1);
        g->ebuf = cgb_gep(m, g->buf, mulc(m, LLVMBuildAnd(m->b, q1, I(m, 1), ""), p->mr * NR));
        epilogue(g, row0, valid, add(m, g->col_base, mulc(m, q1, NR)), 2, 16);
        cgb_if_end(m, &prev);
        cgb_loop_end(m, &lq);
        g->ebuf = cgb_gep(m, g->buf, I(m, ((npanel - 1) & 1) * p->mr * NR));
        epilogue(g, row0, valid, addc(m, g->col_base, (npanel - 1) * NR), nv, lanes);
        g->mbuf = g->ebuf = g->buf;
        cgb_loop_end(m, &lp);
        return;
    }
    PanelCtx c = {.a0 = a0, .pi = pi, .row0 = row0, .valid = valid};
    each_panel(g, direct_panel, &c);
    if (g->wide) epilogue(g, row0, valid, g->col_base, 2, 16);
    cgb_loop_end(m, &lp);
}

/* Direct 2's first stage: tile (n, a, i) -> row i of image n's phase planes (a, 0 .. pw) (and the slack,
 * at the last). */
static void emit_pad(B16 *g, const char *name) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef plane = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    g->x = cgb_arg_ptr(m, in, 0), g->scale = p->s.in_scale ? cgb_arg_ptr(m, in, p->s.in_scale) : NULL;
    const int64_t Wp = p->Wp, Cs = p->Cs, psz = p->Hp * Wp * Cs;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, I(m, p->ph * p->Hp), ""), ai = LLVMBuildSRem(b, t, I(m, p->ph * p->Hp), "");
    LLVMValueRef a = LLVMBuildSDiv(b, ai, I(m, p->Hp), ""), i = LLVMBuildSRem(b, ai, I(m, p->Hp), "");
    LLVMValueRef ih = add(m, addc(m, mulc(m, i, p->sh), -p->pt), a), sn = image_scale(g, n, I(m, 0));
    LLVMValueRef xr = xgep(g, g->x, mulc(m, add(m, mulc(m, n, p->H * p->W), mulc(m, ih, p->W)), p->C));
    for (int64_t pb = 0; pb < p->pw; pb++) {
        /* plane (a, pb)'s row i: pixel j is input column sw j + pb - pl, inside for j in [jlo, jhi) */
        LLVMValueRef dst =
            hgep(g, plane,
                 add(m, mulc(m, add(m, mulc(m, n, p->ph * p->pw), add(m, mulc(m, a, p->pw), I(m, pb))), psz),
                     mulc(m, i, Wp * Cs)));
        int64_t jlo = cgb_ceil_div(p->pl - pb > 0 ? p->pl - pb : 0, p->sw);
        int64_t jhi = cgb_ceil_div(p->W + p->pl - pb, p->sw);
        if (jhi > Wp) jhi = Wp;
        if (jlo > jhi) jlo = jhi;
        CgbIf inside = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntULT, ih, I(m, p->H), "")); /* unsigned: -1 is out */
        if (jlo) cvt(g, dst, NULL, NULL, jlo * Cs);
        if (p->sw == 1 && Cs == p->C && !g->scale) { /* the input row as it lies */
            cvt(g, hgep(g, dst, I(m, jlo * Cs)), xgep(g, xr, I(m, (jlo - p->pl + pb) * p->C)), NULL, (jhi - jlo) * Cs);
        } else if (jhi > jlo) { /* pixel by pixel, each group's channels padded to Cgs, times the SE scales */
            LLVMValueRef j;
            CgbLoop lw = cgb_loop_begin(m, I(m, jlo), I(m, jhi), 1, &j);
            LLVMValueRef d = hgep(g, dst, mulc(m, j, Cs));
            LLVMValueRef xp = xgep(g, xr, mulc(m, addc(m, mulc(m, j, p->sw), pb - p->pl), p->C));
            for (int64_t grp = 0; grp < p->G; grp++) {
                cvt(g, hgep(g, d, I(m, grp * p->Cgs)), xgep(g, xp, I(m, grp * p->Cg)),
                    sn ? cgb_gep(m, sn, I(m, grp * p->Cg)) : NULL, p->Cg);
                if (p->Cgs > p->Cg) cvt(g, hgep(g, d, I(m, grp * p->Cgs + p->Cg)), NULL, NULL, p->Cgs - p->Cg);
            }
            cgb_loop_end(m, &lw);
        }
        if (Wp > jhi) cvt(g, hgep(g, dst, I(m, jhi * Cs)), NULL, NULL, (Wp - jhi) * Cs);
        cgb_if_else(m, &inside);
        cvt(g, dst, NULL, NULL, Wp * Cs);
        cgb_if_end(m, &inside);
    }
    /* the slack after the last planes: zeros (rows computed there are not stored, but keep them finite) */
    const int64_t planes = p->s.batch * p->ph * p->pw * psz, slack = p->a_bytes / 2 - planes;
    const int64_t tiles = p->s.batch * p->ph * p->Hp;
    CgbIf last = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntEQ, t, I(m, tiles - 1), ""));
    if (slack > 0) cvt(g, hgep(g, plane, I(m, planes)), NULL, NULL, slack);
    cgb_if_end(m, &last);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* AVX512-BF16: MR512 rows (row0 ..) x panel q into buf, its nv vectors of columns, the last `lanes` wide.
 * A ragged panel's missing vector is not computed, and a last vector of 8 lanes or fewer is a 256-bit
 * vdpbf16ps (AVX512VL): half the work where a zmm issues as two halves (Zen 4) — RegNetY's 24-channel
 * groups (16 + 8), EfficientNet's 40 / 80 / 112-channel projections (a tail panel of 8 or 16). */
static void micro_avx512(B16 *g, LLVMValueRef a0, LLVMValueRef q, int nv, int lanes) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMTypeRef v32bf = LLVMVectorType(g->bf, 32), v16i32 = LLVMVectorType(m->i32, 16), fty, fty8;
    LLVMTypeRef v16bf = LLVMVectorType(g->bf, 16), v8i32 = LLVMVectorType(m->i32, 8), v8f = LLVMVectorType(m->f32, 8);
    LLVMValueRef dp = intrinsic(m, "llvm.x86.avx512bf16.dpbf16ps.512", NULL, 0, &fty);
    const int half = lanes <= 8; /* the last vector in a ymm */
    LLVMValueRef dp8 = half ? intrinsic(m, "llvm.x86.avx512bf16.dpbf16ps.256", NULL, 0, &fty8) : NULL;
    LLVMValueRef acc[MR512][2];
    for (int i = 0; i < MR512; i++)
        for (int v = 0; v < nv; v++) {
            const int y = half && v == nv - 1;
            acc[i][v] = cgb_var(m, y ? v8f : m->vec);
            LLVMBuildStore(b, LLVMConstNull(y ? v8f : m->vec), acc[i][v]);
        }
    LLVMValueRef b0 = hgep(g, g->bgrp, mulc(m, q, p->Kp * NR));
    LLVMValueRef s, r;
    CgbLoop ls = cgb_loop_begin(m, I(m, 0), I(m, p->Kp / 32), 1, &s);
    LLVMValueRef as = hgep(g, a0, mulc(m, s, 32)), bs = hgep(g, b0, mulc(m, s, 1024));
    CgbLoop lr = cgb_loop_begin(m, I(m, 0), I(m, 16), 1, &r);
    LLVMValueRef bv[2];
    for (int v = 0; v < nv; v++) { /* lane l's two k at 2l, 2l + 1: a ymm's 8 lanes are the first 16 bf16 */
        bv[v] = LLVMBuildLoad2(b, half && v == nv - 1 ? v16bf : v32bf,
                               hgep(g, bs, add(m, mulc(m, r, 32), I(m, v * 512))), "");
        LLVMSetAlignment(bv[v], 2);
    }
    LLVMValueRef ar = hgep(g, as, mulc(m, r, 2));
    for (int i = 0; i < MR512; i++) {
        LLVMValueRef pair = LLVMBuildLoad2(b, m->i32, hgep(g, ar, I(m, i * p->Kp)), "");
        LLVMSetAlignment(pair, 2);
        LLVMValueRef av = LLVMBuildBitCast(
            b,
            LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetPoison(v16i32), pair, I(m, 0), ""),
                                   LLVMGetPoison(v16i32), LLVMConstNull(v16i32), ""),
            v32bf, "");
        LLVMValueRef av8 =
            half ? LLVMBuildBitCast(
                       b,
                       LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetPoison(v8i32), pair, I(m, 0), ""),
                                              LLVMGetPoison(v8i32), LLVMConstNull(v8i32), ""),
                       v16bf, "")
                 : NULL;
        for (int v = 0; v < nv; v++) {
            const int y = half && v == nv - 1;
            LLVMValueRef args[3] = {LLVMBuildLoad2(b, y ? v8f : m->vec, acc[i][v], ""), y ? av8 : av, bv[v]};
            LLVMBuildStore(b, LLVMBuildCall2(b, y ? fty8 : fty, y ? dp8 : dp, args, 3, ""), acc[i][v]);
        }
    }
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &ls);
    for (int i = 0; i < MR512; i++)
        for (int v = 0; v < nv; v++) {
            const int y = half && v == nv - 1;
            LLVMValueRef st = LLVMBuildStore(b, LLVMBuildLoad2(b, y ? v8f : m->vec, acc[i][v], ""),
                                             cgb_gep(m, g->buf, I(m, i * g->bufw + v * 16)));
            LLVMSetAlignment(st, 4);
        }
}

static void micro(B16 *g, LLVMValueRef a0, LLVMValueRef q, int nv, int lanes) {
    if (g->p->kind == NC_BF16_AMX)
        micro_amx(g, a0, q);
    else
        micro_avx512(g, a0, q, nv, lanes);
}

/* rows of micro-block pi that exist: min(mr, M - row0) */
static LLVMValueRef valid_rows(B16 *g, LLVMValueRef row0) {
    NcCgModule *m = g->m;
    LLVMValueRef left = LLVMBuildNSWSub(m->b, I(m, g->p->M), row0, "");
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, left, I(m, g->p->mr), ""), left, I(m, g->p->mr), "");
}

/* Unfused: the row micro-blocks [p0, p0 + count) of panel q, nv vectors of columns, the last `lanes` wide. */
static void rows(B16 *g, LLVMValueRef q, LLVMValueRef p0, LLVMValueRef count, int nv, int lanes) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMValueRef pi;
    CgbLoop lp = cgb_loop_begin(m, p0, add(m, p0, count), 1, &pi);
    LLVMValueRef row0 = mulc(m, pi, p->mr);
    micro(g, hgep(g, g->agrp, mulc(m, row0, p->Kp)), q, nv, lanes);
    epilogue(g, row0, valid_rows(g, row0), add(m, g->col_base, mulc(m, q, NR)), nv, lanes);
    cgb_loop_end(m, &lp);
}

/* each_panel's body for a fused micro-block: its stack panel against panel q, then the epilogue */
static void fused_panel(B16 *g, LLVMValueRef q, int nv, int lanes, void *ctx) {
    const PanelCtx *c = ctx;
    micro(g, g->apanel, q, nv, lanes);
    epilogue(g, c->row0, c->valid, add(g->m, g->col_base, mulc(g->m, q, NR)), nv, lanes);
}

/* Fused: the row micro-blocks [p0, p0 + count), each built into the stack panel once, then every column
 * panel of the GEMM against it. */
static void rows_fused(B16 *g, LLVMValueRef p0, LLVMValueRef count) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMValueRef pi;
    CgbLoop lp = cgb_loop_begin(m, p0, add(m, p0, count), 1, &pi);
    LLVMValueRef row0 = mulc(m, pi, p->mr), valid = valid_rows(g, row0);
    build_panel(g, row0, valid);
    PanelCtx c = {.row0 = row0, .valid = valid};
    each_panel(g, fused_panel, &c);
    cgb_loop_end(m, &lp);
}

/* Stage 2: tile (mb, nb) of the GEMM. */
static void emit_mm(B16 *g, const char *name) {
    NcCgModule *m = g->m;
    const NcBf16Plan *p = g->p;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    g->y = cgb_arg_ptr(m, out, 0), g->blob = cgb_arg_ptr(m, in, 1);
    if (p->direct) {
        g->plane = p->direct == 2 ? cgb_arg_ptr(m, out, 1) : cgb_arg_ptr(m, in, 0);
    } else if (p->fused) {
        g->x = cgb_arg_ptr(m, in, 0), g->scale = p->s.in_scale ? cgb_arg_ptr(m, in, p->s.in_scale) : NULL;
        g->apanel = cgb_var(m, LLVMArrayType(g->i16, (unsigned)(p->mr * p->Kp)));
        LLVMSetAlignment(g->apanel, 64);
        /* a panel that stays in L1 is loaded row by row (tileloadd's stride Kp x 2): each row is written
         * where the tiles read it, not made in rowbuf and copied a k-step at a time (the copy's loads
         * waited on the row's narrower stores: resnet50's stem, batch 8, 5.24 -> 4.79 ms) */
        g->a_rows = p->kind == NC_BF16_AMX && p->mr * p->Kp * 2 <= 32 * 1024;
        alloc_rowbuf(g);
    } else {
        g->a = cgb_arg_ptr(m, out, 1);
    }
    g->bias = p->s.bias ? cgb_arg_ptr(m, in, 2) : NULL;
    for (int s = 0; s < p->s.nepi; s++)
        g->epi[s] = p->s.epi[s].kind == NC_EPI_ADD || p->s.epi[s].kind == NC_EPI_MUL
                        ? cgb_arg_ptr(m, in, p->s.epi[s].input)
                        : NULL;
    /* direct, fused: all panels' accumulators of a micro-block, then its epilogue row by row, where they
     * fit in L1 and there is a residual to read in order (resnet50's layer 1 conv3s, N 256; without
     * one, layer1.0's downsample measured 1.3x slower wide: its 32 KB of accumulators evict the weights) */
    int64_t residual = 0; /* its bytes: where they fit in L2 (batch 1) the lagged epilogue below did better,
                             0.90-0.94x wide's time on resnet50's layer 1 conv3s, and 1.07-1.13x at batch 8 */
    for (int s = 0; s < p->s.nepi; s++)
        if (g->epi[s] && !p->s.epi_per_channel[s]) residual = p->M * p->O * (p->epi_bf16[s] ? 2 : 4);
    g->wide = p->direct && p->fused && residual > 2 * 1024 * 1024 && p->mr * p->Np * 4 <= WIDE_MAX;
    g->bufw = g->wide ? p->Np : NR;
    /* direct, fused, not wide: panel q - 1's epilogue issued after panel q's tiles, so that the vector work
     * runs while the TDPBF16PS chain does (resnet50 1 thread: layer1's 3x3s 0.88-0.93x at batch 8, the
     * fused 1x1s and 3x3s 0.86-0.95x at batch 1) */
    g->lag = p->direct && p->fused && !g->wide;
    g->buf = cgb_var(m, LLVMArrayType(m->f32, (unsigned)(p->mr * g->bufw * (g->lag ? 2 : 1))));
    LLVMSetAlignment(g->buf, 64);
    g->mbuf = g->ebuf = g->buf;
    if (p->kind == NC_BF16_AMX) {
        /* A KxK's micro-block reads its window of A (32 rows and the KH - 1 rows of the grid below, its
         * group's channels) once a tap; where that window fits L1 but not beside a panel of the weights, the
         * weights are loaded with the no-reuse hint (load_b) so that they do not evict it (oneDNN's brgemm
         * makes the same choice by the L1 size).  resnet50 bf16 batch 8, layer 2's 3x3 alone (real tile
         * loads, random data): 1.41 -> 1.27 ms; the whole network 1 thread 78.7 -> 75.7 ms.  1x1s and the
         * columns did not gain (regnety_016's stage 3 1x1s lost 2-3%), so they keep the plain loads. */
        if (p->direct == 2) {
            const int64_t a_window = (p->mr + (p->KH - 1) * p->Wp + p->KW - 1) * p->Cgs * 2;
            g->b_stream = a_window <= 32 * 1024 && a_window + p->Kp * NR * 2 + p->mr * NR * 4 >= 48 * 1024;
        }
        const char *e = getenv("NETC_CG_AMX_STREAM"); /* 0: never, 1: wherever the AMX GEMM runs (A/B) */
        if (e && (!strcmp(e, "0") || !strcmp(e, "1"))) g->b_stream = *e == '1';
        const int rows[8] = {16, 16, 16, 16, 16, 16, 16, 16}, colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
        cg_amx_ldtilecfg(m, cg_amx_config(m, rows, colsb));
    }
    const int64_t mper = p->mc / p->mr, nper = p->nc / NR, nmb = p->Mp / p->mr, npanel = p->Np / NR;
    const int64_t mlast = nmb - (p->mblocks - 1) * mper, nlast = npanel - (p->nblocks - 1) * nper;
    const int64_t ntail = p->N % NR; /* the last panel's columns, 0: whole */
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* the groups innermost: consecutive tiles (one thread's chunk) write all the groups of their rows, so
     * that two threads do not write the same output lines (24-channel groups share 64-byte lines: RegNet's
     * grouped 3x3s took 1.5x the CPU time on 2 threads with groups outermost) and a row block's input
     * lines serve every group while they are in cache.  regnety_016 bf16 batch 8: 2 threads 30.9 -> 26.5 ms,
     * 1 thread 50.7 -> 48.8 */
    g->grp = LLVMBuildSRem(b, t, I(m, p->G), "");
    LLVMValueRef tt = LLVMBuildSDiv(b, t, I(m, p->G), "");
    g->bgrp = hgep(g, g->blob, mulc(m, g->grp, p->Np * p->Kp));
    g->agrp = p->fused || p->direct ? NULL : hgep(g, g->a, mulc(m, g->grp, p->Mp * p->Kp));
    g->col_base = mulc(m, g->grp, p->N);
    LLVMValueRef mb = LLVMBuildSDiv(b, tt, I(m, p->nblocks), ""), nb = LLVMBuildSRem(b, tt, I(m, p->nblocks), "");
    LLVMValueRef last_m = LLVMBuildICmp(b, LLVMIntEQ, mb, I(m, p->mblocks - 1), "");
    LLVMValueRef last_n = LLVMBuildICmp(b, LLVMIntEQ, nb, I(m, p->nblocks - 1), "");
    LLVMValueRef mcount = LLVMBuildSelect(b, last_m, I(m, mlast), I(m, mper), "");
    /* whole panels of this tile: all but the ragged last one */
    LLVMValueRef ncount = LLVMBuildSelect(b, last_n, I(m, nlast - (ntail ? 1 : 0)), I(m, nper), "");
    LLVMValueRef q0 = mulc(m, nb, nper), p0 = mulc(m, mb, mper), q;
    void (*rows_of)(B16 *, LLVMValueRef, LLVMValueRef, LLVMValueRef, int, int) = p->direct ? rows_direct : rows;
    if (p->fused && p->direct) {
        rows_direct_fused(g, p0, mcount);
    } else if (p->fused) {
        rows_fused(g, p0, mcount);
    } else {
        CgbLoop lq = cgb_loop_begin(m, q0, add(m, q0, ncount), 1, &q);
        rows_of(g, q, p0, mcount, 2, 16);
        cgb_loop_end(m, &lq);
    }
    if (ntail && !p->fused) {
        CgbIf c = cgb_if_begin(m, last_n);
        int nv, lanes;
        tail_vectors(ntail, &nv, &lanes);
        rows_of(g, I(m, npanel - 1), p0, mcount, nv, lanes);
        cgb_if_end(m, &c);
    }
    cgb_loop_end(m, &lt);
    if (p->kind == NC_BF16_AMX) cg_amx_release(m);
    LLVMBuildRetVoid(b);
}

void nc_cg_bf16_emit(NcCgModule *m, const NcBf16Plan *p, const char *prefix, NcCgKernel *k) {
    NC_CHECK(m->vw == 16);
    B16 g;
    memset(&g, 0, sizeof g);
    g.m = m, g.p = p;
    g.bf = LLVMBFloatTypeInContext(m->ctx), g.vbf = LLVMVectorType(g.bf, 16), g.i16 = LLVMInt16TypeInContext(m->ctx);
    k->isa = p->kind == NC_BF16_AMX ? "amx-bf16" : "avx512-bf16";
    k->precision = "bf16";
    char name[96];
    if ((p->fused && !p->direct) || p->direct == 1) { /* one stage: each tile makes its rows of A, or A is x */
        snprintf(name, sizeof name, "%s_mm", prefix);
        emit_mm(&g, name);
        k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->tiles;
        return;
    }
    if (p->direct == 2) { /* the padded planes, then the GEMM on them */
        snprintf(name, sizeof name, "%s_pad", prefix);
        emit_pad(&g, name);
        k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->s.batch * p->ph * p->Hp;
    } else {
        snprintf(name, sizeof name, "%s_cols", prefix);
        emit_cols(&g, name);
        k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->G * p->s.batch * p->OH;
    }
    snprintf(name, sizeof name, "%s_mm", prefix);
    emit_mm(&g, name);
    k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = p->tiles;
    k->scratch = cgb_ceil_div(p->a_bytes, 4);
}
