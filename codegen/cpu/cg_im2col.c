/* cg_im2col.c — strided convolutions as im2col + packed GEMM (cg_im2col.h). */
#include "codegen/cpu/cg_im2col.h"

#include <string.h>

#include "ir/ops.h"

void nc_cg_im2col_gemm_epilogue(NcGemmSpec *s, const NcGraph *g, const NcNode *nd) {
    const NcAttrs *a = &nd->attrs;
    const NcValue *y = nc_val(g, nd->outputs[0]);
    s->bias = a->has_bias, s->nepi = a->nepi;
    for (int i = 0; i < a->nepi; i++) {
        s->epi[i] = a->epi[i];
        if (a->epi[i].kind == NC_EPI_ADD || a->epi[i].kind == NC_EPI_MUL)
            s->epi_per_channel[i] = cgb_per_channel(nc_val(g, nd->inputs[a->epi[i].input]), y);
    }
}

int nc_cg_im2col_plan(NcIm2colPlan *p, const NcGraph *g, const NcNode *nd, const NcCgTarget *t, const char **why) {
    memset(p, 0, sizeof *p);
    const NcAttrs *a = &nd->attrs;
    if (nd->op != NC_OP_CONV2D || nd->noutputs != 1) return *why = "not a conv", 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *w = nc_val(g, nd->inputs[1]), *y = nc_val(g, nd->outputs[0]);
    if (w->kind != NC_VAL_PARAM || w->ndim != 4 || (w->layout != NC_LAYOUT_NCHW && w->layout != NC_LAYOUT_PACKED)) return *why = "weights", 0;
    if (a->groups != 1) return *why = "grouped", 0;
    if (a->dilation[0] != 1 || a->dilation[1] != 1) return *why = "dilated", 0;
    if (a->stride[0] < 1 || a->stride[1] < 1 || a->stride[0] > 2 || a->stride[1] > 2 || (a->stride[0] == 1 && a->stride[1] == 1))
        return *why = "not stride 2", 0;
    if (w->shape[2] * w->shape[3] < 2) return *why = "1x1 (a GEMM already)", 0;
    /* A short reduction (a stem: 3 channels x 7 x 7 = 147) keeps the GEMM's
     * accumulators busy with loads and stores, and the copy is then as large
     * as the input times K*K: resnet50's stem ran 5.0 ms this way against
     * 3.7 ms direct (one thread), its 3x3 stride-2 convs (K 1152-4608) 6%
     * faster. */
    if (w->shape[1] * w->shape[2] * w->shape[3] < 256) return *why = "reduction under 256", 0;
    if (!cgb_epi_operands_ok(g, nd)) return *why = "epilogue operand of another shape", 0;
    p->N = x->shape[0], p->C = x->shape[1], p->H = x->shape[2], p->W = x->shape[3];
    p->O = w->shape[0], p->KH = w->shape[2], p->KW = w->shape[3], p->OH = y->shape[2], p->OW = y->shape[3];
    p->sh = a->stride[0], p->sw = a->stride[1], p->pt = a->pad[0], p->pl = a->pad[1];
    if (p->H * p->W >= (1ll << 31) || p->W + p->KW + 64 >= (1ll << 31)) return *why = "plane too large", 0;
    NcGemmSpec s;
    memset(&s, 0, sizeof s);
    s.batch = p->N, s.cin = p->C * p->KH * p->KW, s.cout = p->O, s.hw = p->OH * p->OW, s.layout = NC_GEMM_NCHW;
    nc_cg_im2col_gemm_epilogue(&s, g, nd);
    NcError e;
    if (nc_cg_gemm_plan(&p->gemm, &s, t, &e)) return *why = "no GEMM plan", 0;
    p->b_floats = p->N * s.cin * s.hw;
    return 1;
}

/* Stage 1: tile (n, c) -> its KH * KW rows of cols[n]. */
static void emit_cols(NcCgModule *m, const NcNode *nd, const NcIm2colPlan *p, const char *name) {
    LLVMBuilderRef b = m->b;
    const int vw = m->vw, sw = p->sw;
    const int64_t K = p->C * p->KH * p->KW, HW = p->OH * p->OW;
    LLVMTypeRef ivec = LLVMVectorType(m->i32, (unsigned)vw), mvec = LLVMVectorType(m->i1, (unsigned)vw);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), B = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 1);
    LLVMValueRef scale = nd->attrs.has_in_scale ? cgb_arg_ptr(m, in, nc_in_scale_input(&nd->attrs)) : NULL;
    LLVMValueRef iota[2], lanes[64];
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < vw; l++) lanes[l] = LLVMConstInt(m->i32, (unsigned long long)(h * vw + l), 0);
        iota[h] = LLVMConstVector(lanes, (unsigned)vw);
    }
    LLVMValueRef even;
    for (int l = 0; l < vw; l++) lanes[l] = LLVMConstInt(m->i32, (unsigned long long)(2 * l), 0);
    even = LLVMConstVector(lanes, (unsigned)vw);
    LLVMValueRef wv;
    for (int l = 0; l < vw; l++) lanes[l] = LLVMConstInt(m->i32, (unsigned long long)p->W, 0);
    wv = LLVMConstVector(lanes, (unsigned)vw);

    LLVMValueRef t, oh, ow;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, p->C), ""), c = LLVMBuildSRem(b, t, cgb_i64(m, p->C), "");
    LLVMValueRef plane = cgb_gep(m, x, LLVMBuildNSWMul(b, t, cgb_i64(m, p->H * p->W), "")); /* t = n * C + c */
    LLVMValueRef sv = scale ? cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, scale, t), "")) : NULL;
    LLVMValueRef row_c = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, n, cgb_i64(m, K), ""), LLVMBuildNSWMul(b, c, cgb_i64(m, p->KH * p->KW), ""), "");
    const int64_t full = p->OW / vw * vw;
    for (int64_t kh = 0; kh < p->KH; kh++)
        for (int64_t kw = 0; kw < p->KW; kw++) {
            LLVMValueRef dst_row = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, row_c, cgb_i64(m, kh * p->KW + kw), ""), cgb_i64(m, HW), "");
            CgbLoop lh = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, p->OH), 1, &oh);
            LLVMValueRef ih = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, oh, cgb_i64(m, p->sh), ""), cgb_i64(m, kh - p->pt), "");
            LLVMValueRef rowok = LLVMBuildICmp(b, LLVMIntULT, ih, cgb_i64(m, p->H), ""); /* unsigned: row -1 is out */
            LLVMValueRef rowmask = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetUndef(mvec), rowok, LLVMConstInt(m->i32, 0, 0), ""),
                                                          LLVMGetUndef(mvec), LLVMConstNull(ivec), "");
            LLVMValueRef src = cgb_gep(m, plane, LLVMBuildNSWMul(b, ih, cgb_i64(m, p->W), ""));
            LLVMValueRef dst = cgb_gep(m, B, LLVMBuildNSWAdd(b, dst_row, LLVMBuildNSWMul(b, oh, cgb_i64(m, p->OW), ""), ""));
            /* output columns [ow, ow + vw): input columns ow * sw - pl + kw + lane (of sw vectors) */
            for (int part = 0; part < 2; part++) {
                const int nlanes = part ? (int)(p->OW - full) : vw;
                if (part ? !nlanes : !full) continue;
                CgbLoop lw;
                memset(&lw, 0, sizeof lw);
                if (!part) lw = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, full), vw, &ow);
                else ow = cgb_i64(m, full);
                LLVMValueRef iw0 = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ow, cgb_i64(m, sw), ""), cgb_i64(m, kw - p->pl), "");
                LLVMValueRef iw32 = LLVMBuildTrunc(b, iw0, m->i32, "");
                LLVMValueRef base = LLVMBuildShuffleVector(b, LLVMBuildInsertElement(b, LLVMGetUndef(ivec), iw32, LLVMConstInt(m->i32, 0, 0), ""),
                                                           LLVMGetUndef(ivec), LLVMConstNull(ivec), "");
                LLVMValueRef v[2];
                for (int h = 0; h < sw; h++) {
                    LLVMValueRef cols = LLVMBuildAdd(b, base, iota[h], "");
                    LLVMValueRef mask = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, cols, wv, ""), rowmask, "");
                    v[h] = cgb_load_mask(m, cgb_gep(m, src, LLVMBuildNSWAdd(b, iw0, cgb_i64(m, (int64_t)h * vw), "")), mask);
                }
                LLVMValueRef val = sw == 2 ? LLVMBuildShuffleVector(b, v[0], v[1], even, "") : v[0];
                if (sv) val = LLVMBuildFMul(b, val, sv, "");
                cgb_store_n(m, val, cgb_gep(m, dst, ow), nlanes);
                if (!part) cgb_loop_end(m, &lw);
            }
            cgb_loop_end(m, &lh);
        }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* Stage 2: the GEMM, reading cols where the node reads its input. */
static void emit_gemm_stage(NcCgModule *m, const NcNode *nd, LLVMValueRef gemm, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1), ins[NC_MAXIN];
    for (int k = 0; k < nd->ninputs; k++) ins[k] = k == 0 ? cgb_arg_ptr(m, out, 1) : cgb_arg_ptr(m, in, k);
    LLVMValueRef outs[1] = {cgb_arg_ptr(m, out, 0)};
    cgb_call_tile(m, gemm, ins, nd->ninputs, outs, 1, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3));
    LLVMBuildRetVoid(m->b);
}

void nc_cg_im2col_emit(NcCgModule *m, const NcGraph *g, const NcNode *nd, const NcIm2colPlan *p, const char *prefix,
                       LLVMValueRef fns[2], int64_t tiles[2]) {
    (void)g;
    char name[96];
    snprintf(name, sizeof name, "%s_cols", prefix);
    emit_cols(m, nd, p, name);
    fns[0] = LLVMGetNamedFunction(m->mod, name);
    fns[1] = nc_cg_im2col_emit_gemm(m, nd, &p->gemm, prefix);
    tiles[0] = p->N * p->C, tiles[1] = p->gemm.tiles;
}

LLVMValueRef nc_cg_im2col_emit_gemm(NcCgModule *m, const NcNode *nd, const NcGemmPlan *gemm, const char *prefix) {
    char name[96];
    snprintf(name, sizeof name, "%s_mm", prefix);
    nc_cg_gemm_emit(m, gemm, name);
    LLVMValueRef mm = LLVMGetNamedFunction(m->mod, name);
    snprintf(name, sizeof name, "%s_gemm", prefix);
    emit_gemm_stage(m, nd, mm, name);
    return LLVMGetNamedFunction(m->mod, name);
}
