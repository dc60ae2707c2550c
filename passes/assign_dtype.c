/* assign_dtype.c — which activations are stored in reduced precision.
 *
 * With `--precision bf16` on AMX, the bf16 GEMM kernels (codegen/cpu/cg_amx_gemm.h)
 * round their inputs to bf16 anyway; an f32 tensor between two of them costs
 * twice the bytes and a conversion at both ends, and resnet50's 1x1 convs at
 * batch 8 are bound by exactly those bytes.  An intermediate is stored as
 * the reduced dtype (NcValue.dtype, ir.h) when the backend says its producer
 * can write it so (act_out) and every reader can read it so (act_in: the
 * GEMM's input and residual operand, not its SE scale); graph outputs stay
 * f32.  One dtype per value, decided once: the memory plan sizes it by it,
 * the kernels read it from the value, and the bundle carries it.
 *
 * It runs after assign_layout (the kernels it asks about are the NHWC ones)
 * and before memory planning; without the hooks it changes nothing. */
#include "ir/ops.h"
#include "passes/pass.h"

int nc_pass_assign_dtype(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    (void)e;
    const NcLayoutHooks *h = ctx->layout;
    if (!h || !h->act_out || !h->act_in) return 0;
    int *readers = nc_reader_counts(g);
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        if (n->noutputs != 1) continue;
        NcValue *v = nc_val(g, n->outputs[0]);
        const NcDtype dt = h->act_out(g, n, h->ctx);
        if (dt == NC_F32 || v->dtype != NC_F32) continue;
        const char *why = readers[v->id] ? NULL : "never read";
        for (int i = 0; i < g->outputs.len && !why; i++)
            if (g->outputs.data[i] == v->id) why = "a graph output";
        const NcNode *f32_reader = NULL; /* a reader whose kernel takes f32 alone */
        for (int r = ni + 1; r < g->nodes.len && !why && !f32_reader; r++) {
            const NcNode *rd = &g->nodes.data[r];
            for (int j = 0; j < rd->ninputs && !f32_reader; j++)
                if (rd->inputs[j] == v->id && !h->act_in(g, rd, j, dt, h->ctx)) f32_reader = rd;
        }
        if (why || f32_reader) {
            if (ctx->explain && why)
                fprintf(ctx->explain, "assign_dtype: %s %s: f32: %s\n", nc_op_info(n->op)->name, n->scope, why);
            else if (ctx->explain)
                fprintf(ctx->explain, "assign_dtype: %s %s: f32: %s %s reads f32\n", nc_op_info(n->op)->name, n->scope,
                        nc_op_info(f32_reader->op)->name, f32_reader->scope);
            continue;
        }
        if (ctx->explain) fprintf(ctx->explain, "assign_dtype: %s %s: bf16\n", nc_op_info(n->op)->name, n->scope);
        v->dtype = dt;
        ctx->rewrites++;
    }
    free(readers);
    return 0;
}
