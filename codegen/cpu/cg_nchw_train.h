/* cg_nchw_train.h — the training step's convolutions on NCHW activations
 * (conv2d, conv2d_grad_input, conv2d_grad_weight; dense or grouped) as the packed
 * GEMM of cg_gemm.h, everything it packs packed at run time: a training
 * step's parameters change every step (the optimizer writes them in place),
 * so nothing is packed at compile or load time.
 *
 * With P = OH*OW, CK = C*KH*KW and the images side by side along the GEMM's
 * columns (n, p) — so a small plane (ResNet's 2x2 at 64x64) still fills the
 * vectors:
 *
 *   conv2d               Y' (O x N*P)  = W (O x CK) . cols (CK x N*P)
 *   conv2d_grad_input    dcols (CK x N*P) = W^T (CK x O) . dY' (O x N*P)
 *   conv2d_grad_weight   dW (O x CK)   = dY' (O x N*P) . cols^T (N*P x CK)
 *
 * where cols[(c, kh, kw)][(n, oh, ow)] = x[n][c][oh sh - pt + kh dh][ow sw -
 * pl + kw dw] (0 in the padding) and dY'[o][(n, p)] = dY[n][o][p].  The GEMM's
 * A (the broadcast operand, row-major) is W as stored, W^T, or dY (copied to
 * [O][N*P] when N > 1); its B is packed into cg_gemm.h's panels straight from
 * x or dY (contiguous loads, masked loads along a row of the window, or a
 * gather; cols is never written out, nor transposed).  Stages
 * (runtime/kernels.h):
 *
 *   1. pack B into scratch (tiles: panel x reduction chunk), and W^T (register
 *      transposes, cg_relayout.h) or the copy of dY into scratch
 *   2. the GEMM (cg_gemm.h) into out[0], or into scratch when 3 follows;
 *      with N > 1 and a plane of whole column panels (P a multiple of nr) it
 *      writes [N][R][P], NCHW, itself (cg_gemm.h's col_image)
 *   3. conv2d and a 1x1 conv2d_grad_input with N > 1 and other planes:
 *      [R][N][P] -> [N][R][P]; conv2d_grad_input of a window or a stride:
 *      col2im, one tile per input plane (n, c), each tap's rows added in turn;
 *      conv2d with a bias (in[2]): the bias added as the rows are copied back,
 *      or in place over out[0] (one tile per plane (n, o)) when stage 2 wrote
 *      out[0] itself
 *
 * Those stages write all of B (and dcols) out and read it back: 29 MB for a 32-channel 3x3 at 14x14,
 * batch 128.  Where N > 1 and an image's B fits a 256 KB buffer, each kind runs fused instead
 * (cg_nchw_train_fused.c): a tile packs a few whole images' B on its stack and multiplies it while it is
 * in L2 — conv2d writing NCHW itself; conv2d_grad_input of stride 1 as the conv2d of dY with W flipped
 * and transposed, of a stride as one such conv per phase of dX (no dcols, no col2im);
 * conv2d_grad_weight over chunks of images summed into a few partial dW.  fmnist_resnet's step at batch
 * 128: 87 -> about 55 ms on 2 cores of an AVX-512 Xeon (bench/RESULTS.md).  Where not one image's B fits
 * (224x224's planes), conv2d (and the flipped conv2d_grad_input) runs fused over parts of an image: tiles of
 * cw >= 96 positions (a divisor of P, whole vectors) whose B and output rows fit 256 KB each; a grouped
 * conv2d's tiles are one group's, and a grouped stride-1 conv2d_grad_input is flipped too (W' per group);
 * conv2d_grad_weight sums chunks of cw positions the same way.
 * resnet50's step at 224, batch 16: 3030 -> 2804 ms on 2 Zen 4 cores.  Where not even a row of positions
 * fits a whole CK (the deep 3x3s: CK 1152-4608), conv2d_grad_weight's tiles take a block of CK's columns
 * each (the GEMM's N), grouped ones a group each, and every chunk's GEMM sums into its tile's partial dW
 * itself (cg_gemm.h's accumulate: no add pass): conv2d_grad_weight 902 -> 781 ms of resnet50's step,
 * 1241 -> 1048 of resnest50d's, 576 -> 421 of regnety_016's (per-kernel minima, the same Zen 4).  conv2d
 * (and the flipped conv2d_grad_input) likewise takes its reduction in blocks where no part of an image fits
 * the whole of it (tiles of at least 96 positions): each block's rows of B packed and multiplied in turn,
 * summing into the tile's output rows (cg_gemm.h's lda and accumulate): resnet50's conv2d 749 -> 690 ms,
 * conv2d_grad_input 747 -> 718; resnest50d's 914 -> 880 and 992 -> 943 (NETC_CG_TRAIN_KBLOCKS=0: none).
 *
 * Grouped convs (G groups of Cg = C/G input and Og = O/G output channels)
 * are G such GEMMs side by side — the GEMM's per-image operands
 * (NcGemmSpec.b_per_image) with the groups as its images: A and C of group g
 * lie g M K and g M N floats on (W's rows, W^T's blocks, dY's rows and dW's
 * rows are group after group as stored), and B of group g is packed from the
 * source's channels g Cg (x) or g Og (dY) on.  C is then [O][N*P] or
 * [C*KH*KW][N*P] as for one group, so stage 3 is unchanged; column images are
 * not used.  Depthwise convs (Og or Cg*KH*KW below 4: a GEMM of 1-row blocks)
 * are left to the reference kernels.  A conv2d's bias is taken (SE and
 * split-attention fc1/fc2: 1x1 convs with a bias, kept by autodiff, which
 * runs before fusion); input scales and fused epilogues are not (the training
 * graph has none). */
#ifndef NETC_CG_NCHW_TRAIN_H
#define NETC_CG_NCHW_TRAIN_H

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef enum NcTrainConvKind { NC_TCONV_FORWARD, NC_TCONV_GRAD_INPUT, NC_TCONV_GRAD_WEIGHT } NcTrainConvKind;

/* Index i of a GEMM operand's row or column as (i0, i1, i2) of sizes (d0,
 * d1, d2); its element lies at s0 i0 + s1 i1 + s2 i2 + o0 of the source, and
 * it is inside the source (not padding) when the sum of the row's and the
 * column's h = h1 i1 + h0 is below hb and their w = w2 i2 + w0 below wb. */
typedef struct NcTconvIndex {
    int64_t d0, d1, d2;
    int64_t s0, s1, s2, o0;
    int64_t h1, h0, w2, w0;
} NcTconvIndex;

/* B of the GEMM packed from a source (in[0] of the pack function) */
typedef struct NcTconvPack {
    NcTconvIndex row, col; /* B's rows (the reduction) and columns */
    int64_t hb, wb;        /* the bounds; check: some element may be padding */
    int check;
    int64_t contiguous; /* columns whose elements lie one after another in runs of this many (0: no) */
    int rowwise;        /* else a vector's columns lie in one source row, one after another, but for the padding: a
                    masked load (3x3 stride 1, rows a multiple of the vector width); else a gather */
    int transposed;     /* else (conv2d_grad_weight, stride 1 along rows a multiple of the vector width): vw rows
                           (positions of one output row) x vw columns (window taps) at a time, each column a masked
                           load along the row, transposed in registers; else a gather */
    int linear;         /* else (conv2d, conv2d_grad_input) the columns are positions of planes of at least vw
                           whose offsets in an image are their index in the plane (stride 1 across, output rows as
                           wide as the source's: a 3x3 "same" or a 1x1 stride-1 conv, dY; any width): vw of them
                           are one masked load (the padding's lanes off), two where they straddle two images;
                           else a gather */
    int straddle;       /* linear: a vector may straddle two images (planes or panels not whole vectors) */
    int64_t img_skip;   /* linear: from one image's plane end to the next image's start, s0 - d1 d2 */
    int64_t kchunk, chunks, tiles; /* tile = panel x chunk of kchunk rows */
} NcTconvPack;

typedef struct NcTrainConvPlan {
    NcTrainConvKind kind;    /* what runs: NC_TCONV_FORWARD for a flipped conv2d_grad_input */
    NcTrainConvKind op_kind; /* the node's */
    /* conv2d_grad_input of stride 1 run as the conv2d of dY (the fields below then describe that conv: C and O,
     * Cg and Og, H and OH, W and OW swapped, the padding (KH-1) dh - pt, (KW-1) dw - pl) with W' [C][O/G][KH][KW]
     * = W flipped and transposed group by group, written into scratch at off_a by a first stage: no col2im and
     * no CK x N*P dcols */
    int flip;
    /* conv2d (G = 1, N > 1) fused, cg_nchw_train_fused.c: a tile = ipt whole images, its B packed into a
     * buffer on the stack and multiplied at once (in L2), gemm (N = ipt P) writing a second one, copied
     * to out[0] NCHW; gemm_tail for the last tile's N % ipt images (gemm_tail.N = 0: none) */
    int fused;
    int64_t ipt, ftiles;
    /* conv2d fused where a whole image's B does not fit: tiles of cw positions of one image (cw divides P, a
     * multiple of the vector width), G N P / cw of them, group-major; with G > 1 (either way) a tile is one
     * group's: its source channels, filters and output channels */
    int64_t cw;
    NcGemmPlan gemm_tail;
    /* conv2d_grad_weight fused: chunks of ipt images (the last N % ipt) or of cw positions of one image, each a
     * GEMM Og x cols . cols x ckb of dY's rows copied and B packed on the stack, accumulated into the tile's
     * partial sum; a tile = (range t of the chunks, group g, block b of nblk of CK's columns, ckb each), u = (t G
     * + g) nblk + b, its partial sum Og x ckb at u Og ckb in scratch (off_b); the second stage adds the gw_t
     * ranges' partial sums up into out[0] */
    int64_t chunks, ckb, nblk, gw_t;
    /* (conv2d fused, nblk > 1: the reduction in nblk blocks of ckb rows of CK, each packed and multiplied in turn,
     * summing into the tile's output rows: cg_gemm.h's lda = CK and accumulate; nblk 0 or 1: whole) */
    /* conv2d_grad_input of a stride (dilation 1, G = 1) fused as sh x sw convs of dY, one per phase (a, b):
     * dX's positions (sh i + a, sw j + b) take the taps kh = a + pt (mod sh), kw = b + pl (mod sw), a
     * conv2d of dY at stride 1 (nc_cg_train_phase_plan), each phase's W' in scratch; its tiles write every
     * phase of their images, scattering the rows into dX (phase plans: scatter, y_* the strides) */
    int phased, scatter;
    int64_t y_img, y_ch, y_row, y_col, y_off;
    int64_t N, C, H, W, O, KH, KW, OH, OW, P, CK; /* CK = Cg*KH*KW: one group's reduction */
    int64_t G, Cg, Og;                            /* groups and their channels (G = 1: dense) */
    int64_t src_group;                            /* floats from one group's channels of B's source to the next */
    int sh, sw, pt, pl, dh, dw;
    int direct; /* a 1x1 window, stride 1, no padding: no col2im */
    int bias;   /* conv2d with a bias, in[2]: added in stage 3 */
    NcGemmPlan gemm;
    NcTconvPack pack;
    int64_t a_tiles;             /* stage 1's other tiles: W^T blocks or dY copies (0: none) */
    int64_t off_b, off_a, off_c; /* scratch offsets: packed B, A (W^T or dY'), the GEMM's output (-1: none) */
    int64_t scratch;
    int64_t last_tiles; /* stage 3's (0: none) */
} NcTrainConvPlan;

/* Node nd's operands named as the forward conv's: x (the input; the output
 * of conv2d_grad_input), w (the weights; conv2d_grad_weight's output) and y
 * (the output; both gradients' first input, dY), and *kind which of the
 * three nd is.  Returns 0 with *why where nd is none of them.  Shared by
 * this kernel's plan and cg_nchw_train_gconv.c's. */
int nc_cg_train_conv_operands(const NcGraph *g, const NcNode *nd, NcTrainConvKind *kind, const NcValue **x,
                              const NcValue **w, const NcValue **y, const char **why);

/* Can node nd (conv2d, conv2d_grad_input or conv2d_grad_weight on NCHW
 * values) run this way?  Fills the plan, or returns 0 with *why. */
int nc_cg_train_conv_plan(NcTrainConvPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                          const char **why);

/* Emits `<prefix>_pack`, `<prefix>_gemm` (and `<prefix>_post`) into k; fused: `<prefix>_flip` (with flip)
 * and `<prefix>_fused`. */
void nc_cg_train_conv_emit(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k);

/* Panel of B (wq columns from column c0, cg_gemm.h's layout: panel[(k - kbase) wq + j]), rows [k0, k1), from
 * src. */
void nc_cg_train_pack_panel(NcCgModule *m, const NcTrainConvPlan *p, LLVMValueRef src, LLVMValueRef panel,
                            LLVMValueRef c0, int64_t wq, LLVMValueRef k0, LLVMValueRef k1, LLVMValueRef kbase);

/* the planning after the fields (shapes, window, kind) are set */
int nc_cg_train_conv_plan_rest(NcTrainConvPlan *p, const NcCgTarget *t, int pad, const char **why);

/* cg_nchw_train_fused.c: whether conv2d_grad_input p (the node's fields) runs phased (then p is planned) */
int nc_cg_train_phases(NcTrainConvPlan *p, const NcCgTarget *t);
/* phase (a, b) of p as a fused conv2d q of dY; 0 with q->P = 0 where the phase has no positions, q->CK = 0
 * where it has no taps (its positions are zeros); -1 where it cannot be planned */
int nc_cg_train_phase_plan(const NcTrainConvPlan *p, int a, int b, const NcCgTarget *t, NcTrainConvPlan *q);

/* cg_nchw_train_fused.c: images per fused tile for a conv2d of these sizes (O: a group's output channels; 0: not
 * fused), and where not even one image fits, the positions per tile within an image (0: none) */
int64_t nc_cg_train_fused_images(int64_t N, int64_t G, int64_t P, int64_t CK, int64_t O);
int64_t nc_cg_train_fused_part(int64_t P, int64_t CK, int64_t O, int vw);
/* conv2d of these sizes fused (1): *ipt images or *cw positions a tile (the other 0), the reduction in *nblk
 * blocks (1: whole) where not even a part of an image fits the whole of it; 0: unfused */
int nc_cg_train_fused_fwd(int64_t N, int64_t G, int64_t P, int64_t CK, int64_t O, int vw, int64_t *ipt, int64_t *cw,
                          int64_t *nblk);
/* conv2d_grad_weight p (shapes set): sets p->ipt or p->cw, p->ckb and p->nblk where it runs fused (1), else 0 */
int nc_cg_train_fused_gw(NcTrainConvPlan *p, int vw);
/* plans p->gemm and p->gemm_tail for p->ipt, and the scratch (0 on success) */
int nc_cg_train_fused_gemm(NcTrainConvPlan *p, const NcCgTarget *t);
void nc_cg_train_fused_emit(NcCgModule *m, const NcTrainConvPlan *p, const char *prefix, NcCgKernel *k);

#endif
