/* evaluate.c: streaming held-out evaluation (see evaluate.h).
 * SPDX-License-Identifier: MIT */
#include "evaluate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"
#include "predict.h"

struct evaluator {
    const struct markov_series *s;
    const struct disc *disc;
    struct disc_buffer buf;
    unsigned H;
    uint32_t nstates;
    double *fc; /* fc[h * nstates + s]: expected value at horizon h from state s */
    uint32_t ring_state[EVAL_MAX_HORIZON + 1];
    double ring_value[EVAL_MAX_HORIZON + 1];
    uint64_t n; /* held-out steps seen */
    struct eval_result res;
};

int evaluator_new(struct evaluator **out, const struct markov_series *s, unsigned horizons) {
    *out = NULL;
    if (horizons < 1 || horizons > EVAL_MAX_HORIZON) {
        return -CORE_ERANGE;
    }
    const struct markov_config *cfg = markov_series_config(s);
    struct evaluator *e = calloc(1, sizeof *e);
    if (!e) {
        return -ENOMEM;
    }
    e->s = s;
    e->disc = markov_series_disc(s);
    e->H = horizons;
    e->nstates = cfg->nstates;
    e->res.horizons = horizons;
    int rc = disc_buffer_init(&e->buf, cfg->buffersize);
    double *pk = malloc(e->nstates * sizeof *pk);
    e->fc = malloc((size_t)(horizons + 1) * e->nstates * sizeof *e->fc);
    if (rc < 0 || !pk || !e->fc) {
        free(pk);
        evaluator_free(e);
        return rc < 0 ? rc : -ENOMEM;
    }
    const struct mk_counts *c = &markov_series_chain(s)->counts;
    for (unsigned h = 1; h <= horizons; h++) {
        for (uint32_t st = 0; st < e->nstates; st++) {
            rc = predict_from_state(c, st, h, pk);
            if (rc < 0) {
                free(pk);
                evaluator_free(e);
                return rc;
            }
            e->fc[(size_t)h * e->nstates + st] = predict_expected_value(e->disc, pk);
        }
    }
    free(pk);
    *out = e;
    return 0;
}

void evaluator_free(struct evaluator *e) {
    if (e) {
        free(e->fc);
        free(e);
    }
}

void eval_acc_add(struct eval_acc *a, double f, double actual) {
    double d = fabs(f - actual);
    a->n++;
    a->abs += d;
    a->sq += d * d;
    double den = (fabs(actual) + fabs(f)) / 2.0;
    if (den > 0) {
        a->smape += d / den;
    }
}

double eval_acc_mae(const struct eval_acc *a) {
    return a->n ? a->abs / (double)a->n : NAN;
}
double eval_acc_rmse(const struct eval_acc *a) {
    return a->n ? sqrt(a->sq / (double)a->n) : NAN;
}
double eval_acc_smape(const struct eval_acc *a) {
    return a->n ? 100.0 * a->smape / (double)a->n : NAN;
}

static void step(struct evaluator *e, const struct disc_step *st) {
    uint32_t s = (uint32_t)disc_step_bin(e->disc, st);
    double a = st->value;
    unsigned R = EVAL_MAX_HORIZON + 1;
    for (unsigned h = 1; h <= e->H && h <= e->n; h++) {
        unsigned o = (unsigned)((e->n - h) % R);
        eval_acc_add(&e->res.model[h], e->fc[(size_t)h * e->nstates + e->ring_state[o]], a);
        eval_acc_add(&e->res.persist[h], e->ring_value[o], a);
    }
    e->ring_state[e->n % R] = s;
    e->ring_value[e->n % R] = a;
    e->n++;
    e->res.steps = e->n;
}

void evaluator_push(struct evaluator *e, double v) {
    struct disc_step st;
    if (isnan(v)) {
        return;
    }
    if (disc_buffer_add(&e->buf, 0, v, &st)) {
        step(e, &st);
    }
}

void evaluator_flush(struct evaluator *e) {
    struct disc_step st;
    if (disc_buffer_flush(&e->buf, &st)) {
        step(e, &st);
    }
}

const struct eval_result *evaluator_result(const struct evaluator *e) {
    return &e->res;
}
