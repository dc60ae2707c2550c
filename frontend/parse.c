/* parse.c — recursive descent over the token list; one function per grammar
 * rule, lowest precedence first:
 *   expr     := or ['if' or 'else' expr]
 *   or       := and {'or' and}        and := not {'and' not}     not := 'not' not | cmp
 *   cmp      := sum [('=='|'!='|'<'|'<='|'>'|'>=') sum]
 *   sum      := term {('+'|'-') term} term := unary {('*'|'/'|'//'|'%') unary}
 *   unary    := '-' unary | power      power := postfix ['**' unary]
 *   postfix  := primary {'(' args ')' | '[' expr ']' | '.' IDENT}
 *   primary  := literal | IDENT | '(' expr ')' | '[' items ']' | label ':' postfix
 */
#include <string.h>

#include "frontend/ast.h"

typedef struct Parser {
    const NcTokens *toks;
    int pos;
    NcArena *arena;
    NcError *e;
    int failed;
    int depth;
} Parser;

/* Both the parser's recursion and the height of every expression tree stay
 * under this: a chain such as 1 + 1 + ... parses without recursion but the
 * evaluator recurses once per operator, so its height is what counts there. */
#define MAX_NESTING 200
#define TEXT_(x)    #x
#define TEXT(x)     TEXT_(x)
#define TOO_DEEP    "expression nested too deeply (more than " TEXT(MAX_NESTING) " levels)%s"

static NcToken *peek(Parser *P) { return &P->toks->tok[P->pos]; }
static NcToken *peek_at(Parser *P, int k) {
    int i = P->pos + k;
    return &P->toks->tok[i < P->toks->len ? i : P->toks->len - 1];
}
static NcToken *advance(Parser *P) {
    NcToken *t = peek(P);
    if (t->kind != TK_EOF) P->pos++;
    return t;
}
static int is_punct(NcToken *t, const char *s) { return t->kind == TK_PUNCT && strcmp(t->text, s) == 0; }
static int is_kw(NcToken *t, const char *s) { return t->kind == TK_KEYWORD && strcmp(t->text, s) == 0; }

static const char *describe(NcToken *t) {
    switch (t->kind) {
    case TK_NEWLINE: return "end of line";
    case TK_EOF: return "end of file";
    case TK_INT: return "a number";
    case TK_FLOAT: return "a number";
    case TK_STR: return "a string";
    default: return t->text;
    }
}

/* The first error wins; later ones would only be consequences. */
static NcAst *fail(Parser *P, NcToken *t, const char *fmt, const char *arg) {
    if (!P->failed) {
        char msg[512];
        snprintf(msg, sizeof msg, fmt, arg);
        nc_error_at(P->e, t->loc, "%s", msg);
        P->failed = 1;
    }
    return NULL;
}

static int expect(Parser *P, const char *punct) {
    if (is_punct(peek(P), punct)) {
        advance(P);
        return 1;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "expected '%s' but found '%%s'", punct);
    fail(P, peek(P), msg, describe(peek(P)));
    return 0;
}

static NcAst *new_node(Parser *P, NcNodeKind k, NcToken *t) {
    NcAst *n = nc_arena_alloc(P->arena, sizeof *n);
    n->kind = k;
    n->loc = t->loc;
    return n;
}

/* Sets n's height from its operands (lhs, rhs, cond, items); fails past MAX_NESTING. */
static NcAst *grown(Parser *P, NcAst *n) {
    if (!n) return NULL;
    const NcAst *kids[3] = {n->lhs, n->rhs, n->cond};
    int h = 0;
    for (int i = 0; i < 3; i++)
        if (kids[i] && kids[i]->height > h) h = kids[i]->height;
    for (int i = 0; i < n->nitems; i++)
        if (n->items[i] && n->items[i]->height > h) h = n->items[i]->height;
    n->height = h + 1;
    if (n->height > MAX_NESTING) {
        NcToken at = {.loc = n->loc};
        return fail(P, &at, TOO_DEEP, "");
    }
    return n;
}

typedef NC_VEC(NcAst *) AstVec;
static void finish_items(Parser *P, NcAst *n, AstVec *v) {
    n->nitems = v->len;
    n->items = nc_arena_alloc(P->arena, (size_t)(v->len ? v->len : 1) * sizeof(NcAst *));
    if (v->len) memcpy(n->items, v->data, (size_t)v->len * sizeof(NcAst *));
    free(v->data);
}

static NcAst *expr(Parser *P);
static NcAst *postfix(Parser *P);
static NcAst *block(Parser *P);

static void skip_newlines(Parser *P) {
    while (peek(P)->kind == TK_NEWLINE) advance(P);
}

/* A label is IDENT ':' or INT ':' or '[' expr ']' ':'; returns the label as
 * an expression (a string or int literal, or the computed expression). */
static NcAst *try_label(Parser *P) {
    NcToken *t = peek(P);
    if ((t->kind == TK_IDENT || t->kind == TK_INT) && is_punct(peek_at(P, 1), ":")) {
        advance(P);
        advance(P);
        NcAst *l = new_node(P, t->kind == TK_IDENT ? ND_STR : ND_INT, t);
        l->name = t->text;
        l->ival = t->ival;
        return l;
    }
    return NULL;
}

static NcAst *primary(Parser *P) {
    NcToken *t = peek(P);
    NcAst *label = try_label(P);
    if (label) {
        if (++P->depth > MAX_NESTING) return fail(P, t, "labels nested too deeply%s", "");
        NcAst *n = new_node(P, ND_LABELED, t);
        n->lhs = label;
        n->rhs = postfix(P);
        if (n->rhs && n->rhs->kind != ND_CALL)
            return fail(P, t, "a label must name a call, as in '%s: conv2d(x, 64, 3)'",
                        t->kind == TK_IDENT ? t->text : "name");
        P->depth--;
        return n->rhs ? grown(P, n) : NULL;
    }
    advance(P);
    NcAst *n;
    switch (t->kind) {
    case TK_INT:
        n = new_node(P, ND_INT, t);
        n->ival = t->ival;
        return n;
    case TK_FLOAT:
        n = new_node(P, ND_FLOAT, t);
        n->fval = t->fval;
        return n;
    case TK_STR:
        n = new_node(P, ND_STR, t);
        n->name = t->text;
        return n;
    case TK_IDENT:
        n = new_node(P, ND_NAME, t);
        n->name = t->text;
        return n;
    case TK_KEYWORD:
        if (is_kw(t, "true")) return new_node(P, ND_TRUE, t);
        if (is_kw(t, "false")) return new_node(P, ND_FALSE, t);
        if (is_kw(t, "none")) return new_node(P, ND_NONE, t);
        break;
    case TK_PUNCT:
        if (is_punct(t, "(")) {
            n = expr(P);
            if (!n || !expect(P, ")")) return NULL;
            return n;
        }
        if (is_punct(t, "[")) {
            AstVec v = {0};
            while (!is_punct(peek(P), "]")) {
                NcAst *item = expr(P);
                if (!item) {
                    free(v.data);
                    return NULL;
                }
                nc_vec_push(&v, item);
                if (!is_punct(peek(P), ",")) break;
                advance(P);
            }
            if (!expect(P, "]")) {
                free(v.data);
                return NULL;
            }
            /* '[expr]:' is a computed label */
            if (v.len == 1 && is_punct(peek(P), ":")) {
                advance(P);
                n = new_node(P, ND_LABELED, t);
                n->lhs = v.data[0];
                free(v.data);
                n->rhs = postfix(P);
                if (n->rhs && n->rhs->kind != ND_CALL) return fail(P, t, "a label must name a call%s", "");
                return n->rhs ? grown(P, n) : NULL;
            }
            n = new_node(P, ND_LIST, t);
            finish_items(P, n, &v);
            return grown(P, n);
        }
        break;
    default: break;
    }
    return fail(P, t, "expected an expression but found '%s'", describe(t));
}

static NcAst *call_args(Parser *P, NcAst *callee, NcToken *t) {
    NcAst *n = new_node(P, ND_CALL, t);
    n->lhs = callee;
    AstVec v = {0};
    NC_VEC(const char *) names = {0};
    while (!is_punct(peek(P), ")")) {
        const char *kw = NULL;
        if (peek(P)->kind == TK_IDENT && is_punct(peek_at(P, 1), "=")) {
            kw = advance(P)->text;
            advance(P);
        } else if (names.len && names.data[names.len - 1]) {
            free(v.data);
            free(names.data);
            return fail(P, peek(P), "positional argument after a keyword argument%s", "");
        }
        NcAst *arg = expr(P);
        if (!arg) {
            free(v.data);
            free(names.data);
            return NULL;
        }
        nc_vec_push(&v, arg);
        nc_vec_push(&names, kw);
        if (!is_punct(peek(P), ",")) break;
        advance(P);
    }
    if (!expect(P, ")")) {
        free(v.data);
        free(names.data);
        return NULL;
    }
    n->names = nc_arena_alloc(P->arena, (size_t)(names.len ? names.len : 1) * sizeof(char *));
    if (names.len) memcpy(n->names, names.data, (size_t)names.len * sizeof(char *));
    free(names.data);
    finish_items(P, n, &v);
    return grown(P, n);
}

static NcAst *postfix(Parser *P) {
    NcAst *n = primary(P);
    while (n) {
        NcToken *t = peek(P);
        if (is_punct(t, "(")) {
            advance(P);
            n = call_args(P, n, t);
        } else if (is_punct(t, "[")) {
            advance(P);
            NcAst *idx = new_node(P, ND_INDEX, t);
            idx->lhs = n;
            idx->rhs = expr(P);
            if (!idx->rhs || !expect(P, "]")) return NULL;
            n = grown(P, idx);
        } else if (is_punct(t, ".")) {
            advance(P);
            NcToken *id = advance(P);
            if (id->kind != TK_IDENT) return fail(P, id, "expected a name after '.' but found '%s'", describe(id));
            NcAst *a = new_node(P, ND_ATTR, id);
            a->lhs = n;
            a->name = id->text;
            n = grown(P, a);
        } else {
            break;
        }
    }
    return n;
}

static NcAst *unary(Parser *P);
static NcAst *binop(Parser *P, NcBinOp op, NcAst *l, NcAst *r, NcToken *t) {
    if (!l || !r) return NULL;
    NcAst *n = new_node(P, ND_BINOP, t);
    n->op = op, n->lhs = l, n->rhs = r;
    return grown(P, n);
}

static NcAst *power(Parser *P) {
    NcAst *n = postfix(P);
    NcToken *t = peek(P);
    if (n && is_punct(t, "**")) {
        if (++P->depth > MAX_NESTING) return fail(P, t, TOO_DEEP, "");
        advance(P);
        n = binop(P, OP_POW, n, unary(P), t);
        P->depth--;
    }
    return n;
}

static NcAst *unary(Parser *P) {
    NcToken *t = peek(P);
    if (is_punct(t, "-")) {
        if (++P->depth > MAX_NESTING) return fail(P, t, TOO_DEEP, "");
        advance(P);
        NcAst *n = new_node(P, ND_NEG, t);
        n->lhs = unary(P);
        P->depth--;
        return n->lhs ? grown(P, n) : NULL;
    }
    return power(P);
}

static NcAst *term(Parser *P) {
    NcAst *n = unary(P);
    for (;;) {
        NcToken *t = peek(P);
        NcBinOp op;
        if (is_punct(t, "*"))
            op = OP_MUL;
        else if (is_punct(t, "/"))
            op = OP_DIV;
        else if (is_punct(t, "//"))
            op = OP_FLOORDIV;
        else if (is_punct(t, "%"))
            op = OP_MOD;
        else
            return n;
        advance(P);
        n = binop(P, op, n, unary(P), t);
    }
}

static NcAst *sum(Parser *P) {
    NcAst *n = term(P);
    for (;;) {
        NcToken *t = peek(P);
        if (is_punct(t, "+")) {
            advance(P);
            n = binop(P, OP_ADD, n, term(P), t);
        } else if (is_punct(t, "-")) {
            advance(P);
            n = binop(P, OP_SUB, n, term(P), t);
        } else
            return n;
    }
}

static NcAst *cmp(Parser *P) {
    NcAst *n = sum(P);
    static const char *ops[] = {"==", "!=", "<", "<=", ">", ">="};
    static const NcBinOp kinds[] = {OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE};
    NcToken *t = peek(P);
    for (int i = 0; i < 6; i++)
        if (is_punct(t, ops[i])) {
            advance(P);
            n = binop(P, kinds[i], n, sum(P), t);
            if (n) {
                NcToken *t2 = peek(P);
                for (int j = 0; j < 6; j++)
                    if (is_punct(t2, ops[j])) return fail(P, t2, "comparisons do not chain; use 'and'%s", "");
            }
            return n;
        }
    return n;
}

static NcAst *not_expr(Parser *P) {
    NcToken *t = peek(P);
    if (is_kw(t, "not")) {
        if (++P->depth > MAX_NESTING) return fail(P, t, TOO_DEEP, "");
        advance(P);
        NcAst *n = new_node(P, ND_NOT, t);
        n->lhs = not_expr(P);
        P->depth--;
        return n->lhs ? grown(P, n) : NULL;
    }
    return cmp(P);
}

static NcAst *and_expr(Parser *P) {
    NcAst *n = not_expr(P);
    while (n && is_kw(peek(P), "and")) {
        NcToken *t = advance(P);
        NcAst *a = new_node(P, ND_AND, t);
        a->lhs = n;
        a->rhs = not_expr(P);
        n = a->rhs ? grown(P, a) : NULL;
    }
    return n;
}

static NcAst *or_expr(Parser *P) {
    NcAst *n = and_expr(P);
    while (n && is_kw(peek(P), "or")) {
        NcToken *t = advance(P);
        NcAst *a = new_node(P, ND_OR, t);
        a->lhs = n;
        a->rhs = and_expr(P);
        n = a->rhs ? grown(P, a) : NULL;
    }
    return n;
}

static NcAst *expr(Parser *P) {
    if (++P->depth > MAX_NESTING) return fail(P, peek(P), TOO_DEEP, "");
    NcAst *n = or_expr(P);
    if (n && is_kw(peek(P), "if")) {
        NcToken *t = advance(P);
        NcAst *c = new_node(P, ND_TERNARY, t);
        c->lhs = n;
        c->cond = or_expr(P);
        if (!c->cond) return NULL;
        if (!is_kw(peek(P), "else"))
            return fail(P, peek(P), "expected 'else' in conditional expression, found '%s'", describe(peek(P)));
        advance(P);
        c->rhs = expr(P);
        n = c->rhs ? grown(P, c) : NULL;
    }
    P->depth--;
    return n;
}

static int end_of_statement(Parser *P) {
    NcToken *t = peek(P);
    if (t->kind == TK_NEWLINE) {
        advance(P);
        return 1;
    }
    if (is_punct(t, "}") || t->kind == TK_EOF) return 1;
    fail(P, t, "expected end of line but found '%s'", describe(t));
    return 0;
}

static NcAst *statement(Parser *P) {
    NcToken *t = peek(P);
    if (is_kw(t, "return")) {
        advance(P);
        NcAst *n = new_node(P, ND_RETURN, t);
        if (peek(P)->kind != TK_NEWLINE && !is_punct(peek(P), "}")) {
            n->lhs = expr(P);
            if (!n->lhs) return NULL;
        }
        return end_of_statement(P) ? n : NULL;
    }
    if (is_kw(t, "if")) {
        advance(P);
        NcAst *n = new_node(P, ND_IF, t);
        if (!(n->cond = expr(P)) || !(n->body = block(P))) return NULL;
        NcAst *tail = n;
        for (;;) {
            NcToken *k = peek(P);
            if (is_kw(k, "elif")) {
                advance(P);
                NcAst *e = new_node(P, ND_IF, k);
                if (!(e->cond = expr(P)) || !(e->body = block(P))) return NULL;
                tail->els = e;
                tail = e;
            } else if (is_kw(k, "else")) {
                advance(P);
                if (!(tail->els = block(P))) return NULL;
                break;
            } else {
                break;
            }
        }
        return end_of_statement(P) ? n : NULL;
    }
    if (is_kw(t, "for")) {
        advance(P);
        NcAst *n = new_node(P, ND_FOR, t);
        NcToken *v = advance(P);
        if (v->kind != TK_IDENT) return fail(P, v, "expected a loop variable but found '%s'", describe(v));
        n->name = v->text;
        if (!is_kw(peek(P), "in")) return fail(P, peek(P), "expected 'in' but found '%s'", describe(peek(P)));
        advance(P);
        if (!(n->rhs = expr(P)) || !(n->body = block(P))) return NULL;
        return end_of_statement(P) ? n : NULL;
    }
    if (is_kw(t, "with")) {
        advance(P);
        NcAst *n = new_node(P, ND_WITH, t);
        NcToken *l = peek(P);
        if (l->kind == TK_IDENT || l->kind == TK_INT) {
            advance(P);
            n->lhs = new_node(P, l->kind == TK_IDENT ? ND_STR : ND_INT, l);
            n->lhs->name = l->text;
            n->lhs->ival = l->ival;
        } else if (is_punct(l, "[")) {
            advance(P);
            if (!(n->lhs = expr(P)) || !expect(P, "]")) return NULL;
        } else {
            return fail(P, l, "expected a name, a number or [expr] after 'with', found '%s'", describe(l));
        }
        if (!(n->body = block(P))) return NULL;
        return end_of_statement(P) ? n : NULL;
    }
    /* assignment (a, b = ...) or expression statement */
    int save = P->pos;
    if (peek(P)->kind == TK_IDENT) {
        AstVec targets = {0};
        while (peek(P)->kind == TK_IDENT) {
            NcAst *id = new_node(P, ND_NAME, peek(P));
            id->name = advance(P)->text;
            nc_vec_push(&targets, id);
            if (!is_punct(peek(P), ",")) break;
            advance(P);
        }
        if (is_punct(peek(P), "=")) {
            NcToken *eq = advance(P);
            NcAst *n = new_node(P, ND_ASSIGN, eq);
            finish_items(P, n, &targets);
            if (!(n->rhs = expr(P))) return NULL;
            return end_of_statement(P) ? n : NULL;
        }
        free(targets.data);
        P->pos = save;
    }
    NcAst *n = new_node(P, ND_EXPR_STMT, t);
    if (!(n->lhs = expr(P))) return NULL;
    return end_of_statement(P) ? n : NULL;
}

static NcAst *block(Parser *P) {
    NcToken *t = peek(P);
    if (!is_punct(t, "{")) return fail(P, t, "expected '{' but found '%s'", describe(t));
    if (++P->depth > MAX_NESTING) return fail(P, t, "blocks nested too deeply%s", "");
    advance(P);
    NcAst *b = new_node(P, ND_BLOCK, t);
    AstVec v = {0};
    for (;;) {
        skip_newlines(P);
        if (is_punct(peek(P), "}")) break;
        if (peek(P)->kind == TK_EOF) {
            free(v.data);
            return fail(P, t, "this '{' is never closed%s", "");
        }
        NcAst *s = statement(P);
        if (!s) {
            free(v.data);
            return NULL;
        }
        nc_vec_push(&v, s);
    }
    advance(P);
    P->depth--;
    finish_items(P, b, &v);
    return b;
}

/* def name(a, b = 1, ...) { ... }   and   model name(x, ...) { ... } */
static NcAst *definition(Parser *P, NcNodeKind kind) {
    NcToken *kw = advance(P);
    NcToken *id = advance(P);
    if (id->kind != TK_IDENT) return fail(P, id, "expected a name after '%s'", kw->text);
    NcAst *n = new_node(P, kind, id);
    n->name = id->text;
    if (!expect(P, "(")) return NULL;
    AstVec defaults = {0};
    NC_VEC(const char *) names = {0};
    while (!is_punct(peek(P), ")")) {
        NcToken *p = advance(P);
        if (p->kind != TK_IDENT) {
            free(defaults.data);
            free(names.data);
            return fail(P, p, "expected a parameter name but found '%s'", describe(p));
        }
        for (int i = 0; i < names.len; i++)
            if (names.data[i] == p->text) {
                free(defaults.data);
                free(names.data);
                return fail(P, p, "parameter '%s' appears twice", p->text);
            }
        NcAst *def = NULL;
        if (is_punct(peek(P), "=")) {
            advance(P);
            if (!(def = expr(P))) {
                free(defaults.data);
                free(names.data);
                return NULL;
            }
        } else if (defaults.len && defaults.data[defaults.len - 1]) {
            free(defaults.data);
            free(names.data);
            return fail(P, p, "parameter '%s' without a default follows one with a default", p->text);
        }
        nc_vec_push(&names, p->text);
        nc_vec_push(&defaults, def);
        if (!is_punct(peek(P), ",")) break;
        advance(P);
    }
    if (!expect(P, ")")) {
        free(defaults.data);
        free(names.data);
        return NULL;
    }
    if (kind == ND_MODEL && names.len == 0) {
        free(defaults.data);
        free(names.data);
        return fail(P, id, "model '%s' needs a first parameter for its input image", id->text);
    }
    n->names = nc_arena_alloc(P->arena, (size_t)(names.len ? names.len : 1) * sizeof(char *));
    if (names.len) memcpy(n->names, names.data, (size_t)names.len * sizeof(char *));
    free(names.data);
    finish_items(P, n, &defaults);
    if (!(n->body = block(P))) return NULL;
    return n;
}

int nc_parse(const NcSource *src, const NcTokens *toks, NcArena *a, NcFileAst *out, NcError *e) {
    Parser P;
    memset(&P, 0, sizeof P);
    P.toks = toks, P.arena = a, P.e = e;
    AstVec items = {0};
    for (;;) {
        skip_newlines(&P);
        NcToken *t = peek(&P);
        if (t->kind == TK_EOF) break;
        NcAst *n = NULL;
        if (is_kw(t, "import")) {
            advance(&P);
            NcToken *path = advance(&P);
            if (path->kind != TK_STR) {
                fail(&P, path, "expected a quoted path after 'import', found '%s'", describe(path));
            } else {
                n = new_node(&P, ND_IMPORT, t);
                n->name = path->text;
                if (!end_of_statement(&P)) n = NULL;
            }
        } else if (is_kw(t, "def")) {
            n = definition(&P, ND_DEF);
        } else if (is_kw(t, "model")) {
            n = definition(&P, ND_MODEL);
        } else {
            n = statement(&P);
            if (n && n->kind != ND_ASSIGN) {
                fail(&P, t, "only imports, definitions, models and constant assignments may appear at the top level%s",
                     "");
                n = NULL;
            }
        }
        if (!n) {
            if (!P.failed) fail(&P, t, "cannot parse this%s", "");
            break;
        }
        nc_vec_push(&items, n);
    }
    if (P.failed) {
        free(items.data);
        return -1;
    }
    out->src = src;
    out->nitems = items.len;
    out->items = nc_arena_alloc(a, (size_t)(items.len ? items.len : 1) * sizeof(NcAst *));
    if (items.len) memcpy(out->items, items.data, (size_t)items.len * sizeof(NcAst *));
    free(items.data);
    return 0;
}
