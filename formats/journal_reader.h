/* journal_reader.h: reads journals — files, segment directories, several at once merged by time.
 *
 * journal_reader_next() yields items in time order: section headers, entity definitions and
 * changes, entities gone, ticks (the values of every entity sampled at one moment) and events.
 * Damage is skipped (and counted, and described through the warn callback): a corrupt block costs
 * that block only. Entity and metric ids are the reader's own, stable across files and sections:
 * the same entity key on the same host is the same entity.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_JOURNAL_READER_H
#define FORMATS_JOURNAL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "catalogue.h"
#include "journal.h"

struct journal_reader;

struct journal_reader_opts {
    int64_t begin_ns; /* realtime bounds, inclusive begin, exclusive end; 0 = unbounded */
    int64_t end_ns;
    /* Called for every damaged region, gap or recovery note: one line, no newline. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    /* Follow a journal that is being written (one path only): at the end of the newest file
     * journal_reader_next() returns 0 ("nothing more yet") and a later call goes on with what
     * was appended since, including new segments of a rotating directory. A partly written
     * frame at the end is waited for, not reported as damage, while the file is the newest. */
    bool follow;
};

/* An entity as the reader knows it. Valid until journal_reader_free(); fields are updated in
 * place when the entity is redefined. */
struct journal_entity_info {
    uint32_t id;                     /* reader id, 0..n-1 */
    struct journal_entity_desc desc; /* desc.metrics holds reader metric ids; desc.parent reader */
    const char *host;                /* hostname of the journal it came from */
    uint32_t source;                 /* index of the input path it came from */
    bool live;
    int64_t first_seen_ns, last_seen_ns;
};

struct journal_row {
    uint32_t entity; /* reader entity id */
    uint32_t n;
    const uint32_t *metric;            /* reader metric id per slot */
    const struct journal_value *value; /* n values */
};

enum journal_item_type {
    JI_SECTION = 1, /* a new file/section header was read */
    JI_ENTITY,      /* an entity appeared or changed */
    JI_GONE,        /* an entity left */
    JI_TICK,        /* one sampling moment */
    JI_EVENT,       /* an annotation */
};

struct journal_item {
    enum journal_item_type type;
    int64_t t_real;  /* ns since the epoch */
    int64_t t_mono;  /* ns, monotonic clock of the writer's host; -1 when unknown */
    uint32_t source; /* index of the input path */
    uint32_t entity; /* JI_ENTITY, JI_GONE */
    size_t nrows;    /* JI_TICK */
    const struct journal_row *rows;
    const char *event_kind; /* JI_EVENT */
    const char *event_text;
};

/* Everything the reader counted so far. */
struct journal_reader_stats {
    uint64_t files, sections, frames, bytes;
    uint64_t ticks, rows, values, entities, events;
    uint64_t damaged_regions, damaged_bytes; /* corruption anywhere but a torn tail */
    uint64_t lost_chunks;                    /* chunks dropped because their block was broken */
    uint64_t torn_files, torn_bytes;         /* interrupted appends at file ends */
    uint64_t gaps;                           /* segments missing from a directory */
    int64_t t_first, t_last;
};

/* Opens the given paths (each a journal file or a segment directory). Fails with a clear error
 * when a path does not exist, is not a journal (-CORE_ENOTJOURNAL), is newer (-CORE_EVERSION),
 * or holds nothing (-CORE_EEMPTY). On failure *err_path (when not NULL) names the culprit
 * (pointer into paths). */
ATTR_WUR int journal_reader_open(struct journal_reader **out, const char *const *paths,
                                 size_t npaths, const struct journal_reader_opts *opts,
                                 const char **err_path);

/* Next item: returns 1 and fills *it (valid until the next call), 0 at the end, or a negative
 * error for failures that stop reading (I/O errors). Damage is not an error: it is skipped. */
int journal_reader_next(struct journal_reader *r, struct journal_item *it);

const struct journal_entity_info *journal_reader_entity(const struct journal_reader *r,
                                                        uint32_t id);
size_t journal_reader_entity_count(const struct journal_reader *r);
/* The reader's metric table (union of all sections' catalogues, matched by name). */
const struct metric_def *journal_reader_metric(const struct journal_reader *r, uint32_t id);
size_t journal_reader_metric_count(const struct journal_reader *r);
/* Reads the section headers of every file now (not their data) so that the metric table is
 * complete before the first item; dump uses it to know its columns. Returns 0. */
int journal_reader_preload_metrics(struct journal_reader *r);
/* Looks a metric up by name in the reader's table; -1 when absent. */
int journal_reader_metric_find(const struct journal_reader *r, const char *name);

/* Header facts of the most recent section of a source. Strings valid until the next section. */
struct journal_section_info {
    const char *path, *writer, *hostname, *machine_id, *compression;
    unsigned major, minor;
    int64_t interval_ns, start_ns;
    uint64_t segment;
    uint32_t block_ticks;
};
const struct journal_section_info *journal_reader_section(const struct journal_reader *r,
                                                          uint32_t source);

void journal_reader_stats(const struct journal_reader *r, struct journal_reader_stats *st);
void journal_reader_free(struct journal_reader *r);

/* The files that make up a path, in order: the file itself, or the segments of a directory
 * (sorted by sequence number). Returns 0 and a NULL-terminated array the caller frees with
 * journal_paths_free(), -CORE_EEMPTY for a directory without segments, or a negative errno.
 * *gaps counts sequence numbers missing between the first and the last segment. */
ATTR_WUR int journal_list_files(const char *path, char ***files, uint64_t *gaps);
void journal_paths_free(char **files);

#endif
