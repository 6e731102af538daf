/* mpcursor.c: msgpack decoding primitives for the journal reader (see mpcursor.h).
 * SPDX-License-Identifier: MIT */
#include "mpcursor.h"

#include <string.h>

int mpc_str(struct mpcursor *c, const char **s, uint32_t *len) {
    struct mpcursor save = *c;
    if (mpc__len(c, 0xa0, 0x1f, 0x1f, 0xd9, 0xda, 0xdb, len) < 0)
        return -1;
    if (mpc__left(c) < *len) {
        *c = save;
        return -1;
    }
    *s = (const char *)c->p;
    c->p += *len;
    return 0;
}

int mpc_bool(struct mpcursor *c, bool *b) {
    if (!mpc__left(c) || (c->p[0] != 0xc2 && c->p[0] != 0xc3))
        return -1;
    *b = c->p[0] == 0xc3;
    c->p++;
    return 0;
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
    if (depth > 32 || !mpc__left(c))
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
    if (mpc__left(c) < hdr)
        goto fail;
    if (t >= 0xc4 && t <= 0xc9) {
        int w = (t == 0xc4 || t == 0xc7) ? 1 : (t == 0xc5 || t == 0xc8) ? 2 : 4;
        len = (size_t)mpc__be(c->p + 1, w);
    }
    if (mpc__left(c) - hdr < len)
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
