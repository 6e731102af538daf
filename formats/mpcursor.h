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
#include <string.h>

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

/* Reads any msgpack integer as 64 bits two's complement (negative ints sign-extended). */
/* Reads a float32/float64, or an integer converted to double. */
int mpc_str(struct mpcursor *c, const char **s, uint32_t *len);
int mpc_bool(struct mpcursor *c, bool *b);
/* Consumes a nil; returns -1 (cursor unmoved) when the next object is not nil. */
/* Skips one complete object of any type (nesting limited to 32 levels). */
int mpc_skip(struct mpcursor *c);
/* Compares a string object with a C string; consumes it on match only. */
bool mpc_str_eq(struct mpcursor *c, const char *s);

/* Hot-path readers, inline: they run once per stored value. */

static inline uint64_t mpc__be(const unsigned char *p, int n) {
    /* msgpack is big-endian; fixed-width loads beat a byte loop on the hot path. */
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    switch (n) {
    case 1:
        return p[0];
    case 2:
        memcpy(&v16, p, 2);
        return __builtin_bswap16(v16);
    case 4:
        memcpy(&v32, p, 4);
        return __builtin_bswap32(v32);
    default:
        memcpy(&v64, p, 8);
        return __builtin_bswap64(v64);
    }
}

static inline size_t mpc__left(const struct mpcursor *c) {
    return (size_t)(c->end - c->p);
}

/* Reads a container or string header: fix range, then 8/16/32-bit length forms. */
static inline int mpc__len(struct mpcursor *c, unsigned fixbase, unsigned fixmask, unsigned fixmax,
                           int b8, int b16, int b32, uint32_t *n) {
    if (!mpc__left(c))
        return -1;
    unsigned t = c->p[0];
    if ((t & ~fixmask) == fixbase && (t & fixmask) <= fixmax) {
        *n = t & fixmask;
        c->p += 1;
        return 0;
    }
    int w = (b8 >= 0 && (int)t == b8) ? 1 : (int)t == b16 ? 2 : (int)t == b32 ? 4 : 0;
    if (!w || mpc__left(c) < (size_t)(1 + w))
        return -1;
    *n = (uint32_t)mpc__be(c->p + 1, w);
    c->p += 1 + w;
    return 0;
}

static inline int mpc_array(struct mpcursor *c, uint32_t *n) {
    return mpc__len(c, 0x90, 0x0f, 0x0f, -1, 0xdc, 0xdd, n);
}

static inline int mpc_map(struct mpcursor *c, uint32_t *n) {
    return mpc__len(c, 0x80, 0x0f, 0x0f, -1, 0xde, 0xdf, n);
}

static inline int mpc_int(struct mpcursor *c, uint64_t *bits) {
    if (!mpc__left(c))
        return -1;
    unsigned t = c->p[0];
    if (t <= 0x7f) {
        *bits = t;
        c->p++;
        return 0;
    }
    if (t >= 0xe0) {
        *bits = (uint64_t)(int64_t)(int8_t)t;
        c->p++;
        return 0;
    }
    int w;
    bool sign;
    switch (t) {
    case 0xcc:
        w = 1;
        sign = false;
        break;
    case 0xcd:
        w = 2;
        sign = false;
        break;
    case 0xce:
        w = 4;
        sign = false;
        break;
    case 0xcf:
        w = 8;
        sign = false;
        break;
    case 0xd0:
        w = 1;
        sign = true;
        break;
    case 0xd1:
        w = 2;
        sign = true;
        break;
    case 0xd2:
        w = 4;
        sign = true;
        break;
    case 0xd3:
        w = 8;
        sign = true;
        break;
    default:
        return -1;
    }
    if (mpc__left(c) < (size_t)(1 + w))
        return -1;
    uint64_t v = mpc__be(c->p + 1, w);
    if (sign && w < 8 && (v >> (8 * w - 1)))
        v |= ~0ull << (8 * w); /* sign-extend */
    *bits = v;
    c->p += 1 + w;
    return 0;
}

static inline int mpc_double(struct mpcursor *c, double *d) {
    if (!mpc__left(c))
        return -1;
    unsigned t = c->p[0];
    if (t == 0xca && mpc__left(c) >= 5) {
        uint32_t u = (uint32_t)mpc__be(c->p + 1, 4);
        float f;
        memcpy(&f, &u, 4);
        *d = f;
        c->p += 5;
        return 0;
    }
    if (t == 0xcb && mpc__left(c) >= 9) {
        uint64_t u = mpc__be(c->p + 1, 8);
        memcpy(d, &u, 8);
        c->p += 9;
        return 0;
    }
    uint64_t bits;
    bool neg = (t >= 0xe0) || (t >= 0xd0 && t <= 0xd3);
    if (mpc_int(c, &bits) < 0)
        return -1;
    *d = neg ? (double)(int64_t)bits : (double)bits;
    return 0;
}

static inline int mpc_nil(struct mpcursor *c) {
    if (!mpc__left(c) || c->p[0] != 0xc0)
        return -1;
    c->p++;
    return 0;
}

static inline bool mpc_is_nil(const struct mpcursor *c) {
    return mpc__left(c) && c->p[0] == 0xc0;
}

#endif
