/* cu_kernel.c — the kernel builder and its two lowerings (NVPTX, CPU). */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <string.h>

#include "codegen/cuda/cu_kernel.h"

/* --- builder ------------------------------------------------------------- */

LLVMValueRef nc_cu_i64(NcCuBuilder *k, int64_t v) { return cgb_i64(k->m, v); }
LLVMValueRef nc_cu_f32(NcCuBuilder *k, double v) { return cgb_f32(k->m, v); }

LLVMValueRef nc_cu_load(NcCuBuilder *k, LLVMValueRef p, LLVMValueRef i) {
    LLVMValueRef v = LLVMBuildLoad2(k->m->b, k->m->f32, cgb_gep(k->m, p, i), "");
    LLVMSetAlignment(v, 4);
    return v;
}

void nc_cu_store(NcCuBuilder *k, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i) {
    LLVMSetAlignment(LLVMBuildStore(k->m->b, v, cgb_gep(k->m, p, i)), 4);
}

static LLVMValueRef call_intrinsic(NcCgModule *m, const char *name, LLVMTypeRef over, LLVMValueRef *args, int n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    LLVMTypeRef ov[1] = {over};
    const size_t nov = over ? 1 : 0;
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, ov, nov);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, ov, nov);
    return LLVMBuildCall2(m->b, fty, fn, args, (unsigned)n, "");
}

static LLVMValueRef fma3(NcCgModule *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMValueRef args[3] = {a, b, c};
    return call_intrinsic(m, "llvm.fmuladd", m->f32, args, 3);
}

LLVMValueRef nc_cu_max(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef args[2] = {a, b};
    return call_intrinsic(k->m, "llvm.maxnum", k->m->f32, args, 2);
}

LLVMValueRef nc_cu_min(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef args[2] = {a, b};
    return call_intrinsic(k->m, "llvm.minnum", k->m->f32, args, 2);
}

/* Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-6
 * polynomial, 2^n put into the exponent bits.  x is clamped so that n stays
 * in [-126, 127] (e^x underflows to about 1e-38 rather than 0 below -87). */
LLVMValueRef nc_cu_exp(NcCuBuilder *k, LLVMValueRef x) {
    NcCgModule *m = k->m;
    LLVMBuilderRef b = m->b;
    x = nc_cu_min(k, nc_cu_max(k, x, cgb_f32(m, -87.0)), cgb_f32(m, 88.0));
    LLVMValueRef t = LLVMBuildFMul(b, x, cgb_f32(m, 1.44269504088896341), "");
    LLVMValueRef n = call_intrinsic(m, "llvm.rint", m->f32, &t, 1);
    LLVMValueRef r = fma3(m, n, cgb_f32(m, -0.693359375), x);
    r = fma3(m, n, cgb_f32(m, 2.12194440e-4), r);
    static const double c[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                               4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
    LLVMValueRef p = cgb_f32(m, c[0]);
    for (int i = 1; i < 6; i++) p = fma3(m, p, r, cgb_f32(m, c[i]));
    LLVMValueRef r2 = LLVMBuildFMul(b, r, r, "");
    LLVMValueRef y = LLVMBuildFAdd(b, fma3(m, p, r2, r), cgb_f32(m, 1.0), "");
    LLVMValueRef ni = LLVMBuildFPToSI(b, n, m->i32, "");
    LLVMValueRef bits =
        LLVMBuildShl(b, LLVMBuildAdd(b, ni, LLVMConstInt(m->i32, 127, 0), ""), LLVMConstInt(m->i32, 23, 0), "");
    return LLVMBuildFMul(b, y, LLVMBuildBitCast(b, bits, m->f32, ""), "");
}

LLVMValueRef nc_cu_var(NcCuBuilder *k, double init) {
    LLVMValueRef v = cgb_var(k->m, k->m->f32);
    LLVMBuildStore(k->m->b, cgb_f32(k->m, init), v);
    return v;
}

CgbLoop nc_cu_loop_begin(NcCuBuilder *k, LLVMValueRef begin, LLVMValueRef end, int64_t step, LLVMValueRef *i) {
    return cgb_loop_begin(k->m, begin, end, step, i);
}
void nc_cu_loop_end(NcCuBuilder *k, CgbLoop *l) { cgb_loop_end(k->m, l); }
CgbIf nc_cu_if_begin(NcCuBuilder *k, LLVMValueRef cond) { return cgb_if_begin(k->m, cond); }
void nc_cu_if_end(NcCuBuilder *k, CgbIf *c) { cgb_if_end(k->m, c); }

static int check_desc(const NcCuDesc *d, NcError *e) {
    if (d->nparams < 1 || d->nparams > NC_CU_MAXPARAMS || d->grid < 1 || d->block < 1 || d->block > 1024 ||
        d->nphases < 1 || d->smem_floats < 0 || d->smem_floats > 12288)
        return nc_errorf(e,
                         "internal error: kernel %s: bad description (%d params, grid %lld, block %lld, %d phases, "
                         "%lld shared floats)",
                         d->name, d->nparams, (long long)d->grid, (long long)d->block, d->nphases,
                         (long long)d->smem_floats);
    return 0;
}

/* --- NVPTX ------------------------------------------------------------- */

int nc_cu_target_init(NcCgTarget *t, const char *sm, NcError *e) {
    memset(t, 0, sizeof *t);
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    t->triple = nc_strdup("nvptx64-nvidia-cuda");
    t->cpu = nc_strdup(sm ? sm : "sm_90");
    t->features = nc_strdup("+ptx80");
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
        nc_errorf(e, "LLVM has no NVPTX target (%s): %s", t->triple, err);
        LLVMDisposeMessage(err);
        nc_cu_target_free(t);
        return -1;
    }
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive,
                                    LLVMRelocDefault, LLVMCodeModelDefault);
    if (!t->tm) {
        nc_errorf(e, "LLVM cannot make an NVPTX target machine for '%s'", t->cpu);
        nc_cu_target_free(t);
        return -1;
    }
    t->vw = 1, t->nvregs = 0;
    return 0;
}

void nc_cu_target_free(NcCgTarget *t) {
    if (t->tm) LLVMDisposeTargetMachine(t->tm);
    free(t->triple);
    free(t->cpu);
    free(t->features);
    memset(t, 0, sizeof *t);
}

static LLVMValueRef sreg(NcCgModule *m, const char *name) {
    return LLVMBuildZExt(m->b, call_intrinsic(m, name, NULL, NULL, 0), m->i64, "");
}

static void annotate(NcCgModule *m, LLVMValueRef fn, const char *key, int value) {
    LLVMMetadataRef md[3] = {LLVMValueAsMetadata(fn), LLVMMDStringInContext2(m->ctx, key, strlen(key)),
                             LLVMValueAsMetadata(LLVMConstInt(m->i32, (unsigned long long)value, 0))};
    LLVMAddNamedMetadataOperand(m->mod, "nvvm.annotations",
                                LLVMMetadataAsValue(m->ctx, LLVMMDNodeInContext2(m->ctx, md, 3)));
}

int nc_cu_build_gpu(NcCgModule *m, const NcCuDesc *d, NcError *e) {
    if (check_desc(d, e)) return -1;
    LLVMTypeRef params[NC_CU_MAXPARAMS];
    for (int i = 0; i < d->nparams; i++) params[i] = m->ptr;
    LLVMValueRef fn = LLVMAddFunction(m->mod, d->name,
                                      LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), params, (unsigned)d->nparams, 0));
    LLVMSetFunctionCallConv(fn, LLVMPTXKernelCallConv);
    annotate(m, fn, "kernel", 1);
    annotate(m, fn, "maxntidx", (int)d->block);
    nc_cg_target_attrs(m->t, fn);
    m->fn = fn;
    m->entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(m->b, m->entry);
    NcCuBuilder k = {.m = m, .gpu = 1, .d = d};
    for (int i = 0; i < d->nparams; i++) k.params[i] = LLVMGetParam(fn, (unsigned)i);
    if (d->smem_floats) {
        char name[256];
        snprintf(name, sizeof name, "%s_smem", d->name);
        LLVMTypeRef at = LLVMArrayType2(m->f32, (uint64_t)d->smem_floats);
        LLVMValueRef g = LLVMAddGlobalInAddressSpace(m->mod, at, name, 3);
        LLVMSetLinkage(g, LLVMInternalLinkage);
        LLVMSetInitializer(g, LLVMGetUndef(at));
        LLVMSetAlignment(g, 16);
        k.smem = LLVMBuildAddrSpaceCast(m->b, g, m->ptr, "smem");
    }
    k.tid = sreg(m, "llvm.nvvm.read.ptx.sreg.tid.x");
    k.bid = sreg(m, "llvm.nvvm.read.ptx.sreg.ctaid.x");
    for (int p = 0; p < d->nphases; p++) {
        if (p) call_intrinsic(m, "llvm.nvvm.barrier0", NULL, NULL, 0);
        d->body(&k, p, d->ctx);
    }
    LLVMBuildRetVoid(m->b);
    return 0;
}

char *nc_cu_module_ptx(NcCgModule *m, NcError *e) {
    if (nc_cg_module_optimize(m, e)) return NULL;
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(m->t->tm, m->mod, LLVMAssemblyFile, &err, &buf)) {
        nc_errorf(e, "LLVM cannot emit PTX: %s", err);
        LLVMDisposeMessage(err);
        return NULL;
    }
    const size_t n = LLVMGetBufferSize(buf);
    char *s = nc_malloc(n + 1);
    memcpy(s, LLVMGetBufferStart(buf), n);
    s[n] = 0;
    LLVMDisposeMemoryBuffer(buf);
    return s;
}

/* --- CPU --------------------------------------------------------------- */

int nc_cu_build_cpu(NcCgModule *m, const NcCuDesc *d, NcError *e) {
    if (check_desc(d, e)) return -1;
    LLVMTypeRef pt = m->ptr;
    LLVMValueRef fn = LLVMAddFunction(m->mod, d->name, LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), &pt, 1, 0));
    nc_cg_target_attrs(m->t, fn);
    m->fn = fn;
    m->entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(m->b, m->entry);
    NcCuBuilder k = {.m = m, .gpu = 0, .d = d};
    for (int i = 0; i < d->nparams; i++) k.params[i] = cgb_arg_ptr(m, LLVMGetParam(fn, 0), i);
    if (d->smem_floats) {
        k.smem = LLVMBuildAlloca(m->b, LLVMArrayType2(m->f32, (uint64_t)d->smem_floats), "smem");
        LLVMSetAlignment(k.smem, 16);
    }
    LLVMValueRef bi, ti;
    CgbLoop blocks = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, d->grid), 1, &bi);
    k.bid = bi;
    /* a barrier: every thread finishes phase p before any starts p + 1 */
    for (int p = 0; p < d->nphases; p++) {
        CgbLoop threads = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, d->block), 1, &ti);
        k.tid = ti;
        d->body(&k, p, d->ctx);
        cgb_loop_end(m, &threads);
    }
    cgb_loop_end(m, &blocks);
    LLVMBuildRetVoid(m->b);
    return 0;
}
