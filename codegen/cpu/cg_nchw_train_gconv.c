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
        emit_accumulate(m, p, 1, cgb_gep(m, res, mulc(m, t, p->OH * p->OW)), cgb_gep(m, in0, mulc(m, c0, p->H * p->W)),
                        p->CG, in1, mulc(m, o, p->CG * KK), KK);
        break;
    }
    case NC_TCONV_GRAD_INPUT: { /* in = (dy, w), t = (n, c) */
        LLVMValueRef n = sdivc(m, t, p->C), c = sremc(m, t, p->C);
        LLVMValueRef o0 = mulc(m, sdivc(m, c, p->CG), p->OG), cc = sremc(m, c, p->CG);
        LLVMValueRef plane0 = add(m, mulc(m, n, p->O), o0);
        emit_accumulate(m, p, 0, cgb_gep(m, res, mulc(m, t, p->H * p->W)),
                        cgb_gep(m, in0, mulc(m, plane0, p->OH * p->OW)), p->OG, in1,
                        mulc(m, add(m, mulc(m, o0, p->CG), cc), KK), p->CG * KK);
        break;
    }
    case NC_TCONV_GRAD_WEIGHT: /* in = (dy, x), t = (o, cc) */ emit_grad_weight(m, p, t, in0, in1, res); break;
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles, k->scratch = 0;
}
