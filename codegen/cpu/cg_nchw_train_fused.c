/* cg_nchw_train_fused.c — conv2d of several images (and conv2d_grad_input of stride 1, flipped into one,
 * cg_nchw_train.h) as one stage whose tiles each pack their own B and multiply it at once; where not even one
 * image's B fits a tile's buffer, tiles of a part of one image's positions; a grouped conv's tiles one group's.
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
/* conv2d_grad_weight's tiles, each summing its chunks into its own O x CK partial sum, which a second stage
 * adds up: enough for 2-8 threads, few enough that the partial sums' pass stays small */
#define GW_TILES     8
/* a tile within an image: at least this many columns (a GEMM of fewer wastes its register block on the ragged
 * panel) */
#define MIN_PART     96
/* conv2d_grad_weight's blocks of CK columns: at least this many (the GEMM's panels) */
#define MIN_CKB      64

static int fused_off(void) {
    const char *env = getenv("NETC_CG_TRAIN_FUSED"); /* 0: the unfused kernel (measurements, tests) */
    return env && strcmp(env, "0") == 0;
}

int64_t nc_cg_train_fused_images(int64_t N, int64_t G, int64_t P, int64_t CK, int64_t O) {
    if (fused_off() || N < 2) return 0;
    int64_t ipt = FUSED_FLOATS / (P * (CK > O ? CK : O));
    /* at least 16 tiles where the batch allows: dynamic scheduling balances the threads */
    const int64_t most = N * G / 16 > 1 ? N * G / 16 : 1;
    return ipt > most ? most : ipt;
}

int64_t nc_cg_train_fused_part(int64_t P, int64_t CK, int64_t O, int vw) {
    const char *env = getenv("NETC_CG_TRAIN_PARTS"); /* 0: no tiles within an image (measurements, tests) */
    if (fused_off() || (env && strcmp(env, "0") == 0)) return 0;
    for (int64_t cw = P / 2; cw >= MIN_PART; cw--)
        if (P % cw == 0 && cw % vw == 0 && cw * CK <= FUSED_FLOATS && cw * O <= FUSED_FLOATS) return cw;
    return 0;
}

int nc_cg_train_fused_fwd(int64_t N, int64_t G, int64_t P, int64_t CK, int64_t O, int vw, int64_t *ipt, int64_t *cw,
                          int64_t *nblk) {
    *nblk = 1, *cw = 0;
    if ((*ipt = nc_cg_train_fused_images(N, G, P, CK, O)) || (*cw = nc_cg_train_fused_part(P, CK, O, vw))) return 1;
    const char *env = getenv("NETC_CG_TRAIN_KBLOCKS"); /* 0: no blocks of the reduction (measurements, tests) */
    if (env && strcmp(env, "0") == 0) return 0;
    /* the fewest blocks that let whole images or a part of one fit (resnet50's 3x3s at 14x14, CK 2304: 8 blocks
     * of an image; at 28x28, CK 1152: 2 blocks of parts of 112); not for tiles of fewer than MIN_PART positions
     * (7x7 planes at batch 16: a tile of 49 columns, 48 and a ragged 1 for the GEMM, ran resnet50's layer 4
     * 5-25% slower than the unfused GEMM over all the batch's columns) */
    for (int64_t nb = 2; CK / nb >= MIN_CKB; nb++) {
        if (CK % nb) continue;
        *ipt = nc_cg_train_fused_images(N, G, P, CK / nb, O);
        if (*ipt && *ipt * P < MIN_PART) *ipt = 0;
        if (*ipt || (*cw = nc_cg_train_fused_part(P, CK / nb, O, vw))) {
            *nblk = nb;
            return 1;
        }
    }
    *ipt = *cw = 0;
    return 0;
}

/* conv2d_grad_weight: the fewest blocks of CK's columns (nblk dividing CK, blocks of whole vectors and at least
 * MIN_CKB) for which a chunk fits, whole images before parts of one.  A tile's B is then cols x ckb and its dY
 * rows cols x Og, each within FUSED_FLOATS; with the blocks and groups as tiles of their own, the chunks are
 * split among only as many tiles more as make GW_TILES (resnet50's 3x3s at 224: CK 1152 at 28x28, 2304 at
 * 14x14, 4608 at 7x7 — not one row of positions would fit a whole CK) */
int nc_cg_train_fused_gw(NcTrainConvPlan *p, int vw) {
    if (fused_off()) return 0;
    for (int64_t nblk = 1; nblk <= p->CK; nblk++) {
        const int64_t ckb = p->CK / nblk;
        if (nblk > 1 && ckb < MIN_CKB) break;
        if (p->CK % nblk || (nblk > 1 && ckb % vw)) continue;
        const int64_t blocks = p->G * nblk, ranges = blocks >= GW_TILES ? 1 : (GW_TILES + blocks - 1) / blocks;
        int64_t ipt = p->N > 1 ? FUSED_FLOATS / (p->P * (ckb > p->Og ? ckb : p->Og)) : 0;
        const int64_t most = p->N / ranges > 1 ? p->N / ranges : 1;
        if (ipt > most) ipt = most;
        const int64_t cw = ipt ? 0 : nc_cg_train_fused_part(p->P, ckb, p->Og, vw);
        if (ipt || cw) {
            p->ipt = ipt, p->cw = cw, p->ckb = ckb, p->nblk = nblk;
            return 1;
        }
    }
    return 0;
}

/* conv2d: Og x CK . CK x cols (a group's rows; cols: whole images' positions or a part of one image's);
 * conv2d_grad_weight: Og x cols . cols x ckb, summed into C */
static int plan_cols(NcGemmPlan *g, const NcTrainConvPlan *p, int64_t cols, const NcCgTarget *t) {
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    const int gw = p->kind == NC_TCONV_GRAD_WEIGHT;
    const int kblocks = !gw && p->nblk > 1;
    s.batch = 1, s.hw = p->Og, s.cin = gw ? cols : kblocks ? p->ckb : p->CK, s.cout = gw ? p->ckb : cols;
    s.accumulate = gw || kblocks, s.lda = kblocks ? p->CK : 0;
    s.mc = s.hw, s.nc = s.cout; /* one GEMM tile: the fused tile is the unit of work */
    NcError e;
    return nc_cg_gemm_plan(g, &s, t, &e);
}

int nc_cg_train_fused_gemm(NcTrainConvPlan *p, const NcCgTarget *t) {
    memset(&p->gemm_tail, 0, sizeof p->gemm_tail);
    if (p->kind == NC_TCONV_GRAD_WEIGHT) { /* chunks: ipt images (the last N % ipt) or cw positions of one */
        if (plan_cols(&p->gemm, p, p->cw ? p->cw : p->ipt * p->P, t)) return -1;
        if (!p->cw && p->N % p->ipt && plan_cols(&p->gemm_tail, p, p->N % p->ipt * p->P, t)) return -1;
        p->chunks = p->cw ? p->N * (p->P / p->cw) : (p->N + p->ipt - 1) / p->ipt;
        const int64_t blocks = p->G * p->nblk;
        p->gw_t = blocks >= GW_TILES ? 1 : (GW_TILES + blocks - 1) / blocks;
        if (p->gw_t > p->chunks) p->gw_t = p->chunks;
        p->ftiles = p->gw_t * blocks;
        p->off_a = p->off_c = -1, p->off_b = 0, p->a_tiles = 0, p->last_tiles = p->O;
        p->scratch = p->gw_t * p->O * p->CK;
        return 0;
    }
    if (p->cw) { /* tiles within an image: G N P / cw of them, all alike; W' alone, with flip (G = 1) */
        if (plan_cols(&p->gemm, p, p->cw, t)) return -1;
        p->ftiles = p->G * p->N * (p->P / p->cw);
        p->off_b = p->off_c = -1, p->off_a = p->flip ? 0 : -1;
        p->a_tiles = p->flip ? p->O : 0;
        p->scratch = p->flip ? (p->O * p->CK + 15) / 16 * 16 : 0;
        return 0;
    }
    if (plan_cols(&p->gemm, p, p->ipt * p->P, t)) return -1;
    if (p->N % p->ipt && plan_cols(&p->gemm_tail, p, p->N % p->ipt * p->P, t)) return -1;
    /* W' alone, with flip */
    p->ftiles = p->G * ((p->N + p->ipt - 1) / p->ipt);
    p->off_b = p->off_c = -1, p->off_a = p->flip ? 0 : -1;
    p->a_tiles = p->flip ? p->O : 0;
    p->scratch = p->flip ? (p->O * p->CK + 15) / 16 * 16 : 0;
    return 0;
}

/* The taps of phase a along an axis of K taps, stride s, padding pt: k = a + pt (mod s), from the last
 * (*first) down by s; their count. */
static int phase_taps(int64_t K, int s, int pt, int a, int64_t *first) {
    int n = 0;
    *first = -1;
    for (int64_t k = K - 1; k >= 0; k--)
        if (((k - a - pt) % s + s) % s == 0) *first = n++ ? *first : k;
    return n;
}

#define MAX_PHASES 16

int nc_cg_train_phase_plan(const NcTrainConvPlan *p, int a, int b, const NcCgTarget *t, NcTrainConvPlan *q) {
    memset(q, 0, sizeof *q);
    int64_t kh0, kw0, off = 0;
    const int nkh = phase_taps(p->KH, p->sh, p->pt, a, &kh0), nkw = phase_taps(p->KW, p->sw, p->pl, b, &kw0);
    for (int k = 0; k < a * p->sw + b; k++) { /* W' of the phases before this one */
        int64_t f0, f1;
        off += p->C * p->O * phase_taps(p->KH, p->sh, p->pt, k / p->sw, &f0) *
               phase_taps(p->KW, p->sw, p->pl, k % p->sw, &f1);
    }
    q->kind = NC_TCONV_FORWARD, q->op_kind = NC_TCONV_GRAD_INPUT, q->flip = q->fused = q->scatter = 1;
    q->N = p->N, q->C = q->Cg = p->O, q->H = p->OH, q->W = p->OW, q->O = q->Og = p->C, q->G = 1;
    q->OH = a < p->H ? (p->H - a + p->sh - 1) / p->sh : 0, q->OW = b < p->W ? (p->W - b + p->sw - 1) / p->sw : 0;
    q->P = q->OH * q->OW;
    q->y_img = p->C * p->H * p->W, q->y_ch = p->H * p->W, q->y_row = p->sh * p->W, q->y_col = p->sw;
    q->y_off = a * p->W + b;
    if (!q->P || !nkh || !nkw) return 0; /* no positions, or positions no tap reaches: zeros */
    q->KH = nkh, q->KW = nkw, q->sh = q->sw = q->dh = q->dw = 1;
    /* dX[sh i + a] = sum over taps t of dY[i + (a + pt - kh_t) / sh] W[kh_t], kh_t = kh0 - t sh: a conv2d of
     * dY over rows i + t - pt' with pt' = (kh0 - a - pt) / sh (exact; negative: rows start below) */
    q->pt = (int)((kh0 - a - p->pt) / p->sh), q->pl = (int)((kw0 - b - p->pl) / p->sw);
    q->CK = q->C * nkh * nkw, q->ipt = p->ipt;
    const char *why;
    if (!nc_cg_train_conv_plan_rest(q, t, 1, &why)) return -1;
    q->off_a = off;
    return 0;
}

int nc_cg_train_phases(NcTrainConvPlan *p, const NcCgTarget *t) {
    if (p->G != 1 || (p->sh == 1 && p->sw == 1) || p->sh * p->sw > MAX_PHASES || p->dh != 1 || p->dw != 1 || p->bias)
        return 0;
    /* the largest phase's sizes */
    const int64_t P = ((p->H + p->sh - 1) / p->sh) * ((p->W + p->sw - 1) / p->sw);
    const int64_t CK = p->O * ((p->KH + p->sh - 1) / p->sh) * ((p->KW + p->sw - 1) / p->sw);
    p->ipt = nc_cg_train_fused_images(p->N, 1, P, CK, p->C);
    if (!p->ipt) return 0;
    for (int k = 0; k < p->sh * p->sw; k++) {
        NcTrainConvPlan q;
        if (nc_cg_train_phase_plan(p, k / p->sw, k % p->sw, t, &q)) return p->ipt = 0, 0;
    }
    p->phased = p->fused = 1, p->ftiles = (p->N + p->ipt - 1) / p->ipt;
    p->off_a = 0, p->off_b = p->off_c = -1, p->a_tiles = p->C;
    p->scratch = (p->C * p->O * p->KH * p->KW + 15) / 16 * 16;
    return 1;
}

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef add(NcCgModule *m, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(m->b, a, b, ""); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }

/* in[0] = W [Cv][Ov/G][KH][KW] (the node's [O][C/G][KH][KW]), out[0] = W' [Ov][Cv/G][KH][KW] flipped: row c
 * (group g = c / (Ov/G)) holds W[g Cv/G + o][c mod Ov/G] for o < Cv/G; tile = row of W' */
static LLVMValueRef emit_flip(NcCgModule *m, const NcTrainConvPlan *p, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    const int64_t KK = p->KH * p->KW;
    LLVMValueRef c, o;
    CgbLoop lc = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &c);
    LLVMValueRef g = LLVMBuildSDiv(m->b, c, I(m, p->Og), ""), cc = LLVMBuildSRem(m->b, c, I(m, p->Og), "");
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->Cg), 1, &o);
    LLVMValueRef from = cgb_gep(m, src, mulc(m, add(m, mulc(m, add(m, mulc(m, g, p->Cg), o), p->Og), cc), KK));
    LLVMValueRef to = cgb_gep(m, dst, mulc(m, add(m, mulc(m, c, p->Cg), o), KK));
    for (int64_t k = 0; k < KK; k++) {
        LLVMValueRef v = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, from, I(m, KK - 1 - k)), "");
        LLVMBuildStore(m->b, v, cgb_gep(m, to, I(m, k)));
    }
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &lc);
    LLVMBuildRetVoid(m->b);
    return fn;
}

/* a phase's rows (bufc [O][nimg P], or zeros when NULL) into dX at its strided positions */
static void scatter(NcCgModule *m, const NcTrainConvPlan *q, int64_t nimg, LLVMValueRef n0, LLVMValueRef y,
                    LLVMValueRef bufc) {
    LLVMValueRef i, o, r, c;
    CgbLoop li = cgb_loop_begin(m, I(m, 0), I(m, nimg), 1, &i);
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, q->O), 1, &o);
    CgbLoop lr = cgb_loop_begin(m, I(m, 0), I(m, q->OH), 1, &r);
    LLVMValueRef drow = add(m, add(m, mulc(m, add(m, n0, i), q->y_img), mulc(m, o, q->y_ch)),
                            add(m, I(m, q->y_off), mulc(m, r, q->y_row)));
    LLVMValueRef srow = add(m, add(m, mulc(m, o, nimg * q->P), mulc(m, i, q->P)), mulc(m, r, q->OW));
    CgbLoop lc = cgb_loop_begin(m, I(m, 0), I(m, q->OW), 1, &c);
    LLVMValueRef v = bufc ? LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, bufc, add(m, srow, c)), "") : cgb_f32(m, 0);
    LLVMBuildStore(m->b, v, cgb_gep(m, y, add(m, drow, mulc(m, c, q->y_col))));
    cgb_loop_end(m, &lc);
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &li);
}

/* Group grp's (NULL: the only one) columns of images [n0, n0 + nimg), or with q0 (p->cw) the cw positions of
 * image n0 from q0: pack, multiply (mm, planned as g), copy out. */
static void tile_body(NcCgModule *m, const NcTrainConvPlan *p, const NcGemmPlan *g, LLVMValueRef mm, int64_t nimg,
                      LLVMValueRef n0, LLVMValueRef q0, LLVMValueRef grp, LLVMValueRef src, LLVMValueRef w,
                      LLVMValueRef bias, LLVMValueRef y, LLVMValueRef bufb, LLVMValueRef bufc) {
    const int64_t cols = q0 ? p->cw : nimg * p->P, nr = g->nr, K = g->K, nfull = cols / nr, tail = cols % nr;
    LLVMValueRef c0 = mulc(m, n0, p->P), j, ch0 = I(m, 0), kb, k0 = I(m, 0);
    if (q0) c0 = add(m, c0, q0);
    if (grp) /* the group's source channels, filters and output channels */
        src = cgb_gep(m, src, mulc(m, grp, p->src_group)), w = cgb_gep(m, w, mulc(m, grp, p->Og * p->CK)),
        ch0 = mulc(m, grp, p->Og);
    CgbLoop lb;
    if (p->nblk > 1) { /* block kb: rows [kb K, kb K + K) of B, columns of W, summed into bufc */
        cgb_copy_floats(m, bufc, NULL, NULL, p->Og * cols);
        lb = cgb_loop_begin(m, I(m, 0), I(m, p->nblk), 1, &kb);
        k0 = mulc(m, kb, K);
    }
    LLVMValueRef k1 = add(m, k0, I(m, K));
    if (nfull) {
        CgbLoop lj = cgb_loop_begin(m, I(m, 0), I(m, nfull), 1, &j);
        nc_cg_train_pack_panel(m, p, src, cgb_gep(m, bufb, mulc(m, j, K * nr)), add(m, c0, mulc(m, j, nr)), nr, k0, k1,
                               k0);
        cgb_loop_end(m, &lj);
    }
    if (tail)
        nc_cg_train_pack_panel(m, p, src, cgb_gep(m, bufb, I(m, nfull * K * nr)), add(m, c0, I(m, nfull * nr)), tail,
                               k0, k1, k0);
    LLVMValueRef gin[2] = {cgb_gep(m, w, k0), bufb}, gout[1] = {bufc};
    cgb_call_tile(m, mm, gin, 2, gout, 1, I(m, 0), I(m, g->tiles));
    if (p->nblk > 1) cgb_loop_end(m, &lb);
    if (p->scatter) {
        scatter(m, p, nimg, n0, y, bufc);
        return;
    }
    const int64_t run = q0 ? p->cw : p->P; /* floats copied per (image, channel) */
    LLVMValueRef i, o;
    CgbLoop li = cgb_loop_begin(m, I(m, 0), I(m, q0 ? 1 : nimg), 1, &i);
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->Og), 1, &o);
    LLVMValueRef oc = add(m, ch0, o);
    LLVMValueRef at = add(m, mulc(m, add(m, n0, i), p->O * p->P), mulc(m, oc, p->P));
    LLVMValueRef dst = cgb_gep(m, y, q0 ? add(m, at, q0) : at);
    LLVMValueRef row = cgb_gep(m, bufc, add(m, mulc(m, o, cols), mulc(m, i, p->P)));
    if (bias)
        cgb_copy_floats_bias(m, dst, row, cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, bias, oc), "")), run);
    else
        cgb_copy_floats(m, dst, row, NULL, run);
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &li);
}

static LLVMValueRef stack_floats(NcCgModule *m, int64_t n) {
    LLVMValueRef a = cgb_var(m, LLVMArrayType2(m->f32, (uint64_t)n));
    LLVMSetAlignment(a, 64);
    return a;
}

typedef struct Sum {
    LLVMValueRef dst, src;
    int64_t n, stride;
} Sum;
static void sum_vec(NcCgModule *m, void *vc, LLVMValueRef i, int lanes) {
    const Sum *c = vc;
    LLVMValueRef v = NULL;
    for (int64_t j = 0; j < c->n; j++) {
        LLVMValueRef x = cgb_load_n(m, cgb_gep(m, c->src, add(m, i, I(m, j * c->stride))), lanes);
        v = v ? LLVMBuildFAdd(m->b, v, x, "") : x;
    }
    cgb_store_n(m, v, cgb_gep(m, c->dst, i), lanes);
}

/* chunk of images [n0, n0 + nimg) of conv2d_grad_weight (with q0, p->cw: the cw positions of image n0 from
 * q0), group grp's (NULL: the only one) block of columns from col0: its dY rows copied to [Og][positions], its
 * B packed, the GEMM summing into part */
static void gw_chunk(NcCgModule *m, const NcTrainConvPlan *p, const NcGemmPlan *g, LLVMValueRef mm, int64_t nimg,
                     LLVMValueRef n0, LLVMValueRef q0, LLVMValueRef grp, LLVMValueRef col0, LLVMValueRef dy,
                     LLVMValueRef x, LLVMValueRef part, LLVMValueRef bufa, LLVMValueRef bufb) {
    const int64_t Ks = q0 ? p->cw : nimg * p->P, run = q0 ? p->cw : p->P, nr = g->nr, nfull = p->ckb / nr,
                  tail = p->ckb % nr;
    if (grp) /* the group's rows of dY, channels of x */
        dy = cgb_gep(m, dy, mulc(m, grp, p->Og * p->P)), x = cgb_gep(m, x, mulc(m, grp, p->src_group));
    LLVMValueRef i, o, j, at0 = q0 ? q0 : I(m, 0);
    CgbLoop li = cgb_loop_begin(m, I(m, 0), I(m, q0 ? 1 : nimg), 1, &i);
    CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->Og), 1, &o);
    cgb_copy_floats(m, cgb_gep(m, bufa, add(m, mulc(m, o, Ks), mulc(m, i, p->P))),
                    cgb_gep(m, dy, add(m, add(m, mulc(m, add(m, n0, i), p->O * p->P), mulc(m, o, p->P)), at0)), NULL,
                    run);
    cgb_loop_end(m, &lo);
    cgb_loop_end(m, &li);
    LLVMValueRef k0 = add(m, mulc(m, n0, p->P), at0), k1 = add(m, k0, I(m, Ks));
    if (nfull) {
        CgbLoop lj = cgb_loop_begin(m, I(m, 0), I(m, nfull), 1, &j);
        nc_cg_train_pack_panel(m, p, x, cgb_gep(m, bufb, mulc(m, j, Ks * nr)), add(m, col0, mulc(m, j, nr)), nr, k0, k1,
                               k0);
        cgb_loop_end(m, &lj);
    }
    if (tail)
        nc_cg_train_pack_panel(m, p, x, cgb_gep(m, bufb, I(m, nfull * Ks * nr)), add(m, col0, I(m, nfull * nr)), tail,
                               k0, k1, k0);
    LLVMValueRef gin[2] = {bufa, bufb}, gout[1] = {part};
    cgb_call_tile(m, mm, gin, 2, gout, 1, I(m, 0), I(m, g->tiles));
}

static void emit_gw(NcCgModule *m, const NcTrainConvPlan *p, LLVMValueRef mm, LLVMValueRef mmt, const char *prefix,
                    NcCgKernel *k) {
    char name[128];
    const int64_t OCK = p->O * p->CK, blk = p->Og * p->ckb;
    snprintf(name, sizeof name, "%s_fused", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef dy = cgb_arg_ptr(m, in, 0), x = cgb_arg_ptr(m, in, 1), scratch = cgb_arg_ptr(m, out, 1);
    const int64_t cols = p->cw ? p->cw : p->ipt * p->P, parts = p->cw ? p->P / p->cw : 1;
    LLVMValueRef bufa = stack_floats(m, cols * p->Og), bufb = stack_floats(m, cols * p->ckb);
    LLVMValueRef u, c;
    CgbLoop lu = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &u);
    /* u = (t G + g) nblk + b: its partial sum at u Og ckb */
    LLVMValueRef part = cgb_gep(m, scratch, add(m, I(m, p->off_b), mulc(m, u, blk)));
    LLVMValueRef b = LLVMBuildSRem(m->b, u, I(m, p->nblk), ""), r = LLVMBuildSDiv(m->b, u, I(m, p->nblk), "");
    LLVMValueRef grp = p->G > 1 ? LLVMBuildSRem(m->b, r, I(m, p->G), "") : NULL;
    LLVMValueRef t = p->G > 1 ? LLVMBuildSDiv(m->b, r, I(m, p->G), "") : r, col0 = mulc(m, b, p->ckb);
    cgb_copy_floats(m, part, NULL, NULL, blk);
    /* chunks [t chunks / gw_t, (t + 1) chunks / gw_t) */
    LLVMValueRef cb = LLVMBuildSDiv(m->b, mulc(m, t, p->chunks), I(m, p->gw_t), "");
    LLVMValueRef ce = LLVMBuildSDiv(m->b, mulc(m, add(m, t, I(m, 1)), p->chunks), I(m, p->gw_t), "");
    CgbLoop lc = cgb_loop_begin(m, cb, ce, 1, &c);
    if (p->cw) { /* chunk c: image c / parts, its positions from (c mod parts) cw */
        LLVMValueRef n0 = LLVMBuildSDiv(m->b, c, I(m, parts), "");
        LLVMValueRef q0 = mulc(m, LLVMBuildSRem(m->b, c, I(m, parts), ""), p->cw);
        gw_chunk(m, p, &p->gemm, mm, 1, n0, q0, grp, col0, dy, x, part, bufa, bufb);
    } else if (mmt) {
        LLVMValueRef n0 = mulc(m, c, p->ipt);
        CgbIf ci = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSLT, c, I(m, p->chunks - 1), ""));
        gw_chunk(m, p, &p->gemm, mm, p->ipt, n0, NULL, grp, col0, dy, x, part, bufa, bufb);
        cgb_if_else(m, &ci);
        gw_chunk(m, p, &p->gemm_tail, mmt, p->N % p->ipt, n0, NULL, grp, col0, dy, x, part, bufa, bufb);
        cgb_if_end(m, &ci);
    } else {
        gw_chunk(m, p, &p->gemm, mm, p->ipt, mulc(m, c, p->ipt), NULL, grp, col0, dy, x, part, bufa, bufb);
    }
    cgb_loop_end(m, &lc);
    cgb_loop_end(m, &lu);
    LLVMBuildRetVoid(m->b);
    k->stage[0] = fn, k->tiles[0] = p->ftiles;

    /* the partial sums added up, a row o of dW a tile: block b of its columns from partial sums (t G + g) nblk
     * + b, row o mod Og, t = 0 .. gw_t - 1 (O CK floats apart) */
    snprintf(name, sizeof name, "%s_sum", prefix);
    fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef dw = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0), o;
    scratch = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    CgbLoop lo = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &o);
    LLVMValueRef g = LLVMBuildSDiv(m->b, o, I(m, p->Og), ""), oo = LLVMBuildSRem(m->b, o, I(m, p->Og), "");
    LLVMValueRef bb;
    CgbLoop lb = cgb_loop_begin(m, I(m, 0), I(m, p->nblk), 1, &bb);
    LLVMValueRef src =
        add(m, add(m, I(m, p->off_b), mulc(m, add(m, mulc(m, g, p->nblk), bb), blk)), mulc(m, oo, p->ckb));
    Sum sm = {cgb_gep(m, dw, add(m, mulc(m, o, p->CK), mulc(m, bb, p->ckb))), cgb_gep(m, scratch, src), p->gw_t, OCK};
    cgb_for_vectors(m, p->ckb, sum_vec, &sm);
    cgb_loop_end(m, &lb);
    cgb_loop_end(m, &lo);
    LLVMBuildRetVoid(m->b);
    k->stage[1] = fn, k->tiles[1] = p->O;
    k->scratch = p->scratch;
}

/* in[0] = W [O][C][KH][KW], out[1] = scratch: every phase's W' [C][O][nkh][nkw] (its taps from the last down by
 * the stride, nc_cg_train_phase_plan); tile = c */
static LLVMValueRef emit_phase_flip(NcCgModule *m, const NcTrainConvPlan *p, const NcTrainConvPlan *q, int nph,
                                    const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef src = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 1), dst = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef c, o;
    CgbLoop lc = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &c);
    for (int k = 0; k < nph; k++) {
        if (!q[k].CK) continue;
        int64_t kh0, kw0;
        const int a = k / p->sw, b = k % p->sw;
        phase_taps(p->KH, p->sh, p->pt, a, &kh0), phase_taps(p->KW, p->sw, p->pl, b, &kw0);
        const int64_t T = q[k].KH * q[k].KW;
        CgbLoop lo = cgb_loop_begin(m, I(m, 0), I(m, p->O), 1, &o);
        LLVMValueRef from = cgb_gep(m, src, mulc(m, add(m, mulc(m, o, p->C), c), p->KH * p->KW));
        LLVMValueRef to = cgb_gep(m, dst, add(m, I(m, q[k].off_a), mulc(m, add(m, mulc(m, c, p->O), o), T)));
        for (int64_t th = 0; th < q[k].KH; th++)
            for (int64_t tw = 0; tw < q[k].KW; tw++) {
                const int64_t kh = kh0 - th * p->sh, kw = kw0 - tw * p->sw;
                LLVMValueRef v = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, from, I(m, kh * p->KW + kw)), "");
                LLVMBuildStore(m->b, v, cgb_gep(m, to, I(m, th * q[k].KW + tw)));
            }
        cgb_loop_end(m, &lo);
    }
    cgb_loop_end(m, &lc);
    LLVMBuildRetVoid(m->b);
    return fn;
}

static void phases_body(NcCgModule *m, const NcTrainConvPlan *q, int nph, LLVMValueRef *mm, int tail, int64_t nimg,
                        LLVMValueRef n0, LLVMValueRef dy, LLVMValueRef scratch, LLVMValueRef y, LLVMValueRef bufb,
                        LLVMValueRef bufc) {
    for (int k = 0; k < nph; k++) {
        if (!q[k].P) continue;
        if (!q[k].CK) {
            scatter(m, &q[k], nimg, n0, y, NULL);
            continue;
        }
        tile_body(m, &q[k], tail ? &q[k].gemm_tail : &q[k].gemm, mm[k], nimg, n0, NULL, NULL, dy,
                  cgb_gep(m, scratch, I(m, q[k].off_a)), NULL, y, bufb, bufc);
    }
}

static void emit_phased(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k) {
    char name[128];
    NcTrainConvPlan q[MAX_PHASES];
    LLVMValueRef mm[MAX_PHASES] = {0}, mmt[MAX_PHASES] = {0};
    const int nph = p->sh * p->sw;
    int64_t nb = 1, nc = 1;
    for (int j = 0; j < nph; j++) {
        NC_CHECK(nc_cg_train_phase_plan(p, j / p->sw, j % p->sw, m->t, &q[j]) == 0);
        if (!q[j].CK) continue;
        snprintf(name, sizeof name, "%s_mm%d", prefix, j);
        nc_cg_gemm_emit(m, &q[j].gemm, name);
        mm[j] = LLVMGetNamedFunction(m->mod, name);
        if (q[j].gemm_tail.N) {
            snprintf(name, sizeof name, "%s_mmt%d", prefix, j);
            nc_cg_gemm_emit(m, &q[j].gemm_tail, name);
            mmt[j] = LLVMGetNamedFunction(m->mod, name);
        }
        if (p->ipt * q[j].P * q[j].CK > nb) nb = p->ipt * q[j].P * q[j].CK;
        if (p->ipt * q[j].P * q[j].O > nc) nc = p->ipt * q[j].P * q[j].O;
    }
    snprintf(name, sizeof name, "%s_wflip", prefix);
    k->stage[0] = emit_phase_flip(m, p, q, nph, name), k->tiles[0] = p->a_tiles;
    snprintf(name, sizeof name, "%s_fused", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef dy = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef scratch = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef bufb = stack_floats(m, nb), bufc = stack_floats(m, nc), u;
    CgbLoop lu = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &u);
    LLVMValueRef n0 = mulc(m, u, p->ipt);
    if (p->N % p->ipt) {
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSLT, u, I(m, p->ftiles - 1), ""));
        phases_body(m, q, nph, mm, 0, p->ipt, n0, dy, scratch, y, bufb, bufc);
        cgb_if_else(m, &c);
        phases_body(m, q, nph, mmt, 1, p->N % p->ipt, n0, dy, scratch, y, bufb, bufc);
        cgb_if_end(m, &c);
    } else {
        phases_body(m, q, nph, mm, 0, p->ipt, n0, dy, scratch, y, bufb, bufc);
    }
    cgb_loop_end(m, &lu);
    LLVMBuildRetVoid(m->b);
    k->stage[1] = fn, k->tiles[1] = p->ftiles;
    k->scratch = p->scratch;
}

void nc_cg_train_fused_emit(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k) {
    if (p->phased) {
        emit_phased(m, p, prefix, k);
        return;
    }
    char name[128];
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, &p->gemm, name);
    LLVMValueRef mm = LLVMGetNamedFunction(m->mod, name), mmt = NULL;
    if (p->gemm_tail.N) {
        snprintf(name, sizeof name, "%s_mmt", prefix);
        nc_cg_gemm_emit(m, &p->gemm_tail, name);
        mmt = LLVMGetNamedFunction(m->mod, name);
    }
    if (p->kind == NC_TCONV_GRAD_WEIGHT) {
        emit_gw(m, p, mm, mmt, prefix, k);
        return;
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
    const int64_t cols = p->cw ? p->cw : p->ipt * p->P;
    LLVMValueRef bufb = stack_floats(m, cols * (p->nblk > 1 ? p->ckb : p->CK)), bufc = stack_floats(m, cols * p->Og);
    LLVMValueRef u;
    CgbLoop lu = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &u);
    /* tile u: group-major, then images (a chunk of ipt, or one image's parts of cw positions) */
    const int64_t per_group = p->ftiles / p->G;
    LLVMValueRef grp = p->G > 1 ? LLVMBuildSDiv(m->b, u, I(m, per_group), "") : NULL;
    LLVMValueRef v = p->G > 1 ? LLVMBuildSRem(m->b, u, I(m, per_group), "") : u;
    if (p->cw) {
        const int64_t parts = p->P / p->cw;
        LLVMValueRef n0 = LLVMBuildSDiv(m->b, v, I(m, parts), "");
        LLVMValueRef q0 = mulc(m, LLVMBuildSRem(m->b, v, I(m, parts), ""), p->cw);
        tile_body(m, p, &p->gemm, mm, 1, n0, q0, grp, src, w, bias, y, bufb, bufc);
    } else if (mmt) {
        LLVMValueRef n0 = mulc(m, v, p->ipt);
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSLT, v, I(m, per_group - 1), ""));
        tile_body(m, p, &p->gemm, mm, p->ipt, n0, NULL, grp, src, w, bias, y, bufb, bufc);
        cgb_if_else(m, &c);
        tile_body(m, p, &p->gemm_tail, mmt, p->N % p->ipt, n0, NULL, grp, src, w, bias, y, bufb, bufc);
        cgb_if_end(m, &c);
    } else {
        tile_body(m, p, &p->gemm, mm, p->ipt, mulc(m, v, p->ipt), NULL, grp, src, w, bias, y, bufb, bufc);
    }
    cgb_loop_end(m, &lu);
    LLVMBuildRetVoid(m->b);
    k->stage[s] = fn, k->tiles[s++] = p->ftiles;
    k->scratch = p->scratch;
}
