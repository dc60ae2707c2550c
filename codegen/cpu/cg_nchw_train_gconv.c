/* cg_nchw_train_gconv.c — the training step's grouped and depthwise NCHW
 * convolutions as direct loops (cg_nchw_train_gconv.h). */
#include "codegen/cpu/cg_nchw_train_gconv.h"

#include <string.h>

#include "ir/ops.h"

int nc_cg_train_gconv_plan(NcTrainGconvPlan *p, const NcGraph *g, const NcNode *nd, const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    const NcValue *x, *w, *y;
    if (nd->noutputs != 1 || nd->ninputs != 2) return *why = "operands", 0;
    if (!nc_cg_train_conv_operands(g, nd, &p->kind, &x, &w, &y, why)) return 0;
    if (a->has_bias || a->has_in_scale || a->nepi) return *why = "bias, input scale or epilogue", 0;
    if (a->groups <= 1) return *why = "not grouped", 0;
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return *why = "not 4-d", 0;
    if (x->layout != NC_LAYOUT_NCHW || w->layout != NC_LAYOUT_NCHW || y->layout != NC_LAYOUT_NCHW)
        return *why = "not NCHW", 0;
    p->N = x->shape[0], p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
    p->O = w->shape[0], p->CG = w->shape[1], p->KH = w->shape[2], p->KW = w->shape[3];
    p->OH = y->shape[2], p->OW = y->shape[3];
    if (p->C % a->groups || p->O % a->groups || p->CG != p->C / a->groups || y->shape[0] != p->N || y->shape[1] != p->O)
        return *why = "shapes", 0;
    p->OG = p->O / a->groups;
    p->sh = a->stride[0], p->sw = a->stride[1], p->dh = a->dilation[0], p->dw = a->dilation[1];
    p->pt = a->pad[0], p->pl = a->pad[1];
    if (p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1) return *why = "stride or dilation", 0;
    p->tiles = p->kind == NC_TCONV_FORWARD ? p->N * p->O : p->kind == NC_TCONV_GRAD_INPUT ? p->N * p->C : p->O * p->CG;
    return 1;
}

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }
static LLVMValueRef sdivc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildSDiv(m->b, a, I(m, c), ""); }
static LLVMValueRef sremc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildSRem(m->b, a, I(m, c), ""); }

/* The outputs [*lo, *hi) of a row (or column) of n whose tap at offset off
 * (k d - pad) reads inside the input's extent: 0 <= o s + off < len
 * (ir/ref_grad_conv.c's tap_range). */
static void tap_range(int64_t n, int64_t len, int s, int64_t off, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = len - off <= 0 ? 0 : (len - off - 1) / s + 1;
    *lo = l;
    *hi = h < n ? h : n;
}

typedef struct Axpy {
    LLVMValueRef dst, src, wv;
} Axpy;
static void axpy_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Axpy *c = vc;
    LLVMValueRef d = cgb_gep(m, c->dst, i);
    LLVMValueRef v = cgb_fma(m, cgb_load_n(m, cgb_gep(m, c->src, i), lanes), c->wv, cgb_load_n(m, d, lanes));
    cgb_store_n(m, v, d, lanes);
}

/* dst[i ds] += wv src[i ss], i < n */
static void axpy_row(NcCgModule *m, LLVMValueRef dst, int64_t ds, LLVMValueRef src, int64_t ss, LLVMValueRef wv,
                     int64_t n) {
    LLVMBuilderRef b = m->b;
    if (ds == 1 && ss == 1) {
        Axpy c = {dst, src, cgb_splat(m, wv)};
        cgb_for_vectors(m, n, axpy_vec, &c);
        return;
    }
    LLVMValueRef i;
    CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, n), 1, &i);
    LLVMValueRef dp = cgb_gep(m, dst, mulc(m, i, ds));
    LLVMValueRef s = LLVMBuildLoad2(b, m->f32, cgb_gep(m, src, mulc(m, i, ss)), "");
    LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, dp, ""), LLVMBuildFMul(b, wv, s, ""), ""), dp);
    cgb_loop_end(m, &l);
}

typedef struct Dot {
    LLVMValueRef a, b, acc; /* acc: a vector variable */
} Dot;
static void dot_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Dot *c = vc; /* a partial vector's masked lanes load 0 */
    LLVMValueRef v = cgb_fma(m, cgb_load_n(m, cgb_gep(m, c->a, i), lanes), cgb_load_n(m, cgb_gep(m, c->b, i), lanes),
                             LLVMBuildLoad2(m->b, m->vec, c->acc, ""));
    LLVMBuildStore(m->b, v, c->acc);
}

/* *vacc (vector) or *sacc (scalar) += sum of a[i] b[i sb], i < n */
static void dot_row(NcCgModule *m, LLVMValueRef a, LLVMValueRef bp, int64_t sb, int64_t n, LLVMValueRef vacc,
                    LLVMValueRef sacc) {
    LLVMBuilderRef b = m->b;
    if (sb == 1) {
        Dot c = {a, bp, vacc};
        cgb_for_vectors(m, n, dot_vec, &c);
        return;
    }
    LLVMValueRef i;
    CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, n), 1, &i);
    LLVMValueRef av = LLVMBuildLoad2(b, m->f32, cgb_gep(m, a, i), "");
    LLVMValueRef bv = LLVMBuildLoad2(b, m->f32, cgb_gep(m, bp, mulc(m, i, sb)), "");
    LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, sacc, ""), LLVMBuildFMul(b, av, bv, ""), ""), sacc);
    cgb_loop_end(m, &l);
}

/* One tap (kh, kw): its output ranges, and the input offsets of their starts */
typedef struct Tap {
    int64_t oh0, oh1, ow0, ow1, bh, bw;
} Tap;
static int tap(const NcTrainGconvPlan *p, int64_t kh, int64_t kw, Tap *t) {
    t->bh = kh * p->dh - p->pt, t->bw = kw * p->dw - p->pl;
    tap_range(p->OH, p->H, p->sh, t->bh, &t->oh0, &t->oh1);
    tap_range(p->OW, p->W, p->sw, t->bw, &t->ow0, &t->ow1);
    return t->oh0 < t->oh1 && t->ow0 < t->ow1;
}

/* conv2d (x -> y) or conv2d_grad_input (dy -> dx): the plane at out is
 * zeroed, then for each of the group's nj planes j of in (plane stride
 * `stride`) and each tap, the output rows += w[wbase + j wj + tap] times the
 * input rows.  fwd: out is y (rows oh, reading x's rows ih); else out is dx
 * (rows ih, reading dy's rows oh). */
static void emit_accumulate(NcCgModule *m, const NcTrainGconvPlan *p, int fwd, LLVMValueRef out, LLVMValueRef in,
                            int64_t nj, LLVMValueRef wgt, LLVMValueRef wbase, int64_t wj) {
    const int64_t IP = fwd ? p->H * p->W : p->OH * p->OW;
    cgb_copy_floats(m, out, NULL, NULL, fwd ? p->OH * p->OW : p->H * p->W);
    LLVMValueRef j;
    CgbLoop lj = cgb_loop_begin(m, I(m, 0), I(m, nj), 1, &j);
    LLVMValueRef plane = cgb_gep(m, in, mulc(m, j, IP)), wrow = cgb_gep(m, wgt, add(m, wbase, mulc(m, j, wj)));
    for (int64_t kh = 0; kh < p->KH; kh++)
        for (int64_t kw = 0; kw < p->KW; kw++) {
            Tap t;
            if (!tap(p, kh, kw, &t)) continue;
            LLVMValueRef wv = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, wrow, I(m, kh * p->KW + kw)), "");
            LLVMValueRef oh;
            CgbLoop lh = cgb_loop_begin(m, I(m, t.oh0), I(m, t.oh1), 1, &oh);
            LLVMValueRef ih = add(m, mulc(m, oh, p->sh), I(m, t.bh));
            LLVMValueRef yrow = add(m, mulc(m, oh, p->OW), I(m, t.ow0));
            LLVMValueRef xrow = add(m, mulc(m, ih, p->W), I(m, t.ow0 * p->sw + t.bw));
            if (fwd)
                axpy_row(m, cgb_gep(m, out, yrow), 1, cgb_gep(m, plane, xrow), p->sw, wv, t.ow1 - t.ow0);
            else
                axpy_row(m, cgb_gep(m, out, xrow), p->sw, cgb_gep(m, plane, yrow), 1, wv, t.ow1 - t.ow0);
            cgb_loop_end(m, &lh);
        }
    cgb_loop_end(m, &lj);
}

static LLVMValueRef hsum(NcCgModule *m, LLVMValueRef v) {
    LLVMValueRef s = LLVMBuildExtractElement(m->b, v, I(m, 0), "");
    for (int i = 1; i < m->vw; i++) s = LLVMBuildFAdd(m->b, s, LLVMBuildExtractElement(m->b, v, I(m, i), ""), "");
    return s;
}

/* conv2d_grad_weight, tile t = (o, cc): dw[t KK + tap] = sum over n, oh of
 * dy's row (n, o, oh) . x's row (n, g CG + cc, ih) */
static void emit_grad_weight(NcCgModule *m, const NcTrainGconvPlan *p, LLVMValueRef t, LLVMValueRef dy, LLVMValueRef x,
                             LLVMValueRef dwt) {
    LLVMBuilderRef b = m->b;
    const int64_t KK = p->KH * p->KW;
    LLVMValueRef o = sdivc(m, t, p->CG), cc = sremc(m, t, p->CG);
    LLVMValueRef c = add(m, mulc(m, sdivc(m, o, p->OG), p->CG), cc);
    LLVMValueRef vacc = cgb_var(m, m->vec), sacc = cgb_var(m, m->f32);
    for (int64_t kh = 0; kh < p->KH; kh++)
        for (int64_t kw = 0; kw < p->KW; kw++) {
            Tap tp;
            LLVMValueRef dst = cgb_gep(m, dwt, add(m, mulc(m, t, KK), I(m, kh * p->KW + kw)));
            if (!tap(p, kh, kw, &tp)) { /* reads padding alone */
                LLVMBuildStore(b, cgb_f32(m, 0), dst);
                continue;
            }
            LLVMBuildStore(b, cgb_zero(m), vacc);
            LLVMBuildStore(b, cgb_f32(m, 0), sacc);
            LLVMValueRef n;
            CgbLoop ln = cgb_loop_begin(m, I(m, 0), I(m, p->N), 1, &n);
            LLVMValueRef dyp = cgb_gep(m, dy, mulc(m, add(m, mulc(m, n, p->O), o), p->OH * p->OW));
            LLVMValueRef xp = cgb_gep(m, x, mulc(m, add(m, mulc(m, n, p->C), c), p->H * p->W));
            LLVMValueRef oh;
            CgbLoop lh = cgb_loop_begin(m, I(m, tp.oh0), I(m, tp.oh1), 1, &oh);
            LLVMValueRef ih = add(m, mulc(m, oh, p->sh), I(m, tp.bh));
            LLVMValueRef yrow = add(m, mulc(m, oh, p->OW), I(m, tp.ow0));
            LLVMValueRef xrow = add(m, mulc(m, ih, p->W), I(m, tp.ow0 * p->sw + tp.bw));
            dot_row(m, cgb_gep(m, dyp, yrow), cgb_gep(m, xp, xrow), p->sw, tp.ow1 - tp.ow0, vacc, sacc);
            cgb_loop_end(m, &lh);
            cgb_loop_end(m, &ln);
            LLVMValueRef s =
                LLVMBuildFAdd(b, hsum(m, LLVMBuildLoad2(b, m->vec, vacc, "")), LLVMBuildLoad2(b, m->f32, sacc, ""), "");
            LLVMBuildStore(b, s, dst);
        }
}

/* --- register-blocked rows ------------------------------------------------
 * Both conv2d and conv2d_grad_input compute out[r][c] = sum over taps t and
 * the group's planes j of w[t] in[(r Ar + rb_t) / Dr][(c Ac + cb_t) / Dc],
 * a tap counting only where the divisions are exact and the indices inside
 * in:  conv2d has A = the stride, D = 1, b = k d - pad; conv2d_grad_input
 * has A = 1, D = the stride, b = pad - k d (a stride of 1 is the conv of dy
 * with the flipped filter; a stride of 2 splits dx into phases, each a
 * stride-1 conv with the taps of its parity). */

static int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* lanes l < nl of row[col0 + l] inside [0, len), 0 elsewhere: a plain load
 * where every lane is inside, a load masked at compile time at a border */
static LLVMValueRef load_span(NcCgModule *m, LLVMValueRef row, int64_t col0, int64_t len, int nl) {
    int64_t lo = col0 < 0 ? -col0 : 0, hi = len - col0 < nl ? len - col0 : nl;
    if (lo >= hi) return cgb_zero(m);
    LLVMValueRef i = I(m, col0);
    LLVMValueRef ptr = LLVMBuildGEP2(m->b, m->f32, row, &i, 1, ""); /* not inbounds: may start before the row */
    if (lo == 0 && hi == m->vw) return cgb_load(m, ptr);
    LLVMValueRef bits[64];
    for (int l = 0; l < m->vw; l++) bits[l] = LLVMConstInt(m->i1, l >= lo && l < hi, 0);
    return cgb_load_mask(m, ptr, LLVMConstVector(bits, (unsigned)m->vw));
}

static LLVMValueRef shuffle(NcCgModule *m, LLVMValueRef a, LLVMValueRef b, const int *idx) {
    LLVMValueRef ix[64];
    for (int l = 0; l < m->vw; l++) ix[l] = LLVMConstInt(m->i32, (unsigned long long)idx[l], 0);
    return LLVMBuildShuffleVector(m->b, a, b, LLVMConstVector(ix, (unsigned)m->vw), "");
}

/* lanes l < nl of row[col0 + l step] (step 1 or 2) inside [0, len), 0
 * elsewhere; a step of 2 loads two vectors and keeps their even lanes */
static LLVMValueRef load_cols(NcCgModule *m, LLVMValueRef row, int64_t col0, int step, int64_t len, int nl) {
    if (step == 1) return load_span(m, row, col0, len, nl);
    const int vw = m->vw, n2 = 2 * nl - 1; /* the lanes of the pair read */
    LLVMValueRef lo = load_span(m, row, col0, len, n2 < vw ? n2 : vw);
    LLVMValueRef hi = n2 > vw ? load_span(m, row, col0 + vw, len, n2 - vw) : cgb_zero(m);
    if (LLVMIsNull(lo) && LLVMIsNull(hi)) return cgb_zero(m);
    int idx[64];
    for (int l = 0; l < vw; l++) idx[l] = 2 * l;
    return shuffle(m, lo, hi, idx);
}

typedef struct RTap {
    int64_t w, rb, cb; /* the weight's offset in its filter row, the row and column offsets */
} RTap;
typedef struct Rows {
    int64_t Ar, Dr, Ac, Dc, Hin, Win, Hout, Wout, nchunk, cw;
    int ntap, R;
    RTap *tap;
} Rows;

/* the input row of output row r through tap t, or -1 where the tap does not count */
static int64_t in_row(const Rows *e, const RTap *t, int64_t r) {
    const int64_t num = r * e->Ar + t->rb, q = fdiv(num, e->Dr);
    return q * e->Dr != num || q < 0 || q >= e->Hin ? -1 : q;
}
static int interior(const Rows *e, int64_t r) {
    for (int i = 0; i < e->ntap; i++) {
        const int64_t num = r * e->Ar + e->tap[i].rb, q = fdiv(num, e->Dr);
        if (q * e->Dr == num && (q < 0 || q >= e->Hin)) return 0;
    }
    return 1;
}

/* Output rows r0 + k (k < R) of the plane, whose tap validity is that of
 * the nominal rows r0 + k; the rows really written are those plus rout, and
 * the input rows read are those of the nominal rows plus rin.  Every chunk
 * of every row accumulates in a register over the planes j < nj and every
 * tap, and is stored once. */
static void emit_rows(NcCgModule *m, const Rows *e, LLVMValueRef out, LLVMValueRef in, int64_t nj, int64_t IP,
                      LLVMValueRef wrow0, int64_t wj, LLVMValueRef rin, LLVMValueRef rout, int64_t r0, int R) {
    LLVMBuilderRef b = m->b;
    const int vw = m->vw, na = R * (int)(e->nchunk * e->Dc);
    LLVMValueRef acc[256], var[256];
    for (int a = 0; a < na; a++) acc[a] = cgb_zero(m);
    LLVMValueRef j = I(m, 0);
    CgbLoop lj = {0};
    if (nj > 1) { /* the group's planes: accumulators through variables */
        for (int a = 0; a < na; a++) var[a] = cgb_var(m, m->vec), LLVMBuildStore(b, acc[a], var[a]);
        lj = cgb_loop_begin(m, I(m, 0), I(m, nj), 1, &j);
        for (int a = 0; a < na; a++) acc[a] = LLVMBuildLoad2(b, m->vec, var[a], "");
    }
    LLVMValueRef plane = cgb_gep(m, in, mulc(m, j, IP)), wrow = cgb_gep(m, wrow0, mulc(m, j, wj));
    for (int ti = 0; ti < e->ntap; ti++) {
        const RTap *t = &e->tap[ti];
        LLVMValueRef wv = NULL;
        for (int k = 0; k < R; k++) {
            const int64_t ir = in_row(e, t, r0 + k);
            if (ir < 0) continue;
            LLVMValueRef row = cgb_gep(m, plane, mulc(m, add(m, rin, I(m, ir)), e->Win));
            for (int64_t ch = 0; ch < e->nchunk; ch++)
                for (int64_t px = 0; px < e->Dc; px++) {
                    const int64_t c0 = ch * e->cw;
                    LLVMValueRef v;
                    if (e->Dc == 1)
                        v = load_cols(m, row, c0 * e->Ac + t->cb, (int)e->Ac, e->Win, vw);
                    else if ((px + t->cb) % 2)
                        continue;
                    else
                        v = load_span(m, row, fdiv(c0 + px + t->cb, 2), e->Win, vw);
                    if (LLVMIsNull(v)) continue;
                    if (!wv) wv = cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, wrow, I(m, t->w)), ""));
                    const int a = (int)((k * e->nchunk + ch) * e->Dc + px);
                    acc[a] = cgb_fma(m, v, wv, acc[a]);
                }
        }
    }
    if (nj > 1) {
        for (int a = 0; a < na; a++) LLVMBuildStore(b, acc[a], var[a]);
        cgb_loop_end(m, &lj);
        for (int a = 0; a < na; a++) acc[a] = LLVMBuildLoad2(b, m->vec, var[a], "");
    }
    int lo[64], hi[64]; /* two phases' lanes interleaved */
    for (int l = 0; l < vw; l++) lo[l] = l % 2 ? vw + l / 2 : l / 2, hi[l] = lo[l] + vw / 2;
    for (int k = 0; k < R; k++) {
        LLVMValueRef orow = cgb_gep(m, out, mulc(m, add(m, rout, I(m, r0 + k)), e->Wout));
        for (int64_t ch = 0; ch < e->nchunk; ch++) {
            const int64_t c0 = ch * e->cw;
            const int a = (int)((k * e->nchunk + ch) * e->Dc);
            if (e->Dc == 1) {
                cgb_store_n(m, acc[a], cgb_gep(m, orow, I(m, c0)), (int)(e->Wout - c0));
                continue;
            }
            cgb_store_n(m, shuffle(m, acc[a], acc[a + 1], lo), cgb_gep(m, orow, I(m, c0)), (int)(e->Wout - c0));
            if (e->Wout - c0 > vw)
                cgb_store_n(m, shuffle(m, acc[a], acc[a + 1], hi), cgb_gep(m, orow, I(m, c0 + vw)),
                            (int)(e->Wout - c0 - vw));
        }
    }
}

/* Can conv2d / conv2d_grad_input run as register-blocked rows?  (Column
 * strides 1 and 2, filters of at most 64 taps, a block's accumulators
 * within emit_rows' 256: R rows of ceil(W / (vw D)) D vectors, R at most
 * 8 rounded up to a multiple of the row stride.) */
static int rows_ok(const NcCgModule *m, const NcTrainGconvPlan *p) {
    if (!(p->sw == 1 || p->sw == 2) || p->sh > 8 || p->KH * p->KW > 64) return 0;
    const int64_t wide = p->W > p->OW ? p->W : p->OW, per_row = cgb_ceil_div(wide, m->vw * p->sw) * p->sw;
    const int64_t R = cgb_round_up(per_row >= 8 ? 1 : 8 / per_row, p->sh);
    return R * per_row <= 256;
}

/* The whole output plane at out: interior rows (every tap inside) in
 * blocks of R in a loop, the rest as blocks of constant rows. */
static void emit_rows_plane(NcCgModule *m, const NcTrainGconvPlan *p, int fwd, LLVMValueRef out, LLVMValueRef in,
                            int64_t nj, LLVMValueRef wgt, LLVMValueRef wbase, int64_t wj) {
    RTap tap[64];
    Rows e = {0};
    e.tap = tap;
    for (int64_t kh = 0; kh < p->KH; kh++)
        for (int64_t kw = 0; kw < p->KW; kw++) {
            const int64_t bh = kh * p->dh - p->pt, bw = kw * p->dw - p->pl;
            tap[e.ntap++] = (RTap){kh * p->KW + kw, fwd ? bh : -bh, fwd ? bw : -bw};
        }
    if (fwd)
        e.Ar = p->sh, e.Dr = 1, e.Ac = p->sw, e.Dc = 1, e.Hin = p->H, e.Win = p->W, e.Hout = p->OH, e.Wout = p->OW;
    else
        e.Ar = 1, e.Dr = p->sh, e.Ac = 1, e.Dc = p->sw, e.Hin = p->OH, e.Win = p->OW, e.Hout = p->H, e.Wout = p->W;
    e.cw = m->vw * e.Dc, e.nchunk = cgb_ceil_div(e.Wout, e.cw);
    const int64_t per_row = e.nchunk * e.Dc;
    int64_t R = per_row >= 8 ? 1 : 8 / per_row;
    R = cgb_round_up(R, e.Dr);
    if (R > e.Hout) R = e.Hout;
    e.R = (int)R;
    const int64_t IP = fwd ? p->H * p->W : p->OH * p->OW;
    /* the interior rows [ra, rb), ra a multiple of Dr */
    int64_t ra = 0, rb = 0;
    while (ra < e.Hout && !interior(&e, ra)) ra++;
    rb = ra;
    while (rb < e.Hout && interior(&e, rb)) rb++;
    ra = cgb_round_up(ra, e.Dr);
    const int64_t nblk = R % e.Dr == 0 && rb > ra ? (rb - ra) / R : 0;
    LLVMValueRef zero = I(m, 0);
    if (nblk > 0) {
        LLVMValueRef bi;
        CgbLoop lb = cgb_loop_begin(m, I(m, 0), I(m, nblk), 1, &bi);
        emit_rows(m, &e, out, in, nj, IP, cgb_gep(m, wgt, wbase), wj, mulc(m, bi, R * e.Ar / e.Dr), mulc(m, bi, R), ra,
                  (int)R);
        cgb_loop_end_rolled(m, &lb);
    }
    const int64_t bend = ra + nblk * R;
    for (int side = 0; side < 2; side++) { /* the rows before and after the loop's */
        const int64_t s0 = side ? bend : 0, s1 = side ? e.Hout : ra;
        for (int64_t r = s0; r < s1; r += R)
            emit_rows(m, &e, out, in, nj, IP, cgb_gep(m, wgt, wbase), wj, zero, zero, r,
                      (int)(s1 - r < R ? s1 - r : R));
    }
}

/* conv2d_grad_weight, tile t = (o, cc), as rows: for each n and each of dy's
 * rows (interior rows in a loop, the rest constant), each vector of dy's row
 * is loaded once and multiplied into every tap's accumulator (a register
 * each) by x's vector under that tap (two loads and a lane permute at
 * stride 2); the accumulators are summed across lanes at the end. */
static void emit_grad_weight_rows(NcCgModule *m, const NcTrainGconvPlan *p, LLVMValueRef t, LLVMValueRef dy,
                                  LLVMValueRef x, LLVMValueRef dwt) {
    LLVMBuilderRef b = m->b;
    const int vw = m->vw;
    const int KK = (int)(p->KH * p->KW);
    LLVMValueRef o = sdivc(m, t, p->CG), cc = sremc(m, t, p->CG);
    LLVMValueRef c = add(m, mulc(m, sdivc(m, o, p->OG), p->CG), cc);
    LLVMValueRef var[64];
    for (int k = 0; k < KK; k++) var[k] = cgb_var(m, m->vec), LLVMBuildStore(b, cgb_zero(m), var[k]);
    /* dy's interior rows: every kh inside x */
    int64_t ra = 0, rb;
    for (;; ra++) {
        if (ra >= p->OH) break;
        const int64_t i0 = ra * p->sh - p->pt, i1 = i0 + (p->KH - 1) * p->dh;
        if (i0 >= 0 && i1 < p->H) break;
    }
    for (rb = ra; rb < p->OH; rb++) {
        const int64_t i0 = rb * p->sh - p->pt, i1 = i0 + (p->KH - 1) * p->dh;
        if (!(i0 >= 0 && i1 < p->H)) break;
    }
    LLVMValueRef n;
    CgbLoop ln = cgb_loop_begin(m, I(m, 0), I(m, p->N), 1, &n);
    LLVMValueRef dyp = cgb_gep(m, dy, mulc(m, add(m, mulc(m, n, p->O), o), p->OH * p->OW));
    LLVMValueRef xp = cgb_gep(m, x, mulc(m, add(m, mulc(m, n, p->C), c), p->H * p->W));
    for (int part = 0; part < 3; part++) { /* rows before the interior, the interior's loop, after */
        const int64_t r0 = part == 0 ? 0 : part == 1 ? ra : rb, r1 = part == 0 ? ra : part == 1 ? rb : p->OH;
        for (int64_t r = r0; r < r1; r++) {
            LLVMValueRef oh = I(m, r), acc[64];
            CgbLoop lh = {0};
            if (part == 1) lh = cgb_loop_begin(m, I(m, r0), I(m, r1), 1, &oh);
            for (int k = 0; k < KK; k++) acc[k] = LLVMBuildLoad2(b, m->vec, var[k], "");
            LLVMValueRef dyrow = cgb_gep(m, dyp, mulc(m, oh, p->OW));
            for (int64_t c0 = 0; c0 < p->OW; c0 += vw) {
                const int nl = (int)(p->OW - c0 < vw ? p->OW - c0 : vw);
                LLVMValueRef dv = cgb_load_n(m, cgb_gep(m, dyrow, I(m, c0)), nl);
                for (int64_t kh = 0; kh < p->KH; kh++) {
                    const int64_t ih = r * p->sh + kh * p->dh - p->pt; /* at the nominal row r */
                    if (ih < 0 || ih >= p->H) continue;
                    LLVMValueRef xrow =
                        cgb_gep(m, xp, mulc(m, add(m, mulc(m, oh, p->sh), I(m, kh * p->dh - p->pt)), p->W));
                    for (int64_t kw = 0; kw < p->KW; kw++) {
                        LLVMValueRef xv = load_cols(m, xrow, c0 * p->sw + kw * p->dw - p->pl, p->sw, p->W, nl);
                        if (LLVMIsNull(xv)) continue;
                        const int k = (int)(kh * p->KW + kw);
                        acc[k] = cgb_fma(m, dv, xv, acc[k]);
                    }
                }
            }
            for (int k = 0; k < KK; k++) LLVMBuildStore(b, acc[k], var[k]);
            if (part == 1) {
                cgb_loop_end_rolled(m, &lh);
                break;
            }
        }
    }
    cgb_loop_end(m, &ln);
    for (int k = 0; k < KK; k++)
        LLVMBuildStore(b, hsum(m, LLVMBuildLoad2(b, m->vec, var[k], "")),
                       cgb_gep(m, dwt, add(m, mulc(m, t, KK), I(m, k))));
}

void nc_cg_train_gconv_emit(NcCgModule *m, const NcTrainGconvPlan *p, const char *prefix, NcCgKernel *k) {
    char name[128];
    snprintf(name, sizeof name, "%s_gconv", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef in0 = cgb_arg_ptr(m, in, 0), in1 = cgb_arg_ptr(m, in, 1), res = cgb_arg_ptr(m, out, 0);
    const int64_t KK = p->KH * p->KW;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    switch (p->kind) {
    case NC_TCONV_FORWARD: { /* in = (x, w), t = (n, o) */
        LLVMValueRef n = sdivc(m, t, p->O), o = sremc(m, t, p->O);
        LLVMValueRef c0 = add(m, mulc(m, n, p->C), mulc(m, sdivc(m, o, p->OG), p->CG));
        (rows_ok(m, p) ? emit_rows_plane : emit_accumulate)(m, p, 1, cgb_gep(m, res, mulc(m, t, p->OH * p->OW)),
                                                            cgb_gep(m, in0, mulc(m, c0, p->H * p->W)), p->CG, in1,
                                                            mulc(m, o, p->CG * KK), KK);
        break;
    }
    case NC_TCONV_GRAD_INPUT: { /* in = (dy, w), t = (n, c) */
        LLVMValueRef n = sdivc(m, t, p->C), c = sremc(m, t, p->C);
        LLVMValueRef o0 = mulc(m, sdivc(m, c, p->CG), p->OG), cc = sremc(m, c, p->CG);
        LLVMValueRef plane0 = add(m, mulc(m, n, p->O), o0);
        (rows_ok(m, p) ? emit_rows_plane : emit_accumulate)(m, p, 0, cgb_gep(m, res, mulc(m, t, p->H * p->W)),
                                                            cgb_gep(m, in0, mulc(m, plane0, p->OH * p->OW)), p->OG, in1,
                                                            mulc(m, add(m, mulc(m, o0, p->CG), cc), KK), p->CG * KK);
        break;
    }
    case NC_TCONV_GRAD_WEIGHT: /* in = (dy, x), t = (o, cc) */
        (rows_ok(m, p) ? emit_grad_weight_rows : emit_grad_weight)(m, p, t, in0, in1, res);
        break;
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles, k->scratch = 0;
}
