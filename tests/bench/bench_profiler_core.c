/* bench_profiler_core.c: hot-path throughput of the profiler core (push one value: NaN check,
 * stats, buffer, bin, count). Standalone, not registered with CMake. Build by hand:
 *   cc -O2 -I profiler -I formats tests/bench/bench_profiler_core.c \
 *      BUILD/profiler/libprofiler_lib.a BUILD/formats/libcore.a -lgsl -lgslcblas -ljansson -lm
 * Usage: bench_profiler_core [states] [history] [buffersize] [millions of samples]
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "markov.h"

#define NV (1u << 20)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    uint32_t states = argc > 1 ? (uint32_t)atoi(argv[1]) : 4;
    int history = argc > 2 ? atoi(argv[2]) : 1;
    uint32_t bsize = argc > 3 ? (uint32_t)atoi(argv[3]) : 1;
    long millions = argc > 4 ? atol(argv[4]) : 200;
    double *v = malloc(NV * sizeof *v);
    if (!v) {
        return 1;
    }
    /* AR(1) around regime levels, like the baseline generator, precomputed. */
    uint64_t x = 12345;
    double level = 25, y = 25;
    for (size_t i = 0; i < NV; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(x >> 11) / 9007199254740992.0;
        if (u < 0.002) {
            level = level < 50 ? 88 : 5;
        }
        y = level + 0.95 * (y - level) + (u - 0.5) * 8;
        v[i] = y < 0 ? 0 : (y > 100 ? 100 : y);
    }
    struct markov_config cfg = {.nstates = states,
                                .order = history,
                                .buffersize = bsize,
                                .mode = DISC_LINEAR,
                                .min = 0,
                                .max = 100};
    struct markov_series *s;
    if (markov_series_new(&s, &cfg) < 0) {
        fprintf(stderr, "bad settings\n");
        return 1;
    }
    long rounds = millions * 1000000 / NV;
    markov_series_push_n(s, NULL, v, NV); /* warm-up */
    double t0 = now();
    for (long r = 0; r < rounds; r++) {
        markov_series_push_n(s, NULL, v, NV);
    }
    markov_series_flush(s);
    double dt = now() - t0;
    double n = (double)rounds * NV;
    printf("states %u history %d buffersize %u: %.0f samples in %.3f s = %.1f M samples/s "
           "(steps %llu)\n",
           states, history, bsize, n, dt, n / dt / 1e6,
           (unsigned long long)markov_series_chain(s)->steps);
    markov_series_free(s);
    free(v);
    return 0;
}
