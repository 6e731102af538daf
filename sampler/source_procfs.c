/* source_procfs.c: every QEMU system emulator process on the host (qemu-system-*, kvm).
 *
 * Discovery lists the procfs root each tick (a few getdents calls) and probes only pids it has
 * not seen before; pids already known not to be QEMU are skipped by a binary search in the
 * previous scan's sorted list. A known VM's stat file is kept open and re-read with pread: once
 * the process is gone the read fails (ESRCH), even if the pid number was reused, so a reused pid
 * is always a new VM. Identity: UUID from the command line when present, else (pid, start time).
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_error.h"
#include "proc_parse.h"
#include "source_internal.h"
#include "xalloc.h"

struct known_vm {
    struct source_vm vm;
    int statfd; /* /proc/PID/stat, open while the VM lives */
    bool seen;
};

struct procfs_src {
    int procfd;
    DIR *dir;
    uint32_t *others; /* sorted pids of the previous scan that are not QEMU */
    size_t nothers, capothers;
    uint32_t *scan; /* this scan's non-QEMU pids (swapped with others) */
    size_t nscan, capscan;
    struct known_vm *vms;
    size_t nvms, capvms;
    bool first;
    unsigned every, tick;
    char err[SOURCE_ERROR_MAX];
};

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x) {
            return true;
        }
        if (v[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

static int procfs_init(struct source *src, const struct source_config *cfg) {
    struct procfs_src *p = xcalloc(1, sizeof(*p));
    int fd;

    src->priv = p;
    p->first = true;
    p->every = cfg->discover_every ? cfg->discover_every : 1;
    p->procfd = open(cfg->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->procfd < 0) {
        int e = -errno;
        snprintf(p->err, sizeof(p->err), "cannot open procfs root %s: %s", cfg->procfs,
                 strerror(errno));
        return e;
    }
    fd = dup(p->procfd);
    p->dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!p->dir) {
        int e = -errno;
        snprintf(p->err, sizeof(p->err), "cannot list %s: %s", cfg->procfs, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return e;
    }
    return 0;
}

/* Still the same process? pread of the kept stat fd fails once it has exited. */
static bool vm_alive(struct known_vm *k) {
    char buf[1024];
    struct proc_pid_stat st;
    int n = proc_pread(k->statfd, buf, sizeof(buf));
    if (n <= 0 || proc_pid_stat_parse(buf, (size_t)n, &st) < 0) {
        return false;
    }
    return st.state != 'Z' && st.state != 'X' && st.starttime == k->vm.starttime;
}

static void add_vm(struct procfs_src *p, const struct source_vm *vm) {
    char path[32];
    int fd;

    snprintf(path, sizeof(path), "%d/stat", (int)vm->pid);
    fd = openat(p->procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    p->vms = xgrow(p->vms, &p->capvms, p->nvms + 1, sizeof(*p->vms));
    p->vms[p->nvms].vm = *vm;
    p->vms[p->nvms].statfd = fd;
    p->vms[p->nvms].seen = true;
    p->nvms++;
}

static int procfs_list(struct source *src, struct source_vm *out, size_t cap, size_t *n,
                       bool *changed) {
    struct procfs_src *p = src->priv;
    struct dirent *de;
    bool ch = p->first;

    if (!ch && ++p->tick % p->every != 0) {
        /* Not a discovery tick: nothing to read. The sampler reads each VM's stat every tick
         * anyway and drops a VM whose process ended; the next discovery tick drops it here. */
        goto out;
    }
    p->first = false;
    for (size_t i = 0; i < p->nvms; i++) {
        p->vms[i].seen = false;
    }
    p->nscan = 0;
    rewinddir(p->dir);
    errno = 0;
    while ((de = readdir(p->dir)) != NULL) {
        const char *s = de->d_name;
        uint32_t pid = 0;
        bool known = false;
        if (*s < '1' || *s > '9') {
            continue;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
            pid = pid * 10 + (uint32_t)(*s - '0');
        }
        if (*s) {
            continue;
        }
        for (size_t i = 0; i < p->nvms; i++) {
            if (p->vms[i].vm.pid == (int32_t)pid) {
                p->vms[i].seen = true;
                known = true;
                break;
            }
        }
        if (known) {
            continue;
        }
        if (!in_sorted(p->others, p->nothers, pid)) {
            struct source_vm vm;
            double age = -1;
            int r = source__probe_qemu_age(p->procfd, (int32_t)pid, &vm, &age);
            if (r == 1) {
                add_vm(p, &vm);
                ch = true;
                continue;
            }
            if (r < 0 || age < 10.0) {
                /* gone already, or young enough to exec QEMU still (fork + exec by setpriv,
                 * libvirt, Proxmox): not remembered, probed again on the next discovery */
                continue;
            }
        }
        p->scan = xgrow(p->scan, &p->capscan, p->nscan + 1, sizeof(*p->scan));
        p->scan[p->nscan++] = pid;
    }
    /* Swap the non-QEMU lists; /proc lists pids in ascending order, sort to be sure. */
    uint32_t *t = p->others;
    size_t tc = p->capothers;
    p->others = p->scan;
    p->capothers = p->capscan;
    p->nothers = p->nscan;
    p->scan = t;
    p->capscan = tc;
    if (p->nothers)
        qsort(p->others, p->nothers, sizeof(*p->others), cmp_u32);
    /* Drop VMs whose pid left the listing or whose process changed. */
    for (size_t i = 0; i < p->nvms;) {
        if (!p->vms[i].seen || !vm_alive(&p->vms[i])) {
            close(p->vms[i].statfd);
            p->vms[i] = p->vms[--p->nvms];
            ch = true;
            continue;
        }
        i++;
    }
out:
    *changed = ch;
    *n = p->nvms;
    if (p->nvms > cap) {
        p->first = ch; /* report the change again on the retry with a bigger array */
        return -ENOBUFS;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        out[i] = p->vms[i].vm;
    }
    return 0;
}

static const char *procfs_last_error(const struct source *src) {
    const struct procfs_src *p = src->priv;
    return p ? p->err : "procfs source not initialised";
}

static void procfs_fini(struct source *src) {
    struct procfs_src *p = src->priv;
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        close(p->vms[i].statfd);
    }
    if (p->dir) {
        closedir(p->dir);
    }
    if (p->procfd >= 0) {
        close(p->procfd);
    }
    free(p->others);
    free(p->scan);
    free(p->vms);
    free(p);
}

const struct source_ops source_procfs_ops = {
    .name = "procfs",
    .init = procfs_init,
    .list = procfs_list,
    .sample = NULL,
    .last_error = procfs_last_error,
    .fini = procfs_fini,
};
