/* encode.c - text rows to records; see encode.h. The per-value rules (OOV and missing ids, hashing,
 * multi-valued columns, aliccp tokens, normalisation, missing flags, labels, aux values) are those of
 * docs/spec-format.md; the record layout is dataset.h's. */
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

enum { ROLE_INPUT = 1, ROLE_LABEL = 2, ROLE_AUX = 4 };

/* Per schema column: ROLE_* bits (an input column is never a label; an aux column may be one). */
static unsigned char *column_roles(const mtr_schema *s) {
    unsigned char *role = calloc((size_t)(s->n_columns ? s->n_columns : 1), 1);
    if (!role) return NULL;
    for (int i = 0; i < s->n_cat; i++)
        if (s->cat[i].column >= 0) role[s->cat[i].column] |= ROLE_INPUT;
    for (int i = 0; i < s->n_num_fields; i++) role[s->num[i].column] |= ROLE_INPUT;
    for (int i = 0; i < s->n_aux; i++) role[s->aux[i].column] |= ROLE_AUX;
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
            rc = mtr_fail(err, "%s: line %zu: header has no column '%s' (%s)", path, mtr_table_line(t),
                          s->columns[c], role[c] & ROLE_LABEL ? "a label column" : "an aux column");
    }
    mtr_vocab_free(index);
    e->n_expected = t->n_header;
    return rc;
}

/* Record slots of the fields, the row buffer and, for aliccp, the token field names. */
static int plan_record(mtr_encoder *e, const char *path, mtr_error *err) {
    const mtr_schema *s = e->schema;
    int n = s->n_cat ? s->n_cat : 1;
    e->slot = malloc((size_t)n * sizeof *e->slot);
    e->multi_field = malloc((size_t)n * sizeof *e->multi_field);
    e->cursor = malloc((size_t)n * sizeof *e->cursor);
    e->token_multi = malloc((size_t)n * sizeof *e->token_multi);
    e->token_fields = mtr_vocab_create();
    if (!e->slot || !e->multi_field || !e->cursor || !e->token_multi || !e->token_fields) goto oom;
    for (int i = 0; i < s->n_cat; i++) {
        const mtr_cat_field *f = &s->cat[i];
        e->n_column_fields += f->column >= 0;
        if (!f->multi) {
            e->slot[i] = e->n_single++;
            continue;
        }
        e->slot[i] = e->n_multi;
        e->multi_field[e->n_multi] = i;
        if (f->column >= 0) {
            e->n_column_multi++;
        } else {
            int64_t idx = mtr_vocab_intern(e->token_fields, f->name, strlen(f->name));
            if (idx < 0) goto oom;
            e->token_multi[idx] = e->n_multi;
        }
        e->n_multi++;
    }
    e->fixed_words = (size_t)e->n_single + (size_t)s->n_num + (size_t)s->n_tasks + (size_t)s->n_aux +
                     (size_t)e->n_multi;
    e->record_cap = e->fixed_words + (e->n_multi ? 1024 : 0) + 1;
    e->record = malloc(e->record_cap * sizeof *e->record);
    if (!e->record) goto oom;
    return 0;
oom:
    return mtr_fail(err, "%s: out of memory", path);
}

int mtr_encoder_open(mtr_encoder *e, const mtr_schema *s, const char *path, int labels_required,
                     mtr_error *err) {
    memset(e, 0, sizeof *e);
    if (!s->spec)
        return mtr_fail(err, "%s: the schema has no spec (it describes generated data), so it cannot read text "
                             "files", path);
    e->schema = s;
    e->labels_required = labels_required;
    e->aliccp = s->spec->format == MTR_FORMAT_ALICCP;
    e->pos = malloc((size_t)(s->n_columns ? s->n_columns : 1) * sizeof *e->pos);
    e->pos_unlabelled = malloc((size_t)(s->n_columns ? s->n_columns : 1) * sizeof *e->pos_unlabelled);
    if (!e->pos || !e->pos_unlabelled) {
        mtr_encoder_close(e);
        return mtr_fail(err, "%s: out of memory", path);
    }
    if (plan_record(e, path, err) != 0 || mtr_table_open(&e->table, s->spec, path, err) != 0) {
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
        /* aliccp lines always carry their three leading columns, labels or not */
        e->n_expected = labels_required || e->aliccp ? s->n_columns : 0;
    }
    free(role);
    if (rc != 0) {
        mtr_encoder_close(e);
        return -1;
    }
    e->table.store_limit = e->aliccp ? MTR_MAX_COLUMNS : s->spec->header ? e->table.n_header : s->n_columns;
    return 0;
}

void mtr_encoder_close(mtr_encoder *e) {
    if (e->table.lr) mtr_table_close(&e->table);
    free(e->pos);
    free(e->pos_unlabelled);
    free(e->slot);
    free(e->multi_field);
    free(e->cursor);
    free(e->token_multi);
    mtr_vocab_free(e->token_fields);
    free(e->tokens);
    free(e->record);
    memset(e, 0, sizeof *e);
}

static inline uint32_t categorical_id(const mtr_cat_table *t, const mtr_field *v, int missing) {
    if (missing) return MTR_ID_MISSING;
    if (t->hash_buckets) return 2u + (uint32_t)(mtr_fnv1a64(MTR_FNV1A64_INIT, v->s, v->len) % t->hash_buckets);
    int64_t idx = mtr_vocab_find(t->vocab, v->s, v->len);
    return idx < 0 ? MTR_ID_OOV : (uint32_t)idx + 2u;
}

static uint32_t float_word(float x) {
    uint32_t w;
    memcpy(&w, &x, sizeof w);
    return w;
}

/* Room for `need` words in the row buffer, which never holds more than MTR_MAX_ROW_IDS ids. */
static int reserve(mtr_encoder *e, size_t need, mtr_error *err) {
    if (need <= e->record_cap) return 0;
    if (need > e->fixed_words + MTR_MAX_ROW_IDS)
        return mtr_fail(err, "%s: line %zu: more than %u categorical ids in one row", e->table.path,
                        mtr_table_line(&e->table), MTR_MAX_ROW_IDS);
    size_t cap = e->record_cap * 2 > need ? e->record_cap * 2 : need;
    if (cap > e->fixed_words + MTR_MAX_ROW_IDS) cap = e->fixed_words + MTR_MAX_ROW_IDS;
    uint32_t *r = realloc(e->record, cap * sizeof *r);
    if (!r) return mtr_fail(err, "%s: line %zu: out of memory", e->table.path, mtr_table_line(&e->table));
    e->record = r;
    e->record_cap = cap;
    return 0;
}

/* aliccp: place the ids of the field:id tokens, grouped by field in field order, at e->record + *at.
 * Pass 1 finds each token's field and counts; pass 2 writes each id at its field's cursor. */
static int encode_tokens(mtr_encoder *e, size_t *at, mtr_error *err) {
    const mtr_schema *s = e->schema;
    mtr_table *t = &e->table;
    int n_tok = t->n_fields - MTR_ALICCP_LEADING;
    if (n_tok > e->tokens_cap) {
        int cap = e->tokens_cap ? e->tokens_cap : 1024;
        while (cap < n_tok) cap *= 2;
        mtr_token_slot *ts = realloc(e->tokens, (size_t)cap * sizeof *ts);
        if (!ts) return mtr_fail(err, "%s: line %zu: out of memory", t->path, mtr_table_line(t));
        e->tokens = ts;
        e->tokens_cap = cap;
    }
    uint32_t *counts = e->cursor; /* counts first, cursors once the sizes are known */
    for (int m = e->n_column_multi; m < e->n_multi; m++) counts[m] = 0;
    const char *last = NULL;
    size_t last_len = 0;
    int last_m = -1;
    for (int k = 0; k < n_tok; k++) {
        const mtr_field *tok = &t->fields[MTR_ALICCP_LEADING + k];
        mtr_field name, id;
        if (mtr_split_token(tok, &name, &id) != 0)
            return mtr_token_fail(err, t->path, mtr_table_line(t), MTR_ALICCP_LEADING + k, tok);
        if (!last || name.len != last_len || memcmp(name.s, last, name.len) != 0) {
            int64_t idx = mtr_vocab_find(e->token_fields, name.s, name.len);
            last = name.s;
            last_len = name.len;
            last_m = idx < 0 ? -1 : e->token_multi[idx]; /* fields the schema does not know are skipped */
        }
        e->tokens[k].multi = last_m;
        e->tokens[k].id_at = (uint32_t)(id.s - tok->s);
        if (last_m >= 0) counts[last_m]++;
    }
    size_t total = 0;
    for (int m = e->n_column_multi; m < e->n_multi; m++) total += counts[m];
    if (reserve(e, *at + total, err) != 0) return -1;
    uint32_t *rec = e->record, *count_words = rec + e->fixed_words - e->n_multi;
    for (int m = e->n_column_multi; m < e->n_multi; m++) {
        uint32_t c = counts[m];
        count_words[m] = c;
        counts[m] = (uint32_t)*at;
        *at += c;
    }
    for (int k = 0; k < n_tok; k++) {
        int m = e->tokens[k].multi;
        if (m < 0) continue;
        const mtr_field *tok = &t->fields[MTR_ALICCP_LEADING + k];
        mtr_field id = {tok->s + e->tokens[k].id_at, tok->len - e->tokens[k].id_at};
        rec[counts[m]++] = categorical_id(mtr_field_table(s, e->multi_field[m]), &id, 0);
    }
    return 0;
}

int mtr_encoder_next(mtr_encoder *e, const uint32_t **record, size_t *words, uint32_t *n_ids, mtr_error *err) {
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
    if (e->aliccp ? t->n_fields < MTR_ALICCP_LEADING : t->n_fields != e->n_expected)
        return mtr_fail(err, e->aliccp ? "%s: line %zu: expected at least %d columns (sample_id, click, purchase), "
                                         "found %d"
                                       : "%s: line %zu: expected %d columns, found %d",
                        path, line, e->n_expected, t->n_fields);
    const mtr_field *fields = t->fields;
    const mtr_cat_field *cat = s->cat;
    const mtr_cat_table *tables = s->tables;
    const int *pos_of = e->pos;
    uint32_t *rec = e->record; /* locals: stores through rec would otherwise reload e's fields */
    size_t at = e->fixed_words, single = 0; /* where the next multi- and single-valued ids go */
    for (int i = 0, n = e->n_column_fields; i < n; i++) {
        const mtr_cat_field *f = &cat[i];
        const mtr_field *v = &fields[pos_of[f->column]];
        if (!f->multi) {
            rec[single++] = categorical_id(&tables[f->table], v, mtr_table_is_missing(t, v));
            continue;
        }
        /* every item is read like a single value; an empty value has no items (zero ids, not missing) */
        size_t pos = 0, first = at;
        mtr_field item;
        while (mtr_next_item(v, f->sep, f->sep_len, s->spec->trim, &pos, &item)) {
            if (at == e->record_cap) {
                if (reserve(e, at + 1, err) != 0) return -1;
                rec = e->record;
            }
            rec[at++] = categorical_id(&tables[f->table], &item, mtr_table_is_missing(t, &item));
        }
        rec[e->fixed_words - (size_t)e->n_multi + (size_t)e->slot[i]] = (uint32_t)(at - first);
    }
    if (e->aliccp && encode_tokens(e, &at, err) != 0) return -1;
    *n_ids = (uint32_t)e->n_single + (uint32_t)(at - e->fixed_words);
    if (*n_ids > MTR_MAX_ROW_IDS)
        return mtr_fail(err, "%s: line %zu: %u categorical ids in one row (at most %u)", path, line, *n_ids,
                        MTR_MAX_ROW_IDS);
    uint32_t *num = e->record + e->n_single;
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
    uint32_t *aux = labels + s->n_tasks;
    for (int i = 0; i < s->n_aux; i++) {
        int p = e->pos[s->aux[i].column];
        float y = NAN;
        if (p >= 0 && !mtr_table_is_missing(t, &fields[p]) && mtr_parse_float(fields[p].s, fields[p].len, &y) != 0) {
            char q[64];
            return mtr_fail(err, "%s: line %zu: column '%s' (aux) is not a number: '%s'", path, line,
                            s->aux[i].name, mtr_quote_value(q, sizeof q, fields[p].s, fields[p].len));
        }
        aux[i] = float_word(y);
    }
    *record = e->record;
    *words = at;
    return 1;
}
