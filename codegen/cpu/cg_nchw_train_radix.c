/* cg_nchw_train_radix.c — the training step's split-attention ops as plane kernels (cg_nchw_train_radix.h). */
#include "codegen/cpu/cg_nchw_train_radix.h"

#include <string.h>

#define MAX_RADIX 8 /* branches unrolled in a kernel (ResNeSt: 2; timm allows any, the reference takes the rest) */

static int nchw_f32(const NcValue *v) {
    return v->dtype == NC_F32 && !nc_is_nhwc(v) && v->layout != NC_LAYOUT_PACKED && nc_numel(v) < INT32_MAX;
}

int nc_cg_train_radix_plan(NcTrainRadixPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    int nin = 0, nout = 1, xat = 0; /* x: the [N, R C, H, W] operand, an input (xat >= 0) or output 0 (-1) */
    switch (nd->op) {
    case NC_OP_RADIX_GAP: nin = 1; break;
    case NC_OP_RADIX_COMBINE: nin = 2; break;
    case NC_OP_RADIX_GAP_GRAD: nin = 1, xat = -1; break;
    case NC_OP_RADIX_COMBINE_GRAD: nin = 3, nout = 2, xat = 1; break;
    default: return 0;
    }
    if (nd->ninputs != nin || nd->noutputs != nout || nd->attrs.nepi) return 0;
    for (int j = 0; j < nin + nout; j++)
        if (!nchw_f32(nc_val(g, j < nin ? nd->inputs[j] : nd->outputs[j - nin]))) return 0;
    const NcValue *x = nc_val(g, xat >= 0 ? nd->inputs[xat] : nd->outputs[0]);
    const int64_t R = nd->attrs.radix;
    if (x->ndim != 4 || R < 1 || R > MAX_RADIX || x->shape[1] % R) return 0;
    p->op = nd->op, p->N = x->shape[0], p->R = R, p->C = x->shape[1] / R, p->HW = x->shape[2] * x->shape[3];
    if (p->N < 1 || p->C < 1 || p->HW < 1) return 0;
    const int per_branch = nd->op == NC_OP_RADIX_GAP_GRAD || nd->op == NC_OP_RADIX_COMBINE_GRAD;
    p->tiles = p->N * p->C * (per_branch ? R : 1);
    return 1;
}

static LLVMTypeRef f64(NcCgModule *m) { return LLVMDoubleTypeInContext(m->ctx); }
static LLVMTypeRef dvec(NcCgModule *m) { return LLVMVectorType(f64(m), (unsigned)m->vw); }
static LLVMValueRef ext(NcCgModule *m, LLVMValueRef v) { return LLVMBuildFPExt(m->b, v, dvec(m), ""); }
static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }

typedef struct Ctx {
    const NcTrainRadixPlan *p;
    LLVMValueRef x, y, dy, dx, acc, v; /* planes at the tile's first element; v: a splat */
    LLVMValueRef att[MAX_RADIX];       /* radix_combine: each branch's weight, splat */
} Ctx;

/* radix_gap: acc += (x_0 + x_1 + ... ) over the branches' planes, C HW floats apart */
static void gap_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Ctx *c = vc;
    LLVMValueRef s = NULL;
    for (int64_t r = 0; r < c->p->R; r++) {
        LLVMValueRef v = cgb_load_n(m, cgb_gep(m, c->x, add(m, i, I(m, r * c->p->C * c->p->HW))), lanes);
        s = s ? LLVMBuildFAdd(m->b, s, v, "") : v;
    }
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc, ""), ext(m, s), ""), c->acc);
}

/* radix_combine: y = x_0 a_0 + x_1 a_1 + ..., each product rounded (fmul, then fadd: no contraction) */
static void combine_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Ctx *c = vc;
    LLVMValueRef s = NULL;
    for (int64_t r = 0; r < c->p->R; r++) {
        LLVMValueRef v = cgb_load_n(m, cgb_gep(m, c->x, add(m, i, I(m, r * c->p->C * c->p->HW))), lanes);
        LLVMValueRef pr = LLVMBuildFMul(m->b, v, c->att[r], "");
        s = s ? LLVMBuildFAdd(m->b, s, pr, "") : pr;
    }
    cgb_store_n(m, s, cgb_gep(m, c->y, i), lanes);
}

static void bcast_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Ctx *c = vc;
    cgb_store_n(m, c->v, cgb_gep(m, c->dx, i), lanes);
}

/* radix_combine_grad: dx = dy a; acc += dy x in double (exact products) */
static void combine_grad_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Ctx *c = vc;
    LLVMValueRef dy = cgb_load_n(m, cgb_gep(m, c->dy, i), lanes), x = cgb_load_n(m, cgb_gep(m, c->x, i), lanes);
    cgb_store_n(m, LLVMBuildFMul(m->b, dy, c->v, ""), cgb_gep(m, c->dx, i), lanes);
    LLVMValueRef pr = LLVMBuildFMul(m->b, ext(m, dy), ext(m, x), "");
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc, ""), pr, ""), c->acc);
}

/* the lanes of a double vector added up, rounded to float */
static LLVMValueRef dsum(NcCgModule *m, LLVMValueRef acc) {
    LLVMValueRef v = LLVMBuildLoad2(m->b, dvec(m), acc, ""), r = LLVMBuildExtractElement(m->b, v, I(m, 0), "");
    for (int i = 1; i < m->vw; i++) r = LLVMBuildFAdd(m->b, r, LLVMBuildExtractElement(m->b, v, I(m, i), ""), "");
    return r;
}

void nc_cg_train_radix_emit(NcCgModule *m, const NcTrainRadixPlan *p, const char *prefix, NcCgKernel *k) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, prefix);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1), t;
    Ctx c = {.p = p, .acc = cgb_var(m, dvec(m))};
    const int64_t C = p->C, RC = p->R * p->C, HW = p->HW;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    if (p->op == NC_OP_RADIX_GAP || p->op == NC_OP_RADIX_COMBINE) { /* t = n C + c */
        LLVMValueRef n = LLVMBuildSDiv(m->b, t, I(m, C), ""), ch = LLVMBuildSRem(m->b, t, I(m, C), "");
        LLVMValueRef x0 = add(m, mulc(m, n, RC), ch); /* branch 0's channel */
        c.x = cgb_gep(m, cgb_arg_ptr(m, in, 0), mulc(m, x0, HW));
        if (p->op == NC_OP_RADIX_GAP) {
            LLVMBuildStore(m->b, LLVMConstNull(dvec(m)), c.acc);
            cgb_for_vectors(m, HW, gap_vec, &c);
            LLVMValueRef s = LLVMBuildFDiv(m->b, dsum(m, c.acc), LLVMConstReal(f64(m), (double)HW), "");
            LLVMBuildStore(m->b, LLVMBuildFPTrunc(m->b, s, m->f32, ""), cgb_gep(m, cgb_arg_ptr(m, out, 0), t));
        } else {
            LLVMValueRef att = cgb_arg_ptr(m, in, 1);
            for (int64_t r = 0; r < p->R; r++)
                c.att[r] = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, att, add(m, x0, I(m, r * C))), ""));
            c.y = cgb_gep(m, cgb_arg_ptr(m, out, 0), mulc(m, t, HW));
            cgb_for_vectors(m, HW, combine_vec, &c);
        }
    } else { /* t = n R C + r C + c */
        LLVMValueRef n = LLVMBuildSDiv(m->b, t, I(m, RC), "");
        LLVMValueRef ch = LLVMBuildSRem(m->b, LLVMBuildSRem(m->b, t, I(m, RC), ""), I(m, C), "");
        LLVMValueRef dyi = add(m, mulc(m, n, C), ch); /* dy's plane: (n, c) */
        c.dx = cgb_gep(m, cgb_arg_ptr(m, out, 0), mulc(m, t, HW));
        if (p->op == NC_OP_RADIX_GAP_GRAD) { /* dy / HW in double, rounded once */
            LLVMValueRef v = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, cgb_arg_ptr(m, in, 0), dyi), "");
            v = LLVMBuildFDiv(m->b, LLVMBuildFPExt(m->b, v, f64(m), ""), LLVMConstReal(f64(m), (double)HW), "");
            c.v = cgb_splat(m, LLVMBuildFPTrunc(m->b, v, m->f32, ""));
            cgb_for_vectors(m, HW, bcast_vec, &c);
        } else {
            c.dy = cgb_gep(m, cgb_arg_ptr(m, in, 0), mulc(m, dyi, HW));
            c.x = cgb_gep(m, cgb_arg_ptr(m, in, 1), mulc(m, t, HW));
            c.v = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, cgb_arg_ptr(m, in, 2), t), ""));
            LLVMBuildStore(m->b, LLVMConstNull(dvec(m)), c.acc);
            cgb_for_vectors(m, HW, combine_grad_vec, &c);
            LLVMBuildStore(m->b, LLVMBuildFPTrunc(m->b, dsum(m, c.acc), m->f32, ""),
                           cgb_gep(m, cgb_arg_ptr(m, out, 1), t));
        }
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles;
}
