/* cg_build.c — module life cycle (init, O3, object / in-memory object) and
 * the IR helpers of cg_build.h. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <string.h>

#include "codegen/cpu/cg_build.h"

#include <llvm-c/DebugInfo.h>
#include "ir/ir.h"

void nc_cg_module_init(NcCgModule *m, const NcCgTarget *t, const char *name) {
    memset(m, 0, sizeof *m);
    m->t = t;
    m->ctx = LLVMContextCreate();
    m->mod = LLVMModuleCreateWithNameInContext(name, m->ctx);
    LLVMSetTarget(m->mod, t->triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(t->tm);
    LLVMSetModuleDataLayout(m->mod, dl);
    LLVMDisposeTargetData(dl);
    m->b = LLVMCreateBuilderInContext(m->ctx);
    m->f32 = LLVMFloatTypeInContext(m->ctx);
    m->i1 = LLVMInt1TypeInContext(m->ctx);
    m->i32 = LLVMInt32TypeInContext(m->ctx);
    m->i64 = LLVMInt64TypeInContext(m->ctx);
    m->ptr = LLVMPointerTypeInContext(m->ctx, 0);
    m->vw = t->vw;
    m->vec = LLVMVectorType(m->f32, (unsigned)t->vw);
}

void nc_cg_module_dispose(NcCgModule *m) {
    if (m->b) LLVMDisposeBuilder(m->b);
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->ctx) LLVMContextDispose(m->ctx);
    memset(m, 0, sizeof *m);
}

static void add_attr(NcCgModule *m, LLVMValueRef fn, unsigned idx, const char *name) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(m->ctx, kind, 0));
}

LLVMValueRef nc_cg_begin_tile_fn(NcCgModule *m, const char *name) {
    LLVMTypeRef params[4] = {m->ptr, m->ptr, m->i64, m->i64};
    LLVMValueRef fn = LLVMAddFunction(m->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), params, 4, 0));
    for (unsigned i = 1; i <= 2; i++)
        add_attr(m, fn, i, "noalias"), add_attr(m, fn, i, "nocapture"), add_attr(m, fn, i, "readonly");
    add_attr(m, fn, LLVMAttributeFunctionIndex, "nounwind");
    nc_cg_target_attrs(m->t, fn);
    m->fn = fn;
    m->entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(m->b, m->entry);
    return fn;
}

int nc_cg_module_optimize(NcCgModule *m, NcError *e) {
    if (m->optimized) return 0;
    char *err = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &err)) {
        nc_errorf(e, "internal error: generated LLVM IR does not verify: %.1500s", err);
        LLVMDisposeMessage(err);
        return -1;
    }
    LLVMDisposeMessage(err);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(m->mod, "default<O3>", m->t->tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (perr) {
        char *msg = LLVMGetErrorMessage(perr);
        nc_errorf(e, "LLVM optimisation failed: %s", msg);
        LLVMDisposeErrorMessage(msg);
        return -1;
    }
    m->optimized = 1;
    return 0;
}

int nc_cg_module_emit_object(NcCgModule *m, const char *path, NcError *e) {
    if (nc_cg_module_optimize(m, e)) return -1;
    char *err = NULL;
    if (LLVMTargetMachineEmitToFile(m->t->tm, m->mod, (char *)path, LLVMObjectFile, &err)) {
        nc_errorf(e, "%s: LLVM cannot write the object: %s", path, err);
        LLVMDisposeMessage(err);
        return -1;
    }
    return 0;
}

int nc_cg_module_emit_buffer(NcCgModule *m, LLVMMemoryBufferRef *out, NcError *e) {
    if (nc_cg_module_optimize(m, e)) return -1;
    char *err = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(m->t->tm, m->mod, LLVMObjectFile, &err, out)) {
        nc_errorf(e, "LLVM cannot compile the kernels: %s", err);
        LLVMDisposeMessage(err);
        return -1;
    }
    return 0;
}

/* --- IR helpers -------------------------------------------------------- */

LLVMValueRef cgb_i64(NcCgModule *m, int64_t v) { return LLVMConstInt(m->i64, (unsigned long long)v, 1); }
LLVMValueRef cgb_f32(NcCgModule *m, double v) { return LLVMConstReal(m->f32, v); }

LLVMValueRef cgb_gep(NcCgModule *m, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildInBoundsGEP2(m->b, m->f32, p, &i, 1, "");
}

LLVMValueRef cgb_arg_ptr(NcCgModule *m, LLVMValueRef array, int k) {
    LLVMValueRef i = cgb_i64(m, k);
    LLVMValueRef p = LLVMBuildLoad2(m->b, m->ptr, LLVMBuildInBoundsGEP2(m->b, m->ptr, array, &i, 1, ""), "");
    return p;
}

LLVMValueRef cgb_splat(NcCgModule *m, LLVMValueRef scalar) {
    LLVMValueRef v = LLVMBuildInsertElement(m->b, LLVMGetPoison(m->vec), scalar, cgb_i64(m, 0), "");
    LLVMValueRef zero = LLVMConstNull(LLVMVectorType(m->i32, (unsigned)m->vw));
    return LLVMBuildShuffleVector(m->b, v, LLVMGetPoison(m->vec), zero, "");
}

LLVMValueRef cgb_zero(NcCgModule *m) { return LLVMConstNull(m->vec); }

LLVMValueRef cgb_load(NcCgModule *m, LLVMValueRef p) {
    LLVMValueRef v = LLVMBuildLoad2(m->b, m->vec, p, "");
    LLVMSetAlignment(v, 4);
    return v;
}

void cgb_store(NcCgModule *m, LLVMValueRef v, LLVMValueRef p) { LLVMSetAlignment(LLVMBuildStore(m->b, v, p), 4); }

static LLVMValueRef lane_mask(NcCgModule *m, int n) {
    LLVMValueRef bits[64];
    for (int i = 0; i < m->vw; i++) bits[i] = LLVMConstInt(m->i1, i < n, 0);
    return LLVMConstVector(bits, (unsigned)m->vw);
}

static LLVMValueRef intrinsic(NcCgModule *m, const char *name, LLVMTypeRef *over, int nover, LLVMTypeRef *fty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    *fty = LLVMIntrinsicGetType(m->ctx, id, over, (size_t)nover);
    return LLVMGetIntrinsicDeclaration(m->mod, id, over, (size_t)nover);
}

LLVMValueRef cgb_load_n(NcCgModule *m, LLVMValueRef p, int n) {
    if (n >= m->vw) return cgb_load(m, p);
    LLVMTypeRef over[2] = {m->vec, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.load", over, 2, &fty);
    LLVMValueRef args[4] = {p, LLVMConstInt(m->i32, 4, 0), lane_mask(m, n), cgb_zero(m)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

void cgb_store_n(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, int n) {
    if (n >= m->vw) {
        cgb_store(m, v, p);
        return;
    }
    LLVMTypeRef over[2] = {m->vec, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.store", over, 2, &fty);
    LLVMValueRef args[4] = {v, p, LLVMConstInt(m->i32, 4, 0), lane_mask(m, n)};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

static LLVMTypeRef vbf(NcCgModule *m) { return LLVMVectorType(LLVMBFloatTypeInContext(m->ctx), (unsigned)m->vw); }

LLVMValueRef cgb_gep_act(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int bf16) {
    return bf16 ? LLVMBuildInBoundsGEP2(m->b, LLVMInt16TypeInContext(m->ctx), p, &i, 1, "") : cgb_gep(m, p, i);
}

LLVMValueRef cgb_load_act(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int n, int bf16) {
    if (!bf16) return cgb_load_n(m, cgb_gep(m, p, i), n);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(m->b, LLVMInt16TypeInContext(m->ctx), p, &i, 1, ""), v;
    if (n >= m->vw) {
        v = LLVMBuildLoad2(m->b, vbf(m), at, "");
        LLVMSetAlignment(v, 2);
    } else {
        LLVMTypeRef over[2] = {vbf(m), m->ptr}, fty;
        LLVMValueRef fn = intrinsic(m, "llvm.masked.load", over, 2, &fty);
        LLVMValueRef args[4] = {at, LLVMConstInt(m->i32, 2, 0), lane_mask(m, n), LLVMConstNull(vbf(m))};
        v = LLVMBuildCall2(m->b, fty, fn, args, 4, "");
    }
    return LLVMBuildFPExt(m->b, v, m->vec, "");
}

LLVMValueRef cgb_load_act_bits(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int n, int bf16) {
    if (!bf16) return cgb_load_n(m, cgb_gep(m, p, i), n);
    LLVMTypeRef v16 = LLVMVectorType(LLVMInt16TypeInContext(m->ctx), (unsigned)m->vw), fty;
    LLVMValueRef at = LLVMBuildInBoundsGEP2(m->b, LLVMInt16TypeInContext(m->ctx), p, &i, 1, ""), h;
    if (n >= m->vw) {
        h = LLVMBuildLoad2(m->b, v16, at, "");
        LLVMSetAlignment(h, 2);
    } else {
        LLVMTypeRef over[2] = {v16, m->ptr};
        LLVMValueRef fn = intrinsic(m, "llvm.masked.load", over, 2, &fty);
        LLVMValueRef args[4] = {at, LLVMConstInt(m->i32, 2, 0), lane_mask(m, n), LLVMConstNull(v16)};
        h = LLVMBuildCall2(m->b, fty, fn, args, 4, "");
    }
    LLVMValueRef sixteen[64];
    for (int l = 0; l < m->vw; l++) sixteen[l] = LLVMConstInt(m->i32, 16, 0);
    LLVMValueRef w = LLVMBuildShl(m->b, LLVMBuildZExt(m->b, h, LLVMVectorType(m->i32, (unsigned)m->vw), ""),
                                  LLVMConstVector(sixteen, (unsigned)m->vw), "");
    return LLVMBuildBitCast(m->b, w, m->vec, "");
}

void cgb_store_act(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i, int n, int bf16) {
    if (!bf16) {
        cgb_store_n(m, v, cgb_gep(m, p, i), n);
        return;
    }
    LLVMValueRef at = LLVMBuildInBoundsGEP2(m->b, LLVMInt16TypeInContext(m->ctx), p, &i, 1, "");
    LLVMValueRef h = LLVMBuildFPTrunc(m->b, v, vbf(m), "");
    if (n >= m->vw) {
        LLVMSetAlignment(LLVMBuildStore(m->b, h, at), 2);
        return;
    }
    LLVMTypeRef over[2] = {vbf(m), m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.store", over, 2, &fty);
    LLVMValueRef args[4] = {h, at, LLVMConstInt(m->i32, 2, 0), lane_mask(m, n)};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

LLVMValueRef cgb_load_mask(NcCgModule *m, LLVMValueRef p, LLVMValueRef mask) {
    LLVMTypeRef over[2] = {m->vec, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.load", over, 2, &fty);
    LLVMValueRef args[4] = {p, LLVMConstInt(m->i32, 4, 0), mask, cgb_zero(m)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

void cgb_store_mask(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
    LLVMTypeRef over[2] = {m->vec, m->ptr}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.store", over, 2, &fty);
    LLVMValueRef args[4] = {v, p, LLVMConstInt(m->i32, 4, 0), mask};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

LLVMValueRef cgb_gather(NcCgModule *m, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef mask) {
    LLVMValueRef ptrs = LLVMBuildGEP2(m->b, m->f32, base, &idx, 1, ""); /* not inbounds: masked lanes may be out */
    LLVMTypeRef over[2] = {m->vec, LLVMVectorType(m->ptr, (unsigned)m->vw)}, fty;
    LLVMValueRef fn = intrinsic(m, "llvm.masked.gather", over, 2, &fty);
    LLVMValueRef args[4] = {ptrs, LLVMConstInt(m->i32, 4, 0), mask, cgb_zero(m)};
    return LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

void cgb_call_tile(NcCgModule *m, LLVMValueRef fn, LLVMValueRef *in, int nin, LLVMValueRef *out, int nout,
                   LLVMValueRef t0, LLVMValueRef t1) {
    LLVMValueRef arr[2];
    for (int a = 0; a < 2; a++) {
        const int n = a ? nout : nin;
        LLVMValueRef *v = a ? out : in;
        arr[a] = cgb_var(m, LLVMArrayType2(m->ptr, (uint64_t)n));
        for (int k = 0; k < n; k++) {
            LLVMValueRef kk = cgb_i64(m, k);
            LLVMBuildStore(m->b, v[k], LLVMBuildGEP2(m->b, m->ptr, arr[a], &kk, 1, ""));
        }
    }
    LLVMValueRef args[4] = {arr[0], arr[1], t0, t1};
    LLVMBuildCall2(m->b, LLVMGlobalGetValueType(fn), fn, args, 4, "");
}

int cgb_per_channel(const NcValue *o, const NcValue *y) {
    return o->ndim == 4 && y->ndim == 4 && o->shape[0] == y->shape[0] && o->shape[1] == y->shape[1] &&
           o->shape[2] == 1 && o->shape[3] == 1;
}

int cgb_epi_operands_ok(const NcGraph *g, const NcNode *nd) {
    const NcValue *y = nc_val(g, nd->outputs[0]);
    for (int i = 0; i < nd->attrs.nepi; i++) {
        if (nd->attrs.epi[i].kind != NC_EPI_ADD && nd->attrs.epi[i].kind != NC_EPI_MUL) continue;
        const NcValue *o = nc_val(g, nd->inputs[nd->attrs.epi[i].input]);
        if (!nc_shape_eq(o, y) && !cgb_per_channel(o, y)) return 0;
    }
    return 1;
}

LLVMValueRef cgb_fma(NcCgModule *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMTypeRef fty;
    LLVMValueRef fn = intrinsic(m, "llvm.fmuladd", &m->vec, 1, &fty);
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(m->b, fty, fn, args, 3, "");
}

/* a < b ? b : a — a NaN in a comes through, as torch.relu / clamp pass it
 * (llvm.maxnum would drop it); on x86 one maxps, where maxnum needs three. */
LLVMValueRef cgb_max(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOLT, a, b, ""), b, a, "");
}

/* a > b ? b : a, NaN in a kept likewise. */
static LLVMValueRef min_keep_nan(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOGT, a, b, ""), b, a, "");
}

LLVMValueRef cgb_var(NcCgModule *m, LLVMTypeRef t) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(m->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(m->entry);
    if (first)
        LLVMPositionBuilderBefore(b, first);
    else
        LLVMPositionBuilderAtEnd(b, m->entry);
    LLVMValueRef a = LLVMBuildAlloca(b, t, "");
    LLVMDisposeBuilder(b);
    return a;
}

CgbLoop cgb_loop_begin(NcCgModule *m, LLVMValueRef begin, LLVMValueRef end, int64_t step, LLVMValueRef *index) {
    CgbLoop l;
    l.var = cgb_var(m, m->i64);
    l.step = cgb_i64(m, step);
    LLVMBuildStore(m->b, begin, l.var);
    l.cond = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "loop");
    l.body = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "body");
    l.exit = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "done");
    LLVMBuildBr(m->b, l.cond);
    LLVMPositionBuilderAtEnd(m->b, l.cond);
    LLVMValueRef i = LLVMBuildLoad2(m->b, m->i64, l.var, "i");
    LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, i, end, ""), l.body, l.exit);
    LLVMPositionBuilderAtEnd(m->b, l.body);
    *index = i;
    return l;
}

void cgb_loop_end(NcCgModule *m, CgbLoop *l) {
    LLVMValueRef i = LLVMBuildLoad2(m->b, m->i64, l->var, "");
    LLVMBuildStore(m->b, LLVMBuildNSWAdd(m->b, i, l->step, ""), l->var);
    LLVMBuildBr(m->b, l->cond);
    LLVMPositionBuilderAtEnd(m->b, l->exit);
}

void cgb_loop_end_rolled(NcCgModule *m, CgbLoop *l) {
    LLVMValueRef i = LLVMBuildLoad2(m->b, m->i64, l->var, "");
    LLVMBuildStore(m->b, LLVMBuildNSWAdd(m->b, i, l->step, ""), l->var);
    LLVMValueRef br = LLVMBuildBr(m->b, l->cond);
    /* a loop ID: a node whose first operand is itself, then the property */
    static const char dis[] = "llvm.loop.unroll.disable";
    LLVMMetadataRef prop = LLVMMDStringInContext2(m->ctx, dis, sizeof dis - 1);
    LLVMMetadataRef propn = LLVMMDNodeInContext2(m->ctx, &prop, 1);
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(m->ctx, NULL, 0);
    LLVMMetadataRef ops[2] = {tmp, propn};
    LLVMMetadataRef id = LLVMMDNodeInContext2(m->ctx, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(m->ctx, "llvm.loop", 9), LLVMMetadataAsValue(m->ctx, id));
    LLVMPositionBuilderAtEnd(m->b, l->exit);
}

CgbIf cgb_if_begin(NcCgModule *m, LLVMValueRef cond) {
    CgbIf c;
    c.then = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "then");
    c.other = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "else");
    c.join = LLVMAppendBasicBlockInContext(m->ctx, m->fn, "join");
    LLVMBuildCondBr(m->b, cond, c.then, c.other);
    LLVMPositionBuilderAtEnd(m->b, c.then);
    return c;
}

void cgb_if_else(NcCgModule *m, CgbIf *c) {
    LLVMBuildBr(m->b, c->join);
    LLVMPositionBuilderAtEnd(m->b, c->other);
    c->other = NULL;
}

void cgb_if_end(NcCgModule *m, CgbIf *c) {
    LLVMBuildBr(m->b, c->join);
    if (c->other) { /* no else: the false edge goes straight on */
        LLVMPositionBuilderAtEnd(m->b, c->other);
        LLVMBuildBr(m->b, c->join);
    }
    LLVMPositionBuilderAtEnd(m->b, c->join);
}

static LLVMValueRef call_vec(NcCgModule *m, const char *name, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMTypeRef fty;
    LLVMValueRef fn = intrinsic(m, name, &m->vec, 1, &fty);
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(m->b, fty, fn, args, c ? 3 : b ? 2 : 1, "");
}

LLVMValueRef cgb_max_nan(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) {
    return call_vec(m, "llvm.maximum", a, b, NULL);
}

static LLVMValueRef fsplat(NcCgModule *m, double v) { return cgb_splat(m, cgb_f32(m, v)); }

/* exp(x), about 2e-7 relative: x = n ln2 + r with |r| <= ln2 / 2, n
 * rounded by adding 1.5 * 2^23 (its low mantissa bits are then n, and
 * shifted into the exponent field they make 2^n without a conversion),
 * exp(r) by a degree-5 polynomial fitted to the relative error on that
 * interval (numpy, Lawson's weighted least squares: 1.7e-7 in float).
 * 14 vector ops, where floor + convert + Cephes' degree-7 form took 18 —
 * it is most of every SiLU epilogue.
 *
 * Every step is emitted for all n vectors before the next: one vector's
 * exp is a chain of ~14 dependent ops (~55 cycles), and a kernel's epilogue
 * that finishes one vector before starting the next leaves the FP pipes
 * waiting on that latency (gemm_bench --act silu; bench/RESULTS.md,
 * session 6). */
void cgb_exp_n(NcCgModule *m, LLVMValueRef *x, int n) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef t[CGB_MAX_INTERLEAVE], k[CGB_MAX_INTERLEAVE], r[CGB_MAX_INTERLEAVE], p[CGB_MAX_INTERLEAVE];
    NC_CHECK(n <= CGB_MAX_INTERLEAVE);
    LLVMValueRef hi = fsplat(m, 88.0), lo = fsplat(m, -88.0), l2e = fsplat(m, 1.44269504088896341),
                 rnd = fsplat(m, 12582912.0);
    /* clamped by selects that keep a NaN (minnum / maxnum would turn it into 88 or -88, and sigmoid(NaN)
     * into a number); n >= -127: 2^n is 0 or normal */
    for (int i = 0; i < n; i++) x[i] = min_keep_nan(m, x[i], hi);
    for (int i = 0; i < n; i++) x[i] = cgb_max(m, x[i], lo);
    for (int i = 0; i < n; i++) t[i] = call_vec(m, "llvm.fma", x[i], l2e, rnd);
    for (int i = 0; i < n; i++) k[i] = LLVMBuildFSub(b, t[i], rnd, ""); /* round(x / ln2) */
    LLVMValueRef ln2hi = fsplat(m, -0.693359375), ln2lo = fsplat(m, 2.12194440e-4);
    for (int i = 0; i < n; i++) r[i] = call_vec(m, "llvm.fma", k[i], ln2hi, x[i]);
    for (int i = 0; i < n; i++) r[i] = call_vec(m, "llvm.fma", k[i], ln2lo, r[i]);
    static const double c[] = {0.008290314529128467, 0.04189792938737981, 0.16667636197781524,
                               0.4999914952975849,   0.999999707188489,   1.0};
    for (int i = 0; i < n; i++) p[i] = fsplat(m, c[0]);
    for (int j = 1; j < 6; j++) {
        LLVMValueRef cj = fsplat(m, c[j]);
        for (int i = 0; i < n; i++) p[i] = call_vec(m, "llvm.fma", p[i], r[i], cj);
    }
    LLVMTypeRef iv = LLVMVectorType(m->i32, (unsigned)m->vw);
    LLVMValueRef k127[64], k23[64];
    for (int i = 0; i < m->vw; i++) k127[i] = LLVMConstInt(m->i32, 127u << 23, 0), k23[i] = LLVMConstInt(m->i32, 23, 0);
    for (int i = 0; i < n; i++) {
        LLVMValueRef pow2 = LLVMBuildAdd(
            b, LLVMBuildShl(b, LLVMBuildBitCast(b, t[i], iv, ""), LLVMConstVector(k23, (unsigned)m->vw), ""),
            LLVMConstVector(k127, (unsigned)m->vw), "");
        x[i] = LLVMBuildFMul(b, p[i], LLVMBuildBitCast(b, pow2, m->vec, ""), "");
    }
}

LLVMValueRef cgb_exp(NcCgModule *m, LLVMValueRef x) {
    cgb_exp_n(m, &x, 1);
    return x;
}

/* 1 / d.  On x86 with 8-float vectors: the hardware estimate (12 bits) and
 * one Newton step (r' = r (2 - d r), about 23 bits), three pipelined ops
 * instead of a divide that issues once per 3.5-5 cycles on one unit — the
 * sigmoid of every SiLU epilogue waits on it. */
static void recip_n(NcCgModule *m, LLVMValueRef *d, int n) {
    if (m->vw != 8 || strncmp(m->t->triple, "x86_64", 6)) {
        /* 1 / d flushed to 0 where d >= 2^126, as the estimate below does: the sigmoid of x <= -87.3 is
         * then 0 on every target (not a subnormal here and 0 there), and silu(-inf) = -inf * 0 = NaN as
         * PyTorch has it (test_cg_nan) */
        LLVMValueRef big = fsplat(m, 0x1p126), zero = cgb_zero(m);
        for (int i = 0; i < n; i++) {
            LLVMValueRef huge = LLVMBuildFCmp(m->b, LLVMRealOGE, d[i], big, "");
            d[i] = LLVMBuildSelect(m->b, huge, zero, LLVMBuildFDiv(m->b, fsplat(m, 1.0), d[i], ""), "");
        }
        return;
    }
    LLVMTypeRef fty;
    LLVMValueRef fn = intrinsic(m, "llvm.x86.avx.rcp.ps.256", NULL, 0, &fty), two = fsplat(m, 2.0);
    LLVMValueRef r[CGB_MAX_INTERLEAVE], e[CGB_MAX_INTERLEAVE];
    for (int i = 0; i < n; i++) r[i] = LLVMBuildCall2(m->b, fty, fn, &d[i], 1, "");
    for (int i = 0; i < n; i++) e[i] = call_vec(m, "llvm.fma", LLVMBuildFNeg(m->b, d[i], ""), r[i], two);
    for (int i = 0; i < n; i++) d[i] = LLVMBuildFMul(m->b, r[i], e[i], "");
}

void cgb_activation_n(NcCgModule *m, int kind, float lo, float hi, LLVMValueRef *v, int n) {
    for (int g = 0; g < n; g += CGB_MAX_INTERLEAVE) { /* groups small enough to stay in registers */
        const int k = n - g < CGB_MAX_INTERLEAVE ? n - g : CGB_MAX_INTERLEAVE;
        LLVMValueRef *x = v + g, t[CGB_MAX_INTERLEAVE];
        switch (kind) {
        case NC_EPI_RELU:
            for (int i = 0; i < k; i++) x[i] = cgb_max(m, x[i], cgb_zero(m));
            break;
        case NC_EPI_CLAMP:
            for (int i = 0; i < k; i++) x[i] = cgb_max(m, x[i], fsplat(m, lo));
            for (int i = 0; i < k; i++) x[i] = min_keep_nan(m, x[i], fsplat(m, hi));
            break;
        case NC_EPI_SILU:
        case NC_EPI_SIGMOID: {
            LLVMValueRef one = fsplat(m, 1.0);
            for (int i = 0; i < k; i++) t[i] = LLVMBuildFNeg(m->b, x[i], "");
            cgb_exp_n(m, t, k);
            for (int i = 0; i < k; i++) t[i] = LLVMBuildFAdd(m->b, one, t[i], "");
            recip_n(m, t, k);
            for (int i = 0; i < k; i++) x[i] = kind == NC_EPI_SILU ? LLVMBuildFMul(m->b, x[i], t[i], "") : t[i];
            break;
        }
        default: NC_CHECK(!"not an activation");
        }
    }
}

LLVMValueRef cgb_activation(NcCgModule *m, int kind, float lo, float hi, LLVMValueRef v) {
    cgb_activation_n(m, kind, lo, hi, &v, 1);
    return v;
}

void cgb_prefetch(NcCgModule *m, LLVMValueRef p) { cgb_prefetch_rw(m, p, 0); }

void cgb_prefetch_rw(NcCgModule *m, LLVMValueRef p, int write) {
    LLVMTypeRef over[1] = {m->ptr};
    const char *nm = "llvm.prefetch";
    unsigned id = LLVMLookupIntrinsicID(nm, strlen(nm));
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, over, 1);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, over, 1);
    LLVMValueRef args[4] = {p, LLVMConstInt(m->i32, write ? 1 : 0, 0), LLVMConstInt(m->i32, 3, 0),
                            LLVMConstInt(m->i32, 1, 0)};
    LLVMBuildCall2(m->b, fty, fn, args, 4, "");
}

void cgb_for_vectors(NcCgModule *m, int64_t n, CgbVecBody body, void *ctx) {
    const int64_t full = n / m->vw * m->vw;
    if (full) {
        LLVMValueRef i;
        CgbLoop l = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), m->vw, &i);
        body(m, ctx, i, m->vw);
        cgb_loop_end(m, &l);
    }
    if (n > full) body(m, ctx, cgb_i64(m, full), (int)(n - full));
}

typedef struct CopyCtx {
    LLVMValueRef dst, src, scale, bias;
    int src_bf16;
} CopyCtx;

static void copy_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const CopyCtx *c = vc;
    LLVMValueRef v = c->src ? cgb_load_act(m, c->src, i, lanes, c->src_bf16) : cgb_zero(m);
    if (c->src && c->scale) v = LLVMBuildFMul(m->b, v, cgb_load_n(m, cgb_gep(m, c->scale, i), lanes), "");
    if (c->bias) v = LLVMBuildFAdd(m->b, v, c->bias, "");
    cgb_store_n(m, v, cgb_gep(m, c->dst, i), lanes);
}

void cgb_copy_floats(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef scale, int64_t n) {
    CopyCtx c = {dst, src, scale, NULL, 0};
    cgb_for_vectors(m, n, copy_vec, &c);
}

void cgb_copy_act(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, int src_bf16, LLVMValueRef scale, int64_t n) {
    CopyCtx c = {dst, src, scale, NULL, src_bf16};
    cgb_for_vectors(m, n, copy_vec, &c);
}

void cgb_copy_floats_bias(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bias, int64_t n) {
    CopyCtx c = {dst, src, NULL, bias, 0};
    cgb_for_vectors(m, n, copy_vec, &c);
}

typedef struct AddCtx {
    LLVMValueRef dst, src;
} AddCtx;

static void add_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const AddCtx *c = vc;
    LLVMValueRef d = cgb_gep(m, c->dst, i);
    LLVMValueRef v = LLVMBuildFAdd(m->b, cgb_load_n(m, d, lanes), cgb_load_n(m, cgb_gep(m, c->src, i), lanes), "");
    cgb_store_n(m, v, d, lanes);
}

void cgb_add_floats(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, int64_t n) {
    AddCtx c = {dst, src};
    cgb_for_vectors(m, n, add_vec, &c);
}
