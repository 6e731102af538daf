/* perf_counters.c: --perf counters on VM cgroups (see perf_counters.h for the contract).
 * SPDX-License-Identifier: MIT */
#include "perf_counters.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xalloc.h"

enum { GROUP_HW, GROUP_SW, NGROUPS };

static const struct {
    const char *metric;
    uint32_t type;
    uint64_t config;
} counter_def[PC_NCOUNTERS] = {
    [PC_CYCLES] = {"vm.perf.cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    [PC_INSTRUCTIONS] = {"vm.perf.instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    [PC_REF_CYCLES] = {"vm.perf.ref_cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
    [PC_CACHE_REFERENCES] = {"vm.perf.cache_references", PERF_TYPE_HARDWARE,
                             PERF_COUNT_HW_CACHE_REFERENCES},
    [PC_CACHE_MISSES] = {"vm.perf.cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    [PC_BRANCH_INSTRUCTIONS] = {"vm.perf.branch_instructions", PERF_TYPE_HARDWARE,
                                PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    [PC_BRANCH_MISSES] = {"vm.perf.branch_misses", PERF_TYPE_HARDWARE,
                          PERF_COUNT_HW_BRANCH_MISSES},
    [PC_TASK_CLOCK] = {"vm.perf.task_clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    [PC_CONTEXT_SWITCHES] = {"vm.perf.context_switches", PERF_TYPE_SOFTWARE,
                             PERF_COUNT_SW_CONTEXT_SWITCHES},
    [PC_CPU_MIGRATIONS] = {"vm.perf.cpu_migrations", PERF_TYPE_SOFTWARE,
                           PERF_COUNT_SW_CPU_MIGRATIONS},
    [PC_PAGE_FAULTS] = {"vm.perf.page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
};

/* One group on one CPU: the leader's fd, and which counter each group slot is. */
struct perf_group {
    int fd;
    uint32_t n;
    uint8_t counter[PC_NCOUNTERS];
    uint64_t last[PC_NCOUNTERS]; /* raw values at the previous read, per slot */
    uint64_t enabled, running;   /* at the previous read */
};

struct perf_vm {
    int ncpus;
    struct perf_group *g[NGROUPS];   /* ncpus groups each */
    int *member_fds;                 /* every non-leader fd, to close them */
    size_t nmember_fds;
    uint64_t acc[PC_NCOUNTERS];
    uint32_t valid;  /* counters opened on some CPU */
    uint32_t failed; /* counters that failed to open on some CPU: not counted */
    bool multiplexed;
};

const char *perf_counter_metric(enum perf_counter c) {
    return (unsigned)c < PC_NCOUNTERS ? counter_def[c].metric : NULL;
}

/* Parses a sysfs CPU list ("0-3,8,10-11"). Returns the count, or -1 on a malformed list. */
static int parse_cpu_list(const char *s, int *out, int cap) {
    int n = 0;
    while (*s && *s != '\n') {
        char *e;
        long a = strtol(s, &e, 10), b;
        if (e == s || a < 0 || a > 65535)
            return -1;
        b = a;
        s = e;
        if (*s == '-') {
            b = strtol(s + 1, &e, 10);
            if (e == s + 1 || b < a || b > 65535)
                return -1;
            s = e;
        }
        for (long c = a; c <= b; c++) {
            if (out && n < cap)
                out[n] = (int)c;
            n++;
        }
        if (*s == ',')
            s++;
        else if (*s && *s != '\n')
            return -1;
    }
    return n;
}

int perf_host_init(struct perf_host *h, int sysfs_fd) {
    memset(h, 0, sizeof(*h));
    int fd = sysfs_fd >= 0
                 ? openat(sysfs_fd, "devices/system/cpu/online", O_RDONLY | O_CLOEXEC)
                 : open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
    char buf[4096];
    ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (r <= 0) {
        h->disabled = true;
        snprintf(h->msg, sizeof(h->msg), "--perf: cannot read the online CPU list: %s",
                 strerror(r < 0 ? err : EIO));
        return r < 0 ? -err : -EIO;
    }
    buf[r] = '\0';
    int n = parse_cpu_list(buf, NULL, 0);
    if (n <= 0) {
        h->disabled = true;
        snprintf(h->msg, sizeof(h->msg), "--perf: malformed online CPU list");
        return -EINVAL;
    }
    h->cpus = xcalloc((size_t)n, sizeof(*h->cpus));
    h->ncpus = parse_cpu_list(buf, h->cpus, n);
    return 0;
}

void perf_host_done(struct perf_host *h) {
    free(h->cpus);
    h->cpus = NULL;
    h->ncpus = 0;
}

const char *perf_host_message(const struct perf_host *h) {
    return h->msg;
}

static int event_open(enum perf_counter c, int cgroup_fd, int cpu, int group_fd) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = counter_def[c].type;
    a.config = counter_def[c].config;
    a.read_format =
        PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    /* Count guest and host mode alike: a vCPU's cycles are mostly spent in the guest. */
    return (int)syscall(SYS_perf_event_open, &a, cgroup_fd, cpu, group_fd,
                        PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
}

static void note_unsupported(struct perf_host *h) {
    char list[200] = "";
    size_t len = 0;
    for (int c = 0; c < PC_NCOUNTERS; c++) {
        if (h->unsupported[c]) {
            int w = snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
                             counter_def[c].metric + strlen("vm.perf."));
            if (w < 0 || (size_t)w >= sizeof(list) - len)
                break;
            len += (size_t)w;
        }
    }
    snprintf(h->msg, sizeof(h->msg), "--perf: not provided by this CPU or hypervisor: %s", list);
}

/* Opens one group (counters [from, to)) on one CPU. Returns 0, or a negative errno that
 * disables the collector (permission, fd limit). */
static int group_open(struct perf_host *h, struct perf_vm *v, struct perf_group *g,
                      int cgroup_fd, int cpu, int from, int to) {
    g->fd = -1;
    for (int c = from; c < to; c++) {
        if (h->unsupported[c])
            continue;
        int fd = event_open((enum perf_counter)c, cgroup_fd, cpu, g->fd);
        if (fd < 0) {
            int e = errno;
            if (e == EACCES || e == EPERM) {
                h->disabled = true;
                snprintf(h->msg, sizeof(h->msg),
                         "--perf: not permitted (%s): needs root or CAP_PERFMON, or "
                         "kernel.perf_event_paranoid <= 0",
                         strerror(e));
                return -e;
            }
            if (e == EMFILE || e == ENFILE) {
                h->fd_limit_hit = true;
                snprintf(h->msg, sizeof(h->msg),
                         "--perf: out of file descriptors (%s); VMs that start later have no "
                         "counters",
                         strerror(e));
                return -e;
            }
            /* ENOENT, EOPNOTSUPP, EINVAL...: this event does not exist here. A failure that
             * is not the event's first try (the event opened before) is not a host fact. */
            if (!h->probed[c]) {
                h->unsupported[c] = true;
                note_unsupported(h);
            }
            v->failed |= 1u << c;
            continue;
        }
        h->probed[c] = true;
        if (g->fd < 0) {
            g->fd = fd;
        } else {
            v->member_fds[v->nmember_fds++] = fd;
        }
        g->counter[g->n++] = (uint8_t)c;
        v->valid |= 1u << c;
    }
    return 0;
}

static void vm_close_fds(struct perf_vm *v) {
    for (int k = 0; k < NGROUPS; k++) {
        for (int i = 0; v->g[k] && i < v->ncpus; i++) {
            if (v->g[k][i].fd >= 0)
                close(v->g[k][i].fd);
        }
    }
    for (size_t i = 0; i < v->nmember_fds; i++)
        close(v->member_fds[i]);
}

int perf_vm_open(struct perf_host *h, int cgroup_fd, struct perf_vm **out) {
    *out = NULL;
    if (h->disabled)
        return -EPERM;
    if (h->fd_limit_hit)
        return -EMFILE;
    struct perf_vm *v = xcalloc(1, sizeof(*v));
    v->ncpus = h->ncpus;
    for (int k = 0; k < NGROUPS; k++) {
        v->g[k] = xcalloc((size_t)h->ncpus, sizeof(*v->g[k]));
        for (int i = 0; i < h->ncpus; i++)
            v->g[k][i].fd = -1;
    }
    v->member_fds = xcalloc((size_t)h->ncpus * PC_NCOUNTERS, sizeof(*v->member_fds));
    int rc = 0;
    for (int i = 0; rc == 0 && i < h->ncpus; i++) {
        rc = group_open(h, v, &v->g[GROUP_HW][i], cgroup_fd, h->cpus[i], 0, PC_NHARDWARE);
        if (rc == 0)
            rc = group_open(h, v, &v->g[GROUP_SW][i], cgroup_fd, h->cpus[i], PC_NHARDWARE,
                            PC_NCOUNTERS);
    }
    if (rc < 0) {
        perf_vm_close(v);
        return rc;
    }
    /* An event that failed on one CPU may have opened on another: a partial sum would be
     * wrong, so such an event is not reported for this VM. */
    v->valid &= ~v->failed;
    *out = v;
    return 0;
}

/* Reads one group and adds its scaled increments to the accumulators. */
static void group_read(struct perf_vm *v, struct perf_group *g) {
    if (g->fd < 0 || g->n == 0)
        return;
    uint64_t buf[3 + PC_NCOUNTERS];
    ssize_t want = (ssize_t)((3 + g->n) * sizeof(uint64_t));
    if (read(g->fd, buf, sizeof(buf)) != want || buf[0] != g->n)
        return; /* nothing added this tick; the next read catches up */
    uint64_t enabled = buf[1], running = buf[2];
    uint64_t d_en = enabled - g->enabled, d_run = running - g->running;
    g->enabled = enabled;
    g->running = running;
    for (uint32_t k = 0; k < g->n; k++) {
        uint64_t d = buf[3 + k] - g->last[k];
        g->last[k] = buf[3 + k];
        if (d_run == 0)
            continue; /* the group never ran in this interval: no information */
        if (d_run < d_en) {
            d = (uint64_t)((double)d * (double)d_en / (double)d_run + 0.5);
            v->multiplexed = true;
        }
        v->acc[g->counter[k]] += d;
    }
}

void perf_vm_read(struct perf_vm *v, uint64_t out[PC_NCOUNTERS], uint32_t *valid) {
    v->multiplexed = false;
    for (int k = 0; k < NGROUPS; k++) {
        for (int i = 0; i < v->ncpus; i++)
            group_read(v, &v->g[k][i]);
    }
    memcpy(out, v->acc, sizeof(v->acc));
    *valid = v->valid;
}

bool perf_vm_multiplexed(const struct perf_vm *v) {
    return v->multiplexed;
}

void perf_vm_close(struct perf_vm *v) {
    if (!v)
        return;
    vm_close_fds(v);
    for (int k = 0; k < NGROUPS; k++)
        free(v->g[k]);
    free(v->member_fds);
    free(v);
}
