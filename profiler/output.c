/* output.c: record sinks and the msgpack profile form.
 * SPDX-License-Identifier: MIT */
#include "output.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpack.h>

#include "core_error.h"

enum okind { O_STDOUT, O_FILE, O_TCP, O_UDP };

struct output {
    enum okind kind;
    int fd;
    char *path;
    char *tmp;
};

static int parse_hostport(const char *t, struct sockaddr_in *sa) {
    const char *c = t ? strrchr(t, ':') : NULL;
    if (!c) {
        return -1;
    }
    char host[64];
    size_t hl = (size_t)(c - t);
    if (hl == 0 || hl >= sizeof host) {
        return -1;
    }
    memcpy(host, t, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    char *e;
    long port = strtol(c + 1, &e, 10);
    if (*e || port <= 0 || port > 65535) {
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int output_open(struct output **out, const char *kind, const char *target, char *err,
                size_t errlen) {
    *out = NULL;
    struct output *o = calloc(1, sizeof *o);
    if (!o) {
        return -ENOMEM;
    }
    o->fd = -1;
    if (!kind || strcmp(kind, "stdout") == 0) {
        o->kind = O_STDOUT;
        o->fd = 1;
    } else if (strcmp(kind, "file") == 0) {
        o->kind = O_FILE;
        if (!target || !*target) {
            snprintf(err, errlen, "-o file: needs --target PATH");
            free(o);
            return -CORE_ERANGE;
        }
        o->path = strdup(target);
        size_t n = strlen(target) + 16;
        o->tmp = malloc(n);
        if (!o->path || !o->tmp) {
            free(o->path);
            free(o->tmp);
            free(o);
            return -ENOMEM;
        }
        snprintf(o->tmp, n, "%s.tmp%d", target, (int)getpid());
    } else if (strcmp(kind, "tcp") == 0 || strcmp(kind, "udp") == 0) {
        struct sockaddr_in sa;
        o->kind = kind[0] == 't' ? O_TCP : O_UDP;
        if (parse_hostport(target, &sa) < 0) {
            snprintf(err, errlen, "--target: '%s' is not IPv4:PORT", target ? target : "");
            free(o);
            return -CORE_ERANGE;
        }
        o->fd = socket(AF_INET, (o->kind == O_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (o->fd < 0 || connect(o->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            int e = errno;
            snprintf(err, errlen, "%s %s: %s", kind, target, strerror(e));
            if (o->fd >= 0) {
                close(o->fd);
            }
            free(o);
            return -e;
        }
    } else {
        snprintf(err, errlen, "-o: unknown output '%s' (stdout, file, tcp or udp)", kind);
        free(o);
        return -CORE_ERANGE;
    }
    *out = o;
    return 0;
}

int output_begin(struct output *o, char *err, size_t errlen) {
    if (o->kind != O_FILE) {
        return 0;
    }
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", o->tmp, strerror(e));
        return -e;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int output_record(struct output *o, const void *buf, size_t len, char *err, size_t errlen) {
    if (o->kind == O_UDP) {
        if (len > OUTPUT_UDP_MAX) {
            snprintf(err, errlen,
                     "udp: a record of %zu bytes does not fit in one datagram (at most %d); "
                     "use tcp or file, or fewer metrics/states",
                     len, OUTPUT_UDP_MAX);
            return -CORE_ERANGE;
        }
        if (send(o->fd, buf, len, 0) < 0) {
            int e = errno;
            snprintf(err, errlen, "udp: %s", strerror(e));
            return -e;
        }
        return 0;
    }
    int rc = write_all(o->fd, buf, len);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", o->kind == O_FILE ? o->tmp : "output", strerror(-rc));
    }
    return rc;
}

int output_end(struct output *o, char *err, size_t errlen) {
    if (o->kind != O_FILE || o->fd < 0) {
        return 0;
    }
    int rc = 0;
    if (fsync(o->fd) < 0 || close(o->fd) < 0) {
        rc = -errno;
    }
    o->fd = -1;
    if (rc == 0 && rename(o->tmp, o->path) < 0) {
        rc = -errno;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", o->path, strerror(-rc));
        unlink(o->tmp);
    }
    return rc;
}

void output_close(struct output *o) {
    if (!o) {
        return;
    }
    if (o->kind == O_FILE && o->fd >= 0) {
        close(o->fd);
        unlink(o->tmp);
    } else if (o->kind == O_TCP || o->kind == O_UDP) {
        close(o->fd);
    }
    free(o->path);
    free(o->tmp);
    free(o);
}

/* ---- msgpack ---------------------------------------------------------------------------- */

static int pack(msgpack_packer *pk, const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)j, k, v) {
            size_t kl = strlen(k);
            msgpack_pack_str(pk, kl);
            msgpack_pack_str_body(pk, k, kl);
            pack(pk, v);
        }
        return 0;
    }
    case JSON_ARRAY: {
        msgpack_pack_array(pk, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++) {
            pack(pk, json_array_get(j, i));
        }
        return 0;
    }
    case JSON_STRING: {
        size_t l = json_string_length(j);
        msgpack_pack_str(pk, l);
        msgpack_pack_str_body(pk, json_string_value(j), l);
        return 0;
    }
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(j));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(j));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    default:
        return msgpack_pack_nil(pk);
    }
}

int json_to_msgpack(const json_t *j, char **buf, size_t *len) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack(&pk, j);
    *buf = sb.data;
    *len = sb.size;
    return sb.data ? 0 : -ENOMEM;
}

static json_t *unpack(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_t *v = unpack(&o->via.array.ptr[i]);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR) {
                json_decref(m);
                return NULL;
            }
            char key[256];
            uint32_t kl = kv->key.via.str.size < 255 ? kv->key.via.str.size : 255;
            memcpy(key, kv->key.via.str.ptr, kl);
            key[kl] = '\0';
            json_t *v = unpack(&kv->val);
            if (!v) {
                json_decref(m);
                return NULL;
            }
            json_object_set_new(m, key, v);
        }
        return m;
    }
    default:
        return NULL;
    }
}

int msgpack_to_json(const char *buf, size_t len, size_t *off, json_t **out) {
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    *out = NULL;
    if (msgpack_unpack_next(&u, buf, len, off) == MSGPACK_UNPACK_SUCCESS) {
        *out = unpack(&u.data);
    }
    msgpack_unpacked_destroy(&u);
    return *out ? 0 : -CORE_EPARSE;
}
