/* mpcursor.c: msgpack decoding primitives for the journal reader (see mpcursor.h).
 * SPDX-License-Identifier: MIT */
#include "mpcursor.h"

#include <string.h>

static inline uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline size_t left(const struct mpcursor *c) {
    return (size_t)(c->end - c->p);
}

/* Reads a container or string header: fix range, then 8/16/32-bit length forms. */
static int mpc_len(struct mpcursor *c, unsigned fixbase, unsigned fixmask, unsigned fixmax, int b8,
                   int b16, int b32, uint32_t *n) {
    if (!left(c))
        return -1;
    unsigned t = c->p[0];
    if ((t & ~fixmask) == fixbase && (t & fixmask) <= fixmax) {
        *n = t & fixmask;
        c->p += 1;
        return 0;
    }
    int w = (b8 >= 0 && (int)t == b8) ? 1 : (int)t == b16 ? 2 : (int)t == b32 ? 4 : 0;
    if (!w || left(c) < (size_t)(1 + w))
        return -1;
    *n = (uint32_t)be(c->p + 1, w);
    c->p += 1 + w;
    return 0;
}

int mpc_array(struct mpcursor *c, uint32_t *n) {
    return mpc_len(c, 0x90, 0x0f, 0x0f, -1, 0xdc, 0xdd, n);
}

int mpc_map(struct mpcursor *c, uint32_t *n) {
    return mpc_len(c, 0x80, 0x0f, 0x0f, -1, 0xde, 0xdf, n);
}

int mpc_str(struct mpcursor *c, const char **s, uint32_t *len) {
    struct mpcursor save = *c;
    if (mpc_len(c, 0xa0, 0x1f, 0x1f, 0xd9, 0xda, 0xdb, len) < 0)
        return -1;
    if (left(c) < *len) {
        *c = save;
        return -1;
    }
    *s = (const char *)c->p;
    c->p += *len;
    return 0;
}

int mpc_int(struct mpcursor *c, uint64_t *bits) {
    if (!left(c))
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
    if (left(c) < (size_t)(1 + w))
        return -1;
    uint64_t v = be(c->p + 1, w);
    if (sign && w < 8 && (v >> (8 * w - 1)))
        v |= ~0ull << (8 * w); /* sign-extend */
    *bits = v;
    c->p += 1 + w;
    return 0;
}

int mpc_double(struct mpcursor *c, double *d) {
    if (!left(c))
        return -1;
    unsigned t = c->p[0];
    if (t == 0xca && left(c) >= 5) {
        uint32_t u = (uint32_t)be(c->p + 1, 4);
        float f;
        memcpy(&f, &u, 4);
        *d = f;
        c->p += 5;
        return 0;
    }
    if (t == 0xcb && left(c) >= 9) {
        uint64_t u = be(c->p + 1, 8);
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

int mpc_bool(struct mpcursor *c, bool *b) {
    if (!left(c) || (c->p[0] != 0xc2 && c->p[0] != 0xc3))
        return -1;
    *b = c->p[0] == 0xc3;
    c->p++;
    return 0;
}

int mpc_nil(struct mpcursor *c) {
    if (!left(c) || c->p[0] != 0xc0)
        return -1;
    c->p++;
    return 0;
}

bool mpc_is_nil(const struct mpcursor *c) {
    return left(c) && c->p[0] == 0xc0;
}

bool mpc_str_eq(struct mpcursor *c, const char *s) {
    struct mpcursor t = *c;
    const char *p;
    uint32_t n;
    if (mpc_str(&t, &p, &n) < 0 || n != strlen(s) || memcmp(p, s, n) != 0)
        return false;
    *c = t;
    return true;
}

static int mpc_skip_depth(struct mpcursor *c, int depth) {
    if (depth > 32 || !left(c))
        return -1;
    struct mpcursor save = *c;
    unsigned t = c->p[0];
    uint32_t n;
    const char *s;
    uint64_t u;
    double d;
    if (mpc_int(c, &u) == 0 || mpc_double(c, &d) == 0 || mpc_str(c, &s, &n) == 0)
        return 0;
    if (t == 0xc0 || t == 0xc2 || t == 0xc3) {
        c->p++;
        return 0;
    }
    if (mpc_array(c, &n) == 0) {
        for (uint32_t i = 0; i < n; i++)
            if (mpc_skip_depth(c, depth + 1) < 0)
                goto fail;
        return 0;
    }
    if (mpc_map(c, &n) == 0) {
        for (uint64_t i = 0; i < 2ull * n; i++)
            if (mpc_skip_depth(c, depth + 1) < 0)
                goto fail;
        return 0;
    }
    /* bin 8/16/32 and ext types: length-prefixed payloads. */
    size_t hdr = 0, len = 0;
    switch (t) {
    case 0xc4:
        hdr = 2;
        break;
    case 0xc5:
        hdr = 3;
        break;
    case 0xc6:
        hdr = 5;
        break;
    case 0xc7:
        hdr = 3;
        break;
    case 0xc8:
        hdr = 4;
        break;
    case 0xc9:
        hdr = 6;
        break;
    case 0xd4:
        hdr = 2;
        len = 1;
        break;
    case 0xd5:
        hdr = 2;
        len = 2;
        break;
    case 0xd6:
        hdr = 2;
        len = 4;
        break;
    case 0xd7:
        hdr = 2;
        len = 8;
        break;
    case 0xd8:
        hdr = 2;
        len = 16;
        break;
    default:
        goto fail;
    }
    if (left(c) < hdr)
        goto fail;
    if (t >= 0xc4 && t <= 0xc9) {
        int w = (t == 0xc4 || t == 0xc7) ? 1 : (t == 0xc5 || t == 0xc8) ? 2 : 4;
        len = (size_t)be(c->p + 1, w);
    }
    if (left(c) - hdr < len)
        goto fail;
    c->p += hdr + len;
    return 0;
fail:
    *c = save;
    return -1;
}

int mpc_skip(struct mpcursor *c) {
    return mpc_skip_depth(c, 0);
}
