/* assign_layout.c — which activations are stored NHWC instead of NCHW.
 *
 * The reference kernels, timm and the interpreter are NCHW; the CPU kernels
 * that vectorise along channels (1x1 convs as GEMMs over pixel rows,
 * depthwise and grouped convs whose vectors are a group's output channels,
 * pools along channels) are faster on NHWC, most of all on the small planes
 * where an NCHW row of 7 or 14 pixels fills a fraction of a vector
 * (codegen/cpu/cg_gemm.h has the measurements).  The backend says which
 * nodes it can run NHWC and what each costs in either layout
 * (NcLayoutHooks); this pass decides:
 *
 * 1. A node is a candidate when the backend has an NHWC kernel for it.
 *    Values without a spatial extent ([N, C, 1, 1], 2-D) are the same bytes
 *    in both layouts and never need converting.
 * 2. Candidates connected through spatial values form regions.  A region
 *    goes NHWC when the time it saves (the backend's cost estimates, summed)
 *    exceeds what its boundary conversions cost; --layout nhwc takes every
 *    region, --layout nchw none.  Every decision is explained.
 * 3. The chosen nodes' spatial outputs become NHWC, and a relayout node is
 *    inserted before the first reader that wants the other layout (one per
 *    value and direction, shared by later readers).  Graph inputs and outputs
 *    stay NCHW.
 *
 * It runs in the pass manager as "assign_layout" (after the default passes,
 * before memory planning) when the caller gives the backend's hooks. */
#include <string.h>

#include "ir/ops.h"
#include "passes/pass.h"

static int spatial(const NcValue *v) {
    return v->ndim == 4 && v->shape[2] * v->shape[3] > 1 && v->kind != NC_VAL_PARAM;
}

static int find(int *parent, int v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
}

/* Region r of every candidate node (union-find over spatial values). */
static void regions(const NcGraph *g, const char *cand, int *region) {
    const int nn = g->nodes.len, nv = g->values.len;
    int *parent = nc_malloc((size_t)nn * sizeof(int)), *owner = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nn; i++) parent[i] = i;
    for (int i = 0; i < nv; i++) owner[i] = -1;
    for (int ni = 0; ni < nn; ni++) {
        if (!cand[ni]) continue;
        const NcNode *n = &g->nodes.data[ni];
        for (int j = 0; j < n->ninputs + n->noutputs; j++) {
            const int id = j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs];
            if (!spatial(nc_val(g, id))) continue;
            if (owner[id] < 0)
                owner[id] = ni;
            else
                parent[find(parent, ni)] = find(parent, owner[id]);
        }
    }
    for (int ni = 0; ni < nn; ni++) region[ni] = cand[ni] ? find(parent, ni) : -1;
    free(parent);
    free(owner);
}

int nc_assign_layout(NcGraph *g, const NcLayoutHooks *h, FILE *explain, int *relayouts, NcError *e) {
    const int nn = g->nodes.len;
    *relayouts = 0;
    if (h->mode == NC_LAYOUT_MODE_NCHW || !nn) return 0;
    char *cand = nc_calloc((size_t)nn + 1, 1), *nhwc = nc_calloc((size_t)nn + 1, 1);
    int *region = nc_malloc((size_t)(nn + 1) * sizeof(int));
    for (int ni = 0; ni < nn; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        int any = 0;
        for (int j = 0; j < n->ninputs + n->noutputs; j++)
            any |= spatial(nc_val(g, j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs]));
        if (!any) continue; /* layout-neutral */
        const char *why = "no NHWC kernel";
        cand[ni] = (char)h->nhwc_ok(g, n, h->ctx, &why);
        if (!cand[ni] && explain)
            fprintf(explain, "assign_layout: %s %s: NCHW: %s\n", nc_op_info(n->op)->name, n->scope, why);
    }
    regions(g, cand, region);

    /* 2. per region: time saved against the conversions at its boundary */
    double *gain = nc_calloc((size_t)nn + 1, sizeof(double)), *conv = nc_calloc((size_t)nn + 1, sizeof(double));
    int *size = nc_calloc((size_t)nn + 1, sizeof(int));
    for (int ni = 0; ni < nn; ni++) {
        if (region[ni] < 0) continue;
        const NcNode *n = &g->nodes.data[ni];
        gain[region[ni]] += h->cost(g, n, 0, h->ctx) - h->cost(g, n, 1, h->ctx);
        size[region[ni]]++;
        /* inputs from outside the region (another region's, a graph input) */
        for (int j = 0; j < n->ninputs; j++) {
            const NcValue *v = nc_val(g, n->inputs[j]);
            if (spatial(v) && (v->kind != NC_VAL_NODE || region[v->producer] != region[ni]))
                conv[region[ni]] += h->relayout_cost(v, h->ctx);
        }
        /* outputs read outside it, or returned */
        for (int j = 0; j < n->noutputs; j++) {
            const NcValue *v = nc_val(g, n->outputs[j]);
            if (!spatial(v)) continue;
            int outside = 0;
            for (int k = ni + 1; k < nn && !outside; k++)
                for (int q = 0; q < g->nodes.data[k].ninputs; q++)
                    if (g->nodes.data[k].inputs[q] == v->id && region[k] != region[ni]) outside = 1;
            for (int k = 0; k < g->outputs.len; k++) outside |= g->outputs.data[k] == v->id;
            if (outside) conv[region[ni]] += h->relayout_cost(v, h->ctx);
        }
    }
    for (int ni = 0; ni < nn; ni++) {
        if (region[ni] != ni) continue; /* once per region, at its root */
        const int take = h->mode == NC_LAYOUT_MODE_NHWC || gain[ni] > conv[ni];
        if (explain)
            fprintf(explain,
                    "assign_layout: region of %d nodes from %s: %s (saves %.3f ms, conversions cost %.3f ms)\n",
                    size[ni], g->nodes.data[ni].scope, take ? "NHWC" : "NCHW", 1e3 * gain[ni], 1e3 * conv[ni]);
        for (int k = 0; k < nn; k++)
            if (region[k] == ni) nhwc[k] = (char)take;
    }

    /* 3. lay out the chosen nodes' outputs, then convert where readers differ */
    for (int ni = 0; ni < nn; ni++) {
        if (!nhwc[ni]) continue;
        const NcNode *n = &g->nodes.data[ni];
        for (int j = 0; j < n->noutputs; j++)
            if (spatial(nc_val(g, n->outputs[j]))) nc_val(g, n->outputs[j])->layout = NC_LAYOUT_NHWC;
    }
    const int nv0 = g->values.len;
    int *conv_of = nc_malloc((size_t)nv0 * sizeof(int)); /* the value in the other layout, once made */
    for (int i = 0; i < nv0; i++) conv_of[i] = -1;
    int *order = nc_malloc((size_t)(2 * nn + g->outputs.len + 1) * sizeof(int)), no = 0;
    int rc = 0;
    for (int ni = 0; ni < nn && !rc; ni++) {
        for (int j = 0; j < g->nodes.data[ni].ninputs && !rc; j++) {
            const int id = g->nodes.data[ni].inputs[j];
            if (!spatial(nc_val(g, id)) || nc_is_nhwc(nc_val(g, id)) == nhwc[ni]) continue;
            if (conv_of[id] < 0) {
                const char *reader = g->nodes.data[ni].scope && g->nodes.data[ni].scope[0]
                                         ? g->nodes.data[ni].scope
                                         : nc_op_info(g->nodes.data[ni].op)->name;
                char *scope = nc_sprintf("%s.relayout", reader);
                const NcAttrs a = nc_attrs_default();
                const int r = nc_graph_add_node(g, NC_OP_RELAYOUT, 1, &id, &a, scope, e);
                free(scope);
                if (r < 0) {
                    rc = -1;
                    break;
                }
                const int out = g->nodes.data[r].outputs[0];
                nc_val(g, out)->layout = nhwc[ni] ? NC_LAYOUT_NHWC : NC_LAYOUT_NCHW;
                conv_of[id] = out;
                order[no++] = r;
                (*relayouts)++;
            }
            g->nodes.data[ni].inputs[j] = conv_of[id];
        }
        order[no++] = ni;
    }
    /* graph outputs are NCHW */
    for (int i = 0; i < g->outputs.len && !rc; i++) {
        const int id = g->outputs.data[i];
        if (!nc_is_nhwc(nc_val(g, id))) continue;
        const NcAttrs a = nc_attrs_default();
        const int r = nc_graph_add_node(g, NC_OP_RELAYOUT, 1, &id, &a, "output.relayout", e);
        if (r < 0) {
            rc = -1;
            break;
        }
        g->outputs.data[i] = g->nodes.data[r].outputs[0];
        order[no++] = r;
        (*relayouts)++;
    }
    if (!rc) {
        /* the nodes in their new order (relayouts before their first reader) */
        NcNode *nodes = nc_malloc((size_t)g->nodes.len * sizeof(NcNode));
        for (int i = 0; i < no; i++) nodes[i] = g->nodes.data[order[i]];
        memcpy(g->nodes.data, nodes, (size_t)no * sizeof(NcNode));
        free(nodes);
        nc_graph_compact(g, NULL);
    }
    free(order);
    free(conv_of);
    free(gain);
    free(conv);
    free(size);
    free(region);
    free(cand);
    free(nhwc);
    return rc;
}

int nc_pass_assign_layout(NcGraph *g, NcPassCtx *ctx, NcError *e) {
    if (!ctx->layout)
        return nc_errorf(e, "needs a backend's layout hooks (netc compile runs it with the CPU backend's)");
    return nc_assign_layout(g, ctx->layout, ctx->explain, &ctx->rewrites, e);
}
