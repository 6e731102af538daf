/* evaluate.h: streaming evaluation of a trained metric chain on held-out data.
 *
 * Held-out raw values are turned into steps exactly as in training (buffer means, the trained
 * bins). For every step t and horizon h = 1..H with an origin t - h also held out, the model's
 * forecast is the expected value of the h-step distribution from the origin, each state at its
 * bin centre: from the origin's state by matrix power (order 1), or, for a chain of order H > 1,
 * from the origin's last H states (predict_history_steps; the first H - 1 held-out origins use
 * their state alone), and the persistence baseline's forecast is
 * the origin's value. MAE, RMSE and the textbook SMAPE, 100/n * sum |f - a| / ((|a| + |f|) / 2)
 * (a pair with a = f = 0 counts 0), are accumulated per horizon over the same pairs for both.
 * Memory: H states and values plus an H x states table of forecasts (order > 1: also
 * H x states^order, filled as histories occur).
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_EVALUATE_H
#define PROFILER_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "markov.h"

#define EVAL_MAX_HORIZON 64

struct eval_acc {
    uint64_t n;
    double abs, sq, smape;
};

struct eval_result {
    unsigned horizons;
    struct eval_acc model[EVAL_MAX_HORIZON + 1];   /* [1..horizons] */
    struct eval_acc persist[EVAL_MAX_HORIZON + 1]; /* [1..horizons] */
    uint64_t steps;                                /* held-out steps */
};

struct evaluator;

/* Builds an evaluator for the finished series s (borrowed, must outlive the evaluator), over
 * horizons 1..horizons (<= EVAL_MAX_HORIZON). Returns 0, -CORE_ERANGE or -ENOMEM. */
int evaluator_new(struct evaluator **out, const struct markov_series *s, unsigned horizons);
void evaluator_free(struct evaluator *e);

/* Feeds one held-out raw value (NaN skipped). */
void evaluator_push(struct evaluator *e, double v);
/* Processes the trailing partial buffer. */
void evaluator_flush(struct evaluator *e);
const struct eval_result *evaluator_result(const struct evaluator *e);

/* Adds one forecast/actual pair to an accumulator. */
void eval_acc_add(struct eval_acc *a, double f, double actual);
double eval_acc_mae(const struct eval_acc *a);
double eval_acc_rmse(const struct eval_acc *a);
double eval_acc_smape(const struct eval_acc *a);

#endif
