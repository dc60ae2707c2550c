/* cu_conv.h — convolutions on NCHW tensors, described once for both
 * lowerings (cu_kernel.h):
 *  - im2col (the B operand of a GEMM-shaped conv: the device layer's GEMM
 *    multiplies it) and col2im (the input gradient's scatter back from the
 *    GEMM's dcol, as a gather: no atomics, the same sum in any order of
 *    blocks);
 *  - a direct conv (any groups: depthwise, narrow groups) with a fused
 *    epilogue, and its input and weight gradients.
 * Each fills an NcCuDesc whose ctx points at the caller's struct, which must
 * outlive the build.  Window geometry: NcCuWin (cu_index.h), filled from a
 * node by nc_cu_win(). */
#ifndef NETC_CU_CONV_H
#define NETC_CU_CONV_H

#include "codegen/cuda/cu_index.h"
#include "codegen/cuda/cu_kernels.h"

/* Where element (n, kk, p) of the column matrix lives: kk = (c' kh + i) kw +
 * j is the row of the weight's [O, C/G * kh * kw] view (c' counted from c0),
 * p = oh OW + ow; K = cn kh kw rows, P = OH OW columns. */
typedef enum NcCuColLayout {
    NC_CU_COL_NKP, /* [N][K][P]: per image the B of W [O, K] . col_n = y_n [O, P] */
    NC_CU_COL_NPK, /* [N P][K]: the B of dy' [O, N P] . col = dW [O, K] (dy' is dy relaid [O, N, P]) */
    NC_CU_COL_KNP, /* [K][N P]: the B of W [O, K] . col = y' [O, N P], one GEMM for the batch */
} NcCuColLayout;

typedef struct NcCuIm2col {
    NcCuWin g;
    int64_t c0, cn; /* input channels [c0, c0 + cn): one group's (cn 0: all g.c) */
    NcCuColLayout layout;
} NcCuIm2col;

/* params: 0 = x [N, C, H, W], 1 = col (layout above; padding taps are 0).
 * One thread per column element, in the column's memory order (coalesced
 * stores; the loads are strided by the conv's stride). */
void nc_cu_im2col_desc(NcCuDesc *d, const char *name, const NcCuIm2col *k);
/* params: 0 = col (dcol, layout above), 1 = dx [N, C, H, W]: for channels
 * [c0, c0 + cn) only, dx[n, c, h, w] = the sum of the column elements that
 * im2col would have read from there (the conv's input gradient once dcol =
 * W^T dy).  One thread per dx element, gathering over the kh kw taps. */
void nc_cu_col2im_desc(NcCuDesc *d, const char *name, const NcCuIm2col *k);

/* A direct convolution: y [N, O, OH, OW] = conv(x, w [O, C/G, KH, KW]), then
 * the epilogue steps (cu_kernels.h; NC_CU_EW_BIAS for a bias, SCALE_SHIFT
 * for a folded batch norm, an activation, a residual ADD, a CHANNEL_MUL).
 * For depthwise (groups = C) and narrow groups, where a GEMM per group is
 * too thin. */
typedef struct NcCuConv {
    NcCuWin g;
    int64_t o, groups;
    int nsteps, nparams; /* nparams: 3 + the epilogue operands */
    NcCuEwStep step[NC_CU_EW_MAXSTEPS];
} NcCuConv;

/* params: 0 = x, 1 = y, 2 = w, then the epilogue's operands.  One thread per
 * output element (consecutive threads: consecutive ow, so loads and stores
 * are coalesced at stride 1); the taps unrolled, input channels of the group
 * a loop. */
void nc_cu_conv_desc(NcCuDesc *d, const char *name, const NcCuConv *k);
/* The same for a depthwise conv (groups = C; O a multiple of C), tiled: a
 * block computes a tile of one output plane, after loading the input rows
 * and columns the tile reads (padding as zeros) into shared memory with
 * coalesced loads — each input element read from global memory about once
 * instead of kh kw times.  Same params. */
void nc_cu_dwconv_tiled_desc(NcCuDesc *d, const char *name, const NcCuConv *k);
/* params: 0 = dy [N, O, OH, OW], 1 = dx [N, C, H, W], 2 = w.  One thread per
 * dx element gathering over the group's outputs and the taps that read it
 * (the epilogue's steps are not part of this: dy is the conv's own). */
void nc_cu_conv_grad_input_desc(NcCuDesc *d, const char *name, const NcCuConv *k);
/* params: 0 = dy [N, O, OH, OW], 1 = dw [O, C/G, KH, KW], 2 = x.  One block
 * per (o, c') holding the kh kw taps' sums: each thread a strided share of
 * the N OH OW outputs, then a tree per tap in shared memory. */
void nc_cu_conv_grad_weight_desc(NcCuDesc *d, const char *name, const NcCuConv *k);

/* The weight gradient split over chunks of the N OH OW outputs, for layers
 * where a block per (o, c') leaves a GPU idle (a depthwise conv of 32
 * channels at 112 x 112 and batch 128: 32 blocks of 1.6 M outputs each):
 * a block per (o, c', chunk) writes its taps' partial sums, then a thread per
 * weight sums its chunks.  Two launches through a scratch buffer of
 * nc_cu_wgrad_split_scratch floats. */
typedef struct NcCuWgradSplit {
    NcCuConv conv;
    int64_t chunk; /* outputs per block, 0: 4096 */
} NcCuWgradSplit;
int64_t nc_cu_wgrad_split_chunks(const NcCuWgradSplit *k);
int64_t nc_cu_wgrad_split_scratch(const NcCuWgradSplit *k);
/* params: 0 = dy, 1 = part [O C/G, chunks, kh kw], 2 = x */
void nc_cu_wgrad_split_partials_desc(NcCuDesc *d, const char *name, const NcCuWgradSplit *k);
/* params: 0 = part, 1 = dw [O, C/G, KH, KW] */
void nc_cu_wgrad_split_finalize_desc(NcCuDesc *d, const char *name, const NcCuWgradSplit *k);

#endif
