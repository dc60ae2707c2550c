/* cg_module.c — the LLVM module of a bundle: which strategy makes each
 * node's kernel (the table below), the weights they pack, the `netc_kernels`
 * table (runtime/kernels.h), and the object file. */
#include <math.h>
#include <string.h>

#include "codegen/cpu/cg_eltwise.h"
#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_gemm_i8.h"
#include "codegen/cpu/cg_internal.h"
#include "codegen/cpu/cg_kernel.h"
#include "codegen/cpu/cg_nchw_train.h"
#include "codegen/cpu/cg_nchw_train_eltwise.h"
#include "codegen/cpu/cg_nchw_train_gconv.h"
#include "codegen/cpu/cg_nchw_train_linear.h"
#include "codegen/cpu/cg_nchw_train_loss.h"
#include "codegen/cpu/cg_nchw_train_pool.h"
#include "codegen/cpu/cg_nchw_train_radix.h"
#include "codegen/cpu/cg_nchw_train_reduce.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "codegen/cpu/cg_nhwc_im2col.h"
#include "codegen/cpu/cg_nhwc_wino.h"
#include "codegen/cpu/cg_peak.h"
#include "codegen/cpu/cg_precision.h"
#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_relayout.h"
#include "ir/ops.h"
#include "runtime/bundle.h"

const char *nc_cg_host_cpu(void) {
    static char name[64];
    char *h = LLVMGetHostCPUName();
    snprintf(name, sizeof name, "%s", h);
    LLVMDisposeMessage(h);
    return name;
}

/* ---- which node runs which kernel -------------------------------------- */

/* Is the parameter read by this node alone (so its storage may be repacked)? */
static int sole_reader(const NcGraph *g, int value, const NcNode *nd) {
    for (int i = 0; i < g->nodes.len; i++) {
        const NcNode *o = &g->nodes.data[i];
        if (o == nd) continue;
        for (int j = 0; j < o->ninputs; j++)
            if (o->inputs[j] == value) return 0;
    }
    for (int i = 0; i < g->outputs.len; i++)
        if (g->outputs.data[i] == value) return 0;
    return 1;
}

/* A 1x1 conv or a linear layer as a GEMM with packed weights; fills the
 * spec (blocking left to the plan).  Its activations are NHWC, or have no
 * spatial extent (the same bytes in either layout); a strided conv on an
 * NHWC plane is nc_cg_nhwc_im2col's (a copy + GEMM).  Whether the weights
 * are packed yet is not asked here. */
int cg_gemm_candidate(const NcGraph *g, const NcNode *nd, NcGemmSpec *s, int nhwc) {
    const NcAttrs *a = &nd->attrs;
    if (nd->op != NC_OP_CONV2D && nd->op != NC_OP_LINEAR) return 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (w->kind != NC_VAL_PARAM || nd->noutputs != 1) return 0;
    memset(s, 0, sizeof *s);
    if (nd->op == NC_OP_CONV2D) {
        if (w->ndim != 4 || w->shape[2] != 1 || w->shape[3] != 1 || a->groups != 1 || a->dilation[0] != 1 ||
            a->dilation[1] != 1 || a->stride[0] != a->stride[1] || a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3])
            return 0;
        if (x->shape[2] * x->shape[3] > 1 && (!nhwc || a->stride[0] != 1)) return 0;
        s->batch = x->shape[0], s->cin = w->shape[1], s->cout = w->shape[0], s->hw = y->shape[2] * y->shape[3];
        /* an SE gate on the input: applied by the kernel */
        if (a->has_in_scale) s->in_scale = nc_in_scale_input(a);
    } else {
        if (x->ndim != 2 || w->ndim != 2 || y->ndim != 2 || a->has_in_scale) return 0;
        s->batch = x->shape[0], s->cin = w->shape[1], s->cout = w->shape[0], s->hw = 1;
    }
    s->bias = a->has_bias;
    s->nepi = a->nepi;
    for (int i = 0; i < a->nepi; i++) {
        s->epi[i] = a->epi[i];
        if (a->epi[i].kind != NC_EPI_ADD && a->epi[i].kind != NC_EPI_MUL) continue;
        const NcValue *o = nc_val(g, nd->inputs[a->epi[i].input]);
        if (nc_numel(o) == nc_numel(y) && (nc_shape_eq(o, y) || s->hw == 1)) continue;
        if (o->ndim == 4 && o->shape[0] == y->shape[0] && o->shape[1] == y->shape[1] && o->shape[2] == 1 &&
            o->shape[3] == 1 && s->hw > 1) {
            s->epi_per_channel[i] = 1;
            continue;
        }
        return 0;
    }
    return sole_reader(g, nd->inputs[1], nd);
}

static int gemm_candidate(const NcGraph *g, const NcNode *nd, NcGemmSpec *s) {
    return cg_gemm_candidate(g, nd, s, nc_is_nhwc(nc_val(g, nd->inputs[0])));
}

/* prefer_f32 (a dense 3x3 stride-1 conv without AMX) holds only where Winograd F4 takes the conv: a plane
 * too small for Winograd (resnet50's 2x2 layer 4 at 32x32) would otherwise run the f32 direct kernel, and F2
 * (2.25x fewer multiplies, against vdpbf16ps' 2x) lost to the bf16 columns on AMD Zen 4: resnet50 batch 1,
 * 2 threads, layer 4's 3x3s 1.20-1.24 -> 0.83-0.85 ms, layer 3's 0.63-0.67 -> 0.61-0.62 */
int cg_bf16_takes(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt, NcBf16Plan *bp) {
    const char *why;
    if ((nd->op != NC_OP_CONV2D && nd->op != NC_OP_LINEAR) || nd->ninputs < 2) return 0;
    const NcValue *w = nc_val(g, nd->inputs[1]);
    return w->kind == NC_VAL_PARAM && w->data && w->dtype == NC_F32 && w->layout != NC_LAYOUT_PACKED &&
           sole_reader(g, nd->inputs[1], nd) && nc_cg_bf16_plan(bp, g, nd, t, 0, &why) &&
           (!bp->prefer_f32 || cg_nhwc_wino_choice(g, nd, t, opt, NULL) != 4);
}

/* How --precision int8 runs conv node nd once calibrated (nc_cg_pack_weights then quantises its weights):
 * CG_I8_IM2COL (np filled), CG_I8_GEMM, or 0: not in int8 (its f32 kernel). */
int cg_i8_route(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt, NcNhwcIm2colPlan *np) {
    if (nd->op != NC_OP_CONV2D || nd->ninputs < 2) return 0;
    const NcValue *w = nc_val(g, nd->inputs[1]);
    const char *why;
    NcGemmSpec s;
    NcGemmPlan p;
    NcError e;
    if ((!opt || opt->im2col >= 0) && w->layout == NC_LAYOUT_NCHW && w->data && sole_reader(g, nd->inputs[1], nd) &&
        nc_is_nhwc(nc_val(g, nd->inputs[0])) && nc_cg_nhwc_im2col_plan_i8(np, g, nd, t, &why))
        return CG_I8_IM2COL;
    if (gemm_candidate(g, nd, &s) && w->layout != NC_LAYOUT_PACKED && w->data && !nc_cg_gemm_plan(&p, &s, t, &e))
        return CG_I8_GEMM;
    return 0;
}

/* Packs w's data in place for GEMM plan gp (reordered for the NHWC im2col
 * first when np is set): the packed weights have exactly w's float count;
 * with bf16, each rounded to bf16 (half the bytes, NC_BF16). */
static void pack_in_place(NcValue *w, const NcGemmPlan *gp, const NcNhwcIm2colPlan *np, int bf16) {
    NC_CHECK(gp->packed_floats == nc_numel(w));
    float *buf = nc_malloc((size_t)gp->packed_floats * sizeof(float));
    if (np)
        nc_cg_nhwc_im2col_pack(np, w->data, buf);
    else
        nc_cg_gemm_pack(gp, w->data, buf);
    if (bf16) {
        uint16_t *h = nc_malloc((size_t)gp->packed_floats * sizeof(uint16_t));
        nc_bf16_round_n(buf, h, gp->packed_floats);
        memcpy(w->data, h, (size_t)gp->packed_floats * sizeof(uint16_t));
        free(h);
        w->dtype = NC_BF16;
    } else {
        memcpy(w->data, buf, (size_t)gp->packed_floats * sizeof(float));
    }
    free(buf);
    w->layout = NC_LAYOUT_PACKED;
}

/* int8: w (O x K, reordered [O, KH, KW, C] for the NHWC im2col when np is
 * set; K a group's reduction, its rows G groups of O / G) quantised with the activation range [lo, hi] into an
 * int8 blob (cg_precision.h) that replaces w's data. */
static void pack_i8(NcValue *w, int64_t O, int64_t K, int64_t G, const NcNhwcIm2colPlan *np, float lo, float hi,
                    int64_t kalign) {
    float *r = w->data;
    if (np) {
        r = nc_malloc((size_t)(O * K) * sizeof(float));
        nc_cg_nhwc_im2col_reorder(np, w->data, r);
    }
    NcI8Layout l;
    nc_i8_layout_groups(&l, G, O / G, K, kalign);
    unsigned char *blob = nc_malloc((size_t)l.bytes);
    nc_i8_pack_groups(&l, G, O / G, r, lo, hi, blob);
    if (r != w->data) free(r);
    free(w->data);
    w->data = (float *)(void *)blob;
    w->nbytes = l.bytes, w->dtype = NC_I8, w->layout = NC_LAYOUT_PACKED;
}

/* bf16 pair tiles (cg_amx_gemm.h) in place of w's data: nbytes of their own, NC_BF16, packed. */
static void pack_bf16_tiles(NcValue *w, const NcBf16Plan *bp) {
    uint16_t *blob = nc_malloc((size_t)bp->blob_bytes);
    nc_cg_bf16_pack(bp, w->data, blob);
    free(w->data);
    w->data = (float *)(void *)blob;
    w->nbytes = bp->blob_bytes, w->dtype = NC_BF16, w->layout = NC_LAYOUT_PACKED;
}

/* The calibrated range of node ni of graph gi, when --precision int8 has one. */
static int calibrated(const NcCgOptions *opt, int gi, int ni, float *lo, float *hi) {
    if (!opt || opt->precision != NC_PREC_INT8 || !opt->calib || gi >= opt->calib->ngraphs) return 0;
    *lo = opt->calib->lo[gi][ni], *hi = opt->calib->hi[gi][ni];
    return !isnan(*lo) && !isnan(*hi);
}

int nc_cg_pack_weights(NcGraph *const *graphs, int ngraphs, const NcCgOptions *opt, NcError *e) {
    if (opt && opt->train) return 0; /* a training step's parameters change every step: its kernels pack them */
    NcCgTarget t;
    if (nc_cg_target_init(&t, opt ? opt->cpu : NULL, opt ? opt->features : NULL, e)) return -1;
    int packed = 0;
    for (int gi = 0; gi < ngraphs; gi++)
        for (int ni = 0; ni < graphs[gi]->nodes.len; ni++) {
            const NcNode *nd = &graphs[gi]->nodes.data[ni];
            NcGemmSpec s;
            NcGemmPlan p;
            NcError pe;
            NcValue *w = nc_val(graphs[gi], nd->inputs[1]);
            const char *why;
            /* im2col + GEMM, if its plan takes the node */
            NcNhwcIm2colPlan np;
            const int bf16 = opt && opt->precision == NC_PREC_BF16;
            float lo = 0, hi = 0;
            const int i8 = calibrated(opt, gi, ni, &lo, &hi);
            if (i8) { /* cg_i8_route: the same choice as assign_dtype's hooks made */
                const int route = cg_i8_route(graphs[gi], nd, &t, opt, &np);
                if (route == CG_I8_IM2COL)
                    pack_i8(w, np.O, np.gemm.K, np.G, &np, lo, hi, nc_cg_i8_kalign(&t, np.gemm.K));
                if (route == CG_I8_GEMM) {
                    NcGemmSpec gs;
                    gemm_candidate(graphs[gi], nd, &gs);
                    pack_i8(w, gs.cout, gs.cin, 1, NULL, lo, hi, nc_cg_i8_kalign(&t, gs.cin));
                }
                if (route) {
                    packed++;
                    continue;
                }
            }
            /* bf16 on AMX or AVX512-BF16: every conv (8+ channels a group) and linear layer as bf16 pair tiles */
            NcBf16Plan bp;
            if (bf16 && cg_bf16_takes(graphs[gi], nd, &t, opt, &bp)) {
                pack_bf16_tiles(w, &bp);
                packed++;
                continue;
            }
            if (nd->op == NC_OP_CONV2D && (!opt || opt->im2col >= 0) && w->layout == NC_LAYOUT_NCHW && w->data &&
                sole_reader(graphs[gi], nd->inputs[1], nd) && nc_is_nhwc(nc_val(graphs[gi], nd->inputs[0])) &&
                nc_cg_nhwc_im2col_plan(&np, graphs[gi], nd, &t, &why)) {
                pack_in_place(w, &np.gemm, &np, bf16); /* reordered [O, KH, KW, C] */
                packed++;
                continue;
            }
            if (!gemm_candidate(graphs[gi], nd, &s) || w->layout == NC_LAYOUT_PACKED || !w->data ||
                nc_cg_gemm_plan(&p, &s, &t, &pe))
                continue;
            pack_in_place(w, &p, NULL, bf16);
            packed++;
        }
    nc_cg_target_free(&t);
    return packed;
}

/* ---- the module --------------------------------------------------------- */

/* Everything a kernel generator reads of a node: op, attributes, and each
 * operand's kind, layout and shape — not its data, name or place.  Nodes with
 * the same signature get the same kernel (a ResNeSt-269 has 48 blocks of
 * four shapes), which is most of the module's size and compile time. */
typedef struct NodeSig {
    int32_t op, ninputs, noutputs, pad;
    NcAttrs attrs;
    struct {
        int32_t kind, ndim, layout, dtype; /* dtype: the weights' precision (f32, bf16, int8) */
        int64_t shape[NC_MAXDIM];
    } v[NC_MAXIN + NC_MAXOUT];
} NodeSig;

static void node_sig(const NcGraph *g, const NcNode *nd, NodeSig *s) {
    memset(s, 0, sizeof *s);
    s->op = nd->op, s->ninputs = nd->ninputs, s->noutputs = nd->noutputs;
    memcpy(&s->attrs, &nd->attrs, sizeof s->attrs);
    for (int j = 0; j < nd->ninputs + nd->noutputs; j++) {
        const NcValue *v = nc_val(g, j < nd->ninputs ? nd->inputs[j] : nd->outputs[j - nd->ninputs]);
        s->v[j].kind = v->kind, s->v[j].ndim = v->ndim, s->v[j].layout = v->layout, s->v[j].dtype = (int32_t)v->dtype;
        memcpy(s->v[j].shape, v->shape, sizeof s->v[j].shape);
    }
}

typedef struct SigEntry {
    uint64_t hash;
    NodeSig *sig;
    LLVMValueRef entry;
} SigEntry;

/* ---- the strategies ----------------------------------------------------- */

/* A node being given a kernel. */
typedef struct CgNode {
    NcCgModule *m;
    const NcCgOptions *opt;
    const NcGraph *g;
    const NcNode *nd;
} CgNode;

/* What a strategy's plan found, for its emit. */
typedef union CgPlan {
    NcGemmPlan gemm;
    NcBf16Plan bf16;
    NcGemmI8Plan gemm_i8;
    struct {
        NcNhwcIm2colPlan im;
        NcGemmI8Plan q;
    } im2col_i8;
    NcNhwcIm2colPlan im2col;
    NcNhwcWinoPlan wino;
    NcNhwcConvPlan conv;
    NcTrainConvPlan train;
    NcTrainGconvPlan gconv;
    NcTrainEltPlan elt;
    NcTrainLinearPlan lin;
    NcTrainRedPlan red;
    NcTrainRadixPlan radix;
    NcTrainPoolPlan pool;
    NcTrainLossPlan loss;
} CgPlan;

/* A way of making a node's kernel: plan says whether it applies to the
 * node (filling *p), emit makes the kernel's functions `<prefix>_...` into
 * *k.  Tried in table order; the first whose plan applies makes the kernel,
 * and its name is the kernel's kind (bench --per-kernel).  A training job's
 * programs (NcCgOptions.train) are offered the strategies marked train
 * alone, inference programs the others. */
typedef struct CgStrategy {
    const char *name;
    int train;
    int (*plan)(const CgNode *c, CgPlan *p);
    void (*emit)(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k);
} CgStrategy;

static const NcValue *input(const CgNode *c, int j) { return nc_val(c->g, c->nd->inputs[j]); }
static int is_conv(const CgNode *c) { return c->nd->op == NC_OP_CONV2D; }
static int nhwc_conv(const CgNode *c) { return is_conv(c) && nc_is_nhwc(input(c, 0)); }
static int packed_weights(const CgNode *c) { return input(c, 1)->layout == NC_LAYOUT_PACKED; }
static int int8_weights(const CgNode *c) { return c->nd->ninputs > 1 && input(c, 1)->dtype == NC_I8; }
/* A GEMM's precision for profiles (NcCgKernel.precision): bf16 weights widened to f32 as loaded, "bf16". */
static const char *gemm_precision(int wtype) { return wtype == NC_BF16 ? "bf16" : NULL; }

/* nc_cg_pack_weights packed the filter for im2col + GEMM: the plan takes it
 * (a window over 1x1: the columns; 1x1: the strided or scaled copy) */
static int im2col_plan(const CgNode *c, CgPlan *p, int window) {
    const char *why;
    return nhwc_conv(c) && packed_weights(c) && !int8_weights(c) &&
           (input(c, 1)->shape[2] * input(c, 1)->shape[3] > 1) == window &&
           nc_cg_nhwc_im2col_plan(&p->im2col, c->g, c->nd, c->m->t, &why);
}
static int plan_im2col(const CgNode *c, CgPlan *p) { return im2col_plan(c, p, 1); }
static int plan_copy_gemm(const CgNode *c, CgPlan *p) { return im2col_plan(c, p, 0); }
static void emit_im2col(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_nhwc_im2col_emit(c->m, c->g, c->nd, &p->im2col, prefix, k);
    k->precision = gemm_precision(p->im2col.gemm.s.wtype);
}

/* bf16 pair tiles (nc_cg_pack_weights made them): columns in bf16, the AMX or AVX512-BF16 GEMM; window: a
 * KxK or strided conv (the columns an im2col), 0 a 1x1 conv or linear layer (the columns the input), -1 the
 * direct forms (no columns: cg_amx_gemm.c's "Direct") */
static int bf16_plan(const CgNode *c, CgPlan *p, int window) {
    const NcValue *w = c->nd->ninputs > 1 ? input(c, 1) : NULL;
    if (!w || w->dtype != NC_BF16 || !w->nbytes || (c->nd->op != NC_OP_CONV2D && c->nd->op != NC_OP_LINEAR)) return 0;
    const char *why = "";
    if (!nc_cg_bf16_plan(&p->bf16, c->g, c->nd, c->m->t, 0, &why) || p->bf16.blob_bytes != w->nbytes)
        NC_CHECK(!"bf16 tiles without their kernel");
    if (window < 0) return p->bf16.direct != 0;
    return !p->bf16.direct && window == (p->bf16.KH * p->bf16.KW > 1 || p->bf16.sh > 1 || p->bf16.sw > 1);
}
static int plan_bf16_direct(const CgNode *c, CgPlan *p) { return bf16_plan(c, p, -1); }
static int plan_bf16_window(const CgNode *c, CgPlan *p) { return bf16_plan(c, p, 1); }
static int plan_bf16_gemm(const CgNode *c, CgPlan *p) { return bf16_plan(c, p, 0); }
static void emit_bf16(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_bf16_emit(c->m, &p->bf16, prefix, k);
}

/* int8 weights (nc_cg_pack_weights quantised them): im2col, quantise, int8 GEMM */
static int im2col_i8_plan(const CgNode *c, CgPlan *p, int window) {
    const char *why;
    NcError e;
    if (!nhwc_conv(c) || !int8_weights(c) || (input(c, 1)->shape[2] * input(c, 1)->shape[3] > 1) != window ||
        !nc_cg_nhwc_im2col_plan_i8(&p->im2col_i8.im, c->g, c->nd, c->m->t, &why))
        return 0;
    if (nc_cg_gemm_i8_plan_groups(&p->im2col_i8.q, &p->im2col_i8.im.gemm.s, p->im2col_i8.im.G, c->m->t, NC_I8_AUTO,
                                  &e) ||
        p->im2col_i8.q.l.bytes != input(c, 1)->nbytes)
        NC_CHECK(!"int8 weights without an int8 GEMM kernel");
    /* a window's byte columns made by the GEMM stage itself where that pays (a strided 1x1's are f32 copies) */
    if (window && nc_cg_gemm_i8_fuse_pays(&p->im2col_i8.q)) nc_cg_gemm_i8_set_fused(&p->im2col_i8.q, 1);
    nc_cg_gemm_i8_set_dtypes(&p->im2col_i8.q, c->g, c->nd);
    return 1;
}
static int plan_im2col_i8(const CgNode *c, CgPlan *p) { return im2col_i8_plan(c, p, 1); }
static int plan_copy_gemm_i8(const CgNode *c, CgPlan *p) { return im2col_i8_plan(c, p, 0); }
static void emit_im2col_i8(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_nhwc_im2col_emit_i8(c->m, c->nd, &p->im2col_i8.im, &p->im2col_i8.q, prefix, k);
    k->precision = "int8", k->isa = nc_cg_i8_isa_name(p->im2col_i8.q.isa);
}

/* nc_cg_pack_weights packed these weights for the GEMM, so the node must
 * take it now */
static int gemm_plan(const CgNode *c, CgPlan *p, NcOpKind op) {
    if (c->nd->op != op || !packed_weights(c) || int8_weights(c)) return 0;
    NcGemmSpec s;
    NcError e;
    if (!gemm_candidate(c->g, c->nd, &s)) NC_CHECK(!"packed weights without a GEMM kernel");
    s.wtype = input(c, 1)->dtype == NC_BF16 ? NC_BF16 : NC_F32;
    if (nc_cg_gemm_plan(&p->gemm, &s, c->m->t, &e)) NC_CHECK(!"packed weights without a GEMM kernel");
    return 1;
}
static int plan_gemm_conv(const CgNode *c, CgPlan *p) { return gemm_plan(c, p, NC_OP_CONV2D); }
static int plan_gemm_linear(const CgNode *c, CgPlan *p) { return gemm_plan(c, p, NC_OP_LINEAR); }
static void emit_gemm(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_gemm_emit(c->m, &p->gemm, prefix);
    k->stage[0] = LLVMGetNamedFunction(c->m->mod, prefix), k->tiles[0] = p->gemm.tiles;
    k->precision = gemm_precision(p->gemm.s.wtype);
}

/* int8 weights on a 1x1 conv (linear layers stay f32): quantise, int8 GEMM */
static int gemm_i8_plan(const CgNode *c, CgPlan *p, NcOpKind op) {
    if (c->nd->op != op || !int8_weights(c)) return 0;
    NcGemmSpec s;
    NcError e;
    if (!gemm_candidate(c->g, c->nd, &s) || nc_cg_gemm_i8_plan(&p->gemm_i8, &s, c->m->t, NC_I8_AUTO, &e))
        NC_CHECK(!"int8 weights without an int8 GEMM kernel");
    /* the rows quantised by the GEMM stage itself where that pays (as a window's columns: cg_gemm_i8.h) */
    if (nc_cg_gemm_i8_fuse_pays(&p->gemm_i8)) nc_cg_gemm_i8_set_fused(&p->gemm_i8, 1);
    nc_cg_gemm_i8_set_dtypes(&p->gemm_i8, c->g, c->nd);
    return 1;
}
static int plan_gemm_conv_i8(const CgNode *c, CgPlan *p) { return gemm_i8_plan(c, p, NC_OP_CONV2D); }
static void emit_gemm_i8(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_gemm_i8_emit(c->m, &p->gemm_i8, prefix, k);
    k->precision = "int8", k->isa = nc_cg_i8_isa_name(p->gemm_i8.isa);
}

/* Winograd where cg_nhwc_wino_choice (the layout cost model) takes it */
static int wino_plan(const CgNode *c, CgPlan *p, int mt) {
    const char *why;
    return nhwc_conv(c) && cg_nhwc_wino_choice(c->g, c->nd, c->m->t, c->opt, NULL) == mt &&
           nc_cg_nhwc_wino_plan(&p->wino, c->g, c->nd, c->m->t, mt, &why);
}
static int plan_wino_f4(const CgNode *c, CgPlan *p) { return wino_plan(c, p, 4); }
static int plan_wino_f2(const CgNode *c, CgPlan *p) { return wino_plan(c, p, 2); }
static void emit_wino(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_nhwc_wino_emit(c->m, c->g, c->nd, &p->wino, prefix, k);
}

/* the direct kernel: depthwise, grouped (G > 1) or dense */
static int conv_plan(const CgNode *c, CgPlan *p, int kind) {
    const char *why;
    if (!nhwc_conv(c) || !nc_cg_nhwc_conv_plan(&p->conv, c->g, c->nd, c->m->t, &why)) return 0;
    return kind == (p->conv.dw ? 0 : p->conv.G > 1 ? 1 : 2);
}
static int plan_depthwise(const CgNode *c, CgPlan *p) { return conv_plan(c, p, 0); }
static int plan_grouped(const CgNode *c, CgPlan *p) { return conv_plan(c, p, 1); }
static int plan_direct(const CgNode *c, CgPlan *p) { return conv_plan(c, p, 2); }
static void emit_conv(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_nhwc_conv_emit(c->m, c->g, c->nd, &p->conv, prefix, k);
}

static int plan_se(const CgNode *c, CgPlan *p) {
    (void)p;
    return nc_cg_se_staged(c->g, c->nd);
}
static void emit_se(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    (void)p;
    nc_cg_emit_se_staged(c->m, c->g, c->nd, prefix, k);
}

static int plan_relayout(const CgNode *c, CgPlan *p) {
    (void)p;
    return nc_cg_relayout_tiles(c->g, c->nd) > 0;
}
static void emit_relayout(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    (void)p;
    nc_cg_emit_relayout(c->m, c->g, c->nd, prefix);
    k->stage[0] = LLVMGetNamedFunction(c->m->mod, prefix), k->tiles[0] = nc_cg_relayout_tiles(c->g, c->nd);
}

static int plan_eltwise(const CgNode *c, CgPlan *p) {
    (void)p;
    return !is_conv(c) && nc_cg_eltwise_tiles(c->g, c->nd) > 0;
}
static void emit_eltwise(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    (void)p;
    nc_cg_emit_eltwise(c->m, c->g, c->nd, prefix);
    k->stage[0] = LLVMGetNamedFunction(c->m->mod, prefix), k->tiles[0] = nc_cg_eltwise_tiles(c->g, c->nd);
}

/* a training step's NCHW conv or conv gradient (cg_nchw_train.h) */
static int train_plan(const CgNode *c, CgPlan *p, NcOpKind op) {
    const char *why;
    return c->nd->op == op && nc_cg_train_conv_plan(&p->train, c->g, c->nd, c->m->t, &why);
}
static int plan_train_conv(const CgNode *c, CgPlan *p) { return train_plan(c, p, NC_OP_CONV2D); }
static int plan_train_grad_input(const CgNode *c, CgPlan *p) { return train_plan(c, p, NC_OP_CONV2D_GRAD_INPUT); }
static int plan_train_grad_weight(const CgNode *c, CgPlan *p) { return train_plan(c, p, NC_OP_CONV2D_GRAD_WEIGHT); }
static void emit_train(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_conv_emit(c->m, &p->train, prefix, k);
}

/* a training step's grouped or depthwise NCHW conv or conv gradient (cg_nchw_train_gconv.h) */
static int plan_train_gconv(const CgNode *c, CgPlan *p) {
    const char *why;
    return nc_cg_train_gconv_plan(&p->gconv, c->g, c->nd, &why);
}
static void emit_train_gconv(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_gconv_emit(c->m, &p->gconv, prefix, k);
}

/* a training step's NCHW elementwise op, act_grad or batch norm (cg_nchw_train_eltwise.h) */
static int train_elt_plan(const CgNode *c, CgPlan *p, NcTrainEltKind kind) {
    return nc_cg_train_elt_plan(&p->elt, c->g, c->nd) && p->elt.kind == kind;
}
static int plan_train_map(const CgNode *c, CgPlan *p) { return train_elt_plan(c, p, NC_TELT_MAP); }
static int plan_train_act_grad(const CgNode *c, CgPlan *p) { return train_elt_plan(c, p, NC_TELT_ACT_GRAD); }
static int plan_train_bn(const CgNode *c, CgPlan *p) { return !c->nd->attrs.nepi && train_elt_plan(c, p, NC_TELT_BN); }
static int plan_train_bn_act(const CgNode *c, CgPlan *p) { /* passes/fuse_bn_act.c */
    return c->nd->attrs.nepi && train_elt_plan(c, p, NC_TELT_BN);
}
static int plan_train_bn_grad(const CgNode *c, CgPlan *p) {
    return c->nd->ninputs == 5 && train_elt_plan(c, p, NC_TELT_BN_GRAD);
}
static int plan_train_bn_act_grad(const CgNode *c, CgPlan *p) { /* passes/fuse_bn_act_grad.c */
    return c->nd->ninputs == 6 && train_elt_plan(c, p, NC_TELT_BN_GRAD);
}
static void emit_train_elt(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_elt_emit(c->m, c->g, c->nd, &p->elt, prefix, k);
}

/* a training step's linear layer or its gradients (cg_nchw_train_linear.h) */
static int train_linear_plan(const CgNode *c, CgPlan *p, NcOpKind op) {
    return c->nd->op == op && nc_cg_train_linear_plan(&p->lin, c->g, c->nd);
}
static int plan_train_linear(const CgNode *c, CgPlan *p) { return train_linear_plan(c, p, NC_OP_LINEAR); }
static int plan_train_linear_gi(const CgNode *c, CgPlan *p) { return train_linear_plan(c, p, NC_OP_LINEAR_GRAD_INPUT); }
static int plan_train_linear_gw(const CgNode *c, CgPlan *p) {
    return train_linear_plan(c, p, NC_OP_LINEAR_GRAD_WEIGHT);
}
static void emit_train_linear(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_linear_emit(c->m, &p->lin, prefix, k);
}

/* a training step's global average pool, its gradient or sum_to (cg_nchw_train_reduce.h) */
static int plan_train_reduce(const CgNode *c, CgPlan *p) { return nc_cg_train_red_plan(&p->red, c->g, c->nd); }
static void emit_train_reduce(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_red_emit(c->m, &p->red, prefix, k);
}

/* a training step's split-attention op or its gradient (cg_nchw_train_radix.h) */
static int plan_train_radix(const CgNode *c, CgPlan *p) { return nc_cg_train_radix_plan(&p->radix, c->g, c->nd); }
static void emit_train_radix(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_radix_emit(c->m, &p->radix, prefix, k);
}

/* a training step's max or average pool or its gradient (cg_nchw_train_pool.h) */
static int train_pool_plan(const CgNode *c, CgPlan *p, int grad) {
    if (!nc_cg_train_pool_plan(&p->pool, c->g, c->nd)) return 0;
    return grad == (p->pool.kind == NC_TPOOL_MAX_GRAD || p->pool.kind == NC_TPOOL_AVG_GRAD);
}
static int plan_train_pool(const CgNode *c, CgPlan *p) { return train_pool_plan(c, p, 0); }
static int plan_train_pool_grad(const CgNode *c, CgPlan *p) { return train_pool_plan(c, p, 1); }
static void emit_train_pool(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_pool_emit(c->m, &p->pool, prefix, k);
}

/* a training step's soft-target cross-entropy or its gradient (cg_nchw_train_loss.h) */
static int train_loss_plan(const CgNode *c, CgPlan *p, int grad) {
    return nc_cg_train_loss_plan(&p->loss, c->g, c->nd) && p->loss.grad == grad;
}
static int plan_train_loss(const CgNode *c, CgPlan *p) { return train_loss_plan(c, p, 0); }
static int plan_train_loss_grad(const CgNode *c, CgPlan *p) { return train_loss_plan(c, p, 1); }
static void emit_train_loss(const CgNode *c, const CgPlan *p, const char *prefix, NcCgKernel *k) {
    nc_cg_train_loss_emit(c->m, &p->loss, prefix, k);
}

static const CgStrategy strategies[] = {
    /* --precision bf16 on AMX or AVX512-BF16: the weights nc_cg_pack_weights made bf16 pair tiles (cg_amx_gemm.h) */
    {"bf16 direct", 0, plan_bf16_direct, emit_bf16}, /* AMX tiles from the input or its padded copy */
    {"bf16 im2col+gemm", 0, plan_bf16_window, emit_bf16},
    {"bf16 gemm", 0, plan_bf16_gemm, emit_bf16},
    /* --precision int8: the GEMM-shaped convs whose weights were quantised (cg_gemm_i8.h) */
    {"int8 im2col+gemm", 0, plan_im2col_i8, emit_im2col_i8},
    {"int8 copy+gemm", 0, plan_copy_gemm_i8, emit_im2col_i8},
    {"int8 gemm", 0, plan_gemm_conv_i8, emit_gemm_i8},
    /* the f32 kernels (bf16 weights: the same GEMMs, widening them as they load; precision "bf16") */
    {"nhwc im2col+gemm", 0, plan_im2col, emit_im2col},
    {"nhwc copy+gemm", 0, plan_copy_gemm, emit_im2col},
    {"nhwc gemm", 0, plan_gemm_conv, emit_gemm},
    {"gemm", 0, plan_gemm_linear, emit_gemm},
    {"nhwc winograd F4", 0, plan_wino_f4, emit_wino},
    {"nhwc winograd F2", 0, plan_wino_f2, emit_wino},
    {"nhwc depthwise", 0, plan_depthwise, emit_conv},
    {"nhwc grouped", 0, plan_grouped, emit_conv},
    {"nhwc direct", 0, plan_direct, emit_conv},
    {"squeeze-excite", 0, plan_se, emit_se},
    {"relayout", 0, plan_relayout, emit_relayout},
    {"elementwise", 0, plan_eltwise, emit_eltwise},
    {"nchw conv", 1, plan_train_conv, emit_train},
    {"nchw conv grad-input", 1, plan_train_grad_input, emit_train},
    {"nchw conv grad-weight", 1, plan_train_grad_weight, emit_train},
    {"nchw grouped conv (+grads)", 1, plan_train_gconv, emit_train_gconv},
    {"nchw elementwise", 1, plan_train_map, emit_train_elt},
    {"nchw act-grad", 1, plan_train_act_grad, emit_train_elt},
    {"nchw batch-norm", 1, plan_train_bn, emit_train_elt},
    {"nchw batch-norm+act", 1, plan_train_bn_act, emit_train_elt},
    {"nchw batch-norm grad", 1, plan_train_bn_grad, emit_train_elt},
    {"nchw batch-norm+act grad", 1, plan_train_bn_act_grad, emit_train_elt},
    /* train-kern's entries (the linear layer, global average pool, sum_to) */
    {"train linear", 1, plan_train_linear, emit_train_linear},
    {"train linear grad-input", 1, plan_train_linear_gi, emit_train_linear},
    {"train linear grad-weight", 1, plan_train_linear_gw, emit_train_linear},
    {"train reduce", 1, plan_train_reduce, emit_train_reduce},
    {"train radix", 1, plan_train_radix, emit_train_radix},
    {"train pool", 1, plan_train_pool, emit_train_pool},
    {"train pool grad", 1, plan_train_pool_grad, emit_train_pool},
    {"train loss", 1, plan_train_loss, emit_train_loss},
    {"train loss grad", 1, plan_train_loss_grad, emit_train_loss},
};
#define NSTRATEGIES ((int)(sizeof strategies / sizeof strategies[0]))

int nc_cg_emit_object(const char *path, NcGraph *const *graphs, int ngraphs, const NcCgOptions *opt, NcError *e) {
    NcCgTarget t;
    if (nc_cg_target_init(&t, opt ? opt->cpu : NULL, opt ? opt->features : NULL, e)) return -1;
    NcCgModule m;
    nc_cg_module_init(&m, &t, "netc_kernels");
    int total = 0;
    for (int gi = 0; gi < ngraphs; gi++) total += graphs[gi]->nodes.len;
    LLVMValueRef *entries = nc_malloc((size_t)(total ? total : 1) * sizeof(LLVMValueRef));
    int k = 0, made = 0, nsigs = 0, shared = 0, used[NSTRATEGIES] = {0};
    SigEntry *sigs = nc_calloc((size_t)(total ? total : 1), sizeof(SigEntry));
    NodeSig *sig = nc_malloc(sizeof *sig);
    CgPlan *plan = nc_malloc(sizeof *plan);
    for (int gi = 0; gi < ngraphs; gi++)
        for (int ni = 0; ni < graphs[gi]->nodes.len; ni++, k++) {
            const CgNode c = {&m, opt, graphs[gi], &graphs[gi]->nodes.data[ni]};
            node_sig(c.g, c.nd, sig);
            const uint64_t hash = nc_bundle_checksum(sig, sizeof *sig);
            int found = -1;
            for (int q = 0; q < nsigs && found < 0; q++)
                if (sigs[q].hash == hash && !memcmp(sigs[q].sig, sig, sizeof *sig)) found = q;
            if (found >= 0) {
                entries[k] = sigs[found].entry;
                shared++;
                continue;
            }
            const int train = opt && opt->train;
            int si = 0;
            while (si < NSTRATEGIES && (strategies[si].train != train || !strategies[si].plan(&c, plan))) si++;
            if (si < NSTRATEGIES) {
                NcCgKernel kern;
                memset(&kern, 0, sizeof kern);
                char prefix[64];
                snprintf(prefix, sizeof prefix, "netc_p%d_n%d", gi, ni);
                strategies[si].emit(&c, plan, prefix, &kern);
                kern.kind = strategies[si].name;
                entries[k] = nc_cg_kernel_const(&m, &kern);
                made++, used[si]++;
                if (opt && opt->verbose)
                    fprintf(stderr, "codegen: %s: %s (%s, %s)\n", c.nd->scope, kern.kind, kern.isa ? kern.isa : t.isa,
                            kern.precision ? kern.precision : "f32");
            } else {
                entries[k] = nc_cg_kernel_const(&m, NULL);
                if (opt && opt->verbose && is_conv(&c)) fprintf(stderr, "codegen: %s: reference kernel\n", c.nd->scope);
            }
            sigs[nsigs].hash = hash, sigs[nsigs].sig = nc_malloc(sizeof *sig), sigs[nsigs].entry = entries[k];
            memcpy(sigs[nsigs++].sig, sig, sizeof *sig);
        }
    for (int q = 0; q < nsigs; q++) free(sigs[q].sig);
    free(sigs);
    free(sig);
    free(plan);
    nc_cg_kernel_table(&m, "netc_kernels", entries, total);
    free(entries);
    /* the FMA peak loop (cg_peak.h) and its floating-point operations per round */
    const int chains = nc_cg_peak_chains(&t);
    nc_cg_emit_peak(&m, "netc_peak", chains);
    LLVMValueRef pflops = LLVMAddGlobal(m.mod, m.i64, "netc_peak_flops");
    LLVMSetInitializer(pflops, LLVMConstInt(m.i64, (unsigned long long)(chains * m.vw * 2), 0));
    LLVMSetGlobalConstant(pflops, 1);
    /* what the kernels were made for, for the program's `info` (runtime/kernels.h) */
    char target[160];
    snprintf(target, sizeof target, "%s %s %d %s", t.cpu, t.isa, t.vw, t.blocking);
    LLVMValueRef tstr = LLVMConstStringInContext(m.ctx, target, (unsigned)strlen(target), 0);
    LLVMValueRef ptarget = LLVMAddGlobal(m.mod, LLVMTypeOf(tstr), "netc_target");
    LLVMSetInitializer(ptarget, tstr);
    LLVMSetGlobalConstant(ptarget, 1);

    int rc = nc_cg_module_emit_object(&m, path, e);
    if (opt && opt->verbose) {
        fprintf(stderr,
                "codegen: %d kernels (%d nodes share one) for %s (%s), %s, %d-float vectors, blocks for %s:", made,
                shared, t.cpu, t.triple, t.isa, m.vw, t.blocking);
        for (int si = 0; si < NSTRATEGIES; si++)
            if (used[si]) fprintf(stderr, " %d %s,", used[si], strategies[si].name);
        fprintf(stderr, "\n");
    }
    nc_cg_module_dispose(&m);
    nc_cg_target_free(&t);
    return rc ? -1 : made;
}
