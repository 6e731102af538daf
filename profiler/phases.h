/* phases.h: regime (phase) detection on the state sequence of one chain.
 *
 * Detector: a one-sided CUSUM of the per-step surprise under the current phase's order-1 matrix.
 * For the transition prev -> s the increment is
 *     -log p(s | prev) - H(prev) - drift,
 * where p is the current phase's row backed off to the phase's smoothed state occupancy q
 * (p = (c + alpha N q_s) / (total + alpha N), q = (occ + alpha) / (steps + alpha N)) and H(prev)
 * the entropy of that row: under the current regime the increment has mean -drift < 0 and
 * the statistic S = max(0, S + increment) stays near 0; after a change the surprise grows and S
 * crosses `threshold` (nats). Steps taken while S > 0 are held back (not learned by the current
 * phase, so it cannot absorb the new regime, the bug of tsprofiler's detector); when S returns to
 * 0 they are committed to the current phase; when S crosses the threshold the change point is the
 * first held-back step, and the held-back steps start the next phase. The next phase is the
 * existing phase that explains the held-back steps best when its mean log-likelihood beats the
 * uniform model by `reuse_margin` nats per step, else a new phase (up to PH_MAX_PHASES; then the
 * best existing one). Detection is off during the first `min_len` steps of every phase. Memory is
 * bounded: at most `max_pending` steps are held back (older ones are committed).
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_PHASES_H
#define PROFILER_PHASES_H

#include <stddef.h>
#include <stdint.h>

#include "markov.h"

#define PH_MAX_PHASES 32

struct phase_config {
    uint32_t min_len;     /* steps before a phase may end (default 30) */
    double threshold;     /* CUSUM threshold in nats (default 12) */
    double drift;         /* nats per step subtracted from the surprise (default 0.5) */
    double alpha;         /* smoothing of the scoring rows (default 0.5) */
    double reuse_margin;  /* nats per step over uniform to reuse an old phase (default 1) */
    uint32_t max_pending; /* held-back steps at most (default 4096) */
};

/* Fills cfg with the defaults above. */
void phase_config_default(struct phase_config *cfg);

/* A phase segment: phase id, first step index and time, and length in steps. */
struct phase_segment {
    uint32_t phase;
    uint64_t start;
    int64_t t;
    uint64_t len;
};

struct phases;

/* Creates a detector for chains of nstates states, counting phases at the given order. Returns 0,
 * -CORE_ERANGE (invalid cfg or sizes) or -ENOMEM. */
int phases_new(struct phases **out, const struct phase_config *cfg, uint32_t nstates, int order);
void phases_free(struct phases *p);

/* Feeds one step: its time, the history before it, its state. */
int phases_push(struct phases *p, int64_t t, const struct mk_hist *h, uint32_t s);

/* A markov_series step hook (ctx = struct phases *). */
void phases_hook(void *ctx, const struct mk_step_event *ev);

/* Commits the held-back steps to the current phase. Call once after the last step. */
void phases_flush(struct phases *p);

const struct phase_config *phases_config(const struct phases *p);
uint32_t phases_count(const struct phases *p);
uint32_t phases_current(const struct phases *p);
/* The counts of phase i (borrowed), NULL when out of range. */
const struct mk_counts *phases_counts(const struct phases *p, uint32_t i);
struct mk_counts *phases_counts_mut(struct phases *p, uint32_t i);
/* The phase-transition counts: from phase i to phase j between consecutive committed steps
 * (diagonal = staying). */
uint64_t phases_tx(const struct phases *p, uint32_t i, uint32_t j);
/* Segments in order; *n gets their number. Borrowed. */
const struct phase_segment *phases_segments(const struct phases *p, size_t *n);
/* Reader support: adds a phase, sets tx counts, appends a segment. */
int phases_add_phase(struct phases *p, uint32_t *id);
int phases_set_tx(struct phases *p, uint32_t i, uint32_t j, uint64_t n);
int phases_set_current(struct phases *p, uint32_t i);
int phases_add_segment(struct phases *p, const struct phase_segment *seg);

#endif
