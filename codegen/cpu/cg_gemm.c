/* cg_gemm.c — register-blocked, cache-blocked GEMM kernels as LLVM IR.
 *
 * C (M x N) = A (M x K) . B (K x N), C row-major with vectors along its rows.
 * The microkernel holds an mr x nr block of C in mr * nv vector registers
 * (nr = nv * vw) for a whole pass over kc values of k: per k it loads nv
 * vectors of B's row k, broadcasts mr values of A's column k and issues
 * mr * nv FMAs — with 6 x 2 on AVX2 that is 12 FMAs per 8 loads, and 15 of
 * the 16 ymm registers; on AVX-512 e.g. 4 x 6 (24 FMAs per 10 loads, 4 of
 * them broadcasts, 31 of the 32 zmm registers) or 6 x 4, 7-9 x 3, 14 x 2,
 * whichever block_avx512 finds cheapest for the shape.  The blocks
 * follow the target's ISA (cg_target.h's blocking, which can be AVX-512's
 * emulated on an AVX2 host for tests).  A = x (NHWC), row i at stride cin; B = W^T packed
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
 * With spec.pack_a (an SE input scale and wide panels on AVX-512: pack_pays), each kb pass first
 * copies the tile's mc x kc block of A, scaled, into a stack block the row panels then read.  With
 * spec.pf_b (1 MB of weights or more: prefetch_b_pays), the first row panel of a column panel's pass
 * prefetches the B rows kc ahead: the next pass's micro-panel, while the other row panels compute.
 *
 * Everything is static: the first and last reduction blocks are peeled (the
 * first starts from zero instead of loading C; the last adds the bias,
 * applies ReLU and stores), and ragged row / column panels get their own
 * microkernels (fewer rows; fewer vectors, the last one under a lane mask),
 * so the interior runs without a test. */
#include <string.h>

#include "codegen/cpu/cg_gemm.h"

#define MAXMR           32
#define MAXNV           16 /* AVX-512's 64-float panels emulated in SSE's 4-float vectors */
#define PF_UNROLL       16 /* k per 64-byte line of A */
/* The packed A block on the stack (spec.pack_a): at most 256 KB, the L2 block mc x kc is planned
 * within; every thread has at least 2 MB of stack (glibc's and libgomp's defaults are more). */
#define PACK_MAX_FLOATS (64 * 1024)

/* ---- planning ---------------------------------------------------------- */

/* AVX-512's kc: B's micro-panel (kc x nv vectors of bvw floats) within 16
 * KB, half of Zen 4's 32 KB L1, a third of Intel's 48 KB — 128 with 32
 * columns, 80 with 48, 64 with 64 — but no shorter than 64: each pass
 * reloads and stores the mr x nv accumulators. */
static int64_t kc_avx512(int nv, int bvw) {
    const int64_t kc = 16 * 1024 / 4 / ((int64_t)nv * bvw) / 16 * 16;
    return kc < 64 ? 64 : kc;
}

/* Cycles per k of an r-row, v-vector microkernel, a crude model of AVX-512
 * cores, only to compare register blocks on the panels a shape leaves: two
 * FMA pipes, broadcasts charged 3/4 of a pipe slot as llvm-mca's Zen 4
 * model does (its Sapphire Rapids model puts them on the load ports alone:
 * every block below reaches the FMA peak there), about two loads a cycle,
 * the loop, and the accumulators loaded and stored once per kc. */
static double micro_cycles(int64_t r, int64_t v, int bvw) {
    const double pipes = ((double)(r * v) + 0.75 * (double)r) / 2, loads = (double)(r + v) / 2;
    return (pipes > loads ? pipes : loads) + 0.5 + (double)(r * v) / (double)kc_avx512((int)v, bvw);
}

static int plan_blocks(NcGemmPlan *p, const NcCgTarget *t, NcError *e);

/* Does packing A pay for its copy?  Measured on an Intel Xeon (AVX-512, bench/RESULTS.md): read in
 * place or packed, A costs the microkernel the same in cache (its rows are in L1 or prefetched either
 * way: resnet50's eight 1x1 shapes within 1 point, less 9 with one column panel), and in a whole
 * program the pack's copy, a phase of loads from L3 with no FMA beside it and no prefetch ahead of it,
 * made most of resnet50's batch 8 1x1 GEMMs 5-30% slower.  What it does save is an input scale's
 * multiplies: unpacked, B's nv vectors are scaled every k (nv multiplies beside mr x nv FMAs on the
 * same ports), packed, A is scaled once as it is copied — 3-9 points of the FMA peak with 3 or more
 * vectors a panel, within 1 either way with 1-2.  The block stays within 64 KB, about an L1 (a
 * 128 KB one, 144 -> 24 at batch 8, lost 8 points). */
static int pack_pays(const NcGemmPlan *p, const NcCgTarget *t) {
    const int64_t width = p->N < p->nr ? p->N : p->nr;
    return p->s.in_scale && width >= 3 * (int64_t)t->bvw && p->s.mc * p->s.kc <= 16 * 1024;
}

/* Does the prefetch of B ahead (spec.pf_b) pay?  Measured on an Intel Xeon (AVX-512, resnet50 batch 1,
 * bench --per-kernel, 3 rounds): where the weights are 1 MB or more (layer3's Winograd 9.4 MB, layer4's
 * 1x1 convs 4-8 MB) 5-10% faster, because a pass's first row panel otherwise waits for each line of B
 * from L3 or memory (the hardware prefetchers stop at every 4 KB page, 16 k of a 64-wide panel); with
 * smaller weights within the noise or a few % slower (extra loads, B already near), and with one row
 * panel (the classifier's one row) 30% slower: nothing computes while the lines come. */
static int prefetch_b_pays(const NcGemmPlan *p) {
    const int64_t bytes = p->packed_floats * (p->s.wtype == NC_BF16 ? 2 : 4);
    return bytes >= 1024 * 1024 && p->s.mc / p->s.mr >= 2;
}

/* The register block for 32 vector registers (AVX-512), in blocking vectors
 * (t->bvw floats): the candidate whose microkernels, ragged panels included,
 * cost the fewest modelled cycles for this GEMM, spread over the tiles its
 * plan makes as 8 threads would share them (a wide block leaves a small
 * GEMM — 7x7 and 14x14 planes at batch 1 — few tiles).  Every candidate
 * fills 25-31 registers (mr * nv accumulators + nv of B + a broadcast),
 * enough independent FMA chains (two pipes x 4 cycles of latency = 8) and
 * at most about half a load per FMA.  Few rows and wide panels issue
 * fewest broadcasts (llvm-mca's Zen 4 model: 4 x 96 89% of its peak loop,
 * 6 x 64 83%, 7 x 48 78%, 14 x 32 67%; Sapphire Rapids': all 100%,
 * bench/RESULTS.md) and stream A from L2 once per wider column panel.
 * Rows of A lie K floats apart (A is read where it lies, not packed): with
 * K a multiple of 1024 every row of the register block maps to the same L1
 * set, and more rows than the L1 has ways (8 on Zen 4, 12 on Sapphire
 * Rapids) would evict each other on every k — those shapes keep to 7 rows.
 * Measured since (bench/RESULTS.md): on Zen 4 4 x 96 is as fast as 6 x 64
 * or 1-3 points faster, as the model says; on an Intel Xeon (AVX-512, two
 * FMA units) 4 x 96 ran 70% of the peak in L1 against 77-79% for the
 * others and 2-5 points under 6 x 64 where the model took it — so on
 * targets other than AMD's its cycles are charged 78/70 of the model's. */
static void block_avx512(const NcGemmPlan *p, const NcCgTarget *t, int *mr, int *nv) {
    static const int cand[][2] = {{4, 6}, {6, 4}, {7, 3}, {8, 3}, {9, 3}, {14, 2}};
    const int bvw = t->bvw, threads = 8, amd = t->cpu && !strncmp(t->cpu, "znver", 5);
    const int64_t M = p->M, N = p->N;
    double best = 0;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        const int64_t r = cand[i][0], v = cand[i][1], nr = v * bvw;
        if ((p->s.lda ? p->s.lda : p->K) % 1024 == 0 && r > 7) continue; /* A's row stride */
        NcGemmPlan c = *p;
        NcError e;
        c.s.mr = (int)r, c.s.nv = (int)(v * bvw / t->vw);
        if (plan_blocks(&c, t, &e)) continue;
        const int64_t mt = M % r, nt = N % nr, ntv = (nt + bvw - 1) / bvw;
        double cost = (double)(M / r) * (double)(N / nr) * micro_cycles(r, v, bvw);
        if (mt) cost += (double)(N / nr) * micro_cycles(mt, v, bvw);
        if (nt) cost += (double)(M / r) * micro_cycles(r, ntv, bvw);
        if (mt && nt) cost += micro_cycles(mt, ntv, bvw);
        cost *= (double)cgb_ceil_div(c.tiles, threads) / (double)c.tiles; /* the busiest thread's share */
        if (r == 4 && v == 6 && !amd) cost *= 78.0 / 70.0;                /* the Xeon's L1 figures (above) */
        if (!best || cost < best) best = cost, *mr = (int)r, *nv = (int)v;
    }
}

int nc_cg_gemm_plan(NcGemmPlan *p, const NcGemmSpec *s, const NcCgTarget *t, NcError *e) {
    memset(p, 0, sizeof *p);
    p->s = *s;
    NcGemmSpec *q = &p->s;
    if (s->batch < 1 || s->cin < 1 || s->cout < 1 || s->hw < 1)
        return nc_errorf(e, "gemm: sizes must be positive (batch %lld, cin %lld, cout %lld, hw %lld)",
                         (long long)s->batch, (long long)s->cin, (long long)s->cout, (long long)s->hw);
    p->vw = t->vw;
    p->K = s->cin;
    if (s->in_scale || s->b_per_image)
        p->M = s->hw, p->N = s->cout, p->images = s->batch; /* per-image weights */
    else
        p->M = s->batch * s->hw, p->N = s->cout, p->images = 1;
    /* Register block, chosen for t->blocking (cg_target.h): mr rows x nv
     * vectors of t->bvw floats, then counted in the target's own vectors
     * (more of them when AVX-512's blocks are emulated with AVX2's).
     * AVX2 (16 registers): 6 x 16, 12 accumulators + 2 of B + 1 broadcast.
     * AVX-512 (32): block_avx512. */
    if (!q->mr || !q->nv) {
        int mr = 6, nvb = 2;
        if (t->bregs >= 32) block_avx512(p, t, &mr, &nvb);
        if (!q->mr) q->mr = mr;
        if (!q->nv) q->nv = nvb * t->bvw / t->vw;
    }
    if (plan_blocks(p, t, e)) return -1;
    p->packed_floats = s->cout * p->K * (s->b_per_image ? s->batch : 1);
    if (!q->pf) q->pf = t->bregs >= 32 ? 1 : -1;
    if (!q->pf_b) q->pf_b = t->bregs >= 32 && prefetch_b_pays(p) ? 1 : -1;
    /* Packing A (AVX-512's blocks only: AVX2's are kept as measured on Zen 3): see cg_gemm.c's top. */
    if (!q->pack_a) q->pack_a = t->bregs >= 32 && pack_pays(p, t) ? 1 : -1;
    if (q->pack_a > 0 && q->mc * q->kc > PACK_MAX_FLOATS)
        return nc_errorf(e, "gemm: packed A block %lld x %lld over %d floats", (long long)q->mc, (long long)q->kc,
                         PACK_MAX_FLOATS);
    if (s->wtype != NC_F32 && (s->wtype != NC_BF16 || s->b_per_image || s->col_image))
        return nc_errorf(e, "gemm: bf16 weights are packed once at compile time (not per image, not column images)");
    if (s->b_per_image && s->in_scale) return nc_errorf(e, "gemm: per-image packed B needs no input scale");
    if (s->lda && (s->lda < p->K || p->images != 1))
        return nc_errorf(e, "gemm: A's rows %lld apart need one image and at least K = %lld", (long long)s->lda,
                         (long long)p->K);
    if (s->col_image && (p->images != 1 || s->bias || s->nepi || s->col_image % p->nr || p->N % s->col_image))
        return nc_errorf(e, "gemm: column images of %lld need one image, no epilogue, whole panels of %d",
                         (long long)s->col_image, p->nr);
    return 0;
}

/* The rest of the plan for the register block in p->s (mr, nv set): the
 * check that it fits, nr, kc, mc, nc and the tiles. */
static int plan_blocks(NcGemmPlan *p, const NcCgTarget *t, NcError *e) {
    NcGemmSpec *q = &p->s;
    /* the check in blocking vectors: with emulated blocks the target's own
     * registers are knowingly oversubscribed (LLVM spills) */
    const int nvb = (int)cgb_ceil_div((int64_t)q->nv * t->vw, t->bvw);
    if (q->mr < 1 || q->mr > MAXMR || q->nv < 1 || q->nv > MAXNV || q->mr * nvb + nvb + 1 > t->bregs)
        return nc_errorf(e, "gemm: register block %d x %d does not fit %d vector registers", q->mr, q->nv, t->bregs);
    p->nr = q->nv * p->vw;

    /* kc: B's micro-panel (kc x nr floats) must stay in L1 beside A's rows
     * and C; an even split keeps the last block from being a sliver.  AVX2:
     * 256 (on Zen 3, kc from 128 to 1024, and register blocks 6x16, 5x16
     * and 4x24, measured within the machine's noise of each other:
     * bench/RESULTS.md).  AVX-512: kc_avx512 (256 x 32 floats of B would
     * fill a 32 KB L1 alone). */
    if (!q->kc) q->kc = t->bregs >= 32 ? kc_avx512(nvb, t->bvw) : 256;
    if (q->kc < 1) return nc_errorf(e, "gemm: kc %lld", (long long)q->kc);
    p->nkb = cgb_ceil_div(p->K, q->kc);
    q->kc = cgb_ceil_div(p->K, p->nkb);
    p->kc_last = p->K - (p->nkb - 1) * q->kc;

    /* mc: A's block (mc x kc) stays in L2 — a quarter of Zen 3's 512 KB;
     * AVX-512 parts have 1-2 MB (Zen 4, Sapphire Rapids): 256 KB there —
     * while the column panels of a tile stream past it. */
    const int64_t mr = q->mr, nr = p->nr, Mr = cgb_round_up(p->M, mr), Nr = cgb_round_up(p->N, nr);
    const int64_t l2 = t->bregs >= 32 ? 256 * 1024 : 128 * 1024;
    int64_t mc = q->mc ? cgb_round_up(q->mc, mr) : (l2 / 4) / q->kc / mr * mr;
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
    LLVMValueRef a, b, c, bias;   /* operand base pointers (a: x, or the packed block) */
    LLVMValueRef x;               /* the activations */
    int packed;                   /* A is packed (spec.pack_a): a is the stack block, row i at i * a_si */
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

/* &B[i]: B's elements are floats, or bf16 (spec.wtype) */
static LLVMValueRef bgep(G *g, LLVMValueRef p, LLVMValueRef i) {
    if (g->p->s.wtype != NC_BF16) return cgb_gep(g->m, p, i);
    return LLVMBuildInBoundsGEP2(g->m->b, LLVMInt16TypeInContext(g->m->ctx), p, &i, 1, "");
}

/* n lanes of B at p as floats: bf16 widened (its 16 bits are the top half of an f32: a zero-extend and a
 * shift, vpmovzxwd + vpslld on AVX2) */
static LLVMValueRef load_b(G *g, LLVMValueRef p, int n) {
    NcCgModule *m = g->m;
    if (g->p->s.wtype != NC_BF16) return cgb_load_n(m, p, n);
    LLVMTypeRef v16 = LLVMVectorType(LLVMInt16TypeInContext(m->ctx), (unsigned)m->vw);
    LLVMTypeRef v32 = LLVMVectorType(m->i32, (unsigned)m->vw);
    LLVMValueRef h;
    if (n >= m->vw) {
        h = LLVMBuildLoad2(m->b, v16, p, "");
        LLVMSetAlignment(h, 2);
    } else { /* the ragged panel: lanes past n are not read */
        LLVMTypeRef over[2] = {v16, m->ptr};
        const char *name = "llvm.masked.load";
        const unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
        LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, over, 2);
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, over, 2), bits[64];
        for (int i = 0; i < m->vw; i++) bits[i] = LLVMConstInt(m->i1, i < n, 0);
        LLVMValueRef args[4] = {p, LLVMConstInt(m->i32, 2, 0), LLVMConstVector(bits, (unsigned)m->vw),
                                LLVMConstNull(v16)};
        h = LLVMBuildCall2(m->b, fty, fn, args, 4, "");
    }
    LLVMValueRef sh[64];
    for (int i = 0; i < m->vw; i++) sh[i] = LLVMConstInt(m->i32, 16, 0);
    LLVMValueRef w = LLVMBuildShl(m->b, LLVMBuildZExt(m->b, h, v32, ""), LLVMConstVector(sh, (unsigned)m->vw), "");
    return LLVMBuildBitCast(m->b, w, m->vec, "");
}

/* One k of the microkernel: B's row k (nv vectors, the last `lanes` wide),
 * mr broadcasts of A's column k, mr * nv FMAs into acc; with b_ahead, a
 * prefetch of every line of B's row k + b_ahead among them. */
static void k_step(G *g, int mr, int nv, int lanes, LLVMValueRef acc[][MAXNV], LLVMValueRef ap, LLVMValueRef bp,
                   LLVMValueRef k, int64_t a_sk, int64_t b_sk, int64_t b_ahead) {
    NcCgModule *m = g->m;
    LLVMBuilderRef b = m->b;
    const int vw = m->vw;
    LLVMValueRef bk = bgep(g, bp, mul(g, k, b_sk)), ak = cgb_gep(m, ap, mul(g, k, a_sk));
    LLVMValueRef bv[MAXNV];
    for (int v = 0; v < nv; v++) {
        /* a ragged last vector is loaded under a mask: the activations end
         * there, or the compactly packed weights run on to the next k */
        LLVMValueRef ptr = bgep(g, bk, cgb_i64(m, v * vw));
        bv[v] = load_b(g, ptr, v == nv - 1 ? lanes : vw);
    }
    if (b_ahead) { /* past B's end for the last panel: a prefetch does not fault, and the address is not inbounds */
        const int bf16 = g->p->s.wtype == NC_BF16, per_line = bf16 ? 32 : 16;
        LLVMTypeRef et = bf16 ? LLVMInt16TypeInContext(m->ctx) : m->f32;
        for (int o = 0; o < (nv - 1) * vw + lanes; o += per_line) {
            LLVMValueRef off = cgb_i64(m, b_ahead * b_sk + o);
            cgb_prefetch(m, LLVMBuildGEP2(b, et, bk, &off, 1, ""));
        }
    }
    if (g->scale && !g->packed) { /* row k of B (the weights) is input channel kb + k, scaled */
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
}

/* One mr x (nv vectors) block of C, whose last vector has `lanes` valid
 * lanes, over klen values of k starting at A + aoff, B + boff; with pf,
 * prefetching the next row panel's A as it goes, with pfb B's rows klen
 * ahead. */
static void micro(G *g, int mr, int nv, int lanes, LLVMValueRef aoff, LLVMValueRef boff, LLVMValueRef coff,
                  LLVMValueRef row0, LLVMValueRef col0, int64_t klen, int first, int last, int64_t a_sk, int64_t b_sk,
                  int pf, int pfb) {
    NcCgModule *m = g->m;
    LLVMBuilderRef b = m->b;
    const int vw = m->vw;
    LLVMValueRef acc[MAXMR][MAXNV];
    /* Same-shape epilogue operands (a residual) are read after the
     * reduction, mr rows ldc apart: the hardware prefetchers miss runs of
     * a few lines that far apart, so ask for every line of them now, a whole
     * reduction ahead — and for C's lines the last pass writes, for
     * writing, so that their reads for ownership are not waited on either.
     * (Zen 4, resnet50 batch 8, bench --per-kernel over 6 rounds: layer 1's
     * conv+add+relu 1x1s 5.25 -> 4.98 ms, layer 2's 4.45 -> 4.25; first and
     * last line of each residual row alone, as before, 5.19.) */
    if (last) {
        const int width = (nv - 1) * vw + lanes;
        for (int s = 0; s <= g->p->s.nepi; s++) {
            const int c = s == g->p->s.nepi; /* C itself, after the operands */
            if (!c && (!g->epi[s] || g->p->s.epi_per_channel[s])) continue;
            for (int i = 0; i < mr; i++) {
                LLVMValueRef row = cgb_gep(m, c ? g->c : g->epi[s], add(g, coff, cgb_i64(m, i * g->ldc)));
                for (int o = 0; o < width; o += 16) cgb_prefetch_rw(m, cgb_gep(m, row, cgb_i64(m, o)), c);
                if ((width - 1) % 16) /* a row that does not start on a line ends on one more */
                    cgb_prefetch_rw(m, cgb_gep(m, row, cgb_i64(m, width - 1)), c);
            }
        }
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
    LLVMValueRef ap = cgb_gep(m, g->a, aoff), bp = bgep(g, g->b, boff);
    if (pf && klen >= PF_UNROLL) {
        /* The next row panel's mr rows of A, whose kc-long runs K floats
         * apart the hardware prefetchers take a few misses each to find:
         * every 16 k (a 64-byte line of each row), mr prefetches of those
         * rows' line, then the 16 k in a loop kept rolled (unrolled, the
         * scheduler interleaved its copies past the 32 registers: spills).
         * (Computing a row and line per k in a plain loop — k % mr, k / mr —
         * cost 7% of the FMA peak in L1 on a Sapphire Rapids-class Xeon:
         * scalar multiplies on the FMA ports.)  The line may lie past A
         * (the last panel): a prefetch does not fault, and the address is
         * not inbounds. */
        const int64_t main_k = klen / PF_UNROLL * PF_UNROLL;
        LLVMValueRef kk, k;
        CgbLoop lk = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, main_k), PF_UNROLL, &kk);
        for (int j = 0; j < mr; j++) {
            LLVMValueRef off = add(g, cgb_i64(m, g->a_panel + j * g->a_si), mul(g, kk, a_sk));
            cgb_prefetch(m, LLVMBuildGEP2(b, m->f32, ap, &off, 1, ""));
        }
        CgbLoop li = cgb_loop_begin(m, kk, add(g, kk, cgb_i64(m, PF_UNROLL)), 1, &k);
        k_step(g, mr, nv, lanes, acc, ap, bp, k, a_sk, b_sk, pfb ? klen : 0);
        cgb_loop_end_rolled(m, &li);
        cgb_loop_end(m, &lk);
        if (main_k < klen) {
            CgbLoop lr = cgb_loop_begin(m, cgb_i64(m, main_k), cgb_i64(m, klen), 1, &k);
            k_step(g, mr, nv, lanes, acc, ap, bp, k, a_sk, b_sk, pfb ? klen : 0);
            cgb_loop_end(m, &lr);
        }
    } else {
        LLVMValueRef k;
        CgbLoop lk = cgb_loop_begin(m, cgb_i64(m, 0), cgb_i64(m, klen), 1, &k);
        k_step(g, mr, nv, lanes, acc, ap, bp, k, a_sk, b_sk, pfb ? klen : 0);
        cgb_loop_end(m, &lk);
    }
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

/* Where row panel pi of A starts: in the activations (aimg: the image, akb: the reduction block),
 * or (packed) in the tile's block, whose first panel is p0. */
static LLVMValueRef a_off(G *g, LLVMValueRef pi, LLVMValueRef p0, LLVMValueRef aimg, LLVMValueRef akb) {
    if (g->packed) return mul(g, LLVMBuildNSWSub(g->m->b, pi, p0, ""), g->a_panel);
    return add(g, add(g, aimg, mul(g, pi, g->a_panel)), akb);
}

/* The tile's rows of A, k in [kb, kb + klen), into the stack block (row i at i * klen), each
 * column k times the image's input scale when there is one (then B is read unscaled). */
static void pack_a(G *g, LLVMValueRef kb, int64_t klen) {
    NcCgModule *m = g->m;
    const NcGemmPlan *p = g->p;
    const int64_t mc = p->s.mc, last_rows = p->M - (p->mblocks - 1) * mc;
    LLVMValueRef nrows =
        last_rows == mc ? cgb_i64(m, mc) : LLVMBuildSelect(m->b, g->last_m, cgb_i64(m, last_rows), cgb_i64(m, mc), "");
    const int64_t lda = p->s.lda ? p->s.lda : p->K;
    LLVMValueRef src = add(g, add(g, mul(g, g->img, p->M * lda), mul(g, g->mb, mc * lda)), kb);
    LLVMValueRef scale = g->scale ? cgb_gep(m, g->scale, add(g, mul(g, g->img, p->K), kb)) : NULL;
    LLVMValueRef r;
    CgbLoop l = cgb_loop_begin(m, cgb_i64(m, 0), nrows, 1, &r);
    cgb_copy_floats(m, cgb_gep(m, g->a, mul(g, r, klen)), cgb_gep(m, g->x, add(g, src, mul(g, r, lda))), scale, klen);
    cgb_loop_end(m, &l);
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
    LLVMValueRef pi, from = p0;
    /* packed, A is already in L1 or L2: no prefetch */
    const int pf = p->s.pf > 0 && mr <= 16 && !g->packed;
    if (p->s.pf_b > 0) { /* the first panel, with the prefetch of B ahead (count can be 0: only a ragged panel) */
        CgbIf c = cgb_if_begin(m, LLVMBuildICmp(m->b, LLVMIntSGT, count, cgb_i64(m, 0), ""));
        micro(g, mr, nv, lanes, a_off(g, p0, p0, aimg, akb), boff, add(g, cimg, mul(g, p0, mr * g->ldc)),
              mul(g, p0, mr), col0, klen, first, last, g->a_sk, b_sk, pf, 1);
        cgb_if_end(m, &c);
        from = add(g, p0, cgb_i64(m, 1));
    }
    CgbLoop lp = cgb_loop_begin(m, from, add(g, p0, count), 1, &pi);
    micro(g, mr, nv, lanes, a_off(g, pi, p0, aimg, akb), boff, add(g, cimg, mul(g, pi, mr * g->ldc)), mul(g, pi, mr),
          col0, klen, first, last, g->a_sk, b_sk, pf, 0);
    cgb_loop_end(m, &lp);
    if (mtail) {
        CgbIf c = cgb_if_begin(m, g->last_m);
        LLVMValueRef pt = cgb_i64(m, p->M / mr);
        micro(g, mtail, nv, lanes, a_off(g, pt, p0, aimg, akb), boff, add(g, cimg, mul(g, pt, mr * g->ldc)),
              mul(g, pt, mr), col0, klen, first, last, g->a_sk, b_sk, 0, 0);
        cgb_if_end(m, &c);
    }
}

/* One pass over k in [kb, kb + klen) for the whole tile. */
static void pass(G *g, LLVMValueRef kb, int64_t klen, int first, int last) {
    NcCgModule *m = g->m;
    g->kb = kb;
    const NcGemmPlan *p = g->p;
    if (g->packed) {
        pack_a(g, kb, klen);
        g->a_si = klen, g->a_panel = p->s.mr * klen;
    }
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
    const int64_t lda = p->s.lda ? p->s.lda : p->K;
    g.a = g.x = x, g.a_si = lda, g.a_sk = 1, g.a_panel = p->s.mr * lda, g.a_img = p->M * lda;
    g.b = w, g.b_sk = p->nr, g.b_panel = p->K * p->nr;
    g.c_img = p->M * p->N;
    if (p->s.b_per_image) g.b_img = p->s.cout * p->K;
    if (p->s.pack_a > 0) {
        g.packed = 1;
        g.a = cgb_var(m, LLVMArrayType2(m->f32, (uint64_t)(p->s.mc * p->s.kc)));
        LLVMSetAlignment(g.a, 64);
    }
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
    const int first = !p->s.accumulate;
    if (p->nkb == 1) {
        pass(&g, cgb_i64(m, 0), p->K, first, 1);
    } else {
        pass(&g, cgb_i64(m, 0), kc, first, 0);
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
