/* cg_eltwise.h — elementwise kernels over static shapes. */
#ifndef NETC_CG_ELTWISE_H
#define NETC_CG_ELTWISE_H

#include "codegen/cpu/cg_build.h"
#include "ir/ir.h"

/* y[n, c, i] = x[n, c, i] + bias[c], then max(., 0) when relu; x, y NCHW
 * [n, c, hw] with in[0] = x, in[1] = bias, out[0] = y.  One tile per (n, c)
 * plane: n * c tiles.  y may be x (in place). */
void nc_cg_emit_bias_relu(NcCgModule *m, const char *name, int64_t n, int64_t c, int64_t hw, int relu);

/* Graph nodes with an elementwise kernel: add and mul of two NCHW tensors,
 * each of the output's shape or one value per (image, channel) [N, C, 1, 1].
 * Returns the tile count of the node's kernel (one tile per (n, c) plane),
 * or 0 when it has none.  The kernel is a tile function over the node's
 * inputs and outputs, in node order; the output may be an input (in place). */
int64_t nc_cg_eltwise_tiles(const NcGraph *g, const NcNode *nd);
void nc_cg_emit_eltwise(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name);
/* Has this node (squeeze_excite, global_avg_pool, add, mul) a kernel when
 * its spatial operands are NHWC?  (The kernels read the values' layouts.) */
int nc_cg_eltwise_nhwc_ok(const NcGraph *g, const NcNode *nd);
/* An NHWC squeeze_excite runs as a staged kernel (kernels.h): the pooling
 * over (image, channel block) tiles into scratch, then the gate per image. */
int nc_cg_se_staged(const NcGraph *g, const NcNode *nd);
void nc_cg_emit_se_staged(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name, LLVMValueRef stage[3],
                          int64_t stage_tiles[3], int64_t *scratch);

#endif
