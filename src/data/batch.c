/* batch.c - gathering rows into the CSR batch of batch.h. Buffers are sized once from the dataset's
 * largest row; the gather never allocates. Fixed-size records (no multi-valued field) copy each part of a
 * row with one memcpy and give every (row, field) exactly one id; variable records walk the fields,
 * copying each multi-valued field's ids with one memcpy. */
#include "data/batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "util/error.h"

int mtr_batch_init(mtr_batch *b, const mtr_dataset *ds, int max_rows, mtr_error *err) {
    memset(b, 0, sizeof *b);
    if (max_rows < 1) return mtr_fail(err, "batch: %d rows (at least 1)", max_rows);
    size_t B = (size_t)max_rows, F = (size_t)ds->n_cat, max_ids = (size_t)ds->max_row_ids;
    if ((F && B > (SIZE_MAX / sizeof(uint32_t) - 1) / F) || (max_ids && B > SIZE_MAX / sizeof(uint32_t) / max_ids) ||
        B > SIZE_MAX / sizeof(float) / ((size_t)ds->n_num + (size_t)ds->n_tasks + (size_t)ds->n_aux + 1))
        return mtr_fail(err, "batch: %d rows of this dataset do not fit in memory", max_rows);
    b->n_fields = ds->n_cat;
    b->n_numeric = ds->n_num;
    b->n_tasks = ds->n_tasks;
    b->n_aux = ds->n_aux;
    b->max_rows = max_rows;
    b->max_ids = B * max_ids;
    b->id_start = malloc((B * F + 1) * sizeof *b->id_start);
    b->ids = malloc((b->max_ids ? b->max_ids : 1) * sizeof *b->ids);
    b->numeric = malloc((B * (size_t)ds->n_num + 1) * sizeof *b->numeric);
    b->labels = malloc((B * (size_t)ds->n_tasks + 1) * sizeof *b->labels);
    b->aux = malloc((B * (size_t)ds->n_aux + 1) * sizeof *b->aux);
    if (!b->id_start || !b->ids || !b->numeric || !b->labels || !b->aux) {
        mtr_batch_free(b);
        return mtr_fail(err, "batch: out of memory for %d rows (%zu ids)", max_rows, B * max_ids);
    }
    b->id_start[0] = 0;
    return 0;
}

void mtr_batch_free(mtr_batch *b) {
    if (!b) return;
    free(b->id_start);
    free(b->ids);
    free(b->numeric);
    free(b->labels);
    free(b->aux);
    memset(b, 0, sizeof *b);
}

void mtr_batch_gather(mtr_batch *b, const mtr_view *view, const uint32_t *order, size_t start, int B) {
    const mtr_dataset *ds = view->data;
    const size_t F = (size_t)ds->n_cat, N = (size_t)ds->n_num, T = (size_t)ds->n_tasks, A = (size_t)ds->n_aux;
    const size_t S = (size_t)ds->n_single, M = (size_t)ds->n_multi;
    assert(B >= 0 && B <= b->max_rows);
    assert(b->n_fields == ds->n_cat && b->n_numeric == ds->n_num && b->n_tasks == ds->n_tasks &&
           b->n_aux == ds->n_aux);
    /* the batch must have been sized for rows this large (mtr_batch_init with this dataset or one with
     * larger rows); if not, fewer rows are gathered rather than written past the buffer */
    assert((size_t)B * ds->max_row_ids <= b->max_ids);
    if ((size_t)B * ds->max_row_ids > b->max_ids) B = ds->max_row_ids ? (int)(b->max_ids / ds->max_row_ids) : B;
    uint32_t *id_start = b->id_start, *ids = b->ids;
    size_t k = 0; /* ids gathered */
    for (int r = 0; r < B; r++) {
        size_t pos = start + (size_t)r;
        if (order) pos = order[pos];
        size_t row = view->rows ? view->rows[pos] : pos;
        const uint32_t *rec = ds->records + mtr_row_start(ds, row);
        if (M == 0) {
            memcpy(ids + k, rec, F * sizeof *ids);
            for (size_t f = 0; f < F; f++) id_start[(size_t)r * F + f] = (uint32_t)(k + f);
            k += F;
        } else {
            const uint32_t *counts = rec + ds->record_words - M, *multi = rec + ds->record_words;
            const unsigned char *kind = ds->field_multi;
            size_t s = 0, m = 0;
            for (size_t f = 0; f < F; f++) {
                id_start[(size_t)r * F + f] = (uint32_t)k;
                if (!kind[f]) {
                    ids[k++] = rec[s++];
                    continue;
                }
                size_t n = counts[m++];
                memcpy(ids + k, multi, n * sizeof *ids);
                multi += n;
                k += n;
            }
        }
        memcpy(b->numeric + (size_t)r * N, rec + S, N * sizeof *b->numeric);
        memcpy(b->labels + (size_t)r * T, rec + S + N, T * sizeof *b->labels);
        memcpy(b->aux + (size_t)r * A, rec + S + N + T, A * sizeof *b->aux);
    }
    id_start[(size_t)B * F] = (uint32_t)k;
    b->n_rows = B;
}
