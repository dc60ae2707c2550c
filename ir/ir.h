/* ir.h — netc's graph IR.
 *
 * A graph is a list of nodes in topological order over SSA values.  A value is
 * a tensor with a static shape, a dtype and a layout; it is a graph input, a
 * named parameter (whose name is exactly timm's state_dict key, and whose
 * storage the graph owns once weights are bound), or the output of one node.
 * What an op means — arity, shape rule, reference kernel, cost, fusion class —
 * lives in one table (ops.h); nothing else in netc switches over op kinds.
 */
#ifndef NETC_IR_H
#define NETC_IR_H

#include "runtime/support/base.h"

#define NC_MAXDIM 6
#define NC_MAXIN  16
#define NC_MAXOUT 16

/* NC_BF16 / NC_I8 parameters: weights codegen stored in reduced precision for
 * the one kernel that reads them (netc compile --precision; NcValue.nbytes).
 * An NC_BF16 intermediate (NC_VAL_NODE): an activation stored as bf16 between
 * two generated kernels that read and write it so (passes/assign_dtype.c);
 * the memory plan gives it 2 bytes an element.  Every other activation is f32. */
typedef enum { NC_F32, NC_F16, NC_BF16, NC_I32, NC_I8 } NcDtype;
/* NC_LAYOUT_PACKED: a parameter whose data codegen has repacked for the one
 * node that reads it (nc_cg_pack_weights); its shape still says the logical
 * [O, I, ...], its data is not in that order.  NC_LAYOUT_WINO_F4 / _F2: a
 * 3x3 conv filter, data still [O, I, 3, 3], that codegen runs by Winograd
 * F(4x4, 3x3) / F(2x2, 3x3) and the program transforms when it loads
 * (codegen/cpu/cg_winograd.h). */
typedef enum {
    NC_LAYOUT_NCHW,
    NC_LAYOUT_NHWC,
    NC_LAYOUT_ROWMAJOR,
    NC_LAYOUT_PACKED,
    NC_LAYOUT_WINO_F4,
    NC_LAYOUT_WINO_F2
} NcLayout;
typedef enum { NC_VAL_INPUT, NC_VAL_PARAM, NC_VAL_NODE } NcValKind;

/* Which role a parameter plays; the deterministic initialiser and the weight
 * loader care (BN statistics are buffers in timm, not parameters). */
typedef enum { NC_PARAM_WEIGHT, NC_PARAM_BIAS, NC_PARAM_BN_MEAN, NC_PARAM_BN_VAR } NcParamRole;

typedef struct NcValue {
    int id;
    NcValKind kind;
    int ndim;
    int64_t shape[NC_MAXDIM];
    NcDtype dtype;
    NcLayout layout;
    int producer;     /* node index for NC_VAL_NODE, else -1 */
    char *name;       /* parameters: timm name; inputs: their name; else NULL */
    NcParamRole role; /* parameters only */
    float *data;      /* parameters: storage once bound, else NULL */
    int64_t nbytes;   /* parameters: bytes of data when not nc_numel x 4 (reduced precision, packed by codegen) */
} NcValue;

/* One attribute record serves every op; the op table says which fields an op
 * reads (NC_ATTR_* mask), so the printer and verifier need no per-op code. */
/* An epilogue step applied to an anchor op's output, element by element, in
 * order: an activation, or + / * with one more input of the node (which may
 * broadcast, e.g. a [N, C, 1, 1] channel scale).  Fusion passes fill these. */
typedef enum { NC_EPI_RELU, NC_EPI_CLAMP, NC_EPI_SILU, NC_EPI_SIGMOID, NC_EPI_ADD, NC_EPI_MUL } NcEpiKind;
#define NC_MAX_EPI 4
typedef struct NcEpilogue {
    NcEpiKind kind;
    int input; /* NC_EPI_ADD / NC_EPI_MUL: index into the node's inputs */
    float lo, hi;
} NcEpilogue;

typedef struct NcAttrs {
    int kernel[2];   /* kh, kw */
    int stride[2];   /* sh, sw */
    int dilation[2]; /* dh, dw */
    int pad[4];      /* top, left, bottom, right */
    int groups;
    int ceil_mode;
    int count_include_pad;
    int axis;
    int radix, cardinality;
    int nsizes;
    int64_t sizes[NC_MAXOUT]; /* split sizes or reshape target */
    float eps;
    float lo, hi;     /* clamp bounds (relu6 is clamp(0, 6)) */
    int has_bias;     /* conv2d, linear: inputs[2] is a bias */
    int has_in_scale; /* conv2d: the next input, [N, C, 1, 1], scales the input channels first */
    int nepi;         /* conv2d, linear: fused epilogue steps */
    NcEpilogue epi[NC_MAX_EPI];
    /* training ops (ir/grad.h) */
    int act;        /* act_grad: the activation (an NcEpiKind: relu, clamp with lo/hi, silu, sigmoid) */
    int loss;       /* cross_entropy: NcLossKind */
    float p;        /* dropout: drop probability; cross_entropy: label smoothing (NC_LOSS_WEIGHTED) */
    float gamma;    /* cross_entropy: the focal loss's gamma */
    uint32_t salt;  /* dropout: this node's random stream */
    int per_sample; /* dropout: one draw per sample (drop-path), else one per element */
} NcAttrs;

/* The losses of cross_entropy(logits [N, K], target [N, K][, class weight [K]]) -> [1]:
 *   NC_LOSS_SOFT      mean over n of sum_k -t[n,k] log softmax(z)[n,k]  (timm's SoftTargetCrossEntropy;
 *                     label smoothing s is the target (1-s) onehot + s/K, as timm's LabelSmoothingCrossEntropy)
 *   NC_LOSS_WEIGHTED  torch's CrossEntropyLoss(weight=w, label_smoothing=p) on hard labels (target one-hot):
 *                     sum_n [(1-p) w[y] (-log p_y) + p/K sum_k w[k] (-log p_k)] / sum_n w[y_n]
 *   NC_LOSS_FOCAL     mean over n of sum_k -t[n,k] (1 - p_k)^gamma log p_k  (focal loss; gamma 0 is SOFT) */
typedef enum { NC_LOSS_SOFT, NC_LOSS_WEIGHTED, NC_LOSS_FOCAL } NcLossKind;

enum {
    NC_ATTR_KERNEL = 1 << 0,
    NC_ATTR_STRIDE = 1 << 1,
    NC_ATTR_DILATION = 1 << 2,
    NC_ATTR_PAD = 1 << 3,
    NC_ATTR_GROUPS = 1 << 4,
    NC_ATTR_CEIL = 1 << 5,
    NC_ATTR_INCLUDE_PAD = 1 << 6,
    NC_ATTR_AXIS = 1 << 7,
    NC_ATTR_RADIX = 1 << 8,
    NC_ATTR_SIZES = 1 << 9,
    NC_ATTR_EPS = 1 << 10,
    NC_ATTR_CLAMP = 1 << 11,
    NC_ATTR_EPILOGUE = 1 << 12,
    NC_ATTR_TRAIN = 1 << 13, /* loss, p, gamma, salt, per_sample */
    NC_ATTR_ACT = 1 << 14,
};

typedef enum {
#define NC_OP(id, name) NC_OP_##id,
#include "ir/ops.def"
#undef NC_OP
    NC_OP_COUNT
} NcOpKind;

typedef struct NcNode {
    NcOpKind op;
    int ninputs, noutputs;
    int inputs[NC_MAXIN];   /* value ids */
    int outputs[NC_MAXOUT]; /* value ids */
    NcAttrs attrs;
    char *scope;  /* the name scope that made it (e.g. "layer1.0.conv2"), for messages */
    int out_over; /* 1 + the input whose storage the output may take (passes/epilogue_inplace.c), 0: none */
} NcNode;

/* How images become the model's input: timm's pretrained_cfg values
 * (crop_pct, interpolation, mean, std), set in a description with
 * preprocess(...).  interp: 0 bicubic, 1 bilinear (NcInterp). */
typedef struct NcPreprocess {
    int set; /* 0: timm's defaults (0.875, bicubic, ImageNet mean/std) */
    float crop_pct;
    int interp;
    float mean[3], std[3];
} NcPreprocess;
NcPreprocess nc_preprocess_default(void);

typedef struct NcGraph {
    char *name;
    NcPreprocess pre;
    NC_VEC(NcValue) values;
    NC_VEC(NcNode) nodes;
    NC_VEC(int) inputs;  /* value ids */
    NC_VEC(int) outputs; /* value ids */
    int train_step;      /* set by passes/autodiff.c: outputs are loss, logits, gradients, statistics */
} NcGraph;

NcGraph *nc_graph_new(const char *name);
void nc_graph_free(NcGraph *g);

static inline NcValue *nc_val(const NcGraph *g, int id) { return &g->values.data[id]; }
/* A 4-D activation stored [N, H, W, C] (its shape still says [N, C, H, W]). */
static inline int nc_is_nhwc(const NcValue *v) { return v->ndim == 4 && v->layout == NC_LAYOUT_NHWC; }
int64_t nc_numel(const NcValue *v);
static inline int64_t nc_dtype_size(NcDtype d) { return d == NC_F16 || d == NC_BF16 ? 2 : d == NC_I8 ? 1 : 4; }
/* Bytes of an intermediate as the memory plan stores it (numel x its dtype's size). */
static inline int64_t nc_act_bytes(const NcValue *v) { return nc_numel(v) * nc_dtype_size(v->dtype); }
/* Bytes of a parameter's data as stored: nbytes when set, else numel x the dtype's size. */
static inline int64_t nc_param_bytes(const NcValue *v) {
    if (v->nbytes) return v->nbytes;
    return nc_numel(v) * nc_dtype_size(v->dtype);
}
/* Limits that keep every size computation far from overflow: 2^38 elements
 * (1 TB of f32) per tensor, a million nodes per graph. */
#define NC_MAX_NUMEL ((int64_t)1 << 38)
#define NC_MAX_NODES 1000000
int nc_shape_fits(int ndim, const int64_t *shape);
int nc_shape_eq(const NcValue *a, const NcValue *b);
/* "[1, 64, 56, 56]" into buf. */
const char *nc_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);

int nc_graph_add_input(NcGraph *g, const char *name, int ndim, const int64_t *shape);
/* Fails if a parameter of that name exists already (two layers under one name). */
int nc_graph_add_param(NcGraph *g, const char *name, NcParamRole role, int ndim, const int64_t *shape, NcError *e);
int nc_graph_find_param(const NcGraph *g, const char *name);
/* Appends a node, runs the op's shape rule and creates its outputs.  On success
 * returns the node index; on a shape error returns -1 with a message. */
int nc_graph_add_node(NcGraph *g, NcOpKind op, int ninputs, const int *inputs, const NcAttrs *attrs, const char *scope,
                      NcError *e);
NcAttrs nc_attrs_default(void);
/* Makes node ni an `op` on the same inputs and attributes (batch_norm into
 * batch_norm_train): its outputs keep their values and shapes, outputs the
 * new op has beyond them are created. */
int nc_graph_retype_node(NcGraph *g, int ni, NcOpKind op, NcError *e);

/* Every node's inputs defined before use, shapes re-derived and equal, params
 * named uniquely: the invariant every pass must keep. */
int nc_graph_verify(const NcGraph *g, NcError *e);

/* Text form of the graph (netc dump). */
void nc_graph_print(const NcGraph *g, FILE *out);

/* Parameter statistics. */
int64_t nc_graph_param_count(const NcGraph *g); /* timm's count: excludes BN running stats */
double nc_graph_macs(const NcGraph *g);         /* convolutions and linear layers only */

#endif
