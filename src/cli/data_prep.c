/* data_prep.c - compiled-dataset cache for the CLI; see data_prep.h. */
#define _DEFAULT_SOURCE
#include "cli/data_prep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/checksum.h"
#include "util/error.h"

/* CRC-32 of the file's bytes as stored (compressed or not). Size and modification time alone let a file
 * rewritten within the same second (or timestamp tick) with the same size hit a stale cache entry. */
static int file_crc32(const char *path, uint32_t *crc, mtr_error *err) {
    enum { CHUNK = 1 << 16 };
    FILE *f = fopen(path, "rb");
    if (!f) return mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return mtr_fail(err, "%s: out of memory", path);
    }
    uint32_t c = 0;
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) c = mtr_crc32(c, buf, got);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad) return mtr_fail(err, "%s: read error", path);
    *crc = c;
    return 0;
}

int mkdir_cache(const char *dir, mtr_error *err) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mtr_fail(err, "%s: cannot create cache directory: %s", dir, strerror(errno));
    return 0;
}

mtr_dataset *prepare_dataset(const mtr_schema *schema, const char *path, const char *cache_dir,
                             mtr_error *err) {
    /* standard input cannot be identified or re-read, so it is parsed into memory */
    if (!cache_dir || strcmp(path, "-") == 0) return mtr_dataset_read_text(schema, path, 1, err);
    struct stat st;
    if (stat(path, &st) != 0) {
        mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    uint32_t content_crc = 0;
    if (file_crc32(path, &content_crc, err) != 0) return NULL;
    if (mkdir_cache(cache_dir, err) != 0) return NULL;
    /* the key: schema fingerprint, absolute path, size, modification time, content checksum */
    char full[PATH_MAX];
    if (!realpath(path, full)) snprintf(full, sizeof full, "%s", path);
    uint64_t key = mtr_fnv1a64(MTR_FNV1A64_INIT, full, strlen(full));
    uint64_t parts[4] = {mtr_schema_fingerprint(schema), (uint64_t)st.st_size, (uint64_t)st.st_mtime,
                         content_crc};
    key = mtr_fnv1a64(key, parts, sizeof parts);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char cached[PATH_MAX];
    snprintf(cached, sizeof cached, "%s/%.100s.%016llx.mtrd", cache_dir, base, (unsigned long long)key);
    if (access(cached, R_OK) == 0) {
        mtr_dataset *ds = mtr_dataset_open(cached, schema, err);
        if (ds) return ds;
        /* a damaged cache entry is rebuilt rather than trusted */
    }
    if (mtr_dataset_compile(schema, path, cached, err) != 0) return NULL;
    return mtr_dataset_open(cached, schema, err);
}
