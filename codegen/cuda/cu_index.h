/* cu_index.h — what the kernels of cu_conv, cu_pool, cu_attn, cu_copy,
 * cu_loss, cu_train and cu_bn_split share: the geometry of a conv or pool
 * window on NCHW tensors (filled from the IR's attributes), the
 * one-thread-per-element grid, integer index arithmetic on static sizes, a
 * few float functions (sqrt, sigmoid, log) and block reductions through
 * shared memory.
 *
 * Every size is a compile-time constant, so a division or remainder by one
 * becomes a multiply-shift on both targets.  Indices are i64 (as the builder's
 * tid / bid). */
#ifndef NETC_CU_INDEX_H
#define NETC_CU_INDEX_H

#include "codegen/cuda/cu_kernel.h"

/* A window over an NCHW input: output (oh, ow) reads rows oh sh - pt + i dh
 * (i < kh) and columns ow sw - pl + j dw (j < kw); taps outside the image read
 * padding.  oh, ow are the output's (the shape rule's: ceil_mode is in them);
 * pb, pr matter only to the average pool's divisor. */
typedef struct NcCuWin {
    int64_t n, c, h, w; /* input [N, C, H, W] */
    int64_t oh, ow;     /* output plane */
    int kh, kw, sh, sw, dh, dw;
    int pt, pl, pb, pr; /* padding: top, left, bottom, right (TF "same" pads are asymmetric) */
} NcCuWin;

/* From a conv2d / pool node's attributes and its input and output shapes
 * ([N, C, H, W] each; the kernel size from attrs). */
NcCuWin nc_cu_win(const NcAttrs *a, const int64_t *xshape, const int64_t *yshape);

/* --- one thread per element: blocks of NC_CU_EW_BLOCK threads ----------- */
#define NC_CU_EW_BLOCK 256
int64_t nc_cu_ew_grid(int64_t total);
/* This thread's element, bid * NC_CU_EW_BLOCK + tid; opens `if (i < total)`,
 * closed by nc_cu_if_end(k, guard). */
LLVMValueRef nc_cu_ew_index(NcCuBuilder *k, int64_t total, CgbIf *guard);

/* --- integer arithmetic (i64) ------------------------------------------ */
LLVMValueRef nc_cu_add(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef nc_cu_addc(NcCuBuilder *k, LLVMValueRef a, int64_t c);
LLVMValueRef nc_cu_mulc(NcCuBuilder *k, LLVMValueRef a, int64_t c);
LLVMValueRef nc_cu_divc(NcCuBuilder *k, LLVMValueRef a, int64_t c); /* a >= 0 */
LLVMValueRef nc_cu_remc(NcCuBuilder *k, LLVMValueRef a, int64_t c); /* a >= 0 */
/* a * c + b */
LLVMValueRef nc_cu_mad(NcCuBuilder *k, LLVMValueRef a, int64_t c, LLVMValueRef b);
/* lo <= a < hi (one unsigned compare) */
LLVMValueRef nc_cu_in(NcCuBuilder *k, LLVMValueRef a, int64_t lo, int64_t hi);
LLVMValueRef nc_cu_and(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef nc_cu_eq(NcCuBuilder *k, LLVMValueRef a, int64_t c);
/* Splits i (in [0, prod dims)) into idx[0 .. nd), dims outermost first. */
void nc_cu_unflatten(NcCuBuilder *k, LLVMValueRef i, int nd, const int64_t *dims, LLVMValueRef *idx);
/* An i64 stack slot (a register after mem2reg), for an argmax. */
LLVMValueRef nc_cu_ivar(NcCuBuilder *k, int64_t init);

/* --- float ------------------------------------------------------------- */
LLVMValueRef nc_cu_fadd(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef nc_cu_fmul(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef nc_cu_get(NcCuBuilder *k, LLVMValueRef var); /* load of an nc_cu_var / nc_cu_ivar */
void nc_cu_set(NcCuBuilder *k, LLVMValueRef var, LLVMValueRef v);
/* correctly rounded sqrt (sqrt.rn.f32 on the GPU, sqrtss on the CPU) */
LLVMValueRef nc_cu_sqrt(NcCuBuilder *k, LLVMValueRef x);
/* 1 / (1 + exp(-x)) with nc_cu_exp */
LLVMValueRef nc_cu_sigmoid(NcCuBuilder *k, LLVMValueRef x);
/* log(x) for normal x > 0 in float arithmetic only (Cephes' logf: the
 * exponent from the bits, a degree-9 polynomial): the same instructions on
 * both targets, within a few ulp. */
LLVMValueRef nc_cu_log(NcCuBuilder *k, LLVMValueRef x);

/* --- block reductions through shared memory ----------------------------
 * A block of `block` threads (a power of two, <= 1024) reduces nacc values
 * at once: each thread folds its strided share into registers and hands them
 * to nc_cu_red_put (smem[a * block + tid]) at the end of a phase; then
 * nc_cu_red_levels(block) phases, level 0 first, each one nc_cu_red_level:
 * threads below s = block >> (level + 1) fold smem[.. + tid + s] into
 * smem[.. + tid], and at the last level thread 0 stores the totals at
 * smem[out + a], past the scratch (out >= nacc * block), where the next
 * phases read them (nc_cu_red_result). */
int nc_cu_red_levels(int64_t block);
/* The power of two in [32, 256] nearest above n (a reduction's block size). */
int64_t nc_cu_red_block(int64_t n);
void nc_cu_red_put(NcCuBuilder *k, int64_t block, int nacc, LLVMValueRef *v);
void nc_cu_red_level(NcCuBuilder *k, int64_t block, int nacc, int level, int is_max, int64_t out);
LLVMValueRef nc_cu_red_result(NcCuBuilder *k, int64_t out, int a);
/* if (tid == 0) */
CgbIf nc_cu_if_thread0(NcCuBuilder *k);

#endif
