/* cg_target.c — target machine for the host (or a named) CPU, and the
 * vector width its code gets. */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cpu/cg_target.h"

/* What LLVM writes on stderr while making a target machine for `cpu`.  Its C
 * API has no list of CPUs and no error for an unknown one: it only warns
 * there (and goes on to abort in the back end), and for the name "help"
 * prints the CPUs it knows.  NULL when stderr cannot be diverted. */
static char *llvm_says(LLVMTargetRef target, const char *triple, const char *cpu) {
    FILE *tmp = tmpfile();
    if (!tmp) return NULL;
    fflush(stderr);
    const int saved = dup(2);
    if (saved < 0 || dup2(fileno(tmp), 2) < 0) {
        if (saved >= 0) close(saved);
        fclose(tmp);
        return NULL;
    }
    LLVMTargetMachineRef tm =
        LLVMCreateTargetMachine(target, triple, cpu, "", LLVMCodeGenLevelNone, LLVMRelocPIC, LLVMCodeModelDefault);
    if (tm) LLVMDisposeTargetMachine(tm);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    const long n = ftell(tmp);
    char *text = nc_calloc((size_t)(n > 0 ? n : 0) + 1, 1);
    rewind(tmp);
    if (n > 0 && fread(text, 1, (size_t)n, tmp) != (size_t)n) text[0] = 0;
    fclose(tmp);
    return text;
}

/* 0 when LLVM knows `cpu` (or cannot be asked); else -1 with the CPUs it
 * knows in the message. */
static int check_cpu(LLVMTargetRef target, const char *triple, const char *cpu, NcError *e) {
    char *said = llvm_says(target, triple, cpu);
    const int unknown = said && strstr(said, "not a recognized processor");
    free(said);
    if (!unknown) return 0;
    char *help = llvm_says(target, triple, "help"), names[NC_ERRMAX - 200] = "";
    const char *p = help ? strstr(help, "Available CPUs for this target:") : NULL;
    const char *end = p ? strstr(p, "Available features") : NULL;
    size_t n = 0;
    char last[64] = "";
    for (p = p ? strchr(p, '\n') : NULL; p && p < end && n + 64 < sizeof names; p = strchr(p + 1, '\n')) {
        char name[64];
        if (sscanf(p + 1, " %63s - ", name) != 1 || !strcmp(name, "Available") || !strcmp(name, last)) continue;
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", name);
        memcpy(last, name, sizeof last);
    }
    free(help);
    return nc_errorf(e, "--cpu '%s': not a CPU LLVM knows for %s%s%s", cpu, triple, n ? "; known: " : "", names);
}

/* The widest float vector the target keeps in one register, found by asking
 * LLVM rather than by matching feature names: a <16 x float> multiply-add is
 * compiled to assembly and the register names say what it became (zmm:
 * AVX-512, ymm: AVX, else SSE), and whether it became an FMA (*fma).  This
 * also answers for `--cpu NAME` without a feature string, which a host
 * feature list cannot. */
static int probe_vector_width(NcCgTarget *t, int *fma) {
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
    const char *fma_name = "llvm.fmuladd";
    unsigned id = LLVMLookupIntrinsicID(fma_name, strlen(fma_name));
    LLVMValueRef args[3] = {x, x, x};
    LLVMBuildStore(b,
                   LLVMBuildCall2(b, LLVMIntrinsicGetType(ctx, id, &v16, 1),
                                  LLVMGetIntrinsicDeclaration(mod, id, &v16, 1), args, 3, ""),
                   LLVMGetParam(fn, 1));
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    int vw = 4;
    *fma = 0;
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(t->tm, mod, LLVMAssemblyFile, &err, &buf)) {
        size_t n = LLVMGetBufferSize(buf);
        char *s = nc_malloc(n + 1);
        memcpy(s, LLVMGetBufferStart(buf), n);
        s[n] = 0;
        vw = strstr(s, "zmm") ? 16 : strstr(s, "ymm") ? 8 : 4;
        *fma = strstr(s, "vfmadd") != NULL;
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
    if (cpu && check_cpu(target, t->triple, cpu, e)) {
        nc_cg_target_free(t);
        return -1;
    }
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                    LLVMCodeModelDefault);
    if (!t->tm) {
        nc_errorf(e, "LLVM cannot make a target machine for CPU '%s' (%s)", t->cpu, t->triple);
        nc_cg_target_free(t);
        return -1;
    }
    int fma;
    t->vw = probe_vector_width(t, &fma);
    t->nvregs = t->vw == 16 ? 32 : 16;
    t->isa = t->vw == 16 ? "avx512" : t->vw == 8 ? (fma ? "avx2" : "avx") : "sse";
    t->blocking = t->isa, t->bvw = t->vw, t->bregs = t->nvregs;
    const char *emulate = getenv("NETC_CG_BLOCKING");
    NcError be;
    if (emulate && *emulate && nc_cg_target_block_as(t, emulate, &be)) {
        nc_errorf(e, "NETC_CG_BLOCKING: %s", be.msg);
        nc_cg_target_free(t);
        return -1;
    }
    return 0;
}

int nc_cg_target_block_as(NcCgTarget *t, const char *isa, NcError *e) {
    if (!strcmp(isa, t->isa)) {
        t->blocking = t->isa, t->bvw = t->vw, t->bregs = t->nvregs;
        return 0;
    }
    if (!strcmp(isa, "avx512") && t->vw <= 16) {
        t->blocking = "avx512", t->bvw = 16, t->bregs = 32;
        return 0;
    }
    return nc_errorf(e, "cannot choose blocks for '%s' with %s's %d-float vectors (only a wider ISA: 'avx512')", isa,
                     t->isa, t->vw);
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
