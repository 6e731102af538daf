/* proc_parse.c: cursor parsers for /proc, /sys and cgroup files (see proc_parse.h).
 *
 * All parsing goes through a cursor bounded by an end pointer, so no parser depends on a NUL
 * terminator or reads past the buffer, whatever the input.
 * SPDX-License-Identifier: MIT */
#include "proc_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_error.h"

/*============================== Reading ============================== */

int proc_pread(int fd, char *buf, size_t size) {
    ssize_t n;

    if (size < 2) {
        return -EINVAL;
    }
    do {
        n = pread(fd, buf, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    if ((size_t)n == size - 1) {
        buf[0] = '\0';
        return -ENOBUFS;
    }
    buf[n] = '\0';
    return (int)n;
}

int proc_read_at(int dfd, const char *path, char *buf, size_t size) {
    int fd, n;

    do {
        fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return -errno;
    }
    n = proc_pread(fd, buf, size);
    close(fd);
    return n;
}

/*============================== Cursor ============================== */

struct cur {
    const char *p;
    const char *end;
};

static bool cur_eof(const struct cur *c) {
    return c->p >= c->end;
}

static bool is_blank(char ch) {
    return ch == ' ' || ch == '\t';
}

static void skip_blanks(struct cur *c) {
    while (c->p < c->end && is_blank(*c->p)) {
        c->p++;
    }
}

/* Skips blanks, then requires at least one. Returns false if no blank was there. */
static bool need_blanks(struct cur *c) {
    if (c->p >= c->end || !is_blank(*c->p)) {
        return false;
    }
    skip_blanks(c);
    return true;
}

/* Parses an unsigned decimal number at the cursor (no sign, no blanks). */
static int cur_u64(struct cur *c, uint64_t *out) {
    uint64_t v = 0;
    const char *start = c->p;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -ERANGE;
        }
        v = v * 10 + d;
        c->p++;
    }
    if (c->p == start) {
        return -CORE_EPARSE;
    }
    *out = v;
    return 0;
}

static int cur_i64(struct cur *c, int64_t *out) {
    bool neg = false;
    uint64_t v;
    int rc;

    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    rc = cur_u64(c, &v);
    if (rc < 0) {
        return rc;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) {
        return -ERANGE;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int cur_u32(struct cur *c, uint32_t *out) {
    uint64_t v;
    int rc = cur_u64(c, &v);
    if (rc < 0) {
        return rc;
    }
    if (v > UINT32_MAX) {
        return -ERANGE;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A fixed-point "I.FF" with exactly two decimals, as PSI and loadavg print: value * 100. */
static int cur_centi(struct cur *c, uint32_t *out) {
    uint64_t ip;
    int rc = cur_u64(c, &ip);

    if (rc < 0) {
        return rc;
    }
    if (c->end - c->p < 3 || c->p[0] != '.' || c->p[1] < '0' || c->p[1] > '9' || c->p[2] < '0' ||
        c->p[2] > '9') {
        return -CORE_EPARSE;
    }
    if (ip > UINT32_MAX / 100 - 1) {
        return -ERANGE;
    }
    *out = (uint32_t)(ip * 100 + (uint64_t)(c->p[1] - '0') * 10 + (uint64_t)(c->p[2] - '0'));
    c->p += 3;
    return 0;
}

/* Requires the literal s at the cursor and moves past it. */
static bool cur_lit(struct cur *c, const char *s) {
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0) {
        return false;
    }
    c->p += n;
    return true;
}

/* Moves past the end of the current line (after the '\n', or to the end). */
static void skip_line(struct cur *c) {
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    c->p = nl ? nl + 1 : c->end;
}

/* True at the end of a line: only blanks, then '\n' or the end of the buffer. */
static bool at_eol(struct cur *c) {
    skip_blanks(c);
    return c->p >= c->end || *c->p == '\n';
}

/* A whitespace-separated token: [p, returned end). */
static const char *token_end(const struct cur *c) {
    const char *q = c->p;
    while (q < c->end && !is_blank(*q) && *q != '\n') {
        q++;
    }
    return q;
}

static void copy_name(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap) {
        len = cap - 1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/*============================== /proc/PID/stat ============================== */

int proc_pid_stat_parse(const char *buf, size_t len, struct proc_pid_stat *out) {
    struct cur c = {buf, buf + len};
    const char *open, *close_paren;
    int64_t pid;
    uint64_t u;
    int64_t s;
    int rc, field;

    memset(out, 0, sizeof(*out));
    rc = cur_i64(&c, &pid);
    if (rc < 0) {
        return rc;
    }
    if (pid < 0 || pid > INT32_MAX) {
        return -CORE_EPARSE;
    }
    out->pid = (int32_t)pid;
    if (!cur_lit(&c, " (")) {
        return -CORE_EPARSE;
    }
    open = c.p;
    /* comm ends at the LAST ')' of the line: a comm may itself contain ") (". */
    close_paren = NULL;
    for (const char *q = open; q < c.end && *q != '\n'; q++) {
        if (*q == ')') {
            close_paren = q;
        }
    }
    if (!close_paren) {
        return -CORE_EPARSE;
    }
    copy_name(out->comm, sizeof(out->comm), open, (size_t)(close_paren - open));
    c.p = close_paren + 1;
    if (!cur_lit(&c, " ") || cur_eof(&c)) {
        return -CORE_EPARSE;
    }
    out->state = *c.p++;
    if (out->state == ' ' || out->state == '\n') {
        return -CORE_EPARSE;
    }
    for (field = 4; !at_eol(&c); field++) {
        /* Every remaining field is a decimal integer; a few are signed, some unsigned fields
         * (addresses) may exceed INT64_MAX. */
        if (c.p < c.end && *c.p == '-') {
            rc = cur_i64(&c, &s);
            u = (uint64_t)s;
        } else {
            rc = cur_u64(&c, &u);
            s = (int64_t)u;
        }
        if (rc < 0) {
            return rc;
        }
        if (c.p < c.end && !is_blank(*c.p) && *c.p != '\n') {
            return -CORE_EPARSE;
        }
        switch (field) {
        case 4:
            if (s < INT32_MIN || s > INT32_MAX) {
                return -CORE_EPARSE;
            }
            out->ppid = (int32_t)s;
            break;
        case 10:
            out->minflt = u;
            break;
        case 12:
            out->majflt = u;
            break;
        case 14:
            out->utime = u;
            break;
        case 15:
            out->stime = u;
            break;
        case 18:
            out->priority = s;
            break;
        case 19:
            out->nice = s;
            break;
        case 20:
            out->num_threads = s;
            break;
        case 22:
            out->starttime = u;
            break;
        case 23:
            out->vsize = u;
            break;
        case 24:
            out->rss = s;
            break;
        case 39:
            out->processor = (int32_t)s;
            break;
        case 42:
            out->delayacct_blkio_ticks = u;
            break;
        case 43:
            out->guest_time = u;
            break;
        default:
            break;
        }
    }
    out->nfields = field - 1;
    return out->nfields >= 24 ? 0 : -CORE_EPARSE;
}

/*============================== schedstat, statm ============================== */

/* Parses n unsigned numbers separated by blanks, then the end of the line. */
static int parse_u64_list(const char *buf, size_t len, uint64_t *v, int n) {
    struct cur c = {buf, buf + len};
    int rc;

    for (int i = 0; i < n; i++) {
        if (i > 0 && !need_blanks(&c)) {
            return -CORE_EPARSE;
        }
        rc = cur_u64(&c, &v[i]);
        if (rc < 0) {
            return rc;
        }
    }
    return at_eol(&c) ? 0 : -CORE_EPARSE;
}

int proc_schedstat_parse(const char *buf, size_t len, struct proc_schedstat *out) {
    uint64_t v[3];
    int rc = parse_u64_list(buf, len, v, 3);

    if (rc < 0) {
        return rc;
    }
    out->run_ns = v[0];
    out->wait_ns = v[1];
    out->slices = v[2];
    return 0;
}

int proc_statm_parse(const char *buf, size_t len, struct proc_statm *out) {
    uint64_t v[7];
    int rc = parse_u64_list(buf, len, v, 7);

    if (rc < 0) {
        return rc;
    }
    out->size = v[0];
    out->resident = v[1];
    out->shared = v[2];
    out->text = v[3];
    out->lib = v[4];
    out->data = v[5];
    out->dt = v[6];
    return 0;
}

int proc_u64_parse(const char *buf, size_t len, uint64_t *out) {
    struct cur c = {buf, buf + len};
    int rc;

    skip_blanks(&c);
    if (cur_lit(&c, "max")) {
        *out = UINT64_MAX;
    } else {
        rc = cur_u64(&c, out);
        if (rc < 0) {
            return rc;
        }
    }
    if (!at_eol(&c)) {
        return -CORE_EPARSE;
    }
    if (c.p < c.end) {
        c.p++;
    }
    skip_blanks(&c);
    return cur_eof(&c) ? 0 : -CORE_EPARSE;
}

/*============================== key/value files ============================== */

void proc_kv_init(struct proc_kv_iter *it, const char *buf, size_t len) {
    it->p = buf;
    it->end = buf + len;
}

int proc_kv_next(struct proc_kv_iter *it, struct proc_kv *kv) {
    struct cur c = {it->p, it->end};
    const char *k;
    int rc;

    /* Skip empty lines. */
    while (c.p < c.end && (*c.p == '\n' || is_blank(*c.p))) {
        c.p++;
    }
    if (cur_eof(&c)) {
        it->p = c.p;
        return 0;
    }
    k = c.p;
    while (c.p < c.end && *c.p != ':' && !is_blank(*c.p) && *c.p != '\n') {
        c.p++;
    }
    kv->key = k;
    kv->key_len = (size_t)(c.p - k);
    kv->value = 0;
    kv->has_value = false;
    if (c.p < c.end && *c.p == ':') {
        c.p++;
    }
    skip_blanks(&c);
    if (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
        const char *num = c.p;
        rc = cur_u64(&c, &kv->value);
        if (rc < 0) {
            it->p = c.end; /* stop: the file is not what we think */
            return rc;
        }
        /* "123 kB" is numeric; "0/95431" (SigQ) or "00000000,ff" are not. */
        if (c.p < c.end && !is_blank(*c.p) && *c.p != '\n') {
            c.p = num;
        } else {
            kv->has_value = true;
            skip_blanks(&c);
            /* An optional unit word (kB). Anything else after the number makes it text. */
            const char *u = token_end(&c);
            if (u > c.p && !(u - c.p == 2 && memcmp(c.p, "kB", 2) == 0)) {
                kv->has_value = false;
            }
        }
    }
    skip_line(&c);
    it->p = c.p;
    return 1;
}

int proc_kv_fill(const char *buf, size_t len, const struct proc_field *fields, size_t nfields,
                 void *out, uint64_t *valid) {
    struct proc_kv_iter it;
    struct proc_kv kv;
    int rc;

    *valid = 0;
    if (nfields > 64) {
        return -EINVAL;
    }
    proc_kv_init(&it, buf, len);
    while ((rc = proc_kv_next(&it, &kv)) > 0) {
        for (size_t i = 0; i < nfields; i++) {
            if (strlen(fields[i].key) != kv.key_len ||
                memcmp(fields[i].key, kv.key, kv.key_len) != 0) {
                continue;
            }
            if (!kv.has_value) {
                return -CORE_EPARSE;
            }
            memcpy((char *)out + fields[i].offset, &kv.value, sizeof(kv.value));
            *valid |= UINT64_C(1) << i;
            break;
        }
    }
    return rc;
}

#define FIELD(type, key, member)                                                                   \
    { key, offsetof(type, member) }

static const struct proc_field meminfo_fields[] = {
    FIELD(struct proc_meminfo, "MemTotal", mem_total),
    FIELD(struct proc_meminfo, "MemFree", mem_free),
    FIELD(struct proc_meminfo, "MemAvailable", mem_available),
    FIELD(struct proc_meminfo, "Buffers", buffers),
    FIELD(struct proc_meminfo, "Cached", cached),
    FIELD(struct proc_meminfo, "SwapCached", swap_cached),
    FIELD(struct proc_meminfo, "Active", active),
    FIELD(struct proc_meminfo, "Inactive", inactive),
    FIELD(struct proc_meminfo, "SwapTotal", swap_total),
    FIELD(struct proc_meminfo, "SwapFree", swap_free),
    FIELD(struct proc_meminfo, "Dirty", dirty),
    FIELD(struct proc_meminfo, "Writeback", writeback),
    FIELD(struct proc_meminfo, "AnonPages", anon_pages),
    FIELD(struct proc_meminfo, "Mapped", mapped),
    FIELD(struct proc_meminfo, "Shmem", shmem),
    FIELD(struct proc_meminfo, "Slab", slab),
    FIELD(struct proc_meminfo, "SReclaimable", sreclaimable),
    FIELD(struct proc_meminfo, "SUnreclaim", sunreclaim),
    FIELD(struct proc_meminfo, "Committed_AS", committed_as),
    FIELD(struct proc_meminfo, "AnonHugePages", anon_huge_pages),
    FIELD(struct proc_meminfo, "HugePages_Total", hugepages_total),
    FIELD(struct proc_meminfo, "HugePages_Free", hugepages_free),
    FIELD(struct proc_meminfo, "Hugepagesize", hugepagesize),
};

int proc_meminfo_parse(const char *buf, size_t len, struct proc_meminfo *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, meminfo_fields, sizeof(meminfo_fields) / sizeof(meminfo_fields[0]),
                      out, &out->valid);
    if (rc < 0) {
        return rc;
    }
    /* MemTotal is the first line of every meminfo ever written. */
    return (out->valid & 1u) ? 0 : -CORE_EPARSE;
}

static const struct proc_field status_fields[] = {
    FIELD(struct proc_status, "VmPeak", vm_peak),
    FIELD(struct proc_status, "VmSize", vm_size),
    FIELD(struct proc_status, "VmHWM", vm_hwm),
    FIELD(struct proc_status, "VmRSS", vm_rss),
    FIELD(struct proc_status, "RssAnon", rss_anon),
    FIELD(struct proc_status, "RssFile", rss_file),
    FIELD(struct proc_status, "RssShmem", rss_shmem),
    FIELD(struct proc_status, "VmSwap", vm_swap),
    FIELD(struct proc_status, "Threads", threads),
    FIELD(struct proc_status, "voluntary_ctxt_switches", voluntary_ctxt_switches),
    FIELD(struct proc_status, "nonvoluntary_ctxt_switches", nonvoluntary_ctxt_switches),
};

int proc_status_parse(const char *buf, size_t len, struct proc_status *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, status_fields, sizeof(status_fields) / sizeof(status_fields[0]),
                      out, &out->valid);
    if (rc < 0) {
        return rc;
    }
    /* Kernel threads have no Vm* lines, but every task has Threads. */
    return (out->valid & PROC_STATUS_THREADS) ? 0 : -CORE_EPARSE;
}

static const struct proc_field io_fields[] = {
    FIELD(struct proc_io, "rchar", rchar),
    FIELD(struct proc_io, "wchar", wchar),
    FIELD(struct proc_io, "syscr", syscr),
    FIELD(struct proc_io, "syscw", syscw),
    FIELD(struct proc_io, "read_bytes", read_bytes),
    FIELD(struct proc_io, "write_bytes", write_bytes),
    FIELD(struct proc_io, "cancelled_write_bytes", cancelled_write_bytes),
};

int proc_io_parse(const char *buf, size_t len, struct proc_io *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, io_fields, sizeof(io_fields) / sizeof(io_fields[0]), out,
                      &out->valid);
    if (rc < 0) {
        return rc;
    }
    return (out->valid & 1u) ? 0 : -CORE_EPARSE;
}

static const struct proc_field cpu_stat_fields[] = {
    FIELD(struct cgroup_cpu_stat, "usage_usec", usage_usec),
    FIELD(struct cgroup_cpu_stat, "user_usec", user_usec),
    FIELD(struct cgroup_cpu_stat, "system_usec", system_usec),
    FIELD(struct cgroup_cpu_stat, "nr_periods", nr_periods),
    FIELD(struct cgroup_cpu_stat, "nr_throttled", nr_throttled),
    FIELD(struct cgroup_cpu_stat, "throttled_usec", throttled_usec),
    FIELD(struct cgroup_cpu_stat, "nr_bursts", nr_bursts),
    FIELD(struct cgroup_cpu_stat, "burst_usec", burst_usec),
};

int cgroup_cpu_stat_parse(const char *buf, size_t len, struct cgroup_cpu_stat *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, cpu_stat_fields,
                      sizeof(cpu_stat_fields) / sizeof(cpu_stat_fields[0]), out, &out->valid);
    if (rc < 0) {
        return rc;
    }
    return (out->valid & 1u) ? 0 : -CORE_EPARSE;
}

static const struct proc_field memory_stat_fields[] = {
    FIELD(struct cgroup_memory_stat, "anon", anon),
    FIELD(struct cgroup_memory_stat, "file", file),
    FIELD(struct cgroup_memory_stat, "kernel", kernel),
    FIELD(struct cgroup_memory_stat, "kernel_stack", kernel_stack),
    FIELD(struct cgroup_memory_stat, "pagetables", pagetables),
    FIELD(struct cgroup_memory_stat, "sock", sock),
    FIELD(struct cgroup_memory_stat, "shmem", shmem),
    FIELD(struct cgroup_memory_stat, "file_mapped", file_mapped),
    FIELD(struct cgroup_memory_stat, "file_dirty", file_dirty),
    FIELD(struct cgroup_memory_stat, "file_writeback", file_writeback),
    FIELD(struct cgroup_memory_stat, "swapcached", swapcached),
    FIELD(struct cgroup_memory_stat, "anon_thp", anon_thp),
    FIELD(struct cgroup_memory_stat, "inactive_anon", inactive_anon),
    FIELD(struct cgroup_memory_stat, "active_anon", active_anon),
    FIELD(struct cgroup_memory_stat, "inactive_file", inactive_file),
    FIELD(struct cgroup_memory_stat, "active_file", active_file),
    FIELD(struct cgroup_memory_stat, "unevictable", unevictable),
    FIELD(struct cgroup_memory_stat, "slab", slab),
    FIELD(struct cgroup_memory_stat, "pgfault", pgfault),
    FIELD(struct cgroup_memory_stat, "pgmajfault", pgmajfault),
    FIELD(struct cgroup_memory_stat, "workingset_refault_anon", workingset_refault_anon),
    FIELD(struct cgroup_memory_stat, "workingset_refault_file", workingset_refault_file),
};

int cgroup_memory_stat_parse(const char *buf, size_t len, struct cgroup_memory_stat *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, memory_stat_fields,
                      sizeof(memory_stat_fields) / sizeof(memory_stat_fields[0]), out, &out->valid);
    if (rc < 0) {
        return rc;
    }
    /* cgroup v1 memory.stat has "rss" and "cache" but no "anon"/"file": not this format. */
    return (out->valid & 3u) == 3u ? 0 : -CORE_EPARSE;
}

static const struct proc_field memory_events_fields[] = {
    FIELD(struct cgroup_memory_events, "low", low),
    FIELD(struct cgroup_memory_events, "high", high),
    FIELD(struct cgroup_memory_events, "max", max),
    FIELD(struct cgroup_memory_events, "oom", oom),
    FIELD(struct cgroup_memory_events, "oom_kill", oom_kill),
    FIELD(struct cgroup_memory_events, "oom_group_kill", oom_group_kill),
};

int cgroup_memory_events_parse(const char *buf, size_t len, struct cgroup_memory_events *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    rc = proc_kv_fill(buf, len, memory_events_fields,
                      sizeof(memory_events_fields) / sizeof(memory_events_fields[0]), out,
                      &out->valid);
    if (rc < 0) {
        return rc;
    }
    return (out->valid & 0x1fu) == 0x1fu ? 0 : -CORE_EPARSE;
}

/*============================== /proc/stat ============================== */

static int parse_cpu_line(struct cur *c, struct proc_cpu_times *t) {
    uint64_t *slots[] = {&t->user, &t->nice,    &t->system, &t->idle,  &t->iowait,
                         &t->irq,  &t->softirq, &t->steal,  &t->guest, &t->guest_nice};
    int n = 0, rc;

    while (!at_eol(c)) {
        uint64_t v;
        rc = cur_u64(c, &v);
        if (rc < 0) {
            return rc;
        }
        if (c->p < c->end && !is_blank(*c->p) && *c->p != '\n') {
            return -CORE_EPARSE;
        }
        if (n < 10) {
            *slots[n] = v;
        }
        n++;
    }
    if (n < 4) {
        return -CORE_EPARSE;
    }
    t->nfields = n < 10 ? n : 10;
    return 0;
}

int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out) {
    struct cur c = {buf, buf + len};
    static const struct {
        const char *key;
        uint64_t bit;
        size_t off;
    } scalars[] = {
        {"ctxt ", PROC_STAT_CTXT, offsetof(struct proc_stat, ctxt)},
        {"btime ", PROC_STAT_BTIME, offsetof(struct proc_stat, btime)},
        {"processes ", PROC_STAT_PROCESSES, offsetof(struct proc_stat, processes)},
        {"procs_running ", PROC_STAT_RUNNING, offsetof(struct proc_stat, procs_running)},
        {"procs_blocked ", PROC_STAT_BLOCKED, offsetof(struct proc_stat, procs_blocked)},
    };
    int rc;

    memset(&out->total, 0, sizeof(out->total));
    out->ncpus = 0;
    out->valid = 0;
    out->ctxt = out->btime = out->processes = out->procs_running = out->procs_blocked = 0;
    while (!cur_eof(&c)) {
        if (cur_lit(&c, "cpu")) {
            struct proc_cpu_times tmp, *t;
            if (c.p < c.end && is_blank(*c.p)) {
                memset(&out->total, 0, sizeof(out->total));
                out->total.id = -1;
                rc = parse_cpu_line(&c, &out->total);
                if (rc < 0) {
                    return rc;
                }
                out->valid |= PROC_STAT_TOTAL;
            } else {
                uint32_t id;
                rc = cur_u32(&c, &id);
                if (rc < 0 || id > INT32_MAX) {
                    return -CORE_EPARSE;
                }
                t = out->ncpus < out->cpus_cap && out->cpus ? &out->cpus[out->ncpus] : &tmp;
                memset(t, 0, sizeof(*t));
                t->id = (int)id;
                rc = parse_cpu_line(&c, t);
                if (rc < 0) {
                    return rc;
                }
                out->ncpus++;
            }
        } else {
            for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
                if (cur_lit(&c, scalars[i].key)) {
                    uint64_t v;
                    skip_blanks(&c);
                    rc = cur_u64(&c, &v);
                    if (rc < 0) {
                        return rc;
                    }
                    memcpy((char *)out + scalars[i].off, &v, sizeof(v));
                    out->valid |= scalars[i].bit;
                    break;
                }
            }
        }
        skip_line(&c); /* intr, softirq and anything unknown */
    }
    return (out->valid & PROC_STAT_TOTAL) ? 0 : -CORE_EPARSE;
}

/*============================== /proc/diskstats ============================== */

void proc_diskstats_init(struct proc_line_iter *it, const char *buf, size_t len) {
    it->p = buf;
    it->end = buf + len;
    it->line = 0;
}

int proc_diskstats_next(struct proc_line_iter *it, struct proc_diskstat *out) {
    struct cur c = {it->p, it->end};
    uint64_t *slots[] = {&out->rd_ios,    &out->rd_merges,  &out->rd_sectors,    &out->rd_ticks,
                         &out->wr_ios,    &out->wr_merges,  &out->wr_sectors,    &out->wr_ticks,
                         &out->in_flight, &out->io_ticks,   &out->time_in_queue, &out->dc_ios,
                         &out->dc_merges, &out->dc_sectors, &out->dc_ticks,      &out->fl_ios,
                         &out->fl_ticks};
    const char *name_end;
    int n = 0, rc;

    while (c.p < c.end && (*c.p == '\n' || is_blank(*c.p))) {
        c.p++;
    }
    if (cur_eof(&c)) {
        it->p = c.p;
        return 0;
    }
    it->line++;
    memset(out, 0, sizeof(*out));
    if ((rc = cur_u32(&c, &out->major)) < 0 || !need_blanks(&c) ||
        (rc = cur_u32(&c, &out->minor)) < 0 || !need_blanks(&c)) {
        it->p = c.end;
        return rc < 0 ? rc : -CORE_EPARSE;
    }
    name_end = token_end(&c);
    if (name_end == c.p) {
        it->p = c.end;
        return -CORE_EPARSE;
    }
    copy_name(out->name, sizeof(out->name), c.p, (size_t)(name_end - c.p));
    c.p = name_end;
    while (!at_eol(&c)) {
        uint64_t v;
        rc = cur_u64(&c, &v);
        if (rc < 0 || (c.p < c.end && !is_blank(*c.p) && *c.p != '\n')) {
            it->p = c.end;
            return rc < 0 ? rc : -CORE_EPARSE;
        }
        if (n < 17) {
            *slots[n] = v;
        }
        n++;
    }
    if (n < 11) {
        it->p = c.end;
        return -CORE_EPARSE;
    }
    out->nfields = 3 + (n < 17 ? n : 17);
    skip_line(&c);
    it->p = c.p;
    return 1;
}

int proc_disk_kind(int sysblock_dfd, const char *name) {
    char path[PROC_DISK_NAME_MAX + 8];
    size_t n = strlen(name);
    struct stat st;

    if (n == 0 || n >= PROC_DISK_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        path[i] = name[i] == '/' ? '!' : name[i];
    }
    path[n] = '\0';
    if (fstatat(sysblock_dfd, path, &st, 0) < 0) {
        return errno == ENOENT ? PROC_DISK_PARTITION : -errno;
    }
    memcpy(path + n, "/dm", 4);
    if (faccessat(sysblock_dfd, path, F_OK, 0) == 0) {
        return PROC_DISK_STACKED;
    }
    memcpy(path + n, "/md", 4);
    if (faccessat(sysblock_dfd, path, F_OK, 0) == 0) {
        return PROC_DISK_STACKED;
    }
    return PROC_DISK_WHOLE;
}

/*============================== /proc/net/dev ============================== */

void proc_netdev_init(struct proc_line_iter *it, const char *buf, size_t len) {
    struct cur c = {buf, buf + len};

    /* "Inter-|   Receive ..." and " face |bytes    packets ..." */
    for (int i = 0; i < 2 && !cur_eof(&c); i++) {
        skip_line(&c);
    }
    it->p = c.p;
    it->end = c.end;
    it->line = 2;
}

int proc_netdev_next(struct proc_line_iter *it, struct proc_netdev *out) {
    struct cur c = {it->p, it->end};
    uint64_t *slots[] = {
        &out->rx_bytes, &out->rx_packets, &out->rx_errs,       &out->rx_drop,
        &out->rx_fifo,  &out->rx_frame,   &out->rx_compressed, &out->rx_multicast,
        &out->tx_bytes, &out->tx_packets, &out->tx_errs,       &out->tx_drop,
        &out->tx_fifo,  &out->tx_colls,   &out->tx_carrier,    &out->tx_compressed};
    const char *name;
    int rc;

    while (c.p < c.end && (*c.p == '\n' || is_blank(*c.p))) {
        c.p++;
    }
    if (cur_eof(&c)) {
        it->p = c.p;
        return 0;
    }
    it->line++;
    memset(out, 0, sizeof(*out));
    name = c.p;
    while (c.p < c.end && *c.p != ':' && *c.p != '\n' && !is_blank(*c.p)) {
        c.p++;
    }
    if (c.p == name || c.p >= c.end || *c.p != ':') {
        it->p = c.end;
        return -CORE_EPARSE;
    }
    copy_name(out->name, sizeof(out->name), name, (size_t)(c.p - name));
    c.p++;
    for (int i = 0; i < 16; i++) {
        skip_blanks(&c); /* old kernels print "eth0:123" with no blank after the colon */
        rc = cur_u64(&c, slots[i]);
        if (rc < 0) {
            it->p = c.end;
            return rc;
        }
        if (c.p < c.end && !is_blank(*c.p) && *c.p != '\n') {
            it->p = c.end;
            return -CORE_EPARSE;
        }
    }
    if (!at_eol(&c)) {
        it->p = c.end;
        return -CORE_EPARSE;
    }
    skip_line(&c);
    it->p = c.p;
    return 1;
}

/*============================== pressure ============================== */

static int parse_psi_line(struct cur *c, struct proc_psi_line *l) {
    int rc;

    if (!need_blanks(c) || !cur_lit(c, "avg10=") || (rc = cur_centi(c, &l->avg10)) < 0 ||
        !need_blanks(c) || !cur_lit(c, "avg60=") || (rc = cur_centi(c, &l->avg60)) < 0 ||
        !need_blanks(c) || !cur_lit(c, "avg300=") || (rc = cur_centi(c, &l->avg300)) < 0 ||
        !need_blanks(c) || !cur_lit(c, "total=") || (rc = cur_u64(c, &l->total_us)) < 0) {
        return -CORE_EPARSE;
    }
    return at_eol(c) ? 0 : -CORE_EPARSE;
}

int proc_psi_parse(const char *buf, size_t len, struct proc_psi *out) {
    struct cur c = {buf, buf + len};
    int rc;

    memset(out, 0, sizeof(*out));
    while (!cur_eof(&c)) {
        if (*c.p == '\n') {
            c.p++;
            continue;
        }
        if (cur_lit(&c, "some")) {
            if (out->has_some) {
                return -CORE_EPARSE;
            }
            rc = parse_psi_line(&c, &out->some);
            out->has_some = true;
        } else if (cur_lit(&c, "full")) { /* lowercase: the kernel never writes "Full" */
            if (out->has_full) {
                return -CORE_EPARSE;
            }
            rc = parse_psi_line(&c, &out->full);
            out->has_full = true;
        } else {
            return -CORE_EPARSE;
        }
        if (rc < 0) {
            return rc;
        }
        skip_line(&c);
    }
    return out->has_some || out->has_full ? 0 : -CORE_EPARSE;
}

/*============================== /proc/loadavg ============================== */

int proc_loadavg_parse(const char *buf, size_t len, struct proc_loadavg *out) {
    struct cur c = {buf, buf + len};

    if (cur_centi(&c, &out->load1) < 0 || !need_blanks(&c) || cur_centi(&c, &out->load5) < 0 ||
        !need_blanks(&c) || cur_centi(&c, &out->load15) < 0 || !need_blanks(&c) ||
        cur_u32(&c, &out->running) < 0 || !cur_lit(&c, "/") || cur_u32(&c, &out->total) < 0 ||
        !need_blanks(&c) || cur_u32(&c, &out->last_pid) < 0 || !at_eol(&c)) {
        return -CORE_EPARSE;
    }
    return 0;
}
