/* cg_gemm_i8.h — the int8 GEMM: u8 activations x s8 weights, i32
 * accumulation, f32 epilogue (netc compile --precision int8).
 *
 * Two stages over the GEMM of cg_gemm.h's spec (M = batch * hw rows, K = cin,
 * N = cout; the weights an int8 blob, cg_precision.h):
 *
 *   quantise  f32 rows of A (the NHWC input, or im2col's columns) to u8 rows of
 *             K4 bytes in scratch, with the blob's activation scale and zero
 *             point (an SE input scale applied first, per image);
 *   gemm      per register block of mr rows x nv vectors of 8 columns, per group
 *             of 4 reduction steps: the 4 bytes of each row broadcast, times the
 *             packed weights by vpmaddubsw (u8 x s8 pairs into i16: no
 *             saturation with 7-bit weights) and vpmaddwd against ones (pairs of
 *             those into i32), added to the i32 accumulators; then per column
 *             acc * colscale + colcorr, and the f32 epilogue of the f32 GEMM
 *             (bias, ReLU, activations, residual and per-channel operands).
 *
 * The instructions are chosen by the target's features (NcI8Isa): AVX512-VNNI
 * (with AVX512BW): zmm vectors of 16 lanes — one vector is one weight panel —
 * and vpdpbusd, which multiplies and adds 4 u8 x s8 pairs into i32 in one
 * instruction (64 multiply-adds); AVX-VNNI: the same vpdpbusd on ymm; AVX2:
 * ymm vpmaddubsw + vpmaddwd; AMX-INT8 (with AVX512-VNNI): tdpbusd on tiles —
 * blocks of 32 rows x 32 columns in four 16 x 16 i32 accumulator tiles, 64
 * bytes of the reduction per step (the blob's reduction padded to 64 where
 * it is longer: a B tile is then 16 consecutive groups of a panel, 1024
 * contiguous bytes; a reduction of 64 or less is one step of tiles that wide),
 * stored to the stack for the zmm epilogue.  Without AVX2 the same arithmetic is plain IR
 * (widen, multiply, add pairs).  All compute the same integers (the 7-bit
 * weights keep vpmaddubsw's i16 from saturating, so its sums are vpdpbusd's):
 * the tests run every path the host has and compare them bit for bit. */
#ifndef NETC_CG_GEMM_I8_H
#define NETC_CG_GEMM_I8_H

#include "codegen/cpu/cg_gemm.h"
#include "codegen/cpu/cg_kernel.h"
#include "codegen/cpu/cg_precision.h"

/* The int8 GEMM's instructions (nc_cg_gemm_i8_plan's isa; NC_I8_AUTO: the best the target has). */
typedef enum NcI8Isa {
    NC_I8_AUTO = 0,
    NC_I8_PLAIN = 1,   /* plain IR: any target */
    NC_I8_AVX2 = 2,    /* ymm vpmaddubsw + vpmaddwd */
    NC_I8_AVXVNNI = 3, /* ymm vpdpbusd (AVX-VNNI, or AVX512-VNNI with VL) */
    NC_I8_VNNI512 = 4, /* zmm vpdpbusd (AVX512-VNNI + AVX512BW) */
    NC_I8_AMX = 5,     /* AMX-INT8 tdpbusd tiles (32 x 32 blocks), the epilogue on zmm */
} NcI8Isa;

typedef struct NcGemmI8Plan {
    NcGemmSpec s;
    NcI8Layout l;
    NcI8Isa isa;      /* never NC_I8_AUTO */
    int vl;           /* i32 lanes of a vector: 8 (ymm) or 16 (zmm) */
    int mr, nv;       /* register block: mr rows x nv vectors of vl columns */
    int spp;          /* weight panels (NC_I8_NR columns) a register block spans: nv * vl / NC_I8_NR, at least 1 */
    int64_t M, N, K4; /* rows, columns, reduction in bytes per row of A (a group's, when grouped) */
    int64_t G, Pg;    /* groups (one GEMM each, G x mblocks x nblocks tiles), weight panels a group */
    int64_t ldy;      /* floats between rows of y and of the epilogue operands: G x N */
    int64_t a_group;  /* bytes between groups' rows of A: M (AMX: rounded up to 32) x K4 */
    int64_t mc, pc;   /* rows and weight panels per tile */
    int64_t mblocks, nblocks, tiles;
    int64_t qrows, qtiles; /* the quantise stage: qrows rows a tile */
    int64_t a_bytes;       /* the u8 rows: G x a_group (fused: none) */
    int fused;             /* the GEMM stage makes A's rows itself (nc_cg_gemm_i8_set_fused) */
    /* activations stored bf16 (NcValue.dtype, passes/assign_dtype.c; nc_cg_gemm_i8_set_dtypes): the input
     * the quantise stages read from in[0], y, the whole-tensor epilogue operands.  Widened to f32 as read
     * (exact), y rounded once after the f32 epilogue. */
    int x_bf16, y_bf16, epi_bf16[NC_MAX_EPI];
} NcGemmI8Plan;

/* s: as for nc_cg_gemm_plan (no b_per_image, col_image or blocking); isa: NC_I8_AUTO, or one the target
 * has (an error otherwise). */
int nc_cg_gemm_i8_plan(NcGemmI8Plan *p, const NcGemmSpec *s, const NcCgTarget *t, NcI8Isa isa, NcError *e);
/* A grouped conv's GEMMs (ResNeSt's radix-2 and RegNet's 24-channel 3x3 convs): s is one group's (cin = its
 * reduction, cout = its N columns), G of them in one kernel.  Group g reads its rows of A at g x a_group bytes,
 * its weights (the blob packed by nc_i8_pack_groups: G x Pg panels) from panel g x Pg, and writes columns
 * [g N, (g + 1) N) of y, whose rows are G x N floats apart; bias and epilogue operands are y's columns. */
int nc_cg_gemm_i8_plan_groups(NcGemmI8Plan *p, const NcGemmSpec *s, int64_t G, const NcCgTarget *t, NcI8Isa isa,
                              NcError *e);
/* Fused: a KxK conv's columns made by the GEMM stage, a row panel (mr rows) at a time on its stack, and every
 * column panel of the tile run against it (tiles: G x row blocks, all columns) — the columns never go through
 * memory (a 3x3's are 9x its quantised input).  It pays where a group's weights stay in L2 and there are rows
 * enough (nc_cg_gemm_i8_fuse_pays: AMX, or AVX512-VNNI with K4 over 64; Pg x 16 x K4 <= 512 KB, mr x K4 <=
 * 160 KB, M >= 8 mr; NETC_CG_I8_FUSED=0/1 forces it off / on where the sizes allow); where the
 * weights are larger, streaming them once per row panel costs more than the columns' round trip. */
int nc_cg_gemm_i8_fuse_pays(const NcGemmI8Plan *p);
/* Replans the tiles for the fused (1) or the two-stage (0) form; tests run both. */
void nc_cg_gemm_i8_set_fused(NcGemmI8Plan *p, int fused);
/* What makes A's rows for the fused GEMM stage: rows [row0, row0 + nrows) of group grp, K4 bytes each (zeros
 * past K), at dst; rows at or past M need not be written (their results are not stored).  in, out: the tile
 * function's. */
typedef struct NcI8RowMaker {
    void (*make)(NcCgModule *m, const void *ctx, LLVMValueRef in, LLVMValueRef out, LLVMValueRef grp, LLVMValueRef row0,
                 int64_t nrows, LLVMValueRef dst);
    const void *ctx;
} NcI8RowMaker;
/* Sets p's activation dtypes from conv node nd's values (its input, output and epilogue operands). */
void nc_cg_gemm_i8_set_dtypes(NcGemmI8Plan *p, const NcGraph *g, const NcNode *nd);
/* The best int8 instructions target t has. */
NcI8Isa nc_cg_i8_best_isa(const NcCgTarget *t);
/* What NC_I8_AUTO plans: the best, or an older one the environment's NETC_CG_INT8 names (avx2, avxvnni,
 * plain: to compare them on one host). */
NcI8Isa nc_cg_i8_isa(const NcCgTarget *t);
/* Whether t's feature string has +name exactly (not +namexyz). */
int nc_cg_has_feature(const NcCgTarget *t, const char *name);
/* The reduction's padding the int8 blob of a K-long reduction needs for nc_cg_i8_isa(t) (or isa): 64 for AMX
 * tiles where K > 64, else 4 (nc_i8_layout_k's kalign). */
int64_t nc_cg_i8_kalign(const NcCgTarget *t, int64_t K);
int64_t nc_cg_i8_kalign_for(NcI8Isa isa, int64_t K);
/* For profiles (NcCgKernel.isa) and NETC_CG_INT8: "avx512vnni", "avxvnni", "avx2", or NULL for plain IR. */
const char *nc_cg_i8_isa_name(NcI8Isa isa);

/* The quantise stage `name`: rows of A from in[0] (scaled by in[s.in_scale] when set) or, with from_scratch,
 * from out[1] (f32, at float 0), to out[1] at byte a_off; in[1] is the blob. */
void nc_cg_gemm_i8_emit_quant(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int from_scratch, int64_t a_off);
/* The quantise stage of an im2col (cg_nhwc_im2col.h): the NHWC input in[0], npix pixels of C floats (times
 * in[scale_input] per image and channel when set, hw pixels an image), to C bytes each at byte off of out[1],
 * with the blob's (in[1]) activation quantisation — once per input value, before the columns copy bytes;
 * over ceil(npix / nc_cg_gemm_i8_quant_x_rows(C)) tiles.  G groups: group g's C / G channels of every pixel
 * to plane g (npix x C / G bytes, the planes one after another), so that a group's pixels are contiguous and
 * a window row's taps one copy. */
void nc_cg_gemm_i8_emit_quant_x(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int64_t npix, int64_t C,
                                int64_t G, int64_t hw, int scale_input, int64_t off);
int64_t nc_cg_gemm_i8_quant_x_rows(int64_t C);
/* The GEMM stage `name`: A at byte a_off of out[1], the blob in[1], bias in[2], epilogue operands as the
 * node's, y out[0]. */
void nc_cg_gemm_i8_emit_gemm(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int64_t a_off);

/* The fused GEMM stage `name` (p->fused): A's rows from rm, the rest as nc_cg_gemm_i8_emit_gemm. */
void nc_cg_gemm_i8_emit_gemm_fused(NcCgModule *m, const NcGemmI8Plan *p, const char *name, const NcI8RowMaker *rm);

/* The whole kernel of a 1x1 conv or linear node: quantise + gemm (scratch: the u8 rows); fused
 * (nc_cg_gemm_i8_set_fused), the GEMM stage alone, quantising each row panel of x on its stack. */
void nc_cg_gemm_i8_emit(NcCgModule *m, const NcGemmI8Plan *p, const char *prefix, NcCgKernel *k);

#endif
