/* rules_exposure.c - the in-process exposure store behind mtr_exposure_store's function pointers: an
 * exact sliding window in fixed memory. Every exposure is an event (request, item) in a ring, oldest
 * first; a hash table (open addressing, linear probing, backward-shift deletion) holds each item's number
 * of events in the ring. expire(before) pops events older than `before` and decrements their items, so
 * counts are exact for any window; memory is sized once for `capacity` events and never grows.
 *
 * Assumes requests arrive in non-decreasing order (checked). Not thread-safe: one store per context, or a
 * lock around a shared one, or another implementation of the interface. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtrank.h"
#include "util/error.h"

typedef struct expo_event {
    uint64_t request; /* when it was shown */
    uint64_t item;    /* what was shown */
} expo_event;

typedef struct expo_slot {
    uint64_t item;   /* the key */
    uint32_t count;  /* events of this item in the ring; 0 = empty slot */
} expo_slot;

typedef struct expo_mem {
    size_t capacity;       /* events the ring holds */
    expo_event *ring;      /* (capacity) */
    size_t head;           /* oldest event */
    size_t len;            /* events held */
    expo_slot *table;      /* (mask + 1), at most half full */
    size_t mask;           /* table size - 1, a power of two minus one */
    uint64_t last_request; /* the latest request incremented, for the order check */
} expo_mem;

static size_t slot_of(const expo_mem *m, uint64_t item) {
    uint64_t h = item + 0x9e3779b97f4a7c15ULL; /* splitmix64's finaliser */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (size_t)h & m->mask;
}

/* The slot holding item, or the empty slot where it would go. */
static size_t find(const expo_mem *m, uint64_t item) {
    size_t i = slot_of(m, item);
    while (m->table[i].count != 0 && m->table[i].item != item) i = (i + 1) & m->mask;
    return i;
}

/* Empty slot i, moving later entries of its probe run back so lookups stay correct. */
static void remove_slot(expo_mem *m, size_t i) {
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->table[j].count == 0) break;
        size_t home = slot_of(m, m->table[j].item);
        /* the entry at j may move to i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->table[i] = m->table[j];
            i = j;
        }
    }
    m->table[i].count = 0;
}

static int mem_get(void *state, const uint64_t *items, size_t n, uint32_t *counts, mtr_error *err) {
    const expo_mem *m = state;
    for (size_t k = 0; k < n; k++) counts[k] = m->table[find(m, items[k])].count;
    return 0;
}

static int mem_increment(void *state, const uint64_t *items, size_t n, uint64_t request, mtr_error *err) {
    expo_mem *m = state;
    if (request < m->last_request)
        return mtr_fail(err, "exposure store: request %llu comes after request %llu", (unsigned long long)request,
                        (unsigned long long)m->last_request);
    if (n > m->capacity - m->len)
        return mtr_fail(err, "exposure store: full (%zu exposures held, capacity %zu, %zu more): expire older "
                        "requests or create it larger", m->len, m->capacity, n);
    m->last_request = request;
    for (size_t k = 0; k < n; k++) {
        size_t at = (m->head + m->len) % m->capacity;
        m->ring[at].request = request;
        m->ring[at].item = items[k];
        m->len++;
        size_t s = find(m, items[k]);
        m->table[s].item = items[k];
        m->table[s].count++;
    }
    return 0;
}

static int mem_expire(void *state, uint64_t before, mtr_error *err) {
    expo_mem *m = state;
    while (m->len > 0 && m->ring[m->head].request < before) {
        size_t s = find(m, m->ring[m->head].item);
        if (--m->table[s].count == 0) remove_slot(m, s);
        m->head = (m->head + 1) % m->capacity;
        m->len--;
    }
    return 0;
}

static void mem_destroy(void *state) {
    expo_mem *m = state;
    if (!m) return;
    free(m->ring);
    free(m->table);
    free(m);
}

int mtr_exposure_memory_init(mtr_exposure_store *store, size_t capacity, mtr_error *err) {
    memset(store, 0, sizeof *store);
    if (capacity == 0 || capacity > ((size_t)1 << 32))
        return mtr_fail(err, "exposure store: capacity %zu, need 1 to 2^32 exposures", capacity);
    expo_mem *m = calloc(1, sizeof *m);
    size_t size = 16;
    while (size < 2 * capacity) size *= 2;
    if (m) {
        m->capacity = capacity;
        m->ring = malloc(capacity * sizeof *m->ring);
        m->table = calloc(size, sizeof *m->table);
        m->mask = size - 1;
    }
    if (!m || !m->ring || !m->table) {
        mem_destroy(m);
        return mtr_fail(err, "exposure store: out of memory for %zu exposures", capacity);
    }
    store->state = m;
    store->get = mem_get;
    store->increment = mem_increment;
    store->expire = mem_expire;
    store->destroy = mem_destroy;
    return 0;
}

void mtr_exposure_store_destroy(mtr_exposure_store *store) {
    if (!store) return;
    if (store->destroy) store->destroy(store->state);
    memset(store, 0, sizeof *store);
}
