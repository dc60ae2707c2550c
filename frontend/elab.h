/* elab.h — internals shared by the evaluator (elab.c) and the builtin
 * functions (builtins_*.c).  Elaboration is evaluation: a description is a
 * program whose side effect is the graph. */
#ifndef NETC_ELAB_H
#define NETC_ELAB_H

#include <setjmp.h>

#include "frontend/ast.h"
#include "ir/ir.h"

typedef enum { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_TENSOR, V_FUNC, V_BUILTIN } VKind;

typedef struct Val Val;
typedef struct VList {
    int n;
    Val *items;
} VList;
typedef struct Module Module;
typedef struct FnDef {
    const NcAst *ast; /* ND_DEF or ND_MODEL */
    Module *mod;      /* where its body looks up globals */
} FnDef;
typedef struct Elab Elab;
typedef struct Builtin {
    const char *name;
    const char *spec; /* "x, out, k, stride=1, ..." or "*" for variadic */
    Val (*fn)(Elab *E, NcLoc loc, Val *args);
} Builtin;

struct Val {
    VKind k;
    union {
        int64_t i; /* V_BOOL, V_INT */
        double f;
        const char *s;
        VList *l;
        int t; /* V_TENSOR: value id */
        const FnDef *fn;
        int b; /* V_BUILTIN: index into the builtin table */
    } u;
};

typedef struct Binding {
    const char *name; /* interned */
    Val v;
} Binding;
typedef struct Env {
    Binding *b;
    int n, cap;
} Env;

struct Module {
    const char *path, *dir;
    NcSource src;
    NcFileAst ast;
    Env globals;
    Module **imports;
    int nimports, state; /* 0 new, 1 loading, 2 done */
};

typedef struct ParsedSpec {
    int n;
    const char **names;
    Val *defaults;
    int *has_default;
    int variadic;
} ParsedSpec;

#define ELAB_MAX_SCOPE    64
#define ELAB_MAX_CALLS    200
/* Bounds that make any description finish quickly, whatever it says. */
#define ELAB_MAX_STEPS    20000000
#define ELAB_MAX_LIST     10000000
#define ELAB_MAX_STRING   1000000
/* Every value stays in the arena until elaboration ends, so a loop such as
 * `l = l + [i]` holds every copy it made; the largest model needs a few MB. */
#define ELAB_MEMORY_LIMIT ((size_t)256 << 20)
/* Recursion of the evaluator (expressions inside expressions, blocks inside
 * blocks, calls inside calls): each level is a C stack frame or two.  The
 * parser bounds an expression's height and block nesting, call_user the
 * calls, but not their product. */
#define ELAB_MAX_DEPTH    4000

struct Elab {
    NcArena arena;
    NcInterner *in;
    NcError *e;
    jmp_buf jb;
    NcGraph *g;
    const char *scope[ELAB_MAX_SCOPE];
    int nscope;
    struct {
        const char *fn;
        NcLoc loc;
    } calls[ELAB_MAX_CALLS];
    int ncalls;
    Module **mods;
    int nmods, capmods;
    Env *frame; /* locals of the running def/model; NULL at module top level */
    Module *mod;
    ParsedSpec *specs; /* one per builtin */
    int no_imports;
    int64_t steps;
    int depth;        /* of the recursion of eval and exec_block */
    NcLoc at;         /* the statement running, for the out-of-memory message */
    const char *path; /* the file elaborated, for messages without a position */
    int train;        /* NcElabOptions.train */
    int seed;         /* the dropout seed input, once a dropout made it; else -1 */
    uint32_t salts;   /* dropout nodes made so far: each draws its own stream */
};

/* Reports at loc (with the chain of calls that led there) and unwinds. */
_Noreturn void elab_error(Elab *E, NcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Values */
static inline Val v_none(void) {
    Val v = {V_NONE, {0}};
    return v;
}
static inline Val v_bool(int b) {
    Val v = {V_BOOL, {.i = !!b}};
    return v;
}
static inline Val v_int(int64_t i) {
    Val v = {V_INT, {.i = i}};
    return v;
}
static inline Val v_float(double f) {
    Val v = {V_FLOAT, {.f = f}};
    return v;
}
static inline Val v_str(const char *s) {
    Val v = {V_STR, {.s = s}};
    return v;
}
static inline Val v_tensor(int t) {
    Val v = {V_TENSOR, {.t = t}};
    return v;
}
Val v_list(Elab *E, int n);
const char *v_kind_name(VKind k);
const char *v_repr(Elab *E, Val v);

/* Argument checks for builtins: fn and param name go into the message. */
int64_t arg_int(Elab *E, NcLoc loc, Val v, const char *fn, const char *param);
double arg_num(Elab *E, NcLoc loc, Val v, const char *fn, const char *param);
int arg_bool(Elab *E, NcLoc loc, Val v, const char *fn, const char *param);
int arg_tensor(Elab *E, NcLoc loc, Val v, const char *fn, const char *param);
/* An int or a list of n ints (e.g. k=3 or k=[3, 5]). */
void arg_ints(Elab *E, NcLoc loc, Val v, const char *fn, const char *param, int n, int *out);

/* Name scope: "layer1.0.conv1" + "." + leaf, or an error if unnamed. */
const char *elab_param_name(Elab *E, NcLoc loc, const char *fn, const char *leaf);
const char *elab_scope_str(Elab *E);
/* Adds a node; shape errors become errors at loc naming the layer. */
int elab_node(Elab *E, NcLoc loc, NcOpKind op, int nin, const int *in, const NcAttrs *a);
int elab_param(Elab *E, NcLoc loc, const char *fn, const char *leaf, NcParamRole role, int ndim, const int64_t *shape);

/* The builtin table: math (builtins_math.c) and layers (builtins_nn.c). */
extern const Builtin nc_builtins_math[];
extern const Builtin nc_builtins_nn[];
const Builtin *elab_builtin(int index);
int elab_builtin_count(void);
int elab_find_builtin(const char *name);

#endif
