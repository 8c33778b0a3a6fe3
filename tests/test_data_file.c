/* test_data_file.c - compiled .mtrd files: compile + open gives exactly the records read_text builds
 * (plain and gzip input), in-memory datasets written and reopened, and damaged files (bad magic, newer
 * version, truncated, flipped byte, other schema) refused with a clear message. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/schema.h"
#include "mtrank.h"
#include "test.h"

static const char file_spec[] =
    "[input]\ncolumns = city, n, flag, y\n[features]\ncity = categorical\nn = numeric norm=log1p_standard\n"
    "[task t]\ncolumn = flag\ntype = binary\npositive = 1\nnegative = 0\n[task r]\ncolumn = y\ntype = regression\n";

/* ~10,000 varied rows (enough for several write buffers' worth of CRC streaming to matter). */
static char *make_rows(size_t *len) {
    size_t cap = 200000;
    char *t = malloc(cap);
    if (!t) return NULL;
    size_t n = 0;
    for (int i = 0; i < 5000; i++) {
        char num[32] = "?"; /* every 11th value missing, so the column gets a missing flag */
        if (i % 11) snprintf(num, sizeof num, "%d", i % 500);
        n += (size_t)snprintf(t + n, cap - n, "c%d,%s,%d,%s\n", (i * 37) % 23, num, (i * 13) % 2,
                              i % 17 ? "1.25" : "?");
    }
    for (int i = 0; i < 5000; i++) {
        if (n + 64 > cap) break;
        n += (size_t)snprintf(t + n, cap - n, "c%d,%d,%d,%d.5\n", (i * 31) % 29, (i * 7919) % 1000 - 300, i % 2,
                              i % 9);
    }
    *len = n;
    return t;
}

static mtr_schema *fit_rows(const char *path, mtr_error *err) {
    mtr_spec *sp = mtr_spec_parse(file_spec, "file.spec", err);
    if (!sp) return NULL;
    mtr_schema *s = mtr_schema_fit(sp, path, err);
    mtr_spec_free(sp);
    return s;
}

static int same_records(const mtr_dataset *a, const mtr_dataset *b) {
    return a->n_rows == b->n_rows && a->record_words == b->record_words && a->n_cat == b->n_cat &&
           a->n_num == b->n_num && a->n_tasks == b->n_tasks &&
           memcmp(a->records, b->records, a->n_rows * a->record_words * 4) == 0;
}

TEST(mtrd_compile_open_equals_read_text) {
    size_t len;
    char *rows = make_rows(&len);
    if (!rows) return;
    const char *txt = mtr_test_write_file("rows.csv", rows, len);
    mtr_error err = {{0}};
    mtr_schema *s = fit_rows(txt, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) {
        free(rows);
        return;
    }
    const char *out = mtr_test_path("rows.mtrd");
    CHECK_MSG(mtr_dataset_compile(s, txt, out, &err) == 0, "%s", err.message);
    mtr_dataset *mapped = mtr_dataset_open(out, s, &err);
    CHECK_MSG(mapped != NULL, "%s", err.message);
    mtr_dataset *mem = mtr_dataset_read_text(s, txt, 1, &err);
    CHECK_MSG(mem != NULL, "%s", err.message);
    if (mapped && mem) {
        CHECK(mtr_dataset_rows(mapped) > 5000);
        CHECK(same_records(mapped, mem));
        CHECK(mapped->map != NULL && mapped->owned == NULL);
        CHECK((uintptr_t)mapped->records % 64 == 0);
        CHECK(mapped->schema_fingerprint == mtr_schema_fingerprint(s));
        CHECK_EQ_INT(mtr_dataset_task_count(mapped), 2);
        CHECK(isnan(mtr_dataset_label(mapped, 0, 1)) && !isnan(mtr_dataset_label(mapped, 1, 1)));
    }
    /* the same text gzip-compressed compiles to a byte-identical file */
    const char *gzpath = mtr_test_path("rows.csv.gz");
    gzFile gz = gzopen(gzpath, "wb6");
    CHECK(gz != NULL);
    if (gz) {
        CHECK(gzwrite(gz, rows, (unsigned)len) == (int)len);
        CHECK(gzclose(gz) == Z_OK);
        const char *out2 = mtr_test_path("rows_gz.mtrd");
        CHECK_MSG(mtr_dataset_compile(s, gzpath, out2, &err) == 0, "%s", err.message);
        mtr_dataset *from_gz = mtr_dataset_open(out2, NULL, &err);
        CHECK_MSG(from_gz != NULL, "%s", err.message);
        if (from_gz && mem) CHECK(same_records(from_gz, mem));
        mtr_dataset_free(from_gz);
        /* a schema fitted on the .gz file is the same schema */
        mtr_schema *s2 = fit_rows(gzpath, &err);
        CHECK_MSG(s2 != NULL, "%s", err.message);
        if (s2) CHECK(mtr_schema_fingerprint(s2) == mtr_schema_fingerprint(s));
        mtr_schema_free(s2);
    }
    mtr_dataset_free(mapped);
    mtr_dataset_free(mem);
    mtr_schema_free(s);
    free(rows);
}

TEST(mtrd_write_in_memory_dataset) {
    mtr_error err = {{0}};
    uint32_t *rec = NULL;
    mtr_dataset *ds = mtr_dataset_alloc(3, 2, 1, 2, &rec, &err);
    CHECK_MSG(ds != NULL && rec != NULL, "%s", err.message);
    if (!ds || !rec) return;
    CHECK_EQ_INT(ds->record_words, 5);
    for (size_t r = 0; r < 3; r++) {
        uint32_t *w = rec + r * 5;
        w[0] = (uint32_t)r;
        w[1] = 7;
        float x = 0.5f * (float)r, l0 = (float)(r % 2), l1 = r == 2 ? NAN : 3.0f;
        memcpy(&w[2], &x, 4);
        memcpy(&w[3], &l0, 4);
        memcpy(&w[4], &l1, 4);
    }
    ds->schema_fingerprint = 0x1234;
    const char *path = mtr_test_path("mem.mtrd");
    CHECK_MSG(mtr_dataset_write(ds, path, &err) == 0, "%s", err.message);
    mtr_dataset *back = mtr_dataset_open(path, NULL, &err);
    CHECK_MSG(back != NULL, "%s", err.message);
    if (back) {
        CHECK(same_records(back, ds));
        CHECK(back->schema_fingerprint == 0x1234);
        CHECK_NEAR(mtr_row_numeric(back, 2)[0], 1.0, 0);
        CHECK_NEAR(mtr_dataset_label(back, 1, 0), 1.0, 0);
        CHECK(isnan(mtr_dataset_label(back, 2, 1)));
    }
    mtr_dataset_free(back);
    mtr_dataset_free(ds);
    /* zero rows is a valid (empty) file */
    ds = mtr_dataset_alloc(0, 1, 0, 1, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_MSG(mtr_dataset_write(ds, mtr_test_path("empty.mtrd"), &err) == 0, "%s", err.message);
        back = mtr_dataset_open(mtr_test_path("empty.mtrd"), NULL, &err);
        CHECK_MSG(back != NULL, "%s", err.message);
        if (back) CHECK_EQ_INT(mtr_dataset_rows(back), 0);
        mtr_dataset_free(back);
    }
    mtr_dataset_free(ds);
    CHECK(mtr_dataset_alloc(1, 1, 1, 0, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "bad record shape");
    CHECK(mtr_dataset_alloc(1, 1, 1, MTR_MAX_TASKS + 1, NULL, &err) == NULL);
}

/* Read a whole file into memory. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size + 1);
    if (b && fread(b, 1, (size_t)size, f) != (size_t)size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return b;
}

/* Open `bytes` written to `name`, expecting failure; returns the message. */
static const char *open_error(const char *name, const unsigned char *bytes, size_t n, const mtr_schema *s) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_dataset *ds = mtr_dataset_open(mtr_test_write_file(name, (const char *)bytes, n), s, &err);
    if (ds) {
        mtr_dataset_free(ds);
        return "(opened without error)";
    }
    return err.message;
}

TEST(mtrd_damaged_files_are_refused) {
    mtr_error err = {{0}};
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(100, 3, 2, 1, &rec, &err);
    if (!ds) return;
    for (size_t i = 0; i < 100 * 6; i++) rec[i] = (uint32_t)(i * 2654435761u);
    const char *path = mtr_test_path("good.mtrd");
    CHECK_MSG(mtr_dataset_write(ds, path, &err) == 0, "%s", err.message);
    mtr_dataset_free(ds);
    size_t n;
    unsigned char *b = slurp(path, &n);
    /* 128-byte header, 3 field kinds padded to 192, the records, the CRC */
    CHECK(b != NULL && n == 192 + 100 * 6 * 4 + 4);
    if (!b) return;
    CHECK(memcmp(b, "MTRKDATA", 8) == 0);
    CHECK(b[8] == 2 && b[9] == 0 && b[16] == 100); /* version 2 and 100 rows, little-endian */
    CHECK(b[24] == 3 && b[28] == 2 && b[32] == 1 && b[36] == 0 && b[40] == 0 && b[44] == 6);

    b[0] = 'X';
    const char *m = open_error("magic.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "magic.mtrd: not an mtrank compiled dataset (bad magic)");
    b[0] = 'M';

    b[8] = 3;
    m = open_error("newer.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "newer.mtrd: written by a newer mtrank (data format version 3");
    CHECK_CONTAINS(m, "upgrade");
    b[8] = 1; /* files of version 1 (before multi-valued fields) are refused with the hint to recompile */
    m = open_error("older.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "older.mtrd: written by an older mtrank (data format version 1");
    CHECK_CONTAINS(m, "recompile");
    b[8] = 2;

    m = open_error("short.mtrd", b, n - 10, NULL);
    CHECK_CONTAINS(m, "short.mtrd: file is");
    CHECK_CONTAINS(m, "truncated or corrupt");
    m = open_error("tiny.mtrd", b, 40, NULL);
    CHECK_CONTAINS(m, "tiny.mtrd: truncated");
    m = open_error("zero.mtrd", b, 0, NULL);
    CHECK_CONTAINS(m, "zero.mtrd: not an mtrank compiled dataset (empty file)");

    b[192 + 1000] ^= 0x01;
    m = open_error("flip.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "flip.mtrd: checksum mismatch");
    CHECK_CONTAINS(m, "corrupt");
    b[192 + 1000] ^= 0x01;

    /* sizes that would overflow when multiplied */
    unsigned char saved[8];
    memcpy(saved, b + 16, 8);
    memset(b + 16, 0xff, 8);
    m = open_error("rows.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "rows.mtrd: corrupt header");
    memcpy(b + 16, saved, 8);
    b[44] = 99; /* record words no longer the sum of the parts */
    m = open_error("words.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "words.mtrd: corrupt header: bad record shape");
    b[44] = 6;
    b[40] = 4; /* more multi-valued fields than fields */
    m = open_error("multi.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "multi.mtrd: corrupt header: bad record shape");
    b[40] = 0;
    b[129] = 1; /* a field kind says multi-valued, the header says none */
    m = open_error("kinds.mtrd", b, n, NULL);
    CHECK_CONTAINS(m, "kinds.mtrd: corrupt header: 0 multi-valued fields, the field kinds say 1");
    b[129] = 0;

    m = open_error("fine.mtrd", b, n, NULL); /* restored: opens */
    CHECK_CONTAINS(m, "(opened without error)");
    free(b);

    const char *missing = mtr_test_path("nothing.mtrd");
    CHECK(mtr_dataset_open(missing, NULL, &err) == NULL);
    CHECK_CONTAINS(err.message, "nothing.mtrd: cannot open: No such file or directory");
}

TEST(mtrd_other_schema_is_refused) {
    const char *txt = mtr_test_write_file("fp.csv", "a,1,1,2\nb,2,0,3\na,3,1,4\n", 24);
    mtr_error err = {{0}};
    mtr_schema *s = fit_rows(txt, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    mtr_spec *sp = mtr_spec_parse(
        "[input]\ncolumns = city, n, flag, y\n[features]\ncity = categorical min_count=2\nn = numeric\n"
        "[task t]\ncolumn = flag\ntype = binary\npositive = 1\nnegative = 0\n[task r]\ncolumn = y\ntype = regression\n",
        "other.spec", &err);
    mtr_schema *other = sp ? mtr_schema_fit(sp, txt, &err) : NULL;
    CHECK_MSG(other != NULL, "%s", err.message);
    const char *out = mtr_test_path("fp.mtrd");
    CHECK_MSG(mtr_dataset_compile(s, txt, out, &err) == 0, "%s", err.message);
    if (other) {
        CHECK(mtr_schema_fingerprint(other) != mtr_schema_fingerprint(s));
        CHECK(mtr_dataset_open(out, other, &err) == NULL);
        CHECK_CONTAINS(err.message, "fp.mtrd: compiled with a different schema");
        CHECK_CONTAINS(err.message, "recompile");
    }
    mtr_dataset *ok = mtr_dataset_open(out, s, &err);
    CHECK_MSG(ok != NULL, "%s", err.message);
    mtr_dataset_free(ok);
    mtr_schema_free(other);
    mtr_spec_free(sp);
    mtr_schema_free(s);
}

TEST(mtrd_generated_data_with_synthetic_schema) {
    static const uint32_t sizes[2] = {4, 2};
    mtr_error err = {{0}};
    mtr_schema *s = mtr_schema_synthetic(2, sizes, NULL, 1, NULL, 1, NULL, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    uint32_t *rec;
    mtr_dataset *ds = mtr_dataset_alloc(5, 2, 1, 1, &rec, &err);
    if (!ds) {
        mtr_schema_free(s);
        return;
    }
    for (uint32_t r = 0; r < 5; r++) {
        rec[r * 4 + 0] = r % 4;
        rec[r * 4 + 1] = r % 2;
    }
    /* no fingerprint recorded: opens with the schema once every id is inside its vocabulary */
    const char *path = mtr_test_path("gen.mtrd");
    CHECK_MSG(mtr_dataset_write(ds, path, &err) == 0, "%s", err.message);
    mtr_dataset *back = mtr_dataset_open(path, s, &err);
    CHECK_MSG(back != NULL, "%s", err.message);
    mtr_dataset_free(back);
    rec[3 * 4 + 1] = 2; /* row 3, field 1: vocabulary size 2 */
    CHECK(mtr_dataset_write(ds, path, &err) == 0);
    CHECK(mtr_dataset_open(path, s, &err) == NULL);
    CHECK_CONTAINS(err.message, "gen.mtrd: row 3: id 2 of field 'cat_1' is outside its vocabulary of 2");
    back = mtr_dataset_open(path, NULL, &err); /* without a schema there is nothing to check against */
    CHECK_MSG(back != NULL, "%s", err.message);
    mtr_dataset_free(back);
    /* with the schema's fingerprint recorded, a different schema is refused */
    rec[3 * 4 + 1] = 1;
    ds->schema_fingerprint = mtr_schema_fingerprint(s);
    CHECK(mtr_dataset_write(ds, path, &err) == 0);
    back = mtr_dataset_open(path, s, &err);
    CHECK_MSG(back != NULL, "%s", err.message);
    mtr_dataset_free(back);
    static const uint32_t sizes2[2] = {5, 2};
    mtr_schema *other = mtr_schema_synthetic(2, sizes2, NULL, 1, NULL, 1, NULL, NULL, &err);
    if (other) {
        CHECK(mtr_dataset_open(path, other, &err) == NULL);
        CHECK_CONTAINS(err.message, "compiled with a different schema");
    }
    mtr_schema_free(other);
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(read_text_from_stdin) {
    mtr_error err = {{0}};
    const char *txt = mtr_test_write_file("stdin.csv", "a,1,1,2\nb,2,0,3\n", 16);
    mtr_schema *s = fit_rows(txt, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    int saved = dup(STDIN_FILENO);
    int fd = open(txt, O_RDONLY);
    if (!s || saved < 0 || fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
        CHECK(0);
    } else {
        mtr_dataset *ds = mtr_dataset_read_text(s, "-", 1, &err);
        CHECK_MSG(ds != NULL, "%s", err.message);
        if (ds) CHECK_EQ_INT(mtr_dataset_rows(ds), 2);
        mtr_dataset_free(ds);
    }
    if (saved >= 0) {
        dup2(saved, STDIN_FILENO);
        close(saved);
    }
    if (fd >= 0) close(fd);
    mtr_schema_free(s);
}
