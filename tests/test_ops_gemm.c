/* test_ops_gemm.c - mtr_sgemm (OpenBLAS) against mtr_sgemm_reference, and the reference against hand
 * arithmetic: every transpose combination, odd sizes, padded leading dimensions, several alpha/beta,
 * the BLAS edge cases (M, N or K = 0, alpha = 0, beta = 0 over garbage) and untouched padding. */
#include <stdint.h>
#include <stdlib.h>

#include "ops/ops.h"
#include "test.h"
#include "util/rng.h"

static float *alloc_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    return p;
}

static void fill_uniform(mtr_rng *rng, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * mtr_rng_uniform(rng) - 1.0);
}

typedef struct gemm_result {
    double max_err;      /* worst |fast - reference| over C's M x N block, in units of the rounding bound */
    int padding_changed; /* C's elements beyond column N changed (either kernel) */
} gemm_result;

/* One case: random A, B, C (padding included), both kernels on copies of C. */
static gemm_result gemm_case(mtr_rng *rng, int ta, int tb, int M, int N, int K, float alpha, float beta,
                             int pad) {
    int a_rows = ta ? K : M, a_cols = ta ? M : K;
    int b_rows = tb ? N : K, b_cols = tb ? K : N;
    int lda = a_cols + pad, ldb = b_cols + 2 * pad, ldc = N + pad + (pad ? 1 : 0);
    size_t na = (size_t)a_rows * lda, nb = (size_t)b_rows * ldb, nc = (size_t)M * ldc;
    float *A = alloc_floats(na), *B = alloc_floats(nb), *C0 = alloc_floats(nc);
    float *C1 = alloc_floats(nc), *C2 = alloc_floats(nc);
    fill_uniform(rng, A, na);
    fill_uniform(rng, B, nb);
    fill_uniform(rng, C0, nc);
    memcpy(C1, C0, nc * sizeof *C0);
    memcpy(C2, C0, nc * sizeof *C0);
    mtr_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    mtr_sgemm_reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    gemm_result r = {0.0, 0};
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t k = (size_t)i * ldc + j;
            if (j >= N) {
                if (C1[k] != C0[k] || C2[k] != C0[k]) r.padding_changed = 1;
                continue;
            }
            /* float rounding bound (K + 2) u (|alpha| sum |a b| + |beta c|), u = 2^-24 */
            double s = 0.0;
            for (int t = 0; t < K; t++) {
                float a = ta ? A[(size_t)t * lda + i] : A[(size_t)i * lda + t];
                float b = tb ? B[(size_t)j * ldb + t] : B[(size_t)t * ldb + j];
                s += fabs((double)a * b);
            }
            double bound = (K + 2) * 0x1p-24 * (fabs(alpha) * s + fabs(beta * (double)C0[k]));
            double e = fabs((double)C1[k] - C2[k]) / bound;
            if (!(e <= r.max_err)) r.max_err = e; /* NaN wins */
        }
    free(A);
    free(B);
    free(C0);
    free(C1);
    free(C2);
    return r;
}

TEST(sgemm_matches_reference_all_transposes) {
    static const int sizes[][3] = {{1, 1, 1},  {7, 13, 5},   {37, 29, 41},
                                   {64, 17, 3}, {3, 70, 64}, {130, 33, 144}};
    static const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.3f}, {2.5f, -1.0f}};
    mtr_rng rng;
    mtr_rng_seed(&rng, 11);
    int cases = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (size_t a = 0; a < sizeof ab / sizeof ab[0]; a++)
                    for (int pad = 0; pad <= 3; pad += 3) {
                        int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
                        gemm_result r = gemm_case(&rng, ta, tb, M, N, K, ab[a][0], ab[a][1], pad);
                        CHECK_MSG(r.max_err <= 1.0,
                                  "ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: error %.3g x the bound",
                                  ta, tb, M, N, K, ab[a][0], ab[a][1], pad, r.max_err);
                        CHECK_MSG(!r.padding_changed, "ta=%d tb=%d M=%d N=%d K=%d pad=%d: padding of C written",
                                  ta, tb, M, N, K, pad);
                        cases++;
                    }
    CHECK_EQ_INT(cases, 4 * 6 * 4 * 2);
}

/* The reference itself, by hand: A = [1 2; 3 4], B = [5 6; 7 8]. */
TEST(sgemm_reference_hand_computed) {
    const float A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
    /* expected op(A) op(B) for (ta, tb) = (0,0), (1,0), (0,1), (1,1) */
    const float want[4][4] = {{19, 22, 43, 50}, {26, 30, 38, 44}, {17, 23, 39, 53}, {23, 31, 34, 46}};
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        float C[4] = {1, 1, 1, 1}, D[4] = {1, 1, 1, 1};
        mtr_sgemm_reference(ta, tb, 2, 2, 2, 2.0f, A, 2, B, 2, 0.5f, C, 2); /* C = 2 op(A)op(B) + 0.5 */
        mtr_sgemm(ta, tb, 2, 2, 2, 2.0f, A, 2, B, 2, 0.5f, D, 2);
        for (int i = 0; i < 4; i++) {
            CHECK_MSG(C[i] == 2.0f * want[t][i] + 0.5f, "reference ta=%d tb=%d C[%d] = %g, want %g", ta, tb,
                      i, C[i], 2.0f * want[t][i] + 0.5f);
            CHECK_MSG(D[i] == 2.0f * want[t][i] + 0.5f, "sgemm ta=%d tb=%d C[%d] = %g, want %g", ta, tb, i,
                      D[i], 2.0f * want[t][i] + 0.5f);
        }
    }
}

/* M, N or K = 0, alpha = 0 and beta = 0 follow BLAS, identically in both kernels. */
TEST(sgemm_edge_cases) {
    void (*const kernels[2])(int, int, int, int, int, float, const float *, int, const float *, int, float,
                             float *, int) = {mtr_sgemm, mtr_sgemm_reference};
    const float nan = NAN;
    for (int k = 0; k < 2; k++) {
        const float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, -1, 2, -2, 3, -3};
        float C[6];
        /* M = 0 and N = 0: nothing is read or written */
        for (int i = 0; i < 6; i++) C[i] = 9.0f;
        kernels[k](0, 0, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3);
        kernels[k](1, 1, 2, 0, 3, 1.0f, A, 2, B, 3, 0.0f, C, 1);
        kernels[k](0, 1, 0, 0, 0, 1.0f, NULL, 1, NULL, 1, 0.0f, NULL, 1);
        for (int i = 0; i < 6; i++) CHECK_MSG(C[i] == 9.0f, "kernel %d: C[%d] = %g after M or N = 0", k, i, C[i]);
        /* K = 0: C = beta C; A and B are not read (NULL) */
        kernels[k](0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.5f, C, 3);
        for (int i = 0; i < 6; i++) CHECK_MSG(C[i] == 4.5f, "kernel %d: C[%d] = %g after K = 0, beta 0.5", k, i, C[i]);
        kernels[k](1, 0, 2, 3, 0, 1.0f, NULL, 2, NULL, 3, 1.0f, C, 3);
        for (int i = 0; i < 6; i++) CHECK_MSG(C[i] == 4.5f, "kernel %d: C[%d] = %g after K = 0, beta 1", k, i, C[i]);
        C[2] = nan;
        kernels[k](0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3);
        for (int i = 0; i < 6; i++) CHECK_MSG(C[i] == 0.0f, "kernel %d: C[%d] = %g after K = 0, beta 0", k, i, C[i]);
        /* alpha = 0: A is not read, so NaN in it does not spread */
        const float An[6] = {nan, nan, nan, nan, nan, nan};
        for (int i = 0; i < 6; i++) C[i] = 2.0f;
        kernels[k](0, 0, 2, 3, 2, 0.0f, An, 2, B, 3, -1.5f, C, 3);
        for (int i = 0; i < 6; i++) CHECK_MSG(C[i] == -3.0f, "kernel %d: C[%d] = %g after alpha = 0", k, i, C[i]);
        /* beta = 0 overwrites garbage: (2x2)(2x3) with C full of NaN */
        for (int i = 0; i < 6; i++) C[i] = nan;
        kernels[k](0, 0, 2, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3);
        /* rows of A: (1,2), (3,4); B = [1 -1 2; -2 3 -3] */
        const float want[6] = {1 * 1 + 2 * -2, 1 * -1 + 2 * 3, 1 * 2 + 2 * -3,
                                3 * 1 + 4 * -2, 3 * -1 + 4 * 3, 3 * 2 + 4 * -3};
        for (int i = 0; i < 6; i++)
            CHECK_MSG(C[i] == want[i], "kernel %d: C[%d] = %g, want %g (beta 0 over NaN)", k, i, C[i], want[i]);
    }
}
