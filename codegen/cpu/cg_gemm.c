/* cg_gemm.c — register-blocked, cache-blocked GEMM kernels as LLVM IR.
 *
 * C (M x N) = A (M x K) . B (K x N), C row-major with vectors along its rows.
 * The microkernel holds an mr x nr block of C in mr * nv vector registers
 * (nr = nv * vw) for a whole pass over kc values of k: per k it loads nv
 * vectors of B's row k, broadcasts mr values of A's column k and issues
 * mr * nv FMAs — with 6 x 2 on AVX2 that is 12 FMAs per 8 loads, and 15 of
 * the 16 ymm registers.  A = x (NHWC), row i at stride cin; B = W^T packed
 * in nr-column panels.  (The NCHW variants — weights as A, vectors along the
 * plane — were retired with the NCHW generated kernels: cg_gemm.h.)
 *
 * Loops of a tile (mc rows x nc columns of one image's C):
 *
 *   for kb in blocks of kc:          C is re-read between blocks
 *     for q in column panels (nr):   B's kc x nr micro-panel stays in L1
 *       for p in row panels (mr):    A's mc x kc block stays in L2
 *         microkernel(kc)
 *
 * Everything is static: the first and last reduction blocks are peeled (the
 * first starts from zero instead of loading C; the last adds the bias,
 * applies ReLU and stores), and ragged row / column panels get their own
 * microkernels (fewer rows; fewer vectors, the last one under a lane mask),
 * so the interior runs without a test. */
#include <string.h>

#include "codegen/cpu/cg_gemm.h"

#define MAXMR 32
#define MAXNV 8

/* ---- planning ---------------------------------------------------------- */

int nc_cg_gemm_plan(NcGemmPlan *p, const NcGemmSpec *s, const NcCgTarget *t, NcError *e) {
    memset(p, 0, sizeof *p);
    p->s = *s;
    NcGemmSpec *q = &p->s;
    if (s->batch < 1 || s->cin < 1 || s->cout < 1 || s->hw < 1)
        return nc_errorf(e, "gemm: sizes must be positive (batch %lld, cin %lld, cout %lld, hw %lld)",
                         (long long)s->batch, (long long)s->cin, (long long)s->cout, (long long)s->hw);
    p->vw = t->vw;
    /* Register block: mr * nv accumulators + nv vectors of B + 1 broadcast.
     * AVX2 (16 registers): 6 x 2 = 12 + 2 + 1.  AVX-512 (32): 12 x 2 = 24 + 2 + 1,
     * leaving room for the load of the next k. */
    if (!q->mr) q->mr = t->nvregs >= 32 ? 12 : 6;
    if (!q->nv) q->nv = 2;
    if (q->mr < 1 || q->mr > MAXMR || q->nv < 1 || q->nv > MAXNV || q->mr * q->nv + q->nv + 1 > t->nvregs)
        return nc_errorf(e, "gemm: register block %d x %d does not fit %d vector registers", q->mr, q->nv, t->nvregs);
    p->nr = q->nv * p->vw;
    p->K = s->cin;
    if (s->in_scale || s->b_per_image)
        p->M = s->hw, p->N = s->cout, p->images = s->batch; /* per-image weights */
    else
        p->M = s->batch * s->hw, p->N = s->cout, p->images = 1;

    /* kc: B's micro-panel (kc x nr floats) must stay in L1 (32 KB here);
     * an even split keeps the last block from being a sliver.  (kc from 128
     * to 1024, and register blocks 6x16, 5x16 and 4x24, measured within the
     * machine's noise of each other: bench/RESULTS.md.) */
    if (!q->kc) q->kc = 256;
    if (q->kc < 1) return nc_errorf(e, "gemm: kc %lld", (long long)q->kc);
    p->nkb = cgb_ceil_div(p->K, q->kc);
    q->kc = cgb_ceil_div(p->K, p->nkb);
    p->kc_last = p->K - (p->nkb - 1) * q->kc;

    /* mc: A's block (mc x kc) stays in L2 — a quarter of Zen 3's 512 KB —
     * while the column panels of a tile stream past it. */
    const int64_t mr = q->mr, nr = p->nr, Mr = cgb_round_up(p->M, mr), Nr = cgb_round_up(p->N, nr);
    int64_t mc = q->mc ? cgb_round_up(q->mc, mr) : (128 * 1024 / 4) / q->kc / mr * mr;
    mc = mc < mr ? mr : mc > Mr ? Mr : mc;
    int64_t nc = q->nc ? cgb_round_up(q->nc, nr) : Nr;
    nc = nc > Nr ? Nr : nc;
    /* Tiles: at least 48 when the GEMM is big enough, so that dynamic
     * scheduling can balance threads, but no tile under 4 row panels x 2
     * column panels — below that, reloading B's panels from L2 (or A's rows)
     * costs as much as the FMAs.  Halve the longer side until then. */
    /* NHWC with few rows (7x7 and 14x14 planes at batch 1) and large
     * weights: split the columns only, down to one panel per tile, so that
     * every weight is streamed from memory once and the rows (A, at most
     * 256 KB) stay in L2 — split both ways, each weight panel was read by
     * two tiles. */
    const int rows_fit = p->M * p->K <= 64 * 1024 && p->N > p->M;
    for (;;) {
        const int64_t tiles = p->images * cgb_ceil_div(p->M, mc) * cgb_ceil_div(p->N, nc);
        if (tiles >= 48 || (q->mc && q->nc)) break;
        const int split_m = !q->mc && mc >= 8 * mr, split_n = !q->nc && nc >= (rows_fit ? 2 : 4) * nr;
        if (rows_fit && split_n)
            nc = cgb_round_up(nc / 2, nr);
        else if (split_m && (!split_n || mc / mr >= 2 * (nc / nr)))
            mc = cgb_round_up(mc / 2, mr);
        else if (split_n)
            nc = cgb_round_up(nc / 2, nr);
        else
            break;
    }
    /* even blocks: the same count, the remainder spread instead of left over */
    if (!q->mc) mc = cgb_round_up(cgb_ceil_div(p->M, cgb_ceil_div(p->M, mc)), mr);
    if (!q->nc) nc = cgb_round_up(cgb_ceil_div(p->N, cgb_ceil_div(p->N, nc)), nr);
    q->mc = mc, q->nc = nc;
    p->mblocks = cgb_ceil_div(p->M, q->mc);
    p->nblocks = cgb_ceil_div(p->N, q->nc);
    p->tiles = p->images * p->mblocks * p->nblocks;
    p->packed_floats = s->cout * p->K * (s->b_per_image ? s->batch : 1);
    if (s->b_per_image && s->in_scale) return nc_errorf(e, "gemm: per-image packed B needs no input scale");
    if (s->col_image && (p->images != 1 || s->bias || s->nepi || s->col_image % p->nr || p->N % s->col_image))
        return nc_errorf(e, "gemm: column images of %lld need one image, no epilogue, whole panels of %d",
                         (long long)s->col_image, p->nr);
    return 0;
}

void nc_cg_gemm_pack(const NcGemmPlan *p, const float *w, float *packed) {
    const int64_t K = p->K, cout = p->s.cout;
    const int64_t width = p->nr; /* output channels per panel */
    const int64_t panels = cgb_ceil_div(cout, width);
    for (int64_t q = 0; q < panels; q++) {
        const int64_t wq = cout - q * width < width ? cout - q * width : width;
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < wq; j++) packed[q * K * width + k * wq + j] = w[(q * width + j) * K + k];
    }
}

/* ---- emission ---------------------------------------------------------- */

typedef struct G {
    NcCgModule *m;
    const NcGemmPlan *p;
    LLVMValueRef a, b, c, bias;   /* operand base pointers */
    LLVMValueRef epi[NC_MAX_EPI]; /* epilogue operands (NULL: an activation) */
    LLVMValueRef scale, kb;       /* input scale (or NULL); the reduction block being emitted */
    int64_t a_si, a_sk, b_sk, ldc;
    int64_t a_img, b_img, c_img; /* offset from one image to the next */
    int64_t a_panel, b_panel;    /* offset from one row / column panel to the next */
    LLVMValueRef img, mb, nb;    /* the tile */
    LLVMValueRef last_m, last_n; /* is it the last row / column block */
} G;

static LLVMValueRef mul(G *g, LLVMValueRef v, int64_t k) { return LLVMBuildNSWMul(g->m->b, v, cgb_i64(g->m, k), ""); }
static LLVMValueRef add(G *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(g->m->b, a, b, ""); }

/* One mr x (nv vectors) block of C, whose last vector has `lanes` valid
 * lanes, over klen values of k starting at A + aoff, B + boff. */
static void micro(G *g, int mr, int nv, int lanes, LLVMValueRef aoff, LLVMValueRef boff, LLVMValueRef coff,
                  LLVMValueRef row0, LLVMValueRef col0, int64_t klen, int first, int last, int64_t a_sk, int64_t b_sk) {
    NcCgModule *m = g->m;
    LLVMBuilderRef b = m->b;
    const int vw = m->vw;
    LLVMValueRef acc[MAXMR][MAXNV];
    /* Same-shape epilogue operands (a residual) are read after the
     * reduction, mr rows ldc apart: the hardware prefetchers miss runs of
     * one or two lines that far apart, so ask for them now, a whole
     * reduction ahead. */
    for (int s = 0; last && s < g->p->s.nepi; s++)
        if (g->epi[s] && !g->p->s.epi_per_channel[s])
            for (int i = 0; i < mr; i++) {
                LLVMValueRef row = cgb_gep(m, g->epi[s], add(g, coff, cgb_i64(m, i * g->ldc)));
                cgb_prefetch(m, row);
                cgb_prefetch(m, cgb_gep(m, row, cgb_i64(m, (nv - 1) * vw + lanes - 1)));
            }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) {
            acc[i][v] = cgb_var(m, m->vec);
            LLVMValueRef init = cgb_zero(m);
            if (!first) {
                LLVMValueRef off = add(g, coff, cgb_i64(m, i * g->ldc + v * vw));
                init = cgb_load_n(m, cgb_gep(m, g->c, off), v == nv - 1 ? lanes : vw);
            }
            LLVMBuildStore(b, init, acc[i][v]);
        }
    LLVMValueRef ap = cgb_gep(m, g->a, aoff), bp = cgb_gep(m, g->b, boff);
    LLVMValueRef k;
    CgbLoop lk = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, klen), 1, &k);
    LLVMValueRef bk = cgb_gep(m, bp, mul(g, k, b_sk)), ak = cgb_gep(m, ap, mul(g, k, a_sk));
    LLVMValueRef bv[MAXNV];
    for (int v = 0; v < nv; v++) {
        /* a ragged last vector is loaded under a mask: the activations end
         * there, or the compactly packed weights run on to the next k */
        LLVMValueRef ptr = cgb_gep(m, bk, cgb_i64(m, v * vw));
        bv[v] = cgb_load_n(m, ptr, v == nv - 1 ? lanes : vw);
    }
    if (g->scale) { /* row k of B (the weights) is input channel kb + k, scaled */
        LLVMValueRef si = add(g, mul(g, g->img, g->p->K), add(g, g->kb, k));
        LLVMValueRef sv = cgb_splat(m, LLVMBuildLoad2(b, m->f32, cgb_gep(m, g->scale, si), ""));
        for (int v = 0; v < nv; v++) bv[v] = LLVMBuildFMul(b, bv[v], sv, "");
    }
    for (int i = 0; i < mr; i++) {
        LLVMValueRef s = LLVMBuildLoad2(b, m->f32, cgb_gep(m, ak, cgb_i64(m, i * g->a_si)), "");
        LLVMValueRef av = cgb_splat(m, s);
        for (int v = 0; v < nv; v++) {
            LLVMValueRef cur = LLVMBuildLoad2(b, m->vec, acc[i][v], "");
            LLVMBuildStore(b, cgb_fma(m, av, bv[v], cur), acc[i][v]);
        }
    }
    cgb_loop_end(m, &lk);
    /* the epilogue, CGB_MAX_INTERLEAVE accumulators at a time, step by step
     * across them (cgb_activation_n: a SiLU's chains overlap) */
    for (int g0 = 0; g0 < mr * nv; g0 += CGB_MAX_INTERLEAVE) {
        const int gn = mr * nv - g0 < CGB_MAX_INTERLEAVE ? mr * nv - g0 : CGB_MAX_INTERLEAVE;
        LLVMValueRef r[CGB_MAX_INTERLEAVE];
        for (int j = 0; j < gn; j++) {
            const int i = (g0 + j) / nv, v = (g0 + j) % nv, n = v == nv - 1 ? lanes : vw;
            r[j] = LLVMBuildLoad2(b, m->vec, acc[i][v], "");
            if (last && g->bias) {
                LLVMValueRef bias = cgb_load_n(m, cgb_gep(m, g->bias, add(g, col0, cgb_i64(m, v * vw))), n);
                r[j] = LLVMBuildFAdd(b, r[j], bias, "");
            }
            if (last && g->p->s.relu) r[j] = cgb_max(m, r[j], cgb_zero(m));
        }
        for (int s = 0; last && s < g->p->s.nepi; s++) {
            const NcEpilogue *ep = &g->p->s.epi[s];
            if (!g->epi[s]) {
                cgb_activation_n(m, ep->kind, ep->lo, ep->hi, r, gn);
                continue;
            }
            for (int j = 0; j < gn; j++) {
                const int i = (g0 + j) / nv, v = (g0 + j) % nv, n = v == nv - 1 ? lanes : vw;
                LLVMValueRef o;
                if (g->p->s.epi_per_channel[s]) { /* channel = column, image = the row's */
                    LLVMValueRef img = g->p->images > 1
                                           ? g->img
                                           : LLVMBuildSDiv(b, add(g, row0, cgb_i64(m, i)), cgb_i64(m, g->p->s.hw), "");
                    o = cgb_load_n(
                        m, cgb_gep(m, g->epi[s], add(g, mul(g, img, g->p->N), add(g, col0, cgb_i64(m, v * vw)))), n);
                } else
                    o = cgb_load_n(m, cgb_gep(m, g->epi[s], add(g, coff, cgb_i64(m, i * g->ldc + v * vw))), n);
                r[j] = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(b, r[j], o, "") : LLVMBuildFMul(b, r[j], o, "");
            }
        }
        for (int j = 0; j < gn; j++) {
            const int i = (g0 + j) / nv, v = (g0 + j) % nv, n = v == nv - 1 ? lanes : vw;
            cgb_store_n(m, r[j], cgb_gep(m, g->c, add(g, coff, cgb_i64(m, i * g->ldc + v * vw))), n);
        }
    }
}

/* The row panels of one column panel q: full ones, then the ragged one when
 * this is the last row block. */
static void rows(G *g, LLVMValueRef q, int nv, int lanes, LLVMValueRef kb, int64_t klen, int first, int last,
                 int64_t b_sk) {
    NcCgModule *m = g->m;
    const NcGemmPlan *p = g->p;
    const int mr = p->s.mr;
    const int64_t per = p->s.mc / mr;                                   /* full panels of an interior block */
    const int64_t last_full = (p->M - (p->mblocks - 1) * p->s.mc) / mr; /* ... of the last block */
    const int mtail = (int)(p->M % mr);
    LLVMValueRef boff = add(g, add(g, mul(g, g->img, g->b_img), mul(g, q, g->b_panel)), mul(g, kb, b_sk));
    LLVMValueRef col0 = mul(g, q, p->nr);
    LLVMValueRef p0 = mul(g, g->mb, per);
    LLVMValueRef count = per == last_full
                             ? cgb_i64(m, per)
                             : LLVMBuildSelect(m->b, g->last_m, cgb_i64(m, last_full), cgb_i64(m, per), "");
    LLVMValueRef ccol = col0; /* where column col0 of row 0 lies */
    if (p->s.col_image) {
        LLVMValueRef ci = cgb_i64(m, p->s.col_image);
        ccol =
            add(g, mul(g, LLVMBuildSDiv(m->b, col0, ci, ""), p->M * p->s.col_image), LLVMBuildSRem(m->b, col0, ci, ""));
    }
    LLVMValueRef aimg = mul(g, g->img, g->a_img), cimg = add(g, mul(g, g->img, g->c_img), ccol);
    LLVMValueRef akb = mul(g, kb, g->a_sk);
    LLVMValueRef pi;
    CgbLoop lp = cgb_loop_begin(m, p0, add(g, p0, count), 1, &pi);
    micro(g, mr, nv, lanes, add(g, add(g, aimg, mul(g, pi, g->a_panel)), akb), boff,
          add(g, cimg, mul(g, pi, mr * g->ldc)), mul(g, pi, mr), col0, klen, first, last, g->a_sk, b_sk);
    cgb_loop_end(m, &lp);
    if (mtail) {
        CgbIf c = cgb_if_begin(m, g->last_m);
        LLVMValueRef pt = cgb_i64(m, p->M / mr);
        micro(g, mtail, nv, lanes, add(g, add(g, aimg, mul(g, pt, g->a_panel)), akb), boff,
              add(g, cimg, mul(g, pt, mr * g->ldc)), mul(g, pt, mr), col0, klen, first, last, g->a_sk, b_sk);
        cgb_if_end(m, &c);
    }
}

/* One pass over k in [kb, kb + klen) for the whole tile. */
static void pass(G *g, LLVMValueRef kb, int64_t klen, int first, int last) {
    NcCgModule *m = g->m;
    g->kb = kb;
    const NcGemmPlan *p = g->p;
    const int64_t per = p->s.nc / p->nr;
    const int64_t last_full = (p->N - (p->nblocks - 1) * p->s.nc) / p->nr;
    const int64_t ntail = p->N % p->nr;
    LLVMValueRef q0 = mul(g, g->nb, per);
    LLVMValueRef count = per == last_full
                             ? cgb_i64(m, per)
                             : LLVMBuildSelect(m->b, g->last_n, cgb_i64(m, last_full), cgb_i64(m, per), "");
    LLVMValueRef q;
    CgbLoop lq = cgb_loop_begin(m, q0, add(g, q0, count), 1, &q);
    rows(g, q, p->s.nv, m->vw, kb, klen, first, last, g->b_sk);
    cgb_loop_end(m, &lq);
    if (ntail) {
        CgbIf c = cgb_if_begin(m, g->last_n);
        const int nv = (int)cgb_ceil_div(ntail, m->vw), lanes = (int)(ntail - (int64_t)(nv - 1) * m->vw);
        /* the ragged panel of packed weights is ntail wide */
        rows(g, cgb_i64(m, p->N / p->nr), nv, lanes, kb, klen, first, last, ntail);
        cgb_if_end(m, &c);
    }
}

void nc_cg_gemm_emit(NcCgModule *m, const NcGemmPlan *p, const char *name) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    G g;
    memset(&g, 0, sizeof g);
    g.m = m, g.p = p;
    LLVMValueRef in = LLVMGetParam(fn, 0);
    LLVMValueRef x = cgb_arg_ptr(m, in, 0), w = cgb_arg_ptr(m, in, 1);
    g.bias = p->s.bias ? cgb_arg_ptr(m, in, 2) : NULL;
    g.c = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    g.scale = p->s.in_scale ? cgb_arg_ptr(m, in, p->s.in_scale) : NULL;
    for (int s = 0; s < p->s.nepi; s++)
        if (p->s.epi[s].kind == NC_EPI_ADD || p->s.epi[s].kind == NC_EPI_MUL)
            g.epi[s] = cgb_arg_ptr(m, in, p->s.epi[s].input);
    g.ldc = p->s.col_image ? p->s.col_image : p->N;
    g.a = x, g.a_si = p->K, g.a_sk = 1, g.a_panel = p->s.mr * p->K, g.a_img = p->M * p->K;
    g.b = w, g.b_sk = p->nr, g.b_panel = p->K * p->nr;
    g.c_img = p->M * p->N;
    if (p->s.b_per_image) g.b_img = p->s.cout * p->K;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* t = (img * mblocks + mb) * nblocks + nb */
    g.nb = LLVMBuildSRem(m->b, t, cgb_i64(m, p->nblocks), "nb");
    LLVMValueRef r = LLVMBuildSDiv(m->b, t, cgb_i64(m, p->nblocks), "");
    g.mb = LLVMBuildSRem(m->b, r, cgb_i64(m, p->mblocks), "mb");
    g.img = LLVMBuildSDiv(m->b, r, cgb_i64(m, p->mblocks), "img");
    g.last_m = LLVMBuildICmp(m->b, LLVMIntEQ, g.mb, cgb_i64(m, p->mblocks - 1), "");
    g.last_n = LLVMBuildICmp(m->b, LLVMIntEQ, g.nb, cgb_i64(m, p->nblocks - 1), "");
    const int64_t kc = p->s.kc;
    if (p->nkb == 1) {
        pass(&g, cgb_i64(m, 0), p->K, 1, 1);
    } else {
        pass(&g, cgb_i64(m, 0), kc, 1, 0);
        if (p->nkb > 2) {
            LLVMValueRef kb;
            CgbLoop lk = cgb_loop_begin(m, cgb_i64(m, kc), cgb_i64(m, (p->nkb - 1) * kc), kc, &kb);
            pass(&g, kb, kc, 0, 0);
            cgb_loop_end(m, &lk);
        }
        pass(&g, cgb_i64(m, (p->nkb - 1) * kc), p->kc_last, 0, 1);
    }
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(m->b);
}
