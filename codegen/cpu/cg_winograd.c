/* cg_winograd.c — F(4x4, 3x3) convolutions: planning, filter transform,
 * and the three stage functions (cg_winograd.h says how it works). */
#include "codegen/cpu/cg_winograd.h"
#include "codegen/cpu/cg_wino_math.h"

#include <string.h>

#include "ir/ops.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- planning ---------------------------------------------------------- */

int nc_cg_wino_plan(NcWinoPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int mt, const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (w->kind != NC_VAL_PARAM || w->ndim != 4 || a->kernel[0] != 3 || a->kernel[1] != 3) return *why = "not a 3x3 filter", 0;
    if (w->layout == NC_LAYOUT_WINO_F4 || w->layout == NC_LAYOUT_WINO_F2) { /* marked: the tile size is the marked one */
        const int marked = w->layout == NC_LAYOUT_WINO_F4 ? 4 : 2;
        if (mt && mt != marked) return *why = "filter marked for another tile", 0;
        mt = marked;
    }
    if (w->shape[2] != 3 || w->shape[3] != 3 || (mt != 2 && mt != 4)) return *why = "not a 3x3 filter", 0;
    p->mt = mt, p->alpha = mt + 2, p->npos = p->alpha * p->alpha;
    if (a->stride[0] != 1 || a->stride[1] != 1 || a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "strided or dilated", 0;
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0 || a->pad[i] > 2) return *why = "padding over 2", 0;
    if (!cgb_epi_operands_ok(g, nd)) return *why = "epilogue operand of another shape", 0;
    p->N = x->shape[0], p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
    p->O = w->shape[0], p->CG = w->shape[1], p->G = a->groups, p->OG = p->O / p->G;
    p->OH = y->shape[2], p->OW = y->shape[3], p->pt = a->pad[0], p->pl = a->pad[1];
    /* depthwise and narrow groups: the products would be 1 x 1 (or tiny)
     * matrices, all transform and no GEMM */
    if (p->CG < 8 || p->OG < 8) return *why = "fewer than 8 channels per group", 0;
    p->TH = ceil_div(p->OH, mt), p->TW = ceil_div(p->OW, mt), p->TPI = p->TH * p->TW, p->T = p->N * p->TPI;
    /* indices of a plane are 32-bit lanes in the transforms */
    if (p->H * p->W >= (1ll << 31) || p->OH * p->OW >= (1ll << 31) || p->TPI >= (1ll << 31)) return *why = "plane too large", 0;
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = p->npos * p->G, s.cin = p->CG, s.cout = p->OG, s.hw = p->T, s.layout = NC_GEMM_NCHW, s.a_per_image = 1;
    NcError e;
    if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) return *why = "no GEMM plan", 0;
    p->v_floats = p->npos * p->C * p->T, p->m_floats = p->npos * p->O * p->T;
    return 1;
}

double nc_cg_wino_cost(const NcWinoPlan *p) {
    const int64_t nr = p->gemm.nr;
    const double products = (double)p->npos * (double)p->OG * (double)p->CG * (double)p->G * (double)(nr * ceil_div(p->T, nr));
    /* The transforms, in the same units: measured on resnet50's layer1 (64
     * channels, Zen 3) the two took 0.75x the products' time, about 25
     * multiply-add slots per position, tile and channel in or out. */
    const double transforms = 25.0 * (double)p->npos * (double)p->T * (double)(p->C + p->O);
    return products + transforms;
}

double nc_cg_wino_direct_cost(const NcWinoPlan *p) { return 9.0 * (double)p->O * (double)p->CG * (double)(p->N * p->OH * p->OW); }

/* ---- the filter transform, U = G g G^T ---------------------------------- */

static const double G4[6][3] = {
    {1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
};
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* The filter transform as a tile function (runtime/kernels.h's wprep), one
 * tile per output channel o: U = G g G^T of every (o, c) in double
 * precision, each of the alpha^2 values stored where the GEMM reads it —
 * product (pos, group)'s packed A (cg_gemm.h nc_cg_gemm_pack: panels of mr
 * output channels, the ragged last one mtail wide). */
static void emit_wprep(NcCgModule *m, const NcWinoPlan *p, const char *name) {
    LLVMBuilderRef b = m->b;
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
    const int A = p->alpha, mr = p->gemm.s.mr;
    const double(*Gm)[3] = p->mt == 4 ? G4 : G2;
    const int64_t OG = p->OG, CG = p->CG, mtail = OG % mr, full_panels = OG / mr;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef w = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1), U = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef o, c;
    CgbLoop lo = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &o);
    LLVMValueRef gr = LLVMBuildSDiv(b, o, cgb_i64(m, OG), ""), og = LLVMBuildSRem(b, o, cgb_i64(m, OG), "");
    LLVMValueRef panel = LLVMBuildSDiv(b, og, cgb_i64(m, mr), ""), i = LLVMBuildSRem(b, og, cgb_i64(m, mr), "");
    LLVMValueRef width = mtail ? LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, panel, cgb_i64(m, full_panels), ""), cgb_i64(m, mr),
                                                 cgb_i64(m, mtail), "")
                               : cgb_i64(m, mr);
    /* offset of (pos 0, this group, this channel's panel and row) */
    LLVMValueRef base = LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, gr, cgb_i64(m, OG * CG), ""),
                                                           LLVMBuildNSWMul(b, panel, cgb_i64(m, CG * mr), ""), ""), i, "");
    CgbLoop lc = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, CG), 1, &c);
    LLVMValueRef src = cgb_gep(m, w, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cgb_i64(m, CG), ""), c, ""), cgb_i64(m, 9), ""));
    LLVMValueRef f[9], gg[6][3];
    for (int k = 0; k < 9; k++) f[k] = LLVMBuildFPExt(b, LLVMBuildLoad2(b, m->f32, cgb_gep(m, src, cgb_i64(m, k)), ""), f64, "");
    for (int r = 0; r < A; r++) /* G g, zero coefficients skipped */
        for (int k = 0; k < 3; k++) {
            LLVMValueRef acc = NULL;
            for (int j = 0; j < 3; j++) {
                if (Gm[r][j] == 0) continue;
                LLVMValueRef t = LLVMBuildFMul(b, LLVMConstReal(f64, Gm[r][j]), f[j * 3 + k], "");
                acc = acc ? LLVMBuildFAdd(b, acc, t, "") : t;
            }
            gg[r][k] = acc ? acc : LLVMConstReal(f64, 0);
        }
    LLVMValueRef at = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, c, width, ""), "");
    for (int r = 0; r < A; r++)
        for (int s = 0; s < A; s++) { /* (G g) G^T */
            LLVMValueRef acc = NULL;
            for (int k = 0; k < 3; k++) {
                if (Gm[s][k] == 0) continue;
                LLVMValueRef t = LLVMBuildFMul(b, gg[r][k], LLVMConstReal(f64, Gm[s][k]), "");
                acc = acc ? LLVMBuildFAdd(b, acc, t, "") : t;
            }
            LLVMValueRef v = LLVMBuildFPTrunc(b, acc ? acc : LLVMConstReal(f64, 0), m->f32, "");
            const int64_t pos = r * A + s;
            LLVMBuildStore(b, v, cgb_gep(m, U, LLVMBuildNSWAdd(b, at, cgb_i64(m, pos * p->G * OG * CG), "")));
        }
    cgb_loop_end(m, &lc);
    cgb_loop_end(m, &lo);
    LLVMBuildRetVoid(b);
}

/* ---- emission ---------------------------------------------------------- */

/* Tile functions' lanes run along vw consecutive tiles of one image. */

typedef struct W {
    NcCgModule *m;
    const NcWinoPlan *p;
    LLVMTypeRef ivec, mvec, pvec; /* <vw x i32>, <vw x i1>, <vw x ptr> */
} W;

static LLVMValueRef ivec(W *w, int64_t v) {
    LLVMValueRef e[64];
    for (int i = 0; i < w->m->vw; i++) e[i] = LLVMConstInt(w->m->i32, (unsigned long long)v, 1);
    return LLVMConstVector(e, (unsigned)w->m->vw);
}

static LLVMValueRef iota(W *w) {
    LLVMValueRef e[64];
    for (int i = 0; i < w->m->vw; i++) e[i] = LLVMConstInt(w->m->i32, (unsigned long long)i, 0);
    return LLVMConstVector(e, (unsigned)w->m->vw);
}

static LLVMValueRef intrinsic(W *w, const char *name, LLVMTypeRef *over, int nover, LLVMTypeRef *fty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    *fty = LLVMIntrinsicGetType(w->m->ctx, id, over, (size_t)nover);
    return LLVMGetIntrinsicDeclaration(w->m->mod, id, over, (size_t)nover);
}

/* base[idx[l]] for lanes under mask, 0 elsewhere */
static LLVMValueRef gather(W *w, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef mask) {
    NcCgModule *m = w->m;
    LLVMValueRef ptrs = LLVMBuildGEP2(m->b, m->f32, base, &idx, 1, "");
    LLVMTypeRef over[2] = {m->vec, w->pvec}, fty;
    LLVMValueRef fn = intrinsic(w, "llvm.masked.gather", over, 2, &fty);
    LLVMValueRef args[4] = {ptrs, LLVMConstInt(m->i32, 4, 0), mask, cgb_zero(m)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

static void scatter(W *w, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef mask) {
    NcCgModule *m = w->m;
    LLVMValueRef ptrs = LLVMBuildGEP2(m->b, m->f32, base, &idx, 1, "");
    LLVMTypeRef over[2] = {m->vec, w->pvec}, fty;
    LLVMValueRef fn = intrinsic(w, "llvm.masked.scatter", over, 2, &fty);
    LLVMValueRef args[4] = {v, ptrs, LLVMConstInt(m->i32, 4, 0), mask};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

static LLVMValueRef fadd(W *w, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(w->m->b, a, b, ""); }

/* t = B^T d and s = A^T m along one axis (cg_wino_math.h) */
static void input_1d(W *w, LLVMValueRef *d, int ds, LLVMValueRef *t, int ts) { nc_wino_input_1d(w->m, w->p->mt, d, ds, t, ts); }
static void output_1d(W *w, LLVMValueRef *v, int ms, LLVMValueRef *s, int ss) { nc_wino_output_1d(w->m, w->p->mt, v, ms, s, ss); }

/* The lanes of chunk q (vw consecutive tiles of one image): which are real
 * tiles, and each one's tile row and column. */
static void chunk_lanes(W *w, LLVMValueRef q, LLVMValueRef *valid, LLVMValueRef *ty, LLVMValueRef *tx) {
    NcCgModule *m = w->m;
    LLVMValueRef q32 = LLVMBuildTrunc(m->b, LLVMBuildNSWMul(m->b, q, cgb_i64(m, m->vw), ""), m->i32, "");
    LLVMValueRef qv = LLVMBuildShuffleVector(m->b, LLVMBuildInsertElement(m->b, LLVMGetUndef(w->ivec), q32, LLVMConstInt(m->i32, 0, 0), ""),
                                             LLVMGetUndef(w->ivec), LLVMConstNull(w->ivec), "");
    LLVMValueRef tt = LLVMBuildAdd(m->b, qv, iota(w), "");
    *valid = LLVMBuildICmp(m->b, LLVMIntULT, tt, ivec(w, w->p->TPI), "");
    *ty = LLVMBuildUDiv(m->b, tt, ivec(w, w->p->TW), "");
    *tx = LLVMBuildURem(m->b, tt, ivec(w, w->p->TW), "");
}

static LLVMValueRef i32v_mul(W *w, LLVMValueRef a, int64_t k) { return LLVMBuildMul(w->m->b, a, ivec(w, k), ""); }
static LLVMValueRef i32v_add(W *w, LLVMValueRef a, int64_t k) { return LLVMBuildAdd(w->m->b, a, ivec(w, k), ""); }
static LLVMValueRef lt_u(W *w, LLVMValueRef a, int64_t k) { return LLVMBuildICmp(w->m->b, LLVMIntULT, a, ivec(w, k), ""); }

/* Two ways to fill a vector of tiles.  Along a tile row (when a row has at
 * least 3/4 vw tiles): tiles (ty, tx0 .. tx0 + vw) read one window of
 * mt * vw + 2 input columns per patch row with contiguous loads, and lane l
 * of patch column j is window column mt * l + j — a shuffle.  The output
 * goes back the same way: mt vectors of a row of outputs are one shuffle of
 * the mt column vectors, stored contiguously.  Otherwise (rows of fewer
 * than 3/4 vw tiles), vw consecutive tiles of the image, which may span tile
 * rows, by masked gathers and scatters: measured on resnet50's 14x14 F(4x4)
 * and 7x7 F(2x2) convs (4 tiles a row), 11% faster than half-empty rows. */
static int along_rows(const NcWinoPlan *p, int vw) { return 4 * p->TW >= 3 * vw; }

/* One vector of two: [a, b] */
static LLVMValueRef concat(W *w, LLVMValueRef a, LLVMValueRef b) {
    const unsigned n = LLVMGetVectorSize(LLVMTypeOf(a));
    LLVMValueRef idx[128];
    for (unsigned i = 0; i < 2 * n; i++) idx[i] = LLVMConstInt(w->m->i32, i, 0);
    return LLVMBuildShuffleVector(w->m->b, a, b, LLVMConstVector(idx, 2 * n), "");
}

/* v[0..n) as one vector (padded with zeros to a power of two) */
static LLVMValueRef concat_all(W *w, LLVMValueRef *v, int n) {
    LLVMValueRef cur[16];
    int len = 1;
    while (len < n) len *= 2;
    for (int i = 0; i < len; i++) cur[i] = i < n ? v[i] : cgb_zero(w->m);
    for (; len > 1; len /= 2)
        for (int i = 0; i < len / 2; i++) cur[i] = concat(w, cur[2 * i], cur[2 * i + 1]);
    return cur[0];
}

/* lanes first + stride * l of the vector wide */
static LLVMValueRef strided(W *w, LLVMValueRef wide, int first, int stride) {
    LLVMValueRef idx[64];
    for (int l = 0; l < w->m->vw; l++) idx[l] = LLVMConstInt(w->m->i32, (unsigned long long)(first + stride * l), 0);
    return LLVMBuildShuffleVector(w->m->b, wide, LLVMGetUndef(LLVMTypeOf(wide)), LLVMConstVector(idx, (unsigned)w->m->vw), "");
}

static LLVMValueRef const_mask(W *w, int lo, int hi) { /* lanes [lo, hi) */
    LLVMValueRef bits[64];
    for (int i = 0; i < w->m->vw; i++) bits[i] = LLVMConstInt(w->m->i1, i >= lo && i < hi, 0);
    return LLVMConstVector(bits, (unsigned)w->m->vw);
}

/* V[pos][c][t0 + l] = v[pos] for the chunk's nl lanes */
static void store_chunk(W *w, LLVMValueRef *v, LLVMValueRef V, LLVMValueRef off, int nl, LLVMValueRef mask) {
    const NcWinoPlan *p = w->p;
    NcCgModule *m = w->m;
    for (int pos = 0; pos < p->npos; pos++) {
        LLVMValueRef ptr = cgb_gep(m, V, LLVMBuildNSWAdd(m->b, off, cgb_i64(m, (int64_t)pos * p->C * p->T), ""));
        if (mask) cgb_store_mask(m, v[pos], ptr, mask);
        else cgb_store_n(m, v[pos], ptr, nl);
    }
}

/* v = B^T d B for d[i * A + j] */
static void input_2d(W *w, LLVMValueRef *d, LLVMValueRef *v) {
    const int A = w->p->alpha;
    LLVMValueRef tr[36]; /* B^T d, [i][j] */
    for (int j = 0; j < A; j++) input_1d(w, d + j, A, tr + j, A);
    for (int i = 0; i < A; i++) input_1d(w, tr + A * i, 1, v + A * i, 1);
}

/* Stage 1: tile (n, c) -> V[pos][c][n * TPI + t] for the image's tiles. */
static void emit_input(W *w, const NcNode *nd, const char *name) {
    NcCgModule *m = w->m;
    const NcWinoPlan *p = w->p;
    const int A = p->alpha, mt = p->mt, vw = m->vw;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), V = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef scale = nd->attrs.has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(&nd->attrs)) : NULL;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, p->C), ""), c = LLVMBuildSRem(b, t, cgb_i64(m, p->C), "");
    LLVMValueRef plane = cgb_gep(m, x, LLVMBuildNSWMul(b, t, cgb_i64(m, p->H * p->W), "")); /* t = n * C + c */
    LLVMValueRef sv = scale ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, scale, t), "")) : NULL;
    LLVMValueRef vbase = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, c, cgb_i64(m, p->T), ""), LLVMBuildNSWMul(b, n, cgb_i64(m, p->TPI), ""), "");
    LLVMValueRef d[36], v[36];
    if (along_rows(p, vw)) {
        LLVMValueRef ty;
        CgbLoop ly = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->TH), 1, &ty);
        LLVMValueRef row0 = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, ty, cgb_i64(m, mt), ""), cgb_i64(m, p->pt), "");
        for (int64_t tx0 = 0; tx0 < p->TW; tx0 += vw) { /* a row's chunks: few, unrolled, each with static edges */
            const int nl = (int)(p->TW - tx0 < vw ? p->TW - tx0 : vw);
            const int64_t cb = mt * tx0 - p->pl; /* the window's first column */
            const int nv = (mt * vw + 2 + vw - 1) / vw;
            for (int i = 0; i < A; i++) {
                LLVMValueRef r = LLVMBuildNSWAdd(b, row0, cgb_i64(m, i), "");
                LLVMValueRef rowok = LLVMBuildICmp(b, LLVMIntULT, r, cgb_i64(m, p->H), ""); /* unsigned: row -1 is out too */
                LLVMValueRef rowmask = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetUndef(w->mvec), rowok, LLVMConstInt(m->i32, 0, 0), ""),
                                                              LLVMGetUndef(w->mvec), LLVMConstNull(w->ivec), "");
                LLVMValueRef rowp = cgb_gep(m, plane, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, r, cgb_i64(m, p->W), ""), cgb_i64(m, cb), ""));
                LLVMValueRef win[16];
                for (int k = 0; k < nv; k++) { /* columns cb + k vw + lane inside [0, W): static */
                    int64_t lo = -(cb + (int64_t)k * vw), hi = p->W - (cb + (int64_t)k * vw);
                    lo = lo < 0 ? 0 : lo, hi = hi > vw ? vw : hi;
                    if (hi <= lo) {
                        win[k] = cgb_zero(m);
                        continue;
                    }
                    win[k] = cgb_load_mask(m, cgb_gep(m, rowp, cgb_i64(m, (int64_t)k * vw)), LLVMBuildAnd(b, rowmask, const_mask(w, (int)lo, (int)hi), ""));
                    if (sv) win[k] = LLVMBuildFMul(b, win[k], sv, "");
                }
                LLVMValueRef wide = concat_all(w, win, nv);
                for (int j = 0; j < A; j++) d[i * A + j] = strided(w, wide, j, mt);
            }
            input_2d(w, d, v);
            LLVMValueRef off = LLVMBuildNSWAdd(b, vbase, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ty, cgb_i64(m, p->TW), ""), cgb_i64(m, tx0), ""), "");
            store_chunk(w, v, V, off, nl, NULL);
        }
        cgb_loop_end(m, &ly);
    } else {
        LLVMValueRef q;
        CgbLoop lq = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, ceil_div(p->TPI, vw)), 1, &q);
        LLVMValueRef valid, ty, tx;
        chunk_lanes(w, q, &valid, &ty, &tx);
        LLVMValueRef r0 = i32v_add(w, i32v_mul(w, ty, mt), -p->pt), c0 = i32v_add(w, i32v_mul(w, tx, mt), -p->pl);
        LLVMValueRef col[6], colok[6], rowoff[6], rowok[6];
        for (int i = 0; i < A; i++) {
            LLVMValueRef r = i32v_add(w, r0, i), cc = i32v_add(w, c0, i);
            rowok[i] = LLVMBuildAnd(b, lt_u(w, r, p->H), valid, ""); /* unsigned: a negative row is out too */
            rowoff[i] = i32v_mul(w, r, p->W);
            col[i] = cc, colok[i] = lt_u(w, cc, p->W);
        }
        for (int i = 0; i < A; i++)
            for (int j = 0; j < A; j++) {
                d[i * A + j] = gather(w, plane, LLVMBuildAdd(b, rowoff[i], col[j], ""), LLVMBuildAnd(b, rowok[i], colok[j], ""));
                if (sv) d[i * A + j] = LLVMBuildFMul(b, d[i * A + j], sv, "");
            }
        input_2d(w, d, v);
        LLVMValueRef off = LLVMBuildNSWAdd(b, vbase, LLVMBuildNSWMul(b, q, cgb_i64(m, vw), ""), "");
        CgbIf full = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntSLT, q, cgb_i64(m, p->TPI / vw), "")); /* masked stores are slow */
        store_chunk(w, v, V, off, vw, NULL);
        cgb_if_else(m, &full);
        store_chunk(w, v, V, off, vw, valid);
        cgb_if_end(m, &full);
        cgb_loop_end(m, &lq);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* Stage 2: the products, through the GEMM tile function gemm: in = {V, U}, out = {M}. */
static void emit_gemm_stage(W *w, LLVMValueRef gemm, const char *name) {
    NcCgModule *m = w->m;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef V = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef in[2] = {V, cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1)}, out[1] = {cgb_gep(m, V, cgb_i64(m, w->p->v_floats))};
    cgb_call_tile(m, gemm, in, 2, out, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    LLVMBuildRetVoid(m->b);
}

/* The bias and the node's epilogue on vector v of outputs; operand(st)
 * gives the same-shape operand of step st at these outputs. */
typedef struct Epi {
    const NcAttrs *a;
    LLVMValueRef bias;                /* splat, or NULL */
    LLVMValueRef op[NC_MAX_EPI];      /* operand base (same shape), splat (per channel), NULL (activation) */
    int per_channel[NC_MAX_EPI];
} Epi;

static LLVMValueRef epilogue(W *w, const Epi *e, LLVMValueRef v, LLVMValueRef (*operand)(W *, LLVMValueRef base, void *ctx), void *ctx) {
    if (e->bias) v = fadd(w, v, e->bias);
    for (int st = 0; st < e->a->nepi; st++) {
        const NcEpilogue *ep = &e->a->epi[st];
        if (!e->op[st]) {
            v = cgb_activation(w->m, ep->kind, ep->lo, ep->hi, v);
            continue;
        }
        LLVMValueRef ov = e->per_channel[st] ? e->op[st] : operand(w, e->op[st], ctx);
        v = ep->kind == NC_EPI_ADD ? fadd(w, v, ov) : LLVMBuildFMul(w->m->b, v, ov, "");
    }
    return v;
}

typedef struct RowAt { LLVMValueRef off; int n; } RowAt;    /* contiguous, n lanes */
typedef struct LanesAt { LLVMValueRef idx, mask; } LanesAt; /* one index per lane */

static LLVMValueRef operand_row(W *w, LLVMValueRef base, void *ctx) {
    const RowAt *r = ctx;
    return cgb_load_n(w->m, cgb_gep(w->m, base, r->off), r->n);
}

static LLVMValueRef operand_lanes(W *w, LLVMValueRef base, void *ctx) {
    const LanesAt *l = ctx;
    return gather(w, base, l->idx, l->mask);
}

/* Stage 3: tile (n, o) -> y[n][o], bias and epilogue applied. */
static void emit_output(W *w, const NcGraph *g, const NcNode *nd, const char *name) {
    NcCgModule *m = w->m;
    const NcWinoPlan *p = w->p;
    const NcAttrs *a = &nd->attrs;
    const NcValue *yv = nc_val(g, nd->outputs[0]);
    const int A = p->alpha, mt = p->mt, vw = m->vw;
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef y = cgb_arg_ptr(m, out, 0), M = cgb_gep(m, cgb_arg_ptr(m, out, 1), cgb_i64(m, p->v_floats));
    LLVMValueRef bias = a->has_bias ? cgb_arg_ptr(m, in, 2) : NULL, epi[NC_MAX_EPI] = {0};
    for (int st = 0; st < a->nepi; st++)
        if (a->epi[st].kind == NC_EPI_ADD || a->epi[st].kind == NC_EPI_MUL) epi[st] = cgb_arg_ptr(m, in, a->epi[st].input);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, p->O), ""), o = LLVMBuildSRem(b, t, cgb_i64(m, p->O), "");
    LLVMValueRef yoff = LLVMBuildNSWMul(b, t, cgb_i64(m, p->OH * p->OW), ""); /* t = n * O + o */
    LLVMValueRef yplane = cgb_gep(m, y, yoff);
    Epi e;
    memset(&e, 0, sizeof e);
    e.a = a;
    e.bias = bias ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, bias, o), "")) : NULL;
    for (int st = 0; st < a->nepi; st++) {
        if (!epi[st]) continue;
        e.per_channel[st] = cgb_per_channel(nc_val(g, nd->inputs[a->epi[st].input]), yv);
        e.op[st] = e.per_channel[st] ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, epi[st], t), "")) : cgb_gep(m, epi[st], yoff);
    }
    LLVMValueRef mbase = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cgb_i64(m, p->T), ""), LLVMBuildNSWMul(b, n, cgb_i64(m, p->TPI), ""), "");
    LLVMValueRef mv[36], s[24]; /* s = A^T m: [k][j], mt x alpha */
    if (along_rows(p, vw)) {
        LLVMValueRef ty;
        CgbLoop ly = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->TH), 1, &ty);
        for (int64_t tx0 = 0; tx0 < p->TW; tx0 += vw) {
            const int nl = (int)(p->TW - tx0 < vw ? p->TW - tx0 : vw);
            LLVMValueRef off = LLVMBuildNSWAdd(b, mbase, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ty, cgb_i64(m, p->TW), ""), cgb_i64(m, tx0), ""), "");
            for (int pos = 0; pos < A * A; pos++)
                mv[pos] = cgb_load_n(m, cgb_gep(m, M, LLVMBuildNSWAdd(b, off, cgb_i64(m, (int64_t)pos * p->O * p->T), "")), nl);
            for (int j = 0; j < A; j++) output_1d(w, mv + j, A, s + j, A);
            /* outputs of this chunk's columns that exist: [0, ncols) from column mt * tx0 */
            const int64_t oc0 = mt * tx0, ncols = (p->OW - oc0 < (int64_t)nl * mt) ? p->OW - oc0 : (int64_t)nl * mt;
            for (int k = 0; k < mt; k++) {
                LLVMValueRef yk[4];
                output_1d(w, s + A * k, 1, yk, 1);
                LLVMValueRef wide = concat_all(w, yk, mt); /* column jj of tile l at jj * vw + l */
                LLVMValueRef r = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ty, cgb_i64(m, mt), ""), cgb_i64(m, k), "");
                CgbIf rowok = cgb_if_begin(m, LLVMBuildICmp(b, LLVMIntSLT, r, cgb_i64(m, p->OH), ""));
                LLVMValueRef roff = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, r, cgb_i64(m, p->OW), ""), cgb_i64(m, oc0), "");
                for (int vv = 0; vv < mt; vv++) { /* output columns oc0 + vv * vw + e = tile (vv * vw + e) / mt, column (vv * vw + e) % mt */
                    const int64_t cnt = ncols - (int64_t)vv * vw < vw ? ncols - (int64_t)vv * vw : vw;
                    if (cnt <= 0) break;
                    LLVMValueRef idx[64];
                    for (int el = 0; el < vw; el++) {
                        const int f = vv * vw + el;
                        idx[el] = LLVMConstInt(m->i32, (unsigned long long)((f % mt) * vw + f / mt), 0);
                    }
                    LLVMValueRef val = LLVMBuildShuffleVector(b, wide, LLVMGetUndef(LLVMTypeOf(wide)), LLVMConstVector(idx, (unsigned)vw), "");
                    RowAt at = {LLVMBuildNSWAdd(b, roff, cgb_i64(m, (int64_t)vv * vw), ""), (int)cnt};
                    val = epilogue(w, &e, val, operand_row, &at);
                    cgb_store_n(m, val, cgb_gep(m, yplane, at.off), (int)cnt);
                }
                cgb_if_end(m, &rowok);
            }
        }
        cgb_loop_end(m, &ly);
    } else {
        LLVMValueRef q;
        CgbLoop lq = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, ceil_div(p->TPI, vw)), 1, &q);
        LLVMValueRef valid, ty, tx;
        chunk_lanes(w, q, &valid, &ty, &tx);
        LLVMValueRef qoff = LLVMBuildNSWAdd(b, mbase, LLVMBuildNSWMul(b, q, cgb_i64(m, vw), ""), "");
        for (int pos = 0; pos < A * A; pos++)
            mv[pos] = cgb_load_mask(m, cgb_gep(m, M, LLVMBuildNSWAdd(b, qoff, cgb_i64(m, (int64_t)pos * p->O * p->T), "")), valid);
        for (int j = 0; j < A; j++) output_1d(w, mv + j, A, s + j, A);
        LLVMValueRef r0 = i32v_mul(w, ty, mt), c0 = i32v_mul(w, tx, mt);
        for (int k = 0; k < mt; k++) {
            LLVMValueRef yk[4];
            output_1d(w, s + A * k, 1, yk, 1);
            LLVMValueRef r = i32v_add(w, r0, k);
            LLVMValueRef rowok = LLVMBuildAnd(b, lt_u(w, r, p->OH), valid, ""), rowoff = i32v_mul(w, r, p->OW);
            for (int j = 0; j < mt; j++) {
                LLVMValueRef cc = i32v_add(w, c0, j);
                LanesAt at = {LLVMBuildAdd(b, rowoff, cc, ""), LLVMBuildAnd(b, rowok, lt_u(w, cc, p->OW), "")};
                scatter(w, epilogue(w, &e, yk[j], operand_lanes, &at), yplane, at.idx, at.mask);
            }
        }
        cgb_loop_end(m, &lq);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

void nc_cg_wino_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcWinoPlan *p, const char *prefix,
                     LLVMValueRef fns[3], int64_t tiles[3], LLVMValueRef *wprep) {
    W w = {m, p, LLVMVectorType(m->i32, (unsigned)m->vw), LLVMVectorType(m->i1, (unsigned)m->vw),
           LLVMVectorType(m->ptr, (unsigned)m->vw)};
    char name[96];
    snprintf(name, sizeof name, "%s_in", prefix);
    emit_input(&w, nd, name);
    fns[0] = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, &p->gemm, name);
    LLVMValueRef gemm = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_gemm", prefix);
    emit_gemm_stage(&w, gemm, name);
    fns[1] = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_out", prefix);
    emit_output(&w, g, nd, name);
    fns[2] = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_wprep", prefix);
    emit_wprep(m, p, name);
    *wprep = LLVMGetNamedFunction(m->mod, name);
    tiles[0] = p->N * p->C, tiles[1] = p->gemm.tiles, tiles[2] = p->N * p->O;
}
