/* cg_eltwise.c — elementwise kernels: whole vectors along a plane, the
 * ragged end under a lane mask (no reads or writes past the tensor). */
#include "codegen/cpu/cg_eltwise.h"

void nc_cg_emit_bias_relu(NcCgModule *m, const char *name, int64_t n, int64_t c, int64_t hw, int relu) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef x = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), bias = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1);
    LLVMValueRef y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    (void)n;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef ch = LLVMBuildSRem(m->b, t, cgb_i64(m, c), "");
    LLVMValueRef bv = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, bias, ch), ""));
    LLVMValueRef plane = LLVMBuildNSWMul(m->b, t, cgb_i64(m, hw), "");
    const int vw = m->vw;
    const int64_t full = hw / vw * vw;
    LLVMValueRef i;
    CgbLoop li = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), vw, &i);
    LLVMValueRef off = LLVMBuildNSWAdd(m->b, plane, i, "");
    LLVMValueRef v = LLVMBuildFAdd(m->b, cgb_load(m, cgb_gep(m, x, off)), bv, "");
    if (relu) v = cgb_max(m, v, cgb_zero(m));
    cgb_store(m, v, cgb_gep(m, y, off));
    cgb_loop_end(m, &li);
    if (hw > full) {
        LLVMValueRef off2 = LLVMBuildNSWAdd(m->b, plane, cgb_i64(m, full), "");
        int rest = (int)(hw - full);
        LLVMValueRef v2 = LLVMBuildFAdd(m->b, cgb_load_n(m, cgb_gep(m, x, off2), rest), bv, "");
        if (relu) v2 = cgb_max(m, v2, cgb_zero(m));
        cgb_store_n(m, v2, cgb_gep(m, y, off2), rest);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
}
