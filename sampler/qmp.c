/* qmp.c: a bounded, read-only QMP client (see qmp.h for the contract).
 *
 * One session = connect, greeting, qmp_capabilities, queries, close, all under one deadline on
 * CLOCK_MONOTONIC. The socket is non-blocking; every wait is a poll() bounded by the time left.
 * Lines are accumulated in a reusable buffer capped at max_line; each complete line is one JSON
 * object parsed by jansson.
 * SPDX-License-Identifier: MIT */
#include "qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core_error.h"

#define QMP_RBUF_INIT  16384
#define QMP_MAX_PIPE   8 /* QEMU queues at most 8 requests per monitor without OOB */
#define QMP_PATH_MAX   256
#define QMP_ERRMSG_MAX 256

/* One outstanding request of a pipelined batch. */
struct qmp_req {
    unsigned id;
    int (*parse)(struct qmp_client *c, json_t *ret, void *out);
    void *out;
    int result; /* 1 = pending, else 0 or a negative code */
};

struct qmp_client {
    int fd; /* -1 outside a session */
    int64_t deadline_ns;
    int timeout_ms;
    size_t max_line;
    char balloon_path[QMP_PATH_MAX];
    qmp_event_fn event_fn;
    void *event_ud;

    char *rbuf; /* received bytes: [rpos, rlen) not yet consumed */
    size_t rcap, rlen, rpos;
    char *wbuf; /* outgoing commands of one batch */
    size_t wcap, wlen;
    unsigned next_id;

    char last_error[QMP_ERRMSG_MAX];
    struct qmp_client_stats st;
};

/*============================== Time ============================== */

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds left until the deadline, rounded up; 0 when it has passed. */
static int ms_left(const struct qmp_client *c) {
    int64_t left = c->deadline_ns - mono_ns();
    if (left <= 0)
        return 0;
    return (int)((left + 999999) / 1000000);
}

/* Waits for events on the session socket until the deadline. Returns 0 when ready,
 * -ETIMEDOUT, or -errno. */
static int wait_fd(struct qmp_client *c, short events) {
    for (;;) {
        int ms = ms_left(c);
        if (ms == 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int r = poll(&pfd, 1, ms);
        if (r > 0)
            return 0; /* readable, writable, HUP or ERR: the next syscall tells which */
        if (r == 0)
            continue; /* re-check the deadline (poll may return early by rounding) */
        if (errno != EINTR)
            return -errno;
    }
}

/*============================== Client ============================== */

struct qmp_client *qmp_client_new(void) {
    struct qmp_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = -1;
    c->timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
    c->max_line = QMP_MAX_LINE;
    snprintf(c->balloon_path, sizeof(c->balloon_path), "%s", QMP_DEFAULT_BALLOON);
    return c;
}

void qmp_client_free(struct qmp_client *c) {
    if (!c)
        return;
    qmp_session_close(c);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

void qmp_client_set_timeout(struct qmp_client *c, int timeout_ms) {
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_DEFAULT_TIMEOUT_MS;
}

void qmp_client_set_balloon_path(struct qmp_client *c, const char *qom_path) {
    snprintf(c->balloon_path, sizeof(c->balloon_path), "%s",
             qom_path ? qom_path : QMP_DEFAULT_BALLOON);
}

void qmp_client_set_max_line(struct qmp_client *c, size_t max_line) {
    c->max_line = max_line < 256 ? 256 : max_line;
}

void qmp_client_set_event_cb(struct qmp_client *c, qmp_event_fn fn, void *ud) {
    c->event_fn = fn;
    c->event_ud = ud;
}

const char *qmp_last_error(const struct qmp_client *c) {
    return c->last_error;
}

void qmp_client_get_stats(const struct qmp_client *c, struct qmp_client_stats *out) {
    *out = c->st;
}

bool qmp_command_allowed(const char *command) {
    if (!command)
        return false;
    if (strcmp(command, "qmp_capabilities") == 0 || strcmp(command, "qom-get") == 0)
        return true;
    if (strncmp(command, "query-", 6) == 0 && command[6] != '\0') {
        /* Command names are [a-z0-9-]; anything else cannot be a real query. */
        for (const char *p = command + 6; *p; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                return false;
        }
        return true;
    }
    return false;
}

/*============================== Transport ============================== */

void qmp_session_close(struct qmp_client *c) {
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rlen = c->rpos = 0;
    c->wlen = 0;
}

/* Ends the session after a transport error and passes the error through. */
static int fail(struct qmp_client *c, int err) {
    if (err == -ETIMEDOUT)
        c->st.timeouts++;
    c->st.sessions_failed++;
    qmp_session_close(c);
    return err;
}

static int do_connect(struct qmp_client *c, const char *path) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    if (plen == 0)
        return -EINVAL;
    if (plen >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, plen + 1);

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    for (;;) {
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return 0;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EINPROGRESS) {
            int r = wait_fd(c, POLLOUT);
            if (r < 0)
                return r;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                return -errno;
            return soerr ? -soerr : 0;
        }
        if (e == EAGAIN) {
            /* UNIX socket backlog full (another client is being served): retry briefly. */
            int ms = ms_left(c);
            if (ms == 0)
                return -ETIMEDOUT;
            poll(NULL, 0, ms < 5 ? ms : 5);
            continue;
        }
        return -e;
    }
}

static int send_all(struct qmp_client *c, const char *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            c->st.bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            int r = wait_fd(c, POLLOUT);
            if (r < 0)
                return r;
            continue;
        }
        return n < 0 ? -errno : -ECONNRESET;
    }
    return 0;
}

/* Returns the next complete line (without its newline) in *line / *len. The line stays valid
 * until the next call. Errors: -ETIMEDOUT, -ECONNRESET (EOF), -EMSGSIZE, -ENOMEM, -errno. */
static int read_line(struct qmp_client *c, const char **line, size_t *len) {
    size_t scanned = c->rpos;
    for (;;) {
        char *nl = c->rlen > scanned ? memchr(c->rbuf + scanned, '\n', c->rlen - scanned) : NULL;
        if (nl) {
            *line = c->rbuf + c->rpos;
            *len = (size_t)(nl - (c->rbuf + c->rpos));
            c->rpos = (size_t)(nl - c->rbuf) + 1;
            return 0;
        }
        if (c->rlen - c->rpos > c->max_line)
            return -EMSGSIZE;
        /* Compact, then make room (the buffer never exceeds max_line + a read's worth). */
        if (c->rpos > 0) {
            memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
            c->rlen -= c->rpos;
            c->rpos = 0;
        }
        scanned = c->rlen;
        if (c->rcap - c->rlen < 4096) {
            size_t ncap = c->rcap ? c->rcap * 2 : QMP_RBUF_INIT;
            if (ncap > c->max_line + 8192)
                ncap = c->max_line + 8192;
            if (ncap <= c->rcap)
                return -EMSGSIZE;
            char *nb = realloc(c->rbuf, ncap);
            if (!nb)
                return -ENOMEM;
            c->rbuf = nb;
            c->rcap = ncap;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            c->st.bytes_in += (uint64_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET; /* peer closed (possibly mid-reply) */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int r = wait_fd(c, POLLIN);
        if (r < 0)
            return r;
    }
}

/*============================== Requests ============================== */

static int wbuf_append(struct qmp_client *c, const char *s, size_t n) {
    if (c->wcap - c->wlen < n + 1) {
        size_t ncap = c->wcap ? c->wcap : 1024;
        while (ncap - c->wlen < n + 1)
            ncap *= 2;
        char *nb = realloc(c->wbuf, ncap);
        if (!nb)
            return -ENOMEM;
        c->wbuf = nb;
        c->wcap = ncap;
    }
    memcpy(c->wbuf + c->wlen, s, n);
    c->wlen += n;
    c->wbuf[c->wlen] = '\0';
    return 0;
}

/* Serialises {"execute": command, "arguments": args, "id": id} + "\n" into wbuf. Takes a
 * reference to args (may be NULL). */
static int queue_command(struct qmp_client *c, const char *command, json_t *args, unsigned id) {
    if (!qmp_command_allowed(command)) {
        json_decref(args);
        return -EPERM;
    }
    json_t *msg = json_object();
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "px%u", id);
    if (!msg || json_object_set_new(msg, "execute", json_string(command)) < 0 ||
        (args && json_object_set_new(msg, "arguments", args) < 0) ||
        json_object_set_new(msg, "id", json_string(idbuf)) < 0) {
        if (!msg)
            json_decref(args);
        json_decref(msg);
        return -ENOMEM;
    }
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return -ENOMEM;
    int r = wbuf_append(c, text, strlen(text));
    free(text);
    if (r == 0)
        r = wbuf_append(c, "\n", 1);
    return r;
}

static void set_last_error(struct qmp_client *c, json_t *err) {
    const char *cls = json_string_value(json_object_get(err, "class"));
    const char *desc = json_string_value(json_object_get(err, "desc"));
    snprintf(c->last_error, sizeof(c->last_error), "%s: %s", cls ? cls : "?", desc ? desc : "");
}

static int map_error(struct qmp_client *c, json_t *err) {
    set_last_error(c, err);
    const char *cls = json_string_value(json_object_get(err, "class"));
    if (!cls)
        return -EREMOTEIO;
    if (strcmp(cls, "DeviceNotActive") == 0 || strcmp(cls, "DeviceNotFound") == 0)
        return -ENODEV;
    if (strcmp(cls, "CommandNotFound") == 0)
        return -ENOSYS;
    return -EREMOTEIO;
}

/* Parses "pxN" into N; returns false for ids that are not ours. */
static bool parse_id(json_t *id, unsigned *out) {
    const char *s = json_string_value(id);
    if (!s || s[0] != 'p' || s[1] != 'x' || s[2] == '\0')
        return false;
    unsigned v = 0;
    for (const char *p = s + 2; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000u)
            return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    *out = v;
    return true;
}

/* Sends wbuf and reads lines until every request in reqs[] has its reply. Events are skipped.
 * Returns 0 (per-request results in reqs[i].result) or a transport error (session closed). */
static int run_batch(struct qmp_client *c, struct qmp_req *reqs, size_t nreq) {
    int r = send_all(c, c->wbuf, c->wlen);
    c->wlen = 0;
    if (r < 0)
        return fail(c, r);
    size_t pending = nreq;
    while (pending > 0) {
        const char *line;
        size_t len;
        r = read_line(c, &line, &len);
        if (r < 0)
            return fail(c, r);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
        if (len == 0)
            continue;
        json_error_t jerr;
        json_t *msg = json_loadb(line, len, 0, &jerr);
        if (!msg)
            return fail(c, -CORE_EPARSE);
        if (!json_is_object(msg)) {
            json_decref(msg);
            return fail(c, -CORE_EFORMAT);
        }
        json_t *ev = json_object_get(msg, "event");
        if (ev) {
            c->st.events_skipped++;
            if (c->event_fn && json_is_string(ev))
                c->event_fn(c->event_ud, json_string_value(ev), line, len);
            json_decref(msg);
            continue;
        }
        unsigned id;
        json_t *ret = json_object_get(msg, "return");
        json_t *err = json_object_get(msg, "error");
        if (!parse_id(json_object_get(msg, "id"), &id)) {
            json_decref(msg);
            /* A reply without our id: an error about an unparsable command (never ours), or a
             * greeting repeated by a confused peer. Not something we can match: protocol error. */
            return fail(c, -CORE_EFORMAT);
        }
        struct qmp_req *q = NULL;
        for (size_t i = 0; i < nreq; i++) {
            if (reqs[i].id == id && reqs[i].result == 1) {
                q = &reqs[i];
                break;
            }
        }
        if (!q) { /* stale or duplicate id: ignore */
            json_decref(msg);
            continue;
        }
        if (ret)
            q->result = q->parse ? q->parse(c, ret, q->out) : 0;
        else if (err)
            q->result = map_error(c, err);
        else
            q->result = -CORE_EFORMAT;
        json_decref(msg);
        pending--;
    }
    return 0;
}

/*============================== Reply parsers ============================== */

static bool get_u64(json_t *obj, const char *key, uint64_t *out) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static void copy_str(char *dst, size_t size, json_t *v) {
    const char *s = json_string_value(v);
    snprintf(dst, size, "%s", s ? s : "");
}

static int parse_status(struct qmp_client *c, json_t *ret, void *out) {
    struct qmp_status *st = out;
    json_t *status = json_object_get(ret, "status");
    if (!json_is_object(ret) || !json_is_string(status))
        return -CORE_EFORMAT;
    copy_str(st->status, sizeof(st->status), status);
    st->running = json_is_true(json_object_get(ret, "running"));
    return 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return -ENOMEM;
    *arr = n;
    *cap = ncap;
    return 0;
}

static int parse_cpus(struct qmp_client *c, json_t *ret, void *out) {
    struct qmp_cpus *cp = out;
    cp->count = 0;
    if (!json_is_array(ret))
        return -CORE_EFORMAT;
    size_t n = json_array_size(ret);
    if (grow((void **)&cp->cpu, &cp->cap, n, sizeof(*cp->cpu)) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ret, i);
        uint64_t idx, tid;
        if (!get_u64(e, "cpu-index", &idx) || !get_u64(e, "thread-id", &tid) || idx > INT32_MAX ||
            tid > INT32_MAX)
            return -CORE_EFORMAT;
        cp->cpu[cp->count].cpu_index = (int32_t)idx;
        cp->cpu[cp->count].thread_id = (int32_t)tid;
        cp->count++;
    }
    return 0;
}

static const char *const blk_keys[QMP_BLK_NFIELDS] = {
    [QMP_BLK_RD_BYTES] = "rd_bytes",
    [QMP_BLK_WR_BYTES] = "wr_bytes",
    [QMP_BLK_RD_OPS] = "rd_operations",
    [QMP_BLK_WR_OPS] = "wr_operations",
    [QMP_BLK_FLUSH_OPS] = "flush_operations",
    [QMP_BLK_RD_TIME_NS] = "rd_total_time_ns",
    [QMP_BLK_WR_TIME_NS] = "wr_total_time_ns",
    [QMP_BLK_FLUSH_TIME_NS] = "flush_total_time_ns",
    [QMP_BLK_FAILED_RD_OPS] = "failed_rd_operations",
    [QMP_BLK_FAILED_WR_OPS] = "failed_wr_operations",
    [QMP_BLK_FAILED_FLUSH_OPS] = "failed_flush_operations",
    [QMP_BLK_WR_HIGHEST_OFFSET] = "wr_highest_offset",
    [QMP_BLK_IDLE_TIME_NS] = "idle_time_ns",
};

static int parse_blockstats(struct qmp_client *c, json_t *ret, void *out) {
    struct qmp_blockstats *bs = out;
    bs->count = 0;
    if (!json_is_array(ret))
        return -CORE_EFORMAT;
    size_t n = json_array_size(ret);
    if (grow((void **)&bs->dev, &bs->cap, n, sizeof(*bs->dev)) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ret, i);
        json_t *stats = json_object_get(e, "stats");
        if (!json_is_object(stats))
            return -CORE_EFORMAT;
        struct qmp_blockdev *d = &bs->dev[bs->count++];
        copy_str(d->device, sizeof(d->device), json_object_get(e, "device"));
        copy_str(d->qdev, sizeof(d->qdev), json_object_get(e, "qdev"));
        copy_str(d->node_name, sizeof(d->node_name), json_object_get(e, "node-name"));
        d->valid = 0;
        for (int f = 0; f < QMP_BLK_NFIELDS; f++) {
            d->v[f] = 0;
            if (get_u64(stats, blk_keys[f], &d->v[f]))
                d->valid |= 1u << f;
        }
    }
    return 0;
}

static int parse_balloon(struct qmp_client *c, json_t *ret, void *out) {
    struct qmp_balloon *b = out;
    if (!get_u64(ret, "actual", &b->actual))
        return -CORE_EFORMAT;
    return 0;
}

static const char *const gstat_keys[QMP_GSTAT_NFIELDS] = {
    [QMP_GSTAT_SWAP_IN] = "stat-swap-in",
    [QMP_GSTAT_SWAP_OUT] = "stat-swap-out",
    [QMP_GSTAT_MAJOR_FAULTS] = "stat-major-faults",
    [QMP_GSTAT_MINOR_FAULTS] = "stat-minor-faults",
    [QMP_GSTAT_FREE_MEMORY] = "stat-free-memory",
    [QMP_GSTAT_TOTAL_MEMORY] = "stat-total-memory",
    [QMP_GSTAT_AVAILABLE_MEMORY] = "stat-available-memory",
    [QMP_GSTAT_DISK_CACHES] = "stat-disk-caches",
    [QMP_GSTAT_HTLB_PGALLOC] = "stat-htlb-pgalloc",
    [QMP_GSTAT_HTLB_PGFAIL] = "stat-htlb-pgfail",
};

static int parse_guest_stats(struct qmp_client *c, json_t *ret, void *out) {
    struct qmp_guest_stats *g = out;
    json_t *stats = json_object_get(ret, "stats");
    json_t *lu = json_object_get(ret, "last-update");
    if (!json_is_object(stats) || !json_is_integer(lu))
        return -CORE_EFORMAT;
    g->last_update = json_integer_value(lu);
    g->valid = 0;
    for (int f = 0; f < QMP_GSTAT_NFIELDS; f++) {
        g->v[f] = 0;
        if (g->last_update > 0 && get_u64(stats, gstat_keys[f], &g->v[f]))
            g->valid |= 1u << f; /* -1 (not reported) fails get_u64: missing */
    }
    return 0;
}

struct raw_ret {
    char **text;
};

static int parse_raw(struct qmp_client *c, json_t *ret, void *out) {
    struct raw_ret *rr = out;
    if (!rr->text)
        return 0;
    *rr->text = json_dumps(ret, JSON_COMPACT | JSON_ENCODE_ANY);
    return *rr->text ? 0 : -ENOMEM;
}

/*============================== Sessions ============================== */

/* Connects and reads the greeting (deadline already set). */
static int open_and_greet(struct qmp_client *c, const char *path) {
    c->st.sessions++;
    c->last_error[0] = '\0';
    c->rlen = c->rpos = c->wlen = 0;
    int r = do_connect(c, path);
    if (r < 0)
        return fail(c, r);
    for (;;) {
        const char *line;
        size_t len;
        r = read_line(c, &line, &len);
        if (r < 0)
            return fail(c, r);
        json_error_t jerr;
        json_t *msg = json_loadb(line, len, 0, &jerr);
        if (!msg)
            return fail(c, -CORE_EPARSE);
        if (json_is_object(msg) && json_object_get(msg, "event")) {
            c->st.events_skipped++;
            json_decref(msg);
            continue;
        }
        bool ok = json_is_object(msg) && json_is_object(json_object_get(msg, "QMP"));
        json_decref(msg);
        return ok ? 0 : fail(c, -CORE_EFORMAT);
    }
}

static int run_one(struct qmp_client *c, const char *command, json_t *args,
                   int (*parse)(struct qmp_client *, json_t *, void *), void *out) {
    if (c->fd < 0) {
        json_decref(args);
        return -ENOTCONN;
    }
    struct qmp_req q = {.id = ++c->next_id, .parse = parse, .out = out, .result = 1};
    int r = queue_command(c, command, args, q.id);
    if (r < 0) {
        c->wlen = 0;
        return r;
    }
    r = run_batch(c, &q, 1);
    return r < 0 ? r : q.result;
}

int qmp_session_open(struct qmp_client *c, const char *socket_path) {
    qmp_session_close(c);
    c->deadline_ns = mono_ns() + (int64_t)c->timeout_ms * 1000000;
    int r = open_and_greet(c, socket_path);
    if (r < 0)
        return r;
    r = run_one(c, "qmp_capabilities", NULL, NULL, NULL);
    if (r < 0 && c->fd >= 0)
        return fail(c, r); /* QMP refused capabilities: not usable */
    return r;
}

int qmp_query_status(struct qmp_client *c, struct qmp_status *out) {
    return run_one(c, "query-status", NULL, parse_status, out);
}

int qmp_query_cpus_fast(struct qmp_client *c, struct qmp_cpus *out) {
    return run_one(c, "query-cpus-fast", NULL, parse_cpus, out);
}

int qmp_query_blockstats(struct qmp_client *c, struct qmp_blockstats *out) {
    return run_one(c, "query-blockstats", NULL, parse_blockstats, out);
}

int qmp_query_balloon(struct qmp_client *c, struct qmp_balloon *out) {
    return run_one(c, "query-balloon", NULL, parse_balloon, out);
}

static json_t *guest_stats_args(const struct qmp_client *c) {
    return json_pack("{s:s, s:s}", "path", c->balloon_path, "property", "guest-stats");
}

int qmp_qom_guest_stats(struct qmp_client *c, struct qmp_guest_stats *out) {
    json_t *args = guest_stats_args(c);
    if (!args)
        return -ENOMEM;
    return run_one(c, "qom-get", args, parse_guest_stats, out);
}

int qmp_execute(struct qmp_client *c, const char *command, const char *args_json, char **ret_json) {
    if (ret_json)
        *ret_json = NULL;
    if (!qmp_command_allowed(command))
        return -EPERM;
    json_t *args = NULL;
    if (args_json) {
        json_error_t jerr;
        args = json_loads(args_json, 0, &jerr);
        if (!json_is_object(args)) {
            json_decref(args);
            return -EINVAL;
        }
    }
    struct raw_ret rr = {.text = ret_json};
    return run_one(c, command, args, parse_raw, &rr);
}

/*============================== Batch ============================== */

int qmp_collect(struct qmp_client *c, const char *socket_path, unsigned queries,
                struct qmp_vm_stats *out) {
    static const char *const cmds[5] = {"query-status", "query-cpus-fast", "query-blockstats",
                                        "query-balloon", "qom-get"};
    int (*const parsers[5])(struct qmp_client *, json_t *, void *) = {
        parse_status, parse_cpus, parse_blockstats, parse_balloon, parse_guest_stats};
    void *outs[5] = {&out->status, &out->cpus, &out->blk, &out->balloon, &out->guest};

    out->ok = 0;
    for (int i = 0; i < 5; i++)
        out->err[i] = (queries & (1u << i)) ? -ENOTCONN : 0;

    qmp_session_close(c);
    c->deadline_ns = mono_ns() + (int64_t)c->timeout_ms * 1000000;
    int r = open_and_greet(c, socket_path);
    if (r < 0)
        goto done;

    /* Pipeline: qmp_capabilities and every query in one write; QEMU answers in order. */
    struct qmp_req reqs[1 + 5];
    size_t nreq = 0;
    int slot[1 + 5];
    reqs[nreq] = (struct qmp_req){.id = ++c->next_id, .result = 1};
    slot[nreq] = -1;
    r = queue_command(c, "qmp_capabilities", NULL, reqs[nreq].id);
    nreq++;
    for (int i = 0; i < 5 && r == 0; i++) {
        if (!(queries & (1u << i)))
            continue;
        json_t *args = NULL;
        if (i == 4 && !(args = guest_stats_args(c))) {
            r = -ENOMEM;
            break;
        }
        reqs[nreq] =
            (struct qmp_req){.id = ++c->next_id, .parse = parsers[i], .out = outs[i], .result = 1};
        slot[nreq] = i;
        r = queue_command(c, cmds[i], args, reqs[nreq].id);
        nreq++;
    }
    if (r < 0) {
        r = fail(c, r);
        goto done;
    }
    r = run_batch(c, reqs, nreq);
    if (r < 0)
        goto done;
    if (reqs[0].result < 0) {
        r = fail(c, reqs[0].result);
        goto done;
    }
    for (size_t k = 1; k < nreq; k++) {
        out->err[slot[k]] = reqs[k].result;
        if (reqs[k].result == 0)
            out->ok |= 1u << slot[k];
    }
    qmp_session_close(c);
done:
    if (r < 0) {
        out->ok = 0;
        for (int i = 0; i < 5; i++)
            if (queries & (1u << i))
                out->err[i] = r;
    }
    out->mono_ns = mono_ns();
    return r;
}

void qmp_cpus_done(struct qmp_cpus *cpus) {
    free(cpus->cpu);
    cpus->cpu = NULL;
    cpus->count = cpus->cap = 0;
}

void qmp_blockstats_done(struct qmp_blockstats *bs) {
    free(bs->dev);
    bs->dev = NULL;
    bs->count = bs->cap = 0;
}

void qmp_vm_stats_done(struct qmp_vm_stats *s) {
    qmp_cpus_done(&s->cpus);
    qmp_blockstats_done(&s->blk);
}
