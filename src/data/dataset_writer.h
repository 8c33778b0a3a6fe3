/* dataset_writer.h - writing a compiled dataset (.mtrd) one row at a time in bounded memory, whatever
 * the row count: records go out through a fixed buffer, and with multi-valued fields the row index is
 * streamed to an unlinked temporary file beside the output and appended at commit (docs/data-format.md).
 * The file appears atomically at commit; abort (or any failure) leaves the destination as it was.
 * mtr_dataset_compile and mtr_dataset_write use the same writer. */
#ifndef MTR_DATA_DATASET_WRITER_H
#define MTR_DATA_DATASET_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

typedef struct mtr_dataset_writer mtr_dataset_writer;

/* Start a file for rows of `schema` (its fingerprint is recorded; the schema is only read here). */
mtr_dataset_writer *mtr_dataset_writer_open(const char *path, const mtr_schema *schema, mtr_error *err);
/* Append one row. The ids of categorical field f are ids[id_start[f] .. id_start[f+1]) (id_start has
 * n_cat + 1 entries, ascending): exactly one for a single-valued field, any number for a multi-valued
 * one, each below the field's vocabulary size, at most MTR_MAX_ROW_IDS in all. numeric has the schema's
 * numeric inputs (may be NULL when there are none); labels (n_tasks) and aux (n_aux) may be NULL, which
 * stores NaN. Errors name the file and the row (0-based); after an error only abort is left. */
int mtr_dataset_writer_add(mtr_dataset_writer *w, const uint32_t *id_start, const uint32_t *ids,
                           const float *numeric, const float *labels, const float *aux, mtr_error *err);
/* Finish the file (row count, index, checksum), fsync and rename it into place; frees the writer. */
int mtr_dataset_writer_commit(mtr_dataset_writer *w, mtr_error *err);
/* Give up: remove the temporary files and free the writer. Accepts NULL. */
void mtr_dataset_writer_abort(mtr_dataset_writer *w);
/* Rows added so far. */
uint64_t mtr_dataset_writer_rows(const mtr_dataset_writer *w);

/* ---- for the data layer: records already in the dataset.h layout */

/* The record shape without a schema: field kinds may be NULL (all single-valued). */
typedef struct mtr_record_shape {
    int n_cat;                       /* categorical fields */
    int n_num;                       /* numeric inputs */
    int n_tasks;                     /* labels, 1 to MTR_MAX_TASKS */
    int n_aux;                       /* aux values */
    const unsigned char *field_multi; /* (n_cat) 1 = multi-valued, or NULL */
} mtr_record_shape;

mtr_dataset_writer *mtr_dataset_writer_open_shape(const char *path, const mtr_record_shape *shape,
                                                  uint64_t fingerprint, mtr_error *err);
/* Append one record of `words` words in the dataset.h layout; its counts must add up to its length. */
int mtr_dataset_writer_add_record(mtr_dataset_writer *w, const uint32_t *record, size_t words, mtr_error *err);

#endif
