/* schema_fit.c - mtr_schema_fit: one streaming pass over the training file that counts categorical
 * values (every value of a multi-valued column, every id of an aliccp field; fields sharing a table count
 * into one vocabulary), accumulates numeric statistics and checks every label and aux value, then freezes
 * vocabularies (ordered by count, rare values dropped to OOV) and normalisation. aliccp fields the spec
 * does not declare are discovered here, in order of first appearance. Memory is the vocabularies plus
 * the line buffer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/label.h"
#include "data/norm.h"
#include "data/schema_impl.h"
#include "data/table.h"
#include "util/error.h"
#include "util/parse_number.h"

/* Accumulators for the pass, and the registries that grow as fields and tables appear. */
typedef struct fit_state {
    const mtr_spec *spec;        /* the spec being fitted */
    mtr_vocab *table_index;      /* table name -> table number */
    int *table_first;            /* per table: its first field (for messages) */
    mtr_vocab **counts;          /* per table: value counts over all its fields (NULL when hashed) */
    int tables_cap;              /* allocated entries of schema->tables, table_first and counts */
    int n_counts;                /* entries of counts set (they outlive a schema freed on failure) */
    int cat_cap;                 /* allocated entries of schema->cat */
    mtr_norm_stats *stats;       /* per numeric field */
    uint64_t *n_missing;         /* per numeric field: missing values seen */
    mtr_vocab *tokens;           /* aliccp: token field name -> entry */
    int *token_field;            /* per entry: categorical field index, or -1 (ignored field) */
    int token_cap;               /* allocated entries of token_field */
} fit_state;

/* "<spec>: line N: " for a rule's messages, or "<spec>: " for the built-in default. */
static const char *rule_where(char *buf, size_t cap, const mtr_spec *spec, const mtr_feature_rule *r) {
    if (r->line > 0) snprintf(buf, cap, "%s: line %d: ", spec->origin, r->line);
    else snprintf(buf, cap, "%s: ", spec->origin);
    return buf;
}

/* Append a categorical field (column -1: an aliccp token field) following `rule`, and put it in its table:
 * the rule's `table=` name or its own name, created on first use. Returns the field index or -1. */
static int add_cat_field(mtr_schema *s, fit_state *st, const char *name, size_t name_len, int column,
                         const mtr_feature_rule *rule, mtr_error *err) {
    const mtr_spec *spec = st->spec;
    char where[600];
    if (s->n_cat == MTR_MAX_COLUMNS)
        return mtr_fail(err, "%s: more than %d categorical fields", spec->origin, MTR_MAX_COLUMNS);
    if (s->n_cat == st->cat_cap) {
        int cap = st->cat_cap ? st->cat_cap * 2 : 64;
        mtr_cat_field *cat = realloc(s->cat, (size_t)cap * sizeof *cat);
        if (!cat) return mtr_fail(err, "%s: out of memory", spec->origin);
        s->cat = cat;
        st->cat_cap = cap;
    }
    int i = s->n_cat;
    mtr_cat_field *f = &s->cat[i];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, name_len);
    f->name[name_len] = '\0';
    f->column = column;
    f->multi = column < 0 || rule->multi;
    f->pool_mean = f->multi && rule->pool_mean;
    memcpy(f->sep, rule->sep, sizeof f->sep);
    f->sep_len = rule->sep_len;
    const char *tname = rule->table[0] ? rule->table : f->name;
    uint32_t before = mtr_vocab_size(st->table_index);
    int64_t t = mtr_vocab_intern(st->table_index, tname, strlen(tname));
    if (t < 0) return mtr_fail(err, "%s: out of memory", spec->origin);
    if (mtr_vocab_size(st->table_index) != before) {
        if (s->n_tables == st->tables_cap) {
            int cap = st->tables_cap ? st->tables_cap * 2 : 64;
            mtr_cat_table *tables = realloc(s->tables, (size_t)cap * sizeof *tables);
            if (tables) s->tables = tables;
            int *first = realloc(st->table_first, (size_t)cap * sizeof *first);
            if (first) st->table_first = first;
            mtr_vocab **counts = realloc(st->counts, (size_t)cap * sizeof *counts);
            if (counts) st->counts = counts;
            if (!tables || !first || !counts) return mtr_fail(err, "%s: out of memory", spec->origin);
            st->tables_cap = cap;
        }
        mtr_cat_table *tb = &s->tables[t];
        memset(tb, 0, sizeof *tb);
        snprintf(tb->name, sizeof tb->name, "%s", tname);
        tb->hash_buckets = rule->hash_buckets;
        tb->min_count = rule->min_count;
        st->table_first[t] = i;
        st->counts[t] = NULL;
        st->n_counts = (int)t + 1;
        s->n_tables++;
        if (!rule->hash_buckets && !(st->counts[t] = mtr_vocab_create()))
            return mtr_fail(err, "%s: out of memory", spec->origin);
    } else {
        const mtr_cat_table *tb = &s->tables[t];
        if (tb->hash_buckets != rule->hash_buckets || tb->min_count != rule->min_count)
            return mtr_fail(err, "%s[features]: field '%s' shares table '%s' with field '%s' but not its options "
                                 "(hash=%u min_count=%u there, hash=%u min_count=%u here)",
                            rule_where(where, sizeof where, spec, rule), f->name, tb->name,
                            s->cat[st->table_first[t]].name, tb->hash_buckets, tb->min_count, rule->hash_buckets,
                            rule->min_count);
    }
    f->table = (int)t;
    s->n_cat++;
    return i;
}

/* aliccp: register a token field name; `field` is its categorical field or -1 when ignored. */
static int add_token_name(fit_state *st, const char *name, size_t len, int field, mtr_error *err) {
    int64_t e = mtr_vocab_intern(st->tokens, name, len);
    if (e < 0) return mtr_fail(err, "%s: out of memory", st->spec->origin);
    if (e >= st->token_cap) {
        int cap = st->token_cap ? st->token_cap * 2 : 64;
        int *tf = realloc(st->token_field, (size_t)cap * sizeof *tf);
        if (!tf) return mtr_fail(err, "%s: out of memory", st->spec->origin);
        st->token_field = tf;
        st->token_cap = cap;
    }
    st->token_field[e] = field;
    return 0;
}

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

/* The schema's fields from the resolved layout, statistics still empty: column fields in column order,
 * then the aliccp token fields the spec declares, in spec order. */
static mtr_schema *schema_skeleton(const mtr_spec *spec, int n_columns, char *const *names,
                                   const mtr_spec_layout *layout, fit_state *st, mtr_error *err) {
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
    s->num = calloc((size_t)n_columns, sizeof *s->num);
    s->aux = calloc((size_t)n_columns, sizeof *s->aux);
    if (!s->columns || !s->num || !s->aux) goto oom;
    s->n_columns = n_columns;
    for (int c = 0; c < n_columns; c++) {
        memcpy(s->columns[c], names[c], strlen(names[c]) + 1);
        const mtr_feature_rule *rule = mtr_layout_rule(spec, layout, c);
        if (layout->kind[c] == MTR_COL_CATEGORICAL) {
            if (add_cat_field(s, st, names[c], strlen(names[c]), c, rule, err) < 0) goto fail;
        } else if (layout->kind[c] == MTR_COL_NUMERIC) {
            mtr_num_field *f = &s->num[s->n_num_fields++];
            memcpy(f->name, names[c], strlen(names[c]) + 1);
            f->column = c;
            f->norm = rule->norm;
            f->missing_default = rule->missing_default;
            f->scale = 1.0;
            f->flag_input = -1;
        } else if (layout->kind[c] == MTR_COL_AUX) {
            mtr_aux_field *a = &s->aux[s->n_aux++];
            memcpy(a->name, names[c], strlen(names[c]) + 1);
            a->column = c;
        }
    }
    for (int k = 0; k < layout->n_token_rules; k++) {
        const mtr_feature_rule *rule = &spec->rules[layout->token_rule[k]];
        int field = -1;
        if (rule->kind == MTR_COL_CATEGORICAL &&
            (field = add_cat_field(s, st, rule->column, strlen(rule->column), -1, rule, err)) < 0)
            goto fail;
        if (add_token_name(st, rule->column, strlen(rule->column), field, err) != 0) goto fail;
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

static inline int count_value(fit_state *st, int table, const mtr_field *v) {
    mtr_vocab *counts = st->counts[table];
    if (!counts) return 0; /* hashed */
    int64_t idx = mtr_vocab_intern(counts, v->s, v->len);
    if (idx < 0) return -1;
    mtr_vocab_add_count(counts, (uint32_t)idx, 1);
    return 0;
}

/* The values of the column fields (single- and multi-valued); *n_ids gets the ids the row will hold. */
static int fit_columns(mtr_schema *s, fit_state *st, mtr_table *t, size_t *n_ids, mtr_error *err) {
    const mtr_field *fields = t->fields;
    size_t ids = 0;
    for (int i = 0; i < s->n_cat && s->cat[i].column >= 0; i++) {
        const mtr_cat_field *f = &s->cat[i];
        const mtr_field *v = &fields[f->column];
        if (!f->multi) {
            ids++;
            if (!mtr_table_is_missing(t, v) && count_value(st, f->table, v) != 0) goto oom;
            continue;
        }
        mtr_field item;
        size_t pos = 0;
        while (mtr_next_item(v, f->sep, f->sep_len, t->spec->trim, &pos, &item)) {
            ids++;
            if (!mtr_table_is_missing(t, &item) && count_value(st, f->table, &item) != 0) goto oom;
        }
    }
    *n_ids += ids;
    return 0;
oom:
    return mtr_fail(err, "%s: line %zu: out of memory for the vocabularies", t->path, mtr_table_line(t));
}

/* aliccp: the field:id tokens after the leading columns; new field names become fields (default =
 * categorical) or are remembered as ignored. */
static int fit_tokens(mtr_schema *s, fit_state *st, mtr_table *t, size_t *n_ids, mtr_error *err) {
    const mtr_spec *spec = st->spec;
    size_t line = mtr_table_line(t);
    const char *last = NULL; /* tokens of one field usually come together: look a name up once per run */
    size_t last_len = 0;
    int64_t e = -1;
    for (int k = MTR_ALICCP_LEADING; k < t->n_fields; k++) {
        const mtr_field *tok = &t->fields[k];
        mtr_field name, id;
        if (mtr_split_token(tok, &name, &id) != 0) return mtr_token_fail(err, t->path, line, k, tok);
        if (last && name.len == last_len && memcmp(name.s, last, name.len) == 0) goto known;
        last = name.s;
        last_len = name.len;
        e = mtr_vocab_find(st->tokens, name.s, name.len);
        if (e < 0) {
            char q[64];
            if (name.len >= MTR_MAX_NAME)
                return mtr_fail(err, "%s: line %zu: token %d (column %d): field name '%s' is longer than %d bytes",
                                t->path, line, k - MTR_ALICCP_LEADING + 1, k + 1,
                                mtr_quote_value(q, sizeof q, name.s, name.len), MTR_MAX_NAME - 1);
            for (int c = 0; c < MTR_ALICCP_LEADING; c++)
                if (strlen(mtr_aliccp_columns[c]) == name.len && memcmp(mtr_aliccp_columns[c], name.s, name.len) == 0)
                    return mtr_fail(err, "%s: line %zu: token %d (column %d): field '%s' has the name of a leading "
                                         "column", t->path, line, k - MTR_ALICCP_LEADING + 1, k + 1,
                                    mtr_aliccp_columns[c]);
            int field = -1;
            if (spec->default_rule.kind == MTR_COL_CATEGORICAL &&
                (field = add_cat_field(s, st, name.s, name.len, -1, &spec->default_rule, err)) < 0)
                return mtr_fail_prefix(err, "%s: line %zu", t->path, line);
            if (add_token_name(st, name.s, name.len, field, err) != 0) return -1;
            e = (int64_t)mtr_vocab_size(st->tokens) - 1;
        }
    known:;
        int field = st->token_field[e];
        if (field < 0) continue;
        ++*n_ids;
        if (count_value(st, s->cat[field].table, &id) != 0)
            return mtr_fail(err, "%s: line %zu: out of memory for the vocabularies", t->path, line);
    }
    return 0;
}

static int fit_row(mtr_schema *s, fit_state *st, mtr_table *t, mtr_error *err) {
    const mtr_field *fields = t->fields;
    size_t line = mtr_table_line(t);
    int aliccp = st->spec->format == MTR_FORMAT_ALICCP;
    if (aliccp ? t->n_fields < MTR_ALICCP_LEADING : t->n_fields != s->n_columns)
        return mtr_fail(err, aliccp ? "%s: line %zu: expected at least %d columns (sample_id, click, purchase), "
                                      "found %d"
                                    : "%s: line %zu: expected %d columns, found %d",
                        t->path, line, s->n_columns, t->n_fields);
    size_t n_ids = 0;
    if (fit_columns(s, st, t, &n_ids, err) != 0) return -1;
    if (aliccp && fit_tokens(s, st, t, &n_ids, err) != 0) return -1;
    if (n_ids > MTR_MAX_ROW_IDS)
        return mtr_fail(err, "%s: line %zu: %zu categorical ids in one row (at most %u)", t->path, line, n_ids,
                        MTR_MAX_ROW_IDS);
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
    for (int i = 0; i < s->n_aux; i++) {
        const mtr_field *v = &fields[s->aux[i].column];
        float x;
        if (!mtr_table_is_missing(t, v) && mtr_parse_float(v->s, v->len, &x) != 0) {
            char q[64];
            return mtr_fail(err, "%s: line %zu: column '%s' (aux) is not a number: '%s'", t->path, line,
                            s->aux[i].name, mtr_quote_value(q, sizeof q, v->s, v->len));
        }
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
    for (int i = 0; i < s->n_tables; i++) {
        mtr_cat_table *tb = &s->tables[i];
        if (tb->hash_buckets) {
            tb->size = 2u + tb->hash_buckets;
            continue;
        }
        tb->vocab = mtr_vocab_ranked(st->counts[i], tb->min_count, err);
        if (!tb->vocab)
            return mtr_fail_prefix(err, "%s: %s '%s'", path, s->cat[st->table_first[i]].column >= 0 ? "column" : "field",
                                   tb->name);
        if (mtr_vocab_size(tb->vocab) > MTR_VOCAB_MAX_ENTRIES - 2)
            return mtr_fail(err, "%s: table '%s': too many values", path, tb->name);
        tb->size = 2u + mtr_vocab_size(tb->vocab);
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

static void fit_state_free(fit_state *st) {
    for (int i = 0; i < st->n_counts; i++) mtr_vocab_free(st->counts[i]);
    free(st->counts);
    free(st->table_first);
    free(st->stats);
    free(st->n_missing);
    mtr_vocab_free(st->table_index);
    mtr_vocab_free(st->tokens);
    free(st->token_field);
}

mtr_schema *mtr_schema_fit(const mtr_spec *spec, const char *train_path, mtr_error *err) {
    mtr_table table;
    mtr_spec_layout layout = {0};
    mtr_schema *s = NULL;
    fit_state st = {.spec = spec};
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
    st.table_index = mtr_vocab_create();
    st.tokens = mtr_vocab_create();
    if (!st.table_index || !st.tokens) goto oom;
    s = schema_skeleton(spec, n_columns, names, &layout, &st, err);
    if (!s) goto fail;
    st.stats = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *st.stats);
    st.n_missing = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *st.n_missing);
    flagged = calloc((size_t)(s->n_num_fields ? s->n_num_fields : 1), sizeof *flagged);
    if (!st.stats || !st.n_missing || !flagged) goto oom;
    table.store_limit = spec->format == MTR_FORMAT_ALICCP ? MTR_MAX_COLUMNS : n_columns;
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
    fit_state_free(&st);
    free(flagged);
    mtr_spec_layout_free(&layout);
    mtr_table_close(&table);
    return s;
}
