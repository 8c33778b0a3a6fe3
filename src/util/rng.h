/* rng.h - a small deterministic random number generator (xoshiro256** seeded by splitmix64).
 * Every random choice in mtrank goes through one of these, seeded explicitly, never global state. */
#ifndef MTR_UTIL_RNG_H
#define MTR_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct mtr_rng {
    uint64_t s[4]; /* xoshiro256** state */
} mtr_rng;

void mtr_rng_seed(mtr_rng *rng, uint64_t seed);
uint64_t mtr_rng_next(mtr_rng *rng);
/* Uniform in [0, 1). */
double mtr_rng_uniform(mtr_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t mtr_rng_below(mtr_rng *rng, uint64_t n);
/* Standard normal (Box-Muller, no cached second value so the stream stays simple). */
double mtr_rng_normal(mtr_rng *rng);
/* Fisher-Yates shuffle of a uint32 array. */
void mtr_rng_shuffle_u32(mtr_rng *rng, uint32_t *a, size_t n);
/* Derive an independent seed for a sub-stream (run k of an experiment, thread t, ...). */
uint64_t mtr_seed_mix(uint64_t seed, uint64_t stream);

#endif
