/* cu_index.c — window geometry, element grids, index arithmetic and block
 * reductions for the GPU kernels. */
#include <llvm-c/Core.h>
#include <math.h>
#include <string.h>

#include "codegen/cuda/cu_index.h"

NcCuWin nc_cu_win(const NcAttrs *a, const int64_t *xshape, const int64_t *yshape) {
    NcCuWin g = {.n = xshape[0],
                 .c = xshape[1],
                 .h = xshape[2],
                 .w = xshape[3],
                 .oh = yshape[2],
                 .ow = yshape[3],
                 .kh = a->kernel[0],
                 .kw = a->kernel[1],
                 .sh = a->stride[0],
                 .sw = a->stride[1],
                 .dh = a->dilation[0] ? a->dilation[0] : 1,
                 .dw = a->dilation[1] ? a->dilation[1] : 1,
                 .pt = a->pad[0],
                 .pl = a->pad[1],
                 .pb = a->pad[2],
                 .pr = a->pad[3]};
    return g;
}

int64_t nc_cu_ew_grid(int64_t total) { return (total + NC_CU_EW_BLOCK - 1) / NC_CU_EW_BLOCK; }

LLVMValueRef nc_cu_ew_index(NcCuBuilder *k, int64_t total, CgbIf *guard) {
    LLVMValueRef i = nc_cu_mad(k, k->bid, NC_CU_EW_BLOCK, k->tid);
    *guard = nc_cu_if_begin(k, LLVMBuildICmp(k->m->b, LLVMIntSLT, i, nc_cu_i64(k, total), ""));
    return i;
}

LLVMValueRef nc_cu_add(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(k->m->b, a, b, ""); }
LLVMValueRef nc_cu_addc(NcCuBuilder *k, LLVMValueRef a, int64_t c) {
    return c ? LLVMBuildAdd(k->m->b, a, nc_cu_i64(k, c), "") : a;
}
LLVMValueRef nc_cu_mulc(NcCuBuilder *k, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildMul(k->m->b, a, nc_cu_i64(k, c), "");
}
/* Signed division: the operands are non-negative where the result is used,
 * and a negative one (a tap left of the image, checked by the caller) must
 * not become a huge unsigned quotient that passes a later range check. */
LLVMValueRef nc_cu_divc(NcCuBuilder *k, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildSDiv(k->m->b, a, nc_cu_i64(k, c), "");
}
LLVMValueRef nc_cu_remc(NcCuBuilder *k, LLVMValueRef a, int64_t c) {
    return c == 1 ? nc_cu_i64(k, 0) : LLVMBuildSRem(k->m->b, a, nc_cu_i64(k, c), "");
}
LLVMValueRef nc_cu_mad(NcCuBuilder *k, LLVMValueRef a, int64_t c, LLVMValueRef b) {
    return nc_cu_add(k, nc_cu_mulc(k, a, c), b);
}
LLVMValueRef nc_cu_in(NcCuBuilder *k, LLVMValueRef a, int64_t lo, int64_t hi) {
    return LLVMBuildICmp(k->m->b, LLVMIntULT, nc_cu_addc(k, a, -lo), nc_cu_i64(k, hi - lo), "");
}
LLVMValueRef nc_cu_and(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAnd(k->m->b, a, b, ""); }
LLVMValueRef nc_cu_eq(NcCuBuilder *k, LLVMValueRef a, int64_t c) {
    return LLVMBuildICmp(k->m->b, LLVMIntEQ, a, nc_cu_i64(k, c), "");
}

void nc_cu_unflatten(NcCuBuilder *k, LLVMValueRef i, int nd, const int64_t *dims, LLVMValueRef *idx) {
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = d ? nc_cu_remc(k, i, dims[d]) : i;
        if (d) i = nc_cu_divc(k, i, dims[d]);
    }
}

LLVMValueRef nc_cu_ivar(NcCuBuilder *k, int64_t init) {
    LLVMValueRef v = cgb_var(k->m, k->m->i64);
    LLVMBuildStore(k->m->b, nc_cu_i64(k, init), v);
    return v;
}

LLVMValueRef nc_cu_fadd(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(k->m->b, a, b, ""); }
LLVMValueRef nc_cu_fmul(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(k->m->b, a, b, ""); }
LLVMValueRef nc_cu_get(NcCuBuilder *k, LLVMValueRef var) {
    return LLVMBuildLoad2(k->m->b, LLVMGetAllocatedType(var), var, "");
}
void nc_cu_set(NcCuBuilder *k, LLVMValueRef var, LLVMValueRef v) { LLVMBuildStore(k->m->b, v, var); }

/* A call of an intrinsic overloaded on f32 (llvm.sqrt, llvm.fmuladd). */
static LLVMValueRef f32_intrinsic(NcCgModule *m, const char *name, LLVMValueRef *args, unsigned n) {
    const unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    LLVMTypeRef ov[1] = {m->f32};
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, ov, 1);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, ov, 1);
    return LLVMBuildCall2(m->b, fty, fn, args, n, "");
}

LLVMValueRef nc_cu_sqrt(NcCuBuilder *k, LLVMValueRef x) { return f32_intrinsic(k->m, "llvm.sqrt", &x, 1); }

static LLVMValueRef fma3(NcCgModule *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMValueRef args[3] = {a, b, c};
    return f32_intrinsic(m, "llvm.fmuladd", args, 3);
}

LLVMValueRef nc_cu_sigmoid(NcCuBuilder *k, LLVMValueRef x) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef den = LLVMBuildFAdd(b, nc_cu_f32(k, 1), nc_cu_exp(k, LLVMBuildFNeg(b, x, "")), "");
    return LLVMBuildFDiv(b, nc_cu_f32(k, 1), den, "");
}

LLVMValueRef nc_cu_log(NcCuBuilder *k, LLVMValueRef x) {
    NcCgModule *m = k->m;
    LLVMBuilderRef b = m->b;
    LLVMValueRef bits = LLVMBuildBitCast(b, x, m->i32, "");
    /* x = f 2^e with f in [0.5, 1) */
    LLVMValueRef e = LLVMBuildSub(
        b, LLVMBuildAnd(b, LLVMBuildLShr(b, bits, LLVMConstInt(m->i32, 23, 0), ""), LLVMConstInt(m->i32, 0xff, 0), ""),
        LLVMConstInt(m->i32, 126, 0), "");
    LLVMValueRef f = LLVMBuildBitCast(b,
                                      LLVMBuildOr(b, LLVMBuildAnd(b, bits, LLVMConstInt(m->i32, 0x807fffff, 0), ""),
                                                  LLVMConstInt(m->i32, 0x3f000000, 0), ""),
                                      m->f32, "");
    /* f < sqrt(1/2): e - 1, f = 2 f - 1; else f = f - 1 */
    LLVMValueRef small = LLVMBuildFCmp(b, LLVMRealOLT, f, cgb_f32(m, 0.707106781186547524), "");
    e = LLVMBuildSub(b, e, LLVMBuildZExt(b, small, m->i32, ""), "");
    f = LLVMBuildFSub(b, LLVMBuildSelect(b, small, LLVMBuildFAdd(b, f, f, ""), f, ""), cgb_f32(m, 1.0), "");
    LLVMValueRef z = LLVMBuildFMul(b, f, f, "");
    static const double c[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,  -1.2420140846E-1, 1.4249322787E-1,
                               -1.6668057665E-1, 2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
    LLVMValueRef p = cgb_f32(m, c[0]);
    for (int i = 1; i < 9; i++) p = fma3(m, p, f, cgb_f32(m, c[i]));
    LLVMValueRef y = LLVMBuildFMul(b, LLVMBuildFMul(b, p, f, ""), z, "");
    LLVMValueRef ef = LLVMBuildSIToFP(b, e, m->f32, "");
    y = fma3(m, ef, cgb_f32(m, -2.12194440e-4), y);
    y = fma3(m, z, cgb_f32(m, -0.5), y);
    LLVMValueRef r = LLVMBuildFAdd(b, f, y, "");
    return fma3(m, ef, cgb_f32(m, 0.693359375), r);
}

/* --- block reductions ---------------------------------------------------- */

int nc_cu_red_levels(int64_t block) {
    int l = 0;
    while ((1LL << l) < block) l++;
    return l;
}

int64_t nc_cu_red_block(int64_t n) {
    int64_t b = 32;
    while (b < n && b < 256) b *= 2;
    return b;
}

void nc_cu_red_put(NcCuBuilder *k, int64_t block, int nacc, LLVMValueRef *v) {
    for (int a = 0; a < nacc; a++) nc_cu_store(k, v[a], k->smem, nc_cu_addc(k, k->tid, a * block));
}

void nc_cu_red_level(NcCuBuilder *k, int64_t block, int nacc, int level, int is_max, int64_t out) {
    LLVMBuilderRef b = k->m->b;
    const int64_t s = block >> (level + 1);
    CgbIf c = nc_cu_if_begin(k, LLVMBuildICmp(b, LLVMIntSLT, k->tid, nc_cu_i64(k, s), ""));
    for (int a = 0; a < nacc; a++) {
        LLVMValueRef i = nc_cu_addc(k, k->tid, a * block);
        LLVMValueRef x = nc_cu_load(k, k->smem, i), y = nc_cu_load(k, k->smem, nc_cu_addc(k, i, s));
        LLVMValueRef v = is_max ? nc_cu_max(k, x, y) : LLVMBuildFAdd(b, x, y, "");
        /* at the last level only thread 0 is active: its total goes past the scratch */
        nc_cu_store(k, v, k->smem, s == 1 ? nc_cu_i64(k, out + a) : i);
    }
    nc_cu_if_end(k, &c);
}

LLVMValueRef nc_cu_red_result(NcCuBuilder *k, int64_t out, int a) {
    return nc_cu_load(k, k->smem, nc_cu_i64(k, out + a));
}

CgbIf nc_cu_if_thread0(NcCuBuilder *k) { return nc_cu_if_begin(k, nc_cu_eq(k, k->tid, 0)); }
