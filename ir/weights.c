#include "ir/weights.h"

#include <math.h>
#include <string.h>

#include "runtime/support/safetensors.h"
#include "runtime/support/detinit.h"

void nc_weights_init_det(NcGraph *g) {
    for (int i = 0; i < g->values.len; i++) {
        NcValue *v = &g->values.data[i];
        if (v->kind != NC_VAL_PARAM) continue;
        if (!v->data) v->data = nc_malloc((size_t)nc_numel(v) * sizeof(float));
        nc_det_fill_param(v->name, v->ndim, v->shape, v->data);
    }
}

/* Collects up to a few names per complaint, and a count of the rest. */
typedef struct Complaint {
    const char *what;
    char text[1536];
    int count;
} Complaint;

static void complain(Complaint *c, const char *fmt, const char *a, const char *b) {
    if (c->count++ < 6) {
        size_t n = strlen(c->text);
        snprintf(c->text + n, sizeof c->text - n, fmt, a, b);
    }
}

static size_t report(const Complaint *c, char *out, size_t len) {
    if (!c->count) return 0;
    return (size_t)snprintf(out, len, "\n  %d %s:%s%s", c->count, c->what, c->text, c->count > 6 ? "\n    ..." : "");
}

/* The first value of v that no model should hold: NaN or infinity anywhere
 * (PyTorch would load it, and every answer would silently be NaN), a
 * negative BN variance (its square root is NaN).  Says which into `what`. */
static int64_t first_bad_value(const NcValue *v, char *what, size_t len) {
    const int64_t n = nc_numel(v);
    for (int64_t i = 0; i < n; i++) {
        const float x = v->data[i];
        if (isfinite(x) && !(v->role == NC_PARAM_BN_VAR && x < 0)) continue;
        if (isnan(x))
            snprintf(what, len, "NaN");
        else if (isinf(x))
            snprintf(what, len, "%sinfinity", x < 0 ? "-" : "+");
        else
            snprintf(what, len, "a negative variance (%g)", (double)x);
        return i;
    }
    return -1;
}

int nc_weights_load(NcGraph *g, const char *path, NcError *e) {
    NcSafetensors st;
    if (nc_st_open(path, &st, e)) return -1;
    int rc = nc_weights_bind(g, &st, e);
    nc_st_close(&st);
    return rc;
}

int nc_weights_bind(NcGraph *g, const NcSafetensors *st, NcError *e) {
    const char *path = st->path;
    Complaint missing = {"missing tensors", "", 0}, wrong = {"tensors of the wrong shape", "", 0},
              unexpected = {"unexpected tensors", "", 0}, bad = {"tensors with values no model can use", "", 0};
    char *used = nc_calloc((size_t)st->ntensors + 1, 1);
    for (int i = 0; i < g->values.len; i++) {
        NcValue *v = &g->values.data[i];
        if (v->kind != NC_VAL_PARAM) continue;
        const NcStTensor *t = nc_st_find(st, v->name);
        if (!t) {
            complain(&missing, "\n    %s%s", v->name, "");
            continue;
        }
        used[t - st->tensors] = 1;
        int same = t->ndim == v->ndim;
        for (int d = 0; same && d < v->ndim; d++) same = t->shape[d] == v->shape[d];
        if (!same) {
            char a[128], b[128];
            nc_shape_str(t->ndim, t->shape, a, sizeof a);
            nc_shape_str(v->ndim, v->shape, b, sizeof b);
            char both[300];
            snprintf(both, sizeof both, "%s in the file, the model has %s", a, b);
            complain(&wrong, "\n    %s: %s", v->name, both);
            continue;
        }
        if (!v->data) v->data = nc_malloc((size_t)nc_numel(v) * sizeof(float));
        if (nc_st_read_f32(st, t, v->data, e)) {
            free(used);
            return -1;
        }
        char what[64], where[128];
        const int64_t at = first_bad_value(v, what, sizeof what);
        if (at >= 0) {
            snprintf(where, sizeof where, "%s at index %lld (flat, of %lld)", what, (long long)at,
                     (long long)nc_numel(v));
            complain(&bad, "\n    %s: %s", v->name, where);
        }
    }
    for (int i = 0; i < st->ntensors; i++)
        if (!used[i] && !nc_det_is_skipped(st->tensors[i].name))
            complain(&unexpected, "\n    %s%s", st->tensors[i].name, "");
    free(used);
    if (missing.count || wrong.count || unexpected.count || bad.count) {
        char msg[NC_ERRMAX - 200];
        size_t n = 0;
        n += report(&missing, msg + n, sizeof msg - n);
        if (n < sizeof msg) n += report(&wrong, msg + n, sizeof msg - n);
        if (n < sizeof msg) n += report(&unexpected, msg + n, sizeof msg - n);
        if (n < sizeof msg) report(&bad, msg + n, sizeof msg - n);
        return nc_errorf(e, "%s: does not fit model '%s':%s", path, g->name, msg);
    }
    return 0;
}

int nc_weights_save(const NcGraph *g, const char *path, NcError *e) {
    int n = 0;
    for (int i = 0; i < g->values.len; i++) n += g->values.data[i].kind == NC_VAL_PARAM;
    const char **names = nc_malloc((size_t)n * sizeof *names);
    int *ndims = nc_malloc((size_t)n * sizeof *ndims);
    const int64_t **shapes = nc_malloc((size_t)n * sizeof *shapes);
    const float **data = nc_malloc((size_t)n * sizeof *data);
    int k = 0, rc = 0;
    for (int i = 0; i < g->values.len; i++) {
        const NcValue *v = &g->values.data[i];
        if (v->kind != NC_VAL_PARAM) continue;
        if (!v->data) {
            rc = nc_errorf(e, "parameter '%s' has no data", v->name);
            break;
        }
        names[k] = v->name, ndims[k] = v->ndim, shapes[k] = v->shape, data[k] = v->data;
        k++;
    }
    if (!rc) rc = nc_st_write_f32(path, n, names, ndims, shapes, data, e);
    free(names);
    free(ndims);
    free(shapes);
    free(data);
    return rc;
}
