/* schema_impl.h - the layout of struct mtr_schema, shared by the files that build it (schema_fit.c,
 * schema_io.c, schema.c) and the ones that apply it to rows (encode.c). Everything the compiled records
 * depend on lives here, and schema_io.c writes all of it, so a deserialised schema encodes rows exactly
 * as the fitted one did. */
#ifndef MTR_DATA_SCHEMA_IMPL_H
#define MTR_DATA_SCHEMA_IMPL_H

#include <stdint.h>

#include "data/spec.h"
#include "data/vocab.h"
#include "mtrank.h"

/* One vocabulary and embedding table, used by one categorical field or shared by several (`table=`). */
typedef struct mtr_cat_table {
    char name[MTR_MAX_NAME]; /* the fields' `table=` name, or the name of the field it belongs to */
    uint32_t hash_buckets;   /* 0: ids come from vocab; else id = 2 + fnv1a64(value) % hash_buckets */
    uint32_t min_count;      /* training count (over all its fields) a value needed to enter vocab */
    uint32_t size;           /* ids are 0..size-1: OOV, missing, then vocab entries or buckets */
    mtr_vocab *vocab;        /* value -> entry i, id i + 2; NULL when hashed or synthetic */
} mtr_cat_table;

/* One categorical input field. */
typedef struct mtr_cat_field {
    char name[MTR_MAX_NAME]; /* column name, or for aliccp tokens the field name before ':' */
    int column;              /* index into schema->columns; -1 for aliccp token fields and synthetic fields */
    int table;               /* index into schema->tables: its vocabulary and embedding table */
    int multi;               /* 1: zero or more ids per row, pooled by the model; 0: exactly one id */
    int pool_mean;           /* multi: pool the embeddings by mean (1) or sum (0) */
    char sep[MTR_MAX_SEP];   /* multi in a delimited column: separator between the values ("" otherwise) */
    size_t sep_len;          /* its length */
} mtr_cat_field;

/* One aux column: a float per row that is neither an input nor a label. */
typedef struct mtr_aux_field {
    char name[MTR_MAX_NAME]; /* column name */
    int column;              /* index into schema->columns, -1 in synthetic schemas */
} mtr_aux_field;

/* One numeric column; its normalised value is numeric input number (its index in schema->num). */
typedef struct mtr_num_field {
    char name[MTR_MAX_NAME]; /* column name */
    int column;              /* index into schema->columns, -1 in synthetic schemas */
    mtr_norm norm;           /* which transform applies before shift and scale */
    double shift;            /* fitted: y = (transform(x) - shift) * scale */
    double scale;            /* fitted; never 0 or infinite */
    float missing_default;   /* y for a missing value */
    int flag_input;          /* numeric input index of this column's 0/1 missing flag, or -1 */
} mtr_num_field;

/* One task (label). */
typedef struct mtr_task_info {
    char name[MTR_MAX_NAME];     /* task name */
    mtr_task_kind kind;          /* binary or regression */
    int column;                  /* index into schema->columns, -1 in synthetic schemas */
    const mtr_task_spec *rule;   /* how values become labels: points into schema->spec; NULL if synthetic */
} mtr_task_info;

struct mtr_schema {
    char *spec_text;          /* the spec as the user wrote it; "" for synthetic schemas */
    mtr_spec *spec;           /* spec_text parsed (reading options, label rules); NULL if synthetic */
    int n_columns;            /* columns of the text files (from the spec or the training header) */
    char (*columns)[MTR_MAX_NAME]; /* their names in file order */
    int n_cat;                /* categorical input fields: column fields in column order, then aliccp
                               * token fields (declared ones in spec order, then discovered ones in
                               * order of first appearance in the training file) */
    mtr_cat_field *cat;       /* n_cat fields */
    int n_tables;             /* vocabularies / embedding tables, numbered by their first field */
    mtr_cat_table *tables;    /* n_tables tables */
    int n_num_fields;         /* numeric columns, in column order */
    mtr_num_field *num;       /* n_num_fields columns */
    int n_num;                /* numeric inputs: n_num_fields values, then one flag per flagged column */
    char (*num_names)[MTR_MAX_NAME]; /* n_num input names: column names, then "<col>_missing" (a long
                                      * column name is shortened so the flag's name fits MTR_MAX_NAME) */
    int n_aux;                /* aux columns, in column order */
    mtr_aux_field *aux;       /* n_aux columns */
    int n_tasks;              /* tasks, in spec order */
    mtr_task_info task[MTR_MAX_TASKS]; /* n_tasks tasks */
    uint64_t fingerprint;     /* fnv1a64 of the serialised form; set by mtr_schema_finish */
};

/* An empty schema (all counts 0) to fill; NULL when out of memory. */
mtr_schema *mtr_schema_new(void);
/* After the fields are filled: assign flag inputs from `flagged` (per numeric field, 1 if it gets a
 * missing flag; may be NULL for none), build the input names and compute the fingerprint. */
int mtr_schema_finish(mtr_schema *s, const int *flagged, mtr_error *err);

/* The table of categorical field i. */
static inline const mtr_cat_table *mtr_field_table(const mtr_schema *s, int i) { return &s->tables[s->cat[i].table]; }

/* Write the serialised form into *out (malloc'd); the fingerprint line is left out when
 * `with_fingerprint` is 0 (that text is what the fingerprint hashes). Returns 0 or -1 (out of memory). */
int mtr_schema_write_text(const mtr_schema *s, int with_fingerprint, char **out, size_t *len);

#endif
