/* fusion.c - compiling a score-fusion formula: lexer, recursive-descent parser into a tree (constant
 * subtrees folded as they are built), register counting and code generation, and the parameter table.
 * fusion_eval.c runs the program; fusion.h describes it and the numeric semantics.
 *
 * Grammar (lowest precedence first; docs/fusion-and-rules.md has it with examples):
 *   formula    = or EOF
 *   or         = and { "or" and }
 *   and        = not { "and" not }
 *   not        = "not" not | comparison
 *   comparison = additive [ ("<" | "<=" | ">" | ">=" | "==" | "!=") additive ]      (no chaining)
 *   additive   = term { ("+" | "-") term }
 *   term       = unary { ("*" | "/") unary }
 *   unary      = ("-" | "+") unary | power
 *   power      = primary [ "^" unary ]                 (right-associative: 2^3^2 = 2^9; 2^-1 = 0.5)
 *   primary    = number | name | name "(" [ or { "," or } ] ")" | "(" or ")"
 * Messages are "formula:LINE:COLUMN: ...", the column counted in bytes from 1. */
#include "rank/fusion.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define FZ_MAX_HEIGHT 2000 /* tree height: bounds the recursion of code generation (long + chains) */

typedef enum tok_kind {
    T_END, T_NUM, T_NAME, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_CARET, T_LPAREN, T_RPAREN, T_COMMA,
    T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE
} tok_kind;

typedef struct token {
    tok_kind kind; /* what it is */
    size_t pos;    /* byte offset of its first character */
    size_t len;    /* its length in bytes */
    float value;   /* T_NUM: the number */
} token;

typedef enum node_kind { N_NUM, N_VAR, N_PARAM, N_OP } node_kind;

typedef struct node {
    uint8_t kind;   /* node_kind */
    uint8_t op;     /* fz_op of an N_OP */
    uint8_t n_args; /* operands of an N_OP: 1, 2 or 3 */
    int args[3];    /* their node indices */
    int imm;        /* N_VAR: column; N_PARAM: parameter index; N_NUM: scalar slot once generated */
    float value;    /* N_NUM: the constant */
    int height;     /* 1 for a leaf */
    int need;       /* registers the subtree needs (code generation) */
} node;

typedef struct parser {
    const char *src;           /* the formula */
    size_t pos;                /* lexer position: just after tok */
    token tok;                 /* current token */
    node *nodes;               /* the tree, children before parents */
    int n_nodes, cap_nodes;
    int depth;                 /* current nesting, against FZ_MAX_DEPTH */
    int fold;                  /* fold constant subtrees */
    const char *const *vars;   /* variable names, by column */
    int n_vars;
    const mtr_fusion_param *params;
    int n_params;
    mtr_error *err;
} parser;

typedef struct func_info {
    const char *name;  /* as written */
    fz_op op;          /* what it compiles to */
    int min_args;      /* arity bounds; min and max take any number >= 2 */
    int max_args;
} func_info;

static const func_info funcs[] = {
    {"min", FZ_MIN, 2, INT_MAX}, {"max", FZ_MAX, 2, INT_MAX}, {"log", FZ_LOG, 1, 1},
    {"exp", FZ_EXP, 1, 1},       {"sqrt", FZ_SQRT, 1, 1},     {"abs", FZ_ABS, 1, 1},
    {"clamp", FZ_CLAMP, 3, 3},   {"if", FZ_IF, 3, 3},
};
#define N_FUNCS ((int)(sizeof funcs / sizeof funcs[0]))
#define FUNC_LIST "min, max, log, exp, sqrt, abs, clamp, if"

/* ---------------------------------------------------------------- messages */

static int perr(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, size_t pos, const char *fmt, ...) {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos && p->src[i]; i++) {
        if (p->src[i] == '\n') line++, col = 1;
        else col++;
    }
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mtr_fail(p->err, "formula:%d:%d: %s", line, col, msg);
}

/* The current token as text for messages: 'name', ')' or "end of formula". */
static const char *tok_text(const parser *p, char *buf, size_t size) {
    if (p->tok.kind == T_END) return "end of formula";
    size_t len = p->tok.len < 40 ? p->tok.len : 40;
    snprintf(buf, size, "'%.*s'", (int)len, p->src + p->tok.pos);
    return buf;
}

/* "a, b, c" into buf, cut with "..." when it does not fit. */
static void join_names(char *buf, size_t size, const char *const *names, int n) {
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, size, "none");
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (used + len + 8 >= size) {
            snprintf(buf + used, size - used, "%s...", i ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    }
}

/* Edit distance of two short names, for "did you mean". */
static int edit_distance(const char *a, size_t la, const char *b) {
    size_t lb = strlen(b);
    if (la >= MTR_MAX_NAME || lb >= MTR_MAX_NAME) return INT_MAX;
    int row[MTR_MAX_NAME + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* ---------------------------------------------------------------- lexer */

static int is_name_start(int c) { return isalpha(c) || c == '_'; }
static int is_name_char(int c) { return isalnum(c) || c == '_'; }

static int lex_number(parser *p, size_t start) {
    const char *s = p->src;
    size_t i = start;
    /* take the longest run that could belong to a number, so "1.2.3" and "2x" are one bad token */
    while (is_name_char((unsigned char)s[i]) || s[i] == '.' ||
           (i > start && (s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E')))
        i++;
    size_t len = i - start;
    p->tok.kind = T_NUM;
    p->tok.pos = start;
    p->tok.len = len;
    p->pos = i;
    /* digits [. digits] [e [+-] digits], at least one mantissa digit; no hex, no inf, no nan */
    size_t j = start, mant = 0;
    while (j < i && isdigit((unsigned char)s[j])) j++, mant++;
    if (j < i && s[j] == '.') {
        j++;
        while (j < i && isdigit((unsigned char)s[j])) j++, mant++;
    }
    int ok = mant > 0;
    if (ok && j < i && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < i && (s[j] == '+' || s[j] == '-')) j++;
        size_t exp_digits = 0;
        while (j < i && isdigit((unsigned char)s[j])) j++, exp_digits++;
        ok = exp_digits > 0;
    }
    if (!ok || j != i || len >= 128)
        return perr(p, start, "malformed number '%.*s'", (int)(len < 40 ? len : 40), s + start);
    char buf[128];
    memcpy(buf, s + start, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0') return perr(p, start, "malformed number '%s'", buf);
    if ((errno == ERANGE && fabs(v) > 1.0) || fabs(v) > FLT_MAX)
        return perr(p, start, "number out of range '%s' (float holds up to 3.4e38)", buf);
    p->tok.value = (float)v; /* an underflow rounds to 0 or a subnormal, as float arithmetic would */
    return 0;
}

/* Advance to the next token. */
static int next(parser *p) {
    const char *s = p->src;
    size_t i = p->pos;
    while (isspace((unsigned char)s[i])) i++;
    p->tok.pos = i;
    p->tok.len = 1;
    unsigned char c = (unsigned char)s[i];
    if (c == '\0') {
        p->tok.kind = T_END;
        p->tok.len = 0;
        p->pos = i;
        return 0;
    }
    if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) return lex_number(p, i);
    if (is_name_start(c)) {
        size_t j = i;
        while (is_name_char((unsigned char)s[j])) j++;
        p->tok.kind = T_NAME;
        p->tok.len = j - i;
        p->pos = j;
        return 0;
    }
    tok_kind k;
    size_t len = 1;
    switch (c) {
    case '+': k = T_PLUS; break;
    case '-': k = T_MINUS; break;
    case '*': k = T_STAR; break;
    case '/': k = T_SLASH; break;
    case '^': k = T_CARET; break;
    case '(': k = T_LPAREN; break;
    case ')': k = T_RPAREN; break;
    case ',': k = T_COMMA; break;
    case '<':
        k = s[i + 1] == '=' ? T_LE : T_LT;
        len = s[i + 1] == '=' ? 2 : 1;
        break;
    case '>':
        k = s[i + 1] == '=' ? T_GE : T_GT;
        len = s[i + 1] == '=' ? 2 : 1;
        break;
    case '=':
        if (s[i + 1] != '=') return perr(p, i, "unexpected '=' (equality is '==')");
        k = T_EQ;
        len = 2;
        break;
    case '!':
        if (s[i + 1] != '=') return perr(p, i, "unexpected '!' (use 'not', or '!=' for inequality)");
        k = T_NE;
        len = 2;
        break;
    default:
        if (isprint(c)) return perr(p, i, "unexpected character '%c'", c);
        return perr(p, i, "unexpected byte 0x%02x", c);
    }
    p->tok.kind = k;
    p->tok.len = len;
    p->pos = i + len;
    return 0;
}

static int tok_is_word(const parser *p, const char *word) {
    size_t n = strlen(word);
    return p->tok.kind == T_NAME && p->tok.len == n && memcmp(p->src + p->tok.pos, word, n) == 0;
}

static int is_keyword(const char *s, size_t len) {
    return (len == 3 && (memcmp(s, "and", 3) == 0 || memcmp(s, "not", 3) == 0)) ||
           (len == 2 && memcmp(s, "or", 2) == 0);
}

/* ---------------------------------------------------------------- tree */

static int new_node(parser *p, node_kind kind) {
    if (p->n_nodes == p->cap_nodes) {
        int cap = p->cap_nodes ? 2 * p->cap_nodes : 64;
        node *nodes = realloc(p->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return mtr_fail(p->err, "formula: out of memory");
        p->nodes = nodes;
        p->cap_nodes = cap;
    }
    node *n = &p->nodes[p->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->height = 1;
    return p->n_nodes++;
}

static int mk_num(parser *p, float v) {
    int i = new_node(p, N_NUM);
    if (i >= 0) p->nodes[i].value = v;
    return i;
}

/* An operator node over n_args children; folded into a number when every child is one. */
static int mk_op(parser *p, size_t pos, fz_op op, int n_args, int a, int b, int c) {
    int args[3] = {a, b, c};
    if (p->fold) {
        if (op == FZ_IF && p->nodes[a].kind == N_NUM) { /* the condition alone decides */
            float cond = p->nodes[a].value;
            if (cond != cond) return mk_num(p, cond);
            return cond != 0.0f ? b : c;
        }
        int all_num = 1;
        for (int k = 0; k < n_args; k++) all_num &= p->nodes[args[k]].kind == N_NUM;
        if (all_num) {
            float v[3] = {0, 0, 0};
            for (int k = 0; k < n_args; k++) v[k] = p->nodes[args[k]].value;
            return mk_num(p, fz_apply1(op, v[0], v[1], v[2]));
        }
    }
    int height = 0;
    for (int k = 0; k < n_args; k++)
        if (p->nodes[args[k]].height > height) height = p->nodes[args[k]].height;
    if (height + 1 > FZ_MAX_HEIGHT)
        return perr(p, pos, "formula too long: its tree is more than %d levels deep", FZ_MAX_HEIGHT);
    int i = new_node(p, N_OP);
    if (i < 0) return -1;
    node *n = &p->nodes[i];
    n->op = (uint8_t)op;
    n->n_args = (uint8_t)n_args;
    for (int k = 0; k < 3; k++) n->args[k] = args[k];
    n->height = height + 1;
    return i;
}

/* ---------------------------------------------------------------- parser */

static int parse_or(parser *p);
static int parse_unary(parser *p);

static int enter(parser *p) {
    if (++p->depth > FZ_MAX_DEPTH)
        return perr(p, p->tok.pos, "nested too deeply (more than %d levels)", FZ_MAX_DEPTH);
    return 0;
}

static int unknown_name(parser *p, size_t pos, size_t len) {
    const char *name = p->src + pos;
    char vars[400], params[300];
    join_names(vars, sizeof vars, p->vars, p->n_vars);
    const char *pnames[64];
    int np = p->n_params < 64 ? p->n_params : 64;
    for (int i = 0; i < np; i++) pnames[i] = p->params[i].name;
    join_names(params, sizeof params, pnames, np);
    for (int f = 0; f < N_FUNCS; f++)
        if (strlen(funcs[f].name) == len && memcmp(funcs[f].name, name, len) == 0)
            return perr(p, pos, "'%.*s' is a function: call it as %.*s(...)", (int)len, name, (int)len, name);
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < p->n_vars + p->n_params; i++) {
        const char *cand = i < p->n_vars ? p->vars[i] : p->params[i - p->n_vars].name;
        int d = edit_distance(name, len, cand);
        if (d < best_d && (size_t)d < len) best_d = d, best = cand;
    }
    char hint[MTR_MAX_NAME + 32] = "";
    if (best) snprintf(hint, sizeof hint, " - did you mean '%s'?", best);
    return perr(p, pos, "unknown variable '%.*s' (variables: %s; parameters: %s)%s", (int)(len < 64 ? len : 64), name,
                vars, params, hint);
}

static int parse_call(parser *p, size_t name_pos, size_t name_len) {
    const char *name = p->src + name_pos;
    int f = -1;
    for (int k = 0; k < N_FUNCS; k++)
        if (strlen(funcs[k].name) == name_len && memcmp(funcs[k].name, name, name_len) == 0) f = k;
    if (f < 0)
        return perr(p, name_pos, "unknown function '%.*s' (functions: " FUNC_LIST ")",
                    (int)(name_len < 64 ? name_len : 64), name);
    if (enter(p) < 0 || next(p) < 0) return -1; /* past '(' */
    int n_args = 0, args[3] = {-1, -1, -1}, acc = -1;
    if (p->tok.kind != T_RPAREN) {
        for (;;) {
            int a = parse_or(p);
            if (a < 0) return -1;
            if (funcs[f].max_args == INT_MAX) /* min/max: fold left into a chain */
                acc = n_args == 0 ? a : mk_op(p, name_pos, funcs[f].op, 2, acc, a, -1);
            else if (n_args < 3)
                args[n_args] = a;
            if (acc < 0 && funcs[f].max_args == INT_MAX) return -1;
            n_args++;
            if (p->tok.kind != T_COMMA) break;
            if (next(p) < 0) return -1;
        }
    }
    if (p->tok.kind != T_RPAREN) {
        char buf[64];
        return perr(p, p->tok.pos, "expected ',' or ')' in the arguments of %s but found %s", funcs[f].name,
                    tok_text(p, buf, sizeof buf));
    }
    if (n_args < funcs[f].min_args || n_args > funcs[f].max_args) {
        if (funcs[f].max_args == INT_MAX)
            return perr(p, name_pos, "%s takes at least %d arguments, got %d", funcs[f].name, funcs[f].min_args,
                        n_args);
        return perr(p, name_pos, "%s takes %d argument%s, got %d", funcs[f].name, funcs[f].min_args,
                    funcs[f].min_args == 1 ? "" : "s", n_args);
    }
    if (next(p) < 0) return -1; /* past ')' */
    p->depth--;
    if (funcs[f].max_args == INT_MAX) return acc;
    return mk_op(p, name_pos, funcs[f].op, n_args, args[0], args[1], args[2]);
}

static int parse_primary(parser *p) {
    char buf[64];
    if (p->tok.kind == T_NUM) {
        float v = p->tok.value;
        if (next(p) < 0) return -1;
        return mk_num(p, v);
    }
    if (p->tok.kind == T_LPAREN) {
        size_t open = p->tok.pos;
        if (enter(p) < 0 || next(p) < 0) return -1;
        int e = parse_or(p);
        if (e < 0) return -1;
        if (p->tok.kind != T_RPAREN)
            return perr(p, p->tok.pos, "expected ')' to close the '(' at column %zu but found %s", open + 1,
                        tok_text(p, buf, sizeof buf));
        if (next(p) < 0) return -1;
        p->depth--;
        return e;
    }
    if (p->tok.kind == T_NAME && !is_keyword(p->src + p->tok.pos, p->tok.len)) {
        size_t pos = p->tok.pos, len = p->tok.len;
        if (next(p) < 0) return -1;
        if (p->tok.kind == T_LPAREN) return parse_call(p, pos, len);
        const char *name = p->src + pos;
        for (int i = 0; i < p->n_vars; i++)
            if (strlen(p->vars[i]) == len && memcmp(p->vars[i], name, len) == 0) {
                int n = new_node(p, N_VAR);
                if (n >= 0) p->nodes[n].imm = i;
                return n;
            }
        for (int i = 0; i < p->n_params; i++)
            if (strlen(p->params[i].name) == len && memcmp(p->params[i].name, name, len) == 0) {
                int n = new_node(p, N_PARAM);
                if (n >= 0) p->nodes[n].imm = i;
                return n;
            }
        return unknown_name(p, pos, len);
    }
    return perr(p, p->tok.pos, "expected a number, a name or '(' but found %s", tok_text(p, buf, sizeof buf));
}

static int parse_power(parser *p) {
    int base = parse_primary(p);
    if (base < 0 || p->tok.kind != T_CARET) return base;
    size_t pos = p->tok.pos;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int e = parse_unary(p); /* right-associative, and 2^-1 is allowed */
    if (e < 0) return -1;
    p->depth--;
    return mk_op(p, pos, FZ_POW, 2, base, e, -1);
}

static int parse_unary(parser *p) {
    if (p->tok.kind != T_MINUS && p->tok.kind != T_PLUS) return parse_power(p);
    int neg = p->tok.kind == T_MINUS;
    size_t pos = p->tok.pos;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int r = parse_unary(p);
    if (r >= 0 && neg) r = mk_op(p, pos, FZ_NEG, 1, r, -1, -1);
    p->depth--;
    return r;
}

static int parse_term(parser *p) {
    int l = parse_unary(p);
    while (l >= 0 && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH)) {
        fz_op op = p->tok.kind == T_STAR ? FZ_MUL : FZ_DIV;
        size_t pos = p->tok.pos;
        if (next(p) < 0) return -1;
        int r = parse_unary(p);
        if (r < 0) return -1;
        l = mk_op(p, pos, op, 2, l, r, -1);
    }
    return l;
}

static int parse_additive(parser *p) {
    int l = parse_term(p);
    while (l >= 0 && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
        fz_op op = p->tok.kind == T_PLUS ? FZ_ADD : FZ_SUB;
        size_t pos = p->tok.pos;
        if (next(p) < 0) return -1;
        int r = parse_term(p);
        if (r < 0) return -1;
        l = mk_op(p, pos, op, 2, l, r, -1);
    }
    return l;
}

static int cmp_op(tok_kind k, fz_op *op) {
    switch (k) {
    case T_LT: *op = FZ_LT; return 1;
    case T_LE: *op = FZ_LE; return 1;
    case T_GT: *op = FZ_GT; return 1;
    case T_GE: *op = FZ_GE; return 1;
    case T_EQ: *op = FZ_EQ; return 1;
    case T_NE: *op = FZ_NE; return 1;
    default: return 0;
    }
}

static int parse_comparison(parser *p) {
    int l = parse_additive(p);
    fz_op op, again;
    if (l < 0 || !cmp_op(p->tok.kind, &op)) return l;
    size_t pos = p->tok.pos;
    if (next(p) < 0) return -1;
    int r = parse_additive(p);
    if (r < 0) return -1;
    if (cmp_op(p->tok.kind, &again))
        return perr(p, p->tok.pos, "comparisons do not chain: write 'a < b and b < c'");
    return mk_op(p, pos, op, 2, l, r, -1);
}

static int parse_not(parser *p) {
    if (!tok_is_word(p, "not")) return parse_comparison(p);
    size_t pos = p->tok.pos;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int a = parse_not(p);
    p->depth--;
    return a < 0 ? -1 : mk_op(p, pos, FZ_NOT, 1, a, -1, -1);
}

static int parse_and(parser *p) {
    int l = parse_not(p);
    while (l >= 0 && tok_is_word(p, "and")) {
        size_t pos = p->tok.pos;
        if (next(p) < 0) return -1;
        int r = parse_not(p);
        if (r < 0) return -1;
        l = mk_op(p, pos, FZ_AND, 2, l, r, -1);
    }
    return l;
}

static int parse_or(parser *p) {
    int l = parse_and(p);
    while (l >= 0 && tok_is_word(p, "or")) {
        size_t pos = p->tok.pos;
        if (next(p) < 0) return -1;
        int r = parse_and(p);
        if (r < 0) return -1;
        l = mk_op(p, pos, FZ_OR, 2, l, r, -1);
    }
    return l;
}

/* ---------------------------------------------------------------- code generation */

typedef struct codegen {
    node *nodes;        /* the tree */
    fz_insn *insns;     /* program being written */
    int n_insns;
    float *scalars;     /* scalar slots: parameters first, then constants */
    int n_params;       /* slots 0..n_params-1, never shared with a constant */
    int n_scalars;
    int max_reg;        /* highest register written */
} codegen;

static int is_scalar_leaf(const node *n) { return n->kind == N_NUM || n->kind == N_PARAM; }

/* Registers needed by each subtree (Sethi-Ullman): evaluate the hungrier operand first. */
static int count_need(node *nodes, int i) {
    node *n = &nodes[i];
    if (n->kind != N_OP) return n->need = 1;
    int need[3] = {0, 0, 0};
    for (int k = 0; k < n->n_args; k++) need[k] = count_need(nodes, n->args[k]);
    if (n->n_args == 1) return n->need = need[0];
    if (n->n_args == 2) {
        if (n->op == FZ_POW && is_scalar_leaf(&nodes[n->args[1]])) return n->need = need[0];
        return n->need = need[0] == need[1] ? need[0] + 1 : (need[0] > need[1] ? need[0] : need[1]);
    }
    /* three operands, taken in order of decreasing need: the k-th of them starts at register dst + k */
    int s[3] = {need[0], need[1], need[2]};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (s[b] > s[a]) {
                int t = s[a];
                s[a] = s[b];
                s[b] = t;
            }
    int m = s[0];
    if (s[1] + 1 > m) m = s[1] + 1;
    if (s[2] + 2 > m) m = s[2] + 2;
    return n->need = m;
}

static int scalar_slot(codegen *g, float v) {
    for (int i = g->n_params; i < g->n_scalars; i++)
        if (memcmp(&g->scalars[i], &v, sizeof v) == 0) return i; /* same bits: NaN and -0 kept apart */
    g->scalars[g->n_scalars] = v;
    return g->n_scalars++;
}

static void emit(codegen *g, fz_op op, int dst, int a, int b, int c, uint32_t imm) {
    fz_insn *in = &g->insns[g->n_insns++];
    in->op = (uint8_t)op;
    in->dst = (uint8_t)dst;
    in->a = (uint8_t)a;
    in->b = (uint8_t)b;
    in->c = (uint8_t)c;
    in->imm = imm;
    if (dst > g->max_reg) g->max_reg = dst;
}

/* Code that leaves node i's value in register dst, using registers dst and above. */
static void gen(codegen *g, int i, int dst) {
    node *n = &g->nodes[i];
    switch (n->kind) {
    case N_NUM: emit(g, FZ_LOADS, dst, 0, 0, 0, (uint32_t)scalar_slot(g, n->value)); return;
    case N_PARAM: emit(g, FZ_LOADS, dst, 0, 0, 0, (uint32_t)n->imm); return;
    case N_VAR: emit(g, FZ_LOADV, dst, 0, 0, 0, (uint32_t)n->imm); return;
    default: break;
    }
    if (n->n_args == 1) {
        gen(g, n->args[0], dst);
        emit(g, (fz_op)n->op, dst, dst, 0, 0, 0);
        return;
    }
    if (n->n_args == 2) {
        node *b = &g->nodes[n->args[1]];
        if (n->op == FZ_POW && is_scalar_leaf(b)) {
            gen(g, n->args[0], dst);
            uint32_t slot = b->kind == N_PARAM ? (uint32_t)b->imm : (uint32_t)scalar_slot(g, b->value);
            emit(g, FZ_POWS, dst, dst, 0, 0, slot);
            return;
        }
        if (g->nodes[n->args[0]].need >= b->need) {
            gen(g, n->args[0], dst);
            gen(g, n->args[1], dst + 1);
            emit(g, (fz_op)n->op, dst, dst, dst + 1, 0, 0);
        } else {
            gen(g, n->args[1], dst);
            gen(g, n->args[0], dst + 1);
            emit(g, (fz_op)n->op, dst, dst + 1, dst, 0, 0);
        }
        return;
    }
    /* three operands: the neediest first */
    int order[3] = {0, 1, 2}, reg[3];
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (g->nodes[n->args[order[b]]].need > g->nodes[n->args[order[a]]].need) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    for (int k = 0; k < 3; k++) {
        reg[order[k]] = dst + k;
        gen(g, n->args[order[k]], dst + k);
    }
    emit(g, (fz_op)n->op, dst, reg[0], reg[1], reg[2], 0);
}

/* ---------------------------------------------------------------- compile */

static int valid_name(const char *s) {
    if (!s || !is_name_start((unsigned char)s[0])) return 0;
    size_t len = 0;
    for (; s[len]; len++)
        if (!is_name_char((unsigned char)s[len])) return 0;
    return len < MTR_MAX_NAME && !is_keyword(s, len);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int check_names(const char *const *vars, int n_vars, const mtr_fusion_param *params, int n_params,
                       mtr_error *err) {
    if (n_vars < 0 || n_params < 0 || (n_vars > 0 && !vars) || (n_params > 0 && !params))
        return mtr_fail(err, "fusion: bad variable or parameter list");
    for (int i = 0; i < n_vars + n_params; i++) {
        const char *name = i < n_vars ? vars[i] : params[i - n_vars].name;
        const char *what = i < n_vars ? "variable" : "parameter";
        if (!valid_name(name))
            return mtr_fail(err, "fusion: %s '%s' is not a usable name (a letter or _, then letters, digits or _, "
                            "fewer than %d characters, not and/or/not)", what, name ? name : "(null)", MTR_MAX_NAME);
        for (int j = 0; j < i; j++) {
            const char *other = j < n_vars ? vars[j] : params[j - n_vars].name;
            if (strcmp(name, other) == 0) return mtr_fail(err, "fusion: the name '%s' is given twice", name);
        }
    }
    return 0;
}

mtr_fusion *mtr_fusion_compile_ex(const char *formula, const char *const *vars, int n_vars,
                                  const mtr_fusion_param *params, int n_params, int fold, mtr_error *err) {
    if (!formula) {
        mtr_fail(err, "fusion: no formula");
        return NULL;
    }
    if (check_names(vars, n_vars, params, n_params, err) < 0) return NULL;
    parser p = {.src = formula, .fold = fold, .vars = vars, .n_vars = n_vars, .params = params,
                .n_params = n_params, .err = err};
    mtr_fusion *f = NULL;
    int root = next(&p);
    if (root == 0) {
        if (p.tok.kind == T_END) {
            root = perr(&p, p.tok.pos, "empty formula");
        } else {
            root = parse_or(&p);
            if (root >= 0 && p.tok.kind != T_END) {
                char buf[64];
                root = perr(&p, p.tok.pos, "unexpected %s after a complete expression (missing operator?)",
                            tok_text(&p, buf, sizeof buf));
            }
        }
    }
    if (root < 0) goto fail;
    int need = count_need(p.nodes, root);
    if (need > FZ_MAX_REGS) {
        perr(&p, 0, "formula needs %d registers, more than %d: nest it less", need, FZ_MAX_REGS);
        goto fail;
    }
    f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->formula = dup_str(formula);
    f->n_vars = n_vars;
    f->n_params = n_params;
    f->var_names = calloc((size_t)n_vars + 1, sizeof *f->var_names);
    f->param_names = calloc((size_t)n_params + 1, sizeof *f->param_names);
    f->param_values = calloc((size_t)n_params + 1, sizeof *f->param_values);
    /* every node emits at most one instruction and uses at most one scalar slot */
    f->insns = calloc((size_t)p.n_nodes, sizeof *f->insns);
    f->scalars = calloc((size_t)(n_params + p.n_nodes), sizeof *f->scalars);
    if (!f->formula || !f->var_names || !f->param_names || !f->param_values || !f->insns || !f->scalars) goto oom;
    for (int i = 0; i < n_vars; i++)
        if (!(f->var_names[i] = dup_str(vars[i]))) goto oom;
    for (int i = 0; i < n_params; i++) {
        if (!(f->param_names[i] = dup_str(params[i].name))) goto oom;
        f->param_values[i] = params[i].value;
        f->scalars[i] = (float)params[i].value;
    }
    codegen g = {.nodes = p.nodes, .insns = f->insns, .scalars = f->scalars, .n_params = n_params,
                 .n_scalars = n_params};
    gen(&g, root, 0);
    f->n_insns = g.n_insns;
    f->n_scalars = g.n_scalars;
    f->n_regs = g.max_reg + 1;
    free(p.nodes);
    return f;
oom:
    mtr_fail(err, "fusion: out of memory");
fail:
    free(p.nodes);
    mtr_fusion_free(f);
    return NULL;
}

mtr_fusion *mtr_fusion_compile(const char *formula, const char *const *vars, int n_vars,
                               const mtr_fusion_param *params, int n_params, mtr_error *err) {
    return mtr_fusion_compile_ex(formula, vars, n_vars, params, n_params, 1, err);
}

void mtr_fusion_free(mtr_fusion *f) {
    if (!f) return;
    if (f->var_names)
        for (int i = 0; i < f->n_vars; i++) free(f->var_names[i]);
    if (f->param_names)
        for (int i = 0; i < f->n_params; i++) free(f->param_names[i]);
    free(f->var_names);
    free(f->param_names);
    free(f->param_values);
    free(f->scalars);
    free(f->insns);
    free(f->formula);
    free(f);
}

const char *mtr_fusion_formula(const mtr_fusion *f) { return f->formula; }
int mtr_fusion_var_count(const mtr_fusion *f) { return f->n_vars; }
int mtr_fusion_param_count(const mtr_fusion *f) { return f->n_params; }

const char *mtr_fusion_param_name(const mtr_fusion *f, int i) {
    return i >= 0 && i < f->n_params ? f->param_names[i] : NULL;
}

int mtr_fusion_param_find(const mtr_fusion *f, const char *name) {
    for (int i = 0; i < f->n_params; i++)
        if (strcmp(f->param_names[i], name) == 0) return i;
    return -1;
}

double mtr_fusion_get_param(const mtr_fusion *f, int i) {
    return i >= 0 && i < f->n_params ? f->param_values[i] : NAN;
}

void mtr_fusion_set_param(mtr_fusion *f, int i, double value) {
    if (i < 0 || i >= f->n_params) return;
    f->param_values[i] = value;
    f->scalars[i] = (float)value;
}

int mtr_fusion_set_param_named(mtr_fusion *f, const char *name, double value, mtr_error *err) {
    int i = mtr_fusion_param_find(f, name);
    if (i < 0) {
        char names[400];
        join_names(names, sizeof names, (const char *const *)f->param_names, f->n_params);
        return mtr_fail(err, "fusion: no parameter '%s' (parameters: %s)", name, names);
    }
    mtr_fusion_set_param(f, i, value);
    return 0;
}
