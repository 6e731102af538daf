/* rate.c: Δvalue/Δt with counter-reset detection (metrics.md, "Rule one").
 * SPDX-License-Identifier: MIT */
#include "rate.h"

#include <stdbool.h>

/* Integers are unsigned for counters (they may exceed 2^63) and signed for gauges. */
static double as_double(enum metric_kind kind, const struct journal_value *v) {
    if (v->type == JV_REAL)
        return v->d;
    return kind == METRIC_COUNTER ? (double)v->u : (double)v->i;
}

enum rate_status rate_derive(enum metric_kind kind, const struct journal_value *prev,
                             int64_t prev_real, int64_t prev_mono, const struct journal_value *cur,
                             int64_t cur_real, int64_t cur_mono, double *out) {
    if (!cur || cur->type == JV_MISSING)
        return RATE_MISSING;
    if (kind == METRIC_GAUGE) {
        *out = as_double(kind, cur);
        return RATE_OK;
    }
    if (!prev)
        return RATE_FIRST;
    if (prev->type == JV_MISSING)
        return RATE_MISSING;
    int64_t dt;
    bool overflow = (prev_mono >= 0 && cur_mono >= 0)
                        ? __builtin_sub_overflow(cur_mono, prev_mono, &dt)
                        : __builtin_sub_overflow(cur_real, prev_real, &dt);
    if (overflow || dt <= 0)
        return RATE_BAD_TIME;
    double dv;
    if (cur->type == JV_INT && prev->type == JV_INT) {
        if (cur->u < prev->u)
            return RATE_RESET;
        dv = (double)(cur->u - prev->u);
    } else {
        dv = as_double(kind, cur) - as_double(kind, prev);
        if (dv < 0)
            return RATE_RESET;
    }
    *out = dv * 1e9 / (double)dt;
    return RATE_OK;
}

const char *rate_status_name(enum rate_status st) {
    switch (st) {
    case RATE_OK:
        return "ok";
    case RATE_MISSING:
        return "missing";
    case RATE_FIRST:
        return "first";
    case RATE_RESET:
        return "reset";
    case RATE_BAD_TIME:
        return "bad-time";
    }
    return "?";
}
