/* catalogue.h: the metric catalogue, the one table of every metric proxtop records.
 *
 * Every program names metrics through this table; the journal header carries a copy of the
 * catalogue in use so that old readers can show new metrics by name and new readers can read old
 * files (see FORMAT.md). Metric names are stable forever once released: rename = new metric.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_CATALOGUE_H
#define FORMATS_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Counter: cumulative, only its rate (delta over delta-t) is meaningful; a decrease is a reset.
 * Gauge: a level read as is. */
enum metric_kind {
    METRIC_COUNTER = 0,
    METRIC_GAUGE = 1,
};

/* What one value describes. A journal entity has exactly one scope. */
enum metric_scope {
    SCOPE_HOST = 0,  /* the hypervisor host as a whole */
    SCOPE_HOST_CPU,  /* one logical CPU of the host */
    SCOPE_HOST_DISK, /* one whole block device of the host (/proc/diskstats) */
    SCOPE_HOST_NIC,  /* one network interface of the host (/proc/net/dev) */
    SCOPE_VM,        /* one virtual machine (its QEMU process, cgroup, balloon) */
    SCOPE_VCPU,      /* one vCPU thread of a VM */
    SCOPE_VM_DISK,   /* one virtual disk of a VM (QMP blockstats / libvirt block.N) */
    SCOPE_VM_NIC,    /* one virtual NIC of a VM, counted in the guest's direction */
    SCOPE_COUNT
};

/* How the value is stored in the journal: an integer (exact, delta-encoded) or a double. */
enum metric_type {
    METRIC_INT = 0,
    METRIC_REAL = 1,
};

struct metric_def {
    const char *name;      /* stable dotted name, e.g. "vm.cpu.vcpu_run" */
    const char *unit;      /* "ns", "us", "bytes", "pages", "ops", "packets", "jiffies", "%", ... */
    enum metric_kind kind; /* counter or gauge */
    enum metric_scope scope;
    enum metric_type type;
    const char *collector; /* the sampler flag that enables it: "cpu", "mem", "disk", ... */
    const char *source;    /* where it is read, e.g. "/proc/PID/task/TID/schedstat field 1" */
    const char *meaning;   /* one line for humans */
    const char *display;   /* how programs derive the displayed figure, e.g. "Δ/Δt/1e9 cores" */
};

/* The built-in catalogue, sorted by name. Valid for the life of the process. */
const struct metric_def *catalogue_all(size_t *count);

/* Looks a metric up by exact name; returns its index in catalogue_all() or -1. */
int catalogue_find(const char *name);

/* Name of a scope ("host", "host_cpu", "host_disk", "host_nic", "vm", "vcpu", "vm_disk",
 * "vm_nic"); "?" when out of range. */
const char *catalogue_scope_name(enum metric_scope scope);
/* Parses a scope name; returns 0 and sets *out, or -1 when unknown. */
int catalogue_scope_parse(const char *name, enum metric_scope *out);
const char *catalogue_kind_name(enum metric_kind kind);
int catalogue_kind_parse(const char *name, enum metric_kind *out);
const char *catalogue_type_name(enum metric_type type);
int catalogue_type_parse(const char *name, enum metric_type *out);

/* Prints the catalogue as an aligned table (or, with tsv, tab-separated with a header line). */
void catalogue_print(FILE *out, bool tsv);

#endif
