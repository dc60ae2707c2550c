/* test_cg_train_conv.c — the training step's NCHW convolution kernels
 * (cg_nchw_train.h: conv2d, conv2d_grad_input, conv2d_grad_weight) against
 * the reference kernels (ir/ref_conv.c's nc_ref_conv2d, ir/ref_grad_conv.c's
 * gradients): 1x1 stride 1 and 2, 3x3 stride 1 and 2, 7x7 stride 2 pad 3,
 * asymmetric padding and windows, dilation 2, batch 1, 2 and 3, channel
 * counts that are not multiples of the vector width, reductions of several
 * GEMM blocks, grouped convs, conv2d with a bias, conv2d_grad_weight's
 * B packed by loads along an output row and register transposes (rows a
 * multiple of the vector width, stride 1 across, with and without
 * padding), conv2d's and conv2d_grad_input's positions on planes off the
 * vector width (28, 14, 7 wide: 3x3 "same" and 1x1 convs) by one masked load
 * per vector, two where it straddles two images — those also for an AVX2
 * target (haswell) when the host has AVX-512, so both vector widths run.
 * Every operand and the scratch end at an unreadable page, the
 * output is fenced by canaries, and the stages run across threads, then
 * again tile by tile in reverse over a NaN-filled scratch and output (so
 * every output element must be written).  Tolerance: 1e-4 relative to max
 * |reference| (float against double accumulation); the worst error of each
 * kind is printed. */
#include <stdlib.h>

#include "codegen/cpu/cg_nchw_train.h"
#include "tests/codegen/cg_test.h"

static int cases;
static int linear_kinds;       /* bit k: the last case's node of kind k packed B as pack.linear */
static int fused_kinds;        /* bit k: ... ran fused (cg_nchw_train_fused.c) */
static int parted;             /* the last case's conv2d ran fused in tiles within an image */
static int64_t gw_nblk, gw_cw; /* the last case's fused conv2d_grad_weight: its blocks of CK, its part (0: images) */
static int64_t fwd_nblk,
    gi_nblk; /* ... conv2d's and flipped conv2d_grad_input's blocks of the reduction (0: not fused) */
static double worst[3];
static const char *kind_name[3] = {"conv2d", "conv2d_grad_input", "conv2d_grad_weight"};

typedef struct Case {
    int64_t n, c, h, w, o;
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int groups; /* 0 = 1 */
    int bias;   /* conv2d with a bias (SE, split attention's fc1/fc2) */
} Case;

/* The three nodes of one conv in g: y = conv2d(x, w), dx = conv2d_grad_input(dy, w),
 * dw = conv2d_grad_weight(dy, x); returns the first node's index or -1. */
static int graph(NcGraph *g, const Case *k, NcError *e) {
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = k->kh, a.kernel[1] = k->kw, a.stride[0] = k->sh, a.stride[1] = k->sw;
    a.pad[0] = k->pt, a.pad[1] = k->pl, a.pad[2] = k->pb, a.pad[3] = k->pr, a.dilation[0] = k->dh,
    a.dilation[1] = k->dw;
    a.groups = k->groups ? k->groups : 1;
    int64_t xs[4] = {k->n, k->c, k->h, k->w}, ws[4] = {k->o, k->c / a.groups, k->kh, k->kw};
    const int x = nc_graph_add_input(g, "x", 4, xs), w = nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, e);
    int64_t bs[1] = {k->o};
    int ins[3] = {x, w, k->bias ? nc_graph_add_param(g, "b", NC_PARAM_BIAS, 1, bs, e) : -1};
    a.has_bias = k->bias;
    const int fwd = nc_graph_add_node(g, NC_OP_CONV2D, 2 + k->bias, ins, &a, "conv", e);
    a.has_bias = 0;
    if (fwd < 0) return -1;
    const NcValue *y = nc_val(g, g->nodes.data[fwd].outputs[0]);
    const int dy = nc_graph_add_input(g, "dy", 4, y->shape);
    a.nsizes = 4;
    memcpy(a.sizes, xs, sizeof xs);
    ins[0] = dy, ins[1] = w;
    if (nc_graph_add_node(g, NC_OP_CONV2D_GRAD_INPUT, 2, ins, &a, "grad_input", e) < 0) return -1;
    memcpy(a.sizes, ws, sizeof ws);
    ins[0] = dy, ins[1] = x;
    if (nc_graph_add_node(g, NC_OP_CONV2D_GRAD_WEIGHT, 2, ins, &a, "grad_weight", e) < 0) return -1;
    return fwd;
}

static void check_node(const NcCgTarget *t, NcGraph *g, const NcNode *nd, float *const *data, const char *what0) {
    NcError e;
    char what[320];
    NcTrainConvPlan p;
    const char *why = NULL;
    const int ok = nc_cg_train_conv_plan(&p, g, nd, t, &why);
    snprintf(what, sizeof what, "%s%s%s %s", ok ? kind_name[p.op_kind] : "?", ok && p.fused ? " fused" : "",
             ok && p.flip ? " flipped" : "", what0);
    CHECK_MSG(ok, "%s: refused: %s", what, why);
    if (ok && p.pack.linear) linear_kinds |= 1 << p.op_kind;
    if (ok && p.fused) fused_kinds |= 1 << p.op_kind;
    if (ok && p.op_kind == NC_TCONV_FORWARD) parted = p.cw > 0;
    if (ok && p.op_kind == NC_TCONV_GRAD_WEIGHT) gw_nblk = p.fused ? p.nblk : 0, gw_cw = p.fused ? p.cw : 0;
    if (ok && p.op_kind == NC_TCONV_FORWARD) fwd_nblk = p.fused ? p.nblk : 0;
    if (ok && p.op_kind == NC_TCONV_GRAD_INPUT) gi_nblk = p.fused && p.flip ? p.nblk : 0;
    NcCgJit *jit = ok ? nc_cg_jit_new(&e) : NULL;
    if (!jit) return;
    NcCgModule m;
    nc_cg_module_init(&m, t, "train_conv");
    NcCgKernel kern;
    memset(&kern, 0, sizeof kern);
    nc_cg_train_conv_emit(&m, &p, "k", &kern);
    int nst = 0;
    char names[3][64];
    for (; nst < 3 && kern.stage[nst]; nst++) {
        size_t len;
        snprintf(names[nst], sizeof names[nst], "%s", LLVMGetValueName2(kern.stage[nst], &len));
    }
    const int64_t *st = kern.tiles, scratch = kern.scratch;
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn[3] = {0};
    for (int s = 0; s < nst && !rc; s++) fn[s] = (NcTileFn)nc_cg_jit_lookup(jit, names[s], &e);
    if (rc || !nst || !fn[0] || (nst > 1 && !fn[1]) || (nst == 3 && !fn[2])) {
        CHECK_MSG(0, "%s: %s", what, e.msg);
        nc_cg_jit_free(jit);
        return;
    }
    /* the reference */
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) ka.in_v[i] = nc_val(g, nd->inputs[i]), ka.in[i] = data[nd->inputs[i]];
    const NcValue *yv = nc_val(g, nd->outputs[0]);
    const int64_t ny = nc_numel(yv);
    float *want = nc_malloc((size_t)ny * sizeof(float));
    ka.out_v[0] = yv, ka.out[0] = want;
    nc_op_info(nd->op)->ref(&ka);
    /* the kernel */
    float *sc = cgt_guarded(scratch);
    float *ybuf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *y = ybuf + 64;
    for (int64_t i = 0; i < ny + 128; i++) ybuf[i] = 42.0f;
    const float *in[3] = {ka.in[0], ka.in[1], nd->ninputs > 2 ? ka.in[2] : NULL};
    float *out[2] = {y, sc};
    for (int s = 0; s < nst; s++) cgt_run(fn[s], in, out, st[s]);
    double err;
    CHECK_MSG(cgt_close(y, want, ny, 1e-4, &err), "%s: relative error %g", what, err);
    if (err > worst[p.kind]) worst[p.kind] = err;
    int canaries = 1;
    for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f && y[ny + i] == 42.0f;
    CHECK_MSG(canaries, "%s: wrote outside the output", what);
    /* every stage's tiles in reverse, uneven ranges, over NaNs */
    for (int64_t i = 0; i < ny; i++) y[i] = NAN;
    for (int64_t i = 0; i < scratch; i++) sc[i] = NAN;
    for (int s = 0; s < nst; s++)
        for (int64_t t1 = st[s]; t1 > 0;) {
            int64_t t0 = t1 > 3 ? t1 - 3 : 0;
            fn[s](in, out, t0, t1);
            t1 = t0;
        }
    CHECK_MSG(cgt_close(y, want, ny, 1e-4, &err), "%s (tiles reversed): relative error %g", what, err);
    if (err > worst[p.kind]) worst[p.kind] = err;
    cgt_guarded_free(sc, scratch);
    free(ybuf), free(want);
    cases++;
    nc_cg_jit_free(jit);
}

static void check(const NcCgTarget *t, Case k) {
    NcError e;
    char what[256];
    snprintf(what, sizeof what, "%s: n%lld c%lld %lldx%lld o%lld k%dx%d s%d,%d pad %d,%d,%d,%d dil %d,%d groups %d%s",
             t->cpu, (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.o, k.kh, k.kw, k.sh,
             k.sw, k.pt, k.pl, k.pb, k.pr, k.dh, k.dw, k.groups ? k.groups : 1, k.bias ? " bias" : "");
    linear_kinds = 0, fused_kinds = 0;
    NcGraph *g = nc_graph_new("train_conv");
    const int first = graph(g, &k, &e);
    CHECK_MSG(first >= 0, "%s: %s", what, e.msg);
    if (first < 0) {
        nc_graph_free(g);
        return;
    }
    /* x, w and dy random, each ending at an unreadable page */
    float **data = cgt_values_new(g);
    for (int j = 0; j < 3; j++) check_node(t, g, &g->nodes.data[first + j], data, what);
    cgt_values_free(g, data);
    nc_graph_free(g);
}

static Case conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int k, int s, int pad, int dil) {
    Case x;
    memset(&x, 0, sizeof x);
    x.n = n, x.c = c, x.h = h, x.w = w, x.o = o, x.kh = x.kw = k, x.sh = x.sw = s, x.dh = x.dw = dil;
    x.pt = x.pl = x.pb = x.pr = pad;
    return x;
}

/* Planes off the vector width (Fashion-MNIST's 28, 14, 7): conv2d's and conv2d_grad_input's B columns
 * (positions) by masked loads (pack.linear) where positions lie one after another in an image's plane;
 * conv2d_grad_weight keeps its gather (bits: NC_TCONV_* kinds that packed linearly). */
static void linear_cases(const NcCgTarget *t) {
    const int fwd = 1 << NC_TCONV_FORWARD, gi = 1 << NC_TCONV_GRAD_INPUT;
    check(t, conv(4, 6, 14, 14, 10, 3, 1, 1, 1)); /* 3x3 "same", 196 positions: vectors straddle images */
    CHECK_MSG(linear_kinds == (fwd | gi), "%s 14x14 3x3: linear kinds %#x", t->cpu, linear_kinds);
    check(t, conv(3, 5, 7, 7, 9, 3, 1, 1, 1)); /* 7x7: up to two images a vector */
    CHECK_MSG(linear_kinds == (fwd | gi), "%s 7x7 3x3: linear kinds %#x", t->cpu, linear_kinds);
    check(t, conv(2, 3, 28, 28, 8, 3, 1, 1, 1)); /* 28x28: vectors across output rows, none across images */
    /* unfused, dY's columns are contiguous loads; flipped into a conv2d of dY, its window is linear */
    CHECK_MSG(linear_kinds == (fused_kinds ? fwd | gi : fwd), "%s 28x28 3x3: linear kinds %#x", t->cpu, linear_kinds);
    check(t, conv(3, 7, 14, 14, 12, 1, 1, 0, 1)); /* 1x1: no padding, straddles only */
    CHECK_MSG(linear_kinds == (fwd | gi), "%s 14x14 1x1: linear kinds %#x", t->cpu, linear_kinds);
    check(t, conv(2, 3, 14, 14, 5, 3, 1, 2, 2)); /* dilation 2, "same" */
    CHECK_MSG(linear_kinds == (fwd | gi), "%s 14x14 dilated: linear kinds %#x", t->cpu, linear_kinds);
    Case a = conv(3, 4, 7, 7, 6, 3, 1, 1, 1); /* uneven padding that keeps the width, a taller output */
    a.pl = 2, a.pr = 0, a.pt = 2, a.pb = 2;
    check(t, a);
    CHECK_MSG(linear_kinds == (fwd | gi), "%s 7x7 uneven padding: linear kinds %#x", t->cpu, linear_kinds);
    a = conv(3, 4, 14, 14, 6, 3, 1, 1, 1); /* stride 2 down only: x's rows skipped, dY's planes still linear */
    a.sh = 2;
    check(t, a);
    /* (fused, grad_input runs as two phases, each a conv2d of dY with its own packing) */
    CHECK_MSG(linear_kinds == (fused_kinds & gi ? 0 : gi), "%s stride 2 down: linear kinds %#x", t->cpu, linear_kinds);
}

/* conv2d, stride-1 conv2d_grad_input and conv2d_grad_weight fused (cg_nchw_train_fused.c): tiles of whole
 * images packed and multiplied on the stack, a ragged last tile or chunk, a bias, grad_input flipped into a
 * conv2d of dY (3x3, 1x1, dilated, uneven padding); strided grad_input convs stay unfused */
static void fused_cases(const NcCgTarget *t, int on) {
    const int fwd = on << NC_TCONV_FORWARD, gi = on << NC_TCONV_GRAD_INPUT, gw = on << NC_TCONV_GRAD_WEIGHT;
    /* conv2d: 2 images a tile, the last alone; vectors straddle.  grad_weight: chunks of 4 images, the last
     * of 1, 8 tiles of 1 or 2 chunks */
    check(t, conv(37, 3, 5, 5, 4, 3, 1, 1, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 5x5: kinds %#x", t->cpu, fused_kinds);
    Case a = conv(35, 5, 7, 6, 9, 3, 1, 1, 1);
    a.bias = 1;
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused bias: kinds %#x", t->cpu, fused_kinds);
    check(t, conv(3, 7, 9, 10, 5, 1, 1, 0, 1)); /* 1x1: flipped without padding */
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 1x1: kinds %#x", t->cpu, fused_kinds);
    check(t, conv(2, 4, 11, 9, 6, 3, 1, 2, 2)); /* dilated */
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused dilated: kinds %#x", t->cpu, fused_kinds);
    a = conv(3, 4, 8, 7, 5, 3, 1, 0, 1); /* uneven padding, a 5x3 window */
    a.kw = 5, a.pt = 2, a.pb = 0, a.pl = 1, a.pr = 3;
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused uneven: kinds %#x", t->cpu, fused_kinds);
    /* strided grad_input by phases: 3x3 s2 (phases of 1, 2 and 4 taps, odd sizes: phases of 5 and 4 rows), 1x1
     * s2 (three phases of zeros), 3x3 s2 on 28x28 (Fashion-MNIST's: phases 14 wide, linear packing), TF's
     * padding (taps below the plane), stride 2 down and 1 across, a 5x5 stride 3 (9 phases), a tail tile */
    check(t, conv(3, 6, 9, 9, 8, 3, 2, 1, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused stride 2: kinds %#x", t->cpu, fused_kinds);
    check(t, conv(4, 5, 9, 8, 7, 1, 2, 0, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 1x1 stride 2: kinds %#x", t->cpu, fused_kinds);
    check(t, conv(2, 3, 28, 28, 5, 3, 2, 1, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 28x28 stride 2: kinds %#x", t->cpu, fused_kinds);
    a = conv(3, 4, 10, 11, 6, 3, 2, 0, 1);
    a.pb = a.pr = 1;
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused TF padding: kinds %#x", t->cpu, fused_kinds);
    a = conv(3, 4, 9, 7, 5, 3, 1, 1, 1);
    a.sh = 2;
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused stride 2x1: kinds %#x", t->cpu, fused_kinds);
    a = conv(2, 3, 13, 11, 4, 5, 3, 2, 1);
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 5x5 stride 3: kinds %#x", t->cpu, fused_kinds);
    check(t, conv(35, 3, 6, 6, 4, 3, 2, 1, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused stride 2 tail: kinds %#x", t->cpu, fused_kinds);
    /* rows of whole vectors (masked loads per row; grad_weight's B by register transposes) */
    check(t, conv(20, 16, 16, 16, 24, 3, 1, 1, 1));
    CHECK_MSG(fused_kinds == (fwd | gi | gw), "%s fused 16x16: kinds %#x", t->cpu, fused_kinds);
}

/* conv2d fused in tiles within an image (cw positions of one image's plane, where not one whole image's B fits
 * the tile's buffer: the flipped stride-1 grad_input too), grouped convs and their flipped grad_input fused one
 * group a tile (whole images and parts), a bias; and with parts off (NETC_CG_TRAIN_PARTS=0) the same convs
 * unfused */
static void part_cases(const NcCgTarget *t) {
    const int fwd = 1 << NC_TCONV_FORWARD, gi = 1 << NC_TCONV_GRAD_INPUT, gw = 1 << NC_TCONV_GRAD_WEIGHT;
    const int on = !getenv("NETC_CG_TRAIN_PARTS");
    Case a = conv(2, 32, 56, 56, 24, 3, 1, 1, 1); /* P 3136, CK 288: parts of 112 (vw 16) or 224 (vw 8) */
    a.bias = 1;
    check(t, a);
    CHECK_MSG(fused_kinds == (on ? fwd | gi | gw : 0) && parted == on, "%s parts 56x56: kinds %#x", t->cpu,
              fused_kinds);
    a = conv(2, 48, 28, 28, 48, 3, 1, 1, 1); /* RegNet's group width 24: CK 216, parts of 112 */
    a.groups = 2;
    check(t, a);
    /* (parts off: conv2d and the flipped grad_input in 3 blocks of the reduction, whole images) */
    CHECK_MSG(fused_kinds == (on ? fwd | gi | gw : fwd | gi) && parted == on && gw_cw == (on ? 112 : 0) &&
                  fwd_nblk == (on ? 1 : 3),
              "%s grouped parts 28x28: kinds %#x, %lld blocks", t->cpu, fused_kinds, (long long)fwd_nblk);
    a = conv(2, 192, 32, 32, 32, 1, 1, 0, 1); /* 1x1, 1024 positions, CK 96: parts of 512 */
    a.groups = 2;
    check(t, a);
    CHECK_MSG((fused_kinds & (fwd | gi)) == (on ? fwd | gi : 0) && parted == on, "%s grouped 1x1 parts: kinds %#x",
              t->cpu, fused_kinds);
    a = conv(34, 12, 7, 7, 18, 3, 1, 1, 1); /* grouped, whole images a tile (the last chunk shorter) */
    a.groups = 3, a.bias = 1;
    check(t, a);
    CHECK_MSG(fused_kinds == (fwd | gi | gw) && !parted && gw_nblk == 1, "%s grouped images: kinds %#x", t->cpu,
              fused_kinds);
    /* conv2d_grad_weight in blocks of CK's columns, where not even a row of positions fits a whole CK: */
    check(t, conv(5, 256, 7, 7, 8, 3, 1, 1, 1)); /* CK 2304 at 7x7: 2 blocks of 1152, an image a chunk, 5 chunks */
    CHECK_MSG((fused_kinds & gw) && gw_nblk == 2 && !gw_cw, "%s gw blocks, images: kinds %#x, %lld blocks", t->cpu,
              fused_kinds, (long long)gw_nblk);
    /* conv2d: not in blocks for tiles of 49 positions (unfused) */
    CHECK_MSG(fwd_nblk == 0, "%s conv2d 7x7: %lld blocks", t->cpu, (long long)fwd_nblk);
    check(t, conv(3, 256, 14, 14, 8, 3, 1, 1, 1)); /* conv2d's reduction (CK 2304) in 8 blocks, an image a tile */
    CHECK_MSG(fwd_nblk == 8 && !parted, "%s conv2d blocks, images: %lld blocks", t->cpu, (long long)fwd_nblk);
    check(t, conv(3, 8, 14, 14, 256, 3, 1, 1, 1)); /* flipped grad_input: 256 x 9 = 2304 in 8 blocks of 288 */
    CHECK_MSG((fused_kinds & gi) && gi_nblk == 8, "%s grad_input blocks: kinds %#x, %lld blocks", t->cpu, fused_kinds,
              (long long)gi_nblk);
    /* CK 1152 at 28x28: 2 blocks of 576, parts of 112 (parts off: whole images, 18 blocks of 64) */
    check(t, conv(2, 128, 28, 28, 16, 3, 1, 1, 1));
    CHECK_MSG((fused_kinds & gw) && (on ? gw_nblk == 2 && gw_cw == 112 : gw_nblk == 18 && !gw_cw),
              "%s gw blocks, parts: kinds %#x, %lld blocks, parts of %lld", t->cpu, fused_kinds, (long long)gw_nblk,
              (long long)gw_cw);
    CHECK_MSG(fwd_nblk == (on ? 2 : 16) && parted == on, "%s conv2d blocks, parts (off: images): %lld blocks", t->cpu,
              (long long)fwd_nblk);
    a = conv(3, 256, 14, 14, 16, 3, 1, 1, 1); /* grouped, CK 1152 at 14x14: 4 blocks of 288 a group */
    a.groups = 2;
    check(t, a);
    CHECK_MSG((fused_kinds & gw) && gw_nblk == 4 && !gw_cw, "%s grouped gw blocks: kinds %#x, %lld blocks", t->cpu,
              fused_kinds, (long long)gw_nblk);
    CHECK_MSG(fwd_nblk == 4 && !parted, "%s grouped conv2d blocks: %lld blocks", t->cpu, (long long)fwd_nblk);
}

int main(void) {
    NcError e;
    NcCgTarget t;
    cgt_host_target(&t);
    fused_cases(&t, 1);
    linear_cases(&t);
    part_cases(&t);
    setenv("NETC_CG_TRAIN_PARTS", "0", 1);
    part_cases(&t);
    unsetenv("NETC_CG_TRAIN_PARTS");
    setenv("NETC_CG_TRAIN_FUSED", "0", 1); /* the unfused kernel, still run for grouped convs and large planes */
    linear_cases(&t);
    fused_cases(&t, 0);
    unsetenv("NETC_CG_TRAIN_FUSED");
    if (t.vw == 16) { /* the same at AVX2's 8-float vectors, a subset of this host's ISA */
        NcCgTarget t2;
        if (nc_cg_target_init(&t2, "haswell", NULL, &e) == 0) {
            printf("also: %s, %d-float vectors\n", t2.cpu, t2.vw);
            CHECK(t2.vw == 8);
            linear_cases(&t2);
            fused_cases(&t2, 1);
            part_cases(&t2);
            check(&t2, conv(3, 17, 10, 9, 23, 3, 1, 1, 1));
            check(&t2, conv(2, 6, 9, 16, 7, 3, 1, 1, 1));
            nc_cg_target_free(&t2);
        }
    }
    for (int n = 1; n <= 3; n += 2) {
        check(&t, conv(n, 19, 9, 11, 13, 1, 1, 0, 1));  /* 1x1 s1 */
        check(&t, conv(n, 37, 7, 5, 70, 1, 1, 0, 1));   /* 1x1 s1, a plane of 35 */
        check(&t, conv(n, 24, 8, 9, 40, 1, 2, 0, 1));   /* 1x1 s2 (a downsample) */
        check(&t, conv(n, 17, 10, 9, 23, 3, 1, 1, 1));  /* 3x3 s1 p1 */
        check(&t, conv(n, 21, 13, 12, 29, 3, 2, 1, 1)); /* 3x3 s2 p1 */
        check(&t, conv(n, 3, 23, 21, 20, 7, 2, 3, 1));  /* 7x7 s2 p3 (a stem) */
        check(&t, conv(n, 10, 12, 11, 14, 3, 1, 2, 2)); /* 3x3 dilation 2 */
        check(&t, conv(n, 5, 9, 10, 9, 3, 2, 2, 2));    /* 3x3 s2 dilation 2 */
        check(&t, conv(n, 6, 4, 4, 8, 3, 1, 1, 1));     /* a 4x4 plane */
        check(&t, conv(n, 12, 2, 2, 9, 1, 1, 0, 1));    /* a 2x2 plane (ResNet's last at 64x64) */
    }
    /* asymmetric padding (TF "same", stride 2) and windows */
    Case a = conv(3, 11, 12, 13, 17, 3, 2, 0, 1);
    a.pb = a.pr = 1;
    check(&t, a);
    a = conv(1, 7, 9, 8, 10, 3, 1, 0, 1);
    a.kw = 5, a.pt = 0, a.pl = 1, a.pb = 2, a.pr = 3, a.sw = 2;
    check(&t, a);
    a = conv(2, 9, 11, 10, 6, 1, 1, 0, 1);
    a.kh = 1, a.kw = 3, a.pl = a.pr = 1, a.dw = 2;
    check(&t, a);
    /* planes of whole GEMM panels: conv2d and conv2d_grad_input write NCHW from the GEMM (column images) */
    check(&t, conv(3, 20, 8, 8, 11, 1, 1, 0, 1));
    check(&t, conv(2, 9, 16, 16, 13, 3, 2, 1, 1));
    check(&t, conv(2, 5, 8, 8, 7, 3, 1, 1, 1));
    /* output rows a multiple of the vector width: the window's rows by masked loads */
    check(&t, conv(1, 4, 8, 16, 6, 3, 1, 2, 2));
    a = conv(3, 6, 7, 24, 5, 5, 1, 0, 1);
    a.pl = 2, a.pr = 2, a.pt = 1, a.pb = 3;
    check(&t, a);
    /* conv2d_grad_weight's rows (positions) by vector loads along an output row of a multiple of the vector
     * width, transposed in registers: stride 2 down and 1 across, a 1x1 of a 16-wide plane, groups */
    a = conv(2, 6, 9, 16, 7, 3, 1, 1, 1);
    a.sh = 2;
    check(&t, a);
    check(&t, conv(3, 13, 3, 16, 5, 1, 1, 0, 1));
    a = conv(2, 16, 8, 8, 24, 3, 1, 1, 1);
    a.groups = 2;
    check(&t, a);
    /* several GEMM reduction blocks and column panels */
    check(&t, conv(2, 64, 14, 14, 72, 3, 1, 1, 1));
    check(&t, conv(1, 8, 40, 40, 16, 3, 1, 1, 1));
    check(&t, conv(1, 300, 6, 6, 130, 1, 1, 0, 1));
    check(&t, conv(3, 96, 4, 4, 130, 1, 1, 0, 1));
    /* grouped: ResNeSt's radix 2 (3x3 s1, and s2 with TF padding), RegNet's group widths (several groups of
     * 8-24 channels, 1x1-plane tails), groups over several GEMM blocks, channel counts off the vector width */
    for (int n = 1; n <= 3; n += 2) {
        Case gc = conv(n, 16, 9, 10, 24, 3, 1, 1, 1);
        gc.groups = 2;
        check(&t, gc);
        gc = conv(n, 40, 8, 8, 40, 3, 2, 0, 1);
        gc.pb = gc.pr = 1, gc.groups = 5;
        check(&t, gc);
        gc = conv(n, 48, 5, 7, 48, 3, 1, 1, 1);
        gc.groups = 2;
        check(&t, gc);
        gc = conv(n, 36, 4, 4, 18, 1, 1, 0, 1);
        gc.groups = 3;
        check(&t, gc);
    }
    Case gb = conv(2, 128, 12, 12, 128, 3, 1, 1, 1);
    gb.groups = 2;
    check(&t, gb);
    gb = conv(3, 96, 16, 16, 96, 3, 2, 1, 1);
    gb.groups = 4;
    check(&t, gb);
    /* with a bias: SE's fc1/fc2 (1x1 planes, batch 1 and 3), split attention's grouped fc2, a 3x3 both
     * through scratch (N > 1, a plane off the panels) and straight into out[0] (column images, batch 1) */
    for (int n = 1; n <= 3; n += 2) {
        Case bc = conv(n, 24, 1, 1, 6, 1, 1, 0, 1);
        bc.bias = 1;
        check(&t, bc);
        bc = conv(n, 6, 1, 1, 24, 1, 1, 0, 1);
        bc.bias = 1;
        check(&t, bc);
        bc = conv(n, 32, 1, 1, 64, 1, 1, 0, 1);
        bc.bias = 1, bc.groups = 2;
        check(&t, bc);
        bc = conv(n, 9, 7, 6, 13, 3, 2, 1, 1);
        bc.bias = 1;
        check(&t, bc);
    }
    Case bb = conv(2, 5, 8, 8, 7, 3, 1, 1, 1);
    bb.bias = 1;
    check(&t, bb);
    /* depthwise convs (groups of one channel) stay on the reference */
    {
        NcGraph *g = nc_graph_new("depthwise");
        int64_t xs[4] = {1, 8, 6, 6}, ws[4] = {8, 1, 3, 3};
        int ins[2] = {nc_graph_add_input(g, "x", 4, xs), nc_graph_add_param(g, "w", NC_PARAM_WEIGHT, 4, ws, &e)};
        NcAttrs at = nc_attrs_default();
        at.kernel[0] = at.kernel[1] = 3, at.groups = 8;
        const int ni = nc_graph_add_node(g, NC_OP_CONV2D, 2, ins, &at, "conv", &e);
        CHECK(ni >= 0);
        NcTrainConvPlan p;
        const char *why = NULL;
        CHECK(ni >= 0 && !nc_cg_train_conv_plan(&p, g, &g->nodes.data[ni], &t, &why) && why &&
              strstr(why, "depthwise"));
        nc_graph_free(g);
    }
    printf("%d kernels checked; worst relative error: conv2d %.2g, grad_input %.2g, grad_weight %.2g (bound 1e-4)\n",
           cases, worst[0], worst[1], worst[2]);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
