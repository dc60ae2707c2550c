/* cg_module.c — the LLVM module of a bundle: target machine for the host
 * (or --cpu), one kernel per covered node, the `netc_kernels` table,
 * verification, the O3 pipeline, and the object file. */
#include <string.h>

#include "codegen/cpu/cg_dwconv.h"
#include "codegen/cpu/cg_eltwise.h"
#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_im2col.h"
#include "codegen/cpu/cg_internal.h"
#include "codegen/cpu/cg_nhwc_conv.h"
#include "codegen/cpu/cg_nhwc_im2col.h"
#include "codegen/cpu/cg_nhwc_wino.h"
#include "codegen/cpu/cg_peak.h"
#include "codegen/cpu/cg_relayout.h"
#include "codegen/cpu/cg_winograd.h"
#include "ir/ops.h"
#include "runtime/bundle.h"
#include "runtime/kernels.h"


LLVMValueRef cg_call(Cg *cg, const char *name, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &cg->vec, 1);
    LLVMTypeRef ty = LLVMIntrinsicGetType(cg->ctx, id, &cg->vec, 1);
    LLVMValueRef args[3] = {a, b, c};
    unsigned n = c ? 3 : b ? 2 : 1;
    return LLVMBuildCall2(cg->b, ty, fn, args, n, "");
}

LLVMValueRef cg_splat_i64(Cg *cg, LLVMValueRef v) {
    LLVMTypeRef vt = LLVMVectorType(cg->i64, (unsigned)cg->vw);
    LLVMValueRef e = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), v, LLVMConstInt(cg->i64, 0, 0), "");
    LLVMValueRef zero = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(cg->ctx), (unsigned)cg->vw));
    return LLVMBuildShuffleVector(cg->b, e, LLVMGetUndef(vt), zero, "");
}

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

/* A 1x1 conv (any stride: the runtime gathers a strided input first) or a
 * linear layer as a GEMM with packed weights; fills the spec (blocking left
 * to the plan).  Whether the weights are packed yet is not asked here. */
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
        s->batch = x->shape[0], s->cin = w->shape[1], s->cout = w->shape[0], s->hw = y->shape[2] * y->shape[3];
    } else {
        if (x->ndim != 2 || w->ndim != 2 || y->ndim != 2 || a->has_in_scale) return 0;
        s->batch = x->shape[0], s->cin = w->shape[1], s->cout = w->shape[0], s->hw = 1;
    }
    /* NCHW: one row of hw outputs per channel; NHWC (an NHWC activation,
     * or hw 1): one row of channels per pixel */
    s->layout = s->hw == 1 || nhwc ? NC_GEMM_NHWC : NC_GEMM_NCHW;
    if (nhwc && a->stride[0] != 1) return 0; /* the strided gather is NCHW's (runtime/bundle.c) */
    s->bias = a->has_bias;
    /* an SE gate on the input: applied by the kernel (stride 1; a strided
     * conv's input is gathered, and scaled, by the runtime) */
    if (nd->op == NC_OP_CONV2D && a->has_in_scale && a->stride[0] == 1) s->in_scale = nc_in_scale_input(a);
    s->nepi = a->nepi;
    for (int i = 0; i < a->nepi; i++) {
        s->epi[i] = a->epi[i];
        if (a->epi[i].kind != NC_EPI_ADD && a->epi[i].kind != NC_EPI_MUL) continue;
        const NcValue *o = nc_val(g, nd->inputs[a->epi[i].input]);
        if (nc_numel(o) == nc_numel(y) && (nc_shape_eq(o, y) || s->hw == 1)) continue;
        if (o->ndim == 4 && o->shape[0] == y->shape[0] && o->shape[1] == y->shape[1] && o->shape[2] == 1 && o->shape[3] == 1 &&
            s->hw > 1) {
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

/* Winograd for this conv, and with which tile (4, 2, or 0: no)?  Legal,
 * wanted (opt->winograd: 0 auto, 1 F(4x4) wherever legal, 2 F(2x2), -1
 * never), and the same answer for every program reading a filter of this
 * name: they share one copy of the weights in the bundle, so its layout must
 * agree.  Auto takes the tile with the fewest multiply-adds over all those
 * programs (cg_winograd.h's cost model), if under 3/4 of the direct
 * convolution's: the transforms and the 4x (or 1.8x) larger filters cost
 * the rest. */
static int wino_choose(NcGraph *const *graphs, int ngraphs, int gi, const NcNode *nd, int mode, const NcCgTarget *t) {
    const NcValue *w = nc_val(graphs[gi], nd->inputs[1]);
    if (mode < 0 || w->layout != NC_LAYOUT_NCHW || !w->data || !w->name || !sole_reader(graphs[gi], nd->inputs[1], nd) ||
        nc_is_nhwc(nc_val(graphs[gi], nd->inputs[0])))
        return 0;
    int best = 0;
    double best_cost = 0;
    for (int mt = 4; mt >= 2; mt -= 2) {
        if ((mode == 1 && mt != 4) || (mode == 2 && mt != 2)) continue;
        double cost = 0, direct = 0;
        int ok = 1;
        for (int gj = 0; gj < ngraphs && ok; gj++)
            for (int nj = 0; nj < graphs[gj]->nodes.len && ok; nj++) {
                const NcNode *o = &graphs[gj]->nodes.data[nj];
                if (o->op != NC_OP_CONV2D) continue;
                const NcValue *ow = nc_val(graphs[gj], o->inputs[1]);
                if (ow->kind != NC_VAL_PARAM || !ow->name || strcmp(ow->name, w->name)) continue;
                NcWinoPlan p;
                const char *why;
                if (!nc_cg_wino_plan(&p, graphs[gj], o, t, mt, &why)) ok = 0;
                else cost += nc_cg_wino_cost(&p), direct += nc_cg_wino_direct_cost(&p);
            }
        if (ok && (mode > 0 || cost < 0.75 * direct) && (!best || cost < best_cost)) best = mt, best_cost = cost;
    }
    return best;
}

/* Packs w's data in place for GEMM plan gp (reordered for the NHWC im2col
 * first when np is set): the packed weights have exactly w's float count. */
static void pack_in_place(NcValue *w, const NcGemmPlan *gp, const NcNhwcIm2colPlan *np) {
    NC_CHECK(gp->packed_floats == nc_numel(w));
    float *buf = nc_malloc((size_t)gp->packed_floats * sizeof(float));
    if (np) nc_cg_nhwc_im2col_pack(np, w->data, buf);
    else nc_cg_gemm_pack(gp, w->data, buf);
    memcpy(w->data, buf, (size_t)gp->packed_floats * sizeof(float));
    free(buf);
    w->layout = NC_LAYOUT_PACKED;
}

int nc_cg_pack_weights(NcGraph *const *graphs, int ngraphs, const NcCgOptions *opt, NcError *e) {
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
            NcWinoPlan wp;
            const char *why;
            int mt = nd->op == NC_OP_CONV2D ? wino_choose(graphs, ngraphs, gi, nd, opt ? opt->winograd : 0, &t) : 0;
            if (mt && nc_cg_wino_plan(&wp, graphs[gi], nd, &t, mt, &why)) {
                w->layout = mt == 4 ? NC_LAYOUT_WINO_F4 : NC_LAYOUT_WINO_F2; /* transformed as the program loads */
                packed++;
                continue;
            }
            /* im2col + GEMM for this layout, if its plan takes the node */
            const int nhwc = nc_is_nhwc(nc_val(graphs[gi], nd->inputs[0]));
            const int im2col_ok = nd->op == NC_OP_CONV2D && (!opt || opt->im2col >= 0) && w->layout == NC_LAYOUT_NCHW && w->data &&
                                  sole_reader(graphs[gi], nd->inputs[1], nd);
            NcNhwcIm2colPlan np;
            NcIm2colPlan ip;
            if (im2col_ok && nhwc && nc_cg_nhwc_im2col_plan(&np, graphs[gi], nd, &t, &why)) {
                pack_in_place(w, &np.gemm, &np); /* reordered [O, KH, KW, C] */
                packed++;
                continue;
            }
            if (im2col_ok && !nhwc && nc_cg_im2col_plan(&ip, graphs[gi], nd, &t, &why)) {
                pack_in_place(w, &ip.gemm, NULL); /* [O, C, KH, KW] row-major is the GEMM's A already */
                packed++;
                continue;
            }
            if (!gemm_candidate(graphs[gi], nd, &s) || w->layout == NC_LAYOUT_PACKED || !w->data || nc_cg_gemm_plan(&p, &s, &t, &pe))
                continue;
            pack_in_place(w, &p, NULL);
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
        int32_t kind, ndim, layout, pad;
        int64_t shape[NC_MAXDIM];
    } v[NC_MAXIN + NC_MAXOUT];
} NodeSig;

static void node_sig(const NcGraph *g, const NcNode *nd, NodeSig *s) {
    memset(s, 0, sizeof *s);
    s->op = nd->op, s->ninputs = nd->ninputs, s->noutputs = nd->noutputs;
    memcpy(&s->attrs, &nd->attrs, sizeof s->attrs);
    for (int j = 0; j < nd->ninputs + nd->noutputs; j++) {
        const NcValue *v = nc_val(g, j < nd->ninputs ? nd->inputs[j] : nd->outputs[j - nd->ninputs]);
        s->v[j].kind = v->kind, s->v[j].ndim = v->ndim, s->v[j].layout = v->layout;
        memcpy(s->v[j].shape, v->shape, sizeof s->v[j].shape);
    }
}

typedef struct SigEntry {
    uint64_t hash;
    NodeSig *sig;
    LLVMValueRef entry;
} SigEntry;

/* A NUL-terminated string constant (private, mergeable). */
static LLVMValueRef const_string(NcCgModule *m, const char *s) {
    LLVMValueRef str = LLVMConstStringInContext(m->ctx, s, (unsigned)strlen(s), 0);
    LLVMValueRef gv = LLVMAddGlobal(m->mod, LLVMTypeOf(str), ".str");
    LLVMSetInitializer(gv, str);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    return gv;
}

int nc_cg_emit_object(const char *path, NcGraph *const *graphs, int ngraphs, const NcCgOptions *opt, NcError *e) {
    NcCgTarget t;
    if (nc_cg_target_init(&t, opt ? opt->cpu : NULL, opt ? opt->features : NULL, e)) return -1;
    NcCgModule m;
    nc_cg_module_init(&m, &t, "netc_kernels");
    Cg cg;
    memset(&cg, 0, sizeof cg);
    cg.m = &m, cg.ctx = m.ctx, cg.mod = m.mod, cg.b = m.b;
    cg.f32 = m.f32, cg.i64 = m.i64, cg.ptr = m.ptr, cg.vec = m.vec, cg.vw = m.vw;
    cg.noalias = LLVMCreateEnumAttribute(cg.ctx, LLVMGetEnumAttributeKindForName("noalias", 7), 0);
    cg.nocapture = LLVMCreateEnumAttribute(cg.ctx, LLVMGetEnumAttributeKindForName("nocapture", 9), 0);

    /* kernels, and the table (runtime/kernels.h): per node of every program
     * {conv fn, ocb, rows, tile fn, tiles, flags, prep fn} */
    int total = 0;
    for (int gi = 0; gi < ngraphs; gi++) total += graphs[gi]->nodes.len;
    LLVMTypeRef entry_ty = LLVMStructTypeInContext(
        cg.ctx,
        (LLVMTypeRef[]){cg.ptr, cg.i64, cg.i64, cg.ptr, cg.i64, cg.i64, cg.ptr, cg.ptr, cg.ptr, cg.ptr, cg.i64, cg.i64, cg.i64, cg.i64, cg.ptr, cg.i64, cg.i64, cg.ptr},
        18, 0);
    LLVMValueRef *entries = nc_malloc((size_t)(total ? total : 1) * sizeof(LLVMValueRef));
    int k = 0, made = 0, ngemm = 0, nelt = 0, nwino = 0, ni2c = 0, nsigs = 0, shared = 0;
    SigEntry *sigs = nc_calloc((size_t)(total ? total : 1), sizeof(SigEntry));
    NodeSig *sig = nc_malloc(sizeof *sig);
    for (int gi = 0; gi < ngraphs; gi++)
        for (int ni = 0; ni < graphs[gi]->nodes.len; ni++, k++) {
            const NcGraph *g = graphs[gi];
            const NcNode *nd = &g->nodes.data[ni];
            node_sig(g, nd, sig);
            const uint64_t hash = nc_bundle_checksum(sig, sizeof *sig);
            int found = -1;
            for (int q = 0; q < nsigs && found < 0; q++)
                if (sigs[q].hash == hash && !memcmp(sigs[q].sig, sig, sizeof *sig)) found = q;
            if (found >= 0) {
                entries[k] = sigs[found].entry;
                shared++;
                continue;
            }
            int ocb = 0;
            const char *why = NULL;
            LLVMValueRef f = LLVMConstNull(cg.ptr), tf = LLVMConstNull(cg.ptr), pf = LLVMConstNull(cg.ptr);
            int64_t tiles = 0, rows = 0, flags = 0;
            CgConvBlock blk = {0, 0, 0};
            char name[64];
            NcGemmSpec gs;
            NcGemmPlan gp;
            NcError pe;
            LLVMValueRef stage[3] = {LLVMConstNull(cg.ptr), LLVMConstNull(cg.ptr), LLVMConstNull(cg.ptr)};
            int64_t stage_tiles[3] = {0, 0, 0}, scratch = 0, wprep_tiles = 0, wfloats = 0;
            LLVMValueRef wprep = LLVMConstNull(cg.ptr);
            const char *kind = NULL; /* the strategy, for bench --per-kernel */
            NcWinoPlan wp;
            NcDwPlan dwp;
            NcNhwcIm2colPlan nip;
            if (nd->op == NC_OP_CONV2D && (nc_val(g, nd->inputs[1])->layout == NC_LAYOUT_WINO_F4 ||
                                           nc_val(g, nd->inputs[1])->layout == NC_LAYOUT_WINO_F2)) {
                /* nc_cg_pack_weights chose Winograd for this filter */
                if (!nc_cg_wino_plan(&wp, g, nd, &t, 0, &why)) NC_CHECK(!"Winograd filter without a Winograd kernel");
                snprintf(name, sizeof name, "netc_wino_p%d_n%d", gi, ni);
                nc_cg_wino_emit(&m, g, nd, &wp, name, stage, stage_tiles, &wprep);
                kind = wp.mt == 4 ? "winograd F4" : "winograd F2";
                scratch = wp.v_floats + wp.m_floats;
                wprep_tiles = wp.O, wfloats = wp.gemm.packed_floats;
                if (opt && opt->verbose)
                    fprintf(stderr, "codegen: %s: Winograd F(%dx%d, 3x3), %lld tiles, %lld products\n", nd->scope, wp.mt, wp.mt,
                            (long long)wp.T, (long long)(wp.npos * wp.G));
                made++, nwino++;
            } else if (nd->op == NC_OP_CONV2D && nc_val(g, nd->inputs[1])->layout == NC_LAYOUT_PACKED &&
                       nc_is_nhwc(nc_val(g, nd->inputs[0])) && nc_cg_nhwc_im2col_plan(&nip, g, nd, &t, &why)) {
                /* packed for NHWC im2col + GEMM by nc_cg_pack_weights */
                snprintf(name, sizeof name, "netc_ni2c_p%d_n%d", gi, ni);
                nc_cg_nhwc_im2col_emit(&m, g, nd, &nip, name, stage, stage_tiles);
                kind = nip.KH * nip.KW > 1 ? "nhwc im2col+gemm" : "nhwc copy+gemm";
                scratch = nip.cols_floats;
                made++, ni2c++;
            } else if (nd->op == NC_OP_CONV2D && nc_val(g, nd->inputs[1])->layout == NC_LAYOUT_PACKED &&
                       nc_val(g, nd->inputs[1])->shape[2] * nc_val(g, nd->inputs[1])->shape[3] > 1) {
                /* packed for im2col + GEMM by nc_cg_pack_weights */
                NcIm2colPlan ip;
                if (!nc_cg_im2col_plan(&ip, g, nd, &t, &why)) NC_CHECK(!"packed filter without an im2col kernel");
                snprintf(name, sizeof name, "netc_i2c_p%d_n%d", gi, ni);
                nc_cg_im2col_emit(&m, g, nd, &ip, name, stage, stage_tiles);
                kind = "im2col+gemm";
                scratch = ip.b_floats;
                made++, ni2c++;
            } else if ((nd->op == NC_OP_CONV2D || nd->op == NC_OP_LINEAR) && nc_val(g, nd->inputs[1])->layout == NC_LAYOUT_PACKED) {
                /* nc_cg_pack_weights chose this node, so it must take the GEMM now */
                if (!gemm_candidate(g, nd, &gs) || nc_cg_gemm_plan(&gp, &gs, &t, &pe))
                    NC_CHECK(!"packed weights without a GEMM kernel");
                snprintf(name, sizeof name, "netc_gemm_p%d_n%d", gi, ni);
                nc_cg_gemm_emit(&m, &gp, name);
                kind = nd->op == NC_OP_LINEAR ? "gemm" : gs.layout == NC_GEMM_NHWC ? "nhwc gemm" : "gemm";
                tf = LLVMGetNamedFunction(m.mod, name);
                tiles = gp.tiles;
                flags = gs.in_scale ? NC_KERNEL_SCALES_INPUT : 0;

                made++, ngemm++;
            } else if (nd->op == NC_OP_CONV2D && nc_is_nhwc(nc_val(g, nd->inputs[0]))) {
                /* NHWC: Winograd (cg_nhwc_wino.h) or the direct kernel (cg_nhwc_conv.h),
                 * both with weights transformed at load */
                NcNhwcConvPlan np;
                NcNhwcWinoPlan nw;
                const int mt = cg_nhwc_wino_choice(g, nd, &t, opt, NULL);
                if (mt && nc_cg_nhwc_wino_plan(&nw, g, nd, &t, mt, &why)) {
                    snprintf(name, sizeof name, "netc_nwino_p%d_n%d", gi, ni);
                    nc_cg_nhwc_wino_emit(&m, g, nd, &nw, name, stage, stage_tiles, &scratch, &wprep, &wprep_tiles, &wfloats);
                    kind = mt == 4 ? "nhwc winograd F4" : "nhwc winograd F2";
                    if (opt && opt->verbose)
                        fprintf(stderr, "codegen: %s: NHWC Winograd F(%dx%d, 3x3), %lld tiles\n", nd->scope, mt, mt, (long long)nw.T);
                    made++, nwino++;
                } else if (nc_cg_nhwc_conv_plan(&np, g, nd, &t, &why)) {
                    snprintf(name, sizeof name, "netc_nhwc_p%d_n%d", gi, ni);
                    nc_cg_nhwc_conv_emit(&m, g, nd, &np, name, stage, stage_tiles, &scratch, &wprep, &wprep_tiles, &wfloats);
                    kind = np.dw ? "nhwc depthwise" : np.G > 1 ? "nhwc grouped" : "nhwc direct";
                    made++;
                } else if (opt && opt->verbose) {
                    fprintf(stderr, "codegen: %s: NHWC, reference kernel (%s)\n", nd->scope, why);
                }
            } else if (nd->op == NC_OP_CONV2D && (!opt || opt->dwconv >= 0) && nc_cg_dw_plan(&dwp, g, nd, &t, &why)) {
                /* depthwise: one stage over the unpadded input (cg_dwconv.h) */
                snprintf(name, sizeof name, "netc_dw_p%d_n%d", gi, ni);
                nc_cg_dw_emit(&m, g, nd, &dwp, name);
                kind = "depthwise";
                stage[0] = LLVMGetNamedFunction(m.mod, name);
                stage_tiles[0] = dwp.tiles;
                made++;
            } else if (nd->op == NC_OP_CONV2D && cg_conv_supported(g, nd, m.vw, &blk, &why)) {
                snprintf(name, sizeof name, "netc_conv_p%d_n%d", gi, ni);
                cg_emit_conv(&cg, g, nd, name, &blk);
                kind = "direct";
                f = LLVMGetNamedFunction(m.mod, name);
                nc_cg_target_attrs(&t, f);
                ocb = blk.ocb;
                rows = cg_conv_rows(g, nd, m.vw, &blk);
                flags = cg_conv_polyphase(g, nd) ? NC_KERNEL_POLYPHASE : 0;
                const NcAttrs *a = &nd->attrs;
                if (flags || a->has_in_scale || a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3] || nc_val(g, nd->inputs[0])->kind != NC_VAL_NODE) {
                    snprintf(name, sizeof name, "netc_prep_p%d_n%d", gi, ni);
                    cg_emit_conv_prep(&m, g, nd, name);
                    pf = LLVMGetNamedFunction(m.mod, name);
                }
                made++;
            } else if (nd->op == NC_OP_CONV2D && opt && opt->verbose) {
                fprintf(stderr, "codegen: %s: reference kernel (%s)\n", nd->scope, why);
            } else if (nc_cg_se_staged(g, nd)) {
                snprintf(name, sizeof name, "netc_se_p%d_n%d", gi, ni);
                nc_cg_emit_se_staged(&m, g, nd, name, stage, stage_tiles, &scratch);
                kind = "squeeze-excite";
                made++, nelt++;
            } else if ((tiles = nc_cg_relayout_tiles(g, nd)) > 0) {
                snprintf(name, sizeof name, "netc_relayout_p%d_n%d", gi, ni);
                nc_cg_emit_relayout(&m, g, nd, name);
                kind = "relayout";
                tf = LLVMGetNamedFunction(m.mod, name);
                made++, nelt++;
            } else if ((tiles = nc_cg_eltwise_tiles(g, nd)) > 0) {
                snprintf(name, sizeof name, "netc_elt_p%d_n%d", gi, ni);
                nc_cg_emit_eltwise(&m, g, nd, name);
                kind = "elementwise";
                tf = LLVMGetNamedFunction(m.mod, name);
                made++, nelt++;
            }
            LLVMValueRef fields[18] = {f, LLVMConstInt(cg.i64, (unsigned long long)ocb, 0), LLVMConstInt(cg.i64, (unsigned long long)rows, 0),
                                       tf, LLVMConstInt(cg.i64, (unsigned long long)tiles, 0), LLVMConstInt(cg.i64, (unsigned long long)flags, 0), pf,
                                       stage[0], stage[1], stage[2],
                                       LLVMConstInt(cg.i64, (unsigned long long)stage_tiles[0], 0), LLVMConstInt(cg.i64, (unsigned long long)stage_tiles[1], 0),
                                       LLVMConstInt(cg.i64, (unsigned long long)stage_tiles[2], 0), LLVMConstInt(cg.i64, (unsigned long long)scratch, 0),
                                       wprep, LLVMConstInt(cg.i64, (unsigned long long)wprep_tiles, 0),
                                       LLVMConstInt(cg.i64, (unsigned long long)wfloats, 0),
                                       kind ? const_string(&m, kind) : LLVMConstNull(cg.ptr)};
            entries[k] = LLVMConstNamedStruct(entry_ty, fields, 18);
            sigs[nsigs].hash = hash, sigs[nsigs].sig = nc_malloc(sizeof *sig), sigs[nsigs].entry = entries[k];
            memcpy(sigs[nsigs++].sig, sig, sizeof *sig);
        }
    for (int q = 0; q < nsigs; q++) free(sigs[q].sig);
    free(sigs);
    free(sig);
    LLVMTypeRef table_ty = LLVMArrayType2(entry_ty, (uint64_t)total);
    LLVMValueRef table = LLVMAddGlobal(m.mod, table_ty, "netc_kernels");
    LLVMSetInitializer(table, LLVMConstArray2(entry_ty, entries, (uint64_t)total));
    LLVMSetGlobalConstant(table, 1);
    free(entries);
    /* the FMA peak loop (cg_peak.h) and its floating-point operations per round */
    const int chains = nc_cg_peak_chains(&t);
    nc_cg_emit_peak(&m, "netc_peak", chains);
    LLVMValueRef pflops = LLVMAddGlobal(m.mod, cg.i64, "netc_peak_flops");
    LLVMSetInitializer(pflops, LLVMConstInt(cg.i64, (unsigned long long)(chains * m.vw * 2), 0));
    LLVMSetGlobalConstant(pflops, 1);

    int rc = nc_cg_module_emit_object(&m, path, e);
    if (opt && opt->verbose)
        fprintf(stderr, "codegen: %d kernels (%d GEMM, %d Winograd, %d im2col, %d elementwise; %d nodes share one) for %s (%s), %d-float vectors\n",
                made, ngemm, nwino, ni2c, nelt, shared, t.cpu,
                t.triple, m.vw);
    nc_cg_module_dispose(&m);
    nc_cg_target_free(&t);
    return rc ? -1 : made;
}
