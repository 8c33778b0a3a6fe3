/* fusion.h - private to src/rank: the compiled form of a score-fusion formula and the element kernels its
 * two evaluators share.
 *
 * A formula is parsed once (fusion.c, recursive descent) into a tree, constant subtrees are folded, and
 * the tree is flattened into a short register program (fz_insn): every instruction reads registers and
 * writes one, registers being numbered like a stack (Sethi-Ullman order keeps their count minimal).
 * fusion_eval.c runs the program in two ways that give bit-identical results:
 *   - column-wise: each instruction loops over a block of FZ_BLOCK candidates, so a register is a
 *     FZ_BLOCK-float array that stays in L1 and each loop has a fixed trip count (GCC vectorises those at
 *     -O2); this is the fast path, allocation-free, the register file on the stack;
 *   - one candidate at a time (the reference), with the same element functions.
 * The element functions (fz_*) below define the arithmetic; constant folding uses them too, so a folded
 * formula gives exactly what the unfolded one gives.
 *
 * Numeric semantics (docs/fusion-and-rules.md): IEEE float, NaN propagates. ^ is powf's definition (a
 * negative base needs an integer exponent, else NaN; 0 ^ negative is +inf), log(0) = -inf, log(< 0) and
 * sqrt(< 0) are NaN. Comparisons are IEEE (NaN compares false, except != which is true). A NaN condition
 * (if, and, or, not) gives NaN. min, max and clamp return NaN when any argument is NaN.
 * pow, log and exp use fast kernels (double-precision polynomials, 4 lanes at a time) that agree with
 * glibc's powf/logf/expf to within 1 ulp; arguments outside their fast domain go to libm. */
#ifndef MTR_RANK_FUSION_H
#define MTR_RANK_FUSION_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mtrank.h"

#define FZ_BLOCK 64      /* candidates per column-wise step: a register is FZ_BLOCK floats */
#define FZ_MAX_REGS 32   /* registers a program may use; deeper formulas are refused at compile time */
#define FZ_MAX_DEPTH 100 /* nesting levels: parentheses, calls, unary - and +, not, ^ (bounds the recursion) */

/* Instructions. a, b, c name operand registers; imm is a variable column or a scalar slot. */
typedef enum fz_op {
    FZ_LOADV,  /* dst = column imm of the candidate matrix */
    FZ_LOADS,  /* dst = scalar slot imm (a parameter or a constant), the same for every candidate */
    FZ_NEG,    /* dst = -a */
    FZ_NOT,    /* dst = a == 0 (NaN stays NaN) */
    FZ_ABS,    /* dst = |a| */
    FZ_SQRT,   /* dst = sqrt(a) */
    FZ_LOG,    /* dst = natural log of a */
    FZ_EXP,    /* dst = e^a */
    FZ_ADD, FZ_SUB, FZ_MUL, FZ_DIV,
    FZ_POW,    /* dst = a ^ b */
    FZ_POWS,   /* dst = a ^ scalar slot imm (the exponent is the same for every candidate) */
    FZ_MIN, FZ_MAX,
    FZ_LT, FZ_LE, FZ_GT, FZ_GE, FZ_EQ, FZ_NE, /* 1 or 0 */
    FZ_AND, FZ_OR,                            /* 1 or 0, NaN if an operand is NaN */
    FZ_CLAMP,  /* dst = min(max(a, b), c) */
    FZ_IF,     /* dst = a != 0 ? b : c (NaN if a is NaN) */
    FZ_OP_COUNT
} fz_op;

typedef struct fz_insn {
    uint8_t op;        /* fz_op */
    uint8_t dst;       /* destination register */
    uint8_t a, b, c;   /* operand registers, as many as the op reads */
    uint32_t imm;      /* FZ_LOADV: variable column; FZ_LOADS, FZ_POWS: scalar slot */
} fz_insn;

struct mtr_fusion {
    char *formula;            /* the source text, as given */
    int n_vars;               /* columns the candidate matrix must have (at least) */
    char **var_names;         /* (n_vars) copies, for messages and for checking rules bind the same columns */
    int n_params;             /* named parameters; they occupy scalar slots 0..n_params-1 */
    char **param_names;       /* (n_params) */
    double *param_values;     /* (n_params) current values, as set */
    int n_scalars;            /* scalar slots: the parameters, then the folded constants */
    float *scalars;           /* (n_scalars) values the program reads; parameters rounded to float */
    int n_insns;              /* program length */
    fz_insn *insns;           /* the program; its result is register 0 */
    int n_regs;               /* registers the program uses, <= FZ_MAX_REGS */
};

/* Compile with constant folding switched off (fold = 0) or on: tests compare the two. */
mtr_fusion *mtr_fusion_compile_ex(const char *formula, const char *const *vars, int n_vars,
                                  const mtr_fusion_param *params, int n_params, int fold, mtr_error *err);

/* One candidate through the program (fusion_eval.c); also used to fold constants. */
float fz_apply1(fz_op op, float a, float b, float c);

/* Fast natural log, e^x and x^y of one float (fusion_eval.c); libm outside the fast domain. */
float fz_logf(float x);
float fz_expf(float x);
float fz_powf(float x, float y);

/* ---------------------------------------------------------------- element functions */

/* min and max that return NaN when either operand is NaN */
static inline float fz_min(float a, float b) {
    float r = a < b ? a : b;
    return a != a ? a : r;
}
static inline float fz_max(float a, float b) {
    float r = a > b ? a : b;
    return a != a ? a : r;
}
static inline float fz_not(float a) { return a != a ? a : (float)(a == 0.0f); }
static inline float fz_and(float a, float b) {
    float r = a != 0.0f ? (float)(b != 0.0f) : 0.0f; /* selects, not &&, so block loops vectorise */
    r = b != b ? b : r;
    return a != a ? a : r;
}
static inline float fz_or(float a, float b) {
    float r = a != 0.0f ? 1.0f : (float)(b != 0.0f);
    r = b != b ? b : r;
    return a != a ? a : r;
}
static inline float fz_clamp(float x, float lo, float hi) { return fz_min(fz_max(x, lo), hi); }
static inline float fz_if(float c, float a, float b) {
    float r = c != 0.0f ? a : b;
    return c != c ? c : r;
}

#endif
