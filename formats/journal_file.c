/* journal_file.c: frame walk over one mapped journal file, with damage detection (FORMAT.md §3).
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap */
#include "journal_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_error.h"
#include "crc32c.h"
#include "journal_format.h"
#include "mpcursor.h"
#include "xalloc.h"

struct journal_file {
    char *path;
    int fd;             /* kept open: journal_file_refresh() follows a growing file */
    unsigned char *map; /* PROT_READ mapping */
    uint64_t size;
    uint64_t pos;         /* next byte to examine */
    uint64_t valid_up_to; /* end of the last complete frame returned */
    uint64_t released;    /* pages below this offset were handed back (MADV_DONTNEED) */
    unsigned major, minor;
    bool index_loaded;
    int64_t *index_t;
    uint64_t *index_off;
    size_t index_n;
    uint64_t index_section;
};

static const unsigned char sync_bytes[4] = {JOURNAL_SYNC0, JOURNAL_SYNC1, JOURNAL_SYNC2,
                                            JOURNAL_SYNC3};

bool journal_frame_valid(const unsigned char *buf, size_t avail, uint32_t *body_len) {
    if (avail < JOURNAL_FRAME_HDR_LEN || memcmp(buf, sync_bytes, 4) != 0)
        return false;
    uint32_t len = journal_get_u32(buf + 4);
    if (len > JOURNAL_MAX_BODY || len > avail - JOURNAL_FRAME_HDR_LEN)
        return false;
    uint32_t crc = crc32c(0, buf + 4, 8);
    crc = crc32c(crc, buf + JOURNAL_FRAME_HDR_LEN, len);
    if (crc != journal_get_u32(buf + 12))
        return false;
    *body_len = len;
    return true;
}

int journal_file_open(struct journal_file **out, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out_close;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out_close;
    }
    if (st.st_size == 0) {
        rc = -CORE_EEMPTY;
        goto out_close;
    }
    unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto out_close;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < JOURNAL_PREAMBLE_LEN) {
        size_t m = size < JOURNAL_MAGIC_LEN ? (size_t)size : JOURNAL_MAGIC_LEN;
        rc = memcmp(map, JOURNAL_MAGIC, m) == 0 ? -CORE_ETRUNC : -CORE_ENOTJOURNAL;
        munmap(map, (size_t)size);
        goto out_close;
    }
    if (memcmp(map, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0) {
        rc = -CORE_ENOTJOURNAL;
        munmap(map, (size_t)size);
        goto out_close;
    }
    unsigned major = journal_get_u16(map + 8), minor = journal_get_u16(map + 10);
    if (major > JOURNAL_FORMAT_MAJOR || major == 0) {
        rc = -CORE_EVERSION;
        munmap(map, (size_t)size);
        goto out_close;
    }
    struct journal_file *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->map = map;
    f->size = size;
    f->pos = JOURNAL_PREAMBLE_LEN;
    f->valid_up_to = JOURNAL_PREAMBLE_LEN;
    f->major = major;
    f->minor = minor;
    f->fd = fd;
    *out = f;
    return 0;
out_close:
    close(fd);
    return rc;
}

int journal_file_refresh(struct journal_file *f) {
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size <= f->size)
        return 0; /* a shrink (repair of a torn tail) is seen when the tail is walked again */
    void *m = mremap(f->map, (size_t)f->size, (size_t)st.st_size, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
        return -errno;
    f->map = m;
    f->size = (uint64_t)st.st_size;
    return 1;
}

void journal_file_close(struct journal_file *f) {
    if (!f)
        return;
    munmap(f->map, (size_t)f->size);
    close(f->fd);
    free(f->index_t);
    free(f->index_off);
    free(f->path);
    free(f);
}

/* First offset >= from where a complete valid frame starts, or size when there is none. */
static uint64_t find_next_frame(const struct journal_file *f, uint64_t from) {
    uint64_t p = from;
    while (p + JOURNAL_FRAME_HDR_LEN <= f->size) {
        const unsigned char *hit = memchr(f->map + p, JOURNAL_SYNC0, (size_t)(f->size - p));
        if (!hit)
            break;
        p = (uint64_t)(hit - f->map);
        uint32_t len;
        if (journal_frame_valid(hit, (size_t)(f->size - p), &len))
            return p;
        p++;
    }
    return f->size;
}

/* Does the damaged tail starting at off look like an interrupted append? */
static bool tail_is_torn(const struct journal_file *f, uint64_t off) {
    uint64_t r = f->size - off;
    const unsigned char *p = f->map + off;
    bool zeros = true;
    for (uint64_t i = 0; i < r && zeros; i++)
        zeros = p[i] == 0;
    if (zeros)
        return true;
    if (r < JOURNAL_FRAME_HDR_LEN)
        return memcmp(p, sync_bytes, r < 4 ? (size_t)r : 4) == 0;
    if (memcmp(p, sync_bytes, 4) != 0)
        return false;
    uint32_t len = journal_get_u32(p + 4);
    return len <= JOURNAL_MAX_BODY && (uint64_t)len > r - JOURNAL_FRAME_HDR_LEN;
}

/* A sequential walk touches every page of the mapping; without this the process's resident size
 * would grow with the journal's length. Frames before the one being returned are no longer
 * referenced by readers, so their pages go back (a later seek simply faults them in again). */
#define RELEASE_STEP (8u << 20)

static void release_behind(struct journal_file *f, uint64_t frame_offset) {
    if (frame_offset < f->released + RELEASE_STEP)
        return;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t upto = frame_offset & ~(page - 1);
    madvise(f->map + f->released, (size_t)(upto - f->released), MADV_DONTNEED);
    f->released = upto;
}

enum journal_step journal_file_next(struct journal_file *f, struct journal_frame *fr,
                                    struct journal_damage *dmg) {
    if (f->pos >= f->size)
        return JOURNAL_STEP_END;
    uint32_t len;
    const unsigned char *p = f->map + f->pos;
    if (journal_frame_valid(p, (size_t)(f->size - f->pos), &len)) {
        fr->offset = f->pos;
        fr->len = len;
        fr->type = p[8];
        fr->flags = p[9];
        fr->seq = journal_get_u16(p + 10);
        fr->body = p + JOURNAL_FRAME_HDR_LEN;
        f->pos += JOURNAL_FRAME_HDR_LEN + (uint64_t)len;
        f->valid_up_to = f->pos;
        release_behind(f, fr->offset);
        return JOURNAL_STEP_FRAME;
    }
    uint64_t next = find_next_frame(f, f->pos + 1);
    dmg->offset = f->pos;
    dmg->len = next - f->pos;
    dmg->tail = next >= f->size;
    dmg->torn = dmg->tail && tail_is_torn(f, f->pos);
    f->pos = next;
    return JOURNAL_STEP_DAMAGE;
}

void journal_file_seek(struct journal_file *f, uint64_t offset) {
    f->pos = offset < JOURNAL_PREAMBLE_LEN ? JOURNAL_PREAMBLE_LEN : offset;
}

static int load_index(struct journal_file *f) {
    const uint64_t flen = JOURNAL_FRAME_HDR_LEN + 8;
    if (f->size < JOURNAL_PREAMBLE_LEN + flen)
        return -1;
    const unsigned char *foot = f->map + f->size - flen;
    uint32_t len;
    if (!journal_frame_valid(foot, flen, &len) || len != 8 || foot[8] != JF_FOOTER)
        return -1;
    uint64_t ioff = journal_get_u64(foot + JOURNAL_FRAME_HDR_LEN);
    if (ioff < JOURNAL_PREAMBLE_LEN || ioff >= f->size - flen)
        return -1;
    const unsigned char *ip = f->map + ioff;
    if (!journal_frame_valid(ip, (size_t)(f->size - flen - ioff), &len) || ip[8] != JF_INDEX)
        return -1;
    struct mpcursor c;
    mpc_init(&c, ip + JOURNAL_FRAME_HDR_LEN, len);
    uint32_t n, two;
    uint64_t section;
    if (mpc_array(&c, &two) < 0 || two < 2 || mpc_int(&c, &section) < 0 || section >= ioff ||
        mpc_array(&c, &n) < 0 || n > len)
        return -1;
    f->index_section = section;
    f->index_t = xcalloc(n ? n : 1, sizeof(*f->index_t));
    f->index_off = xcalloc(n ? n : 1, sizeof(*f->index_off));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m;
        uint64_t t, last, off, ticks;
        if (mpc_array(&c, &m) < 0 || m < 4 || mpc_int(&c, &t) < 0 || mpc_int(&c, &last) < 0 ||
            mpc_int(&c, &off) < 0 || mpc_int(&c, &ticks) < 0 || off >= ioff)
            goto bad;
        for (uint32_t k = 4; k < m; k++)
            if (mpc_skip(&c) < 0)
                goto bad;
        f->index_t[i] = (int64_t)t;
        f->index_off[i] = off;
    }
    f->index_n = n;
    return 0;
bad:
    free(f->index_t);
    free(f->index_off);
    f->index_t = NULL;
    f->index_off = NULL;
    return -1;
}

int journal_file_index(struct journal_file *f, uint64_t *section, const int64_t **t_first,
                       const uint64_t **offset, size_t *n) {
    if (!f->index_loaded) {
        f->index_loaded = true;
        load_index(f);
    }
    if (!f->index_t)
        return -1;
    *section = f->index_section;
    *t_first = f->index_t;
    *offset = f->index_off;
    *n = f->index_n;
    return 0;
}

uint64_t journal_file_size(const struct journal_file *f) {
    return f->size;
}

uint64_t journal_file_valid_up_to(const struct journal_file *f) {
    return f->valid_up_to;
}

const char *journal_file_path(const struct journal_file *f) {
    return f->path;
}

void journal_file_version(const struct journal_file *f, unsigned *major, unsigned *minor) {
    *major = f->major;
    *minor = f->minor;
}
