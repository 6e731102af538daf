/* qmp.h: a bounded, read-only QMP client for sampling QEMU from the host side.
 *
 * QMP etiquette (spec/metrics.md): a QEMU QMP socket serves one client at a time and other tools
 * (Proxmox's qm, libvirt) use it too. So this client NEVER keeps a socket across calls: one
 * session = connect, read the greeting, qmp_capabilities, the queries, disconnect; the whole
 * session runs under ONE hard deadline (default QMP_DEFAULT_TIMEOUT_MS) enforced with
 * non-blocking sockets and poll(). On timeout the session is torn down and -ETIMEDOUT returned:
 * the caller marks that VM's QMP values missing for the tick and goes on.
 *
 * Safety: only commands from a fixed read-only allow-list are ever sent (qmp_capabilities,
 * query-*, qom-get); anything else is refused inside the client with -EPERM before a byte is
 * written. Replies are matched by "id"; asynchronous events interleaved with replies are skipped
 * (and optionally passed to an event callback). JSON is parsed with jansson. Every reply line is
 * bounded (QMP_MAX_LINE): a peer that sends endless data without a newline fails with -EMSGSIZE.
 *
 * Errors are negative codes (formats/core_error.h): -errno from connect/read/write (-ENOENT,
 * -ECONNREFUSED, -EACCES, -ECONNRESET when the peer closes mid-session), -ETIMEDOUT (deadline),
 * -EMSGSIZE (line too long), -CORE_EPARSE (a line is not JSON), -CORE_EFORMAT (valid JSON with
 * an unexpected shape: no greeting, a "return" of the wrong type, ...), -EPERM (command not in
 * the allow-list), -ENOMEM, and for a QMP "error" reply: -ENODEV (class DeviceNotActive or
 * DeviceNotFound, e.g. query-balloon without a balloon), -ENOSYS (CommandNotFound), -EREMOTEIO
 * (any other class; see qmp_last_error()). The client never prints and never exits.
 *
 * Threads: a struct qmp_client is used by one thread at a time; distinct clients are independent.
 * SIGPIPE: writes use send(MSG_NOSIGNAL); no signal disposition is changed.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_QMP_H
#define SAMPLER_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_DEFAULT_TIMEOUT_MS 200
#define QMP_MAX_LINE           (1024 * 1024) /* bytes of one reply line, newline excluded */
#define QMP_NAME_MAX           128 /* device / qdev / node-name strings (cut, not overflowed) */
#define QMP_STATUS_MAX         32
#define QMP_DEFAULT_BALLOON    "/machine/peripheral/balloon0" /* libvirt's and Proxmox's id */

/*============================== Result structs ============================== */

/* query-status */
struct qmp_status {
    bool running;                /* "running" */
    char status[QMP_STATUS_MAX]; /* "running", "paused", "inmigrate", "prelaunch", ... */
};

/* query-cpus-fast: one entry per vCPU. */
struct qmp_cpu {
    int32_t cpu_index; /* "cpu-index" */
    int32_t thread_id; /* "thread-id": the host TID of the vCPU thread (/proc/PID/task/TID) */
};

struct qmp_cpus {
    struct qmp_cpu *cpu; /* count entries, in QEMU's order (cpu-index ascending in practice) */
    size_t count;
    size_t cap; /* allocated; reused by later calls, freed by qmp_cpus_done() */
};

/* query-blockstats: one entry per block backend (the guest's view of its disks: bytes the guest
 * read/wrote, not the host's I/O after the page cache). Raw cumulative counters. */
enum qmp_blk_field {
    QMP_BLK_RD_BYTES,
    QMP_BLK_WR_BYTES,
    QMP_BLK_RD_OPS,
    QMP_BLK_WR_OPS,
    QMP_BLK_FLUSH_OPS,
    QMP_BLK_RD_TIME_NS, /* rd_total_time_ns */
    QMP_BLK_WR_TIME_NS,
    QMP_BLK_FLUSH_TIME_NS,
    QMP_BLK_FAILED_RD_OPS,
    QMP_BLK_FAILED_WR_OPS,
    QMP_BLK_FAILED_FLUSH_OPS,
    QMP_BLK_WR_HIGHEST_OFFSET, /* gauge, bytes */
    QMP_BLK_IDLE_TIME_NS,      /* gauge: ns since the last I/O; absent before the first I/O */
    QMP_BLK_NFIELDS
};

struct qmp_blockdev {
    char device[QMP_NAME_MAX];    /* "device" (legacy drive id, e.g. "drive-virtio0"); may be "" */
    char qdev[QMP_NAME_MAX];      /* "qdev" (e.g. "/machine/peripheral/virtio-disk0/virtio-backend"
                                     or "virtio-disk0"); may be "" */
    char node_name[QMP_NAME_MAX]; /* "node-name" (-blockdev); may be "" */
    uint64_t v[QMP_BLK_NFIELDS];  /* indexed by enum qmp_blk_field */
    uint32_t valid;               /* bit f set when v[f] was present in the reply */
};

struct qmp_blockstats {
    struct qmp_blockdev *dev;
    size_t count;
    size_t cap; /* reused by later calls; freed by qmp_blockstats_done() */
};

/* query-balloon */
struct qmp_balloon {
    uint64_t actual; /* bytes of guest memory after ballooning */
};

/* qom-get PATH guest-stats: guest memory statistics reported by the virtio-balloon driver.
 * Only present when a stats polling interval is set and the guest has the driver. A stat the
 * guest does not report is -1 in QMP and is missing here (valid bit clear), never 0. */
enum qmp_gstat {
    QMP_GSTAT_SWAP_IN,          /* stat-swap-in (pages... as QEMU reports them: see QEMU docs) */
    QMP_GSTAT_SWAP_OUT,         /* stat-swap-out */
    QMP_GSTAT_MAJOR_FAULTS,     /* stat-major-faults */
    QMP_GSTAT_MINOR_FAULTS,     /* stat-minor-faults */
    QMP_GSTAT_FREE_MEMORY,      /* stat-free-memory (bytes) */
    QMP_GSTAT_TOTAL_MEMORY,     /* stat-total-memory (bytes) */
    QMP_GSTAT_AVAILABLE_MEMORY, /* stat-available-memory (bytes) */
    QMP_GSTAT_DISK_CACHES,      /* stat-disk-caches (bytes) */
    QMP_GSTAT_HTLB_PGALLOC,     /* stat-htlb-pgalloc */
    QMP_GSTAT_HTLB_PGFAIL,      /* stat-htlb-pgfail */
    QMP_GSTAT_NFIELDS
};

struct qmp_guest_stats {
    int64_t last_update; /* "last-update": epoch seconds of the guest's last report; 0 = never
                            (stats never polled: all valid bits clear) */
    uint64_t v[QMP_GSTAT_NFIELDS];
    uint32_t valid; /* bit f set when v[f] was reported (present and not -1) */
};

/*============================== The client ============================== */

struct qmp_client; /* opaque: reusable buffers + per-session state; holds no socket between calls */

/* Called for each asynchronous event seen during a session (optional). event is the "event"
 * member, line the whole JSON line (not NUL-terminated beyond len; valid only during the call). */
typedef void (*qmp_event_fn)(void *ud, const char *event, const char *line, size_t len);

/* Returns a new client, or NULL on out of memory. Holds no socket. */
struct qmp_client *qmp_client_new(void);

/* Frees the client (closing a session left open). NULL is a no-op. */
void qmp_client_free(struct qmp_client *c);

/* Optional settings; defaults: timeout QMP_DEFAULT_TIMEOUT_MS, balloon path QMP_DEFAULT_BALLOON,
 * max line QMP_MAX_LINE, no event callback. The balloon path is copied (cut to 255 bytes). */
void qmp_client_set_timeout(struct qmp_client *c, int timeout_ms);
void qmp_client_set_balloon_path(struct qmp_client *c, const char *qom_path);
void qmp_client_set_max_line(struct qmp_client *c, size_t max_line); /* for tests; >= 256 */
void qmp_client_set_event_cb(struct qmp_client *c, qmp_event_fn fn, void *ud);

/* After a call that returned -ENODEV, -ENOSYS or -EREMOTEIO: the QMP error class and desc
 * (NUL-terminated, cut to fit; "" when the last error was not a QMP error reply). */
const char *qmp_last_error(const struct qmp_client *c);

/* Counters over the client's lifetime (diagnostics, benchmark). */
struct qmp_client_stats {
    uint64_t sessions;        /* sessions opened (connect attempted) */
    uint64_t sessions_failed; /* sessions that ended with an error */
    uint64_t timeouts;        /* -ETIMEDOUT */
    uint64_t events_skipped;  /* asynchronous events seen and skipped */
    uint64_t bytes_in, bytes_out;
};
void qmp_client_get_stats(const struct qmp_client *c, struct qmp_client_stats *out);

/*============================== Session API ============================== */

/* Opens a session: starts the deadline clock (now + timeout), connects to the UNIX socket
 * path (non-blocking), reads the greeting and negotiates capabilities. On error the socket is
 * closed and nothing is left open. A session already open is closed first. */
int qmp_session_open(struct qmp_client *c, const char *socket_path);

/* Closes the session's socket (idempotent). Must be called after a successful open; the next
 * qmp_session_open or qmp_client_free also closes it. */
void qmp_session_close(struct qmp_client *c);

/* Queries within the open session, all bound by the session's deadline. Each returns 0 and
 * fills out, or a negative code (out is then unspecified but safe to reuse/free). After a
 * transport error (-ETIMEDOUT, -ECONNRESET, -EMSGSIZE, -CORE_EPARSE...) the session is closed
 * and further queries return -ENOTCONN; after a QMP error reply (-ENODEV, -ENOSYS, -EREMOTEIO)
 * the session stays usable. Without an open session: -ENOTCONN. */
int qmp_query_status(struct qmp_client *c, struct qmp_status *out);
int qmp_query_cpus_fast(struct qmp_client *c, struct qmp_cpus *out);
int qmp_query_blockstats(struct qmp_client *c, struct qmp_blockstats *out);
int qmp_query_balloon(struct qmp_client *c, struct qmp_balloon *out);
/* qom-get {"path": <balloon path>, "property": "guest-stats"} */
int qmp_qom_guest_stats(struct qmp_client *c, struct qmp_guest_stats *out);

/* Generic allow-listed command: command must be "qmp_capabilities", start with "query-", or be
 * "qom-get" (else -EPERM, nothing sent). args_json is a JSON object text or NULL. On success
 * *ret_json receives the "return" value serialised compactly (malloc'd, caller frees) when
 * ret_json is not NULL. For tools and tests; collectors use the typed queries above. */
int qmp_execute(struct qmp_client *c, const char *command, const char *args_json, char **ret_json);

/* True when command is on the read-only allow-list. */
bool qmp_command_allowed(const char *command);

/*============================== One-shot batch ============================== */

enum qmp_query {
    QMP_Q_STATUS = 1u << 0,
    QMP_Q_CPUS = 1u << 1,
    QMP_Q_BLOCKSTATS = 1u << 2,
    QMP_Q_BALLOON = 1u << 3,
    QMP_Q_GUEST_STATS = 1u << 4,
    QMP_Q_ALL = 0x1f
};

/* What one VM answered in one tick. Caller-owned; zero-initialise once, reuse across ticks
 * (arrays grow, never shrink), release with qmp_vm_stats_done(). */
struct qmp_vm_stats {
    unsigned ok;     /* QMP_Q_* bits whose result below is valid */
    int err[5];      /* per query bit index (0 = STATUS ... 4 = GUEST_STATS): 0 or the error */
    int64_t mono_ns; /* CLOCK_MONOTONIC when the replies were complete */
    struct qmp_status status;
    struct qmp_cpus cpus;
    struct qmp_blockstats blk;
    struct qmp_balloon balloon;
    struct qmp_guest_stats guest;
};

/* One session for one tick: connect, greeting, qmp_capabilities, then the queries in `queries`
 * sent together (pipelined, matched by id), then disconnect, all under the client's deadline.
 * Returns 0 when the session ran (check out->ok / out->err per query: a VM without a balloon
 * has QMP_Q_BALLOON clear and err[3] = -ENODEV), or a negative transport/session error with
 * out->ok == 0 (VM's QMP values missing for this tick). Never holds the socket afterwards. */
int qmp_collect(struct qmp_client *c, const char *socket_path, unsigned queries,
                struct qmp_vm_stats *out);

/* Free the arrays of results (the structs themselves are the caller's). */
void qmp_cpus_done(struct qmp_cpus *cpus);
void qmp_blockstats_done(struct qmp_blockstats *bs);
void qmp_vm_stats_done(struct qmp_vm_stats *s);

#endif
