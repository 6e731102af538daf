/* mpcursor.h: a bounds-checked, allocation-free msgpack reader over a byte range.
 *
 * Every function returns 0 on success and -1 when the next object is not of the asked type or
 * would run past the end; on failure the cursor does not move. Strings are returned as pointers
 * into the buffer (not NUL-terminated). Used for every journal record; safe on any input.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_MPCURSOR_H
#define FORMATS_MPCURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpcursor {
    const unsigned char *p;
    const unsigned char *end;
};

static inline void mpc_init(struct mpcursor *c, const void *buf, size_t len) {
    c->p = buf;
    c->end = c->p + len;
}

static inline bool mpc_done(const struct mpcursor *c) {
    return c->p >= c->end;
}

int mpc_array(struct mpcursor *c, uint32_t *n);
int mpc_map(struct mpcursor *c, uint32_t *n);
/* Reads any msgpack integer as 64 bits two's complement (negative ints sign-extended). */
int mpc_int(struct mpcursor *c, uint64_t *bits);
/* Reads a float32/float64, or an integer converted to double. */
int mpc_double(struct mpcursor *c, double *d);
int mpc_str(struct mpcursor *c, const char **s, uint32_t *len);
int mpc_bool(struct mpcursor *c, bool *b);
/* Consumes a nil; returns -1 (cursor unmoved) when the next object is not nil. */
int mpc_nil(struct mpcursor *c);
bool mpc_is_nil(const struct mpcursor *c);
/* Skips one complete object of any type (nesting limited to 32 levels). */
int mpc_skip(struct mpcursor *c);
/* Compares a string object with a C string; consumes it on match only. */
bool mpc_str_eq(struct mpcursor *c, const char *s);

#endif
