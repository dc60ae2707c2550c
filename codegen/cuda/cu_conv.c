/* cu_conv.c — im2col, col2im, the direct (grouped, depthwise) convolution and
 * its gradients, one description each for PTX and the CPU emulator. */
#include "codegen/cuda/cu_conv.h"

/* A load of p[i] when ok, else 0, reading p[0] instead of out of bounds (a
 * select, not a branch: every thread of a warp takes the same path). */
static LLVMValueRef load_or_zero(NcCuBuilder *k, LLVMValueRef p, LLVMValueRef i, LLVMValueRef ok) {
    LLVMBuilderRef b = k->m->b;
    LLVMValueRef v = nc_cu_load(k, p, LLVMBuildSelect(b, ok, i, nc_cu_i64(k, 0), ""));
    return LLVMBuildSelect(b, ok, v, nc_cu_f32(k, 0), "");
}

/* The input row (or column) that output position o reads at tap t, and
 * whether it is inside [0, len). */
static LLVMValueRef tap_pos(NcCuBuilder *k, LLVMValueRef o, int s, int t, int dil, int pad) {
    return nc_cu_addc(k, nc_cu_mulc(k, o, s), (int64_t)t * dil - pad);
}

/* The output position that reads input position x at tap t, and whether one
 * does: (x + pad - t dil) divisible by s and the quotient in [0, olen). */
static LLVMValueRef tap_out(NcCuBuilder *k, LLVMValueRef x, int s, int t, int dil, int pad, int64_t olen,
                            LLVMValueRef *ok) {
    LLVMValueRef num = nc_cu_addc(k, x, pad - (int64_t)t * dil);
    LLVMValueRef o = nc_cu_divc(k, num, s);
    /* a negative num with a zero remainder has a negative quotient, which the range check refuses */
    *ok = nc_cu_and(k, nc_cu_eq(k, nc_cu_remc(k, num, s), 0), nc_cu_in(k, o, 0, olen));
    return o;
}

static int64_t col_channels(const NcCuIm2col *c) { return c->cn ? c->cn : c->g.c; }

/* --- im2col / col2im ------------------------------------------------------ */

static void im2col_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuIm2col *c = ctx;
    const NcCuWin *g = &c->g;
    const int64_t T = (int64_t)g->kh * g->kw, K = col_channels(c) * T, P = g->oh * g->ow;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * K * P, &in), x[3], n, kk, p;
    if (c->layout == NC_CU_COL_NKP) {
        const int64_t dims[3] = {g->n, K, P};
        nc_cu_unflatten(k, i, 3, dims, x);
        n = x[0], kk = x[1], p = x[2];
    } else if (c->layout == NC_CU_COL_NPK) {
        const int64_t dims[3] = {g->n, P, K};
        nc_cu_unflatten(k, i, 3, dims, x);
        n = x[0], p = x[1], kk = x[2];
    } else {
        const int64_t dims[3] = {K, g->n, P};
        nc_cu_unflatten(k, i, 3, dims, x);
        kk = x[0], n = x[1], p = x[2];
    }
    LLVMValueRef cc = nc_cu_divc(k, kk, T), t = nc_cu_remc(k, kk, T);
    LLVMValueRef ih = nc_cu_addc(
        k, nc_cu_add(k, nc_cu_mulc(k, nc_cu_divc(k, p, g->ow), g->sh), nc_cu_mulc(k, nc_cu_divc(k, t, g->kw), g->dh)),
        -g->pt);
    LLVMValueRef iw = nc_cu_addc(
        k, nc_cu_add(k, nc_cu_mulc(k, nc_cu_remc(k, p, g->ow), g->sw), nc_cu_mulc(k, nc_cu_remc(k, t, g->kw), g->dw)),
        -g->pl);
    LLVMValueRef ok = nc_cu_and(k, nc_cu_in(k, ih, 0, g->h), nc_cu_in(k, iw, 0, g->w));
    LLVMValueRef plane = nc_cu_add(k, nc_cu_mulc(k, n, g->c), nc_cu_addc(k, cc, c->c0));
    LLVMValueRef src = nc_cu_add(k, nc_cu_mulc(k, nc_cu_mad(k, plane, g->h, ih), g->w), iw);
    nc_cu_store(k, load_or_zero(k, k->params[0], src, ok), k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_im2col_desc(NcCuDesc *d, const char *name, const NcCuIm2col *k) {
    const int64_t total = k->g.n * col_channels(k) * k->g.kh * k->g.kw * k->g.oh * k->g.ow;
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(total),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = im2col_body,
                    .ctx = k};
}

static void col2im_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuIm2col *c = ctx;
    const NcCuWin *g = &c->g;
    const int64_t cn = col_channels(c), T = (int64_t)g->kh * g->kw, K = cn * T, P = g->oh * g->ow;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * cn * g->h * g->w, &in), x[4];
    const int64_t dims[4] = {g->n, cn, g->h, g->w};
    nc_cu_unflatten(k, i, 4, dims, x);
    LLVMValueRef n = x[0], cc = x[1], h = x[2], w = x[3];
    /* element (n, kk, p) of the columns is at n sn + kk sk + p sp */
    const NcCuColLayout lay = c->layout;
    const int64_t sn = lay == NC_CU_COL_KNP ? P : K * P,
                  sk = lay == NC_CU_COL_NKP   ? P
                       : lay == NC_CU_COL_NPK ? 1
                                              : g->n * P,
                  sp = lay == NC_CU_COL_NPK ? K : 1;
    LLVMValueRef base = nc_cu_add(k, nc_cu_mulc(k, n, sn), nc_cu_mulc(k, nc_cu_mulc(k, cc, T), sk));
    LLVMValueRef acc = nc_cu_var(k, 0);
    for (int a = 0; a < g->kh; a++) {
        LLVMValueRef okh, oh = tap_out(k, h, g->sh, a, g->dh, g->pt, g->oh, &okh);
        for (int bb = 0; bb < g->kw; bb++) {
            LLVMValueRef okw, ow = tap_out(k, w, g->sw, bb, g->dw, g->pl, g->ow, &okw);
            LLVMValueRef p = nc_cu_mad(k, oh, g->ow, ow);
            LLVMValueRef off = nc_cu_add(k, nc_cu_addc(k, base, ((int64_t)a * g->kw + bb) * sk), nc_cu_mulc(k, p, sp));
            LLVMValueRef v = load_or_zero(k, k->params[0], off, nc_cu_and(k, okh, okw));
            nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), v));
        }
    }
    LLVMValueRef dst = nc_cu_mad(k, nc_cu_add(k, nc_cu_mulc(k, n, g->c), nc_cu_addc(k, cc, c->c0)), g->h * g->w,
                                 nc_cu_mad(k, h, g->w, w));
    nc_cu_store(k, nc_cu_get(k, acc), k->params[1], dst);
    nc_cu_if_end(k, &in);
}

void nc_cu_col2im_desc(NcCuDesc *d, const char *name, const NcCuIm2col *k) {
    const int64_t total = k->g.n * col_channels(k) * k->g.h * k->g.w;
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(total),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = col2im_body,
                    .ctx = k};
}

/* --- direct convolution ------------------------------------------------- */

static void conv_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuConv *c = ctx;
    const NcCuWin *g = &c->g;
    const int64_t CG = g->c / c->groups, OG = c->o / c->groups, T = (int64_t)g->kh * g->kw;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * c->o * g->oh * g->ow, &in), x[4];
    const int64_t dims[4] = {g->n, c->o, g->oh, g->ow};
    nc_cu_unflatten(k, i, 4, dims, x);
    LLVMValueRef n = x[0], o = x[1], oh = x[2], ow = x[3];
    LLVMValueRef ih[64], iw[64], okh[64], okw[64];
    NC_CHECK(g->kh <= 64 && g->kw <= 64);
    for (int a = 0; a < g->kh; a++)
        ih[a] = tap_pos(k, oh, g->sh, a, g->dh, g->pt), okh[a] = nc_cu_in(k, ih[a], 0, g->h);
    for (int b = 0; b < g->kw; b++)
        iw[b] = tap_pos(k, ow, g->sw, b, g->dw, g->pl), okw[b] = nc_cu_in(k, iw[b], 0, g->w);
    /* the group's first input plane, and the filter of o */
    LLVMValueRef plane0 = nc_cu_add(k, nc_cu_mulc(k, n, g->c), nc_cu_mulc(k, nc_cu_divc(k, o, OG), CG));
    LLVMValueRef acc = nc_cu_var(k, 0), cc;
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, CG), 1, &cc);
    LLVMValueRef xp = nc_cu_mulc(k, nc_cu_add(k, plane0, cc), g->h * g->w);
    LLVMValueRef wp = nc_cu_mulc(k, nc_cu_mad(k, o, CG, cc), T);
    for (int a = 0; a < g->kh; a++)
        for (int b = 0; b < g->kw; b++) {
            LLVMValueRef src = nc_cu_add(k, xp, nc_cu_mad(k, ih[a], g->w, iw[b]));
            LLVMValueRef v = load_or_zero(k, k->params[0], src, nc_cu_and(k, okh[a], okw[b]));
            LLVMValueRef wv = nc_cu_load(k, k->params[2], nc_cu_addc(k, wp, (int64_t)a * g->kw + b));
            nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), nc_cu_fmul(k, v, wv)));
        }
    nc_cu_loop_end(k, &l);
    LLVMValueRef v = nc_cu_get(k, acc), nch = nc_cu_divc(k, i, g->oh * g->ow);
    for (int s = 0; s < c->nsteps; s++) v = nc_cu_ew_step(k, &c->step[s], v, i, o, nch);
    nc_cu_store(k, v, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_conv_desc(NcCuDesc *d, const char *name, const NcCuConv *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = k->nparams < 3 ? 3 : k->nparams,
                    .grid = nc_cu_ew_grid(k->g.n * k->o * k->g.oh * k->g.ow),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = conv_body,
                    .ctx = k};
}

/* --- depthwise, tiled in shared memory -------------------------------------- */

/* An output tile of th x tw (tw up to 32 columns, up to 256 threads), and the
 * input patch it reads: ih x iw floats of shared memory. */
typedef struct {
    int64_t th, tw, ih, iw, tiles_h, tiles_w;
} Tile;

static Tile dw_tile(const NcCuConv *c) {
    const NcCuWin *g = &c->g;
    Tile t;
    t.tw = g->ow < 32 ? g->ow : 32;
    t.th = 256 / t.tw < g->oh ? 256 / t.tw : g->oh;
    t.iw = (t.tw - 1) * g->sw + (int64_t)(g->kw - 1) * g->dw + 1;
    for (;;) { /* fewer rows while the patch would not fit the description's shared memory */
        t.ih = (t.th - 1) * g->sh + (int64_t)(g->kh - 1) * g->dh + 1;
        if (t.ih * t.iw <= 12288 || t.th == 1) break;
        t.th = (t.th + 1) / 2;
    }
    t.tiles_h = (g->oh + t.th - 1) / t.th, t.tiles_w = (g->ow + t.tw - 1) / t.tw;
    return t;
}

/* Block (n, o, tile row, tile column).  Phase 0: the patch into shared
 * memory (zeros outside the image); phase 1: one output per thread. */
static void dw_tiled_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuConv *c = ctx;
    const NcCuWin *g = &c->g;
    const Tile t = dw_tile(c);
    const int64_t OG = c->o / c->groups;
    LLVMValueRef x[4];
    const int64_t dims[4] = {g->n, c->o, t.tiles_h, t.tiles_w};
    nc_cu_unflatten(k, k->bid, 4, dims, x);
    LLVMValueRef n = x[0], o = x[1], oh0 = nc_cu_mulc(k, x[2], t.th), ow0 = nc_cu_mulc(k, x[3], t.tw);
    if (phase == 0) {
        LLVMValueRef plane = nc_cu_mulc(k, nc_cu_mad(k, n, g->c, nc_cu_divc(k, o, OG)), g->h * g->w), e;
        LLVMValueRef h0 = nc_cu_addc(k, nc_cu_mulc(k, oh0, g->sh), -g->pt);
        LLVMValueRef w0 = nc_cu_addc(k, nc_cu_mulc(k, ow0, g->sw), -g->pl);
        CgbLoop l = nc_cu_loop_begin(k, k->tid, nc_cu_i64(k, t.ih * t.iw), t.th * t.tw, &e);
        LLVMValueRef ih = nc_cu_add(k, h0, nc_cu_divc(k, e, t.iw)), iw = nc_cu_add(k, w0, nc_cu_remc(k, e, t.iw));
        LLVMValueRef ok = nc_cu_and(k, nc_cu_in(k, ih, 0, g->h), nc_cu_in(k, iw, 0, g->w));
        nc_cu_store(k, load_or_zero(k, k->params[0], nc_cu_add(k, plane, nc_cu_mad(k, ih, g->w, iw)), ok), k->smem, e);
        nc_cu_loop_end(k, &l);
        return;
    }
    LLVMValueRef ty = nc_cu_divc(k, k->tid, t.tw), tx = nc_cu_remc(k, k->tid, t.tw);
    LLVMValueRef oh = nc_cu_add(k, oh0, ty), ow = nc_cu_add(k, ow0, tx);
    CgbIf in = nc_cu_if_begin(k, nc_cu_and(k, nc_cu_in(k, oh, 0, g->oh), nc_cu_in(k, ow, 0, g->ow)));
    LLVMValueRef at0 = nc_cu_add(k, nc_cu_mulc(k, ty, g->sh * t.iw), nc_cu_mulc(k, tx, g->sw));
    LLVMValueRef wp = nc_cu_mulc(k, o, (int64_t)g->kh * g->kw), acc = nc_cu_f32(k, 0);
    for (int a = 0; a < g->kh; a++)
        for (int b = 0; b < g->kw; b++) {
            LLVMValueRef v = nc_cu_load(k, k->smem, nc_cu_addc(k, at0, (int64_t)a * g->dh * t.iw + (int64_t)b * g->dw));
            LLVMValueRef wv = nc_cu_load(k, k->params[2], nc_cu_addc(k, wp, (int64_t)a * g->kw + b));
            acc = nc_cu_fadd(k, acc, nc_cu_fmul(k, v, wv));
        }
    LLVMValueRef nch = nc_cu_mad(k, n, c->o, o);
    LLVMValueRef i = nc_cu_mad(k, nch, g->oh * g->ow, nc_cu_mad(k, oh, g->ow, ow));
    for (int s = 0; s < c->nsteps; s++) acc = nc_cu_ew_step(k, &c->step[s], acc, i, o, nch);
    nc_cu_store(k, acc, k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_dwconv_tiled_desc(NcCuDesc *d, const char *name, const NcCuConv *k) {
    NC_CHECK(k->groups == k->g.c && k->o % k->groups == 0);
    const Tile t = dw_tile(k);
    *d = (NcCuDesc){.name = name,
                    .nparams = k->nparams < 3 ? 3 : k->nparams,
                    .grid = k->g.n * k->o * t.tiles_h * t.tiles_w,
                    .block = t.th * t.tw,
                    .smem_floats = t.ih * t.iw,
                    .nphases = 2,
                    .body = dw_tiled_body,
                    .ctx = k};
}

static void conv_grad_input_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuConv *c = ctx;
    const NcCuWin *g = &c->g;
    const int64_t CG = g->c / c->groups, OG = c->o / c->groups, T = (int64_t)g->kh * g->kw, P = g->oh * g->ow;
    CgbIf in;
    LLVMValueRef i = nc_cu_ew_index(k, g->n * g->c * g->h * g->w, &in), x[4];
    const int64_t dims[4] = {g->n, g->c, g->h, g->w};
    nc_cu_unflatten(k, i, 4, dims, x);
    LLVMValueRef n = x[0], ch = x[1], h = x[2], w = x[3];
    LLVMValueRef oh[64], ow[64], okh[64], okw[64];
    NC_CHECK(g->kh <= 64 && g->kw <= 64);
    for (int a = 0; a < g->kh; a++) oh[a] = tap_out(k, h, g->sh, a, g->dh, g->pt, g->oh, &okh[a]);
    for (int b = 0; b < g->kw; b++) ow[b] = tap_out(k, w, g->sw, b, g->dw, g->pl, g->ow, &okw[b]);
    LLVMValueRef o0 = nc_cu_mulc(k, nc_cu_divc(k, ch, CG), OG), cc = nc_cu_remc(k, ch, CG);
    LLVMValueRef acc = nc_cu_var(k, 0), j;
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, OG), 1, &j);
    LLVMValueRef o = nc_cu_add(k, o0, j);
    LLVMValueRef dyp = nc_cu_mulc(k, nc_cu_mad(k, n, c->o, o), P);
    LLVMValueRef wp = nc_cu_mulc(k, nc_cu_mad(k, o, CG, cc), T);
    for (int a = 0; a < g->kh; a++)
        for (int b = 0; b < g->kw; b++) {
            LLVMValueRef src = nc_cu_add(k, dyp, nc_cu_mad(k, oh[a], g->ow, ow[b]));
            LLVMValueRef v = load_or_zero(k, k->params[0], src, nc_cu_and(k, okh[a], okw[b]));
            LLVMValueRef wv = nc_cu_load(k, k->params[2], nc_cu_addc(k, wp, (int64_t)a * g->kw + b));
            nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), nc_cu_fmul(k, v, wv)));
        }
    nc_cu_loop_end(k, &l);
    nc_cu_store(k, nc_cu_get(k, acc), k->params[1], i);
    nc_cu_if_end(k, &in);
}

void nc_cu_conv_grad_input_desc(NcCuDesc *d, const char *name, const NcCuConv *k) {
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = nc_cu_ew_grid(k->g.n * k->g.c * k->g.h * k->g.w),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = conv_grad_input_body,
                    .ctx = k};
}

/* The block of the weight gradient: as many threads as the taps' scratch
 * (taps x block floats) allows, a power of two in [32, 128]. */
static int64_t wgrad_block(const NcCuConv *c) {
    const int64_t T = (int64_t)c->g.kh * c->g.kw;
    int64_t b = 128;
    while (b > 32 && T * b + T > 12288) b /= 2;
    return b;
}

#define WGRAD_MAXTAPS 96 /* 32 threads x 96 taps + 96 = 3168 floats: the scratch of the smallest block */

/* Block (o c', chunk) of G chunks of Lc outputs each: the taps' sums over
 * its chunk of the N OH OW outputs, written by thread 0 at out[bid T + t]
 * (G = 1: the weight gradient itself; else the split form's partials). */
static void wgrad(NcCuBuilder *k, int phase, const NcCuConv *c, int64_t G, int64_t Lc) {
    const NcCuWin *g = &c->g;
    LLVMBuilderRef bld = k->m->b;
    const int64_t CG = g->c / c->groups, OG = c->o / c->groups, T = (int64_t)g->kh * g->kw, P = g->oh * g->ow;
    const int64_t B = wgrad_block(c), out = T * B;
    const int L = nc_cu_red_levels(B);
    LLVMValueRef oc = nc_cu_divc(k, k->bid, G), o = nc_cu_divc(k, oc, CG), cc = nc_cu_remc(k, oc, CG);
    if (phase == 0) {
        LLVMValueRef j0 = nc_cu_mulc(k, nc_cu_remc(k, k->bid, G), Lc), end = nc_cu_addc(k, j0, Lc);
        LLVMValueRef np = nc_cu_i64(k, g->n * P);
        LLVMValueRef j1 = LLVMBuildSelect(bld, LLVMBuildICmp(bld, LLVMIntSLT, end, np, ""), end, np, "");
        LLVMValueRef acc[WGRAD_MAXTAPS], j;
        for (int t = 0; t < T; t++) acc[t] = nc_cu_var(k, 0);
        LLVMValueRef plane = nc_cu_add(k, nc_cu_mulc(k, nc_cu_divc(k, o, OG), CG), cc);
        CgbLoop l = nc_cu_loop_begin(k, nc_cu_add(k, j0, k->tid), j1, B, &j);
        LLVMValueRef n = nc_cu_divc(k, j, P), p = nc_cu_remc(k, j, P);
        LLVMValueRef oh = nc_cu_divc(k, p, g->ow), ow = nc_cu_remc(k, p, g->ow);
        LLVMValueRef dy = nc_cu_load(k, k->params[0], nc_cu_mad(k, nc_cu_mad(k, n, c->o, o), P, p));
        LLVMValueRef xp = nc_cu_mulc(k, nc_cu_mad(k, n, g->c, plane), g->h * g->w);
        for (int a = 0; a < g->kh; a++) {
            LLVMValueRef ih = tap_pos(k, oh, g->sh, a, g->dh, g->pt), okh = nc_cu_in(k, ih, 0, g->h);
            for (int b = 0; b < g->kw; b++) {
                LLVMValueRef iw = tap_pos(k, ow, g->sw, b, g->dw, g->pl);
                LLVMValueRef ok = nc_cu_and(k, okh, nc_cu_in(k, iw, 0, g->w));
                LLVMValueRef v = load_or_zero(k, k->params[2], nc_cu_add(k, xp, nc_cu_mad(k, ih, g->w, iw)), ok);
                LLVMValueRef a_t = acc[a * g->kw + b];
                nc_cu_set(k, a_t, nc_cu_fadd(k, nc_cu_get(k, a_t), nc_cu_fmul(k, dy, v)));
            }
        }
        nc_cu_loop_end(k, &l);
        LLVMValueRef v[WGRAD_MAXTAPS];
        for (int t = 0; t < T; t++) v[t] = nc_cu_get(k, acc[t]);
        nc_cu_red_put(k, B, (int)T, v);
        return;
    }
    if (phase <= L) {
        nc_cu_red_level(k, B, (int)T, phase - 1, 0, out);
        return;
    }
    CgbIf t0 = nc_cu_if_thread0(k);
    for (int t = 0; t < T; t++)
        nc_cu_store(k, nc_cu_red_result(k, out, t), k->params[1], nc_cu_addc(k, nc_cu_mulc(k, k->bid, T), t));
    nc_cu_if_end(k, &t0);
}

static void conv_grad_weight_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuConv *c = ctx;
    wgrad(k, phase, c, 1, c->g.n * c->g.oh * c->g.ow);
}

void nc_cu_conv_grad_weight_desc(NcCuDesc *d, const char *name, const NcCuConv *k) {
    const int64_t T = (int64_t)k->g.kh * k->g.kw, B = wgrad_block(k);
    NC_CHECK(T <= WGRAD_MAXTAPS);
    *d = (NcCuDesc){.name = name,
                    .nparams = 3,
                    .grid = k->o * (k->g.c / k->groups),
                    .block = B,
                    .smem_floats = T * B + T,
                    .nphases = 2 + nc_cu_red_levels(B),
                    .body = conv_grad_weight_body,
                    .ctx = k};
}

/* --- the weight gradient split over chunks of the outputs ------------------- */

int64_t nc_cu_wgrad_split_chunks(const NcCuWgradSplit *k) {
    const int64_t M = k->conv.g.n * k->conv.g.oh * k->conv.g.ow, want = k->chunk > 0 ? k->chunk : 4096;
    return (M + want - 1) / want;
}

static int64_t wgrad_chunk_len(const NcCuWgradSplit *k) {
    const int64_t M = k->conv.g.n * k->conv.g.oh * k->conv.g.ow, G = nc_cu_wgrad_split_chunks(k);
    return (M + G - 1) / G;
}

int64_t nc_cu_wgrad_split_scratch(const NcCuWgradSplit *k) {
    const NcCuConv *c = &k->conv;
    return c->o * (c->g.c / c->groups) * nc_cu_wgrad_split_chunks(k) * c->g.kh * c->g.kw;
}

static void wgrad_split_body(NcCuBuilder *k, int phase, const void *ctx) {
    const NcCuWgradSplit *w = ctx;
    wgrad(k, phase, &w->conv, nc_cu_wgrad_split_chunks(w), wgrad_chunk_len(w));
}

void nc_cu_wgrad_split_partials_desc(NcCuDesc *d, const char *name, const NcCuWgradSplit *k) {
    nc_cu_conv_grad_weight_desc(d, name, &k->conv);
    d->grid *= nc_cu_wgrad_split_chunks(k);
    d->body = wgrad_split_body;
    d->ctx = k;
}

/* dw[e] = sum over the chunks of part[(e / T) G + g) T + e % T] */
static void wgrad_finalize_body(NcCuBuilder *k, int phase, const void *ctx) {
    (void)phase;
    const NcCuWgradSplit *w = ctx;
    const NcCuConv *c = &w->conv;
    const int64_t T = (int64_t)c->g.kh * c->g.kw, G = nc_cu_wgrad_split_chunks(w);
    CgbIf in;
    LLVMValueRef e = nc_cu_ew_index(k, c->o * (c->g.c / c->groups) * T, &in), g;
    LLVMValueRef base = nc_cu_add(k, nc_cu_mulc(k, nc_cu_divc(k, e, T), G * T), nc_cu_remc(k, e, T));
    LLVMValueRef acc = nc_cu_var(k, 0);
    CgbLoop l = nc_cu_loop_begin(k, nc_cu_i64(k, 0), nc_cu_i64(k, G), 1, &g);
    nc_cu_set(k, acc, nc_cu_fadd(k, nc_cu_get(k, acc), nc_cu_load(k, k->params[0], nc_cu_mad(k, g, T, base))));
    nc_cu_loop_end(k, &l);
    nc_cu_store(k, nc_cu_get(k, acc), k->params[1], e);
    nc_cu_if_end(k, &in);
}

void nc_cu_wgrad_split_finalize_desc(NcCuDesc *d, const char *name, const NcCuWgradSplit *k) {
    const NcCuConv *c = &k->conv;
    *d = (NcCuDesc){.name = name,
                    .nparams = 2,
                    .grid = nc_cu_ew_grid(c->o * (c->g.c / c->groups) * c->g.kh * c->g.kw),
                    .block = NC_CU_EW_BLOCK,
                    .nphases = 1,
                    .body = wgrad_finalize_body,
                    .ctx = k};
}
