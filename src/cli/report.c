/* report.c - see report.h. */
#include "cli/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

void report_metrics_text(FILE *out, const mtr_schema *schema, const mtr_task_metrics *m, int n_tasks) {
    fprintf(out, "%-20s %9s %9s %8s %8s %8s %8s\n", "task", "rows", "pos/mean", "AUC", "logloss", "MSE", "R2");
    for (int t = 0; t < n_tasks; t++) {
        const mtr_task_metrics *x = &m[t];
        if (x->kind == MTR_TASK_BINARY)
            fprintf(out, "%-20s %9zu %9zu %8.4f %8.4f %8.4f %8s\n", mtr_schema_task_name(schema, t), x->count,
                    x->positives, x->auc, x->log_loss, x->mse, "-");
        else
            fprintf(out, "%-20s %9zu %9.4f %8s %8s %8.4f %8.4f\n", mtr_schema_task_name(schema, t), x->count,
                    x->mean_label, "-", "-", x->mse, x->r2);
    }
}

json_t *report_json_number(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *report_metrics_json(const mtr_schema *schema, const mtr_task_metrics *m, int n_tasks) {
    json_t *o = json_object();
    for (int t = 0; t < n_tasks; t++) {
        const mtr_task_metrics *x = &m[t];
        json_t *e = json_object();
        json_object_set_new(e, "kind", json_string(x->kind == MTR_TASK_BINARY ? "binary" : "regression"));
        json_object_set_new(e, "count", json_integer((json_int_t)x->count));
        if (x->kind == MTR_TASK_BINARY) {
            json_object_set_new(e, "positives", json_integer((json_int_t)x->positives));
            json_object_set_new(e, "auc", report_json_number(x->auc));
            json_object_set_new(e, "log_loss", report_json_number(x->log_loss));
        } else {
            json_object_set_new(e, "r2", report_json_number(x->r2));
        }
        json_object_set_new(e, "mse", report_json_number(x->mse));
        json_object_set_new(e, "mean_score", report_json_number(x->mean_score));
        json_object_set_new(e, "mean_label", report_json_number(x->mean_label));
        json_object_set_new(o, mtr_schema_task_name(schema, t), e);
    }
    return o;
}

int report_json_print(json_t *doc) {
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    return rc;
}

int report_make_dirs(const char *path, mtr_error *err) {
    char buf[4096];
    if (!path[0] || snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err->message, sizeof err->message, "report folder '%.900s': empty or too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(err->message, sizeof err->message, "%.900s: cannot create directory: %s", buf,
                         strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}
