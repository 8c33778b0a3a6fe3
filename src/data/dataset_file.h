/* dataset_file.h - the compiled dataset file (.mtrd, layout in docs/data-format.md): a streaming writer
 * that never holds more than the caller's records in memory, and the validating reader used by
 * mtr_dataset_open. */
#ifndef MTR_DATA_DATASET_FILE_H
#define MTR_DATA_DATASET_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"
#include "util/atomic_file.h"

/* Data format version: must change whenever the meaning or position of any byte in the file changes
 * (header fields, record layout, id conventions, checksum coverage). Readers refuse newer versions. */
#define MTR_DATA_FORMAT_VERSION 1u
#define MTR_DATA_MAGIC "MTRKDATA"
#define MTR_DATA_HEADER_BYTES 64u /* the header; also where records start (64-aligned for SIMD loads) */

typedef struct mtr_dfile_writer {
    mtr_atomic_file af;     /* temp file renamed into place by _finish */
    uint32_t n_cat;         /* header fields */
    uint32_t n_num;         /* ... */
    uint32_t n_tasks;       /* ... */
    uint64_t fingerprint;   /* ... */
    size_t record_words;    /* words per record */
    uint64_t n_rows;        /* records appended so far */
    uint32_t crc_records;   /* CRC-32 of the record bytes appended so far */
} mtr_dfile_writer;

/* Start a file at `path` (written to a temporary and renamed by _finish). */
int mtr_dfile_begin(mtr_dfile_writer *w, const char *path, int n_cat, int n_num, int n_tasks,
                    uint64_t fingerprint, mtr_error *err);
int mtr_dfile_append(mtr_dfile_writer *w, const uint32_t *records, size_t n_records, mtr_error *err);
/* Patch the row count into the header, append the checksum, fsync and rename. */
int mtr_dfile_finish(mtr_dfile_writer *w, mtr_error *err);
/* Give up and remove the temporary file. */
void mtr_dfile_abort(mtr_dfile_writer *w);

/* Whether this machine stores words little-endian, as the file does (records are mapped as they are). */
int mtr_host_is_little_endian(void);

#endif
