/* test_synthetic.c - the MMoE paper's synthetic task pair (src/gen/synthetic.c) and the commands built on
 * it: determinism by seed and stream, the construction (orthonormal u1, u2; cos(w1, w2) = P; |w_k| = c),
 * labels recomputed from the drawn alpha and beta (shared by both tasks), the label correlation against
 * P, refusal of bad settings, the .mtrd round trip, and end to end `mtrank gen synthetic` and
 * `mtrank experiment synthetic` (whose results must not depend on --jobs). */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "data/dataset.h"
#include "gen/synthetic.h"
#include "mtrank.h"
#include "test.h"

static double dotd(const double *a, const double *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static mtr_synthetic_config config(double P, int dim, int n_sin, double noise, uint64_t seed) {
    mtr_synthetic_config c;
    mtr_synthetic_config_default(&c);
    c.correlation = P;
    c.dim = dim;
    c.n_sin = n_sin;
    c.noise_sd = noise;
    c.seed = seed;
    return c;
}

static int same_records(const mtr_dataset *a, const mtr_dataset *b) {
    return a->n_rows == b->n_rows && a->record_words == b->record_words &&
           memcmp(a->records, b->records, a->n_rows * a->record_words * sizeof(uint32_t)) == 0;
}

/* ---------------------------------------------------------------- the generator */

TEST(synthetic_defaults_are_the_documented_ones) {
    mtr_synthetic_config c;
    mtr_synthetic_config_default(&c);
    CHECK(c.correlation == 1.0);
    CHECK_EQ_INT(c.dim, 100);
    CHECK(c.scale == 0.3);
    CHECK_EQ_INT(c.n_sin, 5);
    CHECK(c.alpha_sd == 1.0 && c.beta_sd == 1.0);
    CHECK(c.noise_sd == 0.1);
    CHECK(mtr_synthetic_config_check(&c) == NULL);
}

TEST(synthetic_data_is_deterministic_by_seed_and_stream) {
    mtr_error err;
    mtr_synthetic_config c = config(0.7, 20, 5, 0.1, 42);
    mtr_dataset *a = mtr_synthetic_generate(&c, 300, 0, NULL, &err);
    mtr_dataset *b = mtr_synthetic_generate(&c, 300, 0, NULL, &err);
    CHECK_MSG(a && b, "%s", err.message);
    if (!a || !b) goto out;
    CHECK(same_records(a, b));
    CHECK_EQ_INT(a->n_cat, 0);
    CHECK_EQ_INT(a->n_num, 20);
    CHECK_EQ_INT(a->n_tasks, 2);
    CHECK_EQ_INT(mtr_dataset_rows(a), 300);
    /* another seed: other data */
    c.seed = 43;
    mtr_dataset *other = mtr_synthetic_generate(&c, 300, 0, NULL, &err);
    CHECK(other && !same_records(a, other));
    mtr_dataset_free(other);
    /* another stream of the same seed: other rows, but the same problem (drawn from the seed only) */
    c.seed = 42;
    mtr_dataset *test = mtr_synthetic_generate(&c, 300, 1, NULL, &err);
    CHECK(test && !same_records(a, test));
    mtr_dataset_free(test);
    mtr_synthetic_problem p1, p2;
    CHECK(mtr_synthetic_problem_init(&p1, &c, &err) == 0);
    c.correlation = 0.2; /* P moves w2 but no random draw */
    CHECK(mtr_synthetic_problem_init(&p2, &c, &err) == 0);
    CHECK(memcmp(p1.u1, p2.u1, 20 * sizeof(double)) == 0);
    CHECK(memcmp(p1.u2, p2.u2, 20 * sizeof(double)) == 0);
    CHECK(memcmp(p1.alpha, p2.alpha, 5 * sizeof(double)) == 0);
    CHECK(memcmp(p1.beta, p2.beta, 5 * sizeof(double)) == 0);
    CHECK(memcmp(p1.w2, p2.w2, 20 * sizeof(double)) != 0);
    /* and the inputs of stream 0 do not depend on P */
    mtr_dataset *moved = mtr_synthetic_generate(&c, 300, 0, NULL, &err);
    CHECK(moved != NULL);
    if (moved)
        for (size_t r = 0; r < 300; r += 37)
            CHECK(memcmp(mtr_row_numeric(a, r), mtr_row_numeric(moved, r), 20 * sizeof(float)) == 0);
    mtr_dataset_free(moved);
    mtr_synthetic_problem_free(&p1);
    mtr_synthetic_problem_free(&p2);
out:
    mtr_dataset_free(a);
    mtr_dataset_free(b);
}

TEST(synthetic_u1_u2_are_orthonormal) {
    int dims[3] = {2, 7, 100};
    for (int k = 0; k < 3; k++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            mtr_synthetic_config c = config(0.5, dims[k], 5, 0.1, seed);
            mtr_synthetic_problem p;
            mtr_error err;
            CHECK_MSG(mtr_synthetic_problem_init(&p, &c, &err) == 0, "%s", err.message);
            int d = dims[k];
            CHECK_NEAR(dotd(p.u1, p.u1, d), 1.0, 1e-12);
            CHECK_NEAR(dotd(p.u2, p.u2, d), 1.0, 1e-12);
            CHECK_NEAR(dotd(p.u1, p.u2, d), 0.0, 1e-14);
            mtr_synthetic_problem_free(&p);
        }
}

TEST(synthetic_weight_cosine_is_P_and_length_is_c) {
    double Ps[7] = {1.0, 0.9, 0.5, 0.0, -0.3, -1.0, 0.123456789};
    for (int k = 0; k < 7; k++) {
        mtr_synthetic_config c = config(Ps[k], 100, 5, 0.1, 9 + (uint64_t)k);
        c.scale = 0.7;
        mtr_synthetic_problem p;
        mtr_error err;
        CHECK(mtr_synthetic_problem_init(&p, &c, &err) == 0);
        double n1 = sqrt(dotd(p.w1, p.w1, 100)), n2 = sqrt(dotd(p.w2, p.w2, 100));
        CHECK_NEAR(dotd(p.w1, p.w2, 100) / (n1 * n2), Ps[k], 1e-12);
        CHECK_NEAR(n1, 0.7, 1e-12);
        CHECK_NEAR(n2, 0.7, 1e-12);
        /* w1 = c u1 exactly */
        CHECK(p.w1[3] == 0.7 * p.u1[3]);
        mtr_synthetic_problem_free(&p);
    }
}

TEST(synthetic_labels_use_the_shared_alpha_and_beta) {
    mtr_error err;
    mtr_synthetic_config c = config(0.6, 10, 4, 0.0, 5);
    c.scale = 2.0; /* large enough that the sines are far from linear */
    mtr_synthetic_problem p;
    CHECK(mtr_synthetic_problem_init(&p, &c, &err) == 0);
    mtr_dataset *ds = mtr_synthetic_generate(&c, 200, 0, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (!ds) return;
    double max_err = 0.0;
    for (size_t r = 0; r < 200; r++) {
        const float *x = mtr_row_numeric(ds, r), *y = mtr_row_labels(ds, r);
        for (int k = 0; k < 2; k++) {
            /* recomputed here from the drawn vectors, independently of the library's label function */
            const double *w = k ? p.w2 : p.w1;
            double z = 0.0, want;
            for (int i = 0; i < 10; i++) z += w[i] * x[i];
            want = z;
            for (int i = 0; i < 4; i++) want += sin(p.alpha[i] * z + p.beta[i]);
            max_err = fmax(max_err, fabs(y[k] - want));
            CHECK(y[k] == (float)mtr_synthetic_label_mean(&p, k, x)); /* noise 0: exactly the mean */
        }
    }
    CHECK_NEAR(max_err, 0.0, 1e-5);
    /* the draws look like N(0, 1) parameters: not all zero, not all equal */
    CHECK(p.alpha[0] != p.alpha[1] && p.beta[0] != p.beta[1] && p.alpha[0] != p.beta[0]);
    mtr_dataset_free(ds);
    mtr_synthetic_problem_free(&p);

    /* P = 1 and no noise: w1 = w2, so shared alpha and beta make the two labels bit-identical */
    mtr_synthetic_config same = config(1.0, 30, 5, 0.0, 8);
    same.scale = 1.5;
    ds = mtr_synthetic_generate(&same, 500, 0, NULL, &err);
    CHECK(ds != NULL);
    int identical = 1;
    for (size_t r = 0; ds && r < 500; r++) identical &= mtr_row_labels(ds, r)[0] == mtr_row_labels(ds, r)[1];
    CHECK_MSG(identical, "with P = 1 and no noise the labels must be equal (shared alpha, beta)");
    CHECK_NEAR(mtr_label_correlation(ds, 0, 1), 1.0, 1e-12);
    mtr_dataset_free(ds);
    /* the sines matter: with m = 0 the labels of the same inputs differ */
    same.n_sin = 0;
    mtr_dataset *lin = mtr_synthetic_generate(&same, 10, 0, NULL, &err);
    same.n_sin = 5;
    mtr_dataset *sn = mtr_synthetic_generate(&same, 10, 0, NULL, &err);
    CHECK(lin && sn && mtr_row_labels(lin, 3)[0] != mtr_row_labels(sn, 3)[0]);
    mtr_dataset_free(lin);
    mtr_dataset_free(sn);
}

TEST(synthetic_label_correlation_tracks_P) {
    /* linear tasks without noise: corr(y1, y2) = cos(w1, w2) = P, up to sampling error ~ 1/sqrt(N) */
    double Ps[4] = {1.0, 0.9, 0.5, 0.0};
    mtr_error err;
    for (int k = 0; k < 4; k++) {
        mtr_synthetic_config c = config(Ps[k], 20, 0, 0.0, 77);
        mtr_dataset *ds = mtr_synthetic_generate(&c, 20000, 0, NULL, &err);
        CHECK_MSG(ds != NULL, "%s", err.message);
        double r = mtr_label_correlation(ds, 0, 1);
        CHECK_MSG(fabs(r - Ps[k]) < 0.05, "P = %g: label correlation %.4f", Ps[k], r);
        if (Ps[k] == 1.0) CHECK_NEAR(r, 1.0, 1e-9);
        mtr_dataset_free(ds);
    }
    /* with noise the correlation shrinks by c^2 / (c^2 + noise^2): 0.09 / 0.1 = 0.9 for the defaults */
    for (int k = 0; k < 3; k++) {
        mtr_synthetic_config c = config(Ps[k], 20, 0, 0.1, 78);
        mtr_dataset *ds = mtr_synthetic_generate(&c, 20000, 0, NULL, &err);
        double r = mtr_label_correlation(ds, 0, 1);
        CHECK_MSG(fabs(r - 0.9 * Ps[k]) < 0.03, "P = %g with noise: %.4f, expected about %.3f", Ps[k], r,
                  0.9 * Ps[k]);
        mtr_dataset_free(ds);
    }
    /* with the default sine terms, the mean over problems still rises with P */
    double prev = -2.0;
    for (int k = 3; k >= 0; k--) {
        double sum = 0.0;
        for (uint64_t s = 0; s < 8; s++) {
            mtr_synthetic_config c = config(Ps[k], 20, 5, 0.1, 100 + s);
            mtr_dataset *ds = mtr_synthetic_generate(&c, 2000, 0, NULL, &err);
            sum += mtr_label_correlation(ds, 0, 1);
            mtr_dataset_free(ds);
        }
        CHECK_MSG(sum / 8 > prev + 0.05, "P = %g: mean label correlation %.3f after %.3f", Ps[k], sum / 8, prev);
        prev = sum / 8;
    }
}

TEST(label_correlation_by_hand) {
    mtr_error err;
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(5, 0, 1, 3, &rec, &err);
    CHECK(ds != NULL);
    if (!ds) return;
    float *f = (float *)rec; /* rows of [x, y1, y2, y3] */
    float y1[5] = {1, 2, 3, 4, 5}, y3[5] = {2, 2, 2, 2, 2};
    for (int r = 0; r < 5; r++) {
        f[r * 4 + 1] = y1[r];
        f[r * 4 + 2] = -3.0f * y1[r] + 1.0f; /* exactly anti-correlated */
        f[r * 4 + 3] = y3[r];
    }
    CHECK_NEAR(mtr_label_correlation(ds, 0, 1), -1.0, 1e-12);
    CHECK_NEAR(mtr_label_correlation(ds, 0, 0), 1.0, 1e-12);
    CHECK(isnan(mtr_label_correlation(ds, 0, 2))); /* a constant label has no correlation */
    CHECK(isnan(mtr_label_correlation(ds, 0, 3))); /* no such task */
    /* rows where either label is missing are skipped: {1,2,3} against {1,3,2} -> 0.5 */
    f[1 * 4 + 2] = 3.0f;
    f[2 * 4 + 2] = 2.0f;
    f[0 * 4 + 2] = 1.0f;
    f[3 * 4 + 2] = NAN;
    f[4 * 4 + 1] = NAN;
    CHECK_NEAR(mtr_label_correlation(ds, 0, 1), 0.5, 1e-12);
    mtr_dataset_free(ds);
}

TEST(synthetic_bad_settings_are_refused_with_a_clear_message) {
    mtr_error err;
    struct {
        double P;
        int dim;
        size_t rows;
        double scale, noise;
        int n_sin;
        const char *expect;
    } cases[] = {
        {1.5, 100, 10, 0.3, 0.1, 5, "correlation P"},
        {-1.0000001, 100, 10, 0.3, 0.1, 5, "[-1, 1]"},
        {NAN, 100, 10, 0.3, 0.1, 5, "correlation P"},
        {0.5, 1, 10, 0.3, 0.1, 5, "dimension d must be >= 2"},
        {0.5, 0, 10, 0.3, 0.1, 5, "dimension d"},
        {0.5, 100, 0, 0.3, 0.1, 5, "rows must be >= 1"},
        {0.5, 100, 10, 0.0, 0.1, 5, "scale c"},
        {0.5, 100, 10, 0.3, -0.1, 5, "noise"},
        {0.5, 100, 10, 0.3, 0.1, -1, "sine terms m"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mtr_synthetic_config c = config(cases[k].P, cases[k].dim, cases[k].n_sin, cases[k].noise, 1);
        c.scale = cases[k].scale;
        mtr_schema *schema = (mtr_schema *)&err; /* must be reset to NULL on failure */
        memset(&err, 0, sizeof err);
        mtr_dataset *ds = mtr_synthetic_generate(&c, cases[k].rows, 0, &schema, &err);
        CHECK_MSG(ds == NULL, "case %zu was accepted", k);
        CHECK(schema == NULL);
        CHECK_CONTAINS(err.message, "synthetic data");
        CHECK_CONTAINS(err.message, cases[k].expect);
        mtr_dataset_free(ds);
    }
    /* both ends of the correlation range are fine */
    mtr_synthetic_config c = config(-1.0, 2, 0, 0.0, 1);
    CHECK(mtr_synthetic_config_check(&c) == NULL);
    c.correlation = 1.0;
    CHECK(mtr_synthetic_config_check(&c) == NULL);
    mtr_dataset *ds = mtr_synthetic_generate(&c, 1, 0, NULL, &err);
    CHECK(ds && mtr_dataset_rows(ds) == 1);
    mtr_dataset_free(ds);
}

TEST(synthetic_schema_and_mtrd_round_trip) {
    mtr_error err;
    mtr_synthetic_config c = config(0.5, 12, 5, 0.1, 3);
    mtr_schema *schema = NULL;
    mtr_dataset *ds = mtr_synthetic_generate(&c, 257, 0, &schema, &err);
    CHECK_MSG(ds && schema, "%s", err.message);
    if (!ds || !schema) goto out;
    CHECK_EQ_INT(mtr_schema_categorical_count(schema), 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(schema), 12);
    CHECK(strcmp(mtr_schema_numeric_name(schema, 0), "x0") == 0);
    CHECK(strcmp(mtr_schema_numeric_name(schema, 11), "x11") == 0);
    CHECK_EQ_INT(mtr_schema_task_count(schema), 2);
    CHECK(strcmp(mtr_schema_task_name(schema, 0), "y1") == 0 && strcmp(mtr_schema_task_name(schema, 1), "y2") == 0);
    CHECK(mtr_schema_task_kind(schema, 0) == MTR_TASK_REGRESSION && mtr_schema_task_kind(schema, 1) == MTR_TASK_REGRESSION);
    const char *path = mtr_test_path("synthetic.mtrd");
    CHECK_MSG(mtr_dataset_write(ds, path, &err) == 0, "%s", err.message);
    mtr_dataset *back = mtr_dataset_open(path, schema, &err);
    CHECK_MSG(back != NULL, "%s", err.message);
    CHECK(back && same_records(ds, back));
    mtr_dataset_free(back);
    /* a model of the schema trains on the generated rows (the fingerprint matches) */
    mtr_model_config mc;
    mtr_model_config_default(&mc);
    mtr_model *m = mtr_model_create(schema, &mc, 1, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    mtr_train_config tc;
    mtr_train_config_default(&tc);
    tc.max_epochs = 1;
    tc.batch_size = 64;
    mtr_view v = mtr_view_all(ds);
    mtr_train_result res;
    CHECK_MSG(m && mtr_train(m, &v, NULL, &tc, &res, &err) == 0, "%s", err.message);
    mtr_model_free(m);
out:
    mtr_dataset_free(ds);
    mtr_schema_free(schema);
}

/* ---------------------------------------------------------------- the commands */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

TEST(cli_gen_synthetic_writes_csv_and_mtrd) {
    char csv[512], mtrd[512];
    snprintf(csv, sizeof csv, "%s", mtr_test_path("syn.csv"));
    snprintf(mtrd, sizeof mtrd, "%s", mtr_test_path("syn.mtrd"));
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "synthetic", "--corr", "0.5", "--rows", "50", "--seed", "7", "--dim", "6", "--out", csv);
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "label Pearson correlation");
    char *text = slurp(csv);
    CHECK(text != NULL);
    CHECK(text && strncmp(text, "x0,x1,x2,x3,x4,x5,y1,y2\n", 24) == 0);
    CHECK_EQ_INT(count_lines(text), 51);
    /* the CSV holds the library's rows (9 significant digits round-trip a float) */
    mtr_synthetic_config c = config(0.5, 6, 5, 0.1, 7);
    mtr_error err;
    mtr_dataset *ds = mtr_synthetic_generate(&c, 50, 0, NULL, &err);
    if (text && ds) {
        const char *line = strchr(text, '\n') + 1;
        float v[8];
        CHECK_EQ_INT(sscanf(line, "%f,%f,%f,%f,%f,%f,%f,%f", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]), 8);
        CHECK(memcmp(v, mtr_row_numeric(ds, 0), 8 * sizeof(float)) == 0);
    }
    /* the printed correlation is the data's */
    const char *p = r.out ? strstr(r.out, "correlation ") : NULL;
    CHECK(p && ds && fabs(atof(p + 12) - mtr_label_correlation(ds, 0, 1)) < 1e-5);
    free(text);
    cli_result_free(&r);

    CLI_RUN(&r, NULL, "gen", "synthetic", "--corr", "0.5", "--rows", "50", "--seed", "7", "--dim", "6", "--out", mtrd);
    CHECK_EQ_INT(r.status, 0);
    mtr_dataset *back = mtr_dataset_open(mtrd, NULL, &err);
    CHECK_MSG(back && ds && same_records(back, ds), "the .mtrd file differs from the library's rows");
    mtr_dataset_free(back);
    mtr_dataset_free(ds);
    cli_result_free(&r);

    /* bad values: usage errors naming the problem, nothing written */
    CLI_RUN(&r, NULL, "gen", "synthetic", "--corr", "1.2", "--rows", "5", "--out", csv);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "[-1, 1]");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "synthetic", "--corr", "abc", "--rows", "5", "--out", csv);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--corr: expected a number, got 'abc'");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "synthetic", "--rows", "0", "--out", csv);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--rows");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "synthetic", "--dim", "1", "--out", csv);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--dim");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "nonsense");
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "unknown generator 'nonsense' (synthetic, ccp, sessions)");
    cli_result_free(&r);
    CLI_RUN(&r, NULL, "gen", "synthetic", "--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_CONTAINS(r.out, "--scale V");
    CHECK_CONTAINS(r.out, "[0.3]");
    cli_result_free(&r);
}

TEST(cli_experiment_synthetic_report_does_not_depend_on_jobs) {
    char dir1[512], dir2[512], path[600];
    snprintf(dir1, sizeof dir1, "%s", mtr_test_path("rep1"));
    snprintf(dir2, sizeof dir2, "%s", mtr_test_path("rep2/nested"));
    cli_result r1, r2;
    CLI_RUN(&r1, NULL, "experiment", "synthetic", "--corr", "1,0.5", "--runs", "3", "--rows", "600", "--test-rows",
            "100", "--epochs", "2", "--batch", "50", "--step-interval", "4", "--dim", "10", "--jobs", "1", "--report",
            dir1, "--json");
    CLI_RUN(&r2, NULL, "experiment", "synthetic", "--corr", "1,0.5", "--runs", "3", "--rows", "600", "--test-rows",
            "100", "--epochs", "2", "--batch", "50", "--step-interval", "4", "--dim", "10", "--jobs", "2", "--report",
            dir2, "--quiet");
    CHECK_EQ_INT(r1.status, 0);
    CHECK_EQ_INT(r2.status, 0);
    CHECK_CONTAINS(r1.out, "\"experiment\": \"synthetic\"");
    CHECK_CONTAINS(r1.out, "\"final_loss\"");
    CHECK_CONTAINS(r2.out, "Shared-Bottom");
    static const char *const files[] = {"final_losses.csv", "loss_curves.csv", "label_correlation.csv",
                                        "label_correlation_grid.csv"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/%s", dir1, files[k]);
        char *a = slurp(path);
        snprintf(path, sizeof path, "%s/%s", dir2, files[k]);
        char *b = slurp(path);
        CHECK_MSG(a && b && strcmp(a, b) == 0, "%s differs between --jobs 1 and --jobs 2", files[k]);
        if (k == 0) CHECK_EQ_INT(count_lines(a), 1 + 2 * 3 * 3); /* header + P x runs x models */
        if (k == 1) CHECK_EQ_INT(count_lines(a), 1 + 2 * 3 * 6); /* 24 steps / 4 = 6 points */
        free(a);
        free(b);
    }
    snprintf(path, sizeof path, "%s/README.md", dir1);
    char *readme = slurp(path);
    CHECK_CONTAINS(readme, "| 0.5 | MMoE |");
    CHECK_CONTAINS(readme, "fig4_loss_curves_P0.5.svg");
    CHECK_CONTAINS(readme, "fig5_final_loss_P1.svg");
    CHECK_CONTAINS(readme, "Wall time");
    CHECK_CONTAINS(readme, "experiment synthetic --corr 1,0.5");
    free(readme);
    static const char *const svgs[] = {"fig2_label_correlation.svg", "fig4_loss_curves_P1.svg",
                                       "fig4_loss_curves_P0.5.svg", "fig5_final_loss_P1.svg", "fig5_final_loss_P0.5.svg"};
    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s", dir1, svgs[k]);
        char *svg = slurp(path);
        CHECK_MSG(svg && strstr(svg, "</svg>") && strstr(svg, k ? "MMoE" : "y = P"), "%s missing or incomplete", svgs[k]);
        free(svg);
    }
    cli_result_free(&r1);
    cli_result_free(&r2);

    CLI_RUN(&r1, NULL, "experiment", "synthetic", "--corr", "1,2", "--report", "none");
    CHECK_EQ_INT(r1.status, 2);
    CHECK_CONTAINS(r1.err, "--corr: expected comma-separated numbers in [-1, 1], got '2'");
    cli_result_free(&r1);
    CLI_RUN(&r1, NULL, "experiment", "synthetic", "--corr", "0.5,0.5", "--report", "none");
    CHECK_EQ_INT(r1.status, 2);
    CHECK_CONTAINS(r1.err, "listed twice");
    cli_result_free(&r1);
    CLI_RUN(&r1, NULL, "experiment", "synthetic", "--rows", "10", "--batch", "10", "--epochs", "1",
            "--step-interval", "5", "--report", "none");
    CHECK_EQ_INT(r1.status, 2);
    CHECK_CONTAINS(r1.err, "--step-interval 5 is longer than the whole training (1 steps)");
    cli_result_free(&r1);
}
