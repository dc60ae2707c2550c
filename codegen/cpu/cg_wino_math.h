/* cg_wino_math.h — Winograd F(4x4, 3x3) / F(2x2, 3x3) transforms along
 * one axis, on vectors of independent lanes (Lavin & Gray's points 0, +-1,
 * +-2, +-1/2). */
#ifndef NETC_CG_WINO_MATH_H
#define NETC_CG_WINO_MATH_H

#include "codegen/cpu/cg_build.h"

/* t = B^T d: d[0..alpha) at stride ds in, t[0..alpha) at stride ts out (alpha = mt + 2) */
void nc_wino_input_1d(NcCgModule *m, int mt, LLVMValueRef *d, int ds, LLVMValueRef *t, int ts);
/* s = A^T v: v[0..alpha) at stride ms in, s[0..mt) at stride ss out */
void nc_wino_output_1d(NcCgModule *m, int mt, LLVMValueRef *v, int ms, LLVMValueRef *s, int ss);

#endif
