/* schema_fit.c - mtr_schema_fit: one streaming pass over the training file that counts categorical
 * values, accumulates numeric statistics and checks every label, then freezes vocabularies (ordered by
 * count, rare values dropped to OOV) and normalisation. Memory is the vocabularies plus the line buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/label.h"
#include "data/norm.h"
#include "data/schema_impl.h"
#include "data/table.h"
#include "util/error.h"
#include "util/parse_number.h"

/* Per-column accumulators for the pass. */
typedef struct fit_state {
    int n_counts;           /* entries of counts */
    mtr_vocab **counts;     /* per categorical field: value counts (NULL when hashed) */
    mtr_norm_stats *stats;  /* per numeric field */
    uint64_t *n_missing;    /* per numeric field: missing values seen */
} fit_state;

/* Column names of the training file: the spec's list, the header, or both (which must agree). */
static int training_columns(const mtr_spec *spec, const mtr_table *t, int *n, char *const **names,
                            mtr_error *err) {
    if (!spec->header) {
        *n = spec->columns.n;
        *names = spec->columns.items;
        return 0;
    }
    if (spec->columns.n > 0) {
        if (t->n_header != spec->columns.n)
            return mtr_fail(err, "%s: line %zu: the header has %d columns but %s line %d lists %d", t->path,
                            mtr_table_line(t), t->n_header, spec->origin, spec->columns_line, spec->columns.n);
        for (int c = 0; c < t->n_header; c++)
            if (strcmp(t->header[c], spec->columns.items[c]) != 0)
                return mtr_fail(err, "%s: line %zu: header column %d is '%s' but %s line %d says '%s'", t->path,
                                mtr_table_line(t), c + 1, t->header[c], spec->origin, spec->columns_line,
                                spec->columns.items[c]);
    }
    *n = t->n_header;
    *names = t->header;
    return 0;
}

/* The schema's fields from the resolved layout, statistics still empty. */
static mtr_schema *schema_skeleton(const mtr_spec *spec, int n_columns, char *const *names,
                                   const mtr_spec_layout *layout, mtr_error *err) {
    mtr_schema *s = mtr_schema_new();
    if (!s) goto oom;
    free(s->spec_text);
    size_t len = strlen(spec->text);
    s->spec_text = malloc(len + 1);
    if (!s->spec_text) goto oom;
    memcpy(s->spec_text, spec->text, len + 1);
    s->spec = mtr_spec_parse(spec->text, spec->origin, err); /* the schema owns its own copy */
    if (!s->spec) goto fail;
    s->columns = calloc((size_t)n_columns, sizeof *s->columns);
    s->cat = calloc((size_t)n_columns, sizeof *s->cat);
    s->num = calloc((size_t)n_columns, sizeof *s->num);
    if (!s->columns || !s->cat || !s->num) goto oom;
    s->n_columns = n_columns;
    for (int c = 0; c < n_columns; c++) {
        memcpy(s->columns[c], names[c], strlen(names[c]) + 1);
        const mtr_feature_rule *rule = layout->rule[c] >= 0 ? &spec->rules[layout->rule[c]] : NULL;
        if (layout->kind[c] == MTR_COL_CATEGORICAL) {
            mtr_cat_field *f = &s->cat[s->n_cat++];
            memcpy(f->name, names[c], strlen(names[c]) + 1);
            f->column = c;
            f->min_count = rule ? rule->min_count : 1;
            f->hash_buckets = rule ? rule->hash_buckets : 0;
        } else if (layout->kind[c] == MTR_COL_NUMERIC) {
            mtr_num_field *f = &s->num[s->n_num_fields++];
            memcpy(f->name, names[c], strlen(names[c]) + 1);
            f->column = c;
            f->norm = rule ? rule->norm : MTR_NORM_STANDARD;
            f->missing_default = rule ? rule->missing_default : 0.0f;
            f->scale = 1.0;
            f->flag_input = -1;
        }
    }
    s->n_tasks = spec->n_tasks;
    for (int t = 0; t < spec->n_tasks; t++) {
        mtr_task_info *ti = &s->task[t];
        memcpy(ti->name, spec->tasks[t].name, sizeof ti->name);
        ti->kind = spec->tasks[t].kind;
        ti->column = layout->task_column[t];
        ti->rule = &s->spec->tasks[t];
    }
    return s;
oom:
    mtr_fail(err, "%s: out of memory", spec->origin);
fail:
    mtr_schema_free(s);
    return NULL;
}

static int fit_row(mtr_schema *s, fit_state *st, mtr_table *t, mtr_error *err) {
    const mtr_field *fields = t->fields;
    size_t line = mtr_table_line(t);
    if (t->n_fields != s->n_columns)
        return mtr_fail(err, "%s: line %zu: expected %d columns, found %d", t->path, line, s->n_columns,
                        t->n_fields);
    for (int i = 0; i < s->n_cat; i++) {
        if (!st->counts[i]) continue;
        const mtr_field *v = &fields[s->cat[i].column];
        if (mtr_table_is_missing(t, v)) continue;
        int64_t idx = mtr_vocab_intern(st->counts[i], v->s, v->len);
        if (idx < 0)
            return mtr_fail(err, "%s: line %zu: column '%s': out of memory for the vocabulary", t->path, line,
                            s->cat[i].name);
        mtr_vocab_add_count(st->counts[i], (uint32_t)idx, 1);
    }
    for (int i = 0; i < s->n_num_fields; i++) {
        const mtr_num_field *f = &s->num[i];
        const mtr_field *v = &fields[f->column];
        if (mtr_table_is_missing(t, v)) {
            st->n_missing[i]++;
            continue;
        }
        double x;
        if (mtr_parse_double(v->s, v->len, &x) != 0) {
            char q[64];
            return mtr_fail(err, "%s: line %zu: column '%s' is not a number: '%s'", t->path, line, f->name,
                            mtr_quote_value(q, sizeof q, v->s, v->len));
        }
        mtr_norm_stats_add(&st->stats[i], f->norm, x);
    }
    for (int k = 0; k < s->n_tasks; k++) {
        const mtr_task_info *task = &s->task[k];
        const mtr_field *v = &fields[task->column];
        float y;
        mtr_label_status ls = mtr_label_value(task->rule, v, mtr_table_is_missing(t, v), &y);
        if (ls != MTR_LABEL_OK) return mtr_label_fail(err, ls, task->rule, v, t->path, line);
    }
    return 0;
}

/* Freeze vocabularies and statistics; flagged[i] = numeric field i had missing values. */
static int fit_finish(mtr_schema *s, fit_state *st, int *flagged, const char *path, mtr_error *err) {
    for (int i = 0; i < s->n_cat; i++) {
        mtr_cat_field *f = &s->cat[i];
        if (f->hash_buckets) {
            f->size = 2u + f->hash_buckets;
            continue;
        }
        f->vocab = mtr_vocab_ranked(st->counts[i], f->min_count, err);
        if (!f->vocab) return mtr_fail_prefix(err, "%s: column '%s'", path, f->name);
        f->size = 2u + mtr_vocab_size(f->vocab);
    }
    for (int i = 0; i < s->n_num_fields; i++) {
        mtr_num_field *f = &s->num[i];
        mtr_norm_finish(f->norm, &st->stats[i], &f->shift, &f->scale);
        if (!isfinite(f->shift) || !isfinite(f->scale) || f->scale == 0)
            return mtr_fail(err, "%s: column '%s': values too large to normalise with norm=%s", path, f->name,
                            mtr_norm_name(f->norm));
        flagged[i] = st->n_missing[i] > 0;
    }
    return 0;
}

mtr_schema *mtr_schema_fit(const mtr_spec *spec, const char *train_path, mtr_error *err) {
    mtr_table table;
    mtr_spec_layout layout = {0};
    mtr_schema *s = NULL;
    fit_state st = {0};
    int *flagged = NULL;
    if (!spec || !train_path) {
        mtr_fail(err, "mtr_schema_fit: no spec or no training file given");
        return NULL;
    }
    if (mtr_table_open(&table, spec, train_path, err) != 0) return NULL;
    int n_columns = 0;
    char *const *names = NULL;
    if (training_columns(spec, &table, &n_columns, &names, err) != 0) goto fail;
    if (mtr_spec_resolve(spec, n_columns, names, &layout, err) != 0) {
        if (spec->header && spec->columns.n == 0)
            mtr_fail_prefix(err, "%s: line 1 (header)", train_path);
        goto fail;
    }
    s = schema_skeleton(spec, n_columns, names, &layout, err);
    if (!s) goto fail;
    st.counts = calloc((size_t)(s->n_cat ? s->n_cat : 1), sizeof *st.counts);
    st.stats = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *st.stats);
    st.n_missing = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *st.n_missing);
    flagged = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *flagged);
    if (!st.counts || !st.stats || !st.n_missing || !flagged) goto oom;
    st.n_counts = s->n_cat;
    for (int i = 0; i < s->n_cat; i++)
        if (!s->cat[i].hash_buckets && !(st.counts[i] = mtr_vocab_create())) goto oom;
    table.store_limit = n_columns;
    int rc;
    size_t rows = 0;
    while ((rc = mtr_table_next(&table, err)) == 1) {
        if (fit_row(s, &st, &table, err) != 0) goto fail;
        rows++;
    }
    if (rc < 0) goto fail;
    if (rows == 0) {
        mtr_fail(err, "%s: empty file (no data rows)", train_path);
        goto fail;
    }
    if (fit_finish(s, &st, flagged, train_path, err) != 0 || mtr_schema_finish(s, flagged, err) != 0) goto fail;
    goto done;
oom:
    mtr_fail(err, "%s: out of memory", train_path);
fail:
    mtr_schema_free(s);
    s = NULL;
done:
    for (int i = 0; i < st.n_counts; i++) mtr_vocab_free(st.counts[i]);
    free(st.counts);
    free(st.stats);
    free(st.n_missing);
    free(flagged);
    mtr_spec_layout_free(&layout);
    mtr_table_close(&table);
    return s;
}
