/* table.c - splitting lines into fields; see table.h. */
#include "data/table.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static int ensure_fields(mtr_table *t, int want, mtr_error *err) {
    if (want <= t->fields_cap) return 0;
    int cap = t->fields_cap ? t->fields_cap : 64;
    while (cap < want) cap *= 2;
    mtr_field *f = realloc(t->fields, (size_t)cap * sizeof *f);
    if (!f) return mtr_fail(err, "%s: out of memory", t->path);
    t->fields = f;
    t->fields_cap = cap;
    return 0;
}

static inline void trim(const char **s, size_t *len) {
    while (*len > 0 && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Split `line` into t->fields (growing them up to store_limit); counts every field. */
static int split(mtr_table *t, const char *line, size_t len, mtr_error *err) {
    const char *d = t->spec->delimiter;
    size_t dl = t->spec->delimiter_len;
    const char *p = line, *end = line + len;
    t->n_fields = 0;
    t->stored = 0;
    for (;;) {
        const char *q = p;
        const char *next = NULL;
        while ((q = memchr(q, d[0], (size_t)(end - q))) != NULL) {
            if ((size_t)(end - q) >= dl && memcmp(q, d, dl) == 0) {
                next = q;
                break;
            }
            q++;
        }
        const char *field_end = next ? next : end;
        if (t->n_fields < t->store_limit) {
            if (ensure_fields(t, t->n_fields + 1, err) != 0) return -1;
            mtr_field *f = &t->fields[t->n_fields];
            f->s = p;
            f->len = (size_t)(field_end - p);
            if (t->spec->trim) trim(&f->s, &f->len);
            t->stored++;
        }
        if (t->n_fields == MTR_MAX_COLUMNS)
            return mtr_fail(err, "%s: line %zu: more than %d columns", t->path, mtr_table_line(t),
                            MTR_MAX_COLUMNS);
        t->n_fields++;
        if (!next) break;
        p = next + dl;
    }
    return 0;
}

/* Next non-empty line: 1, 0 at the end, -1 on error. */
static int next_line(mtr_table *t, const char **line, size_t *len, mtr_error *err) {
    int rc;
    while ((rc = mtr_line_reader_next(t->lr, line, len, err)) == 1)
        if (*len > 0) return 1;
    return rc;
}

int mtr_table_open(mtr_table *t, const mtr_spec *spec, const char *path, mtr_error *err) {
    memset(t, 0, sizeof *t);
    t->spec = spec;
    t->path = path;
    t->store_limit = spec->columns.n > 0 ? spec->columns.n : 1;
    for (int i = 0; i < spec->missing.n; i++)
        if (spec->missing.lens[i] > t->missing_max_len) t->missing_max_len = spec->missing.lens[i];
    t->lr = mtr_line_reader_open(path, err);
    if (!t->lr) return -1;
    const char *line;
    size_t len = 0;
    int rc;
    if (spec->header_auto) {
        /* the first line is a header only when it is exactly the spec's column names; else it is data */
        rc = next_line(t, &line, &len, err);
        if (rc < 0 || (rc == 1 && split(t, line, len, err) != 0)) goto fail;
        if (rc == 0) return 0;
        int is_header = t->n_fields == spec->columns.n;
        for (int i = 0; is_header && i < t->n_fields; i++)
            is_header = t->fields[i].len == spec->columns.lens[i] &&
                        memcmp(t->fields[i].s, spec->columns.items[i], t->fields[i].len) == 0;
        t->pending = !is_header;
        return 0;
    }
    if (!spec->header) return 0;
    rc = next_line(t, &line, &len, err);
    if (rc < 0) goto fail;
    if (rc == 0) {
        mtr_fail(err, "%s: empty file (expected a header line)", path);
        goto fail;
    }
    t->store_limit = MTR_MAX_COLUMNS;
    if (split(t, line, len, err) != 0) goto fail;
    t->header = calloc((size_t)t->n_fields, sizeof *t->header);
    if (!t->header) {
        mtr_fail(err, "%s: out of memory", path);
        goto fail;
    }
    t->n_header = t->n_fields;
    for (int i = 0; i < t->n_fields; i++) {
        const mtr_field *f = &t->fields[i];
        char q[64];
        if (f->len == 0 || f->len >= MTR_MAX_NAME) {
            mtr_fail(err, "%s: line %zu: header: column %d: a name must be 1 to %d bytes, found '%s'", path,
                     mtr_table_line(t), i + 1, MTR_MAX_NAME - 1, mtr_quote_value(q, sizeof q, f->s, f->len));
            goto fail;
        }
        t->header[i] = malloc(f->len + 1);
        if (!t->header[i]) {
            mtr_fail(err, "%s: out of memory", path);
            goto fail;
        }
        memcpy(t->header[i], f->s, f->len);
        t->header[i][f->len] = '\0';
    }
    t->store_limit = t->n_header;
    return 0;
fail:
    mtr_table_close(t);
    return -1;
}

int mtr_table_next(mtr_table *t, mtr_error *err) {
    if (t->pending) {
        t->pending = 0;
        t->rows++;
        return 1;
    }
    const char *line;
    size_t len = 0;
    int rc = next_line(t, &line, &len, err);
    if (rc != 1) return rc;
    if (split(t, line, len, err) != 0) return -1;
    t->rows++;
    return 1;
}

size_t mtr_table_line(const mtr_table *t) { return mtr_line_reader_line(t->lr); }

void mtr_table_close(mtr_table *t) {
    mtr_line_reader_close(t->lr);
    for (int i = 0; i < t->n_header; i++) free(t->header[i]);
    free(t->header);
    free(t->fields);
    memset(t, 0, sizeof *t);
}

int mtr_table_is_missing_marker(const mtr_table *t, const mtr_field *f) {
    const mtr_strlist *m = &t->spec->missing;
    for (int i = 0; i < m->n; i++)
        if (m->lens[i] == f->len && memcmp(m->items[i], f->s, f->len) == 0) return 1;
    return 0;
}

int mtr_next_item(const mtr_field *v, const char *sep, size_t sep_len, int trim_items, size_t *pos,
                  mtr_field *item) {
    if (v->len == 0 || *pos > v->len) return 0;
    const char *s = v->s + *pos, *end = v->s + v->len, *q = s, *hit = NULL;
    while ((q = memchr(q, sep[0], (size_t)(end - q))) != NULL) {
        if ((size_t)(end - q) >= sep_len && memcmp(q, sep, sep_len) == 0) {
            hit = q;
            break;
        }
        q++;
    }
    item->s = s;
    item->len = (size_t)((hit ? hit : end) - s);
    *pos = hit ? (size_t)(hit - v->s) + sep_len : v->len + 1;
    if (trim_items) trim(&item->s, &item->len);
    return 1;
}

int mtr_token_fail(mtr_error *err, const char *path, size_t line, int column, const mtr_field *tok) {
    char q[64];
    return mtr_fail(err, "%s: line %zu: token %d (column %d): expected field:id, found '%s'", path, line,
                    column - MTR_ALICCP_LEADING + 1, column + 1, mtr_quote_value(q, sizeof q, tok->s, tok->len));
}

const char *mtr_quote_value(char *buf, size_t cap, const char *s, size_t len) {
    size_t keep = 48;
    if (keep > cap - 4) keep = cap - 4;
    int cut = len > keep;
    size_t n = cut ? keep : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (cut) memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}
