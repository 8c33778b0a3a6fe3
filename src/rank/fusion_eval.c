/* fusion_eval.c - running a compiled fusion program: column-wise over blocks of FZ_BLOCK candidates (the
 * fast path, registers on the stack, no allocation) and one candidate at a time (the reference); and the
 * fast pow/log/exp they share.
 *
 * Every block loop has a fixed trip count and writes a local array that is then copied to the destination
 * register (which may be an operand register): GCC 12 vectorises that shape at -O2 without alias checks.
 * pow, log and exp are computed in double on 4 lanes with GCC generic vectors (x^y = 2^(y log2 x), log2
 * by the atanh series on the mantissa, 2^t by a Taylor polynomial and an exponent add), accurate to about
 * 1e-12 before rounding to float, so within 1 ulp of glibc's powf/logf/expf; lanes outside the fast
 * domain (x <= 0, infinities, NaN) are recomputed with libm. A scalar argument goes through the same
 * vector code (lane 0 of a splat), which is why the two evaluators agree bit for bit. With
 * MTR_NO_VECTORS (or a compiler without vector extensions) both use libm directly. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rank/fusion.h"
#include "util/error.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MTR_NO_VECTORS)
#define FZ_VECTORS 1

typedef double fz_d4 __attribute__((vector_size(32)));
typedef int64_t fz_i4 __attribute__((vector_size(32)));
typedef uint64_t fz_u4 __attribute__((vector_size(32)));
typedef float fz_f4 __attribute__((vector_size(16)));

#define FZ_SEL(m, a, b) ((fz_d4)(((fz_i4)(a) & (m)) | ((fz_i4)(b) & ~(m))))
#define FZ_LN2 0.69314718055994530942
#define FZ_LOG2E 1.44269504088896340736

/* Vectors cross these helpers by pointer only (they are inlined), so builds without AVX, such as the
 * sanitizer build, get no -Wpsabi warnings. */
static inline void fz_splat(fz_d4 *r, double v) {
    fz_d4 t = {v, v, v, v};
    *r = t;
}

/* x > 0 finite (a double made from a float, so normal): k and ln(z) with x = 2^k z, z in [sqrt(1/2),
 * sqrt(2)); ln z = 2 atanh(s), s = (z-1)/(z+1), |s| < 0.172, the series to s^13 (error < 2e-12). */
static inline void fz_log_parts(const fz_d4 *x, fz_d4 *k, fz_d4 *lnz) {
    fz_u4 ix = (fz_u4)*x;
    fz_u4 tmp = ix - 0x3fe6a09e667f3bcdULL;                         /* the offset centres z on 1 */
    fz_u4 kb = (tmp + 0x8000000000000000ULL) >> 52;                /* k + 2048, from a logical shift */
    fz_d4 bias;
    fz_splat(&bias, 0x1p52 + 2048.0);
    *k = (fz_d4)(kb | 0x4330000000000000ULL) - bias;               /* integer to double */
    fz_d4 z = (fz_d4)(ix - (tmp & 0xfff0000000000000ULL));
    fz_d4 s = (z - 1.0) / (z + 1.0), s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
    fz_d4 p01 = 1.0 + s2 * (1.0 / 3), p23 = 1.0 / 5 + s2 * (1.0 / 7), p45 = 1.0 / 9 + s2 * (1.0 / 11);
    fz_d4 p = (p01 + s4 * p23) + s8 * (p45 + s4 * (1.0 / 13));
    *lnz = 2.0 * s * p;
}

/* *r = 2^t for finite t, clamped to [-200, 200] (beyond that a float is 0 or inf anyway): t = n + r,
 * |r| <= 1/2, 2^r = e^(r ln 2) by Taylor to degree 10 (error < 3e-13), then n added to the exponent. */
static inline void fz_exp2v(fz_d4 *out, const fz_d4 *tp) {
    fz_d4 lo, hi, t = *tp;
    fz_splat(&lo, -200.0);
    fz_splat(&hi, 200.0);
    t = FZ_SEL(t < lo, lo, t);
    t = FZ_SEL(t > hi, hi, t);
    fz_d4 kd = t + 0x1.8p52; /* rounds t to an integer n, held in the low mantissa bits */
    fz_u4 ki = (fz_u4)kd;
    kd -= 0x1.8p52;
    fz_d4 r = (t - kd) * FZ_LN2, r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    fz_d4 a = 1.0 + r, b = 0.5 + r * (1.0 / 6), c = 1.0 / 24 + r * (1.0 / 120), d = 1.0 / 720 + r * (1.0 / 5040);
    fz_d4 e = 1.0 / 40320 + r * (1.0 / 362880);
    fz_d4 p = ((a + r2 * b) + r4 * (c + r2 * d)) + r8 * (e + r2 * (1.0 / 3628800));
    *out = (fz_d4)((fz_u4)p + (ki << 52));
}

static inline void fz_load4(fz_d4 *v, const float *p) {
    fz_f4 f;
    memcpy(&f, p, sizeof f);
    *v = __builtin_convertvector(f, fz_d4);
}
static inline void fz_store4(float *p, const fz_d4 *v) {
    fz_f4 f = __builtin_convertvector(*v, fz_f4);
    memcpy(p, &f, sizeof f);
}

/* The fast domains; outside them libm decides (so special cases are exactly libm's). */
static inline int pow_fast_ok(float x, float y) { return (x > 0.0f) & (x < INFINITY) & (fabsf(y) < INFINITY); }
static inline int log_fast_ok(float x) { return (x > 0.0f) & (x < INFINITY); }
static inline int exp_fast_ok(float x) { return fabsf(x) <= 100.0f; }

/* out[0..n4*4) = fast x^y, ln x or e^x, lanes outside the fast domain left as garbage. */
static void pow_fast(float *out, const float *x, const float *y, int n) {
    for (int i = 0; i < n; i += 4) {
        fz_d4 xv, yv, k, lnz;
        fz_load4(&xv, x + i);
        fz_load4(&yv, y + i);
        fz_log_parts(&xv, &k, &lnz);
        fz_d4 t = yv * (k + lnz * FZ_LOG2E), r;
        fz_exp2v(&r, &t);
        fz_store4(out + i, &r);
    }
}
static void log_fast(float *out, const float *x, int n) {
    for (int i = 0; i < n; i += 4) {
        fz_d4 xv, k, lnz;
        fz_load4(&xv, x + i);
        fz_log_parts(&xv, &k, &lnz);
        fz_d4 r = k * FZ_LN2 + lnz;
        fz_store4(out + i, &r);
    }
}
static void exp_fast(float *out, const float *x, int n) {
    for (int i = 0; i < n; i += 4) {
        fz_d4 xv;
        fz_load4(&xv, x + i);
        fz_d4 t = xv * FZ_LOG2E, r;
        fz_exp2v(&r, &t);
        fz_store4(out + i, &r);
    }
}
#endif

/* Exponents 0, 1 and 2 give exactly powf's answer by a shorter way (pow(x, 0) = 1 even for NaN x). */
static inline float pow_small(float x, float y, float r) {
    r = y == 2.0f ? x * x : r;
    r = y == 1.0f ? x : r;
    return y == 0.0f ? 1.0f : r;
}

float fz_powf(float x, float y) {
    float r;
#ifdef FZ_VECTORS
    if (pow_fast_ok(x, y)) {
        float xs[4] = {x, x, x, x}, ys[4] = {y, y, y, y}, rs[4];
        pow_fast(rs, xs, ys, 4);
        r = rs[0];
    } else {
        r = powf(x, y);
    }
#else
    r = powf(x, y);
#endif
    return pow_small(x, y, r);
}

float fz_logf(float x) {
#ifdef FZ_VECTORS
    if (log_fast_ok(x)) {
        float xs[4] = {x, x, x, x}, rs[4];
        log_fast(rs, xs, 4);
        return rs[0];
    }
#endif
    return logf(x);
}

float fz_expf(float x) {
#ifdef FZ_VECTORS
    if (exp_fast_ok(x)) {
        float xs[4] = {x, x, x, x}, rs[4];
        exp_fast(rs, xs, 4);
        return rs[0];
    }
#endif
    return expf(x);
}

float fz_apply1(fz_op op, float a, float b, float c) {
    switch (op) {
    case FZ_NEG: return -a;
    case FZ_NOT: return fz_not(a);
    case FZ_ABS: return fabsf(a);
    case FZ_SQRT: return sqrtf(a);
    case FZ_LOG: return fz_logf(a);
    case FZ_EXP: return fz_expf(a);
    case FZ_ADD: return a + b;
    case FZ_SUB: return a - b;
    case FZ_MUL: return a * b;
    case FZ_DIV: return a / b;
    case FZ_POW:
    case FZ_POWS: return fz_powf(a, b);
    case FZ_MIN: return fz_min(a, b);
    case FZ_MAX: return fz_max(a, b);
    case FZ_LT: return (float)(a < b);
    case FZ_LE: return (float)(a <= b);
    case FZ_GT: return (float)(a > b);
    case FZ_GE: return (float)(a >= b);
    case FZ_EQ: return (float)(a == b);
    case FZ_NE: return (float)(a != b);
    case FZ_AND: return fz_and(a, b);
    case FZ_OR: return fz_or(a, b);
    case FZ_CLAMP: return fz_clamp(a, b, c);
    case FZ_IF: return fz_if(a, b, c);
    default: return NAN; /* loads never come here */
    }
}

float mtr_fusion_eval_one(const mtr_fusion *f, const float *row) {
    float r[FZ_MAX_REGS];
    for (int k = 0; k < f->n_insns; k++) {
        const fz_insn *in = &f->insns[k];
        switch (in->op) {
        case FZ_LOADV: r[in->dst] = row[in->imm]; break;
        case FZ_LOADS: r[in->dst] = f->scalars[in->imm]; break;
        case FZ_POWS: r[in->dst] = fz_powf(r[in->a], f->scalars[in->imm]); break;
        default: r[in->dst] = fz_apply1((fz_op)in->op, r[in->a], r[in->b], r[in->c]); break;
        }
    }
    return r[0];
}

/* ---------------------------------------------------------------- block kernels */

/* D = EXPR over the block, EXPR reading a (= A[i]), b and c; D may be A, B or C. */
#define FZ_MAP(D, EXPR)                                                                            \
    do {                                                                                           \
        float t_[FZ_BLOCK];                                                                        \
        for (int i = 0; i < FZ_BLOCK; i++) {                                                       \
            float a = A[i], b = B[i], c = C[i];                                                    \
            (void)a, (void)b, (void)c;                                                             \
            t_[i] = (EXPR);                                                                        \
        }                                                                                          \
        memcpy((D), t_, sizeof t_);                                                                \
    } while (0)

static void block_pow(float *dst, const float *x, const float *y) {
    float t[FZ_BLOCK];
#ifdef FZ_VECTORS
    int ok = 1;
    for (int i = 0; i < FZ_BLOCK; i++) ok &= pow_fast_ok(x[i], y[i]);
    pow_fast(t, x, y, FZ_BLOCK);
    if (!ok)
        for (int i = 0; i < FZ_BLOCK; i++)
            if (!pow_fast_ok(x[i], y[i])) t[i] = powf(x[i], y[i]);
#else
    for (int i = 0; i < FZ_BLOCK; i++) t[i] = powf(x[i], y[i]);
#endif
    for (int i = 0; i < FZ_BLOCK; i++) t[i] = pow_small(x[i], y[i], t[i]);
    memcpy(dst, t, sizeof t);
}

/* x ^ y with y the same for the whole block */
static void block_pows(float *dst, const float *x, float y) {
    float t[FZ_BLOCK];
    if (y == 1.0f) {
        memmove(dst, x, sizeof t);
        return;
    }
    if (y == 2.0f || y == 0.0f) {
        for (int i = 0; i < FZ_BLOCK; i++) t[i] = y == 0.0f ? 1.0f : x[i] * x[i];
        memcpy(dst, t, sizeof t);
        return;
    }
#ifdef FZ_VECTORS
    float ys[FZ_BLOCK];
    int ok = fabsf(y) < INFINITY;
    for (int i = 0; i < FZ_BLOCK; i++) ys[i] = y, ok &= log_fast_ok(x[i]);
    pow_fast(t, x, ys, FZ_BLOCK);
    if (!ok)
        for (int i = 0; i < FZ_BLOCK; i++)
            if (!pow_fast_ok(x[i], y)) t[i] = powf(x[i], y);
#else
    for (int i = 0; i < FZ_BLOCK; i++) t[i] = powf(x[i], y);
#endif
    memcpy(dst, t, sizeof t);
}

static void block_log(float *dst, const float *x) {
    float t[FZ_BLOCK];
#ifdef FZ_VECTORS
    int ok = 1;
    for (int i = 0; i < FZ_BLOCK; i++) ok &= log_fast_ok(x[i]);
    log_fast(t, x, FZ_BLOCK);
    if (!ok)
        for (int i = 0; i < FZ_BLOCK; i++)
            if (!log_fast_ok(x[i])) t[i] = logf(x[i]);
#else
    for (int i = 0; i < FZ_BLOCK; i++) t[i] = logf(x[i]);
#endif
    memcpy(dst, t, sizeof t);
}

static void block_exp(float *dst, const float *x) {
    float t[FZ_BLOCK];
#ifdef FZ_VECTORS
    int ok = 1;
    for (int i = 0; i < FZ_BLOCK; i++) ok &= exp_fast_ok(x[i]);
    exp_fast(t, x, FZ_BLOCK);
    if (!ok)
        for (int i = 0; i < FZ_BLOCK; i++)
            if (!exp_fast_ok(x[i])) t[i] = expf(x[i]);
#else
    for (int i = 0; i < FZ_BLOCK; i++) t[i] = expf(x[i]);
#endif
    memcpy(dst, t, sizeof t);
}

/* Candidates [0, m) of one block, their rows at x; result in reg[0]. Lanes m.. hold zeros, computed and
 * ignored. */
static void run_block(const mtr_fusion *f, float (*reg)[FZ_BLOCK], const float *x, size_t stride, int m) {
    for (int k = 0; k < f->n_insns; k++) {
        const fz_insn *in = &f->insns[k];
        float *D = reg[in->dst];
        const float *A = reg[in->a], *B = reg[in->b], *C = reg[in->c];
        switch (in->op) {
        case FZ_LOADV: {
            const float *col = x + in->imm;
            if (m == FZ_BLOCK) {
                for (int i = 0; i < FZ_BLOCK; i++) D[i] = col[(size_t)i * stride];
            } else {
                for (int i = 0; i < m; i++) D[i] = col[(size_t)i * stride];
                for (int i = m; i < FZ_BLOCK; i++) D[i] = 0.0f;
            }
            break;
        }
        case FZ_LOADS: {
            float v = f->scalars[in->imm];
            for (int i = 0; i < FZ_BLOCK; i++) D[i] = v;
            break;
        }
        case FZ_NEG: FZ_MAP(D, -a); break;
        case FZ_NOT: FZ_MAP(D, fz_not(a)); break;
        case FZ_ABS: FZ_MAP(D, fabsf(a)); break;
        case FZ_SQRT: FZ_MAP(D, sqrtf(a)); break;
        case FZ_LOG: block_log(D, A); break;
        case FZ_EXP: block_exp(D, A); break;
        case FZ_ADD: FZ_MAP(D, a + b); break;
        case FZ_SUB: FZ_MAP(D, a - b); break;
        case FZ_MUL: FZ_MAP(D, a * b); break;
        case FZ_DIV: FZ_MAP(D, a / b); break;
        case FZ_POW: block_pow(D, A, B); break;
        case FZ_POWS: block_pows(D, A, f->scalars[in->imm]); break;
        case FZ_MIN: FZ_MAP(D, fz_min(a, b)); break;
        case FZ_MAX: FZ_MAP(D, fz_max(a, b)); break;
        case FZ_LT: FZ_MAP(D, (float)(a < b)); break;
        case FZ_LE: FZ_MAP(D, (float)(a <= b)); break;
        case FZ_GT: FZ_MAP(D, (float)(a > b)); break;
        case FZ_GE: FZ_MAP(D, (float)(a >= b)); break;
        case FZ_EQ: FZ_MAP(D, (float)(a == b)); break;
        case FZ_NE: FZ_MAP(D, (float)(a != b)); break;
        case FZ_AND: FZ_MAP(D, fz_and(a, b)); break;
        case FZ_OR: FZ_MAP(D, fz_or(a, b)); break;
        case FZ_CLAMP: FZ_MAP(D, fz_clamp(a, b, c)); break;
        case FZ_IF: FZ_MAP(D, fz_if(a, b, c)); break;
        default: break;
        }
    }
}

int mtr_fusion_eval(const mtr_fusion *f, const float *x, size_t n, size_t stride, float *out, mtr_error *err) {
    if (n == 0) return 0;
    if (stride < (size_t)f->n_vars)
        return mtr_fail(err, "fusion: a candidate row holds %zu floats, the formula has %d variables", stride,
                        f->n_vars);
    if (!x && f->n_vars > 0) return mtr_fail(err, "fusion: no candidate matrix");
    float reg[FZ_MAX_REGS][FZ_BLOCK] __attribute__((aligned(32)));
    for (size_t base = 0; base < n; base += FZ_BLOCK) {
        int m = n - base < FZ_BLOCK ? (int)(n - base) : FZ_BLOCK;
        run_block(f, reg, x ? x + base * stride : NULL, stride, m);
        memcpy(out + base, reg[0], (size_t)m * sizeof(float));
    }
    return 0;
}
