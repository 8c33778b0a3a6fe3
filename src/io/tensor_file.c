/* tensor_file.c - writer and reader of mtrank's tensor container (layout in tensor_file.h, explained
 * in docs/model-format.md). Assumes files are small enough to hold in memory whole (models are MBs):
 * the reader reads the entire file into one 64-byte-aligned buffer, verifies it and hands out pointers
 * into it. Every number is encoded and decoded byte by byte as little-endian, so no struct is ever read
 * or written raw and the code is the same on any host; only tensor payloads are copied wholesale on
 * little-endian hosts (and byte-swapped in place on big-endian ones).
 */
#define _POSIX_C_SOURCE 200809L
#include "io/tensor_file.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/atomic_file.h"
#include "util/checksum.h"
#include "util/error.h"

#define TF_HEADER_SIZE 32  /* magic, version, flags, n_meta, n_tensors */
#define TF_TRAILER_SIZE 12 /* crc32, end marker */
#define TF_ALIGN 64        /* data section start and every tensor offset */
#define TF_MAX_DIMS 4

static const unsigned char tf_magic[8] = {'M', 'T', 'R', 'A', 'N', 'K', 'T', 'F'};
static const unsigned char tf_end[8] = {'M', 'T', 'R', 'K', 'E', 'N', 'D', '\0'};

/* Metadata value types, as stored in the file. */
enum { TYPE_U64 = 0, TYPE_I64 = 1, TYPE_F64 = 2, TYPE_STRING = 3, TYPE_F32_ARRAY = 4, TYPE_COUNT = 5 };
enum { DTYPE_F32 = 0 };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TF_HOST_LE 1
#else
#define TF_HOST_LE 0 /* big-endian or unknown: take the portable byte-by-byte path */
#endif

static const char *type_name(int type) {
    static const char *const names[TYPE_COUNT] = {"a u64", "an i64", "an f64", "a string", "an f32 array"};
    return type >= 0 && type < TYPE_COUNT ? names[type] : "of unknown type";
}

static void le32_put(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void le64_put(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t le32_get(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_get(const unsigned char *p) {
    return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static uint32_t f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Round up to the alignment; callers keep v far below UINT64_MAX (it is bounded by a file size). */
static uint64_t align_up(uint64_t v) {
    return (v + (TF_ALIGN - 1)) & ~(uint64_t)(TF_ALIGN - 1);
}

/* A name and its entry's position, sorted by name: duplicate checks and binary-search lookup. */
typedef struct name_ref {
    const char *name; /* NUL-terminated key or tensor name */
    size_t index;     /* entry position in file (or call) order */
} name_ref;

static int name_ref_cmp(const void *a, const void *b) {
    return strcmp(((const name_ref *)a)->name, ((const name_ref *)b)->name);
}

/* Sort refs by name; return the first name that occurs twice, or NULL. */
static const char *sort_and_find_duplicate(name_ref *refs, size_t n) {
    if (n > 1) qsort(refs, n, sizeof *refs, name_ref_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) return refs[i].name;
    return NULL;
}

static const name_ref *lookup(const name_ref *refs, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(refs[mid].name, name);
        if (c == 0) return &refs[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* "[3,4]" */
static void format_shape(char *out, size_t cap, int ndim, const uint64_t *dims) {
    if (ndim < 1 || ndim > TF_MAX_DIMS || !dims) {
        snprintf(out, cap, "(rank %d)", ndim);
        return;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < ndim && used < cap; i++) {
        int k = snprintf(out + used, cap - used, "%s%" PRIu64 "%s", i ? "," : "[", dims[i],
                         i == ndim - 1 ? "]" : "");
        if (k < 0) break;
        used += (size_t)k;
    }
}

/* ================================================================ writer */

typedef struct wmeta {
    char *key;     /* owned copy */
    int type;      /* TYPE_* */
    uint64_t bits; /* u64, i64 or f64 value as its raw 64 bits */
    void *blob;    /* owned copy of the string bytes or floats; NULL when empty */
    size_t len;    /* string bytes or float count */
} wmeta;

typedef struct wtensor {
    char *name;                 /* owned copy */
    const float *data;          /* the caller's buffer, read at commit */
    int ndim;                   /* 1..4 */
    uint64_t dims[TF_MAX_DIMS]; /* shape, outermost first */
    uint64_t nbytes;            /* 4 * product of dims */
    uint64_t offset;            /* in the data section; assigned by commit */
} wtensor;

struct mtr_tfile_writer {
    wmeta *meta;           /* metadata in call order */
    size_t n_meta;         /* entries used */
    size_t cap_meta;       /* entries allocated */
    wtensor *tensors;      /* tensors in call order */
    size_t n_tensors;      /* entries used */
    size_t cap_tensors;    /* entries allocated */
    char problem[256];     /* first bad put call; the puts return nothing, so commit reports it */
};

static void writer_problem(mtr_tfile_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void writer_problem(mtr_tfile_writer *w, const char *fmt, ...) {
    if (w->problem[0]) return; /* keep the first: later ones are often consequences */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->problem, sizeof w->problem, fmt, ap);
    va_end(ap);
}

static int grow(void **items, size_t *cap, size_t used, size_t item_size) {
    if (used < *cap) return 0;
    size_t new_cap = *cap ? *cap * 2 : 16;
    if (new_cap > SIZE_MAX / item_size) return -1;
    void *p = realloc(*items, new_cap * item_size);
    if (!p) return -1;
    *items = p;
    *cap = new_cap;
    return 0;
}

static int name_ok(mtr_tfile_writer *w, const char *what, const char *name) {
    if (!name || !name[0]) {
        writer_problem(w, "%s is empty", what);
        return 0;
    }
    if (strlen(name) > UINT32_MAX) {
        writer_problem(w, "%s is too long", what);
        return 0;
    }
    return 1;
}

mtr_tfile_writer *mtr_tfile_writer_new(void) {
    return calloc(1, sizeof(mtr_tfile_writer));
}

void mtr_tfile_writer_free(mtr_tfile_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].blob);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->meta);
    free(w->tensors);
    free(w);
}

/* Append a metadata entry with a copied key and `blob_bytes` copied from `blob`. */
static void add_meta(mtr_tfile_writer *w, const char *key, int type, uint64_t bits, const void *blob,
                     size_t blob_bytes, size_t len) {
    if (!w || !name_ok(w, "metadata key", key)) return;
    if (grow((void **)&w->meta, &w->cap_meta, w->n_meta, sizeof *w->meta) != 0) {
        writer_problem(w, "out of memory adding metadata '%s'", key);
        return;
    }
    wmeta m = {.type = type, .bits = bits, .len = len};
    m.key = strdup(key);
    if (blob_bytes) m.blob = malloc(blob_bytes);
    if (!m.key || (blob_bytes && !m.blob)) {
        free(m.key);
        free(m.blob);
        writer_problem(w, "out of memory adding metadata '%s'", key);
        return;
    }
    if (blob_bytes) memcpy(m.blob, blob, blob_bytes);
    w->meta[w->n_meta++] = m;
}

void mtr_tfile_put_u64(mtr_tfile_writer *w, const char *key, uint64_t v) {
    add_meta(w, key, TYPE_U64, v, NULL, 0, 0);
}

void mtr_tfile_put_i64(mtr_tfile_writer *w, const char *key, int64_t v) {
    add_meta(w, key, TYPE_I64, (uint64_t)v, NULL, 0, 0);
}

void mtr_tfile_put_f64(mtr_tfile_writer *w, const char *key, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    add_meta(w, key, TYPE_F64, bits, NULL, 0, 0);
}

void mtr_tfile_put_string(mtr_tfile_writer *w, const char *key, const char *s, size_t len) {
    if (w && len && !s) {
        writer_problem(w, "metadata '%s': NULL string of length %zu", key ? key : "", len);
        return;
    }
    add_meta(w, key, TYPE_STRING, 0, s, len, len);
}

void mtr_tfile_put_f32_array(mtr_tfile_writer *w, const char *key, const float *v, size_t n) {
    if (!w) return;
    if (n && !v) {
        writer_problem(w, "metadata '%s': NULL array of %zu floats", key ? key : "", n);
        return;
    }
    if (n > SIZE_MAX / sizeof(float)) {
        writer_problem(w, "metadata '%s': array of %zu floats is too large", key ? key : "", n);
        return;
    }
    add_meta(w, key, TYPE_F32_ARRAY, 0, v, n * sizeof(float), n);
}

void mtr_tfile_put_tensor(mtr_tfile_writer *w, const char *name, const float *data, int ndim,
                          const uint64_t *dims) {
    if (!w || !name_ok(w, "tensor name", name)) return;
    if (ndim < 1 || ndim > TF_MAX_DIMS || !dims) {
        writer_problem(w, "tensor '%s': rank %d is not in 1..%d", name, ndim, TF_MAX_DIMS);
        return;
    }
    wtensor t = {.data = data, .ndim = ndim};
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        t.dims[i] = dims[i];
        if (__builtin_mul_overflow(count, dims[i], &count)) count = UINT64_MAX;
    }
    if (count > SIZE_MAX / sizeof(float)) {
        writer_problem(w, "tensor '%s' is too large", name);
        return;
    }
    t.nbytes = count * sizeof(float);
    if (t.nbytes && !data) {
        writer_problem(w, "tensor '%s': NULL data", name);
        return;
    }
    if (grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors) != 0 ||
        !(t.name = strdup(name))) {
        writer_problem(w, "out of memory adding tensor '%s'", name);
        return;
    }
    w->tensors[w->n_tensors++] = t;
}

/* Bytes this entry takes in the index. */
static uint64_t meta_index_bytes(const wmeta *m) {
    uint64_t value = 8;
    if (m->type == TYPE_STRING) value += m->len;
    if (m->type == TYPE_F32_ARRAY) value += (uint64_t)m->len * 4;
    return 4 + strlen(m->key) + 4 + value;
}

static uint64_t tensor_index_bytes(const wtensor *t) {
    return 4 + strlen(t->name) + 4 + 4 + 8 * (uint64_t)t->ndim + 8;
}

/* Output stream that checksums what it writes and remembers the first write error. */
typedef struct sink {
    FILE *f;          /* the temporary file */
    uint32_t crc;     /* CRC-32 of everything written through sink_bytes */
    uint64_t written; /* bytes written through sink_bytes */
    int failed;       /* a write failed; later writes are skipped */
    int saved_errno;  /* errno of that failure */
} sink;

static void sink_raw(sink *s, const void *p, size_t n) {
    if (s->failed || n == 0) return;
    errno = 0;
    if (fwrite(p, 1, n, s->f) != n) {
        s->failed = 1;
        s->saved_errno = errno ? errno : EIO;
    }
}

static void sink_bytes(sink *s, const void *p, size_t n) {
    s->crc = mtr_crc32(s->crc, p, n);
    s->written += n;
    sink_raw(s, p, n);
}

static void sink_u32(sink *s, uint32_t v) {
    unsigned char b[4];
    le32_put(b, v);
    sink_bytes(s, b, sizeof b);
}

static void sink_u64(sink *s, uint64_t v) {
    unsigned char b[8];
    le64_put(b, v);
    sink_bytes(s, b, sizeof b);
}

static void sink_zeros(sink *s, uint64_t n) {
    static const unsigned char zeros[TF_ALIGN];
    assert(n < TF_ALIGN);
    sink_bytes(s, zeros, (size_t)n);
}

static void sink_floats(sink *s, const float *v, size_t n) {
    if (TF_HOST_LE) {
        sink_bytes(s, v, n * sizeof(float));
        return;
    }
    unsigned char chunk[1024];
    while (n > 0) {
        size_t k = n < sizeof chunk / 4 ? n : sizeof chunk / 4;
        for (size_t i = 0; i < k; i++) le32_put(chunk + 4 * i, f32_bits(v[i]));
        sink_bytes(s, chunk, 4 * k);
        v += k;
        n -= k;
    }
}

/* Refuse duplicate metadata keys and duplicate tensor names (the two namespaces are separate). */
static int writer_check_unique(const mtr_tfile_writer *w, const char *path, mtr_error *err) {
    size_t n = w->n_meta > w->n_tensors ? w->n_meta : w->n_tensors;
    name_ref *refs = malloc((n ? n : 1) * sizeof *refs);
    if (!refs) return mtr_fail(err, "%s: out of memory", path);
    for (size_t i = 0; i < w->n_meta; i++) refs[i] = (name_ref){w->meta[i].key, i};
    const char *dup = sort_and_find_duplicate(refs, w->n_meta);
    if (dup) {
        mtr_fail(err, "%s: duplicate metadata key '%s'", path, dup);
        free(refs);
        return -1;
    }
    for (size_t i = 0; i < w->n_tensors; i++) refs[i] = (name_ref){w->tensors[i].name, i};
    dup = sort_and_find_duplicate(refs, w->n_tensors);
    if (dup) mtr_fail(err, "%s: duplicate tensor name '%s'", path, dup);
    free(refs);
    return dup ? -1 : 0;
}

int mtr_tfile_writer_commit(mtr_tfile_writer *w, const char *path, mtr_error *err) {
    if (!w) return mtr_fail(err, "%s: out of memory (no writer)", path);
    if (w->problem[0]) return mtr_fail(err, "%s: %s", path, w->problem);
    if (writer_check_unique(w, path, err) != 0) return -1;

    /* Lay out: header, index, padding to 64, tensors at 64-aligned offsets, nothing after the last. */
    uint64_t index_end = TF_HEADER_SIZE;
    for (size_t i = 0; i < w->n_meta; i++) index_end += meta_index_bytes(&w->meta[i]);
    for (size_t i = 0; i < w->n_tensors; i++) index_end += tensor_index_bytes(&w->tensors[i]);
    uint64_t data_start = align_up(index_end);
    uint64_t data_end = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        t->offset = align_up(data_end);
        if (__builtin_add_overflow(t->offset, t->nbytes, &data_end))
            return mtr_fail(err, "%s: tensors are too large for one file", path);
    }

    mtr_atomic_file af;
    if (mtr_atomic_open(&af, path, err) != 0) return -1;
    sink s = {.f = af.f};
    sink_bytes(&s, tf_magic, sizeof tf_magic);
    sink_u32(&s, MTR_TENSOR_FILE_VERSION);
    sink_u32(&s, 0); /* flags */
    sink_u64(&s, w->n_meta);
    sink_u64(&s, w->n_tensors);
    for (size_t i = 0; i < w->n_meta; i++) {
        const wmeta *m = &w->meta[i];
        size_t key_len = strlen(m->key);
        sink_u32(&s, (uint32_t)key_len);
        sink_bytes(&s, m->key, key_len);
        sink_u32(&s, (uint32_t)m->type);
        if (m->type == TYPE_STRING) {
            sink_u64(&s, m->len);
            sink_bytes(&s, m->blob, m->len);
        } else if (m->type == TYPE_F32_ARRAY) {
            sink_u64(&s, m->len);
            sink_floats(&s, m->blob, m->len);
        } else {
            sink_u64(&s, m->bits);
        }
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        size_t name_len = strlen(t->name);
        sink_u32(&s, (uint32_t)name_len);
        sink_bytes(&s, t->name, name_len);
        sink_u32(&s, DTYPE_F32);
        sink_u32(&s, (uint32_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) sink_u64(&s, t->dims[d]);
        sink_u64(&s, t->offset);
    }
    assert(s.written == index_end);
    sink_zeros(&s, data_start - index_end);
    uint64_t pos = 0; /* within the data section */
    for (size_t i = 0; i < w->n_tensors && !s.failed; i++) {
        const wtensor *t = &w->tensors[i];
        sink_zeros(&s, t->offset - pos);
        sink_floats(&s, t->data, (size_t)(t->nbytes / sizeof(float)));
        pos = t->offset + t->nbytes;
    }
    assert(s.failed || s.written == data_start + data_end);

    unsigned char trailer[TF_TRAILER_SIZE];
    le32_put(trailer, s.crc);
    memcpy(trailer + 4, tf_end, sizeof tf_end);
    sink_raw(&s, trailer, sizeof trailer); /* not part of the checksummed bytes */
    if (s.failed) {
        mtr_atomic_abort(&af);
        return mtr_fail(err, "%s: write failed: %s", path, strerror(s.saved_errno));
    }
    return mtr_atomic_commit(&af, err);
}

/* ================================================================ reader */

typedef struct rmeta {
    const char *key;  /* NUL-terminated copy in the pool */
    int type;         /* TYPE_* */
    uint64_t bits;    /* u64, i64 or f64 value as its raw 64 bits */
    const void *ptr;  /* string (NUL-terminated copy) or float array (aligned copy) in the pool */
    size_t len;       /* string bytes or float count */
} rmeta;

typedef struct rtensor {
    const char *name;           /* NUL-terminated copy in the pool */
    int ndim;                   /* 1..4 */
    uint64_t dims[TF_MAX_DIMS]; /* shape, outermost first */
    uint64_t offset;            /* in the data section, a multiple of 64 */
    const float *data;          /* into the file buffer, 64-byte aligned */
} rtensor;

struct mtr_tfile {
    char *path;               /* as given to open, for messages */
    uint32_t version;         /* format version read from the header */
    unsigned char *buf;       /* the whole file, 64-byte aligned; tensor data points inside */
    size_t size;              /* bytes in buf */
    rmeta *meta;              /* metadata in file order */
    size_t n_meta;            /* entries in meta */
    rtensor *tensors;         /* tensors in file order */
    size_t n_tensors;         /* entries in tensors */
    name_ref *meta_by_key;    /* meta sorted by key, for lookup */
    name_ref *tensor_by_name; /* tensors sorted by name, for lookup */
    char *pool;               /* decoded f32 arrays first (4-aligned), then keys, names, strings */
};

/* State of one pass over the index. The first pass (fill == NULL) validates and sizes; the second
 * copies into the allocated entries and pool. Bounds are checked against `limit` in both. */
typedef struct walk {
    const unsigned char *buf; /* the file */
    size_t limit;             /* the index must end at or before this offset */
    mtr_tfile *fill;          /* destination of the second pass, or NULL */
    float *arrays;            /* second pass: next free float in the pool */
    char *chars;              /* second pass: next free char in the pool */
    uint64_t n_meta;          /* from the header */
    uint64_t n_tensors;       /* from the header */
    size_t index_end;         /* offset just past the last index entry */
    uint64_t data_need;       /* end of the furthest tensor in the data section */
    size_t array_bytes;       /* pool bytes for f32 arrays */
    size_t char_bytes;        /* pool bytes for NUL-terminated keys, names and strings */
    int ran_out;              /* the failure was the index running past `limit` */
    char detail[320];         /* what is wrong, without the path */
} walk;

static int walk_fail(walk *wk, int ran_out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int walk_fail(walk *wk, int ran_out, const char *fmt, ...) {
    wk->ran_out = ran_out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wk->detail, sizeof wk->detail, fmt, ap);
    va_end(ap);
    return -1;
}

/* Claim the next n bytes of the index; -1 if they would pass the limit. *pos <= limit always. */
static int take(const walk *wk, size_t *pos, uint64_t n, const unsigned char **out) {
    if (n > wk->limit - *pos) return -1;
    *out = wk->buf + *pos;
    *pos += (size_t)n;
    return 0;
}

/* Validate a key or name of `len` bytes at p and, in the second pass, copy it into the pool. */
static int walk_name(walk *wk, const char *what, uint64_t i, const unsigned char *p, uint32_t len,
                     const char **out) {
    if (len == 0) return walk_fail(wk, 0, "%s %" PRIu64 " is empty", what, i);
    if (memchr(p, '\0', len)) return walk_fail(wk, 0, "%s %" PRIu64 " contains a NUL byte", what, i);
    wk->char_bytes += (size_t)len + 1;
    if (wk->fill) {
        memcpy(wk->chars, p, len);
        wk->chars[len] = '\0';
        *out = wk->chars;
        wk->chars += (size_t)len + 1;
    }
    return 0;
}

/* How much of a name to quote in a message: names here are not NUL-terminated. */
static int shown(uint32_t len) {
    return len < 64 ? (int)len : 64;
}

static int meta_ran_out(walk *wk, uint64_t i) {
    return walk_fail(wk, 1, "metadata entry %" PRIu64 " runs past the end of the index", i);
}

static int tensor_ran_out(walk *wk, uint64_t i) {
    return walk_fail(wk, 1, "tensor entry %" PRIu64 " runs past the end of the index", i);
}

static int walk_meta(walk *wk, size_t *pos, uint64_t i) {
    const unsigned char *p, *key;
    rmeta m = {0};
    if (take(wk, pos, 4, &p) != 0) return meta_ran_out(wk, i);
    uint32_t key_len = le32_get(p);
    if (take(wk, pos, key_len, &key) != 0) return meta_ran_out(wk, i);
    if (walk_name(wk, "metadata key", i, key, key_len, &m.key) != 0) return -1;
    if (take(wk, pos, 4, &p) != 0) return meta_ran_out(wk, i);
    uint32_t type = le32_get(p);
    if (type >= TYPE_COUNT)
        return walk_fail(wk, 0, "metadata '%.*s' has unknown type %" PRIu32, shown(key_len),
                         (const char *)key, type);
    m.type = (int)type;
    if (take(wk, pos, 8, &p) != 0) return meta_ran_out(wk, i);
    m.bits = le64_get(p);
    if (type == TYPE_STRING) {
        const unsigned char *s;
        if (take(wk, pos, m.bits, &s) != 0) return meta_ran_out(wk, i);
        m.len = (size_t)m.bits;
        wk->char_bytes += m.len + 1;
        if (wk->fill) {
            memcpy(wk->chars, s, m.len);
            wk->chars[m.len] = '\0';
            m.ptr = wk->chars;
            wk->chars += m.len + 1;
        }
    } else if (type == TYPE_F32_ARRAY) {
        const unsigned char *v;
        if (m.bits > (wk->limit - *pos) / 4 || take(wk, pos, m.bits * 4, &v) != 0)
            return meta_ran_out(wk, i);
        m.len = (size_t)m.bits;
        wk->array_bytes += m.len * sizeof(float);
        if (wk->fill) {
            for (size_t k = 0; k < m.len; k++) wk->arrays[k] = bits_f32(le32_get(v + 4 * k));
            m.ptr = wk->arrays;
            wk->arrays += m.len;
        }
    }
    if (wk->fill) wk->fill->meta[i] = m;
    return 0;
}

static int walk_tensor(walk *wk, size_t *pos, uint64_t i) {
    const unsigned char *p, *name;
    rtensor t = {0};
    if (take(wk, pos, 4, &p) != 0) return tensor_ran_out(wk, i);
    uint32_t name_len = le32_get(p);
    if (take(wk, pos, name_len, &name) != 0) return tensor_ran_out(wk, i);
    if (walk_name(wk, "tensor name", i, name, name_len, &t.name) != 0) return -1;
    int nl = shown(name_len);
    const char *nm = (const char *)name;
    if (take(wk, pos, 8, &p) != 0) return tensor_ran_out(wk, i);
    uint32_t dtype = le32_get(p), ndim = le32_get(p + 4);
    if (dtype != DTYPE_F32)
        return walk_fail(wk, 0, "tensor '%.*s' has dtype %" PRIu32 "; this build reads only 0 (f32)", nl,
                         nm, dtype);
    if (ndim < 1 || ndim > TF_MAX_DIMS)
        return walk_fail(wk, 0, "tensor '%.*s' has rank %" PRIu32 ", not 1..%d", nl, nm, ndim,
                         TF_MAX_DIMS);
    t.ndim = (int)ndim;
    if (take(wk, pos, 8 * (uint64_t)ndim + 8, &p) != 0) return tensor_ran_out(wk, i);
    uint64_t nbytes = sizeof(float);
    int overflow = 0;
    for (uint32_t d = 0; d < ndim; d++) {
        t.dims[d] = le64_get(p + 8 * d);
        overflow |= __builtin_mul_overflow(nbytes, t.dims[d], &nbytes);
    }
    t.offset = le64_get(p + 8 * ndim);
    uint64_t end;
    if (overflow || __builtin_add_overflow(t.offset, nbytes, &end))
        return walk_fail(wk, 0, "tensor '%.*s' is impossibly large (size overflows)", nl, nm);
    if (t.offset % TF_ALIGN != 0)
        return walk_fail(wk, 0, "tensor '%.*s' offset %" PRIu64 " is not a multiple of %d", nl, nm,
                         t.offset, TF_ALIGN);
    if (end > wk->data_need) wk->data_need = end;
    if (wk->fill) wk->fill->tensors[i] = t;
    return 0;
}

static int walk_index(walk *wk) {
    assert(wk->limit >= TF_HEADER_SIZE);
    wk->n_meta = le64_get(wk->buf + 16);
    wk->n_tensors = le64_get(wk->buf + 24);
    wk->data_need = 0;
    wk->array_bytes = wk->char_bytes = 0;
    size_t pos = TF_HEADER_SIZE;
    /* Every entry takes at least 4 bytes, so absurd counts fail as "runs past the end" quickly. */
    for (uint64_t i = 0; i < wk->n_meta; i++)
        if (walk_meta(wk, &pos, i) != 0) return -1;
    for (uint64_t i = 0; i < wk->n_tensors; i++)
        if (walk_tensor(wk, &pos, i) != 0) return -1;
    wk->index_end = pos;
    return 0;
}

/* A file without its end marker: say how it falls short, sizing it from its index when possible. */
static int diagnose_incomplete(const mtr_tfile *f, mtr_error *err) {
    walk wk = {.buf = f->buf, .limit = f->size};
    if (walk_index(&wk) != 0) {
        if (wk.ran_out)
            return mtr_fail(err, "%s: truncated (file is %zu bytes and ends inside the index)", f->path,
                            f->size);
        return mtr_fail(err, "%s: corrupt (file is %zu bytes with no end marker; %s)", f->path, f->size,
                        wk.detail);
    }
    uint64_t want;
    if (__builtin_add_overflow(align_up(wk.index_end), wk.data_need, &want) ||
        __builtin_add_overflow(want, (uint64_t)TF_TRAILER_SIZE, &want))
        return mtr_fail(err, "%s: corrupt (file is %zu bytes with no end marker; tensor sizes overflow)",
                        f->path, f->size);
    if (want > f->size)
        return mtr_fail(err, "%s: truncated (file is %zu bytes, header says %" PRIu64 ")", f->path,
                        f->size, want);
    return mtr_fail(err,
                    "%s: end marker missing (file is %zu bytes, header says %" PRIu64 "): file corrupt",
                    f->path, f->size, want);
}

/* Parse and verify f->buf: magic, version, completeness, checksum, then the index against the file. */
static int parse(mtr_tfile *f, mtr_error *err) {
    const unsigned char *b = f->buf;
    size_t size = f->size;
    const char *path = f->path;
    if (size == 0) return mtr_fail(err, "%s: empty file (not an mtrank file)", path);
    if (memcmp(b, tf_magic, size < sizeof tf_magic ? size : sizeof tf_magic) != 0)
        return mtr_fail(err, "%s: not an mtrank file (bad magic)", path);
    if (size < 12)
        return mtr_fail(err, "%s: truncated (file is %zu bytes, the header alone is %d)", path, size,
                        TF_HEADER_SIZE);
    /* The version comes before everything else so that a later format may change all that follows. */
    f->version = le32_get(b + 8);
    if (f->version == 0) return mtr_fail(err, "%s: unsupported format version 0 (file corrupt)", path);
    if (f->version > MTR_TENSOR_FILE_VERSION)
        return mtr_fail(err,
                        "%s: written by a newer mtrank (format %" PRIu32 "; this build reads up to %d): "
                        "upgrade mtrank",
                        path, f->version, MTR_TENSOR_FILE_VERSION);
    if (size < TF_HEADER_SIZE)
        return mtr_fail(err, "%s: truncated (file is %zu bytes, the header alone is %d)", path, size,
                        TF_HEADER_SIZE);
    if (size < TF_HEADER_SIZE + TF_TRAILER_SIZE || memcmp(b + size - 8, tf_end, sizeof tf_end) != 0)
        return diagnose_incomplete(f, err);
    size_t body = size - TF_TRAILER_SIZE; /* bytes covered by the checksum */
    if (mtr_crc32(0, b, body) != le32_get(b + body))
        return mtr_fail(err, "%s: checksum mismatch (file corrupt)", path);

    /* From here the bytes are what the writer wrote; failures mean a buggy or hostile writer. */
    uint32_t flags = le32_get(b + 12);
    if (flags != 0)
        return mtr_fail(err, "%s: unknown header flags 0x%" PRIx32 " (format %" PRIu32 " defines none)",
                        path, flags, f->version);
    walk wk = {.buf = b, .limit = body};
    if (walk_index(&wk) != 0) return mtr_fail(err, "%s: malformed index (%s)", path, wk.detail);
    size_t data_start = (size_t)align_up(wk.index_end);
    if (data_start > body)
        return mtr_fail(err, "%s: malformed index (padding after the index runs past the end)", path);
    for (size_t i = wk.index_end; i < data_start; i++)
        if (b[i] != 0) return mtr_fail(err, "%s: malformed index (non-zero padding at byte %zu)", path, i);
    uint64_t data_len = body - data_start;
    if (wk.data_need > data_len)
        return mtr_fail(err,
                        "%s: malformed index (tensor data runs past the end: data section is %" PRIu64
                        " bytes, tensors need %" PRIu64 ")",
                        path, data_len, wk.data_need);
    if (wk.data_need < data_len)
        return mtr_fail(err,
                        "%s: malformed index (%" PRIu64 " stray bytes after the last tensor's data)",
                        path, data_len - wk.data_need);

    /* Second pass: the first one bounded every count by the file size, so these allocations are too. */
    f->n_meta = (size_t)wk.n_meta;
    f->n_tensors = (size_t)wk.n_tensors;
    f->meta = calloc(f->n_meta ? f->n_meta : 1, sizeof *f->meta);
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    f->meta_by_key = malloc((f->n_meta ? f->n_meta : 1) * sizeof *f->meta_by_key);
    f->tensor_by_name = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *f->tensor_by_name);
    f->pool = malloc(wk.array_bytes + wk.char_bytes + 1);
    if (!f->meta || !f->tensors || !f->meta_by_key || !f->tensor_by_name || !f->pool)
        return mtr_fail(err, "%s: out of memory reading the index", path);
    walk fill = {.buf = b, .limit = body, .fill = f, .arrays = (float *)(void *)f->pool,
                 .chars = f->pool + wk.array_bytes};
    int again = walk_index(&fill);
    assert(again == 0 && fill.index_end == wk.index_end);
    (void)again;

    for (size_t i = 0; i < f->n_meta; i++) f->meta_by_key[i] = (name_ref){f->meta[i].key, i};
    const char *dup = sort_and_find_duplicate(f->meta_by_key, f->n_meta);
    if (dup) return mtr_fail(err, "%s: malformed index (duplicate metadata key '%s')", path, dup);
    for (size_t i = 0; i < f->n_tensors; i++) f->tensor_by_name[i] = (name_ref){f->tensors[i].name, i};
    dup = sort_and_find_duplicate(f->tensor_by_name, f->n_tensors);
    if (dup) return mtr_fail(err, "%s: malformed index (duplicate tensor name '%s')", path, dup);

    unsigned char *data = f->buf + data_start;
    if (!TF_HOST_LE) /* the data section is whole floats and zero padding: swap it in place */
        for (size_t i = 0; i + 4 <= data_len; i += 4) {
            float x = bits_f32(le32_get(data + i));
            memcpy(data + i, &x, 4);
        }
    for (size_t i = 0; i < f->n_tensors; i++)
        f->tensors[i].data = (const float *)(const void *)(data + f->tensors[i].offset);
    return 0;
}

/* Read the whole file into a 64-byte-aligned buffer. */
static int read_whole(const char *path, unsigned char **out, size_t *out_size, mtr_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        int e = errno;
        fclose(fp);
        return mtr_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(fp);
        return mtr_fail(err, "%s: not a regular file", path);
    }
    if ((uintmax_t)st.st_size > SIZE_MAX / 4) { /* keeps the index pool sizes free of overflow */
        fclose(fp);
        return mtr_fail(err, "%s: file too large to read (%jd bytes)", path, (intmax_t)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    void *buf = NULL;
    if (posix_memalign(&buf, TF_ALIGN, size ? size : 1) != 0) {
        fclose(fp);
        return mtr_fail(err, "%s: out of memory reading %zu bytes", path, size);
    }
    errno = 0;
    size_t got = fread(buf, 1, size, fp);
    int read_errno = errno, bad = ferror(fp);
    fclose(fp);
    if (got != size) {
        free(buf);
        if (bad) return mtr_fail(err, "%s: read error: %s", path, strerror(read_errno ? read_errno : EIO));
        return mtr_fail(err, "%s: file shrank while being read (%zu of %zu bytes)", path, got, size);
    }
    *out = buf;
    *out_size = size;
    return 0;
}

mtr_tfile *mtr_tfile_open(const char *path, mtr_error *err) {
    mtr_tfile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (read_whole(path, &f->buf, &f->size, err) != 0 || parse(f, err) != 0) {
        mtr_tfile_close(f);
        return NULL;
    }
    return f;
}

void mtr_tfile_close(mtr_tfile *f) {
    if (!f) return;
    free(f->path);
    free(f->buf);
    free(f->meta);
    free(f->tensors);
    free(f->meta_by_key);
    free(f->tensor_by_name);
    free(f->pool);
    free(f);
}

const char *mtr_tfile_path(const mtr_tfile *f) {
    return f->path;
}

uint32_t mtr_tfile_version(const mtr_tfile *f) {
    return f->version;
}

static const rmeta *find_meta(const mtr_tfile *f, const char *key) {
    const name_ref *r = lookup(f->meta_by_key, f->n_meta, key);
    return r ? &f->meta[r->index] : NULL;
}

static const rmeta *get_meta(const mtr_tfile *f, const char *key, int type, mtr_error *err) {
    const rmeta *m = find_meta(f, key);
    if (!m) {
        mtr_fail(err, "%s: metadata '%s' missing", f->path, key);
        return NULL;
    }
    if (m->type != type) {
        mtr_fail(err, "%s: metadata '%s' is %s, expected %s", f->path, key, type_name(m->type),
                 type_name(type));
        return NULL;
    }
    return m;
}

int mtr_tfile_get_u64(const mtr_tfile *f, const char *key, uint64_t *v, mtr_error *err) {
    const rmeta *m = get_meta(f, key, TYPE_U64, err);
    if (!m) return -1;
    *v = m->bits;
    return 0;
}

int mtr_tfile_get_i64(const mtr_tfile *f, const char *key, int64_t *v, mtr_error *err) {
    const rmeta *m = get_meta(f, key, TYPE_I64, err);
    if (!m) return -1;
    memcpy(v, &m->bits, sizeof *v); /* two's complement bits back to the signed value */
    return 0;
}

int mtr_tfile_get_f64(const mtr_tfile *f, const char *key, double *v, mtr_error *err) {
    const rmeta *m = get_meta(f, key, TYPE_F64, err);
    if (!m) return -1;
    memcpy(v, &m->bits, sizeof *v);
    return 0;
}

int mtr_tfile_get_string(const mtr_tfile *f, const char *key, const char **s, size_t *len,
                         mtr_error *err) {
    const rmeta *m = get_meta(f, key, TYPE_STRING, err);
    if (!m) return -1;
    *s = m->ptr; /* NUL-terminated as a convenience; may contain NULs, so len is authoritative */
    if (len) *len = m->len;
    return 0;
}

int mtr_tfile_get_f32_array(const mtr_tfile *f, const char *key, const float **v, size_t *n,
                            mtr_error *err) {
    const rmeta *m = get_meta(f, key, TYPE_F32_ARRAY, err);
    if (!m) return -1;
    *v = m->ptr;
    *n = m->len;
    return 0;
}

int mtr_tfile_has(const mtr_tfile *f, const char *key) {
    return find_meta(f, key) != NULL;
}

const float *mtr_tfile_get_tensor(const mtr_tfile *f, const char *name, int ndim, const uint64_t *dims,
                                  mtr_error *err) {
    const name_ref *r = lookup(f->tensor_by_name, f->n_tensors, name);
    if (!r) {
        mtr_fail(err, "%s: no tensor '%s'", f->path, name);
        return NULL;
    }
    const rtensor *t = &f->tensors[r->index];
    int same = ndim == t->ndim && dims;
    for (int i = 0; same && i < ndim; i++) same = dims[i] == t->dims[i];
    if (!same) {
        char have[128], want[128];
        format_shape(have, sizeof have, t->ndim, t->dims);
        format_shape(want, sizeof want, ndim, dims);
        mtr_fail(err, "%s: tensor '%s' has shape %s, expected %s", f->path, name, have, want);
        return NULL;
    }
    return t->data;
}

size_t mtr_tfile_meta_count(const mtr_tfile *f) {
    return f->n_meta;
}

const char *mtr_tfile_meta_key(const mtr_tfile *f, size_t i, int *type) {
    if (i >= f->n_meta) return NULL;
    if (type) *type = f->meta[i].type;
    return f->meta[i].key;
}

size_t mtr_tfile_tensor_count(const mtr_tfile *f) {
    return f->n_tensors;
}

const char *mtr_tfile_tensor_info(const mtr_tfile *f, size_t i, int *ndim, uint64_t dims[4]) {
    if (i >= f->n_tensors) return NULL;
    const rtensor *t = &f->tensors[i];
    if (ndim) *ndim = t->ndim;
    if (dims) {
        for (int d = 0; d < TF_MAX_DIMS; d++) dims[d] = d < t->ndim ? t->dims[d] : 0;
    }
    return t->name;
}
