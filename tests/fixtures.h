/* fixtures.h - small generated schemas and datasets with a planted signal, for model and training
 * tests that must not depend on files. */
#ifndef MTR_TESTS_FIXTURES_H
#define MTR_TESTS_FIXTURES_H

#include "mtrank.h"

/* 3 categorical fields (vocab 5, 7, 4), 2 numeric inputs; task 0 binary "click", task 1 as given. */
mtr_schema *fixture_schema(mtr_task_kind second_task);
/* Rows whose labels depend on ids and numerics through fixed random effects; some labels of task 1
 * are NaN when nan_every > 0 (every nan_every-th row). */
mtr_dataset *fixture_dataset(const mtr_schema *schema, size_t rows, uint64_t seed, int nan_every);

/* Multi-valued fields: user (single, 5), tags (multi, mean pooling, 6) and liked (multi, sum pooling)
 * sharing one table, slot (single, 4); 1 numeric input; tasks click and buy (binary). */
mtr_schema *fixture_multi_schema(void);
/* Rows with 0..3 tags and 0..2 liked ids, written through the dataset writer to `path` and opened. */
mtr_dataset *fixture_multi_dataset(const mtr_schema *schema, size_t rows, uint64_t seed, const char *path);

#endif
