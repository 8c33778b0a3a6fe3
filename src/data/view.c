/* view.c - views over a dataset's rows. A split shuffles the row numbers with a seeded Fisher-Yates
 * (util/rng.h), so the same seed always gives the same split, then hands each side its rows in ascending
 * order, which keeps reads through the mapped file sequential. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "util/error.h"
#include "util/rng.h"

mtr_view mtr_view_all(const mtr_dataset *ds) {
    mtr_view v = {ds, NULL, ds ? ds->n_rows : 0};
    return v;
}

void mtr_view_free_rows(mtr_view *view) {
    if (!view) return;
    free((void *)view->rows);
    view->rows = NULL;
    view->count = 0;
}

/* Rows marked (or unmarked) in `in_first`, ascending; NULL only when out of memory (n > 0). */
static uint32_t *collect(const unsigned char *in_first, size_t n, unsigned char want, size_t count) {
    if (count == 0) return NULL;
    uint32_t *rows = malloc(count * sizeof *rows);
    if (!rows) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in_first[i] == want) rows[k++] = (uint32_t)i;
    return rows;
}

int mtr_view_split(const mtr_dataset *ds, double fraction, uint64_t seed, mtr_view *first,
                   mtr_view *second, mtr_error *err) {
    memset(first, 0, sizeof *first);
    memset(second, 0, sizeof *second);
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return mtr_fail(err, "split fraction %g is not between 0 and 1", fraction);
    size_t n = ds->n_rows;
    size_t k = (size_t)floor(fraction * (double)n + 0.5);
    if (k > n) k = n;
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    unsigned char *in_first = calloc(n ? n : 1, 1);
    if (!perm || !in_first) {
        free(perm);
        free(in_first);
        return mtr_fail(err, "split: out of memory for %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    mtr_rng rng;
    mtr_rng_seed(&rng, seed);
    mtr_rng_shuffle_u32(&rng, perm, n);
    for (size_t i = 0; i < k; i++) in_first[perm[i]] = 1;
    free(perm);
    uint32_t *a = collect(in_first, n, 1, k), *b = collect(in_first, n, 0, n - k);
    free(in_first);
    if ((k > 0 && !a) || (n - k > 0 && !b)) {
        free(a);
        free(b);
        return mtr_fail(err, "split: out of memory for %zu rows", n);
    }
    *first = (mtr_view){ds, a, k};
    *second = (mtr_view){ds, b, n - k};
    return 0;
}
