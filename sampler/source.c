/* source.c: picking and opening a source, and the /proc probing every source shares.
 * SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc_parse.h"
#include "qemu_cmdline.h"
#include "source_internal.h"

void source__copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool source__comm_is_qemu(const char *comm) {
    return strncmp(comm, "qemu-system-", 12) == 0 || strcmp(comm, "kvm") == 0;
}

int source__pid_starttime(int procfd, int32_t pid, uint64_t *starttime, char *state) {
    char path[32], buf[1024];
    struct proc_pid_stat st;
    int n;

    snprintf(path, sizeof(path), "%d/stat", (int)pid);
    n = proc_read_at(procfd, path, buf, sizeof(buf));
    if (n < 0) {
        return n;
    }
    n = proc_pid_stat_parse(buf, (size_t)n, &st);
    if (n < 0) {
        return n;
    }
    *starttime = st.starttime;
    if (state) {
        *state = st.state;
    }
    return 0;
}

/* The basename of the exe link names a QEMU system emulator. */
static int exe_is_qemu(int procfd, int32_t pid) {
    char path[32], target[512];
    const char *b;
    ssize_t n;

    snprintf(path, sizeof(path), "%d/exe", (int)pid);
    n = readlinkat(procfd, path, target, sizeof(target) - 1);
    if (n < 0) {
        return -errno;
    }
    target[n] = '\0';
    /* A replaced binary reads "/usr/bin/qemu-system-x86_64 (deleted)": still QEMU. */
    char *del = strstr(target, " (deleted)");
    if (del) {
        *del = '\0';
    }
    b = strrchr(target, '/');
    b = b ? b + 1 : target;
    return strncmp(b, "qemu-system-", 12) == 0 || strcmp(b, "kvm") == 0 ||
           strncmp(b, "qemu-kvm", 8) == 0;
}

int source__probe_qemu(int procfd, int32_t pid, struct source_vm *vm) {
    double age;
    return source__probe_qemu_age(procfd, pid, vm, &age);
}

int source__probe_qemu_age(int procfd, int32_t pid, struct source_vm *vm, double *age_s) {
    char path[32], buf[1024];
    static char cmd[65536]; /* probing is single-threaded and never re-entered */
    struct proc_pid_stat st;
    struct qemu_cmdline cl;
    int n, ex;

    snprintf(path, sizeof(path), "%d/stat", (int)pid);
    n = proc_read_at(procfd, path, buf, sizeof(buf));
    if (n < 0) {
        return n;
    }
    if (proc_pid_stat_parse(buf, (size_t)n, &st) < 0) {
        *age_s = -1;
        return 0;
    }
    {
        struct timespec tb;
        long hz = sysconf(_SC_CLK_TCK);
        clock_gettime(CLOCK_BOOTTIME, &tb);
        *age_s = (double)tb.tv_sec + (double)tb.tv_nsec / 1e9 -
                 (double)st.starttime / (double)(hz > 0 ? hz : 100);
    }
    if (st.state == 'Z' || st.state == 'X') {
        return 0;
    }
    ex = exe_is_qemu(procfd, pid);
    if (ex == 0) {
        return 0;
    }
    if (ex < 0 && !source__comm_is_qemu(st.comm)) {
        return 0; /* exe not readable (not root): fall back to comm + argv[0] */
    }
    snprintf(path, sizeof(path), "%d/cmdline", (int)pid);
    n = proc_read_at(procfd, path, cmd, sizeof(cmd));
    if (n == -ENOBUFS) {
        n = (int)sizeof(cmd) - 1; /* a huge command line: parse what fits */
    } else if (n < 0) {
        return n;
    }
    if (n == 0 || qemu_cmdline_parse(cmd, (size_t)n, &cl) < 0) {
        return 0; /* kernel thread or exiting */
    }
    if (ex < 0 && !cl.is_qemu) {
        return 0;
    }
    memset(vm, 0, sizeof(*vm));
    vm->pid = pid;
    vm->starttime = st.starttime;
    vm->mem_bytes = cl.mem_bytes;
    vm->vcpus = cl.smp > 0 ? cl.smp : (cl.smp < 0 ? 1 : -1); /* QEMU's default is 1 vCPU */
    vm->debug_threads = cl.debug_threads;
    if (cl.has_name) {
        source__copy(vm->name, sizeof(vm->name), cl.name);
    }
    if (cl.has_uuid) {
        source__copy(vm->uuid, sizeof(vm->uuid), cl.uuid);
    }
    for (size_t i = 0; i < cl.nqmp; i++) {
        /* libvirt's monitor socket is libvirt's: a second client hangs (lab.md), never use it */
        if (strstr(cl.qmp[i], "/libvirt/") || strstr(cl.qmp[i], "monitor.sock")) {
            continue;
        }
        source__copy(vm->qmp, sizeof(vm->qmp), cl.qmp[i]);
        break;
    }
    for (size_t i = 0; i < cl.nifnames && vm->nnics < SOURCE_MAX_NICS; i++) {
        source__copy(vm->nics[vm->nnics++], SOURCE_IFNAME, cl.ifnames[i]);
    }
    return 1;
}

const struct source_ops *source_pick(enum source_kind kind, const struct source_config *cfg) {
    char path[SOURCE_PATH_MAX + 64];
    struct stat sb;
    const char *root = cfg->pve_root && *cfg->pve_root ? cfg->pve_root : "";

    switch (kind) {
    case SOURCE_PROCFS:
        return &source_procfs_ops;
    case SOURCE_PROXMOX:
        return &source_proxmox_ops;
    case SOURCE_LIBVIRT:
        return &source_libvirt_ops;
    case SOURCE_AUTO:
        break;
    }
    snprintf(path, sizeof(path), "%s/etc/pve/qemu-server", strcmp(root, "/") == 0 ? "" : root);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        return &source_proxmox_ops;
    }
    return &source_procfs_ops;
}

int source_open(struct source *src, const struct source_ops *ops, const struct source_config *cfg) {
    src->ops = ops;
    src->priv = NULL;
    return ops->init(src, cfg);
}

void source_close(struct source *src) {
    if (src && src->ops && src->ops->fini) {
        src->ops->fini(src);
    }
    if (src) {
        src->priv = NULL;
    }
}
