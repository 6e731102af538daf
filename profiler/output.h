/* output.h: where proxprofiler writes its records (-o stdout|file|tcp|udp, --target), and the
 * msgpack form of a profile.
 *
 * A record is one profile (JSON text with its newline, or one msgpack map). stdout appends;
 * file writes every emission to a temporary file renamed over the target (readers never see a
 * half-written file; in --follow mode the file always holds the latest emission); tcp connects
 * once and streams the records; udp sends one record per datagram, and a record that does not
 * fit in a datagram is an error, never a silent truncation. Only numeric HOST:PORT targets.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_OUTPUT_H
#define PROFILER_OUTPUT_H

#include <stddef.h>

#include <jansson.h>

#define OUTPUT_UDP_MAX 65507

struct output;

/* Opens an output of kind "stdout", "file", "tcp" or "udp" with its target (path or
 * HOST:PORT). Returns 0, -CORE_ERANGE for a bad kind/target (usage error, err set) or a negative
 * errno (err set). */
int output_open(struct output **out, const char *kind, const char *target, char *err,
                size_t errlen);

/* Starts one emission (file: opens the temporary file). */
int output_begin(struct output *o, char *err, size_t errlen);
/* Writes one record. */
int output_record(struct output *o, const void *buf, size_t len, char *err, size_t errlen);
/* Ends one emission (file: fsync and rename). */
int output_end(struct output *o, char *err, size_t errlen);
void output_close(struct output *o);

/* Packs a JSON value as msgpack (objects as maps with their keys in order, integers as ints,
 * reals as float64). *buf is malloc'd. Returns 0 or -ENOMEM. */
int json_to_msgpack(const json_t *j, char **buf, size_t *len);
/* Decodes the msgpack object at *off into JSON and advances *off past it. Returns 0 or
 * -CORE_EPARSE. */
int msgpack_to_json(const char *buf, size_t len, size_t *off, json_t **out);

#endif
