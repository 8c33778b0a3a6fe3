/* dataset_file.c - mapping .mtrd files; see dataset_file.h and docs/data-format.md (the writer is
 * dataset_writer.c). The header is parsed field by field in little-endian order (never a struct fread),
 * every size is checked for overflow before it is multiplied, the CRC-32 trailer is checked over the whole
 * file, and a row index is walked once so no record can reach outside the file or its batch buffers; the
 * pages these checks read are released as they go. */
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

int mtr_host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Checking reads the whole file once. The pages it has read are dropped from this process as it goes
 * (the kernel's page cache keeps them while memory allows; a later read maps them again), so opening a
 * file larger than memory, or one that training will stream block by block, does not leave the process
 * holding all of it. The mapping is private and read-only: dropping a page loses nothing. */
#define CHECK_CHUNK ((size_t)32 << 20) /* bytes checksummed between drops */
#define CHECK_ROWS ((uint64_t)1 << 20) /* rows of the index walked between drops */

static uint32_t checksum_dropping(const unsigned char *p, size_t n) {
    uint32_t crc = 0;
    for (size_t off = 0; off < n; off += CHECK_CHUNK) {
        size_t len = n - off < CHECK_CHUNK ? n - off : CHECK_CHUNK;
        crc = mtr_crc32(crc, p + off, len);
        mtr_map_drop_pages(p + off, p + off + len);
    }
    return crc;
}

/* The row index of variable-length records: it starts at 0, ends at the total, and each record is as
 * long as its counts say and holds no more ids than the header's maximum, so that readers can trust it. */
static int check_index(const uint32_t *records, const uint64_t *off, uint64_t rows, uint64_t total,
                       uint64_t fixed, uint32_t n_single, uint32_t n_multi, uint32_t max_ids, const char *path,
                       mtr_error *err) {
    if (off[0] != 0 || off[rows] != total)
        return mtr_fail(err, "%s: corrupt row index (it does not span the records)", path);
    uint64_t dropped_row = 0, dropped_word = 0;
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t a = off[r], b = off[r + 1];
        if (r - dropped_row == CHECK_ROWS) {
            mtr_map_drop_pages(records + dropped_word, records + a);
            mtr_map_drop_pages(off + dropped_row, off + r);
            dropped_row = r;
            dropped_word = a;
        }
        if (b < a || b > total || b - a < fixed)
            return mtr_fail(err, "%s: corrupt row index at row %" PRIu64, path, r);
        const uint32_t *counts = records + a + fixed - n_multi;
        uint64_t ids = 0;
        for (uint32_t m = 0; m < n_multi; m++) ids += counts[m];
        if (b - a != fixed + ids || n_single + ids > max_ids)
            return mtr_fail(err, "%s: row %" PRIu64 ": record length or id count disagrees with its counts", path, r);
    }
    mtr_map_drop_pages(records + dropped_word, records + total);
    mtr_map_drop_pages(off + dropped_row, off + rows + 1);
    return 0;
}

/* Nothing vouches for the ids of a file without a fingerprint, so check them against the vocabularies
 * before a model indexes embeddings with them. */
static int check_ids(const mtr_dataset *ds, const mtr_schema *schema, const char *path, mtr_error *err) {
    for (size_t r = 0; r < ds->n_rows; r++) {
        const uint32_t *single = mtr_row_ids(ds, r), *counts = mtr_row_multi_counts(ds, r);
        const uint32_t *multi = mtr_row_multi_ids(ds, r);
        int s = 0, m = 0;
        for (int f = 0; f < ds->n_cat; f++) {
            uint32_t size = mtr_field_table(schema, f)->size;
            uint32_t n = schema->cat[f].multi ? counts[m++] : 1;
            const uint32_t *ids = schema->cat[f].multi ? multi : &single[s++];
            for (uint32_t k = 0; k < n; k++)
                if (ids[k] >= size)
                    return mtr_fail(err, "%s: row %zu: id %" PRIu32 " of field '%s' is outside its vocabulary of "
                                         "%" PRIu32, path, r, ids[k], schema->cat[f].name, size);
            if (schema->cat[f].multi) multi += n;
        }
    }
    return 0;
}

/* Check the mapped bytes; on success fill ds's shape fields. */
static int validate(const unsigned char *p, size_t size, const char *path, const mtr_schema *schema,
                    mtr_dataset *ds, mtr_error *err) {
    if (size < 8 || memcmp(p, MTR_DATA_MAGIC, 8) != 0)
        return mtr_fail(err, "%s: not an mtrank compiled dataset (bad magic)", path);
    if (size < MTR_DOFF_VERSION + 4)
        return mtr_fail(err, "%s: truncated: %zu bytes is smaller than the header", path, size);
    uint32_t version = mtr_get_u32(p + MTR_DOFF_VERSION);
    if (version > MTR_DATA_FORMAT_VERSION)
        return mtr_fail(err, "%s: written by a newer mtrank (data format version %" PRIu32 ", this build reads "
                             "version %u): upgrade mtrank or recompile the data", path, version,
                        MTR_DATA_FORMAT_VERSION);
    if (version == 1)
        return mtr_fail(err, "%s: written by an older mtrank (data format version 1, this build reads version "
                             "%u): recompile the data", path, MTR_DATA_FORMAT_VERSION);
    if (version != MTR_DATA_FORMAT_VERSION)
        return mtr_fail(err, "%s: unsupported data format version %" PRIu32, path, version);
    if (size < MTR_DATA_HEADER_BYTES + 4)
        return mtr_fail(err, "%s: truncated: %zu bytes is smaller than the header", path, size);
    uint64_t rows = mtr_get_u64(p + MTR_DOFF_ROWS), fingerprint = mtr_get_u64(p + MTR_DOFF_FINGERPRINT);
    uint64_t data = mtr_get_u64(p + MTR_DOFF_DATA), total = mtr_get_u64(p + MTR_DOFF_WORDS);
    uint64_t index = mtr_get_u64(p + MTR_DOFF_INDEX);
    uint32_t n_cat = mtr_get_u32(p + MTR_DOFF_CAT), n_num = mtr_get_u32(p + MTR_DOFF_NUM);
    uint32_t n_tasks = mtr_get_u32(p + MTR_DOFF_TASKS), n_aux = mtr_get_u32(p + MTR_DOFF_AUX);
    uint32_t n_multi = mtr_get_u32(p + MTR_DOFF_MULTI), fixed = mtr_get_u32(p + MTR_DOFF_FIXED_WORDS);
    uint32_t max_ids = mtr_get_u32(p + MTR_DOFF_MAX_IDS);
    if (n_tasks < 1 || n_tasks > MTR_MAX_TASKS || n_cat > MTR_DATA_MAX_FIELDS || n_num > MTR_DATA_MAX_FIELDS ||
        n_aux > MTR_DATA_MAX_FIELDS || n_multi > n_cat || (uint64_t)n_cat + n_num + n_tasks + n_aux != fixed)
        return mtr_fail(err, "%s: corrupt header: bad record shape (%" PRIu32 " + %" PRIu32 " + %" PRIu32 " + %" PRIu32
                             " != %" PRIu32 " words, %" PRIu32 " multi-valued)", path, n_cat, n_num, n_tasks, n_aux,
                        fixed, n_multi);
    uint32_t n_single = n_cat - n_multi;
    if (data != mtr_data_offset(n_cat) || data > size)
        return mtr_fail(err, "%s: corrupt header: data offset %" PRIu64, path, data);
    uint32_t multi_seen = 0;
    for (uint32_t f = 0; f < n_cat; f++) {
        if (p[MTR_DATA_HEADER_BYTES + f] > 1)
            return mtr_fail(err, "%s: corrupt header: field %" PRIu32 " has kind %d", path, f,
                            p[MTR_DATA_HEADER_BYTES + f]);
        multi_seen += p[MTR_DATA_HEADER_BYTES + f];
    }
    if (multi_seen != n_multi)
        return mtr_fail(err, "%s: corrupt header: %" PRIu32 " multi-valued fields, the field kinds say %" PRIu32,
                        path, n_multi, multi_seen);
    if (rows > UINT32_MAX)
        return mtr_fail(err, "%s: corrupt header: %" PRIu64 " rows (at most %u)", path, rows, UINT32_MAX);
    if (max_ids > MTR_MAX_ROW_IDS || (n_multi == 0 && max_ids != n_cat))
        return mtr_fail(err, "%s: corrupt header: %" PRIu32 " ids in a row", path, max_ids);
    /* every size below is checked by division before it is multiplied */
    if (rows > 0 && fixed > UINT64_MAX / 4 / rows)
        return mtr_fail(err, "%s: corrupt header: %" PRIu64 " rows of %" PRIu32 " words overflow", path, rows, fixed);
    if (total > (UINT64_MAX >> 4) || total < rows * fixed || (n_multi == 0 && total != rows * fixed))
        return mtr_fail(err, "%s: corrupt header: %" PRIu64 " record words for %" PRIu64 " rows", path, total, rows);
    uint64_t end = data + total * 4, expected;
    if (n_multi == 0) {
        if (index != 0) return mtr_fail(err, "%s: corrupt header: a row index without multi-valued fields", path);
        expected = end + 4;
    } else {
        if (index != (end + 7) / 8 * 8) return mtr_fail(err, "%s: corrupt header: row index offset %" PRIu64, path, index);
        expected = index + (rows + 1) * 8 + 4;
    }
    if (expected != size)
        return mtr_fail(err, "%s: file is %zu bytes but its header says %" PRIu64 ": truncated or corrupt",
                        path, size, expected);
    uint32_t stored = mtr_get_u32(p + size - 4), crc = checksum_dropping(p, size - 4);
    if (stored != crc)
        return mtr_fail(err, "%s: checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32
                             "): the file is corrupt", path, stored, crc);
    const uint32_t *records = (const uint32_t *)(p + data);
    const uint64_t *offsets = n_multi ? (const uint64_t *)(p + index) : NULL;
    if (offsets && check_index(records, offsets, rows, total, fixed, n_single, n_multi, max_ids, path, err) != 0)
        return -1;
    /* Fingerprint 0 means none was recorded (datasets built in memory); the shape must still match. */
    if (schema) {
        int same = (fingerprint == 0 || fingerprint == schema->fingerprint) && n_cat == (uint32_t)schema->n_cat &&
                   n_num == (uint32_t)schema->n_num && n_tasks == (uint32_t)schema->n_tasks &&
                   n_aux == (uint32_t)schema->n_aux;
        for (uint32_t f = 0; same && f < n_cat; f++) same = p[MTR_DATA_HEADER_BYTES + f] == schema->cat[f].multi;
        if (!same)
            return mtr_fail(err, "%s: compiled with a different schema (fingerprint %016" PRIx64 ", this schema's "
                                 "is %016" PRIx64 "): recompile it with this schema", path, fingerprint,
                            schema->fingerprint);
    }
    ds->n_rows = (size_t)rows;
    ds->n_cat = (int)n_cat;
    ds->n_num = (int)n_num;
    ds->n_tasks = (int)n_tasks;
    ds->n_aux = (int)n_aux;
    ds->n_single = (int)n_single;
    ds->n_multi = (int)n_multi;
    ds->record_words = fixed;
    ds->records = records;
    ds->row_offsets = offsets;
    ds->field_multi = n_multi ? p + MTR_DATA_HEADER_BYTES : NULL;
    ds->max_row_ids = max_ids;
    ds->schema_fingerprint = fingerprint;
    if (schema && fingerprint == 0) return check_ids(ds, schema, path, err);
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
    mtr_map_drop_pages(map, (const char *)map + size); /* what check_ids read */
    return ds;
}
