/* source_libvirt.c: libvirt domains, through one virConnectGetAllDomainStats call per tick
 * (libvirt_stats.h: read-only connection, every object freed, reconnect with backoff).
 *
 * The call gives name, UUID, domain id, state, vCPU count, NIC device names and the QEMU pid
 * (from /run/libvirt/qemu/NAME.pid, cached per domain instance); the VMs' /proc, cgroup and tap
 * counters are then read by the sampler's collectors like for every source. While libvirtd is
 * down (restart), the last known list is kept, so the /proc data of running VMs goes on; a VM
 * that exits meanwhile is dropped by its own /proc stat going away. libvirt's monitor socket is
 * never used for QMP (libvirt holds it: a second client hangs).
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt_stats.h"
#include "proc_parse.h"
#include "source_internal.h"
#include "xalloc.h"

struct lv_vm {
    struct source_vm vm;
    int statfd;
    bool seen;
};

struct lv_src {
    struct lvs *lvs;
    struct lvs_snapshot snap;
    int procfd;
    bool first;
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
    p->procfd = open(cfg->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->procfd < 0) {
        e = -errno;
        snprintf(p->err, sizeof(p->err), "cannot open procfs root %s: %s", cfg->procfs,
                 strerror(errno));
        return e;
    }
    memset(&o, 0, sizeof(o));
    o.uri = cfg->uri;
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

static void lv_add(struct lv_src *p, const struct lvs_domain *d, bool *ch) {
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
    p->nvms++;
    *ch = true;
}

static int lv_list(struct source *src, struct source_vm *out, size_t cap, size_t *n,
                   bool *changed) {
    struct lv_src *p = src->priv;
    bool ch = p->first;
    int r = lvs_sample(p->lvs, &p->snap);

    p->first = false;
    if (r >= 0) {
        for (size_t i = 0; i < p->nvms; i++) {
            p->vms[i].seen = false;
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
                    known = true;
                    break;
                }
            }
            if (!known) {
                lv_add(p, d, &ch);
            }
        }
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
        return -ENOBUFS;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        out[i] = p->vms[i].vm;
    }
    return r < 0 ? r : 0;
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
    .last_error = lv_last_error,
    .fini = lv_fini,
};
