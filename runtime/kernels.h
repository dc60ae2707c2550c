/* kernels.h — the contract between generated kernels (codegen/cpu) and the
 * runtime that calls them (runtime/bundle.c).
 *
 * A generated program exports `netc_kernels`: one NcKernelEntry per node of
 * every program, programs in bundle order.  fn == NULL means "use the op
 * table's reference kernel".  Today every generated kernel is a convolution:
 *
 *   fn(xpad, w, bias, extra, y, t0, t1)
 *
 * computes output tiles [t0, t1) of the N x (O / ocb) x rows tiles (one tile =
 * ocb output channels of one output row), reading the input from xpad: the
 * node's input zero-padded to [N, C, H + pt + pb, W + pl + pr] (scaled per
 * channel first when the node is input-scaled), followed by at least
 * NC_KERNEL_SLACK floats of readable memory.  bias may be NULL; extra[k] are
 * the epilogue operands in node order.  When a node needs no padding and no
 * scale, xpad is the input itself — which is why arenas carry the slack too.
 */
#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

#include <stdint.h>

#define NC_KERNEL_SLACK 256 /* floats a kernel may read past its input */

typedef void (*NcConvKernelFn)(const float *xpad, const float *w, const float *bias, const float *const *extra,
                               float *y, int64_t t0, int64_t t1);

typedef struct NcKernelEntry {
    NcConvKernelFn fn;
    int64_t ocb;  /* output channels per tile */
    int64_t rows; /* row tiles per (image, channel block): OH, or 1 when the
                     kernel treats a whole unpadded 1x1 plane as one row */
} NcKernelEntry;

#endif
