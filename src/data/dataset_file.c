/* dataset_file.c - writing and mapping .mtrd files; see dataset_file.h and docs/data-format.md. The header
 * is packed and parsed field by field in little-endian order (never a struct fread), every size is checked
 * for overflow before it is multiplied, and the CRC-32 trailer covers the header and the records: the
 * writer streams the records' CRC and joins it to the header's with crc32_combine once the row count is
 * known. */
#include "data/dataset_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/schema_impl.h"
#include "util/checksum.h"
#include "util/error.h"

/* Header field offsets. */
enum {
    OFF_MAGIC = 0,         /* 8 bytes "MTRKDATA" */
    OFF_VERSION = 8,       /* u32 format version */
    OFF_FLAGS = 12,        /* u32, 0 (reserved) */
    OFF_ROWS = 16,         /* u64 rows */
    OFF_CAT = 24,          /* u32 categorical ids per record */
    OFF_NUM = 28,          /* u32 numeric inputs per record */
    OFF_TASKS = 32,        /* u32 labels per record */
    OFF_WORDS = 36,        /* u32 words per record (= cat + num + tasks) */
    OFF_FINGERPRINT = 40,  /* u64 schema fingerprint */
    OFF_DATA = 48,         /* u64 offset of the first record */
    OFF_RESERVED = 56      /* u64, 0 */
};

int mtr_host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void pack_header(const mtr_dfile_writer *w, unsigned char *h) {
    memset(h, 0, MTR_DATA_HEADER_BYTES);
    memcpy(h + OFF_MAGIC, MTR_DATA_MAGIC, 8);
    put_u32(h + OFF_VERSION, MTR_DATA_FORMAT_VERSION);
    put_u64(h + OFF_ROWS, w->n_rows);
    put_u32(h + OFF_CAT, w->n_cat);
    put_u32(h + OFF_NUM, w->n_num);
    put_u32(h + OFF_TASKS, w->n_tasks);
    put_u32(h + OFF_WORDS, (uint32_t)w->record_words);
    put_u64(h + OFF_FINGERPRINT, w->fingerprint);
    put_u64(h + OFF_DATA, MTR_DATA_HEADER_BYTES);
}

int mtr_dfile_begin(mtr_dfile_writer *w, const char *path, int n_cat, int n_num, int n_tasks,
                    uint64_t fingerprint, mtr_error *err) {
    memset(w, 0, sizeof *w);
    if (!mtr_host_is_little_endian())
        return mtr_fail(err, "%s: compiled datasets are little-endian and this machine is not", path);
    if (n_cat < 0 || n_num < 0 || n_tasks < 1 || n_tasks > MTR_MAX_TASKS || n_cat > (1 << 28) ||
        n_num > (1 << 28))
        return mtr_fail(err, "%s: bad record shape (%d categorical, %d numeric, %d tasks)", path, n_cat, n_num,
                        n_tasks);
    w->n_cat = (uint32_t)n_cat;
    w->n_num = (uint32_t)n_num;
    w->n_tasks = (uint32_t)n_tasks;
    w->record_words = (size_t)n_cat + (size_t)n_num + (size_t)n_tasks;
    w->fingerprint = fingerprint;
    if (mtr_atomic_open(&w->af, path, err) != 0) return -1;
    unsigned char h[MTR_DATA_HEADER_BYTES];
    pack_header(w, h); /* n_rows is 0 until _finish patches it */
    if (fwrite(h, 1, sizeof h, w->af.f) != sizeof h) {
        int saved = errno;
        mtr_atomic_abort(&w->af);
        return mtr_fail(err, "%s: write failed: %s", path, strerror(saved));
    }
    return 0;
}

int mtr_dfile_append(mtr_dfile_writer *w, const uint32_t *records, size_t n_records, mtr_error *err) {
    if (n_records > UINT32_MAX - w->n_rows)
        return mtr_fail(err, "%s: more than %u rows", w->af.path, UINT32_MAX);
    size_t bytes = n_records * w->record_words * sizeof(uint32_t);
    if (bytes == 0) return 0;
    if (fwrite(records, 1, bytes, w->af.f) != bytes)
        return mtr_fail(err, "%s: write failed: %s", w->af.tmp_path, strerror(errno));
    w->crc_records = mtr_crc32(w->crc_records, records, bytes);
    w->n_rows += n_records;
    return 0;
}

int mtr_dfile_finish(mtr_dfile_writer *w, mtr_error *err) {
    unsigned char h[MTR_DATA_HEADER_BYTES], trailer[4];
    pack_header(w, h);
    uint64_t record_bytes = w->n_rows * w->record_words * sizeof(uint32_t);
    uint32_t crc = mtr_crc32(0, h, sizeof h);
    if (record_bytes > 0) crc = (uint32_t)crc32_combine(crc, w->crc_records, (z_off_t)record_bytes);
    put_u32(trailer, crc);
    FILE *f = w->af.f;
    if (fseek(f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, f) != sizeof h || fseek(f, 0, SEEK_END) != 0 ||
        fwrite(trailer, 1, sizeof trailer, f) != sizeof trailer) {
        int saved = errno;
        mtr_atomic_abort(&w->af);
        return mtr_fail(err, "%s: write failed: %s", w->af.tmp_path, strerror(saved));
    }
    return mtr_atomic_commit(&w->af, err);
}

void mtr_dfile_abort(mtr_dfile_writer *w) { mtr_atomic_abort(&w->af); }

int mtr_dataset_write(const mtr_dataset *ds, const char *out_path, mtr_error *err) {
    mtr_dfile_writer w;
    if (mtr_dfile_begin(&w, out_path, ds->n_cat, ds->n_num, ds->n_tasks, ds->schema_fingerprint, err) != 0)
        return -1;
    /* In slices, so no single fwrite or CRC call is asked for more than a few MiB. */
    size_t slice = ((size_t)4 << 20) / (w.record_words * sizeof(uint32_t));
    if (slice == 0) slice = 1;
    for (size_t r = 0; r < ds->n_rows; r += slice) {
        size_t n = ds->n_rows - r < slice ? ds->n_rows - r : slice;
        if (mtr_dfile_append(&w, mtr_row_ids(ds, r), n, err) != 0) {
            mtr_dfile_abort(&w);
            return -1;
        }
    }
    return mtr_dfile_finish(&w, err);
}

/* ------------------------------------------------------------------ reading */

/* Check the mapped bytes; on success fill ds's shape fields. */
static int validate(const unsigned char *p, size_t size, const char *path, const mtr_schema *schema,
                    mtr_dataset *ds, mtr_error *err) {
    if (size < 8 || memcmp(p, MTR_DATA_MAGIC, 8) != 0)
        return mtr_fail(err, "%s: not an mtrank compiled dataset (bad magic)", path);
    if (size < MTR_DATA_HEADER_BYTES + 4)
        return mtr_fail(err, "%s: truncated: %zu bytes is smaller than the header", path, size);
    uint32_t version = get_u32(p + OFF_VERSION);
    if (version > MTR_DATA_FORMAT_VERSION)
        return mtr_fail(err, "%s: written by a newer mtrank (data format version %" PRIu32 ", this build reads "
                             "version %u): upgrade mtrank or recompile the data", path, version,
                        MTR_DATA_FORMAT_VERSION);
    if (version != MTR_DATA_FORMAT_VERSION)
        return mtr_fail(err, "%s: unsupported data format version %" PRIu32, path, version);
    uint64_t rows = get_u64(p + OFF_ROWS), fingerprint = get_u64(p + OFF_FINGERPRINT);
    uint64_t data = get_u64(p + OFF_DATA);
    uint32_t n_cat = get_u32(p + OFF_CAT), n_num = get_u32(p + OFF_NUM), n_tasks = get_u32(p + OFF_TASKS);
    uint32_t words = get_u32(p + OFF_WORDS);
    if (n_tasks < 1 || n_tasks > MTR_MAX_TASKS || n_cat > (1u << 28) || n_num > (1u << 28) ||
        (uint64_t)n_cat + n_num + n_tasks != words)
        return mtr_fail(err, "%s: corrupt header: bad record shape (%" PRIu32 " + %" PRIu32 " + %" PRIu32
                             " != %" PRIu32 " words)", path, n_cat, n_num, n_tasks, words);
    if (data < MTR_DATA_HEADER_BYTES || data % 64 != 0 || data > size)
        return mtr_fail(err, "%s: corrupt header: data offset %" PRIu64, path, data);
    if (rows > UINT32_MAX)
        return mtr_fail(err, "%s: corrupt header: %" PRIu64 " rows (at most %u)", path, rows, UINT32_MAX);
    uint64_t record_bytes = (uint64_t)words * 4u;
    if (rows > 0 && record_bytes > (UINT64_MAX - data - 4) / rows)
        return mtr_fail(err, "%s: corrupt header: %" PRIu64 " rows of %" PRIu64 " bytes overflow", path, rows,
                        record_bytes);
    uint64_t expected = data + rows * record_bytes + 4;
    if (expected != size)
        return mtr_fail(err, "%s: file is %zu bytes but its header says %" PRIu64 ": truncated or corrupt",
                        path, size, expected);
    uint32_t stored = get_u32(p + size - 4), crc = mtr_crc32(0, p, size - 4);
    if (stored != crc)
        return mtr_fail(err, "%s: checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32
                             "): the file is corrupt", path, stored, crc);
    /* Fingerprint 0 means none was recorded (datasets built in memory); the shape must still match. */
    if (schema && ((fingerprint != 0 && fingerprint != schema->fingerprint) || n_cat != (uint32_t)schema->n_cat ||
                   n_num != (uint32_t)schema->n_num || n_tasks != (uint32_t)schema->n_tasks))
        return mtr_fail(err, "%s: compiled with a different schema (fingerprint %016" PRIx64 ", this schema's "
                             "is %016" PRIx64 "): recompile it with this schema", path, fingerprint,
                        schema->fingerprint);
    const uint32_t *records = (const uint32_t *)(p + data);
    if (schema && fingerprint == 0) {
        /* Nothing vouches for the ids, so check them against the vocabularies before a model indexes
         * embeddings with them. */
        for (uint64_t r = 0; r < rows; r++)
            for (uint32_t i = 0; i < n_cat; i++)
                if (records[r * words + i] >= schema->cat[i].size)
                    return mtr_fail(err, "%s: row %" PRIu64 ": id %" PRIu32 " of field '%s' is outside its "
                                         "vocabulary of %" PRIu32, path, r, records[r * words + i],
                                    schema->cat[i].name, schema->cat[i].size);
    }
    ds->n_rows = (size_t)rows;
    ds->n_cat = (int)n_cat;
    ds->n_num = (int)n_num;
    ds->n_tasks = (int)n_tasks;
    ds->record_words = words;
    ds->records = records;
    ds->schema_fingerprint = fingerprint;
    return 0;
}

mtr_dataset *mtr_dataset_open(const char *path, const mtr_schema *schema, mtr_error *err) {
    if (!mtr_host_is_little_endian()) {
        mtr_fail(err, "%s: compiled datasets are little-endian and this machine is not", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        mtr_fail(err, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        mtr_fail(err, "%s: not an mtrank compiled dataset (%s)", path,
                 S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        mtr_fail(err, "%s: cannot map: %s", path, strerror(saved));
        return NULL;
    }
    mtr_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        munmap(map, size);
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    ds->map = map;
    ds->map_size = size;
    if (validate(map, size, path, schema, ds, err) != 0) {
        mtr_dataset_free(ds);
        return NULL;
    }
    return ds;
}
