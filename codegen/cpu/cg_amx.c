/* cg_amx.c — target features for reduced precision, and AMX tiles as IR
 * (cg_amx.h). */
#include "codegen/cpu/cg_amx.h"

#include <llvm-c/Target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LLVM 19's x86 CPUs with AMX-TILE, AMX-BF16 and AMX-INT8 (X86.td). */
static const char *const amx_cpus[] = {"sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d",
                                       "diamondrapids"};

static int amx(const NcCgTarget *t, const char *feature) {
    if (t->features && *t->features) return strstr(t->features, feature) != NULL && strstr(t->features, "+amx-tile");
    for (size_t i = 0; i < sizeof amx_cpus / sizeof amx_cpus[0]; i++)
        if (t->cpu && !strcmp(t->cpu, amx_cpus[i])) return 1;
    return 0;
}
int nc_cg_target_amx_bf16(const NcCgTarget *t) { return amx(t, "+amx-bf16"); }
int nc_cg_target_amx_int8(const NcCgTarget *t) { return amx(t, "+amx-int8"); }

int nc_cg_target_avx512bf16(const NcCgTarget *t) {
    if (t->features && *t->features) return strstr(t->features, "+avx512bf16") != NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("probe", ctx);
    LLVMSetTarget(mod, t->triple);
    LLVMTypeRef vf = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16);
    LLVMTypeRef vb = LLVMVectorType(LLVMBFloatTypeInContext(ctx), 16);
    LLVMTypeRef params[2] = {LLVMPointerTypeInContext(ctx, 0), LLVMPointerTypeInContext(ctx, 0)};
    LLVMValueRef fn = LLVMAddFunction(mod, "probe", LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 2, 0));
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", t->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", t->features ? t->features : "");
    LLVMAddTargetDependentFunctionAttr(fn, "min-legal-vector-width", "512");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef x = LLVMBuildLoad2(b, vf, LLVMGetParam(fn, 0), "");
    LLVMBuildStore(b, LLVMBuildFPTrunc(b, x, vb, ""), LLVMGetParam(fn, 1));
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    int has = 0;
    LLVMMemoryBufferRef buf = NULL;
    char *err = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(t->tm, mod, LLVMAssemblyFile, &err, &buf)) {
        const size_t n = LLVMGetBufferSize(buf);
        char *s = malloc(n + 1);
        if (s) {
            memcpy(s, LLVMGetBufferStart(buf), n);
            s[n] = 0;
            has = strstr(s, "vcvtneps2bf16") != NULL;
            free(s);
        }
        LLVMDisposeMemoryBuffer(buf);
    }
    if (err) LLVMDisposeMessage(err);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return has;
}

LLVMValueRef cg_amx_call(NcCgModule *m, const char *intrinsic, LLVMValueRef *args, int nargs) {
    const unsigned id = LLVMLookupIntrinsicID(intrinsic, strlen(intrinsic));
    NC_CHECK(id != 0);
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, NULL, 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, NULL, 0);
    return LLVMBuildCall2(m->b, fty, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef tile_no(NcCgModule *m, int tile) {
    NC_CHECK(tile >= 0 && tile < 8);
    return LLVMConstInt(LLVMInt8TypeInContext(m->ctx), (unsigned long long)tile, 0);
}

LLVMValueRef cg_amx_config(NcCgModule *m, const int rows[8], const int colsb[8]) {
    /* palette 1: byte 0 palette, 1 start row, 16-47 colsb (u16 x 16), 48-63 rows (u8 x 16) */
    unsigned char cfg[64];
    memset(cfg, 0, sizeof cfg);
    cfg[0] = 1;
    char name[64] = "netc_amx_cfg";
    size_t n = strlen(name);
    for (int i = 0; i < 8; i++) {
        NC_CHECK(rows[i] >= 0 && rows[i] <= 16 && colsb[i] >= 0 && colsb[i] <= 64 && colsb[i] % 4 == 0);
        cfg[16 + 2 * i] = (unsigned char)colsb[i], cfg[48 + i] = (unsigned char)rows[i];
        n += (size_t)snprintf(name + n, sizeof name - n, "_%dx%d", rows[i], colsb[i]);
    }
    LLVMValueRef g = LLVMGetNamedGlobal(m->mod, name);
    if (g) return g;
    LLVMTypeRef i8 = LLVMInt8TypeInContext(m->ctx);
    LLVMValueRef bytes[64];
    for (int i = 0; i < 64; i++) bytes[i] = LLVMConstInt(i8, cfg[i], 0);
    g = LLVMAddGlobal(m->mod, LLVMArrayType(i8, 64), name);
    LLVMSetInitializer(g, LLVMConstArray(i8, bytes, 64));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    LLVMSetAlignment(g, 64);
    return g;
}

void cg_amx_ldtilecfg(NcCgModule *m, LLVMValueRef config) {
    LLVMValueRef a[1] = {config};
    cg_amx_call(m, "llvm.x86.ldtilecfg", a, 1);
}
void cg_amx_release(NcCgModule *m) { cg_amx_call(m, "llvm.x86.tilerelease", NULL, 0); }
void cg_amx_zero(NcCgModule *m, int tile) {
    LLVMValueRef a[1] = {tile_no(m, tile)};
    cg_amx_call(m, "llvm.x86.tilezero", a, 1);
}
void cg_amx_load(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride) {
    LLVMValueRef a[3] = {tile_no(m, tile), p, cgb_i64(m, stride)};
    cg_amx_call(m, "llvm.x86.tileloadd64", a, 3);
}
void cg_amx_load_t1(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride) {
    LLVMValueRef a[3] = {tile_no(m, tile), p, cgb_i64(m, stride)};
    cg_amx_call(m, "llvm.x86.tileloaddt164", a, 3);
}
void cg_amx_store(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride) {
    LLVMValueRef a[3] = {tile_no(m, tile), p, cgb_i64(m, stride)};
    cg_amx_call(m, "llvm.x86.tilestored64", a, 3);
}
void cg_amx_dp(NcCgModule *m, const char *intrinsic, int c, int a, int b) {
    LLVMValueRef args[3] = {tile_no(m, c), tile_no(m, a), tile_no(m, b)};
    cg_amx_call(m, intrinsic, args, 3);
}
