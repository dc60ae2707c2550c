/* rewrite.c — graph surgery the passes share: reader counts, use
 * replacement, and compaction (dropping dead nodes and values, renumbering). */
#include <string.h>

#include "passes/pass.h"

int *nc_reader_counts(const NcGraph *g) {
    int *n = nc_calloc((size_t)g->values.len + 1, sizeof(int));
    for (int i = 0; i < g->nodes.len; i++)
        for (int j = 0; j < g->nodes.data[i].ninputs; j++) n[g->nodes.data[i].inputs[j]]++;
    for (int i = 0; i < g->outputs.len; i++) n[g->outputs.data[i]]++;
    return n;
}

void nc_replace_uses(NcGraph *g, int old_id, int new_id) {
    for (int i = 0; i < g->nodes.len; i++)
        for (int j = 0; j < g->nodes.data[i].ninputs; j++)
            if (g->nodes.data[i].inputs[j] == old_id) g->nodes.data[i].inputs[j] = new_id;
    for (int i = 0; i < g->outputs.len; i++)
        if (g->outputs.data[i] == old_id) g->outputs.data[i] = new_id;
}

void nc_graph_compact(NcGraph *g, const char *dead_nodes) {
    /* 1. drop dead nodes */
    int kept = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        if (dead_nodes && dead_nodes[i]) {
            free(g->nodes.data[i].scope);
            continue;
        }
        g->nodes.data[kept++] = g->nodes.data[i];
    }
    g->nodes.len = kept;
    /* 2. keep values that are inputs, read by a node, or graph outputs; and
     *    every output of a surviving node (multi-output ops keep all slots) */
    int nv = g->values.len;
    char *keep = nc_calloc((size_t)nv + 1, 1);
    for (int i = 0; i < g->inputs.len; i++) keep[g->inputs.data[i]] = 1;
    for (int i = 0; i < g->outputs.len; i++) keep[g->outputs.data[i]] = 1;
    for (int i = 0; i < g->nodes.len; i++) {
        const NcNode *n = &g->nodes.data[i];
        for (int j = 0; j < n->ninputs; j++) keep[n->inputs[j]] = 1;
        for (int j = 0; j < n->noutputs; j++) keep[n->outputs[j]] = 1;
    }
    int *map = nc_malloc((size_t)nv * sizeof(int));
    int k = 0;
    for (int i = 0; i < nv; i++) {
        if (!keep[i]) {
            free(g->values.data[i].name);
            free(g->values.data[i].data);
            map[i] = -1;
            continue;
        }
        map[i] = k;
        g->values.data[k] = g->values.data[i];
        g->values.data[k].id = k;
        k++;
    }
    g->values.len = k;
    for (int i = 0; i < g->nodes.len; i++) {
        NcNode *n = &g->nodes.data[i];
        for (int j = 0; j < n->ninputs; j++) n->inputs[j] = map[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++) {
            n->outputs[j] = map[n->outputs[j]];
            g->values.data[n->outputs[j]].producer = i;
        }
    }
    for (int i = 0; i < g->inputs.len; i++) g->inputs.data[i] = map[g->inputs.data[i]];
    for (int i = 0; i < g->outputs.len; i++) g->outputs.data[i] = map[g->outputs.data[i]];
    free(map);
    free(keep);
}
