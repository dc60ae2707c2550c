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

#endif
