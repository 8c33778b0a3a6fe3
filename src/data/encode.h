/* encode.h - applies a fitted schema to the rows of a text file, producing records in the dataset.h
 * layout. It works out once per file where each needed column is (by position, or by name when files
 * have a header), whether the label columns are there at all and which record slot each field fills,
 * then encodes row after row into its own buffer (records of multi-valued fields vary in length). */
#ifndef MTR_DATA_ENCODE_H
#define MTR_DATA_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "data/schema_impl.h"
#include "data/table.h"

/* An aliccp token of the current row, between the two passes that place its id. */
typedef struct mtr_token_slot {
    int multi;        /* index among the multi-valued fields, or -1 (a field the schema does not use) */
    uint32_t id_at;   /* offset of the id in the token */
} mtr_token_slot;

typedef struct mtr_encoder {
    const mtr_schema *schema; /* fitted schema with a spec */
    mtr_table table;          /* the open file */
    int labels_required;      /* 0: label columns may be absent (their labels become NaN) */
    int aliccp;               /* format = aliccp: field:id tokens follow the leading columns */
    int n_expected;           /* fields per row; 0 = decided by the first row */
    int n_full;               /* header = no: fields with every column */
    int n_unlabelled;         /* header = no, labels optional: fields with the label columns left out */
    int *pos;                 /* per schema column: field index in this file's rows, or -1 (absent) */
    int *pos_unlabelled;      /* header = no: positions when the label columns are left out */
    int n_single;             /* single-valued fields: their ids open the record */
    int n_multi;              /* multi-valued fields: a count each, then their ids */
    int n_column_fields;      /* categorical fields read from columns (they precede the token fields) */
    int n_column_multi;       /* multi-valued fields read from columns */
    int *slot;                /* per categorical field: index among single- or multi-valued fields */
    int *multi_field;         /* per multi-valued field: its categorical field */
    size_t fixed_words;       /* words before the multi-valued ids */
    uint32_t *record;         /* the row being built */
    size_t record_cap;        /* words allocated for record (grows up to fixed_words + MTR_MAX_ROW_IDS) */
    mtr_vocab *token_fields;  /* aliccp: field name -> entry i, the multi-valued field token_multi[i] */
    int *token_multi;         /* per entry: index among the multi-valued fields */
    mtr_token_slot *tokens;   /* per token of the current row */
    int tokens_cap;           /* allocated entries of tokens */
    uint32_t *cursor;         /* per multi-valued field: where its next id goes */
} mtr_encoder;

/* Errors name the file; a schema without a spec (synthetic) cannot read text. */
int mtr_encoder_open(mtr_encoder *e, const mtr_schema *schema, const char *path, int labels_required,
                     mtr_error *err);
/* Encode the next row: 1 with *record (valid until the next call) and *words set, 0 at the end, -1 on
 * error. *ids gets the categorical ids the row holds (single- and multi-valued). */
int mtr_encoder_next(mtr_encoder *e, const uint32_t **record, size_t *words, uint32_t *ids, mtr_error *err);
void mtr_encoder_close(mtr_encoder *e);

#endif
