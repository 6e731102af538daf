/* rate.h: the one function every program uses to turn two raw samples into a rate or a level.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_RATE_H
#define FORMATS_RATE_H

#include <stdint.h>

#include "catalogue.h"
#include "journal.h"

enum rate_status {
    RATE_OK = 0,   /* *out holds the value */
    RATE_MISSING,  /* one of the two samples is missing */
    RATE_FIRST,    /* no previous sample (entity new or re-created): a gap, not a zero */
    RATE_RESET,    /* the counter went down: reset or wrap, reported as a gap, never a spike */
    RATE_BAD_TIME, /* Δt <= 0 (clock went backwards or duplicate sample) */
};

/* Derives the displayed value of one metric between two samples.
 * Counters: Δvalue / Δt per second, Δt in ns from the monotonic clock when both samples have
 * it (t_mono >= 0), else from the realtime clock. Gauges: the current value (prev unused).
 * prev may be NULL (first sample). Returns a rate_status. */
enum rate_status rate_derive(enum metric_kind kind, const struct journal_value *prev,
                             int64_t prev_real, int64_t prev_mono, const struct journal_value *cur,
                             int64_t cur_real, int64_t cur_mono, double *out);

/* Name of a status for messages ("ok", "missing", "first", "reset", "bad-time"). */
const char *rate_status_name(enum rate_status st);

#endif
