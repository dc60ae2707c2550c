/* cg_nchw_train_pool.c — the training step's max and average pools and
 * their gradients on NCHW planes (cg_nchw_train_pool.h). */
#include "codegen/cpu/cg_nchw_train_pool.h"

#include <string.h>

#include "ir/ops.h"

/* ---- planning ---------------------------------------------------------- */

static int nchw_f32(const NcValue *v) {
    return v->dtype == NC_F32 && v->ndim == 4 && v->layout == NC_LAYOUT_NCHW && nc_numel(v) < INT32_MAX;
}

/* The outputs o in [*o0, *o1) whose window [o s - lo, o s - lo + k) lies inside [0, len). */
static void inside(int64_t n, int64_t len, int s, int lo, int k, int64_t *o0, int64_t *o1) {
    int64_t a = (lo + s - 1) / s, b = len - k + lo < 0 ? 0 : (len - k + lo) / s + 1;
    if (b > n) b = n;
    if (a > b) a = b;
    *o0 = a, *o1 = b;
}

int nc_cg_train_pool_plan(NcTrainPoolPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    const NcValue *x, *y; /* the forward's input and output planes */
    if (nd->noutputs != 1 || a->nepi) return 0;
    switch (nd->op) {
    case NC_OP_MAX_POOL2D:
    case NC_OP_AVG_POOL2D:
        if (nd->ninputs != 1) return 0;
        p->kind = nd->op == NC_OP_MAX_POOL2D ? NC_TPOOL_MAX : NC_TPOOL_AVG;
        x = nc_val(g, nd->inputs[0]), y = nc_val(g, nd->outputs[0]);
        break;
    case NC_OP_MAX_POOL2D_GRAD: /* (dy, x) -> dx */
        if (nd->ninputs != 2 || !nc_shape_eq(nc_val(g, nd->inputs[1]), nc_val(g, nd->outputs[0]))) return 0;
        p->kind = NC_TPOOL_MAX_GRAD;
        y = nc_val(g, nd->inputs[0]), x = nc_val(g, nd->inputs[1]);
        break;
    case NC_OP_AVG_POOL2D_GRAD: /* dy -> dx */
        if (nd->ninputs != 1) return 0;
        p->kind = NC_TPOOL_AVG_GRAD;
        y = nc_val(g, nd->inputs[0]), x = nc_val(g, nd->outputs[0]);
        break;
    default: return 0;
    }
    if (!nchw_f32(x) || !nchw_f32(y) || !nchw_f32(nc_val(g, nd->outputs[0]))) return 0;
    if (x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] || nc_numel(x) < 1 || nc_numel(y) < 1) return 0;
    p->kh = a->kernel[0], p->kw = a->kernel[1], p->sh = a->stride[0], p->sw = a->stride[1];
    p->pt = a->pad[0], p->pl = a->pad[1], p->pb = a->pad[2], p->pr = a->pad[3], p->include_pad = a->count_include_pad;
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0) return 0;
    if (p->kh * p->kw > 64) return 0; /* the interior's windows are unrolled */
    p->H = x->shape[2], p->W = x->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
    inside(p->OH, p->H, p->sh, p->pt, p->kh, &p->oh0, &p->oh1);
    inside(p->OW, p->W, p->sw, p->pl, p->kw, &p->ow0, &p->ow1);
    p->tiles = x->shape[0] * x->shape[1];
    return 1;
}

/* ---- emission ---------------------------------------------------------- */

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef sub(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWSub(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }
static LLVMValueRef smin(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static LLVMValueRef smax(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, a, b, ""), a, b, "");
}
static LLVMTypeRef f64(NcCgModule *m) { return LLVMDoubleTypeInContext(m->ctx); }
static LLVMValueRef load_f(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, p, i), "");
}

/* One axis of a window: what it reads, [c0, c1), and its length with the
 * padding (not the overhang), as ref_pool.c's window. */
typedef struct Span {
    LLVMValueRef start, c0, c1, padded;
    int interior; /* start >= 0 and start + k <= len: c0 = start, c1 = start + k, padded = k */
} Span;

static Span span(NcCgModule *m, LLVMValueRef o, int s, int lo, int k, int64_t len, int hi, int interior) {
    Span r;
    r.interior = interior;
    r.start = sub(m, mulc(m, o, s), I(m, lo));
    if (interior) {
        r.c0 = r.start, r.c1 = add(m, r.start, I(m, k)), r.padded = I(m, k);
        return r;
    }
    LLVMValueRef end = smin(m, add(m, r.start, I(m, k)), I(m, len + hi));
    r.padded = sub(m, end, r.start);
    r.c0 = smax(m, r.start, I(m, 0)), r.c1 = smin(m, end, I(m, len));
    return r;
}

typedef struct PoolCtx {
    const NcTrainPoolPlan *p;
    LLVMValueRef x, y;   /* this plane of the input (x, or dy) and of the output (y, or dx) */
    LLVMValueRef xm;     /* max_pool2d_grad: this plane of x */
    LLVMValueRef mx, bi; /* vars: the running maximum and its offset */
    LLVMValueRef acc;    /* var: avg_pool2d's double sum */
    LLVMValueRef gv;     /* avg_pool2d_grad: the window's dy / divisor */
} PoolCtx;

/* element off (ih W + iw) of the window */
static void element(NcCgModule *m, PoolCtx *c, LLVMValueRef off) {
    LLVMBuilderRef b = m->b;
    switch (c->p->kind) {
    case NC_TPOOL_MAX:
    case NC_TPOOL_MAX_GRAD: {
        LLVMValueRef v = load_f(m, c->p->kind == NC_TPOOL_MAX ? c->x : c->xm, off);
        LLVMValueRef cur = LLVMBuildLoad2(b, m->f32, c->mx, "");
        LLVMValueRef take =
            LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, v, cur, ""), LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), "");
        LLVMBuildStore(b, LLVMBuildSelect(b, take, v, cur, ""), c->mx);
        if (c->p->kind == NC_TPOOL_MAX_GRAD)
            LLVMBuildStore(b, LLVMBuildSelect(b, take, off, LLVMBuildLoad2(b, m->i64, c->bi, ""), ""), c->bi);
        break;
    }
    case NC_TPOOL_AVG: {
        LLVMValueRef v = LLVMBuildFPExt(b, load_f(m, c->x, off), f64(m), "");
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, f64(m), c->acc, ""), v, ""), c->acc);
        break;
    }
    case NC_TPOOL_AVG_GRAD: {
        LLVMValueRef d = cgb_gep(m, c->y, off);
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, d, ""), c->gv, ""), d);
        break;
    }
    }
}

/* the columns of row ih of the window, in order */
static void window_row(NcCgModule *m, PoolCtx *c, LLVMValueRef ih, const Span *w, int kw) {
    LLVMValueRef row = mulc(m, ih, c->p->W);
    if (w->interior) {
        for (int j = 0; j < kw; j++) element(m, c, add(m, row, add(m, w->start, I(m, j))));
        return;
    }
    LLVMValueRef iw;
    CgbLoop l = cgb_loop_begin(m, w->c0, w->c1, 1, &iw);
    element(m, c, add(m, row, iw));
    cgb_loop_end(m, &l);
}

/* output (oh, ow) at offset o of its plane */
static void output(NcCgModule *m, PoolCtx *c, LLVMValueRef o, const Span *h, const Span *w) {
    LLVMBuilderRef b = m->b;
    const NcTrainPoolPlan *p = c->p;
    LLVMValueRef div = NULL;
    if (p->kind == NC_TPOOL_AVG || p->kind == NC_TPOOL_AVG_GRAD) {
        LLVMValueRef n = p->include_pad ? LLVMBuildNSWMul(b, h->padded, w->padded, "")
                                        : LLVMBuildNSWMul(b, sub(m, h->c1, h->c0), sub(m, w->c1, w->c0), "");
        div = LLVMBuildSIToFP(b, n, f64(m), "");
    }
    switch (p->kind) {
    case NC_TPOOL_MAX: LLVMBuildStore(b, cgb_f32(m, -__builtin_inf()), c->mx); break;
    case NC_TPOOL_MAX_GRAD:
        LLVMBuildStore(b, cgb_f32(m, -__builtin_inf()), c->mx);
        LLVMBuildStore(b, add(m, mulc(m, h->c0, p->W), w->c0), c->bi);
        break;
    case NC_TPOOL_AVG: LLVMBuildStore(b, LLVMConstReal(f64(m), 0), c->acc); break;
    case NC_TPOOL_AVG_GRAD: {
        LLVMValueRef g = LLVMBuildFDiv(b, LLVMBuildFPExt(b, load_f(m, c->x, o), f64(m), ""), div, "");
        c->gv = LLVMBuildFPTrunc(b, g, m->f32, "");
        break;
    }
    }
    if (h->interior) {
        for (int i = 0; i < p->kh; i++) window_row(m, c, add(m, h->start, I(m, i)), w, p->kw);
    } else {
        LLVMValueRef ih;
        CgbLoop l = cgb_loop_begin(m, h->c0, h->c1, 1, &ih);
        window_row(m, c, ih, w, p->kw);
        cgb_loop_end(m, &l);
    }
    switch (p->kind) {
    case NC_TPOOL_MAX: LLVMBuildStore(b, LLVMBuildLoad2(b, m->f32, c->mx, ""), cgb_gep(m, c->y, o)); break;
    case NC_TPOOL_MAX_GRAD: {
        LLVMValueRef d = cgb_gep(m, c->y, LLVMBuildLoad2(b, m->i64, c->bi, ""));
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, d, ""), load_f(m, c->x, o), ""), d);
        break;
    }
    case NC_TPOOL_AVG: {
        LLVMValueRef r = LLVMBuildFDiv(b, LLVMBuildLoad2(b, f64(m), c->acc, ""), div, "");
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, r, m->f32, ""), cgb_gep(m, c->y, o));
        break;
    }
    case NC_TPOOL_AVG_GRAD: break;
    }
}

/* max_pool2d_grad, vw interior outputs (oh, ow0 + l) of an interior row at
 * once (stride 1 or 2 across): the windows' maxima and their offsets in
 * vectors (selects, where the scalar loop's became mispredicted branches),
 * then each lane's dy added to its element in lane order (the reference's
 * order: windows overlap) */
static void argmax_vec(NcCgModule *m, PoolCtx *c, LLVMValueRef oh, LLVMValueRef ow0) {
    LLVMBuilderRef b = m->b;
    const NcTrainPoolPlan *p = c->p;
    const int vw = m->vw, sw = p->sw;
    LLVMTypeRef iv = LLVMVectorType(m->i32, (unsigned)vw);
    LLVMValueRef e[64], ev[64];
    for (int l = 0; l < vw; l++) e[l] = LLVMConstInt(m->i32, (unsigned long long)(l * sw), 0);
    for (int l = 0; l < 2 * vw; l++) ev[l] = LLVMConstInt(m->i32, (unsigned long long)(2 * l), 0);
    LLVMValueRef steps = LLVMConstVector(e, (unsigned)vw), evens = LLVMConstVector(ev, (unsigned)vw);
    LLVMValueRef h0 = sub(m, mulc(m, oh, p->sh), I(m, p->pt)), w0 = sub(m, mulc(m, ow0, sw), I(m, p->pl));
    LLVMValueRef mx = cgb_splat(m, cgb_f32(m, -__builtin_inf())), best = NULL;
    for (int i = 0; i < p->kh; i++)
        for (int j = 0; j < p->kw; j++) {
            LLVMValueRef base = add(m, mulc(m, add(m, h0, I(m, i)), p->W), add(m, w0, I(m, j))), v;
            if (sw == 1) {
                v = cgb_load_n(m, cgb_gep(m, c->xm, base), vw);
            } else { /* the even lanes of 2 vw - 1 floats (the last one not read: it may lie past the plane) */
                LLVMValueRef lo = cgb_load_n(m, cgb_gep(m, c->xm, base), vw);
                LLVMValueRef hi = cgb_load_n(m, cgb_gep(m, c->xm, add(m, base, I(m, vw))), vw - 1);
                v = LLVMBuildShuffleVector(b, lo, hi, evens, "");
            }
            LLVMValueRef bv = LLVMBuildTrunc(b, base, m->i32, "");
            bv = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetPoison(iv), bv, I(m, 0), ""),
                                        LLVMGetPoison(iv), LLVMConstNull(iv), "");
            LLVMValueRef idx = LLVMBuildAdd(b, bv, steps, "");
            if (!best) { /* the first element: taken unless a later one beats -inf */
                best = idx;
            }
            LLVMValueRef take =
                LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, v, mx, ""), LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), "");
            mx = LLVMBuildSelect(b, take, v, mx, "");
            best = LLVMBuildSelect(b, take, idx, best, "");
        }
    LLVMValueRef dy = cgb_load_n(m, cgb_gep(m, c->x, add(m, mulc(m, oh, p->OW), ow0)), vw);
    for (int l = 0; l < vw; l++) {
        LLVMValueRef o = LLVMBuildSExt(b, LLVMBuildExtractElement(b, best, I(m, l), ""), m->i64, "");
        LLVMValueRef d = cgb_gep(m, c->y, o);
        LLVMValueRef g = LLVMBuildExtractElement(b, dy, I(m, l), "");
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, m->f32, d, ""), g, ""), d);
    }
}

/* a range of outputs along one axis, and whether their windows are interior */
typedef struct Range {
    int64_t a, b;
    int interior;
} Range;

/* the border before, the interior, the border after (empty ones left out) */
static int ranges(int64_t n, int64_t i0, int64_t i1, Range *r) {
    int k = 0;
    if (i0 >= i1) i0 = i1 = n; /* no interior: one bordered range */
    if (i0 > 0) r[k++] = (Range){0, i0, 0};
    if (i1 > i0) r[k++] = (Range){i0, i1, 1};
    if (n > i1) r[k++] = (Range){i1, n, 0};
    return k;
}

void nc_cg_train_pool_emit(NcCgModule *m, const NcTrainPoolPlan *p, const char *prefix, NcCgKernel *k) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, prefix);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x0 = cgb_arg_ptr(m, in, 0), y0 = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef xm0 = p->kind == NC_TPOOL_MAX_GRAD ? cgb_arg_ptr(m, in, 1) : NULL;
    const int grad = p->kind == NC_TPOOL_MAX_GRAD || p->kind == NC_TPOOL_AVG_GRAD;
    const int64_t HW = p->H * p->W, OHW = p->OH * p->OW;
    PoolCtx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.mx = cgb_var(m, m->f32), c.bi = cgb_var(m, m->i64), c.acc = cgb_var(m, f64(m));
    Range rr[3], cr[3];
    const int nrr = ranges(p->OH, p->oh0, p->oh1, rr), ncr = ranges(p->OW, p->ow0, p->ow1, cr);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* the input side is dy's plane (OH x OW) for the gradients, x's (H x W) for the forward */
    c.x = cgb_gep(m, x0, mulc(m, t, grad ? OHW : HW));
    c.y = cgb_gep(m, y0, mulc(m, t, grad ? HW : OHW));
    if (xm0) c.xm = cgb_gep(m, xm0, mulc(m, t, HW));
    if (grad) cgb_copy_floats(m, c.y, NULL, NULL, HW); /* dx's plane zeroed: the windows add into it */
    for (int i = 0; i < nrr; i++) {
        LLVMValueRef oh;
        CgbLoop lh = cgb_loop_begin(m, I(m, rr[i].a), I(m, rr[i].b), 1, &oh);
        const Span h = span(m, oh, p->sh, p->pt, p->kh, p->H, p->pb, rr[i].interior);
        for (int j = 0; j < ncr; j++) {
            LLVMValueRef ow;
            int64_t a = cr[j].a;
            if (p->kind == NC_TPOOL_MAX_GRAD && rr[i].interior && cr[j].interior && (p->sw == 1 || p->sw == 2) &&
                cr[j].b - a >= m->vw) { /* whole vectors of interior windows, then the rest one by one */
                const int64_t end = a + (cr[j].b - a) / m->vw * m->vw;
                CgbLoop lv = cgb_loop_begin(m, I(m, a), I(m, end), m->vw, &ow);
                argmax_vec(m, &c, oh, ow);
                cgb_loop_end(m, &lv);
                a = end;
            }
            CgbLoop lw = cgb_loop_begin(m, I(m, a), I(m, cr[j].b), 1, &ow);
            const Span w = span(m, ow, p->sw, p->pl, p->kw, p->W, p->pr, cr[j].interior);
            output(m, &c, add(m, mulc(m, oh, p->OW), ow), &h, &w);
            cgb_loop_end(m, &lw);
        }
        cgb_loop_end(m, &lh);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles;
}
