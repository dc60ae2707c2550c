/* cg_kernel.c — NcCgKernel as runtime/kernels.h's NcKernelEntry, in LLVM. */
#include "codegen/cpu/cg_kernel.h"

#include <stddef.h>
#include <string.h>

#include "runtime/kernels.h"

/* The LLVM struct below mirrors NcKernelEntry field by field: pointers and
 * int64_t, 8 bytes each, no padding.  A field added to one side only fails
 * here, not as a misread table at run time. */
#define ENTRY_FIELDS 13
_Static_assert(sizeof(void *) == 8 && sizeof(NcKernelEntry) == ENTRY_FIELDS * 8,
               "NcKernelEntry: update nc_cg_kernel_type");
_Static_assert(offsetof(NcKernelEntry, stage) == 0 && offsetof(NcKernelEntry, tiles) == 24 &&
                   offsetof(NcKernelEntry, scratch) == 48 && offsetof(NcKernelEntry, wprep) == 56 &&
                   offsetof(NcKernelEntry, wprep_tiles) == 64 && offsetof(NcKernelEntry, wfloats) == 72 &&
                   offsetof(NcKernelEntry, kind) == 80 && offsetof(NcKernelEntry, isa) == 88 &&
                   offsetof(NcKernelEntry, precision) == 96,
               "NcKernelEntry: update nc_cg_kernel_type and nc_cg_kernel_const");

LLVMTypeRef nc_cg_kernel_type(NcCgModule *m) {
    LLVMTypeRef p = m->ptr, i = m->i64;
    LLVMTypeRef f[ENTRY_FIELDS] = {p, p, p, i, i, i, i, p, i, i, p, p, p};
    return LLVMStructTypeInContext(m->ctx, f, ENTRY_FIELDS, 0);
}

/* A NUL-terminated string constant (private, mergeable). */
static LLVMValueRef const_string(NcCgModule *m, const char *s) {
    LLVMValueRef str = LLVMConstStringInContext(m->ctx, s, (unsigned)strlen(s), 0);
    LLVMValueRef gv = LLVMAddGlobal(m->mod, LLVMTypeOf(str), ".str");
    LLVMSetInitializer(gv, str);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    return gv;
}

LLVMValueRef nc_cg_kernel_const(NcCgModule *m, const NcCgKernel *k) {
    NcCgKernel none;
    if (!k) memset(&none, 0, sizeof none), k = &none;
    LLVMValueRef null = LLVMConstNull(m->ptr);
#define FN(v)  ((v) ? (v) : null)
#define I64(v) LLVMConstInt(m->i64, (unsigned long long)(v), 0)
    LLVMValueRef f[ENTRY_FIELDS] = {FN(k->stage[0]),
                                    FN(k->stage[1]),
                                    FN(k->stage[2]),
                                    I64(k->tiles[0]),
                                    I64(k->tiles[1]),
                                    I64(k->tiles[2]),
                                    I64(k->scratch),
                                    FN(k->wprep),
                                    I64(k->wprep_tiles),
                                    I64(k->wfloats),
                                    k->kind ? const_string(m, k->kind) : null,
                                    k->stage[0] ? const_string(m, k->isa ? k->isa : m->t->isa) : null,
                                    k->stage[0] ? const_string(m, k->precision ? k->precision : "f32") : null};
#undef FN
#undef I64
    return LLVMConstNamedStruct(nc_cg_kernel_type(m), f, ENTRY_FIELDS);
}

void nc_cg_kernel_table(NcCgModule *m, const char *name, LLVMValueRef *entries, int64_t n) {
    LLVMTypeRef ty = nc_cg_kernel_type(m);
    LLVMValueRef table = LLVMAddGlobal(m->mod, LLVMArrayType2(ty, (uint64_t)n), name);
    LLVMSetInitializer(table, LLVMConstArray2(ty, entries, (uint64_t)n));
    LLVMSetGlobalConstant(table, 1);
}
