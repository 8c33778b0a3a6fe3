/* cmd_gen_sessions.c - `mtrank gen sessions`: requests of one user with a candidate list each, with click,
 * cart, favourite, purchase and dwell labels and their ground truth (the simulator in src/gen/sessions.c),
 * written as CSV (gzip when the name ends in .gz) with its dataset spec, and a summary of the realised
 * rates. A thin client of mtr_gen_sessions_write; dispatched by cmd_gen.c. Real-valued settings are parsed
 * as doubles (strtod) so that --ctr 0.05 is the double 0.05 the library call would get. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mtrank.h"
#include "util/parse_number.h"

int gen_sessions(int argc, char **argv);

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

/* The spec's default name: FILE without .gz and then without .csv, plus .spec (s.csv.gz -> s.spec). */
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

int gen_sessions(int argc, char **argv) {
    mtr_sessions_config cfg;
    mtr_sessions_config_default(&cfg);
    const char *out = NULL, *spec_out = NULL;
    enum { N_REAL = 19 };
    real_option reals[N_REAL];
    real_init(&reals[0], "ctr", &cfg.ctr);
    real_init(&reals[1], "cart-rate", &cfg.cart_rate);
    real_init(&reals[2], "fav-rate", &cfg.fav_rate);
    real_init(&reals[3], "purchase-rate", &cfg.purchase_rate);
    real_init(&reals[4], "cart-purchase-rate", &cfg.cart_purchase_rate);
    real_init(&reals[5], "dwell-median", &cfg.dwell_median);
    real_init(&reals[6], "dwell-sigma", &cfg.dwell_sigma);
    real_init(&reals[7], "overlap", &cfg.overlap);
    real_init(&reals[8], "item-zipf", &cfg.item_zipf);
    real_init(&reals[9], "retrieval-taste", &cfg.retrieval_taste);
    real_init(&reals[10], "logging-taste", &cfg.logging_taste);
    real_init(&reals[11], "logging-noise", &cfg.logging_noise);
    real_init(&reals[12], "position-scale", &cfg.position_scale);
    real_init(&reals[13], "position-power", &cfg.position_power);
    real_init(&reals[14], "new-share", &cfg.new_share);
    real_init(&reals[15], "promotion-share", &cfg.promotion_share);
    real_init(&reals[16], "low-quality-share", &cfg.low_quality_share);
    real_init(&reals[17], "price-median", &cfg.price_median);
    real_init(&reals[18], "price-weight", &cfg.price_weight);
    cli_option opts[] = {
        {"requests", CLI_U64, &cfg.requests, NULL, 0, 0, "requests (candidate lists) to generate, 1..16777216"},
        {"seed", CLI_U64, &cfg.seed, NULL, 0, 0, "fixes the world (users, items, effects) and the intercepts"},
        {"stream", CLI_U64, &cfg.stream, NULL, 0, 0, "request stream: other stream = new requests, same world"},
        {"out", CLI_STRING, &out, NULL, 0, 0, "CSV output (gzip level 1 when it ends in .gz); - = stdout"},
        {"spec-out", CLI_STRING, &spec_out, NULL, 0, 0, "dataset spec (default: FILE minus .gz/.csv, plus .spec)"},
        {"list-length", CLI_INT, &cfg.list_length, NULL, 1, MTR_SESSIONS_MAX_LIST, "candidates per request"},
        {"ctr", CLI_STRING, &reals[0].text, NULL, 0, 0, "target logged clicks per candidate, in (0, 1)"},
        {"cart-rate", CLI_STRING, &reals[1].text, NULL, 0, 0, "target carts per click, in (0, 1)"},
        {"fav-rate", CLI_STRING, &reals[2].text, NULL, 0, 0, "target favourites per click, in (0, 1)"},
        {"purchase-rate", CLI_STRING, &reals[3].text, NULL, 0, 0, "target purchases per click without a cart"},
        {"cart-purchase-rate", CLI_STRING, &reals[4].text, NULL, 0, 0, "target purchases per carted click"},
        {"dwell-median", CLI_STRING, &reals[5].text, NULL, 0, 0, "target median dwell of a click, seconds"},
        {"dwell-sigma", CLI_STRING, &reals[6].text, NULL, 0, 0, "log-scale sd of a dwell around its mean"},
        {"overlap", CLI_STRING, &reals[7].text, NULL, 0, 0, "correlation of click and conversion factors, [0, 1]"},
        {"users", CLI_INT, &cfg.n_users, NULL, 1, 100000000, "users"},
        {"items", CLI_INT, &cfg.n_items, NULL, 2, 100000000, "items (at least twice the list length)"},
        {"dim", CLI_INT, &cfg.dim, NULL, 1, 256, "latent taste dimension"},
        {"categories", CLI_INT, &cfg.n_categories, NULL, 1, 1000000, "item categories"},
        {"brands", CLI_INT, &cfg.n_brands, NULL, 1, 10000000, "brands (each in one category)"},
        {"shops", CLI_INT, &cfg.n_shops, NULL, 1, 10000000, "shops (each with a hidden quality)"},
        {"item-zipf", CLI_STRING, &reals[8].text, NULL, 0, 0, "item popularity ~ 1 / rank^s"},
        {"retrieval-taste", CLI_STRING, &reals[9].text, NULL, 0, 0,
         "share of candidates from the user's favourite categories"},
        {"logging-taste", CLI_STRING, &reals[10].text, NULL, 0, 0, "logging policy: weight of the click affinity"},
        {"logging-noise", CLI_STRING, &reals[11].text, NULL, 0, 0, "logging policy: sd of its score noise"},
        {"position-scale", CLI_STRING, &reals[12].text, NULL, 0, 0, "examination (1 + k/scale)^-power at position k"},
        {"position-power", CLI_STRING, &reals[13].text, NULL, 0, 0, "... its power (0 = no position bias)"},
        {"new-share", CLI_STRING, &reals[14].text, NULL, 0, 0, "share of items listed less than 7 days ago"},
        {"promotion-share", CLI_STRING, &reals[15].text, NULL, 0, 0, "share of promoted items"},
        {"low-quality-share", CLI_STRING, &reals[16].text, NULL, 0, 0, "share of low-quality items, [0, 0.5]"},
        {"price-median", CLI_STRING, &reals[17].text, NULL, 0, 0, "median price (currency units)"},
        {"price-weight", CLI_STRING, &reals[18].text, NULL, 0, 0, "cart/purchase slope on -log price (poorest users)"},
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
    for (int i = 0; i < N_REAL; i++)
        if (mtr_parse_double(reals[i].text, strlen(reals[i].text), reals[i].target) != 0) {
            snprintf(msg, sizeof msg, "--%s: expected a number, got '%s'", reals[i].name, reals[i].text);
            return usage_error("gen sessions", msg);
        }
    if (!out)
        return usage_error("gen sessions", "--out is required (a .csv or .csv.gz file, or - for standard output)");
    const char *problem = mtr_sessions_config_check(&cfg);
    if (problem) return usage_error("gen sessions", problem);
    int to_stdout = strcmp(out, "-") == 0;
    char spec_buf[4096];
    if (!spec_out && !to_stdout) {
        if (strlen(out) + 6 > sizeof spec_buf) return usage_error("gen sessions", "--out: path too long");
        default_spec_path(out, spec_buf, sizeof spec_buf);
        spec_out = spec_buf;
    }
    if (spec_out && strcmp(spec_out, out) == 0)
        return usage_error("gen sessions", "--spec-out must differ from --out");

    mtr_error err = {{0}};
    mtr_sessions_summary s;
    double t0 = seconds_now();
    if (mtr_gen_sessions_write(&cfg, out, spec_out, &s, &err) != 0) {
        fprintf(stderr, "mtrank gen sessions: %s\n", err.message);
        return 1;
    }
    double secs = seconds_now() - t0;
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
