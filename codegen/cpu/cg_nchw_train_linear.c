/* cg_nchw_train_linear.c — the training step's linear layer and its
 * gradients as direct vector loops (cg_nchw_train_linear.h). */
#include "codegen/cpu/cg_nchw_train_linear.h"

#include <string.h>

#include "ir/ops.h"

#define TRAIN_LINEAR_CHUNK 64 /* columns of dx per linear_grad_input tile: N rows of them stay in L1 */

static int f32_2d(const NcValue *v) { return v->dtype == NC_F32 && v->ndim == 2 && v->layout != NC_LAYOUT_PACKED; }

int nc_cg_train_linear_plan(NcTrainLinearPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    if (nd->op != NC_OP_LINEAR && nd->op != NC_OP_LINEAR_GRAD_INPUT && nd->op != NC_OP_LINEAR_GRAD_WEIGHT) return 0;
    if (nd->noutputs != 1 || nd->ninputs < 2 || nd->attrs.nepi || nd->attrs.has_in_scale) return 0;
    const NcValue *a = nc_val(g, nd->inputs[0]), *b = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (!f32_2d(a) || !f32_2d(b) || !f32_2d(y)) return 0;
    p->op = nd->op;
    if (nd->op == NC_OP_LINEAR) { /* x [N, K], w [O, K] */
        p->N = a->shape[0], p->K = a->shape[1], p->O = b->shape[0];
        p->bias = nd->attrs.has_bias;
        if (nd->ninputs != 2 + p->bias) return 0;
        if (p->bias && (nc_val(g, nd->inputs[2])->dtype != NC_F32 || nc_numel(nc_val(g, nd->inputs[2])) != p->O))
            return 0;
        p->tiles = p->O;
    } else if (nd->op == NC_OP_LINEAR_GRAD_INPUT) { /* dy [N, O], w [O, K] */
        p->N = a->shape[0], p->O = a->shape[1], p->K = b->shape[1];
        p->chunk = TRAIN_LINEAR_CHUNK, p->tiles = cgb_ceil_div(p->K, p->chunk);
    } else { /* dy [N, O], x [N, K] */
        p->N = a->shape[0], p->O = a->shape[1], p->K = b->shape[1];
        p->tiles = p->O;
    }
    if (nd->ninputs != 2 + p->bias || p->N < 1 || p->K < 1 || p->O < 1) return 0;
    if (p->N * p->K >= INT32_MAX || p->O * p->K >= INT32_MAX || p->N * p->O >= INT32_MAX) return 0;
    return 1;
}

/* the lanes of a float vector added up */
static LLVMValueRef hsum(NcCgModule *m, LLVMValueRef v) {
    LLVMValueRef r = LLVMBuildExtractElement(m->b, v, cgb_i64(m, 0), "");
    for (int i = 1; i < m->vw; i++) r = LLVMBuildFAdd(m->b, r, LLVMBuildExtractElement(m->b, v, cgb_i64(m, i), ""), "");
    return r;
}
static LLVMValueRef mul64(NcCgModule *m, LLVMValueRef a, int64_t b) {
    return LLVMBuildNSWMul(m->b, a, cgb_i64(m, b), "");
}
static LLVMValueRef add64(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef splat_at(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, p, i), ""));
}

typedef struct LinCtx {
    const NcTrainLinearPlan *p;
    LLVMValueRef a, b, out; /* row bases (forward: x row, w row; grad-weight: dy, x; grad-input: dx row, w row) */
    LLVMValueRef acc, s, o; /* forward: the accumulator; grad-input: dy[n, o] splat; grad-weight: o */
} LinCtx;

/* forward: acc += x[n, i..] w[o, i..] (masked lanes load zeros) */
static void fwd_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const LinCtx *c = vc;
    LLVMValueRef x = cgb_load_n(m, cgb_gep(m, c->a, i), lanes), w = cgb_load_n(m, cgb_gep(m, c->b, i), lanes);
    LLVMBuildStore(m->b, cgb_fma(m, x, w, LLVMBuildLoad2(m->b, m->vec, c->acc, "")), c->acc);
}

/* grad-weight: dw[o, i..] = sum_n dy[n, o] x[n, i..] */
static void gw_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const LinCtx *c = vc;
    const NcTrainLinearPlan *p = c->p;
    LLVMBuildStore(m->b, cgb_zero(m), c->acc);
    LLVMValueRef n;
    CgbLoop ln = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->N), 1, &n);
    LLVMValueRef dy = splat_at(m, c->a, add64(m, mul64(m, n, p->O), c->o));
    LLVMValueRef x = cgb_load_n(m, cgb_gep(m, c->b, add64(m, mul64(m, n, p->K), i)), lanes);
    LLVMBuildStore(m->b, cgb_fma(m, dy, x, LLVMBuildLoad2(m->b, m->vec, c->acc, "")), c->acc);
    cgb_loop_end(m, &ln);
    cgb_store_n(m, LLVMBuildLoad2(m->b, m->vec, c->acc, ""), cgb_gep(m, c->out, add64(m, mul64(m, c->o, p->K), i)),
                lanes);
}

/* grad-input: dx[n, c0 + i..] (+)= dy[n, o] w[o, c0 + i..] */
static void gi_zero_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const LinCtx *c = vc;
    cgb_store_n(m, cgb_zero(m), cgb_gep(m, c->a, i), lanes);
}
static void gi_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const LinCtx *c = vc;
    LLVMValueRef pdx = cgb_gep(m, c->a, i), w = cgb_load_n(m, cgb_gep(m, c->b, i), lanes);
    cgb_store_n(m, cgb_fma(m, c->s, w, cgb_load_n(m, pdx, lanes)), pdx, lanes);
}

/* the columns [c0, c0 + width) of dx, over every image */
static void gi_chunk(NcCgModule *m, const NcTrainLinearPlan *p, LLVMValueRef dy, LLVMValueRef w, LLVMValueRef dx,
                     LLVMValueRef c0, int64_t width) {
    LinCtx c = {.p = p};
    LLVMValueRef n, o;
    CgbLoop lz = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->N), 1, &n);
    c.a = cgb_gep(m, dx, add64(m, mul64(m, n, p->K), c0));
    cgb_for_vectors(m, width, gi_zero_vec, &c);
    cgb_loop_end(m, &lz);
    CgbLoop lo = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->O), 1, &o);
    c.b = cgb_gep(m, w, add64(m, mul64(m, o, p->K), c0));
    CgbLoop ln = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->N), 1, &n);
    c.a = cgb_gep(m, dx, add64(m, mul64(m, n, p->K), c0));
    c.s = splat_at(m, dy, add64(m, mul64(m, n, p->O), o));
    cgb_for_vectors(m, width, gi_vec, &c);
    cgb_loop_end(m, &ln);
    cgb_loop_end(m, &lo);
}

void nc_cg_train_linear_emit(NcCgModule *m, const NcTrainLinearPlan *p, const char *prefix, NcCgKernel *k) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, prefix), in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef a = cgb_arg_ptr(m, in, 0), b = cgb_arg_ptr(m, in, 1), y = cgb_arg_ptr(m, out, 0), t;
    LinCtx c = {.p = p, .acc = cgb_var(m, m->vec)};
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    if (p->op == NC_OP_LINEAR) { /* tile t = o: y[n, o] = bias[o] + x[n, :] . w[o, :] */
        LLVMValueRef bias = p->bias ? LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, cgb_arg_ptr(m, in, 2), t), "") : NULL;
        LLVMValueRef n;
        c.b = cgb_gep(m, b, mul64(m, t, p->K));
        CgbLoop ln = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->N), 1, &n);
        c.a = cgb_gep(m, a, mul64(m, n, p->K));
        LLVMBuildStore(m->b, cgb_zero(m), c.acc);
        cgb_for_vectors(m, p->K, fwd_vec, &c);
        LLVMValueRef s = hsum(m, LLVMBuildLoad2(m->b, m->vec, c.acc, ""));
        if (bias) s = LLVMBuildFAdd(m->b, s, bias, "");
        LLVMBuildStore(m->b, s, cgb_gep(m, y, add64(m, mul64(m, n, p->O), t)));
        cgb_loop_end(m, &ln);
    } else if (p->op == NC_OP_LINEAR_GRAD_WEIGHT) { /* tile t = o */
        c.a = a, c.b = b, c.out = y, c.o = t;
        cgb_for_vectors(m, p->K, gw_vec, &c);
    } else { /* tile t: columns [t chunk, ...) of dx, the last chunk ragged */
        LLVMValueRef c0 = mul64(m, t, p->chunk);
        const int64_t last = p->K - (p->tiles - 1) * p->chunk;
        if (last == p->chunk) {
            gi_chunk(m, p, a, b, y, c0, p->chunk);
        } else {
            CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntEQ, t, cgb_i64(m, p->tiles - 1), ""));
            gi_chunk(m, p, a, b, y, c0, last);
            if (p->tiles > 1) {
                cgb_if_else(m, &ci);
                gi_chunk(m, p, a, b, y, c0, p->chunk);
            }
            cgb_if_end(m, &ci);
        }
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->tiles;
}
