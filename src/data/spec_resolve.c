/* spec_resolve.c - matches a parsed spec against the column names of a file (the spec's own `columns`
 * list, or a header line): every [features] line and every task must name a real column, and no task's
 * label column may be an input. Runs at parse time when the spec lists its columns (aliccp specs always
 * do: sample_id, click, purchase), otherwise when the training file's header is read. In aliccp specs a
 * rule naming none of the leading columns configures a token field; which fields exist is only known
 * from the data (schema_fit.c). Errors point at the spec line, since that is what the user must edit. */
#include <stdlib.h>
#include <string.h>

#include "data/spec.h"
#include "data/vocab.h"
#include "util/error.h"

void mtr_spec_layout_free(mtr_spec_layout *layout) {
    free(layout->kind);
    free(layout->rule);
    free(layout->token_rule);
    layout->kind = NULL;
    layout->rule = NULL;
    layout->token_rule = NULL;
}

int mtr_spec_resolve(const mtr_spec *spec, int n_columns, char *const *names, mtr_spec_layout *out,
                     mtr_error *err) {
    memset(out, 0, sizeof *out);
    const char *origin = spec->origin;
    mtr_vocab *index = mtr_vocab_create();
    out->n_columns = n_columns;
    out->kind = malloc((size_t)(n_columns ? n_columns : 1) * sizeof *out->kind);
    out->rule = malloc((size_t)(n_columns ? n_columns : 1) * sizeof *out->rule);
    out->token_rule = malloc((size_t)(spec->n_rules ? spec->n_rules : 1) * sizeof *out->token_rule);
    if (!index || !out->kind || !out->rule || !out->token_rule) {
        mtr_fail(err, "%s: out of memory", origin);
        goto fail;
    }
    for (int c = 0; c < n_columns; c++) {
        uint32_t before = mtr_vocab_size(index);
        int64_t idx = mtr_vocab_intern(index, names[c], strlen(names[c]));
        if (idx < 0) {
            mtr_fail(err, "%s: out of memory", origin);
            goto fail;
        }
        if (mtr_vocab_size(index) == before) {
            mtr_fail(err, "duplicate column name '%s' (columns %d and %d)", names[c], (int)idx + 1, c + 1);
            goto fail;
        }
        /* aliccp: the default is for token fields; a leading column is an input only when named */
        out->kind[c] = spec->format == MTR_FORMAT_ALICCP ? MTR_COL_IGNORE : spec->default_rule.kind;
        out->rule[c] = -1;
    }
    for (int t = 0; t < spec->n_tasks; t++) {
        const mtr_task_spec *ts = &spec->tasks[t];
        int64_t c = mtr_vocab_find(index, ts->column, strlen(ts->column));
        if (c < 0) {
            mtr_fail(err, "%s: line %d: [task %s]: column: no column named '%s'", origin, ts->column_line,
                     ts->name, ts->column);
            goto fail;
        }
        out->task_column[t] = (int)c;
        out->kind[c] = MTR_COL_IGNORE; /* unlisted label columns are never inputs */
    }
    for (int r = 0; r < spec->n_rules; r++) {
        const mtr_feature_rule *rule = &spec->rules[r];
        int64_t c = mtr_vocab_find(index, rule->column, strlen(rule->column));
        if (c < 0 && spec->format == MTR_FORMAT_ALICCP) {
            out->token_rule[out->n_token_rules++] = r;
            continue;
        }
        if (c < 0) {
            mtr_fail(err, "%s: line %d: [features]: unknown column '%s'", origin, rule->line, rule->column);
            goto fail;
        }
        if (rule->kind != MTR_COL_IGNORE && rule->kind != MTR_COL_AUX) /* aux values are never inputs */
            for (int t = 0; t < spec->n_tasks; t++)
                if (out->task_column[t] == c) {
                    mtr_fail(err, "%s: line %d: [features]: column '%s' is the label of task '%s' and cannot "
                                  "be an input (label leakage)", origin, rule->line, rule->column,
                             spec->tasks[t].name);
                    goto fail;
                }
        out->kind[c] = rule->kind;
        out->rule[c] = r;
    }
    mtr_vocab_free(index);
    return 0;
fail:
    mtr_vocab_free(index);
    mtr_spec_layout_free(out);
    return -1;
}
