/* cu_pool.c — windowed max / average pools and their gradients. */
#include <math.h>

#include "codegen/cuda/cu_pool.h"

/* Window (oh, ow) as ref_pool.c computes it: first row and column h0, w0
 * (may be negative: padding), the divisor of the average. */
typedef struct {
    LLVMValueRef h0, w0, div;
} Win;

static LLVMValueRef smin(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(k->m->b, LLVMBuildICmp(k->m->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static LLVMValueRef smax(NcCuBuilder *k, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(k->m->b, LLVMBuildICmp(k->m->b, LLVMIntSGT, a, b, ""), a, b, "");
}

static Win window(NcCuBuilder *k, const NcCuPool *p, LLVMValueRef oh, LLVMValueRef ow) {
    const NcCuWin *g = &p->g;
    LLVMBuilderRef b = k->m->b;
    Win r;
    r.h0 = nc_cu_addc(k, nc_cu_mulc(k, oh, g->sh), -g->pt);
    r.w0 = nc_cu_addc(k, nc_cu_mulc(k, ow, g->sw), -g->pl);
    if (p->is_max) return r;
    /* the window's end, clipped to the padded image (the ceil_mode overhang is not counted) */
    LLVMValueRef h1 = smin(k, nc_cu_addc(k, r.h0, g->kh), nc_cu_i64(k, g->h + g->pb));
    LLVMValueRef w1 = smin(k, nc_cu_addc(k, r.w0, g->kw), nc_cu_i64(k, g->w + g->pr));
    LLVMValueRef cnt;
    if (p->count_include_pad)
        cnt = LLVMBuildMul(b, LLVMBuildSub(b, h1, r.h0, ""), LLVMBuildSub(b, w1, r.w0, ""), "");
    else {
        LLVMValueRef zero = nc_cu_i64(k, 0);
        LLVMValueRef hh = LLVMBuildSub(b, smin(k, h1, nc_cu_i64(k, g->h)), smax(k, r.h0, zero), "");
        LLVMValueRef ww = LLVMBuildSub(b, smin(k, w1, nc_cu_i64(k, g->w)), smax(k, r.w0, zero), "");
        cnt = LLVMBuildMul(b, hh, ww, "");
    }
    r.div = LLVMBuildSIToFP(b, cnt, k->m->f32, "");
    return r;
}

/* max: v replaces m when v > m or v is NaN (ref_pool.c's comparison; a NaN
 * m stays). */
static LLVMValueRef takes(NcCuBuilder *k, LLVMValueRef v, LLVMValueRef m) {
    LLVMBuilderRef b = k->m->b;
    return LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, v, m, ""), LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), "");
}

static void pool_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuPool *p = ctx;
    const NcCuWin *g = &p->g;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * g->c * g->oh * g->ow, &in), x[3];
    const int64_t dims[3] = {g->n * g->c, g->oh, g->ow};
    nc_cu_unflatten(k, i, 3, dims, x);
    const Win r = window(k, p, x[1], x[2]);
    LLVMValueRef plane = nc_cu_mulc(k, x[0], g->h * g->w);
    LLVMValueRef acc = nc_cu_var(k, p->is_max ? -INFINITY : 0.0);
    for (int a = 0; a < g->kh; a++) {
        LLVMValueRef ih = nc_cu_addc(k, r.h0, a), okh = nc_cu_in(k, ih, 0, g->h);
        for (int c = 0; c < g->kw; c++) {
            LLVMValueRef iw = nc_cu_addc(k, r.w0, c), ok = nc_cu_and(k, okh, nc_cu_in(k, iw, 0, g->w));
            LLVMValueRef src = LLVMBuildSelect(b, ok, nc_cu_add(k, plane, nc_cu_mad(k, ih, g->w, iw)), plane, "");
            LLVMValueRef v = nc_cu_load(k, k->params[0], src), m = nc_cu_get(k, acc);
            if (p->is_max)
                m = LLVMBuildSelect(b, nc_cu_and(k, ok, takes(k, v, m)), v, m, "");
            else
                m = nc_cu_fadd(k, m, LLVMBuildSelect(b, ok, v, nc_cu_f32(k, 0), ""));
            nc_cu_set(k, acc, m);
        }
    }
    LLVMValueRef y = nc_cu_get(k, acc);
    if (!p->is_max) y = LLVMBuildFDiv(b, y, r.div, "");
    nc_cu_store(k, y, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_pool_desc(NcCuDesc *d, const char *name, const NcCuPool *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(k->g.n * k->g.c * k->g.oh * k->g.ow),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = pool_body,
                    .ctx = k};
}

/* Is input element `me` (its index in the plane) window (oh, ow)'s argmax?
 * The forward's scan replayed: first in row-major order among equal maxima,
 * the last NaN, the window's first element when every value is -inf. */
static LLVMValueRef is_argmax(NcCuBuilder *k, const NcCuPool *p, LLVMValueRef plane, LLVMValueRef oh, LLVMValueRef ow,
                              LLVMValueRef me) {
    const NcCuWin *g = &p->g;
    LLVMBuilderRef b = k->m->b;
    const Win r = window(k, p, oh, ow);
    LLVMValueRef zero = nc_cu_i64(k, 0);
    LLVMValueRef m = nc_cu_f32(k, -INFINITY), best = nc_cu_mad(k, smax(k, r.h0, zero), g->w, smax(k, r.w0, zero));
    for (int a = 0; a < g->kh; a++) {
        LLVMValueRef ih = nc_cu_addc(k, r.h0, a), okh = nc_cu_in(k, ih, 0, g->h);
        for (int c = 0; c < g->kw; c++) {
            LLVMValueRef iw = nc_cu_addc(k, r.w0, c), ok = nc_cu_and(k, okh, nc_cu_in(k, iw, 0, g->w));
            LLVMValueRef at = nc_cu_mad(k, ih, g->w, iw);
            LLVMValueRef v = nc_cu_load(k, k->params[2], nc_cu_add(k, plane, LLVMBuildSelect(b, ok, at, zero, "")));
            LLVMValueRef t = nc_cu_and(k, ok, takes(k, v, m));
            m = LLVMBuildSelect(b, t, v, m, "");
            best = LLVMBuildSelect(b, t, at, best, "");
        }
    }
    return LLVMBuildICmp(b, LLVMIntEQ, best, me, "");
}

/* The windows (along one axis) that contain input position x: outputs
 * [lo, hi] with o s - pad <= x < o s - pad + k, clipped to [0, olen). */
static void windows_over(NcCuBuilder *k, LLVMValueRef x, int ksz, int s, int pad, int64_t olen, LLVMValueRef *lo,
                         LLVMValueRef *hi_excl) {
    /* lo = ceil((x + pad - k + 1) / s), at least 0 */
    LLVMValueRef a = smax(k, nc_cu_addc(k, x, pad - ksz + 1), nc_cu_i64(k, 0));
    *lo = nc_cu_divc(k, nc_cu_addc(k, a, s - 1), s);
    /* hi = floor((x + pad) / s), below olen */
    *hi_excl = smin(k, nc_cu_addc(k, nc_cu_divc(k, nc_cu_addc(k, x, pad), s), 1), nc_cu_i64(k, olen));
}

/* The windows are loops (about ceil(k / s) of them per axis), the argmax's
 * scan of one window unrolled: code that grows with kh kw, not its square. */
static void pool_grad_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuPool *p = ctx;
    const NcCuWin *g = &p->g;
    LLVMBuilderRef b = k->m->b;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * g->c * g->h * g->w, &in), x[3];
    const int64_t dims[3] = {g->n * g->c, g->h, g->w};
    nc_cu_unflatten(k, i, 3, dims, x);
    LLVMValueRef h = x[1], w = x[2], me = nc_cu_mad(k, h, g->w, w);
    LLVMValueRef plane = nc_cu_mulc(k, x[0], g->h * g->w), dyp = nc_cu_mulc(k, x[0], g->oh * g->ow);
    LLVMValueRef acc = nc_cu_var(k, 0), oh0, oh1, ow0, ow1, oh, ow;
    windows_over(k, h, g->kh, g->sh, g->pt, g->oh, &oh0, &oh1);
    windows_over(k, w, g->kw, g->sw, g->pl, g->ow, &ow0, &ow1);
    CgbLoop lh = nc_cu_loop_begin(k, oh0, oh1, 1, &oh);
    CgbLoop lw = nc_cu_loop_begin(k, ow0, ow1, 1, &ow);
    LLVMValueRef dy = nc_cu_load(k, k->params[0], nc_cu_add(k, dyp, nc_cu_mad(k, oh, g->ow, ow)));
    if (p->is_max)
        dy = LLVMBuildSelect(b, is_argmax(k, p, plane, oh, ow, me), dy, nc_cu_f32(k, 0), "");
    else
        dy = LLVMBuildFDiv(b, dy, window(k, p, oh, ow).div, "");
    nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), dy));
    nc_cu_loop_end(k, &lw);
    nc_cu_loop_end(k, &lh);
    nc_cu_store(k, nc_cu_get(k, acc), k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_pool_grad_desc(NcCuDesc *d, const char *name, const NcCuPool *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = k->is_max ? 3 : 2,
                    .grid = nc_cu_ew_grid(k->g.n * k->g.c * k->g.h * k->g.w),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = pool_grad_body,
                    .ctx = k};
}

/* --- global max pool: a block per row ---------------------------------------- */

static void row_max_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuRowMax *r = ctx;
    const int64_t B = nc_cu_red_block(r->len);
    const int L = nc_cu_red_levels(B);
    if (phase == 0) { /* maxnum: a NaN loses to any number, as `v > acc` in the reference */
        LLVMValueRef acc = nc_cu_var(k, -INFINITY), row = nc_cu_mulc(k, k->bid, r->len), j;
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, r->len), B, &j);
        nc_cu_set(k, acc, nc_cu_max(k, nc_cu_get(k, acc), nc_cu_load(k, k->params[0], nc_cu_add(k, row, j))));
        nc_cu_loop_end(k, &l);
        LLVMValueRef v = nc_cu_get(k, acc);
        nc_cu_red_put(k, B, 1, &v);
    } else if (phase <= L)
        nc_cu_red_level(k, B, 1, phase - 1, 1, B);
    else {
        CgbIf t0 = nc_cu_if_thread0(k);
        nc_cu_store(k, nc_cu_red_result(k, B, 0), k->params[1], k->bid);
        nc_cu_if_end(k, &t0);
    }
}

void nc_cu_global_max_pool_desc(NcCuDesc *d, const char *name, const NcCuRowMax *k) {
    const int64_t B = nc_cu_red_block(k->len);
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = k->rows,
                    .block = B,
                    .smem_floats = B + 1,
                    .nphases = 2 + nc_cu_red_levels(B),
                    .body = row_max_body,
                    .ctx = k};
}
