/* pve_conf.h: the few keys the sampler needs from a Proxmox VE VM config (VMID.conf).
 *
 * Only the live configuration counts: parsing stops at the first "[section]" line, so snapshot
 * ("[name]") and pending ("[PENDING]") sections never override live values. Zero-allocation,
 * bounded, never trusts its input.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_PVE_CONF_H
#define SAMPLER_PVE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVE_NAME_MAX  128
#define PVE_MAX_NETS  32
#define PVE_MAX_VCPUS 8192 /* more vCPUs than any QEMU machine takes: the config is wrong */

struct pve_conf {
    char name[PVE_NAME_MAX]; /* "name:", "" when absent */
    char uuid[37];           /* "smbios1: uuid=...", "" when absent or malformed */
    int64_t memory_mib;      /* "memory: N" or "memory: current=N", -1 when absent */
    int32_t cores;           /* "cores:" (default 1); -1 when absent or not 1..PVE_MAX_VCPUS */
    int32_t sockets;         /* "sockets:" (default 1); -1 likewise */
    int32_t vcpus;           /* "vcpus:" (hot-plugged vCPUs online); -1 likewise */
    uint32_t nnets;          /* netN keys, in file order */
    uint8_t nets[PVE_MAX_NETS];
};

/* Parses len bytes of a VMID.conf. Returns 0 (unknown keys ignored), or -CORE_EPARSE when a
 * line of the live section has no "key:" form (the file is not a Proxmox config). */
int pve_conf_parse(const char *buf, size_t len, struct pve_conf *out);

/* vCPUs the VM starts with: vcpus when set, else cores × sockets (defaults 1); -1 when that
 * product exceeds PVE_MAX_VCPUS. */
int32_t pve_conf_vcpus(const struct pve_conf *c);

#endif
