/* cg.h — CPU code generation through the LLVM C API (LLVM 19).
 *
 * One LLVM module per compiled bundle (cg_build.h's NcCgModule, for the
 * target of cg_target.h): a kernel for every node the generators cover, and
 * a table `netc_kernels` (runtime/kernels.h) with one entry per (program,
 * node) that the runtime consults before falling back to the op table's
 * reference kernel.  Generated kernels read and write NHWC activations (the
 * layout pass, cg_layout.h, stores them so wherever a kernel exists, with
 * relayout kernels at the regions' edges); what stays NCHW runs the
 * reference kernels.  cg_module.c's strategy table says which kernel each
 * node gets:
 *
 *   strided convs, groups 1                    im2col + packed GEMM (cg_nhwc_im2col.h)
 *   1x1 convs and linear layers                packed-weight GEMM (cg_gemm.h)
 *   3x3 stride-1 convs (where it pays)         Winograd F(4x4 or 2x2, 3x3) (cg_nhwc_wino.h)
 *   other convs: depthwise, grouped, dense     direct convolution (cg_nhwc_conv.h)
 *   SE gate, pools, global average pool,       cg_eltwise.h
 *   split, radix ops, add / mul
 *   relayouts                                  cg_relayout.h
 *
 * A training job's programs (opt.train) get other kernels: their NCHW
 * convolutions and convolution gradients, groups 1, as run-time packing +
 * the packed GEMM (cg_nchw_train.h); everything else runs the reference.
 *
 * The module is optimised (default<O3>) for the target CPU and written as an
 * object file. */
#ifndef NETC_CG_H
#define NETC_CG_H

#include "passes/pass.h"

/* The option modes; each zero is the default, so a zeroed NcCgOptions is the
 * cost model's choice everywhere, and "off" is negative. */
typedef enum NcWinogradMode {
    NC_WINOGRAD_AUTO = 0, /* F(4x4, 3x3) or F(2x2, 3x3) where it pays (cg_winograd.h) */
    NC_WINOGRAD_ON = 1,   /* F(4x4, 3x3) wherever legal */
    NC_WINOGRAD_F2 = 2,   /* F(2x2, 3x3) wherever legal */
    NC_WINOGRAD_OFF = -1,
} NcWinogradMode;
typedef enum NcCgSwitch { NC_CG_ON = 0, NC_CG_OFF = -1 } NcCgSwitch;
/* The GEMM-shaped kernels' weights (cg_precision.h): f32; bf16 (stored bf16, widened to f32 as loaded,
 * f32 activations and accumulation); int8 (u8 activations quantised per tensor with calibrated ranges,
 * s8 weights per output channel, i32 accumulation, f32 epilogue). */
typedef enum NcPrecision { NC_PREC_F32 = 0, NC_PREC_BF16 = 1, NC_PREC_INT8 = 2 } NcPrecision;

/* --precision int8: for each graph and node, the range [lo, hi] of the activation its GEMM reads (input 0,
 * times the input scale where the node has one) over the calibration images; NAN where not measured. */
typedef struct NcCalibration {
    int ngraphs;
    float **lo, **hi; /* [graph][node] */
} NcCalibration;

typedef struct NcCgOptions {
    const char *cpu;            /* LLVM CPU name; NULL = the host's */
    const char *features;       /* LLVM feature string; NULL = the host's (or the CPU's defaults with cpu set) */
    int verbose;                /* print what was generated */
    NcWinogradMode winograd;    /* 3x3 stride-1 convs by Winograd */
    NcCgSwitch im2col;          /* strided convs by im2col + GEMM (cg_nhwc_im2col.h) */
    NcLayoutMode layout;        /* which activations are NHWC (passes/pass.h, cg_layout.h); NCHW is refused:
                                the NCHW generated kernels were retired */
    int train;                  /* a training job's programs (NCHW, parameters that change every step): only the
                                NCHW training convolutions (cg_nchw_train.h) are generated, nothing is packed */
    NcPrecision precision;      /* the weights of GEMM-shaped kernels (1x1, im2col, linear) */
    const NcCalibration *calib; /* NC_PREC_INT8: the activation ranges (nodes without one stay f32) */
} NcCgOptions;

/* Writes the kernels of graphs[0..n) (with their memory plans) to an object
 * file.  Returns how many kernels it generated, or -1 with a message. */
int nc_cg_emit_object(const char *path, NcGraph *const *graphs, int n, const NcCgOptions *opt, NcError *e);

/* Before the bundle is written: repacks, in place, the weights of every 1x1
 * conv and linear node that will run as a packed-weight GEMM (cg_gemm.h),
 * and marks them NC_LAYOUT_PACKED — nc_cg_emit_object then must (and does)
 * give those nodes the GEMM kernel, and nothing else may read them as
 * [O, I, 1, 1]; likewise the filters of strided convs for im2col + GEMM.
 * (Winograd's and the direct kernels' filters are transformed as the
 * program loads: kernels.h's wprep.)  Same target options as nc_cg_emit_object.  Returns how many
 * parameters were packed, or -1 with a message. */
int nc_cg_pack_weights(NcGraph *const *graphs, int n, const NcCgOptions *opt, NcError *e);

/* The host CPU and its vector width in floats (for messages and tests). */
const char *nc_cg_host_cpu(void);

#endif
