/* source.h: where the sampler finds its VMs (procfs, Proxmox VE, libvirt), as a vtable.
 *
 * A source discovers VMs and says who they are (name, UUID, VMID, QMP socket, taps, configured
 * size); the per-VM /proc, cgroup and tap counters are read by the sampler's collectors for every
 * source alike, because every VM is a QEMU process on this host. A source that has per-tick data
 * of its own (libvirt's bulk stats call, QMP) implements sample(). One source is active at a time.
 *
 * Discovery must be cheap: list() is called every tick and reports through *changed whether the
 * set of VMs differs from its previous answer; the sampler reconciles only then.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_SOURCE_H
#define SAMPLER_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOURCE_NAME_MAX  128
#define SOURCE_UUID_LEN  36
#define SOURCE_VMID_MAX  24
#define SOURCE_PATH_MAX  256
#define SOURCE_IFNAME    16
#define SOURCE_MAX_NICS  8
#define SOURCE_ERROR_MAX 256

/* One VM as a source reports it. Strings are empty when unknown, numbers -1. */
struct source_vm {
    int32_t pid;
    uint64_t starttime; /* /proc/PID/stat field 22: (pid, starttime) detects pid reuse */
    char name[SOURCE_NAME_MAX];
    char uuid[SOURCE_UUID_LEN + 1];
    char vmid[SOURCE_VMID_MAX];
    char qmp[SOURCE_PATH_MAX]; /* a QMP socket known for this VM, or "" */
    int64_t mem_bytes;         /* configured memory */
    int32_t vcpus;             /* configured vCPUs */
    size_t nnics;
    char nics[SOURCE_MAX_NICS][SOURCE_IFNAME]; /* host side of each NIC (tap, vnet), in order */
};

/* What every source gets at init. Roots are absolute paths ("/proc", "/sys", "/"). */
struct source_config {
    const char *procfs;      /* procfs root */
    const char *sysfs;       /* sysfs root */
    const char *pve_root;    /* Proxmox root prefix ("" or "/" = the real paths) */
    const char *uri;         /* libvirt connection URI (libvirt source) */
    unsigned discover_every; /* procfs: list all processes every N ticks (0 = 1); known VMs are
                              * checked for exit every tick regardless */
    bool verbose;
};

struct source;

/* The vtable (htop's Platform, nvtop's gpu_vendor). All functions return 0 or a negative
 * errno / -CORE_E*; on failure last_error() says why in one line. */
struct source_ops {
    const char *name; /* "procfs", "proxmox", "libvirt" */
    /* Allocates the source's private state into src->priv. */
    int (*init)(struct source *src, const struct source_config *cfg);
    /* Fills out[0..*n) (cap entries) with the VMs running now. *changed is set when the set or
     * any VM's description differs from the previous call (first call: true). When more than
     * cap VMs exist, returns -ENOBUFS with *n = the count needed; the caller grows and retries. */
    int (*list)(struct source *src, struct source_vm *out, size_t cap, size_t *n, bool *changed);
    /* Per-tick data of the source itself (may be NULL): called once per tick after list(). */
    int (*sample)(struct source *src);
    const char *(*last_error)(const struct source *src);
    void (*fini)(struct source *src);
};

struct source {
    const struct source_ops *ops;
    void *priv;
};

extern const struct source_ops source_procfs_ops;
extern const struct source_ops source_proxmox_ops;
extern const struct source_ops source_libvirt_ops;

enum source_kind {
    SOURCE_AUTO = 0,
    SOURCE_PROCFS,
    SOURCE_PROXMOX,
    SOURCE_LIBVIRT,
};

/* Picks the source for kind; SOURCE_AUTO: Proxmox when <pve_root>/etc/pve/qemu-server is a
 * directory, else procfs (libvirt only when asked for with --libvirt: the procfs source already
 * sees libvirt's QEMU processes, with names and UUIDs from their command lines). */
const struct source_ops *source_pick(enum source_kind kind, const struct source_config *cfg);

/* Opens src with ops and cfg. On failure src->ops is still set so last_error() works. */
int source_open(struct source *src, const struct source_ops *ops, const struct source_config *cfg);

/* Finalises src (a no-op on a source never opened). */
void source_close(struct source *src);

#endif
