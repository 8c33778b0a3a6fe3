/* csv_writer.h - raw numbers of a report as CSV (RFC 4180 quoting), written atomically: a header row,
 * then rows built field by field. Numbers are printed with enough digits to read back the same double.
 * Library code: errors come back as messages naming the file, it never prints. */
#ifndef MTR_REPORT_CSV_WRITER_H
#define MTR_REPORT_CSV_WRITER_H

#include <stdint.h>

#include "mtrank.h"
#include "util/atomic_file.h"

typedef struct mtr_csv {
    mtr_atomic_file file; /* the temporary file renamed into place by mtr_csv_close */
    int n_cols;           /* fields per row, from the header */
    int col;              /* fields written in the current row */
    long rows;            /* data rows finished, for messages */
} mtr_csv;

/* Create `path` (atomically, on close) and write the header of n_cols names. */
int mtr_csv_open(mtr_csv *c, const char *path, const char *const *header, int n_cols, mtr_error *err);
/* One field of the current row: text (quoted when it holds a comma, quote or line break), a double
 * (%.17g; NaN and infinities as empty fields), a signed or an unsigned 64-bit integer. */
void mtr_csv_text(mtr_csv *c, const char *s);
void mtr_csv_double(mtr_csv *c, double v);
void mtr_csv_int(mtr_csv *c, long long v);
void mtr_csv_u64(mtr_csv *c, uint64_t v);
/* End the row; -1 if it does not have n_cols fields. */
int mtr_csv_end_row(mtr_csv *c, mtr_error *err);
/* Flush, fsync and rename into place; -1 with a message if any write failed. */
int mtr_csv_close(mtr_csv *c, mtr_error *err);
/* Give up: remove the temporary file. */
void mtr_csv_abort(mtr_csv *c);

#endif
