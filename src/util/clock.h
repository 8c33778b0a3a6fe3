/* clock.h - monotonic wall-clock seconds, for the timings the library reports (epoch seconds, request
 * times), the CLI prints and the benchmarks measure. */
#ifndef MTR_UTIL_CLOCK_H
#define MTR_UTIL_CLOCK_H

#include <time.h>

static inline double mtr_seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
