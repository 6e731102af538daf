/* proxsampler: samples the VMs of this host and records raw counters to a journal, and/or prints
 * derived values as text or JSON Lines. See --help.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "attrs.h"
#include "core_error.h"
#include "journal_writer.h"
#include "libvirt_stats.h"
#include "printer.h"
#include "sampler.h"
#include "timeparse.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out) {
    fputs(
        "Usage: proxsampler [OPTIONS]\n"
        "Samples the virtual machines of this KVM host from the host side (/proc, cgroups, taps)\n"
        "and records the raw counters to a journal and/or prints derived values to stdout.\n"
        "\n"
        "Sampling:\n"
        "  -f, --frequency SECONDS   interval between samples (default 1; fractions allowed)\n"
        "  -r, --runs N              stop after N samples (default: until SIGINT/SIGTERM)\n"
        "      --procfs ROOT         procfs root (default /proc)\n"
        "      --sysfs ROOT          sysfs root (default /sys; cgroup v2 under ROOT/fs/cgroup)\n"
        "  -v, --verbose             report discovery and errors on stderr\n"
        "      --version             print the version and exit\n"
        "  -h, --help                print this help and exit\n"
        "\n"
        "Sources (default: auto, Proxmox when ROOT/etc/pve/qemu-server exists, else procfs):\n"
        "      --proxmox[=ROOT]      Proxmox VE: VMs from ROOT/var/run/qemu-server/VMID.pid,\n"
        "                            names from ROOT/etc/pve/qemu-server/VMID.conf (ROOT: a\n"
        "                            prefix for tests, default /)\n"
        "      --procfs-only         every QEMU process (qemu-system-*, kvm) found in procfs\n"
        "                            (new processes are looked for every ~2 s)\n"
        "      --libvirt             libvirt: one virConnectGetAllDomainStats call per tick\n"
        "                            (read-only) for names, UUIDs, ids, NICs and pids, and the\n"
        "                            statistics of --libvirt-stats; reconnects after a libvirtd\n"
        "                            restart, /proc data goes on meanwhile\n"
        "  -c, --connection URI      libvirt URI (default qemu:///system)\n"
        "      --libvirt-stats GROUPS\n"
        "                            comma-separated among state, cpu-total, balloon, vcpu,\n"
        "                            interface, block; 'all' (default: state,balloon,interface,\n"
        "                            block: cpu-total and vcpu repeat what /proc and the cgroup\n"
        "                            give, and cost QEMU ~1 ms per VM per call to serve)\n"
        "\n"
        "Collectors (default: all):\n"
        "      --cpu --mem --disk --net --io --pressure --host\n"
        "                            host: /proc/stat, loadavg, cpufreq; meminfo; diskstats\n"
        "                            (whole devices); net/dev; pressure; boot time, cores.\n"
        "                            VMs: schedstat of vCPU/other/vhost threads, cgroup v2\n"
        "                            cpu.stat, memory.*, *.pressure; status/stat; /proc/PID/io\n"
        "                            and delay accounting; tap counters in the guest's direction\n"
        "      --no-qmp              never connect to QEMU's QMP socket. Otherwise, for VMs\n"
        "                            whose socket is known (Proxmox VMID.qmp, -qmp/-chardev on\n"
        "                            the command line), --disk and --mem open one short session\n"
        "                            per VM every --daemon-interval (200 ms deadline, read-only\n"
        "                            queries, never held): query-blockstats (guest's disk view),\n"
        "                            query-balloon, balloon guest-stats; --cpu asks\n"
        "                            query-cpus-fast once per VM without debug-threads=on (vCPU\n"
        "                            thread ids). A socket that times out is retried after 1,\n"
        "                            2, 4 .. 32 ticks\n"
        "      --daemon-interval SECONDS\n"
        "                            ask QEMU (the QMP session; libvirt's balloon, block,\n"
        "                            cpu-total and vcpu groups) for each VM at most this often\n"
        "                            (default 10, like Proxmox's own pvestatd; 0 = every tick).\n"
        "                            Serving one VM costs QEMU ~1-5 ms of CPU; everything from\n"
        "                            /proc and the cgroup is still read every tick. In between,\n"
        "                            those values are missing and their rates span the interval\n"
        "      --perf                also per-VM perf counters (added to the collectors above):\n"
        "                            perf_event_open on each VM's own cgroup v2, per CPU:\n"
        "                            cycles, instructions, cache and branch events where the\n"
        "                            CPU provides them, task clock, context switches, CPU\n"
        "                            migrations, page faults (needs root or CAP_PERFMON)\n"
        "\n"
        "Output:\n"
        "  -p, --printer text|json|none\n"
        "                            stdout format (default text; none when --journal is given):\n"
        "                            text = one header line, then one line per VM per tick;\n"
        "                            json = one JSON object per tick (JSON Lines) with timestamp,\n"
        "                            host and domains (VMID, name, UUID, cpu_used, cpu_steal,\n"
        "                            cpu_other, cpu_other_steal in % of one core, mem, io, net)\n"
        "      --journal DIR|FILE.pxj\n"
        "                            record raw values to a journal directory (segments) or a\n"
        "                            single file (name ending in .pxj)\n"
        "      --rotate-size SIZE    new segment past SIZE (e.g. 256M; default 256M)\n"
        "      --rotate-age DURATION new segment every DURATION of wall time (e.g. 1d, 6h)\n"
        "      --retain-size SIZE    delete the oldest segments past SIZE in total\n"
        "      --retain-age DURATION delete segments whose newest data is older than DURATION\n"
        "      --sync DURATION       fdatasync at most this often (default 0 = every tick;\n"
        "                            'never' to leave it to the kernel)\n"
        "\n"
        "CPU figures: cpu_used = time the vCPU threads ran / interval, cpu_steal = time they were\n"
        "runnable but waited for a host CPU (the guest's steal); cpu_other* the same for QEMU's\n"
        "other threads. 100 = one host core. io_* are the host's I/O for the QEMU process (after\n"
        "the page cache), not the guest's disk view. Missing values are null (json) or - (text).\n"
        "\n"
        "Exit status: 0 success, 1 runtime failure, 2 bad usage.\n",
        out);
}

ATTR_FORMAT(printf, 1, 2) static void bad_usage(const char *fmt, ...) {
    va_list ap;
    fputs("proxsampler: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    exit(2);
}

/* "1048576", "256M", "1.5G", "64k" (powers of 1024). */
static int parse_size(const char *s, uint64_t *out) {
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isfinite(v)) {
        return -1;
    }
    double m = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        m = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        m = 1048576.0;
        end++;
        break;
    case 'g':
    case 'G':
        m = 1073741824.0;
        end++;
        break;
    case 't':
    case 'T':
        m = 1099511627776.0;
        end++;
        break;
    default:
        return -1;
    }
    if (*end == 'i' || *end == 'B') {
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    }
    if (*end || v * m > 1.8e19) {
        return -1;
    }
    *out = (uint64_t)(v * m);
    return 0;
}

enum {
    OPT_PROCFS = 1000,
    OPT_SYSFS,
    OPT_PROXMOX,
    OPT_PROCFS_ONLY,
    OPT_LIBVIRT,
    OPT_CPU,
    OPT_MEM,
    OPT_DISK,
    OPT_NET,
    OPT_IO,
    OPT_PRESSURE,
    OPT_HOST,
    OPT_PERF,
    OPT_JOURNAL,
    OPT_ROTATE_SIZE,
    OPT_ROTATE_AGE,
    OPT_RETAIN_SIZE,
    OPT_RETAIN_AGE,
    OPT_SYNC,
    OPT_VERSION,
    OPT_NO_QMP,
    OPT_DAEMON_INTERVAL,
    OPT_LIBVIRT_STATS,
};

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int open_journal(struct journal_writer **w, const struct journal_writer_opts *jo,
                        bool verbose) {
    struct journal_writer_recovery rec;
    memset(&rec, 0, sizeof(rec));
    int rc = journal_writer_open(w, jo, &rec);
    if (rc < 0) {
        fprintf(stderr, "proxsampler: cannot open journal %s: %s (sampling goes on; retrying)\n",
                jo->path, core_strerror(rc));
        *w = NULL;
        return rc;
    }
    if (rec.repaired) {
        fprintf(stderr, "proxsampler: journal %s: cut a torn tail of %llu bytes\n", rec.file,
                (unsigned long long)rec.cut_bytes);
    }
    if (verbose) {
        fprintf(stderr, "proxsampler: journal %s\n", journal_writer_path(*w));
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"frequency", required_argument, NULL, 'f'},
        {"runs", required_argument, NULL, 'r'},
        {"procfs", required_argument, NULL, OPT_PROCFS},
        {"sysfs", required_argument, NULL, OPT_SYSFS},
        {"proxmox", optional_argument, NULL, OPT_PROXMOX},
        {"procfs-only", no_argument, NULL, OPT_PROCFS_ONLY},
        {"libvirt", no_argument, NULL, OPT_LIBVIRT},
        {"connection", required_argument, NULL, 'c'},
        {"cpu", no_argument, NULL, OPT_CPU},
        {"mem", no_argument, NULL, OPT_MEM},
        {"disk", no_argument, NULL, OPT_DISK},
        {"net", no_argument, NULL, OPT_NET},
        {"io", no_argument, NULL, OPT_IO},
        {"pressure", no_argument, NULL, OPT_PRESSURE},
        {"host", no_argument, NULL, OPT_HOST},
        {"perf", no_argument, NULL, OPT_PERF},
        {"printer", required_argument, NULL, 'p'},
        {"journal", required_argument, NULL, OPT_JOURNAL},
        {"rotate-size", required_argument, NULL, OPT_ROTATE_SIZE},
        {"rotate-age", required_argument, NULL, OPT_ROTATE_AGE},
        {"retain-size", required_argument, NULL, OPT_RETAIN_SIZE},
        {"retain-age", required_argument, NULL, OPT_RETAIN_AGE},
        {"sync", required_argument, NULL, OPT_SYNC},
        {"no-qmp", no_argument, NULL, OPT_NO_QMP},
        {"daemon-interval", required_argument, NULL, OPT_DAEMON_INTERVAL},
        {"libvirt-stats", required_argument, NULL, OPT_LIBVIRT_STATS},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sampler_opts so;
    struct journal_writer_opts jo;
    enum printer_kind printer = PRINTER_TEXT;
    bool printer_set = false, source_set = false;
    double freq = 1.0;
    double daemon_interval = 10.0; /* s between QEMU queries per VM (QMP; libvirt groups) */
    long long runs = -1;
    const char *journal = NULL;
    int c;

    memset(&so, 0, sizeof(so));
    memset(&jo, 0, sizeof(jo));
    so.uri = "qemu:///system";
    jo.compress = true;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:r:c:p:vh", longopts, NULL)) != -1) {
        char *end;
        int64_t ns;
        uint64_t sz;
        switch (c) {
        case 'f':
            errno = 0;
            freq = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(freq >= 0.01 && freq <= 86400)) {
                bad_usage("bad --frequency '%s': seconds between 0.01 and 86400", optarg);
            }
            break;
        case 'r':
            errno = 0;
            runs = strtoll(optarg, &end, 10);
            if (end == optarg || *end || errno || runs < 1) {
                bad_usage("bad --runs '%s': a positive count", optarg);
            }
            break;
        case OPT_PROCFS:
            so.procfs = optarg;
            break;
        case OPT_SYSFS:
            so.sysfs = optarg;
            break;
        case OPT_PROXMOX:
            if (source_set && so.source != SOURCE_PROXMOX) {
                bad_usage("--proxmox conflicts with another source option");
            }
            so.source = SOURCE_PROXMOX;
            source_set = true;
            so.pve_root = optarg ? optarg : "";
            break;
        case OPT_PROCFS_ONLY:
            if (source_set && so.source != SOURCE_PROCFS) {
                bad_usage("--procfs-only conflicts with another source option");
            }
            so.source = SOURCE_PROCFS;
            source_set = true;
            break;
        case OPT_LIBVIRT:
            if (source_set && so.source != SOURCE_LIBVIRT) {
                bad_usage("--libvirt conflicts with another source option");
            }
            so.source = SOURCE_LIBVIRT;
            source_set = true;
            break;
        case 'c':
            so.uri = optarg;
            break;
        case OPT_CPU:
            so.collectors |= COLL_CPU;
            break;
        case OPT_MEM:
            so.collectors |= COLL_MEM;
            break;
        case OPT_DISK:
            so.collectors |= COLL_DISK;
            break;
        case OPT_NET:
            so.collectors |= COLL_NET;
            break;
        case OPT_IO:
            so.collectors |= COLL_IO;
            break;
        case OPT_PRESSURE:
            so.collectors |= COLL_PRESSURE;
            break;
        case OPT_HOST:
            so.collectors |= COLL_HOST;
            break;
        case OPT_PERF:
            so.collectors |= COLL_PERF;
            break;
        case 'p':
            if (strcmp(optarg, "text") == 0) {
                printer = PRINTER_TEXT;
            } else if (strcmp(optarg, "json") == 0) {
                printer = PRINTER_JSON;
            } else if (strcmp(optarg, "none") == 0) {
                printer = PRINTER_NONE;
            } else {
                bad_usage("bad --printer '%s': text, json or none", optarg);
            }
            printer_set = true;
            break;
        case OPT_JOURNAL:
            journal = optarg;
            break;
        case OPT_ROTATE_SIZE:
            if (parse_size(optarg, &sz) < 0 || sz == 0) {
                bad_usage("bad --rotate-size '%s': a size such as 256M", optarg);
            }
            jo.rotate_bytes = sz;
            break;
        case OPT_RETAIN_SIZE:
            if (parse_size(optarg, &sz) < 0 || sz == 0) {
                bad_usage("bad --retain-size '%s': a size such as 10G", optarg);
            }
            jo.retain_bytes = sz;
            break;
        case OPT_ROTATE_AGE:
            if (time_parse_duration(optarg, &ns) < 0 || ns <= 0) {
                bad_usage("bad --rotate-age '%s': a duration such as 1d or 6h", optarg);
            }
            jo.rotate_ns = ns;
            break;
        case OPT_RETAIN_AGE:
            if (time_parse_duration(optarg, &ns) < 0 || ns <= 0) {
                bad_usage("bad --retain-age '%s': a duration such as 30d", optarg);
            }
            jo.retain_ns = ns;
            break;
        case OPT_SYNC:
            if (strcmp(optarg, "never") == 0) {
                jo.sync_ns = -1;
            } else if (time_parse_duration(optarg, &ns) == 0 || strcmp(optarg, "0") == 0) {
                jo.sync_ns = strcmp(optarg, "0") == 0 ? 0 : ns;
            } else {
                bad_usage("bad --sync '%s': a duration such as 10s, or never", optarg);
            }
            break;
        case OPT_NO_QMP:
            so.no_qmp = true;
            break;
        case OPT_DAEMON_INTERVAL:
            errno = 0;
            daemon_interval = strtod(optarg, &end);
            if (end == optarg || *end || errno ||
                !(daemon_interval >= 0 && daemon_interval <= 86400)) {
                bad_usage("bad --daemon-interval '%s': seconds between 0 and 86400", optarg);
            }
            break;
        case OPT_LIBVIRT_STATS: {
            char bad[80];
            if (lvs_groups_parse(optarg, &so.libvirt_groups, bad, sizeof(bad)) < 0) {
                bad_usage("bad --libvirt-stats '%s': unknown group '%s' (state, cpu-total, "
                          "balloon, vcpu, interface, block, all)",
                          optarg, bad);
            }
            break;
        }
        case 'v':
            so.verbose = true;
            break;
        case OPT_VERSION:
            printf("proxsampler %s\n", PROXTOP_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            bad_usage("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        bad_usage("unexpected argument '%s'", argv[optind]);
    }
    if (!printer_set && journal) {
        printer = PRINTER_NONE;
    }

    /* QEMU is asked about each VM every daemon_interval (at least every tick). */
    so.daemon_every = (unsigned)fmax(1.0, round(daemon_interval / freq));
    /* New QEMU processes are looked for about every 2 s (known VMs are checked every tick). */
    so.discover_every = freq >= 2.0 ? 1u : (unsigned)ceil(2.0 / freq);
    if (so.collectors & COLL_PERF) {
        /* --perf keeps (VMs x CPUs x events) fds open: use the hard limit. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    char err[512] = "";
    struct sampler *s = NULL;
    int rc = sampler_new(&s, &so, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "proxsampler: %s\n", err);
        return 1;
    }
    if (so.verbose) {
        fprintf(stderr,
                "proxsampler: source %s, interval %.3f s, QEMU asked every %u tick(s), delay "
                "accounting %s\n",
                sampler_source_name(s), freq, so.daemon_every,
                sampler_delayacct(s) ? "on" : "off (vm.io.blkio_delay missing)");
    }

    struct journal_writer *w = NULL;
    char host[256] = "";
    if (journal) {
        jo.path = journal;
        jo.writer = "proxsampler " PROXTOP_VERSION;
        jo.interval_ns = (int64_t)(freq * 1e9);
        gethostname(host, sizeof(host) - 1);
        (void)open_journal(&w, &jo, so.verbose);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int64_t interval = (int64_t)llround(freq * 1e9), next = mono_ns();
    int header = 0, exit_code = 0, last_jerr = 0;
    long long done = 0;
    char last_err[512] = "", last_perf[256] = "";
    while (!g_stop && (runs < 0 || done < runs)) {
        rc = sampler_tick(s);
        done++;
        if ((rc < 0 || so.verbose) && strcmp(last_err, sampler_last_error(s)) != 0) {
            snprintf(last_err, sizeof(last_err), "%s", sampler_last_error(s));
            if (last_err[0]) {
                fprintf(stderr, "proxsampler: %s\n", last_err);
            }
        }
        if (strcmp(last_perf, sampler_perf_message(s)) != 0) {
            snprintf(last_perf, sizeof(last_perf), "%s", sampler_perf_message(s));
            if (last_perf[0]) {
                fprintf(stderr, "proxsampler: %s\n", last_perf);
            }
        }
        if (journal && !w && done % 30 == 0) {
            if (open_journal(&w, &jo, so.verbose) == 0) {
                sampler_journal_reset(s);
            }
        }
        if (w) {
            int jr = sampler_journal_write(s, w);
            if (jr < 0 && jr != last_jerr) {
                fprintf(stderr, "proxsampler: journal write failed: %s (sampling goes on)\n",
                        core_strerror(jr));
            } else if (jr == 0 && last_jerr < 0) {
                fprintf(stderr, "proxsampler: journal writes work again\n");
            }
            last_jerr = jr;
        }
        if (printer != PRINTER_NONE && printer_print(printer, s, stdout, &header) < 0) {
            if (!w) {
                fprintf(stderr, "proxsampler: cannot write to stdout: %s\n", strerror(errno));
                exit_code = 1;
                break;
            }
            printer = PRINTER_NONE; /* stdout went away: keep journaling */
        }
        if (runs >= 0 && done >= runs) {
            break;
        }
        next += interval;
        int64_t now = mono_ns();
        if (next < now) {
            next = now; /* overran (e.g. suspended): do not try to catch up in a burst */
        }
        struct timespec ts = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
    }
    if (w) {
        int cr = journal_writer_close(w);
        if (cr < 0) {
            fprintf(stderr, "proxsampler: closing the journal: %s\n", core_strerror(cr));
            exit_code = 1;
        }
    }
    sampler_free(s);
    return exit_code;
}
