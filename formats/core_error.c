/* core_error.c: names of proxtop's error codes.
 * SPDX-License-Identifier: MIT */
#include "core_error.h"

#include <string.h>

const char *core_strerror(int err) {
    int e = err < 0 ? -err : err;
    switch (e) {
    case CORE_ENOTJOURNAL:
        return "not a proxtop journal (bad magic)";
    case CORE_EVERSION:
        return "unsupported journal format version (written by a newer proxtop)";
    case CORE_ETRUNC:
        return "truncated record (torn tail)";
    case CORE_ECORRUPT:
        return "corrupt record (checksum or decoding failed)";
    case CORE_EEMPTY:
        return "empty journal (no records)";
    case CORE_EGAP:
        return "segment missing from journal directory";
    case CORE_EFORMAT:
        return "unexpected content in a well-formed record";
    case CORE_ERANGE:
        return "value out of range";
    case CORE_ENOENTITY:
        return "sample refers to an undefined entity";
    case CORE_ECOMPRESS:
        return "compression or decompression failed";
    case CORE_EPARSE:
        return "cannot parse input";
    default:
        break;
    }
    if (e > 0 && e < CORE_EBASE)
        return strerror(e);
    return "unknown error";
}
