/* cu_optim.c — SGD, AdamW and the squared gradient norm as device kernels,
 * operation for operation runtime/train/optim.c's loops (cu_optim.h). */
#include "codegen/cuda/cu_optim.h"

#include <string.h>

/* Slot word w as a float. */
static LLVMValueRef word(NcCuBuilder *k, LLVMValueRef slot, int w) { return nc_cu_load(k, slot, nc_cu_i64(k, w)); }

/* A flag word (0.0f or 1.0f) as an i1. */
static LLVMValueRef flag(NcCuBuilder *k, LLVMValueRef slot, int w) {
    return LLVMBuildFCmp(k->m->b, LLVMRealOGT, word(k, slot, w), nc_cu_f32(k, 0.5), "");
}

/* n from its two 32-bit words (their bits). */
static LLVMValueRef numel(NcCuBuilder *k, LLVMValueRef slot) {
    NcCgModule *m = k->m;
    LLVMValueRef half[2];
    for (int h = 0; h < 2; h++) {
        LLVMValueRef at = nc_cu_i64(k, NC_DEV_OPT_N_LO + h);
        LLVMValueRef v = LLVMBuildLoad2(m->b, m->i32, LLVMBuildGEP2(m->b, m->i32, slot, &at, 1, ""), "");
        LLVMSetAlignment(v, 4);
        half[h] = LLVMBuildZExt(m->b, v, m->i64, "");
    }
    return LLVMBuildOr(m->b, half[0], LLVMBuildShl(m->b, half[1], nc_cu_i64(k, 32), ""), "");
}

/* fmaf(a, b, c): exactly rounded on both targets (not llvm.fmuladd, which
 * may or may not fuse). */
static LLVMValueRef fma_f32(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    NcCgModule *m = k->m;
    const unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
    NC_CHECK(id != 0);
    LLVMTypeRef ov[1] = {m->f32};
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(m->b, LLVMIntrinsicGetType(m->ctx, id, ov, 1), LLVMGetIntrinsicDeclaration(m->mod, id, ov, 1),
                          args, 3, "");
}

/* for (i = this thread's first element; i < n; i += every thread) */
static CgbLoop strided(NcCuBuilder *k, LLVMValueRef slot, LLVMValueRef *i) {
    LLVMValueRef first = nc_cu_mad(k, k->bid, NC_DEV_OPT_BLOCK, k->tid);
    return nc_cu_loop_begin(k, first, numel(k, slot), (int64_t)NC_DEV_OPT_GRID * NC_DEV_OPT_BLOCK, i);
}

/* The gradient as optim.c's loop sees it: clip_grad_norm_'s coefficient applied. */
static LLVMValueRef grad(NcCuBuilder *k, LLVMValueRef slot, LLVMValueRef i) {
    return nc_cu_fmul(k, nc_cu_load(k, k->params[1], i), word(k, slot, NC_DEV_OPT_COEF));
}

/* optim.c's sgd(): d = use_wd ? fmaf(p, wd, g) : g; with momentum buf = step 1
 * ? d : fmaf(d, 1 - dampening, buf * momentum), d = nesterov ? fmaf(buf,
 * momentum, d) : buf; p = fmaf(d, -lr, p).  Selects, not an added 0: fmaf(p,
 * 0, -0.0f) would be +0. */
static void sgd_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase, (void)ctx;
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef slot = k->params[3], i;
    LLVMValueRef wd = word(k, slot, NC_DEV_OPT_SGD_WD), mom = word(k, slot, NC_DEV_OPT_SGD_MOM);
    LLVMValueRef keep = word(k, slot, NC_DEV_OPT_SGD_KEEP), neg_lr = word(k, slot, NC_DEV_OPT_SGD_NEG_LR);
    LLVMValueRef use_wd = flag(k, slot, NC_DEV_OPT_SGD_USE_WD), use_mom = flag(k, slot, NC_DEV_OPT_SGD_USE_MOM);
    LLVMValueRef first = flag(k, slot, NC_DEV_OPT_SGD_FIRST), nesterov = flag(k, slot, NC_DEV_OPT_SGD_NESTEROV);
    LLVMValueRef dv = nc_cu_var(k, 0);
    CgbLoop l = strided(k, slot, &i);
    LLVMValueRef g = grad(k, slot, i), p = nc_cu_load(k, k->params[0], i);
    LLVMValueRef d = LLVMBuildSelect(b, use_wd, fma_f32(k, p, wd, g), g, "");
    nc_cu_set(k, dv, d);
    CgbIf m = nc_cu_if_begin(k, use_mom);
    LLVMValueRef buf = nc_cu_load(k, k->params[2], i);
    buf = LLVMBuildSelect(b, first, d, fma_f32(k, d, keep, nc_cu_fmul(k, buf, mom)), "");
    nc_cu_store(k, buf, k->params[2], i);
    nc_cu_set(k, dv, LLVMBuildSelect(b, nesterov, fma_f32(k, buf, mom, d), buf, ""));
    nc_cu_if_end(k, &m);
    nc_cu_store(k, fma_f32(k, nc_cu_get(k, dv), neg_lr, p), k->params[0], i);
    nc_cu_loop_end(k, &l);
}

/* optim.c's adamw(): p *= shrink; m = fmaf(g - m, lerp_w, small_w ? m : g);
 * v = fmaf(a2 * g, g, v * b2); p += neg_step * m / (sqrtf(v) / bc2_sqrt + eps). */
static void adamw_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase, (void)ctx;
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef slot = k->params[4], i;
    LLVMValueRef shrink = word(k, slot, NC_DEV_OPT_ADAM_SHRINK), lerp_w = word(k, slot, NC_DEV_OPT_ADAM_LERP_W);
    LLVMValueRef small_w = flag(k, slot, NC_DEV_OPT_ADAM_SMALL_W), a2 = word(k, slot, NC_DEV_OPT_ADAM_A2);
    LLVMValueRef b2 = word(k, slot, NC_DEV_OPT_ADAM_B2), bc2_sqrt = word(k, slot, NC_DEV_OPT_ADAM_BC2_SQRT);
    LLVMValueRef eps = word(k, slot, NC_DEV_OPT_ADAM_EPS), neg_step = word(k, slot, NC_DEV_OPT_ADAM_NEG_STEP);
    CgbLoop l = strided(k, slot, &i);
    LLVMValueRef g = grad(k, slot, i);
    LLVMValueRef p = nc_cu_fmul(k, nc_cu_load(k, k->params[0], i), shrink);
    LLVMValueRef m = nc_cu_load(k, k->params[2], i), v = nc_cu_load(k, k->params[3], i);
    m = fma_f32(k, LLVMBuildFSub(b, g, m, ""), lerp_w, LLVMBuildSelect(b, small_w, m, g, ""));
    v = fma_f32(k, nc_cu_fmul(k, a2, g), g, nc_cu_fmul(k, v, b2));
    nc_cu_store(k, m, k->params[2], i);
    nc_cu_store(k, v, k->params[3], i);
    LLVMValueRef denom = nc_cu_fadd(k, LLVMBuildFDiv(b, nc_cu_sqrt(k, v), bc2_sqrt, ""), eps);
    p = nc_cu_fadd(k, p, LLVMBuildFDiv(b, nc_cu_fmul(k, neg_step, m), denom, ""));
    nc_cu_store(k, p, k->params[0], i);
    nc_cu_loop_end(k, &l);
}

/* A double at double index i of p (shared memory is 16-byte aligned, the
 * partials a device allocation). */
static LLVMValueRef dbl_at(NcCuBuilder *k, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildGEP2(k->m->b, LLVMDoubleTypeInContext(k->m->ctx), p, &i, 1, "");
}
static LLVMValueRef dbl_load(NcCuBuilder *k, LLVMValueRef p, LLVMValueRef i) {
    LLVMValueRef v = LLVMBuildLoad2(k->m->b, LLVMDoubleTypeInContext(k->m->ctx), dbl_at(k, p, i), "");
    LLVMSetAlignment(v, 8);
    return v;
}
static void dbl_store(NcCuBuilder *k, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i) {
    LLVMSetAlignment(LLVMBuildStore(k->m->b, v, dbl_at(k, p, i)), 8);
}

#define SQ_LEVELS 8 /* log2 NC_DEV_OPT_BLOCK */
_Static_assert(NC_DEV_OPT_BLOCK == 1 << SQ_LEVELS, "the tree's levels");

/* Phases: 0 each thread's sum of squares (a float squared in double is
 * exact) in double; 1..8 a tree in shared memory; 9 thread 0 sets or adds
 * its block's partial sum.  Launched per tensor in order, so each partial
 * accumulates every tensor's share of its block without atomics. */
static void sqnorm_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)ctx;
    NcCgModule *m = k->m;
    LLVMTypeRef dt = LLVMDoubleTypeInContext(m->ctx);
    LLVMValueRef slot = k->params[1], i;
    if (phase == 0) {
        LLVMValueRef acc = cgb_var(m, dt);
        LLVMBuildStore(m->b, LLVMConstReal(dt, 0), acc);
        CgbLoop l = strided(k, slot, &i);
        LLVMValueRef x = LLVMBuildFPExt(m->b, nc_cu_load(k, k->params[0], i), dt, "");
        LLVMValueRef s = LLVMBuildLoad2(m->b, dt, acc, "");
        LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, s, LLVMBuildFMul(m->b, x, x, ""), ""), acc);
        nc_cu_loop_end(k, &l);
        dbl_store(k, LLVMBuildLoad2(m->b, dt, acc, ""), k->smem, k->tid);
    } else if (phase <= SQ_LEVELS) {
        const int64_t s = (int64_t)NC_DEV_OPT_BLOCK >> phase;
        CgbIf in = nc_cu_if_begin(k, nc_cu_in(k, k->tid, 0, s));
        LLVMValueRef other = dbl_load(k, k->smem, nc_cu_addc(k, k->tid, s));
        dbl_store(k, LLVMBuildFAdd(m->b, dbl_load(k, k->smem, k->tid), other, ""), k->smem, k->tid);
        nc_cu_if_end(k, &in);
    } else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef sum = dbl_load(k, k->smem, nc_cu_i64(k, 0));
        LLVMValueRef old = dbl_load(k, k->params[2], k->bid);
        LLVMValueRef add = LLVMBuildFAdd(m->b, old, sum, "");
        dbl_store(k, LLVMBuildSelect(m->b, flag(k, slot, NC_DEV_OPT_NORM_FIRST), sum, add, ""), k->params[2], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

static void opt_desc(NcCuDesc *d, const char *name, int nparams, int nphases, NcCuBody body) {
    *d = (NcCuDesc){.name = name,
                    .nparams = nparams,
                    .grid = NC_DEV_OPT_GRID,
                    .block = NC_DEV_OPT_BLOCK,
                    .smem_floats = nphases > 1 ? 2 * NC_DEV_OPT_BLOCK : 0,
                    .nphases = nphases,
                    .body = body};
}

void nc_cu_opt_sgd_desc(NcCuDesc *d, const char *name, const void *unused) {
    (void)unused;
    opt_desc(d, name, 4, 1, sgd_body);
}

void nc_cu_opt_adamw_desc(NcCuDesc *d, const char *name, const void *unused) {
    (void)unused;
    opt_desc(d, name, 5, 1, adamw_body);
}

void nc_cu_opt_sqnorm_desc(NcCuDesc *d, const char *name, const void *unused) {
    (void)unused;
    opt_desc(d, name, 3, SQ_LEVELS + 2, sqnorm_body);
}
