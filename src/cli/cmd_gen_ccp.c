/* cmd_gen_ccp.c - `mtrank gen ccp`: Ali-CCP-shaped impressions with clicks and conversions for ESMM (the
 * simulator in src/gen/ccp.c), written as CSV (gzip when the name ends in .gz) with its dataset spec, and a
 * summary of the realised rates. A thin client of mtr_gen_ccp_write; dispatched by cmd_gen.c.
 * Real-valued settings are CLI_DOUBLE options so that --ctr 0.04 is the double 0.04 the library
 * call would get, not a float rounded to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mtrank.h"

int gen_ccp(int argc, char **argv);

int gen_ccp(int argc, char **argv) {
    mtr_ccp_config cfg;
    mtr_ccp_config_default(&cfg);
    const char *out = NULL, *spec_out = NULL;
    cli_option opts[] = {
        {"rows", CLI_U64, &cfg.rows, NULL, 0, 0, "impressions to generate (>= 1)"},
        {"seed", CLI_U64, &cfg.seed, NULL, 0, 0, "fixes the world (users, items, effects) and the intercepts"},
        {"stream", CLI_U64, &cfg.stream, NULL, 0, 0, "impression stream: other stream = new rows, same world"},
        {"out", CLI_STRING, &out, NULL, 0, 0, "CSV output (gzip level 1 when it ends in .gz); - = stdout"},
        {"spec-out", CLI_STRING, &spec_out, NULL, 0, 0, "dataset spec (default: FILE minus .gz/.csv, plus .spec)"},
        {"ctr", CLI_DOUBLE, &cfg.ctr, NULL, 0, 0, "target mean click probability, in (0, 1)"},
        {"cvr", CLI_DOUBLE, &cfg.cvr, NULL, 0, 0, "target mean conversion probability among clicks, (0, 1)"},
        {"overlap", CLI_DOUBLE, &cfg.overlap, NULL, 0, 0, "correlation of click and conversion factors, [0, 1]"},
        {"users", CLI_INT, &cfg.n_users, NULL, 1, 100000000, "users"},
        {"items", CLI_INT, &cfg.n_items, NULL, 1, 100000000, "items"},
        {"dim", CLI_INT, &cfg.dim, NULL, 1, 256, "latent taste dimension"},
        {"categories", CLI_INT, &cfg.n_categories, NULL, 1, 1000000, "item categories"},
        {"brands", CLI_INT, &cfg.n_brands, NULL, 1, 10000000, "brands (each in one category)"},
        {"shops", CLI_INT, &cfg.n_shops, NULL, 1, 10000000, "shops (each with a hidden quality)"},
        {"item-zipf", CLI_DOUBLE, &cfg.item_zipf, NULL, 0, 0, "item popularity ~ 1 / rank^s"},
        {"candidates", CLI_INT, &cfg.candidates, NULL, 1, 256, "popular items the feed considers per impression"},
        {"exposure", CLI_DOUBLE, &cfg.exposure_strength, NULL, 0, 0, "softmax weight of click affinity among candidates"},
        {"click-affinity", CLI_DOUBLE, &cfg.click_affinity, NULL, 0, 0, "scale of the user-item click affinity"},
        {"conv-affinity", CLI_DOUBLE, &cfg.conv_affinity, NULL, 0, 0, "scale of the user-item conversion affinity"},
        {"position-weight", CLI_DOUBLE, &cfg.position_weight, NULL, 0, 0, "click logit slope on -log(1 + position)"},
        {"price-weight", CLI_DOUBLE, &cfg.price_weight, NULL, 0, 0, "conversion slope on -log price (poorest users)"},
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
    if (!out)
        return usage_error("gen ccp", "--out is required (a .csv or .csv.gz file, or - for standard output)");
    const char *problem = mtr_ccp_config_check(&cfg);
    if (problem) return usage_error("gen ccp", problem);
    int to_stdout = strcmp(out, "-") == 0;
    char spec_buf[4096];
    if ((problem = cli_spec_out(out, &spec_out, spec_buf, sizeof spec_buf))) return usage_error("gen ccp", problem);

    mtr_error err = {{0}};
    mtr_ccp_summary s;
    double t0 = mtr_seconds_now();
    if (mtr_gen_ccp_write(&cfg, out, spec_out, &s, &err) != 0) {
        fprintf(stderr, "mtrank gen ccp: %s\n", err.message);
        return 1;
    }
    double secs = mtr_seconds_now() - t0;
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
