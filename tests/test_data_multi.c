/* test_data_multi.c - multi-valued columns (sum/mean flags, empty values, missing items, vocabulary
 * counts, the ids-per-row bound), aux columns, shared tables, header = auto, the new spec options and
 * their errors, and the version-2 schema text (round trip, version 1 kept for schemas without the new
 * features). Every bad input is checked for a message naming the file, the line and the column. */
#include <stdio.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "data/spec.h"
#include "mtrank.h"
#include "test.h"

static const char *write_text(const char *name, const char *text) {
    return mtr_test_write_file(name, text, strlen(text));
}

static mtr_schema *fit_text(const char *spec_text, const char *data_name, const char *data, mtr_error *err) {
    mtr_spec *spec = mtr_spec_parse(spec_text, "multi.spec", err);
    if (!spec) return NULL;
    mtr_schema *s = mtr_schema_fit(spec, write_text(data_name, data), err);
    mtr_spec_free(spec);
    return s;
}

/* Parse text expected to fail; returns the message. */
static const char *spec_error(const char *text) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_spec *s = mtr_spec_parse(text, "bad.spec", &err);
    if (s) {
        mtr_spec_free(s);
        return "(parsed without error)";
    }
    return err.message;
}

static const char tags_spec[] =
    "[input]\n"
    "columns = id, tags, color, score, truth, y\n"
    "[features]\n"
    "tags = categorical multi sep=\";\" pool=mean\n"
    "color = categorical\n"
    "score = numeric norm=none\n"
    "truth = aux\n"
    "[task t]\n"
    "column = y\n"
    "type = binary\n"
    "positive = 1\n"
    "negative = 0\n";

/* tags counts: y 3, x 2, z 1 ("?" is a missing item, not counted) -> y=2, x=3, z=4 */
static const char tags_data[] =
    "a,x;y;z,red,1,0.25,1\n"
    "b,,blue,2,?,0\n"          /* an empty multi value: zero ids, not missing */
    "c,y; ? ;x,red,3,0.5,1\n"  /* items are trimmed; '?' is a missing item */
    "d,y,green,4,0.75,0\n";

static float word_float(uint32_t w) {
    float f;
    memcpy(&f, &w, sizeof f);
    return f;
}

TEST(multi_column_ids_counts_and_flags) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_text(tags_spec, "tags.csv", tags_data, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 2);
    CHECK(strcmp(mtr_schema_categorical_name(s, 0), "tags") == 0);
    CHECK_EQ_INT(mtr_schema_field_multi(s, 0), 1);
    CHECK_EQ_INT(mtr_schema_field_pool_mean(s, 0), 1);
    CHECK_EQ_INT(mtr_schema_field_multi(s, 1), 0);
    CHECK_EQ_INT(mtr_schema_field_pool_mean(s, 1), 0);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 5); /* OOV, missing, y, x, z */
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 5); /* OOV, missing, red, blue, green */
    CHECK_EQ_INT(mtr_schema_table_count(s), 2);   /* no sharing: one table per field */
    CHECK_EQ_INT(mtr_schema_field_table(s, 0), 0);
    CHECK_EQ_INT(mtr_schema_field_table(s, 1), 1);
    CHECK_EQ_INT(mtr_schema_table_size(s, 0), 5);
    CHECK(strcmp(mtr_schema_table_name(s, 1), "color") == 0);
    CHECK_EQ_INT(mtr_schema_aux_count(s), 1);
    CHECK(strcmp(mtr_schema_aux_name(s, 0), "truth") == 0);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 1);
    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("tags.csv"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 4);
        CHECK_EQ_INT(ds->n_single, 1);
        CHECK_EQ_INT(ds->n_multi, 1);
        CHECK_EQ_INT(ds->record_words, 5); /* color, score, y, truth, tags count */
        CHECK_EQ_INT(ds->max_row_ids, 4);
        CHECK(ds->row_offsets != NULL && ds->field_multi != NULL);
        static const uint32_t color[4] = {2, 3, 2, 4}, counts[4] = {3, 0, 3, 1};
        static const uint32_t tags[4][3] = {{3, 2, 4}, {0}, {2, 1, 3}, {2}};
        static const float truth[4] = {0.25f, NAN, 0.5f, 0.75f};
        for (size_t r = 0; r < 4; r++) {
            CHECK_EQ_INT(mtr_row_ids(ds, r)[0], color[r]);
            CHECK_NEAR(mtr_row_numeric(ds, r)[0], (double)(r + 1), 0);
            CHECK_NEAR(mtr_dataset_label(ds, r, 0), r % 2 ? 0.0 : 1.0, 0);
            if (r == 1) CHECK(isnan(mtr_dataset_aux(ds, r, 0)));
            else CHECK_NEAR(mtr_dataset_aux(ds, r, 0), truth[r], 0);
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[0], counts[r]);
            for (uint32_t k = 0; k < counts[r]; k++) CHECK_EQ_INT(mtr_row_multi_ids(ds, r)[k], tags[r][k]);
            CHECK_EQ_INT(ds->row_offsets[r + 1] - ds->row_offsets[r], 5 + counts[r]);
        }
        CHECK_EQ_INT(ds->row_offsets[4], 4 * 5 + 7);
        CHECK_EQ_INT(mtr_dataset_aux_count(ds), 1);
        CHECK(isnan(word_float(mtr_row_ids(ds, 1)[3]))); /* the aux word itself */
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(multi_column_sum_default_and_multibyte_sep) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_text("[input]\nheader = yes\ndelimiter = \"\\t\"\nmissing = \"NA\"\n[features]\n"
                             "genres = categorical multi sep=\", \"\n[task r]\ncolumn = rating\ntype = regression\n",
                             "movies.tsv",
                             "genres\trating\n"
                             "drama, comedy\t4\n"
                             "comedy\t3\n"
                             "drama, comedy, drama\t5\n"
                             "NA\t2\n", /* a missing marker as the whole value: one missing id */
                             &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_field_multi(s, 0), 1);
    CHECK_EQ_INT(mtr_schema_field_pool_mean(s, 0), 0); /* sum is the default */
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 4);      /* 3 each, so by bytes: comedy 2, drama 3 */
    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("movies.tsv"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        static const uint32_t counts[4] = {2, 1, 3, 1}, ids[4][3] = {{3, 2}, {2}, {3, 2, 3}, {1}};
        for (size_t r = 0; r < 4; r++) {
            CHECK_EQ_INT(mtr_row_multi_counts(ds, r)[0], counts[r]);
            for (uint32_t k = 0; k < counts[r]; k++) CHECK_EQ_INT(mtr_row_multi_ids(ds, r)[k], ids[r][k]);
        }
        CHECK_EQ_INT(ds->max_row_ids, 3);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(multi_row_id_bound_is_an_error) {
    /* MTR_MAX_ROW_IDS + 1 ids in one row, once when fitting and once when compiling */
    size_t n = (1u << 20) + 1, len = 0;
    char *big = malloc(2 * n + 64);
    if (!big) return;
    len += (size_t)sprintf(big, "a,1\n");
    for (size_t i = 0; i < n; i++) {
        big[len++] = 'a';
        big[len++] = i + 1 < n ? ';' : ',';
    }
    len += (size_t)sprintf(big + len, "0\n");
    static const char spec[] = "[input]\ncolumns = tags, y\n[features]\ntags = categorical multi sep=\";\"\n"
                               "[task t]\ncolumn = y\ntype = binary\npositive = 1\n";
    mtr_error err = {{0}};
    mtr_spec *sp = mtr_spec_parse(spec, "big.spec", &err);
    CHECK_MSG(sp != NULL, "%s", err.message);
    const char *path = mtr_test_write_file("big.csv", big, len);
    mtr_schema *s = sp ? mtr_schema_fit(sp, path, &err) : NULL;
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "big.csv: line 2: 1048577 categorical ids in one row (at most 1048576)");
    mtr_schema_free(s);
    s = sp ? mtr_schema_fit(sp, write_text("small.csv", "a;b,1\n"), &err) : NULL;
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        const char *out = mtr_test_path("big.mtrd");
        CHECK(mtr_dataset_compile(s, path, out, &err) != 0);
        CHECK_CONTAINS(err.message, "big.csv: line 2: more than 1048576 categorical ids in one row");
        FILE *f = fopen(out, "rb");
        CHECK_MSG(f == NULL, "a failed compile left %s behind", out);
        if (f) fclose(f);
    }
    mtr_schema_free(s);
    mtr_spec_free(sp);
    free(big);
}

TEST(aux_values_missing_and_errors) {
    static const char spec[] = "[input]\nheader = yes\n[features]\nc = categorical\nptrue = aux\n"
                               "[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n";
    mtr_error err = {{0}};
    mtr_schema *s = fit_text(spec, "aux.csv", "c,ptrue,click\na,0.125,1\nb,?,0\na,1e-3,0\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_aux_count(s), 1);
    CHECK_EQ_INT(mtr_schema_numeric_count(s), 0); /* aux is never an input */
    CHECK_EQ_INT(mtr_schema_categorical_count(s), 1);
    const char *out = mtr_test_path("aux.mtrd");
    CHECK_MSG(mtr_dataset_compile(s, mtr_test_path("aux.csv"), out, &err) == 0, "%s", err.message);
    mtr_dataset *ds = mtr_dataset_open(out, s, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK(ds->row_offsets == NULL); /* aux alone keeps records fixed-size */
        CHECK_EQ_INT(ds->record_words, 3);
        CHECK_NEAR(mtr_dataset_aux(ds, 0, 0), 0.125, 0);
        CHECK(isnan(mtr_dataset_aux(ds, 1, 0)));
        CHECK_NEAR(mtr_dataset_aux(ds, 2, 0), 1e-3, 1e-9);
        CHECK_NEAR(mtr_dataset_label(ds, 0, 0), 1, 0);
    }
    mtr_dataset_free(ds);
    /* a file without the aux column: NaN when labels are optional, an error when they are required */
    const char *pred = write_text("pred.csv", "c\nb\n");
    ds = mtr_dataset_read_text(s, pred, 0, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) CHECK(isnan(mtr_dataset_aux(ds, 0, 0)) && isnan(mtr_dataset_label(ds, 0, 0)));
    mtr_dataset_free(ds);
    CHECK(mtr_dataset_read_text(s, pred, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "pred.csv: line 1: header has no column 'ptrue' (an aux column)");
    /* not a number: when fitting and when compiling */
    CHECK(mtr_dataset_compile(s, write_text("badaux.csv", "c,ptrue,click\na,0.5,1\nb,high,0\n"), out, &err) != 0);
    CHECK_CONTAINS(err.message, "badaux.csv: line 3: column 'ptrue' (aux) is not a number: 'high'");
    mtr_schema_free(s);
    s = fit_text(spec, "badfit.csv", "c,ptrue,click\na,nan,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "badfit.csv: line 2: column 'ptrue' (aux) is not a number: 'nan'");
    mtr_schema_free(s);
}

TEST(shared_tables_fit_one_vocabulary) {
    static const char spec[] = "[input]\ncolumns = a, b, c, y\n[features]\n"
                               "a = categorical table=t\n"
                               "b = categorical multi sep=\"|\" table=t\n"
                               "c = categorical\n"
                               "[task k]\ncolumn = y\ntype = binary\npositive = 1\n";
    /* table t counts x 3 (a, b, a), y 2 (b, a), z 1 (b): x=2, y=3, z=4 */
    mtr_error err = {{0}};
    mtr_schema *s = fit_text(spec, "shared.csv", "x,x|y,p,1\ny,z,q,0\nx,,p,1\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(mtr_schema_table_count(s), 2);
    CHECK_EQ_INT(mtr_schema_field_table(s, 0), 0);
    CHECK_EQ_INT(mtr_schema_field_table(s, 1), 0);
    CHECK_EQ_INT(mtr_schema_field_table(s, 2), 1);
    CHECK_EQ_INT(mtr_schema_table_size(s, 0), 5);
    CHECK_EQ_INT(mtr_schema_table_size(s, 1), 4);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 5);
    CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 5);
    CHECK(strcmp(mtr_schema_table_name(s, 0), "t") == 0);
    CHECK(strcmp(mtr_schema_table_name(s, 1), "c") == 0);
    mtr_dataset *ds = mtr_dataset_read_text(s, mtr_test_path("shared.csv"), 1, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[0], 2); /* a = x */
        CHECK_EQ_INT(mtr_row_ids(ds, 1)[0], 3); /* a = y */
        CHECK_EQ_INT(mtr_row_ids(ds, 0)[1], 2); /* c = p */
        CHECK_EQ_INT(mtr_row_multi_counts(ds, 0)[0], 2);
        CHECK_EQ_INT(mtr_row_multi_ids(ds, 0)[0], 2); /* b = x|y in the shared vocabulary */
        CHECK_EQ_INT(mtr_row_multi_ids(ds, 0)[1], 3);
        CHECK_EQ_INT(mtr_row_multi_ids(ds, 1)[0], 4); /* b = z */
        CHECK_EQ_INT(mtr_row_multi_counts(ds, 2)[0], 0);
    }
    mtr_dataset_free(ds);
    /* the copy through the text form keeps the sharing */
    mtr_schema *copy = mtr_schema_copy(s, &err);
    CHECK_MSG(copy != NULL, "%s", err.message);
    if (copy) {
        CHECK(mtr_schema_fingerprint(copy) == mtr_schema_fingerprint(s));
        CHECK_EQ_INT(mtr_schema_table_count(copy), 2);
        CHECK_EQ_INT(mtr_schema_field_table(copy, 1), 0);
        CHECK_EQ_INT(mtr_schema_field_multi(copy, 1), 1);
    }
    mtr_schema_free(copy);
    mtr_schema_free(s);
    /* a field without table= is the table of its own name, so table=a joins field a */
    s = fit_text("[input]\ncolumns = a, b, y\n[features]\na = categorical\nb = categorical table=a\n"
                 "[task k]\ncolumn = y\ntype = binary\npositive = 1\n",
                 "join.csv", "u,v,1\nv,w,0\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        CHECK_EQ_INT(mtr_schema_table_count(s), 1);
        CHECK_EQ_INT(mtr_schema_vocab_size(s, 1), 5); /* u, v, w */
    }
    mtr_schema_free(s);
    /* fields of one table must agree on hash and min_count */
    s = fit_text("[input]\ncolumns = a, b, y\n[features]\na = categorical table=t min_count=2\n"
                 "b = categorical table=t\n[task k]\ncolumn = y\ntype = binary\npositive = 1\n",
                 "mismatch.csv", "u,v,1\n", &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "multi.spec: line 5: [features]: field 'b' shares table 't' with field 'a' but not "
                                "its options");
    mtr_schema_free(s);
}

TEST(header_auto_skips_only_a_matching_first_line) {
    static const char spec[] = "[input]\nheader = auto\ncolumns = k, y\n[features]\nk = categorical\n"
                               "[task t]\ncolumn = y\ntype = binary\npositive = 1\nnegative = 0\n";
    mtr_error err = {{0}};
    mtr_schema *s = fit_text(spec, "with.csv", "k,y\na,1\nb,0\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    mtr_dataset *with = mtr_dataset_read_text(s, mtr_test_path("with.csv"), 1, &err);
    mtr_dataset *without = mtr_dataset_read_text(s, write_text("without.csv", "a,1\nb,0\nc,1\n"), 1, &err);
    CHECK(with && without);
    if (with && without) {
        CHECK_EQ_INT(mtr_dataset_rows(with), 2);
        CHECK_EQ_INT(mtr_dataset_rows(without), 3);
        CHECK_EQ_INT(mtr_row_ids(without, 0)[0], mtr_row_ids(with, 0)[0]);
        CHECK_EQ_INT(mtr_row_ids(without, 2)[0], 0); /* c: out of vocabulary */
    }
    mtr_dataset_free(with);
    mtr_dataset_free(without);
    /* a first line that is neither the header nor a valid row is reported as line 1 */
    CHECK(mtr_dataset_read_text(s, write_text("other.csv", "key,label\na,1\n"), 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "other.csv: line 1: column 'y': unknown label value 'label' for task 't'");
    mtr_schema_free(s);
}

TEST(spec_multi_aux_table_and_format_errors) {
#define H "[input]\ncolumns = a, b, y\n"                              /* lines 1-2 */
#define T "[task t]\ncolumn = y\ntype = binary\npositive = 1\n"
    const char *m = spec_error(H "[features]\na = categorical multi\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': multi needs sep=\"...\"");
    m = spec_error(H "[features]\na = categorical sep=\";\"\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': sep needs multi");
    m = spec_error(H "[features]\na = categorical pool=mean\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': pool is only for multi-valued fields");
    m = spec_error(H "[features]\na = categorical multi sep=\";\" pool=max\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': pool: expected sum or mean, found 'max'");
    m = spec_error(H "[features]\na = categorical multi sep=\";,\"\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': sep \";,\" and the delimiter must not contain each other");
    m = spec_error(H "[features]\na = categorical multi=yes sep=\";\"\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': multi takes no value");
    m = spec_error(H "[features]\na = categorical multi sep=\"0123456789abcdef\"\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': sep must be 1 to 15 bytes");
    m = spec_error(H "[features]\na = numeric multi\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': unknown option 'multi' for a numeric");
    m = spec_error(H "[features]\na = aux norm=none\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': unknown option 'norm' for an aux");
    m = spec_error(H "[features]\ndefault = aux\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: [features]: default: expected categorical, numeric or ignore");
    m = spec_error(H "[features]\ndefault = categorical table=all\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: [features]: default: table=");
    m = spec_error(H "[features]\na = categorical table=\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 4: column 'a': expected option=value, found 'table='");
    m = spec_error("[input]\nformat = csv\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 2: format: expected delimited or aliccp, found 'csv'");
    m = spec_error("[input]\nheader = auto\n" T);
    CHECK_CONTAINS(m, "bad.spec: line 2: [input]: header = auto needs 'columns'");
    /* aliccp: no column list, no header, token fields are ids */
    m = spec_error("[input]\nformat = aliccp\ncolumns = a, b\n[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 3: [input]: columns: an aliccp line is sample_id, click, purchase");
    m = spec_error("[input]\nformat = aliccp\nheader = yes\n[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 3: [input]: header: aliccp files have no header line");
    m = spec_error("[input]\nformat = aliccp\n[features]\n101 = numeric\n"
                   "[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 4: field '101': an aliccp field holds ids: it can be categorical or ignore");
    m = spec_error("[input]\nformat = aliccp\n[features]\n101 = categorical multi sep=\";\"\n"
                   "[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 4: field '101': sep does not apply to aliccp fields");
    m = spec_error("[input]\nformat = aliccp\n[features]\ndefault = numeric\n"
                   "[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 4: [features]: default: an aliccp field holds ids");
    m = spec_error("[input]\nformat = aliccp\n[task t]\ncolumn = label\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 4: [task t]: column: no column named 'label'");
    m = spec_error("[input]\nformat = aliccp\n[features]\nclick = categorical\n"
                   "[task t]\ncolumn = click\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "label leakage");
    /* accepted: quoted option values with blanks, options on default, aux on a label column */
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse(H "[features]\ndefault = categorical hash=50\n"
                                   "a = categorical multi sep=\" ; \" pool=sum table=shared\n"
                                   "y = aux\n" T, "ok.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        CHECK_EQ_INT(s->default_rule.kind, MTR_COL_CATEGORICAL);
        CHECK_EQ_INT(s->default_rule.hash_buckets, 50);
        CHECK_EQ_INT(s->rules[0].multi, 1);
        CHECK(strcmp(s->rules[0].sep, " ; ") == 0);
        CHECK_EQ_INT(s->rules[0].sep_len, 3);
        CHECK(strcmp(s->rules[0].table, "shared") == 0);
        CHECK_EQ_INT(s->rules[1].kind, MTR_COL_AUX);
    }
    mtr_spec_free(s);
#undef H
#undef T
}

TEST(schema_text_v2_round_trip_and_v1_kept) {
    mtr_error err = {{0}};
    mtr_schema *s = fit_text(tags_spec, "tags.csv", tags_data, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    size_t len = 0;
    char *text = mtr_schema_serialize(s, &len);
    CHECK(text != NULL && strncmp(text, "mtrank-schema 2\n", 16) == 0);
    CHECK(text && strstr(text, "field column=1 table=0 multi=1 pool=mean sep=3b name=tags\n") != NULL);
    CHECK(text && strstr(text, "aux 1\naux column=4 name=truth\n") != NULL);
    mtr_schema *back = text ? mtr_schema_deserialize(text, len, "tags.model", &err) : NULL;
    CHECK_MSG(back != NULL, "%s", err.message);
    if (back) {
        CHECK(mtr_schema_fingerprint(back) == mtr_schema_fingerprint(s));
        CHECK_EQ_INT(mtr_schema_field_pool_mean(back, 0), 1);
        CHECK(strcmp(mtr_schema_aux_name(back, 0), "truth") == 0);
        /* the copy encodes rows exactly as the fitted schema */
        mtr_dataset *a = mtr_dataset_read_text(s, mtr_test_path("tags.csv"), 1, &err);
        mtr_dataset *b = mtr_dataset_read_text(back, mtr_test_path("tags.csv"), 1, &err);
        CHECK(a && b);
        if (a && b) {
            CHECK_EQ_INT(a->row_offsets[4], b->row_offsets[4]);
            CHECK(memcmp(a->records, b->records, a->row_offsets[4] * 4) == 0);
        }
        mtr_dataset_free(a);
        mtr_dataset_free(b);
    }
    mtr_schema_free(back);
    /* a damaged v2 line is refused */
    char *bad = text ? strstr(text, "multi=1 pool=mean") : NULL;
    if (bad) {
        memcpy(bad, "multi=7", 7);
        CHECK(mtr_schema_deserialize(text, len, "bad.model", &err) == NULL);
        CHECK_CONTAINS(err.message, "bad.model: schema line");
        CHECK_CONTAINS(err.message, "bad multi '7'");
    }
    free(text);
    mtr_schema_free(s);
    /* a schema with nothing new is still written as version 1 (so its fingerprint is unchanged) */
    s = fit_text("[input]\ncolumns = a, y\n[features]\na = categorical\n[task t]\ncolumn = y\ntype = binary\n"
                 "positive = 1\n", "plain.csv", "u,1\nv,0\n", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    text = s ? mtr_schema_serialize(s, &len) : NULL;
    CHECK(text && strncmp(text, "mtrank-schema 1\n", 16) == 0);
    CHECK(text && strstr(text, "field column=0 hash=0 min_count=1 size=4 name=a\nvalue 1 u\nvalue 1 v\n") != NULL);
    free(text);
    mtr_schema_free(s);
}

TEST(schema_synthetic_ex_multi_tables_aux) {
    static const uint32_t sizes[4] = {10, 20, 20, 7};
    static const unsigned char multi[4] = {0, 1, 1, 0}, mean[4] = {0, 1, 0, 0};
    static const int table[4] = {5, 9, 9, 5 + 100};
    static const char *const aux_names[1] = {"ptrue"};
    mtr_schema_synthetic_desc d = {.n_cat = 4, .vocab_sizes = sizes, .cat_multi = multi, .cat_pool_mean = mean,
                                   .cat_table = table, .n_num = 2, .n_tasks = 2, .n_aux = 1,
                                   .aux_names = aux_names};
    mtr_error err = {{0}};
    mtr_schema *s = mtr_schema_synthetic_ex(&d, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        CHECK_EQ_INT(mtr_schema_table_count(s), 3);
        CHECK_EQ_INT(mtr_schema_field_table(s, 2), 1);
        CHECK_EQ_INT(mtr_schema_field_table(s, 3), 2);
        CHECK(strcmp(mtr_schema_table_name(s, 1), "cat_1") == 0);
        CHECK_EQ_INT(mtr_schema_field_multi(s, 1), 1);
        CHECK_EQ_INT(mtr_schema_field_pool_mean(s, 1), 1);
        CHECK_EQ_INT(mtr_schema_field_pool_mean(s, 2), 0);
        CHECK(strcmp(mtr_schema_aux_name(s, 0), "ptrue") == 0);
        mtr_schema *copy = mtr_schema_copy(s, &err);
        CHECK_MSG(copy != NULL, "%s", err.message);
        if (copy) CHECK(mtr_schema_fingerprint(copy) == mtr_schema_fingerprint(s));
        mtr_schema_free(copy);
    }
    mtr_schema_free(s);
    static const uint32_t unequal[4] = {10, 20, 21, 7};
    d.vocab_sizes = unequal;
    CHECK(mtr_schema_synthetic_ex(&d, &err) == NULL);
    CHECK_CONTAINS(err.message, "field 'cat_2' shares table 'cat_1' but has vocabulary size 21, not 20");
    d.vocab_sizes = sizes;
    static const unsigned char mean_on_single[4] = {1, 0, 0, 0};
    d.cat_pool_mean = mean_on_single;
    CHECK(mtr_schema_synthetic_ex(&d, &err) == NULL);
    CHECK_CONTAINS(err.message, "field 'cat_0': mean pooling needs a multi-valued field");
    /* the old entry point still builds single-valued schemas written as version 1 */
    s = mtr_schema_synthetic(2, sizes, NULL, 1, NULL, 1, NULL, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    size_t len = 0;
    char *text = s ? mtr_schema_serialize(s, &len) : NULL;
    CHECK(text && strncmp(text, "mtrank-schema 1\n", 16) == 0);
    if (s) CHECK_EQ_INT(mtr_schema_table_count(s), 2);
    free(text);
    mtr_schema_free(s);
}
