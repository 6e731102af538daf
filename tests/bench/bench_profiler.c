/* bench_profiler: proxprofiler's throughput and memory — metric-samples per second from CSV and
 * from a journal, against a plain strtod one-pass over the same CSV, peak RSS, and the core's
 * scaling with states and history. A benchmark, not a test.
 *
 *   bench_profiler [--rows N] [--dir DIR] [--keep]
 * The CSV is generated at run time like the tsprofiler baseline's (5M rows x 3 metrics, AR(1)
 * around 4 regime levels, spikes, 2 decimals, no header), written to DIR (/tmp). Every case runs
 * in a forked child so that its peak RSS is its own.
 * SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal_writer.h"
#include "markov.h"
#include "run.h"
#include "source.h"
#include "synth.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double gauss(void) {
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* The baseline generator's process (gen.py), in C. */
static int gen_csv(const char *path, long rows, int nm) {
    static const double level[4] = {5, 25, 55, 88};
    static const double kind[3][4] = {
        {0.95, 4.0, 0.002, 0.002}, {0.995, 0.8, 0.0005, 0.0}, {0.85, 6.0, 0.003, 0.01}};
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    int reg[16];
    double x[16];
    for (int m = 0; m < nm; m++) {
        reg[m] = (int)(urand() * 4);
        x[m] = level[reg[m]];
    }
    for (long i = 0; i < rows; i++) {
        for (int m = 0; m < nm; m++) {
            const double *k = kind[m % 3];
            if (urand() < k[2]) {
                reg[m] = urand() < 0.8 ? reg[m] + (urand() < 0.5 ? 1 : -1) : (int)(urand() * 4);
                reg[m] = reg[m] < 0 ? 0 : (reg[m] > 3 ? 3 : reg[m]);
            }
            double mu = level[reg[m]];
            x[m] = mu + k[0] * (x[m] - mu) + gauss() * k[1];
            double v = x[m] + (urand() < k[3] ? 20 + 40 * urand() : 0.0);
            v = v < 0 ? 0 : (v > 100 ? 100 : v);
            fprintf(f, m ? ",%.2f" : "%.2f", v);
        }
        fputc('\n', f);
    }
    return fclose(f);
}

/* The baseline's C floor: getline + strtod, centred bins, first-order counts. */
static long floor_pass(const char *path, int S) {
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    long *cnt = calloc((size_t)16 * S * S, sizeof(long));
    int prev[16] = {0};
    double step = 100.0 / S;
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    while (getline(&line, &cap, f) > 0) {
        char *p = line, *e;
        int m = 0;
        for (;;) {
            double v = strtod(p, &e);
            if (e == p) {
                break;
            }
            int s = (int)((v + step / 2) / step);
            if (v + step / 2 < 0) {
                s = 0;
            }
            if (s > S - 1) {
                s = S - 1;
            }
            cnt[((size_t)m * S + prev[m]) * S + s]++;
            prev[m] = s;
            m++;
            n++;
            if (*e != ',') {
                break;
            }
            p = e + 1;
        }
        if (m == 0) {
            break;
        }
    }
    free(line);
    free(cnt);
    fclose(f);
    return n;
}

/* Profiles inputs with proxprofiler's library (the same path as the program). Returns the
 * metric-samples pushed, or -1. */
static long profile_inputs(const char *const *paths, size_t n, const char *metrics, int states,
                           int history, bool csv) {
    struct run_config c;
    memset(&c, 0, sizeof c);
    profile_settings_default(&c.set);
    c.set.states = (uint32_t)states;
    c.set.history = history;
    c.set.binning = PROFILE_BIN_FIXED;
    c.fixedbound = c.have_fixedmin = c.have_fixedmax = metrics != NULL;
    if (!metrics) {
        c.set.binning = PROFILE_BIN_MINMAX;
    }
    c.fixedmin = 0;
    c.fixedmax = 100;
    c.metrics = metrics;
    c.src.paths = paths;
    c.src.npaths = n;
    c.src.format = csv ? SRC_CSV : SRC_AUTO;
    c.src.csv.sep = ',';
    c.src.csv.no_header = true;
    c.src.csv.time_col = -1;
    c.src.csv.interval = 1000000000;
    c.src.csv.time_unit = 1000000000;
    struct run *r;
    char err[512];
    if (run_new(&r, &c, err, sizeof err) < 0 || run_profiles(r, err, sizeof err) < 0) {
        fprintf(stderr, "bench_profiler: %s\n", err);
        return -1;
    }
    long samples = 0;
    for (size_t i = 0; i < run_count(r); i++) {
        struct profile *p = run_profile_at(r, i);
        for (size_t m = 0; m < profile_nmetrics(p); m++) {
            samples += (long)markov_series_samples(profile_metric(p, m)) +
                       (long)markov_series_nan_skipped(profile_metric(p, m));
        }
    }
    run_free(r);
    return samples;
}

struct caseres {
    double wall;
    long samples;
    long rss_kib;
};

/* Runs fn in a child; returns its wall time, result and peak RSS. */
static struct caseres in_child(long (*fn)(void *), void *arg) {
    struct caseres res = {0};
    int pfd[2];
    if (pipe(pfd) < 0) {
        return res;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        double t0 = now();
        long n = fn(arg);
        double t = now() - t0;
        if (write(pfd[1], &t, sizeof t) < 0 || write(pfd[1], &n, sizeof n) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    struct rusage ru;
    int st;
    wait4(pid, &st, 0, &ru);
    if (read(pfd[0], &res.wall, sizeof res.wall) != sizeof res.wall ||
        read(pfd[0], &res.samples, sizeof res.samples) != sizeof res.samples) {
        res.samples = -1;
    }
    close(pfd[0]);
    res.rss_kib = ru.ru_maxrss;
    return res;
}

static const char *g_csv, *g_journal, *g_synth;

static long c_floor(void *a) {
    (void)a;
    return floor_pass(g_csv, 4);
}
static long c_csv(void *a) {
    (void)a;
    return profile_inputs(&g_csv, 1, "metric_0,metric_1,metric_2", 4, 1, true);
}
static long c_journal(void *a) {
    (void)a;
    return profile_inputs(&g_journal, 1, "metric_0,metric_1,metric_2", 4, 1, false);
}
static long c_synth(void *a) {
    (void)a;
    return profile_inputs(&g_synth, 1, NULL, 4, 1, false);
}
static long c_import(void *a) {
    (void)a;
    struct source_opts o;
    memset(&o, 0, sizeof o);
    o.paths = &g_csv;
    o.npaths = 1;
    o.format = SRC_CSV;
    o.csv.sep = ',';
    o.csv.no_header = true;
    o.csv.time_col = -1;
    o.csv.interval = 1000000000;
    uint64_t rows, skipped;
    char err[512];
    if (import_csv(&o, g_journal, "bench", &rows, &skipped, err, sizeof err) < 0) {
        fprintf(stderr, "bench_profiler: %s\n", err);
        return -1;
    }
    return (long)rows * 3;
}

static void report(const char *what, struct caseres r, double ref) {
    printf("  %-44s %8.3f s %8.1f M samples/s  peak RSS %6.1f MiB", what, r.wall,
           (double)r.samples / r.wall / 1e6, (double)r.rss_kib / 1024.0);
    if (ref > 0) {
        printf("  %.2fx floor", r.wall / ref);
    }
    printf("\n");
}

static void core_scaling(void) {
    enum { NV = 1 << 20 };
    double *v = malloc(NV * sizeof *v);
    double level = 25, y = 25;
    for (size_t i = 0; i < NV; i++) {
        if (urand() < 0.002) {
            level = level < 50 ? 88 : 5;
        }
        y = level + 0.95 * (y - level) + (urand() - 0.5) * 8;
        v[i] = y < 0 ? 0 : (y > 100 ? 100 : y);
    }
    static const int cfgs[][3] = {{4, 1, 1},  {4, 1, 10}, {4, 2, 1},  {10, 1, 1},
                                  {10, 2, 1}, {10, 3, 1}, {64, 1, 1}, {64, 2, 1}};
    printf("core push path (markov_series_push_n, values in memory, 64M samples each):\n");
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        struct markov_config mc = {.nstates = (uint32_t)cfgs[c][0],
                                   .order = cfgs[c][1],
                                   .buffersize = (uint32_t)cfgs[c][2],
                                   .mode = DISC_LINEAR,
                                   .min = 0,
                                   .max = 100};
        struct markov_series *s;
        if (markov_series_new(&s, &mc) < 0) {
            continue;
        }
        markov_series_push_n(s, NULL, v, NV);
        double t0 = now();
        for (int r = 0; r < 64; r++) {
            markov_series_push_n(s, NULL, v, NV);
        }
        double dt = now() - t0;
        printf("  states %3d history %d buffersize %2d: %7.1f M samples/s\n", cfgs[c][0],
               cfgs[c][1], cfgs[c][2], 64.0 * NV / dt / 1e6);
        markov_series_free(s);
    }
    free(v);
}

static long c_synth_write(void *a) {
    uint32_t ticks = *(uint32_t *)a;
    struct journal_writer *w;
    struct journal_writer_opts o = {.path = g_synth,
                                    .single_file = true,
                                    .compress = true,
                                    .sync_ns = -1,
                                    .writer = "bench_profiler",
                                    .hostname = "bench",
                                    .machine_id = "bench"};
    if (journal_writer_open(&w, &o, NULL) < 0) {
        return -1;
    }
    struct synth *s = synth_new(w, 50, 42);
    for (uint32_t t = 0; t < ticks; t++) {
        synth_tick(s, w, 1763700000000000000ll + (int64_t)t * 1000000000ll);
    }
    synth_free(s);
    journal_writer_close(w);
    return 0;
}

int main(int argc, char **argv) {
    long rows = 5000000;
    uint32_t ticks = 20000;
    const char *dir = "/tmp";
    bool keep = false;
    static const struct option lo[] = {
        {"rows", required_argument, NULL, 'r'}, {"ticks", required_argument, NULL, 't'},
        {"dir", required_argument, NULL, 'd'},  {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            rows = atol(optarg);
            break;
        case 't':
            ticks = (uint32_t)atol(optarg);
            break;
        case 'd':
            dir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'h':
            printf("usage: bench_profiler [--rows N] [--ticks N] [--dir DIR] [--keep]\n");
            return 0;
        default:
            fprintf(stderr, "bench_profiler: bad option (see --help)\n");
            return 2;
        }
    }
    if (rows <= 0 || ticks == 0) {
        fprintf(stderr, "bench_profiler: --rows and --ticks must be positive\n");
        return 2;
    }
    char csv[4096], jn[4096], sy[4096];
    snprintf(csv, sizeof csv, "%s/bench-profiler-%d.csv", dir, (int)getpid());
    snprintf(jn, sizeof jn, "%s/bench-profiler-%d.pxj", dir, (int)getpid());
    snprintf(sy, sizeof sy, "%s/bench-profiler-synth-%d.pxj", dir, (int)getpid());
    g_csv = csv;
    g_journal = jn;
    g_synth = sy;
    double t0 = now();
    if (gen_csv(csv, rows, 3) < 0) {
        fprintf(stderr, "bench_profiler: cannot write %s\n", csv);
        return 1;
    }
    struct stat st;
    stat(csv, &st);
    printf("input: %ld rows x 3 metrics, %.1f MB CSV (generated in %.1f s); 4 states, history "
           "1, buffersize 1, fixed bounds 0..100\n",
           rows, (double)st.st_size / 1e6, now() - t0);
    struct caseres fl = in_child(c_floor, NULL);
    report("strtod one-pass floor (getline+strtod)", fl, 0);
    struct caseres cs = in_child(c_csv, NULL);
    report("proxprofiler, CSV input", cs, fl.wall);
    struct caseres im = in_child(c_import, NULL);
    report("proxprofiler import (CSV -> journal)", im, fl.wall);
    struct caseres jr = in_child(c_journal, NULL);
    report("proxprofiler, journal input (imported CSV)", jr, 0);
    if (in_child(c_synth_write, &ticks).samples == 0) {
        struct caseres sj = in_child(c_synth, NULL);
        printf("synthetic hypervisor journal: 50 VMs x %u ticks x 40 raw values, default derived "
               "metrics (rates via rate_derive), minmax bounds (2 passes):\n",
               ticks);
        report("derived samples profiled", sj, 0);
        printf("  = %.1f M raw journal values/s read (both passes: %.1f M/s)\n",
               50.0 * ticks * 40 * 2 / sj.wall / 1e6 / 2, 50.0 * ticks * 40 * 2 / sj.wall / 1e6);
    }
    core_scaling();
    if (!keep) {
        unlink(csv);
        unlink(jn);
        unlink(sy);
    } else {
        printf("kept %s, %s and %s\n", csv, jn, sy);
    }
    return 0;
}
