/* test_data_batch.c - the streaming dataset writer (round trips with 0 and 2,000 rows of mixed single-,
 * multi-valued and shared-table fields plus aux values; bad rows refused), version-2 files with a row
 * index (rewritten in-memory datasets; damaged indexes, counts and maxima refused even with a valid
 * checksum), and batch gathering into CSR form for fixed and variable records, in order, through a
 * shuffle and through a view's row list. */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/dataset_writer.h"
#include "data/schema.h"
#include "fixtures.h"
#include "mtrank.h"
#include "test.h"
#include "util/rng.h"

/* Fields: f0 single (10), f1 multi mean (20), f2 multi sharing f1's table, f3 single (7); 2 numeric,
 * 2 tasks, 1 aux. */
static mtr_schema *mixed_schema(void) {
    static const uint32_t sizes[4] = {10, 20, 20, 7};
    static const unsigned char multi[4] = {0, 1, 1, 0}, mean[4] = {0, 1, 0, 0};
    static const int table[4] = {0, 1, 1, 3};
    static const char *const names[4] = {"user", "tags", "history", "slot"};
    mtr_schema_synthetic_desc d = {.n_cat = 4, .vocab_sizes = sizes, .cat_names = names, .cat_multi = multi,
                                   .cat_pool_mean = mean, .cat_table = table, .n_num = 2, .n_tasks = 2, .n_aux = 1};
    mtr_error err = {{0}};
    mtr_schema *s = mtr_schema_synthetic_ex(&d, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    return s;
}

/* The generated row r: CSR ids over the 4 fields, numeric, labels (NaN every 7th row), aux. */
typedef struct gen_row {
    uint32_t id_start[5];
    uint32_t ids[16];
    float numeric[2], labels[2], aux[1];
} gen_row;

static void gen(size_t r, gen_row *g) {
    mtr_rng rng;
    mtr_rng_seed(&rng, 1000 + r);
    static const uint32_t sizes[4] = {10, 20, 20, 7}, max_n[4] = {1, 6, 4, 1};
    uint32_t k = 0;
    for (int f = 0; f < 4; f++) {
        g->id_start[f] = k;
        uint32_t n = max_n[f] == 1 ? 1 : (uint32_t)mtr_rng_below(&rng, max_n[f]);
        for (uint32_t i = 0; i < n; i++) g->ids[k++] = (uint32_t)mtr_rng_below(&rng, sizes[f]);
    }
    g->id_start[4] = k;
    g->numeric[0] = (float)mtr_rng_normal(&rng);
    g->numeric[1] = (float)r;
    g->labels[0] = (float)(r % 2);
    g->labels[1] = r % 7 == 0 ? NAN : 0.5f * (float)r;
    g->aux[0] = 0.25f * (float)r;
}

static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

/* Row r of ds against the generated row. */
static void check_row(const mtr_dataset *ds, size_t r) {
    gen_row g;
    gen(r, &g);
    const uint32_t *single = mtr_row_ids(ds, r), *counts = mtr_row_multi_counts(ds, r);
    const uint32_t *multi = mtr_row_multi_ids(ds, r);
    CHECK_EQ_INT(single[0], g.ids[g.id_start[0]]);
    CHECK_EQ_INT(single[1], g.ids[g.id_start[3]]);
    CHECK_EQ_INT(counts[0], g.id_start[2] - g.id_start[1]);
    CHECK_EQ_INT(counts[1], g.id_start[3] - g.id_start[2]);
    CHECK(memcmp(multi, g.ids + g.id_start[1], (g.id_start[3] - g.id_start[1]) * 4) == 0);
    CHECK(memcmp(mtr_row_numeric(ds, r), g.numeric, sizeof g.numeric) == 0);
    CHECK(same_float(mtr_dataset_label(ds, r, 0), g.labels[0]) && same_float(mtr_dataset_label(ds, r, 1), g.labels[1]));
    CHECK(same_float(mtr_dataset_aux(ds, r, 0), g.aux[0]));
}

#define N_ROWS 2000

TEST(writer_round_trip_with_multi_fields_and_aux) {
    mtr_schema *s = mixed_schema();
    if (!s) return;
    mtr_error err = {{0}};
    const char *path = mtr_test_path("mixed.mtrd");
    mtr_dataset_writer *w = mtr_dataset_writer_open(path, s, &err);
    CHECK_MSG(w != NULL, "%s", err.message);
    uint32_t max_ids = 0;
    for (size_t r = 0; w && r < N_ROWS; r++) {
        gen_row g;
        gen(r, &g);
        if (g.id_start[4] > max_ids) max_ids = g.id_start[4];
        int rc = mtr_dataset_writer_add(w, g.id_start, g.ids, g.numeric, g.labels, g.aux, &err);
        CHECK_MSG(rc == 0, "%s", err.message);
        if (rc != 0) break;
    }
    CHECK(w && mtr_dataset_writer_rows(w) == N_ROWS);
    CHECK_MSG(w && mtr_dataset_writer_commit(w, &err) == 0, "%s", err.message);
    mtr_dataset *ds = mtr_dataset_open(path, s, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), N_ROWS);
        CHECK(ds->schema_fingerprint == mtr_schema_fingerprint(s));
        CHECK_EQ_INT(ds->n_single, 2);
        CHECK_EQ_INT(ds->n_multi, 2);
        CHECK_EQ_INT(ds->record_words, 4 + 2 + 2 + 1);
        CHECK_EQ_INT(ds->max_row_ids, max_ids);
        CHECK(ds->field_multi && ds->field_multi[0] == 0 && ds->field_multi[1] == 1 && ds->field_multi[3] == 0);
        CHECK_EQ_INT((uintptr_t)ds->row_offsets % 8, 0);
        for (size_t r = 0; r < N_ROWS; r++) check_row(ds, r);
        /* an in-memory copy written again gives the same bytes */
        const char *again = mtr_test_path("again.mtrd");
        CHECK_MSG(mtr_dataset_write(ds, again, &err) == 0, "%s", err.message);
        mtr_dataset *back = mtr_dataset_open(again, NULL, &err);
        CHECK_MSG(back != NULL, "%s", err.message);
        if (back) {
            CHECK(back->map_size == ds->map_size && memcmp(back->map, ds->map, ds->map_size) == 0);
            CHECK_EQ_INT(mtr_dataset_aux_count(back), 1);
        }
        mtr_dataset_free(back);
    }
    mtr_dataset_free(ds);
    /* zero rows: a valid empty file with an index of one entry */
    w = mtr_dataset_writer_open(mtr_test_path("empty.mtrd"), s, &err);
    CHECK_MSG(w != NULL && mtr_dataset_writer_commit(w, &err) == 0, "%s", err.message);
    ds = mtr_dataset_open(mtr_test_path("empty.mtrd"), s, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        CHECK_EQ_INT(mtr_dataset_rows(ds), 0);
        CHECK_EQ_INT(ds->n_multi, 2);
        CHECK_EQ_INT(ds->row_offsets[0], 0);
        CHECK_EQ_INT(ds->max_row_ids, 0);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}

TEST(writer_refuses_bad_rows_and_abort_leaves_nothing) {
    mtr_schema *s = mixed_schema();
    if (!s) return;
    mtr_error err = {{0}};
    const char *path = mtr_test_path("bad.mtrd");
    gen_row g;
    gen(3, &g);
    static const float num[2] = {0, 0};
    /* the single-valued field 'user' with two ids */
    uint32_t two[5] = {0, 2, 2, 2, 3}, ids[3] = {1, 2, 3};
    mtr_dataset_writer *w = mtr_dataset_writer_open(path, s, &err);
    CHECK_MSG(w != NULL, "%s", err.message);
    if (!w) {
        mtr_schema_free(s);
        return;
    }
    CHECK(mtr_dataset_writer_add(w, g.id_start, g.ids, g.numeric, g.labels, g.aux, &err) == 0);
    CHECK(mtr_dataset_writer_add(w, two, ids, num, NULL, NULL, &err) != 0);
    CHECK_CONTAINS(err.message, "bad.mtrd: row 1: field 'user' is single-valued but has 2 ids");
    uint32_t one_each[5] = {0, 1, 2, 2, 3}, big[3] = {1, 20, 3};
    CHECK(mtr_dataset_writer_add(w, one_each, big, num, NULL, NULL, &err) != 0);
    CHECK_CONTAINS(err.message, "bad.mtrd: row 1: id 20 of field 'tags' is outside its vocabulary of 20");
    uint32_t down[5] = {0, 1, 0, 2, 3};
    CHECK(mtr_dataset_writer_add(w, down, ids, num, NULL, NULL, &err) != 0);
    CHECK_CONTAINS(err.message, "bad.mtrd: row 1: id_start is not ascending at field 1");
    CHECK(mtr_dataset_writer_add(w, one_each, ids, NULL, NULL, NULL, &err) != 0);
    CHECK_CONTAINS(err.message, "bad.mtrd: row 1: no numeric inputs given");
    mtr_dataset_writer_abort(w);
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f == NULL, "an aborted writer left %s behind", path);
    if (f) fclose(f);
    mtr_schema_free(s);
}

/* Whole file into memory. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size);
    if (b && fread(b, 1, (size_t)size, f) != (size_t)size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return b;
}

/* Write bytes with a freshly computed CRC trailer (so only the deeper checks can catch the change),
 * open them and return the message. */
static const char *open_resealed(const char *name, unsigned char *b, size_t n, const mtr_schema *s) {
    static mtr_error err;
    err.message[0] = '\0';
    uint32_t crc = (uint32_t)crc32(0, b, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) b[n - 4 + i] = (unsigned char)(crc >> (8 * i));
    mtr_dataset *ds = mtr_dataset_open(mtr_test_write_file(name, (const char *)b, n), s, &err);
    if (ds) {
        mtr_dataset_free(ds);
        return "(opened without error)";
    }
    return err.message;
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

TEST(v2_variable_files_damaged_are_refused) {
    mtr_schema *s = mixed_schema();
    if (!s) return;
    mtr_error err = {{0}};
    const char *path = mtr_test_path("v.mtrd");
    mtr_dataset_writer *w = mtr_dataset_writer_open(path, s, &err);
    for (size_t r = 0; w && r < 50; r++) {
        gen_row g;
        gen(r, &g);
        CHECK(mtr_dataset_writer_add(w, g.id_start, g.ids, g.numeric, g.labels, g.aux, &err) == 0);
    }
    CHECK_MSG(w && mtr_dataset_writer_commit(w, &err) == 0, "%s", err.message);
    size_t n;
    unsigned char *b = slurp(path, &n);
    if (!b) {
        mtr_schema_free(s);
        return;
    }
    uint64_t data = get64(b + 56), words = get64(b + 64), index = get64(b + 72);
    CHECK_EQ_INT(data, 192); /* 128 + 4 field kinds, rounded up to 64 */
    CHECK(b[128] == 0 && b[129] == 1 && b[130] == 1 && b[131] == 0);
    CHECK_EQ_INT(index, (data + words * 4 + 7) / 8 * 8);
    CHECK_EQ_INT(n, index + 51 * 8 + 4);
    CHECK_CONTAINS(open_resealed("fine.mtrd", b, n, s), "(opened without error)");
    /* an index entry moved: row 10 starts one word later */
    unsigned char *e = b + index + 10 * 8;
    e[0]++;
    CHECK_CONTAINS(open_resealed("index.mtrd", b, n, s), "index.mtrd: row 9: record length or id count disagrees");
    e[0]--;
    b[index]++; /* the first offset is not 0 */
    CHECK_CONTAINS(open_resealed("first.mtrd", b, n, s), "first.mtrd: corrupt row index");
    b[index]--;
    /* a count inside row 0 raised: its record no longer has that many ids */
    unsigned char *count = b + data + (2 + 2 + 2 + 1) * 4;
    count[0] += 1;
    CHECK_CONTAINS(open_resealed("count.mtrd", b, n, s), "count.mtrd: row 0: record length or id count disagrees");
    count[0] -= 1;
    /* a header maximum below a row's id count */
    unsigned char saved = b[80];
    b[80] = 1;
    CHECK_CONTAINS(open_resealed("max.mtrd", b, n, s), "record length or id count disagrees");
    b[80] = saved;
    /* another schema's field kinds, and a file cut short (last: resealing it overwrites index bytes) */
    static const uint32_t sizes[4] = {10, 20, 20, 7};
    mtr_schema *single = mtr_schema_synthetic(4, sizes, NULL, 2, NULL, 2, NULL, NULL, &err);
    if (single) CHECK_CONTAINS(open_resealed("other.mtrd", b, n, single), "compiled with a different schema");
    CHECK_CONTAINS(open_resealed("short.mtrd", b, n - 8, s), "short.mtrd: file is");
    mtr_schema_free(single);
    mtr_schema_free(s);
    free(b);
}

/* Gather through `order` (may be NULL) in batches of B and compare every row with the dataset. */
static void check_gather(const mtr_view *v, const uint32_t *order, int B) {
    const mtr_dataset *ds = v->data;
    mtr_batch b;
    mtr_error err = {{0}};
    CHECK_MSG(mtr_batch_init(&b, ds, B, &err) == 0, "%s", err.message);
    if (!b.ids) return;
    int F = ds->n_cat;
    size_t bad = 0;
    for (size_t start = 0; start < v->count; start += (size_t)B) {
        int n = v->count - start < (size_t)B ? (int)(v->count - start) : B;
        mtr_batch_gather(&b, v, order, start, n);
        CHECK_EQ_INT(b.n_rows, n);
        CHECK_EQ_INT(b.id_start[0], 0);
        for (int r = 0; r < n; r++) {
            size_t pos = order ? order[start + (size_t)r] : start + (size_t)r;
            size_t row = v->rows ? v->rows[pos] : pos;
            const uint32_t *single = mtr_row_ids(ds, row), *counts = mtr_row_multi_counts(ds, row);
            const uint32_t *multi = mtr_row_multi_ids(ds, row);
            int s = 0, m = 0;
            for (int f = 0; f < F; f++) {
                const uint32_t *got = b.ids + b.id_start[r * F + f];
                uint32_t len = b.id_start[r * F + f + 1] - b.id_start[r * F + f];
                if (ds->field_multi && ds->field_multi[f]) {
                    bad += len != counts[m] || memcmp(got, multi, len * 4) != 0;
                    multi += counts[m++];
                } else {
                    bad += len != 1 || got[0] != single[s++];
                }
            }
            bad += memcmp(b.numeric + r * ds->n_num, mtr_row_numeric(ds, row), (size_t)ds->n_num * 4) != 0;
            bad += memcmp(b.labels + r * ds->n_tasks, mtr_row_labels(ds, row), (size_t)ds->n_tasks * 4) != 0;
            bad += memcmp(b.aux + r * ds->n_aux, mtr_row_aux(ds, row), (size_t)ds->n_aux * 4) != 0;
        }
        CHECK(b.id_start[n * F] <= b.max_ids);
    }
    CHECK_EQ_INT(bad, 0);
    mtr_batch_free(&b);
}

TEST(batch_gather_fixed_and_variable_records) {
    /* fixed records: one id per (row, field), positions b*F+f */
    mtr_schema *fs = fixture_schema(MTR_TASK_BINARY);
    mtr_dataset *fixed = fs ? fixture_dataset(fs, 300, 7, 5) : NULL;
    CHECK(fixed != NULL);
    if (fixed) {
        mtr_view all = mtr_view_all(fixed);
        check_gather(&all, NULL, 64);
        mtr_batch b;
        mtr_error err = {{0}};
        CHECK(mtr_batch_init(&b, fixed, 8, &err) == 0);
        if (b.ids) {
            mtr_batch_gather(&b, &all, NULL, 16, 8);
            for (int i = 0; i <= 8 * 3; i++) CHECK_EQ_INT(b.id_start[i], i);
            CHECK(memcmp(b.ids, mtr_row_ids(fixed, 16), 3 * 4) == 0);
            CHECK_EQ_INT(b.n_aux, 0);
            CHECK_EQ_INT(b.max_ids, 8 * 3);
        }
        mtr_batch_free(&b);
        CHECK(mtr_batch_init(&b, fixed, 0, &err) != 0);
        CHECK_CONTAINS(err.message, "batch: 0 rows");
        mtr_batch_free(&b); /* safe after a failed init */
        /* through a shuffle, and through a split view's row list */
        uint32_t *order = malloc(300 * sizeof *order);
        mtr_rng rng;
        mtr_rng_seed(&rng, 3);
        for (uint32_t i = 0; order && i < 300; i++) order[i] = i;
        if (order) mtr_rng_shuffle_u32(&rng, order, 300);
        if (order) check_gather(&all, order, 32);
        mtr_view first, second;
        CHECK(mtr_view_split(fixed, 0.3, 9, &first, &second, &err) == 0);
        CHECK_EQ_INT(second.count, 210);
        uint32_t order2[210];
        for (uint32_t i = 0; i < 210; i++) order2[i] = 209 - i; /* view positions, reversed */
        check_gather(&second, order2, 17);
        mtr_view_free_rows(&first);
        mtr_view_free_rows(&second);
        free(order);
    }
    mtr_dataset_free(fixed);
    mtr_schema_free(fs);
    /* variable records from the writer, in order and shuffled */
    mtr_schema *s = mixed_schema();
    mtr_error err = {{0}};
    const char *path = mtr_test_path("gather.mtrd");
    mtr_dataset_writer *w = s ? mtr_dataset_writer_open(path, s, &err) : NULL;
    for (size_t r = 0; w && r < 500; r++) {
        gen_row g;
        gen(r, &g);
        CHECK(mtr_dataset_writer_add(w, g.id_start, g.ids, g.numeric, g.labels, g.aux, &err) == 0);
    }
    CHECK_MSG(w && mtr_dataset_writer_commit(w, &err) == 0, "%s", err.message);
    mtr_dataset *ds = s ? mtr_dataset_open(path, s, &err) : NULL;
    CHECK_MSG(ds != NULL, "%s", err.message);
    if (ds) {
        mtr_view all = mtr_view_all(ds);
        check_gather(&all, NULL, 64);
        uint32_t order[500];
        mtr_rng rng;
        mtr_rng_seed(&rng, 4);
        for (uint32_t i = 0; i < 500; i++) order[i] = i;
        mtr_rng_shuffle_u32(&rng, order, 500);
        check_gather(&all, order, 50);
        check_gather(&all, order, 1);
        /* the CSR offsets of one known row */
        mtr_batch b;
        CHECK(mtr_batch_init(&b, ds, 4, &err) == 0);
        if (b.ids) {
            mtr_batch_gather(&b, &all, NULL, 10, 1);
            gen_row g;
            gen(10, &g);
            for (int f = 0; f <= 4; f++) CHECK_EQ_INT(b.id_start[f], g.id_start[f]);
            CHECK(memcmp(b.ids, g.ids, g.id_start[4] * 4) == 0);
            CHECK_NEAR(b.aux[0], 2.5, 0);
            CHECK_EQ_INT(b.max_ids, 4 * (size_t)ds->max_row_ids);
        }
        mtr_batch_free(&b);
    }
    mtr_dataset_free(ds);
    mtr_schema_free(s);
}
