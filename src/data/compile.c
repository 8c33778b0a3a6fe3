/* compile.c - text to dataset: mtr_dataset_compile streams encoded records to a .mtrd file through a
 * fixed buffer (memory does not grow with the file), mtr_dataset_read_text keeps them in memory. */
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/dataset_file.h"
#include "data/encode.h"
#include "util/error.h"

#define COMPILE_BUFFER_BYTES ((size_t)1 << 20) /* records gathered before each write */

static size_t record_words(const mtr_schema *s) {
    return (size_t)s->n_cat + (size_t)s->n_num + (size_t)s->n_tasks;
}

int mtr_dataset_compile(const mtr_schema *schema, const char *text_path, const char *out_path,
                        mtr_error *err) {
    mtr_encoder enc;
    if (mtr_encoder_open(&enc, schema, text_path, 1, err) != 0) return -1;
    size_t words = record_words(schema);
    size_t cap = COMPILE_BUFFER_BYTES / (words * sizeof(uint32_t));
    if (cap == 0) cap = 1;
    uint32_t *buf = malloc(cap * words * sizeof *buf);
    mtr_dfile_writer w;
    if (!buf) {
        mtr_encoder_close(&enc);
        return mtr_fail(err, "%s: out of memory", text_path);
    }
    if (mtr_dfile_begin(&w, out_path, schema->n_cat, schema->n_num, schema->n_tasks, schema->fingerprint,
                        err) != 0) {
        free(buf);
        mtr_encoder_close(&enc);
        return -1;
    }
    size_t used = 0, rows = 0;
    int rc;
    while ((rc = mtr_encoder_next(&enc, buf + used * words, err)) == 1) {
        rows++;
        if (++used == cap) {
            if (mtr_dfile_append(&w, buf, used, err) != 0) goto fail;
            used = 0;
        }
    }
    if (rc < 0) goto fail;
    if (rows == 0) {
        mtr_fail(err, "%s: empty file (no data rows)", text_path);
        goto fail;
    }
    if (mtr_dfile_append(&w, buf, used, err) != 0) goto fail;
    free(buf);
    mtr_encoder_close(&enc);
    return mtr_dfile_finish(&w, err);
fail:
    mtr_dfile_abort(&w);
    free(buf);
    mtr_encoder_close(&enc);
    return -1;
}

mtr_dataset *mtr_dataset_read_text(const mtr_schema *schema, const char *text_path, int labels_required,
                                   mtr_error *err) {
    mtr_encoder enc;
    if (mtr_encoder_open(&enc, schema, text_path, labels_required, err) != 0) return NULL;
    size_t words = record_words(schema), cap = 1024, rows = 0;
    uint32_t *rec = malloc(cap * words * sizeof *rec);
    int rc = rec ? 1 : -1;
    if (!rec) mtr_fail(err, "%s: out of memory", text_path);
    while (rc == 1) {
        if (rows == cap) {
            if (cap > SIZE_MAX / 2 / words / sizeof *rec) {
                rc = mtr_fail(err, "%s: line %zu: too many rows for memory", text_path, mtr_table_line(&enc.table));
                break;
            }
            uint32_t *r = realloc(rec, cap * 2 * words * sizeof *rec);
            if (!r) {
                rc = mtr_fail(err, "%s: line %zu: out of memory", text_path, mtr_table_line(&enc.table));
                break;
            }
            rec = r;
            cap *= 2;
        }
        rc = mtr_encoder_next(&enc, rec + rows * words, err);
        if (rc == 1 && ++rows > UINT32_MAX) rc = mtr_fail(err, "%s: more than %u rows", text_path, UINT32_MAX);
    }
    mtr_encoder_close(&enc);
    if (rc == 0 && rows == 0) rc = mtr_fail(err, "%s: empty file (no data rows)", text_path);
    mtr_dataset *ds = rc == 0 ? calloc(1, sizeof *ds) : NULL;
    if (rc == 0 && !ds) mtr_fail(err, "%s: out of memory", text_path);
    if (!ds) {
        free(rec);
        return NULL;
    }
    uint32_t *shrunk = realloc(rec, rows * words * sizeof *rec);
    if (shrunk) rec = shrunk;
    ds->n_rows = rows;
    ds->n_cat = schema->n_cat;
    ds->n_num = schema->n_num;
    ds->n_tasks = schema->n_tasks;
    ds->record_words = words;
    ds->records = rec;
    ds->owned = rec;
    ds->schema_fingerprint = schema->fingerprint;
    return ds;
}
