/* dataset.h - the compiled dataset's in-memory layout, shared by the data code that fills it and the
 * models that read it. Each row is one fixed-size record of 4-byte words, so a batch gathers rows with
 * one contiguous read each, and compiling can stream records to disk in bounded memory:
 *     record = [ n_cat uint32 ids | n_num float inputs | n_tasks float labels ]
 * Categorical ids: 0 = out of vocabulary, 1 = missing, 2.. = vocabulary values (or hash buckets).
 * Numeric inputs: normalised values, then one 0/1 flag per column that had missing values in training.
 * Labels: NaN means "no label" for that task on that row. */
#ifndef MTR_DATA_DATASET_H
#define MTR_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

#define MTR_ID_OOV 0u     /* value not in the training vocabulary */
#define MTR_ID_MISSING 1u /* missing value ("?" or empty, as the spec says) */

struct mtr_dataset {
    size_t n_rows;               /* rows */
    int n_cat;                   /* categorical fields per row */
    int n_num;                   /* numeric inputs per row */
    int n_tasks;                 /* labels per row */
    size_t record_words;         /* n_cat + n_num + n_tasks */
    const uint32_t *records;     /* (n_rows, record_words) */
    uint64_t schema_fingerprint; /* schema the rows were compiled with (0 = none recorded) */
    void *map;                   /* the mmapped file, or NULL */
    size_t map_size;             /* bytes mapped */
    void *owned;                 /* heap block holding the records when built in memory, or NULL */
};

static inline const uint32_t *mtr_row_ids(const struct mtr_dataset *ds, size_t row) {
    return ds->records + row * ds->record_words;
}
static inline const float *mtr_row_numeric(const struct mtr_dataset *ds, size_t row) {
    return (const float *)(ds->records + row * ds->record_words + ds->n_cat);
}
static inline const float *mtr_row_labels(const struct mtr_dataset *ds, size_t row) {
    return (const float *)(ds->records + row * ds->record_words + ds->n_cat + ds->n_num);
}

/* Allocate an in-memory dataset with zeroed records for the caller to fill (generators, tests).
 * Returns the writable record array through *records (may be NULL). */
mtr_dataset *mtr_dataset_alloc(size_t n_rows, int n_cat, int n_num, int n_tasks, uint32_t **records,
                               mtr_error *err);

/* Write any dataset to a compiled file atomically (same format mtr_dataset_compile writes). */
int mtr_dataset_write(const mtr_dataset *ds, const char *out_path, mtr_error *err);

#endif
