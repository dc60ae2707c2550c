/* cg_nchw_train_loss.c — the training step's soft-target cross-entropy and
 * its gradient, row by row in double (cg_nchw_train_loss.h). */
#include "codegen/cpu/cg_nchw_train_loss.h"

#include <string.h>

#include "ir/ops.h"

int nc_cg_train_loss_plan(NcTrainLossPlan *p, const NcGraph *g, const NcNode *nd) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    if (nd->noutputs != 1 || a->nepi) return 0;
    if (!(a->loss == NC_LOSS_SOFT || (a->loss == NC_LOSS_FOCAL && a->gamma == 0))) return 0;
    int zi;
    if (nd->op == NC_OP_CROSS_ENTROPY && nd->ninputs == 2)
        zi = 0;
    else if (nd->op == NC_OP_CROSS_ENTROPY_GRAD && nd->ninputs == 3)
        zi = 1, p->grad = 1;
    else
        return 0;
    for (int i = 0; i < nd->ninputs; i++) {
        const NcValue *v = nc_val(g, nd->inputs[i]);
        if (v->dtype != NC_F32 || nc_numel(v) >= INT32_MAX) return 0;
    }
    const NcValue *z = nc_val(g, nd->inputs[zi]), *t = nc_val(g, nd->inputs[zi + 1]);
    if (z->ndim != 2 || !nc_shape_eq(z, t) || z->shape[0] < 1 || z->shape[1] < 1) return 0;
    p->N = z->shape[0], p->K = z->shape[1];
    p->scratch = p->grad ? 0 : 2 * p->N;
    return 1;
}

/* ---- emission ---------------------------------------------------------- */

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMTypeRef f64(NcCgModule *m) { return LLVMDoubleTypeInContext(m->ctx); }
static LLVMValueRef D(NcCgModule *m, double v) { return LLVMConstReal(f64(m), v); }
static LLVMValueRef ld(NcCgModule *m, LLVMValueRef var) { return LLVMBuildLoad2(m->b, f64(m), var, ""); }
static LLVMValueRef ext_at(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildFPExt(m->b, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, p, i), ""), f64(m), "");
}
/* a double intrinsic of one operand (llvm.exp, llvm.log: libm's exp and log) */
static LLVMValueRef call1(NcCgModule *m, const char *name, LLVMValueRef x) {
    LLVMTypeRef t = f64(m);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, &t, 1);
    return LLVMBuildCall2(m->b, fty, LLVMGetIntrinsicDeclaration(m->mod, id, &t, 1), &x, 1, "");
}
static void acc_add(NcCgModule *m, LLVMValueRef var, LLVMValueRef v) {
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, ld(m, var), v, ""), var);
}

/* lse = max + log(sum exp(z - max)) of row z, as ref_train.c's log_softmax_row
 * (fmax skips a NaN; a NaN in the row still makes the sum NaN) */
static LLVMValueRef row_lse(NcCgModule *m, LLVMValueRef z, int64_t K, LLVMValueRef acc) {
    LLVMBuilderRef b = m->b;
    LLVMBuildStore(b, D(m, -__builtin_inf()), acc);
    LLVMValueRef j;
    CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, K), 1, &j);
    LLVMValueRef v = ext_at(m, z, j), cur = ld(m, acc);
    LLVMBuildStore(b, LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, cur, ""), v, cur, ""), acc);
    cgb_loop_end(m, &l);
    LLVMValueRef mx = ld(m, acc);
    LLVMBuildStore(b, D(m, 0), acc);
    l = cgb_loop_begin(m, I(m, 0), I(m, K), 1, &j);
    acc_add(m, acc, call1(m, "llvm.exp", LLVMBuildFSub(b, ext_at(m, z, j), mx, "")));
    cgb_loop_end(m, &l);
    return LLVMBuildFAdd(b, mx, call1(m, "llvm.log", ld(m, acc)), "");
}

void nc_cg_train_loss_emit(NcCgModule *m, const NcTrainLossPlan *p, const char *prefix, NcCgKernel *k) {
    LLVMBuilderRef b = m->b;
    char name[128];
    const int64_t K = p->K;
    snprintf(name, sizeof name, "%s_rows", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name), in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef acc = cgb_var(m, f64(m)), acc2 = cgb_var(m, f64(m));
    const int zi = p->grad ? 1 : 0;
    LLVMValueRef z0 = cgb_arg_ptr(m, in, zi), t0 = cgb_arg_ptr(m, in, zi + 1), o0 = cgb_arg_ptr(m, out, 0);
    LLVMValueRef scale = NULL;
    if (p->grad) /* dloss / N */
        scale = LLVMBuildFDiv(b, ext_at(m, cgb_arg_ptr(m, in, 0), I(m, 0)), D(m, (double)p->N), "");
    LLVMValueRef dscratch = p->grad ? NULL : cgb_arg_ptr(m, out, 1); /* N doubles */
    LLVMValueRef n;
    CgbLoop ln = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &n);
    LLVMValueRef row = LLVMBuildNSWMul(b, n, I(m, K), "");
    LLVMValueRef z = cgb_gep(m, z0, row), t = cgb_gep(m, t0, row);
    LLVMValueRef lse = row_lse(m, z, K, acc);
    LLVMValueRef j;
    if (!p->grad) { /* sum_k -t (z - lse) */
        LLVMBuildStore(b, D(m, 0), acc);
        CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, K), 1, &j);
        LLVMValueRef lp = LLVMBuildFSub(b, ext_at(m, z, j), lse, "");
        acc_add(m, acc, LLVMBuildFMul(b, LLVMBuildFNeg(b, ext_at(m, t, j), ""), lp, ""));
        cgb_loop_end(m, &l);
        LLVMValueRef dp = LLVMBuildGEP2(b, f64(m), dscratch, &n, 1, "");
        LLVMBuildStore(b, ld(m, acc), dp);
    } else { /* tg = sum_k t (-1); dz = (-t - p tg) scale */
        LLVMBuildStore(b, D(m, 0), acc2);
        CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, K), 1, &j);
        acc_add(m, acc2, LLVMBuildFNeg(b, ext_at(m, t, j), ""));
        cgb_loop_end(m, &l);
        LLVMValueRef tg = ld(m, acc2), o = cgb_gep(m, o0, row);
        l = cgb_loop_begin(m, I(m, 0), I(m, K), 1, &j);
        LLVMValueRef pj = call1(m, "llvm.exp", LLVMBuildFSub(b, ext_at(m, z, j), lse, ""));
        LLVMValueRef gr = LLVMBuildFSub(b, LLVMBuildFNeg(b, ext_at(m, t, j), ""), LLVMBuildFMul(b, pj, tg, ""), "");
        LLVMBuildStore(b, LLVMBuildFPTrunc(b, LLVMBuildFMul(b, gr, scale, ""), m->f32, ""), cgb_gep(m, o, j));
        cgb_loop_end(m, &l);
    }
    cgb_loop_end(m, &ln);
    LLVMBuildRetVoid(b);
    k->stage[0] = fn, k->tiles[0] = p->N;
    if (p->grad) return;

    /* the rows' losses added in row order, / N */
    snprintf(name, sizeof name, "%s_sum", prefix);
    fn = nc_cg_begin_tile_fn(m, name), out = LLVMGetParam(fn, 1);
    LLVMValueRef ds = cgb_arg_ptr(m, out, 1), acc3 = cgb_var(m, f64(m)), t1;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t1); /* the one tile */
    LLVMBuildStore(b, D(m, 0), acc3);
    CgbLoop l = cgb_loop_begin(m, I(m, 0), I(m, p->N), 1, &n);
    acc_add(m, acc3, LLVMBuildLoad2(b, f64(m), LLVMBuildGEP2(b, f64(m), ds, &n, 1, ""), ""));
    cgb_loop_end(m, &l);
    LLVMValueRef r = LLVMBuildFDiv(b, ld(m, acc3), D(m, (double)p->N), "");
    LLVMBuildStore(b, LLVMBuildFPTrunc(b, r, m->f32, ""), cgb_arg_ptr(m, out, 0));
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
    k->stage[1] = fn, k->tiles[1] = 1;
    k->scratch = p->scratch;
}
