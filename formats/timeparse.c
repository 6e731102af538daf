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
        if (!isdigit((unsigned char)*s) && *s != '.')
            return -CORE_EPARSE;
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v < 0)
            return -CORE_EPARSE;
        const char *u = end;
        while (isalpha((unsigned char)*end))
            end++;
        double mult;
        if (unit_ns(u, (size_t)(end - u), &mult) < 0)
            return -CORE_EPARSE;
        if (parts && end == u)
            return -CORE_EPARSE; /* "1h30" is ambiguous */
        total += v * mult;
        parts++;
        s = end;
        while (isspace((unsigned char)*s))
            s++;
    }
    if (total > 9.2e18)
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

/* Parses "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|±HH:MM]" or "HH:MM[:SS]" (today). */
static int parse_calendar(const char *s, int64_t now_ns, int64_t *ns) {
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, n = 0;
    double sec = 0;
    const char *p = s;
    int64_t base;
    if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
        if (mo < 1 || mo > 12 || d < 1 || d > 31)
            return -CORE_EPARSE;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        base = (int64_t)timegm(&tm) * NS_PER_S;
        p += n;
        if (*p == 'T' || *p == ' ')
            p++;
        else if (*p == 0) {
            *ns = base;
            return 0;
        } else {
            return -CORE_EPARSE;
        }
    } else {
        base = day_start(now_ns);
    }
    n = 0;
    if (sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5 || h > 23 || mi > 59)
        return -CORE_EPARSE;
    p += n;
    if (*p == ':') {
        char *end;
        sec = strtod(p + 1, &end);
        if (end == p + 1 || sec < 0 || sec >= 61)
            return -CORE_EPARSE;
        p = end;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
            return -CORE_EPARSE;
        off = ((int64_t)oh * 3600 + om * 60) * NS_PER_S * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p)
        return -CORE_EPARSE;
    *ns = base + ((int64_t)h * 3600 + mi * 60) * NS_PER_S + (int64_t)llround(sec * 1e9) - off;
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
    if (buf[0] == '@' || (digits && len >= 10)) {
        char *end;
        const char *p = buf[0] == '@' ? buf + 1 : buf;
        double v = strtod(p, &end);
        if (end == p || *end || !isfinite(v) || v < 0 || v > 9.2e9)
            return -CORE_EPARSE;
        *ns = (int64_t)llround(v * 1e9);
        return 0;
    }
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
