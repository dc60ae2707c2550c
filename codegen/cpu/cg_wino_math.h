/* cg_wino_math.h — Winograd F(4x4, 3x3) / F(2x2, 3x3) transforms along
 * one axis, on vectors of independent lanes.
 *
 * Each mt x mt block of outputs ("tile") of a channel is A^T [U . V] A, where
 * V = B^T d B is the tile's alpha x alpha input patch transformed (alpha =
 * mt + 2), and U = G g G^T the 3x3 filter transformed.  Summed over input
 * channels, the alpha^2 positions of the transform domain become independent
 * matrix products; F(4x4, 3x3) makes 36 multiplies per 16 outputs instead of
 * 9 x 16 (4x fewer FMAs, paid for by the two transforms and 4x larger
 * filters), F(2x2, 3x3) 16 per 4 (2.25x fewer).  (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2015; the points 0, +-1,
 * +-2, +-1/2 of their F(4x4, 3x3).)  Its transforms scale values by up to
 * 8 x 5 (A^T and B^T entries); measured against the interpreter on every
 * model (tests/codegen) the outputs stay well inside the 1e-4 relative
 * tolerance. */
#ifndef NETC_CG_WINO_MATH_H
#define NETC_CG_WINO_MATH_H

#include "codegen/cpu/cg_build.h"

/* t = B^T d: d[0..alpha) at stride ds in, t[0..alpha) at stride ts out (alpha = mt + 2) */
void nc_wino_input_1d(NcCgModule *m, int mt, LLVMValueRef *d, int ds, LLVMValueRef *t, int ts);
/* s = A^T v: v[0..alpha) at stride ms in, s[0..mt) at stride ss out */
void nc_wino_output_1d(NcCgModule *m, int mt, LLVMValueRef *v, int ms, LLVMValueRef *s, int ss);

#endif
