/* test_data_aliccp.c - the real Ali-CCP and AliExpress samples in data/ with the shipped specs: the
 * PaddleRec ESMM text form (format = aliccp: row counts, label sums, field count, ids per row checked
 * against an independent count of the tokens), torch-rechub's Ali-CCP and AliExpress CSVs, PaddleRec's
 * AITM CSVs (one without a header); then bad aliccp lines, each named by file, line and token. */
#include <stdio.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "mtrank.h"
#include "test.h"

static void data_path(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, "%s/%s", mtr_test_data_dir(), file);
}

static mtr_schema *fit_files(const char *spec_file, const char *train_file, mtr_error *err) {
    char sp[512], tr[512];
    data_path(sp, sizeof sp, spec_file);
    data_path(tr, sizeof tr, train_file);
    mtr_spec *spec = mtr_spec_load(sp, err);
    if (!spec) return NULL;
    mtr_schema *s = mtr_schema_fit(spec, tr, err);
    mtr_spec_free(spec);
    return s;
}

static mtr_dataset *read_file(const mtr_schema *s, const char *file, int labels_required, mtr_error *err) {
    char p[512];
    data_path(p, sizeof p, file);
    return mtr_dataset_read_text(s, p, labels_required, err);
}

/* Sum of each task's labels (NaN counted separately). */
static void label_sums(const mtr_dataset *ds, double sums[2], size_t *nan) {
    sums[0] = sums[1] = 0;
    *nan = 0;
    for (size_t r = 0; r < mtr_dataset_rows(ds); r++)
        for (int t = 0; t < 2; t++) {
            float y = mtr_dataset_label(ds, r, t);
            if (isnan(y)) ++*nan;
            else sums[t] += y;
        }
}

/* Tokens of `field` in one line of an aliccp file, counted without the library. */
static uint32_t count_tokens(const char *line, const char *field) {
    uint32_t n = 0;
    size_t fl = strlen(field);
    int column = 0;
    for (const char *p = line; *p && *p != '\n'; column++) {
        const char *end = p;
        while (*end && *end != ',' && *end != '\n') end++;
        if (column >= 3 && (size_t)(end - p) > fl && memcmp(p, field, fl) == 0 && p[fl] == ':') n++;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static char *slurp_text(const char *file) {
    char p[512];
    data_path(p, sizeof p, file);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    if (t && fread(t, 1, (size_t)n, f) != (size_t)n) {
        free(t);
        t = NULL;
    }
    if (t) t[n] = '\0';
    fclose(f);
    return t;
}

TEST(aliccp_paddlerec_esmm_samples) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_files("ali-ccp/paddlerec_esmm.spec", "ali-ccp/paddlerec_esmm_small_train.txt", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    /* 23 declared fields in spec order; 126 is absent from the sample and has no ids */
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 23);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 0);
    CHECK_EQ_INT(mtr_schema_task_count(s), 2);
    CHECK(strcmp(mtr_schema_categorical_name(s, 0), "101") == 0);
    CHECK(strcmp(mtr_schema_categorical_name(s, 5), "126") == 0);
    CHECK(strcmp(mtr_schema_categorical_name(s, 22), "150_14") == 0);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 5), 2);
    for (int f = 0; f < 23; f++) {
        CHECK_EQ_INT(mtr_schema_field_multi(s, f), 1);
        CHECK_EQ_INT(mtr_schema_field_pool_mean(s, f), f >= 19); /* the four *_14 histories */
    }
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 2 + 1);  /* one user in all ten lines */
    CHECK(strcmp(mtr_schema_categorical_name(s, 9), "205") == 0);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 9), 2 + 10); /* ten items */
    const char *out = mtr_test_path("esmm.mtrd");
    char train[512];
    data_path(train, sizeof train, "ali-ccp/paddlerec_esmm_small_train.txt");
    CHECK_MSG(mtr_dataset_compile(s, train, out, &err) == 0, "%s", err.message);
    mtr_dataset *ds = mtr_dataset_open(out, s, &err);
    mtr_dataset *mem = read_file(s, "ali-ccp/paddlerec_esmm_small_train.txt", 1, &err);
    char *text = slurp_text("ali-ccp/paddlerec_esmm_small_train.txt");
    CHECK_MSG(ds != NULL && mem != NULL && text != NULL, "%s", err.message);
    if (ds && mem && text) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 10);
        double sums[2];
        size_t nan;
        label_sums(ds, sums, &nan);
        CHECK_NEAR(sums[0], 2, 0);
        CHECK_NEAR(sums[1], 1, 0);
        CHECK_EQ_INT(nan, 0);
        CHECK_EQ_INT(ds->n_multi, 23);
        CHECK_EQ_INT(ds->n_single, 0);
        CHECK_EQ_INT(ds->max_row_ids, 888);
        /* the mapped file holds exactly what read_text builds */
        CHECK_EQ_INT(ds->row_offsets[10], mem->row_offsets[10]);
        CHECK(memcmp(ds->row_offsets, mem->row_offsets, 11 * sizeof *ds->row_offsets) == 0);
        CHECK(memcmp(ds->records, mem->records, ds->row_offsets[10] * 4) == 0);
        static const uint32_t ids_per_row[10] = {876, 877, 887, 880, 876, 888, 880, 878, 876, 877};
        const char *line = text;
        for (size_t r = 0; r < 10 && line; r++) {
            const uint32_t *counts = mtr_row_multi_counts(ds, r), *ids = mtr_row_multi_ids(ds, r);
            uint32_t total = 0;
            for (int f = 0; f < 23; f++) {
                CHECK_EQ_INT(counts[f], count_tokens(line, mtr_schema_categorical_name(s, f)));
                for (uint32_t k = 0; k < counts[f]; k++) CHECK(ids[total + k] >= 2); /* all seen in training */
                total += counts[f];
            }
            CHECK_EQ_INT(total, ids_per_row[r]);
            CHECK_EQ_INT(ds->row_offsets[r + 1] - ds->row_offsets[r], 23 + 2 + total); /* counts, labels, ids */
            CHECK_EQ_INT(counts[5], 0);
            line = strchr(line, '\n');
            if (line) line++;
        }
        /* the first token of line 1 is 210:1, the first id of field 210 (index 12) */
        const uint32_t *c0 = mtr_row_multi_counts(ds, 0);
        uint32_t at = 0;
        for (int f = 0; f < 12; f++) at += c0[f];
        CHECK(c0[12] == 3 && mtr_row_multi_ids(ds, 0)[at] != mtr_row_multi_ids(ds, 0)[at + 1]);
    }
    free(text);
    mtr_dataset_free(mem);
    mtr_dataset_free(ds);
    /* the test file through the training schema, labels optional (they are present) */
    mtr_dataset *test = read_file(s, "ali-ccp/paddlerec_esmm_small_test.txt", 0, &err);
    CHECK_MSG(test != NULL, "%s", err.message);
    if (test) {
        double sums[2];
        size_t nan;
        label_sums(test, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(test), 10);
        CHECK_NEAR(sums[0], 1, 0);
        CHECK_NEAR(sums[1], 0, 0);
    }
    mtr_dataset_free(test);
    mtr_schema_free(s);
}

TEST(aliccp_fields_by_first_appearance_and_default_ignore) {
    mtr_error err = {{0}};
    char train[512];
    data_path(train, sizeof train, "ali-ccp/paddlerec_esmm_small_train.txt");
    static const char spec_all[] = "[input]\nformat = aliccp\n[features]\ndefault = categorical hash=1000\n"
                                   "[task click]\ncolumn = click\ntype = binary\npositive = 1\n";
    mtr_spec *sp = mtr_spec_parse(spec_all, "all.spec", &err);
    mtr_schema *s = sp ? mtr_schema_fit(sp, train, &err) : NULL;
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        /* line 1 starts 210:1,210:2,210:3,216:4,301:5,205:6,... */
        CHECK_EQ_INT(mtr_schema_categorical_count(s), 22);
        CHECK(strcmp(mtr_schema_categorical_name(s, 0), "210") == 0);
        CHECK(strcmp(mtr_schema_categorical_name(s, 1), "216") == 0);
        CHECK(strcmp(mtr_schema_categorical_name(s, 2), "301") == 0);
        CHECK(strcmp(mtr_schema_categorical_name(s, 3), "205") == 0);
        CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 1002); /* the default's hash applies */
    }
    mtr_schema_free(s);
    mtr_spec_free(sp);
    /* default = ignore: only the declared fields */
    sp = mtr_spec_parse("[input]\nformat = aliccp\n[features]\n205 = categorical\n101 = categorical\n"
                        "[task click]\ncolumn = click\ntype = binary\npositive = 1\n",
                        "two.spec", &err);
    s = sp ? mtr_schema_fit(sp, train, &err) : NULL;
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_dataset *ds = s ? mtr_dataset_read_text(s, train, 1, &err) : NULL;
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (s && ds) {
        CHECK_EQ_INT(mtr_schema_categorical_count(s), 2);
        CHECK(strcmp(mtr_schema_categorical_name(s, 0), "205") == 0);
        for (size_t r = 0; r < 10; r++) {
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[0], 1);
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[1], 1);
        }
        CHECK_EQ_INT(ds->max_row_ids, 2);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
    mtr_spec_free(sp);
}

static const char tiny_aliccp_spec[] = "[input]\nformat = aliccp\n[features]\ndefault = categorical\n"
                                       "[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n"
                                       "[task purchase]\ncolumn = purchase\ntype = binary\npositive = 1\nnegative = 0\n";

/* Fit on `data` expecting failure; the message. */
static const char *aliccp_fit_error(const char *name, const char *data) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_spec *sp = mtr_spec_parse(tiny_aliccp_spec, "tiny.spec", &err);
    if (!sp) return err.message;
    mtr_schema *s = mtr_schema_fit(sp, mtr_test_write_file(name, data, strlen(data)), &err);
    mtr_spec_free(sp);
    if (s) {
        mtr_schema_free(s);
        return "(fitted without error)";
    }
    return err.message;
}

/* Fit on good lines, compile `data` expecting failure; the message. */
static const char *aliccp_compile_error(const char *name, const char *data) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_spec *sp = mtr_spec_parse(tiny_aliccp_spec, "tiny.spec", &err);
    static const char good[] = "1,0,0,101:1,205:7\n2,1,1,205:8,101:2,205:9\n3,0,0\n";
    mtr_schema *s = sp ? mtr_schema_fit(sp, mtr_test_write_file("good.txt", good, strlen(good)), &err) : NULL;
    mtr_spec_free(sp);
    if (!s) return err.message;
    int rc = mtr_dataset_compile(s, mtr_test_write_file(name, data, strlen(data)), mtr_test_path("bad.mtrd"), &err);
    mtr_schema_free(s);
    return rc == 0 ? "(compiled without error)" : err.message;
}

TEST(aliccp_tokens_in_any_order_and_empty_rows) {
    mtr_error err = {{0}};
    mtr_spec *sp = mtr_spec_parse(tiny_aliccp_spec, "tiny.spec", &err);
    static const char good[] = "1,0,0,101:1,205:7\n2,1,1,205:8,101:2,205:9\n3,0,0\n";
    const char *path = mtr_test_write_file("good.txt", good, strlen(good));
    mtr_schema *s = sp ? mtr_schema_fit(sp, path, &err) : NULL;
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_dataset *ds = s ? mtr_dataset_read_text(s, path, 1, &err) : NULL;
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (s && ds) {
        /* fields 101 then 205 (first appearance); vocabularies: 101 {1, 2}, 205 {7, 8, 9}, count 1 each */
        CHECK(strcmp(mtr_schema_categorical_name(s, 0), "101") == 0);
        static const uint32_t c101[3] = {1, 1, 0}, c205[3] = {1, 2, 0};
        for (size_t r = 0; r < 3; r++) {
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[0], c101[r]);
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[1], c205[r]);
        }
        /* line 2: 205:8,101:2,205:9 is stored grouped by field: [101:2 | 205:8, 205:9] */
        const uint32_t *ids = mtr_row_multi_ids(ds, 1);
        CHECK_EQ_INT(ids[0], 3);
        CHECK_EQ_INT(ids[1], 3);
        CHECK_EQ_INT(ids[2], 4);
        CHECK_EQ_INT(ds->row_offsets[3] - ds->row_offsets[2], 4); /* line 3: two counts of 0, two labels */
        CHECK_NEAR(mtr_dataset_label(ds, 1, 1), 1, 0);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
    mtr_spec_free(sp);
}

TEST(aliccp_bad_tokens_are_named) {
    const char *m = aliccp_fit_error("notoken.txt", "1,0,0,101:5\n2,0,0,101:5,abc,205:3\n");
    CHECK_CONTAINS(m, "notoken.txt: line 2: token 2 (column 5): expected field:id, found 'abc'");
    m = aliccp_fit_error("nofield.txt", "1,0,0,:7\n");
    CHECK_CONTAINS(m, "nofield.txt: line 1: token 1 (column 4): expected field:id, found ':7'");
    m = aliccp_fit_error("noid.txt", "1,0,0,101:3,205:\n");
    CHECK_CONTAINS(m, "noid.txt: line 1: token 2 (column 5): expected field:id, found '205:'");
    m = aliccp_fit_error("empty.txt", "1,0,0,101:3,\n");
    CHECK_CONTAINS(m, "empty.txt: line 1: token 2 (column 5): expected field:id, found ''");
    m = aliccp_fit_error("short.txt", "1,0\n");
    CHECK_CONTAINS(m, "short.txt: line 1: expected at least 3 columns (sample_id, click, purchase), found 2");
    m = aliccp_fit_error("label.txt", "1,0,0,101:3\n2,2,0,101:4\n");
    CHECK_CONTAINS(m, "label.txt: line 2: column 'click': unknown label value '2' for task 'click'");
    m = aliccp_fit_error("leading.txt", "1,0,0,click:3\n");
    CHECK_CONTAINS(m, "leading.txt: line 1: token 1 (column 4): field 'click' has the name of a leading column");
    /* the same faults when compiling with a fitted schema; fields unknown to the schema are skipped */
    m = aliccp_compile_error("cnotoken.txt", "1,0,0,999:1,101:5\n2,0,0,101:5,205-3\n");
    CHECK_CONTAINS(m, "cnotoken.txt: line 2: token 2 (column 5): expected field:id, found '205-3'");
    m = aliccp_compile_error("cshort.txt", "1,0,0\n1\n");
    CHECK_CONTAINS(m, "cshort.txt: line 2: expected at least 3 columns");
}

TEST(aliccp_torchrechub_csv_samples) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_files("ali-ccp/torchrechub_ali_ccp.spec", "ali-ccp/torchrechub_ali_ccp_train_sample.csv", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 23);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 8);
    CHECK(strcmp(mtr_schema_categorical_name(s, 0), "101") == 0);
    CHECK(strcmp(mtr_schema_numeric_name(s, 0), "D109_14") == 0);
    CHECK_EQ_INT(mtr_schema_field_multi(s, 0), 0);
    static const char *const files[3] = {"ali-ccp/torchrechub_ali_ccp_train_sample.csv",
                                         "ali-ccp/torchrechub_ali_ccp_val_sample.csv",
                                         "ali-ccp/torchrechub_ali_ccp_test_sample.csv"};
    static const int rows[3] = {100, 50, 50}, clicks[3] = {7, 3, 2}, buys[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) {
        mtr_dataset *ds = read_file(s, files[i], 1, &err);
        CHECK_MSG(ds != NULL, "%s", err.message);
        if (!ds) continue;
        double sums[2];
        size_t nan;
        label_sums(ds, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(ds), rows[i]);
        CHECK_NEAR(sums[0], clicks[i], 0);
        CHECK_NEAR(sums[1], buys[i], 0);
        CHECK_EQ_INT(nan, 0);
        CHECK(ds->row_offsets == NULL && ds->record_words == 23 + 8 + 2);
        CHECK_NEAR(mtr_row_numeric(ds, 0)[0], 0.4734, 1e-6); /* norm=none keeps the scaled value */
        mtr_dataset_free(ds);
    }
    mtr_schema_free(s);
}

TEST(aliexpress_csv_samples_and_prediction_without_labels) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_files("aliexpress/aliexpress.spec", "aliexpress/torchrechub_aliexpress_train_sample.csv", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 16);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 63);
    CHECK(strcmp(mtr_schema_task_name(s, 1), "conversion") == 0);
    for (int i = 0; i < mtr_schema_categorical_count(s); i++)
        CHECK(strcmp(mtr_schema_categorical_name(s, i), "search_id") != 0);
    mtr_dataset *train = read_file(s, "aliexpress/torchrechub_aliexpress_train_sample.csv", 1, &err);
    mtr_dataset *test = read_file(s, "aliexpress/torchrechub_aliexpress_test_sample.csv", 1, &err);
    CHECK_MSG(train && test, "%s", err.message);
    if (train && test) {
        double sums[2];
        size_t nan;
        label_sums(train, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(train), 100);
        CHECK_NEAR(sums[0], 60, 0);
        CHECK_NEAR(sums[1], 2, 0);
        label_sums(test, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(test), 20);
        CHECK_NEAR(sums[0], 10, 0);
        CHECK_NEAR(sums[1], 2, 0);
    }
    /* the test file without its last two (label) columns reads with labels_required = 0 */
    char *text = slurp_text("aliexpress/torchrechub_aliexpress_test_sample.csv");
    if (text && test) {
        size_t n = strlen(text), k = 0;
        char *cut = malloc(n + 1);
        for (const char *line = text; cut && *line;) {
            const char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            int commas = 0;
            size_t keep = len;
            while (keep > 0 && commas < 2)
                if (line[--keep] == ',') commas++;
            memcpy(cut + k, line, keep);
            k += keep;
            cut[k++] = '\n';
            line += len + (nl != NULL);
        }
        mtr_dataset *pred = cut ? mtr_dataset_read_text(s, mtr_test_write_file("nolabels.csv", cut, k), 0, &err) : NULL;
        CHECK_MSG(pred != NULL, "%s", err.message);
        if (pred) {
            CHECK_EQ_INT(mtr_dataset_rows(pred), 20);
            CHECK(isnan(mtr_dataset_label(pred, 3, 0)) && isnan(mtr_dataset_label(pred, 3, 1)));
            CHECK(memcmp(mtr_row_ids(pred, 7), mtr_row_ids(test, 7), (16 + 63) * 4) == 0);
        }
        mtr_dataset_free(pred);
        free(cut);
    }
    free(text);
    mtr_dataset_free(train);
    mtr_dataset_free(test);
    mtr_schema_free(s);
}

TEST(aliccp_aitm_csv_with_and_without_header) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_files("ali-ccp/paddlerec_aitm.spec", "ali-ccp/paddlerec_aitm_train.csv", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 18);
    mtr_dataset *train = read_file(s, "ali-ccp/paddlerec_aitm_train.csv", 1, &err);
    mtr_dataset *test = read_file(s, "ali-ccp/paddlerec_aitm_test.csv", 1, &err);
    CHECK_MSG(train && test, "%s", err.message);
    if (train && test) {
        double sums[2];
        size_t nan;
        label_sums(train, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(train), 48);
        CHECK_NEAR(sums[0], 3, 0);
        CHECK_NEAR(sums[1], 3, 0);
        label_sums(test, sums, &nan);
        CHECK_EQ_INT(mtr_dataset_rows(test), 50);
        CHECK_NEAR(sums[0], 3, 0);
        CHECK_NEAR(sums[1], 3, 0);
        /* user 180467 (test line 1) never occurs in training: out of vocabulary; 301 = 2 is common */
        CHECK_EQ_INT(mtr_row_ids(test, 0)[0], MTR_ID_OOV);
        CHECK(mtr_row_ids(train, 0)[0] >= 2);
        CHECK(mtr_row_ids(test, 0)[17] >= 2 && mtr_row_ids(test, 0)[17] == mtr_row_ids(train, 0)[17]);
    }
    mtr_dataset_free(train);
    mtr_dataset_free(test);
    mtr_schema_free(s);
}
