/* csv_writer.c - see csv_writer.h. Write errors are sticky in the FILE and reported at close. */
#include "report/csv_writer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static void separator(mtr_csv *c) {
    if (c->col++ > 0) fputc(',', c->file.f);
}

void mtr_csv_text(mtr_csv *c, const char *s) {
    separator(c);
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, c->file.f);
        return;
    }
    fputc('"', c->file.f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', c->file.f);
        fputc(*s, c->file.f);
    }
    fputc('"', c->file.f);
}

void mtr_csv_double(mtr_csv *c, double v) {
    separator(c);
    if (isfinite(v)) fprintf(c->file.f, "%.17g", v);
}

void mtr_csv_int(mtr_csv *c, long long v) {
    separator(c);
    fprintf(c->file.f, "%lld", v);
}

void mtr_csv_u64(mtr_csv *c, uint64_t v) {
    separator(c);
    fprintf(c->file.f, "%llu", (unsigned long long)v);
}

int mtr_csv_end_row(mtr_csv *c, mtr_error *err) {
    if (c->col != c->n_cols)
        return mtr_fail(err, "%s: row %ld has %d fields, the header has %d", c->file.path, c->rows + 1, c->col,
                        c->n_cols);
    fputc('\n', c->file.f);
    c->col = 0;
    c->rows++;
    return 0;
}

int mtr_csv_open(mtr_csv *c, const char *path, const char *const *header, int n_cols, mtr_error *err) {
    memset(c, 0, sizeof *c);
    if (n_cols < 1) return mtr_fail(err, "%s: a CSV file needs at least one column", path);
    if (mtr_atomic_open(&c->file, path, err) != 0) return -1;
    c->n_cols = n_cols;
    for (int i = 0; i < n_cols; i++) mtr_csv_text(c, header[i]);
    c->rows = -1; /* the header is not a data row */
    if (mtr_csv_end_row(c, err) != 0) {
        mtr_csv_abort(c);
        return -1;
    }
    return 0;
}

int mtr_csv_close(mtr_csv *c, mtr_error *err) {
    if (c->col != 0) {
        mtr_csv_abort(c);
        return mtr_fail(err, "%s: the last row was not finished", c->file.path);
    }
    return mtr_atomic_commit(&c->file, err);
}

void mtr_csv_abort(mtr_csv *c) { mtr_atomic_abort(&c->file); }
