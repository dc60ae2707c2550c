/* cg_test.h — what the generated-kernel tests share: random data, the
 * reference convolution (ir/ref_conv.c, the oracle) called through an
 * NcKernelArgs built by hand, a tolerance check, and a JIT session. */
#ifndef NETC_CG_TEST_H
#define NETC_CG_TEST_H

#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codegen/cpu/cg_jit.h"
#include "ir/ops.h"
#include "tests/unit/check.h"

static uint64_t cgt_rng = 0x9e3779b97f4a7c15ull;
static inline float cgt_uniform(void) { /* xorshift64*, uniform in [-1, 1) */
    cgt_rng ^= cgt_rng >> 12, cgt_rng ^= cgt_rng << 25, cgt_rng ^= cgt_rng >> 27;
    return (float)((double)((cgt_rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static inline int64_t cgt_int(int64_t lo, int64_t hi) {
    return lo + (int64_t)((cgt_uniform() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1);
}
static inline float *cgt_random(int64_t n) {
    float *p = nc_malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = cgt_uniform();
    return p;
}

/* n floats (random) that end where an unreadable page begins: a kernel that
 * reads past its input faults instead of passing by luck.  (ASan cannot see
 * into JIT-compiled code; this can.)  Free with cgt_guarded_free(p, n). */
static inline float *cgt_guarded(int64_t n) {
    const size_t ps = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)n * sizeof(float);
    const size_t pages = (bytes + ps - 1) / ps;
    void *base = NULL;
    NC_CHECK(posix_memalign(&base, ps, (pages + 1) * ps) == 0);
    NC_CHECK(mprotect((char *)base + pages * ps, ps, PROT_NONE) == 0);
    float *p = (float *)((char *)base + pages * ps - bytes);
    for (int64_t i = 0; i < n; i++) p[i] = cgt_uniform();
    return p;
}
static inline void cgt_guarded_free(float *p, int64_t n) {
    if (!p) return;
    const size_t ps = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)n * sizeof(float);
    const size_t pages = (bytes + ps - 1) / ps;
    char *base = (char *)p + bytes - pages * ps;
    NC_CHECK(mprotect(base + pages * ps, ps, PROT_READ | PROT_WRITE) == 0);
    free(base);
}

/* The contents of g's values for a kernel test: every input and parameter random (cgt_guarded), NULL for the
 * nodes' outputs; freed by cgt_values_free. */
static inline float **cgt_values_new(const NcGraph *g) {
    float **data = nc_calloc((size_t)g->values.len, sizeof(float *));
    for (int i = 0; i < g->values.len; i++)
        if (g->values.data[i].kind != NC_VAL_NODE) data[i] = cgt_guarded(nc_numel(&g->values.data[i]));
    return data;
}
static inline void cgt_values_free(const NcGraph *g, float **data) {
    for (int i = 0; i < g->values.len; i++)
        if (data[i]) cgt_guarded_free(data[i], nc_numel(&g->values.data[i]));
    free(data);
}

static inline NcValue cgt_value(int64_t n, int64_t c, int64_t h, int64_t w) {
    NcValue v;
    memset(&v, 0, sizeof v);
    v.ndim = 4, v.shape[0] = n, v.shape[1] = c, v.shape[2] = h, v.shape[3] = w;
    return v;
}

/* nc_ref_conv2d on NCHW x [n, c, h, w], weight [o, c / groups, kh, kw]:
 * y [n, o, oh, ow] (+ bias) (ReLU). */
static inline void cgt_ref_conv(const float *x, const float *w, const float *bias, float *y, int64_t n, int64_t c,
                                int64_t h, int64_t wd, int64_t o, int kh, int kw, int stride, int pad, int groups,
                                int relu) {
    NcNode node;
    memset(&node, 0, sizeof node);
    node.op = NC_OP_CONV2D;
    node.attrs = nc_attrs_default();
    NcAttrs *a = &node.attrs;
    a->kernel[0] = kh, a->kernel[1] = kw, a->stride[0] = a->stride[1] = stride, a->groups = groups;
    for (int i = 0; i < 4; i++) a->pad[i] = pad;
    a->has_bias = bias != NULL;
    if (relu) a->nepi = 1, a->epi[0].kind = NC_EPI_RELU;
    const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
    NcValue xv = cgt_value(n, c, h, wd), wv = cgt_value(o, c / groups, kh, kw), bv = cgt_value(o, 1, 1, 1),
            yv = cgt_value(n, o, oh, ow);
    bv.ndim = 1;
    NcKernelArgs k;
    memset(&k, 0, sizeof k);
    k.node = &node;
    k.in_v[0] = &xv, k.in_v[1] = &wv, k.in_v[2] = &bv, k.out_v[0] = &yv;
    k.in[0] = x, k.in[1] = w, k.in[2] = bias, k.out[0] = y;
    nc_ref_conv2d(&k);
}

/* [n, c, hw] (NCHW) <-> [n, hw, c] (NHWC) */
static inline void cgt_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < c; i++)
            for (int64_t j = 0; j < hw; j++) dst[(b * hw + j) * c + i] = src[(b * c + i) * hw + j];
}
static inline void cgt_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < c; i++)
            for (int64_t j = 0; j < hw; j++) dst[(b * c + i) * hw + j] = src[(b * hw + j) * c + i];
}

/* max |got - want| <= rtol * max |want| */
static inline int cgt_close(const float *got, const float *want, int64_t n, double rtol, double *err_out) {
    double mx = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(want[i]) > mx) mx = fabs(want[i]);
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= err)) err = d; /* NaN counts as an error */
    }
    if (err_out) *err_out = mx ? err / mx : err;
    return err <= rtol * (mx > 0 ? mx : 1);
}

/* Runs tiles [0, tiles) of fn as the runtime does: split over threads. */
/* The host's target, named on stdout; exits 1 when LLVM has none. */
/* The host's target, or NETC_TEST_CPU's (e.g. znver3 on an AVX-512 host: its AVX2 kernels run there too). */
static inline void cgt_host_target(NcCgTarget *t) {
    NcError e;
    const char *cpu = getenv("NETC_TEST_CPU");
    if (nc_cg_target_init(t, cpu && *cpu ? cpu : NULL, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    printf("host: %s, %d-float vectors\n", t->cpu, t->vw);
}

static inline void cgt_run(NcTileFn fn, const float *const *in, float *const *out, int64_t tiles) {
#pragma omp parallel for schedule(dynamic)
    for (int64_t t = 0; t < tiles; t++) fn(in, out, t, t + 1);
}

/* The start of an NHWC conv kernel's test, for node nd of g: the reference
 * output (nc_ref_conv2d on NCHW data, inputs without data filled at random;
 * returned, n x o x oh x ow floats) and the kernel's operands in[]: x
 * permuted to NHWC in a guarded buffer (*xg), same-shape epilogue operands
 * permuted (owned[i], to free), the rest as they are, and in[1] the weights
 * after the kernel's load-time transform (wfn over wtiles tiles, into the
 * guarded *packed of wfloats). */
static inline float *cgt_nhwc_conv_setup(NcGraph *g, const NcNode *nd, NcTileFn wfn, int64_t wtiles, int64_t wfloats,
                                         const float **in, float **owned, float **xg, float **packed) {
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) {
        NcValue *v = nc_val(g, nd->inputs[i]);
        if (!v->data) v->data = cgt_random(nc_numel(v));
        ka.in_v[i] = v, ka.in[i] = v->data;
    }
    const NcValue *x = ka.in_v[0], *y = nc_val(g, nd->outputs[0]);
    const int64_t ny = nc_numel(y);
    float *want = nc_malloc((size_t)ny * sizeof(float));
    ka.out_v[0] = y, ka.out[0] = want;
    nc_ref_conv2d(&ka);
    *xg = cgt_guarded(nc_numel(x));
    cgt_to_nhwc(ka.in[0], *xg, x->shape[0], x->shape[1], x->shape[2] * x->shape[3]);
    in[0] = *xg;
    for (int i = 1; i < nd->ninputs; i++) {
        in[i] = ka.in[i], owned[i] = NULL;
        if (i >= nc_epi_first_input(&nd->attrs) && nc_shape_eq(ka.in_v[i], y)) {
            owned[i] = nc_malloc((size_t)ny * sizeof(float));
            cgt_to_nhwc(ka.in[i], owned[i], y->shape[0], y->shape[1], y->shape[2] * y->shape[3]);
            in[i] = owned[i];
        }
    }
    *packed = cgt_guarded(wfloats);
    float *wout[1] = {*packed};
    cgt_run(wfn, in, wout, wtiles);
    in[1] = *packed;
    return want;
}

/* A conv2d node in g: input x [n, c, h, w], weight "w" [o, c / groups,
 * kernel], the window, stride, padding and groups of a, and as asked a bias,
 * an input scale [n, c, 1, 1] and epilogue steps spelled by letters (r relu,
 * s silu, g sigmoid, c clamp(0, 0.5), a add of the output's shape, A add and
 * m mul per (image, channel)), every operand but the parameters a graph
 * input.  Returns the node's index, or -1 with e set. */
static inline int cgt_conv_graph(NcGraph *g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, NcAttrs a, int bias,
                                 int in_scale, const char *epi, NcError *e) {
    const int64_t oh = (h + a.pad[0] + a.pad[2] - a.kernel[0]) / a.stride[0] + 1,
                  ow = (w + a.pad[1] + a.pad[3] - a.kernel[1]) / a.stride[1] + 1;
    int64_t xs[4] = {n, c, h, w}, ws[4] = {o, c / a.groups, a.kernel[0], a.kernel[1]}, bs[1] = {o};
    int64_t ys[4] = {n, o, oh, ow}, pcs[4] = {n, o, 1, 1}, ss[4] = {n, c, 1, 1};
    int ins[NC_MAXIN], nin = 0;
    ins[nin++] = nc_graph_add_input(g, "x", 4, xs);
    ins[nin++] = nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, e);
    if (bias) a.has_bias = 1, ins[nin++] = nc_graph_add_param(g, "b", NC_PARAM_BIAS, 1, bs, e);
    if (in_scale) a.has_in_scale = 1, ins[nin++] = nc_graph_add_input(g, "s", 4, ss);
    for (const char *ch = epi; *ch; ch++) {
        NcEpilogue *ep = &a.epi[a.nepi++];
        memset(ep, 0, sizeof *ep);
        char nm[8] = {'e', (char)('0' + a.nepi), 0};
        switch (*ch) {
        case 'r': ep->kind = NC_EPI_RELU; break;
        case 's': ep->kind = NC_EPI_SILU; break;
        case 'g': ep->kind = NC_EPI_SIGMOID; break;
        case 'c': ep->kind = NC_EPI_CLAMP, ep->lo = 0, ep->hi = 0.5f; break;
        case 'a': ep->kind = NC_EPI_ADD, ep->input = nin, ins[nin++] = nc_graph_add_input(g, nm, 4, ys); break;
        case 'A': ep->kind = NC_EPI_ADD, ep->input = nin, ins[nin++] = nc_graph_add_input(g, nm, 4, pcs); break;
        case 'm': ep->kind = NC_EPI_MUL, ep->input = nin, ins[nin++] = nc_graph_add_input(g, nm, 4, pcs); break;
        }
    }
    return nc_graph_add_node(g, NC_OP_CONV2D, nin, ins, &a, "conv", e);
}

#endif
