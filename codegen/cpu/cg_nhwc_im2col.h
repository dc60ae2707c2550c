/* cg_nhwc_im2col.h — strided convolutions of NHWC activations as im2col + the
 * NHWC GEMM.
 *
 * In NHWC a strided KxK conv (groups 1) is y (N*OH*OW x O) = cols (N*OH*OW x
 * K*K*C) . W'^T, where row (n, oh, ow) of cols is the concatenation, tap by
 * tap (kh, kw), of the input's channel vector under that tap — C contiguous
 * floats copied, or zeros in the padding — and W'[o] is the filter reordered
 * [O, KH, KW, C].  A 1x1 stride-2 conv (ResNet's downsample) is the case
 * K = 1: cols is the subsampled input; so is a 1x1 stride-1 conv whose
 * input carries an SE scale (RegNetY's conv3: the copy scales, one
 * unscaled GEMM serves every image).  Two stages (runtime/kernels.h's
 * staged kernel):
 *
 *   1. one tile per (image, output row): its OW rows of cols (scratch), the
 *      input scale (an SE gate) applied as the channels are copied
 *   2. the NHWC GEMM (cg_gemm.h) over all N*OH*OW rows at once, with the
 *      conv's bias and epilogue
 *
 * The filter is reordered and packed at compile time (nc_cg_pack_weights,
 * NC_LAYOUT_PACKED), in place: it has exactly O*C*K*K floats either way.
 *
 * Why: the NHWC direct kernel (cg_nhwc_conv.h) runs ResNet's wide strided
 * convs at a small share of the peak — broadcasts of x against the weight
 * vectors of one output-channel block at a time; the GEMM reaches most of
 * it, and the copy is C*K*K floats per output pixel against O times as many
 * multiply-adds (bench/RESULTS.md, session 5). */
#ifndef NETC_CG_NHWC_IM2COL_H
#define NETC_CG_NHWC_IM2COL_H

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"
#include "ir/ir.h"

typedef struct NcNhwcIm2colPlan {
    int64_t N, C, O, H, W, OH, OW, KH, KW;
    int64_t G, Cg; /* groups (int8 only: one GEMM each) and input channels a group */
    int sh, sw, pt, pl;
    NcGemmPlan gemm;     /* NHWC: batch N, cin KH*KW*C, cout O, hw OH*OW */
    int64_t cols_floats; /* scratch: N*OH*OW rows of KH*KW*C */
} NcNhwcIm2colPlan;

/* Can conv node nd (its input NHWC) run this way?  Strided (either axis),
 * groups 1, dilation 1, a reduction of 256 or more unless 1x1 (a stem's
 * 3 x 7 x 7 = 147 runs better direct), epilogue operands the output's shape
 * or one per (image, channel).  Fills the plan, or returns 0 with *why set. */
int nc_cg_nhwc_im2col_plan(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                           const char **why);

/* Reorders a [O, C, KH, KW] filter to [O, KH, KW, C] and packs it for the
 * plan's GEMM, into packed[0 .. O*C*KH*KW). */
void nc_cg_nhwc_im2col_pack(const NcNhwcIm2colPlan *p, const float *w, float *packed);
/* The reordering alone: r[o][(kh * KW + kw) * Cg + c] = w[o][c][kh][kw] (Cg = C but for int8's groups). */
void nc_cg_nhwc_im2col_reorder(const NcNhwcIm2colPlan *p, const float *w, float *r);

/* Emits the stages `<prefix>_cols` and `<prefix>_gemm` into k. */
void nc_cg_nhwc_im2col_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcIm2colPlan *p,
                            const char *prefix, NcCgKernel *k);

/* With int8 weights (cg_gemm_i8.h, plan q for the same GEMM): `<prefix>_cols`
 * (f32 columns into scratch), `<prefix>_quant` (to u8 rows after them) and
 * `<prefix>_i8mm`. */
/* As nc_cg_nhwc_im2col_plan, for --precision int8: where the int8 GEMM has VNNI, also the KxK stride-1 convs
 * (which f32 gives Winograd); and grouped KxK convs with 8 or more channels a group (ResNeSt's radix-2 3x3s,
 * RegNet's 24-channel groups) on the same terms as groups-1 ones — group g's columns (its Cg channels under
 * each tap) a block of their own in the scratch, one int8 GEMM per group in one kernel (cg_gemm_i8.h's
 * nc_cg_gemm_i8_plan_groups; gemm.s is a group's GEMM: cin Cg x KH x KW, cout O / G). */
int nc_cg_nhwc_im2col_plan_i8(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                              const char **why);
/* The same as if the int8 GEMM had VNNI (vnni 1) or not, whatever NETC_CG_INT8 says: for tests, which run the
 * kernels every host can (AVX2, plain IR) on the shapes VNNI hosts give them. */
int nc_cg_nhwc_im2col_plan_i8_as(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int vnni,
                                 const char **why);
struct NcGemmI8Plan;
void nc_cg_nhwc_im2col_emit_i8(NcCgModule *m, const NcNode *nd, const NcNhwcIm2colPlan *p, const struct NcGemmI8Plan *q,
                               const char *prefix, NcCgKernel *k);

#endif
