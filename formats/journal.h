/* journal.h: types shared by the journal writer and reader.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_JOURNAL_H
#define FORMATS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"

#define JOURNAL_NO_ENTITY UINT32_MAX

/* One stored value. Missing means "could not be measured": never read it as 0. */
enum journal_value_type {
    JV_MISSING = 0,
    JV_INT = 1,  /* exact 64-bit integer: counters read .u, signed gauges read .i */
    JV_REAL = 2, /* double */
};

struct journal_value {
    uint8_t type; /* enum journal_value_type */
    union {
        uint64_t u;
        int64_t i;
        double d;
    };
};

/* A key/value attribute of an entity (e.g. "ifname" = "tap100i0", "model" = "virtio"). */
struct journal_attr {
    const char *key;
    const char *value;
};

/* What an entity is. Strings may be NULL when unknown; numbers use -1 for unknown. */
struct journal_entity_desc {
    enum metric_scope scope;
    uint32_t parent;    /* writer: parent's entity id; reader: parent's reader id; or NONE */
    const char *key;    /* stable identity, unique among the writer's live entities (required) */
    const char *uuid;   /* VM UUID */
    const char *name;   /* VM name, vCPU "CPU 0", disk "virtio0", NIC "net0" */
    const char *vmid;   /* Proxmox VMID or libvirt domain id */
    int64_t pid;        /* QEMU process id */
    int64_t start_time; /* process start time in clock ticks since boot (/proc/PID/stat 22) */
    int32_t vcpus;
    int64_t mem_bytes;       /* configured memory */
    const uint32_t *metrics; /* catalogue indices (writer) / reader metric ids (reader), one per
                              * value slot of this entity's samples */
    uint32_t nmetrics;
    const struct journal_attr *attrs;
    uint32_t nattrs;
};

#endif
