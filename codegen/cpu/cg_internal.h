/* cg_internal.h — what the kernel emitters share. */
#ifndef NETC_CG_INTERNAL_H
#define NETC_CG_INTERNAL_H

#include <llvm-c/Core.h>

#include "codegen/cpu/cg.h"
#include "codegen/cpu/cg_build.h"

/* The direct-conv emitter's view of the module being built (cg_build.h's
 * NcCgModule: the same context, module and builder). */
typedef struct Cg {
    NcCgModule *m;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, ptr, vec;
    int vw; /* floats per vector */
    LLVMAttributeRef noalias, nocapture;
    int64_t cur_o; /* output channels of the conv being emitted */
} Cg;

/* A call of an intrinsic overloaded on the vector type, 1 to 3 operands. */
LLVMValueRef cg_call(Cg *cg, const char *intrinsic, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
LLVMValueRef cg_splat_i64(Cg *cg, LLVMValueRef v);

/* A direct conv's register block: ocb output channels x rb output rows x nv
 * vectors along the row (cg_conv.c says how it is chosen). */
typedef struct CgConvBlock {
    int ocb, rb, nv;
} CgConvBlock;

int cg_conv_supported(const NcGraph *g, const NcNode *nd, int vw, CgConvBlock *blk, const char **why);
/* row tiles per (image, channel block) of the kernel (NcKernelEntry.rows) */
int64_t cg_conv_rows(const NcGraph *g, const NcNode *nd, int vw, const CgConvBlock *blk);
/* 1 when a 1x1, stride-1, unpadded conv is computed as one row of H x W outputs */
int cg_conv_flat(const NcGraph *g, const NcNode *nd);
/* row tiles of a flattened conv: spatial blocks of this many chunks */
/* 1 when the kernel reads its input split into even and odd columns
 * (stride 2; runtime/kernels.h NC_KERNEL_POLYPHASE) */
int cg_conv_polyphase(const NcGraph *g, const NcNode *nd);
int64_t cg_conv_block(int64_t cg_in, int64_t nchunks, int chunk_floats);
/* The tile function that prepares a direct conv's input (NcKernelEntry.prep) */
void cg_emit_conv_prep(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name);
void cg_emit_conv(Cg *cg, const NcGraph *g, const NcNode *nd, const char *name, const CgConvBlock *blk);

/* A 1x1 conv or linear layer as a packed-weight GEMM (cg_module.c): fills
 * the spec for its activations in NCHW or (nhwc) NHWC, or returns 0. */
struct NcGemmSpec;
int cg_gemm_candidate(const NcGraph *g, const NcNode *nd, struct NcGemmSpec *s, int nhwc);

/* NHWC Winograd for this conv (cg_layout.c)?  The tile (4 or 2) when
 * opt->winograd allows it and, in auto, its estimated time (*seconds) beats
 * the NHWC direct kernel's; else 0. */
int cg_nhwc_wino_choice(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt, double *seconds);

#endif
