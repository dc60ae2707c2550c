/* fuse_eltwise.c — elementwise-chain fusion: after fuse_epilogue has given
 * every conv and linear its trailing activations and adds, what is left are
 * chains that start at an add or mul of their own — ResNeSt's split
 * attention ends in mul(x0, a0) + mul(x1, a1).  Each binary op becomes the
 * anchor of its chain (the same rule as fuse_epilogue: single reader,
 * elementwise, other operands already computed), so the chain writes one
 * tensor instead of one per op: mul(x1, a1) + m0 is one node, reading m0 in
 * its epilogue. */
#include "passes/pass.h"

static int binary(const NcNode *n) { return n->op == NC_OP_ADD || n->op == NC_OP_MUL; }

int nc_pass_fuse_eltwise(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    return nc_fuse_chains(g, ctx, binary, "fuse_eltwise");
}
