/* test_data_errors.c - bad input data: each case feeds the fault to fitting and/or compiling and checks
 * that the message names the file, the line and the column. */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "data/line_reader.h"
#include "mtrank.h"
#include "test.h"

static const char err_spec[] =
    "[input]\ncolumns = color, age, label, y\n[features]\ncolor = categorical\nage = numeric\n"
    "[task click]\ncolumn = label\ntype = binary\npositive = yes\nnegative = no\n"
    "[task value]\ncolumn = y\ntype = regression\n";

static const char good_rows[] = "red,30,yes,1\nblue,40,no,2\n";

static const char *write_text(const char *name, const char *text) {
    return mtr_test_write_file(name, text, strlen(text));
}

static mtr_spec *spec(void) {
    mtr_error err = {{0}};
    mtr_spec *s = mtr_spec_parse(err_spec, "err.spec", &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    return s;
}

/* Fit on `data` (written to `name`), expecting failure; returns the message. */
static const char *fit_error(const char *name, const char *data) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_spec *sp = spec();
    if (!sp) return "(no spec)";
    mtr_schema *s = mtr_schema_fit(sp, write_text(name, data), &err);
    mtr_spec_free(sp);
    if (s) {
        mtr_schema_free(s);
        return "(fitted without error)";
    }
    return err.message;
}

/* Fit on good rows, then compile `data` expecting failure; the output file must not appear. */
static const char *compile_error(const char *name, const char *data) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_spec *sp = spec();
    if (!sp) return "(no spec)";
    mtr_schema *s = mtr_schema_fit(sp, write_text("good.csv", good_rows), &err);
    mtr_spec_free(sp);
    if (!s) return err.message;
    const char *out = mtr_test_path("bad.mtrd");
    remove(out);
    int rc = mtr_dataset_compile(s, write_text(name, data), out, &err);
    mtr_schema_free(s);
    FILE *f = fopen(out, "rb");
    CHECK_MSG(f == NULL, "a failed compile left %s behind", out);
    if (f) fclose(f);
    return rc == 0 ? "(compiled without error)" : err.message;
}

TEST(error_wrong_column_count) {
    const char *m = fit_error("cols.csv", "red,30,yes,1\nblue,40,no,2\nred,50,yes\n");
    CHECK_CONTAINS(m, "cols.csv: line 3: expected 4 columns, found 3");
    m = compile_error("cols2.csv", "red,30,yes,1\n\nred,50,yes,1,extra\n");
    CHECK_CONTAINS(m, "cols2.csv: line 3: expected 4 columns, found 5");
}

TEST(error_text_in_numeric_column) {
    const char *m = fit_error("num.csv", "red,30,yes,1\nblue,abc,no,2\n");
    CHECK_CONTAINS(m, "num.csv: line 2: column 'age' is not a number: 'abc'");
    m = compile_error("num2.csv", "red,30,yes,1\nred,31,yes,1\nred,12x,no,2\n");
    CHECK_CONTAINS(m, "num2.csv: line 3: column 'age' is not a number: '12x'");
    m = fit_error("num3.csv", "red,inf,yes,1\n");
    CHECK_CONTAINS(m, "num3.csv: line 1: column 'age' is not a number: 'inf'");
}

TEST(error_unknown_label_value) {
    const char *m = fit_error("label.csv", "red,30,yes,1\nblue,40,maybe,2\n");
    CHECK_CONTAINS(m, "label.csv: line 2: column 'label': unknown label value 'maybe' for task 'click'");
    CHECK_CONTAINS(m, "'yes', 'no'");
    m = compile_error("label2.csv", "red,30,Yes,1\n");
    CHECK_CONTAINS(m, "label2.csv: line 1: column 'label': unknown label value 'Yes'");
}

TEST(error_label_not_a_number) {
    const char *m = fit_error("reg.csv", "red,30,yes,1\nblue,40,no,lots\n");
    CHECK_CONTAINS(m, "reg.csv: line 2: column 'y': label of task 'value' is not a number: 'lots'");
    mtr_error err = {{0}};
    mtr_spec *sp = mtr_spec_parse("[input]\ncolumns = a\n[task adult]\ncolumn = a\ntype = binary\nabove = 17\n",
                                  "above.spec", &err);
    CHECK_MSG(sp != NULL, "%s", err.message);
    if (!sp) return;
    mtr_schema *s = mtr_schema_fit(sp, write_text("above.csv", "20\n?\nten\n"), &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "above.csv: line 3: column 'a': label of task 'adult' is not a number: 'ten'");
    mtr_schema_free(s);
    mtr_spec_free(sp);
}

TEST(error_empty_and_missing_files) {
    const char *m = fit_error("empty.csv", "");
    CHECK_CONTAINS(m, "empty.csv: empty file");
    m = fit_error("blank.csv", "\n\n\r\n");
    CHECK_CONTAINS(m, "blank.csv: empty file");
    m = compile_error("empty2.csv", "");
    CHECK_CONTAINS(m, "empty2.csv: empty file");
    mtr_error err = {{0}};
    mtr_spec *sp = spec();
    if (!sp) return;
    const char *missing = mtr_test_path("does-not-exist.csv");
    mtr_schema *s = mtr_schema_fit(sp, missing, &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, missing);
    CHECK_CONTAINS(err.message, "No such file or directory");
    s = mtr_schema_fit(sp, write_text("good.csv", good_rows), &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s) {
        CHECK(mtr_dataset_compile(s, missing, mtr_test_path("x.mtrd"), &err) != 0);
        CHECK_CONTAINS(err.message, "does-not-exist.csv: cannot open: No such file or directory");
        CHECK(mtr_dataset_read_text(s, missing, 1, &err) == NULL);
        CHECK_CONTAINS(err.message, "No such file or directory");
        /* an unwritable destination is reported, not crashed on */
        CHECK(mtr_dataset_compile(s, mtr_test_path("good.csv"), mtr_test_path("no/such/dir/x.mtrd"), &err) != 0);
        CHECK_CONTAINS(err.message, "no/such/dir/x.mtrd");
    }
    mtr_schema_free(s);
    mtr_spec_free(sp);
}

/* A file whose line 2 is `len` bytes of `c` (no delimiter), between good lines. */
static const char *long_line_file(const char *name, size_t len) {
    const char *path = mtr_test_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    fputs("red,30,yes,1\n", f);
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
        fwrite(chunk, 1, n, f);
        done += n;
    }
    fputs("\nblue,40,no,2\n", f);
    fclose(f);
    return path;
}

TEST(error_long_lines) {
    mtr_error err = {{0}};
    mtr_spec *sp = spec();
    if (!sp) return;
    /* 1 MB: read fine, then refused for its column count */
    mtr_schema *s = mtr_schema_fit(sp, long_line_file("mb.csv", (size_t)1 << 20), &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "mb.csv: line 2: expected 4 columns, found 1");
    /* exactly at the 16 MiB limit: still read (and refused for its columns); one byte more is too long */
    s = mtr_schema_fit(sp, long_line_file("limit.csv", MTR_LINE_MAX), &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "limit.csv: line 2: expected 4 columns, found 1");
    s = mtr_schema_fit(sp, long_line_file("huge.csv", MTR_LINE_MAX + 1), &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.message, "huge.csv: line 2: line too long (more than 16 MiB)");
    /* a 1 MB value in a categorical column of an otherwise good row is just a value */
    size_t big = (size_t)1 << 20;
    char *text = malloc(big + 64);
    if (text) {
        memset(text, 'v', big);
        memcpy(text + big, ",30,yes,1\nred,31,no,2\n", 23);
        s = mtr_schema_fit(sp, mtr_test_write_file("bigvalue.csv", text, big + 22), &err);
        CHECK_MSG(s != NULL, "%s", err.message);
        if (s) CHECK_EQ_INT(mtr_schema_vocab_size(s, 0), 4);
        mtr_schema_free(s);
        /* and a 1 MB non-number is quoted shortened in the message */
        memcpy(text, "red,", 4);
        memcpy(text + big, ",yes,1\n", 7);
        s = mtr_schema_fit(sp, mtr_test_write_file("bignum.csv", text, big + 7), &err);
        CHECK(s == NULL);
        CHECK_CONTAINS(err.message, "bignum.csv: line 1: column 'age' is not a number: 'vvvv");
        CHECK(strlen(err.message) < 300);
        free(text);
    }
    mtr_spec_free(sp);
}

/* Write `text` gzip-compressed with zlib and return the path. */
static const char *write_gz(const char *name, const char *text, size_t len) {
    const char *path = mtr_test_path(name);
    gzFile gz = gzopen(path, "wb9");
    CHECK(gz != NULL);
    if (!gz) return path;
    CHECK(gzwrite(gz, text, (unsigned)len) == (int)len);
    CHECK(gzclose(gz) == Z_OK);
    return path;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

TEST(error_gzip_truncated_or_corrupt) {
    /* enough varied rows that the compressed stream is long */
    size_t cap = 400000, len = 0;
    char *text = malloc(cap);
    if (!text) return;
    for (int i = 0; len + 64 < cap; i++)
        len += (size_t)snprintf(text + len, cap - len, "c%d,%d,%s,%d\n", (i * 7919) % 1000, i % 97,
                                i % 3 ? "no" : "yes", (i * 31) % 1013);
    const char *path = write_gz("data.csv.gz", text, len);
    mtr_error err = {{0}};
    mtr_spec *sp = spec();
    if (!sp) {
        free(text);
        return;
    }
    mtr_schema *s = mtr_schema_fit(sp, path, &err); /* the intact file reads */
    CHECK_MSG(s != NULL, "%s", err.message);
    mtr_schema_free(s);

    long size = file_size(path);
    CHECK(size > 10000);
    FILE *f = fopen(path, "rb");
    char *gz = malloc((size_t)size);
    CHECK(f && gz && fread(gz, 1, (size_t)size, f) == (size_t)size);
    if (f) fclose(f);
    if (gz) {
        /* truncated: the first half only */
        const char *cut = mtr_test_write_file("cut.csv.gz", gz, (size_t)size / 2);
        s = mtr_schema_fit(sp, cut, &err);
        CHECK(s == NULL);
        CHECK_CONTAINS(err.message, "cut.csv.gz: line ");
        CHECK_CONTAINS(err.message, "gzip data is truncated or corrupt");
        /* corrupt: the trailer's CRC no longer matches */
        gz[size - 8] ^= 0x55;
        const char *bad = mtr_test_write_file("crc.csv.gz", gz, (size_t)size);
        s = mtr_schema_fit(sp, bad, &err);
        CHECK(s == NULL);
        CHECK_CONTAINS(err.message, "crc.csv.gz: line ");
        CHECK_CONTAINS(err.message, "gzip");
        CHECK_CONTAINS(err.message, "incorrect data check");
        gz[size - 8] ^= 0x55;
        /* corrupt: garbage right after the gzip header breaks the deflate stream */
        memset(gz + 10, 0xff, 16);
        bad = mtr_test_write_file("garbage.csv.gz", gz, (size_t)size);
        s = mtr_schema_fit(sp, bad, &err);
        CHECK(s == NULL);
        CHECK_CONTAINS(err.message, "garbage.csv.gz: line 1");
        CHECK_CONTAINS(err.message, "gzip data");
    }
    free(gz);
    free(text);
    mtr_spec_free(sp);
}
