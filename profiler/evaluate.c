/* evaluate.c: streaming held-out evaluation (see evaluate.h).
 * SPDX-License-Identifier: MIT */
#include "evaluate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core_error.h"
#include "predict.h"

#define EVAL_RING (EVAL_MAX_HORIZON + MK_MAX_ORDER + 1)

struct evaluator {
    const struct markov_series *s;
    const struct disc *disc;
    struct disc_buffer buf;
    unsigned H;
    uint32_t nstates;
    double *fc; /* fc[h * nstates + s]: expected value at horizon h from state s */
    /* History of the chain's order (> 1): forecasts from the last `order` states, computed when
     * an origin with that history first occurs (fch[key * (H + 1) + h], have[key]). */
    int order;
    uint64_t nkeys;
    double *fch;
    uint8_t *have;
    uint32_t ring_state[EVAL_RING];
    double ring_value[EVAL_RING];
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
    e->order = predict_history_order(c, (size_t)cfg->order);
    if (e->order > 1) {
        e->nkeys = 1;
        for (int i = 0; i < e->order; i++) {
            e->nkeys *= e->nstates;
        }
        e->fch = malloc(e->nkeys * (horizons + 1) * sizeof *e->fch);
        e->have = calloc(e->nkeys, 1);
        if (!e->fch || !e->have) {
            evaluator_free(e);
            return -ENOMEM;
        }
    }
    *out = e;
    return 0;
}

/* Forecast at horizon h from the origin whose last `order` states are st (oldest first). */
static double forecast_hist(struct evaluator *e, const uint32_t *st, unsigned h) {
    uint64_t key = 0;
    for (int i = 0; i < e->order; i++) {
        key = key * e->nstates + st[i];
    }
    double *f = e->fch + key * (e->H + 1);
    if (!e->have[key]) {
        const struct mk_counts *c = &markov_series_chain(e->s)->counts;
        double *pks = malloc((size_t)e->H * e->nstates * sizeof *pks);
        if (!pks || predict_history_steps(c, st, (size_t)e->order, e->H, pks) < 0) {
            free(pks);
            return e->fc[(size_t)h * e->nstates + st[e->order - 1]]; /* order 1 */
        }
        for (unsigned k = 1; k <= e->H; k++) {
            f[k] = predict_expected_value(e->disc, pks + (size_t)(k - 1) * e->nstates);
        }
        free(pks);
        e->have[key] = 1;
    }
    return f[h];
}

void evaluator_free(struct evaluator *e) {
    if (e) {
        free(e->fc);
        free(e->fch);
        free(e->have);
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
    const unsigned R = EVAL_RING;
    for (unsigned h = 1; h <= e->H && h <= e->n; h++) {
        uint64_t origin = e->n - h;
        unsigned o = (unsigned)(origin % R);
        double f;
        if (e->order > 1 && origin + 1 >= (uint64_t)e->order) {
            uint32_t hist[MK_MAX_ORDER];
            for (int i = 0; i < e->order; i++) {
                hist[i] = e->ring_state[(origin + 1 - (uint64_t)e->order + (uint64_t)i) % R];
            }
            f = forecast_hist(e, hist, h);
        } else {
            f = e->fc[(size_t)h * e->nstates + e->ring_state[o]];
        }
        eval_acc_add(&e->res.model[h], f, a);
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
