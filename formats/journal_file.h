/* journal_file.h: the frame layer of one journal file — open, walk frames, find damage.
 *
 * A file is mapped read-only and walked frame by frame. Damage (a region that is not a valid
 * frame) is reported as a separate step so that callers can count and describe it; the walk then
 * resumes at the next valid frame. Used by the reader, by `proxjournal verify` and by the writer's
 * recovery on reopen.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_JOURNAL_FILE_H
#define FORMATS_JOURNAL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"

struct journal_file;

struct journal_frame {
    uint64_t offset; /* of the frame header in the file */
    uint8_t type;    /* enum journal_frame_type */
    uint8_t flags;
    uint16_t seq;
    const unsigned char *body; /* into the mapping: valid until journal_file_close() */
    uint32_t len;
};

struct journal_damage {
    uint64_t offset; /* first damaged byte */
    uint64_t len;    /* bytes skipped */
    bool tail;       /* nothing valid follows: the damage runs to the end of the file */
    bool torn;       /* tail damage that looks like an interrupted append (partial frame or
                      * zero fill), as opposed to corruption */
};

enum journal_step {
    JOURNAL_STEP_END = 0,
    JOURNAL_STEP_FRAME = 1,
    JOURNAL_STEP_DAMAGE = 2,
};

/* Opens and maps path. Returns 0, -CORE_EEMPTY (zero bytes), -CORE_ENOTJOURNAL (bad magic or a
 * file shorter than the preamble that is not a prefix of it), -CORE_ETRUNC (a prefix of the
 * preamble only), -CORE_EVERSION (newer major version), or a negative errno. */
ATTR_WUR int journal_file_open(struct journal_file **out, const char *path);
void journal_file_close(struct journal_file *f);

/* Follows a file that is being appended to: maps the bytes written since the last call. Returns
 * 1 when the file grew, 0 when not, or a negative errno. Frame bodies returned earlier are
 * invalid afterwards (the mapping may move). */
int journal_file_refresh(struct journal_file *f);

/* Next step of the walk: a frame, a damaged region, or the end. */
enum journal_step journal_file_next(struct journal_file *f, struct journal_frame *fr,
                                    struct journal_damage *dmg);

/* Positions the walk at offset (must be a frame start found earlier, e.g. from the index). */
void journal_file_seek(struct journal_file *f, uint64_t offset);

/* Reads the block index when the file ends with an index + footer: the offset of the section
 * header it covers and, per block, its first t_real and the offset of its key chunk (arrays owned
 * by the file). Returns 0, or -1 when the file has no valid trailing index. */
int journal_file_index(struct journal_file *f, uint64_t *section, const int64_t **t_first,
                       const uint64_t **offset, size_t *n);

uint64_t journal_file_size(const struct journal_file *f);
/* End of the last complete frame returned so far: where an append may continue. */
uint64_t journal_file_valid_up_to(const struct journal_file *f);
const char *journal_file_path(const struct journal_file *f);
void journal_file_version(const struct journal_file *f, unsigned *major, unsigned *minor);

/* Checks a frame's CRC and layout at buf (len bytes available). Exposed for tests. */
bool journal_frame_valid(const unsigned char *buf, size_t avail, uint32_t *body_len);

#endif
