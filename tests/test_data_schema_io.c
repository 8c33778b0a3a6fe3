/* test_data_schema_io.c - the schema's text form: a fitted schema (with awkward vocabulary bytes) and a
 * synthetic one round-trip exactly, keep their fingerprint and encode identically; damaged text is
 * refused. */
#include <stdio.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "mtrank.h"
#include "test.h"

static const char io_spec[] =
    "# vocabulary values with awkward bytes\n"
    "[input]\ndelimiter = \";\"\ncolumns = word, item, x, z, y\n"
    "[features]\nword = categorical\nitem = categorical hash=13\nx = numeric norm=log1p_standard "
    "missing_default=-0.25\nz = numeric norm=minmax\n"
    "[task y]\ncolumn = y\ntype = regression\n";

/* Values with a backslash, an inner tab, a control byte, UTF-8, an '=' and spaces. */
static const char io_data[] = "back\\slash;a;1;5;0.5\n"
                              "in\ttab;b;?;6;1\n"
                              "\x01" "ctl;c;3;7;2\n"
                              "caf\xc3\xa9;d;4;8;3\n"
                              "k=v with spaces;e;-5;9;4\n"
                              "back\\slash;f;6;10;5\n";

static mtr_schema *fit_io(mtr_error *err) {
    mtr_spec *sp = mtr_spec_parse(io_spec, "io.spec", err);
    if (!sp) return NULL;
    mtr_schema *s = mtr_schema_fit(sp, mtr_test_write_file("io.csv", io_data, strlen(io_data)), err);
    mtr_spec_free(sp);
    return s;
}

static void check_same_schema(const mtr_schema *a, const mtr_schema *b) {
    CHECK(mtr_schema_fingerprint(a) == mtr_schema_fingerprint(b));
    CHECK(strcmp(mtr_schema_spec_text(a), mtr_schema_spec_text(b)) == 0);
    CHECK_EQ_INT(mtr_schema_task_count(a), mtr_schema_task_count(b));
    for (int t = 0; t < mtr_schema_task_count(a) && t < mtr_schema_task_count(b); t++) {
        CHECK(strcmp(mtr_schema_task_name(a, t), mtr_schema_task_name(b, t)) == 0);
        CHECK_EQ_INT(mtr_schema_task_kind(a, t), mtr_schema_task_kind(b, t));
    }
    CHECK_EQ_INT(mtr_schema_categorical_count(a), mtr_schema_categorical_count(b));
    for (int i = 0; i < mtr_schema_categorical_count(a) && i < mtr_schema_categorical_count(b); i++) {
        CHECK(strcmp(mtr_schema_categorical_name(a, i), mtr_schema_categorical_name(b, i)) == 0);
        CHECK_EQ_INT(mtr_schema_vocab_size(a, i), mtr_schema_vocab_size(b, i));
    }
    CHECK_EQ_INT(mtr_schema_numeric_count(a), mtr_schema_numeric_count(b));
    for (int i = 0; i < mtr_schema_numeric_count(a) && i < mtr_schema_numeric_count(b); i++)
        CHECK(strcmp(mtr_schema_numeric_name(a, i), mtr_schema_numeric_name(b, i)) == 0);
}

TEST(schema_round_trip_is_exact) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_io(&err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 2 + 5);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 2 + 13);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 3); /* x, z, x_missing */
    size_t len;
    char *text = mtr_schema_serialize(s, &len);
    CHECK(text != NULL && len == strlen(text));
    if (!text) {
        mtr_schema_free(s);
        return;
    }
    CHECK(strstr(text, "value 2 back\\\\slash\n") != NULL); /* escaped, most frequent first */
    CHECK(strstr(text, "value 1 in\\x09tab\n") != NULL);
    CHECK(strstr(text, "value 1 \\x01ctl\n") != NULL);
    CHECK(strstr(text, "value 1 k=v with spaces\n") != NULL);
    mtr_schema *back = mtr_schema_deserialize(text, len, "model.mtrm", &err);
    CHECK_MSG(back != NULL, "%s", err.message);
    if (back) {
        check_same_schema(s, back);
        size_t len2;
        char *text2 = mtr_schema_serialize(back, &len2);
        CHECK(text2 && len2 == len && memcmp(text, text2, len) == 0);
        free(text2);
        /* both encode the training file to the same bits */
        const char *path = mtr_test_path("io.csv");
        mtr_dataset *a = mtr_dataset_read_text(s, path, 1, &err), *b = mtr_dataset_read_text(back, path, 1, &err);
        CHECK_MSG(a && b, "%s", err.message);
        if (a && b) {
            CHECK(a->n_rows == 6 && b->n_rows == 6);
            CHECK(memcmp(a->records, b->records, 6 * a->record_words * 4) == 0);
            CHECK_EQ_INT(mtr_row_ids(a, 2)[0], 3); /* "\x01ctl": first of the count-1 values by bytes */
            CHECK_NEAR(mtr_row_numeric(a, 1)[0], -0.25, 0);
        }
        mtr_dataset_free(a);
        mtr_dataset_free(b);
        /* a compiled file made with one opens with the other */
        const char *out = mtr_test_path("io.mtrd");
        CHECK_MSG(mtr_dataset_compile(s, path, out, &err) == 0, "%s", err.message);
        mtr_dataset *m = mtr_dataset_open(out, back, &err);
        CHECK_MSG(m != NULL, "%s", err.message);
        mtr_dataset_free(m);
    }
    mtr_schema *copy = mtr_schema_copy(s, &err);
    CHECK_MSG(copy != NULL, "%s", err.message);
    if (copy) check_same_schema(s, copy);
    /* a stored NUL terminator after the text is accepted */
    mtr_schema *with_nul = mtr_schema_deserialize(text, len + 1, "nul", &err);
    CHECK_MSG(with_nul != NULL, "%s", err.message);
    mtr_schema_free(with_nul);
    mtr_schema_free(copy);
    mtr_schema_free(back);
    mtr_schema_free(s);
    free(text);
}

TEST(schema_damaged_text_is_refused) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_io(&err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    size_t len;
    char *text = mtr_schema_serialize(s, &len);
    if (!text) {
        mtr_schema_free(s);
        return;
    }
    /* a changed vocabulary count: parses, but the fingerprint no longer matches */
    char *p = strstr(text, "value 2 back");
    CHECK(p != NULL);
    if (p) {
        p[6] = '3';
        CHECK(mtr_schema_deserialize(text, len, "m1.mtrm", &err) == NULL);
        CHECK_CONTAINS(err.message, "m1.mtrm: schema fingerprint");
        CHECK_CONTAINS(err.message, "corrupt");
        p[6] = '2';
    }
    /* cut short */
    CHECK(mtr_schema_deserialize(text, len / 2, "m2.mtrm", &err) == NULL);
    CHECK_CONTAINS(err.message, "m2.mtrm: schema line");
    /* a newer text version */
    text[14] = '9';
    CHECK(mtr_schema_deserialize(text, len, "m3.mtrm", &err) == NULL);
    CHECK_CONTAINS(err.message, "m3.mtrm: schema line 1");
    CHECK_CONTAINS(err.message, "version 9");
    text[14] = '1';
    /* garbage */
    CHECK(mtr_schema_deserialize("hello\n", 6, "m4.mtrm", &err) == NULL);
    CHECK_CONTAINS(err.message, "m4.mtrm: schema line 1: expected 'mtrank-schema '");
    /* trailing bytes */
    char *longer = malloc(len + 2);
    if (longer) {
        memcpy(longer, text, len);
        memcpy(longer + len, "x\n", 2);
        CHECK(mtr_schema_deserialize(longer, len + 2, "m5.mtrm", &err) == NULL);
        CHECK_CONTAINS(err.message, "text after 'end'");
        free(longer);
    }
    mtr_schema *ok = mtr_schema_deserialize(text, len, "m6.mtrm", &err);
    CHECK_MSG(ok != NULL, "%s", err.message);
    mtr_schema_free(ok);
    free(text);
    mtr_schema_free(s);
}

TEST(schema_synthetic) {
    static const uint32_t sizes[2] = {10, 3};
    static const char *const cat_names[2] = {"user", "item"};
    static const char *const num_names[3] = {"price", "age", "score"};
    static const char *const task_names[2] = {"click", "dwell"};
    static const mtr_task_kind kinds[2] = {MTR_TASK_BINARY, MTR_TASK_REGRESSION};
    mtr_error err = {{0}};
    mtr_schema *s = mtr_schema_synthetic(2, sizes, cat_names, 3, num_names, 2, task_names, kinds, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 2);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 10);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 3);
    CHECK(strcmp(mtr_schema_categorical_name(s, 1), "item") == 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 3);
    CHECK(strcmp(mtr_schema_numeric_name(s, 2), "score") == 0);
    CHECK_EQ_INT(mtr_schema_task_count(s), 2);
    CHECK_EQ_INT(mtr_schema_task_kind(s, 1), MTR_TASK_REGRESSION);
    CHECK(strcmp(mtr_schema_spec_text(s), "") == 0);
    mtr_schema *copy = mtr_schema_copy(s, &err);
    CHECK_MSG(copy != NULL, "%s", err.message);
    if (copy) check_same_schema(s, copy);
    mtr_schema_free(copy);
    /* same arguments, same fingerprint; a different vocabulary size, a different one */
    mtr_schema *again = mtr_schema_synthetic(2, sizes, cat_names, 3, num_names, 2, task_names, kinds, &err);
    static const uint32_t sizes2[2] = {11, 3};
    mtr_schema *other = mtr_schema_synthetic(2, sizes2, cat_names, 3, num_names, 2, task_names, kinds, &err);
    CHECK(again && other);
    if (again && other) {
        CHECK(mtr_schema_fingerprint(again) == mtr_schema_fingerprint(s));
        CHECK(mtr_schema_fingerprint(other) != mtr_schema_fingerprint(s));
    }
    mtr_schema_free(again);
    mtr_schema_free(other);
    /* default names, and no text reading without a spec */
    mtr_schema *plain = mtr_schema_synthetic(1, sizes, NULL, 1, NULL, 1, NULL, NULL, &err);
    CHECK_MSG(plain != NULL, "%s", err.message);
    if (plain) {
        CHECK(strcmp(mtr_schema_categorical_name(plain, 0), "cat_0") == 0);
        CHECK(strcmp(mtr_schema_task_name(plain, 0), "task_0") == 0);
        CHECK(mtr_dataset_read_text(plain, mtr_test_path("io.csv"), 1, &err) == NULL);
        CHECK_CONTAINS(err.message, "has no spec");
    }
    mtr_schema_free(plain);
    CHECK(mtr_schema_synthetic(0, NULL, NULL, 0, NULL, 0, NULL, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "0 tasks");
    static const char *const dup[2] = {"a", "a"};
    CHECK(mtr_schema_synthetic(0, NULL, NULL, 0, NULL, 2, dup, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "duplicate task name 'a'");
    mtr_schema_free(s);
}
