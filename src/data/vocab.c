/* vocab.c - open-addressing hash map of byte strings; see vocab.h. Slots hold entry index + 1 (0 =
 * empty) and the table is kept at most half full, so probes stay short without storing hashes. */
#include "data/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "util/checksum.h"
#include "util/error.h"

typedef struct vocab_entry {
    size_t offset; /* start of the key in the pool */
    uint32_t len;  /* key length in bytes */
    uint64_t count; /* occurrences counted by the caller */
} vocab_entry;

struct mtr_vocab {
    char *pool;           /* all keys, each followed by a NUL */
    size_t pool_used;     /* bytes of pool in use */
    size_t pool_cap;      /* bytes allocated for pool */
    vocab_entry *entries; /* entries in insertion order */
    uint32_t n;           /* entries in use */
    uint32_t entries_cap; /* entries allocated */
    uint32_t *slots;      /* hash table: entry index + 1, or 0 for empty */
    size_t n_slots;       /* power of two */
};

static uint64_t hash_key(const char *key, size_t len) {
    return mtr_fnv1a64(MTR_FNV1A64_INIT, key, len);
}

mtr_vocab *mtr_vocab_create(void) {
    mtr_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n_slots = 64;
    v->slots = calloc(v->n_slots, sizeof *v->slots);
    if (!v->slots) {
        free(v);
        return NULL;
    }
    return v;
}

void mtr_vocab_free(mtr_vocab *v) {
    if (!v) return;
    free(v->pool);
    free(v->entries);
    free(v->slots);
    free(v);
}

static int key_equal(const mtr_vocab *v, uint32_t i, const char *key, size_t len) {
    const vocab_entry *e = &v->entries[i];
    return e->len == len && memcmp(v->pool + e->offset, key, len) == 0;
}

int64_t mtr_vocab_find(const mtr_vocab *v, const char *key, size_t len) {
    size_t mask = v->n_slots - 1;
    for (size_t s = (size_t)hash_key(key, len) & mask;; s = (s + 1) & mask) {
        uint32_t slot = v->slots[s];
        if (slot == 0) return -1;
        if (key_equal(v, slot - 1, key, len)) return slot - 1;
    }
}

static int grow_slots(mtr_vocab *v) {
    size_t n_slots = v->n_slots * 2;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t i = 0; i < v->n; i++) {
        const vocab_entry *e = &v->entries[i];
        size_t s = (size_t)hash_key(v->pool + e->offset, e->len) & (n_slots - 1);
        while (slots[s] != 0) s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->n_slots = n_slots;
    return 0;
}

int64_t mtr_vocab_intern(mtr_vocab *v, const char *key, size_t len) {
    int64_t found = mtr_vocab_find(v, key, len);
    if (found >= 0) return found;
    if (v->n >= MTR_VOCAB_MAX_ENTRIES || len > UINT32_MAX) return -1;
    if ((size_t)(v->n + 1) * 2 > v->n_slots && grow_slots(v) != 0) return -1;
    if (v->n == v->entries_cap) {
        uint32_t cap = v->entries_cap ? v->entries_cap * 2 : 16;
        if (cap < v->entries_cap || cap > MTR_VOCAB_MAX_ENTRIES) cap = MTR_VOCAB_MAX_ENTRIES;
        vocab_entry *e = realloc(v->entries, (size_t)cap * sizeof *e);
        if (!e) return -1;
        v->entries = e;
        v->entries_cap = cap;
    }
    if (v->pool_cap - v->pool_used < len + 1) {
        size_t cap = v->pool_cap ? v->pool_cap : 1024;
        while (cap - v->pool_used < len + 1) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        char *p = realloc(v->pool, cap);
        if (!p) return -1;
        v->pool = p;
        v->pool_cap = cap;
    }
    vocab_entry *e = &v->entries[v->n];
    e->offset = v->pool_used;
    e->len = (uint32_t)len;
    e->count = 0;
    if (len) memcpy(v->pool + v->pool_used, key, len);
    v->pool[v->pool_used + len] = '\0';
    v->pool_used += len + 1;
    size_t mask = v->n_slots - 1;
    size_t s = (size_t)hash_key(key, len) & mask;
    while (v->slots[s] != 0) s = (s + 1) & mask;
    v->slots[s] = v->n + 1;
    return v->n++;
}

uint32_t mtr_vocab_size(const mtr_vocab *v) { return v->n; }

const char *mtr_vocab_key(const mtr_vocab *v, uint32_t i, size_t *len) {
    if (len) *len = v->entries[i].len;
    return v->pool + v->entries[i].offset;
}

uint64_t mtr_vocab_count(const mtr_vocab *v, uint32_t i) { return v->entries[i].count; }

void mtr_vocab_add_count(mtr_vocab *v, uint32_t i, uint64_t n) { v->entries[i].count += n; }

/* qsort has no context argument in C11, so the ranking sorts (count, key) records that carry the key. */
typedef struct rank_item {
    uint64_t count;  /* occurrences */
    const char *key; /* key bytes in the source pool */
    uint32_t len;    /* key length */
} rank_item;

static int rank_cmp(const void *pa, const void *pb) {
    const rank_item *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c != 0) return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

mtr_vocab *mtr_vocab_ranked(const mtr_vocab *v, uint64_t min_count, mtr_error *err) {
    size_t kept = 0;
    for (uint32_t i = 0; i < v->n; i++) kept += v->entries[i].count >= min_count;
    rank_item *items = malloc((kept ? kept : 1) * sizeof *items);
    mtr_vocab *out = mtr_vocab_create();
    if (!items || !out) goto oom;
    size_t k = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        const vocab_entry *e = &v->entries[i];
        if (e->count < min_count) continue;
        items[k++] = (rank_item){e->count, v->pool + e->offset, e->len};
    }
    qsort(items, kept, sizeof *items, rank_cmp);
    for (size_t i = 0; i < kept; i++) {
        int64_t idx = mtr_vocab_intern(out, items[i].key, items[i].len);
        if (idx < 0) goto oom;
        out->entries[idx].count = items[i].count;
    }
    free(items);
    return out;
oom:
    free(items);
    mtr_vocab_free(out);
    mtr_fail(err, "out of memory building a vocabulary of %zu values", kept);
    return NULL;
}
