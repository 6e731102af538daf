/* strmap.h: an open-addressing hash map from strings (copied) to uint32 values.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_STRMAP_H
#define FORMATS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap {
    char **keys;  /* NUL-terminated copies; keys may hold NUL bytes themselves, so... */
    size_t *lens; /* ...their lengths are kept too */
    uint32_t *vals;
    size_t cap, count;
};

void strmap_init(struct strmap *m);
void strmap_fini(struct strmap *m);
/* Returns 0 and sets *val when key (len bytes, not necessarily NUL-terminated) is present. */
int strmap_get(const struct strmap *m, const char *key, size_t len, uint32_t *val);
/* Inserts or replaces; the key is copied. */
void strmap_put(struct strmap *m, const char *key, size_t len, uint32_t val);

#endif
