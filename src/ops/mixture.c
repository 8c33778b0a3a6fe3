/* mixture.c - the gated mixture of experts m[b,:] = sum_e g[b,e] h[b, e*U : (e+1)*U]. Rows are short
 * (U is the width of an expert's output, 16 by default), so each chunk of MTR_VW outputs is summed over
 * the experts in a register and stored once. Assumes outputs and gradients overlap no input. */
#include <assert.h>

#include "ops/ops.h"
#include "ops/vec.h"

/* g is (B, E) stride ldg, h is (B, E*U) stride ldh, m is (B, U) stride ldm */
void mixture_forward(float *m, int ldm, const float *g, int ldg, const float *h, int ldh, int B, int E,
                     int U) {
    assert(B >= 0 && E >= 0 && U >= 0 && ldm >= U && ldg >= E && ldh >= E * U);
    for (int b = 0; b < B; b++) {
        float *restrict mb = m + (size_t)b * ldm;
        const float *restrict gb = g + (size_t)b * ldg;
        const float *restrict hb = h + (size_t)b * ldh;
        int u = 0;
#ifdef MTR_HAVE_VECTORS
        for (; u + MTR_VW <= U; u += MTR_VW) {
            mtr_f8 acc = MTR_SPLAT(0.0f), hv;
            for (int e = 0; e < E; e++) {
                mtr_load8(&hv, hb + (size_t)e * U + u);
                acc += gb[e] * hv;
            }
            mtr_store8(mb + u, &acc);
        }
#endif
        for (; u < U; u++) {
            float s = 0.0f;
            for (int e = 0; e < E; e++) s += gb[e] * hb[(size_t)e * U + u];
            mb[u] = s;
        }
    }
}

/* dg[b,e] += dot(dm[b], h[b,e]) ; dh[b,e,:] += g[b,e] * dm[b]; dg or dh may be NULL */
void mixture_backward(float *dg, int lddg, float *dh, int lddh, const float *dm, int lddm, const float *g,
                      int ldg, const float *h, int ldh, int B, int E, int U) {
    assert(B >= 0 && E >= 0 && U >= 0 && lddm >= U && ldg >= E && ldh >= E * U);
    assert(!dg || lddg >= E);
    assert(!dh || lddh >= E * U);
    for (int b = 0; b < B; b++) {
        const float *restrict dmb = dm + (size_t)b * lddm;
        if (dg) {
            float *restrict dgb = dg + (size_t)b * lddg;
            const float *hb = h + (size_t)b * ldh;
            for (int e = 0; e < E; e++) dgb[e] += mtr_vec_dot(dmb, hb + (size_t)e * U, U);
        }
        if (dh) {
            float *dhb = dh + (size_t)b * lddh;
            const float *gb = g + (size_t)b * ldg;
            for (int e = 0; e < E; e++) mtr_vec_axpy(dhb + (size_t)e * U, gb[e], dmb, U);
        }
    }
}
