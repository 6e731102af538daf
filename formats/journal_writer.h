/* journal_writer.h: appends samples to a journal (a directory of segments, or a single file).
 *
 * Usage per tick: journal_writer_entity() for entities that appeared or changed,
 * journal_writer_gone() for those that left, then journal_writer_tick_begin(), one
 * journal_writer_row() per entity measured this tick, journal_writer_tick_end(). Each tick is one
 * framed, checksummed record on disk: a crash loses at most the tick being written. Steady state
 * allocates nothing. Not thread-safe: one writer per journal, used from one thread.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_JOURNAL_WRITER_H
#define FORMATS_JOURNAL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attrs.h"
#include "journal.h"

struct journal_writer;

struct journal_writer_opts {
    const char *path; /* directory of segments, or a single file when single_file is set or
                       * the path ends in ".pxj" */
    bool single_file;
    bool compress;          /* zstd blocks (recommended) */
    int zstd_level;         /* 0 = default (3) */
    uint32_t block_ticks;   /* ticks per block between key frames; 0 = default (300) */
    uint32_t chunk_ticks;   /* ticks packed per chunk frame; 0 or 1 = one tick per frame (the
                             * crash-safe default); more (imports, cat) saves per-frame cost, and a
                             * crash loses the packed ticks not yet written */
    uint64_t rotate_bytes;  /* new segment past this size; 0 = default (256 MiB) */
    int64_t rotate_ns;      /* new segment when t_real crosses a multiple of this; 0 = daily */
    uint64_t retain_bytes;  /* delete oldest segments past this total; 0 = keep all */
    int64_t retain_ns;      /* delete segments whose newest data is older than this; 0 = keep */
    int64_t sync_ns;        /* fdatasync at most this often; 0 = after every tick; <0 = never */
    mode_t mode;            /* file mode; 0 = 0640 */
    const char *writer;     /* program and version, e.g. "proxsampler 0.1.0" */
    const char *hostname;   /* NULL = gethostname() */
    const char *machine_id; /* NULL = /etc/machine-id when readable */
    int64_t interval_ns;    /* nominal sampling interval, informative */
    /* The metrics that entities may reference (their indices are the ids entity descs use).
     * NULL = the whole built-in catalogue. Borrowed for the writer's lifetime. */
    const struct metric_def *metrics;
    size_t nmetrics;
};

/* What recovery found when an existing journal was reopened. */
struct journal_writer_recovery {
    bool repaired;      /* a torn or corrupt tail was cut */
    uint64_t cut_bytes; /* how many bytes were cut */
    char file[512];     /* which file */
};

/* Opens (creating if missing, 0750 directory / 0640 files) a journal for appending. An existing
 * journal's last segment is checked first and its torn tail cut (reported in *recovery when not
 * NULL); writing then continues in a new segment (directory) or a new section (single file).
 * Returns 0 and sets *out, or a negative errno / -CORE_E*. */
ATTR_WUR int journal_writer_open(struct journal_writer **out, const struct journal_writer_opts *o,
                                 struct journal_writer_recovery *recovery);

/* Defines a new entity or redefines a live one (same key): copies everything it needs. Sets
 * *id to the entity id to use in rows. Returns 0 or a negative error. */
ATTR_WUR int journal_writer_entity(struct journal_writer *w, const struct journal_entity_desc *d,
                                   uint32_t *id);

/* Records that entity id is gone (VM stopped, disk detached). The id is not reused. */
int journal_writer_gone(struct journal_writer *w, uint32_t id);

/* Records an annotation (e.g. "sampler-start", "libvirt-event"). Strings are copied. */
int journal_writer_event(struct journal_writer *w, int64_t t_real_ns, const char *kind,
                         const char *text);

/* Starts a tick: realtime and monotonic nanoseconds (t_mono < 0 when unknown, e.g. imports). */
ATTR_WUR int journal_writer_tick_begin(struct journal_writer *w, int64_t t_real_ns,
                                       int64_t t_mono_ns);

/* Adds the values of entity id for this tick: exactly the entity's nmetrics values, in the
 * order of its metrics list. Borrowed. Returns -CORE_ENOENTITY or -CORE_ERANGE on misuse. */
ATTR_WUR int journal_writer_row(struct journal_writer *w, uint32_t id,
                                const struct journal_value *values, uint32_t n);

/* Frames, checksums and writes the tick (one write()). On a write error (e.g. ENOSPC) the
 * partial frame is removed from the file, the error returned, and the next tick starts a fresh
 * block: the journal stays readable and the caller may keep going. */
ATTR_WUR int journal_writer_tick_end(struct journal_writer *w);

/* Flushes pending records, writes the section index and footer, syncs and frees everything.
 * Returns the first error met. NULL is a no-op. */
int journal_writer_close(struct journal_writer *w);

/* Bytes written so far through this writer (all segments). */
uint64_t journal_writer_bytes(const struct journal_writer *w);

/* Path of the segment or file being written (valid until the next call). */
const char *journal_writer_path(const struct journal_writer *w);

#endif
