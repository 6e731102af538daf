/* source_libvirt.c: libvirt domains, through one virConnectGetAllDomainStats call per tick
 * (libvirt_stats.h: read-only connection, every object freed, reconnect with backoff). The
 * groups are those of --libvirt-stats (default state, balloon, interface, block); the ones
 * libvirtd must ask QEMU for (balloon, block, cpu-total, vcpu) come every --daemon-interval.
 *
 * The call gives name, UUID, domain id, state, vCPU count, NIC device names and the QEMU pid
 * (from /run/libvirt/qemu/NAME.pid, cached per domain instance); the VMs' /proc, cgroup and tap
 * counters are then read by the sampler's collectors like for every source. While libvirtd is
 * down (restart), the last known list is kept, so the /proc data of running VMs goes on; a VM
 * that exits meanwhile is dropped by its own /proc stat going away. libvirt's monitor socket is
 * never used for QMP (libvirt holds it: a second client hangs).
 *
 * The same call's statistics reach the journal through values(), as raw values in catalogue
 * metrics: state, cpu.*, balloon.*, vcpu.N.time/wait, block.N.* (per disk, by target name) and
 * net.N.* (per NIC; the sampler keeps them only where it could not read the tap itself). Not
 * recorded because another metric already holds the same quantity: balloon.maximum
 * (vm.mem.configured, from the VM's description), balloon.rss (vm.mem.rss from statm),
 * vcpu.N.delay (vcpu.cpu.wait from schedstat). block.N.errors is Xen's only.
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "libvirt_stats.h"
#include "proc_parse.h"
#include "source_internal.h"
#include "xalloc.h"

struct lv_vm {
    struct source_vm vm;
    int statfd;
    bool seen;
    long dom; /* its domain in this tick's snapshot, or -1 (no data this tick) */
};

struct lv_src {
    struct lvs *lvs;
    struct lvs_snapshot snap;
    int procfd;
    bool first;
    unsigned groups; /* LVS_G_* asked for */
    unsigned every;  /* the QEMU-served ones among them every N ticks */
    uint64_t ticks;
    bool again; /* list() returned -ENOBUFS: the caller's retry reuses this tick's snapshot */
    int last_r; /* what that snapshot's lv_sample() returned */
    struct lv_vm *vms;
    size_t nvms, capvms;
    char err[SOURCE_ERROR_MAX];
};

static int lv_init(struct source *src, const struct source_config *cfg) {
    struct lv_src *p = xcalloc(1, sizeof(*p));
    struct lvs_options o;
    int e = 0;

    src->priv = p;
    p->first = true;
    p->groups = cfg->libvirt_groups ? cfg->libvirt_groups & LVS_G_ALL : LVS_G_DEFAULT;
    p->every = cfg->daemon_every ? cfg->daemon_every : 1;
    p->procfd = open(cfg->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->procfd < 0) {
        e = -errno;
        snprintf(p->err, sizeof(p->err), "cannot open procfs root %s: %s", cfg->procfs,
                 strerror(errno));
        return e;
    }
    memset(&o, 0, sizeof(o));
    o.uri = cfg->uri;
    o.run_dir = cfg->run_dir;
    p->lvs = lvs_new(&o, &e);
    if (!p->lvs) {
        snprintf(p->err, sizeof(p->err), "libvirt: cannot initialise (%s)", strerror(-e));
        return e ? e : -ENOMEM;
    }
    if (e < 0) {
        /* not fatal: later ticks retry with backoff */
        snprintf(p->err, sizeof(p->err), "libvirt %s: %s", cfg->uri ? cfg->uri : "",
                 lvs_last_error(p->lvs));
    }
    return 0;
}

static bool lv_alive(struct lv_vm *k) {
    char buf[1024];
    struct proc_pid_stat st;
    int n = proc_pread(k->statfd, buf, sizeof(buf));
    if (n <= 0 || proc_pid_stat_parse(buf, (size_t)n, &st) < 0) {
        return false;
    }
    return st.state != 'Z' && st.state != 'X' && st.starttime == k->vm.starttime;
}

static void lv_add(struct lv_src *p, const struct lvs_domain *d, long k, bool *ch) {
    struct source_vm vm;
    char path[32];

    if (source__probe_qemu(p->procfd, (int32_t)d->pid, &vm) != 1) {
        return;
    }
    vm.qmp[0] = '\0'; /* libvirt's own monitor: never ours to use */
    source__copy(vm.name, sizeof(vm.name), d->name);
    source__copy(vm.uuid, sizeof(vm.uuid), d->uuid);
    snprintf(vm.vmid, sizeof(vm.vmid), "%d", (int)d->id);
    if (d->valid & LVS_D_VCPU_COUNT) {
        vm.vcpus = (int32_t)d->vcpu_current;
    }
    if (d->balloon_valid & (1u << LVS_BAL_MAXIMUM)) {
        vm.mem_bytes = (int64_t)d->balloon[LVS_BAL_MAXIMUM] * 1024;
    }
    vm.nnics = 0;
    for (size_t i = 0; i < d->nnic && vm.nnics < SOURCE_MAX_NICS; i++) {
        if (d->nic[i].name[0]) {
            source__copy(vm.nics[vm.nnics++], SOURCE_IFNAME, d->nic[i].name);
        }
    }
    snprintf(path, sizeof(path), "%d/stat", (int)vm.pid);
    int fd = openat(p->procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    p->vms = xgrow(p->vms, &p->capvms, p->nvms + 1, sizeof(*p->vms));
    p->vms[p->nvms].vm = vm;
    p->vms[p->nvms].statfd = fd;
    p->vms[p->nvms].seen = true;
    p->vms[p->nvms].dom = k;
    p->nvms++;
    *ch = true;
}

/* One stats call per tick: the QEMU-served groups only every p->every ticks (libvirtd asks
 * QEMU over QMP for each of them, at ~1-1.5 ms of QEMU's CPU per group per VM). lv_list() makes
 * a second, full call when a domain is new in a partial snapshot, so that it starts with its
 * balloon size and disks. */
static int lv_sample(struct lv_src *p) {
    bool full = p->first || p->ticks % p->every == 0;
    int r = lvs_sample(p->lvs, full ? p->groups : p->groups & ~(unsigned)LVS_G_QEMU, &p->snap);
    p->ticks++;
    return r;
}

static int lv_list(struct source *src, struct source_vm *out, size_t cap, size_t *n,
                   bool *changed) {
    struct lv_src *p = src->priv;
    bool ch = p->first;
    int r = p->again ? p->last_r : lv_sample(p); /* one stats call per tick, retry or not */

    p->again = false;
    p->last_r = r;

    p->first = false;
    for (size_t i = 0; i < p->nvms; i++) {
        p->vms[i].dom = -1;
    }
    if (r >= 0) {
    match:
        for (size_t i = 0; i < p->nvms; i++) {
            p->vms[i].seen = false;
            p->vms[i].dom = -1;
        }
        for (size_t k = 0; k < p->snap.count; k++) {
            const struct lvs_domain *d = &p->snap.dom[k];
            bool known = false;
            if (!(d->valid & LVS_D_PID) || d->pid <= 0) {
                continue;
            }
            for (size_t i = 0; i < p->nvms; i++) {
                if (p->vms[i].vm.pid == d->pid && strcmp(p->vms[i].vm.uuid, d->uuid) == 0) {
                    p->vms[i].seen = true;
                    p->vms[i].dom = (long)k;
                    known = true;
                    break;
                }
            }
            if (!known && p->snap.groups != p->groups) {
                /* new in a partial snapshot: fetch everything once more (nothing added yet) */
                r = lvs_sample(p->lvs, p->groups, &p->snap);
                p->last_r = r;
                if (r >= 0) {
                    goto match;
                }
                for (size_t i = 0; i < p->nvms; i++) { /* failed: keep what we know */
                    p->vms[i].seen = true;
                    p->vms[i].dom = -1;
                }
                break;
            }
            if (!known) {
                lv_add(p, d, (long)k, &ch);
            }
        }
    }
    if (r >= 0) {
        p->err[0] = '\0';
    } else {
        /* libvirtd unreachable: keep the VMs we know, their /proc data goes on */
        snprintf(p->err, sizeof(p->err), "libvirt: %s (retrying)", lvs_last_error(p->lvs));
    }
    for (size_t i = 0; i < p->nvms;) {
        if (!p->vms[i].seen || !lv_alive(&p->vms[i])) {
            close(p->vms[i].statfd);
            p->vms[i] = p->vms[--p->nvms];
            ch = true;
            continue;
        }
        i++;
    }
    *changed = ch;
    *n = p->nvms;
    if (p->nvms > cap) {
        p->first = ch;
        p->again = true;
        return -ENOBUFS;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        out[i] = p->vms[i].vm;
    }
    return r < 0 ? r : 0;
}

/*============================== values ============================== */

/* libvirt field -> catalogue metric; scale 1024 where libvirt says KiB and the catalogue bytes.
 * id is resolved from the name once. */
struct lv_map {
    int field;
    const char *name;
    uint64_t scale;
    int id;
};

enum { M_STATE, M_REASON, M_CPU_TIME, M_CPU_USER, M_CPU_SYSTEM, M_VCPU_TIME, M_VCPU_WAIT, M__N };

static struct lv_map scalar_map[M__N] = {
    {M_STATE, "vm.libvirt.state", 1, -1},           {M_REASON, "vm.libvirt.state_reason", 1, -1},
    {M_CPU_TIME, "vm.cpu.libvirt_time", 1, -1},     {M_CPU_USER, "vm.cpu.libvirt_user", 1, -1},
    {M_CPU_SYSTEM, "vm.cpu.libvirt_system", 1, -1}, {M_VCPU_TIME, "vcpu.cpu.libvirt_time", 1, -1},
    {M_VCPU_WAIT, "vcpu.cpu.libvirt_wait", 1, -1},
};

static struct lv_map balloon_map[] = {
    {LVS_BAL_CURRENT, "vm.mem.balloon_actual", 1024, -1},
    {LVS_BAL_SWAP_IN, "vm.mem.guest_swap_in", 1024, -1},
    {LVS_BAL_SWAP_OUT, "vm.mem.guest_swap_out", 1024, -1},
    {LVS_BAL_MAJOR_FAULT, "vm.mem.guest_major_faults", 1, -1},
    {LVS_BAL_MINOR_FAULT, "vm.mem.guest_minor_faults", 1, -1},
    {LVS_BAL_UNUSED, "vm.mem.guest_free", 1024, -1},
    {LVS_BAL_AVAILABLE, "vm.mem.guest_total", 1024, -1},
    {LVS_BAL_USABLE, "vm.mem.guest_available", 1024, -1},
    {LVS_BAL_DISK_CACHES, "vm.mem.guest_disk_caches", 1024, -1},
    {LVS_BAL_HTLB_PGALLOC, "vm.mem.guest_hugetlb_alloc", 1, -1},
    {LVS_BAL_HTLB_PGFAIL, "vm.mem.guest_hugetlb_fail", 1, -1},
    {LVS_BAL_LAST_UPDATE, "vm.mem.guest_stats_updated", 1, -1},
};

static struct lv_map disk_map[] = {
    {LVS_DISK_RD_REQS, "vm_disk.rd_ops", 1, -1},
    {LVS_DISK_RD_BYTES, "vm_disk.rd_bytes", 1, -1},
    {LVS_DISK_RD_TIMES, "vm_disk.rd_time", 1, -1},
    {LVS_DISK_WR_REQS, "vm_disk.wr_ops", 1, -1},
    {LVS_DISK_WR_BYTES, "vm_disk.wr_bytes", 1, -1},
    {LVS_DISK_WR_TIMES, "vm_disk.wr_time", 1, -1},
    {LVS_DISK_FL_REQS, "vm_disk.flush_ops", 1, -1},
    {LVS_DISK_FL_TIMES, "vm_disk.flush_time", 1, -1},
    {LVS_DISK_ALLOCATION, "vm_disk.allocation", 1, -1},
    {LVS_DISK_CAPACITY, "vm_disk.capacity", 1, -1},
    {LVS_DISK_PHYSICAL, "vm_disk.physical", 1, -1},
};

/* Already the guest's direction (libvirt_stats.h): rx is what the guest received. */
static struct lv_map nic_map[] = {
    {LVS_NIC_RX_BYTES, "vm_nic.rx_bytes", 1, -1}, {LVS_NIC_RX_PKTS, "vm_nic.rx_packets", 1, -1},
    {LVS_NIC_RX_ERRS, "vm_nic.rx_errors", 1, -1}, {LVS_NIC_RX_DROP, "vm_nic.rx_drops", 1, -1},
    {LVS_NIC_TX_BYTES, "vm_nic.tx_bytes", 1, -1}, {LVS_NIC_TX_PKTS, "vm_nic.tx_packets", 1, -1},
    {LVS_NIC_TX_ERRS, "vm_nic.tx_errors", 1, -1}, {LVS_NIC_TX_DROP, "vm_nic.tx_drops", 1, -1},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void map_resolve(struct lv_map *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        m[i].id = catalogue_find(m[i].name);
    }
}

/* The catalogue is a constant table: resolving once serves every source instance. */
static void maps_resolve(void) {
    static bool done;
    if (done) {
        return;
    }
    map_resolve(scalar_map, NELEM(scalar_map));
    map_resolve(balloon_map, NELEM(balloon_map));
    map_resolve(disk_map, NELEM(disk_map));
    map_resolve(nic_map, NELEM(nic_map));
    done = true;
}

static void push(struct source_value *val, size_t *n, const struct lv_map *m, uint64_t v) {
    if (m->id < 0 || (m->scale > 1 && v > UINT64_MAX / m->scale)) {
        return;
    }
    val[*n].metric = m->id;
    val[*n].v = v * m->scale;
    (*n)++;
}

/* Pushes every field of m that is valid in bits. */
static void push_fields(struct source_value *val, size_t *n, const struct lv_map *m, size_t nm,
                        const uint64_t *v, uint32_t bits) {
    for (size_t i = 0; i < nm; i++) {
        if (bits & (1u << m[i].field)) {
            push(val, n, &m[i], v[m[i].field]);
        }
    }
}

int source__libvirt_values(const struct lvs_domain *d, const struct source_sink *k) {
    struct source_value val[M__N + NELEM(balloon_map) + NELEM(disk_map) + NELEM(nic_map)];
    size_t n = 0;

    maps_resolve();
    if ((d->valid & LVS_D_STATE) && d->state >= 0) {
        push(val, &n, &scalar_map[M_STATE], (uint64_t)d->state);
        if (d->reason >= 0) {
            push(val, &n, &scalar_map[M_REASON], (uint64_t)d->reason);
        }
    }
    if (d->valid & LVS_D_CPU_TIME) {
        push(val, &n, &scalar_map[M_CPU_TIME], d->cpu_time_ns);
    }
    if (d->valid & LVS_D_CPU_USER) {
        push(val, &n, &scalar_map[M_CPU_USER], d->cpu_user_ns);
    }
    if (d->valid & LVS_D_CPU_SYSTEM) {
        push(val, &n, &scalar_map[M_CPU_SYSTEM], d->cpu_system_ns);
    }
    push_fields(val, &n, balloon_map, NELEM(balloon_map), d->balloon, d->balloon_valid);
    if (n > 0) {
        k->vm(k->ctx, val, n);
    }
    for (size_t i = 0; i < d->nvcpu; i++) {
        const struct lvs_vcpu *c = &d->vcpu[i];
        n = 0;
        if (c->valid & LVS_V_TIME) {
            push(val, &n, &scalar_map[M_VCPU_TIME], c->time_ns);
        }
        if (c->valid & LVS_V_WAIT) {
            push(val, &n, &scalar_map[M_VCPU_WAIT], c->wait_ns);
        }
        if (n > 0) {
            k->vcpu(k->ctx, (int32_t)i, (c->valid & LVS_V_TID) ? c->tid : -1, val, n);
        }
    }
    /* Every disk is named, with or without values (a busy domain under NOWAIT may come without
     * its block statistics): a disk not named is one that is gone. */
    for (size_t i = 0; i < d->ndisk; i++) {
        if (d->disk[i].name[0]) {
            n = 0;
            push_fields(val, &n, disk_map, NELEM(disk_map), d->disk[i].v, d->disk[i].valid);
            k->disk(k->ctx, d->disk[i].name, val, n);
        }
    }
    for (size_t i = 0; i < d->nnic; i++) {
        n = 0;
        push_fields(val, &n, nic_map, NELEM(nic_map), d->nic[i].v, d->nic[i].valid);
        if (d->nic[i].name[0] && n > 0) {
            k->nic(k->ctx, d->nic[i].name, val, n);
        }
    }
    return (d->valid & LVS_D_BLOCK) ? 1 : 0;
}

static int lv_values(struct source *src, const struct source_vm *vm,
                     const struct source_sink *sink) {
    struct lv_src *p = src->priv;
    for (size_t i = 0; i < p->nvms; i++) {
        const struct lv_vm *k = &p->vms[i];
        if (k->vm.pid == vm->pid && k->vm.starttime == vm->starttime) {
            if (k->dom < 0 || (size_t)k->dom >= p->snap.count) {
                return 0; /* libvirtd unreachable this tick: missing, nothing forgotten */
            }
            return source__libvirt_values(&p->snap.dom[k->dom], sink);
        }
    }
    return 0;
}

static const char *lv_last_error(const struct source *src) {
    const struct lv_src *p = src->priv;
    return p ? p->err : "libvirt source not initialised";
}

static void lv_fini(struct source *src) {
    struct lv_src *p = src->priv;
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        close(p->vms[i].statfd);
    }
    lvs_snapshot_done(&p->snap);
    lvs_free(p->lvs);
    if (p->procfd >= 0) {
        close(p->procfd);
    }
    free(p->vms);
    free(p);
}

const struct source_ops source_libvirt_ops = {
    .name = "libvirt",
    .init = lv_init,
    .list = lv_list,
    .sample = NULL,
    .values = lv_values,
    .last_error = lv_last_error,
    .fini = lv_fini,
};
