/* rules.h - private to src/rank: parsed re-ranking rules (rules.c reads the config) and the ranking
 * context that applies them after fusion (rules_apply.c). docs/fusion-and-rules.md is the user's view.
 *
 * A rule either selects candidates and applies one effect to them (promote, new, low_quality,
 * exposure_cap), or, for diversity, reorders the top of the list. Effects that change the adjusted score
 * leave the list to be re-sorted (lazily, once before the next positional rule or at the end) by adjusted
 * score, then fused score, then candidate index; positional effects and diversity move candidates in the
 * current list; drop removes them. So a score rule placed after a positional one undoes the latter's
 * moves: rule order matters, and that is the documented behaviour. */
#ifndef MTR_RANK_RULES_H
#define MTR_RANK_RULES_H

#include <stdint.h>

#include "mtrank.h"

typedef enum rule_kind {
    RULE_DIVERSITY = 0,
    RULE_PROMOTE = 1,
    RULE_NEW = 2,
    RULE_LOW_QUALITY = 3,
    RULE_EXPOSURE_CAP = 4,
    RULE_KIND_COUNT
} rule_kind;

typedef enum rule_effect {
    EFFECT_NONE = 0,     /* diversity has no effect key */
    EFFECT_MULTIPLY = 1, /* adjusted *= amount */
    EFFECT_ADD = 2,      /* adjusted += amount */
    EFFECT_UP = 3,       /* placed just above the candidate `positions` places higher */
    EFFECT_DOWN = 4,     /* placed just below the candidate `positions` places lower */
    EFFECT_DROP = 5      /* removed from the list */
} rule_effect;

typedef enum rule_test {
    TEST_NONZERO = 0, /* field != 0 (and not NaN) */
    TEST_BELOW = 1,   /* field < threshold */
    TEST_ABOVE = 2    /* field > threshold */
} rule_test;

typedef struct rank_rule {
    rule_kind kind;       /* which rule */
    int line;             /* its line in the config, for messages */
    rule_effect effect;   /* what happens to the selected candidates (EFFECT_NONE for diversity) */
    float amount;         /* EFFECT_MULTIPLY: the factor (>= 0); EFFECT_ADD: the increment */
    int positions;        /* EFFECT_UP / EFFECT_DOWN: how far (>= 1) */
    union {
        struct {
            int field;          /* column of the candidate matrix tested */
            rule_test test;     /* how */
            float threshold;    /* TEST_BELOW / TEST_ABOVE */
        } select;               /* promote, new, low_quality */
        struct {
            int key;            /* column of the key matrix */
            int max_per_key;    /* at most this many candidates of one key value ... */
            int top;            /* ... among the first `top` positions */
        } diversity;
        struct {
            int max_shown;      /* held back once shown this many times within the window */
            int window;         /* the window: this many requests before the current one */
            int shown;          /* the first `shown` positions of each final list count as exposures */
        } exposure;
    } u;
} rank_rule;

struct mtr_rules {
    int n_rules;                     /* rules, applied in order */
    rank_rule rules[MTR_MAX_RULES];  /* them */
    int n_vars;                      /* the numeric columns rules were bound to */
    char **var_names;                /* (n_vars) copies, checked against the fusion's by the context */
    int n_keys;                      /* the key columns */
    char **key_names;                /* (n_keys) copies */
    int exposure_rule;               /* index of the exposure_cap rule, -1 when there is none */
    int max_top;                     /* largest diversity top=, 0 without diversity (sizes a hash table) */
    int n_cols_read;                 /* 1 + the largest column a rule tests, 0 when none reads the matrix */
};

const char *mtr_rule_kind_name(rule_kind kind);

#endif
