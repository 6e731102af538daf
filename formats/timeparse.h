/* timeparse.h: parsing and printing of times and durations for every command line.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_TIMEPARSE_H
#define FORMATS_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration: a number with an optional unit ns, us, ms, s, m (or min), h, d, w; a bare
 * number means seconds ("60" = 60 s); fractions allowed ("1.5h"); several parts add up
 * ("1h30m"). Returns 0 and sets *ns, or -CORE_EPARSE (also for negative or zero-length input). */
int time_parse_duration(const char *s, int64_t *ns);

/* Parses a point in time, relative to now_ns where relative: "now", "2h ago", "-2h", "today",
 * "yesterday", "@1763700000" (epoch seconds, fractions allowed), a bare epoch of 10+ digits,
 * "2026-11-21", "2026-11-21 10:00", "2026-11-21T10:00:05Z", "2026-11-21T10:00:05.250+01:00",
 * "10:00" (today, UTC). Times without a zone are UTC. Returns 0 or -CORE_EPARSE. */
int time_parse_point(const char *s, int64_t now_ns, int64_t *ns);

/* Formats ns since the epoch as "2026-11-21T10:00:05.250Z" (milliseconds, UTC). */
void time_format_iso(int64_t ns, char *buf, size_t n);

/* Current realtime in ns. */
int64_t time_now_ns(void);

#endif
