/* cg_nchw_train_eltwise.c — the training step's elementwise ops, act_grad
 * and batch norms on NCHW values (cg_nchw_train_eltwise.h). */
#include "codegen/cpu/cg_nchw_train_eltwise.h"

#include <string.h>

#include "ir/ops.h"

#define TRAIN_ELT_CHUNK 8192 /* floats per tile of a flat elementwise kernel */

/* ---- planning ---------------------------------------------------------- */

static int nchw(const NcValue *v) { return v->dtype == NC_F32 && !nc_is_nhwc(v); }

int nc_cg_train_elt_plan(NcTrainEltPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    for (int j = 0; j < nd->ninputs + nd->noutputs; j++)
        if (!nchw(nc_val(g, j < nd->ninputs ? nd->inputs[j] : nd->outputs[j - nd->ninputs]))) return 0;
    const NcValue *y = nc_val(g, nd->outputs[0]), *x = nc_val(g, nd->inputs[0]);
    if (nc_numel(y) >= INT32_MAX || nc_numel(x) >= INT32_MAX || nc_numel(y) < 1) return 0;
    switch (nd->op) {
    case NC_OP_RELU:
    case NC_OP_CLAMP:
    case NC_OP_SILU:
    case NC_OP_SIGMOID:
        if (nd->ninputs != 1 || nd->noutputs != 1 || nd->attrs.nepi || !nc_shape_eq(x, y)) return 0;
        p->kind = NC_TELT_MAP;
        break;
    case NC_OP_ADD:
    case NC_OP_MUL: { /* an epilogue: one relu or clamp step (passes/fuse_bn_act.c) */
        const NcAttrs *a = &nd->attrs;
        if (nd->ninputs != 2 || nd->noutputs != 1 || a->nepi > 1) return 0;
        if (a->nepi && a->epi[0].kind != NC_EPI_RELU && a->epi[0].kind != NC_EPI_CLAMP) return 0;
        const NcValue *b = nc_val(g, nd->inputs[1]);
        const int sa = nc_shape_eq(x, y), sb = nc_shape_eq(b, y);
        if (!(sa && sb)) {
            if (!(sa && cgb_per_channel(b, y)) && !(sb && cgb_per_channel(x, y))) return 0;
            p->per_plane = 1, p->N = y->shape[0], p->C = y->shape[1], p->S = y->shape[2] * y->shape[3];
        }
        p->kind = NC_TELT_MAP;
        break;
    }
    case NC_OP_ACT_GRAD: {
        const int act = nd->attrs.act;
        if (nd->ninputs != 2 || nd->noutputs != 1 || !nc_shape_eq(x, y) || !nc_shape_eq(nc_val(g, nd->inputs[1]), y))
            return 0;
        if (act != NC_EPI_RELU && act != NC_EPI_CLAMP && act != NC_EPI_SILU && act != NC_EPI_SIGMOID) return 0;
        p->kind = NC_TELT_ACT_GRAD;
        break;
    }
    case NC_OP_BATCH_NORM_TRAIN:
    case NC_OP_BATCH_NORM_TRAIN_GRAD: {
        const NcValue *xv = nc_val(g, nd->inputs[nd->op == NC_OP_BATCH_NORM_TRAIN ? 0 : 1]);
        if (nd->noutputs != 3 || xv->ndim < 2) return 0;
        const NcAttrs *a = &nd->attrs; /* the forward's epilogue: one relu or clamp (passes/fuse_bn_act.c) */
        if (a->nepi > 1 || (a->nepi && a->epi[0].kind != NC_EPI_RELU && a->epi[0].kind != NC_EPI_CLAMP)) return 0;
        p->kind = nd->op == NC_OP_BATCH_NORM_TRAIN ? NC_TELT_BN : NC_TELT_BN_GRAD;
        p->N = xv->shape[0], p->C = xv->shape[1], p->S = nc_numel(xv) / (p->N * p->C);
        p->numel = nc_numel(xv), p->tiles = p->C;
        return 1;
    }
    default: return 0;
    }
    p->numel = nc_numel(y);
    if (p->per_plane)
        p->tiles = p->N * p->C;
    else
        p->chunk = TRAIN_ELT_CHUNK, p->tiles = cgb_ceil_div(p->numel, p->chunk);
    return 1;
}

/* ---- helpers ------------------------------------------------------------ */

static LLVMTypeRef f64(NcCgModule *m) { return LLVMDoubleTypeInContext(m->ctx); }
static LLVMTypeRef dvec(NcCgModule *m) { return LLVMVectorType(f64(m), (unsigned)m->vw); }
static LLVMValueRef dsplat(NcCgModule *m, double v) {
    LLVMValueRef s = LLVMConstReal(f64(m), v), *e = nc_malloc((size_t)m->vw * sizeof(LLVMValueRef));
    for (int i = 0; i < m->vw; i++) e[i] = s;
    LLVMValueRef r = LLVMConstVector(e, (unsigned)m->vw);
    free(e);
    return r;
}
static LLVMValueRef fsplat(NcCgModule *m, double v) { return cgb_splat(m, cgb_f32(m, v)); }
static LLVMValueRef ext(NcCgModule *m, LLVMValueRef v) { return LLVMBuildFPExt(m->b, v, dvec(m), ""); }
static LLVMValueRef trunc_f(NcCgModule *m, LLVMValueRef v) { return LLVMBuildFPTrunc(m->b, v, m->vec, ""); }
static LLVMValueRef fcmp(NcCgModule *m, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildFCmp(m->b, p, a, b, "");
}
static LLVMValueRef sel(NcCgModule *m, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, c, a, b, "");
}
/* lanes [0, n) true: a constant <vw x i1> */
static LLVMValueRef const_mask(NcCgModule *m, int n) {
    LLVMValueRef e[64];
    for (int i = 0; i < m->vw; i++) e[i] = LLVMConstInt(m->i1, i < n, 0);
    return LLVMConstVector(e, (unsigned)m->vw);
}
static LLVMValueRef sqrt_f64(NcCgModule *m, LLVMValueRef x) {
    LLVMTypeRef t = f64(m);
    const char *nm = "llvm.sqrt";
    unsigned id = LLVMLookupIntrinsicID(nm, strlen(nm));
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, &t, 1);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, &t, 1);
    return LLVMBuildCall2(m->b, fty, fn, &x, 1, "");
}
/* the lanes of a double vector added up */
static LLVMValueRef dhsum(NcCgModule *m, LLVMValueRef v) {
    LLVMValueRef r = LLVMBuildExtractElement(m->b, v, cgb_i64(m, 0), "");
    for (int i = 1; i < m->vw; i++) r = LLVMBuildFAdd(m->b, r, LLVMBuildExtractElement(m->b, v, cgb_i64(m, i), ""), "");
    return r;
}
static LLVMValueRef dsplat_v(NcCgModule *m, LLVMValueRef s) {
    LLVMValueRef u = LLVMGetUndef(dvec(m));
    u = LLVMBuildInsertElement(m->b, u, s, cgb_i64(m, 0), "");
    return LLVMBuildShuffleVector(m->b, u, u, LLVMConstNull(LLVMVectorType(m->i32, (unsigned)m->vw)), "");
}
static LLVMValueRef load_f(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, p, i), "");
}

/* ---- elementwise -------------------------------------------------------- */

typedef struct MapCtx {
    const NcNode *nd;
    LLVMValueRef in[2], out, base;
    LLVMValueRef scalar[2]; /* a per-channel operand's value for the plane (splat), else NULL */
} MapCtx;

/* relu (x < 0 ? 0 : x: NaN and -0 pass) or clamp to [lo, hi] (NaN passes) of a float vector */
static LLVMValueRef relu_clamp(NcCgModule *m, int clamp, double lo, double hi, LLVMValueRef x) {
    if (!clamp) return sel(m, fcmp(m, LLVMRealOLT, x, cgb_zero(m)), cgb_zero(m), x);
    LLVMValueRef l = fsplat(m, lo), h = fsplat(m, hi);
    return sel(m, fcmp(m, LLVMRealOLT, x, l), l, sel(m, fcmp(m, LLVMRealOGT, x, h), h, x));
}

/* sigmoid(x) of a float vector as cg_build's activation, a NaN kept */
static LLVMValueRef act_fwd(NcCgModule *m, const NcAttrs *a, int op, LLVMValueRef x) {
    const LLVMValueRef nan = fcmp(m, LLVMRealUNO, x, x);
    switch (op) {
    case NC_OP_RELU:
    case NC_OP_CLAMP: return relu_clamp(m, op == NC_OP_CLAMP, a->lo, a->hi, x);
    case NC_OP_SILU: {
        LLVMValueRef r = cgb_activation(m, NC_EPI_SILU, 0, 0, x);
        /* -inf / (1 + exp(inf)) is NaN in the reference */
        r = sel(m, fcmp(m, LLVMRealOEQ, x, fsplat(m, -__builtin_inf())), fsplat(m, __builtin_nan("")), r);
        return sel(m, nan, x, r);
    }
    default: return sel(m, nan, x, cgb_activation(m, NC_EPI_SIGMOID, 0, 0, x));
    }
}

/* a relu or clamp epilogue step on a rounded float vector, as ir/epilogue.c's */
static LLVMValueRef epi_fwd(NcCgModule *m, const NcEpilogue *e, LLVMValueRef y) {
    return relu_clamp(m, e->kind == NC_EPI_CLAMP, e->lo, e->hi, y);
}

/* dy * act'(x) (nc_ref_act_grad's rules) */
static LLVMValueRef act_grad(NcCgModule *m, const NcAttrs *a, LLVMValueRef dy, LLVMValueRef x) {
    const LLVMValueRef zero = cgb_zero(m);
    switch ((NcEpiKind)a->act) {
    case NC_EPI_RELU: return sel(m, fcmp(m, LLVMRealOLE, x, zero), zero, dy);
    case NC_EPI_CLAMP: {
        LLVMValueRef out =
            LLVMBuildOr(m->b, fcmp(m, LLVMRealOLE, x, fsplat(m, a->lo)), fcmp(m, LLVMRealOGE, x, fsplat(m, a->hi)), "");
        return sel(m, out, zero, dy);
    }
    default: {
        /* s = 1 / (1 + exp(-x)) in float, 1 - s as e s where s > 1/2 (no cancellation): a few ulps from the
         * reference's double, and cheap enough that the kernel stays memory-bound (in double, two divides
         * of half vectors made it compute-bound at ~50 cycles a vector) */
        LLVMBuilderRef b = m->b;
        LLVMValueRef one = fsplat(m, 1.0), e = cgb_exp(m, LLVMBuildFNeg(b, x, ""));
        LLVMValueRef s = LLVMBuildFDiv(b, one, LLVMBuildFAdd(b, one, e, ""), "");
        /* exp's clamp leaves s a tiny positive at x = -inf where the reference's is 0: an infinite dy
         * there gives NaN, not inf */
        s = sel(m, fcmp(m, LLVMRealOEQ, x, fsplat(m, -__builtin_inf())), zero, s);
        LLVMValueRef oms =
            sel(m, fcmp(m, LLVMRealOLT, x, zero), LLVMBuildFSub(b, one, s, ""), LLVMBuildFMul(b, e, s, ""));
        LLVMValueRef r = LLVMBuildFMul(b, dy, s, "");
        r = LLVMBuildFMul(b, r, a->act == NC_EPI_SIGMOID ? oms : cgb_fma(m, x, oms, one), "");
        /* the reference's silu at x = -inf: s (1 + x (1 - s)) = 0 * -inf, NaN (at +inf both give NaN) */
        if (a->act == NC_EPI_SILU)
            r = sel(m, fcmp(m, LLVMRealOEQ, x, fsplat(m, -__builtin_inf())), fsplat(m, __builtin_nan("")), r);
        /* a NaN x gives NaN (exp's clamp would lose it) */
        return sel(m, fcmp(m, LLVMRealUNO, x, x), x, r);
    }
    }
}

static void map_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const MapCtx *c = vc;
    LLVMValueRef off = LLVMBuildNSWAdd(m->b, c->base, i, ""), v[2];
    for (int k = 0; k < c->nd->ninputs; k++)
        v[k] = c->scalar[k] ? c->scalar[k] : cgb_load_n(m, cgb_gep(m, c->in[k], off), lanes);
    LLVMValueRef r;
    switch (c->nd->op) {
    case NC_OP_ADD: r = LLVMBuildFAdd(m->b, v[0], v[1], ""); break;
    case NC_OP_MUL: r = LLVMBuildFMul(m->b, v[0], v[1], ""); break;
    case NC_OP_ACT_GRAD: r = act_grad(m, &c->nd->attrs, v[0], v[1]); break;
    default: r = act_fwd(m, &c->nd->attrs, c->nd->op, v[0]); break;
    }
    if (c->nd->attrs.nepi) r = epi_fwd(m, &c->nd->attrs.epi[0], r);
    cgb_store_n(m, r, cgb_gep(m, c->out, off), lanes);
}

static void emit_map(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcTrainEltPlan *p, LLVMValueRef fn) {
    MapCtx c;
    memset(&c, 0, sizeof c);
    c.nd = nd;
    for (int k = 0; k < nd->ninputs; k++) c.in[k] = cgb_arg_ptr(m, LLVMGetParam(fn, 0), k);
    c.out = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    if (p->per_plane) { /* t = n C + c: a plane, the per-channel operand's value splat */
        const NcValue *y = nc_val(g, nd->outputs[0]);
        for (int k = 0; k < nd->ninputs; k++)
            if (!nc_shape_eq(nc_val(g, nd->inputs[k]), y)) c.scalar[k] = cgb_splat(m, load_f(m, c.in[k], t));
        c.base = LLVMBuildNSWMul(m->b, t, cgb_i64(m, p->S), "");
        cgb_for_vectors(m, p->S, map_vec, &c);
    } else { /* chunks, the last one ragged */
        c.base = LLVMBuildNSWMul(m->b, t, cgb_i64(m, p->chunk), "");
        const int64_t last = p->numel - (p->tiles - 1) * p->chunk;
        if (last == p->chunk) {
            cgb_for_vectors(m, p->chunk, map_vec, &c);
        } else {
            CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntEQ, t, cgb_i64(m, p->tiles - 1), ""));
            cgb_for_vectors(m, last, map_vec, &c);
            if (p->tiles > 1) {
                cgb_if_else(m, &ci);
                cgb_for_vectors(m, p->chunk, map_vec, &c);
            }
            cgb_if_end(m, &ci);
        }
    }
    cgb_loop_end(m, &lt);
}

/* ---- batch norms -------------------------------------------------------- */

/* A pass over channel c's N planes: body(ctx, offset, lanes) per vector. */
typedef struct BnCtx {
    const NcTrainEltPlan *p;
    const NcEpilogue *epi;    /* the forward: a relu or clamp fused in (passes/fuse_bn_act.c), else NULL */
    const NcAttrs *act;       /* the gradient: an activation's fused in (z = src[2]), else NULL */
    LLVMValueRef src[3], dst; /* x (and dy, z); y or dx */
    LLVMValueRef base;        /* the plane (n, c)'s first element */
    LLVMValueRef acc[2];      /* double vector accumulators */
    LLVMValueRef mean, inv, w, b, f, sdy, sdyx, M; /* double splats */
    int pass;
} BnCtx;

static LLVMValueRef bn_load(NcCgModule *m, const BnCtx *c, int k, LLVMValueRef off, int lanes) {
    return ext(m, cgb_load_n(m, cgb_gep(m, c->src[k], off), lanes));
}
static void bn_add(NcCgModule *m, const BnCtx *c, int k, LLVMValueRef v, int lanes) {
    if (lanes < m->vw) v = sel(m, const_mask(m, lanes), v, dsplat(m, 0.0)); /* the ragged end's lanes: none */
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc[k], ""), v, ""), c->acc[k]);
}

/* batch_norm_train: pass 0 sum x, 1 sum (x - mean)^2, 2 y = (x - mean) inv w + b */
static void bn_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const BnCtx *c = vc;
    LLVMBuilderRef b = m->b;
    LLVMValueRef off = LLVMBuildNSWAdd(b, c->base, i, ""), x = bn_load(m, c, 0, off, lanes);
    if (c->pass == 0) {
        bn_add(m, c, 0, x, lanes);
    } else if (c->pass == 1) {
        LLVMValueRef d = LLVMBuildFSub(b, x, c->mean, "");
        bn_add(m, c, 0, LLVMBuildFMul(b, d, d, ""), lanes);
    } else {
        LLVMValueRef y = LLVMBuildFMul(b, LLVMBuildFMul(b, LLVMBuildFSub(b, x, c->mean, ""), c->inv, ""), c->w, "");
        y = trunc_f(m, LLVMBuildFAdd(b, y, c->b, ""));
        if (c->epi) y = epi_fwd(m, c->epi, y); /* on y as rounded, as the reference's epilogue */
        cgb_store_n(m, y, cgb_gep(m, c->dst, off), lanes);
    }
}

/* batch_norm_train_grad: pass 0 sum dy and dy xhat, 1 dx = f (M dy - sum dy - xhat sum dy xhat).
 * With an activation fused in, pass 0 computes dy = act_grad(dy, z) once and keeps it in dx's storage
 * (the op is never in place: dx shares no input's) for pass 1 to read back, still in cache for a
 * channel that fits: the act_grad op's write and read of its whole tensor saved. */
static void bn_grad_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const BnCtx *c = vc;
    LLVMBuilderRef b = m->b;
    LLVMValueRef off = LLVMBuildNSWAdd(b, c->base, i, ""), dst = cgb_gep(m, c->dst, off);
    LLVMValueRef dy = cgb_load_n(m, c->act && c->pass ? dst : cgb_gep(m, c->src[0], off), lanes);
    if (c->act && !c->pass) {
        dy = act_grad(m, c->act, dy, cgb_load_n(m, cgb_gep(m, c->src[2], off), lanes));
        cgb_store_n(m, dy, dst, lanes);
    }
    LLVMValueRef x = bn_load(m, c, 1, off, lanes);
    dy = ext(m, dy);
    LLVMValueRef xhat = LLVMBuildFMul(b, LLVMBuildFSub(b, x, c->mean, ""), c->inv, "");
    if (c->pass == 0) {
        bn_add(m, c, 0, dy, lanes);
        bn_add(m, c, 1, LLVMBuildFMul(b, dy, xhat, ""), lanes);
    } else {
        LLVMValueRef t = LLVMBuildFSub(b, LLVMBuildFMul(b, c->M, dy, ""), c->sdy, "");
        t = LLVMBuildFSub(b, t, LLVMBuildFMul(b, xhat, c->sdyx, ""), "");
        cgb_store_n(m, trunc_f(m, LLVMBuildFMul(b, c->f, t, "")), cgb_gep(m, c->dst, off), lanes);
    }
}

static void bn_pass(NcCgModule *m, BnCtx *c, LLVMValueRef ch, CgbVecBody body, int pass) {
    const NcTrainEltPlan *p = c->p;
    c->pass = pass;
    LLVMValueRef n;
    CgbLoop ln = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->N), 1, &n);
    LLVMValueRef plane = LLVMBuildNSWAdd(m->b, LLVMBuildNSWMul(m->b, n, cgb_i64(m, p->C), ""), ch, "");
    c->base = LLVMBuildNSWMul(m->b, plane, cgb_i64(m, p->S), "");
    cgb_for_vectors(m, p->S, body, c);
    cgb_loop_end(m, &ln);
}

static LLVMValueRef acc_total(NcCgModule *m, BnCtx *c, int k) {
    return dhsum(m, LLVMBuildLoad2(m->b, dvec(m), c->acc[k], ""));
}

static void emit_bn(NcCgModule *m, const NcNode *nd, const NcTrainEltPlan *p, LLVMValueRef fn) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    const int grad = p->kind == NC_TELT_BN_GRAD;
    BnCtx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.acc[0] = cgb_var(m, dvec(m)), c.acc[1] = cgb_var(m, dvec(m));
    c.src[0] = cgb_arg_ptr(m, in, 0);
    if (grad) c.src[1] = cgb_arg_ptr(m, in, 1);
    if (grad && nd->ninputs == 6) c.act = &nd->attrs, c.src[2] = cgb_arg_ptr(m, in, 5);
    if (!grad && nd->attrs.nepi) c.epi = &nd->attrs.epi[0];
    c.dst = cgb_arg_ptr(m, out, 0);
    const double M = (double)(p->N * p->S), eps = nd->attrs.eps;
    LLVMValueRef ch;
    CgbLoop lc = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &ch);
    LLVMBuildStore(b, dsplat(m, 0.0), c.acc[0]);
    LLVMBuildStore(b, dsplat(m, 0.0), c.acc[1]);
#define PARAM(k) LLVMBuildFPExt(b, load_f(m, cgb_arg_ptr(m, in, k), ch), f64(m), "")
    LLVMValueRef one = LLVMConstReal(f64(m), 1.0), Mc = LLVMConstReal(f64(m), M);
    if (!grad) {
        bn_pass(m, &c, ch, bn_vec, 0);
        LLVMValueRef mean = LLVMBuildFDiv(b, acc_total(m, &c, 0), Mc, "");
        c.mean = dsplat_v(m, mean);
        LLVMBuildStore(b, dsplat(m, 0.0), c.acc[0]);
        bn_pass(m, &c, ch, bn_vec, 1);
        LLVMValueRef var = LLVMBuildFDiv(b, acc_total(m, &c, 0), Mc, "");
        LLVMValueRef inv =
            LLVMBuildFDiv(b, one, sqrt_f64(m, LLVMBuildFAdd(b, var, LLVMConstReal(f64(m), eps), "")), "");
        c.inv = dsplat_v(m, inv), c.w = dsplat_v(m, PARAM(1)), c.b = dsplat_v(m, PARAM(2));
        bn_pass(m, &c, ch, bn_vec, 2);
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, mean, m->f32, ""), cgb_gep(m, cgb_arg_ptr(m, out, 1), ch));
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, var, m->f32, ""), cgb_gep(m, cgb_arg_ptr(m, out, 2), ch));
    } else {
        LLVMValueRef mu = PARAM(3), var = PARAM(4);
        LLVMValueRef inv =
            LLVMBuildFDiv(b, one, sqrt_f64(m, LLVMBuildFAdd(b, var, LLVMConstReal(f64(m), eps), "")), "");
        c.mean = dsplat_v(m, mu), c.inv = dsplat_v(m, inv);
        bn_pass(m, &c, ch, bn_grad_vec, 0);
        LLVMValueRef sdy = acc_total(m, &c, 0), sdyx = acc_total(m, &c, 1);
        LLVMValueRef f = LLVMBuildFDiv(b, LLVMBuildFMul(b, PARAM(2), inv, ""), Mc, "");
        c.sdy = dsplat_v(m, sdy), c.sdyx = dsplat_v(m, sdyx), c.f = dsplat_v(m, f), c.M = dsplat(m, M);
        bn_pass(m, &c, ch, bn_grad_vec, 1);
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, sdyx, m->f32, ""), cgb_gep(m, cgb_arg_ptr(m, out, 1), ch));
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, sdy, m->f32, ""), cgb_gep(m, cgb_arg_ptr(m, out, 2), ch));
    }
#undef PARAM
    cgb_loop_end(m, &lc);
}

void nc_cg_train_elt_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcTrainEltPlan *p,
                          const char *prefix, NcCgKernel *k) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, prefix);
    if (p->kind == NC_TELT_BN || p->kind == NC_TELT_BN_GRAD)
        emit_bn(m, nd, p, fn);
    else
        emit_map(m, g, nd, p, fn);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles;
}
