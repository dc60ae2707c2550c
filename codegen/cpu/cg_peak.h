/* cg_peak.h — a loop that measures the CPU's fp32 FMA peak the way the
 * generated kernels can reach it: independent vector FMA chains, as many as
 * the vector registers hold beside nothing else, for the same target and
 * vector width as the kernels.  Every compiled program carries one
 * (netc_peak, netc_peak_flops: runtime/kernels.h), so that `bench
 * --per-kernel` reports each kernel's share of the peak of the machine it
 * runs on; bench/gemm_bench.c times against the same loop. */
#ifndef NETC_CG_PEAK_H
#define NETC_CG_PEAK_H

#include "codegen/cpu/cg_build.h"

/* Independent accumulators: 12 of AVX2's 16 registers, 24 of AVX-512's 32. */
int nc_cg_peak_chains(const NcCgTarget *t);
/* Emits void name(int64_t iters, float *sink): iters rounds of `chains`
 * FMAs (acc = acc * x + y), the sum of the accumulators stored to sink (a
 * vector's worth) so that nothing is optimised away.  Each round is
 * chains x vw x 2 floating-point operations. */
void nc_cg_emit_peak(NcCgModule *m, const char *name, int chains);

#endif
