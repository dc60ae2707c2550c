/* pass.h — graph rewrites and the pass manager.
 *
 * A pass rewrites a graph in place and keeps the IR invariant (the manager
 * verifies after every pass).  It reports what it did, and, when asked to
 * explain, why it left a candidate alone ("bn1: not folded: conv output has
 * 2 readers") — the TVM/ONNX Runtime habit that makes fusion debuggable. */
#ifndef NETC_PASS_H
#define NETC_PASS_H

#include "ir/ir.h"
#include "ir/plan.h"

typedef struct NcLayoutHooks NcLayoutHooks;

typedef struct NcPassCtx {
    FILE *explain;               /* where to say why something was not rewritten; NULL = quiet */
    int rewrites;                /* how many rewrites the running pass made */
    const NcLayoutHooks *layout; /* a backend's answers, for assign_layout; NULL: none */
} NcPassCtx;

typedef struct NcPass {
    const char *name;
    const char *what;
    int (*run)(NcGraph *g, NcPassCtx *ctx, NcError *e);
} NcPass;

/* The default pipeline's passes, in order. */
const NcPass *nc_passes(int *count);
/* Any pass by name, those that need a backend (assign_layout) included. */
const NcPass *nc_pass_find(const char *name);

/* How a pipeline runs: dumps, explanations, the backend's hooks. */
typedef struct NcPassRun {
    const char *dump_after; /* print the IR to dump_out after this pass ("all": after every pass) */
    FILE *dump_out;
    FILE *explain;               /* NULL = quiet */
    const NcLayoutHooks *layout; /* for assign_layout; without it that pass is an error */
} NcPassRun;

/* Runs the comma-separated pipeline ("default" = every pass of nc_passes in
 * order, also as an item of a list: "default,assign_layout"; "none" =
 * nothing); after each pass the graph is verified, and printed as run says.
 * A pass that changes weights needs them bound; without data it rewrites the
 * structure only (enough for dump and info).  run may be NULL. */
int nc_run_pipeline(NcGraph *g, const char *pipeline, const NcPassRun *run, NcError *e);
/* The same without a backend. */
int nc_run_passes(NcGraph *g, const char *pipeline, const char *dump_after, FILE *dump_out, FILE *explain, NcError *e);

/* Pass entry points (one file each). */
int nc_pass_fold_constants(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_fold_bn(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_fuse_epilogue(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_fuse_se(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_fuse_eltwise(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_dce(NcGraph *g, NcPassCtx *ctx, NcError *e);
int nc_pass_assign_layout(NcGraph *g, NcPassCtx *ctx, NcError *e);    /* needs ctx->layout */
int nc_pass_assign_dtype(NcGraph *g, NcPassCtx *ctx, NcError *e);     /* ctx->layout's act_out / act_in */
int nc_pass_epilogue_inplace(NcGraph *g, NcPassCtx *ctx, NcError *e); /* ctx->layout's out_over */
int nc_pass_fuse_bn_act_grad(NcGraph *g, NcPassCtx *ctx, NcError *e); /* training graphs, after autodiff */
int nc_pass_fuse_bn_act(NcGraph *g, NcPassCtx *ctx, NcError *e);      /* training graphs, after the one above */
/* What a CPU training step runs after autodiff (netc compile --train, netc info --train); the GPU's runs dce alone. */
#define NC_TRAIN_PIPELINE_CPU "fuse_bn_act_grad,fuse_bn_act,dce"
/* The chain-following both fusions share (passes/fuse_epilogue.c): from each
 * node is_anchor accepts, pull the single-reader elementwise ops after it
 * into its epilogue. */
int nc_fuse_chains(NcGraph *g, NcPassCtx *ctx, int (*is_anchor)(const NcNode *), const char *pass);

/* Graph surgery shared by the passes (passes/rewrite.c). */
int *nc_reader_counts(const NcGraph *g); /* per value: node inputs + graph outputs reading it; caller frees */
void nc_replace_uses(NcGraph *g, int old_id, int new_id);
/* Drops nodes with dead = 1 in `dead_nodes`, then every node value nobody
 * reads (and no graph output), and parameters nobody reads; renumbers values. */
void nc_graph_compact(NcGraph *g, const char *dead_nodes);

/* Layout assignment (passes/assign_layout.c): which activations are stored
 * NHWC, asked of a backend through these hooks.  Not in the default
 * pipeline: the compile driver runs "...,assign_layout" with the CPU
 * backend's hooks (codegen/cpu/cg_layout.h) before memory planning. */
typedef enum NcLayoutMode {
    NC_LAYOUT_MODE_AUTO = 0,  /* NHWC where the cost model says it pays */
    NC_LAYOUT_MODE_NHWC = 1,  /* NHWC wherever a kernel exists */
    NC_LAYOUT_MODE_NCHW = -1, /* never */
} NcLayoutMode;
struct NcLayoutHooks {
    NcLayoutMode mode;
    /* can nd run with its spatial activations NHWC?  If not, *why says why */
    int (*nhwc_ok)(const NcGraph *g, const NcNode *nd, void *ctx, const char **why);
    /* estimated seconds of nd in NCHW (nhwc 0) or NHWC (1) */
    double (*cost)(const NcGraph *g, const NcNode *nd, int nhwc, void *ctx);
    /* estimated seconds to convert v to the other layout */
    double (*relayout_cost)(const NcValue *v, void *ctx);
    void *ctx;
    /* for assign_dtype (NULL: every activation f32): the reduced dtype nd's kernel can write its output in
     * (NC_F32: none), and whether it can read its input j stored in dtype dt */
    NcDtype (*act_out)(const NcGraph *g, const NcNode *nd, void *ctx);
    int (*act_in)(const NcGraph *g, const NcNode *nd, int j, NcDtype dt, void *ctx);
    /* for epilogue_inplace (NULL: never): does nd's kernel read each element of its epilogue operand j just
     * before it writes the same element of its output, and write no element of the output before that (so
     * the output may be stored over the operand)? */
    int (*out_over)(const NcGraph *g, const NcNode *nd, int j, void *ctx);
};
/* Sets the layouts and inserts relayout nodes; *relayouts says how many. */
int nc_assign_layout(NcGraph *g, const NcLayoutHooks *h, FILE *explain, int *relayouts, NcError *e);

/* Memory planning (passes/plan_memory.c): one arena, static offsets (ir/plan.h). */
int nc_plan_memory(const NcGraph *g, NcPlan *plan, FILE *explain, NcError *e);

#endif
