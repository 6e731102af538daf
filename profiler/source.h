/* source.h: where proxprofiler's series come from — journals (source_journal.c) or CSV files read
 * directly (import_csv.c) — turned into rows of derived metric values per VM.
 *
 * A source run streams the whole input once, calling back for every VM it discovers and every
 * row of derived values (derive.h) in time order. Memory is proportional to the number of
 * entities, never to the series length. Running the same input twice gives the same calls in the
 * same order, which is what the multi-pass profiler relies on.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_SOURCE_H
#define PROFILER_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "derive.h"

/* Identity of one VM as the source knows it. Strings may be NULL; valid during the callback. */
struct source_vm {
    const char *key; /* stable identity: "host/entity-key" */
    const char *name, *uuid, *vmid, *host;
    double vcpus, mem_bytes; /* configured, <= 0 unknown */
};

struct source_cb {
    void *ctx;
    /* A VM appeared (or was redefined: same key again). idx is the source's own index. */
    int (*vm)(void *ctx, uint32_t idx, const struct source_vm *vm);
    /* One row of derived values (derive_count() of them, NaN = unknown) at t (Unix seconds);
     * vcpus/mem_bytes are capacity hints seen in the data itself (<= 0 unknown). */
    void (*row)(void *ctx, uint32_t idx, int64_t t, const double *values, double vcpus,
                double mem_bytes);
    /* A gap in VM idx's series: it left, restarted or its counters reset. */
    void (*gap)(void *ctx, uint32_t idx);
};

enum source_format {
    SRC_AUTO = 0, /* journal when the file is one, else CSV (Bitbrains when its header says so) */
    SRC_JOURNAL,
    SRC_CSV,
    SRC_BITBRAINS,
};

/* Options of the generic CSV reader (shared with the importer). */
struct csv_opts {
    char sep;          /* field separator, default ',' */
    bool no_header;    /* columns are named metric_0, metric_1, ... */
    int time_col;      /* 0-based timestamp column, -1 = none (rows get t = row * interval) */
    int64_t time_unit; /* ns per timestamp unit (1e9 = seconds, the default) */
    int64_t interval;  /* ns between rows when time_col < 0 (default 1 s) */
    bool skip_bad;     /* skip malformed rows (counted) instead of failing */
    const char *units; /* "NAME=UNIT,NAME=UNIT" */
    const char *vm;    /* VM name for a single file (default: the file's stem) */
};

struct source_opts {
    const char *const *paths;
    size_t npaths;
    enum source_format format;
    struct csv_opts csv;
    int64_t begin_ns, end_ns; /* 0 = unbounded */
    int64_t prime_until_ns;   /* ticks at or before this time prime the rates but emit no row */
    const char *vm_filter;    /* comma list of globs on name, key, uuid or vmid; NULL = all */
    bool progress;            /* progress on stderr (caller checks it is a terminal) */
    const char *progress_tag;
    uint64_t *skipped; /* out: malformed CSV rows skipped (may be NULL) */
    int64_t *last_ns;  /* out: time of the last tick read (may be NULL) */
};

/* The source's own metric table, for validating --metrics before any pass: opens the inputs and
 * returns their metric definitions (malloc'd array of borrowed pointers, valid until
 * source_metrics_free()). */
struct source_metrics {
    const struct metric_def *defs;
    size_t n;
    void *priv;
};
int source_metrics(const struct source_opts *o, struct source_metrics *out, char *err,
                   size_t errlen);
void source_metrics_free(struct source_metrics *m);

/* Runs the inputs through d and cb. Returns 0, or a negative error with one line in err naming
 * the culprit (path, or path:line for CSV). */
/* Live input (--follow): one journal kept open and read as it is written. Each poll delivers
 * what was appended since the previous one (the first: everything from o->begin_ns); ticks at or
 * before o->prime_until_ns prime the rates only. o is copied; d and cb must outlive the handle. */
struct source_live;
int source_live_open(struct source_live **out, const struct source_opts *o, struct derive *d,
                     const struct source_cb *cb, char *err, size_t errlen);
int source_live_poll(struct source_live *l, char *err, size_t errlen);
void source_live_close(struct source_live *l);

int source_run(const struct source_opts *o, struct derive *d, const struct source_cb *cb, char *err,
               size_t errlen);

/* True when path looks like a journal (file with the journal magic, or a directory). */
bool source_is_journal(const char *path);

/* Matches a VM against a filter list (globs, comma-separated). NULL filter matches all. */
bool source_vm_match(const char *filter, const struct source_vm *vm);

/* ---- CSV (import_csv.c) ---- */
int source_run_csv(const struct source_opts *o, const char *path, uint32_t idx, struct derive *d,
                   const struct source_cb *cb, char *err, size_t errlen);
int source_csv_metrics(const struct source_opts *o, const char *path, struct metric_def **defs,
                       size_t *n, char *err, size_t errlen);
void source_csv_defs_free(struct metric_def *defs, size_t n);

/* Imports CSV files into a journal at out (a directory, or a single file when it ends in .pxj),
 * merging the files by time: each file is one VM. *rows and *skipped get the row counts. */
int import_csv(const struct source_opts *o, const char *out, const char *host, uint64_t *rows,
               uint64_t *skipped, char *err, size_t errlen);

#endif
