/* schema.h - internal schema calls beyond the public header: copying and (de)serialising a schema so it
 * can live inside model files. */
#ifndef MTR_DATA_SCHEMA_H
#define MTR_DATA_SCHEMA_H

#include <stddef.h>

#include "mtrank.h"

mtr_schema *mtr_schema_copy(const mtr_schema *schema, mtr_error *err);
/* A self-contained text form (spec text, vocabularies, statistics). Caller frees the result. */
char *mtr_schema_serialize(const mtr_schema *schema, size_t *len);
/* `origin` names the source in errors (e.g. the model file's path). */
mtr_schema *mtr_schema_deserialize(const char *text, size_t len, const char *origin, mtr_error *err);

/* Build a schema without a spec or training file, for generated data: categorical fields with given
 * vocabulary sizes (ids already encoded, 0..size-1), numeric inputs used as they are, and tasks. Names
 * may be NULL (cat_0, num_0, task_0, ...); task kinds may be NULL (all binary). */
mtr_schema *mtr_schema_synthetic(int n_cat, const uint32_t *vocab_sizes, const char *const *cat_names,
                                 int n_num, const char *const *num_names, int n_tasks,
                                 const char *const *task_names, const mtr_task_kind *task_kinds,
                                 mtr_error *err);

/* The same with multi-valued fields, shared tables and aux columns. Every pointer may be NULL for its
 * default; only vocab_sizes is required when n_cat > 0. */
typedef struct mtr_schema_synthetic_desc {
    int n_cat;                          /* categorical fields */
    const uint32_t *vocab_sizes;        /* (n_cat) ids of field i are 0..vocab_sizes[i]-1 */
    const char *const *cat_names;       /* (n_cat) or NULL: cat_0, cat_1, ... */
    const unsigned char *cat_multi;     /* (n_cat) 1 = multi-valued (zero or more ids), or NULL: none */
    const unsigned char *cat_pool_mean; /* (n_cat) multi-valued fields: 1 = mean pooling, or NULL: sum */
    const int *cat_table;               /* (n_cat) fields with equal labels (>= 0) share one table, which
                                         * needs equal vocab sizes; NULL: one table per field. Tables are
                                         * numbered and named after their first field */
    int n_num;                          /* numeric inputs */
    const char *const *num_names;       /* (n_num) or NULL: num_0, ... */
    int n_tasks;                        /* tasks, 1 to MTR_MAX_TASKS */
    const char *const *task_names;      /* (n_tasks) or NULL: task_0, ... */
    const mtr_task_kind *task_kinds;    /* (n_tasks) or NULL: all binary */
    int n_aux;                          /* aux values per row */
    const char *const *aux_names;       /* (n_aux) or NULL: aux_0, ... */
} mtr_schema_synthetic_desc;

mtr_schema *mtr_schema_synthetic_ex(const mtr_schema_synthetic_desc *desc, mtr_error *err);

#endif
