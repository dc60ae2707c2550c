#include "runtime/program/engine.h"

#include <string.h>

#include "runtime/kernels.h"
#include "runtime/merge.h"
#include "runtime/support/list.h"

/* Is h x w among the wanted sizes (all of them when there are none)? */
static int wanted(const NcRes *want, int nwant, int h, int w) {
    for (int i = 0; i < nwant; i++)
        if (want[i].h == h && want[i].w == w) return 1;
    return !nwant;
}

int engine_open(Engine *en, const NcBundle *b, const char *res, int flip, int res_mean, const PreOverride *pre,
                NcError *e) {
    memset(en, 0, sizeof *en);
    en->b = b, en->flip = flip, en->res_mean = res_mean;
    en->nclasses = b->h->nclasses;
    int64_t maxx = 0, maxy = 0;
    NcRes want[NC_BUNDLE_MAX_PROGRAMS];
    NcError bad;
    const int nwant = res ? nc_parse_res_list(res, want, NC_BUNDLE_MAX_PROGRAMS, &bad) : 0;
    if (nwant < 0) return nc_errorf(e, "--res %s", bad.msg);
    for (int p = 0; p < b->nprograms; p++) {
        const NcProgramHeader *h = b->programs[p].h;
        if (b->programs[p].train || !wanted(want, nwant, h->height, h->width)) continue;
        const NcBundleMember *m = &b->h->members[h->member];
        NcTransform t = nc_transform_default(h->height, h->width);
        t.crop_pct = m->crop_pct, t.interp = m->interp ? NC_INTERP_BILINEAR : NC_INTERP_BICUBIC;
        memcpy(t.mean, m->mean, sizeof t.mean);
        memcpy(t.std, m->std, sizeof t.std);
        if (pre && pre->crop_pct > 0) t.crop_pct = pre->crop_pct;
        if (pre && pre->interp >= 0) t.interp = (NcInterp)pre->interp;
        if (pre && pre->mean) memcpy(t.mean, pre->mean, sizeof t.mean);
        if (pre && pre->std) memcpy(t.std, pre->std, sizeof t.std);
        if (nc_transform_check(&t, e)) return -1;
        int ti = 0;
        while (ti < en->ntf && memcmp(&en->tf[ti], &t, sizeof t)) ti++;
        if (ti == en->ntf) en->tf[en->ntf++] = t;
        en->tf_of[en->nsel] = ti;
        en->sel[en->nsel++] = p;
        int64_t xs = (int64_t)h->batch * 3 * h->height * h->width,
                ys = (int64_t)h->batch * (en->nclasses + m->nfeatures);
        maxx = xs > maxx ? xs : maxx, maxy = ys > maxy ? ys : maxy;
        en->arena[p] = nc_aligned_alloc((size_t)h->arena_bytes);
        if (!en->arena[p]) return nc_errorf(e, "out of memory for a %.1f MB arena", h->arena_bytes / 1e6);
    }
    if (!en->nsel) {
        char have[512] = "";
        for (int p = 0; p < b->nprograms; p++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%dx%d", p ? ", " : "",
                     b->programs[p].h->height, b->programs[p].h->width);
        return nc_errorf(e, "--res %s: not compiled into this program (it has %s)", res, have);
    }
    for (uint32_t m = 0; m < b->h->nmembers; m++) {
        int has = 0;
        for (int i = 0; i < en->nsel; i++) has |= b->programs[en->sel[i]].h->member == (int32_t)m;
        if (!has)
            return nc_errorf(e, "--res %s: model '%s' of this ensemble has none of these resolutions", res,
                             b->h->members[m].name);
    }
    en->nfeatures = b->h->members[0].nfeatures;
    en->x = nc_calloc((size_t)maxx + NC_KERNEL_SLACK, sizeof(float)); /* kernels may read past their input */
    en->y = nc_malloc((size_t)maxy * sizeof(float));
    en->member_out = nc_malloc((size_t)b->h->nmembers * (size_t)en->nclasses * sizeof(float));
    return 0;
}

void engine_overlap(Engine *en) { en->pipe = nc_dev_pipe_open(en->b); }

void engine_close(Engine *en) {
    nc_dev_pipe_close(en->pipe);
    for (int p = 0; p < NC_BUNDLE_MAX_PROGRAMS; p++) free(en->arena[p]);
    free(en->x);
    free(en->y);
    free(en->member_out);
    memset(en, 0, sizeof *en);
}

/* Mirror every row of an NCHW batch (flip TTA). */
static void flip_rows(float *x, int64_t rows, int64_t w) {
#pragma omp parallel for
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * w;
        for (int64_t i = 0, j = w - 1; i < j; i++, j--) {
            float t = row[i];
            row[i] = row[j], row[j] = t;
        }
    }
}

/* Runs program p over images [i0, i0 + n) of `in`, adding each view's
 * logits into acc (m x nclasses) and, when feat, its features into feat. */
static void run_views(Engine *en, int p, const float *in, int m, float *acc, float *feat) {
    const NcProgramHeader *h = en->b->programs[p].h;
    const int64_t per = 3LL * h->height * h->width, C = en->nclasses;
    const int64_t F = en->b->h->members[h->member].nfeatures;
    for (int i = 0; i < m; i += h->batch) {
        int k = m - i < h->batch ? m - i : h->batch;
        for (int v = 0; v < 1 + en->flip; v++) {
            if (v == 0) {
                memcpy(en->x, in + i * per, (size_t)(k * per) * sizeof(float));
                memset(en->x + k * per, 0, (size_t)((h->batch - k) * per) * sizeof(float));
            } else {
                flip_rows(en->x, (int64_t)k * 3 * h->height, h->width);
            }
            nc_bundle_run(en->b, p, en->x, en->y, en->arena[p]);
            for (int64_t j = 0; j < k * C; j++) acc[i * C + j] += en->y[j];
            const float *f = feat ? nc_bundle_features(en->b, p, en->arena[p]) : NULL;
            if (f)
                for (int64_t j = 0; j < k * F; j++) feat[i * F + j] += f[j];
        }
    }
}

/* One run of the overlapped path: program p (member mb) over images [i, i + k) of in, view v. */
typedef struct Job {
    int p, mb, i, k, v, slot;
    const float *in;
} Job;

/* The jobs of a chunk in run_views' order (program, batch, view): what the sums' order depends on. */
static int jobs_of(const Engine *en, float *const *in, int m, Job *jobs) {
    int n = 0;
    for (int s = 0; s < en->nsel; s++) {
        const int p = en->sel[s], bt = en->b->programs[p].h->batch;
        for (int i = 0; i < m; i += bt)
            for (int v = 0; v < 1 + en->flip; v++)
                jobs[n++] = (Job){.p = p,
                                  .mb = en->b->programs[p].h->member,
                                  .i = i,
                                  .k = m - i < bt ? m - i : bt,
                                  .v = v,
                                  .in = in[en->tf_of[s]]};
    }
    return n;
}

/* The job's batch into the next slot's pinned input (as run_views fills en->x), and its run queued. */
static void submit_job(Engine *en, Job *j) {
    const NcProgramHeader *h = en->b->programs[j->p].h;
    const int64_t per = 3LL * h->height * h->width;
    j->slot = en->slot, en->slot ^= 1;
    float *x = nc_dev_pipe_input(en->pipe, j->slot);
    memcpy(x, j->in + j->i * per, (size_t)(j->k * per) * sizeof(float));
    memset(x + j->k * per, 0, (size_t)((h->batch - j->k) * per) * sizeof(float));
    if (j->v) flip_rows(x, (int64_t)j->k * 3 * h->height, h->width);
    nc_dev_pipe_submit(en->pipe, j->p, j->slot);
}

/* run_views' loop, each run submitted one ahead of the one finishing: acc and feat as run_views leaves them. */
static void run_jobs(Engine *en, float *const *in, int m, float *acc, float *features, EngineNext next, void *ctx) {
    const int64_t C = en->nclasses;
    int nj = 0;
    for (int s = 0; s < en->nsel; s++) {
        const int bt = en->b->programs[en->sel[s]].h->batch;
        nj += (m + bt - 1) / bt * (1 + en->flip);
    }
    Job *jobs = nc_malloc((size_t)(nj + 1) * sizeof *jobs);
    jobs_of(en, in, m, jobs);
    if (en->pending) { /* the previous call submitted this chunk's first run */
        NC_CHECK(en->pending_in == jobs[0].in && en->pending_slot == (en->slot ^ 1));
        jobs[0].slot = en->pending_slot, en->pending = 0;
    } else {
        submit_job(en, &jobs[0]);
    }
    for (int t = 0; t < nj; t++) {
        if (t + 1 < nj) {
            submit_job(en, &jobs[t + 1]);
        } else if (next) {
            float *const *in2 = NULL;
            int m2 = 0;
            next(ctx, &in2, &m2);
            if (m2 > 0) { /* the next chunk's first job (jobs_of's order) */
                const NcProgramHeader *h0 = en->b->programs[en->sel[0]].h;
                Job f = {.p = en->sel[0],
                         .mb = h0->member,
                         .k = m2 < (int)h0->batch ? m2 : (int)h0->batch,
                         .in = in2[en->tf_of[0]]};
                submit_job(en, &f);
                en->pending = 1, en->pending_slot = f.slot, en->pending_in = f.in;
            }
        }
        const Job *j = &jobs[t];
        const NcProgramHeader *h = en->b->programs[j->p].h;
        const int64_t F = en->b->h->members[h->member].nfeatures;
        nc_dev_pipe_finish(en->pipe, j->p, j->slot, en->y, en->arena[j->p]);
        float *a = acc + (size_t)j->mb * m * C;
        for (int64_t q = 0; q < j->k * C; q++) a[j->i * C + q] += en->y[q];
        const float *f = features && j->mb == en->feat_member ? nc_bundle_features(en->b, j->p, en->arena[j->p]) : NULL;
        if (f)
            for (int64_t q = 0; q < j->k * F; q++) features[j->i * F + q] += f[q];
    }
    free(jobs);
}

void engine_run(Engine *en, float *const *in, int m, float *scores, float *features) {
    engine_run_next(en, in, m, scores, features, NULL, NULL);
}

void engine_run_next(Engine *en, float *const *in, int m, float *scores, float *features, EngineNext next, void *ctx) {
    const NcBundleHeader *bh = en->b->h;
    const int M = (int)bh->nmembers, C = en->nclasses;
    float *acc = nc_calloc((size_t)M * (size_t)m * (size_t)C, sizeof(float));
    int views[NC_BUNDLE_MAX_MEMBERS] = {0};
    if (features) memset(features, 0, (size_t)m * (size_t)en->nfeatures * sizeof(float));
    for (int s = 0; s < en->nsel; s++) {
        int p = en->sel[s], mb = en->b->programs[p].h->member;
        if (!en->pipe)
            run_views(en, p, in[en->tf_of[s]], m, acc + (size_t)mb * m * C,
                      features && mb == en->feat_member ? features : NULL);
        views[mb] += 1 + en->flip;
    }
    if (en->pipe)
        run_jobs(en, in, m, acc, features, next, ctx);
    else if (next) { /* nothing to overlap: the caller still expects next to be called */
        float *const *in2;
        int m2;
        next(ctx, &in2, &m2);
    }
    if (features && views[en->feat_member])
        for (int64_t j = 0; j < (int64_t)m * en->nfeatures; j++) features[j] /= (float)views[en->feat_member];
    float w[NC_BUNDLE_MAX_MEMBERS], scratch[NC_BUNDLE_MAX_MEMBERS];
    const float *x[NC_BUNDLE_MAX_MEMBERS];
    for (int k = 0; k < M; k++) w[k] = bh->members[k].weight;
    for (int i = 0; i < m; i++) {
        for (int k = 0; k < M; k++) {
            float *v = en->member_out + (size_t)k * C;
            const float *a = acc + ((size_t)k * m + i) * C;
            /* flip views always average; resolutions sum (the seed) unless --merge mean */
            const float div = (float)(1 + en->flip) * (en->res_mean ? (float)views[k] / (float)(1 + en->flip) : 1.0f);
            for (int c = 0; c < C; c++) v[c] = a[c] / div;
            if (bh->on_probs) nc_softmax(v, C);
            x[k] = v;
        }
        float *out = scores + (size_t)i * C;
        if (M == 1)
            memcpy(out, x[0], (size_t)C * sizeof(float));
        else
            nc_merge((NcMergeKind)bh->merge, x, w, M, C, out, scratch);
        if (!en->logits && !bh->on_probs && (M == 1 || bh->merge != NC_MERGE_VOTE)) nc_softmax(out, C);
    }
    free(acc);
}
