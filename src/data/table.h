/* table.h - rows of a delimited text file as the spec describes it: the optional header line, fields split
 * on the (possibly multi-byte) delimiter and trimmed, empty lines skipped. Fields point into the line
 * reader's buffer and are valid until the next row. No quoting: a value cannot contain the delimiter. */
#ifndef MTR_DATA_TABLE_H
#define MTR_DATA_TABLE_H

#include <stddef.h>

#include "data/line_reader.h"
#include "data/spec.h"

typedef struct mtr_field {
    const char *s; /* first byte (not NUL-terminated) */
    size_t len;    /* bytes */
} mtr_field;

typedef struct mtr_table {
    const mtr_spec *spec;  /* delimiter, trimming, missing markers, header flag */
    const char *path;      /* file name for messages (the caller's string) */
    mtr_line_reader *lr;   /* the file */
    mtr_field *fields;     /* fields of the current row; only the first `stored` are set */
    int n_fields;          /* fields in the current row, counted even beyond `stored` */
    int stored;            /* fields of the current row held in `fields` */
    int fields_cap;        /* allocated entries of `fields` */
    int store_limit;       /* fields worth storing; the rest are only counted (set by the caller) */
    int n_header;          /* header names (header = yes), else 0 */
    char **header;         /* copies of the header names, trimmed */
    size_t rows;           /* data rows returned so far */
} mtr_table;

/* Open and, when the spec says header = yes, read the header line (an empty file is an error then). */
int mtr_table_open(mtr_table *t, const mtr_spec *spec, const char *path, mtr_error *err);
/* Next data row: 1, 0 at the end, -1 on error. */
int mtr_table_next(mtr_table *t, mtr_error *err);
size_t mtr_table_line(const mtr_table *t);
void mtr_table_close(mtr_table *t);

/* Whether a field is one of the spec's missing markers. */
int mtr_table_is_missing(const mtr_table *t, const mtr_field *f);

/* A value made safe for an error message: at most ~48 bytes, control bytes shown as '?', "..." when cut. */
const char *mtr_quote_value(char *buf, size_t cap, const char *s, size_t len);

#endif
