/* test_data_fit.c - fitting and encoding on small hand-made files: vocabulary order, min_count, OOV and
 * missing ids, hashing, each norm's values (constant columns included), missing flags, label rules, the
 * leakage guard when columns come from a header, and header files with reordered or absent columns. */
#include <stdio.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "mtrank.h"
#include "test.h"
#include "util/checksum.h"

static const char *write_text(const char *name, const char *text) {
    return mtr_test_write_file(name, text, strlen(text));
}

/* Parse and fit; NULL (with a failed check) when either fails. */
static mtr_schema *fit(const char *spec_text, const char *data_name, const char *data, mtr_error *err) {
    mtr_spec *spec = mtr_spec_parse(spec_text, "fit.spec", err);
    if (!spec) return NULL;
    mtr_schema *s = mtr_schema_fit(spec, write_text(data_name, data), err);
    mtr_spec_free(spec);
    return s;
}

static const char shop_spec[] =
    "[input]\n"
    "columns = color, size, weight, score, label, y\n"
    "[features]\n"
    "color = categorical\n"
    "size = categorical min_count=2\n"
    "weight = numeric norm=standard\n"
    "score = numeric norm=minmax missing_default=-1\n"
    "[task click]\n"
    "column = label\n"
    "type = binary\n"
    "positive = yes\n"
    "negative = no\n"
    "[task value]\n"
    "column = y\n"
    "type = regression\n";

static const char shop_data[] =
    "red,S,1,10,yes,1.5\n"
    "blue,M,2,20,no,2.5\n"
    "red,L,3,?,no,?\n"
    "green,S,?,30,?,0\n"
    "\n" /* empty lines are skipped */
    "red , M,4, 40,yes,-1\r\n" /* trimmed; CRLF accepted */
    "blue,?,5,50,no,3";        /* no final newline */

TEST(fit_builds_vocabularies_ids_and_flags) {
    mtr_error err = {{0}};
    mtr_schema *s = fit(shop_spec, "shop.csv", shop_data, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_task_count(s), 2);
    CHECK(strcmp(mtr_schema_task_name(s, 0), "click") == 0);
    CHECK_EQ_INT(mtr_schema_task_kind(s, 0), MTR_TASK_BINARY);
    CHECK_EQ_INT(mtr_schema_task_kind(s, 1), MTR_TASK_REGRESSION);
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 2);
    CHECK(strcmp(mtr_schema_categorical_name(s, 0), "color") == 0);
    CHECK(strcmp(mtr_schema_categorical_name(s, 1), "size") == 0);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 5);  /* OOV, missing, red, blue, green */
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 4);  /* OOV, missing, M, S (L seen once < min_count 2) */
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 4);  /* weight, score, weight_missing, score_missing */
    CHECK(strcmp(mtr_schema_numeric_name(s, 0), "weight") == 0);
    CHECK(strcmp(mtr_schema_numeric_name(s, 1), "score") == 0);
    CHECK(strcmp(mtr_schema_numeric_name(s, 2), "weight_missing") == 0);
    CHECK(strcmp(mtr_schema_numeric_name(s, 3), "score_missing") == 0);
    CHECK(strcmp(mtr_schema_spec_text(s), shop_spec) == 0);

    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("shop.csv"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 6);
        CHECK_EQ_INT(ds->record_words, 2 + 4 + 2);
        /* color: red 3, blue 2, green 1 -> 2, 3, 4; size: M 2, S 2 (tie: byte order), L -> OOV, ? -> 1 */
        static const uint32_t color[6] = {2, 3, 2, 4, 2, 3}, size[6] = {3, 2, 0, 3, 2, 1};
        for (size_t r = 0; r < 6; r++) {
            CHECK_EQ_INT(mtr_row_ids(ds, r)[0], color[r]);
            CHECK_EQ_INT(mtr_row_ids(ds, r)[1], size[r]);
        }
        /* weight: 1..5 with row 4 missing -> mean 3, population std sqrt(2); missing -> 0 and flag 1 */
        static const double weight[6] = {1, 2, 3, -1, 4, 5};
        for (size_t r = 0; r < 6; r++) {
            const float *x = mtr_row_numeric(ds, r);
            if (weight[r] < 0) {
                CHECK_NEAR(x[0], 0.0, 0);
                CHECK_NEAR(x[2], 1.0, 0);
            } else {
                CHECK_NEAR(x[0], (weight[r] - 3.0) / sqrt(2.0), 1e-6);
                CHECK_NEAR(x[2], 0.0, 0);
            }
        }
        /* score: minmax over 10..50 with row 3 missing -> missing_default -1 */
        static const double score[6] = {10, 20, -1, 30, 40, 50};
        for (size_t r = 0; r < 6; r++) {
            const float *x = mtr_row_numeric(ds, r);
            CHECK_NEAR(x[1], score[r] < 0 ? -1.0 : (score[r] - 10.0) / 40.0, 1e-7);
            CHECK_NEAR(x[3], score[r] < 0 ? 1.0 : 0.0, 0);
        }
        static const float click[6] = {1, 0, 0, NAN, 1, 0}, value[6] = {1.5f, 2.5f, NAN, 0, -1, 3};
        for (size_t r = 0; r < 6; r++) {
            float c = mtr_dataset_label(ds, r, 0), v = mtr_dataset_label(ds, r, 1);
            CHECK(isnan(click[r]) ? isnan(c) : c == click[r]);
            CHECK(isnan(value[r]) ? isnan(v) : v == value[r]);
        }
    }
    mtr_dataset_free(ds);

    /* New values are OOV (0) when encoding another file; missing stays 1. */
    ds = mtr_dataset_read_text(s, write_text("shop2.csv", "purple,XL,3,30,no,1\n?,S,3,30,yes,1\n"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[0], MTR_ID_OOV);
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[1], MTR_ID_OOV);
        CHECK_EQ_INT(mtr_row_ids(ds, 1)[0], MTR_ID_MISSING);
        CHECK_EQ_INT(mtr_row_ids(ds, 1)[1], 3);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(fit_vocab_order_is_by_count_then_bytes) {
    mtr_error err = {{0}};
    /* counts: b 2, ab 2, a 2, c 3, d 1 -> c, a, ab, b, d whatever the input order */
    mtr_schema *s = fit("[input]\ncolumns = v, y\n[features]\nv = categorical\n"
                        "[task t]\ncolumn = y\ntype = binary\npositive = 1\n",
                        "order.csv", "b,1\nab,0\nd,0\nc,1\na,0\nb,0\nc,0\nab,1\na,1\nc,1\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 7);
    mtr_dataset *ds = mtr_dataset_read_text(s, write_text("order2.csv", "c,1\na,1\nab,1\nb,1\nd,1\n"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    for (size_t r = 0; ds && r < 5; r++) CHECK_EQ_INT(mtr_row_ids(ds, r)[0], 2 + r);
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(fit_hashed_categorical_ids) {
    mtr_error err = {{0}};
    mtr_schema *s = fit("[input]\ncolumns = item, y\n[features]\nitem = categorical hash=7\n"
                        "[task t]\ncolumn = y\ntype = binary\nabove = 0\n",
                        "hash.csv", "apple,1\npear,0\n?,2\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 9);
    mtr_dataset *ds = mtr_dataset_read_text(s, write_text("hash2.csv", "apple,1\nnever seen,0\n?,5\n"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[0], 2 + mtr_fnv1a64(MTR_FNV1A64_INIT, "apple", 5) % 7);
        CHECK_EQ_INT(mtr_row_ids(ds, 1)[0], 2 + mtr_fnv1a64(MTR_FNV1A64_INIT, "never seen", 10) % 7);
        CHECK_EQ_INT(mtr_row_ids(ds, 2)[0], MTR_ID_MISSING);
        CHECK_EQ_INT(mtr_dataset_label(ds, 0, 0), 1); /* above 0: 1 > 0 */
        CHECK_EQ_INT(mtr_dataset_label(ds, 1, 0), 0); /* 0 > 0 is false */
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

/* Fit one numeric column with `norm` on `data` and return the encoded values of the same file. */
static int norm_values(const char *norm, const char *data, float *out, int n, mtr_error *err) {
    char spec[512];
    snprintf(spec, sizeof spec,
             "[input]\ncolumns = x, y\n[features]\nx = numeric norm=%s\n[task t]\ncolumn = y\ntype = regression\n",
             norm);
    mtr_schema *s = fit(spec, "norm.csv", data, err);
    if (!s) return -1;
    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("norm.csv"), 1, err);
    int rc = -1;
    if (ds && (int)mtr_dataset_rows(ds) == n && ds->n_num == 1) {
        for (int r = 0; r < n; r++) out[r] = mtr_row_numeric(ds, (size_t)r)[0];
        rc = 0;
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
    return rc;
}

static double slog1p(double x) { return x < 0 ? -log1p(-x) : log1p(x); }

TEST(fit_each_norm_gives_expected_values) {
    static const double x[4] = {-2, 0, 3, 10};
    const char *data = "-2,0\n0,0\n3,0\n10,0\n";
    double lx[4], lmean = 0, lvar = 0;
    for (int i = 0; i < 4; i++) lmean += (lx[i] = slog1p(x[i])) / 4;
    for (int i = 0; i < 4; i++) lvar += (lx[i] - lmean) * (lx[i] - lmean) / 4;
    double mean = 2.75, sd = sqrt(((4.75 * 4.75) + (2.75 * 2.75) + (0.25 * 0.25) + (7.25 * 7.25)) / 4);
    float y[4];
    mtr_error err = {{0}};
    CHECK_MSG(norm_values("none", data, y, 4, &err) == 0, "%s", err.message);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], x[i], 0);
    CHECK_MSG(norm_values("minmax", data, y, 4, &err) == 0, "%s", err.message);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], (x[i] + 2) / 12, 1e-7);
    CHECK_MSG(norm_values("standard", data, y, 4, &err) == 0, "%s", err.message);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], (x[i] - mean) / sd, 1e-6);
    CHECK_MSG(norm_values("log1p", data, y, 4, &err) == 0, "%s", err.message);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], lx[i], 1e-6);
    CHECK_NEAR(y[0], -log(3.0), 1e-6); /* sign(x) * log1p(|x|) */
    CHECK_MSG(norm_values("log1p_standard", data, y, 4, &err) == 0, "%s", err.message);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], (lx[i] - lmean) / sqrt(lvar), 1e-6);
}

TEST(fit_constant_columns_do_not_divide_by_zero) {
    static const char *const norms[] = {"none", "minmax", "standard", "log1p", "log1p_standard"};
    for (int k = 0; k < 5; k++) {
        float y[3];
        mtr_error err = {{0}};
        CHECK_MSG(norm_values(norms[k], "7,0\n7,1\n7,2\n", y, 3, &err) == 0, "%s: %s", norms[k], err.message);
        double expect = k == 0 ? 7.0 : k == 3 ? log1p(7.0) : 0.0;
        for (int i = 0; i < 3; i++) {
            CHECK_MSG(isfinite(y[i]), "%s gives %g", norms[k], (double)y[i]);
            CHECK_NEAR(y[i], expect, 1e-6);
        }
    }
}

TEST(fit_labels_follow_rules) {
    mtr_error err = {{0}};
    /* at_least 13 vs above 13; a values list without negatives makes every other value 0 */
    mtr_schema *s = fit("[input]\ncolumns = a, kind\n[features]\ndefault = ignore\n"
                        "[task adult]\ncolumn = a\ntype = binary\nat_least = 13\n"
                        "[task older]\ncolumn = a\ntype = binary\nabove = 13\n"
                        "[task cat]\ncolumn = kind\ntype = binary\npositive = cat | kitten\n",
                        "labels.csv", "12,cat\n13,dog\n14,kitten\n?,?\n13.5, bird\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 0);
    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("labels.csv"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        static const float adult[5] = {0, 1, 1, NAN, 1}, older[5] = {0, 0, 1, NAN, 1}, cat[5] = {1, 0, 1, NAN, 0};
        for (size_t r = 0; r < 5; r++) {
            float a = mtr_dataset_label(ds, r, 0), o = mtr_dataset_label(ds, r, 1), c = mtr_dataset_label(ds, r, 2);
            CHECK_MSG(isnan(adult[r]) ? isnan(a) : a == adult[r], "row %zu adult %g", r, (double)a);
            CHECK_MSG(isnan(older[r]) ? isnan(o) : o == older[r], "row %zu older %g", r, (double)o);
            CHECK_MSG(isnan(cat[r]) ? isnan(c) : c == cat[r], "row %zu cat %g", r, (double)c);
        }
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

static const char header_spec[] =
    "[input]\nheader = yes\n[features]\ndefault = categorical\nw = numeric norm=none\n"
    "[task t]\ncolumn = y\ntype = binary\npositive = 1\n";

TEST(fit_header_files_map_columns_by_name) {
    mtr_error err = {{0}};
    mtr_schema *s = fit(header_spec, "h_train.csv", "a,w,y\nx,1,1\nz,2,0\nx,3,0\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 1); /* y is a label, never an input */
    CHECK(strcmp(mtr_schema_categorical_name(s, 0), "a") == 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 1);
    /* the same data with columns in another order and an extra column */
    mtr_dataset *ds = mtr_dataset_read_text(s, write_text("h_other.csv", "extra,y,w,a\n0,1,1,x\n0,0,2,z\n0,0,3,x\n"),
                                            1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        static const uint32_t a[3] = {2, 3, 2};
        static const float w[3] = {1, 2, 3}, y[3] = {1, 0, 0};
        for (size_t r = 0; r < 3; r++) {
            CHECK_EQ_INT(mtr_row_ids(ds, r)[0], a[r]);
            CHECK_NEAR(mtr_row_numeric(ds, r)[0], w[r], 0);
            CHECK_NEAR(mtr_dataset_label(ds, r, 0), y[r], 0);
        }
    }
    mtr_dataset_free(ds);
    /* without the label column: refused when labels are required, NaN labels otherwise */
    const char *nolabel = write_text("h_nolabel.csv", "w,a\n5,z\n");
    ds = mtr_dataset_read_text(s, nolabel, 1, &err);
    CHECK(ds == NULL);
    CHECK_CONTAINS(err.message, "h_nolabel.csv: line 1");
    CHECK_CONTAINS(err.message, "header has no column 'y'");
    ds = mtr_dataset_read_text(s, nolabel, 0, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[0], 3);
        CHECK(isnan(mtr_dataset_label(ds, 0, 0)));
    }
    mtr_dataset_free(ds);
    /* a missing input column is always an error */
    ds = mtr_dataset_read_text(s, write_text("h_noinput.csv", "y,a\n1,z\n"), 0, &err);
    CHECK(ds == NULL);
    CHECK_CONTAINS(err.message, "h_noinput.csv: line 1");
    CHECK_CONTAINS(err.message, "header has no column 'w'");
    mtr_schema_free(s);
}

TEST(fit_header_errors) {
    mtr_error err = {{0}};
    /* a spec line naming a column the header lacks: both files named */
    mtr_schema *s = fit("[input]\nheader = yes\n[features]\nage = numeric\n[task t]\ncolumn = y\ntype = binary\n"
                        "positive = 1\n", "h_bad.csv", "agee,y\n1,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "h_bad.csv");
    CHECK_CONTAINS(err.message, "fit.spec: line 4");
    CHECK_CONTAINS(err.message, "[features]: unknown column 'age'");
    /* the label column used as an input is caught once the header is known */
    s = fit("[input]\nheader = yes\n[features]\ny = numeric\n[task t]\ncolumn = y\ntype = binary\npositive = 1\n",
            "h_leak.csv", "x,y\n1,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "fit.spec: line 4");
    CHECK_CONTAINS(err.message, "column 'y' is the label of task 't'");
    CHECK_CONTAINS(err.message, "label leakage");
    /* header and spec columns disagree */
    s = fit("[input]\nheader = yes\ncolumns = x, y\n[task t]\ncolumn = y\ntype = binary\npositive = 1\n",
            "h_mismatch.csv", "x,z\n1,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "h_mismatch.csv: line 1");
    CHECK_CONTAINS(err.message, "header column 2 is 'z'");
    CHECK_CONTAINS(err.message, "says 'y'");
    /* duplicate names in the header */
    s = fit(header_spec, "h_dup.csv", "a,w,a,y\nx,1,1,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "h_dup.csv");
    CHECK_CONTAINS(err.message, "duplicate column name 'a'");
    /* only a header: no data */
    s = fit(header_spec, "h_empty.csv", "a,w,y\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "h_empty.csv: empty file");
}

TEST(read_text_without_label_columns_when_not_required) {
    mtr_error err = {{0}};
    mtr_schema *s = fit(shop_spec, "shop.csv", shop_data, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    /* header = no: a file may drop the label columns (label, y) when labels are not required */
    const char *path = write_text("unlabelled.csv", "blue,S,2,20\nred,M,3,30\n");
    mtr_dataset *ds = mtr_dataset_read_text(s, path, 0, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 2);
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[0], 3);
        CHECK_EQ_INT(mtr_row_ids(ds, 1)[1], 2);
        CHECK_NEAR(mtr_row_numeric(ds, 1)[1], 0.5, 1e-7);
        CHECK(isnan(mtr_dataset_label(ds, 0, 0)) && isnan(mtr_dataset_label(ds, 1, 1)));
    }
    mtr_dataset_free(ds);
    ds = mtr_dataset_read_text(s, path, 1, &err);
    CHECK(ds == NULL);
    CHECK_CONTAINS(err.message, "unlabelled.csv: line 1: expected 6 columns, found 4");
    ds = mtr_dataset_read_text(s, write_text("unlabelled3.csv", "blue,S,2\n"), 0, &err);
    CHECK(ds == NULL);
    CHECK_CONTAINS(err.message, "unlabelled3.csv: line 1: expected 6 columns (or 4 without the label columns), found 3");
    mtr_schema_free(s);
}
