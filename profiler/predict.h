/* predict.h: using a chain: k-step prediction, simulation, scoring, evaluation, diff.
 * All functions read counts only (borrowed) and allocate nothing that outlives the call.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_PREDICT_H
#define PROFILER_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "discretise.h"
#include "markov.h"

/* k-step state distribution pk = p0 P^k from the order-1 matrix, P^k by repeated squaring with
 * gsl_blas_dgemm and the product with gsl_blas_dgemv. Rows never seen are treated as staying in
 * place (identity row: persistence), so pk sums to 1 when p0 does. k = 0 copies p0. Returns 0,
 * -CORE_ERANGE (nstates > 4096) or -ENOMEM. */
int predict_dist(const struct mk_counts *c, const double *p0, unsigned k, double *pk);

/* The same from a known current state s. */
int predict_from_state(const struct mk_counts *c, uint32_t s, unsigned k, double *pk);

/* The same from a known recent history hist[0..nhist-1] (oldest first, nhist >= 1), using the
 * chain's higher orders: the distribution over the last H = min(order, nhist) states is carried
 * forward, each step from the highest order whose row was seen, backing off to lower orders;
 * where no order saw the row the chain stays (as predict_dist). With H = 1 this equals
 * predict_from_state. pk is the marginal of the last state. When nstates^H exceeds
 * PREDICT_MAX_HISTORIES the order is lowered until it fits. Returns 0, -CORE_ERANGE (a state out
 * of range, nhist = 0) or -ENOMEM. */
#define PREDICT_MAX_HISTORIES 65536
int predict_from_history(const struct mk_counts *c, const uint32_t *hist, size_t nhist, unsigned k,
                         double *pk);

/* The same for every step 1..K at once: pks[(k - 1) * nstates + s] (K x nstates values). */
int predict_history_steps(const struct mk_counts *c, const uint32_t *hist, size_t nhist, unsigned K,
                          double *pks);

/* The history order predict_from_history() uses for nhist known states. */
int predict_history_order(const struct mk_counts *c, size_t nhist);

/* Expected value of a state distribution, each state at its bin centre (edges of d). */
double predict_expected_value(const struct disc *d, const double *p);

/* Simulates n steps starting after the history start[0..nstart-1] (oldest first, nstart >= 1).
 * Each step uses the highest order whose row (last h states) was seen, backing off to lower
 * orders; when even the order-1 row is unseen the chain stays. The next state is drawn with
 * probability count / total from rng (seeded by the caller), and values[i] (may be NULL) is drawn
 * uniformly within the state's bin edges. Returns 0 or -CORE_ERANGE. */
int predict_simulate(const struct mk_counts *c, const struct disc *d, const uint32_t *start,
                     size_t nstart, size_t n, gsl_rng *rng, uint32_t *states, double *values);

/* Log-likelihood (natural log) of states[0..n-1]: sum over t >= 1 of log P(s_t | history), using
 * the highest order available (min(order, t)) with back-off to lower orders for unseen rows. An
 * unseen transition (or a row unseen at every order) contributes log(floor_p) (floor_p in
 * (0, 1), e.g. 1e-6) and is counted in *unseen (may be NULL). *ll gets the sum. Returns 0 or
 * -CORE_ERANGE. */
int predict_score(const struct mk_counts *c, const uint32_t *states, size_t n, double floor_p,
                  double *ll, size_t *unseen);

/* Error measures over n pairs (forecast f, actual a). SMAPE is the textbook
 * 100/n * sum |f - a| / ((|a| + |f|) / 2), a pair with a = f = 0 contributing 0. NAN for n = 0. */
double eval_mae(const double *f, const double *a, size_t n);
double eval_rmse(const double *f, const double *a, size_t n);
double eval_smape(const double *f, const double *a, size_t n);

/* Persistence baseline: f[i] = a[i - h] for i >= h (the first h forecasts are a[0]). */
void eval_persistence(const double *a, size_t n, size_t h, double *f);

/* Per-row distances between the order-h rows of a and b (same nstates/order, else -CORE_ERANGE):
 * total variation 0.5 * sum |p - q| and Jensen-Shannon divergence in bits (both in [0, 1]). Rows
 * seen in both are compared; *rows gets their number, *tv_mean and *js_mean the means and *tv_max
 * the maximum (0 when no row is shared); rows seen in only one profile are counted in *only. */
int predict_diff(const struct mk_counts *a, const struct mk_counts *b, int order, double *tv_mean,
                 double *js_mean, double *tv_max, size_t *rows, size_t *only);

#endif
