/* test_data_view.c - views: all rows, and seeded splits (sizes, determinism, disjoint cover, order). */
#include <stdlib.h>

#include "data/dataset.h"
#include "mtrank.h"
#include "test.h"

static mtr_dataset *rows(size_t n) {
    mtr_error err = {{0}};
    mtr_dataset *ds = mtr_dataset_alloc(n, 1, 0, 1, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.message);
    return ds;
}

TEST(view_all_covers_every_row) {
    mtr_dataset *ds = rows(7);
    if (!ds) return;
    mtr_view v = mtr_view_all(ds);
    CHECK(v.data == ds && v.rows == NULL && v.count == 7);
    mtr_dataset_free(ds);
}

TEST(view_split_sizes_cover_and_determinism) {
    mtr_dataset *ds = rows(1001);
    if (!ds) return;
    mtr_error err = {{0}};
    mtr_view a, b, c, d;
    CHECK_MSG(mtr_view_split(ds, 0.5, 42, &a, &b, &err) == 0, "%s", err.message);
    CHECK_EQ_INT(a.count, 501); /* round(500.5) */
    CHECK_EQ_INT(b.count, 500);
    CHECK(a.data == ds && b.data == ds);
    unsigned char *seen = calloc(1001, 1);
    if (seen && a.rows && b.rows) {
        for (size_t i = 0; i < a.count; i++) seen[a.rows[i]]++;
        for (size_t i = 0; i < b.count; i++) seen[b.rows[i]]++;
        int once = 1;
        for (size_t i = 0; i < 1001; i++) once &= seen[i] == 1;
        CHECK(once);
        int ascending = 1;
        for (size_t i = 1; i < a.count; i++) ascending &= a.rows[i - 1] < a.rows[i];
        CHECK(ascending);
    }
    free(seen);
    /* same seed, same split; another seed, another split */
    CHECK(mtr_view_split(ds, 0.5, 42, &c, &d, &err) == 0);
    CHECK(c.count == a.count && memcmp(c.rows, a.rows, a.count * sizeof *a.rows) == 0);
    mtr_view_free_rows(&c);
    mtr_view_free_rows(&d);
    CHECK(mtr_view_split(ds, 0.5, 43, &c, &d, &err) == 0);
    CHECK(c.count == a.count && memcmp(c.rows, a.rows, a.count * sizeof *a.rows) != 0);
    mtr_view_free_rows(&c);
    mtr_view_free_rows(&d);
    /* a split is not just the first rows */
    CHECK(a.rows[a.count - 1] > 600);
    mtr_view_free_rows(&a);
    mtr_view_free_rows(&b);
    CHECK(a.rows == NULL && a.count == 0);
    mtr_dataset_free(ds);
}

TEST(view_split_boundaries) {
    mtr_dataset *ds = rows(10);
    if (!ds) return;
    mtr_error err = {{0}};
    mtr_view a, b;
    static const double fractions[] = {0.0, 0.04, 0.05, 0.25, 0.94, 0.95, 1.0};
    static const size_t expect[] = {0, 0, 1, 3, 9, 10, 10}; /* round half up */
    for (int i = 0; i < 7; i++) {
        CHECK_MSG(mtr_view_split(ds, fractions[i], 1, &a, &b, &err) == 0, "%s", err.message);
        CHECK_EQ_INT(a.count, expect[i]);
        CHECK_EQ_INT(b.count, 10 - expect[i]);
        mtr_view_free_rows(&a);
        mtr_view_free_rows(&b);
    }
    CHECK(mtr_view_split(ds, 1.5, 1, &a, &b, &err) != 0);
    CHECK_CONTAINS(err.message, "split fraction 1.5 is not between 0 and 1");
    CHECK(mtr_view_split(ds, NAN, 1, &a, &b, &err) != 0);
    CHECK(a.count == 0 && b.count == 0 && a.rows == NULL);
    mtr_dataset_free(ds);
}
