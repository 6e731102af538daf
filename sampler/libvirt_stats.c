/* libvirt_stats.c: one virConnectGetAllDomainStats call per tick, parsed into plain structs
 * (see libvirt_stats.h for the contract).
 * SPDX-License-Identifier: MIT */
#include "libvirt_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_error.h"

#define LVS_MAX_INDEX   4096 /* vcpu/net/block index sanity bound */
#define LVS_ERRMSG_MAX  512
#define LVS_PIDFILE_MAX 64
#define LVS_XML_MAX     (4 * 1024 * 1024)

/* PID / vCPU TID cache entry: read once per domain instance (uuid + id). */
struct lvs_cache {
    char uuid[LVS_UUID_LEN + 1];
    int32_t id;
    pid_t pid; /* 0 = unknown */
    int32_t *tids;
    size_t ntids;
    bool tids_ok;
    uint64_t seen; /* generation of the last tick that saw it */
};

struct lvs {
    char *uri, *run_dir;
    bool read_write, include_inactive, no_pid_lookup;
    int backoff_min_ms, backoff_max_ms;

    virConnectPtr conn;
    int backoff_ms;
    int64_t next_retry_ns;
    bool use_nowait; /* VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT accepted by the driver */

    struct lvs_cache *cache;
    size_t ncache, cache_cap;
    uint64_t gen;

    char errmsg[LVS_ERRMSG_MAX];
    struct lvs_stats st;
};

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* libvirt's default error handler prints to stderr; libraries must not print. */
static void silent_error(void *ud, virErrorPtr err) {
    (void)ud;
    (void)err;
}

static void keep_libvirt_error(struct lvs *l, const char *what) {
    const char *msg = virGetLastErrorMessage();
    snprintf(l->errmsg, sizeof(l->errmsg), "%s: %s", what, msg ? msg : "unknown libvirt error");
}

/* libvirt's RPC client writes to the daemon's socket without MSG_NOSIGNAL in places: a daemon
 * that died (restart) would kill the whole sampler with SIGPIPE. A library must not change the
 * process's signal dispositions, so SIGPIPE is blocked in this thread around libvirt calls and a
 * SIGPIPE raised meanwhile is consumed before the mask is restored. */
struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g) {
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_unblock(struct sigpipe_guard *g) {
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/*============================== Connection ============================== */

static void disconnect(struct lvs *l) {
    if (l->conn) {
        struct sigpipe_guard g;
        sigpipe_block(&g);
        virConnectClose(l->conn);
        sigpipe_unblock(&g);
        l->conn = NULL;
    }
}

/* Tries to open the connection. Returns 0 or -ECONNREFUSED (message in errmsg). */
static int try_connect(struct lvs *l) {
    struct sigpipe_guard g;
    sigpipe_block(&g);
    virConnectPtr c = l->read_write ? virConnectOpen(l->uri) : virConnectOpenReadOnly(l->uri);
    sigpipe_unblock(&g);
    if (!c) {
        keep_libvirt_error(l, l->uri);
        l->st.connect_failures++;
        l->next_retry_ns = mono_ns() + (int64_t)l->backoff_ms * 1000000;
        l->backoff_ms =
            l->backoff_ms * 2 > l->backoff_max_ms ? l->backoff_max_ms : l->backoff_ms * 2;
        virResetLastError();
        return -ECONNREFUSED;
    }
    virConnSetErrorFunc(c, NULL, silent_error);
    l->conn = c;
    l->backoff_ms = l->backoff_min_ms;
    l->next_retry_ns = 0;
    l->use_nowait = true;
    l->st.connects++;
    return 0;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

struct lvs *lvs_new(const struct lvs_options *opt, int *err) {
    struct lvs_options def = {0};
    int dummy;
    if (!err)
        err = &dummy;
    if (!opt)
        opt = &def;
    if (opt->backoff_min_ms < 0 || opt->backoff_max_ms < 0) {
        *err = -EINVAL;
        return NULL;
    }
    struct lvs *l = calloc(1, sizeof(*l));
    if (!l) {
        *err = -ENOMEM;
        return NULL;
    }
    l->uri = xstrdup(opt->uri ? opt->uri : LVS_DEFAULT_URI);
    l->run_dir = xstrdup(opt->run_dir ? opt->run_dir : LVS_DEFAULT_RUN_DIR);
    if (!l->uri || !l->run_dir) {
        lvs_free(l);
        *err = -ENOMEM;
        return NULL;
    }
    l->read_write = opt->read_write;
    l->include_inactive = opt->include_inactive;
    l->no_pid_lookup = opt->no_pid_lookup;
    l->backoff_min_ms = opt->backoff_min_ms ? opt->backoff_min_ms : 500;
    l->backoff_max_ms = opt->backoff_max_ms ? opt->backoff_max_ms : 30000;
    if (l->backoff_max_ms < l->backoff_min_ms)
        l->backoff_max_ms = l->backoff_min_ms;
    l->backoff_ms = l->backoff_min_ms;

    if (virInitialize() < 0) {
        lvs_free(l);
        *err = -EIO;
        return NULL;
    }
    virSetErrorFunc(NULL, silent_error); /* process-wide: open errors go through it */
    *err = try_connect(l);
    return l;
}

void lvs_free(struct lvs *l) {
    if (!l)
        return;
    disconnect(l);
    for (size_t i = 0; i < l->ncache; i++)
        free(l->cache[i].tids);
    free(l->cache);
    free(l->uri);
    free(l->run_dir);
    free(l);
}

bool lvs_connected(const struct lvs *l) {
    return l->conn != NULL;
}

const char *lvs_last_error(const struct lvs *l) {
    return l->errmsg;
}

void lvs_get_stats(const struct lvs *l, struct lvs_stats *out) {
    *out = l->st;
}

/*============================== Arrays ============================== */

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return -ENOMEM;
    /* New slots start zeroed so a domain struct's array pointers are NULL. */
    memset((char *)n + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = n;
    *cap = ncap;
    return 0;
}

/* Makes index idx valid in an array of count entries, zeroing newly exposed entries. */
static int ensure_index(void **arr, size_t *count, size_t *cap, size_t idx, size_t elem) {
    if (idx >= LVS_MAX_INDEX)
        return -ERANGE;
    if (idx < *count)
        return 0;
    if (grow(arr, cap, idx + 1, elem) < 0)
        return -ENOMEM;
    memset((char *)*arr + *count * elem, 0, (idx + 1 - *count) * elem);
    *count = idx + 1;
    return 0;
}

void lvs_snapshot_done(struct lvs_snapshot *s) {
    for (size_t i = 0; i < s->cap; i++) {
        free(s->dom[i].vcpu);
        free(s->dom[i].nic);
        free(s->dom[i].disk);
    }
    free(s->dom);
    memset(s, 0, sizeof(*s));
}

/*============================== Typed parameters ============================== */

static bool param_u64(const virTypedParameter *p, uint64_t *out) {
    switch (p->type) {
    case VIR_TYPED_PARAM_INT:
        if (p->value.i < 0)
            return false;
        *out = (uint64_t)p->value.i;
        return true;
    case VIR_TYPED_PARAM_UINT:
        *out = p->value.ui;
        return true;
    case VIR_TYPED_PARAM_LLONG:
        if (p->value.l < 0)
            return false;
        *out = (uint64_t)p->value.l;
        return true;
    case VIR_TYPED_PARAM_ULLONG:
        *out = p->value.ul;
        return true;
    case VIR_TYPED_PARAM_BOOLEAN:
        *out = p->value.b ? 1 : 0;
        return true;
    default:
        return false;
    }
}

static bool param_i32(const virTypedParameter *p, int32_t *out) {
    if (p->type == VIR_TYPED_PARAM_INT) {
        *out = p->value.i;
        return true;
    }
    uint64_t v;
    if (!param_u64(p, &v) || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

/* Splits "N.rest" into N and rest. */
static bool split_index(const char *s, size_t *idx, const char **rest) {
    size_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (size_t)(*p - '0');
        if (v >= LVS_MAX_INDEX)
            return false;
        p++;
    }
    if (*p != '.')
        return false;
    *idx = v;
    *rest = p + 1;
    return true;
}

static int find_key(const char *const *keys, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return i;
    return -1;
}

static const char *const balloon_keys[LVS_BAL_NFIELDS] = {
    [LVS_BAL_CURRENT] = "current",
    [LVS_BAL_MAXIMUM] = "maximum",
    [LVS_BAL_SWAP_IN] = "swap_in",
    [LVS_BAL_SWAP_OUT] = "swap_out",
    [LVS_BAL_MAJOR_FAULT] = "major_fault",
    [LVS_BAL_MINOR_FAULT] = "minor_fault",
    [LVS_BAL_UNUSED] = "unused",
    [LVS_BAL_AVAILABLE] = "available",
    [LVS_BAL_USABLE] = "usable",
    [LVS_BAL_RSS] = "rss",
    [LVS_BAL_DISK_CACHES] = "disk_caches",
    [LVS_BAL_HTLB_PGALLOC] = "hugetlb_pgalloc",
    [LVS_BAL_HTLB_PGFAIL] = "hugetlb_pgfail",
    [LVS_BAL_LAST_UPDATE] = "last-update",
};

static const char *const nic_keys[LVS_NIC_NFIELDS] = {
    [LVS_NIC_RX_BYTES] = "rx.bytes", [LVS_NIC_RX_PKTS] = "rx.pkts",   [LVS_NIC_RX_ERRS] = "rx.errs",
    [LVS_NIC_RX_DROP] = "rx.drop",   [LVS_NIC_TX_BYTES] = "tx.bytes", [LVS_NIC_TX_PKTS] = "tx.pkts",
    [LVS_NIC_TX_ERRS] = "tx.errs",   [LVS_NIC_TX_DROP] = "tx.drop",
};

static const char *const disk_keys[LVS_DISK_NFIELDS] = {
    [LVS_DISK_RD_REQS] = "rd.reqs",   [LVS_DISK_RD_BYTES] = "rd.bytes",
    [LVS_DISK_RD_TIMES] = "rd.times", [LVS_DISK_WR_REQS] = "wr.reqs",
    [LVS_DISK_WR_BYTES] = "wr.bytes", [LVS_DISK_WR_TIMES] = "wr.times",
    [LVS_DISK_FL_REQS] = "fl.reqs",   [LVS_DISK_FL_TIMES] = "fl.times",
    [LVS_DISK_ERRORS] = "errors",     [LVS_DISK_ALLOCATION] = "allocation",
    [LVS_DISK_CAPACITY] = "capacity", [LVS_DISK_PHYSICAL] = "physical",
};

static void copy_param_str(char *dst, size_t size, const virTypedParameter *p) {
    snprintf(dst, size, "%s", p->type == VIR_TYPED_PARAM_STRING && p->value.s ? p->value.s : "");
}

static int parse_vcpu(struct lvs_domain *d, const char *rest, const virTypedParameter *p) {
    uint64_t u;
    if (strcmp(rest, "current") == 0 || strcmp(rest, "maximum") == 0) {
        if (!param_u64(p, &u) || u > UINT32_MAX)
            return 0;
        if (rest[0] == 'c')
            d->vcpu_current = (uint32_t)u;
        else
            d->vcpu_maximum = (uint32_t)u;
        d->valid |= LVS_D_VCPU_COUNT;
        return 0;
    }
    size_t idx;
    const char *f;
    if (!split_index(rest, &idx, &f))
        return 0;
    uint32_t bit;
    if (strcmp(f, "time") == 0)
        bit = LVS_V_TIME;
    else if (strcmp(f, "wait") == 0)
        bit = LVS_V_WAIT;
    else if (strcmp(f, "delay") == 0)
        bit = LVS_V_DELAY;
    else if (strcmp(f, "state") == 0)
        bit = LVS_V_STATE;
    else
        return 0; /* halted, KVM binary stats (exits.sum...): not ours */
    int r = ensure_index((void **)&d->vcpu, &d->nvcpu, &d->vcpu_cap, idx, sizeof(*d->vcpu));
    if (r < 0)
        return r == -ERANGE ? 0 : r;
    struct lvs_vcpu *v = &d->vcpu[idx];
    if (bit == LVS_V_STATE) {
        if (param_i32(p, &v->state))
            v->valid |= bit;
        return 0;
    }
    if (!param_u64(p, &u))
        return 0;
    if (bit == LVS_V_TIME)
        v->time_ns = u;
    else if (bit == LVS_V_WAIT)
        v->wait_ns = u;
    else
        v->delay_ns = u;
    v->valid |= bit;
    return 0;
}

static int parse_net(struct lvs_domain *d, const char *rest, const virTypedParameter *p) {
    size_t idx;
    const char *f;
    if (!split_index(rest, &idx, &f))
        return 0; /* net.count */
    int r = ensure_index((void **)&d->nic, &d->nnic, &d->nic_cap, idx, sizeof(*d->nic));
    if (r < 0)
        return r == -ERANGE ? 0 : r;
    struct lvs_nic *n = &d->nic[idx];
    if (strcmp(f, "name") == 0) {
        copy_param_str(n->name, sizeof(n->name), p);
        return 0;
    }
    int k = find_key(nic_keys, LVS_NIC_NFIELDS, f);
    if (k >= 0 && param_u64(p, &n->v[k]))
        n->valid |= 1u << k;
    return 0;
}

static int parse_block(struct lvs_domain *d, const char *rest, const virTypedParameter *p) {
    size_t idx;
    const char *f;
    if (strcmp(rest, "count") == 0) {
        d->valid |= LVS_D_BLOCK;
        return 0;
    }
    if (!split_index(rest, &idx, &f))
        return 0;
    size_t old = d->ndisk;
    int r = ensure_index((void **)&d->disk, &d->ndisk, &d->disk_cap, idx, sizeof(*d->disk));
    if (r < 0)
        return r == -ERANGE ? 0 : r;
    for (size_t i = old; i < d->ndisk; i++)
        d->disk[i].backing_index = -1;
    struct lvs_disk *k = &d->disk[idx];
    if (strcmp(f, "name") == 0) {
        copy_param_str(k->name, sizeof(k->name), p);
        return 0;
    }
    if (strcmp(f, "path") == 0) {
        copy_param_str(k->path, sizeof(k->path), p);
        return 0;
    }
    if (strcmp(f, "backingIndex") == 0) {
        param_i32(p, &k->backing_index);
        return 0;
    }
    int key = find_key(disk_keys, LVS_DISK_NFIELDS, f);
    if (key >= 0 && param_u64(p, &k->v[key]))
        k->valid |= 1u << key;
    return 0;
}

static int parse_param(struct lvs_domain *d, const virTypedParameter *p) {
    const char *f = p->field;
    uint64_t u;
    if (strncmp(f, "state.", 6) == 0) {
        if (strcmp(f + 6, "state") == 0 && param_i32(p, &d->state))
            d->valid |= LVS_D_STATE;
        else if (strcmp(f + 6, "reason") == 0)
            param_i32(p, &d->reason);
    } else if (strncmp(f, "cpu.", 4) == 0) {
        if (!param_u64(p, &u))
            return 0;
        if (strcmp(f + 4, "time") == 0) {
            d->cpu_time_ns = u;
            d->valid |= LVS_D_CPU_TIME;
        } else if (strcmp(f + 4, "user") == 0) {
            d->cpu_user_ns = u;
            d->valid |= LVS_D_CPU_USER;
        } else if (strcmp(f + 4, "system") == 0) {
            d->cpu_system_ns = u;
            d->valid |= LVS_D_CPU_SYSTEM;
        }
    } else if (strncmp(f, "balloon.", 8) == 0) {
        int k = find_key(balloon_keys, LVS_BAL_NFIELDS, f + 8);
        if (k >= 0 && param_u64(p, &d->balloon[k]))
            d->balloon_valid |= 1u << k;
    } else if (strncmp(f, "vcpu.", 5) == 0) {
        return parse_vcpu(d, f + 5, p);
    } else if (strncmp(f, "net.", 4) == 0) {
        return parse_net(d, f + 4, p);
    } else if (strncmp(f, "block.", 6) == 0) {
        return parse_block(d, f + 6, p);
    }
    return 0;
}

/*============================== PID and vCPU TIDs ============================== */

int lvs_parse_status_xml(const char *buf, size_t len, int32_t *tids, size_t max, pid_t *qemu_pid) {
    if (qemu_pid)
        *qemu_pid = 0;
    if (len > INT32_MAX)
        return -CORE_EPARSE;
    xmlDocPtr doc = xmlReadMemory(buf, (int)len, "status.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return -CORE_EPARSE;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || xmlStrcmp(root->name, (const xmlChar *)"domstatus") != 0) {
        xmlFreeDoc(doc);
        return -CORE_EPARSE;
    }
    xmlChar *pid = xmlGetProp(root, (const xmlChar *)"pid");
    if (pid && qemu_pid)
        *qemu_pid = (pid_t)strtol((const char *)pid, NULL, 10);
    xmlFree(pid);
    int found = 0;
    /* <domstatus><vcpus><vcpu id='N' pid='TID'/></vcpus>: only the status part, not the
     * <domain> definition's own <vcpus> (which has no pid). */
    for (xmlNodePtr n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, (const xmlChar *)"vcpus") != 0)
            continue;
        for (xmlNodePtr v = n->children; v; v = v->next) {
            if (v->type != XML_ELEMENT_NODE || xmlStrcmp(v->name, (const xmlChar *)"vcpu") != 0)
                continue;
            xmlChar *id = xmlGetProp(v, (const xmlChar *)"id");
            xmlChar *tid = xmlGetProp(v, (const xmlChar *)"pid");
            if (id && tid) {
                char *e1, *e2;
                long i = strtol((const char *)id, &e1, 10);
                long t = strtol((const char *)tid, &e2, 10);
                if (*e1 == '\0' && *e2 == '\0' && i >= 0 && t > 0 && t <= INT32_MAX) {
                    if ((size_t)i < max)
                        tids[i] = (int32_t)t;
                    found++;
                }
            }
            xmlFree(id);
            xmlFree(tid);
        }
    }
    xmlFreeDoc(doc);
    return found;
}

/* Reads dir/name+suffix into a malloc'd NUL-terminated buffer (at most max bytes). */
static char *read_small(const char *dir, const char *name, const char *suffix, size_t max,
                        size_t *len) {
    char path[1024];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix) >= sizeof(path))
        return NULL;
    if (strchr(name, '/'))
        return NULL; /* never leave run_dir */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            if (cap >= max) {
                free(b);
                b = NULL;
                break;
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (b) {
        b[n] = '\0';
        *len = n;
    }
    return b;
}

static struct lvs_cache *cache_lookup(struct lvs *l, const struct lvs_domain *d) {
    for (size_t i = 0; i < l->ncache; i++) {
        struct lvs_cache *c = &l->cache[i];
        if (c->id == d->id && strcmp(c->uuid, d->uuid) == 0)
            return c;
    }
    if (grow((void **)&l->cache, &l->cache_cap, l->ncache + 1, sizeof(*l->cache)) < 0)
        return NULL;
    struct lvs_cache *c = &l->cache[l->ncache++];
    memset(c, 0, sizeof(*c));
    memcpy(c->uuid, d->uuid, sizeof(c->uuid));
    c->id = d->id;

    size_t len;
    char *b = read_small(l->run_dir, d->name, ".pid", LVS_PIDFILE_MAX, &len);
    if (b) {
        char *e;
        long v = strtol(b, &e, 10);
        if (e != b && v > 0 && v <= INT32_MAX)
            c->pid = (pid_t)v;
        free(b);
    }
    b = read_small(l->run_dir, d->name, ".xml", LVS_XML_MAX, &len);
    if (b) {
        size_t max = d->vcpu_maximum > d->nvcpu ? d->vcpu_maximum : d->nvcpu;
        if (max < 256)
            max = 256; /* the vcpu group may be missing; trimmed below */
        if (max > LVS_MAX_INDEX)
            max = LVS_MAX_INDEX;
        c->tids = calloc(max, sizeof(*c->tids));
        pid_t xpid = 0;
        if (c->tids) {
            int n = lvs_parse_status_xml(b, len, c->tids, max, &xpid);
            if (n > 0) {
                c->ntids = max;
                while (c->ntids > 0 && c->tids[c->ntids - 1] <= 0)
                    c->ntids--;
                c->tids_ok = true;
            }
            if (!c->pid && xpid > 0)
                c->pid = xpid;
        }
        free(b);
    }
    return c;
}

static void apply_cache(struct lvs *l, struct lvs_domain *d) {
    if (l->no_pid_lookup || d->id < 0)
        return;
    struct lvs_cache *c = cache_lookup(l, d);
    if (!c)
        return;
    c->seen = l->gen;
    if (c->pid > 0) {
        d->pid = c->pid;
        d->valid |= LVS_D_PID;
    }
    if (c->tids_ok) {
        for (size_t i = 0; i < c->ntids; i++) {
            if (c->tids[i] <= 0)
                continue;
            if (ensure_index((void **)&d->vcpu, &d->nvcpu, &d->vcpu_cap, i, sizeof(*d->vcpu)) < 0)
                break;
            d->vcpu[i].tid = c->tids[i];
            d->vcpu[i].valid |= LVS_V_TID;
            d->valid |= LVS_D_VCPU_TIDS;
        }
    }
}

/* Drops cache entries of domain instances not seen in this tick. */
static void cache_sweep(struct lvs *l) {
    size_t j = 0;
    for (size_t i = 0; i < l->ncache; i++) {
        if (l->cache[i].seen == l->gen)
            l->cache[j++] = l->cache[i];
        else
            free(l->cache[i].tids);
    }
    l->ncache = j;
}

/*============================== Sampling ============================== */

static void reset_domain(struct lvs_domain *d) {
    struct lvs_vcpu *vcpu = d->vcpu;
    struct lvs_nic *nic = d->nic;
    struct lvs_disk *disk = d->disk;
    size_t vcap = d->vcpu_cap, ncap = d->nic_cap, dcap = d->disk_cap;
    memset(d, 0, sizeof(*d));
    d->vcpu = vcpu;
    d->nic = nic;
    d->disk = disk;
    d->vcpu_cap = vcap;
    d->nic_cap = ncap;
    d->disk_cap = dcap;
}

/* True when the failed call means the connection is gone (daemon restarted or died). */
static bool connection_dead(struct lvs *l) {
    virErrorPtr e = virGetLastError();
    if (e && (e->domain == VIR_FROM_RPC || e->code == VIR_ERR_SYSTEM_ERROR ||
              e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_INVALID_CONN ||
              e->code == VIR_ERR_RPC))
        return true;
    return virConnectIsAlive(l->conn) != 1;
}

int lvs_groups_parse(const char *list, unsigned *out, char *bad, size_t badlen) {
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {{"state", LVS_G_STATE}, {"cpu-total", LVS_G_CPU_TOTAL}, {"balloon", LVS_G_BALLOON},
                 {"vcpu", LVS_G_VCPU},   {"interface", LVS_G_INTERFACE}, {"block", LVS_G_BLOCK},
                 {"all", LVS_G_ALL},     {"default", LVS_G_DEFAULT}};
    unsigned bits = 0;
    const char *p = list;
    if (!p || !*p)
        goto fail;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0)
                break;
        }
        if (i == sizeof(names) / sizeof(names[0])) {
            if (bad && badlen)
                snprintf(bad, badlen, "%.*s", (int)(len < 64 ? len : 64), p);
            return -EINVAL;
        }
        bits |= names[i].bits;
        if (!p[len])
            break;
        p += len + 1;
    }
    *out = bits;
    return 0;
fail:
    if (bad && badlen)
        bad[0] = '\0';
    return -EINVAL;
}

static unsigned virt_groups(unsigned g) {
    unsigned v = 0;
    v |= (g & LVS_G_STATE) ? VIR_DOMAIN_STATS_STATE : 0;
    v |= (g & LVS_G_CPU_TOTAL) ? VIR_DOMAIN_STATS_CPU_TOTAL : 0;
    v |= (g & LVS_G_BALLOON) ? VIR_DOMAIN_STATS_BALLOON : 0;
    v |= (g & LVS_G_VCPU) ? VIR_DOMAIN_STATS_VCPU : 0;
    v |= (g & LVS_G_INTERFACE) ? VIR_DOMAIN_STATS_INTERFACE : 0;
    v |= (g & LVS_G_BLOCK) ? VIR_DOMAIN_STATS_BLOCK : 0;
    return v;
}

int lvs_sample(struct lvs *l, unsigned groups_asked, struct lvs_snapshot *out) {
    out->count = 0;
    out->groups = groups_asked ? groups_asked & LVS_G_ALL : LVS_G_ALL;
    out->reconnected = false;
    out->call_ns = 0;
    out->mono_before_ns = out->mono_after_ns = mono_ns();
    if (!l->conn) {
        if (mono_ns() < l->next_retry_ns)
            return -ENOTCONN;
        int r = try_connect(l);
        if (r < 0)
            return r;
        out->reconnected = true;
    }

    const unsigned groups = virt_groups(out->groups);
    virDomainStatsRecordPtr *recs = NULL;
    int n;
    for (;;) {
        unsigned flags = l->include_inactive ? 0 : VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
        if (l->use_nowait)
            flags |= VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
        struct sigpipe_guard g;
        sigpipe_block(&g);
        out->mono_before_ns = mono_ns();
        n = virConnectGetAllDomainStats(l->conn, groups, &recs, flags);
        out->mono_after_ns = mono_ns();
        l->st.calls++;
        if (n >= 0) {
            sigpipe_unblock(&g);
            break;
        }
        virErrorPtr e = virGetLastError();
        int code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
        if (l->use_nowait && (code == VIR_ERR_INVALID_ARG || code == VIR_ERR_NO_SUPPORT ||
                              code == VIR_ERR_ARGUMENT_UNSUPPORTED)) {
            sigpipe_unblock(&g);
            l->use_nowait = false; /* an older or test driver: retry once without NOWAIT */
            virResetLastError();
            continue;
        }
        l->st.failures++;
        keep_libvirt_error(l, "virConnectGetAllDomainStats");
        bool dead = connection_dead(l); /* may reset libvirt's last error */
        if (dead) {
            disconnect(l);
            l->next_retry_ns = mono_ns() + (int64_t)l->backoff_ms * 1000000;
        }
        sigpipe_unblock(&g);
        virResetLastError();
        return l->conn ? -EIO : -ENOTCONN;
    }
    out->call_ns = out->mono_after_ns - out->mono_before_ns;

    int ret = 0;
    l->gen++;
    if (grow((void **)&out->dom, &out->cap, (size_t)n, sizeof(*out->dom)) < 0) {
        ret = -ENOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        virDomainStatsRecordPtr rec = recs[i];
        struct lvs_domain *d = &out->dom[out->count];
        reset_domain(d);
        const char *name = virDomainGetName(rec->dom); /* local: no RPC */
        snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
        if (virDomainGetUUIDString(rec->dom, d->uuid) < 0)
            d->uuid[0] = '\0';
        unsigned id = virDomainGetID(rec->dom);
        d->id = id == (unsigned)-1 ? -1 : (int32_t)id;
        for (int k = 0; k < rec->nparams; k++) {
            ret = parse_param(d, &rec->params[k]);
            if (ret < 0)
                goto done;
        }
        apply_cache(l, d);
        out->count++;
    }
    cache_sweep(l);
    ret = (int)out->count;
done:
    virDomainStatsRecordListFree(recs);
    if (ret < 0)
        out->count = 0;
    return ret;
}
