/* cu_bn_split.c — batch norm on batch statistics, many blocks per channel. */
#include "codegen/cuda/cu_bn_split.h"

#define SPLIT_BLOCK 256

static int64_t chunk_len(const NcCuBnSplit *k) {
    const int64_t M = k->bn.n * k->bn.s, want = k->chunk > 0 ? k->chunk : 4096;
    const int64_t g = (M + want - 1) / want;
    return (M + g - 1) / g;
}

int64_t nc_cu_bn_split_chunks(const NcCuBnSplit *k) {
    const int64_t M = k->bn.n * k->bn.s, L = chunk_len(k);
    return (M + L - 1) / L;
}

int64_t nc_cu_bn_split_scratch(const NcCuBnSplit *k) { return 2 * k->bn.c * nc_cu_bn_split_chunks(k); }

/* Value j (in [0, N S)) of channel c: (n C + c) S + i. */
static LLVMValueRef at(NcCuBuilder *k, const NcCuBnTrain *s, LLVMValueRef c, LLVMValueRef j) {
    return nc_cu_add(k, nc_cu_mulc(k, nc_cu_mad(k, nc_cu_divc(k, j, s->s), s->c, c), s->s), nc_cu_remc(k, j, s->s));
}

static LLVMValueRef invstd(NcCuBuilder *k, LLVMValueRef var, float eps) {
    return LLVMBuildFDiv(k->m->b, nc_cu_f32(k, 1), nc_cu_sqrt(k, nc_cu_fadd(k, var, nc_cu_f32(k, eps))), "");
}

/* Block (c, g): its chunk [j0, j1) of channel c, and the chunk's count as a float. */
typedef struct {
    LLVMValueRef c, j0, j1, cnt;
} Chunk;

static Chunk chunk_of(NcCuBuilder *k, const NcCuBnSplit *p) {
    const int64_t G = nc_cu_bn_split_chunks(p), L = chunk_len(p), M = p->bn.n * p->bn.s;
    LLVMBuilderRef b = k->m->b;
    Chunk r;
    r.c = nc_cu_divc(k, k->bid, G);
    r.j0 = nc_cu_mulc(k, nc_cu_remc(k, k->bid, G), L);
    LLVMValueRef end = nc_cu_addc(k, r.j0, L), mm = nc_cu_i64(k, M);
    r.j1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, mm, ""), end, mm, "");
    r.cnt = LLVMBuildSIToFP(b, LLVMBuildSub(b, r.j1, r.j0, ""), k->m->f32, "");
    return r;
}

/* --- forward ------------------------------------------------------------------ */

/* Phases: 0 sum partials; 1..L tree (smem[B]); L+1 squared deviations from
 * the chunk's mean; L+2..2L+1 tree (smem[B + 1]); 2L+2 thread 0 writes. */
static void partials_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t B = SPLIT_BLOCK;
    const int L = nc_cu_red_levels(B);
    const Chunk ch = chunk_of(k, p);
    LLVMValueRef j;
    if (phase == 0 || phase == L + 1) {
        LLVMValueRef mean = phase ? LLVMBuildFDiv(b, nc_cu_red_result(k, B, 0), ch.cnt, "") : NULL;
        LLVMValueRef acc = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_add(k, ch.j0, k->tid), ch.j1, B, &j);
        LLVMValueRef v = nc_cu_load(k, k->params[0], at(k, &p->bn, ch.c, j));
        if (mean) v = LLVMBuildFSub(b, v, mean, ""), v = nc_cu_fmul(k, v, v);
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), v));
        nc_cu_loop_end(k, &l);
        LLVMValueRef a = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &a);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, B);
    else if (phase <= 2 * L + 1)
        nc_cu_red_level(k, B, 1, phase - L - 2, 0, B + 1);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef o = nc_cu_mulc(k, k->bid, 2);
        nc_cu_store(k, LLVMBuildFDiv(b, nc_cu_red_result(k, B, 0), ch.cnt, ""), k->params[1], o);
        nc_cu_store(k, nc_cu_red_result(k, B, 1), k->params[1], nc_cu_addc(k, o, 1));
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_bn_split_partials_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = k->bn.c * nc_cu_bn_split_chunks(k),
                    .block = SPLIT_BLOCK,
                    .smem_floats = SPLIT_BLOCK + 2,
                    .nphases = 2 * nc_cu_red_levels(SPLIT_BLOCK) + 3,
                    .body = partials_body,
                    .ctx = k};
}

/* Chan's rule: mean = sum n_g mean_g / M; M2 = sum M2_g + n_g (mean_g - mean)^2. */
static void finalize_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t G = nc_cu_bn_split_chunks(p), Lc = chunk_len(p), M = p->bn.n * p->bn.s;
    CgbIf in;
    LLVMValueRef c = nc_cu_ew_index(k, p->bn.c, &in), g;
    LLVMValueRef base = nc_cu_mulc(k, c, 2 * G);
    /* chunk g's count: L, the last one the rest */
    LLVMValueRef s = nc_cu_var(k, 0);
    CgbLoop l1 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, G), 1, &g);
    LLVMValueRef last = nc_cu_eq(k, g, G - 1);
    LLVMValueRef cnt = LLVMBuildSelect(b, last, nc_cu_f32(k, (double)(M - (G - 1) * Lc)), nc_cu_f32(k, (double)Lc), "");
    LLVMValueRef mg = nc_cu_load(k, k->params[0], nc_cu_add(k, base, nc_cu_mulc(k, g, 2)));
    nc_cu_set(k, s, nc_cu_fadd(k, nc_cu_get(k, s), nc_cu_fmul(k, cnt, mg)));
    nc_cu_loop_end(k, &l1);
    LLVMValueRef mean = nc_cu_fmul(k, nc_cu_get(k, s), nc_cu_f32(k, 1.0 / (double)M));
    LLVMValueRef m2 = nc_cu_var(k, 0);
    CgbLoop l2 = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, G), 1, &g);
    last = nc_cu_eq(k, g, G - 1);
    cnt = LLVMBuildSelect(b, last, nc_cu_f32(k, (double)(M - (G - 1) * Lc)), nc_cu_f32(k, (double)Lc), "");
    LLVMValueRef o = nc_cu_add(k, base, nc_cu_mulc(k, g, 2));
    LLVMValueRef dm = LLVMBuildFSub(b, nc_cu_load(k, k->params[0], o), mean, "");
    LLVMValueRef t =
        nc_cu_fadd(k, nc_cu_load(k, k->params[0], nc_cu_addc(k, o, 1)), nc_cu_fmul(k, cnt, nc_cu_fmul(k, dm, dm)));
    nc_cu_set(k, m2, nc_cu_fadd(k, nc_cu_get(k, m2), t));
    nc_cu_loop_end(k, &l2);
    LLVMValueRef var = nc_cu_fmul(k, nc_cu_get(k, m2), nc_cu_f32(k, 1.0 / (double)M));
    nc_cu_store(k, mean, k->params[1], c);
    nc_cu_store(k, var, k->params[3], c);
    nc_cu_store(k, nc_cu_fmul(k, invstd(k, var, p->bn.eps), nc_cu_load(k, k->params[2], c)), k->params[4], c);
    nc_cu_if_end(k, &in);
}

void nc_cu_bn_split_finalize_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = nc_cu_ew_grid(k->bn.c),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = finalize_body,
                    .ctx = k};
}

static void apply_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, p->bn.n * p->bn.c * p->bn.s, &in);
    LLVMValueRef c = nc_cu_remc(k, nc_cu_divc(k, i, p->bn.s), p->bn.c);
    LLVMValueRef v = LLVMBuildFSub(b, nc_cu_load(k, k->params[0], i), nc_cu_load(k, k->params[2], c), "");
    v = nc_cu_fadd(k, nc_cu_fmul(k, v, nc_cu_load(k, k->params[3], c)), nc_cu_load(k, k->params[4], c));
    nc_cu_store(k, v, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_bn_split_apply_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = nc_cu_ew_grid(k->bn.n * k->bn.c * k->bn.s),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = apply_body,
                    .ctx = k};
}

/* --- backward ----------------------------------------------------------------- */

static void grad_partials_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t B = SPLIT_BLOCK;
    const int L = nc_cu_red_levels(B);
    const Chunk ch = chunk_of(k, p);
    if (phase == 0) {
        LLVMValueRef mu = nc_cu_load(k, k->params[3], ch.c);
        LLVMValueRef inv = invstd(k, nc_cu_load(k, k->params[4], ch.c), p->bn.eps);
        LLVMValueRef sdy = nc_cu_var(k, 0), sdyx = nc_cu_var(k, 0), j;
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_add(k, ch.j0, k->tid), ch.j1, B, &j);
        LLVMValueRef a = at(k, &p->bn, ch.c, j), dy = nc_cu_load(k, k->params[0], a);
        LLVMValueRef xhat = nc_cu_fmul(k, LLVMBuildFSub(b, nc_cu_load(k, k->params[2], a), mu, ""), inv);
        nc_cu_set(k, sdy, nc_cu_fadd(k, nc_cu_get(k, sdy), dy));
        nc_cu_set(k, sdyx, nc_cu_fadd(k, nc_cu_get(k, sdyx), nc_cu_fmul(k, dy, xhat)));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v[2] = {nc_cu_get(k, sdy), nc_cu_get(k, sdyx)};
        nc_cu_red_put(k, B, 2, v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 2, phase - 1, 0, 2 * B);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        LLVMValueRef o = nc_cu_mulc(k, k->bid, 2);
        nc_cu_store(k, nc_cu_red_result(k, 2 * B, 0), k->params[1], o);
        nc_cu_store(k, nc_cu_red_result(k, 2 * B, 1), k->params[1], nc_cu_addc(k, o, 1));
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_bn_split_grad_partials_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = k->bn.c * nc_cu_bn_split_chunks(k),
                    .block = SPLIT_BLOCK,
                    .smem_floats = 2 * SPLIT_BLOCK + 2,
                    .nphases = nc_cu_red_levels(SPLIT_BLOCK) + 2,
                    .body = grad_partials_body,
                    .ctx = k};
}

/* dweight = sum dy xhat, dbias = sum dy; f = weight invstd / M; the apply's
 * a = f M, b = -f sum dy, c = -f invstd sum dy xhat. */
static void grad_finalize_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t G = nc_cu_bn_split_chunks(p), M = p->bn.n * p->bn.s, C = p->bn.c;
    CgbIf in;
    LLVMValueRef c = nc_cu_ew_index(k, C, &in), g;
    LLVMValueRef base = nc_cu_mulc(k, c, 2 * G), sdy = nc_cu_var(k, 0), sdyx = nc_cu_var(k, 0);
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, G), 1, &g);
    LLVMValueRef o = nc_cu_add(k, base, nc_cu_mulc(k, g, 2));
    nc_cu_set(k, sdy, nc_cu_fadd(k, nc_cu_get(k, sdy), nc_cu_load(k, k->params[0], o)));
    nc_cu_set(k, sdyx, nc_cu_fadd(k, nc_cu_get(k, sdyx), nc_cu_load(k, k->params[0], nc_cu_addc(k, o, 1))));
    nc_cu_loop_end(k, &l);
    LLVMValueRef s1 = nc_cu_get(k, sdy), s2 = nc_cu_get(k, sdyx);
    nc_cu_store(k, s2, k->params[1], c);
    nc_cu_store(k, s1, k->params[2], c);
    LLVMValueRef inv = invstd(k, nc_cu_load(k, k->params[4], c), p->bn.eps);
    LLVMValueRef f = nc_cu_fmul(k, nc_cu_fmul(k, nc_cu_load(k, k->params[3], c), inv), nc_cu_f32(k, 1.0 / (double)M));
    nc_cu_store(k, nc_cu_fmul(k, f, nc_cu_f32(k, (double)M)), k->params[5], c);
    nc_cu_store(k, LLVMBuildFNeg(b, nc_cu_fmul(k, f, s1), ""), k->params[5], nc_cu_addc(k, c, C));
    nc_cu_store(k, LLVMBuildFNeg(b, nc_cu_fmul(k, nc_cu_fmul(k, f, inv), s2), ""), k->params[5],
                nc_cu_addc(k, c, 2 * C));
    nc_cu_if_end(k, &in);
}

void nc_cu_bn_split_grad_finalize_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 6,
                    .grid = nc_cu_ew_grid(k->bn.c),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = grad_finalize_body,
                    .ctx = k};
}

static void grad_apply_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBnSplit *p = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t C = p->bn.c;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, p->bn.n * C * p->bn.s, &in);
    LLVMValueRef c = nc_cu_remc(k, nc_cu_divc(k, i, p->bn.s), C);
    LLVMValueRef xm = LLVMBuildFSub(b, nc_cu_load(k, k->params[2], i), nc_cu_load(k, k->params[3], c), "");
    LLVMValueRef v = nc_cu_fmul(k, nc_cu_load(k, k->params[4], c), nc_cu_load(k, k->params[0], i));
    v = nc_cu_fadd(k, v, nc_cu_load(k, k->params[4], nc_cu_addc(k, c, C)));
    v = nc_cu_fadd(k, v, nc_cu_fmul(k, nc_cu_load(k, k->params[4], nc_cu_addc(k, c, 2 * C)), xm));
    nc_cu_store(k, v, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_bn_split_grad_apply_desc(NcCuDesc *d, const char *name, const NcCuBnSplit *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = nc_cu_ew_grid(k->bn.n * k->bn.c * k->bn.s),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = grad_apply_body,
                    .ctx = k};
}
