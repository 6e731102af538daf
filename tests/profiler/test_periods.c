/* test_periods.c: slotting by timestamp across midnight, week slots, step-count form.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core_error.h"
#include "markov.h"
#include "periods.h"

#define DAY0 1700006400 /* 2023-11-15 00:00:00 UTC, a Wednesday */

static void test_slot_of_time(void **state) {
    struct period_config c = {.kind = PERIOD_DAY, .slots = 24};
    assert_int_equal(period_slot_of_time(&c, DAY0 - 1), 23);
    assert_int_equal(period_slot_of_time(&c, DAY0), 0);
    assert_int_equal(period_slot_of_time(&c, DAY0 + 3599), 0);
    assert_int_equal(period_slot_of_time(&c, DAY0 + 3600), 1);
    assert_int_equal(period_slot_of_time(&c, -1), 23); /* before 1970 still floors */
    c.utc_offset = 3600;                               /* UTC+1: 23:30 UTC is 00:30 local */
    assert_int_equal(period_slot_of_time(&c, DAY0 - 1800), 0);
    struct period_config w = {.kind = PERIOD_WEEK};
    assert_int_equal(period_slot_of_time(&w, DAY0), 2 * 24); /* Wednesday 00:00 */
    assert_int_equal(period_slot_of_time(&w, 0), 3 * 24);    /* Thursday 1970-01-01 */
}

/* Steps at 23:00, 23:30 (slot 23) then 00:00, 00:30 (slot 0) on two days: counts sum across the
 * two cycles, and the transition across midnight lands in slot 0. */
static void test_midnight(void **state) {
    struct period_config c = {.kind = PERIOD_DAY, .slots = 24};
    struct periods *p;
    assert_int_equal(periods_new(&p, &c, 4, 1), 0);
    struct markov_config mc = {
        .nstates = 4, .order = 1, .buffersize = 1, .mode = DISC_LINEAR, .min = 0, .max = 4};
    struct markov_series *s;
    assert_int_equal(markov_series_new(&s, &mc), 0);
    assert_int_equal(markov_series_add_hook(s, periods_hook, p), 0);
    for (int day = 0; day < 2; day++) {
        int64_t base = DAY0 + day * 86400;
        markov_series_push(s, base - 3600, 1.5); /* 23:00 state 1 */
        markov_series_push(s, base - 1800, 2.5); /* 23:30 state 2 */
        markov_series_push(s, base, 3.5);        /* 00:00 state 3 */
        markov_series_push(s, base + 1800, 0.5); /* 00:30 state 0 */
    }
    markov_series_flush(s);
    const struct mk_counts *s23 = periods_slot(p, 23), *s0 = periods_slot(p, 0);
    assert_int_equal(mk_counts_get(s23, 1, 1, 2), 2); /* 1->2 on both days */
    assert_int_equal(mk_counts_get(s23, 1, 0, 1), 1); /* 0->1 from day 1 into day 2 */
    assert_int_equal(mk_counts_get(s0, 1, 2, 3), 2);  /* across midnight, counted in slot 0 */
    assert_int_equal(mk_counts_get(s0, 1, 3, 0), 2);
    assert_int_equal(s23->ord[1].total, 3);
    assert_int_equal(s0->ord[1].total, 4);
    assert_int_equal(periods_slot_steps(p, 23), 4);
    assert_int_equal(periods_slot_steps(p, 0), 4);
    char label[32];
    assert_int_equal(periods_slot_label(p, 23, label, sizeof label), 0);
    assert_string_equal(label, "23:00:00");
    markov_series_free(s);
    periods_free(p);
}

static void test_step_form(void **state) {
    struct period_config c;
    assert_int_equal(period_parse_steps("2,3", &c), 0);
    assert_int_equal(period_parse_steps("2,,3", &c), -CORE_EPARSE);
    assert_int_equal(period_parse_steps("0", &c), -CORE_EPARSE);
    assert_int_equal(period_parse_steps("2,3", &c), 0);
    struct periods *p;
    assert_int_equal(periods_new(&p, &c, 2, 1), 0);
    assert_int_equal(periods_nslots(p), 2); /* two leaf slots of 3 steps each */
    struct mk_hist h;
    mk_hist_init(&h, 2, 1);
    /* 12 steps = 2 cycles; slot 0 gets steps 0-2 and 6-8 */
    for (int t = 0; t < 12; t++) {
        uint32_t s = (uint32_t)((t / 3) % 2);
        periods_count(p, 0, &h, s);
        mk_hist_push(&h, s);
    }
    assert_int_equal(periods_slot_steps(p, 0), 6);
    assert_int_equal(periods_slot_steps(p, 1), 6);
    assert_int_equal(mk_counts_get(periods_slot(p, 0), 1, 0, 0), 4);
    assert_int_equal(mk_counts_get(periods_slot(p, 0), 1, 1, 0), 1); /* cycle wrap 1->0 */
    assert_int_equal(mk_counts_get(periods_slot(p, 1), 1, 0, 1), 2);
    periods_free(p);
    assert_int_equal(period_parse_steps("10", &c), 0);
    assert_int_equal(periods_new(&p, &c, 2, 1), 0);
    assert_int_equal(periods_nslots(p), 0); /* like tsprofiler: no matrix for a single entry */
    periods_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_of_time),
        cmocka_unit_test(test_midnight),
        cmocka_unit_test(test_step_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
