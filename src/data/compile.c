/* compile.c - text to dataset: mtr_dataset_compile streams encoded records to a .mtrd file through the
 * dataset writer (memory does not grow with the file), mtr_dataset_read_text keeps them in memory, with a
 * row index when records vary in length. */
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/dataset_writer.h"
#include "data/encode.h"
#include "util/error.h"

int mtr_dataset_compile(const mtr_schema *schema, const char *text_path, const char *out_path,
                        mtr_error *err) {
    mtr_encoder enc;
    if (mtr_encoder_open(&enc, schema, text_path, 1, err) != 0) return -1;
    mtr_dataset_writer *w = mtr_dataset_writer_open(out_path, schema, err);
    if (!w) {
        mtr_encoder_close(&enc);
        return -1;
    }
    const uint32_t *rec;
    size_t words = 0;
    uint32_t ids = 0;
    int rc;
    while ((rc = mtr_encoder_next(&enc, &rec, &words, &ids, err)) == 1)
        if (mtr_dataset_writer_add_record(w, rec, words, err) != 0) {
            rc = -1;
            break;
        }
    if (rc == 0 && mtr_dataset_writer_rows(w) == 0) rc = mtr_fail(err, "%s: empty file (no data rows)", text_path);
    mtr_encoder_close(&enc);
    if (rc != 0) {
        mtr_dataset_writer_abort(w);
        return -1;
    }
    return mtr_dataset_writer_commit(w, err);
}

/* Grow a heap array to hold `need` elements of `elem` bytes (doubling); -1 when too large or out of memory. */
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / elem) return -1;
        cap2 *= 2;
    }
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

mtr_dataset *mtr_dataset_read_text(const mtr_schema *schema, const char *text_path, int labels_required,
                                   mtr_error *err) {
    mtr_encoder enc;
    if (mtr_encoder_open(&enc, schema, text_path, labels_required, err) != 0) return NULL;
    int variable = enc.n_multi > 0, n_single = enc.n_single, n_multi = enc.n_multi;
    size_t fixed_words = enc.fixed_words;
    uint32_t *rec = NULL, max_ids = (uint32_t)enc.n_single;
    uint64_t *offsets = NULL;
    unsigned char *field_multi = NULL;
    size_t rec_cap = 0, off_cap = 0, used = 0, rows = 0;
    int rc = 1;
    if (variable) {
        field_multi = malloc((size_t)schema->n_cat);
        if (!field_multi) rc = mtr_fail(err, "%s: out of memory", text_path);
        for (int f = 0; rc == 1 && f < schema->n_cat; f++) field_multi[f] = (unsigned char)schema->cat[f].multi;
    }
    while (rc == 1) {
        const uint32_t *r;
        size_t words = 0;
        uint32_t ids = 0;
        rc = mtr_encoder_next(&enc, &r, &words, &ids, err);
        if (rc != 1) break;
        if (rows == UINT32_MAX) {
            rc = mtr_fail(err, "%s: more than %u rows", text_path, UINT32_MAX);
            break;
        }
        if (grow((void **)&rec, &rec_cap, used + words, sizeof *rec) != 0 ||
            (variable && grow((void **)&offsets, &off_cap, rows + 2, sizeof *offsets) != 0)) {
            rc = mtr_fail(err, "%s: line %zu: out of memory", text_path, mtr_table_line(&enc.table));
            break;
        }
        if (variable) offsets[rows] = used;
        memcpy(rec + used, r, words * sizeof *rec);
        used += words;
        rows++;
        if (ids > max_ids) max_ids = ids;
    }
    mtr_encoder_close(&enc);
    if (rc == 0 && rows == 0) rc = mtr_fail(err, "%s: empty file (no data rows)", text_path);
    mtr_dataset *ds = rc == 0 ? calloc(1, sizeof *ds) : NULL;
    if (rc == 0 && !ds) mtr_fail(err, "%s: out of memory", text_path);
    if (!ds) {
        free(rec);
        free(offsets);
        free(field_multi);
        return NULL;
    }
    uint32_t *shrunk = realloc(rec, used * sizeof *rec);
    if (shrunk) rec = shrunk;
    if (variable) offsets[rows] = used;
    ds->n_rows = rows;
    ds->n_cat = schema->n_cat;
    ds->n_num = schema->n_num;
    ds->n_tasks = schema->n_tasks;
    ds->n_aux = schema->n_aux;
    ds->n_single = n_single;
    ds->n_multi = n_multi;
    ds->record_words = fixed_words;
    ds->records = rec;
    ds->owned = rec;
    ds->row_offsets = offsets;
    ds->owned_index = offsets;
    ds->field_multi = field_multi;
    ds->owned_fields = field_multi;
    ds->max_row_ids = variable ? max_ids : (uint32_t)schema->n_cat;
    ds->schema_fingerprint = schema->fingerprint;
    return ds;
}
