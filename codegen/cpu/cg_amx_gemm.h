/* cg_amx_gemm.h — convolutions and linear layers as bf16 GEMMs on AMX tiles
 * (TDPBF16PS) or AVX512-BF16 (vdpbf16ps): `netc compile --precision bf16`
 * on a target that has either (cg_amx.h).  f32 accumulation, f32 epilogue.
 * Its input, output and residual operand are f32 or bf16 activations as
 * their values' dtype says (assign_dtype stores a tensor bf16 where its
 * producer and all its readers are these kernels): a bf16 input is copied
 * into the columns as it lies, a bf16 output rounded once after the f32
 * epilogue (bias, activation, residual add in f32).
 *
 * Every undilated conv on NHWC activations (1x1, strided, 3x3 stride 1, a
 * stem; grouped with at least 8 channels a group: one GEMM per group, as
 * ResNeSt's radix-2 and RegNet's 24-channel groups) and every linear layer
 * is y (M x N) = A (M x K) . W^T, M = images x output pixels, K = KH x KW x
 * C, N = output channels, in two stages (runtime/kernels.h's staged kernel):
 *
 *   1. columns: one tile per (image, output row), its OW rows of A written
 *      as bf16 into the scratch — the im2col of cg_nhwc_im2col.h (for a 1x1
 *      stride-1 conv, the input itself), each value times its SE scale
 *      where the conv has one, rounded to nearest even (vcvtneps2bf16), every
 *      row Kp = K rounded up to 32 long, zeros after K;
 *   2. the GEMM over tiles of rows x 32-column panels: per micro-block of
 *      mr rows x 32 columns, f32 accumulators over all of K, then the
 *      conv's bias, activations, residual / per-channel operands applied in
 *      f32 and stored.
 *
 * or, fused, in one stage where all the weights stay in L2 (Np x Kp x 2 ≤
 * 512 KB: resnet50's convs up to layer 2, its 1x1s to layer 3) and there are
 * rows enough for 8 micro-blocks: each tile (rows x all columns) makes each
 * micro-block's mr rows of A on its stack (≤ 160 KB) and runs every column
 * panel against them — the columns never go through memory (a 3x3 conv's
 * are 9x its input, in bf16 4.5x).  With larger weights the two stages
 * win: A is made once and each weight panel stays in L1 / L2 while the
 * tile's rows stream past it.
 *
 * The weights are packed at compile time (nc_cg_bf16_pack; the parameter's
 * dtype NC_BF16, nbytes set) as tiles of bf16 pairs, the layout TDPBF16PS
 * reads for its B operand (and vdpbf16ps for its second): column panel q (32
 * columns), reduction step s (32 values of k), half t (16 columns), pair row
 * r (k = 32 s + 2 r + e), column j:
 *
 *   blob[((q * S + s) * 2 + t) * 512 + r * 32 + j * 2 + e] = bf16(W[32 q + 16 t + j][32 s + 2 r + e])
 *
 * (0 past N or K; groups one after another, each Np x Kp), so that a panel streams contiguously through K and each
 * tile load is 1 KB at a 64-byte stride.
 *
 * AMX micro-block: 32 x 32, the eight tiles as two A tiles (16 rows x 32
 * bf16), two B tiles (16 pairs x 16 columns) and four 16 x 16 f32
 * accumulators, four TDPBF16PS per 32 values of k; the accumulators are
 * stored to a 4 KB buffer on the stack for the epilogue.  AVX512-BF16:
 * 12 x 32, 24 zmm accumulators, per pair of k two B vectors and 12 broadcast
 * pairs of A.  Rows past M (the last micro-block) are computed on whatever
 * the scratch holds there and not stored; columns past N are zero weights. */
#ifndef NETC_CG_AMX_GEMM_H
#define NETC_CG_AMX_GEMM_H

#include <stdint.h>

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"

enum { NC_BF16_NONE = 0, NC_BF16_AVX512 = 1, NC_BF16_AMX = 2 };

typedef struct NcBf16Plan {
    NcGemmSpec s; /* batch, cin = K, cout = N, hw = OH * OW, bias, relu, epilogue; in_scale: the SE scale's input */
    int kind;     /* NC_BF16_AMX or NC_BF16_AVX512 */
    int64_t C, H, W, OH, OW, KH, KW; /* the columns: a linear layer is a 1x1 conv on 1x1 images */
    int64_t G, Cg, O;                /* groups (one GEMM each), input channels per group, all output channels */
    int sh, sw, pt, pl;
    int64_t M, N, K, Kp, Np, Mp; /* a group's GEMM (N = O / G, K = KH x KW x Cg); Kp, Np: K, N rounded up to
                                    32; Mp: M to whole micro-blocks */
    int mr;                      /* rows per micro-block: 32 (AMX) or 12 (AVX512-BF16) */
    int64_t mc, nc;              /* rows and columns of a GEMM tile (multiples of mr and 32) */
    int64_t mblocks, nblocks, tiles;
    int fused;      /* one stage: each tile makes its rows of A on the stack (see nc_cg_bf16_plan) */
    int prefer_f32; /* the kernel works, but the f32 kernels do better: a 3x3 stride-1 conv without AMX
                       (vdpbf16ps does twice an FMA's multiply-adds, Winograd F(4x4, 3x3) a quarter of
                       im2col's; resnet50 ran 0.82x f32 with them); nc_cg_pack_weights leaves these f32 */
    /* the input / output activation stored as bf16 (NcValue.dtype, passes/assign_dtype.c): read as it lies,
     * no rounding; written rounded once, after the f32 epilogue; an epilogue operand (a residual) stored as
     * bf16, widened as it is read */
    int x_bf16, y_bf16, epi_bf16[NC_MAX_EPI];
    /* AMX direct (no columns; cg_amx_gemm.c's "Direct" says how): 1, a 1x1 stride-1 conv whose bf16 input
     * is A itself (one group, no SE scale, C a multiple of 32); 2, a KxK (or strided) conv on a zero-padded
     * bf16 copy of its input (the pad stage; stride s: s x s phase planes), A's tiles for tap (kh, kw) 16
     * consecutive pixels of it; 0, the columns.  nc_cg_bf16_plan takes 2 for stride 1 alone (strided ones
     * measured slower).  NETC_CG_AMX_DIRECT=0 at compile time keeps every conv on the columns (A/B). */
    int direct;
    int64_t Hp, Wp;     /* direct 2: a phase plane of the padded input, OH + (KH - 1) / sh x OW + (KW - 1) / sw */
    int64_t ph, pw;     /* direct 2: phase planes a image, ph x pw (min(stride, kernel) each way; stride 1: one) */
    int64_t Cgs, Cs;    /* a group's channels in the plane (direct 2: Cg rounded up to 32, zeros after), a pixel's */
    int64_t mbi;        /* direct 2: micro-blocks a image, over its OH x Wp rows of the padded grid */
    int64_t a_bytes;    /* unfused: the bf16 columns in the scratch, G x Mp x Kp x 2; direct 2: the planes */
    int64_t blob_bytes; /* the packed weights: G x Np x Kp x 2 */
} NcBf16Plan;

/* What the target offers: NC_BF16_AMX (AMX-BF16, AVX-512 vectors),
 * NC_BF16_AVX512 (AVX512-BF16), or NC_BF16_NONE. */
int nc_cg_bf16_target(const NcCgTarget *t);

/* Can node nd (a conv on NHWC activations, undilated, 8 or more channels a group, or a linear
 * layer) run this way on target t with instructions `kind` (0: the best the
 * target has)?  Fills the plan, or returns 0 with *why set. */
int nc_cg_bf16_plan(NcBf16Plan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int kind, const char **why);

/* Chooses the unfused (0) or fused (1) form and replans the tiles; nc_cg_bf16_plan chose by
 * nc_cg_bf16_fuse_pays.  (Tests run both.) */
void nc_cg_bf16_set_fused(NcBf16Plan *p, int fused);

/* Chooses the direct form where the conv has one (returns 0 and leaves the plan as it was where it has
 * none), or the columns (direct 0); fused: each tile's micro-blocks one by one against every column panel
 * (A from L1, the weights from L2), else panel by panel against the tile's micro-blocks.  nc_cg_bf16_plan
 * chose fused where the weights fit in L2, as for the columns.
 * The weights' packing follows (direct 2 pads each tap's channels to 32), so pack after choosing. */
int nc_cg_bf16_set_direct(NcBf16Plan *p, int direct, int fused);

/* Packs w ([O, C, KH, KW] or [O, K], f32) into blob[0 .. p->blob_bytes / 2). */
void nc_cg_bf16_pack(const NcBf16Plan *p, const float *w, uint16_t *blob);

/* Emits the stages `<prefix>_cols` (direct 2: `<prefix>_pad`; fused and direct 1: none) and `<prefix>_mm`
 * into k (isa, precision set). */
void nc_cg_bf16_emit(NcCgModule *m, const NcBf16Plan *p, const char *prefix, NcCgKernel *k);

#endif
