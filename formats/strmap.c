/* strmap.c: string-keyed hash map with linear probing (FNV-1a), grown at 50 % load.
 * SPDX-License-Identifier: MIT */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void strmap_init(struct strmap *m) {
    memset(m, 0, sizeof(*m));
}

void strmap_fini(struct strmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static size_t slot_of(const struct strmap *m, const char *key, size_t len) {
    size_t i = (size_t)hash(key, len) & (m->cap - 1);
    while (m->keys[i] && !(m->lens[i] == len && memcmp(m->keys[i], key, len) == 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

int strmap_get(const struct strmap *m, const char *key, size_t len, uint32_t *val) {
    if (!m->cap)
        return -1;
    size_t i = slot_of(m, key, len);
    if (!m->keys[i])
        return -1;
    *val = m->vals[i];
    return 0;
}

static void strmap_grow(struct strmap *m) {
    struct strmap n = {0};
    n.cap = m->cap ? m->cap * 2 : 16;
    n.keys = xcalloc(n.cap, sizeof(*n.keys));
    n.lens = xcalloc(n.cap, sizeof(*n.lens));
    n.vals = xcalloc(n.cap, sizeof(*n.vals));
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot_of(&n, m->keys[i], m->lens[i]);
        n.keys[j] = m->keys[i];
        n.lens[j] = m->lens[i];
        n.vals[j] = m->vals[i];
        n.count++;
    }
    free(m->keys);
    free(m->lens);
    free(m->vals);
    *m = n;
}

void strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val) {
    if ((m->count + 1) * 2 > m->cap)
        strmap_grow(m);
    size_t i = slot_of(m, key, len);
    if (!m->keys[i]) {
        char *k = xmalloc(len + 1);
        memcpy(k, key, len);
        k[len] = 0;
        m->keys[i] = k;
        m->lens[i] = len;
        m->count++;
    }
    m->vals[i] = val;
}
