/* kernels.h — the contract between generated kernels (codegen/cpu) and the
 * runtime that calls them (runtime/bundle.c).
 *
 * A generated program exports `netc_kernels`: one NcKernelEntry per node of
 * every program, programs in bundle order.  fn == NULL and tile == NULL mean
 * "use the op table's reference kernel".  A direct convolution has
 *
 *   fn(xpad, w, bias, extra, y, t0, t1)
 *
 * computing output tiles [t0, t1) of the N x (O / ocb) x rows tiles (one tile =
 * ocb output channels of a group of output rows), reading the input from
 * xpad: the node's input zero-padded to [N, C, H + pt + pb, W + pl + pr]
 * (scaled per channel first when the node is input-scaled), followed by at
 * least NC_KERNEL_SLACK floats of readable memory.  bias may be NULL;
 * extra[k] are the epilogue operands in node order.  With NC_KERNEL_POLYPHASE
 * in flags (stride-2 kernels), every padded row of Wp floats is stored as its
 * even columns then its odd columns, Wh = ceil(Wp / 2) floats each: xpad is
 * [N, C, Hp, 2, Wh].  When prep is set, the runtime gets xpad by running it
 * (one tile per (n, c) plane, in[] the node's inputs, out[0] a scratch buffer
 * of N x C x Hp x (2 Wh or Wp) floats + the slack); otherwise it pads and
 * scales itself, or — a node needing neither — passes the input itself,
 * which is why arenas carry the slack too.
 *
 * Other nodes have a tile function instead (tile != NULL, fn == NULL):
 *
 *   tile(in, out, t0, t1)
 *
 * computes tiles [t0, t1) of `tiles`, with in[j] / out[j] the node's inputs
 * and outputs in node order — except that for a conv2d, in[0] is its input
 * scaled (unless NC_KERNEL_SCALES_INPUT) and, for a strided (1x1) one,
 * subsampled to the output's [N, C, OH, OW] (x[:, :, ::s, ::s]).  A conv2d or
 * linear with a tile function reads its weights packed (codegen/cpu/cg_gemm.h),
 * not in the parameter's logical [O, I, ...] order.
 *
 * A staged kernel (stage[0] != NULL; Winograd convolutions,
 * codegen/cpu/cg_winograd.h) runs stage[0], stage[1], stage[2] (those set)
 * in order, each over its stage_tiles[s] tiles, every thread finishing one
 * stage before any starts the next:
 *
 *   stage[s](in, out, t0, t1)
 *
 * with in[] the node's inputs as they are (unscaled: the kernel applies a
 * conv's input scale itself), out[0] the output and out[1] a scratch buffer
 * of `scratch` floats that the stages pass their intermediates through.
 *
 * With wprep set, the node's weights (in[1]) are transformed once, when the
 * bundle opens: wprep(in, out, t0, t1) over wprep_tiles tiles, with in[1]
 * the weights as stored and out[0] a buffer of wfloats floats, which from
 * then on is passed as in[1] instead (Winograd's transformed filters: 4x the
 * 3x3 filter, so it is not stored that way in the file).  Nodes reading the
 * same stored weights share one buffer.
 * kind names the strategy for profiles (NULL: none given).
 */
#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

#include <stdint.h>

#define NC_KERNEL_SLACK 256 /* floats a kernel may read past its input */

typedef void (*NcConvKernelFn)(const float *xpad, const float *w, const float *bias, const float *const *extra,
                               float *y, int64_t t0, int64_t t1);

typedef void (*NcTileKernelFn)(const float *const *in, float *const *out, int64_t t0, int64_t t1);

typedef struct NcKernelEntry {
    NcConvKernelFn fn;
    int64_t ocb;  /* output channels per tile */
    int64_t rows; /* row tiles per (image, channel block): output row groups,
                     or spatial blocks of a whole unpadded 1x1 plane */
    NcTileKernelFn tile; /* or a tile function over the node's operands */
    int64_t tiles;
    int64_t flags; /* NC_KERNEL_* */
    NcTileKernelFn prep; /* makes fn's xpad (see above), or NULL */
    NcTileKernelFn stage[3]; /* or a staged kernel (see above) */
    int64_t stage_tiles[3];
    int64_t scratch;
    NcTileKernelFn wprep; /* transforms the weights at load time (see above), or NULL */
    int64_t wprep_tiles, wfloats;
    const char *kind; /* the strategy ("nhwc gemm", "winograd F4", ...), for profiles */
} NcKernelEntry;

/* Also exported by a generated program (codegen/cpu/cg_peak.h):
 *   void netc_peak(int64_t rounds, float *sink);  const int64_t netc_peak_flops;
 * a loop of independent vector FMA chains for the target the kernels were
 * made for, netc_peak_flops floating-point operations per round — the CPU's
 * fp32 peak as generated code reaches it, which profiles report shares of
 * (runtime/bundle.c's nc_bundle_peak_gflops). */

#define NC_KERNEL_POLYPHASE 1     /* fn reads xpad split into even and odd columns (always with a prep) */
#define NC_KERNEL_SCALES_INPUT 2  /* the kernel applies a conv's input scale itself: in[0] is not scaled */

#endif
