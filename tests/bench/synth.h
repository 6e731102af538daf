/* synth.h: a realistic synthetic hypervisor stream for benchmarks and demos.
 *
 * N VMs, each with 40 values per sample: 22 VM metrics (schedstat thread groups, cgroup cpu.stat,
 * memory, /proc/PID/io), 2 vCPUs × 2, one disk × 8, one NIC × 6. A few VMs are busy (about one
 * core, steady disk and network), some moderate, most idle (small noisy CPU increments, idle
 * devices). Counters grow by noisy increments as real ones do; gauges change rarely.
 * SPDX-License-Identifier: MIT */
#ifndef TESTS_BENCH_SYNTH_H
#define TESTS_BENCH_SYNTH_H

#include <stdint.h>

#include "journal_writer.h"

#define SYNTH_VALUES_PER_VM 40

struct synth;

/* Creates the generator and defines its entities in w. Returns NULL on a writer error. */
struct synth *synth_new(struct journal_writer *w, uint32_t vms, uint64_t seed);
/* Writes one tick at t_real (t_mono = t_real - epoch offset). Returns the writer's status. */
int synth_tick(struct synth *s, struct journal_writer *w, int64_t t_real_ns);
void synth_free(struct synth *s);

#endif
