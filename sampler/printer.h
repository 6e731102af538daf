/* printer.h: the sampler's stdout printers (text, JSON Lines), in the seeds' spirit.
 *
 * Display values are derived from the sampler's last two ticks with the shared rate function
 * (formats/rate.h): CPU in % of one core (100 = one core busy), bytes per second, and so on.
 * A value that cannot be derived (first tick, missing source, counter reset) is null in JSON
 * and "-" in text, never 0.
 * SPDX-License-Identifier: MIT */
#ifndef SAMPLER_PRINTER_H
#define SAMPLER_PRINTER_H

#include <stdio.h>

struct sampler;

enum printer_kind {
    PRINTER_NONE = 0,
    PRINTER_TEXT,
    PRINTER_JSON,
};

/* Prints the last tick of s to out. The text printer writes its header line on the first call
 * (state kept in *header_done). Returns 0 or -errno when writing failed. */
int printer_print(enum printer_kind kind, struct sampler *s, FILE *out, int *header_done);

#endif
