/* dataset.h - the compiled dataset's in-memory layout, shared by the data code that fills it and the
 * models that read it. Each row is one record of 4-byte words, so a batch gathers a row with a few
 * contiguous reads, and compiling can stream records to disk in bounded memory:
 *     record = [ n_single uint32 ids | n_num float inputs | n_tasks float labels | n_aux float aux values |
 *                n_multi uint32 counts | the multi-valued fields' ids, field by field ]
 * n_single counts the single-valued categorical fields (one id each, in field order), n_multi the
 * multi-valued ones (a count each, in field order, then that many ids per field). Without multi-valued
 * fields every record has record_words words and row r starts at word r * record_words; without aux
 * values either, a record is exactly [ids | numeric | labels]. With multi-valued fields records vary in
 * length and row_offsets[r] is where row r starts.
 * Categorical ids: 0 = out of vocabulary, 1 = missing, 2.. = vocabulary values (or hash buckets).
 * Numeric inputs: normalised values, then one 0/1 flag per column that had missing values in training.
 * Labels: NaN means "no label" for that task on that row. Aux values: NaN means missing. */
#ifndef MTR_DATA_DATASET_H
#define MTR_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

#define MTR_ID_OOV 0u     /* value not in the training vocabulary */
#define MTR_ID_MISSING 1u /* missing value ("?" or empty, as the spec says) */

struct mtr_dataset {
    size_t n_rows;               /* rows */
    int n_cat;                   /* categorical fields per row, single- and multi-valued (schema order) */
    int n_num;                   /* numeric inputs per row */
    int n_tasks;                 /* labels per row */
    int n_aux;                   /* aux values per row */
    int n_single;                /* single-valued categorical fields: their ids open each record */
    int n_multi;                 /* multi-valued categorical fields (0: fixed-size records) */
    size_t record_words;         /* words before the multi-valued ids: n_single + n_num + n_tasks + n_aux +
                                  * n_multi; the whole record when n_multi == 0 */
    const uint32_t *records;     /* the records, back to back */
    const uint64_t *row_offsets; /* n_multi > 0: (n_rows + 1) word offsets of the records in `records`
                                  * (the last is the total); NULL for fixed-size records */
    const unsigned char *field_multi; /* (n_cat) 1 where field f is multi-valued; NULL when n_multi == 0 */
    uint32_t max_row_ids;        /* most categorical ids in one row (n_cat for fixed-size records) */
    uint64_t schema_fingerprint; /* schema the rows were compiled with (0 = none recorded) */
    void *map;                   /* the mmapped file, or NULL */
    size_t map_size;             /* bytes mapped */
    void *owned;                 /* heap block holding the records when built in memory, or NULL */
    void *owned_index;           /* heap block holding row_offsets, or NULL */
    void *owned_fields;          /* heap block holding field_multi, or NULL */
};

/* Word offset of row `row`'s record in ds->records. */
static inline size_t mtr_row_start(const struct mtr_dataset *ds, size_t row) {
    return ds->row_offsets ? (size_t)ds->row_offsets[row] : row * ds->record_words;
}
/* The ids of the single-valued fields (all the ids when there is no multi-valued field). */
static inline const uint32_t *mtr_row_ids(const struct mtr_dataset *ds, size_t row) {
    return ds->records + mtr_row_start(ds, row);
}
static inline const float *mtr_row_numeric(const struct mtr_dataset *ds, size_t row) {
    return (const float *)(ds->records + mtr_row_start(ds, row) + ds->n_single);
}
static inline const float *mtr_row_labels(const struct mtr_dataset *ds, size_t row) {
    return (const float *)(ds->records + mtr_row_start(ds, row) + ds->n_single + ds->n_num);
}
static inline const float *mtr_row_aux(const struct mtr_dataset *ds, size_t row) {
    return (const float *)(ds->records + mtr_row_start(ds, row) + ds->n_single + ds->n_num + ds->n_tasks);
}
/* Per multi-valued field, in field order, how many ids the row holds. */
static inline const uint32_t *mtr_row_multi_counts(const struct mtr_dataset *ds, size_t row) {
    return ds->records + mtr_row_start(ds, row) + ds->record_words - ds->n_multi;
}
/* The multi-valued fields' ids, field by field (lengths from mtr_row_multi_counts). */
static inline const uint32_t *mtr_row_multi_ids(const struct mtr_dataset *ds, size_t row) {
    return ds->records + mtr_row_start(ds, row) + ds->record_words;
}

/* Allocate an in-memory dataset of fixed-size records ([ids | numeric | labels], every field
 * single-valued, no aux) with zeroed records for the caller to fill (generators, tests). Returns the
 * writable record array through *records (may be NULL). Multi-valued or aux data: dataset_writer.h. */
mtr_dataset *mtr_dataset_alloc(size_t n_rows, int n_cat, int n_num, int n_tasks, uint32_t **records,
                               mtr_error *err);

/* A hint that rows [first, first + count) will not be read again soon: for a memory-mapped dataset
 * the pages holding only those records (and their index entries) are dropped from memory (the file
 * still backs them, so reading them later pages them back in). Training over data larger than memory
 * calls this after each block, so resident memory stays bounded by the block size. No-op otherwise. */
void mtr_dataset_release_rows(const mtr_dataset *ds, size_t first, size_t count);
/* Drop the whole pages inside [lo, hi) of a private read-only file mapping from this process (the page
 * cache keeps them while memory allows; a later read maps them again). */
void mtr_map_drop_pages(const void *lo, const void *hi);

/* Write any dataset to a compiled file atomically (same format mtr_dataset_compile writes). */
int mtr_dataset_write(const mtr_dataset *ds, const char *out_path, mtr_error *err);

#endif
