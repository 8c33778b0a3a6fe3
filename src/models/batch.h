/* batch.h - copying a batch's rows out of a dataset into the contiguous buffers the nets read. */
#ifndef MTR_MODELS_BATCH_H
#define MTR_MODELS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Row `i` of a view, as a dataset row index. */
static inline size_t mtr_view_row(const mtr_view *v, size_t i) { return v->rows ? v->rows[i] : i; }

/* Gather view positions [start, start+B) into ids (B, n_cat), numeric (B, n_num) and, when labels is
 * not NULL, labels (B, n_tasks). `order` (optional) maps positions to view positions (a shuffle). */
void mtr_gather_batch(const mtr_view *view, const uint32_t *order, size_t start, int B, uint32_t *ids,
                      float *numeric, float *labels);

/* All labels of a view as a (count, n_tasks) array. */
void mtr_view_labels(const mtr_view *view, float *labels);

#endif
