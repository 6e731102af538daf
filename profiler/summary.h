/* summary.h: a readable text summary of a profile: per metric the states with their edges,
 * occupancy, stationary distribution and expected dwell time, and the most frequent changes.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_SUMMARY_H
#define PROFILER_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "profile.h"

/* Prints the summary of p to f. interval_s (> 0) is the sampling interval in seconds, used to
 * express dwell times as durations; <= 0 prints them in steps. */
void summary_print(FILE *f, const struct profile *p, int64_t interval_s);

#endif
