/* test_cg_bf16_pool.c — the pools' bf16 activations (cg_eltwise.c, as
 * passes/assign_dtype.c stores them under --precision bf16) against the
 * reference pools (ir/ref_pool.c).
 *
 * Max and average pools and radix_combine read bf16 and write bf16, the
 * global average pool, radix_gap and the SE gate's pooling read bf16 (the
 * gate checked through its output, sigmoid(w2 . act(w1 . pooled + b1) + b2)).  x is made exact in bf16
 * before the reference sees it, so a max pool is exact (checked to 1e-6 of
 * the largest), an average pool's output rounded once (2^-7), the global
 * pool and the gate summed in f32 (1e-5); a bf16 tensor read as f32 is an
 * error of order 1 or a fault (x ends at an unreadable page).  Ragged
 * channels (C not a multiple of 16), padded windows; y fenced by canaries.
 * The relayout into NHWC that writes bf16 (the network's input before a bf16 stem) is checked against
 * its input rounded once (exact), its 3-channel overlapping stores and ragged channel blocks included.
 * They run where the host has AVX512-BF16 or AMX-BF16 (the targets that get
 * bf16 activations: without them LLVM rounds to bf16 by a call the JIT does
 * not resolve); elsewhere they are compiled for Sapphire Rapids, not run. */
#include "codegen/cpu/cg_amx_gemm.h"
#include "codegen/cpu/cg_eltwise.h"
#include "codegen/cpu/cg_precision.h"
#include "codegen/cpu/cg_relayout.h"
#include "runtime/kernels.h"
#include "tests/codegen/cg_test.h"

static float bf16_exact(float f) {
    uint32_t u = (uint32_t)nc_bf16_round(f) << 16;
    memcpy(&f, &u, 4);
    return f;
}

typedef struct PoolCase {
    NcOpKind op;
    int64_t n, c, h, w;
    int k, s, pad, y_bf16;
    double tol;
} PoolCase;

static void check(const NcCgTarget *t, PoolCase pc, int run) {
    NcError e;
    char what[160];
    snprintf(what, sizeof what, "%s n%lld c%lld %lldx%lld k%d s%d pad %d, y %s", nc_op_info(pc.op)->name,
             (long long)pc.n, (long long)pc.c, (long long)pc.h, (long long)pc.w, pc.k, pc.s, pc.pad,
             pc.y_bf16 ? "bf16" : "f32");
    NcGraph *g = nc_graph_new("pool");
    int64_t xs[4] = {pc.n, pc.c, pc.h, pc.w}, w1s[4] = {4, pc.c, 1, 1}, b1s[1] = {4}, w2s[4] = {pc.c, 4, 1, 1},
            b2s[1] = {pc.c};
    int ins[5] = {nc_graph_add_input(g, "x", 4, xs)}, nin = 1;
    NcAttrs a = nc_attrs_default();
    a.kernel[0] = a.kernel[1] = pc.k, a.stride[0] = a.stride[1] = pc.s;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = pc.pad;
    if (pc.op == NC_OP_SQUEEZE_EXCITE) { /* the gate's layers, ReLU between */
        ins[nin++] = nc_graph_add_param(g, "w1", NC_PARAM_WEIGHT, 4, w1s, &e);
        ins[nin++] = nc_graph_add_param(g, "b1", NC_PARAM_BIAS, 1, b1s, &e);
        ins[nin++] = nc_graph_add_param(g, "w2", NC_PARAM_WEIGHT, 4, w2s, &e);
        ins[nin++] = nc_graph_add_param(g, "b2", NC_PARAM_BIAS, 1, b2s, &e);
        a.nepi = 1, a.epi[0].kind = NC_EPI_RELU;
    }
    int64_t as[2] = {pc.n, pc.c};
    if (pc.op == NC_OP_RADIX_GAP || pc.op == NC_OP_RADIX_COMBINE) a.radix = 2;          /* ResNeSt's */
    if (pc.op == NC_OP_RADIX_COMBINE) ins[nin++] = nc_graph_add_input(g, "att", 2, as); /* its attention, f32 */
    const int ni = nc_graph_add_node(g, pc.op, nin, ins, &a, "pool", &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    if (ni < 0) {
        nc_graph_free(g);
        return;
    }
    const NcNode *nd = &g->nodes.data[ni];
    NcValue *xv = nc_val(g, nd->inputs[0]), *yv = nc_val(g, nd->outputs[0]);
    xv->layout = NC_LAYOUT_NHWC, xv->dtype = NC_BF16;
    if (yv->ndim == 4 && yv->shape[2] * yv->shape[3] > 1) yv->layout = NC_LAYOUT_NHWC;
    if (pc.y_bf16) yv->dtype = NC_BF16;
    const int64_t tiles = nc_cg_eltwise_tiles(g, nd);
    const int se = pc.op == NC_OP_SQUEEZE_EXCITE;
    CHECK_MSG(se ? nc_cg_se_staged(g, nd) : tiles > 0, "%s: no kernel", what);
    NcCgModule m;
    nc_cg_module_init(&m, t, "pool");
    NcCgKernel kern = {0};
    if (se) {
        nc_cg_emit_se_staged(&m, g, nd, "pool", &kern);
    } else {
        nc_cg_emit_eltwise(&m, g, nd, "pool");
        kern.stage[0] = LLVMGetNamedFunction(m.mod, "pool"), kern.tiles[0] = tiles;
    }
    NcCgJit *jit = nc_cg_jit_new(&e);
    char names[3][96] = {{0}}; /* the stages' functions, by name (the module goes to the JIT) */
    for (int s = 0; s < 3; s++) {
        size_t len = 0;
        const char *nm = kern.stage[s] ? LLVMGetValueName2(kern.stage[s], &len) : "";
        snprintf(names[s], sizeof names[s], "%.*s", (int)len, nm);
    }
    const int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn[3] = {NULL, NULL, NULL};
    for (int s = 0; s < 3 && !rc; s++)
        if (names[s][0]) fn[s] = (NcTileFn)nc_cg_jit_lookup(jit, names[s], &e);
    if (!run || rc || !fn[0]) {
        CHECK_MSG(!run || fn[0], "%s: %s", what, e.msg);
        nc_cg_jit_free(jit);
        nc_graph_free(g);
        return;
    }
    /* the reference on NCHW f32, x exact in bf16 */
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) {
        NcValue *v = nc_val(g, nd->inputs[i]);
        v->data = cgt_random(nc_numel(v));
        if (!i)
            for (int64_t j = 0; j < nc_numel(v); j++) v->data[j] = bf16_exact(v->data[j] * 4);
        ka.in_v[i] = v, ka.in[i] = v->data;
    }
    const int64_t nx = nc_numel(xv), ny = nc_numel(yv), hw = yv->ndim == 4 ? yv->shape[2] * yv->shape[3] : 1;
    float *want = nc_malloc((size_t)ny * sizeof(float));
    ka.out_v[0] = yv, ka.out[0] = want;
    nc_op_info(pc.op)->ref(&ka);
    /* x: NHWC bf16, ending at an unreadable page */
    float *xn = nc_malloc((size_t)nx * sizeof(float));
    cgt_to_nhwc(ka.in[0], xn, pc.n, pc.c, pc.h * pc.w);
    const int64_t xfloats = cgb_ceil_div(nx, 2);
    float *xg = cgt_guarded(xfloats);
    uint16_t *xh = (uint16_t *)(void *)((char *)xg + xfloats * 4 - nx * 2);
    nc_bf16_round_n(xn, xh, nx);
    const float *in[NC_MAXIN] = {(const float *)(const void *)xh};
    for (int i = 1; i < nd->ninputs; i++) in[i] = ka.in[i];
    /* y between canaries; the SE kernel's scratch */
    const int64_t ybytes = ny * (pc.y_bf16 ? 2 : 4);
    float *ybuf = nc_malloc((size_t)(ny + 128) * sizeof(float)), *y = ybuf + 64;
    for (int64_t i = 0; i < ny + 128; i++) ybuf[i] = 42.0f;
    float *scratch = nc_malloc((size_t)(kern.scratch + NC_KERNEL_SLACK) * sizeof(float));
    float *out[2] = {y, scratch};
    for (int s = 0; s < 3; s++)
        if (fn[s]) cgt_run(fn[s], in, out, kern.tiles[s]);
    float *yf = nc_malloc((size_t)ny * sizeof(float)), *got = nc_malloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < ny; i++) {
        if (!pc.y_bf16) {
            yf[i] = y[i];
            continue;
        }
        uint16_t h;
        memcpy(&h, (const char *)y + 2 * i, 2);
        const uint32_t u = (uint32_t)h << 16;
        memcpy(&yf[i], &u, 4);
    }
    cgt_to_nchw(yf, got, pc.n, yv->shape[1], hw);
    double err;
    CHECK_MSG(cgt_close(got, want, ny, pc.tol, &err), "%s: relative error %g", what, err);
    int canaries = 1;
    for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f;
    for (int64_t i = ybytes; i < (ny + 64) * 4; i++)
        canaries &= ((unsigned char *)y)[i] == ((unsigned char *)ybuf)[i % 4];
    CHECK_MSG(canaries, "%s: wrote outside the output", what);
    printf("%s: relative error %.2e\n", what, err);
    cgt_guarded_free(xg, xfloats);
    free(xn), free(ybuf), free(scratch), free(yf), free(got), free(want);
    nc_cg_jit_free(jit);
    nc_graph_free(g);
}

/* NCHW f32 -> NHWC bf16 by the relayout kernel, against x rounded once to bf16 (exact), y between canaries */
static void check_relayout(const NcCgTarget *t, int64_t n, int64_t c, int64_t h, int64_t w, int run) {
    NcError e;
    char what[96];
    snprintf(what, sizeof what, "relayout to NHWC bf16 n%lld c%lld %lldx%lld", (long long)n, (long long)c, (long long)h,
             (long long)w);
    NcGraph *g = nc_graph_new("relayout");
    int64_t xs[4] = {n, c, h, w};
    int ins[1] = {nc_graph_add_input(g, "x", 4, xs)};
    NcAttrs a = nc_attrs_default();
    const int ni = nc_graph_add_node(g, NC_OP_RELAYOUT, 1, ins, &a, "relayout", &e);
    CHECK_MSG(ni >= 0, "%s: %s", what, e.msg);
    if (ni < 0) {
        nc_graph_free(g);
        return;
    }
    const NcNode *nd = &g->nodes.data[ni];
    NcValue *yv = nc_val(g, nd->outputs[0]);
    yv->layout = NC_LAYOUT_NHWC, yv->dtype = NC_BF16;
    const int64_t tiles = nc_cg_relayout_tiles(g, nd), nx = n * c * h * w;
    CHECK_MSG(tiles > 0, "%s: no kernel", what);
    NcCgModule m;
    nc_cg_module_init(&m, t, "relayout");
    nc_cg_emit_relayout(&m, g, nd, "relayout");
    NcCgJit *jit = nc_cg_jit_new(&e);
    const int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, "relayout", &e);
    if (run && fn) {
        float *x = cgt_random(nx);
        float *ybuf = nc_malloc((size_t)(nx + 128) * sizeof(float)), *y = ybuf + 64;
        for (int64_t i = 0; i < nx + 128; i++) ybuf[i] = 42.0f;
        const float *in[NC_MAXIN] = {x};
        float *out[2] = {y, NULL};
        cgt_run(fn, in, out, tiles);
        int64_t bad = 0;
        for (int64_t i = 0; i < nx; i++) { /* NHWC element i: pixel i / c, channel i % c */
            const int64_t ch = i % c, px = i / c, img = px / (h * w), hw = px % (h * w);
            uint16_t got;
            memcpy(&got, (const char *)y + 2 * i, 2);
            bad += got != nc_bf16_round(x[(img * c + ch) * h * w + hw]);
        }
        CHECK_MSG(!bad, "%s: %lld of %lld elements not x rounded to bf16", what, (long long)bad, (long long)nx);
        int canaries = 1;
        for (int i = 0; i < 64; i++) canaries &= ybuf[i] == 42.0f;
        for (int64_t i = nx * 2; i < (nx + 64) * 4; i++)
            canaries &= ((unsigned char *)y)[i] == ((unsigned char *)ybuf)[i % 4];
        CHECK_MSG(canaries, "%s: wrote outside the output", what);
        printf("%s: exact\n", what);
        free(x), free(ybuf);
    }
    nc_cg_jit_free(jit);
    nc_graph_free(g);
}

static void all_cases(const NcCgTarget *t, int run) {
    check_relayout(t, 2, 3, 9, 21, run);  /* the network's input: 3 channels, overlapping stores */
    check_relayout(t, 1, 37, 5, 18, run); /* ragged channel and pixel blocks */
    const PoolCase cs[] = {
        {NC_OP_MAX_POOL2D, 2, 64, 11, 12, 3, 2, 1, 1, 1e-6},       /* resnet50's stem pool, bf16 to bf16: exact */
        {NC_OP_MAX_POOL2D, 1, 21, 7, 7, 3, 1, 1, 1, 1e-6},         /* ragged channels */
        {NC_OP_AVG_POOL2D, 2, 40, 8, 9, 3, 2, 1, 1, 1.0 / 128},    /* ResNeSt-d's pools: rounded once */
        {NC_OP_AVG_POOL2D, 1, 32, 6, 6, 2, 2, 0, 0, 1e-5},         /* bf16 in, f32 out */
        {NC_OP_GLOBAL_AVG_POOL, 2, 72, 7, 7, 1, 1, 0, 0, 1e-5},    /* the classifier's pool */
        {NC_OP_SQUEEZE_EXCITE, 2, 100, 5, 6, 1, 1, 0, 0, 1e-5},    /* RegNetY's gate: its pooling reads bf16 */
        {NC_OP_RADIX_GAP, 2, 96, 5, 7, 1, 1, 0, 0, 1e-5},          /* ResNeSt: 2 branches of 48 channels */
        {NC_OP_RADIX_COMBINE, 2, 68, 6, 5, 1, 1, 0, 1, 1.0 / 128}, /* 2 of 34 (ragged), rounded once */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) check(t, cs[i], run);
}

int main(void) {
    NcCgTarget t;
    cgt_host_target(&t);
    if (nc_cg_bf16_target(&t) != NC_BF16_NONE) {
        all_cases(&t, 1);
    } else {
        printf("skipped: no AVX512-BF16 or AMX-BF16 (the kernels were compiled for sapphirerapids, not run)\n");
        NcCgTarget c;
        NcError e;
        if (nc_cg_target_init(&c, "sapphirerapids", NULL, &e)) {
            CHECK_MSG(0, "%s", e.msg);
        } else {
            all_cases(&c, 0);
            nc_cg_target_free(&c);
        }
    }
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
