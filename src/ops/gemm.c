/* gemm.c - row-major single-precision matrix multiply: the OpenBLAS fast path and the naive reference
 * it is checked against. Assumes an LP64 OpenBLAS (blasint = int). Edge cases follow BLAS: when M or N
 * is 0 nothing happens; when K is 0 or alpha is 0, A and B are not read and C = beta * C; beta == 0
 * overwrites C without reading it (so NaN garbage in a fresh buffer does not leak through). */
#include <assert.h>
#include <cblas.h>
#include <pthread.h>

#include "ops/ops.h"

/* C = beta * C, reading C only when beta != 0. */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* The leading dimensions BLAS requires (row-major: at least the stored row length). */
static int ld_ok(int trans_a, int trans_b, int M, int N, int K, int lda, int ldb, int ldc) {
    return lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N;
}

/* mtrank threads over batch rows itself, so OpenBLAS must not start threads of its own (they would
 * oversubscribe the cores and spin). Debian's serial OpenBLAS is not safe to call from several threads at
 * once (it shares one buffer: measured wrong results), so we link the pthread build and pin it to one
 * thread, which is safe to call concurrently. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_thread(void) { openblas_set_num_threads(1); }

void mtr_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    pthread_once(&blas_once, blas_single_thread);
    assert(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    assert(ldc >= N);
    if (K == 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    /* OpenBLAS would print through xerbla and return on a bad leading dimension; catch it here. */
    assert(ld_ok(trans_a, trans_b, M, N, K, lda, ldb, ldc));
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void mtr_sgemm_reference(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    assert(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    assert(ld_ok(trans_a, trans_b, M, N, K, lda, ldb, ldc));
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = (float)(beta == 0.0f ? alpha * s : alpha * s + (double)beta * *c);
        }
}
