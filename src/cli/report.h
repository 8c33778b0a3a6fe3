/* report.h - printing metrics as text tables and as JSON (jansson) for the CLI commands, and the folder an
 * experiment writes its report into. */
#ifndef MTR_CLI_REPORT_H
#define MTR_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "mtrank.h"

/* One line per task: name, rows, positives/mean, AUC, log loss, MSE, R^2. */
void report_metrics_text(FILE *out, const mtr_schema *schema, const mtr_task_metrics *m, int n_tasks);
/* {"task": {"count":..,"auc":..}, ...}; NaN becomes null. */
json_t *report_metrics_json(const mtr_schema *schema, const mtr_task_metrics *m, int n_tasks);
/* A JSON number, or null for NaN/inf. */
json_t *report_json_number(double v);
/* Print JSON to stdout with indentation and a newline; returns 0 or -1. */
int report_json_print(json_t *doc);

/* mkdir -p: the report folder and its parents; 0, or -1 with a message naming the directory. */
int report_make_dirs(const char *path, mtr_error *err);

#endif
