/* encode.c - text rows to records; see encode.h. The per-value rules (OOV and missing ids, hashing,
 * normalisation, missing flags, labels) are those of docs/spec-format.md. */
#include "data/encode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/label.h"
#include "data/norm.h"
#include "util/checksum.h"
#include "util/error.h"
#include "util/parse_number.h"

enum { ROLE_INPUT = 1, ROLE_LABEL = 2 };

/* Per schema column: ROLE_INPUT and/or ROLE_LABEL bits (a column is never both in a fitted schema). */
static unsigned char *column_roles(const mtr_schema *s) {
    unsigned char *role = calloc((size_t)(s->n_columns ? s->n_columns : 1), 1);
    if (!role) return NULL;
    for (int i = 0; i < s->n_cat; i++) role[s->cat[i].column] |= ROLE_INPUT;
    for (int i = 0; i < s->n_num_fields; i++) role[s->num[i].column] |= ROLE_INPUT;
    for (int t = 0; t < s->n_tasks; t++) role[s->task[t].column] |= ROLE_LABEL;
    return role;
}

/* header = yes: find each needed column by name. */
static int map_header(mtr_encoder *e, const unsigned char *role, const char *path, mtr_error *err) {
    const mtr_schema *s = e->schema;
    mtr_table *t = &e->table;
    mtr_vocab *index = mtr_vocab_create();
    if (!index) return mtr_fail(err, "%s: out of memory", path);
    for (int i = 0; i < t->n_header; i++) {
        uint32_t before = mtr_vocab_size(index);
        int64_t idx = mtr_vocab_intern(index, t->header[i], strlen(t->header[i]));
        if (idx < 0 || mtr_vocab_size(index) == before) {
            mtr_vocab_free(index);
            if (idx < 0) return mtr_fail(err, "%s: out of memory", path);
            return mtr_fail(err, "%s: line %zu: header: duplicate column name '%s' (columns %d and %d)", path,
                            mtr_table_line(t), t->header[i], (int)idx + 1, i + 1);
        }
    }
    int rc = 0;
    for (int c = 0; c < s->n_columns && rc == 0; c++) {
        e->pos[c] = -1;
        if (!role[c]) continue;
        int64_t idx = mtr_vocab_find(index, s->columns[c], strlen(s->columns[c]));
        e->pos[c] = (int)idx;
        if (idx >= 0) continue;
        if (role[c] & ROLE_INPUT)
            rc = mtr_fail(err, "%s: line %zu: header has no column '%s' (an input of the schema)", path,
                          mtr_table_line(t), s->columns[c]);
        else if (e->labels_required)
            rc = mtr_fail(err, "%s: line %zu: header has no column '%s' (a label column)", path,
                          mtr_table_line(t), s->columns[c]);
    }
    mtr_vocab_free(index);
    e->n_expected = t->n_header;
    return rc;
}

int mtr_encoder_open(mtr_encoder *e, const mtr_schema *s, const char *path, int labels_required,
                     mtr_error *err) {
    memset(e, 0, sizeof *e);
    if (!s->spec)
        return mtr_fail(err, "%s: the schema has no spec (it describes generated data), so it cannot read text "
                             "files", path);
    e->schema = s;
    e->labels_required = labels_required;
    e->pos = malloc((size_t)(s->n_columns ? s->n_columns : 1) * sizeof *e->pos);
    e->pos_unlabelled = malloc((size_t)(s->n_columns ? s->n_columns : 1) * sizeof *e->pos_unlabelled);
    if (!e->pos || !e->pos_unlabelled) {
        mtr_encoder_close(e);
        return mtr_fail(err, "%s: out of memory", path);
    }
    if (mtr_table_open(&e->table, s->spec, path, err) != 0) {
        mtr_encoder_close(e);
        return -1;
    }
    unsigned char *role = column_roles(s);
    if (!role) {
        mtr_encoder_close(e);
        return mtr_fail(err, "%s: out of memory", path);
    }
    int rc = 0;
    if (s->spec->header) {
        rc = map_header(e, role, path, err);
    } else {
        int k = 0;
        for (int c = 0; c < s->n_columns; c++) {
            e->pos[c] = c;
            e->pos_unlabelled[c] = role[c] & ROLE_LABEL ? -1 : k++;
        }
        e->n_full = s->n_columns;
        e->n_unlabelled = k;
        e->n_expected = labels_required ? s->n_columns : 0;
    }
    free(role);
    if (rc != 0) {
        mtr_encoder_close(e);
        return -1;
    }
    e->table.store_limit = s->spec->header ? e->table.n_header : s->n_columns;
    return 0;
}

void mtr_encoder_close(mtr_encoder *e) {
    if (e->table.lr) mtr_table_close(&e->table);
    free(e->pos);
    free(e->pos_unlabelled);
    memset(e, 0, sizeof *e);
}

static uint32_t categorical_id(const mtr_cat_field *f, const mtr_field *v, int missing) {
    if (missing) return MTR_ID_MISSING;
    if (f->hash_buckets) return 2u + (uint32_t)(mtr_fnv1a64(MTR_FNV1A64_INIT, v->s, v->len) % f->hash_buckets);
    int64_t idx = mtr_vocab_find(f->vocab, v->s, v->len);
    return idx < 0 ? MTR_ID_OOV : (uint32_t)idx + 2u;
}

static uint32_t float_word(float x) {
    uint32_t w;
    memcpy(&w, &x, sizeof w);
    return w;
}

int mtr_encoder_next(mtr_encoder *e, uint32_t *record, mtr_error *err) {
    mtr_table *t = &e->table;
    const mtr_schema *s = e->schema;
    int rc = mtr_table_next(t, err);
    if (rc != 1) return rc;
    const char *path = t->path;
    size_t line = mtr_table_line(t);
    if (e->n_expected == 0) { /* header = no, labels optional: the first row says which layout */
        if (t->n_fields == e->n_unlabelled) {
            int *p = e->pos;
            e->pos = e->pos_unlabelled;
            e->pos_unlabelled = p;
            e->n_expected = e->n_unlabelled;
        } else if (t->n_fields == e->n_full) {
            e->n_expected = e->n_full;
        } else {
            return mtr_fail(err, "%s: line %zu: expected %d columns (or %d without the label columns), found %d",
                            path, line, e->n_full, e->n_unlabelled, t->n_fields);
        }
    }
    if (t->n_fields != e->n_expected)
        return mtr_fail(err, "%s: line %zu: expected %d columns, found %d", path, line, e->n_expected,
                        t->n_fields);
    const mtr_field *fields = t->fields;
    for (int i = 0; i < s->n_cat; i++) {
        const mtr_field *v = &fields[e->pos[s->cat[i].column]];
        record[i] = categorical_id(&s->cat[i], v, mtr_table_is_missing(t, v));
    }
    uint32_t *num = record + s->n_cat;
    for (int i = 0; i < s->n_num_fields; i++) {
        const mtr_num_field *f = &s->num[i];
        const mtr_field *v = &fields[e->pos[f->column]];
        int missing = mtr_table_is_missing(t, v);
        double x = 0.0;
        float y = f->missing_default;
        if (!missing) {
            if (mtr_parse_double(v->s, v->len, &x) != 0) {
                char q[64];
                return mtr_fail(err, "%s: line %zu: column '%s' is not a number: '%s'", path, line, f->name,
                                mtr_quote_value(q, sizeof q, v->s, v->len));
            }
            y = (float)mtr_norm_apply(f->norm, f->shift, f->scale, x);
            if (!isfinite(y))
                return mtr_fail(err, "%s: line %zu: column '%s': value %.9g is out of range once normalised",
                                path, line, f->name, x);
        }
        num[i] = float_word(y);
        if (f->flag_input >= 0) num[f->flag_input] = float_word(missing ? 1.0f : 0.0f);
    }
    uint32_t *labels = num + s->n_num;
    for (int k = 0; k < s->n_tasks; k++) {
        const mtr_task_info *task = &s->task[k];
        int p = e->pos[task->column];
        float y = NAN;
        if (p >= 0) {
            const mtr_field *v = &fields[p];
            mtr_label_status st = mtr_label_value(task->rule, v, mtr_table_is_missing(t, v), &y);
            if (st != MTR_LABEL_OK) return mtr_label_fail(err, st, task->rule, v, path, line);
        }
        labels[k] = float_word(y);
    }
    return 1;
}
