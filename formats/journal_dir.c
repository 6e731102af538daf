/* journal_dir.c: the files that make up a journal path (a file, or a directory of segments
 * named SEQ-STAMP.pxj), in sequence order, with missing sequence numbers counted.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core_error.h"
#include "journal_reader.h"
#include "xalloc.h"

struct seg {
    uint64_t seq;
    char *path;
};

static int seg_cmp(const void *a, const void *b) {
    const struct seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A segment name is 1+ digits, '-', anything, ".pxj". */
static bool parse_segment_name(const char *name, uint64_t *seq) {
    size_t n = strlen(name);
    if (n < 6 || strcmp(name + n - 4, ".pxj") != 0)
        return false;
    uint64_t v = 0;
    size_t i = 0;
    for (; name[i] >= '0' && name[i] <= '9'; i++) {
        if (v > UINT64_MAX / 10)
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (i == 0 || name[i] != '-')
        return false;
    *seq = v;
    return true;
}

int journal_list_files(const char *path, char ***files, uint64_t *gaps) {
    struct stat st;
    *gaps = 0;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode)) {
        char **one = xcalloc(2, sizeof(*one));
        one[0] = xstrdup(path);
        *files = one;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    struct seg *segs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t seq;
        if (!parse_segment_name(de->d_name, &seq))
            continue;
        segs = xgrow(segs, &cap, n + 1, sizeof(*segs));
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        segs[n].path = xmalloc(len);
        snprintf(segs[n].path, len, "%s/%s", path, de->d_name);
        segs[n].seq = seq;
        n++;
    }
    closedir(d);
    if (n == 0) {
        free(segs);
        return -CORE_EEMPTY;
    }
    qsort(segs, n, sizeof(*segs), seg_cmp);
    char **out = xcalloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i] = segs[i].path;
        if (i && segs[i].seq > segs[i - 1].seq + 1)
            *gaps += segs[i].seq - segs[i - 1].seq - 1;
    }
    free(segs);
    *files = out;
    return 0;
}

void journal_paths_free(char **files) {
    if (!files)
        return;
    for (size_t i = 0; files[i]; i++)
        free(files[i]);
    free(files);
}
