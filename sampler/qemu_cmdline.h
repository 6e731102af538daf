/* qemu_cmdline.h: what the sampler needs from a QEMU process's command line.
 *
 * Input is /proc/PID/cmdline as read: arguments separated by NUL bytes, the last one possibly
 * not terminated (a truncated read). Parsing is read-once per VM (static data), allocation-free,
 * and never trusts the input: over-long values are cut, not overflowed.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_QEMU_CMDLINE_H
#define SAMPLER_QEMU_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define QEMU_NAME_MAX    128
#define QEMU_UUID_LEN    36
#define QEMU_PATH_MAX    256
#define QEMU_IFNAME_MAX  16
#define QEMU_MAX_IFNAMES 8
#define QEMU_MAX_QMP     4

struct qemu_cmdline {
    bool is_qemu; /* argv[0]'s basename is qemu-system-* or kvm */
    bool has_name;
    char name[QEMU_NAME_MAX]; /* -name guest=X,... or -name X,... (",," unescaped to ",") */
    bool debug_threads;       /* -name ...,debug-threads=on: vCPU threads are "CPU N/KVM" */
    bool has_uuid;
    char uuid[QEMU_UUID_LEN + 1]; /* -uuid, else -smbios type=1,uuid=; lowercase as given */
    bool has_pidfile;
    char pidfile[QEMU_PATH_MAX]; /* -pidfile PATH */
    size_t nifnames;             /* ifname= of -netdev/-net tap options, in order */
    char ifnames[QEMU_MAX_IFNAMES][QEMU_IFNAME_MAX];
    size_t nqmp; /* QMP unix sockets: -qmp unix:PATH,... and -chardev
                    socket,path=PATH,... used by -mon mode=control */
    char qmp[QEMU_MAX_QMP][QEMU_PATH_MAX];
    long long mem_bytes; /* -m N[M|G] or -m size=N: guest RAM in bytes; -1 when not given */
    int smp;             /* -smp N or -smp cpus=N; -1 when not given */
    bool truncated;      /* some value did not fit and was cut, or lists overflowed */
};

/* Parses a NUL-separated command line of len bytes into out. Returns 0, or -CORE_EPARSE when
 * the buffer is empty or an option that takes a value is the last argument. Unknown options
 * are ignored. */
int qemu_cmdline_parse(const char *buf, size_t len, struct qemu_cmdline *out);

/* True when the UUID text has the 8-4-4-4-12 hex form. */
bool qemu_uuid_valid(const char *uuid);

#endif
