/* elab.c — the evaluator: runs a .nn model body for one input size and
 * records every layer call as graph nodes.  Errors unwind with longjmp to
 * nc_nn_elaborate, which frees the arena (and the graph) in one place. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "frontend/elab.h"
#include "frontend/nn.h"

/* ---- errors ---------------------------------------------------------- */

void elab_error(Elab *E, NcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nc_verror_at(E->e, loc, fmt, ap);
    va_end(ap);
    /* The chain of calls that led here, innermost first (at most 8). */
    for (int i = E->ncalls - 1, shown = 0; i >= 0 && shown < 8; i--, shown++)
        nc_note_at(E->e, E->calls[i].loc, "in %s, called from here", E->calls[i].fn);
    longjmp(E->jb, 1);
}

/* ---- values ---------------------------------------------------------- */

Val v_list(Elab *E, int n) {
    Val v = {V_LIST, {0}};
    v.u.l = nc_arena_alloc(&E->arena, sizeof(VList));
    v.u.l->n = n;
    v.u.l->items = nc_arena_alloc(&E->arena, (size_t)(n ? n : 1) * sizeof(Val));
    return v;
}

const char *v_kind_name(VKind k) {
    static const char *names[] = {"none", "bool", "int", "float", "string", "list", "tensor", "function", "function"};
    return names[k];
}

/* The text of a value other than a list: a constant, or written into b. */
static const char *scalar_text(Elab *E, Val v, char *b, size_t cap) {
    char shape[128];
    switch (v.k) {
    case V_NONE: return "none";
    case V_BOOL: return v.u.i ? "true" : "false";
    case V_INT: snprintf(b, cap, "%lld", (long long)v.u.i); return b;
    case V_FLOAT: snprintf(b, cap, "%.17g", v.u.f); return b;
    case V_STR: return v.u.s;
    case V_TENSOR: {
        const NcValue *t = nc_val(E->g, v.u.t);
        snprintf(b, cap, "tensor%s", nc_shape_str(t->ndim, t->shape, shape, sizeof shape));
        return b;
    }
    case V_FUNC: snprintf(b, cap, "<def %s>", v.u.fn->ast->name); return b;
    case V_BUILTIN: snprintf(b, cap, "<builtin %s>", elab_builtin(v.u.b)->name); return b;
    case V_LIST: break;
    }
    return "?";
}

/* A list's text is written in two passes (measure, then fill one arena
 * buffer), at most ELAB_MAX_STRING bytes, with lists nested deeper than
 * REPR_MAX_DEPTH shown as "[...]": linear time and bounded stack for any list
 * a description can build, in a message or in str(). */
#define REPR_MAX_DEPTH 64
typedef struct Repr {
    Elab *E;
    char *out; /* NULL while measuring */
    size_t n;
} Repr;

static void repr_put(Repr *r, const char *t) {
    for (; *t && r->n < ELAB_MAX_STRING; t++, r->n++)
        if (r->out) r->out[r->n] = *t;
}

static void repr_list(Repr *r, Val v, int depth) {
    if (depth >= REPR_MAX_DEPTH) {
        repr_put(r, "[...]");
        return;
    }
    repr_put(r, "[");
    for (int i = 0; i < v.u.l->n && r->n < ELAB_MAX_STRING; i++) {
        char b[256];
        Val it = v.u.l->items[i];
        if (i) repr_put(r, ", ");
        if (it.k == V_LIST)
            repr_list(r, it, depth + 1);
        else
            repr_put(r, scalar_text(r->E, it, b, sizeof b));
    }
    repr_put(r, "]");
}

const char *v_repr(Elab *E, Val v) {
    if (v.k == V_LIST) {
        Repr r = {E, NULL, 0};
        repr_list(&r, v, 0);
        r.out = nc_arena_alloc(&E->arena, r.n + 1);
        r.n = 0;
        repr_list(&r, v, 0);
        return r.out;
    }
    char b[256];
    const char *t = scalar_text(E, v, b, sizeof b);
    return t == b ? nc_arena_strdup(&E->arena, b) : t;
}

int64_t arg_int(Elab *E, NcLoc loc, Val v, const char *fn, const char *param) {
    if (v.k == V_INT) return v.u.i;
    if (v.k == V_FLOAT && v.u.f == floor(v.u.f) && fabs(v.u.f) < 9e15) return (int64_t)v.u.f;
    elab_error(E, loc, "%s: argument '%s' must be an integer, got %s %s", fn, param, v_kind_name(v.k), v_repr(E, v));
}

double arg_num(Elab *E, NcLoc loc, Val v, const char *fn, const char *param) {
    if (v.k == V_INT) return (double)v.u.i;
    if (v.k == V_FLOAT) return v.u.f;
    elab_error(E, loc, "%s: argument '%s' must be a number, got %s", fn, param, v_kind_name(v.k));
}

int arg_bool(Elab *E, NcLoc loc, Val v, const char *fn, const char *param) {
    if (v.k == V_BOOL) return (int)v.u.i;
    elab_error(E, loc, "%s: argument '%s' must be true or false, got %s", fn, param, v_kind_name(v.k));
}

int arg_tensor(Elab *E, NcLoc loc, Val v, const char *fn, const char *param) {
    if (v.k == V_TENSOR) return v.u.t;
    elab_error(E, loc, "%s: argument '%s' must be a tensor, got %s %s", fn, param, v_kind_name(v.k), v_repr(E, v));
}

void arg_ints(Elab *E, NcLoc loc, Val v, const char *fn, const char *param, int n, int *out) {
    if (v.k == V_LIST) {
        if (v.u.l->n != n) elab_error(E, loc, "%s: argument '%s' must have %d entries, got %d", fn, param, n, v.u.l->n);
        for (int i = 0; i < n; i++) {
            int64_t x = arg_int(E, loc, v.u.l->items[i], fn, param);
            if (x < -(1 << 30) || x > (1 << 30))
                elab_error(E, loc, "%s: '%s' value %lld is out of range", fn, param, (long long)x);
            out[i] = (int)x;
        }
        return;
    }
    int64_t x = arg_int(E, loc, v, fn, param);
    if (x < -(1 << 30) || x > (1 << 30))
        elab_error(E, loc, "%s: '%s' value %lld is out of range", fn, param, (long long)x);
    for (int i = 0; i < n; i++) out[i] = (int)x;
}

/* ---- name scopes and graph building --------------------------------- */

const char *elab_scope_str(Elab *E) {
    const char *s = "";
    for (int i = 0; i < E->nscope; i++) s = nc_arena_sprintf(&E->arena, "%s%s%s", s, i ? "." : "", E->scope[i]);
    return s;
}

const char *elab_param_name(Elab *E, NcLoc loc, const char *fn, const char *leaf) {
    if (E->nscope == 0)
        elab_error(E, loc,
                   "%s has parameters and needs a name: write 'NAME: %s(...)' or put it inside 'with NAME { ... }'", fn,
                   fn);
    return nc_arena_sprintf(&E->arena, "%s.%s", elab_scope_str(E), leaf);
}

int elab_param(Elab *E, NcLoc loc, const char *fn, const char *leaf, NcParamRole role, int ndim, const int64_t *shape) {
    const char *name = elab_param_name(E, loc, fn, leaf);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1) {
            char b[128];
            elab_error(E, loc, "%s: parameter '%s' would have shape %s", fn, name,
                       nc_shape_str(ndim, shape, b, sizeof b));
        }
    NcError err;
    int id = nc_graph_add_param(E->g, name, role, ndim, shape, &err);
    if (id < 0) elab_error(E, loc, "%s", err.msg);
    return id;
}

int elab_node(Elab *E, NcLoc loc, NcOpKind op, int nin, const int *in, const NcAttrs *a) {
    NcError err;
    const char *scope = elab_scope_str(E);
    int n = nc_graph_add_node(E->g, op, nin, in, a, scope, &err);
    if (n < 0) {
        if (scope[0]) elab_error(E, loc, "in layer '%s': %s", scope, err.msg);
        elab_error(E, loc, "%s", err.msg);
    }
    return n;
}

/* ---- environments ---------------------------------------------------- */

static Val *env_find(Env *env, const char *name) {
    for (int i = env->n - 1; i >= 0; i--)
        if (env->b[i].name == name) return &env->b[i].v;
    return NULL;
}

static void env_set(Elab *E, Env *env, const char *name, Val v) {
    Val *slot = env_find(env, name);
    if (slot) {
        *slot = v;
        return;
    }
    if (env->n == env->cap) {
        int cap = env->cap ? env->cap * 2 : 16;
        Binding *b = nc_arena_alloc(&E->arena, (size_t)cap * sizeof *b);
        if (env->n) memcpy(b, env->b, (size_t)env->n * sizeof *b);
        env->b = b;
        env->cap = cap;
    }
    env->b[env->n].name = name;
    env->b[env->n].v = v;
    env->n++;
}

static Val *module_lookup(Module *m, const char *name, int depth) {
    Val *v = env_find(&m->globals, name);
    if (v || depth > 32) return v;
    for (int i = m->nimports - 1; i >= 0; i--)
        if ((v = module_lookup(m->imports[i], name, depth + 1))) return v;
    return NULL;
}

static double edit_distance(const char *a, const char *b);

static int name_exists(Elab *E, const char *name) {
    return (E->frame && env_find(E->frame, name)) || module_lookup(E->mod, name, 0) || elab_find_builtin(name) >= 0;
}

/* "unknown function 'conv3d'; did you mean 'conv2d'?" — the closest builtin
 * or definition in reach. */
_Noreturn static void unknown_function(Elab *E, const NcAst *n) {
    const char *best = NULL;
    double bd = 3;
    for (int i = 0; i < elab_builtin_count(); i++) {
        double d = edit_distance(n->name, elab_builtin(i)->name);
        if (d < bd) bd = d, best = elab_builtin(i)->name;
    }
    for (int i = 0; i < E->nmods; i++)
        for (int j = 0; j < E->mods[i]->globals.n; j++) {
            double d = edit_distance(n->name, E->mods[i]->globals.b[j].name);
            if (d < bd) bd = d, best = E->mods[i]->globals.b[j].name;
        }
    if (best) elab_error(E, n->loc, "unknown function '%s'; did you mean '%s'?", n->name, best);
    elab_error(E, n->loc, "unknown function '%s'", n->name);
}

static Val lookup(Elab *E, const NcAst *n) {
    Val *v = E->frame ? env_find(E->frame, n->name) : NULL;
    if (!v) v = module_lookup(E->mod, n->name, 0);
    if (v) return *v;
    int b = elab_find_builtin(n->name);
    if (b >= 0) {
        Val r = {V_BUILTIN, {.b = b}};
        return r;
    }
    elab_error(E, n->loc, "unknown name '%s'", n->name);
}

/* ---- expressions ----------------------------------------------------- */

static Val eval(Elab *E, const NcAst *n);
static int exec_block(Elab *E, const NcAst *block, Val *ret);

static int truthy(Elab *E, NcLoc loc, Val v) {
    switch (v.k) {
    case V_NONE: return 0;
    case V_BOOL:
    case V_INT: return v.u.i != 0;
    case V_FLOAT: return v.u.f != 0;
    case V_STR: return v.u.s[0] != 0;
    case V_LIST: return v.u.l->n != 0;
    default: elab_error(E, loc, "a %s has no truth value", v_kind_name(v.k));
    }
}

static int is_num(Val v) { return v.k == V_INT || v.k == V_FLOAT; }
static double num(Val v) { return v.k == V_INT ? (double)v.u.i : v.u.f; }

static int64_t floordiv_i(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static const char *op_text[] = {"+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">="};

static Val tensor_binop(Elab *E, const NcAst *n, Val a, Val b) {
    if (a.k != V_TENSOR || b.k != V_TENSOR || (n->op != OP_ADD && n->op != OP_MUL))
        elab_error(E, n->loc, "'%s' is not defined between %s and %s (tensors support + and * with each other)",
                   op_text[n->op], v_kind_name(a.k), v_kind_name(b.k));
    int in[2] = {a.u.t, b.u.t};
    NcAttrs at = nc_attrs_default();
    int node = elab_node(E, n->loc, n->op == OP_ADD ? NC_OP_ADD : NC_OP_MUL, 2, in, &at);
    return v_tensor(E->g->nodes.data[node].outputs[0]);
}

static Val compare(Elab *E, const NcAst *n, Val a, Val b) {
    int c;
    if (is_num(a) && is_num(b)) {
        double x = num(a), y = num(b);
        if (a.k == V_INT && b.k == V_INT)
            c = a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
        else
            c = x < y ? -1 : x > y;
    } else if (a.k == V_STR && b.k == V_STR) {
        c = strcmp(a.u.s, b.u.s);
    } else if ((a.k == V_BOOL && b.k == V_BOOL) || (a.k == V_NONE || b.k == V_NONE)) {
        if (n->op != OP_EQ && n->op != OP_NE)
            elab_error(E, n->loc, "'%s' does not order %s values", op_text[n->op], v_kind_name(a.k));
        c = !(a.k == b.k && (a.k == V_NONE || a.u.i == b.u.i));
    } else if (n->op == OP_EQ || n->op == OP_NE) {
        c = 1; /* values of different kinds are unequal */
        if (a.k == b.k && a.k == V_TENSOR) c = a.u.t != b.u.t;
    } else {
        elab_error(E, n->loc, "cannot compare %s with %s", v_kind_name(a.k), v_kind_name(b.k));
    }
    switch (n->op) {
    case OP_EQ: return v_bool(c == 0);
    case OP_NE: return v_bool(c != 0);
    case OP_LT: return v_bool(c < 0);
    case OP_LE: return v_bool(c <= 0);
    case OP_GT: return v_bool(c > 0);
    default: return v_bool(c >= 0);
    }
}

static Val arith(Elab *E, const NcAst *n, Val a, Val b) {
    if (n->op >= OP_EQ) return compare(E, n, a, b);
    if (a.k == V_TENSOR || b.k == V_TENSOR) return tensor_binop(E, n, a, b);
    if (n->op == OP_ADD && a.k == V_STR && b.k == V_STR) {
        if (strlen(a.u.s) + strlen(b.u.s) > ELAB_MAX_STRING)
            elab_error(E, n->loc, "string longer than %d bytes", ELAB_MAX_STRING);
        return v_str(nc_arena_sprintf(&E->arena, "%s%s", a.u.s, b.u.s));
    }
    if (n->op == OP_ADD && a.k == V_LIST && b.k == V_LIST) {
        if ((int64_t)a.u.l->n + b.u.l->n > ELAB_MAX_LIST)
            elab_error(E, n->loc, "list longer than %d items", ELAB_MAX_LIST);
        Val r = v_list(E, a.u.l->n + b.u.l->n);
        memcpy(r.u.l->items, a.u.l->items, (size_t)a.u.l->n * sizeof(Val));
        memcpy(r.u.l->items + a.u.l->n, b.u.l->items, (size_t)b.u.l->n * sizeof(Val));
        return r;
    }
    if (a.k == V_BOOL) a.k = V_INT;
    if (b.k == V_BOOL) b.k = V_INT;
    if (!is_num(a) || !is_num(b))
        elab_error(E, n->loc, "'%s' is not defined between %s and %s", op_text[n->op], v_kind_name(a.k),
                   v_kind_name(b.k));
    if (a.k == V_INT && b.k == V_INT) {
        int64_t x = a.u.i, y = b.u.i, r;
        switch (n->op) {
        case OP_ADD:
            if (__builtin_add_overflow(x, y, &r)) goto overflow;
            return v_int(r);
        case OP_SUB:
            if (__builtin_sub_overflow(x, y, &r)) goto overflow;
            return v_int(r);
        case OP_MUL:
            if (__builtin_mul_overflow(x, y, &r)) goto overflow;
            return v_int(r);
        case OP_DIV:
            if (y == 0) goto divzero;
            return v_float((double)x / (double)y);
        case OP_FLOORDIV:
            if (y == 0) goto divzero;
            if (x == INT64_MIN && y == -1) goto overflow;
            return v_int(floordiv_i(x, y));
        case OP_MOD:
            if (y == 0) goto divzero;
            if (y == -1) return v_int(0);
            return v_int(x - floordiv_i(x, y) * y);
        case OP_POW:
            if (y >= 0) {
                r = 1;
                for (int64_t i = 0; i < y; i++)
                    if (__builtin_mul_overflow(r, x, &r)) goto overflow;
                return v_int(r);
            }
            return v_float(pow((double)x, (double)y));
        default: break;
        }
    }
    double x = num(a), y = num(b);
    switch (n->op) {
    case OP_ADD: return v_float(x + y);
    case OP_SUB: return v_float(x - y);
    case OP_MUL: return v_float(x * y);
    case OP_DIV:
        if (y == 0) goto divzero;
        return v_float(x / y);
    case OP_FLOORDIV:
        if (y == 0) goto divzero;
        return v_float(floor(x / y));
    case OP_MOD:
        if (y == 0) goto divzero;
        return v_float(x - floor(x / y) * y);
    case OP_POW: return v_float(pow(x, y));
    default: break;
    }
divzero:
    elab_error(E, n->loc, "division by zero");
overflow:
    elab_error(E, n->loc, "integer overflow in '%s'", op_text[n->op]);
}

static const char *label_text(Elab *E, const NcAst *at, Val v) {
    if (v.k == V_INT) return nc_arena_sprintf(&E->arena, "%lld", (long long)v.u.i);
    if (v.k == V_STR && v.u.s[0]) return v.u.s;
    elab_error(E, at->loc, "a label must be a non-empty string or an integer, got %s %s", v_kind_name(v.k),
               v_repr(E, v));
}

static void push_scope(Elab *E, NcLoc loc, const char *s) {
    if (E->nscope == ELAB_MAX_SCOPE) elab_error(E, loc, "names nested more than %d deep", ELAB_MAX_SCOPE);
    E->scope[E->nscope++] = s;
}

static double edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

/* Binds positional and keyword arguments to parameter names; fills defaults
 * (evaluated lazily for user functions: defaults[i] is then NULL and
 * default_ast[i] is used). */
static void bind_args(Elab *E, NcLoc loc, const char *fn, int nparams, const char *const *pnames, int nargs,
                      const Val *args, const char *const *kw, Val *out, int *set) {
    for (int i = 0; i < nparams; i++) set[i] = 0;
    for (int a = 0; a < nargs; a++) {
        int slot = -1;
        if (!kw[a]) {
            if (a >= nparams)
                elab_error(E, loc, "%s() takes %d argument%s but %d were given", fn, nparams, nparams == 1 ? "" : "s",
                           nargs);
            slot = a;
        } else {
            for (int i = 0; i < nparams; i++)
                if (pnames[i] == kw[a] || strcmp(pnames[i], kw[a]) == 0) slot = i;
            if (slot < 0) {
                const char *best = NULL;
                double bd = 3;
                for (int i = 0; i < nparams; i++) {
                    double d = edit_distance(kw[a], pnames[i]);
                    if (d < bd) bd = d, best = pnames[i];
                }
                if (best) elab_error(E, loc, "%s() has no parameter '%s'; did you mean '%s'?", fn, kw[a], best);
                elab_error(E, loc, "%s() has no parameter '%s'", fn, kw[a]);
            }
        }
        if (set[slot]) elab_error(E, loc, "%s(): argument '%s' given twice", fn, pnames[slot]);
        out[slot] = args[a];
        set[slot] = 1;
    }
}

static Val call_user(Elab *E, NcLoc loc, const FnDef *fd, int nargs, const Val *args, const char *const *kw) {
    const NcAst *def = fd->ast;
    int np = def->nitems;
    Val *vals = nc_arena_alloc(&E->arena, (size_t)(np ? np : 1) * sizeof(Val));
    int *set = nc_arena_alloc(&E->arena, (size_t)(np ? np : 1) * sizeof(int));
    bind_args(E, loc, def->name, np, def->names, nargs, args, kw, vals, set);
    if (E->ncalls == ELAB_MAX_CALLS)
        elab_error(E, loc, "calls nested more than %d deep (endless recursion?)", ELAB_MAX_CALLS);
    E->calls[E->ncalls].fn = def->name;
    E->calls[E->ncalls].loc = loc;
    E->ncalls++;
    Env *saved_frame = E->frame;
    Module *saved_mod = E->mod;
    Env *frame = nc_arena_alloc(&E->arena, sizeof *frame);
    E->frame = frame;
    E->mod = fd->mod;
    /* Defaults are evaluated in the function's own module, at call time. */
    for (int i = 0; i < np; i++) {
        if (!set[i]) {
            if (!def->items[i]) {
                E->frame = saved_frame, E->mod = saved_mod, E->ncalls--;
                elab_error(E, loc, "%s() is missing argument '%s'", def->name, def->names[i]);
            }
            vals[i] = eval(E, def->items[i]);
        }
        env_set(E, frame, def->names[i], vals[i]);
    }
    Val ret = v_none();
    exec_block(E, def->body, &ret);
    E->frame = saved_frame;
    E->mod = saved_mod;
    E->ncalls--;
    return ret;
}

static Val call_builtin(Elab *E, NcLoc loc, int b, int nargs, const Val *args, const char *const *kw) {
    const Builtin *bi = elab_builtin(b);
    ParsedSpec *ps = &E->specs[b];
    if (ps->variadic) {
        for (int a = 0; a < nargs; a++)
            if (kw[a]) elab_error(E, loc, "%s() takes no keyword arguments", bi->name);
        Val l = v_list(E, nargs);
        memcpy(l.u.l->items, args, (size_t)nargs * sizeof(Val));
        return bi->fn(E, loc, &l);
    }
    Val vals[16];
    int set[16];
    bind_args(E, loc, bi->name, ps->n, ps->names, nargs, args, kw, vals, set);
    for (int i = 0; i < ps->n; i++)
        if (!set[i]) {
            if (!ps->has_default[i]) elab_error(E, loc, "%s() is missing argument '%s'", bi->name, ps->names[i]);
            vals[i] = ps->defaults[i];
        }
    return bi->fn(E, loc, vals);
}

/* Evaluates a call; with a label, the callee runs inside that name scope but
 * its arguments are evaluated outside it. */
static Val eval_call(Elab *E, const NcAst *n, const char *label, NcLoc label_loc) {
    if (n->lhs->kind == ND_NAME && !name_exists(E, n->lhs->name)) unknown_function(E, n->lhs);
    Val callee = eval(E, n->lhs);
    Val *args = nc_arena_alloc(&E->arena, (size_t)(n->nitems ? n->nitems : 1) * sizeof(Val));
    for (int i = 0; i < n->nitems; i++) args[i] = eval(E, n->items[i]);
    if (label) push_scope(E, label_loc, label);
    Val r;
    if (callee.k == V_FUNC) {
        if (callee.u.fn->ast->kind == ND_MODEL) elab_error(E, n->loc, "a model cannot be called; use a def");
        r = call_user(E, n->loc, callee.u.fn, n->nitems, args, n->names);
    } else if (callee.k == V_BUILTIN) {
        r = call_builtin(E, n->loc, callee.u.b, n->nitems, args, n->names);
    } else {
        elab_error(E, n->lhs->loc, "%s %s is not a function", v_kind_name(callee.k), v_repr(E, callee));
    }
    if (label) E->nscope--;
    return r;
}

static Val tensor_attr(Elab *E, const NcAst *n, Val obj) {
    if (obj.k != V_TENSOR) elab_error(E, n->loc, "a %s has no attribute '%s'", v_kind_name(obj.k), n->name);
    const NcValue *t = nc_val(E->g, obj.u.t);
    if (strcmp(n->name, "shape") == 0) {
        Val l = v_list(E, t->ndim);
        for (int i = 0; i < t->ndim; i++) l.u.l->items[i] = v_int(t->shape[i]);
        return l;
    }
    static const char *dims[] = {"batch", "channels", "height", "width"};
    for (int i = 0; i < 4; i++)
        if (strcmp(n->name, dims[i]) == 0) {
            if (t->ndim <= i) elab_error(E, n->loc, "a %d-d tensor has no %s", t->ndim, dims[i]);
            return v_int(t->shape[i]);
        }
    elab_error(E, n->loc, "tensors have no attribute '%s' (they have shape, batch, channels, height, width)", n->name);
}

_Noreturn static void too_deep(Elab *E, NcLoc loc) {
    elab_error(E, loc, "expressions, blocks and calls nested more than %d deep", ELAB_MAX_DEPTH);
}

static Val eval_node(Elab *E, const NcAst *n);
static Val eval(Elab *E, const NcAst *n) {
    if (++E->depth > ELAB_MAX_DEPTH) too_deep(E, n->loc);
    Val v = eval_node(E, n);
    E->depth--;
    return v;
}

static Val eval_node(Elab *E, const NcAst *n) {
    switch (n->kind) {
    case ND_INT: return v_int(n->ival);
    case ND_FLOAT: return v_float(n->fval);
    case ND_STR: return v_str(n->name);
    case ND_TRUE: return v_bool(1);
    case ND_FALSE: return v_bool(0);
    case ND_NONE: return v_none();
    case ND_NAME: return lookup(E, n);
    case ND_LIST: {
        Val l = v_list(E, n->nitems);
        for (int i = 0; i < n->nitems; i++) l.u.l->items[i] = eval(E, n->items[i]);
        return l;
    }
    case ND_BINOP: {
        Val a = eval(E, n->lhs), b = eval(E, n->rhs);
        return arith(E, n, a, b);
    }
    case ND_NEG: {
        Val a = eval(E, n->lhs);
        if (a.k == V_INT) {
            if (a.u.i == INT64_MIN) elab_error(E, n->loc, "integer overflow in '-'");
            return v_int(-a.u.i);
        }
        if (a.k == V_FLOAT) return v_float(-a.u.f);
        elab_error(E, n->loc, "cannot negate a %s", v_kind_name(a.k));
    }
    case ND_NOT: return v_bool(!truthy(E, n->loc, eval(E, n->lhs)));
    case ND_AND: {
        Val a = eval(E, n->lhs);
        return truthy(E, n->loc, a) ? eval(E, n->rhs) : a;
    }
    case ND_OR: {
        Val a = eval(E, n->lhs);
        return truthy(E, n->loc, a) ? a : eval(E, n->rhs);
    }
    case ND_TERNARY: return truthy(E, n->cond->loc, eval(E, n->cond)) ? eval(E, n->lhs) : eval(E, n->rhs);
    case ND_CALL: return eval_call(E, n, NULL, n->loc);
    case ND_LABELED: return eval_call(E, n->rhs, label_text(E, n->lhs, eval(E, n->lhs)), n->lhs->loc);
    case ND_INDEX: {
        Val obj = eval(E, n->lhs), idx = eval(E, n->rhs);
        if (obj.k != V_LIST) elab_error(E, n->loc, "cannot index a %s", v_kind_name(obj.k));
        if (idx.k != V_INT) elab_error(E, n->rhs->loc, "list index must be an integer, got %s", v_kind_name(idx.k));
        int64_t i = idx.u.i < 0 ? idx.u.i + obj.u.l->n : idx.u.i;
        if (i < 0 || i >= obj.u.l->n)
            elab_error(E, n->rhs->loc, "index %lld out of range for a list of %d", (long long)idx.u.i, obj.u.l->n);
        return obj.u.l->items[i];
    }
    case ND_ATTR: return tensor_attr(E, n, eval(E, n->lhs));
    default: elab_error(E, n->loc, "not an expression");
    }
}

/* ---- statements ------------------------------------------------------ */

static void assign(Elab *E, const NcAst *s, Val v) {
    Env *env = E->frame ? E->frame : &E->mod->globals;
    if (s->nitems == 1) {
        env_set(E, env, s->items[0]->name, v);
        return;
    }
    if (v.k != V_LIST) elab_error(E, s->loc, "cannot unpack a %s into %d names", v_kind_name(v.k), s->nitems);
    if (v.u.l->n != s->nitems) elab_error(E, s->loc, "cannot unpack a list of %d into %d names", v.u.l->n, s->nitems);
    for (int i = 0; i < s->nitems; i++) env_set(E, env, s->items[i]->name, v.u.l->items[i]);
}

/* Returns 1 when a `return` ran (its value in *ret). */
static int exec_stmt(Elab *E, const NcAst *s, Val *ret) {
    if (++E->steps > ELAB_MAX_STEPS)
        elab_error(E, s->loc, "the description runs more than %d statements; is a loop endless?", ELAB_MAX_STEPS);
    E->at = s->loc;
    switch (s->kind) {
    case ND_ASSIGN: assign(E, s, eval(E, s->rhs)); return 0;
    case ND_EXPR_STMT: eval(E, s->lhs); return 0;
    case ND_RETURN:
        if (!E->frame) elab_error(E, s->loc, "'return' outside a def or model");
        *ret = s->lhs ? eval(E, s->lhs) : v_none();
        return 1;
    case ND_IF:
        for (const NcAst *c = s; c;) {
            if (c->kind == ND_BLOCK) return exec_block(E, c, ret);
            if (truthy(E, c->cond->loc, eval(E, c->cond))) return exec_block(E, c->body, ret);
            c = c->els;
        }
        return 0;
    case ND_FOR: {
        Val it = eval(E, s->rhs);
        if (it.k != V_LIST)
            elab_error(E, s->rhs->loc, "cannot loop over a %s (use range(n) or a list)", v_kind_name(it.k));
        Env *env = E->frame ? E->frame : &E->mod->globals;
        for (int i = 0; i < it.u.l->n; i++) {
            env_set(E, env, s->name, it.u.l->items[i]);
            if (exec_block(E, s->body, ret)) return 1;
        }
        return 0;
    }
    case ND_WITH: {
        const char *label = label_text(E, s->lhs, eval(E, s->lhs));
        push_scope(E, s->lhs->loc, label);
        int r = exec_block(E, s->body, ret);
        E->nscope--;
        return r;
    }
    default: elab_error(E, s->loc, "not a statement");
    }
}

static int exec_block(Elab *E, const NcAst *block, Val *ret) {
    if (++E->depth > ELAB_MAX_DEPTH) too_deep(E, block->loc);
    int returned = 0;
    for (int i = 0; i < block->nitems && !returned; i++) returned = exec_stmt(E, block->items[i], ret);
    E->depth--;
    return returned;
}

/* ---- modules --------------------------------------------------------- */

static const char *dir_of(Elab *E, const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? nc_arena_strndup(&E->arena, path, (size_t)(slash - path)) : ".";
}

static Module *load_text(Elab *E, const char *path, const char *dir, const char *text, size_t len, NcLoc from);

static Module *load_module(Elab *E, const char *path, NcLoc from) {
    for (int i = 0; i < E->nmods; i++)
        if (strcmp(E->mods[i]->path, path) == 0) {
            if (E->mods[i]->state == 1) elab_error(E, from, "'%s' imports itself (an import cycle)", path);
            return E->mods[i];
        }
    char *data;
    size_t len;
    NcError err;
    if (nc_read_file(path, &data, &len, &err)) {
        if (from.src) elab_error(E, from, "cannot import: %s", err.msg);
        nc_errorf(E->e, "%s", err.msg);
        longjmp(E->jb, 1);
    }
    char *text = nc_arena_strndup(&E->arena, data, len);
    free(data);
    return load_text(E, path, dir_of(E, path), text, len, from);
}

static Module *load_text(Elab *E, const char *path, const char *dir, const char *text, size_t len, NcLoc from) {
    Module *m = nc_arena_alloc(&E->arena, sizeof *m);
    m->path = nc_arena_strdup(&E->arena, path);
    m->dir = dir;
    m->src.path = m->path;
    m->src.text = text;
    m->src.len = len;
    if (E->nmods == E->capmods) {
        int cap = E->capmods ? E->capmods * 2 : 8;
        Module **mods = nc_arena_alloc(&E->arena, (size_t)cap * sizeof *mods);
        if (E->nmods) memcpy(mods, E->mods, (size_t)E->nmods * sizeof *mods);
        E->mods = mods;
        E->capmods = cap;
    }
    E->mods[E->nmods++] = m;
    m->state = 1;
    NcTokens toks;
    if (nc_tokenize(&m->src, &E->arena, E->in, &toks, E->e) || nc_parse(&m->src, &toks, &E->arena, &m->ast, E->e))
        longjmp(E->jb, 1);
    Module *saved_mod = E->mod;
    Env *saved_frame = E->frame;
    E->mod = m;
    E->frame = NULL;
    m->imports = nc_arena_alloc(&E->arena, (size_t)(m->ast.nitems ? m->ast.nitems : 1) * sizeof(Module *));
    for (int i = 0; i < m->ast.nitems; i++) {
        const NcAst *it = m->ast.items[i];
        if (it->kind == ND_IMPORT) {
            if (E->no_imports) elab_error(E, it->loc, "imports are disabled here");
            const char *p = it->name[0] == '/' ? it->name : nc_arena_sprintf(&E->arena, "%s/%s", m->dir, it->name);
            m->imports[m->nimports++] = load_module(E, p, it->loc);
        } else if (it->kind == ND_DEF || it->kind == ND_MODEL) {
            if (env_find(&m->globals, it->name)) elab_error(E, it->loc, "'%s' is defined twice in this file", it->name);
            FnDef *fd = nc_arena_alloc(&E->arena, sizeof *fd);
            fd->ast = it;
            fd->mod = m;
            Val v = {V_FUNC, {.fn = fd}};
            env_set(E, &m->globals, it->name, v);
        } else {
            Val dummy;
            exec_stmt(E, it, &dummy);
        }
    }
    E->mod = saved_mod;
    E->frame = saved_frame;
    m->state = 2;
    return m;
}

/* ---- builtin specs --------------------------------------------------- */

static Val spec_literal(Elab *E, const char *s) {
    if (strcmp(s, "none") == 0) return v_none();
    if (strcmp(s, "true") == 0) return v_bool(1);
    if (strcmp(s, "false") == 0) return v_bool(0);
    if (s[0] == '"') return v_str(nc_arena_strndup(&E->arena, s + 1, strlen(s) - 2));
    if (strpbrk(s, ".e")) return v_float(strtod(s, NULL));
    return v_int(strtoll(s, NULL, 10));
}

static void parse_specs(Elab *E) {
    int nb = elab_builtin_count();
    E->specs = nc_arena_alloc(&E->arena, (size_t)nb * sizeof(ParsedSpec));
    for (int b = 0; b < nb; b++) {
        const char *spec = elab_builtin(b)->spec;
        ParsedSpec *ps = &E->specs[b];
        if (strcmp(spec, "*") == 0) {
            ps->variadic = 1;
            continue;
        }
        ps->names = nc_arena_alloc(&E->arena, 16 * sizeof(char *));
        ps->defaults = nc_arena_alloc(&E->arena, 16 * sizeof(Val));
        ps->has_default = nc_arena_alloc(&E->arena, 16 * sizeof(int));
        for (const char *p = spec; *p;) {
            while (*p == ' ' || *p == ',') p++;
            if (!*p) break;
            const char *q = p;
            while (*q && *q != ',') q++;
            char item[64];
            int n = (int)(q - p) < 63 ? (int)(q - p) : 63;
            memcpy(item, p, (size_t)n);
            item[n] = 0;
            char *eq = strchr(item, '=');
            NC_CHECK(ps->n < 16);
            if (eq) {
                *eq = 0;
                ps->defaults[ps->n] = spec_literal(E, eq + 1);
                ps->has_default[ps->n] = 1;
            }
            char *end = item + strlen(item);
            while (end > item && end[-1] == ' ') *--end = 0;
            ps->names[ps->n] = nc_intern(E->in, item, strlen(item));
            ps->n++;
            p = q;
        }
    }
}

/* ---- entry ----------------------------------------------------------- */

static Val parse_override(Elab *E, const char *text) {
    char *end;
    long long i = strtoll(text, &end, 10);
    if (*text && !*end) return v_int(i);
    double f = strtod(text, &end);
    if (*text && !*end) return v_float(f);
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0 || strcmp(text, "none") == 0)
        return spec_literal(E, text);
    return v_str(nc_arena_strdup(&E->arena, text));
}

static NcGraph *elaborate(Elab *E, const char *path, const char *dir, const char *text, size_t len,
                          const NcElabOptions *opt) {
    NcLoc noloc = {0};
    Module *m = text ? load_text(E, path, dir ? dir : ".", nc_arena_strndup(&E->arena, text, len), len, noloc)
                     : load_module(E, path, noloc);
    const NcAst *model = NULL;
    for (int i = 0; i < m->ast.nitems; i++) {
        const NcAst *it = m->ast.items[i];
        if (it->kind == ND_MODEL && (!opt->model || strcmp(opt->model, it->name) == 0)) model = it;
    }
    if (!model) {
        if (opt->model)
            nc_errorf(E->e, "%s: no model named '%s' in this file", path, opt->model);
        else
            nc_errorf(E->e, "%s: no 'model' in this file (a description needs one, e.g. 'model resnet50(x) { ... }')",
                      path);
        longjmp(E->jb, 1);
    }
    if (opt->height < 1 || opt->width < 1 || opt->batch < 1 || opt->height > 65536 || opt->width > 65536 ||
        opt->batch > 65536) {
        nc_errorf(E->e, "%s: input size %dx%d, batch %d is not valid", path, opt->height, opt->width, opt->batch);
        longjmp(E->jb, 1);
    }
    E->g->name = (free(E->g->name), nc_strdup(model->name));
    int64_t shape[4] = {opt->batch, 3, opt->height, opt->width};
    int x = nc_graph_add_input(E->g, "input", 4, shape);

    Val *args = nc_arena_alloc(&E->arena, (size_t)(opt->nset + 1) * sizeof(Val));
    const char **kw = nc_arena_alloc(&E->arena, (size_t)(opt->nset + 1) * sizeof(char *));
    args[0] = v_tensor(x);
    for (int i = 0; i < opt->nset; i++) {
        const char *eq = strchr(opt->set[i], '=');
        if (!eq || eq == opt->set[i]) {
            nc_errorf(E->e, "--set '%s': expected NAME=VALUE", opt->set[i]);
            longjmp(E->jb, 1);
        }
        kw[i + 1] = nc_intern(E->in, opt->set[i], (size_t)(eq - opt->set[i]));
        args[i + 1] = parse_override(E, eq + 1);
    }
    FnDef fd = {model, m};
    E->mod = m;
    Val out = call_user(E, model->loc, &fd, opt->nset + 1, args, kw);
    if (out.k == V_TENSOR) {
        nc_vec_push(&E->g->outputs, out.u.t);
    } else if (out.k == V_LIST && out.u.l->n > 0) {
        for (int i = 0; i < out.u.l->n; i++) {
            if (out.u.l->items[i].k != V_TENSOR)
                elab_error(E, model->loc, "model '%s' must return tensors", model->name);
            nc_vec_push(&E->g->outputs, out.u.l->items[i].u.t);
        }
    } else {
        elab_error(E, model->loc, "model '%s' returned %s; it must return a tensor", model->name, v_kind_name(out.k));
    }
    NcError verr;
    if (nc_graph_verify(E->g, &verr)) {
        nc_errorf(E->e, "%s: internal error, the graph does not verify: %s", path, verr.msg);
        longjmp(E->jb, 1);
    }
    return E->g;
}

/* The arena's budget ran out (frontend/arena.h). */
static void out_of_memory(void *ctx) {
    Elab *E = ctx;
    const char *fmt = "elaborating this needs more than %zu MB of memory (does a loop build ever longer lists?)";
    if (E->at.src) elab_error(E, E->at, fmt, E->arena.limit >> 20);
    nc_errorf(E->e, "%s: elaborating this needs more than %zu MB of memory", E->path, E->arena.limit >> 20);
    longjmp(E->jb, 1);
}

static NcGraph *run(const char *path, const char *dir, const char *text, size_t len, const NcElabOptions *opt,
                    NcError *e) {
    Elab *E = nc_calloc(1, sizeof *E);
    E->e = e;
    E->in = nc_interner_new(&E->arena);
    E->g = nc_graph_new("model");
    E->no_imports = opt->no_imports;
    E->train = opt->train;
    E->seed = -1;
    E->path = path;
    parse_specs(E);
    NcGraph *g = NULL;
    E->arena.limit = opt->memory_limit ? opt->memory_limit : ELAB_MEMORY_LIMIT;
    E->arena.over = out_of_memory;
    E->arena.ctx = E;
    if (setjmp(E->jb) == 0) {
        g = elaborate(E, path, dir, text, len, opt);
    } else {
        nc_graph_free(E->g);
        g = NULL;
    }
    nc_arena_free(&E->arena);
    free(E);
    return g;
}

NcGraph *nc_nn_elaborate(const char *path, const NcElabOptions *opt, NcError *e) {
    return run(path, NULL, NULL, 0, opt, e);
}

NcGraph *nc_nn_elaborate_text(const char *name, const char *text, size_t len, const char *dir, const NcElabOptions *opt,
                              NcError *e) {
    return run(name, dir, text, len, opt, e);
}
