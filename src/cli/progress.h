/* progress.h - the training progress line on a terminal (epoch, samples/s, loss, ETA) and one summary
 * line per epoch; silent when stderr is not a terminal unless asked for epoch lines. */
#ifndef MTR_CLI_PROGRESS_H
#define MTR_CLI_PROGRESS_H

#include "mtrank.h"

typedef struct progress_state {
    const mtr_schema *schema; /* for task names */
    int live;                 /* draw the \r progress line (stderr is a terminal) */
    int epoch_lines;          /* print a line per finished epoch */
    const char *prefix;       /* e.g. "mmoe run 3/10", or NULL */
    double eta_epoch_seconds; /* running estimate of one epoch's duration */
} progress_state;

void progress_init(progress_state *ps, const mtr_schema *schema, int quiet, const char *prefix);
/* An mtr_progress_fn; user is a progress_state*. Never asks training to stop. */
int progress_callback(const mtr_epoch_report *report, double epoch_fraction, void *user);

/* Experiments: "\rdone/total runs done, elapsed, ETA" on the terminal, from the jobs' start time. */
void progress_runs(int done, int total, double t_start);
/* Clear that line. */
void progress_runs_clear(void);

#endif
