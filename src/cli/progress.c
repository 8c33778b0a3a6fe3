/* progress.c - see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util/clock.h"

void progress_init(progress_state *ps, const mtr_schema *schema, int quiet, const char *prefix) {
    ps->schema = schema;
    ps->live = !quiet && isatty(STDERR_FILENO);
    ps->epoch_lines = !quiet;
    ps->prefix = prefix;
    ps->eta_epoch_seconds = 0;
}

int progress_callback(const mtr_epoch_report *r, double fraction, void *user) {
    progress_state *ps = user;
    const char *pre = ps->prefix ? ps->prefix : "";
    const char *sep = ps->prefix ? "  " : "";
    if (fraction < 1.0) {
        if (!ps->live) return 0;
        double per_epoch = fraction > 0 ? r->seconds / fraction : 0;
        double eta = per_epoch * (1.0 - fraction) + per_epoch * (r->max_epochs - r->epoch);
        fprintf(stderr, "\r%s%sepoch %d/%d %3.0f%%  %.0fk samples/s  loss %.4f  ETA <= %.0fs   ", pre, sep,
                r->epoch, r->max_epochs, fraction * 100.0, r->samples_per_second / 1e3, r->train_loss, eta);
        fflush(stderr);
        return 0;
    }
    if (ps->live) fprintf(stderr, "\r%80s\r", "");
    if (!ps->epoch_lines) return 0;
    fprintf(stderr, "%s%sepoch %d/%d  %.1fs  %.0fk samples/s  loss %.4f", pre, sep, r->epoch, r->max_epochs,
            r->seconds, r->samples_per_second / 1e3, r->train_loss);
    for (int t = 0; t < r->n_tasks; t++) {
        const mtr_task_metrics *m = &r->valid[t];
        if (m->count == 0) continue;
        if (m->kind == MTR_TASK_BINARY)
            fprintf(stderr, "  %s AUC %.4f", mtr_schema_task_name(ps->schema, t), m->auc);
        else
            fprintf(stderr, "  %s R2 %.4f", mtr_schema_task_name(ps->schema, t), m->r2);
    }
    fprintf(stderr, "%s\n", r->is_best ? "  *" : "");
    return 0;
}

void progress_runs(int done, int total, double t_start) {
    double el = mtr_seconds_now() - t_start;
    fprintf(stderr, "\r%d/%d runs done, %.0fs elapsed, ETA %.0fs   ", done, total, el, el / done * (total - done));
    fflush(stderr);
}

void progress_runs_clear(void) { fprintf(stderr, "\r%60s\r", ""); }
