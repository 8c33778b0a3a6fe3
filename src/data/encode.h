/* encode.h - applies a fitted schema to the rows of a text file, producing records in the dataset.h
 * layout. It works out once per file where each needed column is (by position, or by name when files
 * have a header) and whether the label columns are there at all, then encodes row after row. */
#ifndef MTR_DATA_ENCODE_H
#define MTR_DATA_ENCODE_H

#include <stdint.h>

#include "data/schema_impl.h"
#include "data/table.h"

typedef struct mtr_encoder {
    const mtr_schema *schema; /* fitted schema with a spec */
    mtr_table table;          /* the open file */
    int labels_required;      /* 0: label columns may be absent (their labels become NaN) */
    int n_expected;           /* fields per row; 0 = decided by the first row */
    int n_full;               /* header = no: fields with every column */
    int n_unlabelled;         /* header = no, labels optional: fields with the label columns left out */
    int *pos;                 /* per schema column: field index in this file's rows, or -1 (absent) */
    int *pos_unlabelled;      /* header = no: positions when the label columns are left out */
} mtr_encoder;

/* Errors name the file; a schema without a spec (synthetic) cannot read text. */
int mtr_encoder_open(mtr_encoder *e, const mtr_schema *schema, const char *path, int labels_required,
                     mtr_error *err);
/* Encode the next row into record (record_words words): 1, 0 at the end, -1 on error. */
int mtr_encoder_next(mtr_encoder *e, uint32_t *record, mtr_error *err);
void mtr_encoder_close(mtr_encoder *e);

#endif
