/* bench_sampler: the sampler's own cost per tick with all collectors, measured in-process.
 *
 *   bench_sampler [-n TICKS] [-i INTERVAL_MS] [--proxmox ROOT] [--journal PATH] [--procfs ROOT]
 *                 [--qmp [--daemon-every N]]
 *
 * Runs TICKS sampler ticks (default 300, 100 ms apart) with every collector on, writing each tick
 * to a journal (a temporary .pxj unless --journal), after 5 warm-up ticks. Prints whole-process
 * CPU (user + system, getrusage) per tick and per VM per tick, the VMs seen, peak RSS, and whether
 * RSS grew during the measured ticks. Start the guests first (tests/bench/bench_sampler.sh does,
 * and adds syscalls per tick and the CPU QEMU's own threads spent meanwhile).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "journal_writer.h"
#include "sampler.h"

static double cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static long rss_kb(void) {
    char b[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (n <= 0) {
        return -1;
    }
    b[n] = '\0';
    char *p = strstr(b, "VmRSS:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        {"proxmox", required_argument, NULL, 'P'},      {"journal", required_argument, NULL, 'j'},
        {"procfs", required_argument, NULL, 'p'},       {"qmp", no_argument, NULL, 'q'},
        {"daemon-every", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    struct sampler_opts o;
    long ticks = 300, interval_ms = 100;
    const char *journal = NULL;
    char tmpj[] = "/tmp/bench_sampler.XXXXXX", err[512];
    int c;

    memset(&o, 0, sizeof(o));
    o.source = SOURCE_PROCFS;
    o.discover_every = 20; /* as proxsampler does at -f 0.1 */
    o.no_qmp = true;       /* the /proc + cgroup collectors; --qmp adds one QMP session per VM */
    while ((c = getopt_long(argc, argv, "n:i:", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
            ticks = strtol(optarg, NULL, 10);
            break;
        case 'i':
            interval_ms = strtol(optarg, NULL, 10);
            break;
        case 'P':
            o.source = SOURCE_PROXMOX;
            o.pve_root = optarg;
            break;
        case 'j':
            journal = optarg;
            break;
        case 'p':
            o.procfs = optarg;
            break;
        case 'q':
            o.no_qmp = false;
            break;
        case 'd': /* --daemon-every N: the QMP data queries every N ticks per VM */
            o.daemon_every = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: bench_sampler [-n TICKS] [-i MS] [--proxmox ROOT] "
                            "[--journal PATH] [--procfs ROOT] [--qmp [--daemon-every N]]\n");
            return 2;
        }
    }
    if (ticks < 1 || interval_ms < 0) {
        fprintf(stderr, "bench_sampler: bad -n or -i\n");
        return 2;
    }
    struct sampler *s;
    if (sampler_new(&s, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_sampler: %s\n", err);
        return 1;
    }
    char jpath[64];
    if (!journal) {
        int fd = mkstemp(tmpj);
        if (fd < 0) {
            perror("mkstemp");
            return 1;
        }
        close(fd);
        unlink(tmpj);
        snprintf(jpath, sizeof(jpath), "%s.pxj", tmpj);
        journal = jpath;
    }
    struct journal_writer_opts jo;
    struct journal_writer *w;
    memset(&jo, 0, sizeof(jo));
    jo.path = journal;
    jo.compress = true;
    jo.sync_ns = -1; /* measure the sampler, not the disk */
    jo.writer = "bench_sampler";
    if (journal_writer_open(&w, &jo, NULL) < 0) {
        fprintf(stderr, "bench_sampler: cannot open journal %s\n", journal);
        return 1;
    }
    struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
    for (int i = 0; i < 5; i++) {
        sampler_tick(s);
        sampler_journal_write(s, w);
        nanosleep(&ts, NULL);
    }
    long rss0 = rss_kb();
    double c0 = cpu_us(), vms = 0;
    for (long i = 0; i < ticks; i++) {
        sampler_tick(s);
        sampler_journal_write(s, w);
        vms += (double)sampler_nvms(s);
        if (interval_ms > 0) {
            nanosleep(&ts, NULL);
        }
    }
    double c1 = cpu_us();
    long rss1 = rss_kb();
    double per_tick = (c1 - c0) / (double)ticks, avg_vms = vms / (double)ticks;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bench_sampler: source %s, %ld ticks, %.1f VMs on average, all collectors%s, journal "
           "%s (%llu bytes)\n",
           sampler_source_name(s), ticks, avg_vms, o.no_qmp ? " (no QMP)" : " + QMP", journal,
           (unsigned long long)journal_writer_bytes(w));
    printf("  CPU per tick        %.1f us (user+system, whole process)\n", per_tick);
    printf("  CPU per VM per tick %.1f us\n", avg_vms > 0 ? per_tick / avg_vms : 0.0);
    printf("  RSS                 %ld kB before, %ld kB after the measured ticks, peak %ld kB\n",
           rss0, rss1, ru.ru_maxrss);
    journal_writer_close(w);
    sampler_free(s);
    if (journal == jpath) {
        unlink(jpath);
    }
    return 0;
}
