/* sessions.h - the multi-objective session simulator beyond the public entry points in mtrank.h: the
 * random streams, the CSV header and row formatter and the spec text, so tests can check them one by one.
 * docs/sessions-simulator.md describes the world model and every default.
 *
 * Random streams, all derived from cfg->seed with mtr_seed_mix, so that one setting never shifts the
 * draws of another: SESS_STREAM_CATALOGUE draws categories, brands, shops and the context tables;
 * SESS_STREAM_USERS the users; SESS_STREAM_ITEMS the items; calibration request i comes from
 * mix(mix(seed, SESS_STREAM_CALIBRATION), i) and request r of stream s from
 * mix(mix(mix(seed, SESS_STREAM_REQUESTS), s), r). Requests do not depend on each other, so the first N
 * requests of a longer run are exactly the N-request run. The shares (new, promoted, low-quality items)
 * and --overlap only move thresholds and mixing weights, never a draw. */
#ifndef MTR_GEN_SESSIONS_H
#define MTR_GEN_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

#define SESS_STREAM_CATALOGUE 0
#define SESS_STREAM_USERS 1
#define SESS_STREAM_ITEMS 2
#define SESS_STREAM_CALIBRATION 3
#define SESS_STREAM_REQUESTS 16

/* The 15 categorical fields in CSV order: 7 user fields (one a bag), 4 context fields, 4 item fields. */
enum {
    SESS_USER_ID, SESS_AGE, SESS_GENDER, SESS_CITY, SESS_PURCHASE_POWER, SESS_SEGMENT, SESS_RECENT_CATEGORIES,
    SESS_HOUR, SESS_WEEKDAY, SESS_DEVICE, SESS_SCENE,
    SESS_ITEM_ID, SESS_CATEGORY, SESS_BRAND, SESS_SHOP
};

/* The CSV header line, without the newline: request_id, position_logged, the 15 categorical fields, the 4
 * numeric item fields, the 5 labels, the 8 truth values. */
extern const char mtr_sessions_csv_header[];

/* Candidate k of a request as a CSV line ending in '\n' into buf (at least MTR_SESSIONS_LINE_MAX bytes);
 * returns its length. Probabilities and the other truth values have 9 significant digits (strtof gives
 * back the candidate's float); price and dwell are written in cents ("12.30"), which strtof reads back as
 * the candidate's float too. */
#define MTR_SESSIONS_LINE_MAX 768
size_t mtr_sessions_format_row(const mtr_session_request *req, int k, char *buf);

/* The dataset spec matching the CSV written for cfg (docs/spec-format.md). Returns a malloc'ed string, or
 * NULL with a message. */
char *mtr_sessions_spec_text(const mtr_sessions_config *cfg, mtr_error *err);

#endif
