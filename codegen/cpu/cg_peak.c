/* cg_peak.c — the FMA peak loop (cg_peak.h). */
#include "codegen/cpu/cg_peak.h"

int nc_cg_peak_chains(const NcCgTarget *t) { return t->nvregs == 32 ? 24 : 12; }

void nc_cg_emit_peak(NcCgModule *m, const char *name, int chains) {
    if (chains < 1) chains = 1;
    if (chains > 32) chains = 32;
    LLVMTypeRef params[2] = {m->i64, m->ptr};
    LLVMValueRef fn = LLVMAddFunction(m->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), params, 2, 0));
    nc_cg_target_attrs(m->t, fn);
    m->fn = fn;
    m->entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(m->b, m->entry);
    LLVMValueRef acc[32];
    LLVMValueRef x = cgb_splat(m, cgb_f32(m, 0.999999)), y = cgb_splat(m, cgb_f32(m, 1e-8));
    for (int i = 0; i < chains; i++) {
        acc[i] = cgb_var(m, m->vec);
        LLVMBuildStore(m->b, cgb_splat(m, cgb_f32(m, 1e-3 * i)), acc[i]);
    }
    LLVMValueRef it;
    CgbLoop l = cgb_loop_begin(m, cgb_i64(m, 0), LLVMGetParam(fn, 0), 1, &it);
    for (int i = 0; i < chains; i++)
        LLVMBuildStore(m->b, cgb_fma(m, LLVMBuildLoad2(m->b, m->vec, acc[i], ""), x, y), acc[i]);
    cgb_loop_end(m, &l);
    LLVMValueRef sum = LLVMBuildLoad2(m->b, m->vec, acc[0], "");
    for (int i = 1; i < chains; i++) sum = LLVMBuildFAdd(m->b, sum, LLVMBuildLoad2(m->b, m->vec, acc[i], ""), "");
    cgb_store(m, sum, LLVMGetParam(fn, 1));
    LLVMBuildRetVoid(m->b);
}
