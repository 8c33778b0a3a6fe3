/* batch.c - batch gathering from compiled records; see batch.h. */
#include "models/batch.h"

#include <string.h>

#include "data/dataset.h"

void mtr_gather_batch(const mtr_view *view, const uint32_t *order, size_t start, int B, uint32_t *ids,
                      float *numeric, float *labels) {
    const mtr_dataset *ds = view->data;
    size_t nc = (size_t)ds->n_cat, nn = (size_t)ds->n_num, nt = (size_t)ds->n_tasks;
    for (int b = 0; b < B; b++) {
        size_t pos = start + (size_t)b;
        size_t row = mtr_view_row(view, order ? order[pos] : pos);
        const uint32_t *rec = ds->records + row * ds->record_words;
        memcpy(ids + b * nc, rec, nc * sizeof *ids);
        memcpy(numeric + b * nn, rec + nc, nn * sizeof *numeric);
        if (labels) memcpy(labels + b * nt, rec + nc + nn, nt * sizeof *labels);
    }
}

void mtr_view_labels(const mtr_view *view, float *labels) {
    const mtr_dataset *ds = view->data;
    size_t nt = (size_t)ds->n_tasks;
    for (size_t i = 0; i < view->count; i++)
        memcpy(labels + i * nt, mtr_row_labels(ds, mtr_view_row(view, i)), nt * sizeof *labels);
}
