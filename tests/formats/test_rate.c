/* test_rate.c: rate_derive, the one place raw samples become displayed values — exact rates,
 * which clock gives Δt, and every case that must be a gap rather than a number.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rate.h"

#define S 1000000000ll /* one second in ns */

static struct journal_value vu(uint64_t u) {
    return (struct journal_value){.type = JV_INT, .u = u};
}

static struct journal_value vi(int64_t i) {
    return (struct journal_value){.type = JV_INT, .i = i};
}

static struct journal_value vd(double d) {
    return (struct journal_value){.type = JV_REAL, .d = d};
}

static const struct journal_value missing = {.type = JV_MISSING};

/* A counter's rate is Δvalue/Δt per second, exactly. */
static void test_counter_exact(void **state) {
    (void)state;
    struct journal_value a = vu(1000), b = vu(4000);
    double out = -1;
    /* Δv = 3000 over 2 s of monotonic time. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 100 * S, 5 * S, &b, 102 * S, 7 * S, &out),
                     RATE_OK);
    assert_true(out == 1500.0);
    /* Sub-second Δt: 250 ms for Δv = 3000 → 12000/s. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 0, 0, &b, 250000000, 250000000, &out),
                     RATE_OK);
    assert_true(out == 12000.0);
    /* An unchanged counter is a real zero, not a gap. */
    out = -1;
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 0, 0, &a, 0, S, &out), RATE_OK);
    assert_true(out == 0.0);
    /* Counters stored as doubles (e.g. imported traces). */
    struct journal_value da = vd(1.5), db = vd(4.5);
    assert_int_equal(rate_derive(METRIC_COUNTER, &da, 0, -1, &db, 3 * S, -1, &out), RATE_OK);
    assert_true(out == 1.0);
}

/* Δt comes from the monotonic clock when both samples have it, from realtime otherwise. */
static void test_counter_clock_choice(void **state) {
    (void)state;
    struct journal_value a = vu(0), b = vu(1000);
    double out = 0;
    /* Realtime jumped by 10 s (an NTP step), monotonic moved 1 s: monotonic wins. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 100 * S, 50 * S, &b, 110 * S, 51 * S, &out),
                     RATE_OK);
    assert_true(out == 1000.0);
    /* Previous sample without monotonic time: realtime, 4 s → 250/s. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 100 * S, -1, &b, 104 * S, 51 * S, &out),
                     RATE_OK);
    assert_true(out == 250.0);
    /* Current sample without monotonic time: realtime as well. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 100 * S, 50 * S, &b, 102 * S, -1, &out),
                     RATE_OK);
    assert_true(out == 500.0);
    /* Monotonic 0 is a valid time (>= 0), not "unknown". */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 100 * S, 0, &b, 200 * S, 2 * S, &out),
                     RATE_OK);
    assert_true(out == 500.0);
}

/* A gauge is its current value, whatever the previous sample or the clocks say. */
static void test_gauge(void **state) {
    (void)state;
    struct journal_value prev = vi(10), cur = vi(-4096);
    double out = 0;
    assert_int_equal(rate_derive(METRIC_GAUGE, &prev, 0, 0, &cur, 0, 0, &out), RATE_OK);
    assert_true(out == -4096.0);
    /* No previous sample is fine for a gauge. */
    out = 0;
    assert_int_equal(rate_derive(METRIC_GAUGE, NULL, 0, -1, &cur, 5, -1, &out), RATE_OK);
    assert_true(out == -4096.0);
    /* A gauge that went down is just lower: no reset. */
    struct journal_value hi = vi(100), lo = vi(1);
    assert_int_equal(rate_derive(METRIC_GAUGE, &hi, 0, 0, &lo, S, S, &out), RATE_OK);
    assert_true(out == 1.0);
    /* Real gauges, and a previous sample that is missing. */
    struct journal_value r = vd(0.25);
    assert_int_equal(rate_derive(METRIC_GAUGE, &missing, 0, 0, &r, S, S, &out), RATE_OK);
    assert_true(out == 0.25);
    /* A missing gauge stays missing, and *out is not touched. */
    out = 7;
    assert_int_equal(rate_derive(METRIC_GAUGE, &prev, 0, 0, &missing, S, S, &out), RATE_MISSING);
    assert_true(out == 7);
}

/* The first sample of a counter has no rate: a gap, not a zero. */
static void test_first(void **state) {
    (void)state;
    struct journal_value cur = vu(123456);
    double out = 42;
    assert_int_equal(rate_derive(METRIC_COUNTER, NULL, 0, -1, &cur, S, S, &out), RATE_FIRST);
    assert_true(out == 42);
    assert_string_equal(rate_status_name(RATE_FIRST), "first");
}

/* A counter that went down was reset (VM restarted, pid reused): a gap, never a huge spike. */
static void test_reset(void **state) {
    (void)state;
    double out = 42;
    struct journal_value before = vu(5000000), after = vu(17);
    assert_int_equal(rate_derive(METRIC_COUNTER, &before, 0, 0, &after, S, S, &out), RATE_RESET);
    assert_true(out == 42);
    /* Reset to exactly 0. */
    struct journal_value zero = vu(0);
    assert_int_equal(rate_derive(METRIC_COUNTER, &before, 0, 0, &zero, S, S, &out), RATE_RESET);
    /* Reals too. */
    struct journal_value da = vd(10.5), db = vd(10.25);
    assert_int_equal(rate_derive(METRIC_COUNTER, &da, 0, 0, &db, S, S, &out), RATE_RESET);
    assert_true(out == 42);
    /* The sample after the reset, against the reset value, is a normal rate again. */
    struct journal_value next = vu(1017);
    assert_int_equal(rate_derive(METRIC_COUNTER, &after, 0, S, &next, 0, 3 * S, &out), RATE_OK);
    assert_true(out == 500.0);
    assert_string_equal(rate_status_name(RATE_RESET), "reset");
}

/* Missing on either side is missing, for counters. */
static void test_missing(void **state) {
    (void)state;
    struct journal_value v = vu(10);
    double out = 42;
    assert_int_equal(rate_derive(METRIC_COUNTER, &missing, 0, 0, &v, S, S, &out), RATE_MISSING);
    assert_int_equal(rate_derive(METRIC_COUNTER, &v, 0, 0, &missing, S, S, &out), RATE_MISSING);
    assert_int_equal(rate_derive(METRIC_COUNTER, &missing, 0, 0, &missing, S, S, &out),
                     RATE_MISSING);
    /* No current sample at all. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &v, 0, 0, NULL, S, S, &out), RATE_MISSING);
    /* Missing current wins over "first". */
    assert_int_equal(rate_derive(METRIC_COUNTER, NULL, 0, 0, &missing, S, S, &out), RATE_MISSING);
    assert_true(out == 42);
    assert_string_equal(rate_status_name(RATE_MISSING), "missing");
}

/* Δt <= 0 on the clock in use is a bad time, whichever clock that is. */
static void test_bad_time(void **state) {
    (void)state;
    struct journal_value a = vu(10), b = vu(20);
    double out = 42;
    /* Same monotonic time (duplicate sample), even though realtime moved. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 0, 5 * S, &b, 10 * S, 5 * S, &out),
                     RATE_BAD_TIME);
    /* Monotonic went backwards. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 0, 5 * S, &b, 10 * S, 4 * S, &out),
                     RATE_BAD_TIME);
    /* Realtime went backwards and there is no monotonic time. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 10 * S, -1, &b, 9 * S, -1, &out),
                     RATE_BAD_TIME);
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 10 * S, -1, &b, 10 * S, 3 * S, &out),
                     RATE_BAD_TIME);
    /* A Δt that does not even fit 64 bits (garbage times) is a bad time, not an overflow. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, INT64_MIN + 1, -1, &b, INT64_MAX, -1, &out),
                     RATE_BAD_TIME);
    assert_true(out == 42);
    /* Realtime going backwards does not matter when monotonic time is known. */
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 10 * S, 1 * S, &b, 9 * S, 2 * S, &out),
                     RATE_OK);
    assert_true(out == 10.0);
    assert_string_equal(rate_status_name(RATE_BAD_TIME), "bad-time");
    assert_string_equal(rate_status_name(RATE_OK), "ok");
    assert_string_equal(rate_status_name((enum rate_status)99), "?");
}

/* Counters near 2^64 (e.g. byte counters, or ones that start high): the difference is exact
 * although the values themselves do not fit a double, and they are unsigned, not negative. */
static void test_huge_values(void **state) {
    (void)state;
    double out = 0;
    struct journal_value a = vu(UINT64_MAX - 3000), b = vu(UINT64_MAX - 1000);
    assert_int_equal(rate_derive(METRIC_COUNTER, &a, 0, 0, &b, 0, 2 * S, &out), RATE_OK);
    assert_true(out == 1000.0);
    /* Crossing 2^63 is no reset: these are unsigned. */
    struct journal_value c = vu((1ull << 63) - 1), d = vu((1ull << 63) + 4);
    assert_int_equal(rate_derive(METRIC_COUNTER, &c, 0, 0, &d, 0, S, &out), RATE_OK);
    assert_true(out == 5.0);
    /* From 0 to UINT64_MAX in one second: a huge but exact-enough rate, positive. */
    struct journal_value z = vu(0), m = vu(UINT64_MAX);
    assert_int_equal(rate_derive(METRIC_COUNTER, &z, 0, 0, &m, 0, S, &out), RATE_OK);
    assert_true(out > 1.8e19 && out < 1.9e19);
    /* Wrapping past 2^64 reads as a reset (a gap), not as a rate of ~1.8e19/s. */
    struct journal_value w = vu(5);
    assert_int_equal(rate_derive(METRIC_COUNTER, &b, 0, 0, &w, 0, S, &out), RATE_RESET);
    /* A huge counter next to a double one (a value that changed type) is compared as unsigned. */
    struct journal_value r = vd(18446744073709549568.0); /* 2^64 - 2048, exact in a double */
    struct journal_value big = vu(UINT64_MAX - 4095);    /* 2^64 - 4096 */
    assert_int_equal(rate_derive(METRIC_COUNTER, &big, 0, 0, &r, 0, S, &out), RATE_OK);
    assert_true(out == 2048.0);
    /* Huge signed gauges keep their sign. */
    struct journal_value g = vi(INT64_MIN);
    assert_int_equal(rate_derive(METRIC_GAUGE, NULL, 0, 0, &g, 0, 0, &out), RATE_OK);
    assert_true(out == -9223372036854775808.0);
    /* A huge Δt gives a tiny rate, not an overflow. */
    struct journal_value one = vu(1), two = vu(2);
    assert_int_equal(rate_derive(METRIC_COUNTER, &one, 0, 0, &two, 0, INT64_MAX, &out), RATE_OK);
    assert_true(out > 0 && out < 1e-9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_exact), cmocka_unit_test(test_counter_clock_choice),
        cmocka_unit_test(test_gauge),         cmocka_unit_test(test_first),
        cmocka_unit_test(test_reset),         cmocka_unit_test(test_missing),
        cmocka_unit_test(test_bad_time),      cmocka_unit_test(test_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
