/* timeparse.c: see timeparse.h.
 * SPDX-License-Identifier: MIT */
#include "timeparse.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_error.h"

#define NS_PER_S 1000000000ll

int64_t time_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int unit_ns(const char *u, size_t n, double *mult) {
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3},   {"ms", 1e6},   {"s", 1e9},     {"sec", 1e9},
                 {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}, {"d", 86400e9}, {"w", 7 * 86400e9}};
    if (n == 0) {
        *mult = 1e9;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && strncmp(units[i].name, u, n) == 0) {
            *mult = units[i].ns;
            return 0;
        }
    }
    return -1;
}

/* Length of the unsigned decimal at s ("12", "1.5", ".5": digits with at most one point, at
 * least one digit), or 0 when there is none. No sign, exponent or hex, unlike strtod. */
static size_t scan_decimal(const char *s) {
    size_t n = 0, digits = 0, points = 0;
    for (; isdigit((unsigned char)s[n]) || s[n] == '.'; n++) {
        if (s[n] == '.')
            points++;
        else
            digits++;
    }
    return digits && points <= 1 ? n : 0;
}

int time_parse_duration(const char *s, int64_t *ns) {
    if (!s)
        return -CORE_EPARSE;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return -CORE_EPARSE;
    double total = 0;
    int parts = 0;
    while (*s) {
        char num[32];
        size_t len = scan_decimal(s);
        if (!len || len >= sizeof(num))
            return -CORE_EPARSE;
        memcpy(num, s, len);
        num[len] = 0;
        double v = strtod(num, NULL);
        const char *u = s + len, *end = u;
        while (isalpha((unsigned char)*end))
            end++;
        double mult;
        if (unit_ns(u, (size_t)(end - u), &mult) < 0)
            return -CORE_EPARSE;
        s = end;
        while (isspace((unsigned char)*s))
            s++;
        if (end == u && (parts || *s))
            return -CORE_EPARSE; /* a bare number only alone: "1h30" is ambiguous */
        total += v * mult;
        parts++;
    }
    if (!(total <= 9.2e18))
        return -CORE_EPARSE;
    *ns = (int64_t)llround(total);
    return 0;
}

static int64_t day_start(int64_t ns) {
    int64_t d = 86400ll * NS_PER_S;
    int64_t q = ns / d;
    if (ns % d < 0)
        q--;
    return q * d;
}

/* Reads exactly n decimal digits at p. */
static bool fixed_digits(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Reads ".ddd..." at *p into nanoseconds (digits past the ninth are dropped); at least one
 * digit. Advances *p. */
static bool fraction_ns(const char **p, int64_t *ns) {
    const char *q = *p + 1;
    int64_t v = 0;
    int n = 0;
    if (!isdigit((unsigned char)*q))
        return false;
    for (; isdigit((unsigned char)*q); q++)
        if (n < 9) {
            v = v * 10 + (*q - '0');
            n++;
        }
    for (; n < 9; n++)
        v *= 10;
    *ns = v;
    *p = q;
    return true;
}

static int days_in_month(int y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Parses "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|±HH:MM]" or "HH:MM[:SS[.frac]]" (today), with
 * exactly that many digits in each field. */
static int parse_calendar(const char *s, int64_t now_ns, int64_t *ns) {
    int y, mo, d, h, mi, sec = 0;
    int64_t frac = 0, base;
    const char *p = s;
    if (fixed_digits(p, 4, &y) && p[4] == '-' && fixed_digits(p + 5, 2, &mo) && p[7] == '-' &&
        fixed_digits(p + 8, 2, &d)) {
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
            return -CORE_EPARSE;
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
        base = (int64_t)timegm(&tm) * NS_PER_S;
        p += 10;
        if (*p == 0) {
            *ns = base;
            return 0;
        }
        if (*p != 'T' && *p != ' ')
            return -CORE_EPARSE;
        p++;
    } else {
        base = day_start(now_ns);
    }
    if (!fixed_digits(p, 2, &h) || p[2] != ':' || !fixed_digits(p + 3, 2, &mi) || h > 23 || mi > 59)
        return -CORE_EPARSE;
    p += 5;
    if (*p == ':') {
        if (!fixed_digits(p + 1, 2, &sec) || sec > 60) /* 60: a leap second */
            return -CORE_EPARSE;
        p += 3;
        if (*p == '.' && !fraction_ns(&p, &frac))
            return -CORE_EPARSE;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!fixed_digits(p + 1, 2, &oh) || p[3] != ':' || !fixed_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -CORE_EPARSE;
        off = ((int64_t)oh * 3600 + om * 60) * NS_PER_S * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p)
        return -CORE_EPARSE;
    *ns = base + ((int64_t)h * 3600 + mi * 60 + sec) * NS_PER_S + frac - off;
    return 0;
}

/* Parses epoch seconds with an optional fraction, exactly (a double would be 256 ns coarse). */
static int parse_epoch(const char *p, int64_t *ns) {
    size_t len = scan_decimal(p);
    if (!len || p[len])
        return -CORE_EPARSE;
    int64_t secs = 0, frac = 0;
    for (; isdigit((unsigned char)*p); p++) {
        secs = secs * 10 + (*p - '0');
        if (secs > 9200000000ll)
            return -CORE_EPARSE;
    }
    if (*p == '.' && p[1] && !fraction_ns(&p, &frac))
        return -CORE_EPARSE;
    *ns = secs * NS_PER_S + frac;
    return 0;
}

int time_parse_point(const char *s, int64_t now_ns, int64_t *ns) {
    if (!s)
        return -CORE_EPARSE;
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    char buf[128];
    if (!len || len >= sizeof(buf))
        return -CORE_EPARSE;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (!strcmp(buf, "now")) {
        *ns = now_ns;
        return 0;
    }
    if (!strcmp(buf, "today")) {
        *ns = day_start(now_ns);
        return 0;
    }
    if (!strcmp(buf, "yesterday")) {
        *ns = day_start(now_ns) - 86400ll * NS_PER_S;
        return 0;
    }
    int64_t d;
    if (len > 4 && !strcmp(buf + len - 4, " ago")) {
        buf[len - 4] = 0;
        if (time_parse_duration(buf, &d) < 0)
            return -CORE_EPARSE;
        *ns = now_ns - d;
        return 0;
    }
    if (buf[0] == '-') {
        if (time_parse_duration(buf + 1, &d) < 0)
            return -CORE_EPARSE;
        *ns = now_ns - d;
        return 0;
    }
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits = digits && (isdigit((unsigned char)buf[i]) || buf[i] == '.');
    if (buf[0] == '@' || (digits && len >= 10))
        return parse_epoch(buf[0] == '@' ? buf + 1 : buf, ns);
    return parse_calendar(buf, now_ns, ns);
}

void time_format_iso(int64_t ns, char *buf, size_t n) {
    int64_t secs = ns / NS_PER_S, rem = ns % NS_PER_S;
    if (rem < 0) {
        secs--;
        rem += NS_PER_S;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[40];
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", tmp, (int)(rem / 1000000));
}
