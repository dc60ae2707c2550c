/* cg_im2col.h — strided convolutions as im2col + the packed GEMM.
 *
 * A stride-2 KxK conv (groups 1) is y[n] (O x OH*OW) = W (O x C*K*K) .
 * cols[n] (C*K*K x OH*OW), where row (c, kh, kw) of cols holds, for every
 * output pixel, the input value under that filter tap (0 in the padding).
 * The filter, [O, C, K, K] row-major, already is W; it is packed at compile
 * time like a 1x1 conv's (cg_gemm.h, NC_LAYOUT_PACKED).  Two stages
 * (runtime/kernels.h's staged kernel):
 *
 *   1. one tile per (image, input channel): its K*K rows of cols (scratch),
 *      stride-2 columns read as contiguous vectors and their even lanes
 *      shuffled out; an input scale applied here
 *   2. the NCHW GEMM with the conv's bias and epilogue
 *
 * Why: the direct kernel (cg_conv.c) reached 42-50% of peak on resnet50's
 * stride-2 3x3 convs; the GEMM runs at 65-80%, and the copy is a small
 * fraction of the work (C*K*K*OH*OW floats against O times as many
 * multiply-adds).  Measured, the gain is smaller than that suggests (6% on
 * those three convs, one thread): the copy streams C*K*K*OH*OW floats through
 * memory with masked loads. */
#ifndef NETC_CG_IM2COL_H
#define NETC_CG_IM2COL_H

#include "codegen/cpu/cg_gemm.h"
#include "ir/ir.h"

typedef struct NcIm2colPlan {
    int64_t N, C, O, H, W, OH, OW, KH, KW;
    int sh, sw, pt, pl;
    NcGemmPlan gemm;  /* batch N, cin C*KH*KW, cout O, hw OH*OW */
    int64_t b_floats; /* scratch: cols of every image */
} NcIm2colPlan;

/* Can (and should) conv node nd run this way?  Stride 2 (either axis),
 * groups 1, dilation 1, a window over 1x1, a reduction (C*K*K) of 256 or
 * more, epilogue operands the output's shape or one per channel.  Fills the plan, or returns 0 with *why set. */
int nc_cg_im2col_plan(NcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why);

/* Emits `<prefix>_cols` and `<prefix>_gemm` (staged-kernel tile functions)
 * and returns them with their tile counts. */
void nc_cg_im2col_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcIm2colPlan *p, const char *prefix,
                       LLVMValueRef fns[2], int64_t tiles[2]);

/* Fills a GEMM spec's bias and epilogue from conv node nd's (its + / *
 * operands of the output's shape or one per (image, channel)). */
void nc_cg_im2col_gemm_epilogue(NcGemmSpec *s, const NcGraph *g, const NcNode *nd);

/* The GEMM stage of an im2col kernel (NCHW or NHWC, cg_nhwc_im2col.h):
 * emits the GEMM `<prefix>_mm` and the stage `<prefix>_gemm`(in, out, t0,
 * t1), which calls it with the node's inputs, in[0] replaced by the columns
 * in out[1] (the scratch); returns the stage. */
LLVMValueRef nc_cg_im2col_emit_gemm(NcCgModule *m, const NcNode *nd, const NcGemmPlan *gemm, const char *prefix);

#endif
