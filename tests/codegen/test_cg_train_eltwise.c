/* test_cg_train_eltwise.c — the training step's NCHW elementwise kernels
 * (cg_nchw_train_eltwise.h: relu, clamp, silu, sigmoid, add and mul, whole or
 * per (image, channel), act_grad of each activation, batch_norm_train and
 * batch_norm_train_grad, alone and with a relu or clamp, or each
 * activation's gradient, fused in)
 * against the op table's reference kernels
 * (ir/ref_elementwise.c, ir/ref_train.c, ir/ref_grad_pool.c): batch 1 and 3,
 * channel counts that are not multiples of 8, planes 1x1, 7x7 and 13x9, a
 * flat kernel of several chunks with a ragged last one, a 2-d [N, K] value.
 * Inputs end at an unreadable page, every output is fenced by canaries, and
 * the tiles run across threads, then again in reverse over NaN-filled
 * outputs.  The data include each activation's kinks (0, lo, hi exactly),
 * infinities and NaNs (where a NaN comes out must match the reference;
 * elsewhere max |got - want| / max |want|: 1e-5 for the elementwise kernels,
 * 1e-6 for the batch norms, which like their references compute in double
 * and round once, so they agree to an ulp or two; 1e-5 with an activation
 * fused in, whose exp is act_grad's float one).  Channel 1 has a variance
 * below eps (x scaled by 1e-3; the gradient's variance input 1e-6), so that
 * eps moves the answer well past the bound: with unit variances alone a
 * kernel with eps doubled or dropped stayed within 3e-5.  The worst error of
 * each kind is printed. */
#include "codegen/cpu/cg_nchw_train_eltwise.h"
#include "tests/codegen/cg_train_test.h"

static int cases;
static double worst[5]; /* by NcTrainEltKind, then the fused batch-norm gradients */

/* Checks node ni of g; data[v] holds value v's contents for the inputs. */
typedef struct {
    const NcGraph *g;
    const NcNode *nd;
    const NcTrainEltPlan *p;
} EltCtx;
static void emit(NcCgModule *m, void *vc, NcCgKernel *k) {
    const EltCtx *c = vc;
    nc_cg_train_elt_emit(m, c->g, c->nd, c->p, "k", k);
}

static void check_node(const NcCgTarget *t, NcGraph *g, int ni, float *const *data, const char *what0) {
    const NcNode *nd = &g->nodes.data[ni];
    char what[320];
    NcTrainEltPlan p;
    const int ok = nc_cg_train_elt_plan(&p, g, nd);
    const int with_act = nd->op == NC_OP_ACT_GRAD || (nd->op == NC_OP_BATCH_NORM_TRAIN_GRAD && nd->ninputs == 6);
    snprintf(what, sizeof what, "%s%s%s%s%s %s", nc_op_info(nd->op)->name, with_act ? " of " : "",
             with_act ? nc_epi_name((NcEpiKind)nd->attrs.act) : "", nd->attrs.nepi ? " then " : "",
             nd->attrs.nepi ? nc_epi_name(nd->attrs.epi[0].kind) : "", what0);
    CHECK_MSG(ok, "%s: refused", what);
    if (!ok) return;
    EltCtx c = {g, nd, &p};
    const int fused = nd->op == NC_OP_BATCH_NORM_TRAIN_GRAD && nd->ninputs == 6, slot = fused ? 4 : (int)p.kind;
    const double err =
        cgt_check_train_kernel(t, g, nd, data, emit, &c, p.kind >= NC_TELT_BN && !fused ? 1e-6 : 1e-5, what);
    if (err > worst[slot]) worst[slot] = err;
    cases += err >= 0;
}

/* Fills g's inputs (guarded), special values sprinkled in unless plain, and
 * checks every node.  Channel 1 of every input of 2 or more dimensions is
 * scaled by 1e-3, and element 1 of value lowvar (the variance the batch
 * norm's gradient reads) is 1e-6: both below the batch norms' eps. */
static void check_graph(const NcCgTarget *t, NcGraph *g, const char *what, int special, const float *kinks,
                        int lowvar) {
    float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
    for (int i = 0; i < g->values.len; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind == NC_VAL_NODE) continue;
        const int64_t n = nc_numel(v);
        data[i] = cgt_guarded(n);
        if (v->ndim == 1) /* batch norm parameters and statistics: a variance must be positive */
            for (int64_t k = 0; k < n; k++) data[i][k] = fabsf(data[i][k]) * 2 + 0.05f;
        else
            for (int64_t k = 0; k < n; k++) data[i][k] *= 4;
        if (i == lowvar && n > 1) data[i][1] = 1e-6f;
        if (v->ndim > 1 && v->shape[1] > 1) {
            const int64_t inner = n / (v->shape[0] * v->shape[1]);
            for (int64_t b = 0; b < v->shape[0]; b++)
                for (int64_t k = 0; k < inner; k++) data[i][(b * v->shape[1] + 1) * inner + k] *= 1e-3f;
        }
        if (special && v->ndim > 1)
            for (int64_t k = 0; k < n; k += 37) {
                static const float sp[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 30.0f, -30.0f, -100.0f};
                const int s = (int)((k / 37 + i) % 11);
                data[i][k] = s < 8 ? sp[s] : kinks ? kinks[s - 8] : 0.0f;
            }
    }
    for (int ni = 0; ni < g->nodes.len; ni++) check_node(t, g, ni, data, what);
    for (int i = 0; i < g->values.len; i++)
        if (data[i]) cgt_guarded_free(data[i], nc_numel(&g->values.data[i]));
    free(data);
}

static int add_node(NcGraph *g, NcOpKind op, int nin, const int *ins, const NcAttrs *a) {
    NcError e;
    const int r = nc_graph_add_node(g, op, nin, ins, a, nc_op_info(op)->name, &e);
    CHECK_MSG(r >= 0, "%s: %s", nc_op_info(op)->name, r < 0 ? e.msg : "");
    return r;
}

static void check_shape(const NcCgTarget *t, int ndim, const int64_t *s) {
    char what[128];
    snprintf(what, sizeof what, "[%lld, %lld, %lld, %lld]", (long long)s[0], (long long)s[1],
             (long long)(ndim > 2 ? s[2] : 1), (long long)(ndim > 3 ? s[3] : 1));
    const float lo = -0.5f, hi = 0.75f, kinks[3] = {-0.5f, 0.75f, 0.0f};
    for (int special = 0; special < 2; special++) {
        /* the forward activations, add and mul of whole operands, act_grad of each */
        NcGraph *g = nc_graph_new("train_elt");
        const int x = nc_graph_add_input(g, "x", ndim, s), y = nc_graph_add_input(g, "y", ndim, s);
        const int z = nc_graph_add_input(g, "z", ndim, s);
        NcAttrs a = nc_attrs_default();
        int ins[5] = {x, y};
        add_node(g, NC_OP_RELU, 1, ins, &a);
        add_node(g, NC_OP_SILU, 1, ins, &a);
        add_node(g, NC_OP_SIGMOID, 1, ins, &a);
        a.lo = lo, a.hi = hi;
        add_node(g, NC_OP_CLAMP, 1, ins, &a);
        add_node(g, NC_OP_ADD, 2, ins, &a);
        add_node(g, NC_OP_MUL, 2, ins, &a);
        { /* add then relu, add then clamp, mul then relu as one kernel (passes/fuse_bn_act.c) */
            NcAttrs ea = nc_attrs_default();
            ea.nepi = 1, ea.epi[0] = (NcEpilogue){.kind = NC_EPI_RELU};
            add_node(g, NC_OP_ADD, 2, ins, &ea);
            add_node(g, NC_OP_MUL, 2, ins, &ea);
            ea.epi[0] = (NcEpilogue){.kind = NC_EPI_CLAMP, .lo = lo, .hi = hi};
            add_node(g, NC_OP_ADD, 2, ins, &ea);
        }
        static const NcEpiKind acts[4] = {NC_EPI_RELU, NC_EPI_CLAMP, NC_EPI_SILU, NC_EPI_SIGMOID};
        ins[0] = y, ins[1] = x;
        for (int k = 0; k < 4; k++) {
            a.act = acts[k];
            add_node(g, NC_OP_ACT_GRAD, 2, ins, &a);
        }
        /* per (image, channel) operands, either side */
        if (ndim == 4) {
            const int64_t pcs[4] = {s[0], s[1], 1, 1};
            const int pc = nc_graph_add_input(g, "pc", 4, pcs);
            a = nc_attrs_default();
            ins[0] = x, ins[1] = pc;
            add_node(g, NC_OP_MUL, 2, ins, &a);
            ins[0] = pc, ins[1] = x;
            add_node(g, NC_OP_ADD, 2, ins, &a);
            a.nepi = 1, a.epi[0] = (NcEpilogue){.kind = NC_EPI_RELU}; /* and with a relu */
            add_node(g, NC_OP_ADD, 2, ins, &a);
        }
        /* the batch norms */
        const int64_t cs[1] = {s[1]};
        int pv[4];
        for (int k = 0; k < 4; k++) {
            char nm[8] = {'p', (char)('0' + k), 0};
            pv[k] = nc_graph_add_input(g, nm, 1, cs);
        }
        a = nc_attrs_default();
        a.eps = 1e-5f;
        if (nc_numel(nc_val(g, x)) / s[1] >= 2) {
            ins[0] = x, ins[1] = pv[0], ins[2] = pv[1], ins[3] = pv[2], ins[4] = pv[3];
            add_node(g, NC_OP_BATCH_NORM_TRAIN, 5, ins, &a);
            NcAttrs fa = a; /* and with a relu, then a clamp, fused in (passes/fuse_bn_act.c) */
            fa.nepi = 1, fa.epi[0] = (NcEpilogue){.kind = NC_EPI_RELU};
            add_node(g, NC_OP_BATCH_NORM_TRAIN, 5, ins, &fa);
            fa.epi[0] = (NcEpilogue){.kind = NC_EPI_CLAMP, .lo = lo, .hi = hi};
            add_node(g, NC_OP_BATCH_NORM_TRAIN, 5, ins, &fa);
        }
        ins[0] = y, ins[1] = x, ins[2] = pv[0], ins[3] = pv[2], ins[4] = pv[3];
        add_node(g, NC_OP_BATCH_NORM_TRAIN_GRAD, 5, ins, &a);
        /* and with each activation's gradient fused in (passes/fuse_bn_act_grad.c): z the activation's input */
        const int fin[6] = {y, x, pv[0], pv[2], pv[3], z};
        for (int k = 0; k < 4; k++) {
            NcAttrs fa = a;
            fa.act = acts[k], fa.lo = lo, fa.hi = hi;
            add_node(g, NC_OP_BATCH_NORM_TRAIN_GRAD, 6, fin, &fa);
        }
        char w2[160];
        snprintf(w2, sizeof w2, "%s%s", what, special ? " (kinks, infinities, NaNs)" : "");
        check_graph(t, g, w2, special, kinks, pv[3]);
        nc_graph_free(g);
    }
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    static const int64_t planes[3][2] = {{1, 1}, {7, 7}, {13, 9}};
    for (int n = 1; n <= 3; n += 2)
        for (int c = 5; c <= 19; c += 14)
            for (int pl = 0; pl < 3; pl++) {
                const int64_t s[4] = {n, c, planes[pl][0], planes[pl][1]};
                check_shape(&t, 4, s);
            }
    const int64_t big[4] = {3, 37, 17, 15}, flat[2] = {3, 10}, wide[4] = {2, 1, 64, 64};
    check_shape(&t, 4, big);  /* several chunks, the last ragged */
    check_shape(&t, 4, wide); /* one channel, exactly one chunk */
    check_shape(&t, 2, flat); /* [N, K] */
    printf("%d kernels checked; worst relative error: elementwise %.2g, act_grad %.2g (bound 1e-5), "
           "batch_norm_train %.2g, batch_norm_train_grad %.2g (bound 1e-6), with an activation %.2g (bound 1e-5)\n",
           cases, worst[0], worst[1], worst[2], worst[3], worst[4]);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
