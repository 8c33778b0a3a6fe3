/* test_data_spec.c - the spec parser: a full spec read field by field, then every malformed spec refused
 * with a message naming the spec file, the line and the key. */
#include <stdio.h>
#include <stdlib.h>

#include "data/spec.h"
#include "mtrank.h"
#include "test.h"

/* Parse text expected to fail; returns the message (static buffer). */
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

static const char full_spec[] =
    "# a comment line\n"
    "[input]\n"
    "delimiter = \", \"        # quoted, with a comment\n"
    "header = no\n"
    "columns = age, class_worker, item_id, \\\n"
    "          capital_gains, education, income_50k, score, years\n"
    "missing = \"?\", \"\", \"N/A\"\n"
    "trim = yes\n"
    "\n"
    "[features]\n"
    "default = categorical\n"
    "age = numeric norm=standard\n"
    "capital_gains = numeric norm=log1p_standard missing_default=0.5\n"
    "class_worker = categorical min_count=3\n"
    "item_id = categorical hash=1000\n"
    "education = ignore\n"
    "\n"
    "[task income]   # the main task\n"
    "column = income_50k\n"
    "type = binary\n"
    "positive = 50000+.\n"
    "negative = - 50000. | \"a|b\"\n"
    "\n"
    "[task adult]\n"
    "column = years\n"
    "type = binary\n"
    "at_least = 18\n"
    "\n"
    "[task score]\n"
    "column = score\n"
    "type = regression\n";

TEST(spec_parses_every_field) {
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse(full_spec, "full.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(s->delimiter_len, 2);
    CHECK(strcmp(s->delimiter, ", ") == 0);
    CHECK_EQ_INT(s->header, 0);
    CHECK_EQ_INT(s->trim, 1);
    CHECK_EQ_INT(s->columns.n, 8);
    CHECK(strcmp(s->columns.items[3], "capital_gains") == 0); /* joined across the continuation */
    CHECK(strcmp(s->columns.items[6], "score") == 0);
    CHECK_EQ_INT(s->missing.n, 3);
    CHECK(strcmp(s->missing.items[0], "?") == 0);
    CHECK_EQ_INT(s->missing.lens[1], 0);
    CHECK(strcmp(s->missing.items[2], "N/A") == 0);
    CHECK_EQ_INT(s->default_rule.kind, MTR_COL_CATEGORICAL);
    CHECK_EQ_INT(s->n_rules, 5);
    CHECK(strcmp(s->rules[0].column, "age") == 0);
    CHECK_EQ_INT(s->rules[0].kind, MTR_COL_NUMERIC);
    CHECK_EQ_INT(s->rules[0].norm, MTR_NORM_STANDARD);
    CHECK_EQ_INT(s->rules[1].norm, MTR_NORM_LOG1P_STANDARD);
    CHECK_NEAR(s->rules[1].missing_default, 0.5, 0);
    CHECK_EQ_INT(s->rules[2].min_count, 3);
    CHECK_EQ_INT(s->rules[2].hash_buckets, 0);
    CHECK_EQ_INT(s->rules[3].hash_buckets, 1000);
    CHECK_EQ_INT(s->rules[4].kind, MTR_COL_IGNORE);
    CHECK_EQ_INT(s->rules[4].line, 16);
    CHECK_EQ_INT(s->n_tasks, 3);
    const mtr_task_spec *t = &s->tasks[0];
    CHECK(strcmp(t->name, "income") == 0);
    CHECK(strcmp(t->column, "income_50k") == 0);
    CHECK_EQ_INT(t->kind, MTR_TASK_BINARY);
    CHECK_EQ_INT(t->rule, MTR_LABEL_VALUES);
    CHECK_EQ_INT(t->positive.n, 1);
    CHECK(strcmp(t->positive.items[0], "50000+.") == 0);
    CHECK_EQ_INT(t->negative.n, 2);
    CHECK(strcmp(t->negative.items[0], "- 50000.") == 0);
    CHECK(strcmp(t->negative.items[1], "a|b") == 0); /* quoted items may hold the separator */
    CHECK_EQ_INT(s->tasks[1].rule, MTR_LABEL_AT_LEAST);
    CHECK_NEAR(s->tasks[1].threshold, 18, 0);
    CHECK_EQ_INT(s->tasks[2].kind, MTR_TASK_REGRESSION);
    CHECK_EQ_INT(s->tasks[2].rule, MTR_LABEL_NUMBER);
    CHECK(strcmp(s->text, full_spec) == 0);
    CHECK(strcmp(s->origin, "full.spec") == 0);
    mtr_spec_free(s);
}

TEST(spec_defaults_and_escapes) {
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse("[input]\ncolumns = a, b\ndelimiter = \"\\t\"\n[features]\na = numeric\n"
                                 "[task t]\ncolumn = b\ntype = binary\nabove = 0.5\n",
                                 NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK(strcmp(s->delimiter, "\t") == 0);
    CHECK_EQ_INT(s->header, 0);
    CHECK_EQ_INT(s->trim, 1);
    CHECK_EQ_INT(s->missing.n, 2); /* "?" and "" */
    CHECK_EQ_INT(s->default_rule.kind, MTR_COL_IGNORE);
    CHECK_EQ_INT(s->rules[0].norm, MTR_NORM_STANDARD);
    CHECK_NEAR(s->rules[0].missing_default, 0, 0);
    CHECK_EQ_INT(s->tasks[0].rule, MTR_LABEL_ABOVE);
    CHECK(strcmp(s->origin, "<string>") == 0);
    mtr_spec_free(s);
    /* header = yes needs no column list; a '#' inside a value is kept; an empty missing list */
    s = mtr_spec_parse("[input]\nheader = yes\nmissing =\n[features]\n\"default\" = numeric\n"
                       "[task t]\ncolumn = y\ntype = binary\npositive = \"#1\" | a#b\n",
                       "h.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_EQ_INT(s->header, 1);
    CHECK_EQ_INT(s->columns.n, 0);
    CHECK_EQ_INT(s->missing.n, 0);
    CHECK_EQ_INT(s->n_rules, 1); /* a quoted key names a column called "default" */
    if (s->n_rules == 1) CHECK(strcmp(s->rules[0].column, "default") == 0);
    CHECK_EQ_INT(s->tasks[0].positive.n, 2);
    CHECK(strcmp(s->tasks[0].positive.items[0], "#1") == 0);
    CHECK(strcmp(s->tasks[0].positive.items[1], "a#b") == 0);
    mtr_spec_free(s);
}

TEST(spec_load_reads_file_and_reports_missing_file) {
    const char *path = mtr_test_write_file("load.spec", full_spec, strlen(full_spec));
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_load(path, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) CHECK(strcmp(s->origin, path) == 0);
    mtr_spec_free(s);
    const char *missing = mtr_test_path("no-such.spec");
    s = mtr_spec_load(missing, &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, missing);
    CHECK_CONTAINS(err.message, "No such file or directory");
}

#define HEAD "[input]\ncolumns = a, b, c, y\n"                          /* lines 1-2 */
#define TASK "[task t]\ncolumn = y\ntype = binary\npositive = 1\n" /* 4 lines */

TEST(spec_rejects_unknown_keys_and_sections) {
    const char *m = spec_error(HEAD "delimeter = \",\"\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "unknown key 'delimeter'");
    m = spec_error(HEAD "[featurez]\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "unknown section [featurez]");
    m = spec_error("columns = a\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 1");
    CHECK_CONTAINS(m, "outside any section");
    m = spec_error(HEAD TASK "colour = red\n");
    CHECK_CONTAINS(m, "bad.spec: line 7");
    CHECK_CONTAINS(m, "unknown key 'colour'");
    m = spec_error(HEAD "just some words\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "expected 'key = value'");
    m = spec_error(HEAD "[input]\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "duplicate section [input]");
    m = spec_error(HEAD "header = no\nheader = no\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 4");
    CHECK_CONTAINS(m, "duplicate key 'header' (first set on line 3)");
}

TEST(spec_rejects_bad_values) {
    const char *m = spec_error(HEAD "header = maybe\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "header: expected yes, no or auto, found 'maybe'");
    m = spec_error(HEAD "delimiter = \"\"\n" TASK);
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "delimiter: must not be empty");
    m = spec_error(HEAD "delimiter = \", \n" TASK);
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "unterminated quoted string");
    m = spec_error(HEAD "delimiter = \"\\q\"\n" TASK);
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "delimiter: unknown escape '\\q'");
    m = spec_error("[input]\ncolumns = a, b, a, y\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 2");
    CHECK_CONTAINS(m, "columns: duplicate column 'a' (columns 1 and 3)");
    m = spec_error("[input]\ncolumns = a, , y\n" TASK);
    CHECK_CONTAINS(m, "line 2");
    CHECK_CONTAINS(m, "column 2 has an empty name");
    m = spec_error("[input]\nheader = no\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 1");
    CHECK_CONTAINS(m, "'columns' is required when header = no");
}

TEST(spec_rejects_bad_features) {
    const char *m = spec_error(HEAD "[features]\na = numeric norm=zscore\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 4");
    CHECK_CONTAINS(m, "column 'a': unknown norm 'zscore'");
    m = spec_error(HEAD "[features]\na = numeric\nb = categorical\na = categorical\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 6");
    CHECK_CONTAINS(m, "duplicate column 'a' (first on line 4)");
    m = spec_error(HEAD "[features]\nagee = numeric\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 4");
    CHECK_CONTAINS(m, "[features]: unknown column 'agee'");
    m = spec_error(HEAD "[features]\na = text\n" TASK);
    CHECK_CONTAINS(m, "line 4");
    CHECK_CONTAINS(m, "column 'a': unknown kind 'text'");
    m = spec_error(HEAD "[features]\na = categorical hash=10 min_count=2\n" TASK);
    CHECK_CONTAINS(m, "line 4");
    CHECK_CONTAINS(m, "column 'a': min_count cannot be combined with hash");
    m = spec_error(HEAD "[features]\na = categorical norm=standard\n" TASK);
    CHECK_CONTAINS(m, "line 4");
    CHECK_CONTAINS(m, "column 'a': unknown option 'norm'");
    m = spec_error(HEAD "[features]\na = categorical min_count=0\n" TASK);
    CHECK_CONTAINS(m, "line 4");
    CHECK_CONTAINS(m, "min_count must be an integer");
    m = spec_error(HEAD "[features]\na = numeric missing_default=abc\n" TASK);
    CHECK_CONTAINS(m, "line 4");
    CHECK_CONTAINS(m, "missing_default is not a number: 'abc'");
    m = spec_error(HEAD "[features]\ndefault = numeric\ndefault = ignore\n" TASK);
    CHECK_CONTAINS(m, "line 5");
    CHECK_CONTAINS(m, "duplicate key 'default'");
}

TEST(spec_rejects_label_leakage) {
    const char *m = spec_error(HEAD "[features]\ny = categorical\n" TASK);
    CHECK_CONTAINS(m, "bad.spec: line 4");
    CHECK_CONTAINS(m, "column 'y' is the label of task 't'");
    CHECK_CONTAINS(m, "label leakage");
    /* naming the label column as ignored is fine, and so is default = categorical */
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse(HEAD "[features]\ndefault = numeric\ny = ignore\n" TASK, "ok.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_spec_free(s);
}

TEST(spec_rejects_bad_tasks) {
    const char *m = spec_error(HEAD);
    CHECK_CONTAINS(m, "bad.spec");
    CHECK_CONTAINS(m, "at least one task");
    m = spec_error(HEAD TASK "[task t]\ncolumn = a\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 7");
    CHECK_CONTAINS(m, "duplicate task 't' (first on line 3)");
    m = spec_error(HEAD "[task t]\ncolumn = zz\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 4");
    CHECK_CONTAINS(m, "[task t]: column: no column named 'zz'");
    m = spec_error(HEAD "[task t]\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "bad.spec: line 3");
    CHECK_CONTAINS(m, "missing key 'column'");
    m = spec_error(HEAD "[task t]\ncolumn = y\npositive = 1\n");
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "missing key 'type'");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = ordinal\n");
    CHECK_CONTAINS(m, "line 5");
    CHECK_CONTAINS(m, "type: expected binary or regression, found 'ordinal'");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = binary\n");
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "exactly one of 'positive', 'above' or 'at_least'");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = binary\npositive = 1\nabove = 3\n");
    CHECK_CONTAINS(m, "exactly one of");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = binary\nabove = 3\nnegative = 0\n");
    CHECK_CONTAINS(m, "line 7");
    CHECK_CONTAINS(m, "'negative' needs 'positive'");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = regression\npositive = 1\n");
    CHECK_CONTAINS(m, "line 6");
    CHECK_CONTAINS(m, "'positive' is only for binary tasks");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = binary\nabove = ten\n");
    CHECK_CONTAINS(m, "line 6");
    CHECK_CONTAINS(m, "above: not a number: 'ten'");
    m = spec_error(HEAD "[task t]\ncolumn = y\ntype = binary\npositive = 1 | 0\nnegative = 0\n");
    CHECK_CONTAINS(m, "line 7");
    CHECK_CONTAINS(m, "value '0' is both positive and negative");
    m = spec_error(HEAD "[task my task]\ncolumn = y\ntype = binary\npositive = 1\n");
    CHECK_CONTAINS(m, "line 3");
    CHECK_CONTAINS(m, "a task name is letters, digits");
}

TEST(spec_rejects_more_than_max_tasks) {
    char text[8192];
    int n = snprintf(text, sizeof text, "%s", HEAD);
    for (int t = 0; t <= MTR_MAX_TASKS; t++)
        n += snprintf(text + n, sizeof text - (size_t)n, "[task t%d]\ncolumn = y\ntype = binary\npositive = 1\n", t);
    const char *m = spec_error(text);
    char where[64];
    snprintf(where, sizeof where, "bad.spec: line %d", 3 + 4 * MTR_MAX_TASKS);
    CHECK_CONTAINS(m, where);
    CHECK_CONTAINS(m, "too many tasks (at most 16)");
    /* exactly MTR_MAX_TASKS is fine */
    n = snprintf(text, sizeof text, "%s", HEAD);
    for (int t = 0; t < MTR_MAX_TASKS; t++)
        n += snprintf(text + n, sizeof text - (size_t)n, "[task t%d]\ncolumn = y\ntype = binary\npositive = 1\n", t);
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse(text, "max.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) CHECK_EQ_INT(s->n_tasks, MTR_MAX_TASKS);
    mtr_spec_free(s);
}
