/* cg_eltwise.h — the memory-bound kernels (pools, SE gate, elementwise ops) over static NHWC shapes. */
#ifndef NETC_CG_ELTWISE_H
#define NETC_CG_ELTWISE_H

#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

/* Graph nodes with a kernel here, their spatial operands NHWC: pools, global
 * average pool, squeeze_excite, split along channels, the radix ops, add and
 * mul of two tensors each of the output's shape or one value per (image,
 * channel) [N, C, 1, 1].  Returns the tile count of the node's kernel, or 0
 * when it has none (a spatial NCHW operand: the reference runs it).  The
 * kernel is a tile function over the node's inputs and outputs, in node
 * order; the output may be an input (in place). */
int64_t nc_cg_eltwise_tiles(const NcGraph *g, const NcNode *nd);
void nc_cg_emit_eltwise(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name);
/* Would this node have a kernel were its spatial operands NHWC?  (The layout
 * pass asks before it marks them.) */
int nc_cg_eltwise_nhwc_ok(const NcGraph *g, const NcNode *nd);
/* A squeeze_excite runs as a two-stage kernel (kernels.h): the pooling over
 * (image, channel block) tiles into scratch, then the gate per image. */
int nc_cg_se_staged(const NcGraph *g, const NcNode *nd);
void nc_cg_emit_se_staged(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name, NcCgKernel *k);

#endif
