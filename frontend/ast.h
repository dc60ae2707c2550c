/* ast.h — tokens and syntax trees of the .nn language.
 *
 * A .nn file is a sequence of `import "path"`, `def name(params) { ... }`,
 * `model name(input, params) { ... }` and constant assignments.  Statements:
 * assignment (with list unpacking), expression, `return`, `if/elif/else`,
 * `for v in expr`, and `with LABEL { ... }`, which names everything made in
 * its body LABEL.<name>.  Expressions are Python-like (`a if c else b`,
 * `and/or/not`, `//`, `%`, `**`, lists, indexing, calls with keyword
 * arguments), plus one thing of their own: `LABEL: call(...)` runs the call
 * inside name scope LABEL, which is how parameters get timm's names.  A label
 * is an identifier, an integer, or `[expr]` (a computed string or integer).
 */
#ifndef NETC_AST_H
#define NETC_AST_H

#include "frontend/arena.h"
#include "frontend/source.h"

typedef enum { TK_IDENT, TK_KEYWORD, TK_INT, TK_FLOAT, TK_STR, TK_PUNCT, TK_NEWLINE, TK_EOF } NcTokKind;

typedef struct NcToken {
    NcTokKind kind;
    const char *text; /* identifiers and keywords: interned; punct: the operator; strings: decoded */
    int64_t ival;
    double fval;
    NcLoc loc;
} NcToken;

typedef struct NcTokens {
    NcToken *tok;
    int len;
} NcTokens;

/* Interning: equal identifier strings get one pointer, so the evaluator
 * compares names with ==. */
typedef struct NcInterner NcInterner;
const char *nc_intern(NcInterner *in, const char *s, size_t n);
NcInterner *nc_interner_new(NcArena *a);

int nc_tokenize(const NcSource *src, NcArena *a, NcInterner *in, NcTokens *out, NcError *e);

typedef enum {
    /* expressions */
    ND_INT,
    ND_FLOAT,
    ND_STR,
    ND_TRUE,
    ND_FALSE,
    ND_NONE,
    ND_NAME,
    ND_LIST,
    ND_BINOP,
    ND_NEG,
    ND_NOT,
    ND_AND,
    ND_OR,
    ND_TERNARY,
    ND_CALL,
    ND_INDEX,
    ND_ATTR,
    ND_LABELED,
    /* statements */
    ND_ASSIGN,
    ND_EXPR_STMT,
    ND_RETURN,
    ND_IF,
    ND_FOR,
    ND_WITH,
    ND_BLOCK,
    /* top level */
    ND_IMPORT,
    ND_DEF,
    ND_MODEL,
} NcNodeKind;

typedef enum {
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_FLOORDIV,
    OP_MOD,
    OP_POW,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE
} NcBinOp;

typedef struct NcAst NcAst;
struct NcAst {
    NcNodeKind kind;
    NcLoc loc;
    int64_t ival;       /* ND_INT */
    double fval;        /* ND_FLOAT */
    const char *name;   /* ND_NAME, ND_ATTR, ND_STR, ND_FOR var, ND_DEF/ND_MODEL name, ND_IMPORT path */
    NcBinOp op;         /* ND_BINOP */
    NcAst *lhs, *rhs;   /* operands; ND_CALL: lhs = callee; ND_INDEX: lhs[rhs]; ND_LABELED: lhs = label, rhs = call */
    NcAst *cond;        /* ND_TERNARY, ND_IF (then = body, else = els) */
    NcAst *body, *els;  /* ND_IF, ND_FOR (rhs = iterable), ND_WITH (lhs = label), ND_DEF */
    NcAst **items;      /* ND_LIST items, ND_CALL args, ND_BLOCK statements, ND_ASSIGN targets, ND_DEF defaults */
    const char **names; /* ND_CALL keyword names (NULL = positional), ND_DEF parameter names */
    int nitems;
    int height; /* expressions: 1 + the tallest operand's (the evaluator recurses that deep) */
};

/* A parsed file: its top-level items in order. */
typedef struct NcFileAst {
    const NcSource *src;
    NcAst **items;
    int nitems;
} NcFileAst;

int nc_parse(const NcSource *src, const NcTokens *toks, NcArena *a, NcFileAst *out, NcError *e);

#endif
