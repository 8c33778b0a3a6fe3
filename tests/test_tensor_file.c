/* test_tensor_file.c - the tensor container: exact byte layout of a small file, round trips of every
 * metadata type and tensor rank, alignment, the writer's refusals, the atomic write, and the reader
 * against missing, empty, foreign, truncated (every prefix), corrupted (every bit), newer-version and
 * hand-crafted malformed files. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "io/tensor_file.h"
#include "test.h"
#include "util/checksum.h"
#include "util/rng.h"

/* ---------------------------------------------------------------- helpers */

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *size = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Recompute the trailer's CRC after patching bytes, so only the patch is "wrong". */
static void fix_crc(unsigned char *b, size_t n) {
    put_le32(b + n - 12, mtr_crc32(0, b, n - 12));
}

/* Open a file expected to be refused; return its message (static) after checking that it starts
 * with the path. */
static const char *open_fails(const char *path) {
    static mtr_error err;
    err.message[0] = '\0';
    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f == NULL, "%s was accepted", path);
    mtr_tfile_close(f);
    CHECK_MSG(strncmp(err.message, path, strlen(path)) == 0 && err.message[strlen(path)] == ':',
              "message does not start with the path: \"%s\"", err.message);
    return err.message;
}

static const char *bytes_fail(const char *name, const unsigned char *b, size_t n) {
    return open_fails(mtr_test_write_file(name, (const char *)b, n));
}

/* Entries in `dir` whose name contains ".tmp." (left-over temporary files). */
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* The small file of tfile_layout_bytes: u64 "a" and a 3-float tensor "t"; 152 bytes. */
static const float small_data[3] = {1.0f, -2.0f, 0.5f};

static int write_small(const char *path, mtr_error *err) {
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_u64(w, "a", 0x0102030405060708ULL);
    uint64_t dims[1] = {3};
    mtr_tfile_put_tensor(w, "t", small_data, 1, dims);
    int rc = mtr_tfile_writer_commit(w, path, err);
    mtr_tfile_writer_free(w);
    return rc;
}

/* A medium file with every metadata type and a few tensors (about 1.3 KB). */
static float medium_a[35], medium_b[24];

static int write_medium(const char *path, mtr_error *err) {
    for (int i = 0; i < 35; i++) medium_a[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 24; i++) medium_b[i] = (float)(i * i);
    const float arr[5] = {1.5f, -0.0f, 3e-39f, INFINITY, -7.25f};
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_string(w, "model.kind", "mmoe", 4);
    mtr_tfile_put_u64(w, "model.experts", 8);
    mtr_tfile_put_i64(w, "offset", -42);
    mtr_tfile_put_f64(w, "lr", 1e-3);
    mtr_tfile_put_f32_array(w, "means", arr, 5);
    mtr_tfile_put_string(w, "spec", "format csv\nlabel income > 50000\n", 32);
    uint64_t da[2] = {5, 7}, db[3] = {2, 3, 4};
    mtr_tfile_put_tensor(w, "experts.w", medium_a, 2, da);
    mtr_tfile_put_tensor(w, "towers.0.w", medium_b, 3, db);
    int rc = mtr_tfile_writer_commit(w, path, err);
    mtr_tfile_writer_free(w);
    return rc;
}

/* ---------------------------------------------------------------- layout and round trips */

TEST(tfile_layout_bytes) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("small.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_small(path, &err), 0);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK(b != NULL);
    if (!b) return;
    /* header 32 + meta (4+1+4+8 = 17) + tensor (4+1+4+4+8+8 = 29) = 78, padded to 128,
     * 12 bytes of data -> 140, trailer 12 -> 152 */
    CHECK_EQ_INT(n, 152);
    if (n != 152) {
        free(b);
        return;
    }
    static const unsigned char want[140] = {
        'M', 'T', 'R', 'A', 'N', 'K', 'T', 'F', 1, 0, 0, 0, 0, 0, 0, 0, /* magic, version 1, flags 0 */
        1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,                 /* n_meta 1, n_tensors 1 */
        1, 0, 0, 0, 'a', 0, 0, 0, 0,                                     /* key "a", type 0 = u64 */
        8, 7, 6, 5, 4, 3, 2, 1,                                          /* 0x0102030405060708 */
        1, 0, 0, 0, 't', 0, 0, 0, 0, 1, 0, 0, 0,                         /* name "t", dtype 0, ndim 1 */
        3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                 /* dims [3], offset 0 */
        [128] = 0x00, 0x00, 0x80, 0x3f,                                  /* 1.0f */
        0x00, 0x00, 0x00, 0xc0,                                          /* -2.0f */
        0x00, 0x00, 0x00, 0x3f,                                          /* 0.5f */
    };
    for (size_t i = 0; i < sizeof want; i++)
        CHECK_MSG(b[i] == want[i], "byte %zu is 0x%02x, expected 0x%02x", i, b[i], want[i]);
    uint32_t crc = mtr_crc32(0, b, 140);
    CHECK_EQ_INT(b[140] | b[141] << 8 | b[142] << 16 | (uint32_t)b[143] << 24, crc);
    CHECK(memcmp(b + 144, "MTRKEND\0", 8) == 0);
    free(b);

    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    if (!f) return;
    uint64_t a = 0, dims[1] = {3};
    CHECK_EQ_INT(mtr_tfile_get_u64(f, "a", &a, &err), 0);
    CHECK(a == 0x0102030405060708ULL);
    const float *t = mtr_tfile_get_tensor(f, "t", 1, dims, &err);
    CHECK(t && t[0] == 1.0f && t[1] == -2.0f && t[2] == 0.5f);
    mtr_tfile_close(f);
}

TEST(tfile_round_trip_every_type_and_rank) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("round.mtrm"));
    mtr_rng rng;
    mtr_rng_seed(&rng, 99);
    /* tensor payloads are arbitrary bit patterns (NaNs with payloads, denormals, -0): bit-exact */
    static uint32_t bits[4][240];
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 240; i++) bits[k][i] = (uint32_t)mtr_rng_next(&rng);
    bits[0][0] = 0x7fc00123u; /* quiet NaN with payload */
    bits[0][1] = 0x80000000u; /* -0 */
    bits[0][2] = 0x00000001u; /* smallest denormal */
    const float *data[4];
    for (int k = 0; k < 4; k++) data[k] = (const float *)(const void *)bits[k];
    const uint64_t d1[1] = {5}, d2[2] = {3, 7}, d3[3] = {2, 3, 5}, d4[4] = {2, 1, 3, 2}, dz[2] = {4, 0};
    uint64_t nan_bits = 0x7ff8000000000123ULL;
    double nan_d, denorm_d = 4.9e-324, neg_zero = -0.0;
    memcpy(&nan_d, &nan_bits, sizeof nan_d);
    const char embedded[3] = {'a', '\0', 'b'};
    char *long_text = malloc(10001);
    for (int i = 0; i < 10000; i++) long_text[i] = (char)('a' + i % 26);
    long_text[10000] = '\0';
    uint32_t arr_bits[4] = {0x7fc00321u, 0x80000000u, 0x00000001u, 0x3f800000u};
    float arr[4];
    memcpy(arr, arr_bits, sizeof arr);

    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_u64(w, "u.zero", 0);
    mtr_tfile_put_u64(w, "u.max", UINT64_MAX);
    mtr_tfile_put_i64(w, "i.min", INT64_MIN);
    mtr_tfile_put_i64(w, "i.neg", -1);
    mtr_tfile_put_f64(w, "f.nan", nan_d);
    mtr_tfile_put_f64(w, "f.negzero", neg_zero);
    mtr_tfile_put_f64(w, "f.inf", -INFINITY);
    mtr_tfile_put_f64(w, "f.denorm", denorm_d);
    mtr_tfile_put_string(w, "s.empty", NULL, 0);
    mtr_tfile_put_string(w, "s.nul", embedded, 3);
    mtr_tfile_put_string(w, "s.long", long_text, 10000);
    mtr_tfile_put_f32_array(w, "a.empty", NULL, 0);
    mtr_tfile_put_f32_array(w, "a.bits", arr, 4);
    mtr_tfile_put_tensor(w, "t1", data[0], 1, d1);
    mtr_tfile_put_tensor(w, "t2", data[1], 2, d2);
    mtr_tfile_put_tensor(w, "t3", data[2], 3, d3);
    mtr_tfile_put_tensor(w, "t4", data[3], 4, d4);
    mtr_tfile_put_tensor(w, "empty", NULL, 2, dz);
    mtr_tfile_put_tensor(w, "u.zero", data[0], 1, d1); /* tensor names and keys are separate */
    mtr_error err = {{0}};
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), 0);
    CHECK_MSG(err.message[0] == '\0', "%s", err.message);
    mtr_tfile_writer_free(w);

    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    if (!f) {
        free(long_text);
        return;
    }
    CHECK_EQ_INT(mtr_tfile_version(f), 1);
    CHECK(strcmp(mtr_tfile_path(f), path) == 0);
    uint64_t u = 1;
    int64_t i = 0;
    double d = 0;
    CHECK(mtr_tfile_get_u64(f, "u.zero", &u, &err) == 0 && u == 0);
    CHECK(mtr_tfile_get_u64(f, "u.max", &u, &err) == 0 && u == UINT64_MAX);
    CHECK(mtr_tfile_get_i64(f, "i.min", &i, &err) == 0 && i == INT64_MIN);
    CHECK(mtr_tfile_get_i64(f, "i.neg", &i, &err) == 0 && i == -1);
    CHECK(mtr_tfile_get_f64(f, "f.nan", &d, &err) == 0 && memcmp(&d, &nan_bits, 8) == 0);
    CHECK(mtr_tfile_get_f64(f, "f.negzero", &d, &err) == 0 && d == 0 && signbit(d));
    CHECK(mtr_tfile_get_f64(f, "f.inf", &d, &err) == 0 && d == -INFINITY);
    CHECK(mtr_tfile_get_f64(f, "f.denorm", &d, &err) == 0 && d == denorm_d && d > 0);
    const char *s = NULL;
    size_t len = 99;
    CHECK(mtr_tfile_get_string(f, "s.empty", &s, &len, &err) == 0 && len == 0 && s && s[0] == '\0');
    CHECK(mtr_tfile_get_string(f, "s.nul", &s, &len, &err) == 0 && len == 3);
    CHECK(memcmp(s, embedded, 3) == 0 && s[3] == '\0');
    CHECK(mtr_tfile_get_string(f, "s.long", &s, &len, &err) == 0 && len == 10000);
    CHECK(strcmp(s, long_text) == 0);
    const float *v = NULL;
    size_t nv = 99;
    CHECK(mtr_tfile_get_f32_array(f, "a.empty", &v, &nv, &err) == 0 && nv == 0);
    CHECK(mtr_tfile_get_f32_array(f, "a.bits", &v, &nv, &err) == 0 && nv == 4);
    CHECK(v && memcmp(v, arr_bits, sizeof arr_bits) == 0);
    CHECK((uintptr_t)v % 4 == 0);

    const uint64_t *dims[4] = {d1, d2, d3, d4};
    const size_t counts[4] = {5, 21, 30, 12};
    const char *names[4] = {"t1", "t2", "t3", "t4"};
    for (int k = 0; k < 4; k++) {
        const float *t = mtr_tfile_get_tensor(f, names[k], k + 1, dims[k], &err);
        CHECK_MSG(t != NULL, "%s", err.message);
        if (!t) continue;
        CHECK_MSG((uintptr_t)t % 64 == 0, "tensor %s at %p is not 64-byte aligned", names[k], (void *)t);
        CHECK_MSG(memcmp(t, data[k], counts[k] * 4) == 0, "tensor %s differs", names[k]);
    }
    CHECK(mtr_tfile_get_tensor(f, "empty", 2, dz, &err) != NULL);
    CHECK(mtr_tfile_get_tensor(f, "u.zero", 1, d1, &err) != NULL);

    /* enumeration in file (call) order */
    static const char *keys[13] = {"u.zero", "u.max", "i.min", "i.neg", "f.nan", "f.negzero", "f.inf",
                                   "f.denorm", "s.empty", "s.nul", "s.long", "a.empty", "a.bits"};
    static const int types[13] = {0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4};
    CHECK_EQ_INT(mtr_tfile_meta_count(f), 13);
    for (size_t k = 0; k < 13; k++) {
        int type = -1;
        const char *key = mtr_tfile_meta_key(f, k, &type);
        CHECK_MSG(key && strcmp(key, keys[k]) == 0 && type == types[k], "meta %zu: %s type %d", k,
                  key ? key : "(null)", type);
    }
    CHECK(mtr_tfile_meta_key(f, 13, NULL) == NULL);
    CHECK_EQ_INT(mtr_tfile_tensor_count(f), 6);
    int ndim = 0;
    uint64_t got[4] = {9, 9, 9, 9};
    const char *tname = mtr_tfile_tensor_info(f, 2, &ndim, got);
    CHECK(tname && strcmp(tname, "t3") == 0 && ndim == 3);
    CHECK(got[0] == 2 && got[1] == 3 && got[2] == 5 && got[3] == 0);
    tname = mtr_tfile_tensor_info(f, 4, &ndim, got);
    CHECK(tname && strcmp(tname, "empty") == 0 && ndim == 2 && got[0] == 4 && got[1] == 0);
    CHECK(mtr_tfile_tensor_info(f, 6, &ndim, got) == NULL);
    CHECK(mtr_tfile_has(f, "s.long"));
    CHECK(!mtr_tfile_has(f, "t1")); /* tensors are not metadata */
    CHECK(!mtr_tfile_has(f, "s.lon"));
    mtr_tfile_close(f);
    free(long_text);
}

TEST(tfile_empty_container) {
    /* no metadata, no tensors: header 32, padding to 64, trailer 12 = 76 bytes */
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("nothing.mtrm"));
    mtr_error err = {{0}};
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), 0);
    mtr_tfile_writer_free(w);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK_EQ_INT(n, 76);
    free(b);
    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    if (f) {
        CHECK_EQ_INT(mtr_tfile_meta_count(f), 0);
        CHECK_EQ_INT(mtr_tfile_tensor_count(f), 0);
        CHECK(!mtr_tfile_has(f, "x"));
    }
    mtr_tfile_close(f);
}

/* ---------------------------------------------------------------- writer refusals, atomic write */

TEST(tfile_writer_refuses_duplicates) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("dup.mtrm"));
    const float x[2] = {1, 2};
    const uint64_t d[1] = {2};
    mtr_error err = {{0}};
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_u64(w, "k", 1);
    mtr_tfile_put_string(w, "other", "v", 1);
    mtr_tfile_put_f64(w, "k", 2.0);
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), -1);
    CHECK_CONTAINS(err.message, "dup.mtrm: duplicate metadata key 'k'");
    mtr_tfile_writer_free(w);
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing written */

    w = mtr_tfile_writer_new();
    mtr_tfile_put_tensor(w, "t", x, 1, d);
    mtr_tfile_put_tensor(w, "u", x, 1, d);
    mtr_tfile_put_tensor(w, "t", x, 1, d);
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), -1);
    CHECK_CONTAINS(err.message, "dup.mtrm: duplicate tensor name 't'");
    mtr_tfile_writer_free(w);
    CHECK(stat(path, &st) != 0);
}

TEST(tfile_writer_reports_bad_calls_at_commit) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("bad.mtrm"));
    const float x[2] = {1, 2};
    const uint64_t d5[5] = {1, 1, 1, 1, 2};
    mtr_error err = {{0}};
    struct {
        int ndim;         /* rank given to put_tensor */
        const float *data; /* data given */
        const char *name; /* name given */
        const char *msg;  /* expected message */
    } cases[] = {
        {0, x, "r0", "bad.mtrm: tensor 'r0': rank 0 is not in 1..4"},
        {5, x, "r5", "bad.mtrm: tensor 'r5': rank 5 is not in 1..4"},
        {1, NULL, "nd", "bad.mtrm: tensor 'nd': NULL data"},
        {1, x, "", "bad.mtrm: tensor name is empty"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mtr_tfile_writer *w = mtr_tfile_writer_new();
        mtr_tfile_put_u64(w, "fine", 1);
        mtr_tfile_put_tensor(w, cases[c].name, cases[c].data, cases[c].ndim, d5);
        mtr_tfile_put_tensor(w, "", x, 9, d5); /* a second problem: the first is reported */
        CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), -1);
        CHECK_CONTAINS(err.message, cases[c].msg);
        mtr_tfile_writer_free(w);
    }
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_u64(w, "", 1);
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), -1);
    CHECK_CONTAINS(err.message, "bad.mtrm: metadata key is empty");
    mtr_tfile_writer_free(w);
    /* a writer that could not be allocated is reported at commit; puts and free accept NULL */
    mtr_tfile_put_u64(NULL, "k", 1);
    mtr_tfile_put_tensor(NULL, "t", x, 1, d5);
    CHECK_EQ_INT(mtr_tfile_writer_commit(NULL, path, &err), -1);
    CHECK_CONTAINS(err.message, "bad.mtrm: out of memory");
    mtr_tfile_writer_free(NULL);
    mtr_tfile_close(NULL);
    struct stat st;
    CHECK(stat(path, &st) != 0);
}

TEST(tfile_atomic_write) {
    char dir[512], path[600], missing[600];
    snprintf(dir, sizeof dir, "%s", mtr_test_path("atomic"));
    CHECK_EQ_INT(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/m.mtrm", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/m.mtrm", dir);
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_small(path, &err), 0);
    CHECK_EQ_INT(count_temp_files(dir), 0);
    size_t n_old = 0;
    unsigned char *old = slurp(path, &n_old);
    CHECK_EQ_INT(n_old, 152);

    /* the target directory does not exist: an error naming the path, nothing created */
    CHECK_EQ_INT(write_small(missing, &err), -1);
    CHECK_CONTAINS(err.message, missing);
    CHECK_CONTAINS(err.message, "No such file or directory");
    CHECK_EQ_INT(count_temp_files(dir), 0);

    /* a refused commit leaves the old file as it was */
    mtr_tfile_writer *w = mtr_tfile_writer_new();
    mtr_tfile_put_u64(w, "a", 1);
    mtr_tfile_put_u64(w, "a", 2);
    CHECK_EQ_INT(mtr_tfile_writer_commit(w, path, &err), -1);
    mtr_tfile_writer_free(w);

    /* a write that fails half way (file size limit) leaves the old file and no temporary file */
    size_t big_n = 1 << 18;
    float *big = calloc(big_n, sizeof *big);
    uint64_t big_dims[1] = {big_n};
    struct rlimit saved;
    CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {65536, saved.rlim_max};
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
    w = mtr_tfile_writer_new();
    mtr_tfile_put_tensor(w, "big", big, 1, big_dims);
    int rc = mtr_tfile_writer_commit(w, path, &err);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
    mtr_tfile_writer_free(w);
    free(big);
    CHECK_EQ_INT(rc, -1);
    CHECK_CONTAINS(err.message, path);
    CHECK_CONTAINS(err.message, "write failed");
    CHECK_EQ_INT(count_temp_files(dir), 0);

    size_t n_now = 0;
    unsigned char *now = slurp(path, &n_now);
    CHECK(old && now && n_now == n_old && memcmp(old, now, n_old) == 0);
    free(old);
    free(now);
    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    mtr_tfile_close(f);
}

/* ---------------------------------------------------------------- getters */

TEST(tfile_getter_errors_name_file_and_key) {
    char path[512], msg[1100];
    snprintf(path, sizeof path, "%s", mtr_test_path("medium.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_medium(path, &err), 0);
    mtr_tfile *f = mtr_tfile_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    if (!f) return;
    const uint64_t right[2] = {5, 7}, wrong[2] = {5, 8}, flat[1] = {35};
    CHECK(mtr_tfile_get_tensor(f, "experts.w", 2, right, &err) != NULL);
    CHECK(mtr_tfile_get_tensor(f, "experts.w", 2, wrong, &err) == NULL);
    snprintf(msg, sizeof msg, "%s: tensor 'experts.w' has shape [5,7], expected [5,8]", path);
    CHECK_MSG(strcmp(err.message, msg) == 0, "got \"%s\"", err.message);
    CHECK(mtr_tfile_get_tensor(f, "experts.w", 1, flat, &err) == NULL);
    CHECK_CONTAINS(err.message, "has shape [5,7], expected [35]");
    CHECK(mtr_tfile_get_tensor(f, "experts.v", 2, right, &err) == NULL);
    snprintf(msg, sizeof msg, "%s: no tensor 'experts.v'", path);
    CHECK_MSG(strcmp(err.message, msg) == 0, "got \"%s\"", err.message);

    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    const char *s;
    size_t len;
    const float *v;
    CHECK_EQ_INT(mtr_tfile_get_u64(f, "model.layers", &u, &err), -1);
    snprintf(msg, sizeof msg, "%s: metadata 'model.layers' missing", path);
    CHECK_MSG(strcmp(err.message, msg) == 0, "got \"%s\"", err.message);
    CHECK_EQ_INT(mtr_tfile_get_u64(f, "model.kind", &u, &err), -1);
    CHECK_CONTAINS(err.message, "metadata 'model.kind' is a string, expected a u64");
    CHECK_EQ_INT(mtr_tfile_get_i64(f, "model.experts", &i, &err), -1);
    CHECK_CONTAINS(err.message, "metadata 'model.experts' is a u64, expected an i64");
    CHECK_EQ_INT(mtr_tfile_get_f64(f, "offset", &d, &err), -1);
    CHECK_CONTAINS(err.message, "metadata 'offset' is an i64, expected an f64");
    CHECK_EQ_INT(mtr_tfile_get_string(f, "means", &s, &len, &err), -1);
    CHECK_CONTAINS(err.message, "metadata 'means' is an f32 array, expected a string");
    CHECK_EQ_INT(mtr_tfile_get_f32_array(f, "lr", &v, &len, &err), -1);
    CHECK_CONTAINS(err.message, "metadata 'lr' is an f64, expected an f32 array");
    CHECK(mtr_tfile_get_f64(f, "lr", &d, &err) == 0 && d == 1e-3);
    CHECK(mtr_tfile_get_i64(f, "offset", &i, &err) == 0 && i == -42);
    CHECK(mtr_tfile_get_string(f, "model.kind", &s, &len, &err) == 0 && len == 4);
    CHECK(strcmp(s, "mmoe") == 0);
    mtr_tfile_close(f);
}

/* ---------------------------------------------------------------- bad files */

TEST(tfile_missing_empty_foreign) {
    const char *missing = mtr_test_path("does-not-exist.mtrm");
    const char *msg = open_fails(missing);
    CHECK_CONTAINS(msg, "cannot open: No such file or directory");
    msg = bytes_fail("empty.mtrm", (const unsigned char *)"", 0);
    CHECK_CONTAINS(msg, "empty file");
    const char *text = "age,income\n25,30000\n40,82000\nthis is a csv file, not a model\n";
    msg = bytes_fail("text.mtrm", (const unsigned char *)text, strlen(text));
    CHECK_CONTAINS(msg, ": not an mtrank file (bad magic)");
    msg = bytes_fail("short.mtrm", (const unsigned char *)"MTR", 3);
    CHECK_CONTAINS(msg, "truncated (file is 3 bytes");
    msg = bytes_fail("short2.mtrm", (const unsigned char *)"MTX", 3);
    CHECK_CONTAINS(msg, "bad magic");
    msg = open_fails(mtr_test_tmpdir());
    CHECK_CONTAINS(msg, "not a regular file");
}

TEST(tfile_every_prefix_is_refused) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("prefix-src.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_small(path, &err), 0);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK_EQ_INT(n, 152);
    for (size_t len = 0; b && len < n; len++) {
        const char *msg = bytes_fail("prefix.mtrm", b, len);
        if (len == 0) {
            CHECK_CONTAINS(msg, "empty file");
            continue;
        }
        CHECK_MSG(strstr(msg, "truncated (file is ") != NULL, "prefix %zu: %s", len, msg);
        /* the index (78 bytes) is complete: the message gives the full size */
        const char *want = len >= 78 ? "header says 152)"
                           : len >= 32 ? "ends inside the index"
                                       : "the header alone is 32";
        CHECK_MSG(strstr(msg, want) != NULL, "prefix %zu: \"%s\", expected \"%s\"", len, msg, want);
    }
    free(b);

    /* the medium file has strings, arrays and several tensors: every prefix is refused as truncated */
    CHECK_EQ_INT(write_medium(path, &err), 0);
    b = slurp(path, &n);
    CHECK(n > 500);
    int bad = 0;
    for (size_t len = 1; b && len < n; len++) {
        const char *msg = bytes_fail("prefix.mtrm", b, len);
        if (!strstr(msg, "truncated")) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(b);
}

TEST(tfile_every_bit_flip_is_refused) {
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("flip-src.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_small(path, &err), 0);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK_EQ_INT(n, 152);
    for (size_t pos = 0; b && pos < n; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            b[pos] ^= (unsigned char)(1u << bit);
            const char *msg = bytes_fail("flip.mtrm", b, n);
            b[pos] ^= (unsigned char)(1u << bit);
            const char *want = pos < 8 ? "bad magic"
                               : pos == 8 && bit == 0 ? "unsupported format version 0"
                               : pos < 12 ? "written by a newer mtrank"
                               : pos < n - 8 ? "checksum mismatch (file corrupt)"
                                             : "end marker missing (file is 152 bytes, header says 152)";
            CHECK_MSG(strstr(msg, want) != NULL, "byte %zu bit %d: \"%s\", expected \"%s\"", pos, bit, msg,
                      want);
        }
    }
    free(b);

    /* whole-byte corruption anywhere in the medium file is refused too */
    CHECK_EQ_INT(write_medium(path, &err), 0);
    b = slurp(path, &n);
    int accepted = 0;
    for (size_t pos = 0; b && pos < n; pos++) {
        b[pos] ^= 0xff;
        mtr_tfile *f = mtr_tfile_open(mtr_test_write_file("flip.mtrm", (const char *)b, n), &err);
        b[pos] ^= 0xff;
        accepted += f != NULL;
        mtr_tfile_close(f);
    }
    CHECK_EQ_INT(accepted, 0);
    free(b);
}

TEST(tfile_newer_version_is_refused_with_hint) {
    char path[512], want[1100];
    snprintf(path, sizeof path, "%s", mtr_test_path("v-src.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_small(path, &err), 0);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    if (!b) return;
    put_le32(b + 8, 2);
    fix_crc(b, n);
    const char *p = mtr_test_write_file("v2.mtrm", (const char *)b, n);
    const char *msg = open_fails(p);
    snprintf(want, sizeof want,
             "%s: written by a newer mtrank (format 2; this build reads up to 1): upgrade mtrank", p);
    CHECK_MSG(strcmp(msg, want) == 0, "got \"%s\"", msg);
    put_le32(b + 8, 0);
    fix_crc(b, n);
    msg = bytes_fail("v0.mtrm", b, n);
    CHECK_CONTAINS(msg, "unsupported format version 0");
    put_le32(b + 8, 1); /* back to a good file: the patch-and-fix procedure itself is sound */
    fix_crc(b, n);
    mtr_tfile *f = mtr_tfile_open(mtr_test_write_file("v1.mtrm", (const char *)b, n), &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    mtr_tfile_close(f);
    free(b);
}

/* A byte builder for hand-crafted files with a valid checksum but a bad index. */
typedef struct craft {
    unsigned char b[4096]; /* the file */
    size_t n;              /* bytes used */
} craft;

static void c_bytes(craft *c, const void *p, size_t n) {
    memcpy(c->b + c->n, p, n);
    c->n += n;
}

static void c_u32(craft *c, uint32_t v) {
    put_le32(c->b + c->n, v);
    c->n += 4;
}

static void c_u64(craft *c, uint64_t v) {
    c_u32(c, (uint32_t)v);
    c_u32(c, (uint32_t)(v >> 32));
}

static void c_header(craft *c, uint32_t flags, uint64_t n_meta, uint64_t n_tensors) {
    c->n = 0;
    c_bytes(c, "MTRANKTF", 8);
    c_u32(c, 1);
    c_u32(c, flags);
    c_u64(c, n_meta);
    c_u64(c, n_tensors);
}

static void c_name(craft *c, const char *s) {
    c_u32(c, (uint32_t)strlen(s));
    c_bytes(c, s, strlen(s));
}

static void c_tensor(craft *c, const char *name, uint32_t dtype, uint32_t ndim, const uint64_t *dims,
                     uint64_t offset) {
    c_name(c, name);
    c_u32(c, dtype);
    c_u32(c, ndim);
    for (uint32_t i = 0; i < ndim; i++) c_u64(c, dims[i]);
    c_u64(c, offset);
}

static void c_pad(craft *c) {
    while (c->n % 64) c->b[c->n++] = 0;
}

static void c_floats(craft *c, size_t n) {
    for (size_t i = 0; i < n; i++) c_u32(c, 0x3f800000u);
}

static void c_finish(craft *c) {
    c_u32(c, mtr_crc32(0, c->b, c->n));
    c_bytes(c, "MTRKEND", 8);
}

static void expect_malformed(craft *c, const char *want) {
    const char *msg = bytes_fail("crafted.mtrm", c->b, c->n);
    CHECK_CONTAINS(msg, want);
}

TEST(tfile_crafted_malformed_files) {
    craft c;
    const uint64_t one[1] = {1}, two[2] = {2, 3};
    mtr_error err = {{0}};

    /* the builder makes valid files: one u64, one 1-float tensor */
    c_header(&c, 0, 1, 1);
    c_name(&c, "k");
    c_u32(&c, 0);
    c_u64(&c, 7);
    c_tensor(&c, "t", 0, 1, one, 0);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    mtr_tfile *f = mtr_tfile_open(mtr_test_write_file("crafted-ok.mtrm", (const char *)c.b, c.n), &err);
    CHECK_MSG(f != NULL, "%s", err.message);
    uint64_t k = 0;
    CHECK(f && mtr_tfile_get_u64(f, "k", &k, &err) == 0 && k == 7);
    const float *t = f ? mtr_tfile_get_tensor(f, "t", 1, one, &err) : NULL;
    CHECK(t && t[0] == 1.0f);
    mtr_tfile_close(f);

    /* absurd counts with no entries behind them */
    c_header(&c, 0, UINT64_MAX, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "malformed index (metadata key 0 is empty)");
    c_header(&c, 0, 0, (uint64_t)1 << 62);
    c_name(&c, "t");
    c_finish(&c);
    expect_malformed(&c, "malformed index (tensor entry 0 runs past the end of the index)");

    /* lengths running past the end, including ones that overflow when multiplied */
    c_header(&c, 0, 1, 0);
    c_u32(&c, UINT32_MAX);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "metadata entry 0 runs past the end of the index");
    c_header(&c, 0, 1, 0);
    c_name(&c, "s");
    c_u32(&c, 3);
    c_u64(&c, UINT64_MAX);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "metadata entry 0 runs past the end of the index");
    c_header(&c, 0, 1, 0);
    c_name(&c, "a");
    c_u32(&c, 4);
    c_u64(&c, (uint64_t)1 << 62); /* times 4 wraps to 0 */
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "metadata entry 0 runs past the end of the index");

    /* unknown metadata type, NUL in a key, empty tensor name, bad dtype and ranks */
    c_header(&c, 0, 1, 0);
    c_name(&c, "k");
    c_u32(&c, 9);
    c_u64(&c, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "metadata 'k' has unknown type 9");
    c_header(&c, 0, 1, 0);
    c_u32(&c, 3);
    c_bytes(&c, "a\0b", 3);
    c_u32(&c, 0);
    c_u64(&c, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "metadata key 0 contains a NUL byte");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "", 0, 1, one, 0);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "tensor name 0 is empty");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 1, 1, one, 0);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' has dtype 1; this build reads only 0 (f32)");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 0, one, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' has rank 0, not 1..4");
    const uint64_t five[5] = {1, 1, 1, 1, 1};
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 5, five, 0);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' has rank 5, not 1..4");

    /* sizes: overflow of the dims product, of the byte count, and data beyond the section */
    const uint64_t huge2[2] = {(uint64_t)1 << 33, (uint64_t)1 << 33}, huge1[1] = {(uint64_t)1 << 62};
    const uint64_t big1[1] = {(uint64_t)1 << 40}, sixteen[1] = {16};
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 2, huge2, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' is impossibly large");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, huge1, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' is impossibly large");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, big1, 0);
    c_pad(&c);
    c_floats(&c, 4);
    c_finish(&c);
    expect_malformed(&c, "tensor data runs past the end: data section is 16 bytes, "
                         "tensors need 4398046511104"); /* 4 * 2^40 */
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, sixteen, (uint64_t)0 - 64); /* offset + 64 bytes wraps to 0 */
    c_pad(&c);
    c_floats(&c, 16);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' is impossibly large");

    /* offsets: misaligned, past the data, stray bytes after the last tensor */
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, one, 4);
    c_pad(&c);
    c_floats(&c, 2);
    c_finish(&c);
    expect_malformed(&c, "tensor 't' offset 4 is not a multiple of 64");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, one, 64);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "data section is 4 bytes, tensors need 68");
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 2, two, 0);
    c_pad(&c);
    c_floats(&c, 8);
    c_finish(&c);
    expect_malformed(&c, "8 stray bytes after the last tensor's data");

    /* padding, flags, duplicates, and a file too short for its own padding */
    c_header(&c, 0, 0, 1);
    c_tensor(&c, "t", 0, 1, one, 0);
    c_pad(&c);
    c.b[63] = 1;
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "non-zero padding at byte 63");
    c_header(&c, 1, 0, 0);
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "unknown header flags 0x1");
    c_header(&c, 0, 2, 0);
    for (int i = 0; i < 2; i++) {
        c_name(&c, "k");
        c_u32(&c, 1);
        c_u64(&c, (uint64_t)i);
    }
    c_pad(&c);
    c_finish(&c);
    expect_malformed(&c, "duplicate metadata key 'k'");
    c_header(&c, 0, 0, 2);
    c_tensor(&c, "t", 0, 1, one, 0);
    c_tensor(&c, "t", 0, 1, one, 0);
    c_pad(&c);
    c_floats(&c, 1);
    c_finish(&c);
    expect_malformed(&c, "duplicate tensor name 't'");
    c_header(&c, 0, 0, 0);
    c_finish(&c); /* 44 bytes: no room for the padding to 64 */
    expect_malformed(&c, "padding after the index runs past the end");
}

TEST(tfile_fuzzed_index_with_valid_checksum) {
    /* Random damage to the index and sizes of a real file, with the checksum recomputed so the damage
     * reaches the index parser: every open must either be refused with a message naming the file or
     * give tensors whose data can be read end to end (ASan checks the reads stay inside the buffer). */
    char path[512];
    snprintf(path, sizeof path, "%s", mtr_test_path("fuzz-src.mtrm"));
    mtr_error err = {{0}};
    CHECK_EQ_INT(write_medium(path, &err), 0);
    size_t n = 0;
    unsigned char *orig = slurp(path, &n);
    unsigned char *b = malloc(n);
    mtr_rng rng;
    mtr_rng_seed(&rng, 4242);
    int refused = 0, opened = 0, bad_message = 0;
    for (int iter = 0; orig && iter < 3000; iter++) {
        memcpy(b, orig, n);
        size_t len = n;
        int edits = 1 + (int)mtr_rng_below(&rng, 3);
        for (int e = 0; e < edits; e++) {
            size_t pos = 12 + (size_t)mtr_rng_below(&rng, 300); /* header counts and the index */
            uint64_t r = mtr_rng_next(&rng);
            b[pos] = (r & 1) ? (unsigned char)(r >> 8) : (unsigned char)(b[pos] ^ (1u << ((r >> 8) & 7)));
        }
        if (mtr_rng_below(&rng, 4) == 0) { /* sometimes also cut bytes out of the data section */
            size_t cut = 4 * (1 + (size_t)mtr_rng_below(&rng, 40));
            memmove(b + n - 12 - cut, b + n - 12, 12);
            len = n - cut;
        }
        fix_crc(b, len);
        const char *p = mtr_test_write_file("fuzz.mtrm", (const char *)b, len);
        mtr_tfile *f = mtr_tfile_open(p, &err);
        if (!f) {
            refused++;
            if (strncmp(err.message, p, strlen(p)) != 0 || !strstr(err.message, ": ")) bad_message++;
            continue;
        }
        opened++;
        double sum = 0;
        for (size_t t = 0; t < mtr_tfile_tensor_count(f); t++) {
            int ndim = 0;
            uint64_t dims[4];
            const char *name = mtr_tfile_tensor_info(f, t, &ndim, dims);
            const float *d = mtr_tfile_get_tensor(f, name, ndim, dims, &err);
            CHECK(d != NULL);
            uint64_t count = 1;
            for (int k = 0; k < ndim; k++) count *= dims[k];
            for (uint64_t k = 0; d && k < count; k++) sum += d[k];
        }
        for (size_t k = 0; k < mtr_tfile_meta_count(f); k++) CHECK(mtr_tfile_meta_key(f, k, NULL) != NULL);
        (void)sum;
        mtr_tfile_close(f);
    }
    CHECK_EQ_INT(bad_message, 0);
    /* most damage is caught; some lands in string bytes or float values and is a valid file */
    CHECK_MSG(refused > 1500 && opened > 50, "refused %d, opened %d", refused, opened);
    if (getenv("MTR_TEST_VERBOSE")) fprintf(stderr, "  fuzz: refused %d, opened %d\n", refused, opened);
    free(b);
    free(orig);
}
