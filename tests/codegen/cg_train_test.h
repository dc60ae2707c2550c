/* cg_train_test.h — the check every training-step kernel test makes: one
 * node's generated kernel against the op table's reference kernel (ir/), run
 * the ways the runtime may run it.
 *
 * The kernel is built into a fresh module by the test's emit callback and
 * JIT-compiled: up to three stages (tile functions in[] -> out[], found by
 * the names of the kernel's stage functions), run in order as the runtime
 * runs them (runtime/bundle.c: each stage's tiles done before the next
 * starts), with the kernel's scratch, if any, after the outputs (out[nout],
 * ending at an unreadable page). Each stage's tiles run across threads, then
 * again in reverse in uneven ranges over NaN-filled outputs, so a tile that
 * leans on another's writes, or leaves an element unwritten, fails. Every
 * output is fenced by 64 canaries on each side. Agreement: NaNs exactly
 * where the reference has them, infinities equal, elsewhere max |got - want|
 * <= tol max |want| (the kernels sum in float, the references mostly in
 * double; tol 0: bit for bit but for the sign of zero). */
#ifndef NETC_CG_TRAIN_TEST_H
#define NETC_CG_TRAIN_TEST_H

#include "codegen/cpu/cg_kernel.h"
#include "tests/codegen/cg_test.h"

/* NaNs where want has them, infinities equal, elsewhere max |got - want| <=
 * tol max |want|; *err the relative error of the finite elements, *at the
 * element to report (the first NaN or infinity out of place, else the worst
 * finite one; -1 where there is none) */
static inline int cgt_close_nan(const float *got, const float *want, int64_t n, double tol, double *err, int64_t *at) {
    double mx = 0, e = 0;
    int64_t bad = -1, worst = -1;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            if (!(isnan(want[i]) && isnan(got[i])) && bad < 0) bad = i;
            continue;
        }
        if (isinf(want[i]) || isinf(got[i])) {
            if (got[i] != want[i] && bad < 0) bad = i;
            continue;
        }
        if (fabs(want[i]) > mx) mx = fabs(want[i]);
        const double d = fabs((double)got[i] - want[i]);
        if (d > e || worst < 0) e = d, worst = i;
    }
    *err = mx ? e / mx : e;
    *at = bad >= 0 ? bad : worst;
    return bad < 0 && e <= tol * (mx > 0 ? mx : 1);
}

/* Writes the kernel for the test's node into m (its entry named as the
 * check is told), filling k. */
typedef void (*CgtEmit)(NcCgModule *m, void *ctx, NcCgKernel *k);

/* The stages' tiles: across threads (reverse 0), or from the last tile back
 * in uneven ranges of up to 3 (reverse 1); each stage done before the next. */
static inline void cgt_run_stages(NcTileFn const *fn, const int64_t *tiles, const float *const *in, float *const *out,
                                  int reverse) {
    for (int s = 0; s < 3 && fn[s]; s++) {
        if (!reverse) {
            cgt_run(fn[s], in, out, tiles[s]);
            continue;
        }
        for (int64_t t1 = tiles[s]; t1 > 0;) {
            const int64_t t0 = t1 > 3 ? t1 - 3 : 0;
            fn[s](in, out, t0, t1);
            t1 = t0;
        }
    }
}

/* Checks node nd of g, whose inputs hold data[v] (value v's contents), with
 * the kernel emit(ctx) writes. Returns the worst relative error of the two
 * runs, or -1 where the kernel could not be built or run (reported as a
 * failure). `what` names the case in messages. */
static inline double cgt_check_train_kernel(const NcCgTarget *t, const NcGraph *g, const NcNode *nd, float *const *data,
                                            CgtEmit emit, void *ctx, double tol, const char *what) {
    NcError e;
    NcCgJit *jit = nc_cg_jit_new(&e);
    if (!jit) {
        CHECK_MSG(0, "%s: %s", what, e.msg);
        return -1;
    }
    NcCgModule m;
    nc_cg_module_init(&m, t, "train_kernel");
    NcCgKernel kern;
    memset(&kern, 0, sizeof kern);
    emit(&m, ctx, &kern);
    char names[3][128];
    int nstages = 0;
    for (; nstages < 3 && kern.stage[nstages]; nstages++) {
        size_t len = 0;
        const char *nm = LLVMGetValueName2(kern.stage[nstages], &len);
        snprintf(names[nstages], sizeof names[nstages], "%.*s", (int)len, nm);
    }
    CHECK_MSG(nstages > 0, "%s: the kernel has no stage", what);
    int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn[3] = {NULL, NULL, NULL};
    for (int s = 0; s < nstages && !rc; s++) {
        fn[s] = (NcTileFn)nc_cg_jit_lookup(jit, names[s], &e);
        CHECK_MSG(fn[s], "%s: stage %s: %s", what, names[s], e.msg);
        if (!fn[s]) rc = -1;
    }
    if (rc || !nstages) {
        nc_cg_jit_free(jit);
        return -1;
    }
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) ka.in_v[i] = nc_val(g, nd->inputs[i]), ka.in[i] = data[nd->inputs[i]];
    float *want[NC_MAXOUT], *buf[NC_MAXOUT], *out[NC_MAXOUT + 1];
    float *scratch = kern.scratch ? cgt_guarded(kern.scratch) : NULL;
    int64_t ny[NC_MAXOUT];
    for (int j = 0; j < nd->noutputs; j++) {
        ka.out_v[j] = nc_val(g, nd->outputs[j]);
        ny[j] = nc_numel(ka.out_v[j]);
        want[j] = ka.out[j] = nc_malloc((size_t)ny[j] * sizeof(float));
        buf[j] = nc_malloc((size_t)(ny[j] + 128) * sizeof(float));
        for (int64_t i = 0; i < ny[j] + 128; i++) buf[j][i] = 42.0f;
        out[j] = buf[j] + 64;
    }
    out[nd->noutputs] = scratch; /* where the runtime puts it */
    nc_op_info(nd->op)->ref(&ka);
    double worst = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) /* tiles in reverse, uneven ranges, over NaNs */
            for (int j = 0; j < nd->noutputs; j++)
                for (int64_t i = 0; i < ny[j]; i++) out[j][i] = NAN;
        cgt_run_stages(fn, kern.tiles, ka.in, out, pass);
        for (int j = 0; j < nd->noutputs; j++) {
            double err;
            int64_t at;
            const int ok = cgt_close_nan(out[j], want[j], ny[j], tol, &err, &at);
            CHECK_MSG(ok, "%s output %d%s: relative error %g (bound %g) at %lld: got %.9g, want %.9g", what, j,
                      pass ? " (tiles reversed)" : "", err, tol, (long long)at, at >= 0 ? out[j][at] : 0.0,
                      at >= 0 ? want[j][at] : 0.0);
            if (err > worst) worst = err;
            int canaries = 1;
            for (int i = 0; i < 64; i++) canaries &= buf[j][i] == 42.0f && out[j][ny[j] + i] == 42.0f;
            CHECK_MSG(canaries, "%s output %d: wrote outside it", what, j);
        }
    }
    for (int j = 0; j < nd->noutputs; j++) free(want[j]), free(buf[j]);
    if (scratch) cgt_guarded_free(scratch, kern.scratch);
    nc_cg_jit_free(jit);
    return worst;
}

#endif
