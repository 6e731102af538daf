/* journal_writer.c: appends framed, checksummed, delta-coded and optionally zstd-compressed
 * ticks to a journal (layout in FORMAT.md).
 *
 * Each tick becomes one chunk frame written with a single write(). Chunks are grouped in blocks
 * of block_ticks ticks; the first chunk of a block (the key chunk) restarts the delta base and
 * the zstd frame and repeats the definitions of all live entities, so any block decodes on its
 * own and seeking needs nothing before the block.
 * SPDX-License-Identifier: MIT */
#include "journal_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zstd.h>

#include "core_error.h"
#include "crc32c.h"
#include "journal_file.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "xalloc.h"

#define DEFAULT_BLOCK_TICKS  300
#define DEFAULT_ROTATE_BYTES (256ull << 20)
#define DEFAULT_ROTATE_NS    (86400ll * 1000000000ll)
#define DEFAULT_ZSTD_LEVEL   3
#define MAX_CHUNKS_PER_BLOCK 65535

struct wentity {
    bool live;
    char *key;
    uint32_t nmetrics;
    uint8_t *is_real;  /* per slot: the metric is stored as a double */
    uint64_t *prev;    /* per slot: delta base within the current block */
    uint8_t *has_prev; /* per slot */
    char *def;         /* the packed JR_ENTITY record, repeated in every key chunk */
    size_t deflen;
};

struct index_entry {
    int64_t t_first, t_last;
    uint64_t offset;
    uint32_t ticks;
};

struct journal_writer {
    struct journal_writer_opts o;
    char *path; /* directory or file */
    char *hostname, *machine_id, *writer_name;
    const struct metric_def *metrics;
    size_t nmetrics;
    int dirfd; /* directory mode: the journal directory; else -1 */
    int fd;    /* current segment or file; -1 when none is open */
    char seg_path[4096];
    uint64_t seq;       /* segment sequence number of the open (or next) segment */
    uint64_t seg_bytes; /* size of the open segment/file */
    int64_t seg_slot;   /* floor(t_real / rotate_ns) of the open segment */
    uint64_t total_bytes;

    struct wentity *ents;
    size_t nents, capents;

    bool block_open;
    uint32_t block_ticks_done;
    uint16_t chunk_seq;
    int64_t prev_real, prev_mono;
    bool have_prev_mono;

    msgpack_sbuffer pend, tick, snap;
    msgpack_packer pk_pend, pk_tick, pk_snap;
    bool in_tick;
    /* Ticks packed in the chunk being built (more than one only with chunk_ticks > 1). */
    uint32_t chunk_ticks;
    bool chunk_key; /* the chunk being built starts a block */
    int64_t chunk_t_first, chunk_t_last;
    int64_t tick_real;
    size_t tick_hdr_pos; /* where the tick's array32 length sits in tick */
    uint32_t tick_rows;

    unsigned char *out;
    size_t outcap;
    ZSTD_CCtx *zc;

    struct index_entry *idx;
    size_t nidx, capidx;
    uint64_t section_off; /* offset of the open section's header frame */
    int64_t last_sync;
};

static int64_t now_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void pack_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_kv_str(msgpack_packer *pk, const char *k, const char *v) {
    pack_str(pk, k);
    pack_str(pk, v);
}

static void pack_kv_int(msgpack_packer *pk, const char *k, int64_t v) {
    pack_str(pk, k);
    msgpack_pack_int64(pk, v);
}

/* ---------------------------------------------------------------- frames and segments */

/* Writes all of buf at the end of the open file. On failure removes whatever part reached the
 * file so that the file still ends on a frame boundary. */
static int write_all(struct journal_writer *w, const unsigned char *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(w->fd, buf + done, n - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int err = -errno;
            if (done && ftruncate(w->fd, (off_t)w->seg_bytes) < 0) {
                /* Nothing more to do: the reader will see a torn or damaged frame. */
            }
            return err;
        }
        done += (size_t)k;
    }
    w->seg_bytes += n;
    w->total_bytes += n;
    return 0;
}

static void ensure_out(struct journal_writer *w, size_t need) {
    if (need > w->outcap) {
        free(w->out);
        w->outcap = need + need / 4;
        w->out = xmalloc(w->outcap);
    }
}

/* Frames body (already at w->out + JOURNAL_FRAME_HDR_LEN, len bytes) and writes it. */
static int write_frame(struct journal_writer *w, uint8_t type, uint8_t flags, uint16_t seq,
                       uint32_t len) {
    unsigned char *h = w->out;
    h[0] = JOURNAL_SYNC0;
    h[1] = JOURNAL_SYNC1;
    h[2] = JOURNAL_SYNC2;
    h[3] = JOURNAL_SYNC3;
    journal_put_u32(h + 4, len);
    h[8] = type;
    h[9] = flags;
    journal_put_u16(h + 10, seq);
    journal_put_u32(h + 12, crc32c(crc32c(0, h + 4, 8), h + JOURNAL_FRAME_HDR_LEN, len));
    return write_all(w, h, JOURNAL_FRAME_HDR_LEN + (size_t)len);
}

static int write_packed_frame(struct journal_writer *w, uint8_t type, const msgpack_sbuffer *sb) {
    ensure_out(w, JOURNAL_FRAME_HDR_LEN + sb->size);
    memcpy(w->out + JOURNAL_FRAME_HDR_LEN, sb->data, sb->size);
    return write_frame(w, type, 0, 0, (uint32_t)sb->size);
}

static int sync_fd(int fd) {
    return fdatasync(fd) < 0 ? -errno : 0;
}

static void pack_section_header(struct journal_writer *w, msgpack_packer *pk, int64_t t_real) {
    msgpack_pack_map(pk, 11);
    pack_kv_str(pk, "format", "proxtop-journal");
    pack_str(pk, "version");
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, JOURNAL_FORMAT_MAJOR);
    msgpack_pack_int(pk, JOURNAL_FORMAT_MINOR);
    pack_kv_str(pk, "writer", w->writer_name);
    pack_kv_str(pk, "hostname", w->hostname);
    pack_kv_str(pk, "machine_id", w->machine_id);
    pack_kv_int(pk, "interval_ns", w->o.interval_ns);
    pack_kv_int(pk, "start_ns", t_real);
    pack_kv_int(pk, "segment", (int64_t)w->seq);
    pack_kv_str(pk, "compression", w->o.compress ? "zstd" : "none");
    pack_kv_int(pk, "block_ticks", w->o.block_ticks);
    pack_str(pk, "metrics");
    msgpack_pack_array(pk, w->nmetrics);
    for (size_t i = 0; i < w->nmetrics; i++) {
        const struct metric_def *m = &w->metrics[i];
        msgpack_pack_array(pk, 5);
        pack_str(pk, m->name);
        pack_str(pk, m->unit);
        pack_str(pk, catalogue_kind_name(m->kind));
        pack_str(pk, catalogue_scope_name(m->scope));
        pack_str(pk, catalogue_type_name(m->type));
    }
}

static int write_section_header(struct journal_writer *w, int64_t t_real) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_section_header(w, &pk, t_real);
    w->section_off = w->seg_bytes;
    /* Twice: the copy keeps the section readable when a bit flip hits the first one. Readers
     * skip a section header identical to the one in force. */
    int rc = write_packed_frame(w, JF_SECTION, &sb);
    if (rc == 0)
        rc = write_packed_frame(w, JF_SECTION, &sb);
    msgpack_sbuffer_destroy(&sb);
    w->nidx = 0;
    w->block_open = false;
    return rc;
}

/* Writes the section's block index and the footer pointing at it. */
static int write_index_and_footer(struct journal_writer *w) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, w->section_off);
    msgpack_pack_array(&pk, w->nidx);
    for (size_t i = 0; i < w->nidx; i++) {
        msgpack_pack_array(&pk, 4);
        msgpack_pack_int64(&pk, w->idx[i].t_first);
        msgpack_pack_int64(&pk, w->idx[i].t_last);
        msgpack_pack_uint64(&pk, w->idx[i].offset);
        msgpack_pack_uint32(&pk, w->idx[i].ticks);
    }
    uint64_t index_off = w->seg_bytes;
    int rc = write_packed_frame(w, JF_INDEX, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0)
        return rc;
    ensure_out(w, JOURNAL_FRAME_HDR_LEN + 8);
    journal_put_u64(w->out + JOURNAL_FRAME_HDR_LEN, index_off);
    return write_frame(w, JF_FOOTER, 0, 0, 8);
}

static void fsync_dir(struct journal_writer *w) {
    if (w->dirfd >= 0)
        fsync(w->dirfd);
}

static int close_segment(struct journal_writer *w) {
    if (w->fd < 0)
        return 0;
    int rc = write_index_and_footer(w);
    int rc2 = sync_fd(w->fd);
    close(w->fd);
    w->fd = -1;
    w->block_open = false;
    return rc < 0 ? rc : rc2;
}

static void apply_retention(struct journal_writer *w) {
    if (w->dirfd < 0 || (!w->o.retain_bytes && !w->o.retain_ns))
        return;
    char **files;
    uint64_t gaps;
    if (journal_list_files(w->path, &files, &gaps) < 0)
        return;
    size_t n = 0;
    uint64_t total = 0;
    for (; files[n]; n++) {
        struct stat st;
        if (stat(files[n], &st) == 0)
            total += (uint64_t)st.st_size;
    }
    int64_t now = now_ns(CLOCK_REALTIME);
    for (size_t i = 0; i + 1 < n; i++) { /* never the newest (the open segment) */
        struct stat st;
        if (stat(files[i], &st) < 0)
            continue;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
        bool too_big = w->o.retain_bytes && total > w->o.retain_bytes;
        bool too_old = w->o.retain_ns && mtime < now - w->o.retain_ns;
        if (!too_big && !too_old)
            break; /* oldest first: once one is kept, the newer ones are kept */
        if (unlink(files[i]) == 0)
            total -= (uint64_t)st.st_size;
    }
    journal_paths_free(files);
}

static int open_segment(struct journal_writer *w, int64_t t_real) {
    time_t secs = (time_t)floor_div(t_real, 1000000000ll);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    char name[128];
    snprintf(name, sizeof(name), "%08" PRIu64 "-%s.pxj", w->seq, stamp);
    int fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                    w->o.mode);
    if (fd < 0)
        return -errno;
    snprintf(w->seg_path, sizeof(w->seg_path), "%s/%s", w->path, name);
    w->fd = fd;
    w->seg_bytes = 0;
    w->seg_slot = floor_div(t_real, w->o.rotate_ns);
    unsigned char pre[JOURNAL_PREAMBLE_LEN] = {0};
    memcpy(pre, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
    journal_put_u16(pre + 8, JOURNAL_FORMAT_MAJOR);
    journal_put_u16(pre + 10, JOURNAL_FORMAT_MINOR);
    int rc = write_all(w, pre, sizeof(pre));
    if (rc == 0)
        rc = write_section_header(w, t_real);
    if (rc < 0) {
        close(fd);
        w->fd = -1;
        unlinkat(w->dirfd, name, 0);
        return rc;
    }
    fsync_dir(w);
    w->seq++;
    apply_retention(w);
    return 0;
}

/* Makes sure a segment (or the single file's section) is open for a tick at t_real, rotating
 * when the open one is full or belongs to an earlier time slot. */
static int ensure_segment(struct journal_writer *w, int64_t t_real) {
    if (w->dirfd < 0) {
        if (w->nidx == 0 && !w->block_open && w->seg_slot == INT64_MIN) {
            int rc = write_section_header(w, t_real);
            if (rc < 0)
                return rc;
            w->seg_slot = 0;
        }
        return 0;
    }
    if (w->fd >= 0 &&
        (w->seg_bytes >= w->o.rotate_bytes || floor_div(t_real, w->o.rotate_ns) != w->seg_slot)) {
        int rc = close_segment(w);
        if (rc < 0)
            return rc;
    }
    if (w->fd < 0)
        return open_segment(w, t_real);
    return 0;
}

/* ---------------------------------------------------------------- recovery on open */

/* Walks an existing file and cuts damage at its end. */
static int recover_file(const char *path, struct journal_writer_recovery *rec) {
    struct journal_file *f;
    int rc = journal_file_open(&f, path);
    if (rc == -CORE_ETRUNC || rc == -CORE_EEMPTY) {
        /* Died while writing the preamble: the file holds nothing. */
        if (truncate(path, 0) < 0)
            return -errno;
        return 1;
    }
    if (rc < 0)
        return rc;
    struct journal_frame fr;
    struct journal_damage dmg;
    enum journal_step s;
    uint64_t cut_at = 0;
    bool cut = false;
    while ((s = journal_file_next(f, &fr, &dmg)) != JOURNAL_STEP_END) {
        if (s == JOURNAL_STEP_DAMAGE && dmg.tail) {
            cut = true;
            cut_at = dmg.offset;
        }
    }
    uint64_t size = journal_file_size(f);
    journal_file_close(f);
    if (cut) {
        if (truncate(path, (off_t)cut_at) < 0)
            return -errno;
        if (rec) {
            rec->repaired = true;
            rec->cut_bytes = size - cut_at;
            snprintf(rec->file, sizeof(rec->file), "%s", path);
        }
    }
    return 0;
}

static void read_machine_id(char *buf, size_t n) {
    buf[0] = 0;
    int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t k = read(fd, buf, n - 1);
    close(fd);
    if (k <= 0) {
        buf[0] = 0;
        return;
    }
    buf[k] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
}

static bool path_is_single_file(const struct journal_writer_opts *o) {
    if (o->single_file)
        return true;
    size_t n = strlen(o->path);
    if (n >= 4 && strcmp(o->path + n - 4, ".pxj") == 0)
        return true;
    struct stat st;
    return stat(o->path, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_single_file(struct journal_writer *w, struct journal_writer_recovery *rec) {
    int fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, w->o.mode);
    if (fd < 0)
        return -errno;
    close(fd);
    int rc = recover_file(w->path, rec);
    if (rc < 0 && rc != -CORE_EEMPTY)
        return rc;
    fd = open(w->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    w->fd = fd;
    w->seg_bytes = (uint64_t)st.st_size;
    snprintf(w->seg_path, sizeof(w->seg_path), "%s", w->path);
    if (st.st_size == 0) {
        unsigned char pre[JOURNAL_PREAMBLE_LEN] = {0};
        memcpy(pre, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
        journal_put_u16(pre + 8, JOURNAL_FORMAT_MAJOR);
        journal_put_u16(pre + 10, JOURNAL_FORMAT_MINOR);
        rc = write_all(w, pre, sizeof(pre));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int open_directory(struct journal_writer *w, struct journal_writer_recovery *rec) {
    if (mkdir(w->path, 0750) < 0 && errno != EEXIST)
        return -errno;
    w->dirfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0)
        return -errno;
    char **files;
    uint64_t gaps;
    int rc = journal_list_files(w->path, &files, &gaps);
    if (rc == -CORE_EEMPTY) {
        w->seq = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    size_t n = 0;
    while (files[n])
        n++;
    const char *last = files[n - 1];
    const char *base = strrchr(last, '/');
    base = base ? base + 1 : last;
    w->seq = strtoull(base, NULL, 10) + 1;
    rc = recover_file(last, rec);
    journal_paths_free(files);
    return rc < 0 ? rc : 0;
}

int journal_writer_open(struct journal_writer **out, const struct journal_writer_opts *o,
                        struct journal_writer_recovery *recovery) {
    if (!o || !o->path || !*o->path)
        return -EINVAL;
    if (recovery)
        memset(recovery, 0, sizeof(*recovery));
    struct journal_writer *w = xcalloc(1, sizeof(*w));
    w->o = *o;
    if (!w->o.block_ticks)
        w->o.block_ticks = DEFAULT_BLOCK_TICKS;
    if (!w->o.chunk_ticks)
        w->o.chunk_ticks = 1;
    if (w->o.chunk_ticks > w->o.block_ticks)
        w->o.chunk_ticks = w->o.block_ticks;
    if (w->o.block_ticks > MAX_CHUNKS_PER_BLOCK)
        w->o.block_ticks = MAX_CHUNKS_PER_BLOCK;
    if (!w->o.rotate_bytes)
        w->o.rotate_bytes = DEFAULT_ROTATE_BYTES;
    if (w->o.rotate_ns <= 0)
        w->o.rotate_ns = DEFAULT_ROTATE_NS;
    if (!w->o.zstd_level)
        w->o.zstd_level = DEFAULT_ZSTD_LEVEL;
    if (!w->o.mode)
        w->o.mode = 0640;
    w->path = xstrdup(o->path);
    w->writer_name = xstrdup(o->writer ? o->writer : "proxtop " PROXTOP_VERSION);
    char buf[256];
    if (o->hostname) {
        w->hostname = xstrdup(o->hostname);
    } else {
        if (gethostname(buf, sizeof(buf)) < 0)
            snprintf(buf, sizeof(buf), "unknown");
        buf[sizeof(buf) - 1] = 0;
        w->hostname = xstrdup(buf);
    }
    if (o->machine_id) {
        w->machine_id = xstrdup(o->machine_id);
    } else {
        read_machine_id(buf, sizeof(buf));
        w->machine_id = xstrdup(buf);
    }
    w->metrics = o->metrics;
    w->nmetrics = o->nmetrics;
    if (!w->metrics)
        w->metrics = catalogue_all(&w->nmetrics);
    w->dirfd = -1;
    w->fd = -1;
    w->seg_slot = INT64_MIN;
    msgpack_sbuffer_init(&w->pend);
    msgpack_sbuffer_init(&w->tick);
    msgpack_sbuffer_init(&w->snap);
    msgpack_packer_init(&w->pk_pend, &w->pend, msgpack_sbuffer_write);
    msgpack_packer_init(&w->pk_tick, &w->tick, msgpack_sbuffer_write);
    msgpack_packer_init(&w->pk_snap, &w->snap, msgpack_sbuffer_write);
    if (w->o.compress) {
        w->zc = ZSTD_createCCtx();
        if (!w->zc ||
            ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, w->o.zstd_level))) {
            journal_writer_close(w);
            return -CORE_ECOMPRESS;
        }
    }
    int rc = path_is_single_file(o) ? open_single_file(w, recovery) : open_directory(w, recovery);
    if (rc < 0) {
        journal_writer_close(w);
        return rc;
    }
    w->last_sync = now_ns(CLOCK_MONOTONIC);
    *out = w;
    return 0;
}

static int flush_chunk(struct journal_writer *w);

/* ---------------------------------------------------------------- entities */

static void wentity_clear(struct wentity *e) {
    free(e->key);
    free(e->is_real);
    free(e->prev);
    free(e->has_prev);
    free(e->def);
    memset(e, 0, sizeof(*e));
}

static void pack_entity_def(struct journal_writer *w, uint32_t id,
                            const struct journal_entity_desc *d, msgpack_packer *pk) {
    uint32_t nkeys = 3 + (d->parent != JOURNAL_NO_ENTITY) + !!d->uuid + !!d->name + !!d->vmid +
                     (d->pid >= 0) + (d->start_time >= 0) + (d->vcpus >= 0) + (d->mem_bytes >= 0) +
                     (d->nattrs > 0);
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, JR_ENTITY);
    msgpack_pack_uint32(pk, id);
    msgpack_pack_map(pk, nkeys);
    pack_kv_str(pk, "scope", catalogue_scope_name(d->scope));
    pack_kv_str(pk, "key", d->key);
    if (d->parent != JOURNAL_NO_ENTITY)
        pack_kv_int(pk, "parent", d->parent);
    if (d->uuid)
        pack_kv_str(pk, "uuid", d->uuid);
    if (d->name)
        pack_kv_str(pk, "name", d->name);
    if (d->vmid)
        pack_kv_str(pk, "vmid", d->vmid);
    if (d->pid >= 0)
        pack_kv_int(pk, "pid", d->pid);
    if (d->start_time >= 0)
        pack_kv_int(pk, "start_time", d->start_time);
    if (d->vcpus >= 0)
        pack_kv_int(pk, "vcpus", d->vcpus);
    if (d->mem_bytes >= 0)
        pack_kv_int(pk, "memory", d->mem_bytes);
    pack_str(pk, "metrics");
    msgpack_pack_array(pk, d->nmetrics);
    for (uint32_t i = 0; i < d->nmetrics; i++)
        msgpack_pack_uint32(pk, d->metrics[i]);
    if (d->nattrs) {
        pack_str(pk, "attrs");
        msgpack_pack_map(pk, d->nattrs);
        for (uint32_t i = 0; i < d->nattrs; i++)
            pack_kv_str(pk, d->attrs[i].key ? d->attrs[i].key : "",
                        d->attrs[i].value ? d->attrs[i].value : "");
    }
    (void)w;
}

int journal_writer_entity(struct journal_writer *w, const struct journal_entity_desc *d,
                          uint32_t *id) {
    if (!d || !d->key || w->in_tick || (d->nmetrics && !d->metrics) ||
        (unsigned)d->scope >= SCOPE_COUNT)
        return -EINVAL;
    for (uint32_t i = 0; i < d->nmetrics; i++)
        if (d->metrics[i] >= w->nmetrics)
            return -CORE_ERANGE;
    if (d->parent != JOURNAL_NO_ENTITY && (d->parent >= w->nents || !w->ents[d->parent].live))
        return -CORE_ENOENTITY;
    int frc = flush_chunk(w);
    if (frc < 0)
        return frc;
    uint32_t eid = (uint32_t)w->nents;
    for (size_t i = 0; i < w->nents; i++) {
        if (w->ents[i].live && strcmp(w->ents[i].key, d->key) == 0) {
            eid = (uint32_t)i;
            break;
        }
    }
    if (eid == w->nents) {
        if (w->nents >= JOURNAL_NO_ENTITY - 1)
            return -CORE_ERANGE;
        w->ents = xgrow(w->ents, &w->capents, w->nents + 1, sizeof(*w->ents));
        memset(&w->ents[eid], 0, sizeof(w->ents[eid]));
        w->nents++;
    }
    struct wentity *e = &w->ents[eid];
    wentity_clear(e);
    e->live = true;
    e->key = xstrdup(d->key);
    e->nmetrics = d->nmetrics;
    e->is_real = xcalloc(d->nmetrics + 1, 1);
    e->prev = xcalloc(d->nmetrics + 1, sizeof(*e->prev));
    e->has_prev = xcalloc(d->nmetrics + 1, 1);
    for (uint32_t i = 0; i < d->nmetrics; i++)
        e->is_real[i] = w->metrics[d->metrics[i]].type == METRIC_REAL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_entity_def(w, eid, d, &pk);
    e->deflen = sb.size;
    e->def = msgpack_sbuffer_release(&sb);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_write(&w->pend, e->def, e->deflen);
    *id = eid;
    return 0;
}

int journal_writer_gone(struct journal_writer *w, uint32_t id) {
    if (id >= w->nents || !w->ents[id].live)
        return -CORE_ENOENTITY;
    if (w->in_tick)
        return -EINVAL;
    int rc = flush_chunk(w);
    if (rc < 0)
        return rc;
    msgpack_pack_array(&w->pk_pend, 2);
    msgpack_pack_int(&w->pk_pend, JR_GONE);
    msgpack_pack_uint32(&w->pk_pend, id);
    wentity_clear(&w->ents[id]);
    return 0;
}

int journal_writer_event(struct journal_writer *w, int64_t t_real_ns, const char *kind,
                         const char *text) {
    if (!kind || w->in_tick)
        return -EINVAL;
    int rc = flush_chunk(w);
    if (rc < 0)
        return rc;
    msgpack_pack_array(&w->pk_pend, 4);
    msgpack_pack_int(&w->pk_pend, JR_EVENT);
    msgpack_pack_int64(&w->pk_pend, t_real_ns);
    pack_str(&w->pk_pend, kind);
    pack_str(&w->pk_pend, text ? text : "");
    return 0;
}

/* ---------------------------------------------------------------- ticks */

int journal_writer_tick_begin(struct journal_writer *w, int64_t t_real_ns, int64_t t_mono_ns) {
    if (w->in_tick)
        return -EINVAL;
    /* Packed ticks never straddle a block or a segment boundary. */
    bool block_full = w->block_ticks_done + w->chunk_ticks >= w->o.block_ticks ||
                      w->chunk_seq >= MAX_CHUNKS_PER_BLOCK;
    bool rotate =
        w->dirfd >= 0 && w->fd >= 0 &&
        (w->seg_bytes >= w->o.rotate_bytes || floor_div(t_real_ns, w->o.rotate_ns) != w->seg_slot);
    int rc = 0;
    if (w->chunk_ticks && (block_full || rotate))
        rc = flush_chunk(w);
    if (rc < 0)
        return rc;
    rc = ensure_segment(w, t_real_ns);
    if (rc < 0)
        return rc;
    if (!w->chunk_ticks) {
        w->chunk_key = !w->block_open || w->block_ticks_done >= w->o.block_ticks ||
                       w->chunk_seq >= MAX_CHUNKS_PER_BLOCK;
        msgpack_sbuffer_clear(&w->tick);
        msgpack_sbuffer_clear(&w->snap);
        w->chunk_t_first = t_real_ns;
        if (w->chunk_key) {
            for (size_t i = 0; i < w->nents; i++) {
                struct wentity *e = &w->ents[i];
                if (!e->live)
                    continue;
                memset(e->has_prev, 0, e->nmetrics);
                msgpack_sbuffer_write(&w->snap, e->def, e->deflen);
            }
            w->have_prev_mono = false;
            w->prev_real = 0;
        }
    }
    /* [3, t_real, t_mono, rows...] with an array32 header patched at tick_end. */
    w->tick_hdr_pos = w->tick.size;
    static const char arr32[5] = {(char)0xdd, 0, 0, 0, 0};
    msgpack_sbuffer_write(&w->tick, arr32, sizeof(arr32));
    msgpack_pack_int(&w->pk_tick, JR_TICK);
    msgpack_pack_int64(&w->pk_tick, t_real_ns - w->prev_real);
    if (t_mono_ns < 0) {
        msgpack_pack_nil(&w->pk_tick);
        w->have_prev_mono = false;
    } else {
        msgpack_pack_int64(&w->pk_tick, w->have_prev_mono ? t_mono_ns - w->prev_mono : t_mono_ns);
        w->prev_mono = t_mono_ns;
        w->have_prev_mono = true;
    }
    w->prev_real = t_real_ns;
    w->tick_real = t_real_ns;
    w->tick_rows = 0;
    w->in_tick = true;
    return 0;
}

int journal_writer_row(struct journal_writer *w, uint32_t id, const struct journal_value *values,
                       uint32_t n) {
    if (!w->in_tick)
        return -EINVAL;
    if (id >= w->nents || !w->ents[id].live)
        return -CORE_ENOENTITY;
    struct wentity *e = &w->ents[id];
    if (n != e->nmetrics)
        return -CORE_ERANGE;
    msgpack_packer *pk = &w->pk_tick;
    msgpack_pack_array(pk, n + 1);
    msgpack_pack_uint32(pk, id);
    for (uint32_t i = 0; i < n; i++) {
        const struct journal_value *v = &values[i];
        if (v->type == JV_MISSING) {
            msgpack_pack_nil(pk);
        } else if (e->is_real[i]) {
            double d = v->type == JV_REAL ? v->d : (double)v->i;
            float f = (float)d;
            if ((double)f == d)
                msgpack_pack_float(pk, f);
            else
                msgpack_pack_double(pk, d);
        } else {
            uint64_t x = v->type == JV_INT ? v->u : (uint64_t)(int64_t)v->d;
            /* Delta from the last present value in this block (from 0 at the block's start):
             * modular, so any 64-bit value round-trips exactly. */
            uint64_t base = e->has_prev[i] ? e->prev[i] : 0;
            msgpack_pack_int64(pk, (int64_t)(x - base));
            e->prev[i] = x;
            e->has_prev[i] = 1;
        }
    }
    w->tick_rows++;
    return 0;
}

/* Appends the chunk made of the parts to the open file as one frame. */
static int write_chunk(struct journal_writer *w, bool key, const msgpack_sbuffer *const *parts,
                       int nparts, int64_t t_real) {
    size_t in_total = 0;
    for (int i = 0; i < nparts; i++)
        in_total += parts[i]->size;
    size_t prefix = key ? 8 : 0;
    size_t bound = w->zc ? ZSTD_compressBound(in_total) + 64 : in_total;
    ensure_out(w, JOURNAL_FRAME_HDR_LEN + prefix + bound);
    unsigned char *body = w->out + JOURNAL_FRAME_HDR_LEN;
    if (key)
        journal_put_u64(body, (uint64_t)t_real);
    size_t len = prefix;
    if (w->zc) {
        if (key)
            ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only);
        ZSTD_outBuffer ob = {body + prefix, bound, 0};
        for (int i = 0; i < nparts; i++) {
            ZSTD_inBuffer ib = {parts[i]->data, parts[i]->size, 0};
            ZSTD_EndDirective mode = i == nparts - 1 ? ZSTD_e_flush : ZSTD_e_continue;
            size_t left;
            do {
                left = ZSTD_compressStream2(w->zc, &ob, &ib, mode);
                if (ZSTD_isError(left))
                    return -CORE_ECOMPRESS;
            } while (ib.pos < ib.size || (mode == ZSTD_e_flush && left > 0));
        }
        len += ob.pos;
    } else {
        for (int i = 0; i < nparts; i++) {
            memcpy(body + len, parts[i]->data, parts[i]->size);
            len += parts[i]->size;
        }
    }
    uint8_t flags = (uint8_t)((key ? JFF_KEY : 0) | (w->zc ? JFF_ZSTD : 0));
    uint64_t off = w->seg_bytes;
    int rc = write_frame(w, JF_CHUNK, flags, key ? 0 : w->chunk_seq, (uint32_t)len);
    if (rc < 0) {
        w->block_open = false; /* the zstd stream lost this chunk: restart at a key chunk */
        return rc;
    }
    if (key) {
        w->idx = xgrow(w->idx, &w->capidx, w->nidx + 1, sizeof(*w->idx));
        w->idx[w->nidx++] = (struct index_entry){t_real, t_real, off, 0};
        w->block_open = true;
        w->block_ticks_done = 0;
        w->chunk_seq = 1;
    } else {
        w->chunk_seq++;
    }
    return 0;
}

static int maybe_sync(struct journal_writer *w) {
    if (w->o.sync_ns < 0)
        return 0;
    int64_t now = now_ns(CLOCK_MONOTONIC);
    if (w->o.sync_ns > 0 && now - w->last_sync < w->o.sync_ns)
        return 0;
    w->last_sync = now;
    return sync_fd(w->fd);
}

/* Writes the chunk being built (snapshot if key, pending records, packed ticks) as one frame.
 * On failure the ticks are dropped (the caller got the error) and the next tick starts a block;
 * pending records are kept for it. */
static int flush_chunk(struct journal_writer *w) {
    if (!w->chunk_ticks)
        return 0;
    const msgpack_sbuffer *parts[3];
    int np = 0;
    bool key = w->chunk_key;
    if (key)
        parts[np++] = &w->snap;
    parts[np++] = &w->pend;
    parts[np++] = &w->tick;
    uint32_t n = w->chunk_ticks;
    w->chunk_ticks = 0;
    int rc = write_chunk(w, key, parts, np, w->chunk_t_first);
    msgpack_sbuffer_clear(&w->tick);
    msgpack_sbuffer_clear(&w->snap);
    if (rc < 0)
        return rc;
    msgpack_sbuffer_clear(&w->pend);
    w->block_ticks_done += n;
    struct index_entry *ie = &w->idx[w->nidx - 1];
    ie->t_last = w->chunk_t_last;
    ie->ticks += n;
    return maybe_sync(w);
}

int journal_writer_tick_end(struct journal_writer *w) {
    if (!w->in_tick)
        return -EINVAL;
    w->in_tick = false;
    uint32_t count = 3 + w->tick_rows;
    unsigned char *h = (unsigned char *)w->tick.data + w->tick_hdr_pos + 1;
    h[0] = (unsigned char)(count >> 24);
    h[1] = (unsigned char)(count >> 16);
    h[2] = (unsigned char)(count >> 8);
    h[3] = (unsigned char)count;
    w->chunk_ticks++;
    w->chunk_t_last = w->tick_real;
    if (w->chunk_ticks < w->o.chunk_ticks && w->tick.size < (1u << 20))
        return 0; /* packing: written with a later tick or at close */
    return flush_chunk(w);
}

/* ---------------------------------------------------------------- close */

int journal_writer_close(struct journal_writer *w) {
    if (!w)
        return 0;
    int rc = 0;
    if (w->in_tick)
        rc = journal_writer_tick_end(w);
    int r0 = flush_chunk(w);
    if (rc == 0)
        rc = r0;
    if (w->pend.size && (w->fd >= 0 || w->dirfd >= 0)) {
        /* Definitions or events after the last tick: write them as a chunk of their own. */
        int64_t t = w->prev_real ? w->prev_real : now_ns(CLOCK_REALTIME);
        int r = ensure_segment(w, t);
        if (r == 0) {
            bool key = !w->block_open;
            msgpack_sbuffer_clear(&w->snap);
            if (key)
                for (size_t i = 0; i < w->nents; i++)
                    if (w->ents[i].live)
                        msgpack_sbuffer_write(&w->snap, w->ents[i].def, w->ents[i].deflen);
            const msgpack_sbuffer *parts[2] = {&w->snap, &w->pend};
            r = key ? write_chunk(w, true, parts, 2, t) : write_chunk(w, false, parts + 1, 1, t);
        }
        if (r < 0 && rc == 0)
            rc = r;
    }
    if (w->fd >= 0) {
        int r = w->nidx ? write_index_and_footer(w) : 0;
        int r2 = sync_fd(w->fd);
        close(w->fd);
        if (rc == 0)
            rc = r < 0 ? r : r2;
    }
    if (w->dirfd >= 0) {
        fsync(w->dirfd);
        close(w->dirfd);
    }
    for (size_t i = 0; i < w->nents; i++)
        wentity_clear(&w->ents[i]);
    free(w->ents);
    free(w->idx);
    free(w->out);
    msgpack_sbuffer_destroy(&w->pend);
    msgpack_sbuffer_destroy(&w->tick);
    msgpack_sbuffer_destroy(&w->snap);
    ZSTD_freeCCtx(w->zc);
    free(w->path);
    free(w->hostname);
    free(w->machine_id);
    free(w->writer_name);
    free(w);
    return rc;
}

uint64_t journal_writer_bytes(const struct journal_writer *w) {
    return w->total_bytes;
}

const char *journal_writer_path(const struct journal_writer *w) {
    return w->seg_path;
}
