/* cg_relayout.h — the relayout op's kernel: NCHW <-> NHWC by register
 * transposes of vw x vw blocks (cg_relayout.c). */
#ifndef NETC_CG_RELAYOUT_H
#define NETC_CG_RELAYOUT_H

#include "codegen/cpu/cg_build.h"
#include "ir/ir.h"

/* Tiles of the node's kernel (one per image row), or 0 when it has none. */
int64_t nc_cg_relayout_tiles(const NcGraph *g, const NcNode *nd);
/* The tile function: in[0] the input, out[0] the output (never the same). */
void nc_cg_emit_relayout(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name);
/* One block of a transpose: `rows` (<= vw) source vectors of `lanes` (<= vw)
 * lanes at src + s_off + i * s_stride, written as `lanes` vectors of `rows`
 * lanes at dst + d_off + j * d_stride (cg_nchw_train.h's W^T). */
/* vw vectors r[0..vw) transposed in registers: r[i][l] -> r[l][i] */
void nc_cg_transpose_regs(NcCgModule *m, LLVMValueRef *r);
void nc_cg_transpose_block(NcCgModule *m, LLVMValueRef src, LLVMValueRef s_off, int64_t s_stride, LLVMValueRef dst,
                           LLVMValueRef d_off, int64_t d_stride, int rows, int lanes);

#endif
