/* cg_dwconv.h — depthwise convolutions (groups == in channels == out
 * channels: EfficientNet's and MobileNet's conv_dw) without a padded copy.
 *
 * One tile = (image, channel, band of output rows).  The kernel reads the
 * unpadded NCHW plane directly: whole vectors in the interior, masked loads
 * for the columns of the padding (the chunks at either end of a row, whose
 * masks are compile-time constants) and per-row guards for the rows of the
 * padding (only in row blocks that touch it).  A register block is R output
 * rows x NV vectors along the row; every input vector loaded feeds all the
 * output rows whose window covers its row, so the K x K weights (broadcast
 * once per tile) meet R x NV independent accumulators.  Stride 2 loads two
 * contiguous vectors and keeps the even (or odd) lanes with one in-lane
 * shuffle (shufps); the accumulators then hold their outputs in that
 * shuffle's lane order, which one permutation per output vector undoes.
 *
 * It runs as a one-stage staged kernel (runtime/kernels.h): that path hands
 * the kernel the node's inputs as they are — unpadded, unscaled, not
 * subsampled — which is what this kernel wants; an SE scale on the input is
 * folded into the tile's weights.  Bias and the conv's fused epilogue
 * (activations, same-shape or per-channel add / mul) are applied before the
 * store. */
#ifndef NETC_CG_DWCONV_H
#define NETC_CG_DWCONV_H

#include "codegen/cpu/cg_build.h"
#include "ir/ir.h"

typedef struct NcDwPlan {
    int64_t N, C, H, W, OH, OW;
    int KH, KW, s;      /* window, stride (both axes) */
    int pt, pl;         /* top and left padding (bottom / right follow from OH, OW) */
    int R, NV;          /* register block: output rows x vectors */
    int64_t band;       /* output rows per tile (a multiple of R, or OH) */
    int64_t bands, tiles;
} NcDwPlan;

/* Is node nd a depthwise conv this kernel takes?  Fills the plan, or returns
 * 0 with *why set. */
int nc_cg_dw_plan(NcDwPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why);

/* Emits the tile function `name` (stage 0 of a staged kernel, p->tiles tiles). */
void nc_cg_dw_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcDwPlan *p, const char *name);

#endif
