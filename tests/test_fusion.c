/* test_fusion.c - score-fusion formulas: precedence and associativity, every function and comparison, the
 * NaN/inf semantics, constant folding against the unfolded program, column-wise against one-at-a-time
 * evaluation (bit for bit), the fast pow/log/exp against libm, parameters changed without recompiling,
 * one test per kind of compile error with its position, and the parameter search. Expected values are
 * worked out by hand in the comments. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "rank/fusion.h"
#include "test.h"
#include "util/rng.h"

static const char *const VARS[] = {"ctr", "cvr", "price", "stay", "cart", "fav", "rule_weight", "x", "y"};
#define N_VARS 9
enum { CTR, CVR, PRICE, STAY, CART, FAV, RULE_WEIGHT, X, Y };

static const mtr_fusion_param PARAMS[] = {{"alpha", 0.5}, {"beta", 2.0}, {"p", 0.5}, {"a", 1.0},
                                          {"b", 0.25},    {"c", 2.0}};
#define N_PARAMS 6

static mtr_fusion *compile(const char *formula, int fold) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile_ex(formula, VARS, N_VARS, PARAMS, N_PARAMS, fold, &err);
    CHECK_MSG(f != NULL, "compile '%s': %s", formula, err.message);
    return f;
}

/* The formula's value on `row`, checked to be the same folded and unfolded, one at a time and
 * column-wise (also inside a block of other candidates). */
static float eval_row(const char *formula, const float *row) {
    float r[2][3];
    for (int fold = 0; fold < 2; fold++) {
        mtr_fusion *f = compile(formula, fold);
        if (!f) return NAN;
        r[fold][0] = mtr_fusion_eval_one(f, row);
        float block[3 * N_VARS], out[3];
        for (int k = 0; k < 3; k++) memcpy(block + k * N_VARS, row, sizeof(float) * N_VARS);
        mtr_error err = {{0}};
        CHECK(mtr_fusion_eval(f, block, 3, N_VARS, out, &err) == 0);
        r[fold][1] = out[0];
        r[fold][2] = out[2];
        mtr_fusion_free(f);
    }
    for (int fold = 0; fold < 2; fold++)
        for (int k = 0; k < 3; k++)
            CHECK_MSG(memcmp(&r[fold][k], &r[0][0], sizeof(float)) == 0 || (isnan(r[fold][k]) && isnan(r[0][0])),
                      "'%s': fold %d path %d gives %.9g, unfolded scalar %.9g", formula, fold, k, r[fold][k],
                      r[0][0]);
    return r[0][0];
}

static float eval0(const char *formula) {
    float row[N_VARS] = {0};
    return eval_row(formula, row);
}

#define CHECK_VAL(formula, expect)                                                                  \
    do {                                                                                            \
        float v_ = eval0(formula);                                                                  \
        CHECK_MSG(v_ == (float)(expect), "'%s' = %.9g, expected %.9g", formula, v_, (double)(expect)); \
    } while (0)

TEST(fusion_precedence_and_associativity) {
    CHECK_VAL("2^3^2", 512);   /* right-associative: 2^(3^2) */
    CHECK_VAL("(2^3)^2", 64);
    CHECK_VAL("-2^2", -4);     /* ^ binds tighter than unary minus */
    CHECK_VAL("(-2)^2", 4);
    CHECK_VAL("2^-1", 0.5);    /* a signed exponent */
    CHECK_VAL("1-2-3", -4);    /* left-associative */
    CHECK_VAL("8/4/2", 1);
    CHECK_VAL("2+3*4", 14);
    CHECK_VAL("2*3+4", 10);
    CHECK_VAL("(2+3)*4", 20);
    CHECK_VAL("2*-3", -6);
    CHECK_VAL("--2", 2);
    CHECK_VAL("+2", 2);
    CHECK_VAL("1 + 2 < 4", 1);       /* comparison below arithmetic: (1+2) < 4 */
    CHECK_VAL("1 + (2 < 4)", 2);
    CHECK_VAL("not 0 and 0", 0);     /* (not 0) and 0 */
    CHECK_VAL("not (0 and 0)", 1);
    CHECK_VAL("1 or 0 and 0", 1);    /* 1 or (0 and 0) */
    CHECK_VAL("0 and 0 or 1", 1);    /* (0 and 0) or 1 */
    CHECK_VAL("not 1 < 2", 0);       /* not (1 < 2) */
    CHECK_VAL("2 * 3 ^ 2", 18);
    CHECK_VAL(".5 + 1.5e1 + 2E-1", 15.7f);
    float row[N_VARS] = {0};
    row[X] = 3;
    CHECK(eval_row("-x^2", row) == -9);
    CHECK(eval_row("x - -x", row) == 6);
}

TEST(fusion_functions) {
    CHECK_VAL("min(3, 1, 2)", 1);
    CHECK_VAL("max(3, 1, 2)", 3);
    CHECK_VAL("min(-1, 4)", -1);
    CHECK_VAL("log(1)", 0);
    CHECK_VAL("exp(0)", 1);
    CHECK_VAL("sqrt(16)", 4);
    CHECK_VAL("abs(-2.5)", 2.5);
    CHECK_VAL("clamp(5, 0, 3)", 3);
    CHECK_VAL("clamp(-1, 0, 3)", 0);
    CHECK_VAL("clamp(2, 0, 3)", 2);
    CHECK_VAL("if(1, 2, 3)", 2);
    CHECK_VAL("if(0, 2, 3)", 3);
    CHECK_VAL("if(-0.5, 2, 3)", 2);  /* any non-zero is true */
    CHECK_NEAR(eval0("exp(1)"), 2.71828183, 3e-7);
    CHECK_NEAR(eval0("log(10)"), 2.30258509, 3e-7);
    CHECK_NEAR(eval0("log(exp(2))"), 2.0, 3e-7);
    float row[N_VARS] = {0};
    row[X] = 3;
    row[Y] = -4;
    CHECK(eval_row("if(x > 2, 10, 20)", row) == 10);
    CHECK(eval_row("if(x > 4, 10, 20)", row) == 20);
    CHECK(eval_row("sqrt(x*x + y*y)", row) == 5);
    CHECK(eval_row("max(x, y, 0)", row) == 3);
    CHECK(eval_row("min(x, y, 0)", row) == -4);
    CHECK(eval_row("abs(y)", row) == 4);
    CHECK(eval_row("clamp(y, -1, 1)", row) == -1);
    CHECK(eval_row("clamp(x, y, 1)", row) == 1);
    CHECK_NEAR(eval_row("log(x)", row), 1.09861229, 2e-7);
    CHECK_NEAR(eval_row("exp(y)", row), 0.0183156389, 5e-9);
    /* spaces inside calls and names as arguments */
    CHECK(eval_row("max ( x , 7 )", row) == 7);
}

TEST(fusion_comparisons_and_logic) {
    CHECK_VAL("1 < 2", 1);
    CHECK_VAL("2 < 1", 0);
    CHECK_VAL("2 <= 2", 1);
    CHECK_VAL("3 > 2", 1);
    CHECK_VAL("2 >= 3", 0);
    CHECK_VAL("2 == 2", 1);
    CHECK_VAL("2 != 2", 0);
    CHECK_VAL("2 != 3", 1);
    CHECK_VAL("1 and 2", 1);
    CHECK_VAL("1 and 0", 0);
    CHECK_VAL("0 or 0", 0);
    CHECK_VAL("0 or -3", 1);
    CHECK_VAL("not 0", 1);
    CHECK_VAL("not 5", 0);
    float row[N_VARS] = {0};
    row[X] = NAN;
    row[Y] = 1;
    CHECK(eval_row("x < y", row) == 0); /* IEEE: NaN compares false ... */
    CHECK(eval_row("x >= y", row) == 0);
    CHECK(eval_row("x == x", row) == 0);
    CHECK(eval_row("x != y", row) == 1); /* ... except != */
    CHECK(isnan(eval_row("x and y", row)));
    CHECK(isnan(eval_row("y and x", row)));
    CHECK(isnan(eval_row("y or x", row)));
    CHECK(isnan(eval_row("not x", row)));
    CHECK(isnan(eval_row("if(x, 1, 2)", row))); /* a NaN condition gives NaN, not a branch */
    CHECK(eval_row("if(y, 1, x)", row) == 1);   /* the unused branch may be NaN */
}

TEST(fusion_nan_and_inf_semantics) {
    float row[N_VARS] = {0};
    row[X] = -8;
    row[Y] = 0;
    CHECK(isnan(eval_row("x ^ (1/3)", row)));     /* negative base, non-integer exponent */
    CHECK(eval_row("x ^ 2", row) == 64);         /* negative base, integer exponent: fine */
    CHECK(eval_row("(x/4) ^ 3", row) == -8);
    CHECK(eval_row("x ^ 1", row) == -8);
    CHECK(eval_row("y ^ -1", row) == INFINITY);  /* 0 ^ negative = +inf */
    CHECK(eval_row("y ^ 0", row) == 1);
    CHECK(eval_row("log(y)", row) == -INFINITY); /* log(0) = -inf */
    CHECK(isnan(eval_row("log(x)", row)));        /* log(< 0) = NaN */
    CHECK(isnan(eval_row("sqrt(x)", row)));
    CHECK(isnan(eval_row("y / y", row)));
    CHECK(eval_row("1 / y", row) == INFINITY);
    CHECK(eval_row("exp(1000)", row) == INFINITY);
    CHECK(eval_row("exp(-1000)", row) == 0);
    row[X] = NAN;
    CHECK(eval_row("x ^ 0", row) == 1);          /* powf's rule: anything ^ 0 is 1 */
    CHECK(eval_row("1 ^ x", row) == 1);          /* and 1 ^ anything is 1 */
    CHECK(isnan(eval_row("x ^ 2", row)));
    CHECK(isnan(eval_row("min(x, 1)", row)));     /* NaN propagates through min, max, clamp */
    CHECK(isnan(eval_row("min(1, x)", row)));
    CHECK(isnan(eval_row("max(x, 1)", row)));
    CHECK(isnan(eval_row("max(1, x)", row)));
    CHECK(isnan(eval_row("clamp(x, 0, 1)", row)));
    CHECK(isnan(eval_row("clamp(0.5, x, 1)", row)));
    CHECK(isnan(eval_row("x * 0", row)));
    /* the same with constants only, where folding computes them */
    CHECK(isnan(eval0("(-8) ^ 0.5")));
    CHECK(isnan(eval0("log(-1)")));
    CHECK(eval0("log(0)") == -INFINITY);
    CHECK(eval0("0 ^ -2") == INFINITY);
}

/* Folded programs are shorter and give the same numbers. */
TEST(fusion_constant_folding) {
    mtr_fusion *folded = compile("x * (2 + 3) ^ 2 - 4 / 8", 1), *plain = compile("x * (2 + 3) ^ 2 - 4 / 8", 0);
    if (!folded || !plain) return;
    /* folded: LOADV x; LOADS 25; MUL; LOADS 0.5; SUB */
    CHECK_EQ_INT(folded->n_insns, 5);
    CHECK(plain->n_insns > folded->n_insns);
    float row[N_VARS] = {0};
    row[X] = 3;
    CHECK(mtr_fusion_eval_one(folded, row) == 74.5f);
    CHECK(mtr_fusion_eval_one(plain, row) == 74.5f);
    mtr_fusion_free(folded);
    mtr_fusion_free(plain);
    /* a constant condition picks its branch at compile time */
    mtr_fusion *f = compile("if(1 < 2, x, y)", 1);
    if (f) {
        CHECK_EQ_INT(f->n_insns, 1);
        mtr_fusion_free(f);
    }
    /* parameters are never folded: they change */
    f = compile("alpha * 2", 1);
    if (f) {
        CHECK_EQ_INT(f->n_insns, 3);
        mtr_fusion_free(f);
    }
    const char *formulas[] = {
        "x * (1 + 2) - y / (4 - 2)", "log(2) * x + exp(0.5) * y", "(1 - 2) ^ 3 * x", "clamp(x, 1 - 2, 2 ^ 1)",
        "if(x > 0, 1 + 1, 3 * 3) + max(2, 3, 1) * y", "sqrt(2) * x ^ (1 / 3)", "min(x, 2 ^ 0.5) + (not (1 and 0))",
    };
    mtr_rng rng;
    mtr_rng_seed(&rng, 5);
    for (size_t k = 0; k < sizeof formulas / sizeof formulas[0]; k++) {
        folded = compile(formulas[k], 1);
        plain = compile(formulas[k], 0);
        if (!folded || !plain) continue;
        CHECK_MSG(folded->n_insns < plain->n_insns, "'%s' was not folded", formulas[k]);
        for (int t = 0; t < 200; t++) {
            for (int v = 0; v < N_VARS; v++) row[v] = (float)(mtr_rng_normal(&rng) * 3.0);
            float a = mtr_fusion_eval_one(folded, row), b = mtr_fusion_eval_one(plain, row);
            CHECK_MSG(memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)), "'%s': folded %.9g, unfolded %.9g",
                      formulas[k], a, b);
        }
        mtr_fusion_free(folded);
        mtr_fusion_free(plain);
    }
}

/* Column-wise over 1000 candidates (not a multiple of the block) with a wide stride equals one at a time. */
TEST(fusion_columnwise_equals_scalar) {
    const char *formulas[] = {
        "ctr * (alpha + cvr) * (beta + price) ^ p * stay ^ a * cart ^ b * fav ^ c * rule_weight",
        "x ^ y", "x ^ 2 + y ^ 1 + x ^ 0 + abs(x) ^ 0.37", "log(x) + exp(y) - sqrt(x)",
        "min(x, y, ctr) * max(x, y) / clamp(x, -1, 1)", "if(x > y, x - y, y - x) + (x <= y) + (x == y) * 3",
        "(x < 0 and y > 0) or not (x != y)", "-(x - y) ^ 3 / (1 + abs(x))", "price ^ (x / 3)",
    };
    size_t n = 1000, stride = N_VARS + 3;
    float *m = malloc(n * stride * sizeof *m), *out = malloc(n * sizeof *out);
    mtr_rng rng;
    mtr_rng_seed(&rng, 11);
    for (size_t i = 0; i < n; i++) {
        float *r = m + i * stride;
        r[CTR] = (float)mtr_rng_uniform(&rng) * 0.1f;
        r[CVR] = (float)mtr_rng_uniform(&rng) * 0.05f;
        r[PRICE] = (float)exp(mtr_rng_normal(&rng) * 2.0 + 3.0);
        r[STAY] = (float)mtr_rng_uniform(&rng) * 60.0f;
        r[CART] = (float)mtr_rng_uniform(&rng) * 0.02f;
        r[FAV] = (float)mtr_rng_uniform(&rng) * 0.02f;
        r[RULE_WEIGHT] = 1.0f;
        r[X] = (float)(mtr_rng_normal(&rng) * 4.0);
        r[Y] = (float)(mtr_rng_normal(&rng) * 4.0);
        if (i % 97 == 3) r[X] = 0.0f; /* some zeros, NaNs and infinities through every op */
        if (i % 89 == 5) r[Y] = NAN;
        if (i % 101 == 7) r[X] = INFINITY;
        if (i % 103 == 9) r[STAY] = 0.0f;
        for (size_t k = N_VARS; k < stride; k++) r[k] = 12345.0f; /* padding the formula must not read */
    }
    for (size_t k = 0; k < sizeof formulas / sizeof formulas[0]; k++) {
        mtr_fusion *f = compile(formulas[k], 1);
        if (!f) continue;
        mtr_error err = {{0}};
        CHECK(mtr_fusion_eval(f, m, n, stride, out, &err) == 0);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            float ref = mtr_fusion_eval_one(f, m + i * stride);
            if (!(memcmp(&ref, &out[i], sizeof ref) == 0 || (isnan(ref) && isnan(out[i])))) {
                if (bad++ < 3)
                    CHECK_MSG(0, "'%s' candidate %zu: column-wise %.9g, scalar %.9g", formulas[k], i, out[i], ref);
            }
        }
        CHECK_EQ_INT(bad, 0);
        mtr_fusion_free(f);
    }
    free(m);
    free(out);
}

static int ulps(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if ((ia < 0) != (ib < 0)) return a == b ? 0 : INT32_MAX;
    return abs(ia - ib);
}

/* The fast kernels stay within 1 ulp of libm, and are libm exactly outside their fast domain. */
TEST(fusion_fast_math_matches_libm) {
    mtr_rng rng;
    mtr_rng_seed(&rng, 3);
    int worst_pow = 0, worst_log = 0, worst_exp = 0;
    for (int t = 0; t < 200000; t++) {
        float x = (float)exp(mtr_rng_uniform(&rng) * 80.0 - 40.0);
        float y = (float)(mtr_rng_uniform(&rng) * 8.0 - 4.0);
        float e = (float)(mtr_rng_uniform(&rng) * 200.0 - 100.0);
        int u = ulps(fz_powf(x, y), powf(x, y));
        if (u > worst_pow) worst_pow = u;
        u = ulps(fz_logf(x), logf(x));
        if (u > worst_log) worst_log = u;
        u = ulps(fz_expf(e), expf(e));
        if (u > worst_exp) worst_exp = u;
    }
    CHECK_MSG(worst_pow <= 1, "pow: %d ulps", worst_pow);
    CHECK_MSG(worst_log <= 1, "log: %d ulps", worst_log);
    CHECK_MSG(worst_exp <= 1, "exp: %d ulps", worst_exp);
    const float xs[] = {0.0f, -0.0f, -2.0f, -0.5f, INFINITY, -INFINITY, NAN, 1.0f, 1e-40f, 3.4e38f};
    const float ys[] = {0.0f, 1.0f, 2.0f, 3.0f, -1.0f, 0.5f, -2.5f, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++) {
            float a = fz_powf(xs[i], ys[j]), b = powf(xs[i], ys[j]);
            CHECK_MSG(ulps(a, b) <= 1 || (isnan(a) && isnan(b)), "pow(%g, %g): %.9g vs libm %.9g", xs[i], ys[j], a, b);
        }
        float a = fz_logf(xs[i]), b = logf(xs[i]);
        CHECK_MSG(ulps(a, b) <= 1 || (isnan(a) && isnan(b)), "log(%g): %.9g vs libm %.9g", xs[i], a, b);
        a = fz_expf(xs[i]), b = expf(xs[i]);
        CHECK_MSG(ulps(a, b) <= 1 || (isnan(a) && isnan(b)), "exp(%g): %.9g vs libm %.9g", xs[i], a, b);
    }
}

TEST(fusion_parameters_change_without_recompiling) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile("ctr * (alpha + cvr) * price ^ p", VARS, N_VARS, PARAMS, N_PARAMS, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    if (!f) return;
    float row[N_VARS] = {0};
    row[CTR] = 0.5f;
    row[CVR] = 0.25f;
    row[PRICE] = 16.0f;
    /* 0.5 * (0.5 + 0.25) * 16^0.5 = 0.5 * 0.75 * 4 = 1.5 */
    CHECK(mtr_fusion_eval_one(f, row) == 1.5f);
    const fz_insn *program = f->insns;
    int length = f->n_insns;
    CHECK(mtr_fusion_set_param_named(f, "alpha", 1.75, &err) == 0);
    mtr_fusion_set_param(f, mtr_fusion_param_find(f, "p"), 0.25);
    /* 0.5 * (1.75 + 0.25) * 16^0.25 = 0.5 * 2 * 2 = 2 */
    CHECK(mtr_fusion_eval_one(f, row) == 2.0f);
    float out;
    CHECK(mtr_fusion_eval(f, row, 1, N_VARS, &out, &err) == 0);
    CHECK(out == 2.0f);
    CHECK(f->insns == program && f->n_insns == length); /* same program */
    CHECK(mtr_fusion_get_param(f, 0) == 1.75);
    CHECK_EQ_INT(mtr_fusion_param_count(f), N_PARAMS);
    CHECK(strcmp(mtr_fusion_param_name(f, 2), "p") == 0);
    CHECK_EQ_INT(mtr_fusion_param_find(f, "zeta"), -1);
    CHECK(mtr_fusion_set_param_named(f, "zeta", 1, &err) == -1);
    CHECK_CONTAINS(err.message, "no parameter 'zeta' (parameters: alpha, beta, p, a, b, c)");
    CHECK(strcmp(mtr_fusion_formula(f), "ctr * (alpha + cvr) * price ^ p") == 0);
    CHECK_EQ_INT(mtr_fusion_var_count(f), N_VARS);
    mtr_fusion_free(f);
}

/* ---------------------------------------------------------------- compile errors, one per kind */

static void check_error(const char *formula, const char *expect) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile(formula, VARS, N_VARS, PARAMS, N_PARAMS, &err);
    CHECK_MSG(f == NULL, "'%s' compiled", formula);
    mtr_fusion_free(f);
    CHECK_CONTAINS(err.message, expect);
}

TEST(fusion_error_unknown_variable) {
    /* c at column 1 ... the second operand of + starts at column 16 */
    check_error("ctr * (alpha + cvv)",
                "formula:1:16: unknown variable 'cvv' (variables: ctr, cvr, price, stay, cart, fav, rule_weight, x, y; "
                "parameters: alpha, beta, p, a, b, c) - did you mean 'cvr'?");
    check_error("ctr * gamma", "formula:1:7: unknown variable 'gamma'");
    check_error("ctr *\n  (cvr +\n   foo)", "formula:3:4: unknown variable 'foo'"); /* line and column */
    check_error("log * 2", "formula:1:1: 'log' is a function: call it as log(...)");
}

TEST(fusion_error_missing_paren) {
    check_error("(ctr + 1", "formula:1:9: expected ')' to close the '(' at column 1 but found end of formula");
    check_error("(ctr + 1 cvr", "formula:1:10: expected ')' to close the '(' at column 1 but found 'cvr'");
    check_error("max(ctr, 1", "formula:1:11: expected ',' or ')' in the arguments of max but found end of formula");
}

TEST(fusion_error_unknown_function) {
    check_error("lg(ctr)", "formula:1:1: unknown function 'lg' (functions: min, max, log, exp, sqrt, abs, clamp, if)");
    check_error("ctr + pow(ctr, 2)", "formula:1:7: unknown function 'pow'");
}

TEST(fusion_error_argument_count) {
    check_error("log(ctr, cvr)", "formula:1:1: log takes 1 argument, got 2");
    check_error("2 * min(ctr)", "formula:1:5: min takes at least 2 arguments, got 1");
    check_error("clamp(ctr, 0)", "formula:1:1: clamp takes 3 arguments, got 2");
    check_error("if(ctr, 1, 2, 3)", "formula:1:1: if takes 3 arguments, got 4");
    check_error("exp()", "formula:1:1: exp takes 1 argument, got 0");
}

TEST(fusion_error_empty) {
    check_error("", "formula:1:1: empty formula");
    check_error("  \n   ", "formula:2:4: empty formula");
}

TEST(fusion_error_trailing_garbage) {
    check_error("ctr cvr", "formula:1:5: unexpected 'cvr' after a complete expression (missing operator?)");
    check_error("(ctr) (cvr)", "formula:1:7: unexpected '('");
    check_error("ctr)", "formula:1:4: unexpected ')'");
}

TEST(fusion_error_number_syntax) {
    check_error("1.2.3 * ctr", "formula:1:1: malformed number '1.2.3'");
    check_error("ctr * 1e", "formula:1:7: malformed number '1e'");
    check_error("2x", "formula:1:1: malformed number '2x'");
    check_error("0x10", "formula:1:1: malformed number '0x10'");
    check_error("ctr * 1e39", "formula:1:7: number out of range '1e39'");
}

TEST(fusion_error_unexpected_character_and_operand) {
    check_error("ctr $ 2", "formula:1:5: unexpected character '$'");
    check_error("ctr = 2", "formula:1:5: unexpected '=' (equality is '==')");
    check_error("!ctr", "formula:1:1: unexpected '!'");
    check_error("ctr *", "formula:1:6: expected a number, a name or '(' but found end of formula");
    check_error("ctr * * 2", "formula:1:7: expected a number, a name or '(' but found '*'");
    check_error("ctr and", "formula:1:8: expected a number, a name or '(' but found end of formula");
    check_error("1 + or", "formula:1:5: expected a number, a name or '(' but found 'or'");
}

TEST(fusion_error_chained_comparison) {
    check_error("1 < ctr < 3", "formula:1:9: comparisons do not chain");
}

TEST(fusion_error_nesting) {
    char deep[400];
    size_t k = 0;
    for (int i = 0; i < 150; i++) deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 150; i++) deep[k++] = ')';
    deep[k] = '\0';
    check_error(deep, "formula:1:101: nested too deeply (more than 100 levels)");
    /* 90 levels are fine */
    char ok[200];
    k = 0;
    for (int i = 0; i < 90; i++) ok[k++] = '(';
    ok[k++] = '1';
    for (int i = 0; i < 90; i++) ok[k++] = ')';
    ok[k] = '\0';
    CHECK(eval0(ok) == 1.0f);
}

TEST(fusion_error_bad_names) {
    mtr_error err = {{0}};
    const char *bad_vars[] = {"ctr", "a b"};
    CHECK(mtr_fusion_compile("ctr", bad_vars, 2, NULL, 0, &err) == NULL);
    CHECK_CONTAINS(err.message, "variable 'a b' is not a usable name");
    const char *kw_vars[] = {"and"};
    CHECK(mtr_fusion_compile("1", kw_vars, 1, NULL, 0, &err) == NULL);
    CHECK_CONTAINS(err.message, "variable 'and' is not a usable name");
    const mtr_fusion_param clash[] = {{"ctr", 1.0}};
    CHECK(mtr_fusion_compile("ctr", VARS, N_VARS, clash, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "the name 'ctr' is given twice");
}

/* ---------------------------------------------------------------- parameter search */

/* f(x) = alpha * x + beta should give 3 at x = 1 and 1 at x = 0: optimum alpha = 2, beta = 1, metric 0. */
static double line_metric(const mtr_fusion *f, void *user) {
    int *calls = user;
    (*calls)++;
    float row[N_VARS] = {0};
    row[X] = 1;
    double at1 = mtr_fusion_eval_one(f, row);
    row[X] = 0;
    double at0 = mtr_fusion_eval_one(f, row);
    return -(at1 - 3) * (at1 - 3) - (at0 - 1) * (at0 - 1);
}

TEST(fusion_search_grid_finds_the_optimum) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile("alpha * x + beta", VARS, N_VARS, PARAMS, N_PARAMS, &err);
    if (!f) return;
    mtr_param_range ranges[2] = {{"alpha", 0.0, 4.0, 0}, {"beta", 0.0, 2.0, 0}};
    double best[2], metric;
    int calls = 0;
    /* budget 30: 5 points per range (5^2 = 25 <= 30 < 36): alpha in {0,1,2,3,4}, beta in {0,.5,1,1.5,2} */
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, ranges, 2, 30, 1, line_metric, &calls, best, &metric, &err) == 0);
    CHECK_EQ_INT(calls, 25);
    CHECK(best[0] == 2.0 && best[1] == 1.0);
    CHECK(metric == 0.0);
    CHECK(mtr_fusion_get_param(f, mtr_fusion_param_find(f, "alpha")) == 2.0); /* left at the best */
    CHECK(mtr_fusion_get_param(f, mtr_fusion_param_find(f, "beta")) == 1.0);
    /* a log-scale grid: 1, 2, 4 over [1, 4] with 3 points */
    mtr_param_range logr = {"alpha", 1.0, 4.0, 1};
    calls = 0;
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, &logr, 1, 3, 1, line_metric, &calls, best, &metric, &err) == 0);
    CHECK_EQ_INT(calls, 3);
    CHECK_NEAR(best[0], 2.0, 1e-12); /* beta stays 1: alpha = 2 is exact */
    CHECK_NEAR(metric, 0.0, 1e-12);
    /* budget 1: the midpoint */
    calls = 0;
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, ranges, 2, 3, 1, line_metric, &calls, best, &metric, &err) == 0);
    CHECK_EQ_INT(calls, 1);
    CHECK(best[0] == 2.0 && best[1] == 1.0);
    mtr_fusion_free(f);
}

TEST(fusion_search_random_is_seeded) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile("alpha * x + beta", VARS, N_VARS, PARAMS, N_PARAMS, &err);
    if (!f) return;
    mtr_param_range ranges[2] = {{"alpha", 0.0, 4.0, 0}, {"beta", 0.0, 2.0, 0}};
    double best1[2], best2[2], best3[2], m1, m2, m3;
    int calls = 0;
    CHECK(mtr_fusion_search(f, MTR_SEARCH_RANDOM, ranges, 2, 3000, 7, line_metric, &calls, best1, &m1, &err) == 0);
    CHECK_EQ_INT(calls, 3000);
    CHECK_NEAR(best1[0], 2.0, 0.1);
    CHECK_NEAR(best1[1], 1.0, 0.1);
    CHECK(m1 > -0.01 && m1 <= 0);
    CHECK(mtr_fusion_search(f, MTR_SEARCH_RANDOM, ranges, 2, 3000, 7, line_metric, &calls, best2, &m2, &err) == 0);
    CHECK(best1[0] == best2[0] && best1[1] == best2[1] && m1 == m2); /* same seed, same answer */
    CHECK(mtr_fusion_search(f, MTR_SEARCH_RANDOM, ranges, 2, 3000, 8, line_metric, &calls, best3, &m3, &err) == 0);
    CHECK(best3[0] != best1[0]);
    for (int k = 0; k < 2; k++) CHECK(best1[k] >= ranges[k].lo && best1[k] <= ranges[k].hi);
    mtr_fusion_free(f);
}

/* A metric that is NaN except at one point: NaN never wins. */
static double spiky_metric(const mtr_fusion *f, void *user) {
    double a = mtr_fusion_get_param(f, 0);
    return a == 3.0 ? 1.0 : NAN;
}

TEST(fusion_search_nan_metric_and_errors) {
    mtr_error err = {{0}};
    mtr_fusion *f = mtr_fusion_compile("alpha * x", VARS, N_VARS, PARAMS, N_PARAMS, &err);
    if (!f) return;
    mtr_param_range r = {"alpha", 0.0, 4.0, 0};
    double best, metric;
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, &r, 1, 5, 1, spiky_metric, NULL, &best, &metric, &err) == 0);
    CHECK(best == 3.0 && metric == 1.0);
    mtr_param_range bad = {"gamma", 0.0, 1.0, 0};
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, &bad, 1, 5, 1, spiky_metric, NULL, &best, &metric, &err) == -1);
    CHECK_CONTAINS(err.message, "'gamma' is not a parameter of the formula");
    mtr_param_range flipped = {"alpha", 2.0, 1.0, 0};
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, &flipped, 1, 5, 1, spiky_metric, NULL, &best, &metric, &err) == -1);
    CHECK_CONTAINS(err.message, "range 'alpha': need finite lo <= hi, got [2, 1]");
    mtr_param_range logzero = {"alpha", 0.0, 1.0, 1};
    CHECK(mtr_fusion_search(f, MTR_SEARCH_RANDOM, &logzero, 1, 5, 1, spiky_metric, NULL, &best, &metric, &err) == -1);
    CHECK_CONTAINS(err.message, "a log scale needs lo > 0");
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, &r, 1, 0, 1, spiky_metric, NULL, &best, &metric, &err) == -1);
    CHECK_CONTAINS(err.message, "budget 0");
    mtr_param_range twice[2] = {{"alpha", 0, 1, 0}, {"alpha", 0, 2, 0}};
    CHECK(mtr_fusion_search(f, MTR_SEARCH_GRID, twice, 2, 5, 1, spiky_metric, NULL, &best, &metric, &err) == -1);
    CHECK_CONTAINS(err.message, "parameter 'alpha' has two ranges");
    mtr_fusion_free(f);
}
