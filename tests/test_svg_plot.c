/* test_svg_plot.c - the report writers (src/report): SVG line charts and histograms are parsed back by a
 * small XML checker (tags balanced and properly nested, attributes quoted, no stray '<' or '&') and
 * checked for the series names, axis labels, tick labels and the number of points or samples drawn;
 * bad input gives a message naming the chart; the CSV writer quotes, leaves NaN empty and refuses
 * ragged rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/csv_writer.h"
#include "report/svg_plot.h"
#include "test.h"

/* ---------------------------------------------------------------- a small XML well-formedness check */

/* Returns the number of elements, or -1 (with the offset of the problem in *where) when the text is not
 * well-formed: every tag closed in order, attributes name="value", text free of '<' and of '&' that does
 * not start one of the five entities. Enough for the SVG we write (no CDATA, no DOCTYPE). */
static int xml_check(const char *s, size_t *where) {
    const char *stack[256];
    size_t stack_len[256];
    int depth = 0, elements = 0;
    const char *p = s;
    while (*p) {
        if (*p == '&') {
            static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (int k = 0; k < 5; k++) ok |= strncmp(p, ent[k], strlen(ent[k])) == 0;
            if (!ok) goto bad;
            p++;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (p[1] == '?') { /* declaration */
            const char *e = strstr(p, "?>");
            if (!e || p != s) goto bad;
            p = e + 2;
            continue;
        }
        if (p[1] == '/') { /* closing tag */
            const char *name = p + 2;
            size_t n = strcspn(name, "> \t\n");
            if (depth == 0 || n != stack_len[depth - 1] || strncmp(name, stack[depth - 1], n) != 0) goto bad;
            depth--;
            p = strchr(name, '>');
            if (!p) goto bad;
            p++;
            continue;
        }
        const char *name = p + 1;
        size_t n = strcspn(name, "/> \t\n");
        if (n == 0) goto bad;
        p = name + n;
        for (;;) { /* attributes */
            while (*p == ' ' || *p == '\t' || *p == '\n') p++;
            if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
            size_t an = strcspn(p, "= \t\n>");
            if (an == 0 || p[an] != '=' || p[an + 1] != '"') goto bad;
            const char *v = p + an + 2, *e = strchr(v, '"');
            if (!e || memchr(v, '<', (size_t)(e - v))) goto bad;
            for (const char *q = v; q < e; q++)
                if (*q == '&' && strncmp(q, "&amp;", 5) && strncmp(q, "&lt;", 4) && strncmp(q, "&gt;", 4) &&
                    strncmp(q, "&quot;", 6) && strncmp(q, "&apos;", 6))
                    goto bad;
            p = e + 1;
        }
        elements++;
        if (*p == '/') {
            p += 2;
            continue;
        }
        if (depth == 256) goto bad;
        stack[depth] = name;
        stack_len[depth++] = n;
        p++;
    }
    if (depth != 0) goto bad;
    return elements;
bad:
    *where = (size_t)(p - s);
    return -1;
}

static int count_of(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The <g class="series"> element whose data-name is `name` (escaped form), up to its </g>, copied. */
static char *series_group(const char *svg, const char *name) {
    char key[256];
    snprintf(key, sizeof key, "<g class=\"series\" data-name=\"%s\"", name);
    const char *a = strstr(svg, key);
    if (!a) return NULL;
    const char *e = strstr(a, "</g>");
    if (!e) return NULL;
    size_t n = (size_t)(e - a);
    char *out = malloc(n + 1);
    memcpy(out, a, n);
    out[n] = '\0';
    return out;
}

/* Coordinate pairs in every polyline of a group; all must lie inside [0, w] x [0, h]. */
static int polyline_points(const char *group, double w, double h, int *outside) {
    int n = 0;
    for (const char *p = group; (p = strstr(p, " points=\"")); ) { /* not data-points */
        p += 9;
        while (*p && *p != '"') {
            char *end;
            double x = strtod(p, &end);
            if (end == p || *end != ',') return -1;
            double y = strtod(end + 1, &end);
            if (!(x >= 0 && x <= w && y >= 0 && y <= h)) (*outside)++;
            n++;
            p = end;
            while (*p == ' ') p++;
        }
    }
    return n;
}

/* ---------------------------------------------------------------- line charts */

TEST(svg_line_chart_is_well_formed_with_names_labels_and_points) {
    double x[7] = {0, 1, 2, 3, 4, 5, 6};
    double a[5] = {1.0, 0.5, 0.25, 0.2, 0.1};
    double b[7] = {2.0, 1.5, NAN, 0.7, 0.6, INFINITY, 0.4}; /* two gaps: 5 drawable points, 3 pieces */
    double c[4] = {0.3, 0.3, 0.3, 0.3};
    mtr_plot_series s[3] = {
        {"Shared-Bottom", x, a, 5},
        {"A & <B> \"quoted\"", x, b, 7},
        {"index x", NULL, c, 4},
    };
    mtr_plot_options o = {"Loss <curves>", "training step", "loss (MSE)", 0, 0, 0, 1, 0};
    mtr_error err;
    char *svg = mtr_svg_line_chart(&o, s, 3, &err);
    CHECK_MSG(svg != NULL, "%s", err.message);
    if (!svg) return;
    size_t where = 0;
    int elements = xml_check(svg, &where);
    CHECK_MSG(elements > 20, "not well-formed at byte %zu: ...%.60s", where, svg + where);
    CHECK(strncmp(svg, "<?xml", 5) == 0);
    CHECK_CONTAINS(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"460\"");
    CHECK_CONTAINS(svg, "<text class=\"title\"");
    CHECK_CONTAINS(svg, "Loss &lt;curves&gt;");
    CHECK_CONTAINS(svg, ">training step</text>");
    CHECK_CONTAINS(svg, ">loss (MSE)</text>");
    CHECK_CONTAINS(svg, "rotate(-90");
    /* legend: every name once as text */
    CHECK_EQ_INT(count_of(svg, ">Shared-Bottom</text>"), 1);
    CHECK_EQ_INT(count_of(svg, ">A &amp; &lt;B&gt; &quot;quoted&quot;</text>"), 1);
    CHECK_EQ_INT(count_of(svg, ">index x</text>"), 1);
    /* points per series, and pieces where values are missing */
    int outside = 0;
    char *g = series_group(svg, "Shared-Bottom");
    CHECK(g && polyline_points(g, 760, 460, &outside) == 5);
    CHECK(g && strstr(g, "data-points=\"5\""));
    CHECK(g && count_of(g, "<circle") == 5); /* markers on */
    free(g);
    g = series_group(svg, "A &amp; &lt;B&gt; &quot;quoted&quot;");
    CHECK(g && polyline_points(g, 760, 460, &outside) == 5);
    CHECK(g && count_of(g, "<polyline") == 3);
    free(g);
    g = series_group(svg, "index x");
    CHECK(g && polyline_points(g, 760, 460, &outside) == 4);
    free(g);
    CHECK_EQ_INT(outside, 0);
    /* x axis 0..6 gets integer ticks, y axis 0..2 ticks with one decimal */
    CHECK_CONTAINS(svg, ">6</text>");
    CHECK_CONTAINS(svg, ">0.5</text>");
    CHECK_CONTAINS(svg, ">2.0</text>");
    CHECK(strstr(svg, "</svg>\n") == svg + strlen(svg) - 7);
    free(svg);
}

TEST(svg_line_chart_log_axis_has_decade_ticks_and_skips_non_positive) {
    double x[6] = {10, 20, 30, 40, 50, 60};
    double y[6] = {8.0, 1.0, 0.0, 0.3, -1.0, 0.012};
    mtr_plot_series s = {"mmoe", x, y, 6};
    mtr_plot_options o = {"log", "step", "loss", 500, 300, 1, 0, 0};
    mtr_error err;
    char *svg = mtr_svg_line_chart(&o, &s, 1, &err);
    CHECK_MSG(svg != NULL, "%s", err.message);
    if (!svg) return;
    size_t where;
    CHECK(xml_check(svg, &where) > 0);
    CHECK_CONTAINS(svg, "width=\"500\" height=\"300\"");
    CHECK_CONTAINS(svg, ">0.01</text>");
    CHECK_CONTAINS(svg, ">0.1</text>");
    CHECK_CONTAINS(svg, ">1</text>");
    CHECK_CONTAINS(svg, ">10</text>");
    int outside = 0;
    char *g = series_group(svg, "mmoe");
    CHECK(g && polyline_points(g, 500, 300, &outside) == 4); /* 0 and -1 are not on a log axis */
    CHECK(g && strstr(g, "data-points=\"4\""));
    CHECK_EQ_INT(outside, 0);
    free(g);
    free(svg);
}

TEST(svg_line_chart_rejects_bad_input_with_a_message) {
    double y[2] = {NAN, INFINITY};
    mtr_plot_series s = {"empty", NULL, y, 2};
    mtr_plot_options o = {"My chart", NULL, NULL, 0, 0, 0, 0, 0};
    mtr_error err;
    CHECK(mtr_svg_line_chart(&o, &s, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "line chart 'My chart': no drawable point");
    CHECK(mtr_svg_line_chart(&o, &s, 0, &err) == NULL);
    CHECK_CONTAINS(err.message, "0 series");
    mtr_plot_series unnamed = {"", NULL, y, 2};
    CHECK(mtr_svg_line_chart(&o, &unnamed, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "series 1 has no name");
    mtr_plot_series novalues = {"v", NULL, NULL, 3};
    CHECK(mtr_svg_line_chart(&o, &novalues, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "series 'v' has no values");
    double ok[1] = {1.0};
    mtr_plot_series one = {"one", NULL, ok, 1};
    o.width = 100;
    CHECK(mtr_svg_line_chart(&o, &one, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "size 100 x 0");
    o.width = 0;
    /* a single point is a valid chart (the axis widens around it) */
    char *svg = mtr_svg_line_chart(&o, &one, 1, &err);
    size_t where;
    CHECK(svg && xml_check(svg, &where) > 0);
    free(svg);
    o.log_y = 1;
    double neg[1] = {-2.0};
    mtr_plot_series n1 = {"neg", NULL, neg, 1};
    CHECK(mtr_svg_line_chart(&o, &n1, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "log axis");
}

/* ---------------------------------------------------------------- histograms */

/* Sum of the counts in the bars' tooltips "name: count in [a, b)" of one series group. */
static long histogram_total(const char *group, int *bars) {
    long total = 0;
    *bars = 0;
    for (const char *p = group; (p = strstr(p, "<title>")); p += 7) {
        const char *colon = strstr(p, ": ");
        if (!colon) break;
        total += strtol(colon + 2, NULL, 10);
        (*bars)++;
    }
    return total;
}

TEST(svg_histogram_counts_every_finite_sample_per_series) {
    double a[200], b[150];
    for (int i = 0; i < 200; i++) a[i] = 0.02 + 0.001 * (i % 37);
    for (int i = 0; i < 150; i++) b[i] = 0.03 + 0.002 * (i % 23);
    b[7] = NAN; /* skipped */
    mtr_plot_series s[2] = {{"omoe", NULL, a, 200}, {"mmoe", NULL, b, 150}};
    mtr_plot_options o = {"Final loss, P = 0.5", "final loss", "runs", 0, 0, 0, 0, 12};
    mtr_error err;
    char *svg = mtr_svg_histogram(&o, s, 2, &err);
    CHECK_MSG(svg != NULL, "%s", err.message);
    if (!svg) return;
    size_t where = 0;
    int el = xml_check(svg, &where);
    CHECK_MSG(el > 0, "not well-formed at byte %zu: ...%.60s", where, svg + where);
    CHECK_CONTAINS(svg, ">final loss</text>");
    CHECK_CONTAINS(svg, ">runs</text>");
    CHECK_CONTAINS(svg, "Final loss, P = 0.5");
    int bars;
    char *g = series_group(svg, "omoe");
    CHECK(g && strstr(g, "data-samples=\"200\""));
    CHECK(g && histogram_total(g, &bars) == 200);
    CHECK(bars >= 1 && bars <= 12);
    free(g);
    g = series_group(svg, "mmoe");
    CHECK(g && strstr(g, "data-samples=\"149\""));
    CHECK(g && histogram_total(g, &bars) == 149);
    CHECK(bars >= 1 && bars <= 12);
    free(g);
    /* legend swatches and names */
    CHECK_EQ_INT(count_of(svg, ">omoe</text>"), 1);
    CHECK_EQ_INT(count_of(svg, ">mmoe</text>"), 1);
    free(svg);

    /* all samples equal: one bar holding all of them */
    double same[5] = {0.5, 0.5, 0.5, 0.5, 0.5};
    mtr_plot_series one = {"const", NULL, same, 5};
    o.bins = 0;
    svg = mtr_svg_histogram(&o, &one, 1, &err);
    CHECK(svg && xml_check(svg, &where) > 0);
    g = svg ? series_group(svg, "const") : NULL;
    CHECK(g && histogram_total(g, &bars) == 5 && bars == 1);
    free(g);
    free(svg);

    /* errors */
    double none[2] = {NAN, NAN};
    mtr_plot_series empty = {"e", NULL, none, 2};
    CHECK(mtr_svg_histogram(&o, &empty, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "histogram 'Final loss, P = 0.5': no finite sample");
    o.bins = -3;
    CHECK(mtr_svg_histogram(&o, &one, 1, &err) == NULL);
    CHECK_CONTAINS(err.message, "-3 bins");
}

TEST(svg_text_file_save_writes_the_text) {
    const char *path = mtr_test_path("plot.svg");
    mtr_error err;
    CHECK(mtr_text_file_save(path, "<svg/>\n", &err) == 0);
    FILE *f = fopen(path, "rb");
    char buf[32] = {0};
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) == 7);
    if (f) fclose(f);
    CHECK(strcmp(buf, "<svg/>\n") == 0);
    CHECK(mtr_text_file_save("/nonexistent-dir/x.svg", "x", &err) == -1);
    CHECK_CONTAINS(err.message, "/nonexistent-dir/x.svg");
}

/* ---------------------------------------------------------------- CSV */

TEST(csv_writer_quotes_and_refuses_ragged_rows) {
    const char *path = mtr_test_path("t.csv");
    static const char *const header[] = {"name", "value", "count"};
    mtr_csv c;
    mtr_error err;
    CHECK(mtr_csv_open(&c, path, header, 3, &err) == 0);
    mtr_csv_text(&c, "plain");
    mtr_csv_double(&c, 0.1);
    mtr_csv_int(&c, -7);
    CHECK(mtr_csv_end_row(&c, &err) == 0);
    mtr_csv_text(&c, "a,\"b\"");
    mtr_csv_double(&c, NAN);
    mtr_csv_u64(&c, UINT64_MAX);
    CHECK(mtr_csv_end_row(&c, &err) == 0);
    mtr_csv_text(&c, "short");
    CHECK(mtr_csv_end_row(&c, &err) == -1);
    CHECK_CONTAINS(err.message, "row 3 has 1 fields, the header has 3");
    mtr_csv_double(&c, 1.0);
    mtr_csv_double(&c, 2.0);
    CHECK(mtr_csv_end_row(&c, &err) == 0);
    CHECK(mtr_csv_close(&c, &err) == 0);
    FILE *f = fopen(path, "rb");
    char buf[256] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    CHECK(n > 0);
    CHECK(strcmp(buf, "name,value,count\n"
                      "plain,0.10000000000000001,-7\n"
                      "\"a,\"\"b\"\"\",,18446744073709551615\n"
                      "short,1,2\n") == 0);
    /* an unfinished last row is an error and leaves no file */
    const char *p2 = mtr_test_path("u.csv");
    CHECK(mtr_csv_open(&c, p2, header, 3, &err) == 0);
    mtr_csv_text(&c, "x");
    CHECK(mtr_csv_close(&c, &err) == -1);
    CHECK_CONTAINS(err.message, "not finished");
    CHECK(fopen(p2, "rb") == NULL);
}
