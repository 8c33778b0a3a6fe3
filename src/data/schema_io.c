/* schema_io.c - the schema's self-contained text form, stored inside model files and used for copies
 * and the fingerprint. Line-oriented and exact: doubles are written as C99 hex floats (%a) so they read
 * back bit for bit, and names and vocabulary values (any bytes) end their line with \\, \n, \r and other
 * control bytes escaped. Layout (one item per line; <esc> = escaped rest of the line):
 *   mtrank-schema 1
 *   spec <bytes>            then exactly that many bytes of spec text and a newline
 *   columns <n>             then n lines "column <esc>"
 *   categorical <n>         then per field "field column=C hash=H min_count=M size=S name=<esc>"
 *                           followed by size-2 lines "value <count> <esc>" when it has a vocabulary
 *   numeric <n>             then per column "field column=C norm=N shift=X scale=X missing_default=X
 *                           flag=0|1 name=<esc>"
 *   tasks <n>               then per task "task kind=binary|regression column=C name=<name>"
 *   fingerprint <16 hex>    fnv1a64 of all of the above (absent in the hashed text itself)
 *   end
 * Version 2 holds what version 1 cannot (multi-valued fields, shared tables, aux columns, aliccp token
 * fields): the vocabularies move to their tables, and an aux section follows the numeric one:
 *   mtrank-schema 2
 *   spec, columns           as in version 1
 *   tables <n>              then per table "table hash=H min_count=M size=S name=<esc>" followed by its
 *                           size-2 "value" lines when it has a vocabulary
 *   categorical <n>         then per field "field column=C table=T multi=0|1 pool=sum|mean sep=<hex>|-
 *                           name=<esc>" (column -1: an aliccp token field; sep: the bytes in hex)
 *   numeric <n>             as in version 1
 *   aux <n>                 then per column "aux column=C name=<esc>"
 *   tasks, fingerprint, end as in version 1
 * A schema that needs nothing of version 2 is written as version 1, so its text and fingerprint are
 * those earlier builds wrote. Synthetic schemas have an empty spec, no columns and column=-1 everywhere.
 * A version must change when a line's meaning changes; readers refuse versions they do not know. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/schema.h"
#include "data/schema_impl.h"
#include "util/error.h"
#include "util/parse_number.h"

#define SCHEMA_TEXT_VERSION 2 /* the newest this build writes and reads; it also reads version 1 */

/* ------------------------------------------------------------------ writing */

typedef struct strbuf {
    char *p;    /* text so far, NUL-terminated when not empty */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    int oom;    /* an allocation failed; everything after is dropped */
} strbuf;

static int sb_reserve(strbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->cap - b->len > extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) return b->oom = 1, -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return b->oom = 1, -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_append(strbuf *b, const char *s, size_t n) {
    if (sb_reserve(b, n) != 0) return;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = 1; /* every format used here fits; a longer one is a bug */
        return;
    }
    sb_append(b, tmp, (size_t)n);
}

static void sb_escaped(strbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') sb_append(b, "\\\\", 2);
        else if (c == '\n') sb_append(b, "\\n", 2);
        else if (c == '\r') sb_append(b, "\\r", 2);
        else if (c < 0x20 || c == 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            sb_append(b, e, 4);
        } else {
            sb_append(b, (const char *)&s[i], 1);
        }
    }
}

/* Whether the schema uses anything version 1 cannot hold. */
static int needs_v2(const mtr_schema *s) {
    if (s->n_aux > 0 || s->n_tables != s->n_cat) return 1;
    for (int i = 0; i < s->n_cat; i++) {
        const mtr_cat_field *f = &s->cat[i];
        if (f->multi || f->pool_mean || f->table != i || strcmp(s->tables[i].name, f->name) != 0 ||
            (f->column < 0 && s->spec_text[0]))
            return 1;
    }
    return 0;
}

static void write_values(strbuf *b, const mtr_vocab *vocab) {
    uint32_t n = vocab ? mtr_vocab_size(vocab) : 0;
    for (uint32_t v = 0; v < n; v++) {
        size_t klen = 0;
        const char *key = mtr_vocab_key(vocab, v, &klen);
        sb_printf(b, "value %" PRIu64 " ", mtr_vocab_count(vocab, v));
        sb_escaped(b, key, klen);
        sb_append(b, "\n", 1);
    }
}

int mtr_schema_write_text(const mtr_schema *s, int with_fingerprint, char **out, size_t *len) {
    strbuf b = {0};
    int v2 = needs_v2(s);
    sb_printf(&b, "mtrank-schema %d\nspec %zu\n", v2 ? 2 : 1, strlen(s->spec_text));
    sb_append(&b, s->spec_text, strlen(s->spec_text));
    sb_printf(&b, "\ncolumns %d\n", s->n_columns);
    for (int c = 0; c < s->n_columns; c++) {
        sb_append(&b, "column ", 7);
        sb_escaped(&b, s->columns[c], strlen(s->columns[c]));
        sb_append(&b, "\n", 1);
    }
    if (v2) {
        sb_printf(&b, "tables %d\n", s->n_tables);
        for (int t = 0; t < s->n_tables; t++) {
            const mtr_cat_table *tb = &s->tables[t];
            sb_printf(&b, "table hash=%" PRIu32 " min_count=%" PRIu32 " size=%" PRIu32 " name=", tb->hash_buckets,
                      tb->min_count, tb->size);
            sb_escaped(&b, tb->name, strlen(tb->name));
            sb_append(&b, "\n", 1);
            write_values(&b, tb->vocab);
        }
    }
    sb_printf(&b, "categorical %d\n", s->n_cat);
    for (int i = 0; i < s->n_cat; i++) {
        const mtr_cat_field *f = &s->cat[i];
        if (v2) {
            static const char hex[] = "0123456789abcdef";
            sb_printf(&b, "field column=%d table=%d multi=%d pool=%s sep=", f->column, f->table, f->multi,
                      f->pool_mean ? "mean" : "sum");
            for (size_t k = 0; k < f->sep_len; k++) {
                char h[2] = {hex[(unsigned char)f->sep[k] >> 4], hex[(unsigned char)f->sep[k] & 15]};
                sb_append(&b, h, 2);
            }
            if (f->sep_len == 0) sb_append(&b, "-", 1);
            sb_append(&b, " name=", 6);
            sb_escaped(&b, f->name, strlen(f->name));
            sb_append(&b, "\n", 1);
            continue;
        }
        const mtr_cat_table *tb = &s->tables[f->table];
        sb_printf(&b, "field column=%d hash=%" PRIu32 " min_count=%" PRIu32 " size=%" PRIu32 " name=",
                  f->column, tb->hash_buckets, tb->min_count, tb->size);
        sb_escaped(&b, f->name, strlen(f->name));
        sb_append(&b, "\n", 1);
        write_values(&b, tb->vocab);
    }
    sb_printf(&b, "numeric %d\n", s->n_num_fields);
    for (int i = 0; i < s->n_num_fields; i++) {
        const mtr_num_field *f = &s->num[i];
        sb_printf(&b, "field column=%d norm=%s shift=%a scale=%a missing_default=%a flag=%d name=", f->column,
                  mtr_norm_name(f->norm), f->shift, f->scale, (double)f->missing_default,
                  f->flag_input >= 0);
        sb_escaped(&b, f->name, strlen(f->name));
        sb_append(&b, "\n", 1);
    }
    if (v2) {
        sb_printf(&b, "aux %d\n", s->n_aux);
        for (int i = 0; i < s->n_aux; i++) {
            sb_printf(&b, "aux column=%d name=", s->aux[i].column);
            sb_escaped(&b, s->aux[i].name, strlen(s->aux[i].name));
            sb_append(&b, "\n", 1);
        }
    }
    sb_printf(&b, "tasks %d\n", s->n_tasks);
    for (int t = 0; t < s->n_tasks; t++) {
        sb_printf(&b, "task kind=%s column=%d name=", s->task[t].kind == MTR_TASK_REGRESSION ? "regression" : "binary",
                  s->task[t].column);
        sb_escaped(&b, s->task[t].name, strlen(s->task[t].name));
        sb_append(&b, "\n", 1);
    }
    if (with_fingerprint) sb_printf(&b, "fingerprint %016" PRIx64 "\n", s->fingerprint);
    sb_append(&b, "end\n", 4);
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

char *mtr_schema_serialize(const mtr_schema *schema, size_t *len) {
    char *text;
    size_t n;
    if (mtr_schema_write_text(schema, 1, &text, &n) != 0) return NULL;
    if (len) *len = n;
    return text;
}

/* ------------------------------------------------------------------ reading */

typedef struct reader {
    const char *p;      /* next unread byte */
    const char *end;    /* one past the text */
    const char *origin; /* for messages */
    int line;           /* number of the line last taken */
    mtr_error *err;     /* where failures go */
    const char *cur;    /* the line last taken (not NUL-terminated) */
    size_t cur_len;     /* its length */
} reader;

static int bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(reader *r, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mtr_fail(r->err, "%s: schema line %d: %s (corrupt or incompatible schema)", r->origin, r->line, msg);
}

static int take_line(reader *r) {
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    r->line++;
    if (!nl) return bad(r, "unexpected end of the schema");
    r->cur = r->p;
    r->cur_len = (size_t)(nl - r->p);
    r->p = nl + 1;
    return 0;
}

/* The current line must start with `prefix`; *rest gets what follows (NUL-terminated copy in buf). */
static int line_after(reader *r, const char *prefix, char *buf, size_t cap) {
    size_t n = strlen(prefix);
    if (r->cur_len < n || memcmp(r->cur, prefix, n) != 0) return bad(r, "expected '%s'", prefix);
    size_t rest = r->cur_len - n;
    if (rest >= cap) return bad(r, "line too long");
    memcpy(buf, r->cur + n, rest);
    buf[rest] = '\0';
    return 0;
}

static int count_line(reader *r, const char *prefix, long max, long *out) {
    char buf[64];
    if (take_line(r) != 0 || line_after(r, prefix, buf, sizeof buf) != 0) return -1;
    if (mtr_parse_long(buf, strlen(buf), 0, max, out) != 0) return bad(r, "bad count '%s'", buf);
    return 0;
}

/* Undo sb_escaped into out (capacity cap, NUL-terminated); *len gets the byte count. */
static int unescape(reader *r, const char *s, size_t n, char *out, size_t cap, size_t *len) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 >= n) return bad(r, "dangling escape");
            char e = s[++i];
            if (e == '\\') c = '\\';
            else if (e == 'n') c = '\n';
            else if (e == 'r') c = '\r';
            else if (e == 'x' && i + 2 < n) {
                unsigned v = 0;
                for (int h = 0; h < 2; h++) {
                    char d = s[++i];
                    v = v * 16 + (unsigned)(d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : 99);
                }
                if (v > 255) return bad(r, "bad \\x escape");
                c = (char)v;
            } else
                return bad(r, "bad escape");
        }
        if (k + 1 >= cap) return bad(r, "name or value too long");
        out[k++] = c;
    }
    out[k] = '\0';
    *len = k;
    return 0;
}

/* Split "k1=v1 k2=v2 ... name=<rest>" (in place): vals[i] gets the value of keys[i] in that order. */
static int key_values(reader *r, char *s, const char *const *keys, int n, char **vals) {
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);
        if (strncmp(s, keys[i], kl) != 0 || s[kl] != '=') return bad(r, "expected '%s='", keys[i]);
        vals[i] = s + kl + 1;
        if (i == n - 1) break; /* the last value is the rest of the line */
        char *sp = strchr(vals[i], ' ');
        if (!sp) return bad(r, "line ends early, expected '%s='", keys[i + 1]);
        *sp = '\0';
        s = sp + 1;
    }
    return 0;
}

static int parse_column(reader *r, const char *v, const mtr_schema *s, int *out) {
    long c;
    long lo = s->n_columns ? 0 : -1, hi = s->n_columns ? s->n_columns - 1 : -1;
    if (mtr_parse_long(v, strlen(v), lo, hi, &c) != 0) return bad(r, "column index '%s' out of range", v);
    *out = (int)c;
    return 0;
}

static int parse_name(reader *r, const char *v, char *name) {
    size_t len = 0;
    if (unescape(r, v, strlen(v), name, MTR_MAX_NAME, &len) != 0) return -1;
    if (len == 0 || memchr(name, '\0', len)) return bad(r, "bad name");
    return 0;
}

/* The size-2 "value" lines of a vocabulary. */
static int read_values(reader *r, mtr_vocab **out, uint64_t size, char **valbuf, size_t *valcap) {
    if (size < 2) return bad(r, "vocabulary size below 2");
    mtr_vocab *vocab = mtr_vocab_create();
    if (!vocab) return bad(r, "out of memory");
    *out = vocab;
    for (uint64_t i = 0; i + 2 < size; i++) {
        if (take_line(r) != 0) return -1;
        if (r->cur_len < 6 || memcmp(r->cur, "value ", 6) != 0) return bad(r, "expected 'value'");
        const char *sp = memchr(r->cur + 6, ' ', r->cur_len - 6);
        if (!sp) return bad(r, "expected 'value <count> <text>'");
        uint64_t count;
        if (mtr_parse_u64(r->cur + 6, (size_t)(sp - r->cur - 6), &count) != 0) return bad(r, "bad count");
        size_t n = r->cur_len - (size_t)(sp + 1 - r->cur);
        if (n + 1 > *valcap) {
            char *b = realloc(*valbuf, n + 1);
            if (!b) return bad(r, "out of memory");
            *valbuf = b;
            *valcap = n + 1;
        }
        size_t len = 0;
        if (unescape(r, sp + 1, n, *valbuf, *valcap, &len) != 0) return -1;
        uint32_t before = mtr_vocab_size(vocab);
        int64_t idx = mtr_vocab_intern(vocab, *valbuf, len);
        if (idx < 0) return bad(r, "out of memory");
        if (mtr_vocab_size(vocab) == before) return bad(r, "duplicate vocabulary value");
        mtr_vocab_add_count(vocab, (uint32_t)idx, count);
    }
    return 0;
}

/* hash, min_count and size as a table has them; *vocab_lines tells whether value lines follow. */
static int table_numbers(reader *r, const char *hv, const char *mv, const char *sv, mtr_cat_table *t) {
    long hash, min_count;
    uint64_t size;
    if (mtr_parse_long(hv, strlen(hv), 0, 1000000000L, &hash) != 0 ||
        mtr_parse_long(mv, strlen(mv), 1, 2147483647L, &min_count) != 0 ||
        mtr_parse_u64(sv, strlen(sv), &size) != 0 || size < 1 || size > MTR_VOCAB_MAX_ENTRIES)
        return bad(r, "bad hash, min_count or size");
    t->hash_buckets = (uint32_t)hash;
    t->min_count = (uint32_t)min_count;
    t->size = (uint32_t)size;
    return 0;
}

/* Version 1: a field line with its own vocabulary; it becomes field i and table i. */
static int read_categorical_v1(reader *r, mtr_schema *s, int i, char **valbuf, size_t *valcap) {
    static const char *const keys[] = {"column", "hash", "min_count", "size", "name"};
    char line[1024], *v[5] = {0};
    mtr_cat_field *f = &s->cat[i];
    mtr_cat_table *t = &s->tables[i];
    f->table = i;
    if (take_line(r) != 0 || line_after(r, "field ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 5, v) != 0 || parse_column(r, v[0], s, &f->column) != 0 ||
        parse_name(r, v[4], f->name) != 0 || table_numbers(r, v[1], v[2], v[3], t) != 0)
        return -1;
    memcpy(t->name, f->name, sizeof t->name);
    if (f->column < 0) return 0; /* synthetic: ids arrive encoded */
    if (t->hash_buckets)
        return t->size == 2 + (uint64_t)t->hash_buckets ? 0 : bad(r, "hashed field size is not 2 + buckets");
    return read_values(r, &t->vocab, t->size, valbuf, valcap);
}

static int read_table(reader *r, mtr_schema *s, mtr_cat_table *t, char **valbuf, size_t *valcap) {
    static const char *const keys[] = {"hash", "min_count", "size", "name"};
    char line[1024], *v[4] = {0};
    if (take_line(r) != 0 || line_after(r, "table ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 4, v) != 0 || table_numbers(r, v[0], v[1], v[2], t) != 0 ||
        parse_name(r, v[3], t->name) != 0)
        return -1;
    if (!s->spec_text[0]) return 0; /* synthetic: ids arrive encoded */
    if (t->hash_buckets)
        return t->size == 2 + (uint64_t)t->hash_buckets ? 0 : bad(r, "hashed table size is not 2 + buckets");
    return read_values(r, &t->vocab, t->size, valbuf, valcap);
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int read_field_v2(reader *r, mtr_schema *s, mtr_cat_field *f) {
    static const char *const keys[] = {"column", "table", "multi", "pool", "sep", "name"};
    char line[1024], *v[6] = {0};
    if (take_line(r) != 0 || line_after(r, "field ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 6, v) != 0 || parse_name(r, v[5], f->name) != 0) return -1;
    long column, table, multi;
    if (mtr_parse_long(v[0], strlen(v[0]), -1, s->n_columns - 1, &column) != 0)
        return bad(r, "column index '%s' out of range", v[0]);
    if (mtr_parse_long(v[1], strlen(v[1]), 0, s->n_tables - 1, &table) != 0)
        return bad(r, "table index '%s' out of range", v[1]);
    if (mtr_parse_long(v[2], strlen(v[2]), 0, 1, &multi) != 0) return bad(r, "bad multi '%s'", v[2]);
    f->column = (int)column;
    f->table = (int)table;
    f->multi = (int)multi;
    if (strcmp(v[3], "mean") == 0) f->pool_mean = 1;
    else if (strcmp(v[3], "sum") != 0) return bad(r, "bad pool '%s'", v[3]);
    if (f->pool_mean && !f->multi) return bad(r, "mean pooling on a single-valued field");
    size_t n = strlen(v[4]);
    if (strcmp(v[4], "-") != 0) {
        if (n % 2 != 0 || n / 2 >= MTR_MAX_SEP || !f->multi) return bad(r, "bad sep '%s'", v[4]);
        for (size_t k = 0; k < n / 2; k++) {
            int hi = hex_digit(v[4][2 * k]), lo = hex_digit(v[4][2 * k + 1]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return bad(r, "bad sep '%s'", v[4]);
            f->sep[k] = (char)(hi * 16 + lo);
        }
        f->sep_len = n / 2;
    }
    return 0;
}

static int read_aux(reader *r, mtr_schema *s, mtr_aux_field *a) {
    static const char *const keys[] = {"column", "name"};
    char line[1024], *v[2] = {0};
    if (take_line(r) != 0 || line_after(r, "aux ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 2, v) != 0 || parse_column(r, v[0], s, &a->column) != 0) return -1;
    return parse_name(r, v[1], a->name);
}

/* Version 2: the fields agree with the spec (or its absence) and with the tables: column fields first,
 * then aliccp token fields (multi-valued); delimited multi fields have a separator; tables are numbered
 * by their first field and every table is used. */
static int check_fields(reader *r, const mtr_schema *s) {
    int aliccp = s->spec && s->spec->format == MTR_FORMAT_ALICCP, next_table = 0, tokens = 0;
    for (int i = 0; i < s->n_cat; i++) {
        const mtr_cat_field *f = &s->cat[i];
        if (f->table > next_table) return bad(r, "field '%s': tables are not numbered by their first field", f->name);
        if (f->table == next_table) next_table++;
        if (!s->spec) continue;
        if (f->column < 0 && (!aliccp || !f->multi || f->sep_len))
            return bad(r, "field '%s' has no column", f->name);
        if (f->column >= 0 && tokens) return bad(r, "field '%s' follows the aliccp token fields", f->name);
        if (f->column >= 0 && f->multi && !f->sep_len) return bad(r, "multi-valued field '%s' has no sep", f->name);
        tokens |= f->column < 0;
    }
    if (next_table != s->n_tables) return bad(r, "a table no field uses");
    return 0;
}

static int read_numeric(reader *r, mtr_schema *s, mtr_num_field *f, int *flag) {
    static const char *const keys[] = {"column", "norm", "shift", "scale", "missing_default", "flag", "name"};
    char line[1024], *v[7] = {0};
    if (take_line(r) != 0 || line_after(r, "field ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 7, v) != 0 || parse_column(r, v[0], s, &f->column) != 0 ||
        parse_name(r, v[6], f->name) != 0)
        return -1;
    double md;
    long fl;
    if (mtr_norm_parse(v[1], &f->norm) != 0) return bad(r, "unknown norm '%s'", v[1]);
    if (mtr_parse_double(v[2], strlen(v[2]), &f->shift) != 0 || mtr_parse_double(v[3], strlen(v[3]), &f->scale) != 0 ||
        f->scale == 0 || mtr_parse_double(v[4], strlen(v[4]), &md) != 0 || (double)(float)md != md ||
        mtr_parse_long(v[5], strlen(v[5]), 0, 1, &fl) != 0)
        return bad(r, "bad shift, scale, missing_default or flag");
    f->missing_default = (float)md;
    *flag = (int)fl;
    return 0;
}

static int read_task(reader *r, mtr_schema *s, mtr_task_info *t) {
    static const char *const keys[] = {"kind", "column", "name"};
    char line[1024], *v[3] = {0};
    if (take_line(r) != 0 || line_after(r, "task ", line, sizeof line) != 0) return -1;
    if (key_values(r, line, keys, 3, v) != 0 || parse_column(r, v[1], s, &t->column) != 0) return -1;
    if (strcmp(v[0], "binary") == 0) t->kind = MTR_TASK_BINARY;
    else if (strcmp(v[0], "regression") == 0) t->kind = MTR_TASK_REGRESSION;
    else return bad(r, "unknown task kind '%s'", v[0]);
    return parse_name(r, v[2], t->name);
}

/* The embedded spec must describe the same tasks; the schema then takes its label rules from it. */
static int attach_spec(reader *r, mtr_schema *s) {
    if (!s->spec_text[0]) {
        if (s->n_columns != 0) return bad(r, "columns without a spec");
        return 0;
    }
    char origin[600];
    snprintf(origin, sizeof origin, "%s (embedded spec)", r->origin);
    s->spec = mtr_spec_parse(s->spec_text, origin, r->err);
    if (!s->spec) return -1;
    if (s->spec->n_tasks != s->n_tasks) return bad(r, "task count differs from the embedded spec's");
    for (int t = 0; t < s->n_tasks; t++) {
        const mtr_task_spec *ts = &s->spec->tasks[t];
        if (strcmp(ts->name, s->task[t].name) != 0 || ts->kind != s->task[t].kind || s->task[t].column < 0 ||
            strcmp(s->columns[s->task[t].column], ts->column) != 0)
            return bad(r, "task '%s' differs from the embedded spec's", s->task[t].name);
        s->task[t].rule = ts;
    }
    return 0;
}

mtr_schema *mtr_schema_deserialize(const char *text, size_t len, const char *origin, mtr_error *err) {
    reader r = {.p = text, .end = text + len, .origin = origin ? origin : "<schema>", .err = err};
    mtr_schema *s = mtr_schema_new();
    int *flagged = NULL;
    char *valbuf = NULL;
    size_t valcap = 0;
    char buf[1024];
    long n;
    if (!s) {
        mtr_fail(err, "%s: out of memory", r.origin);
        return NULL;
    }
    if (take_line(&r) != 0 || line_after(&r, "mtrank-schema ", buf, sizeof buf) != 0) goto fail;
    int version = strcmp(buf, "1") == 0 ? 1 : strcmp(buf, "2") == 0 ? 2 : 0;
    if (!version) {
        bad(&r, "schema text version %s, this build reads versions 1 to %d", buf, SCHEMA_TEXT_VERSION);
        goto fail;
    }
    if (count_line(&r, "spec ", (long)MTR_SPEC_MAX_BYTES, &n) != 0) goto fail;
    if ((size_t)(r.end - r.p) < (size_t)n + 1 || r.p[n] != '\n' || memchr(r.p, '\0', (size_t)n)) {
        bad(&r, "spec text cut short");
        goto fail;
    }
    free(s->spec_text);
    s->spec_text = malloc((size_t)n + 1);
    if (!s->spec_text) goto oom;
    memcpy(s->spec_text, r.p, (size_t)n);
    s->spec_text[n] = '\0';
    for (const char *c = r.p; c < r.p + n; c++) r.line += *c == '\n';
    r.p += n + 1;
    r.line++;
    if (count_line(&r, "columns ", MTR_MAX_COLUMNS, &n) != 0) goto fail;
    s->columns = calloc((size_t)(n ? n : 1), sizeof *s->columns);
    if (!s->columns) goto oom;
    for (s->n_columns = 0; s->n_columns < n; s->n_columns++) {
        if (take_line(&r) != 0 || line_after(&r, "column ", buf, sizeof buf) != 0 ||
            parse_name(&r, buf, s->columns[s->n_columns]) != 0)
            goto fail;
    }
    if (version == 2) {
        if (count_line(&r, "tables ", MTR_MAX_COLUMNS, &n) != 0) goto fail;
        s->tables = calloc((size_t)(n ? n : 1), sizeof *s->tables);
        if (!s->tables) goto oom;
        for (s->n_tables = 0; s->n_tables < n;) {
            s->n_tables++; /* counted first so a half-read table's vocabulary is freed */
            if (read_table(&r, s, &s->tables[s->n_tables - 1], &valbuf, &valcap) != 0) goto fail;
        }
    }
    if (count_line(&r, "categorical ", MTR_MAX_COLUMNS, &n) != 0) goto fail;
    s->cat = calloc((size_t)(n ? n : 1), sizeof *s->cat);
    if (!s->cat) goto oom;
    if (version == 1) {
        s->tables = calloc((size_t)(n ? n : 1), sizeof *s->tables);
        if (!s->tables) goto oom;
    }
    for (s->n_cat = 0; s->n_cat < n;) {
        s->n_cat++;
        if (version == 1) s->n_tables++;
        if ((version == 1 ? read_categorical_v1(&r, s, s->n_cat - 1, &valbuf, &valcap)
                          : read_field_v2(&r, s, &s->cat[s->n_cat - 1])) != 0)
            goto fail;
    }
    if (count_line(&r, "numeric ", MTR_MAX_COLUMNS, &n) != 0) goto fail;
    s->num = calloc((size_t)(n ? n : 1), sizeof *s->num);
    flagged = calloc((size_t)(n ? n : 1), sizeof *flagged);
    if (!s->num || !flagged) goto oom;
    for (s->n_num_fields = 0; s->n_num_fields < n; s->n_num_fields++)
        if (read_numeric(&r, s, &s->num[s->n_num_fields], &flagged[s->n_num_fields]) != 0) goto fail;
    n = 0;
    if (version == 2 && count_line(&r, "aux ", MTR_MAX_COLUMNS, &n) != 0) goto fail;
    s->aux = calloc((size_t)(n ? n : 1), sizeof *s->aux);
    if (!s->aux) goto oom;
    for (s->n_aux = 0; s->n_aux < n; s->n_aux++)
        if (read_aux(&r, s, &s->aux[s->n_aux]) != 0) goto fail;
    if (count_line(&r, "tasks ", MTR_MAX_TASKS, &n) != 0) goto fail;
    if (n < 1) {
        bad(&r, "no tasks");
        goto fail;
    }
    for (s->n_tasks = 0; s->n_tasks < n; s->n_tasks++)
        if (read_task(&r, s, &s->task[s->n_tasks]) != 0) goto fail;
    if (take_line(&r) != 0 || line_after(&r, "fingerprint ", buf, sizeof buf) != 0) goto fail;
    char *end;
    uint64_t stored = strtoull(buf, &end, 16);
    if (strlen(buf) != 16 || *end != '\0') {
        bad(&r, "bad fingerprint");
        goto fail;
    }
    if (take_line(&r) != 0 || line_after(&r, "end", buf, sizeof buf) != 0 || buf[0] != '\0') goto fail;
    while (r.p < r.end && *r.p == '\0') r.p++; /* a stored terminator is harmless */
    if (r.p != r.end) {
        bad(&r, "text after 'end'");
        goto fail;
    }
    if (attach_spec(&r, s) != 0 || check_fields(&r, s) != 0 || mtr_schema_finish(s, flagged, err) != 0) goto fail;
    if (s->fingerprint != stored) {
        mtr_fail(err, "%s: schema fingerprint %016" PRIx64 " does not match its contents (%016" PRIx64
                      "): corrupt schema", r.origin, stored, s->fingerprint);
        goto fail;
    }
    free(flagged);
    free(valbuf);
    return s;
oom:
    mtr_fail(err, "%s: out of memory reading the schema", r.origin);
fail:
    free(flagged);
    free(valbuf);
    mtr_schema_free(s);
    return NULL;
}
