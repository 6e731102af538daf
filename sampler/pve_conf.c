/* pve_conf.c: parse the live section of a Proxmox VE VM config (see pve_conf.h).
 * SPDX-License-Identifier: MIT */
#include "pve_conf.h"

#include <string.h>

#include "core_error.h"
#include "qemu_cmdline.h"

static bool key_is(const char *k, size_t klen, const char *want) {
    return strlen(want) == klen && memcmp(k, want, klen) == 0;
}

/* A non-negative decimal of at most 12 digits; -1 when malformed. */
static int64_t parse_num(const char *p, size_t len) {
    int64_t v = 0;
    if (len == 0 || len > 12) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* A count of vCPUs, cores or sockets: 1..PVE_MAX_VCPUS, else -1 (malformed or absurd). */
static int32_t parse_count(const char *p, size_t len) {
    int64_t v = parse_num(p, len);
    return v >= 1 && v <= PVE_MAX_VCPUS ? (int32_t)v : -1;
}

/* memory: N, or the property-string form current=N (N in MiB; "current" is the default key). */
static int64_t parse_memory(const char *v, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && v[j] != ',') {
            j++;
        }
        if (j - i > 8 && memcmp(v + i, "current=", 8) == 0) {
            return parse_num(v + i + 8, j - i - 8);
        }
        if (i == 0 && memchr(v, '=', j) == NULL) {
            return parse_num(v, j);
        }
        i = j + 1;
    }
    return -1;
}

/* smbios1: uuid=...,manufacturer=... */
static void parse_smbios1(const char *v, size_t len, struct pve_conf *out) {
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && v[j] != ',') {
            j++;
        }
        if (j - i == 5 + 36 && memcmp(v + i, "uuid=", 5) == 0) {
            memcpy(out->uuid, v + i + 5, 36);
            out->uuid[36] = '\0';
            if (!qemu_uuid_valid(out->uuid)) {
                out->uuid[0] = '\0';
            }
        }
        i = j + 1;
    }
}

int pve_conf_parse(const char *buf, size_t len, struct pve_conf *out) {
    const char *p = buf, *end = buf + len;

    memset(out, 0, sizeof(*out));
    out->memory_mib = -1;
    out->cores = out->sockets = out->vcpus = -1;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line = p, *le = eol ? eol : end;
        p = eol ? eol + 1 : end;
        while (line < le && (*line == ' ' || *line == '\t')) {
            line++;
        }
        while (le > line && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t')) {
            le--;
        }
        if (line == le || *line == '#') {
            continue; /* blank line or comment (Proxmox stores the description as #lines) */
        }
        if (*line == '[') {
            break; /* snapshot or pending section: not the live config */
        }
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon || colon == line) {
            return -CORE_EPARSE;
        }
        size_t klen = (size_t)(colon - line);
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t')) {
            v++;
        }
        size_t vlen = (size_t)(le - v);
        if (key_is(line, klen, "name")) {
            size_t n = vlen < PVE_NAME_MAX - 1 ? vlen : PVE_NAME_MAX - 1;
            memcpy(out->name, v, n);
            out->name[n] = '\0';
        } else if (key_is(line, klen, "memory")) {
            out->memory_mib = parse_memory(v, vlen);
        } else if (key_is(line, klen, "cores")) {
            out->cores = parse_count(v, vlen);
        } else if (key_is(line, klen, "sockets")) {
            out->sockets = parse_count(v, vlen);
        } else if (key_is(line, klen, "vcpus")) {
            out->vcpus = parse_count(v, vlen);
        } else if (key_is(line, klen, "smbios1")) {
            parse_smbios1(v, vlen, out);
        } else if (klen > 3 && klen <= 5 && memcmp(line, "net", 3) == 0) {
            int64_t n = parse_num(line + 3, klen - 3);
            if (n >= 0 && n < 256 && out->nnets < PVE_MAX_NETS) {
                out->nets[out->nnets++] = (uint8_t)n;
            }
        }
    }
    return 0;
}

int32_t pve_conf_vcpus(const struct pve_conf *c) {
    int64_t cores = c->cores > 0 ? c->cores : 1, sockets = c->sockets > 0 ? c->sockets : 1;
    if (c->vcpus > 0) {
        return c->vcpus;
    }
    /* each is at most PVE_MAX_VCPUS: the product fits, and too many is no answer */
    return cores * sockets <= PVE_MAX_VCPUS ? (int32_t)(cores * sockets) : -1;
}
