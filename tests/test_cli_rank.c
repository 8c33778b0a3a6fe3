/* test_cli_rank.c - end-to-end tests of `mtrank rank` and `mtrank experiment multiobjective` (the binary
 * named by MTR_CLI, tests/cli_run.h): candidate lists simulated with `mtrank gen sessions` in a small
 * world, a model trained for one short epoch, then the ordered lists checked line by line (one per
 * candidate, every score present, positions 0..n-1 per request in fused order without rules, a promote rule
 * moving candidates with its description and reason, the same lists whatever the rows' order, JSON lines);
 * the errors for a formula naming an unknown variable (its position), a rules file with a bad key (its
 * line) and a missing request-id column; and a tiny multiobjective experiment whose JSON has every
 * strategy with sane values. */
#define _DEFAULT_SOURCE
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_run.h"
#include "mtrank.h"
#include "test.h"

#define REQUESTS 6
#define LIST 20
#define ROWS (REQUESTS * LIST)

typedef char path_buf[512];

static const char *put(path_buf dst, const char *name) {
    snprintf(dst, sizeof(path_buf), "%s", mtr_test_path(name));
    return dst;
}

/* Simulated candidates (csv, spec) and a model trained on them for one epoch. */
typedef struct lists {
    path_buf csv, spec, model;
} lists;

static int make_lists(lists *l) {
    put(l->csv, "cands.csv");
    put(l->spec, "cands.spec");
    put(l->model, "cands.mtrm");
    cli_result r;
    CLI_RUN(&r, NULL, "gen", "sessions", "--requests", "6", "--list-length", "20", "--users", "300", "--items", "600",
            "--seed", "3", "--out", l->csv, "--spec-out", l->spec);
    CHECK_MSG(r.status == 0, "gen sessions: exit %d: %s", r.status, r.err);
    int ok = r.status == 0;
    cli_result_free(&r);
    if (!ok) return -1;
    CLI_RUN(&r, NULL, "train", "--spec", l->spec, "--train", l->csv, "--out", l->model, "--no-cache", "--quiet",
            "--epochs", "1", "--embedding", "2", "--experts", "2", "--bottom", "4", "--towers", "4", "--seed", "5");
    CHECK_MSG(r.status == 0, "train: exit %d: %s", r.status, r.err);
    ok = r.status == 0;
    cli_result_free(&r);
    return ok ? 0 : -1;
}

/* One output line split on commas (no field of these files holds a comma or a quote). */
typedef struct row {
    char *f[32];
    int n;
} row;

static void split_line(char *line, row *r) {
    r->n = 0;
    for (char *p = line;; p++) {
        r->f[r->n++] = p;
        p = strchr(p, ',');
        if (!p || r->n == 32) break;
        *p = '\0';
    }
}

static double num(const char *s) {
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == '\0' ? v : NAN;
}

/* Checks of a CSV ranking: ROWS candidate lines, each request with positions 0..LIST-1 (no drops) in
 * order, every score a number; the fused score falls along the list when `sorted`. Returns the lines
 * (caller frees) through *lines_out, indexed [request][position] -> "item_id". */
static void check_csv(const char *out, int sorted, char items[REQUESTS][LIST][16]) {
    char *text = strdup(out);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    CHECK(line != NULL);
    if (!line) return free(text);
    row h;
    split_line(line, &h);
    static const char *const cols[] = {"request_id", "position", "line", "item_id", "click", "cart", "fav",
                                       "purchase", "dwell", "fused", "adjusted", "fused_position", "rule", "reason"};
    CHECK_EQ_INT(h.n, 14);
    for (int i = 0; i < 14 && i < h.n; i++) CHECK_MSG(strcmp(h.f[i], cols[i]) == 0, "column %d: %s", i, h.f[i]);
    int lines = 0, seen_line[ROWS + 2] = {0};
    double prev = INFINITY;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        row r;
        split_line(line, &r);
        CHECK_EQ_INT(r.n, 14);
        if (r.n != 14) break;
        int req = atoi(r.f[0]), pos = atoi(r.f[1]), ln = atoi(r.f[2]);
        CHECK_MSG(req == lines / LIST, "line %d: request %s", lines, r.f[0]);
        CHECK_MSG(pos == lines % LIST, "line %d: position %s", lines, r.f[1]);
        CHECK_MSG(ln >= 2 && ln <= ROWS + 1 && !seen_line[ln], "input line %s", r.f[2]);
        if (ln >= 2 && ln <= ROWS + 1) seen_line[ln] = 1;
        for (int c = 4; c <= 10; c++) CHECK_MSG(isfinite(num(r.f[c])), "line %d: column %s = '%s'", lines, cols[c], r.f[c]);
        for (int c = 4; c <= 7; c++) CHECK(num(r.f[c]) > 0 && num(r.f[c]) < 1); /* probabilities */
        double fused = num(r.f[9]);
        if (pos == 0) prev = INFINITY;
        if (sorted) {
            CHECK_MSG(fused <= prev, "request %d position %d: fused %g after %g", req, pos, fused, prev);
            CHECK_EQ_INT(atoi(r.f[11]), pos);
            CHECK(strcmp(r.f[13], "none") == 0 && r.f[12][0] == '\0');
            CHECK(num(r.f[10]) == fused);
        }
        prev = fused;
        if (items && req < REQUESTS && pos < LIST) snprintf(items[req][pos], 16, "%s", r.f[3]);
        lines++;
    }
    CHECK_EQ_INT(lines, ROWS);
    free(text);
}

TEST(cli_rank_writes_ordered_lists_with_every_score) {
    lists l;
    if (make_lists(&l) != 0) return;
    const char *formula = "purchase * price + 0.01 * click + cart * fav * dwell";
    cli_result r;
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", formula, "--quiet");
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    CHECK_EQ_INT(r.err_len, 0);
    static char items[REQUESTS][LIST][16], again[REQUESTS][LIST][16];
    check_csv(r.out, 1, items);

    /* the same candidates with the rows in reverse order (header first): the same lists */
    char *text = strdup(r.out), *in = NULL;
    size_t in_len = 0;
    FILE *src = fopen(l.csv, "r");
    char *lines[ROWS + 1];
    int n = 0;
    char buf[4096];
    while (src && fgets(buf, sizeof buf, src) && n <= ROWS) lines[n++] = strdup(buf);
    if (src) fclose(src);
    CHECK_EQ_INT(n, ROWS + 1);
    FILE *mem = open_memstream(&in, &in_len);
    fputs(lines[0], mem);
    for (int i = n - 1; i >= 1; i--) fputs(lines[i], mem);
    fclose(mem);
    for (int i = 0; i < n; i++) free(lines[i]);
    path_buf rev;
    snprintf(rev, sizeof rev, "%s", mtr_test_write_file("reversed.csv", in, in_len));
    free(in);
    cli_result b;
    CLI_RUN(&b, NULL, "rank", "--model", l.model, "--data", rev, "--formula", formula, "--quiet");
    CHECK_MSG(b.status == 0, "exit %d: %s", b.status, b.err);
    /* requests now come in reverse order of first appearance; compare request by request */
    char *t2 = strdup(b.out), *save = NULL, *line = strtok_r(t2, "\n", &save);
    int k = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && k < ROWS) {
        row rr;
        split_line(line, &rr);
        if (rr.n == 14) snprintf(again[atoi(rr.f[0]) % REQUESTS][atoi(rr.f[1]) % LIST], 16, "%s", rr.f[3]);
        k++;
    }
    CHECK_EQ_INT(k, ROWS);
    CHECK(memcmp(items, again, sizeof items) == 0);
    free(t2);
    free(text);
    cli_result_free(&b);

    /* standard input gives the same bytes */
    CLI_RUN(&b, l.csv, "rank", "--model", l.model, "--data", "-", "--formula", formula, "--quiet");
    CHECK_MSG(b.status == 0 && b.out_len == r.out_len && memcmp(b.out, r.out, r.out_len) == 0,
              "--data - differs (exit %d: %s)", b.status, b.err);
    cli_result_free(&b);

    /* JSON lines: one object per request with every candidate and score */
    CLI_RUN(&b, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", formula, "--format", "jsonl");
    CHECK_MSG(b.status == 0, "exit %d: %s", b.status, b.err);
    CHECK_CONTAINS(b.err, "ranked 6 requests (120 candidates)");
    char *t3 = strdup(b.out);
    save = NULL;
    int reqs = 0;
    for (line = strtok_r(t3, "\n", &save); line; line = strtok_r(NULL, "\n", &save), reqs++) {
        json_error_t je;
        json_t *doc = json_loads(line, 0, &je);
        CHECK_MSG(doc != NULL, "line %d: %s", reqs + 1, je.text);
        if (!doc) continue;
        CHECK_EQ_INT(atoi(json_string_value(json_object_get(doc, "request_id"))), reqs);
        json_t *c = json_object_get(doc, "candidates");
        CHECK_EQ_INT(json_array_size(c), LIST);
        for (size_t i = 0; i < json_array_size(c); i++) {
            json_t *e = json_array_get(c, i);
            CHECK_EQ_INT(json_integer_value(json_object_get(e, "position")), (long long)i);
            CHECK(strcmp(json_string_value(json_object_get(e, "item_id")), items[reqs % REQUESTS][i % LIST]) == 0);
            json_t *sc = json_object_get(e, "scores");
            CHECK_EQ_INT(json_object_size(sc), 5);
            CHECK(json_is_number(json_object_get(sc, "purchase")) && json_is_number(json_object_get(sc, "dwell")));
            CHECK(json_is_number(json_object_get(e, "fused")) && json_is_null(json_object_get(e, "rule")));
            CHECK(strcmp(json_string_value(json_object_get(e, "reason")), "none") == 0);
        }
        json_decref(doc);
    }
    CHECK_EQ_INT(reqs, REQUESTS);
    free(t3);
    cli_result_free(&b);
    cli_result_free(&r);
}

TEST(cli_rank_rules_move_items_and_say_why) {
    lists l;
    if (make_lists(&l) != 0) return;
    path_buf rules;
    const char *text = "# boosts\nrule promote field=promotion up=2\nrule diversity key=category max=1 top=5\n";
    snprintf(rules, sizeof rules, "%s", mtr_test_write_file("boost.rules", text, strlen(text)));
    cli_result r;
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase * price ^ p", "--param",
            "p=0.5", "--rules", rules, "--quiet");
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    check_csv(r.out, 0, NULL);
    int promoted = 0, diverse = 0;
    char *t = strdup(r.out), *save = NULL, *line = strtok_r(t, "\n", &save);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        row rr;
        split_line(line, &rr);
        if (rr.n != 14) continue;
        int pos = atoi(rr.f[1]), fpos = atoi(rr.f[11]);
        if (strcmp(rr.f[13], "up") == 0) {
            promoted++;
            CHECK(strcmp(rr.f[12], "rule promote field=promotion up=2") == 0);
        } else if (strcmp(rr.f[13], "diversity") == 0) {
            diverse++;
            CHECK(strcmp(rr.f[12], "rule diversity key=category max=1 top=5") == 0);
            CHECK_MSG(pos > fpos, "pushed down by diversity: position %d, fused position %d", pos, fpos);
        } else {
            CHECK(strcmp(rr.f[13], "none") == 0 && rr.f[12][0] == '\0');
        }
    }
    free(t);
    /* seed 3's 120 candidates hold promoted items (10 %) and repeated categories */
    CHECK_MSG(promoted > 0 && diverse > 0, "%d promoted, %d pushed down by diversity", promoted, diverse);
    cli_result_free(&r);
}

TEST(cli_rank_errors_name_position_line_and_column) {
    lists l;
    if (make_lists(&l) != 0) return;
    cli_result r;
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase * prize");
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "formula:1:12: unknown variable 'prize'");
    CHECK_CONTAINS(r.err, "did you mean 'price'?");
    CHECK_EQ_INT(r.out_len, 0);
    cli_result_free(&r);

    path_buf rules, ffile;
    const char *text = "rule low_quality drop\nrule promote field=promotion factr=2\n";
    snprintf(rules, sizeof rules, "%s", mtr_test_write_file("bad.rules", text, strlen(text)));
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase", "--rules", rules);
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "bad.rules:2: rule promote: unknown key 'factr'");
    cli_result_free(&r);

    snprintf(ffile, sizeof ffile, "%s", mtr_test_write_file("f.formula", "click *\n  (cart + )", 19));
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula-file", ffile);
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "f.formula: formula:2:11: expected a number, a name or '(' but found ')'");
    cli_result_free(&r);

    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase", "--request-id", "session");
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "cands.csv: no request-id column 'session' (columns: request_id, position_logged,");
    cli_result_free(&r);

    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase", "--max-candidates", "19");
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "request '0' has 20 candidates, more than --max-candidates 19");
    cli_result_free(&r);

    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv);
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "the models give 5 scores: combine them with --formula (variables: click, cart, fav, "
                          "purchase, dwell, price, age_days, promotion, low_quality)");
    cli_result_free(&r);

    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", l.csv, "--formula", "purchase", "--param", "alpha");
    CHECK_EQ_INT(r.status, 2);
    CHECK_CONTAINS(r.err, "--param: expected name=number, got 'alpha'");
    cli_result_free(&r);

    /* a bad number in a field the formula may read names the line and the column */
    char *csv = NULL;
    size_t len = 0;
    FILE *src = fopen(l.csv, "r"), *mem = open_memstream(&csv, &len);
    char buf[4096];
    for (int i = 0; src && fgets(buf, sizeof buf, src); i++) {
        if (i == 3) { /* data line 3 (file line 4): its price (column 18) becomes "cheap" */
            char *p = buf;
            for (int c = 0; c < 17 && p; c++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
            char *e = p ? strchr(p, ',') : NULL;
            if (p && e) {
                fwrite(buf, 1, (size_t)(p - buf), mem);
                fputs("cheap", mem);
                fputs(e, mem);
                continue;
            }
        }
        fputs(buf, mem);
    }
    if (src) fclose(src);
    fclose(mem);
    path_buf badcsv;
    snprintf(badcsv, sizeof badcsv, "%s", mtr_test_write_file("badprice.csv", csv, len));
    free(csv);
    CLI_RUN(&r, NULL, "rank", "--model", l.model, "--data", badcsv, "--formula", "purchase");
    CHECK_EQ_INT(r.status, 1);
    CHECK_CONTAINS(r.err, "badprice.csv: line 4: column 'price': not a number: 'cheap'");
    cli_result_free(&r);
}

TEST(cli_experiment_multiobjective_tiny) {
    char dir[PATH_MAX], rules[PATH_MAX + 64];
    if (!realpath(mtr_test_data_dir(), dir)) {
        CHECK_MSG(0, "data directory %s not found", mtr_test_data_dir());
        return;
    }
    snprintf(rules, sizeof rules, "%s/multiobjective/default.rules", dir);
    path_buf cache, report;
    put(cache, "mo-cache");
    put(report, "mo-report");
    cli_result r;
    CLI_RUN(&r, NULL, "experiment", "multiobjective", "--requests", "120", "--valid-requests", "40",
            "--test-requests", "40", "--list-length", "20", "--users", "500", "--items", "1000", "--epochs", "1",
            "--runs", "2", "--trees", "5", "--budget", "4", "--embedding", "2", "--units", "4", "--experts", "2",
            "--expert-units", "4", "--towers", "4", "--jobs", "2", "--rules", rules, "--cache", cache, "--report",
            report, "--json");
    CHECK_MSG(r.status == 0, "exit %d: %s", r.status, r.err);
    json_error_t je;
    json_t *doc = json_loads(r.out, 0, &je);
    CHECK_MSG(doc != NULL, "JSON: %s", je.text);
    cli_result_free(&r);
    if (!doc) return;
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "runs")), 2);
    json_t *res = json_object_get(doc, "results");
    static const char *const names[] = {"per-objective", "per-objective+rules", "bpr", "bpr+rules", "lambdamart",
                                        "lambdamart+rules", "mmoe", "mmoe+rules", "logged", "oracle-gmv"};
    CHECK_EQ_INT(json_array_size(res), 10);
    double oracle_gmv = NAN, best_gmv = 0;
    for (size_t i = 0; i < json_array_size(res) && i < 10; i++) {
        json_t *e = json_array_get(res, i);
        CHECK_MSG(strcmp(json_string_value(json_object_get(e, "name")), names[i]) == 0, "result %zu: %s", i,
                  json_string_value(json_object_get(e, "name")));
        json_t *nd = json_object_get(e, "ndcg_at_10");
        static const char *const obj[] = {"click", "cart", "fav", "purchase", "dwell"};
        for (int o = 0; o < 5; o++) {
            double v = json_real_value(json_object_get(nd, obj[o]));
            CHECK_MSG(v > 0 && v <= 1.0 + 1e-9, "%s NDCG %s = %g", names[i], obj[o], v);
        }
        double gmv = json_real_value(json_object_get(e, "gmv_at_10"));
        double cats = json_real_value(json_object_get(e, "categories_at_10"));
        double shown = json_real_value(json_object_get(e, "shown_at_10"));
        CHECK_MSG(gmv > 0, "%s GMV %g", names[i], gmv);
        CHECK_MSG(cats >= 1 && cats <= 10, "%s categories %g", names[i], cats);
        CHECK_MSG(shown > 9 && shown <= 10, "%s shown %g", names[i], shown);
        int with_rules = json_is_true(json_object_get(e, "rules"));
        CHECK_EQ_INT(with_rules, i < 8 && i % 2 == 1);
        /* the rules drop every low-quality item */
        if (with_rules) CHECK(json_real_value(json_object_get(e, "low_quality_at_10")) == 0);
        if (i < 8) {
            CHECK(json_integer_value(json_object_get(e, "parameters")) > 0);
            CHECK(json_real_value(json_object_get(e, "model_us_per_1000")) > 0);
            CHECK(json_object_get(e, "sd") != NULL);
            if (gmv > best_gmv) best_gmv = gmv;
        } else if (i == 9) {
            oracle_gmv = gmv;
        }
    }
    /* nothing beats sorting by the true expected GMV */
    CHECK_MSG(oracle_gmv >= best_gmv, "oracle GMV %g, best strategy %g", oracle_gmv, best_gmv);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "per_run")), 2);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "fusion")), 4); /* 2 runs x (per-objective, mmoe) */
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "rules")), 5);
    CHECK_EQ_INT(json_array_size(json_object_get(doc, "rule_ablation")), 12);
    json_decref(doc);
    static const char *const files[] = {"README.md", "results.csv", "gmv_vs_diversity.svg", "ndcg_per_objective.svg"};
    for (int i = 0; i < 4; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", report, files[i]);
        CHECK_MSG(access(p, R_OK) == 0, "missing %s", p);
    }
}
