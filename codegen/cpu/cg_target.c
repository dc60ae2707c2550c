/* cg_target.c — target machine for the host (or a named) CPU, and the
 * vector width its code gets. */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <string.h>

#include "codegen/cpu/cg_target.h"

/* The widest float vector the target keeps in one register, found by asking
 * LLVM rather than by matching feature names: a <16 x float> add is compiled
 * to assembly and the register names say what it became (zmm: AVX-512, ymm:
 * AVX, else SSE).  This also answers for `--cpu NAME` without a feature
 * string, which a host feature list cannot. */
static int probe_vector_width(NcCgTarget *t) {
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("probe", ctx);
    LLVMSetTarget(mod, t->triple);
    LLVMTypeRef v16 = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16);
    LLVMTypeRef params[2] = {LLVMPointerTypeInContext(ctx, 0), LLVMPointerTypeInContext(ctx, 0)};
    LLVMValueRef fn = LLVMAddFunction(mod, "probe", LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 2, 0));
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", t->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", t->features);
    LLVMAddTargetDependentFunctionAttr(fn, "min-legal-vector-width", "512");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef x = LLVMBuildLoad2(b, v16, LLVMGetParam(fn, 0), "");
    LLVMBuildStore(b, LLVMBuildFAdd(b, x, x, ""), LLVMGetParam(fn, 1));
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    int vw = 4;
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(t->tm, mod, LLVMAssemblyFile, &err, &buf)) {
        size_t n = LLVMGetBufferSize(buf);
        char *s = nc_malloc(n + 1);
        memcpy(s, LLVMGetBufferStart(buf), n);
        s[n] = 0;
        vw = strstr(s, "zmm") ? 16 : strstr(s, "ymm") ? 8 : 4;
        free(s);
        LLVMDisposeMemoryBuffer(buf);
    }
    if (err) LLVMDisposeMessage(err);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return vw;
}

int nc_cg_target_init(NcCgTarget *t, const char *cpu, const char *features, NcError *e) {
    memset(t, 0, sizeof *t);
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    t->triple = LLVMGetDefaultTargetTriple();
    if (cpu) {
        t->cpu = nc_strdup(cpu);
        t->features = nc_strdup(features ? features : "");
    } else {
        char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
        t->cpu = nc_strdup(c);
        t->features = nc_strdup(features ? features : f);
        LLVMDisposeMessage(c);
        LLVMDisposeMessage(f);
    }
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
        nc_errorf(e, "LLVM has no target for %s: %s", t->triple, err);
        LLVMDisposeMessage(err);
        nc_cg_target_free(t);
        return -1;
    }
    /* An unknown CPU name is not an error to LLVM: it warns on stderr and
     * makes generic code (which the probe below then reports as 4-wide). */
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                    LLVMCodeModelDefault);
    if (!t->tm) {
        nc_errorf(e, "LLVM cannot make a target machine for CPU '%s' (%s)", t->cpu, t->triple);
        nc_cg_target_free(t);
        return -1;
    }
    t->vw = probe_vector_width(t);
    t->nvregs = t->vw == 16 ? 32 : 16;
    return 0;
}

void nc_cg_target_free(NcCgTarget *t) {
    if (t->tm) LLVMDisposeTargetMachine(t->tm);
    if (t->triple) LLVMDisposeMessage(t->triple);
    free(t->cpu);
    free(t->features);
    memset(t, 0, sizeof *t);
}

void nc_cg_target_attrs(const NcCgTarget *t, LLVMValueRef fn) {
    char width[16];
    snprintf(width, sizeof width, "%d", t->vw * 32);
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", t->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", t->features);
    LLVMAddTargetDependentFunctionAttr(fn, "min-legal-vector-width", width);
    LLVMAddTargetDependentFunctionAttr(fn, "prefer-vector-width", width);
}
