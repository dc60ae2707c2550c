/* cg_wino_math.c — Winograd's 1-D transforms as vector IR for
 * cg_nhwc_wino.c: the lanes hold independent problems (channels). */
#include "codegen/cpu/cg_wino_math.h"

static LLVMValueRef fadd(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(m->b, a, b, ""); }
static LLVMValueRef fsub(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(m->b, a, b, ""); }
/* k * a + b */
static LLVMValueRef kfma(NcCgModule *m, double k, LLVMValueRef a, LLVMValueRef b) {
    return cgb_fma(m, cgb_splat(m, cgb_f32(m, k)), a, b);
}

/* t = B^T d, d[0..alpha) at stride ds, t[0..alpha) at stride ts */
void nc_wino_input_1d(NcCgModule *m, int mt, LLVMValueRef *d, int ds, LLVMValueRef *t, int ts) {
    if (mt == 2) { /* B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
        t[0] = fsub(m, d[0], d[2 * ds]);
        t[ts] = fadd(m, d[ds], d[2 * ds]);
        t[2 * ts] = fsub(m, d[2 * ds], d[ds]);
        t[3 * ts] = fsub(m, d[ds], d[3 * ds]);
        return;
    }
    LLVMValueRef d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
    t[0] = kfma(m, 4, d0, kfma(m, -5, d2, d4));
    t[ts] = kfma(m, -4, fadd(m, d1, d2), fadd(m, d3, d4));
    t[2 * ts] = kfma(m, 4, fsub(m, d1, d2), fsub(m, d4, d3));
    LLVMValueRef d31 = fsub(m, d3, d1), d42 = fsub(m, d4, d2);
    t[3 * ts] = kfma(m, 2, d31, d42);
    t[4 * ts] = kfma(m, -2, d31, d42);
    t[5 * ts] = kfma(m, 4, d1, kfma(m, -5, d3, d5));
}

/* s = A^T m, m[0..alpha) at stride ms, s[0..mt) at stride ss */
void nc_wino_output_1d(NcCgModule *m, int mt, LLVMValueRef *v, int ms, LLVMValueRef *s, int ss) {
    if (mt == 2) { /* A^T = [1 1 1 0; 0 1 -1 -1] */
        s[0] = fadd(m, fadd(m, v[0], v[ms]), v[2 * ms]);
        s[ss] = fsub(m, fsub(m, v[ms], v[2 * ms]), v[3 * ms]);
        return;
    }
    LLVMValueRef a12 = fadd(m, v[ms], v[2 * ms]), s12 = fsub(m, v[ms], v[2 * ms]);
    LLVMValueRef a34 = fadd(m, v[3 * ms], v[4 * ms]), s34 = fsub(m, v[3 * ms], v[4 * ms]);
    s[0] = fadd(m, fadd(m, v[0], a12), a34);
    s[ss] = kfma(m, 2, s34, s12);
    s[2 * ss] = kfma(m, 4, a34, a12);
    s[3 * ss] = fadd(m, kfma(m, 8, s34, s12), v[5 * ms]);
}
