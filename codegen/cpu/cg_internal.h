/* cg_internal.h — what the module (cg_module.c) and the layout cost model
 * (cg_layout.c) share. */
#ifndef NETC_CG_INTERNAL_H
#define NETC_CG_INTERNAL_H

#include "codegen/cpu/cg.h"
#include "codegen/cpu/cg_build.h"

/* A 1x1 conv or linear layer as the packed-weight (NHWC) GEMM (cg_module.c):
 * fills the spec when its input is NHWC (nhwc) or has no spatial extent,
 * or returns 0. */
struct NcGemmSpec;
int cg_gemm_candidate(const NcGraph *g, const NcNode *nd, struct NcGemmSpec *s, int nhwc);

/* NHWC Winograd for this conv (cg_layout.c)?  The tile (4 or 2) when
 * opt->winograd allows it and, in auto, its estimated time (*seconds) beats
 * the NHWC direct kernel's; else 0. */
int cg_nhwc_wino_choice(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt,
                        double *seconds);

/* Does node nd get the bf16 GEMM (cg_amx_gemm.h) under --precision bf16 on target t: a conv or linear
 * layer the plan takes, its f32 weights read by it alone and not yet packed, not one the f32 kernels do
 * better (cg_module.c)?  Fills *bp.  nc_cg_pack_weights packs by it, and the dtype hooks ask it before
 * packing whether the node's activations may be bf16, so both decide alike. */
struct NcBf16Plan;
int cg_bf16_takes(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt,
                  struct NcBf16Plan *bp);
/* How --precision int8 runs conv node nd once calibrated: CG_I8_IM2COL (np filled: im2col or a strided copy,
 * then the int8 GEMM), CG_I8_GEMM (a 1x1 conv), or 0 (its f32 kernel).  nc_cg_pack_weights quantises by it,
 * and the dtype hooks ask it before calibration whether the node's activations may be bf16. */
enum { CG_I8_IM2COL = 1, CG_I8_GEMM = 2 };
struct NcNhwcIm2colPlan;
int cg_i8_route(const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const NcCgOptions *opt,
                struct NcNhwcIm2colPlan *np);

#endif
