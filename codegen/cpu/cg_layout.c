/* cg_layout.c — the CPU backend's answers to the layout pass
 * (passes/assign_layout.c): which nodes have NHWC kernels, and a cost model
 * of each node in either layout.
 *
 * Generated kernels are NHWC only: the NCHW ones (slower on every model,
 * bench/RESULTS.md, session 5; this model chose NHWC for every conv of all
 * four families at batch 1 and 8) were retired.  So an NCHW node runs the reference kernel, priced as such, and
 * a node without an NHWC kernel stays NCHW.  An NHWC kernel's time is lane
 * utilisation times a measured efficiency: its multiply-adds over the FMA
 * peak, divided by the share of vector lanes doing useful work (the group's
 * output channels rounded up to whole vectors or register blocks) and by
 * how close to peak that kind of kernel runs when its lanes are full —
 * this project's measurements on Zen 3, per-kernel minima of whole models:
 *
 *   1x1 GEMM (vectors along out channels)         0.75
 *   3x3 stride-1 with >= 8 channels per group     Winograd, priced by its own
 *                                                 cost model (cg_nhwc_wino.h)
 *                                                 at 0.75 / 1.2, or / 2.0 for
 *                                                 groups of 64 or fewer channels
 *   depthwise direct conv                         0.25
 *   grouped direct conv (RegNetY's 24-wide)       0.7
 *   other direct convs (stems, wide groups)       0.5 (stems) or 0.3 (wide)
 *   strided convs by im2col + GEMM                0.72 + the column copy at
 *                                                 20 GB/s
 *
 * Memory-bound ops (pools, SE gates, adds) cost their bytes at 20 GB/s; a
 * relayout moves every value twice through a transpose. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_eltwise.h"
#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_internal.h"
#include "codegen/cpu/cg_layout.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "codegen/cpu/cg_nhwc_im2col.h"
#include "codegen/cpu/cg_nhwc_wino.h"
#include "codegen/cpu/cg_relayout.h"
#include "ir/ops.h"

typedef struct LayoutCtx {
    const NcCgTarget *t;
    const NcCgOptions *opt;
    const NcGraph *lead; /* when set: follow this graph's choices */
} LayoutCtx;

static int same_kind(const NcNode *a, const NcNode *b) {
    return a->op == b->op && !strcmp(a->scope ? a->scope : "", b->scope ? b->scope : "");
}

/* Did the lead graph run this node NHWC?  Its node of the same op and scope
 * (the k-th such, for scopes that repeat, e.g. the empty one of an unnamed
 * add), the lead having the same model at another resolution. */
static int lead_nhwc(const NcGraph *lead, const NcGraph *g, const NcNode *nd) {
    int k = 0;
    for (const NcNode *o = g->nodes.data; o < nd; o++) k += same_kind(o, nd);
    for (int i = 0; i < lead->nodes.len; i++) {
        const NcNode *o = &lead->nodes.data[i];
        if (!same_kind(o, nd) || k--) continue;
        for (int j = 0; j < o->ninputs + o->noutputs; j++)
            if (nc_is_nhwc(nc_val(lead, j < o->ninputs ? o->inputs[j] : o->outputs[j - o->ninputs]))) return 1;
        return 0;
    }
    return 0;
}

static int nhwc_ok(const NcGraph *g, const NcNode *nd, void *vctx, const char **why) {
    LayoutCtx *c = vctx;
    if (c->lead && !lead_nhwc(c->lead, g, nd)) {
        *why = "NCHW at the first resolution (the programs share their packed weights)";
        return 0;
    }
    if (nd->op == NC_OP_CONV2D) {
        NcGemmSpec s;
        NcGemmPlan p;
        NcError e;
        if (cg_gemm_candidate(g, nd, &s, 1) && !nc_cg_gemm_plan(&p, &s, c->t, &e)) return 1;
        NcNhwcConvPlan np;
        NcNhwcIm2colPlan ip;
        return cg_nhwc_wino_choice(g, nd, c->t, c->opt, NULL) ||
               ((!c->opt || c->opt->im2col >= 0) && nc_cg_nhwc_im2col_plan(&ip, g, nd, c->t, why)) ||
               nc_cg_nhwc_conv_plan(&np, g, nd, c->t, why);
    }
    if (nc_cg_eltwise_nhwc_ok(g, nd)) return 1;
    *why = "no NHWC kernel for this op";
    return 0;
}

/* The FMA peak of one core: 2 FMA pipes x vw lanes x 2 flops x ~3 GHz. */
static double peak_of(const NcCgTarget *t) { return 2.0 * t->vw * 2.0 * 3e9; }
static double peak(const LayoutCtx *c) { return peak_of(c->t); }
static double nhwc_direct_time(const NcGraph *g, const NcNode *nd, const NcCgTarget *t);

/* The reference kernels (ir/ref_*.c), which run every node left NCHW:
 * scalar loops, priced at a few percent of the FMA peak for convs and a
 * few times the memory-bound time for the rest. */
#define REF_CONV_EFFICIENCY 0.05
#define REF_SLOWDOWN        3.0

static double conv_flops(const NcGraph *g, const NcNode *nd) {
    const NcValue *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    return 2.0 * (double)nc_numel(y) * (double)(w->shape[1] * w->shape[2] * w->shape[3]);
}

static double bytes_time(const NcGraph *g, const NcNode *nd) {
    double bytes = 0;
    for (int j = 0; j < nd->ninputs; j++)
        if (nc_val(g, nd->inputs[j])->kind == NC_VAL_NODE) bytes += 4.0 * (double)nc_numel(nc_val(g, nd->inputs[j]));
    for (int j = 0; j < nd->noutputs; j++) bytes += 4.0 * (double)nc_numel(nc_val(g, nd->outputs[j]));
    return bytes / 20e9;
}

static double cost(const NcGraph *g, const NcNode *nd, int nhwc, void *vctx) {
    LayoutCtx *c = vctx;
    /* NCHW: no generated kernel, the reference runs it (a node without an
     * NHWC kernel is never asked: it stays NCHW whatever the costs) */
    if (!nhwc)
        return nd->op == NC_OP_CONV2D ? conv_flops(g, nd) / (peak(c) * REF_CONV_EFFICIENCY)
                                      : REF_SLOWDOWN * bytes_time(g, nd);
    if (nd->op != NC_OP_CONV2D) return bytes_time(g, nd);
    const NcValue *y = nc_val(g, nd->outputs[0]);
    const int vw = c->t->vw;
    const int64_t N = y->shape[0], O = y->shape[1], OH = y->shape[2], OW = y->shape[3];
    const double flops = conv_flops(g, nd);
    /* a GEMM's lanes: its rows' last register block (6) and its output
     * channels' last panel (2 vectors) ragged */
    const double util =
        (double)(N * OH * OW) / (double)cgb_round_up(N * OH * OW, 6) * (double)O / (double)cgb_round_up(O, 2 * vw);
    NcGemmSpec s;
    if (cg_gemm_candidate(g, nd, &s, 1)) return flops / (peak(c) * 0.75 * util);
    /* Winograd where cg_nhwc_wino_choice takes it, im2col + GEMM for
     * strided convs, else direct */
    double wino;
    if (cg_nhwc_wino_choice(g, nd, c->t, c->opt, &wino)) return wino;
    NcNhwcIm2colPlan ip;
    const char *why;
    if ((!c->opt || c->opt->im2col >= 0) && nc_cg_nhwc_im2col_plan(&ip, g, nd, c->t, &why)) {
        /* the GEMM at its rate, plus the copy (written once, read once) */
        return flops / (peak(c) * 0.72 * util) + 2.0 * 4.0 * (double)ip.cols_floats / 20e9;
    }
    return nhwc_direct_time(g, nd, c->t);
}

/* The NHWC direct kernel's estimated seconds: vectors along a group's
 * output channels (channels for depthwise). */
static double nhwc_direct_time(const NcGraph *g, const NcNode *nd, const NcCgTarget *t) {
    const NcValue *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    const int vw = t->vw;
    const int64_t O = y->shape[1], G = nd->attrs.groups, OG = O / G, CG = w->shape[1];
    const double flops = 2.0 * (double)(nc_numel(y) * CG * w->shape[2] * w->shape[3]);
    const int64_t lanes = CG == 1 && OG == 1 ? O : OG;
    const double util = (double)lanes / (double)cgb_round_up(lanes, vw);
    if (CG == 1 && OG == 1) return flops / (peak_of(t) * 0.25 * util);
    /* narrow groups (RegNetY's 24) run well, so do stems (few input
     * channels); wide convs (ResNet's strided 3x3 and 1x1, ResNeSt's radix
     * groups of 64-256) reach a small share of the peak (bench/RESULTS.md) */
    return flops / (peak_of(t) * (G > 1 && OG <= 64 ? 0.7 : CG <= 8 ? 0.5 : 0.3) * util);
}

int cg_nhwc_wino_choice(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt,
                        double *seconds) {
    const int mode = opt ? opt->winograd : 0;
    if (mode < 0) return 0;
    int best = 0;
    double best_t = 0;
    for (int mt = 4; mt >= 2; mt -= 2) {
        if ((mode == 1 && mt != 4) || (mode == 2 && mt != 2)) continue;
        NcNhwcWinoPlan p;
        const char *why;
        if (!nc_cg_nhwc_wino_plan(&p, g, nd, t, mt, &why)) continue;
        /* its cost model's units are the direct conv's multiply-adds, at the
         * GEMM's rate, scaled by what bench/nhwc_wino_bench.c and per-kernel
         * minima measured against the estimate (bench/RESULTS.md, session
         * 5): ResNet's wide ungrouped convs a little over it, RegNetY's
         * grouped ones (G small GEMMs of 24-wide groups) well over, which
         * leaves the direct kernel faster on all four of RegNetY's shapes;
         * plus its two extra stage barriers, which on RegNetY's 14x14 and 7x7
         * planes at batch 1 cost more than the products save */
        const double secs =
            2.0 * nc_cg_nhwc_wino_cost(&p) / (peak_of(t) * 0.75) * (p.G == 1 || p.OG > 64 ? 1.2 : 2.0) + 30e-6;
        if (!best || secs < best_t) best = mt, best_t = secs;
    }
    if (!best || (mode == 0 && best_t >= nhwc_direct_time(g, nd, t))) return 0;
    if (seconds) *seconds = best_t;
    return best;
}

static double relayout_cost(const NcValue *v, void *vctx) {
    (void)vctx;
    return 2.0 * 4.0 * (double)nc_numel(v) / 5e9;
}

/* assign_dtype's hooks: under --precision bf16, the bf16 GEMM writes bf16 and reads its input and its
 * whole-tensor residual / product operands as bf16 (cg_amx_gemm.h), so does the depthwise direct kernel
 * (cg_nhwc_conv.c: its input and output, computed in f32, its residual f32); the generated max and average pools
 * and ResNeSt's radix_combine read bf16 and write it where their input is (a max is exact in bf16, an
 * average or a combination rounded once, as the GEMM reading it would round it), the global average pool,
 * the SE gate's pooling and radix_gap read it (cg_eltwise.c; radix_combine's attention stays f32);
 * the GEMM's SE scale and per-channel operands, and every other kernel, take f32. */
static int bf16_mode(const LayoutCtx *c) {
    /* NETC_CG_BF16_ACT=f32 at compile time keeps every activation f32 (the kernels before bf16
     * activations), to compare them */
    const char *env = getenv("NETC_CG_BF16_ACT");
    return c->opt && c->opt->precision == NC_PREC_BF16 && !(env && !strcmp(env, "f32"));
}
/* Under --precision int8 the int8 GEMMs read their input and residual as bf16 (widened, then quantised to u8
 * as before) and write bf16, on targets that convert to bf16 in one instruction (AVX512-BF16: every AMX host);
 * what else reads or writes bf16 is as under bf16.  NETC_CG_BF16_ACT=f32 keeps them f32 too. */
static int i8_mode(const LayoutCtx *c) {
    const char *env = getenv("NETC_CG_BF16_ACT");
    return c->opt && c->opt->precision == NC_PREC_INT8 && nc_cg_bf16_target(c->t) != NC_BF16_NONE &&
           !(env && !strcmp(env, "f32"));
}
/* a conv int8 runs as its int8 GEMM (cg_i8_route), its input one calibrate.c measures */
static int int8_kernel(const NcGraph *g, const NcNode *nd, const LayoutCtx *c, NcGemmSpec *s) {
    NcNhwcIm2colPlan np;
    const NcValue *x = nc_val(g, nd->inputs[0]);
    const int route = nd->op == NC_OP_CONV2D && nd->ninputs >= 2 &&
                              (nc_is_nhwc(x) || (x->ndim == 4 && x->shape[2] * x->shape[3] == 1))
                          ? cg_i8_route(g, nd, c->t, c->opt, &np)
                          : 0;
    if (route == CG_I8_IM2COL) *s = np.gemm.s;
    if (route == CG_I8_GEMM) cg_gemm_candidate(g, nd, s, nc_is_nhwc(x));
    return route;
}
static int pool_reads_bf16(const NcGraph *g, const NcNode *nd) {
    return (nd->op == NC_OP_MAX_POOL2D || nd->op == NC_OP_AVG_POOL2D || nd->op == NC_OP_GLOBAL_AVG_POOL ||
            nd->op == NC_OP_SQUEEZE_EXCITE || nd->op == NC_OP_RADIX_GAP || nd->op == NC_OP_RADIX_COMBINE) &&
           nc_cg_eltwise_tiles(g, nd) > 0;
}
/* a depthwise conv the direct kernel runs (cg_module.c's order: no bf16 GEMM, no Winograd takes it) */
static int depthwise_kernel(const NcGraph *g, const NcNode *nd, const LayoutCtx *c) {
    NcNhwcConvPlan cp;
    NcBf16Plan bp;
    const char *why;
    return nd->op == NC_OP_CONV2D && nc_is_nhwc(nc_val(g, nd->inputs[0])) && !cg_bf16_takes(g, nd, c->t, c->opt, &bp) &&
           !cg_nhwc_wino_choice(g, nd, c->t, c->opt, NULL) && nc_cg_nhwc_conv_plan(&cp, g, nd, c->t, &why) && cp.dw;
}
static NcDtype act_out(const NcGraph *g, const NcNode *nd, void *vctx) {
    const LayoutCtx *c = vctx;
    NcBf16Plan bp;
    NcGemmSpec s;
    if (i8_mode(c) && int8_kernel(g, nd, c, &s)) return NC_BF16;
    if (!bf16_mode(c) && !i8_mode(c)) return NC_F32;
    if (depthwise_kernel(g, nd, c)) return NC_BF16;
    if ((nd->op == NC_OP_MAX_POOL2D || nd->op == NC_OP_AVG_POOL2D || nd->op == NC_OP_RADIX_COMBINE) &&
        pool_reads_bf16(g, nd))
        return nc_val(g, nd->inputs[0])->dtype;
    /* the relayout into an NHWC region (the network's input before its stem) writes bf16 where its readers
     * read bf16: the stem's GEMM then copies its rows instead of rounding every tap of every window (resnet50
     * bf16 batch 8, 1 thread: relayout + stem 5.7 -> 5.1 ms) */
    if (nd->op == NC_OP_RELAYOUT && nc_is_nhwc(nc_val(g, nd->outputs[0])) && nc_cg_relayout_tiles(g, nd) > 0)
        return NC_BF16;
    return bf16_mode(c) && cg_bf16_takes(g, nd, c->t, c->opt, &bp) ? NC_BF16 : NC_F32;
}
/* The spec of the reduced-precision GEMM that runs nd (int8: the int8 GEMM, else under bf16 the bf16 GEMM),
 * or 0 where none does; and whether input j is one of its whole-tensor epilogue operands (ADD, or MUL too). */
static int reduced_gemm(const NcGraph *g, const NcNode *nd, const LayoutCtx *c, int int8, NcGemmSpec *s) {
    NcBf16Plan bp;
    if (int8) return int8_kernel(g, nd, c, s) != 0;
    if (!bf16_mode(c) || !cg_bf16_takes(g, nd, c->t, c->opt, &bp)) return 0;
    *s = bp.s;
    return 1;
}
static int whole_operand(const NcGemmSpec *s, int j, int mul_too) {
    for (int k = 0; k < s->nepi; k++)
        if ((s->epi[k].kind == NC_EPI_ADD || (mul_too && s->epi[k].kind == NC_EPI_MUL)) && s->epi[k].input == j &&
            !s->epi_per_channel[k])
            return 1;
    return 0;
}
static int act_in(const NcGraph *g, const NcNode *nd, int j, NcDtype dt, void *vctx) {
    const LayoutCtx *c = vctx;
    NcGemmSpec s;
    if (dt != NC_BF16 || (!bf16_mode(c) && !i8_mode(c))) return 0;
    if (pool_reads_bf16(g, nd)) return j == 0;
    if (depthwise_kernel(g, nd, c)) return j == 0;
    if (!reduced_gemm(g, nd, c, i8_mode(c), &s)) return 0;
    return j == 0 || whole_operand(&s, j, 1);
}

/* epilogue_inplace's hook: the bf16 GEMMs (cg_amx_gemm.c: the whole reduction in tiles or registers, then
 * the epilogue reads each operand element and stores the output's) and the int8 GEMMs (cg_gemm_i8.c: the
 * same) may store over a whole-tensor residual; the f32 GEMM keeps partial sums of its reduction blocks in
 * the output, and the other kernels are not checked for it. */
static int out_over(const NcGraph *g, const NcNode *nd, int j, void *vctx) {
    const LayoutCtx *c = vctx;
    NcGemmSpec s;
    const char *env = getenv("NETC_CG_EPI_INPLACE"); /* 0 at compile time: every output apart, to compare */
    if (env && !strcmp(env, "0")) return 0;
    /* every int8 GEMM, its activations bf16 or f32 */
    return reduced_gemm(g, nd, c, c->opt && c->opt->precision == NC_PREC_INT8, &s) && whole_operand(&s, j, 0);
}

/* What the hooks own: the target and a copy of the options. */
typedef struct HooksCtx {
    LayoutCtx c;
    NcCgTarget t;
    NcCgOptions opt;
} HooksCtx;

int nc_cg_layout_hooks(NcLayoutHooks *h, const NcCgOptions *opt, const NcGraph *lead, NcError *e) {
    if (opt && opt->layout == NC_LAYOUT_MODE_NCHW)
        return nc_errorf(e, "layout nchw: the NCHW generated kernels were retired (use auto or nhwc, or --no-codegen)");
    HooksCtx *hc = nc_calloc(1, sizeof *hc);
    if (opt) hc->opt = *opt;
    if (nc_cg_target_init(&hc->t, hc->opt.cpu, hc->opt.features, e)) {
        free(hc);
        return -1;
    }
    hc->c = (LayoutCtx){&hc->t, &hc->opt, lead};
    /* a follower takes every node its lead took, so that a weight shared by
     * all of them is packed for one layout */
    const NcLayoutMode mode = lead && hc->opt.layout != NC_LAYOUT_MODE_NCHW ? NC_LAYOUT_MODE_NHWC : hc->opt.layout;
    *h = (NcLayoutHooks){mode, nhwc_ok, cost, relayout_cost, &hc->c, act_out, act_in, out_over};
    return 0;
}

void nc_cg_layout_hooks_free(NcLayoutHooks *h) {
    HooksCtx *hc = h->ctx;
    if (hc) nc_cg_target_free(&hc->t);
    free(hc);
    h->ctx = NULL;
}
