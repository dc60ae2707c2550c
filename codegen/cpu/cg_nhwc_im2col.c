/* cg_nhwc_im2col.c — strided NHWC convolutions as im2col + the NHWC GEMM
 * (cg_nhwc_im2col.h). */
#include "codegen/cpu/cg_nhwc_im2col.h"

#include <string.h>

#include "codegen/cpu/cg_gemm_i8.h"

#include "ir/ops.h"

/* The GEMM's bias and epilogue: conv node nd's (its + / * operands of the
 * output's shape or one per (image, channel)). */
static void gemm_epilogue(NcGemmSpec *s, const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *y = nc_val(g, nd->outputs[0]);
    s->bias = a->has_bias, s->nepi = a->nepi;
    for (int i = 0; i < a->nepi; i++) {
        s->epi[i] = a->epi[i];
        if (a->epi[i].kind == NC_EPI_ADD || a->epi[i].kind == NC_EPI_MUL)
            s->epi_per_channel[i] = cgb_per_channel(nc_val(g, nd->inputs[a->epi[i].input]), y);
    }
}

/* vnni_i8: the int8 GEMM has VNNI (takes 3x3 stride-1 convs and stems too); groups: grouped KxK convs too
 * (int8 only: one GEMM per group, cg_gemm_i8.h) */
static int plan(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int vnni_i8, int groups,
                const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (w->kind != NC_VAL_PARAM || w->ndim != 4 || (w->layout != NC_LAYOUT_NCHW && w->layout != NC_LAYOUT_PACKED))
        return *why = "weights", 0;
    if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilated", 0;
    const int64_t KK = w->shape[2] * w->shape[3], G = a->groups;
    if (G != 1) {
        /* 8 channels a group or more, as bf16's and Winograd's grouped GEMMs: narrower ones (depthwise) would be
         * GEMMs of a few columns and a short reduction */
        if (!groups) return *why = "grouped", 0;
        if (G < 1 || x->shape[1] % G || w->shape[0] % G) return *why = "groups do not divide the channels", 0;
        if (x->shape[1] / G < 8 || w->shape[0] / G < 8) return *why = "fewer than 8 channels a group", 0;
        if (KK == 1) return *why = "a grouped 1x1", 0; /* the f32 copy of a strided 1x1 has no groups */
    }
    /* A 1x1 on an SE-scaled input with at least half as many outputs as
     * inputs, and at least 64: the copy applies the scale, so the GEMM runs
     * once over all images, unscaled, instead of once per image scaling its
     * weight rows as they load (an extra multiply per 1/mr of its FMAs;
     * gemm_bench --in-scale).  The copy costs the same per input value
     * whatever the output count, the saving grows with it: it pays on
     * RegNetY's conv3s (as many outputs as inputs) and from about 64
     * outputs; with 48 or 16 outputs, and on EfficientNet's projections (6x
     * fewer outputs than inputs), the scaled GEMM wins (bench/RESULTS.md,
     * sessions 5 and 6).  With AVX-512's blocks the f32 GEMM packs A
     * itself, scaled, tile by tile (cg_gemm.c's pack_a), and that beat this
     * copy's separate stage on Zen 4 (regnety_016, 5 rounds of bench
     * --per-kernel: batch 1 19.97 -> 19.56 ms, batch 8 128.3 -> 127.4); the
     * int8 routes (groups) keep the copy, not measured without it. */
    const int scaled_1x1 = KK == 1 && a->has_in_scale && (t->bregs < 32 || groups) && 2 * w->shape[0] >= w->shape[1] &&
                           w->shape[0] >= 64 && !a->pad[0] && !a->pad[1] && !a->pad[2] && !a->pad[3];
    if (a->stride[0] < 1 || a->stride[1] < 1 ||
        (a->stride[0] == 1 && a->stride[1] == 1 && !scaled_1x1 && !(vnni_i8 && KK > 1)))
        return *why = "not strided (nor a 1x1 on a scaled input)", 0;
    if (KK > 1 && w->shape[1] * KK < 256 && !vnni_i8)
        return *why = "reduction under 256 (a stem or a narrow group: direct)", 0;
    if (!cgb_epi_operands_ok(g, nd)) return *why = "epilogue operand of another shape", 0;
    p->N = x->shape[0], p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
    p->O = w->shape[0], p->KH = w->shape[2], p->KW = w->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
    p->sh = a->stride[0], p->sw = a->stride[1], p->pt = a->pad[0], p->pl = a->pad[1];
    p->G = G, p->Cg = p->C / G;
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = p->N, s.cin = p->Cg * KK, s.cout = p->O / G, s.hw = p->OH * p->OW; /* a group's GEMM */
    s.wtype = w->dtype == NC_BF16 ? NC_BF16 : NC_F32; /* int8: cg_gemm_i8.h plans the same spec */
    gemm_epilogue(&s, g, nd);
    NcError e;
    if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) return *why = "no GEMM plan", 0;
    p->cols_floats = p->N * p->OH * p->OW * s.cin;
    return 1;
}

int nc_cg_nhwc_im2col_plan(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                           const char **why) {
    return plan(p, g, nd, t, 0, 0, why);
}

/* int8 with VNNI also takes the KxK stride-1 convs from f32 Winograd, and the stems (a reduction under 256)
 * from the f32 direct conv (resnet50 batch 1, 1 thread, loaded Xeon with AMX, 3 interleaved rounds: 74 / 76
 * / 93 ms -> 61 / 64 / 94): vpdpbusd does 4x the multiply-adds
 * of an f32 FMA per instruction, about what F(4x4, 3x3) saves in multiplications, without Winograd's
 * transforms (bench/RESULTS.md: resnet50 on a Xeon with AVX512-VNNI).  AVX2's int8 (three instructions per
 * 32 multiply-adds) was measured slower than Winograd there, so without VNNI they stay f32; AVX-VNNI's ymm
 * vpdpbusd has the same 4x over a ymm FMA, but no such host was measured: it keeps Winograd too. */
int nc_cg_nhwc_im2col_plan_i8(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t,
                              const char **why) {
    return plan(p, g, nd, t, nc_cg_i8_isa(t) >= NC_I8_VNNI512, 1, why); /* AVX512-VNNI or AMX */
}

int nc_cg_nhwc_im2col_plan_i8_as(NcNhwcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, int vnni,
                                 const char **why) {
    return plan(p, g, nd, t, vnni, 1, why);
}

void nc_cg_nhwc_im2col_reorder(const NcNhwcIm2colPlan *p, const float *w, float *r) {
    const int64_t KK = p->KH * p->KW, Cg = p->Cg, K = Cg * KK;
    for (int64_t o = 0; o < p->O; o++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t k = 0; k < KK; k++) r[o * K + k * Cg + c] = w[(o * Cg + c) * KK + k];
}

void nc_cg_nhwc_im2col_pack(const NcNhwcIm2colPlan *p, const float *w, float *packed) {
    float *r = nc_malloc((size_t)(p->O * p->C * p->KH * p->KW) * sizeof(float));
    nc_cg_nhwc_im2col_reorder(p, w, r);
    nc_cg_gemm_pack(&p->gemm, r, packed);
    free(r);
}

static LLVMValueRef I(NcCgModule *m, int64_t v) { return cgb_i64(m, v); }
static LLVMValueRef mulc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(m->b, a, I(m, c), ""); }
static LLVMValueRef addc(NcCgModule *m, LLVMValueRef a, int64_t c) { return LLVMBuildNSWAdd(m->b, a, I(m, c), ""); }

/* Stage 1: tile (n, oh) -> rows (n, oh, 0 .. OW) of cols (f32), from x stored f32 or (x_bf16) bf16. */
static void emit_cols(NcCgModule *m, const NcNode *nd, const NcNhwcIm2colPlan *p, const char *name, int x_bf16) {
    LLVMBuilderRef b = m->b;
    const int64_t K = p->C * p->KH * p->KW;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), cols = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef scale = nd->attrs.has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(&nd->attrs)) : NULL;
    LLVMValueRef t, ow, kh, kw;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, I(m, p->OH), ""), oh = LLVMBuildSRem(b, t, I(m, p->OH), "");
    LLVMValueRef xn = cgb_gep_act(m, x, mulc(m, n, p->H * p->W * p->C), x_bf16);
    LLVMValueRef sn = scale ? cgb_gep(m, scale, mulc(m, n, p->C)) : NULL;
    LLVMValueRef ih0 = addc(m, mulc(m, oh, p->sh), -p->pt);
    CgbLoop lw = cgb_loop_begin(m, I(m, 0), I(m, p->OW), 1, &ow);
    LLVMValueRef row = cgb_gep(m, cols, mulc(m, LLVMBuildNSWAdd(b, mulc(m, t, p->OW), ow, ""), K));
    LLVMValueRef iw0 = addc(m, mulc(m, ow, p->sw), -p->pl);
    CgbLoop lh = cgb_loop_begin(m, I(m, 0), I(m, p->KH), 1, &kh);
    LLVMValueRef ih = LLVMBuildNSWAdd(b, ih0, kh, "");
    LLVMValueRef hok = LLVMBuildICmp(b, LLVMIntULT, ih, I(m, p->H), ""); /* unsigned: row -1 is out */
    CgbLoop lk = cgb_loop_begin(m, I(m, 0), I(m, p->KW), 1, &kw);
    LLVMValueRef iw = LLVMBuildNSWAdd(b, iw0, kw, "");
    LLVMValueRef ok = LLVMBuildAnd(b, hok, LLVMBuildICmp(b, LLVMIntULT, iw, I(m, p->W), ""), "");
    LLVMValueRef dst = cgb_gep(m, row, mulc(m, LLVMBuildNSWAdd(b, mulc(m, kh, p->KW), kw, ""), p->C));
    CgbIf c = cgb_if_begin(m, ok);
    cgb_copy_act(m, dst, cgb_gep_act(m, xn, mulc(m, LLVMBuildNSWAdd(b, mulc(m, ih, p->W), iw, ""), p->C), x_bf16),
                 x_bf16, sn, p->C);
    cgb_if_else(m, &c);
    cgb_copy_floats(m, dst, NULL, NULL, p->C);
    cgb_if_end(m, &c);
    cgb_loop_end(m, &lk);
    cgb_loop_end(m, &lh);
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* The GEMM stage: calls the GEMM `<prefix>_mm` with the node's inputs, in[0]
 * replaced by the columns in out[1] (the scratch). */
static LLVMValueRef emit_gemm_stage(NcCgModule *m, const NcNode *nd, const NcGemmPlan *gemm, const char *prefix) {
    char name[96];
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, gemm, name);
    LLVMValueRef mm = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_gemm", prefix);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1), ins[NC_MAXIN];
    for (int k = 0; k < nd->ninputs; k++) ins[k] = k == 0 ? cgb_arg_ptr(m, out, 1) : cgb_arg_ptr(m, in, k);
    LLVMValueRef outs[1] = {cgb_arg_ptr(m, out, 0)};
    cgb_call_tile(m, mm, ins, nd->ninputs, outs, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    LLVMBuildRetVoid(m->b);
    return fn;
}

void nc_cg_nhwc_im2col_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcNhwcIm2colPlan *p,
                            const char *prefix, NcCgKernel *k) {
    (void)g;
    char name[96];
    snprintf(name, sizeof name, "%s_cols", prefix);
    emit_cols(m, nd, p, name, 0);
    k->stage[0] = LLVMGetNamedFunction(m->mod, name);
    k->stage[1] = emit_gemm_stage(m, nd, &p->gemm, prefix);
    k->tiles[0] = p->N * p->OH, k->tiles[1] = p->gemm.tiles;
    k->scratch = p->cols_floats;
}

#define BGEP(ptr, i) LLVMBuildInBoundsGEP2(m->b, LLVMInt8TypeInContext(m->ctx), (ptr), (LLVMValueRef[]){(i)}, 1, "")

/* The zero point of the blob in[1]'s activation quantisation: an integer in [0, 255] stored as a float
 * (cg_precision.h). */
static LLVMValueRef zero_point(NcCgModule *m, LLVMValueRef in) {
    LLVMValueRef blob = cgb_arg_ptr(m, in, 1);
    LLVMValueRef z = LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, blob, I(m, 1)), "");
    return LLVMBuildTrunc(m->b, LLVMBuildFPToSI(m->b, z, m->i32, ""), LLVMInt8TypeInContext(m->ctx), "");
}

/* One row of u8 columns, output pixel (oh, ow) of an image whose quantised input is xn (group 0's plane:
 * pixels of Cg bytes), into row: for each of ng groups (planes xg bytes apart, written a_group bytes apart)
 * the taps' runs of Cg bytes — a window row inside the image one copy of KW x Cg bytes —, the padding's the
 * zero point zp (the quantised 0.0, as the f32 columns' zeros quantised to), bytes [K, K4) zero. */
static void byte_row(NcCgModule *m, const NcNhwcIm2colPlan *p, int64_t K4, LLVMValueRef xn, int64_t xg, LLVMValueRef zp,
                     LLVMValueRef row, LLVMValueRef oh, LLVMValueRef ow, int ng, int64_t a_group) {
    LLVMBuilderRef b = m->b;
    const int64_t Cg = p->Cg, K = Cg * p->KH * p->KW;
    LLVMValueRef ih0 = addc(m, mulc(m, oh, p->sh), -p->pt), iw0 = addc(m, mulc(m, ow, p->sw), -p->pl), kh, kw;
    /* the window's columns inside the image: iw0 >= 0 and iw0 + KW <= W (unsigned: iw0 < 0 is out) */
    LLVMValueRef wok = LLVMBuildICmp(b, LLVMIntULE, iw0, I(m, p->W - p->KW), "");
    if (p->W < p->KW) wok = LLVMConstInt(LLVMInt1TypeInContext(m->ctx), 0, 0);
    CgbLoop lh = cgb_loop_begin(m, I(m, 0), I(m, p->KH), 1, &kh);
    LLVMValueRef ih = LLVMBuildNSWAdd(b, ih0, kh, "");
    LLVMValueRef hok = LLVMBuildICmp(b, LLVMIntULT, ih, I(m, p->H), ""); /* unsigned: row -1 is out */
    LLVMValueRef drow = BGEP(row, mulc(m, kh, p->KW * Cg));
    CgbIf whole = cgb_if_begin(m, LLVMBuildAnd(b, hok, wok, ""));
    LLVMValueRef srow = BGEP(xn, mulc(m, LLVMBuildNSWAdd(b, mulc(m, ih, p->W), iw0, ""), Cg));
    for (int gi = 0; gi < ng; gi++) /* unrolled: 1 or 2 groups (ResNeSt), up to 37 (RegNetY) unfused */
        LLVMBuildMemCpy(b, BGEP(drow, I(m, gi * a_group)), 1, BGEP(srow, I(m, gi * xg)), 1, I(m, p->KW * Cg));
    cgb_if_else(m, &whole);
    CgbLoop lk = cgb_loop_begin(m, I(m, 0), I(m, p->KW), 1, &kw);
    LLVMValueRef iw = LLVMBuildNSWAdd(b, iw0, kw, "");
    LLVMValueRef ok = LLVMBuildAnd(b, hok, LLVMBuildICmp(b, LLVMIntULT, iw, I(m, p->W), ""), "");
    LLVMValueRef dst = BGEP(drow, mulc(m, kw, Cg));
    LLVMValueRef src = BGEP(xn, mulc(m, LLVMBuildNSWAdd(b, mulc(m, ih, p->W), iw, ""), Cg));
    CgbIf c = cgb_if_begin(m, ok);
    for (int gi = 0; gi < ng; gi++)
        LLVMBuildMemCpy(b, BGEP(dst, I(m, gi * a_group)), 1, BGEP(src, I(m, gi * xg)), 1, I(m, Cg));
    cgb_if_else(m, &c);
    for (int gi = 0; gi < ng; gi++) LLVMBuildMemSet(b, BGEP(dst, I(m, gi * a_group)), zp, I(m, Cg), 1);
    cgb_if_end(m, &c);
    cgb_loop_end(m, &lk);
    cgb_if_end(m, &whole);
    cgb_loop_end(m, &lh);
    for (int gi = 0; K4 > K && gi < ng; gi++)
        LLVMBuildMemSet(b, BGEP(row, I(m, gi * a_group + K)), LLVMConstInt(LLVMInt8TypeInContext(m->ctx), 0, 0),
                        I(m, K4 - K), 1);
}

/* int8, stage 2: tile (n, oh) -> rows (n, oh, 0 .. OW) of u8 columns, K4 bytes apart, from the quantised
 * input (its planes of Cg bytes a pixel at byte xq_off of out[1]).  Grouped: group g's columns (from plane
 * g) a_group bytes after group g - 1's. */
static void emit_cols_u8(NcCgModule *m, const NcNhwcIm2colPlan *p, int64_t K4, int64_t a_group, const char *name,
                         int64_t xq_off, int64_t a_off) {
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef scratch = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef xq = BGEP(scratch, I(m, xq_off)), cols = BGEP(scratch, I(m, a_off));
    LLVMValueRef zp = zero_point(m, LLVMGetParam(fn, 0));
    LLVMValueRef t, ow;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, I(m, p->OH), ""), oh = LLVMBuildSRem(b, t, I(m, p->OH), "");
    LLVMValueRef xn = BGEP(xq, mulc(m, n, p->H * p->W * p->Cg));
    CgbLoop lw = cgb_loop_begin(m, I(m, 0), I(m, p->OW), 1, &ow);
    LLVMValueRef row = BGEP(cols, mulc(m, LLVMBuildNSWAdd(b, mulc(m, t, p->OW), ow, ""), K4));
    byte_row(m, p, K4, xn, p->N * p->H * p->W * p->Cg, zp, row, oh, ow, (int)p->G, a_group);
    cgb_loop_end(m, &lw);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* int8 fused (cg_gemm_i8.h's NcI8RowMaker): rows [row0, row0 + nrows) of group grp's columns, those under M,
 * from the quantised input at the scratch's start. */
typedef struct RowCtx {
    const NcNhwcIm2colPlan *p;
    int64_t K4;
} RowCtx;

static void make_rows(NcCgModule *m, const void *vctx, LLVMValueRef in, LLVMValueRef out, LLVMValueRef grp,
                      LLVMValueRef row0, int64_t nrows, LLVMValueRef dst) {
    const RowCtx *c = vctx;
    const NcNhwcIm2colPlan *p = c->p;
    LLVMBuilderRef b = m->b;
    const int64_t M = p->N * p->OH * p->OW;
    const int64_t plane = p->N * p->H * p->W * p->Cg; /* a group's quantised input */
    LLVMValueRef xq = BGEP(cgb_arg_ptr(m, out, 1), mulc(m, grp, plane)), zp = zero_point(m, in), i;
    LLVMValueRef end = LLVMBuildNSWAdd(b, row0, I(m, nrows), "");
    end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, I(m, M), ""), end, I(m, M), "");
    CgbLoop lr = cgb_loop_begin(m, row0, end, 1, &i);
    LLVMValueRef n = LLVMBuildSDiv(b, i, I(m, p->OH * p->OW), ""), r = LLVMBuildSRem(b, i, I(m, p->OH * p->OW), "");
    LLVMValueRef oh = LLVMBuildSDiv(b, r, I(m, p->OW), ""), ow = LLVMBuildSRem(b, r, I(m, p->OW), "");
    LLVMValueRef row = BGEP(dst, mulc(m, LLVMBuildNSWSub(b, i, row0, ""), c->K4));
    byte_row(m, p, c->K4, BGEP(xq, mulc(m, n, p->H * p->W * p->Cg)), 0, zp, row, oh, ow, 1, 0);
    cgb_loop_end(m, &lr);
}
#undef BGEP

/* int8: quantise the input once (C bytes a pixel), columns of bytes, the int8 GEMM — the f32 columns
 * written and read again, then quantised (9x the input's values for a 3x3 stride 1), were what it replaced. */
void nc_cg_nhwc_im2col_emit_i8(NcCgModule *m, const NcNode *nd, const NcNhwcIm2colPlan *p, const NcGemmI8Plan *q,
                               const char *prefix, NcCgKernel *k) {
    char name[96];
    if (p->KH * p->KW == 1 && (p->sh > 1 || p->sw > 1)) {
        /* a strided 1x1 reads a quarter of its input or less: copy those floats (scaled), then quantise them,
         * rather than quantise every input value (the same bytes) */
        const int64_t a_off = cgb_round_up(p->cols_floats * 4, 64); /* the u8 rows after the f32 columns */
        snprintf(name, sizeof name, "%s_cols", prefix);
        emit_cols(m, nd, p, name, q->x_bf16);
        k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->N * p->OH;
        snprintf(name, sizeof name, "%s_quant", prefix);
        nc_cg_gemm_i8_emit_quant(m, q, name, 1, a_off);
        k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = q->qtiles;
        snprintf(name, sizeof name, "%s_i8mm", prefix);
        nc_cg_gemm_i8_emit_gemm(m, q, name, a_off);
        k->stage[2] = LLVMGetNamedFunction(m->mod, name), k->tiles[2] = q->tiles;
        k->scratch = a_off / 4 + cgb_ceil_div(q->a_bytes, 4);
        return;
    }
    const int64_t npix = p->N * p->H * p->W, xq_bytes = cgb_round_up(npix * p->C, 64);
    snprintf(name, sizeof name, "%s_quant", prefix);
    nc_cg_gemm_i8_emit_quant_x(m, q, name, npix, p->C, p->G, p->H * p->W,
                               nd->attrs.has_in_scale ? nc_in_scale_input(&nd->attrs) : 0, 0);
    k->stage[0] = LLVMGetNamedFunction(m->mod, name);
    k->tiles[0] = cgb_ceil_div(npix, nc_cg_gemm_i8_quant_x_rows(p->C));
    if (q->fused) { /* the GEMM stage makes its columns: none in the scratch */
        const RowCtx ctx = {p, q->K4};
        const NcI8RowMaker rm = {make_rows, &ctx};
        snprintf(name, sizeof name, "%s_i8mm", prefix);
        nc_cg_gemm_i8_emit_gemm_fused(m, q, name, &rm);
        k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = q->tiles;
        k->scratch = cgb_ceil_div(xq_bytes, 4);
        return;
    }
    snprintf(name, sizeof name, "%s_cols", prefix);
    emit_cols_u8(m, p, q->K4, q->a_group, name, 0, xq_bytes);
    k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = p->N * p->OH;
    snprintf(name, sizeof name, "%s_i8mm", prefix);
    nc_cg_gemm_i8_emit_gemm(m, q, name, xq_bytes);
    k->stage[2] = LLVMGetNamedFunction(m->mod, name), k->tiles[2] = q->tiles;
    k->scratch = cgb_ceil_div(xq_bytes + q->a_bytes, 4);
}
