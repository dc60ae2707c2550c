/* dev_conv_tactic.c — choosing each conv's form by timing both, and the
 * cache file of the choices (dev_conv_tactic.h).  Plain stdio: the device
 * layer builds with runtime/support/base.c alone (tests/gpu/run_dumped.c). */
#include "runtime/device/dev_conv_tactic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/device/dev_step.h"

#define CACHE_MAGIC   "netc-conv-tactics"
#define CACHE_VERSION 1
#define CACHE_MAX     (1 << 20) /* bytes: a cache is a few lines per program */
#define MAX_PROGRAMS  64
/* Runs per form: one to warm up (kernels load, cuDNN and cuBLAS settle), then
 * the mean of a few; enough to tell forms apart that differ by 10%, cheap
 * enough in the emulator's CI runs. */
#define WARMUP_RUNS   1
#define TIMED_RUNS    3

int32_t nc_dev_conv_tactic_count(const NcDevProgram *p) {
    int32_t n = 0;
    for (int64_t s = 0; s < p->nsteps; s++)
        if (p->steps[s].tactic > n) n = p->steps[s].tactic;
    return n;
}

/* FNV-1a over the program's conv descriptors, in order. */
static unsigned long long fingerprint(const NcDevProgram *p) {
    unsigned long long h = 1469598103934665603ull;
    for (int64_t s = 0; s < p->nsteps; s++) {
        const NcDevStep *st = &p->steps[s];
        if (st->kind != NC_DEV_STEP_CONV) continue;
        const unsigned char *b = (const unsigned char *)&st->conv;
        for (size_t i = 0; i < sizeof st->conv; i++) h = (h ^ b[i]) * 1099511628211ull;
        h = (h ^ (unsigned)st->tactic) * 1099511628211ull;
    }
    return h;
}

/* The steps of conv t (1-based) in form f, issued once each in order. */
static int run_form(const NcDevTactics *t, int32_t tactic, int32_t form, NcError *e) {
    for (int64_t s = 0; s < t->prog->nsteps; s++) {
        const NcDevStep *st = &t->prog->steps[s];
        if (st->tactic == tactic && st->form == form &&
            nc_dev_step_issue(t->dev, st, t->kernels, &t->params[s * NC_DEV_MAXPARAMS], e))
            return -1;
    }
    return 0;
}

static int time_form(const NcDevTactics *t, int32_t tactic, int32_t form, double *ms, NcError *e) {
    for (int r = 0; r < WARMUP_RUNS; r++)
        if (run_form(t, tactic, form, e)) return -1;
    if (nc_dev_timer_start(t->dev, e)) return -1;
    for (int r = 0; r < TIMED_RUNS; r++)
        if (run_form(t, tactic, form, e)) return -1;
    if (nc_dev_timer_stop(t->dev, ms, e)) return -1;
    *ms /= TIMED_RUNS;
    return 0;
}

/* A cache file's entries. */
typedef struct Entry {
    int program;
    unsigned long long fp;
    char *forms;
} Entry;

typedef struct Cache {
    Entry e[MAX_PROGRAMS];
    int n;
} Cache;

static void cache_free(Cache *c) {
    for (int i = 0; i < c->n; i++) free(c->e[i].forms);
    c->n = 0;
}

static int corrupt(NcError *e, const char *path, int line, const char *why) {
    return nc_errorf(e, "conv tactic cache %s: line %d: %s (a corrupt file: delete it to time the convs again)", path,
                     line, why);
}

/* Reads path into c.  0: read (or absent: c empty), 1: ignored (another version or device; a notice said so),
 * -1: corrupt. */
static int cache_read(const NcDevTactics *t, const char *path, Cache *c, NcError *e) {
    c->n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *text = nc_malloc(CACHE_MAX + 1);
    const size_t len = fread(text, 1, CACHE_MAX + 1, f);
    fclose(f);
    int rc = 0;
    if (len > CACHE_MAX) {
        rc = corrupt(e, path, 0, "over 1 MB");
        goto done;
    }
    text[len] = 0;
    if (memchr(text, 0, len)) {
        rc = corrupt(e, path, 0, "binary data");
        goto done;
    }
    int line = 0, ended = 0;
    for (char *s = text, *nl; *s; s = nl + 1) {
        line++;
        if (!(nl = strchr(s, '\n'))) {
            rc = corrupt(e, path, line, "truncated (no end of line)");
            goto done;
        }
        *nl = 0;
        if (ended) {
            rc = corrupt(e, path, line, "text after 'end'");
            goto done;
        }
        if (line == 1) {
            int version = 0, used = 0;
            if (sscanf(s, CACHE_MAGIC " %d%n", &version, &used) != 1 || s[used]) {
                rc = corrupt(e, path, line, "not a netc conv tactic cache");
                goto done;
            }
            if (version != CACHE_VERSION) {
                fprintf(stderr, "%s: conv tactic cache %s is version %d, not %d: ignored, the convs timed again\n",
                        t->who, path, version, CACHE_VERSION);
                rc = 1;
                goto done;
            }
        } else if (line == 2) {
            if (strncmp(s, "device ", 7)) {
                rc = corrupt(e, path, line, "expected 'device NAME'");
                goto done;
            }
            if (strcmp(s + 7, nc_dev_name(t->dev))) {
                fprintf(stderr, "%s: conv tactic cache %s is for %s, not %s: ignored, the convs timed again\n", t->who,
                        path, s + 7, nc_dev_name(t->dev));
                rc = 1;
                goto done;
            }
        } else if (!strcmp(s, "end")) {
            ended = 1;
        } else {
            int program = -1, n = -1, used = 0;
            unsigned long long fp = 0;
            if (sscanf(s, "program %d %llx %d %n", &program, &fp, &n, &used) != 3 || program < 0 ||
                program >= MAX_PROGRAMS || n < 1 || (int)strlen(s + used) != n || strspn(s + used, "gc") != (size_t)n ||
                c->n == MAX_PROGRAMS) {
                rc = corrupt(e, path, line, "expected 'program P FINGERPRINT N FORMS' (FORMS: N of g, c)");
                goto done;
            }
            c->e[c->n++] = (Entry){program, fp, nc_strdup(s + used)};
        }
    }
    if (line < 2 || !ended) rc = corrupt(e, path, line, "truncated (no 'end' line)");
done:
    free(text);
    if (rc) cache_free(c);
    return rc;
}

/* The entries, ours replacing any of the same program, through a temporary renamed over path. */
static void cache_write(const NcDevTactics *t, const char *path, Cache *c, const char *forms) {
    int mine = -1;
    for (int i = 0; i < c->n; i++)
        if (c->e[i].program == t->index) mine = i;
    if (mine < 0 && c->n < MAX_PROGRAMS) mine = c->n++, c->e[mine].forms = NULL;
    if (mine < 0) return;
    free(c->e[mine].forms);
    c->e[mine] = (Entry){t->index, fingerprint(t->prog), nc_strdup(forms)};
    char *tmp = nc_malloc(strlen(path) + 32);
    sprintf(tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int bad = !f;
    if (f) {
        fprintf(f, CACHE_MAGIC " %d\ndevice %s\n", CACHE_VERSION, nc_dev_name(t->dev));
        for (int i = 0; i < c->n; i++)
            fprintf(f, "program %d %016llx %d %s\n", c->e[i].program, c->e[i].fp, (int)strlen(c->e[i].forms),
                    c->e[i].forms);
        fprintf(f, "end\n");
        bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
        bad |= fclose(f) != 0;
        bad = bad || rename(tmp, path) != 0;
    }
    if (bad) {
        remove(tmp);
        fprintf(stderr, "%s: conv tactic cache %s not written (the choices hold for this run only)\n", t->who, path);
    }
    free(tmp);
}

static const char *mode_of(const NcDevTactics *t, NcError *e) {
    const char *m = getenv("NETC_CONV_TACTIC");
    if (!m || !*m) return t->default_mode;
    if (strcmp(m, "gemm") && strcmp(m, "cudnn") && strcmp(m, "auto")) {
        nc_errorf(e, "NETC_CONV_TACTIC=%s: expected gemm, cudnn or auto", m);
        return NULL;
    }
    return m;
}

/* Each conv k with want[k] set up as cuDNN's (algorithm, workspace): usable[k] where that worked; one that
 * cuDNN refuses keeps its GEMM form, with a notice. */
static void prepare_convs(const NcDevTactics *t, const char *want, char *usable) {
    for (int64_t s = 0; s < t->prog->nsteps; s++) {
        const NcDevStep *st = &t->prog->steps[s];
        if (st->kind != NC_DEV_STEP_CONV || st->tactic < 1 || !want[st->tactic - 1]) continue;
        float *const *a = &t->params[s * NC_DEV_MAXPARAMS];
        NcError why;
        if (nc_dev_conv_prepare(t->dev, &st->conv, a[0], a[1], a[2], &why))
            fprintf(stderr, "%s: conv %d of program %d keeps netc's kernels: %s\n", t->who, st->tactic - 1, t->index,
                    why.msg);
        else
            usable[st->tactic - 1] = 1;
    }
}

/* auto: the cache's choices where it has this program's (only the convs it says cuDNN for are set up: a
 * later run starts without cuDNN's algorithm search for the others), else each conv timed both ways. */
static int choose_auto(const NcDevTactics *t, int32_t n, char *want, char *usable, int32_t *form, NcError *e) {
    Cache c = {.n = 0};
    const int read = t->cache ? cache_read(t, t->cache, &c, e) : 0;
    if (read < 0) return -1;
    for (int i = 0; i < c.n; i++) {
        const Entry *en = &c.e[i];
        if (en->program != t->index) continue;
        if (en->fp != fingerprint(t->prog) || (int32_t)strlen(en->forms) != n) {
            fprintf(stderr, "%s: conv tactic cache %s is for another build of program %d: its convs timed again\n",
                    t->who, t->cache, t->index);
            break;
        }
        for (int32_t k = 0; k < n; k++) want[k] = en->forms[k] == 'c';
        prepare_convs(t, want, usable);
        for (int32_t k = 0; k < n; k++) form[k] = usable[k] ? NC_DEV_FORM_CUDNN : NC_DEV_FORM_GEMM;
        cache_free(&c);
        return 0;
    }
    prepare_convs(t, want, usable);
    char *forms = nc_calloc((size_t)n + 1, 1);
    int rc = 0;
    for (int32_t k = 0; k < n && !rc; k++) {
        double ms[NC_DEV_NFORMS] = {0, 0};
        NcError why;
        rc = time_form(t, k + 1, NC_DEV_FORM_GEMM, &ms[0], e);
        if (!rc && usable[k] && time_form(t, k + 1, NC_DEV_FORM_CUDNN, &ms[1], &why)) {
            /* a cuDNN status (not a GPU fault: those fail the GEMM form's timing too) keeps the GEMM form */
            fprintf(stderr, "%s: conv %d of program %d keeps netc's kernels: %s\n", t->who, (int)k, t->index, why.msg);
            usable[k] = 0;
        }
        form[k] = usable[k] && ms[1] < ms[0] ? NC_DEV_FORM_CUDNN : NC_DEV_FORM_GEMM;
        forms[k] = form[k] == NC_DEV_FORM_CUDNN ? 'c' : 'g';
        if (getenv("NETC_CONV_TACTIC_VERBOSE"))
            fprintf(stderr, "%s: conv %d of program %d: gemm %.4f ms, cudnn %.4f ms: %s\n", t->who, (int)k, t->index,
                    ms[0], usable[k] ? ms[1] : -1.0, forms[k] == 'c' ? "cudnn" : "gemm");
    }
    if (!rc && t->cache) cache_write(t, t->cache, &c, forms); /* c: empty where it was another device's / version's */
    free(forms);
    cache_free(&c);
    return rc ? -1 : 0;
}

int nc_dev_conv_tactics_choose(const NcDevTactics *t, int32_t *form, NcError *e) {
    const int32_t n = nc_dev_conv_tactic_count(t->prog);
    for (int32_t k = 0; k < n; k++) form[k] = NC_DEV_FORM_GEMM;
    const char *mode = mode_of(t, e);
    if (!mode) return -1;
    if (!n || !strcmp(mode, "gemm")) return 0;
    NcError why;
    if (nc_dev_conv_available(t->dev, &why)) {
        fprintf(stderr, "%s: %s: every conv runs on netc's kernels\n", t->who, why.msg);
        return 0;
    }
    char *want = nc_malloc((size_t)n), *usable = nc_calloc((size_t)n, 1);
    memset(want, 1, (size_t)n);
    int rc = 0;
    if (!strcmp(mode, "cudnn")) {
        prepare_convs(t, want, usable);
        for (int32_t k = 0; k < n; k++) form[k] = usable[k] ? NC_DEV_FORM_CUDNN : NC_DEV_FORM_GEMM;
    } else {
        rc = choose_auto(t, n, want, usable, form, e);
    }
    free(want), free(usable);
    return rc;
}
