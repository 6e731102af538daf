/* discretise.h: turning raw metric values into Markov states.
 *
 * Four pieces, each usable on its own:
 *   - struct disc: the binning rule (bounds, edges, the tsprofiler compatibility rule);
 *   - struct disc_filter: the outlier filter (running mean/sd by Welford);
 *   - struct disc_buffer: --buffersize, the mean of B consecutive samples makes one step;
 *   - struct disc_scan: the first pass of data-driven bounds (global min/max, quantile edges).
 * The hot-path functions are static inline so that the counting loop in markov.c inlines them; the
 * struct bodies are therefore public, but callers only read the fields documented as readable.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_DISCRETISE_H
#define PROFILER_DISCRETISE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Largest --states we accept; keeps every mixed-radix key of order <= MK_MAX_ORDER in 64 bits. */
#define DISC_MAX_STATES 65536

enum disc_mode {
    DISC_LINEAR = 0, /* bin = floor((v - min) / (max - min) * N), clamped to [0, N-1] */
    DISC_EDGES,      /* arbitrary increasing edges (quantile binning): bin i is [e_i, e_{i+1}) */
    DISC_COMPAT_TSP, /* tsprofiler's ClosestDiscretize, bins centred on i*step, min ignored */
};

/* The binning rule. Readable fields: nstates, mode, min, max, edges (nstates + 1 values).
 * For DISC_COMPAT_TSP with dynamic bounds (fixed == 0) the bounds come from each buffer, exactly as
 * tsprofiler does, and min/max/edges describe only the bounds given at init. */
struct disc {
    int nstates;
    enum disc_mode mode;
    int fixed;    /* DISC_COMPAT_TSP only: 1 = --fixedbound, 0 = per-buffer bounds (tsprofiler) */
    double min;   /* lower bound */
    double max;   /* upper bound */
    double range; /* max - min, or 1 when max == min (then every value >= min... is bin 0 or N-1) */
    double *edges; /* owned, nstates + 1 values: exported bin edges */
};

/* Initialises d for linear bins on [min, max] with nstates states. Values below min go to bin 0,
 * values at or above max to bin N-1. max == min is accepted (constant data): values <= min give
 * bin 0, values above give bin N-1. Returns 0, -CORE_ERANGE when nstates is outside
 * [2, DISC_MAX_STATES], max < min or a bound is not finite. d is owned by the caller; release
 * with disc_fini(). */
int disc_init_linear(struct disc *d, int nstates, double min, double max);

/* Initialises d with nstates + 1 explicit edges (copied), non-decreasing and finite, e.g. from
 * disc_quantile_edges(). Bin i holds [edges[i], edges[i+1]); values below edges[0] give 0, values
 * at or above edges[N-1] give N-1. Returns 0 or -CORE_ERANGE. */
int disc_init_edges(struct disc *d, int nstates, const double *edges);

/* Initialises d for tsprofiler's binning: step = (max - min) / N, state i is
 * [i*step - step/2, i*step + step/2) measured from zero (min is ignored, as in tsprofiler), below
 * everything gives 0, at or above (N-1)*step + step/2 gives N-1. fixed = 1 uses [min, max] (its
 * --fixedbound); fixed = 0 reproduces its default, where min/max are each buffer's own min (unset
 * marker -1) and max (starting at 0). The exported edges are min, then i*step - step/2 for
 * i = 1..N-1, then max. Returns 0 or -CORE_ERANGE. */
int disc_init_compat(struct disc *d, int nstates, int fixed, double min, double max);

/* Releases the edges of d. Safe on a zeroed struct and idempotent. */
void disc_fini(struct disc *d);

/* tsprofiler's ClosestDiscretize(v, n, min, max), evaluated with its exact floating-point
 * expressions. Exposed for tests and for dynamic-bound compat mode. */
static inline int disc_closest(double v, int n, double min, double max) {
    double step = (max - min) / (double)n;
    for (int i = 0; i < n; i++) {
        double lo = (double)i * step - 0.5 * step;
        double hi = (double)i * step + 0.5 * step;
        if (v >= lo && v < hi) {
            return i;
        }
    }
    if (v >= (double)(n - 1) * step + 0.5 * step) {
        return n - 1;
    }
    return 0;
}

/* Returns the state of value v (a step value, i.e. a buffer mean) for non-dynamic modes.
 * NaN gives bin 0; callers filter NaN before (markov_series_push does and counts them). */
static inline int disc_bin(const struct disc *d, double v) {
    if (d->mode == DISC_LINEAR) {
        double x = (v - d->min) / d->range * (double)d->nstates;
        double top = (double)(d->nstates - 1);
        x = x > 0.0 ? x : 0.0; /* also maps NaN to 0 */
        x = x < top ? x : top;
        return (int)x; /* x >= 0, so truncation is floor */
    }
    if (d->mode == DISC_EDGES) {
        int b = 0;
        for (int i = 1; i < d->nstates; i++) {
            b += v >= d->edges[i];
        }
        return b;
    }
    return disc_closest(v, d->nstates, d->min, d->max);
}

/* ------------------------------------------------------------------------------------------ */

enum disc_filter_action {
    DISC_FILTER_DROP = 0,  /* the value is removed from the series (no step contribution) */
    DISC_FILTER_CLAMP = 1, /* the value is winsorised to mean +- k*sd and kept */
};

/* The outlier filter (--filterstddevs k). A value v is an outlier when the filter has seen at
 * least DISC_FILTER_WARMUP accepted values and |v - mean| > k * sd, where mean and sd (population)
 * are the running statistics of the values accepted so far (Welford's update; clamped values enter
 * as clamped, dropped values do not enter). k <= 0 disables the filter. Readable: k, action, n,
 * mean, outliers. */
#define DISC_FILTER_WARMUP 8

struct disc_filter {
    double k;
    enum disc_filter_action action;
    uint64_t n;        /* accepted values */
    double mean, m2;   /* Welford accumulators of accepted values */
    uint64_t outliers; /* values dropped or clamped */
};

/* Initialises f; k <= 0 or NaN disables it. Cannot fail. */
void disc_filter_init(struct disc_filter *f, double k, enum disc_filter_action action);

/* Applies the filter to *v (which it may clamp). Returns 1 when the value must be dropped, else
 * 0. A disabled filter always returns 0 and leaves *v alone. */
static inline int disc_filter_apply(struct disc_filter *f, double *v) {
    if (!(f->k > 0.0)) {
        return 0;
    }
    double x = *v;
    if (f->n >= DISC_FILTER_WARMUP) {
        double d = x - f->mean;
        double lim2 = f->k * f->k * (f->m2 / (double)f->n);
        if (d * d > lim2) {
            f->outliers++;
            if (f->action == DISC_FILTER_DROP) {
                return 1;
            }
            double lim = sqrt(lim2);
            x = d > 0 ? f->mean + lim : f->mean - lim;
            *v = x;
        }
    }
    f->n++;
    double d = x - f->mean;
    f->mean += d / (double)f->n;
    f->m2 += d * (x - f->mean);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

/* --buffersize B: the mean of B consecutive accepted samples makes one step. The step's time is
 * the time of its first sample. For tsprofiler compatibility it also tracks the buffer's own
 * min/max with tsprofiler's quirks (min unset marker -1, max starting at 0) and the within-buffer
 * sum of squares. Readable: size, n. */
struct disc_buffer {
    uint32_t size; /* B >= 1 */
    uint32_t n;    /* samples in the current buffer */
    double sum;
    double sumsq_shift; /* sum of (v - first)^2 for the within-buffer SS */
    double first;       /* first value of the current buffer */
    double tmin, tmax;  /* tsprofiler-style buffer bounds */
    int64_t t0;         /* time of the first sample of the current buffer */
};

/* One completed step. */
struct disc_step {
    double value; /* mean of the buffer */
    double tmin;  /* tsprofiler buffer min (quirky, see struct disc_buffer) */
    double tmax;  /* tsprofiler buffer max */
    double ss;    /* within-buffer sum of squares, sum (v - mean)^2 */
    uint32_t n;   /* samples in the step (B, or fewer for the trailing partial buffer) */
    int64_t t;    /* time of the first sample */
};

/* Initialises b with size B. Returns 0 or -CORE_ERANGE when B == 0. */
int disc_buffer_init(struct disc_buffer *b, uint32_t size);

/* Adds one accepted sample taken at time t. Returns 1 and fills *out when the buffer completed a
 * step (the buffer is then empty again), else 0. */
static inline int disc_buffer_add(struct disc_buffer *b, int64_t t, double v,
                                  struct disc_step *out) {
    if (b->n == 0) {
        b->first = v;
        b->t0 = t;
        b->sum = 0.0;
        b->sumsq_shift = 0.0;
        b->tmin = -1.0;
        b->tmax = 0.0;
    }
    b->n++;
    b->sum += v;
    double dv = v - b->first;
    b->sumsq_shift += dv * dv;
    if (b->tmin == -1.0 || v < b->tmin) {
        b->tmin = v;
    }
    if (v > b->tmax) {
        b->tmax = v;
    }
    if (b->n < b->size) {
        return 0;
    }
    double n = (double)b->n;
    out->value = b->sum / n;
    double dm = out->value - b->first;
    out->ss = b->sumsq_shift - n * dm * dm;
    out->ss = out->ss > 0.0 ? out->ss : 0.0;
    out->tmin = b->tmin;
    out->tmax = b->tmax;
    out->n = b->n;
    out->t = b->t0;
    b->n = 0;
    return 1;
}

/* Completes the trailing partial buffer, if any: returns 1 and fills *out, else 0. */
int disc_buffer_flush(struct disc_buffer *b, struct disc_step *out);

/* The state of a completed step under d (dynamic compat mode uses the step's own bounds). */
static inline int disc_step_bin(const struct disc *d, const struct disc_step *st) {
    if (d->mode == DISC_COMPAT_TSP && !d->fixed) {
        return disc_closest(st->value, d->nstates, st->tmin, st->tmax);
    }
    return disc_bin(d, st->value);
}

/* ------------------------------------------------------------------------------------------ */

/* First pass for data-driven bounds: feed it the same samples (same buffer size and filter) as the
 * counting pass and it records the min and max of the step values, and, when quantile edges are
 * wanted, a bounded-memory histogram of step values over [lo, hi] given at init (typically the
 * min/max of a previous pass, or catalogue bounds). Memory is fixed: DISC_SCAN_BINS counters. */
#define DISC_SCAN_BINS 4096

struct disc_scan {
    struct disc_buffer buf;
    struct disc_filter filter;
    uint64_t steps;
    double min, max; /* of the step values; +inf/-inf while steps == 0 */
    double lo, hi;   /* histogram range; hist == NULL when no histogram was asked */
    uint64_t *hist;  /* owned, DISC_SCAN_BINS counters */
};

/* Initialises s. with_hist != 0 allocates the histogram on [lo, hi] (lo < hi). filterk/action as
 * disc_filter_init(). Returns 0, -CORE_ERANGE or -ENOMEM. Release with disc_scan_fini(). */
int disc_scan_init(struct disc_scan *s, uint32_t buffersize, double filterk,
                   enum disc_filter_action action, int with_hist, double lo, double hi);

/* Feeds one raw sample (NaN is ignored). */
void disc_scan_push(struct disc_scan *s, double v);

/* Processes the trailing partial buffer. Call once after the last sample. */
void disc_scan_flush(struct disc_scan *s);

/* Writes nstates + 1 quantile edges of the scanned step values into edges: edges[0] = min,
 * edges[N] = max, edges[i] = the i/N quantile interpolated in the histogram (error at most
 * (hi - lo) / DISC_SCAN_BINS). Returns 0, -CORE_ERANGE without a histogram or steps, or when
 * nstates is out of range. */
int disc_scan_quantile_edges(const struct disc_scan *s, int nstates, double *edges);

/* Releases s. Safe on a zeroed struct. */
void disc_scan_fini(struct disc_scan *s);

/* Exact quantile edges of n values (sorts a copy; O(n) memory, for tests and small inputs):
 * edges[i] = the i/N quantile with linear interpolation (type 7). Returns 0, -CORE_ERANGE when
 * n == 0 or nstates is out of range, -ENOMEM. */
int disc_quantile_edges(const double *values, size_t n, int nstates, double *edges);

#endif
