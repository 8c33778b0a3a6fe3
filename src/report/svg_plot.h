/* svg_plot.h - a small SVG writer for the experiment reports: line charts with several series and a
 * legend (loss curves, correlation against P) and histograms with overlaid series (final losses). Axes
 * have "nice" ticks (1, 2, 5 x 10^k, or decades on a log axis), labels and a title; the result is a
 * self-contained SVG a browser shows as is. Library code: it never prints; problems come back as an
 * mtr_error naming the chart and the series. */
#ifndef MTR_REPORT_SVG_PLOT_H
#define MTR_REPORT_SVG_PLOT_H

#include <stddef.h>

#include "mtrank.h"

#define MTR_PLOT_MAX_SERIES 16 /* more would not fit in a legend anyway */

typedef struct mtr_plot_series {
    const char *name; /* legend entry, non-empty */
    const double *x;  /* line charts: x of each point, NULL means 0, 1, 2, ...; histograms: unused */
    const double *y;  /* line charts: y of each point; histograms: the samples */
    size_t n;         /* points (or samples) */
} mtr_plot_series;

typedef struct mtr_plot_options {
    const char *title;   /* drawn above the plot; may be NULL */
    const char *x_label; /* under the x axis; may be NULL */
    const char *y_label; /* left of the y axis, rotated; may be NULL */
    int width, height;   /* pixels; 0 means 760 x 460; at least 240 x 180 */
    int log_y;           /* line charts: logarithmic y axis (points with y <= 0 are left out) */
    int markers;         /* line charts: a dot on every point */
    int bins;            /* histograms: equal bins over the pooled range of all series; 0 means 30 */
} mtr_plot_options;

/* The SVG text of a line chart (caller frees), or NULL with a message. Points whose x or y is not
 * finite are left out and break the line there. Needs at least one drawable point. */
char *mtr_svg_line_chart(const mtr_plot_options *opt, const mtr_plot_series *series, int n_series,
                         mtr_error *err);
/* The SVG text of a histogram of each series' samples (counts per bin, series drawn as translucent bars
 * over each other, each bar with a tooltip "name: count in [a, b)"). Non-finite samples are skipped. */
char *mtr_svg_histogram(const mtr_plot_options *opt, const mtr_plot_series *series, int n_series,
                        mtr_error *err);
/* Write `text` to `path` atomically (temporary file, fsync, rename). */
int mtr_text_file_save(const char *path, const char *text, mtr_error *err);

#endif
