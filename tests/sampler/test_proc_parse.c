/* test_proc_parse.c: the /proc, /sys and cgroup parsers on real files captured from this CI host
 * and from lab guests (datasets/proc, see its README for how each was captured), plus truncated,
 * garbage and oversized inputs. Expected values were read off the files by hand.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core_error.h"
#include "proc_parse.h"
#include "qemu_cmdline.h"

#define DATASET PROXTOP_SOURCE_DIR "/datasets/proc"

static char buf[1 << 16];
static int dfd = -1;

/* Reads DATASET/path into buf and returns its length; fails the test if it cannot. */
static size_t load(const char *path) {
    int n = proc_read_at(dfd, path, buf, sizeof(buf));
    if (n < 0) {
        fail_msg("cannot read %s/%s: %s", DATASET, path, strerror(-n));
    }
    return (size_t)n;
}

static int group_setup(void **state) {
    (void)state;
    dfd = open(DATASET, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dfd < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
    (void)state;
    close(dfd);
    return 0;
}

/* Every prefix of a real file must parse to 0 or an error, never crash or read past the end
 * (the copy has no NUL terminator, so ASan sees any overread). */
typedef int (*parse_fn)(const char *, size_t);

static void every_prefix(const char *path, parse_fn fn) {
    size_t len = load(path);
    char *copy = test_malloc(len + 1);
    for (size_t n = 0; n <= len; n++) {
        char *exact = test_malloc(n ? n : 1);
        memcpy(exact, buf, n);
        (void)fn(exact, n);
        test_free(exact);
    }
    /* And with every byte flipped to garbage in turn. */
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, buf, len);
        copy[i] = (char)(copy[i] ^ 0x5a);
        (void)fn(copy, len);
    }
    test_free(copy);
}

/*============================== /proc/PID/stat ============================== */

static void test_pid_stat_qemu(void **state) {
    struct proc_pid_stat st;
    size_t n = load("qemu-spin-kvm/stat");
    (void)state;
    assert_int_equal(proc_pid_stat_parse(buf, n, &st), 0);
    assert_int_equal(st.pid, 9674);
    assert_string_equal(st.comm, "qemu-system-x86");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 9162);
    assert_int_equal(st.minflt, 4971);
    assert_int_equal(st.majflt, 3);
    assert_int_equal(st.utime, 1);
    assert_int_equal(st.stime, 321);
    assert_int_equal(st.priority, 20);
    assert_int_equal(st.nice, 0);
    assert_int_equal(st.num_threads, 6);
    assert_int_equal(st.starttime, 55645);
    assert_int_equal(st.vsize, 392871936);
    assert_int_equal(st.rss, 9697);
    assert_int_equal(st.processor, 1);
    assert_int_equal(st.delayacct_blkio_ticks, 0);
    assert_int_equal(st.nfields, 52);
}

/* Under this host's PVM KVM the vCPU's time is system time and guest_time stays 0 (lab.md §0). */
static void test_pid_stat_vcpu_thread(void **state) {
    struct proc_pid_stat st;
    size_t n = load("qemu-spin-kvm/task/9679/stat");
    (void)state;
    assert_int_equal(proc_pid_stat_parse(buf, n, &st), 0);
    assert_int_equal(st.pid, 9679);
    assert_string_equal(st.comm, "CPU 0/KVM");
    assert_int_equal(st.utime, 0);
    assert_int_equal(st.stime, 332);
    assert_int_equal(st.guest_time, 0);
    assert_int_equal(st.starttime, 55648);
}

/* A real process named "a b) (c": comm ends at the LAST ')'. */
static void test_pid_stat_odd_comm(void **state) {
    struct proc_pid_stat st;
    size_t n = load("pid-odd-comm/stat");
    (void)state;
    assert_int_equal(proc_pid_stat_parse(buf, n, &st), 0);
    assert_int_equal(st.pid, 9621);
    assert_string_equal(st.comm, "a b) (c");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 9162);
    assert_int_equal(st.minflt, 231);
    assert_int_equal(st.starttime, 55619);
    assert_int_equal(st.rss, 444);
    assert_int_equal(st.nfields, 52);
}

static void test_pid_stat_bad(void **state) {
    struct proc_pid_stat st;
    static const char *bad[] = {
        "",
        "1234",
        "1234 (qemu",                         /* no closing parenthesis */
        "1234 (qemu) ",                       /* no state */
        "1234 (qemu) S 1 2 3 4 5 6 7 8 9 10", /* too few fields */
        "x (qemu) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
        "1 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 2x 21 22", /* junk in a number */
        "1 (a) S 1 2 3 4 5 6 99999999999999999999999 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
        "1 (a\n) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", /* ')' on line 2 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(proc_pid_stat_parse(bad[i], strlen(bad[i]), &st) < 0);
    }
    /* The minimum: 24 fields. */
    const char *ok = "1 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21";
    assert_int_equal(proc_pid_stat_parse(ok, strlen(ok), &st), 0);
    assert_int_equal(st.nfields, 24);
    assert_int_equal(st.rss, 21);
}

static int pid_stat_fn(const char *b, size_t n) {
    struct proc_pid_stat st;
    return proc_pid_stat_parse(b, n, &st);
}

static void test_pid_stat_prefixes(void **state) {
    (void)state;
    every_prefix("pid-odd-comm/stat", pid_stat_fn);
    every_prefix("qemu-spin-kvm/task/9679/stat", pid_stat_fn);
}

/*============================== schedstat, status, statm, io ============================== */

static void test_schedstat(void **state) {
    struct proc_schedstat s;
    size_t n = load("qemu-spin-kvm/task/9679/schedstat");
    (void)state;
    assert_int_equal(proc_schedstat_parse(buf, n, &s), 0);
    assert_int_equal(s.run_ns, 3337432354ULL);
    assert_int_equal(s.wait_ns, 36276916);
    assert_int_equal(s.slices, 243);
    n = load("qemu-spin-kvm/task/9678/schedstat");
    assert_int_equal(proc_schedstat_parse(buf, n, &s), 0);
    assert_int_equal(s.run_ns, 121320);
    assert_int_equal(s.wait_ns, 0);
    assert_true(proc_schedstat_parse("123 456", 7, &s) < 0);
    assert_true(proc_schedstat_parse("123 456 7 8", 11, &s) < 0);
    assert_int_equal(proc_schedstat_parse("1 2 18446744073709551616", 24, &s), -ERANGE);
    assert_true(proc_schedstat_parse("-1 2 3", 6, &s) < 0);
}

static void test_status(void **state) {
    struct proc_status s;
    size_t n = load("qemu-spin-kvm/status");
    (void)state;
    assert_int_equal(proc_status_parse(buf, n, &s), 0);
    assert_int_equal(s.vm_rss, 38932);
    assert_int_equal(s.vm_hwm, 41632);
    assert_int_equal(s.vm_swap, 0);
    assert_int_equal(s.threads, 6);
    assert_true(s.valid & PROC_STATUS_VM_RSS);
    assert_true(s.valid & PROC_STATUS_VM_SWAP);
    /* A kernel thread: no Vm* lines at all, so VmRSS is missing, not 0. */
    n = load("host-vm/pid-kthreadd/status");
    assert_int_equal(proc_status_parse(buf, n, &s), 0);
    assert_int_equal(s.threads, 1);
    assert_false(s.valid & PROC_STATUS_VM_RSS);
    assert_false(s.valid & PROC_STATUS_VM_SWAP);
    /* A numeric field with text in it is an error, not a 0. */
    assert_int_equal(proc_status_parse("Threads:\tmany\n", 14, &s), -CORE_EPARSE);
}

static void test_statm(void **state) {
    struct proc_statm s;
    size_t n = load("qemu-linux-tcg/statm");
    (void)state;
    assert_int_equal(proc_statm_parse(buf, n, &s), 0);
    n = load("qemu-spin-kvm/statm");
    assert_int_equal(proc_statm_parse(buf, n, &s), 0);
    assert_int_equal(s.size, 95916);
    assert_int_equal(s.resident, 9733);
    assert_int_equal(s.shared, 5523);
    assert_int_equal(s.text, 1431);
    assert_int_equal(s.data, 19580);
    assert_true(proc_statm_parse("1 2 3 4 5 6", 11, &s) < 0);
}

static void test_io(void **state) {
    struct proc_io io;
    size_t n = load("qemu-spin-kvm/io");
    (void)state;
    assert_int_equal(proc_io_parse(buf, n, &io), 0);
    assert_int_equal(io.rchar, 340168);
    assert_int_equal(io.wchar, 260);
    assert_int_equal(io.syscr, 108);
    assert_int_equal(io.syscw, 26);
    assert_int_equal(io.read_bytes, 1394688);
    assert_int_equal(io.write_bytes, 12288);
    assert_int_equal(io.cancelled_write_bytes, 0);
    assert_int_equal(io.valid, 0x7f);
}

/*============================== host files ============================== */

static void test_proc_stat(void **state) {
    struct proc_cpu_times cpus[4];
    struct proc_stat st = {.cpus = cpus, .cpus_cap = 4};
    size_t n = load("host-vm/stat");
    (void)state;
    assert_int_equal(proc_stat_parse(buf, n, &st), 0);
    assert_int_equal(st.total.id, -1);
    assert_int_equal(st.total.user, 7389);
    assert_int_equal(st.total.system, 6916);
    assert_int_equal(st.total.idle, 95723);
    assert_int_equal(st.total.iowait, 620);
    assert_int_equal(st.total.softirq, 60);
    assert_int_equal(st.total.steal, 15);
    assert_int_equal(st.total.guest, 1);
    assert_int_equal(st.total.nfields, 10);
    assert_int_equal(st.ncpus, 2);
    assert_int_equal(cpus[0].id, 0);
    assert_int_equal(cpus[0].user, 2472);
    assert_int_equal(cpus[0].system, 3610);
    assert_int_equal(cpus[1].id, 1);
    assert_int_equal(st.ctxt, 488792);
    assert_int_equal(st.btime, 1795300205);
    assert_int_equal(st.processes, 9200);
    assert_int_equal(st.procs_running, 1);
    assert_int_equal(st.procs_blocked, 0);
    /* A caller array too small: counted, not overflowed. */
    struct proc_stat small = {.cpus = cpus, .cpus_cap = 1};
    assert_int_equal(proc_stat_parse(buf, n, &small), 0);
    assert_int_equal(small.ncpus, 2);
    struct proc_stat none = {0};
    assert_int_equal(proc_stat_parse(buf, n, &none), 0);
    /* The guest kernel's file parses too. */
    n = load("guest-linux-6.1/proc/stat");
    assert_int_equal(proc_stat_parse(buf, n, &st), 0);
    assert_int_equal(st.ncpus, 1);
    /* An old 4-field cpu line is fine; 3 fields are not; no total line is an error. */
    assert_int_equal(proc_stat_parse("cpu  1 2 3 4\n", 13, &st), 0);
    assert_int_equal(st.total.nfields, 4);
    assert_true(proc_stat_parse("cpu  1 2 3\n", 11, &st) < 0);
    assert_true(proc_stat_parse("ctxt 5\n", 7, &st) < 0);
    assert_true(proc_stat_parse("cpuX 1 2 3 4\n", 13, &st) < 0);
}

static void test_meminfo(void **state) {
    struct proc_meminfo m;
    struct proc_kv_iter it;
    struct proc_kv kv;
    int count = 0;
    size_t n = load("host-vm/meminfo");
    (void)state;
    assert_int_equal(proc_meminfo_parse(buf, n, &m), 0);
    assert_int_equal(m.mem_total, 24684084);
    assert_int_equal(m.mem_available, 24247644);
    assert_int_equal(m.swap_total, 0);
    assert_true(m.valid & (1u << 8)); /* SwapTotal present (and 0), not missing */
    assert_int_equal(m.hugepagesize, 2048);
    /* Every line is a key with a number. */
    proc_kv_init(&it, buf, n);
    while (proc_kv_next(&it, &kv) > 0) {
        assert_true(kv.has_value);
        count++;
    }
    assert_true(count > 40);
    assert_true(proc_meminfo_parse("Cached: 1 kB\n", 13, &m) < 0); /* no MemTotal */
    assert_int_equal(proc_meminfo_parse("MemTotal: 99999999999999999999 kB\n", 34, &m), -ERANGE);
}

static void test_loadavg(void **state) {
    struct proc_loadavg l;
    size_t n = load("host-vm/loadavg");
    (void)state;
    assert_int_equal(proc_loadavg_parse(buf, n, &l), 0);
    assert_int_equal(l.load1, 89);
    assert_int_equal(l.load5, 46);
    assert_int_equal(l.load15, 19);
    assert_int_equal(l.running, 2);
    assert_int_equal(l.total, 87);
    assert_int_equal(l.last_pid, 9211);
    assert_true(proc_loadavg_parse("0.89 0.46 0.19 2/87", 19, &l) < 0);
    assert_true(proc_loadavg_parse("0.8 0.46 0.19 2/87 1", 20, &l) < 0);
}

static void test_psi(void **state) {
    struct proc_psi p;
    size_t n = load("host-vm/pressure/io");
    (void)state;
    assert_int_equal(proc_psi_parse(buf, n, &p), 0);
    assert_true(p.has_some);
    assert_true(p.has_full);
    assert_int_equal(p.some.avg10, 1);
    assert_int_equal(p.some.avg60, 11);
    assert_int_equal(p.some.avg300, 47);
    assert_int_equal(p.some.total_us, 5944516);
    assert_int_equal(p.full.avg10, 0);
    assert_int_equal(p.full.avg60, 5);
    assert_int_equal(p.full.avg300, 43);
    assert_int_equal(p.full.total_us, 5600104); /* the anchors' "Full" match always gave 0 */
    /* Fabricated from the real host file: cpu pressure without the full line (kernels < 5.13). */
    n = load("fabricated/pressure-cpu-no-full");
    assert_int_equal(proc_psi_parse(buf, n, &p), 0);
    assert_true(p.has_some);
    assert_false(p.has_full);
    assert_int_equal(p.some.avg10, 158);
    assert_int_equal(p.some.avg60, 881);
    assert_int_equal(p.some.avg300, 360);
    assert_int_equal(p.some.total_us, 16818866);
    /* A per-VM cgroup's PSI (the guest's cgroup v2, and the host's v2 directory of a spinner). */
    n = load("guest-linux-6.1/sys/fs/cgroup/lab/cpu.pressure");
    assert_int_equal(proc_psi_parse(buf, n, &p), 0);
    assert_true(p.has_full);
    n = load("qemu-spin-kvm/cgroup-v2/memory.pressure");
    assert_int_equal(proc_psi_parse(buf, n, &p), 0);
    static const char *bad[] = {
        "",
        "Full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=0.0 avg60=0.00 avg300=0.00 total=0\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00\n",
        ("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"
         "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(proc_psi_parse(bad[i], strlen(bad[i]), &p) < 0);
    }
}

static void test_diskstats_whole_only(void **state) {
    struct proc_line_iter it;
    struct proc_diskstat d;
    int sb, count = 0, rc;
    uint64_t rd_sectors = 0;
    size_t n = load("host-vm/diskstats");
    (void)state;
    sb = openat(dfd, "host-vm/sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(sb >= 0);
    proc_diskstats_init(&it, buf, n);
    while ((rc = proc_diskstats_next(&it, &d)) > 0) {
        count++;
        assert_int_equal(proc_disk_kind(sb, d.name), PROC_DISK_WHOLE);
        if (strcmp(d.name, "vda") == 0) {
            assert_int_equal(d.major, 254);
            assert_int_equal(d.rd_ios, 63823);
            assert_int_equal(d.rd_merges, 8692);
            assert_int_equal(d.rd_sectors, 3220990);
            assert_int_equal(d.rd_ticks, 23464);
            assert_int_equal(d.wr_ios, 24101);
            assert_int_equal(d.wr_sectors, 1400088);
            assert_int_equal(d.in_flight, 0);
            assert_int_equal(d.io_ticks, 11464);
            assert_int_equal(d.time_in_queue, 27627);
            assert_int_equal(d.fl_ios, 1436);
            assert_int_equal(d.fl_ticks, 72);
            assert_int_equal(d.nfields, 20);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(count, 10);
    close(sb);

    /* The guest has vda and its partition vda1: only vda counts, or reads count twice. */
    n = load("guest-linux-6.1/proc/diskstats");
    sb = openat(dfd, "guest-linux-6.1/sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(sb >= 0);
    proc_diskstats_init(&it, buf, n);
    count = 0;
    while ((rc = proc_diskstats_next(&it, &d)) > 0) {
        count++;
        int kind = proc_disk_kind(sb, d.name);
        assert_int_equal(kind, strcmp(d.name, "vda1") == 0 ? PROC_DISK_PARTITION : PROC_DISK_WHOLE);
        if (kind == PROC_DISK_WHOLE) {
            rd_sectors += d.rd_sectors;
        }
    }
    assert_int_equal(count, 2);
    assert_int_equal(rd_sectors, 20488); /* not 20488 + 20480 */
    assert_true(proc_disk_kind(sb, "..") < 0);
    assert_true(proc_disk_kind(sb, "") < 0);
    close(sb);

    static const char *bad[] = {
        "   8 0 sda 1 2 3\n",
        "   8 x sda 1 2 3 4 5 6 7 8 9 10 11\n",
        "   8 0\n",
        "   8 0 sda 1 2 3 4 5 6 7 8 9 10 1x\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        proc_diskstats_init(&it, bad[i], strlen(bad[i]));
        assert_true(proc_diskstats_next(&it, &d) < 0);
        assert_int_equal(proc_diskstats_next(&it, &d), 0); /* stops after an error */
    }
    /* An old kernel's 14-field line. */
    const char *old = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n";
    proc_diskstats_init(&it, old, strlen(old));
    assert_int_equal(proc_diskstats_next(&it, &d), 1);
    assert_int_equal(d.nfields, 14);
    assert_int_equal(d.time_in_queue, 11);
}

static void test_netdev(void **state) {
    struct proc_line_iter it;
    struct proc_netdev d;
    int count = 0, rc, seen = 0;
    uint64_t sys_rx;
    size_t n = load("host-vm/net/dev");
    (void)state;
    proc_netdev_init(&it, buf, n);
    while ((rc = proc_netdev_next(&it, &d)) > 0) {
        count++;
        if (strcmp(d.name, "eth0") == 0) {
            seen++;
            assert_int_equal(d.rx_bytes, 92948150);
            assert_int_equal(d.rx_packets, 1972);
            assert_int_equal(d.tx_bytes, 85954);
            assert_int_equal(d.tx_packets, 1201);
            assert_int_equal(d.tx_compressed, 0);
        } else if (strcmp(d.name, "lo") == 0) {
            seen++;
            assert_int_equal(d.rx_bytes, 3267);
            assert_int_equal(d.tx_packets, 29);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(count, 4);
    assert_int_equal(seen, 2);
    /* sysfs agrees with /proc/net/dev (captured at the same moment, eth0 idle). */
    n = load("host-vm/sys/class/net/eth0/statistics/rx_bytes");
    assert_int_equal(proc_u64_parse(buf, n, &sys_rx), 0);
    assert_int_equal(sys_rx, 92948150);

    /* A lab guest's tap, from the host side: rx here is what the guest sent. */
    n = load("qemu-linux-tcg/host-net-dev");
    proc_netdev_init(&it, buf, n);
    seen = 0;
    while (proc_netdev_next(&it, &d) > 0) {
        if (strcmp(d.name, "labt9") == 0) {
            seen = 1;
            assert_int_equal(d.rx_bytes, 47448);
            assert_int_equal(d.rx_packets, 52);
            assert_int_equal(d.tx_bytes, 47518);
            assert_int_equal(d.tx_packets, 53);
        }
    }
    assert_true(seen);

    static const char *bad[] = {
        "h1\nh2\n  eth0 1 2 3\n",
        "h1\nh2\n  eth0: 1 2 3\n",
        "h1\nh2\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
        "h1\nh2\n: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        proc_netdev_init(&it, bad[i], strlen(bad[i]));
        assert_true(proc_netdev_next(&it, &d) < 0);
    }
    const char *old = "h1\nh2\n  eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
    proc_netdev_init(&it, old, strlen(old));
    assert_int_equal(proc_netdev_next(&it, &d), 1);
    assert_int_equal(d.rx_bytes, 1);
    assert_int_equal(d.tx_compressed, 16);
}

/*============================== cgroups ============================== */

static void test_cgroup_v2(void **state) {
    struct cgroup_cpu_stat c;
    struct cgroup_memory_stat m;
    struct cgroup_memory_events e;
    uint64_t cur;
    size_t n;
    (void)state;
    /* The host's v2 side has no cpu controller: only the core usage/user/system keys. */
    n = load("qemu-spin-kvm/cgroup-v2/cpu.stat");
    assert_int_equal(cgroup_cpu_stat_parse(buf, n, &c), 0);
    assert_int_equal(c.usage_usec, 3390437);
    assert_int_equal(c.user_usec, 0); /* PVM: vCPU time is system time */
    assert_int_equal(c.system_usec, 3390437);
    assert_int_equal(c.valid, 0x7);
    /* The guest's cgroup with the cpu controller enabled has the throttling keys too. */
    n = load("guest-linux-6.1/sys/fs/cgroup/lab/cpu.stat");
    assert_int_equal(cgroup_cpu_stat_parse(buf, n, &c), 0);
    assert_int_equal(c.usage_usec, 1501696);
    assert_int_equal(c.user_usec, 1305823);
    assert_int_equal(c.nr_periods, 0);
    assert_int_equal(c.valid, 0xff);

    n = load("guest-linux-6.1/sys/fs/cgroup/lab/memory.stat");
    assert_int_equal(cgroup_memory_stat_parse(buf, n, &m), 0);
    assert_int_equal(m.anon, 77824);
    assert_int_equal(m.file, 0);
    assert_int_equal(m.kernel, 73728);
    assert_int_equal(m.kernel_stack, 16384);
    assert_int_equal(m.pagetables, 20480);

    n = load("guest-linux-6.1/sys/fs/cgroup/lab/memory.events");
    assert_int_equal(cgroup_memory_events_parse(buf, n, &e), 0);
    assert_int_equal(e.oom_kill, 0);
    assert_int_equal(e.valid, 0x3f);

    n = load("guest-linux-6.1/sys/fs/cgroup/lab/memory.current");
    assert_int_equal(proc_u64_parse(buf, n, &cur), 0);
    assert_int_equal(cur, 307200);
    assert_int_equal(proc_u64_parse("max\n", 4, &cur), 0);
    assert_true(cur == UINT64_MAX);
    assert_true(proc_u64_parse("12 13\n", 6, &cur) < 0);
    assert_true(proc_u64_parse("", 0, &cur) < 0);
}

/* A real cgroup v1 tree (this host mounts v1 cpu, cpuacct, memory ... plus a v2 "unified"). */
static void test_cgroup_v1(void **state) {
    struct cgroup_memory_stat m;
    struct proc_kv_iter it;
    struct proc_kv kv;
    uint64_t usage;
    int keys = 0;
    size_t n;
    (void)state;
    /* v1 memory.stat has rss/cache, not anon/file: recognised as not the v2 format. */
    n = load("qemu-spin-kvm/cgroup-v1/memory/memory.stat");
    assert_int_equal(cgroup_memory_stat_parse(buf, n, &m), -CORE_EPARSE);
    proc_kv_init(&it, buf, n);
    while (proc_kv_next(&it, &kv) > 0) {
        if (kv.key_len == 3 && memcmp(kv.key, "rss", 3) == 0) {
            assert_int_equal(kv.value, 2629632);
        }
        keys++;
    }
    assert_true(keys > 10);
    n = load("qemu-spin-kvm/cgroup-v1/cpuacct/cpuacct.usage");
    assert_int_equal(proc_u64_parse(buf, n, &usage), 0);
    assert_true(usage > 3000000000ULL); /* ns: the spinner ran > 3 s */
    n = load("qemu-spin-kvm/cgroup-v1/cpu/cpu.stat");
    struct cgroup_cpu_stat c;
    assert_int_equal(cgroup_cpu_stat_parse(buf, n, &c), -CORE_EPARSE); /* no usage_usec in v1 */
}

/*============================== files and reading ============================== */

static void test_read_errors(void **state) {
    char small[8];
    (void)state;
    assert_int_equal(proc_read_at(dfd, "qemu-spin-kvm/no-such-file", buf, sizeof(buf)), -ENOENT);
    /* This host has no cpufreq in sysfs: the capture has none, the read says so. */
    assert_int_equal(proc_read_at(dfd,
                                  "host-vm/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq",
                                  buf, sizeof(buf)),
                     -ENOENT);
    assert_int_equal(proc_read_at(dfd, "qemu-spin-kvm/stat", small, sizeof(small)), -ENOBUFS);
    assert_int_equal(proc_read_at(dfd, "qemu-spin-kvm/stat", small, 1), -EINVAL);
    assert_int_equal(proc_read_at(dfd, "host-vm/pid-kthreadd/cmdline", buf, sizeof(buf)), 0);
    assert_true(proc_read_at(dfd, "host-vm", buf, sizeof(buf)) < 0); /* a directory */
}

static int kv_fn(const char *b, size_t n) {
    struct proc_meminfo m;
    struct proc_status s;
    struct cgroup_memory_stat ms;
    (void)proc_status_parse(b, n, &s);
    (void)cgroup_memory_stat_parse(b, n, &ms);
    return proc_meminfo_parse(b, n, &m);
}

static int other_fn(const char *b, size_t n) {
    struct proc_cpu_times cpus[2];
    struct proc_stat st = {.cpus = cpus, .cpus_cap = 2};
    struct proc_psi p;
    struct proc_loadavg l;
    struct proc_line_iter it;
    struct proc_diskstat d;
    struct proc_netdev nd;
    struct proc_schedstat ss;
    struct proc_statm sm;
    struct qemu_cmdline q;
    uint64_t u;
    (void)proc_stat_parse(b, n, &st);
    (void)proc_psi_parse(b, n, &p);
    (void)proc_loadavg_parse(b, n, &l);
    (void)proc_schedstat_parse(b, n, &ss);
    (void)proc_statm_parse(b, n, &sm);
    (void)proc_u64_parse(b, n, &u);
    (void)qemu_cmdline_parse(b, n, &q);
    proc_diskstats_init(&it, b, n);
    while (proc_diskstats_next(&it, &d) > 0) {
    }
    proc_netdev_init(&it, b, n);
    while (proc_netdev_next(&it, &nd) > 0) {
    }
    return 0;
}

static void test_truncated_and_garbage(void **state) {
    (void)state;
    every_prefix("qemu-spin-kvm/status", kv_fn);
    every_prefix("guest-linux-6.1/sys/fs/cgroup/lab/memory.stat", kv_fn);
    every_prefix("host-vm/stat", other_fn);
    every_prefix("host-vm/diskstats", other_fn);
    every_prefix("host-vm/net/dev", other_fn);
    every_prefix("host-vm/pressure/io", other_fn);
    every_prefix("host-vm/loadavg", other_fn);
    every_prefix("qemu-pve-100/cmdline", other_fn);
}

/* Huge input: a 60 KiB line of digits and a file of blanks parse to an error, quickly. */
static void test_huge(void **state) {
    struct proc_kv_iter it;
    struct proc_kv kv;
    struct proc_pid_stat st;
    (void)state;
    memset(buf, '9', sizeof(buf));
    assert_int_equal(proc_kv_fill(buf, sizeof(buf), NULL, 0, NULL, &(uint64_t){0}), 0);
    assert_true(other_fn(buf, sizeof(buf)) == 0);
    assert_true(proc_pid_stat_parse(buf, sizeof(buf), &st) < 0);
    memset(buf, ' ', sizeof(buf));
    proc_kv_init(&it, buf, sizeof(buf));
    assert_int_equal(proc_kv_next(&it, &kv), 0);
    assert_true(kv_fn(buf, sizeof(buf)) < 0);
    memset(buf, '\n', sizeof(buf));
    assert_true(other_fn(buf, sizeof(buf)) == 0);
}

/*============================== QEMU command lines ============================== */

static void test_cmdline_plain(void **state) {
    struct qemu_cmdline q;
    size_t n = load("qemu-spin-kvm/cmdline");
    (void)state;
    assert_int_equal(qemu_cmdline_parse(buf, n, &q), 0);
    assert_true(q.is_qemu);
    assert_true(q.has_name);
    assert_string_equal(q.name, "spin1");
    assert_true(q.debug_threads);
    assert_true(q.has_uuid);
    assert_string_equal(q.uuid, "00000000-0000-4000-8000-000000000001");
    assert_true(q.has_pidfile);
    assert_non_null(strstr(q.pidfile, "/spin1.pid"));
    assert_int_equal(q.nqmp, 1);
    assert_non_null(strstr(q.qmp[0], "/spin1.qmp"));
    assert_int_equal(q.nifnames, 0);
    assert_false(q.truncated);

    n = load("qemu-linux-tcg/cmdline");
    assert_int_equal(qemu_cmdline_parse(buf, n, &q), 0);
    assert_string_equal(q.name, "linux1");
    assert_int_equal(q.nifnames, 1);
    assert_string_equal(q.ifnames[0], "labt9");
}

static void test_cmdline_pve(void **state) {
    struct qemu_cmdline q;
    size_t n = load("qemu-pve-100/cmdline");
    (void)state;
    assert_int_equal(qemu_cmdline_parse(buf, n, &q), 0);
    assert_string_equal(q.name, "lab-vm100");
    assert_true(q.debug_threads);
    assert_string_equal(q.uuid, "5d0e3c1a-7a6b-4d8e-9a41-000000000100");
    assert_int_equal(q.nifnames, 1);
    assert_string_equal(q.ifnames[0], "tap100i0");
    assert_int_equal(q.nqmp, 1); /* -chardev socket,id=qmp,path=... as Proxmox writes it */
    assert_non_null(strstr(q.qmp[0], "/var/run/qemu-server/100.qmp"));
    assert_non_null(strstr(q.pidfile, "/var/run/qemu-server/100.pid"));
}

static void test_cmdline_libvirt(void **state) {
    struct qemu_cmdline q;
    size_t n = load("qemu-libvirt/cmdline");
    (void)state;
    assert_int_equal(qemu_cmdline_parse(buf, n, &q), 0);
    assert_true(q.is_qemu);
    assert_string_equal(q.name, "labcap1");
    assert_true(q.debug_threads);
    assert_string_equal(q.uuid, "5033e771-c847-4548-bae1-77eff9c39494");
    assert_false(q.has_pidfile); /* libvirt writes the pidfile itself */
    assert_int_equal(q.nqmp, 0); /* its monitor is an fd, and libvirt holds it */
}

static void test_cmdline_odd(void **state) {
    struct qemu_cmdline q;
    (void)state;
    /* ",," is a literal comma; --opt works like -opt; smbios uuid is the fallback. */
    static const char a[] = "/usr/bin/kvm\0--name\0my,,vm,debug-threads=off\0-smbios\0"
                            "type=1,uuid=5d0e3c1a-7a6b-4d8e-9a41-000000000100\0-netdev\0"
                            "type=tap,id=net0,ifname=tap100i0\0-netdev\0tap,ifname=tap100i1";
    assert_int_equal(qemu_cmdline_parse(a, sizeof(a) - 1, &q), 0);
    assert_true(q.is_qemu);
    assert_string_equal(q.name, "my,vm");
    assert_false(q.debug_threads);
    assert_string_equal(q.uuid, "5d0e3c1a-7a6b-4d8e-9a41-000000000100");
    assert_int_equal(q.nifnames, 2);
    assert_string_equal(q.ifnames[1], "tap100i1"); /* last argument without a trailing NUL */
    static const char b[] = "/usr/bin/python3\0-name\0guest=x";
    assert_int_equal(qemu_cmdline_parse(b, sizeof(b) - 1, &q), 0);
    assert_false(q.is_qemu);
    static const char c[] = "qemu-system-x86_64\0-uuid\0not-a-uuid\0-name";
    assert_int_equal(qemu_cmdline_parse(c, sizeof(c) - 1, &q), -CORE_EPARSE);
    assert_false(q.has_uuid);
    assert_int_equal(qemu_cmdline_parse("", 0, &q), -CORE_EPARSE);
    char longname[600] = "qemu-system-x86_64\0-name\0";
    memset(longname + 25, 'n', sizeof(longname) - 25);
    assert_int_equal(qemu_cmdline_parse(longname, sizeof(longname), &q), 0);
    assert_true(q.truncated);
    assert_int_equal(strlen(q.name), QEMU_NAME_MAX - 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid_stat_qemu),
        cmocka_unit_test(test_pid_stat_vcpu_thread),
        cmocka_unit_test(test_pid_stat_odd_comm),
        cmocka_unit_test(test_pid_stat_bad),
        cmocka_unit_test(test_pid_stat_prefixes),
        cmocka_unit_test(test_schedstat),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_statm),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_proc_stat),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_diskstats_whole_only),
        cmocka_unit_test(test_netdev),
        cmocka_unit_test(test_cgroup_v2),
        cmocka_unit_test(test_cgroup_v1),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_huge),
        cmocka_unit_test(test_cmdline_plain),
        cmocka_unit_test(test_cmdline_pve),
        cmocka_unit_test(test_cmdline_libvirt),
        cmocka_unit_test(test_cmdline_odd),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
