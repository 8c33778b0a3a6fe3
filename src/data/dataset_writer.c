/* dataset_writer.c - the streaming .mtrd writer; see dataset_writer.h and docs/data-format.md. The header
 * goes out zeroed first and is patched at commit. Everything after it (field kinds, records, row index)
 * is CRC'd as it is written, and the header's CRC is joined to that with crc32_combine at the end, so
 * nothing is read back except the row index, which is copied once from its temporary file. Memory is the
 * two fixed buffers plus one row, whatever the row count. */
#define _DEFAULT_SOURCE /* mkstemp */
#include "data/dataset_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/dataset_file.h"
#include "data/schema_impl.h"
#include "util/atomic_file.h"
#include "util/checksum.h"
#include "util/error.h"

#define RECORD_BUFFER_WORDS ((size_t)1 << 18) /* 1 MiB of records gathered before each write */
#define INDEX_BUFFER_ENTRIES ((size_t)1 << 13) /* 64 KiB of row offsets gathered before each write */

struct mtr_dataset_writer {
    mtr_atomic_file af;          /* the output: a temporary renamed into place at commit */
    FILE *index;                 /* n_multi > 0: row offsets, in an unlinked temporary file */
    int n_cat, n_num, n_tasks, n_aux; /* the record shape */
    int n_single, n_multi;       /* single- and multi-valued fields */
    size_t fixed_words;          /* words before the multi-valued ids */
    unsigned char *field_multi;  /* (n_cat) 1 = multi-valued */
    int *slot;                   /* (n_cat) index among the single- or the multi-valued fields */
    uint32_t *vocab_size;        /* (n_cat) ids must be below these; NULL when opened from a shape */
    char (*names)[MTR_MAX_NAME]; /* (n_cat) field names for messages; NULL when opened from a shape */
    uint64_t fingerprint;        /* recorded in the header */
    uint32_t *buf;               /* records waiting to be written */
    size_t buf_used;             /* words in buf */
    uint64_t *ibuf;              /* row offsets waiting to be written to `index` */
    size_t ibuf_used;            /* entries in ibuf */
    uint32_t *row;               /* mtr_dataset_writer_add assembles its record here */
    size_t row_cap;              /* words allocated for row */
    uint64_t n_rows;             /* rows added */
    uint64_t total_words;        /* record words added */
    uint64_t index_entries;      /* row offsets written to `index` */
    uint32_t max_row_ids;        /* most categorical ids in one row so far */
    uint32_t crc_body;           /* CRC-32 of every byte after the header written so far */
    uint64_t body_bytes;         /* those bytes */
};

uint64_t mtr_dataset_writer_rows(const mtr_dataset_writer *w) { return w->n_rows; }

static void writer_free(mtr_dataset_writer *w) {
    if (w->index) fclose(w->index);
    free(w->field_multi);
    free(w->slot);
    free(w->vocab_size);
    free(w->names);
    free(w->buf);
    free(w->ibuf);
    free(w->row);
    free(w);
}

void mtr_dataset_writer_abort(mtr_dataset_writer *w) {
    if (!w) return;
    mtr_atomic_abort(&w->af);
    writer_free(w);
}

/* Write bytes after the header, keeping the body CRC. */
static int write_body(mtr_dataset_writer *w, const void *p, size_t n, mtr_error *err) {
    if (n == 0) return 0;
    if (fwrite(p, 1, n, w->af.f) != n)
        return mtr_fail(err, "%s: write failed: %s", w->af.tmp_path, strerror(errno));
    w->crc_body = mtr_crc32(w->crc_body, p, n);
    w->body_bytes += n;
    return 0;
}

static int flush_records(mtr_dataset_writer *w, mtr_error *err) {
    int rc = write_body(w, w->buf, w->buf_used * sizeof *w->buf, err);
    w->buf_used = 0;
    return rc;
}

static int flush_index(mtr_dataset_writer *w, mtr_error *err) {
    if (w->ibuf_used && fwrite(w->ibuf, sizeof *w->ibuf, w->ibuf_used, w->index) != w->ibuf_used)
        return mtr_fail(err, "%s: writing the row index failed: %s", w->af.path, strerror(errno));
    w->index_entries += w->ibuf_used;
    w->ibuf_used = 0;
    return 0;
}

static int push_offset(mtr_dataset_writer *w, uint64_t offset, mtr_error *err) {
    uint64_t le;
    unsigned char *b = (unsigned char *)&le;
    mtr_put_u64(b, offset);
    w->ibuf[w->ibuf_used++] = le;
    return w->ibuf_used == INDEX_BUFFER_ENTRIES ? flush_index(w, err) : 0;
}

/* An anonymous temporary file beside `path` (same file system, so as much room as the output). */
static FILE *index_file(const char *path, mtr_error *err) {
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s.index.XXXXXX", path);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        mtr_fail(err, "%s: cannot create a temporary file for the row index: %s", path, strerror(errno));
        return NULL;
    }
    unlink(tmpl); /* gone as soon as it is closed, even after a crash */
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        mtr_fail(err, "%s: cannot open the row index file: %s", path, strerror(errno));
    }
    return f;
}

mtr_dataset_writer *mtr_dataset_writer_open_shape(const char *path, const mtr_record_shape *sh,
                                                  uint64_t fingerprint, mtr_error *err) {
    if (!mtr_host_is_little_endian()) {
        mtr_fail(err, "%s: compiled datasets are little-endian and this machine is not", path);
        return NULL;
    }
    if (sh->n_cat < 0 || sh->n_num < 0 || sh->n_aux < 0 || sh->n_tasks < 1 || sh->n_tasks > MTR_MAX_TASKS ||
        (unsigned)sh->n_cat > MTR_DATA_MAX_FIELDS || (unsigned)sh->n_num > MTR_DATA_MAX_FIELDS ||
        (unsigned)sh->n_aux > MTR_DATA_MAX_FIELDS) {
        mtr_fail(err, "%s: bad record shape (%d categorical, %d numeric, %d tasks, %d aux)", path, sh->n_cat,
                 sh->n_num, sh->n_tasks, sh->n_aux);
        return NULL;
    }
    mtr_dataset_writer *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    size_t n = sh->n_cat ? (size_t)sh->n_cat : 1;
    w->field_multi = calloc(n, 1);
    w->slot = malloc(n * sizeof *w->slot);
    w->buf = malloc(RECORD_BUFFER_WORDS * sizeof *w->buf);
    w->ibuf = malloc(INDEX_BUFFER_ENTRIES * sizeof *w->ibuf);
    if (!w->field_multi || !w->slot || !w->buf || !w->ibuf) goto oom;
    w->n_cat = sh->n_cat;
    w->n_num = sh->n_num;
    w->n_tasks = sh->n_tasks;
    w->n_aux = sh->n_aux;
    for (int f = 0; f < sh->n_cat; f++) {
        w->field_multi[f] = sh->field_multi && sh->field_multi[f] ? 1 : 0;
        w->slot[f] = w->field_multi[f] ? w->n_multi++ : w->n_single++;
    }
    w->fixed_words = (size_t)sh->n_cat + (size_t)sh->n_num + (size_t)sh->n_tasks + (size_t)sh->n_aux;
    w->fingerprint = fingerprint;
    if (w->n_multi && !(w->index = index_file(path, err))) {
        writer_free(w);
        return NULL;
    }
    if (mtr_atomic_open(&w->af, path, err) != 0) {
        writer_free(w);
        return NULL;
    }
    /* the header (zero until commit), then the field kinds and the padding up to the records */
    unsigned char head[MTR_DATA_HEADER_BYTES] = {0}, pad[MTR_DATA_ALIGN] = {0};
    size_t pad_bytes = (size_t)(mtr_data_offset((uint64_t)sh->n_cat) - MTR_DATA_HEADER_BYTES - (uint64_t)sh->n_cat);
    if (fwrite(head, 1, sizeof head, w->af.f) != sizeof head) {
        mtr_fail(err, "%s: write failed: %s", w->af.tmp_path, strerror(errno));
        mtr_dataset_writer_abort(w);
        return NULL;
    }
    if (write_body(w, w->field_multi, (size_t)sh->n_cat, err) != 0 || write_body(w, pad, pad_bytes, err) != 0) {
        mtr_dataset_writer_abort(w);
        return NULL;
    }
    return w;
oom:
    mtr_fail(err, "%s: out of memory", path);
    if (w) writer_free(w);
    return NULL;
}

mtr_dataset_writer *mtr_dataset_writer_open(const char *path, const mtr_schema *s, mtr_error *err) {
    unsigned char *multi = malloc(s->n_cat ? (size_t)s->n_cat : 1);
    if (!multi) {
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    for (int f = 0; f < s->n_cat; f++) multi[f] = (unsigned char)s->cat[f].multi;
    mtr_record_shape sh = {s->n_cat, s->n_num, s->n_tasks, s->n_aux, multi};
    mtr_dataset_writer *w = mtr_dataset_writer_open_shape(path, &sh, s->fingerprint, err);
    free(multi);
    if (!w) return NULL;
    size_t n = s->n_cat ? (size_t)s->n_cat : 1;
    w->vocab_size = malloc(n * sizeof *w->vocab_size);
    w->names = malloc(n * sizeof *w->names);
    if (!w->vocab_size || !w->names) {
        mtr_fail(err, "%s: out of memory", path);
        mtr_dataset_writer_abort(w);
        return NULL;
    }
    for (int f = 0; f < s->n_cat; f++) {
        w->vocab_size[f] = mtr_field_table(s, f)->size;
        memcpy(w->names[f], s->cat[f].name, sizeof w->names[f]);
    }
    return w;
}

int mtr_dataset_writer_add_record(mtr_dataset_writer *w, const uint32_t *record, size_t words, mtr_error *err) {
    if (w->n_rows >= UINT32_MAX) return mtr_fail(err, "%s: more than %u rows", w->af.path, UINT32_MAX);
    if (words < w->fixed_words)
        return mtr_fail(err, "%s: row %" PRIu64 ": a record of %zu words (at least %zu)", w->af.path, w->n_rows,
                        words, w->fixed_words);
    uint64_t ids = (uint64_t)w->n_single;
    if (w->n_multi) {
        const uint32_t *counts = record + w->fixed_words - (size_t)w->n_multi;
        for (int m = 0; m < w->n_multi; m++) ids += counts[m];
    }
    if (words - w->fixed_words != ids - (uint64_t)w->n_single)
        return mtr_fail(err, "%s: row %" PRIu64 ": a record of %zu words whose counts say %" PRIu64, w->af.path,
                        w->n_rows, words, (uint64_t)w->fixed_words + ids - (uint64_t)w->n_single);
    if (ids > MTR_MAX_ROW_IDS)
        return mtr_fail(err, "%s: row %" PRIu64 ": %" PRIu64 " categorical ids (at most %u)", w->af.path,
                        w->n_rows, ids, MTR_MAX_ROW_IDS);
    if (w->n_multi && push_offset(w, w->total_words, err) != 0) return -1;
    if (words > RECORD_BUFFER_WORDS - w->buf_used && flush_records(w, err) != 0) return -1;
    if (words > RECORD_BUFFER_WORDS) { /* a huge row goes straight out */
        if (write_body(w, record, words * sizeof *record, err) != 0) return -1;
    } else {
        memcpy(w->buf + w->buf_used, record, words * sizeof *record);
        w->buf_used += words;
    }
    w->total_words += words;
    if (ids > w->max_row_ids) w->max_row_ids = (uint32_t)ids;
    w->n_rows++;
    return 0;
}

static void put_floats(uint32_t *dst, const float *src, int n) {
    if (src) {
        memcpy(dst, src, (size_t)n * sizeof *src);
        return;
    }
    const float nan = NAN;
    for (int i = 0; i < n; i++) memcpy(&dst[i], &nan, sizeof nan);
}

int mtr_dataset_writer_add(mtr_dataset_writer *w, const uint32_t *id_start, const uint32_t *ids,
                           const float *numeric, const float *labels, const float *aux, mtr_error *err) {
    const char *path = w->af.path;
    uint64_t row = w->n_rows;
    for (int f = 0; f < w->n_cat; f++)
        if (id_start[f + 1] < id_start[f])
            return mtr_fail(err, "%s: row %" PRIu64 ": id_start is not ascending at field %d", path, row, f);
    uint64_t total = w->n_cat ? (uint64_t)id_start[w->n_cat] - id_start[0] : 0;
    if (total > MTR_MAX_ROW_IDS)
        return mtr_fail(err, "%s: row %" PRIu64 ": %" PRIu64 " categorical ids (at most %u)", path, row, total,
                        MTR_MAX_ROW_IDS);
    if (w->n_num > 0 && !numeric) return mtr_fail(err, "%s: row %" PRIu64 ": no numeric inputs given", path, row);
    size_t need = w->fixed_words + (size_t)total;
    if (need > w->row_cap) {
        uint32_t *r = realloc(w->row, need * sizeof *r);
        if (!r) return mtr_fail(err, "%s: row %" PRIu64 ": out of memory", path, row);
        w->row = r;
        w->row_cap = need;
    }
    uint32_t *rec = w->row, *counts = rec + w->fixed_words - (size_t)w->n_multi;
    size_t at = w->fixed_words;
    for (int f = 0; f < w->n_cat; f++) {
        uint32_t n = id_start[f + 1] - id_start[f];
        const uint32_t *fi = ids + id_start[f];
        if (w->vocab_size)
            for (uint32_t k = 0; k < n; k++)
                if (fi[k] >= w->vocab_size[f])
                    return mtr_fail(err, "%s: row %" PRIu64 ": id %" PRIu32 " of field '%s' is outside its "
                                         "vocabulary of %" PRIu32, path, row, fi[k], w->names[f], w->vocab_size[f]);
        if (!w->field_multi[f]) {
            if (n != 1)
                return mtr_fail(err, "%s: row %" PRIu64 ": field %s%s%s is single-valued but has %" PRIu32 " ids",
                                path, row, w->names ? "'" : "", w->names ? w->names[f] : "", w->names ? "'" : "", n);
            rec[w->slot[f]] = fi[0];
            continue;
        }
        counts[w->slot[f]] = n;
        if (n) memcpy(rec + at, fi, (size_t)n * sizeof *fi);
        at += n;
    }
    if (w->n_num) memcpy(rec + w->n_single, numeric, (size_t)w->n_num * sizeof *numeric);
    put_floats(rec + w->n_single + w->n_num, labels, w->n_tasks);
    put_floats(rec + w->n_single + w->n_num + w->n_tasks, aux, w->n_aux);
    return mtr_dataset_writer_add_record(w, rec, at, err);
}

/* Append the row index from its temporary file (after padding the records to 8 bytes). */
static int append_index(mtr_dataset_writer *w, mtr_error *err) {
    static const unsigned char zero[4] = {0};
    if ((w->total_words & 1) && write_body(w, zero, 4, err) != 0) return -1;
    if (push_offset(w, w->total_words, err) != 0 || flush_index(w, err) != 0) return -1;
    if (fflush(w->index) != 0 || fseek(w->index, 0, SEEK_SET) != 0)
        return mtr_fail(err, "%s: reading back the row index failed: %s", w->af.path, strerror(errno));
    uint64_t left = w->index_entries;
    while (left > 0) {
        size_t n = left < INDEX_BUFFER_ENTRIES ? (size_t)left : INDEX_BUFFER_ENTRIES;
        if (fread(w->ibuf, sizeof *w->ibuf, n, w->index) != n)
            return mtr_fail(err, "%s: reading back the row index failed: %s", w->af.path,
                            ferror(w->index) ? strerror(errno) : "file cut short");
        if (write_body(w, w->ibuf, n * sizeof *w->ibuf, err) != 0) return -1;
        left -= n;
    }
    return 0;
}

int mtr_dataset_writer_commit(mtr_dataset_writer *w, mtr_error *err) {
    if (flush_records(w, err) != 0 || (w->n_multi && append_index(w, err) != 0)) {
        mtr_dataset_writer_abort(w);
        return -1;
    }
    uint64_t data = mtr_data_offset((uint64_t)w->n_cat);
    unsigned char h[MTR_DATA_HEADER_BYTES] = {0}, trailer[4];
    memcpy(h + MTR_DOFF_MAGIC, MTR_DATA_MAGIC, 8);
    mtr_put_u32(h + MTR_DOFF_VERSION, MTR_DATA_FORMAT_VERSION);
    mtr_put_u64(h + MTR_DOFF_ROWS, w->n_rows);
    mtr_put_u32(h + MTR_DOFF_CAT, (uint32_t)w->n_cat);
    mtr_put_u32(h + MTR_DOFF_NUM, (uint32_t)w->n_num);
    mtr_put_u32(h + MTR_DOFF_TASKS, (uint32_t)w->n_tasks);
    mtr_put_u32(h + MTR_DOFF_AUX, (uint32_t)w->n_aux);
    mtr_put_u32(h + MTR_DOFF_MULTI, (uint32_t)w->n_multi);
    mtr_put_u32(h + MTR_DOFF_FIXED_WORDS, (uint32_t)w->fixed_words);
    mtr_put_u64(h + MTR_DOFF_FINGERPRINT, w->fingerprint);
    mtr_put_u64(h + MTR_DOFF_DATA, data);
    mtr_put_u64(h + MTR_DOFF_WORDS, w->total_words);
    mtr_put_u64(h + MTR_DOFF_INDEX, w->n_multi ? (data + w->total_words * 4 + 7) / 8 * 8 : 0);
    mtr_put_u32(h + MTR_DOFF_MAX_IDS, w->n_multi ? w->max_row_ids : (uint32_t)w->n_cat);
    uint32_t crc = mtr_crc32(0, h, sizeof h);
    crc = (uint32_t)crc32_combine(crc, w->crc_body, (z_off_t)w->body_bytes);
    mtr_put_u32(trailer, crc);
    FILE *f = w->af.f;
    if (fseek(f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, f) != sizeof h || fseek(f, 0, SEEK_END) != 0 ||
        fwrite(trailer, 1, sizeof trailer, f) != sizeof trailer) {
        mtr_fail(err, "%s: write failed: %s", w->af.tmp_path, strerror(errno));
        mtr_dataset_writer_abort(w);
        return -1;
    }
    int rc = mtr_atomic_commit(&w->af, err);
    writer_free(w);
    return rc;
}

int mtr_dataset_write(const mtr_dataset *ds, const char *out_path, mtr_error *err) {
    mtr_record_shape sh = {ds->n_cat, ds->n_num, ds->n_tasks, ds->n_aux, ds->field_multi};
    mtr_dataset_writer *w = mtr_dataset_writer_open_shape(out_path, &sh, ds->schema_fingerprint, err);
    if (!w) return -1;
    for (size_t r = 0; r < ds->n_rows; r++) {
        size_t start = mtr_row_start(ds, r);
        size_t words = ds->row_offsets ? (size_t)(ds->row_offsets[r + 1] - ds->row_offsets[r]) : ds->record_words;
        if (mtr_dataset_writer_add_record(w, ds->records + start, words, err) != 0) {
            mtr_dataset_writer_abort(w);
            return -1;
        }
    }
    return mtr_dataset_writer_commit(w, err);
}
