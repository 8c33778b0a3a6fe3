/* rules.c - reading re-ranking rules from their line-based config:
 *
 *     # comment
 *     rule diversity key=category max=2 top=10
 *     rule promote field=promo multiply=1.5
 *     rule new field=age below=7 up=3
 *     rule low_quality field=low_quality drop
 *     rule exposure_cap max=3 window=100 shown=10
 *
 * One rule per line, applied in file order; keys in any order, each at most once. Every message names
 * the file, the line and the key: "rules.cfg:3: rule diversity: key 'max': expected an integer from 1 to
 * 1000000000, got 'two'". The keys each kind takes, their defaults and what they mean are in
 * docs/fusion-and-rules.md. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rank/rules.h"
#include "util/error.h"
#include "util/parse_number.h"

#define MAX_LINE 4096  /* bytes per config line */
#define MAX_TOKENS 32  /* words per line */
#define MAX_COUNT 1000000000L /* largest max=, top=, window=, shown=, up=, down= */

static const char *const kind_names[RULE_KIND_COUNT] = {"diversity", "promote", "new", "low_quality",
                                                         "exposure_cap"};
#define KIND_LIST "diversity, promote, new, low_quality, exposure_cap"

typedef enum key_id {
    K_FIELD, K_KEY, K_MAX, K_TOP, K_ABOVE, K_BELOW, K_WINDOW, K_SHOWN,
    K_MULTIPLY, K_ADD, K_UP, K_DOWN, K_DROP, K_COUNT
} key_id;

static const char *const key_words[K_COUNT] = {"field", "key",      "max", "top", "above", "below", "window",
                                               "shown", "multiply", "add", "up",  "down",  "drop"};

#define EFFECT_KEYS ((1u << K_MULTIPLY) | (1u << K_ADD) | (1u << K_UP) | (1u << K_DOWN) | (1u << K_DROP))
/* keys each kind accepts, as bit masks over key_id */
static const unsigned kind_keys[RULE_KIND_COUNT] = {
    [RULE_DIVERSITY] = (1u << K_KEY) | (1u << K_MAX) | (1u << K_TOP),
    [RULE_PROMOTE] = (1u << K_FIELD) | (1u << K_ABOVE) | (1u << K_BELOW) | EFFECT_KEYS,
    [RULE_NEW] = (1u << K_FIELD) | (1u << K_BELOW) | EFFECT_KEYS,
    [RULE_LOW_QUALITY] = (1u << K_FIELD) | (1u << K_ABOVE) | (1u << K_BELOW) | EFFECT_KEYS,
    [RULE_EXPOSURE_CAP] = (1u << K_MAX) | (1u << K_WINDOW) | (1u << K_SHOWN) | EFFECT_KEYS,
};
/* the variable a selecting rule tests when field= is not given */
static const char *const default_field[RULE_KIND_COUNT] = {
    [RULE_PROMOTE] = "promo", [RULE_NEW] = "age", [RULE_LOW_QUALITY] = "low_quality"};

const char *mtr_rule_kind_name(rule_kind kind) {
    return kind >= 0 && kind < RULE_KIND_COUNT ? kind_names[kind] : "?";
}

/* The line being read: where messages point. */
typedef struct line_ctx {
    const char *origin;  /* file name or "<string>" */
    int line;            /* 1-based */
    const char *kind;    /* rule kind once known, else NULL */
    mtr_error *err;
} line_ctx;

static int lfail(const line_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lfail(const line_ctx *c, const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->kind) return mtr_fail(c->err, "%s:%d: rule %s: %s", c->origin, c->line, c->kind, msg);
    return mtr_fail(c->err, "%s:%d: %s", c->origin, c->line, msg);
}

static void join(char *buf, size_t size, const char *const *names, int n) {
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0) snprintf(buf, size, "none");
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (used + len + 8 >= size) {
            snprintf(buf + used, size - used, "%s...", i ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    }
}

static void key_list(char *buf, size_t size, unsigned mask) {
    const char *names[K_COUNT];
    int n = 0;
    for (int k = 0; k < K_COUNT; k++)
        if (mask & (1u << k)) names[n++] = key_words[k];
    join(buf, size, names, n);
}

static int parse_count(const line_ctx *c, key_id k, const char *v, int *out) {
    long x;
    if (mtr_parse_long(v, strlen(v), 1, MAX_COUNT, &x) != 0)
        return lfail(c, "key '%s': expected an integer from 1 to %ld, got '%s'", key_words[k], MAX_COUNT, v);
    *out = (int)x;
    return 0;
}

static int parse_real(const line_ctx *c, key_id k, const char *v, float lo, float *out) {
    float x;
    if (mtr_parse_float(v, strlen(v), &x) != 0 || x < lo) {
        if (lo > -INFINITY) return lfail(c, "key '%s': expected a number >= %g, got '%s'", key_words[k], lo, v);
        return lfail(c, "key '%s': expected a number, got '%s'", key_words[k], v);
    }
    *out = x;
    return 0;
}

static int find_name(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* One "rule ..." line, already split into words, into r. */
static int parse_rule(line_ctx *c, char **tok, int n_tok, const mtr_rank_fields *fields, rank_rule *r) {
    if (strcmp(tok[0], "rule") != 0)
        return lfail(c, "expected 'rule <kind> key=value ...', got '%.60s'", tok[0]);
    if (n_tok < 2) return lfail(c, "expected a rule kind after 'rule' (kinds: " KIND_LIST ")");
    int kind = -1;
    for (int k = 0; k < RULE_KIND_COUNT; k++)
        if (strcmp(tok[1], kind_names[k]) == 0) kind = k;
    if (kind < 0) return lfail(c, "unknown rule kind '%.60s' (kinds: " KIND_LIST ")", tok[1]);
    c->kind = kind_names[kind];
    memset(r, 0, sizeof *r);
    r->kind = (rule_kind)kind;
    r->line = c->line;

    const char *val[K_COUNT] = {0};
    unsigned given = 0;
    char keys[200];
    for (int t = 2; t < n_tok; t++) {
        char *eq = strchr(tok[t], '=');
        if (eq) *eq = '\0';
        int k = -1;
        for (int j = 0; j < K_COUNT; j++)
            if (strcmp(tok[t], key_words[j]) == 0) k = j;
        if (!eq && k != K_DROP) return lfail(c, "expected key=value, got '%.60s'", tok[t]);
        if (k < 0 || !(kind_keys[kind] & (1u << k))) {
            key_list(keys, sizeof keys, kind_keys[kind]);
            return lfail(c, "unknown key '%.60s' (keys: %s)", tok[t], keys);
        }
        if (eq && k == K_DROP) return lfail(c, "key 'drop' takes no value: write drop");
        if (given & (1u << k)) return lfail(c, "key '%s' given twice", key_words[k]);
        if (eq && eq[1] == '\0') return lfail(c, "key '%s': empty value", key_words[k]);
        given |= 1u << k;
        val[k] = eq ? eq + 1 : "";
    }

    /* the effect: exactly one, except exposure_cap which drops by default */
    if (kind != RULE_DIVERSITY) {
        int first = -1;
        for (int k = K_MULTIPLY; k <= K_DROP; k++) {
            if (!(given & (1u << k))) continue;
            if (first >= 0)
                return lfail(c, "keys '%s' and '%s' both set the effect: give one of multiply=, add=, up=, "
                             "down=, drop", key_words[first], key_words[k]);
            first = k;
        }
        if (first < 0 && kind != RULE_EXPOSURE_CAP)
            return lfail(c, "no effect: give one of multiply=, add=, up=, down= or drop");
        switch (first) {
        case K_MULTIPLY:
            r->effect = EFFECT_MULTIPLY;
            if (parse_real(c, K_MULTIPLY, val[K_MULTIPLY], 0.0f, &r->amount) < 0) return -1;
            break;
        case K_ADD:
            r->effect = EFFECT_ADD;
            if (parse_real(c, K_ADD, val[K_ADD], -INFINITY, &r->amount) < 0) return -1;
            break;
        case K_UP:
        case K_DOWN:
            r->effect = first == K_UP ? EFFECT_UP : EFFECT_DOWN;
            if (parse_count(c, (key_id)first, val[first], &r->positions) < 0) return -1;
            break;
        default: r->effect = EFFECT_DROP; break;
        }
    }

    char names[400];
    switch (kind) {
    case RULE_DIVERSITY:
        for (int k = K_KEY; k <= K_TOP; k++)
            if (!(given & (1u << k))) return lfail(c, "missing key '%s'", key_words[k]);
        r->u.diversity.key = find_name(fields->keys, fields->n_keys, val[K_KEY]);
        if (r->u.diversity.key < 0) {
            join(names, sizeof names, fields->keys, fields->n_keys);
            return lfail(c, "key 'key': '%.60s' is not a key column (keys: %s)", val[K_KEY], names);
        }
        if (parse_count(c, K_MAX, val[K_MAX], &r->u.diversity.max_per_key) < 0 ||
            parse_count(c, K_TOP, val[K_TOP], &r->u.diversity.top) < 0)
            return -1;
        break;
    case RULE_EXPOSURE_CAP:
        for (int j = 0; j < 3; j++) {
            static const key_id required[3] = {K_MAX, K_WINDOW, K_SHOWN};
            if (!(given & (1u << required[j]))) return lfail(c, "missing key '%s'", key_words[required[j]]);
        }
        if (parse_count(c, K_MAX, val[K_MAX], &r->u.exposure.max_shown) < 0 ||
            parse_count(c, K_WINDOW, val[K_WINDOW], &r->u.exposure.window) < 0 ||
            parse_count(c, K_SHOWN, val[K_SHOWN], &r->u.exposure.shown) < 0)
            return -1;
        if (r->effect == EFFECT_NONE) r->effect = EFFECT_DROP;
        break;
    default: {
        const char *field = given & (1u << K_FIELD) ? val[K_FIELD] : default_field[kind];
        r->u.select.field = find_name(fields->vars, fields->n_vars, field);
        if (r->u.select.field < 0) {
            join(names, sizeof names, fields->vars, fields->n_vars);
            if (given & (1u << K_FIELD))
                return lfail(c, "key 'field': '%.60s' is not a candidate variable (variables: %s)", field, names);
            return lfail(c, "no field= given and no variable is named '%s' (variables: %s)", field, names);
        }
        if ((given & (1u << K_ABOVE)) && (given & (1u << K_BELOW)))
            return lfail(c, "keys 'above' and 'below' both given: give one");
        if (kind == RULE_NEW && !(given & (1u << K_BELOW))) return lfail(c, "missing key 'below'");
        r->u.select.test = TEST_NONZERO;
        if (given & (1u << K_BELOW)) {
            r->u.select.test = TEST_BELOW;
            if (parse_real(c, K_BELOW, val[K_BELOW], -INFINITY, &r->u.select.threshold) < 0) return -1;
        } else if (given & (1u << K_ABOVE)) {
            r->u.select.test = TEST_ABOVE;
            if (parse_real(c, K_ABOVE, val[K_ABOVE], -INFINITY, &r->u.select.threshold) < 0) return -1;
        }
        break;
    }
    }
    return 0;
}

static char **copy_names(const char *const *names, int n) {
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        if (!(out[i] = malloc(len))) {
            for (int j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
        memcpy(out[i], names[i], len);
    }
    return out;
}

mtr_rules *mtr_rules_parse(const char *text, const char *origin, const mtr_rank_fields *fields, mtr_error *err) {
    if (!origin) origin = "<string>";
    mtr_rank_fields none = {0};
    if (!fields) fields = &none;
    if (!text || fields->n_vars < 0 || fields->n_keys < 0 || (fields->n_vars && !fields->vars) ||
        (fields->n_keys && !fields->keys)) {
        mtr_fail(err, "%s: no rules text or a bad field list", origin);
        return NULL;
    }
    mtr_rules *rules = calloc(1, sizeof *rules);
    if (!rules) {
        mtr_fail(err, "%s: out of memory", origin);
        return NULL;
    }
    rules->exposure_rule = -1;
    rules->n_vars = fields->n_vars;
    rules->n_keys = fields->n_keys;
    rules->var_names = copy_names(fields->vars, fields->n_vars);
    rules->key_names = copy_names(fields->keys, fields->n_keys);
    if (!rules->var_names || !rules->key_names) {
        mtr_fail(err, "%s: out of memory", origin);
        goto fail;
    }
    char buf[MAX_LINE];
    line_ctx c = {.origin = origin, .err = err};
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        c.line++;
        c.kind = NULL;
        if (len >= sizeof buf) {
            lfail(&c, "line longer than %d bytes", MAX_LINE - 1);
            goto fail;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (end ? 1 : 0);
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char *tok[MAX_TOKENS];
        int n_tok = 0;
        char *save = NULL;
        for (char *s = strtok_r(buf, " \t\r\f\v", &save); s; s = strtok_r(NULL, " \t\r\f\v", &save)) {
            if (n_tok == MAX_TOKENS) {
                lfail(&c, "more than %d words on one line", MAX_TOKENS);
                goto fail;
            }
            tok[n_tok++] = s;
        }
        if (n_tok == 0) continue;
        if (rules->n_rules == MTR_MAX_RULES) {
            lfail(&c, "more than %d rules", MTR_MAX_RULES);
            goto fail;
        }
        rank_rule *r = &rules->rules[rules->n_rules];
        if (parse_rule(&c, tok, n_tok, fields, r) < 0) goto fail;
        if (r->kind == RULE_EXPOSURE_CAP) {
            if (rules->exposure_rule >= 0) {
                lfail(&c, "only one exposure_cap rule is allowed (the first is on line %d)",
                      rules->rules[rules->exposure_rule].line);
                goto fail;
            }
            rules->exposure_rule = rules->n_rules;
        }
        if (r->kind == RULE_DIVERSITY && r->u.diversity.top > rules->max_top) rules->max_top = r->u.diversity.top;
        if (r->kind != RULE_DIVERSITY && r->kind != RULE_EXPOSURE_CAP && r->u.select.field >= rules->n_cols_read)
            rules->n_cols_read = r->u.select.field + 1;
        rules->n_rules++;
    }
    return rules;
fail:
    mtr_rules_free(rules);
    return NULL;
}

mtr_rules *mtr_rules_load(const char *path, const mtr_rank_fields *fields, mtr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        mtr_fail(err, "cannot open rules file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (!text) break;
        if (len + 1 >= cap) {
            if (cap > ((size_t)64 << 20)) { /* a rules file is a few lines */
                fclose(f);
                free(text);
                mtr_fail(err, "%s: larger than 64 MiB, not a rules file", path);
                return NULL;
            }
            char *grown = realloc(text, cap * 2);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (!text) {
        mtr_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (read_error) {
        free(text);
        mtr_fail(err, "%s: read error", path);
        return NULL;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        mtr_fail(err, "%s: contains a NUL byte, not a rules file", path);
        return NULL;
    }
    mtr_rules *rules = mtr_rules_parse(text, path, fields, err);
    free(text);
    return rules;
}

void mtr_rules_free(mtr_rules *rules) {
    if (!rules) return;
    if (rules->var_names)
        for (int i = 0; i < rules->n_vars; i++) free(rules->var_names[i]);
    if (rules->key_names)
        for (int i = 0; i < rules->n_keys; i++) free(rules->key_names[i]);
    free(rules->var_names);
    free(rules->key_names);
    free(rules);
}

int mtr_rules_count(const mtr_rules *rules) { return rules ? rules->n_rules : 0; }

const char *mtr_rules_kind(const mtr_rules *rules, int i) {
    if (!rules || i < 0 || i >= rules->n_rules) return NULL;
    return kind_names[rules->rules[i].kind];
}

const char *mtr_rules_describe(const mtr_rules *rules, int i, char *buf, size_t size) {
    if (size == 0) return buf;
    buf[0] = '\0';
    if (!rules || i < 0 || i >= rules->n_rules) return buf;
    const rank_rule *r = &rules->rules[i];
    size_t n = (size_t)snprintf(buf, size, "rule %s", kind_names[r->kind]);
#define ADD(...) (n < size ? (n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__)) : n)
    switch (r->kind) {
    case RULE_DIVERSITY:
        ADD(" key=%s max=%d top=%d", rules->key_names[r->u.diversity.key], r->u.diversity.max_per_key,
            r->u.diversity.top);
        break;
    case RULE_EXPOSURE_CAP:
        ADD(" max=%d window=%d shown=%d", r->u.exposure.max_shown, r->u.exposure.window, r->u.exposure.shown);
        break;
    default:
        ADD(" field=%s", rules->var_names[r->u.select.field]);
        if (r->u.select.test == TEST_BELOW) ADD(" below=%g", r->u.select.threshold);
        if (r->u.select.test == TEST_ABOVE) ADD(" above=%g", r->u.select.threshold);
        break;
    }
    switch (r->effect) {
    case EFFECT_MULTIPLY: ADD(" multiply=%g", r->amount); break;
    case EFFECT_ADD: ADD(" add=%g", r->amount); break;
    case EFFECT_UP: ADD(" up=%d", r->positions); break;
    case EFFECT_DOWN: ADD(" down=%d", r->positions); break;
    case EFFECT_DROP: ADD(" drop"); break;
    default: break;
    }
#undef ADD
    return buf;
}

const char *mtr_rank_reason_name(mtr_rank_reason reason) {
    switch (reason) {
    case MTR_REASON_NONE: return "none";
    case MTR_REASON_SCORE: return "score";
    case MTR_REASON_UP: return "up";
    case MTR_REASON_DOWN: return "down";
    case MTR_REASON_DROP: return "drop";
    case MTR_REASON_DIVERSITY: return "diversity";
    default: return "?";
    }
}
