/* cg_amx.h — what a target offers reduced-precision kernels beyond its
 * vectors (AMX tiles, AVX512-BF16, VNNI), and the AMX tile instructions as
 * IR for the kernel generators (cg_amx_gemm.h; the int8 kernels may use the
 * same helpers with "llvm.x86.tdpbusd" and friends).
 *
 * AMX as emitted here: the non-".internal" intrinsics, whose tile operands
 * are immediates (tmm0 .. tmm7), so the generator allocates the tiles
 * itself and LLVM's tile-configuration passes stay out of it.  A tile
 * function using them starts with cg_amx_ldtilecfg of a constant 64-byte
 * configuration (palette 1, rows and bytes per row for each tile: the
 * shapes are static) and ends with cg_amx_release, so that no tile state
 * outlives the call (a thread of the runtime's pool may next run an AVX-512
 * kernel, and a released state is cheaper to switch).  The process must be
 * allowed the tile state first: runtime/support/amx.h (the runtime asks for
 * it when a bundle's kernel table names "amx" in a kernel's isa). */
#ifndef NETC_CG_AMX_H
#define NETC_CG_AMX_H

#include "codegen/cpu/cg_build.h"

/* Does the target have AMX-TILE with AMX-BF16 (AMX-INT8)?  From the feature
 * string (the host's, or one given), else for `--cpu NAME` from LLVM's CPUs
 * known to have them (Sapphire Rapids and later Xeons). */
int nc_cg_target_amx_bf16(const NcCgTarget *t);
int nc_cg_target_amx_int8(const NcCgTarget *t);
/* Does the target have AVX512-BF16 (vdpbf16ps, vcvtne2ps2bf16)?  Asked of
 * LLVM, as cg_target.c asks for the vector width: an f32 -> bf16 conversion
 * of 16 lanes becomes vcvtneps2bf16 only where it does. */
int nc_cg_target_avx512bf16(const NcCgTarget *t);

/* The tile configuration: rows[i] rows of colsb[i] bytes for tile i (0: the
 * tile unused), as an internal constant of the module (one per distinct
 * configuration).  Returns its address. */
LLVMValueRef cg_amx_config(NcCgModule *m, const int rows[8], const int colsb[8]);
void cg_amx_ldtilecfg(NcCgModule *m, LLVMValueRef config);
void cg_amx_release(NcCgModule *m);
void cg_amx_zero(NcCgModule *m, int tile);
/* tile <- rows at p, stride bytes apart (tileloadd); tile -> p (tilestored) */
void cg_amx_load(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride);
void cg_amx_load_t1(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride);
void cg_amx_store(NcCgModule *m, int tile, LLVMValueRef p, int64_t stride);
/* c += a . b by the dot-product instruction `intrinsic`, e.g.
 * "llvm.x86.tdpbf16ps" (bf16 pairs, f32 accumulators) or "llvm.x86.tdpbusd" */
void cg_amx_dp(NcCgModule *m, const char *intrinsic, int c, int a, int b);
/* A call of a non-overloaded intrinsic by name (x86 intrinsics mostly). */
LLVMValueRef cg_amx_call(NcCgModule *m, const char *intrinsic, LLVMValueRef *args, int nargs);

#endif
