/* cg_gemm_i8.c — the int8 GEMM's quantise and GEMM stages as LLVM IR
 * (cg_gemm_i8.h says what they compute).
 *
 * Loops of a GEMM tile (mc rows x pc weight panels):
 *
 *   for q in the tile's panels (NC_I8_NR columns): its K4 x 16 bytes stay in L1
 *     for p in row panels (mr):                   the tile's mc x K4 bytes of A stay in L2
 *       microkernel over all of K (one pass: i32 accumulators never go to memory)
 *
 * Ragged row and column panels get their own microkernels (fewer rows;
 * fewer vectors, the last stored under a lane mask — the packed weights,
 * scales and corrections are zero-padded to whole panels, so only the
 * stores and epilogue operands need masks). */
#include "codegen/cpu/cg_gemm_i8.h"

#include <string.h>

#define VL    8 /* i32 / f32 lanes of a vector (ymm) */
#define MAXMR 8

/* ---- planning ---------------------------------------------------------- */

int nc_cg_gemm_i8_plan(NcGemmI8Plan *p, const NcGemmSpec *s, const NcCgTarget *t, int generic, NcError *e) {
    memset(p, 0, sizeof *p);
    p->s = *s;
    if (s->batch < 1 || s->cin < 1 || s->cout < 1 || s->hw < 1)
        return nc_errorf(e, "gemm int8: sizes must be positive");
    if (s->b_per_image || s->col_image) return nc_errorf(e, "gemm int8: one GEMM over all images only");
    p->mr = 4, p->nv = NC_I8_NR / VL;
    p->intrinsics = !generic && t->features && strstr(t->features, "+avx2") != NULL;
    p->M = s->batch * s->hw, p->N = s->cout;
    nc_i8_layout(&p->l, s->cout, s->cin);
    p->K4 = p->l.K4;
    const int64_t mr = p->mr, P = p->l.Np / NC_I8_NR, Mr = cgb_round_up(p->M, mr);
    /* A's block (mc rows of K4 bytes) in half of a 512 KB L2 */
    int64_t mc = (256 * 1024 / p->K4) / mr * mr, pc = P;
    mc = mc < mr ? mr : mc > Mr ? Mr : mc;
    /* enough tiles for dynamic scheduling (as cg_gemm.c): split the rows while
     * a tile keeps 8 row panels, else the panels; few rows and many weights
     * (batch 1 at 7x7 and 14x14): the panels only, each streamed once */
    const int rows_fit = p->M * p->K4 <= 256 * 1024 && p->N > p->M;
    for (;;) {
        const int64_t tiles = cgb_ceil_div(p->M, mc) * cgb_ceil_div(P, pc);
        if (tiles >= 48) break;
        const int split_m = mc >= 8 * mr, split_n = pc >= 2;
        if (rows_fit && split_n)
            pc = cgb_ceil_div(pc, 2);
        else if (split_m)
            mc = cgb_round_up(mc / 2, mr);
        else if (split_n)
            pc = cgb_ceil_div(pc, 2);
        else
            break;
    }
    mc = cgb_round_up(cgb_ceil_div(p->M, cgb_ceil_div(p->M, mc)), mr);
    pc = cgb_ceil_div(P, cgb_ceil_div(P, pc));
    p->mc = mc, p->pc = pc;
    p->mblocks = cgb_ceil_div(p->M, mc), p->nblocks = cgb_ceil_div(P, pc);
    p->tiles = p->mblocks * p->nblocks;
    p->qrows = 16384 / p->K4 > 1 ? 16384 / p->K4 : 1;
    p->qtiles = cgb_ceil_div(p->M, p->qrows);
    p->a_bytes = p->M * p->K4;
    return 0;
}

/* ---- shared ------------------------------------------------------------ */

typedef struct Q {
    NcCgModule mv; /* the module seen with 8-lane vectors */
    NcCgModule *m;
    const NcGemmI8Plan *p;
    LLVMTypeRef i8, i16, v32i8, v16i16, v8i32;
    LLVMValueRef a, blob, bw, colscale, colcorr, bias, y, epi[NC_MAX_EPI];
    LLVMValueRef mb, nb, last_m, last_n;
} Q;

static void q_init(Q *q, NcCgModule *m0, const NcGemmI8Plan *p) {
    memset(q, 0, sizeof *q);
    q->mv = *m0;
    q->m = &q->mv;
    q->m->vw = VL, q->m->vec = LLVMVectorType(m0->f32, VL);
    q->p = p;
    q->i8 = LLVMInt8TypeInContext(m0->ctx), q->i16 = LLVMInt16TypeInContext(m0->ctx);
    q->v32i8 = LLVMVectorType(q->i8, 32), q->v16i16 = LLVMVectorType(q->i16, 16), q->v8i32 = LLVMVectorType(m0->i32, 8);
}

static LLVMValueRef I(Q *q, int64_t v) { return cgb_i64(q->m, v); }
static LLVMValueRef mulc(Q *q, LLVMValueRef a, int64_t c) { return LLVMBuildNSWMul(q->m->b, a, I(q, c), ""); }
static LLVMValueRef add(Q *q, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(q->m->b, a, b, ""); }
/* &p[i] over bytes */
static LLVMValueRef bgep(Q *q, LLVMValueRef p, LLVMValueRef i) {
    return LLVMBuildInBoundsGEP2(q->m->b, q->i8, p, &i, 1, "");
}

static LLVMValueRef call(Q *q, const char *name, LLVMTypeRef *over, int nover, LLVMValueRef *args, int nargs) {
    NcCgModule *m = q->m;
    const unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    NC_CHECK(id != 0);
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, over, (size_t)nover);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, over, (size_t)nover);
    return LLVMBuildCall2(m->b, fty, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef shuffle(Q *q, LLVMValueRef v, int n, int first) {
    LLVMValueRef idx[32];
    for (int i = 0; i < n; i++) idx[i] = LLVMConstInt(q->m->i32, (unsigned long long)(2 * i + first), 0);
    return LLVMBuildShuffleVector(q->m->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(idx, (unsigned)n), "");
}

/* Per 32-bit lane l: sum over its 4 bytes b of a[4l + b] (u8) * w[4l + b] (s8), as i32. */
static LLVMValueRef madd(Q *q, LLVMValueRef a, LLVMValueRef w) {
    LLVMBuilderRef b = q->m->b;
    if (q->p->intrinsics) {
        LLVMValueRef args[2] = {a, w};
        LLVMValueRef t16 = call(q, "llvm.x86.avx2.pmadd.ub.sw", NULL, 0, args, 2);
        LLVMValueRef ones[16];
        for (int i = 0; i < 16; i++) ones[i] = LLVMConstInt(q->i16, 1, 0);
        LLVMValueRef args2[2] = {t16, LLVMConstVector(ones, 16)};
        return call(q, "llvm.x86.avx2.pmadd.wd", NULL, 0, args2, 2);
    }
    /* the same integers in plain IR: products fit i16 (255 x 63), pairs of them too */
    LLVMTypeRef v32i16 = LLVMVectorType(q->i16, 32), v16i32 = LLVMVectorType(q->m->i32, 16);
    LLVMValueRef pr = LLVMBuildNSWMul(b, LLVMBuildZExt(b, a, v32i16, ""), LLVMBuildSExt(b, w, v32i16, ""), "");
    LLVMValueRef s16 = LLVMBuildNSWAdd(b, shuffle(q, pr, 16, 0), shuffle(q, pr, 16, 1), "");
    LLVMValueRef s32 = LLVMBuildSExt(b, s16, v16i32, "");
    return LLVMBuildNSWAdd(b, shuffle(q, s32, 8, 0), shuffle(q, s32, 8, 1), "");
}

/* ---- the quantise stage -------------------------------------------------- */

typedef struct QuantRow {
    Q *q;
    LLVMValueRef x, s, d, inv, zero;
} QuantRow;

static void quant_vec(NcCgModule *m, void *ctx, LLVMValueRef i, int lanes) {
    QuantRow *r = ctx;
    Q *q = r->q;
    LLVMBuilderRef b = m->b;
    LLVMValueRef v = cgb_load_n(m, cgb_gep(m, r->x, i), lanes);
    if (r->s) v = LLVMBuildFMul(b, v, cgb_load_n(m, cgb_gep(m, r->s, i), lanes), "");
    v = cgb_fma(m, v, r->inv, r->zero);
    LLVMTypeRef over[1] = {m->vec};
    LLVMValueRef args[1] = {v};
    v = call(q, "llvm.rint", over, 1, args, 1); /* to nearest, ties to even (the default rounding mode) */
    LLVMValueRef lo = cgb_zero(m), hi = cgb_splat(m, cgb_f32(m, 255.0));
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, lo, ""), lo, v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, hi, ""), hi, v, "");
    LLVMValueRef u = LLVMBuildTrunc(b, LLVMBuildFPToSI(b, v, q->v8i32, ""), LLVMVectorType(q->i8, VL), "");
    LLVMValueRef dst = bgep(q, r->d, i);
    if (lanes == VL) {
        LLVMValueRef st = LLVMBuildStore(b, u, dst);
        LLVMSetAlignment(st, 1);
        return;
    }
    for (int l = 0; l < lanes; l++)
        LLVMBuildStore(b, LLVMBuildExtractElement(b, u, LLVMConstInt(m->i32, (unsigned long long)l, 0), ""),
                       bgep(q, dst, I(q, l)));
}

void nc_cg_gemm_i8_emit_quant(NcCgModule *m0, const NcGemmI8Plan *p, const char *name, int from_scratch,
                              int64_t a_off) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m0, name);
    Q qq, *q = &qq;
    q_init(q, m0, p);
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef src = from_scratch ? cgb_arg_ptr(m, out, 1) : cgb_arg_ptr(m, in, 0);
    LLVMValueRef blob = cgb_arg_ptr(m, in, 1);
    LLVMValueRef scale = !from_scratch && p->s.in_scale ? cgb_arg_ptr(m, in, p->s.in_scale) : NULL;
    LLVMValueRef dst = bgep(q, cgb_arg_ptr(m, out, 1), I(q, a_off));
    QuantRow r = {q, NULL, NULL, NULL, NULL, NULL};
    r.inv = cgb_splat(m, LLVMBuildLoad2(b, m->f32, blob, ""));
    r.zero = cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, blob, I(q, 1)), ""));
    const int64_t K = p->s.cin, K4 = p->K4;
    LLVMValueRef t, row;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef r0 = mulc(q, t, p->qrows);
    LLVMValueRef last = LLVMBuildICmp(b, LLVMIntEQ, t, I(q, p->qtiles - 1), "");
    LLVMValueRef count = LLVMBuildSelect(b, last, I(q, p->M - (p->qtiles - 1) * p->qrows), I(q, p->qrows), "");
    CgbLoop lr = cgb_loop_begin(m, r0, add(q, r0, count), 1, &row);
    r.x = cgb_gep(m, src, mulc(q, row, K));
    r.s = scale ? cgb_gep(m, scale, mulc(q, LLVMBuildSDiv(b, row, I(q, p->s.hw), ""), K)) : NULL;
    r.d = bgep(q, dst, mulc(q, row, K4));
    cgb_for_vectors(m, K, quant_vec, &r);
    for (int64_t k = K; k < K4; k++) /* the padding of the last group of 4: zeros (its weights are zero too) */
        LLVMBuildStore(b, LLVMConstInt(q->i8, 0, 0), bgep(q, r.d, I(q, k)));
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

/* ---- the GEMM stage ---------------------------------------------------- */

/* mr x nv vectors of C: rows row0.., columns of panel qp (the last vector lanes wide). */
static void micro(Q *q, int mr, int nv, int lanes, LLVMValueRef row0, LLVMValueRef qp) {
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    const NcGemmI8Plan *p = q->p;
    const int64_t K4 = p->K4;
    LLVMValueRef acc[MAXMR][NC_I8_NR / VL];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) {
            acc[i][v] = cgb_var(m, q->v8i32);
            LLVMBuildStore(b, LLVMConstNull(q->v8i32), acc[i][v]);
        }
    LLVMValueRef arow = bgep(q, q->a, mulc(q, row0, K4)), bpan = bgep(q, q->bw, mulc(q, qp, K4 * NC_I8_NR));
    LLVMValueRef g;
    CgbLoop lg = cgb_loop_begin(m, I(q, 0), I(q, K4 / 4), 1, &g);
    LLVMValueRef bg = bgep(q, bpan, mulc(q, g, 4 * NC_I8_NR)), bv[NC_I8_NR / VL];
    for (int v = 0; v < nv; v++) {
        bv[v] = LLVMBuildLoad2(b, q->v32i8, bgep(q, bg, I(q, v * 32)), "");
        LLVMSetAlignment(bv[v], 1);
    }
    LLVMValueRef ag = bgep(q, arow, mulc(q, g, 4));
    for (int i = 0; i < mr; i++) {
        LLVMValueRef s = LLVMBuildLoad2(b, m->i32, bgep(q, ag, I(q, i * K4)), "");
        LLVMSetAlignment(s, 1);
        LLVMValueRef sv = LLVMBuildInsertElement(b, LLVMGetPoison(q->v8i32), s, I(q, 0), "");
        sv = LLVMBuildShuffleVector(b, sv, LLVMGetPoison(q->v8i32), LLVMConstNull(q->v8i32), "");
        LLVMValueRef av = LLVMBuildBitCast(b, sv, q->v32i8, "");
        for (int v = 0; v < nv; v++) {
            LLVMValueRef cur = LLVMBuildLoad2(b, q->v8i32, acc[i][v], "");
            LLVMBuildStore(b, LLVMBuildAdd(b, cur, madd(q, av, bv[v]), ""), acc[i][v]);
        }
    }
    cgb_loop_end(m, &lg);
    /* the f32 epilogue, up to CGB_MAX_INTERLEAVE vectors at a time */
    const int total = mr * nv;
    for (int g0 = 0; g0 < total; g0 += CGB_MAX_INTERLEAVE) {
        const int gn = total - g0 < CGB_MAX_INTERLEAVE ? total - g0 : CGB_MAX_INTERLEAVE;
        LLVMValueRef r[CGB_MAX_INTERLEAVE], col[CGB_MAX_INTERLEAVE], row[CGB_MAX_INTERLEAVE];
        int n[CGB_MAX_INTERLEAVE];
        for (int j = 0; j < gn; j++) {
            const int i = (g0 + j) / nv, v = (g0 + j) % nv;
            n[j] = v == nv - 1 ? lanes : VL;
            col[j] = add(q, mulc(q, qp, NC_I8_NR), I(q, v * VL));
            row[j] = add(q, row0, I(q, i));
            LLVMValueRef f = LLVMBuildSIToFP(b, LLVMBuildLoad2(b, q->v8i32, acc[i][v], ""), m->vec, "");
            r[j] = cgb_fma(m, f, cgb_load(m, cgb_gep(m, q->colscale, col[j])),
                           cgb_load(m, cgb_gep(m, q->colcorr, col[j])));
            if (q->bias) r[j] = LLVMBuildFAdd(b, r[j], cgb_load_n(m, cgb_gep(m, q->bias, col[j]), n[j]), "");
            if (p->s.relu) r[j] = cgb_max(m, r[j], cgb_zero(m));
        }
        for (int s = 0; s < p->s.nepi; s++) {
            const NcEpilogue *ep = &p->s.epi[s];
            if (!q->epi[s]) {
                cgb_activation_n(m, ep->kind, ep->lo, ep->hi, r, gn);
                continue;
            }
            for (int j = 0; j < gn; j++) {
                LLVMValueRef off = p->s.epi_per_channel[s]
                                       ? add(q, mulc(q, LLVMBuildSDiv(b, row[j], I(q, p->s.hw), ""), p->N), col[j])
                                       : add(q, mulc(q, row[j], p->N), col[j]);
                LLVMValueRef o = cgb_load_n(m, cgb_gep(m, q->epi[s], off), n[j]);
                r[j] = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(b, r[j], o, "") : LLVMBuildFMul(b, r[j], o, "");
            }
        }
        for (int j = 0; j < gn; j++)
            cgb_store_n(m, r[j], cgb_gep(m, q->y, add(q, mulc(q, row[j], p->N), col[j])), n[j]);
    }
}

/* The row panels of the tile for weight panel qp. */
static void rows(Q *q, LLVMValueRef qp, int nv, int lanes) {
    NcCgModule *m = q->m;
    const NcGemmI8Plan *p = q->p;
    const int mr = p->mr;
    const int64_t per = p->mc / mr, last_full = (p->M - (p->mblocks - 1) * p->mc) / mr, mtail = p->M % mr;
    LLVMValueRef p0 = mulc(q, q->mb, per);
    LLVMValueRef count = LLVMBuildSelect(m->b, q->last_m, I(q, last_full), I(q, per), "");
    LLVMValueRef pi;
    CgbLoop lp = cgb_loop_begin(m, p0, add(q, p0, count), 1, &pi);
    micro(q, mr, nv, lanes, mulc(q, pi, mr), qp);
    cgb_loop_end(m, &lp);
    if (mtail) {
        CgbIf c = cgb_if_begin(m, q->last_m);
        micro(q, (int)mtail, nv, lanes, I(q, p->M / mr * mr), qp);
        cgb_if_end(m, &c);
    }
}

void nc_cg_gemm_i8_emit_gemm(NcCgModule *m0, const NcGemmI8Plan *p, const char *name, int64_t a_off) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m0, name);
    Q qq, *q = &qq;
    q_init(q, m0, p);
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    q->a = bgep(q, cgb_arg_ptr(m, out, 1), I(q, a_off));
    q->blob = cgb_arg_ptr(m, in, 1);
    q->bw = bgep(q, q->blob, I(q, p->l.b_off));
    q->colscale = bgep(q, q->blob, I(q, p->l.scale_off));
    q->colcorr = bgep(q, q->blob, I(q, p->l.corr_off));
    q->bias = p->s.bias ? cgb_arg_ptr(m, in, 2) : NULL;
    q->y = cgb_arg_ptr(m, out, 0);
    for (int s = 0; s < p->s.nepi; s++)
        if (p->s.epi[s].kind == NC_EPI_ADD || p->s.epi[s].kind == NC_EPI_MUL)
            q->epi[s] = cgb_arg_ptr(m, in, p->s.epi[s].input);
    const int64_t P = p->l.Np / NC_I8_NR, full = p->N / NC_I8_NR, ntail = p->N % NC_I8_NR;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    q->nb = LLVMBuildSRem(b, t, I(q, p->nblocks), "nb");
    q->mb = LLVMBuildSDiv(b, t, I(q, p->nblocks), "mb");
    q->last_m = LLVMBuildICmp(b, LLVMIntEQ, q->mb, I(q, p->mblocks - 1), "");
    q->last_n = LLVMBuildICmp(b, LLVMIntEQ, q->nb, I(q, p->nblocks - 1), "");
    (void)P;
    LLVMValueRef q0 = mulc(q, q->nb, p->pc);
    LLVMValueRef count = LLVMBuildSelect(b, q->last_n, I(q, full - (p->nblocks - 1) * p->pc), I(q, p->pc), "");
    LLVMValueRef qp;
    CgbLoop lq = cgb_loop_begin(m, q0, add(q, q0, count), 1, &qp);
    rows(q, qp, p->nv, VL);
    cgb_loop_end(m, &lq);
    if (ntail) {
        CgbIf c = cgb_if_begin(m, q->last_n);
        const int nv = (int)cgb_ceil_div(ntail, VL), lanes = (int)(ntail - (nv - 1) * VL);
        rows(q, I(q, full), nv, lanes);
        cgb_if_end(m, &c);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

void nc_cg_gemm_i8_emit(NcCgModule *m, const NcGemmI8Plan *p, const char *prefix, NcCgKernel *k) {
    char name[96];
    snprintf(name, sizeof name, "%s_quant", prefix);
    nc_cg_gemm_i8_emit_quant(m, p, name, 0, 0);
    k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->qtiles;
    snprintf(name, sizeof name, "%s_i8mm", prefix);
    nc_cg_gemm_i8_emit_gemm(m, p, name, 0);
    k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = p->tiles;
    k->scratch = cgb_ceil_div(p->a_bytes, 4);
}
