/* cg_build.h — building one LLVM module of kernels, and the IR helpers the
 * kernel generators share (constants, counted loops, vector loads, stores
 * and FMAs).
 *
 * Every kernel is a tile function, free of OpenMP:
 *
 *     void name(const float *const *in, float *const *out, int64_t t0, int64_t t1)
 *
 * computing tiles [t0, t1) of a static tile count the generator reports; the
 * C runtime, compiled with OpenMP, hands tile ranges to threads (so the
 * generated code needs no __kmpc_* runtime calls).  Shapes are static, so
 * every trip count and stride is a constant in the IR. */
#ifndef NETC_CG_BUILD_H
#define NETC_CG_BUILD_H

#include <llvm-c/Core.h>

#include "codegen/cpu/cg_target.h"
#include "ir/ir.h"

typedef void (*NcTileFn)(const float *const *in, float *const *out, int64_t t0, int64_t t1);

typedef struct NcCgModule {
    const NcCgTarget *t;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i1, i32, i64, ptr, vec; /* vec: <vw x float> */
    int vw;
    int optimized;
    /* the function being built */
    LLVMValueRef fn;
    LLVMBasicBlockRef entry;
} NcCgModule;

void nc_cg_module_init(NcCgModule *m, const NcCgTarget *t, const char *name);
void nc_cg_module_dispose(NcCgModule *m);

/* Starts a tile function (see above) and positions the builder in its entry
 * block; in[] and out[] are noalias.  Returns the function. */
LLVMValueRef nc_cg_begin_tile_fn(NcCgModule *m, const char *name);

/* Verifies the module and runs LLVM's default<O3> pipeline for the target
 * (once; later calls do nothing).  A module that does not verify is a bug in
 * a generator: the message carries LLVM's diagnosis. */
int nc_cg_module_optimize(NcCgModule *m, NcError *e);
/* Optimises, then writes a relocatable object file. */
int nc_cg_module_emit_object(NcCgModule *m, const char *path, NcError *e);
/* Optimises, then compiles to an object in memory (for the JIT). */
int nc_cg_module_emit_buffer(NcCgModule *m, LLVMMemoryBufferRef *out, NcError *e);

/* --- IR helpers -------------------------------------------------------- */

LLVMValueRef cgb_i64(NcCgModule *m, int64_t v);
LLVMValueRef cgb_f32(NcCgModule *m, double v);
/* &p[i] for float* p */
LLVMValueRef cgb_gep(NcCgModule *m, LLVMValueRef p, LLVMValueRef i);
/* in[k] / out[k] of a tile function */
LLVMValueRef cgb_arg_ptr(NcCgModule *m, LLVMValueRef array, int k);
LLVMValueRef cgb_splat(NcCgModule *m, LLVMValueRef scalar);
LLVMValueRef cgb_zero(NcCgModule *m);
/* Unaligned vector load / store (4-byte alignment). */
LLVMValueRef cgb_load(NcCgModule *m, LLVMValueRef p);
void cgb_store(NcCgModule *m, LLVMValueRef v, LLVMValueRef p);
/* Lanes [0, n) only: nothing past them is read or written. */
LLVMValueRef cgb_load_n(NcCgModule *m, LLVMValueRef p, int n);
void cgb_store_n(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, int n);
/* An activation stored f32 or, with bf16, as bf16 (NcValue.dtype: passes/assign_dtype.c): the vector at
 * element i of p, lanes [0, n) as cgb_load_n, as f32 (bf16 widened: exact); the store rounds to the nearest
 * bf16 (ties to even). */
LLVMValueRef cgb_load_act(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int n, int bf16);
/* &p[i] of such an activation */
LLVMValueRef cgb_gep_act(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int bf16);
/* cgb_load_act, a bf16 vector widened by its bits (zero-extended, shifted into each lane's high half) rather
 * than an fpext: LLVM narrows maximum(fpext a, fpext b) to fpext(maximum(a, b)) on bf16 vectors, which x86
 * computes lane by lane (an unrolled max pool window took 30x the time) */
LLVMValueRef cgb_load_act_bits(NcCgModule *m, LLVMValueRef p, LLVMValueRef i, int n, int bf16);
void cgb_store_act(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i, int n, int bf16);
/* Lanes under a <vw x i1> mask computed at run time (0 elsewhere on load). */
LLVMValueRef cgb_load_mask(NcCgModule *m, LLVMValueRef p, LLVMValueRef mask);
void cgb_store_mask(NcCgModule *m, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
/* Lanes under mask of base[idx[l]], idx a <vw x i32> (0 elsewhere; masked-off
 * lanes are not read, whatever their index). */
LLVMValueRef cgb_gather(NcCgModule *m, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef mask);
/* Calls tile function fn(in, out, t0, t1) with in[] / out[] these pointers
 * (a kernel stage handing its scratch to another generated kernel). */
void cgb_call_tile(NcCgModule *m, LLVMValueRef fn, LLVMValueRef *in, int nin, LLVMValueRef *out, int nout,
                   LLVMValueRef t0, LLVMValueRef t1);
/* a * b + c, fused where the target has FMA (llvm.fmuladd) */
LLVMValueRef cgb_fma(NcCgModule *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
LLVMValueRef cgb_max(NcCgModule *m, LLVMValueRef a, LLVMValueRef b);
/* max(a, b) with a NaN in either coming through (llvm.maximum), as torch's max-pool keeps it. */
LLVMValueRef cgb_max_nan(NcCgModule *m, LLVMValueRef a, LLVMValueRef b);
/* exp(x), lane by lane, in registers (about 1 ulp; x clamped to +-88) */
LLVMValueRef cgb_exp(NcCgModule *m, LLVMValueRef x);
/* A fused activation (an NcEpiKind: relu, clamp(lo, hi), silu, sigmoid). */
LLVMValueRef cgb_activation(NcCgModule *m, int kind, float lo, float hi, LLVMValueRef v);
/* The same on n independent vectors in place (exp on at most
 * CGB_MAX_INTERLEAVE), each step emitted for all before the next, so their
 * dependency chains overlap — for epilogues over a register block. */
#define CGB_MAX_INTERLEAVE 8
void cgb_exp_n(NcCgModule *m, LLVMValueRef *x, int n);
void cgb_activation_n(NcCgModule *m, int kind, float lo, float hi, LLVMValueRef *v, int n);
/* A read prefetch of p's cache line into all levels (never faults); _rw with write set asks for the
 * line to be written (prefetchw where the target has it, else a read prefetch). */
void cgb_prefetch(NcCgModule *m, LLVMValueRef p);
void cgb_prefetch_rw(NcCgModule *m, LLVMValueRef p, int write);
/* A vector-typed stack slot in the entry block: mem2reg makes it a register. */
LLVMValueRef cgb_var(NcCgModule *m, LLVMTypeRef t);

/* Block arithmetic of the plans: whole blocks of b covering a, and a rounded
 * up to them. */
static inline int64_t cgb_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t cgb_round_up(int64_t a, int64_t b) { return cgb_ceil_div(a, b) * b; }

/* Is o one value per (image, channel) of y ([N, C, 1, 1] against [N, C, H, W])? */
int cgb_per_channel(const NcValue *o, const NcValue *y);
/* Are all of a conv's + / * epilogue operands of its output's shape or per
 * channel (what the generated conv kernels take)? */
int cgb_epi_operands_ok(const NcGraph *g, const NcNode *nd);

/* for (i = begin; i < end; i += step), begin/end i64 values. */
typedef struct CgbLoop {
    LLVMValueRef var, step;
    LLVMBasicBlockRef cond, body, exit;
} CgbLoop;
CgbLoop cgb_loop_begin(NcCgModule *m, LLVMValueRef begin, LLVMValueRef end, int64_t step, LLVMValueRef *index);
void cgb_loop_end(NcCgModule *m, CgbLoop *l);
/* cgb_loop_end, and LLVM is not to unroll the loop (llvm.loop.unroll.disable):
 * for a register-blocked body whose copies the scheduler would interleave
 * past the registers (spills) */
void cgb_loop_end_rolled(NcCgModule *m, CgbLoop *l);

/* for (i = 0; i < n; i += vw) body(m, ctx, i, lanes): the whole vectors in a
 * loop (lanes = vw), then the ragged end once (lanes < vw, to be loaded and
 * stored under a mask). */
typedef void (*CgbVecBody)(NcCgModule *m, void *ctx, LLVMValueRef i, int lanes);
void cgb_for_vectors(NcCgModule *m, int64_t n, CgbVecBody body, void *ctx);
/* dst[0 .. n) = src[0 .. n), times scale[0 .. n) when scale is set, or
 * zeros when src is NULL. */
void cgb_copy_floats(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef scale, int64_t n);
/* The same from an activation src stored f32 or, with src_bf16, bf16 (widened: exact); dst f32. */
void cgb_copy_act(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, int src_bf16, LLVMValueRef scale, int64_t n);
/* dst[0 .. n) = src[0 .. n) + bias (a vector of the module's width, every lane the same) */
void cgb_copy_floats_bias(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bias, int64_t n);
/* dst[0 .. n) += src[0 .. n) */
void cgb_add_floats(NcCgModule *m, LLVMValueRef dst, LLVMValueRef src, int64_t n);
/* if (cond) { ... } [else { ... }]: begin, optionally else, then end. */
typedef struct CgbIf {
    LLVMBasicBlockRef then, other, join;
} CgbIf;
CgbIf cgb_if_begin(NcCgModule *m, LLVMValueRef cond);
void cgb_if_else(NcCgModule *m, CgbIf *c);
void cgb_if_end(NcCgModule *m, CgbIf *c);

#endif
