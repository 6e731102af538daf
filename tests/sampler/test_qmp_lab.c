/* test_qmp_lab.c: the QMP client against a REAL QEMU boot-sector spinner started by
 * tests/lab/run.sh --spin 1 (the program re-executes itself under it; run.sh exits 77 when QEMU
 * cannot run here at all). Checks: query-cpus-fast thread ids are the "CPU N/KVM|TCG" threads of
 * /proc/PID/task; query-blockstats returns the guest's virtio disk; query-status says running;
 * the spinner has no balloon (-ENODEV, a per-query error); a second client connects right after
 * (the socket is released); and the cost of one session on both sides.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core_error.h"
#include "proc_parse.h"
#include "qmp.h"

static int g_pid;
static char g_qmp[PATH_MAX];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void env_value(const char *env, const char *key, char *out, size_t size) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\n%s=", key);
    const char *p = strstr(env, pat);
    assert_non_null(p);
    p += strlen(pat);
    size_t n = strcspn(p, "\n");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static int load_guest(void **state) {
    char path[PATH_MAX], env[4096], pid[32];
    (void)state;
    snprintf(path, sizeof(path), "%s/vms/spin1.env", getenv("LAB_RUN"));
    int n = proc_read_at(AT_FDCWD, path, env + 1, sizeof(env) - 1);
    if (n < 0)
        return -1;
    env[0] = '\n';
    env_value(env, "PID", pid, sizeof(pid));
    env_value(env, "QMP", g_qmp, sizeof(g_qmp));
    g_pid = atoi(pid);
    return 0;
}

/* The TIDs of "CPU N/..." threads of pid, indexed by N. Returns how many. */
static int vcpu_tids(int pid, int *tids, int max) {
    char path[64], comm[64];
    int found = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char p2[320];
        snprintf(p2, sizeof(p2), "/proc/%d/task/%s/comm", pid, de->d_name);
        int n = proc_read_at(AT_FDCWD, p2, comm, sizeof(comm));
        int idx;
        if (n > 4 && strncmp(comm, "CPU ", 4) == 0 && (idx = atoi(comm + 4)) >= 0 && idx < max) {
            tids[idx] = atoi(de->d_name);
            found++;
        }
    }
    closedir(d);
    return found;
}

/* Sum of schedstat run_ns over all threads of pid (QEMU's cost of answering us). */
static uint64_t process_run_ns(int pid) {
    char path[128], b[128];
    uint64_t sum = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        struct proc_schedstat s;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char p2[320];
        snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", pid, de->d_name);
        /* Skip the spinning vCPU threads: they burn a core regardless of us. */
        char c[64], p3[320];
        snprintf(p3, sizeof(p3), "/proc/%d/task/%s/comm", pid, de->d_name);
        if (proc_read_at(AT_FDCWD, p3, c, sizeof(c)) > 4 && strncmp(c, "CPU ", 4) == 0)
            continue;
        int n = proc_read_at(AT_FDCWD, p2, b, sizeof(b));
        if (n > 0 && proc_schedstat_parse(b, (size_t)n, &s) == 0)
            sum += s.run_ns;
    }
    closedir(d);
    return sum;
}

static void test_real_qemu(void **state) {
    struct qmp_client *c = qmp_client_new();
    struct qmp_vm_stats st = {0};
    int tids[16] = {0};
    (void)state;
    assert_non_null(c);
    int r = qmp_collect(c, g_qmp, QMP_Q_ALL, &st);
    printf("  qmp_collect: %d (%s); ok=0x%x balloon=%s guest-stats=%s (%s)\n", r, core_strerror(r),
           st.ok, core_strerror(st.err[3]), core_strerror(st.err[4]), qmp_last_error(c));
    assert_int_equal(r, 0);
    assert_true(st.ok & QMP_Q_STATUS);
    assert_true(st.ok & QMP_Q_CPUS);
    assert_true(st.ok & QMP_Q_BLOCKSTATS);
    assert_int_equal(st.err[3], -ENODEV); /* the spinner has no balloon device */
    assert_true(st.err[4] < 0);           /* hence no guest-stats either */
    assert_true(st.status.running);
    assert_string_equal(st.status.status, "running");

    int nv = vcpu_tids(g_pid, tids, 16);
    assert_int_equal(nv, 1);
    assert_int_equal((int)st.cpus.count, nv);
    for (size_t i = 0; i < st.cpus.count; i++) {
        printf("  cpu-index %d thread-id %d, /proc/%d/task 'CPU %d/...' = %d\n",
               st.cpus.cpu[i].cpu_index, st.cpus.cpu[i].thread_id, g_pid, st.cpus.cpu[i].cpu_index,
               tids[st.cpus.cpu[i].cpu_index]);
        assert_int_equal(st.cpus.cpu[i].thread_id, tids[st.cpus.cpu[i].cpu_index]);
    }

    assert_int_equal(st.blk.count, 1);
    const struct qmp_blockdev *b = &st.blk.dev[0];
    printf("  blockstats: device '%s' qdev '%s' rd_bytes %llu rd_ops %llu wr_bytes %llu\n",
           b->device, b->qdev, (unsigned long long)b->v[QMP_BLK_RD_BYTES],
           (unsigned long long)b->v[QMP_BLK_RD_OPS], (unsigned long long)b->v[QMP_BLK_WR_BYTES]);
    assert_string_equal(b->device, "drive-virtio0");
    assert_non_null(strstr(b->qdev, "virtio0"));
    assert_true(b->valid & (1u << QMP_BLK_RD_BYTES));
    assert_true(b->valid & (1u << QMP_BLK_RD_TIME_NS));
    assert_true(b->valid & (1u << QMP_BLK_FLUSH_OPS));

    /* The socket is released: a second client (a raw one, as another tool would be) gets the
     * greeting at once, and our client can run again immediately. */
    int64_t t0 = now_ns();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(g_qmp) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, g_qmp, strlen(g_qmp) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char greet[512];
    ssize_t n = recv(fd, greet, sizeof(greet) - 1, 0);
    assert_true(n > 0);
    greet[n] = '\0';
    assert_non_null(strstr(greet, "\"QMP\""));
    close(fd);
    printf("  second client got the greeting %.2f ms after our disconnect\n",
           (double)(now_ns() - t0) / 1e6);
    assert_int_equal(qmp_collect(c, g_qmp, QMP_Q_CPUS, &st), 0);

    /* While another client holds the socket, we time out within the deadline (QEMU serves one
     * client at a time) and never disturb it. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_true(recv(fd, greet, sizeof(greet) - 1, 0) > 0);
    t0 = now_ns();
    r = qmp_collect(c, g_qmp, QMP_Q_STATUS, &st);
    double busy_ms = (double)(now_ns() - t0) / 1e6;
    printf("  socket held by another client: %s after %.1f ms\n", core_strerror(r), busy_ms);
    assert_int_equal(r, -ETIMEDOUT);
    assert_true(busy_ms < QMP_DEFAULT_TIMEOUT_MS + 100);
    close(fd);
    usleep(20000);
    assert_int_equal(qmp_collect(c, g_qmp, QMP_Q_STATUS, &st), 0);

    /* Cost: N sessions with the tick's usual queries (status, blockstats, balloon,
     * guest-stats; cpus-fast is a discovery-time query). */
    enum { N = 200 };
    struct rusage ru0, ru1;
    uint64_t q0 = process_run_ns(g_pid);
    getrusage(RUSAGE_SELF, &ru0);
    t0 = now_ns();
    int fails = 0;
    for (int i = 0; i < N; i++)
        fails += qmp_collect(c, g_qmp, QMP_Q_ALL & ~QMP_Q_CPUS, &st) != 0;
    int64_t wall = now_ns() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    uint64_t q1 = process_run_ns(g_pid);
    double ours = ((double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 +
                   (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                   (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
                   (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                  N;
    printf("  %d sessions (4 queries each): %.0f us wall/session, client CPU %.0f us/session, "
           "QEMU non-vCPU threads %.0f us/session, %d failed\n",
           N, (double)wall / N / 1e3, ours, (double)(q1 - q0) / N / 1e3, fails);
    assert_int_equal(fails, 0);
    struct qmp_client_stats cs;
    qmp_client_get_stats(c, &cs);
    printf("  client: %llu sessions, %llu failed, %llu timeouts, %llu events skipped, "
           "%llu B in, %llu B out\n",
           (unsigned long long)cs.sessions, (unsigned long long)cs.sessions_failed,
           (unsigned long long)cs.timeouts, (unsigned long long)cs.events_skipped,
           (unsigned long long)cs.bytes_in, (unsigned long long)cs.bytes_out);
    qmp_vm_stats_done(&st);
    qmp_client_free(c);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_qemu),
    };
    (void)argc;
    (void)argv;
    if (getenv("LAB_RUN") == NULL) {
        char self[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k < 0) {
            perror("readlink /proc/self/exe");
            return 1;
        }
        self[k] = '\0';
        char *args[] = {(char *)(uintptr_t) "bash",
                        (char *)(uintptr_t)PROXTOP_SOURCE_DIR "/tests/lab/run.sh",
                        (char *)(uintptr_t) "--spin",
                        (char *)(uintptr_t) "1",
                        (char *)(uintptr_t) "--",
                        self,
                        NULL};
        execv("/bin/bash", args);
        perror("execv /bin/bash");
        return 1;
    }
    return cmocka_run_group_tests(tests, load_guest, NULL);
}
