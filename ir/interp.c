/* interp.c — node-by-node execution.  Buffers are allocated when a value is
 * produced and freed after its last use, so even resnest269e at 448 runs in a
 * few hundred MB; there is no planning here on purpose (that is the
 * compiler's job, and this must stay obviously right). */
#include "ir/interp.h"

#include <string.h>

#include "ir/ops.h"
#include "ir/plan.h"

int nc_interp_run(const NcGraph *g, const float *const *inputs, float **outputs, NcInterpStats *stats, NcError *e) {
    const int nv = g->values.len;
    int *last_use = nc_malloc((size_t)nv * sizeof(int));
    float **buf = nc_calloc((size_t)nv, sizeof(float *));
    for (int i = 0; i < nv; i++) last_use[i] = -1;
    for (int ni = 0; ni < g->nodes.len; ni++)
        for (int j = 0; j < g->nodes.data[ni].ninputs; j++) last_use[g->nodes.data[ni].inputs[j]] = ni;
    for (int i = 0; i < g->outputs.len; i++) last_use[g->outputs.data[i]] = g->nodes.len; /* kept */

    for (int i = 0; i < nv; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind == NC_VAL_PARAM) {
            if (!v->data) {
                free(last_use);
                free(buf);
                return nc_errorf(e, "parameter '%s' has no data (weights not loaded)", v->name);
            }
            buf[i] = v->data;
        }
    }
    for (int i = 0; i < g->inputs.len; i++) buf[g->inputs.data[i]] = (float *)inputs[i];

    double t0 = nc_now();
    size_t live = 0, peak = 0;
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        NcKernelArgs k;
        memset(&k, 0, sizeof k);
        k.node = n;
        for (int j = 0; j < n->ninputs; j++) {
            k.in_v[j] = &g->values.data[n->inputs[j]];
            k.in[j] = buf[n->inputs[j]];
        }
        for (int j = 0; j < n->noutputs; j++) {
            const NcValue *o = &g->values.data[n->outputs[j]];
            size_t bytes = (size_t)nc_numel(o) * sizeof(float);
            buf[o->id] = nc_malloc(bytes);
            live += bytes;
            k.out_v[j] = o;
            k.out[j] = buf[o->id];
        }
        if (live > peak) peak = live;
        nc_ref_run(&k);
        /* Free what this node was the last to read (and outputs nobody reads). */
        for (int j = 0; j < n->ninputs + n->noutputs; j++) {
            int id = j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs];
            const NcValue *v = &g->values.data[id];
            if (v->kind != NC_VAL_NODE || !buf[id] || last_use[id] > ni) continue;
            live -= (size_t)nc_numel(v) * sizeof(float);
            free(buf[id]);
            buf[id] = NULL;
        }
    }
    for (int i = 0; i < g->outputs.len; i++) {
        int id = g->outputs.data[i];
        const NcValue *v = &g->values.data[id];
        if (v->kind == NC_VAL_NODE) {
            outputs[i] = buf[id];
        } else { /* an input or parameter returned as is: hand out a copy */
            outputs[i] = nc_malloc((size_t)nc_numel(v) * sizeof(float));
            memcpy(outputs[i], buf[id], (size_t)nc_numel(v) * sizeof(float));
        }
    }
    if (stats) {
        stats->seconds = nc_now() - t0;
        stats->peak_bytes = peak;
    }
    free(last_use);
    free(buf);
    return 0;
}

int nc_interp_run_planned(const NcGraph *g, const NcPlan *plan, const float *const *inputs, float **outputs,
                          NcInterpStats *stats, NcError *e) {
    const int nv = g->values.len;
    float **buf = nc_calloc((size_t)nv, sizeof(float *));
    unsigned char *arena = aligned_alloc(64, (size_t)(plan->arena_bytes ? plan->arena_bytes : 64));
    if (!arena) NC_FATAL("out of memory for a %lld-byte arena", (long long)plan->arena_bytes);
    for (int i = 0; i < nv; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind == NC_VAL_PARAM) {
            if (!v->data) {
                free(buf);
                free(arena);
                return nc_errorf(e, "parameter '%s' has no data (weights not loaded)", v->name);
            }
            buf[i] = v->data;
        } else if (v->kind == NC_VAL_NODE) {
            buf[i] = (float *)(arena + plan->offset[i]);
        }
    }
    for (int i = 0; i < g->inputs.len; i++) buf[g->inputs.data[i]] = (float *)inputs[i];
    double t0 = nc_now();
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        NcKernelArgs k;
        memset(&k, 0, sizeof k);
        k.node = n;
        for (int j = 0; j < n->ninputs; j++) k.in_v[j] = &g->values.data[n->inputs[j]], k.in[j] = buf[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++)
            k.out_v[j] = &g->values.data[n->outputs[j]], k.out[j] = buf[n->outputs[j]];
        /* a view (reshape) shares its input's bytes: nothing to compute */
        if (n->op == NC_OP_RESHAPE && k.out[0] == k.in[0]) continue;
        nc_ref_run(&k);
    }
    for (int i = 0; i < g->outputs.len; i++) {
        const NcValue *v = &g->values.data[g->outputs.data[i]];
        size_t bytes = (size_t)nc_numel(v) * sizeof(float);
        outputs[i] = nc_malloc(bytes);
        memcpy(outputs[i], buf[v->id], bytes);
    }
    if (stats) {
        stats->seconds = nc_now() - t0;
        stats->peak_bytes = (size_t)plan->arena_bytes;
    }
    free(buf);
    free(arena);
    return 0;
}
