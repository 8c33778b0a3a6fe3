/* table.h - rows of a delimited text file as the spec describes it: the optional header line (or, with
 * header = auto, a first line equal to the spec's columns), fields split on the (possibly multi-byte)
 * delimiter and trimmed, empty lines skipped. Fields point into the line reader's buffer and are valid
 * until the next row. No quoting: a value cannot contain the delimiter. Also the two ways a field holds
 * several values: the items of a multi-valued column and the field:id tokens of format = aliccp. */
#ifndef MTR_DATA_TABLE_H
#define MTR_DATA_TABLE_H

#include <stddef.h>
#include <string.h>

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
    int pending;           /* header = auto found data on the first line: the next row is already split */
    size_t missing_max_len; /* longest missing marker: longer values are never missing */
} mtr_table;

/* Open and, when the spec says header = yes, read the header line (an empty file is an error then). */
int mtr_table_open(mtr_table *t, const mtr_spec *spec, const char *path, mtr_error *err);
/* Next data row: 1, 0 at the end, -1 on error. */
int mtr_table_next(mtr_table *t, mtr_error *err);
size_t mtr_table_line(const mtr_table *t);
void mtr_table_close(mtr_table *t);

/* Whether a field is one of the spec's missing markers (inline: most values are longer than every marker,
 * and this runs for every value). */
int mtr_table_is_missing_marker(const mtr_table *t, const mtr_field *f);
static inline int mtr_table_is_missing(const mtr_table *t, const mtr_field *f) {
    return f->len <= t->missing_max_len && mtr_table_is_missing_marker(t, f);
}

/* The next item of a multi-valued column's value `v`, split on `sep` (trimmed when `trim`), starting at
 * *pos (0 for the first): 1 with *item set, 0 after the last. An empty value has no items at all; "a;;b"
 * has an empty middle item. */
int mtr_next_item(const mtr_field *v, const char *sep, size_t sep_len, int trim, size_t *pos, mtr_field *item);

/* format = aliccp: split a "field:id" token at its first ':'. -1 when there is no ':' or a side is empty. */
static inline int mtr_split_token(const mtr_field *tok, mtr_field *name, mtr_field *id) {
    const char *colon = tok->len ? memchr(tok->s, ':', tok->len) : NULL;
    if (!colon || colon == tok->s || colon == tok->s + tok->len - 1) return -1;
    name->s = tok->s;
    name->len = (size_t)(colon - tok->s);
    id->s = colon + 1;
    id->len = tok->len - name->len - 1;
    return 0;
}
/* "<path>: line N: token K (column C): expected field:id, found '<tok>'"; `column` is 0-based. */
int mtr_token_fail(mtr_error *err, const char *path, size_t line, int column, const mtr_field *tok);

/* A value made safe for an error message: at most ~48 bytes, control bytes shown as '?', "..." when cut. */
const char *mtr_quote_value(char *buf, size_t cap, const char *s, size_t len);

#endif
