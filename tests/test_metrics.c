/* test_metrics.c - evaluation metrics against hand-computed values, and mtr_auc against two independent
 * references (O(n^2) pair counting; rank sums with average ranks) on random data with many ties. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "mtrank.h"
#include "test.h"
#include "util/rng.h"

/* Reference AUC: count every (positive, negative) pair; a win is 1, a tie is 1/2. */
static double auc_pairs(const float *s, const float *y, size_t n, size_t stride) {
    double wins = 0, pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        float yi = y[i * stride];
        if (isnan(yi)) continue;
        if (yi >= 0.5f) pos++;
        else neg++;
        if (yi < 0.5f) continue;
        for (size_t j = 0; j < n; j++) {
            float yj = y[j * stride];
            if (isnan(yj) || yj >= 0.5f) continue;
            if (s[i * stride] > s[j * stride]) wins += 1;
            else if (s[i * stride] == s[j * stride]) wins += 0.5;
        }
    }
    return pos && neg ? wins / (pos * neg) : NAN;
}

typedef struct scored {
    float s;
    int pos;
} scored;

static int scored_cmp(const void *a, const void *b) {
    float x = ((const scored *)a)->s, z = ((const scored *)b)->s;
    return (x > z) - (x < z);
}

/* Reference AUC by Mann-Whitney with average ranks: (R_pos - P(P+1)/2) / (P N). */
static double auc_ranks(const float *s, const float *y, size_t n) {
    scored *v = malloc(n * sizeof *v);
    size_t m = 0;
    double pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i])) continue;
        v[m].s = s[i];
        v[m].pos = y[i] >= 0.5f;
        pos += v[m].pos;
        m++;
    }
    qsort(v, m, sizeof *v, scored_cmp);
    double rank_sum = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j].s == v[i].s) j++;
        double avg_rank = (double)(i + 1 + j) / 2.0; /* ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (v[k].pos) rank_sum += avg_rank;
        i = j;
    }
    double neg = (double)m - pos;
    free(v);
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

TEST(auc_perfect_reversed_and_tied) {
    const float y[4] = {0, 0, 1, 1};
    const float perfect[4] = {0.1f, 0.2f, 0.8f, 0.9f};
    const float reversed[4] = {0.9f, 0.8f, 0.2f, 0.1f};
    const float tied[4] = {0.3f, 0.3f, 0.3f, 0.3f};
    CHECK_NEAR(mtr_auc(perfect, y, 4, 1), 1.0, 0);
    CHECK_NEAR(mtr_auc(reversed, y, 4, 1), 0.0, 0);
    CHECK_NEAR(mtr_auc(tied, y, 4, 1), 0.5, 0);
}

TEST(auc_hand_cases) {
    /* positives 0.35, 0.8 vs negatives 0.1, 0.4: 0.35 beats 0.1 only, 0.8 beats both: 3 of 4 */
    const float s1[4] = {0.1f, 0.4f, 0.35f, 0.8f}, y1[4] = {0, 0, 1, 1};
    CHECK_NEAR(mtr_auc(s1, y1, 4, 1), 0.75, 0);
    /* positives 0.5, 0.9 vs negatives 0.2, 0.5, 0.5: 0.5 -> 1 + 1/2 + 1/2 = 2, 0.9 -> 3; 5 of 6 */
    const float s2[5] = {0.2f, 0.5f, 0.5f, 0.5f, 0.9f}, y2[5] = {0, 1, 0, 0, 1};
    CHECK_NEAR(mtr_auc(s2, y2, 5, 1), 5.0 / 6.0, 1e-15);
    /* mixed signs: positives -1, 0.5 vs negatives 1, -0.5: only 0.5 > -0.5 wins; 1 of 4 */
    const float s3[4] = {-1.0f, 1.0f, -0.5f, 0.5f}, y3[4] = {1, 0, 0, 1};
    CHECK_NEAR(mtr_auc(s3, y3, 4, 1), 0.25, 0);
    /* -0 and +0 compare equal, so they tie: 1/2 */
    const float s4[2] = {-0.0f, 0.0f}, y4[2] = {0, 1};
    CHECK_NEAR(mtr_auc(s4, y4, 2, 1), 0.5, 0);
    const float s5[2] = {0.0f, -0.0f};
    CHECK_NEAR(mtr_auc(s5, y4, 2, 1), 0.5, 0);
    /* infinities order like numbers: positives {+inf, 0} both beat the negative -inf: 1.0;
     * positives {+inf, -inf} vs the negative -1e-30: +inf wins, -inf loses: 1/2 */
    const float s6[3] = {-INFINITY, INFINITY, 0.0f}, y6[3] = {0, 1, 1};
    CHECK_NEAR(mtr_auc(s6, y6, 3, 1), 1.0, 0);
    const float s7[3] = {INFINITY, -INFINITY, -1e-30f}, y7[3] = {1, 1, 0};
    CHECK_NEAR(mtr_auc(s7, y7, 3, 1), 0.5, 0);
    /* the smallest step between floats is not a tie */
    const float s8[2] = {1.0f, nextafterf(1.0f, 2.0f)}, y8[2] = {0, 1};
    CHECK_NEAR(mtr_auc(s8, y8, 2, 1), 1.0, 0);
}

TEST(auc_skips_nan_labels_and_uses_stride) {
    /* rows with NaN labels have scores that would flip the answer if they were counted */
    const float s[6] = {0.1f, 0.99f, 0.4f, 0.35f, 0.0f, 0.8f};
    const float y[6] = {0, NAN, 0, 1, NAN, 1};
    CHECK_NEAR(mtr_auc(s, y, 6, 1), 0.75, 0);
    /* two tasks interleaved as (n=4, 2): task 0 is the 0.75 case, task 1 is reversed (0.0) */
    const float si[8] = {0.1f, 0.9f, 0.4f, 0.8f, 0.35f, 0.2f, 0.8f, 0.1f};
    const float yi[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    CHECK_NEAR(mtr_auc(si, yi, 4, 2), 0.75, 0);
    CHECK_NEAR(mtr_auc(si + 1, yi + 1, 4, 2), 0.0, 0);
}

TEST(auc_undefined_cases_are_nan) {
    const float s[3] = {0.1f, 0.5f, 0.9f};
    const float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0}, none[3] = {NAN, NAN, NAN};
    const float one_each_nan[3] = {0, NAN, 1};
    CHECK(isnan(mtr_auc(s, ones, 3, 1)));
    CHECK(isnan(mtr_auc(s, zeros, 3, 1)));
    CHECK(isnan(mtr_auc(s, none, 3, 1)));
    CHECK(isnan(mtr_auc(s, ones, 0, 1)));
    CHECK(isnan(mtr_auc(NULL, NULL, 0, 1))); /* n = 0 touches nothing */
    CHECK(isnan(mtr_auc(s, one_each_nan, 3, 0))); /* stride 0 is invalid */
    CHECK_NEAR(mtr_auc(s, one_each_nan, 3, 1), 1.0, 0);
    /* a NaN score among labelled rows makes the ranking undefined; under a NaN label it is ignored */
    const float s_nan[3] = {0.1f, NAN, 0.9f};
    const float y_all[3] = {0, 1, 1};
    CHECK(isnan(mtr_auc(s_nan, y_all, 3, 1)));
    CHECK_NEAR(mtr_auc(s_nan, one_each_nan, 3, 1), 1.0, 0);
}

TEST(auc_matches_pair_counting_on_random_ties) {
    mtr_rng rng;
    mtr_rng_seed(&rng, 20240601);
    enum { N = 2000 };
    static float s[N], y[N];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            double u = mtr_rng_uniform(&rng);
            /* rounds 0-1: scores in [0,1] at 2 decimals (about 100 distinct values, so many ties);
             * rounds 2-3: both signs over many magnitudes (every radix digit differs) */
            double v = round < 2 ? floor(u * 100 + 0.5) / 100
                                 : (u - 0.5) * pow(10, (double)mtr_rng_below(&rng, 12) - 6);
            if (round >= 2 && mtr_rng_below(&rng, 4) == 0) v = floor(v * 100 + 0.5) / 100;
            s[i] = (float)v;
            /* labels correlated with the score, plus some unlabelled rows */
            y[i] = mtr_rng_uniform(&rng) < 0.3 + 0.4 * u ? 1.0f : 0.0f;
            if (mtr_rng_below(&rng, 20) == 0) y[i] = NAN;
        }
        double want = auc_pairs(s, y, N, 1);
        double got = mtr_auc(s, y, N, 1);
        CHECK_MSG(got == want, "round %d: auc %.17g, pair counting %.17g", round, got, want);
        CHECK(want > 0.55 && want < 0.95); /* the data is informative but not separable */
        /* interleaved: the same data as task 1 of 2 */
        static float s2[2 * N], y2[2 * N];
        for (int i = 0; i < N; i++) {
            s2[2 * i] = 0.5f;
            y2[2 * i] = (float)(i & 1);
            s2[2 * i + 1] = s[i];
            y2[2 * i + 1] = y[i];
        }
        CHECK_MSG(mtr_auc(s2 + 1, y2 + 1, N, 2) == want, "round %d: strided", round);
        CHECK_NEAR(mtr_auc(s2, y2, N, 2), 0.5, 0);
    }
}

TEST(auc_matches_rank_sums_on_large_input) {
    mtr_rng rng;
    mtr_rng_seed(&rng, 7);
    size_t n = 200000;
    float *s = malloc(n * sizeof *s), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double u = mtr_rng_uniform(&rng);
        s[i] = (float)(i % 3 == 0 ? floor(u * 1000) / 1000 : mtr_rng_normal(&rng) + u);
        y[i] = mtr_rng_uniform(&rng) < u ? 1.0f : 0.0f;
    }
    double want = auc_ranks(s, y, n), got = mtr_auc(s, y, n, 1);
    CHECK_NEAR(got, want, 1e-12);
    CHECK(want > 0.6 && want < 0.9);
    free(s);
    free(y);
}

TEST(metrics_binary_hand_values) {
    /* log loss of p=0.9 on y=1 and p=0.2 on y=0: -(ln 0.9 + ln 0.8)/2 = 0.16425203348601...
     * mse: (0.1^2 + 0.2^2)/2 = 0.025; the NaN-labelled row is ignored everywhere */
    const float s[3] = {0.9f, 0.5f, 0.2f}, y[3] = {1, NAN, 0};
    mtr_task_metrics m;
    mtr_task_metrics_compute(MTR_TASK_BINARY, s, y, 3, 1, &m);
    CHECK_EQ_INT(m.kind, MTR_TASK_BINARY);
    CHECK_EQ_INT(m.count, 2);
    CHECK_EQ_INT(m.positives, 1);
    CHECK_NEAR(m.log_loss, 0.164252033486018, 1e-7);
    CHECK_NEAR(m.mse, 0.025, 1e-7);
    CHECK_NEAR(m.auc, 1.0, 0);
    CHECK_NEAR(m.mean_score, 0.55, 1e-7);
    CHECK_NEAR(m.mean_label, 0.5, 0);
    CHECK(isnan(m.r2));

    /* mse (0.01 + 0.04 + 0.36)/3 = 0.13666..., auc: positive 0.9 beats 0.2 and 0.6: 1.0 */
    const float s2[3] = {0.9f, 0.2f, 0.6f}, y2[3] = {1, 0, 0};
    mtr_task_metrics_compute(MTR_TASK_BINARY, s2, y2, 3, 1, &m);
    CHECK_NEAR(m.mse, 0.41 / 3, 1e-7);
    CHECK_EQ_INT(m.positives, 1);
    CHECK_NEAR(m.mean_label, 1.0 / 3, 1e-15);
}

TEST(metrics_log_loss_clamps) {
    /* p=0 on y=1 and p=1 on y=0 would be infinite: both clamp to -ln(1e-7) = 16.1180956509583;
     * p=1 on y=1 clamps to -ln(1 - 1e-7) = 1.00000005e-7 */
    const float s[2] = {0.0f, 1.0f}, y[2] = {1, 0};
    mtr_task_metrics m;
    mtr_task_metrics_compute(MTR_TASK_BINARY, s, y, 2, 1, &m);
    CHECK_NEAR(m.log_loss, 16.1180956509583, 1e-9);
    CHECK_NEAR(m.auc, 0.0, 0);
    const float s1[2] = {1.0f, 0.0f};
    mtr_task_metrics_compute(MTR_TASK_BINARY, s1, y, 2, 1, &m);
    CHECK_NEAR(m.log_loss, 1.00000005e-7, 1e-13);
    CHECK_NEAR(m.mse, 0.0, 0);
}

TEST(metrics_regression_hand_values) {
    /* scores (2.5, 0, 2, 8) vs labels (3, -0.5, 2, 7): SSE = 0.25 + 0.25 + 0 + 1 = 1.5, mse 0.375;
     * mean label 2.875, SST = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875,
     * r2 = 1 - 1.5 / 29.1875 = 0.948608137044968. Interleaved with a second task of constant labels. */
    const float s[8] = {2.5f, 1.0f, 0.0f, 2.0f, 2.0f, 3.0f, 8.0f, 4.0f};
    const float y[8] = {3.0f, 2.0f, -0.5f, 2.0f, 2.0f, 2.0f, 7.0f, NAN};
    mtr_task_metrics m;
    mtr_task_metrics_compute(MTR_TASK_REGRESSION, s, y, 4, 2, &m);
    CHECK_EQ_INT(m.kind, MTR_TASK_REGRESSION);
    CHECK_EQ_INT(m.count, 4);
    CHECK_EQ_INT(m.positives, 0);
    CHECK_NEAR(m.mse, 0.375, 1e-15);
    CHECK_NEAR(m.r2, 0.948608137044968, 1e-12);
    CHECK_NEAR(m.mean_score, 3.125, 1e-15);
    CHECK_NEAR(m.mean_label, 2.875, 1e-15);
    CHECK(isnan(m.auc));
    CHECK(isnan(m.log_loss));
    /* second task: labels 2, 2, 2 (one NaN): SST = 0 so r2 is NaN; mse (1 + 0 + 1)/3 */
    mtr_task_metrics_compute(MTR_TASK_REGRESSION, s + 1, y + 1, 4, 2, &m);
    CHECK_EQ_INT(m.count, 3);
    CHECK(isnan(m.r2));
    CHECK_NEAR(m.mse, 2.0 / 3, 1e-15);
    CHECK_NEAR(m.mean_score, 2.0, 1e-15);
}

TEST(metrics_no_labels) {
    const float s[2] = {0.3f, 0.7f}, y[2] = {NAN, NAN};
    mtr_task_metrics m;
    mtr_task_metrics_compute(MTR_TASK_BINARY, s, y, 2, 1, &m);
    CHECK_EQ_INT(m.count, 0);
    CHECK_EQ_INT(m.positives, 0);
    CHECK(isnan(m.auc) && isnan(m.log_loss) && isnan(m.mse) && isnan(m.mean_score));
    mtr_task_metrics_compute(MTR_TASK_REGRESSION, NULL, NULL, 0, 1, &m);
    CHECK_EQ_INT(m.count, 0);
    CHECK(isnan(m.r2) && isnan(m.mse) && isnan(m.mean_label));
}
