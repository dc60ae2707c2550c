/* cg_gemm.h — GEMM / 1x1-convolution kernels specialised to static sizes.
 *
 * A 1x1, stride-1, unpadded convolution of `batch` images on NHWC
 * activations is one matrix product, y (batch*hw x cout) = x (batch*hw x
 * cin) . W^T.  The weights are the constant operand: they are packed once
 * (nc_cg_gemm_pack, at compile or load time) into panels the microkernel
 * streams contiguously, and the activations are read where they lie.
 *
 * The kernel is a tile function (cg_build.h) with in[0] = x, in[1] = the
 * packed weights, in[2] = bias (when spec.bias), out[0] = y, over
 * plan.tiles tiles; bias and ReLU are applied in registers before the
 * store.
 *
 * Why NHWC only, measured (bench/gemm_bench.c, numbers in bench/RESULTS.md;
 * Zen 3, AVX2, one thread, resnet50's eight 1x1 shapes at 224): NHWC ran at
 * 67-76% of the FMA peak, the NCHW variant (vectors along the plane) at
 * 49-75%, 25-30% behind at 7x7, where a plane of 49 pixels fills 49 of 64
 * lanes.  NHWC keeps the vectors along output channels at any resolution,
 * and batch > 1 simply lengthens M; the layout pass chose it for every model,
 * and the NCHW variant was retired. */
#ifndef NETC_CG_GEMM_H
#define NETC_CG_GEMM_H

#include "codegen/cpu/cg_build.h"
#include "ir/ir.h"

typedef struct NcGemmSpec {
    int64_t batch, cin, cout, hw;
    int bias, relu;
    /* More epilogue after bias and relu (a conv or linear node's fused steps):
     * activations, and + / * of in[epi[i].input] — the output's shape, or
     * with epi_per_channel[i] one value per (image, output channel) ([N, C, 1, 1]). */
    int nepi;
    NcEpilogue epi[NC_MAX_EPI];
    int epi_per_channel[NC_MAX_EPI];
    /* When > 0, in[in_scale] is [batch, cin] and input channel k of image n
     * is read as x[n][k] * in[in_scale][n * cin + k] (an SE gate folded into
     * the conv's input), applied as B's row k (the weights') is loaded —
     * which then runs one GEMM per image (the
     * rows of a register block must share their image's scale).  A first
     * stage writing per-image scaled copies of the weights ran no faster
     * (RegNetY-016 batch 8, the 1x1 convs after SE; bench/RESULTS.md) and
     * needed batch copies of scratch. */
    int in_scale;
    /* Every image has its own weights (packed_floats grows to batch x
     * cout x cin, each image's packed as nc_cg_gemm_pack packs one) and its
     * own M = hw rows, C and A image after image — the NHWC Winograd's
     * positions x groups products, cg_nhwc_wino.h.  0: the behaviour above. */
    int b_per_image;
    /* When > 0 (one image, no bias, input scale or epilogue): C's columns
     * are images side by side, col_image each, and every image's C is its
     * own M x col_image plane — column j of row i at C[(j / col_image) * M *
     * col_image + i * col_image + j % col_image], an NCHW output whose
     * positions of all images are the columns (cg_nchw_train.h).  A multiple
     * of the panel width nr, so that no register block straddles two images. */
    int64_t col_image;
    /* The packed weights' type: NC_F32, or NC_BF16 (nc_cg_gemm_pack's layout, each float rounded to bf16:
     * half the bytes streamed; widened to f32 as the microkernel loads them, accumulation in f32). */
    int wtype;
    /* Blocking, 0 = the target's default.  Register block: mr rows of
     * broadcast operand x nv vectors of the other (mr * nv accumulators).
     * Cache blocks: kc of the reduction per pass, mc rows and nc columns of
     * the output per tile. */
    int mr, nv;
    int64_t kc, mc, nc;
    /* Software prefetch of the next row panel's A (its mr rows, a line a
     * k): 0 = the target's default (on with AVX-512's blocks, off with
     * AVX2's), 1 on, -1 off. */
    int pf;
    /* Software prefetch of B ahead: the first row panel of each pass asks, per k, for B's row k + kc of
     * its column panel — the next pass's micro-panel, or after the last pass the next column panel's
     * first — so that weights streamed from L3 or memory (few rows: 7x7 and 14x14 planes at batch 1)
     * arrive while the other row panels compute: 0 = the target's default (on with AVX-512's blocks,
     * off with AVX2's), 1 on, -1 off. */
    int pf_b;
    /* Pack A: each reduction pass first copies the tile's rows of A (mc x kc) into a contiguous stack
     * block (row i at i * kc, the SE input scale applied as it copies), which the column panels then
     * read instead of the strided activation rows: 0 = the plan's choice (cg_gemm.c), 1 on, -1 off. */
    int pack_a;
    /* C += A . B: C's old values are where the sums start (a reduction split over calls summing into one C:
     * the training step's fused weight gradient, cg_nchw_train_fused.c); the epilogue still follows. */
    int accumulate;
    /* A's rows lie lda floats apart (0: K, packed tight): a block of A's columns read where it lies (the training
     * step's fused convs, one block of the reduction at a time).  Not with per-image operands. */
    int64_t lda;
} NcGemmSpec;

typedef struct NcGemmPlan {
    NcGemmSpec s;    /* with every blocking field filled in */
    int vw, nr;      /* floats per vector; nr = nv * vw columns per register block */
    int64_t M, N, K; /* the GEMM: rows and columns of the output, reduction */
    int64_t images;  /* GEMMs side by side: batch with per-image weights or an input scale, else 1 */
    int64_t nkb;     /* reduction blocks: kc each, the last kc_last */
    int64_t kc_last;
    int64_t mblocks, nblocks;
    int64_t tiles;         /* images x mblocks x nblocks */
    int64_t packed_floats; /* size of nc_cg_gemm_pack's output */
} NcGemmPlan;

/* Checks the spec (sizes positive, blocks consistent, the register block
 * fitting the target's vector registers) and fills in the blocking, chosen
 * for the target's ISA (t->blocking: cg_gemm.c says how and why). */
int nc_cg_gemm_plan(NcGemmPlan *p, const NcGemmSpec *s, const NcCgTarget *t, NcError *e);

/* Packs W (cout x cin, row-major: a timm conv weight [cout, cin, 1, 1]) into
 * packed[0 .. plan.packed_floats), exactly cout x cin floats (so the packed
 * weights fit the parameter's own storage): panels of nr output channels,
 * packed[q * K * nr + k * wq + j] = W[q * nr + j][k]; wq: the panel's width —
 * nr, less for the ragged last panel, which
 * is packed compactly and read by its own microkernel. */
void nc_cg_gemm_pack(const NcGemmPlan *p, const float *w, float *packed);

/* Emits the tile function `name` into m. */
void nc_cg_gemm_emit(NcCgModule *m, const NcGemmPlan *p, const char *name);

#endif
