/* rate.c: Δvalue/Δt with counter-reset detection (metrics.md, "Rule one").
 * SPDX-License-Identifier: MIT */
#include "rate.h"

static double as_double(const struct journal_value *v) {
    return v->type == JV_REAL ? v->d : (double)v->i;
}

enum rate_status rate_derive(enum metric_kind kind, const struct journal_value *prev,
                             int64_t prev_real, int64_t prev_mono, const struct journal_value *cur,
                             int64_t cur_real, int64_t cur_mono, double *out) {
    if (!cur || cur->type == JV_MISSING)
        return RATE_MISSING;
    if (kind == METRIC_GAUGE) {
        *out = as_double(cur);
        return RATE_OK;
    }
    if (!prev)
        return RATE_FIRST;
    if (prev->type == JV_MISSING)
        return RATE_MISSING;
    int64_t dt = (prev_mono >= 0 && cur_mono >= 0) ? cur_mono - prev_mono : cur_real - prev_real;
    if (dt <= 0)
        return RATE_BAD_TIME;
    double dv;
    if (cur->type == JV_INT && prev->type == JV_INT) {
        if (cur->u < prev->u)
            return RATE_RESET;
        dv = (double)(cur->u - prev->u);
    } else {
        dv = as_double(cur) - as_double(prev);
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
