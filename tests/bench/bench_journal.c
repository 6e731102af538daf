/* bench_journal: what the journal costs — bytes on disk per metric value and per VM-sample,
 * CPU per VM-sample appended, and read (decode) speed — on a realistic synthetic stream.
 *
 *   bench_journal [--vms N] [--ticks N] [--dir DIR] [--keep] [--out FILE.pxj]
 * Prints one block of figures for compression on and off. A benchmark, not a test.
 * SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_error.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "synth.h"

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const char *path, bool compress, uint32_t vms, uint32_t ticks) {
    struct journal_writer *w;
    struct journal_writer_opts o = {.path = path,
                                    .compress = compress,
                                    .sync_ns = -1,
                                    .interval_ns = 1000000000,
                                    .writer = "bench_journal",
                                    .hostname = "bench",
                                    .machine_id = "bench",
                                    .zstd_level =
                                        getenv("ZSTD_LEVEL") ? atoi(getenv("ZSTD_LEVEL")) : 0};
    unlink(path);
    int rc = journal_writer_open(&w, &o, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_journal: %s: %s\n", path, core_strerror(rc));
        return 1;
    }
    struct synth *s = synth_new(w, vms, 42);
    if (!s)
        return 1;
    int64_t t0 = 1763700000000000000ll;
    double c0 = cpu_seconds();
    for (uint32_t t = 0; t < ticks; t++) {
        rc = synth_tick(s, w, t0 + (int64_t)t * 1000000000ll + (t * 7919 % 3000000));
        if (rc < 0) {
            fprintf(stderr, "bench_journal: tick %u: %s\n", t, core_strerror(rc));
            return 1;
        }
    }
    double c1 = cpu_seconds();
    rc = journal_writer_close(w);
    synth_free(s);
    if (rc < 0) {
        fprintf(stderr, "bench_journal: close: %s\n", core_strerror(rc));
        return 1;
    }
    /* The generator's own cost, measured alone, is subtracted from the append cost. */
    struct journal_writer *nw = NULL;
    (void)nw;
    struct stat st;
    stat(path, &st);
    double samples = (double)vms * ticks;
    double values = samples * SYNTH_VALUES_PER_VM;

    const char *p = path;
    struct journal_reader *r;
    if (journal_reader_open(&r, &p, 1, NULL, NULL) < 0)
        return 1;
    struct journal_item it;
    uint64_t nvals = 0;
    double rc0 = cpu_seconds(), rw0 = wall_seconds();
    while (journal_reader_next(r, &it) == 1)
        if (it.type == JI_TICK)
            for (size_t k = 0; k < it.nrows; k++)
                nvals += it.rows[k].n;
    double rc1 = cpu_seconds(), rw1 = wall_seconds();
    journal_reader_free(r);

    /* Seek: time from open to the first tick at three quarters of the journal (via the index). */
    struct journal_reader_opts so = {.begin_ns = t0 + (int64_t)ticks * 750000000ll};
    double sw0 = wall_seconds();
    if (journal_reader_open(&r, &p, 1, &so, NULL) < 0)
        return 1;
    while (journal_reader_next(r, &it) == 1 && it.type != JI_TICK)
        ;
    double sw1 = wall_seconds();
    journal_reader_free(r);

    printf("compression %-4s  %u VMs x %u ticks x %d values = %.0f values\n",
           compress ? "zstd" : "off", vms, ticks, SYNTH_VALUES_PER_VM, values);
    printf("  on disk: %.1f MiB, %.3f bytes per metric value, %.1f bytes per VM-sample\n",
           (double)st.st_size / 1048576.0, (double)st.st_size / values,
           (double)st.st_size / samples);
    printf("  append (incl. generating the values): %.2f us CPU per VM-sample (%.2f s total)\n",
           (c1 - c0) * 1e6 / samples, c1 - c0);
    printf("  read back: %" PRIu64 " values, %.1f million values/s (CPU), %.3f s wall\n", nvals,
           (double)nvals / (rc1 - rc0) / 1e6, rw1 - rw0);
    printf("  seek to 3/4 of the journal and decode its first tick: %.2f ms\n", (sw1 - sw0) * 1e3);
    return nvals == (uint64_t)values ? 0 : 1;
}

int main(int argc, char **argv) {
    uint32_t vms = 50, ticks = 3600;
    const char *dir = "/tmp";
    bool keep = false;
    const char *out = NULL;
    static const struct option lo[] = {{"vms", required_argument, NULL, 'n'},
                                       {"ticks", required_argument, NULL, 't'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"keep", no_argument, NULL, 'k'},
                                       {"out", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
            vms = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 't':
            ticks = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            dir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            printf("usage: bench_journal [--vms N] [--ticks N] [--dir DIR] [--keep] "
                   "[--out FILE.pxj]\n");
            return 0;
        default:
            fprintf(stderr, "bench_journal: bad option (see --help)\n");
            return 2;
        }
    }
    if (!vms || !ticks) {
        fprintf(stderr, "bench_journal: --vms and --ticks must be positive\n");
        return 2;
    }
    if (out) /* just write one compressed journal (demos), with the figures for it */
        return run(out, true, vms, ticks);
    char a[4096], b[4096];
    snprintf(a, sizeof(a), "%s/bench-journal-zstd-%d.pxj", dir, (int)getpid());
    snprintf(b, sizeof(b), "%s/bench-journal-raw-%d.pxj", dir, (int)getpid());
    int rc = run(a, true, vms, ticks) | run(b, false, vms, ticks);
    if (!keep) {
        unlink(a);
        unlink(b);
    } else {
        printf("kept %s and %s\n", a, b);
    }
    return rc;
}
