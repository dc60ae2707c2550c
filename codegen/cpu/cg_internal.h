/* cg_internal.h — what the kernel emitters share. */
#ifndef NETC_CG_INTERNAL_H
#define NETC_CG_INTERNAL_H

#include <llvm-c/Core.h>

#include "codegen/cpu/cg.h"

typedef struct Cg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, ptr, vec;
    int vw; /* floats per vector */
    LLVMAttributeRef noalias, nocapture;
    LLVMBasicBlockRef entry;
    int64_t cur_o; /* output channels of the conv being emitted */
} Cg;

/* An alloca in the function's entry block (so mem2reg can promote it). */
LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t);
/* A call of an intrinsic overloaded on the vector type, 1 to 3 operands. */
LLVMValueRef cg_call(Cg *cg, const char *intrinsic, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
LLVMValueRef cg_splat_i64(Cg *cg, LLVMValueRef v);
void cg_masked_store(Cg *cg, LLVMValueRef val, LLVMValueRef ptr, LLVMValueRef mask);

int cg_conv_supported(const NcGraph *g, const NcNode *nd, int *ocb, const char **why);
/* 1 when a 1x1, stride-1, unpadded conv is computed as one row of H x W outputs */
int cg_conv_flat(const NcGraph *g, const NcNode *nd);
/* row tiles of a flattened conv: spatial blocks of this many chunks */
int64_t cg_conv_block(int64_t cg_in, int64_t nchunks, int chunk_floats);
void cg_emit_conv(Cg *cg, const NcGraph *g, const NcNode *nd, const char *name, int ocb);

#endif
