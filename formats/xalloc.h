/* xalloc.h: allocation that never returns NULL.
 *
 * On exhaustion the process prints one line and exits with status 1 after running the hook set by
 * xalloc_set_fail_hook() (the viewer restores the terminal there). Tests may replace the allocator.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_XALLOC_H
#define FORMATS_XALLOC_H

#include <stddef.h>

#include "attrs.h"

ATTR_MALLOC void *xmalloc(size_t n);
ATTR_MALLOC void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to hold at least need elements of size elem; *cap is updated. Doubles. */
void *xgrow(void *p, size_t *cap, size_t need, size_t elem);
ATTR_MALLOC char *xstrdup(const char *s);
/* xstrdup that accepts NULL and returns NULL. */
char *xstrdup_opt(const char *s);

/* Called once before exit(1) on allocation failure. */
void xalloc_set_fail_hook(void (*hook)(void));

#endif
