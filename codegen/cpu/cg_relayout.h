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

#endif
