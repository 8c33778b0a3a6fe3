/* view_rows.h - small helpers on views: the dataset row behind a view position, and all labels of a
 * view in one array (validation metrics). */
#ifndef MTR_MODELS_VIEW_ROWS_H
#define MTR_MODELS_VIEW_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Row `i` of a view, as a dataset row index. */
static inline size_t mtr_view_row(const mtr_view *v, size_t i) { return v->rows ? v->rows[i] : i; }

/* All labels of a view as a (count, n_tasks) array. */
void mtr_view_labels(const mtr_view *view, float *labels);

#endif
