/* csv.h: a fast line cursor over a text file and a strtod-class number parser, for the
 * importers and the direct CSV input of proxprofiler.
 *
 * csv_open() reads the file in 1 MiB blocks (read(2), no stdio); csv_next_line() returns one line
 * at a time without copying (the line is valid until the next call) and counts line numbers for
 * error messages. csv_num() parses a decimal number in place: digits are accumulated into a 64-bit
 * mantissa and scaled by an exact power of ten when the result is exactly representable
 * (mantissa < 2^53, |exponent| <= 22: Clinger's fast path, correctly rounded); anything else
 * (more digits, larger exponents, "nan", "inf", hex) goes to strtod, so the value is always the
 * one strtod would give.
 * SPDX-License-Identifier: MIT */
#ifndef PROFILER_CSV_H
#define PROFILER_CSV_H

#include <stddef.h>
#include <stdint.h>

struct csv_file;

/* Opens path ("-" = standard input) for line reading. Returns 0 or a negative errno. */
int csv_open(struct csv_file **out, const char *path);

/* Closes f. NULL is fine. */
void csv_close(struct csv_file *f);

/* Next line without its "\n" (and "\r\n"): returns 1 and sets *line and *len (not NUL-terminated,
 * but line[len] is readable: it is the newline or a sentinel NUL), 0 at the end, or a negative
 * errno. The last line needs no newline. */
int csv_next_line(struct csv_file *f, const char **line, size_t *len);

/* Number of the line returned last (1-based). */
uint64_t csv_lineno(const struct csv_file *f);

/* Total bytes read so far (for progress). */
uint64_t csv_bytes(const struct csv_file *f);

/* strtod on a bounded field (slow path of csv_num, exposed for tests). */
const char *csv_num_slow(const char *p, const char *end, double *out);

/* Parses one number starting at p (leading blanks skipped) and not extending past end. Returns a
 * pointer just after it and sets *out, or NULL when there is no number at p. */
static inline const char *csv_num(const char *p, const char *end, double *out) {
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *s = p;
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    const char *start = s;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
    }
    uint64_t m = 0;
    int nd = 0, e = 0;
    while (s < end && (unsigned)(*s - '0') < 10u) {
        m = m * 10 + (uint64_t)(*s - '0');
        nd++;
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && (unsigned)(*s - '0') < 10u) {
            m = m * 10 + (uint64_t)(*s - '0');
            nd++;
            e--;
            s++;
        }
    }
    if (nd == 0 || nd > 15) {
        return csv_num_slow(start, end, out);
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        return csv_num_slow(start, end, out);
    }
    double v = (double)m;
    if (e < 0) {
        if (e < -22) {
            return csv_num_slow(start, end, out);
        }
        v /= pow10[-e];
    }
    *out = neg ? -v : v;
    return s;
}

#endif
