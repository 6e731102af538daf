/* testutil.h: helpers shared by proxtop's cmocka tests (temporary directories, files).
 * SPDX-License-Identifier: MIT */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(const char *tag);
/* Removes a directory tree (only what the tests created). */
void tu_rmtree(const char *path);
/* Reads a whole file; returns malloc'd bytes and sets *len, or NULL. */
unsigned char *tu_read_file(const char *path, size_t *len);
/* Writes bytes to a file (0644), replacing it. Returns 0 or -errno. */
int tu_write_file(const char *path, const void *data, size_t len);
/* snprintf into a malloc'd string. */
char *tu_path(const char *dir, const char *name);

/* The outcome of tu_run_cmd: exit status (-1 when not a normal exit) and the captured output,
 * NUL-terminated (never NULL). */
struct tu_cmd {
    int status;
    char *out, *err;
    size_t outlen, errlen;
};
/* Runs cmdline through /bin/sh with stdout and stderr captured through files in dir (stdin is
 * the caller's unless cmdline redirects it). Free with tu_cmd_free. */
struct tu_cmd tu_run_cmd(const char *dir, const char *cmdline);
void tu_cmd_free(struct tu_cmd *c);

#endif
