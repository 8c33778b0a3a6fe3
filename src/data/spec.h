/* spec.h - the parsed form of a dataset spec (docs/spec-format.md), shared by the parser, the code that
 * matches a spec against a file's column names, and the schema built from it. A spec is immutable
 * after parsing; everything here is read-only for its users. */
#ifndef MTR_DATA_SPEC_H
#define MTR_DATA_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Largest spec file mtr_spec_load accepts; specs are hand-written, so anything bigger is a mistake. */
#define MTR_SPEC_MAX_BYTES (4u << 20)
/* Columns a file may have (and fields a schema may have): bounds every per-column allocation. */
#define MTR_MAX_COLUMNS (1 << 20)
/* Most categorical ids one row may hold, single- and multi-valued fields together: bounds the record and
 * batch buffers (a row with more is an error naming its line). */
#define MTR_MAX_ROW_IDS (1u << 20)
/* Longest `sep` of a multi-valued column, including the NUL. */
#define MTR_MAX_SEP 16
/* format = aliccp: the columns before the field:id tokens, in line order. */
#define MTR_ALICCP_LEADING 3
extern const char *const mtr_aliccp_columns[MTR_ALICCP_LEADING]; /* "sample_id", "click", "purchase" */

typedef enum mtr_col_kind {
    MTR_COL_IGNORE = 0,      /* not an input */
    MTR_COL_CATEGORICAL = 1, /* ids through a vocabulary or hash buckets */
    MTR_COL_NUMERIC = 2,     /* a normalised float (plus a missing flag when training had gaps) */
    MTR_COL_AUX = 3          /* a float stored per row, never an input or a label (e.g. a simulator's truth) */
} mtr_col_kind;

typedef enum mtr_format {
    MTR_FORMAT_DELIMITED = 0, /* one value per column, split on the delimiter */
    MTR_FORMAT_ALICCP = 1     /* sample_id,click,purchase, then field:id tokens in any order */
} mtr_format;

typedef enum mtr_norm {
    MTR_NORM_NONE = 0,          /* x */
    MTR_NORM_MINMAX = 1,        /* (x - min) / (max - min) */
    MTR_NORM_STANDARD = 2,      /* (x - mean) / std */
    MTR_NORM_LOG1P = 3,         /* sign(x) * log1p(|x|) */
    MTR_NORM_LOG1P_STANDARD = 4 /* log1p as above, then standardised */
} mtr_norm;

typedef enum mtr_label_rule {
    MTR_LABEL_VALUES = 0,   /* binary: value in `positive` -> 1 (in `negative`, or anything else -> 0) */
    MTR_LABEL_ABOVE = 1,    /* binary: number > threshold -> 1 */
    MTR_LABEL_AT_LEAST = 2, /* binary: number >= threshold -> 1 */
    MTR_LABEL_NUMBER = 3    /* regression: the number itself */
} mtr_label_rule;

/* A list of byte strings from the spec (column names, missing markers, label values). */
typedef struct mtr_strlist {
    int n;         /* entries */
    char **items;  /* NUL-terminated copies */
    size_t *lens;  /* strlen of each, so row values can be compared without strlen */
} mtr_strlist;

/* One line of the [features] section. */
typedef struct mtr_feature_rule {
    char column[MTR_MAX_NAME]; /* the column it configures */
    mtr_col_kind kind;         /* what the column becomes */
    mtr_norm norm;             /* numeric: normalisation */
    float missing_default;     /* numeric: value used (after normalisation) when the value is missing */
    uint32_t min_count;        /* categorical: rarer training values map to the OOV id */
    uint32_t hash_buckets;     /* categorical: 0 = vocabulary, else id = 2 + fnv1a64(value) % buckets */
    int multi;                 /* categorical: 1 = zero or more values per row (`multi`) */
    char sep[MTR_MAX_SEP];     /* multi in a delimited column: the separator between values ("" if none) */
    size_t sep_len;            /* its length */
    int pool_mean;             /* multi: the model pools the field's embeddings by mean (1) or sum (0) */
    int pool_given;            /* `pool=` was written (it needs a multi-valued field) */
    char table[MTR_MAX_NAME];  /* categorical: shared table (`table=NAME`), "" = the field's own table */
    int line;                  /* spec line, for errors found when the columns become known (0: none) */
} mtr_feature_rule;

/* One [task NAME] section. */
typedef struct mtr_task_spec {
    char name[MTR_MAX_NAME];   /* task name, from the section header */
    char column[MTR_MAX_NAME]; /* column holding the label */
    mtr_task_kind kind;        /* binary or regression */
    mtr_label_rule rule;       /* how a column value becomes a label */
    mtr_strlist positive;      /* MTR_LABEL_VALUES: values meaning 1 */
    mtr_strlist negative;      /* MTR_LABEL_VALUES: values meaning 0; when non-empty others are errors */
    double threshold;          /* MTR_LABEL_ABOVE / AT_LEAST: the cut */
    int line;                  /* spec line of the section header */
    int column_line;           /* spec line of `column =` */
} mtr_task_spec;

struct mtr_spec {
    char *text;                /* the spec text exactly as given */
    char *origin;              /* where it came from (path or "<string>"), for messages */
    char *delimiter;           /* field separator bytes, non-empty */
    size_t delimiter_len;      /* its length */
    mtr_format format;         /* delimited columns, or Ali-CCP field:id tokens */
    int header;                /* 1: the first line of each file names the columns */
    int header_auto;           /* header = auto: a first line equal to `columns` is skipped (header is 0) */
    int trim;                  /* 1: strip spaces and tabs around every value */
    mtr_strlist columns;       /* column names; may be empty when header = yes; for aliccp the 3 leading ones */
    int columns_line;          /* spec line of `columns =` (0 if absent) */
    mtr_strlist missing;       /* values meaning "missing" */
    mtr_feature_rule default_rule; /* `default =`: kind and options of the columns (and aliccp fields) the
                                    * [features] section does not name; kind IGNORE when absent */
    int n_rules;               /* [features] lines naming a column */
    mtr_feature_rule *rules;   /* those lines, in spec order */
    int n_tasks;               /* [task ...] sections */
    mtr_task_spec tasks[MTR_MAX_TASKS]; /* in spec order: task 0 is the first section */
};

/* A spec matched against the actual column names of a file. */
typedef struct mtr_spec_layout {
    int n_columns;                   /* columns of the file */
    mtr_col_kind *kind;              /* per column: what it feeds (label columns are IGNORE unless aux) */
    int *rule;                       /* per column: index into spec->rules, or -1 (the default rule) */
    int task_column[MTR_MAX_TASKS];  /* per task: its column index */
    int n_token_rules;               /* aliccp: rules naming token fields rather than leading columns */
    int *token_rule;                 /* their indices into spec->rules, in spec order */
} mtr_spec_layout;

/* The rule of a column: its [features] line, or the default. */
static inline const mtr_feature_rule *mtr_layout_rule(const mtr_spec *spec, const mtr_spec_layout *layout,
                                                      int column) {
    return layout->rule[column] >= 0 ? &spec->rules[layout->rule[column]] : &spec->default_rule;
}

/* Resolve the spec against `names`: refuses rules or tasks naming unknown columns and label columns used
 * as inputs (in aliccp specs, rules naming no leading column are token-field rules); errors name the spec
 * file, line and key. On success the caller frees with _layout_free. */
int mtr_spec_resolve(const mtr_spec *spec, int n_columns, char *const *names, mtr_spec_layout *out,
                     mtr_error *err);
void mtr_spec_layout_free(mtr_spec_layout *layout);

/* Name of a norm as written in specs, and back (-1 when unknown). */
const char *mtr_norm_name(mtr_norm norm);
int mtr_norm_parse(const char *name, mtr_norm *norm);

#endif
