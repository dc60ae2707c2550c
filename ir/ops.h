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

/* A gradient rule (ir/grad_*.c), used by the autodiff pass: node `ni` of g,
 * the gradient of each of its outputs in dy[j] (a value id, or -1 where no
 * gradient flows back), and needs[j] set for each input whose gradient is
 * wanted.  The rule appends nodes computing those gradients and sets dx[j]
 * to the value holding input j's (-1 where it computed none).  The rule must
 * copy what it reads of the node first: appending may move g's arrays.
 * Returns 0, or -1 with a message.  NULL in the table: the op has no
 * gradient (the pass then names the op and the layer). */
typedef int (*NcGradFn)(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);

typedef struct NcOpInfo {
    const char *name;
    int min_inputs, max_inputs;
    NcFusionClass fusion;
    unsigned attrs; /* NC_ATTR_* fields this op reads */
    NcShapeFn shape;
    NcRefFn ref;
    NcMacsFn macs; /* multiply-accumulates of conv/linear; NULL elsewhere */
    NcGradFn grad; /* the gradient rule; NULL: not differentiable */
} NcOpInfo;

const NcOpInfo *nc_op_info(NcOpKind op);

/* Epilogues (ir/epilogue.c): check the extra inputs broadcast to the output,
 * apply the steps to a computed output, name a step. */
int nc_epilogue_check(const NcValue *const *in, int nin, const NcAttrs *a, int first_extra, int out_ndim,
                      const int64_t *out_shape, NcError *e);
void nc_epilogue_apply(const NcKernelArgs *k);
/* Does every piece of split k already lie where it would be copied from (passes/plan_memory.c plans
 * contiguous pieces as views of the input)?  Then running the split copies nothing. */
int nc_split_in_place(const NcKernelArgs *k);
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
void nc_ref_transpose(const NcKernelArgs *k);

/* Training ops' reference kernels (ref_train.c, ref_grad_*.c); what each
 * computes is said beside its shape rule in shape_train.c. */
void nc_ref_batch_norm_train(const NcKernelArgs *k);
void nc_ref_dropout(const NcKernelArgs *k);
void nc_ref_cross_entropy(const NcKernelArgs *k);
void nc_ref_zeros(const NcKernelArgs *k);
void nc_ref_sum_to(const NcKernelArgs *k);
void nc_ref_act_grad(const NcKernelArgs *k);
/* dy act'(x), rounded to float as act_grad stores it (batch_norm_train_grad's fused activation) */
float nc_ref_act_grad_one(const NcAttrs *a, float dy, float x);
void nc_ref_conv2d_grad_input(const NcKernelArgs *k);
void nc_ref_conv2d_grad_weight(const NcKernelArgs *k);
void nc_ref_linear_grad_input(const NcKernelArgs *k);
void nc_ref_linear_grad_weight(const NcKernelArgs *k);
void nc_ref_batch_norm_train_grad(const NcKernelArgs *k);
void nc_ref_max_pool2d_grad(const NcKernelArgs *k);
void nc_ref_avg_pool2d_grad(const NcKernelArgs *k);
void nc_ref_global_avg_pool_grad(const NcKernelArgs *k);
void nc_ref_softmax_grad(const NcKernelArgs *k);
void nc_ref_radix_softmax_grad(const NcKernelArgs *k);
void nc_ref_radix_gap_grad(const NcKernelArgs *k);
void nc_ref_radix_combine_grad(const NcKernelArgs *k);
void nc_ref_cross_entropy_grad(const NcKernelArgs *k);

/* Shape rules the training ops share with the forward ones (ops.c) and their
 * own (shape_train.c). */
int nc_shape_conv2d(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                    NcError *e);
int nc_shape_pool2d(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t (*os)[NC_MAXDIM],
                    NcError *e);
#define NC_SHAPE_FN(name)                                                                                              \
    int name(const NcValue *const *in, int nin, const NcAttrs *a, int *ond, int64_t(*os)[NC_MAXDIM], NcError *e)
NC_SHAPE_FN(nc_shape_batch_norm_train);
NC_SHAPE_FN(nc_shape_dropout);
NC_SHAPE_FN(nc_shape_cross_entropy);
NC_SHAPE_FN(nc_shape_sizes);
NC_SHAPE_FN(nc_shape_sum_to);
NC_SHAPE_FN(nc_shape_pair);
NC_SHAPE_FN(nc_shape_act_grad);
NC_SHAPE_FN(nc_shape_softmax_grad);
NC_SHAPE_FN(nc_shape_radix_softmax_grad);
NC_SHAPE_FN(nc_shape_conv2d_grad_input);
NC_SHAPE_FN(nc_shape_conv2d_grad_weight);
NC_SHAPE_FN(nc_shape_linear_grad_input);
NC_SHAPE_FN(nc_shape_linear_grad_weight);
NC_SHAPE_FN(nc_shape_batch_norm_train_grad);
NC_SHAPE_FN(nc_shape_max_pool2d_grad);
NC_SHAPE_FN(nc_shape_avg_pool2d_grad);
NC_SHAPE_FN(nc_shape_global_avg_pool_grad);
NC_SHAPE_FN(nc_shape_radix_gap_grad);
NC_SHAPE_FN(nc_shape_radix_combine_grad);
NC_SHAPE_FN(nc_shape_cross_entropy_grad);

/* Gradient rules (grad_*.c). */
int nc_grad_conv2d(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_linear(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_batch_norm_train(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_act(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_add(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_mul(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_dropout(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_pool2d(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_global_avg_pool(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_softmax(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_radix_gap(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_radix_combine(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_concat(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_split(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_reshape(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);
int nc_grad_cross_entropy(NcGraph *g, int ni, const int *dy, const int *needs, int *dx, NcError *e);

/* Dropout's random stream: bit 32 draws for element (or sample) i of the node
 * salted `salt` in the step seeded (s0, s1); kept when below (1 - p) 2^32.
 * A counter-based hash, so the backward pass and any kernel regenerate the
 * forward's mask without storing it. */
static inline uint32_t nc_dropout_bits(uint32_t s0, uint32_t s1, uint32_t salt, uint64_t i) {
    uint64_t z = ((uint64_t)s0 << 32 | s1) ^ ((uint64_t)salt * 0xD1B54A32D192ED03ull);
    z += (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Runs the op's reference kernel (ir/ref_layout.c).  The reference kernels
 * read and write NCHW; an operand laid out NHWC (a 4-D value with layout
 * NC_LAYOUT_NHWC, assigned by passes/assign_layout.c) is converted to NCHW
 * around the call, so any node of any graph can fall back to them. */
void nc_ref_run(const NcKernelArgs *k);

#endif
