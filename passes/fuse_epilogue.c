/* fuse_epilogue.c — pulls the elementwise ops that follow a conv or linear
 * layer into it: activations (relu, relu6, silu, sigmoid) and a residual add
 * or a broadcast multiply, up to NC_MAX_EPI steps.  The chain is followed
 * while the anchor's current output has exactly one reader, that reader is
 * elementwise on it, and any other operand already exists when the anchor
 * runs (an SE gate computed from the anchor's own output cannot fuse here).
 * The fused node takes over the last op's output value, so readers after
 * the chain need no rewiring. */
#include "ir/ops.h"
#include "passes/pass.h"

static int activation_step(const NcNode *r, NcEpilogue *ep) {
    switch (r->op) {
    case NC_OP_RELU: ep->kind = NC_EPI_RELU; return 1;
    case NC_OP_SILU: ep->kind = NC_EPI_SILU; return 1;
    case NC_OP_SIGMOID: ep->kind = NC_EPI_SIGMOID; return 1;
    case NC_OP_CLAMP: ep->kind = NC_EPI_CLAMP, ep->lo = r->attrs.lo, ep->hi = r->attrs.hi; return 1;
    default: return 0;
    }
}

int nc_fuse_chains(NcGraph *g, NcPassCtx *ctx, int (*is_anchor)(const NcNode *), const char *pass) {
    int *readers = nc_reader_counts(g);
    int *reader = nc_malloc((size_t)g->values.len * sizeof(int)); /* the (last) node reading each value */
    for (int i = 0; i < g->values.len; i++) reader[i] = -1;
    for (int i = 0; i < g->nodes.len; i++)
        for (int j = 0; j < g->nodes.data[i].ninputs; j++) reader[g->nodes.data[i].inputs[j]] = i;
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    for (int ai = 0; ai < g->nodes.len; ai++) {
        NcNode *a = &g->nodes.data[ai];
        /* a node an earlier anchor absorbed is gone: as an anchor it would take over values that anchor now
         * produces (a chain of adds longer than one epilogue lost its result) */
        if (dead[ai] || !is_anchor(a)) continue;
        for (;;) {
            const int y = a->outputs[0];
            const char *why = NULL;
            int ri = reader[y];
            const NcNode *r = ri >= 0 ? &g->nodes.data[ri] : NULL;
            NcEpilogue ep = {0};
            int other = -1;
            if (readers[y] != 1 || !r)
                why = readers[y] ? "its output has several readers (or is a graph output)" : NULL;
            else if (a->attrs.nepi == NC_MAX_EPI)
                why = "the epilogue is full";
            else if (activation_step(r, &ep)) {
                /* fine */
            } else if (r->op == NC_OP_ADD || r->op == NC_OP_MUL) {
                other = r->inputs[0] == y ? r->inputs[1] : r->inputs[0];
                const NcValue *ov = nc_val(g, other), *rv = nc_val(g, r->outputs[0]);
                ep.kind = r->op == NC_OP_ADD ? NC_EPI_ADD : NC_EPI_MUL;
                if (other == y)
                    why = "it is added to itself";
                else if (!nc_shape_eq(rv, nc_val(g, y)))
                    why = "the result is larger than the output (it broadcasts)";
                else if (ov->kind == NC_VAL_NODE && ov->producer > ai)
                    why = "the other operand is computed after it";
                else if (a->ninputs == NC_MAXIN)
                    why = "too many inputs";
            } else {
                why = "its reader is not elementwise";
            }
            if (why || !r) {
                if (why && ctx->explain)
                    fprintf(ctx->explain, "%s: %s: stops before %s: %s\n", pass, a->scope,
                            r ? nc_op_info(r->op)->name : "(graph output)", why);
                break;
            }
            if (other >= 0) {
                ep.input = a->ninputs;
                a->inputs[a->ninputs++] = other;
            }
            a->attrs.epi[a->attrs.nepi++] = ep;
            /* the anchor now produces the reader's output value */
            const int out = r->outputs[0];
            g->values.data[y].producer = -1; /* orphaned; compaction drops it */
            a->outputs[0] = out;
            g->values.data[out].producer = ai;
            dead[ri] = 1;
            ctx->rewrites++;
        }
    }
    nc_graph_compact(g, dead);
    free(dead);
    free(reader);
    free(readers);
    return 0;
}

static int conv_or_linear(const NcNode *n) { return nc_op_info(n->op)->fusion == NC_FUSE_ANCHOR; }

int nc_pass_fuse_epilogue(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    return nc_fuse_chains(g, ctx, conv_or_linear, "fuse_epilogue");
}
