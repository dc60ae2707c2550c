/* cg_relayout.c — NCHW <-> NHWC conversion (the relayout op that
 * passes/assign_layout.c inserts at the edges of NHWC regions).
 *
 * One tile per (image, row).  The row is cut into vw x vw blocks (vw
 * channels x vw pixels): vw vector loads along the source's contiguous axis,
 * a register transpose (log2(vw) butterfly stages of two-vector shuffles),
 * vw vector stores along the destination's.  Ragged blocks (channels or
 * pixels not a multiple of vw) load and store under lane masks, and the rows
 * of the block that do not exist are not loaded.  Into NHWC the output may be
 * stored bf16 (assign_dtype: a bf16 GEMM reads it, rounding it anyway), each
 * vector rounded once as it is stored. */
#include <string.h>

#include "codegen/cpu/cg_relayout.h"

/* r[0..vw) := its transpose (r[i][l] -> r[l][i]) */
static void transpose(NcCgModule *m, LLVMValueRef *r) {
    const int vw = m->vw;
    LLVMValueRef lo[64], hi[64];
    for (int b = vw / 2; b >= 1; b /= 2) {
        for (int l = 0; l < vw; l++) {
            lo[l] = LLVMConstInt(m->i32, (unsigned long long)((l & b) ? vw + l - b : l), 0);
            hi[l] = LLVMConstInt(m->i32, (unsigned long long)((l & b) ? vw + l : l + b), 0);
        }
        LLVMValueRef mlo = LLVMConstVector(lo, (unsigned)vw), mhi = LLVMConstVector(hi, (unsigned)vw);
        for (int i = 0; i < vw; i++) {
            if (i & b) continue;
            LLVMValueRef a = r[i], c = r[i + b];
            r[i] = LLVMBuildShuffleVector(m->b, a, c, mlo, "");
            r[i + b] = LLVMBuildShuffleVector(m->b, a, c, mhi, "");
        }
    }
}

/* One block: `rows` source vectors of `lanes` lanes at src + s_off + i *
 * s_stride, transposed, written as `lanes` destination vectors of `rows`
 * lanes at dst + d_off + j * d_stride. */
static void block(NcCgModule *m, LLVMValueRef src, LLVMValueRef s_off, int64_t s_stride, LLVMValueRef dst,
                  LLVMValueRef d_off, int64_t d_stride, int rows, int lanes, int overlap, int dst_bf16) {
    LLVMValueRef r[64];
    for (int i = 0; i < m->vw; i++)
        r[i] = i < rows
                   ? cgb_load_n(m, cgb_gep(m, src, LLVMBuildNSWAdd(m->b, s_off, cgb_i64(m, i * s_stride), "")), lanes)
                   : cgb_zero(m);
    transpose(m, r);
    /* overlap (NHWC with fewer channels than a vector, e.g. the network's
     * 3-channel input): whole-vector stores in order, each overwriting the
     * previous one's extra lanes, as long as they stay inside the block; the
     * last few are masked */
    for (int j = 0; j < lanes; j++) {
        const int whole = overlap && j * d_stride + m->vw <= lanes * d_stride;
        cgb_store_act(m, r[j], dst, LLVMBuildNSWAdd(m->b, d_off, cgb_i64(m, j * d_stride), ""), whole ? m->vw : rows,
                      dst_bf16);
    }
}

void nc_cg_transpose_regs(NcCgModule *m, LLVMValueRef *r) { transpose(m, r); }

void nc_cg_transpose_block(NcCgModule *m, LLVMValueRef src, LLVMValueRef s_off, int64_t s_stride, LLVMValueRef dst,
                           LLVMValueRef d_off, int64_t d_stride, int rows, int lanes) {
    block(m, src, s_off, s_stride, dst, d_off, d_stride, rows, lanes, 0, 0);
}

void nc_cg_emit_relayout(NcCgModule *m, const NcGraph *g, const NcNode *nd, const char *name) {
    const NcValue *x = nc_val(g, nd->inputs[0]), *y = nc_val(g, nd->outputs[0]);
    NC_CHECK(nc_is_nhwc(x) != nc_is_nhwc(y));
    const int to_nhwc = nc_is_nhwc(y), vw = m->vw, y_bf16 = y->dtype == NC_BF16;
    NC_CHECK(x->dtype == NC_F32 && (!y_bf16 || to_nhwc)); /* an NHWC region's input may be stored bf16, no more */
    const int64_t C = x->shape[1], H = x->shape[2], W = x->shape[3];
    LLVMBuilderRef b = m->b;
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef xp = cgb_arg_ptr(m, LLVMGetParam(fn, 0), 0), yp = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMValueRef t, c0, w0;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t); /* t = n * H + h */
    LLVMValueRef n = LLVMBuildSDiv(b, t, cgb_i64(m, H), ""), h = LLVMBuildSRem(b, t, cgb_i64(m, H), "");
    /* NCHW x[n][c][h][w] at plane0 + c * H * W + w; NHWC at t * W * C + w * C + c */
    LLVMValueRef plane0 = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, n, cgb_i64(m, C * H * W), ""),
                                          LLVMBuildNSWMul(b, h, cgb_i64(m, W), ""), "");
    LLVMValueRef row0 = LLVMBuildNSWMul(b, t, cgb_i64(m, W * C), "");
    const int64_t cfull = C / vw * vw, wfull = W / vw * vw;
    for (int cpart = 0; cpart < 2; cpart++) {
        const int cl = cpart ? (int)(C - cfull) : vw; /* channels in the block */
        if (!cl || (!cpart && !cfull)) continue;
        CgbLoop lc;
        memset(&lc, 0, sizeof lc);
        if (!cpart)
            lc = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, cfull), vw, &c0);
        else
            c0 = cgb_i64(m, cfull);
        for (int wpart = 0; wpart < 2; wpart++) {
            const int wl = wpart ? (int)(W - wfull) : vw; /* pixels in the block */
            if (!wl || (!wpart && !wfull)) continue;
            CgbLoop lw;
            memset(&lw, 0, sizeof lw);
            if (!wpart)
                lw = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, wfull), vw, &w0);
            else
                w0 = cgb_i64(m, wfull);
            LLVMValueRef nchw = LLVMBuildNSWAdd(
                b, plane0, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, c0, cgb_i64(m, H * W), ""), w0, ""), "");
            LLVMValueRef nhwc =
                LLVMBuildNSWAdd(b, row0, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, w0, cgb_i64(m, C), ""), c0, ""), "");
            if (to_nhwc)
                block(m, xp, nchw, H * W, yp, nhwc, C, cl, wl, C < vw, y_bf16);
            else
                block(m, xp, nhwc, C, yp, nchw, H * W, wl, cl, 0, 0);
            if (!wpart) cgb_loop_end(m, &lw);
        }
        if (!cpart) cgb_loop_end(m, &lc);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

int64_t nc_cg_relayout_tiles(const NcGraph *g, const NcNode *nd) {
    if (nd->op != NC_OP_RELAYOUT) return 0;
    const NcValue *x = nc_val(g, nd->inputs[0]), *y = nc_val(g, nd->outputs[0]);
    if (x->ndim != 4 || nc_is_nhwc(x) == nc_is_nhwc(y)) return 0;
    return x->shape[0] * x->shape[2];
}
