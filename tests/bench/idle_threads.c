/* idle_threads: park many sleeping threads on the host, for the sampler's thread-count benchmark.
 *
 *   idle_threads [-p PROCS] THREADS
 *
 * Forks PROCS child processes (default 1) that hold THREADS threads in total (each child's main
 * thread counts), all blocked in pause(): they use no CPU, but they are in /proc, each with its
 * own /proc/PID/task/TID, as a busy virtualisation host's threads are. Prints one line
 * "idle_threads: ready, THREADS threads in PROCS processes" on stdout once every thread exists,
 * then waits for SIGTERM or SIGINT, stops its own children (by the pids fork returned) and
 * exits 0. The children also get PR_SET_PDEATHSIG, so they go with the parent even if it is
 * SIGKILLed. tests/bench/bench_sampler.sh starts it and stops it by its pid.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { STACK_BYTES = 64 * 1024, MAX_PROCS = 4096, MAX_THREADS = 100000 };

static void *idle(void *arg) {
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

/* The child: n - 1 extra threads besides its main one, one byte on ready_fd, then sleep. */
static int child(long n, pid_t parent, int ready_fd) {
    pthread_attr_t a;
    pthread_t t;
    int e;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
        return 1; /* the parent is already gone */
    }
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, STACK_BYTES);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (long i = 1; i < n; i++) {
        e = pthread_create(&t, &a, idle, NULL);
        if (e != 0) {
            fprintf(stderr, "idle_threads: pthread_create (thread %ld): %s\n", i, strerror(e));
            return 1;
        }
    }
    pthread_attr_destroy(&a);
    if (write(ready_fd, "r", 1) != 1) {
        return 1;
    }
    close(ready_fd);
    idle(NULL);
    return 0;
}

static void stop_children(const pid_t *pids, long n) {
    for (long i = 0; i < n; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
        }
    }
    for (long i = 0; i < n; i++) {
        if (pids[i] > 0) {
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            }
        }
    }
}

int main(int argc, char **argv) {
    long procs = 1, threads;
    int c, pfd[2], sig = 0, rc = 1;
    sigset_t set;
    pid_t *pids = NULL, self = getpid();

    while ((c = getopt(argc, argv, "p:")) != -1) {
        if (c != 'p') {
            goto usage;
        }
        procs = strtol(optarg, NULL, 10);
    }
    if (optind + 1 != argc) {
        goto usage;
    }
    threads = strtol(argv[optind], NULL, 10);
    if (procs < 1 || procs > MAX_PROCS || threads < procs || threads > MAX_THREADS) {
        goto usage;
    }
    /* Block the stop signals before forking: the children unblock them (default action: die). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (pipe(pfd) < 0) {
        perror("idle_threads: pipe");
        return 1;
    }
    pids = calloc((size_t)procs, sizeof(*pids));
    if (!pids) {
        perror("idle_threads: calloc");
        return 1;
    }
    for (long i = 0; i < procs; i++) {
        long n = threads / procs + (i < threads % procs ? 1 : 0);
        pid_t p = fork();
        if (p < 0) {
            perror("idle_threads: fork");
            goto out;
        }
        if (p == 0) {
            close(pfd[0]);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            _exit(child(n, self, pfd[1]));
        }
        pids[i] = p;
    }
    close(pfd[1]);
    for (long got = 0; got < procs;) {
        char b[64];
        ssize_t r = read(pfd[0], b, sizeof(b));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            fprintf(stderr, "idle_threads: a child failed before it was ready\n");
            goto out;
        }
        got += r;
    }
    close(pfd[0]);
    printf("idle_threads: ready, %ld threads in %ld processes\n", threads, procs);
    fflush(stdout);
    sigwait(&set, &sig);
    rc = 0;
out:
    stop_children(pids, procs);
    free(pids);
    return rc;
usage:
    fprintf(stderr, "usage: idle_threads [-p PROCS] THREADS (1 <= PROCS <= THREADS)\n");
    return 2;
}
