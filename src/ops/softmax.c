/* softmax.c - softmax over blocks of E logits (one block per gate), row by row. The row maximum is
 * subtracted before exponentiating, so any finite logits work. Forward may run in place (p == logits);
 * backward assumes dlogits overlaps neither dp nor p. */
#include <assert.h>

#include "ops/ops.h"
#include "ops/vec.h"

#ifdef MTR_HAVE_VECTORS
/* E = 8, the default: one block is one register. */
static void softmax8(float *p, const float *x) {
    mtr_f8 v, m, e, s;
    mtr_load8(&v, x);
    mtr_vhmax(&m, &v);
    v = v - m;
    mtr_vexp(&e, &v);
    mtr_vhsum(&s, &e); /* >= 1: the maximum contributes exp(0) */
    e = e / s;
    mtr_store8(p, &e);
}

static void softmax8_backward(float *dl, const float *dp, const float *p) {
    mtr_f8 g, q, d, s;
    mtr_load8(&g, dp);
    mtr_load8(&q, p);
    mtr_load8(&d, dl);
    mtr_f8 gq = g * q;
    mtr_vhsum(&s, &gq);
    d += q * (g - s);
    mtr_store8(dl, &d);
}
#endif

/* p = softmax(x) over n entries; p may equal x (each chunk is read before it is written). */
static void softmax_block(float *p, const float *x, int n) {
#ifdef MTR_HAVE_VECTORS
    if (n == MTR_VW) {
        softmax8(p, x);
        return;
    }
#endif
    float m = x[0];
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW) {
        float t[MTR_VW];
        for (int j = 0; j < MTR_VW; j++) t[j] = x[i + j] - m;
        mtr_exp8(p + i, t);
    }
    if (i < n) { /* pad the tail to a whole chunk: E = 4 or 6 experts still take the vector path */
        float t[MTR_VW] = {0};
        for (int j = 0; j < n - i; j++) t[j] = x[i + j] - m;
        mtr_exp8(t, t);
        for (int j = 0; j < n - i; j++) p[i + j] = t[j];
    }
    float inv = 1.0f / mtr_vec_sum(p, n); /* the sum is >= 1: the maximum contributes exp(0) */
    i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW)
        for (int j = 0; j < MTR_VW; j++) p[i + j] *= inv;
    for (; i < n; i++) p[i] *= inv;
}

/* dl += p * (dp - dot(dp, p)) over n entries */
static void softmax_block_backward(float *restrict dl, const float *restrict dp, const float *restrict p,
                                   int n) {
#ifdef MTR_HAVE_VECTORS
    if (n == MTR_VW) {
        softmax8_backward(dl, dp, p);
        return;
    }
#endif
    float s = mtr_vec_dot(dp, p, n);
    int i = 0;
    for (; i + MTR_VW <= n; i += MTR_VW)
        for (int j = 0; j < MTR_VW; j++) dl[i + j] += p[i + j] * (dp[i + j] - s);
    for (; i < n; i++) dl[i] += p[i] * (dp[i] - s);
}

/* logits and p are (B, groups*E) with strides ldl and ldp */
void softmax_forward(float *p, int ldp, const float *logits, int ldl, int B, int groups, int E) {
    assert(B >= 0 && groups >= 0 && E >= 1 && ldp >= groups * E && ldl >= groups * E);
    assert(p != logits || ldp == ldl); /* in place means the same buffer, not overlapping rows */
    for (int b = 0; b < B; b++)
        for (int g = 0; g < groups; g++)
            softmax_block(p + (size_t)b * ldp + (size_t)g * E, logits + (size_t)b * ldl + (size_t)g * E, E);
}

/* dlogits += p * (dp - sum_e dp*p), per row and block */
void softmax_backward(float *dlogits, int lddl, const float *dp, int lddp, const float *p, int ldp, int B,
                      int groups, int E) {
    assert(B >= 0 && groups >= 0 && E >= 1 && lddl >= groups * E && lddp >= groups * E && ldp >= groups * E);
    for (int b = 0; b < B; b++)
        for (int g = 0; g < groups; g++) {
            size_t o = (size_t)g * E;
            softmax_block_backward(dlogits + (size_t)b * lddl + o, dp + (size_t)b * lddp + o,
                                   p + (size_t)b * ldp + o, E);
        }
}
