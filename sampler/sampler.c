/* sampler.c: the sampling engine (see sampler.h): host collectors, per-VM collectors, the
 * journal rows. Files are opened once per entity and re-read with pread; nothing is allocated
 * per tick once the set of VMs, threads, disks and NICs is stable.
 * SPDX-License-Identifier: MIT */
#include "sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "core_error.h"
#include "journal_writer.h"
#include "proc_parse.h"
#include "rate.h"
#include "sampler_internal.h"
#include "source_internal.h"
#include "xalloc.h"

#define BUF_SIZE        (256 * 1024)
#define STATUS_EVERY    5 /* ticks between reads of /proc/PID/status */
#define SMALL_BUF       4096
#define QMP_BACKOFF_MAX 32 /* ticks a QMP socket that keeps timing out rests at most */

/*============================== schemas and entities ============================== */

#define X_NAME(e, n) n,
static const char *const host_names[] = {HOST_FIELDS(X_NAME)};
static const char *const host_cpu_names[] = {HOST_CPU_FIELDS(X_NAME)};
static const char *const host_disk_names[] = {HOST_DISK_FIELDS(X_NAME)};
static const char *const host_nic_names[] = {HOST_NIC_FIELDS(X_NAME)};
static const char *const vm_names[] = {VM_FIELDS(X_NAME)};
static const char *const vcpu_names[] = {VCPU_FIELDS(X_NAME)};
static const char *const vm_nic_names[] = {VM_NIC_FIELDS(X_NAME)};
static const char *const vm_disk_names[] = {VM_DISK_FIELDS(X_NAME)};
#undef X_NAME

static unsigned collector_bit(const char *c) {
    static const struct {
        const char *name;
        unsigned bit;
    } map[] = {{"cpu", COLL_CPU},   {"mem", COLL_MEM},  {"disk", COLL_DISK},
               {"net", COLL_NET},   {"io", COLL_IO},    {"pressure", COLL_PRESSURE},
               {"host", COLL_HOST}, {"perf", COLL_PERF}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (c && strcmp(c, map[i].name) == 0) {
            return map[i].bit;
        }
    }
    return 0;
}

static void schema_build(struct schema *sc, enum metric_scope scope, const char *const *names,
                         size_t n, unsigned coll) {
    size_t count;
    const struct metric_def *defs = catalogue_all(&count);

    sc->scope = scope;
    sc->nfields = n;
    sc->names = names;
    sc->slot = xmalloc(n * sizeof(*sc->slot));
    sc->ids = xmalloc((n + 1) * sizeof(*sc->ids));
    sc->kind = xmalloc(n + 1);
    sc->ncat = count;
    sc->slot_of = xmalloc(count * sizeof(*sc->slot_of));
    for (size_t i = 0; i < count; i++) {
        sc->slot_of[i] = -1;
    }
    sc->n = 0;
    for (size_t i = 0; i < n; i++) {
        int id = catalogue_find(names[i]);
        sc->slot[i] = -1;
        if (id < 0 || !(collector_bit(defs[id].collector) & coll)) {
            continue;
        }
        sc->slot[i] = (int16_t)sc->n;
        sc->slot_of[id] = (int16_t)sc->n;
        sc->ids[sc->n] = (uint32_t)id;
        sc->kind[sc->n] = (uint8_t)defs[id].kind;
        sc->n++;
    }
}

static void schema_free(struct schema *sc) {
    free(sc->slot);
    free(sc->slot_of);
    free(sc->ids);
    free(sc->kind);
}

static void ent_init(struct ent *e, const struct schema *sc, const char *key) {
    memset(e, 0, sizeof(*e));
    e->sc = sc;
    e->cur = xcalloc(sc->n + 1, sizeof(*e->cur));
    e->prev = xcalloc(sc->n + 1, sizeof(*e->prev));
    e->prev_mono = xcalloc(sc->n + 1, sizeof(*e->prev_mono));
    /* Keys are built from bounded names; an over-long one is cut, never overrun. */
    size_t n = strnlen(key, sizeof(e->key) - 1);
    memcpy(e->key, key, n);
    e->key[n] = '\0';
}

static void ent_fini(struct ent *e) {
    free(e->cur);
    free(e->prev);
    free(e->prev_mono);
    e->cur = e->prev = NULL;
    e->prev_mono = NULL;
}

/* Forgets e's earlier samples (the same key now names a new object, e.g. a re-plugged vCPU). */
static void ent_forget(struct ent *e) {
    e->has_prev = false;
    memset(e->prev, 0, (e->sc->n + 1) * sizeof(*e->prev)); /* JV_MISSING == 0 */
}

/* Starts a tick for e: each value read last tick (at cur_mono) becomes its slot's previous
 * sample; a slot not read then keeps its older one, so a counter read only every Nth tick
 * (--daemon-interval) or missed once is derived over the span since its last reading. cur is
 * all missing afterwards. */
static void ent_begin(struct ent *e, int64_t cur_mono) {
    if (e->sampled) {
        for (size_t i = 0; i < e->sc->n; i++) {
            if (e->cur[i].type != JV_MISSING) {
                e->prev[i] = e->cur[i];
                e->prev_mono[i] = cur_mono;
            }
        }
        e->has_prev = true;
    }
    memset(e->cur, 0, (e->sc->n + 1) * sizeof(*e->cur)); /* JV_MISSING == 0 */
    e->sampled = false;
}

void sampler__set_u(struct ent *e, int f, uint64_t v) {
    int s = e->sc->slot[f];
    if (s >= 0) {
        e->cur[s].type = JV_INT;
        e->cur[s].u = v;
    }
    e->sampled = true;
}

void sampler__set_d(struct ent *e, int f, double v) {
    int s = e->sc->slot[f];
    if (s >= 0) {
        e->cur[s].type = JV_REAL;
        e->cur[s].d = v;
    }
    e->sampled = true;
}

bool sampler__value(const struct sampler *s, const struct ent *e, int f, double *out) {
    int sl = e->sc->slot[f];
    if (sl < 0 || !e->sampled) {
        return false;
    }
    const struct journal_value *p =
        e->has_prev && e->prev[sl].type != JV_MISSING ? &e->prev[sl] : NULL;
    return rate_derive((enum metric_kind)e->sc->kind[sl], p, e->prev_mono[sl], e->prev_mono[sl],
                       &e->cur[sl], s->t_mono, s->t_mono, out) == RATE_OK;
}

static void gone_push(struct sampler *s, struct ent *e) {
    if (e->jlive) {
        s->gone = xgrow(s->gone, &s->capgone, s->ngone + 1, sizeof(*s->gone));
        s->gone[s->ngone++] = e->jid;
        e->jlive = false;
    }
}

/*============================== key/value maps ============================== */

struct kvmap {
    const char *key;
    int field;
    bool kb; /* value in kB: × 1024 */
};

static int kvmap_cmp(const void *a, const void *b) {
    return strcmp(((const struct kvmap *)a)->key, ((const struct kvmap *)b)->key);
}

static const struct kvmap *kvmap_find(const struct kvmap *m, size_t n, const char *k, size_t kl) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(m[mid].key, k, kl);
        if (c == 0 && m[mid].key[kl] != '\0') {
            c = 1;
        }
        if (c == 0) {
            return &m[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Fills e from a key/value file through a sorted map. */
static void kvmap_fill(struct ent *e, const struct kvmap *m, size_t n, const char *buf,
                       size_t len) {
    struct proc_kv_iter it;
    struct proc_kv kv;
    int r;

    proc_kv_init(&it, buf, len);
    while ((r = proc_kv_next(&it, &kv)) != 0) {
        if (r < 0) {
            continue;
        }
        const struct kvmap *x = kv.has_value ? kvmap_find(m, n, kv.key, kv.key_len) : NULL;
        if (x) {
            sampler__set_u(e, x->field, x->kb ? kv.value * 1024 : kv.value);
        }
    }
}

#define KV(k, f, kb)                                                                               \
    { k, f, kb }
static struct kvmap meminfo_map[] = {
    KV("MemTotal", H_MEM_TOTAL, 1),
    KV("MemFree", H_MEM_FREE, 1),
    KV("MemAvailable", H_MEM_AVAILABLE, 1),
    KV("Buffers", H_MEM_BUFFERS, 1),
    KV("Cached", H_MEM_CACHED, 1),
    KV("SwapCached", H_MEM_SWAP_CACHED, 1),
    KV("Active", H_MEM_ACTIVE, 1),
    KV("Inactive", H_MEM_INACTIVE, 1),
    KV("Active(anon)", H_MEM_ACTIVE_ANON, 1),
    KV("Inactive(anon)", H_MEM_INACTIVE_ANON, 1),
    KV("Active(file)", H_MEM_ACTIVE_FILE, 1),
    KV("Inactive(file)", H_MEM_INACTIVE_FILE, 1),
    KV("Unevictable", H_MEM_UNEVICTABLE, 1),
    KV("Mlocked", H_MEM_MLOCKED, 1),
    KV("SwapTotal", H_MEM_SWAP_TOTAL, 1),
    KV("SwapFree", H_MEM_SWAP_FREE, 1),
    KV("Dirty", H_MEM_DIRTY, 1),
    KV("Writeback", H_MEM_WRITEBACK, 1),
    KV("AnonPages", H_MEM_ANON_PAGES, 1),
    KV("Mapped", H_MEM_MAPPED, 1),
    KV("Shmem", H_MEM_SHMEM, 1),
    KV("KReclaimable", H_MEM_KRECLAIMABLE, 1),
    KV("Slab", H_MEM_SLAB, 1),
    KV("SReclaimable", H_MEM_SRECLAIMABLE, 1),
    KV("SUnreclaim", H_MEM_SUNRECLAIM, 1),
    KV("KernelStack", H_MEM_KERNEL_STACK, 1),
    KV("PageTables", H_MEM_PAGE_TABLES, 1),
    KV("CommitLimit", H_MEM_COMMIT_LIMIT, 1),
    KV("Committed_AS", H_MEM_COMMITTED_AS, 1),
    KV("VmallocUsed", H_MEM_VMALLOC_USED, 1),
    KV("Percpu", H_MEM_PERCPU, 1),
    KV("HardwareCorrupted", H_MEM_HW_CORRUPTED, 1),
    KV("AnonHugePages", H_MEM_ANON_HUGE, 1),
    KV("ShmemHugePages", H_MEM_SHMEM_HUGE, 1),
    KV("HugePages_Total", H_MEM_HP_TOTAL, 0),
    KV("HugePages_Free", H_MEM_HP_FREE, 0),
    KV("HugePages_Rsvd", H_MEM_HP_RSVD, 0),
    KV("HugePages_Surp", H_MEM_HP_SURP, 0),
    KV("Hugepagesize", H_MEM_HP_SIZE, 1),
    KV("Hugetlb", H_MEM_HUGETLB, 1),
};

static struct kvmap status_map[] = {
    KV("VmRSS", V_MEM_RSS, 1),        KV("RssAnon", V_MEM_RSS_ANON, 1),
    KV("RssFile", V_MEM_RSS_FILE, 1), KV("RssShmem", V_MEM_RSS_SHMEM, 1),
    KV("VmHWM", V_MEM_RSS_PEAK, 1),   KV("VmSwap", V_MEM_SWAP, 1),
    KV("VmSize", V_MEM_VIRT, 1),      KV("VmPTE", V_MEM_PAGE_TABLES, 1),
};

static struct kvmap io_map[] = {
    KV("rchar", V_IO_RCHAR, 0),
    KV("wchar", V_IO_WCHAR, 0),
    KV("syscr", V_IO_SYSCR, 0),
    KV("syscw", V_IO_SYSCW, 0),
    KV("read_bytes", V_IO_READ_BYTES, 0),
    KV("write_bytes", V_IO_WRITE_BYTES, 0),
    KV("cancelled_write_bytes", V_IO_CANCELLED, 0),
};

static struct kvmap cg_cpu_map[] = {
    KV("usage_usec", V_CG_USAGE, 0),       KV("user_usec", V_CG_USER, 0),
    KV("system_usec", V_CG_SYSTEM, 0),     KV("nr_periods", V_CG_PERIODS, 0),
    KV("nr_throttled", V_CG_THROTTLED, 0), KV("throttled_usec", V_CG_THROTTLED_USEC, 0),
};

static struct kvmap cg_mem_stat_map[] = {
    KV("anon", V_CGM_ANON, 0),
    KV("file", V_CGM_FILE, 0),
    KV("kernel_stack", V_CGM_KERNEL_STACK, 0),
    KV("pagetables", V_CGM_PAGETABLES, 0),
    KV("sock", V_CGM_SOCK, 0),
    KV("shmem", V_CGM_SHMEM, 0),
    KV("file_mapped", V_CGM_FILE_MAPPED, 0),
    KV("file_dirty", V_CGM_FILE_DIRTY, 0),
    KV("file_writeback", V_CGM_FILE_WRITEBACK, 0),
    KV("swapcached", V_CGM_SWAPCACHED, 0),
    KV("anon_thp", V_CGM_ANON_THP, 0),
    KV("inactive_anon", V_CGM_INACTIVE_ANON, 0),
    KV("active_anon", V_CGM_ACTIVE_ANON, 0),
    KV("inactive_file", V_CGM_INACTIVE_FILE, 0),
    KV("active_file", V_CGM_ACTIVE_FILE, 0),
    KV("unevictable", V_CGM_UNEVICTABLE, 0),
    KV("slab", V_CGM_SLAB, 0),
    KV("pgfault", V_CGM_PGFAULT, 0),
    KV("pgmajfault", V_CGM_PGMAJFAULT, 0),
    KV("pgscan", V_CGM_PGSCAN, 0),
    KV("pgsteal", V_CGM_PGSTEAL, 0),
    KV("workingset_refault_anon", V_CGM_WS_REFAULT_ANON, 0),
    KV("workingset_refault_file", V_CGM_WS_REFAULT_FILE, 0),
};

static struct kvmap cg_mem_events_map[] = {
    KV("low", V_CGM_EV_LOW, 0), KV("high", V_CGM_EV_HIGH, 0),         KV("max", V_CGM_EV_MAX, 0),
    KV("oom", V_CGM_EV_OOM, 0), KV("oom_kill", V_CGM_EV_OOM_KILL, 0),
};
#undef KV

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void kvmaps_sort(void) {
    static bool done;
    if (done) {
        return;
    }
    qsort(meminfo_map, NELEM(meminfo_map), sizeof(meminfo_map[0]), kvmap_cmp);
    qsort(status_map, NELEM(status_map), sizeof(status_map[0]), kvmap_cmp);
    qsort(io_map, NELEM(io_map), sizeof(io_map[0]), kvmap_cmp);
    qsort(cg_cpu_map, NELEM(cg_cpu_map), sizeof(cg_cpu_map[0]), kvmap_cmp);
    qsort(cg_mem_stat_map, NELEM(cg_mem_stat_map), sizeof(cg_mem_stat_map[0]), kvmap_cmp);
    qsort(cg_mem_events_map, NELEM(cg_mem_events_map), sizeof(cg_mem_events_map[0]), kvmap_cmp);
    done = true;
}

/*============================== small helpers ============================== */

static int open_at(int dfd, const char *path) {
    if (dfd < 0) {
        return -1;
    }
    return openat(dfd, path, O_RDONLY | O_CLOEXEC);
}

static void close_fd(int *fd) {
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

/* pread of a kept fd into the shared buffer; length or < 0. */
static int rd(struct sampler *s, int fd) {
    if (fd < 0) {
        return -EBADF;
    }
    return proc_pread(fd, s->buf, s->bufsz);
}

/* Counts CPUs in a sysfs range list "0-3,5,7-8". */
static int count_cpulist(const char *b, size_t len, uint64_t *out) {
    uint64_t n = 0;
    size_t i = 0;
    while (i < len && b[i] != '\n' && b[i] != '\0') {
        uint64_t a = 0, z;
        size_t st = i;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            a = a * 10 + (uint64_t)(b[i++] - '0');
        }
        if (i == st) {
            return -CORE_EPARSE;
        }
        z = a;
        if (i < len && b[i] == '-') {
            i++;
            z = 0;
            st = i;
            while (i < len && b[i] >= '0' && b[i] <= '9') {
                z = z * 10 + (uint64_t)(b[i++] - '0');
            }
            if (i == st || z < a) {
                return -CORE_EPARSE;
            }
        }
        n += z - a + 1;
        if (i < len && b[i] == ',') {
            i++;
        }
    }
    *out = n;
    return 0;
}

static void set_psi(struct ent *e, int base, const struct proc_psi *p) {
    /* base: the resource's SOME_AVG10 field; the 8 fields follow in PSI_FIELDS order. */
    if (p->has_some) {
        sampler__set_d(e, base + 0, p->some.avg10 / 100.0);
        sampler__set_d(e, base + 1, p->some.avg60 / 100.0);
        sampler__set_d(e, base + 2, p->some.avg300 / 100.0);
        sampler__set_u(e, base + 3, p->some.total_us);
    }
    if (p->has_full) {
        sampler__set_d(e, base + 4, p->full.avg10 / 100.0);
        sampler__set_d(e, base + 5, p->full.avg60 / 100.0);
        sampler__set_d(e, base + 6, p->full.avg300 / 100.0);
        sampler__set_u(e, base + 7, p->full.total_us);
    }
}

/*============================== host ============================== */

static struct hcpu_ent *hcpu_get(struct sampler *s, int id) {
    char key[32], path[96];
    for (size_t i = 0; i < s->nhcpus; i++) {
        if (s->hcpus[i].id == id) {
            return &s->hcpus[i];
        }
    }
    s->hcpus = xgrow(s->hcpus, &s->caphcpus, s->nhcpus + 1, sizeof(*s->hcpus));
    struct hcpu_ent *c = &s->hcpus[s->nhcpus++];
    memset(c, 0, sizeof(*c));
    c->id = id;
    snprintf(key, sizeof(key), "cpu%d", id);
    ent_init(&c->e, &s->sch[SCH_HOST_CPU], key);
    snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", id);
    c->fd_cur = open_at(s->sysfd, path);
    char b[64];
    uint64_t v;
    int n;
    snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpufreq/cpuinfo_min_freq", id);
    if (s->sysfd >= 0 && (n = proc_read_at(s->sysfd, path, b, sizeof(b))) > 0 &&
        proc_u64_parse(b, (size_t)n, &v) == 0) {
        c->fmin.type = JV_INT;
        c->fmin.u = v;
    }
    snprintf(path, sizeof(path), "devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", id);
    if (s->sysfd >= 0 && (n = proc_read_at(s->sysfd, path, b, sizeof(b))) > 0 &&
        proc_u64_parse(b, (size_t)n, &v) == 0) {
        c->fmax.type = JV_INT;
        c->fmax.u = v;
    }
    return c;
}

static void set_cpu_times(struct ent *e, int base, const struct proc_cpu_times *t) {
    const uint64_t v[10] = {t->user, t->nice,    t->system, t->idle,  t->iowait,
                            t->irq,  t->softirq, t->steal,  t->guest, t->guest_nice};
    for (int i = 0; i < 10 && i < t->nfields; i++) {
        sampler__set_u(e, base + i, v[i]);
    }
}

static void host_stat(struct sampler *s) {
    static struct proc_cpu_times *cpus;
    static size_t capcpus;
    struct proc_stat st;
    int n = rd(s, s->fd_stat);

    if (n <= 0) {
        return;
    }
    for (;;) {
        memset(&st, 0, sizeof(st));
        st.cpus = cpus;
        st.cpus_cap = capcpus;
        if (proc_stat_parse(s->buf, (size_t)n, &st) < 0) {
            return;
        }
        if (st.ncpus <= capcpus) {
            break;
        }
        cpus = xrealloc(cpus, st.ncpus * sizeof(*cpus)); /* only when CPUs appear */
        capcpus = st.ncpus;
    }
    if (s->coll & COLL_CPU) {
        struct ent *h = &s->host;
        if (st.valid & PROC_STAT_TOTAL) {
            set_cpu_times(h, H_CPU_USER, &st.total);
        }
        if (st.valid & PROC_STAT_CTXT) {
            sampler__set_u(h, H_CPU_CTXT, st.ctxt);
        }
        if (st.valid & PROC_STAT_PROCESSES) {
            sampler__set_u(h, H_CPU_FORKS, st.processes);
        }
        if (st.valid & PROC_STAT_RUNNING) {
            sampler__set_u(h, H_CPU_RUNNING, st.procs_running);
        }
        if (st.valid & PROC_STAT_BLOCKED) {
            sampler__set_u(h, H_CPU_BLOCKED, st.procs_blocked);
        }
        const char *in = strstr(s->buf, "\nintr ");
        if (in) {
            uint64_t v = 0;
            in += 6;
            if (*in >= '0' && *in <= '9') {
                while (*in >= '0' && *in <= '9') {
                    v = v * 10 + (uint64_t)(*in++ - '0');
                }
                sampler__set_u(h, H_CPU_INTR, v);
            }
        }
        for (size_t i = 0; i < st.ncpus; i++) {
            struct hcpu_ent *c = hcpu_get(s, cpus[i].id);
            c->seen = true;
            set_cpu_times(&c->e, HC_USER, &cpus[i]);
        }
    }
    if ((s->coll & COLL_HOST) && (st.valid & PROC_STAT_BTIME)) {
        sampler__set_u(&s->host, H_BOOT_TIME, st.btime);
    }
}

static void host_cpufreq(struct sampler *s) {
    char b[64];
    uint64_t v;
    for (size_t i = 0; i < s->nhcpus; i++) {
        struct hcpu_ent *c = &s->hcpus[i];
        int n;
        if (!c->seen) {
            continue;
        }
        if (c->fd_cur >= 0 && (n = proc_pread(c->fd_cur, b, sizeof(b))) > 0 &&
            proc_u64_parse(b, (size_t)n, &v) == 0) {
            sampler__set_u(&c->e, HC_FREQ_CUR, v);
        }
        if (c->fmin.type == JV_INT) {
            sampler__set_u(&c->e, HC_FREQ_MIN, c->fmin.u);
        }
        if (c->fmax.type == JV_INT) {
            sampler__set_u(&c->e, HC_FREQ_MAX, c->fmax.u);
        }
    }
}

static void host_misc(struct sampler *s) {
    struct ent *h = &s->host;
    uint64_t v;
    int n;

    if (s->coll & COLL_CPU) {
        struct proc_loadavg la;
        if ((n = rd(s, s->fd_loadavg)) > 0 && proc_loadavg_parse(s->buf, (size_t)n, &la) == 0) {
            sampler__set_d(h, H_LOAD1, la.load1 / 100.0);
            sampler__set_d(h, H_LOAD5, la.load5 / 100.0);
            sampler__set_d(h, H_LOAD15, la.load15 / 100.0);
            sampler__set_u(h, H_TASKS, la.total);
        }
        if ((n = rd(s, s->fd_online)) > 0 && count_cpulist(s->buf, (size_t)n, &v) == 0) {
            sampler__set_u(h, H_CPU_ONLINE, v);
        }
        host_cpufreq(s);
    }
    if ((s->coll & COLL_HOST) && (n = rd(s, s->fd_present)) > 0 &&
        count_cpulist(s->buf, (size_t)n, &v) == 0) {
        sampler__set_u(h, H_CORES, v);
    }
    if ((s->coll & COLL_MEM) && (n = rd(s, s->fd_meminfo)) > 0) {
        kvmap_fill(h, meminfo_map, NELEM(meminfo_map), s->buf, (size_t)n);
    }
    if (s->coll & COLL_PRESSURE) {
        static const int base[3] = {H_PSI_CPU_SOME_AVG10, H_PSI_IO_SOME_AVG10,
                                    H_PSI_MEM_SOME_AVG10};
        for (int i = 0; i < 3; i++) {
            struct proc_psi p;
            if ((n = rd(s, s->fd_psi[i])) > 0 && proc_psi_parse(s->buf, (size_t)n, &p) == 0) {
                set_psi(h, base[i], &p);
            }
        }
    }
}

static void host_disks(struct sampler *s) {
    struct proc_line_iter it;
    struct proc_diskstat d;
    int n = rd(s, s->fd_diskstats), r;

    if (n <= 0) {
        return;
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        s->disks[i].seen = false;
    }
    proc_diskstats_init(&it, s->buf, (size_t)n);
    while ((r = proc_diskstats_next(&it, &d)) != 0) {
        struct disk_ent *de = NULL;
        if (r < 0) {
            continue;
        }
        for (size_t i = 0; i < s->ndisks; i++) {
            if (strcmp(s->disks[i].name, d.name) == 0) {
                de = &s->disks[i];
                break;
            }
        }
        if (!de) {
            char key[64];
            s->disks = xgrow(s->disks, &s->capdisks, s->ndisks + 1, sizeof(*s->disks));
            de = &s->disks[s->ndisks++];
            memset(de, 0, sizeof(*de));
            snprintf(de->name, sizeof(de->name), "%s", d.name);
            de->kind = s->sysblock_fd >= 0 ? proc_disk_kind(s->sysblock_fd, d.name) : -1;
            if (de->kind < 0) {
                de->kind = PROC_DISK_WHOLE; /* no sysfs to ask: count it, as iostat would */
            }
            snprintf(key, sizeof(key), "disk/%s", d.name);
            ent_init(&de->e, &s->sch[SCH_HOST_DISK], key);
        }
        de->seen = true;
        if (de->kind == PROC_DISK_PARTITION) {
            continue; /* its whole disk counts it already */
        }
        const uint64_t v[] = {d.rd_ios,    d.rd_merges, d.rd_sectors,   d.rd_ticks,
                              d.wr_ios,    d.wr_merges, d.wr_sectors,   d.wr_ticks,
                              d.in_flight, d.io_ticks,  d.time_in_queue};
        for (int i = 0; i < 11; i++) {
            sampler__set_u(&de->e, HD_READS + i, v[i]);
        }
        if (d.nfields >= 18) {
            sampler__set_u(&de->e, HD_DISCARDS, d.dc_ios);
            sampler__set_u(&de->e, HD_DISCARDS_MERGED, d.dc_merges);
            sampler__set_u(&de->e, HD_DISCARD_SECTORS, d.dc_sectors);
            sampler__set_u(&de->e, HD_DISCARD_TIME, d.dc_ticks);
        }
        if (d.nfields >= 20) {
            sampler__set_u(&de->e, HD_FLUSHES, d.fl_ios);
            sampler__set_u(&de->e, HD_FLUSH_TIME, d.fl_ticks);
        }
    }
    for (size_t i = 0; i < s->ndisks;) {
        if (!s->disks[i].seen) {
            gone_push(s, &s->disks[i].e);
            ent_fini(&s->disks[i].e);
            s->disks[i] = s->disks[--s->ndisks];
            continue;
        }
        i++;
    }
}

/* The VM NIC whose host side is ifname, or NULL. */
static struct nic_ent *vm_nic_find(struct sampler *s, const char *ifname) {
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        for (size_t k = 0; k < v->nnics; k++) {
            if (strcmp(v->nics[k].ifname, ifname) == 0) {
                return &v->nics[k];
            }
        }
    }
    return NULL;
}

static void host_net(struct sampler *s) {
    struct proc_line_iter it;
    struct proc_netdev d;
    int n = rd(s, s->fd_netdev), r;

    if (n <= 0) {
        return;
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        s->hnics[i].seen = false;
    }
    proc_netdev_init(&it, s->buf, (size_t)n);
    while ((r = proc_netdev_next(&it, &d)) != 0) {
        if (r < 0) {
            continue;
        }
        struct nic_ent *vn = vm_nic_find(s, d.name);
        if (vn) {
            /* The guest's point of view: what a tap received, the guest sent. */
            struct ent *e = &vn->e;
            bool sw = !vn->guest_view;
            sampler__set_u(e, N_RX_BYTES, sw ? d.tx_bytes : d.rx_bytes);
            sampler__set_u(e, N_RX_PACKETS, sw ? d.tx_packets : d.rx_packets);
            sampler__set_u(e, N_RX_ERRORS, sw ? d.tx_errs : d.rx_errs);
            sampler__set_u(e, N_RX_DROPS, sw ? d.tx_drop : d.rx_drop);
            sampler__set_u(e, N_TX_BYTES, sw ? d.rx_bytes : d.tx_bytes);
            sampler__set_u(e, N_TX_PACKETS, sw ? d.rx_packets : d.tx_packets);
            sampler__set_u(e, N_TX_ERRORS, sw ? d.rx_errs : d.tx_errs);
            sampler__set_u(e, N_TX_DROPS, sw ? d.rx_drop : d.tx_drop);
            continue;
        }
        struct hnic_ent *h = NULL;
        for (size_t i = 0; i < s->nhnics; i++) {
            if (strcmp(s->hnics[i].name, d.name) == 0) {
                h = &s->hnics[i];
                break;
            }
        }
        if (!h) {
            char key[64], path[96];
            s->hnics = xgrow(s->hnics, &s->caphnics, s->nhnics + 1, sizeof(*s->hnics));
            h = &s->hnics[s->nhnics++];
            memset(h, 0, sizeof(*h));
            snprintf(h->name, sizeof(h->name), "%s", d.name);
            snprintf(key, sizeof(key), "nic/%s", d.name);
            ent_init(&h->e, &s->sch[SCH_HOST_NIC], key);
            snprintf(path, sizeof(path), "class/net/%s/speed", d.name);
            h->fd_speed = open_at(s->sysfd, path);
        }
        h->seen = true;
        const uint64_t v[16] = {d.rx_bytes, d.rx_packets, d.rx_errs,       d.rx_drop,
                                d.rx_fifo,  d.rx_frame,   d.rx_compressed, d.rx_multicast,
                                d.tx_bytes, d.tx_packets, d.tx_errs,       d.tx_drop,
                                d.tx_fifo,  d.tx_colls,   d.tx_carrier,    d.tx_compressed};
        for (int i = 0; i < 16; i++) {
            sampler__set_u(&h->e, HN_RX_BYTES + i, v[i]);
        }
        if (h->fd_speed >= 0 && s->ticks >= h->speed_due) {
            char b[32];
            int k = proc_pread(h->fd_speed, b, sizeof(b));
            uint64_t sp;
            /* -1 (unknown) or EINVAL (link down, or a virtual device) stays missing */
            h->speed_known = k > 0 && b[0] != '-' && proc_u64_parse(b, (size_t)k, &sp) == 0;
            h->speed = h->speed_known ? sp : 0;
            h->speed_due = s->ticks + HNIC_SPEED_EVERY;
        }
        if (h->speed_known) {
            sampler__set_u(&h->e, HN_SPEED, h->speed);
        }
    }
    for (size_t i = 0; i < s->nhnics;) {
        if (!s->hnics[i].seen) {
            gone_push(s, &s->hnics[i].e);
            ent_fini(&s->hnics[i].e);
            close_fd(&s->hnics[i].fd_speed);
            s->hnics[i] = s->hnics[--s->nhnics];
            continue;
        }
        i++;
    }
}

/*============================== VMs ============================== */

struct linux_dirent64_ {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static void classify(struct thr *t, const char *comm) {
    t->vcpu = -1;
    t->provisional = false;
    if (strncmp(comm, "CPU ", 4) == 0 && comm[4] >= '0' && comm[4] <= '9') {
        const char *p = comm + 4;
        int32_t n = 0;
        while (*p >= '0' && *p <= '9' && n < 1000000) {
            n = n * 10 + (*p++ - '0');
        }
        if (*p == '/') {
            t->group = G_VCPU;
            t->vcpu = n;
            return;
        }
    }
    if (strncmp(comm, "vhost-", 6) == 0) {
        t->group = G_VHOST;
        return;
    }
    t->group = G_OTHER;
    /* A new thread carries its creator's name until QEMU names it (vCPU threads included). */
    t->provisional = strncmp(comm, "qemu-system", 11) == 0 || strcmp(comm, "kvm") == 0;
}

static int read_comm(struct vm *v, int32_t tid, char *comm, size_t cap) {
    char path[48];
    int n;
    snprintf(path, sizeof(path), "task/%d/comm", (int)tid);
    n = proc_read_at(v->dfd, path, comm, cap);
    if (n <= 0) {
        return n < 0 ? n : -ENOENT;
    }
    if (comm[n - 1] == '\n') {
        comm[n - 1] = '\0';
    }
    return 0;
}

/* A thread leaves group g: the group total keeps what it ran. */
static void thr_retire(struct vm *v, struct thr *t) {
    v->adj_run[t->group] += (int64_t)t->run;
    v->adj_wait[t->group] += (int64_t)t->wait;
    v->adj_blkio += (int64_t)t->blkio;
}

/* A thread joins group g with counters already at run/wait: not run in this group's past. */
static void thr_enroll(struct vm *v, struct thr *t) {
    v->adj_run[t->group] -= (int64_t)t->run;
    v->adj_wait[t->group] -= (int64_t)t->wait;
    v->adj_blkio -= (int64_t)t->blkio;
}

static void thr_close(struct thr *t) {
    close_fd(&t->fd_sched);
    close_fd(&t->fd_stat);
}

/* A thread exited: its group keeps its share. A vCPU thread known only from query-cpus-fast
 * that goes away (unplugged, or a stale answer) makes the sampler ask QMP again. */
static void thr_gone(struct vm *v, struct thr *t) {
    if (t->group == G_VCPU && v->nvmap > 0) {
        v->cpus_want = true;
    }
    thr_retire(v, t);
    thr_close(t);
}

/* Puts t into the vCPU group when query-cpus-fast named its TID (several vCPUs on one thread,
 * as with single-threaded TCG: the lowest index). first: the VM had no vCPU thread, so its
 * vcpu_* values were missing: t brings its whole run time; otherwise only its future counts
 * there (its past stays where it ran, as for a renamed thread). Returns whether t is a vCPU. */
static bool thr_map_vcpu(struct vm *v, struct thr *t, bool first) {
    int32_t idx = -1;
    for (size_t i = 0; i < v->nvmap; i++) {
        if (v->vmap[i].thread_id == t->tid && (idx < 0 || v->vmap[i].cpu_index < idx)) {
            idx = v->vmap[i].cpu_index;
        }
    }
    if (idx < 0) {
        return false;
    }
    if (t->group != G_VCPU) {
        /* its old group keeps what it ran there (blkio is per VM: unchanged) */
        v->adj_run[t->group] += (int64_t)t->run;
        v->adj_wait[t->group] += (int64_t)t->wait;
        t->group = G_VCPU;
        if (!first) {
            v->adj_run[G_VCPU] -= (int64_t)t->run;
            v->adj_wait[G_VCPU] -= (int64_t)t->wait;
        }
    }
    t->vcpu = idx;
    t->provisional = false; /* named like the main thread for good: never re-read */
    return true;
}

/* Whether thread t was created after the previous tick (stat field 22 vs CLOCK_BOOTTIME). Reads
 * its current counters into t either way. */
static bool thr_is_new(struct sampler *s, struct vm *v, struct thr *t) {
    char path[48], b[1024];
    struct proc_pid_stat st;
    struct proc_schedstat ss;
    int n = proc_pread(t->fd_sched, b, sizeof(b));

    if (n > 0 && proc_schedstat_parse(b, (size_t)n, &ss) == 0) {
        t->run = ss.run_ns;
        t->wait = ss.wait_ns;
    }
    snprintf(path, sizeof(path), "task/%d/stat", (int)t->tid);
    n = proc_read_at(v->dfd, path, b, sizeof(b));
    if (n <= 0 || proc_pid_stat_parse(b, (size_t)n, &st) < 0 || s->prev_boot <= 0) {
        return true;
    }
    int64_t start_ns = (int64_t)st.starttime * (1000000000 / s->clk_tck);
    return start_ns >= s->prev_boot - 2 * (1000000000 / s->clk_tck);
}

/* Lists /proc/PID/task: adds new threads, re-reads names of provisional ones. */
static void vm_scan_tasks(struct sampler *s, struct vm *v) {
    static char dents[16384];
    char path[64];
    int tfd = openat(v->dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long nread;

    v->rescan = false;
    if (tfd < 0) {
        return;
    }
    for (size_t i = 0; i < v->nthr; i++) {
        v->thr[i].seen = false;
    }
    while ((nread = syscall(SYS_getdents64, tfd, dents, sizeof(dents))) > 0) {
        for (long off = 0; off < nread;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(void *)(dents + off);
            off += d->d_reclen;
            if (d->d_name[0] < '1' || d->d_name[0] > '9') {
                continue;
            }
            int32_t tid = (int32_t)strtol(d->d_name, NULL, 10);
            struct thr *t = NULL;
            for (size_t i = 0; i < v->nthr; i++) {
                if (v->thr[i].tid == tid) {
                    t = &v->thr[i];
                    break;
                }
            }
            char comm[64];
            if (t) {
                t->seen = true;
                if (t->provisional && read_comm(v, tid, comm, sizeof(comm)) == 0) {
                    struct thr old = *t;
                    classify(t, comm);
                    if (t->group != old.group) {
                        /* renamed (e.g. into "CPU 0/KVM"): move its past to the new group */
                        thr_retire(v, &old);
                        thr_enroll(v, t);
                    }
                }
                continue;
            }
            if (read_comm(v, tid, comm, sizeof(comm)) < 0) {
                continue;
            }
            v->thr = xgrow(v->thr, &v->capthr, v->nthr + 1, sizeof(*v->thr));
            t = &v->thr[v->nthr];
            memset(t, 0, sizeof(*t));
            t->tid = tid;
            t->seen = true;
            t->fd_stat = -1;
            snprintf(path, sizeof(path), "task/%d/schedstat", (int)tid);
            t->fd_sched = open_at(v->dfd, path);
            if (t->fd_sched < 0) {
                continue;
            }
            if (s->delayacct && (s->coll & COLL_IO)) {
                snprintf(path, sizeof(path), "task/%d/stat", (int)tid);
                t->fd_stat = open_at(v->dfd, path);
            }
            classify(t, comm);
            if (t->group == G_OTHER && v->nvmap > 0) {
                (void)thr_map_vcpu(v, t, true); /* counters not read yet: nothing to move */
            }
            v->nthr++;
            /* A thread that appears after the VM was first seen and was created since the last
             * tick ran only within the interval: its whole time counts for its group. One that
             * is older (missed before, e.g. a read raced with its creation) starts a baseline
             * instead, so its past is never counted as if it ran in one interval. */
            bool fresh = v->ticks == 0 || thr_is_new(s, v, t);
            if (!fresh) {
                thr_enroll(v, t);
            }
            if (s->debug) {
                fprintf(stderr, "dbg vm %d tick %llu add tid %d '%s' g%d %s run %llu wait %llu\n",
                        (int)v->src.pid, (unsigned long long)v->ticks, (int)tid, comm, t->group,
                        fresh ? "new" : "old", (unsigned long long)t->run,
                        (unsigned long long)t->wait);
            }
        }
    }
    close(tfd);
    for (size_t i = 0; i < v->nthr;) {
        if (!v->thr[i].seen) {
            thr_gone(v, &v->thr[i]);
            v->thr[i] = v->thr[--v->nthr];
            continue;
        }
        i++;
    }
}

static struct vcpu_ent *vcpu_get(struct sampler *s, struct vm *v, int32_t idx, int32_t tid) {
    char key[512];
    for (size_t i = 0; i < v->nvcpus; i++) {
        struct vcpu_ent *c = &v->vcpus[i];
        if (c->idx == idx) {
            if (c->tid != tid) { /* vCPU unplugged and plugged again: a new thread */
                gone_push(s, &c->e);
                c->tid = tid;
                ent_forget(&c->e);
            }
            return c;
        }
    }
    v->vcpus = xgrow(v->vcpus, &v->capvcpus, v->nvcpus + 1, sizeof(*v->vcpus));
    struct vcpu_ent *c = &v->vcpus[v->nvcpus++];
    memset(c, 0, sizeof(*c));
    c->idx = idx;
    c->tid = tid;
    snprintf(key, sizeof(key), "%s/vcpu%d", v->e.key, (int)idx);
    ent_init(&c->e, &s->sch[SCH_VCPU], key);
    return c;
}

static void vm_cpu(struct sampler *s, struct vm *v, uint64_t nthreads) {
    uint64_t run[G__N] = {0}, wait[G__N] = {0}, count[G__N] = {0};
    int64_t blkio = 0;
    bool blkio_ok = s->delayacct && (s->coll & COLL_IO);
    char b[512];

    if (v->rescan || nthreads != v->nthr || v->ticks == 0 || (v->ticks % 10 == 0 && v->nthr > 0)) {
        vm_scan_tasks(s, v);
    }
    for (size_t i = 0; i < v->nvcpus; i++) {
        v->vcpus[i].seen = false;
    }
    for (size_t i = 0; i < v->nthr;) {
        struct thr *t = &v->thr[i];
        struct proc_schedstat ss;
        int n = proc_pread(t->fd_sched, b, sizeof(b));
        if (n < 0 && n != -ESRCH && n != -ENOENT) {
            /* a transient failure: the thread keeps its last values this tick */
            run[t->group] += t->run;
            wait[t->group] += t->wait;
            count[t->group]++;
            blkio += (int64_t)t->blkio;
            i++;
            continue;
        }
        if (n <= 0 || proc_schedstat_parse(b, (size_t)n, &ss) < 0) {
            /* exited since the last scan: it keeps its last values in the group's sum */
            thr_gone(v, t);
            *t = v->thr[--v->nthr];
            v->rescan = true;
            continue;
        }
        /* An exiting thread can read lower for a moment; a group sum never goes back. */
        if (ss.run_ns >= t->run) {
            t->run = ss.run_ns;
        }
        if (ss.wait_ns >= t->wait) {
            t->wait = ss.wait_ns;
        }
        if (blkio_ok && t->fd_stat >= 0) {
            struct proc_pid_stat st;
            n = proc_pread(t->fd_stat, b, sizeof(b));
            if (n > 0 && proc_pid_stat_parse(b, (size_t)n, &st) == 0 && st.nfields >= 42) {
                t->blkio = st.delayacct_blkio_ticks;
            }
        }
        run[t->group] += t->run;
        wait[t->group] += t->wait;
        count[t->group]++;
        blkio += (int64_t)t->blkio;
        if (t->vcpu >= 0 && (s->coll & COLL_CPU)) {
            struct vcpu_ent *c = vcpu_get(s, v, t->vcpu, t->tid);
            c->seen = true;
            sampler__set_u(&c->e, C_RUN, t->run);
            sampler__set_u(&c->e, C_WAIT, t->wait);
        }
        i++;
    }
    if (s->debug) {
        fprintf(stderr, "dbg vm %d tick %llu vcpu run %llu %lld wait %llu %lld n %llu\n",
                (int)v->src.pid, (unsigned long long)v->ticks, (unsigned long long)run[G_VCPU],
                (long long)v->adj_run[G_VCPU], (unsigned long long)wait[G_VCPU],
                (long long)v->adj_wait[G_VCPU], (unsigned long long)count[G_VCPU]);
    }
    /* vCPU threads are known by their names (with debug-threads=on, none yet is a real 0) or
     * from query-cpus-fast; otherwise vcpu_* stay missing (never a guessed 0) and other_* hold
     * the whole process. */
    if (count[G_VCPU] > 0) {
        v->vcpu_from = v->nvmap > 0 ? VCPU_FROM_QMP : VCPU_FROM_NAMES;
    } else {
        v->vcpu_from = v->src.debug_threads ? VCPU_FROM_NAMES : VCPU_FROM_UNKNOWN;
    }
    if (v->vcpu_from == VCPU_FROM_NAMES) {
        v->cpus_want = false;
    }
    if ((s->coll & COLL_CPU) && v->vcpu_from == VCPU_FROM_UNKNOWN && !s->err[0] &&
        (!s->qmp || !v->src.qmp[0] || !v->cpus_want || (v->qs && v->qs->err[1] < 0))) {
        snprintf(s->err, sizeof(s->err),
                 "vm %.64s (pid %d): vCPU threads unknown (no debug-threads=on, %s): "
                 "vm.cpu.vcpu_* missing, vm.cpu.other_* is the whole process",
                 v->src.name[0] ? v->src.name : "?", (int)v->src.pid,
                 !s->qmp          ? "QMP off"
                 : !v->src.qmp[0] ? "no QMP socket"
                                  : "no query-cpus-fast answer");
    }
    if (s->coll & COLL_CPU) {
        static const int f[G__N][3] = {{V_VCPU_RUN, V_VCPU_WAIT, V_VCPU_THREADS},
                                       {V_OTHER_RUN, V_OTHER_WAIT, V_OTHER_THREADS},
                                       {V_VHOST_RUN, V_VHOST_WAIT, V_VHOST_THREADS}};
        for (int g = 0; g < G__N; g++) {
            if (g == G_VCPU && v->vcpu_from == VCPU_FROM_UNKNOWN) {
                continue;
            }
            int64_t r = (int64_t)run[g] + v->adj_run[g], w = (int64_t)wait[g] + v->adj_wait[g];
            sampler__set_u(&v->e, f[g][0], r > 0 ? (uint64_t)r : 0);
            sampler__set_u(&v->e, f[g][1], w > 0 ? (uint64_t)w : 0);
            sampler__set_u(&v->e, f[g][2], count[g]);
        }
    }
    if (blkio_ok) {
        int64_t t = blkio + v->adj_blkio;
        sampler__set_u(&v->e, V_IO_BLKIO_DELAY,
                       (uint64_t)(t > 0 ? t : 0) * (uint64_t)(1000000000 / s->clk_tck));
    }
    /* vCPUs whose thread went away */
    for (size_t i = 0; i < v->nvcpus;) {
        if (!v->vcpus[i].seen && (s->coll & COLL_CPU)) {
            gone_push(s, &v->vcpus[i].e);
            ent_fini(&v->vcpus[i].e);
            v->vcpus[i] = v->vcpus[--v->nvcpus];
            continue;
        }
        i++;
    }
}

static void vm_cgroup(struct sampler *s, struct vm *v) {
    int n;
    uint64_t x;
    if (v->cg_dfd < 0) {
        return;
    }
    if ((s->coll & COLL_CPU) && (n = rd(s, v->fd_cg_cpu)) > 0) {
        kvmap_fill(&v->e, cg_cpu_map, NELEM(cg_cpu_map), s->buf, (size_t)n);
    }
    if (s->coll & COLL_MEM) {
        if ((n = rd(s, v->fd_cg_mem_cur)) > 0 && proc_u64_parse(s->buf, (size_t)n, &x) == 0) {
            sampler__set_u(&v->e, V_CGM_CURRENT, x);
        }
        if ((n = rd(s, v->fd_cg_swap)) > 0 && proc_u64_parse(s->buf, (size_t)n, &x) == 0) {
            sampler__set_u(&v->e, V_CGM_SWAP_CURRENT, x);
        }
        if ((n = rd(s, v->fd_cg_mem_stat)) > 0) {
            kvmap_fill(&v->e, cg_mem_stat_map, NELEM(cg_mem_stat_map), s->buf, (size_t)n);
        }
        if ((n = rd(s, v->fd_cg_mem_events)) > 0) {
            kvmap_fill(&v->e, cg_mem_events_map, NELEM(cg_mem_events_map), s->buf, (size_t)n);
        }
    }
    if (s->coll & COLL_PRESSURE) {
        static const int base[3] = {V_PSI_CPU_SOME_AVG10, V_PSI_IO_SOME_AVG10,
                                    V_PSI_MEM_SOME_AVG10};
        for (int i = 0; i < 3; i++) {
            struct proc_psi p;
            if ((n = rd(s, v->fd_cg_psi[i])) > 0 && proc_psi_parse(s->buf, (size_t)n, &p) == 0) {
                set_psi(&v->e, base[i], &p);
            }
        }
    }
}

/* Returns false when the VM's process is gone. */
static bool vm_sample(struct sampler *s, struct vm *v) {
    struct proc_pid_stat st;
    int n = rd(s, v->fd_stat);

    if (n <= 0 || proc_pid_stat_parse(s->buf, (size_t)n, &st) < 0 ||
        st.starttime != v->src.starttime || st.state == 'Z' || st.state == 'X') {
        return false; /* exited (a zombie's threads are gone: its sums would drop) */
    }
    /* vm.cpu.* needs the threads; so does delay accounting (--io). */
    if (s->coll & (COLL_CPU | COLL_IO)) {
        vm_cpu(s, v, (uint64_t)st.num_threads);
    }
    if (s->coll & COLL_MEM) {
        sampler__set_u(&v->e, V_MEM_MINFLT, st.minflt);
        sampler__set_u(&v->e, V_MEM_MAJFLT, st.majflt);
        /* statm every tick (cheap); status, which the kernel formats at length (~7 us), every
         * STATUS_EVERY ticks for the slow-moving split (anon/file/shmem, peak, swap, page
         * tables): those fields are missing on the other ticks. */
        struct proc_statm sm;
        if ((n = rd(s, v->fd_statm)) > 0 && proc_statm_parse(s->buf, (size_t)n, &sm) == 0) {
            sampler__set_u(&v->e, V_MEM_RSS, sm.resident * (uint64_t)s->page_size);
            sampler__set_u(&v->e, V_MEM_VIRT, sm.size * (uint64_t)s->page_size);
        }
        if (v->ticks % STATUS_EVERY == 0 && (n = rd(s, v->fd_status)) > 0) {
            kvmap_fill(&v->e, status_map, NELEM(status_map), s->buf, (size_t)n);
        }
        if (v->src.mem_bytes > 0) {
            sampler__set_u(&v->e, V_MEM_CONFIGURED, (uint64_t)v->src.mem_bytes);
        }
    }
    if ((s->coll & COLL_IO) && (n = rd(s, v->fd_io)) > 0) {
        kvmap_fill(&v->e, io_map, NELEM(io_map), s->buf, (size_t)n);
    }
    vm_cgroup(s, v);
    if (v->perf) {
        uint64_t pv[PC_NCOUNTERS];
        uint32_t valid;
        perf_vm_read(v->perf, pv, &valid);
        for (int c = 0; c < PC_NCOUNTERS; c++) {
            if (valid & (1u << c)) {
                sampler__set_u(&v->e, V_PERF_CYCLES + c, pv[c]);
            }
        }
    }
    v->e.sampled = true;
    v->ticks++;
    return true;
}

/* The VM's own cgroup v2 directory: from /proc/PID/cgroup's "0::" line, accepted only when no
 * other process than the VM's is in it (the root or a shared session cgroup is not the VM's). */
static void vm_find_cgroup(struct sampler *s, struct vm *v) {
    char b[4096];
    int n;
    const char *p;

    v->cg_dfd = -1;
    if (s->cgroot_fd < 0 || (n = proc_read_at(v->dfd, "cgroup", b, sizeof(b))) <= 0) {
        return;
    }
    p = strstr(b, "0::/");
    if (p != b && (!p || p[-1] != '\n')) {
        p = NULL;
    }
    if (!p) {
        return;
    }
    p += 4;
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 0 || len >= sizeof(v->cgroup)) {
        return; /* the root cgroup is not the VM's */
    }
    memcpy(v->cgroup, p, len);
    v->cgroup[len] = '\0';
    int dfd = openat(s->cgroot_fd, v->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return;
    }
    n = proc_read_at(dfd, "cgroup.procs", b, sizeof(b));
    if (n < 0) {
        close(dfd);
        return;
    }
    for (const char *q = b; *q;) {
        long pid = strtol(q, NULL, 10);
        if (pid != v->src.pid) {
            close(dfd);
            v->cgroup[0] = '\0';
            return;
        }
        q = strchr(q, '\n');
        q = q ? q + 1 : "";
    }
    v->cg_dfd = dfd;
    v->fd_cg_cpu = open_at(dfd, "cpu.stat");
    v->fd_cg_mem_cur = open_at(dfd, "memory.current");
    v->fd_cg_mem_stat = open_at(dfd, "memory.stat");
    v->fd_cg_mem_events = open_at(dfd, "memory.events");
    v->fd_cg_swap = open_at(dfd, "memory.swap.current");
    v->fd_cg_psi[0] = open_at(dfd, "cpu.pressure");
    v->fd_cg_psi[1] = open_at(dfd, "io.pressure");
    v->fd_cg_psi[2] = open_at(dfd, "memory.pressure");
}

/* A tun/tap device has SYSFS/class/net/IF/tun_flags; a macvtap (libvirt type='direct') has not,
 * and its counters already count what the guest received as rx. An interface not there (yet)
 * is taken for a tap, the common case. */
static bool nic_is_guest_view(const struct sampler *s, const char *ifname) {
    char path[64];
    if (s->sysfd < 0) {
        return false;
    }
    snprintf(path, sizeof(path), "class/net/%s", ifname);
    if (faccessat(s->sysfd, path, F_OK, 0) != 0) {
        return false;
    }
    snprintf(path, sizeof(path), "class/net/%s/tun_flags", ifname);
    return faccessat(s->sysfd, path, F_OK, 0) != 0;
}

static struct vm *vm_open(struct sampler *s, const struct source_vm *sv) {
    char path[32], key[192];
    struct vm *v = xcalloc(1, sizeof(*v));

    v->src = *sv;
    v->cpus_want = !sv->debug_threads; /* asked in its first QMP session (if it has a socket) */
    snprintf(path, sizeof(path), "%d", (int)sv->pid);
    v->dfd = openat(s->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    v->fd_stat = open_at(v->dfd, "stat");
    v->fd_status = open_at(v->dfd, "status");
    v->fd_statm = open_at(v->dfd, "statm");
    v->fd_io = open_at(v->dfd, "io");
    v->fd_cg_cpu = v->fd_cg_mem_cur = v->fd_cg_mem_stat = v->fd_cg_mem_events = -1;
    v->fd_cg_swap = v->fd_cg_psi[0] = v->fd_cg_psi[1] = v->fd_cg_psi[2] = -1;
    vm_find_cgroup(s, v);
    /* perf counts in cgroup mode: a VM without a cgroup of its own has no counters (its
     * vm.perf.* are missing) rather than the counts of whatever shares its cgroup. */
    if ((s->coll & COLL_PERF) && v->cg_dfd >= 0) {
        (void)perf_vm_open(&s->perf, v->cg_dfd, &v->perf);
    }
    bool dup = false;
    for (size_t i = 0; i < s->nvms && sv->uuid[0]; i++) {
        dup = dup || strcmp(s->vms[i]->src.uuid, sv->uuid) == 0;
    }
    if (sv->uuid[0] && !dup) {
        snprintf(key, sizeof(key), "vm/%s", sv->uuid);
    } else if (sv->uuid[0]) {
        /* Two live VMs with one UUID (a copied config): keys must differ. */
        snprintf(key, sizeof(key), "vm/%s/pid-%d-%llu", sv->uuid, (int)sv->pid,
                 (unsigned long long)sv->starttime);
    } else {
        snprintf(key, sizeof(key), "vm/pid-%d-%llu", (int)sv->pid,
                 (unsigned long long)sv->starttime);
    }
    ent_init(&v->e, &s->sch[SCH_VM], key);
    for (size_t i = 0; i < sv->nnics && (s->coll & COLL_NET); i++) {
        char nkey[512];
        struct nic_ent *ne = &v->nics[v->nnics++];
        snprintf(ne->ifname, sizeof(ne->ifname), "%s", sv->nics[i]);
        ne->guest_view = nic_is_guest_view(s, ne->ifname);
        snprintf(nkey, sizeof(nkey), "%s/nic/%s", key, sv->nics[i]);
        ent_init(&ne->e, &s->sch[SCH_VM_NIC], nkey);
    }
    return v;
}

static void vm_close(struct sampler *s, struct vm *v) {
    for (size_t i = 0; i < v->nvcpus; i++) {
        gone_push(s, &v->vcpus[i].e);
        ent_fini(&v->vcpus[i].e);
    }
    for (size_t i = 0; i < v->nnics; i++) {
        gone_push(s, &v->nics[i].e);
        ent_fini(&v->nics[i].e);
    }
    for (size_t i = 0; i < v->nvdisks; i++) {
        gone_push(s, &v->vdisks[i].e);
        ent_fini(&v->vdisks[i].e);
    }
    free(v->vdisks);
    perf_vm_close(v->perf);
    if (v->qs) {
        qmp_vm_stats_done(v->qs);
        free(v->qs);
    }
    gone_push(s, &v->e);
    ent_fini(&v->e);
    for (size_t i = 0; i < v->nthr; i++) {
        thr_close(&v->thr[i]);
    }
    close_fd(&v->fd_stat);
    close_fd(&v->fd_status);
    close_fd(&v->fd_statm);
    close_fd(&v->fd_io);
    close_fd(&v->fd_cg_cpu);
    close_fd(&v->fd_cg_mem_cur);
    close_fd(&v->fd_cg_mem_stat);
    close_fd(&v->fd_cg_mem_events);
    close_fd(&v->fd_cg_swap);
    for (int i = 0; i < 3; i++) {
        close_fd(&v->fd_cg_psi[i]);
    }
    close_fd(&v->cg_dfd);
    close_fd(&v->dfd);
    free(v->thr);
    free(v->vcpus);
    free(v->vmap);
    free(v);
}

static void vms_reconcile(struct sampler *s) {
    for (size_t i = 0; i < s->nvms; i++) {
        s->vms[i]->seen = false;
    }
    for (size_t k = 0; k < s->nsvms; k++) {
        const struct source_vm *sv = &s->svms[k];
        bool found = false;
        for (size_t i = 0; i < s->nvms; i++) {
            struct vm *v = s->vms[i];
            if (v->src.pid == sv->pid && v->src.starttime == sv->starttime) {
                v->seen = true;
                found = true;
                break;
            }
        }
        uint64_t st;
        char state;
        if (!found && (source__pid_starttime(s->procfd, sv->pid, &st, &state) < 0 ||
                       st != sv->starttime || state == 'Z' || state == 'X')) {
            continue; /* ended since the source saw it (the source drops it later) */
        }
        if (!found) {
            s->vms = xgrow(s->vms, &s->capvms, s->nvms + 1, sizeof(*s->vms));
            s->vms[s->nvms] = vm_open(s, sv);
            s->vms[s->nvms]->seen = true;
            s->nvms++;
        }
    }
    for (size_t i = 0; i < s->nvms;) {
        if (!s->vms[i]->seen) {
            vm_close(s, s->vms[i]);
            s->vms[i] = s->vms[--s->nvms];
            continue;
        }
        i++;
    }
}

/*============================== QMP ============================== */

static struct vdisk_ent *vdisk_get(struct sampler *s, struct vm *v, const char *name) {
    char key[512];
    for (size_t i = 0; i < v->nvdisks; i++) {
        if (strcmp(v->vdisks[i].name, name) == 0) {
            return &v->vdisks[i];
        }
    }
    v->vdisks = xgrow(v->vdisks, &v->capvdisks, v->nvdisks + 1, sizeof(*v->vdisks));
    struct vdisk_ent *d = &v->vdisks[v->nvdisks++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(key, sizeof(key), "%s/disk/%s", v->e.key, name);
    ent_init(&d->e, &s->sch[SCH_VM_DISK], key);
    return d;
}

/* query-cpus-fast answered in a session: cache each vCPU's TID and move the threads it names
 * into the vCPU group. A failed query (a QEMU without it) is not asked again for this VM. */
static void vm_qmp_cpus(struct vm *v, const struct qmp_vm_stats *qs) {
    bool first = true;

    v->cpus_want = false;
    if (!(qs->ok & QMP_Q_CPUS)) {
        return;
    }
    v->vmap = xgrow(v->vmap, &v->capvmap, qs->cpus.count + 1, sizeof(*v->vmap));
    memcpy(v->vmap, qs->cpus.cpu, qs->cpus.count * sizeof(*v->vmap));
    v->nvmap = qs->cpus.count;
    for (size_t i = 0; i < v->nthr; i++) {
        first = first && v->thr[i].group != G_VCPU;
    }
    for (size_t i = 0; i < v->nthr; i++) {
        (void)thr_map_vcpu(v, &v->thr[i], first);
    }
}

/* One QMP session for v (connect, queries, disconnect, under the client's deadline). A session
 * that times out costs the whole deadline, so the socket then rests for 1, 2, 4 ... up to
 * QMP_BACKOFF_MAX ticks; an answer resets that. Other failures (no socket, refused, garbage)
 * come back at once and are retried every tick. */
static void vm_qmp(struct sampler *s, struct vm *v) {
    unsigned q = 0;
    bool due = s->ticks >= v->qmp_due_tick;
    if ((s->coll & COLL_DISK) && due) {
        q |= QMP_Q_BLOCKSTATS;
    }
    if ((s->coll & COLL_MEM) && due) {
        q |= QMP_Q_BALLOON | QMP_Q_GUEST_STATS;
    }
    if ((s->coll & COLL_CPU) && v->cpus_want) {
        q |= QMP_Q_CPUS;
    }
    if (!q) {
        return;
    }
    if (!v->qs) {
        v->qs = xcalloc(1, sizeof(*v->qs));
    }
    int r = qmp_collect(s->qmp, v->src.qmp, q, v->qs);
    if (r == -ETIMEDOUT) {
        uint64_t rest = (uint64_t)1 << (v->qmp_timeouts < 16 ? v->qmp_timeouts : 16);
        v->qmp_timeouts++;
        v->qmp_retry_tick = s->ticks + 1 + (rest < QMP_BACKOFF_MAX ? rest : QMP_BACKOFF_MAX);
    }
    if (r < 0) {
        return; /* missing for this tick */
    }
    v->qmp_timeouts = 0;
    if (q & (QMP_Q_BLOCKSTATS | QMP_Q_BALLOON)) {
        /* Next data queries: one interval on; after the first, staggered so that the VMs'
         * sessions fall on different ticks. */
        uint64_t every = s->o.daemon_every ? s->o.daemon_every : 1;
        uint64_t step = v->qmp_due_tick == 0 ? 1 + s->qmp_stagger++ % every : every;
        v->qmp_due_tick = s->ticks + step;
    }
    struct qmp_vm_stats *qs = v->qs;
    if (q & QMP_Q_CPUS) {
        vm_qmp_cpus(v, qs);
    }
    if (qs->ok & QMP_Q_BLOCKSTATS) {
        for (size_t i = 0; i < v->nvdisks; i++) {
            v->vdisks[i].seen = false;
        }
        for (size_t i = 0; i < qs->blk.count; i++) {
            const struct qmp_blockdev *b = &qs->blk.dev[i];
            const char *name = b->qdev[0] ? b->qdev : b->device[0] ? b->device : b->node_name;
            if (!name[0]) {
                continue;
            }
            struct vdisk_ent *d = vdisk_get(s, v, name);
            d->seen = true;
            for (int f = 0; f < QMP_BLK_NFIELDS && f < D__COUNT; f++) {
                if (b->valid & (1u << f)) {
                    sampler__set_u(&d->e, f, b->v[f]);
                }
            }
            d->e.sampled = true;
        }
        for (size_t i = 0; i < v->nvdisks;) {
            if (!v->vdisks[i].seen) { /* detached */
                gone_push(s, &v->vdisks[i].e);
                ent_fini(&v->vdisks[i].e);
                v->vdisks[i] = v->vdisks[--v->nvdisks];
                continue;
            }
            i++;
        }
    }
    if (qs->ok & QMP_Q_BALLOON) {
        sampler__set_u(&v->e, V_BALLOON_ACTUAL, qs->balloon.actual);
    }
    if ((qs->ok & QMP_Q_GUEST_STATS) && qs->guest.last_update > 0) {
        static const int map[QMP_GSTAT_NFIELDS] = {
            V_G_SWAP_IN, V_G_SWAP_OUT,  V_G_MAJOR,       V_G_MINOR,      V_G_FREE,
            V_G_TOTAL,   V_G_AVAILABLE, V_G_DISK_CACHES, V_G_HTLB_ALLOC, V_G_HTLB_FAIL};
        for (int f = 0; f < QMP_GSTAT_NFIELDS; f++) {
            if (qs->guest.valid & (1u << f)) {
                sampler__set_u(&v->e, map[f], qs->guest.v[f]);
            }
        }
        sampler__set_u(&v->e, V_G_UPDATED, (uint64_t)qs->guest.last_update);
    }
}

/* QMP for every VM with a known socket, within a per-tick budget; VMs left over are served
 * first next tick (a socket that never answers costs its deadline, never more). */
static void vms_qmp(struct sampler *s) {
    int64_t budget = s->o.qmp_budget_ns > 0 ? s->o.qmp_budget_ns : 400000000;
    struct timespec t0, t1;
    size_t n = s->nvms, start = n ? s->qmp_next % n : 0, i;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        struct vm *v = s->vms[(start + i) % n];
        if (!v->src.qmp[0] || s->ticks < v->qmp_retry_tick) {
            continue; /* no socket, or resting after timeouts */
        }
        if (s->ticks < v->qmp_due_tick && !v->cpus_want) {
            continue; /* --daemon-interval: not this tick */
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec) > budget) {
            break;
        }
        vm_qmp(s, v);
    }
    s->qmp_next = start + i;
}

/*============================== the source's own values ============================== */

struct sink_ctx {
    struct sampler *s;
    struct vm *v;
};

/* The slot of catalogue metric id in sc, or -1 (unknown, disabled or another scope). */
static int slot_of(const struct schema *sc, int id) {
    return id >= 0 && (size_t)id < sc->ncat ? sc->slot_of[id] : -1;
}

/* Sets the values a source handed over, each only where the collectors read nothing this tick. */
static void ent_fill(struct ent *e, const struct source_value *val, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int sl = slot_of(e->sc, val[i].metric);
        if (sl >= 0 && e->cur[sl].type == JV_MISSING) {
            e->cur[sl].type = JV_INT;
            e->cur[sl].u = val[i].v;
            e->sampled = true;
        }
    }
}

static void sink_vm(void *ctx, const struct source_value *val, size_t n) {
    struct sink_ctx *c = ctx;
    ent_fill(&c->v->e, val, n);
}

static void sink_vcpu(void *ctx, int32_t idx, int32_t tid, const struct source_value *val,
                      size_t n) {
    struct sink_ctx *c = ctx;
    for (size_t i = 0; i < c->v->nvcpus; i++) {
        struct vcpu_ent *k = &c->v->vcpus[i];
        if (k->idx == idx && (tid < 0 || k->tid == tid)) {
            ent_fill(&k->e, val, n);
            return;
        }
    }
}

static void sink_disk(void *ctx, const char *name, const struct source_value *val, size_t n) {
    struct sink_ctx *c = ctx;
    struct vdisk_ent *d = NULL;
    for (size_t i = 0; i < c->v->nvdisks; i++) {
        if (strcmp(c->v->vdisks[i].name, name) == 0) {
            d = &c->v->vdisks[i];
            break;
        }
    }
    if (!d) {
        bool any = false; /* a disk entity is made only for values the journal records */
        for (size_t i = 0; i < n && !any; i++) {
            any = slot_of(&c->s->sch[SCH_VM_DISK], val[i].metric) >= 0;
        }
        if (!any) {
            return;
        }
        d = vdisk_get(c->s, c->v, name);
    }
    d->seen = true;
    ent_fill(&d->e, val, n);
}

static void sink_nic(void *ctx, const char *ifname, const struct source_value *val, size_t n) {
    struct sink_ctx *c = ctx;
    for (size_t i = 0; i < c->v->nnics; i++) {
        if (strcmp(c->v->nics[i].ifname, ifname) == 0) {
            ent_fill(&c->v->nics[i].e, val, n);
            return;
        }
    }
}

/* The source's own values of every VM, after the collectors (which win where both read). A
 * source that named all of a VM's disks (values() == 1) makes the others gone (detached). */
static void vms_source_values(struct sampler *s) {
    struct sink_ctx c = {s, NULL};
    const struct source_sink sink = {&c, sink_vm, sink_vcpu, sink_disk, sink_nic};
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        c.v = v;
        for (size_t k = 0; k < v->nvdisks; k++) {
            v->vdisks[k].seen = false;
        }
        int r = s->src.ops->values(&s->src, &v->src, &sink);
        if (r < 0 && !s->err[0]) {
            snprintf(s->err, sizeof(s->err), "%s", s->src.ops->last_error(&s->src));
        }
        for (size_t k = 0; r == 1 && k < v->nvdisks;) {
            if (!v->vdisks[k].seen) {
                gone_push(s, &v->vdisks[k].e);
                ent_fini(&v->vdisks[k].e);
                v->vdisks[k] = v->vdisks[--v->nvdisks];
                continue;
            }
            k++;
        }
    }
}

/*============================== the tick ============================== */

static void ents_begin(struct sampler *s) {
    ent_begin(&s->host, s->prev_mono);
    for (size_t i = 0; i < s->nhcpus; i++) {
        ent_begin(&s->hcpus[i].e, s->prev_mono);
        s->hcpus[i].seen = false;
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        ent_begin(&s->disks[i].e, s->prev_mono);
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        ent_begin(&s->hnics[i].e, s->prev_mono);
    }
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        ent_begin(&v->e, s->prev_mono);
        for (size_t k = 0; k < v->nvcpus; k++) {
            ent_begin(&v->vcpus[k].e, s->prev_mono);
        }
        for (size_t k = 0; k < v->nnics; k++) {
            ent_begin(&v->nics[k].e, s->prev_mono);
        }
        for (size_t k = 0; k < v->nvdisks; k++) {
            ent_begin(&v->vdisks[k].e, s->prev_mono);
        }
    }
}

int sampler_tick(struct sampler *s) {
    struct timespec tr, tm;
    size_t n = 0;
    bool changed = false;
    int rc;

    if (s->ticks > 0) {
        s->prev_real = s->t_real;
        s->prev_mono = s->t_mono;
        s->prev_boot = s->t_boot;
    }
    clock_gettime(CLOCK_REALTIME, &tr);
    clock_gettime(CLOCK_MONOTONIC, &tm);
    struct timespec tb;
    clock_gettime(CLOCK_BOOTTIME, &tb);
    s->t_boot = (int64_t)tb.tv_sec * 1000000000 + tb.tv_nsec;
    s->t_real = (int64_t)tr.tv_sec * 1000000000 + tr.tv_nsec;
    s->t_mono = (int64_t)tm.tv_sec * 1000000000 + tm.tv_nsec;
    s->err[0] = '\0';

    for (;;) {
        rc = s->src.ops->list(&s->src, s->svms, s->capsvms, &n, &changed);
        if (rc != -ENOBUFS) {
            break;
        }
        s->svms = xgrow(s->svms, &s->capsvms, n, sizeof(*s->svms));
    }
    if (rc < 0) {
        snprintf(s->err, sizeof(s->err), "%s source: %s", s->src.ops->name,
                 s->src.ops->last_error(&s->src));
    } else {
        s->nsvms = n;
        if (changed) {
            vms_reconcile(s);
        }
    }
    ents_begin(s);
    host_stat(s);
    host_misc(s);
    if (s->coll & COLL_DISK) {
        host_disks(s);
    }
    for (size_t i = 0; i < s->nvms;) {
        if (!vm_sample(s, s->vms[i])) {
            /* exited between discovery and now: gone; the source drops it on its next list */
            vm_close(s, s->vms[i]);
            s->vms[i] = s->vms[--s->nvms];
            continue;
        }
        i++;
    }
    if (s->coll & COLL_NET) {
        host_net(s);
    }
    if (s->qmp) {
        vms_qmp(s);
    }
    if (s->src.ops->sample) {
        int r = s->src.ops->sample(&s->src);
        if (r < 0 && !s->err[0]) {
            snprintf(s->err, sizeof(s->err), "%s", s->src.ops->last_error(&s->src));
        }
    }
    if (s->src.ops->values) {
        vms_source_values(s);
    }
    s->host.sampled = true;
    s->ticks++;
    return rc < 0 ? rc : 0;
}

/*============================== journal ============================== */

static int define(struct journal_writer *w, struct ent *e, const struct journal_entity_desc *d0,
                  uint32_t parent) {
    struct journal_entity_desc d = *d0;
    if (e->jlive) {
        return 0;
    }
    d.scope = e->sc->scope;
    d.parent = parent;
    d.key = e->key;
    d.metrics = e->sc->ids;
    d.nmetrics = e->sc->n;
    int rc = journal_writer_entity(w, &d, &e->jid);
    if (rc == 0) {
        e->jlive = true;
    }
    return rc;
}

static void desc_blank(struct journal_entity_desc *d) {
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    d->start_time = -1;
    d->vcpus = -1;
    d->mem_bytes = -1;
    d->parent = JOURNAL_NO_ENTITY;
}

static int row(struct journal_writer *w, struct ent *e) {
    if (!e->jlive || !e->sampled) {
        return 0;
    }
    return journal_writer_row(w, e->jid, e->cur, e->sc->n);
}

void sampler_journal_reset(struct sampler *s) {
    s->host.jlive = false;
    for (size_t i = 0; i < s->nhcpus; i++) {
        s->hcpus[i].e.jlive = false;
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        s->disks[i].e.jlive = false;
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        s->hnics[i].e.jlive = false;
    }
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        v->e.jlive = false;
        for (size_t k = 0; k < v->nvcpus; k++) {
            v->vcpus[k].e.jlive = false;
        }
        for (size_t k = 0; k < v->nnics; k++) {
            v->nics[k].e.jlive = false;
        }
        for (size_t k = 0; k < v->nvdisks; k++) {
            v->vdisks[k].e.jlive = false;
        }
    }
    s->ngone = 0;
}

int sampler_journal_write(struct sampler *s, struct journal_writer *w) {
    struct journal_entity_desc d;
    int rc = 0;

    for (size_t i = 0; i < s->ngone; i++) {
        journal_writer_gone(w, s->gone[i]);
    }
    s->ngone = 0;
    desc_blank(&d);
    d.name = "host";
    if ((rc = define(w, &s->host, &d, JOURNAL_NO_ENTITY)) < 0) {
        return rc;
    }
    for (size_t i = 0; i < s->nhcpus; i++) {
        char name[32];
        desc_blank(&d);
        snprintf(name, sizeof(name), "cpu%d", s->hcpus[i].id);
        d.name = name;
        if (s->hcpus[i].e.sampled && (rc = define(w, &s->hcpus[i].e, &d, s->host.jid)) < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        struct journal_attr a = {"kind",
                                 s->disks[i].kind == PROC_DISK_STACKED ? "stacked" : "whole"};
        desc_blank(&d);
        d.name = s->disks[i].name;
        d.attrs = &a;
        d.nattrs = 1;
        if (s->disks[i].e.sampled && (rc = define(w, &s->disks[i].e, &d, s->host.jid)) < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        desc_blank(&d);
        d.name = s->hnics[i].name;
        if (s->hnics[i].e.sampled && (rc = define(w, &s->hnics[i].e, &d, s->host.jid)) < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        struct journal_attr a[3];
        uint32_t na = 0;
        a[na++] = (struct journal_attr){"source", s->src.ops->name};
        if (v->src.qmp[0]) {
            a[na++] = (struct journal_attr){"qmp", v->src.qmp};
        }
        if (v->cg_dfd >= 0) {
            a[na++] = (struct journal_attr){"cgroup", v->cgroup};
        }
        desc_blank(&d);
        d.uuid = v->src.uuid[0] ? v->src.uuid : NULL;
        d.name = v->src.name[0] ? v->src.name : NULL;
        d.vmid = v->src.vmid[0] ? v->src.vmid : NULL;
        d.pid = v->src.pid;
        d.start_time = (int64_t)v->src.starttime;
        d.vcpus = v->src.vcpus;
        d.mem_bytes = v->src.mem_bytes;
        d.attrs = a;
        d.nattrs = na;
        if ((rc = define(w, &v->e, &d, s->host.jid)) < 0) {
            return rc;
        }
        for (size_t k = 0; k < v->nvcpus; k++) {
            char name[32], tid[16];
            struct journal_attr ta = {"tid", tid};
            snprintf(name, sizeof(name), "CPU %d", (int)v->vcpus[k].idx);
            snprintf(tid, sizeof(tid), "%d", (int)v->vcpus[k].tid);
            desc_blank(&d);
            d.name = name;
            d.attrs = &ta;
            d.nattrs = 1;
            if ((rc = define(w, &v->vcpus[k].e, &d, v->e.jid)) < 0) {
                return rc;
            }
        }
        for (size_t k = 0; k < v->nnics; k++) {
            struct journal_attr ia = {"ifname", v->nics[k].ifname};
            char name[32];
            snprintf(name, sizeof(name), "net%zu", k);
            desc_blank(&d);
            d.name = name;
            d.attrs = &ia;
            d.nattrs = 1;
            if ((rc = define(w, &v->nics[k].e, &d, v->e.jid)) < 0) {
                return rc;
            }
        }
        for (size_t k = 0; k < v->nvdisks; k++) {
            desc_blank(&d);
            d.name = v->vdisks[k].name;
            if ((rc = define(w, &v->vdisks[k].e, &d, v->e.jid)) < 0) {
                return rc;
            }
        }
    }
    if ((rc = journal_writer_tick_begin(w, s->t_real, s->t_mono)) < 0) {
        return rc;
    }
    (void)row(w, &s->host);
    for (size_t i = 0; i < s->nhcpus; i++) {
        (void)row(w, &s->hcpus[i].e);
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        (void)row(w, &s->disks[i].e);
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        (void)row(w, &s->hnics[i].e);
    }
    for (size_t i = 0; i < s->nvms; i++) {
        struct vm *v = s->vms[i];
        (void)row(w, &v->e);
        for (size_t k = 0; k < v->nvcpus; k++) {
            (void)row(w, &v->vcpus[k].e);
        }
        for (size_t k = 0; k < v->nnics; k++) {
            (void)row(w, &v->nics[k].e);
        }
        for (size_t k = 0; k < v->nvdisks; k++) {
            (void)row(w, &v->vdisks[k].e);
        }
    }
    return journal_writer_tick_end(w);
}

/*============================== life cycle ============================== */

static bool read_delayacct(int procfd) {
    char b[16];
    int n = proc_read_at(procfd, "sys/kernel/task_delayacct", b, sizeof(b));
    return n > 0 && b[0] == '1';
}

int sampler_new(struct sampler **out, const struct sampler_opts *o, char *err, size_t errlen) {
    struct sampler *s = xcalloc(1, sizeof(*s));
    struct source_config cfg;
    const struct source_ops *ops;
    int rc;

    kvmaps_sort();
    s->procfd = s->sysfd = s->cgroot_fd = s->sysblock_fd = -1;
    s->fd_stat = s->fd_meminfo = s->fd_loadavg = s->fd_diskstats = s->fd_netdev = -1;
    s->fd_psi[0] = s->fd_psi[1] = s->fd_psi[2] = s->fd_online = s->fd_present = -1;
    s->o = *o;
    if (!s->o.procfs) {
        s->o.procfs = "/proc";
    }
    if (!s->o.sysfs) {
        s->o.sysfs = "/sys";
    }
    if (!s->o.pve_root) {
        s->o.pve_root = "";
    }
    s->coll = (o->collectors & COLL_ALL) ? o->collectors : (COLL_ALL | o->collectors);
    s->page_size = sysconf(_SC_PAGESIZE);
    if (s->page_size <= 0) {
        s->page_size = 4096;
    }
    s->clk_tck = sysconf(_SC_CLK_TCK);
    if (s->clk_tck <= 0) {
        s->clk_tck = 100;
    }
    s->bufsz = BUF_SIZE;
    s->buf = xmalloc(s->bufsz);
    schema_build(&s->sch[SCH_HOST], SCOPE_HOST, host_names, NELEM(host_names), s->coll);
    schema_build(&s->sch[SCH_HOST_CPU], SCOPE_HOST_CPU, host_cpu_names, NELEM(host_cpu_names),
                 s->coll);
    schema_build(&s->sch[SCH_HOST_DISK], SCOPE_HOST_DISK, host_disk_names, NELEM(host_disk_names),
                 s->coll);
    schema_build(&s->sch[SCH_HOST_NIC], SCOPE_HOST_NIC, host_nic_names, NELEM(host_nic_names),
                 s->coll);
    schema_build(&s->sch[SCH_VM], SCOPE_VM, vm_names, NELEM(vm_names), s->coll);
    schema_build(&s->sch[SCH_VCPU], SCOPE_VCPU, vcpu_names, NELEM(vcpu_names), s->coll);
    schema_build(&s->sch[SCH_VM_NIC], SCOPE_VM_NIC, vm_nic_names, NELEM(vm_nic_names), s->coll);
    schema_build(&s->sch[SCH_VM_DISK], SCOPE_VM_DISK, vm_disk_names, NELEM(vm_disk_names), s->coll);
    /* --cpu needs QMP only for VMs without debug-threads=on (query-cpus-fast, once each) */
    if (!o->no_qmp && (s->coll & (COLL_DISK | COLL_MEM | COLL_CPU))) {
        s->qmp = qmp_client_new();
        if (s->qmp) {
            qmp_client_set_timeout(s->qmp, o->qmp_timeout_ms > 0 ? o->qmp_timeout_ms : 200);
        }
    }
    ent_init(&s->host, &s->sch[SCH_HOST], "host");

    s->procfd = open(s->o.procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->procfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open procfs root %s: %s", s->o.procfs, strerror(errno));
        goto fail;
    }
    s->sysfd = open(s->o.sysfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->fd_stat = open_at(s->procfd, "stat");
    s->fd_meminfo = open_at(s->procfd, "meminfo");
    s->fd_loadavg = open_at(s->procfd, "loadavg");
    s->fd_diskstats = open_at(s->procfd, "diskstats");
    s->fd_netdev = open_at(s->procfd, "net/dev");
    s->fd_psi[0] = open_at(s->procfd, "pressure/cpu");
    s->fd_psi[1] = open_at(s->procfd, "pressure/io");
    s->fd_psi[2] = open_at(s->procfd, "pressure/memory");
    s->fd_online = open_at(s->sysfd, "devices/system/cpu/online");
    s->fd_present = open_at(s->sysfd, "devices/system/cpu/present");
    s->sysblock_fd =
        s->sysfd >= 0 ? openat(s->sysfd, "block", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    /* cgroup v2: the unified mount (pure v2), or its "unified" side on hybrid hosts. */
    s->cgroot_fd = -1;
    if (s->sysfd >= 0) {
        if (faccessat(s->sysfd, "fs/cgroup/cgroup.controllers", F_OK, 0) == 0) {
            s->cgroot_fd = openat(s->sysfd, "fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else if (faccessat(s->sysfd, "fs/cgroup/unified/cgroup.controllers", F_OK, 0) == 0) {
            s->cgroot_fd =
                openat(s->sysfd, "fs/cgroup/unified", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
    }
    if (s->coll & COLL_PERF) {
        (void)perf_host_init(&s->perf, s->sysfd); /* a failure disables it, with a message */
    }
    s->delayacct = read_delayacct(s->procfd);
    s->debug = getenv("PROXSAMPLER_DEBUG") != NULL; /* per-thread accounting trace on stderr */
    if (s->fd_stat < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read %s/stat: %s", s->o.procfs, strerror(errno));
        goto fail;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.procfs = s->o.procfs;
    cfg.sysfs = s->o.sysfs;
    cfg.pve_root = s->o.pve_root;
    cfg.uri = s->o.uri;
    cfg.run_dir = s->o.libvirt_run_dir;
    cfg.discover_every = s->o.discover_every;
    cfg.daemon_every = s->o.daemon_every;
    cfg.libvirt_groups = s->o.libvirt_groups;
    cfg.verbose = s->o.verbose;
    ops = source_pick(s->o.source, &cfg);
    if (!ops) {
        rc = -ENOTSUP;
        snprintf(err, errlen, "this source is not built into this proxsampler");
        goto fail;
    }
    rc = source_open(&s->src, ops, &cfg);
    if (rc < 0) {
        snprintf(err, errlen, "%s source: %s", ops->name, ops->last_error(&s->src));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    sampler_free(s);
    return rc;
}

void sampler_free(struct sampler *s) {
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nvms; i++) {
        vm_close(s, s->vms[i]);
    }
    free(s->vms);
    perf_host_done(&s->perf);
    source_close(&s->src);
    for (size_t i = 0; i < s->nhcpus; i++) {
        ent_fini(&s->hcpus[i].e);
        close_fd(&s->hcpus[i].fd_cur);
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        ent_fini(&s->disks[i].e);
    }
    for (size_t i = 0; i < s->nhnics; i++) {
        ent_fini(&s->hnics[i].e);
        close_fd(&s->hnics[i].fd_speed);
    }
    free(s->hcpus);
    free(s->disks);
    free(s->hnics);
    ent_fini(&s->host);
    int *fds[] = {&s->fd_stat,     &s->fd_meminfo, &s->fd_loadavg, &s->fd_diskstats, &s->fd_netdev,
                  &s->fd_psi[0],   &s->fd_psi[1],  &s->fd_psi[2],  &s->fd_online,    &s->fd_present,
                  &s->sysblock_fd, &s->cgroot_fd,  &s->sysfd};
    for (size_t i = 0; i < NELEM(fds); i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
        }
    }
    if (s->procfd >= 0) {
        close(s->procfd);
    }
    for (int i = 0; i < SCH__N; i++) {
        schema_free(&s->sch[i]);
    }
    qmp_client_free(s->qmp);
    free(s->svms);
    free(s->gone);
    free(s->buf);
    free(s);
}

const char *sampler_source_name(const struct sampler *s) {
    return s->src.ops ? s->src.ops->name : "?";
}

const char *sampler_perf_message(const struct sampler *s) {
    return (s->coll & COLL_PERF) ? perf_host_message(&s->perf) : "";
}

const char *sampler_last_error(const struct sampler *s) {
    return s->err;
}

size_t sampler_nvms(const struct sampler *s) {
    return s->nvms;
}

bool sampler_delayacct(const struct sampler *s) {
    return s->delayacct;
}
