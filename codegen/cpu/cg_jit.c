/* cg_jit.c — ORC LLJIT over in-memory objects. */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "codegen/cpu/cg_jit.h"

struct NcCgJit {
    LLVMOrcLLJITRef jit;
};

/* Takes the error (LLVM errors must be consumed exactly once). */
static int llvm_error(NcError *e, const char *what, LLVMErrorRef err) {
    char *msg = LLVMGetErrorMessage(err);
    nc_errorf(e, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

NcCgJit *nc_cg_jit_new(NcError *e) {
    NcCgJit *j = nc_calloc(1, sizeof *j);
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->jit, NULL);
    if (err) {
        llvm_error(e, "cannot start LLVM's JIT", err);
        free(j);
        return NULL;
    }
    /* Generated code may call libc (LLVM turns some loops into memset) or
     * libm: resolve such symbols in this process. */
    LLVMOrcDefinitionGeneratorRef gen;
    err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (err) {
        llvm_error(e, "JIT: cannot search this process for symbols", err);
        nc_cg_jit_free(j);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
    return j;
}

void nc_cg_jit_free(NcCgJit *j) {
    if (!j) return;
    if (j->jit) {
        LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->jit);
        if (err) LLVMConsumeError(err);
    }
    free(j);
}

int nc_cg_jit_add(NcCgJit *j, NcCgModule *m, NcError *e) {
    LLVMMemoryBufferRef obj;
    if (nc_cg_module_emit_buffer(m, &obj, e)) return -1;
    /* the JIT takes the buffer, also on failure */
    LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), obj);
    return err ? llvm_error(e, "JIT: cannot link the kernels", err) : 0;
}

int nc_cg_jit_add_object(NcCgJit *j, const char *path, NcError *e) {
    LLVMMemoryBufferRef obj;
    char *msg = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(path, &obj, &msg)) {
        nc_errorf(e, "%s: %s", path, msg);
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), obj);
    return err ? llvm_error(e, path, err) : 0;
}

void *nc_cg_jit_lookup(NcCgJit *j, const char *name, NcError *e) {
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef err = LLVMOrcLLJITLookup(j->jit, &addr, name);
    if (err) {
        llvm_error(e, name, err);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}
