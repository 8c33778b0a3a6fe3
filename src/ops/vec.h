/* vec.h - private to src/ops: the thin SIMD layer the element-wise ops are built on.
 *
 * Two kinds of code, chosen by what GCC 12 does at -O2 (the release build):
 *   - Plain loops (add, axpy, copy, the activation derivatives) are written as a fixed-width inner loop
 *     over MTR_VW floats on restrict pointers with unconditional loads, then a scalar tail. At -O2 GCC
 *     uses the "very cheap" vectoriser cost model, which vectorises only loops whose trip count is a
 *     known multiple of the vector width and need no runtime alias check; this shape qualifies, and
 *     compiles to AVX with -march=native, SSE2 without.
 *   - Reductions, accumulations held in registers, and exp/tanh/sigmoid (whose clamps become branches,
 *     so no cost model vectorises them) use GCC/clang generic vectors of 8 floats (mtr_f8) when
 *     MTR_HAVE_VECTORS is set, with a scalar fallback of the same contract otherwise (define
 *     MTR_NO_VECTORS to build and test it). Staging vectors through float arrays is avoided: a 32-byte
 *     load of data just written as smaller pieces defeats store forwarding and cost 10x here.
 * Vector values never cross a function boundary by value (helpers take pointers and are inlined), so
 * builds without AVX get no -Wpsabi warnings.
 *
 * Assumes: the pointers of one call do not overlap unless a function says it allows it.
 */
#ifndef MTR_OPS_VEC_H
#define MTR_OPS_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MTR_VW 8 /* floats per chunk of the element-wise loops */

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MTR_NO_VECTORS)
#define MTR_HAVE_VECTORS 1

typedef float mtr_f8 __attribute__((vector_size(MTR_VW * sizeof(float))));
typedef int32_t mtr_i8 __attribute__((vector_size(MTR_VW * sizeof(int32_t))));
#define MTR_SPLAT(v) {v, v, v, v, v, v, v, v}
/* lane-wise m ? a : b, m a lane mask from a comparison (all ones or all zeros) */
#define MTR_SEL(m, a, b) ((mtr_f8)(((mtr_i8)(a) & (m)) | ((mtr_i8)(b) & ~(m))))

/* unaligned load and store of 8 floats */
static inline void mtr_load8(mtr_f8 *v, const float *p) { memcpy(v, p, sizeof *v); }
static inline void mtr_store8(float *p, const mtr_f8 *v) { memcpy(p, v, sizeof *v); }

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector) /* GCC 12+, clang */
#define MTR_SHUFFLE(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#endif
#endif

/* Every lane of *y = the sum / the maximum of the 8 lanes of *x: a tree of three swaps, so the
 * dependency chain is 3 steps instead of 7. Sums pair lanes as ((0+4)+(2+6)) + ((1+5)+(3+7)). */
static inline void mtr_vhsum(mtr_f8 *y, const mtr_f8 *x) {
#ifdef MTR_SHUFFLE
    mtr_f8 a = *x + MTR_SHUFFLE(*x, 4, 5, 6, 7, 0, 1, 2, 3);
    a = a + MTR_SHUFFLE(a, 2, 3, 0, 1, 6, 7, 4, 5);
    *y = a + MTR_SHUFFLE(a, 1, 0, 3, 2, 5, 4, 7, 6);
#else
    const mtr_f8 v = *x;
    float s = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
    *y = (mtr_f8)MTR_SPLAT(s);
#endif
}
static inline void mtr_vhmax(mtr_f8 *y, const mtr_f8 *x) {
#ifdef MTR_SHUFFLE
    mtr_f8 a = *x, b = MTR_SHUFFLE(a, 4, 5, 6, 7, 0, 1, 2, 3);
    a = MTR_SEL(b > a, b, a);
    b = MTR_SHUFFLE(a, 2, 3, 0, 1, 6, 7, 4, 5);
    a = MTR_SEL(b > a, b, a);
    b = MTR_SHUFFLE(a, 1, 0, 3, 2, 5, 4, 7, 6);
    *y = MTR_SEL(b > a, b, a);
#else
    const mtr_f8 v = *x;
    float m = v[0];
    for (int j = 1; j < MTR_VW; j++) m = v[j] > m ? v[j] : m;
    *y = (mtr_f8)MTR_SPLAT(m);
#endif
}
static inline float mtr_hsum8(const mtr_f8 *x) {
    mtr_f8 s;
    mtr_vhsum(&s, x);
    return s[0];
}

/* The parts of exp(x) = 2^n (1 + e) with e = exp(r) - 1, |r| <= ln2 / 2: *scale = 2^n, *em = e.
 * Cephes expf: n = round(x / ln 2), ln 2 split in two so r is exact, degree-7 polynomial (evaluated by
 * Estrin's scheme: half the dependency chain of Horner's). x is clamped to [-87, 87] so results and
 * their reciprocals stay normal floats; a NaN x gives some finite result, callers restore it. */
static inline void mtr_vexp_parts(mtr_f8 *scale, mtr_f8 *em, const mtr_f8 *x) {
    const mtr_f8 hi = MTR_SPLAT(87.0f), half = MTR_SPLAT(0.5f);
    mtr_f8 xc = MTR_SEL(*x < hi, *x, hi);
    xc = MTR_SEL(xc > -hi, xc, -hi);
    mtr_f8 fx = xc * 1.44269504088896341f;
    mtr_i8 sign = (mtr_i8)fx & INT32_MIN;
    mtr_i8 n = __builtin_convertvector(fx + (mtr_f8)(sign | (mtr_i8)half), mtr_i8); /* |fx| < 126 */
    mtr_f8 fn = __builtin_convertvector(n, mtr_f8);
    mtr_f8 r = xc - fn * 0.693359375f; /* 0.693359375 - 2.12194440e-4 = ln 2 */
    r = r + fn * 2.12194440e-4f;
    mtr_f8 r2 = r * r, r4 = r2 * r2;
    mtr_f8 q01 = r * 1.6666665459e-1f + 5.0000001201e-1f;
    mtr_f8 q23 = r * 8.3334519073e-3f + 4.1665795894e-2f;
    mtr_f8 q45 = r * 1.9875691500e-4f + 1.3981999507e-3f;
    mtr_f8 q = (q01 + r2 * q23) + r4 * q45;
    *em = r + r2 * q;
    *scale = (mtr_f8)((n + 127) << 23); /* 2^n; n in [-126, 126] keeps the exponent normal */
}

/* *y = exp(*x) to about 2 ulp; y may equal x. exp(-100) gives 1.6e-38 (not 3.7e-44), exp(+inf) 6e37;
 * NaN stays NaN. */
static inline void mtr_vexp(mtr_f8 *y, const mtr_f8 *x) {
    mtr_f8 v = *x, scale, em;
    mtr_vexp_parts(&scale, &em, &v);
    *y = MTR_SEL(v == v, scale * em + scale, v);
}

/* *y = tanh(*x) to a few ulp; y may equal x. tanh|x| = m / (m + 2) with m = expm1(2|x|), and
 * expm1 = 2^n e + (2^n - 1) from the parts of exp has no cancellation near 0. */
static inline void mtr_vtanh(mtr_f8 *y, const mtr_f8 *x) {
    const mtr_i8 sign_bit = MTR_SPLAT(INT32_MIN);
    mtr_f8 v = *x, scale, em;
    mtr_f8 a2 = (mtr_f8)((mtr_i8)v & ~sign_bit);
    a2 = a2 + a2;
    mtr_vexp_parts(&scale, &em, &a2);
    mtr_f8 m = scale * em + (scale - 1.0f);
    mtr_f8 t = m / (m + 2.0f);
    t = (mtr_f8)((mtr_i8)t | ((mtr_i8)v & sign_bit)); /* tanh is odd */
    *y = MTR_SEL(v == v, t, v);
}

/* *y = 1 / (1 + exp(-*x)); y may equal x. Finite for every input thanks to the clamp. */
static inline void mtr_vsigmoid(mtr_f8 *y, const mtr_f8 *x) {
    mtr_f8 e, m = -*x;
    mtr_vexp(&e, &m);
    *y = 1.0f / (1.0f + e);
}

/* The same three on 8 floats in memory; y may equal x. */
static inline void mtr_exp8(float *y, const float *x) {
    mtr_f8 v;
    mtr_load8(&v, x);
    mtr_vexp(&v, &v);
    mtr_store8(y, &v);
}
static inline void mtr_tanh8(float *y, const float *x) {
    mtr_f8 v;
    mtr_load8(&v, x);
    mtr_vtanh(&v, &v);
    mtr_store8(y, &v);
}
static inline void mtr_sigmoid8(float *y, const float *x) {
    mtr_f8 v;
    mtr_load8(&v, x);
    mtr_vsigmoid(&v, &v);
    mtr_store8(y, &v);
}

/* y[0..7] = max(x[0..7], 0), NaN passing through; y may equal x. */
static inline void mtr_relu8(float *y, const float *x) {
    const mtr_f8 zero = MTR_SPLAT(0.0f);
    mtr_f8 v;
    mtr_load8(&v, x);
    v = MTR_SEL(v < zero, zero, v);
    mtr_store8(y, &v);
}

/* sum of x[i] */
static inline float mtr_vec_sum(const float *x, int n) {
    mtr_f8 acc = MTR_SPLAT(0.0f), v;
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW) {
        mtr_load8(&v, x + i);
        acc += v;
    }
    float s = mtr_hsum8(&acc);
    for (; i < n; i++) s += x[i];
    return s;
}

/* sum of a[i] * b[i] */
static inline float mtr_vec_dot(const float *a, const float *b, int n) {
    mtr_f8 acc = MTR_SPLAT(0.0f), va, vb;
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW) {
        mtr_load8(&va, a + i);
        mtr_load8(&vb, b + i);
        acc += va * vb;
    }
    float s = mtr_hsum8(&acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

#else /* scalar fallback: the same contracts, one lane at a time */

static inline void mtr_exp8(float *y, const float *x) {
    for (int j = 0; j < MTR_VW; j++) y[j] = x[j] != x[j] ? x[j] : expf(fminf(fmaxf(x[j], -87.0f), 87.0f));
}
static inline void mtr_tanh8(float *y, const float *x) {
    for (int j = 0; j < MTR_VW; j++) y[j] = tanhf(x[j]);
}
static inline void mtr_sigmoid8(float *y, const float *x) {
    for (int j = 0; j < MTR_VW; j++)
        y[j] = x[j] != x[j] ? x[j] : 1.0f / (1.0f + expf(fminf(fmaxf(-x[j], -87.0f), 87.0f)));
}
static inline void mtr_relu8(float *y, const float *x) {
    for (int j = 0; j < MTR_VW; j++) y[j] = x[j] < 0.0f ? 0.0f : x[j];
}
static inline float mtr_vec_sum(const float *x, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += x[i];
    return s;
}
static inline float mtr_vec_dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif

/* Apply one of the 8-float functions above to n floats; y may equal x. The tail is padded to a whole
 * chunk with zeros, so short rows (a softmax over 4 experts) still take the vector path. */
static inline void mtr_map8(void (*f8)(float *, const float *), float *y, const float *x, int n) {
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW) f8(y + i, x + i);
    if (i < n) {
        float t[MTR_VW] = {0};
        memcpy(t, x + i, (size_t)(n - i) * sizeof(float));
        f8(t, t);
        memcpy(y + i, t, (size_t)(n - i) * sizeof(float));
    }
}

/* y[i] += x[i] */
static inline void mtr_vec_add(float *restrict y, const float *restrict x, int n) {
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW)
        for (int j = 0; j < MTR_VW; j++) y[i + j] += x[i + j];
    if (i + 4 <= n) {
        for (int j = 0; j < 4; j++) y[i + j] += x[i + j];
        i += 4;
    }
    for (; i < n; i++) y[i] += x[i];
}

/* y[i] = x[i]. Fixed-size copies only: GCC turns a copy loop into a memmove call, which costs more than
 * the copy for the 4..32 floats of an embedding row. */
static inline void mtr_vec_copy(float *restrict y, const float *restrict x, int n) {
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW) memcpy(y + i, x + i, MTR_VW * sizeof(float));
    if (i + 4 <= n) {
        memcpy(y + i, x + i, 4 * sizeof(float));
        i += 4;
    }
    if (i + 2 <= n) {
        memcpy(y + i, x + i, 2 * sizeof(float));
        i += 2;
    }
    if (i < n) y[i] = x[i];
}

/* y[i] += a * x[i] */
static inline void mtr_vec_axpy(float *restrict y, float a, const float *restrict x, int n) {
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW)
        for (int j = 0; j < MTR_VW; j++) y[i + j] += a * x[i + j];
    for (; i < n; i++) y[i] += a * x[i];
}

#endif
