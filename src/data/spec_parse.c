/* spec_parse.c - reads the INI-like spec format of docs/spec-format.md into a struct mtr_spec. The text
 * is split into logical lines (comments removed, `\` continuations joined), then each line is a section
 * header or `key = value`. Every error names the spec, the line and the key. Checks that need the whole
 * spec (a multi column's separator against the delimiter, options an aliccp field cannot take) run once
 * it is read. Nothing here knows about data files; matching names against a file's columns is
 * spec_resolve.c. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/spec.h"
#include "data/vocab.h"
#include "util/error.h"
#include "util/parse_number.h"

enum section { SEC_NONE, SEC_INPUT, SEC_FEATURES, SEC_TASK };

enum input_key { IK_FORMAT, IK_DELIMITER, IK_HEADER, IK_COLUMNS, IK_MISSING, IK_TRIM, IK_COUNT };
static const char *const input_keys[IK_COUNT] = {"format", "delimiter", "header", "columns", "missing", "trim"};

const char *const mtr_aliccp_columns[MTR_ALICCP_LEADING] = {"sample_id", "click", "purchase"};

enum task_key { TK_COLUMN, TK_TYPE, TK_POSITIVE, TK_NEGATIVE, TK_ABOVE, TK_AT_LEAST, TK_COUNT };
static const char *const task_keys[TK_COUNT] = {"column", "type", "positive", "negative", "above",
                                                "at_least"};

typedef struct parser {
    mtr_spec *spec;           /* being filled */
    mtr_error *err;           /* where failures go */
    int line;                 /* spec line of the logical line being parsed (1-based) */
    enum section section;     /* section the current line belongs to */
    int input_line;           /* line of the [input] header, 0 if none yet */
    int features_line;        /* line of the [features] header, 0 if none yet */
    int input_seen[IK_COUNT]; /* line each [input] key was set on, 0 if not yet */
    int task_seen[TK_COUNT];  /* same for the current task section */
    int default_line;         /* line of `default =` in [features], 0 if not set */
    int rules_cap;            /* allocated entries of spec->rules */
} parser;

/* "<origin>: line N: <message>" */
static int fail_at(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_at(parser *p, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mtr_fail(p->err, "%s: line %d: %s", p->spec->origin, p->line, msg);
}

/* ------------------------------------------------------------------ string lists */

static void strlist_free(mtr_strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    free(l->lens);
    memset(l, 0, sizeof *l);
}

static int strlist_push(mtr_strlist *l, const char *s, size_t len) {
    char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
    if (!items) return -1;
    l->items = items;
    size_t *lens = realloc(l->lens, (size_t)(l->n + 1) * sizeof *lens);
    if (!lens) return -1;
    l->lens = lens;
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    l->items[l->n] = copy;
    l->lens[l->n] = len;
    l->n++;
    return 0;
}

/* ------------------------------------------------------------------ lexical helpers */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static const char *skip_blanks(const char *s) {
    while (is_blank(*s)) s++;
    return s;
}

/* Parse a double-quoted string at *s (which points at the opening quote) into out (capacity at least
 * strlen(*s) + 1); advances *s past the closing quote. */
static int parse_quoted(parser *p, const char *what, const char **s, char *out, size_t *out_len) {
    const char *c = *s + 1;
    size_t n = 0;
    for (;; c++) {
        if (*c == '\0') return fail_at(p, "%s: unterminated quoted string", what);
        if (*c == '"') break;
        if (*c == '\\') {
            c++;
            switch (*c) {
            case 't': out[n++] = '\t'; break;
            case 'n': out[n++] = '\n'; break;
            case 'r': out[n++] = '\r'; break;
            case '\\': out[n++] = '\\'; break;
            case '"': out[n++] = '"'; break;
            case '\0': return fail_at(p, "%s: unterminated quoted string", what);
            default: return fail_at(p, "%s: unknown escape '\\%c' (use \\t \\n \\r \\\\ \\\")", what, *c);
            }
        } else {
            out[n++] = *c;
        }
    }
    out[n] = '\0';
    *out_len = n;
    *s = c + 1;
    return 0;
}

/* A value that is one string: quoted, or bare text (already trimmed by the line splitter). */
static int parse_single(parser *p, const char *key, const char *value, char **out, size_t *out_len) {
    size_t cap = strlen(value) + 1;
    char *buf = malloc(cap);
    if (!buf) return fail_at(p, "%s: out of memory", key);
    if (value[0] == '"') {
        const char *s = value;
        if (parse_quoted(p, key, &s, buf, out_len) != 0) {
            free(buf);
            return -1;
        }
        s = skip_blanks(s);
        if (*s != '\0') {
            free(buf);
            return fail_at(p, "%s: unexpected text after the quoted string: '%s'", key, s);
        }
    } else {
        if (strchr(value, '"')) {
            free(buf);
            return fail_at(p, "%s: a '\"' may only start a quoted value", key);
        }
        memcpy(buf, value, cap);
        *out_len = cap - 1;
    }
    *out = buf;
    return 0;
}

/* A list of items separated by `sep`; each item quoted or bare (trimmed). An empty value is an empty
 * list; an empty item between separators is the empty string. */
static int parse_list(parser *p, const char *key, const char *value, char sep, mtr_strlist *out) {
    if (out->n > 0) strlist_free(out);
    const char *s = skip_blanks(value);
    if (*s == '\0') return 0;
    char *buf = malloc(strlen(s) + 1);
    if (!buf) return fail_at(p, "%s: out of memory", key);
    for (;;) {
        s = skip_blanks(s);
        size_t len = 0;
        if (*s == '"') {
            if (parse_quoted(p, key, &s, buf, &len) != 0) goto fail;
            s = skip_blanks(s);
            if (*s != '\0' && *s != sep) {
                fail_at(p, "%s: expected '%c' after a quoted item, found '%s'", key, sep, s);
                goto fail;
            }
        } else {
            const char *start = s;
            while (*s != '\0' && *s != sep) {
                if (*s == '"') {
                    fail_at(p, "%s: a '\"' may only start a quoted item", key);
                    goto fail;
                }
                s++;
            }
            const char *end = s;
            while (end > start && is_blank(end[-1])) end--;
            len = (size_t)(end - start);
            memcpy(buf, start, len);
            buf[len] = '\0';
        }
        if (strlist_push(out, buf, len) != 0) {
            fail_at(p, "%s: out of memory", key);
            goto fail;
        }
        if (*s == '\0') break;
        s++; /* the separator */
    }
    free(buf);
    return 0;
fail:
    free(buf);
    return -1;
}

static int parse_bool(parser *p, const char *key, const char *value, int *out) {
    static const char *const yes[] = {"yes", "true", "1"}, *const no[] = {"no", "false", "0"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(value, yes[i]) == 0) return *out = 1, 0;
        if (strcmp(value, no[i]) == 0) return *out = 0, 0;
    }
    return fail_at(p, "%s: expected yes or no, found '%s'", key, value);
}

static int parse_kind(const char *s, mtr_col_kind *kind) {
    if (strcmp(s, "categorical") == 0) *kind = MTR_COL_CATEGORICAL;
    else if (strcmp(s, "numeric") == 0) *kind = MTR_COL_NUMERIC;
    else if (strcmp(s, "ignore") == 0) *kind = MTR_COL_IGNORE;
    else if (strcmp(s, "aux") == 0) *kind = MTR_COL_AUX;
    else return -1;
    return 0;
}

static int valid_task_name(const char *s) {
    if (*s == '\0') return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

/* ------------------------------------------------------------------ sections */

static int check_names(parser *p, const char *key, const mtr_strlist *names) {
    mtr_vocab *seen = mtr_vocab_create();
    if (!seen) return fail_at(p, "%s: out of memory", key);
    int rc = 0;
    for (int i = 0; i < names->n && rc == 0; i++) {
        if (names->lens[i] == 0) rc = fail_at(p, "%s: column %d has an empty name", key, i + 1);
        else if (names->lens[i] >= MTR_MAX_NAME)
            rc = fail_at(p, "%s: column name '%.40s...' is longer than %d bytes", key, names->items[i],
                         MTR_MAX_NAME - 1);
        else {
            uint32_t before = mtr_vocab_size(seen);
            int64_t idx = mtr_vocab_intern(seen, names->items[i], names->lens[i]);
            if (idx < 0) rc = fail_at(p, "%s: out of memory", key);
            else if (mtr_vocab_size(seen) == before)
                rc = fail_at(p, "%s: duplicate column '%s' (columns %d and %d)", key, names->items[i],
                             (int)idx + 1, i + 1);
        }
    }
    mtr_vocab_free(seen);
    return rc;
}

static int input_key(parser *p, const char *key, const char *value) {
    mtr_spec *spec = p->spec;
    int k = 0;
    while (k < IK_COUNT && strcmp(key, input_keys[k]) != 0) k++;
    if (k == IK_COUNT)
        return fail_at(p, "[input]: unknown key '%s' (expected format, delimiter, header, columns, missing or "
                          "trim)", key);
    if (p->input_seen[k])
        return fail_at(p, "[input]: duplicate key '%s' (first set on line %d)", key, p->input_seen[k]);
    p->input_seen[k] = p->line;
    switch (k) {
    case IK_FORMAT:
        if (strcmp(value, "delimited") == 0) spec->format = MTR_FORMAT_DELIMITED;
        else if (strcmp(value, "aliccp") == 0) spec->format = MTR_FORMAT_ALICCP;
        else return fail_at(p, "format: expected delimited or aliccp, found '%s'", value);
        return 0;
    case IK_DELIMITER: {
        char *d;
        size_t len = 0;
        if (parse_single(p, key, value, &d, &len) != 0) return -1;
        if (len == 0) {
            free(d);
            return fail_at(p, "delimiter: must not be empty");
        }
        if (memchr(d, '\n', len) || memchr(d, '\r', len)) {
            free(d);
            return fail_at(p, "delimiter: must not contain a line break");
        }
        free(spec->delimiter);
        spec->delimiter = d;
        spec->delimiter_len = len;
        return 0;
    }
    case IK_HEADER:
        if (strcmp(value, "auto") == 0) {
            spec->header = 0;
            spec->header_auto = 1;
            return 0;
        }
        if (parse_bool(p, key, value, &spec->header) != 0) return fail_at(p, "header: expected yes, no or auto, "
                                                                         "found '%s'", value);
        return 0;
    case IK_TRIM: return parse_bool(p, key, value, &spec->trim);
    case IK_MISSING: return parse_list(p, key, value, ',', &spec->missing);
    case IK_COLUMNS:
        if (parse_list(p, key, value, ',', &spec->columns) != 0) return -1;
        if (spec->columns.n == 0) return fail_at(p, "columns: the list is empty");
        spec->columns_line = p->line;
        return check_names(p, key, &spec->columns);
    }
    return 0;
}

/* One option of a [features] line starting at *s (blanks skipped): `word`, `key=value` or `key="quoted"`.
 * The key goes to key (capacity MTR_MAX_NAME, longer keys are cut and then unknown) and the value to val
 * (capacity at least strlen(*s) + 1); *has_value tells a bare word from `key=`. Returns 1 for an option,
 * 0 at the end of the line, -1 on error. */
static int next_option(parser *p, const char *col, const char **s, char *key, char *val, size_t *val_len,
                       int *has_value) {
    const char *c = skip_blanks(*s);
    if (*c == '\0') return 0;
    size_t k = 0;
    while (*c != '\0' && *c != '=' && !is_blank(*c)) {
        if (k + 1 < MTR_MAX_NAME) key[k++] = *c;
        c++;
    }
    key[k] = '\0';
    *has_value = *c == '=';
    *val_len = 0;
    val[0] = '\0';
    if (*has_value) {
        c++;
        if (k == 0) return fail_at(p, "column '%s': expected option=value, found '=%s'", col, c);
        if (*c == '"') {
            char what[MTR_MAX_NAME + 80];
            snprintf(what, sizeof what, "column '%s': %s", col, key);
            if (parse_quoted(p, what, &c, val, val_len) != 0) return -1;
            if (*c != '\0' && !is_blank(*c))
                return fail_at(p, "column '%s': %s: unexpected text after the quoted value: '%s'", col, key, c);
        } else {
            const char *start = c;
            while (*c != '\0' && !is_blank(*c)) {
                if (*c == '"') return fail_at(p, "column '%s': %s: a '\"' may only start a quoted value", col, key);
                c++;
            }
            *val_len = (size_t)(c - start);
            memcpy(val, start, *val_len);
            val[*val_len] = '\0';
        }
        if (*val_len == 0) return fail_at(p, "column '%s': expected option=value, found '%s='", col, key);
    }
    *s = c;
    return 1;
}

static int feature_option(parser *p, mtr_feature_rule *r, const char *col, const char *key, const char *val,
                          size_t val_len, int has_value) {
    int numeric = r->kind == MTR_COL_NUMERIC, categorical = r->kind == MTR_COL_CATEGORICAL;
    int known = (numeric && (!strcmp(key, "norm") || !strcmp(key, "missing_default"))) ||
                (categorical && (!strcmp(key, "min_count") || !strcmp(key, "hash") || !strcmp(key, "multi") ||
                                 !strcmp(key, "sep") || !strcmp(key, "pool") || !strcmp(key, "table")));
    if (!known)
        return fail_at(p, "column '%s': unknown option '%s' for a%s column", col, key,
                       numeric ? " numeric (options: norm, missing_default)"
                       : categorical ? " categorical (options: min_count, hash, multi, sep, pool, table)"
                       : r->kind == MTR_COL_AUX ? "n aux (no options)" : "n ignored (no options)");
    if (strcmp(key, "multi") == 0) {
        if (has_value) return fail_at(p, "column '%s': multi takes no value (write sep=\"...\" for the separator)", col);
        r->multi = 1;
        return 0;
    }
    if (!has_value) return fail_at(p, "column '%s': expected option=value, found '%s'", col, key);
    if (strcmp(key, "norm") == 0) {
        if (mtr_norm_parse(val, &r->norm) != 0)
            return fail_at(p, "column '%s': unknown norm '%s' (expected none, minmax, standard, log1p or "
                              "log1p_standard)", col, val);
    } else if (strcmp(key, "missing_default") == 0) {
        if (mtr_parse_float(val, val_len, &r->missing_default) != 0)
            return fail_at(p, "column '%s': missing_default is not a number: '%s'", col, val);
    } else if (strcmp(key, "min_count") == 0) {
        long v;
        if (mtr_parse_long(val, val_len, 1, 2147483647L, &v) != 0)
            return fail_at(p, "column '%s': min_count must be an integer from 1 to 2147483647, found '%s'",
                           col, val);
        r->min_count = (uint32_t)v;
    } else if (strcmp(key, "hash") == 0) {
        long v;
        if (mtr_parse_long(val, val_len, 1, 1000000000L, &v) != 0)
            return fail_at(p, "column '%s': hash must be a bucket count from 1 to 1000000000, found '%s'",
                           col, val);
        r->hash_buckets = (uint32_t)v;
    } else if (strcmp(key, "sep") == 0) {
        if (val_len >= MTR_MAX_SEP || memchr(val, '\n', val_len) || memchr(val, '\r', val_len) ||
            memchr(val, '\0', val_len))
            return fail_at(p, "column '%s': sep must be 1 to %d bytes without a line break", col, MTR_MAX_SEP - 1);
        memcpy(r->sep, val, val_len + 1);
        r->sep_len = val_len;
    } else if (strcmp(key, "pool") == 0) {
        if (strcmp(val, "sum") == 0) r->pool_mean = 0;
        else if (strcmp(val, "mean") == 0) r->pool_mean = 1;
        else return fail_at(p, "column '%s': pool: expected sum or mean, found '%s'", col, val);
        r->pool_given = 1;
    } else { /* table */
        if (val_len >= MTR_MAX_NAME || memchr(val, '\0', val_len))
            return fail_at(p, "column '%s': table name must be 1 to %d bytes", col, MTR_MAX_NAME - 1);
        memcpy(r->table, val, val_len + 1);
    }
    return 0;
}

/* Fill *r from the rest of a [features] line (the kind word, then options). */
static int parse_rule(parser *p, const char *col, const char *value, mtr_feature_rule *r) {
    memset(r, 0, sizeof *r);
    r->norm = MTR_NORM_STANDARD;
    r->min_count = 1;
    r->line = p->line;
    size_t cap = strlen(value) + 1;
    char *val = malloc(cap);
    if (!val) return fail_at(p, "[features]: out of memory");
    char key[MTR_MAX_NAME];
    size_t val_len = 0;
    int has_value = 0, rc;
    const char *s = value;
    rc = next_option(p, col, &s, key, val, &val_len, &has_value);
    if (rc == 0) rc = fail_at(p, "column '%s': missing kind (categorical, numeric, aux or ignore)", col);
    else if (rc == 1 && (has_value || parse_kind(key, &r->kind) != 0))
        rc = fail_at(p, "column '%s': unknown kind '%s' (expected categorical, numeric, aux or ignore)", col,
                     has_value ? value : key);
    else if (rc == 1) {
        while ((rc = next_option(p, col, &s, key, val, &val_len, &has_value)) == 1)
            if (feature_option(p, r, col, key, val, val_len, has_value) != 0) {
                rc = -1;
                break;
            }
    }
    free(val);
    if (rc < 0) return -1;
    if (r->hash_buckets && r->min_count != 1)
        return fail_at(p, "column '%s': min_count cannot be combined with hash (hashed ids have no "
                          "vocabulary)", col);
    return 0;
}

static int feature_key(parser *p, const char *key, int quoted_key, char *value) {
    mtr_spec *spec = p->spec;
    if (!quoted_key && strcmp(key, "default") == 0) { /* "default" in quotes is a column */
        if (p->default_line)
            return fail_at(p, "[features]: duplicate key 'default' (first set on line %d)", p->default_line);
        if (parse_rule(p, "default", value, &spec->default_rule) != 0) return -1;
        if (spec->default_rule.kind == MTR_COL_AUX)
            return fail_at(p, "[features]: default: expected categorical, numeric or ignore (name aux columns "
                              "one by one)");
        if (spec->default_rule.table[0])
            return fail_at(p, "[features]: default: table= would put every unnamed column in one table; give "
                              "it column by column");
        p->default_line = p->line;
        return 0;
    }
    if (strlen(key) >= MTR_MAX_NAME)
        return fail_at(p, "[features]: column name '%.40s...' is longer than %d bytes", key, MTR_MAX_NAME - 1);
    for (int i = 0; i < spec->n_rules; i++)
        if (strcmp(spec->rules[i].column, key) == 0)
            return fail_at(p, "[features]: duplicate column '%s' (first on line %d)", key, spec->rules[i].line);
    if (spec->n_rules == p->rules_cap) {
        int cap = p->rules_cap ? p->rules_cap * 2 : 16;
        mtr_feature_rule *r = realloc(spec->rules, (size_t)cap * sizeof *r);
        if (!r) return fail_at(p, "[features]: out of memory");
        spec->rules = r;
        p->rules_cap = cap;
    }
    mtr_feature_rule *r = &spec->rules[spec->n_rules];
    if (parse_rule(p, key, value, r) != 0) return -1;
    memcpy(r->column, key, strlen(key) + 1); /* length checked above */
    spec->n_rules++;
    return 0;
}

/* Whether `name` is one of the columns an aliccp line starts with. */
static int aliccp_leading(const char *name) {
    for (int i = 0; i < MTR_ALICCP_LEADING; i++)
        if (strcmp(name, mtr_aliccp_columns[i]) == 0) return 1;
    return 0;
}

/* The checks of one rule that need the whole spec: the format and the delimiter. `token` is 1 for a rule
 * that configures aliccp field:id tokens. */
static int check_rule(parser *p, const mtr_feature_rule *r, const char *what, int token) {
    const mtr_spec *spec = p->spec;
    p->line = r->line;
    if (token) {
        if (r->kind == MTR_COL_NUMERIC || r->kind == MTR_COL_AUX)
            return fail_at(p, "%s: an aliccp field holds ids: it can be categorical or ignore, not %s", what,
                           r->kind == MTR_COL_NUMERIC ? "numeric" : "aux");
        if (r->sep_len)
            return fail_at(p, "%s: sep does not apply to aliccp fields (each field:id token is one id)", what);
        return 0;
    }
    if (r->multi && !r->sep_len)
        return fail_at(p, "%s: multi needs sep=\"...\", the separator between the values of one column", what);
    if (r->sep_len && !r->multi) return fail_at(p, "%s: sep needs multi", what);
    if (r->pool_given && !r->multi) return fail_at(p, "%s: pool is only for multi-valued fields (add multi)", what);
    if (r->sep_len && (strstr(r->sep, spec->delimiter) || strstr(spec->delimiter, r->sep)))
        return fail_at(p, "%s: sep \"%s\" and the delimiter must not contain each other", what, r->sep);
    return 0;
}

/* Checks once the whole spec is read; aliccp specs get their leading columns. */
static int finish_spec(parser *p) {
    mtr_spec *spec = p->spec;
    int aliccp = spec->format == MTR_FORMAT_ALICCP;
    if (aliccp) {
        p->line = p->input_seen[IK_COLUMNS] ? p->input_seen[IK_COLUMNS] : p->input_seen[IK_HEADER];
        if (p->input_seen[IK_COLUMNS])
            return fail_at(p, "[input]: columns: an aliccp line is sample_id, click, purchase and then field:id "
                              "tokens, so it takes no column list");
        if (spec->header || spec->header_auto)
            return fail_at(p, "[input]: header: aliccp files have no header line (header = no)");
        for (int i = 0; i < MTR_ALICCP_LEADING; i++)
            if (strlist_push(&spec->columns, mtr_aliccp_columns[i], strlen(mtr_aliccp_columns[i])) != 0)
                return fail_at(p, "out of memory");
    }
    if (spec->header_auto && spec->columns.n == 0) {
        p->line = p->input_seen[IK_HEADER];
        return fail_at(p, "[input]: header = auto needs 'columns' (a first line equal to them is the header)");
    }
    for (int i = 0; i < spec->n_rules; i++) {
        const mtr_feature_rule *r = &spec->rules[i];
        char what[MTR_MAX_NAME + 16];
        int token = aliccp && !aliccp_leading(r->column);
        snprintf(what, sizeof what, "%s '%s'", token ? "field" : "column", r->column);
        if (check_rule(p, r, what, token) != 0) return -1;
    }
    if (p->default_line && check_rule(p, &spec->default_rule, "[features]: default", aliccp) != 0) return -1;
    return 0;
}

static int task_key(parser *p, const char *key, const char *value) {
    mtr_task_spec *t = &p->spec->tasks[p->spec->n_tasks - 1];
    int k = 0;
    while (k < TK_COUNT && strcmp(key, task_keys[k]) != 0) k++;
    if (k == TK_COUNT)
        return fail_at(p, "[task %s]: unknown key '%s' (expected column, type, positive, negative, above or "
                          "at_least)", t->name, key);
    if (p->task_seen[k])
        return fail_at(p, "[task %s]: duplicate key '%s' (first set on line %d)", t->name, key,
                       p->task_seen[k]);
    p->task_seen[k] = p->line;
    switch (k) {
    case TK_COLUMN: {
        char *c;
        size_t len = 0;
        if (parse_single(p, key, value, &c, &len) != 0) return -1;
        int bad = len == 0 || len >= MTR_MAX_NAME;
        if (!bad) memcpy(t->column, c, len + 1);
        free(c);
        if (bad) return fail_at(p, "[task %s]: column: name must be 1 to %d bytes", t->name, MTR_MAX_NAME - 1);
        t->column_line = p->line;
        return 0;
    }
    case TK_TYPE:
        if (strcmp(value, "binary") == 0) t->kind = MTR_TASK_BINARY;
        else if (strcmp(value, "regression") == 0) t->kind = MTR_TASK_REGRESSION;
        else return fail_at(p, "[task %s]: type: expected binary or regression, found '%s'", t->name, value);
        return 0;
    case TK_POSITIVE: return parse_list(p, key, value, '|', &t->positive);
    case TK_NEGATIVE: return parse_list(p, key, value, '|', &t->negative);
    case TK_ABOVE:
    case TK_AT_LEAST:
        if (mtr_parse_double(value, strlen(value), &t->threshold) != 0)
            return fail_at(p, "[task %s]: %s: not a number: '%s'", t->name, key, value);
        return 0;
    }
    return 0;
}

/* Checks of a finished [task] section; p->line is moved to its header for the messages. */
static int finish_task(parser *p) {
    if (p->spec->n_tasks == 0 || p->section != SEC_TASK) return 0;
    mtr_task_spec *t = &p->spec->tasks[p->spec->n_tasks - 1];
    int saved = p->line, *seen = p->task_seen;
    p->line = t->line;
    int rc = 0;
    if (!seen[TK_COLUMN]) rc = fail_at(p, "[task %s]: missing key 'column'", t->name);
    else if (!seen[TK_TYPE]) rc = fail_at(p, "[task %s]: missing key 'type' (binary or regression)", t->name);
    else if (t->kind == MTR_TASK_REGRESSION) {
        for (int k = TK_POSITIVE; k <= TK_AT_LEAST && rc == 0; k++)
            if (seen[k]) {
                p->line = seen[k];
                rc = fail_at(p, "[task %s]: '%s' is only for binary tasks", t->name, task_keys[k]);
            }
        t->rule = MTR_LABEL_NUMBER;
    } else {
        int rules = !!seen[TK_POSITIVE] + !!seen[TK_ABOVE] + !!seen[TK_AT_LEAST];
        if (rules != 1)
            rc = fail_at(p, "[task %s]: a binary task needs exactly one of 'positive', 'above' or 'at_least'",
                         t->name);
        else if (seen[TK_NEGATIVE] && !seen[TK_POSITIVE]) {
            p->line = seen[TK_NEGATIVE];
            rc = fail_at(p, "[task %s]: 'negative' needs 'positive'", t->name);
        } else if (seen[TK_POSITIVE] && t->positive.n == 0) {
            p->line = seen[TK_POSITIVE];
            rc = fail_at(p, "[task %s]: 'positive' lists no value", t->name);
        }
        t->rule = seen[TK_ABOVE] ? MTR_LABEL_ABOVE : seen[TK_AT_LEAST] ? MTR_LABEL_AT_LEAST : MTR_LABEL_VALUES;
        for (int i = 0; i < t->negative.n && rc == 0; i++)
            for (int j = 0; j < t->positive.n && rc == 0; j++)
                if (strcmp(t->negative.items[i], t->positive.items[j]) == 0) {
                    p->line = seen[TK_NEGATIVE];
                    rc = fail_at(p, "[task %s]: value '%s' is both positive and negative", t->name,
                                 t->negative.items[i]);
                }
    }
    if (rc == 0) p->line = saved;
    return rc;
}

static int section_header(parser *p, char *line) {
    size_t len = strlen(line);
    if (line[len - 1] != ']') return fail_at(p, "section header must end with ']': '%s'", line);
    line[len - 1] = '\0';
    char *name = (char *)skip_blanks(line + 1);
    char *end = name + strlen(name);
    while (end > name && is_blank(end[-1])) *--end = '\0';
    if (finish_task(p) != 0) return -1;
    if (strcmp(name, "input") == 0) {
        if (p->input_line) return fail_at(p, "duplicate section [input] (first on line %d)", p->input_line);
        p->input_line = p->line;
        p->section = SEC_INPUT;
    } else if (strcmp(name, "features") == 0) {
        if (p->features_line)
            return fail_at(p, "duplicate section [features] (first on line %d)", p->features_line);
        p->features_line = p->line;
        p->section = SEC_FEATURES;
    } else if (strncmp(name, "task", 4) == 0 && is_blank(name[4])) {
        const char *task = skip_blanks(name + 4);
        if (!valid_task_name(task))
            return fail_at(p, "[task %s]: a task name is letters, digits, '_', '-' or '.'", task);
        if (strlen(task) >= MTR_MAX_NAME)
            return fail_at(p, "[task %.40s...]: task name longer than %d bytes", task, MTR_MAX_NAME - 1);
        for (int i = 0; i < p->spec->n_tasks; i++)
            if (strcmp(p->spec->tasks[i].name, task) == 0)
                return fail_at(p, "duplicate task '%s' (first on line %d)", task, p->spec->tasks[i].line);
        if (p->spec->n_tasks == MTR_MAX_TASKS)
            return fail_at(p, "[task %s]: too many tasks (at most %d)", task, MTR_MAX_TASKS);
        mtr_task_spec *t = &p->spec->tasks[p->spec->n_tasks++];
        snprintf(t->name, sizeof t->name, "%s", task);
        t->line = p->line;
        memset(p->task_seen, 0, sizeof p->task_seen);
        p->section = SEC_TASK;
    } else {
        return fail_at(p, "unknown section [%s] (expected [input], [features] or [task NAME])", name);
    }
    return 0;
}

/* One logical line: comments removed, continuation joined, surrounding blanks trimmed, non-empty. */
static int parse_line(parser *p, char *line) {
    if (line[0] == '[') return section_header(p, line);
    char key_buf[1024];
    char *key, *value;
    int quoted_key = line[0] == '"';
    if (quoted_key) {
        const char *s = line;
        size_t len = 0;
        if (strlen(line) >= sizeof key_buf) return fail_at(p, "key is too long");
        if (parse_quoted(p, "key", &s, key_buf, &len) != 0) return -1;
        s = skip_blanks(s);
        if (*s != '=') return fail_at(p, "expected '=' after the quoted key \"%s\"", key_buf);
        key = key_buf;
        value = (char *)s + 1;
    } else {
        char *eq = strchr(line, '=');
        if (!eq) return fail_at(p, "expected 'key = value' or a [section], found '%s'", line);
        *eq = '\0';
        key = line;
        char *end = eq;
        while (end > key && is_blank(end[-1])) *--end = '\0';
        value = eq + 1;
    }
    if (key[0] == '\0') return fail_at(p, "missing key before '='");
    value = (char *)skip_blanks(value);
    switch (p->section) {
    case SEC_NONE: return fail_at(p, "key '%s' is outside any section (start with [input])", key);
    case SEC_INPUT: return input_key(p, key, value);
    case SEC_FEATURES: return feature_key(p, key, quoted_key, value);
    case SEC_TASK: return task_key(p, key, value);
    }
    return 0;
}

/* Length of a physical line once a comment is removed: `#` at the start or after a blank, outside a
 * quoted string. Trailing blanks are removed too. */
static int strip_comment(parser *p, const char *s, size_t len, size_t *out_len) {
    int quoted = 0;
    size_t i = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len) i++;
            else if (c == '"') quoted = 0;
        } else if (c == '"') {
            quoted = 1;
        } else if (c == '#' && (i == 0 || is_blank(s[i - 1]))) {
            break;
        }
    }
    if (quoted) return fail_at(p, "unterminated quoted string");
    while (i > 0 && (is_blank(s[i - 1]) || s[i - 1] == '\r')) i--;
    *out_len = i;
    return 0;
}

static int parse_text(parser *p, const char *text) {
    size_t cap = 256, used = 0;
    char *buf = malloc(cap);
    if (!buf) return fail_at(p, "out of memory");
    int physical = 0, continuing = 0, rc = 0;
    const char *s = text;
    while (rc == 0 && (*s != '\0' || continuing)) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        physical++;
        if (!continuing) {
            p->line = physical;
            used = 0;
        }
        size_t kept = 0;
        int saved = p->line;
        p->line = physical;
        rc = strip_comment(p, s, len, &kept);
        p->line = saved;
        if (rc != 0) break;
        continuing = kept > 0 && s[kept - 1] == '\\';
        if (continuing) kept--;
        if (used + kept + 2 > cap) {
            while (used + kept + 2 > cap) cap *= 2;
            char *b = realloc(buf, cap);
            if (!b) {
                rc = fail_at(p, "out of memory");
                break;
            }
            buf = b;
        }
        memcpy(buf + used, s, kept);
        used += kept;
        if (continuing) buf[used++] = ' ';
        buf[used] = '\0';
        s = nl ? nl + 1 : s + len;
        if (continuing && !nl) continuing = 0; /* a `\` on the last line continues into nothing */
        if (continuing) continue;
        char *line = (char *)skip_blanks(buf);
        char *end = line + strlen(line);
        while (end > line && is_blank(end[-1])) *--end = '\0';
        if (*line) rc = parse_line(p, line);
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ whole spec */

void mtr_spec_free(mtr_spec *spec) {
    if (!spec) return;
    free(spec->text);
    free(spec->origin);
    free(spec->delimiter);
    strlist_free(&spec->columns);
    strlist_free(&spec->missing);
    free(spec->rules);
    for (int i = 0; i < spec->n_tasks; i++) {
        strlist_free(&spec->tasks[i].positive);
        strlist_free(&spec->tasks[i].negative);
    }
    free(spec);
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

mtr_spec *mtr_spec_parse(const char *text, const char *origin, mtr_error *err) {
    if (!origin) origin = "<string>";
    if (!text) {
        mtr_fail(err, "%s: no spec text", origin);
        return NULL;
    }
    mtr_spec *spec = calloc(1, sizeof *spec);
    if (!spec) {
        mtr_fail(err, "%s: out of memory", origin);
        return NULL;
    }
    spec->text = dup_string(text);
    spec->origin = dup_string(origin);
    spec->delimiter = dup_string(",");
    if (!spec->text || !spec->origin || !spec->delimiter || strlist_push(&spec->missing, "?", 1) != 0 ||
        strlist_push(&spec->missing, "", 0) != 0) {
        mtr_fail(err, "%s: out of memory", origin);
        mtr_spec_free(spec);
        return NULL;
    }
    spec->delimiter_len = 1;
    spec->trim = 1;
    spec->default_rule.kind = MTR_COL_IGNORE;
    spec->default_rule.norm = MTR_NORM_STANDARD;
    spec->default_rule.min_count = 1;
    parser p = {.spec = spec, .err = err};
    if (parse_text(&p, text) != 0 || finish_task(&p) != 0 || finish_spec(&p) != 0) goto fail;
    if (spec->n_tasks == 0) {
        mtr_fail(err, "%s: no [task NAME] section: a spec needs at least one task", origin);
        goto fail;
    }
    if (!spec->header && spec->columns.n == 0) {
        mtr_fail(err, "%s: line %d: [input]: 'columns' is required when header = no", origin,
                 p.input_line ? p.input_line : 1);
        goto fail;
    }
    if (spec->columns.n > 0) {
        /* Columns are known now, so unknown names and label leakage are reported at parse time. */
        mtr_spec_layout layout;
        if (mtr_spec_resolve(spec, spec->columns.n, spec->columns.items, &layout, err) != 0) goto fail;
        mtr_spec_layout_free(&layout);
    }
    return spec;
fail:
    mtr_spec_free(spec);
    return NULL;
}

mtr_spec *mtr_spec_load(const char *path, mtr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        mtr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(MTR_SPEC_MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(text, 1, MTR_SPEC_MAX_BYTES + 1, f);
    int read_error = ferror(f);
    int saved = errno;
    fclose(f);
    mtr_spec *spec = NULL;
    if (read_error) mtr_fail(err, "%s: cannot read: %s", path, strerror(saved));
    else if (n > MTR_SPEC_MAX_BYTES) mtr_fail(err, "%s: spec file larger than %u bytes", path, MTR_SPEC_MAX_BYTES);
    else if (memchr(text, '\0', n)) mtr_fail(err, "%s: spec file contains a NUL byte (not a text file?)", path);
    else {
        text[n] = '\0';
        spec = mtr_spec_parse(text, path, err);
    }
    free(text);
    return spec;
}
