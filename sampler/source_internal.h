/* source_internal.h: helpers shared by the source implementations (not a public API).
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_SOURCE_INTERNAL_H
#define SAMPLER_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* Comm (/proc/PID/stat field 2) of a QEMU system emulator's main thread: "qemu-system-*"
 * (cut to 15 bytes by the kernel) or "kvm" (Debian's and Proxmox's /usr/bin/kvm). */
bool source__comm_is_qemu(const char *comm);

/* Probes /proc/PID (procfd: an fd of the procfs root). Returns 1 and fills *vm (pid, starttime,
 * name, UUID, QMP socket, taps, -m, -smp) when PID is a live QEMU system emulator; 0 when it is
 * something else (or a zombie); a negative errno when it cannot be read (gone). Reads stat, the
 * exe link (when permitted) and cmdline once: for new pids only, never per tick. */
int source__probe_qemu(int procfd, int32_t pid, struct source_vm *vm);

/* The same, also giving the process's age in seconds (-1 when unknown) when it is not QEMU: a
 * young process may still exec QEMU (setpriv, libvirt and Proxmox fork, then exec), so callers
 * remember a pid as "not QEMU" only once it is old enough. */
int source__probe_qemu_age(int procfd, int32_t pid, struct source_vm *vm, double *age_s);

/* Start time (field 22) and state of /proc/PID; returns 0 or -errno. */
int source__pid_starttime(int procfd, int32_t pid, uint64_t *starttime, char *state);

/* Bounded copy that always NUL-terminates. */
void source__copy(char *dst, size_t cap, const char *src);

struct lvs_domain;

/* The libvirt source's values() for one domain of a stats snapshot: its state, cpu.*, balloon.*,
 * vcpu.N.*, block.N.* and net.N.* as catalogue metrics through sink (a parameter libvirt did
 * not send is not handed over). Returns 1 when libvirt sent the block group (every disk was
 * named), else 0. Exposed for tests. */
int source__libvirt_values(const struct lvs_domain *d, const struct source_sink *sink);

#endif
