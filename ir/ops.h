/* ops.h — the op table: one row per op says everything netc knows about it. */
#ifndef NETC_OPS_H
#define NETC_OPS_H

#include "ir/ir.h"

/* Fusion classes, after TVM's OpPattern: passes decide what may fuse from
 * these alone. */
typedef enum {
    NC_FUSE_ELEMWISE,  /* out[i] = f(in[i]) */
    NC_FUSE_BROADCAST, /* elementwise with broadcasting of an operand */
    NC_FUSE_INJECTIVE, /* pure data movement (reshape, split, concat) */
    NC_FUSE_REDUCTION, /* reduces axes (pools, softmax) */
    NC_FUSE_ANCHOR,    /* conv / linear: an elementwise epilogue can fuse into it */
    NC_FUSE_OPAQUE,
} NcFusionClass;

/* What a reference kernel sees: the node, its input and output values and
 * their buffers (dense, row-major in the value's layout). */
typedef struct NcKernelArgs {
    const NcNode *node;
    const NcValue *in_v[NC_MAXIN];
    const float *in[NC_MAXIN];
    const NcValue *out_v[NC_MAXOUT];
    float *out[NC_MAXOUT];
} NcKernelArgs;

/* A shape rule fills out_ndim/out_shape for each output and returns the
 * output count, or -1 with a message saying what is wrong and with which size. */
typedef int (*NcShapeFn)(const NcValue *const *in, int nin, const NcAttrs *a, int *out_ndim,
                         int64_t (*out_shape)[NC_MAXDIM], NcError *e);
typedef void (*NcRefFn)(const NcKernelArgs *k);
typedef double (*NcMacsFn)(const NcValue *const *in, const NcValue *const *out, const NcAttrs *a);

typedef struct NcOpInfo {
    const char *name;
    int min_inputs, max_inputs;
    NcFusionClass fusion;
    unsigned attrs; /* NC_ATTR_* fields this op reads */
    NcShapeFn shape;
    NcRefFn ref;
    NcMacsFn macs; /* multiply-accumulates of conv/linear; NULL elsewhere */
} NcOpInfo;

const NcOpInfo *nc_op_info(NcOpKind op);

/* Epilogues (ir/epilogue.c): check the extra inputs broadcast to the output,
 * apply the steps to a computed output, name a step. */
int nc_epilogue_check(const NcValue *const *in, int nin, const NcAttrs *a, int first_extra, int out_ndim,
                      const int64_t *out_shape, NcError *e);
void nc_epilogue_apply(const NcKernelArgs *k);
const char *nc_epi_name(NcEpiKind kind);
/* Index of the first epilogue input: after x, weight and the optional bias. */
static inline int nc_in_scale_input(const NcAttrs *a) { return 2 + (a->has_bias ? 1 : 0); }
static inline int nc_epi_first_input(const NcAttrs *a) { return nc_in_scale_input(a) + (a->has_in_scale ? 1 : 0); }
const char *nc_fusion_name(NcFusionClass c);

/* Reference kernels, one file per family (ref_*.c). */
void nc_ref_conv2d(const NcKernelArgs *k);
void nc_ref_linear(const NcKernelArgs *k);
void nc_ref_batch_norm(const NcKernelArgs *k);
void nc_ref_relu(const NcKernelArgs *k);
void nc_ref_clamp(const NcKernelArgs *k);
void nc_ref_silu(const NcKernelArgs *k);
void nc_ref_sigmoid(const NcKernelArgs *k);
void nc_ref_add(const NcKernelArgs *k);
void nc_ref_mul(const NcKernelArgs *k);
void nc_ref_max_pool2d(const NcKernelArgs *k);
void nc_ref_avg_pool2d(const NcKernelArgs *k);
void nc_ref_global_avg_pool(const NcKernelArgs *k);
void nc_ref_global_max_pool(const NcKernelArgs *k);
void nc_ref_softmax(const NcKernelArgs *k);
void nc_ref_radix_softmax(const NcKernelArgs *k);
void nc_ref_radix_gap(const NcKernelArgs *k);
void nc_ref_radix_combine(const NcKernelArgs *k);
void nc_ref_concat(const NcKernelArgs *k);
void nc_ref_split(const NcKernelArgs *k);
void nc_ref_reshape(const NcKernelArgs *k);
void nc_ref_squeeze_excite(const NcKernelArgs *k);
void nc_ref_relayout(const NcKernelArgs *k);

/* Runs the op's reference kernel (ir/ref_layout.c).  The reference kernels
 * read and write NCHW; an operand laid out NHWC (a 4-D value with layout
 * NC_LAYOUT_NHWC, assigned by passes/assign_layout.c) is converted to NCHW
 * around the call, so any node of any graph can fall back to them. */
void nc_ref_run(const NcKernelArgs *k);

#endif
