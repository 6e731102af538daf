/* cli.c: see cli.h.
 * SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *program = "proxtop";

void cli_set_program(const char *name) {
    program = name;
}

const char *cli_program(void) {
    return program;
}

ATTR_FORMAT(printf, 2, 0)
static void vline(const char *prefix, const char *fmt, va_list ap, const char *suffix) {
    fprintf(stderr, "%s: %s", program, prefix);
    vfprintf(stderr, fmt, ap);
    fputs(suffix, stderr);
}

void cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap, "");
    va_end(ap);
    fprintf(stderr, " (see '%s --help')\n", program);
    exit(CLI_EXIT_USAGE);
}

void cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap, "\n");
    va_end(ap);
    exit(CLI_EXIT_RUNTIME);
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("warning: ", fmt, ap, "\n");
    va_end(ap);
}
