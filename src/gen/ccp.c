/* ccp.c - the impression -> click -> conversion simulator (Ali-CCP-shaped, for ESMM); see ccp.h for the
 * random streams, mtrank.h for the public calls and docs/simulator.md for the world model, which this file
 * follows term by term:
 *
 *   click logit      zc = a0 + click_affinity <u_c, v_c>/sqrt(d) + user click bias + category and brand
 *                         attractiveness + freshness - 0.1 price + position curve + context effects
 *   conversion logit zv = b0 + conv_affinity <u_v, v_v>/sqrt(d) + user conversion bias + category and brand
 *                         conversion appeal + shop quality - price_weight (1 - 0.2 purchase_power) price
 *                         + context effects (no position)
 *   u_v = sqrt(o) u_c + sqrt(1 - o) u_v', v_v = sqrt(o) v_c + sqrt(1 - o) v_v', and likewise every other
 *   term the two logits share (o = overlap), so o is the correlation of the shared latent terms.
 *
 * The world (users, items, catalogue, context tables) is built once in memory; impressions are then drawn
 * in blocks of 64, each from its own random stream, and handed to the callback one by one, so memory does
 * not grow with rows. Probabilities are rounded to float before the Bernoulli draws, so the true_pctr and
 * true_pcvr written out are exactly the probabilities the labels were drawn with. The sampling, calibration
 * and formatting helpers it shares with the session simulator are in gen_util.c, the CSV output in
 * csv_sink.c. */
#include "gen/ccp.h"

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
#define N_CITY 400
#define N_PURCHASE_POWER 5
#define N_OCCUPATION 20
#define N_SEGMENT 10
#define N_PRICE 10
#define N_SELLER_LEVEL 5
#define N_ITEM_AGE 6
#define N_CONTEXT 7 /* position, hour, weekday, device, page, scene, channel */
static const int context_levels[N_CONTEXT] = {50, 24, 7, 4, 8, 30, 6};

static const double age_share[N_AGE] = {0.04, 0.18, 0.26, 0.20, 0.14, 0.09, 0.06, 0.03};
static const double age_wealth[N_AGE] = {-0.8, -0.4, 0.0, 0.2, 0.3, 0.2, 0.0, -0.3};
static const double gender_share[N_GENDER] = {0.10, 0.50, 0.40}; /* unknown, female, male */

#define CITY_ZIPF 1.0           /* city sizes ~ 1 / rank */
#define CITY_WEALTH 0.8         /* purchase-power shift of the largest cities, decaying as exp(-rank/30) */
#define OCCUPATION_SHARE_SD 0.7 /* occupation shares ~ exp(N(0, sd^2)) */
#define OCCUPATION_WEALTH_SD 0.4 /* each occupation's purchase-power shift ~ N(0, sd^2) */
#define SEGMENT_SKEW 1.5        /* segment shares per (age, gender) ~ exp(skew N(0, 1)) */
#define SEGMENT_SHARE 0.5       /* of a user's taste variance that comes from the segment centroid */
#define USER_BIAS_SD 0.3        /* per-user click / conversion propensity */
#define ACTIVITY_SD 1.0         /* impressions per user ~ lognormal(0, sd^2) */
#define BAG_MEAN 2.0            /* bag sizes ~ Poisson(mean), cut at MTR_CCP_MAX_BAG */
#define BAG_STRENGTH 2.0        /* softmax weight of taste when picking a bag's categories and brands */
#define BAG_CANDIDATES 8        /* popular categories (brands) considered per bag slot */
#define BAG_TRIES 3             /* redraws of a slot that repeats an id already in the bag */

#define CATEGORY_ZIPF 0.9       /* brands per category, and recent-category candidates */
#define BRAND_ZIPF 0.9          /* items per brand, and recent-brand candidates */
#define SHOP_ZIPF 0.9           /* items per shop */
#define TASTE_CATEGORY 0.4      /* shares of an item's taste variance: category, brand, the item itself */
#define TASTE_BRAND 0.3
#define TASTE_ITEM 0.3
#define ATTRACT_SD 0.3          /* category and brand attractiveness (click) and appeal (conversion) */
#define PRICE_CATEGORY_SD 0.8   /* log price = category level + brand premium + item noise */
#define PRICE_BRAND_SD 0.3
#define PRICE_ITEM_SD 0.5
#define PRICE_CLICK 0.1         /* cheaper items are clicked a little more */
#define PRICE_RELIEF 0.2        /* price sensitivity = 1 - relief * purchase_power (1.0 .. 0.2) */
#define SHOP_QUALITY 0.4        /* conversion logit per unit of hidden shop quality ~ N(0, 1) */
#define SELLER_NOISE_SD 0.7     /* seller level = round(2 + quality + noise), 0..4 */
#define FRESHNESS 0.2           /* click boost of the newest items, falling linearly to 0 at the oldest */
#define POSITION_DECAY 0.93     /* P(position p) ~ decay^p: users scroll a feed */
#define CONTEXT_SHARE_SD 0.5    /* shares of the levels of device, page, scene, channel, weekday */
#define CONTEXT_EFFECT_SD 0.1   /* each level's effect on either logit */
#define INTERCEPT_RANGE 60.0    /* intercepts are searched in [-range, range] */

/* ---------------------------------------------------------------- configuration */

void mtr_ccp_config_default(mtr_ccp_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->rows = 2000000;
    cfg->seed = 1;
    cfg->stream = 0;
    cfg->ctr = 0.04;
    cfg->cvr = 0.01;
    cfg->overlap = 0.5;
    cfg->n_users = 200000;
    cfg->n_items = 500000;
    cfg->dim = 8;
    cfg->n_categories = 300;
    cfg->n_brands = 20000;
    cfg->n_shops = 50000;
    cfg->item_zipf = 0.8;
    cfg->candidates = 8;
    cfg->exposure_strength = 1.0;
    cfg->click_affinity = 1.0;
    cfg->conv_affinity = 1.0;
    cfg->position_weight = 0.3;
    cfg->price_weight = 0.5;
    cfg->calibration_rows = 400000;
    cfg->threads = 1;
}


const char *mtr_ccp_config_check(const mtr_ccp_config *cfg) {
    if (cfg->rows < 1) return "rows must be >= 1";
    if (!(cfg->ctr > 0.0 && cfg->ctr < 1.0)) return "ctr (the target mean click probability) must be in (0, 1)";
    if (!(cfg->cvr > 0.0 && cfg->cvr < 1.0))
        return "cvr (the target mean conversion probability among clicks) must be in (0, 1)";
    if (!mtr_gen_in_range(cfg->overlap, 0.0, 1.0)) return "overlap must be in [0, 1]";
    if (cfg->n_users < 1 || cfg->n_users > 100000000) return "users must be in 1..100000000";
    if (cfg->n_items < 1 || cfg->n_items > 100000000) return "items must be in 1..100000000";
    if (cfg->dim < 1 || cfg->dim > 256) return "dim (latent taste dimension) must be in 1..256";
    if (cfg->n_categories < 1 || cfg->n_categories > 1000000) return "categories must be in 1..1000000";
    if (cfg->n_brands < 1 || cfg->n_brands > 10000000) return "brands must be in 1..10000000";
    if (cfg->n_shops < 1 || cfg->n_shops > 10000000) return "shops must be in 1..10000000";
    if (!mtr_gen_in_range(cfg->item_zipf, 0.0, 4.0)) return "item Zipf exponent must be in [0, 4]";
    if (cfg->candidates < 1 || cfg->candidates > 256) return "candidates must be in 1..256";
    if (!mtr_gen_in_range(cfg->exposure_strength, 0.0, 100.0)) return "exposure strength must be in [0, 100]";
    if (!mtr_gen_in_range(cfg->click_affinity, 0.0, 100.0)) return "click affinity scale must be in [0, 100]";
    if (!mtr_gen_in_range(cfg->conv_affinity, 0.0, 100.0)) return "conversion affinity scale must be in [0, 100]";
    if (!mtr_gen_in_range(cfg->position_weight, 0.0, 100.0)) return "position weight must be in [0, 100]";
    if (!mtr_gen_in_range(cfg->price_weight, 0.0, 100.0)) return "price weight must be in [0, 100]";
    if (cfg->calibration_rows < 1000 || cfg->calibration_rows > 100000000)
        return "calibration rows must be in 1000..100000000";
    if (cfg->threads < 0 || cfg->threads > 16) return "threads must be in 0..16";
    return NULL;
}

static const struct {
    const char *name; /* CSV column */
    int max_ids;      /* 1, or MTR_CCP_MAX_BAG for a bag */
} fields[MTR_CCP_FIELDS] = {
    {"user_id", 1}, {"age_bucket", 1}, {"gender", 1}, {"city", 1}, {"purchase_power", 1},
    {"occupation", 1}, {"user_segment", 1}, {"recent_categories", MTR_CCP_MAX_BAG},
    {"recent_brands", MTR_CCP_MAX_BAG}, {"item_id", 1}, {"category", 1}, {"brand", 1}, {"shop", 1},
    {"price_bucket", 1}, {"seller_level", 1}, {"item_age_bucket", 1}, {"position", 1}, {"hour", 1},
    {"weekday", 1}, {"device", 1}, {"page", 1}, {"scene", 1}, {"channel", 1},
};

const char mtr_ccp_csv_header[] =
    "click,purchase,true_pctr,true_pcvr,cf_purchase,user_id,age_bucket,gender,city,purchase_power,occupation,"
    "user_segment,recent_categories,recent_brands,item_id,category,brand,shop,price_bucket,seller_level,"
    "item_age_bucket,position,hour,weekday,device,page,scene,channel";

const char *mtr_ccp_field(const mtr_ccp_config *cfg, int f, uint32_t *cardinality, int *max_ids) {
    if (f < 0 || f >= MTR_CCP_FIELDS) return NULL;
    uint32_t card = 0;
    switch (f) {
    case CCP_USER_ID: card = (uint32_t)cfg->n_users; break;
    case CCP_AGE: card = N_AGE; break;
    case CCP_GENDER: card = N_GENDER; break;
    case CCP_CITY: card = N_CITY; break;
    case CCP_PURCHASE_POWER: card = N_PURCHASE_POWER; break;
    case CCP_OCCUPATION: card = N_OCCUPATION; break;
    case CCP_SEGMENT: card = N_SEGMENT; break;
    case CCP_RECENT_CATEGORIES: card = (uint32_t)cfg->n_categories; break;
    case CCP_RECENT_BRANDS: card = (uint32_t)cfg->n_brands; break;
    case CCP_ITEM_ID: card = (uint32_t)cfg->n_items; break;
    case CCP_CATEGORY: card = (uint32_t)cfg->n_categories; break;
    case CCP_BRAND: card = (uint32_t)cfg->n_brands; break;
    case CCP_SHOP: card = (uint32_t)cfg->n_shops; break;
    case CCP_PRICE: card = N_PRICE; break;
    case CCP_SELLER_LEVEL: card = N_SELLER_LEVEL; break;
    case CCP_ITEM_AGE: card = N_ITEM_AGE; break;
    default: card = (uint32_t)context_levels[f - CCP_POSITION]; break;
    }
    if (cardinality) *cardinality = card;
    if (max_ids) *max_ids = fields[f].max_ids;
    return fields[f].name;
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* ---------------------------------------------------------------- the world */

/* What a row needs of a user besides the taste vectors, in one record so that it costs one or two cache
 * misses. */
typedef struct user_rec {
    float click_bias;                        /* click propensity */
    float conv_bias;                         /* conversion propensity, mixed by overlap */
    float price_slope;                       /* price_weight (1 - PRICE_RELIEF purchase_power) */
    uint16_t attr[6];                        /* age, gender, city, purchase power, occupation, segment */
    uint8_t bag_len[2];                      /* sizes of recent_categories, recent_brands */
    uint32_t bag[2][MTR_CCP_MAX_BAG];        /* their ids */
} user_rec;

typedef struct item_rec {
    float click_static;   /* category + brand attractiveness + freshness - PRICE_CLICK price */
    float conv_static;    /* category + brand appeal (mixed) + SHOP_QUALITY shop quality */
    float price;          /* log price, roughly N(0, 1) */
    uint32_t category;    /* the brand's category */
    uint32_t brand;       /* Zipf over brands */
    uint32_t shop;        /* Zipf over shops */
    uint8_t price_bucket; /* 0..9: price in half-unit steps from -2.5 */
    uint8_t age;          /* 0..5, newest first */
    uint8_t seller_level; /* the shop's level */
} item_rec;

typedef struct ccp_world {
    int dim;                    /* d */
    int candidates;             /* K */
    double exposure_strength;   /* softmax weight of the click affinity among candidates */
    uint32_t n_users, n_items, n_categories, n_brands, n_shops;

    /* catalogue (CCP_STREAM_CATALOGUE) */
    float *segment_click;       /* (N_SEGMENT, d) taste centroids in click space */
    float *segment_conv;        /* (N_SEGMENT, d) independent part of the conversion centroids */
    mtr_alias_table segment_of[N_AGE * N_GENDER]; /* segment given (age, gender) */
    mtr_alias_table age, gender, city, occupation;
    double occupation_wealth[N_OCCUPATION];
    float *category_click;      /* (categories, d) */
    float *category_conv;       /* (categories, d) independent part */
    float *category_attract;    /* (categories) click attractiveness */
    float *category_appeal;     /* (categories) conversion appeal, mixed */
    float *category_price;      /* (categories) log-price level */
    mtr_alias_table category_pop; /* which category a brand is in; recent-category candidates */
    uint32_t *brand_category;   /* (brands) */
    float *brand_click;         /* (brands, d) */
    float *brand_conv;          /* (brands, d) independent part */
    float *brand_attract;       /* (brands) */
    float *brand_appeal;        /* (brands) mixed */
    float *brand_price;         /* (brands) log-price premium */
    mtr_alias_table brand_pop; /* which brand an item has; recent-brand candidates */
    float *shop_quality;        /* (shops) hidden, N(0, 1) */
    uint8_t *shop_level;        /* (shops) seller level 0..4, a noisy view of the quality */
    mtr_alias_table shop_pop; /* which shop sells an item */
    mtr_alias_table context[N_CONTEXT];  /* how often each level of each context field occurs */
    float *context_click[N_CONTEXT]; /* (levels) click effects; for position the position curve */
    float *context_conv[N_CONTEXT];  /* (levels) conversion effects, mixed; 0 for position */

    /* users (CCP_STREAM_USERS) and items (CCP_STREAM_ITEMS) */
    float *user_vec;            /* (users, 2d): u_c click_affinity / sqrt(d), then u_v conv_affinity / sqrt(d) */
    user_rec *users;            /* (users) */
    mtr_alias_table user_activity; /* who sees the next impression */
    float *item_vec;            /* (items, 2d): v_c, then v_v */
    item_rec *items;            /* (items) */
    mtr_alias_table item_pop; /* popularity, Zipf over a random permutation */
} ccp_world;

static void world_free(ccp_world *w) {
    free(w->segment_click);
    free(w->segment_conv);
    for (int i = 0; i < N_AGE * N_GENDER; i++) mtr_alias_free(&w->segment_of[i]);
    mtr_alias_free(&w->age);
    mtr_alias_free(&w->gender);
    mtr_alias_free(&w->city);
    mtr_alias_free(&w->occupation);
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
    free(w->shop_level);
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
    memset(w, 0, sizeof *w);
}

static int build_catalogue(ccp_world *w, const mtr_ccp_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, CCP_STREAM_CATALOGUE));
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
    w->shop_level = mtr_gen_alloc(S, sizeof(uint8_t), &failed);
    for (int c = 0; c < N_CONTEXT; c++) {
        w->context_click[c] = mtr_gen_alloc((size_t)context_levels[c], sizeof(float), &failed);
        w->context_conv[c] = mtr_gen_alloc((size_t)context_levels[c], sizeof(float), &failed);
    }
    if (failed) return -1;
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap);

    /* users' attribute tables */
    if (mtr_alias_build(&w->age, age_share, N_AGE) || mtr_alias_build(&w->gender, gender_share, N_GENDER)) return -1;
    double city_w[N_CITY];
    for (int i = 0; i < N_CITY; i++) city_w[i] = pow(i + 1.0, -CITY_ZIPF);
    if (mtr_alias_build(&w->city, city_w, N_CITY)) return -1;
    if (mtr_lognormal_alias(&w->occupation, N_OCCUPATION, OCCUPATION_SHARE_SD, &rng)) return -1;
    for (int i = 0; i < N_OCCUPATION; i++) w->occupation_wealth[i] = OCCUPATION_WEALTH_SD * mtr_rng_normal(&rng);
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
    for (size_t s = 0; s < S; s++) {
        double q[2];
        mtr_normal_fill(q, 2, &rng);
        w->shop_quality[s] = (float)q[0];
        w->shop_level[s] = (uint8_t)mtr_gen_clamp_int(floor(2.5 + q[0] + SELLER_NOISE_SD * q[1]), 0, N_SELLER_LEVEL - 1);
    }
    if (mtr_zipf_alias(&w->shop_pop, (uint32_t)S, SHOP_ZIPF, &rng)) return -1;

    /* context: position and hour have fixed shapes, the other fields random shares */
    for (int c = 0; c < N_CONTEXT; c++) {
        int L = context_levels[c];
        double share[64];
        for (int l = 0; l < L; l++) {
            if (c == 0) share[l] = pow(POSITION_DECAY, l);
            else if (c == 1) share[l] = 1.0 + 0.8 * cos(6.283185307179586 * (l - 21) / 24.0); /* peak at 21h */
            else share[l] = exp(CONTEXT_SHARE_SD * mtr_rng_normal(&rng));
        }
        if (mtr_alias_build(&w->context[c], share, (uint32_t)L)) return -1;
        for (int l = 0; l < L; l++) {
            double e[2];
            mtr_normal_fill(e, 2, &rng);
            if (c == 0) {
                /* position only moves clicks: it decides whether the item is looked at, not whether it is
                 * bought once clicked (its two draws are still taken, so the stream does not depend on it) */
                w->context_click[c][l] = (float)(-cfg->position_weight * log1p((double)l));
                w->context_conv[c][l] = 0.0f;
            } else {
                w->context_click[c][l] = (float)(CONTEXT_EFFECT_SD * e[0]);
                w->context_conv[c][l] = (float)(CONTEXT_EFFECT_SD * (so * e[0] + sn * e[1]));
            }
        }
    }
    return 0;
}

/* One id for a bag: BAG_CANDIDATES popular categories (or brands), one picked by softmax of
 * BAG_STRENGTH <taste, its taste vector> / sqrt(d). A brand's taste vector is its category's and its own,
 * weighted as in an item's. */
static uint32_t bag_pick(const ccp_world *w, const mtr_alias_table *pop, const float *taste, int is_brand,
                         mtr_rng *rng) {
    uint32_t cand[BAG_CANDIDATES];
    double s[BAG_CANDIDATES], smax = -HUGE_VAL;
    size_t d = (size_t)w->dim;
    double scale = BAG_STRENGTH / sqrt((double)w->dim);
    for (int k = 0; k < BAG_CANDIDATES; k++) {
        uint32_t id = cand[k] = mtr_alias_draw(pop, rng);
        if (is_brand) {
            const float *category = w->category_click + (size_t)w->brand_category[id] * d;
            s[k] = sqrt(TASTE_CATEGORY) * mtr_gen_dot(taste, category, w->dim) +
                   sqrt(TASTE_BRAND) * mtr_gen_dot(taste, w->brand_click + (size_t)id * d, w->dim);
        }
        else
            s[k] = mtr_gen_dot(taste, w->category_click + (size_t)id * d, w->dim);
        s[k] *= scale;
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

static int build_users(ccp_world *w, const mtr_ccp_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, CCP_STREAM_USERS));
    size_t d = (size_t)w->dim, U = w->n_users;
    int failed = 0;
    w->user_vec = mtr_gen_alloc(U * 2 * d, sizeof(float), &failed);
    w->users = mtr_gen_alloc(U, sizeof(user_rec), &failed);
    double *activity = mtr_gen_alloc(U, sizeof(double), &failed);
    double *z = mtr_gen_alloc(2 * d + 4, sizeof(double), &failed); /* one user's normal draws */
    float *taste = mtr_gen_alloc(d, sizeof(float), &failed);
    if (failed) {
        free(activity);
        free(z);
        free(taste);
        return -1;
    }
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap);
    double click_scale = cfg->click_affinity / sqrt((double)d), conv_scale = cfg->conv_affinity / sqrt((double)d);
    double seg = sqrt(SEGMENT_SHARE), own = sqrt(1.0 - SEGMENT_SHARE);
    for (size_t u = 0; u < U; u++) {
        user_rec *r = &w->users[u];
        int age = (int)mtr_alias_draw(&w->age, &rng), gender = (int)mtr_alias_draw(&w->gender, &rng);
        int city = (int)mtr_alias_draw(&w->city, &rng), occupation = (int)mtr_alias_draw(&w->occupation, &rng);
        int segment = (int)mtr_alias_draw(&w->segment_of[age * N_GENDER + gender], &rng);
        /* z: click taste noise (d), conversion taste noise (d), wealth, two biases, activity */
        mtr_normal_fill(z, 2 * d + 4, &rng);
        double wealth =
            z[2 * d] + age_wealth[age] + CITY_WEALTH * exp(-city / 30.0) + w->occupation_wealth[occupation];
        int power = mtr_gen_clamp_int(floor(wealth + 2.5), 0, N_PURCHASE_POWER - 1);
        double bias_click = USER_BIAS_SD * z[2 * d + 1], bias_conv = USER_BIAS_SD * z[2 * d + 2];
        activity[u] = exp(ACTIVITY_SD * z[2 * d + 3]);
        float *uc = w->user_vec + u * 2 * d, *uv = uc + d;
        for (size_t k = 0; k < d; k++) {
            double click = seg * w->segment_click[(size_t)segment * d + k] + own * z[k];
            double conv = seg * w->segment_conv[(size_t)segment * d + k] + own * z[d + k];
            taste[k] = (float)click;
            uc[k] = (float)(click_scale * click);
            uv[k] = (float)(conv_scale * (so * click + sn * conv));
        }
        r->attr[0] = (uint16_t)age;
        r->attr[1] = (uint16_t)gender;
        r->attr[2] = (uint16_t)city;
        r->attr[3] = (uint16_t)power;
        r->attr[4] = (uint16_t)occupation;
        r->attr[5] = (uint16_t)segment;
        r->click_bias = (float)bias_click;
        r->conv_bias = (float)(so * bias_click + sn * bias_conv);
        r->price_slope = (float)(cfg->price_weight * (1.0 - PRICE_RELIEF * power));
        /* bags: what the user recently looked at, drawn towards the user's click taste, distinct ids */
        for (int b = 0; b < 2; b++) {
            int want = mtr_poisson(BAG_MEAN, &rng), n = 0;
            if (want > MTR_CCP_MAX_BAG) want = MTR_CCP_MAX_BAG;
            for (int slot = 0; slot < want; slot++)
                for (int t = 0; t < BAG_TRIES; t++) {
                    uint32_t id = bag_pick(w, b ? &w->brand_pop : &w->category_pop, taste, b, &rng);
                    int dup = 0;
                    for (int j = 0; j < n; j++) dup |= r->bag[b][j] == id;
                    if (!dup) {
                        r->bag[b][n++] = id;
                        break;
                    }
                }
            r->bag_len[b] = (uint8_t)n;
        }
    }
    int rc = mtr_alias_build(&w->user_activity, activity, (uint32_t)U);
    free(activity);
    free(z);
    free(taste);
    return rc;
}

static int build_items(ccp_world *w, const mtr_ccp_config *cfg) {
    mtr_rng rng;
    mtr_rng_seed(&rng, mtr_seed_mix(cfg->seed, CCP_STREAM_ITEMS));
    size_t d = (size_t)w->dim, I = w->n_items;
    int failed = 0;
    w->item_vec = mtr_gen_alloc(I * 2 * d, sizeof(float), &failed);
    w->items = mtr_gen_alloc(I, sizeof(item_rec), &failed);
    double *z = mtr_gen_alloc(2 * d + 1, sizeof(double), &failed); /* one item's normal draws */
    if (failed) {
        free(z);
        return -1;
    }
    double so = sqrt(cfg->overlap), sn = sqrt(1.0 - cfg->overlap);
    double tc = sqrt(TASTE_CATEGORY), tb = sqrt(TASTE_BRAND), ti = sqrt(TASTE_ITEM);
    for (size_t i = 0; i < I; i++) {
        item_rec *r = &w->items[i];
        uint32_t brand = mtr_alias_draw(&w->brand_pop, &rng), shop = mtr_alias_draw(&w->shop_pop, &rng);
        uint32_t cat = w->brand_category[brand];
        int age = (int)mtr_rng_below(&rng, N_ITEM_AGE);
        /* z: click taste noise (d), conversion taste noise (d), price noise */
        mtr_normal_fill(z, 2 * d + 1, &rng);
        double price = w->category_price[cat] + w->brand_price[brand] + PRICE_ITEM_SD * z[2 * d];
        float *vc = w->item_vec + i * 2 * d, *vv = vc + d;
        size_t ck = (size_t)cat * d, bk = (size_t)brand * d;
        for (size_t k = 0; k < d; k++) {
            double click = tc * w->category_click[ck + k] + tb * w->brand_click[bk + k] + ti * z[k];
            double conv = tc * w->category_conv[ck + k] + tb * w->brand_conv[bk + k] + ti * z[d + k];
            vc[k] = (float)click;
            vv[k] = (float)(so * click + sn * conv);
        }
        r->category = cat;
        r->brand = brand;
        r->shop = shop;
        r->age = (uint8_t)age;
        r->seller_level = w->shop_level[shop];
        r->price = (float)price;
        r->price_bucket = (uint8_t)mtr_gen_clamp_int(floor((price + 2.5) * 2.0), 0, N_PRICE - 1);
        r->click_static = (float)(w->category_attract[cat] + w->brand_attract[brand] +
                                  FRESHNESS * (1.0 - age / (N_ITEM_AGE - 1.0)) - PRICE_CLICK * price);
        r->conv_static =
            (float)(w->category_appeal[cat] + w->brand_appeal[brand] + SHOP_QUALITY * w->shop_quality[shop]);
    }
    free(z);
    return mtr_zipf_alias(&w->item_pop, (uint32_t)I, cfg->item_zipf, &rng);
}

static int world_build(ccp_world *w, const mtr_ccp_config *cfg, mtr_error *err) {
    memset(w, 0, sizeof *w);
    w->dim = cfg->dim;
    w->candidates = cfg->candidates;
    w->exposure_strength = cfg->exposure_strength;
    w->n_users = (uint32_t)cfg->n_users;
    w->n_items = (uint32_t)cfg->n_items;
    w->n_categories = (uint32_t)cfg->n_categories;
    w->n_brands = (uint32_t)cfg->n_brands;
    w->n_shops = (uint32_t)cfg->n_shops;
    if (build_catalogue(w, cfg) != 0 || build_users(w, cfg) != 0 || build_items(w, cfg) != 0) {
        world_free(w);
        return mtr_fail(err, "ccp simulator: out of memory building the world (%d users, %d items, dim %d)",
                        cfg->n_users, cfg->n_items, cfg->dim);
    }
    return 0;
}

/* The click taste of user u (d floats), followed by its conversion taste (d floats); likewise for items. */
static const float *user_taste(const ccp_world *w, uint32_t u) {
    return w->user_vec + (size_t)u * 2 * (size_t)w->dim;
}

static const float *item_taste(const ccp_world *w, uint32_t i) {
    return w->item_vec + (size_t)i * 2 * (size_t)w->dim;
}

/* ---------------------------------------------------------------- impressions */

/* One impression, drawn from its own random stream (seeded from the stream's seed and the row number, so
 * rows do not depend on each other and can be drawn in blocks with the memory loads overlapped). */
typedef struct impression {
    mtr_rng rng;                 /* the row's stream, continued by the click and purchase draws */
    uint32_t user, item;         /* who saw what */
    uint32_t context[N_CONTEXT]; /* where: one level per context field */
    double zc, zv;               /* click and conversion logits without their intercepts */
} impression;

#define BLOCK 64 /* impressions drawn together: enough independent cache misses in flight */

/* Scratch for draw_block, sized once per run. */
typedef struct block_scratch {
    uint32_t user_coin[BLOCK]; /* the coin of each row's user draw */
    uint32_t *cand;      /* (BLOCK, K) alias columns, then the candidate items */
    uint32_t *coin;      /* (BLOCK, K) their coins */
    double *affinity;    /* (BLOCK) the chosen item's click affinity */
} block_scratch;

static int scratch_init(block_scratch *s, int K) {
    s->cand = malloc((size_t)BLOCK * (size_t)K * sizeof *s->cand);
    s->coin = malloc((size_t)BLOCK * (size_t)K * sizeof *s->coin);
    s->affinity = malloc(BLOCK * sizeof *s->affinity);
    return s->cand && s->coin && s->affinity ? 0 : -1;
}

static void scratch_free(block_scratch *s) {
    free(s->cand);
    free(s->coin);
    free(s->affinity);
}

/* Impressions first .. first + n - 1 (n <= BLOCK) of the stream seeded `stream_seed`. Each row's draws, in
 * order: the user (column, coin), K candidate items (column, coin each), one uniform to pick among them
 * when K > 1, then each context field (column, coin). The feed shows one of K popularity-drawn candidates,
 * picked with probability proportional to exp(exposure_strength * click affinity). The work is done in
 * passes over the block so that the random loads of one pass are prefetched by the previous one. */
static void draw_block(const ccp_world *w, uint64_t stream_seed, uint64_t first, int n, impression *imp,
                       block_scratch *s) {
    size_t d = (size_t)w->dim;
    int K = w->candidates;
    for (int b = 0; b < n; b++) {
        mtr_rng *rng = &imp[b].rng;
        mtr_rng_seed(rng, mtr_seed_mix(stream_seed, first + (uint64_t)b));
        imp[b].user = mtr_alias_column(&w->user_activity, rng, &s->user_coin[b]);
        PREFETCH(&w->user_activity.e[imp[b].user]);
        for (int k = 0; k < K; k++) {
            uint32_t c = mtr_alias_column(&w->item_pop, rng, &s->coin[b * K + k]);
            s->cand[b * K + k] = c;
            PREFETCH(&w->item_pop.e[c]);
        }
    }
    for (int b = 0; b < n; b++) {
        uint32_t u = imp[b].user = mtr_alias_resolve(&w->user_activity, imp[b].user, s->user_coin[b]);
        PREFETCH(user_taste(w, u));
        PREFETCH(&w->users[u]);
        for (int k = 0; k < K; k++) {
            uint32_t i = s->cand[b * K + k] = mtr_alias_resolve(&w->item_pop, s->cand[b * K + k], s->coin[b * K + k]);
            PREFETCH(item_taste(w, i));
        }
    }
    for (int b = 0; b < n; b++) {
        const float *uc = user_taste(w, imp[b].user);
        const uint32_t *cand = s->cand + b * K;
        double score[256], smax = -HUGE_VAL;
        for (int k = 0; k < K; k++) {
            score[k] = mtr_gen_dot(uc, item_taste(w, cand[k]), w->dim);
            if (score[k] > smax) smax = score[k];
        }
        int pick = 0;
        if (K > 1) {
            double e[256], total = 0.0;
            for (int k = 0; k < K; k++) total += (e[k] = exp(w->exposure_strength * (score[k] - smax)));
            double x = mtr_rng_uniform(&imp[b].rng) * total;
            pick = K - 1;
            for (int k = 0; k < K - 1; k++) {
                if (x < e[k]) {
                    pick = k;
                    break;
                }
                x -= e[k];
            }
        }
        imp[b].item = cand[pick];
        s->affinity[b] = score[pick];
        PREFETCH(&w->items[cand[pick]]);
        PREFETCH(item_taste(w, cand[pick]) + d);
    }
    for (int b = 0; b < n; b++) {
        impression *m = &imp[b];
        const user_rec *ur = &w->users[m->user];
        const item_rec *ir = &w->items[m->item];
        double zc = s->affinity[b] + ur->click_bias + ir->click_static;
        double zv = mtr_gen_dot(user_taste(w, m->user) + d, item_taste(w, m->item) + d, w->dim) +
                    ur->conv_bias + ir->conv_static - (double)ur->price_slope * ir->price;
        for (int c = 0; c < N_CONTEXT; c++) {
            uint32_t l = mtr_alias_draw(&w->context[c], &m->rng);
            m->context[c] = l;
            zc += w->context_click[c][l];
            zv += w->context_conv[c][l];
        }
        m->zc = zc;
        m->zv = zv;
    }
}

/* ---------------------------------------------------------------- calibration */

/* a0 so that the mean pCTR over the calibration sample is cfg->ctr; then b0 so that the pCTR-weighted
 * mean pCVR (the expected CVR among clicks) is cfg->cvr. */
static int calibrate(const ccp_world *w, const mtr_ccp_config *cfg, block_scratch *s, impression *imp, double *a0,
                     double *b0, mtr_error *err) {
    size_t n = (size_t)cfg->calibration_rows;
    double *zc = malloc(n * sizeof *zc), *zv = malloc(n * sizeof *zv), *pc = malloc(n * sizeof *pc);
    int rc = -1;
    if (!zc || !zv || !pc) {
        mtr_fail(err, "ccp simulator: out of memory for %zu calibration impressions", n);
        goto out;
    }
    uint64_t seed = mtr_seed_mix(cfg->seed, CCP_STREAM_CALIBRATION);
    for (size_t i = 0; i < n; i += BLOCK) {
        int m = n - i < BLOCK ? (int)(n - i) : BLOCK;
        draw_block(w, seed, i, m, imp, s);
        for (int b = 0; b < m; b++) {
            zc[i + (size_t)b] = imp[b].zc;
            zv[i + (size_t)b] = imp[b].zv;
        }
    }
    if (mtr_solve_intercept(zc, NULL, n, cfg->ctr, INTERCEPT_RANGE, a0) != 0) {
        mtr_fail(err, "ccp simulator: no click intercept in [-%g, %g] gives a mean CTR of %g", INTERCEPT_RANGE,
                 INTERCEPT_RANGE, cfg->ctr);
        goto out;
    }
    for (size_t i = 0; i < n; i++) pc[i] = mtr_gen_sigmoid(*a0 + zc[i]);
    if (mtr_solve_intercept(zv, pc, n, cfg->cvr, INTERCEPT_RANGE, b0) != 0) {
        mtr_fail(err, "ccp simulator: no conversion intercept in [-%g, %g] gives a mean CVR among clicks of %g",
                 INTERCEPT_RANGE, INTERCEPT_RANGE, cfg->cvr);
        goto out;
    }
    rc = 0;
out:
    free(zc);
    free(zv);
    free(pc);
    return rc;
}

/* ---------------------------------------------------------------- the row stream */

static void fill_row(const ccp_world *w, const impression *imp, mtr_ccp_row *row) {
    const user_rec *ur = &w->users[imp->user];
    const item_rec *ir = &w->items[imp->item];
    uint32_t *ids = row->ids, n = 0;
    int f = 0;
    row->id_start[f++] = n;
    ids[n++] = imp->user;
    for (int a = 0; a < 6; a++) {
        row->id_start[f++] = n;
        ids[n++] = ur->attr[a];
    }
    for (int b = 0; b < 2; b++) {
        row->id_start[f++] = n;
        for (int j = 0; j < ur->bag_len[b]; j++) ids[n++] = ur->bag[b][j];
    }
    uint32_t item_fields[7] = {imp->item,        ir->category,     ir->brand, ir->shop,
                               ir->price_bucket, ir->seller_level, ir->age};
    for (int a = 0; a < 7; a++) {
        row->id_start[f++] = n;
        ids[n++] = item_fields[a];
    }
    for (int c = 0; c < N_CONTEXT; c++) {
        row->id_start[f++] = n;
        ids[n++] = imp->context[c];
    }
    row->id_start[f] = n;
}

/* Running means and co-moment (Welford), stable over 10^8 rows. */
typedef struct moments {
    double n;        /* pairs seen */
    double mx, my;   /* running means */
    double sxx, syy; /* sums of squared deviations */
    double sxy;      /* sum of products of deviations */
} moments;

static void moments_add(moments *m, double x, double y) {
    m->n += 1.0;
    double dx = x - m->mx, dy = y - m->my;
    m->mx += dx / m->n;
    m->my += dy / m->n;
    m->sxx += dx * (x - m->mx);
    m->syy += dy * (y - m->my);
    m->sxy += dx * (y - m->my);
}

int mtr_gen_ccp(const mtr_ccp_config *cfg, mtr_ccp_row_fn fn, void *user, mtr_ccp_summary *summary,
                mtr_error *err) {
    const char *problem = mtr_ccp_config_check(cfg);
    if (problem) return mtr_fail(err, "ccp simulator: %s", problem);
    ccp_world w;
    if (world_build(&w, cfg, err) != 0) return -1;
    block_scratch s;
    impression *imp = malloc(BLOCK * sizeof *imp);
    if (scratch_init(&s, cfg->candidates) != 0 || !imp) {
        scratch_free(&s);
        free(imp);
        world_free(&w);
        return mtr_fail(err, "ccp simulator: out of memory");
    }
    double a0 = 0.0, b0 = 0.0;
    int rc = calibrate(&w, cfg, &s, imp, &a0, &b0, err);
    uint64_t stream_seed = mtr_seed_mix(mtr_seed_mix(cfg->seed, CCP_STREAM_ROWS), cfg->stream);
    uint64_t clicks = 0, purchases = 0, cf = 0;
    double sum_pctr = 0.0, sum_pcvr = 0.0, sum_pcvr_clicked = 0.0;
    moments m = {0};
    mtr_ccp_row row;
    for (uint64_t r0 = 0; rc == 0 && r0 < cfg->rows; r0 += BLOCK) {
        int nb = cfg->rows - r0 < BLOCK ? (int)(cfg->rows - r0) : BLOCK;
        draw_block(&w, stream_seed, r0, nb, imp, &s);
        for (int b = 0; b < nb; b++) {
            impression *im = &imp[b];
            double zc = a0 + im->zc, zv = b0 + im->zv;
            float pctr = (float)mtr_gen_sigmoid(zc), pcvr = (float)mtr_gen_sigmoid(zv);
            int click = mtr_rng_uniform(&im->rng) < (double)pctr;
            int cf_purchase = mtr_rng_uniform(&im->rng) < (double)pcvr;
            int purchase = click && cf_purchase;
            clicks += (uint64_t)click;
            purchases += (uint64_t)purchase;
            cf += (uint64_t)cf_purchase;
            sum_pctr += pctr;
            sum_pcvr += pcvr;
            if (click) sum_pcvr_clicked += pcvr;
            moments_add(&m, zc, zv);
            if (!fn) continue;
            row.index = r0 + (uint64_t)b;
            fill_row(&w, im, &row);
            row.labels[0] = (float)click;
            row.labels[1] = (float)purchase;
            row.aux[0] = pctr;
            row.aux[1] = pcvr;
            row.aux[2] = (float)cf_purchase;
            row.click_logit = zc;
            row.conv_logit = zv;
            if (fn(&row, user) != 0) {
                rc = mtr_fail(err, "ccp simulator: stopped by the row callback at row %llu",
                              (unsigned long long)row.index);
                break;
            }
        }
    }
    scratch_free(&s);
    free(imp);
    world_free(&w);
    if (rc == 0 && summary) {
        double n = (double)cfg->rows;
        memset(summary, 0, sizeof *summary);
        summary->rows = cfg->rows;
        summary->clicks = clicks;
        summary->purchases = purchases;
        summary->cf_purchases = cf;
        summary->ctr = (double)clicks / n;
        summary->cvr = clicks ? (double)purchases / (double)clicks : NAN;
        summary->ctcvr = (double)purchases / n;
        summary->cf_rate = (double)cf / n;
        summary->mean_pctr = sum_pctr / n;
        summary->mean_pcvr = sum_pcvr / n;
        summary->mean_pcvr_clicked = clicks ? sum_pcvr_clicked / (double)clicks : NAN;
        summary->logit_correlation = m.sxx > 0 && m.syy > 0 ? m.sxy / sqrt(m.sxx * m.syy) : NAN;
        summary->click_intercept = a0;
        summary->conv_intercept = b0;
    }
    return rc;
}

/* ---------------------------------------------------------------- CSV and spec */

size_t mtr_ccp_format_row(const mtr_ccp_row *row, char *buf) {
    char *p = buf;
    *p++ = row->labels[0] != 0.0f ? '1' : '0';
    *p++ = ',';
    *p++ = row->labels[1] != 0.0f ? '1' : '0';
    *p++ = ',';
    p = mtr_put_prob(p, row->aux[0]);
    *p++ = ',';
    p = mtr_put_prob(p, row->aux[1]);
    *p++ = ',';
    *p++ = row->aux[2] != 0.0f ? '1' : '0';
    for (int f = 0; f < MTR_CCP_FIELDS; f++) {
        *p++ = ',';
        for (uint32_t j = row->id_start[f]; j < row->id_start[f + 1]; j++) {
            if (j > row->id_start[f]) *p++ = ';';
            p = mtr_put_u32(p, row->ids[j]);
        }
    }
    *p++ = '\n';
    return (size_t)(p - buf);
}

uint32_t mtr_ccp_hash_buckets(uint32_t cardinality) { return cardinality * 2u; }

char *mtr_ccp_spec_text(const mtr_ccp_config *cfg, mtr_error *err) {
    const char *problem = mtr_ccp_config_check(cfg);
    if (problem) {
        mtr_fail(err, "ccp simulator: %s", problem);
        return NULL;
    }
    mtr_text t = {0};
    mtr_text_add(&t, "# Ali-CCP-shaped impressions written by `mtrank gen ccp` (docs/simulator.md):\n");
    mtr_text_add(&t, "# %llu rows, seed %llu, stream %llu, ctr %.15g, cvr %.15g, overlap %.15g,\n",
             (unsigned long long)cfg->rows, (unsigned long long)cfg->seed, (unsigned long long)cfg->stream,
             cfg->ctr, cfg->cvr, cfg->overlap);
    mtr_text_add(&t, "# %d users, %d items, dim %d, %d categories, %d brands, %d shops.\n", cfg->n_users,
             cfg->n_items, cfg->dim, cfg->n_categories, cfg->n_brands, cfg->n_shops);
    mtr_text_add(&t, "# Task purchase is click AND conversion (ESMM's CTCVR label); true_pctr, true_pcvr and\n"
                 "# cf_purchase (the purchase the user would have made after a click) are ground truth.\n\n");
    mtr_text_add(&t, "[input]\nheader = yes\ndelimiter = \",\"\n");
    mtr_text_add(&t, "missing =                 # nothing is missing: an empty bag is an empty field\n");
    mtr_text_add(&t, "columns = click, purchase, true_pctr, true_pcvr, cf_purchase, \\\n         ");
    for (int f = 0; f < MTR_CCP_FIELDS; f++)
        mtr_text_add(&t, " %s%s", fields[f].name,
                 f + 1 == MTR_CCP_FIELDS ? "\n" : (f == 8 || f == 15) ? ", \\\n         " : ",");
    mtr_text_add(&t, "\n[features]\n");
    mtr_text_add(&t, "true_pctr = aux           # ground truth, never an input\n");
    mtr_text_add(&t, "true_pcvr = aux\ncf_purchase = aux\n");
    for (int f = 0; f < MTR_CCP_FIELDS; f++) {
        uint32_t card;
        int max_ids;
        const char *name = mtr_ccp_field(cfg, f, &card, &max_ids);
        if (f == CCP_USER_ID || f == CCP_ITEM_ID)
            mtr_text_add(&t, "%s = categorical hash=%u   # %u ids\n", name, mtr_ccp_hash_buckets(card), card);
        else if (max_ids > 1)
            mtr_text_add(&t, "%s = categorical multi sep=\";\" pool=sum   # 0 to %d of %u ids\n", name, max_ids, card);
        else
            mtr_text_add(&t, "%s = categorical\n", name);
    }
    mtr_text_add(&t, "\n[task click]\ncolumn = click\ntype = binary\npositive = 1\nnegative = 0\n");
    mtr_text_add(&t, "\n[task purchase]\ncolumn = purchase\ntype = binary\npositive = 1\nnegative = 0\n");
    if (t.failed) {
        free(t.s);
        mtr_fail(err, "ccp simulator: out of memory writing the spec");
        return NULL;
    }
    return t.s;
}

/* ---------------------------------------------------------------- output */

static int sink_row(const mtr_ccp_row *row, void *user) {
    char line[MTR_CCP_LINE_MAX];
    return mtr_csv_out_write(user, line, mtr_ccp_format_row(row, line));
}

static int write_spec(const mtr_ccp_config *cfg, const char *path, mtr_error *err) {
    char *spec = mtr_ccp_spec_text(cfg, err);
    if (!spec) return -1;
    int rc = mtr_write_text_file(path, spec, err);
    free(spec);
    return rc;
}

int mtr_gen_ccp_write(const mtr_ccp_config *cfg, const char *out_path, const char *spec_path,
                      mtr_ccp_summary *summary, mtr_error *err) {
    const char *problem = mtr_ccp_config_check(cfg);
    if (problem) return mtr_fail(err, "ccp simulator: %s", problem);
    mtr_csv_out out;
    if (mtr_csv_out_open(&out, out_path, cfg->threads, err) != 0) return -1;
    char header[sizeof mtr_ccp_csv_header + 1];
    size_t n = (size_t)snprintf(header, sizeof header, "%s\n", mtr_ccp_csv_header);
    int rc = mtr_csv_out_write(&out, header, n);
    if (rc == 0) rc = mtr_gen_ccp(cfg, sink_row, &out, summary, err);
    rc = mtr_csv_out_close(&out, rc, err);
    if (rc == 0 && spec_path) rc = write_spec(cfg, spec_path, err);
    return rc;
}
