/* run.h: building per-VM profiles from a source, in passes.
 *
 * Pass 1 (scan) streams the input once to learn, per VM and metric, the global min/max of the
 * step values (buffer means after the outlier filter) and the VM's capacity (vCPUs, memory);
 * with --binning quantile a second scan fills a fixed-size histogram for the quantile edges; the
 * last pass counts. Memory is proportional to VMs x metrics, never to the series length.
 * Bounds per metric, first that applies: --bound NAME=MIN:MAX; with --fixedbound, --fixedmin /
 * --fixedmax, then the metric's default (cpu 0..vCPUs, cpu_pct 0..100, mem 0..configured
 * memory); otherwise (or when no default exists) the data's global min/max. Compat mode uses
 * --fixedmin/--fixedmax (default 0..100) like tsprofiler.
 * With an evaluation split, the first `split` share of each VM's rows trains the profile and the
 * rest is evaluated (evaluate.h) in the same pass.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_RUN_H
#define PROFILER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evaluate.h"
#include "profile.h"
#include "source.h"

struct run_bound {
    const char *name;
    double min, max;
};

struct run_config {
    struct profile_settings set;
    struct source_opts src;
    const char *metrics; /* --metrics list, NULL = default */
    bool fixedbound;
    bool have_fixedmin, have_fixedmax;
    double fixedmin, fixedmax;
    const struct run_bound *bounds;
    size_t nbounds;
    double split;      /* evaluate: training share in (0, 1); 0 = no evaluation */
    unsigned horizons; /* evaluate: 1..EVAL_MAX_HORIZON */
};

struct run;

/* Validates the metric selection against the input. Returns 0; -CORE_ENOENTITY for an unknown
 * metric (a usage error: err names it); other negative codes for input failures. */
int run_new(struct run **out, const struct run_config *cfg, char *err, size_t errlen);
void run_free(struct run *r);

/* Runs every pass and finishes the profiles. Returns 0 or a negative error (err set); a source
 * without any VM is -CORE_EEMPTY. */
int run_profiles(struct run *r, char *err, size_t errlen);

/* Follow mode: counts what was appended to the (single) journal into the existing profiles.
 * The first call opens it in follow mode from `from_ns` (inclusive), priming rates with the ticks
 * at or before prime_ns; it stays open and later calls read on from where the previous one
 * stopped (from_ns and prime_ns are then ignored). *last_ns gets the last tick's time. VMs that
 * appear after the first run are counted only when every bound is fixed. */
int run_feed_more(struct run *r, int64_t from_ns, int64_t prime_ns, int64_t *last_ns, char *err,
                  size_t errlen);

/* Profiles in output order (VMs sorted by name, naturally: "2" before "10"). */
size_t run_count(const struct run *r);
struct profile *run_profile_at(const struct run *r, size_t i);
/* Evaluation results of VM i, metric m (NULL when there is none). */
const struct eval_result *run_eval_at(const struct run *r, size_t i, size_t m);
/* Time of the last tick read. */
int64_t run_last_ns(const struct run *r);

/* Natural comparison of names: digit runs compare by value. */
int run_natural_cmp(const char *a, const char *b);

#endif
