/* cg_gemm_i8.c — the int8 GEMM's quantise and GEMM stages as LLVM IR
 * (cg_gemm_i8.h says what they compute).
 *
 * Loops of a GEMM tile (mc rows x pc weight panels):
 *
 *   for q in the tile's groups of spp panels (NC_I8_NR columns each; ymm: 1, zmm: 4)
 *     for p in row panels (mr):         the tile's mc x K4 bytes of A stay in L2
 *       microkernel over all of K (one pass: i32 accumulators never go to memory)
 *
 * Ragged row and column panels get their own microkernels (fewer rows;
 * fewer vectors, the last stored under a lane mask — the packed weights,
 * scales and corrections are zero-padded to whole panels, so only the
 * stores and epilogue operands need masks). */
#include "codegen/cpu/cg_gemm_i8.h"

#include "codegen/cpu/cg_amx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXVL 16 /* i32 / f32 lanes of the widest vector (zmm) */
#define MAXMR 8
#define MAXNV 4

/* ---- planning ---------------------------------------------------------- */

/* The int8 features of LLVM 19's x86 CPUs by name (X86.td), for `--cpu NAME` without a feature string, whose
 * features no host query gives: without them `--cpu znver3` or `--cpu sapphirerapids` got the plain kernels
 * (generic IR that LLVM widened and shuffled: 2.4x the f32 program's time on resnet50 at batch 8, where the
 * AVX2 kernels take 0.7x).  Only what each CPU certainly has: a CPU left out gets slower kernels, never
 * instructions it lacks. */
static const struct {
    const char *feature, *cpus;
} named_cpu_features[] = {
    {"avx2", " haswell broadwell skylake core-avx2 skylake-avx512 cascadelake cooperlake cannonlake icelake-client "
             "icelake-server rocketlake tigerlake sapphirerapids emeraldrapids graniterapids graniterapids-d "
             "diamondrapids alderlake raptorlake meteorlake arrowlake arrowlake-s lunarlake pantherlake gracemont "
             "sierraforest grandridge clearwaterforest znver1 znver2 znver3 znver4 znver5 x86-64-v3 x86-64-v4 "},
    {"avx512bw", " skylake-avx512 cascadelake cooperlake cannonlake icelake-client icelake-server rocketlake tigerlake "
                 "sapphirerapids emeraldrapids graniterapids graniterapids-d diamondrapids znver4 znver5 x86-64-v4 "},
    {"avx512vl", " skylake-avx512 cascadelake cooperlake cannonlake icelake-client icelake-server rocketlake tigerlake "
                 "sapphirerapids emeraldrapids graniterapids graniterapids-d diamondrapids znver4 znver5 x86-64-v4 "},
    {"avx512vnni", " cascadelake cooperlake icelake-client icelake-server rocketlake tigerlake sapphirerapids "
                   "emeraldrapids graniterapids graniterapids-d diamondrapids znver4 znver5 "},
    {"avxvnni",
     " alderlake raptorlake meteorlake arrowlake arrowlake-s lunarlake pantherlake gracemont sierraforest "
     "grandridge clearwaterforest sapphirerapids emeraldrapids graniterapids graniterapids-d diamondrapids "},
};

int nc_cg_has_feature(const NcCgTarget *t, const char *name) {
    const size_t n = strlen(name);
    if ((!t->features || !*t->features) && t->cpu) { /* a CPU by name: what it implies */
        char key[72];
        snprintf(key, sizeof key, " %s ", t->cpu);
        for (size_t i = 0; i < sizeof named_cpu_features / sizeof named_cpu_features[0]; i++)
            if (!strcmp(named_cpu_features[i].feature, name)) return strstr(named_cpu_features[i].cpus, key) != NULL;
        return 0;
    }
    for (const char *f = t->features; f && (f = strstr(f, name)) != NULL; f += n)
        if (f > t->features && f[-1] == '+' && (f[n] == ',' || f[n] == 0)) return 1;
    return 0;
}

NcI8Isa nc_cg_i8_best_isa(const NcCgTarget *t) {
    if (t->vw == 16 && nc_cg_has_feature(t, "avx512vnni") && nc_cg_has_feature(t, "avx512bw"))
        return nc_cg_target_amx_int8(t) ? NC_I8_AMX : NC_I8_VNNI512;
    if (nc_cg_has_feature(t, "avxvnni") || (nc_cg_has_feature(t, "avx512vnni") && nc_cg_has_feature(t, "avx512vl")))
        return NC_I8_AVXVNNI;
    if (nc_cg_has_feature(t, "avx2")) return NC_I8_AVX2;
    return NC_I8_PLAIN;
}

NcI8Isa nc_cg_i8_isa(const NcCgTarget *t) {
    /* NETC_CG_INT8=avx2 (or plain, avxvnni): an older ISA's kernels on this host, to compare them */
    const char *env = getenv("NETC_CG_INT8");
    if (env && *env) {
        for (int i = NC_I8_PLAIN; i <= NC_I8_AMX; i++)
            if (!strcmp(env, i == NC_I8_PLAIN ? "plain" : nc_cg_i8_isa_name((NcI8Isa)i)))
                return i <= (int)nc_cg_i8_best_isa(t) ? (NcI8Isa)i : nc_cg_i8_best_isa(t);
        static int warned;
        if (!warned++)
            fprintf(stderr, "netc: NETC_CG_INT8='%s' is not plain, avx2, avxvnni, avx512vnni or amx (ignored)\n", env);
    }
    return nc_cg_i8_best_isa(t);
}

/* AMX: a reduction over 64 is padded to whole tiles of 64 bytes; one of 64 or less is one step whose tiles
 * are configured that wide (K = 16: a quarter of the bytes of A a 64-byte padding would quantise and load) */
int64_t nc_cg_i8_kalign_for(NcI8Isa isa, int64_t K) { return isa == NC_I8_AMX && K > 64 ? 64 : 4; }

int64_t nc_cg_i8_kalign(const NcCgTarget *t, int64_t K) { return nc_cg_i8_kalign_for(nc_cg_i8_isa(t), K); }

const char *nc_cg_i8_isa_name(NcI8Isa isa) {
    return isa == NC_I8_AMX       ? "amx"
           : isa == NC_I8_VNNI512 ? "avx512vnni"
           : isa == NC_I8_AVXVNNI ? "avxvnni"
           : isa == NC_I8_AVX2    ? "avx2"
                                  : NULL;
}

int nc_cg_gemm_i8_plan(NcGemmI8Plan *p, const NcGemmSpec *s, const NcCgTarget *t, NcI8Isa isa, NcError *e) {
    return nc_cg_gemm_i8_plan_groups(p, s, 1, t, isa, e);
}

int nc_cg_gemm_i8_plan_groups(NcGemmI8Plan *p, const NcGemmSpec *s, int64_t G, const NcCgTarget *t, NcI8Isa isa,
                              NcError *e) {
    memset(p, 0, sizeof *p);
    p->s = *s;
    if (s->batch < 1 || s->cin < 1 || s->cout < 1 || s->hw < 1 || G < 1)
        return nc_errorf(e, "gemm int8: sizes must be positive");
    if (G > 1 && s->in_scale) return nc_errorf(e, "gemm int8: groups read im2col's columns, never a scaled input");
    if (s->b_per_image || s->col_image) return nc_errorf(e, "gemm int8: one GEMM over all images only");
    const NcI8Isa best = nc_cg_i8_best_isa(t);
    if (isa == NC_I8_AUTO) isa = nc_cg_i8_isa(t);
    /* what the target has: each ISA implies the ones below it, except zmm needs 16-lane vectors */
    if (isa > best || (isa == NC_I8_AVXVNNI && best == NC_I8_VNNI512 && !nc_cg_has_feature(t, "avx512vl") &&
                       !nc_cg_has_feature(t, "avxvnni")))
        return nc_errorf(e, "gemm int8: the target has no %s", nc_cg_i8_isa_name(isa));
    p->isa = isa;
    /* zmm: 6 rows x 4 panels = 24 accumulators, 4 weight vectors and the broadcast row in 32 registers
     * (per group of 4 reduction steps: 10 loads for 24 vpdpbusd); ymm: 4 rows x 2 vectors (16 registers) */
    if (isa == NC_I8_AMX)
        p->vl = 16, p->mr = 32, p->nv = 2; /* two A tiles x two B tiles */
    else if (isa == NC_I8_VNNI512)
        p->vl = 16, p->mr = 6, p->nv = MAXNV;
    else
        p->vl = 8, p->mr = 4, p->nv = NC_I8_NR / 8;
    p->spp = p->nv * p->vl / NC_I8_NR;
    p->M = s->batch * s->hw, p->N = s->cout;
    nc_i8_layout_groups(&p->l, G, s->cout, s->cin, nc_cg_i8_kalign_for(isa, s->cin));
    p->K4 = p->l.K4;
    p->G = G, p->Pg = p->l.Np / NC_I8_NR / G, p->ldy = G * p->N;
    const int64_t mr = p->mr, spp = p->spp, P = p->Pg, Mr = cgb_round_up(p->M, mr);
    /* A's block (mc rows of K4 bytes) in half of a 512 KB L2 */
    int64_t mc = (256 * 1024 / p->K4) / mr * mr, pc = cgb_round_up(P, spp);
    mc = mc < mr ? mr : mc > Mr ? Mr : mc;
    /* enough tiles for dynamic scheduling (as cg_gemm.c): split the rows while
     * a tile keeps 8 row panels, else the panels; few rows and many weights
     * (batch 1 at 7x7 and 14x14): the panels only, each streamed once */
    const int rows_fit = p->M * p->K4 <= 256 * 1024 && p->N > p->M;
    for (;;) {
        const int64_t tiles = G * cgb_ceil_div(p->M, mc) * cgb_ceil_div(P, pc);
        if (tiles >= 48) break;
        const int split_m = mc >= 8 * mr, split_n = pc >= 2 * spp;
        if (rows_fit && split_n)
            pc = cgb_round_up(cgb_ceil_div(pc, 2), spp);
        else if (split_m)
            mc = cgb_round_up(mc / 2, mr);
        else if (split_n)
            pc = cgb_round_up(cgb_ceil_div(pc, 2), spp);
        else
            break;
    }
    mc = cgb_round_up(cgb_ceil_div(p->M, cgb_ceil_div(p->M, mc)), mr);
    pc = cgb_round_up(cgb_ceil_div(P, cgb_ceil_div(P, pc)), spp);
    p->mc = mc, p->pc = pc;
    p->mblocks = cgb_ceil_div(p->M, mc), p->nblocks = cgb_ceil_div(P, pc);
    p->tiles = G * p->mblocks * p->nblocks;
    p->qrows = 16384 / p->K4 > 1 ? 16384 / p->K4 : 1;
    p->qtiles = cgb_ceil_div(p->M, p->qrows);
    /* AMX's A tiles read whole blocks of 32 rows: those past M (their results are not stored) */
    p->a_group = (isa == NC_I8_AMX ? cgb_round_up(p->M, 32) : p->M) * p->K4;
    p->a_bytes = G * p->a_group;
    return 0;
}

/* AVX512-VNNI without AMX (AMD Zen 4, resnet50 int8 batch 8, 2 threads, per kernel): fused, layer 1's 3x3s
 * 3.3-3.7 -> 2.3 ms, the conv1s 1.7 -> 1.4; layer 1's conv3s (K 64, a residual) 1.35 -> 1.6, so the short
 * reductions keep the two stages; the whole program 96.6 -> 88.5 ms (5 interleaved rounds) */
int nc_cg_gemm_i8_fuse_pays(const NcGemmI8Plan *p) {
    const char *e = getenv("NETC_CG_I8_FUSED"); /* 0: never, 1: wherever the sizes allow (A/B) */
    const int forced = e && (!strcmp(e, "0") || !strcmp(e, "1"));
    const int isa_ok = forced ? *e == '1' : p->isa == NC_I8_AMX || (p->isa == NC_I8_VNNI512 && p->K4 > 64);
    return isa_ok && p->Pg * NC_I8_NR * p->K4 <= 512 * 1024 && p->mr * p->K4 <= 160 * 1024 && p->M >= 8 * p->mr;
}

void nc_cg_gemm_i8_set_fused(NcGemmI8Plan *p, int fused) {
    p->fused = fused;
    if (!fused) return; /* nc_cg_gemm_i8_plan_groups planned the two stages */
    /* every column panel in each tile; rows split for at least 32 tiles where there are row panels enough */
    const int64_t mr = p->mr, nmb = cgb_ceil_div(p->M, mr), want = cgb_ceil_div(32, p->G);
    const int64_t mcb = cgb_ceil_div(nmb, want);
    p->mc = mcb * mr, p->pc = cgb_round_up(p->Pg, p->spp);
    p->mblocks = cgb_ceil_div(p->M, p->mc), p->nblocks = 1;
    p->tiles = p->G * p->mblocks;
    p->a_bytes = 0;
}

void nc_cg_gemm_i8_set_dtypes(NcGemmI8Plan *p, const NcGraph *g, const NcNode *nd) {
    p->x_bf16 = nc_val(g, nd->inputs[0])->dtype == NC_BF16;
    p->y_bf16 = nc_val(g, nd->outputs[0])->dtype == NC_BF16;
    for (int s = 0; s < p->s.nepi; s++)
        p->epi_bf16[s] = (p->s.epi[s].kind == NC_EPI_ADD || p->s.epi[s].kind == NC_EPI_MUL) &&
                         nc_val(g, nd->inputs[p->s.epi[s].input])->dtype == NC_BF16;
}

/* ---- shared ------------------------------------------------------------ */

typedef struct Q {
    NcCgModule mv; /* the module seen with the plan's vectors */
    NcCgModule *m;
    const NcGemmI8Plan *p;
    int vl;
    LLVMTypeRef i8, i16, vbytes, vi32; /* 4 vl x i8, vl x i32 */
    LLVMValueRef a, blob, bw, colscale, colcorr, bias, y, epi[NC_MAX_EPI];
    LLVMValueRef mb, nb, last_m, last_n;
    LLVMValueRef cbuf; /* AMX: the four C tiles, 16 x 16 i32 each, for the epilogue */
} Q;

static void q_init(Q *q, NcCgModule *m0, const NcGemmI8Plan *p) {
    memset(q, 0, sizeof *q);
    q->mv = *m0;
    q->m = &q->mv;
    q->vl = p->vl;
    q->m->vw = p->vl, q->m->vec = LLVMVectorType(m0->f32, (unsigned)p->vl);
    q->p = p;
    q->i8 = LLVMInt8TypeInContext(m0->ctx), q->i16 = LLVMInt16TypeInContext(m0->ctx);
    q->vbytes = LLVMVectorType(q->i8, (unsigned)(4 * p->vl)), q->vi32 = LLVMVectorType(m0->i32, (unsigned)p->vl);
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
    /* the intrinsic's own operand types (vpdpbusd's byte operands are i32 vectors in some LLVM versions) */
    LLVMTypeRef pt[4];
    NC_CHECK(LLVMCountParamTypes(fty) == (unsigned)nargs && nargs <= 4);
    LLVMGetParamTypes(fty, pt);
    for (int i = 0; i < nargs; i++)
        if (LLVMTypeOf(args[i]) != pt[i]) args[i] = LLVMBuildBitCast(m->b, args[i], pt[i], "");
    LLVMValueRef r = LLVMBuildCall2(m->b, fty, fn, args, (unsigned)nargs, "");
    return r;
}

static LLVMValueRef shuffle(Q *q, LLVMValueRef v, int n, int first) {
    LLVMValueRef idx[4 * MAXVL];
    for (int i = 0; i < n; i++) idx[i] = LLVMConstInt(q->m->i32, (unsigned long long)(2 * i + first), 0);
    return LLVMBuildShuffleVector(q->m->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(idx, (unsigned)n), "");
}

/* acc + per 32-bit lane l: sum over its 4 bytes b of a[4l + b] (u8) * w[4l + b] (s8), as i32. */
static LLVMValueRef madd(Q *q, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef w) {
    LLVMBuilderRef b = q->m->b;
    const NcI8Isa isa = q->p->isa;
    if (isa == NC_I8_VNNI512 || isa == NC_I8_AVXVNNI) {
        /* vpdpbusd: no intermediate saturation (vpdpbusds would saturate the i32) */
        LLVMValueRef args[3] = {acc, a, w};
        LLVMValueRef r = call(q, isa == NC_I8_VNNI512 ? "llvm.x86.avx512.vpdpbusd.512" : "llvm.x86.avx512.vpdpbusd.256",
                              NULL, 0, args, 3);
        return LLVMTypeOf(r) == q->vi32 ? r : LLVMBuildBitCast(b, r, q->vi32, "");
    }
    if (isa == NC_I8_AVX2) {
        LLVMValueRef args[2] = {a, w};
        LLVMValueRef t16 = call(q, "llvm.x86.avx2.pmadd.ub.sw", NULL, 0, args, 2);
        LLVMValueRef ones[16];
        for (int i = 0; i < 16; i++) ones[i] = LLVMConstInt(q->i16, 1, 0);
        LLVMValueRef args2[2] = {t16, LLVMConstVector(ones, 16)};
        return LLVMBuildAdd(b, acc, call(q, "llvm.x86.avx2.pmadd.wd", NULL, 0, args2, 2), "");
    }
    /* the same integers in plain IR: products fit i16 (255 x 63), pairs of them too */
    const int vl = q->vl;
    LLVMTypeRef vw16 = LLVMVectorType(q->i16, (unsigned)(4 * vl)), vh32 = LLVMVectorType(q->m->i32, (unsigned)(2 * vl));
    LLVMValueRef pr = LLVMBuildNSWMul(b, LLVMBuildZExt(b, a, vw16, ""), LLVMBuildSExt(b, w, vw16, ""), "");
    LLVMValueRef s16 = LLVMBuildNSWAdd(b, shuffle(q, pr, 2 * vl, 0), shuffle(q, pr, 2 * vl, 1), "");
    LLVMValueRef s32 = LLVMBuildSExt(b, s16, vh32, "");
    return LLVMBuildAdd(b, acc, LLVMBuildNSWAdd(b, shuffle(q, s32, vl, 0), shuffle(q, s32, vl, 1), ""), "");
}

/* ---- the quantise stage -------------------------------------------------- */

typedef struct QuantRow {
    Q *q;
    LLVMValueRef x, s, d, inv, zero;
    int x_bf16;
} QuantRow;

static void quant_vec(NcCgModule *m, void *ctx, LLVMValueRef i, int lanes) {
    QuantRow *r = ctx;
    Q *q = r->q;
    LLVMBuilderRef b = m->b;
    LLVMValueRef v = cgb_load_act(m, r->x, i, lanes, r->x_bf16);
    if (r->s) v = LLVMBuildFMul(b, v, cgb_load_n(m, cgb_gep(m, r->s, i), lanes), "");
    v = cgb_fma(m, v, r->inv, r->zero);
    LLVMTypeRef over[1] = {m->vec};
    LLVMValueRef args[1] = {v};
    v = call(q, "llvm.rint", over, 1, args, 1); /* to nearest, ties to even (the default rounding mode) */
    LLVMValueRef lo = cgb_zero(m), hi = cgb_splat(m, cgb_f32(m, 255.0));
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, lo, ""), lo, v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, hi, ""), hi, v, "");
    LLVMValueRef u = LLVMBuildTrunc(b, LLVMBuildFPToSI(b, v, q->vi32, ""), LLVMVectorType(q->i8, (unsigned)q->vl), "");
    LLVMValueRef dst = bgep(q, r->d, i);
    if (lanes == q->vl) {
        LLVMValueRef st = LLVMBuildStore(b, u, dst);
        LLVMSetAlignment(st, 1);
        return;
    }
    for (int l = 0; l < lanes; l++)
        LLVMBuildStore(b, LLVMBuildExtractElement(b, u, LLVMConstInt(m->i32, (unsigned long long)l, 0), ""),
                       bgep(q, dst, I(q, l)));
}

/* The quantisation of the blob at `blob` (its activation scale and zero point), for rows read as x_bf16 says. */
static QuantRow quant_begin(Q *q, LLVMValueRef blob, int x_bf16) {
    NcCgModule *m = q->m;
    QuantRow r = {q, NULL, NULL, NULL, NULL, NULL, x_bf16};
    r.inv = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, blob, ""));
    r.zero = cgb_splat(m, LLVMBuildLoad2(m->b, m->f32, cgb_gep(m, blob, cgb_i64(m, 1)), ""));
    return r;
}
/* len values of r->x (times r->s) to bytes at r->d, then zeros up to stride (the reduction's padding: its
 * weights are zero too). */
static void quant_row(QuantRow *r, int64_t len, int64_t stride) {
    Q *q = r->q;
    cgb_for_vectors(q->m, len, quant_vec, r);
    if (stride > len)
        LLVMBuildMemSet(q->m->b, bgep(q, r->d, I(q, len)), LLVMConstInt(q->i8, 0, 0), I(q, stride - len), 1);
}

/* rows [0, nrows) of G x len floats from src (times scale[row / hw][...] when scale_input is set) to rows of
 * stride bytes at out[1] + off, bytes [len, stride) zero, group g's len floats of each row to the g-th plane
 * of nrows rows; rows_per_tile rows a tile. */
static void quant_stage(NcCgModule *m0, const NcGemmI8Plan *p, const char *name, int from_scratch, int scale_input,
                        int64_t off, int64_t nrows, int64_t len, int64_t stride, int64_t hw, int64_t rows_per_tile,
                        int64_t G) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m0, name);
    Q qq, *q = &qq;
    q_init(q, m0, p);
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMValueRef src = from_scratch ? cgb_arg_ptr(m, out, 1) : cgb_arg_ptr(m, in, 0);
    LLVMValueRef blob = cgb_arg_ptr(m, in, 1);
    LLVMValueRef scale = scale_input ? cgb_arg_ptr(m, in, scale_input) : NULL;
    LLVMValueRef dst = bgep(q, cgb_arg_ptr(m, out, 1), I(q, off));
    QuantRow r = quant_begin(q, blob, !from_scratch && p->x_bf16);
    const int64_t tiles = cgb_ceil_div(nrows, rows_per_tile);
    LLVMValueRef t, row;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    LLVMValueRef r0 = mulc(q, t, rows_per_tile);
    LLVMValueRef last = LLVMBuildICmp(b, LLVMIntEQ, t, I(q, tiles - 1), "");
    LLVMValueRef count = LLVMBuildSelect(b, last, I(q, nrows - (tiles - 1) * rows_per_tile), I(q, rows_per_tile), "");
    CgbLoop lr = cgb_loop_begin(m, r0, add(q, r0, count), 1, &row);
    LLVMValueRef x0 = cgb_gep_act(m, src, mulc(q, row, G * len), r.x_bf16), d0 = bgep(q, dst, mulc(q, row, stride));
    LLVMValueRef s0 = scale ? cgb_gep(m, scale, mulc(q, LLVMBuildSDiv(b, row, I(q, hw), ""), G * len)) : NULL;
    for (int64_t g = 0; g < G; g++) { /* unrolled: G is 1 but for grouped convs' planes (up to 37) */
        r.x = cgb_gep_act(m, x0, I(q, g * len), r.x_bf16), r.s = s0 ? cgb_gep(m, s0, I(q, g * len)) : NULL;
        r.d = bgep(q, d0, I(q, g * nrows * stride));
        quant_row(&r, len, stride);
    }
    cgb_loop_end(m, &lr);
    cgb_loop_end(m, &lt);
    LLVMBuildRetVoid(b);
}

void nc_cg_gemm_i8_emit_quant(NcCgModule *m0, const NcGemmI8Plan *p, const char *name, int from_scratch,
                              int64_t a_off) {
    quant_stage(m0, p, name, from_scratch, from_scratch ? 0 : p->s.in_scale, a_off, p->M, p->s.cin, p->K4, p->s.hw,
                p->qrows, 1);
}

int64_t nc_cg_gemm_i8_quant_x_rows(int64_t C) { return 16384 / C > 1 ? 16384 / C : 1; }

void nc_cg_gemm_i8_emit_quant_x(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int64_t npix, int64_t C,
                                int64_t G, int64_t hw, int scale_input, int64_t off) {
    quant_stage(m, p, name, 0, scale_input, off, npix, C / G, C / G, hw, nc_cg_gemm_i8_quant_x_rows(C), G);
}

/* ---- the GEMM stage ---------------------------------------------------- */

/* The f32 epilogue of mr x nv vectors of C (i32 at acc[i][v]): rows row0.., columns from panel qp's first, the
 * last vector lanes wide. */
static void epilogue(Q *q, int mr, int nv, int lanes, LLVMValueRef row0, LLVMValueRef qp, LLVMValueRef (*acc)[MAXNV]) {
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    const NcGemmI8Plan *p = q->p;
    const int VL = q->vl;
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
            LLVMValueRef f = LLVMBuildSIToFP(b, LLVMBuildLoad2(b, q->vi32, acc[i][v], ""), m->vec, "");
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
                                       ? add(q, mulc(q, LLVMBuildSDiv(b, row[j], I(q, p->s.hw), ""), p->ldy), col[j])
                                       : add(q, mulc(q, row[j], p->ldy), col[j]);
                LLVMValueRef o = cgb_load_act(m, q->epi[s], off, n[j], p->epi_bf16[s]);
                r[j] = ep->kind == NC_EPI_ADD ? LLVMBuildFAdd(b, r[j], o, "") : LLVMBuildFMul(b, r[j], o, "");
            }
        }
        for (int j = 0; j < gn; j++) /* rounded once, after the whole epilogue, where y is bf16 */
            cgb_store_act(m, r[j], q->y, add(q, mulc(q, row[j], p->ldy), col[j]), n[j], p->y_bf16);
    }
}

/* AMX: mr (up to 32) rows x nv (1 or 2) panels of C in tiles: C tiles 0-3 (row half i, panel j: 2 i + j),
 * A tiles 4-5 (16 rows x 64 bytes of the reduction, K4 apart), B tiles 6-7 (16 groups of 4 steps x 16
 * columns: 1024 contiguous bytes of the panel).  Rows of A past M are read (the scratch has them) and their
 * results not stored. */
static void amx_micro(Q *q, int mr, int nv, int lanes, LLVMValueRef row0, LLVMValueRef qp, LLVMValueRef arow) {
    NcCgModule *m = q->m;
    const int64_t K4 = q->p->K4;
    const int na = mr > 16 ? 2 : 1, nb = nv;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) cg_amx_zero(m, 2 * i + j);
    LLVMValueRef bpan = bgep(q, q->bw, mulc(q, qp, K4 * NC_I8_NR));
    LLVMValueRef kc;
    CgbLoop lk = cgb_loop_begin(m, I(q, 0), I(q, cgb_ceil_div(K4, 64)), 1, &kc);
    for (int i = 0; i < na; i++) cg_amx_load(m, 4 + i, bgep(q, arow, add(q, mulc(q, kc, 64), I(q, 16 * i * K4))), K4);
    for (int j = 0; j < nb; j++)
        cg_amx_load(m, 6 + j, bgep(q, bpan, add(q, mulc(q, kc, 1024), I(q, j * K4 * NC_I8_NR))), 64);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) cg_amx_dp(m, "llvm.x86.tdpbusd", 2 * i + j, 4 + i, 6 + j);
    cgb_loop_end(m, &lk);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) cg_amx_store(m, 2 * i + j, bgep(q, q->cbuf, I(q, (2 * i + j) * 1024)), 64);
    /* the epilogue a row at a time: row r's vector j at tile 2 (r / 16) + j, row r % 16 */
    LLVMValueRef r;
    CgbLoop lr = cgb_loop_begin(m, I(q, 0), I(q, mr), 1, &r);
    LLVMValueRef half = LLVMBuildLShr(m->b, r, I(q, 4), ""), rr = LLVMBuildAnd(m->b, r, I(q, 15), "");
    LLVMValueRef acc[1][MAXNV];
    for (int j = 0; j < nb; j++)
        acc[0][j] = bgep(q, q->cbuf, add(q, mulc(q, add(q, mulc(q, half, 2), I(q, j)), 1024), mulc(q, rr, 64)));
    epilogue(q, 1, nv, lanes, add(q, row0, r), qp, acc);
    cgb_loop_end(m, &lr);
}

/* mr x nv vectors of C: rows row0.., columns from panel qp's first (the last vector lanes wide), A's rows at
 * arow (K4 bytes apart; NULL: the scratch's row row0).  Vector v's columns lie in panel qp + v * vl / NC_I8_NR,
 * at byte (v * vl % NC_I8_NR) * 4 of each group of 4 steps. */
static void micro(Q *q, int mr, int nv, int lanes, LLVMValueRef row0, LLVMValueRef qp, LLVMValueRef arow) {
    if (!arow) arow = bgep(q, q->a, mulc(q, row0, q->p->K4));
    if (q->p->isa == NC_I8_AMX) {
        amx_micro(q, mr, nv, lanes, row0, qp, arow);
        return;
    }
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    const NcGemmI8Plan *p = q->p;
    const int64_t K4 = p->K4;
    const int VL = q->vl;
    LLVMValueRef acc[MAXMR][MAXNV];
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) {
            acc[i][v] = cgb_var(m, q->vi32);
            LLVMBuildStore(b, LLVMConstNull(q->vi32), acc[i][v]);
        }
    LLVMValueRef bpan = bgep(q, q->bw, mulc(q, qp, K4 * NC_I8_NR));
    LLVMValueRef g;
    CgbLoop lg = cgb_loop_begin(m, I(q, 0), I(q, K4 / 4), 1, &g);
    LLVMValueRef bg = bgep(q, bpan, mulc(q, g, 4 * NC_I8_NR)), bv[MAXNV];
    for (int v = 0; v < nv; v++) {
        const int64_t off = (int64_t)(v * VL / NC_I8_NR) * K4 * NC_I8_NR + (v * VL % NC_I8_NR) * 4;
        bv[v] = LLVMBuildLoad2(b, q->vbytes, bgep(q, bg, I(q, off)), "");
        LLVMSetAlignment(bv[v], 1);
    }
    LLVMValueRef ag = bgep(q, arow, mulc(q, g, 4));
    for (int i = 0; i < mr; i++) {
        LLVMValueRef s = LLVMBuildLoad2(b, m->i32, bgep(q, ag, I(q, i * K4)), "");
        LLVMSetAlignment(s, 1);
        LLVMValueRef sv = LLVMBuildInsertElement(b, LLVMGetPoison(q->vi32), s, I(q, 0), "");
        sv = LLVMBuildShuffleVector(b, sv, LLVMGetPoison(q->vi32), LLVMConstNull(q->vi32), "");
        LLVMValueRef av = LLVMBuildBitCast(b, sv, q->vbytes, "");
        for (int v = 0; v < nv; v++) {
            LLVMValueRef cur = LLVMBuildLoad2(b, q->vi32, acc[i][v], "");
            LLVMBuildStore(b, madd(q, cur, av, bv[v]), acc[i][v]);
        }
    }
    cgb_loop_end(m, &lg);
    epilogue(q, mr, nv, lanes, row0, qp, acc);
}

/* The loop over the tile's full row panels (mr rows each; the last tile has fewer), *pi the panel. */
static CgbLoop panels_begin(Q *q, LLVMValueRef *pi) {
    const NcGemmI8Plan *p = q->p;
    const int64_t per = p->mc / p->mr, last_full = (p->M - (p->mblocks - 1) * p->mc) / p->mr;
    LLVMValueRef p0 = mulc(q, q->mb, per);
    LLVMValueRef count = LLVMBuildSelect(q->m->b, q->last_m, I(q, last_full), I(q, per), "");
    return cgb_loop_begin(q->m, p0, add(q, p0, count), 1, pi);
}

/* The row panels of the tile for weight panel qp. */
static void rows(Q *q, LLVMValueRef qp, int nv, int lanes) {
    NcCgModule *m = q->m;
    const NcGemmI8Plan *p = q->p;
    const int mr = p->mr;
    const int64_t mtail = p->M % mr;
    LLVMValueRef pi;
    CgbLoop lp = panels_begin(q, &pi);
    micro(q, mr, nv, lanes, mulc(q, pi, mr), qp, NULL);
    cgb_loop_end(m, &lp);
    if (mtail) {
        CgbIf c = cgb_if_begin(m, q->last_m);
        micro(q, (int)mtail, nv, lanes, I(q, p->M / mr * mr), qp, NULL);
        cgb_if_end(m, &c);
    }
}

/* Fused: every column of the tile against A's rows at arow (row0.., mr of them). */
static void all_columns(Q *q, int mr, LLVMValueRef row0, LLVMValueRef arow, int64_t groups, int64_t rem) {
    NcCgModule *m = q->m;
    const NcGemmI8Plan *p = q->p;
    LLVMValueRef gi;
    CgbLoop lq = cgb_loop_begin(m, I(q, 0), I(q, groups), 1, &gi);
    micro(q, mr, p->nv, q->vl, row0, mulc(q, gi, p->spp), arow);
    cgb_loop_end(m, &lq);
    if (rem > 0) {
        const int nv = (int)cgb_ceil_div(rem, q->vl), lanes = (int)(rem - (nv - 1) * q->vl);
        micro(q, mr, nv, lanes, row0, I(q, groups * p->spp), arow);
    }
}

/* Fused: the tile's row panels, each made on the stack (abuf) by rm, then run against every column. */
static void rows_fused(Q *q, const NcI8RowMaker *rm, LLVMValueRef in, LLVMValueRef out, LLVMValueRef grp,
                       LLVMValueRef abuf, int64_t groups, int64_t rem) {
    NcCgModule *m = q->m;
    const NcGemmI8Plan *p = q->p;
    const int mr = p->mr;
    const int64_t mtail = p->M % mr;
    LLVMValueRef pi;
    CgbLoop lp = panels_begin(q, &pi);
    LLVMValueRef row0 = mulc(q, pi, mr);
    rm->make(m, rm->ctx, in, out, grp, row0, mr, abuf);
    all_columns(q, mr, row0, abuf, groups, rem);
    cgb_loop_end(m, &lp);
    if (mtail) {
        CgbIf c = cgb_if_begin(m, q->last_m);
        LLVMValueRef r0 = I(q, p->M / mr * mr);
        rm->make(m, rm->ctx, in, out, grp, r0, mtail, abuf);
        all_columns(q, (int)mtail, r0, abuf, groups, rem);
        cgb_if_end(m, &c);
    }
}

static void emit_gemm(NcCgModule *m0, const NcGemmI8Plan *p, const char *name, int64_t a_off, const NcI8RowMaker *rm) {
    NC_CHECK(!rm == !p->fused);
    LLVMValueRef fn = nc_cg_begin_tile_fn(m0, name);
    Q qq, *q = &qq;
    q_init(q, m0, p);
    NcCgModule *m = q->m;
    LLVMBuilderRef b = m->b;
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    /* the first group's operands; a tile moves them to its group's */
    LLVMValueRef a0 = bgep(q, cgb_arg_ptr(m, out, 1), I(q, a_off));
    q->blob = cgb_arg_ptr(m, in, 1);
    LLVMValueRef bw0 = bgep(q, q->blob, I(q, p->l.b_off));
    LLVMValueRef colscale0 = bgep(q, q->blob, I(q, p->l.scale_off)), colcorr0 = bgep(q, q->blob, I(q, p->l.corr_off));
    LLVMValueRef bias0 = p->s.bias ? cgb_arg_ptr(m, in, 2) : NULL, y0 = cgb_arg_ptr(m, out, 0), epi0[NC_MAX_EPI];
    for (int s = 0; s < p->s.nepi; s++)
        epi0[s] = p->s.epi[s].kind == NC_EPI_ADD || p->s.epi[s].kind == NC_EPI_MUL
                      ? cgb_arg_ptr(m, in, p->s.epi[s].input)
                      : NULL;
    /* the tile's register blocks of spp whole panels; the last tile's remaining columns (fewer than
     * spp panels, the last maybe partial) in one narrower block */
    if (p->isa == NC_I8_AMX) { /* the process must have asked for tile state (runtime/support/amx.h) */
        q->cbuf = cgb_var(m, LLVMArrayType(q->i8, 4096));
        LLVMSetAlignment(q->cbuf, 64);
        /* C tiles 16 x 64 bytes; A tiles 16 rows x kb bytes, B tiles kb / 4 groups x 64 bytes (kb: 64, or
         * K4 when the reduction is 64 or less) */
        const int kb = p->K4 < 64 ? (int)p->K4 : 64;
        const int rows[8] = {16, 16, 16, 16, 16, 16, kb / 4, kb / 4}, colsb[8] = {64, 64, 64, 64, kb, kb, 64, 64};
        cg_amx_ldtilecfg(m, cg_amx_config(m, rows, colsb));
    }
    LLVMValueRef abuf = NULL; /* fused: a row panel of A */
    if (rm) {
        abuf = cgb_var(m, LLVMArrayType(q->i8, (unsigned)(p->mr * p->K4)));
        LLVMSetAlignment(abuf, 64);
    }
    const int64_t full = p->N / NC_I8_NR, spp = p->spp, VL = q->vl;
    const int64_t full_last = full - (p->nblocks - 1) * p->pc, groups_last = full_last / spp;
    const int64_t rem = p->N - ((p->nblocks - 1) * p->pc + groups_last * spp) * NC_I8_NR;
    LLVMValueRef t;
    CgbLoop lt = cgb_loop_begin(m, LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), 1, &t);
    /* the groups innermost, as in the bf16 GEMM (cg_amx_gemm.c's emit_mm): one thread's consecutive tiles
     * write all the groups of their rows, and threads do not share output lines */
    LLVMValueRef grp = LLVMBuildSRem(b, t, I(q, p->G), "g"), tg = LLVMBuildSDiv(b, t, I(q, p->G), "");
    q->nb = LLVMBuildSRem(b, tg, I(q, p->nblocks), "nb");
    q->mb = LLVMBuildSDiv(b, tg, I(q, p->nblocks), "mb");
    LLVMValueRef gcol = mulc(q, grp, p->N), gpan = mulc(q, grp, p->Pg * NC_I8_NR); /* y's, the blob's columns */
    q->a = bgep(q, a0, mulc(q, grp, p->a_group));
    q->bw = bgep(q, bw0, mulc(q, gpan, p->K4));
    q->colscale = cgb_gep(m, colscale0, gpan), q->colcorr = cgb_gep(m, colcorr0, gpan);
    q->bias = bias0 ? cgb_gep(m, bias0, gcol) : NULL;
    q->y = cgb_gep_act(m, y0, gcol, p->y_bf16);
    for (int s = 0; s < p->s.nepi; s++) q->epi[s] = epi0[s] ? cgb_gep_act(m, epi0[s], gcol, p->epi_bf16[s]) : NULL;
    q->last_m = LLVMBuildICmp(b, LLVMIntEQ, q->mb, I(q, p->mblocks - 1), "");
    q->last_n = LLVMBuildICmp(b, LLVMIntEQ, q->nb, I(q, p->nblocks - 1), "");
    if (rm) { /* one column block: all of a group's columns */
        rows_fused(q, rm, in, out, grp, abuf, groups_last, rem);
    } else {
        LLVMValueRef q0 = mulc(q, q->nb, p->pc);
        LLVMValueRef count = LLVMBuildSelect(b, q->last_n, I(q, groups_last), I(q, p->pc / spp), "");
        LLVMValueRef gi;
        CgbLoop lq = cgb_loop_begin(m, I(q, 0), count, 1, &gi);
        rows(q, add(q, q0, mulc(q, gi, spp)), p->nv, (int)VL);
        cgb_loop_end(m, &lq);
        if (rem > 0) {
            CgbIf c = cgb_if_begin(m, q->last_n);
            const int nv = (int)cgb_ceil_div(rem, VL), lanes = (int)(rem - (nv - 1) * VL);
            rows(q, add(q, q0, I(q, groups_last * spp)), nv, lanes);
            cgb_if_end(m, &c);
        }
    }
    cgb_loop_end(m, &lt);
    if (p->isa == NC_I8_AMX) cg_amx_release(m);
    LLVMBuildRetVoid(b);
}

void nc_cg_gemm_i8_emit_gemm(NcCgModule *m, const NcGemmI8Plan *p, const char *name, int64_t a_off) {
    emit_gemm(m, p, name, a_off, NULL);
}

void nc_cg_gemm_i8_emit_gemm_fused(NcCgModule *m, const NcGemmI8Plan *p, const char *name, const NcI8RowMaker *rm) {
    emit_gemm(m, p, name, 0, rm);
}

/* Fused 1x1 (cg_gemm_i8.h's NcI8RowMaker): rows [row0, row0 + nrows) of A, those under M, quantised from x
 * (times the SE scale) straight into the GEMM stage's stack panel — no u8 rows written to the scratch and read
 * back (resnet50's layer 1 at batch 8: 6.4 MB each way for a conv1). */
static void quant_rows(NcCgModule *m, const void *vctx, LLVMValueRef in, LLVMValueRef out, LLVMValueRef grp,
                       LLVMValueRef row0, int64_t nrows, LLVMValueRef dst) {
    (void)out, (void)grp;
    const NcGemmI8Plan *p = vctx;
    Q qq, *q = &qq;
    q_init(q, m, p);
    NcCgModule *mv = q->m;
    LLVMBuilderRef b = mv->b;
    const int64_t K = p->s.cin;
    LLVMValueRef blob = cgb_arg_ptr(mv, in, 1), x = cgb_arg_ptr(mv, in, 0);
    LLVMValueRef scale = p->s.in_scale ? cgb_arg_ptr(mv, in, p->s.in_scale) : NULL;
    QuantRow r = quant_begin(q, blob, p->x_bf16);
    LLVMValueRef end = add(q, row0, I(q, nrows)), i;
    end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, I(q, p->M), ""), end, I(q, p->M), "");
    CgbLoop lr = cgb_loop_begin(mv, row0, end, 1, &i);
    r.x = cgb_gep_act(mv, x, mulc(q, i, K), p->x_bf16);
    r.s = scale ? cgb_gep(mv, scale, mulc(q, LLVMBuildSDiv(b, i, I(q, p->s.hw), ""), K)) : NULL;
    r.d = bgep(q, dst, mulc(q, LLVMBuildNSWSub(b, i, row0, ""), p->K4));
    quant_row(&r, K, p->K4);
    cgb_loop_end(mv, &lr);
}

void nc_cg_gemm_i8_emit(NcCgModule *m, const NcGemmI8Plan *p, const char *prefix, NcCgKernel *k) {
    char name[96];
    if (p->fused) { /* one stage: each row panel quantised on the stack as the GEMM needs it */
        const NcI8RowMaker rm = {quant_rows, p};
        snprintf(name, sizeof name, "%s_i8mm", prefix);
        nc_cg_gemm_i8_emit_gemm_fused(m, p, name, &rm);
        k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->tiles;
        k->scratch = 0;
        return;
    }
    snprintf(name, sizeof name, "%s_quant", prefix);
    nc_cg_gemm_i8_emit_quant(m, p, name, 0, 0);
    k->stage[0] = LLVMGetNamedFunction(m->mod, name), k->tiles[0] = p->qtiles;
    snprintf(name, sizeof name, "%s_i8mm", prefix);
    nc_cg_gemm_i8_emit_gemm(m, p, name, 0);
    k->stage[1] = LLVMGetNamedFunction(m->mod, name), k->tiles[1] = p->tiles;
    k->scratch = cgb_ceil_div(p->a_bytes, 4);
}
