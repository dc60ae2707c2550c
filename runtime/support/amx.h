/* amx.h — permission to use Intel AMX tiles (TMUL) in this process.
 *
 * Linux keeps AMX's 8 KB of tile data (XFEATURE_XTILEDATA) out of a
 * process's state until it asks: the first tile instruction of a process
 * that has not asked faults (SIGILL).  nc_amx_enable asks once per process
 * (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); the permission
 * covers every thread, those already running included), and is what a
 * bundle whose kernels use AMX calls as it opens (runtime/bundle.c), and
 * what tests call before running AMX kernels.  Generated AMX kernels
 * configure their tiles themselves (LDTILECFG at the start of each tile
 * function, TILERELEASE at its end: codegen/cpu/cg_amx.h). */
#ifndef NETC_AMX_H
#define NETC_AMX_H

#include "runtime/support/base.h"

/* 0 when this process may use AMX tiles (asked now or earlier); -1 with a
 * message saying why not (not Linux, a kernel without AMX support, a CPU
 * without AMX). */
int nc_amx_enable(NcError *e);

/* 1 when the CPU reports AMX-TILE and AMX-BF16 (CPUID leaf 7), whether or
 * not the kernel permits them: for tests, to say "skipped: no AMX". */
int nc_amx_cpu_has_bf16(void);

#endif
