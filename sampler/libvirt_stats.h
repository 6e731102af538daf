/* libvirt_stats.h: the libvirt source: one virConnectGetAllDomainStats call per tick.
 *
 * One call returns every (active) domain with the groups asked for among state, cpu-total,
 * balloon, vcpu (incl. vcpu.N.wait / vcpu.N.delay), interface and block (incl. times); the typed
 * parameters
 * are parsed into plain per-domain structs and every libvirt object is freed before returning
 * (virDomainStatsRecordListFree). The connection is read-only (virConnectOpenReadOnly) unless
 * asked otherwise; that is enough for the stats call. Values are raw, as libvirt reports them
 * (cumulative counters in ns / bytes / requests, gauges in KiB / bytes); a parameter libvirt did
 * not send is missing (validity bit clear), never 0.
 *
 * Interface direction: libvirt's net.N.rx.* / tx.* are read from the host side of the device
 * (/proc/net/dev) by virNetDevTapInterfaceStats(ifname, stats, swapped) with
 * swapped = !virDomainNetTypeSharesHostView(net): for tap-backed types libvirt swaps rx/tx so
 * they are in the GUEST's direction (rx = what the guest received); for macvtap ('direct') it
 * does not swap, and a macvtap's own rx already is what the guest receives. Either way the
 * values are the guest's view. Measured with libvirt 9.0 (tests/lab, test_lab_sampler_libvirt_io)
 * on a type='ethernet' tap: net.0.rx.bytes equals the tap's own tx_bytes
 * (/sys/class/net/TAP/statistics) and net.0.tx.bytes its rx_bytes. This module passes the
 * values through unchanged.
 *
 * PIDs and vCPU TIDs: the domain's QEMU PID from RUNDIR/NAME.pid (RUNDIR default
 * /run/libvirt/qemu), vCPU TIDs from the status XML RUNDIR/NAME.xml (<vcpu id='N' pid='TID'/>,
 * root-only). Both are read once per domain instance (name + id) and cached, not per tick.
 *
 * Reconnect: when a call fails because the connection is dead (libvirtd restarted or gone),
 * the connection is closed and reopened on a later lvs_sample() call with exponential backoff
 * (backoff_min_ms doubling to backoff_max_ms). While disconnected, lvs_sample() returns
 * -ENOTCONN at once (no blocking) until the next retry is due; one retry costs one connect
 * attempt (a refused/absent socket fails in well under a millisecond).
 * Limitation: a libvirtd that accepts but never answers (SIGSTOPped) blocks the RPC; there is no
 * client-side RPC timeout without an event loop + keepalive (see lvs_options.keepalive).
 *
 * Errors are negative codes (formats/core_error.h): -ENOTCONN (no connection yet / backoff),
 * -ECONNREFUSED (open failed: bad URI, no daemon), -EIO (the stats call failed), -ENOMEM,
 * -EINVAL. lvs_last_error() gives libvirt's message. The module never prints: libvirt's default
 * error handler (which prints to stderr) is replaced by a silent one (virSetErrorFunc, process
 * wide, and per connection). SIGPIPE: libvirt's RPC client can raise it when libvirtd dies; it
 * is blocked in the calling thread around every libvirt call and consumed, never left to kill
 * the process, and the process's signal dispositions are not changed.
 *
 * Threads: one struct lvs per thread at a time.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_LIBVIRT_STATS_H
#define SAMPLER_LIBVIRT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LVS_NAME_MAX        256 /* domain names, disk paths, interface names (cut, not overflowed) */
#define LVS_UUID_LEN        36
#define LVS_DEFAULT_URI     "qemu:///system"
#define LVS_DEFAULT_RUN_DIR "/run/libvirt/qemu"

/*============================== Options ============================== */

/* Statistics groups of one call (virDomainStatsTypes, kept libvirt-free here). What each costs
 * to serve, measured per VM per call with libvirt 9.0 / QEMU 7.2 (tests/bench/
 * bench_sampler_libvirt.sh; libvirtd / QEMU ms): state 0.03 / 0, interface 0.06 / 0 (libvirtd
 * reads /proc/net/dev), cpu-total 0.33 / 0.97, balloon 0.31 / 1.17, vcpu 0.47 / 0.76, block
 * 0.53 / 1.48: the last four are asked of QEMU over QMP (query-stats, query-balloon, qom-get,
 * query-blockstats, query-named-block-nodes). cpu-total and vcpu repeat what /proc and the
 * cgroup give the sampler for free, so they are off by default. */
enum {
    LVS_G_STATE = 1u << 0,
    LVS_G_CPU_TOTAL = 1u << 1,
    LVS_G_BALLOON = 1u << 2,
    LVS_G_VCPU = 1u << 3,
    LVS_G_INTERFACE = 1u << 4,
    LVS_G_BLOCK = 1u << 5,
    LVS_G_ALL = (1u << 6) - 1,
    /* the groups whose data only libvirt (i.e. QEMU) has */
    LVS_G_DEFAULT = LVS_G_STATE | LVS_G_BALLOON | LVS_G_INTERFACE | LVS_G_BLOCK,
    /* the groups libvirtd asks QEMU for: the costly ones */
    LVS_G_QEMU = LVS_G_CPU_TOTAL | LVS_G_BALLOON | LVS_G_VCPU | LVS_G_BLOCK,
};

/* Parses a comma-separated list of group names ("state", "cpu-total", "balloon", "vcpu",
 * "interface", "block"; "all"; "default") into LVS_G_* bits. Returns 0, or -EINVAL with the
 * first unknown name in bad (bad may be NULL). */
int lvs_groups_parse(const char *list, unsigned *out, char *bad, size_t badlen);

struct lvs_options {
    const char *uri;       /* NULL = LVS_DEFAULT_URI; "test:///default" needs no daemon */
    const char *run_dir;   /* NULL = LVS_DEFAULT_RUN_DIR; where NAME.pid / NAME.xml live */
    bool read_write;       /* false (default) = virConnectOpenReadOnly */
    bool include_inactive; /* false (default) = only active domains (inactive have no stats) */
    bool no_pid_lookup;    /* true = skip NAME.pid / NAME.xml (e.g. test driver, remote URI) */
    int backoff_min_ms;    /* 0 = 500 */
    int backoff_max_ms;    /* 0 = 30000 */
    int keepalive;         /* reserved (0); see the limitation above */
};

/*============================== Per-domain data ============================== */

/* Validity bits in struct lvs_domain.valid */
enum {
    LVS_D_STATE = 1u << 0,      /* state, reason */
    LVS_D_CPU_TIME = 1u << 1,   /* cpu.time */
    LVS_D_CPU_USER = 1u << 2,   /* cpu.user */
    LVS_D_CPU_SYSTEM = 1u << 3, /* cpu.system */
    LVS_D_VCPU_COUNT = 1u << 4, /* vcpu.current, vcpu.maximum */
    LVS_D_PID = 1u << 5,        /* pid (from RUNDIR/NAME.pid) */
    LVS_D_VCPU_TIDS = 1u << 6,  /* vcpu[].tid from the status XML */
    LVS_D_BLOCK = 1u << 7,      /* block.count: the block group came, disk[] is every disk */
};

/* balloon.* (KiB unless stated; see virConnectGetAllDomainStats docs). */
enum lvs_balloon_field {
    LVS_BAL_CURRENT,      /* balloon.current: KiB currently used (the balloon's "actual") */
    LVS_BAL_MAXIMUM,      /* balloon.maximum */
    LVS_BAL_SWAP_IN,      /* balloon.swap_in (KiB) */
    LVS_BAL_SWAP_OUT,     /* balloon.swap_out */
    LVS_BAL_MAJOR_FAULT,  /* balloon.major_fault (count) */
    LVS_BAL_MINOR_FAULT,  /* balloon.minor_fault (count) */
    LVS_BAL_UNUSED,       /* balloon.unused */
    LVS_BAL_AVAILABLE,    /* balloon.available */
    LVS_BAL_USABLE,       /* balloon.usable */
    LVS_BAL_RSS,          /* balloon.rss (host-side RSS of QEMU, KiB) */
    LVS_BAL_DISK_CACHES,  /* balloon.disk_caches */
    LVS_BAL_HTLB_PGALLOC, /* balloon.hugetlb_pgalloc */
    LVS_BAL_HTLB_PGFAIL,  /* balloon.hugetlb_pgfail */
    LVS_BAL_LAST_UPDATE,  /* balloon.last-update (epoch s of the guest's last report) */
    LVS_BAL_NFIELDS
};

struct lvs_vcpu {
    uint64_t time_ns;  /* vcpu.N.time: ns on a CPU (counter) */
    uint64_t wait_ns;  /* vcpu.N.wait: ns waiting for I/O (counter) */
    uint64_t delay_ns; /* vcpu.N.delay: ns runnable but waiting for a CPU (schedstat run_delay) */
    int32_t state;     /* vcpu.N.state: virVcpuState (0 offline, 1 running, 2 blocked) */
    int32_t tid;       /* host TID from the status XML; valid with LVS_V_TID */
    uint32_t valid;    /* LVS_V_* */
};
enum {
    LVS_V_TIME = 1u << 0,
    LVS_V_WAIT = 1u << 1,
    LVS_V_DELAY = 1u << 2,
    LVS_V_STATE = 1u << 3,
    LVS_V_TID = 1u << 4,
};

/* net.N.*: GUEST direction (see the header comment). */
enum lvs_nic_field {
    LVS_NIC_RX_BYTES,
    LVS_NIC_RX_PKTS,
    LVS_NIC_RX_ERRS,
    LVS_NIC_RX_DROP,
    LVS_NIC_TX_BYTES,
    LVS_NIC_TX_PKTS,
    LVS_NIC_TX_ERRS,
    LVS_NIC_TX_DROP,
    LVS_NIC_NFIELDS
};

struct lvs_nic {
    char name[LVS_NAME_MAX]; /* net.N.name: host device (tap/vnet/macvtap) */
    uint64_t v[LVS_NIC_NFIELDS];
    uint32_t valid; /* bit f = v[f] present */
};

/* block.N.* */
enum lvs_disk_field {
    LVS_DISK_RD_REQS,
    LVS_DISK_RD_BYTES,
    LVS_DISK_RD_TIMES, /* ns */
    LVS_DISK_WR_REQS,
    LVS_DISK_WR_BYTES,
    LVS_DISK_WR_TIMES, /* ns */
    LVS_DISK_FL_REQS,
    LVS_DISK_FL_TIMES,   /* ns */
    LVS_DISK_ERRORS,     /* Xen only */
    LVS_DISK_ALLOCATION, /* bytes (gauge) */
    LVS_DISK_CAPACITY,   /* bytes (gauge) */
    LVS_DISK_PHYSICAL,   /* bytes (gauge) */
    LVS_DISK_NFIELDS
};

struct lvs_disk {
    char name[LVS_NAME_MAX]; /* block.N.name: target ("vda") */
    char path[LVS_NAME_MAX]; /* block.N.path: source file/device; "" when absent */
    int32_t backing_index;   /* block.N.backingIndex, -1 when absent (top layer) */
    uint64_t v[LVS_DISK_NFIELDS];
    uint32_t valid;
};

struct lvs_domain {
    char name[LVS_NAME_MAX];
    char uuid[LVS_UUID_LEN + 1]; /* lowercase, with dashes */
    int32_t id;                  /* virDomainGetID: -1 when inactive */
    int32_t state;  /* state.state: virDomainState (1 running, 3 paused, 5 shutoff...) */
    int32_t reason; /* state.reason */
    uint64_t cpu_time_ns, cpu_user_ns, cpu_system_ns; /* cpu.* (counters, ns) */
    uint32_t vcpu_current, vcpu_maximum;
    pid_t pid;      /* QEMU PID, valid with LVS_D_PID */
    uint32_t valid; /* LVS_D_* */

    uint64_t balloon[LVS_BAL_NFIELDS];
    uint32_t balloon_valid; /* bit f = balloon[f] present */

    struct lvs_vcpu *vcpu; /* nvcpu entries indexed by vCPU number N (gaps: valid == 0) */
    size_t nvcpu, vcpu_cap;
    struct lvs_nic *nic; /* nnic entries in libvirt's order (net.N) */
    size_t nnic, nic_cap;
    struct lvs_disk *disk; /* ndisk entries in libvirt's order (block.N) */
    size_t ndisk, disk_cap;
};

/* The result of one tick. Caller-owned; zero-initialise once and pass to every lvs_sample()
 * call: arrays are reused (they grow, never shrink); free with lvs_snapshot_done().
 * Domains are in libvirt's order, which can change between ticks: match on uuid. */
struct lvs_snapshot {
    struct lvs_domain *dom;
    size_t count, cap;
    int64_t mono_before_ns, mono_after_ns; /* CLOCK_MONOTONIC around the stats call */
    int64_t call_ns;                       /* duration of virConnectGetAllDomainStats */
    bool reconnected;                      /* true when this call (re)opened the connection */
    unsigned groups;                       /* LVS_G_* asked for */
};

/*============================== API ============================== */

struct lvs; /* opaque: connection, backoff state, PID/TID cache */

/* Creates the module and tries to connect once. Returns NULL only on out of memory or bad
 * options (*err = -ENOMEM / -EINVAL). A failed first connect is NOT fatal: *err gets the code
 * (e.g. -ECONNREFUSED) and lvs_last_error() the message; later lvs_sample() calls retry. opt may
 * be NULL (all defaults). Strings in opt are copied. */
struct lvs *lvs_new(const struct lvs_options *opt, int *err);

/* Closes the connection and frees everything. NULL is a no-op. */
void lvs_free(struct lvs *l);

/* One tick: (re)connects if needed and due, calls virConnectGetAllDomainStats once for the
 * groups (LVS_G_* bits; 0 = LVS_G_ALL), fills out. A group not asked for leaves its fields
 * missing (and LVS_D_BLOCK clear: disks not asked for are not gone). PIDs and vCPU TIDs come from
 * the run directory whatever the groups. Returns the number of domains (>= 0), or a negative
 * error; on error out->count == 0. */
int lvs_sample(struct lvs *l, unsigned groups, struct lvs_snapshot *out);

/* True while a connection is open (it may still turn out dead on the next call). */
bool lvs_connected(const struct lvs *l);

/* The last libvirt / module error message ("" when none). Valid until the next call. */
const char *lvs_last_error(const struct lvs *l);

/* Counters over the module's lifetime. */
struct lvs_stats {
    uint64_t calls;    /* virConnectGetAllDomainStats calls */
    uint64_t failures; /* failed calls */
    uint64_t connects; /* successful opens (1 + reconnects) */
    uint64_t connect_failures;
};
void lvs_get_stats(const struct lvs *l, struct lvs_stats *out);

/* Frees the snapshot's arrays (the struct itself is the caller's). */
void lvs_snapshot_done(struct lvs_snapshot *s);

/* Parses a libvirt status XML (RUNDIR/NAME.xml) for <vcpu id='N' pid='TID'/> entries (and the
 * <domstatus pid='…'> QEMU pid). Fills tids[id] = TID for id < max (others untouched), returns
 * the number of vcpu entries found (>= 0) and *qemu_pid (0 when absent), or -CORE_EPARSE.
 * Exposed for tests and for the procfs source. */
int lvs_parse_status_xml(const char *buf, size_t len, int32_t *tids, size_t max, pid_t *qemu_pid);

#endif
