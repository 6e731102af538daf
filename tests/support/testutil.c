/* testutil.c: see testutil.h.
 * SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_mkdtemp(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/proxtop-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

void tu_rmtree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *c = tu_path(path, de->d_name);
        struct stat st;
        if (lstat(c, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmtree(c);
        else
            unlink(c);
        free(c);
    }
    closedir(d);
    rmdir(path);
}

unsigned char *tu_read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    fstat(fd, &st);
    unsigned char *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, b + got, (size_t)st.st_size - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    *len = got;
    return b;
}

int tu_write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -errno;
    const char *p = data;
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        p += k;
        len -= (size_t)k;
    }
    close(fd);
    return 0;
}

char *tu_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *read_text(const char *path, size_t *len) {
    char *b = (char *)tu_read_file(path, len);
    if (!b) {
        *len = 0;
        b = calloc(1, 1);
    } else {
        b[*len] = '\0'; /* tu_read_file leaves room for it */
    }
    return b;
}

struct tu_cmd tu_run_cmd(const char *dir, const char *cmdline) {
    char *o = tu_path(dir, "cmd.stdout"), *e = tu_path(dir, "cmd.stderr");
    size_t n = strlen(cmdline) + strlen(o) + strlen(e) + 32;
    char *full = malloc(n);
    snprintf(full, n, "%s > '%s' 2> '%s'", cmdline, o, e);
    int st = system(full);
    struct tu_cmd c = {.status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1};
    c.out = read_text(o, &c.outlen);
    c.err = read_text(e, &c.errlen);
    unlink(o);
    unlink(e);
    free(full);
    free(o);
    free(e);
    return c;
}

void tu_cmd_free(struct tu_cmd *c) {
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}
