/* cg_module.c — the LLVM module of a bundle: target machine for the host
 * (or --cpu), one kernel per covered node, the `netc_kernels` table,
 * verification, the O3 pipeline, and the object file. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <string.h>

#include "codegen/cpu/cg_internal.h"
#include "ir/ops.h"

LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cg->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(cg->entry);
    if (first) LLVMPositionBuilderBefore(b, first);
    else LLVMPositionBuilderAtEnd(b, cg->entry);
    LLVMValueRef a = LLVMBuildAlloca(b, t, "");
    LLVMDisposeBuilder(b);
    return a;
}

LLVMValueRef cg_call(Cg *cg, const char *name, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &cg->vec, 1);
    LLVMTypeRef ty = LLVMIntrinsicGetType(cg->ctx, id, &cg->vec, 1);
    LLVMValueRef args[3] = {a, b, c};
    unsigned n = c ? 3 : b ? 2 : 1;
    return LLVMBuildCall2(cg->b, ty, fn, args, n, "");
}

LLVMValueRef cg_splat_i64(Cg *cg, LLVMValueRef v) {
    LLVMTypeRef vt = LLVMVectorType(cg->i64, (unsigned)cg->vw);
    LLVMValueRef e = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), v, LLVMConstInt(cg->i64, 0, 0), "");
    LLVMValueRef zero = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(cg->ctx), (unsigned)cg->vw));
    return LLVMBuildShuffleVector(cg->b, e, LLVMGetUndef(vt), zero, "");
}

void cg_masked_store(Cg *cg, LLVMValueRef val, LLVMValueRef ptr, LLVMValueRef mask) {
    const char *name = "llvm.masked.store";
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef over[2] = {cg->vec, cg->ptr};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, over, 2);
    LLVMTypeRef ty = LLVMIntrinsicGetType(cg->ctx, id, over, 2);
    LLVMValueRef args[4] = {val, ptr, LLVMConstInt(LLVMInt32TypeInContext(cg->ctx), 4, 0), mask};
    LLVMBuildCall2(cg->b, ty, fn, args, 4, "");
}

const char *nc_cg_host_cpu(void) {
    static char name[64];
    char *h = LLVMGetHostCPUName();
    snprintf(name, sizeof name, "%s", h);
    LLVMDisposeMessage(h);
    return name;
}

int nc_cg_emit_object(const char *path, NcGraph *const *graphs, int ngraphs, const NcCgOptions *opt, NcError *e) {
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    char *host_cpu = LLVMGetHostCPUName(), *host_features = LLVMGetHostCPUFeatures();
    const char *cpu = opt && opt->cpu ? opt->cpu : host_cpu;
    const char *features = opt && opt->features ? opt->features : opt && opt->cpu ? "" : host_features;
    LLVMTargetRef target;
    char *err = NULL;
    int rc = 0;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        rc = nc_errorf(e, "LLVM has no target for %s: %s", triple, err);
        LLVMDisposeMessage(err);
        LLVMDisposeMessage(triple);
        LLVMDisposeMessage(host_cpu);
        LLVMDisposeMessage(host_features);
        return rc;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    Cg cg;
    memset(&cg, 0, sizeof cg);
    cg.ctx = LLVMContextCreate();
    cg.mod = LLVMModuleCreateWithNameInContext("netc_kernels", cg.ctx);
    LLVMSetTarget(cg.mod, triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(cg.mod, dl);
    cg.b = LLVMCreateBuilderInContext(cg.ctx);
    cg.f32 = LLVMFloatTypeInContext(cg.ctx);
    cg.i64 = LLVMInt64TypeInContext(cg.ctx);
    cg.ptr = LLVMPointerTypeInContext(cg.ctx, 0);
    /* the vector width the target really has (a CPU without AVX-512 here) */
    cg.vw = strstr(features, "+avx512f") ? 16 : strstr(features, "+avx") ? 8 : 4;
    if (opt && opt->cpu && !opt->features) cg.vw = 8;
    cg.vec = LLVMVectorType(cg.f32, (unsigned)cg.vw);
    cg.noalias = LLVMCreateEnumAttribute(cg.ctx, LLVMGetEnumAttributeKindForName("noalias", 7), 0);
    cg.nocapture = LLVMCreateEnumAttribute(cg.ctx, LLVMGetEnumAttributeKindForName("nocapture", 9), 0);

    /* kernels, and the table: {fn, ocb} per node of every program */
    int total = 0;
    for (int gi = 0; gi < ngraphs; gi++) total += graphs[gi]->nodes.len;
    LLVMTypeRef entry_ty = LLVMStructTypeInContext(cg.ctx, (LLVMTypeRef[]){cg.ptr, cg.i64, cg.i64}, 3, 0);
    LLVMValueRef *entries = nc_malloc((size_t)(total ? total : 1) * sizeof(LLVMValueRef));
    int k = 0, made = 0;
    for (int gi = 0; gi < ngraphs; gi++)
        for (int ni = 0; ni < graphs[gi]->nodes.len; ni++, k++) {
            const NcNode *nd = &graphs[gi]->nodes.data[ni];
            int ocb = 0;
            const char *why = NULL;
            LLVMValueRef f = LLVMConstNull(cg.ptr);
            if (nd->op == NC_OP_CONV2D && cg_conv_supported(graphs[gi], nd, &ocb, &why)) {
                char name[64];
                snprintf(name, sizeof name, "netc_conv_p%d_n%d", gi, ni);
                cg_emit_conv(&cg, graphs[gi], nd, name, ocb);
                LLVMValueRef fn = LLVMGetNamedFunction(cg.mod, name);
                LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", cpu);
                LLVMAddTargetDependentFunctionAttr(fn, "target-features", features);
                f = fn;
                made++;
            } else if (nd->op == NC_OP_CONV2D && opt && opt->verbose) {
                fprintf(stderr, "codegen: %s: reference kernel (%s)\n", nd->scope, why);
            }
            int64_t rows = 0;
            if (ocb) {
                const NcValue *y = nc_val(graphs[gi], nd->outputs[0]);
                int64_t nchunks = (y->shape[2] * y->shape[3] + 2 * cg.vw - 1) / (2 * cg.vw);
                int64_t sb = cg_conv_block(nc_val(graphs[gi], nd->inputs[1])->shape[1], nchunks, 2 * cg.vw);
                rows = cg_conv_flat(graphs[gi], nd) ? (nchunks + sb - 1) / sb : y->shape[2];
            }
            LLVMValueRef fields[3] = {f, LLVMConstInt(cg.i64, (unsigned long long)ocb, 0), LLVMConstInt(cg.i64, (unsigned long long)rows, 0)};
            entries[k] = LLVMConstNamedStruct(entry_ty, fields, 3);
        }
    LLVMTypeRef table_ty = LLVMArrayType2(entry_ty, (uint64_t)total);
    LLVMValueRef table = LLVMAddGlobal(cg.mod, table_ty, "netc_kernels");
    LLVMSetInitializer(table, LLVMConstArray2(entry_ty, entries, (uint64_t)total));
    LLVMSetGlobalConstant(table, 1);
    free(entries);

    if (LLVMVerifyModule(cg.mod, LLVMReturnStatusAction, &err)) {
        rc = nc_errorf(e, "internal error: generated LLVM IR does not verify: %.1500s", err);
    } else {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMErrorRef perr = LLVMRunPasses(cg.mod, "default<O3>", tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (perr) {
            char *m = LLVMGetErrorMessage(perr);
            rc = nc_errorf(e, "LLVM optimisation failed: %s", m);
            LLVMDisposeErrorMessage(m);
        } else if (LLVMTargetMachineEmitToFile(tm, cg.mod, (char *)path, LLVMObjectFile, &err)) {
            rc = nc_errorf(e, "%s: LLVM cannot write the object: %s", path, err);
        }
    }
    if (err) LLVMDisposeMessage(err);
    if (opt && opt->verbose) fprintf(stderr, "codegen: %d kernels for %s (%s), %d-float vectors\n", made, cpu, triple, cg.vw);
    LLVMDisposeBuilder(cg.b);
    LLVMDisposeModule(cg.mod);
    LLVMDisposeTargetData(dl);
    LLVMContextDispose(cg.ctx);
    LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_features);
    return rc ? -1 : made;
}
