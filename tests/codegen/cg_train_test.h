/* cg_train_test.h — the check every training-step kernel test makes: one
 * node's generated kernel against the op table's reference kernel (ir/), run
 * the ways the runtime may run it.
 *
 * The kernel is built into a fresh module by the test's emit callback and
 * JIT-compiled; it must be one stage without scratch (a tile function
 * in[] -> out[]). Its tiles run across threads, then again in reverse in
 * uneven ranges over NaN-filled outputs, so a tile that leans on another's
 * writes, or leaves an element unwritten, fails. Every output is fenced by 64
 * canaries on each side. Agreement: NaNs exactly where the reference has
 * them, infinities equal, elsewhere max |got - want| <= tol max |want| (the
 * kernels sum in float, the references mostly in double). */
#ifndef NETC_CG_TRAIN_TEST_H
#define NETC_CG_TRAIN_TEST_H

#include "codegen/cpu/cg_kernel.h"
#include "tests/codegen/cg_test.h"

/* NaNs where want has them, infinities equal, elsewhere max |got - want| <=
 * tol max |want|; *err the relative error of the finite elements */
static inline int cgt_close_nan(const float *got, const float *want, int64_t n, double tol, double *err) {
    double mx = 0, e = 0;
    int special_ok = 1;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            special_ok &= isnan(want[i]) && isnan(got[i]);
            continue;
        }
        if (isinf(want[i]) || isinf(got[i])) {
            special_ok &= got[i] == want[i];
            continue;
        }
        if (fabs(want[i]) > mx) mx = fabs(want[i]);
        if (fabs((double)got[i] - want[i]) > e) e = fabs((double)got[i] - want[i]);
    }
    *err = mx ? e / mx : e;
    return special_ok && e <= tol * (mx > 0 ? mx : 1);
}

/* Writes the kernel for the test's node into m (its entry named as the
 * check is told), filling k. */
typedef void (*CgtEmit)(NcCgModule *m, void *ctx, NcCgKernel *k);

/* Checks node nd of g, whose inputs hold data[v] (value v's contents), with
 * the kernel emit(ctx) writes under the name fname. Returns the worst
 * relative error of the two runs, or -1 where the kernel could not be built
 * or run (reported as a failure). `what` names the case in messages. */
static inline double cgt_check_train_kernel(const NcCgTarget *t, const NcGraph *g, const NcNode *nd, float *const *data,
                                            CgtEmit emit, void *ctx, const char *fname, double tol, const char *what) {
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
    const int64_t tiles = kern.tiles[0];
    CHECK_MSG(!kern.stage[1] && kern.scratch == 0, "%s: expected one stage without scratch", what);
    const int rc = nc_cg_jit_add(jit, &m, &e);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s: %s", what, e.msg);
    NcTileFn fn = rc ? NULL : (NcTileFn)nc_cg_jit_lookup(jit, fname, &e);
    if (!fn || kern.stage[1] || kern.scratch) {
        CHECK_MSG(fn, "%s: %s", what, e.msg);
        nc_cg_jit_free(jit);
        return -1;
    }
    NcKernelArgs ka;
    memset(&ka, 0, sizeof ka);
    ka.node = nd;
    for (int i = 0; i < nd->ninputs; i++) ka.in_v[i] = nc_val(g, nd->inputs[i]), ka.in[i] = data[nd->inputs[i]];
    float *want[NC_MAXOUT], *buf[NC_MAXOUT], *out[NC_MAXOUT + 1];
    int64_t ny[NC_MAXOUT];
    for (int j = 0; j < nd->noutputs; j++) {
        ka.out_v[j] = nc_val(g, nd->outputs[j]);
        ny[j] = nc_numel(ka.out_v[j]);
        want[j] = ka.out[j] = nc_malloc((size_t)ny[j] * sizeof(float));
        buf[j] = nc_malloc((size_t)(ny[j] + 128) * sizeof(float));
        for (int64_t i = 0; i < ny[j] + 128; i++) buf[j][i] = 42.0f;
        out[j] = buf[j] + 64;
    }
    out[nd->noutputs] = NULL;
    nc_op_info(nd->op)->ref(&ka);
    double worst = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (!pass)
            cgt_run(fn, ka.in, out, tiles);
        else { /* tiles in reverse, uneven ranges, over NaNs */
            for (int j = 0; j < nd->noutputs; j++)
                for (int64_t i = 0; i < ny[j]; i++) out[j][i] = NAN;
            for (int64_t t1 = tiles; t1 > 0;) {
                const int64_t t0 = t1 > 3 ? t1 - 3 : 0;
                fn(ka.in, out, t0, t1);
                t1 = t0;
            }
        }
        for (int j = 0; j < nd->noutputs; j++) {
            double err;
            CHECK_MSG(cgt_close_nan(out[j], want[j], ny[j], tol, &err), "%s output %d%s: relative error %g", what, j,
                      pass ? " (tiles reversed)" : "", err);
            if (err > worst) worst = err;
            int canaries = 1;
            for (int i = 0; i < 64; i++) canaries &= buf[j][i] == 42.0f && out[j][ny[j] + i] == 42.0f;
            CHECK_MSG(canaries, "%s output %d: wrote outside it", what, j);
        }
    }
    for (int j = 0; j < nd->noutputs; j++) free(want[j]), free(buf[j]);
    nc_cg_jit_free(jit);
    return worst;
}

#endif
