/* builtins_math.c — the language's arithmetic and list functions, with
 * Python's meanings (round is round-half-to-even, int truncates), because the
 * width rules of RegNet and EfficientNet are written against Python. */
#include <fenv.h>
#include <math.h>
#include <string.h>

#include "frontend/elab.h"

static Val b_int(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k == V_INT || a[0].k == V_BOOL) return v_int(a[0].u.i);
    double x = arg_num(E, loc, a[0], "int", "x");
    if (!(fabs(x) < 9.2e18)) elab_error(E, loc, "int(): %g is out of range", x);
    return v_int((int64_t)x); /* truncates toward zero, like Python */
}

static Val b_float(Elab *E, NcLoc loc, Val *a) { return v_float(arg_num(E, loc, a[0], "float", "x")); }

static Val to_int(Elab *E, NcLoc loc, double x, const char *fn) {
    if (!(fabs(x) < 9.2e18)) elab_error(E, loc, "%s(): %g is out of range", fn, x);
    return v_int((int64_t)x);
}

static Val b_round(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k == V_INT) return a[0];
    /* nearbyint in the default mode rounds half to even, as Python does. */
    return to_int(E, loc, nearbyint(arg_num(E, loc, a[0], "round", "x")), "round");
}
static Val b_ceil(Elab *E, NcLoc loc, Val *a) {
    return to_int(E, loc, ceil(arg_num(E, loc, a[0], "ceil", "x")), "ceil");
}
static Val b_floor(Elab *E, NcLoc loc, Val *a) {
    return to_int(E, loc, floor(arg_num(E, loc, a[0], "floor", "x")), "floor");
}

static Val b_abs(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k == V_INT) {
        if (a[0].u.i == INT64_MIN) elab_error(E, loc, "abs(): integer overflow");
        return v_int(a[0].u.i < 0 ? -a[0].u.i : a[0].u.i);
    }
    return v_float(fabs(arg_num(E, loc, a[0], "abs", "x")));
}

static Val b_sqrt(Elab *E, NcLoc loc, Val *a) {
    double x = arg_num(E, loc, a[0], "sqrt", "x");
    if (x < 0) elab_error(E, loc, "sqrt() of a negative number (%g)", x);
    return v_float(sqrt(x));
}

static Val b_log(Elab *E, NcLoc loc, Val *a) {
    double x = arg_num(E, loc, a[0], "log", "x");
    if (!(x > 0)) elab_error(E, loc, "log() of a non-positive number (%g)", x);
    return v_float(log(x));
}

static Val b_exp(Elab *E, NcLoc loc, Val *a) { return v_float(exp(arg_num(E, loc, a[0], "exp", "x"))); }

/* min/max over their arguments, or over one list argument. */
static Val extremum(Elab *E, NcLoc loc, Val *a, int want_max, const char *fn) {
    VList *l = a[0].u.l;
    if (l->n == 1 && l->items[0].k == V_LIST) l = l->items[0].u.l;
    if (l->n == 0) elab_error(E, loc, "%s() of nothing", fn);
    Val best = l->items[0];
    arg_num(E, loc, best, fn, "x");
    for (int i = 1; i < l->n; i++) {
        double x = arg_num(E, loc, l->items[i], fn, "x"), b = best.k == V_INT ? (double)best.u.i : best.u.f;
        if (want_max ? x > b : x < b) best = l->items[i];
    }
    return best;
}
static Val b_min(Elab *E, NcLoc loc, Val *a) { return extremum(E, loc, a, 0, "min"); }
static Val b_max(Elab *E, NcLoc loc, Val *a) { return extremum(E, loc, a, 1, "max"); }

static Val b_sum(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k != V_LIST) elab_error(E, loc, "sum() takes a list, got %s", v_kind_name(a[0].k));
    int is_float = 0;
    int64_t si = 0;
    double sf = 0;
    for (int i = 0; i < a[0].u.l->n; i++) {
        Val v = a[0].u.l->items[i];
        if (v.k == V_INT) {
            if (__builtin_add_overflow(si, v.u.i, &si)) elab_error(E, loc, "sum(): integer overflow");
        } else {
            sf += arg_num(E, loc, v, "sum", "items");
            is_float = 1;
        }
    }
    return is_float ? v_float(sf + (double)si) : v_int(si);
}

static Val b_len(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k == V_LIST) return v_int(a[0].u.l->n);
    if (a[0].k == V_STR) return v_int((int64_t)strlen(a[0].u.s));
    elab_error(E, loc, "len() of a %s", v_kind_name(a[0].k));
}

#define MAX_RANGE 10000000
static Val b_range(Elab *E, NcLoc loc, Val *a) {
    VList *l = a[0].u.l;
    if (l->n < 1 || l->n > 3) elab_error(E, loc, "range() takes 1 to 3 integers, got %d arguments", l->n);
    int64_t v[3] = {0, 0, 0};
    for (int i = 0; i < l->n; i++) v[i] = arg_int(E, loc, l->items[i], "range", "bounds");
    int64_t start = l->n == 1 ? 0 : v[0], stop = l->n == 1 ? v[0] : v[1], step = l->n == 3 ? v[2] : 1;
    if (step == 0) elab_error(E, loc, "range() step must not be zero");
    double count = ceil(((double)stop - (double)start) / (double)step);
    if (count < 0) count = 0;
    if (count > MAX_RANGE) elab_error(E, loc, "range() of %.0f items is too long", count);
    Val r = v_list(E, (int)count);
    for (int i = 0; i < (int)count; i++) r.u.l->items[i] = v_int(start + i * step);
    return r;
}

static Val b_str(Elab *E, NcLoc loc, Val *a) {
    if (a[0].k == V_FLOAT) return v_str(nc_arena_sprintf(&E->arena, "%g", a[0].u.f));
    return v_str(v_repr(E, a[0]));
}

static Val b_error(Elab *E, NcLoc loc, Val *a) {
    elab_error(E, loc, "%s", a[0].k == V_STR ? a[0].u.s : v_repr(E, a[0]));
}

static Val b_print(Elab *E, NcLoc loc, Val *a) {
    for (int i = 0; i < a[0].u.l->n; i++) fprintf(stderr, "%s%s", i ? " " : "", v_repr(E, a[0].u.l->items[i]));
    fputc('\n', stderr);
    return v_none();
}

const Builtin nc_builtins_math[] = {
    {"int", "x", b_int},     {"float", "x", b_float}, {"round", "x", b_round}, {"ceil", "x", b_ceil},
    {"floor", "x", b_floor}, {"abs", "x", b_abs},     {"sqrt", "x", b_sqrt},   {"log", "x", b_log},
    {"exp", "x", b_exp},     {"min", "*", b_min},     {"max", "*", b_max},     {"sum", "items", b_sum},
    {"len", "x", b_len},     {"range", "*", b_range}, {"str", "x", b_str},     {"error", "message", b_error},
    {"print", "*", b_print}, {NULL, NULL, NULL},
};
