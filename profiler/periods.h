/* periods.h: one set of transition counts per time slot, summed across cycles.
 *
 * A step is slotted by its TIMESTAMP (Unix seconds of its first sample, shifted by a fixed UTC
 * offset): PERIOD_DAY cuts the day into `slots` equal slots, PERIOD_WEEK uses 7 x 24 hourly slots
 * (Monday 00:00 is slot 0). PERIOD_STEPS is tsprofiler's step-count form `--periodsize a,b,...,z`:
 * z steps make one leaf slot, the other entries are the numbers of children per level; every level
 * but the last gets one node per position (counted for every step in it), and positions wrap
 * every a*b*...*z steps. Unlike tsprofiler, counts are plain sums across cycles (no blending, no
 * frozen rows), so period tables merge exactly.
 * A transition (previous states -> state of step t) is counted in the slot of step t, with the
 * series' own history, so transitions across a slot boundary land in the later slot.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_PERIODS_H
#define PROFILER_PERIODS_H

#include <stddef.h>
#include <stdint.h>

#include "markov.h"

#define PERIOD_MAX_LEVELS 8

enum period_kind {
    PERIOD_NONE = 0,
    PERIOD_DAY,   /* `slots` slots per day (24 = hourly); must divide nothing, any 1..86400 */
    PERIOD_WEEK,  /* day of week x hour, 168 slots, Monday first */
    PERIOD_STEPS, /* tsprofiler's step-count form */
};

struct period_config {
    enum period_kind kind;
    uint32_t slots;     /* PERIOD_DAY: slots per day */
    int64_t utc_offset; /* seconds added to the timestamp before slotting (e.g. 3600 = UTC+1) */
    int nsizes;         /* PERIOD_STEPS: number of entries */
    uint32_t sizes[PERIOD_MAX_LEVELS];
};

/* Parses tsprofiler's "a,b,c" into cfg (kind PERIOD_STEPS). Returns 0 or -CORE_EPARSE. */
int period_parse_steps(const char *text, struct period_config *cfg);

/* The slot of timestamp t (seconds) for PERIOD_DAY / PERIOD_WEEK; -CORE_ERANGE for other kinds. */
int period_slot_of_time(const struct period_config *cfg, int64_t t);

struct periods;

/* Creates the slot tables for chains of nstates states and the given order. Returns 0,
 * -CORE_ERANGE for an invalid cfg (slots 0 or > 86400, a zero size, too many nodes), -ENOMEM. */
int periods_new(struct periods **out, const struct period_config *cfg, uint32_t nstates, int order);
void periods_free(struct periods *p);

/* Counts one step (time t, history before the step, new state s) into its slot(s). */
void periods_count(struct periods *p, int64_t t, const struct mk_hist *h, uint32_t s);

/* A markov_series step hook (ctx = struct periods *). */
void periods_hook(void *ctx, const struct mk_step_event *ev);

const struct period_config *periods_config(const struct periods *p);
/* Number of slots (nodes for PERIOD_STEPS: all levels but the last, level by level). */
size_t periods_nslots(const struct periods *p);
/* The counts of slot i (borrowed), NULL when out of range. */
const struct mk_counts *periods_slot(const struct periods *p, size_t i);
struct mk_counts *periods_slot_mut(struct periods *p, size_t i);
/* Steps counted into slot i. */
uint64_t periods_slot_steps(const struct periods *p, size_t i);
void periods_set_slot_steps(struct periods *p, size_t i, uint64_t steps);
/* Writes a stable label of slot i: "14:00" (day), "mon 14:00" (week), "2/1" (steps path). */
int periods_slot_label(const struct periods *p, size_t i, char *buf, size_t len);
/* Sums src into dst; same configuration required (-CORE_ERANGE). */
int periods_merge(struct periods *dst, const struct periods *src);

#endif
