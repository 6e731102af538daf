/* test_lab_spinner.c: a boot-sector spinner guest must show about one core on its vCPU thread
 * and about nothing on QEMU's other threads, measured from /proc/PID/task/TID/schedstat over 3 s.
 *
 * Run without LAB_RUN in the environment, the program re-executes itself under
 * tests/lab/run.sh --spin 1, which starts the guest, runs this program again and tears the guest
 * down by PID on every exit path (QEMU also gets PR_SET_PDEATHSIG, so a killed test leaves no
 * guest behind). run.sh exits 77 when QEMU cannot run at all, which ctest reports as skipped.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_parse.h"

#define MAX_THREADS 64

struct thread {
    int tid;
    char comm[PROC_COMM_MAX];
    uint64_t run0, wait0, run1, wait1;
};

static int guest_pid(void) {
    char path[PATH_MAX], env[4096];
    const char *run = getenv("LAB_RUN"), *p;
    int n;

    snprintf(path, sizeof(path), "%s/vms/spin1.env", run);
    n = proc_read_at(AT_FDCWD, path, env, sizeof(env));
    if (n < 0) {
        fail_msg("cannot read %s: %s", path, strerror(-n));
    }
    p = strstr(env, "\nPID=");
    assert_non_null(p);
    return atoi(p + 5);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lists the threads of pid with their comm. */
static int list_threads(int pid, struct thread *t) {
    char path[320], b[1024];
    struct proc_pid_stat st;
    struct dirent *de;
    DIR *d;
    int n = 0, len;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL && n < MAX_THREADS) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
        len = proc_read_at(AT_FDCWD, path, b, sizeof(b));
        if (len < 0 || proc_pid_stat_parse(b, (size_t)len, &st) < 0) {
            continue; /* a worker thread that just exited */
        }
        t[n].tid = st.pid;
        memcpy(t[n].comm, st.comm, sizeof(t[n].comm));
        n++;
    }
    closedir(d);
    return n;
}

static int read_schedstat(int pid, int tid, uint64_t *run, uint64_t *wait) {
    char path[64], b[128];
    struct proc_schedstat s;
    int len;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
    len = proc_read_at(AT_FDCWD, path, b, sizeof(b));
    if (len < 0 || proc_schedstat_parse(b, (size_t)len, &s) < 0) {
        return -1;
    }
    *run = s.run_ns;
    *wait = s.wait_ns;
    return 0;
}

static void test_spinner_one_core(void **state) {
    struct thread t[MAX_THREADS];
    int pid = guest_pid(), n, nvcpu = 0;
    double t0, t1, vcpu = 0, other = 0;
    (void)state;

    sleep(1); /* let QEMU finish its start-up work on the main thread */
    n = list_threads(pid, t);
    assert_true(n > 1);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (read_schedstat(pid, t[i].tid, &t[i].run0, &t[i].wait0) < 0) {
            t[i].tid = 0;
        }
    }
    sleep(3);
    for (int i = 0; i < n; i++) {
        if (t[i].tid && read_schedstat(pid, t[i].tid, &t[i].run1, &t[i].wait1) < 0) {
            t[i].tid = 0;
        }
    }
    t1 = now_s();
    for (int i = 0; i < n; i++) {
        double used;
        if (!t[i].tid) {
            continue;
        }
        used = (double)(t[i].run1 - t[i].run0) / 1e9 / (t1 - t0);
        printf("  tid %d %-16s used %.3f cores, waited %.3f\n", t[i].tid, t[i].comm, used,
               (double)(t[i].wait1 - t[i].wait0) / 1e9 / (t1 - t0));
        /* debug-threads=on names vCPU threads "CPU N/KVM" (or "CPU N/TCG" on the TCG fallback). */
        if (strncmp(t[i].comm, "CPU ", 4) == 0 &&
            (strstr(t[i].comm, "/KVM") != NULL || strstr(t[i].comm, "/TCG") != NULL)) {
            vcpu += used;
            nvcpu++;
        } else {
            other += used;
        }
    }
    printf("  window %.3f s: vCPU %.3f cores, other threads %.3f cores\n", t1 - t0, vcpu, other);
    assert_int_equal(nvcpu, 1);
    assert_true(vcpu > 0.9 && vcpu < 1.1);
    assert_true(other < 0.05);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spinner_one_core),
    };
    (void)argc;
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
        (void)argv;
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
