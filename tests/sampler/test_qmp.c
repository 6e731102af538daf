/* test_qmp.c: the QMP client's error paths against an in-process fake QMP server (a thread on a
 * UNIX socket in a temporary directory): a peer that never answers, never accepts, answers
 * garbage, closes mid-reply, interleaves events, sends an endless line, answers with errors.
 * Every failure must come back within the deadline (200 ms + scheduling slack) and leave no fd
 * open. The happy path against a real QEMU is in test_qmp_lab.c.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "../support/testutil.h"
#include "core_error.h"
#include "qmp.h"

#define DEADLINE_MS 200
#define SLACK_MS    100

enum fake_mode {
    FAKE_SILENT,     /* accept, never send anything */
    FAKE_NO_ACCEPT,  /* listen, never accept */
    FAKE_GARBAGE,    /* greeting is not JSON */
    FAKE_NOT_QMP,    /* greeting is JSON but not a QMP greeting */
    FAKE_CLOSE_MID,  /* greeting, capabilities ok, then half a reply and close */
    FAKE_EVENTS,     /* a correct server that sends events before every reply */
    FAKE_HUGE,       /* greeting, then endless bytes without a newline */
    FAKE_STALL_REPLY /* greeting, capabilities ok, then never answers the queries */
};

struct fake {
    enum fake_mode mode;
    char *dir, *path;
    int lfd;
    pthread_t th;
    volatile int stop;
    int commands_seen;
    char bad_command[64]; /* a command outside the allow-list, if one ever arrived */
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void send_str(int fd, const char *s) {
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

/* Reads one line (up to 4 KiB) from fd, waiting at most ms. Returns length, 0 on EOF/timeout. */
static size_t recv_line(struct fake *f, int fd, char *buf, size_t size, int ms) {
    size_t len = 0;
    int64_t end = now_ms() + ms;
    while (len + 1 < size && !f->stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - now_ms());
        if (left <= 0 || poll(&p, 1, left > 20 ? 20 : left) < 0)
            break;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n <= 0)
            break;
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return len;
        }
        len++;
    }
    buf[len] = '\0';
    return 0;
}

static const char *const GREETING =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": "
    "\"fake\"}, \"capabilities\": [\"oob\"]}}\r\n";
static const char *const EVENT = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
                                 "\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 0}}\r\n";

/* A correct answer for one command (FAKE_EVENTS). */
static void answer(struct fake *f, int fd, const char *line) {
    json_error_t err;
    json_t *msg = json_loads(line, 0, &err);
    const char *cmd = json_string_value(json_object_get(msg, "execute"));
    json_t *id = json_object_get(msg, "id");
    json_t *reply = json_object();
    f->commands_seen++;
    if (!cmd || !qmp_command_allowed(cmd))
        snprintf(f->bad_command, sizeof(f->bad_command), "%s", cmd ? cmd : "(none)");
    if (cmd && strcmp(cmd, "query-cpus-fast") == 0) {
        json_object_set_new(reply, "return",
                            json_pack("[{s:i, s:i, s:s}, {s:i, s:i, s:s}]", "cpu-index", 0,
                                      "thread-id", 4242, "target", "x86_64", "cpu-index", 1,
                                      "thread-id", 4243, "target", "x86_64"));
    } else if (cmd && strcmp(cmd, "query-blockstats") == 0) {
        json_object_set_new(
            reply, "return",
            json_pack("[{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}]", "device",
                      "drive-virtio0", "qdev", "/machine/peripheral/virtio0/virtio-backend",
                      "stats", "rd_bytes", (json_int_t)5000000000LL, "wr_bytes", (json_int_t)7,
                      "rd_operations", (json_int_t)11, "wr_operations", (json_int_t)13,
                      "flush_operations", (json_int_t)17, "rd_total_time_ns", (json_int_t)19,
                      "wr_total_time_ns", (json_int_t)23, "flush_total_time_ns", (json_int_t)29));
    } else if (cmd && strcmp(cmd, "query-status") == 0) {
        json_object_set_new(
            reply, "return",
            json_pack("{s:s, s:b, s:b}", "status", "running", "running", 1, "singlestep", 0));
    } else if (cmd && strcmp(cmd, "query-balloon") == 0) {
        json_object_set_new(reply, "error",
                            json_pack("{s:s, s:s}", "class", "DeviceNotActive", "desc",
                                      "No balloon device has been activated"));
    } else if (cmd && strcmp(cmd, "qom-get") == 0) {
        json_object_set_new(reply, "return",
                            json_pack("{s:{s:I, s:I, s:I}, s:I}", "stats", "stat-free-memory",
                                      (json_int_t)1000, "stat-total-memory", (json_int_t)2000,
                                      "stat-swap-in", (json_int_t)-1, "last-update",
                                      (json_int_t)1700000000));
    } else if (cmd && strcmp(cmd, "qmp_capabilities") == 0) {
        json_object_set_new(reply, "return", json_object());
    } else {
        json_object_set_new(reply, "error",
                            json_pack("{s:s, s:s}", "class", "CommandNotFound", "desc", "nope"));
    }
    if (id)
        json_object_set(reply, "id", id);
    char *text = json_dumps(reply, JSON_COMPACT);
    send_str(fd, EVENT); /* an event before every reply, as QEMU may do */
    send_str(fd, text);
    send_str(fd, "\r\n");
    free(text);
    json_decref(reply);
    json_decref(msg);
}

static void serve(struct fake *f, int fd) {
    char line[4096];
    switch (f->mode) {
    case FAKE_SILENT:
        break;
    case FAKE_GARBAGE:
        send_str(fd, "this is {not json at all\r\n");
        break;
    case FAKE_NOT_QMP:
        send_str(fd, "{\"hello\": 1}\r\n");
        break;
    case FAKE_CLOSE_MID:
        send_str(fd, GREETING);
        if (recv_line(f, fd, line, sizeof(line), 1000))
            answer(f, fd, line);
        if (recv_line(f, fd, line, sizeof(line), 1000))
            send_str(fd, "{\"return\": [{\"cpu-index\": 0, \"thread-");
        return; /* close mid-reply */
    case FAKE_EVENTS:
        send_str(fd, EVENT);
        send_str(fd, GREETING);
        while (recv_line(f, fd, line, sizeof(line), 1000))
            answer(f, fd, line);
        return;
    case FAKE_HUGE: {
        static char junk[65536];
        memset(junk, 'a', sizeof(junk));
        send_str(fd, GREETING);
        recv_line(f, fd, line, sizeof(line), 1000);
        send_str(fd, "{\"return\": \"");
        for (int i = 0; i < 256 && !f->stop; i++) { /* up to 16 MiB, never a newline */
            ssize_t n = send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN)
                continue;
            if (n <= 0)
                break;
        }
        break;
    }
    case FAKE_STALL_REPLY:
        send_str(fd, GREETING);
        if (recv_line(f, fd, line, sizeof(line), 1000))
            answer(f, fd, line);
        break;
    case FAKE_NO_ACCEPT:
        break;
    }
    /* Hold the connection until the client goes away (or the test ends). */
    while (!f->stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            char b[4096];
            if (recv(fd, b, sizeof(b), 0) <= 0)
                break;
        }
    }
}

static void *fake_main(void *arg) {
    struct fake *f = arg;
    if (f->mode == FAKE_NO_ACCEPT) {
        while (!f->stop)
            poll(NULL, 0, 10);
        return NULL;
    }
    while (!f->stop) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

static struct fake *fake_start(enum fake_mode mode) {
    struct fake *f = calloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_non_null(f);
    f->mode = mode;
    f->dir = tu_mkdtemp("qmp");
    assert_non_null(f->dir);
    f->path = tu_path(f->dir, "qmp.sock");
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
    return f;
}

static void fake_stop(struct fake *f) {
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
}

/* Runs qmp_collect against a fake in `mode`; checks the error, the time and the fds. */
static void expect_failure(enum fake_mode mode, int want) {
    int fds = count_fds(); /* before the fake: its accepted sockets count while it runs */
    struct fake *f = fake_start(mode);
    struct qmp_client *c = qmp_client_new();
    struct qmp_vm_stats st = {0};
    assert_non_null(c);
    qmp_client_set_timeout(c, DEADLINE_MS);
    int64_t t0 = now_ms();
    int r = qmp_collect(c, f->path, QMP_Q_ALL, &st);
    int64_t dt = now_ms() - t0;
    printf("  mode %d: %s (%d) after %lld ms\n", (int)mode, core_strerror(r), r, (long long)dt);
    assert_int_equal(r, want);
    assert_int_equal(st.ok, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(st.err[i], want);
    assert_true(dt <= DEADLINE_MS + SLACK_MS);
    /* A second attempt behaves the same (no state carried over). */
    t0 = now_ms();
    r = qmp_collect(c, f->path, QMP_Q_STATUS, &st);
    assert_int_equal(r, want);
    assert_true(now_ms() - t0 <= DEADLINE_MS + SLACK_MS);
    qmp_vm_stats_done(&st);
    qmp_client_free(c);
    fake_stop(f);
    assert_int_equal(count_fds(), fds); /* the client closed its sockets */
}

static void test_never_answers(void **state) {
    (void)state;
    expect_failure(FAKE_SILENT, -ETIMEDOUT);
}

static void test_never_accepts(void **state) {
    (void)state;
    expect_failure(FAKE_NO_ACCEPT, -ETIMEDOUT);
}

static void test_garbage(void **state) {
    (void)state;
    expect_failure(FAKE_GARBAGE, -CORE_EPARSE);
}

static void test_not_qmp(void **state) {
    (void)state;
    expect_failure(FAKE_NOT_QMP, -CORE_EFORMAT);
}

static void test_close_mid_reply(void **state) {
    (void)state;
    expect_failure(FAKE_CLOSE_MID, -ECONNRESET);
}

static void test_huge_line(void **state) {
    (void)state;
    expect_failure(FAKE_HUGE, -EMSGSIZE);
}

static void test_huge_line_small_cap(void **state) {
    struct fake *f = fake_start(FAKE_HUGE);
    struct qmp_client *c = qmp_client_new();
    struct qmp_vm_stats st = {0};
    (void)state;
    qmp_client_set_max_line(c, 4096);
    int64_t t0 = now_ms();
    assert_int_equal(qmp_collect(c, f->path, QMP_Q_STATUS, &st), -EMSGSIZE);
    assert_true(now_ms() - t0 <= DEADLINE_MS + SLACK_MS);
    qmp_vm_stats_done(&st);
    qmp_client_free(c);
    fake_stop(f);
}

static void test_stalled_reply(void **state) {
    (void)state;
    expect_failure(FAKE_STALL_REPLY, -ETIMEDOUT);
}

static void test_no_socket(void **state) {
    struct qmp_client *c = qmp_client_new();
    struct qmp_vm_stats st = {0};
    char *dir = tu_mkdtemp("qmp");
    char *path = tu_path(dir, "absent.sock");
    (void)state;
    assert_int_equal(qmp_collect(c, path, QMP_Q_ALL, &st), -ENOENT);
    assert_int_equal(qmp_collect(c, "", QMP_Q_ALL, &st), -EINVAL);
    char longp[300];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(qmp_collect(c, longp, QMP_Q_ALL, &st), -ENAMETOOLONG);
    /* A socket file nobody listens on. */
    struct fake *f = fake_start(FAKE_NO_ACCEPT);
    close(f->lfd);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(qmp_collect(c, f->path, QMP_Q_ALL, &st), -ECONNREFUSED);
    fake_stop(f);
    qmp_vm_stats_done(&st);
    qmp_client_free(c);
    tu_rmtree(dir);
    free(dir);
    free(path);
}

struct evlog {
    int n;
    char last[32];
};

static void on_event(void *ud, const char *event, const char *line, size_t len) {
    struct evlog *l = ud;
    l->n++;
    snprintf(l->last, sizeof(l->last), "%s", event);
    assert_non_null(memchr(line, '{', len));
}

/* A correct peer that interleaves events: every query is parsed, events are skipped and
 * reported, balloon's DeviceNotActive is a per-query error, the session still succeeds. */
static void test_events_interleaved(void **state) {
    int fds = count_fds();
    struct fake *f = fake_start(FAKE_EVENTS);
    struct qmp_client *c = qmp_client_new();
    struct qmp_vm_stats st = {0};
    struct evlog ev = {0};
    struct qmp_client_stats cs;
    (void)state;
    qmp_client_set_event_cb(c, on_event, &ev);
    for (int round = 0; round < 3; round++) {
        int r = qmp_collect(c, f->path, QMP_Q_ALL, &st);
        assert_int_equal(r, 0);
        assert_int_equal(st.ok, QMP_Q_ALL & ~QMP_Q_BALLOON);
        assert_int_equal(st.err[3], -ENODEV);
        assert_string_equal(st.status.status, "running");
        assert_true(st.status.running);
        assert_int_equal(st.cpus.count, 2);
        assert_int_equal(st.cpus.cpu[0].cpu_index, 0);
        assert_int_equal(st.cpus.cpu[0].thread_id, 4242);
        assert_int_equal(st.cpus.cpu[1].thread_id, 4243);
        assert_int_equal(st.blk.count, 1);
        assert_string_equal(st.blk.dev[0].device, "drive-virtio0");
        assert_true(st.blk.dev[0].v[QMP_BLK_RD_BYTES] == 5000000000ULL);
        assert_int_equal(st.blk.dev[0].v[QMP_BLK_FLUSH_OPS], 17);
        assert_int_equal(st.blk.dev[0].v[QMP_BLK_FLUSH_TIME_NS], 29);
        assert_true(st.blk.dev[0].valid & (1u << QMP_BLK_WR_TIME_NS));
        assert_false(st.blk.dev[0].valid & (1u << QMP_BLK_IDLE_TIME_NS)); /* absent = missing */
        assert_int_equal(st.guest.last_update, 1700000000);
        assert_int_equal(st.guest.v[QMP_GSTAT_FREE_MEMORY], 1000);
        assert_true(st.guest.valid & (1u << QMP_GSTAT_TOTAL_MEMORY));
        assert_false(st.guest.valid & (1u << QMP_GSTAT_SWAP_IN)); /* -1 = not reported */
    }
    assert_true(ev.n >= 3 * 6);
    assert_string_equal(ev.last, "RTC_CHANGE");
    qmp_client_get_stats(c, &cs);
    assert_int_equal(cs.sessions, 3);
    assert_int_equal(cs.sessions_failed, 0);
    assert_true(cs.events_skipped >= 3 * 7);

    /* Session API over the same peer; a QMP error leaves the session usable. */
    struct qmp_balloon b;
    struct qmp_cpus cpus = {0};
    assert_int_equal(qmp_session_open(c, f->path), 0);
    assert_int_equal(qmp_query_balloon(c, &b), -ENODEV);
    assert_non_null(strstr(qmp_last_error(c), "DeviceNotActive"));
    assert_int_equal(qmp_query_cpus_fast(c, &cpus), 0);
    assert_int_equal(cpus.count, 2);
    char *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-nonexistent", NULL, &ret), -ENOSYS);
    assert_int_equal(qmp_execute(c, "query-status", "{}", &ret), 0);
    assert_non_null(strstr(ret, "\"running\""));
    free(ret);
    qmp_session_close(c);
    assert_int_equal(qmp_query_cpus_fast(c, &cpus), -ENOTCONN);
    qmp_cpus_done(&cpus);
    assert_string_equal(f->bad_command, "");
    qmp_vm_stats_done(&st);
    qmp_client_free(c);
    fake_stop(f);
    assert_int_equal(count_fds(), fds);
}

/* The allow-list is enforced in the client: nothing is sent. */
static void test_allow_list(void **state) {
    struct fake *f = fake_start(FAKE_EVENTS);
    struct qmp_client *c = qmp_client_new();
    (void)state;
    assert_true(qmp_command_allowed("qmp_capabilities"));
    assert_true(qmp_command_allowed("query-blockstats"));
    assert_true(qmp_command_allowed("qom-get"));
    assert_false(qmp_command_allowed("quit"));
    assert_false(qmp_command_allowed("system_reset"));
    assert_false(qmp_command_allowed("qom-set"));
    assert_false(qmp_command_allowed("balloon"));
    assert_false(qmp_command_allowed("human-monitor-command"));
    assert_false(qmp_command_allowed("query-"));
    assert_false(qmp_command_allowed("query-x\"}"));
    assert_false(qmp_command_allowed("query-status\n{\"execute\":\"quit\"}"));
    assert_false(qmp_command_allowed(NULL));
    assert_int_equal(qmp_session_open(c, f->path), 0);
    int before = f->commands_seen;
    assert_int_equal(qmp_execute(c, "quit", NULL, NULL), -EPERM);
    assert_int_equal(qmp_execute(c, "qom-set", "{\"path\":\"/\"}", NULL), -EPERM);
    assert_int_equal(qmp_execute(c, "human-monitor-command", NULL, NULL), -EPERM);
    assert_int_equal(qmp_execute(c, "query-status", "[1]", NULL), -EINVAL);
    /* The session is still fine and the fake saw none of them. */
    struct qmp_status s;
    assert_int_equal(qmp_query_status(c, &s), 0);
    assert_int_equal(f->commands_seen, before + 1);
    qmp_session_close(c);
    assert_string_equal(f->bad_command, "");
    qmp_client_free(c);
    fake_stop(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_answers),
        cmocka_unit_test(test_never_accepts),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_not_qmp),
        cmocka_unit_test(test_close_mid_reply),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_huge_line_small_cap),
        cmocka_unit_test(test_stalled_reply),
        cmocka_unit_test(test_no_socket),
        cmocka_unit_test(test_events_interleaved),
        cmocka_unit_test(test_allow_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
