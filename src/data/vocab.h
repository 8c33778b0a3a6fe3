/* vocab.h - a hash map from byte strings to dense entry indices 0..n-1 (insertion order), with a
 * 64-bit count per entry. Used to count categorical values while fitting, to map values to ids when
 * compiling, and to look up column names. Keys may hold any bytes; they are stored in one growing pool
 * so memory is the keys plus a few words per entry. */
#ifndef MTR_DATA_VOCAB_H
#define MTR_DATA_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "mtrank.h"

/* Entries are indexed by uint32_t; this many at most (leaves room for the OOV and missing ids). */
#define MTR_VOCAB_MAX_ENTRIES (UINT32_MAX - 16u)

typedef struct mtr_vocab mtr_vocab;

mtr_vocab *mtr_vocab_create(void);
void mtr_vocab_free(mtr_vocab *v);

/* Entry index of `key`, inserting it (count 0) if absent. -1 when out of memory or full. */
int64_t mtr_vocab_intern(mtr_vocab *v, const char *key, size_t len);
/* Entry index of `key`, or -1. */
int64_t mtr_vocab_find(const mtr_vocab *v, const char *key, size_t len);

uint32_t mtr_vocab_size(const mtr_vocab *v);
/* The key of entry `i` (NUL-terminated in the pool, though keys may contain NUL bytes too). */
const char *mtr_vocab_key(const mtr_vocab *v, uint32_t i, size_t *len);
uint64_t mtr_vocab_count(const mtr_vocab *v, uint32_t i);
void mtr_vocab_add_count(mtr_vocab *v, uint32_t i, uint64_t n);

/* A new vocabulary of the entries whose count is >= min_count, ordered by descending count and then by
 * bytes (a shorter key before a longer one it prefixes), so the order never depends on the input order.
 * Counts are kept. NULL (message in err) when out of memory. */
mtr_vocab *mtr_vocab_ranked(const mtr_vocab *v, uint64_t min_count, mtr_error *err);

#endif
