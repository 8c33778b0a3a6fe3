/* sessions.c - the multi-objective session simulator: requests of one user with a candidate list each,
 * five objectives (click, cart, favourite, purchase, dwell) and their true probabilities. See sessions.h
 * for the random streams, mtrank.h for the public calls and docs/sessions-simulator.md for the world
 * model, which this file follows term by term (a_c = <u_c, v_c>/sqrt(d), a_v = <u_v, v_v>/sqrt(d), x = log
 * price relative to the median, o = overlap mixing as in the ccp simulator):
 *
 *   click     zc = a0 + a_c + user click bias + category and brand attractiveness + freshness + promotion
 *                  + low-quality clickbait - 0.1 x + context
 *   purchase  zp = p0 + a_v + user conversion bias + category and brand appeal + 0.4 shop quality
 *                  + promotion - low quality - new item - price slope x + intent + context (mixed)
 *                  + cart_lift after a cart
 *   cart      zk = k0 + 0.7 a_v + 0.5 a_c + the purchase terms with 0.2 shop quality, half the price
 *                  slope, a smaller low-quality penalty and no new-item penalty
 *   favourite zf = f0 + 0.8 a_c + user favourite bias + category attractiveness + 0.2 x - low quality
 *   dwell     log seconds ~ N(c + 0.3 a_c + 0.2 a_v + user dwell bias + 0.1 x - 0.3 low quality, sigma^2),
 *             or a quick abandonment U(1, 5) s with probability 5 % (30 % for low-quality items)
 *
 * The world is built once; each request is then drawn from its own random stream: user, context, intent,
 * retrieval, the logging policy's order, then the outcomes of its candidates in logged order. Memory is
 * the world plus one request, whatever the number of requests. Probabilities are rounded to float before
 * the draws, so the truth handed out is exactly what the labels were drawn with. */
#include "gen/sessions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/csv_sink.h"
#include "gen/gen_util.h"
#include "util/error.h"
#include "util/rng.h"

/* ---------------------------------------------------------------- fixed parts of the world model */

#define N_AGE 8
#define N_GENDER 3
#define N_CITY 100
#define N_PURCHASE_POWER 5
#define N_SEGMENT 10
#define N_CONTEXT 4 /* hour, weekday, device, scene */
static const int context_levels[N_CONTEXT] = {24, 7, 4, 6};
static const double context_effect_sd[N_CONTEXT] = {0.1, 0.1, 0.1, 0.25}; /* the scene matters most */

static const double age_share[N_AGE] = {0.04, 0.18, 0.26, 0.20, 0.14, 0.09, 0.06, 0.03};
static const double age_wealth[N_AGE] = {-0.8, -0.4, 0.0, 0.2, 0.3, 0.2, 0.0, -0.3};
static const double gender_share[N_GENDER] = {0.10, 0.50, 0.40}; /* unknown, female, male */

#define CITY_ZIPF 1.0           /* city sizes ~ 1 / rank */
#define CITY_WEALTH 0.8         /* purchase-power shift of the largest cities, decaying as exp(-rank/30) */
#define SEGMENT_SKEW 1.5        /* segment shares per (age, gender) ~ exp(skew N(0, 1)) */
#define SEGMENT_SHARE 0.5       /* of a user's taste variance that comes from the segment centroid */
#define USER_BIAS_SD 0.3        /* per-user click and conversion propensities */
#define FAV_BIAS_SD 0.5         /* per-user favouriting habit */
#define DWELL_BIAS_SD 0.3       /* per-user reading speed (log seconds) */
#define ACTIVITY_SD 1.0         /* requests per user ~ lognormal(0, sd^2) */
#define BAG_EXTRA_MEAN 1.5      /* favourite categories: 1 + Poisson(mean), cut at MTR_SESSIONS_MAX_BAG */
#define BAG_STRENGTH 2.0        /* softmax weight of taste when picking a favourite category */
#define BAG_CANDIDATES 8        /* popular categories considered per pick */
#define BAG_TRIES 3             /* redraws of a pick that repeats a category already in the bag */

#define CATEGORY_ZIPF 0.9       /* brands per category, favourite-category candidates */
#define BRAND_ZIPF 0.9          /* items per brand */
#define SHOP_ZIPF 0.9           /* items per shop */
#define TASTE_CATEGORY 0.4      /* shares of an item's taste variance: category, brand, the item itself */
#define TASTE_BRAND 0.3
#define TASTE_ITEM 0.3
#define ATTRACT_SD 0.3          /* category and brand attractiveness (click) and appeal (conversion) */
#define PRICE_CATEGORY_SD 0.8   /* log price = log median + category level + brand premium + item noise */
#define PRICE_BRAND_SD 0.3
#define PRICE_ITEM_SD 0.5
#define PRICE_MAX_CENTS 100000000.0 /* prices are capped at 10^6 currency units */
#define PRICE_CLICK 0.1         /* cheaper items draw a few more clicks */
#define PRICE_FAV 0.2           /* pricier items are favourited more (wish lists) */
#define PRICE_DWELL 0.1         /* and read longer */
#define PRICE_RELIEF 0.2        /* price sensitivity = price_weight (1 - relief * purchase_power) */
#define CART_CONV_TASTE 0.7     /* a cart is partly a purchase intention (the conversion affinity) ... */
#define CART_CLICK_TASTE 0.5    /* ... and partly liking (the click affinity) */
#define CART_PRICE 0.5          /* carts feel half the price sensitivity of purchases */
#define SHOP_CART 0.2           /* cart logit per unit of hidden shop quality ~ N(0, 1) */
#define SHOP_PURCHASE 0.4       /* purchase logit per unit of shop quality */
#define NEW_DAYS 7              /* an item is new when listed less than this many days ago */
#define AGE_OLD_MEAN 180.0      /* other items: 7 + Exponential(mean) days, cut at AGE_MAX */
#define AGE_MAX 3650
#define FRESHNESS 0.3           /* click boost FRESHNESS exp(-age / FRESHNESS_DAYS) */
#define FRESHNESS_DAYS 14.0
#define NEW_PURCHASE (-0.2)     /* new items have no reviews yet */
#define PROMO_CLICK 0.3         /* promoted items: badge, discount */
#define PROMO_CART 0.2
#define PROMO_PURCHASE 0.3
#define LOWQ_CLICK 0.2          /* low-quality items: clickbait pictures ... */
#define LOWQ_CART (-0.5)        /* ... that convert less */
#define LOWQ_FAV (-0.5)
#define LOWQ_PURCHASE (-1.0)
#define LOWQ_DWELL (-0.3)
#define BOUNCE 0.05             /* chance a click is abandoned at once (dwell U(BOUNCE_MIN, BOUNCE_MAX)) */
#define BOUNCE_LOWQ 0.30        /* the same for low-quality items */
#define BOUNCE_MIN 1.0
#define BOUNCE_MAX 5.0
#define FAV_TASTE 0.8           /* favourites follow the click (liking) taste */
#define DWELL_CLICK_TASTE 0.3   /* log-dwell slope on the click affinity */
#define DWELL_CONV_TASTE 0.2    /* and on the conversion affinity */
#define DWELL_MAX 86400.0       /* dwell is capped at a day */
#define INTENT_SD 0.5           /* a request's shopping intent ~ N(0, sd^2), on the cart and purchase logits */
#define CONTEXT_SHARE_SD 0.5    /* shares of the levels of weekday, device and scene */
#define RETRIEVAL_TRIES 16      /* redraws of a candidate that is already in the list, then a scan */
#define INTERCEPT_RANGE 60.0    /* intercepts are searched in [-range, range] */
#define MAX_CALIBRATION_CANDIDATES 10000000.0 /* calibration_requests x list_length at most */

/* ---------------------------------------------------------------- configuration */

void mtr_sessions_config_default(mtr_sessions_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->requests = 10000;
    cfg->seed = 1;
    cfg->stream = 0;
    cfg->list_length = 100;
    cfg->ctr = 0.05;
    cfg->cart_rate = 0.15;
    cfg->fav_rate = 0.08;
    cfg->purchase_rate = 0.03;
    cfg->cart_purchase_rate = 0.20;
    cfg->dwell_median = 30.0;
    cfg->dwell_sigma = 0.8;
    cfg->overlap = 0.5;
    cfg->n_users = 100000;
    cfg->n_items = 200000;
    cfg->dim = 8;
    cfg->n_categories = 200;
    cfg->n_brands = 10000;
    cfg->n_shops = 20000;
    cfg->item_zipf = 0.8;
    cfg->retrieval_taste = 0.5;
    cfg->logging_taste = 0.5;
    cfg->logging_noise = 1.0;
    cfg->position_scale = 10.0;
    cfg->position_power = 0.7;
    cfg->new_share = 0.04;
    cfg->promotion_share = 0.10;
    cfg->low_quality_share = 0.05;
    cfg->price_median = 30.0;
    cfg->price_weight = 0.5;
    cfg->calibration_requests = 2000;
    cfg->threads = 1;
}

static int in_open(double x, double lo, double hi) { return x > lo && x < hi; }

const char *mtr_sessions_config_check(const mtr_sessions_config *cfg) {
    if (cfg->requests < 1 || cfg->requests > MTR_SESSIONS_MAX_REQUESTS) return "requests must be in 1..16777216";
    if (cfg->list_length < 1 || cfg->list_length > MTR_SESSIONS_MAX_LIST) return "list length must be in 1..1000";
    if (!in_open(cfg->ctr, 0.0, 1.0)) return "ctr (the target logged click rate) must be in (0, 1)";
    if (!in_open(cfg->cart_rate, 0.0, 1.0)) return "cart rate (carts per click) must be in (0, 1)";
    if (!in_open(cfg->fav_rate, 0.0, 1.0)) return "fav rate (favourites per click) must be in (0, 1)";
    if (!in_open(cfg->purchase_rate, 0.0, 1.0))
        return "purchase rate (purchases per click without a cart) must be in (0, 1)";
    if (!in_open(cfg->cart_purchase_rate, 0.0, 1.0))
        return "cart purchase rate (purchases per carted click) must be in (0, 1)";
    if (!mtr_gen_in_range(cfg->dwell_median, 1.0, 3600.0)) return "dwell median must be in [1, 3600] seconds";
    if (!mtr_gen_in_range(cfg->dwell_sigma, 0.05, 3.0)) return "dwell sigma must be in [0.05, 3]";
    if (!mtr_gen_in_range(cfg->overlap, 0.0, 1.0)) return "overlap must be in [0, 1]";
    if (cfg->n_users < 1 || cfg->n_users > 100000000) return "users must be in 1..100000000";
    if (cfg->n_items < 2 || cfg->n_items > 100000000) return "items must be in 2..100000000";
    if (cfg->n_items < 2 * cfg->list_length) return "items must be at least twice the list length";
    if (cfg->dim < 1 || cfg->dim > 256) return "dim (latent taste dimension) must be in 1..256";
    if (cfg->n_categories < 1 || cfg->n_categories > 1000000) return "categories must be in 1..1000000";
    if (cfg->n_brands < 1 || cfg->n_brands > 10000000) return "brands must be in 1..10000000";
    if (cfg->n_shops < 1 || cfg->n_shops > 10000000) return "shops must be in 1..10000000";
    if (!mtr_gen_in_range(cfg->item_zipf, 0.0, 4.0)) return "item Zipf exponent must be in [0, 4]";
    if (!mtr_gen_in_range(cfg->retrieval_taste, 0.0, 1.0)) return "retrieval taste share must be in [0, 1]";
    if (!mtr_gen_in_range(cfg->logging_taste, 0.0, 100.0)) return "logging taste weight must be in [0, 100]";
    if (!mtr_gen_in_range(cfg->logging_noise, 0.0, 100.0)) return "logging noise must be in [0, 100]";
    if (!(cfg->position_scale > 0.0 && cfg->position_scale <= 1e6)) return "position scale must be in (0, 1000000]";
    if (!mtr_gen_in_range(cfg->position_power, 0.0, 10.0)) return "position power must be in [0, 10]";
    if (!mtr_gen_in_range(cfg->new_share, 0.0, 1.0)) return "new item share must be in [0, 1]";
    if (!mtr_gen_in_range(cfg->promotion_share, 0.0, 1.0)) return "promotion share must be in [0, 1]";
    if (!mtr_gen_in_range(cfg->low_quality_share, 0.0, 0.5)) return "low-quality share must be in [0, 0.5]";
    if (!mtr_gen_in_range(cfg->price_median, 0.1, 10000.0)) return "price median must be in [0.1, 10000]";
    if (!mtr_gen_in_range(cfg->price_weight, 0.0, 100.0)) return "price weight must be in [0, 100]";
    if (cfg->calibration_requests < 100) return "calibration requests must be at least 100";
    if ((double)cfg->calibration_requests * cfg->list_length > MAX_CALIBRATION_CANDIDATES)
        return "calibration requests x list length must be at most 10000000";
    if (cfg->threads < 0 || cfg->threads > 16) return "threads must be in 0..16";
    return NULL;
}

static const struct {
    const char *name; /* CSV column */
    int max_ids;      /* 1, or MTR_SESSIONS_MAX_BAG for the bag */
} fields[MTR_SESSIONS_FIELDS] = {
    {"user_id", 1}, {"age_bucket", 1}, {"gender", 1}, {"city", 1}, {"purchase_power", 1}, {"user_segment", 1},
    {"recent_categories", MTR_SESSIONS_MAX_BAG}, {"hour", 1}, {"weekday", 1}, {"device", 1}, {"scene", 1},
    {"item_id", 1}, {"category", 1}, {"brand", 1}, {"shop", 1},
};

static const char *const numeric_names[MTR_SESSIONS_NUMERIC] = {"price", "age_days", "promotion", "low_quality"};
static const char *const task_names[MTR_SESSIONS_TASKS] = {"click", "cart", "fav", "purchase", "dwell"};
static const char *const truth_names[MTR_SESSIONS_TRUTH] = {
    "true_click", "true_cart", "true_fav", "true_purchase", "true_dwell", "utility_gmv", "utility_engagement",
    "examine"};

const char mtr_sessions_csv_header[] =
    "request_id,position_logged,user_id,age_bucket,gender,city,purchase_power,user_segment,recent_categories,"
    "hour,weekday,device,scene,item_id,category,brand,shop,price,age_days,promotion,low_quality,"
    "click,cart,fav,purchase,dwell,"
    "true_click,true_cart,true_fav,true_purchase,true_dwell,utility_gmv,utility_engagement,examine";

const char *mtr_sessions_field(const mtr_sessions_config *cfg, int f, uint32_t *cardinality, int *max_ids) {
    if (f < 0 || f >= MTR_SESSIONS_FIELDS) return NULL;
    uint32_t card = 0;
    switch (f) {
    case SESS_USER_ID: card = (uint32_t)cfg->n_users; break;
    case SESS_AGE: card = N_AGE; break;
    case SESS_GENDER: card = N_GENDER; break;
    case SESS_CITY: card = N_CITY; break;
    case SESS_PURCHASE_POWER: card = N_PURCHASE_POWER; break;
    case SESS_SEGMENT: card = N_SEGMENT; break;
    case SESS_RECENT_CATEGORIES: card = (uint32_t)cfg->n_categories; break;
    case SESS_ITEM_ID: card = (uint32_t)cfg->n_items; break;
    case SESS_CATEGORY: card = (uint32_t)cfg->n_categories; break;
    case SESS_BRAND: card = (uint32_t)cfg->n_brands; break;
    case SESS_SHOP: card = (uint32_t)cfg->n_shops; break;
    default: card = (uint32_t)context_levels[f - SESS_HOUR]; break;
    }
    if (cardinality) *cardinality = card;
    if (max_ids) *max_ids = fields[f].max_ids;
    return fields[f].name;
}

const char *mtr_sessions_numeric_name(int i) { return i >= 0 && i < MTR_SESSIONS_NUMERIC ? numeric_names[i] : NULL; }
const char *mtr_sessions_task_name(int t) { return t >= 0 && t < MTR_SESSIONS_TASKS ? task_names[t] : NULL; }
const char *mtr_sessions_truth_name(int i) { return i >= 0 && i < MTR_SESSIONS_TRUTH ? truth_names[i] : NULL; }

int mtr_session_candidate_ids(const mtr_session_request *req, int k, uint32_t id_start[MTR_SESSIONS_FIELDS + 1],
                              uint32_t ids[MTR_SESSIONS_MAX_IDS]) {
    const mtr_session_candidate *c = &req->cand[k];
    uint32_t n = 0;
    int f = 0;
    id_start[f++] = n;
    ids[n++] = req->user;
    for (int a = 0; a < 5; a++) {
        id_start[f++] = n;
        ids[n++] = req->user_attr[a];
    }
    id_start[f++] = n;
    for (int j = 0; j < req->n_recent; j++) ids[n++] = req->recent[j];
    for (int a = 0; a < N_CONTEXT; a++) {
        id_start[f++] = n;
        ids[n++] = req->context[a];
    }
    const uint32_t item_fields[4] = {c->item, c->category, c->brand, c->shop};
    for (int a = 0; a < 4; a++) {
        id_start[f++] = n;
        ids[n++] = item_fields[a];
    }
    id_start[f] = n;
    return (int)n;
}

void mtr_session_candidate_numeric(const mtr_session_request *req, int k, float out[MTR_SESSIONS_NUMERIC]) {
    const mtr_session_candidate *c = &req->cand[k];
    out[0] = c->price;
    out[1] = c->age_days;
    out[2] = (float)c->promotion;
    out[3] = (float)c->low_quality;
}

/* ---------------------------------------------------------------- the world */

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* What a request needs of its user besides the taste vectors. */
typedef struct user_rec {
    float click_bias;                        /* click propensity */
    float conv_bias;                         /* cart and purchase propensity, mixed by overlap */
    float fav_bias;                          /* favouriting habit */
    float dwell_bias;                        /* reading speed, log seconds */
    float price_slope;                       /* price_weight (1 - PRICE_RELIEF purchase_power) */
    uint16_t attr[5];                        /* age, gender, city, purchase power, segment */
    uint8_t n_recent;                        /* favourite categories, 1..MTR_SESSIONS_MAX_BAG */
    uint32_t recent[MTR_SESSIONS_MAX_BAG];   /* their ids */
} user_rec;

/* What a candidate needs of its item besides the taste vectors: the item's parts of each logit. */
typedef struct item_rec {
    float click_static;    /* attractiveness + freshness + promotion + clickbait - PRICE_CLICK x */
    float cart_static;     /* appeal + SHOP_CART quality + promotion + low-quality penalty */
    float purchase_static; /* appeal + SHOP_PURCHASE quality + promotion + low-quality and new-item penalties */
    float fav_static;      /* category attractiveness + PRICE_FAV x + low-quality penalty */
    float dwell_static;    /* PRICE_DWELL x + low-quality penalty (log seconds) */
    float log_price;       /* x = log(price / price_median) */
    float log_pop;         /* log of the popularity weight, -item_zipf log(rank + 1) */
    uint32_t price_cents;  /* the price in cents */
    uint32_t category;     /* the brand's category */
    uint32_t brand;        /* Zipf over brands */
    uint32_t shop;         /* Zipf over shops */
    uint16_t age_days;     /* days since listing */
    uint8_t promotion;     /* flag */
    uint8_t low_quality;   /* flag */
} item_rec;

typedef struct sess_world {
    int dim;                    /* d */
    int list_length;            /* L */
    uint32_t n_users, n_items, n_categories, n_brands, n_shops;
    double retrieval_taste;     /* share of candidates drawn from favourite categories */
    double logging_taste;       /* logging policy's weight on the click affinity */
    double logging_noise;       /* logging policy's noise sd */
    float *exam;                /* (L) examination probability of each position */

    /* catalogue (SESS_STREAM_CATALOGUE) */
    float *segment_click;       /* (N_SEGMENT, d) taste centroids in click space */
    float *segment_conv;        /* (N_SEGMENT, d) independent part of the conversion centroids */
    mtr_alias_table segment_of[N_AGE * N_GENDER]; /* segment given (age, gender) */
    mtr_alias_table age, gender, city;
    float *category_click;      /* (categories, d) */
    float *category_conv;       /* (categories, d) independent part */
    float *category_attract;    /* (categories) click attractiveness */
    float *category_appeal;     /* (categories) conversion appeal, mixed */
    float *category_price;      /* (categories) log-price level */
    mtr_alias_table category_pop; /* which category a brand is in; favourite-category candidates */
    uint32_t *brand_category;   /* (brands) */
    float *brand_click;         /* (brands, d) */
    float *brand_conv;          /* (brands, d) independent part */
    float *brand_attract;       /* (brands) */
    float *brand_appeal;        /* (brands) mixed */
    float *brand_price;         /* (brands) log-price premium */
    mtr_alias_table brand_pop;  /* which brand an item has */
    float *shop_quality;        /* (shops) hidden, N(0, 1) */
    mtr_alias_table shop_pop;   /* which shop sells an item */
    mtr_alias_table context[N_CONTEXT];  /* how often each level of each context field occurs */
    float *context_click[N_CONTEXT];     /* (levels) click effects */
    float *context_conv[N_CONTEXT];      /* (levels) cart and purchase effects, mixed */

    /* users (SESS_STREAM_USERS) and items (SESS_STREAM_ITEMS) */
    float *user_vec;            /* (users, 2d): u_c / sqrt(d), then u_v / sqrt(d) */
    user_rec *users;            /* (users) */
    mtr_alias_table user_activity; /* who sends the next request */
    float *item_vec;            /* (items, 2d): v_c, then v_v */
    item_rec *items;            /* (items) */
    mtr_alias_table item_pop;   /* popularity, Zipf over a random permutation */
    uint32_t *cat_items;        /* (items) item ids grouped by category */
    uint32_t *cat_start;        /* (categories + 1) category c's items are cat_items[cat_start[c] ..] */
    mtr_alias_table *cat_pop;   /* (categories) popularity within the category (n = 0 when it has none) */
} sess_world;

static void world_free(sess_world *w) {
    free(w->exam);
    free(w->segment_click);
    free(w->segment_conv);
    for (int i = 0; i < N_AGE * N_GENDER; i++) mtr_alias_free(&w->segment_of[i]);
    mtr_alias_free(&w->age);
    mtr_alias_free(&w->gender);
    mtr_alias_free(&w->city);
    free(w->category_click);
    free(w->category_conv);
    free(w->category_attract);
    free(w->category_appeal);
    free(w->category_price);
    mtr_alias_free(&w->category_pop);
    free(w->brand_category);
    free(w->brand_click);
    free(w->brand_conv);
    free(w->brand_attract);
    free(w->brand_appeal);
    free(w->brand_price);
    mtr_alias_free(&w->brand_pop);
    free(w->shop_quality);
    mtr_alias_free(&w->shop_pop);
    for (int c = 0; c < N_CONTEXT; c++) {
        mtr_alias_free(&w->context[c]);
        free(w->context_click[c]);
        free(w->context_conv[c]);
    }
    free(w->user_vec);
    free(w->users);
    mtr_alias_free(&w->user_activity);
    free(w->item_vec);
    free(w->items);
    mtr_alias_free(&w->item_pop);
    free(w->cat_items);
    free(w->cat_start);
    if (w->cat_pop)
        for (uint32_t c = 0; c < w->n_categories; c++) mtr_alias_free(&w->cat_pop[c]);
    free(w->cat_pop);
    memset(w, 0, sizeof *w);
}

static int build_catalogue(sess_world *w, const mtr_sessions_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, SESS_STREAM_CATALOGUE));
    size_t d = (size_t)w->dim, C = w->n_categories, B = w->n_brands, S = w->n_shops;
    int failed = 0;
    w->segment_click = mtr_gen_alloc(N_SEGMENT * d, sizeof(float), &failed);
    w->segment_conv = mtr_gen_alloc(N_SEGMENT * d, sizeof(float), &failed);
    w->category_click = mtr_gen_alloc(C * d, sizeof(float), &failed);
    w->category_conv = mtr_gen_alloc(C * d, sizeof(float), &failed);
    w->category_attract = mtr_gen_alloc(C, sizeof(float), &failed);
    w->category_appeal = mtr_gen_alloc(C, sizeof(float), &failed);
    w->category_price = mtr_gen_alloc(C, sizeof(float), &failed);
    w->brand_category = mtr_gen_alloc(B, sizeof(uint32_t), &failed);
    w->brand_click = mtr_gen_alloc(B * d, sizeof(float), &failed);
    w->brand_conv = mtr_gen_alloc(B * d, sizeof(float), &failed);
    w->brand_attract = mtr_gen_alloc(B, sizeof(float), &failed);
    w->brand_appeal = mtr_gen_alloc(B, sizeof(float), &failed);
    w->brand_price = mtr_gen_alloc(B, sizeof(float), &failed);
    w->shop_quality = mtr_gen_alloc(S, sizeof(float), &failed);
    for (int c = 0; c < N_CONTEXT; c++) {
        w->context_click[c] = mtr_gen_alloc((size_t)context_levels[c], sizeof(float), &failed);
        w->context_conv[c] = mtr_gen_alloc((size_t)context_levels[c], sizeof(float), &failed);
    }
    if (failed) return -1;
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap);

    /* users' attribute tables */
    if (mtr_alias_build(&w->age, age_share, N_AGE) || mtr_alias_build(&w->gender, gender_share, N_GENDER))
        return -1;
    double city_w[N_CITY];
    for (int i = 0; i < N_CITY; i++) city_w[i] = pow(i + 1.0, -CITY_ZIPF);
    if (mtr_alias_build(&w->city, city_w, N_CITY)) return -1;
    for (int i = 0; i < N_AGE * N_GENDER; i++)
        if (mtr_lognormal_alias(&w->segment_of[i], N_SEGMENT, SEGMENT_SKEW, &rng)) return -1;
    mtr_normal_fill_float(w->segment_click, N_SEGMENT * d, 1.0, &rng);
    mtr_normal_fill_float(w->segment_conv, N_SEGMENT * d, 1.0, &rng);

    /* categories */
    mtr_normal_fill_float(w->category_click, C * d, 1.0, &rng);
    mtr_normal_fill_float(w->category_conv, C * d, 1.0, &rng);
    mtr_normal_fill_float(w->category_attract, C, ATTRACT_SD, &rng);
    mtr_normal_fill_float(w->category_appeal, C, ATTRACT_SD, &rng);
    for (size_t i = 0; i < C; i++)
        w->category_appeal[i] = (float)(so * w->category_attract[i] + sn * w->category_appeal[i]);
    mtr_normal_fill_float(w->category_price, C, PRICE_CATEGORY_SD, &rng);
    if (mtr_zipf_alias(&w->category_pop, (uint32_t)C, CATEGORY_ZIPF, &rng)) return -1;

    /* brands */
    for (size_t b = 0; b < B; b++) w->brand_category[b] = mtr_alias_draw(&w->category_pop, &rng);
    mtr_normal_fill_float(w->brand_click, B * d, 1.0, &rng);
    mtr_normal_fill_float(w->brand_conv, B * d, 1.0, &rng);
    mtr_normal_fill_float(w->brand_attract, B, ATTRACT_SD, &rng);
    mtr_normal_fill_float(w->brand_appeal, B, ATTRACT_SD, &rng);
    for (size_t i = 0; i < B; i++)
        w->brand_appeal[i] = (float)(so * w->brand_attract[i] + sn * w->brand_appeal[i]);
    mtr_normal_fill_float(w->brand_price, B, PRICE_BRAND_SD, &rng);
    if (mtr_zipf_alias(&w->brand_pop, (uint32_t)B, BRAND_ZIPF, &rng)) return -1;

    /* shops */
    mtr_normal_fill_float(w->shop_quality, S, 1.0, &rng);
    if (mtr_zipf_alias(&w->shop_pop, (uint32_t)S, SHOP_ZIPF, &rng)) return -1;

    /* context: the hour has a fixed daily shape, the other fields random shares */
    for (int c = 0; c < N_CONTEXT; c++) {
        int L = context_levels[c];
        double share[64];
        for (int l = 0; l < L; l++)
            share[l] = c == 0 ? 1.0 + 0.8 * cos(6.283185307179586 * (l - 21) / 24.0) /* peak at 21h */
                              : exp(CONTEXT_SHARE_SD * mtr_rng_normal(&rng));
        if (mtr_alias_build(&w->context[c], share, (uint32_t)L)) return -1;
        for (int l = 0; l < L; l++) {
            double e[2];
            mtr_normal_fill(e, 2, &rng);
            w->context_click[c][l] = (float)(context_effect_sd[c] * e[0]);
            w->context_conv[c][l] = (float)(context_effect_sd[c] * (so * e[0] + sn * e[1]));
        }
    }
    return 0;
}

/* One favourite category: BAG_CANDIDATES popular categories, one picked by softmax of
 * BAG_STRENGTH <taste, category vector> / sqrt(d). */
static uint32_t favourite_pick(const sess_world *w, const float *taste, mtr_rng *rng) {
    uint32_t cand[BAG_CANDIDATES];
    double s[BAG_CANDIDATES], smax = -HUGE_VAL;
    size_t d = (size_t)w->dim;
    double scale = BAG_STRENGTH / sqrt((double)w->dim);
    for (int k = 0; k < BAG_CANDIDATES; k++) {
        uint32_t id = cand[k] = mtr_alias_draw(&w->category_pop, rng);
        s[k] = scale * mtr_gen_dot(taste, w->category_click + (size_t)id * d, w->dim);
        if (s[k] > smax) smax = s[k];
    }
    double total = 0.0;
    for (int k = 0; k < BAG_CANDIDATES; k++) total += (s[k] = exp(s[k] - smax));
    double u = mtr_rng_uniform(rng) * total;
    for (int k = 0; k < BAG_CANDIDATES - 1; k++) {
        if (u < s[k]) return cand[k];
        u -= s[k];
    }
    return cand[BAG_CANDIDATES - 1];
}

static int build_users(sess_world *w, const mtr_sessions_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, SESS_STREAM_USERS));
    size_t d = (size_t)w->dim, U = w->n_users;
    int failed = 0;
    w->user_vec = mtr_gen_alloc(U * 2 * d, sizeof(float), &failed);
    w->users = mtr_gen_alloc(U, sizeof(user_rec), &failed);
    double *activity = mtr_gen_alloc(U, sizeof(double), &failed);
    double *z = mtr_gen_alloc(2 * d + 6, sizeof(double), &failed); /* one user's normal draws */
    float *taste = mtr_gen_alloc(d, sizeof(float), &failed);
    if (failed) {
        free(activity);
        free(z);
        free(taste);
        return -1;
    }
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap), scale = 1.0 / sqrt((double)d);
    double seg = sqrt(SEGMENT_SHARE), own = sqrt(1.0 - SEGMENT_SHARE);
    for (size_t u = 0; u < U; u++) {
        user_rec *r = &w->users[u];
        int age = (int)mtr_alias_draw(&w->age, &rng), gender = (int)mtr_alias_draw(&w->gender, &rng);
        int city = (int)mtr_alias_draw(&w->city, &rng);
        int segment = (int)mtr_alias_draw(&w->segment_of[age * N_GENDER + gender], &rng);
        /* z: click taste noise (d), conversion taste noise (d), wealth, four biases, activity */
        mtr_normal_fill(z, 2 * d + 6, &rng);
        double wealth = z[2 * d] + age_wealth[age] + CITY_WEALTH * exp(-city / 30.0);
        int power = mtr_gen_clamp_int(floor(wealth + 2.5), 0, N_PURCHASE_POWER - 1);
        double bias_click = USER_BIAS_SD * z[2 * d + 1], bias_conv = USER_BIAS_SD * z[2 * d + 2];
        activity[u] = exp(ACTIVITY_SD * z[2 * d + 5]);
        float *uc = w->user_vec + u * 2 * d, *uv = uc + d;
        for (size_t k = 0; k < d; k++) {
            double click = seg * w->segment_click[(size_t)segment * d + k] + own * z[k];
            double conv = seg * w->segment_conv[(size_t)segment * d + k] + own * z[d + k];
            taste[k] = (float)click;
            uc[k] = (float)(scale * click);
            uv[k] = (float)(scale * (so * click + sn * conv));
        }
        r->attr[0] = (uint16_t)age;
        r->attr[1] = (uint16_t)gender;
        r->attr[2] = (uint16_t)city;
        r->attr[3] = (uint16_t)power;
        r->attr[4] = (uint16_t)segment;
        r->click_bias = (float)bias_click;
        r->conv_bias = (float)(so * bias_click + sn * bias_conv);
        r->fav_bias = (float)(FAV_BIAS_SD * z[2 * d + 3]);
        r->dwell_bias = (float)(DWELL_BIAS_SD * z[2 * d + 4]);
        r->price_slope = (float)(cfg->price_weight * (1.0 - PRICE_RELIEF * power));
        /* favourite categories, drawn towards the click taste, distinct; the first pick always stays */
        int want = 1 + mtr_poisson(BAG_EXTRA_MEAN, &rng), n = 0;
        if (want > MTR_SESSIONS_MAX_BAG) want = MTR_SESSIONS_MAX_BAG;
        for (int slot = 0; slot < want; slot++)
            for (int t = 0; t < BAG_TRIES; t++) {
                uint32_t id = favourite_pick(w, taste, &rng);
                int dup = 0;
                for (int j = 0; j < n; j++) dup |= r->recent[j] == id;
                if (!dup) {
                    r->recent[n++] = id;
                    break;
                }
            }
        r->n_recent = (uint8_t)n;
    }
    int rc = mtr_alias_build(&w->user_activity, activity, (uint32_t)U);
    free(activity);
    free(z);
    free(taste);
    return rc;
}

/* Items, their popularity, and each category's items with their popularity for taste retrieval. */
static int build_items(sess_world *w, const mtr_sessions_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, SESS_STREAM_ITEMS));
    size_t d = (size_t)w->dim, I = w->n_items, C = w->n_categories;
    int failed = 0;
    w->item_vec = mtr_gen_alloc(I * 2 * d, sizeof(float), &failed);
    w->items = mtr_gen_alloc(I, sizeof(item_rec), &failed);
    w->cat_items = mtr_gen_alloc(I, sizeof(uint32_t), &failed);
    w->cat_start = mtr_gen_alloc(C + 1, sizeof(uint32_t), &failed);
    w->cat_pop = mtr_gen_alloc(C, sizeof(mtr_alias_table), &failed);
    double *z = mtr_gen_alloc(2 * d + 1, sizeof(double), &failed); /* one item's normal draws */
    double *pop = mtr_gen_alloc(I, sizeof(double), &failed);      /* popularity weights */
    uint32_t *fill = mtr_gen_alloc(C, sizeof(uint32_t), &failed);
    int rc = -1;
    if (failed) goto out;
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap);
    double tc = sqrt(TASTE_CATEGORY), tb = sqrt(TASTE_BRAND), ti = sqrt(TASTE_ITEM);
    double log_median = log(cfg->price_median);
    for (size_t i = 0; i < I; i++) {
        item_rec *r = &w->items[i];
        uint32_t brand = mtr_alias_draw(&w->brand_pop, &rng), shop = mtr_alias_draw(&w->shop_pop, &rng);
        uint32_t cat = w->brand_category[brand];
        /* four uniforms whatever the shares: new or not, the age, promoted, low quality */
        double u_new = mtr_rng_uniform(&rng), u_age = mtr_rng_uniform(&rng);
        double u_promo = mtr_rng_uniform(&rng), u_lowq = mtr_rng_uniform(&rng);
        /* z: click taste noise (d), conversion taste noise (d), price noise */
        mtr_normal_fill(z, 2 * d + 1, &rng);
        int age = u_new < cfg->new_share ? (int)(NEW_DAYS * u_age)
                                         : mtr_gen_clamp_int(NEW_DAYS - AGE_OLD_MEAN * log1p(-u_age), NEW_DAYS, AGE_MAX);
        int promo = u_promo < cfg->promotion_share;
        /* low quality is likelier in poor shops: 2 share sigmoid(-quality) averages to the share */
        int lowq = u_lowq < 2.0 * cfg->low_quality_share * mtr_gen_sigmoid(-(double)w->shop_quality[shop]);
        double lp = w->category_price[cat] + w->brand_price[brand] + PRICE_ITEM_SD * z[2 * d];
        double cents = floor(100.0 * exp(log_median + lp) + 0.5);
        if (cents < 1.0) cents = 1.0;
        if (cents > PRICE_MAX_CENTS) cents = PRICE_MAX_CENTS;
        double x = log(cents / 100.0) - log_median;
        float *vc = w->item_vec + i * 2 * d, *vv = vc + d;
        size_t ck = (size_t)cat * d, bk = (size_t)brand * d;
        for (size_t k = 0; k < d; k++) {
            double click = tc * w->category_click[ck + k] + tb * w->brand_click[bk + k] + ti * z[k];
            double conv = tc * w->category_conv[ck + k] + tb * w->brand_conv[bk + k] + ti * z[d + k];
            vc[k] = (float)click;
            vv[k] = (float)(so * click + sn * conv);
        }
        double q = w->shop_quality[shop], attract = w->category_attract[cat] + w->brand_attract[brand];
        double appeal = w->category_appeal[cat] + w->brand_appeal[brand];
        r->category = cat;
        r->brand = brand;
        r->shop = shop;
        r->age_days = (uint16_t)age;
        r->promotion = (uint8_t)promo;
        r->low_quality = (uint8_t)lowq;
        r->price_cents = (uint32_t)cents;
        r->log_price = (float)x;
        r->click_static = (float)(attract + FRESHNESS * exp(-age / FRESHNESS_DAYS) + PROMO_CLICK * promo +
                                  LOWQ_CLICK * lowq - PRICE_CLICK * x);
        r->cart_static = (float)(appeal + SHOP_CART * q + PROMO_CART * promo + LOWQ_CART * lowq);
        r->purchase_static = (float)(appeal + SHOP_PURCHASE * q + PROMO_PURCHASE * promo + LOWQ_PURCHASE * lowq +
                                     (age < NEW_DAYS ? NEW_PURCHASE : 0.0));
        r->fav_static = (float)(w->category_attract[cat] + PRICE_FAV * x + LOWQ_FAV * lowq);
        r->dwell_static = (float)(PRICE_DWELL * x + LOWQ_DWELL * lowq);
        w->cat_start[cat + 1]++;
    }
    if (mtr_zipf_weights(pop, (uint32_t)I, cfg->item_zipf, &rng) || mtr_alias_build(&w->item_pop, pop, (uint32_t)I))
        goto out;
    for (size_t i = 0; i < I; i++) w->items[i].log_pop = (float)log(pop[i]);
    /* items grouped by category, in id order, and an alias table of their popularity per category */
    for (size_t c = 0; c < C; c++) w->cat_start[c + 1] += w->cat_start[c];
    for (size_t i = 0; i < I; i++) {
        uint32_t c = w->items[i].category;
        w->cat_items[w->cat_start[c] + fill[c]++] = (uint32_t)i;
    }
    for (size_t c = 0; c < C; c++) {
        uint32_t first = w->cat_start[c], n = w->cat_start[c + 1] - first;
        if (n == 0) continue;
        double *cw = malloc((size_t)n * sizeof *cw);
        if (!cw) goto out;
        for (uint32_t j = 0; j < n; j++) cw[j] = pop[w->cat_items[first + j]];
        int bad = mtr_alias_build(&w->cat_pop[c], cw, n);
        free(cw);
        if (bad) goto out;
    }
    rc = 0;
out:
    free(z);
    free(pop);
    free(fill);
    return rc;
}

/* Examination of each position: (1 + k / scale)^-power. */
static int build_exam(sess_world *w, const mtr_sessions_config *cfg) {
    int failed = 0;
    w->exam = mtr_gen_alloc((size_t)w->list_length, sizeof(float), &failed);
    if (failed) return -1;
    for (int k = 0; k < w->list_length; k++)
        w->exam[k] = (float)pow(1.0 + k / cfg->position_scale, -cfg->position_power);
    return 0;
}

static int world_build(sess_world *w, const mtr_sessions_config *cfg, mtr_error *err) {
    memset(w, 0, sizeof *w);
    w->dim = cfg->dim;
    w->list_length = cfg->list_length;
    w->n_users = (uint32_t)cfg->n_users;
    w->n_items = (uint32_t)cfg->n_items;
    w->n_categories = (uint32_t)cfg->n_categories;
    w->n_brands = (uint32_t)cfg->n_brands;
    w->n_shops = (uint32_t)cfg->n_shops;
    w->retrieval_taste = cfg->retrieval_taste;
    w->logging_taste = cfg->logging_taste;
    w->logging_noise = cfg->logging_noise;
    if (build_catalogue(w, cfg) != 0 || build_users(w, cfg) != 0 || build_items(w, cfg) != 0 ||
        build_exam(w, cfg) != 0) {
        world_free(w);
        return mtr_fail(err, "session simulator: out of memory building the world (%d users, %d items, dim %d)",
                        cfg->n_users, cfg->n_items, cfg->dim);
    }
    return 0;
}

/* The click taste of user u (d floats, scaled by 1/sqrt(d)), followed by its conversion taste; likewise for
 * items (unscaled). */
static const float *user_taste(const sess_world *w, uint32_t u) {
    return w->user_vec + (size_t)u * 2 * (size_t)w->dim;
}

static const float *item_taste(const sess_world *w, uint32_t i) {
    return w->item_vec + (size_t)i * 2 * (size_t)w->dim;
}

/* ---------------------------------------------------------------- requests */

/* One candidate while its request is drawn. */
typedef struct cand_work {
    double score;   /* the logging policy's score: the list is shown in decreasing score */
    double zc;      /* click logit without its intercept */
    double zk;      /* cart logit without its intercept */
    double zp;      /* purchase logit without its intercept (and without the cart lift) */
    double zf;      /* favourite logit without its intercept */
    double zd;      /* mean log dwell without its intercept */
    uint32_t item;  /* which item */
    uint32_t draw;  /* retrieval order, which breaks ties of the score */
} cand_work;

/* One retrieval draw, split in two halves so that a list's worth of draws can have its memory loads in
 * flight together: the source and the alias column (retrieval_start), then the item (retrieval_item).
 * With probability retrieval_taste the source is one of the user's favourite categories (uniformly), and
 * the item is drawn by popularity within it; otherwise (or when that category has no items) by global
 * popularity. Draws: a uniform, [the category, below n_recent], the alias column and its coin. */
typedef struct retrieval {
    const mtr_alias_table *table; /* the alias table drawn from */
    uint32_t base;                /* the table's first item in cat_items, or UINT32_MAX for item_pop */
    uint32_t column;              /* the alias column */
    uint32_t coin;                /* its coin */
} retrieval;

/* Scratch for one request, sized once per run. */
typedef struct sess_scratch {
    cand_work *work;              /* (L) */
    double *noise;                /* (L) the logging policy's noise draws */
    mtr_session_candidate *cand;  /* (L) the request's candidates as handed out */
    uint32_t *set_key;            /* (set_mask + 1) open-addressing set of the items retrieved so far */
    uint32_t *set_stamp;          /* (set_mask + 1) slot in use when equal to stamp */
    uint32_t set_mask;            /* slots - 1, slots a power of two >= 4 L */
    uint32_t stamp;               /* the current request's mark */
    retrieval *retrieval;         /* (L) the retrieval draws in flight */
} sess_scratch;

static void scratch_free(sess_scratch *s) {
    free(s->work);
    free(s->noise);
    free(s->cand);
    free(s->set_key);
    free(s->set_stamp);
    free(s->retrieval);
    memset(s, 0, sizeof *s);
}

static int scratch_init(sess_scratch *s, int L) {
    memset(s, 0, sizeof *s);
    uint32_t slots = 16;
    while (slots < 4u * (uint32_t)L) slots *= 2;
    s->set_mask = slots - 1;
    s->work = malloc((size_t)L * sizeof *s->work);
    s->noise = malloc((size_t)L * sizeof *s->noise);
    s->cand = calloc((size_t)L, sizeof *s->cand);
    s->set_key = calloc(slots, sizeof *s->set_key);
    s->set_stamp = calloc(slots, sizeof *s->set_stamp);
    s->retrieval = malloc((size_t)L * sizeof *s->retrieval);
    if (s->work && s->noise && s->cand && s->set_key && s->set_stamp && s->retrieval) return 0;
    scratch_free(s);
    return -1;
}

/* Add item to the request's set; 0 if it was already there. */
static int set_insert(sess_scratch *s, uint32_t item) {
    uint32_t h = (uint32_t)(((uint64_t)item * 0x9E3779B97F4A7C15ull) >> 40) & s->set_mask;
    while (s->set_stamp[h] == s->stamp) {
        if (s->set_key[h] == item) return 0;
        h = (h + 1) & s->set_mask;
    }
    s->set_stamp[h] = s->stamp;
    s->set_key[h] = item;
    return 1;
}

static retrieval retrieval_start(const sess_world *w, const user_rec *ur, mtr_rng *rng) {
    retrieval r = {&w->item_pop, UINT32_MAX, 0, 0};
    if (mtr_rng_uniform(rng) < w->retrieval_taste) {
        uint32_t c = ur->recent[mtr_rng_below(rng, ur->n_recent)];
        if (w->cat_pop[c].n) {
            r.table = &w->cat_pop[c];
            r.base = w->cat_start[c];
        }
    }
    r.column = mtr_alias_column(r.table, rng, &r.coin);
    return r;
}

static uint32_t retrieval_item(const sess_world *w, const retrieval *r) {
    uint32_t i = mtr_alias_resolve(r->table, r->column, r->coin);
    return r->base == UINT32_MAX ? i : w->cat_items[r->base + i];
}

/* Retrieve a request's L distinct candidates into s->work: one draw per slot, all slots' loads overlapped;
 * then, in slot order, a slot whose item is already in the list draws again (whole draws) up to
 * RETRIEVAL_TRIES times, then takes the first free id from a uniform one on (n_items >= 2 L, so that
 * ends). */
static void retrieve(const sess_world *w, const user_rec *ur, mtr_rng *rng, sess_scratch *s) {
    int L = w->list_length;
    retrieval *r = s->retrieval;
    for (int k = 0; k < L; k++) {
        r[k] = retrieval_start(w, ur, rng);
        PREFETCH(&r[k].table->e[r[k].column]);
    }
    for (int k = 0; k < L; k++)
        if (r[k].base != UINT32_MAX)
            PREFETCH(&w->cat_items[r[k].base + mtr_alias_resolve(r[k].table, r[k].column, r[k].coin)]);
    for (int k = 0; k < L; k++) {
        uint32_t item = retrieval_item(w, &r[k]);
        for (int t = 0; !set_insert(s, item); t++) {
            if (t < RETRIEVAL_TRIES) {
                retrieval again = retrieval_start(w, ur, rng);
                item = retrieval_item(w, &again);
                continue;
            }
            item = (uint32_t)mtr_rng_below(rng, w->n_items);
            while (!set_insert(s, item)) item = item + 1 == w->n_items ? 0 : item + 1;
            break;
        }
        s->work[k].item = item;
        s->work[k].draw = (uint32_t)k;
        PREFETCH(&w->items[item]);
        PREFETCH(item_taste(w, item));
    }
}

/* Decreasing score, then retrieval order: a total order, so the sort is deterministic. */
static int by_score(const void *a, const void *b) {
    const cand_work *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->draw < y->draw ? -1 : x->draw > y->draw;
}

/* The request's user, context, intent and retrieved candidates, their logits and the logged order (into
 * s->work, sorted). Draws, in order: the user (column, coin), each context field (column, coin), the
 * intent (two uniforms), the candidates (see retrieve), then L normals of logging noise. */
static void draw_request(const sess_world *w, mtr_rng *rng, sess_scratch *s, mtr_session_request *req) {
    size_t d = (size_t)w->dim;
    int L = w->list_length;
    uint32_t u = mtr_alias_draw(&w->user_activity, rng);
    const user_rec *ur = &w->users[u];
    req->user = u;
    memcpy(req->user_attr, ur->attr, sizeof req->user_attr);
    req->n_recent = ur->n_recent;
    memcpy(req->recent, ur->recent, sizeof req->recent);
    double ctx_click = 0.0, ctx_conv = 0.0;
    for (int c = 0; c < N_CONTEXT; c++) {
        uint32_t l = mtr_alias_draw(&w->context[c], rng);
        req->context[c] = (uint16_t)l;
        ctx_click += w->context_click[c][l];
        ctx_conv += w->context_conv[c][l];
    }
    req->intent = INTENT_SD * mtr_rng_normal(rng);
    if (++s->stamp == 0) {
        memset(s->set_stamp, 0, ((size_t)s->set_mask + 1) * sizeof *s->set_stamp);
        s->stamp = 1;
    }
    retrieve(w, ur, rng, s);
    mtr_normal_fill(s->noise, (size_t)L, rng);
    const float *uc = user_taste(w, u), *uv = uc + d;
    double conv_user = ur->conv_bias + ctx_conv + req->intent;
    for (int k = 0; k < L; k++) {
        cand_work *c = &s->work[k];
        const item_rec *ir = &w->items[c->item];
        const float *vc = item_taste(w, c->item), *vv = vc + d;
        double ac = mtr_gen_dot(uc, vc, w->dim), av = mtr_gen_dot(uv, vv, w->dim);
        double price = (double)ur->price_slope * ir->log_price;
        c->score = ir->log_pop + w->logging_taste * ac + w->logging_noise * s->noise[k];
        c->zc = ac + ur->click_bias + ctx_click + ir->click_static;
        c->zk = CART_CONV_TASTE * av + CART_CLICK_TASTE * ac + conv_user - CART_PRICE * price + ir->cart_static;
        c->zp = av + conv_user - price + ir->purchase_static;
        c->zf = FAV_TASTE * ac + ur->fav_bias + ir->fav_static;
        c->zd = DWELL_CLICK_TASTE * ac + DWELL_CONV_TASTE * av + ur->dwell_bias + ir->dwell_static;
    }
    qsort(s->work, (size_t)L, sizeof *s->work, by_score);
}

/* The calibrated intercepts. */
typedef struct intercepts {
    double click;    /* a0 */
    double cart;     /* k0 */
    double fav;      /* f0 */
    double purchase; /* p0, without a cart */
    double lift;     /* added to p0 after a cart */
    double dwell;    /* c, the log-dwell intercept */
    double sigma;    /* dwell_sigma */
} intercepts;

static double bounce_chance(const item_rec *ir) { return ir->low_quality ? BOUNCE_LOWQ : BOUNCE; }

/* Outcomes of the request's candidates in logged order, into s->cand. Draws per candidate, always all of
 * them whatever the outcome: click, cart, favourite, purchase, abandonment, its length (uniforms), then
 * the dwell normal (two uniforms). */
static void draw_outcomes(const sess_world *w, const intercepts *ic, mtr_rng *rng, sess_scratch *s) {
    for (int k = 0; k < w->list_length; k++) {
        const cand_work *c = &s->work[k];
        const item_rec *ir = &w->items[c->item];
        mtr_session_candidate *o = &s->cand[k];
        double u_click = mtr_rng_uniform(rng), u_cart = mtr_rng_uniform(rng), u_fav = mtr_rng_uniform(rng);
        double u_buy = mtr_rng_uniform(rng), u_bounce = mtr_rng_uniform(rng), u_len = mtr_rng_uniform(rng);
        double nd = mtr_rng_normal(rng);
        float exam = w->exam[k];
        float pc = (float)mtr_gen_sigmoid(ic->click + c->zc), pk = (float)mtr_gen_sigmoid(ic->cart + c->zk);
        float pf = (float)mtr_gen_sigmoid(ic->fav + c->zf);
        float pn = (float)mtr_gen_sigmoid(ic->purchase + c->zp), py = (float)mtr_gen_sigmoid(ic->purchase + ic->lift + c->zp);
        float tp = (float)((double)pk * py + (1.0 - (double)pk) * pn);
        double mu = ic->dwell + c->zd, pb = bounce_chance(ir);
        float td = (float)(pb * 0.5 * (BOUNCE_MIN + BOUNCE_MAX) + (1.0 - pb) * exp(mu + 0.5 * ic->sigma * ic->sigma));
        int click = u_click < (double)exam * (double)pc;
        int cart = click && u_cart < (double)pk;
        int fav = click && u_fav < (double)pf;
        int buy = click && u_buy < (double)(cart ? py : pn);
        double dwell = 0.0;
        if (click) {
            double sec = u_bounce < pb ? BOUNCE_MIN + (BOUNCE_MAX - BOUNCE_MIN) * u_len : exp(mu + ic->sigma * nd);
            double cents = floor(100.0 * sec + 0.5);
            if (cents < 1.0) cents = 1.0;
            if (cents > 100.0 * DWELL_MAX) cents = 100.0 * DWELL_MAX;
            dwell = cents / 100.0;
        }
        o->item = c->item;
        o->category = ir->category;
        o->brand = ir->brand;
        o->shop = ir->shop;
        o->price = (float)(ir->price_cents / 100.0);
        o->age_days = (float)ir->age_days;
        o->promotion = ir->promotion;
        o->low_quality = ir->low_quality;
        o->position = (uint16_t)k;
        o->labels[MTR_SESSIONS_CLICK] = (float)click;
        o->labels[MTR_SESSIONS_CART] = (float)cart;
        o->labels[MTR_SESSIONS_FAV] = (float)fav;
        o->labels[MTR_SESSIONS_PURCHASE] = (float)buy;
        o->labels[MTR_SESSIONS_DWELL] = (float)dwell;
        o->truth[MTR_SESSIONS_TRUE_CLICK] = pc;
        o->truth[MTR_SESSIONS_TRUE_CART] = pk;
        o->truth[MTR_SESSIONS_TRUE_FAV] = pf;
        o->truth[MTR_SESSIONS_TRUE_PURCHASE] = tp;
        o->truth[MTR_SESSIONS_TRUE_DWELL] = td;
        o->truth[MTR_SESSIONS_UTILITY_GMV] = (float)((double)pc * tp * o->price);
        o->truth[MTR_SESSIONS_UTILITY_ENGAGEMENT] = (float)((double)pc * td);
        o->truth[MTR_SESSIONS_EXAMINE] = exam;
        o->purchase_split[0] = pn;
        o->purchase_split[1] = py;
    }
}

/* ---------------------------------------------------------------- calibration */

/* Solve sum_i wt_i F_i(c) / sum_i wt_i = 1/2 for the log-dwell intercept c, F_i(c) being candidate i's
 * probability of a dwell at most `median`: the abandonment mass below it plus the lognormal's
 * Phi((log median - c - zd_i) / sigma). The left side decreases in c; Newton steps inside a bracket. */
static int solve_dwell(const double *zd, const double *pb, const double *wt, size_t n, double median, double sigma,
                       double *out) {
    double lo = -INTERCEPT_RANGE, hi = INTERCEPT_RANGE, wsum = 0.0, zmean = 0.0;
    double below = (median - BOUNCE_MIN) / (BOUNCE_MAX - BOUNCE_MIN);
    below = below < 0.0 ? 0.0 : below > 1.0 ? 1.0 : below;
    for (size_t i = 0; i < n; i++) {
        wsum += wt[i];
        zmean += wt[i] * zd[i];
    }
    if (!(wsum > 0.0)) return -1;
    double lm = log(median), c = lm - zmean / wsum;
    for (int iter = 0; iter < 200; iter++) {
        double f = 0.0, df = 0.0;
        for (size_t i = 0; i < n; i++) {
            double t = (lm - c - zd[i]) / sigma;
            double phi = exp(-0.5 * t * t) * 0.3989422804014327, cdf = 0.5 * erfc(-t * 0.7071067811865476);
            f += wt[i] * (pb[i] * below + (1.0 - pb[i]) * cdf);
            df -= wt[i] * (1.0 - pb[i]) * phi / sigma;
        }
        f = f / wsum - 0.5;
        df /= wsum;
        if (fabs(f) <= 1e-12) break;
        if (f > 0) lo = c; /* too many short dwells: raise c */
        else hi = c;
        if (hi - lo < 1e-12) break;
        double next = df < 0 ? c - f / df : 0.5 * (lo + hi);
        c = next > lo && next < hi ? next : 0.5 * (lo + hi);
    }
    if (c <= -INTERCEPT_RANGE + 1e-6 || c >= INTERCEPT_RANGE - 1e-6) return -1;
    *out = c;
    return 0;
}

/* Draw calibration_requests requests from their own stream and solve, in order: a0 so that the mean of
 * exam x pCTR is ctr; then, weighting each candidate by its expected clicks exam x pCTR, k0 and f0 for
 * the cart and favourite rates; p0 for purchases per click without a cart (weights x (1 - pCart)); p0 +
 * lift for purchases per carted click (weights x pCart); and the dwell intercept for the median. */
static int calibrate(const sess_world *w, const mtr_sessions_config *cfg, sess_scratch *s, intercepts *ic,
                     mtr_error *err) {
    size_t L = (size_t)w->list_length, n = (size_t)cfg->calibration_requests * L;
    enum { ZC, ZK, ZP, ZF, ZD, EX, PB, W, W_NOCART, W_CART, N_ARR };
    double *a[N_ARR] = {0};
    int rc = -1;
    for (int j = 0; j < N_ARR; j++)
        if (!(a[j] = malloc(n * sizeof(double)))) {
            mtr_fail(err, "session simulator: out of memory for %zu calibration candidates", n);
            goto out;
        }
    uint64_t seed = mtr_seed_mix(cfg->seed, SESS_STREAM_CALIBRATION);
    mtr_session_request req;
    double exam_sum = 0.0;
    for (size_t r = 0; r < (size_t)cfg->calibration_requests; r++) {
        mtr_rng rng;
        mtr_rng_seed(&rng, mtr_seed_mix(seed, r));
        draw_request(w, &rng, s, &req);
        for (size_t k = 0; k < L; k++) {
            const cand_work *c = &s->work[k];
            size_t i = r * L + k;
            a[ZC][i] = c->zc;
            a[ZK][i] = c->zk;
            a[ZP][i] = c->zp;
            a[ZF][i] = c->zf;
            a[ZD][i] = c->zd;
            a[EX][i] = w->exam[k];
            a[PB][i] = bounce_chance(&w->items[c->item]);
            exam_sum += w->exam[k];
        }
    }
    /* mean(exam mtr_gen_sigmoid(a0 + zc)) = ctr  <=>  the exam-weighted mean of mtr_gen_sigmoid(a0 + zc) = ctr n / sum(exam) */
    double click_target = cfg->ctr * (double)n / exam_sum;
    if (!(click_target < 1.0)) {
        mtr_fail(err, "session simulator: ctr %g is out of reach: with this position bias the mean examination is "
                      "%g, and the click rate cannot exceed it", cfg->ctr, exam_sum / (double)n);
        goto out;
    }
    if (mtr_solve_intercept(a[ZC], a[EX], n, click_target, INTERCEPT_RANGE, &ic->click) != 0) {
        mtr_fail(err, "session simulator: no click intercept in [-%g, %g] gives a logged click rate of %g",
                 INTERCEPT_RANGE, INTERCEPT_RANGE, cfg->ctr);
        goto out;
    }
    for (size_t i = 0; i < n; i++) a[W][i] = a[EX][i] * mtr_gen_sigmoid(ic->click + a[ZC][i]);
    const char *what = NULL;
    if (mtr_solve_intercept(a[ZK], a[W], n, cfg->cart_rate, INTERCEPT_RANGE, &ic->cart) != 0) what = "cart";
    else if (mtr_solve_intercept(a[ZF], a[W], n, cfg->fav_rate, INTERCEPT_RANGE, &ic->fav) != 0) what = "favourite";
    if (what) {
        mtr_fail(err, "session simulator: no %s intercept in [-%g, %g] meets its target rate", what, INTERCEPT_RANGE,
                 INTERCEPT_RANGE);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double pk = mtr_gen_sigmoid(ic->cart + a[ZK][i]);
        a[W_NOCART][i] = a[W][i] * (1.0 - pk);
        a[W_CART][i] = a[W][i] * pk;
    }
    double p_cart = 0.0;
    if (mtr_solve_intercept(a[ZP], a[W_NOCART], n, cfg->purchase_rate, INTERCEPT_RANGE, &ic->purchase) != 0 ||
        mtr_solve_intercept(a[ZP], a[W_CART], n, cfg->cart_purchase_rate, INTERCEPT_RANGE, &p_cart) != 0) {
        mtr_fail(err, "session simulator: no purchase intercept in [-%g, %g] meets the purchase rates %g (no cart) "
                      "and %g (after a cart)", INTERCEPT_RANGE, INTERCEPT_RANGE, cfg->purchase_rate,
                 cfg->cart_purchase_rate);
        goto out;
    }
    ic->lift = p_cart - ic->purchase;
    ic->sigma = cfg->dwell_sigma;
    if (solve_dwell(a[ZD], a[PB], a[W], n, cfg->dwell_median, cfg->dwell_sigma, &ic->dwell) != 0) {
        mtr_fail(err, "session simulator: no dwell intercept gives a median dwell of %g s", cfg->dwell_median);
        goto out;
    }
    rc = 0;
out:
    for (int j = 0; j < N_ARR; j++) free(a[j]);
    return rc;
}

/* ---------------------------------------------------------------- the request stream */

/* Dwell histogram for the summary's median: bins of DWELL_BIN in log seconds from log(0.01). */
#define DWELL_BIN 0.005
#define DWELL_LOG_MIN (-4.605170185988091) /* log(0.01) */
#define DWELL_BINS 3200                     /* up to log(0.01) + 16 > log(86400) */

/* Sum of exam(k) utility_gmv over the first min(10, L) positions of the list as logged, and of the best
 * order (utility_gmv decreasing: by the rearrangement inequality no order of the list does better). */
static void gmv_at10(const sess_world *w, const mtr_session_candidate *cand, double *logged, double *ideal) {
    int L = w->list_length, K = L < 10 ? L : 10;
    float top[10];
    int n = 0;
    *logged = 0.0;
    for (int k = 0; k < L; k++) {
        float g = cand[k].truth[MTR_SESSIONS_UTILITY_GMV];
        if (k < K) *logged += (double)w->exam[k] * g;
        int j = n < K ? n++ : K; /* insertion into the K largest, decreasing */
        if (j == K && !(g > top[K - 1])) continue;
        if (j == K) j = K - 1;
        while (j > 0 && top[j - 1] < g) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = g;
    }
    *ideal = 0.0;
    for (int k = 0; k < K; k++) *ideal += (double)w->exam[k] * top[k];
}

int mtr_gen_sessions(const mtr_sessions_config *cfg, mtr_session_fn fn, void *user, mtr_sessions_summary *summary,
                     mtr_error *err) {
    const char *problem = mtr_sessions_config_check(cfg);
    if (problem) return mtr_fail(err, "session simulator: %s", problem);
    sess_world w;
    if (world_build(&w, cfg, err) != 0) return -1;
    sess_scratch s;
    uint64_t *hist = calloc(DWELL_BINS, sizeof *hist);
    if (scratch_init(&s, cfg->list_length) != 0 || !hist) {
        free(hist);
        world_free(&w);
        return mtr_fail(err, "session simulator: out of memory");
    }
    intercepts ic = {0};
    int rc = calibrate(&w, cfg, &s, &ic, err);
    uint64_t stream_seed = mtr_seed_mix(mtr_seed_mix(cfg->seed, SESS_STREAM_REQUESTS), cfg->stream);
    uint64_t clicks = 0, carts = 0, favs = 0, buys = 0, cart_buys = 0, n_new = 0, n_promo = 0, n_lowq = 0;
    double sum_exam = 0.0, sum_tc = 0.0, sum_etc = 0.0, sum_tk = 0.0, sum_tf = 0.0, sum_tp = 0.0, sum_td = 0.0;
    double sum_dwell = 0.0, gmv = 0.0, sum_logged = 0.0, sum_ideal = 0.0;
    mtr_session_request req;
    memset(&req, 0, sizeof req);
    req.n = cfg->list_length;
    req.cand = s.cand;
    for (uint64_t r = 0; rc == 0 && r < cfg->requests; r++) {
        mtr_rng rng;
        mtr_rng_seed(&rng, mtr_seed_mix(stream_seed, r));
        req.index = r;
        draw_request(&w, &rng, &s, &req);
        draw_outcomes(&w, &ic, &rng, &s);
        for (int k = 0; k < req.n; k++) {
            const mtr_session_candidate *c = &s.cand[k];
            sum_exam += c->truth[MTR_SESSIONS_EXAMINE];
            sum_tc += c->truth[MTR_SESSIONS_TRUE_CLICK];
            sum_etc += (double)c->truth[MTR_SESSIONS_EXAMINE] * c->truth[MTR_SESSIONS_TRUE_CLICK];
            n_new += c->age_days < NEW_DAYS;
            n_promo += c->promotion;
            n_lowq += c->low_quality;
            if (c->labels[MTR_SESSIONS_CLICK] == 0.0f) continue;
            clicks++;
            carts += c->labels[MTR_SESSIONS_CART] != 0.0f;
            favs += c->labels[MTR_SESSIONS_FAV] != 0.0f;
            buys += c->labels[MTR_SESSIONS_PURCHASE] != 0.0f;
            cart_buys += c->labels[MTR_SESSIONS_PURCHASE] != 0.0f && c->labels[MTR_SESSIONS_CART] != 0.0f;
            if (c->labels[MTR_SESSIONS_PURCHASE] != 0.0f) gmv += c->price;
            sum_tk += c->truth[MTR_SESSIONS_TRUE_CART];
            sum_tf += c->truth[MTR_SESSIONS_TRUE_FAV];
            sum_tp += c->truth[MTR_SESSIONS_TRUE_PURCHASE];
            sum_td += c->truth[MTR_SESSIONS_TRUE_DWELL];
            double dwell = c->labels[MTR_SESSIONS_DWELL];
            sum_dwell += dwell;
            int bin = (int)((log(dwell) - DWELL_LOG_MIN) / DWELL_BIN);
            hist[bin < 0 ? 0 : bin >= DWELL_BINS ? DWELL_BINS - 1 : bin]++;
        }
        double logged, ideal;
        gmv_at10(&w, s.cand, &logged, &ideal);
        sum_logged += logged;
        sum_ideal += ideal;
        if (fn && fn(&req, user) != 0) {
            rc = mtr_fail(err, "session simulator: stopped by the request callback at request %llu",
                          (unsigned long long)r);
            break;
        }
    }
    if (rc == 0 && summary) {
        double n = (double)cfg->requests * cfg->list_length, nc = (double)clicks;
        memset(summary, 0, sizeof *summary);
        summary->requests = cfg->requests;
        summary->candidates = cfg->requests * (uint64_t)cfg->list_length;
        summary->clicks = clicks;
        summary->carts = carts;
        summary->favs = favs;
        summary->purchases = buys;
        summary->cart_purchases = cart_buys;
        summary->ctr = nc / n;
        summary->cart_rate = clicks ? (double)carts / nc : NAN;
        summary->fav_rate = clicks ? (double)favs / nc : NAN;
        summary->purchase_rate = clicks ? (double)buys / nc : NAN;
        summary->purchase_nocart_rate = clicks > carts ? (double)(buys - cart_buys) / (double)(clicks - carts) : NAN;
        summary->purchase_cart_rate = carts ? (double)cart_buys / (double)carts : NAN;
        summary->dwell_mean = clicks ? sum_dwell / nc : NAN;
        summary->dwell_median = NAN;
        uint64_t seen = 0;
        for (int b = 0; clicks && b < DWELL_BINS; b++) {
            if (2 * (seen + hist[b]) >= clicks) { /* the median falls in bin b: interpolate within it */
                double frac = ((double)clicks / 2.0 - (double)seen) / (double)hist[b];
                summary->dwell_median = exp(DWELL_LOG_MIN + DWELL_BIN * (b + frac));
                break;
            }
            seen += hist[b];
        }
        summary->mean_examine = sum_exam / n;
        summary->mean_true_click = sum_tc / n;
        summary->mean_expected_click = sum_etc / n;
        summary->mean_true_cart_clicked = clicks ? sum_tk / nc : NAN;
        summary->mean_true_fav_clicked = clicks ? sum_tf / nc : NAN;
        summary->mean_true_purchase_clicked = clicks ? sum_tp / nc : NAN;
        summary->mean_true_dwell_clicked = clicks ? sum_td / nc : NAN;
        summary->new_share = (double)n_new / n;
        summary->promotion_share = (double)n_promo / n;
        summary->low_quality_share = (double)n_lowq / n;
        summary->gmv = gmv;
        summary->logged_gmv_at10 = sum_logged / (double)cfg->requests;
        summary->ideal_gmv_at10 = sum_ideal / (double)cfg->requests;
        summary->click_intercept = ic.click;
        summary->cart_intercept = ic.cart;
        summary->fav_intercept = ic.fav;
        summary->purchase_intercept = ic.purchase;
        summary->cart_lift = ic.lift;
        summary->dwell_log_median = ic.dwell;
    }
    free(hist);
    scratch_free(&s);
    world_free(&w);
    return rc;
}

/* ---------------------------------------------------------------- CSV and spec */

/* A non-negative amount in cents as "units.cc" ("12.30"); 0 as "0". */
static char *put_cents(char *p, float value) {
    uint64_t cents = (uint64_t)llround((double)value * 100.0);
    if (cents == 0) {
        *p++ = '0';
        return p;
    }
    p = mtr_put_u32(p, (uint32_t)(cents / 100));
    *p++ = '.';
    *p++ = (char)('0' + cents / 10 % 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

size_t mtr_sessions_format_row(const mtr_session_request *req, int k, char *buf) {
    const mtr_session_candidate *c = &req->cand[k];
    char *p = buf;
    p = mtr_put_u32(p, (uint32_t)req->index);
    *p++ = ',';
    p = mtr_put_u32(p, c->position);
    *p++ = ',';
    p = mtr_put_u32(p, req->user);
    for (int a = 0; a < 5; a++) {
        *p++ = ',';
        p = mtr_put_u32(p, req->user_attr[a]);
    }
    *p++ = ',';
    for (int j = 0; j < req->n_recent; j++) {
        if (j) *p++ = ';';
        p = mtr_put_u32(p, req->recent[j]);
    }
    for (int a = 0; a < N_CONTEXT; a++) {
        *p++ = ',';
        p = mtr_put_u32(p, req->context[a]);
    }
    const uint32_t item_fields[4] = {c->item, c->category, c->brand, c->shop};
    for (int a = 0; a < 4; a++) {
        *p++ = ',';
        p = mtr_put_u32(p, item_fields[a]);
    }
    *p++ = ',';
    p = put_cents(p, c->price);
    *p++ = ',';
    p = mtr_put_u32(p, (uint32_t)c->age_days);
    *p++ = ',';
    *p++ = c->promotion ? '1' : '0';
    *p++ = ',';
    *p++ = c->low_quality ? '1' : '0';
    for (int t = 0; t < MTR_SESSIONS_DWELL; t++) {
        *p++ = ',';
        *p++ = c->labels[t] != 0.0f ? '1' : '0';
    }
    *p++ = ',';
    p = put_cents(p, c->labels[MTR_SESSIONS_DWELL]);
    for (int i = 0; i < MTR_SESSIONS_TRUTH; i++) {
        *p++ = ',';
        int prob = i < MTR_SESSIONS_TRUE_DWELL || i == MTR_SESSIONS_EXAMINE; /* the others exceed 1 */
        p = prob ? mtr_put_prob(p, c->truth[i]) : mtr_put_float(p, c->truth[i]);
    }
    *p++ = '\n';
    return (size_t)(p - buf);
}

char *mtr_sessions_spec_text(const mtr_sessions_config *cfg, mtr_error *err) {
    const char *problem = mtr_sessions_config_check(cfg);
    if (problem) {
        mtr_fail(err, "session simulator: %s", problem);
        return NULL;
    }
    mtr_text t = {0};
    mtr_text_add(&t, "# Multi-objective sessions written by `mtrank gen sessions` (docs/sessions-simulator.md):\n");
    mtr_text_add(&t, "# %llu requests of %d candidates, seed %llu, stream %llu; targets ctr %.15g, cart %.15g,\n",
                 (unsigned long long)cfg->requests, cfg->list_length, (unsigned long long)cfg->seed,
                 (unsigned long long)cfg->stream, cfg->ctr, cfg->cart_rate);
    mtr_text_add(&t, "# fav %.15g, purchase %.15g (no cart) and %.15g (after a cart), dwell median %.15g s;\n",
                 cfg->fav_rate, cfg->purchase_rate, cfg->cart_purchase_rate, cfg->dwell_median);
    mtr_text_add(&t, "# %d users, %d items, dim %d, %d categories, %d brands, %d shops, overlap %.15g.\n",
                 cfg->n_users, cfg->n_items, cfg->dim, cfg->n_categories, cfg->n_brands, cfg->n_shops, cfg->overlap);
    mtr_text_add(&t, "# A request's candidates are consecutive rows in logged order. request_id (the group key)\n"
                     "# and position_logged are aux: known, but never inputs. The true_*, utility_* and examine\n"
                     "# columns are ground truth (aux); labels are never inputs. dwell is 0 without a click.\n\n");
    mtr_text_add(&t, "[input]\nheader = yes\ndelimiter = \",\"\n");
    mtr_text_add(&t, "missing =                 # nothing is missing\n");
    /* the columns in file order, six to a line */
    const char *cols[2 + MTR_SESSIONS_FIELDS + MTR_SESSIONS_NUMERIC + MTR_SESSIONS_TASKS + MTR_SESSIONS_TRUTH];
    int nc = 0;
    cols[nc++] = "request_id";
    cols[nc++] = "position_logged";
    for (int f = 0; f < MTR_SESSIONS_FIELDS; f++) cols[nc++] = fields[f].name;
    for (int i = 0; i < MTR_SESSIONS_NUMERIC; i++) cols[nc++] = numeric_names[i];
    for (int i = 0; i < MTR_SESSIONS_TASKS; i++) cols[nc++] = task_names[i];
    for (int i = 0; i < MTR_SESSIONS_TRUTH; i++) cols[nc++] = truth_names[i];
    mtr_text_add(&t, "columns =");
    for (int i = 0; i < nc; i++)
        mtr_text_add(&t, " %s%s", cols[i], i + 1 == nc ? "\n" : i % 6 == 5 ? ", \\\n         " : ",");
    mtr_text_add(&t, "\n[features]\n");
    mtr_text_add(&t, "request_id = aux          # group key: the rows of one request are one candidate list\n");
    mtr_text_add(&t, "position_logged = aux     # where the logging policy showed the item (0 = top)\n");
    for (int i = 0; i < MTR_SESSIONS_TRUTH; i++)
        mtr_text_add(&t, "%s = aux%s\n", truth_names[i], i == 0 ? "         # ground truth, never an input" : "");
    for (int f = 0; f < MTR_SESSIONS_FIELDS; f++) {
        uint32_t card;
        int max_ids;
        const char *name = mtr_sessions_field(cfg, f, &card, &max_ids);
        if (f == SESS_USER_ID || f == SESS_ITEM_ID)
            mtr_text_add(&t, "%s = categorical hash=%u   # %u ids\n", name, 2u * card, card);
        else if (max_ids > 1)
            mtr_text_add(&t, "%s = categorical multi sep=\";\" pool=sum table=category   # 1 to %d of %u ids\n",
                         name, max_ids, card);
        else
            mtr_text_add(&t, "%s = categorical\n", name);
    }
    mtr_text_add(&t, "price = numeric norm=log1p_standard\nage_days = numeric norm=log1p_standard\n");
    mtr_text_add(&t, "promotion = numeric norm=none\nlow_quality = numeric norm=none\n");
    for (int i = 0; i < MTR_SESSIONS_TASKS; i++) {
        if (i == MTR_SESSIONS_DWELL)
            mtr_text_add(&t, "\n[task dwell]              # seconds, 0 without a click\ncolumn = dwell\n"
                             "type = regression\n");
        else
            mtr_text_add(&t, "\n[task %s]\ncolumn = %s\ntype = binary\npositive = 1\nnegative = 0\n", task_names[i],
                         task_names[i]);
    }
    if (t.failed) {
        free(t.s);
        mtr_fail(err, "session simulator: out of memory writing the spec");
        return NULL;
    }
    return t.s;
}

/* ---------------------------------------------------------------- output */

static int write_request(const mtr_session_request *req, void *user) {
    char line[MTR_SESSIONS_LINE_MAX];
    for (int k = 0; k < req->n; k++)
        if (mtr_csv_out_write(user, line, mtr_sessions_format_row(req, k, line)) != 0) return -1;
    return 0;
}

int mtr_gen_sessions_write(const mtr_sessions_config *cfg, const char *out_path, const char *spec_path,
                           mtr_sessions_summary *summary, mtr_error *err) {
    const char *problem = mtr_sessions_config_check(cfg);
    if (problem) return mtr_fail(err, "session simulator: %s", problem);
    mtr_csv_out out;
    if (mtr_csv_out_open(&out, out_path, cfg->threads, err) != 0) return -1;
    char header[sizeof mtr_sessions_csv_header + 1];
    size_t n = (size_t)snprintf(header, sizeof header, "%s\n", mtr_sessions_csv_header);
    int rc = mtr_csv_out_write(&out, header, n);
    if (rc == 0) rc = mtr_gen_sessions(cfg, write_request, &out, summary, err);
    rc = mtr_csv_out_close(&out, rc, err);
    if (rc == 0 && spec_path) {
        char *spec = mtr_sessions_spec_text(cfg, err);
        rc = spec ? mtr_write_text_file(spec_path, spec, err) : -1;
        free(spec);
    }
    return rc;
}
