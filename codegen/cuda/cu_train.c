/* cu_train.c — batch norm on batch statistics (forward, backward), act_grad,
 * sum_to, dropout, zeros, and an eval-mode batch norm's scale and shift made at run time. */
#include <math.h>

#include "codegen/cuda/cu_train.h"

#define BN_BLOCK 256

/* --- batch norm on batch statistics: one block per channel -------------- */

/* The offset of element j (in [0, N S)) of channel c: (n C + c) S + i. */
static LLVMValueRef bn_at(NcCuBuilder *k, const NcCuBnTrain *s, LLVMValueRef j) {
    LLVMValueRef n = nc_cu_divc(k, j, s->s), i = nc_cu_remc(k, j, s->s);
    return nc_cu_add(k, nc_cu_mulc(k, nc_cu_mad(k, n, s->c, k->bid), s->s), i);
}

static LLVMValueRef invstd(NcCuBuilder *k, LLVMValueRef var, float eps) {
    LLVMBuilderRef b = k->m->b;
    return LLVMBuildFDiv(b, nc_cu_f32(k, 1), nc_cu_sqrt(k, nc_cu_fadd(k, var, nc_cu_f32(k, eps))), "");
}

/* Phases: 0 sum partials; 1..L tree (smem[out]); L+1 squared deviations
 * from the mean; L+2..2L+1 tree (smem[out + 1]); 2L+2 y, mean, var. */
static void bn_train_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuBnTrain *s = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t B = BN_BLOCK, out = B, M = s->n * s->s;
    const int L = nc_cu_red_levels(B);
    LLVMValueRef j;
    if (phase == 0 || phase == L + 1) {
        LLVMValueRef mean = phase ? nc_cu_fmul(k, nc_cu_red_result(k, out, 0), nc_cu_f32(k, 1.0 / (double)M)) : NULL;
        LLVMValueRef acc = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, M), B, &j);
        LLVMValueRef v = nc_cu_load(k, k->params[0], bn_at(k, s, j));
        if (mean) v = LLVMBuildFSub(b, v, mean, ""), v = nc_cu_fmul(k, v, v);
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), v));
        nc_cu_loop_end(k, &l);
        LLVMValueRef a = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &a);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, out);
    else if (phase <= 2 * L + 1)
        nc_cu_red_level(k, B, 1, phase - L - 2, 0, out + 1);
    else {
        LLVMValueRef mean = nc_cu_fmul(k, nc_cu_red_result(k, out, 0), nc_cu_f32(k, 1.0 / (double)M));
        LLVMValueRef var = nc_cu_fmul(k, nc_cu_red_result(k, out, 1), nc_cu_f32(k, 1.0 / (double)M));
        LLVMValueRef sc = nc_cu_fmul(k, invstd(k, var, s->eps), nc_cu_load(k, k->params[2], k->bid));
        LLVMValueRef sh = nc_cu_load(k, k->params[3], k->bid);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, M), B, &j);
        LLVMValueRef at = bn_at(k, s, j);
        LLVMValueRef v = LLVMBuildFSub(b, nc_cu_load(k, k->params[0], at), mean, "");
        nc_cu_store(k, nc_cu_fadd(k, nc_cu_fmul(k, v, sc), sh), k->params[1], at);
        nc_cu_loop_end(k, &l);
        CgbIf t0 = nc_cu_if_thread0(k);
        nc_cu_store(k, mean, k->params[4], k->bid);
        nc_cu_store(k, var, k->params[5], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_bn_train_desc(NcCuDesc *d, const char *name, const NcCuBnTrain *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 6,
                    .grid = k->c,
                    .block = BN_BLOCK,
                    .smem_floats = BN_BLOCK + 2,
                    .nphases = 2 * nc_cu_red_levels(BN_BLOCK) + 3,
                    .body = bn_train_body,
                    .ctx = k};
}

/* Phases: 0 partials of sum dy and sum dy xhat; 1..L both trees (smem[out],
 * smem[out + 1]); L+1 dx, dweight, dbias. */
static void bn_train_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuBnTrain *s = ctx;
    LLVMBuilderRef b = k->m->b;
    const int64_t B = BN_BLOCK, out = 2 * B, M = s->n * s->s;
    const int L = nc_cu_red_levels(B);
    LLVMValueRef mu = nc_cu_load(k, k->params[4], k->bid);
    LLVMValueRef inv = phase == 0 || phase > L ? invstd(k, nc_cu_load(k, k->params[5], k->bid), s->eps) : NULL;
    LLVMValueRef j;
    if (phase == 0) {
        LLVMValueRef sdy = nc_cu_var(k, 0), sdyx = nc_cu_var(k, 0);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, M), B, &j);
        LLVMValueRef at = bn_at(k, s, j), dy = nc_cu_load(k, k->params[0], at);
        LLVMValueRef xhat = nc_cu_fmul(k, LLVMBuildFSub(b, nc_cu_load(k, k->params[2], at), mu, ""), inv);
        nc_cu_set(k, sdy, nc_cu_fadd(k, nc_cu_get(k, sdy), dy));
        nc_cu_set(k, sdyx, nc_cu_fadd(k, nc_cu_get(k, sdyx), nc_cu_fmul(k, dy, xhat)));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v[2] = {nc_cu_get(k, sdy), nc_cu_get(k, sdyx)};
        nc_cu_red_put(k, B, 2, v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 2, phase - 1, 0, out);
    else {
        LLVMValueRef sdy = nc_cu_red_result(k, out, 0), sdyx = nc_cu_red_result(k, out, 1);
        /* f = weight invstd / M; dx = f (M dy - sdy - xhat sdyx) */
        LLVMValueRef f =
            nc_cu_fmul(k, nc_cu_fmul(k, nc_cu_load(k, k->params[3], k->bid), inv), nc_cu_f32(k, 1.0 / (double)M));
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, M), B, &j);
        LLVMValueRef at = bn_at(k, s, j), dy = nc_cu_load(k, k->params[0], at);
        LLVMValueRef xhat = nc_cu_fmul(k, LLVMBuildFSub(b, nc_cu_load(k, k->params[2], at), mu, ""), inv);
        LLVMValueRef t = LLVMBuildFSub(b, nc_cu_fmul(k, dy, nc_cu_f32(k, (double)M)), sdy, "");
        t = LLVMBuildFSub(b, t, nc_cu_fmul(k, xhat, sdyx), "");
        nc_cu_store(k, nc_cu_fmul(k, f, t), k->params[1], at);
        nc_cu_loop_end(k, &l);
        CgbIf t0 = nc_cu_if_thread0(k);
        nc_cu_store(k, sdyx, k->params[6], k->bid);
        nc_cu_store(k, sdy, k->params[7], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_bn_train_grad_desc(NcCuDesc *d, const char *name, const NcCuBnTrain *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 8,
                    .grid = k->c,
                    .block = BN_BLOCK,
                    .smem_floats = 2 * BN_BLOCK + 2,
                    .nphases = nc_cu_red_levels(BN_BLOCK) + 2,
                    .body = bn_train_grad_body,
                    .ctx = k};
}

/* --- act_grad ------------------------------------------------------------ */

static void act_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuActGrad *a = ctx;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, a->n, &in);
    LLVMValueRef g = nc_cu_load(k, k->params[0], i), x = nc_cu_load(k, k->params[2], i), r;
    LLVMValueRef zero = nc_cu_f32(k, 0), one = nc_cu_f32(k, 1);
    switch ((NcEpiKind)a->act) {
    case NC_EPI_RELU: r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLE, x, zero, ""), zero, g, ""); break;
    case NC_EPI_CLAMP: {
        LLVMValueRef out = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOLE, x, nc_cu_f32(k, a->lo), ""),
                                       LLVMBuildFCmp(b, LLVMRealOGE, x, nc_cu_f32(k, a->hi), ""), "");
        r = LLVMBuildSelect(b, out, zero, g, "");
        break;
    }
    case NC_EPI_SILU: { /* g s (1 + x (1 - s)) */
        LLVMValueRef s = nc_cu_sigmoid(k, x);
        LLVMValueRef t = nc_cu_fadd(k, one, nc_cu_fmul(k, x, LLVMBuildFSub(b, one, s, "")));
        r = nc_cu_fmul(k, nc_cu_fmul(k, g, s), t);
        break;
    }
    case NC_EPI_SIGMOID: {
        LLVMValueRef s = nc_cu_sigmoid(k, x);
        r = nc_cu_fmul(k, nc_cu_fmul(k, g, s), LLVMBuildFSub(b, one, s, ""));
        break;
    }
    default: NC_FATAL("act_grad: activation %d has no GPU gradient", a->act);
    }
    nc_cu_store(k, r, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_act_grad_desc(NcCuDesc *d, const char *name, const NcCuActGrad *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = nc_cu_ew_grid(k->n),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = act_grad_body,
                    .ctx = k};
}

/* --- sum_to --------------------------------------------------------------- */

/* x's axes split into kept ones (y has x's size there) and reduced ones, with
 * x's strides: an output index walks the kept axes, a reduction index the
 * reduced ones (both outermost first). */
typedef struct {
    int nk, nr;
    int64_t kdim[NC_CU_SUMTO_MAXDIM], kstride[NC_CU_SUMTO_MAXDIM];
    int64_t rdim[NC_CU_SUMTO_MAXDIM], rstride[NC_CU_SUMTO_MAXDIM];
    int64_t nout, nred;
    int inner_kept; /* x's innermost axis is kept (and longer than 1) */
} Axes;

static Axes axes(const NcCuSumTo *s) {
    Axes a = {.nout = 1, .nred = 1};
    const int lead = s->nd - s->ond;
    int64_t st = 1, stride[NC_CU_SUMTO_MAXDIM];
    for (int d = s->nd - 1; d >= 0; d--) stride[d] = st, st *= s->xshape[d];
    for (int d = 0; d < s->nd; d++) {
        if (s->xshape[d] == 1) continue; /* neither walks it */
        const int keep = d >= lead && s->yshape[d - lead] == s->xshape[d];
        if (keep)
            a.kdim[a.nk] = s->xshape[d], a.kstride[a.nk++] = stride[d], a.nout *= s->xshape[d];
        else
            a.rdim[a.nr] = s->xshape[d], a.rstride[a.nr++] = stride[d], a.nred *= s->xshape[d];
        a.inner_kept = keep;
    }
    return a;
}

/* The offset in x of kept index o (or reduced index r). */
static LLVMValueRef walk(NcCuBuilder *k, LLVMValueRef i, int n, const int64_t *dim, const int64_t *stride) {
    LLVMValueRef idx[NC_CU_SUMTO_MAXDIM], off = nc_cu_i64(k, 0);
    if (!n) return off;
    nc_cu_unflatten(k, i, n, dim, idx);
    for (int d = 0; d < n; d++) off = nc_cu_mad(k, idx[d], stride[d], off);
    return off;
}

static void sum_to_body(NcCuBuilder *k, int phase, const void *ctx) {
    const Axes a = axes(ctx);
    LLVMValueRef r;
    if (a.inner_kept) { /* one thread per output, its column */
        CgbIf in;
        LLVMValueRef o = nc_cu_ew_index(k, a.nout, &in), acc = nc_cu_var(k, 0);
        LLVMValueRef base = walk(k, o, a.nk, a.kdim, a.kstride);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, a.nred), 1, &r);
        LLVMValueRef v = nc_cu_load(k, k->params[0], nc_cu_add(k, base, walk(k, r, a.nr, a.rdim, a.rstride)));
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), v));
        nc_cu_loop_end(k, &l);
        nc_cu_store(k, nc_cu_get(k, acc), k->params[1], o);
        nc_cu_if_end(k, &in);
        return;
    }
    const int64_t B = nc_cu_red_block(a.nred);
    const int L = nc_cu_red_levels(B);
    if (phase == 0) {
        LLVMValueRef acc = nc_cu_var(k, 0), base = walk(k, k->bid, a.nk, a.kdim, a.kstride);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, a.nred), B, &r);
        LLVMValueRef v = nc_cu_load(k, k->params[0], nc_cu_add(k, base, walk(k, r, a.nr, a.rdim, a.rstride)));
        nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), v));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v0 = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &v0);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 0, B);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        nc_cu_store(k, nc_cu_red_result(k, B, 0), k->params[1], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_sum_to_desc(NcCuDesc *d, const char *name, const NcCuSumTo *k) {
    NC_CHECK(k->nd >= 1 && k->nd <= NC_CU_SUMTO_MAXDIM && k->ond <= k->nd);
    const Axes a = axes(k);
    *d = (NcCuDesc){.name = name, .nparams = 2, .nphases = 1, .body = sum_to_body, .ctx = k};
    if (a.inner_kept)
        d->grid = nc_cu_ew_grid(a.nout), d->block = NC_CU_EW_BLOCK;
    else {
        const int64_t B = nc_cu_red_block(a.nred);
        d->grid = a.nout, d->block = B, d->smem_floats = B + 1, d->nphases = 2 + nc_cu_red_levels(B);
    }
}

/* --- dropout ---------------------------------------------------------------- */

static LLVMValueRef i64c(NcCuBuilder *k, uint64_t v) { return LLVMConstInt(k->m->i64, v, 0); }

/* z ^ (z >> s) */
static LLVMValueRef xorshr(NcCuBuilder *k, LLVMValueRef z, int s) {
    return LLVMBuildXor(k->m->b, z, LLVMBuildLShr(k->m->b, z, i64c(k, (uint64_t)s), ""), "");
}

static void dropout_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuDropout *dr = ctx;
    NcCgModule *m = k->m;
    LLVMBuilderRef b = m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, dr->n, &in);
    LLVMValueRef x = nc_cu_load(k, k->params[0], i), y = x;
    if (dr->p != 0) {
        /* the seed's words, stored as int32 in a float buffer */
        LLVMValueRef s0 = LLVMBuildBitCast(b, nc_cu_load(k, k->params[2], nc_cu_i64(k, 0)), m->i32, "");
        LLVMValueRef s1 = LLVMBuildBitCast(b, nc_cu_load(k, k->params[2], nc_cu_i64(k, 1)), m->i32, "");
        LLVMValueRef z = LLVMBuildOr(b, LLVMBuildShl(b, LLVMBuildZExt(b, s0, m->i64, ""), i64c(k, 32), ""),
                                     LLVMBuildZExt(b, s1, m->i64, ""), "");
        z = LLVMBuildXor(b, z, i64c(k, (uint64_t)dr->salt * 0xD1B54A32D192ED03ull), "");
        LLVMValueRef draw = dr->per_sample ? nc_cu_divc(k, i, dr->per) : i;
        z = LLVMBuildAdd(b, z, LLVMBuildMul(b, nc_cu_addc(k, draw, 1), i64c(k, 0x9E3779B97F4A7C15ull), ""), "");
        z = LLVMBuildMul(b, xorshr(k, z, 30), i64c(k, 0xBF58476D1CE4E5B9ull), "");
        z = LLVMBuildMul(b, xorshr(k, z, 27), i64c(k, 0x94D049BB133111EBull), "");
        LLVMValueRef bits = LLVMBuildLShr(b, xorshr(k, z, 31), i64c(k, 32), "");
        /* the reference's threshold and mask, computed the same way here */
        const double th = (1.0 - (double)dr->p) * 4294967296.0;
        const uint32_t threshold = th >= 4294967295.0 ? UINT32_MAX : (uint32_t)th;
        const float mask = 1.0f / (float)(1.0 - (double)dr->p);
        LLVMValueRef keep = LLVMBuildICmp(b, LLVMIntULT, bits, i64c(k, threshold), "");
        y = nc_cu_fmul(k, x, LLVMBuildSelect(b, keep, nc_cu_f32(k, mask), nc_cu_f32(k, 0), ""));
    }
    nc_cu_store(k, y, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_dropout_desc(NcCuDesc *d, const char *name, const NcCuDropout *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = nc_cu_ew_grid(k->n),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = dropout_body,
                    .ctx = k};
}

/* --- zeros ---------------------------------------------------------------- */

static void zeros_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuZeros *z = ctx;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, z->n, &in);
    nc_cu_store(k, nc_cu_f32(k, 0), k->params[0], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_zeros_desc(NcCuDesc *d, const char *name, const NcCuZeros *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 1,
                    .grid = nc_cu_ew_grid(k->n),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = zeros_body,
                    .ctx = k};
}

/* --- batch norm in eval mode, folded when the program runs --------------- */

static void bn_fold_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuBnFold *f = ctx;
    NcCgModule *m = k->m;
    LLVMBuilderRef b = m->b;
    LLVMTypeRef dt = LLVMDoubleTypeInContext(m->ctx);
    CgbIf in;
    LLVMValueRef c = nc_cu_ew_index(k, f->c, &in);
    LLVMValueRef var = LLVMBuildFPExt(b, nc_cu_load(k, k->params[4], c), dt, "");
    LLVMValueRef sq = LLVMBuildFAdd(b, var, LLVMConstReal(dt, f->eps), "");
    const unsigned id = LLVMLookupIntrinsicID("llvm.sqrt", 9);
    LLVMTypeRef ov[1] = {dt};
    sq = LLVMBuildCall2(b, LLVMIntrinsicGetType(m->ctx, id, ov, 1), LLVMGetIntrinsicDeclaration(m->mod, id, ov, 1), &sq,
                        1, "");
    LLVMValueRef gamma = LLVMBuildFPExt(b, nc_cu_load(k, k->params[0], c), dt, "");
    LLVMValueRef scale = LLVMBuildFPTrunc(b, LLVMBuildFDiv(b, gamma, sq, ""), m->f32, "");
    LLVMValueRef mean = LLVMBuildFPExt(b, nc_cu_load(k, k->params[3], c), dt, "");
    LLVMValueRef beta = LLVMBuildFPExt(b, nc_cu_load(k, k->params[2], c), dt, "");
    LLVMValueRef shift = LLVMBuildFSub(b, beta, LLVMBuildFMul(b, mean, LLVMBuildFPExt(b, scale, dt, ""), ""), "");
    nc_cu_store(k, scale, k->params[1], c);
    nc_cu_store(k, LLVMBuildFPTrunc(b, shift, m->f32, ""), k->params[1], nc_cu_addc(k, c, f->c));
    nc_cu_if_end(k, &in);
}

void nc_cu_bn_fold_desc(NcCuDesc *d, const char *name, const NcCuBnFold *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 5,
                    .grid = nc_cu_ew_grid(k->c),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = bn_fold_body,
                    .ctx = k};
}
