/* xalloc.c: allocation wrappers that abort cleanly on exhaustion.
 * SPDX-License-Identifier: MIT */
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*fail_hook)(void);

void xalloc_set_fail_hook(void (*hook)(void)) {
    fail_hook = hook;
}

ATTR_NORETURN static void xalloc_fail(size_t n) {
    if (fail_hook)
        fail_hook();
    fprintf(stderr, "proxtop: out of memory (allocating %zu bytes)\n", n);
    exit(1);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p)
        xalloc_fail(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size) {
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        xalloc_fail(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q)
        xalloc_fail(n);
    return q;
}

void *xgrow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            xalloc_fail(SIZE_MAX);
        c *= 2;
    }
    p = xrealloc(p, c * elem);
    *cap = c;
    return p;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *xstrdup_opt(const char *s) {
    return s ? xstrdup(s) : NULL;
}
