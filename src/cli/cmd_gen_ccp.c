/* cmd_gen_ccp.c - `mtrank gen ccp`: Ali-CCP-shaped impressions with clicks and conversions for ESMM (the
 * simulator in src/gen/ccp.c), written as CSV (gzip when the name ends in .gz) with its dataset spec, and a
 * summary of the realised rates. A thin client of mtr_gen_ccp_write; dispatched by cmd_gen.c.
 * Real-valued settings are parsed as doubles (strtod) so that --ctr 0.04 is the double 0.04 the library
 * call would get, not a float rounded to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mtrank.h"
#include "util/parse_number.h"

int gen_ccp(int argc, char **argv);

/* A real-valued option kept as text for the table (its default printed from the config) and parsed into
 * the config's double afterwards. */
typedef struct real_option {
    const char *name;  /* option name, for messages */
    double *target;    /* config field */
    const char *text;  /* what the table sets; points at def until the user gives a value */
    char def[32];      /* the default, formatted from *target */
} real_option;

static void real_init(real_option *r, const char *name, double *target) {
    r->name = name;
    r->target = target;
    snprintf(r->def, sizeof r->def, "%.15g", *target);
    r->text = r->def;
}

/* The spec's default name: FILE without .gz and then without .csv, plus .spec (ccp.csv.gz -> ccp.spec). */
static void default_spec_path(const char *out, char *buf, size_t size) {
    size_t n = strlen(out);
    if (n > 3 && memcmp(out + n - 3, ".gz", 3) == 0) n -= 3;
    if (n > 4 && memcmp(out + n - 4, ".csv", 4) == 0) n -= 4;
    snprintf(buf, size, "%.*s.spec", (int)n, out);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int gen_ccp(int argc, char **argv) {
    mtr_ccp_config cfg;
    mtr_ccp_config_default(&cfg);
    const char *out = NULL, *spec_out = NULL;
    enum { N_REAL = 9 };
    real_option reals[N_REAL];
    real_init(&reals[0], "ctr", &cfg.ctr);
    real_init(&reals[1], "cvr", &cfg.cvr);
    real_init(&reals[2], "overlap", &cfg.overlap);
    real_init(&reals[3], "item-zipf", &cfg.item_zipf);
    real_init(&reals[4], "exposure", &cfg.exposure_strength);
    real_init(&reals[5], "click-affinity", &cfg.click_affinity);
    real_init(&reals[6], "conv-affinity", &cfg.conv_affinity);
    real_init(&reals[7], "position-weight", &cfg.position_weight);
    real_init(&reals[8], "price-weight", &cfg.price_weight);
    cli_option opts[] = {
        {"rows", CLI_U64, &cfg.rows, NULL, 0, 0, "impressions to generate (>= 1)"},
        {"seed", CLI_U64, &cfg.seed, NULL, 0, 0, "fixes the world (users, items, effects) and the intercepts"},
        {"stream", CLI_U64, &cfg.stream, NULL, 0, 0, "impression stream: other stream = new rows, same world"},
        {"out", CLI_STRING, &out, NULL, 0, 0, "CSV output (gzip level 1 when it ends in .gz); - = stdout"},
        {"spec-out", CLI_STRING, &spec_out, NULL, 0, 0, "dataset spec (default: FILE minus .gz/.csv, plus .spec)"},
        {"ctr", CLI_STRING, &reals[0].text, NULL, 0, 0, "target mean click probability, in (0, 1)"},
        {"cvr", CLI_STRING, &reals[1].text, NULL, 0, 0, "target mean conversion probability among clicks, (0, 1)"},
        {"overlap", CLI_STRING, &reals[2].text, NULL, 0, 0, "correlation of click and conversion factors, [0, 1]"},
        {"users", CLI_INT, &cfg.n_users, NULL, 1, 100000000, "users"},
        {"items", CLI_INT, &cfg.n_items, NULL, 1, 100000000, "items"},
        {"dim", CLI_INT, &cfg.dim, NULL, 1, 256, "latent taste dimension"},
        {"categories", CLI_INT, &cfg.n_categories, NULL, 1, 1000000, "item categories"},
        {"brands", CLI_INT, &cfg.n_brands, NULL, 1, 10000000, "brands (each in one category)"},
        {"shops", CLI_INT, &cfg.n_shops, NULL, 1, 10000000, "shops (each with a hidden quality)"},
        {"item-zipf", CLI_STRING, &reals[3].text, NULL, 0, 0, "item popularity ~ 1 / rank^s"},
        {"candidates", CLI_INT, &cfg.candidates, NULL, 1, 256, "popular items the feed considers per impression"},
        {"exposure", CLI_STRING, &reals[4].text, NULL, 0, 0, "softmax weight of click affinity among candidates"},
        {"click-affinity", CLI_STRING, &reals[5].text, NULL, 0, 0, "scale of the user-item click affinity"},
        {"conv-affinity", CLI_STRING, &reals[6].text, NULL, 0, 0, "scale of the user-item conversion affinity"},
        {"position-weight", CLI_STRING, &reals[7].text, NULL, 0, 0, "click logit slope on -log(1 + position)"},
        {"price-weight", CLI_STRING, &reals[8].text, NULL, 0, 0, "conversion slope on -log price (poorest users)"},
        {"calibration-rows", CLI_INT, &cfg.calibration_rows, NULL, 1000, 100000000,
         "impressions that calibrate the two intercepts"},
        {"threads", CLI_INT, &cfg.threads, NULL, 0, 16, "threads compressing .gz output (0 = none); same bytes"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "gen ccp --rows N --seed S --out FILE [--spec-out FILE.spec] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Impressions -> clicks -> conversions shaped like Ali-CCP, for ESMM (docs/simulator.md).\n"
                  "Users and items with latent tastes; an impression shows a user an item picked with\n"
                  "popularity skew and taste affinity, in a context. click ~ Bernoulli(pCTR);\n"
                  "cf_purchase ~ Bernoulli(pCVR) for every impression (what a click would have led to);\n"
                  "purchase = click AND cf_purchase. The intercepts are calibrated so that the mean pCTR is\n"
                  "--ctr and the mean pCVR among clicks is --cvr. Writes CSV with a header:\n"
                  "click,purchase,true_pctr,true_pcvr,cf_purchase and 23 fields of raw integer ids\n"
                  "(recent_categories and recent_brands are ';'-joined bags of 0 to 5 ids), the matching\n"
                  "dataset spec, and prints the realised CTR, CVR among clicks, CTCVR and the correlation of\n"
                  "the click and conversion logits.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("gen ccp", msg);
    for (int i = 0; i < N_REAL; i++)
        if (mtr_parse_double(reals[i].text, strlen(reals[i].text), reals[i].target) != 0) {
            snprintf(msg, sizeof msg, "--%s: expected a number, got '%s'", reals[i].name, reals[i].text);
            return usage_error("gen ccp", msg);
        }
    if (!out)
        return usage_error("gen ccp", "--out is required (a .csv or .csv.gz file, or - for standard output)");
    const char *problem = mtr_ccp_config_check(&cfg);
    if (problem) return usage_error("gen ccp", problem);
    int to_stdout = strcmp(out, "-") == 0;
    char spec_buf[4096];
    if (!spec_out && !to_stdout) {
        if (strlen(out) + 6 > sizeof spec_buf) return usage_error("gen ccp", "--out: path too long");
        default_spec_path(out, spec_buf, sizeof spec_buf);
        spec_out = spec_buf;
    }
    if (spec_out && strcmp(spec_out, out) == 0) return usage_error("gen ccp", "--spec-out must differ from --out");

    mtr_error err = {{0}};
    mtr_ccp_summary s;
    double t0 = seconds_now();
    if (mtr_gen_ccp_write(&cfg, out, spec_out, &s, &err) != 0) {
        fprintf(stderr, "mtrank gen ccp: %s\n", err.message);
        return 1;
    }
    double secs = seconds_now() - t0;
    FILE *info = to_stdout ? stderr : stdout; /* the data may be on stdout */
    fprintf(info, "wrote %llu rows to %s%s%s (seed %llu, stream %llu) in %.1f s, %.0f rows/s\n",
            (unsigned long long)s.rows, out, spec_out ? ", spec " : "", spec_out ? spec_out : "",
            (unsigned long long)cfg.seed, (unsigned long long)cfg.stream, secs,
            secs > 0 ? (double)s.rows / secs : 0.0);
    fprintf(info, "world: %d users, %d items, dim %d, overlap %g; intercepts a0 = %.4f, b0 = %.4f\n", cfg.n_users,
            cfg.n_items, cfg.dim, cfg.overlap, s.click_intercept, s.conv_intercept);
    fprintf(info, "CTR %.6f (%llu clicks; target %g, mean true_pctr %.6f)\n", s.ctr, (unsigned long long)s.clicks,
            cfg.ctr, s.mean_pctr);
    fprintf(info, "CVR among clicks %.6f (%llu purchases; target %g, mean true_pcvr over clicks %.6f)\n", s.cvr,
            (unsigned long long)s.purchases, cfg.cvr, s.mean_pcvr_clicked);
    fprintf(info, "CTCVR %.6g\n", s.ctcvr);
    fprintf(info,
            "over all impressions: cf_purchase rate %.6f, mean true_pcvr %.6f "
            "(selection bias: clicked / all = %.3f)\n",
            s.cf_rate, s.mean_pcvr, s.mean_pcvr_clicked / s.mean_pcvr);
    fprintf(info, "click/conversion logit Pearson correlation %.4f\n", s.logit_correlation);
    return 0;
}
