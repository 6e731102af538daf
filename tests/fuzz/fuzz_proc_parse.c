/* fuzz_proc_parse.c: libFuzzer target for every /proc, /sys, cgroup and QEMU command-line parser.
 * The first byte picks the parser, the rest is the file content (no NUL terminator, so ASan
 * catches any read past the end). Seeds: tests/fuzz/corpus/proc/ (real files from datasets/proc
 * with the selector byte in front; 12-pve-kvm-wrapper and 12-hand-no-debug-threads are command
 * lines as Proxmox's kvm and a user starting QEMU by hand write them).
 * SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_parse.h"
#include "qemu_cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    unsigned sel = data[0];
    size_t len = size - 1;
    char *b = malloc(len ? len : 1);
    if (!b) {
        return 0;
    }
    memcpy(b, data + 1, len);
    switch (sel % 14) {
    case 0: {
        struct proc_pid_stat st;
        (void)proc_pid_stat_parse(b, len, &st);
        break;
    }
    case 1: {
        struct proc_schedstat s;
        (void)proc_schedstat_parse(b, len, &s);
        break;
    }
    case 2: {
        struct proc_status s;
        (void)proc_status_parse(b, len, &s);
        break;
    }
    case 3: {
        struct proc_statm s;
        (void)proc_statm_parse(b, len, &s);
        break;
    }
    case 4: {
        struct proc_io s;
        (void)proc_io_parse(b, len, &s);
        break;
    }
    case 5: {
        struct proc_cpu_times cpus[4];
        struct proc_stat st = {.cpus = cpus, .cpus_cap = 4};
        (void)proc_stat_parse(b, len, &st);
        break;
    }
    case 6: {
        struct proc_meminfo m;
        (void)proc_meminfo_parse(b, len, &m);
        break;
    }
    case 7: {
        struct proc_line_iter it;
        struct proc_diskstat d;
        proc_diskstats_init(&it, b, len);
        while (proc_diskstats_next(&it, &d) > 0) {
        }
        break;
    }
    case 8: {
        struct proc_line_iter it;
        struct proc_netdev d;
        proc_netdev_init(&it, b, len);
        while (proc_netdev_next(&it, &d) > 0) {
        }
        break;
    }
    case 9: {
        struct proc_psi p;
        (void)proc_psi_parse(b, len, &p);
        break;
    }
    case 10: {
        struct cgroup_cpu_stat c;
        struct cgroup_memory_stat m;
        struct cgroup_memory_events e;
        (void)cgroup_cpu_stat_parse(b, len, &c);
        (void)cgroup_memory_stat_parse(b, len, &m);
        (void)cgroup_memory_events_parse(b, len, &e);
        break;
    }
    case 11: {
        struct proc_loadavg l;
        (void)proc_loadavg_parse(b, len, &l);
        break;
    }
    case 12: {
        struct qemu_cmdline q;
        if (qemu_cmdline_parse(b, len, &q) == 0) {
            /* every string ends inside its array, lists stay bounded, a UUID is well formed */
            bool bad = !memchr(q.name, '\0', sizeof(q.name)) ||
                       !memchr(q.pidfile, '\0', sizeof(q.pidfile)) ||
                       q.nifnames > QEMU_MAX_IFNAMES || q.nqmp > QEMU_MAX_QMP ||
                       (q.has_uuid && !qemu_uuid_valid(q.uuid)) || q.smp == 0 || q.smp < -1 ||
                       q.mem_bytes < -1;
            for (size_t i = 0; i < q.nifnames && i < QEMU_MAX_IFNAMES; i++) {
                bad = bad || !memchr(q.ifnames[i], '\0', sizeof(q.ifnames[i]));
            }
            for (size_t i = 0; i < q.nqmp && i < QEMU_MAX_QMP; i++) {
                bad = bad || !memchr(q.qmp[i], '\0', sizeof(q.qmp[i]));
            }
            if (bad) {
                abort();
            }
        }
        break;
    }
    default: {
        uint64_t u;
        (void)proc_u64_parse(b, len, &u);
        break;
    }
    }
    free(b);
    return 0;
}
