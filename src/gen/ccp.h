/* ccp.h - the impression -> click -> conversion simulator (Ali-CCP-shaped, for ESMM) beyond the public
 * entry points in mtrank.h: the field layout, the CSV row formatter and the spec text, so tests can check
 * them one by one. docs/simulator.md describes the world model and every default.
 *
 * Random streams, all derived from cfg->seed with mtr_seed_mix, so that one setting never shifts the
 * draws of another: CCP_STREAM_CATALOGUE draws categories, brands, shops and the context tables;
 * CCP_STREAM_USERS the users; CCP_STREAM_ITEMS the items; calibration impression i comes from
 * mix(mix(seed, CCP_STREAM_CALIBRATION), i) and row r of impression stream s from
 * mix(mix(mix(seed, CCP_STREAM_ROWS), s), r). Every impression having its own stream, rows do not depend
 * on each other: the first N rows of a longer run are exactly the N-row run, and blocks of rows can be
 * drawn with their memory loads overlapped. --overlap only changes how the drawn click and conversion
 * factors are mixed, never a draw. */
#ifndef MTR_GEN_CCP_H
#define MTR_GEN_CCP_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

#define CCP_STREAM_CATALOGUE 0
#define CCP_STREAM_USERS 1
#define CCP_STREAM_ITEMS 2
#define CCP_STREAM_CALIBRATION 3
#define CCP_STREAM_ROWS 16

/* The 23 fields in row and CSV order: 9 user fields (two of them bags), 7 item fields, 7 context fields. */
enum {
    CCP_USER_ID, CCP_AGE, CCP_GENDER, CCP_CITY, CCP_PURCHASE_POWER, CCP_OCCUPATION, CCP_SEGMENT,
    CCP_RECENT_CATEGORIES, CCP_RECENT_BRANDS,
    CCP_ITEM_ID, CCP_CATEGORY, CCP_BRAND, CCP_SHOP, CCP_PRICE, CCP_SELLER_LEVEL, CCP_ITEM_AGE,
    CCP_POSITION, CCP_HOUR, CCP_WEEKDAY, CCP_DEVICE, CCP_PAGE, CCP_SCENE, CCP_CHANNEL
};

/* The CSV header line (label and aux columns, then the fields), without the newline. */
extern const char mtr_ccp_csv_header[];

/* One row as a CSV line ending in '\n' into buf (at least MTR_CCP_LINE_MAX bytes); returns its length.
 * Probabilities are written with 9 significant digits, so strtof gives back the row's float exactly. */
#define MTR_CCP_LINE_MAX 512
size_t mtr_ccp_format_row(const mtr_ccp_row *row, char *buf);

/* The dataset spec matching the CSV written for cfg (docs/spec-format.md plus the aux and multi-valued
 * field syntax). Returns a malloc'ed string, or NULL with a message. */
char *mtr_ccp_spec_text(const mtr_ccp_config *cfg, mtr_error *err);

/* Hash buckets the spec gives an id field of `cardinality` values: twice the cardinality, so about 39 %
 * of the ids share their bucket with another one (1 - e^(-1/2)). */
uint32_t mtr_ccp_hash_buckets(uint32_t cardinality);

#endif
