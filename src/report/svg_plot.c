/* svg_plot.c - line charts and histograms as SVG text; see svg_plot.h.
 *
 * Layout (pixels): the title on top, the plot area in the middle with the y axis on its left and the x
 * axis below, the legend to the right of the plot area so it never hides data. Coordinates are
 * printed with one decimal; the text grows in a buffer that doubles, so a chart of n points costs O(n).
 * Axis ranges are widened to "nice" tick values (1, 2, 5 x 10^k) so the ticks sit on the frame. */
#include "report/svg_plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/error.h"

#define DEFAULT_WIDTH 760
#define DEFAULT_HEIGHT 460
#define DEFAULT_BINS 30
#define MAX_BINS 10000
#define MAX_TICKS 32

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};
#define PALETTE_SIZE (int)(sizeof palette / sizeof palette[0])

/* ---------------------------------------------------------------- growing text */

typedef struct text_buf {
    char *p;    /* NUL-terminated text */
    size_t len; /* bytes used, without the NUL */
    size_t cap; /* bytes allocated */
    int oom;    /* an allocation failed; everything after is dropped */
} text_buf;

static int tb_init(text_buf *b) {
    b->len = 0;
    b->cap = 8192;
    b->oom = 0;
    b->p = malloc(b->cap);
    if (!b->p) return -1;
    b->p[0] = '\0';
    return 0;
}

static int tb_reserve(text_buf *b, size_t more) {
    if (b->oom) return -1;
    if (b->len + more < b->cap) return 0;
    size_t cap = b->cap;
    while (b->len + more >= cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void tb_printf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(text_buf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (tb_reserve(b, (size_t)n + 1) != 0) return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Text content or attribute value with the five XML specials escaped. */
static void tb_escaped(text_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': tb_printf(b, "&amp;"); break;
        case '<': tb_printf(b, "&lt;"); break;
        case '>': tb_printf(b, "&gt;"); break;
        case '"': tb_printf(b, "&quot;"); break;
        case '\'': tb_printf(b, "&apos;"); break;
        default:
            if (tb_reserve(b, 2) == 0) {
                b->p[b->len++] = *s;
                b->p[b->len] = '\0';
            }
        }
    }
}

/* ---------------------------------------------------------------- axes */

typedef struct axis {
    double lo, hi;             /* range mapped onto the pixels; log10 of the values on a log axis */
    int log;                   /* logarithmic */
    double step;               /* linear: tick spacing, decides the labels' decimals */
    int n_ticks;               /* entries in ticks */
    double ticks[MAX_TICKS];   /* tick positions in axis units */
} axis;

static double nice_step(double raw) {
    double e = pow(10.0, floor(log10(raw))), f = raw / e;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * e;
}

/* Ticks every nice step within [lo, hi]; with `expand` the range grows to the enclosing ticks. */
static void axis_linear(axis *a, double lo, double hi, int expand) {
    if (!(hi > lo)) {
        double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d;
        hi += d;
    }
    double step = nice_step((hi - lo) / 6.0);
    if (expand) {
        lo = floor(lo / step + 1e-9) * step;
        hi = ceil(hi / step - 1e-9) * step;
    }
    memset(a, 0, sizeof *a);
    a->lo = lo;
    a->hi = hi;
    a->step = step;
    double first = ceil(lo / step - 1e-9);
    for (int i = 0; a->n_ticks < MAX_TICKS; i++) {
        double t = (first + i) * step;
        if (t > hi + step * 1e-9) break;
        if (fabs(t) < step * 1e-9) t = 0.0; /* no "-0" or 1e-17 label */
        a->ticks[a->n_ticks++] = t;
    }
}

/* A log axis over [lo, hi] (both > 0), widened to the nearest 1, 2 or 5 x 10^k; ticks on those values
 * when the range spans under about three decades, else on the decades only (thinned to fit). */
static void axis_log(axis *a, double lo, double hi) {
    if (!(hi > lo)) {
        lo /= 2.0;
        hi *= 2.0;
    }
    static const double mult[3] = {1.0, 2.0, 5.0};
    double L = log10(lo), H = log10(hi);
    double lo_nice = pow(10.0, floor(L)), hi_nice = pow(10.0, ceil(H));
    for (int k = 2; k >= 0; k--)
        if (mult[k] * pow(10.0, floor(L)) <= lo * (1 + 1e-12)) {
            lo_nice = mult[k] * pow(10.0, floor(L));
            break;
        }
    for (int k = 0; k < 3; k++)
        if (mult[k] * pow(10.0, floor(H)) >= hi * (1 - 1e-12)) {
            hi_nice = mult[k] * pow(10.0, floor(H));
            break;
        }
    memset(a, 0, sizeof *a);
    a->log = 1;
    a->lo = log10(lo_nice);
    a->hi = log10(hi_nice);
    int d0 = (int)floor(a->lo + 1e-9), d1 = (int)ceil(a->hi - 1e-9);
    int only_decades = a->hi - a->lo >= 2.9, every = (d1 - d0) / (MAX_TICKS / 2) + 1;
    for (int d = d0; d <= d1 && a->n_ticks < MAX_TICKS; d++)
        for (int k = 0; k < 3; k++) {
            if (only_decades && (k > 0 || (d - d0) % every != 0)) continue;
            double t = log10(mult[k]) + d;
            if (t >= a->lo - 1e-9 && t <= a->hi + 1e-9 && a->n_ticks < MAX_TICKS) a->ticks[a->n_ticks++] = t;
        }
}

static void format_tick(const axis *a, double t, char *out, size_t n) {
    if (a->log) {
        snprintf(out, n, "%g", pow(10.0, t));
        return;
    }
    double big = fmax(fabs(a->lo), fabs(a->hi));
    if (big >= 1e6 || a->step < 1e-6) {
        snprintf(out, n, "%g", t);
        return;
    }
    int decimals = a->step >= 1.0 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    snprintf(out, n, "%.*f", decimals, t);
}

/* ---------------------------------------------------------------- frame */

typedef struct frame {
    int width, height;       /* whole picture */
    double x0, x1, y0, y1;   /* plot area: x0 left, x1 right, y0 top, y1 bottom */
    axis ax, ay;             /* the two axes */
} frame;

static double px(const frame *f, double v) { return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0); }
static double py(const frame *f, double v) { return f->y1 - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0); }

static int check_input(const char *kind, const mtr_plot_options *opt, const mtr_plot_series *s, int n_series,
                       mtr_error *err) {
    const char *title = opt && opt->title ? opt->title : "(untitled)";
    if (!opt) return mtr_fail(err, "%s: no options given", kind);
    if (n_series < 1 || n_series > MTR_PLOT_MAX_SERIES || !s)
        return mtr_fail(err, "%s '%s': %d series (expected 1 to %d)", kind, title, n_series, MTR_PLOT_MAX_SERIES);
    if ((opt->width && opt->width < 240) || (opt->height && opt->height < 180) || opt->width < 0 ||
        opt->height < 0 || opt->width > 20000 || opt->height > 20000)
        return mtr_fail(err, "%s '%s': size %d x %d (expected 240..20000 x 180..20000, or 0 for the default)",
                        kind, title, opt->width, opt->height);
    for (int i = 0; i < n_series; i++) {
        if (!s[i].name || !s[i].name[0]) return mtr_fail(err, "%s '%s': series %d has no name", kind, title, i + 1);
        if (s[i].n > 0 && !s[i].y) return mtr_fail(err, "%s '%s': series '%s' has no values", kind, title, s[i].name);
    }
    return 0;
}

static int legend_width(const mtr_plot_series *s, int n_series) {
    size_t longest = 0;
    for (int i = 0; i < n_series; i++) longest = strlen(s[i].name) > longest ? strlen(s[i].name) : longest;
    int w = 44 + 7 * (int)longest;
    return w < 110 ? 110 : w > 280 ? 280 : w;
}

static void frame_layout(frame *f, const mtr_plot_options *opt, const mtr_plot_series *s, int n_series) {
    f->width = opt->width ? opt->width : DEFAULT_WIDTH;
    f->height = opt->height ? opt->height : DEFAULT_HEIGHT;
    f->x0 = 78;
    f->x1 = f->width - 16 - legend_width(s, n_series);
    if (f->x1 < f->x0 + 80) f->x1 = f->x0 + 80;
    f->y0 = opt->title ? 44 : 20;
    f->y1 = f->height - 56;
}

static void svg_begin(text_buf *b, const frame *f, const mtr_plot_options *opt, const char *kind) {
    tb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    tb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\" class=\"%s\">\n",
              f->width, f->height, f->width, f->height, kind);
    tb_printf(b, "<title>");
    tb_escaped(b, opt->title ? opt->title : kind);
    tb_printf(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", f->width, f->height);
    tb_printf(b, "<defs><clipPath id=\"plot-area\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                 "</clipPath></defs>\n", f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    if (opt->title) {
        tb_printf(b, "<text class=\"title\" x=\"%.1f\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" "
                     "font-weight=\"bold\">", (f->x0 + f->x1) / 2);
        tb_escaped(b, opt->title);
        tb_printf(b, "</text>\n");
    }
}

/* Grid lines, frame, ticks with labels and the axis labels. */
static void svg_axes(text_buf *b, const frame *f, const mtr_plot_options *opt) {
    char label[64];
    tb_printf(b, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (int i = 0; i < f->ax.n_ticks; i++)
        tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(f, f->ax.ticks[i]), f->y0,
                  px(f, f->ax.ticks[i]), f->y1);
    for (int i = 0; i < f->ay.n_ticks; i++)
        tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0, py(f, f->ay.ticks[i]), f->x1,
                  py(f, f->ay.ticks[i]));
    tb_printf(b, "</g>\n<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n");
    tb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>\n", f->x0, f->y0,
              f->x1 - f->x0, f->y1 - f->y0);
    for (int i = 0; i < f->ax.n_ticks; i++)
        tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(f, f->ax.ticks[i]), f->y1,
                  px(f, f->ax.ticks[i]), f->y1 + 5);
    for (int i = 0; i < f->ay.n_ticks; i++)
        tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0 - 5, py(f, f->ay.ticks[i]), f->x0,
                  py(f, f->ay.ticks[i]));
    tb_printf(b, "</g>\n<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#333333\">\n");
    for (int i = 0; i < f->ax.n_ticks; i++) {
        format_tick(&f->ax, f->ax.ticks[i], label, sizeof label);
        tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", px(f, f->ax.ticks[i]), f->y1 + 19, label);
    }
    tb_printf(b, "</g>\n<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#333333\">\n");
    for (int i = 0; i < f->ay.n_ticks; i++) {
        format_tick(&f->ay, f->ay.ticks[i], label, sizeof label);
        tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", f->x0 - 8, py(f, f->ay.ticks[i]) + 4, label);
    }
    tb_printf(b, "</g>\n");
    if (opt->x_label) {
        tb_printf(b, "<text class=\"x-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (f->x0 + f->x1) / 2,
                  f->y1 + 42);
        tb_escaped(b, opt->x_label);
        tb_printf(b, "</text>\n");
    }
    if (opt->y_label) {
        double x = 18, y = (f->y0 + f->y1) / 2;
        tb_printf(b, "<text class=\"y-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                     "transform=\"rotate(-90 %.1f %.1f)\">", x, y, x, y);
        tb_escaped(b, opt->y_label);
        tb_printf(b, "</text>\n");
    }
}

/* Legend right of the plot area: a line (or a swatch for histograms) and the name per series. */
static void svg_legend(text_buf *b, const frame *f, const mtr_plot_series *s, int n_series, int swatch) {
    double x = f->x1 + 14, y = f->y0 + 6;
    tb_printf(b, "<g class=\"legend\">\n");
    for (int i = 0; i < n_series; i++, y += 20) {
        const char *c = palette[i % PALETTE_SIZE];
        if (swatch)
            tb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"11\" fill=\"%s\" fill-opacity=\"0.35\" "
                         "stroke=\"%s\"/>\n", x, y + 1, c, c);
        else
            tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
                      x, y + 6, x + 22, y + 6, c);
        tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", x + 28, y + 10);
        tb_escaped(b, s[i].name);
        tb_printf(b, "</text>\n");
    }
    tb_printf(b, "</g>\n");
}

static char *svg_finish(text_buf *b, const char *kind, const mtr_plot_options *opt, mtr_error *err) {
    tb_printf(b, "</svg>\n");
    if (b->oom) {
        free(b->p);
        mtr_fail(err, "%s '%s': out of memory", kind, opt->title ? opt->title : "(untitled)");
        return NULL;
    }
    return b->p;
}

/* ---------------------------------------------------------------- line chart */

static double point_x(const mtr_plot_series *s, size_t i) { return s->x ? s->x[i] : (double)i; }

static int drawable(const mtr_plot_options *opt, double x, double y) {
    return isfinite(x) && isfinite(y) && (!opt->log_y || y > 0.0);
}

char *mtr_svg_line_chart(const mtr_plot_options *opt, const mtr_plot_series *series, int n_series,
                         mtr_error *err) {
    if (check_input("line chart", opt, series, n_series, err) != 0) return NULL;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    size_t n_points = 0;
    for (int k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = point_x(&series[k], i), y = series[k].y[i];
            if (!drawable(opt, x, y)) continue;
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
            n_points++;
        }
    if (n_points == 0) {
        mtr_fail(err, "line chart '%s': no drawable point (every x or y is missing, infinite%s)",
                 opt->title ? opt->title : "(untitled)", opt->log_y ? " or <= 0 on the log axis" : "");
        return NULL;
    }
    frame f;
    frame_layout(&f, opt, series, n_series);
    /* x: ticks inside the data's range (steps 20..1560 should not run to 2000), from 0 when it is near */
    if (xmin >= 0.0 && xmin <= 0.05 * (xmax - xmin)) xmin = 0.0;
    if (opt->markers) { /* room for the dots: none cut in half by the frame */
        double px = 0.03 * (xmax - xmin), py = 0.03 * (ymax - ymin);
        if (xmin != 0.0) xmin -= px;
        xmax += px;
        if (!opt->log_y) {
            ymin -= py;
            ymax += py;
        }
    }
    axis_linear(&f.ax, xmin, xmax, 0);
    if (opt->log_y) axis_log(&f.ay, ymin, ymax);
    else axis_linear(&f.ay, ymin, ymax, 1);
    text_buf b;
    if (tb_init(&b) != 0) {
        mtr_fail(err, "line chart: out of memory");
        return NULL;
    }
    svg_begin(&b, &f, opt, "line-chart");
    svg_axes(&b, &f, opt);
    for (int k = 0; k < n_series; k++) {
        const mtr_plot_series *s = &series[k];
        const char *c = palette[k % PALETTE_SIZE];
        size_t shown = 0;
        for (size_t i = 0; i < s->n; i++) shown += drawable(opt, point_x(s, i), s->y[i]);
        tb_printf(&b, "<g class=\"series\" data-name=\"");
        tb_escaped(&b, s->name);
        tb_printf(&b, "\" data-points=\"%zu\" clip-path=\"url(#plot-area)\">\n", shown);
        int open = 0;
        for (size_t i = 0; i < s->n; i++) {
            double x = point_x(s, i), y = s->y[i];
            if (!drawable(opt, x, y)) {
                if (open) tb_printf(&b, "\"/>\n");
                open = 0;
                continue;
            }
            double yv = opt->log_y ? log10(y) : y;
            if (!open)
                tb_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" "
                              "points=\"", c);
            tb_printf(&b, "%s%.1f,%.1f", open ? " " : "", px(&f, x), py(&f, yv));
            open = 1;
        }
        if (open) tb_printf(&b, "\"/>\n");
        if (opt->markers)
            for (size_t i = 0; i < s->n; i++) {
                double x = point_x(s, i), y = s->y[i];
                if (drawable(opt, x, y))
                    tb_printf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(&f, x),
                              py(&f, opt->log_y ? log10(y) : y), c);
            }
        tb_printf(&b, "</g>\n");
    }
    svg_legend(&b, &f, series, n_series, 0);
    return svg_finish(&b, "line chart", opt, err);
}

/* ---------------------------------------------------------------- histogram */

char *mtr_svg_histogram(const mtr_plot_options *opt, const mtr_plot_series *series, int n_series, mtr_error *err) {
    if (check_input("histogram", opt, series, n_series, err) != 0) return NULL;
    int bins = opt->bins ? opt->bins : DEFAULT_BINS;
    if (bins < 1 || bins > MAX_BINS) {
        mtr_fail(err, "histogram '%s': %d bins (expected 1 to %d)", opt->title ? opt->title : "(untitled)", bins,
                 MAX_BINS);
        return NULL;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++)
            if (isfinite(series[k].y[i])) {
                lo = fmin(lo, series[k].y[i]);
                hi = fmax(hi, series[k].y[i]);
            }
    if (!(lo <= hi)) {
        mtr_fail(err, "histogram '%s': no finite sample in any series", opt->title ? opt->title : "(untitled)");
        return NULL;
    }
    if (hi == lo) {
        double d = lo != 0.0 ? fabs(lo) * 0.05 : 0.5;
        lo -= d;
        hi += d;
    }
    size_t *counts = calloc((size_t)bins * (size_t)n_series, sizeof *counts);
    text_buf b;
    if (!counts || tb_init(&b) != 0) {
        free(counts);
        mtr_fail(err, "histogram: out of memory");
        return NULL;
    }
    double width = (hi - lo) / bins;
    size_t top = 0;
    for (int k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double v = series[k].y[i];
            if (!isfinite(v)) continue;
            int j = (int)((v - lo) / width);
            if (j >= bins) j = bins - 1; /* the maximum itself belongs to the last bin */
            if (j < 0) j = 0;
            size_t c = ++counts[(size_t)k * (size_t)bins + (size_t)j];
            if (c > top) top = c;
        }
    frame f;
    frame_layout(&f, opt, series, n_series);
    axis_linear(&f.ax, lo, hi, 0);
    axis_linear(&f.ay, 0.0, (double)top, 1);
    if (f.ay.step < 1.0) axis_linear(&f.ay, 0.0, (double)(top < 5 ? 5 : top), 1); /* whole counts only */
    svg_begin(&b, &f, opt, "histogram");
    svg_axes(&b, &f, opt);
    for (int k = 0; k < n_series; k++) {
        const char *c = palette[k % PALETTE_SIZE];
        size_t total = 0;
        for (int j = 0; j < bins; j++) total += counts[(size_t)k * (size_t)bins + (size_t)j];
        tb_printf(&b, "<g class=\"series\" data-name=\"");
        tb_escaped(&b, series[k].name);
        tb_printf(&b, "\" data-samples=\"%zu\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\" stroke-width=\"1\">\n",
                  total, c, c);
        for (int j = 0; j < bins; j++) {
            size_t n = counts[(size_t)k * (size_t)bins + (size_t)j];
            if (!n) continue;
            double a = lo + j * width, z = lo + (j + 1) * width;
            double x0 = px(&f, a), x1 = px(&f, z), y = py(&f, (double)n);
            tb_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", x0, y, x1 - x0,
                      f.y1 - y);
            tb_escaped(&b, series[k].name);
            tb_printf(&b, ": %zu in [%.4g, %.4g)</title></rect>\n", n, a, z);
        }
        tb_printf(&b, "</g>\n");
    }
    svg_legend(&b, &f, series, n_series, 1);
    free(counts);
    return svg_finish(&b, "histogram", opt, err);
}

/* ---------------------------------------------------------------- files */

int mtr_text_file_save(const char *path, const char *text, mtr_error *err) {
    mtr_atomic_file af;
    if (mtr_atomic_open(&af, path, err) != 0) return -1;
    size_t n = strlen(text);
    if (fwrite(text, 1, n, af.f) != n) {
        mtr_atomic_abort(&af);
        return mtr_fail(err, "%s: write failed", path);
    }
    return mtr_atomic_commit(&af, err);
}
