/* profile.h: the profile model (one VM, several metrics) and its JSON forms.
 *
 * A profile owns one markov_series per metric, optional period tables and phase detectors per
 * metric, and an optional joint chain over all metrics (product state). It is filled by pushing
 * raw values, finished once, then written as the versioned proxtop profile JSON (schema in
 * profiler/PROFILE.md; keys sorted, reals with 17 significant digits, so the same input and
 * settings give byte-identical output) or in tsprofiler's JSON shape. A profile read back from
 * JSON can be merged, predicted from and written again; pushing into it is not supported.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_PROFILE_H
#define PROFILER_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "markov.h"
#include "periods.h"
#include "phases.h"

#define PROFILE_FORMAT  "proxtop-profile"
#define PROFILE_VERSION 1

enum profile_binning {
    PROFILE_BIN_FIXED = 0,  /* linear bins on per-metric min/max given by the caller */
    PROFILE_BIN_MINMAX,     /* linear bins on the global min/max of the data (caller's pass 1) */
    PROFILE_BIN_QUANTILE,   /* quantile edges (caller's pass 1, disc_scan) */
    PROFILE_BIN_COMPAT_TSP, /* tsprofiler's centred bins (settings.compat_fixed: --fixedbound) */
};

/* Who the profile is about. Strings are copied; NULL means unknown; vmid < 0 means unknown. */
struct profile_identity {
    const char *name;
    const char *uuid;
    const char *vm_name;
    const char *host;
    int64_t vmid;
};

struct profile_settings {
    uint32_t states; /* --states */
    int history;     /* --history (orders 1..history are kept) */
    uint32_t buffersize;
    double filterk; /* --filterstddevs, <= 0 = off */
    enum disc_filter_action filter_action;
    enum profile_binning binning;
    int compat_fixed;            /* PROFILE_BIN_COMPAT_TSP: 1 = fixed bounds */
    int joint;                   /* 1 = also a joint chain over all metrics (product state) */
    struct period_config period; /* kind PERIOD_NONE = no periods */
    int phases;                  /* 1 = phase detection per metric */
    struct phase_config phase;
};

/* Fills set with the defaults: 4 states, history 1, buffersize 1, filter off (drop), fixed
 * binning, no joint, no periods, no phases (phase defaults filled in). */
void profile_settings_default(struct profile_settings *set);

struct profile_metric_spec {
    const char *name;    /* unique, copied */
    const char *unit;    /* copied, may be NULL */
    double min, max;     /* bounds for FIXED/MINMAX/COMPAT */
    const double *edges; /* QUANTILE: states + 1 edges (copied) */
};

struct profile;

/* Creates an empty profile. Returns 0, -CORE_ERANGE for invalid settings, -ENOMEM. */
int profile_new(struct profile **out, const struct profile_identity *id,
                const struct profile_settings *set);
void profile_free(struct profile *p);

/* Adds a metric; *index (may be NULL) gets its push index. Metrics must all be added before the
 * first push. Returns 0, -CORE_ERANGE (bad bounds, duplicate name, after the first push, joint
 * product state over 2^20 states), -ENOMEM. */
int profile_add_metric(struct profile *p, const struct profile_metric_spec *spec, size_t *index);

/* Pushes one value of metric `index` observed at t (Unix seconds). NaN is skipped and counted. */
void profile_push(struct profile *p, size_t index, int64_t t, double v);

/* Pushes one value per metric (values in index order) observed at t, and widens the time range. */
void profile_push_row(struct profile *p, int64_t t, const double *values);

/* Marks a gap in every metric (markov_series_break): no transition is counted across it. */
void profile_break(struct profile *p);

/* Processes trailing partial buffers and held-back phase steps. Call once, after the last push. */
void profile_finish(struct profile *p);

/* Accessors (borrowed pointers). */
size_t profile_nmetrics(const struct profile *p);
const char *profile_metric_name(const struct profile *p, size_t i);
const struct markov_series *profile_metric(const struct profile *p, size_t i);
const struct periods *profile_metric_periods(const struct profile *p, size_t i);
const struct phases *profile_metric_phases(const struct profile *p, size_t i);
const struct markov_chain *profile_joint(const struct profile *p);
const struct profile_settings *profile_get_settings(const struct profile *p);
/* Returns the index of metric name, or -CORE_ENOENTITY. */
int profile_find_metric(const struct profile *p, const char *name);

/* Builds the profile JSON (new reference in *out, caller json_decref()s). Returns 0 or -ENOMEM. */
int profile_to_json(const struct profile *p, json_t **out);

/* Writes the profile JSON as text in *out (malloc'd, caller frees): sorted keys, compact,
 * JSON_REAL_PRECISION(17), newline-terminated. Returns 0 or -ENOMEM. */
int profile_dump(const struct profile *p, char **out);

/* Parses and validates a profile JSON text. On failure returns -CORE_EPARSE (not JSON),
 * -CORE_EVERSION (newer version) or -CORE_EFORMAT (anything else wrong) and writes one line
 * naming the problem (with the JSON path) into err (errlen bytes, may be 0). */
int profile_load(const char *text, struct profile **out, char *err, size_t errlen);

/* Adds src into dst: same settings and the same metric names, else -CORE_ERANGE with nothing
 * changed. Counts, occupancy, stats, counters and period tables are summed, the time range is
 * widened. Profiles with phase detection cannot be merged (phase ids are per profile):
 * -CORE_ERANGE. */
int profile_merge(struct profile *dst, const struct profile *src);

/* Writes tsprofiler's profile JSON shape (anchor reference §6) in *out (malloc'd): roottx per
 * metric sorted by name, with tsprofiler's phantom start rows, mixed-order suffix rows, integer
 * percent nextProbs (round half away from zero) and StepProb, its stats; periodTree and phases as
 * tsprofiler writes them when both are off. Integral numbers are written as integers like Go;
 * others with 17 significant digits (Go writes the shortest form). Returns 0 or -ENOMEM. */
int profile_dump_tsprofiler(const struct profile *p, char **out);

#endif
