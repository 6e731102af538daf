/* perf_counters.h: --perf, per-VM hardware and software counters from perf_event_open(2) in
 * cgroup mode on the VM's own cgroup (spec/metrics.md "optional: --perf").
 *
 * A cgroup event counts on one CPU at a time, so a VM gets, per online CPU, one group of hardware
 * events (cycles, instructions, ...) and one group of software events (task clock, context
 * switches, CPU migrations, page faults). A group is read with ONE read() (PERF_FORMAT_GROUP):
 * per tick a VM costs 2 × (online CPUs) reads. fds are opened when the VM appears and closed when
 * it goes: nothing is allocated per tick.
 *
 * Multiplexing: when more hardware events are wanted than the PMU has counters, the kernel
 * time-shares the group; each read returns time_enabled and time_running. The per-tick increment
 * on each CPU is scaled by Δenabled/Δrunning and added to a 64-bit accumulator, so the recorded
 * values are MONOTONIC counters (estimates when multiplexed). perf_vm_multiplexed() tells whether
 * any scaling happened on the last read. An interval in which a group never ran adds nothing.
 *
 * Support is per host and per event: an event the CPU or hypervisor does not provide (ENOENT,
 * EOPNOTSUPP: e.g. hardware counters in most cloud VMs) is marked unsupported once and stays
 * missing for every VM; no permission (EACCES/EPERM: perf_event_paranoid > 0 without
 * CAP_PERFMON or CAP_SYS_ADMIN) disables the whole collector. Either way perf_host_message() has
 * one line that says so. Limitation: CPUs hot-plugged after start are not counted.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_PERF_COUNTERS_H
#define SAMPLER_PERF_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The counters, in catalogue order of their vm.perf.* metrics. */
enum perf_counter {
    PC_CYCLES,
    PC_INSTRUCTIONS,
    PC_REF_CYCLES,
    PC_CACHE_REFERENCES,
    PC_CACHE_MISSES,
    PC_BRANCH_INSTRUCTIONS,
    PC_BRANCH_MISSES,
    PC_NHARDWARE, /* counters below are software events */
    PC_TASK_CLOCK = PC_NHARDWARE,
    PC_CONTEXT_SWITCHES,
    PC_CPU_MIGRATIONS,
    PC_PAGE_FAULTS,
    PC_NCOUNTERS
};

/* Catalogue metric name of counter c ("vm.perf.cycles", ...). */
const char *perf_counter_metric(enum perf_counter c);

/* What the host allows; shared by all VMs. */
struct perf_host {
    int ncpus;
    int *cpus;                    /* online CPU numbers */
    bool disabled;                /* not permitted, or no CPU list: every VM's values are missing */
    bool unsupported[PC_NCOUNTERS];
    bool probed[PC_NCOUNTERS];    /* the first open of this event has been tried */
    bool fd_limit_hit;            /* EMFILE/ENFILE: later VMs get no counters */
    char msg[256];                /* one line, "" when all is well */
};

/* Reads the online CPU list from SYSFS/devices/system/cpu/online (sysfs_fd: an open dirfd of
 * the sysfs root, or -1 for "/sys"). Returns 0 or a negative errno (msg set). */
int perf_host_init(struct perf_host *h, int sysfs_fd);
void perf_host_done(struct perf_host *h);
/* One line for the log when something is unsupported or disabled; "" otherwise. */
const char *perf_host_message(const struct perf_host *h);

struct perf_vm;

/* Opens the counters of the VM whose cgroup v2 directory is open as cgroup_fd (the fd is only
 * used during the call). Returns 0 with *out set (possibly counting nothing, when everything is
 * unsupported), or a negative errno when the collector is disabled/fd-limited (*out = NULL). */
int perf_vm_open(struct perf_host *h, int cgroup_fd, struct perf_vm **out);
/* Reads all groups and advances the accumulators. out[c] is the monotonic count of counter c
 * since perf_vm_open (task clock in ns); bit c of *valid is set when counter c is counted. */
void perf_vm_read(struct perf_vm *v, uint64_t out[PC_NCOUNTERS], uint32_t *valid);
/* True when the last perf_vm_read() scaled a multiplexed hardware group. */
bool perf_vm_multiplexed(const struct perf_vm *v);
void perf_vm_close(struct perf_vm *v);

#endif
