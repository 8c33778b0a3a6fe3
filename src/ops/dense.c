/* dense.c - the fully connected layer y = x w + b on top of mtr_sgemm. Assumes the gradient buffers
 * do not overlap the inputs. */
#include <assert.h>

#include "ops/ops.h"
#include "ops/vec.h"

/* x is (B, K) stride ldx, w is (K, N) stride ldw, b is (N) or NULL, y is (B, N) stride ldy */
void dense_forward(float *y, int ldy, const float *x, int ldx, const float *w, int ldw, const float *b,
                   int B, int K, int N) {
    assert(B >= 0 && K >= 0 && N >= 0 && ldy >= N);
    if (b) /* start from the bias and let the GEMM add to it: one pass over y instead of two */
        for (int i = 0; i < B; i++) mtr_vec_copy(y + (size_t)i * ldy, b, N);
    mtr_sgemm(0, 0, B, N, K, 1.0f, x, ldx, w, ldw, b ? 1.0f : 0.0f, y, ldy);
}

/* dx (B, K) += dy w^T ; dw (K, N) += x^T dy ; db (N) += column sums of dy (B, N) */
void dense_backward(float *dx, int lddx, float *dw, int lddw, float *db, const float *dy, int lddy,
                    const float *x, int ldx, const float *w, int ldw, int B, int K, int N) {
    assert(B >= 0 && K >= 0 && N >= 0 && lddy >= N);
    if (db)
        for (int i = 0; i < B; i++) mtr_vec_add(db, dy + (size_t)i * lddy, N);
    if (dw) mtr_sgemm(1, 0, K, N, B, 1.0f, x, ldx, dy, lddy, 1.0f, dw, lddw);
    if (dx) mtr_sgemm(0, 1, B, K, N, 1.0f, dy, lddy, w, ldw, 1.0f, dx, lddx);
}
