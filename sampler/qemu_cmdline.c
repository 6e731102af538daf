/* qemu_cmdline.c: parse a QEMU command line (see qemu_cmdline.h).
 *
 * QEMU option values are comma-separated key=value lists in which ",," stands for a literal
 * comma, and the first item may be an implied key (-name X,... means -name guest=X,...).
 * SPDX-License-Identifier: MIT */
#include "qemu_cmdline.h"

#include <limits.h>
#include <string.h>

#include "core_error.h"

struct arg {
    const char *p;
    size_t len;
};

/* Next NUL-separated argument; false at the end of the buffer. */
static bool next_arg(const char **cur, const char *end, struct arg *a) {
    const char *nul;

    if (*cur >= end) {
        return false;
    }
    nul = memchr(*cur, '\0', (size_t)(end - *cur));
    a->p = *cur;
    a->len = nul ? (size_t)(nul - *cur) : (size_t)(end - *cur);
    *cur = nul ? nul + 1 : end;
    return true;
}

static bool arg_is(const struct arg *a, const char *opt) {
    size_t n = strlen(opt);
    /* QEMU accepts both -opt and --opt. */
    if (a->len == n + 1 && a->p[0] == '-' && memcmp(a->p + 1, opt, n) == 0) {
        return true;
    }
    return a->len == n + 2 && a->p[0] == '-' && a->p[1] == '-' && memcmp(a->p + 2, opt, n) == 0;
}

/* Copies len bytes, truncating to cap - 1; sets *trunc when cut. */
static void copy_value(char *dst, size_t cap, const char *src, size_t len, bool *trunc) {
    if (len >= cap) {
        len = cap - 1;
        *trunc = true;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* One item of a QEMU option list: [p, p+len) with ",," still escaped. Advances *pos. */
static bool next_item(const struct arg *a, size_t *pos, struct arg *item) {
    size_t i = *pos;

    if (i > a->len || (i == a->len && i != 0)) {
        return false;
    }
    item->p = a->p + i;
    while (i < a->len) {
        if (a->p[i] == ',') {
            if (i + 1 < a->len && a->p[i + 1] == ',') {
                i += 2;
                continue;
            }
            break;
        }
        i++;
    }
    item->len = (size_t)(a->p + i - item->p);
    *pos = i + 1;
    if (i == a->len) {
        *pos = a->len + 1; /* no more items after the last one */
    }
    return true;
}

/* Copies an item's value, turning ",," into ",". */
static void copy_unescaped(char *dst, size_t cap, const char *src, size_t len, bool *trunc) {
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (src[i] == ',' && i + 1 < len && src[i + 1] == ',') {
            i++;
        }
        if (o + 1 >= cap) {
            *trunc = true;
            break;
        }
        dst[o++] = src[i];
    }
    dst[o] = '\0';
}

/* If item is "key=value", points val at the value and returns true. */
static bool item_key(const struct arg *item, const char *key, struct arg *val) {
    size_t n = strlen(key);
    if (item->len < n + 1 || memcmp(item->p, key, n) != 0 || item->p[n] != '=') {
        return false;
    }
    val->p = item->p + n + 1;
    val->len = item->len - n - 1;
    return true;
}

static bool has_eq(const struct arg *item) {
    return memchr(item->p, '=', item->len) != NULL;
}

static bool is_on(const struct arg *v) {
    return (v->len == 2 && memcmp(v->p, "on", 2) == 0) ||
           (v->len == 3 && memcmp(v->p, "yes", 3) == 0) ||
           (v->len == 4 && memcmp(v->p, "true", 4) == 0);
}

static void parse_name(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;
    bool first = true;

    while (next_item(a, &pos, &item)) {
        if (item_key(&item, "guest", &v) || (first && !has_eq(&item))) {
            if (!item_key(&item, "guest", &v)) {
                v = item;
            }
            copy_unescaped(out->name, sizeof(out->name), v.p, v.len, &out->truncated);
            out->has_name = true;
        } else if (item_key(&item, "debug-threads", &v)) {
            out->debug_threads = is_on(&v);
        }
        first = false;
    }
}

static void set_uuid(struct qemu_cmdline *out, const char *p, size_t len) {
    if (len != QEMU_UUID_LEN) {
        return;
    }
    memcpy(out->uuid, p, len);
    out->uuid[len] = '\0';
    out->has_uuid = qemu_uuid_valid(out->uuid);
    if (!out->has_uuid) {
        out->uuid[0] = '\0';
    }
}

static void add_ifname(struct qemu_cmdline *out, const struct arg *v) {
    if (out->nifnames >= QEMU_MAX_IFNAMES) {
        out->truncated = true;
        return;
    }
    copy_unescaped(out->ifnames[out->nifnames], QEMU_IFNAME_MAX, v->p, v->len, &out->truncated);
    out->nifnames++;
}

static void add_qmp(struct qemu_cmdline *out, const char *p, size_t len) {
    if (out->nqmp >= QEMU_MAX_QMP) {
        out->truncated = true;
        return;
    }
    copy_unescaped(out->qmp[out->nqmp], QEMU_PATH_MAX, p, len, &out->truncated);
    out->nqmp++;
}

/* -netdev tap,id=..,ifname=X / -net tap,ifname=X / -nic tap,ifname=X */
static void parse_netdev(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;

    while (next_item(a, &pos, &item)) {
        if (item_key(&item, "ifname", &v)) {
            add_ifname(out, &v);
        }
    }
}

/* -qmp unix:PATH[,server=on,...]; -chardev socket,id=..,path=PATH (only a QMP socket if a -mon
 * uses it; Proxmox and libvirt name it "qmp"/"charmonitor", so all socket chardevs with a path
 * are recorded and the caller tries them). */
static void parse_qmp(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item;
    size_t pos = 0;

    if (next_item(a, &pos, &item) && item.len > 5 && memcmp(item.p, "unix:", 5) == 0) {
        add_qmp(out, item.p + 5, item.len - 5);
    }
}

static void parse_chardev(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;
    bool socket = false;

    while (next_item(a, &pos, &item)) {
        if ((item.len == 6 && memcmp(item.p, "socket", 6) == 0) ||
            (item_key(&item, "backend", &v) && v.len == 6 && memcmp(v.p, "socket", 6) == 0)) {
            socket = true;
        } else if (socket && item_key(&item, "path", &v)) {
            add_qmp(out, v.p, v.len);
        }
    }
}

static void parse_smbios(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;
    bool type1 = false;

    while (next_item(a, &pos, &item)) {
        if (item_key(&item, "type", &v)) {
            type1 = v.len == 1 && v.p[0] == '1';
        } else if (type1 && !out->has_uuid && item_key(&item, "uuid", &v)) {
            set_uuid(out, v.p, v.len);
        }
    }
}

/* A size with an optional suffix; QEMU's -m default unit is MiB. Returns -1 when malformed. */
static long long parse_size(const char *p, size_t len, long long unit) {
    long long v = 0;
    size_t i = 0;

    if (len == 0) {
        return -1;
    }
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (1LL << 50)) {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    if (i == 0) {
        return -1;
    }
    if (i < len) {
        switch (p[i]) {
        case 'k':
        case 'K':
            unit = 1LL << 10;
            break;
        case 'm':
        case 'M':
            unit = 1LL << 20;
            break;
        case 'g':
        case 'G':
            unit = 1LL << 30;
            break;
        case 't':
        case 'T':
            unit = 1LL << 40;
            break;
        case 'b':
        case 'B':
            unit = 1;
            break;
        default:
            return -1;
        }
    }
    if (v > LLONG_MAX / unit)
        return -1; /* a size no machine has: treat as unparsable, never overflow */
    return v * unit;
}

/* -m 128 / -m 1G / -m size=128M,slots=..,maxmem=.. */
static void parse_mem(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;
    bool first = true;

    while (next_item(a, &pos, &item)) {
        if (item_key(&item, "size", &v) || (first && !has_eq(&item))) {
            if (!item_key(&item, "size", &v)) {
                v = item;
            }
            out->mem_bytes = parse_size(v.p, v.len, 1LL << 20);
        }
        first = false;
    }
}

/* -smp 2 / -smp 2,sockets=1,cores=2 / -smp cpus=2 */
static void parse_smp(const struct arg *a, struct qemu_cmdline *out) {
    struct arg item, v;
    size_t pos = 0;
    bool first = true;

    while (next_item(a, &pos, &item)) {
        if (item_key(&item, "cpus", &v) || (first && !has_eq(&item))) {
            if (!item_key(&item, "cpus", &v)) {
                v = item;
            }
            long long n = parse_size(v.p, v.len, 1);
            out->smp =
                (n > 0 && n < 100000 && v.len > 0 && v.p[v.len - 1] >= '0' && v.p[v.len - 1] <= '9')
                    ? (int)n
                    : -1;
        }
        first = false;
    }
}

static bool basename_is_qemu(const struct arg *a) {
    const char *b = a->p;
    size_t n;

    for (size_t i = 0; i < a->len; i++) {
        if (a->p[i] == '/') {
            b = a->p + i + 1;
        }
    }
    n = (size_t)(a->p + a->len - b);
    return (n > 12 && memcmp(b, "qemu-system-", 12) == 0) || (n == 3 && memcmp(b, "kvm", 3) == 0);
}

int qemu_cmdline_parse(const char *buf, size_t len, struct qemu_cmdline *out) {
    const char *cur = buf, *end = buf + len;
    struct arg a, v;

    memset(out, 0, sizeof(*out));
    out->mem_bytes = -1;
    out->smp = -1;
    if (!next_arg(&cur, end, &a) || a.len == 0) {
        return -CORE_EPARSE;
    }
    out->is_qemu = basename_is_qemu(&a);
    while (next_arg(&cur, end, &a)) {
        enum { NONE, NAME, UUID, PIDFILE, NETDEV, QMP, CHARDEV, SMBIOS, MEM, SMP } what = NONE;
        if (arg_is(&a, "name")) {
            what = NAME;
        } else if (arg_is(&a, "uuid")) {
            what = UUID;
        } else if (arg_is(&a, "pidfile")) {
            what = PIDFILE;
        } else if (arg_is(&a, "netdev") || arg_is(&a, "net") || arg_is(&a, "nic")) {
            what = NETDEV;
        } else if (arg_is(&a, "qmp")) {
            what = QMP;
        } else if (arg_is(&a, "chardev")) {
            what = CHARDEV;
        } else if (arg_is(&a, "smbios")) {
            what = SMBIOS;
        } else if (arg_is(&a, "m")) {
            what = MEM;
        } else if (arg_is(&a, "smp")) {
            what = SMP;
        }
        if (what == NONE) {
            continue;
        }
        if (!next_arg(&cur, end, &v)) {
            return -CORE_EPARSE;
        }
        switch (what) {
        case NAME:
            parse_name(&v, out);
            break;
        case UUID:
            set_uuid(out, v.p, v.len);
            break;
        case PIDFILE:
            copy_value(out->pidfile, sizeof(out->pidfile), v.p, v.len, &out->truncated);
            out->has_pidfile = true;
            break;
        case NETDEV:
            parse_netdev(&v, out);
            break;
        case QMP:
            parse_qmp(&v, out);
            break;
        case CHARDEV:
            parse_chardev(&v, out);
            break;
        case SMBIOS:
            parse_smbios(&v, out);
            break;
        case MEM:
            parse_mem(&v, out);
            break;
        case SMP:
            parse_smp(&v, out);
            break;
        case NONE:
            break;
        }
    }
    return 0;
}

bool qemu_uuid_valid(const char *uuid) {
    for (int i = 0; i < QEMU_UUID_LEN; i++) {
        char ch = uuid[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-'
                 : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                     (ch >= 'A' && ch <= 'F'))) {
            return false;
        }
    }
    return uuid[QEMU_UUID_LEN] == '\0';
}
