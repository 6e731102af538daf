/* sampler.h: the sampling engine: a source, the collectors, raw values per entity per tick.
 *
 * sampler_tick() reads everything enabled once (host files, then each VM's /proc, cgroup and tap
 * counters) into per-entity rows of raw values; sampler_journal_write() appends that tick to a
 * journal; the printers (printer.h) derive display values from the last two ticks with the
 * shared rate function. Steady state allocates nothing: files are opened when a VM, thread, disk
 * or NIC appears and re-read with pread; tables grow only when the host or the VM set grows.
 * Not thread-safe.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_SAMPLER_H
#define SAMPLER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

struct journal_writer;
struct sampler;

/* Collector flags (the seeds' --cpu --mem --disk --net --io --pressure --host). */
enum {
    COLL_CPU = 1u << 0,
    COLL_MEM = 1u << 1,
    COLL_DISK = 1u << 2,
    COLL_NET = 1u << 3,
    COLL_IO = 1u << 4,
    COLL_PRESSURE = 1u << 5,
    COLL_HOST = 1u << 6,
    COLL_ALL = (1u << 7) - 1,
    COLL_PERF = 1u << 7, /* --perf: not part of the default set (perf_event_open per VM cgroup) */
};

struct sampler_opts {
    const char *procfs;          /* procfs root, default "/proc" */
    const char *sysfs;           /* sysfs root, default "/sys" (cgroup v2 under SYSFS/fs/cgroup) */
    const char *pve_root;        /* Proxmox root prefix, default "" (the real paths) */
    const char *uri;             /* libvirt URI */
    const char *libvirt_run_dir; /* libvirt's NAME.pid / NAME.xml directory (NULL = default) */
    enum source_kind source;
    unsigned collectors;     /* COLL_* bits; none of COLL_ALL = all of them (plus COLL_PERF when
                                set) */
    unsigned discover_every; /* procfs source: full process scan every N ticks (0 = 1) */
    bool no_qmp;             /* never talk to QMP (vm_disk, balloon and guest memory missing;
                                vCPU threads of VMs without debug-threads=on unknown) */
    int qmp_timeout_ms;      /* one VM's QMP session deadline (0 = 200 ms) */
    int64_t qmp_budget_ns;   /* all QMP sessions of one tick together (0 = 400 ms); VMs past it
                                are served first on the next tick */
    unsigned daemon_every;   /* ask QEMU (QMP data queries; libvirt's QEMU-served groups) only
                                every N ticks per VM, spread over the ticks (0 = 1). A VM's
                                first tick always asks; in between those values are missing,
                                and counters are derived over the span between readings */
    unsigned libvirt_groups; /* libvirt source: LVS_G_* groups (0 = LVS_G_DEFAULT) */
    bool verbose;
};

/* Creates a sampler: opens the host files and the source. On failure returns a negative error
 * and writes a one-line reason into err. */
int sampler_new(struct sampler **out, const struct sampler_opts *o, char *err, size_t errlen);

/* Takes one sample of everything enabled, stamped now. Returns 0, or a negative error when the
 * source failed (the host part and the known VMs are still sampled; see sampler_last_error). */
int sampler_tick(struct sampler *s);

/* Appends the last tick to w: entity definitions for new entities, "gone" records for those
 * that left, then one row per entity. Returns 0 or the writer's error; on an error the sampler
 * keeps its state and the next call goes on (new entities are defined again after a reset). */
int sampler_journal_write(struct sampler *s, struct journal_writer *w);

/* Forgets which entities the journal knows (call after opening a new writer). */
void sampler_journal_reset(struct sampler *s);

/* Name of the source in use ("procfs", "proxmox", ...). */
const char *sampler_source_name(const struct sampler *s);

/* --perf: one line about counters this host does not provide or permit; "" when all is well. */
const char *sampler_perf_message(const struct sampler *s);

/* Last error text (source or collectors); "" when none. */
const char *sampler_last_error(const struct sampler *s);

/* Number of VMs sampled in the last tick. */
size_t sampler_nvms(const struct sampler *s);

/* Whether delay accounting (kernel.task_delayacct) is on: vm.io.blkio_delay is missing if not. */
bool sampler_delayacct(const struct sampler *s);

void sampler_free(struct sampler *s);

#endif
