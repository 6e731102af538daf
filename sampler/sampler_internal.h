/* sampler_internal.h: the sampler's state, shared by sampler.c and printer.c only.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_SAMPLER_INTERNAL_H
#define SAMPLER_SAMPLER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "perf_counters.h"
#include "qmp.h"
#include "sampler.h"
#include "source.h"

/* Fields each scope fills, in catalogue names. The enum index is the field; a schema maps the
 * enabled ones to value slots of the entity's journal rows. */
// clang-format off
#define HOST_FIELDS(X) \
    X(H_CPU_USER, "host.cpu.user") \
    X(H_CPU_NICE, "host.cpu.nice") \
    X(H_CPU_SYSTEM, "host.cpu.system") \
    X(H_CPU_IDLE, "host.cpu.idle") \
    X(H_CPU_IOWAIT, "host.cpu.iowait") \
    X(H_CPU_IRQ, "host.cpu.irq") \
    X(H_CPU_SOFTIRQ, "host.cpu.softirq") \
    X(H_CPU_STEAL, "host.cpu.steal") \
    X(H_CPU_GUEST, "host.cpu.guest") \
    X(H_CPU_GUEST_NICE, "host.cpu.guest_nice") \
    X(H_CPU_CTXT, "host.cpu.ctxt") \
    X(H_CPU_FORKS, "host.cpu.forks") \
    X(H_CPU_INTR, "host.cpu.intr") \
    X(H_CPU_RUNNING, "host.cpu.procs_running") \
    X(H_CPU_BLOCKED, "host.cpu.procs_blocked") \
    X(H_CPU_ONLINE, "host.cpu.cores_online") \
    X(H_LOAD1, "host.load.avg1") \
    X(H_LOAD5, "host.load.avg5") \
    X(H_LOAD15, "host.load.avg15") \
    X(H_TASKS, "host.load.tasks") \
    X(H_BOOT_TIME, "host.boot_time") \
    X(H_CORES, "host.cores") \
    X(H_MEM_TOTAL, "host.mem.total") \
    X(H_MEM_FREE, "host.mem.free") \
    X(H_MEM_AVAILABLE, "host.mem.available") \
    X(H_MEM_BUFFERS, "host.mem.buffers") \
    X(H_MEM_CACHED, "host.mem.cached") \
    X(H_MEM_SWAP_CACHED, "host.mem.swap_cached") \
    X(H_MEM_ACTIVE, "host.mem.active") \
    X(H_MEM_INACTIVE, "host.mem.inactive") \
    X(H_MEM_ACTIVE_ANON, "host.mem.active_anon") \
    X(H_MEM_INACTIVE_ANON, "host.mem.inactive_anon") \
    X(H_MEM_ACTIVE_FILE, "host.mem.active_file") \
    X(H_MEM_INACTIVE_FILE, "host.mem.inactive_file") \
    X(H_MEM_UNEVICTABLE, "host.mem.unevictable") \
    X(H_MEM_MLOCKED, "host.mem.mlocked") \
    X(H_MEM_SWAP_TOTAL, "host.mem.swap_total") \
    X(H_MEM_SWAP_FREE, "host.mem.swap_free") \
    X(H_MEM_DIRTY, "host.mem.dirty") \
    X(H_MEM_WRITEBACK, "host.mem.writeback") \
    X(H_MEM_ANON_PAGES, "host.mem.anon_pages") \
    X(H_MEM_MAPPED, "host.mem.mapped") \
    X(H_MEM_SHMEM, "host.mem.shmem") \
    X(H_MEM_KRECLAIMABLE, "host.mem.kreclaimable") \
    X(H_MEM_SLAB, "host.mem.slab") \
    X(H_MEM_SRECLAIMABLE, "host.mem.sreclaimable") \
    X(H_MEM_SUNRECLAIM, "host.mem.sunreclaim") \
    X(H_MEM_KERNEL_STACK, "host.mem.kernel_stack") \
    X(H_MEM_PAGE_TABLES, "host.mem.page_tables") \
    X(H_MEM_COMMIT_LIMIT, "host.mem.commit_limit") \
    X(H_MEM_COMMITTED_AS, "host.mem.committed_as") \
    X(H_MEM_VMALLOC_USED, "host.mem.vmalloc_used") \
    X(H_MEM_PERCPU, "host.mem.percpu") \
    X(H_MEM_HW_CORRUPTED, "host.mem.hardware_corrupted") \
    X(H_MEM_ANON_HUGE, "host.mem.anon_huge_pages") \
    X(H_MEM_SHMEM_HUGE, "host.mem.shmem_huge_pages") \
    X(H_MEM_HP_TOTAL, "host.mem.hugepages_total") \
    X(H_MEM_HP_FREE, "host.mem.hugepages_free") \
    X(H_MEM_HP_RSVD, "host.mem.hugepages_rsvd") \
    X(H_MEM_HP_SURP, "host.mem.hugepages_surp") \
    X(H_MEM_HP_SIZE, "host.mem.hugepage_size") \
    X(H_MEM_HUGETLB, "host.mem.hugetlb") \
    PSI_FIELDS(X, H_PSI, "host.psi")

/* 24 PSI fields: resource (cpu, io, memory) x line (some, full) x (avg10, avg60, avg300, total). */
#define PSI_FIELDS(X, P, N) \
    X(P##_CPU_SOME_AVG10, N ".cpu.some_avg10") \
    X(P##_CPU_SOME_AVG60, N ".cpu.some_avg60") \
    X(P##_CPU_SOME_AVG300, N ".cpu.some_avg300") \
    X(P##_CPU_SOME_TOTAL, N ".cpu.some_total") \
    X(P##_CPU_FULL_AVG10, N ".cpu.full_avg10") \
    X(P##_CPU_FULL_AVG60, N ".cpu.full_avg60") \
    X(P##_CPU_FULL_AVG300, N ".cpu.full_avg300") \
    X(P##_CPU_FULL_TOTAL, N ".cpu.full_total") \
    X(P##_IO_SOME_AVG10, N ".io.some_avg10") \
    X(P##_IO_SOME_AVG60, N ".io.some_avg60") \
    X(P##_IO_SOME_AVG300, N ".io.some_avg300") \
    X(P##_IO_SOME_TOTAL, N ".io.some_total") \
    X(P##_IO_FULL_AVG10, N ".io.full_avg10") \
    X(P##_IO_FULL_AVG60, N ".io.full_avg60") \
    X(P##_IO_FULL_AVG300, N ".io.full_avg300") \
    X(P##_IO_FULL_TOTAL, N ".io.full_total") \
    X(P##_MEM_SOME_AVG10, N ".memory.some_avg10") \
    X(P##_MEM_SOME_AVG60, N ".memory.some_avg60") \
    X(P##_MEM_SOME_AVG300, N ".memory.some_avg300") \
    X(P##_MEM_SOME_TOTAL, N ".memory.some_total") \
    X(P##_MEM_FULL_AVG10, N ".memory.full_avg10") \
    X(P##_MEM_FULL_AVG60, N ".memory.full_avg60") \
    X(P##_MEM_FULL_AVG300, N ".memory.full_avg300") \
    X(P##_MEM_FULL_TOTAL, N ".memory.full_total")

#define HOST_CPU_FIELDS(X) \
    X(HC_USER, "host_cpu.user") \
    X(HC_NICE, "host_cpu.nice") \
    X(HC_SYSTEM, "host_cpu.system") \
    X(HC_IDLE, "host_cpu.idle") \
    X(HC_IOWAIT, "host_cpu.iowait") \
    X(HC_IRQ, "host_cpu.irq") \
    X(HC_SOFTIRQ, "host_cpu.softirq") \
    X(HC_STEAL, "host_cpu.steal") \
    X(HC_GUEST, "host_cpu.guest") \
    X(HC_GUEST_NICE, "host_cpu.guest_nice") \
    X(HC_FREQ_CUR, "host_cpu.freq_cur") \
    X(HC_FREQ_MIN, "host_cpu.freq_min") \
    X(HC_FREQ_MAX, "host_cpu.freq_max")

#define HOST_DISK_FIELDS(X) \
    X(HD_READS, "host_disk.reads") \
    X(HD_READS_MERGED, "host_disk.reads_merged") \
    X(HD_READ_SECTORS, "host_disk.read_sectors") \
    X(HD_READ_TIME, "host_disk.read_time") \
    X(HD_WRITES, "host_disk.writes") \
    X(HD_WRITES_MERGED, "host_disk.writes_merged") \
    X(HD_WRITE_SECTORS, "host_disk.write_sectors") \
    X(HD_WRITE_TIME, "host_disk.write_time") \
    X(HD_IN_FLIGHT, "host_disk.in_flight") \
    X(HD_IO_TICKS, "host_disk.io_ticks") \
    X(HD_TIME_IN_QUEUE, "host_disk.time_in_queue") \
    X(HD_DISCARDS, "host_disk.discards") \
    X(HD_DISCARDS_MERGED, "host_disk.discards_merged") \
    X(HD_DISCARD_SECTORS, "host_disk.discard_sectors") \
    X(HD_DISCARD_TIME, "host_disk.discard_time") \
    X(HD_FLUSHES, "host_disk.flushes") \
    X(HD_FLUSH_TIME, "host_disk.flush_time")

#define HOST_NIC_FIELDS(X) \
    X(HN_RX_BYTES, "host_nic.rx_bytes") \
    X(HN_RX_PACKETS, "host_nic.rx_packets") \
    X(HN_RX_ERRORS, "host_nic.rx_errors") \
    X(HN_RX_DROPS, "host_nic.rx_drops") \
    X(HN_RX_FIFO, "host_nic.rx_fifo") \
    X(HN_RX_FRAME, "host_nic.rx_frame") \
    X(HN_RX_COMPRESSED, "host_nic.rx_compressed") \
    X(HN_RX_MULTICAST, "host_nic.rx_multicast") \
    X(HN_TX_BYTES, "host_nic.tx_bytes") \
    X(HN_TX_PACKETS, "host_nic.tx_packets") \
    X(HN_TX_ERRORS, "host_nic.tx_errors") \
    X(HN_TX_DROPS, "host_nic.tx_drops") \
    X(HN_TX_FIFO, "host_nic.tx_fifo") \
    X(HN_TX_COLLISIONS, "host_nic.tx_collisions") \
    X(HN_TX_CARRIER, "host_nic.tx_carrier") \
    X(HN_TX_COMPRESSED, "host_nic.tx_compressed") \
    X(HN_SPEED, "host_nic.speed")

#define VM_FIELDS(X) \
    X(V_VCPU_RUN, "vm.cpu.vcpu_run") \
    X(V_VCPU_WAIT, "vm.cpu.vcpu_wait") \
    X(V_VCPU_THREADS, "vm.cpu.vcpu_threads") \
    X(V_OTHER_RUN, "vm.cpu.other_run") \
    X(V_OTHER_WAIT, "vm.cpu.other_wait") \
    X(V_OTHER_THREADS, "vm.cpu.other_threads") \
    X(V_VHOST_RUN, "vm.cpu.vhost_run") \
    X(V_VHOST_WAIT, "vm.cpu.vhost_wait") \
    X(V_VHOST_THREADS, "vm.cpu.vhost_threads") \
    X(V_CG_USAGE, "vm.cgroup.cpu.usage_usec") \
    X(V_CG_USER, "vm.cgroup.cpu.user_usec") \
    X(V_CG_SYSTEM, "vm.cgroup.cpu.system_usec") \
    X(V_CG_PERIODS, "vm.cgroup.cpu.nr_periods") \
    X(V_CG_THROTTLED, "vm.cgroup.cpu.nr_throttled") \
    X(V_CG_THROTTLED_USEC, "vm.cgroup.cpu.throttled_usec") \
    X(V_LV_CPU_TIME, "vm.cpu.libvirt_time") \
    X(V_LV_CPU_USER, "vm.cpu.libvirt_user") \
    X(V_LV_CPU_SYSTEM, "vm.cpu.libvirt_system") \
    X(V_LV_STATE, "vm.libvirt.state") \
    X(V_LV_REASON, "vm.libvirt.state_reason") \
    X(V_MEM_RSS, "vm.mem.rss") \
    X(V_MEM_RSS_ANON, "vm.mem.rss_anon") \
    X(V_MEM_RSS_FILE, "vm.mem.rss_file") \
    X(V_MEM_RSS_SHMEM, "vm.mem.rss_shmem") \
    X(V_MEM_RSS_PEAK, "vm.mem.rss_peak") \
    X(V_MEM_SWAP, "vm.mem.swap") \
    X(V_MEM_VIRT, "vm.mem.virt") \
    X(V_MEM_PAGE_TABLES, "vm.mem.page_tables") \
    X(V_MEM_MINFLT, "vm.mem.minflt") \
    X(V_MEM_MAJFLT, "vm.mem.majflt") \
    X(V_MEM_CONFIGURED, "vm.mem.configured") \
    X(V_CGM_CURRENT, "vm.cgroup.mem.current") \
    X(V_CGM_SWAP_CURRENT, "vm.cgroup.mem.swap_current") \
    X(V_CGM_EV_LOW, "vm.cgroup.mem.events_low") \
    X(V_CGM_EV_HIGH, "vm.cgroup.mem.events_high") \
    X(V_CGM_EV_MAX, "vm.cgroup.mem.events_max") \
    X(V_CGM_EV_OOM, "vm.cgroup.mem.events_oom") \
    X(V_CGM_EV_OOM_KILL, "vm.cgroup.mem.events_oom_kill") \
    X(V_CGM_ANON, "vm.cgroup.mem.anon") \
    X(V_CGM_FILE, "vm.cgroup.mem.file") \
    X(V_CGM_KERNEL_STACK, "vm.cgroup.mem.kernel_stack") \
    X(V_CGM_PAGETABLES, "vm.cgroup.mem.pagetables") \
    X(V_CGM_SOCK, "vm.cgroup.mem.sock") \
    X(V_CGM_SHMEM, "vm.cgroup.mem.shmem") \
    X(V_CGM_FILE_MAPPED, "vm.cgroup.mem.file_mapped") \
    X(V_CGM_FILE_DIRTY, "vm.cgroup.mem.file_dirty") \
    X(V_CGM_FILE_WRITEBACK, "vm.cgroup.mem.file_writeback") \
    X(V_CGM_SWAPCACHED, "vm.cgroup.mem.swapcached") \
    X(V_CGM_ANON_THP, "vm.cgroup.mem.anon_thp") \
    X(V_CGM_INACTIVE_ANON, "vm.cgroup.mem.inactive_anon") \
    X(V_CGM_ACTIVE_ANON, "vm.cgroup.mem.active_anon") \
    X(V_CGM_INACTIVE_FILE, "vm.cgroup.mem.inactive_file") \
    X(V_CGM_ACTIVE_FILE, "vm.cgroup.mem.active_file") \
    X(V_CGM_UNEVICTABLE, "vm.cgroup.mem.unevictable") \
    X(V_CGM_SLAB, "vm.cgroup.mem.slab") \
    X(V_CGM_PGFAULT, "vm.cgroup.mem.pgfault") \
    X(V_CGM_PGMAJFAULT, "vm.cgroup.mem.pgmajfault") \
    X(V_CGM_PGSCAN, "vm.cgroup.mem.pgscan") \
    X(V_CGM_PGSTEAL, "vm.cgroup.mem.pgsteal") \
    X(V_CGM_WS_REFAULT_ANON, "vm.cgroup.mem.workingset_refault_anon") \
    X(V_CGM_WS_REFAULT_FILE, "vm.cgroup.mem.workingset_refault_file") \
    X(V_IO_RCHAR, "vm.io.rchar") \
    X(V_IO_WCHAR, "vm.io.wchar") \
    X(V_IO_SYSCR, "vm.io.syscr") \
    X(V_IO_SYSCW, "vm.io.syscw") \
    X(V_IO_READ_BYTES, "vm.io.read_bytes") \
    X(V_IO_WRITE_BYTES, "vm.io.write_bytes") \
    X(V_IO_CANCELLED, "vm.io.cancelled_write_bytes") \
    X(V_IO_BLKIO_DELAY, "vm.io.blkio_delay") \
    X(V_BALLOON_ACTUAL, "vm.mem.balloon_actual") \
    X(V_G_SWAP_IN, "vm.mem.guest_swap_in") \
    X(V_G_SWAP_OUT, "vm.mem.guest_swap_out") \
    X(V_G_MAJOR, "vm.mem.guest_major_faults") \
    X(V_G_MINOR, "vm.mem.guest_minor_faults") \
    X(V_G_FREE, "vm.mem.guest_free") \
    X(V_G_TOTAL, "vm.mem.guest_total") \
    X(V_G_AVAILABLE, "vm.mem.guest_available") \
    X(V_G_DISK_CACHES, "vm.mem.guest_disk_caches") \
    X(V_G_HTLB_ALLOC, "vm.mem.guest_hugetlb_alloc") \
    X(V_G_HTLB_FAIL, "vm.mem.guest_hugetlb_fail") \
    X(V_G_UPDATED, "vm.mem.guest_stats_updated") \
    /* --perf, in the order of enum perf_counter (perf_counters.h) */ \
    X(V_PERF_CYCLES, "vm.perf.cycles") \
    X(V_PERF_INSTRUCTIONS, "vm.perf.instructions") \
    X(V_PERF_REF_CYCLES, "vm.perf.ref_cycles") \
    X(V_PERF_CACHE_REFERENCES, "vm.perf.cache_references") \
    X(V_PERF_CACHE_MISSES, "vm.perf.cache_misses") \
    X(V_PERF_BRANCH_INSTRUCTIONS, "vm.perf.branch_instructions") \
    X(V_PERF_BRANCH_MISSES, "vm.perf.branch_misses") \
    X(V_PERF_TASK_CLOCK, "vm.perf.task_clock") \
    X(V_PERF_CONTEXT_SWITCHES, "vm.perf.context_switches") \
    X(V_PERF_CPU_MIGRATIONS, "vm.perf.cpu_migrations") \
    X(V_PERF_PAGE_FAULTS, "vm.perf.page_faults") \
    PSI_FIELDS(X, V_PSI, "vm.psi")

#define VCPU_FIELDS(X) \
    X(C_RUN, "vcpu.cpu.run") \
    X(C_WAIT, "vcpu.cpu.wait") \
    X(C_LV_TIME, "vcpu.cpu.libvirt_time") \
    X(C_LV_WAIT, "vcpu.cpu.libvirt_wait")

#define VM_NIC_FIELDS(X) \
    X(N_RX_BYTES, "vm_nic.rx_bytes") \
    X(N_RX_PACKETS, "vm_nic.rx_packets") \
    X(N_RX_ERRORS, "vm_nic.rx_errors") \
    X(N_RX_DROPS, "vm_nic.rx_drops") \
    X(N_TX_BYTES, "vm_nic.tx_bytes") \
    X(N_TX_PACKETS, "vm_nic.tx_packets") \
    X(N_TX_ERRORS, "vm_nic.tx_errors") \
    X(N_TX_DROPS, "vm_nic.tx_drops")

/* The first QMP_BLK_NFIELDS in the order of enum qmp_blk_field (qmp.h), then libvirt's sizes. */
#define VM_DISK_FIELDS(X) \
    X(D_RD_BYTES, "vm_disk.rd_bytes") \
    X(D_WR_BYTES, "vm_disk.wr_bytes") \
    X(D_RD_OPS, "vm_disk.rd_ops") \
    X(D_WR_OPS, "vm_disk.wr_ops") \
    X(D_FLUSH_OPS, "vm_disk.flush_ops") \
    X(D_RD_TIME, "vm_disk.rd_time") \
    X(D_WR_TIME, "vm_disk.wr_time") \
    X(D_FLUSH_TIME, "vm_disk.flush_time") \
    X(D_RD_FAILED, "vm_disk.rd_failed") \
    X(D_WR_FAILED, "vm_disk.wr_failed") \
    X(D_FLUSH_FAILED, "vm_disk.flush_failed") \
    X(D_WR_HIGHEST, "vm_disk.wr_highest_offset") \
    X(D_IDLE, "vm_disk.idle_time") \
    X(D_ALLOCATION, "vm_disk.allocation") \
    X(D_CAPACITY, "vm_disk.capacity") \
    X(D_PHYSICAL, "vm_disk.physical")
// clang-format on

#define X_ENUM(e, n) e,
enum host_field { HOST_FIELDS(X_ENUM) H__COUNT };
enum host_cpu_field { HOST_CPU_FIELDS(X_ENUM) HC__COUNT };
enum host_disk_field { HOST_DISK_FIELDS(X_ENUM) HD__COUNT };
enum host_nic_field { HOST_NIC_FIELDS(X_ENUM) HN__COUNT };
enum vm_field { VM_FIELDS(X_ENUM) V__COUNT };
enum vcpu_field { VCPU_FIELDS(X_ENUM) C__COUNT };
enum vm_nic_field { VM_NIC_FIELDS(X_ENUM) N__COUNT };
enum vm_disk_field { VM_DISK_FIELDS(X_ENUM) D__COUNT };
#undef X_ENUM

enum {
    SCH_HOST,
    SCH_HOST_CPU,
    SCH_HOST_DISK,
    SCH_HOST_NIC,
    SCH_VM,
    SCH_VCPU,
    SCH_VM_NIC,
    SCH_VM_DISK,
    SCH__N
};

/* Which fields of a scope are recorded, and where. */
struct schema {
    enum metric_scope scope;
    size_t nfields;
    const char *const *names; /* nfields catalogue names */
    int16_t *slot;            /* field -> value slot, -1 when disabled or unknown */
    int16_t *slot_of;         /* catalogue index -> value slot, -1 (for source_sink values) */
    size_t ncat;              /* entries of slot_of (the catalogue's size) */
    uint32_t *ids;            /* slot -> catalogue index */
    uint8_t *kind;            /* slot -> enum metric_kind */
    uint32_t n;               /* slots */
};

/* One journal entity: its raw values this tick and the previous one. */
struct ent {
    const struct schema *sc;
    struct journal_value *cur, *prev; /* sc->n each */
    int64_t *prev_mono;               /* per slot, the tick time of prev's value */
    bool has_prev;                    /* prev holds samples of this same entity */
    bool sampled;                     /* cur was filled this tick */
    bool jlive;                       /* defined in the journal */
    uint32_t jid;
    char key[320];
};

enum thr_group { G_VCPU = 0, G_OTHER, G_VHOST, G__N };

/* How a VM's vCPU threads are known. Unknown (no debug-threads=on thread names, no QMP
 * query-cpus-fast answer): vm.cpu.vcpu_* are missing and other_* hold every QEMU thread. */
enum vcpu_from { VCPU_FROM_UNKNOWN = 0, VCPU_FROM_NAMES, VCPU_FROM_QMP };

struct thr {
    int32_t tid;
    int fd_sched;
    int fd_stat; /* only with delay accounting on */
    uint8_t group;
    bool provisional; /* still named like the main thread: QEMU may rename it */
    bool seen;
    int32_t vcpu; /* N of "CPU N/..." or -1 */
    uint64_t run, wait, blkio;
};

struct vcpu_ent {
    int32_t idx;
    int32_t tid;
    bool seen;
    struct ent e;
};

struct nic_ent {
    char ifname[SOURCE_IFNAME];
    /* The host-side counters are already in the guest's direction (macvtap: what the device
     * received was delivered to the guest). A tun/tap's are the mirror image and get swapped. */
    bool guest_view;
    struct ent e;
};

struct vdisk_ent {
    char name[128]; /* QMP qdev (or device / node-name) */
    bool seen;
    struct ent e;
};

struct vm {
    struct source_vm src;
    struct qmp_vm_stats *qs; /* QMP replies of this tick (allocated once per VM) */
    struct vdisk_ent *vdisks;
    size_t nvdisks, capvdisks;
    bool seen;
    int dfd; /* /proc/PID */
    int fd_stat, fd_status, fd_statm, fd_io;
    int cg_dfd; /* the VM's own cgroup v2 directory, or -1 */
    int fd_cg_cpu, fd_cg_mem_cur, fd_cg_mem_stat, fd_cg_mem_events, fd_cg_swap, fd_cg_psi[3];
    char cgroup[256];
    struct thr *thr;
    size_t nthr, capthr;
    int64_t adj_run[G__N], adj_wait[G__N]; /* exited or regrouped threads keep their share */
    int64_t adj_blkio;
    uint64_t ticks;
    bool rescan; /* list the task directory again */
    /* QMP: consecutive sessions that timed out, and the sampler tick before which the socket is
     * not tried again (exponential backoff: a hung socket costs its deadline rarely, not every
     * tick). */
    uint32_t qmp_timeouts;
    uint64_t qmp_retry_tick;
    uint64_t qmp_due_tick; /* next tick for the data queries (--daemon-interval); 0 = now */
    /* vCPU threads without debug-threads=on: query-cpus-fast's answer, asked once per VM
     * instance and again only when a mapped vCPU thread goes away (cpus_want). */
    bool cpus_want;
    struct qmp_cpu *vmap;
    size_t nvmap, capvmap;
    uint8_t vcpu_from;    /* enum vcpu_from of the last tick */
    struct perf_vm *perf; /* --perf counters on the VM's own cgroup, or NULL */
    struct ent e;
    struct vcpu_ent *vcpus;
    size_t nvcpus, capvcpus;
    struct nic_ent nics[SOURCE_MAX_NICS];
    size_t nnics;
};

struct disk_ent {
    char name[32];
    int kind; /* enum proc_disk_kind, or -1 unknown */
    bool seen;
    struct ent e;
};

/* A NIC's link speed is re-read every HNIC_SPEED_EVERY ticks, not every tick: it changes only
 * on renegotiation, and a host has a few virtual devices per VM (veths, firewall bridges) whose
 * speed read fails every time (EINVAL). */
#define HNIC_SPEED_EVERY 30

struct hnic_ent {
    char name[16];
    int fd_speed;
    bool seen;
    bool speed_known;   /* speed holds the last reading */
    uint64_t speed;     /* Mb/s */
    uint64_t speed_due; /* tick of the next read */
    struct ent e;
};

struct hcpu_ent {
    int id;
    int fd_cur;
    struct journal_value fmin, fmax; /* static: read once */
    bool seen;
    struct ent e;
};

struct sampler {
    struct sampler_opts o;
    unsigned coll;
    struct schema sch[SCH__N];
    struct source src;
    struct source_vm *svms;
    size_t nsvms, capsvms;
    int procfd, sysfd, cgroot_fd;
    int fd_stat, fd_meminfo, fd_loadavg, fd_diskstats, fd_netdev, fd_psi[3], fd_online, fd_present;
    int sysblock_fd;
    bool delayacct;
    int64_t page_size;
    bool debug;
    int64_t clk_tck;
    int64_t t_real, t_mono, prev_real, prev_mono;
    int64_t t_boot, prev_boot; /* CLOCK_BOOTTIME: thread start times are relative to boot */
    uint64_t ticks;
    struct ent host;
    struct hcpu_ent *hcpus;
    size_t nhcpus, caphcpus;
    struct disk_ent *disks;
    size_t ndisks, capdisks;
    struct hnic_ent *hnics;
    size_t nhnics, caphnics;
    struct vm **vms;
    size_t nvms, capvms;
    struct qmp_client *qmp; /* NULL when QMP is off */
    struct perf_host perf;  /* --perf: what the host provides (valid with COLL_PERF) */
    size_t qmp_next;        /* VM to start with next tick (round robin under the budget) */
    uint64_t qmp_stagger;   /* spreads the VMs' data queries over the ticks of one interval */
    uint32_t *gone;         /* journal ids of entities that left, to record */
    size_t ngone, capgone;
    char *buf; /* read buffer for big files */
    size_t bufsz;
    char err[512];
};

/* Sets field f of entity e (no-op when the field is disabled). */
void sampler__set_u(struct ent *e, int f, uint64_t v);
void sampler__set_d(struct ent *e, int f, double v);

/* Display value of field f of e between the last two ticks: counters per second, gauges as
 * read. Returns false (and leaves *out) when the value is missing, first, reset or the field is
 * disabled. */
bool sampler__value(const struct sampler *s, const struct ent *e, int f, double *out);

#endif
