/* source.h: where the sampler finds its VMs (procfs, Proxmox VE, libvirt), as a vtable.
 *
 * A source discovers VMs and says who they are (name, UUID, VMID, QMP socket, taps, configured
 * size); the per-VM /proc, cgroup and tap counters are read by the sampler's collectors for every
 * source alike, because every VM is a QEMU process on this host. A source that has per-tick data
 * of its own (libvirt's bulk stats call) hands it over per VM through values() and a
 * source_sink, in catalogue metrics. One source is active at a time.
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
    bool debug_threads;        /* -name ...,debug-threads=on: vCPU threads are named "CPU N/..."
                                  (else only QMP query-cpus-fast tells which threads they are) */
    size_t nnics;
    char nics[SOURCE_MAX_NICS][SOURCE_IFNAME]; /* host side of each NIC (tap, vnet), in order */
};

/* What every source gets at init. Roots are absolute paths ("/proc", "/sys", "/"). */
struct source_config {
    const char *procfs;      /* procfs root */
    const char *sysfs;       /* sysfs root */
    const char *pve_root;    /* Proxmox root prefix ("" or "/" = the real paths) */
    const char *uri;         /* libvirt connection URI (libvirt source) */
    const char *run_dir;     /* libvirt source: where NAME.pid / NAME.xml are (NULL = the
                              * default /run/libvirt/qemu; tests point it elsewhere) */
    unsigned discover_every; /* procfs: list all processes every N ticks (0 = 1); known VMs are
                              * checked for exit every tick regardless */
    unsigned daemon_every;   /* libvirt: the QEMU-served groups every N ticks (0 = 1) */
    unsigned libvirt_groups; /* libvirt: LVS_G_* groups (0 = LVS_G_DEFAULT) */
    bool verbose;
};

struct source;

/* One value a source hands over: metric is a catalogue index (catalogue_find), v the raw value
 * already in the catalogue's unit (libvirt's KiB × 1024 → bytes). */
struct source_value {
    int metric;
    uint64_t v;
};

/* Where values() puts a VM's values, one call per entity with that entity's values of this tick.
 * A value not handed over stays missing, never 0. The sampler ignores a metric that is disabled
 * (its collector is off) or of another scope, and never overwrites a value its own collectors
 * read this tick (the tap counters of a NIC, say): one name holds one reading per tick. */
struct source_sink {
    void *ctx;
    void (*vm)(void *ctx, const struct source_value *val, size_t n);
    /* vCPU idx; tid is the host thread the source knows for it, or -1. Only a vCPU the sampler
     * found among the VM's threads (with that TID when tid >= 0) takes the values. */
    void (*vcpu)(void *ctx, int32_t idx, int32_t tid, const struct source_value *val, size_t n);
    /* The virtual disk the source calls name (libvirt: block.N.name, "vda"); made on first use
     * (n > 0). n == 0 only says the disk is still there. */
    void (*disk)(void *ctx, const char *name, const struct source_value *val, size_t n);
    /* The NIC whose host side is ifname (one of source_vm.nics), in the guest's direction. */
    void (*nic)(void *ctx, const char *ifname, const struct source_value *val, size_t n);
};

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
    /* The source's own values of vm, one of the VMs list() gave this tick (may be NULL).
     * Called once per VM per tick after the collectors, from data list() already fetched: no
     * I/O, no allocation. Returns 1 when it had data for vm and named every virtual disk vm
     * has now (the sampler forgets the disks it did not name), 0 when it had no or only part of
     * the data (nothing is forgotten), or a negative error. */
    int (*values)(struct source *src, const struct source_vm *vm, const struct source_sink *sink);
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
