/* routes.c — what each URL means.  The KServe v2 REST API as Triton answers
 * it (health, server and model metadata, readiness, infer with JSON or binary
 * tensors), the image routes that run the program's own decode, transform,
 * resolutions, flip TTA and ensemble merge (classify, features: what
 * `classify --json` prints, one JSON line per image), and /metrics. */
#include "runtime/serve/routes.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "runtime/serve/codec.h"
#include "runtime/support/json.h"
#include "runtime/support/list.h"
#include "runtime/support/topk.h"

#ifndef NETC_VERSION
#define NETC_VERSION "0"
#endif

/* What an image request keeps while its job computes. */
typedef struct ImageWork {
    Job job;
    const uint8_t **data;
    size_t *lens;
    const char **names;
    int top, features;
} ImageWork;

typedef struct TensorWork {
    Job job;
    V2Request req;
    int64_t classes, nfeatures;
} TensorWork;

static void reply_json(Req *r, int status, FILE *f, char **buf, size_t *len) {
    fclose(f); /* sets *buf and *len */
    http_reply(r, status, "application/json", *buf, *len, NULL);
}

static FILE *mem(char **buf, size_t *len) {
    *buf = NULL, *len = 0;
    FILE *f = open_memstream(buf, len);
    if (!f) nc_out_of_memory(0);
    return f;
}

/* ---- models and their inputs ---- */

static int inference_program(const NcBundle *b, int p, int member) {
    return !b->programs[p].train && (member < 0 || b->programs[p].h->member == member);
}

/* The program an [N, 3, h, w] input runs on: the first compiled at that size (what `run` picks), of the member. */
static int program_for(const NcBundle *b, int member, int64_t h, int64_t w) {
    for (int p = 0; p < b->nprograms; p++)
        if (inference_program(b, p, member) && b->programs[p].h->height == h && b->programs[p].h->width == w) return p;
    return -1;
}

/* Distinct input sizes, in bundle order. */
static int input_sizes(const NcBundle *b, int member, NcRes *out) {
    int n = 0;
    for (int p = 0; p < b->nprograms; p++) {
        if (!inference_program(b, p, member)) continue;
        const NcRes r = {b->programs[p].h->height, b->programs[p].h->width};
        int k = 0;
        while (k < n && (out[k].h != r.h || out[k].w != r.w)) k++;
        if (k == n) out[n++] = r;
    }
    return n;
}

static void input_name(char *dst, size_t cap, int nsizes, NcRes r) {
    if (nsizes == 1)
        snprintf(dst, cap, "input");
    else
        snprintf(dst, cap, "input_%dx%d", r.h, r.w);
}

/* The pooled features the infer outputs carry: the member's, or for an ensemble's own name the one count every
 * member shares (0 when they differ: no "features" output). */
static int64_t features_of(const NcBundle *b, int member) {
    if (member >= 0) return b->h->members[member].nfeatures;
    const int64_t f = b->h->members[0].nfeatures;
    for (uint32_t m = 1; m < b->h->nmembers; m++)
        if (b->h->members[m].nfeatures != f) return 0;
    return f;
}

static void sizes_list(const NcBundle *b, int member, char *dst, size_t cap) {
    NcRes rs[NC_BUNDLE_MAX_PROGRAMS];
    const int n = input_sizes(b, member, rs);
    dst[0] = 0;
    for (int i = 0; i < n; i++)
        snprintf(dst + strlen(dst), cap - strlen(dst), "%s%dx%d", i ? ", " : "", rs[i].h, rs[i].w);
}

static void model_metadata(Req *r) {
    const NcBundle *b = r->s->b;
    NcRes rs[NC_BUNDLE_MAX_PROGRAMS];
    const int n = input_sizes(b, r->member, rs);
    char *buf;
    size_t len;
    FILE *f = mem(&buf, &len);
    fputs("{\"name\": ", f);
    nc_json_put_str(f, r->model);
    fputs(", \"versions\": [\"1\"], \"platform\": \"netc\", \"inputs\": [", f);
    for (int i = 0; i < n; i++) {
        char name[64];
        input_name(name, sizeof name, n, rs[i]);
        fprintf(f, "%s{\"name\": \"%s\", \"datatype\": \"FP32\", \"shape\": [-1, 3, %d, %d]}", i ? ", " : "", name,
                rs[i].h, rs[i].w);
    }
    fprintf(f, "], \"outputs\": [{\"name\": \"logits\", \"datatype\": \"FP32\", \"shape\": [-1, %d]}", b->h->nclasses);
    const int64_t F = features_of(b, r->member);
    if (F) fprintf(f, ", {\"name\": \"features\", \"datatype\": \"FP32\", \"shape\": [-1, %lld]}", (long long)F);
    fputs("]}", f);
    reply_json(r, 200, f, &buf, &len);
}

static void server_metadata(Req *r) {
    char *body = nc_sprintf("{\"name\": \"netc\", \"version\": \"%s\", \"extensions\": [\"binary_tensor_data\", "
                            "\"netc_classify\", \"netc_features\", \"metrics\"]}",
                            NETC_VERSION);
    http_reply(r, 200, "application/json", body, strlen(body), NULL);
}

static void metrics(Req *r) {
    char *buf;
    size_t len;
    FILE *f = mem(&buf, &len);
    metrics_gauges(&r->s->metrics, batcher_depth(r->s->batcher), atomic_load(&r->s->in_flight));
    metrics_print(&r->s->metrics, f);
    fclose(f);
    http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len, NULL);
}

/* ---- routing ---- */

/* Splits url's path into at most 8 segments (copies into buf). */
static int segments(const char *url, char *buf, size_t cap, char **seg) {
    snprintf(buf, cap, "%s", url);
    int n = 0;
    for (char *p = buf; *p && n < 8;) {
        while (*p == '/') p++;
        if (!*p) break;
        seg[n++] = p;
        char *q = strchr(p, '/');
        if (!q) break;
        *q = 0;
        p = q + 1;
    }
    return n;
}

static int find_model(Req *r, const char *name) {
    const NcBundleHeader *h = r->s->b->h;
    snprintf(r->model, sizeof r->model, "%s", name);
    if (!strcmp(name, h->model)) {
        r->member = h->nmembers == 1 ? 0 : -1;
        return 0;
    }
    for (uint32_t m = 0; m < h->nmembers; m++)
        if (!strcmp(name, h->members[m].name)) {
            r->member = (int)m;
            return 0;
        }
    return -1;
}

static const char *const routes_help =
    "GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/1][/ready], /metrics; "
    "POST /v2/models/NAME[/versions/1]/infer, /classify, /features";

int route_start(Req *r, const char *url, const char *method) {
    Server *s = r->s;
    char buf[1024], *seg[8];
    const int n = strlen(url) < sizeof buf ? segments(url, buf, sizeof buf, seg) : -1;
    const char *model = NULL, *version = NULL;
    int post = 0;
    r->route = ROUTE_UNKNOWN;
    if (n == 1 && !strcmp(seg[0], "v2"))
        r->route = ROUTE_SERVER_META;
    else if (n == 1 && !strcmp(seg[0], "metrics"))
        r->route = ROUTE_METRICS;
    else if (n == 3 && !strcmp(seg[0], "v2") && !strcmp(seg[1], "health"))
        r->route = !strcmp(seg[2], "live") ? ROUTE_LIVE : !strcmp(seg[2], "ready") ? ROUTE_READY : ROUTE_UNKNOWN;
    else if (n >= 3 && !strcmp(seg[0], "v2") && !strcmp(seg[1], "models")) {
        model = seg[2];
        int k = 3;
        if (n >= 5 && !strcmp(seg[3], "versions")) version = seg[4], k = 5;
        if (n == k)
            r->route = ROUTE_MODEL_META;
        else if (n == k + 1) {
            const char *t = seg[k];
            r->route = !strcmp(t, "ready")      ? ROUTE_MODEL_READY
                       : !strcmp(t, "infer")    ? ROUTE_INFER
                       : !strcmp(t, "classify") ? ROUTE_CLASSIFY
                       : !strcmp(t, "features") ? ROUTE_FEATURES
                                                : ROUTE_UNKNOWN;
            post = r->route == ROUTE_INFER || r->route == ROUTE_CLASSIFY || r->route == ROUTE_FEATURES;
        }
    }
    /* probes stay open: a load balancer or kubelet checks them without the token */
    if (r->route != ROUTE_LIVE && r->route != ROUTE_READY && !token_check(&s->token, http_header(r, "Authorization"))) {
        http_error(r, 401,
                   http_header(r, "Authorization") ? "wrong bearer token"
                                                   : "this server needs 'Authorization: Bearer TOKEN'");
        return 1;
    }
    if (r->route == ROUTE_UNKNOWN) {
        char what[256];
        nc_json_snip(what, sizeof what, url, strlen(url));
        http_error(r, 404, "no route '%s' (this server answers %s)", what, routes_help);
        return 1;
    }
    if (strcmp(method, post ? "POST" : "GET")) {
        char m[32];
        nc_json_snip(m, sizeof m, method, strlen(method));
        r->allow = post ? "POST" : "GET";
        http_error(r, 405, "%s %s: this route takes %s", m, r->url, r->allow);
        return 1;
    }
    if (model && find_model(r, model)) {
        char what[128];
        nc_json_snip(what, sizeof what, model, strlen(model));
        http_error(r, 404, "unknown model '%s' (this server has '%s'%s)", what, s->b->h->model,
                   s->b->h->nmembers > 1 ? " and its members" : "");
        return 1;
    }
    if (version && strcmp(version, "1")) {
        char what[64];
        nc_json_snip(what, sizeof what, version, strlen(version));
        http_error(r, 404, "model '%s' has no version '%s' (it has version 1)", r->model, what);
        return 1;
    }
    if (atomic_load(&s->draining) && r->route != ROUTE_LIVE) {
        http_error(r, 503, "the server is shutting down");
        return 1;
    }
    switch (r->route) {
    case ROUTE_LIVE:
    case ROUTE_READY:
    case ROUTE_MODEL_READY: http_reply(r, 200, NULL, NULL, 0, NULL); return 1;
    case ROUTE_SERVER_META: server_metadata(r); return 1;
    case ROUTE_MODEL_META: model_metadata(r); return 1;
    case ROUTE_METRICS: metrics(r); return 1;
    default: return 0;
    }
}

/* ---- infer ---- */

static void infer_body(Req *r) {
    const NcBundle *b = r->s->b;
    const char *enc = http_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (enc && strcasecmp(enc, "identity")) {
        http_error(r, 415, "Content-Encoding '%.64s' is not supported: send the body uncompressed", enc);
        return;
    }
    int64_t hlen = -1;
    const char *hl = http_header(r, "Inference-Header-Content-Length");
    if (hl) {
        char *end;
        const long long v = strtoll(hl, &end, 10);
        if (end == hl || *end || v < 0) {
            http_error(r, 400, "Inference-Header-Content-Length '%.64s' is not a byte count", hl);
            return;
        }
        hlen = v;
    }
    int64_t most = 0;
    for (int p = 0; p < b->nprograms; p++) {
        const NcProgramHeader *h = b->programs[p].h;
        const int64_t v = (int64_t)h->batch * 3 * h->height * h->width;
        most = v > most ? v : most;
    }
    TensorWork *w = nc_calloc(1, sizeof *w);
    r->work = w;
    NcError e;
    int status;
    if (v2_parse_request(r->body, r->len, hlen, most + 4096, &w->req, &status, &e)) {
        http_error(r, status, "%s", e.msg);
        return;
    }
    V2Request *q = &w->req;
    const int p = q->ndim == 4 && q->shape[1] == 3 ? program_for(b, r->member, q->shape[2], q->shape[3]) : -1;
    char have[512], shape[128] = "[";
    for (int i = 0; i < q->ndim; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "", (long long)q->shape[i]);
    strcat(shape, "]");
    if (p < 0) {
        sizes_list(b, r->member, have, sizeof have);
        http_error(r, 400, "input '%s' has shape %s; model '%s' takes [N, 3, H, W] at %s", q->input_name, shape,
                   r->model, have);
        return;
    }
    const NcProgramHeader *h = b->programs[p].h;
    NcRes rs[NC_BUNDLE_MAX_PROGRAMS];
    const int nsizes = input_sizes(b, r->member, rs);
    char want[64], exact[64];
    input_name(want, sizeof want, nsizes, (NcRes){h->height, h->width});
    input_name(exact, sizeof exact, 2, (NcRes){h->height, h->width});
    if (strcmp(q->input_name, "input") && strcmp(q->input_name, want) && strcmp(q->input_name, exact)) {
        http_error(r, 400, "input '%s' does not match shape %s: this model calls it '%s'", q->input_name, shape, want);
        return;
    }
    if (q->shape[0] < 1 || q->shape[0] > h->batch) {
        http_error(r, 400, "input '%s': batch %lld; this program takes 1 to %d images a request (its compiled batch)",
                   q->input_name, (long long)q->shape[0], h->batch);
        return;
    }
    w->classes = b->h->nclasses;
    w->nfeatures = features_of(b, r->member) ? b->h->members[h->member].nfeatures : 0;
    for (int i = 0; i < q->noutputs; i++)
        if (strcmp(q->outputs[i].name, "logits") && (strcmp(q->outputs[i].name, "features") || !w->nfeatures)) {
            char what[64];
            nc_json_snip(what, sizeof what, q->outputs[i].name, strlen(q->outputs[i].name));
            http_error(r, 400, "unknown output '%s' (model '%s' has 'logits'%s)", what, r->model,
                       w->nfeatures ? " and 'features'" : "");
            return;
        }
    Job *j = &w->job;
    j->kind = JOB_TENSOR, j->key = (uint64_t)p, j->program = p, j->n = (int)q->shape[0], j->x = q->data;
    j->logits = nc_malloc((size_t)(j->n * w->classes) * sizeof(float));
    j->features = w->nfeatures ? nc_malloc((size_t)(j->n * w->nfeatures) * sizeof(float)) : NULL;
    r->images = j->n;
    http_wait_for(r, j);
}

static void infer_finish(Req *r) {
    TensorWork *w = r->work;
    const V2Request *q = &w->req;
    V2Tensor t[V2_MAX_OUTPUTS + 2] = {0};
    int n = 0;
    const int64_t rows = w->job.n;
    if (!q->noutputs) {
        t[n++] = (V2Tensor){"logits", rows, w->classes, w->job.logits, q->binary_output};
        if (w->nfeatures) t[n++] = (V2Tensor){"features", rows, w->nfeatures, w->job.features, q->binary_output};
    }
    for (int i = 0; i < q->noutputs; i++) {
        const int logits = !strcmp(q->outputs[i].name, "logits");
        t[n++] = (V2Tensor){logits ? "logits" : "features", rows, logits ? w->classes : w->nfeatures,
                            logits ? w->job.logits : w->job.features, q->outputs[i].binary};
    }
    int binary = 0;
    for (int i = 0; i < n; i++) binary |= t[i].binary;
    size_t len, json_len;
    char *body = v2_response(r->model, q->id, t, n, &len, &json_len);
    char hl[32];
    snprintf(hl, sizeof hl, "%zu", json_len);
    const char *extra[] = {"Inference-Header-Content-Length", hl, NULL};
    http_reply(r, 200, binary ? "application/octet-stream" : "application/json", body, len, binary ? extra : NULL);
}

/* ---- classify and features ---- */

static int query_int(Req *r, const char *key, int lo, int hi, int dflt, int *out) {
    const char *v = http_arg(r, key);
    *out = dflt;
    if (!v) return 0;
    char *end;
    const long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        http_error(r, 400, "query parameter %s='%.32s': expected an integer from %d to %d", key, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* The engine view a request asks for: ?res=, ?tta=flip, ?merge=mean; its key for batching. */
static int make_view(Req *r, Engine *v, uint64_t *key) {
    const Server *s = r->s;
    const NcBundle *b = s->b;
    *v = s->base;
    const char *res = http_arg(r, "res"), *tta = http_arg(r, "tta"), *merge = http_arg(r, "merge");
    if (tta && strcmp(tta, "flip") && strcmp(tta, "none")) {
        http_error(r, 400, "query parameter tta='%.32s': expected flip or none", tta);
        return -1;
    }
    if (merge && strcmp(merge, "sum") && strcmp(merge, "mean")) {
        http_error(r, 400, "query parameter merge='%.32s': resolutions merge by sum or mean", merge);
        return -1;
    }
    v->flip = tta && !strcmp(tta, "flip");
    v->res_mean = merge && !strcmp(merge, "mean");
    NcRes want[NC_BUNDLE_MAX_PROGRAMS];
    NcError e;
    const int nwant = res ? nc_parse_res_list(res, want, NC_BUNDLE_MAX_PROGRAMS, &e) : 0;
    if (nwant < 0) {
        http_error(r, 400, "query parameter res: %s", e.msg);
        return -1;
    }
    uint64_t mask = 0;
    v->nsel = 0;
    for (int i = 0; i < s->base.nsel; i++) {
        const NcProgramHeader *h = b->programs[s->base.sel[i]].h;
        int ok = !nwant;
        for (int k = 0; k < nwant; k++) ok |= want[k].h == h->height && want[k].w == h->width;
        if (!ok) continue;
        v->sel[v->nsel] = s->base.sel[i], v->tf_of[v->nsel] = s->base.tf_of[i], v->nsel++;
        mask |= 1ULL << i;
    }
    char have[512];
    sizes_list(b, -1, have, sizeof have);
    if (!v->nsel) {
        http_error(r, 400, "query parameter res='%.64s': not compiled into this program (it has %s)", res, have);
        return -1;
    }
    for (uint32_t m = 0; m < b->h->nmembers; m++) {
        int has = 0;
        for (int i = 0; i < v->nsel; i++) has |= b->programs[v->sel[i]].h->member == (int32_t)m;
        if (!has) {
            http_error(r, 400, "query parameter res='%.64s': model '%s' of this ensemble has none of these (it has %s)",
                       res, b->h->members[m].name, have);
            return -1;
        }
    }
    *key = mask | (uint64_t)v->flip << 40 | (uint64_t)v->res_mean << 41;
    return 0;
}

static void images_body(Req *r) {
    Server *s = r->s;
    const NcBundle *b = s->b;
    const int features = r->route == ROUTE_FEATURES;
    ImageWork *w = nc_calloc(1, sizeof *w);
    r->work = w;
    Job *j = &w->job;
    if (make_view(r, &j->view, &j->key) || query_int(r, "top", 1, 100000, 5, &w->top)) return;
    if (features) {
        int member;
        if (query_int(r, "member", 1, (int)b->h->nmembers, r->member >= 0 ? r->member + 1 : 1, &member)) return;
        j->view.feat_member = member - 1, j->view.nfeatures = b->h->members[member - 1].nfeatures;
        if (!j->view.nfeatures) {
            http_error(r, 400, "model '%s' has no pooled features", b->h->members[member - 1].name);
            return;
        }
        j->key |= (uint64_t)member << 42;
    } else if (r->member >= 0 && b->h->nmembers > 1) {
        http_error(r, 404,
                   "model '%s' is a member of ensemble '%s': classify runs the whole ensemble "
                   "(POST to /v2/models/%s/classify)",
                   r->model, b->h->model, b->h->model);
        return;
    }
    int n;
    const int multipart = r->pp != NULL;
    if (multipart) {
        /* destroying the parser hands over the last part's tail, and says whether the body ended well */
        const int complete = MHD_destroy_post_processor(r->pp) == MHD_YES;
        r->pp = NULL;
        if (r->parts_error == 2) {
            http_error(r, 400, "multipart body: more than 256 parts");
            return;
        }
        if (r->parts_error || !complete) {
            http_error(r, 400, "multipart body: malformed multipart/form-data (a missing or wrong boundary?)");
            return;
        }
        n = r->parts.len;
        if (!n) {
            http_error(r, 400, "multipart body: no parts (send each image as a part)");
            return;
        }
    } else {
        if (!r->len) {
            http_error(r, 400, "empty body: POST a JPEG or PNG image (or multipart/form-data with several)");
            return;
        }
        n = 1;
    }
    w->data = nc_calloc((size_t)n, sizeof *w->data);
    w->lens = nc_calloc((size_t)n, sizeof *w->lens);
    w->names = nc_calloc((size_t)n, sizeof *w->names);
    for (int i = 0; i < n; i++) {
        w->data[i] = multipart ? r->parts.data[i].data : r->body;
        w->lens[i] = multipart ? r->parts.data[i].len : r->len;
        w->names[i] = multipart ? r->parts.data[i].name : "image";
    }
    w->features = features;
    j->kind = JOB_IMAGES, j->n = n, j->data = w->data, j->lens = w->lens, j->names = w->names;
    for (int t = 0; t < s->base.ntf; t++)
        j->bufs[t] =
            nc_malloc((size_t)n * 3 * (size_t)s->base.tf[t].height * (size_t)s->base.tf[t].width * sizeof(float) + 1);
    j->results = nc_calloc((size_t)n, sizeof(NcImageResult));
    j->scores = nc_malloc((size_t)n * (size_t)b->h->nclasses * sizeof(float));
    j->feats = features ? nc_malloc((size_t)n * (size_t)j->view.nfeatures * sizeof(float) + 1) : NULL;
    r->images = n;
    http_wait_for(r, j);
}

static int finite_all(const float *x, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static void images_finish(Req *r) {
    ImageWork *w = r->work;
    const Job *j = &w->job;
    const NcBundle *b = r->s->b;
    const int C = b->h->nclasses, F = j->view.nfeatures, vote = b->h->nmembers > 1 && b->h->merge == NC_MERGE_VOTE;
    const char **labels = b->labels;
    char *buf;
    size_t len;
    FILE *f = mem(&buf, &len);
    int good = 0;
    const char *first_error = NULL;
    char nonfinite[256];
    int *rk = nc_malloc((size_t)C * sizeof *rk);
    for (int i = 0; i < j->n; i++) {
        const NcImageResult *res = &j->results[i];
        const float *s = j->scores + (size_t)i * C, *ft = j->feats ? j->feats + (size_t)i * F : NULL;
        const char *err = res->ok ? NULL : res->err.msg;
        if (!err && (!finite_all(s, C) || (ft && !finite_all(ft, F)))) {
            snprintf(nonfinite, sizeof nonfinite, "%.64s: the model computed NaN or infinite %s for this image",
                     j->names[i], finite_all(s, C) ? "features" : "scores");
            err = nonfinite;
        }
        fputs("{\"file\": ", f);
        nc_json_put_str(f, j->names[i]);
        if (err) {
            fputs(", \"ok\": false, \"error\": ", f);
            nc_json_put_str(f, err);
            fputs("}\n", f);
            if (!first_error) first_error = err;
            continue;
        }
        good++;
        fprintf(f, ", \"ok\": true, \"width\": %d, \"height\": %d", res->width, res->height);
        if (w->features) {
            fputs(", \"features\": [", f);
            for (int k = 0; k < F; k++) fputs(k ? ", " : "", f), nc_json_put_num(f, "%.9g", ft[k]);
            fputs("]}\n", f);
            continue;
        }
        int k = w->top < C ? w->top : C;
        nc_rank_classes(s, C, k, rk);
        while (vote && k > 1 && s[rk[k - 1]] <= 0) k--; /* a vote ranks only the classes some member voted for */
        fputs(", \"top\": [", f);
        for (int q = 0; q < k; q++) {
            fprintf(f, "%s{\"class\": %d, \"score\": ", q ? ", " : "", rk[q]);
            nc_json_put_num(f, "%.6g", s[rk[q]]);
            if (labels) fputs(", \"label\": ", f), nc_json_put_str(f, labels[rk[q]]);
            fputs("}", f);
        }
        fputs("]}\n", f);
    }
    free(rk);
    fclose(f);
    if (!good) { /* nothing to answer: the (first) image's own message */
        http_error(r, 400, "%s", first_error);
        free(buf);
        return;
    }
    http_reply(r, 200, "application/json", buf, len, NULL);
}

void route_body(Req *r) {
    if (atomic_load(&r->s->draining)) {
        http_error(r, 503, "the server is shutting down");
        return;
    }
    if (r->route == ROUTE_INFER)
        infer_body(r);
    else
        images_body(r);
}

void route_finish(Req *r) {
    if (r->route == ROUTE_INFER)
        infer_finish(r);
    else
        images_finish(r);
}

void route_free(Req *r) {
    if (!r->work) return;
    if (r->route == ROUTE_INFER) {
        TensorWork *w = r->work;
        v2_request_free(&w->req);
        free(w->job.logits);
        free(w->job.features);
    } else {
        ImageWork *w = r->work;
        for (int t = 0; t < NC_LOADER_MAX_TRANSFORMS; t++) free(w->job.bufs[t]);
        free(w->job.results);
        free(w->job.scores);
        free(w->job.feats);
        free(w->data);
        free(w->lens);
        free(w->names);
    }
    free(r->work);
    r->work = NULL;
}
