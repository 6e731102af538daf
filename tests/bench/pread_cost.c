/* pread_cost: what the kernel charges for one read of each given file, the floor under the
 * sampler's per-VM cost.
 *
 *   pread_cost [-n READS] FILE...
 *
 * Opens each FILE once and times READS (default 20000) preads of it from offset 0 into a 64 KiB
 * buffer, back to back (caches hot: a tick 100 ms later finds them colder, so the sampler pays
 * more). Prints µs of this thread's CPU time per read (not wall time: the guests may hold the
 * CPUs), the bytes one read returned, and the file. A file that cannot be
 * opened or read is reported on stderr and skipped; the exit status is 1 if any was.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    static char buf[65536];
    long reads = 20000;
    int i = 1, status = 0;

    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        reads = strtol(argv[2], NULL, 10);
        i = 3;
    }
    if (reads < 1 || i >= argc) {
        fprintf(stderr, "usage: pread_cost [-n READS] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "pread_cost: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            fprintf(stderr, "pread_cost: %s: %s\n", argv[i], strerror(errno));
            close(fd);
            status = 1;
            continue;
        }
        double t0 = now_ns();
        for (long k = 0; k < reads; k++) {
            if (pread(fd, buf, sizeof(buf), 0) < 0) {
                break;
            }
        }
        double t1 = now_ns();
        printf("%8.2f us %6zd B  %s\n", (t1 - t0) / (double)reads / 1e3, n, argv[i]);
        close(fd);
    }
    return status;
}
