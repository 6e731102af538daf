/* test_sampler_qmp.c: the whole sampler against QMP sockets served by this test (real UNIX
 * sockets, one server thread each) in a Proxmox layout under a temporary root, with /proc built
 * from the qemu-pve-100 capture in datasets/proc:
 *   - a VM whose socket accepts but never answers, or greets and then never answers, delays the
 *     tick by one QMP deadline at most; the other VM's QMP data, every VM's /proc data and the
 *     tick itself are recorded; the hung socket rests (1, 2, 4 ... ticks) instead of costing
 *     its deadline every tick, and is used every tick again once it answers;
 *   - a VM without debug-threads=on (every thread named "qemu-system-x86") gets its vCPU
 *     threads from query-cpus-fast, asked once and again only when a mapped thread goes away;
 *     without QMP its vCPUs are unknown: missing, never guessed.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "journal_reader.h"
#include "journal_writer.h"
#include "printer.h"
#include "qmp.h"
#include "sampler.h"
#include "sampler_fixture.h"
#include "testutil.h"

#define DATASET     SF_DATASET
#define DEADLINE_MS 200 /* the sampler's default QMP deadline */
/* A tick that pays one deadline: at least the deadline (the session really waited), at most the
 * deadline + 150 ms of everything else on a loaded 2-core machine (a healthy tick of this
 * fixture takes ~1-5 ms); paying it twice (400 ms) fails. */
#define HUNG_TICK_MIN_MS (DEADLINE_MS - 10)
#define HUNG_TICK_MAX_MS (DEADLINE_MS + 150)
#define FAST_TICK_MAX_MS 150 /* a tick that did not wait on the hung socket */

/*============================== a QMP server thread ============================== */

enum fake_mode {
    FAKE_ANSWER, /* greeting, then answers every command */
    FAKE_SILENT, /* accepts, never sends a byte */
    FAKE_STALL,  /* greeting, then never answers (not even qmp_capabilities) */
};

struct fake {
    char path[256];
    int lfd;
    pthread_t th;
    atomic_int mode;
    atomic_int stop;
    atomic_int accepts;    /* connections accepted */
    atomic_int answered;   /* sessions in which a query was answered (counted before the
                              first reply goes out: the client is still waiting for it) */
    atomic_int cpus_asked; /* query-cpus-fast commands received */
    atomic_int vcpu_tid;   /* thread-id of vCPU 0 in query-cpus-fast */
    atomic_int blk_calls;  /* query-blockstats answered (rd_bytes grows with it) */
    char bad_command[64];  /* a command outside the read-only allow-list, if one arrived */
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_str(int fd, const char *s) {
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        off += (size_t)n;
    }
}

/* One line from fd (polling so that stop is seen). Returns its length; 0 on EOF or stop. */
static size_t recv_line(struct fake *f, int fd, char *buf, size_t size) {
    size_t len = 0;
    while (len + 1 < size && !atomic_load(&f->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) {
            continue;
        }
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n <= 0) {
            break;
        }
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return len;
        }
        len++;
    }
    buf[len] = '\0';
    return 0;
}

static const char GREETING[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                               "\"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}\r\n";

static json_t *reply_for(struct fake *f, const char *cmd) {
    if (!cmd || !qmp_command_allowed(cmd)) {
        snprintf(f->bad_command, sizeof(f->bad_command), "%s", cmd ? cmd : "(none)");
        return json_pack("{s:{s:s, s:s}}", "error", "class", "GenericError", "desc", "no");
    }
    if (strcmp(cmd, "qmp_capabilities") == 0) {
        return json_pack("{s:{}}", "return");
    }
    if (strcmp(cmd, "query-cpus-fast") == 0) {
        atomic_fetch_add(&f->cpus_asked, 1);
        return json_pack("{s:[{s:i, s:i, s:s}]}", "return", "cpu-index", 0, "thread-id",
                         atomic_load(&f->vcpu_tid), "target", "x86_64");
    }
    if (strcmp(cmd, "query-blockstats") == 0) {
        json_int_t n = atomic_fetch_add(&f->blk_calls, 1) + 1;
        return json_pack("{s:[{s:s, s:s, s:{s:I, s:I, s:I, s:I}}]}", "return", "device",
                         "drive-virtio0", "qdev", "virtio0", "stats", "rd_bytes", n * 1048576,
                         "wr_bytes", n * 4096, "rd_operations", n * 8, "wr_operations", n);
    }
    if (strcmp(cmd, "query-balloon") == 0) {
        return json_pack("{s:{s:I}}", "return", "actual", (json_int_t)16 << 20);
    }
    return json_pack("{s:{s:s, s:s}}", "error", "class", "CommandNotFound", "desc", "no");
}

static void serve(struct fake *f, int fd) {
    char line[4096];
    enum fake_mode mode = (enum fake_mode)atomic_load(&f->mode);
    bool answered = false;

    if (mode != FAKE_SILENT) {
        send_str(fd, GREETING);
    }
    while (recv_line(f, fd, line, sizeof(line)) > 0) {
        if (mode != FAKE_ANSWER) {
            continue; /* read and drop: the client waits for a reply that never comes */
        }
        json_error_t je;
        json_t *msg = json_loads(line, 0, &je);
        const char *cmd = json_string_value(json_object_get(msg, "execute"));
        json_t *reply = reply_for(f, cmd);
        json_t *id = json_object_get(msg, "id");
        if (id) {
            json_object_set(reply, "id", id);
        }
        if (!answered && cmd && strcmp(cmd, "qmp_capabilities") != 0) {
            answered = true;
            atomic_fetch_add(&f->answered, 1);
        }
        char *text = json_dumps(reply, JSON_COMPACT);
        send_str(fd, text);
        send_str(fd, "\r\n");
        free(text);
        json_decref(reply);
        json_decref(msg);
    }
}

static void *fake_main(void *arg) {
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0) {
            continue;
        }
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        atomic_fetch_add(&f->accepts, 1);
        serve(f, fd); /* one client at a time, as QEMU's monitor */
        close(fd);
    }
    return NULL;
}

static struct fake *fake_start(const char *path, enum fake_mode mode) {
    struct fake *f = calloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_non_null(f);
    assert_true(strlen(path) < sizeof(sa.sun_path));
    snprintf(f->path, sizeof(f->path), "%s", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    atomic_init(&f->mode, mode);
    atomic_init(&f->vcpu_tid, 0);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
    return f;
}

static void fake_stop(struct fake *f) {
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    close(f->lfd);
    unlink(f->path);
    assert_string_equal(f->bad_command, ""); /* only read-only commands ever arrived */
    free(f);
}

/*============================== the fixture ============================== */

/* root/proc: host-vm's files; root/sys; root/pve: Proxmox's run and config directories. */
static char *make_root(void) {
    char *root = sf_host_root("sqmp");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/pve/var/run/qemu-server' '%s/pve/etc/pve/qemu-server'",
             root, root);
    sf_run(cmd);
    return root;
}

/* A Proxmox VM VMID with QEMU pid PID, built from the qemu-pve-100 capture (threads 10713 main,
 * 10716 call_rcu, 10721 IO mon_iothread, 10722 CPU 0/KVM, 10725 worker, 10731 kvm-nx-lpage-re).
 * debug_threads false: the command line loses ",debug-threads=on" and every thread is named
 * like the main thread, as QEMU leaves them without it. */
static void add_vm(const char *root, int vmid, int pid, bool debug_threads) {
    char cmd[4096], path[600], conf[512];
    snprintf(cmd, sizeof(cmd),
             "set -e; R='%s'; D='%s/qemu-pve-100'; mkdir -p $R/proc/%d; "
             "cp -r $D/stat $D/status $D/statm $D/io $D/cmdline $D/cgroup $D/task $R/proc/%d/; "
             "echo %d > $R/pve/var/run/qemu-server/%d.pid",
             root, DATASET, pid, pid, pid, vmid);
    sf_run(cmd);
    int n = snprintf(conf, sizeof(conf),
                     "cores: 1\nmemory: 16\nname: vm%d\nnet0: virtio=52:54:00:00:00:01\n"
                     "smbios1: uuid=5d0e3c1a-7a6b-4d8e-9a41-000000000%d\nsockets: 1\n",
                     vmid, vmid);
    snprintf(path, sizeof(path), "%s/pve/etc/pve/qemu-server/%d.conf", root, vmid);
    assert_int_equal(tu_write_file(path, conf, (size_t)n), 0);
    if (debug_threads) {
        return;
    }
    size_t len;
    snprintf(path, sizeof(path), "%s/proc/%d/cmdline", root, pid);
    char *cl = (char *)tu_read_file(path, &len);
    static const char opt[] = ",debug-threads=on";
    char *at = NULL;
    for (size_t i = 0; cl && !at && i + sizeof(opt) - 1 <= len; i++) {
        at = memcmp(cl + i, opt, sizeof(opt) - 1) == 0 ? cl + i : NULL;
    }
    assert_non_null(at);
    memmove(at, at + sizeof(opt) - 1, len - (size_t)(at - cl) - (sizeof(opt) - 1));
    assert_int_equal(tu_write_file(path, cl, len - (sizeof(opt) - 1)), 0);
    free(cl);
    snprintf(cmd, sizeof(cmd),
             "for c in '%s'/proc/%d/task/*/comm; do echo qemu-system-x86 > \"$c\"; done", root,
             pid);
    sf_run(cmd);
}

static char *qmp_path(const char *root, int vmid) {
    char name[64];
    snprintf(name, sizeof(name), "pve/var/run/qemu-server/%d.qmp", vmid);
    return tu_path(root, name);
}

static struct sampler *open_sampler_every(const char *root, bool no_qmp, unsigned every) {
    char proc[512], sys[512], pve[512], err[256];
    struct sampler_opts o = {0};
    struct sampler *s;
    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(pve, sizeof(pve), "%s/pve", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.pve_root = pve;
    o.source = SOURCE_PROXMOX;
    o.no_qmp = no_qmp; /* the default deadline (200 ms) and budget (400 ms) otherwise */
    o.daemon_every = every;
    if (sampler_new(&s, &o, err, sizeof(err)) != 0) {
        fail_msg("sampler_new: %s", err);
    }
    return s;
}

static struct sampler *open_sampler(const char *root, bool no_qmp) {
    return open_sampler_every(root, no_qmp, 0);
}

static int64_t timed_tick(struct sampler *s) {
    int64_t t0 = now_ms();
    assert_int_equal(sampler_tick(s), 0);
    return now_ms() - t0;
}

static json_t *domain(json_t *j, const char *vmid) {
    json_t *doms = json_object_get(j, "domains"), *d;
    size_t i;
    json_array_foreach(doms, i, d) {
        const char *id = json_string_value(json_object_get(d, "VMID"));
        if (id && strcmp(id, vmid) == 0) {
            return d;
        }
    }
    fail_msg("VMID %s not in the tick's domains", vmid);
    return NULL;
}

/* Ticks in the journal, and how many of them hold a row for VM entities and for vm_disk
 * entities (the answering VM's QMP data). */
struct jcount {
    int ticks, vm_rows, disk_rows;
};

static struct jcount journal_count(const char *path) {
    struct journal_reader *r;
    struct journal_item it;
    struct jcount c = {0};
    const char *paths[1] = {path};
    assert_int_equal(journal_reader_open(&r, paths, 1, NULL, NULL), 0);
    while (journal_reader_next(r, &it) > 0) {
        if (it.type != JI_TICK) {
            continue;
        }
        c.ticks++;
        for (size_t i = 0; i < it.nrows; i++) {
            const struct journal_entity_info *e = journal_reader_entity(r, it.rows[i].entity);
            c.vm_rows += e->desc.scope == SCOPE_VM;
            c.disk_rows += e->desc.scope == SCOPE_VM_DISK;
        }
    }
    journal_reader_free(r);
    return c;
}

/*============================== a QMP socket that hangs ============================== */

static void hung_socket(enum fake_mode hung_mode) {
    char *root = make_root();
    add_vm(root, 100, 10713, true); /* answers */
    add_vm(root, 101, 10801, true); /* hangs */
    char *p100 = qmp_path(root, 100), *p101 = qmp_path(root, 101);
    struct fake *good = fake_start(p100, FAKE_ANSWER);
    struct fake *hung = fake_start(p101, hung_mode);
    struct sampler *s = open_sampler(root, false);
    char *jpath = tu_path(root, "t.pxj");
    struct journal_writer_opts jo = {.path = jpath, .writer = "test_sampler_qmp", .sync_ns = -1};
    struct journal_writer *w;
    assert_int_equal(journal_writer_open(&w, &jo, NULL), 0);

    /* Ticks 0..11: the hung socket is tried at ticks 0, 2, 5 and 10 (rests 1, 2, 4, 8 ticks). */
    static const bool tried[12] = {1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    int64_t worst_hung = 0, worst_fast = 0, sum_hung = 0;
    int nhung = 0;
    for (int k = 0; k < 12; k++) {
        int before = atomic_load(&hung->accepts), good_before = atomic_load(&good->answered);
        int64_t dt = timed_tick(s);
        assert_int_equal(sampler_nvms(s), 2);
        assert_int_equal(sampler_journal_write(s, w), 0);
        int attempts = atomic_load(&hung->accepts) - before;
        if (attempts != (int)tried[k]) {
            fail_msg("tick %d: %d sessions on the hung socket, expected %d", k, attempts,
                     (int)tried[k]);
        }
        /* the answering VM had its session in every tick, hung neighbour or not */
        assert_int_equal(atomic_load(&good->answered) - good_before, 1);
        if (tried[k]) {
            if (dt < HUNG_TICK_MIN_MS || dt > HUNG_TICK_MAX_MS) {
                fail_msg("tick %d with the hung socket took %lld ms, expected %d..%d", k,
                         (long long)dt, HUNG_TICK_MIN_MS, HUNG_TICK_MAX_MS);
            }
            worst_hung = dt > worst_hung ? dt : worst_hung;
            sum_hung += dt;
            nhung++;
        } else {
            if (dt > FAST_TICK_MAX_MS) {
                fail_msg("tick %d (hung socket resting) took %lld ms", k, (long long)dt);
            }
            worst_fast = dt > worst_fast ? dt : worst_fast;
        }
        if (k == 1 || k == 2) {
            json_t *j = sf_tick_json(s, root);
            json_t *d100 = domain(j, "100"), *d101 = domain(j, "101");
            /* the answering VM's guest-view disk rate: 1 MiB per session */
            assert_true(json_is_number(json_object_get(d100, "disk_read_Bps")));
            assert_true(json_number_value(json_object_get(d100, "disk_read_Bps")) > 0);
            /* the hung VM: its QMP values missing, its /proc values there */
            assert_true(json_is_null(json_object_get(d101, "disk_read_Bps")));
            assert_true(json_is_null(json_object_get(d101, "mem_balloon")));
            assert_true(json_is_number(json_object_get(d101, "cpu_used")));
            assert_true(json_is_number(json_object_get(d101, "mem")));
            json_decref(j);
        }
    }
    printf("  mode %d: ticks that tried the hung socket %lld ms on average, worst %lld ms "
           "(deadline %d ms); resting ticks worst %lld ms\n",
           (int)hung_mode, (long long)(sum_hung / nhung), (long long)worst_hung, DEADLINE_MS,
           (long long)worst_fast);

    /* The socket answers again: the next retry (tick 19, at most 9 ticks away) succeeds, then
     * it is used every tick. */
    atomic_store(&hung->mode, FAKE_ANSWER);
    int k = 12, answered0 = atomic_load(&hung->answered);
    while (atomic_load(&hung->answered) == answered0) {
        assert_true(k < 12 + 9);
        timed_tick(s);
        assert_int_equal(sampler_journal_write(s, w), 0);
        k++;
    }
    for (int i = 0; i < 3; i++, k++) {
        int before = atomic_load(&hung->answered);
        assert_true(timed_tick(s) <= FAST_TICK_MAX_MS);
        assert_int_equal(sampler_journal_write(s, w), 0);
        assert_int_equal(atomic_load(&hung->answered) - before, 1);
    }
    json_t *j = sf_tick_json(s, root);
    assert_true(json_number_value(json_object_get(domain(j, "101"), "disk_read_Bps")) > 0);
    json_decref(j);
    assert_int_equal(journal_writer_close(w), 0);

    /* Every tick is in the journal with both VMs' rows; the answering VM's disk every tick. */
    struct jcount c = journal_count(jpath);
    assert_int_equal(c.ticks, k);
    assert_int_equal(c.vm_rows, 2 * k);
    assert_true(c.disk_rows >= k);
    assert_int_equal(atomic_load(&good->cpus_asked), 0); /* debug-threads=on: names suffice */

    sampler_free(s);
    fake_stop(good);
    fake_stop(hung);
    free(jpath);
    free(p100);
    free(p101);
    tu_rmtree(root);
    free(root);
}

static void test_qmp_never_answers(void **state) {
    (void)state;
    hung_socket(FAKE_SILENT);
}

static void test_qmp_greets_then_hangs(void **state) {
    (void)state;
    hung_socket(FAKE_STALL);
}

/*============================== vCPUs from query-cpus-fast ============================== */

static void set_schedstat(const char *root, int pid, int tid, uint64_t run, uint64_t wait) {
    char path[600], b[64];
    snprintf(path, sizeof(path), "%s/proc/%d/task/%d/schedstat", root, pid, tid);
    int n =
        snprintf(b, sizeof(b), "%llu %llu 1\n", (unsigned long long)run, (unsigned long long)wait);
    assert_int_equal(tu_write_file(path, b, (size_t)n), 0);
}

/* A string member, "(null)" when absent or not a string (assert_string_equal wants one). */
static const char *str_of(json_t *d, const char *key) {
    const char *v = json_string_value(json_object_get(d, key));
    return v ? v : "(null)";
}

static json_t *vcpu_entry(json_t *d) {
    json_t *vc = json_object_get(d, "vcpu");
    assert_int_equal(json_array_size(vc), 1);
    return json_array_get(vc, 0);
}

static void test_vcpus_from_query_cpus_fast(void **state) {
    (void)state;
    char *root = make_root();
    add_vm(root, 102, 10901, false);
    char *path = qmp_path(root, 102);
    struct fake *f = fake_start(path, FAKE_ANSWER);
    atomic_store(&f->vcpu_tid, 10722);
    struct sampler *s = open_sampler(root, false);
    const uint64_t ms = 1000000;

    /* Tick 0: the thread names say nothing; the QMP session asks query-cpus-fast. */
    timed_tick(s);
    assert_int_equal(atomic_load(&f->cpus_asked), 1);
    json_t *j = sf_tick_json(s, root);
    json_t *d = domain(j, "102");
    assert_true(json_is_null(json_object_get(d, "vcpu_threads_from"))); /* not known yet */
    json_decref(j);
    /* Tick 1: thread 10722 is vCPU 0 (its counter starts here: no rate yet). */
    timed_tick(s);
    j = sf_tick_json(s, root);
    d = domain(j, "102");
    assert_string_equal(str_of(d, "vcpu_threads_from"), "qmp");
    assert_int_equal(json_integer_value(json_object_get(vcpu_entry(d), "tid")), 10722);
    assert_int_equal(json_integer_value(json_object_get(vcpu_entry(d), "cpu")), 0);
    json_decref(j);
    /* Tick 2: the vCPU thread ran 500 ms, the main thread 25 ms and the iothread 5 ms: the
     * shares follow the threads (Δt is the same for all: compare ratios). */
    set_schedstat(root, 10901, 10722, 93349120 + 500 * ms, 185951532 + 40 * ms);
    set_schedstat(root, 10901, 10713, 33106118 + 25 * ms, 92460680);
    set_schedstat(root, 10901, 10721, 99337 + 5 * ms, 1516249);
    timed_tick(s);
    j = sf_tick_json(s, root);
    d = domain(j, "102");
    double used = json_number_value(json_object_get(d, "cpu_used"));
    double steal = json_number_value(json_object_get(d, "cpu_steal"));
    double other = json_number_value(json_object_get(d, "cpu_other"));
    double vused = json_number_value(json_object_get(vcpu_entry(d), "used"));
    printf("  cpu_used %.3f, cpu_steal %.3f, cpu_other %.3f, vcpu0 used %.3f (%%)\n", used, steal,
           other, vused);
    assert_true(used > 0 && other > 0);
    assert_true(fabs(used / other - 500.0 / 30.0) < 0.05 * 500.0 / 30.0);
    assert_true(fabs(steal / used - 40.0 / 500.0) < 0.05 * 40.0 / 500.0);
    assert_true(fabs(vused - used) < 0.002 * used + 0.002);
    json_decref(j);
    /* Cached: more ticks ask nothing. */
    for (int i = 0; i < 3; i++) {
        timed_tick(s);
    }
    assert_int_equal(atomic_load(&f->cpus_asked), 1);

    /* The vCPU thread goes away and a new one comes (vCPU unplugged and plugged again): the
     * sampler asks again and follows the new TID. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "set -e; T='%s/proc/10901/task'; mv $T/10722 $T/10740; "
             "echo qemu-system-x86 > $T/10740/comm",
             root);
    sf_run(cmd);
    atomic_store(&f->vcpu_tid, 10740);
    timed_tick(s); /* 10722 gone: vCPUs unknown again, asked in this tick's session */
    assert_int_equal(atomic_load(&f->cpus_asked), 2);
    j = sf_tick_json(s, root);
    assert_true(json_is_null(json_object_get(domain(j, "102"), "vcpu_threads_from")));
    assert_true(json_is_null(json_object_get(domain(j, "102"), "cpu_used")));
    json_decref(j);
    timed_tick(s);
    timed_tick(s);
    j = sf_tick_json(s, root);
    d = domain(j, "102");
    assert_string_equal(str_of(d, "vcpu_threads_from"), "qmp");
    assert_int_equal(json_integer_value(json_object_get(vcpu_entry(d), "tid")), 10740);
    assert_true(json_is_number(json_object_get(d, "cpu_used")));
    json_decref(j);
    assert_int_equal(atomic_load(&f->cpus_asked), 2);
    sampler_free(s);

    /* Without QMP the vCPUs are unknown: said so, never guessed; the process is in other. */
    s = open_sampler(root, true);
    timed_tick(s);
    timed_tick(s);
    j = sf_tick_json(s, root);
    d = domain(j, "102");
    assert_true(json_is_null(json_object_get(d, "vcpu_threads_from")));
    assert_true(json_is_null(json_object_get(d, "cpu_used")));
    assert_true(json_is_null(json_object_get(d, "cpu_steal")));
    assert_true(json_is_number(json_object_get(d, "cpu_other")));
    assert_int_equal(json_array_size(json_object_get(d, "vcpu")), 0);
    assert_non_null(strstr(sampler_last_error(s), "vCPU threads unknown"));
    assert_non_null(strstr(sampler_last_error(s), "QMP off"));
    json_decref(j);
    sampler_free(s);
    assert_int_equal(atomic_load(&f->cpus_asked), 2);

    fake_stop(f);
    free(path);
    tu_rmtree(root);
    free(root);
}

/* --daemon-interval: each VM's data queries every 3rd tick after its first, the VMs on
 * different ticks; in between their values are missing and the next reading's rate spans the
 * gap (the fake's counters grow 1 MiB per session). */
static void test_daemon_interval(void **state) {
    (void)state;
    char *root = make_root();
    add_vm(root, 100, 10713, true);
    add_vm(root, 101, 10801, true);
    char *p100 = qmp_path(root, 100), *p101 = qmp_path(root, 101);
    struct fake *f[2] = {fake_start(p100, FAKE_ANSWER), fake_start(p101, FAKE_ANSWER)};
    struct sampler *s = open_sampler_every(root, false, 3);
    int first_gap[2] = {0, 0}, last[2] = {-1, -1}, sessions[2] = {0, 0};
    for (int k = 0; k < 12; k++) {
        int before[2] = {atomic_load(&f[0]->accepts), atomic_load(&f[1]->accepts)};
        timed_tick(s);
        json_t *j = sf_tick_json(s, root);
        for (int v = 0; v < 2; v++) {
            int n = atomic_load(&f[v]->accepts) - before[v];
            assert_true(n == 0 || n == 1);
            json_t *d = domain(j, v ? "101" : "100");
            json_t *rd = json_object_get(d, "disk_read_Bps");
            if (n == 0) {
                assert_true(json_is_null(rd)); /* not read: missing, not 0 */
                assert_true(json_is_number(json_object_get(d, "cpu_used")) || k == 0);
                continue;
            }
            if (last[v] >= 0) {
                int gap = k - last[v];
                if (sessions[v] == 1) {
                    first_gap[v] = gap; /* 1 .. 3: the stagger */
                    assert_true(gap >= 1 && gap <= 3);
                } else {
                    assert_int_equal(gap, 3);
                }
                assert_true(json_is_number(rd) && json_number_value(rd) > 0);
            }
            last[v] = k;
            sessions[v]++;
        }
        json_decref(j);
    }
    printf("  sessions in 12 ticks: %d and %d; second session %d and %d ticks after the first\n",
           sessions[0], sessions[1], first_gap[0], first_gap[1]);
    assert_true(sessions[0] >= 4 && sessions[0] <= 5 && sessions[1] >= 4 && sessions[1] <= 5);
    assert_true(first_gap[0] != first_gap[1]); /* spread, not all VMs on one tick */
    sampler_free(s);
    fake_stop(f[0]);
    fake_stop(f[1]);
    free(p100);
    free(p101);
    tu_rmtree(root);
    free(root);
}

/* A VM with debug-threads=on is never asked for its vCPUs, even with --cpu alone. */
static void test_named_vcpus_need_no_qmp(void **state) {
    (void)state;
    char *root = make_root();
    add_vm(root, 100, 10713, true);
    char *path = qmp_path(root, 100), proc[512], sys[512], pve[512], err[256];
    struct fake *f = fake_start(path, FAKE_ANSWER);
    struct sampler_opts o = {0};
    struct sampler *s;
    snprintf(proc, sizeof(proc), "%s/proc", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(pve, sizeof(pve), "%s/pve", root);
    o.procfs = proc;
    o.sysfs = sys;
    o.pve_root = pve;
    o.source = SOURCE_PROXMOX;
    o.collectors = COLL_CPU;
    assert_int_equal(sampler_new(&s, &o, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++) {
        timed_tick(s);
    }
    json_t *j = sf_tick_json(s, root);
    json_t *d = domain(j, "100");
    assert_string_equal(str_of(d, "vcpu_threads_from"), "names");
    assert_int_equal(json_integer_value(json_object_get(vcpu_entry(d), "tid")), 10722);
    json_decref(j);
    assert_int_equal(atomic_load(&f->accepts), 0); /* --cpu alone: no session at all */
    sampler_free(s);
    fake_stop(f);
    free(path);
    tu_rmtree(root);
    free(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qmp_never_answers),
        cmocka_unit_test(test_qmp_greets_then_hangs),
        cmocka_unit_test(test_vcpus_from_query_cpus_fast),
        cmocka_unit_test(test_named_vcpus_need_no_qmp),
        cmocka_unit_test(test_daemon_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
