/* cli.h: the error conventions every proxtop program follows (overview.md "Programs").
 *
 * Bad usage: one line on stderr naming the bad argument, then exit status 2.
 * Runtime failure: one line on stderr, exit status 1. Lines start with the program's name.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_CLI_H
#define FORMATS_CLI_H

#include "attrs.h"

#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE   2

/* Sets the name that prefixes every message (borrowed; a string literal). */
void cli_set_program(const char *name);
const char *cli_program(void);

/* Prints "PROG: MESSAGE (see 'PROG --help')" and exits 2. */
ATTR_NORETURN ATTR_FORMAT(printf, 1, 2) void cli_usage_error(const char *fmt, ...);
/* Prints "PROG: MESSAGE" and exits 1. */
ATTR_NORETURN ATTR_FORMAT(printf, 1, 2) void cli_fail(const char *fmt, ...);
/* Prints "PROG: warning: MESSAGE" and returns. */
ATTR_FORMAT(printf, 1, 2) void cli_warn(const char *fmt, ...);

#endif
