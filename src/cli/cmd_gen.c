/* cmd_gen.c - `mtrank gen <generator>`: write generated datasets. `gen` dispatches on its first argument
 * so that more generators can join the table below; today there is one:
 *   gen synthetic   the MMoE paper's task pair of controlled relatedness (section 3.2), as CSV with a
 *                   header (x0..x{d-1},y1,y2) or as a compiled .mtrd file, and its label correlation.
 * Real-valued generator settings are read as doubles (strtod), not floats, so that `--corr 0.9` gives
 * cos(w1, w2) = 0.9 to double precision, the same data the library call makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/dataset.h"
#include "util/atomic_file.h"

/* CSV of the dataset: header from the schema's names, floats with 9 significant digits (exact). */
static int write_csv(const mtr_dataset *ds, const mtr_schema *schema, const char *path, mtr_error *err) {
    mtr_atomic_file af;
    FILE *f = stdout;
    int to_stdout = strcmp(path, "-") == 0;
    if (!to_stdout) {
        if (mtr_atomic_open(&af, path, err) != 0) return -1;
        f = af.f;
    }
    int d = mtr_schema_numeric_count(schema), T = mtr_schema_task_count(schema);
    for (int i = 0; i < d; i++) fprintf(f, "%s,", mtr_schema_numeric_name(schema, i));
    for (int t = 0; t < T; t++) fprintf(f, "%s%c", mtr_schema_task_name(schema, t), t + 1 < T ? ',' : '\n');
    for (size_t r = 0; r < ds->n_rows; r++) {
        const float *x = mtr_row_numeric(ds, r), *y = mtr_row_labels(ds, r);
        for (int i = 0; i < d; i++) fprintf(f, "%.9g,", (double)x[i]);
        for (int t = 0; t < T; t++) fprintf(f, "%.9g%c", (double)y[t], t + 1 < T ? ',' : '\n');
    }
    if (to_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            snprintf(err->message, sizeof err->message, "standard output: write failed");
            return -1;
        }
        return 0;
    }
    return mtr_atomic_commit(&af, err);
}

static int gen_synthetic(int argc, char **argv) {
    mtr_synthetic_config cfg;
    mtr_synthetic_config_default(&cfg);
    uint64_t rows = 10000, stream = 0;
    const char *out = NULL;
    cli_option opts[] = {
        {"corr", CLI_DOUBLE, &cfg.correlation, NULL, 0, 0, "P = cos(w1, w2), the tasks' relatedness, in [-1, 1]"},
        {"rows", CLI_U64, &rows, NULL, 0, 0, "rows to generate (>= 1)"},
        {"seed", CLI_U64, &cfg.seed, NULL, 0, 0, "fixes u1, u2, alpha and beta (the problem)"},
        {"stream", CLI_U64, &stream, NULL, 0, 0, "sample stream: same seed, other stream = new rows, same problem"},
        {"out", CLI_STRING, &out, NULL, 0, 0, "output: .mtrd for the compiled form, else CSV; - = stdout"},
        {"dim", CLI_INT, &cfg.dim, NULL, 2, 65536, "d, input dimension"},
        {"scale", CLI_DOUBLE, &cfg.scale, NULL, 0, 0, "c, the length of w1 and w2"},
        {"sin", CLI_INT, &cfg.n_sin, NULL, 0, 100000, "m, sine terms per label (0 = linear tasks)"},
        {"alpha-sd", CLI_DOUBLE, &cfg.alpha_sd, NULL, 0, 0, "alpha_i ~ N(0, alpha-sd^2), shared by the tasks"},
        {"beta-sd", CLI_DOUBLE, &cfg.beta_sd, NULL, 0, 0, "beta_i ~ N(0, beta-sd^2), shared by the tasks"},
        {"noise", CLI_DOUBLE, &cfg.noise_sd, NULL, 0, 0, "standard deviation of each label's Gaussian noise"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "gen synthetic --corr P --rows N --seed S --out FILE [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "The MMoE paper's synthetic task pair (Ma et al. 2018, section 3.2): orthonormal u1, u2 in R^d,\n"
                  "w1 = c u1, w2 = c (P u1 + sqrt(1 - P^2) u2), x ~ N(0, I_d),\n"
                  "y_k = w_k.x + sum_{i=1..m} sin(alpha_i w_k.x + beta_i) + noise.\n"
                  "Writes CSV with a header (x0..x{d-1},y1,y2), or the compiled form when FILE ends in .mtrd,\n"
                  "and prints the Pearson correlation of y1 and y2.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0) return usage_error("gen", msg);
    if (!out) return usage_error("gen", "--out is required (a .csv, .mtrd or - for standard output)");
    const char *problem = mtr_synthetic_config_check(&cfg);
    if (problem) return usage_error("gen", problem);
    if (rows < 1 || rows > UINT32_MAX) return usage_error("gen", "--rows: expected 1 to 4294967295 rows");
    size_t len = strlen(out);
    int mtrd = len > 5 && strcmp(out + len - 5, ".mtrd") == 0;
    if (mtrd && strcmp(out, "-") == 0) return usage_error("gen", "a compiled .mtrd file cannot go to standard output");

    mtr_error err = {{0}};
    mtr_schema *schema = NULL;
    int rc = 1;
    mtr_dataset *ds = mtr_synthetic_generate(&cfg, (size_t)rows, stream, &schema, &err);
    if (ds && (mtrd ? mtr_dataset_write(ds, out, &err) : write_csv(ds, schema, out, &err)) == 0) rc = 0;
    if (rc) {
        fprintf(stderr, "mtrank gen synthetic: %s\n", err.message);
    } else {
        /* the data may be on stdout; the summary then goes to stderr */
        FILE *info = strcmp(out, "-") == 0 ? stderr : stdout;
        fprintf(info, "wrote %llu rows (d = %d, P = %g, c = %g, m = %d, noise %g, seed %llu, stream %llu) to %s\n",
                (unsigned long long)rows, cfg.dim, cfg.correlation, cfg.scale, cfg.n_sin, cfg.noise_sd,
                (unsigned long long)cfg.seed, (unsigned long long)stream, out);
        fprintf(info, "label Pearson correlation %.6f\n", mtr_label_correlation(ds, 0, 1));
    }
    mtr_dataset_free(ds);
    mtr_schema_free(schema);
    return rc;
}

typedef struct generator {
    const char *name;            /* as typed after `gen` */
    int (*run)(int, char **);    /* entry point; options start at argv[3] */
    const char *summary;         /* one line for `mtrank gen --help` */
} generator;

int gen_ccp(int argc, char **argv); /* cmd_gen_ccp.c */
int gen_sessions(int argc, char **argv); /* cmd_gen_sessions.c */

static const generator generators[] = {
    {"synthetic", gen_synthetic, "MMoE paper's task pair of controlled correlation (section 3.2)"},
    {"ccp", gen_ccp, "Ali-CCP-shaped impressions, clicks and conversions for ESMM (simulator)"},
    {"sessions", gen_sessions, "requests with candidate lists: click, cart, fav, purchase, dwell and truth"},
};
#define N_GENERATORS (int)(sizeof generators / sizeof generators[0])

int cmd_gen(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        FILE *out = argc < 3 ? stderr : stdout;
        fprintf(out, "usage: mtrank gen <generator> [options]\n\ngenerators:\n");
        for (int i = 0; i < N_GENERATORS; i++)
            fprintf(out, "  %-11s %s (mtrank gen %s --help)\n", generators[i].name, generators[i].summary,
                    generators[i].name);
        return argc < 3 ? 2 : 0;
    }
    for (int i = 0; i < N_GENERATORS; i++)
        if (strcmp(argv[2], generators[i].name) == 0) return generators[i].run(argc, argv);
    fprintf(stderr, "mtrank gen: unknown generator '%s' (", argv[2]);
    for (int i = 0; i < N_GENERATORS; i++) fprintf(stderr, "%s%s", i ? ", " : "", generators[i].name);
    fprintf(stderr, ")\n");
    return 2;
}
