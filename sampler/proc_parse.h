/* proc_parse.h: zero-allocation parsers for the /proc, /sys and cgroup files the sampler reads.
 *
 * Every parser takes a buffer and its length (the buffer need not be NUL-terminated; nothing is
 * read past buf + len), fills a caller-owned struct and returns 0, or a negative errno or
 * -CORE_EPARSE (formats/core_error.h) on malformed input. Parsers never allocate, never use stdio
 * or sscanf, and never crash on truncated, garbage or huge input. Values are stored raw, in the
 * units the kernel writes (jiffies, kB, pages, sectors, µs, ns); deriving rates is not their job.
 * Optional fields carry a validity bit: a field absent from the file is missing, never 0.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_PROC_PARSE_H
#define SAMPLER_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*============================== Reading ============================== */

/* Reads the file at path (relative to dfd, or absolute) with one pread into buf and
 * NUL-terminates it. Returns the number of bytes read (>= 0), or -errno. If the file does not fit
 * in size - 1 bytes, returns -ENOBUFS (the caller's buffer is too small; data would be cut). */
int proc_read_at(int dfd, const char *path, char *buf, size_t size);

/* The same for an fd kept open across ticks: pread(fd, buf, size - 1, 0), NUL-terminated. */
int proc_pread(int fd, char *buf, size_t size);

/*============================== /proc/PID/stat ============================== */

#define PROC_COMM_MAX 64

/* /proc/PID/stat and /proc/PID/task/TID/stat. Field numbers as in proc(5). */
struct proc_pid_stat {
    int32_t pid;                    /* (1) */
    char comm[PROC_COMM_MAX];       /* (2) without the parentheses; may hold spaces and ')' */
    char state;                     /* (3) R S D Z T t X I ... */
    int32_t ppid;                   /* (4) */
    uint64_t minflt;                /* (10) */
    uint64_t majflt;                /* (12) */
    uint64_t utime;                 /* (14) clock ticks */
    uint64_t stime;                 /* (15) clock ticks */
    int64_t priority;               /* (18) */
    int64_t nice;                   /* (19) */
    int64_t num_threads;            /* (20) */
    uint64_t starttime;             /* (22) clock ticks after boot */
    uint64_t vsize;                 /* (23) bytes */
    int64_t rss;                    /* (24) pages */
    int32_t processor;              /* (39) valid if nfields >= 39 */
    uint64_t delayacct_blkio_ticks; /* (42) valid if nfields >= 42; 0 when task_delayacct is off */
    uint64_t guest_time;            /* (43) valid if nfields >= 43 */
    int nfields;                    /* how many fields the line had (52 on Linux 6.x) */
};

/* Parses a stat line. comm is everything between the first '(' and the LAST ')' (a comm may
 * contain ") (" itself); it is truncated to PROC_COMM_MAX - 1 bytes. At least fields 1..24 must
 * be present. */
int proc_pid_stat_parse(const char *buf, size_t len, struct proc_pid_stat *out);

/*============================== task schedstat ============================== */

/* /proc/PID/task/TID/schedstat: "run_ns wait_ns timeslices". */
struct proc_schedstat {
    uint64_t run_ns;  /* time on a CPU */
    uint64_t wait_ns; /* time runnable but waiting on a run queue (the VM's steal) */
    uint64_t slices;  /* number of times run on a CPU */
};

int proc_schedstat_parse(const char *buf, size_t len, struct proc_schedstat *out);

/*============================== key/value files ============================== */

/* One line of a "key value" or "key: value [unit]" file (meminfo, status, io, cgroup cpu.stat,
 * memory.stat, memory.events). key points into the caller's buffer. has_value is false when
 * the value is not a decimal number (status has "State:\tS (sleeping)", "Cpus_allowed:\tff"). */
struct proc_kv {
    const char *key;
    size_t key_len;
    uint64_t value;
    bool has_value;
};

struct proc_kv_iter {
    const char *p;
    const char *end;
};

void proc_kv_init(struct proc_kv_iter *it, const char *buf, size_t len);

/* Returns 1 and fills kv with the next line, 0 at the end, -CORE_EPARSE on a line with no key.
 * A number that overflows 64 bits gives -ERANGE. */
int proc_kv_next(struct proc_kv_iter *it, struct proc_kv *kv);

/* Field tables: fill a struct of uint64_t members from a key/value file. valid gets bit i set
 * when fields[i].key was found with a numeric value. Unknown keys are ignored (new kernels add
 * fields). Returns 0, -CORE_EPARSE if a wanted key has a non-numeric value, or the iterator's
 * error. At most 64 fields. */
struct proc_field {
    const char *key;
    size_t offset; /* offsetof() of a uint64_t in the output struct */
};

int proc_kv_fill(const char *buf, size_t len, const struct proc_field *fields, size_t nfields,
                 void *out, uint64_t *valid);

/* /proc/meminfo (values in kB, HugePages_* are counts). The full file is available through
 * proc_kv_iter; these are the fields the sampler names. */
struct proc_meminfo {
    uint64_t mem_total, mem_free, mem_available, buffers, cached, swap_cached, active, inactive,
        swap_total, swap_free, dirty, writeback, anon_pages, mapped, shmem, slab, sreclaimable,
        sunreclaim, committed_as, anon_huge_pages, hugepages_total, hugepages_free, hugepagesize;
    uint64_t valid; /* bit i = field i in the order above */
};

int proc_meminfo_parse(const char *buf, size_t len, struct proc_meminfo *out);

/* /proc/PID/status: the numeric fields the sampler uses (kB, counts). */
struct proc_status {
    uint64_t vm_peak, vm_size, vm_hwm, vm_rss, rss_anon, rss_file, rss_shmem, vm_swap, threads,
        voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
    uint64_t valid;
};

enum {
    PROC_STATUS_VM_RSS = 1u << 3,
    PROC_STATUS_VM_SWAP = 1u << 7,
    PROC_STATUS_THREADS = 1u << 8,
};

int proc_status_parse(const char *buf, size_t len, struct proc_status *out);

/* /proc/PID/io (bytes and syscall counts; needs root or the same user). */
struct proc_io {
    uint64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes;
    uint64_t valid;
};

int proc_io_parse(const char *buf, size_t len, struct proc_io *out);

/* cgroup v2 cpu.stat (µs and counts). Without the cpu controller only the first three exist. */
struct cgroup_cpu_stat {
    uint64_t usage_usec, user_usec, system_usec, nr_periods, nr_throttled, throttled_usec,
        nr_bursts, burst_usec;
    uint64_t valid;
};

int cgroup_cpu_stat_parse(const char *buf, size_t len, struct cgroup_cpu_stat *out);

/* cgroup v2 memory.stat (bytes, and event counts for pg*). */
struct cgroup_memory_stat {
    uint64_t anon, file, kernel, kernel_stack, pagetables, sock, shmem, file_mapped, file_dirty,
        file_writeback, swapcached, anon_thp, inactive_anon, active_anon, inactive_file,
        active_file, unevictable, slab, pgfault, pgmajfault, workingset_refault_anon,
        workingset_refault_file;
    uint64_t valid;
};

int cgroup_memory_stat_parse(const char *buf, size_t len, struct cgroup_memory_stat *out);

/* cgroup v2 memory.events (counts). */
struct cgroup_memory_events {
    uint64_t low, high, max, oom, oom_kill, oom_group_kill;
    uint64_t valid;
};

int cgroup_memory_events_parse(const char *buf, size_t len, struct cgroup_memory_events *out);

/* A file holding one unsigned decimal number (memory.current, sysfs statistics/rx_bytes,
 * cpufreq scaling_cur_freq ...). "max" is accepted and gives UINT64_MAX. */
int proc_u64_parse(const char *buf, size_t len, uint64_t *out);

/*============================== /proc/PID/statm ============================== */

/* /proc/PID/statm, in pages: size resident shared text lib data dt. */
struct proc_statm {
    uint64_t size, resident, shared, text, lib, data, dt;
};

int proc_statm_parse(const char *buf, size_t len, struct proc_statm *out);

/*============================== /proc/stat ============================== */

/* One "cpu" line in USER_HZ ticks. guest and guest_nice are already included in user and nice. */
struct proc_cpu_times {
    int id; /* -1 for the "cpu" total line, else N of "cpuN" (offline CPUs leave gaps) */
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
    int nfields; /* 4 on very old kernels, 10 today; missing fields are 0 and not valid */
};

struct proc_stat {
    struct proc_cpu_times total;
    struct proc_cpu_times *cpus; /* caller's array of cpus_cap entries (may be NULL if 0) */
    size_t cpus_cap;
    size_t ncpus; /* cpuN lines seen; if > cpus_cap, only cpus_cap were stored */
    uint64_t ctxt, btime, processes, procs_running, procs_blocked;
    uint64_t valid; /* PROC_STAT_* bits */
};

enum {
    PROC_STAT_TOTAL = 1u << 0,
    PROC_STAT_CTXT = 1u << 1,
    PROC_STAT_BTIME = 1u << 2,
    PROC_STAT_PROCESSES = 1u << 3,
    PROC_STAT_RUNNING = 1u << 4,
    PROC_STAT_BLOCKED = 1u << 5,
};

/* Parses /proc/stat. Set cpus and cpus_cap before the call. Returns 0 (ncpus may exceed
 * cpus_cap: the caller's array was too small) or -CORE_EPARSE if a cpu line is malformed or the
 * total line is missing. */
int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out);

/*============================== /proc/diskstats ============================== */

#define PROC_DISK_NAME_MAX 32

/* One /proc/diskstats line (fields as in Documentation/admin-guide/iostats.rst). */
struct proc_diskstat {
    uint32_t major, minor;
    char name[PROC_DISK_NAME_MAX];
    uint64_t rd_ios, rd_merges, rd_sectors, rd_ticks; /* ticks in ms */
    uint64_t wr_ios, wr_merges, wr_sectors, wr_ticks;
    uint64_t in_flight, io_ticks, time_in_queue;
    uint64_t dc_ios, dc_merges, dc_sectors, dc_ticks; /* discard, kernel 4.18+ (nfields >= 18) */
    uint64_t fl_ios, fl_ticks;                        /* flush, kernel 5.5+ (nfields >= 20) */
    int nfields; /* 14, 18 or 20 including major, minor, name */
};

struct proc_line_iter {
    const char *p;
    const char *end;
    int line;
};

void proc_diskstats_init(struct proc_line_iter *it, const char *buf, size_t len);

/* Returns 1 with the next device, 0 at the end, -CORE_EPARSE on a malformed line. */
int proc_diskstats_next(struct proc_line_iter *it, struct proc_diskstat *out);

enum proc_disk_kind {
    PROC_DISK_PARTITION = 0, /* not in /sys/block: counted by its whole disk already */
    PROC_DISK_WHOLE,         /* a whole device (vda, sda, nvme0n1, loop0, zram0 ...) */
    PROC_DISK_STACKED,       /* a whole but stacked device (dm-N, mdN): count separately */
};

/* Classifies a diskstats name by looking it up in /sys/block (sysblock_dfd: an fd of the
 * directory /sys/block, or of a captured copy). Partitions are not entries of /sys/block (they
 * live under /sys/block/DISK/), so summing only WHOLE devices never counts a sector twice.
 * Names with '/' (cciss/c0d0) are looked up with '!' as sysfs does. Returns the kind (>= 0) or
 * -errno. */
int proc_disk_kind(int sysblock_dfd, const char *name);

/*============================== /proc/net/dev ============================== */

#define PROC_IFNAME_MAX 16

/* One /proc/net/dev line, from the host's point of view (a tap's rx is its guest's tx). */
struct proc_netdev {
    char name[PROC_IFNAME_MAX];
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop, rx_fifo, rx_frame, rx_compressed, rx_multicast;
    uint64_t tx_bytes, tx_packets, tx_errs, tx_drop, tx_fifo, tx_colls, tx_carrier, tx_compressed;
};

/* Skips the two header lines. */
void proc_netdev_init(struct proc_line_iter *it, const char *buf, size_t len);

/* Returns 1 with the next interface, 0 at the end, -CORE_EPARSE on a malformed line. */
int proc_netdev_next(struct proc_line_iter *it, struct proc_netdev *out);

/*============================== pressure (PSI) ============================== */

/* One PSI line. avg values in hundredths of a percent exactly as printed ("1.17" -> 117),
 * total in µs. */
struct proc_psi_line {
    uint32_t avg10, avg60, avg300;
    uint64_t total_us;
};

struct proc_psi {
    struct proc_psi_line some;
    struct proc_psi_line full;
    bool has_some;
    bool has_full; /* false for host cpu pressure on kernels before 5.13 */
};

/* Parses /proc/pressure/{cpu,io,memory} or a cgroup's *.pressure. The kernel writes lowercase
 * "some" and "full". At least one line must be present. */
int proc_psi_parse(const char *buf, size_t len, struct proc_psi *out);

/*============================== /proc/loadavg ============================== */

struct proc_loadavg {
    uint32_t load1, load5, load15; /* hundredths ("0.53" -> 53) */
    uint32_t running, total;       /* runnable and total scheduling entities */
    uint32_t last_pid;
};

int proc_loadavg_parse(const char *buf, size_t len, struct proc_loadavg *out);

#endif
