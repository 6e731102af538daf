/* markov.h: streaming Markov chains over discretised metric series.
 *
 * Layers, from the bottom:
 *   - struct mk_hist: the last H states of a chain as mixed-radix keys, one per order;
 *   - struct mk_counts: integer transition counts, one table per order h = 1..H (never mixed);
 *     rows are the key of the last h states (oldest first, most significant: key = sum
 *     s_{t-h+i} N^(h-1-i)), columns the next state. A table is a dense gsl_matrix_ulong when it
 *     has at most MK_DENSE_MAX_CELLS cells, else a gsl_spmatrix_ulong (COO, tree-indexed);
 *   - struct mk_stats: raw-value statistics in fixed memory (count, mean, sd, min, max, and
 *     quantiles from a fixed 1024-bin histogram over the discretisation bounds);
 *   - struct markov_chain: counts + history + occupancy, fed with integer states (also used for
 *     the joint product-state chain);
 *   - struct markov_series: one metric, fed with raw values one at a time: NaN skip, outlier
 *     filter, stats, buffering, binning, counting. Memory does not depend on the series length.
 * There is no phantom start state: the first transition counted at order h is the one after the
 * first h real states. Counts are exact integers; probabilities are derived on demand.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_MARKOV_H
#define PROFILER_MARKOV_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_spmatrix.h>

#include "discretise.h"

#define MK_MAX_ORDER       8
#define MK_DENSE_MAX_CELLS (1u << 20) /* 8 MiB of counts per dense table at most */
#define MK_QBINS           1024       /* quantile histogram resolution */

/* ------------------------------------------------------------------------------------------ */
/* History. Readable: order, nstates, nseen, key[h] for h <= min(order, nseen). */
struct mk_hist {
    int order;
    uint32_t nstates;
    uint64_t nseen;
    uint64_t key[MK_MAX_ORDER + 1]; /* key[h]: the last h states, oldest most significant */
};

/* Initialises an empty history. Cannot fail (callers validated nstates and order). */
void mk_hist_init(struct mk_hist *h, uint32_t nstates, int order);

/* Appends state s (0 <= s < nstates). */
static inline void mk_hist_push(struct mk_hist *h, uint32_t s) {
    for (int k = h->order; k >= 2; k--) {
        h->key[k] = h->key[k - 1] * h->nstates + s;
    }
    h->key[1] = s;
    h->nseen++;
}

/* ------------------------------------------------------------------------------------------ */
/* Counts. The body is public for the inlined hot path; use the functions to read it. */
struct mk_order_table {
    uint64_t rows;              /* nstates^h */
    gsl_matrix_ulong *dense;    /* rows x nstates, or NULL */
    gsl_spmatrix_ulong *sparse; /* rows x nstates COO, or NULL */
    uint64_t total;             /* sum of all counts of this order */
};

struct mk_counts {
    uint32_t nstates;
    int order;
    struct mk_order_table ord[MK_MAX_ORDER + 1]; /* ord[1..order] */
};

/* Allocates tables for orders 1..order over nstates states. Returns 0, -CORE_ERANGE (order outside
 * [1, MK_MAX_ORDER], nstates < 2 or nstates^order not representable) or -ENOMEM. The caller owns
 * c and releases it with mk_counts_fini(). */
int mk_counts_init(struct mk_counts *c, uint32_t nstates, int order);

/* Releases the tables. Safe on a zeroed struct. */
void mk_counts_fini(struct mk_counts *c);

/* Slow path of mk_counts_add for sparse tables (internal). */
void mk__sparse_inc(struct mk_order_table *t, uint64_t row, uint32_t col, uint64_t by);

/* Counts the transition into state s after history h, for every order h' <= min(order, nseen). */
static inline void mk_counts_add(struct mk_counts *c, const struct mk_hist *h, uint32_t s) {
    int top = c->order;
    if (h->nseen < (uint64_t)top) {
        top = (int)h->nseen;
    }
    for (int k = 1; k <= top; k++) {
        struct mk_order_table *t = &c->ord[k];
        if (t->dense) {
            t->dense->data[h->key[k] * t->dense->tda + s]++;
        } else {
            mk__sparse_inc(t, h->key[k], s, 1);
        }
        t->total++;
    }
}

/* Returns the count of (row -> col) at the given order (0 when out of range). */
uint64_t mk_counts_get(const struct mk_counts *c, int order, uint64_t row, uint32_t col);

/* Adds n to (row -> col) at the given order (used by readers and merging). Returns 0 or
 * -CORE_ERANGE. */
int mk_counts_add_n(struct mk_counts *c, int order, uint64_t row, uint32_t col, uint64_t n);

/* Fills counts[0..nstates-1] with the row and returns its total (0 = row never seen). */
uint64_t mk_counts_row(const struct mk_counts *c, int order, uint64_t row, uint64_t *counts);

/* Fills p[0..nstates-1] with the transition probabilities of a row: count / row total, so a seen
 * row sums to 1 within nstates ulp (<= 1e-12 for any nstates we accept). A row never seen is
 * all zero and the function returns 0; otherwise it returns the row total. */
uint64_t mk_counts_row_probs(const struct mk_counts *c, int order, uint64_t row, double *p);

/* Returns in *rows (malloc'd, caller frees) the sorted keys of the rows with a non-zero total at
 * the given order, and their number in *n. Returns 0, -CORE_ERANGE or -ENOMEM. */
int mk_counts_seen_rows(const struct mk_counts *c, int order, uint64_t **rows, size_t *n);

/* Adds every count of src to dst. Both must have the same nstates and order, else -CORE_ERANGE
 * and dst is unchanged. */
int mk_counts_merge(struct mk_counts *dst, const struct mk_counts *src);

/* Writes the order-1 probability matrix into P (nstates x nstates, caller-allocated). Rows never
 * seen are all zero; their number is returned in *unseen (may be NULL). Returns 0 or
 * -CORE_ERANGE on a size mismatch. */
int mk_counts_prob_matrix(const struct mk_counts *c, gsl_matrix *P, size_t *unseen);

/* Decodes a row key into its h states, oldest first. */
void mk_key_decode(uint64_t key, uint32_t nstates, int h, uint32_t *states);

/* Stationary distribution of the order-1 chain, where rows never seen are replaced by the uniform
 * row (as PageRank treats dangling nodes). Solved exactly (GSL LU on pi (P - I) = 0, sum = 1) when
 * it is unique; when the chain has several closed classes (no unique answer), the limit reached
 * from occ (the occupancy histogram, normalised; uniform when NULL or all zero) by power iteration
 * with gsl_blas_dgemv on the lazy chain (I + P) / 2, until the L1 change is below 1e-13 or after
 * 100000 iterations. pi gets nstates values summing to 1. *iters (may be NULL) gets the
 * iterations done (0 when solved exactly). Returns 0, -CORE_ERANGE when nstates > 4096 (dense matrix limit),
 * -CORE_EEMPTY when no transition was counted, or -ENOMEM. */
int mk_stationary(const struct mk_counts *c, const uint64_t *occ, double *pi, int *iters);

/* Expected dwell time of each state in steps, 1 / (1 - P_ii) from the order-1 matrix (the mean
 * of the geometric sojourn). INFINITY when P_ii == 1, NAN for a row never seen. */
void mk_dwell(const struct mk_counts *c, double *dwell);

/* ------------------------------------------------------------------------------------------ */
/* Raw statistics. Mean and variance use shifted sums (K = first value; exact enough unless the
 * mean drifts by many sd from K), min/max are exact, quantiles come from MK_QBINS equal bins over
 * [lo, hi] plus under/overflow counters: error <= (hi - lo) / MK_QBINS inside the range; a
 * quantile falling in the under/overflow mass is interpolated between the exact min (max) and lo
 * (hi). Everything merges exactly when lo/hi are equal. */
struct mk_stats {
    uint64_t n;
    double shift, s1, s2; /* sum (v - shift), sum (v - shift)^2 */
    double min, max;
    double lo, hi, qscale; /* histogram range; qscale = MK_QBINS / (hi - lo) */
    uint64_t under, over;
    uint64_t *q; /* owned, MK_QBINS */
};

int mk_stats_init(struct mk_stats *st, double lo, double hi);
void mk_stats_fini(struct mk_stats *st);

static inline void mk_stats_add(struct mk_stats *st, double v) {
    if (st->n == 0) {
        st->shift = v;
    }
    st->n++;
    double d = v - st->shift;
    st->s1 += d;
    st->s2 += d * d;
    st->min = v < st->min ? v : st->min;
    st->max = v > st->max ? v : st->max;
    double x = (v - st->lo) * st->qscale;
    if (x < 0.0) {
        st->under++;
    } else if (x >= (double)MK_QBINS) {
        st->over++;
    } else {
        st->q[(size_t)x]++;
    }
}

double mk_stats_mean(const struct mk_stats *st);
/* Population variance; 0 when n < 2. */
double mk_stats_var(const struct mk_stats *st);
/* Quantile p in [0, 1]; NAN when n == 0. */
double mk_stats_quantile(const struct mk_stats *st, double p);
/* Sets st from (n, mean, m2, min, max) plus histogram content (for readers); q may be NULL. */
void mk_stats_set(struct mk_stats *st, uint64_t n, double mean, double m2, double min, double max,
                  uint64_t under, uint64_t over, const uint64_t *q);
/* Adds src into dst (Chan's parallel formula). -CORE_ERANGE when the histogram ranges differ. */
int mk_stats_merge(struct mk_stats *dst, const struct mk_stats *src);

/* tsprofiler's per-metric stats, kept for --format tsprofiler (see the anchor reference §3):
 * min/max over buffer bounds, count of raw values, count-weighted avg, pooled within-buffer SS. */
struct mk_tsp_stats {
    double min, max, avg, stddevsum; /* avg is brought up to date by markov_series_flush() */
    double sum;                      /* sum of raw values (hot path: no division per step) */
    uint64_t count;
    int started;
};

/* ------------------------------------------------------------------------------------------ */
/* A chain fed with integer states. Readable: counts, hist, occ (nstates counters), steps,
 * first[] (the first min(order, steps) states, for tsprofiler's phantom rows). */
struct markov_chain {
    struct mk_counts counts;
    struct mk_hist hist;
    uint64_t *occ;
    uint64_t steps;
    uint32_t first[MK_MAX_ORDER];
};

int markov_chain_init(struct markov_chain *c, uint32_t nstates, int order);
void markov_chain_fini(struct markov_chain *c);

static inline void markov_chain_push(struct markov_chain *c, uint32_t s) {
    mk_counts_add(&c->counts, &c->hist, s);
    if (c->steps < MK_MAX_ORDER) {
        c->first[c->steps] = s;
    }
    c->occ[s]++;
    c->steps++;
    mk_hist_push(&c->hist, s);
}

/* Sums counts and occupancy of src into dst (same nstates and order, else -CORE_ERANGE). The
 * history of dst is kept: merging does not invent the transition between the two series. */
int markov_chain_merge(struct markov_chain *dst, const struct markov_chain *src);

/* ------------------------------------------------------------------------------------------ */
/* One metric series. */
struct markov_config {
    uint32_t nstates;    /* --states, 2..DISC_MAX_STATES */
    int order;           /* --history, 1..MK_MAX_ORDER */
    uint32_t buffersize; /* --buffersize, >= 1 */
    double filterk;      /* --filterstddevs, <= 0 disables */
    enum disc_filter_action filter_action;
    enum disc_mode mode; /* DISC_LINEAR, DISC_EDGES (edges given) or DISC_COMPAT_TSP */
    int fixed;           /* DISC_COMPAT_TSP: 1 = fixed bounds, 0 = tsprofiler's per-buffer bounds */
    double min, max;     /* bounds (LINEAR, COMPAT); also the stats histogram range */
    const double *edges; /* DISC_EDGES: nstates + 1 edges (copied) */
};

/* What a step hook sees: the step, its state, and the history before the state is appended. */
struct mk_step_event {
    const struct disc_step *step;
    uint32_t state;
    const struct mk_hist *hist;
};

typedef void (*mk_step_hook)(void *ctx, const struct mk_step_event *ev);
#define MK_MAX_HOOKS 4

struct markov_series;

/* Creates a series from cfg (copied). Returns 0, -CORE_ERANGE for invalid settings, -ENOMEM. */
int markov_series_new(struct markov_series **out, const struct markov_config *cfg);

/* Frees s. NULL is fine. */
void markov_series_free(struct markov_series *s);

/* Pushes one raw value observed at time t (any monotonic unit; periods expect Unix seconds).
 * NaN is skipped and counted. Never allocates for dense tables. */
void markov_series_push(struct markov_series *s, int64_t t, double v);

/* Pushes n values; t may be NULL (times 0). */
void markov_series_push_n(struct markov_series *s, const int64_t *t, const double *v, size_t n);

/* Processes the trailing partial buffer. Call once after the last value. */
void markov_series_flush(struct markov_series *s);

/* Marks a gap (end of one journal, a sampling hole): processes the partial buffer and forgets the
 * history, so no transition is counted across the gap. Profiling a, break, b therefore gives
 * exactly the counts of merging the profiles of a and b. */
void markov_series_break(struct markov_series *s);

/* Registers fn(ctx, event) to be called on every step (periods, phases, joint chains). Returns 0
 * or -CORE_ERANGE when MK_MAX_HOOKS are already registered. ctx is borrowed. */
int markov_series_add_hook(struct markov_series *s, mk_step_hook fn, void *ctx);

/* Accessors; the returned pointers are borrowed and valid until markov_series_free(). */
const struct markov_config *markov_series_config(const struct markov_series *s);
const struct disc *markov_series_disc(const struct markov_series *s);
const struct markov_chain *markov_series_chain(const struct markov_series *s);
struct markov_chain *markov_series_chain_mut(struct markov_series *s);
const struct mk_stats *markov_series_stats(const struct markov_series *s);
struct mk_stats *markov_series_stats_mut(struct markov_series *s);
const struct mk_tsp_stats *markov_series_tsp_stats(const struct markov_series *s);
struct mk_tsp_stats *markov_series_tsp_stats_mut(struct markov_series *s);
/* Values skipped as NaN, and values dropped or clamped by the outlier filter. */
uint64_t markov_series_nan_skipped(const struct markov_series *s);
uint64_t markov_series_outliers(const struct markov_series *s);
/* Samples accepted (after NaN skipping and dropping). */
uint64_t markov_series_samples(const struct markov_series *s);
/* Sets the outlier and NaN counters (readers and merges). */
void markov_series_set_counters(struct markov_series *s, uint64_t nan_skipped, uint64_t outliers);

/* Checks that two configurations profile the same way (states, order, buffersize, filter, mode,
 * bounds, edges). Returns 0 or -CORE_ERANGE. */
int markov_config_compatible(const struct markov_config *a, const struct disc *da,
                             const struct markov_config *b, const struct disc *db);

/* Adds src's counts, occupancy, stats and counters into dst; settings must be compatible
 * (-CORE_ERANGE otherwise, dst unchanged). */
int markov_series_merge(struct markov_series *dst, const struct markov_series *src);

#endif
