/* test_discretise.c: bins, compat bins (anchor §2), filter, buffering, quantile edges.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "core_error.h"
#include "discretise.h"

static void test_linear_bins(void **state) {
    struct disc d;
    assert_int_equal(disc_init_linear(&d, 4, 50, 100), 0);
    assert_int_equal(disc_bin(&d, 49), 0);
    assert_int_equal(disc_bin(&d, 50), 0);
    assert_int_equal(disc_bin(&d, 62.4), 0);
    assert_int_equal(disc_bin(&d, 62.5), 1);
    assert_int_equal(disc_bin(&d, 75), 2);
    assert_int_equal(disc_bin(&d, 99.9), 3);
    assert_int_equal(disc_bin(&d, 100), 3);
    assert_int_equal(disc_bin(&d, 1e9), 3);
    assert_int_equal(disc_bin(&d, NAN), 0);
    assert_true(d.edges[0] == 50 && d.edges[1] == 62.5 && d.edges[4] == 100);
    disc_fini(&d);
    assert_int_equal(disc_init_linear(&d, 1, 0, 1), -CORE_ERANGE);
    assert_int_equal(disc_init_linear(&d, 4, 2, 1), -CORE_ERANGE);
    assert_int_equal(disc_init_linear(&d, 4, 5, 5), 0); /* constant data */
    assert_int_equal(disc_bin(&d, 5), 0);
    disc_fini(&d);
}

/* Anchor §2: fixed 0..100, S=4: widths 12.5/25/25/37.5; 40 and 60 give 2, 90 gives 3. */
static void test_compat_fixed(void **state) {
    struct disc d;
    assert_int_equal(disc_init_compat(&d, 4, 1, 0, 100), 0);
    assert_int_equal(disc_bin(&d, 10), 0);
    assert_int_equal(disc_bin(&d, 12.4), 0);
    assert_int_equal(disc_bin(&d, 12.5), 1);
    assert_int_equal(disc_bin(&d, 37.4), 1);
    assert_int_equal(disc_bin(&d, 37.5), 2);
    assert_int_equal(disc_bin(&d, 40), 2);
    assert_int_equal(disc_bin(&d, 60), 2);
    assert_int_equal(disc_bin(&d, 62.5), 3);
    assert_int_equal(disc_bin(&d, 90), 3);
    assert_int_equal(disc_bin(&d, -5), 0);
    assert_int_equal(disc_bin(&d, 500), 3);
    assert_true(d.edges[1] == 12.5 && d.edges[2] == 37.5 && d.edges[3] == 62.5);
    disc_fini(&d);
    /* fixed 50..100: every sample maps to state 3 (min ignored). */
    assert_int_equal(disc_init_compat(&d, 4, 1, 50, 100), 0);
    for (double v = 50; v <= 100; v += 5) {
        assert_int_equal(disc_bin(&d, v), 3);
    }
    disc_fini(&d);
}

/* Anchor §2: dynamic bounds with B=1: v >= 0 gives S-1, v < 0 gives 0. */
static void test_compat_dynamic(void **state) {
    struct disc d;
    struct disc_buffer b;
    struct disc_step st = {0};
    assert_int_equal(disc_init_compat(&d, 4, 0, 0, 100), 0);
    assert_int_equal(disc_buffer_init(&b, 1), 0);
    const double vals[] = {0, 3, 50, 99, 1000, -1, -20};
    const int want[] = {3, 3, 3, 3, 3, 0, 0};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(disc_buffer_add(&b, 0, vals[i], &st), 1);
        assert_int_equal(disc_step_bin(&d, &st), want[i]);
    }
    /* All-negative buffer: max stays 0 (quirk). */
    assert_int_equal(disc_buffer_init(&b, 2), 0);
    disc_buffer_add(&b, 0, -4, &st);
    assert_int_equal(disc_buffer_add(&b, 0, -2, &st), 1);
    assert_true(st.tmax == 0.0 && st.tmin == -4.0);
    disc_fini(&d);
}

static void test_buffer(void **state) {
    struct disc_buffer b;
    struct disc_step st = {0};
    assert_int_equal(disc_buffer_init(&b, 0), -CORE_ERANGE);
    assert_int_equal(disc_buffer_init(&b, 3), 0);
    assert_int_equal(disc_buffer_add(&b, 10, 1, &st), 0);
    assert_int_equal(disc_buffer_add(&b, 11, 2, &st), 0);
    assert_int_equal(disc_buffer_add(&b, 12, 6, &st), 1);
    assert_true(st.value == 3.0 && st.n == 3 && st.t == 10);
    assert_true(fabs(st.ss - 14.0) < 1e-12); /* (1-3)^2 + (2-3)^2 + (6-3)^2 */
    assert_int_equal(disc_buffer_add(&b, 13, 7, &st), 0);
    assert_int_equal(disc_buffer_flush(&b, &st), 1); /* trailing partial buffer processed */
    assert_true(st.value == 7.0 && st.n == 1 && st.t == 13);
    assert_int_equal(disc_buffer_flush(&b, &st), 0);
}

static void test_filter(void **state) {
    struct disc_filter f;
    disc_filter_init(&f, 3, DISC_FILTER_DROP);
    for (int i = 0; i < 100; i++) {
        double v = 10 + (i % 2 ? 1 : -1);
        assert_int_equal(disc_filter_apply(&f, &v), 0);
    }
    double v = 100;
    assert_int_equal(disc_filter_apply(&f, &v), 1);
    assert_int_equal(f.outliers, 1);
    disc_filter_init(&f, 3, DISC_FILTER_CLAMP);
    for (int i = 0; i < 100; i++) {
        double x = 10 + (i % 2 ? 1 : -1);
        disc_filter_apply(&f, &x);
    }
    v = 100;
    assert_int_equal(disc_filter_apply(&f, &v), 0);
    assert_true(fabs(v - 13.0) < 1e-9); /* mean 10 + 3 * sd 1 */
    assert_int_equal(f.outliers, 1);
    disc_filter_init(&f, 0, DISC_FILTER_DROP); /* disabled */
    v = 1e300;
    assert_int_equal(disc_filter_apply(&f, &v), 0);
}

static void test_quantile_edges(void **state) {
    double vals[1000], e1[5], e2[5];
    struct disc_scan s;
    for (int i = 0; i < 1000; i++) {
        vals[i] = (double)((i * 7919) % 1000) / 10.0; /* a permutation of 0..99.9 */
    }
    assert_int_equal(disc_quantile_edges(vals, 1000, 4, e1), 0);
    assert_true(fabs(e1[2] - 49.95) < 1e-9);
    assert_int_equal(disc_scan_init(&s, 1, 0, DISC_FILTER_DROP, 1, 0, 100), 0);
    for (int i = 0; i < 1000; i++) {
        disc_scan_push(&s, vals[i]);
    }
    disc_scan_flush(&s);
    assert_int_equal(disc_scan_quantile_edges(&s, 4, e2), 0);
    for (int i = 0; i <= 4; i++) {
        assert_true(fabs(e1[i] - e2[i]) <= 100.0 / DISC_SCAN_BINS + 0.1);
    }
    assert_true(s.min == 0.0 && s.max == 99.9);
    disc_scan_fini(&s);
    struct disc d;
    assert_int_equal(disc_init_edges(&d, 4, e1), 0);
    assert_int_equal(disc_bin(&d, 10), 0);
    assert_int_equal(disc_bin(&d, 30), 1);
    assert_int_equal(disc_bin(&d, 60), 2);
    assert_int_equal(disc_bin(&d, 99), 3);
    disc_fini(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_bins),    cmocka_unit_test(test_compat_fixed),
        cmocka_unit_test(test_compat_dynamic), cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_filter),         cmocka_unit_test(test_quantile_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
