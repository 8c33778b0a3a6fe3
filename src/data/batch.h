/* batch.h - the unit the models read: B rows of a dataset gathered into contiguous buffers, with each
 * row's categorical ids in CSR form so a field may hold zero, one or many ids (multi-valued fields such
 * as Ali-CCP's "field:id" lists, pooled by sum or mean in the model). Single-valued datasets fill the
 * same form with exactly one id per (row, field). Buffers are sized once (mtr_batch_init) from the
 * dataset's largest row, so gathering never allocates. */
#ifndef MTR_DATA_BATCH_H
#define MTR_DATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

typedef struct mtr_batch {
    int n_rows;          /* B: rows gathered */
    int n_fields;        /* F: categorical fields, in schema order */
    int n_numeric;       /* numeric inputs per row */
    int n_tasks;         /* labels per row */
    int n_aux;           /* auxiliary values per row (e.g. a simulator's ground truth); never inputs */
    uint32_t *id_start;  /* (B*F + 1): the ids of row b, field f are ids[id_start[b*F+f] .. id_start[b*F+f+1]) */
    uint32_t *ids;       /* ids within the field's vocabulary (0 = OOV, 1 = missing, 2.. values) */
    float *numeric;      /* (B, n_numeric) */
    float *labels;       /* (B, n_tasks), NaN = no label */
    float *aux;          /* (B, n_aux) */
    int max_rows;        /* capacity in rows */
    size_t max_ids;      /* capacity of ids */
} mtr_batch;

/* Size the buffers for up to max_rows rows of `ds` (its largest row bounds the id count). */
int mtr_batch_init(mtr_batch *b, const mtr_dataset *ds, int max_rows, mtr_error *err);
void mtr_batch_free(mtr_batch *b);

/* Gather view positions [start, start + B) (through `order`, a permutation of view positions, when not
 * NULL) into b. B <= b->max_rows. */
void mtr_batch_gather(mtr_batch *b, const mtr_view *view, const uint32_t *order, size_t start, int B);

#endif
