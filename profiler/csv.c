/* csv.c: buffered line cursor and the slow path of the number parser.
 * SPDX-License-Identifier: MIT */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CSV_BLOCK (1u << 20)

struct csv_file {
    int fd;
    int eof;
    char *buf;
    size_t cap;   /* allocated bytes (one more is kept for the sentinel) */
    size_t start; /* first unread byte */
    size_t end;   /* bytes filled */
    uint64_t lineno;
    uint64_t bytes;
};

int csv_open(struct csv_file **out, const char *path) {
    *out = NULL;
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct csv_file *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    f->fd = fd;
    f->cap = CSV_BLOCK;
    f->buf = malloc(f->cap + 1);
    if (!f->buf) {
        close(fd);
        free(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void csv_close(struct csv_file *f) {
    if (!f) {
        return;
    }
    close(f->fd);
    free(f->buf);
    free(f);
}

/* Moves the unread tail to the front, grows when a line fills the buffer, and reads more.
 * Returns bytes read (0 at the end) or a negative errno. */
static ssize_t refill(struct csv_file *f) {
    if (f->start > 0) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    if (f->end == f->cap) {
        char *nb = realloc(f->buf, f->cap * 2 + 1);
        if (!nb) {
            return -ENOMEM;
        }
        f->buf = nb;
        f->cap *= 2;
    }
    for (;;) {
        ssize_t n = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        f->end += (size_t)n;
        f->bytes += (uint64_t)n;
        f->buf[f->end] = '\0';
        return n;
    }
}

int csv_next_line(struct csv_file *f, const char **line, size_t *len) {
    for (;;) {
        char *s = f->buf + f->start;
        char *nl = f->start < f->end ? memchr(s, '\n', f->end - f->start) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - s);
            f->start += n + 1;
            if (n > 0 && s[n - 1] == '\r') {
                n--;
            }
            *line = s;
            *len = n;
            f->lineno++;
            return 1;
        }
        if (f->eof) {
            if (f->start >= f->end) {
                return 0;
            }
            size_t n = f->end - f->start;
            f->start = f->end;
            f->buf[f->end] = '\0';
            if (n > 0 && s[n - 1] == '\r') {
                n--;
            }
            *line = s;
            *len = n;
            f->lineno++;
            return 1;
        }
        ssize_t r = refill(f);
        if (r < 0) {
            return (int)r;
        }
        if (r == 0) {
            f->eof = 1;
        }
    }
}

uint64_t csv_lineno(const struct csv_file *f) {
    return f->lineno;
}

uint64_t csv_bytes(const struct csv_file *f) {
    return f->bytes;
}

const char *csv_num_slow(const char *p, const char *end, double *out) {
    char tmp[128];
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    size_t n = (size_t)(end - p);
    if (n == 0) {
        return NULL;
    }
    if (n >= sizeof tmp) {
        n = sizeof tmp - 1;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *e;
    double v = strtod(tmp, &e);
    if (e == tmp) {
        return NULL;
    }
    *out = v;
    return p + (e - tmp);
}
