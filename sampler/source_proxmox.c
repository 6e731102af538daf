/* source_proxmox.c: Proxmox VE VMs, found as <root>/var/run/qemu-server/VMID.pid.
 *
 * The pid in each pidfile must be a live QEMU process. Name, UUID, memory and vCPUs come from
 * <root>/etc/pve/qemu-server/VMID.conf (live section only: snapshot and pending sections never
 * win), the QMP socket is <root>/var/run/qemu-server/VMID.qmp and the taps are tapVMIDiN for each
 * netN of the config. Upstream QEMU has no -id option, so the VMID comes from the file name.
 * The root prefix lets tests build this layout in a temporary directory. Discovery is one fstat
 * of the pidfile directory per tick (its mtime changes when a pidfile comes or goes) plus one
 * pread per known VM to see that its process still lives; configs are read once per VM start.
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_error.h"
#include "proc_parse.h"
#include "pve_conf.h"
#include "source_internal.h"
#include "xalloc.h"

struct pve_vm {
    struct source_vm vm;
    int statfd;
    bool seen;
};

struct pve_src {
    char root[SOURCE_PATH_MAX];
    char rundir[SOURCE_PATH_MAX + 32];
    char confdir[SOURCE_PATH_MAX + 32];
    int procfd;
    int runfd;
    struct timespec run_mtime;
    bool first;
    unsigned stale;       /* pidfiles that did not name a live QEMU at the last rescan */
    unsigned since_retry; /* ticks since then: such pidfiles are retried every few ticks */
    unsigned alive_ticks;
    struct pve_vm *vms;
    size_t nvms, capvms;
    char err[SOURCE_ERROR_MAX];
};

static int pve_init(struct source *src, const struct source_config *cfg) {
    struct pve_src *p = xcalloc(1, sizeof(*p));
    const char *root = cfg->pve_root && strcmp(cfg->pve_root, "/") != 0 ? cfg->pve_root : "";

    src->priv = p;
    p->first = true;
    p->runfd = -1;
    source__copy(p->root, sizeof(p->root), root);
    snprintf(p->rundir, sizeof(p->rundir), "%s/var/run/qemu-server", p->root);
    snprintf(p->confdir, sizeof(p->confdir), "%s/etc/pve/qemu-server", p->root);
    p->procfd = open(cfg->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->procfd < 0) {
        int e = -errno;
        snprintf(p->err, sizeof(p->err), "cannot open procfs root %s: %s", cfg->procfs,
                 strerror(errno));
        return e;
    }
    return 0;
}

static bool alive(struct pve_vm *k) {
    char buf[1024];
    struct proc_pid_stat st;
    int n = proc_pread(k->statfd, buf, sizeof(buf));
    if (n <= 0 || proc_pid_stat_parse(buf, (size_t)n, &st) < 0) {
        return false;
    }
    return st.state != 'Z' && st.state != 'X' && st.starttime == k->vm.starttime;
}

/* Reads VMID.pid and VMID.conf and probes the process. Returns 1 with *vm filled, 0 if the
 * pidfile does not name a live QEMU process. */
static int load_vm(struct pve_src *p, const char *vmid, struct source_vm *vm) {
    char path[SOURCE_PATH_MAX + 64], buf[8192];
    struct pve_conf conf;
    uint64_t pid = 0;
    int n, r;

    snprintf(path, sizeof(path), "%s.pid", vmid);
    n = proc_read_at(p->runfd, path, buf, sizeof(buf));
    if (n <= 0 || proc_u64_parse(buf, (size_t)n, &pid) < 0 || pid == 0 || pid > INT32_MAX) {
        return 0;
    }
    r = source__probe_qemu(p->procfd, (int32_t)pid, vm);
    if (r != 1) {
        return 0; /* stale pidfile: the process is gone or is not QEMU */
    }
    source__copy(vm->vmid, sizeof(vm->vmid), vmid);
    snprintf(path, sizeof(path), "%s/%s.qmp", p->rundir, vmid);
    source__copy(vm->qmp, sizeof(vm->qmp), path);
    snprintf(path, sizeof(path), "%s/%s.conf", p->confdir, vmid);
    n = proc_read_at(AT_FDCWD, path, buf, sizeof(buf));
    if (n == -ENOBUFS) {
        /* A config with a long description: the live keys come first, parse what fits. */
        n = (int)sizeof(buf) - 1;
    }
    if (n > 0 && pve_conf_parse(buf, (size_t)n, &conf) == 0) {
        if (conf.name[0]) {
            source__copy(vm->name, sizeof(vm->name), conf.name);
        }
        if (conf.uuid[0]) {
            source__copy(vm->uuid, sizeof(vm->uuid), conf.uuid);
        }
        if (conf.memory_mib > 0) {
            vm->mem_bytes = conf.memory_mib << 20;
        }
        vm->vcpus = pve_conf_vcpus(&conf);
        if (conf.nnets > 0) {
            vm->nnics = 0;
            for (uint32_t i = 0; i < conf.nnets && vm->nnics < SOURCE_MAX_NICS; i++) {
                snprintf(vm->nics[vm->nnics++], SOURCE_IFNAME, "tap%si%u", vmid,
                         (unsigned)conf.nets[i]);
            }
        }
    }
    if (!vm->name[0]) {
        snprintf(vm->name, sizeof(vm->name), "vm-%s", vmid);
    }
    return 1;
}

static void rescan(struct pve_src *p, bool *ch) {
    DIR *d;
    struct dirent *de;
    int fd = dup(p->runfd);

    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    rewinddir(d); /* the dup shares runfd's offset, left at the end by the last rescan */
    while ((de = readdir(d)) != NULL) {
        char vmid[SOURCE_VMID_MAX];
        size_t len = strlen(de->d_name), i;
        if (len < 5 || len - 4 >= sizeof(vmid) || strcmp(de->d_name + len - 4, ".pid") != 0) {
            continue;
        }
        for (i = 0; i < len - 4 && de->d_name[i] >= '0' && de->d_name[i] <= '9'; i++) {
        }
        if (i != len - 4) {
            continue; /* Proxmox VMIDs are numeric */
        }
        memcpy(vmid, de->d_name, len - 4);
        vmid[len - 4] = '\0';
        bool known = false;
        for (size_t k = 0; k < p->nvms; k++) {
            if (strcmp(p->vms[k].vm.vmid, vmid) == 0) {
                p->vms[k].seen = true;
                known = true;
            }
        }
        if (known) {
            continue;
        }
        struct source_vm vm;
        if (load_vm(p, vmid, &vm) != 1) {
            p->stale++; /* being written, or left by a killed VM */
        } else {
            char path[32];
            snprintf(path, sizeof(path), "%d/stat", (int)vm.pid);
            int sfd = openat(p->procfd, path, O_RDONLY | O_CLOEXEC);
            if (sfd < 0) {
                continue;
            }
            p->vms = xgrow(p->vms, &p->capvms, p->nvms + 1, sizeof(*p->vms));
            p->vms[p->nvms].vm = vm;
            p->vms[p->nvms].statfd = sfd;
            p->vms[p->nvms].seen = true;
            p->nvms++;
            *ch = true;
        }
    }
    closedir(d);
}

static int pve_list(struct source *src, struct source_vm *out, size_t cap, size_t *n,
                    bool *changed) {
    struct pve_src *p = src->priv;
    struct stat sb;
    bool ch = p->first, dir_changed = false;

    p->first = false;
    if (p->runfd < 0) {
        p->runfd = open(p->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->runfd < 0) {
            snprintf(p->err, sizeof(p->err), "%.200s: %s", p->rundir, strerror(errno));
        }
        dir_changed = true;
    }
    if (p->runfd >= 0) {
        if (fstat(p->runfd, &sb) == 0 && (sb.st_mtim.tv_sec != p->run_mtime.tv_sec ||
                                          sb.st_mtim.tv_nsec != p->run_mtime.tv_nsec)) {
            p->run_mtime = sb.st_mtim;
            dir_changed = true;
        }
        if (sb.st_nlink == 0) { /* the directory was removed and maybe re-created */
            close(p->runfd);
            p->runfd = -1;
        }
    }
    for (size_t i = 0; i < p->nvms; i++) {
        p->vms[i].seen = !dir_changed;
    }
    if (!dir_changed && p->stale > 0 && ++p->since_retry >= 5) {
        dir_changed = true;
        for (size_t i = 0; i < p->nvms; i++) {
            p->vms[i].seen = false;
        }
    }
    if (dir_changed && p->runfd >= 0) {
        p->stale = 0;
        p->since_retry = 0;
        rescan(p, &ch);
    }
    /* Liveness of known VMs (one pread each) on rescans and every 5th tick only: the sampler
     * reads each VM's stat every tick anyway and drops one whose process ended. */
    bool check = dir_changed || ++p->alive_ticks % 5 == 0;
    for (size_t i = 0; i < p->nvms;) {
        if (!p->vms[i].seen || (check && !alive(&p->vms[i]))) {
            close(p->vms[i].statfd);
            p->vms[i] = p->vms[--p->nvms];
            ch = true;
            /* A VM that died while its pidfile stays (e.g. SIGKILL) is looked at again when the
             * directory changes: the next start rewrites the pidfile. */
            continue;
        }
        i++;
    }
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

static const char *pve_last_error(const struct source *src) {
    const struct pve_src *p = src->priv;
    return p ? p->err : "proxmox source not initialised";
}

static void pve_fini(struct source *src) {
    struct pve_src *p = src->priv;
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->nvms; i++) {
        close(p->vms[i].statfd);
    }
    if (p->runfd >= 0) {
        close(p->runfd);
    }
    if (p->procfd >= 0) {
        close(p->procfd);
    }
    free(p->vms);
    free(p);
}

const struct source_ops source_proxmox_ops = {
    .name = "proxmox",
    .init = pve_init,
    .list = pve_list,
    .sample = NULL,
    .last_error = pve_last_error,
    .fini = pve_fini,
};
