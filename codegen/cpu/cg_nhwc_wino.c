/* cg_nhwc_wino.c — Winograd F(4x4, 3x3) / F(2x2, 3x3) on NHWC activations:
 * planning, the filter transform, and the three stage functions
 * (cg_nhwc_wino.h says how it works; cg_wino_math.h has the math). */
#include "codegen/cpu/cg_nhwc_wino.h"
#include "codegen/cpu/cg_wino_math.h"

#include <string.h>

#include "ir/ops.h"

#define TARGET_TILES 48 /* stage 1 and 3 tiles: enough for 16 threads to share out */

/* units (group, channel vector) per chunk and chunks, for rows = N TH tile rows */
static void chunking(int64_t rows, int64_t units, int64_t *upc, int64_t *chunks) {
    int64_t want = cgb_ceil_div(TARGET_TILES, rows);
    if (want > units) want = units;
    if (want < 1) want = 1;
    *upc = cgb_ceil_div(units, want);
    *chunks = cgb_ceil_div(units, *upc);
}

/* ---- planning ---------------------------------------------------------- */

int nc_cg_nhwc_wino_plan(NcNhwcWinoPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int mt,
                         const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1 || nd->ninputs < 2) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return *why = "not 2-d", 0;
    if (x->dtype != NC_F32 || y->dtype != NC_F32) return *why = "not float32", 0;
    if (w->layout != NC_LAYOUT_NCHW) return *why = "filter packed for another kernel", 0;
    if (w->kind != NC_VAL_PARAM || a->kernel[0] != 3 || a->kernel[1] != 3 || w->shape[2] != 3 || w->shape[3] != 3)
        return *why = "not a 3x3 filter", 0;
    if (mt != 2 && mt != 4) return *why = "tile not 2 or 4", 0;
    if (a->stride[0] != 1 || a->stride[1] != 1 || a->dilation[0] != 1 || a->dilation[1] != 1)
        return *why = "strided or dilated", 0;
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0 || a->pad[i] > 2) return *why = "padding over 2", 0;
    if (t->vw < 4 || t->vw > 16) return *why = "vector width", 0;
    if (!cgb_epi_operands_ok(g, nd)) return *why = "epilogue operand of another shape", 0;
    const int64_t C = x->shape[1], O = y->shape[1], G = a->groups;
    if (G < 1 || C % G || O % G || w->shape[0] != O || w->shape[1] != C / G)
        return *why = "groups do not divide the channels", 0;
    if (y->shape[0] != x->shape[0]) return *why = "batch mismatch", 0;
    if (a->has_in_scale && nc_numel(nc_val(g, nd->inputs[nc_in_scale_input(a)])) != x->shape[0] * C)
        return *why = "an input scale that is not per (image, channel)", 0;
    p->mt = mt, p->alpha = mt + 2, p->npos = p->alpha * p->alpha;
    p->N = x->shape[0], p->C = C, p->H = x->shape[2], p->W = x->shape[3], p->O = O, p->G = G, p->CG = C / G,
    p->OG = O / G;
    p->OH = y->shape[2], p->OW = y->shape[3], p->pt = a->pad[0], p->pl = a->pad[1];
    if (p->H + a->pad[0] + a->pad[2] - 2 != p->OH || p->W + a->pad[1] + a->pad[3] - 2 != p->OW || p->OH < 1 ||
        p->OW < 1)
        return *why = "output size does not match the padding", 0;
    /* depthwise and narrow groups: the products would be tiny matrices */
    if (p->CG < 8 || p->OG < 8) return *why = "fewer than 8 channels per group", 0;
    p->TH = cgb_ceil_div(p->OH, mt), p->TW = cgb_ceil_div(p->OW, mt), p->T = p->N * p->TH * p->TW;
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = p->npos * G, s.cin = p->CG, s.cout = p->OG, s.hw = p->T, s.b_per_image = 1;
    /* 24, 72, ... output channels per group (RegNetY): three vectors of
     * columns wide (4 x 3 block) instead of 16 + a masked 8 */
    if (t->bregs < 32 && p->OG % (3 * t->bvw) == 0 && p->OG % (2 * t->bvw)) s.mr = 4, s.nv = 3;
    NcError e;
    if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) return *why = "no GEMM plan", 0;
    p->v_floats = p->npos * p->T * p->C, p->m_floats = p->npos * p->T * p->O;
    p->ivpg = cgb_ceil_div(p->CG, t->vw), p->ovpg = cgb_ceil_div(p->OG, t->vw);
    chunking(p->N * p->TH, G * p->ivpg, &p->in_upc, &p->in_chunks);
    chunking(p->N * p->TH, G * p->ovpg, &p->out_upc, &p->out_chunks);
    p->tiles_in = p->N * p->TH * p->in_chunks, p->tiles_out = p->N * p->TH * p->out_chunks;
    return 1;
}

double nc_cg_nhwc_wino_cost(const NcNhwcWinoPlan *p) {
    const int64_t vw = p->gemm.vw, mr = p->gemm.s.mr;
    /* the products: rows (tiles) in panels of mr, columns in whole vectors */
    const double products = (double)p->npos * (double)p->G * (double)p->CG * (double)cgb_round_up(p->T, mr) *
                            (double)cgb_round_up(p->OG, vw);
    /* The transforms, in the same units (the direct conv's multiply-adds at
     * its measured rate, ~47 G/s a Zen 3 core): measured per position, tile
     * and channel in or out, 13 while the scratch (V and M) stays in cache,
     * up to 33 when it streams from memory (regnety_016's 48-channel conv at
     * 56x56, batch 8: 22 MB of scratch). */
    const double sbytes = 4.0 * (double)(p->v_floats + p->m_floats);
    const double k_tr = 13.0 + 20.0 * (sbytes > 24e6 ? 1.0 : sbytes / 24e6);
    const double transforms = k_tr * (double)p->npos * (double)p->T *
                              (double)(cgb_round_up(p->CG, vw) + cgb_round_up(p->OG, vw)) * (double)p->G;
    /* The transformed filters (npos / 9 times the 3x3 ones) stream through
     * once per call: with few tiles (7x7 planes at batch 1) that bounds the
     * products.  Measured per float: ~3 multiply-add slots from cache, ~11
     * from memory (resnet50's 512-channel conv, F(4x4): 38 MB). */
    const double ubytes = 4.0 * (double)p->gemm.packed_floats;
    double filters = (3.0 + 8.0 * (ubytes > 32e6 ? 1.0 : ubytes / 32e6)) * (double)p->gemm.packed_floats;
    /* Those slots are Zen 3's: on AVX-512 (an Intel Xeon, 1 thread) a streamed float costs about 3
     * times as many 16-float slots — resnet50 batch 1, layer3's 14x14 convs 1.24-1.30 ms each as F2,
     * 1.50-1.59 as F4, which the Zen 3 pricing chose (and 2 times did not flip); 4 times flipped
     * layer4 at batch 8 too, not measured, so 3: only batch 1's 14x14 layers move to F2 (resnet50 b1
     * 61.7 -> 60.1 ms, resnest50d 70.2 -> 69.3, CPU time, 5 rounds). */
    if (vw > 8) filters *= 3.0;
    return products + transforms + filters;
}

/* ---- the filter transform, U = G g G^T ---------------------------------- */

static const double G4[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef addc(NcCgModule *m, LLVMValueRef a, int64_t c) {
    return c ? LLVMBuildNSWAdd(m->b, a, I(m, c), "") : a;
}
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildNSWMul(m->b, a, I(m, c), "");
}
static LLVMValueRef minc(NcCgModule *m, LLVMValueRef a, int64_t c) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, a, I(m, c), ""), a, I(m, c), "");
}

/* One tile per output channel o: U = G g G^T of every (o, c) in double
 * precision, each of the alpha^2 values stored where product (pos, group)'s
 * packed B has it: panels of nr output channels, packed[q CG nr + c wq + j],
 * wq the panel's width (the ragged last one compact). */
static void emit_wprep(NcCgModule *m, const NcNhwcWinoPlan *p, const char *name) {
    LLVMBuilderRef b = m->b;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
    const int A = p->alpha, nr = p->gemm.nr;
    const double(*Gm)[3] = p->mt == 4 ? G4 : G2;
    const int64_t OG = p->OG, CG = p->CG, ntail = OG % nr, full_panels = OG / nr;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef w = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1), U = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef o, c;
    CgbLoop lo = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &o);
    LLVMValueRef gr = LLVMBuildSDiv(b, o, I(m, OG), ""), og = LLVMBuildSRem(b, o, I(m, OG), "");
    LLVMValueRef q = LLVMBuildSDiv(b, og, I(m, nr), ""), j = LLVMBuildSRem(b, og, I(m, nr), "");
    LLVMValueRef width =
        ntail ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, q, I(m, full_panels), ""), I(m, nr), I(m, ntail), "")
              : I(m, nr);
    LLVMValueRef base = add(m, add(m, mulc(m, gr, OG * CG), mulc(m, q, CG * nr)), j);
    CgbLoop lc = cgb_loop_begin(m, I(m, 0), I(m, CG), 1, &c);
    LLVMValueRef src = cgb_gep(m, w, mulc(m, add(m, mulc(m, o, CG), c), 9));
    LLVMValueRef f[9], gg[6][3];
    for (int k = 0; k < 9; k++)
        f[k] = LLVMBuildFPExt(b, LLVMBuildLoad2(b, m->f32, cgb_gep(m, src, I(m, k)), ""), f64, "");
    for (int r = 0; r < A; r++)
        for (int k = 0; k < 3; k++) {
            LLVMValueRef acc = NULL;
            for (int jj = 0; jj < 3; jj++) {
                if (Gm[r][jj] == 0) continue;
                LLVMValueRef tt = LLVMBuildFMul(b, LLVMConstReal(f64, Gm[r][jj]), f[jj * 3 + k], "");
                acc = acc ? LLVMBuildFAdd(b, acc, tt, "") : tt;
            }
            gg[r][k] = acc ? acc : LLVMConstReal(f64, 0);
        }
    LLVMValueRef at = add(m, base, LLVMBuildNSWMul(b, c, width, ""));
    for (int r = 0; r < A; r++)
        for (int s = 0; s < A; s++) {
            LLVMValueRef acc = NULL;
            for (int k = 0; k < 3; k++) {
                if (Gm[s][k] == 0) continue;
                LLVMValueRef tt = LLVMBuildFMul(b, gg[r][k], LLVMConstReal(f64, Gm[s][k]), "");
                acc = acc ? LLVMBuildFAdd(b, acc, tt, "") : tt;
            }
            LLVMValueRef v = LLVMBuildFPTrunc(b, acc ? acc : LLVMConstReal(f64, 0), m->f32, "");
            const int64_t pos = r * A + s;
            LLVMBuildStore(b, v, cgb_gep(m, U, addc(m, at, pos * p->G * OG * CG)));
        }
    cgb_loop_end(m, &lc);
    cgb_loop_end(m, &lo);
    LLVMBuildRetVoid(b);
}

/* ---- the transforms, on channel vectors ----------------------------------- */

typedef struct E {
    NcCgModule *m;
    const NcNhwcWinoPlan *p;
    const NcAttrs *a;
    LLVMValueRef x, y, V, M, scale, bias, epi[NC_MAX_EPI];
    int epi_pc[NC_MAX_EPI];
    /* the tile's */
    LLVMValueRef n, nty, ty, u0, u1;
    LLVMValueRef rowp[6],
        rowok[6];     /* stage 1: row pointers, and (or NULL: all valid) whether each row is in the image */
    LLVMValueRef buf; /* [36 x vec] on the stack: the half-transformed patch */
} E;

/* The half-transformed patch goes through a stack buffer with volatile
 * accesses, one pass (6 vectors in, 6 out) at a time: as plain SSA values
 * all 36 are live at once and the register allocator spilled about twice
 * as much, in a worse order (Zen 3, AVX2: 16 registers). */
static LLVMValueRef buf_at(E *e, int k) {
    LLVMValueRef idx[2] = {LLVMConstInt(e->m->i64, 0, 0), LLVMConstInt(e->m->i64, (unsigned long long)k, 0)};
    return LLVMBuildInBoundsGEP2(e->m->b, LLVMArrayType(e->m->vec, 36), e->buf, idx, 2, "");
}
static void buf_put(E *e, int k, LLVMValueRef v) {
    LLVMValueRef st = LLVMBuildStore(e->m->b, v, buf_at(e, k));
    LLVMSetVolatile(st, 1);
    LLVMSetAlignment(st, 32);
}
static LLVMValueRef buf_get(E *e, int k) {
    LLVMValueRef ld = LLVMBuildLoad2(e->m->b, e->m->vec, buf_at(e, k), "");
    LLVMSetVolatile(ld, 1);
    LLVMSetAlignment(ld, 32);
    return ld;
}

static LLVMValueRef fadd(E *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(e->m->b, a, b, ""); }

/* t = B^T d and s = A^T m along one axis (cg_wino_math.h) */
static void input_1d(E *e, LLVMValueRef *d, int ds, LLVMValueRef *t, int ts) {
    nc_wino_input_1d(e->m, e->p->mt, d, ds, t, ts);
}
static void output_1d(E *e, LLVMValueRef *v, int ms, LLVMValueRef *s, int ss) {
    nc_wino_output_1d(e->m, e->p->mt, v, ms, s, ss);
}

/* p + i floats, p possibly pointing before the buffer (a negative column): not inbounds */
static LLVMValueRef gep_any(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildGEP2(m->b, m->f32, p, &i, 1, "");
}

/* Stage 1, one channel vector (lanes wide) of one tile: window columns
 * c0 + [0, alpha), of which [jlo, jhi) are in the image; ch the channel,
 * voff the offset of (pos 0, group, tile, channel) in V. */
static void in_body(E *e, LLVMValueRef c0, LLVMValueRef ch, LLVMValueRef voff, int jlo, int jhi, int lanes) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const int A = p->alpha;
    LLVMValueRef sv = NULL;
    if (e->scale) { /* s (B^T d B) = B^T (s d) B: s is one value per channel */
        LLVMValueRef sp = cgb_gep(m, e->scale, add(m, mulc(m, e->n, p->C), ch));
        sv = lanes == m->vw ? cgb_load(m, sp) : cgb_load_n(m, sp, lanes);
    }
    LLVMValueRef d[6], tc[6], v[36];
    for (int j = 0; j < A; j++) { /* column j: B^T d[.][j] -> buf[i][j] */
        if (j < jlo || j >= jhi) {
            for (int i = 0; i < A; i++) buf_put(e, i * A + j, cgb_zero(m));
            continue;
        }
        for (int i = 0; i < A; i++) {
            LLVMValueRef ptr = gep_any(m, e->rowp[i], add(m, mulc(m, addc(m, c0, j), p->C), ch));
            LLVMValueRef val = lanes == m->vw ? cgb_load(m, ptr) : cgb_load_n(m, ptr, lanes);
            if (e->rowok[i]) val = LLVMBuildSelect(b, e->rowok[i], val, cgb_zero(m), "");
            d[i] = val;
        }
        input_1d(e, d, 1, tc, 1);
        for (int i = 0; i < A; i++) buf_put(e, i * A + j, tc[i]);
    }
    for (int i = 0; i < A; i++) { /* row i: (B^T d)[i][.] B */
        for (int j = 0; j < A; j++) d[j] = buf_get(e, i * A + j);
        input_1d(e, d, 1, v + A * i, 1);
        if (sv)
            for (int j = 0; j < A; j++) v[A * i + j] = LLVMBuildFMul(b, v[A * i + j], sv, "");
        for (int j = 0; j < A; j++) {
            LLVMValueRef ptr = cgb_gep(m, e->V, addc(m, voff, (int64_t)(i * A + j) * p->G * p->T * p->CG));
            if (lanes == m->vw)
                cgb_store(m, v[A * i + j], ptr);
            else
                cgb_store_n(m, v[A * i + j], ptr, lanes);
        }
    }
}
/* Stage 1, tile column tx of the tile's row, every channel vector of the chunk. */
static void in_units(E *e, LLVMValueRef tx, int jlo, int jhi) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const int vw = m->vw, tail = (int)(p->CG % vw);
    LLVMValueRef t = add(m, mulc(m, e->nty, p->TW), tx), c0 = addc(m, mulc(m, tx, p->mt), -p->pl);
    LLVMValueRef u;
    CgbLoop lu = cgb_loop_begin(m, e->u0, e->u1, 1, &u);
    LLVMValueRef g = p->ivpg == 1 ? u : LLVMBuildSDiv(b, u, I(m, p->ivpg), "");
    LLVMValueRef cv = p->ivpg == 1 ? I(m, 0) : LLVMBuildSRem(b, u, I(m, p->ivpg), "");
    LLVMValueRef ch = add(m, mulc(m, g, p->CG), mulc(m, cv, vw));
    LLVMValueRef voff = add(m, mulc(m, add(m, mulc(m, g, p->T), t), p->CG), mulc(m, cv, vw));
    if (tail) {
        CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntSLT, cv, I(m, p->ivpg - 1), ""));
        in_body(e, c0, ch, voff, jlo, jhi, vw);
        cgb_if_else(m, &ci);
        in_body(e, c0, ch, voff, jlo, jhi, tail);
        cgb_if_end(m, &ci);
    } else {
        in_body(e, c0, ch, voff, jlo, jhi, vw);
    }
    cgb_loop_end(m, &lu);
}

/* Stage 1, the tile's row of tiles: edge tiles (compile-time column ranges)
 * and the interior ones in a loop. */
static void in_row(E *e) {
    NcCgModule *m = e->m;
    const NcNhwcWinoPlan *p = e->p;
    const int A = p->alpha, mt = p->mt;
    /* interior: c0 = tx mt - pl >= 0 and c0 + A <= W */
    int64_t txl = cgb_ceil_div(p->pl, mt), txr = p->W + p->pl - A >= 0 ? (p->W + p->pl - A) / mt + 1 : 0;
    if (txl > p->TW) txl = p->TW;
    if (txr > p->TW) txr = p->TW;
    if (txr < txl) txr = txl;
    for (int64_t tx = 0; tx < p->TW; tx++) {
        if (tx == txl && txr > txl) {
            LLVMValueRef v;
            CgbLoop l = cgb_loop_begin(m, I(m, txl), I(m, txr), 1, &v);
            in_units(e, v, 0, A);
            cgb_loop_end(m, &l);
            tx = txr - 1;
            continue;
        }
        const int64_t c0 = tx * mt - p->pl;
        int64_t lo = -c0, hi = p->W - c0;
        lo = lo < 0 ? 0 : lo, hi = hi > A ? A : hi;
        if (hi < lo) hi = lo;
        in_units(e, I(m, tx), (int)lo, (int)hi);
    }
}

static void emit_input(E *e, const char *name) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const int A = p->alpha;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    e->buf = cgb_var(m, LLVMArrayType(m->vec, 36));
    LLVMValueRef in = LLVMGetParam(fn, 0);
    e->x = cgb_arg_ptr(m, in, 0), e->V = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    e->scale = e->a->has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(e->a)) : NULL;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* t = (n TH + ty) chunks + chunk */
    LLVMValueRef chunk = LLVMBuildSRem(b, t, I(m, p->in_chunks), "");
    e->nty = LLVMBuildSDiv(b, t, I(m, p->in_chunks), "");
    e->ty = LLVMBuildSRem(b, e->nty, I(m, p->TH), ""), e->n = LLVMBuildSDiv(b, e->nty, I(m, p->TH), "");
    e->u0 = mulc(m, chunk, p->in_upc), e->u1 = minc(m, addc(m, e->u0, p->in_upc), p->G * p->ivpg);
    LLVMValueRef xn = cgb_gep(m, e->x, mulc(m, e->n, p->H * p->W * p->C));
    LLVMValueRef r0 = addc(m, mulc(m, e->ty, p->mt), -p->pt);
    LLVMValueRef inside = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, r0, I(m, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntSLE, r0, I(m, p->H - A), ""), "");
    CgbIf ci = cgb_if_begin(m, inside);
    for (int i = 0; i < A; i++) e->rowp[i] = cgb_gep(m, xn, mulc(m, addc(m, r0, i), p->W * p->C)), e->rowok[i] = NULL;
    in_row(e);
    cgb_if_else(m, &ci);
    for (int i = 0; i < A; i++) { /* rows outside read row 0 (any valid one), then select zero */
        LLVMValueRef r = addc(m, r0, i);
        e->rowok[i] = LLVMBuildICmp(b, LLVMIntULT, r, I(m, p->H), "");
        e->rowp[i] = cgb_gep(m, xn, LLVMBuildSelect(b, e->rowok[i], mulc(m, r, p->W * p->C), I(m, 0), ""));
    }
    in_row(e);
    cgb_if_end(m, &ci);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* Stage 2: the products, through the GEMM tile function: in = {V, U}, out = {M}. */
static void emit_gemm_stage(E *e, LLVMValueRef gemm, const char *name) {
    NcCgModule *m = e->m;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef V = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef in[2] = {V, cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1)}, out[1] = {cgb_gep(m, V, I(m, e->p->v_floats))};
    cgb_call_tile(m, gemm, in, 2, out, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    LLVMBuildRetVoid(m->b);
}

/* Stage 3, one output channel vector (lanes wide) of one tile, ncols of its
 * columns in the output: o the channel, moff the offset of (pos 0, group,
 * tile, channel) in M, ow0 the tile's first output column. */
static void out_body(E *e, LLVMValueRef o, LLVMValueRef moff, LLVMValueRef ow0, int ncols, int lanes) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const NcAttrs *a = e->a;
    const int A = p->alpha, mt = p->mt, full = lanes == m->vw;
    LLVMValueRef bv = NULL;
    if (e->bias) { /* A^T's column 1 is all ones (F4 and F2): b at position (1, 1) adds b to every output */
        LLVMValueRef bp = cgb_gep(m, e->bias, o);
        bv = full ? cgb_load(m, bp) : cgb_load_n(m, bp, lanes);
    }
    for (int j = 0; j < A; j++) { /* column j: A^T M[.][j] -> buf[k][j] */
        LLVMValueRef mv[6], sc[4];
        for (int i = 0; i < A; i++) {
            LLVMValueRef ptr = cgb_gep(m, e->M, addc(m, moff, (int64_t)(i * A + j) * p->G * p->T * p->OG));
            mv[i] = full ? cgb_load(m, ptr) : cgb_load_n(m, ptr, lanes);
        }
        if (bv && j == 1) mv[1] = fadd(e, mv[1], bv);
        output_1d(e, mv, 1, sc, 1);
        for (int k = 0; k < mt; k++) buf_put(e, k * A + j, sc[k]);
    }
    LLVMValueRef pc[NC_MAX_EPI] = {0};
    for (int k = 0; k < a->nepi; k++)
        if (e->epi[k] && e->epi_pc[k]) {
            LLVMValueRef pp = cgb_gep(m, e->epi[k], add(m, mulc(m, e->n, p->O), o));
            pc[k] = full ? cgb_load(m, pp) : cgb_load_n(m, pp, lanes);
        }
    const int64_t ragged = p->OH % mt;
    for (int k = 0; k < mt; k++) {
        LLVMValueRef oh = addc(m, mulc(m, e->ty, mt), k);
        CgbIf ci;
        if (ragged && k >= ragged) ci = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntSLT, oh, I(m, p->OH), ""));
        LLVMValueRef yk[4], row[6];
        for (int j = 0; j < A; j++) row[j] = buf_get(e, k * A + j);
        output_1d(e, row, 1, yk, 1);
        LLVMValueRef rowoff = mulc(m, add(m, mulc(m, e->n, p->OH), oh), p->OW);
        for (int j = 0; j < ncols; j++) {
            LLVMValueRef yoff = add(m, mulc(m, add(m, rowoff, addc(m, ow0, j)), p->O), o);
            LLVMValueRef val = yk[j];
            for (int st = 0; st < a->nepi; st++) {
                const NcEpilogue *ep = &a->epi[st];
                if (!e->epi[st]) {
                    val = cgb_activation(m, ep->kind, ep->lo, ep->hi, val);
                    continue;
                }
                LLVMValueRef ov = pc[st];
                if (!ov) {
                    LLVMValueRef op = cgb_gep(m, e->epi[st], yoff);
                    ov = full ? cgb_load(m, op) : cgb_load_n(m, op, lanes);
                }
                val = ep->kind == NC_EPI_ADD ? fadd(e, val, ov) : LLVMBuildFMul(b, val, ov, "");
            }
            LLVMValueRef yp = cgb_gep(m, e->y, yoff);
            if (full)
                cgb_store(m, val, yp);
            else
                cgb_store_n(m, val, yp, lanes);
        }
        if (ragged && k >= ragged) cgb_if_end(m, &ci);
    }
}

static void out_units(E *e, LLVMValueRef tx, int ncols) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const int vw = m->vw, tail = (int)(p->OG % vw);
    LLVMValueRef t = add(m, mulc(m, e->nty, p->TW), tx), ow0 = mulc(m, tx, p->mt);
    LLVMValueRef u;
    CgbLoop lu = cgb_loop_begin(m, e->u0, e->u1, 1, &u);
    LLVMValueRef g = p->ovpg == 1 ? u : LLVMBuildSDiv(b, u, I(m, p->ovpg), "");
    LLVMValueRef ov = p->ovpg == 1 ? I(m, 0) : LLVMBuildSRem(b, u, I(m, p->ovpg), "");
    LLVMValueRef o = add(m, mulc(m, g, p->OG), mulc(m, ov, vw));
    LLVMValueRef moff = add(m, mulc(m, add(m, mulc(m, g, p->T), t), p->OG), mulc(m, ov, vw));
    if (tail) {
        CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntSLT, ov, I(m, p->ovpg - 1), ""));
        out_body(e, o, moff, ow0, ncols, vw);
        cgb_if_else(m, &ci);
        out_body(e, o, moff, ow0, ncols, tail);
        cgb_if_end(m, &ci);
    } else {
        out_body(e, o, moff, ow0, ncols, vw);
    }
    cgb_loop_end(m, &lu);
}

static void emit_output(E *e, const NcGraph *g, const NcNode *nd, const char *name) {
    NcCgModule *m = e->m;
    LLVMBuilderRef b = m->b;
    const NcNhwcWinoPlan *p = e->p;
    const NcAttrs *a = e->a;
    const NcValue *yv = nc_val(g, nd->outputs[0]);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    e->buf = cgb_var(m, LLVMArrayType(m->vec, 36));
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    e->y = cgb_arg_ptr(m, out, 0), e->M = cgb_gep(m, cgb_arg_ptr(m, out, 1), I(m, p->v_floats));
    e->bias = a->has_bias ? cgb_arg_ptr(m, in, 2) : NULL;
    for (int k = 0; k < a->nepi; k++) {
        e->epi[k] = NULL;
        if (a->epi[k].kind == NC_EPI_ADD || a->epi[k].kind == NC_EPI_MUL) {
            e->epi[k] = cgb_arg_ptr(m, in, a->epi[k].input);
            e->epi_pc[k] = !nc_shape_eq(nc_val(g, nd->inputs[a->epi[k].input]), yv);
        }
    }
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef chunk = LLVMBuildSRem(b, t, I(m, p->out_chunks), "");
    e->nty = LLVMBuildSDiv(b, t, I(m, p->out_chunks), "");
    e->ty = LLVMBuildSRem(b, e->nty, I(m, p->TH), ""), e->n = LLVMBuildSDiv(b, e->nty, I(m, p->TH), "");
    e->u0 = mulc(m, chunk, p->out_upc), e->u1 = minc(m, addc(m, e->u0, p->out_upc), p->G * p->ovpg);
    const int64_t whole = p->OW / p->mt;
    if (whole > 0) {
        LLVMValueRef tx;
        CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, whole), 1, &tx);
        out_units(e, tx, p->mt);
        cgb_loop_end(m, &l);
    }
    if (p->OW % p->mt) out_units(e, I(m, whole), (int)(p->OW % p->mt));
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

void nc_cg_nhwc_wino_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcWinoPlan *p, const char *name,
                          NcCgKernel *k) {
    E e;
    memset(&e, 0, sizeof e);
    e.m = m, e.p = p, e.a = &nd->attrs;
    char nm[256];
    snprintf(nm, sizeof nm, "%s_in", name);
    emit_input(&e, nm);
    k->stage[0] = LLVMGetNamedFunction(m->mod, nm);
    snprintf(nm, sizeof nm, "%s_mm", name);
    nc_cg_gemm_emit(m, &p->gemm, nm);
    LLVMValueRef gemm = LLVMGetNamedFunction(m->mod, nm);
    snprintf(nm, sizeof nm, "%s_gemm", name);
    emit_gemm_stage(&e, gemm, nm);
    k->stage[1] = LLVMGetNamedFunction(m->mod, nm);
    snprintf(nm, sizeof nm, "%s_out", name);
    emit_output(&e, g, nd, nm);
    k->stage[2] = LLVMGetNamedFunction(m->mod, nm);
    snprintf(nm, sizeof nm, "%s_wprep", name);
    emit_wprep(m, p, nm);
    k->wprep = LLVMGetNamedFunction(m->mod, nm);
    k->tiles[0] = p->tiles_in, k->tiles[1] = p->gemm.tiles, k->tiles[2] = p->tiles_out;
    k->scratch = p->v_floats + p->m_floats;
    k->wprep_tiles = p->O;
    k->wfloats = p->gemm.packed_floats;
}
