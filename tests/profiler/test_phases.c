/* test_phases.c: a clear level change is a new phase; stable noise is not.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gsl/gsl_rng.h>

#include "markov.h"
#include "phases.h"

static struct markov_series *series_with_phases(struct phases **ph) {
    struct phase_config pc;
    phase_config_default(&pc);
    assert_int_equal(phases_new(ph, &pc, 10, 1), 0);
    struct markov_config mc = {
        .nstates = 10, .order = 1, .buffersize = 1, .mode = DISC_LINEAR, .min = 0, .max = 100};
    struct markov_series *s;
    assert_int_equal(markov_series_new(&s, &mc), 0);
    assert_int_equal(markov_series_add_hook(s, phases_hook, *ph), 0);
    return s;
}

/* The anchor's failing case: 5/30 alternating, then 70/95 alternating. */
static void test_level_change(void **state) {
    struct phases *ph;
    struct markov_series *s = series_with_phases(&ph);
    for (int i = 0; i < 400; i++) {
        markov_series_push(s, i, i % 2 ? 30 : 5);
    }
    for (int i = 400; i < 800; i++) {
        markov_series_push(s, i, i % 2 ? 95 : 70);
    }
    markov_series_flush(s);
    phases_flush(ph);
    assert_int_equal(phases_count(ph), 2);
    size_t n;
    const struct phase_segment *sg = phases_segments(ph, &n);
    assert_int_equal(n, 2);
    assert_int_equal(sg[0].phase, 0);
    assert_int_equal(sg[1].phase, 1);
    assert_true(sg[1].start >= 399 && sg[1].start <= 401); /* change point at step 400 */
    /* phase 0 never learned the high states, phase 1 never the low ones */
    assert_int_equal(mk_counts_get(phases_counts(ph, 0), 1, 0, 7), 0);
    assert_int_equal(mk_counts_get(phases_counts(ph, 1), 1, 7, 9), 200);
    assert_int_equal(phases_tx(ph, 0, 1), 1);
    /* and back: a return to the low level reuses phase 0 */
    for (int i = 800; i < 1200; i++) {
        markov_series_push(s, i, i % 2 ? 30 : 5);
    }
    markov_series_flush(s);
    phases_flush(ph);
    assert_int_equal(phases_count(ph), 2);
    assert_int_equal(phases_current(ph), 0);
    assert_int_equal(phases_tx(ph, 1, 0), 1);
    markov_series_free(s);
    phases_free(ph);
}

static void test_no_false_alarm(void **state) {
    struct phases *ph;
    struct markov_series *s = series_with_phases(&ph);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    for (int i = 0; i < 20000; i++) {
        markov_series_push(s, i, 20 + 40 * gsl_rng_uniform(r));
    }
    markov_series_flush(s);
    phases_flush(ph);
    assert_int_equal(phases_count(ph), 1);
    assert_int_equal(phases_counts(ph, 0)->ord[1].total, 19999);
    gsl_rng_free(r);
    markov_series_free(s);
    phases_free(ph);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_change),
        cmocka_unit_test(test_no_false_alarm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
