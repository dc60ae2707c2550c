/* cu_lower.c — a planned graph as device work: the rule table (one row per
 * way of running an op on the device, tried in order) and what each rule
 * makes of a node — launches of the kernels described in cu_kernels.h,
 * cu_conv.h, cu_pool.h, ..., and GEMMs (runtime/device/device.h). */
#include "codegen/cuda/cu_lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/cu_attn.h"
#include "codegen/cuda/cu_bf16.h"
#include "codegen/cuda/cu_bn_split.h"
#include "codegen/cuda/cu_conv.h"
#include "codegen/cuda/cu_copy.h"
#include "codegen/cuda/cu_kernels.h"
#include "codegen/cuda/cu_loss.h"
#include "codegen/cuda/cu_pool.h"
#include "codegen/cuda/cu_softmax.h"
#include "codegen/cuda/cu_train.h"
#include "codegen/cuda/cu_optim.h"
#include "ir/ops.h"

#define SCRATCH_ALIGN 256 /* bytes: a scratch buffer starts aligned for any access */
/* im2col's columns at most: beyond, images in chunks.  NETC_CUDA_COL_BYTES
 * sets it lower, so that tests reach the chunked paths at small sizes. */
static int64_t col_bytes_max(void) {
    const char *s = getenv("NETC_CUDA_COL_BYTES");
    return s && atoll(s) > 0 ? atoll(s) : (int64_t)256 << 20;
}
#define COL_BYTES_MAX col_bytes_max()
/* Values a reduction sums from which the training step splits it over many blocks: a batch norm's per channel
 * (cu_bn_split.h), a depthwise conv's weight gradient's per weight (cu_conv.h's split form).  One block per
 * channel leaves a GPU idle on the large early planes (resnet50's 64-channel layer-1 norms at batch 128: 64
 * blocks for an H200's 132 SMs, 401 408 values each, measured at 7-8x their memory traffic there).
 * NETC_CUDA_SPLIT sets it (1: every one), so that tests reach the split forms. */
static int64_t split_min(void) {
    const char *s = getenv("NETC_CUDA_SPLIT");
    return s && atoll(s) > 0 ? atoll(s) : 16384;
}
#define NC_CU_MAX_SMEM_FLOATS     12288 /* a block's shared memory at most (48 KB: cu_kernel.c's check) */
#define DIRECT_CONV_MAX_GROUP_OUT 1     /* channels per group up to which a conv is direct (depthwise) */

/* The generators, each as an NcCuDescFn over its own parameter struct. */
#define DESC_FN(fn, T)                                                                                                 \
    static void fn##_any(NcCuDesc *d, const char *name, const void *p) { fn(d, name, (const T *)p); }
DESC_FN(nc_cu_eltwise_desc, NcCuEltwise)
DESC_FN(nc_cu_row_mean_desc, NcCuRowMean)
DESC_FN(nc_cu_softmax_desc, NcCuSoftmax)
DESC_FN(nc_cu_im2col_desc, NcCuIm2col)
DESC_FN(nc_cu_conv_desc, NcCuConv)
DESC_FN(nc_cu_dwconv_tiled_desc, NcCuConv)
DESC_FN(nc_cu_se_gate_desc, NcCuSeGate)
DESC_FN(nc_cu_global_max_pool_desc, NcCuRowMax)
DESC_FN(nc_cu_pool_desc, NcCuPool)
DESC_FN(nc_cu_copy_desc, NcCuCopy)
DESC_FN(nc_cu_bf16_desc, NcCuBf16)
DESC_FN(nc_cu_bf16_widen_desc, NcCuBf16)
DESC_FN(nc_cu_radix_gap_desc, NcCuSplitAttn)
DESC_FN(nc_cu_radix_combine_desc, NcCuSplitAttn)
DESC_FN(nc_cu_radix_softmax_desc, NcCuRadixSoftmax)
DESC_FN(nc_cu_col2im_desc, NcCuIm2col)
DESC_FN(nc_cu_dropout_desc, NcCuDropout)
DESC_FN(nc_cu_bn_fold_desc, NcCuBnFold)
DESC_FN(nc_cu_pool_grad_desc, NcCuPool)
DESC_FN(nc_cu_radix_softmax_grad_desc, NcCuRadixSoftmax)
DESC_FN(nc_cu_radix_combine_grad_desc, NcCuSplitAttn)
DESC_FN(nc_cu_conv_grad_input_desc, NcCuConv)
DESC_FN(nc_cu_conv_grad_weight_desc, NcCuConv)
DESC_FN(nc_cu_wgrad_split_partials_desc, NcCuWgradSplit)
DESC_FN(nc_cu_wgrad_split_finalize_desc, NcCuWgradSplit)
DESC_FN(nc_cu_bn_train_desc, NcCuBnTrain)
DESC_FN(nc_cu_bn_train_grad_desc, NcCuBnTrain)
DESC_FN(nc_cu_bn_split_partials_desc, NcCuBnSplit)
DESC_FN(nc_cu_bn_split_finalize_desc, NcCuBnSplit)
DESC_FN(nc_cu_bn_split_apply_desc, NcCuBnSplit)
DESC_FN(nc_cu_bn_split_grad_partials_desc, NcCuBnSplit)
DESC_FN(nc_cu_bn_split_grad_finalize_desc, NcCuBnSplit)
DESC_FN(nc_cu_bn_split_grad_apply_desc, NcCuBnSplit)
DESC_FN(nc_cu_act_grad_desc, NcCuActGrad)
DESC_FN(nc_cu_sum_to_desc, NcCuSumTo)
DESC_FN(nc_cu_cross_entropy_desc, NcCuCrossEntropy)
DESC_FN(nc_cu_cross_entropy_grad_desc, NcCuCrossEntropy)
DESC_FN(nc_cu_softmax_axis_desc, NcCuSoftmaxAxis)
DESC_FN(nc_cu_softmax_grad_desc, NcCuSoftmaxGrad)
DESC_FN(nc_cu_zeros_desc, NcCuZeros)

/* A node being lowered. */
typedef struct Lower {
    NcCuLowering *L;
    NcCuProgram *P;
    const NcGraph *g;
    const NcPlan *plan;
    const NcNode *nd;
    int node;
    const char *what; /* the rule's name, each step's (profiles) */
    int64_t scratch;  /* bytes of the program's scratch this node has taken */
    int32_t tactic;   /* steps made now belong to form `form` of conv tactic - 1 (0: to no choice) */
    int32_t form;
} Lower;

static const NcValue *in_v(const Lower *l, int j) { return nc_val(l->g, l->nd->inputs[j]); }
static const NcValue *out_v(const Lower *l, int j) { return nc_val(l->g, l->nd->outputs[j]); }
static NcDevRef value_ref(int v, int64_t floats) { return (NcDevRef){NC_DEV_REF_VALUE, v, floats * 4}; }
static NcDevRef in_ref(const Lower *l, int j) { return value_ref(l->nd->inputs[j], 0); }
static NcDevRef out_ref(const Lower *l, int j) { return value_ref(l->nd->outputs[j], 0); }
static NcDevRef at(NcDevRef r, int64_t floats) { return r.offset += floats * 4, r; }

/* `floats` of this node's scratch (the program's scratch is the most any node takes). */
static NcDevRef scratch(Lower *l, int64_t floats) {
    const NcDevRef r = {NC_DEV_REF_SCRATCH, -1, l->scratch};
    l->scratch += (floats * 4 + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
    if (l->scratch > l->P->scratch_bytes) l->P->scratch_bytes = l->scratch;
    return r;
}

/* The index of the kernel (desc, params): an equal request made before is shared. */
static int kernel(Lower *l, NcCuDescFn desc, const void *params, size_t size) {
    NcCuLowering *L = l->L;
    for (int i = 0; i < L->kernels.len; i++) {
        const NcCuKernelReq *r = &L->kernels.data[i];
        if (r->desc == desc && r->size == size && !memcmp(r->params, params, size)) return i;
    }
    NcCuKernelReq r = {.desc = desc, .params = nc_malloc(size), .size = size};
    memcpy(r.params, params, size);
    snprintf(r.name, sizeof r.name, "nck%d", L->kernels.len);
    nc_vec_push(&L->kernels, r);
    return L->kernels.len - 1;
}

static void push_step(Lower *l, NcDevStep *s) {
    s->node = l->node;
    s->tactic = l->tactic, s->form = l->form;
    snprintf(s->what, sizeof s->what, "%s", l->what);
    nc_vec_push(&l->P->steps, *s);
}

static void launch(Lower *l, NcCuDescFn desc, const void *params, size_t size, int nparams, const NcDevRef *refs) {
    NcDevStep s;
    memset(&s, 0, sizeof s);
    NC_CHECK(nparams <= NC_DEV_MAXPARAMS && nparams <= NC_CU_MAXPARAMS);
    s.kind = NC_DEV_STEP_LAUNCH, s.kernel = kernel(l, desc, params, size), s.nparams = nparams;
    memcpy(s.ref, refs, (size_t)nparams * sizeof *refs);
    push_step(l, &s);
}

/* A batch of `batch` products m x n x k (B transposed with trans_b), operands
 * `sa`, `sb`, `sc` elements apart from one product to the next; a and b bf16
 * with `bf16` (cublasGemmEx), else f32. */
static void gemm_step(Lower *l, int64_t m, int64_t n, int64_t k, int trans_b, int64_t batch, NcDevRef a, int64_t sa,
                      NcDevRef b, int64_t sb, NcDevRef c, int64_t sc, int bf16) {
    NcDevStep s;
    memset(&s, 0, sizeof s);
    s.kind = NC_DEV_STEP_GEMM, s.nparams = 3;
    s.ref[0] = a, s.ref[1] = b, s.ref[2] = c;
    s.gemm = (NcDevGemm){.m = m, .n = n, .k = k, .trans_b = trans_b, .batch = batch, .tf32 = l->L->tf32, .bf16 = bf16};
    s.gemm.stride_a = sa, s.gemm.stride_b = sb, s.gemm.stride_c = sc;
    push_step(l, &s);
}

/* --precision bf16: `floats` values at src rounded to bf16 into this node's
 * scratch by cu_bf16.h's kernel (2 bytes each, the same element offsets). */
static NcDevRef to_bf16(Lower *l, NcDevRef src, int64_t floats) {
    const NcDevRef dst = scratch(l, (floats + 1) / 2);
    const NcCuBf16 p = {.n = floats};
    const NcDevRef refs[2] = {src, dst};
    launch(l, nc_cu_bf16_desc_any, &p, sizeof p, 2, refs);
    return dst;
}
/* An operand of a bf16 GEMM (or of the cuDNN form's conv): an inference
 * program's weight (a parameter: the same from one run to the next) rounded
 * once, when the program loads, by an init step into the program's stored
 * copies — the same kernel, so the same bits — and shared by every GEMM that
 * reads it; anything else rounded each run by to_bf16: activations, and a
 * training bundle's weights (its optimizer changes them at every step).
 * NETC_CUDA_BF16_WEIGHTS=each-run at compile time rounds the weights each
 * run too (an A/B switch for tests). */
static NcDevRef bf16_operand(Lower *l, NcDevRef src, int64_t floats) {
    const char *s = getenv("NETC_CUDA_BF16_WEIGHTS");
    if (l->L->params_change || src.space != NC_DEV_REF_VALUE || nc_val(l->g, src.value)->kind != NC_VAL_PARAM ||
        (s && !strcmp(s, "each-run")))
        return to_bf16(l, src, floats);
    NcCuProgram *P = l->P;
    const NcCuBf16 p = {.n = floats};
    const int k = kernel(l, nc_cu_bf16_desc_any, &p, sizeof p);
    for (int i = 0; i < P->init.len; i++)
        if (P->init.data[i].kernel == k && !memcmp(&P->init.data[i].ref[0], &src, sizeof src))
            return P->init.data[i].ref[1];
    NcDevStep st;
    memset(&st, 0, sizeof st);
    st.kind = NC_DEV_STEP_LAUNCH, st.kernel = k, st.nparams = 2, st.node = l->node;
    st.ref[0] = src, st.ref[1] = (NcDevRef){NC_DEV_REF_STORED, -1, P->stored_bytes};
    snprintf(st.what, sizeof st.what, "bf16 weights");
    P->stored_bytes += (floats * 2 + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
    nc_vec_push(&P->init, st);
    return st.ref[1];
}
static NcDevRef at16(NcDevRef r, int64_t elems) { return r.offset += elems * 2, r; }
/* The elements a batch of `batch` operands of `one` elements, `stride` apart, spans. */
static int64_t span(int64_t batch, int64_t stride, int64_t one) {
    return batch > 1 && stride ? (batch - 1) * stride + one : one;
}

/* Whether this node's GEMMs take bf16 operands.  NETC_CUDA_BF16=grads at
 * compile time keeps the forward's in f32: a training step's gradients move
 * by up to 40% when its forward's activations move by 0.2% (batch norm on a
 * batch of 2-16; measured on fmnist_resnet, conv_zoo, resnet18 in f32 too),
 * which would hide an error in the backward's bf16 GEMMs from a test. */
static int node_bf16(const Lower *l) {
    if (!l->L->bf16) return 0;
    const char *s = getenv("NETC_CUDA_BF16");
    const int op = l->nd->op;
    const int forward = op == NC_OP_CONV2D || op == NC_OP_LINEAR || op == NC_OP_SQUEEZE_EXCITE;
    return !(s && !strcmp(s, "grads") && forward);
}

/* A GEMM step, as gemm_step; with --precision bf16 its operands rounded to
 * bf16 first (bf16_operand: an inference program's weights once, at load),
 * into scratch released after it — the steps run in order, so the next
 * GEMM's copies reuse it. */
static void gemm(Lower *l, int64_t m, int64_t n, int64_t k, int trans_b, int64_t batch, NcDevRef a, int64_t sa,
                 NcDevRef b, int64_t sb, NcDevRef c, int64_t sc) {
    if (!node_bf16(l)) {
        gemm_step(l, m, n, k, trans_b, batch, a, sa, b, sb, c, sc, 0);
        return;
    }
    const int64_t mark = l->scratch;
    const NcDevRef a16 = bf16_operand(l, a, span(batch, sa, m * k)), b16 = bf16_operand(l, b, span(batch, sb, k * n));
    gemm_step(l, m, n, k, trans_b, batch, a16, sa, b16, sb, c, sc, 1);
    l->scratch = mark;
}

/* C += A . B (one GEMM, no batch): a sum over a batch taken in chunks */
static void gemm_acc(Lower *l, int64_t m, int64_t n, int64_t k, NcDevRef a, NcDevRef b, NcDevRef c, int accumulate) {
    gemm(l, m, n, k, 0, 1, a, 0, b, 0, c, 0);
    l->P->steps.data[l->P->steps.len - 1].gemm.accumulate = accumulate;
}

/* --- elementwise chains --------------------------------------------------- */

/* An elementwise kernel under construction: its parameters and their places. */
typedef struct Ew {
    NcCuEltwise k;
    NcDevRef ref[NC_CU_MAXPARAMS];
} Ew;

/* x -> y over a tensor shaped like v ([n, c, rest...]). */
static void ew_init(Ew *w, NcDevRef x, NcDevRef y, const NcValue *v) {
    memset(w, 0, sizeof *w);
    w->k.n = v->shape[0], w->k.c = v->ndim > 1 ? v->shape[1] : 1;
    w->k.hw = nc_numel(v) / (w->k.n * w->k.c);
    w->k.nparams = 2, w->ref[0] = x, w->ref[1] = y;
}

static int ew_operand(Ew *w, NcDevRef r) {
    if (w->k.nparams == NC_CU_MAXPARAMS) return -1;
    w->ref[w->k.nparams] = r;
    return w->k.nparams++;
}

static int ew_step(Ew *w, NcCuEwStep s) {
    if (w->k.nsteps == NC_CU_EW_MAXSTEPS) return -1;
    w->k.step[w->k.nsteps++] = s;
    return 0;
}

/* Which element of operand v goes with each of y's: NC_CU_EW_ADD / MUL's
 * own (same size), one per (image, channel), one per channel; -1 other
 * broadcasts (not lowered). */
enum { PER_ELEMENT, PER_IMAGE_CHANNEL, PER_CHANNEL };
static int per(const NcValue *v, const NcValue *y) {
    if (nc_numel(v) == nc_numel(y)) return PER_ELEMENT;
    if (v->ndim != y->ndim || y->ndim < 2 || v->shape[1] != y->shape[1]) return -1;
    for (int d = 2; d < v->ndim; d++)
        if (v->shape[d] != 1) return -1;
    return v->shape[0] == y->shape[0] ? PER_IMAGE_CHANNEL : v->shape[0] == 1 ? PER_CHANNEL : -1;
}

/* + or * with the node's input j as the kernels take it (at batch 1 one
 * value per (image, channel) is one per channel). */
static int ew_binary(Ew *w, const Lower *l, int is_mul, int j, const NcValue *y) {
    int p = per(in_v(l, j), y);
    if (y->shape[0] == 1 && p == PER_IMAGE_CHANNEL) p = PER_CHANNEL;
    NcCuEwKind kind;
    if (p == PER_ELEMENT)
        kind = is_mul ? NC_CU_EW_MUL : NC_CU_EW_ADD;
    else if (p == PER_CHANNEL && !is_mul)
        kind = NC_CU_EW_BIAS;
    else if ((p == PER_IMAGE_CHANNEL || (p == PER_CHANNEL && y->shape[0] == 1)) && is_mul)
        kind = NC_CU_EW_CHANNEL_MUL;
    else
        return -1;
    const int a = ew_operand(w, in_ref(l, j));
    return a < 0 ? -1 : ew_step(w, (NcCuEwStep){.kind = kind, .a = a});
}

/* + a bias (the node's input j, one value per channel) */
static int ew_bias(Ew *w, const Lower *l, int j) {
    const int a = ew_operand(w, in_ref(l, j));
    return a < 0 ? -1 : ew_step(w, (NcCuEwStep){.kind = NC_CU_EW_BIAS, .a = a});
}

static int ew_act(Ew *w, NcEpiKind kind, float lo, float hi) {
    static const NcCuEwKind of[] = {[NC_EPI_RELU] = NC_CU_EW_RELU,
                                    [NC_EPI_CLAMP] = NC_CU_EW_CLAMP,
                                    [NC_EPI_SILU] = NC_CU_EW_SILU,
                                    [NC_EPI_SIGMOID] = NC_CU_EW_SIGMOID};
    return ew_step(w, (NcCuEwStep){.kind = of[kind], .lo = lo, .hi = hi});
}

/* The node's fused epilogue steps (activations, + / * with more inputs). */
static int ew_epilogue(Ew *w, const Lower *l, const NcValue *y) {
    const NcAttrs *a = &l->nd->attrs;
    for (int s = 0; s < a->nepi; s++) {
        const NcEpilogue *ep = &a->epi[s];
        const int bad = ep->kind == NC_EPI_ADD || ep->kind == NC_EPI_MUL
                            ? ew_binary(w, l, ep->kind == NC_EPI_MUL, ep->input, y)
                            : ew_act(w, ep->kind, ep->lo, ep->hi);
        if (bad) return -1;
    }
    return 0;
}

static void ew_launch(Lower *l, const Ew *w) {
    launch(l, nc_cu_eltwise_desc_any, &w->k, sizeof w->k, w->k.nparams, w->ref);
}

/* A contiguous copy of `floats` floats (an elementwise chain of no steps). */
static void copy(Lower *l, NcDevRef from, NcDevRef to, int64_t floats) {
    Ew w;
    memset(&w, 0, sizeof w);
    w.k.n = 1, w.k.c = 1, w.k.hw = floats, w.k.nparams = 2, w.ref[0] = from, w.ref[1] = to;
    ew_launch(l, &w);
}

/* --- the rules ------------------------------------------------------------ */

/* Is the output where the input lies (the memory planner made it a view)? */
static int planned_view(const Lower *l, int out, int64_t bytes_in) {
    const int x = l->nd->inputs[0];
    return nc_val(l->g, x)->kind == NC_VAL_NODE &&
           l->plan->offset[l->nd->outputs[out]] == l->plan->offset[x] + bytes_in;
}

static int lower_reshape(Lower *l) {
    if (planned_view(l, 0, 0)) return 0;
    copy(l, in_ref(l, 0), out_ref(l, 0), nc_numel(out_v(l, 0)));
    return 0;
}

/* The elements after axis `axis` of v (one step along it). */
static int64_t inner_size(const NcValue *v, int axis) {
    int64_t inner = 1;
    for (int d = axis + 1; d < v->ndim; d++) inner *= v->shape[d];
    return inner;
}

/* concat / split: one strided copy per piece into (out of) its slice of the whole */
static int lower_pieces(Lower *l, int is_concat) {
    const NcNode *nd = l->nd;
    const NcValue *whole = is_concat ? out_v(l, 0) : in_v(l, 0);
    const int npieces = is_concat ? nd->ninputs : nd->noutputs, axis = nd->attrs.axis;
    if (axis < 0 || axis >= whole->ndim) return -1;
    const int64_t inner = inner_size(whole, axis);
    int64_t off = 0;
    if (!is_concat) { /* every piece a view of the input: nothing to run */
        int views = 1;
        for (int j = 0; j < npieces; off += nd->attrs.sizes[j] * inner * 4, j++) views &= planned_view(l, j, off);
        if (views) return 0;
        off = 0;
    }
    for (int j = 0; j < npieces; j++) {
        const NcValue *p = is_concat ? in_v(l, j) : out_v(l, j);
        NcCuCopy c;
        memset(&c, 0, sizeof c);
        nc_cu_copy_slice(&c, p->ndim, p->shape, axis, whole->shape[axis], off, is_concat);
        const NcDevRef refs[2] = {is_concat ? in_ref(l, j) : in_ref(l, 0), is_concat ? out_ref(l, 0) : out_ref(l, j)};
        launch(l, nc_cu_copy_desc_any, &c, sizeof c, 2, refs);
        off += p->shape[axis];
    }
    return 0;
}

static int lower_transpose(Lower *l) {
    const NcValue *x = in_v(l, 0);
    NcCuCopy c;
    memset(&c, 0, sizeof c);
    nc_cu_copy_transpose(&c, x->ndim, x->shape, l->nd->attrs.sizes);
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_copy_desc_any, &c, sizeof c, 2, refs);
    return 0;
}

/* ResNeSt's split attention (cu_attn.h): radix_gap, radix_combine, radix_softmax */
static int lower_radix(Lower *l) {
    const NcNode *nd = l->nd;
    const NcValue *x = in_v(l, 0);
    const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), nd->ninputs > 1 ? in_ref(l, 1) : out_ref(l, 0)};
    if (nd->op == NC_OP_RADIX_SOFTMAX) {
        NcCuRadixSoftmax r;
        memset(&r, 0, sizeof r);
        r.n = x->shape[0], r.radix = nd->attrs.radix, r.card = nd->attrs.cardinality;
        r.rest = nc_numel(x) / (r.n * r.radix * r.card);
        launch(l, nc_cu_radix_softmax_desc_any, &r, sizeof r, 2, refs);
        return 0;
    }
    if (x->ndim != 4) return -1;
    NcCuSplitAttn a;
    memset(&a, 0, sizeof a);
    a.n = x->shape[0], a.radix = nd->attrs.radix, a.c = x->shape[1] / a.radix, a.hw = x->shape[2] * x->shape[3];
    if (nd->op == NC_OP_RADIX_GAP)
        launch(l, nc_cu_radix_gap_desc_any, &a, sizeof a, 2, refs);
    else
        launch(l, nc_cu_radix_combine_desc_any, &a, sizeof a, 3, refs);
    return 0;
}

/* relu, clamp, silu, sigmoid, add, mul (with their fused epilogues) */
static int lower_elementwise(Lower *l) {
    const NcNode *nd = l->nd;
    const NcValue *y = out_v(l, 0);
    const int binary = nd->op == NC_OP_ADD || nd->op == NC_OP_MUL;
    /* x is the operand of y's size; the other may broadcast (+ and * commute) */
    const int xi = binary && per(in_v(l, 0), y) != PER_ELEMENT ? 1 : 0;
    if (per(in_v(l, xi), y) != PER_ELEMENT) return -1;
    Ew w;
    ew_init(&w, in_ref(l, xi), out_ref(l, 0), y);
    int bad = 0;
    if (binary)
        bad = ew_binary(&w, l, nd->op == NC_OP_MUL, 1 - xi, y);
    else if (nd->op == NC_OP_RELU)
        bad = ew_act(&w, NC_EPI_RELU, 0, 0);
    else if (nd->op == NC_OP_CLAMP)
        bad = ew_act(&w, NC_EPI_CLAMP, nd->attrs.lo, nd->attrs.hi);
    else
        bad = ew_act(&w, nd->op == NC_OP_SILU ? NC_EPI_SILU : NC_EPI_SIGMOID, 0, 0);
    if (bad || ew_epilogue(&w, l, y)) return -1;
    ew_launch(l, &w);
    return 0;
}

/* A batch norm on its own (not after a conv): scale and shift per channel,
 * computed here from its parameters into the program's constants — or, in a
 * bundle that trains (its parameters change every step), by a kernel when
 * the program runs, from the device's weights as they are then. */
static int lower_batch_norm(Lower *l) {
    const NcValue *x = in_v(l, 0);
    const float *gamma = in_v(l, 1)->data, *beta = in_v(l, 2)->data, *mean = in_v(l, 3)->data, *var = in_v(l, 4)->data;
    if (x->ndim < 2) return -1;
    const int64_t C = x->shape[1], at0 = l->L->consts.len;
    NcDevRef scale = {NC_DEV_REF_CONST, -1, at0 * 4}, shift = {NC_DEV_REF_CONST, -1, (at0 + C) * 4};
    if (l->L->params_change) {
        const NcCuBnFold k = {C, (double)l->nd->attrs.eps};
        scale = scratch(l, 2 * C), shift = at(scale, C);
        const NcDevRef refs[5] = {in_ref(l, 1), scale, in_ref(l, 2), in_ref(l, 3), in_ref(l, 4)};
        launch(l, nc_cu_bn_fold_desc_any, &k, sizeof k, 5, refs);
    } else {
        if (!gamma || !beta || !mean || !var) return -1;
        for (int64_t c = 0; c < C; c++)
            nc_vec_push(&l->L->consts, (float)(gamma[c] / sqrt((double)var[c] + l->nd->attrs.eps)));
        for (int64_t c = 0; c < C; c++)
            nc_vec_push(&l->L->consts, (float)(beta[c] - mean[c] * (double)l->L->consts.data[at0 + c]));
    }
    Ew w;
    ew_init(&w, in_ref(l, 0), out_ref(l, 0), x);
    const int a = ew_operand(&w, scale);
    const int b = ew_operand(&w, shift);
    if (ew_step(&w, (NcCuEwStep){.kind = NC_CU_EW_SCALE_SHIFT, .a = a, .b = b})) return -1;
    ew_launch(l, &w);
    return 0;
}

/* A conv's input, or (an SE gate fused into it) its channels scaled into scratch first. */
static NcDevRef conv_input(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *x = in_v(l, 0);
    if (!a->has_in_scale) return in_ref(l, 0);
    const NcDevRef xs = scratch(l, nc_numel(x));
    Ew w;
    ew_init(&w, in_ref(l, 0), xs, x);
    const int s = ew_operand(&w, in_ref(l, nc_in_scale_input(a)));
    ew_step(&w, (NcCuEwStep){.kind = NC_CU_EW_CHANNEL_MUL, .a = s});
    ew_launch(l, &w);
    return xs;
}

/* Does the conv's bias and epilogue fit the elementwise kernel?  (Checked
 * before any step is made, so that a rule that cannot take a node leaves
 * nothing behind.) */
static int conv_epilogue_fits(const Lower *l) {
    Ew w;
    ew_init(&w, out_ref(l, 0), out_ref(l, 0), out_v(l, 0));
    if (l->nd->attrs.has_bias && ew_bias(&w, l, 2)) return 0;
    return ew_epilogue(&w, l, out_v(l, 0)) == 0;
}

/* The conv's (or linear layer's) bias and epilogue, in place on its output. */
static void conv_epilogue(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *y = out_v(l, 0);
    if (!a->has_bias && !a->nepi) return;
    Ew w;
    ew_init(&w, out_ref(l, 0), out_ref(l, 0), y);
    if (a->has_bias) NC_CHECK(ew_bias(&w, l, 2) == 0);
    NC_CHECK(ew_epilogue(&w, l, y) == 0);
    ew_launch(l, &w);
}

/* A conv's (G = 1) or linear layer's bias alone, or bias then relu, with
 * nothing else in its epilogue (no residual add, no other activation), goes
 * into its GEMM steps (cuBLASLt's CUBLASLT_EPILOGUE_BIAS / RELU_BIAS on a
 * GPU): NC_DEV_EPI_*, or 0 where it does not fit and the elementwise kernel
 * follows the GEMMs.  NETC_GEMM_EPILOGUE=0 at compile time keeps the old
 * form (at run time it makes every device run the fused steps unfused). */
static int fused_epilogue(const Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const char *s = getenv("NETC_GEMM_EPILOGUE");
    if ((s && !strcmp(s, "0")) || !a->has_bias || out_v(l, 0)->ndim < 2 ||
        nc_numel(in_v(l, 2)) != out_v(l, 0)->shape[1])
        return 0;
    if (a->nepi == 0) return NC_DEV_EPI_BIAS;
    return a->nepi == 1 && a->epi[0].kind == NC_EPI_RELU ? NC_DEV_EPI_BIAS_RELU : 0;
}

/* The GEMM step just made (the last step) given the node's epilogue `epi`:
 * its bias (input 2) indexed by C's rows (a conv: m = output channels) or
 * columns (a linear layer: n), and, for a device that does not fuse it, the
 * elementwise kernel over its output [n, c, hw] that applies it instead. */
static void fuse_into_last_gemm(Lower *l, int epi, int bias_rows, int64_t n, int64_t c, int64_t hw) {
    NcDevStep *st = &l->P->steps.data[l->P->steps.len - 1];
    NC_CHECK(st->kind == NC_DEV_STEP_GEMM && !st->gemm.accumulate);
    Ew w;
    memset(&w, 0, sizeof w);
    w.k.n = n, w.k.c = c, w.k.hw = hw, w.k.nparams = 2, w.ref[0] = w.ref[1] = st->ref[2];
    NC_CHECK(ew_bias(&w, l, 2) == 0);
    if (epi == NC_DEV_EPI_BIAS_RELU) NC_CHECK(ew_act(&w, NC_EPI_RELU, 0, 0) == 0);
    st->gemm.epilogue = epi, st->gemm.bias_rows = bias_rows;
    st->kernel = kernel(l, nc_cu_eltwise_desc_any, &w.k, sizeof w.k);
    st->nparams = 4, st->ref[3] = in_ref(l, 2);
}

/* y_(n, g) = W_g . B_(n, g) for `images` images and G groups, W_g [OG, K] at
 * w + g OG K, B_(n, g) [K, P] at b + n b_image + g K P, y_(n, g) at y + n
 * O P + g OG P: one batched GEMM per group over the images, or per image
 * over the groups, whichever makes fewer calls (RegNet's dozens of groups
 * at batch 1). */
static void group_gemms(Lower *l, int64_t images, int64_t G, int64_t OG, int64_t K, int64_t P, NcDevRef w, NcDevRef b,
                        int64_t b_image, NcDevRef y) {
    const int64_t O = OG * G, mark = l->scratch;
    const int h = node_bf16(l); /* each operand rounded once for all the groups' GEMMs */
    if (h) w = bf16_operand(l, w, O * K), b = to_bf16(l, b, span(images, b_image, G * K * P));
    if (G <= images)
        for (int64_t g = 0; g < G; g++)
            gemm_step(l, OG, P, K, 0, images, h ? at16(w, g * OG * K) : at(w, g * OG * K), 0,
                      h ? at16(b, g * K * P) : at(b, g * K * P), b_image, at(y, g * OG * P), O * P, h);
    else
        for (int64_t n = 0; n < images; n++)
            gemm_step(l, OG, P, K, 0, G, w, OG * K, h ? at16(b, n * b_image) : at(b, n * b_image), K * P,
                      at(y, n * O * P), OG * P, h);
    l->scratch = mark;
}

/* The conv over tensors x, w, y (a gradient node's inputs and output in
 * their places: dy is y) as the device layer's conv step of `kind` (cuDNN
 * on a GPU), where it takes it: cuDNN pads symmetrically (TF "same" padding
 * keeps the other form only).  With bf16 GEMMs its operands are bf16 too
 * (and so is its result). */
static int conv_desc(const Lower *l, const NcValue *x, const NcValue *w, const NcValue *y, int kind, NcDevConv *c) {
    const NcAttrs *a = &l->nd->attrs;
    if (a->pad[0] != a->pad[2] || a->pad[1] != a->pad[3] || x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return 0;
    memset(c, 0, sizeof *c);
    c->n = x->shape[0], c->c = x->shape[1], c->h = x->shape[2], c->w = x->shape[3];
    c->k = w->shape[0], c->r = w->shape[2], c->s = w->shape[3], c->p = y->shape[2], c->q = y->shape[3];
    for (int i = 0; i < 2; i++) c->stride[i] = a->stride[i], c->pad[i] = a->pad[i], c->dilation[i] = a->dilation[i];
    c->groups = a->groups, c->tf32 = l->L->tf32, c->bf16 = node_bf16(l), c->kind = kind;
    return 1;
}

/* The node's second form, the conv step over the tensors at xr, wr, yr (the
 * result where cd's kind says), made after the first form's steps as form
 * NC_DEV_FORM_CUDNN of tactic l->tactic.  With bf16 the two operands are
 * rounded to bf16 as the GEMM form's are (bf16_operand: an inference
 * program's weights once) and the bf16 result widened into its f32 place: one
 * more rounding than the GEMM form, whose GEMMs write f32.  `epilogue`: the
 * node's bias and epilogue follow in this form (the GEMM form fused them into
 * its GEMMs).  The node's later steps belong to no form. */
static void cudnn_form(Lower *l, const NcDevConv *cd, NcDevRef xr, NcDevRef wr, NcDevRef yr, int epilogue) {
    const int64_t numel[3] = {cd->n * cd->c * cd->h * cd->w, cd->k * (cd->c / cd->groups) * cd->r * cd->s,
                              cd->n * cd->k * cd->p * cd->q};
    const int out = cd->kind == NC_DEV_CONV_BWD_DATA ? 0 : cd->kind == NC_DEV_CONV_BWD_FILTER ? 1 : 2;
    const NcDevRef place[3] = {xr, wr, yr};
    NcDevStep st;
    memset(&st, 0, sizeof st);
    st.kind = NC_DEV_STEP_CONV, st.nparams = 3, st.conv = *cd;
    const char *rule = l->what;
    const int64_t mark = l->scratch;
    l->what = "cuda cudnn", l->form = NC_DEV_FORM_CUDNN;
    for (int i = 0; i < 3; i++)
        st.ref[i] = !cd->bf16  ? place[i]
                    : i == out ? scratch(l, (numel[i] + 1) / 2)
                               : bf16_operand(l, place[i], numel[i]);
    push_step(l, &st);
    if (cd->bf16) {
        const NcCuBf16 wp = {.n = numel[out]};
        const NcDevRef refs[2] = {st.ref[out], place[out]};
        launch(l, nc_cu_bf16_widen_desc_any, &wp, sizeof wp, 2, refs);
    }
    if (epilogue) conv_epilogue(l);
    l->scratch = mark;
    l->what = rule, l->tactic = 0, l->form = 0;
}

/* conv2d as GEMMs: per image and group, W_g [OG, CG KH KW] . col_g.  The
 * column matrix is x itself for a 1x1 stride-1 conv (pointwise), else made
 * by im2col (all groups at once, images in chunks under COL_BYTES_MAX).
 * Where cuDNN takes the conv, its conv step is the second form of the same
 * node (dev_program.h's tactic): the program times both at its first run
 * and keeps the faster; the epilogue after them is shared. */
static int lower_conv_gemm(Lower *l, int pointwise) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *x = in_v(l, 0), *w = in_v(l, 1), *y = out_v(l, 0);
    if (x->ndim != 4 || w->ndim != 4 || !conv_epilogue_fits(l)) return -1;
    const int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], O = y->shape[1];
    const int64_t P = y->shape[2] * y->shape[3], T = w->shape[2] * w->shape[3], G = a->groups;
    const int64_t OG = O / G, CG = C / G, KG = CG * T;
    const int epi = G == 1 ? fused_epilogue(l) : 0;
    if (epi) l->what = pointwise ? "cuda gemm+epilogue" : "cuda im2col+gemm+epi";
    const NcDevRef xr = conv_input(l), wr = in_ref(l, 1), yr = out_ref(l, 0);
    NcDevConv cd;
    const int two_forms = conv_desc(l, x, w, y, NC_DEV_CONV_FWD, &cd);
    if (two_forms) l->tactic = ++l->P->ntactics, l->form = NC_DEV_FORM_GEMM;
    if (pointwise) {
        group_gemms(l, N, G, OG, CG, P, wr, xr, C * HW, yr);
        if (epi) fuse_into_last_gemm(l, epi, 1, N, O, P);
    } else {
        const int64_t per_image = C * T * P;
        int64_t nb = N; /* images per chunk: the most that divides N with columns under the cap */
        while (nb > 1 && (N % nb || nb * per_image * 4 > COL_BYTES_MAX)) nb--;
        const NcDevRef col = scratch(l, nb * per_image);
        NcCuIm2col ic;
        memset(&ic, 0, sizeof ic);
        ic.g = nc_cu_win(a, x->shape, y->shape);
        ic.g.n = nb, ic.layout = NC_CU_COL_NKP;
        for (int64_t q = 0; q < N; q += nb) {
            const NcDevRef refs[2] = {at(xr, q * C * HW), col};
            launch(l, nc_cu_im2col_desc_any, &ic, sizeof ic, 2, refs);
            group_gemms(l, nb, G, OG, KG, P, wr, col, per_image, at(yr, q * O * P));
            if (epi) fuse_into_last_gemm(l, epi, 1, nb, O, P);
        }
    }
    if (two_forms) cudnn_form(l, &cd, xr, wr, yr, epi); /* the GEMM form's epilogue is in its GEMMs */
    if (!epi) conv_epilogue(l);
    return 0;
}

static int is_pointwise(const NcAttrs *a, const NcValue *w) {
    return w->shape[2] == 1 && w->shape[3] == 1 && a->stride[0] == 1 && a->stride[1] == 1 && !a->pad[0] && !a->pad[1] &&
           !a->pad[2] && !a->pad[3];
}

static int lower_conv_pointwise(Lower *l) {
    return is_pointwise(&l->nd->attrs, in_v(l, 1)) ? lower_conv_gemm(l, 1) : -1;
}
static int lower_conv_im2col(Lower *l) { return lower_conv_gemm(l, 0); }

/* Depthwise convs: a GEMM of one output row per group is all launch and no
 * work, so cu_conv.h's direct kernels with the epilogue fused — the tiled
 * one (input patches through shared memory) where it applies (one input
 * channel per group, taps and tile within its shared memory), else one
 * thread per output. */
static int lower_conv_direct(Lower *l, int tiled) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *x = in_v(l, 0), *w = in_v(l, 1), *y = out_v(l, 0);
    if (x->ndim != 4 || a->groups < 2 || y->shape[1] / a->groups > DIRECT_CONV_MAX_GROUP_OUT) return -1;
    if (tiled && (a->groups != x->shape[1] || y->shape[1] % a->groups || w->shape[2] > 16 || w->shape[3] > 16))
        return -1;
    Ew e; /* the epilogue's parameters after x, y, w */
    ew_init(&e, out_ref(l, 0), out_ref(l, 0), y);
    e.k.nparams = 3, e.ref[2] = in_ref(l, 1);
    if ((a->has_bias && ew_bias(&e, l, 2)) || ew_epilogue(&e, l, y)) return -1;
    e.ref[0] = conv_input(l);
    NcCuConv c;
    memset(&c, 0, sizeof c);
    c.g = nc_cu_win(a, x->shape, y->shape);
    c.o = y->shape[1], c.groups = a->groups, c.nsteps = e.k.nsteps, c.nparams = e.k.nparams;
    memcpy(c.step, e.k.step, sizeof c.step);
    NcCuDesc d;
    if (tiled) { /* its tile's input patch must fit the shared memory a description may ask for */
        nc_cu_dwconv_tiled_desc(&d, "probe", &c);
        if (d.smem_floats > NC_CU_MAX_SMEM_FLOATS) return -1;
    }
    NcDevConv cd; /* cuDNN's form, in f32 as the direct kernels (bf16 operands would cost their conversions) */
    const int two_forms = conv_desc(l, x, w, y, NC_DEV_CONV_FWD, &cd);
    if (two_forms) l->tactic = ++l->P->ntactics, l->form = NC_DEV_FORM_GEMM, cd.bf16 = 0;
    launch(l, tiled ? nc_cu_dwconv_tiled_desc_any : nc_cu_conv_desc_any, &c, sizeof c, c.nparams, e.ref);
    if (two_forms) cudnn_form(l, &cd, e.ref[0], in_ref(l, 1), out_ref(l, 0), 1);
    return 0;
}
static int lower_conv_dw_tiled(Lower *l) { return lower_conv_direct(l, 1); }
static int lower_conv_dw(Lower *l) { return lower_conv_direct(l, 0); }

/* linear: y [N, O] = x [N, I] . W^T (W stored [O, I]), then bias and epilogue. */
static int lower_linear(Lower *l) {
    const NcValue *x = in_v(l, 0), *w = in_v(l, 1), *y = out_v(l, 0);
    if (w->ndim != 2 || y->ndim != 2 || l->nd->attrs.has_in_scale || !conv_epilogue_fits(l)) return -1;
    const int64_t N = x->shape[0], I = w->shape[1], O = w->shape[0];
    const int epi = fused_epilogue(l);
    if (epi) l->what = "cuda gemm+epilogue";
    gemm(l, N, O, I, 1, 1, in_ref(l, 0), 0, in_ref(l, 1), 0, out_ref(l, 0), 0);
    if (epi)
        fuse_into_last_gemm(l, epi, 0, N, O, 1);
    else
        conv_epilogue(l);
    return 0;
}

static int lower_global_avg_pool(Lower *l) {
    const NcValue *x = in_v(l, 0);
    if (x->ndim != 4) return -1;
    NcCuRowMean r = {.rows = x->shape[0] * x->shape[1], .len = x->shape[2] * x->shape[3]};
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_row_mean_desc_any, &r, sizeof r, 2, refs);
    return 0;
}

static int lower_global_max_pool(Lower *l) {
    const NcValue *x = in_v(l, 0);
    if (x->ndim != 4) return -1;
    NcCuRowMax r = {.rows = x->shape[0] * x->shape[1], .len = x->shape[2] * x->shape[3]};
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_global_max_pool_desc_any, &r, sizeof r, 2, refs);
    return 0;
}

static int lower_softmax(Lower *l) {
    const NcValue *x = in_v(l, 0);
    const int axis = l->nd->attrs.axis;
    if (axis != x->ndim - 1) return -1; /* over the last axis: rows */
    NcCuSoftmax r = {.rows = nc_numel(x) / x->shape[axis], .len = x->shape[axis]};
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_softmax_desc_any, &r, sizeof r, 2, refs);
    return 0;
}

/* softmax along any other axis (over the channels of [N, C, H, W]: inner H W):
 * cu_softmax.h's one thread per (outer, inner) */
static NcCuSoftmaxAxis softmax_axis(const NcValue *x, int axis) {
    NcCuSoftmaxAxis k = {.len = x->shape[axis], .inner = inner_size(x, axis)};
    k.outer = nc_numel(x) / (k.len * k.inner);
    return k;
}

static int lower_softmax_axis(Lower *l) {
    const NcValue *x = in_v(l, 0);
    const int axis = l->nd->attrs.axis;
    if (axis < 0 || axis >= x->ndim) return -1;
    const NcCuSoftmaxAxis k = softmax_axis(x, axis);
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_softmax_axis_desc_any, &k, sizeof k, 2, refs);
    return 0;
}

/* softmax_grad(dy, y) = y (dy - sum(dy y)) along the axis (cu_softmax.h): a
 * block per row over the last axis, else one thread per (outer, inner) */
static int lower_softmax_grad(Lower *l) {
    const NcValue *y = in_v(l, 1);
    const int axis = l->nd->attrs.axis;
    if (axis < 0 || axis >= y->ndim) return -1;
    const NcCuSoftmaxGrad k = softmax_axis(y, axis);
    const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1)};
    launch(l, nc_cu_softmax_grad_desc_any, &k, sizeof k, 3, refs);
    return 0;
}

/* zeros: cu_train.h's fill kernel over the output (a split's unused part's
 * gradient; a parameter's the loss does not reach) */
static int lower_zeros(Lower *l) {
    const NcCuZeros k = {.n = nc_numel(out_v(l, 0))};
    if (k.n == 0) return 0;
    const NcDevRef refs[1] = {out_ref(l, 0)};
    launch(l, nc_cu_zeros_desc_any, &k, sizeof k, 1, refs);
    return 0;
}

/* squeeze_excite: gate [N, C, 1, 1] = sigmoid(W2 act(W1 mean(x) + b1) + b2),
 * act SiLU when the node says so, else ReLU (ir/ref_se.c): the mean by rows,
 * then cu_attn.h's gate kernel (a block per sample, the pooled row and the
 * hidden units in shared memory) ... */
static int lower_se_gate(Lower *l) {
    const NcValue *x = in_v(l, 0);
    const NcAttrs *a = &l->nd->attrs;
    if (x->ndim != 4) return -1;
    NcCuSeGate gk;
    memset(&gk, 0, sizeof gk);
    gk.n = x->shape[0], gk.c = x->shape[1], gk.r = in_v(l, 1)->shape[0];
    gk.act = a->nepi >= 1 && a->epi[0].kind == NC_EPI_SILU ? NC_EPI_SILU : NC_EPI_RELU;
    if (gk.c + gk.r > NC_CU_MAX_SMEM_FLOATS) return -1;
    const NcDevRef pooled = scratch(l, gk.n * gk.c);
    NcCuRowMean r = {.rows = gk.n * gk.c, .len = x->shape[2] * x->shape[3]};
    const NcDevRef mean_refs[2] = {in_ref(l, 0), pooled};
    launch(l, nc_cu_row_mean_desc_any, &r, sizeof r, 2, mean_refs);
    const NcDevRef refs[6] = {pooled, out_ref(l, 0), in_ref(l, 1), in_ref(l, 2), in_ref(l, 3), in_ref(l, 4)};
    launch(l, nc_cu_se_gate_desc_any, &gk, sizeof gk, 6, refs);
    return 0;
}

/* ... or, where the pooled row and the hidden units do not fit a block's
 * shared memory, each fc a GEMM against its weights transposed, the bias and
 * activation an elementwise kernel after it. */
static int lower_squeeze_excite(Lower *l) {
    const NcValue *x = in_v(l, 0), *y = out_v(l, 0);
    if (x->ndim != 4) return -1;
    const int64_t N = x->shape[0], C = x->shape[1], R = in_v(l, 1)->shape[0];
    const NcAttrs *a = &l->nd->attrs;
    const NcDevRef pooled = scratch(l, N * C), hidden = scratch(l, N * R);
    NcCuRowMean r = {.rows = N * C, .len = x->shape[2] * x->shape[3]};
    const NcDevRef mean_refs[2] = {in_ref(l, 0), pooled};
    launch(l, nc_cu_row_mean_desc_any, &r, sizeof r, 2, mean_refs);
    const int64_t shape_h[2] = {N, R}, shape_y[2] = {N, C};
    for (int fc = 0; fc < 2; fc++) {
        const int64_t o = fc ? C : R, i = fc ? R : C;
        const NcDevRef src = fc ? hidden : pooled, dst = fc ? out_ref(l, 0) : hidden;
        gemm(l, N, o, i, 1, 1, src, 0, in_ref(l, 1 + 2 * fc), 0, dst, 0);
        Ew w;
        NcValue v = {.ndim = 2};
        memcpy(v.shape, fc ? shape_y : shape_h, sizeof shape_h);
        ew_init(&w, dst, dst, &v);
        const int b = ew_operand(&w, in_ref(l, 2 + 2 * fc));
        ew_step(&w, (NcCuEwStep){.kind = NC_CU_EW_BIAS, .a = b});
        const int silu = a->nepi >= 1 && a->epi[0].kind == NC_EPI_SILU;
        ew_act(&w, fc ? NC_EPI_SIGMOID : silu ? NC_EPI_SILU : NC_EPI_RELU, 0, 0);
        ew_launch(l, &w);
    }
    (void)y;
    return 0;
}

static int lower_pool(Lower *l) {
    const NcValue *x = in_v(l, 0), *y = out_v(l, 0);
    if (x->ndim != 4) return -1;
    NcCuPool p;
    memset(&p, 0, sizeof p);
    p.g = nc_cu_win(&l->nd->attrs, x->shape, y->shape);
    p.is_max = l->nd->op == NC_OP_MAX_POOL2D, p.count_include_pad = l->nd->attrs.count_include_pad;
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_pool_desc_any, &p, sizeof p, 2, refs);
    return 0;
}

static int lower_concat(Lower *l) { return lower_pieces(l, 1); }
static int lower_split(Lower *l) { return lower_pieces(l, 0); }

/* --- the training step (netc compile --train --target cuda) ---------------- */

/* x [N, C, ...] as batch norm's [N, C, S], in `split` form where a channel has split_min() values or more
 * (zeroed first: the struct's bytes are the kernel's identity) */
static NcCuBnSplit bn_shape(const Lower *l, const NcValue *x) {
    NcCuBnSplit k;
    memset(&k, 0, sizeof k);
    k.bn.n = x->shape[0], k.bn.c = x->shape[1], k.bn.s = nc_numel(x) / (x->shape[0] * x->shape[1]);
    k.bn.eps = l->nd->attrs.eps;
    return k;
}

/* batch_norm_train(x, weight, bias) -> y, mean, var (biased) from the batch: a block per channel, or split
 * (partials per chunk of a channel, their combination per channel with weight / sqrt(var + eps) into
 * scratch, the elementwise apply) */
static int lower_bn_train(Lower *l) {
    const NcValue *x = in_v(l, 0);
    if (x->ndim < 2 || l->nd->attrs.nepi) return -1; /* a relu or clamp fused in: CPU programs only */
    const NcCuBnSplit k = bn_shape(l, x);
    if (k.bn.n * k.bn.s < split_min()) {
        const NcDevRef refs[6] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1),
                                  in_ref(l, 2), out_ref(l, 1), out_ref(l, 2)};
        launch(l, nc_cu_bn_train_desc_any, &k.bn, sizeof k.bn, 6, refs);
        return 0;
    }
    const NcDevRef part = scratch(l, nc_cu_bn_split_scratch(&k)), scale = scratch(l, k.bn.c);
    const NcDevRef r0[2] = {in_ref(l, 0), part};
    const NcDevRef r1[5] = {part, out_ref(l, 1), in_ref(l, 1), out_ref(l, 2), scale};
    const NcDevRef r2[5] = {in_ref(l, 0), out_ref(l, 0), out_ref(l, 1), scale, in_ref(l, 2)};
    launch(l, nc_cu_bn_split_partials_desc_any, &k, sizeof k, 2, r0);
    launch(l, nc_cu_bn_split_finalize_desc_any, &k, sizeof k, 5, r1);
    launch(l, nc_cu_bn_split_apply_desc_any, &k, sizeof k, 5, r2);
    return 0;
}

/* batch_norm_train_grad(dy, x, weight, mean, var) -> dx, dweight, dbias: a block per channel, or split as the
 * forward (the sums of dy and dy xhat per chunk, per channel with the apply's coefficients, the apply) */
static int lower_bn_train_grad(Lower *l) {
    const NcValue *x = in_v(l, 1);
    if (x->ndim < 2 || l->nd->ninputs != 5) return -1; /* an activation's gradient fused in: CPU programs only */
    const NcCuBnSplit k = bn_shape(l, x);
    if (k.bn.n * k.bn.s < split_min()) {
        const NcDevRef refs[8] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1),  in_ref(l, 2),
                                  in_ref(l, 3), in_ref(l, 4),  out_ref(l, 1), out_ref(l, 2)};
        launch(l, nc_cu_bn_train_grad_desc_any, &k.bn, sizeof k.bn, 8, refs);
        return 0;
    }
    const NcDevRef part = scratch(l, nc_cu_bn_split_scratch(&k)), coef = scratch(l, 3 * k.bn.c);
    const NcDevRef r0[5] = {in_ref(l, 0), part, in_ref(l, 1), in_ref(l, 3), in_ref(l, 4)};
    const NcDevRef r1[6] = {part, out_ref(l, 1), out_ref(l, 2), in_ref(l, 2), in_ref(l, 4), coef};
    const NcDevRef r2[5] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1), in_ref(l, 3), coef};
    launch(l, nc_cu_bn_split_grad_partials_desc_any, &k, sizeof k, 5, r0);
    launch(l, nc_cu_bn_split_grad_finalize_desc_any, &k, sizeof k, 6, r1);
    launch(l, nc_cu_bn_split_grad_apply_desc_any, &k, sizeof k, 5, r2);
    return 0;
}

/* act_grad(dy, x) */
static int lower_act_grad(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcCuActGrad k = {.n = nc_numel(out_v(l, 0)), .act = a->act, .lo = a->lo, .hi = a->hi};
    const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1)};
    launch(l, nc_cu_act_grad_desc_any, &k, sizeof k, 3, refs);
    return 0;
}

/* sum_to(x): the sum onto the shape x broadcasts from */
static int lower_sum_to(Lower *l) {
    const NcValue *x = in_v(l, 0), *y = out_v(l, 0);
    if (x->ndim > NC_CU_SUMTO_MAXDIM || y->ndim > x->ndim) return -1;
    NcCuSumTo k;
    memset(&k, 0, sizeof k);
    k.nd = x->ndim, k.ond = y->ndim;
    for (int d = 0; d < x->ndim; d++) k.xshape[d] = x->shape[d];
    for (int d = 0; d < y->ndim; d++) k.yshape[d] = y->shape[d];
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_sum_to_desc_any, &k, sizeof k, 2, refs);
    return 0;
}

/* cross_entropy(logits, target[, class weight]) and its gradient
 * cross_entropy_grad(dloss, logits, target[, class weight]) */
static int lower_cross_entropy(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const int grad = l->nd->op == NC_OP_CROSS_ENTROPY_GRAD;
    const NcValue *z = in_v(l, grad);
    if (z->ndim != 2) return -1;
    NcCuCrossEntropy k;
    memset(&k, 0, sizeof k);
    k.n = z->shape[0], k.k = z->shape[1], k.loss = a->loss, k.smoothing = a->p, k.gamma = a->gamma;
    const int weighted = a->loss == NC_LOSS_WEIGHTED;
    if (grad) {
        const NcDevRef refs[5] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1), in_ref(l, 2),
                                  weighted ? in_ref(l, 3) : in_ref(l, 2)};
        launch(l, nc_cu_cross_entropy_grad_desc_any, &k, sizeof k, 4 + weighted, refs);
    } else {
        const NcDevRef refs[4] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1), weighted ? in_ref(l, 2) : in_ref(l, 1)};
        launch(l, nc_cu_cross_entropy_desc_any, &k, sizeof k, 3 + weighted, refs);
    }
    return 0;
}

/* global_avg_pool_grad(dy [N, C(, 1, 1)]): dy / HW over each plane */
static int lower_gap_grad(Lower *l) {
    const NcValue *x = out_v(l, 0);
    if (x->ndim != 4) return -1;
    const int64_t hw = x->shape[2] * x->shape[3];
    NcCuCopy c;
    memset(&c, 0, sizeof c);
    nc_cu_copy_broadcast(&c, x->shape[0] * x->shape[1], hw, 1.0f / (float)hw);
    const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
    launch(l, nc_cu_copy_desc_any, &c, sizeof c, 2, refs);
    return 0;
}

/* linear_grad_input(dy [N, O], W [O, I]) = dy . W */
static int lower_linear_grad_input(Lower *l) {
    const NcValue *dy = in_v(l, 0), *w = in_v(l, 1);
    if (dy->ndim != 2 || w->ndim != 2) return -1;
    gemm(l, dy->shape[0], w->shape[1], w->shape[0], 0, 1, in_ref(l, 0), 0, in_ref(l, 1), 0, out_ref(l, 0), 0);
    return 0;
}

/* A [rows, cols] matrix transposed into scratch (the GEMM has no transposed A). */
static NcDevRef transposed(Lower *l, NcDevRef src, int nd, const int64_t *shape, const int64_t *perm) {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    const NcDevRef t = scratch(l, n);
    NcCuCopy c;
    memset(&c, 0, sizeof c);
    nc_cu_copy_transpose(&c, nd, shape, perm);
    const NcDevRef refs[2] = {src, t};
    launch(l, nc_cu_copy_desc_any, &c, sizeof c, 2, refs);
    return t;
}

/* linear_grad_weight(dy [N, O], x [N, I]) = dy^T . x: dy transposed first */
static int lower_linear_grad_weight(Lower *l) {
    const NcValue *dy = in_v(l, 0), *x = in_v(l, 1);
    if (dy->ndim != 2 || x->ndim != 2) return -1;
    const int64_t N = dy->shape[0], O = dy->shape[1], I = x->shape[1], perm[2] = {1, 0};
    const NcDevRef dyt = transposed(l, in_ref(l, 0), 2, dy->shape, perm);
    gemm(l, O, I, N, 0, 1, dyt, 0, in_ref(l, 1), 0, out_ref(l, 0), 0);
    return 0;
}

/* Depthwise and narrow-group convs' gradients: cu_conv.h's direct kernels
 * (params dy, dx or dw, then w or x). */
static int lower_conv_grad_direct(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const int wgrad = l->nd->op == NC_OP_CONV2D_GRAD_WEIGHT;
    const NcValue *dy = in_v(l, 0);
    const NcValue *x = wgrad ? in_v(l, 1) : out_v(l, 0), *w = wgrad ? out_v(l, 0) : in_v(l, 1);
    if (x->ndim != 4 || a->groups < 2 || dy->shape[1] / a->groups > DIRECT_CONV_MAX_GROUP_OUT) return -1;
    NcCuConv c;
    memset(&c, 0, sizeof c);
    c.g = nc_cu_win(a, x->shape, dy->shape);
    c.o = dy->shape[1], c.groups = a->groups, c.nparams = 3;
    NcDevConv cd; /* cuDNN's form, in f32 as the direct kernels */
    const int two_forms = conv_desc(l, x, w, dy, wgrad ? NC_DEV_CONV_BWD_FILTER : NC_DEV_CONV_BWD_DATA, &cd);
    if (two_forms) l->tactic = ++l->P->ntactics, l->form = NC_DEV_FORM_GEMM, cd.bf16 = 0;
    const NcDevRef xr = wgrad ? in_ref(l, 1) : out_ref(l, 0), wr = wgrad ? out_ref(l, 0) : in_ref(l, 1);
    if (wgrad && dy->shape[0] * dy->shape[2] * dy->shape[3] >= split_min()) { /* each weight's N OH OW, in chunks */
        NcCuWgradSplit k;
        memset(&k, 0, sizeof k);
        k.conv = c;
        const NcDevRef part = scratch(l, nc_cu_wgrad_split_scratch(&k));
        const NcDevRef r0[3] = {in_ref(l, 0), part, in_ref(l, 1)}, r1[2] = {part, out_ref(l, 0)};
        launch(l, nc_cu_wgrad_split_partials_desc_any, &k, sizeof k, 3, r0);
        launch(l, nc_cu_wgrad_split_finalize_desc_any, &k, sizeof k, 2, r1);
    } else {
        const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1)};
        launch(l, wgrad ? nc_cu_conv_grad_weight_desc_any : nc_cu_conv_grad_input_desc_any, &c, sizeof c, 3, refs);
    }
    if (two_forms) cudnn_form(l, &cd, xr, wr, in_ref(l, 0), 0);
    return 0;
}

/* conv2d_grad_input(dy, W) as GEMMs: W transposed per group once ([G, OG,
 * KG] -> [G, KG, OG]), per image and group dcol_g = W_g^T dy_g (the columns
 * in the [N][K][P] layout, images in chunks as the forward's), then col2im
 * gathers dx from them. */
static int lower_conv_grad_input_gemm(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *dy = in_v(l, 0), *w = in_v(l, 1), *x = out_v(l, 0);
    if (x->ndim != 4 || w->ndim != 4) return -1;
    const int64_t N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], O = dy->shape[1];
    const int64_t P = dy->shape[2] * dy->shape[3], T = w->shape[2] * w->shape[3], G = a->groups;
    const int64_t OG = O / G, KG = C / G * T, per_image = C * T * P;
    NcDevConv cd;
    const int two_forms = conv_desc(l, x, w, dy, NC_DEV_CONV_BWD_DATA, &cd);
    if (two_forms) l->tactic = ++l->P->ntactics, l->form = NC_DEV_FORM_GEMM;
    const int64_t wshape[3] = {G, OG, KG}, perm[3] = {0, 2, 1};
    const NcDevRef wt = transposed(l, in_ref(l, 1), 3, wshape, perm);
    int64_t nb = N;
    while (nb > 1 && (N % nb || nb * per_image * 4 > COL_BYTES_MAX)) nb--;
    const NcDevRef col = scratch(l, nb * per_image);
    NcCuIm2col ic;
    memset(&ic, 0, sizeof ic);
    ic.g = nc_cu_win(a, x->shape, dy->shape);
    ic.g.n = nb, ic.layout = NC_CU_COL_NKP;
    for (int64_t q = 0; q < N; q += nb) {
        group_gemms(l, nb, G, KG, OG, P, wt, at(in_ref(l, 0), q * O * P), O * P, col);
        const NcDevRef refs[2] = {col, at(out_ref(l, 0), q * C * HW)};
        launch(l, nc_cu_col2im_desc_any, &ic, sizeof ic, 2, refs);
    }
    if (two_forms) cudnn_form(l, &cd, out_ref(l, 0), in_ref(l, 1), in_ref(l, 0), 0);
    return 0;
}

/* conv2d_grad_weight(dy, x) as GEMMs: images in chunks (the columns of a
 * chunk under COL_BYTES_MAX); per chunk dy relaid [O, nb P], per group the
 * transposed im2col of its channels ([nb P][KG]) and one GEMM dW_g (+)= dy'_g
 * . col_g, the chunks after the first accumulated. */
static int lower_conv_grad_weight_gemm(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *dy = in_v(l, 0), *x = in_v(l, 1), *w = out_v(l, 0);
    if (x->ndim != 4 || w->ndim != 4) return -1;
    const int64_t N = x->shape[0], C = x->shape[1], O = dy->shape[1], G = a->groups;
    const int64_t P = dy->shape[2] * dy->shape[3], T = w->shape[2] * w->shape[3], HW = x->shape[2] * x->shape[3];
    const int64_t OG = O / G, CG = C / G, KG = CG * T;
    NcDevConv cd;
    const int two_forms = conv_desc(l, x, w, dy, NC_DEV_CONV_BWD_FILTER, &cd);
    if (two_forms) l->tactic = ++l->P->ntactics, l->form = NC_DEV_FORM_GEMM;
    int64_t nb = N;
    while (nb > 1 && (N % nb || nb * P * KG * 4 > COL_BYTES_MAX)) nb--;
    const int64_t dshape[3] = {nb, O, P}, perm[3] = {1, 0, 2};
    const NcDevRef dyt = scratch(l, nb * O * P), col = scratch(l, nb * P * KG);
    NcCuCopy tc;
    memset(&tc, 0, sizeof tc);
    nc_cu_copy_transpose(&tc, 3, dshape, perm);
    for (int64_t q = 0; q < N; q += nb) {
        const NcDevRef trefs[2] = {at(in_ref(l, 0), q * O * P), dyt};
        launch(l, nc_cu_copy_desc_any, &tc, sizeof tc, 2, trefs);
        for (int64_t g = 0; g < G; g++) {
            NcCuIm2col ic;
            memset(&ic, 0, sizeof ic);
            ic.g = nc_cu_win(a, x->shape, dy->shape);
            ic.g.n = nb, ic.c0 = g * CG, ic.cn = CG, ic.layout = NC_CU_COL_NPK;
            const NcDevRef refs[2] = {at(in_ref(l, 1), q * C * HW), col};
            launch(l, nc_cu_im2col_desc_any, &ic, sizeof ic, 2, refs);
            gemm_acc(l, OG, KG, nb * P, at(dyt, g * OG * nb * P), col, at(out_ref(l, 0), g * OG * KG), q > 0);
        }
    }
    if (two_forms) cudnn_form(l, &cd, in_ref(l, 1), out_ref(l, 0), in_ref(l, 0), 0);
    return 0;
}

/* max_pool2d_grad(dy, x), avg_pool2d_grad(dy): one thread per dx element */
static int lower_pool_grad(Lower *l) {
    const NcValue *dy = in_v(l, 0), *x = out_v(l, 0);
    if (x->ndim != 4) return -1;
    NcCuPool p;
    memset(&p, 0, sizeof p);
    p.g = nc_cu_win(&l->nd->attrs, x->shape, dy->shape);
    p.is_max = l->nd->op == NC_OP_MAX_POOL2D_GRAD, p.count_include_pad = l->nd->attrs.count_include_pad;
    const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), p.is_max ? in_ref(l, 1) : in_ref(l, 0)};
    launch(l, nc_cu_pool_grad_desc_any, &p, sizeof p, 2 + p.is_max, refs);
    return 0;
}

/* Split attention's gradients: radix_gap_grad (dy [N, C] / HW broadcast to
 * every branch and pixel: a strided copy), radix_softmax_grad(dy, y),
 * radix_combine_grad(dy, x, attn) -> dx, dattn. */
static int lower_radix_grad(Lower *l) {
    const NcNode *nd = l->nd;
    const int64_t R = nd->attrs.radix;
    if (nd->op == NC_OP_RADIX_SOFTMAX_GRAD) {
        const NcValue *y = in_v(l, 1);
        NcCuRadixSoftmax r;
        memset(&r, 0, sizeof r);
        r.n = y->shape[0], r.radix = R, r.card = nd->attrs.cardinality;
        r.rest = nc_numel(y) / (r.n * r.radix * r.card);
        const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1)};
        launch(l, nc_cu_radix_softmax_grad_desc_any, &r, sizeof r, 3, refs);
        return 0;
    }
    const NcValue *x = nd->op == NC_OP_RADIX_GAP_GRAD ? out_v(l, 0) : in_v(l, 1);
    if (x->ndim != 4 || x->shape[1] % R) return -1;
    const int64_t N = x->shape[0], C = x->shape[1] / R, HW = x->shape[2] * x->shape[3];
    if (nd->op == NC_OP_RADIX_GAP_GRAD) {
        NcCuCopy c;
        memset(&c, 0, sizeof c);
        c.nd = 4, c.scale = 1.0f / (float)HW;
        const int64_t dims[4] = {N, R, C, HW}, src[4] = {C, 0, 1, 0}, dst[4] = {R * C * HW, C * HW, HW, 1};
        memcpy(c.dims, dims, sizeof dims), memcpy(c.src_stride, src, sizeof src), memcpy(c.dst_stride, dst, sizeof dst);
        const NcDevRef refs[2] = {in_ref(l, 0), out_ref(l, 0)};
        launch(l, nc_cu_copy_desc_any, &c, sizeof c, 2, refs);
        return 0;
    }
    const NcCuSplitAttn a = {.n = N, .radix = R, .c = C, .hw = HW};
    const NcDevRef refs[5] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1), in_ref(l, 2), out_ref(l, 1)};
    launch(l, nc_cu_radix_combine_grad_desc_any, &a, sizeof a, 5, refs);
    return 0;
}

/* dropout(x, seed) — the forward's and, on dy, its own gradient: the
 * reference's draws (cu_train.h), one thread per element */
static int lower_dropout(Lower *l) {
    const NcAttrs *a = &l->nd->attrs;
    const NcValue *x = in_v(l, 0);
    NcCuDropout k;
    memset(&k, 0, sizeof k);
    k.n = nc_numel(x), k.per = k.n / x->shape[0], k.p = a->p, k.salt = a->salt, k.per_sample = a->per_sample;
    const NcDevRef refs[3] = {in_ref(l, 0), out_ref(l, 0), in_ref(l, 1)};
    launch(l, nc_cu_dropout_desc_any, &k, sizeof k, 3, refs);
    return 0;
}

/* One way of running an op on the device: tried in table order for a node of
 * that op; the first whose lower() does not refuse it (-1, leaving nothing
 * behind) makes its steps.  name is the strategy bench --per-kernel shows. */
typedef struct CuRule {
    NcOpKind op;
    const char *name;
    int (*lower)(Lower *l);
} CuRule;

static const CuRule rules[] = {
    {NC_OP_CONV2D, "cuda depthwise tiled", lower_conv_dw_tiled},
    {NC_OP_CONV2D, "cuda direct conv", lower_conv_dw},
    {NC_OP_CONV2D, "cuda gemm", lower_conv_pointwise},
    {NC_OP_CONV2D, "cuda im2col+gemm", lower_conv_im2col},
    {NC_OP_LINEAR, "cuda gemm", lower_linear},
    {NC_OP_BATCH_NORM, "cuda elementwise", lower_batch_norm},
    {NC_OP_RELU, "cuda elementwise", lower_elementwise},
    {NC_OP_CLAMP, "cuda elementwise", lower_elementwise},
    {NC_OP_SILU, "cuda elementwise", lower_elementwise},
    {NC_OP_SIGMOID, "cuda elementwise", lower_elementwise},
    {NC_OP_ADD, "cuda elementwise", lower_elementwise},
    {NC_OP_MUL, "cuda elementwise", lower_elementwise},
    {NC_OP_MAX_POOL2D, "cuda pool", lower_pool},
    {NC_OP_AVG_POOL2D, "cuda pool", lower_pool},
    {NC_OP_GLOBAL_AVG_POOL, "cuda row mean", lower_global_avg_pool},
    {NC_OP_SOFTMAX, "cuda softmax", lower_softmax},
    {NC_OP_SOFTMAX, "cuda softmax (axis)", lower_softmax_axis},
    {NC_OP_SQUEEZE_EXCITE, "cuda squeeze-excite", lower_se_gate},
    {NC_OP_SQUEEZE_EXCITE, "cuda squeeze-excite gemm", lower_squeeze_excite},
    {NC_OP_GLOBAL_MAX_POOL, "cuda row max", lower_global_max_pool},
    {NC_OP_RESHAPE, "cuda copy", lower_reshape},
    {NC_OP_CONCAT, "cuda copy", lower_concat},
    {NC_OP_SPLIT, "cuda copy", lower_split},
    {NC_OP_TRANSPOSE, "cuda copy", lower_transpose},
    {NC_OP_RADIX_GAP, "cuda split attention", lower_radix},
    {NC_OP_RADIX_SOFTMAX, "cuda split attention", lower_radix},
    {NC_OP_RADIX_COMBINE, "cuda split attention", lower_radix},
    /* the training step's ops (autodiff, ir/grad*.c) */
    {NC_OP_BATCH_NORM_TRAIN, "cuda batch norm", lower_bn_train},
    {NC_OP_BATCH_NORM_TRAIN_GRAD, "cuda batch norm", lower_bn_train_grad},
    {NC_OP_ACT_GRAD, "cuda act_grad", lower_act_grad},
    {NC_OP_SUM_TO, "cuda sum_to", lower_sum_to},
    {NC_OP_CROSS_ENTROPY, "cuda cross-entropy", lower_cross_entropy},
    {NC_OP_CROSS_ENTROPY_GRAD, "cuda cross-entropy", lower_cross_entropy},
    {NC_OP_GLOBAL_AVG_POOL_GRAD, "cuda copy", lower_gap_grad},
    {NC_OP_LINEAR_GRAD_INPUT, "cuda gemm", lower_linear_grad_input},
    {NC_OP_LINEAR_GRAD_WEIGHT, "cuda gemm", lower_linear_grad_weight},
    {NC_OP_CONV2D_GRAD_INPUT, "cuda direct conv", lower_conv_grad_direct},
    {NC_OP_CONV2D_GRAD_INPUT, "cuda gemm+col2im", lower_conv_grad_input_gemm},
    {NC_OP_CONV2D_GRAD_WEIGHT, "cuda direct conv", lower_conv_grad_direct},
    {NC_OP_CONV2D_GRAD_WEIGHT, "cuda im2col+gemm", lower_conv_grad_weight_gemm},
    {NC_OP_MAX_POOL2D_GRAD, "cuda pool", lower_pool_grad},
    {NC_OP_DROPOUT, "cuda dropout", lower_dropout},
    {NC_OP_AVG_POOL2D_GRAD, "cuda pool", lower_pool_grad},
    {NC_OP_RADIX_GAP_GRAD, "cuda split attention", lower_radix_grad},
    {NC_OP_RADIX_SOFTMAX_GRAD, "cuda split attention", lower_radix_grad},
    {NC_OP_RADIX_COMBINE_GRAD, "cuda split attention", lower_radix_grad},
    {NC_OP_SOFTMAX_GRAD, "cuda softmax", lower_softmax_grad},
    {NC_OP_ZEROS, "cuda zeros", lower_zeros},
};
#define NRULES ((int)(sizeof rules / sizeof rules[0]))

/* A training step's program also carries the optimizer's kernels (cu_optim.h), under the names
 * runtime/device/dev_optim.h gives, so that `train` updates the weights where they are: one kernel each
 * serves every tensor, made once per bundle. */
static void optim_kernels(NcCuLowering *L) {
    static const struct {
        NcCuDescFn desc;
        const char *name;
    } k[] = {{nc_cu_opt_sgd_desc, NC_DEV_OPT_SGD},
             {nc_cu_opt_adamw_desc, NC_DEV_OPT_ADAMW},
             {nc_cu_opt_sqnorm_desc, NC_DEV_OPT_SQNORM}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        int have = 0;
        for (int j = 0; j < L->kernels.len; j++) have |= !strcmp(L->kernels.data[j].name, k[i].name);
        if (have) continue;
        NcCuKernelReq r = {.desc = k[i].desc, .params = nc_malloc(1), .size = 0};
        snprintf(r.name, sizeof r.name, "%s", k[i].name);
        nc_vec_push(&L->kernels, r);
    }
}

int nc_cu_lower(NcCuLowering *L, const NcGraph *g, const NcPlan *plan, NcError *e) {
    NcCuProgram prog;
    memset(&prog, 0, sizeof prog);
    nc_vec_push(&L->progs, prog);
    NcCuProgram *P = &L->progs.data[L->progs.len - 1];
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *nd = &g->nodes.data[ni];
        Lower l = {.L = L, .P = P, .g = g, .plan = plan, .nd = nd, .node = ni};
        const int steps0 = P->steps.len, kernels0 = L->kernels.len, consts0 = L->consts.len, init0 = P->init.len;
        const int64_t stored0 = P->stored_bytes;
        const int32_t tactics0 = P->ntactics;
        int ri = 0;
        for (; ri < NRULES; ri++) {
            if (rules[ri].op != nd->op) continue;
            l.what = rules[ri].name, l.scratch = 0;
            if (rules[ri].lower(&l) == 0) break;
            /* refused: what it made goes */
            for (int k = kernels0; k < L->kernels.len; k++) free(L->kernels.data[k].params);
            P->steps.len = steps0, L->kernels.len = kernels0, L->consts.len = consts0;
            P->init.len = init0, P->stored_bytes = stored0, P->ntactics = tactics0;
        }
        l.tactic = 0, l.form = 0;
        if (ri == NRULES)
            return nc_errorf(e, "%s (%s): no CUDA lowering for this op%s yet (codegen/cuda/README.md says which exist)",
                             nd->scope ? nd->scope : "?", nc_op_info(nd->op)->name,
                             nd->attrs.nepi ? " with this epilogue" : "");
        if (L->verbose)
            fprintf(L->verbose, "cuda: %s (%s): %s, %d steps\n", nd->scope ? nd->scope : "?", nc_op_info(nd->op)->name,
                    rules[ri].name, P->steps.len - steps0);
    }
    if (g->train_step) optim_kernels(L);
    return 0;
}

void nc_cu_lowering_free(NcCuLowering *L) {
    for (int k = 0; k < L->kernels.len; k++) free(L->kernels.data[k].params);
    free(L->kernels.data);
    free(L->consts.data);
    for (int p = 0; p < L->progs.len; p++) free(L->progs.data[p].steps.data), free(L->progs.data[p].init.data);
    free(L->progs.data);
    memset(L, 0, sizeof *L);
}
