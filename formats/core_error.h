/* core_error.h: error codes shared by every proxtop library.
 *
 * Functions return int: 0 on success, a negative errno or a negative CORE_E* code on failure.
 * core_strerror() names both kinds. Libraries never print or exit; programs do.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_CORE_ERROR_H
#define FORMATS_CORE_ERROR_H

/* Our own codes live above the errno range so they never collide with -errno. */
enum core_error {
    CORE_EBASE = 10000,
    CORE_ENOTJOURNAL, /* the file does not start with the journal magic */
    CORE_EVERSION,    /* written by a newer, incompatible format version */
    CORE_ETRUNC,      /* the data ends in the middle of a record (torn tail) */
    CORE_ECORRUPT,    /* a record fails its checksum or does not decode */
    CORE_EEMPTY,      /* no records at all (empty file or directory) */
    CORE_EGAP,        /* a segment is missing from a journal directory */
    CORE_EFORMAT,     /* well-framed data with content this reader rejects */
    CORE_ERANGE,      /* a value or option out of its allowed range */
    CORE_ENOENTITY,   /* a sample refers to an entity never defined */
    CORE_ECOMPRESS,   /* zstd failed */
    CORE_EPARSE,      /* text input (time, CSV, option) did not parse */
    CORE_ELAST
};

/* Returns a static description of err (a negative errno or -CORE_E*). Never NULL. */
const char *core_strerror(int err);

#endif
