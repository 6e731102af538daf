/* test_timeparse.c: the time and duration syntax every command line accepts, and ISO printing.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core_error.h"
#include "timeparse.h"

#define S     1000000000ll
#define MS    1000000ll
#define DAY   (86400 * S)
#define D1121 (1795219200 * S) /* 2026-11-21T00:00:00Z */
/* "now" for every relative case: 2026-11-21T10:00:00.000012345Z */
#define NOW (D1121 + 10 * 3600 * S + 12345)

static int64_t dur(const char *s) {
    int64_t ns = -42;
    int rc = time_parse_duration(s, &ns);
    if (rc != 0)
        fail_msg("duration '%s' did not parse (%d)", s, rc);
    return ns;
}

static void dur_bad(const char *s) {
    int64_t ns = -42;
    int rc = time_parse_duration(s, &ns);
    if (rc != -CORE_EPARSE)
        fail_msg("duration '%s' gave %d (ns %lld), want -CORE_EPARSE", s, rc, (long long)ns);
    assert_int_equal(ns, -42); /* untouched on failure */
}

static int64_t point(const char *s) {
    int64_t ns = -42;
    int rc = time_parse_point(s, NOW, &ns);
    if (rc != 0)
        fail_msg("point '%s' did not parse (%d)", s, rc);
    return ns;
}

static void point_bad(const char *s) {
    int64_t ns = -42;
    int rc = time_parse_point(s, NOW, &ns);
    if (rc != -CORE_EPARSE)
        fail_msg("point '%s' gave %d (ns %lld), want -CORE_EPARSE", s, rc, (long long)ns);
    assert_int_equal(ns, -42);
}

static void test_durations(void **state) {
    (void)state;
    assert_int_equal(dur("60"), 60 * S); /* a bare number is seconds */
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("1.5h"), 5400 * S);
    assert_int_equal(dur("1h30m"), 5400 * S);
    assert_int_equal(dur("1h 30m"), 5400 * S);
    assert_int_equal(dur("250ms"), 250 * MS);
    assert_int_equal(dur("10us"), 10000);
    assert_int_equal(dur("7ns"), 7);
    assert_int_equal(dur("5s"), 5 * S);
    assert_int_equal(dur("5sec"), 5 * S);
    assert_int_equal(dur("2m"), 120 * S);
    assert_int_equal(dur("90min"), 5400 * S);
    assert_int_equal(dur("1d"), DAY);
    assert_int_equal(dur("2w"), 14 * DAY);
    assert_int_equal(dur("0.5s"), 500 * MS);
    assert_int_equal(dur(".5s"), 500 * MS);
    assert_int_equal(dur("1d2h3m4s5ms"), DAY + 2 * 3600 * S + 3 * 60 * S + 4 * S + 5 * MS);
    assert_int_equal(dur("  15m  "), 900 * S);
    assert_int_equal(dur("100000d"), 100000 * DAY); /* large but representable */
    assert_int_equal(dur("9000w"), 9000 * 7 * DAY);
}

static void test_durations_bad(void **state) {
    (void)state;
    int64_t ns = -42;
    assert_int_equal(time_parse_duration(NULL, &ns), -CORE_EPARSE);
    dur_bad("");
    dur_bad("   ");
    dur_bad("-5s");  /* negative */
    dur_bad("+5s");  /* signs are not part of the syntax */
    dur_bad("1h30"); /* a bare number is only allowed alone: 30 what? */
    dur_bad("1 30m");
    dur_bad("60 30");
    dur_bad("abc");
    dur_bad("5x");
    dur_bad("5 x");
    dur_bad("1hh");
    dur_bad("h");
    dur_bad("s5");
    dur_bad(".");
    dur_bad(".s");
    dur_bad("1..5s");
    dur_bad("1.2.3s");
    dur_bad("0x10"); /* not a decimal number */
    dur_bad("1e3s"); /* no exponents */
    dur_bad("inf");
    dur_bad("nan");
    dur_bad("5s-");
    dur_bad("5s,");
    dur_bad("300000w"); /* 1.8e20 ns: past int64 */
    dur_bad("99999999999999999999999999999999d");
}

static void test_points_relative(void **state) {
    (void)state;
    assert_int_equal(point("now"), NOW);
    assert_int_equal(point(" now "), NOW);
    assert_int_equal(point("2h ago"), NOW - 7200 * S);
    assert_int_equal(point("1h30m ago"), NOW - 5400 * S);
    assert_int_equal(point("90 ago"), NOW - 90 * S);
    assert_int_equal(point("-2h"), NOW - 7200 * S);
    assert_int_equal(point("-250ms"), NOW - 250 * MS);
    assert_int_equal(point("today"), D1121);
    assert_int_equal(point("yesterday"), D1121 - DAY);
    assert_int_equal(point("10:00"), D1121 + 10 * 3600 * S);
    assert_int_equal(point("23:59:59"), D1121 + DAY - S);
    assert_int_equal(point("00:00"), D1121);
    /* "today" before the epoch: days start at multiples of 86400 s, also below 0. */
    int64_t ns;
    assert_int_equal(time_parse_point("today", -1, &ns), 0);
    assert_int_equal(ns, -DAY);
    assert_int_equal(time_parse_point("today", -DAY, &ns), 0);
    assert_int_equal(ns, -DAY);
}

static void test_points_absolute(void **state) {
    (void)state;
    assert_int_equal(point("@1763700000"), 1763700000 * S);
    assert_int_equal(point("@1763700000.5"), 1763700000 * S + 500 * MS);
    /* Fractions are exact, not rounded through a double (which is 256 ns coarse here). */
    assert_int_equal(point("@1763700000.001"), 1763700000 * S + 1 * MS);
    assert_int_equal(point("@1763700000.123456789"), 1763700000 * S + 123456789);
    assert_int_equal(point("@0"), 0);
    assert_int_equal(point("@86400"), DAY);
    assert_int_equal(point("1763700000"), 1763700000 * S); /* a bare epoch: 10+ digits */
    assert_int_equal(point("1763700000.25"), 1763700000 * S + 250 * MS);
    assert_int_equal(point("2026-11-21"), D1121);
    assert_int_equal(point("2026-11-21 10:00"), D1121 + 10 * 3600 * S);
    assert_int_equal(point("2026-11-21T10:00"), D1121 + 10 * 3600 * S);
    assert_int_equal(point("2026-11-21T10:00:05Z"), D1121 + 36005 * S);
    assert_int_equal(point("2026-11-21T10:00:05.250+01:00"), D1121 + 32405 * S + 250 * MS);
    assert_int_equal(point("2026-11-21T10:00:05.250-05:30"), D1121 + 55805 * S + 250 * MS);
    assert_int_equal(point("2026-11-21T10:00:05.123456789Z"), D1121 + 36005 * S + 123456789);
    assert_int_equal(point("2026-11-21T10:00Z"), D1121 + 36000 * S);
    assert_int_equal(point("2026-11-21 23:59:60"), D1121 + DAY); /* leap second */
    assert_int_equal(point("2024-02-29"), 1709164800 * S);       /* leap day */
    assert_int_equal(point("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(point("1969-12-31T23:59:59Z"), -S);
}

static void test_points_bad(void **state) {
    (void)state;
    int64_t ns = -42;
    assert_int_equal(time_parse_point(NULL, NOW, &ns), -CORE_EPARSE);
    point_bad("");
    point_bad("   ");
    point_bad("tomorrow");
    point_bad("nowish");
    point_bad("2h"); /* a duration is not a point: "2h ago" or "-2h" */
    point_bad("ago");
    point_bad(" ago");
    point_bad("x ago");
    point_bad("-2h ago");
    point_bad("-");
    point_bad("--2h");
    point_bad("@");
    point_bad("@abc");
    point_bad("@-5");
    point_bad("@1e9");
    point_bad("@0x10");
    point_bad("@1.2.3");
    point_bad("@ 5");
    point_bad("12345"); /* too short for an epoch, not a clock time */
    point_bad("2026-13-01");
    point_bad("2026-00-10");
    point_bad("2026-11-00");
    point_bad("2026-11-31"); /* November has 30 days */
    point_bad("2026-02-29"); /* not a leap year */
    point_bad("2026-1-21");
    point_bad("2026-11-21X");
    point_bad("2026-11-21T");
    point_bad("2026-11-21T25:00");
    point_bad("2026-11-21T24:00");
    point_bad("2026-11-21T10:60");
    point_bad("2026-11-21T10:00:61");
    point_bad("2026-11-21T10:00:5");
    point_bad("2026-11-21T10:00:nan");
    point_bad("2026-11-21T10:00:inf");
    point_bad("2026-11-21T10:00:+5");
    point_bad("2026-11-21T10:00:05.");
    point_bad("2026-11-21T-1:00");
    point_bad("2026-11-21T+1:00");
    point_bad("2026-11-21T10:-1");
    point_bad("2026-11-21T10:00+1:00");
    point_bad("2026-11-21T10:00+25:00");
    point_bad("2026-11-21T10:00+01:60");
    point_bad("2026-11-21T10:00+-1:00");
    point_bad("2026-11-21T10:00:05.250+01:00junk");
    point_bad("2026-11-21T10:00ZZ");
    point_bad("10:0");
    point_bad("1:00");
    point_bad("+1:00");
    point_bad(" 1:00");
    point_bad("10:00:");
    point_bad("10:00pm");
}

static void iso(int64_t ns, const char *want) {
    char buf[40];
    memset(buf, 'x', sizeof(buf));
    time_format_iso(ns, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("time_format_iso(%lld) = '%s', want '%s'", (long long)ns, buf, want);
}

static void test_format_iso(void **state) {
    (void)state;
    iso(0, "1970-01-01T00:00:00.000Z");
    iso(D1121, "2026-11-21T00:00:00.000Z");
    iso(D1121 + 36005 * S + 250 * MS, "2026-11-21T10:00:05.250Z");
    iso(1 * MS, "1970-01-01T00:00:00.001Z");
    /* Milliseconds are truncated, never rounded up into the next second. */
    iso(999999999, "1970-01-01T00:00:00.999Z");
    iso(D1121 + DAY - 1, "2026-11-21T23:59:59.999Z");
    /* Before the epoch the fraction counts forward from the earlier second. */
    iso(-1, "1969-12-31T23:59:59.999Z");
    iso(-999999, "1969-12-31T23:59:59.999Z");
    iso(-1000000, "1969-12-31T23:59:59.999Z");
    iso(-1000001, "1969-12-31T23:59:59.998Z");
    iso(-S, "1969-12-31T23:59:59.000Z");
    iso(-1500 * MS, "1969-12-31T23:59:58.500Z");
    iso(-DAY, "1969-12-31T00:00:00.000Z");
    /* A short buffer is cut, always terminated. */
    char small[11];
    time_format_iso(D1121, small, sizeof(small));
    assert_string_equal(small, "2026-11-21");
    /* What it prints parses back to the same millisecond. */
    for (int64_t ns = -3 * S - 7 * MS; ns < 3 * S; ns += 333 * MS + 1) {
        char buf[40];
        time_format_iso(D1121 + ns, buf, sizeof(buf));
        int64_t back;
        assert_int_equal(time_parse_point(buf, NOW, &back), 0);
        int64_t want = D1121 + ns;
        want -= ((want % MS) + MS) % MS; /* floor to the millisecond */
        assert_int_equal(back, want);
    }
}

static void test_now(void **state) {
    (void)state;
    int64_t a = time_now_ns(), b = time_now_ns();
    assert_true(a > 1700000000 * S); /* after 2023 */
    assert_true(b >= a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_durations_bad),
        cmocka_unit_test(test_points_relative),
        cmocka_unit_test(test_points_absolute),
        cmocka_unit_test(test_points_bad),
        cmocka_unit_test(test_format_iso),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
