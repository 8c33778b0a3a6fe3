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
 * vocabulary sizes (ids already encoded, 0..size-1), numeric inputs used as they are, and tasks. */
mtr_schema *mtr_schema_synthetic(int n_cat, const uint32_t *vocab_sizes, const char *const *cat_names,
                                 int n_num, const char *const *num_names, int n_tasks,
                                 const char *const *task_names, const mtr_task_kind *task_kinds,
                                 mtr_error *err);

#endif
