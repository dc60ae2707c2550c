/* cu_bf16.c — the f32 to bf16 conversion kernel, and bf16 back to f32. */
#include <llvm-c/Core.h>

#include "codegen/cuda/cu_bf16.h"

static LLVMValueRef i32c(NcCuBuilder *k, uint32_t v) { return LLVMConstInt(k->m->i32, v, 0); }

/* In integer arithmetic on the float's bits, as nc_bf16_round: the same
 * instructions on both targets (no cvt.rn.bf16.f32, whose NaN payload rules
 * are not the CPU's). */
static void bf16_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBf16 *c = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, c->n, &in);
    LLVMValueRef u = LLVMBuildBitCast(b, nc_cu_load(k, k->params[0], i), k->m->i32, "");
    LLVMValueRef hi = LLVMBuildLShr(b, u, i32c(k, 16), "");
    LLVMValueRef nan =
        LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, u, i32c(k, 0x7fffffffu), ""), i32c(k, 0x7f800000u), "");
    LLVMValueRef odd = LLVMBuildAnd(b, hi, i32c(k, 1), "");
    LLVMValueRef rne =
        LLVMBuildLShr(b, LLVMBuildAdd(b, u, LLVMBuildAdd(b, odd, i32c(k, 0x7fffu), ""), ""), i32c(k, 16), "");
    LLVMValueRef v = LLVMBuildSelect(b, nan, LLVMBuildOr(b, hi, i32c(k, 0x40), ""), rne, "");
    LLVMTypeRef i16 = LLVMInt16TypeInContext(k->m->ctx);
    LLVMValueRef p = LLVMBuildInBoundsGEP2(b, i16, k->params[1], &i, 1, "");
    LLVMSetAlignment(LLVMBuildStore(b, LLVMBuildTrunc(b, v, i16, ""), p), 2);
    nc_cu_if_end(k, &in);
}

void nc_cu_bf16_desc(NcCuDesc *d, const char *name, const NcCuBf16 *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(k->n),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = bf16_body,
                    .ctx = k};
}

/* bf16 to f32: exact (bf16 is f32's top half), the bits shifted into place. */
static void widen_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBf16 *c = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, c->n, &in);
    LLVMTypeRef i16 = LLVMInt16TypeInContext(k->m->ctx);
    LLVMValueRef h = LLVMBuildLoad2(b, i16, LLVMBuildInBoundsGEP2(b, i16, k->params[0], &i, 1, ""), "");
    LLVMSetAlignment(h, 2);
    LLVMValueRef u = LLVMBuildShl(b, LLVMBuildZExt(b, h, k->m->i32, ""), i32c(k, 16), "");
    nc_cu_store(k, LLVMBuildBitCast(b, u, k->m->f32, ""), k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_bf16_widen_desc(NcCuDesc *d, const char *name, const NcCuBf16 *k) {
    nc_cu_bf16_desc(d, name, k);
    d->body = widen_body;
}
