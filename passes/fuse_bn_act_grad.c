/* fuse_bn_act_grad.c — an activation's gradient into the batch norm's gradient before it.
 *
 * A training step's backward of bn -> act reads and writes the activation's whole tensor twice over:
 * act_grad(dy, z) writes dz, then batch_norm_train_grad(dz, x, ...) reads dz twice (its sums, then dx).
 * Both ops are memory-bound (on 2 cores, efficientnet_b0's act_grads and batch-norm gradients move
 * ~23 GB/s and take a fifth of its step).  Fused, the batch norm's gradient computes dz = act_grad(dy, z)
 * where it reads it: dz is never stored (one tensor less for the memory planner too).
 *
 * The rewrite: act_grad A(dy, z) -> dz whose only reader is a batch_norm_train_grad B reading it as its
 * dy (input 0) becomes B(dy, x, weight, mean, var, z) with A's act, lo and hi (ir/shape_train.c's rule);
 * A is dropped.  Only the CPU backend's kernels read the fused form (the compile driver runs this pass
 * for CPU training programs); the reference kernel runs it too. */
#include "ir/ops.h"
#include "passes/pass.h"

int nc_pass_fuse_bn_act_grad(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    int *readers = nc_reader_counts(g);
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    for (int ni = 0; ni < g->nodes.len; ni++) {
        NcNode *b = &g->nodes.data[ni];
        if (b->op != NC_OP_BATCH_NORM_TRAIN_GRAD || b->ninputs != 5) continue;
        const int dz = b->inputs[0], pa = nc_val(g, dz)->producer; /* -1: an input or parameter */
        if (pa < 0 || g->nodes.data[pa].op != NC_OP_ACT_GRAD) continue;
        const NcNode *a = &g->nodes.data[pa];
        if (readers[dz] != 1) {
            if (ctx->explain)
                fprintf(ctx->explain,
                        "fuse_bn_act_grad: %s: not fused: the activation's gradient has %d readers (a residual "
                        "branch)\n",
                        b->scope, readers[dz]);
            continue;
        }
        if (!nc_shape_eq(nc_val(g, a->inputs[1]), nc_val(g, b->inputs[1]))) continue;
        b->inputs[0] = a->inputs[0];
        b->inputs[5] = a->inputs[1];
        b->ninputs = 6;
        b->attrs.act = a->attrs.act, b->attrs.lo = a->attrs.lo, b->attrs.hi = a->attrs.hi;
        dead[pa] = 1;
        ctx->rewrites++;
        if (ctx->explain)
            fprintf(ctx->explain, "fuse_bn_act_grad: %s: %s's gradient fused\n", b->scope,
                    nc_epi_name((NcEpiKind)a->attrs.act));
    }
    nc_graph_compact(g, dead);
    free(dead);
    free(readers);
    return 0;
}
