/* dataset.c - the dataset object: in-memory allocation for generators and tests, accessors, freeing
 * (mapped files are unmapped, heap records freed). */
#define _DEFAULT_SOURCE /* madvise */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data/dataset.h"
#include "util/error.h"

mtr_dataset *mtr_dataset_alloc(size_t n_rows, int n_cat, int n_num, int n_tasks, uint32_t **records,
                               mtr_error *err) {
    if (records) *records = NULL;
    if (n_cat < 0 || n_num < 0 || n_tasks < 1 || n_tasks > MTR_MAX_TASKS || n_cat > (1 << 28) ||
        n_num > (1 << 28)) {
        mtr_fail(err, "dataset: bad record shape (%d categorical, %d numeric, %d tasks)", n_cat, n_num, n_tasks);
        return NULL;
    }
    if (n_rows > UINT32_MAX) {
        mtr_fail(err, "dataset: %zu rows (at most %u)", n_rows, UINT32_MAX);
        return NULL;
    }
    size_t words = (size_t)n_cat + (size_t)n_num + (size_t)n_tasks;
    if (n_rows > SIZE_MAX / sizeof(uint32_t) / words) {
        mtr_fail(err, "dataset: %zu rows of %zu words do not fit in memory", n_rows, words);
        return NULL;
    }
    mtr_dataset *ds = calloc(1, sizeof *ds);
    uint32_t *rec = calloc(n_rows ? n_rows * words : 1, sizeof *rec);
    if (!ds || !rec) {
        free(ds);
        free(rec);
        mtr_fail(err, "dataset: out of memory for %zu rows of %zu words", n_rows, words);
        return NULL;
    }
    ds->n_rows = n_rows;
    ds->n_cat = n_cat;
    ds->n_num = n_num;
    ds->n_tasks = n_tasks;
    ds->n_single = n_cat;
    ds->max_row_ids = (uint32_t)n_cat;
    ds->record_words = words;
    ds->records = rec;
    ds->owned = rec;
    if (records) *records = rec;
    return ds;
}

void mtr_dataset_free(mtr_dataset *ds) {
    if (!ds) return;
    if (ds->map) munmap(ds->map, ds->map_size);
    free(ds->owned);
    free(ds->owned_index);
    free(ds->owned_fields);
    free(ds);
}

size_t mtr_dataset_rows(const mtr_dataset *ds) { return ds->n_rows; }

int mtr_dataset_task_count(const mtr_dataset *ds) { return ds->n_tasks; }

float mtr_dataset_label(const mtr_dataset *ds, size_t row, int task) {
    assert(row < ds->n_rows && task >= 0 && task < ds->n_tasks);
    if (row >= ds->n_rows || task < 0 || task >= ds->n_tasks) return NAN;
    return mtr_row_labels(ds, row)[task];
}

int mtr_dataset_aux_count(const mtr_dataset *ds) { return ds->n_aux; }

float mtr_dataset_aux(const mtr_dataset *ds, size_t row, int i) {
    assert(row < ds->n_rows && i >= 0 && i < ds->n_aux);
    if (row >= ds->n_rows || i < 0 || i >= ds->n_aux) return NAN;
    return mtr_row_aux(ds, row)[i];
}

void mtr_map_drop_pages(const void *lo, const void *hi) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)lo + page - 1) & ~(page - 1), b = (uintptr_t)hi & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Drop the whole pages inside [lo, hi) of the mapping. */
static void release_bytes(const mtr_dataset *ds, const void *lo, const void *hi) {
    const char *base = ds->map, *end = base + ds->map_size;
    mtr_map_drop_pages((const char *)lo < base ? base : lo, (const char *)hi > end ? end : hi);
}

void mtr_dataset_release_rows(const mtr_dataset *ds, size_t first, size_t count) {
    if (!ds->map || count == 0 || first >= ds->n_rows) return;
    if (first + count > ds->n_rows) count = ds->n_rows - first;
    const uint32_t *lo = ds->records + mtr_row_start(ds, first);
    const uint32_t *hi = first + count < ds->n_rows ? ds->records + mtr_row_start(ds, first + count)
                                                    : (const uint32_t *)((const char *)ds->map + ds->map_size);
    release_bytes(ds, lo, hi);
    if (ds->row_offsets) release_bytes(ds, ds->row_offsets + first, ds->row_offsets + first + count);
}
