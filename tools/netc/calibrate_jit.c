/* calibrate_jit.c — the calibration graph run by its generated kernels (calibrate_jit.h).
 *
 * The loop is runtime/bundle.c's run_nodes over a graph instead of a bundle:
 * views skipped, a generated kernel's stages over their tiles on every
 * OpenMP thread, the reference kernel where none was generated. */
#include "tools/netc/calibrate_jit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cpu/cg.h"
#include "codegen/cpu/cg_jit.h"
#include "codegen/cpu/cg_target.h"
#include "ir/ops.h"
#include "runtime/kernels.h"
#include "runtime/support/amx.h"

struct NcCalJit {
    NcGraph *g;
    NcCgJit *jit;
    const NcKernelEntry *kernels; /* one per node of g */
    unsigned char *arena;
    float **buf;      /* per value: where it lies (the input: set per run) */
    float **wprepped; /* per node: its weights as its kernel's wprep made them, or NULL */
    float *scratch, *x;
    size_t scratch_cap;
    int64_t xfloats;
};

/* Every parameter's data moved into a buffer 64-byte aligned with NC_KERNEL_SLACK floats after it (vector
 * kernels may read past a tensor, runtime/kernels.h; a compiled program's weights region is laid out so):
 * g keeps it (nc_graph_free frees it), so the weights are not held twice. */
static void pad_weights(NcCalJit *j) {
    const NcGraph *g = j->g;
    for (int v = 0; v < g->values.len; v++) {
        NcValue *pv = &g->values.data[v];
        if (pv->kind != NC_VAL_PARAM || !pv->data) continue;
        const size_t bytes = (size_t)nc_param_bytes(pv);
        float *padded = nc_aligned_alloc(bytes + NC_KERNEL_SLACK * sizeof(float));
        memcpy(padded, pv->data, bytes);
        memset((char *)padded + bytes, 0, NC_KERNEL_SLACK * sizeof(float));
        free(pv->data);
        pv->data = padded;
        j->buf[v] = padded;
    }
}

/* Weights the kernels want transformed once (kernels.h wprep), one buffer per stored tensor and transform. */
static void prepare_weights(NcCalJit *j) {
    const NcGraph *g = j->g;
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcKernelEntry *k = &j->kernels[ni];
        const NcNode *n = &g->nodes.data[ni];
        if (!k->stage[0] || !k->wprep || n->ninputs < 2) continue;
        for (int q = 0; q < ni && !j->wprepped[ni]; q++)
            if (j->wprepped[q] && g->nodes.data[q].inputs[1] == n->inputs[1] && j->kernels[q].wprep == k->wprep)
                j->wprepped[ni] = j->wprepped[q];
        if (j->wprepped[ni]) continue;
        float *out[1] = {nc_malloc(((size_t)k->wfloats + NC_KERNEL_SLACK) * sizeof(float))};
        const float *in[NC_MAXIN] = {NULL, j->buf[n->inputs[1]]};
        const int64_t tiles = k->wprep_tiles;
#pragma omp parallel for schedule(dynamic)
        for (int64_t t = 0; t < tiles; t++) k->wprep(in, out, t, t + 1);
        j->wprepped[ni] = out[0];
    }
}

NcCalJit *nc_cal_jit_new(NcGraph *g, const NcPlan *plan, const NcCgOptions *cgo, int *touched, NcError *e) {
    *touched = 0;
    if (g->inputs.len != 1) return nc_errorf(e, "the graph has %d inputs", g->inputs.len), NULL;
    for (int v = 0; v < g->values.len; v++)
        if (g->values.data[v].kind == NC_VAL_NODE && g->values.data[v].dtype != NC_F32)
            return nc_errorf(e, "an activation is not f32"), NULL;
    NcCgTarget t;
    if (nc_cg_target_init(&t, NULL, NULL, e)) return NULL;
    nc_cg_target_free(&t);
    NcCgJit *jit = nc_cg_jit_new(e);
    if (!jit) return NULL;
    /* from here g is the fast path's: its weights packed for the f32 GEMM kernels of the host */
    *touched = 1;
    NcCgOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.winograd = cgo->winograd, opt.im2col = cgo->im2col;
    NcCalJit *j = nc_calloc(1, sizeof *j);
    j->g = g, j->jit = jit;
    const char *dir = getenv("TMPDIR");
    char *path = nc_sprintf("%s/netc-calibrate-XXXXXX", dir && *dir ? dir : "/tmp");
    const int fd = mkstemp(path);
    int rc = fd < 0 ? nc_errorf(e, "cannot make a temporary file in %s", dir && *dir ? dir : "/tmp") : 0;
    if (fd >= 0) close(fd);
    NcGraph *gs[1] = {g};
    if (!rc && nc_cg_pack_weights(gs, 1, &opt, e) < 0) rc = -1;
    if (!rc && nc_cg_emit_object(path, gs, 1, &opt, e) < 0) rc = -1;
    if (!rc && nc_cg_jit_add_object(jit, path, e)) rc = -1;
    if (fd >= 0) unlink(path);
    free(path);
    if (!rc && !(j->kernels = nc_cg_jit_lookup(jit, "netc_kernels", e))) rc = -1;
    /* kernels using AMX tiles need the process's permission first (runtime/support/amx.h) */
    for (int ni = 0; !rc && ni < g->nodes.len; ni++)
        if (j->kernels[ni].stage[0] && j->kernels[ni].isa && strstr(j->kernels[ni].isa, "amx")) {
            rc = nc_amx_enable(e);
            break;
        }
    if (rc) {
        nc_error_prefix(e, "calibration kernels");
        nc_cal_jit_free(j);
        return NULL;
    }
    j->arena = nc_aligned_alloc((size_t)plan->arena_bytes + NC_KERNEL_SLACK * sizeof(float));
    if (!j->arena) nc_out_of_memory((double)plan->arena_bytes);
    j->buf = nc_calloc((size_t)g->values.len + 1, sizeof(float *));
    j->wprepped = nc_calloc((size_t)g->nodes.len + 1, sizeof(float *));
    for (int v = 0; v < g->values.len; v++)
        if (g->values.data[v].kind == NC_VAL_NODE) j->buf[v] = (float *)(j->arena + plan->offset[v]);
    pad_weights(j);
    prepare_weights(j);
    j->xfloats = nc_numel(nc_val(g, g->inputs.data[0]));
    j->x = nc_malloc(((size_t)j->xfloats + NC_KERNEL_SLACK) * sizeof(float));
    memset(j->x + j->xfloats, 0, NC_KERNEL_SLACK * sizeof(float));
    j->buf[g->inputs.data[0]] = j->x;
    return j;
}

/* A generated kernel (kernels.h): one parallel region, every thread through one stage before the next. */
static void run_generated(NcCalJit *j, int ni, const NcNode *n) {
    const NcKernelEntry *k = &j->kernels[ni];
    if (k->scratch && (size_t)k->scratch + NC_KERNEL_SLACK > j->scratch_cap) {
        free(j->scratch);
        j->scratch_cap = (size_t)k->scratch + NC_KERNEL_SLACK;
        j->scratch = nc_malloc(j->scratch_cap * sizeof(float));
    }
    const float *in[NC_MAXIN];
    float *out[NC_MAXOUT + 1];
    for (int i = 0; i < n->ninputs; i++) in[i] = j->buf[n->inputs[i]];
    for (int i = 0; i < n->noutputs; i++) out[i] = j->buf[n->outputs[i]];
    out[n->noutputs] = j->scratch;
    if (j->wprepped[ni]) in[1] = j->wprepped[ni];
    int nstages = 0;
    while (nstages < 3 && k->stage[nstages]) nstages++;
#pragma omp parallel
    for (int s = 0; s < nstages; s++) {
        const int64_t tiles = k->tiles[s], chunk = tiles / 64 > 0 ? tiles / 64 : 1;
#pragma omp for schedule(dynamic)
        for (int64_t t0 = 0; t0 < tiles; t0 += chunk) k->stage[s](in, out, t0, t0 + chunk < tiles ? t0 + chunk : tiles);
    }
}

void nc_cal_jit_run(NcCalJit *j, const float *input, NcCalVisit visit, void *ctx) {
    const NcGraph *g = j->g;
    memcpy(j->x, input, (size_t)j->xfloats * sizeof(float));
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        NcKernelArgs k;
        memset(&k, 0, sizeof k);
        k.node = n;
        for (int i = 0; i < n->ninputs; i++) k.in_v[i] = nc_val(g, n->inputs[i]), k.in[i] = j->buf[n->inputs[i]];
        for (int i = 0; i < n->noutputs; i++) k.out_v[i] = nc_val(g, n->outputs[i]), k.out[i] = j->buf[n->outputs[i]];
        if (visit) visit(ctx, ni, k.in);
        if (n->op == NC_OP_RESHAPE && k.out[0] == k.in[0]) continue; /* a planned view */
        if (n->op == NC_OP_SPLIT && nc_split_in_place(&k)) continue; /* its pieces are views too */
        if (j->kernels[ni].stage[0])
            run_generated(j, ni, n);
        else
            nc_ref_run(&k);
    }
}

void nc_cal_jit_free(NcCalJit *j) {
    if (!j) return;
    if (j->wprepped)
        for (int ni = 0; ni < j->g->nodes.len; ni++) {
            int shared = 0;
            for (int q = 0; q < ni && !shared; q++) shared = j->wprepped[q] == j->wprepped[ni];
            if (!shared) free(j->wprepped[ni]);
        }
    free(j->wprepped);
    free(j->buf);
    free(j->arena);
    free(j->scratch);
    free(j->x);
    nc_cg_jit_free(j->jit);
    free(j);
}
