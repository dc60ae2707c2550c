/* kernels.h — the contract between generated kernels (codegen/cpu) and the
 * runtime that calls them (runtime/bundle.c).
 *
 * A generated program exports `netc_kernels`: one NcKernelEntry per node of
 * every program, programs in bundle order.  stage[0] == NULL means "use the
 * op table's reference kernel".  Every generated kernel is one to three
 * tile functions
 *
 *   stage[s](in, out, t0, t1)
 *
 * run in order (those set), each over its tiles[s] tiles [t0, t1), every
 * thread finishing one stage before any starts the next.  in[j] are the
 * node's inputs and out[j] its outputs, in node order, as they lie (NHWC
 * where the layout pass chose it; a conv's input unscaled: the kernel
 * applies its SE scale itself); out[noutputs] is a scratch buffer of
 * `scratch` floats (+ NC_KERNEL_SLACK) that the stages pass their
 * intermediates through.  A conv2d or linear reads its weights as the
 * compiler stored them (packed for a GEMM: codegen/cpu/cg_gemm.h), not in
 * the parameter's logical [O, I, ...] order.
 *
 * With wprep set, the node's weights (in[1]) are transformed once, when the
 * bundle opens: wprep(in, out, t0, t1) over wprep_tiles tiles, with in[1]
 * the weights as stored and out[0] a buffer of wfloats floats, which from
 * then on is passed as in[1] instead (Winograd's transformed filters: 4x the
 * 3x3 filter, so it is not stored that way in the file).  Nodes reading the
 * same stored weights share one buffer.
 *
 * kind names the strategy that made the kernel (codegen/cpu/cg_module.c's
 * table), isa the instructions it was generated for ("avx512", "avx2", ...,
 * or an extension a kernel relies on) and precision the arithmetic it does
 * ("f32"; reduced-precision kernels "bf16", "int8", ...), for profiles
 * (`bench --per-kernel`, `info --kernels`).  codegen/cpu/cg_kernel.c builds the table's LLVM
 * type from this struct and checks its size and offsets at compile time:
 * change both together, and bump NC_BUNDLE_VERSION (runtime/bundle.h). */
#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

#include <stdint.h>

#define NC_KERNEL_SLACK 256 /* floats a kernel may read past a tensor or its scratch */

typedef void (*NcTileKernelFn)(const float *const *in, float *const *out, int64_t t0, int64_t t1);

typedef struct NcKernelEntry {
    NcTileKernelFn stage[3];
    int64_t tiles[3];
    int64_t scratch;
    NcTileKernelFn wprep; /* transforms the weights at load time (see above), or NULL */
    int64_t wprep_tiles, wfloats;
    const char *kind;      /* the strategy ("nhwc gemm", "nhwc winograd F4", ...), for profiles */
    const char *isa;       /* "avx512", "avx2", ...: what it was generated for */
    const char *precision; /* "f32", or a reduced precision ("bf16", "int8") */
} NcKernelEntry;

/* Also exported by a generated program (codegen/cpu/cg_peak.h):
 *   void netc_peak(int64_t rounds, float *sink);  const int64_t netc_peak_flops;
 * a loop of independent vector FMA chains for the target the kernels were
 * made for, netc_peak_flops floating-point operations per round — the CPU's
 * fp32 peak as generated code reaches it, which profiles report shares of
 * (runtime/bundle.c's nc_bundle_peak_gflops); and
 *   const char netc_target[];
 * the CPU, ISA and vector width the kernels were made for, and the ISA
 * their blocks were chosen for ("znver3 avx2 8 avx2"), for `info`. */

#endif
