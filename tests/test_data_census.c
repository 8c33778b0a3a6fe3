/* test_data_census.c - the real UCI Census-Income (KDD) training file with the shipped group-1 and
 * group-2 specs: row count and label counts as documented in data/census-income/README.md. */
#include <stdio.h>
#include <stdlib.h>

#include "mtrank.h"
#include "test.h"

static void census_path(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, "%s/census-income/%s", mtr_test_data_dir(), file);
}

TEST(census_group1_fits_and_compiles) {
    char spec_path[512], train[512];
    census_path(spec_path, sizeof spec_path, "census-group1.spec");
    census_path(train, sizeof train, "census-income.data.gz");
    mtr_error err = {{0}};
    mtr_spec *spec = mtr_spec_load(spec_path, &err);
    CHECK_MSG(spec != NULL, "%s", err.message);
    if (!spec) return;
    mtr_schema *s = mtr_schema_fit(spec, train, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_spec_free(spec);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_task_count(s), 2);
    CHECK(strcmp(mtr_schema_task_name(s, 0), "income") == 0);
    CHECK(strcmp(mtr_schema_task_name(s, 1), "never_married") == 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 7);      /* no numeric column has missing values */
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 31); /* 42 - 7 numeric - 4 excluded */
    for (int i = 0; i < mtr_schema_categorical_count(s); i++) {
        const char *name = mtr_schema_categorical_name(s, i);
        CHECK(strcmp(name, "education") != 0 && strcmp(name, "marital_stat") != 0 &&
              strcmp(name, "instance_weight") != 0 && strcmp(name, "income_50k") != 0);
        if (strcmp(name, "sex") == 0) CHECK_EQ_INT(mtr_schema_vocab_size(s, i), 4);
        if (strcmp(name, "year") == 0) CHECK_EQ_INT(mtr_schema_vocab_size(s, i), 4);
    }
    const char *out = mtr_test_path("census1.mtrd");
    CHECK_MSG(mtr_dataset_compile(s, train, out, &err) == 0, "%s", err.message);
    mtr_dataset *ds = mtr_dataset_open(out, s, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 199523);
        size_t pos[2] = {0, 0}, absent = 0;
        for (size_t r = 0; r < mtr_dataset_rows(ds); r++)
            for (int t = 0; t < 2; t++) {
                float y = mtr_dataset_label(ds, r, t);
                absent += isnan(y);
                pos[t] += y == 1.0f;
            }
        CHECK_EQ_INT(pos[0], 12382);
        CHECK_EQ_INT(pos[1], 86485);
        CHECK_EQ_INT(absent, 0);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(census_group2_labels) {
    char spec_path[512], test_file[512];
    census_path(spec_path, sizeof spec_path, "census-group2.spec");
    census_path(test_file, sizeof test_file, "census-income.test.gz");
    mtr_error err = {{0}};
    mtr_spec *spec = mtr_spec_load(spec_path, &err);
    CHECK_MSG(spec != NULL, "%s", err.message);
    if (!spec) return;
    /* the smaller test file keeps this quick; its counts were taken with zcat | awk */
    mtr_schema *s = mtr_schema_fit(spec, test_file, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_spec_free(spec);
    if (!s) return;
    CHECK(strcmp(mtr_schema_task_name(s, 0), "education_college") == 0);
    mtr_dataset *ds = mtr_dataset_read_text(s, test_file, 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 99762);
        size_t pos[2] = {0, 0};
        for (size_t r = 0; r < mtr_dataset_rows(ds); r++)
            for (int t = 0; t < 2; t++) pos[t] += mtr_dataset_label(ds, r, t) == 1.0f;
        CHECK_EQ_INT(pos[0], 19456);
        CHECK_EQ_INT(pos[1], 43143);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}
