/* images.c — classify, features and eval: files -> decode + preprocess on a
 * pool of threads (double-buffered, so the next chunk decodes while this one
 * computes) -> engine (views, members, merge) -> per-image output. */
#include "runtime/program/images.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/program/engine.h"
#include "runtime/program/files.h"
#include "runtime/program/plots.h"
#include "runtime/image/loader.h"
#include "runtime/support/file_out.h"
#include "runtime/support/json.h"
#include "runtime/support/list.h"
#include "runtime/support/npy.h"
#include "runtime/support/topk.h"

typedef struct Opts {
    const char *res, *list, *root, *labels, *out, *confusion, *pseudo;
    double min_prob;
    int flip, res_mean, top, json, threads, member, timing, logits;
    int64_t max_pixels;
    PreOverride pre;
    float mean[3], std[3];
    FileList files;
} Opts;

/* "0.5,0.5,0.5" */
static int three_floats(const char *s, float *out) {
    int n;
    char **items = nc_list_split(s, &n, NULL);
    int bad = !items || n != 3;
    for (int i = 0; !bad && i < 3; i++) {
        char *end;
        const double v = strtod(items[i], &end);
        bad = *end || !(v > -1e3 && v < 1e3);
        out[i] = (float)v;
    }
    free(items);
    return bad ? -1 : 0;
}

/* Options shared by the three commands; -1 on a bad one (message printed). */
static int parse_opts(const char *prog, const char *cmd, int argc, char **argv, Opts *o) {
    memset(o, 0, sizeof *o);
    o->top = 5, o->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    o->pre.interp = -1;
    if (o->threads < 1) o->threads = 1;
    NcError e;
    int options = 1; /* until "--": after it every argument is a file */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!options || a[0] != '-' || !a[1])
            files_add(&o->files, a);
        else if (!strcmp(a, "--"))
            options = 0;
        else if (more && !strcmp(a, "--res"))
            o->res = argv[++i];
        else if (more && !strcmp(a, "--list"))
            o->list = argv[++i];
        else if (more && !strcmp(a, "--root"))
            o->root = argv[++i];
        else if (more && !strcmp(a, "--labels"))
            o->labels = argv[++i];
        else if (more && (!strcmp(a, "-o") || !strcmp(a, "--output")))
            o->out = argv[++i];
        else if (more && !strcmp(a, "--tta")) {
            if (strcmp(argv[++i], "flip") && strcmp(argv[i], "none")) {
                fprintf(stderr, "%s %s: --tta '%s': expected flip or none\n", prog, cmd, argv[i]);
                return -1;
            }
            o->flip = !strcmp(argv[i], "flip");
        } else if (more && !strcmp(a, "--merge")) {
            if (strcmp(argv[++i], "sum") && strcmp(argv[i], "mean")) {
                fprintf(stderr, "%s %s: --merge '%s': resolutions merge by sum or mean\n", prog, cmd, argv[i]);
                return -1;
            }
            o->res_mean = !strcmp(argv[i], "mean");
        } else if (more && (!strcmp(a, "--top") || !strcmp(a, "--decode-threads") || !strcmp(a, "--max-pixels") ||
                            !strcmp(a, "--member"))) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            long long most = !strcmp(a, "--max-pixels") ? (1LL << 40) : 100000;
            if (*end || v < 1 || v > most) {
                fprintf(stderr, "%s %s: %s '%s': expected an integer from 1 to %lld\n", prog, cmd, a, argv[i], most);
                return -1;
            }
            if (!strcmp(a, "--top"))
                o->top = (int)v;
            else if (!strcmp(a, "--decode-threads"))
                o->threads = v > NC_LOADER_MAX_THREADS ? NC_LOADER_MAX_THREADS : (int)v;
            else if (!strcmp(a, "--member"))
                o->member = (int)v - 1;
            else
                o->max_pixels = v;
        } else if (more && !strcmp(a, "--crop-pct")) {
            char *end;
            o->pre.crop_pct = strtod(argv[++i], &end);
            if (*end || !(o->pre.crop_pct >= 0.05 && o->pre.crop_pct <= 4)) {
                fprintf(stderr, "%s %s: --crop-pct '%s': expected a number in [0.05, 4]\n", prog, cmd, argv[i]);
                return -1;
            }
        } else if (more && !strcmp(a, "--interpolation")) {
            NcInterp it;
            if (nc_interp_parse(argv[++i], &it, &e)) {
                fprintf(stderr, "%s %s: --interpolation: %s\n", prog, cmd, e.msg);
                return -1;
            }
            o->pre.interp = (int)it;
        } else if (more && (!strcmp(a, "--mean") || !strcmp(a, "--std"))) {
            float *dst = !strcmp(a, "--mean") ? o->mean : o->std;
            if (three_floats(argv[++i], dst) || (dst == o->std && !(dst[0] > 0 && dst[1] > 0 && dst[2] > 0))) {
                fprintf(stderr, "%s %s: %s '%s': expected three numbers such as 0.5,0.5,0.5%s\n", prog, cmd, a, argv[i],
                        dst == o->std ? " (all positive)" : "");
                return -1;
            }
            if (dst == o->mean)
                o->pre.mean = o->mean;
            else
                o->pre.std = o->std;
        } else if (more && !strcmp(cmd, "eval") && !strcmp(a, "--confusion"))
            o->confusion = argv[++i];
        else if (more && !strcmp(cmd, "classify") && !strcmp(a, "--pseudo-labels"))
            o->pseudo = argv[++i];
        else if (more && !strcmp(cmd, "classify") && !strcmp(a, "--min-prob")) {
            char *end;
            o->min_prob = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(o->min_prob >= 0 && o->min_prob <= 1)) {
                fprintf(stderr, "%s %s: --min-prob '%s': expected a probability in [0, 1]\n", prog, cmd, argv[i]);
                return -1;
            }
        } else if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(cmd, "classify") && !strcmp(a, "--logits"))
            o->logits = 1;
        else if (!strcmp(a, "--timing"))
            o->timing = 1;
        else {
            fprintf(stderr, "%s %s: unknown or incomplete option '%s' (%s --help; -- ends the options)\n", prog, cmd, a,
                    prog);
            return -1;
        }
    }
    return 0;
}

/* Class names: --labels FILE at run time, else those compiled in, else none. */
static char *run_labels_text;
static const char **run_labels;
static const char **load_labels(const NcBundle *b, const char *prog, const char *path) {
    if (!path) return b->labels;
    NcError e;
    size_t len;
    if (nc_read_file(path, &run_labels_text, &len, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return NULL;
    }
    int n = b->h->nclasses, k = 0;
    run_labels = nc_calloc((size_t)n, sizeof(char *));
    for (char *s = run_labels_text, *next; s && *s && k <= n; s = next) {
        char *nl = strchr(s, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        size_t m = strlen(s);
        if (m && s[m - 1] == '\r') s[m - 1] = 0;
        if (k < n) run_labels[k] = s;
        k++;
    }
    if (k != n) {
        fprintf(stderr, "%s: %s: %d class names for a model of %d classes\n", prog, path, k, n);
        return NULL;
    }
    return run_labels;
}

static void free_labels(void) {
    free(run_labels_text);
    free(run_labels);
    run_labels_text = NULL, run_labels = NULL;
}

static void progress(int done, int total, int failed, double t0) {
    double dt = nc_now() - t0, rate = dt > 0 ? done / dt : 0;
    int width = 30, fill = total ? (int)((int64_t)width * done / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d images, %.1f/s, %d failed, eta %.0f s ", fill, "##############################",
            width - fill, "", done, total, rate, failed, rate > 0 ? (total - done) / rate : 0);
    if (done == total) fputc('\n', stderr);
}

static int all_finite(const float *x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* An image whose scores or features hold NaN or infinity has failed, with
 * the reason: it must not be printed as an answer (nor as invalid JSON). */
static void nonfinite_fails(NcImageResult *r, const char *path, const float *scores, int nclasses, const float *feats,
                            int nfeatures) {
    if (!r->ok) return;
    const int bad_scores = !all_finite(scores, nclasses), bad_feats = feats && !all_finite(feats, nfeatures);
    if (!bad_scores && !bad_feats) return;
    r->ok = 0;
    nc_errorf(&r->err, "%s: the model computed NaN or infinite %s for this image", path,
              bad_scores ? "scores" : "features");
}

typedef void (*OnImage)(void *ctx, int index, const NcImageResult *r, const float *scores, const float *feats);

/* engine_run_next's EngineNext: the next chunk, once decoded (its wait counted as waiting, not compute). */
typedef struct NextChunk {
    NcImageBatch **next;
    float *const *bufs;
    int m, done;
    double *waited;
} NextChunk;
static void next_chunk(void *ctx, float *const **in, int *m) {
    NextChunk *nx = ctx;
    const double t = nc_now();
    nc_image_batch_wait(*nx->next);
    *nx->waited += nc_now() - t;
    nx->done = 1, *in = nx->bufs, *m = nx->m;
}

/* Runs every file through the engine in chunks; returns how many failed, or
 * -1 on a setup error (message printed). */
static int pipeline(Engine *en, const char *prog, const Opts *o, int want_features, int show_progress, OnImage fn,
                    void *ctx) {
    const int n = o->files.path.len;
    int chunk = 16;
    for (int s = 0; s < en->nsel; s++) {
        int bt = en->b->programs[en->sel[s]].h->batch;
        chunk = bt > chunk ? bt : chunk;
    }
    NcImageLoader *ld;
    NcError e;
    if (nc_image_loader_open(&ld, o->threads, en->ntf, en->tf, o->max_pixels, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return -1;
    }
    float *bufs[2][NC_BUNDLE_MAX_PROGRAMS];
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < en->ntf; t++)
            bufs[k][t] =
                nc_malloc((size_t)chunk * 3 * (size_t)en->tf[t].height * (size_t)en->tf[t].width * sizeof(float));
    NcImageResult *res[2] = {nc_calloc((size_t)chunk, sizeof(NcImageResult)),
                             nc_calloc((size_t)chunk, sizeof(NcImageResult))};
    float *scores = nc_malloc((size_t)chunk * (size_t)en->nclasses * sizeof(float));
    float *feats = want_features ? nc_malloc(((size_t)chunk * (size_t)en->nfeatures + 1) * sizeof(float)) : NULL;
    const char *const *paths = (const char *const *)o->files.path.data;
    int failed = 0, cur = 0;
    double t0 = nc_now(), waited = 0, computed = 0;
    NcImageBatch *next = n ? nc_image_loader_submit(ld, paths, n < chunk ? n : chunk, bufs[0], res[0]) : NULL;
    NextChunk nx = {.next = &next, .waited = &waited};
    for (int i = 0; i < n; i += chunk, cur ^= 1) {
        int m = n - i < chunk ? n - i : chunk;
        double tw = nc_now();
        if (!nx.done) nc_image_batch_wait(next); /* else engine_run_next waited for it, to start its first batch */
        nx.done = 0;
        int j = i + chunk;
        next = j < n ? nc_image_loader_submit(ld, paths + j, n - j < chunk ? n - j : chunk, bufs[cur ^ 1], res[cur ^ 1])
                     : NULL;
        nx.bufs = bufs[cur ^ 1], nx.m = n - j < chunk ? n - j : chunk;
        double tc = nc_now(), w0 = waited;
        engine_run_next(en, bufs[cur], m, scores, feats, next && en->pipe ? next_chunk : NULL, &nx);
        const double in_next = waited - w0; /* next_chunk's wait, inside engine_run_next */
        waited += tc - tw, computed += nc_now() - tc - in_next;
        for (int k = 0; k < m; k++) {
            nonfinite_fails(&res[cur][k], paths[i + k], scores + (size_t)k * en->nclasses, en->nclasses,
                            feats ? feats + (size_t)k * en->nfeatures : NULL, en->nfeatures);
            failed += !res[cur][k].ok;
            fn(ctx, i + k, &res[cur][k], scores + (size_t)k * en->nclasses,
               feats ? feats + (size_t)k * en->nfeatures : NULL);
        }
        if (show_progress) progress(i + m, n, failed, t0);
    }
    nc_image_loader_close(ld);
    if (o->timing) {
        double total = nc_now() - t0;
        fprintf(stderr,
                "timing: %d images in %.3f s (%.1f images/s): compute %.3f s (%.0f%%), waiting for decode + "
                "preprocess %.3f s (%.0f%%), %d decode threads, chunks of %d%s\n",
                n, total, n / (total > 0 ? total : 1), computed, 100 * computed / (total > 0 ? total : 1), waited,
                100 * waited / (total > 0 ? total : 1), o->threads, chunk,
                en->pipe ? "; device uploads overlapped with compute" : "");
    }
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < en->ntf; t++) free(bufs[k][t]);
    free(res[0]);
    free(res[1]);
    free(scores);
    free(feats);
    return failed;
}

/* The exit status once the images are done: 2 on a setup error, 1 when an
 * image failed or a folder could not be walked. */
static int outcome(const char *prog, int failed, const Opts *o) {
    if (failed < 0) return 2;
    if (o->files.skipped.len)
        fprintf(stderr, "%s: %d folder%s could not be walked (above)\n", prog, o->files.skipped.len,
                o->files.skipped.len > 1 ? "s" : "");
    return failed > 0 || o->files.skipped.len > 0;
}

/* What every image command does after its own checks: the list file, the
 * class names, the engine.  0, or 2 with a message. */
static int prepare(const NcBundle *b, const char *prog, const char *cmd, Opts *o, int labelled, const char ***labels,
                   Engine *en) {
    NcError e;
    memset(en, 0, sizeof *en);
    if (o->list && files_add_list(&o->files, o->list, o->root, labelled, b->h->nclasses, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return 2;
    }
    for (int i = 0; i < o->files.skipped.len; i++) fprintf(stderr, "%s: %s\n", prog, o->files.skipped.data[i]);
    if (!o->files.path.len) {
        fprintf(stderr, "%s %s: no images (give files, directories or --list FILE)\n", prog, cmd);
        return 2;
    }
    *labels = load_labels(b, prog, o->labels);
    if (o->labels && !*labels) return 2;
    if (engine_open(en, b, o->res, o->flip, o->res_mean, &o->pre, &e)) {
        fprintf(stderr, "%s: %s\n", prog, e.msg);
        return 2;
    }
    engine_overlap(en); /* on a device: uploads behind compute (NETC_DEV_OVERLAP=0: not) */
    return 0;
}

/* What prepare() and parse_opts() acquired. */
static void release(Engine *en, Opts *o) {
    engine_close(en);
    free_labels();
    files_free(&o->files);
}

/* ---- classify ---- */

typedef struct ClassifyCtx {
    const Opts *o;
    const char **labels;
    const char *const *paths;
    int nclasses, vote;
    int *pseudo; /* --pseudo-labels: per image its class when the top score passed --min-prob, else -1 */
} ClassifyCtx;

static void on_classify(void *vctx, int index, const NcImageResult *r, const float *s, const float *f) {
    ClassifyCtx *c = vctx;
    const char *path = c->paths[index];
    if (!r->ok) {
        fprintf(stderr, "%s\n", r->err.msg);
        if (c->o->json) {
            printf("{\"file\": ");
            nc_json_put_str(stdout, path);
            printf(", \"ok\": false, \"error\": ");
            nc_json_put_str(stdout, r->err.msg);
            printf("}\n");
        }
        return;
    }
    int k = c->o->top < c->nclasses ? c->o->top : c->nclasses, *idx = nc_malloc((size_t)(k + 1) * sizeof(int));
    nc_rank_classes(s, c->nclasses, k ? k : 1, idx);
    if (c->pseudo && s[idx[0]] >= c->o->min_prob) c->pseudo[index] = idx[0];
    /* a vote ranks only the classes some member voted for */
    while (c->vote && k > 1 && s[idx[k - 1]] <= 0) k--;
    if (c->o->json) {
        printf("{\"file\": ");
        nc_json_put_str(stdout, path);
        printf(", \"ok\": true, \"width\": %d, \"height\": %d, \"top\": [", r->width, r->height);
        for (int j = 0; j < k; j++) {
            printf("%s{\"class\": %d, \"score\": ", j ? ", " : "", idx[j]);
            nc_json_put_num(stdout, "%.6g", s[idx[j]]);
            if (c->labels) printf(", \"label\": "), nc_json_put_str(stdout, c->labels[idx[j]]);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("%s\n", path);
        for (int j = 0; j < k; j++) printf("  %8.5f  %5d  %s\n", s[idx[j]], idx[j], c->labels ? c->labels[idx[j]] : "");
    }
    free(idx);
}

/* --pseudo-labels OUT: "path label" lines (train --data's format) of the
 * images whose top score passed --min-prob, in input order, each path made
 * absolute (train resolves relative ones from the list's folder). */
static int write_pseudo_labels(const char *prog, const Opts *o, const int *pseudo) {
    char *text = nc_strdup("");
    size_t len = 0;
    int kept = 0;
    for (int i = 0; i < o->files.path.len; i++) {
        if (pseudo[i] < 0) continue;
        const char *p = o->files.path.data[i];
        char cwd[4096];
        char *abs = p[0] != '/' && getcwd(cwd, sizeof cwd) ? nc_sprintf("%s/%s", cwd, p) : NULL;
        if (strchr(abs ? abs : p, '\n') || strchr(abs ? abs : p, '\r')) { /* a list holds one path a line */
            fprintf(stderr, "%s: --pseudo-labels: %s left out: its name holds a line break\n", prog, p);
            free(abs);
            continue;
        }
        char *line = nc_sprintf("%s %d\n", abs ? abs : p, pseudo[i]);
        free(abs);
        const size_t l = strlen(line);
        text = nc_realloc(text, len + l + 1);
        memcpy(text + len, line, l + 1);
        len += l, kept++;
        free(line);
    }
    NcError e;
    const int rc = nc_write_file_atomic(o->pseudo, text, len, &e);
    free(text);
    if (rc) {
        fprintf(stderr, "%s classify: %s\n", prog, e.msg);
        return -1;
    }
    fprintf(stderr, "%s: %d of %d images at top probability >= %g written to %s\n", prog, kept, o->files.path.len,
            o->min_prob, o->pseudo);
    return 0;
}

int cmd_classify(const NcBundle *b, const char *prog, int argc, char **argv) {
    Opts o;
    Engine en;
    const char **labels = NULL;
    memset(&en, 0, sizeof en);
    int rc = parse_opts(prog, "classify", argc, argv, &o) ? 2 : 0;
    if (!rc && o.logits && o.pseudo) {
        fprintf(stderr, "%s classify: --pseudo-labels needs probabilities, not --logits\n", prog);
        rc = 2;
    }
    if (!rc) rc = prepare(b, prog, "classify", &o, 0, &labels, &en);
    en.logits = o.logits;
    if (!rc) {
        ClassifyCtx c = {&o,
                         labels,
                         (const char *const *)o.files.path.data,
                         b->h->nclasses,
                         b->h->nmembers > 1 && b->h->merge == NC_MERGE_VOTE,
                         NULL};
        if (o.pseudo) {
            c.pseudo = nc_malloc((size_t)(o.files.path.len + 1) * sizeof(int));
            for (int i = 0; i < o.files.path.len; i++) c.pseudo[i] = -1;
        }
        int failed = pipeline(&en, prog, &o, 0, isatty(2) && !isatty(1), on_classify, &c);
        rc = outcome(prog, failed, &o);
        if (failed > 0) fprintf(stderr, "%s: %d of %d images failed\n", prog, failed, o.files.path.len);
        if (o.pseudo && failed >= 0 && write_pseudo_labels(prog, &o, c.pseudo)) rc = rc ? rc : 1;
        free(c.pseudo);
    }
    release(&en, &o);
    fflush(stdout);
    return rc;
}

/* ---- features ---- */

typedef struct FeatCtx {
    float *all;
    int *ok;
    int nf;
} FeatCtx;

static void on_features(void *vctx, int index, const NcImageResult *r, const float *s, const float *f) {
    FeatCtx *c = vctx;
    c->ok[index] = r->ok;
    if (!r->ok)
        fprintf(stderr, "%s\n", r->err.msg);
    else
        memcpy(c->all + (size_t)index * c->nf, f, (size_t)c->nf * sizeof(float));
}

/* Appends path and a newline to *list, with a backslash, newline or carriage
 * return in it written \\, \n or \r: one line per row of the .npy, whatever
 * the file names hold. */
static void append_line(char **list, size_t *len, const char *path) {
    *list = nc_realloc(*list, *len + 2 * strlen(path) + 2);
    char *o = *list + *len;
    for (const char *p = path; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;
        if (esc)
            *o++ = esc[0], *o++ = esc[1];
        else
            *o++ = *p;
    }
    *o++ = '\n';
    *o = 0;
    *len = (size_t)(o - *list);
}

/* The rows and the list of their files.  The list is renamed into place last
 * and the old one removed before the first rename: a list on disk always
 * names the rows of the .npy beside it (a kill half way leaves no list). */
static int write_pair(const char *npy, const int64_t shape[2], const float *rows, const char *txt, const char *list,
                      int *listed, NcError *e) {
    size_t size;
    uint8_t *bytes = nc_npy_encode_f32(npy, 2, shape, rows, &size, e);
    if (!bytes) return -1;
    NcOut a = {0}, t = {0};
    /* rows sent to a device (/dev/null) have no folder to hold a list beside them */
    int rc = nc_out_begin(&a, npy, 0, e) || (a.tmp && nc_out_begin(&t, txt, 0, e)) ||
             nc_out_write(&a, bytes, size, e) || (a.tmp && nc_out_write(&t, list, strlen(list), e));
    free(bytes);
    if (rc) {
        nc_out_abort(&a);
        nc_out_abort(&t);
        return -1;
    }
    NcOut *both[2] = {&a, &t};
    *listed = t.path != NULL;
    return nc_out_commit_all(both, 1 + *listed, 1, e);
}

int cmd_features(const NcBundle *b, const char *prog, int argc, char **argv) {
    Opts o;
    NcError e;
    Engine en;
    const char **labels = NULL;
    memset(&en, 0, sizeof en);
    int rc = parse_opts(prog, "features", argc, argv, &o) ? 2 : 0;
    if (!rc && !o.out) {
        fprintf(stderr, "%s features: give images and -o OUT.npy\n", prog);
        rc = 2;
    }
    if (!rc && (o.member < 0 || (uint32_t)o.member >= b->h->nmembers || !b->h->members[o.member].nfeatures)) {
        fprintf(stderr, "%s features: model %d has no pooled features (this program has %u model%s)\n", prog,
                o.member + 1, b->h->nmembers, b->h->nmembers > 1 ? "s" : "");
        rc = 2;
    }
    if (!rc) rc = prepare(b, prog, "features", &o, 0, &labels, &en);
    if (!rc) {
        en.feat_member = o.member, en.nfeatures = b->h->members[o.member].nfeatures;
        const int n = o.files.path.len;
        FeatCtx c = {nc_malloc((size_t)n * (size_t)en.nfeatures * sizeof(float) + 1), nc_calloc((size_t)n, sizeof(int)),
                     en.nfeatures};
        int failed = pipeline(&en, prog, &o, 1, isatty(2), on_features, &c);
        rc = outcome(prog, failed, &o);
        /* the good rows, in order, and their files beside them */
        int64_t good = 0;
        char *list = nc_strdup("");
        size_t list_len = 0;
        for (int i = 0; i < n && failed >= 0; i++) {
            if (!c.ok[i]) continue;
            memmove(c.all + good * en.nfeatures, c.all + (size_t)i * en.nfeatures,
                    (size_t)en.nfeatures * sizeof(float));
            good++;
            append_line(&list, &list_len, o.files.path.data[i]);
        }
        int64_t shape[2] = {good, en.nfeatures};
        int listed = 0;
        size_t ol = strlen(o.out);
        char *txt = ol > 4 && !strcmp(o.out + ol - 4, ".npy") ? nc_sprintf("%.*s.txt", (int)(ol - 4), o.out)
                                                              : nc_sprintf("%s.txt", o.out);
        if (failed >= 0 && !good) {
            fprintf(stderr, "%s: no image gave features; %s and %s left as they were\n", prog, o.out, txt);
            rc = 1;
        } else if (failed >= 0 && write_pair(o.out, shape, c.all, txt, list, &listed, &e)) {
            fprintf(stderr, "%s: %s\n", prog, e.msg);
            rc = 2;
        } else if (failed >= 0) {
            fprintf(stderr, "%s: %lld x %d features of '%s' in %s, files in %s%s\n", prog, (long long)good,
                    en.nfeatures, b->h->members[o.member].name, o.out,
                    listed ? txt : "none (the rows went to a device)", failed ? " (failed images left out)" : "");
        }
        free(txt);
        free(list);
        free(c.all);
        free(c.ok);
    }
    release(&en, &o);
    return rc;
}

/* ---- eval ---- */

typedef struct EvalCtx {
    const int *label;
    int nclasses, top1, top5, scored;
    int *cls_n, *cls_hit;
    int64_t *cm; /* --confusion: [true][predicted] counts */
} EvalCtx;

static void on_eval(void *vctx, int index, const NcImageResult *r, const float *s, const float *f) {
    EvalCtx *c = vctx;
    if (!r->ok) {
        if (!isatty(2))
            fprintf(stderr, "%s\n", r->err.msg);
        else
            fprintf(stderr, "\r%s\n", r->err.msg);
        return;
    }
    int idx[5], k = c->nclasses < 5 ? c->nclasses : 5, y = c->label[index];
    nc_rank_classes(s, c->nclasses, k, idx);
    c->scored++;
    c->cls_n[y]++;
    if (idx[0] == y) c->top1++, c->cls_hit[y]++;
    if (c->cm) c->cm[(int64_t)y * c->nclasses + idx[0]]++;
    for (int j = 0; j < k; j++) c->top5 += idx[j] == y;
}

int cmd_eval(const NcBundle *b, const char *prog, int argc, char **argv) {
    Opts o;
    Engine en;
    const char **labels = NULL;
    memset(&en, 0, sizeof en);
    int rc = parse_opts(prog, "eval", argc, argv, &o) ? 2 : 0;
    if (!rc && (!o.list || o.files.path.len)) {
        fprintf(stderr, "%s eval: give --list LIST (lines 'path label'), and no other files\n", prog);
        rc = 2;
    }
    if (!rc) rc = prepare(b, prog, "eval", &o, 1, &labels, &en);
    if (!rc) {
        const int C = b->h->nclasses, n = o.files.path.len;
        EvalCtx c = {o.files.label.data,
                     C,
                     0,
                     0,
                     0,
                     nc_calloc((size_t)C, sizeof(int)),
                     nc_calloc((size_t)C, sizeof(int)),
                     o.confusion ? nc_calloc((size_t)C * (size_t)C, sizeof(int64_t)) : NULL};
        double t0 = nc_now();
        int failed = pipeline(&en, prog, &o, 0, isatty(2), on_eval, &c);
        double dt = nc_now() - t0;
        rc = outcome(prog, failed, &o);
        double t1 = c.scored ? (double)c.top1 / c.scored : 0, t5 = c.scored ? (double)c.top5 / c.scored : 0;
        double macc = 0;
        int ncls = 0;
        for (int y = 0; y < C; y++)
            if (c.cls_n[y]) macc += (double)c.cls_hit[y] / c.cls_n[y], ncls++;
        macc = ncls ? macc / ncls : 0;
        if (failed < 0) {
        } else if (o.json) {
            printf("{\"images\": %d, \"scored\": %d, \"failed\": %d, \"top1\": %.6f, \"top5\": %.6f, "
                   "\"mean_class_top1\": %.6f, "
                   "\"seconds\": %.3f, \"per_class\": [",
                   n, c.scored, failed, t1, t5, macc, dt);
            int first = 1;
            for (int y = 0; y < C; y++) {
                if (!c.cls_n[y]) continue;
                printf("%s{\"class\": %d, \"n\": %d, \"top1\": %.6f", first ? "" : ", ", y, c.cls_n[y],
                       (double)c.cls_hit[y] / c.cls_n[y]);
                if (labels) printf(", \"label\": "), nc_json_put_str(stdout, labels[y]);
                printf("}");
                first = 0;
            }
            printf("]}\n");
        } else {
            printf("%d images (%d scored, %d failed) in %.1f s, %.1f images/s\n", n, c.scored, failed, dt,
                   n / (dt > 0 ? dt : 1));
            printf("top-1 %.2f%%  top-5 %.2f%%  mean per-class top-1 %.2f%% over %d classes\n", 100 * t1, 100 * t5,
                   100 * macc, ncls);
            printf("\n%6s %6s %8s  %s\n", "class", "images", "top-1", "name");
            for (int y = 0; y < C; y++)
                if (c.cls_n[y])
                    printf("%6d %6d %7.2f%%  %s\n", y, c.cls_n[y], 100.0 * c.cls_hit[y] / c.cls_n[y],
                           labels ? labels[y] : "");
        }
        if (o.confusion && failed >= 0) {
            NcError e;
            char *title = nc_sprintf("%s: top-1 %.2f%% on %d images", o.list, 100 * t1, c.scored);
            if (plot_confusion(c.cm, C, labels, title, o.confusion, &e))
                fprintf(stderr, "%s eval: %s\n", prog, e.msg), rc = rc ? rc : 1;
            free(title);
        }
        free(c.cm);
        free(c.cls_n);
        free(c.cls_hit);
    }
    release(&en, &o);
    return rc;
}
