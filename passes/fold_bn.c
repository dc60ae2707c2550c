/* fold_bn.c — inference-time BatchNorm folding: batch_norm(conv(x, W) + b)
 * becomes conv(x, W') + b' with W' = W * s, b' = (b - mean) * s + beta,
 * s = gamma / sqrt(var + eps), per output channel.  Only when the conv's
 * output feeds nothing but the BN and the conv has no epilogue yet.  The
 * folded parameters are new values (name + "#bn"), computed in double and
 * rounded once; the originals stay untouched for whoever else needs them. */
#include <math.h>
#include <string.h>

#include "passes/pass.h"

static int new_param_like(NcGraph *g, const char *name, int ndim, const int64_t *shape) {
    NcError e;
    int id = nc_graph_add_param(g, name, NC_PARAM_WEIGHT, ndim, shape, &e);
    NC_CHECK(id >= 0);
    return id;
}

int nc_pass_fold_bn(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    int *readers = nc_reader_counts(g);
    char *dead = nc_calloc((size_t)g->nodes.len + 1, 1);
    const int nnodes = g->nodes.len;
    for (int bi = 0; bi < nnodes; bi++) {
        NcNode *bn = &g->nodes.data[bi];
        if (bn->op != NC_OP_BATCH_NORM) continue;
        const NcValue *x = nc_val(g, bn->inputs[0]);
        const char *why = NULL;
        NcNode *conv = x->kind == NC_VAL_NODE ? &g->nodes.data[x->producer] : NULL;
        if (!conv || conv->op != NC_OP_CONV2D)
            why = "its input is not a convolution";
        else if (readers[x->id] != 1)
            why = "the convolution's output has other readers";
        else if (conv->attrs.nepi || conv->attrs.has_in_scale)
            why = "the convolution already has an epilogue or input scale";
        if (why) {
            if (ctx->explain) fprintf(ctx->explain, "fold_bn: %s: not folded: %s\n", bn->scope, why);
            continue;
        }
        const int ci = (int)(conv - g->nodes.data);
        const int64_t O = nc_val(g, conv->inputs[1])->shape[0];
        const NcValue *w = nc_val(g, conv->inputs[1]);
        const int64_t per = nc_numel(w) / O;
        const int64_t wshape[4] = {w->shape[0], w->shape[1], w->shape[2], w->shape[3]};
        char *wname = nc_sprintf("%s#bn", w->name), *bname = nc_sprintf("%s.bias#bn", bn->scope);
        /* adding params may move g->values: take ids, not pointers, from here on */
        const int wid = conv->inputs[1], bid = conv->attrs.has_bias ? conv->inputs[2] : -1;
        int nw = new_param_like(g, wname, 4, wshape), nb = new_param_like(g, bname, 1, &O);
        g->values.data[nb].role = NC_PARAM_BIAS;
        free(wname);
        free(bname);
        const float *W = nc_val(g, wid)->data, *B = bid >= 0 ? nc_val(g, bid)->data : NULL;
        const float *gamma = nc_val(g, bn->inputs[1])->data, *beta = nc_val(g, bn->inputs[2])->data,
                    *mean = nc_val(g, bn->inputs[3])->data, *var = nc_val(g, bn->inputs[4])->data;
        if (W && (bid < 0 || B) && gamma && beta && mean && var) {
            float *W2 = nc_malloc((size_t)(O * per) * sizeof(float)), *B2 = nc_malloc((size_t)O * sizeof(float));
            for (int64_t o = 0; o < O; o++) {
                const double s = (double)gamma[o] / sqrt((double)var[o] + (double)bn->attrs.eps);
                for (int64_t i = 0; i < per; i++) W2[o * per + i] = (float)(W[o * per + i] * s);
                B2[o] = (float)(((B ? B[o] : 0.0) - mean[o]) * s + beta[o]);
            }
            g->values.data[nw].data = W2;
            g->values.data[nb].data = B2;
        }
        conv = &g->nodes.data[ci];
        conv->inputs[1] = nw;
        conv->inputs[2] = nb;
        if (!conv->attrs.has_bias) conv->ninputs = 3;
        conv->attrs.has_bias = 1;
        nc_replace_uses(g, g->nodes.data[bi].outputs[0], conv->outputs[0]);
        dead[bi] = 1;
        ctx->rewrites++;
    }
    nc_graph_compact(g, dead);
    free(dead);
    free(readers);
    return 0;
}
