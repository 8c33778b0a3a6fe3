/* options.c - table-driven option parsing and usage text; see options.h. */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>

#include "mtrank.h"
#include "util/parse_number.h"

static int parse_layers(const char *s, int *w, int *n) {
    *n = 0;
    if (strcmp(s, "none") == 0 || *s == '\0') return 0;
    const char *p = s;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        long v;
        if (*n == MTR_MAX_LAYERS || mtr_parse_long(p, len, 1, 65536, &v) != 0) return -1;
        w[(*n)++] = (int)v;
        p += len;
        if (*p == ',' && *++p == '\0') return -1; /* "16," */
    }
    return 0;
}

static int set_value(const cli_option *o, const char *v, char *err, size_t es) {
    switch (o->type) {
    case CLI_INT: {
        long x;
        if (mtr_parse_long(v, strlen(v), (long)o->lo, (long)o->hi, &x) != 0) {
            snprintf(err, es, "--%s: expected an integer in %.0f..%.0f, got '%s'", o->name, o->lo, o->hi, v);
            return -1;
        }
        *(int *)o->target = (int)x;
        return 0;
    }
    case CLI_FLOAT: {
        double x;
        if (mtr_parse_double(v, strlen(v), &x) != 0 || x < o->lo || x > o->hi) {
            snprintf(err, es, "--%s: expected a number in %g..%g, got '%s'", o->name, o->lo, o->hi, v);
            return -1;
        }
        *(float *)o->target = (float)x;
        return 0;
    }
    case CLI_DOUBLE: {
        double x;
        int bounded = o->lo < o->hi;
        if (mtr_parse_double(v, strlen(v), &x) != 0 || (bounded && (x < o->lo || x > o->hi))) {
            if (bounded)
                snprintf(err, es, "--%s: expected a number in %g..%g, got '%s'", o->name, o->lo, o->hi, v);
            else
                snprintf(err, es, "--%s: expected a number, got '%s'", o->name, v);
            return -1;
        }
        *(double *)o->target = x;
        return 0;
    }
    case CLI_U64:
        if (mtr_parse_u64(v, strlen(v), (uint64_t *)o->target) != 0) {
            snprintf(err, es, "--%s: expected a non-negative integer, got '%s'", o->name, v);
            return -1;
        }
        return 0;
    case CLI_STRING:
        *(const char **)o->target = v;
        return 0;
    case CLI_LAYERS:
        if (parse_layers(v, (int *)o->target, o->count_target) != 0) {
            snprintf(err, es, "--%s: expected comma-separated widths like 16,8 (at most %d), got '%s'", o->name,
                     MTR_MAX_LAYERS, v);
            return -1;
        }
        return 0;
    case CLI_MODEL_KIND:
        if (mtr_model_kind_parse(v, (mtr_model_kind *)o->target) != 0) {
            snprintf(err, es, "--%s: unknown model '%s' (single-task, shared-bottom, omoe, mmoe)", o->name, v);
            return -1;
        }
        return 0;
    case CLI_ACTIVATION:
        if (mtr_activation_parse(v, (mtr_activation *)o->target) != 0) {
            snprintf(err, es, "--%s: unknown activation '%s' (relu, tanh, sigmoid, linear)", o->name, v);
            return -1;
        }
        return 0;
    case CLI_OPTIMIZER:
        if (mtr_optimizer_parse(v, (mtr_optimizer *)o->target) != 0) {
            snprintf(err, es, "--%s: unknown optimizer '%s' (adam, adagrad, sgd)", o->name, v);
            return -1;
        }
        return 0;
    case CLI_FLAG:
        break;
    }
    return 0;
}

int cli_parse(int argc, char **argv, int first, const cli_option *opts, int n_opts, const char **positional,
              int max_positional, int *n_positional, char *err, size_t es) {
    *n_positional = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "-") == 0) {
            if (*n_positional >= max_positional) {
                snprintf(err, es, "unexpected argument '%s'", a);
                return -1;
            }
            positional[(*n_positional)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_option *o = NULL;
        for (int k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, name, name_len) == 0) o = &opts[k];
        if (!o) {
            snprintf(err, es, "unknown option '--%.*s' (see --help)", (int)name_len, name);
            return -1;
        }
        if (o->type == CLI_FLAG) {
            if (eq) {
                snprintf(err, es, "--%s takes no value", o->name);
                return -1;
            }
            *(int *)o->target = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                snprintf(err, es, "--%s needs a value", o->name);
                return -1;
            }
            v = argv[++i];
        }
        if (set_value(o, v, err, es) != 0) return -1;
    }
    return 0;
}

static void print_value(FILE *out, const cli_option *o) {
    switch (o->type) {
    case CLI_INT: fprintf(out, "%d", *(int *)o->target); break;
    case CLI_FLOAT: fprintf(out, "%g", *(float *)o->target); break;
    case CLI_DOUBLE: fprintf(out, "%.15g", *(double *)o->target); break;
    case CLI_U64: fprintf(out, "%llu", (unsigned long long)*(uint64_t *)o->target); break;
    case CLI_STRING: {
        const char *s = *(const char **)o->target;
        fprintf(out, "%s", s ? s : "(none)");
        break;
    }
    case CLI_FLAG: fprintf(out, "%s", *(int *)o->target ? "on" : "off"); break;
    case CLI_LAYERS: {
        int n = *o->count_target;
        if (n == 0) fprintf(out, "none");
        for (int i = 0; i < n; i++) fprintf(out, i ? ",%d" : "%d", ((int *)o->target)[i]);
        break;
    }
    case CLI_MODEL_KIND: fprintf(out, "%s", mtr_model_kind_name(*(mtr_model_kind *)o->target)); break;
    case CLI_ACTIVATION: fprintf(out, "%s", mtr_activation_name(*(mtr_activation *)o->target)); break;
    case CLI_OPTIMIZER: fprintf(out, "%s", mtr_optimizer_name(*(mtr_optimizer *)o->target)); break;
    }
}

void cli_usage(FILE *out, const char *synopsis, const char *description, const cli_option *opts, int n_opts) {
    fprintf(out, "usage: mtrank %s\n", synopsis);
    if (description) fprintf(out, "\n%s\n", description);
    if (n_opts) fprintf(out, "\noptions (current default in brackets):\n");
    for (int k = 0; k < n_opts; k++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", opts[k].name, opts[k].type == CLI_FLAG ? "" : " V");
        fprintf(out, "  %-22s %s [", left, opts[k].help);
        print_value(out, &opts[k]);
        fprintf(out, "]\n");
    }
}
