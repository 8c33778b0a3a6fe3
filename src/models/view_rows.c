/* view_rows.c - see view_rows.h. */
#include "models/view_rows.h"

#include <string.h>

#include "data/dataset.h"

void mtr_view_labels(const mtr_view *view, float *labels) {
    const mtr_dataset *ds = view->data;
    size_t nt = (size_t)ds->n_tasks;
    for (size_t i = 0; i < view->count; i++)
        memcpy(labels + i * nt, mtr_row_labels(ds, mtr_view_row(view, i)), nt * sizeof *labels);
}
