/* cmd_gen_sessions.c - `mtrank gen sessions`: requests of one user with a candidate list each, with click,
 * cart, favourite, purchase and dwell labels and their ground truth (the simulator in src/gen/sessions.c),
 * written as CSV (gzip when the name ends in .gz) with its dataset spec, and a summary of the realised
 * rates. A thin client of mtr_gen_sessions_write; dispatched by cmd_gen.c. Real-valued settings are
 * CLI_DOUBLE options so that --ctr 0.05 is the double 0.05 the library call would get. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mtrank.h"

int gen_sessions(int argc, char **argv);

int gen_sessions(int argc, char **argv) {
    mtr_sessions_config cfg;
    mtr_sessions_config_default(&cfg);
    const char *out = NULL, *spec_out = NULL;
    cli_option opts[] = {
        {"requests", CLI_U64, &cfg.requests, NULL, 0, 0, "requests (candidate lists) to generate, 1..16777216"},
        {"seed", CLI_U64, &cfg.seed, NULL, 0, 0, "fixes the world (users, items, effects) and the intercepts"},
        {"stream", CLI_U64, &cfg.stream, NULL, 0, 0, "request stream: other stream = new requests, same world"},
        {"out", CLI_STRING, &out, NULL, 0, 0, "CSV output (gzip level 1 when it ends in .gz); - = stdout"},
        {"spec-out", CLI_STRING, &spec_out, NULL, 0, 0, "dataset spec (default: FILE minus .gz/.csv, plus .spec)"},
        {"list-length", CLI_INT, &cfg.list_length, NULL, 1, MTR_SESSIONS_MAX_LIST, "candidates per request"},
        {"ctr", CLI_DOUBLE, &cfg.ctr, NULL, 0, 0, "target logged clicks per candidate, in (0, 1)"},
        {"cart-rate", CLI_DOUBLE, &cfg.cart_rate, NULL, 0, 0, "target carts per click, in (0, 1)"},
        {"fav-rate", CLI_DOUBLE, &cfg.fav_rate, NULL, 0, 0, "target favourites per click, in (0, 1)"},
        {"purchase-rate", CLI_DOUBLE, &cfg.purchase_rate, NULL, 0, 0, "target purchases per click without a cart"},
        {"cart-purchase-rate", CLI_DOUBLE, &cfg.cart_purchase_rate, NULL, 0, 0, "target purchases per carted click"},
        {"dwell-median", CLI_DOUBLE, &cfg.dwell_median, NULL, 0, 0, "target median dwell of a click, seconds"},
        {"dwell-sigma", CLI_DOUBLE, &cfg.dwell_sigma, NULL, 0, 0, "log-scale sd of a dwell around its mean"},
        {"overlap", CLI_DOUBLE, &cfg.overlap, NULL, 0, 0, "correlation of click and conversion factors, [0, 1]"},
        {"users", CLI_INT, &cfg.n_users, NULL, 1, 100000000, "users"},
        {"items", CLI_INT, &cfg.n_items, NULL, 2, 100000000, "items (at least twice the list length)"},
        {"dim", CLI_INT, &cfg.dim, NULL, 1, 256, "latent taste dimension"},
        {"categories", CLI_INT, &cfg.n_categories, NULL, 1, 1000000, "item categories"},
        {"brands", CLI_INT, &cfg.n_brands, NULL, 1, 10000000, "brands (each in one category)"},
        {"shops", CLI_INT, &cfg.n_shops, NULL, 1, 10000000, "shops (each with a hidden quality)"},
        {"item-zipf", CLI_DOUBLE, &cfg.item_zipf, NULL, 0, 0, "item popularity ~ 1 / rank^s"},
        {"retrieval-taste", CLI_DOUBLE, &cfg.retrieval_taste, NULL, 0, 0,
         "share of candidates from the user's favourite categories"},
        {"logging-taste", CLI_DOUBLE, &cfg.logging_taste, NULL, 0, 0, "logging policy: weight of the click affinity"},
        {"logging-noise", CLI_DOUBLE, &cfg.logging_noise, NULL, 0, 0, "logging policy: sd of its score noise"},
        {"position-scale", CLI_DOUBLE, &cfg.position_scale, NULL, 0, 0, "examination (1 + k/scale)^-power at position k"},
        {"position-power", CLI_DOUBLE, &cfg.position_power, NULL, 0, 0, "... its power (0 = no position bias)"},
        {"new-share", CLI_DOUBLE, &cfg.new_share, NULL, 0, 0, "share of items listed less than 7 days ago"},
        {"promotion-share", CLI_DOUBLE, &cfg.promotion_share, NULL, 0, 0, "share of promoted items"},
        {"low-quality-share", CLI_DOUBLE, &cfg.low_quality_share, NULL, 0, 0, "share of low-quality items, [0, 0.5]"},
        {"price-median", CLI_DOUBLE, &cfg.price_median, NULL, 0, 0, "median price (currency units)"},
        {"price-weight", CLI_DOUBLE, &cfg.price_weight, NULL, 0, 0, "cart/purchase slope on -log price (poorest users)"},
        {"calibration-requests", CLI_INT, &cfg.calibration_requests, NULL, 100, 10000000,
         "requests that calibrate the intercepts"},
        {"threads", CLI_INT, &cfg.threads, NULL, 0, 16, "threads compressing .gz output (0 = none); same bytes"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    const char *synopsis = "gen sessions --requests N --seed S --out FILE [--spec-out FILE.spec] [options]";
    if (wants_help(argc, argv)) {
        cli_usage(stdout, synopsis,
                  "Requests (sessions) of one user with a candidate list each, for multi-objective ranking\n"
                  "(docs/sessions-simulator.md). Users and items with latent tastes; candidates retrieved by\n"
                  "popularity and the user's favourite categories, shown in a logging-policy order; the\n"
                  "logged click depends on the position (examination); cart, favourite, purchase and dwell\n"
                  "follow a click. Every row carries the true probabilities, the expected dwell, utilities\n"
                  "(expected GMV and engagement per examination) and the examination of its position.\n"
                  "Writes CSV with a header, one row per candidate (request_id, position_logged, user,\n"
                  "context and item fields, labels click,cart,fav,purchase,dwell, truth), the matching\n"
                  "dataset spec, and prints the realised rates against their targets.",
                  opts, n);
        return 0;
    }
    char msg[512];
    const char *pos[1];
    int n_pos;
    if (cli_parse(argc, argv, 3, opts, n, pos, 0, &n_pos, msg, sizeof msg) != 0)
        return usage_error("gen sessions", msg);
    if (!out)
        return usage_error("gen sessions", "--out is required (a .csv or .csv.gz file, or - for standard output)");
    const char *problem = mtr_sessions_config_check(&cfg);
    if (problem) return usage_error("gen sessions", problem);
    int to_stdout = strcmp(out, "-") == 0;
    char spec_buf[4096];
    if ((problem = cli_spec_out(out, &spec_out, spec_buf, sizeof spec_buf))) return usage_error("gen sessions", problem);

    mtr_error err = {{0}};
    mtr_sessions_summary s;
    double t0 = mtr_seconds_now();
    if (mtr_gen_sessions_write(&cfg, out, spec_out, &s, &err) != 0) {
        fprintf(stderr, "mtrank gen sessions: %s\n", err.message);
        return 1;
    }
    double secs = mtr_seconds_now() - t0;
    FILE *info = to_stdout ? stderr : stdout; /* the data may be on stdout */
    fprintf(info, "wrote %llu requests x %d candidates = %llu rows to %s%s%s (seed %llu, stream %llu) in %.2f s, "
                  "%.0f rows/s\n",
            (unsigned long long)s.requests, cfg.list_length, (unsigned long long)s.candidates, out,
            spec_out ? ", spec " : "", spec_out ? spec_out : "", (unsigned long long)cfg.seed,
            (unsigned long long)cfg.stream, secs, secs > 0 ? (double)s.candidates / secs : 0.0);
    fprintf(info, "world: %d users, %d items, dim %d, overlap %g; intercepts click %.4f, cart %.4f, fav %.4f, "
                  "purchase %.4f (+%.4f after a cart), log dwell %.4f\n",
            cfg.n_users, cfg.n_items, cfg.dim, cfg.overlap, s.click_intercept, s.cart_intercept, s.fav_intercept,
            s.purchase_intercept, s.cart_lift, s.dwell_log_median);
    fprintf(info, "CTR %.6f (%llu clicks; target %g, mean examine x true_click %.6f); mean examine %.4f, "
                  "mean true_click %.4f\n",
            s.ctr, (unsigned long long)s.clicks, cfg.ctr, s.mean_expected_click, s.mean_examine, s.mean_true_click);
    fprintf(info, "per click: cart %.4f (target %g, mean true_cart %.4f), fav %.4f (target %g, mean true_fav %.4f), "
                  "purchase %.4f (mean true_purchase %.4f)\n",
            s.cart_rate, cfg.cart_rate, s.mean_true_cart_clicked, s.fav_rate, cfg.fav_rate, s.mean_true_fav_clicked,
            s.purchase_rate, s.mean_true_purchase_clicked);
    fprintf(info, "purchase without a cart %.4f (target %g), after a cart %.4f (target %g); %llu purchases, "
                  "GMV %.2f\n",
            s.purchase_nocart_rate, cfg.purchase_rate, s.purchase_cart_rate, cfg.cart_purchase_rate,
            (unsigned long long)s.purchases, s.gmv);
    fprintf(info, "dwell over clicks: median %.2f s (target %g), mean %.2f s (mean true_dwell %.2f s)\n",
            s.dwell_median, cfg.dwell_median, s.dwell_mean, s.mean_true_dwell_clicked);
    fprintf(info, "candidates: new %.4f, promoted %.4f, low quality %.4f\n", s.new_share, s.promotion_share,
            s.low_quality_share);
    fprintf(info, "expected GMV@10 per request: logged order %.4f, ideal order %.4f\n", s.logged_gmv_at10,
            s.ideal_gmv_at10);
    return 0;
}
