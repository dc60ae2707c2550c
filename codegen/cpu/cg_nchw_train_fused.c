/* cg_nchw_train_fused.c — conv2d of several images (and conv2d_grad_input of stride 1, flipped into one,
 * cg_nchw_train.h) as one stage whose tiles each pack their own B and multiply it at once.
 *
 * Why: the unfused kernel packs all of B (CK x N*P: 29 MB for fmnist_resnet's 32-channel 3x3 at 14x14,
 * batch 128) into scratch, then streams it back through the GEMM — twice the size of B through memory,
 * and a barrier between.  Here a tile is ipt whole images: their B (at most FUSED_FLOATS) is packed into a
 * buffer on the tile function's stack, the GEMM (cg_gemm.h, planned for exactly those columns: one
 * GEMM tile) reads it from L2 into a second stack buffer, and its rows are copied to out[0] NCHW (with
 * the bias) — which also replaces the unfused kernel's copy-back stage over scratch.  Whole images keep
 * the copy a run of P floats per (image, channel); the stack holds at most 2 FUSED_FLOATS floats (512 KB:
 * OpenMP's worker threads get the process's default stack, 8 MB on Linux, unless OMP_STACKSIZE says
 * less). */
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_nchw_train.h"

#define FUSED_FLOATS (64 * 1024) /* B of a tile: 256 KB, an eighth of a 2 MB L2 (half of a 512 KB one) */

int64_t nc_cg_train_fused_images(int64_t N, int64_t G, int64_t P, int64_t CK, int64_t O) {
    const char *env = getenv("NETC_CG_TRAIN_FUSED"); /* 0: the unfused kernel (measurements, tests) */
    if ((env && strcmp(env, "0") == 0) || G != 1 || N < 2) return 0;
    int64_t ipt = FUSED_FLOATS / (P * (CK > O ? CK : O));
    /* at least 16 tiles where the batch allows: dynamic scheduling balances the threads */
    const int64_t most = N / 16 > 1 ? N / 16 : 1;
    return ipt > most ? most : ipt;
}

static int plan_cols(NcGemmPlan *g, const NcTrainConvPlan *p, int64_t images, const NcCgTarget *t) {
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = 1, s.hw = p->O, s.cin = p->CK, s.cout = images * p->P;
    s.mc = p->O, s.nc = images * p->P; /* one GEMM tile: the fused tile is the unit of work */
    NcError e;
    return nc_cg_gemm_plan(g, &s, t, &e);
}

int nc_cg_train_fused_gemm(NcTrainConvPlan *p, const NcCgTarget *t) {
    memset(&p->gemm_tail, 0, sizeof p->gemm_tail);
    if (plan_cols(&p->gemm, p, p->ipt, t)) return -1;
    return p->N % p->ipt ? plan_cols(&p->gemm_tail, p, p->N % p->ipt, t) : 0;
}

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }

/* in[0] = W [Cv][Ov][KH][KW] (the node's [O][C][KH][KW]), out[0] = W' [Ov][Cv][KH][KW] flipped; tile = row of W' */
static LLVMValueRef emit_flip(NcCgModule *m, const NcTrainConvPlan *p, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    const int64_t KK = p->KH * p->KW;
    LLVMValueRef c, o;
    CgbLoop lc = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &c);
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->C), 1, &o);
    LLVMValueRef from = cgb_gep(m, src, mulc(m, add(m, mulc(m, o, p->O), c), KK));
    LLVMValueRef to = cgb_gep(m, dst, mulc(m, add(m, mulc(m, c, p->C), o), KK));
    for (int64_t k = 0; k < KK; k++) {
        LLVMValueRef v = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, from, I(m, KK - 1 - k)), "");
        LLVMBuildStore(m->b, v, cgb_gep(m, to, I(m, k)));
    }
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &lc);
    LLVMBuildRetVoid(m->b);
    return fn;
}

typedef struct Copy {
    LLVMValueRef dst, src, bias;
} Copy;
static void copy_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Copy *c = vc;
    LLVMValueRef v = cgb_load_n(m, cgb_gep(m, c->src, i), lanes);
    if (c->bias) v = LLVMBuildFAdd(m->b, v, c->bias, "");
    cgb_store_n(m, v, cgb_gep(m, c->dst, i), lanes);
}

/* images [n0, n0 + nimg): pack, multiply (mm, planned as g), copy out */
static void tile_body(NcCgModule *m, const NcTrainConvPlan *p, const NcGemmPlan *g, LLVMValueRef mm, int64_t nimg,
                      LLVMValueRef n0, LLVMValueRef src, LLVMValueRef w, LLVMValueRef bias, LLVMValueRef y,
                      LLVMValueRef bufb, LLVMValueRef bufc) {
    const int64_t cols = nimg * p->P, nr = g->nr, K = g->K, nfull = cols / nr, tail = cols % nr;
    LLVMValueRef c0 = mulc(m, n0, p->P), j;
    if (nfull) {
        CgbLoop lj = cgb_loop_begin(m, I(m, 0), I(m, nfull), 1, &j);
        nc_cg_train_pack_panel(m, p, src, cgb_gep(m, bufb, mulc(m, j, K * nr)), add(m, c0, mulc(m, j, nr)), nr, I(m, 0),
                               I(m, K));
        cgb_loop_end(m, &lj);
    }
    if (tail)
        nc_cg_train_pack_panel(m, p, src, cgb_gep(m, bufb, I(m, nfull * K * nr)), add(m, c0, I(m, nfull * nr)), tail,
                               I(m, 0), I(m, K));
    LLVMValueRef gin[2] = {w, bufb}, gout[1] = {bufc};
    cgb_call_tile(m, mm, gin, 2, gout, 1, I(m, 0), I(m, g->tiles));
    LLVMValueRef i, o;
    CgbLoop li = cgb_loop_begin(m, I(m, 0), I(m, nimg), 1, &i);
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->O), 1, &o);
    Copy c = {cgb_gep(m, y, add(m, mulc(m, add(m, n0, i), p->O * p->P), mulc(m, o, p->P))),
              cgb_gep(m, bufc, add(m, mulc(m, o, cols), mulc(m, i, p->P))), NULL};
    if (bias) c.bias = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, bias, o), ""));
    cgb_for_vectors(m, p->P, copy_vec, &c);
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &li);
}

static LLVMValueRef stack_floats(NcCgModule *m, int64_t n) {
    LLVMValueRef a = cgb_var(m, LLVMArrayType2(m->f32, (uint64_t)n));
    LLVMSetAlignment(a, 64);
    return a;
}

void nc_cg_train_fused_emit(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k) {
    char name[128];
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, &p->gemm, name);
    LLVMValueRef mm = LLVMGetNamedFunction(m->mod, name), mmt = NULL;
    if (p->gemm_tail.N) {
        snprintf(name, sizeof name, "%s_mmt", prefix);
        nc_cg_gemm_emit(m, &p->gemm_tail, name);
        mmt = LLVMGetNamedFunction(m->mod, name);
    }
    int s = 0;
    if (p->flip) {
        snprintf(name, sizeof name, "%s_flip", prefix);
        LLVMValueRef flip = emit_flip(m, p, name);
        snprintf(name, sizeof name, "%s_wflip", prefix);
        LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
        LLVMValueRef fin[1] = {cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1)};
        LLVMValueRef fout[1] = {cgb_gep(m, cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1), I(m, p->off_a))};
        cgb_call_tile(m, flip, fin, 1, fout, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
        LLVMBuildRetVoid(m->b);
        k->stage[s] = fn, k->tiles[s++] = p->a_tiles;
    }
    snprintf(name, sizeof name, "%s_fused", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef src = cgb_arg_ptr(m, in, 0), y = cgb_arg_ptr(m, out, 0);
    LLVMValueRef w = p->flip ? cgb_gep(m, cgb_arg_ptr(m, out, 1), I(m, p->off_a)) : cgb_arg_ptr(m, in, 1);
    LLVMValueRef bias = p->bias ? cgb_arg_ptr(m, in, 2) : NULL;
    LLVMValueRef bufb = stack_floats(m, p->ipt * p->P * p->CK), bufc = stack_floats(m, p->ipt * p->P * p->O);
    LLVMValueRef u;
    CgbLoop lu = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &u);
    LLVMValueRef n0 = mulc(m, u, p->ipt);
    if (mmt) {
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSLT, u, I(m, p->ftiles - 1), ""));
        tile_body(m, p, &p->gemm, mm, p->ipt, n0, src, w, bias, y, bufb, bufc);
        cgb_if_else(m, &c);
        tile_body(m, p, &p->gemm_tail, mmt, p->N % p->ipt, n0, src, w, bias, y, bufb, bufc);
        cgb_if_end(m, &c);
    } else {
        tile_body(m, p, &p->gemm, mm, p->ipt, n0, src, w, bias, y, bufb, bufc);
    }
    cgb_loop_end(m, &lu);
    LLVMBuildRetVoid(m->b);
    k->stage[s] = fn, k->tiles[s++] = p->ftiles;
    k->scratch = p->scratch;
}
