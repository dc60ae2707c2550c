/* cu_emit.c — lowered graphs to one object: the kernels' CPU lowerings as
 * functions, their PTX as strings, and the dev_program.h tables. */
#include "codegen/cuda/cu_emit.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cuda/cu_ptxas.h"

/* LLVM 19's NVPTX target with PTX 8.0 (cu_kernel.c): the architectures it
 * takes and ptxas assembles. */
static const char *const archs[] = {"sm_70", "sm_72", "sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90", "sm_90a"};

int nc_cu_arch_known(const char *sm, const char **known) {
    *known = "sm_70, sm_72, sm_75, sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a";
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (!strcmp(sm, archs[i])) return 1;
    return 0;
}

/* NcDevKernel as an LLVM struct: three pointers, two int64_t, an int (padded as C pads it), a pointer, an int64_t. */
_Static_assert(sizeof(void *) == 8 && sizeof(NcDevKernel) == 64 && offsetof(NcDevKernel, ptx) == 8 &&
                   offsetof(NcDevKernel, cpu) == 16 && offsetof(NcDevKernel, grid) == 24 &&
                   offsetof(NcDevKernel, block) == 32 && offsetof(NcDevKernel, nparams) == 40 &&
                   offsetof(NcDevKernel, cubin) == 48 && offsetof(NcDevKernel, cubin_bytes) == 56,
               "NcDevKernel changed: update kernel_type");
_Static_assert(sizeof(NcDevProgram) == 48 && offsetof(NcDevProgram, nsteps) == 8 &&
                   offsetof(NcDevProgram, scratch_bytes) == 16 && offsetof(NcDevProgram, init) == 24 &&
                   offsetof(NcDevProgram, ninit) == 32 && offsetof(NcDevProgram, stored_bytes) == 40,
               "NcDevProgram changed: update program_type");

static LLVMTypeRef kernel_type(NcCgModule *m) {
    LLVMTypeRef f[8] = {m->ptr, m->ptr, m->ptr, m->i64, m->i64, m->i32, m->ptr, m->i64};
    return LLVMStructTypeInContext(m->ctx, f, 8, 0);
}

static LLVMTypeRef program_type(NcCgModule *m) {
    LLVMTypeRef f[6] = {m->ptr, m->i64, m->i64, m->ptr, m->i64, m->i64};
    return LLVMStructTypeInContext(m->ctx, f, 6, 0);
}

/* A constant global holding `len` bytes (NUL-ended when nul), private unless named `exported`. */
static LLVMValueRef bytes_global(NcCgModule *m, const char *exported, const void *data, size_t len, int nul) {
    LLVMValueRef init = LLVMConstStringInContext(m->ctx, data, (unsigned)len, !nul);
    LLVMValueRef gv = LLVMAddGlobal(m->mod, LLVMTypeOf(init), exported ? exported : ".ncdev");
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetAlignment(gv, 16);
    if (!exported) LLVMSetLinkage(gv, LLVMPrivateLinkage);
    return gv;
}

static void exported_int(NcCgModule *m, const char *name, LLVMTypeRef t, long long v) {
    LLVMValueRef gv = LLVMAddGlobal(m->mod, t, name);
    LLVMSetInitializer(gv, LLVMConstInt(t, (unsigned long long)v, 1));
    LLVMSetGlobalConstant(gv, 1);
}

static int write_ptx(const char *dir, const char *name, const char *ptx, NcError *e) {
    char *path = nc_sprintf("%s/%s.ptx", dir, name);
    const int rc = nc_write_file_atomic(path, ptx, strlen(ptx), e);
    free(path);
    return rc;
}

/* Kernel k built both ways, its PTX also assembled where ptxas was found
 * (ptxas: its path, or NULL); its table entry. */
static LLVMValueRef build_kernel(NcCgModule *m, const NcCgTarget *gpu, const NcCuKernelReq *k, const char *ptx_dir,
                                 const char *ptxas, const char *sm, NcError *e) {
    NcCuDesc d;
    k->desc(&d, k->name, k->params);
    if (nc_cu_build_cpu(m, &d, e)) return NULL;
    LLVMValueRef cpu = LLVMGetNamedFunction(m->mod, k->name);
    LLVMSetLinkage(cpu, LLVMInternalLinkage);
    NcCgModule gm;
    nc_cg_module_init(&gm, gpu, k->name);
    char *ptx = nc_cu_build_gpu(&gm, &d, e) ? NULL : nc_cu_module_ptx(&gm, e);
    nc_cg_module_dispose(&gm);
    if (!ptx) return NULL;
    unsigned char *cubin = NULL;
    size_t cubin_len = 0;
    if ((ptx_dir && write_ptx(ptx_dir, k->name, ptx, e)) ||
        (ptxas && nc_cu_ptxas(ptxas, k->name, ptx, sm, &cubin, &cubin_len, e))) {
        free(ptx);
        return NULL;
    }
    LLVMValueRef f[8] = {bytes_global(m, NULL, k->name, strlen(k->name), 1),
                         bytes_global(m, NULL, ptx, strlen(ptx), 1),
                         cpu,
                         LLVMConstInt(m->i64, (unsigned long long)d.grid, 0),
                         LLVMConstInt(m->i64, (unsigned long long)d.block, 0),
                         LLVMConstInt(m->i32, (unsigned long long)d.nparams, 0),
                         cubin ? bytes_global(m, NULL, cubin, cubin_len, 0) : LLVMConstNull(m->ptr),
                         LLVMConstInt(m->i64, (unsigned long long)cubin_len, 0)};
    free(ptx);
    free(cubin);
    return LLVMConstNamedStruct(kernel_type(m), f, 8);
}

int nc_cu_emit_object(const char *path, NcGraph *const *graphs, const NcPlan *plans, int n, const NcCuOptions *o,
                      NcError *e) {
    const char *sm = o && o->sm ? o->sm : "sm_90", *known;
    if (!nc_cu_arch_known(sm, &known)) return nc_errorf(e, "unknown GPU architecture '%s' (known: %s)", sm, known);
    NcCuLowering L;
    memset(&L, 0, sizeof L);
    L.verbose = o && o->verbose ? stderr : NULL;
    L.tf32 = o && o->tf32;
    L.bf16 = o && o->bf16;
    for (int i = 0; i < n; i++) L.params_change |= graphs[i]->train_step; /* its inference program too */
    for (int i = 0; i < n; i++)
        if (nc_cu_lower(&L, graphs[i], &plans[i], e)) {
            nc_error_prefix(e, "--target cuda");
            nc_cu_lowering_free(&L);
            return -1;
        }
    NcCgTarget host, gpu;
    if (nc_cg_target_init(&host, NULL, NULL, e)) {
        nc_cu_lowering_free(&L);
        return -1;
    }
    if (nc_cu_target_init(&gpu, sm, e)) {
        nc_cg_target_free(&host);
        nc_cu_lowering_free(&L);
        return -1;
    }
    NcCgModule m;
    nc_cg_module_init(&m, &host, "netc_dev");
    int rc = 0;
    const int nk = L.kernels.len;
    LLVMValueRef *entries = nc_calloc((size_t)nk + 1, sizeof(LLVMValueRef));
    const char *why = NULL;
    char *ptxas = NULL;
    if (nc_cu_ptxas_find(&ptxas, &why, e))
        rc = -1;
    else if (!ptxas)
        fprintf(stderr,
                "netc: no cubins (%s): the GPU's driver will compile the kernels' PTX at the program's first "
                "run\n",
                why);
    for (int k = 0; k < nk && !rc; k++)
        if (!(entries[k] = build_kernel(&m, &gpu, &L.kernels.data[k], o ? o->ptx_dir : NULL, ptxas, sm, e))) rc = -1;
    if (L.verbose && ptxas && !rc) fprintf(L.verbose, "cuda: %d kernels assembled for %s by %s\n", nk, sm, ptxas);
    free(ptxas);
    if (!rc) {
        LLVMTypeRef kt = kernel_type(&m), pt = program_type(&m);
        LLVMValueRef table = LLVMAddGlobal(m.mod, LLVMArrayType2(kt, (uint64_t)nk), "netc_dev_kernels");
        LLVMSetInitializer(table, LLVMConstArray2(kt, entries, (uint64_t)nk));
        LLVMSetGlobalConstant(table, 1);
        LLVMValueRef *progs = nc_calloc((size_t)L.progs.len + 1, sizeof(LLVMValueRef));
        for (int p = 0; p < L.progs.len; p++) {
            const NcCuProgram *P = &L.progs.data[p];
            NcDevStep none;
            memset(&none, 0, sizeof none);
            const size_t bytes = (size_t)(P->steps.len ? P->steps.len : 1) * sizeof(NcDevStep);
            const size_t ibytes = (size_t)(P->init.len ? P->init.len : 1) * sizeof(NcDevStep);
            LLVMValueRef f[6] = {bytes_global(&m, NULL, P->steps.len ? (const void *)P->steps.data : &none, bytes, 0),
                                 LLVMConstInt(m.i64, (unsigned long long)P->steps.len, 0),
                                 LLVMConstInt(m.i64, (unsigned long long)P->scratch_bytes, 0),
                                 bytes_global(&m, NULL, P->init.len ? (const void *)P->init.data : &none, ibytes, 0),
                                 LLVMConstInt(m.i64, (unsigned long long)P->init.len, 0),
                                 LLVMConstInt(m.i64, (unsigned long long)P->stored_bytes, 0)};
            progs[p] = LLVMConstNamedStruct(pt, f, 6);
        }
        LLVMValueRef pg = LLVMAddGlobal(m.mod, LLVMArrayType2(pt, (uint64_t)L.progs.len), "netc_dev_programs");
        LLVMSetInitializer(pg, LLVMConstArray2(pt, progs, (uint64_t)L.progs.len));
        LLVMSetGlobalConstant(pg, 1);
        free(progs);
        exported_int(&m, "netc_dev_nprograms", m.i32, L.progs.len);
        exported_int(&m, "netc_dev_nkernels", m.i32, nk);
        const char *dflt = o && o->emulate ? "emulate" : "cuda";
        bytes_global(&m, "netc_dev_default", dflt, strlen(dflt), 1);
        bytes_global(&m, "netc_dev_arch", sm, strlen(sm), 1);
        const int nc = L.consts.len;
        LLVMValueRef *cv = nc_malloc((size_t)(nc ? nc : 1) * sizeof(LLVMValueRef));
        for (int i = 0; i < nc; i++) cv[i] = LLVMConstReal(m.f32, L.consts.data[i]);
        if (!nc) cv[0] = LLVMConstReal(m.f32, 0);
        LLVMValueRef consts = LLVMAddGlobal(m.mod, LLVMArrayType2(m.f32, (uint64_t)(nc ? nc : 1)), "netc_dev_consts");
        LLVMSetInitializer(consts, LLVMConstArray2(m.f32, cv, (uint64_t)(nc ? nc : 1)));
        LLVMSetGlobalConstant(consts, 1);
        LLVMSetAlignment(consts, 64);
        free(cv);
        exported_int(&m, "netc_dev_nconsts", m.i64, nc);
        rc = nc_cg_module_emit_object(&m, path, e) ? -1 : 0;
    }
    if (!rc && o && o->verbose) {
        int steps = 0;
        for (int p = 0; p < L.progs.len; p++) steps += L.progs.data[p].steps.len;
        fprintf(stderr, "cuda: %d kernels (PTX for %s and their CPU lowering), %d steps in %d program%s\n", nk, sm,
                steps, L.progs.len, L.progs.len > 1 ? "s" : "");
    }
    free(entries);
    nc_cg_module_dispose(&m);
    nc_cu_target_free(&gpu);
    nc_cg_target_free(&host);
    nc_cu_lowering_free(&L);
    return rc ? -1 : nk;
}
