/* derive.h: the metrics proxprofiler profiles, derived from raw journal values.
 *
 * A derived metric is one of the named figures below or any raw metric of the source (catalogue
 * or journal header) by its own name: a counter becomes its rate per second, a gauge its value,
 * and metrics of a VM's child entities (vm_disk, vm_nic, vcpu) are summed over the children.
 * Every rate goes through rate_derive() (formats/rate.h): resets and first samples are gaps
 * (NaN), never spikes.
 *
 *   cpu           cores   CPU demand = rate(vm.cpu.vcpu_run + vm.cpu.vcpu_wait) / 1e9 (used +
 *                         steal); Bitbrains: CPU usage [MHz] / (capacity [MHz] / cores)
 *   cpu_pct       %       cpu / vCPUs * 100 (vCPUs: vm.cpu.vcpu_threads, else the entity's
 *                         vcpus); Bitbrains: CPU usage [%]
 *   mem           bytes   vm.mem.rss; Bitbrains: Memory usage [KB] * 1024
 *   disk_rd       B/s     sum of rate(vm_disk.rd_bytes); Bitbrains: Disk read [KB/s] * 1024
 *   disk_wr       B/s     sum of rate(vm_disk.wr_bytes); Bitbrains: Disk write [KB/s] * 1024
 *   disk_rd_iops  ops/s   sum of rate(vm_disk.rd_ops)
 *   disk_wr_iops  ops/s   sum of rate(vm_disk.wr_ops)
 *   net_rx        B/s     sum of rate(vm_nic.rx_bytes); Bitbrains: Network received [KB/s] * 1024
 *   net_tx        B/s     sum of rate(vm_nic.tx_bytes); Bitbrains: Network transmitted * 1024
 * A source column literally named like a derived metric (a generic CSV with a "cpu" column) is
 * used as is when the derivation's inputs are absent.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_DERIVE_H
#define PROFILER_DERIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "journal.h"

#define DERIVE_MAX_METRICS 64

/* The Bitbrains GWA-T-12 columns as the importer names them (header order, timestamp excluded). */
#define BB_NCOLS 10
extern const struct metric_def derive_bitbrains_defs[BB_NCOLS];

struct derive;

/* Per-entity state (previous raw values for rates). Opaque; allocated by derive_ent_new(). */
struct derive_ent;

/* Parses the selection: a comma list of names (NULL or "" = the default set, every named derived
 * metric, sorted) checked against the named metrics, the catalogue and the source's own metric
 * table (defs, n). Selected names are sorted and deduplicated. Returns 0, -CORE_ENOENTITY with
 * *bad pointing at a copy of the unknown name (static storage) or -ENOMEM. */
int derive_new(struct derive **out, const char *list, const struct metric_def *defs, size_t n,
               const char **bad);
void derive_free(struct derive *d);

/* True when the selection was the default set (metrics without data may then be dropped). */
bool derive_is_default(const struct derive *d);

size_t derive_count(const struct derive *d);
const char *derive_name(const struct derive *d, size_t i);
const char *derive_unit(const struct derive *d, size_t i);
/* A default fixed bound for metric i given a VM's vCPUs and configured memory (<= 0 unknown):
 * returns 1 and sets *min and *max (cpu 0..vcpus, cpu_pct 0..100, mem 0..memory), else 0. */
int derive_default_bound(const struct derive *d, size_t i, double vcpus, double mem_bytes,
                         double *min, double *max);

/* Maps the source's metric table (reader metric ids 0..n-1) to inputs. Call again when the table
 * grows. Returns 0 or -ENOMEM. */
int derive_bind(struct derive *d, const struct metric_def *const *defs, size_t n);

/* Per-entity state: create one per source entity, free with free(). */
struct derive_ent *derive_ent_new(const struct derive *d);
/* Forgets the previous values (entity redefined or gone: the next rate is a gap). */
void derive_ent_reset(const struct derive *d, struct derive_ent *e);

/* Per-VM accumulator for one tick, caller-allocated with derive_acc_size() bytes. */
size_t derive_acc_size(const struct derive *d);
void derive_tick_begin(const struct derive *d, void *acc);
/* Adds one entity row (the VM itself or one of its children) at (t_real, t_mono) ns. */
void derive_row(const struct derive *d, void *acc, struct derive_ent *e, const uint32_t *metric,
                const struct journal_value *value, uint32_t n, int64_t t_real, int64_t t_mono);
/* Computes the derived values (NaN where unknown) into out[derive_count()]. vcpus (<= 0 unknown)
 * is the VM's configured vCPU count for cpu_pct. */
void derive_tick_end(const struct derive *d, const void *acc, double vcpus, double *out);

/* Capacity hints seen in a tick's accumulator: Bitbrains cores and memory (bytes), else <= 0. */
void derive_capacity(const struct derive *d, const void *acc, double *vcpus, double *mem_bytes);

#endif
