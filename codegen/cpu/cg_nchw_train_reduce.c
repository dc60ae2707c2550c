/* cg_nchw_train_reduce.c — the training step's global average pool, its
 * gradient and sum_to as plane or row reductions (cg_nchw_train_reduce.h). */
#include "codegen/cpu/cg_nchw_train_reduce.h"

#include <string.h>

#include "ir/ops.h"

#define TRAIN_REDUCE_CHUNK 256 /* columns per tile of a row reduction */

static int nchw_f32(const NcValue *v) { return v->dtype == NC_F32 && !nc_is_nhwc(v) && v->layout != NC_LAYOUT_PACKED; }

/* sum_to: the axes of x (size > 1) kept, then those summed (planes), or the
 * other way round (rows); 0 for any other pattern */
static int sum_to_plan(NcTrainRedPlan *p, const NcValue *x, const NcValue *o) {
    const int nd = x->ndim, lead = x->ndim - o->ndim;
    int64_t ksum = 1, rsum = 1;
    int seen_kept = 0, seen_sum = 0, planes = 1, rows = 1;
    for (int d = 0; d < nd; d++) {
        if (x->shape[d] == 1) continue;
        const int keep = d >= lead && o->shape[d - lead] == x->shape[d];
        if (keep) {
            if (seen_sum) planes = 0; /* a kept axis after a summed one */
            seen_kept = 1, ksum *= x->shape[d];
        } else {
            if (seen_kept) rows = 0; /* a summed axis after a kept one */
            seen_sum = 1, rsum *= x->shape[d];
        }
    }
    if (planes) {
        p->kind = NC_TRED_PLANES, p->P = ksum, p->S = rsum, p->scale = 1, p->tiles = p->P;
        return 1;
    }
    if (rows) {
        p->kind = NC_TRED_ROWS, p->R = rsum, p->Q = ksum, p->chunk = TRAIN_REDUCE_CHUNK;
        p->tiles = cgb_ceil_div(p->Q, p->chunk);
        return 1;
    }
    return 0;
}

int nc_cg_train_red_plan(NcTrainRedPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    if (nd->ninputs != 1 || nd->noutputs != 1 || nd->attrs.nepi) return 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *y = nc_val(g, nd->outputs[0]);
    if (!nchw_f32(x) || !nchw_f32(y) || nc_numel(x) >= INT32_MAX || nc_numel(y) >= INT32_MAX || nc_numel(y) < 1)
        return 0;
    switch (nd->op) {
    case NC_OP_GLOBAL_AVG_POOL:
        if (x->ndim != 4) return 0;
        p->kind = NC_TRED_PLANES, p->P = x->shape[0] * x->shape[1], p->S = x->shape[2] * x->shape[3];
        break;
    case NC_OP_GLOBAL_AVG_POOL_GRAD:
        if (y->ndim != 4 || nc_numel(x) != y->shape[0] * y->shape[1]) return 0;
        p->kind = NC_TRED_BROADCAST, p->P = y->shape[0] * y->shape[1], p->S = y->shape[2] * y->shape[3];
        break;
    case NC_OP_SUM_TO:
        if (nc_numel(x) < 1 || !sum_to_plan(p, x, y)) return 0;
        return 1;
    default: return 0;
    }
    if (p->S < 1) return 0;
    p->scale = 1.0 / (double)p->S, p->tiles = p->P;
    return 1;
}

/* ---- helpers ------------------------------------------------------------ */

static LLVMTypeRef f64(NcCgModule *m) { return LLVMDoubleTypeInContext(m->ctx); }
static LLVMTypeRef dvec(NcCgModule *m) { return LLVMVectorType(f64(m), (unsigned)m->vw); }
static LLVMValueRef ext(NcCgModule *m, LLVMValueRef v) { return LLVMBuildFPExt(m->b, v, dvec(m), ""); }
static LLVMValueRef dhsum(NcCgModule *m, LLVMValueRef v) {
    LLVMValueRef r = LLVMBuildExtractElement(m->b, v, cgb_i64(m, 0), "");
    for (int i = 1; i < m->vw; i++) r = LLVMBuildFAdd(m->b, r, LLVMBuildExtractElement(m->b, v, cgb_i64(m, i), ""), "");
    return r;
}
static LLVMValueRef mul64(NcCgModule *m, LLVMValueRef a, int64_t b) {
    return LLVMBuildNSWMul(m->b, a, cgb_i64(m, b), "");
}
static LLVMValueRef add64(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }

typedef struct RedCtx {
    const NcTrainRedPlan *p;
    LLVMValueRef src, dst, acc, v; /* v: broadcast's value (splat) */
} RedCtx;

/* planes: acc += x[i..] (masked lanes load zeros) */
static void plane_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const RedCtx *c = vc;
    LLVMValueRef x = ext(m, cgb_load_n(m, cgb_gep(m, c->src, i), lanes));
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc, ""), x, ""), c->acc);
}
static void bcast_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const RedCtx *c = vc;
    cgb_store_n(m, c->v, cgb_gep(m, c->dst, i), lanes);
}
/* rows: out[i..] = sum_r x[r Q + i..], src and dst at the chunk's first column */
static void rows_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const RedCtx *c = vc;
    LLVMBuildStore(m->b, LLVMConstNull(dvec(m)), c->acc);
    LLVMValueRef r;
    CgbLoop lr = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, c->p->R), 1, &r);
    LLVMValueRef x = ext(m, cgb_load_n(m, cgb_gep(m, c->src, add64(m, mul64(m, r, c->p->Q), i)), lanes));
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc, ""), x, ""), c->acc);
    cgb_loop_end(m, &lr);
    LLVMValueRef s = LLVMBuildFPTrunc(m->b, LLVMBuildLoad2(m->b, dvec(m), c->acc, ""), m->vec, "");
    cgb_store_n(m, s, cgb_gep(m, c->dst, i), lanes);
}

void nc_cg_train_red_emit(NcCgModule *m, const NcTrainRedPlan *p, const char *prefix, NcCgKernel *k) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, prefix);
    LLVMValueRef x = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0), t;
    RedCtx c = {.p = p, .acc = cgb_var(m, dvec(m))};
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    if (p->kind == NC_TRED_PLANES) { /* tile t: plane t's sum (times 1 / S) */
        LLVMBuildStore(m->b, LLVMConstNull(dvec(m)), c.acc);
        c.src = cgb_gep(m, x, mul64(m, t, p->S));
        cgb_for_vectors(m, p->S, plane_vec, &c);
        LLVMValueRef s = dhsum(m, LLVMBuildLoad2(m->b, dvec(m), c.acc, ""));
        if (p->scale != 1) s = LLVMBuildFDiv(m->b, s, LLVMConstReal(f64(m), (double)p->S), "");
        LLVMBuildStore(m->b, LLVMBuildFPTrunc(m->b, s, m->f32, ""), cgb_gep(m, y, t));
    } else if (p->kind == NC_TRED_BROADCAST) { /* tile t: plane t = dy[t] / S */
        LLVMValueRef v = LLVMBuildFPExt(m->b, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, x, t), ""), f64(m), "");
        v = LLVMBuildFDiv(m->b, v, LLVMConstReal(f64(m), (double)p->S), "");
        c.v = cgb_splat(m, LLVMBuildFPTrunc(m->b, v, m->f32, ""));
        c.dst = cgb_gep(m, y, mul64(m, t, p->S));
        cgb_for_vectors(m, p->S, bcast_vec, &c);
    } else { /* tile t: columns [t chunk, ...), the last chunk ragged */
        LLVMValueRef c0 = mul64(m, t, p->chunk);
        c.src = cgb_gep(m, x, c0), c.dst = cgb_gep(m, y, c0);
        const int64_t last = p->Q - (p->tiles - 1) * p->chunk;
        if (last == p->chunk) {
            cgb_for_vectors(m, p->chunk, rows_vec, &c);
        } else {
            CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntEQ, t, cgb_i64(m, p->tiles - 1), ""));
            cgb_for_vectors(m, last, rows_vec, &c);
            if (p->tiles > 1) {
                cgb_if_else(m, &ci);
                cgb_for_vectors(m, p->chunk, rows_vec, &c);
            }
            cgb_if_end(m, &ci);
        }
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles;
}
