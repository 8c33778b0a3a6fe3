/* cmd_rank.c - `mtrank rank`: rank candidate lists end to end with mtr_rank_request (models -> fusion ->
 * rules) and write the ordered lists with every score and the rule that moved each candidate.
 *
 * Input: a text file in the models' spec plus a request-id column; its rows are grouped into one list per
 * request id (requests in order of first appearance, a request's rows in file order, wherever they are in
 * the file). The file is read twice: once here for what the compiled rows do not keep (the request id,
 * the item id, the numeric fields' raw values: the data layer normalises them), once by the data layer
 * for the model inputs. Standard input is therefore spooled to a temporary file first. Everything is
 * allocated while reading; ranking and writing a request allocate nothing (the ranker is sized by
 * --max-candidates, the output goes through stdio's buffer). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/dataset.h"
#include "data/spec.h"
#include "data/table.h"
#include "util/checksum.h"
#include "util/error.h"
#include "util/parse_number.h"

#define MAX_PARAMS 64 /* --param occurrences */

typedef struct rank_args {
    const char *models[MTR_RANKER_MAX_MODELS]; /* --model values: FILE or NAME=FILE */
    int n_models;
    const char *params[MAX_PARAMS];            /* --param values: name=value */
    int n_params;
    const char *model_help, *param_help;       /* placeholders shown by --help */
    const char *data;                          /* candidates (text), - = stdin */
    const char *out;                           /* output, - = stdout */
    const char *format;                        /* csv or jsonl */
    const char *formula;                       /* --formula */
    const char *formula_file;                  /* --formula-file */
    const char *rules;                         /* --rules */
    const char *request_col;                   /* request-id column */
    const char *item_col;                      /* item-id column (optional in the file) */
    int max_candidates;                        /* ranker capacity, longest list */
    int quiet;                                 /* no summary on stderr */
} rank_args;

/* What the text pass keeps, by row in file order, and the lists. */
typedef struct candidates {
    size_t n;               /* rows */
    size_t *line;           /* (n) line number in the file */
    uint32_t *list;         /* (n) list index */
    uint64_t *item;         /* (n) item id: the value when it is an integer, else its FNV-1a hash */
    size_t *item_text;      /* (n) offset of the item id's text in `pool`, or SIZE_MAX without the column */
    float *fields;          /* (n, n_fields) raw values, NaN when missing */
    int n_fields;
    size_t n_lists;         /* requests */
    size_t *list_text;      /* (n_lists) offset of the request id's text in `pool` */
    size_t *list_len;       /* (n_lists) rows */
    char *pool;             /* NUL-terminated strings */
    size_t pool_len, pool_cap;
    size_t cap;             /* allocated rows */
    size_t *hash_slot;      /* open addressing: list index + 1, 0 = empty */
    uint64_t *hash_key;     /* the slot's request-id hash */
    size_t hash_cap;        /* power of two */
} candidates;

static void candidates_free(candidates *c) {
    free(c->line);
    free(c->list);
    free(c->item);
    free(c->item_text);
    free(c->fields);
    free(c->list_text);
    free(c->list_len);
    free(c->pool);
    free(c->hash_slot);
    free(c->hash_key);
    memset(c, 0, sizeof *c);
}

static int fail(mtr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(mtr_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t pool_add(candidates *c, const char *s, size_t len, mtr_error *err) {
    if (c->pool_len + len + 1 > c->pool_cap) {
        size_t cap = c->pool_cap ? c->pool_cap : 4096;
        while (cap < c->pool_len + len + 1) cap *= 2;
        char *p = realloc(c->pool, cap);
        if (!p) return fail(err, "out of memory"), SIZE_MAX;
        c->pool = p;
        c->pool_cap = cap;
    }
    size_t at = c->pool_len;
    memcpy(c->pool + at, s, len);
    c->pool[at + len] = '\0';
    c->pool_len += len + 1;
    return at;
}

static int grow_rows(candidates *c, mtr_error *err) {
    size_t cap = c->cap ? 2 * c->cap : 1024;
    size_t *line = realloc(c->line, cap * sizeof *line);
    if (line) c->line = line;
    uint32_t *list = realloc(c->list, cap * sizeof *list);
    if (list) c->list = list;
    uint64_t *item = realloc(c->item, cap * sizeof *item);
    if (item) c->item = item;
    size_t *item_text = realloc(c->item_text, cap * sizeof *item_text);
    if (item_text) c->item_text = item_text;
    float *fields = realloc(c->fields, cap * (size_t)(c->n_fields ? c->n_fields : 1) * sizeof *fields);
    if (fields) c->fields = fields;
    if (!line || !list || !item || !item_text || !fields) return fail(err, "out of memory for %zu rows", cap);
    c->cap = cap;
    return 0;
}

/* The list of request id `s`, created on first sight. */
static int list_of(candidates *c, const char *s, size_t len, uint32_t *out, mtr_error *err) {
    if (c->n_lists + 1 > c->hash_cap / 2) { /* grow and rehash, keeping the load under one half */
        size_t cap = c->hash_cap ? 2 * c->hash_cap : 1024;
        size_t *slot = calloc(cap, sizeof *slot);
        uint64_t *key = calloc(cap, sizeof *key);
        size_t *text = realloc(c->list_text, cap * sizeof *text);
        if (text) c->list_text = text;
        size_t *lens = realloc(c->list_len, cap * sizeof *lens);
        if (lens) c->list_len = lens;
        if (!slot || !key || !text || !lens) {
            free(slot);
            free(key);
            return fail(err, "out of memory for %zu requests", c->n_lists);
        }
        for (size_t i = 0; i < c->hash_cap; i++) {
            if (!c->hash_slot[i]) continue;
            size_t h = (size_t)c->hash_key[i] & (cap - 1);
            while (slot[h]) h = (h + 1) & (cap - 1);
            slot[h] = c->hash_slot[i];
            key[h] = c->hash_key[i];
        }
        free(c->hash_slot);
        free(c->hash_key);
        c->hash_slot = slot;
        c->hash_key = key;
        c->hash_cap = cap;
    }
    uint64_t k = mtr_fnv1a64(MTR_FNV1A64_INIT, s, len);
    size_t h = (size_t)k & (c->hash_cap - 1);
    for (; c->hash_slot[h]; h = (h + 1) & (c->hash_cap - 1)) {
        size_t g = c->hash_slot[h] - 1;
        const char *t = c->pool + c->list_text[g];
        if (c->hash_key[h] == k && strlen(t) == len && memcmp(t, s, len) == 0) {
            *out = (uint32_t)g;
            return 0;
        }
    }
    size_t at = pool_add(c, s, len, err);
    if (at == SIZE_MAX) return -1;
    c->hash_slot[h] = c->n_lists + 1;
    c->hash_key[h] = k;
    c->list_text[c->n_lists] = at;
    c->list_len[c->n_lists] = 0;
    *out = (uint32_t)c->n_lists++;
    return 0;
}

static int find_column(char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* The text pass: request ids, item ids, raw field values. `fields` are column names (all present). */
static int read_candidates(const mtr_spec *spec, const char *path, const char *display, const rank_args *a,
                           const char *const *field_names, int n_fields, candidates *c, mtr_error *err) {
    mtr_table t;
    if (mtr_table_open(&t, spec, path, err) != 0) return -1;
    char *const *names = spec->header ? t.header : spec->columns.items;
    int n_names = spec->header ? t.n_header : spec->columns.n;
    int rc = -1, col_req = find_column(names, n_names, a->request_col), col_item = find_column(names, n_names, a->item_col);
    int col_field[MTR_RANKER_MAX_VARS];
    char q[64];
    if (col_req < 0) {
        char list[600] = "";
        for (int i = 0; i < n_names && strlen(list) < 500; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
        fail(err, "%s: no request-id column '%s' (columns: %s); name it with --request-id", display, a->request_col,
             list);
        goto done;
    }
    for (int f = 0; f < n_fields; f++) col_field[f] = find_column(names, n_names, field_names[f]);
    c->n_fields = n_fields;
    t.store_limit = n_names;
    int r;
    while ((r = mtr_table_next(&t, err)) == 1) {
        if (t.n_fields != n_names) {
            fail(err, "%s: line %zu: %d fields, the header has %d", display, mtr_table_line(&t), t.n_fields, n_names);
            goto done;
        }
        if (c->n == c->cap && grow_rows(c, err) != 0) goto done;
        size_t i = c->n;
        c->line[i] = mtr_table_line(&t);
        const mtr_field *rq = &t.fields[col_req];
        if (list_of(c, rq->s, rq->len, &c->list[i], err) != 0) goto done;
        c->list_len[c->list[i]]++;
        if (col_item >= 0) {
            const mtr_field *it = &t.fields[col_item];
            if (mtr_parse_u64(it->s, it->len, &c->item[i]) != 0) c->item[i] = mtr_fnv1a64(MTR_FNV1A64_INIT, it->s, it->len);
            if ((c->item_text[i] = pool_add(c, it->s, it->len, err)) == SIZE_MAX) goto done;
        } else {
            c->item[i] = c->line[i];
            c->item_text[i] = SIZE_MAX;
        }
        for (int f = 0; f < n_fields; f++) {
            const mtr_field *v = &t.fields[col_field[f]];
            float *dst = &c->fields[i * (size_t)n_fields + f];
            if (mtr_table_is_missing(&t, v)) {
                *dst = NAN;
            } else if (mtr_parse_float(v->s, v->len, dst) != 0) {
                fail(err, "%s: line %zu: column '%s': not a number: '%s'", display, c->line[i], field_names[f],
                     mtr_quote_value(q, sizeof q, v->s, v->len));
                goto done;
            }
        }
        c->n++;
    }
    if (r < 0) goto done;
    rc = 0;
done:
    mtr_table_close(&t);
    return rc;
}

/* Copy standard input to a temporary file (the input is read twice). */
static int spool_stdin(char *path, size_t cap, mtr_error *err) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/mtrank-rank-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return fail(err, "%s: cannot create a temporary file: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(path);
        return fail(err, "%s: %s", path, strerror(errno));
    }
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, n, f) != n) bad = 1;
    if (ferror(stdin)) bad = 1;
    if (fclose(f) != 0 || bad) {
        unlink(path);
        return fail(err, "standard input: copying to %s failed", path);
    }
    return 0;
}

static char *read_text_file(const char *path, mtr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, "%s: cannot open: %s", path, strerror(errno)), NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *t = cap < ((size_t)1 << 24) ? realloc(s, cap *= 2) : NULL;
            if (!t) {
                free(s);
                s = NULL;
            }
            s = t;
        }
    }
    int bad = ferror(f) || !s;
    fclose(f);
    if (bad) {
        free(s);
        return fail(err, "%s: cannot read (or larger than 16 MiB)", path), NULL;
    }
    s[len] = '\0';
    return s;
}

/* Pull the repeatable options out of argv; the rest goes to cli_parse. */
static int take_repeated(int argc, char **argv, rank_args *a, char **rest, int *n_rest, char *msg, size_t ms) {
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int is_model = strncmp(s, "--model", 7) == 0 && (s[7] == '\0' || s[7] == '=');
        int is_param = strncmp(s, "--param", 7) == 0 && (s[7] == '\0' || s[7] == '=');
        if (i < 2 || (!is_model && !is_param)) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        const char *v = s[7] == '=' ? s + 8 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            snprintf(msg, ms, "%s needs a value", is_model ? "--model" : "--param");
            return -1;
        }
        if (is_model) {
            if (a->n_models == MTR_RANKER_MAX_MODELS) {
                snprintf(msg, ms, "--model: at most %d models", MTR_RANKER_MAX_MODELS);
                return -1;
            }
            a->models[a->n_models++] = v;
        } else {
            if (a->n_params == MAX_PARAMS) {
                snprintf(msg, ms, "--param: at most %d parameters", MAX_PARAMS);
                return -1;
            }
            a->params[a->n_params++] = v;
        }
    }
    rest[*n_rest] = NULL;
    return 0;
}

/* "NAME=FILE" when NAME is an identifier, else the whole text is a file. */
static void split_model_arg(const char *v, char *name, size_t ns, const char **file) {
    const char *eq = strchr(v, '=');
    int ident = eq && eq > v && (size_t)(eq - v) < ns;
    for (const char *p = v; ident && p < eq; p++)
        ident = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (p > v && *p >= '0' && *p <= '9');
    if (ident) {
        memcpy(name, v, (size_t)(eq - v));
        name[eq - v] = '\0';
        *file = eq + 1;
    } else {
        name[0] = '\0';
        *file = v;
    }
}

/* ---------------------------------------------------------------- output */

static void json_string(FILE *o, const char *s) {
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(o, "\\%c", ch);
        else if (ch < 0x20) fprintf(o, "\\u%04x", ch);
        else fputc(ch, o);
    }
    fputc('"', o);
}

static void json_number(FILE *o, float v) {
    if (v != v || v == INFINITY || v == -INFINITY) fputs("null", o);
    else fprintf(o, "%.9g", v);
}

static void csv_text(FILE *o, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"') fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void csv_number(FILE *o, float v) {
    if (v == v) fprintf(o, "%.9g", v);
}

typedef struct writer {
    FILE *o;                 /* output */
    int jsonl;               /* 1: one JSON object per request */
    const candidates *c;     /* the text pass */
    const uint32_t *perm;    /* view position -> row in file order */
    int n_scores;            /* model outputs: the first variables */
    const char *const *vars; /* variable names */
    char (*rule_text)[160];  /* canonical description of each rule */
} writer;

static void write_header(const writer *w) {
    if (w->jsonl) return;
    fputs("request_id,position,line,item_id", w->o);
    for (int v = 0; v < w->n_scores; v++) fprintf(w->o, ",%s", w->vars[v]);
    fputs(",fused,adjusted,fused_position,rule,reason\n", w->o);
}

/* List g of the result: positions [lo, hi) of the view, in final order then the dropped. */
static void write_list(const writer *w, const mtr_request_result *res, size_t g, size_t lo, size_t hi) {
    FILE *o = w->o;
    const candidates *c = w->c;
    const char *req = c->pool + c->list_text[g];
    if (w->jsonl) {
        fputs("{\"request_id\": ", o);
        json_string(o, req);
        fputs(", \"candidates\": [", o);
    }
    for (size_t k = lo; k < hi; k++) {
        uint32_t p = res->order[k], row = w->perm[p];
        const float *x = res->x + (size_t)p * (size_t)res->n_vars;
        const char *item = c->item_text[row] == SIZE_MAX ? "" : c->pool + c->item_text[row];
        int r = res->rule[p];
        const char *rule = r >= 0 ? w->rule_text[r] : "";
        const char *reason = mtr_rank_reason_name((mtr_rank_reason)res->reason[p]);
        if (w->jsonl) {
            fputs(k > lo ? ", {\"position\": " : "{\"position\": ", o);
            if (res->position[p] == UINT32_MAX) fputs("null", o);
            else fprintf(o, "%u", res->position[p]);
            fprintf(o, ", \"line\": %zu, \"item_id\": ", c->line[row]);
            if (c->item_text[row] == SIZE_MAX) fputs("null", o);
            else json_string(o, item);
            fputs(", \"scores\": {", o);
            for (int v = 0; v < w->n_scores; v++) {
                fputs(v ? ", " : "", o);
                json_string(o, w->vars[v]);
                fputs(": ", o);
                json_number(o, x[v]);
            }
            fputs("}, \"fused\": ", o);
            json_number(o, res->fused[p]);
            fputs(", \"adjusted\": ", o);
            json_number(o, res->adjusted[p]);
            fprintf(o, ", \"fused_position\": %u, \"rule\": ", res->fused_position[p]);
            if (r >= 0) json_string(o, rule);
            else fputs("null", o);
            fprintf(o, ", \"reason\": \"%s\"}", reason);
        } else {
            csv_text(o, req);
            if (res->position[p] == UINT32_MAX) fputs(",", o);
            else fprintf(o, ",%u", res->position[p]);
            fprintf(o, ",%zu,", c->line[row]);
            csv_text(o, item);
            for (int v = 0; v < w->n_scores; v++) {
                fputc(',', o);
                csv_number(o, x[v]);
            }
            fputc(',', o);
            csv_number(o, res->fused[p]);
            fputc(',', o);
            csv_number(o, res->adjusted[p]);
            fprintf(o, ",%u,", res->fused_position[p]);
            csv_text(o, rule);
            fprintf(o, ",%s\n", reason);
        }
    }
    if (w->jsonl) fputs("]}\n", o);
}

int cmd_rank(int argc, char **argv) {
    rank_args a;
    memset(&a, 0, sizeof a);
    a.model_help = "(none)";
    a.param_help = "(none)";
    a.out = "-";
    a.format = "csv";
    a.request_col = "request_id";
    a.item_col = "item_id";
    a.max_candidates = 1000;
    cli_option opts[] = {
        {"model", CLI_STRING, &a.model_help, NULL, 0, 0,
         "model file, or NAME=FILE; repeat for several models (one schema)"},
        {"data", CLI_STRING, &a.data, NULL, 0, 0, "candidates: text in the models' spec plus a request-id column, - = stdin"},
        {"formula", CLI_STRING, &a.formula, NULL, 0, 0, "fusion formula over the variables (see below)"},
        {"formula-file", CLI_STRING, &a.formula_file, NULL, 0, 0, "file holding the formula"},
        {"param", CLI_STRING, &a.param_help, NULL, 0, 0, "a formula parameter, name=value; repeat for each"},
        {"rules", CLI_STRING, &a.rules, NULL, 0, 0, "rules file (docs/fusion-and-rules.md)"},
        {"request-id", CLI_STRING, &a.request_col, NULL, 0, 0, "column grouping rows into one list per request"},
        {"item-id", CLI_STRING, &a.item_col, NULL, 0, 0, "item-id column (exposure cap, output); optional"},
        {"max-candidates", CLI_INT, &a.max_candidates, NULL, 1, 1 << 24, "longest list accepted (sizes the buffers)"},
        {"out", CLI_STRING, &a.out, NULL, 0, 0, "output file, - = stdout"},
        {"format", CLI_STRING, &a.format, NULL, 0, 0, "csv (one line per candidate) or jsonl (one per request)"},
        {"quiet", CLI_FLAG, &a.quiet, NULL, 0, 0, "no summary on stderr"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "rank --model [NAME=]FILE ... --data FILE [--formula TEXT] [--param k=v ...] [--rules FILE]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Scores every candidate with the models, fuses the scores with the formula, applies the rules\n"
                  "and writes each request's ordered list: position, input line, item id, every model score,\n"
                  "the fused and adjusted scores, and the rule (canonical form) and reason that moved it.\n"
                  "Variables: the models' task outputs (by task name; NAME or NAME_task for --model NAME=FILE),\n"
                  "then the numeric input columns of the spec as raw values. Without a formula, a single model\n"
                  "output is the score. Dropped candidates follow their list with an empty position.",
                  opts, n_opts);
        return 0;
    }
    char msg[512];
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    if (!rest) return usage_error("rank", "out of memory");
    int n_rest;
    const char *pos[1];
    int n_pos;
    if (take_repeated(argc, argv, &a, rest, &n_rest, msg, sizeof msg) != 0 ||
        cli_parse(n_rest, rest, 2, opts, n_opts, pos, 0, &n_pos, msg, sizeof msg) != 0) {
        free(rest);
        return usage_error("rank", msg);
    }
    free(rest);
    if (a.n_models == 0 || !a.data) return usage_error("rank", "--model and --data are required");
    if (a.formula && a.formula_file) return usage_error("rank", "give --formula or --formula-file, not both");
    int jsonl = strcmp(a.format, "jsonl") == 0;
    if (!jsonl && strcmp(a.format, "csv") != 0) return usage_error("rank", "--format: csv or jsonl");
    size_t dl = strlen(a.data);
    if (dl > 5 && strcmp(a.data + dl - 5, ".mtrd") == 0)
        return usage_error("rank", "--data: compiled data lacks the request ids and raw fields; give the text file");

    mtr_error err = {{0}};
    int rc = 1;
    mtr_model *models[MTR_RANKER_MAX_MODELS] = {0};
    mtr_ranker_model rm[MTR_RANKER_MAX_MODELS];
    char model_names[MTR_RANKER_MAX_MODELS][MTR_MAX_NAME];
    mtr_spec *spec = NULL;
    mtr_dataset *ds = NULL;
    mtr_ranker *ranker = NULL;
    mtr_fusion *fusion = NULL;
    mtr_rules *rules = NULL;
    candidates c;
    memset(&c, 0, sizeof c);
    char spool[4096] = "";
    char *formula_text = NULL;
    uint32_t *perm = NULL;
    size_t *list_start = NULL;
    float *fields = NULL;
    uint64_t *items = NULL;
    char (*rule_text)[160] = NULL;
    FILE *out = NULL;
    mtr_fusion_param params[MAX_PARAMS];
    char param_names[MAX_PARAMS][MTR_MAX_NAME];
    double t_start = mtr_seconds_now();

    for (int i = 0; i < a.n_models; i++) {
        const char *file;
        split_model_arg(a.models[i], model_names[i], MTR_MAX_NAME, &file);
        if (!(models[i] = mtr_model_load(file, &err))) goto fail;
        rm[i].model = models[i];
        rm[i].name = model_names[i];
    }
    const mtr_schema *schema = mtr_model_schema(models[0]);
    if (!(spec = mtr_spec_parse(mtr_schema_spec_text(schema), "<the models' spec>", &err))) goto fail;
    const char *path = a.data, *display = a.data;
    if (strcmp(a.data, "-") == 0) {
        if (spool_stdin(spool, sizeof spool, &err) != 0) goto fail;
        path = spool;
        display = "standard input";
    }
    /* the item fields: numeric input columns of the spec, which the header names */
    const char *field_names[MTR_RANKER_MAX_VARS];
    int n_fields = 0;
    {
        mtr_table t;
        if (mtr_table_open(&t, spec, path, &err) != 0) goto fail;
        char *const *names = spec->header ? t.header : spec->columns.items;
        int n_names = spec->header ? t.n_header : spec->columns.n;
        for (int i = 0; i < mtr_schema_numeric_count(schema) && n_fields < MTR_RANKER_MAX_VARS; i++) {
            const char *nm = mtr_schema_numeric_name(schema, i);
            if (find_column(names, n_names, nm) >= 0) field_names[n_fields++] = nm;
        }
        mtr_table_close(&t);
    }
    if (read_candidates(spec, path, display, &a, field_names, n_fields, &c, &err) != 0) goto fail;
    if (!(ds = mtr_dataset_read_text(schema, path, 0, &err))) goto fail;
    if (mtr_dataset_rows(ds) != c.n) {
        snprintf(err.message, sizeof err.message, "%s: the data layer read %zu rows, the request pass %zu", display,
                 mtr_dataset_rows(ds), c.n);
        goto fail;
    }
    for (size_t g = 0; g < c.n_lists; g++)
        if (c.list_len[g] > (size_t)a.max_candidates) {
            snprintf(err.message, sizeof err.message, "%s: request '%s' has %zu candidates, more than --max-candidates %d",
                     display, c.pool + c.list_text[g], c.list_len[g], a.max_candidates);
            goto fail;
        }
    /* rows grouped by request (stable: file order within a request), and their fields and item ids */
    perm = malloc((c.n + 1) * sizeof *perm);
    list_start = malloc((c.n_lists + 1) * sizeof *list_start);
    fields = malloc((c.n * (size_t)n_fields + 1) * sizeof *fields);
    items = malloc((c.n + 1) * sizeof *items);
    if (!perm || !list_start || !fields || !items) {
        snprintf(err.message, sizeof err.message, "out of memory for %zu rows", c.n);
        goto fail;
    }
    list_start[0] = 0;
    for (size_t g = 0; g < c.n_lists; g++) list_start[g + 1] = list_start[g] + c.list_len[g];
    {
        size_t *fill = c.list_len; /* reused as a cursor: the lengths are in list_start now */
        for (size_t g = 0; g < c.n_lists; g++) fill[g] = list_start[g];
        for (size_t i = 0; i < c.n; i++) perm[fill[c.list[i]]++] = (uint32_t)i;
        for (size_t g = 0; g < c.n_lists; g++) fill[g] = list_start[g + 1] - list_start[g];
    }
    for (size_t k = 0; k < c.n; k++) {
        memcpy(fields + k * (size_t)n_fields, c.fields + (size_t)perm[k] * n_fields, (size_t)n_fields * sizeof *fields);
        items[k] = c.item[perm[k]];
    }

    /* the ranker: every single-valued categorical field may be a diversity key */
    const char *keys[MTR_RANKER_MAX_KEYS];
    int n_keys = 0;
    for (int f = 0; f < mtr_schema_categorical_count(schema); f++)
        if (!mtr_schema_field_multi(schema, f) && n_keys < MTR_RANKER_MAX_KEYS)
            keys[n_keys++] = mtr_schema_categorical_name(schema, f);
    mtr_ranker_config rc_cfg = {rm, a.n_models, field_names, n_fields, keys, n_keys,
                                (size_t)a.max_candidates, 0, NULL};
    uint32_t ids = (uint32_t)mtr_schema_categorical_count(schema);
    if (ds->max_row_ids > ids) ids = ds->max_row_ids;
    rc_cfg.max_ids_per_row = ids;
    if (!(ranker = mtr_ranker_create(&rc_cfg, &err))) goto fail;
    const mtr_rank_fields *rf = mtr_ranker_fields(ranker);
    for (int i = 0; i < a.n_params; i++) {
        const char *eq = strchr(a.params[i], '=');
        double v;
        if (!eq || eq == a.params[i] || (size_t)(eq - a.params[i]) >= MTR_MAX_NAME ||
            mtr_parse_double(eq + 1, strlen(eq + 1), &v) != 0) {
            snprintf(msg, sizeof msg, "--param: expected name=number, got '%s'", a.params[i]);
            rc = usage_error("rank", msg);
            goto done;
        }
        memcpy(param_names[i], a.params[i], (size_t)(eq - a.params[i]));
        param_names[i][eq - a.params[i]] = '\0';
        params[i].name = param_names[i];
        params[i].value = v;
    }
    if (a.formula_file && !(formula_text = read_text_file(a.formula_file, &err))) goto fail;
    const char *formula = a.formula ? a.formula : formula_text;
    if (formula) {
        if (!(fusion = mtr_fusion_compile(formula, rf->vars, rf->n_vars, params, a.n_params, &err))) {
            if (a.formula_file) mtr_fail_prefix(&err, "%s", a.formula_file);
            goto fail;
        }
    } else if (rf->n_vars - n_fields != 1) {
        char list[600] = "";
        for (int v = 0; v < rf->n_vars && strlen(list) < 500; v++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", v ? ", " : "", rf->vars[v]);
        snprintf(msg, sizeof msg, "the models give %d scores: combine them with --formula (variables: %.400s)",
                 rf->n_vars - n_fields, list);
        rc = usage_error("rank", msg);
        goto done;
    }
    if (a.rules && !(rules = mtr_rules_load(a.rules, rf, &err))) goto fail;
    if (mtr_ranker_set_ranking(ranker, fusion, rules, &err) != 0) goto fail;
    int n_rules = rules ? mtr_rules_count(rules) : 0;
    rule_text = calloc((size_t)(n_rules ? n_rules : 1), sizeof *rule_text);
    if (!rule_text) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    for (int r = 0; r < n_rules; r++) mtr_rules_describe(rules, r, rule_text[r], sizeof rule_text[r]);

    out = strcmp(a.out, "-") == 0 ? stdout : fopen(a.out, "w");
    if (!out) {
        snprintf(err.message, sizeof err.message, "%s: cannot open for writing: %s", a.out, strerror(errno));
        goto fail;
    }
    writer w = {out, jsonl, &c, perm, rf->n_vars - n_fields, rf->vars, rule_text};
    write_header(&w);
    double t_rank = mtr_seconds_now(), model_s = 0, rank_s = 0;
    for (size_t g = 0; g < c.n_lists; g++) {
        size_t lo = list_start[g], hi = list_start[g + 1];
        mtr_request req;
        memset(&req, 0, sizeof req);
        req.rows.data = ds;
        req.rows.rows = perm + lo;
        req.rows.count = hi - lo;
        req.fields = fields + lo * (size_t)n_fields;
        req.field_stride = (size_t)n_fields;
        req.item_ids = items + lo;
        mtr_request_result res;
        if (mtr_rank_request(ranker, &req, &res, &err) != 0) {
            mtr_fail_prefix(&err, "request '%s'", c.pool + c.list_text[g]);
            goto fail;
        }
        model_s += res.model_seconds;
        rank_s += res.rank_seconds;
        /* res indexes this request's view; write_list maps view positions through perm + lo */
        writer wl = w;
        wl.perm = perm + lo;
        write_list(&wl, &res, g, 0, hi - lo);
    }
    double t_end = mtr_seconds_now();
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err.message, sizeof err.message, "%s: write failed: %s", a.out, strerror(errno));
        goto fail;
    }
    if (!a.quiet)
        fprintf(stderr,
                "ranked %zu requests (%zu candidates) in %.3f s (setup %.3f s): per request %.1f us models, %.1f us "
                "fusion and rules\n",
                c.n_lists, c.n, t_end - t_start, t_rank - t_start, c.n_lists ? 1e6 * model_s / c.n_lists : 0.0,
                c.n_lists ? 1e6 * rank_s / c.n_lists : 0.0);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "mtrank rank: %s\n", err.message);
    rc = 1;
done:
    if (out && out != stdout) {
        if (fclose(out) != 0 && rc == 0) {
            fprintf(stderr, "mtrank rank: %s: write failed: %s\n", a.out, strerror(errno));
            rc = 1;
        }
    }
    if (spool[0]) unlink(spool);
    free(rule_text);
    free(formula_text);
    free(perm);
    free(list_start);
    free(fields);
    free(items);
    candidates_free(&c);
    mtr_rules_free(rules);
    mtr_fusion_free(fusion);
    mtr_ranker_free(ranker);
    mtr_dataset_free(ds);
    mtr_spec_free(spec);
    for (int i = 0; i < a.n_models; i++) mtr_model_free(models[i]);
    return rc;
}
