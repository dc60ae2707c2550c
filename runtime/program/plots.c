/* plots.c — the pictures of a run, as standalone SVG files (no fonts or
 * scripts needed to view them): the training curves from metrics.jsonl, and a
 * confusion matrix. Written atomically, so a viewer never sees half a file. */
#include "runtime/program/plots.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/support/file_in.h"
#include "runtime/support/json.h"

/* ---- a small SVG writer ------------------------------------------------- */

typedef struct {
    double x0, y0, w, h; /* the plot area in pixels */
    double lo_x, hi_x, lo_y, hi_y;
    int log_y;
} Axes;

static double ax_x(const Axes *a, double x) { return a->x0 + (x - a->lo_x) / (a->hi_x - a->lo_x) * a->w; }
static double ax_y(const Axes *a, double y) {
    if (a->log_y) y = log10(y); /* (lo_y, hi_y are log10 already; callers pass y > 0) */
    return a->y0 + a->h - (y - a->lo_y) / (a->hi_y - a->lo_y) * a->h;
}

/* round numbers: 1, 2 or 5 times a power of ten, about n of them over [lo, hi] */
static double nice_step(double lo, double hi, int n) {
    const double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fix_range(double *lo, double *hi) {
    if (!(*hi > *lo)) *lo -= 0.5, *hi += 0.5;
}

static void frame(FILE *f, const Axes *a, const char *title, const char *xlabel) {
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='white' stroke='#444'/>\n", a->x0, a->y0, a->w,
            a->h);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' font-weight='bold'>%s</text>\n", a->x0, a->y0 - 8, title);
    /* (every loop below draws at most 60 ticks, whatever the ranges) */
    const double sx = nice_step(a->lo_x, a->hi_x, 8);
    int ticks = 0;
    for (double x = ceil(a->lo_x / sx) * sx; x <= a->hi_x + 1e-9 * sx && ticks < 60; x += sx, ticks++) {
        const double px = ax_x(a, x);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", px, a->y0, px, a->y0 + a->h);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='middle'>%g</text>\n", px, a->y0 + a->h + 13, x);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%s</text>\n", a->x0 + a->w / 2,
            a->y0 + a->h + 28, xlabel);
    if (a->log_y) {
        ticks = 0;
        for (double e = floor(a->lo_y); e <= ceil(a->hi_y) && ticks < 60; e++, ticks++) {
            if (e < a->lo_y - 1e-9 || e > a->hi_y + 1e-9) continue;
            const double py = a->y0 + a->h - (e - a->lo_y) / (a->hi_y - a->lo_y) * a->h;
            fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", a->x0, py, a->x0 + a->w, py);
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%g</text>\n", a->x0 - 4, py + 3,
                    pow(10, e));
        }
        return;
    }
    const double sy = nice_step(a->lo_y, a->hi_y, 5);
    ticks = 0;
    for (double y = ceil(a->lo_y / sy) * sy; y <= a->hi_y + 1e-9 * sy && ticks < 60; y += sy, ticks++) {
        const double py = ax_y(a, y);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", a->x0, py, a->x0 + a->w, py);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%g</text>\n", a->x0 - 4, py + 3,
                fabs(y) < 1e-12 * sy ? 0 : y);
    }
}

/* a polyline of the finite points, markers when `dots` */
/* A line through the points, at most the lowest and highest of each half-pixel column: a long run's hundreds of
 * thousands of updates draw the same picture (spikes kept) in a few thousand points. */
static void series(FILE *f, const Axes *a, const double *x, const double *y, int n, const char *colour, double width,
                   int dots) {
    if (n <= 0) return;
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%.1f' points='", colour, width);
    long col = LONG_MIN;
    double lo = 0, hi = 0, lo_x = 0, hi_x = 0;
    for (int i = 0; i <= n; i++) {
        const int ok = i < n && isfinite(y[i]) && (!a->log_y || y[i] > 0);
        const double px = ok ? ax_x(a, x[i]) : 0, py = ok ? ax_y(a, y[i]) : 0;
        if (i < n && !ok) continue;
        if (i == n || lround(px * 2) != col) { /* the column is done: its extremes in the order they came */
            if (col != LONG_MIN) {
                fprintf(f, "%.1f,%.1f ", lo_x < hi_x ? lo_x : hi_x, lo_x < hi_x ? lo : hi);
                if (lo != hi) fprintf(f, "%.1f,%.1f ", lo_x < hi_x ? hi_x : lo_x, lo_x < hi_x ? hi : lo);
            }
            if (i == n) break;
            col = lround(px * 2), lo = hi = py, lo_x = hi_x = px;
        } else {
            if (py < lo) lo = py, lo_x = px;
            if (py > hi) hi = py, hi_x = px;
        }
    }
    fprintf(f, "'/>\n");
    for (int i = 0; i < n && dots; i++)
        if (isfinite(y[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", ax_x(a, x[i]), ax_y(a, y[i]), colour);
}

static void legend(FILE *f, const Axes *a, int k, const char *colour, const char *name) {
    const double x = a->x0 + a->w - 150, y = a->y0 + 14 + 14 * k;
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>", x, y - 4, x + 18, y - 4,
            colour);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10'>%s</text>\n", x + 22, y, name);
}

/* (fclose may move the memory stream's buffer: read buf and len after it) */
static int finish(FILE *f, char **buf, size_t *len, const char *path, NcError *e) {
    fclose(f);
    const int rc = nc_write_file_atomic(path, *buf, *len, e);
    free(*buf);
    return rc;
}

/* ---- the training curves ------------------------------------------------ */

typedef struct {
    NC_VEC(double) v;
} Col;

static void push(Col *c, double v) { nc_vec_push(&c->v, v); }

static double num_of(const NcJson *j, const char *key) {
    const NcJson *v = nc_json_get(j, key);
    return v && v->type == NC_JSON_NUMBER ? v->d : NAN;
}

static void min_max(const Col *c, double *lo, double *hi, int positive) {
    for (int i = 0; i < c->v.len; i++) {
        const double v = c->v.data[i];
        if (!isfinite(v) || (positive && v <= 0)) continue;
        *lo = v < *lo ? v : *lo, *hi = v > *hi ? v : *hi;
    }
}

int plot_training_curves(const char *metrics, const char *svg, NcError *e) {
    char *text;
    size_t len;
    if (nc_read_file_max(metrics, NC_LIMIT_LIST, "a metrics file", &text, &len, e)) return -1;
    Col step = {0}, loss = {0}, lr = {0}, ep_step = {0}, ep_loss = {0}, v_loss = {0}, top1 = {0}, top5 = {0};
    for (char *line = text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        NcJson *j;
        NcError je;
        if (!*line || nc_json_parse(line, strlen(line), metrics, &j, &je)) continue; /* (a torn last line) */
        if (nc_json_get(j, "epoch_end")) {
            push(&ep_step, num_of(j, "step")), push(&ep_loss, num_of(j, "train_loss"));
            push(&v_loss, num_of(j, "val_loss")), push(&top1, num_of(j, "val_top1")),
                push(&top5, num_of(j, "val_top5"));
        } else if (nc_json_get(j, "loss")) {
            push(&step, num_of(j, "step")), push(&loss, num_of(j, "loss")), push(&lr, num_of(j, "lr"));
        }
        nc_json_free(j);
    }
    free(text);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    const double W = 760, PH = 190, GAP = 70;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' font-family='sans-serif'>\n", W,
            40 + 3 * (PH + GAP));
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
    double xlo = 0, xhi = 1;
    min_max(&step, &xlo, &xhi, 0);
    min_max(&ep_step, &xlo, &xhi, 0);
    xlo = 0;
    /* loss: per update (thin), per epoch (train and validation, dots); log scale when it spans a decade */
    Axes a = {70, 30, W - 100, PH, xlo, xhi, INFINITY, -INFINITY, 0};
    min_max(&loss, &a.lo_y, &a.hi_y, 1), min_max(&ep_loss, &a.lo_y, &a.hi_y, 1), min_max(&v_loss, &a.lo_y, &a.hi_y, 1);
    if (!isfinite(a.lo_y)) a.lo_y = 0, a.hi_y = 1; /* (no finite positive loss: no points) */
    if (a.lo_y > 0 && a.hi_y / a.lo_y > 10)
        a.log_y = 1, a.lo_y = floor(log10(a.lo_y) * 4) / 4, a.hi_y = ceil(log10(a.hi_y) * 4) / 4;
    else
        a.lo_y = 0;
    fix_range(&a.lo_y, &a.hi_y);
    frame(f, &a, "loss", "update");
    series(f, &a, step.v.data, loss.v.data, step.v.len, "#9ecae1", 1, 0);
    series(f, &a, ep_step.v.data, ep_loss.v.data, ep_step.v.len, "#08519c", 2, 1);
    series(f, &a, ep_step.v.data, v_loss.v.data, ep_step.v.len, "#e6550d", 2, 1);
    legend(f, &a, 0, "#9ecae1", "train, per update");
    legend(f, &a, 1, "#08519c", "train, epoch mean");
    legend(f, &a, 2, "#e6550d", "validation");
    /* learning rate */
    Axes b = {70, a.y0 + PH + GAP, W - 100, PH, xlo, xhi, 0, -INFINITY, 0};
    min_max(&lr, &b.lo_y, &b.hi_y, 0);
    if (!isfinite(b.hi_y)) b.hi_y = 1;
    fix_range(&b.lo_y, &b.hi_y);
    frame(f, &b, "learning rate", "update");
    series(f, &b, step.v.data, lr.v.data, step.v.len, "#31a354", 1.5, 0);
    /* validation accuracy per epoch */
    Axes c = {70, b.y0 + PH + GAP, W - 100, PH, xlo, xhi, 0, 100, 0};
    double lo = INFINITY, hi = -INFINITY;
    min_max(&top1, &lo, &hi, 0), min_max(&top5, &lo, &hi, 0);
    if (isfinite(lo)) c.lo_y = floor(lo / 10) * 10;
    frame(f, &c, isfinite(lo) ? "validation accuracy (%)" : "validation accuracy (%): no --val", "update");
    series(f, &c, ep_step.v.data, top1.v.data, ep_step.v.len, "#756bb1", 2, 1);
    series(f, &c, ep_step.v.data, top5.v.data, ep_step.v.len, "#bcbddc", 2, 1);
    legend(f, &c, 0, "#756bb1", "top-1");
    legend(f, &c, 1, "#bcbddc", "top-5");
    fprintf(f, "</svg>\n");
    Col *cols[] = {&step, &loss, &lr, &ep_step, &ep_loss, &v_loss, &top1, &top5};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) free(cols[i]->v.data);
    return finish(f, &buf, &blen, svg, e);
}

/* ---- the confusion matrix ------------------------------------------------ */

static void put_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '\'')
            fputs("&apos;", f);
        else if ((unsigned char)*s >= 32)
            fputc(*s, f);
    }
}

/* Above this many classes the picture shows the SHOWN classes most often confused, not all of them: at the
 * seed's 5000 classes every cell would be a sixth of a pixel, the errors invisible. */
enum { CONFUSION_ALL = 100, CONFUSION_SHOWN = 50 };

static int64_t off_diagonal(const int64_t *cm, int K, int k) {
    int64_t n = 0;
    for (int j = 0; j < K; j++)
        if (j != k) n += cm[(int64_t)k * K + j] + cm[(int64_t)j * K + k];
    return n;
}

int plot_confusion(const int64_t *cm, int K, const char *const *names, const char *title, const char *svg, NcError *e) {
    /* the classes drawn, in class order: all, or those with the most errors as the true or the predicted class */
    int *sel = nc_malloc((size_t)K * sizeof(int)), n = K;
    for (int k = 0; k < K; k++) sel[k] = k;
    if (K > CONFUSION_ALL) {
        int64_t *err = nc_malloc((size_t)K * sizeof(int64_t));
        for (int k = 0; k < K; k++) err[k] = off_diagonal(cm, K, k);
        for (int i = 0; i < CONFUSION_SHOWN; i++) /* a partial selection sort: the most errors first, ties by index */
            for (int j = i + 1; j < K; j++)
                if (err[sel[j]] > err[sel[i]] || (err[sel[j]] == err[sel[i]] && sel[j] < sel[i])) {
                    const int t = sel[i];
                    sel[i] = sel[j], sel[j] = t;
                }
        n = CONFUSION_SHOWN;
        for (int i = 1; i < n; i++) /* back into class order */
            for (int j = i; j > 0 && sel[j] < sel[j - 1]; j--) {
                const int t = sel[j];
                sel[j] = sel[j - 1], sel[j - 1] = t;
            }
        free(err);
    }
    const double cell = n <= 10 ? 40 : n <= 30 ? 24 : 8, margin = 130;
    const int numbers = n <= 30;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    const double side = margin + cell * n + 20;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' font-family='sans-serif'>\n",
            side + 10, side + 40);
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n<text x='10' y='20' font-size='13' "
               "font-weight='bold'>");
    put_text(f, title);
    fprintf(f, "</text>\n<text x='10' y='36' font-size='10'>rows: true class; columns: predicted; colour: share of the "
               "row");
    if (n < K)
        fprintf(f,
                " (all %d predictions); the %d of %d classes most often confused, as the true or the predicted class",
                K, n, K);
    fprintf(f, "</text>\n");
    const double x0 = margin, y0 = margin + 30;
    for (int t = 0; t < n; t++) {
        int64_t row = 0;
        for (int p = 0; p < K; p++) row += cm[(int64_t)sel[t] * K + p];
        for (int p = 0; p < n; p++) {
            const int64_t v = cm[(int64_t)sel[t] * K + sel[p]];
            const double s = row ? (double)v / (double)row : 0;
            /* white to dark blue on the diagonal, to dark red off it */
            const int g = (int)lround(255 * (1 - s));
            if (v)
                fprintf(f, "<rect x='%.1f' y='%.1f' width='%.2f' height='%.2f' fill='rgb(%d,%d,%d)'/>\n", x0 + p * cell,
                        y0 + t * cell, cell, cell, t == p ? g : 255, g, t == p ? 255 : g);
            if (numbers && v)
                fprintf(f, "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='middle' fill='%s'>%lld</text>\n",
                        x0 + (p + 0.5) * cell, y0 + (t + 0.5) * cell + 3.5, n <= 10 ? 11 : 8,
                        s > 0.5 ? "white" : "black", (long long)v);
        }
    }
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n", x0, y0, cell * n,
            cell * n);
    for (int k = 0; k < n; k++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", sel[k]);
        const char *name = names && names[sel[k]] ? names[sel[k]] : idx;
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='end'>", x0 - 4, y0 + (k + 0.5) * cell + 3,
                n <= 30 ? 10 : 6);
        put_text(f, name);
        fprintf(f, "</text>\n<text transform='translate(%.1f,%.1f) rotate(-60)' font-size='%d'>", x0 + (k + 0.5) * cell,
                y0 - 4, n <= 30 ? 10 : 6);
        put_text(f, name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
    free(sel);
    return finish(f, &buf, &blen, svg, e);
}

int write_per_class_json(const int64_t *cm, int K, const char *const *names, const char *path, NcError *e) {
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    int64_t total = 0, hit = 0;
    double macc = 0;
    int present = 0;
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) total += cm[(int64_t)t * K + p], hit += t == p ? cm[(int64_t)t * K + p] : 0;
    fprintf(f, "{\"images\": %lld, \"top1\": %.6f, \"per_class\": [", (long long)total,
            total ? (double)hit / (double)total : 0);
    for (int t = 0, first = 1; t < K; t++) {
        int64_t n = 0, predicted = 0;
        for (int p = 0; p < K; p++) n += cm[(int64_t)t * K + p], predicted += cm[(int64_t)p * K + t];
        if (!n) continue;
        const int64_t ok = cm[(int64_t)t * K + t];
        macc += (double)ok / (double)n, present++;
        fprintf(f, "%s\n  {\"class\": %d, ", first ? "" : ",", t);
        if (names && names[t]) fprintf(f, "\"label\": "), nc_json_put_str(f, names[t]), fprintf(f, ", ");
        fprintf(f, "\"n\": %lld, \"top1\": %.6f, \"precision\": %.6f, \"most_confused_with\": ", (long long)n,
                (double)ok / (double)n, predicted ? (double)ok / (double)predicted : 0);
        int worst = -1;
        for (int p = 0; p < K; p++)
            if (p != t && cm[(int64_t)t * K + p] && (worst < 0 || cm[(int64_t)t * K + p] > cm[(int64_t)t * K + worst]))
                worst = p;
        if (worst < 0)
            fprintf(f, "null}");
        else
            fprintf(f, "%d}", worst);
        first = 0;
    }
    fprintf(f, "\n], \"mean_class_top1\": %.6f}\n", present ? macc / present : 0);
    return finish(f, &buf, &blen, path, e);
}
