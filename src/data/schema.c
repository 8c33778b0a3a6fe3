/* schema.c - the schema object: accessors, freeing, finishing (input names, fingerprint), copies and
 * synthetic schemas for generated data. Fitting is schema_fit.c, the text form schema_io.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/schema.h"
#include "data/schema_impl.h"
#include "util/checksum.h"
#include "util/error.h"

mtr_schema *mtr_schema_new(void) {
    mtr_schema *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->spec_text = calloc(1, 1);
    if (!s->spec_text) {
        free(s);
        return NULL;
    }
    return s;
}

void mtr_schema_free(mtr_schema *s) {
    if (!s) return;
    free(s->spec_text);
    mtr_spec_free(s->spec);
    free(s->columns);
    for (int i = 0; i < s->n_tables; i++) mtr_vocab_free(s->tables[i].vocab);
    free(s->tables);
    free(s->cat);
    free(s->aux);
    free(s->num);
    free(s->num_names);
    free(s);
}

int mtr_schema_finish(mtr_schema *s, const int *flagged, mtr_error *err) {
    int n_flags = 0;
    for (int i = 0; i < s->n_num_fields; i++) n_flags += flagged && flagged[i];
    s->n_num = s->n_num_fields + n_flags;
    free(s->num_names);
    s->num_names = calloc((size_t)(s->n_num ? s->n_num : 1), sizeof *s->num_names);
    if (!s->num_names) return mtr_fail(err, "out of memory");
    int next_flag = s->n_num_fields;
    for (int i = 0; i < s->n_num_fields; i++) {
        mtr_num_field *f = &s->num[i];
        snprintf(s->num_names[i], sizeof s->num_names[i], "%s", f->name);
        f->flag_input = -1;
        if (flagged && flagged[i]) {
            static const char suffix[] = "_missing";
            int keep = (int)(MTR_MAX_NAME - sizeof suffix);
            f->flag_input = next_flag;
            snprintf(s->num_names[next_flag], sizeof s->num_names[next_flag], "%.*s%s", keep, f->name,
                     suffix);
            next_flag++;
        }
    }
    char *text;
    size_t len = 0;
    if (mtr_schema_write_text(s, 0, &text, &len) != 0) return mtr_fail(err, "out of memory");
    s->fingerprint = mtr_fnv1a64(MTR_FNV1A64_INIT, text, len);
    free(text);
    return 0;
}

int mtr_schema_task_count(const mtr_schema *s) { return s->n_tasks; }

const char *mtr_schema_task_name(const mtr_schema *s, int task) {
    assert(task >= 0 && task < s->n_tasks);
    return task >= 0 && task < s->n_tasks ? s->task[task].name : NULL;
}

mtr_task_kind mtr_schema_task_kind(const mtr_schema *s, int task) {
    assert(task >= 0 && task < s->n_tasks);
    return task >= 0 && task < s->n_tasks ? s->task[task].kind : MTR_TASK_BINARY;
}

int mtr_schema_categorical_count(const mtr_schema *s) { return s->n_cat; }

int mtr_schema_numeric_count(const mtr_schema *s) { return s->n_num; }

uint32_t mtr_schema_vocab_size(const mtr_schema *s, int field) {
    assert(field >= 0 && field < s->n_cat);
    return field >= 0 && field < s->n_cat ? mtr_field_table(s, field)->size : 0;
}

int mtr_schema_field_multi(const mtr_schema *s, int field) {
    assert(field >= 0 && field < s->n_cat);
    return field >= 0 && field < s->n_cat ? s->cat[field].multi : 0;
}

int mtr_schema_field_pool_mean(const mtr_schema *s, int field) {
    assert(field >= 0 && field < s->n_cat);
    return field >= 0 && field < s->n_cat ? s->cat[field].pool_mean : 0;
}

int mtr_schema_aux_count(const mtr_schema *s) { return s->n_aux; }

const char *mtr_schema_aux_name(const mtr_schema *s, int i) {
    assert(i >= 0 && i < s->n_aux);
    return i >= 0 && i < s->n_aux ? s->aux[i].name : NULL;
}

int mtr_schema_table_count(const mtr_schema *s) { return s->n_tables; }

int mtr_schema_field_table(const mtr_schema *s, int field) {
    assert(field >= 0 && field < s->n_cat);
    return field >= 0 && field < s->n_cat ? s->cat[field].table : -1;
}

uint32_t mtr_schema_table_size(const mtr_schema *s, int table) {
    assert(table >= 0 && table < s->n_tables);
    return table >= 0 && table < s->n_tables ? s->tables[table].size : 0;
}

const char *mtr_schema_table_name(const mtr_schema *s, int table) {
    assert(table >= 0 && table < s->n_tables);
    return table >= 0 && table < s->n_tables ? s->tables[table].name : NULL;
}

const char *mtr_schema_categorical_name(const mtr_schema *s, int field) {
    assert(field >= 0 && field < s->n_cat);
    return field >= 0 && field < s->n_cat ? s->cat[field].name : NULL;
}

const char *mtr_schema_numeric_name(const mtr_schema *s, int input) {
    assert(input >= 0 && input < s->n_num);
    return input >= 0 && input < s->n_num ? s->num_names[input] : NULL;
}

const char *mtr_schema_spec_text(const mtr_schema *s) { return s->spec_text; }

uint64_t mtr_schema_fingerprint(const mtr_schema *s) { return s->fingerprint; }

mtr_schema *mtr_schema_copy(const mtr_schema *s, mtr_error *err) {
    size_t len = 0;
    char *text = mtr_schema_serialize(s, &len);
    if (!text) {
        mtr_fail(err, "out of memory copying a schema");
        return NULL;
    }
    mtr_schema *copy = mtr_schema_deserialize(text, len, "<schema copy>", err);
    free(text);
    return copy;
}

static int set_name(char *dst, const char *const *names, int i, const char *prefix, const char *what,
                    mtr_error *err) {
    if (!names) {
        snprintf(dst, MTR_MAX_NAME, "%s%d", prefix, i);
        return 0;
    }
    if (!names[i] || !names[i][0] || strlen(names[i]) >= MTR_MAX_NAME)
        return mtr_fail(err, "synthetic schema: %s %d: a name must be 1 to %d bytes", what, i, MTR_MAX_NAME - 1);
    snprintf(dst, MTR_MAX_NAME, "%s", names[i]);
    return 0;
}

mtr_schema *mtr_schema_synthetic(int n_cat, const uint32_t *vocab_sizes, const char *const *cat_names,
                                 int n_num, const char *const *num_names, int n_tasks,
                                 const char *const *task_names, const mtr_task_kind *task_kinds,
                                 mtr_error *err) {
    mtr_schema_synthetic_desc d = {.n_cat = n_cat, .vocab_sizes = vocab_sizes, .cat_names = cat_names,
                                   .n_num = n_num, .num_names = num_names, .n_tasks = n_tasks,
                                   .task_names = task_names, .task_kinds = task_kinds};
    return mtr_schema_synthetic_ex(&d, err);
}

mtr_schema *mtr_schema_synthetic_ex(const mtr_schema_synthetic_desc *d, mtr_error *err) {
    int n_cat = d->n_cat, n_num = d->n_num, n_tasks = d->n_tasks, n_aux = d->n_aux;
    int *table_of_label = NULL;
    if (n_cat < 0 || n_num < 0 || n_aux < 0 || n_cat > MTR_MAX_COLUMNS || n_num > MTR_MAX_COLUMNS ||
        n_aux > MTR_MAX_COLUMNS) {
        mtr_fail(err, "synthetic schema: bad field counts (%d categorical, %d numeric, %d aux)", n_cat, n_num,
                 n_aux);
        return NULL;
    }
    if (n_tasks < 1 || n_tasks > MTR_MAX_TASKS) {
        mtr_fail(err, "synthetic schema: %d tasks (expected 1 to %d)", n_tasks, MTR_MAX_TASKS);
        return NULL;
    }
    if (n_cat > 0 && !d->vocab_sizes) {
        mtr_fail(err, "synthetic schema: vocabulary sizes are required");
        return NULL;
    }
    mtr_schema *s = mtr_schema_new();
    if (!s) goto oom;
    s->cat = calloc((size_t)(n_cat ? n_cat : 1), sizeof *s->cat);
    s->tables = calloc((size_t)(n_cat ? n_cat : 1), sizeof *s->tables);
    s->num = calloc((size_t)(n_num ? n_num : 1), sizeof *s->num);
    s->aux = calloc((size_t)(n_aux ? n_aux : 1), sizeof *s->aux);
    /* table labels are arbitrary ints; map each to its table through a small search (n_cat is modest) */
    table_of_label = malloc((size_t)(n_cat ? n_cat : 1) * sizeof *table_of_label);
    if (!s->cat || !s->tables || !s->num || !s->aux || !table_of_label) goto oom;
    s->n_cat = n_cat;
    s->n_num_fields = n_num;
    s->n_aux = n_aux;
    for (int i = 0; i < n_cat; i++) {
        mtr_cat_field *f = &s->cat[i];
        if (set_name(f->name, d->cat_names, i, "cat_", "categorical field", err) != 0) goto fail;
        if (d->vocab_sizes[i] < 1) {
            mtr_fail(err, "synthetic schema: categorical field '%s' has vocabulary size 0", f->name);
            goto fail;
        }
        f->column = -1;
        f->multi = d->cat_multi && d->cat_multi[i];
        f->pool_mean = d->cat_pool_mean && d->cat_pool_mean[i];
        if (f->pool_mean && !f->multi) {
            mtr_fail(err, "synthetic schema: field '%s': mean pooling needs a multi-valued field", f->name);
            goto fail;
        }
        int label = d->cat_table ? d->cat_table[i] : -1 - i;
        if (d->cat_table && label < 0) {
            mtr_fail(err, "synthetic schema: field '%s': table label %d is negative", f->name, label);
            goto fail;
        }
        f->table = -1;
        for (int j = 0; j < i && f->table < 0; j++)
            if (table_of_label[j] == label) f->table = s->cat[j].table;
        table_of_label[i] = label;
        if (f->table < 0) {
            mtr_cat_table *t = &s->tables[s->n_tables];
            f->table = s->n_tables++;
            memcpy(t->name, f->name, sizeof t->name);
            t->min_count = 1;
            t->size = d->vocab_sizes[i];
        } else if (s->tables[f->table].size != d->vocab_sizes[i]) {
            mtr_fail(err, "synthetic schema: field '%s' shares table '%s' but has vocabulary size %u, not %u",
                     f->name, s->tables[f->table].name, d->vocab_sizes[i], s->tables[f->table].size);
            goto fail;
        }
    }
    for (int i = 0; i < n_num; i++) {
        mtr_num_field *f = &s->num[i];
        if (set_name(f->name, d->num_names, i, "num_", "numeric input", err) != 0) goto fail;
        f->column = -1;
        f->norm = MTR_NORM_NONE;
        f->scale = 1.0;
    }
    for (int i = 0; i < n_aux; i++) {
        if (set_name(s->aux[i].name, d->aux_names, i, "aux_", "aux value", err) != 0) goto fail;
        s->aux[i].column = -1;
    }
    s->n_tasks = n_tasks;
    for (int t = 0; t < n_tasks; t++) {
        if (set_name(s->task[t].name, d->task_names, t, "task_", "task", err) != 0) goto fail;
        s->task[t].kind = d->task_kinds ? d->task_kinds[t] : MTR_TASK_BINARY;
        if (s->task[t].kind != MTR_TASK_BINARY && s->task[t].kind != MTR_TASK_REGRESSION) {
            mtr_fail(err, "synthetic schema: task '%s' has an unknown kind %d", s->task[t].name,
                     (int)s->task[t].kind);
            goto fail;
        }
        s->task[t].column = -1;
        for (int u = 0; u < t; u++)
            if (strcmp(s->task[u].name, s->task[t].name) == 0) {
                mtr_fail(err, "synthetic schema: duplicate task name '%s'", s->task[t].name);
                goto fail;
            }
    }
    if (mtr_schema_finish(s, NULL, err) != 0) goto fail;
    free(table_of_label);
    return s;
oom:
    mtr_fail(err, "synthetic schema: out of memory");
fail:
    free(table_of_label);
    mtr_schema_free(s);
    return NULL;
}
